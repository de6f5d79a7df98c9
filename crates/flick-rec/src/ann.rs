//! Approximate nearest clips: an inverted-file index (IVF) over the clips'
//! vectors. k-means centroids split the vector space into lists, each clip
//! is filed in the list of its nearest centroid, and a query scans only the
//! clips of the lists whose centroids score highest against it — with the
//! same exact i8 dot products as the full scan, so what it finds is ranked
//! exactly; what it can miss is a clip filed in a list it did not probe.
//!
//! Why IVF rather than a graph index (HNSW): every batch refit moves nearly
//! every clip's vector. A clip is re-filed in O(lists · dim), and the whole
//! index is rebuilt in one pass off the request path after each refit
//! ([`crate::Recommender::ann_input`], [`Ivf::build`],
//! [`crate::Recommender::install_ann`]); a graph would have to be rebuilt
//! edge by edge. It costs 8 bytes per clip (its list and place in it) plus
//! 4 in the list, and the centroids (√n of them).
//!
//! Inner products favour long vectors, and a long vector's nearest centroid
//! by distance is often one that scores low against the query: those were
//! the clips a probe missed. So the longest `long_share` of the vectors are
//! kept in one more list that every query scans.

use crate::Rng;

const NOT_FILED: u32 = u32::MAX;
/// Vectors k-means learns the centroids from (a uniform sample), per list.
const SAMPLE_PER_LIST: usize = 64;
const ITERATIONS: usize = 8;

/// Lists for a catalogue of `clips`: about √clips, so a list holds about
/// √clips clips and a probe of `p` lists reads p·√clips of them.
pub fn lists_for(clips: usize) -> usize {
    ((clips as f64).sqrt().round() as usize).clamp(1, 8_192)
}

/// Built only by [`Ivf::build`] (no `Default`: an index with a zero
/// `long_norm` would file every clip in the long list).
#[derive(Debug, Clone)]
pub struct Ivf {
    dim: usize,
    centroids: Vec<f32>,
    /// |c|² per centroid: nearest = argmin |c|² − 2 c·v.
    norms: Vec<f32>,
    /// One list per centroid, then the long list: clips whose vectors are
    /// longer than `long_norm`, scanned by every query.
    lists: Vec<Vec<u32>>,
    /// |v|² from which a clip goes to the long list (∞: none does).
    long_norm: f32,
    /// Row → (list, position in it); `NOT_FILED` when the row is not filed.
    slot: Vec<(u32, u32)>,
}

/// What a build reads: a copy of the vectors, so it can run while the model
/// goes on learning.
#[derive(Debug, Clone)]
pub struct AnnInput {
    pub dim: usize,
    pub vectors: Vec<f32>,
    /// Rows to file (live clips with a vector).
    pub rows: Vec<u32>,
    pub seed: u64,
    /// Share of the rows, the longest vectors, kept in the long list that
    /// every query scans (see [`Ivf::probe`]).
    pub long_share: f32,
}

/// Eight partial sums, so the loop vectorises.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + ra.iter().zip(rb).map(|(x, y)| x * y).sum::<f32>()
}

impl Ivf {
    /// [`Ivf::build_with`] with [`lists_for`] the input's rows: what the
    /// model and the server build.
    pub fn build(input: &AnnInput) -> Ivf {
        Self::build_with(input, lists_for(input.rows.len()))
    }

