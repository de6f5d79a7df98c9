//! The For You ranking backed by the online recommender (`flick-rec`).
//!
//! The recommender is pure; this adapter does its IO. It feeds the model the
//! store's event log in order (catching up before every request, so the next
//! page after an event reflects it), and keeps the model durable: incremental
//! snapshots of the rows touched since the last one, plus the id of the last
//! event they include. On start it loads the snapshots and replays the events
//! recorded since; with no snapshot it replays the whole log
//! (`flick rec rebuild` does that on purpose).
//!
//! Each held region has its own model ([`RegionalForYou`] routes to it): it
//! learns only from that region's events, so one region's users' state never
//! sits in another region's files, and "trending" is trending in the region.
//! Every region's model reads the same public catalogue.
//!
//! Files in `<data dir>/regions/<code>/rec/`: `NNNNNN.snap` chunks applied in
//! order (the first is a full snapshot) and `state.json` naming them with
//! the last event and catalogue ids. Deleting a user writes a new full
//! snapshot and removes every older chunk, so no file keeps the user's
//! state.

use crate::for_you::{Algorithm, ForYou, ForYouRequest, ModelState, Pick};
use flick_domain::{UserId, VideoId};
use flick_rec::{Config, Reason, Recommender, Request};
use flick_store::{Store, StoreError};
use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod catch_up;
mod model_ids;
mod regional;

pub use regional::RegionalForYou;

/// Fixed so that a replay of the same events gives the same model.
const SEED: u64 = 0x5eed_f11c;
/// Events read from the store per batch while catching up.
const BATCH: u32 = 10_000;

#[derive(Debug, serde::Serialize, serde::Deserialize, Default)]
struct SnapshotState {
    chunks: Vec<String>,
    last_event_id: i64,
    #[serde(default)]
    last_catalogue_id: i64,
}

struct Inner {
    model: Recommender,
    last_event_id: i64,
    last_catalogue_id: i64,
    /// Bumped by every step that removes what the log once said (an
    /// account forgotten): a batch read before it may hold the removed
    /// rows, so a catch-up that sees it moved reads its batch again.
    forgets: u64,
}

/// The snapshot files on disk. Its lock is held by whoever writes one, for
/// the whole write, and always taken before the model's: one writer at a
/// time, so an incremental chunk taken before an account's deletion can
/// never be listed after the full snapshot that removed its rows.
struct SnapshotFiles {
    state: SnapshotState,
    /// Set when a snapshot write failed: the rows it would have carried are
    /// no longer marked dirty, so only a full snapshot is complete again.
    needs_full: bool,
}

/// Chunks past which the next snapshot is a full one, so a start does not
/// read many small files.
const MAX_CHUNKS: usize = 32;

/// One region's recommender. Pages are ranked under a shared (read) lock,
/// so many rank at once; applying events, installing a refit's result and
/// marking seen a page whose impressions could not be logged take the
/// exclusive (write) lock, each for a short step. A snapshot takes it only
/// to take the dirty marks, then writes the model out under the shared
/// lock and its files under none.
pub struct RecForYou {
    store: Arc<Store>,
    dir: PathBuf,
    inner: RwLock<Inner>,
    files: Mutex<SnapshotFiles>,
    algorithm: Algorithm,
}

