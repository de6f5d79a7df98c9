//! Stage 1 of a page: candidate sources, each recording its reason.

use super::*;
use crate::util::prefetch;

/// Clips whose eligibility the nearest-clip scan checks together (see
/// `candidates`): enough prefetches in flight to overlap their misses.
const ELIGIBILITY_BATCH: usize = 16;
/// How many rows ahead of the one being read a loop over scattered rows
/// prefetches.
const PREFETCH_AHEAD: usize = 8;

impl Recommender {
    /// Stage 1, candidates: every source records the reason it
    /// contributes (co-occurrence and EASE neighbours of the history, the
    /// nearest clip vectors, followed creators, shared sound or hashtag,
    /// trending in the region and everywhere).
    pub(super) fn candidates(
        &self,
        req: &Request,
        urow: Option<u32>,
        query: Option<&[f32]>,
        scratch: &mut Scratch,
    ) -> Candidates {
        let region = self
            .regions
            .get(req.region.as_deref().unwrap_or(""))
            .unwrap_or(0) as usize;
        let mut cands: Vec<Cand> = Vec::new();
        let mut pos: FastMap<u32, usize> = FastMap::default();
        let lim = self.cfg.candidates.clone();

        let mut cooc_max = 1.0;
        let hidden = self.creator_rows(req.exclude_creators);
        if let Some(ur) = urow {
            let uid = req.user.expect("user");
            self.cooc_scores(ur, &mut scratch.cooc);
            self.item_item_scores(ur, &mut scratch.item_item);
            let user = self.viewer(uid, ur, &hidden);
            let cooc = self.history_candidates(
                &scratch.cooc,
                lim.cooccurrence,
                user,
                req.exclude,
                &mut cands,
                &mut pos,
            );
            cooc_max = cooc.first().map_or(1.0, |c| c.1.max(1e-12));
            self.history_candidates(
                &scratch.item_item,
                lim.item_item,
                user,
                req.exclude,
                &mut cands,
                &mut pos,
            );

            // Nearest neighbours of the query vector: the index's exact i8
            // scores, of every clip (a flat index) or of the lists a large
            // catalogue's query probes.
            let s = self.user(ur);
            if !s.history.is_empty() && lim.nearest > 0 {
                let q = query.expect("a user's page has a query vector");
                let mut q8 = vec![0i8; self.cfg.dim];
                scan::quantize(q, &mut q8);
                let mut top = TopK::new(lim.nearest);
                // Clips that would enter the running top are checked for
                // eligibility a batch at a time, their rows prefetched
                // first, so the batch's cache misses overlap. `>=`: a clip
                // tied with the k-th goes to `TopK`, which breaks ties by
                // row, so neither the scan's order nor the batching changes
                // which clips end up in it.
                let mut batch: Vec<(u32, f32)> = Vec::with_capacity(ELIGIBILITY_BATCH);
                self.ann.scan(q, &q8, self.ann_probe(), &mut |r, sc| {
                    if sc >= top.threshold() {
                        self.prefetch_eligibility(r);
                        batch.push((r, sc));
                        if batch.len() == ELIGIBILITY_BATCH {
                            self.push_eligible(&mut batch, &mut top, user, req.exclude);
                        }
                    }
                });
                self.push_eligible(&mut batch, &mut top, user, req.exclude);
                let recent = recent_history(s);
                let nearest = top.into_sorted();
                let dim = self.cfg.dim;
                for (i, it) in nearest.iter().enumerate() {
                    if let Some(next) = nearest.get(i + 4) {
                        prefetch(&self.clips.emb, next.row as usize * dim);
                    }
                    let closest = self.closest_in(&recent, it.row);
                    Self::add_cand(
                        &mut cands,
                        &mut pos,
                        it.row,
                        Why::SimilarToWatched { video: closest },
                    );
                }
            }

            // Followed creators' newest clips.
            let s = self.user(ur);
            let mut n = 0;
            for &c in s.follows.iter().rev() {
                for &row in self.features[FeatureKind::Creator][c as usize]
                    .recent
                    .iter()
                    .rev()
                {
                    if n >= lim.followed {
                        break;
                    }
                    if self.eligible(row, Some(user), req.exclude) {
                        Self::add_cand(&mut cands, &mut pos, row, Why::FromFollowed { creator: c });
                        n += 1;
                    }
                }
            }

            // Clips sharing a creator, sound or hashtag with recently loved ones.
            let mut n = 0;
            for &(loved, _) in s.history.iter().rev().take(LOVED_FOR_FEATURES) {
                let l = loved as usize;
                // The loved clip's sound and hashtags, each with its reason.
                let mut shared: smallvec::SmallVec<[(FeatureKind, u32, Why); 6]> =
                    smallvec::SmallVec::new();
                let creator = self.clips.creator[l];
                shared.push((
                    FeatureKind::Creator,
                    creator,
                    Why::MoreFromCreator {
                        creator,
                        video: loved,
                    },
                ));
                let sound = self.clips.sound[l];
                if sound != NONE {
                    shared.push((
                        FeatureKind::Sound,
                        sound,
                        Why::SharesSound {
                            sound,
                            video: loved,
                        },
                    ));
                }
                for tag in self.clips.tags[l].into_iter().filter(|&t| t != NONE) {
                    shared.push((FeatureKind::Tag, tag, Why::SharesHashtag { tag }));
                }
                for (kind, feature, reason) in shared {
                    for &row in self.features[kind][feature as usize].recent.iter().rev() {
                        if n < lim.sound_hashtag && self.eligible(row, Some(user), req.exclude) {
                            Self::add_cand(&mut cands, &mut pos, row, reason);
                            n += 1;
                        }
                    }
                }
            }
        }

        // Trending, in the viewer's region and everywhere.
        let user_ref = urow.map(|r| self.viewer(req.user.expect("user"), r, &hidden));
        let mut trending: Vec<(u32, Why)> = Vec::new();
        if region != 0 {
            for row in self.hot_top(region, lim.trending) {
                trending.push((
                    row,
                    Why::PopularInRegion {
                        region: region as u32,
                    },
                ));
            }
        }
        for row in self.hot_top(0, lim.trending) {
            trending.push((row, Why::Trending));
        }
        for (row, reason) in trending {
            if self.eligible(row, user_ref, req.exclude) {
                Self::add_cand(&mut cands, &mut pos, row, reason);
            }
        }

        Candidates {
            list: cands,
            pos,
            cooc_max,
        }
    }

