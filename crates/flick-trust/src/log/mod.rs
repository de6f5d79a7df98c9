//! The log on disk: the only module of this crate that does IO.
//!
//! Files in the log's directory:
//!
//! - `log-signing.key` — the Ed25519 signing key as one line
//!   `PRIVATE+KEY+<origin>+<key hash>+<base64(0x01 || seed)>` (mode 0600),
//!   created on first start. Losing it means the log can no longer sign; a
//!   new key would be a new log, so `open` refuses to make one while entries
//!   exist.
//! - `log-entries` — the leaves, append-only: for each entry a 4-byte
//!   big-endian length, then that many leaf bytes. Each append is fsynced
//!   before [`TransparencyLog::append`] returns.
//! - `log-checkpoints` — the signed checkpoint of every tree size 1, 2, 3, …
//!   in the same length-prefixed framing (record `i` is the head of size
//!   `i + 1`). Derived data: it is not fsynced per append, and `open`
//!   re-signs whatever a crash lost. Ed25519 signatures are deterministic, so
//!   a re-signed head is byte-for-byte the head that was served.
//!
//! Crash safety: only one append is ever in flight and each is fsynced, so a
//! crash can leave at most one incomplete record at the end of `log-entries`.
//! `open` removes such a torn tail (it was never acknowledged), but refuses to
//! open a file whose damage is larger than one record could be, rather than
//! cut off records that were acknowledged.
//!
//! Several nodes share one log through a database instead
//! ([`TransparencyLog::open_shared`], in `table.rs`): the same tree and
//! heads, with the leaves and the key in a [`LogTable`].

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::export::{ExportEntry, ExportFile, FORMAT};
use crate::merkle::{self, Hash, ProofError, Tree};
use crate::note::{NoteError, NoteSigner};
use crate::record::Record;

pub const KEY_FILE: &str = "log-signing.key";
pub const ENTRIES_FILE: &str = "log-entries";
pub const CHECKPOINTS_FILE: &str = "log-checkpoints";

/// The largest leaf the log accepts. Records are a few hundred bytes; the
/// limit also bounds how much a torn tail can be, which is how `open` tells a
/// torn final write from damage in the middle of the file.
pub const MAX_LEAF_BYTES: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{} is damaged: {reason}; restore it from a backup (the log will not guess)", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("the signing key {} belongs to log {found:?}, but the log is configured with origin {expected:?}; a log's origin cannot change — configure {found:?} again", path.display())]
    OriginMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    #[error("{} holds entries but the signing key {} is missing; restore the key from a backup (a new key would make the existing entries unverifiable)", entries.display(), key.display())]
    MissingKey { entries: PathBuf, key: PathBuf },
    #[error("invalid log origin or key: {0}")]
    Key(#[from] NoteError),
    #[error("a log record must be 1 to {MAX_LEAF_BYTES} bytes, this one is {0}")]
    RecordSize(usize),
    #[error("{0}")]
    Proof(#[from] ProofError),
    #[error("the transparency log stopped taking appends after a failed write ({0}); restart the server to recover")]
    Failed(String),
    #[error("the log's database: {0}")]
    Table(TableError),
    #[error(
        "the log's database is damaged: {0}; restore it from a backup (the log will not guess)"
    )]
    TableCorrupt(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// What [`TransparencyLog::append`] returns once the record is durable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppendReceipt {
    /// The new entry's index (from 0).
    pub index: u64,
    /// The tree size that now includes it (`index + 1`).
    pub tree_size: u64,
    /// The signed checkpoint for `tree_size`.
    pub checkpoint_text: String,
}

/// One entry as served: the exact leaf bytes and the record they decode to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub index: u64,
    /// The bytes that were hashed; serialised as standard base64.
    #[serde(rename = "leaf_b64", serialize_with = "as_base64")]
    pub leaf_bytes: Vec<u8>,
    pub record: serde_json::Value,
}

fn as_base64<S: serde::Serializer>(bytes: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&B64.encode(bytes))
}

struct Writer {
    entries: File,
    entries_len: u64,
    checkpoints: File,
    checkpoints_len: u64,
    /// Heads written to `log-checkpoints`; behind the tree size only after a
    /// failed checkpoint write, caught up on the next append.
    checkpoints_count: u64,
    /// Set when a write failed in a way that leaves the file in doubt.
    failed: Option<String>,
}

struct State {
    tree: Tree,
    /// Byte offset of each entry's length prefix in `log-entries`.
    offsets: Vec<u64>,
    /// Length of `log-entries` covered by `tree` (end of the last entry).
    committed_len: u64,
}

/// Where the leaves are kept.
enum Backend {
    /// This node's files, in `dir`.
    Files { dir: PathBuf, writer: Mutex<Writer> },
    /// A database all nodes share; `appends` keeps this node's own appends
    /// from racing each other for the same index.
    Table {
        table: Arc<dyn LogTable>,
        appends: Mutex<()>,
    },
}

