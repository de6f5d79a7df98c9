//! Stage 4 of a page: re-ranking the candidates and draws into the page.

use super::*;

impl Recommender {
    /// Stage 4, re-ranking into the page: one creator never twice in a row,
    /// repeated topics scored down, exploration slots interleaved.
    pub(super) fn rerank(
        &self,
        mut cands: Vec<Cand>,
        mut pos: FastMap<u32, usize>,
        explore: Vec<(u32, f32)>,
        limit: usize,
    ) -> Vec<Recommendation> {
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
            let mut picked: Option<(u32, f32, Whys)> = None;
            let mut take_explore = |used: &Vec<u32>, last_creator: u32| {
                for (row, theta) in explore_iter.by_ref() {
                    if self.clips.creator[row as usize] != last_creator && !used.contains(&row) {
                        let mut reasons = pos
                            .get(&row)
                            .map(|&i| cands[i].reasons.clone())
                            .unwrap_or_default();
                        push_why(&mut reasons, Why::Exploring);
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
                    let eff = c.score - self.cfg.topic_repeat_penalty * repeats as f32;
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
                            .map(|&(row, theta)| (row, theta, smallvec::smallvec![Why::Exploring]))
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
                reasons: reasons.iter().map(|&why| self.reason(why)).collect(),
            });
        }

        out
    }
}
