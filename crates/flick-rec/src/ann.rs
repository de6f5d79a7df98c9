//! Where the clips' quantised vectors live, and how a page finds the
//! nearest ones: an inverted-file index (IVF). k-means centroids split the
//! vector space into lists, each clip is filed in the list of its nearest
//! centroid, and a query scans only the lists whose centroids score highest
//! against it, with exact i8 dot products: what it finds is ranked exactly;
//! what it can miss is a clip filed in a list it did not probe.
//!
//! Each list holds its clips' i8 codes and scales next to their rows, so a
//! probed list is read front to back. Scattered reads by row cost a cache
//! (and TLB) miss per clip: at 10M clips that, not arithmetic, was the
//! price of a page. The codes live here only, in one place: a small
//! catalogue has a *flat* index (no centroids, every clip in the list each
//! query scans), which is the exact scan.
//!
//! Why IVF rather than a graph index (HNSW): every batch refit moves nearly
//! every clip's vector. A clip is re-filed in O(lists · dim), and the whole
//! index is rebuilt in one pass off the request path after each refit
//! ([`crate::Recommender::ann_input`], [`Ivf::build`],
//! [`crate::Recommender::install_ann`]); a graph would have to be rebuilt
//! edge by edge. Per clip it costs its code and scale (as the flat scan
//! does), 8 bytes of place and 4 of row; then √n centroids.
//!
//! A page probes a fixed number of lists of about √n clips, so it reads
//! O(√n) clips, not a share of the catalogue. Inner products favour long
//! vectors, and a long vector's nearest centroid by distance is often one
//! that scores low against the query: those were the clips a probe missed.
//! So a fixed number of the longest vectors are kept in one more list
//! that every query scans.

use crate::scan;
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

/// One list: its clips' rows, and their codes (`dim` each) and scales in
/// the same order.
#[derive(Debug, Clone, Default)]
struct List {
    rows: Vec<u32>,
    codes: Vec<i8>,
    scales: Vec<f32>,
}

impl List {
    fn heap_bytes(&self) -> usize {
        self.rows.capacity() * 4
            + self.codes.capacity()
            + self.scales.capacity() * 4
            + std::mem::size_of::<List>()
    }
}

/// Built by [`Ivf::flat`] or [`Ivf::build`] only (no `Default`: an index
/// with a zero `long_norm` would file every clip in the long list).
#[derive(Debug, Clone)]
pub struct Ivf {
    dim: usize,
    centroids: Vec<f32>,
    /// |c|² per centroid: nearest = argmin |c|² − 2 c·v.
    norms: Vec<f32>,
    /// One list per centroid, then the long list: the longest vectors,
    /// scanned by every query.
    lists: Vec<List>,
    /// |v|² above which a clip filed later goes to the long list (−∞ in a
    /// flat index: every clip does; ∞: none does).
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
    /// Rows to file (the live clips).
    pub rows: Vec<u32>,
    pub seed: u64,
    /// How many rows, the longest vectors, go to the long list that every
    /// query scans (see [`Ivf::scan`]).
    pub long_clips: usize,
}

use scan::dot_f32 as dot;

/// Lists are not split below this many clips.
const MIN_SPLIT: usize = 256;

