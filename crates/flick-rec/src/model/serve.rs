//! Serving a page: the pipeline candidates → rank → explore → re-rank
//! (`candidates.rs`, `rank.rs`, `explore.rs`, `rerank.rs`), then what
//! serving marks.

use super::*;

impl Recommender {
    /// The next page for `req`, served: [`Recommender::page`], then
    /// [`Recommender::mark_served`]. Serving marks it seen for the user at
    /// once, so their next page does not repeat it while the page's
    /// impressions are on their way to the log; the impressions themselves
    /// ([`EventKind::Impression`], through `observe`) make the mark durable
    /// and spend exploration budget.
    pub fn recommend(&mut self, req: &Request) -> Vec<Recommendation> {
        if let Some(user) = req.user {
            self.ensure_user(user);
        }
        let out = self.page(req);
        if let Some(user) = req.user {
            self.mark_served(user, &out);
        }
        out
    }

    /// The page `recommend` would return now, without marking it seen.
    pub fn preview(&self, req: &Request) -> Vec<Recommendation> {
        self.page(req)
    }

    /// Whether the model keeps state for `user` (else their page is a new
    /// user's, but [`Recommender::ensure_user`] must come first so that the
    /// page leaves out their own clips).
    pub fn has_user(&self, user: UserId) -> bool {
        self.user_ids
            .get(&user)
            .is_some_and(|r| self.user_states[r as usize].is_some())
    }

    /// Gives `user` a state (a new user's) if they have none.
    pub fn ensure_user(&mut self, user: UserId) {
        if !self.has_user(user) {
            self.user_row(user);
        }
    }

    /// Marks a served page seen for `user` (see [`Recommender::recommend`]).
    pub fn mark_served(&mut self, user: UserId, page: &[Recommendation]) {
        let capacity = self.cfg.seen_filter_items;
        let row = self.user_row(user);
        let s = self.user_mut(row);
        for r in page {
            s.seen.insert(r.video, capacity);
        }
    }

    /// Ranks a page for `req` without changing the model, so any number of
    /// pages can be ranked at once (the server holds a read lock): the
    /// pipeline candidates → rank → explore → re-rank.
    pub fn page(&self, req: &Request) -> Vec<Recommendation> {
        // The page size sizes allocations below; whatever a caller passes,
        // a page never exceeds the catalogue (nor MAX_PAGE).
        let limit = req.limit.min(MAX_PAGE).min(self.clip_ids.len());
        if limit == 0 {
            return Vec::new();
        }
        let urow = req
            .user
            .and_then(|u| self.user_ids.get(&u))
            .filter(|&r| self.user_states[r as usize].is_some());
        // The viewer's fold-in, solved once for the page: the nearest-clip
        // scan and the ranker both use it.
        let query = urow.map(|r| self.query_vector(self.user(r)));
        let mut scratch = self.scratch.take();
        let Candidates {
            list: mut cands,
            pos,
            cooc_max,
        } = self.candidates(req, urow, query.as_deref(), &mut scratch);
        self.rank(
            req,
            urow,
            &mut cands,
            cooc_max,
            query.as_deref(),
            &mut scratch,
        );
        self.scratch.give(scratch);
        let explore = self.exploration_draws(req, urow, query.as_deref(), limit, cands.len());
        self.rerank(cands, pos, explore, limit)
    }
}
