//! The batch refresh seen from the model: what it learns from, and how its
//! result replaces the clips' vectors. The fitting itself is in
//! [`crate::batch`] and runs without the model.

use super::*;
use crate::batch::{self, BatchFit, BatchInput};
use crate::types::Retrieval;

/// A refit's result ready to install ([`Recommender::prepare_batch`]).
pub struct PreparedBatch {
    /// Clips it covers (the model's, when prepared).
    rows: usize,
    emb: Vec<f32>,
    /// The index with the moved clips' codes quantised afresh (in the
    /// lists they were in; the rebuild after re-files them).
    ann: crate::ann::Ivf,
    /// Clips whose vector it changes, fitted first.
    moved: Vec<u32>,
    /// New vectors of admitted features.
    features: PerKind<Vec<(u32, Vec<f32>)>>,
    gram: Vec<f32>,
    item_item: FastMap<u32, Box<[(u32, f32)]>>,
    events: u64,
}

impl Recommender {
    /// A copy of what a refresh learns from: the recent positives and skips of the
    /// `batch.max_users` most recently active users, and the clip vectors.
    pub fn batch_input(&self) -> BatchInput {
        let mut active: Vec<(i64, u32)> = self
            .user_states
            .iter()
            .enumerate()
            .filter_map(|(r, s)| {
                let s = s.as_ref()?;
                (!s.history.is_empty()).then_some((s.last_active_ms, r as u32))
            })
            .collect();
        if active.len() > self.cfg.batch.max_users {
            active.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            active.truncate(self.cfg.batch.max_users);
        }
        // Row order, so the fit does not depend on activity ties.
        active.sort_by_key(|&(_, r)| r);
        BatchInput {
            events: self.events,
            dim: self.cfg.dim,
            factors: self.clips.emb.clone(),
            live: (0..self.clips.state.len())
                .map(|r| self.clip_ids.ids[r].is_some() && self.clips.state[r] & REMOVED == 0)
                .collect(),
            users: active
                .into_iter()
                .map(|(_, r)| {
                    let s = self.user(r);
                    let skipped = s.skipped.iter().map(|&k| (k, -1.0));
                    s.history.iter().copied().chain(skipped).collect()
                })
                .collect(),
        }
    }

    /// Applies a fit made from an earlier [`Self::batch_input`]:
    /// [`Self::prepare_batch`] then [`Self::install_batch`], in one step.
    pub fn apply_batch(&mut self, fit: BatchFit) {
        if let Some(prepared) = self.prepare_batch(fit) {
            self.install_batch(prepared);
        }
    }

    /// Makes a fit ready to install, without changing the model, so the
    /// server does this under a shared lock while pages keep being ranked:
    /// the new vector of every clip the model has now, quantised, and the
    /// side features' new means. Clips the fit saw no interaction for are
    /// warm-started again from their creator, sound and hashtags, whose
    /// vectors become the mean of their fitted clips. `None` if the fit is
    /// of another dimension.
    pub fn prepare_batch(&self, fit: BatchFit) -> Option<PreparedBatch> {
        let dim = self.cfg.dim;
        if fit.dim != dim {
            return None;
        }
        let rows = (fit.factors.len() / dim).min(self.clips.state.len());
        let mut emb = self.clips.emb[..rows * dim].to_vec();
        let mut moved = Vec::new();
        for r in (0..rows).filter(|&r| fit.fitted[r]) {
            emb[r * dim..(r + 1) * dim].copy_from_slice(&fit.factors[r * dim..(r + 1) * dim]);
            moved.push(r as u32);
        }
        // Each admitted feature: the mean of its recent fitted clips.
        let mut features: PerKind<Vec<(u32, Vec<f32>)>> = Default::default();
        for k in 0..3 {
            for (fr, f) in self.features[k].iter().enumerate() {
                if f.emb.is_none() {
                    continue;
                }
                let mut mean = vec![0f32; dim];
                let mut n = 0;
                for &r in f.recent.iter().filter(|&&r| (r as usize) < rows) {
                    if fit.fitted[r as usize] {
                        let y = &emb[r as usize * dim..(r as usize + 1) * dim];
                        mean.iter_mut().zip(y).for_each(|(m, y)| *m += y);
                        n += 1;
                    }
                }
                if n > 0 {
                    mean.iter_mut().for_each(|m| *m /= n as f32);
                    features[k].push((fr as u32, mean));
                }
            }
        }
        // The features' vectors as they will be once installed.
        let mut feature_emb: PerKind<Vec<Option<&[f32]>>> = Default::default();
        for k in 0..3 {
            feature_emb[k] = self.features[k].iter().map(|f| f.emb.as_deref()).collect();
            for (fr, mean) in &features[k] {
                feature_emb[k][*fr as usize] = Some(mean);
            }
        }
        for r in 0..rows {
            let live = self.clip_ids.ids[r].is_some() && self.clips.state[r] & REMOVED == 0;
            if !fit.fitted[r] && live {
                if let Some(init) =
                    self.feature_mean_of(r, |kind, fr| feature_emb[kind][fr as usize])
                {
                    emb[r * dim..(r + 1) * dim].copy_from_slice(&init);
                    moved.push(r as u32);
                }
            }
        }
        let ann = self.ann.requantised(&moved, &emb);
        let item_item = fit
            .neighbours
            .into_iter()
            .filter(|(r, _)| (*r as usize) < rows)
            .map(|(r, l)| (r, l.into_boxed_slice()))
            .collect();
        Some(PreparedBatch {
            rows,
            emb,
            ann,
            moved,
            features,
            gram: fit.gram,
            item_item,
            events: fit.events,
        })
    }

