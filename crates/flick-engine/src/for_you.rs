//! The For You feed behind one trait, so the ranking can be replaced without
//! touching handlers. The implementation is [`crate::rec::RecForYou`], the
//! online recommender.

use flick_domain::{UserId, VideoId};
use flick_store::StoreError;

/// One recommended video and why it was picked.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    pub video: VideoId,
    pub reasons: Vec<String>,
}

pub struct ForYouRequest {
    pub viewer: Option<UserId>,
    /// The viewer's home region when the caller already looked it up (the
    /// ranking is per region); else the ranking looks it up.
    pub region: Option<flick_domain::RegionCode>,
    pub limit: usize,
    /// Position in the viewer's ranking where this page starts.
    pub offset: usize,
    pub now: i64,
    /// Whether this page's impressions go to the event log. Every page
    /// would add a row per clip, so an account's logged pages are rate
    /// limited; a page past the limit is still served, and marked seen in
    /// memory only.
    pub log_impressions: bool,
    /// Accounts whose clips the viewer is not shown (blocks both ways, and
    /// the viewer's mutes).
    pub hidden: Vec<UserId>,
}

/// The published description of a ranking: what `GET /api/v1/algorithm`
/// returns and what every For You page is stamped with.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Algorithm {
    pub name: String,
    pub version: String,
    /// Content hash of `config`: equal hashes mean equal rankings.
    pub hash: String,
    /// The weights and settings, as the ranker uses them.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub config: serde_json::Value,
    /// Where each region's model stands: how much it has learnt and when
    /// its batch refit last changed the clip vectors. Filled in when served.
    pub models: Vec<ModelState>,
    /// How context notes are scored: the bridging model's parameters and
    /// thresholds (not part of `hash`, which covers the ranking).
    pub context_notes: ContextNotesAlgorithm,
}

#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContextNotesAlgorithm {
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: serde_json::Value,
}

impl Default for ContextNotesAlgorithm {
    fn default() -> Self {
        Self {
            name: "bridging matrix factorisation (rater and note intercepts, one factor)".into(),
            params: serde_json::to_value(flick_safety::bridging::Params::default())
                .unwrap_or_default(),
        }
    }
}

/// One region's recommender, as published: aggregate counts only.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelState {
    pub region: String,
    /// Learning events applied (views, likes, shares, comments, skips;
    /// impressions and follows are not counted).
    pub events: u64,
    /// The event count at which the last applied refit took its input;
    /// absent until the first refit.
    pub refitted_at_events: Option<u64>,
    pub retrieval: Retrieval,
}

/// How pages find the clips nearest a viewer's taste.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Retrieval {
    /// Every clip is scanned: the catalogue is small.
    Exact,
    /// Every clip is scanned until the nearest-clip index, being built
    /// after a start, is in place.
    ExactUntilIndex,
    /// The nearest-clip index.
    Index,
}

impl From<flick_rec::Retrieval> for Retrieval {
    fn from(r: flick_rec::Retrieval) -> Self {
        match r {
            flick_rec::Retrieval::Exact => Retrieval::Exact,
            flick_rec::Retrieval::ExactUntilIndex => Retrieval::ExactUntilIndex,
            flick_rec::Retrieval::Index => Retrieval::Index,
        }
    }
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
    /// Each region's model state, for the published algorithm.
    fn models(&self) -> Vec<ModelState>;
    /// Back to a new user's feed: model state and seen filter.
    fn reset_user(&self, user: UserId) -> Result<(), StoreError>;
    /// Account deletion: nothing of the user may remain, in memory or in
    /// any snapshot, once this returns.
    fn forget_user(&self, user: UserId, videos: &[VideoId]) -> Result<(), StoreError>;
    /// "Your interests", for the user's data export.
    fn interests(&self, user: UserId) -> serde_json::Value;
}
