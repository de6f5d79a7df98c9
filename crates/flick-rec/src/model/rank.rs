//! Stage 2 of a page: the ranker, a sum of log-odds with the published weights.

use super::*;
use crate::util::prefetch;

/// Candidates ahead of the one being scored whose rows are prefetched.
const RANK_PREFETCH_AHEAD: usize = 4;

impl Recommender {
    /// Stage 2, ranking: each candidate's score from the published weights.
    pub(super) fn rank(
        &self,
        req: &Request,
        urow: Option<u32>,
        cands: &mut [Cand],
        cooc_max: f32,
        query: Option<&[f32]>,
        scratch: &mut Scratch,
    ) {
        // Every candidate, whichever source found it, gets its
        // history scores from the scratch accumulators, which then reset.
        if urow.is_some() {
            for c in cands.iter_mut() {
                c.cooc = scratch.cooc.score(c.row) / cooc_max;
                c.item_item = scratch.item_item.score(c.row);
            }
            scratch.cooc.clear();
            scratch.item_item.clear();
        }
        // Each candidate's row is read from half a dozen arrays, a cache
        // miss each at a large catalogue: start loading a few ahead.
        for i in 0..cands.len() {
            if let Some(ahead) = cands.get(i + RANK_PREFETCH_AHEAD) {
                self.prefetch_rank(ahead.row);
            }
            let c = &mut cands[i];
            c.score = self.rank_score(
                c.row,
                urow.map(|r| self.user(r)),
                query,
                c.cooc,
                c.item_item,
                req.now_ms,
            );
        }
    }

    /// Starts loading what [`Recommender::rank_score`] reads of `row`.
    fn prefetch_rank(&self, row: u32) {
        let r = row as usize;
        let dim = self.cfg.dim;
        prefetch(&self.clips.stats, r);
        prefetch(&self.clips.created_at, r);
        prefetch(&self.clips.creator, r);
        prefetch(&self.clips.tags, r);
        // A vector spans two or three cache lines.
        for at in (r * dim..(r + 1) * dim).step_by(16) {
            prefetch(&self.clips.emb, at);
        }
        if dim > 0 {
            prefetch(&self.clips.emb, (r + 1) * dim - 1);
        }
    }

    /// Mean cosine similarity (negatives count as 0) of clip `r` to the
    /// clips the user recently skipped.
    pub(super) fn skip_similarity(&self, s: &UserState, r: usize) -> f32 {
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
        let personal = match (user, q) {
            (Some(s), Some(q)) => self.personal_score(row, s, q, cooc, item_item),
            _ => 0.0,
        };
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

    /// The ranker's personal terms for clip `row` and the viewer `s`, whose
    /// folded-in vector is `q`: how much more (or less) than the crowd this
    /// viewer should want it, in log-odds.
    pub(super) fn personal_score(
        &self,
        row: u32,
        s: &UserState,
        q: &[f32],
        cooc: f32,
        item_item: f32,
    ) -> f32 {
        let r = row as usize;
        let w = &self.cfg.ranker;
        let dim = self.cfg.dim;
        let aff = scan::dot_f32(q, &self.clips.emb[r * dim..(r + 1) * dim]);
        let creator = self.clips.creator[r];
        let prior = w.affinity_prior;
        let base = s.base_rate(self.completion_rate(), prior);
        let creator_lift = s.lift(FeatureKind::Creator, creator, base, w.creator_prior);
        let topic_lift: f32 = self.clips.tags[r]
            .iter()
            .filter(|&&t| t != NONE)
            .map(|&t| s.lift(FeatureKind::Tag, t, base, prior))
            .sum();
        // Both ways: one skip moves a new viewer off that creator as
        // firmly as one finish moves them toward it. (Backing finishes
        // alone scored lower on the new-user trial and the simulator.)
        let creator_weight = w.creator_affinity
            + w.creator_affinity_new * w.settle_positives
                / (w.settle_positives + s.positives as f32).max(1e-9);
        let follows = s.follows.contains(&creator) as u8 as f32;
        let skipped = self.skip_similarity(s, r);
        w.affinity * aff
            + w.cooccurrence * cooc
            + w.item_item * item_item
            + creator_weight * creator_lift
            + w.topic_affinity * topic_lift
            + w.follow * follows
            - w.skipped * skipped
    }
}
