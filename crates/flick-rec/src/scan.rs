//! Exact nearest-neighbour scan over i8-quantised vectors, and a bounded
//! top-k. The inner loops are plain fixed-width loops so LLVM vectorises
//! them; on x86-64 an AVX2 copy is selected at run time (the default target
//! is SSE2 only).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Symmetric per-row quantisation: `q[i] = round(v[i] / scale)`, `|q| <= 127`.
pub fn quantize(v: &[f32], out: &mut [i8]) -> f32 {
    let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
    if max == 0.0 {
        out.iter_mut().for_each(|q| *q = 0);
        return 0.0;
    }
    let scale = max / 127.0;
    for (q, x) in out.iter_mut().zip(v) {
        *q = (x / scale).round().clamp(-127.0, 127.0) as i8;
    }
    scale
}

#[inline(always)]
fn dot_i8_generic(a: &[i8], b: &[i8]) -> i32 {
    // i16 products fit (127*127), i32 sums of dim<=65536 fit.
    let mut acc = [0i32; 16];
    let chunks = a.len() / 16;
    for c in 0..chunks {
        let (x, y) = (&a[c * 16..c * 16 + 16], &b[c * 16..c * 16 + 16]);
        for i in 0..16 {
            acc[i] += x[i] as i32 * y[i] as i32;
        }
    }
    let mut s: i32 = acc.iter().sum();
    for i in chunks * 16..a.len() {
        s += a[i] as i32 * b[i] as i32;
    }
    s
}

/// Scores every row of `rows` (row-major, `dim` i8 each) against `query`,
/// calling `sink(row, raw_dot)`. `raw_dot * scale_q * scale_row` is the f32
/// dot product.
#[inline(always)]
fn scan_generic(query: &[i8], rows: &[i8], dim: usize, sink: &mut dyn FnMut(u32, i32)) {
    for (r, row) in rows.chunks_exact(dim).enumerate() {
        sink(r as u32, dot_i8_generic(query, row));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scan_avx2(query: &[i8], rows: &[i8], dim: usize, sink: &mut dyn FnMut(u32, i32)) {
    scan_generic(query, rows, dim, sink)
}

/// Scan with the best instruction set available on this CPU.
pub fn scan(query: &[i8], rows: &[i8], dim: usize, sink: &mut dyn FnMut(u32, i32)) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            unsafe { scan_avx2(query, rows, dim, sink) };
            return;
        }
    }
    scan_generic(query, rows, dim, sink)
}

#[cfg(test)]
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_generic(a, b)
}

/// Eight partial sums over exact chunks, so the loop vectorises (indexing
/// both slices by one counter would keep a bounds check in it).
#[inline]
pub fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
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

#[derive(Clone, Copy, Debug)]
pub struct Scored {
    pub score: f32,
    pub row: u32,
}

impl PartialEq for Scored {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scored {
    /// Higher score first; ties broken by lower row so results are total
    /// and deterministic.
    fn cmp(&self, o: &Self) -> Ordering {
        self.score
            .total_cmp(&o.score)
            .then_with(|| o.row.cmp(&self.row))
    }
}

/// Keeps the k best items seen so far in a min-heap.
pub struct TopK {
    k: usize,
    heap: BinaryHeap<std::cmp::Reverse<Scored>>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }
    /// The score an item must beat to enter (−∞ while not full).
    pub fn threshold(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |r| r.0.score)
        }
    }
    pub fn push(&mut self, row: u32, score: f32) {
        if self.k == 0 {
            return;
        }
        let item = Scored { score, row };
        if self.heap.len() < self.k {
            self.heap.push(std::cmp::Reverse(item));
        } else if let Some(min) = self.heap.peek() {
            if item > min.0 {
                self.heap.pop();
                self.heap.push(std::cmp::Reverse(item));
            }
        }
    }
    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}
