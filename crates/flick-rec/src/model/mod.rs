//! The recommender: state, learning, the batch refit, and the page pipeline.
//!
//! This file holds the state (clips, users, side features, the hot sets),
//! the catalogue and user bookkeeping, and small shared helpers; the work is
//! split by what it does: `learn` (events in), `refresh` (the batch refit's
//! input and application), `serve` (a page: `candidates` → `rank` →
//! `explore` → `rerank`) and `inspect` (explanations, interests, memory).

mod candidates;
mod explore;
mod inspect;
mod learn;
mod rank;
mod refresh;
mod rerank;
mod scratch;
mod serve;

pub use inspect::{IndexProbe, Memory, VectorHealth, VideoStatus};
pub use refresh::PreparedBatch;
pub(crate) use scratch::Accum;
use scratch::{Scratch, ScratchPool};

use crate::config::{Config, MODEL_VERSION};
use crate::scan::{self, TopK};
use crate::types::{
    CreatorId, Event, EventKind, Interests, Reason, Recommendation, Request, SoundId, UserId,
    VideoId, VideoMeta, MAX_PAGE,
};
use crate::util::{logit, FastMap, IdMap, Rng, SeenFilter, NONE};
use std::collections::BTreeSet;

/// Marks a video id replaced by [`Recommender::forget_creator`].
const VIDEO_TOMBSTONE: u64 = 1 << 63;

/// Hashtags beyond the first few are ignored: they are the clip's topics.
pub const MAX_TAGS: usize = 3;

// Video state bits.
pub(crate) const REMOVED: u8 = 1;
pub(crate) const EXPLORING: u8 = 2;
pub(crate) const FAILED: u8 = 4;
pub(crate) const GRADUATED: u8 = 8;

/// The catalogue's likes and shares, for the rates clips are compared with.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Engagement {
    pub likes: f64,
    pub shares: f64,
}

/// Per-video counters. Completion is a Beta posterior (completes, fails on
/// top of the prior); likes/shares are rates over views.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct VideoStats {
    pub served: u32,
    pub views: f32,
    pub completes: f32,
    pub fails: f32,
    pub likes: f32,
    pub shares: f32,
    /// Users who have this video in their history (co-occurrence popularity).
    pub positives: f32,
    /// Trending key: ln(Σ w·e^(t/τ)); ordering by it is time-invariant.
    pub trend: f32,
}

/// Dense per-video storage, one entry (or `dim`/`neighbors` entries) per row.
#[derive(Clone, Default)]
pub(crate) struct Videos {
    pub creator: Vec<u32>,
    pub sound: Vec<u32>,
    pub tags: Vec<[u32; MAX_TAGS]>,
    pub region: Vec<u16>,
    pub created_at: Vec<i64>,
    pub duration: Vec<u32>,
    pub state: Vec<u8>,
    /// The learnt vectors; their i8 codes live in the index
    /// ([`crate::ann::Ivf`]), the only place the scan reads them.
    pub emb: Vec<f32>,
    pub stats: Vec<VideoStats>,
    /// Neighbour slots, `neighbors` per video: rows and counts kept apart so
    /// the slot search is a plain u32 scan.
    pub nbr_row: Vec<u32>,
    pub nbr_count: Vec<f32>,
}

/// A creator, sound or hashtag.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Feature {
    pub uses: u32,
    /// Newest videos carrying it, oldest first.
    pub recent: Vec<u32>,
    /// Given only once `uses` reaches the admission threshold.
    pub emb: Option<Vec<f32>>,
    pub last_touch_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum FeatureKind {
    Creator = 0,
    Sound = 1,
    Tag = 2,
}

impl FeatureKind {
    /// Trials of prior behind a user's lift on one feature of this kind.
    pub(crate) fn lift_prior(self, w: &crate::config::RankerWeights) -> f32 {
        match self {
            FeatureKind::Creator => w.creator_prior,
            FeatureKind::Sound | FeatureKind::Tag => w.affinity_prior,
        }
    }
}

/// One `T` per [`FeatureKind`], indexed by the kind (or by its number, for
/// loops over all three).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PerKind<T>(pub [T; 3]);

impl<T> std::ops::Index<FeatureKind> for PerKind<T> {
    type Output = T;
    fn index(&self, kind: FeatureKind) -> &T {
        &self.0[kind as usize]
    }
}

