//! Snapshots: a compact little-endian binary format.
//!
//! ```text
//! chunk   = magic "FLKREC04" · kind u8 (0 full, 1 incremental) · config hash (16 ASCII bytes)
//!           · globals · user tombstones · videos · creators · sounds · hashtags · users
//! globals = rng u64 · events u64 · last_event_ms i64 · global views f64 · completes f64
//!           · batch Gram matrix (dim² f32) · events at the last refresh u64
//!           · head neighbours (n u32, (row u32, m u32, (row u32, weight f32)*)*)
//!           · regions (n u32, (row u32, str)*) · trending sets (n u32, (m u32, (row u32, key f32)*)*)
//!           · free rows of users, creators, sounds, hashtags (n u32, row u32*)*
//! str     = len u32 · UTF-8 bytes
//! ```
//! Each record carries its row number, so loading puts every id back at the
//! same row and every tie-break stays the same: a loaded model serves
//! exactly what the saved one would. A full chunk replaces the state; an
//! incremental chunk (rows touched since the previous `snapshot_dirty`)
//! overwrites those rows, after dropping the users in its tombstones. The
//! i8 scan rows are not stored: they are recomputed from the f32 embeddings.

use crate::model::{
    marked, Affinity, Dirty, Feature, FeatureKind, HotSet, Recommender, UserState, VideoStats,
    EXPLORING, MAX_TAGS, REMOVED,
};
use crate::types::{UserId, VideoId};
use crate::util::{SeenFilter, NONE};

const MAGIC: &[u8; 8] = b"FLKREC04";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SnapshotError {
    #[error("not a flick-rec snapshot")]
    BadMagic,
    /// Written by another version of the format (an upgrade): not an error
    /// in the data, just not readable by this version.
    #[error("snapshot is in format {found}, this version reads {expected}")]
    OtherFormat { expected: String, found: String },
    #[error("snapshot was written with config {found}, this model runs {expected}")]
    ConfigMismatch { expected: String, found: String },
    #[error("snapshot is truncated or corrupt")]
    Truncated,
    #[error("an incremental snapshot needs a full one loaded first")]
    NoBase,
}

impl SnapshotError {
    /// Made by another version of the model, its weights or the format:
    /// the data is fine, so the caller learns the event log again instead.
    pub fn is_from_another_version(&self) -> bool {
        matches!(
            self,
            SnapshotError::ConfigMismatch { .. } | SnapshotError::OtherFormat { .. }
        )
    }
}

struct W(Vec<u8>);

impl W {
    fn u8(&mut self, x: u8) {
        self.0.push(x)
    }
    fn u16(&mut self, x: u16) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn u32(&mut self, x: u32) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn u64(&mut self, x: u64) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn i64(&mut self, x: i64) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn f32(&mut self, x: f32) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn f64(&mut self, x: f64) {
        self.0.extend_from_slice(&x.to_le_bytes())
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn f32s(&mut self, v: &[f32]) {
        v.iter().for_each(|&x| self.f32(x));
    }
    fn len(&mut self, n: usize) {
        self.u32(n as u32)
    }
}

struct R<'a>(&'a [u8]);

