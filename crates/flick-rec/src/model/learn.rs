//! Learning from events: the signal an event carries, the clip's counters,
//! the user's affinities and history, the embeddings, co-occurrence pairs,
//! trending, and periodic maintenance.

use super::*;

impl Recommender {
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
                    .clip_ids
                    .get(&e.video)
                    .map(|r| self.clips.duration[r as usize])
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
        let Some(vrow) = self.clip_ids.get(&e.video) else {
            return;
        };
        if e.kind == EventKind::Impression {
            self.impression(e.user, vrow);
            return;
        }
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
        let st = &mut self.clips.stats[r];
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
        if let Some(o) = self.outcome(e) {
            self.update_affinity(urow, vrow, o);
        }
        if w != 0.0 {
            self.touch_features(vrow);
        }
        if w > 0.0 {
            self.bump_trending(vrow, w, e.at_ms);
        }
        if w >= self.cfg.signals.history_min {
            self.add_to_history(urow, vrow, w);
        }
        if w <= self.cfg.signals.skip {
            let s = self.user_mut(urow);
            s.skipped.retain(|&r| r != vrow);
            s.skipped.push(vrow);
            if s.skipped.len() > SKIPPED_CAP {
                s.skipped.remove(0);
            }
        }
        if self.cfg.maintenance_every > 0 && self.events.is_multiple_of(self.cfg.maintenance_every)
        {
            self.maintain(self.last_event_ms);
        }
    }

    /// A served clip, from the log: seen by the user (the mark the page
    /// already made in memory, made again on replay), and one impression
    /// of its exploration budget spent.
    fn impression(&mut self, user: UserId, vrow: u32) {
        let urow = self.user_row(user);
        let capacity = self.cfg.seen_filter_items;
        let id = *self.clip_ids.id(vrow);
        let s = self.user_mut(urow);
        if !s.seen.contains(id) {
            s.seen.insert(id, capacity);
        }
        self.served(vrow);
    }

    pub(super) fn not_interested(&mut self, urow: u32, vrow: u32) {
        let creator = self.clips.creator[vrow as usize];
        let tags = self.clips.tags[vrow as usize];
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

    /// The trials and wins an event adds to its user's affinities.
    pub(super) fn outcome(&self, e: &Event) -> Option<Outcome> {
        let (trials, wins) = match e.kind {
            EventKind::Impression => return None,
            EventKind::View { .. } => (1.0, self.signal(e).clamp(0.0, 1.0)),
            EventKind::Like | EventKind::Share | EventKind::Comment => (1.0, 1.0),
            EventKind::Unlike | EventKind::Skip => (1.0, 0.0),
            EventKind::NotInterested => (3.0, 0.0),
        };
        Some(Outcome { trials, wins })
    }

    pub(super) fn update_affinity(&mut self, urow: u32, vrow: u32, o: Outcome) {
        let r = vrow as usize;
        let (creator, sound, tags) = (
            self.clips.creator[r],
            self.clips.sound[r],
            self.clips.tags[r],
        );
        let s = self.user_mut(urow);
        s.trials += o.trials;
        s.wins += o.wins;
        bump_affinity(&mut s.affinity, FeatureKind::Creator, creator, o);
        bump_affinity(&mut s.affinity, FeatureKind::Sound, sound, o);
        for t in tags {
            bump_affinity(&mut s.affinity, FeatureKind::Tag, t, o);
        }
    }

    /// Keeps the clip's side features alive (their touch time drives
    /// eviction). Their vectors follow their clips at each batch refresh.
    pub(super) fn touch_features(&mut self, vrow: u32) {
        let r = vrow as usize;
        let feats = [
            (FeatureKind::Creator, self.clips.creator[r]),
            (FeatureKind::Sound, self.clips.sound[r]),
        ]
        .into_iter()
        .chain(self.clips.tags[r].map(|t| (FeatureKind::Tag, t)));
        let at = self.last_event_ms;
        for (kind, fr) in feats {
            if fr == NONE {
                continue;
            }
            let f = &mut self.features[kind][fr as usize];
            if at > f.last_touch_ms {
                f.last_touch_ms = at;
                mark(&mut self.dirty.features[kind], fr);
            }
        }
    }

    pub(super) fn add_to_history(&mut self, urow: u32, vrow: u32, w: f32) {
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
        self.clips.stats[vrow as usize].positives += 1.0;
    }

    /// Bounded neighbour slots: a missing neighbour replaces the slot with the
    /// lowest popularity-normalised similarity, starting from its own count
    /// (not the evicted one's: inheriting counts, as plain space-saving does,
    /// inflates rare items, which the normalisation then magnifies).
    pub(super) fn add_pair(&mut self, from: u32, to: u32, inc: f32) {
        let k = self.cfg.neighbors;
        if k == 0 {
            return;
        }
        let base = from as usize * k;
        let rows = &mut self.clips.nbr_row[base..base + k];
        let counts = &mut self.clips.nbr_count[base..base + k];
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

    pub(super) fn bump_trending(&mut self, vrow: u32, w: f32, at_ms: i64) {
        let r = vrow as usize;
        if self.clips.state[r] & REMOVED != 0 {
            return;
        }
        let tau = self.cfg.trending_half_life_ms as f64 / std::f64::consts::LN_2;
        let add = (w as f64).ln() + at_ms as f64 / tau;
        let old = self.clips.stats[r].trend as f64;
        let new = if self.clips.stats[r].views + self.clips.stats[r].likes == 0.0 && old == 0.0 {
            add
        } else {
            let m = old.max(add);
            m + ((old - m).exp() + (add - m).exp()).ln()
        };
        let key = new as f32;
        self.clips.stats[r].trend = key;
        let region = self.clips.region[r] as usize;
        self.hot_put(0, vrow, key);
        if region != 0 {
            self.hot_put(region, vrow, key);
        }
    }

    pub(super) fn hot_put(&mut self, h: usize, row: u32, key: f32) {
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

    pub(super) fn hot_remove(&mut self, h: usize, row: u32) {
        let set = &mut self.hot[h];
        if let Some(p) = set.pos.remove(&row) {
            set.entries.remove(p as usize);
            for (i, &(r, _)) in set.entries.iter().enumerate().skip(p as usize) {
                set.pos.insert(r, i as u32);
            }
        }
    }

    pub(super) fn hot_top(&self, h: usize, n: usize) -> Vec<u32> {
        let mut e = self.hot[h].entries.clone();
        e.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        e.into_iter().take(n).map(|x| x.0).collect()
    }

    /// Evicts users idle longer than `user_ttl_ms` and the embeddings and
    /// recent lists of side features untouched for `feature_ttl_ms`. Runs
    /// every `maintenance_every` events on event time; callable directly.
    pub fn maintain(&mut self, now_ms: i64) {
        let user_cut = now_ms.saturating_sub(self.cfg.user_ttl_ms);
        let stale: Vec<UserId> = (0..self.user_states.len())
            .filter(|&r| {
                self.user_states[r]
                    .as_ref()
                    .is_some_and(|s| s.last_active_ms < user_cut && s.last_active_ms != i64::MIN)
            })
            .map(|r| *self.user_ids.id(r as u32))
            .collect();
        for id in stale {
            self.forget_user(id);
        }
        let feat_cut = now_ms.saturating_sub(self.cfg.feature_ttl_ms);
        for k in 0..3 {
            for r in 0..self.features[k].len() {
                let f = &mut self.features[k][r];
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
    pub(super) fn engagement_rates(&self) -> (f32, f32) {
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
        for (r, st) in self.clips.stats.iter().enumerate() {
            if self.clip_ids.ids[r].is_some() {
                likes += st.likes as f64;
                shares += st.shares as f64;
            }
        }
        self.engagement = Engagement { likes, shares };
    }

    pub(super) fn completion_rate(&self) -> f32 {
        ((self.global_completes + 3.0) / (self.global_views + 10.0)) as f32
    }

    pub(super) fn posterior_completion(&self, r: usize) -> f32 {
        let e = &self.cfg.exploration;
        let s = &self.clips.stats[r];
        (e.prior_alpha + s.completes) / (e.prior_alpha + e.prior_beta + s.completes + s.fails)
    }
}