impl<T> std::ops::IndexMut<FeatureKind> for PerKind<T> {
    fn index_mut(&mut self, kind: FeatureKind) -> &mut T {
        &mut self.0[kind as usize]
    }
}

impl<T> std::ops::Index<usize> for PerKind<T> {
    type Output = T;
    fn index(&self, k: usize) -> &T {
        &self.0[k]
    }
}

impl<T> std::ops::IndexMut<usize> for PerKind<T> {
    fn index_mut(&mut self, k: usize) -> &mut T {
        &mut self.0[k]
    }
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UserState {
    /// Recent strong positives (video row, signal), oldest first.
    pub history: Vec<(u32, f32)>,
    pub seen: SeenFilter,
    pub hidden: Vec<u32>,
    pub ni_creators: Vec<(u32, u8)>,
    pub ni_tags: Vec<(u32, u8)>,
    pub follows: Vec<u32>,
    pub affinity: Vec<Affinity>,
    /// Every reaction's trials and wins (see [`Outcome`]): the user's own
    /// rate, against which each feature's rate is measured.
    pub trials: f32,
    pub wins: f32,
    pub last_active_ms: i64,
    pub positives: u32,
    /// Recent clips the user turned away from (quick skips, skips,
    /// not-interested), newest last: negative evidence for the fold-in and
    /// the ranker, so a feed moves away from what was skipped even before
    /// the first like.
    pub skipped: Vec<u32>,
}

/// How a user has reacted to the clips sharing one creator, sound or
/// hashtag: trials and wins, counted as [`Outcome`] says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Affinity {
    pub kind: FeatureKind,
    pub row: u32,
    pub trials: f32,
    pub wins: f32,
}

/// What one event says about whether the user wants clips like this one,
/// as Bernoulli trials: a view is one trial, won as far as it was watched
/// (completed 1, half 0.3, less 0); a like, share or comment is one more
/// won trial, an unlike or skip a lost one, not-interested three lost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Outcome {
    pub trials: f32,
    pub wins: f32,
}

/// Negatives kept per user.
pub(crate) const SKIPPED_CAP: usize = 16;

const AFFINITY_SLOTS: usize = 48;
const HIDDEN_CAP: usize = 1024;
const FOLLOW_CAP: usize = 2048;
/// History items whose embeddings shape the query vector.
const QUERY_HISTORY: usize = 16;
/// Loved items whose sound and hashtags feed candidates.
const LOVED_FOR_FEATURES: usize = 5;

/// The trending set of one region (index 0: everywhere).
#[derive(Clone, Default, Debug, PartialEq)]
pub(crate) struct HotSet {
    pub entries: Vec<(u32, f32)>,
    pub pos: FastMap<u32, u32>,
}

#[derive(Clone, Default)]
pub(crate) struct Dirty {
    pub videos: Vec<u64>,
    pub users: Vec<u64>,
    pub features: PerKind<Vec<u64>>,
    /// Users forgotten or evicted since the last snapshot: (id, row).
    pub user_tombstones: Vec<(UserId, u32)>,
}

pub(crate) fn mark(bits: &mut Vec<u64>, row: u32) {
    let w = row as usize / 64;
    if bits.len() <= w {
        bits.resize(w + 1, 0);
    }
    bits[w] |= 1 << (row % 64);
}

pub(crate) fn marked(bits: &[u64]) -> impl Iterator<Item = u32> + '_ {
    bits.iter().enumerate().flat_map(|(w, &b)| {
        (0..64)
            .filter(move |i| b & (1u64 << i) != 0)
            .map(move |i| (w * 64 + i) as u32)
    })
}

