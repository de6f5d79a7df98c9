//! Flick's storage: the only crate that speaks SQL, and the region boundary.
//!
//! Data is split by class into files (see `migrations`): one *public* file
//! for what anyone may see, and one file per *region* for the protected data
//! of the accounts whose home is that region. A [`Store`] is one region's
//! view: its region file with the public file attached. A node opens stores
//! only for the regions it holds ([`Regions`]), so another region's rows are
//! not even reachable from it — and every method that touches protected data
//! checks the subject's home region first and refuses, with
//! [`StoreError::OtherRegion`], data that is not this store's. That check
//! sits here rather than in handlers so that a handler that forgets it still
//! cannot cross the boundary; each refusal is reported to the
//! [`DenialHook`] (the API puts it in the transparency log).
//!
//! It is synchronous on purpose: SQLite calls are short and blocking, so
//! async callers wrap them in `spawn_blocking` instead of pretending they
//! are async. Every method is one transaction, so a failed call leaves no
//! half-written rows.
//!
//! Times are Unix milliseconds passed in by the caller; the store never reads
//! the clock, which keeps retention and expiry testable.

mod accounts;
mod analytics;
mod blocklist;
mod bulk;
mod copy;
pub mod db;
mod deletion;
mod events;
mod export;
mod filters;
mod jobs;
mod limits;
mod log_rows;
mod migrations;
mod moderation;
mod notes;
mod personal;
mod regions;
mod social;
mod transparency_report;
mod videos;

pub use accounts::{Credentials, Profile};
pub use analytics::{CreatorAnalytics, DayStats, DeletedAccount, VideoStats};
pub use blocklist::BlocklistEntry;
pub use bulk::{BulkInteraction, BulkLoad, BulkVideo};
pub use copy::TableCopy;
pub use db::Value as SqlValue;
pub use events::{CatalogueChange, Event, EventKind};
pub use export::TableDump;
pub use filters::{StoredFilter, Verdict, ViewerFilters};
pub use flick_domain::{DataClass, RegionCode, Role};
pub use jobs::{Finish, Job, JobOutcome, Lease, LeaseHolder, MAX_JOB_ATTEMPTS};
pub use limits::SharedQuota;
pub use log_rows::SharedLogRows;
pub use moderation::{
    AppealRecord, CaseRecord, CaseStatus, DecisionRecord, LabelOrigin, ModerationRefusal,
    NewDecision, NewReport, Notice, NoticeKind, ReportReceipt, ReportRecord, Standing, Subject,
};
pub use notes::{NewNote, NoteRecord, Rescored, ShownNote};
pub use personal::{SensitiveContent, ViewingSettings};
pub use regions::{Denial, DenialHook, RegionAudit, Regions, StorageAudit};
pub use social::{CommentRecord, SearchResults};
pub use transparency_report::ModerationStats;
pub use videos::{Moderation, NewVideo, VideoRecord, VideoStatus};

use db::{Conn, OptionalExtension};
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Protected data of an account whose home is `region`, asked of a
    /// store or node that does not hold it.
    #[error("this account's data lives in region `{region}`, which this node does not hold (it holds {held})")]
    OtherRegion { region: RegionCode, held: String },
    #[error("cannot create {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] db::DbError),
    /// A group commit this write joined failed (the cause is logged once,
    /// by the caller that ran it).
    #[error("the batch this write joined was not committed: {0}")]
    BatchFailed(String),
    /// A bulk load ([`BulkLoad`]) left rows whose references point nowhere.
    #[error(
        "a bulk load left {rows} row(s) in `{table}` that refer to rows that do not exist, \
         so this data dir is inconsistent; seed a fresh one (e.g. `flick seed --synthetic` \
         with a new --data-dir)"
    )]
    BrokenReferences { table: String, rows: usize },
    /// Something only the embedded SQLite store does, asked of PostgreSQL.
    #[error("{0} needs the SQLite store; this deployment runs on PostgreSQL")]
    NeedsSqlite(&'static str),
    /// A copy between databases found the two sides different.
    #[error("{0}")]
    CopyMismatch(String),
    /// A moderation step the rules do not allow.
    #[error("{0}")]
    Moderation(#[from] ModerationRefusal),
    /// The database was brought to a schema this build does not know: a
    /// newer release ran on it. Opening it anyway could misread or damage
    /// what that release wrote.
    #[error(
        "{database} is at schema version {found}, but this flick knows versions up to {known}: \
         a newer release has run on it. Run that release (or a newer one) on this data, \
         or restore a backup taken before the upgrade"
    )]
    SchemaTooNew {
        database: String,
        found: usize,
        known: usize,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.into())
    }
}