impl R<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], SnapshotError> {
        if self.0.len() < n {
            return Err(SnapshotError::Truncated);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn arr<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }
    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, SnapshotError> {
        Ok(u16::from_le_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    fn i64(&mut self) -> Result<i64, SnapshotError> {
        Ok(i64::from_le_bytes(self.arr()?))
    }
    fn f32(&mut self) -> Result<f32, SnapshotError> {
        Ok(f32::from_le_bytes(self.arr()?))
    }
    fn f64(&mut self) -> Result<f64, SnapshotError> {
        Ok(f64::from_le_bytes(self.arr()?))
    }
    /// A count, sanity-checked against the bytes left so a corrupt length
    /// cannot make us allocate gigabytes.
    fn len(&mut self) -> Result<usize, SnapshotError> {
        let n = self.u32()? as usize;
        if n > self.0.len() {
            return Err(SnapshotError::Truncated);
        }
        Ok(n)
    }
    fn str(&mut self) -> Result<String, SnapshotError> {
        let n = self.len()?;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| SnapshotError::Truncated)
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, SnapshotError> {
        (0..n).map(|_| self.f32()).collect()
    }
}

const KINDS: [FeatureKind; 3] = [FeatureKind::Creator, FeatureKind::Sound, FeatureKind::Tag];

/// Rows touched since a snapshot, taken from the model
/// ([`Recommender::take_dirty`]).
pub struct DirtyRows(Dirty);

impl Recommender {
    /// Everything, as one chunk.
    pub fn snapshot_full(&self) -> Vec<u8> {
        let videos: Vec<u32> = (0..self.clips.state.len() as u32).collect();
        let users: Vec<u32> = (0..self.user_states.len() as u32)
            .filter(|&r| self.user_states[r as usize].is_some())
            .collect();
        let feats: [Vec<u32>; 3] =
            std::array::from_fn(|k| (0..self.features[k].len() as u32).collect());
        self.write_chunk(0, &[], &videos, &feats, &users)
    }

    /// Rows touched since the previous call (or since creation), plus
    /// tombstones of users forgotten or evicted since:
    /// [`Self::take_dirty`] then [`Self::snapshot_of`].
    pub fn snapshot_dirty(&mut self) -> Vec<u8> {
        let d = self.take_dirty();
        self.snapshot_of(&d)
    }

    /// Takes the marks of the rows touched since the last call (a move,
    /// whatever the catalogue's size), so the model can be written out with
    /// [`Self::snapshot_of`] under a shared lock.
    pub fn take_dirty(&mut self) -> DirtyRows {
        DirtyRows(std::mem::take(&mut self.dirty))
    }

    /// The rows `taken` marks, as one incremental chunk.
    pub fn snapshot_of(&self, taken: &DirtyRows) -> Vec<u8> {
        let d = &taken.0;
        let videos: Vec<u32> = marked(&d.videos)
            .filter(|&r| (r as usize) < self.clips.state.len())
            .collect();
        let users: Vec<u32> = marked(&d.users)
            .filter(|&r| {
                self.user_states
                    .get(r as usize)
                    .is_some_and(|u| u.is_some())
            })
            .collect();
        let feats: [Vec<u32>; 3] = std::array::from_fn(|k| {
            marked(&d.features[k])
                .filter(|&r| (r as usize) < self.features[k].len())
                .collect()
        });
        self.write_chunk(1, &d.user_tombstones, &videos, &feats, &users)
    }

    fn write_chunk(
        &self,
        kind: u8,
        tombstones: &[(UserId, u32)],
        videos: &[u32],
        feats: &[Vec<u32>; 3],
        users: &[u32],
    ) -> Vec<u8> {
        let dim = self.cfg.dim;
        let k = self.cfg.neighbors;
        let mut w = W(Vec::with_capacity(
            64 + videos.len() * (dim * 4 + k * 8 + 80),
        ));
        w.0.extend_from_slice(MAGIC);
        w.u8(kind);
        w.0.extend_from_slice(self.cfg.content_hash().as_bytes());
        // Globals.
        w.u64(self.rng.0);
        w.u64(self.events);
        w.i64(self.last_event_ms);
        w.f64(self.global_views);
        w.f64(self.global_completes);
        w.f32s(&self.gram);
        w.u64(self.refreshed_at);
        let mut heads: Vec<u32> = self.item_item.keys().copied().collect();
        heads.sort_unstable();
        w.len(heads.len());
        for row in heads {
            let list = &self.item_item[&row];
            w.u32(row);
            w.len(list.len());
            for &(r, x) in list.iter() {
                w.u32(r);
                w.f32(x);
            }
        }
        let regions: Vec<(u32, &String)> = self
            .regions
            .ids
            .iter()
            .enumerate()
            .filter_map(|(r, s)| s.as_ref().map(|s| (r as u32, s)))
            .collect();
        w.len(regions.len());
        for (r, s) in regions {
            w.u32(r);
            w.str(s);
        }
        w.len(self.hot.len());
        for h in &self.hot {
            w.len(h.entries.len());
            for &(r, key) in &h.entries {
                w.u32(r);
                w.f32(key);
            }
        }
        for free in [
            &self.user_ids.free,
            &self.feature_ids[FeatureKind::Creator].free,
            &self.feature_ids[FeatureKind::Sound].free,
            &self.feature_ids[FeatureKind::Tag].free,
        ] {
            w.len(free.len());
            free.iter().for_each(|&r| w.u32(r));
        }
        w.len(tombstones.len());
        for &(id, row) in tombstones {
            w.u64(id.0);
            w.u32(row);
        }
        // Videos.
        w.len(videos.len());
        for &row in videos {
            let r = row as usize;
            let v = &self.clips;
            w.u32(row);
            w.u64(self.clip_ids.id(row).0);
            w.u32(v.creator[r]);
            w.u32(v.sound[r]);
            v.tags[r].iter().for_each(|&t| w.u32(t));
            w.u16(v.region[r]);
            w.i64(v.created_at[r]);
            w.u32(v.duration[r]);
            w.u8(v.state[r]);
            w.f32s(&v.emb[r * dim..(r + 1) * dim]);
            let s = &v.stats[r];
            w.u32(s.served);
            w.f32s(&[
                s.views,
                s.completes,
                s.fails,
                s.likes,
                s.shares,
                s.positives,
                s.trend,
            ]);
            v.nbr_row[r * k..(r + 1) * k].iter().for_each(|&x| w.u32(x));
            w.f32s(&v.nbr_count[r * k..(r + 1) * k]);
        }
        // Side features.
        for kind in KINDS {
            let kk = kind as usize;
            let rows: Vec<u32> = feats[kk]
                .iter()
                .copied()
                .filter(|&r| self.feature_ids[kk].ids[r as usize].is_some())
                .collect();
            w.len(rows.len());
            for row in rows {
                let f = &self.features[kk][row as usize];
                w.u32(row);
                w.str(self.feature_ids[kk].id(row));
                w.u32(f.uses);
                w.i64(f.last_touch_ms);
                w.len(f.recent.len());
                f.recent.iter().for_each(|&r| w.u32(r));
                match &f.emb {
                    Some(e) => {
                        w.u8(1);
                        w.f32s(e);
                    }
                    None => w.u8(0),
                }
            }
        }
        // Users.
        w.len(users.len());
        for &row in users {
            let s = self.user_states[row as usize].as_ref().expect("live user");
            w.u32(row);
            w.u64(self.user_ids.id(row).0);
            w.len(s.history.len());
            for &(r, x) in &s.history {
                w.u32(r);
                w.f32(x);
            }
            w.u8(s.seen.current);
            w.u32(s.seen.count[0]);
            w.u32(s.seen.count[1]);
            w.len(s.seen.bits[0].len());
            for g in 0..2 {
                s.seen.bits[g].iter().for_each(|&b| w.u64(b));
            }
            w.len(s.hidden.len());
            s.hidden.iter().for_each(|&r| w.u32(r));
            for list in [&s.ni_creators, &s.ni_tags] {
                w.len(list.len());
                for &(r, n) in list {
                    w.u32(r);
                    w.u8(n);
                }
            }
            w.len(s.follows.len());
            s.follows.iter().for_each(|&r| w.u32(r));
            w.len(s.affinity.len());
            for a in &s.affinity {
                w.u8(a.kind as u8);
                w.u32(a.row);
                w.f32(a.trials);
                w.f32(a.wins);
            }
            w.f32(s.trials);
            w.f32(s.wins);
            w.i64(s.last_active_ms);
            w.u32(s.positives);
            w.len(s.skipped.len());
            s.skipped.iter().for_each(|&r| w.u32(r));
        }
        w.0
    }

    /// Loads one chunk: a full one replaces the state, an incremental one is
    /// applied on top (chunks must be applied in the order they were taken).
    pub fn apply_snapshot(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let mut r = R(bytes);
        let magic = r.take(8)?;
        if magic != MAGIC {
            if magic.starts_with(&MAGIC[..6]) {
                return Err(SnapshotError::OtherFormat {
                    expected: String::from_utf8_lossy(MAGIC).into_owned(),
                    found: String::from_utf8_lossy(magic).into_owned(),
                });
            }
            return Err(SnapshotError::BadMagic);
        }
        let kind = r.u8()?;
        let found = String::from_utf8_lossy(r.take(16)?).into_owned();
        let expected = self.cfg.content_hash();
        if found != expected {
            return Err(SnapshotError::ConfigMismatch { expected, found });
        }
        // Decode into a copy so a corrupt chunk leaves the model untouched.
        let mut m = if kind == 0 {
            Recommender::new(self.cfg.clone(), self.seed)
        } else {
            self.clone()
        };
        m.read_chunk(&mut r)?;
        m.recount_engagement();
        m.dirty = std::mem::take(&mut self.dirty);
        *self = m;
        Ok(())
    }

    fn read_chunk(&mut self, r: &mut R) -> Result<(), SnapshotError> {
        let dim = self.cfg.dim;
        let k = self.cfg.neighbors;
        self.rng.0 = r.u64()?;
        self.events = r.u64()?;
        self.last_event_ms = r.i64()?;
        self.global_views = r.f64()?;
        self.global_completes = r.f64()?;
        self.gram = r.f32s(dim * dim)?;
        self.refreshed_at = r.u64()?;
        self.item_item.clear();
        for _ in 0..r.len()? {
            let row = r.u32()?;
            let n = r.len()?;
            let list = (0..n)
                .map(|_| Ok((r.u32()?, r.f32()?)))
                .collect::<Result<Vec<_>, SnapshotError>>()?;
            self.item_item.insert(row, list.into_boxed_slice());
        }
        for _ in 0..r.len()? {
            let row = r.u32()?;
            let name = r.str()?;
            self.regions.place(name, row);
        }
        let n_hot = r.len()?;
        self.hot = Vec::with_capacity(n_hot);
        for _ in 0..n_hot {
            let mut h = HotSet::default();
            for i in 0..r.len()? {
                let row = r.u32()?;
                let key = r.f32()?;
                h.entries.push((row, key));
                h.pos.insert(row, i as u32);
            }
            self.hot.push(h);
        }
        let mut frees: Vec<Vec<u32>> = Vec::new();
        for _ in 0..4 {
            let n = r.len()?;
            frees.push((0..n).map(|_| r.u32()).collect::<Result<_, _>>()?);
        }
        for _ in 0..r.len()? {
            let id = UserId(r.u64()?);
            let row = r.u32()?;
            if self.user_ids.get(&id) == Some(row) {
                self.user_ids.clear_row(row);
                self.user_states[row as usize] = None;
            }
        }
        // Videos.
        for _ in 0..r.len()? {
            let row = r.u32()?;
            let id = VideoId(r.u64()?);
            let ri = row as usize;
            self.clip_ids.place(id, row);
            let v = &mut self.clips;
            if v.state.len() <= ri {
                let n = ri + 1;
                v.creator.resize(n, NONE);
                v.sound.resize(n, NONE);
                v.tags.resize(n, [NONE; MAX_TAGS]);
                v.region.resize(n, 0);
                v.created_at.resize(n, 0);
                v.duration.resize(n, 0);
                v.state.resize(n, 0);
                v.emb.resize(n * dim, 0.0);
                v.stats.resize(n, VideoStats::default());
                v.nbr_row.resize(n * k, NONE);
                v.nbr_count.resize(n * k, 0.0);
            }
            v.creator[ri] = r.u32()?;
            v.sound[ri] = r.u32()?;
            for t in 0..MAX_TAGS {
                v.tags[ri][t] = r.u32()?;
            }
            v.region[ri] = r.u16()?;
            v.created_at[ri] = r.i64()?;
            v.duration[ri] = r.u32()?;
            v.state[ri] = r.u8()?;
            let e = r.f32s(dim)?;
            v.emb[ri * dim..(ri + 1) * dim].copy_from_slice(&e);
            let served = r.u32()?;
            let s = r.f32s(7)?;
            v.stats[ri] = VideoStats {
                served,
                views: s[0],
                completes: s[1],
                fails: s[2],
                likes: s[3],
                shares: s[4],
                positives: s[5],
                trend: s[6],
            };
            for j in 0..k {
                v.nbr_row[ri * k + j] = r.u32()?;
            }
            for j in 0..k {
                v.nbr_count[ri * k + j] = r.f32()?;
            }
            // The codes are not in snapshots: filed again from the vector.
            if self.clips.state[ri] & REMOVED != 0 {
                self.ann.remove(row);
            } else {
                self.ann
                    .file(row, &self.clips.emb[ri * dim..(ri + 1) * dim]);
            }
            if self.clips.state[ri] & EXPLORING != 0 {
                self.exploring.insert(row);
            } else {
                self.exploring.remove(&row);
            }
        }
        // Side features.
        for kind in KINDS {
            let kk = kind as usize;
            for _ in 0..r.len()? {
                let row = r.u32()?;
                let key = r.str()?;
                self.feature_ids[kk].place(key, row);
                let uses = r.u32()?;
                let last_touch_ms = r.i64()?;
                let n = r.len()?;
                let recent = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
                let emb = match r.u8()? {
                    0 => None,
                    _ => Some(r.f32s(dim)?),
                };
                let f = Feature {
                    uses,
                    recent,
                    emb,
                    last_touch_ms,
                };
                let ri = row as usize;
                if self.features[kk].len() <= ri {
                    self.features[kk].resize(ri + 1, Feature::default());
                }
                self.features[kk][ri] = f;
            }
        }
        // Users.
        for _ in 0..r.len()? {
            let row = r.u32()?;
            let id = UserId(r.u64()?);
            let n = r.len()?;
            let history = (0..n)
                .map(|_| Ok((r.u32()?, r.f32()?)))
                .collect::<Result<_, SnapshotError>>()?;
            let current = r.u8()?;
            let count = [r.u32()?, r.u32()?];
            let words = r.len()?;
            let mut bits = [Vec::with_capacity(words), Vec::with_capacity(words)];
            for g in &mut bits {
                for _ in 0..words {
                    g.push(r.u64()?);
                }
            }
            let n = r.len()?;
            let hidden = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
            let mut lists = Vec::new();
            for _ in 0..2 {
                let n = r.len()?;
                lists.push(
                    (0..n)
                        .map(|_| Ok((r.u32()?, r.u8()?)))
                        .collect::<Result<Vec<_>, SnapshotError>>()?,
                );
            }
            let n = r.len()?;
            let follows = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
            let n = r.len()?;
            let affinity = (0..n)
                .map(|_| {
                    let kind = match r.u8()? {
                        0 => FeatureKind::Creator,
                        1 => FeatureKind::Sound,
                        2 => FeatureKind::Tag,
                        _ => return Err(SnapshotError::Truncated),
                    };
                    Ok(Affinity {
                        kind,
                        row: r.u32()?,
                        trials: r.f32()?,
                        wins: r.f32()?,
                    })
                })
                .collect::<Result<_, SnapshotError>>()?;
            let trials = r.f32()?;
            let wins = r.f32()?;
            let last_active_ms = r.i64()?;
            let positives = r.u32()?;
            let n = r.len()?;
            let skipped = (0..n).map(|_| r.u32()).collect::<Result<_, _>>()?;
            let ni_tags = lists.pop().expect("two lists");
            let ni_creators = lists.pop().expect("two lists");
            let s = UserState {
                history,
                seen: SeenFilter {
                    bits,
                    count,
                    current,
                },
                hidden,
                ni_creators,
                ni_tags,
                follows,
                affinity,
                trials,
                wins,
                last_active_ms,
                positives,
                skipped,
            };
            self.user_ids.place(id, row);
            let ri = row as usize;
            if self.user_states.len() <= ri {
                self.user_states.resize(ri + 1, None);
            }
            self.user_states[ri] = Some(s);
        }
        // Free lists last: placing rows above may have grown the maps.
        let mut frees = frees.into_iter();
        self.user_ids.free = frees.next().expect("four lists");
        for kk in 0..3 {
            self.feature_ids[kk].free = frees.next().expect("four lists");
        }
        if !r.0.is_empty() {
            return Err(SnapshotError::Truncated);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::model::FeatureKind;
    use crate::{Config, CreatorId, Event, EventKind, Recommender, UserId, VideoId, VideoMeta};

    fn clip(id: u64, creator: u64, tag: &str) -> VideoMeta {
        VideoMeta {
            id: VideoId(id),
            creator: CreatorId(creator),
            hashtags: vec![tag.to_string()],
            sound: None,
            duration_ms: 10_000,
            created_at_ms: 1_000,
            region: None,
        }
    }

    /// A side feature below the admission threshold has no embedding, but an
    /// event on its clip still moves its touch time (which drives eviction):
    /// the incremental snapshot must carry it.
    #[test]
    fn touch_of_unadmitted_feature_is_in_the_incremental_snapshot() {
        let mut m = Recommender::new(Config::default(), 5);
        m.upsert_video(clip(1, 100, "shared"));
        m.upsert_video(clip(2, 100, "shared"));
        m.upsert_video(clip(3, 101, "once"));
        let full = m.snapshot_full();
        let _ = m.snapshot_dirty();
        let (tag, creator) = (
            m.feature_ids[FeatureKind::Tag].get("once").unwrap(),
            m.feature_ids[FeatureKind::Creator].get("101").unwrap(),
        );
        assert!(m.features[FeatureKind::Tag][tag as usize].emb.is_none());
        assert!(m.features[FeatureKind::Creator][creator as usize]
            .emb
            .is_none());
        m.observe(&Event {
            user: UserId(7),
            video: VideoId(3),
            at_ms: 50_000,
            kind: EventKind::Like,
        });
        assert_eq!(
            m.features[FeatureKind::Tag][tag as usize].last_touch_ms,
            50_000
        );
        let inc = m.snapshot_dirty();
        let mut loaded = Recommender::new(Config::default(), 0);
        loaded.apply_snapshot(&full).expect("full");
        loaded.apply_snapshot(&inc).expect("inc");
        assert_eq!(
            loaded.features[FeatureKind::Tag][tag as usize],
            m.features[FeatureKind::Tag][tag as usize]
        );
        assert_eq!(
            loaded.features[FeatureKind::Creator][creator as usize],
            m.features[FeatureKind::Creator][creator as usize]
        );
        assert_eq!(loaded.snapshot_full(), m.snapshot_full());
    }
}
