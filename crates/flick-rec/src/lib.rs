//! Flick's For You recommender.
//!
//! Pure computation: no IO, no clock, no global state. Given the same
//! config, seed and sequence of calls it returns the same feeds, bit for bit
//! (one PRNG, seeded, drives exploration and negative sampling; maps are
//! only used for lookups, never iterated into an output).
//!
//! The model:
//! - clip vectors refitted by implicit ALS ([`batch`]) every
//!   `batch.refresh_every` events, off the request path in the server, and
//!   quantised to i8; the nearest clips to the viewer are found by an exact
//!   scan, or on a large catalogue through an inverted-file index ([`ann`])
//!   rebuilt after each refit; the viewer's
//!   vector is folded in from their recent positives on every page, so a
//!   like counts on the next one. Updated on every event:
//! - per-video co-occurrence neighbours (bounded slots, space-saving
//!   counters) with popularity-normalised similarity: the item-to-item signal
//!   that carries MovieLens-style top-N;
//! - side features (creator, sound, hashtags) with an admission threshold
//!   before they get an embedding, and eviction when stale;
//! - Beta posteriors on each video's completion rate: new videos are tried
//!   out by Thompson sampling until their impression budget is spent, then
//!   judged; bad ones are never shown again;
//! - log-domain trending keys per region.
//!
//! Serving: candidates (co-occurrence, nearest neighbours, followed
//! creators, shared sound/hashtag, trending), a ranker with published
//! weights, then re-ranking (creator never twice in a row, topic repeats
//! scored down, exploration slots), with reasons recorded from the source
//! that produced each item.

pub mod ann;
pub mod batch;
mod config;
mod model;
mod scan;
mod snapshot;
mod types;
mod util;

/// The model's generator, for tools that must draw the same way (the
/// simulator and the benchmarks in `flick-rec-lab`).
pub use util::{mix64, Rng};

pub use config::{
    AnnIndex, BatchModel, CandidateLimits, Config, Exploration, RankerWeights, Signals,
    MODEL_VERSION,
};
pub use model::{
    IndexProbe, Memory, PreparedBatch, Recommender, VectorHealth, VideoStatus, MAX_TAGS,
};
pub use snapshot::{DirtyRows, SnapshotError};
pub use types::{
    CreatorId, Event, EventKind, Interests, Reason, Recommendation, Request, Retrieval, SoundId,
    UserId, VideoId, VideoMeta, MAX_PAGE,
};