impl StoreError {
    /// The database is out of reach for now (a restart, a network cut):
    /// the request may succeed if tried again.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Db(e) if e.is_unavailable())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A page position: items strictly older than (`created_at`, `id`).
/// Encoded for clients as an opaque `"<ms>_<id>"` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at, self.id)
    }

    pub fn decode(s: &str) -> Option<Self> {
        let (a, b) = s.split_once('_')?;
        Some(Self {
            created_at: a.parse().ok()?,
            id: b.parse().ok()?,
        })
    }

    /// Before any item: the first page.
    pub(crate) fn start(c: Option<Cursor>) -> (i64, i64) {
        c.map_or((i64::MAX, i64::MAX), |c| (c.created_at, c.id))
    }
}

/// One region's store: the region file as SQLite's `main` database with the
/// public file attached as `public`. Table names are unique across the two,
/// so queries name tables without a schema and join across files freely.
///
/// A single writer connection (SQLite serialises writers anyway) and a few
/// readers that WAL mode lets run beside it.
pub struct Store {
    region: RegionCode,
    /// Where the attached public file is, for a bulk load's own writer of it.
    public_path: std::path::PathBuf,
    writer: Mutex<Conn>,
    readers: Vec<Mutex<Conn>>,
    /// Its own connection, so a passive checkpoint never waits for the
    /// writer's or a reader's lock, nor holds them; and the WAL's length at
    /// its last rewind.
    /// SQLite only: PostgreSQL checkpoints by itself.
    checkpointer: Option<Mutex<(Connection, i64)>>,
    /// An account deletion could not empty the WAL file itself: the next
    /// background checkpoint truncates it.
    truncate_wal: std::sync::atomic::AtomicBool,
    next_reader: AtomicUsize,
    on_denied: Option<DenialHook>,
    homes: std::sync::Arc<regions::HomeCache>,
    impressions: events::ImpressionQueue,
}

const READERS: usize = 4;

/// WAL pages after which a commit checkpoints by itself. Far above what
/// the background checkpoint lets accumulate: a commit that checkpoints
/// waits for thousands of page writes and an fsync, and the pages a
/// stream of small commits (the impressions) rewrites are written once
/// per checkpoint, not once per commit.
pub(crate) const WAL_AUTOCHECKPOINT_PAGES: i64 = 50_000;