#[derive(Debug, thiserror::Error)]
pub enum RecError {
    #[error("recommender snapshot in {path}: {detail}")]
    Snapshot { path: PathBuf, detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("io error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecError + '_ {
    move |source| RecError::Io {
        path: path.to_owned(),
        source,
    }
}

impl RecForYou {
    /// Opens the model in `dir`: loads its snapshots, then replays the
    /// events recorded after them. `progress(done, total)` reports replay.
    pub fn open(
        store: Arc<Store>,
        dir: &Path,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<Self, RecError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let config = Config::default();
        let algorithm = Algorithm {
            name: "flick-rec".into(),
            version: flick_rec::MODEL_VERSION.into(),
            hash: Recommender::new(config.clone(), SEED).config_hash(),
            config: serde_json::to_value(&config).unwrap_or_default(),
            models: Vec::new(),
            context_notes: Default::default(),
        };
        let mut model = Recommender::new(config, SEED);
        let state_path = dir.join("state.json");
        let snapshots: SnapshotState = match std::fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RecError::Snapshot {
                path: state_path.clone(),
                detail: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SnapshotState::default(),
            Err(e) => {
                return Err(RecError::Io {
                    path: state_path,
                    source: e,
                })
            }
        };
        // Chunks no longer listed (left by a crash between writing
        // state.json and removing them) may hold a deleted user's rows.
        for entry in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = (name.ends_with(".snap") && !snapshots.chunks.contains(&name))
                || name.ends_with(".tmp");
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let mut snapshots = snapshots;
        for chunk in &snapshots.chunks {
            let path = dir.join(chunk);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            match model.apply_snapshot(&bytes) {
                Ok(()) => {}
                // Made by another ranking (an upgrade changed the model or
                // its published weights): the event log is the truth, so
                // learn it again rather than refuse to start.
                Err(e) if e.is_from_another_version() => {
                    tracing::warn!(reason = %e, "snapshots are of another algorithm or format; replaying the event log");
                    model = Recommender::new(Config::default(), SEED);
                    snapshots = SnapshotState::default();
                    for stale in std::fs::read_dir(dir).map_err(io(dir))?.flatten() {
                        if stale.file_name().to_string_lossy().ends_with(".snap") {
                            let _ = std::fs::remove_file(stale.path());
                        }
                    }
                    let _ = std::fs::remove_file(&state_path);
                    break;
                }
                Err(e) => {
                    return Err(RecError::Snapshot {
                        path: path.clone(),
                        detail: e.to_string(),
                    })
                }
            }
        }
        let this = Self {
            store,
            dir: dir.to_owned(),
            inner: RwLock::new(Inner {
                model,
                last_event_id: snapshots.last_event_id,
                last_catalogue_id: snapshots.last_catalogue_id,
                forgets: 0,
            }),
            files: Mutex::new(SnapshotFiles {
                state: snapshots,
                needs_full: false,
            }),
            algorithm,
        };
        let total = this.store.last_event_id()? + this.store.last_catalogue_id()?;
        {
            let mut inner = this.write();
            let start = inner.last_event_id + inner.last_catalogue_id;
            while inner.last_event_id + inner.last_catalogue_id < total {
                if this.catch_up_batch(&mut inner)? == 0 {
                    break;
                }
                progress(
                    (inner.last_event_id + inner.last_catalogue_id - start) as u64,
                    (total - start).max(0) as u64,
                );
            }
            inner.model.shrink_to_fit();
        }
        // The index is built by the first refit check after start
        // (`refresh_if_due`), not here: until then pages use the exact
        // scan, and the server listens seconds sooner.
        Ok(this)
    }

    /// Deletes every snapshot in `dir`, so the next `open` replays the event
    /// log from the start.
    pub fn discard_snapshots(dir: &Path) -> Result<(), RecError> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(RecError::Io {
                path: dir.to_owned(),
                source: e,
            }),
        }
    }

