//! Per-page scratch: the sparse sums a page adds up over the viewer's
//! history, and the pool that lets many pages rank at once.

use crate::util::{FastMap, NONE};

/// A page's sums over the viewer's history (co-occurrence or EASE), per
/// clip row, with the history clip that added most to each. Sparse: its
/// size follows what one history touches, not the catalogue, so a pool of
/// them for pages ranked at once costs nothing per video.
#[derive(Clone, Default)]
pub(crate) struct Accum {
    index: FastMap<u32, u32>,
    /// In the order rows were first touched, so ties resolve the same way
    /// on every model fed the same log.
    pub entries: Vec<AccEntry>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct AccEntry {
    pub row: u32,
    pub score: f32,
    best: f32,
    pub src: u32,
}

impl Accum {
    /// Adds `c` (> 0) to `row`'s score, contributed by history clip `src`.
    pub(super) fn add(&mut self, row: u32, c: f32, src: u32) {
        let next = self.entries.len() as u32;
        let i = *self.index.entry(row).or_insert(next) as usize;
        if i == self.entries.len() {
            self.entries.push(AccEntry {
                row,
                score: 0.0,
                best: 0.0,
                src: NONE,
            });
        }
        let e = &mut self.entries[i];
        e.score += c;
        if c > e.best {
            e.best = c;
            e.src = src;
        }
    }

    /// `row`'s sum (0 when the history never reached it).
    pub fn score(&self, row: u32) -> f32 {
        self.index
            .get(&row)
            .map_or(0.0, |&i| self.entries[i as usize].score)
    }

    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.entries.clear();
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.index.capacity() * (std::mem::size_of::<(u32, u32)>() + 1)
            + self.entries.capacity() * std::mem::size_of::<AccEntry>()
    }
}

/// Per-page scratch buffers, kept to avoid allocating per page.
#[derive(Clone, Default)]
pub(super) struct Scratch {
    pub(super) cooc: Accum,
    pub(super) item_item: Accum,
}

/// Scratch for pages ranked at once: each page takes a set and gives it
/// back, so ranking needs only `&self` and many pages rank in parallel
/// (the lock here is held for a push or a pop, never while ranking).
#[derive(Default)]
pub(super) struct ScratchPool(std::sync::Mutex<Vec<Scratch>>);

impl ScratchPool {
    pub(super) fn take(&self) -> Scratch {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    }

    pub(super) fn give(&self, s: Scratch) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(s);
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|s| s.cooc.heap_bytes() + s.item_item.heap_bytes())
            .sum()
    }
}
