//! The published configuration. Every number that shapes a feed is here;
//! its content hash is carried by every page so a feed can be traced to the
//! exact weights that made it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever the model's behaviour changes for the same config.
pub const MODEL_VERSION: &str = "flick-rec/7";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Embedding dimension (a multiple of 16 keeps the scan loop tight).
    pub dim: usize,
    /// The batch model that refits the clips' vectors.
    pub batch: BatchModel,
    /// The approximate nearest-clip index on large catalogues.
    pub ann: AnnIndex,
    /// Recent positives kept per user (co-occurrence and query vector).
    pub history_len: usize,
    /// Co-occurrence neighbour slots per video.
    pub neighbors: usize,
    /// Similarity = count / (n_from^pop_from * n_to^pop_to).
    pub pop_from: f32,
    pub pop_to: f32,
    /// A pair added by a user with L positives counts 1 / (1 + L)^activity_damping.
    pub activity_damping: f32,
    pub signals: Signals,
    pub ranker: RankerWeights,
    pub exploration: Exploration,
    pub candidates: CandidateLimits,
    /// Trending half-life.
    pub trending_half_life_ms: i64,
    /// Videos kept per region (and globally) in the trending set.
    pub trending_set: usize,
    /// Log-odds taken off a pick for each of the last three picks that
    /// shares its first hashtag (subtracted, so it means the same for a
    /// negative score as for a positive one).
    pub topic_repeat_penalty: f32,
    /// A side feature (hashtag, sound, creator) gets an embedding only after
    /// appearing this many times.
    pub admission_threshold: u32,
    /// Users idle this long are evicted at the next maintenance pass.
    pub user_ttl_ms: i64,
    /// Side features untouched this long are evicted.
    pub feature_ttl_ms: i64,
    /// Maintenance runs every this many events.
    pub maintenance_every: u64,
    /// Bloom bits per generation and items per generation of the seen filter.
    pub seen_filter_bits: usize,
    pub seen_filter_items: u32,
    /// Not-interested this many times on one creator or hashtag hides it.
    pub not_interested_threshold: u8,
}

/// Implicit ALS over every user's recent history ([`crate::batch`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchModel {
    /// λ, the ridge on every solve (user fold-ins included).
    pub regularization: f32,
    /// Confidence per unit of signal: c = 1 + alpha · signal.
    pub alpha: f32,
    /// Sweeps per refresh.
    pub iterations: usize,
    /// Most recently active users a refresh learns from (bounds its cost).
    pub max_users: usize,
    /// Events between refreshes: the server starts one in the background
    /// once this many have arrived since the last.
    pub refresh_every: u64,
    /// Clips with the most positives in the window that get an EASE
    /// neighbour list (its cost grows with the cube of this).
    pub head_size: usize,
    /// Neighbours kept per head clip.
    pub head_neighbours: usize,
    /// EASE's λ.
    pub head_lambda: f32,
}

/// The inverted-file index over clip vectors ([`crate::ann`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnIndex {
    /// Below this many clips the exact scan is used (it is fast enough,
    /// and exact).
    pub min_clips: usize,
    /// Lists a page probes, of about √clips lists of about √clips clips:
    /// a fixed number, so a page reads O(√clips) clips.
    pub probe_lists: usize,
    /// Clips, those with the longest vectors, kept in a list every page
    /// scans (a fixed number, for the same reason).
    pub long_clips: usize,
}

/// How each event becomes a learning signal (positive = liked it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    pub quick_skip_ms: u32,
    pub quick_skip: f32,
    pub partial_view: f32,
    pub half_view: f32,
    pub completed: f32,
    pub completed_with_loop: f32,
    pub like: f32,
    pub unlike: f32,
    pub share: f32,
    pub comment: f32,
    pub not_interested: f32,
    pub skip: f32,
    /// Signals at least this strong enter the user's history ("loved").
    pub history_min: f32,
}

