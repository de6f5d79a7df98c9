//! Serving a page: the pipeline candidates → rank → explore → re-rank
//! (`candidates.rs`, `rank.rs`, `explore.rs`, `rerank.rs`), then what
//! serving marks.

use super::*;

impl Recommender {
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
        // The viewer's fold-in, solved once for the page: the nearest-clip
        // scan and the ranker both use it.
        let query = urow.map(|r| self.query_vector(self.user(r)));
        let Candidates {
            list: mut cands,
            pos,
            cooc_max,
        } = self.candidates(req, urow, query.as_deref());
        self.rank(req, urow, &mut cands, cooc_max, query.as_deref());
        let explore = self.exploration_draws(req, urow, limit, cands.len());
        let out = self.rerank(cands, pos, explore, limit);

        // Serving marks the page seen (its impressions, once logged, spend
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
}