    /// Installs a [`PreparedBatch`]: a few moves of whole arrays, so the
    /// server's exclusive lock is held for milliseconds, not the seconds a
    /// large catalogue's vectors take to prepare. Clips added since it was
    /// prepared keep their warm start; features evicted since stay empty.
    pub fn install_batch(&mut self, mut p: PreparedBatch) {
        let dim = self.cfg.dim;
        let (rows, now) = (p.rows, self.clips.state.len());
        // Clips only ever grow in number: more rows than the model has
        // means it was prepared from another model.
        if rows > now || p.emb.len() != rows * dim {
            return;
        }
        p.emb
            .extend_from_slice(&self.clips.emb[rows * dim..now * dim]);
        self.clips.emb = p.emb;
        // The prepared index has every moved clip's new code. Clips added
        // since it was copied are filed in it now, and clips removed since
        // taken out (a byte per clip to check, no vector maths).
        self.ann = p.ann;
        for r in 0..now {
            if self.clips.state[r] & REMOVED != 0 {
                self.ann.remove(r as u32);
            } else if r >= rows {
                self.ann
                    .file(r as u32, &self.clips.emb[r * dim..(r + 1) * dim]);
            }
        }
        // Nearly every vector moved: the lists are not re-clustered here
        // but rebuilt after, off the lock (`ann_input`, `install_ann`).
        // Until then they are stale, not wrong: every scanned clip is
        // scored exactly with its new code.
        let track = self.clips.state.len() >= self.cfg.ann.min_clips;
        for &r in &p.moved {
            mark(&mut self.dirty.videos, r);
        }
        if track {
            self.ann_moved.extend_from_slice(&p.moved);
        }
        for k in 0..3 {
            for (fr, mean) in std::mem::take(&mut p.features[k]) {
                let f = &mut self.features[k][fr as usize];
                if f.emb.is_some() {
                    f.emb = Some(mean);
                    mark(&mut self.dirty.features[k], fr);
                }
            }
        }
        self.gram = p.gram;
        self.item_item = p.item_item;
        self.refreshed_at = self.refreshed_at.max(p.events);
    }

    /// What a rebuild of the nearest-clip index reads, with the mark to
    /// pass to [`Self::install_ann`]; `None` while the catalogue is small
    /// enough for the exact scan.
    pub fn ann_input(&self) -> Option<(crate::ann::AnnInput, usize)> {
        if self.clip_ids.len() < self.cfg.ann.min_clips {
            return None;
        }
        let rows = (0..self.clips.state.len() as u32)
            .filter(|&r| {
                let r = r as usize;
                self.clip_ids.ids[r].is_some() && self.clips.state[r] & REMOVED == 0
            })
            .collect();
        Some((
            crate::ann::AnnInput {
                dim: self.cfg.dim,
                vectors: self.clips.emb.clone(),
                rows,
                seed: self.seed ^ self.events,
                long_clips: self.cfg.ann.long_clips,
            },
            self.ann_moved.len(),
        ))
    }

    /// Installs an index built from [`Self::ann_input`], re-filing the clips
    /// whose vectors moved after that input was copied.
    pub fn install_ann(&mut self, mut ivf: crate::ann::Ivf, mark: usize) {
        let dim = self.cfg.dim;
        for &row in self.ann_moved.get(mark..).unwrap_or(&[]) {
            let r = row as usize;
            if self.clips.state[r] & REMOVED == 0 {
                ivf.file(row, &self.clips.emb[r * dim..(r + 1) * dim]);
            } else {
                ivf.remove(row);
            }
        }
        // A refit moves every clip: the list is as long as the catalogue
        // until here, and need not stay allocated until the next one.
        self.ann_moved = Vec::new();
        self.ann = ivf;
    }

    /// Whether the catalogue is large enough for the index and none is
    /// installed yet (after a start, until the first build).
    pub fn needs_ann(&self) -> bool {
        self.ann.is_flat() && self.clip_ids.len() >= self.cfg.ann.min_clips
    }

    /// How pages find the clips nearest the viewer's vector right now.
    pub fn retrieval(&self) -> Retrieval {
        if !self.ann.is_flat() && self.clip_ids.len() >= self.cfg.ann.min_clips {
            Retrieval::Index
        } else if self.needs_ann() {
            Retrieval::ExactUntilIndex
        } else {
            Retrieval::Exact
        }
    }