/// The append-only, tamper-evident log. `Send + Sync`: share it in an `Arc`.
/// Appends are serialised; reads run alongside them.
pub struct TransparencyLog {
    origin: String,
    signer: NoteSigner,
    backend: Backend,
    state: RwLock<State>,
}

impl std::fmt::Debug for TransparencyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = match &self.backend {
            Backend::Files { dir, .. } => dir.display().to_string(),
            Backend::Table { .. } => "a shared database".to_owned(),
        };
        f.debug_struct("TransparencyLog")
            .field("at", &at)
            .field("origin", &self.origin)
            .field("size", &self.size())
            .finish()
    }
}

impl TransparencyLog {
    /// Opens the log in `dir`, creating the directory, the signing key and
    /// the files on first start. `origin` names the log in its checkpoints
    /// and is its key name; it must not change over the log's life.
    pub fn open(dir: &Path, origin: &str) -> Result<Self> {
        fs::create_dir_all(dir).map_err(io_err("create the directory", dir))?;
        let key_path = dir.join(KEY_FILE);
        let entries_path = dir.join(ENTRIES_FILE);
        let cps_path = dir.join(CHECKPOINTS_FILE);

        let signer = load_or_create_key(dir, &key_path, &entries_path, origin)?;

        let new_entries = !entries_path.exists();
        let mut entries = open_private(&entries_path).map_err(io_err("open", &entries_path))?;
        let mut tree = Tree::new();
        let mut offsets = Vec::new();
        let end = scan(
            &mut entries,
            |off, leaf| {
                tree.push(merkle::leaf_hash(leaf));
                offsets.push(off);
                Ok(())
            },
            &entries_path,
        )?;
        if end.valid_len < end.file_len {
            // Only the one unacknowledged append can be torn, and it is at
            // most one record long; more damage than that is not a crash.
            if end.file_len - end.valid_len > 4 + MAX_LEAF_BYTES as u64 {
                return Err(Error::Corrupt {
                    path: entries_path,
                    reason: format!(
                        "{} bytes after entry {} do not form a record",
                        end.file_len - end.valid_len,
                        offsets.len()
                    ),
                });
            }
            entries
                .set_len(end.valid_len)
                .and_then(|()| entries.sync_all())
                .map_err(io_err("truncate the torn last record of", &entries_path))?;
        }
        if new_entries {
            sync_dir(dir).map_err(io_err("sync", dir))?;
        }

        let mut checkpoints = open_private(&cps_path).map_err(io_err("open", &cps_path))?;
        let mut count = 0u64;
        let mut last: Option<String> = None;
        let cps_end = scan(
            &mut checkpoints,
            |_, bytes| {
                count += 1;
                last = Some(String::from_utf8_lossy(bytes).into_owned());
                Ok(())
            },
            &cps_path,
        )?;
        if cps_end.valid_len < cps_end.file_len {
            // Checkpoints are re-derivable, so any torn tail can go.
            checkpoints
                .set_len(cps_end.valid_len)
                .map_err(io_err("truncate", &cps_path))?;
        }
        if count > tree.size() {
            // Heads were signed for entries that are gone: re-signing other
            // entries at those sizes would fork the log.
            return Err(Error::Corrupt {
                path: entries_path,
                reason: format!(
                    "it has {} entries but heads were signed for {count}",
                    tree.size()
                ),
            });
        }
        if let Some(last) = last {
            if last != sign_head(&signer, origin, count, tree.root_at(count)?) {
                return Err(Error::Corrupt {
                    path: cps_path,
                    reason: format!(
                        "the head it holds for size {count} is not the head of the entries in {}",
                        ENTRIES_FILE
                    ),
                });
            }
        }

        let log = Self {
            origin: origin.to_string(),
            signer,
            backend: Backend::Files {
                dir: dir.to_path_buf(),
                writer: Mutex::new(Writer {
                    entries,
                    entries_len: end.valid_len,
                    checkpoints,
                    checkpoints_len: cps_end.valid_len,
                    checkpoints_count: count,
                    failed: None,
                }),
            },
            state: RwLock::new(State {
                tree,
                offsets,
                committed_len: end.valid_len,
            }),
        };
        {
            let mut w = lock_writer(log.files().1)?;
            log.catch_up_checkpoints(&mut w);
            if w.checkpoints_count < log.size() {
                return Err(Error::Io {
                    action: "write",
                    path: cps_path,
                    source: io::Error::other("could not write the missing checkpoints"),
                });
            }
            w.checkpoints
                .sync_data()
                .map_err(io_err("sync", &cps_path))?;
        }
        Ok(log)
    }

    /// The files backend; only the files' own code paths call this.
    fn files(&self) -> (&Path, &Mutex<Writer>) {
        match &self.backend {
            Backend::Files { dir, writer } => (dir, writer),
            Backend::Table { .. } => unreachable!("called on the files backend only"),
        }
    }

    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // State is only changed by whole pushes, so it is never half-updated.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends a record. Returns only after the entry is on disk (fsync), so
    /// the caller may acknowledge the access it records once this returns.
    pub fn append(&self, record: &Record) -> Result<AppendReceipt> {
        self.append_leaf(&record.leaf_bytes())
    }

