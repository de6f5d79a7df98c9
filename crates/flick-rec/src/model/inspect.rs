//! Reading the model without changing it: why a clip would be shown,
//! a user's interests, a clip's status, memory accounting.

use super::*;

impl Recommender {
    /// Why `video` would be in `user`'s feed now: the candidate sources that
    /// would produce it, checked one by one.
    pub fn explain(&self, user: Option<UserId>, video: VideoId, now_ms: i64) -> Vec<Reason> {
        let _ = now_ms;
        let Some(row) = self.clip_ids.get(&video) else {
            return Vec::new();
        };
        let r = row as usize;
        let mut reasons = Vec::new();
        let k = self.cfg.neighbors;
        if let Some(s) = user
            .and_then(|u| self.user_ids.get(&u))
            .and_then(|ur| self.user_states[ur as usize].as_ref())
        {
            // Co-occurrence: the history item contributing most.
            let mut best = (0f32, NONE);
            for &(h, _) in &s.history {
                let base = h as usize * k;
                if let Probe::Found(i) = probe(&self.clips.nbr_row[base..base + k], row) {
                    {
                        let nh = self.clips.stats[h as usize].positives.max(1.0);
                        let c = self.clips.nbr_count[base + i] / nh.powf(self.cfg.pop_from);
                        if c > best.0 {
                            best = (c, h);
                        }
                    }
                }
            }
            if best.1 == NONE && !s.history.is_empty() {
                let recent = recent_history(s);
                let q = self.query_vector(s);
                let dim = self.cfg.dim;
                if scan::dot_f32(&q, &self.clips.emb[r * dim..(r + 1) * dim]) > 0.0 {
                    best.1 = self.closest_in(&recent, row);
                }
            }
            if best.1 != NONE {
                reasons.push(Reason::SimilarToWatched {
                    video: *self.clip_ids.id(best.1),
                });
            }
            let creator = self.clips.creator[r];
            if s.follows.contains(&creator) {
                reasons.push(Reason::FromFollowed {
                    creator: self.creator_id(creator),
                });
            }
            for &(loved, _) in s.history.iter().rev().take(LOVED_FOR_FEATURES) {
                let l = loved as usize;
                if loved != row && self.clips.creator[l] == creator {
                    push_reason(
                        &mut reasons,
                        Reason::MoreFromCreator {
                            creator: self.creator_id(creator),
                            video: *self.clip_ids.id(loved),
                        },
                    );
                }
                if loved != row
                    && self.clips.sound[l] != NONE
                    && self.clips.sound[l] == self.clips.sound[r]
                {
                    push_reason(
                        &mut reasons,
                        Reason::SharesSound {
                            sound: self.sound_id(self.clips.sound[l]),
                            video: *self.clip_ids.id(loved),
                        },
                    );
                }
                for t in self.clips.tags[l].into_iter().filter(|&t| t != NONE) {
                    if loved != row && self.clips.tags[r].contains(&t) {
                        push_reason(
                            &mut reasons,
                            Reason::SharesHashtag {
                                tag: self.feature_ids[FeatureKind::Tag].id(t).clone(),
                            },
                        );
                    }
                }
            }
        }
        let top = self.cfg.candidates.trending;
        let region = self.clips.region[r] as usize;
        if region != 0 && self.hot_top(region, top).contains(&row) {
            reasons.push(Reason::PopularInRegion {
                region: self.regions.id(region as u32).clone(),
            });
        }
        if self.hot_top(0, top).contains(&row) {
            reasons.push(Reason::Trending);
        }
        if self.clips.state[r] & EXPLORING != 0 {
            reasons.push(Reason::Exploring);
        }
        reasons
    }