pub struct Recommender {
    pub(crate) cfg: Config,
    pub(crate) seed: u64,
    pub(crate) rng: Rng,
    pub(crate) clip_ids: IdMap<VideoId>,
    pub(crate) clips: Videos,
    pub(crate) user_ids: IdMap<UserId>,
    pub(crate) user_states: Vec<Option<UserState>>,
    pub(crate) feature_ids: PerKind<IdMap<String>>,
    pub(crate) features: PerKind<Vec<Feature>>,
    pub(crate) regions: IdMap<String>,
    pub(crate) hot: Vec<HotSet>,
    pub(crate) exploring: BTreeSet<u32>,
    pub(crate) global_views: f64,
    pub(crate) global_completes: f64,
    /// Sums of the clips' likes and shares; not in snapshots (recounted on
    /// load), since they follow from the per-clip counters.
    pub(crate) engagement: Engagement,
    /// Σ y yᵀ over the clips at the last batch refresh (dim × dim), the
    /// implicit "not watched" term of every fold-in. Snapshotted with the
    /// model, as it is state, not derivable from the current vectors.
    pub(crate) gram: Vec<f32>,
    /// The batch refit's EASE neighbours of the catalogue's head clips
    /// (row → strongest neighbours and weights), bounded by the head size.
    pub(crate) item_item: FastMap<u32, Box<[(u32, f32)]>>,
    /// `events` when the input of the last applied refresh was taken.
    pub(crate) refreshed_at: u64,
    pub(crate) events: u64,
    pub(crate) last_event_ms: i64,
    pub(crate) dirty: Dirty,
    scratch: ScratchPool,
    /// The clips' codes and the nearest-clip index over them: flat (the
    /// exact scan) below `ann.min_clips`, lists after. Not in snapshots
    /// (filed again from the vectors).
    pub(crate) ann: crate::ann::Ivf,
    /// Rows whose vector changed since the index's input was copied, to be
    /// re-filed when the rebuilt index is installed.
    pub(crate) ann_moved: Vec<u32>,
}

impl Clone for Recommender {
    fn clone(&self) -> Self {
        Recommender {
            cfg: self.cfg.clone(),
            seed: self.seed,
            rng: self.rng.clone(),
            clip_ids: self.clip_ids.clone(),
            clips: self.clips.clone(),
            user_ids: self.user_ids.clone(),
            user_states: self.user_states.clone(),
            feature_ids: self.feature_ids.clone(),
            features: self.features.clone(),
            regions: self.regions.clone(),
            hot: self.hot.clone(),
            exploring: self.exploring.clone(),
            global_views: self.global_views,
            global_completes: self.global_completes,
            engagement: self.engagement,
            gram: self.gram.clone(),
            item_item: self.item_item.clone(),
            refreshed_at: self.refreshed_at,
            events: self.events,
            last_event_ms: self.last_event_ms,
            dirty: self.dirty.clone(),
            scratch: ScratchPool::default(),
            ann: self.ann.clone(),
            ann_moved: self.ann_moved.clone(),
        }
    }
}

/// Stage 1's output: the candidates, their index by row, and the best
/// co-occurrence score (the ranker's scale for that term).
struct Candidates {
    pub list: Vec<Cand>,
    pub pos: FastMap<u32, usize>,
    pub cooc_max: f32,
}

/// A candidate during one request.
struct Cand {
    row: u32,
    reasons: Whys,
    cooc: f32,
    item_item: f32,
    score: f32,
}

/// Why a candidate is on the list, as the model holds it: rows and feature
/// indexes, no strings, so noting it costs no allocation (a page gathers
/// thousands of candidates, and a [`Reason`] per candidate was a tenth of a
/// loaded server's CPU). Only the clips that make the page have theirs
/// turned into [`Reason`]s ([`Recommender::reason`]); the mapping is one to
/// one, so duplicates are the same either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    SimilarToWatched { video: u32 },
    FromFollowed { creator: u32 },
    MoreFromCreator { creator: u32, video: u32 },
    PopularInRegion { region: u32 },
    Trending,
    Exploring,
    SharesSound { sound: u32, video: u32 },
    SharesHashtag { tag: u32 },
}

/// A candidate's reasons, in the order they were noted; most have one or
/// two, which stay inline.
type Whys = smallvec::SmallVec<[Why; 3]>;

fn push_why(reasons: &mut Whys, r: Why) {
    if !reasons.contains(&r) {
        reasons.push(r);
    }
}

fn push_reason(reasons: &mut Vec<Reason>, r: Reason) {
    if !reasons.contains(&r) {
        reasons.push(r);
    }
}

