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

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

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

/// The append-only, tamper-evident log. `Send + Sync`: share it in an `Arc`.
/// Appends are serialised; reads run alongside them.
pub struct TransparencyLog {
    dir: PathBuf,
    origin: String,
    signer: NoteSigner,
    writer: Mutex<Writer>,
    state: RwLock<State>,
}

impl std::fmt::Debug for TransparencyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransparencyLog")
            .field("dir", &self.dir)
            .field("origin", &self.origin)
            .field("size", &self.size())
            .finish()
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Opens (creating if needed) a file for reading and appending, private to
/// the server's user: entries name who read whose data.
fn open_private(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// Makes a newly created or renamed file's directory entry durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Where a scan of a length-prefixed file stopped.
struct ScanEnd {
    /// End of the last complete record.
    valid_len: u64,
    file_len: u64,
}

/// Reads length-prefixed records from the start of `file`, calling `each`
/// with (offset, bytes). Stops at the end or at the first record that cannot
/// be complete (zero or oversized length, or running past the end), which is
/// what a torn write looks like.
fn scan(
    file: &mut File,
    mut each: impl FnMut(u64, &[u8]) -> Result<()>,
    path: &Path,
) -> Result<ScanEnd> {
    let file_len = file.metadata().map_err(io_err("read", path))?.len();
    file.seek(SeekFrom::Start(0))
        .map_err(io_err("read", path))?;
    let mut r = io::BufReader::with_capacity(1 << 16, file);
    let mut pos = 0u64;
    let mut buf = Vec::new();
    while file_len - pos >= 4 {
        let mut len = [0u8; 4];
        r.read_exact(&mut len).map_err(io_err("read", path))?;
        let len = u32::from_be_bytes(len) as u64;
        if len == 0 || len > MAX_LEAF_BYTES as u64 || file_len - pos - 4 < len {
            break;
        }
        buf.resize(len as usize, 0);
        r.read_exact(&mut buf).map_err(io_err("read", path))?;
        each(pos, &buf)?;
        pos += 4 + len;
    }
    Ok(ScanEnd {
        valid_len: pos,
        file_len,
    })
}

fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + bytes.len());
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
    out
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
            dir: dir.to_path_buf(),
            origin: origin.to_string(),
            signer,
            writer: Mutex::new(Writer {
                entries,
                entries_len: end.valid_len,
                checkpoints,
                checkpoints_len: cps_end.valid_len,
                checkpoints_count: count,
                failed: None,
            }),
            state: RwLock::new(State {
                tree,
                offsets,
                committed_len: end.valid_len,
            }),
        };
        {
            let mut w = log.lock_writer()?;
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

    fn lock_writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>> {
        // A panic while appending leaves the file state unknown: fail closed.
        self.writer
            .lock()
            .map_err(|_| Error::Failed("a previous append panicked".into()))
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
        let mut w = self.lock_writer()?;
        if let Some(why) = &w.failed {
            return Err(Error::Failed(why.clone()));
        }
        let path = self.dir.join(ENTRIES_FILE);
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

    /// The verifier key, `<origin>+<key hash>+<base64(0x01 || public key)>`,
    /// which auditors pin.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier().to_string()
    }

    /// Entries `start..end` with their leaf bytes, read from disk.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Entry>> {
        let (from, to) = {
            let s = self.read_state();
            let size = s.tree.size();
            if start > end || end > size {
                return Err(ProofError::SizeOutOfRange {
                    size: end.max(start),
                    available: size,
                }
                .into());
            }
            if start == end {
                return Ok(Vec::new());
            }
            let to = if end < size {
                s.offsets[end as usize]
            } else {
                s.committed_len
            };
            (s.offsets[start as usize], to)
        };
        let path = self.dir.join(ENTRIES_FILE);
        let mut f = File::open(&path).map_err(io_err("open", &path))?;
        f.seek(SeekFrom::Start(from))
            .map_err(io_err("read", &path))?;
        let mut buf = vec![0u8; (to - from) as usize];
        f.read_exact(&mut buf).map_err(io_err("read", &path))?;

        let mut out = Vec::with_capacity((end - start) as usize);
        let mut rest = &buf[..];
        for index in start..end {
            let corrupt = |reason: &str| Error::Corrupt {
                path: path.clone(),
                reason: format!("entry {index}: {reason}"),
            };
            if rest.len() < 4 {
                return Err(corrupt("cut short"));
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let leaf = rest.get(4..4 + len).ok_or_else(|| corrupt("cut short"))?;
            let record = serde_json::from_slice(leaf).map_err(|_| corrupt("not JSON"))?;
            out.push(Entry {
                index,
                leaf_bytes: leaf.to_vec(),
                record,
            });
            rest = &rest[4 + len..];
        }
        Ok(out)
    }

    /// The audit path of entry `index` in the tree of size `tree_size`.
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>> {
        Ok(self.read_state().tree.inclusion_proof(index, tree_size)?)
    }

    /// The proof that the tree of size `first` is a prefix of size `second`.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>> {
        Ok(self.read_state().tree.consistency_proof(first, second)?)
    }

    /// Calls `each` with every entry of the log as it is now, in order,
    /// reading a bounded chunk at a time: memory does not grow with the log.
    pub fn for_each_entry(&self, mut each: impl FnMut(Entry) -> Result<()>) -> Result<u64> {
        let size = self.size();
        let mut start = 0;
        while start < size {
            let end = (start + READ_CHUNK).min(size);
            for entry in self.entries(start, end)? {
                each(entry)?;
            }
            start = end;
        }
        Ok(size)
    }

    /// The whole log for an auditor: every entry with the head signed for
    /// the tree that ends with it. The format is described in
    /// [`crate::export`]. Appends made while exporting are not included.
    pub fn export(&self) -> Result<ExportFile> {
        let mut bytes = Vec::new();
        self.export_to(&mut bytes)?;
        Ok(serde_json::from_slice(&bytes).expect("the export writer writes an ExportFile"))
    }

    /// [`Self::export`] written to `out` as it is read, entry by entry, so
    /// a long log is exported in bounded memory.
    pub fn export_to(&self, out: impl Write) -> Result<()> {
        let size = self.size();
        let mut out = io::BufWriter::new(out);
        let w = |e: io::Error| Error::Io {
            action: "write",
            path: PathBuf::from("<export>"),
            source: e,
        };
        let header = serde_json::json!({"format": FORMAT, "origin": self.origin});
        let header = serde_json::to_string(&header).expect("JSON values serialise");
        // `{"format":…,"origin":…` then the entries array and the brace.
        write!(out, "{},\"entries\":[", &header[..header.len() - 1]).map_err(w)?;
        let mut entries = EntryCursor {
            next: 0,
            size,
            chunk: Vec::new().into_iter(),
        };
        let emit = |out: &mut io::BufWriter<_>, entry: Entry, checkpoint: String| {
            if entry.index > 0 {
                out.write_all(b",").map_err(w)?;
            }
            let e = ExportEntry {
                index: entry.index,
                leaf_b64: B64.encode(&entry.leaf_bytes),
                record: entry.record,
                checkpoint,
            };
            serde_json::to_writer(&mut *out, &e).map_err(|e| w(e.into()))
        };
        // The heads as written; any the file lacks (a write that failed, or
        // one in progress right now) are re-signed, which gives the same bytes.
        let path = self.dir.join(CHECKPOINTS_FILE);
        let mut f = File::open(&path).map_err(io_err("open", &path))?;
        scan(
            &mut f,
            |_, bytes| match entries.next(self)? {
                Some(entry) => emit(&mut out, entry, String::from_utf8_lossy(bytes).into_owned()),
                None => Ok(()),
            },
            &path,
        )?;
        while let Some(entry) = entries.next(self)? {
            let head = self.checkpoint_at(entry.index + 1)?;
            emit(&mut out, entry, head)?;
        }
        out.write_all(b"]}").map_err(w)?;
        out.flush().map_err(w)
    }
}

