//! The batch model: implicit-feedback alternating least squares (Hu, Koren
//! and Volinsky, "Collaborative Filtering for Implicit Feedback Datasets",
//! ICDM 2008) over every user's recent history, refitting the clips'
//! vectors. Users are not stored: a page folds the viewer's own history in
//! at request time ([`fold_in`]), so a like counts on the very next page
//! while the clip vectors change only when a refresh lands.
//!
//! A refresh is pure: [`BatchInput`] is copied out of the model, [`fit`]
//! runs without it (the server runs it on a background thread, off any
//! lock), and the result is applied in one step. Every number here is in
//! the published configuration.

use crate::config::BatchModel;

/// What a refresh learns from, copied out of the model.
#[derive(Debug, Clone, Default)]
pub struct BatchInput {
    /// The model's event count when this was taken.
    pub(crate) events: u64,
    pub(crate) dim: usize,
    /// Current clip vectors (rows × dim): the warm start, and the vectors
    /// of clips nobody in the window interacted with.
    pub(crate) factors: Vec<f32>,
    /// Live clip rows (removed ones stay out of the Gram matrix).
    pub(crate) live: Vec<bool>,
    /// Per user: (clip row, signal) of their recent positives (signal > 0)
    /// and skips (signal < 0, observed zeros with confidence 1 + alpha·|signal|).
    pub(crate) users: Vec<Vec<(u32, f32)>>,
}

/// Item-to-item weights of the catalogue's head: for each head clip (by
/// row), its strongest neighbours with their EASE weights. Memory is
/// bounded by the head size, whatever the catalogue's.
pub type Neighbours = Vec<(u32, Vec<(u32, f32)>)>;

/// A fitted refresh, ready to apply.
#[derive(Debug, Clone)]
pub struct BatchFit {
    pub(crate) neighbours: Neighbours,
    pub(crate) events: u64,
    pub(crate) dim: usize,
    pub(crate) factors: Vec<f32>,
    /// Which rows the fit moved (the rest keep their vectors).
    pub(crate) fitted: Vec<bool>,
    /// Σ y yᵀ over live clips, row-major dim × dim: the "everything not
    /// watched counts as a weak no" term of every fold-in.
    pub(crate) gram: Vec<f32>,
}

impl BatchInput {
    pub fn users(&self) -> usize {
        self.users.len()
    }

    pub fn interactions(&self) -> usize {
        self.users.iter().map(Vec::len).sum()
    }
}

/// Confidence of an interaction of strength `signal` (Hu et al.'s
/// c = 1 + α·r, with the size of the event's learning signal as r).
fn confidence(cfg: &BatchModel, signal: f32) -> f32 {
    1.0 + cfg.alpha * signal.abs()
}

/// `iterations` sweeps of alternating least squares; each sweep solves every
/// user, then every clip with at least one interaction, exactly
/// (one dim × dim Cholesky each).
pub fn fit(input: &BatchInput, cfg: &BatchModel) -> BatchFit {
    fit_unless(input, cfg, &|| false).expect("never asked to stop")
}

/// [`fit`], given up (`None`) as soon as `stop` says so: it is asked before
/// each half-sweep and before the head's neighbours. A refit takes over a
/// minute on a large catalogue; a server shutting down should not wait
/// for one whose result it would throw away.
pub fn fit_unless(
    input: &BatchInput,
    cfg: &BatchModel,
    stop: &dyn Fn() -> bool,
) -> Option<BatchFit> {
    let dim = input.dim;
    let rows = input.live.len();
    let mut y = input.factors.clone();
    // Clips → (user, confidence), the transpose of the users' lists.
    let mut by_item: Vec<Vec<(u32, f32, bool)>> = vec![Vec::new(); rows];
    for (u, list) in input.users.iter().enumerate() {
        for &(row, signal) in list {
            if (row as usize) < rows && input.live[row as usize] {
                by_item[row as usize].push((u as u32, confidence(cfg, signal), signal > 0.0));
            }
        }
    }
    // A clip only skipped so far keeps its vector: zeros alone would
    // solve to the zero vector.
    let fitted: Vec<bool> = by_item.iter().map(|l| l.iter().any(|e| e.2)).collect();
    let mut x = vec![0f32; input.users.len() * dim];
    let mut solver = Solver::new(dim);
    for _ in 0..cfg.iterations {
        if stop() {
            return None;
        }
        let gy = gram(&y, &input.live, dim);
        for (u, list) in input.users.iter().enumerate() {
            let list = list
                .iter()
                .filter(|(r, _)| (*r as usize) < rows && input.live[*r as usize])
                .map(|&(r, s)| (r, confidence(cfg, s), s > 0.0));
            solver.solve(
                &gy,
                &y,
                list,
                cfg.regularization,
                &mut x[u * dim..(u + 1) * dim],
            );
        }
        if stop() {
            return None;
        }
        let all_users = vec![true; input.users.len()];
        let gx = gram(&x, &all_users, dim);
        for (i, list) in by_item.iter().enumerate() {
            if !fitted[i] {
                continue;
            }
            solver.solve(
                &gx,
                &x,
                list.iter().copied(),
                cfg.regularization,
                &mut y[i * dim..(i + 1) * dim],
            );
        }
    }
    if stop() {
        return None;
    }
    let gram = gram(&y, &input.live, dim);
    let neighbours = head_neighbours(input, cfg);
    Some(BatchFit {
        neighbours,
        events: input.events,
        dim,
        factors: y,
        fitted,
        gram,
    })
}