impl Recommender {
    pub fn new(config: Config, seed: u64) -> Self {
        let gram = vec![0.0; config.dim * config.dim];
        let config_dim = config.dim;
        let mut regions = IdMap::default();
        regions.insert(String::new());
        Recommender {
            cfg: config,
            seed,
            rng: Rng::new(seed),
            clip_ids: IdMap::default(),
            clips: Videos::default(),
            user_ids: IdMap::default(),
            user_states: Vec::new(),
            feature_ids: Default::default(),
            features: Default::default(),
            regions,
            hot: vec![HotSet::default()],
            exploring: BTreeSet::new(),
            global_views: 0.0,
            global_completes: 0.0,
            engagement: Engagement::default(),
            gram,
            item_item: FastMap::default(),
            refreshed_at: 0,
            events: 0,
            last_event_ms: i64::MIN,
            dirty: Dirty::default(),
            scratch: ScratchPool::default(),
            ann: crate::ann::Ivf::flat(config_dim),
            ann_moved: Vec::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn config_hash(&self) -> String {
        self.cfg.content_hash()
    }

    pub fn model_version(&self) -> &'static str {
        MODEL_VERSION
    }

    /// Events learnt so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    pub fn video_count(&self) -> usize {
        self.clip_ids.len()
    }

    pub fn user_count(&self) -> usize {
        self.user_ids.len()
    }

    /// The creator behind a creator row; 0 once the creator is forgotten
    /// (their row is then keyed by a tombstone, not their id).
    /// The reason `why` stands for, with ids and names.
    fn reason(&self, why: Why) -> Reason {
        match why {
            Why::SimilarToWatched { video } => Reason::SimilarToWatched {
                video: *self.clip_ids.id(video),
            },
            Why::FromFollowed { creator } => Reason::FromFollowed {
                creator: self.creator_id(creator),
            },
            Why::MoreFromCreator { creator, video } => Reason::MoreFromCreator {
                creator: self.creator_id(creator),
                video: *self.clip_ids.id(video),
            },
            Why::PopularInRegion { region } => Reason::PopularInRegion {
                region: self.regions.id(region).clone(),
            },
            Why::Trending => Reason::Trending,
            Why::Exploring => Reason::Exploring,
            Why::SharesSound { sound, video } => Reason::SharesSound {
                sound: self.sound_id(sound),
                video: *self.clip_ids.id(video),
            },
            Why::SharesHashtag { tag } => Reason::SharesHashtag {
                tag: self.feature_ids[FeatureKind::Tag].id(tag).clone(),
            },
        }
    }

    pub(crate) fn creator_id(&self, row: u32) -> CreatorId {
        self.feature_ids[FeatureKind::Creator]
            .id(row)
            .parse()
            .unwrap_or(CreatorId(0))
    }

    pub(crate) fn sound_id(&self, row: u32) -> SoundId {
        self.feature_ids[FeatureKind::Sound]
            .id(row)
            .parse()
            .unwrap_or(SoundId(0))
    }

    // ----- catalogue -------------------------------------------------------

    fn feature_row(&mut self, kind: FeatureKind, key: String, at_ms: i64) -> u32 {
        let k = kind as usize;
        let (row, new) = self.feature_ids[k].insert(key);
        if new {
            let f = Feature::default();
            if row as usize == self.features[k].len() {
                self.features[k].push(f);
            } else {
                self.features[k][row as usize] = f;
            }
        }
        mark(&mut self.dirty.features[k], row);
        let f = &mut self.features[k][row as usize];
        f.last_touch_ms = f.last_touch_ms.max(at_ms);
        row
    }

    fn region_index(&mut self, region: Option<&str>) -> u16 {
        match region {
            None => 0,
            Some(r) => {
                let (row, new) = self.regions.insert(r.to_string());
                if new {
                    self.hot.push(HotSet::default());
                }
                row as u16
            }
        }
    }

    /// Gives back the arrays' capacity beyond their length. Growing one
    /// clip or user at a time doubles each array when it fills, so after a
    /// start's replay up to half of every per-clip array can be capacity
    /// the catalogue does not use (at 10M clips, about 100 bytes a clip):
    /// the server calls this once the replay is done.
    pub fn shrink_to_fit(&mut self) {
        let v = &mut self.clips;
        v.creator.shrink_to_fit();
        v.sound.shrink_to_fit();
        v.tags.shrink_to_fit();
        v.region.shrink_to_fit();
        v.created_at.shrink_to_fit();
        v.duration.shrink_to_fit();
        v.state.shrink_to_fit();
        v.emb.shrink_to_fit();
        v.stats.shrink_to_fit();
        v.nbr_row.shrink_to_fit();
        v.nbr_count.shrink_to_fit();
        self.clip_ids.shrink_to_fit();
        self.user_ids.shrink_to_fit();
        self.user_states.shrink_to_fit();
        self.ann.shrink_to_fit();
    }