    // parking_lot's lock: no poisoning (the model is plain data updated in
    // steps that each leave it whole, so serving goes on after a panic),
    // and a write guard can become a read guard with no gap between.
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read()
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write()
    }

    /// Refits the clips' vectors when `batch.refresh_every` events have
    /// arrived since the last refit. The input is copied and the result
    /// prepared under the shared lock, the fit runs without any, so pages
    /// keep being ranked meanwhile; the result is installed in one short
    /// exclusive step (moves of whole arrays), then the index rebuilt.
    /// Builds the index first if the model has none yet (after a start).
    /// Returns whether a refit ran; one is given up, unapplied, as soon as
    /// `stop` says so (a server shutting down).
    pub fn refresh_if_due(&self, stop: &dyn Fn() -> bool) -> Result<bool, StoreError> {
        self.catch_up_if_behind()?;
        if self.read().model.needs_ann() {
            self.rebuild_ann();
        }
        let (input, cfg) = {
            let inner = self.read();
            if !inner.model.refresh_due() {
                return Ok(false);
            }
            (
                inner.model.batch_input(),
                inner.model.config().batch.clone(),
            )
        };
        let span = tracing::info_span!(
            "rec_refresh",
            users = input.users(),
            interactions = input.interactions()
        );
        let _entered = span.enter();
        let started = std::time::Instant::now();
        let Some(fit) = flick_rec::batch::fit_unless(&input, &cfg, stop) else {
            tracing::info!("refit given up: stopping");
            return Ok(false);
        };
        let prepared = self.read().model.prepare_batch(fit);
        if let Some(prepared) = prepared {
            self.write().model.install_batch(prepared);
        }
        // The index is not snapshotted: a server stopping now rebuilds it
        // at its next start anyway.
        if !stop() {
            self.rebuild_ann();
        }
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            "clip vectors refitted"
        );
        Ok(true)
    }

    /// Rebuilds the nearest-clip index from the current vectors: copied
    /// under a shared lock, built without any, installed in one short step.
    fn rebuild_ann(&self) {
        let Some((input, mark)) = self.read().model.ann_input() else {
            return;
        };
        let started = std::time::Instant::now();
        let ivf = flick_rec::ann::Ivf::build(&input);
        let lists = ivf.list_count();
        self.write().model.install_ann(ivf, mark);
        tracing::info!(
            clips = input.rows.len(),
            lists,
            seconds = started.elapsed().as_secs_f64(),
            "nearest-clip index rebuilt"
        );
    }

    /// Writes the rows touched since the last snapshot as a new chunk (or
    /// everything, when there is no complete set of chunks or too many).
    pub fn snapshot(&self) -> Result<(), RecError> {
        let mut files = self.files.lock();
        let full = files.state.chunks.is_empty()
            || files.needs_full
            || files.state.chunks.len() >= MAX_CHUNKS;
        self.write_snapshot(&mut files, full)
    }

    /// The exclusive lock is held only to take the dirty marks and the
    /// log position they go with; it then becomes a shared lock, with no
    /// gap in which an event could be applied, so the chunk is exactly the
    /// model at that position while pages go on being ranked (only event
    /// application waits). The files are written under no lock.
    fn write_snapshot(&self, files: &mut SnapshotFiles, full: bool) -> Result<(), RecError> {
        let mut inner = self.write();
        let dirty = inner.model.take_dirty();
        let last = (inner.last_event_id, inner.last_catalogue_id);
        let inner = RwLockWriteGuard::downgrade(inner);
        let bytes = if full {
            inner.model.snapshot_full()
        } else {
            inner.model.snapshot_of(&dirty)
        };
        drop(inner);
        let written = self.write_chunk(files, bytes, last, full);
        files.needs_full = if full {
            written.is_err()
        } else {
            files.needs_full || written.is_err()
        };
        written
    }

    fn write_chunk(
        &self,
        files: &mut SnapshotFiles,
        bytes: Vec<u8>,
        (last_event_id, last_catalogue_id): (i64, i64),
        full: bool,
    ) -> Result<(), RecError> {
        let next = files
            .state
            .chunks
            .last()
            .and_then(|c| c.trim_end_matches(".snap").parse::<u64>().ok())
            .map_or(1, |n| n + 1);
        let name = format!("{next:06}.snap");
        write_durably(&self.dir.join(&name), &bytes)?;
        let old = if full {
            std::mem::take(&mut files.state.chunks)
        } else {
            Vec::new()
        };
        files.state.chunks.push(name);
        files.state.last_event_id = last_event_id;
        files.state.last_catalogue_id = last_catalogue_id;
        let state = serde_json::to_vec(&files.state).expect("state serialises");
        write_durably(&self.dir.join("state.json"), &state)?;
        for chunk in old {
            let path = self.dir.join(chunk);
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Each list of reasons as text, with the creators they name looked
    /// up in one query for all of them (a page's ten clips, not ten
    /// queries).
    fn reason_texts<'a>(
        &self,
        lists: impl Iterator<Item = &'a [Reason]> + Clone,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let creators: Vec<UserId> = lists
            .clone()
            .flatten()
            .filter_map(|r| match r {
                Reason::FromFollowed { creator } | Reason::MoreFromCreator { creator, .. } => {
                    Some(model_ids::platform_account(*creator))
                }
                _ => None,
            })
            .collect();
        let handles = if creators.is_empty() {
            Default::default()
        } else {
            self.store.handles(&creators)?
        };
        let name = |c: flick_rec::CreatorId| {
            handles
                .get(&model_ids::platform_account(c))
                .map_or_else(|| "a creator".to_owned(), |h| format!("@{h}"))
        };
        Ok(lists
            .map(|reasons| reasons.iter().map(|r| r.to_text(&name)).collect())
            .collect())
    }
}

/// Writes a file so that after a crash it is either whole or absent.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), RecError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    // The rename itself is durable only once the folder is synced; old
    // chunks are removed after this, never before.
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
    }
    Ok(())
}