impl Store {
    /// Opens (creating if needed) `region`'s file at `region_path` and the
    /// public file at `public_path`, and brings both schemas up to date.
    pub fn open(public_path: &Path, region_path: &Path, region: RegionCode) -> Result<Self> {
        {
            let mut public = Connection::open(public_path)?;
            configure(&public)?;
            public.pragma_update(None, "journal_mode", "WAL")?;
            migrations::migrate(&mut public, migrations::PUBLIC)?;
        }
        let mut writer = Connection::open(region_path)?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        migrations::migrate(&mut writer, migrations::REGION)?;
        attach_public(&writer, public_path)?;
        // Deleted rows are overwritten, not left in free pages: deleting an
        // account must remove its data from the files, not just unlink it.
        writer.pragma_update(Some(rusqlite::DatabaseName::Main), "secure_delete", "ON")?;
        // Write transactions take the write locks up front: one that read
        // first and wrote later would fail at once (not wait) when another
        // writer — the other region's, or another node's on the shared
        // public file — committed in between.
        writer.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        // The server moves the WAL into the database files from a
        // background task (`checkpoint_wal`), so no commit pays for it;
        // this limit only bounds the WAL when nothing does (the CLI, or a
        // checkpoint held up by a long read).
        writer.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)?;
        writer.pragma_update(
            Some(rusqlite::DatabaseName::Attached("public")),
            "secure_delete",
            "ON",
        )?;
        let readers = (0..READERS)
            .map(|_| {
                let c = Connection::open(region_path)?;
                configure(&c)?;
                attach_public(&c, public_path)?;
                c.pragma_update(None, "query_only", "ON")?;
                Ok(Mutex::new(Conn::sqlite(c, false)))
            })
            .collect::<Result<Vec<_>>>()?;
        let checkpointer = Connection::open(region_path)?;
        configure(&checkpointer)?;
        attach_public(&checkpointer, public_path)?;
        let finished = Self::finish_bulk_loads(&writer)?;
        if finished > 0 {
            tracing::warn!(
                steps = finished,
                "finished what an interrupted bulk load left: its foreign-key checks and indexes"
            );
        }
        Ok(Self {
            region,
            public_path: public_path.to_owned(),
            writer: Mutex::new(Conn::sqlite(writer, true)),
            readers,
            checkpointer: Some(Mutex::new((checkpointer, 0))),
            truncate_wal: Default::default(),
            next_reader: AtomicUsize::new(0),
            on_denied: None,
            homes: Default::default(),
            impressions: Default::default(),
        })
    }

    /// `region`'s store on PostgreSQL: the region's tables in the schema
    /// `region_<code>` and the public ones in `public`, in the database
    /// `config` names, both brought up to date. The region's schema comes
    /// first on every connection's search path, so queries name tables
    /// without a schema, as they do on SQLite with the public file
    /// attached.
    pub fn open_postgres(config: &tokio_postgres::Config, region: RegionCode) -> Result<Self> {
        let schema = region_schema(&region);
        let target = |search_path: String| db::PgTarget {
            config: config.clone(),
            search_path,
        };
        {
            let public = Conn::postgres(target("public".to_owned()))?;
            migrations::migrate_postgres(&public, "public", migrations::PUBLIC_PG)?;
            let region_conn = Conn::postgres(target(format!("{schema}, public")))?;
            migrations::migrate_postgres(&region_conn, &schema, migrations::REGION_PG)?;
        }
        let connect = || Conn::postgres(target(format!("{schema}, public")));
        let writer = connect()?;
        let readers = (0..READERS)
            .map(|_| Ok(Mutex::new(connect()?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            region,
            public_path: Default::default(),
            writer: Mutex::new(writer),
            readers,
            checkpointer: None,
            truncate_wal: Default::default(),
            next_reader: AtomicUsize::new(0),
            on_denied: None,
            homes: Default::default(),
            impressions: Default::default(),
        })
    }

    /// Which engine this store runs on.
    pub fn dialect(&self) -> db::Dialect {
        self.write().dialect()
    }

    /// Reports every refusal at the region boundary to `hook`.
    pub fn with_denial_hook(mut self, hook: DenialHook) -> Self {
        self.on_denied = Some(hook);
        self
    }

    /// The region whose protected data this store holds.
    pub fn region(&self) -> &RegionCode {
        &self.region
    }

    fn write(&self) -> MutexGuard<'_, Conn> {
        // A poisoned lock means a panic mid-call; SQLite rolled the
        // transaction back, so the connection itself is still sound.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> MutexGuard<'_, Conn> {
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves what the WAL files hold into the region's and the public
    /// database files, and rewinds them. The server calls this every
    /// second off the request path.
    ///
    /// First in SQLite's passive mode, which copies while commits go on,
    /// pass after pass until a pass finds little committed during the last
    /// one. Then, with the writer held so that nothing commits meanwhile (a
    /// commit waits on the writer's lock, with no sleeping back-off), in
    /// restart mode: it copies that little, waits for readers of older
    /// snapshots, and makes the next commit write the WAL from its start.
    /// Without that step a steady stream of commits would never let the
    /// WAL rewind: it would grow to [`WAL_AUTOCHECKPOINT_PAGES`], and from
    /// then on every commit would checkpoint again. (An account deletion
    /// truncates the WAL file as well; see `truncate_wal_after_deletion`.)
    pub fn checkpoint_wal(&self) -> Result<WalCheckpoint> {
        let Some(checkpointer) = &self.checkpointer else {
            return Ok(WalCheckpoint {
                busy: false,
                frames: -1,
                copied: 0,
            });
        };
        let mut guard = checkpointer.lock().unwrap_or_else(|e| e.into_inner());
        let (conn, rewound_at) = &mut *guard;
        let mut passive = wal_checkpoint(conn, "PASSIVE")?;
        // A rewound WAL keeps its length until the next commit: nothing
        // was committed since the last rewind, so there is nothing to do.
        let idle = passive.frames == *rewound_at && passive.copied == passive.frames;
        if passive.frames <= 0 || (idle && !self.truncate_wal.load(Ordering::SeqCst)) {
            return Ok(passive);
        }
        // Each pass copies what was committed during the last one, until
        // that is little: the step below, which holds commits back, then
        // has little to copy.
        for _ in 0..4 {
            let next = wal_checkpoint(conn, "PASSIVE")?;
            let fresh = next.frames - passive.frames;
            passive = next;
            if fresh < 256 {
                break;
            }
        }
        let _no_commits = self.write();
        let mode = if self.truncate_wal.swap(false, Ordering::SeqCst) {
            "TRUNCATE"
        } else {
            "RESTART"
        };
        let done = wal_checkpoint(conn, mode)?;
        if done.busy && mode == "TRUNCATE" {
            self.truncate_wal.store(true, Ordering::SeqCst);
        }
        if !done.busy {
            *rewound_at = if mode == "TRUNCATE" { 0 } else { done.frames };
        }
        Ok(done)
    }

    /// After an account deletion: the WAL moved into the files and emptied
    /// now, on the writer (held by the caller, so nothing commits in
    /// between). Readers, the background checkpoint's passive passes, or
    /// another region's checkpoint of the shared public file can hold it
    /// up; if they do for a second, the next background checkpoint
    /// empties it instead.
    pub(crate) fn truncate_wal_after_deletion(&self, writer: &Conn) -> Result<()> {
        let Some(writer) = writer.as_sqlite() else {
            return Ok(());
        };
        for attempt in 0.. {
            if !wal_checkpoint(writer, "TRUNCATE")?.busy {
                break;
            }
            if attempt == 100 {
                tracing::warn!("WAL checkpoint after an account deletion stayed blocked; the background checkpoint empties the WAL within seconds");
                self.truncate_wal.store(true, Ordering::SeqCst);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(())
    }

    /// A cheap round trip, for health checks.
    pub fn ping(&self) -> Result<()> {
        self.read().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// The region boundary: `user`'s protected `data_class` may be read or
    /// written here only if `user`'s home is this store's region. Every
    /// method touching protected data calls this first, on the connection
    /// it then uses.
    fn guard(&self, conn: &Conn, user: flick_domain::UserId, data_class: DataClass) -> Result<()> {
        let Some(home) = self.home_of(conn, user)? else {
            return Err(StoreError::NotFound("account"));
        };
        if home == self.region {
            return Ok(());
        }
        self.deny(user, &home, data_class, self.region.as_str())
    }

    /// An account's home region, from the public profile (or the cache of
    /// earlier answers).
    fn home_of(&self, conn: &Conn, user: flick_domain::UserId) -> Result<Option<RegionCode>> {
        if let Some(region) = self.homes.get(user) {
            return Ok(Some(region));
        }
        let home: Option<String> = conn
            .prepare_cached("SELECT region FROM users WHERE id = ?1")?
            .query_row([user.0], |r| r.get(0))
            .optional()?;
        let home = home.and_then(|h| RegionCode::parse(&h));
        if let Some(h) = &home {
            self.homes.put(user, h.clone());
        }
        Ok(home)
    }

    fn deny<T>(
        &self,
        user: flick_domain::UserId,
        home: &RegionCode,
        data_class: DataClass,
        held: &str,
    ) -> Result<T> {
        if let Some(hook) = &self.on_denied {
            hook(&Denial {
                subject: user,
                subject_region: home.clone(),
                data_class,
                node_regions: held.to_owned(),
            });
        }
        Err(StoreError::OtherRegion {
            region: home.clone(),
            held: held.to_owned(),
        })
    }
}

/// What a WAL checkpoint did, over every attached file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalCheckpoint {
    /// A reader or writer kept it from finishing.
    pub busy: bool,
    /// Frames in the WAL when it ran (-1 when the files are not in WAL mode).
    pub frames: i64,
    /// Of those, how many are now in the database files.
    pub copied: i64,
}

fn wal_checkpoint(c: &Connection, mode: &str) -> Result<WalCheckpoint> {
    // Without a schema name this checkpoints every attached file.
    Ok(
        c.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
            Ok(WalCheckpoint {
                busy: r.get::<_, i64>(0)? != 0,
                frames: r.get(1)?,
                copied: r.get(2)?,
            })
        })?,
    )
}