    /// Lists a page probes: `ann.probe_lists`, or all of them once the
    /// catalogue is back under `ann.min_clips` (the exact scan is cheap
    /// again). A flat index has none to probe: its one list is scanned.
    pub(super) fn ann_probe(&self) -> usize {
        if self.clip_ids.len() >= self.cfg.ann.min_clips {
            self.cfg.ann.probe_lists
        } else {
            usize::MAX
        }
    }

    /// Rebuilds the nearest-clip index in place (what the server does off
    /// the lock after a refit, for callers without one).
    pub fn rebuild_ann(&mut self) {
        if let Some((input, mark)) = self.ann_input() {
            let ivf = crate::ann::Ivf::build(&input);
            self.install_ann(ivf, mark);
        }
    }

    /// The event count at which the last applied refit took its input,
    /// or `None` before the first.
    pub fn refitted_at(&self) -> Option<u64> {
        (self.refreshed_at > 0).then_some(self.refreshed_at)
    }

    /// Whether `batch.refresh_every` events have been learnt since the
    /// input of the last refresh was taken.
    pub fn refresh_due(&self) -> bool {
        self.events - self.refreshed_at >= self.cfg.batch.refresh_every.max(1)
    }

    /// Fits and applies in one call, on this thread: what the server's
    /// background job does in two halves around its lock.
    pub fn refresh(&mut self) {
        let input = self.batch_input();
        let fit = batch::fit(&input, &self.cfg.batch);
        self.apply_batch(fit);
        self.rebuild_ann();
    }

    /// The mean vector of a clip's admitted side features, if it has any.
    pub(super) fn feature_mean(&self, r: usize) -> Option<Vec<f32>> {
        self.feature_mean_of(r, |kind, fr| {
            self.features[kind][fr as usize].emb.as_deref()
        })
    }

    /// [`Self::feature_mean`] with each feature's vector looked up by `emb`.
    fn feature_mean_of<'a>(
        &self,
        r: usize,
        emb: impl Fn(FeatureKind, u32) -> Option<&'a [f32]>,
    ) -> Option<Vec<f32>> {
        let dim = self.cfg.dim;
        let feats = [
            (FeatureKind::Creator, self.clips.creator[r]),
            (FeatureKind::Sound, self.clips.sound[r]),
        ]
        .into_iter()
        .chain(self.clips.tags[r].map(|t| (FeatureKind::Tag, t)));
        let mut init = vec![0f32; dim];
        let mut n = 0;
        for (kind, fr) in feats {
            if fr == NONE {
                continue;
            }
            if let Some(e) = emb(kind, fr) {
                init.iter_mut().zip(e).for_each(|(a, b)| *a += b);
                n += 1;
            }
        }
        (n > 0).then(|| {
            init.iter_mut().for_each(|x| *x /= n as f32);
            init
        })
    }

    /// The viewer's vector: their recent positives folded in against the
    /// clip vectors (the ALS user step, per request), so a like shapes the
    /// very next page.
    pub(super) fn query_vector(&self, s: &UserState) -> Vec<f32> {
        let dim = self.cfg.dim;
        let mut q = vec![0f32; dim];
        batch::fold_in(
            &self.cfg.batch,
            &self.gram,
            &self.clips.emb,
            dim,
            s.history.iter().copied(),
            &s.skipped,
            &mut q,
        );
        q
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, CreatorId, Event, EventKind, Recommender, UserId, VideoId, VideoMeta};

    fn clip(id: u64) -> VideoMeta {
        VideoMeta {
            id: VideoId(id),
            creator: CreatorId(id % 7),
            hashtags: vec![format!("t{}", id % 5)],
            sound: None,
            duration_ms: 10_000,
            created_at_ms: 1_000,
            region: None,
        }
    }

    /// A refit prepared, then a clip uploaded and another removed before it
    /// is installed: the installed index holds every live clip once and no
    /// removed one.
    #[test]
    fn a_refit_installed_late_keeps_the_index_to_the_live_clips() {
        let mut m = Recommender::new(Config::default(), 3);
        for id in 1..=40 {
            m.upsert_video(clip(id));
        }
        for u in 0..30u64 {
            for k in 0..6 {
                m.observe(&Event {
                    user: UserId(100 + u),
                    video: VideoId(1 + (u * 3 + k) % 40),
                    at_ms: 2_000 + (u * 10 + k) as i64,
                    kind: EventKind::Like,
                });
            }
        }
        let input = m.batch_input();
        m.upsert_video(clip(41));
        let fit = crate::batch::fit(&input, &m.config().batch);
        let prepared = m.prepare_batch(fit).expect("same dimension");
        m.upsert_video(clip(42));
        m.remove_video(VideoId(41));
        m.remove_video(VideoId(5));
        m.install_batch(prepared);
        assert_eq!(m.ann.len(), 42 - 2, "every live clip once");
        for gone in [5, 41] {
            let row = m.clip_ids.get(&VideoId(gone)).unwrap();
            assert!(m.ann.code(row).is_none(), "clip {gone} was removed");
        }
        let row = m.clip_ids.get(&VideoId(42)).unwrap();
        assert!(m.ann.code(row).is_some(), "clip 42 came after the copy");
    }
}