    /// The viewer as eligibility sees them: their state, if they post their
    /// own creator row, and the rows of the creators the page leaves out
    /// (looked up once per page, not per clip).
    pub(super) fn viewer<'a>(&'a self, user: UserId, urow: u32, hidden: &'a [u32]) -> Viewer<'a> {
        Viewer {
            own_creator: self.feature_ids[FeatureKind::Creator]
                .get(user.to_string().as_str())
                .unwrap_or(NONE),
            state: self.user(urow),
            hidden_creators: hidden,
        }
    }

    /// The creator rows of `creators` that the model knows.
    pub(super) fn creator_rows(&self, creators: &[CreatorId]) -> Vec<u32> {
        creators
            .iter()
            .filter_map(|c| self.feature_ids[FeatureKind::Creator].get(c.to_string().as_str()))
            .collect()
    }

    /// Eligible for this user at all (seen, hidden, removed, suppressed...).
    ///
    /// The nearest-clip scan calls this for every clip that would enter its
    /// running top, and at a large catalogue each array read here is a
    /// cache miss: the checks read only what can fail for this viewer, and
    /// the one that fails most (seen) comes first.
    pub(super) fn eligible(&self, row: u32, user: Option<Viewer>, exclude: &[VideoId]) -> bool {
        let r = row as usize;
        if self.clips.state[r] & (REMOVED | FAILED) != 0 {
            return false;
        }
        let id = *self.clip_ids.id(row);
        if !exclude.is_empty() && exclude.contains(&id) {
            return false;
        }
        let Some(Viewer {
            own_creator,
            state: s,
            hidden_creators,
        }) = user
        else {
            return true;
        };
        if s.seen.contains(id) || s.hidden.contains(&row) {
            return false;
        }
        let t = self.cfg.not_interested_threshold;
        if own_creator != NONE || !s.ni_creators.is_empty() || !hidden_creators.is_empty() {
            let creator = self.clips.creator[r];
            if (own_creator != NONE && creator == own_creator)
                || s.ni_creators.iter().any(|&(c, n)| c == creator && n >= t)
                || hidden_creators.contains(&creator)
            {
                return false;
            }
        }
        s.ni_tags.is_empty()
            || !self.clips.tags[r]
                .iter()
                .any(|tag| *tag != NONE && s.ni_tags.iter().any(|&(x, n)| x == *tag && n >= t))
    }

    /// Starts loading what [`Recommender::eligible`] reads of `row`.
    fn prefetch_eligibility(&self, row: u32) {
        let r = row as usize;
        prefetch(&self.clips.state, r);
        prefetch(&self.clip_ids.ids, r);
        prefetch(&self.clips.creator, r);
    }

    /// Pushes the eligible clips of `batch` that still make the top, and
    /// empties it.
    fn push_eligible(
        &self,
        batch: &mut Vec<(u32, f32)>,
        top: &mut TopK,
        user: Viewer,
        exclude: &[VideoId],
    ) {
        for (r, sc) in batch.drain(..) {
            if sc >= top.threshold() && self.eligible(r, Some(user), exclude) {
                top.push(r, sc);
            }
        }
    }

