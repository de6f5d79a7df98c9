//! The recommender's laboratory: how Flick's For You is measured.
//!
//! Nothing here runs in the server. Each tool drives `flick_rec` through
//! its public API, exactly as the server does (events in through
//! `observe`, the batch refit when due, pages out through `recommend`,
//! impressions back in), so a figure measured here is one a user meets.
//!
//! - [`eval`]: MovieLens top-N (random split and prequential replay);
//! - [`sim`]: a short-video world with hidden tastes, against trending,
//!   random and an oracle;
//! - [`bench`]: a synthetic catalogue for latency, ingest and memory.

pub mod bench;
pub mod eval;
pub mod sim;