    pub fn upsert_video(&mut self, meta: VideoMeta) {
        let dim = self.cfg.dim;
        let (row, new) = self.clip_ids.insert(meta.id);
        let r = row as usize;
        if new {
            let v = &mut self.clips;
            v.creator.push(NONE);
            v.sound.push(NONE);
            v.tags.push([NONE; MAX_TAGS]);
            v.region.push(0);
            v.created_at.push(0);
            v.duration.push(0);
            v.state.push(EXPLORING);
            v.emb.resize(v.emb.len() + dim, 0.0);
            v.stats.push(VideoStats::default());
            v.nbr_row.resize(v.nbr_row.len() + self.cfg.neighbors, NONE);
            v.nbr_count
                .resize(v.nbr_count.len() + self.cfg.neighbors, 0.0);
            self.exploring.insert(row);
        }
        let at = meta.created_at_ms;
        let creator = self.feature_row(FeatureKind::Creator, meta.creator.to_string(), at);
        let sound = meta
            .sound
            .map(|s| self.feature_row(FeatureKind::Sound, s.to_string(), at))
            .unwrap_or(NONE);
        let mut tags = [NONE; MAX_TAGS];
        for (slot, tag) in tags.iter_mut().zip(meta.hashtags.iter()) {
            *slot = self.feature_row(FeatureKind::Tag, tag.to_lowercase(), at);
        }
        let region = self.region_index(meta.region.as_deref());
        let features: Vec<(FeatureKind, u32)> = std::iter::once((FeatureKind::Creator, creator))
            .chain((sound != NONE).then_some((FeatureKind::Sound, sound)))
            .chain(
                tags.iter()
                    .filter(|t| **t != NONE)
                    .map(|&t| (FeatureKind::Tag, t)),
            )
            .collect();
        if new {
            for &(kind, fr) in &features {
                let cap = self.cfg.candidates.recent_per_feature;
                let threshold = self.cfg.admission_threshold;
                let f = &mut self.features[kind][fr as usize];
                f.uses += 1;
                f.recent.push(row);
                if f.recent.len() > cap {
                    f.recent.remove(0);
                }
                if f.emb.is_none() && f.uses >= threshold {
                    f.emb = Some(vec![0.0; dim]);
                }
            }
            // Warm start: a new clip begins at the mean of its admitted
            // features, plus a little noise so clips can be told apart.
            let mut init = self.feature_mean(r).unwrap_or_else(|| vec![0f32; dim]);
            let noise = 0.1 / (dim as f32).sqrt();
            for x in init.iter_mut() {
                *x += noise * self.rng.normal() as f32;
            }
            self.clips.emb[r * dim..(r + 1) * dim].copy_from_slice(&init);
            self.vector_moved(row);
        }
        let v = &mut self.clips;
        v.creator[r] = creator;
        v.sound[r] = sound;
        v.tags[r] = tags;
        v.region[r] = region;
        v.created_at[r] = meta.created_at_ms;
        v.duration[r] = meta.duration_ms;
        // A clip taken out and published again (a moderator's decision
        // reversed on appeal) comes back with what it had learnt; ids are
        // never reused, so this is the same clip.
        if !new && v.state[r] & REMOVED != 0 {
            v.state[r] &= !REMOVED;
            // Back where it was: under trial if it had no verdict yet, and
            // in trending with the score it had.
            if v.state[r] & (GRADUATED | FAILED) == 0 {
                v.state[r] |= EXPLORING;
                self.exploring.insert(row);
            }
            let stats = &v.stats[r];
            if stats.views + stats.likes > 0.0 {
                let key = stats.trend;
                self.hot_put(0, row, key);
                if region != 0 {
                    self.hot_put(region as usize, row, key);
                }
            }
            self.vector_moved(row);
        }
        mark(&mut self.dirty.videos, row);
    }

    pub fn remove_video(&mut self, id: VideoId) {
        let Some(row) = self.clip_ids.get(&id) else {
            return;
        };
        self.clips.state[row as usize] |= REMOVED;
        self.clips.state[row as usize] &= !EXPLORING;
        self.ann.remove(row);
        // A rebuild in flight copied it as live: taken out at install.
        if self.clips.state.len() >= self.cfg.ann.min_clips {
            self.ann_moved.push(row);
        }
        self.exploring.remove(&row);
        for h in 0..self.hot.len() {
            self.hot_remove(h, row);
        }
        mark(&mut self.dirty.videos, row);
    }