impl ForYou for RecForYou {
    fn recommend(&self, req: &ForYouRequest) -> Result<Vec<Pick>, StoreError> {
        self.catch_up_for(req.viewer)?;
        let viewer = req.viewer.map(model_ids::user);
        if let Some(v) = viewer {
            // Once per account: a state, so the page leaves out their clips.
            if !self.read().model.has_user(v) {
                self.write().model.ensure_user(v);
            }
        }
        // A visitor has no seen filter, so pages advance by offset; a user's
        // served items are marked seen, so each call is the next page.
        let (limit, skip) = match req.viewer {
            Some(_) => (req.limit, 0),
            None => (req.limit.saturating_add(req.offset), req.offset),
        };
        // A user's page gets a fresh id, logged with its impressions; a
        // visitor's is 0, so the same offset gives the same page.
        let page = match req.viewer {
            Some(_) => rand::random::<u64>() >> 12,
            None => 0,
        };
        let hidden: Vec<flick_rec::CreatorId> =
            req.hidden.iter().map(|&u| model_ids::creator(u)).collect();
        let recs = self.read().model.page(&Request {
            user: viewer,
            limit,
            now_ms: req.now,
            region: None,
            exclude: &[],
            exclude_creators: &hidden,
            page,
            explore: true,
        });
        // The page's impressions go to the log; the model learns them from
        // there (seen marks that survive a restart, exploration budget), at
        // the latest when this viewer's next page catches up on their own
        // events. So a logged page needs no exclusive lock here.
        let logged = match req.viewer.filter(|_| req.log_impressions) {
            Some(viewer) => {
                let videos: Vec<VideoId> = recs
                    .iter()
                    .map(|r| model_ids::platform_video(r.video))
                    .collect();
                self.store
                    .record_impressions(viewer, page as i64, &videos, req.now)
                    .inspect_err(
                        |e| tracing::warn!(error = %e, "could not log a page's impressions"),
                    )
                    .is_ok()
            }
            None => false,
        };
        // Past the account's impressions limit, or when logging failed (the
        // account deleted a moment ago, a full disk), the page is still
        // served and marked seen in memory only.
        if let Some(v) = viewer.filter(|_| !logged) {
            self.write().model.mark_served(v, &recs);
        }
        let recs = recs.get(skip..).unwrap_or_default();
        let texts = self.reason_texts(recs.iter().map(|r| r.reasons.as_slice()))?;
        Ok(recs
            .iter()
            .zip(texts)
            .map(|(r, reasons)| Pick {
                video: model_ids::platform_video(r.video),
                reasons,
            })
            .collect())
    }

    fn why(
        &self,
        viewer: Option<UserId>,
        video: VideoId,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        self.catch_up_if_behind()?;
        let reasons =
            self.read()
                .model
                .explain(viewer.map(model_ids::user), model_ids::video(video), now);
        Ok(self
            .reason_texts(std::iter::once(reasons.as_slice()))?
            .pop()
            .unwrap_or_default())
    }

    fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    fn models(&self) -> Vec<ModelState> {
        let inner = self.read();
        vec![ModelState {
            region: self.store.region().to_string(),
            events: inner.model.events(),
            refitted_at_events: inner.model.refitted_at(),
            retrieval: inner.model.retrieval().into(),
        }]
    }

    fn reset_user(&self, user: UserId) -> Result<(), StoreError> {
        let mut inner = self.write();
        self.catch_up(&mut inner)?;
        inner.model.reset_user(model_ids::user(user));
        Ok(())
    }

    fn forget_user(&self, user: UserId, videos: &[VideoId]) -> Result<(), StoreError> {
        // The files first (the lock order), so no snapshot taken before the
        // deletion can be written after it.
        let mut files = self.files.lock();
        {
            let mut inner = self.write();
            inner.forgets += 1;
            inner.model.forget_user(model_ids::user(user));
            inner.model.forget_creator(model_ids::creator(user));
            for &v in videos {
                inner.model.remove_video(model_ids::video(v));
            }
        }
        // Older chunks still hold the user's rows: replace them all.
        self.write_snapshot(&mut files, true).map_err(|e| {
            tracing::error!(error = %e, "could not rewrite recommender snapshots after a deletion");
            StoreError::NotFound("recommender snapshot")
        })
    }

    fn interests(&self, user: UserId) -> serde_json::Value {
        let interests = self.read().model.user_interests(model_ids::user(user));
        let mut ids: Vec<UserId> = interests
            .creators
            .iter()
            .map(|&(c, _)| model_ids::platform_account(c))
            .collect();
        ids.extend(
            interests
                .follows
                .iter()
                .map(|&c| model_ids::platform_account(c)),
        );
        let handles = self.store.handles(&ids).unwrap_or_default();
        let handle = |c: &flick_rec::CreatorId| {
            handles
                .get(&model_ids::platform_account(*c))
                .cloned()
                .unwrap_or_else(|| c.to_string())
        };
        serde_json::json!({
            "creators": interests.creators.iter().map(|(c, w)| serde_json::json!({"creator": handle(c), "weight": w})).collect::<Vec<_>>(),
            "hashtags": interests.hashtags.iter().map(|(t, w)| serde_json::json!({"hashtag": t, "weight": w})).collect::<Vec<_>>(),
            "sounds": interests.sounds.iter().map(|(s, w)| serde_json::json!({"sound": s, "weight": w})).collect::<Vec<_>>(),
            "follows": interests.follows.iter().map(handle).collect::<Vec<_>>(),
            "positive_events": interests.positive_events,
        })
    }
}
