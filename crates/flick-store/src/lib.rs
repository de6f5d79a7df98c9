//! Flick's storage: the only crate that speaks SQL.
//!
//! [`Store`] is the embedded SQLite backend. It is synchronous on purpose:
//! SQLite calls are short and blocking, so async callers wrap them in
//! `spawn_blocking` instead of pretending they are async. Every method is one
//! transaction, so a failed call leaves no half-written rows.
//!
//! Times are Unix milliseconds passed in by the caller; the store never reads
//! the clock, which keeps retention and expiry testable.

mod accounts;
mod analytics;
mod events;
mod export;
mod jobs;
mod migrations;
mod social;
mod videos;

pub use accounts::{Credentials, Profile, Role};
pub use analytics::{CreatorAnalytics, DayStats, DeletedAccount, VideoStats};
pub use events::{Event, EventKind};
pub use export::TableDump;
pub use jobs::{Job, JobOutcome};
pub use rusqlite::types::Value as SqlValue;
pub use social::{CommentRecord, SearchResults};
pub use videos::{NewVideo, VideoRecord, VideoStatus};

use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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

/// One SQLite database file: a single writer connection (SQLite serialises
/// writers anyway) and a few readers that WAL mode lets run beside it.
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

const READERS: usize = 4;

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        // Deleted rows are overwritten, not left in free pages: deleting an
        // account must remove its data from the file, not just unlink it.
        writer.pragma_update(None, "secure_delete", "ON")?;
        migrations::migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let c = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                configure(&c)?;
                Ok(Mutex::new(c))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    fn write(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock means a panic mid-call; SQLite rolled the
        // transaction back, so the connection itself is still sound.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn read(&self) -> MutexGuard<'_, Connection> {
        for r in &self.readers {
            if let Ok(guard) = r.try_lock() {
                return guard;
            }
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        self.readers[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A cheap round trip, for health checks.
    pub fn ping(&self) -> Result<()> {
        self.read().query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}

fn configure(c: &Connection) -> Result<()> {
    c.busy_timeout(std::time::Duration::from_secs(5))?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    c.pragma_update(None, "synchronous", "NORMAL")?;
    c.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Maps a UNIQUE violation to [`StoreError::Conflict`].
fn conflict_on_unique(e: rusqlite::Error, what: &'static str) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict(what)
        }
        e => StoreError::Sqlite(e),
    }
}

#[cfg(test)]
pub(crate) fn test_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).unwrap();
    (dir, store)
}
