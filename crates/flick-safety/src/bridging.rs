//! Bridging-based scoring of context notes, after X's Community Notes
//! (Wojcik et al., "Birdwatch: Crowd Wisdom and Bridging Algorithms can
//! Inform Understanding and Reduce the Spread of Misinformation", 2022).
//!
//! Each rating is 1 (helpful) or 0 (not helpful) and is modelled as
//!
//! ```text
//! r(u, n) ≈ μ + i_u + i_n + f_u · f_n
//! ```
//!
//! with a global mean μ, an intercept per rater and per note, and a
//! one-dimensional factor per rater and per note. The factor soaks up the
//! part of the ratings that follows the raters' side (a note liked by one
//! side and disliked by the other gets a large |f_n|); what is left in the
//! note's intercept `i_n` is how helpful raters found it *across* sides. A
//! note is shown when `i_n` passes [`Params::helpful_intercept`] and its
//! factor is small: many ratings from one side cannot push a note over.
//!
//! The fit minimises the squared error plus `λ_i (i_u² + i_n²) + λ_f (f_u² +
//! f_n²)` by alternating exact coordinate updates (each parameter's least-
//! squares solution given the others). It starts from fixed values and
//! visits raters and notes in id order, so the same ratings always give the
//! same scores: the result is a function of the rating log, whoever runs it.

use serde::Serialize;
use std::collections::BTreeMap;

/// The published parameters of the scorer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Params {
    /// Regularisation of the intercepts (raters' and notes'): five times
    /// the factors', as in Community Notes, so that a note's intercept has
    /// to be earned by many raters.
    pub lambda_intercept: f64,
    pub lambda_factor: f64,
    /// Sweeps over all parameters.
    pub sweeps: u32,
    /// A note needs at least this many ratings for a verdict.
    pub min_ratings: u32,
    /// Shown ("helpful") when the note's intercept is at least this ...
    pub helpful_intercept: f64,
    /// ... and the magnitude of its factor below this.
    pub max_factor: f64,
    /// Not helpful when the intercept is below `not_helpful_intercept −
    /// not_helpful_slope · |f_n|`.
    pub not_helpful_intercept: f64,
    pub not_helpful_slope: f64,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            lambda_intercept: 0.15,
            lambda_factor: 0.03,
            sweeps: 60,
            min_ratings: 5,
            helpful_intercept: 0.40,
            max_factor: 0.50,
            not_helpful_intercept: -0.05,
            not_helpful_slope: 0.8,
        }
    }
}

/// One rating: who rated which note, and whether they found it helpful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rating {
    pub rater: i64,
    pub note: i64,
    pub helpful: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Too few ratings, or raters disagree along their sides.
    NeedsMoreRatings,
    /// Shown with the clip: raters across sides found it helpful.
    Helpful,
    NotHelpful,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NeedsMoreRatings => "needs_more_ratings",
            Status::Helpful => "helpful",
            Status::NotHelpful => "not_helpful",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Status::NeedsMoreRatings,
            Status::Helpful,
            Status::NotHelpful,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NoteScore {
    pub intercept: f64,
    pub factor: f64,
    pub ratings: u32,
    pub status: Status,
}

/// Scores every note that has ratings. `ratings` may come in any order;
/// a rater's repeated rating of one note should have been reduced to their
/// latest before (the store keeps one per rater and note).
pub fn score(ratings: &[Rating], p: &Params) -> BTreeMap<i64, NoteScore> {
    // Dense indexes in id order, so the fit visits everything in an order
    // that depends on the ids alone.
    let raters: BTreeMap<i64, usize> = index(ratings.iter().map(|r| r.rater));
    let notes: BTreeMap<i64, usize> = index(ratings.iter().map(|r| r.note));
    let mut by_rater: Vec<Vec<(usize, f64)>> = vec![Vec::new(); raters.len()];
    let mut by_note: Vec<Vec<(usize, f64)>> = vec![Vec::new(); notes.len()];
    let mut sorted = ratings.to_vec();
    sorted.sort_by_key(|r| (r.note, r.rater));
    for r in &sorted {
        let (u, n) = (raters[&r.rater], notes[&r.note]);
        let y = if r.helpful { 1.0 } else { 0.0 };
        by_rater[u].push((n, y));
        by_note[n].push((u, y));
    }
    let mu = if sorted.is_empty() {
        0.0
    } else {
        sorted.iter().filter(|r| r.helpful).count() as f64 / sorted.len() as f64
    };
    let mut iu = vec![0.0; raters.len()];
    let mut inn = vec![0.0; notes.len()];
    // Fixed, non-zero starts that differ between raters (a factor started
    // at zero everywhere would stay there): a deterministic spread by
    // position in id order.
    let mut fu: Vec<f64> = (0..raters.len()).map(start).collect();
    let mut fn_: Vec<f64> = (0..notes.len()).map(|k| start(k + 7919)).collect();

    for _ in 0..p.sweeps {
        // Each update is the exact minimiser of the objective in that one
        // parameter, the others held.
        for (u, rated) in by_rater.iter().enumerate() {
            let resid: f64 = rated
                .iter()
                .map(|&(n, y)| y - mu - inn[n] - fu[u] * fn_[n])
                .sum();
            iu[u] = resid / (rated.len() as f64 + p.lambda_intercept);
            let (num, den) = rated
                .iter()
                .fold((0.0, p.lambda_factor), |(a, b), &(n, y)| {
                    (a + fn_[n] * (y - mu - iu[u] - inn[n]), b + fn_[n] * fn_[n])
                });
            fu[u] = num / den;
        }
        for (n, rated) in by_note.iter().enumerate() {
            let resid: f64 = rated
                .iter()
                .map(|&(u, y)| y - mu - iu[u] - fu[u] * fn_[n])
                .sum();
            inn[n] = resid / (rated.len() as f64 + p.lambda_intercept);
            let (num, den) = rated
                .iter()
                .fold((0.0, p.lambda_factor), |(a, b), &(u, y)| {
                    (a + fu[u] * (y - mu - iu[u] - inn[n]), b + fu[u] * fu[u])
                });
            fn_[n] = num / den;
        }
    }
    // The factor's sign and scale are arbitrary between raters and notes
    // (f_u·f_n is what is fitted): balance them so |f_n| is comparable
    // with the threshold whatever the starting values.
    let norm = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len().max(1) as f64).sqrt();
    let (su, sn) = (norm(&fu), norm(&fn_));
    let scale = if su > 0.0 && sn > 0.0 {
        (su / sn).sqrt()
    } else {
        1.0
    };

    notes
        .iter()
        .map(|(&id, &n)| {
            let count = by_note[n].len() as u32;
            let factor = fn_[n] * scale;
            let intercept = inn[n];
            let status = if count < p.min_ratings {
                Status::NeedsMoreRatings
            } else if intercept >= p.helpful_intercept && factor.abs() < p.max_factor {
                Status::Helpful
            } else if intercept < p.not_helpful_intercept - p.not_helpful_slope * factor.abs() {
                Status::NotHelpful
            } else {
                Status::NeedsMoreRatings
            };
            (
                id,
                NoteScore {
                    intercept,
                    factor,
                    ratings: count,
                    status,
                },
            )
        })
        .collect()
}