    /// Learns `lists` centroids by k-means on a sample of the rows, then
    /// files every row. Deterministic for its input.
    pub fn build_with(input: &AnnInput, lists: usize) -> Ivf {
        let dim = input.dim;
        let v = |r: u32| &input.vectors[r as usize * dim..(r as usize + 1) * dim];
        let mut ivf = Ivf {
            dim,
            centroids: Vec::new(),
            norms: Vec::new(),
            lists: Vec::new(),
            long_norm: f32::INFINITY,
            slot: Vec::new(),
        };
        if input.rows.is_empty() || dim == 0 {
            return ivf;
        }
        let mut rng = Rng::new(input.seed);
        let wanted = lists.max(1) * SAMPLE_PER_LIST;
        let sample: Vec<u32> = if input.rows.len() <= wanted {
            input.rows.clone()
        } else {
            (0..wanted)
                .map(|_| input.rows[rng.below(input.rows.len() as u64) as usize])
                .collect()
        };
        let k = lists.clamp(1, sample.len());
        // Seeds: k distinct sample rows (a partial shuffle).
        let mut order = sample.clone();
        for i in 0..k {
            let j = i + rng.below((order.len() - i) as u64) as usize;
            order.swap(i, j);
        }
        ivf.centroids = order[..k].iter().flat_map(|&r| v(r).to_vec()).collect();
        ivf.update_norms();
        for _ in 0..ITERATIONS {
            let mut sums = vec![0f32; k * dim];
            let mut counts = vec![0u32; k];
            for &r in &sample {
                let c = ivf.nearest(v(r)) as usize;
                counts[c] += 1;
                sums[c * dim..(c + 1) * dim]
                    .iter_mut()
                    .zip(v(r))
                    .for_each(|(s, x)| *s += x);
            }
            for c in 0..k {
                let centroid = &mut ivf.centroids[c * dim..(c + 1) * dim];
                if counts[c] > 0 {
                    for (x, s) in centroid.iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                        *x = s / counts[c] as f32;
                    }
                } else {
                    // An empty list takes a random sample vector instead.
                    let r = sample[rng.below(sample.len() as u64) as usize];
                    centroid.copy_from_slice(v(r));
                }
            }
            ivf.update_norms();
        }
        // The longest vectors win inner products against most queries, but
        // their nearest centroid (by distance) often scores low against the
        // query: they are what a probe of the best lists misses. So they
        // are kept apart and scanned always.
        let long = (input.rows.len() as f64 * input.long_share.clamp(0.0, 1.0) as f64) as usize;
        if long > 0 {
            let mut norms: Vec<f32> = input.rows.iter().map(|&r| dot(v(r), v(r))).collect();
            let at = norms.len() - long;
            norms.select_nth_unstable_by(at, |a, b| a.total_cmp(b));
            ivf.long_norm = norms[at];
        }
        ivf.lists = vec![Vec::new(); k + 1];
        for &r in &input.rows {
            ivf.file(r, v(r));
        }
        ivf
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Lists with a centroid (the long list not counted).
    pub fn list_count(&self) -> usize {
        self.lists.len().saturating_sub(1)
    }

    fn update_norms(&mut self) {
        self.norms = self
            .centroids
            .chunks_exact(self.dim)
            .map(|c| dot(c, c))
            .collect();
    }

    /// The centroid nearest to `v` (squared Euclidean distance, less the
    /// |v|² every centroid shares).
    fn nearest(&self, v: &[f32]) -> u32 {
        let mut best = (f32::INFINITY, 0u32);
        for (c, centroid) in self.centroids.chunks_exact(self.dim).enumerate() {
            let d = self.norms[c] - 2.0 * dot(centroid, v);
            if d < best.0 {
                best = (d, c as u32);
            }
        }
        best.1
    }

    /// Files (or re-files) `row` with vector `v`.
    pub fn file(&mut self, row: u32, v: &[f32]) {
        if self.lists.is_empty() {
            return;
        }
        let list = if dot(v, v) >= self.long_norm {
            self.list_count() as u32
        } else {
            self.nearest(v)
        };
        if self.slot.get(row as usize).is_some_and(|s| s.0 == list) {
            return;
        }
        self.remove(row);
        if self.slot.len() <= row as usize {
            self.slot.resize(row as usize + 1, (NOT_FILED, 0));
        }
        let l = &mut self.lists[list as usize];
        self.slot[row as usize] = (list, l.len() as u32);
        l.push(row);
    }

    /// Takes `row` out of the index (a removed clip).
    pub fn remove(&mut self, row: u32) {
        let Some(&(list, pos)) = self.slot.get(row as usize) else {
            return;
        };
        if list == NOT_FILED {
            return;
        }
        let l = &mut self.lists[list as usize];
        l.swap_remove(pos as usize);
        if let Some(&moved) = l.get(pos as usize) {
            self.slot[moved as usize].1 = pos;
        }
        self.slot[row as usize] = (NOT_FILED, 0);
    }

