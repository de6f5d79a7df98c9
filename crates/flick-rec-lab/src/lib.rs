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

/// The production configuration with some fields replaced, for trying a
/// change in the lab (on a validation split or the simulator's tuning
/// seeds) before it becomes the one that ships. `patch` is JSON shaped like
/// the config, e.g. `{"ranker": {"topic_affinity": 8}}`.
pub fn patched(patch: &str) -> Result<flick_rec::Config, String> {
    fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
        match (base, patch) {
            (serde_json::Value::Object(b), serde_json::Value::Object(p)) => {
                for (k, v) in p {
                    merge(b.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (b, p) => *b = p,
        }
    }
    let mut base = serde_json::to_value(flick_rec::Config::default()).map_err(|e| e.to_string())?;
    let patch: serde_json::Value =
        serde_json::from_str(patch).map_err(|e| format!("the patch is not JSON: {e}"))?;
    merge(&mut base, patch);
    serde_json::from_value(base).map_err(|e| format!("not a valid config: {e}"))
}
