//! Small building blocks: a deterministic hasher for id maps, the
//! collisionless id → row map, the PRNG, Beta sampling and the seen filter.

use crate::types::VideoId;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiply-xorshift hasher for integer keys. Fixed (not per-process random)
/// so that nothing can depend on a random iteration order, and fast: std's
/// SipHash costs more than the rest of a lookup.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = mix64(self.0);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = mix64(self.0 ^ n);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64)
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub const NONE: u32 = u32::MAX;

/// Collisionless id → dense row map with a free list, so evicted rows are
/// reused and row storage stays dense.
#[derive(Clone)]
pub struct IdMap<K = u64> {
    pub rows: FastMap<K, u32>,
    /// Row → id; `None` for a free row.
    pub ids: Vec<Option<K>>,
    /// Free rows, reused last-in first-out.
    pub free: Vec<u32>,
}

impl<K> Default for IdMap<K> {
    fn default() -> Self {
        IdMap {
            rows: FastMap::default(),
            ids: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<K: Clone + Eq + std::hash::Hash> IdMap<K> {
    pub fn get<Q>(&self, id: &Q) -> Option<u32>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + std::hash::Hash + ?Sized,
    {
        self.rows.get(id).copied()
    }
    /// Returns the row and whether it is new (the caller initialises it).
    pub fn insert(&mut self, id: K) -> (u32, bool) {
        if let Some(&r) = self.rows.get(&id) {
            return (r, false);
        }
        let row = match self.free.pop() {
            Some(r) => {
                self.ids[r as usize] = Some(id.clone());
                r
            }
            None => {
                self.ids.push(Some(id.clone()));
                (self.ids.len() - 1) as u32
            }
        };
        self.rows.insert(id, row);
        (row, true)
    }
    pub fn remove(&mut self, id: &K) -> Option<u32> {
        let row = self.rows.remove(id)?;
        self.ids[row as usize] = None;
        self.free.push(row);
        Some(row)
    }
    pub fn id(&self, row: u32) -> &K {
        self.ids[row as usize].as_ref().expect("live row")
    }
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// Places `id` at exactly `row` (snapshot loading keeps row numbers so
    /// that iteration order, and so every tie-break, is unchanged).
    pub fn place(&mut self, id: K, row: u32) {
        let r = row as usize;
        if self.ids.len() <= r {
            self.ids.resize(r + 1, None);
        }
        if let Some(old) = self.ids[r].take() {
            self.rows.remove(&old);
        }
        self.ids[r] = Some(id.clone());
        self.rows.insert(id, row);
    }
    pub fn clear_row(&mut self, row: u32) {
        if let Some(old) = self.ids.get_mut(row as usize).and_then(|x| x.take()) {
            self.rows.remove(&old);
        }
    }
    /// Gives back capacity beyond what the map holds.
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.ids.shrink_to_fit();
        self.free.shrink_to_fit();
    }

    pub fn heap_bytes(&self) -> usize {
        // hashbrown: one control byte plus the entry per bucket.
        self.rows.capacity() * (std::mem::size_of::<(K, u32)>() + 1)
            + self.ids.capacity() * std::mem::size_of::<Option<K>>()
            + self.free.capacity() * 4
    }
}

/// SplitMix64: tiny, fast, and its whole state is one u64 (snapshotted).
#[derive(Clone, Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6a09_e667_f3bc_c909)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(self.0)
    }
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    pub fn normal(&mut self) -> f64 {
        // Box-Muller; one of the pair is dropped for simplicity.
        let u1 = self.f64().max(1e-300);
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    /// Gamma(shape, 1) by Marsaglia–Tsang.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = self.f64().max(1e-300);
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = self.f64().max(1e-300);
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
    }
    pub fn beta(&mut self, a: f64, b: f64) -> f64 {
        let x = self.gamma(a);
        let y = self.gamma(b);
        x / (x + y)
    }
}

/// Per-user filter of the clips served: two Bloom generations. Inserts go to the current
/// one; when it holds `capacity` items the older generation is cleared and
/// becomes current. So memory is fixed and an item stays "seen" for at least
/// `capacity` further insertions (then it may reappear, months later).
#[derive(Clone, Debug, PartialEq)]
pub struct SeenFilter {
    pub bits: [Vec<u64>; 2],
    pub count: [u32; 2],
    pub current: u8,
}

pub const SEEN_HASHES: u32 = 4;

impl SeenFilter {
    pub fn new(bits: usize) -> Self {
        let words = bits.div_ceil(64).max(1);
        SeenFilter {
            bits: [vec![0; words], vec![0; words]],
            count: [0, 0],
            current: 0,
        }
    }
    fn probes(&self, id: VideoId) -> impl Iterator<Item = (usize, u64)> {
        let nbits = (self.bits[0].len() * 64) as u64;
        let h = mix64(id.0 ^ 0x5eed);
        let (h1, h2) = (h, mix64(h) | 1);
        (0..SEEN_HASHES as u64).map(move |i| {
            let b = h1.wrapping_add(i.wrapping_mul(h2));
            // The same bit as `% nbits`, without a division per probe when
            // the size is a power of two (the shipped one is).
            let b = if nbits.is_power_of_two() {
                b & (nbits - 1)
            } else {
                b % nbits
            };
            ((b / 64) as usize, 1u64 << (b % 64))
        })
    }
    pub fn contains(&self, id: VideoId) -> bool {
        (0..2).any(|g| self.probes(id).all(|(w, m)| self.bits[g][w] & m != 0))
    }
    /// `capacity`: items per generation.
    pub fn insert(&mut self, id: VideoId, capacity: u32) {
        if self.contains(id) {
            return;
        }
        let mut g = self.current as usize;
        if self.count[g] >= capacity {
            g ^= 1;
            self.bits[g].iter_mut().for_each(|w| *w = 0);
            self.count[g] = 0;
            self.current = g as u8;
        }
        let probes: Vec<_> = self.probes(id).collect();
        for (w, m) in probes {
            self.bits[g][w] |= m;
        }
        self.count[g] += 1;
    }
    pub fn heap_bytes(&self) -> usize {
        (self.bits[0].capacity() + self.bits[1].capacity()) * 8
    }
}

pub fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-4, 1.0 - 1e-4);
    (p / (1.0 - p)).ln()
}

/// Asks the CPU to start loading the cache line of `slice[i]`, so that a
/// loop reading scattered rows of a large catalogue overlaps their cache
/// misses instead of paying them one after the other. Only a hint: out of
/// range, or on other architectures, it does nothing.
#[inline(always)]
pub fn prefetch<T>(slice: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < slice.len() {
        let p = slice.as_ptr().wrapping_add(i).cast::<i8>();
        // SAFETY: SSE is part of every x86_64 CPU, and a prefetch never
        // faults or changes memory, whatever the address.
        unsafe { core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, i);
}