    pub fn user_interests(&self, user: UserId) -> Interests {
        let Some(s) = self
            .user_ids
            .get(&user)
            .and_then(|r| self.user_states[r as usize].as_ref())
        else {
            return Interests::default();
        };
        let prior = self.cfg.ranker.affinity_prior;
        let base = s.base_rate(self.completion_rate(), prior);
        let mut aff: Vec<_> = s
            .affinity
            .iter()
            .map(|a| {
                (
                    a.kind,
                    a.row,
                    s.lift(a.kind, a.row, base, a.kind.lift_prior(&self.cfg.ranker)),
                )
            })
            .filter(|a| a.2 > 0.0)
            .collect();
        aff.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.1.cmp(&b.1)));
        let mut out = Interests {
            positive_events: s.positives,
            follows: s.follows.iter().map(|&c| self.creator_id(c)).collect(),
            ..Default::default()
        };
        for (kind, row, w) in aff {
            let key = self.feature_ids[kind].id(row);
            match kind {
                FeatureKind::Creator => out.creators.push((self.creator_id(row), w)),
                FeatureKind::Sound => out.sounds.push((self.sound_id(row), w)),
                FeatureKind::Tag => out.hashtags.push((key.clone(), w)),
            }
        }
        out
    }

    /// The stored state of a video, for tests and tools: (served, views,
    /// posterior completion, exploring, failed).
    pub fn video_status(&self, video: VideoId) -> Option<VideoStatus> {
        let r = self.clip_ids.get(&video)? as usize;
        Some(VideoStatus {
            impressions: self.clips.stats[r].served,
            views: self.clips.stats[r].views as u32,
            completion_rate: self.posterior_completion(r),
            exploring: self.clips.state[r] & EXPLORING != 0,
            failed: self.clips.state[r] & FAILED != 0,
            removed: self.clips.state[r] & REMOVED != 0,
        })
    }

    /// Heap bytes of everything kept per video, and per user.
    pub fn memory(&self) -> Memory {
        let v = &self.clips;
        let per_video = self.clip_ids.heap_bytes()
            + v.creator.capacity() * 4
            + v.sound.capacity() * 4
            + v.tags.capacity() * 4 * MAX_TAGS
            + v.region.capacity() * 2
            + v.created_at.capacity() * 8
            + v.duration.capacity() * 4
            + v.state.capacity()
            + v.emb.capacity() * 4
            + v.stats.capacity() * std::mem::size_of::<VideoStats>()
            + v.nbr_row.capacity() * 4
            + v.nbr_count.capacity() * 4
            + self.exploring.len() * 8
            + self.dirty.videos.capacity() * 8
            + self.scratch.heap_bytes()
            + self.ann.heap_bytes()
            + self.ann_moved.capacity() * 4
            + self
                .item_item
                .values()
                .map(|l| 16 + l.len() * 8)
                .sum::<usize>();
        let per_user = self.user_ids.heap_bytes()
            + self.user_states.capacity() * std::mem::size_of::<Option<UserState>>()
            + self
                .user_states
                .iter()
                .flatten()
                .map(|s| {
                    s.history.capacity() * 8
                        + s.seen.heap_bytes()
                        + s.hidden.capacity() * 4
                        + (s.ni_creators.capacity() + s.ni_tags.capacity()) * 8
                        + s.follows.capacity() * 4
                        + s.affinity.capacity() * std::mem::size_of::<Affinity>()
                })
                .sum::<usize>()
            + self.dirty.users.capacity() * 8;
        let features: usize = (0..3)
            .map(|k| {
                self.feature_ids[k].heap_bytes()
                    + self.feature_ids[k]
                        .ids
                        .iter()
                        .flatten()
                        .map(|s| s.capacity())
                        .sum::<usize>()
                    + self.features[k]
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
            videos: self.clip_ids.len(),
            users: self.user_ids.len(),
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

/// What [`Recommender::vector_health`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct VectorHealth {
    pub non_finite: usize,
    pub zero: usize,
    pub median_norm: f32,
    pub largest_norm: f32,
}

/// What [`Recommender::ann_recall`] measures of the index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexProbe {
    /// Share of the exact top k the probe finds.
    pub recall: f64,
    /// Clips a page's probe scores, on average.
    pub scanned_per_page: f64,
    /// Lists with a centroid, and their sizes.
    pub lists: usize,
    pub median_list: usize,
    pub largest_list: usize,
    /// Clips in the list every page scans.
    pub long_list: usize,
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

impl Recommender {
    /// The live clips' vectors: how many are not finite, how many are zero,
    /// and the median and largest length of the rest. A refit that
    /// diverged shows here before anywhere else.
    pub fn vector_health(&self) -> VectorHealth {
        let dim = self.cfg.dim;
        let mut h = VectorHealth::default();
        let mut norms = Vec::new();
        for r in 0..self.clips.state.len() {
            if self.clip_ids.ids[r].is_none() || self.clips.state[r] & REMOVED != 0 {
                continue;
            }
            let v = &self.clips.emb[r * dim..(r + 1) * dim];
            if v.iter().any(|x| !x.is_finite()) {
                h.non_finite += 1;
            } else if v.iter().all(|&x| x == 0.0) {
                h.zero += 1;
            } else {
                norms.push(scan::dot_f32(v, v).sqrt());
            }
        }
        norms.sort_unstable_by(f32::total_cmp);
        h.median_norm = norms.get(norms.len() / 2).copied().unwrap_or(0.0);
        h.largest_norm = norms.last().copied().unwrap_or(0.0);
        h
    }

    /// How much of the exact top `k` nearest clips (by the i8 dot product
    /// the candidates use, before any eligibility filter) the index finds
    /// for these users' query vectors, averaged; `None` without an index.
    /// Recall counts by score: a found clip tied with the exact k-th is as
    /// near as the one it replaces.
    pub fn ann_recall(&self, users: &[UserId], k: usize) -> Option<IndexProbe> {
        if self.ann.is_flat() {
            return None;
        }
        let dim = self.cfg.dim;
        let probe = self.ann_probe();
        let (mut found, mut wanted, mut scanned, mut queries) = (0usize, 0usize, 0usize, 0usize);
        for &u in users {
            let Some(s) = self
                .user_ids
                .get(&u)
                .and_then(|r| self.user_states[r as usize].as_ref())
            else {
                continue;
            };
            if s.history.is_empty() {
                continue;
            }
            let q = self.query_vector(s);
            let mut q8 = vec![0i8; dim];
            scan::quantize(&q, &mut q8);
            let live = |r: u32| self.clips.state[r as usize] & REMOVED == 0;
            let mut exact = TopK::new(k);
            self.ann.scan(&q, &q8, usize::MAX, &mut |r, sc| {
                if sc >= exact.threshold() && live(r) {
                    exact.push(r, sc);
                }
            });
            // The probe exactly as a page runs it.
            let mut approx = TopK::new(k);
            scanned += self.ann.scan(&q, &q8, probe, &mut |r, sc| {
                if sc >= approx.threshold() && live(r) {
                    approx.push(r, sc);
                }
            });
            // Clips tied at the k-th score are interchangeable (unfitted
            // clips share their features' mean vector, so ties are common):
            // a found clip scoring at least the exact k-th counts.
            let exact = exact.into_sorted();
            let kth = exact.last().map_or(f32::INFINITY, |it| it.score);
            let hits = approx
                .into_sorted()
                .iter()
                .filter(|it| it.score >= kth)
                .count();
            wanted += exact.len();
            found += hits.min(exact.len());
            queries += 1;
        }
        let (lists, long_list) = self.ann.list_sizes();
        let mut sorted = lists.clone();
        sorted.sort_unstable();
        (wanted > 0).then(|| IndexProbe {
            recall: found as f64 / wanted as f64,
            scanned_per_page: scanned as f64 / queries.max(1) as f64,
            lists: lists.len(),
            median_list: sorted.get(sorted.len() / 2).copied().unwrap_or(0),
            largest_list: sorted.last().copied().unwrap_or(0),
            long_list,
        })
    }
}
