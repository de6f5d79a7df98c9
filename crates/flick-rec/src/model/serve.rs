//! Serving a page: eligibility, candidate sources, the ranker (a sum of
//! log-odds), exploration, re-ranking, and what serving records.

use super::*;

impl Recommender {
    /// Eligible for this user at all (seen, hidden, removed, suppressed...).
    pub(super) fn eligible(
        &self,
        row: u32,
        user: Option<(u64, &UserState)>,
        exclude: &[u64],
    ) -> bool {
        let r = row as usize;
        if self.clips.state[r] & (REMOVED | FAILED) != 0 {
            return false;
        }
        let id = *self.clip_ids.id(row);
        if exclude.contains(&id) {
            return false;
        }
        if let Some((uid, s)) = user {
            let creator = self.clips.creator[r];
            if self.feature_ids[FeatureKind::Creator]
                .id(creator)
                .parse::<u64>()
                .ok()
                == Some(uid)
            {
                return false;
            }
            let t = self.cfg.not_interested_threshold;
            if s.hidden.contains(&row)
                || s.seen.contains(id)
                || s.ni_creators.iter().any(|&(c, n)| c == creator && n >= t)
                || self.clips.tags[r]
                    .iter()
                    .any(|tag| *tag != NONE && s.ni_tags.iter().any(|&(x, n)| x == *tag && n >= t))
            {
                return false;
            }
        }
        true
    }