/// `k` centroids (row-major) learnt by k-means from a sample of `rows`
/// (`SAMPLE_PER_LIST` per centroid), seeded with distinct sample rows.
fn kmeans<'a>(
    v: &impl Fn(u32) -> &'a [f32],
    rows: &[u32],
    k: usize,
    dim: usize,
    rng: &mut Rng,
) -> Vec<f32> {
    if rows.is_empty() {
        return Vec::new();
    }
    let wanted = k.max(1) * SAMPLE_PER_LIST;
    let sample: Vec<u32> = if rows.len() <= wanted {
        rows.to_vec()
    } else {
        (0..wanted)
            .map(|_| rows[rng.below(rows.len() as u64) as usize])
            .collect()
    };
    let k = k.clamp(1, sample.len());
    // Seeds: k distinct sample rows (a partial shuffle).
    let mut order = sample.clone();
    for i in 0..k {
        let j = i + rng.below((order.len() - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut centroids: Vec<f32> = order[..k].iter().flat_map(|&r| v(r).to_vec()).collect();
    for _ in 0..ITERATIONS {
        let norms = norms_of(&centroids, dim);
        let mut sums = vec![0f32; k * dim];
        let mut counts = vec![0u32; k];
        for &r in &sample {
            let c = nearest_of(&centroids, &norms, dim, v(r)) as usize;
            counts[c] += 1;
            sums[c * dim..(c + 1) * dim]
                .iter_mut()
                .zip(v(r))
                .for_each(|(s, x)| *s += x);
        }
        for c in 0..k {
            let centroid = &mut centroids[c * dim..(c + 1) * dim];
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
    }
    centroids
}

/// `rows` grouped by their nearest of `centroids`.
fn assign<'a>(
    v: &impl Fn(u32) -> &'a [f32],
    rows: &[u32],
    centroids: &[f32],
    dim: usize,
) -> Vec<Vec<u32>> {
    let norms = norms_of(centroids, dim);
    let mut groups = vec![Vec::new(); norms.len()];
    for &r in rows {
        groups[nearest_of(centroids, &norms, dim, v(r)) as usize].push(r);
    }
    groups
}

fn norms_of(centroids: &[f32], dim: usize) -> Vec<f32> {
    centroids.chunks_exact(dim).map(|c| dot(c, c)).collect()
}

/// The centroid nearest to `v` (squared Euclidean distance, less the |v|²
/// every centroid shares).
fn nearest_of(centroids: &[f32], norms: &[f32], dim: usize, v: &[f32]) -> u32 {
    let mut best = (f32::INFINITY, 0u32);
    for (c, centroid) in centroids.chunks_exact(dim).enumerate() {
        let d = norms[c] - 2.0 * dot(centroid, v);
        if d < best.0 {
            best = (d, c as u32);
        }
    }
    best.1
}

impl Ivf {
    /// An index without centroids: every clip filed goes to the one list
    /// each query scans, so a query is the exact scan.
    pub fn flat(dim: usize) -> Ivf {
        Ivf {
            dim,
            centroids: Vec::new(),
            norms: Vec::new(),
            lists: vec![List::default()],
            long_norm: f32::NEG_INFINITY,
            slot: Vec::new(),
        }
    }

    /// [`Ivf::build_with`] with [`lists_for`] the input's rows: what the
    /// model and the server build.
    pub fn build(input: &AnnInput) -> Ivf {
        Self::build_with(input, lists_for(input.rows.len()))
    }

    /// Learns `lists` centroids by k-means on a sample of the rows, files
    /// every row, then splits lists far above the mean size. Deterministic
    /// for its input.
    pub fn build_with(input: &AnnInput, lists: usize) -> Ivf {
        let dim = input.dim;
        let v = |r: u32| &input.vectors[r as usize * dim..(r as usize + 1) * dim];
        let mut ivf = Ivf::flat(dim);
        if input.rows.is_empty() || dim == 0 {
            // Built, though empty: not flat, or the model would ask for
            // a build again at every check.
            ivf.long_norm = f32::INFINITY;
            return ivf;
        }
        let mut rng = Rng::new(input.seed);
        // The longest vectors win inner products against most queries, but
        // their nearest centroid (by distance) often scores low against the
        // query: they are what a probe of the best lists misses. So they
        // are kept apart and scanned always.
        // At most `long_clips` of them, however many tie at the threshold
        // (a catalogue whose vectors are all equal, or all zero, would
        // otherwise file every clip in the list each page scans); the rest
        // are filed by distance. A zero vector is never long.
        let mut by_length: Vec<(f32, u32)> =
            input.rows.iter().map(|&r| (dot(v(r), v(r)), r)).collect();
        let long = input.long_clips.min(by_length.len());
        if long > 0 && long < by_length.len() {
            by_length
                .select_nth_unstable_by(long - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        let mut long_rows: Vec<u32> = by_length[..long]
            .iter()
            .filter(|&&(n, _)| n > 0.0)
            .map(|&(_, r)| r)
            .collect();
        // Filing later (a clip whose vector moved) takes it to the long
        // list only if it is strictly longer than the shortest kept there.
        let long_norm = by_length[..long]
            .iter()
            .map(|&(n, _)| n)
            .filter(|&n| n > 0.0)
            .min_by(f32::total_cmp)
            .unwrap_or(f32::INFINITY);
        long_rows.sort_unstable();
        let rest: Vec<u32> = input
            .rows
            .iter()
            .copied()
            .filter(|r| long_rows.binary_search(r).is_err())
            .collect();
        drop(by_length);
        let mut centroids = kmeans(&v, &rest, lists, dim, &mut rng);
        let mut groups = assign(&v, &rest, &centroids, dim);
        // Many clips can share one vector, or nearly (a new clip starts at
        // its creator's and hashtags' mean): k-means gives them one list,
        // and a page probing it would score them all. A list over twice
        // the mean size is split by k-means of its own, and what is still
        // too long (equal vectors) cut in pieces under the same centroid:
        // clips with equal vectors score equal, so any piece will do.
        let cap = (2 * rest.len() / groups.len().max(1)).max(MIN_SPLIT);
        for g in 0..groups.len() {
            if groups[g].len() <= cap {
                continue;
            }
            let members = std::mem::take(&mut groups[g]);
            let parts = members.len().div_ceil(cap);
            // Equal vectors (all zero, before any fit) need no k-means.
            let first = v(members[0]);
            let (sub, split) = if members.iter().all(|&r| v(r) == first) {
                (first.to_vec(), vec![members])
            } else {
                let sub = kmeans(&v, &members, parts, dim, &mut rng);
                let split = assign(&v, &members, &sub, dim);
                (sub, split)
            };
            for (i, mut part) in split.into_iter().enumerate() {
                let centroid = &sub[i * dim..(i + 1) * dim];
                while !part.is_empty() {
                    let piece: Vec<u32> = part.drain(..part.len().min(cap)).collect();
                    if groups[g].is_empty() {
                        centroids[g * dim..(g + 1) * dim].copy_from_slice(centroid);
                        groups[g] = piece;
                    } else {
                        centroids.extend_from_slice(centroid);
                        groups.push(piece);
                    }
                }
            }
        }
        // Empty lists (k-means seeds nothing came nearest to) would only
        // take the places of full ones in a probe.
        let kept: Vec<usize> = (0..groups.len())
            .filter(|&g| !groups[g].is_empty())
            .collect();
        ivf.centroids = kept
            .iter()
            .flat_map(|&g| centroids[g * dim..(g + 1) * dim].to_vec())
            .collect();
        let mut groups: Vec<Vec<u32>> = kept
            .into_iter()
            .map(|g| std::mem::take(&mut groups[g]))
            .collect();
        ivf.update_norms();
        ivf.long_norm = long_norm;
        groups.push(std::mem::take(&mut long_rows));
        ivf.lists = groups
            .iter()
            .map(|rows| List {
                rows: Vec::with_capacity(rows.len()),
                codes: Vec::with_capacity(rows.len() * dim),
                scales: Vec::with_capacity(rows.len()),
            })
            .collect();
        ivf.slot = vec![(NOT_FILED, 0); input.rows.iter().max().map_or(0, |&m| m as usize + 1)];
        for (list, rows) in groups.iter().enumerate() {
            for &r in rows {
                ivf.push(r, list as u32, v(r));
            }
        }
        ivf
    }

    /// Gives back capacity beyond what the lists hold: lists grown by
    /// doubling hold up to twice their clips' bytes.
    pub fn shrink_to_fit(&mut self) {
        for l in &mut self.lists {
            l.rows.shrink_to_fit();
            l.codes.shrink_to_fit();
            l.scales.shrink_to_fit();
        }
        self.slot.shrink_to_fit();
    }

    /// Whether this is a flat index ([`Ivf::flat`]): every clip filed is
    /// in the one list every query scans.
    pub fn is_flat(&self) -> bool {
        self.long_norm == f32::NEG_INFINITY
    }

    /// Lists with a centroid (the long list not counted).
    pub fn list_count(&self) -> usize {
        self.lists.len() - 1
    }

    /// Clips filed.
    pub fn len(&self) -> usize {
        self.lists.iter().map(|l| l.rows.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.iter().all(|l| l.rows.is_empty())
    }

    fn update_norms(&mut self) {
        self.norms = norms_of(&self.centroids, self.dim);
    }

    fn nearest(&self, v: &[f32]) -> u32 {
        nearest_of(&self.centroids, &self.norms, self.dim, v)
    }

    /// Files (or re-files) `row` with vector `v`: its code is quantised
    /// from `v` into the list of its nearest centroid.
    pub fn file(&mut self, row: u32, v: &[f32]) {
        let dim = self.dim;
        let list = if self.is_flat() || dot(v, v) > self.long_norm {
            self.list_count() as u32
        } else {
            self.nearest(v)
        };
        match self.slot.get(row as usize).copied() {
            Some((old, pos)) if old == list => {
                let (l, pos) = (&mut self.lists[list as usize], pos as usize);
                l.scales[pos] = scan::quantize(v, &mut l.codes[pos * dim..(pos + 1) * dim]);
            }
            _ => {
                self.remove(row);
                self.push(row, list, v);
            }
        }
    }

    /// Appends unfiled `row` to `list`, with its code quantised from `v`.
    fn push(&mut self, row: u32, list: u32, v: &[f32]) {
        let dim = self.dim;
        if self.slot.len() <= row as usize {
            self.slot.resize(row as usize + 1, (NOT_FILED, 0));
        }
        let l = &mut self.lists[list as usize];
        self.slot[row as usize] = (list, l.rows.len() as u32);
        l.rows.push(row);
        l.codes.resize(l.codes.len() + dim, 0);
        let at = l.codes.len() - dim;
        l.scales.push(scan::quantize(v, &mut l.codes[at..]));
    }

    /// Takes `row` out of the index (a removed clip).
    pub fn remove(&mut self, row: u32) {
        let Some(&(list, pos)) = self.slot.get(row as usize) else {
            return;
        };
        if list == NOT_FILED {
            return;
        }
        let dim = self.dim;
        let (pos, l) = (pos as usize, &mut self.lists[list as usize]);
        let last = l.rows.len() - 1;
        l.rows.swap_remove(pos);
        l.scales.swap_remove(pos);
        if pos != last {
            l.codes.copy_within(last * dim..(last + 1) * dim, pos * dim);
            self.slot[l.rows[pos] as usize].1 = pos as u32;
        }
        l.codes.truncate(last * dim);
        self.slot[row as usize] = (NOT_FILED, 0);
    }

    /// `row`'s code and scale, if it is filed.
    pub fn code(&self, row: u32) -> Option<(&[i8], f32)> {
        let &(list, pos) = self.slot.get(row as usize)?;
        if list == NOT_FILED {
            return None;
        }
        let (l, pos) = (&self.lists[list as usize], pos as usize);
        Some((
            &l.codes[pos * self.dim..(pos + 1) * self.dim],
            l.scales[pos],
        ))
    }

    /// Scores the clips of the long list and of the `probe` lists whose
    /// centroids have the highest inner product with `q` (the ranking's
    /// own measure; `usize::MAX` scans every clip): `sink(row, q·v)`, with
    /// `q8` the query quantised (its own scale left out, as every clip
    /// shares it). Returns how many clips it scored.
    pub fn scan(
        &self,
        q: &[f32],
        q8: &[i8],
        probe: usize,
        sink: &mut dyn FnMut(u32, f32),
    ) -> usize {
        if self.dim == 0 {
            return 0;
        }
        let mut scored: Vec<(f32, u32)> = self
            .centroids
            .chunks_exact(self.dim.max(1))
            .enumerate()
            .map(|(c, centroid)| (dot(centroid, q), c as u32))
            .collect();
        let probe = probe.min(scored.len());
        if probe > 0 && probe < scored.len() {
            // Ties (pieces of a split list share a centroid) go to the lower
            // list, so which lists a page probes is a function of the index.
            scored
                .select_nth_unstable_by(probe - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        }
        scored.truncate(probe);
        let long = self.list_count() as u32;
        let mut scanned = 0;
        for c in scored.into_iter().map(|(_, c)| c).chain([long]) {
            let l = &self.lists[c as usize];
            scan::scan(q8, &l.codes, self.dim, &mut |i, d| {
                sink(l.rows[i as usize], d as f32 * l.scales[i as usize])
            });
            scanned += l.rows.len();
        }
        scanned
    }

    /// Clips per list with a centroid, and in the long list.
    pub fn list_sizes(&self) -> (Vec<usize>, usize) {
        let (long, lists) = self.lists.split_last().expect("the long list");
        (
            lists.iter().map(|l| l.rows.len()).collect(),
            long.rows.len(),
        )
    }

    /// A copy with the same lists, the codes of `rows` quantised afresh
    /// from `vectors` (row-major): a refit's new vectors, scanned as soon
    /// as it is installed; re-clustering them comes after.
    pub fn requantised(&self, rows: &[u32], vectors: &[f32]) -> Ivf {
        let dim = self.dim;
        let mut ivf = self.clone();
        for &r in rows {
            let Some(&(list, pos)) = ivf.slot.get(r as usize) else {
                continue;
            };
            if list == NOT_FILED {
                continue;
            }
            let (l, pos) = (&mut ivf.lists[list as usize], pos as usize);
            let v = &vectors[r as usize * dim..(r as usize + 1) * dim];
            l.scales[pos] = scan::quantize(v, &mut l.codes[pos * dim..(pos + 1) * dim]);
        }
        ivf
    }

    /// Heap bytes.
    pub fn heap_bytes(&self) -> usize {
        (self.centroids.capacity() + self.norms.capacity()) * 4
            + self.slot.capacity() * 8
            + self.lists.iter().map(List::heap_bytes).sum::<usize>()
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
            long_clips: n / 50,
        }
    }

    fn scanned(ivf: &Ivf, q: &[f32], probe: usize) -> Vec<(u32, f32)> {
        let mut q8 = vec![0i8; q.len()];
        scan::quantize(q, &mut q8);
        let mut out = Vec::new();
        ivf.scan(q, &q8, probe, &mut |r, s| out.push((r, s)));
        out
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
        let longest = &by_norm[..60];
        let mut ivf = Ivf::build(&inp);
        let q = vec![1.0f32; dim];
        let found: std::collections::HashSet<u32> =
            scanned(&ivf, &q, 0).into_iter().map(|(r, _)| r).collect();
        assert!(
            longest.iter().all(|r| found.contains(r)),
            "60 long clips asked for: the 60 longest"
        );
        // A short vector made long is re-filed into the long list.
        let short = by_norm[2_999];
        let grown: Vec<f32> = inp.vectors[short as usize * dim..(short as usize + 1) * dim]
            .iter()
            .map(|x| x * 1_000.0 + 1.0)
            .collect();
        inp.vectors[short as usize * dim..(short as usize + 1) * dim].copy_from_slice(&grown);
        ivf.file(short, &grown);
        assert!(scanned(&ivf, &q, 0).iter().any(|&(r, _)| r == short));
    }

    /// Filing, re-filing and removal keep every row in one place, with
    /// its own code: the index's scores are the exact ones.
    #[test]
    fn every_row_is_filed_once_with_its_own_code() {
        let mut inp = input(3_000, 8, 1);
        let dim = inp.dim;
        let mut ivf = Ivf::build(&inp);
        let mut all: Vec<u32> = scanned(&ivf, &[0.0; 8], usize::MAX)
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..3_000).collect::<Vec<u32>>());
        for r in (0..3_000).step_by(3) {
            ivf.remove(r);
        }
        // Re-filing moves rows between lists; each stays findable once.
        let first = inp.vectors[..8].to_vec();
        for r in (1..3_000).step_by(3) {
            ivf.file(r, &first);
            inp.vectors[r as usize * dim..(r as usize + 1) * dim].copy_from_slice(&first);
        }
        let q = [0.3, -1.0, 0.5, 2.0, 0.0, 1.0, -0.2, 0.7];
        let mut q8 = [0i8; 8];
        let q_scale = scan::quantize(&q, &mut q8);
        let mut left = scanned(&ivf, &q, usize::MAX);
        left.sort_unstable_by_key(|&(r, _)| r);
        let expected: Vec<u32> = (0..3_000).filter(|r| r % 3 != 0).collect();
        assert_eq!(left.iter().map(|&(r, _)| r).collect::<Vec<_>>(), expected);
        for (r, score) in left {
            let v = &inp.vectors[r as usize * dim..(r as usize + 1) * dim];
            let exact = dot(&q, v);
            // i8 codes: a few hundredths of |q|·|v| off at most.
            let bound = 0.03 * (dot(&q, &q) * dot(v, v)).sqrt();
            assert!(
                (score * q_scale - exact).abs() <= bound,
                "row {r}: {} against {exact}",
                score * q_scale
            );
            let (code, scale) = ivf.code(r).expect("filed");
            assert_eq!(score, scan::dot_i8(&q8, code) as f32 * scale);
        }
        assert!(ivf.code(0).is_none(), "removed");
        for (l, list) in ivf.lists.iter().enumerate() {
            assert_eq!(list.codes.len(), list.rows.len() * dim);
            for (p, &r) in list.rows.iter().enumerate() {
                assert_eq!(ivf.slot[r as usize], (l as u32, p as u32));
            }
        }
    }

    /// A flat index is the exact scan: one list, every clip, any probe.
    #[test]
    fn a_flat_index_scans_every_clip() {
        let inp = input(500, 8, 4);
        let mut ivf = Ivf::flat(8);
        for &r in &inp.rows {
            ivf.file(r, &inp.vectors[r as usize * 8..(r as usize + 1) * 8]);
        }
        assert!(ivf.is_flat());
        assert_eq!(scanned(&ivf, &[1.0; 8], 0).len(), 500);
        let again = ivf.requantised(&inp.rows, &inp.vectors);
        assert_eq!(
            scanned(&again, &[1.0; 8], 0),
            scanned(&ivf, &[1.0; 8], 0),
            "the same vectors quantise to the same codes"
        );
    }

    /// Clips sharing one vector (new clips start at their features' mean)
    /// do not make one list that every page probing it scores whole.
    #[test]
    fn no_list_is_far_above_the_mean_size() {
        let (n, dim) = (20_000, 8);
        let mut inp = input(n, dim, 5);
        // A quarter of the clips share one vector.
        let shared = inp.vectors[..dim].to_vec();
        for r in 0..n / 4 {
            inp.vectors[r * dim..(r + 1) * dim].copy_from_slice(&shared);
        }
        let ivf = Ivf::build(&inp);
        let (sizes, long) = ivf.list_sizes();
        let filed: usize = sizes.iter().sum::<usize>() + long;
        assert_eq!(filed, n, "every clip filed once");
        let cap = 2 * (n - long) / lists_for(n);
        let largest = sizes.iter().max().copied().unwrap_or(0);
        assert!(
            largest <= cap.max(MIN_SPLIT),
            "largest list {largest}, cap {cap}"
        );
        // Its pieces keep its centroid: a probe toward it finds them.
        let hits = scanned(&ivf, &shared, 4);
        assert!(hits.iter().filter(|&&(r, _)| (r as usize) < n / 4).count() >= 100);
    }

    /// Before a fit has learnt anything every vector can be zero: none is
    /// "long", and a page still scores a bounded number of them.
    #[test]
    fn zero_vectors_are_filed_in_bounded_lists() {
        let (n, dim) = (20_000, 8);
        let mut inp = input(n, dim, 6);
        inp.vectors.iter_mut().for_each(|x| *x = 0.0);
        let ivf = Ivf::build(&inp);
        let (sizes, long) = ivf.list_sizes();
        assert_eq!(long, 0);
        assert_eq!(sizes.iter().sum::<usize>(), n);
        let cap = (2 * n / lists_for(n)).max(MIN_SPLIT);
        assert!(sizes.iter().all(|&s| s <= cap), "{sizes:?}");
        assert!(scanned(&ivf, &[1.0; 8], 4).len() <= 4 * cap);
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
            let mut approx: Vec<u32> = scanned(&ivf, &q, ivf.list_count() / 8)
                .into_iter()
                .map(|(r, _)| r)
                .collect();
            approx.sort_by(|&a, &b| score(b).total_cmp(&score(a)));
            approx.truncate(100);
            found += exact.iter().filter(|r| approx.contains(r)).count();
        }
        let recall = found as f64 / (queries * 100) as f64;
        assert!(recall >= 0.9, "recall@100 {recall:.3}");
    }
}