/// The user vector for a history under the current clip vectors: the exact
/// least-squares solution an ALS user step would give, computed per page.
/// `skipped` clips enter as observed zeros with confidence 1 + alpha (a
/// skip is as sure a "no" as a full watch is a "yes"): they pull the
/// vector away from what the user turned down.
pub fn fold_in(
    cfg: &BatchModel,
    gram: &[f32],
    factors: &[f32],
    dim: usize,
    history: impl Iterator<Item = (u32, f32)>,
    skipped: &[u32],
    out: &mut [f32],
) {
    let mut solver = Solver::new(dim);
    let list = history
        .map(|(r, s)| (r, confidence(cfg, s), true))
        .chain(skipped.iter().map(|&r| (r, confidence(cfg, 1.0), false)));
    solver.solve(gram, factors, list, cfg.regularization, out);
}

/// EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data",
/// WWW 2019) over the `head_size` clips with the most positives in the
/// window: B = I − P·diag(1/diag P) with P = (XᵀX + λI)⁻¹, then each head
/// clip keeps its `head_neighbours` strongest positive weights. The one
/// dense inverse costs head³, which `head_size` bounds.
pub fn head_neighbours(input: &BatchInput, cfg: &BatchModel) -> Neighbours {
    let rows = input.live.len();
    let mut counts = vec![0u32; rows];
    for list in &input.users {
        for &(r, s) in list {
            if s > 0.0 && (r as usize) < rows && input.live[r as usize] {
                counts[r as usize] += 1;
            }
        }
    }
    let mut head: Vec<u32> = (0..rows as u32)
        .filter(|&r| counts[r as usize] > 0)
        .collect();
    head.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    head.truncate(cfg.head_size);
    head.sort_unstable();
    let n = head.len();
    if n < 2 || cfg.head_neighbours == 0 {
        return Vec::new();
    }
    let mut index = vec![u32::MAX; rows];
    for (h, &r) in head.iter().enumerate() {
        index[r as usize] = h as u32;
    }
    let mut g = vec![0f64; n * n];
    let mut mine: Vec<usize> = Vec::new();
    for list in &input.users {
        mine.clear();
        mine.extend(
            list.iter()
                .filter(|&&(r, s)| s > 0.0 && (r as usize) < rows)
                .filter_map(|&(r, _)| {
                    let h = index[r as usize];
                    (h != u32::MAX).then_some(h as usize)
                }),
        );
        mine.sort_unstable();
        mine.dedup();
        for (i, &a) in mine.iter().enumerate() {
            for &b in &mine[i..] {
                g[a * n + b] += 1.0;
            }
        }
    }
    for a in 0..n {
        for b in 0..a {
            g[a * n + b] = g[b * n + a];
        }
        g[a * n + a] += cfg.head_lambda as f64;
    }
    let p = spd_inverse(g, n);
    let k = cfg.head_neighbours.min(n - 1);
    let mut out = Vec::with_capacity(n);
    for (i, &row) in head.iter().enumerate() {
        // B[i][j] = −P[i][j] / P[j][j] for j ≠ i.
        let mut weights: Vec<(u32, f32)> = (0..n)
            .filter(|&j| j != i)
            .map(|j| (head[j], (-p[i * n + j] / p[j * n + j]) as f32))
            .filter(|&(_, w)| w > 0.0)
            .collect();
        weights.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        weights.truncate(k);
        if !weights.is_empty() {
            out.push((row, weights));
        }
    }
    out
}