fn index(ids: impl Iterator<Item = i64>) -> BTreeMap<i64, usize> {
    let mut all: Vec<i64> = ids.collect();
    all.sort_unstable();
    all.dedup();
    all.into_iter().enumerate().map(|(k, id)| (id, k)).collect()
}

/// A small start in (−0.1, 0.1), fixed by position.
fn start(k: usize) -> f64 {
    // A multiplicative hash: well spread, and the same on every machine.
    let h = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    ((h >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 0.2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two sides that disagree on most notes; `both` is a note both sides
    /// find helpful, `one_sided` one that only side A (the bigger one)
    /// finds helpful.
    fn polarised(side_a: i64, side_b: i64) -> (Vec<Rating>, i64, i64) {
        let mut ratings = Vec::new();
        let a: Vec<i64> = (0..side_a).collect();
        let b: Vec<i64> = (1000..1000 + side_b).collect();
        // Partisan notes: each side likes its own and dislikes the other's.
        for note in 0..12 {
            let a_likes = note % 2 == 0;
            for &u in &a {
                ratings.push(Rating {
                    rater: u,
                    note,
                    helpful: a_likes,
                });
            }
            for &u in &b {
                ratings.push(Rating {
                    rater: u,
                    note,
                    helpful: !a_likes,
                });
            }
        }
        let (both, one_sided) = (100, 101);
        for &u in a.iter().chain(&b) {
            ratings.push(Rating {
                rater: u,
                note: both,
                helpful: true,
            });
        }
        for &u in &a {
            ratings.push(Rating {
                rater: u,
                note: one_sided,
                helpful: true,
            });
        }
        for &u in &b {
            ratings.push(Rating {
                rater: u,
                note: one_sided,
                helpful: false,
            });
        }
        (ratings, both, one_sided)
    }

    #[test]
    fn a_note_both_sides_find_helpful_is_shown_and_a_one_sided_one_is_not() {
        for (side_a, side_b) in [(10, 10), (30, 8), (60, 6)] {
            let (ratings, both, one_sided) = polarised(side_a, side_b);
            let scores = score(&ratings, &Params::default());
            assert_eq!(
                scores[&both].status,
                Status::Helpful,
                "{side_a}/{side_b}: {:?}",
                scores[&both]
            );
            assert_ne!(
                scores[&one_sided].status,
                Status::Helpful,
                "{side_a}/{side_b}: a one-sided note is not shown however big its side: {:?}",
                scores[&one_sided]
            );
            assert!(scores[&both].intercept > scores[&one_sided].intercept);
        }
    }

    #[test]
    fn scores_depend_on_the_ratings_not_their_order() {
        let (mut ratings, _, _) = polarised(12, 9);
        let first = score(&ratings, &Params::default());
        ratings.reverse();
        assert_eq!(score(&ratings, &Params::default()), first);
    }

    #[test]
    fn few_ratings_give_no_verdict() {
        let ratings: Vec<Rating> = (0..4)
            .map(|u| Rating {
                rater: u,
                note: 1,
                helpful: true,
            })
            .collect();
        assert_eq!(
            score(&ratings, &Params::default())[&1].status,
            Status::NeedsMoreRatings
        );
        assert!(score(&[], &Params::default()).is_empty());
    }

    #[test]
    fn a_note_everyone_finds_unhelpful_is_marked_so() {
        let (mut ratings, _, _) = polarised(10, 10);
        for u in (0..10).chain(1000..1010) {
            ratings.push(Rating {
                rater: u,
                note: 200,
                helpful: false,
            });
        }
        assert_eq!(
            score(&ratings, &Params::default())[&200].status,
            Status::NotHelpful
        );
    }
}