    /// Co-occurrence scores into scratch: Σ over history of
    /// count / (n_from^a · n_to^b), with the strongest source kept.
    fn cooc_scores(&mut self, urow: u32) {
        let k = self.cfg.neighbors;
        let n = self.clips.state.len();
        let acc = &mut self.scratch.cooc;
        acc.ensure(n);
        let s = self.user_states[urow as usize].as_ref().expect("live user");
        for &(h, _) in &s.history {
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
        for &j in &acc.touched {
            let nj = self.clips.stats[j as usize].positives.max(1.0);
            acc.score[j as usize] /= nj.powf(self.cfg.pop_to);
        }
    }

    /// The batch refit's EASE scores into scratch: Σ over the history's
    /// head clips of their neighbour weights.
    fn item_item_scores(&mut self, urow: u32) {
        let n = self.clips.state.len();
        let acc = &mut self.scratch.item_item;
        acc.ensure(n);
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
    fn history_candidates(
        &self,
        acc: &Accum,
        limit: usize,
        user: (u64, &UserState),
        exclude: &[u64],
        cands: &mut Vec<Cand>,
        pos: &mut FastMap<u32, usize>,
    ) -> Vec<(usize, f32)> {
        let mut top = TopK::new(limit);
        for &j in &acc.touched {
            let sc = acc.score[j as usize];
            if sc > top.threshold() && self.eligible(j, Some(user), exclude) {
                top.push(j, sc);
            }
        }
        top.into_sorted()
            .into_iter()
            .map(|it| {
                let src = acc.src[it.row as usize];
                let reason = Reason::SimilarToWatched {
                    video: *self.clip_ids.id(src),
                };
                (Self::add_cand(cands, pos, it.row, reason), it.score)
            })
            .collect()
    }

    pub(super) fn add_cand(
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
                item_item: 0.0,
                score: 0.0,
            });
            cands.len() - 1
        });
        push_reason(&mut cands[i].reasons, reason);
        i
    }

    /// The next page for `req`. Serving marks it seen for the user at once,
    /// so their next page does not repeat it while the page's impressions
    /// are on their way to the log; the impressions themselves
    /// ([`EventKind::Impression`], through `observe`) make the mark durable
    /// and spend exploration budget.
    pub fn recommend(&mut self, req: &Request) -> Vec<Recommendation> {
        self.recommend_inner(req, true)
    }

    /// The page `recommend` would return now, without marking it seen.
    pub fn preview(&mut self, req: &Request) -> Vec<Recommendation> {
        self.recommend_inner(req, false)
    }

    pub(super) fn recommend_inner(&mut self, req: &Request, serve: bool) -> Vec<Recommendation> {
        // The page size sizes allocations below; whatever a caller passes,
        // a page never exceeds the catalogue (nor MAX_PAGE).
        let limit = req.limit.min(MAX_PAGE).min(self.clip_ids.len());
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
        let mut cooc_max = 1.0;
        if let Some(ur) = urow {
            let uid = req.user.expect("user");
            self.cooc_scores(ur);
            self.item_item_scores(ur);
            let scratch = std::mem::take(&mut self.scratch);
            let user = (uid, self.user(ur));
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
            self.scratch = scratch;

            // Nearest neighbours of the query vector, exact i8 scan.
            let s = self.user(ur);
            if !s.history.is_empty() && lim.nearest > 0 {
                let q = self.query_vector(s);
                let mut q8 = vec![0i8; self.cfg.dim];
                scan::quantize(&q, &mut q8);
                let mut top = TopK::new(lim.nearest);
                let scales = &self.clips.scale;
                let mut sink = |r: u32, d: i32| {
                    let sc = d as f32 * scales[r as usize];
                    if sc > top.threshold() && self.eligible(r, Some((uid, s)), req.exclude) {
                        top.push(r, sc);
                    }
                };
                scan::scan(&q8, &self.clips.q8, self.cfg.dim, &mut sink);
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
                            video: *self.clip_ids.id(closest),
                        },
                    );
                }
            }

            // Followed creators' newest clips.
            let s = self.user(ur);
            let mut n = 0;
            for &c in s.follows.iter().rev() {
                let creator_id: u64 = self.feature_ids[FeatureKind::Creator]
                    .id(c)
                    .parse()
                    .unwrap_or(0);
                for &row in self.features[FeatureKind::Creator][c as usize]
                    .recent
                    .iter()
                    .rev()
                {
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
                let sound = self.clips.sound[l];
                if sound != NONE {
                    let sound_id: u64 = self.feature_ids[FeatureKind::Sound]
                        .id(sound)
                        .parse()
                        .unwrap_or(0);
                    for &row in self.features[FeatureKind::Sound][sound as usize]
                        .recent
                        .iter()
                        .rev()
                    {
                        if n < lim.sound_hashtag && self.eligible(row, Some((uid, s)), req.exclude)
                        {
                            Self::add_cand(
                                &mut cands,
                                &mut pos,
                                row,
                                Reason::SharesSound {
                                    sound: sound_id,
                                    video: *self.clip_ids.id(loved),
                                },
                            );
                            n += 1;
                        }
                    }
                }
                for tag in self.clips.tags[l].into_iter().filter(|&t| t != NONE) {
                    for &row in self.features[FeatureKind::Tag][tag as usize]
                        .recent
                        .iter()
                        .rev()
                    {
                        if n < lim.sound_hashtag && self.eligible(row, Some((uid, s)), req.exclude)
                        {
                            Self::add_cand(
                                &mut cands,
                                &mut pos,
                                row,
                                Reason::SharesHashtag {
                                    tag: self.feature_ids[FeatureKind::Tag].id(tag).clone(),
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

        // 2. Ranking. Every candidate, whichever source found it, gets its
        // history scores from the scratch accumulators, which then reset.
        let mut scratch = std::mem::take(&mut self.scratch);
        if urow.is_some() {
            for c in cands.iter_mut() {
                c.cooc = scratch.cooc.score[c.row as usize] / cooc_max;
                c.item_item = scratch.item_item.score[c.row as usize];
            }
            scratch.cooc.clear();
            scratch.item_item.clear();
        }
        self.scratch = scratch;
        let q = urow.map(|r| self.query_vector(self.user(r)));
        for c in cands.iter_mut() {
            c.score = self.rank_score(
                c.row,
                urow.map(|r| self.user(r)),
                q.as_deref(),
                c.cooc,
                c.item_item,
                req.now_ms,
            );
        }

        // Exploration: Thompson samples of the completion rate of a few
        // clips still under their impression budget.
        let mut explore: Vec<(u32, f32)> = Vec::new();
        // Seeded by the model's generator state (snapshotted, and moved
        // only by uploads) and the page id: a function of the log and the
        // request, never of how many pages came before.
        let mut rng = Rng::new(crate::util::mix64(
            self.rng.0 ^ crate::util::mix64(req.page),
        ));
        if req.explore && self.cfg.exploration.every > 0 && !self.exploring.is_empty() {
            let n_rows = self.clips.state.len() as u64;
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
                .chain((0..draws - draws / 2).map(|_| rng.below(n_rows) as u32))
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
                let st = self.clips.stats[row as usize];
                let theta = rng.beta(
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
        // Sorting moved every candidate: the row → index map is rebuilt, or
        // an exploration pick would borrow another clip's reasons.
        for (i, c) in cands.iter().enumerate() {
            pos.insert(c.row, i);
        }
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
                    if self.clips.creator[row as usize] != last_creator && !used.contains(&row) {
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
                    if used.contains(&c.row) || self.clips.creator[c.row as usize] == last_creator {
                        continue;
                    }
                    let topic = self.clips.tags[c.row as usize][0];
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
            last_creator = self.clips.creator[row as usize];
            recent_topics.push(self.clips.tags[row as usize][0]);
            if recent_topics.len() > 3 {
                recent_topics.remove(0);
            }
            out.push(Recommendation {
                video: *self.clip_ids.id(row),
                score,
                reasons,
            });
        }

        // 4. Serving marks the page seen (its impressions, once logged, spend
        // the exploration budget).
        if !serve {
            return out;
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

    pub(super) fn served(&mut self, row: u32) {
        let r = row as usize;
        self.clips.stats[r].served += 1;
        if self.clips.state[r] & EXPLORING != 0
            && self.clips.stats[r].served >= self.cfg.exploration.budget
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

    pub(super) fn judge(&mut self, row: u32, verdict: u8) {
        let r = row as usize;
        self.clips.state[r] &= !EXPLORING;
        self.clips.state[r] |= verdict;
        self.exploring.remove(&row);
    }

    /// Stops exploring a clip early once even an optimistic reading of its
    /// completion rate (posterior mean + half a standard deviation, after
    /// five views) is below the
    /// bar, so a bad clip is not shown out to its whole budget.
    pub(super) fn judge_early(&mut self, row: u32) {
        let r = row as usize;
        let e = &self.cfg.exploration;
        let s = &self.clips.stats[r];
        let (a, b) = (e.prior_alpha + s.completes, e.prior_beta + s.fails);
        if self.clips.state[r] & EXPLORING == 0 || s.completes + s.fails < 5.0 {
            return;
        }
        let mean = a / (a + b);
        let sd = (a * b / ((a + b) * (a + b) * (a + b + 1.0))).sqrt();
        if mean + 0.5 * sd < e.fail_below * self.completion_rate() {
            self.judge(row, FAILED);
        }
    }

    pub(super) fn closest_in(&self, history: &[u32], row: u32) -> u32 {
        let dim = self.cfg.dim;
        let r = row as usize;
        let mut best = (f32::NEG_INFINITY, history.first().copied().unwrap_or(row));
        for &h in history {
            let d = scan::dot_i8(
                &self.clips.q8[h as usize * dim..(h as usize + 1) * dim],
                &self.clips.q8[r * dim..(r + 1) * dim],
            ) as f32
                * self.clips.scale[h as usize];
            if d > best.0 {
                best = (d, h);
            }
        }
        best.1
    }

    /// Mean cosine similarity (negatives count as 0) of clip `r` to the
    /// clips the user recently skipped.
    fn skip_similarity(&self, s: &UserState, r: usize) -> f32 {
        if s.skipped.is_empty() {
            return 0.0;
        }
        let dim = self.cfg.dim;
        let y = &self.clips.emb[r * dim..(r + 1) * dim];
        let ny = scan::dot_f32(y, y).sqrt().max(1e-9);
        let total: f32 = s
            .skipped
            .iter()
            .map(|&k| {
                let z = &self.clips.emb[k as usize * dim..(k as usize + 1) * dim];
                let nz = scan::dot_f32(z, z).sqrt().max(1e-9);
                (scan::dot_f32(y, z) / (ny * nz)).max(0.0)
            })
            .sum();
        total / s.skipped.len() as f32
    }

    pub(super) fn rank_score(
        &self,
        row: u32,
        user: Option<&UserState>,
        q: Option<&[f32]>,
        cooc: f32,
        item_item: f32,
        now_ms: i64,
    ) -> f32 {
        let r = row as usize;
        let w = &self.cfg.ranker;
        let st = &self.clips.stats[r];
        // Calibrated like likes and shares: how much more often than the
        // catalogue this clip is watched to the end. (A raw posterior would
        // turn into plain popularity where nearly everything completes.)
        let q_complete = rate_log_odds(
            st.completes,
            st.completes + st.fails,
            self.completion_rate(),
        );
        let (g_like, g_share) = self.engagement_rates();
        let q_like = rate_log_odds(st.likes, st.views, g_like);
        let q_share = rate_log_odds(st.shares, st.views, g_share);
        let mut personal = 0.0;
        if let (Some(s), Some(q)) = (user, q) {
            let dim = self.cfg.dim;
            let aff = scan::dot_f32(q, &self.clips.emb[r * dim..(r + 1) * dim]);
            let creator = self.clips.creator[r];
            let creator_aff = affinity_of(&s.affinity, FeatureKind::Creator, creator);
            let topic_aff: f32 = self.clips.tags[r]
                .iter()
                .filter(|&&t| t != NONE)
                .map(|&t| affinity_of(&s.affinity, FeatureKind::Tag, t))
                .sum();
            let follows = s.follows.contains(&creator) as u8 as f32;
            let skipped = self.skip_similarity(s, r);
            personal = w.affinity * aff
                + w.cooccurrence * cooc
                + w.item_item * item_item
                + w.creator_affinity * (creator_aff / 3.0).tanh()
                + w.topic_affinity * topic_aff.tanh()
                + w.follow * follows
                - w.skipped * skipped;
        }
        let fresh = if now_ms - self.clips.created_at[r] < w.fresh_ms {
            w.freshness
        } else {
            0.0
        };
        // Every term is log-odds, added: the clip's own evidence plus the
        // personal terms, none squeezed through a sigmoid, so strong
        // evidence keeps its weight. Likes and shares count against the
        // catalogue's own rates: a clip nobody has liked yet is at the
        // average, not below it.
        w.completion * q_complete + w.like * q_like + w.share * q_share + personal + fresh
    }
}