/// Entries read from disk at once when walking the whole log.
const READ_CHUNK: u64 = 1024;

/// Walks entries `0..size` a chunk at a time.
struct EntryCursor {
    next: u64,
    size: u64,
    chunk: std::vec::IntoIter<Entry>,
}

impl EntryCursor {
    fn next(&mut self, log: &TransparencyLog) -> Result<Option<Entry>> {
        if self.next >= self.size {
            return Ok(None);
        }
        if self.chunk.len() == 0 {
            let end = (self.next + READ_CHUNK).min(self.size);
            self.chunk = log.entries(self.next, end)?.into_iter();
        }
        self.next += 1;
        Ok(self.chunk.next())
    }
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

fn load_or_create_key(
    dir: &Path,
    key_path: &Path,
    entries_path: &Path,
    origin: &str,
) -> Result<NoteSigner> {
    match fs::read_to_string(key_path) {
        Ok(text) => {
            let signer = NoteSigner::parse(&text).map_err(|e| Error::Corrupt {
                path: key_path.to_path_buf(),
                reason: e.to_string(),
            })?;
            if signer.name() != origin {
                return Err(Error::OriginMismatch {
                    path: key_path.to_path_buf(),
                    expected: origin.to_string(),
                    found: signer.name().to_string(),
                });
            }
            Ok(signer)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let has_entries = fs::metadata(entries_path).map(|m| m.len() > 0);
            if has_entries.unwrap_or(false) {
                return Err(Error::MissingKey {
                    entries: entries_path.to_path_buf(),
                    key: key_path.to_path_buf(),
                });
            }
            let signer = NoteSigner::generate(origin)?;
            // Write to a temporary file and rename, so a crash never leaves
            // an empty or partial key file behind.
            let tmp = dir.join(format!("{KEY_FILE}.tmp"));
            let _ = fs::remove_file(&tmp);
            let mut o = OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o.open(&tmp).map_err(io_err("create", &tmp))?;
            f.write_all(format!("{}\n", signer.to_key_string()).as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(io_err("write", &tmp))?;
            fs::rename(&tmp, key_path).map_err(io_err("create", key_path))?;
            sync_dir(dir).map_err(io_err("sync", dir))?;
            Ok(signer)
        }
        Err(e) => Err(io_err("read", key_path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::note::NoteVerifier;
    use crate::record::Decision;

    const ORIGIN: &str = "flick.example/transparency";

    fn access(i: i64) -> Record {
        Record::Access {
            actor: format!("admin-{i}"),
            role: "admin".into(),
            data_class: "profile".into(),
            subject: format!("user-{}", i * 7),
            purpose: "support ticket".into(),
            time_ms: 1_700_000_000_000 + i,
            region: "eu".into(),
            decision: Decision::Allowed,
        }
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TransparencyLog>();
    }

    #[test]
    fn append_reopen_same_root_and_heads() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        assert_eq!(log.size(), 0);
        let v = NoteVerifier::parse(&log.verifier_key()).unwrap();
        let empty = Checkpoint::verify(&log.checkpoint(), &v).unwrap();
        assert_eq!((empty.size, empty.root), (0, merkle::empty_root()));

        let mut receipts = Vec::new();
        for i in 0..10 {
            receipts.push(log.append(&access(i)).unwrap());
        }
        for (i, r) in receipts.iter().enumerate() {
            assert_eq!((r.index, r.tree_size), (i as u64, i as u64 + 1));
            let cp = Checkpoint::verify(&r.checkpoint_text, &v).unwrap();
            assert_eq!(cp.size, i as u64 + 1);
            assert_eq!(log.checkpoint_at(cp.size).unwrap(), r.checkpoint_text);
        }
        let root = log.root_at(10).unwrap();
        let key = log.verifier_key();
        let head = log.checkpoint();
        drop(log);

        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        assert_eq!(log.size(), 10);
        assert_eq!(log.root_at(10).unwrap(), root);
        assert_eq!(log.verifier_key(), key);
        assert_eq!(log.checkpoint(), head);

        let entries = log.entries(3, 5).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].index, 3);
        assert_eq!(entries[0].leaf_bytes, access(3).leaf_bytes());
        assert_eq!(entries[1].record["actor"], "admin-4");
        assert!(log.entries(5, 11).is_err());
        assert!(log.entries(10, 10).unwrap().is_empty());
        let json = serde_json::to_value(&entries[0]).unwrap();
        assert_eq!(json["leaf_b64"], B64.encode(access(3).leaf_bytes()));

        // Proofs from the log verify against its signed heads.
        for n in 1..=10u64 {
            let cp_n = Checkpoint::verify(&log.checkpoint_at(n).unwrap(), &v).unwrap();
            for i in 0..n {
                let proof = log.inclusion_proof(i, n).unwrap();
                let leaf = merkle::leaf_hash(&access(i as i64).leaf_bytes());
                merkle::verify_inclusion(&leaf, i, n, &proof, &cp_n.root).unwrap();
            }
            let proof = log.consistency_proof(n, 10).unwrap();
            merkle::verify_consistency(n, 10, &cp_n.root, &root, &proof).unwrap();
        }

        let export = log.export().unwrap();
        assert_eq!(export.entries.len(), 10);
        assert_eq!(export.entries[9].checkpoint, head);
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private_and_in_note_format() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        let meta = fs::metadata(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let text = fs::read_to_string(dir.path().join(KEY_FILE)).unwrap();
        let signer = NoteSigner::parse(&text).unwrap();
        assert_eq!(signer.verifier().to_string(), log.verifier_key());
        assert!(log.verifier_key().starts_with(&format!("{ORIGIN}+")));
    }

    #[test]
    fn origin_cannot_change_and_key_cannot_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        log.append(&access(1)).unwrap();
        drop(log);
        assert!(matches!(
            TransparencyLog::open(dir.path(), "other-log"),
            Err(Error::OriginMismatch { .. })
        ));
        fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        assert!(matches!(
            TransparencyLog::open(dir.path(), ORIGIN),
            Err(Error::MissingKey { .. })
        ));
        assert!(TransparencyLog::open(dir.path(), "bad origin").is_err());
    }

    #[test]
    fn torn_final_write_is_dropped_and_complete_records_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        for i in 0..5 {
            log.append(&access(i)).unwrap();
        }
        let root5 = log.root_at(5).unwrap();
        drop(log);
        let path = dir.path().join(ENTRIES_FILE);
        let good_len = fs::metadata(&path).unwrap().len();

        // Each shape a crash mid-append can leave: part of the length, the
        // length and part of the body, and a zero-filled extension.
        let leaf = access(5).leaf_bytes();
        let full = frame(&leaf);
        for torn in [
            full[..2].to_vec(),
            full[..4].to_vec(),
            full[..full.len() - 1].to_vec(),
            vec![0u8; 300],
        ] {
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(&torn).unwrap();
            drop(f);
            let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
            assert_eq!(log.size(), 5);
            assert_eq!(log.root_at(5).unwrap(), root5);
            assert_eq!(fs::metadata(&path).unwrap().len(), good_len);
            assert_eq!(
                log.entries(4, 5).unwrap()[0].leaf_bytes,
                access(4).leaf_bytes()
            );
        }

        // The log goes on appending cleanly after the truncation.
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        let r = log.append(&access(5)).unwrap();
        assert_eq!(r.index, 5);
        drop(log);
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        assert_eq!(log.size(), 6);
        assert_eq!(log.entries(5, 6).unwrap()[0].leaf_bytes, leaf);
    }

    #[test]
    fn damage_larger_than_one_record_is_refused_not_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        for i in 0..400 {
            log.append(&access(i)).unwrap();
        }
        drop(log);
        let path = dir.path().join(ENTRIES_FILE);
        let before = fs::read(&path).unwrap();
        // Zero the length of entry 1: everything after would look torn.
        let mut bytes = before.clone();
        let first_len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        bytes[4 + first_len..8 + first_len].copy_from_slice(&[0, 0, 0, 0]);
        fs::write(&path, &bytes).unwrap();
        assert!(matches!(
            TransparencyLog::open(dir.path(), ORIGIN),
            Err(Error::Corrupt { .. })
        ));
        // Nothing was cut off.
        assert_eq!(fs::read(&path).unwrap().len(), before.len());
    }

