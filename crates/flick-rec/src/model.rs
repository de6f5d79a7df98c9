//! The recommender: state, online learning, candidates, ranking, re-ranking.

use crate::config::{Config, MODEL_VERSION};
use crate::scan::{self, TopK};
use crate::types::{
    Event, EventKind, Interests, Reason, Recommendation, Request, VideoMeta, MAX_PAGE,
};
use crate::util::{logit, sigmoid, FastMap, IdMap, Rng, SeenFilter, NONE};
use std::collections::BTreeSet;

/// Hashtags beyond the first few are ignored: they are the clip's topics.
/// Marks a video id replaced by [`Recommender::forget_creator`].
const VIDEO_TOMBSTONE: u64 = 1 << 63;

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
    pub emb: Vec<f32>,
    pub q8: Vec<i8>,
    pub scale: Vec<f32>,
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

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct UserState {
    pub emb: Vec<f32>,
    /// Recent strong positives (video row, signal), oldest first.
    pub history: Vec<(u32, f32)>,
    pub seen: SeenFilter,
    pub hidden: Vec<u32>,
    pub ni_creators: Vec<(u32, u8)>,
    pub ni_tags: Vec<(u32, u8)>,
    pub follows: Vec<u32>,
    pub affinity: Vec<(FeatureKind, u32, f32)>,
    pub last_active_ms: i64,
    pub positives: u32,
}

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
    pub features: [Vec<u64>; 3],
    /// Users forgotten or evicted since the last snapshot: (id, row).
    pub user_tombstones: Vec<(u64, u32)>,
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

/// Per-request scratch buffers, kept to avoid allocating per request.
#[derive(Clone, Default)]
struct Scratch {
    cooc: Vec<f32>,
    cooc_src: Vec<u32>,
    cooc_best: Vec<f32>,
    touched: Vec<u32>,
}

pub struct Recommender {
    pub(crate) cfg: Config,
    pub(crate) seed: u64,
    pub(crate) rng: Rng,
    pub(crate) videos: IdMap,
    pub(crate) v: Videos,
    pub(crate) users: IdMap,
    pub(crate) u: Vec<Option<UserState>>,
    pub(crate) feats: [IdMap<String>; 3],
    pub(crate) f: [Vec<Feature>; 3],
    pub(crate) regions: IdMap<String>,
    pub(crate) hot: Vec<HotSet>,
    pub(crate) exploring: BTreeSet<u32>,
    pub(crate) global_views: f64,
    pub(crate) global_completes: f64,
    /// Sums of the clips' likes and shares; not in snapshots (recounted on
    /// load), since they follow from the per-clip counters.
    pub(crate) engagement: Engagement,
    pub(crate) events: u64,
    pub(crate) last_event_ms: i64,
    pub(crate) dirty: Dirty,
    scratch: Scratch,
}

impl Clone for Recommender {
    fn clone(&self) -> Self {
        Recommender {
            cfg: self.cfg.clone(),
            seed: self.seed,
            rng: self.rng.clone(),
            videos: self.videos.clone(),
            v: self.v.clone(),
            users: self.users.clone(),
            u: self.u.clone(),
            feats: self.feats.clone(),
            f: self.f.clone(),
            regions: self.regions.clone(),
            hot: self.hot.clone(),
            exploring: self.exploring.clone(),
            global_views: self.global_views,
            global_completes: self.global_completes,
            engagement: self.engagement,
            events: self.events,
            last_event_ms: self.last_event_ms,
            dirty: self.dirty.clone(),
            scratch: Scratch::default(),
        }
    }
}

/// A candidate during one request.
struct Cand {
    row: u32,
    reasons: Vec<Reason>,
    cooc: f32,
    score: f32,
}

fn push_reason(reasons: &mut Vec<Reason>, r: Reason) {
    if !reasons.contains(&r) {
        reasons.push(r);
    }
}