    /// Co-occurrence scores into scratch: Σ over history of
    /// count / (n_from^a · n_to^b), with the strongest source kept.
    pub(super) fn cooc_scores(&self, urow: u32, acc: &mut Accum) {
        let k = self.cfg.neighbors;
        let s = self.user_states[urow as usize].as_ref().expect("live user");
        // Every history clip's counts, and then every clip they reach, are
        // read from scattered rows of the catalogue's arrays: a cache miss
        // each at a large catalogue, so each loop starts loading a few
        // rows ahead of the one it reads.
        for (i, &(h, _)) in s.history.iter().enumerate() {
            if let Some(&(ahead, _)) = s.history.get(i + PREFETCH_AHEAD) {
                prefetch(&self.clips.stats, ahead as usize);
                prefetch(&self.clips.nbr_row, ahead as usize * k);
                prefetch(&self.clips.nbr_count, ahead as usize * k);
            }
            let nh = self.clips.stats[h as usize].positives.max(1.0);
            let norm_from = nh.powf(self.cfg.pop_from);
            let base = h as usize * k;
            for (&row, &count) in self.clips.nbr_row[base..base + k]
                .iter()
                .zip(&self.clips.nbr_count[base..base + k])
            {
                if row != NONE {
                    acc.add(row, count / norm_from, h);
                }
            }
        }
        for i in 0..acc.entries.len() {
            if let Some(ahead) = acc.entries.get(i + PREFETCH_AHEAD) {
                prefetch(&self.clips.stats, ahead.row as usize);
            }
            let e = &mut acc.entries[i];
            let nj = self.clips.stats[e.row as usize].positives.max(1.0);
            e.score /= nj.powf(self.cfg.pop_to);
        }
    }

    /// The batch refit's EASE scores into scratch: Σ over the history's
    /// head clips of their neighbour weights.
    pub(super) fn item_item_scores(&self, urow: u32, acc: &mut Accum) {
        let n = self.clips.state.len();
        let s = self.user_states[urow as usize].as_ref().expect("live user");
        for &(h, _) in &s.history {
            if let Some(list) = self.item_item.get(&h) {
                for &(row, w) in list.iter() {
                    if (row as usize) < n {
                        acc.add(row, w, h);
                    }
                }
            }
        }
    }

    /// The `limit` best eligible clips of a scratch accumulator, as
    /// candidates "similar to" the history clip that added most to each;
    /// returns their (candidate index, score) pairs.
    pub(super) fn history_candidates(
        &self,
        acc: &Accum,
        limit: usize,
        user: Viewer,
        exclude: &[VideoId],
        cands: &mut Vec<Cand>,
        pos: &mut FastMap<u32, usize>,
    ) -> Vec<(usize, f32)> {
        let mut top = TopK::new(limit);
        let mut src_of: FastMap<u32, u32> = FastMap::default();
        for (i, e) in acc.entries.iter().enumerate() {
            if let Some(ahead) = acc.entries.get(i + PREFETCH_AHEAD) {
                self.prefetch_eligibility(ahead.row);
            }
            if e.score > top.threshold() && self.eligible(e.row, Some(user), exclude) {
                top.push(e.row, e.score);
                src_of.insert(e.row, e.src);
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|it| {
                let src = src_of[&it.row];
                let reason = Why::SimilarToWatched { video: src };
                (Self::add_cand(cands, pos, it.row, reason), it.score)
            })
            .collect()
    }

    pub(super) fn add_cand(
        cands: &mut Vec<Cand>,
        pos: &mut FastMap<u32, usize>,
        row: u32,
        reason: Why,
    ) -> usize {
        let i = *pos.entry(row).or_insert_with(|| {
            cands.push(Cand {
                row,
                reasons: Whys::new(),
                cooc: 0.0,
                item_item: 0.0,
                score: 0.0,
            });
            cands.len() - 1
        });
        push_why(&mut cands[i].reasons, reason);
        i
    }

    /// The history clip whose vector is nearest `row`'s (the reason a
    /// nearest-vector candidate gives).
    pub(super) fn closest_in(&self, history: &[u32], row: u32) -> u32 {
        let dim = self.cfg.dim;
        let emb = |r: u32| &self.clips.emb[r as usize * dim..(r as usize + 1) * dim];
        let mut best = (f32::NEG_INFINITY, history.first().copied().unwrap_or(row));
        for &h in history {
            let d = scan::dot_f32(emb(h), emb(row));
            if d > best.0 {
                best = (d, h);
            }
        }
        best.1
    }
}

/// Who a page is for, as [`Recommender::eligible`] needs it.
#[derive(Clone, Copy)]
pub(super) struct Viewer<'a> {
    /// The viewer's own creator row (`NONE` if they have never posted):
    /// nobody is shown their own clips.
    pub own_creator: u32,
    pub state: &'a UserState,
    /// Creator rows the viewer is not shown (blocked or muted).
    pub hidden_creators: &'a [u32],
}
