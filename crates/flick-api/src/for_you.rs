//! The For You feed behind one trait, so the ranking can be replaced without
//! touching handlers. [`TrendingV0`] is the first implementation: trending
//! by time-decayed engagement.

use flick_domain::{UserId, VideoId};
use flick_store::{Store, StoreError, TrendingStats};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One recommended video and why it was picked.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub video: VideoId,
    pub reasons: Vec<String>,
}

pub struct ForYouRequest {
    pub viewer: Option<UserId>,
    pub limit: usize,
    /// Position in the viewer's ranking where this page starts.
    pub offset: usize,
    pub now: i64,
}

/// The published description of a ranking: what `GET /api/v1/algorithm`
/// returns and what every For You page is stamped with.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Algorithm {
    pub name: String,
    pub version: String,
    /// Content hash of `config`: equal hashes mean equal rankings.
    pub hash: String,
    /// The weights and settings, as the ranker uses them.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// The For You ranking. Every method may block (read the store, take a
/// lock), so handlers call them on the blocking pool.
pub trait ForYou: Send + Sync + 'static {
    fn recommend(&self, req: &ForYouRequest) -> Result<Vec<Pick>, StoreError>;
    /// Why `video` would be in `viewer`'s For You, in words.
    fn why(
        &self,
        viewer: Option<UserId>,
        video: VideoId,
        now: i64,
    ) -> Result<Vec<String>, StoreError>;
    fn algorithm(&self) -> &Algorithm;
    /// Back to a new user's feed: model state and seen filter.
    fn reset_user(&self, user: UserId) -> Result<(), StoreError>;
    /// Account deletion: nothing of the user may remain, in memory or in
    /// any snapshot, once this returns.
    fn forget_user(&self, user: UserId, videos: &[VideoId]) -> Result<(), StoreError>;
    /// "Your interests", for the user's data export.
    fn interests(&self, user: UserId) -> serde_json::Value;
}

/// Engagement weights of v0. Published through the algorithm hash.
const WEIGHTS: [(&str, f64); 5] = [
    ("view", 1.0),
    ("completed_view", 2.0),
    ("like", 3.0),
    ("comment", 4.0),
    ("share", 5.0),
];
/// Score decays as (age in hours + 2)^GRAVITY.
const GRAVITY: f64 = 1.5;
/// The ranking is recomputed at most this often; engagement is noisy at
/// shorter scales anyway.
const REFRESH: Duration = Duration::from_secs(2);
/// Only this many newest videos are ranked.
const CANDIDATES: u32 = 10_000;

pub struct TrendingV0 {
    store: Arc<Store>,
    ranked: Mutex<Option<(Instant, Arc<Vec<Ranked>>)>>,
    algorithm: Algorithm,
}

#[derive(Debug, Clone, Copy)]
struct Ranked {
    id: VideoId,
    author: UserId,
    engaged: bool,
}

pub fn trending_score(s: &TrendingStats, now: i64) -> f64 {
    let counts = [s.views, s.completed_views, s.likes, s.comments, s.shares];
    let engagement: f64 = counts
        .iter()
        .zip(WEIGHTS)
        .map(|(c, (_, w))| *c as f64 * w)
        .sum();
    let age_hours = ((now - s.created_at).max(0) as f64) / 3_600_000.0;
    (engagement + 1.0) / (age_hours + 2.0).powf(GRAVITY)
}

impl TrendingV0 {
    pub fn new(store: Arc<Store>) -> Self {
        use sha2::{Digest, Sha256};
        let config = serde_json::json!({
            "weights": WEIGHTS.iter().map(|(k, w)| (k.to_string(), *w)).collect::<std::collections::BTreeMap<_, _>>(),
            "gravity": GRAVITY,
            "candidates": CANDIDATES,
        });
        let hash = hex::encode(&Sha256::digest(config.to_string().as_bytes())[..8]);
        let algorithm = Algorithm {
            name: "trending".into(),
            version: "trending-v0".into(),
            hash,
            config,
        };
        Self {
            store,
            ranked: Mutex::new(None),
            algorithm,
        }
    }

    fn ranking(&self, now: i64) -> Result<Arc<Vec<Ranked>>, StoreError> {
        let mut cached = self.ranked.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, ranked)) = cached.as_ref() {
            if at.elapsed() < REFRESH {
                return Ok(ranked.clone());
            }
        }
        let mut stats = self.store.trending_stats(CANDIDATES)?;
        let score = |s: &TrendingStats| trending_score(s, now);
        stats.sort_by(|a, b| score(b).total_cmp(&score(a)).then(b.id.cmp(&a.id)));
        let ranked = Arc::new(
            stats
                .iter()
                .map(|s| Ranked {
                    id: s.id,
                    author: s.author_id,
                    engaged: s.views + s.likes + s.shares + s.comments > 0,
                })
                .collect(),
        );
        *cached = Some((Instant::now(), Arc::clone(&ranked)));
        Ok(ranked)
    }
}

impl ForYou for TrendingV0 {
    fn recommend(&self, req: &ForYouRequest) -> Result<Vec<Pick>, StoreError> {
        let ranked = self.ranking(req.now)?;
        let hidden = match req.viewer {
            Some(u) => self.store.seen_or_hidden(u)?,
            None => Default::default(),
        };
        Ok(ranked
            .iter()
            .filter(|r| Some(r.author) != req.viewer && !hidden.contains(&r.id))
            .skip(req.offset)
            .take(req.limit)
            .map(|r| Pick {
                video: r.id,
                reasons: vec![if r.engaged {
                    "popular right now".into()
                } else {
                    "new on Flick".into()
                }],
            })
            .collect())
    }

    fn why(
        &self,
        viewer: Option<UserId>,
        video: VideoId,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let ranked = self.ranking(now)?;
        let mut reasons = Vec::new();
        if let Some(r) = ranked.iter().find(|r| r.id == video) {
            if Some(r.author) != viewer {
                reasons.push(if r.engaged {
                    "popular right now".into()
                } else {
                    "new on Flick".into()
                });
            }
        }
        Ok(reasons)
    }

    fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    fn reset_user(&self, _user: UserId) -> Result<(), StoreError> {
        // v0 keeps no per-user state: its seen filter is the view history.
        Ok(())
    }

    fn forget_user(&self, _user: UserId, _videos: &[VideoId]) -> Result<(), StoreError> {
        *self.ranked.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    fn interests(&self, _user: UserId) -> serde_json::Value {
        serde_json::Value::Null
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(created_at: i64, likes: i64) -> TrendingStats {
        TrendingStats {
            id: VideoId(1),
            author_id: UserId(1),
            created_at,
            likes,
            comments: 0,
            shares: 0,
            views: 0,
            completed_views: 0,
        }
    }

    #[test]
    fn engagement_raises_and_age_lowers_the_score() {
        let hour = 3_600_000;
        let now = 100 * hour;
        assert!(trending_score(&stats(now, 10), now) > trending_score(&stats(now, 0), now));
        assert!(
            trending_score(&stats(now, 10), now) > trending_score(&stats(now - 24 * hour, 10), now)
        );
    }
}