    #[test]
    fn acknowledged_append_survives_reopen_without_clean_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        let r = log.append(&access(42)).unwrap();
        // No drop: the process "dies" with the log open. What matters is
        // what is in the files now, which a fresh open reads.
        let reopened = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        assert_eq!(reopened.size(), 1);
        assert_eq!(
            reopened.entries(0, 1).unwrap()[0].leaf_bytes,
            access(42).leaf_bytes()
        );
        assert_eq!(reopened.checkpoint(), r.checkpoint_text);
        std::mem::forget(log);
    }

    #[test]
    fn lost_checkpoints_are_re_signed_identically() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        for i in 0..6 {
            log.append(&access(i)).unwrap();
        }
        let export = log.export().unwrap();
        drop(log);
        let cps = dir.path().join(CHECKPOINTS_FILE);
        let full = fs::read(&cps).unwrap();
        // A crash lost the last heads (they are not fsynced) and tore one.
        fs::write(&cps, &full[..full.len() / 2]).unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        assert_eq!(fs::read(&cps).unwrap(), full);
        assert_eq!(log.export().unwrap(), export);
    }

    #[test]
    fn heads_for_missing_entries_or_other_entries_refuse_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        for i in 0..4 {
            log.append(&access(i)).unwrap();
        }
        drop(log);
        let entries = dir.path().join(ENTRIES_FILE);
        let bytes = fs::read(&entries).unwrap();

        // An entry edited in place: the stored head no longer matches.
        let mut edited = bytes.clone();
        let pos = edited.windows(7).position(|w| w == b"admin-2").unwrap();
        edited[pos + 6] = b'9';
        fs::write(&entries, &edited).unwrap();
        assert!(matches!(
            TransparencyLog::open(dir.path(), ORIGIN),
            Err(Error::Corrupt { .. })
        ));

        // A complete entry removed from the end: heads exist beyond it.
        let last_len = access(3).leaf_bytes().len() + 4;
        fs::write(&entries, &bytes[..bytes.len() - last_len]).unwrap();
        assert!(matches!(
            TransparencyLog::open(dir.path(), ORIGIN),
            Err(Error::Corrupt { .. })
        ));
    }

    #[test]
    fn concurrent_appends_get_distinct_indices() {
        let dir = tempfile::tempdir().unwrap();
        let log = std::sync::Arc::new(TransparencyLog::open(dir.path(), ORIGIN).unwrap());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let log = log.clone();
                std::thread::spawn(move || {
                    (0..10)
                        .map(|i| log.append(&access(t * 100 + i)).unwrap().index)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        assert_eq!(all, (0..40).collect::<Vec<_>>());
        let export = log.export().unwrap();
        let report = crate::verify::verify_export(
            &serde_json::to_string(&export).unwrap(),
            &log.verifier_key(),
            None,
        )
        .unwrap();
        assert_eq!(report.tree_size, 40);
    }

    #[test]
    fn oversized_records_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let log = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
        let mut r = access(1);
        if let Record::Access { purpose, .. } = &mut r {
            *purpose = "x".repeat(MAX_LEAF_BYTES);
        }
        assert!(matches!(log.append(&r), Err(Error::RecordSize(_))));
        assert_eq!(log.size(), 0);
    }
}
