//! Online-safety algorithms that are Flick's own, kept apart from IO so
//! they can be tested on their own and published with their parameters.
//!
//! [`bridging`] scores context notes: a note is shown only when raters who
//! usually disagree both find it helpful; [`media`] matches uploads
//! against known-bad clips by perceptual frame hashes.

pub mod bridging;
pub mod media;