    /// The rows of the long list and of the `probe` lists whose centroids
    /// have the highest inner product with `q` (the ranking's own measure).
    pub fn probe<'a>(&'a self, q: &[f32], probe: usize) -> impl Iterator<Item = u32> + 'a {
        let mut scored: Vec<(f32, u32)> = self
            .centroids
            .chunks_exact(self.dim.max(1))
            .enumerate()
            .map(|(c, centroid)| (dot(centroid, q), c as u32))
            .collect();
        let probe = probe.min(scored.len());
        if probe > 0 && probe < scored.len() {
            scored.select_nth_unstable_by(probe - 1, |a, b| b.0.total_cmp(&a.0));
        }
        scored.truncate(probe);
        let long = self.list_count() as u32;
        scored
            .into_iter()
            .map(|(_, c)| c)
            .chain((!self.lists.is_empty()).then_some(long))
            .flat_map(move |c| self.lists[c as usize].iter().copied())
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        (self.centroids.capacity() + self.norms.capacity()) * 4
            + self.slot.capacity() * 8
            + self
                .lists
                .iter()
                .map(|l| l.capacity() * 4 + std::mem::size_of::<Vec<u32>>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(n: usize, dim: usize, seed: u64) -> AnnInput {
        let mut rng = Rng::new(seed);
        // Clustered, as clip vectors are: 20 topics, noise around each.
        let topics: Vec<f32> = (0..20 * dim).map(|_| rng.normal() as f32).collect();
        let vectors = (0..n)
            .flat_map(|i| {
                let t = i % 20;
                (0..dim)
                    .map(|d| topics[t * dim + d] + 0.5 * rng.normal() as f32)
                    .collect::<Vec<_>>()
            })
            .collect();
        AnnInput {
            dim,
            vectors,
            rows: (0..n as u32).collect(),
            seed,
            long_share: 0.02,
        }
    }

    /// The longest vectors are in the list every probe scans, whatever
    /// the query, and a clip whose vector grows long moves there.
    #[test]
    fn the_longest_vectors_are_scanned_by_every_probe() {
        let mut inp = input(3_000, 8, 3);
        let dim = inp.dim;
        let norm = |v: &[f32], r: u32| {
            dot(
                &v[r as usize * dim..(r as usize + 1) * dim],
                &v[r as usize * dim..(r as usize + 1) * dim],
            )
        };
        let mut by_norm: Vec<u32> = inp.rows.clone();
        by_norm.sort_by(|&a, &b| norm(&inp.vectors, b).total_cmp(&norm(&inp.vectors, a)));
        let longest = &by_norm[..50];
        let mut ivf = Ivf::build(&inp);
        let q = vec![1.0f32; dim];
        let scanned: std::collections::HashSet<u32> = ivf.probe(&q, 0).collect();
        assert!(
            longest.iter().all(|r| scanned.contains(r)),
            "2 % of 3,000: the 60 longest"
        );
        // A short vector made long is re-filed into the long list.
        let short = by_norm[2_999];
        let grown: Vec<f32> = inp.vectors[short as usize * dim..(short as usize + 1) * dim]
            .iter()
            .map(|x| x * 1_000.0 + 1.0)
            .collect();
        inp.vectors[short as usize * dim..(short as usize + 1) * dim].copy_from_slice(&grown);
        ivf.file(short, &grown);
        assert!(ivf.probe(&q, 0).any(|r| r == short));
    }

    #[test]
    fn every_row_is_filed_once_and_removal_keeps_places_right() {
        let inp = input(3_000, 8, 1);
        let mut ivf = Ivf::build(&inp);
        let mut all: Vec<u32> = ivf.probe(&[0.0; 8], usize::MAX).collect();
        all.sort_unstable();
        assert_eq!(all, (0..3_000).collect::<Vec<u32>>());
        for r in (0..3_000).step_by(3) {
            ivf.remove(r);
        }
        // Re-filing moves rows between lists; each stays findable once.
        for r in (1..3_000).step_by(3) {
            ivf.file(r, &inp.vectors[..8]);
        }
        let mut left: Vec<u32> = ivf.probe(&[0.0; 8], usize::MAX).collect();
        left.sort_unstable();
        let expected: Vec<u32> = (0..3_000).filter(|r| r % 3 != 0).collect();
        assert_eq!(left, expected);
        for (l, list) in ivf.lists.iter().enumerate() {
            for (p, &r) in list.iter().enumerate() {
                assert_eq!(ivf.slot[r as usize], (l as u32, p as u32));
            }
        }
    }

    #[test]
    fn probing_a_few_lists_finds_most_of_the_exact_top() {
        let (n, dim) = (20_000, 16);
        let inp = input(n, dim, 2);
        let ivf = Ivf::build(&inp);
        let mut rng = Rng::new(3);
        let mut found = 0;
        let queries = 20;
        for _ in 0..queries {
            let q: Vec<f32> = (0..dim).map(|_| rng.normal() as f32).collect();
            let score = |r: u32| dot(&q, &inp.vectors[r as usize * dim..(r as usize + 1) * dim]);
            let mut exact: Vec<u32> = (0..n as u32).collect();
            exact.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
            exact.truncate(100);
            let mut approx: Vec<u32> = ivf.probe(&q, ivf.list_count() / 8).collect();
            approx.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
            approx.truncate(100);
            found += exact.iter().filter(|r| approx.contains(r)).count();
        }
        let recall = found as f64 / (queries * 100) as f64;
        assert!(recall >= 0.9, "recall@100 {recall:.3}");
    }
}