    /// Keeps the index in step with a clip whose vector changed: its code
    /// filed again now, and the row remembered for the next rebuild.
    pub(crate) fn vector_moved(&mut self, row: u32) {
        if self.clips.state.len() >= self.cfg.ann.min_clips {
            self.ann_moved.push(row);
        }
        let dim = self.cfg.dim;
        let r = row as usize;
        self.ann.file(row, &self.clips.emb[r * dim..(r + 1) * dim]);
    }

    // ----- users -----------------------------------------------------------

    fn fresh_user(&self) -> UserState {
        UserState {
            history: Vec::new(),
            seen: SeenFilter::new(self.cfg.seen_filter_bits),
            hidden: Vec::new(),
            ni_creators: Vec::new(),
            ni_tags: Vec::new(),
            follows: Vec::new(),
            affinity: Vec::new(),
            trials: 0.0,
            wins: 0.0,
            last_active_ms: i64::MIN,
            positives: 0,
            skipped: Vec::new(),
        }
    }

    fn user_row(&mut self, user: UserId) -> u32 {
        let (row, new) = self.user_ids.insert(user);
        if new {
            let s = self.fresh_user();
            if row as usize == self.user_states.len() {
                self.user_states.push(Some(s));
            } else {
                self.user_states[row as usize] = Some(s);
            }
        }
        mark(&mut self.dirty.users, row);
        row
    }

    fn user(&self, row: u32) -> &UserState {
        self.user_states[row as usize].as_ref().expect("live user")
    }

    fn user_mut(&mut self, row: u32) -> &mut UserState {
        self.user_states[row as usize].as_mut().expect("live user")
    }

    /// Resets what the model learnt about `user` and their seen filter; the
    /// next page equals a new user's. Follows are kept (they are the social
    /// graph, not model state).
    pub fn reset_user(&mut self, user: UserId) {
        let Some(row) = self.user_ids.get(&user) else {
            return;
        };
        let follows = std::mem::take(&mut self.user_mut(row).follows);
        let mut s = self.fresh_user();
        s.follows = follows;
        self.user_states[row as usize] = Some(s);
        mark(&mut self.dirty.users, row);
    }

    /// Removes every trace keyed by `user`; the next snapshot carries a
    /// tombstone. Aggregates they contributed to (co-occurrence counts,
    /// video rates, trending) stay, as they are not about them.
    pub fn forget_user(&mut self, user: UserId) {
        if let Some(row) = self.user_ids.remove(&user) {
            self.user_states[row as usize] = None;
            self.dirty.user_tombstones.push((user, row));
        }
    }

    /// Account deletion, the creator's side: their videos are removed and
    /// every id that named them — the video ids and the creator's own id —
    /// is replaced by a tombstone, so no later snapshot carries them. What
    /// other users' models learnt from those clips stays, unattributed.
    pub fn forget_creator(&mut self, creator: CreatorId) {
        let Some(crow) = self.feature_ids[FeatureKind::Creator].get(creator.to_string().as_str())
        else {
            return;
        };
        let rows: Vec<u32> = (0..self.clip_ids.ids.len() as u32)
            .filter(|&r| {
                self.clip_ids.ids[r as usize].is_some() && self.clips.creator[r as usize] == crow
            })
            .collect();
        for row in rows {
            let id = *self.clip_ids.id(row);
            self.remove_video(id);
            // Real ids stay below 2^53; the top bit marks a tombstone.
            self.clip_ids
                .place(VideoId(VIDEO_TOMBSTONE | u64::from(row)), row);
            mark(&mut self.dirty.videos, row);
        }
        self.feature_ids[FeatureKind::Creator].place(format!("deleted-{crow}"), crow);
        mark(&mut self.dirty.features[FeatureKind::Creator], crow);
    }