/// A region's PostgreSQL schema. Region codes are a-z, 0-9 and `-`, so
/// the name needs quoting only for the dash.
pub(crate) fn region_schema(region: &RegionCode) -> String {
    format!("\"region_{}\"", region.as_str())
}

fn attach_public(c: &Connection, public_path: &Path) -> Result<()> {
    c.execute(
        "ATTACH DATABASE ?1 AS public",
        [public_path.to_string_lossy()],
    )?;
    c.pragma_update(
        Some(rusqlite::DatabaseName::Attached("public")),
        "synchronous",
        "FULL",
    )?;
    Ok(())
}

pub(crate) fn configure(c: &Connection) -> Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    // FULL: a commit is on disk (the WAL fsynced) before it returns, so
    // an answer that says "done" survives a power cut. NORMAL would only
    // keep the database consistent, losing the last commits.
    c.pragma_update(None, "synchronous", "FULL")?;
    c.set_prepared_statement_cache_capacity(64);
    // Pages are read from the OS page cache in place, not copied by a
    // read(2) into each connection's small cache: at a million clips the
    // lookups of a page (its videos, the viewer's events) miss that cache.
    c.pragma_update(None, "mmap_size", 1i64 << 31)?;
    Ok(())
}

/// Failure injection for crash tests: when the environment variable
/// `FLICK_CRASH_AT` names this point, the process aborts here — no
/// destructors, no flushes, as a power cut or `kill -9` would stop it.
/// Tests start the real binary with it set, so crash points are injected,
/// not timed. Unset (always, outside tests), it costs one cached lookup.
pub fn crash_point(name: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var("FLICK_CRASH_AT").ok())
        .as_deref()
        == Some(name)
    {
        eprintln!("FLICK_CRASH_AT={name}: aborting here");
        std::process::abort();
    }
}