    fn append_leaf(&self, leaf: &[u8]) -> Result<AppendReceipt> {
        if leaf.is_empty() || leaf.len() > MAX_LEAF_BYTES {
            return Err(Error::RecordSize(leaf.len()));
        }
        match &self.backend {
            Backend::Files { dir, writer } => self.append_to_files(dir, writer, leaf),
            Backend::Table { table, appends } => self.append_to_table(&**table, appends, leaf),
        }
    }

    fn append_to_files(
        &self,
        dir: &Path,
        writer: &Mutex<Writer>,
        leaf: &[u8],
    ) -> Result<AppendReceipt> {
        let mut w = lock_writer(writer)?;
        if let Some(why) = &w.failed {
            return Err(Error::Failed(why.clone()));
        }
        let path = dir.join(ENTRIES_FILE);
        let offset = w.entries_len;
        if let Err(e) = w.entries.write_all(&frame(leaf)) {
            // Remove the partial record so the next one does not follow
            // garbage; if even that fails, stop appending.
            let undo = w
                .entries
                .set_len(offset)
                .and_then(|()| w.entries.sync_data());
            if let Err(u) = undo {
                w.failed = Some(format!("write: {e}; undo: {u}"));
            }
            return Err(io_err("append to", &path)(e));
        }
        if let Err(e) = w.entries.sync_data() {
            // After a failed fsync the kernel may have dropped the pages:
            // whether the record is on disk is unknown, so stop appending.
            let _ = w.entries.set_len(offset);
            w.failed = Some(format!("fsync: {e}"));
            return Err(io_err("sync", &path)(e));
        }
        w.entries_len = offset + 4 + leaf.len() as u64;

        let (tree_size, root) = {
            let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
            s.tree.push(merkle::leaf_hash(leaf));
            s.offsets.push(offset);
            s.committed_len = w.entries_len;
            (s.tree.size(), s.tree.root())
        };
        let checkpoint_text = self.sign_head(tree_size, root);
        self.catch_up_checkpoints(&mut w);
        Ok(AppendReceipt {
            index: tree_size - 1,
            tree_size,
            checkpoint_text,
        })
    }

    fn sign_head(&self, size: u64, root: Hash) -> String {
        sign_head(&self.signer, &self.origin, size, root)
    }

    /// Writes the heads the checkpoints file lacks. A failure here does not
    /// fail the append (the entry is durable and heads are re-derivable); it
    /// is retried on the next append and on the next start.
    fn catch_up_checkpoints(&self, w: &mut Writer) {
        let size = self.size();
        while w.checkpoints_count < size {
            let n = w.checkpoints_count + 1;
            let root = match self.read_state().tree.root_at(n) {
                Ok(r) => r,
                Err(_) => return,
            };
            let bytes = frame(self.sign_head(n, root).as_bytes());
            let before = w.checkpoints_len;
            if w.checkpoints.write_all(&bytes).is_err() {
                let _ = w.checkpoints.set_len(before);
                return;
            }
            w.checkpoints_len += bytes.len() as u64;
            w.checkpoints_count = n;
        }
    }

    /// The log's name in its checkpoints.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of entries.
    pub fn size(&self) -> u64 {
        self.read_state().tree.size()
    }

    /// The root hash of the tree of the first `size` entries.
    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.reach(size)?;
        Ok(self.read_state().tree.root_at(size)?)
    }

    /// The signed checkpoint for the current size.
    pub fn checkpoint(&self) -> String {
        let (size, root) = {
            let s = self.read_state();
            (s.tree.size(), s.tree.root())
        };
        self.sign_head(size, root)
    }

    /// The signed checkpoint for an earlier (or the current) size; the same
    /// bytes the log issued at that size.
    pub fn checkpoint_at(&self, size: u64) -> Result<String> {
        let root = self.root_at(size)?;
        Ok(self.sign_head(size, root))
    }

    /// `statement` as a note signed by the log's key.
    pub fn sign_label(
        &self,
        statement: &crate::LabelStatement,
    ) -> std::result::Result<String, crate::label::LabelError> {
        statement.sign(&self.signer)
    }

    /// The verifier key, `<origin>+<key hash>+<base64(0x01 || public key)>`,
    /// which auditors pin.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier().to_string()
    }
}

fn lock_writer(writer: &Mutex<Writer>) -> Result<std::sync::MutexGuard<'_, Writer>> {
    // A panic while appending leaves the file state unknown: fail closed.
    writer
        .lock()
        .map_err(|_| Error::Failed("a previous append panicked".into()))
}

fn sign_head(signer: &NoteSigner, origin: &str, size: u64, root: Hash) -> String {
    Checkpoint {
        origin: origin.to_string(),
        size,
        root,
    }
    .sign(signer)
    // The origin is the key's (validated) name and the body always ends in a
    // newline, so signing cannot fail.
    .expect("a checkpoint body is always signable")
}

mod files;
mod read;
mod table;
#[cfg(test)]
mod tests;

use files::*;
pub use table::{stored_key, LogTable, TableError};