/// The inverse of a symmetric positive definite matrix (row-major, n × n):
/// a Cholesky factor L, then one forward and one back substitution per
/// column, with Lᵀ kept as well so both run along rows.
fn spd_inverse(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    for j in 0..n {
        let (done, rest) = a.split_at_mut(j * n);
        let row_j = &mut rest[..n];
        for k in 0..j {
            let s: f64 = row_j[..k]
                .iter()
                .zip(&done[k * n..k * n + k])
                .map(|(x, y)| x * y)
                .sum();
            row_j[k] = (row_j[k] - s) / done[k * n + k];
        }
        let s: f64 = row_j[..j].iter().map(|x| x * x).sum();
        row_j[j] = (row_j[j] - s).max(1e-12).sqrt();
    }
    // Now the lower triangle of `a` is L (row j computed from rows k < j).
    let mut lt = vec![0f64; n * n];
    for i in 0..n {
        for k in 0..=i {
            lt[k * n + i] = a[i * n + k];
        }
    }
    let mut inv = vec![0f64; n * n];
    let mut y = vec![0f64; n];
    for c in 0..n {
        // L y = e_c: y is zero above c.
        y.iter_mut().for_each(|v| *v = 0.0);
        for i in c..n {
            let s: f64 = a[i * n + c..i * n + i]
                .iter()
                .zip(&y[c..i])
                .map(|(l, v)| l * v)
                .sum();
            let rhs = if i == c { 1.0 } else { 0.0 };
            y[i] = (rhs - s) / a[i * n + i];
        }
        // Lᵀ x = y.
        for i in (0..n).rev() {
            let s: f64 = lt[i * n + i + 1..(i + 1) * n]
                .iter()
                .zip(&y[i + 1..])
                .map(|(l, v)| l * v)
                .sum();
            y[i] = (y[i] - s) / lt[i * n + i];
        }
        for (r, v) in y.iter().enumerate() {
            inv[r * n + c] = *v;
        }
    }
    inv
}

/// Σ v vᵀ over the selected rows.
pub(crate) fn gram(v: &[f32], selected: &[bool], dim: usize) -> Vec<f32> {
    let mut g = vec![0f64; dim * dim];
    for (r, &on) in selected.iter().enumerate() {
        if !on {
            continue;
        }
        let row = &v[r * dim..(r + 1) * dim];
        for a in 0..dim {
            let va = row[a] as f64;
            if va == 0.0 {
                continue;
            }
            for b in a..dim {
                g[a * dim + b] += va * row[b] as f64;
            }
        }
    }
    for a in 0..dim {
        for b in 0..a {
            g[a * dim + b] = g[b * dim + a];
        }
    }
    g.into_iter().map(|x| x as f32).collect()
}

/// One least-squares solve: (G + Σ (c−1) y yᵀ + λI) x = Σ c p y (p is 1
/// for a positive, 0 for an observed negative), in f64 with
/// a Cholesky factorisation (the matrix is symmetric positive definite for
/// any λ > 0). Buffers are reused across solves.
struct Solver {
    dim: usize,
    a: Vec<f64>,
    b: Vec<f64>,
}

impl Solver {
    fn new(dim: usize) -> Self {
        Solver {
            dim,
            a: vec![0.0; dim * dim],
            b: vec![0.0; dim],
        }
    }

    fn solve(
        &mut self,
        gram: &[f32],
        vectors: &[f32],
        list: impl Iterator<Item = (u32, f32, bool)>,
        regularization: f32,
        out: &mut [f32],
    ) {
        let d = self.dim;
        for (a, &g) in self.a.iter_mut().zip(gram) {
            *a = g as f64;
        }
        for i in 0..d {
            self.a[i * d + i] += regularization.max(1e-3) as f64;
        }
        self.b.iter_mut().for_each(|b| *b = 0.0);
        let mut any = false;
        for (row, c, positive) in list {
            any |= positive;
            let v = &vectors[row as usize * d..(row as usize + 1) * d];
            let extra = (c - 1.0) as f64;
            let target = if positive { c as f64 } else { 0.0 };
            for p in 0..d {
                let vp = v[p] as f64;
                self.b[p] += target * vp;
                let s = extra * vp;
                let row = &mut self.a[p * d + p..(p + 1) * d];
                for (a, &vq) in row.iter_mut().zip(&v[p..]) {
                    *a += s * vq as f64;
                }
            }
        }
        if !any {
            out.iter_mut().for_each(|x| *x = 0.0);
            return;
        }
        for p in 0..d {
            for q in 0..p {
                self.a[p * d + q] = self.a[q * d + p];
            }
        }
        cholesky_solve(&mut self.a, &mut self.b, d);
        for (o, &b) in out.iter_mut().zip(&self.b) {
            *o = b as f32;
        }
    }
}