/// Maps a UNIQUE violation to [`StoreError::Conflict`].
fn conflict_on_unique(e: db::DbError, what: &'static str) -> StoreError {
    if e.is_unique_violation() {
        StoreError::Conflict(what)
    } else {
        StoreError::Db(e)
    }
}

#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        &dir.path().join("public.db"),
        &dir.path().join("region.db"),
        RegionCode::parse("eu").unwrap(),
    )
    .unwrap();
    (dir, store)
}

#[cfg(test)]
mod wal_tests {
    use super::*;

    /// Impressions in the database file alone, as if the WAL were lost;
    /// `None` while even the schema is only in the WAL.
    fn in_file_alone(dir: &Path, name: &str) -> Option<i64> {
        let copy = dir.join(name);
        std::fs::copy(dir.join("region.db"), &copy).unwrap();
        let c = Connection::open(&copy).unwrap();
        let has_events: bool = c
            .query_row(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        has_events.then(|| {
            c.query_row(
                "SELECT COUNT(*) FROM events WHERE kind = 'impression'",
                [],
                |r| r.get(0),
            )
            .unwrap()
        })
    }

    #[test]
    fn a_background_checkpoint_moves_every_commit_into_the_files_and_rewinds_the_wal() {
        let (dir, s) = test_store();
        let user = s
            .create_user(&flick_domain::Handle::parse("wal").unwrap(), "h", 0)
            .unwrap();
        s.record_impressions(user, 1, &[flick_domain::VideoId(7)], 0)
            .unwrap();
        // Commits stay in the WAL: the writer does not checkpoint small ones.
        assert_eq!(in_file_alone(dir.path(), "before.db"), None);
        let done = s.checkpoint_wal().unwrap();
        assert!(!done.busy, "{done:?}");
        assert_eq!(done.frames, done.copied, "{done:?}");
        assert_eq!(in_file_alone(dir.path(), "after.db"), Some(1));
        // The next commits write the WAL from its start: the file does not
        // grow.
        let wal = dir.path().join("region.db-wal");
        let size = std::fs::metadata(&wal).unwrap().len();
        s.record_impressions(user, 2, &[flick_domain::VideoId(8)], 0)
            .unwrap();
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), size);
    }
}