/// The ranker, a sum of log-odds: `completion`, `like` and `share` times
/// the log-odds of the clip's completion, like and share rates against the
/// catalogue's (each shrunk toward the catalogue's rate, so a clip with
/// little evidence sits at 0, not below it), the personal terms
/// (co-occurrence, embedding, creator and topic affinity, follows), and
/// freshness. Nothing is squeezed through a sigmoid, so strong evidence
/// keeps its weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankerWeights {
    pub completion: f32,
    pub like: f32,
    pub share: f32,
    pub affinity: f32,
    pub cooccurrence: f32,
    /// Times the clip's EASE score over the user's history (the batch
    /// refit's neighbours of the catalogue's head).
    pub item_item: f32,
    /// Times the user's lift on the clip's creator: the log-odds of their
    /// win rate on that creator's clips against their own rate.
    pub creator_affinity: f32,
    /// Extra weight on the creator lift for a new viewer, fading as
    /// `settle / (settle + positives)` with their positive reactions: until
    /// co-watching and the fold-in know them, the creators they finished
    /// are the best evidence of taste there is (creators mostly post one
    /// kind of clip); later those terms carry the same information.
    pub creator_affinity_new: f32,
    pub settle_positives: f32,
    pub follow: f32,
    /// Times the sum, over the clip's hashtags, of the user's lift on each
    /// (the log-odds of their win rate on clips with it against their own).
    pub topic_affinity: f32,
    /// Trials of prior that shrink a user's rate on one hashtag (or sound)
    /// toward their own overall rate, and that rate toward the catalogue's.
    pub affinity_prior: f32,
    /// The same for one creator. Smaller: a creator mostly posts one kind
    /// of clip, so one finished clip says more about their next than one
    /// shared hashtag does (and without labels it is the first evidence of
    /// taste a new viewer gives).
    pub creator_prior: f32,
    /// Times the mean cosine similarity (above 0) of the clip to those the
    /// user recently skipped, subtracted.
    pub skipped: f32,
    /// Score bonus for clips younger than `fresh_ms`.
    pub freshness: f32,
    pub fresh_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Exploration {
    /// Impressions a new video gets before it is judged.
    pub budget: u32,
    /// One slot in this many on a page goes to a video under exploration;
    /// 0 for none (exploration then only fills pages nothing ranked can,
    /// as on a new service).
    pub every: usize,
    /// Beta prior on the completion rate.
    pub prior_alpha: f32,
    pub prior_beta: f32,
    /// Judged bad (never shown again) when its posterior completion rate is
    /// below this fraction of the catalogue-wide rate.
    pub fail_below: f32,
    /// Exploring videos drawn per request for Thompson sampling.
    pub draws: usize,
    /// Times the ranker's personal terms, added to each draw's log-odds:
    /// which of the drawn new clips this viewer is shown (0: the draws
    /// alone decide).
    pub personal: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateLimits {
    pub nearest: usize,
    pub cooccurrence: usize,
    pub item_item: usize,
    pub followed: usize,
    pub trending: usize,
    pub sound_hashtag: usize,
    /// Videos remembered per creator, sound and hashtag.
    pub recent_per_feature: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dim: 32,
            batch: BatchModel {
                regularization: 40.0,
                alpha: 3.5,
                iterations: 10,
                max_users: 200_000,
                refresh_every: 1_000,
                head_size: 2_000,
                head_neighbours: 20,
                head_lambda: 500.0,
            },
            ann: AnnIndex {
                min_clips: 50_000,
                probe_lists: 32,
                long_clips: 4_096,
            },
            history_len: 256,
            neighbors: 10,
            pop_from: 0.5,
            pop_to: 0.5,
            activity_damping: 0.3,
            signals: Signals {
                quick_skip_ms: 2_000,
                quick_skip: -1.0,
                partial_view: -0.2,
                half_view: 0.3,
                completed: 1.0,
                completed_with_loop: 2.0,
                like: 1.5,
                unlike: -1.0,
                share: 2.0,
                comment: 1.0,
                not_interested: -2.0,
                skip: -0.5,
                history_min: 0.9,
            },
            ranker: RankerWeights {
                completion: 10.0,
                like: 1.0,
                share: 1.5,
                affinity: 8.0,
                cooccurrence: 0.5,
                item_item: 4.0,
                creator_affinity: 0.5,
                creator_affinity_new: 20.0,
                settle_positives: 5.0,
                follow: 0.5,
                topic_affinity: 10.0,
                affinity_prior: 10.0,
                creator_prior: 2.0,
                skipped: 2.0,
                freshness: 0.05,
                fresh_ms: 3_600_000,
            },
            exploration: Exploration {
                budget: 30,
                every: 5,
                prior_alpha: 1.0,
                prior_beta: 1.0,
                fail_below: 0.6,
                draws: 24,
                personal: 1.0,
            },
            candidates: CandidateLimits {
                nearest: 200,
                cooccurrence: 200,
                item_item: 50,
                followed: 30,
                trending: 60,
                sound_hashtag: 80,
                recent_per_feature: 48,
            },
            trending_half_life_ms: 6 * 3_600_000,
            trending_set: 500,
            topic_repeat_penalty: 0.5,
            admission_threshold: 2,
            user_ttl_ms: 90 * 24 * 3_600_000,
            feature_ttl_ms: 30 * 24 * 3_600_000,
            maintenance_every: 100_000,
            seen_filter_bits: 8_192,
            seen_filter_items: 800,
            not_interested_threshold: 2,
        }
    }
}

impl Config {
    /// SHA-256 over `MODEL_VERSION` and the canonical JSON of the config
    /// (fields in declaration order, floats in shortest round-trip form),
    /// hex, first 16 characters.
    pub fn content_hash(&self) -> String {
        let json = serde_json::to_string(self).expect("config serialises");
        let mut h = Sha256::new();
        h.update(MODEL_VERSION.as_bytes());
        h.update(b"\n");
        h.update(json.as_bytes());
        hex::encode(h.finalize())[..16].to_string()
    }
}
