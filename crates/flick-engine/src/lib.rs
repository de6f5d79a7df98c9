//! Flick's services apart from HTTP. The HTTP layer (`flick-api`) calls
//! them and maps their errors to its own; the binary builds them and runs
//! their background tasks. Nothing here knows about requests, status codes
//! or JSON bodies, so a node without the HTTP layer (a worker) can run
//! them too.
//!
//! - [`for_you`]: the For You ranking behind one trait, and the published
//!   description of the algorithm.
//! - [`rec`]: that trait over the online recommender (`flick-rec`), one
//!   model per held region: it tails the event log, snapshots the model,
//!   and refits it in the background.
//! - [`trust`]: the access gate in front of protected data and the
//!   transparency log it writes to, with pseudonyms for the log's subjects.

pub mod for_you;
pub mod rec;
pub mod trust;

pub use for_you::ForYou;