    pub fn follow(&mut self, user: UserId, creator: CreatorId, following: bool) {
        let ur = self.user_row(user);
        let key = creator.to_string();
        let cr = if following {
            Some(self.feature_row(FeatureKind::Creator, key, self.last_event_ms.max(0)))
        } else {
            self.feature_ids[FeatureKind::Creator].get(key.as_str())
        };
        let Some(cr) = cr else { return };
        let s = self.user_mut(ur);
        s.follows.retain(|&c| c != cr);
        if following {
            s.follows.push(cr);
            if s.follows.len() > FOLLOW_CAP {
                s.follows.remove(0);
            }
        }
        let won = if following { 1.0 } else { 0.0 };
        bump_affinity(
            &mut s.affinity,
            FeatureKind::Creator,
            cr,
            Outcome {
                trials: 1.0,
                wins: won,
            },
        );
    }

    // ----- learning --------------------------------------------------------
}

/// The user's most recent loved clips, newest first: the ones a "similar
/// to" reason may name.
fn recent_history(s: &UserState) -> Vec<u32> {
    s.history
        .iter()
        .rev()
        .take(QUERY_HISTORY)
        .map(|h| h.0)
        .collect()
}

fn count_up(v: &mut Vec<(u32, u8)>, key: u32) {
    if key == NONE {
        return;
    }
    match v.iter_mut().find(|(k, _)| *k == key) {
        Some(e) => e.1 = e.1.saturating_add(1),
        None => v.push((key, 1)),
    }
}

impl UserState {
    /// The user's own win rate, shrunk toward the catalogue's `g` by
    /// `prior` trials.
    pub fn base_rate(&self, g: f32, prior: f32) -> f32 {
        (self.wins + prior * g) / (self.trials + prior)
    }

    /// How much more (or less) often this user wins on clips with the
    /// feature than on clips in general, as log-odds; the feature's rate
    /// is shrunk toward the user's `base` by `prior` trials, so one lucky
    /// view moves it a little and a habit moves it a lot. A rate, not a
    /// sum: a topic shown often does not outrank one loved every time.
    pub fn lift(&self, kind: FeatureKind, row: u32, base: f32, prior: f32) -> f32 {
        self.affinity
            .iter()
            .find(|a| a.kind == kind && a.row == row)
            .map_or(0.0, |a| {
                logit((a.wins + prior * base) / (a.trials + prior)) - logit(base)
            })
    }
}

/// Adds an outcome to a bounded affinity list; when full, the entry with
/// the least evidence makes room.
fn bump_affinity(aff: &mut Vec<Affinity>, kind: FeatureKind, row: u32, o: Outcome) {
    if row == NONE {
        return;
    }
    if let Some(a) = aff.iter_mut().find(|a| a.kind == kind && a.row == row) {
        a.trials += o.trials;
        a.wins += o.wins;
        return;
    }
    let fresh = Affinity {
        kind,
        row,
        trials: o.trials,
        wins: o.wins,
    };
    if aff.len() < AFFINITY_SLOTS {
        aff.push(fresh);
    } else if let Some(least) = aff.iter_mut().min_by(|a, b| a.trials.total_cmp(&b.trials)) {
        if least.trials <= o.trials {
            *least = fresh;
        }
    }
}

enum Probe {
    Found(usize),
    Empty(usize),
    Full,
}

/// Neighbour slots form a small open-addressing table (linear probing) keyed
/// by row, so a lookup is O(1) even with thousands of slots. Slots are never
/// emptied, only overwritten, so probe chains stay valid; a full table is
/// searched through.
fn probe(rows: &[u32], x: u32) -> Probe {
    let k = rows.len();
    let mut i = (crate::util::mix64(x as u64) % k as u64) as usize;
    for _ in 0..k {
        if rows[i] == x {
            return Probe::Found(i);
        }
        if rows[i] == NONE {
            return Probe::Empty(i);
        }
        i += 1;
        if i == k {
            i = 0;
        }
    }
    Probe::Full
}

/// How much more (or less) often a clip gets an event per view than the
/// catalogue's rate `g`, as log-odds. The clip's rate is shrunk toward `g`
/// by a prior worth [`PRIOR_EVENTS`] expected events, so a clip with none
/// yet, or too few views to tell, sits near 0 rather than below it: for a
/// rare event a clip needs about 1/g views before its silence means much.
fn rate_log_odds(events: f32, views: f32, g: f32) -> f32 {
    let q = (events + PRIOR_EVENTS) / (views + PRIOR_EVENTS / g);
    logit(q) - logit(g)
}

/// The weight of the prior in [`rate_log_odds`], in expected events.
const PRIOR_EVENTS: f32 = 2.0;