/// Solves A x = b in place (x into `b`) for symmetric positive definite A,
/// overwriting A with its Cholesky factor. A pivot that rounding pushed to
/// zero or below is floored, so the solve never yields NaN.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], d: usize) {
    for j in 0..d {
        let mut s = a[j * d + j];
        for k in 0..j {
            s -= a[j * d + k] * a[j * d + k];
        }
        let l = s.max(1e-12).sqrt();
        a[j * d + j] = l;
        for i in j + 1..d {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= a[i * d + k] * a[j * d + k];
            }
            a[i * d + j] = s / l;
        }
    }
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * d + k] * b[k];
        }
        b[i] = s / a[i * d + i];
    }
    for i in (0..d).rev() {
        let mut s = b[i];
        for k in i + 1..d {
            s -= a[k * d + i] * b[k];
        }
        b[i] = s / a[i * d + i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spd_inverse_inverts() {
        let a = vec![4.0, 2.0, 0.5, 2.0, 3.0, 0.25, 0.5, 0.25, 2.0];
        let inv = spd_inverse(a.clone(), 3);
        for i in 0..3 {
            for j in 0..3 {
                let x: f64 = (0..3).map(|k| a[i * 3 + k] * inv[k * 3 + j]).sum();
                assert!((x - (i == j) as u8 as f64).abs() < 1e-12, "{i},{j}: {x}");
            }
        }
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], x = [1, -2] → b = [0, -4].
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let mut b = vec![0.0, -4.0];
        cholesky_solve(&mut a, &mut b, 2);
        assert!((b[0] - 1.0).abs() < 1e-12 && (b[1] + 2.0).abs() < 1e-12);
    }

    /// Two groups of users, each loving its own half of the clips: after a
    /// fit, a user folded in from one clip of a group scores that group's
    /// other clips above the other group's.
    /// Two groups of users, each loving its own half of eight clips.
    fn two_tastes() -> (BatchInput, BatchModel) {
        let dim = 4;
        let rows = 8;
        let users: Vec<Vec<(u32, f32)>> = (0..40)
            .map(|u| {
                let base = if u % 2 == 0 { 0 } else { 4 };
                (0..4)
                    .filter(|i| (u / 2 + i) % 4 != 0)
                    .map(|i| (base + i, 1.0))
                    .collect()
            })
            .collect();
        let mut factors = vec![0f32; rows * dim];
        for (i, f) in factors.iter_mut().enumerate() {
            *f = ((i * 7919) % 13) as f32 / 13.0 - 0.5;
        }
        let input = BatchInput {
            events: 0,
            dim,
            factors,
            live: vec![true; rows],
            users,
        };
        let cfg = BatchModel {
            regularization: 0.5,
            alpha: 5.0,
            iterations: 10,
            max_users: 1000,
            refresh_every: 1,
            head_size: 100,
            head_neighbours: 3,
            head_lambda: 1.0,
        };
        (input, cfg)
    }

    #[test]
    fn fit_separates_two_tastes_and_fold_in_uses_them() {
        let (input, cfg) = two_tastes();
        let (dim, rows) = (input.dim, input.live.len());
        let fit = fit(&input, &cfg);
        assert!(fit.fitted.iter().all(|&f| f));
        // EASE keeps each clip's neighbours within its own group.
        assert_eq!(fit.neighbours.len(), rows);
        for (row, list) in &fit.neighbours {
            assert!(
                list.iter().all(|(j, _)| (j / 4) == (row / 4)),
                "{row}: {list:?}"
            );
        }
        let mut x = vec![0f32; dim];
        fold_in(
            &cfg,
            &fit.gram,
            &fit.factors,
            dim,
            [(0u32, 1.0f32)].into_iter(),
            &[],
            &mut x,
        );
        let score = |r: usize| crate::scan::dot_f32(&x, &fit.factors[r * dim..(r + 1) * dim]);
        let same = (1..4).map(score).fold(f32::INFINITY, f32::min);
        let other = (4..8).map(score).fold(f32::NEG_INFINITY, f32::max);
        assert!(same > other, "same group {same} vs other {other}");
    }

    /// A refit asked to stop gives up at its next check, with nothing to
    /// apply; one never asked is the plain fit.
    #[test]
    fn a_fit_asked_to_stop_gives_up() {
        let (input, cfg) = two_tastes();
        let checks = std::cell::Cell::new(0);
        let stop_at_third = || {
            checks.set(checks.get() + 1);
            checks.get() >= 3
        };
        assert!(fit_unless(&input, &cfg, &stop_at_third).is_none());
        assert_eq!(checks.get(), 3, "gave up at the check that said stop");
        let whole = fit_unless(&input, &cfg, &|| false).expect("not asked to stop");
        assert_eq!(whole.factors, fit(&input, &cfg).factors);
    }
}