impl Recommender {
    pub fn new(config: Config, seed: u64) -> Self {
        let mut regions = IdMap::default();
        regions.insert(String::new());
        Recommender {
            cfg: config,
            seed,
            rng: Rng::new(seed),
            videos: IdMap::default(),
            v: Videos::default(),
            users: IdMap::default(),
            u: Vec::new(),
            feats: Default::default(),
            f: Default::default(),
            regions,
            hot: vec![HotSet::default()],
            exploring: BTreeSet::new(),
            global_views: 0.0,
            global_completes: 0.0,
            engagement: Engagement::default(),
            events: 0,
            last_event_ms: i64::MIN,
            dirty: Dirty::default(),
            scratch: Scratch::default(),
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

    pub fn video_count(&self) -> usize {
        self.videos.len()
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    // ----- catalogue -------------------------------------------------------

    fn feature_row(&mut self, kind: FeatureKind, key: String, at_ms: i64) -> u32 {
        let k = kind as usize;
        let (row, new) = self.feats[k].insert(key);
        if new {
            let f = Feature::default();
            if row as usize == self.f[k].len() {
                self.f[k].push(f);
            } else {
                self.f[k][row as usize] = f;
            }
        }
        mark(&mut self.dirty.features[k], row);
        let f = &mut self.f[k][row as usize];
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

    pub fn upsert_video(&mut self, meta: VideoMeta) {
        let dim = self.cfg.dim;
        let (row, new) = self.videos.insert(meta.id);
        let r = row as usize;
        if new {
            let v = &mut self.v;
            v.creator.push(NONE);
            v.sound.push(NONE);
            v.tags.push([NONE; MAX_TAGS]);
            v.region.push(0);
            v.created_at.push(0);
            v.duration.push(0);
            v.state.push(EXPLORING);
            v.emb.resize(v.emb.len() + dim, 0.0);
            v.q8.resize(v.q8.len() + dim, 0);
            v.scale.push(0.0);
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
                let f = &mut self.f[kind as usize][fr as usize];
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
            let mut init = vec![0f32; dim];
            let mut n = 0;
            for &(kind, fr) in &features {
                if let Some(e) = &self.f[kind as usize][fr as usize].emb {
                    init.iter_mut().zip(e).for_each(|(a, b)| *a += b);
                    n += 1;
                }
            }
            let noise = 0.1 / (dim as f32).sqrt();
            for x in init.iter_mut() {
                if n > 0 {
                    *x /= n as f32;
                }
                *x += noise * self.rng.normal() as f32;
            }
            self.v.emb[r * dim..(r + 1) * dim].copy_from_slice(&init);
            self.requantize(row);
        }
        let v = &mut self.v;
        v.creator[r] = creator;
        v.sound[r] = sound;
        v.tags[r] = tags;
        v.region[r] = region;
        v.created_at[r] = meta.created_at_ms;
        v.duration[r] = meta.duration_ms;
        mark(&mut self.dirty.videos, row);
    }

    pub fn remove_video(&mut self, id: u64) {
        let Some(row) = self.videos.get(&id) else {
            return;
        };
        self.v.state[row as usize] |= REMOVED;
        self.v.state[row as usize] &= !EXPLORING;
        self.exploring.remove(&row);
        for h in 0..self.hot.len() {
            self.hot_remove(h, row);
        }
        mark(&mut self.dirty.videos, row);
    }

    fn requantize(&mut self, row: u32) {
        let dim = self.cfg.dim;
        let r = row as usize;
        let s = scan::quantize(
            &self.v.emb[r * dim..(r + 1) * dim],
            &mut self.v.q8[r * dim..(r + 1) * dim],
        );
        self.v.scale[r] = s;
    }

    // ----- users -----------------------------------------------------------

    fn fresh_user(&self) -> UserState {
        UserState {
            emb: vec![0.0; self.cfg.dim],
            history: Vec::new(),
            seen: SeenFilter::new(self.cfg.seen_filter_bits),
            hidden: Vec::new(),
            ni_creators: Vec::new(),
            ni_tags: Vec::new(),
            follows: Vec::new(),
            affinity: Vec::new(),
            last_active_ms: i64::MIN,
            positives: 0,
        }
    }

    fn user_row(&mut self, user: u64) -> u32 {
        let (row, new) = self.users.insert(user);
        if new {
            let s = self.fresh_user();
            if row as usize == self.u.len() {
                self.u.push(Some(s));
            } else {
                self.u[row as usize] = Some(s);
            }
        }
        mark(&mut self.dirty.users, row);
        row
    }

    fn user(&self, row: u32) -> &UserState {
        self.u[row as usize].as_ref().expect("live user")
    }

    fn user_mut(&mut self, row: u32) -> &mut UserState {
        self.u[row as usize].as_mut().expect("live user")
    }

    /// Resets what the model learnt about `user` and their seen filter; the
    /// next page equals a new user's. Follows are kept (they are the social
    /// graph, not model state).
    pub fn reset_user(&mut self, user: u64) {
        let Some(row) = self.users.get(&user) else {
            return;
        };
        let follows = std::mem::take(&mut self.user_mut(row).follows);
        let mut s = self.fresh_user();
        s.follows = follows;
        self.u[row as usize] = Some(s);
        mark(&mut self.dirty.users, row);
    }

    /// Removes every trace keyed by `user`; the next snapshot carries a
    /// tombstone. Aggregates they contributed to (co-occurrence counts,
    /// video rates, trending) stay, as they are not about them.
    pub fn forget_user(&mut self, user: u64) {
        if let Some(row) = self.users.remove(&user) {
            self.u[row as usize] = None;
            self.dirty.user_tombstones.push((user, row));
        }
    }

    /// Account deletion, the creator's side: their videos are removed and
    /// every id that named them — the video ids and the creator's own id —
    /// is replaced by a tombstone, so no later snapshot carries them. What
    /// other users' models learnt from those clips stays, unattributed.
    pub fn forget_creator(&mut self, creator: u64) {
        let Some(crow) = self.feats[0].get(creator.to_string().as_str()) else {
            return;
        };
        let rows: Vec<u32> = (0..self.videos.ids.len() as u32)
            .filter(|&r| {
                self.videos.ids[r as usize].is_some() && self.v.creator[r as usize] == crow
            })
            .collect();
        for row in rows {
            let id = *self.videos.id(row);
            self.remove_video(id);
            // Real ids stay below 2^53; the top bit marks a tombstone.
            self.videos.place(VIDEO_TOMBSTONE | u64::from(row), row);
            mark(&mut self.dirty.videos, row);
        }
        self.feats[0].place(format!("deleted-{crow}"), crow);
        mark(&mut self.dirty.features[0], crow);
    }

    pub fn follow(&mut self, user: u64, creator: u64, following: bool) {
        let ur = self.user_row(user);
        let key = creator.to_string();
        let cr = if following {
            Some(self.feature_row(FeatureKind::Creator, key, self.last_event_ms.max(0)))
        } else {
            self.feats[0].get(key.as_str())
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
        let w = if following { 1.0 } else { -1.0 };
        bump_affinity(&mut s.affinity, FeatureKind::Creator, cr, w);
    }

    // ----- learning --------------------------------------------------------

    /// The learning signal of an event (positive: the user liked it).
    pub fn signal(&self, e: &Event) -> f32 {
        let s = &self.cfg.signals;
        match e.kind {
            EventKind::Impression => 0.0,
            EventKind::View {
                watched_ms,
                completed,
                loops,
            } => {
                let duration = self
                    .videos
                    .get(&e.video)
                    .map(|r| self.v.duration[r as usize])
                    .unwrap_or(0);
                if completed && loops > 0 {
                    s.completed_with_loop
                } else if completed {
                    s.completed
                } else if watched_ms < s.quick_skip_ms {
                    s.quick_skip
                } else if duration > 0 && watched_ms * 2 >= duration {
                    s.half_view
                } else {
                    s.partial_view
                }
            }
            EventKind::Like => s.like,
            EventKind::Unlike => s.unlike,
            EventKind::Share => s.share,
            EventKind::Comment => s.comment,
            EventKind::NotInterested => s.not_interested,
            EventKind::Skip => s.skip,
        }
    }

    pub fn observe(&mut self, e: &Event) {
        let Some(vrow) = self.videos.get(&e.video) else {
            return;
        };
        self.events += 1;
        self.last_event_ms = self.last_event_ms.max(e.at_ms);
        let urow = self.user_row(e.user);
        let w = self.signal(e);
        let r = vrow as usize;
        {
            let user = self.user_mut(urow);
            user.last_active_ms = user.last_active_ms.max(e.at_ms);
        }
        let capacity = self.cfg.seen_filter_items;
        self.user_mut(urow).seen.insert(e.video, capacity);

        // Per-video evidence.
        let st = &mut self.v.stats[r];
        match e.kind {
            EventKind::View {
                watched_ms,
                completed,
                ..
            } => {
                st.views += 1.0;
                self.global_views += 1.0;
                if completed {
                    st.completes += 1.0;
                    self.global_completes += 1.0;
                } else {
                    // A quick skip is full evidence against; a partial watch half.
                    st.fails += if watched_ms < self.cfg.signals.quick_skip_ms {
                        1.0
                    } else {
                        0.5
                    };
                }
            }
            EventKind::Skip | EventKind::NotInterested => st.fails += 1.0,
            EventKind::Like => {
                st.likes += 1.0;
                self.engagement.likes += 1.0;
            }
            EventKind::Unlike if st.likes >= 1.0 => {
                st.likes -= 1.0;
                self.engagement.likes -= 1.0;
            }
            EventKind::Share => {
                st.shares += 1.0;
                self.engagement.shares += 1.0;
            }
            _ => {}
        }
        mark(&mut self.dirty.videos, vrow);
        self.judge_early(vrow);

        if let EventKind::NotInterested = e.kind {
            self.not_interested(urow, vrow);
        }
        if w != 0.0 {
            self.update_affinity(urow, vrow, w);
            self.train_embeddings(urow, vrow, w);
        }
        if w > 0.0 {
            self.bump_trending(vrow, w, e.at_ms);
        }
        if w >= self.cfg.signals.history_min {
            self.add_to_history(urow, vrow, w);
        }
        if self.cfg.maintenance_every > 0 && self.events.is_multiple_of(self.cfg.maintenance_every)
        {
            self.maintain(self.last_event_ms);
        }
    }

    fn not_interested(&mut self, urow: u32, vrow: u32) {
        let creator = self.v.creator[vrow as usize];
        let tags = self.v.tags[vrow as usize];
        let s = self.user_mut(urow);
        if !s.hidden.contains(&vrow) {
            s.hidden.push(vrow);
            if s.hidden.len() > HIDDEN_CAP {
                s.hidden.remove(0);
            }
        }
        count_up(&mut s.ni_creators, creator);
        for t in tags.into_iter().filter(|&t| t != NONE) {
            count_up(&mut s.ni_tags, t);
        }
    }

    fn update_affinity(&mut self, urow: u32, vrow: u32, w: f32) {
        let r = vrow as usize;
        let (creator, sound, tags) = (self.v.creator[r], self.v.sound[r], self.v.tags[r]);
        let ntags = tags.iter().filter(|&&t| t != NONE).count().max(1) as f32;
        let s = self.user_mut(urow);
        bump_affinity(&mut s.affinity, FeatureKind::Creator, creator, w);
        if sound != NONE {
            bump_affinity(&mut s.affinity, FeatureKind::Sound, sound, 0.5 * w);
        }
        for t in tags.into_iter().filter(|&t| t != NONE) {
            bump_affinity(&mut s.affinity, FeatureKind::Tag, t, w / ntags);
        }
    }

    /// One SGD step per event: BPR against a sampled negative for positive
    /// signals, a pointwise push-down for negative ones.
    fn train_embeddings(&mut self, urow: u32, vrow: u32, w: f32) {
        let dim = self.cfg.dim;
        let (lr, reg) = (self.cfg.learning_rate, self.cfg.regularization);
        let n_rows = self.v.state.len() as u64;
        let mut p = std::mem::take(&mut self.user_mut(urow).emb);
        let i = vrow as usize;
        if w > 0.0 {
            let mut neg = NONE;
            for _ in 0..4 {
                let c = self.rng.below(n_rows) as u32;
                if c != vrow && self.v.state[c as usize] & REMOVED == 0 {
                    neg = c;
                    break;
                }
            }
            if neg != NONE {
                let n = neg as usize;
                let (qi, qn) = (
                    &self.v.emb[i * dim..(i + 1) * dim],
                    &self.v.emb[n * dim..(n + 1) * dim],
                );
                let x = scan::dot_f32(&p, qi) - scan::dot_f32(&p, qn);
                let g = w.min(2.0) * sigmoid(-x);
                for (d, pd) in p.iter_mut().enumerate() {
                    let (pu, a, b) = (*pd, self.v.emb[i * dim + d], self.v.emb[n * dim + d]);
                    *pd += lr * (g * (a - b) - reg * pu);
                    self.v.emb[i * dim + d] += lr * (g * pu - reg * a);
                    self.v.emb[n * dim + d] += lr * (-g * pu - reg * b);
                }
                self.requantize(neg);
                mark(&mut self.dirty.videos, neg);
            }
        } else {
            let qi = &self.v.emb[i * dim..(i + 1) * dim];
            let g = (-w).min(2.0) * sigmoid(scan::dot_f32(&p, qi));
            for (d, pd) in p.iter_mut().enumerate() {
                let (pu, a) = (*pd, self.v.emb[i * dim + d]);
                *pd -= lr * (g * a + reg * pu);
                self.v.emb[i * dim + d] -= lr * (g * pu + reg * a);
            }
        }
        self.user_mut(urow).emb = p;
        self.requantize(vrow);
        // Side features follow their clips (an average used to warm-start
        // new clips by the same creator, sound or hashtag).
        let r = i;
        let feats = [
            (FeatureKind::Creator, self.v.creator[r]),
            (FeatureKind::Sound, self.v.sound[r]),
        ]
        .into_iter()
        .chain(self.v.tags[r].map(|t| (FeatureKind::Tag, t)));
        let at = self.last_event_ms;
        for (kind, fr) in feats {
            if fr == NONE {
                continue;
            }
            let f = &mut self.f[kind as usize][fr as usize];
            // The touch time is snapshotted too (it drives eviction), so a
            // feature still below the admission threshold, which has no
            // embedding to update, is dirty as soon as its time moves.
            let mut changed = at > f.last_touch_ms;
            f.last_touch_ms = f.last_touch_ms.max(at);
            if let Some(e) = f.emb.as_mut() {
                for (x, v) in e.iter_mut().zip(&self.v.emb[r * dim..(r + 1) * dim]) {
                    *x += 0.05 * (v - *x);
                }
                changed = true;
            }
            if changed {
                mark(&mut self.dirty.features[kind as usize], fr);
            }
        }
    }

    fn add_to_history(&mut self, urow: u32, vrow: u32, w: f32) {
        let cap = self.cfg.history_len;
        let s = self.user_mut(urow);
        if let Some(h) = s.history.iter_mut().find(|(r, _)| *r == vrow) {
            h.1 = h.1.max(w);
            return;
        }
        let partners: Vec<u32> = s.history.iter().map(|h| h.0).collect();
        let activity = s.positives as f32;
        s.positives += 1;
        s.history.push((vrow, w));
        if s.history.len() > cap {
            s.history.remove(0);
        }
        let inc = 1.0 / (1.0 + activity).powf(self.cfg.activity_damping);
        for p in partners {
            self.add_pair(p, vrow, inc);
            self.add_pair(vrow, p, inc);
        }
        self.v.stats[vrow as usize].positives += 1.0;
    }

    /// Bounded neighbour slots: a missing neighbour replaces the slot with the
    /// lowest popularity-normalised similarity, starting from its own count
    /// (not the evicted one's: inheriting counts, as plain space-saving does,
    /// inflates rare items, which the normalisation then magnifies).
    fn add_pair(&mut self, from: u32, to: u32, inc: f32) {
        let k = self.cfg.neighbors;
        if k == 0 {
            return;
        }
        let base = from as usize * k;
        let rows = &mut self.v.nbr_row[base..base + k];
        let counts = &mut self.v.nbr_count[base..base + k];
        if let Probe::Found(i) = probe(rows, to) {
            counts[i] += inc;
        } else if let Probe::Empty(i) = probe(rows, to) {
            rows[i] = to;
            counts[i] = inc;
        } else {
            // Full: Space-Saving (Metwally et al.). The slot with the
            // smallest count goes to the new pair, which inherits that count
            // plus its own: the pairs seen most often keep their slots, and
            // a newcomer that keeps arriving climbs past the stale ones.
            // Popularity damping belongs to scoring, not to who is kept.
            let (weakest, min) =
                counts
                    .iter()
                    .copied()
                    .enumerate()
                    .fold(
                        (0, f32::INFINITY),
                        |a, (i, c)| if c < a.1 { (i, c) } else { a },
                    );
            rows[weakest] = to;
            counts[weakest] = min + inc;
        }
        mark(&mut self.dirty.videos, from);
    }

    fn bump_trending(&mut self, vrow: u32, w: f32, at_ms: i64) {
        let r = vrow as usize;
        if self.v.state[r] & REMOVED != 0 {
            return;
        }
        let tau = self.cfg.trending_half_life_ms as f64 / std::f64::consts::LN_2;
        let add = (w as f64).ln() + at_ms as f64 / tau;
        let old = self.v.stats[r].trend as f64;
        let new = if self.v.stats[r].views + self.v.stats[r].likes == 0.0 && old == 0.0 {
            add
        } else {
            let m = old.max(add);
            m + ((old - m).exp() + (add - m).exp()).ln()
        };
        let key = new as f32;
        self.v.stats[r].trend = key;
        let region = self.v.region[r] as usize;
        self.hot_put(0, vrow, key);
        if region != 0 {
            self.hot_put(region, vrow, key);
        }
    }

    fn hot_put(&mut self, h: usize, row: u32, key: f32) {
        let cap = self.cfg.trending_set;
        let set = &mut self.hot[h];
        if let Some(&p) = set.pos.get(&row) {
            set.entries[p as usize].1 = key;
            return;
        }
        set.pos.insert(row, set.entries.len() as u32);
        set.entries.push((row, key));
        if set.entries.len() >= 2 * cap.max(1) {
            set.entries
                .sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            set.entries.truncate(cap);
            set.pos.clear();
            for (i, &(r, _)) in set.entries.iter().enumerate() {
                set.pos.insert(r, i as u32);
            }
        }
    }

    fn hot_remove(&mut self, h: usize, row: u32) {
        let set = &mut self.hot[h];
        if let Some(p) = set.pos.remove(&row) {
            set.entries.remove(p as usize);
            for (i, &(r, _)) in set.entries.iter().enumerate().skip(p as usize) {
                set.pos.insert(r, i as u32);
            }
        }
    }

    fn hot_top(&self, h: usize, n: usize) -> Vec<u32> {
        let mut e = self.hot[h].entries.clone();
        e.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        e.into_iter().take(n).map(|x| x.0).collect()
    }

    /// Evicts users idle longer than `user_ttl_ms` and the embeddings and
    /// recent lists of side features untouched for `feature_ttl_ms`. Runs
    /// every `maintenance_every` events on event time; callable directly.
    pub fn maintain(&mut self, now_ms: i64) {
        let user_cut = now_ms.saturating_sub(self.cfg.user_ttl_ms);
        let stale: Vec<u64> = (0..self.u.len())
            .filter(|&r| {
                self.u[r]
                    .as_ref()
                    .is_some_and(|s| s.last_active_ms < user_cut && s.last_active_ms != i64::MIN)
            })
            .map(|r| *self.users.id(r as u32))
            .collect();
        for id in stale {
            self.forget_user(id);
        }
        let feat_cut = now_ms.saturating_sub(self.cfg.feature_ttl_ms);
        for k in 0..3 {
            for r in 0..self.f[k].len() {
                let f = &mut self.f[k][r];
                if f.last_touch_ms < feat_cut && (f.emb.is_some() || !f.recent.is_empty()) {
                    f.emb = None;
                    f.recent.clear();
                    f.uses = 0;
                    mark(&mut self.dirty.features[k], r as u32);
                }
            }
        }
    }

    // ----- serving ---------------------------------------------------------

    /// Likes and shares per view over the catalogue, with a floor so a
    /// service without any yet has a rate to compare with.
    fn engagement_rates(&self) -> (f32, f32) {
        let views = self.global_views + 100.0;
        (
            ((self.engagement.likes + 1.0) / views) as f32,
            ((self.engagement.shares + 1.0) / views) as f32,
        )
    }

    /// Recounts the catalogue's likes and shares from the clips' counters
    /// (after loading a snapshot, which does not store the sums).
    pub(crate) fn recount_engagement(&mut self) {
        let (mut likes, mut shares) = (0.0, 0.0);
        for (r, st) in self.v.stats.iter().enumerate() {
            if self.videos.ids[r].is_some() {
                likes += st.likes as f64;
                shares += st.shares as f64;
            }
        }
        self.engagement = Engagement { likes, shares };
    }

    fn completion_rate(&self) -> f32 {
        ((self.global_completes + 3.0) / (self.global_views + 10.0)) as f32
    }

    fn posterior_completion(&self, r: usize) -> f32 {
        let e = &self.cfg.exploration;
        let s = &self.v.stats[r];
        (e.prior_alpha + s.completes) / (e.prior_alpha + e.prior_beta + s.completes + s.fails)
    }

    /// Eligible for this user at all (seen, hidden, removed, suppressed...).
    fn eligible(&self, row: u32, user: Option<(u64, &UserState)>, exclude: &[u64]) -> bool {
        let r = row as usize;
        if self.v.state[r] & (REMOVED | FAILED) != 0 {
            return false;
        }
        let id = *self.videos.id(row);
        if exclude.contains(&id) {
            return false;
        }
        if let Some((uid, s)) = user {
            let creator = self.v.creator[r];
            if self.feats[0].id(creator).parse::<u64>().ok() == Some(uid) {
                return false;
            }
            let t = self.cfg.not_interested_threshold;
            if s.hidden.contains(&row)
                || s.seen.contains(id)
                || s.ni_creators.iter().any(|&(c, n)| c == creator && n >= t)
                || self.v.tags[r]
                    .iter()
                    .any(|tag| *tag != NONE && s.ni_tags.iter().any(|&(x, n)| x == *tag && n >= t))
            {
                return false;
            }
        }
        true
    }

    /// The user's query vector: their own embedding plus the mean of their
    /// most recent loved clips, so a new user is placed from the first like.
    fn query_vector(&self, s: &UserState) -> Vec<f32> {
        let dim = self.cfg.dim;
        let mut q = s.emb.clone();
        let recent: Vec<u32> = s
            .history
            .iter()
            .rev()
            .take(QUERY_HISTORY)
            .map(|h| h.0)
            .collect();
        if !recent.is_empty() {
            let inv = 1.0 / recent.len() as f32;
            for row in recent {
                let e = &self.v.emb[row as usize * dim..(row as usize + 1) * dim];
                q.iter_mut().zip(e).for_each(|(a, b)| *a += inv * b);
            }
        }
        q
    }

    /// Co-occurrence scores into scratch: Σ over history of
    /// count / (n_from^a · n_to^b), with the strongest source kept.
    fn cooc_scores(&mut self, urow: u32) {
        let k = self.cfg.neighbors;
        let n = self.v.state.len();
        let sc = &mut self.scratch;
        if sc.cooc.len() < n {
            sc.cooc.resize(n, 0.0);
            sc.cooc_src.resize(n, NONE);
            sc.cooc_best.resize(n, 0.0);
        }
        let s = self.u[urow as usize].as_ref().expect("live user");
        for &(h, _) in &s.history {
            let nh = self.v.stats[h as usize].positives.max(1.0);
            let norm_from = nh.powf(self.cfg.pop_from);
            let base = h as usize * k;
            for (&row, &count) in self.v.nbr_row[base..base + k]
                .iter()
                .zip(&self.v.nbr_count[base..base + k])
            {
                if row == NONE {
                    continue;
                }
                let j = row as usize;
                let c = count / norm_from;
                if sc.cooc[j] == 0.0 {
                    sc.touched.push(row);
                }
                sc.cooc[j] += c;
                if c > sc.cooc_best[j] {
                    sc.cooc_best[j] = c;
                    sc.cooc_src[j] = h;
                }
            }
        }
        for &j in &sc.touched {
            let nj = self.v.stats[j as usize].positives.max(1.0);
            sc.cooc[j as usize] /= nj.powf(self.cfg.pop_to);
        }
    }

    fn clear_scratch(&mut self) {
        let sc = &mut self.scratch;
        for &j in &sc.touched {
            sc.cooc[j as usize] = 0.0;
            sc.cooc_best[j as usize] = 0.0;
            sc.cooc_src[j as usize] = NONE;
        }
        sc.touched.clear();
    }

    fn add_cand(
        cands: &mut Vec<Cand>,
        pos: &mut FastMap<u32, usize>,
        row: u32,
        reason: Reason,
    ) -> usize {
        let i = *pos.entry(row).or_insert_with(|| {
            cands.push(Cand {
                row,
                reasons: Vec::new(),
                cooc: 0.0,
                score: 0.0,
            });
            cands.len() - 1
        });
        push_reason(&mut cands[i].reasons, reason);
        i
    }

    /// The next page for `req`; serving marks it seen (the next page will not
    /// repeat it) and spends exploration budget.
    pub fn recommend(&mut self, req: &Request) -> Vec<Recommendation> {
        self.recommend_inner(req, true)
    }

    /// The page `recommend` would return now, without serving it: nothing is
    /// marked seen, no budget is spent, the PRNG is left as it was.
    pub fn preview(&mut self, req: &Request) -> Vec<Recommendation> {
        let rng = self.rng.clone();
        let page = self.recommend_inner(req, false);
        self.rng = rng;
        page
    }

    fn recommend_inner(&mut self, req: &Request, serve: bool) -> Vec<Recommendation> {
        // The page size sizes allocations below; whatever a caller passes,
        // a page never exceeds the catalogue (nor MAX_PAGE).
        let limit = req.limit.min(MAX_PAGE).min(self.videos.len());
        if limit == 0 {
            return Vec::new();
        }
        let urow = req.user.map(|u| self.user_row(u));
        let region = self
            .regions
            .get(req.region.as_deref().unwrap_or(""))
            .unwrap_or(0) as usize;
        let mut cands: Vec<Cand> = Vec::new();
        let mut pos: FastMap<u32, usize> = FastMap::default();
        let lim = self.cfg.candidates.clone();

        // 1. Candidate sources. Each records the reason it contributes.
        if let Some(ur) = urow {
            self.cooc_scores(ur);
            let s = self.user(ur);
            let uid = req.user.expect("user");
            let mut top = TopK::new(lim.cooccurrence);
            for &j in &self.scratch.touched {
                let sc = self.scratch.cooc[j as usize];
                if sc > top.threshold() && self.eligible(j, Some((uid, s)), req.exclude) {
                    top.push(j, sc);
                }
            }
            let max = top.clone_max();
            for it in top.into_sorted() {
                let src = self.scratch.cooc_src[it.row as usize];
                let i = Self::add_cand(
                    &mut cands,
                    &mut pos,
                    it.row,
                    Reason::SimilarToWatched {
                        video: *self.videos.id(src),
                    },
                );
                cands[i].cooc = it.score / max;
            }
            self.clear_scratch();

            // Nearest neighbours of the query vector, exact i8 scan.
            let s = self.user(ur);
            if !s.history.is_empty() && lim.nearest > 0 {
                let q = self.query_vector(s);
                let mut q8 = vec![0i8; self.cfg.dim];
                scan::quantize(&q, &mut q8);
                let mut top = TopK::new(lim.nearest);
                let scales = &self.v.scale;
                let mut sink = |r: u32, d: i32| {
                    let sc = d as f32 * scales[r as usize];
                    if sc > top.threshold() && self.eligible(r, Some((uid, s)), req.exclude) {
                        top.push(r, sc);
                    }
                };
                scan::scan(&q8, &self.v.q8, self.cfg.dim, &mut sink);
                let recent: Vec<u32> = s
                    .history
                    .iter()
                    .rev()
                    .take(QUERY_HISTORY)
                    .map(|h| h.0)
                    .collect();
                for it in top.into_sorted() {
                    let closest = self.closest_in(&recent, it.row);
                    Self::add_cand(
                        &mut cands,
                        &mut pos,
                        it.row,
                        Reason::SimilarToWatched {
                            video: *self.videos.id(closest),
                        },
                    );
                }
            }

            // Followed creators' newest clips.
            let s = self.user(ur);
            let mut n = 0;
            for &c in s.follows.iter().rev() {
                let creator_id: u64 = self.feats[0].id(c).parse().unwrap_or(0);
                for &row in self.f[0][c as usize].recent.iter().rev() {
                    if n >= lim.followed {
                        break;
                    }
                    if self.eligible(row, Some((uid, s)), req.exclude) {
                        Self::add_cand(
                            &mut cands,
                            &mut pos,
                            row,
                            Reason::FromFollowed {
                                creator: creator_id,
                            },
                        );
                        n += 1;
                    }
                }
            }

            // Clips sharing a sound or hashtag with recently loved ones.
            let mut n = 0;
            for &(loved, _) in s.history.iter().rev().take(LOVED_FOR_FEATURES) {
                let l = loved as usize;
                let sound = self.v.sound[l];
                if sound != NONE {
                    let sound_id: u64 = self.feats[1].id(sound).parse().unwrap_or(0);
                    for &row in self.f[1][sound as usize].recent.iter().rev() {
                        if n < lim.sound_hashtag && self.eligible(row, Some((uid, s)), req.exclude)
                        {
                            Self::add_cand(
                                &mut cands,
                                &mut pos,
                                row,
                                Reason::SharesSound {
                                    sound: sound_id,
                                    video: *self.videos.id(loved),
                                },
                            );
                            n += 1;
                        }
                    }
                }
                for tag in self.v.tags[l].into_iter().filter(|&t| t != NONE) {
                    for &row in self.f[2][tag as usize].recent.iter().rev() {
                        if n < lim.sound_hashtag && self.eligible(row, Some((uid, s)), req.exclude)
                        {
                            Self::add_cand(
                                &mut cands,
                                &mut pos,
                                row,
                                Reason::SharesHashtag {
                                    tag: self.feats[2].id(tag).clone(),
                                },
                            );
                            n += 1;
                        }
                    }
                }
            }
        }

        // Trending, in the viewer's region and everywhere.
        let user_ref = urow.map(|r| (req.user.expect("user"), self.user(r)));
        let mut trending: Vec<(u32, Reason)> = Vec::new();
        if region != 0 {
            let name = self.regions.id(region as u32).clone();
            for row in self.hot_top(region, lim.trending) {
                trending.push((
                    row,
                    Reason::PopularInRegion {
                        region: name.clone(),
                    },
                ));
            }
        }
        for row in self.hot_top(0, lim.trending) {
            trending.push((row, Reason::Trending));
        }
        for (row, reason) in trending {
            if self.eligible(row, user_ref, req.exclude) {
                Self::add_cand(&mut cands, &mut pos, row, reason);
            }
        }

        // 2. Ranking.
        let q = urow.map(|r| self.query_vector(self.user(r)));
        for c in cands.iter_mut() {
            c.score = self.rank_score(
                c.row,
                urow.map(|r| self.user(r)),
                q.as_deref(),
                c.cooc,
                req.now_ms,
            );
        }

        // Exploration: Thompson samples of the completion rate of a few
        // clips still under their impression budget.
        let mut explore: Vec<(u32, f32)> = Vec::new();
        if req.explore && self.cfg.exploration.every > 0 && !self.exploring.is_empty() {
            let n_rows = self.v.state.len() as u64;
            // Few candidates (a new service, a new user): draw more.
            let draws = self
                .cfg
                .exploration
                .draws
                .max((3 * limit).saturating_sub(cands.len()));
            // Half the draws are the newest uploads, so a new clip is tried
            // within its first requests; the rest are spread over the pool.
            let newest: Vec<u32> = self
                .exploring
                .iter()
                .rev()
                .take(draws / 2)
                .copied()
                .collect();
            let starts: Vec<u32> = newest
                .into_iter()
                .chain((0..draws - draws / 2).map(|_| self.rng.below(n_rows) as u32))
                .collect();
            let user_ref = urow.map(|r| (req.user.expect("user"), self.user(r)));
            let mut drawn: Vec<u32> = Vec::new();
            for start in starts {
                let row = self
                    .exploring
                    .range(start..)
                    .next()
                    .or_else(|| self.exploring.iter().next())
                    .copied();
                if let Some(row) = row {
                    if !drawn.contains(&row) && self.eligible(row, user_ref, req.exclude) {
                        drawn.push(row);
                    }
                }
            }
            let e = self.cfg.exploration.clone();
            for row in drawn {
                let st = self.v.stats[row as usize];
                let theta = self.rng.beta(
                    (e.prior_alpha + st.completes) as f64,
                    (e.prior_beta + st.fails) as f64,
                ) as f32;
                explore.push((row, theta));
            }
            explore.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }

        // 3. Re-ranking: one creator never twice in a row, repeated topics
        // scored down, exploration slots interleaved.
        cands.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.row.cmp(&b.row)));
        let mut out: Vec<Recommendation> = Vec::with_capacity(limit);
        let mut used: Vec<u32> = Vec::with_capacity(limit);
        let mut last_creator = NONE;
        let mut recent_topics: Vec<u32> = Vec::new();
        let every = self.cfg.exploration.every;
        // Kept whole for the last-resort fill below; the iterator is consumed.
        let explore_all = explore.clone();
        let mut explore_iter = explore.into_iter();
        while out.len() < limit {
            let slot = out.len();
            let mut picked: Option<(u32, f32, Vec<Reason>)> = None;
            let mut take_explore = |used: &Vec<u32>, last_creator: u32| {
                for (row, theta) in explore_iter.by_ref() {
                    if self.v.creator[row as usize] != last_creator && !used.contains(&row) {
                        let mut reasons = pos
                            .get(&row)
                            .map(|&i| cands[i].reasons.clone())
                            .unwrap_or_default();
                        push_reason(&mut reasons, Reason::Exploring);
                        reasons.rotate_right(1);
                        return Some((row, theta, reasons));
                    }
                }
                None
            };
            if every > 0 && slot % every == every - 1 {
                picked = take_explore(&used, last_creator);
            }
            if picked.is_none() {
                let mut best: Option<(usize, f32)> = None;
                for (i, c) in cands.iter().enumerate() {
                    if best.is_some_and(|(_, b)| c.score <= b) {
                        break; // sorted: nothing later can win
                    }
                    if used.contains(&c.row) || self.v.creator[c.row as usize] == last_creator {
                        continue;
                    }
                    let topic = self.v.tags[c.row as usize][0];
                    let repeats = if topic == NONE {
                        0
                    } else {
                        recent_topics.iter().filter(|&&t| t == topic).count()
                    };
                    let eff = c.score * self.cfg.topic_repeat_penalty.powi(repeats as i32);
                    if best.is_none_or(|(_, b)| eff > b) {
                        best = Some((i, eff));
                    }
                }
                if let Some((i, _)) = best {
                    picked = Some((cands[i].row, cands[i].score, cands[i].reasons.clone()));
                }
            }
            if picked.is_none() {
                // Nothing ranked is left (cold start): fill with exploration.
                picked = take_explore(&used, last_creator);
            }
            if picked.is_none() {
                // Only clips by the last creator remain: better a second one
                // in a row than an empty screen.
                picked = cands
                    .iter()
                    .find(|c| !used.contains(&c.row))
                    .map(|c| (c.row, c.score, c.reasons.clone()))
                    .or_else(|| {
                        explore_all
                            .iter()
                            .find(|(row, _)| !used.contains(row))
                            .map(|&(row, theta)| (row, theta, vec![Reason::Exploring]))
                    });
            }
            let Some((row, score, reasons)) = picked else {
                break;
            };
            used.push(row);
            last_creator = self.v.creator[row as usize];
            recent_topics.push(self.v.tags[row as usize][0]);
            if recent_topics.len() > 3 {
                recent_topics.remove(0);
            }
            out.push(Recommendation {
                video: *self.videos.id(row),
                score,
                reasons,
            });
        }

        // 4. Serving marks the page seen and spends exploration budget.
        if !serve {
            return out;
        }
        for &row in &used {
            self.served(row);
        }
        if let Some(ur) = urow {
            let capacity = self.cfg.seen_filter_items;
            let ids: Vec<u64> = out.iter().map(|r| r.video).collect();
            let s = self.user_mut(ur);
            for id in ids {
                s.seen.insert(id, capacity);
            }
        }
        out
    }

    fn served(&mut self, row: u32) {
        let r = row as usize;
        self.v.stats[r].served += 1;
        if self.v.state[r] & EXPLORING != 0 && self.v.stats[r].served >= self.cfg.exploration.budget
        {
            let mean = self.posterior_completion(r);
            let verdict = if mean < self.cfg.exploration.fail_below * self.completion_rate() {
                FAILED
            } else {
                GRADUATED
            };
            self.judge(row, verdict);
        }
        mark(&mut self.dirty.videos, row);
    }

    fn judge(&mut self, row: u32, verdict: u8) {
        let r = row as usize;
        self.v.state[r] &= !EXPLORING;
        self.v.state[r] |= verdict;
        self.exploring.remove(&row);
    }

    /// Stops exploring a clip early once even an optimistic reading of its
    /// completion rate (posterior mean + half a standard deviation, after
    /// five views) is below the
    /// bar, so a bad clip is not shown out to its whole budget.
    fn judge_early(&mut self, row: u32) {
        let r = row as usize;
        let e = &self.cfg.exploration;
        let s = &self.v.stats[r];
        let (a, b) = (e.prior_alpha + s.completes, e.prior_beta + s.fails);
        if self.v.state[r] & EXPLORING == 0 || s.completes + s.fails < 5.0 {
            return;
        }
        let mean = a / (a + b);
        let sd = (a * b / ((a + b) * (a + b) * (a + b + 1.0))).sqrt();
        if mean + 0.5 * sd < e.fail_below * self.completion_rate() {
            self.judge(row, FAILED);
        }
    }

    fn closest_in(&self, history: &[u32], row: u32) -> u32 {
        let dim = self.cfg.dim;
        let r = row as usize;
        let mut best = (f32::NEG_INFINITY, history.first().copied().unwrap_or(row));
        for &h in history {
            let d = scan::dot_i8(
                &self.v.q8[h as usize * dim..(h as usize + 1) * dim],
                &self.v.q8[r * dim..(r + 1) * dim],
            ) as f32
                * self.v.scale[h as usize];
            if d > best.0 {
                best = (d, h);
            }
        }
        best.1
    }

    fn rank_score(
        &self,
        row: u32,
        user: Option<&UserState>,
        q: Option<&[f32]>,
        cooc: f32,
        now_ms: i64,
    ) -> f32 {
        let r = row as usize;
        let w = &self.cfg.ranker;
        let st = &self.v.stats[r];
        let q_complete = self.posterior_completion(r);
        let (g_like, g_share) = self.engagement_rates();
        let q_like = rate_log_odds(st.likes, st.views, g_like);
        let q_share = rate_log_odds(st.shares, st.views, g_share);
        let mut personal = 0.0;
        if let (Some(s), Some(q)) = (user, q) {
            let dim = self.cfg.dim;
            let aff = scan::dot_f32(q, &self.v.emb[r * dim..(r + 1) * dim]);
            let creator = self.v.creator[r];
            let creator_aff = affinity_of(&s.affinity, FeatureKind::Creator, creator);
            let topic_aff: f32 = self.v.tags[r]
                .iter()
                .filter(|&&t| t != NONE)
                .map(|&t| affinity_of(&s.affinity, FeatureKind::Tag, t))
                .sum();
            let follows = s.follows.contains(&creator) as u8 as f32;
            personal = w.affinity * aff.tanh()
                + w.cooccurrence * cooc
                + w.creator_affinity * (creator_aff / 3.0).tanh()
                + w.topic_affinity * topic_aff.tanh()
                + w.follow * follows;
        }
        let fresh = if now_ms - self.v.created_at[r] < w.fresh_ms {
            w.freshness
        } else {
            0.0
        };
        // Every term is log-odds, added: the clip's own evidence plus the
        // personal terms, none squeezed through a sigmoid, so strong
        // evidence keeps its weight. Likes and shares count against the
        // catalogue's own rates: a clip nobody has liked yet is at the
        // average, not below it.
        w.completion * logit(q_complete) + w.like * q_like + w.share * q_share + personal + fresh
    }

    /// Why `video` would be in `user`'s feed now: the candidate sources that
    /// would produce it, checked one by one.
    pub fn explain(&self, user: Option<u64>, video: u64, now_ms: i64) -> Vec<Reason> {
        let _ = now_ms;
        let Some(row) = self.videos.get(&video) else {
            return Vec::new();
        };
        let r = row as usize;
        let mut reasons = Vec::new();
        let k = self.cfg.neighbors;
        if let Some(s) = user
            .and_then(|u| self.users.get(&u))
            .and_then(|ur| self.u[ur as usize].as_ref())
        {
            // Co-occurrence: the history item contributing most.
            let mut best = (0f32, NONE);
            for &(h, _) in &s.history {
                let base = h as usize * k;
                if let Probe::Found(i) = probe(&self.v.nbr_row[base..base + k], row) {
                    {
                        let nh = self.v.stats[h as usize].positives.max(1.0);
                        let c = self.v.nbr_count[base + i] / nh.powf(self.cfg.pop_from);
                        if c > best.0 {
                            best = (c, h);
                        }
                    }
                }
            }
            if best.1 == NONE && !s.history.is_empty() {
                let recent: Vec<u32> = s
                    .history
                    .iter()
                    .rev()
                    .take(QUERY_HISTORY)
                    .map(|h| h.0)
                    .collect();
                let q = self.query_vector(s);
                let dim = self.cfg.dim;
                if scan::dot_f32(&q, &self.v.emb[r * dim..(r + 1) * dim]) > 0.0 {
                    best.1 = self.closest_in(&recent, row);
                }
            }
            if best.1 != NONE {
                reasons.push(Reason::SimilarToWatched {
                    video: *self.videos.id(best.1),
                });
            }
            let creator = self.v.creator[r];
            if s.follows.contains(&creator) {
                reasons.push(Reason::FromFollowed {
                    creator: self.feats[0].id(creator).parse().unwrap_or(0),
                });
            }
            for &(loved, _) in s.history.iter().rev().take(LOVED_FOR_FEATURES) {
                let l = loved as usize;
                if loved != row && self.v.sound[l] != NONE && self.v.sound[l] == self.v.sound[r] {
                    push_reason(
                        &mut reasons,
                        Reason::SharesSound {
                            sound: self.feats[1].id(self.v.sound[l]).parse().unwrap_or(0),
                            video: *self.videos.id(loved),
                        },
                    );
                }
                for t in self.v.tags[l].into_iter().filter(|&t| t != NONE) {
                    if loved != row && self.v.tags[r].contains(&t) {
                        push_reason(
                            &mut reasons,
                            Reason::SharesHashtag {
                                tag: self.feats[2].id(t).clone(),
                            },
                        );
                    }
                }
            }
        }
        let top = self.cfg.candidates.trending;
        let region = self.v.region[r] as usize;
        if region != 0 && self.hot_top(region, top).contains(&row) {
            reasons.push(Reason::PopularInRegion {
                region: self.regions.id(region as u32).clone(),
            });
        }
        if self.hot_top(0, top).contains(&row) {
            reasons.push(Reason::Trending);
        }
        if self.v.state[r] & EXPLORING != 0 {
            reasons.push(Reason::Exploring);
        }
        reasons
    }

    pub fn user_interests(&self, user: u64) -> Interests {
        let Some(s) = self
            .users
            .get(&user)
            .and_then(|r| self.u[r as usize].as_ref())
        else {
            return Interests::default();
        };
        let mut aff: Vec<_> = s.affinity.iter().filter(|a| a.2 > 0.0).cloned().collect();
        aff.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(&b.1)));
        let mut out = Interests {
            positive_events: s.positives,
            follows: s
                .follows
                .iter()
                .map(|&c| self.feats[0].id(c).parse().unwrap_or(0))
                .collect(),
            ..Default::default()
        };
        for (kind, row, w) in aff {
            let key = self.feats[kind as usize].id(row);
            match kind {
                FeatureKind::Creator => out.creators.push((key.parse().unwrap_or(0), w)),
                FeatureKind::Sound => out.sounds.push((key.parse().unwrap_or(0), w)),
                FeatureKind::Tag => out.hashtags.push((key.clone(), w)),
            }
        }
        out
    }

    /// The stored state of a video, for tests and tools: (served, views,
    /// posterior completion, exploring, failed).
    pub fn video_status(&self, video: u64) -> Option<VideoStatus> {
        let r = self.videos.get(&video)? as usize;
        Some(VideoStatus {
            impressions: self.v.stats[r].served,
            views: self.v.stats[r].views as u32,
            completion_rate: self.posterior_completion(r),
            exploring: self.v.state[r] & EXPLORING != 0,
            failed: self.v.state[r] & FAILED != 0,
            removed: self.v.state[r] & REMOVED != 0,
        })
    }

    /// Heap bytes of everything kept per video, and per user.
    pub fn memory(&self) -> Memory {
        let v = &self.v;
        let per_video = self.videos.heap_bytes()
            + v.creator.capacity() * 4
            + v.sound.capacity() * 4
            + v.tags.capacity() * 4 * MAX_TAGS
            + v.region.capacity() * 2
            + v.created_at.capacity() * 8
            + v.duration.capacity() * 4
            + v.state.capacity()
            + v.emb.capacity() * 4
            + v.q8.capacity()
            + v.scale.capacity() * 4
            + v.stats.capacity() * std::mem::size_of::<VideoStats>()
            + v.nbr_row.capacity() * 4
            + v.nbr_count.capacity() * 4
            + self.exploring.len() * 8
            + self.dirty.videos.capacity() * 8
            + self.scratch.cooc.capacity() * 12;
        let per_user = self.users.heap_bytes()
            + self.u.capacity() * std::mem::size_of::<Option<UserState>>()
            + self
                .u
                .iter()
                .flatten()
                .map(|s| {
                    s.emb.capacity() * 4
                        + s.history.capacity() * 8
                        + s.seen.heap_bytes()
                        + s.hidden.capacity() * 4
                        + (s.ni_creators.capacity() + s.ni_tags.capacity()) * 8
                        + s.follows.capacity() * 4
                        + s.affinity.capacity() * std::mem::size_of::<(FeatureKind, u32, f32)>()
                })
                .sum::<usize>()
            + self.dirty.users.capacity() * 8;
        let features: usize = (0..3)
            .map(|k| {
                self.feats[k].heap_bytes()
                    + self.feats[k]
                        .ids
                        .iter()
                        .flatten()
                        .map(|s| s.capacity())
                        .sum::<usize>()
                    + self.f[k]
                        .iter()
                        .map(|f| {
                            std::mem::size_of::<Feature>()
                                + f.recent.capacity() * 4
                                + f.emb.as_ref().map_or(0, |e| e.capacity() * 4)
                        })
                        .sum::<usize>()
            })
            .sum();
        Memory {
            videos: self.videos.len(),
            users: self.users.len(),
            video_bytes: per_video,
            user_bytes: per_user,
            feature_bytes: features,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoStatus {
    pub impressions: u32,
    pub views: u32,
    pub completion_rate: f32,
    pub exploring: bool,
    pub failed: bool,
    pub removed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Memory {
    pub videos: usize,
    pub users: usize,
    pub video_bytes: usize,
    pub user_bytes: usize,
    /// Creators, sounds and hashtags (shared by many videos).
    pub feature_bytes: usize,
}

impl Memory {
    pub fn bytes_per_video(&self) -> f64 {
        self.video_bytes as f64 / self.videos.max(1) as f64
    }
    pub fn bytes_per_user(&self) -> f64 {
        self.user_bytes as f64 / self.users.max(1) as f64
    }
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

fn affinity_of(aff: &[(FeatureKind, u32, f32)], kind: FeatureKind, row: u32) -> f32 {
    aff.iter()
        .find(|a| a.0 == kind && a.1 == row)
        .map_or(0.0, |a| a.2)
}

/// Adds to a bounded affinity list; when full, the weakest entry makes room.
fn bump_affinity(aff: &mut Vec<(FeatureKind, u32, f32)>, kind: FeatureKind, row: u32, w: f32) {
    if row == NONE {
        return;
    }
    if let Some(a) = aff.iter_mut().find(|a| a.0 == kind && a.1 == row) {
        a.2 += w;
        return;
    }
    if aff.len() < AFFINITY_SLOTS {
        aff.push((kind, row, w));
        return;
    }
    if let Some(weakest) = aff
        .iter_mut()
        .min_by(|a, b| a.2.abs().total_cmp(&b.2.abs()))
    {
        if weakest.2.abs() < w.abs() {
            *weakest = (kind, row, w);
        }
    }
}

impl TopK {
    /// Best score held (1.0 when empty, so a division stays finite).
    pub(crate) fn clone_max(&self) -> f32 {
        self.peek_max().unwrap_or(1.0).max(1e-12)
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
