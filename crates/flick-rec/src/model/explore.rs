//! Stage 3 of a page: Thompson draws of clips under exploration.

use super::*;

impl Recommender {
    /// Stage 3, exploration: Thompson samples of the completion rate of a
    /// few clips still under their impression budget, as log-odds, plus
    /// (times `exploration.personal`) the ranker's personal terms for the
    /// viewer, best first. The page has as many exploration slots either
    /// way, so new clips get their budget as fast; the personal terms only
    /// choose which new clips this viewer is the one to try.
    pub(super) fn exploration_draws(
        &self,
        req: &Request,
        urow: Option<u32>,
        query: Option<&[f32]>,
        limit: usize,
        n_cands: usize,
    ) -> Vec<(u32, f32)> {
        let mut explore: Vec<(u32, f32)> = Vec::new();
        // Seeded by the model's generator state (snapshotted, and moved
        // only by uploads) and the page id: a function of the log and the
        // request, never of how many pages came before.
        let mut rng = Rng::new(crate::util::mix64(
            self.rng.0 ^ crate::util::mix64(req.page),
        ));
        // Drawn even with `every` = 0 (no interleaved slots): on a new
        // service every clip is under exploration and nothing is ranked
        // yet, and the draws are all a page can be filled with.
        if req.explore && !self.exploring.is_empty() {
            let n_rows = self.clips.state.len() as u64;
            // Few candidates (a new service, a new user): draw more.
            let draws = self
                .cfg
                .exploration
                .draws
                .max((3 * limit).saturating_sub(n_cands));
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
            let hidden = self.creator_rows(req.exclude_creators);
            let user_ref = urow.map(|r| self.viewer(req.user.expect("user"), r, &hidden));
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
                let personal = match (urow, query) {
                    (Some(u), Some(q)) if e.personal != 0.0 => {
                        e.personal * self.personal_score(row, self.user(u), q, 0.0, 0.0)
                    }
                    _ => 0.0,
                };
                explore.push((row, logit(theta) + personal));
            }
            explore.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        }

        explore
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
}
