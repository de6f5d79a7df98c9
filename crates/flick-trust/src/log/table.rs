//! One log shared by several nodes through a database.
//!
//! The leaves live in a table every node reaches (PostgreSQL in Flick's
//! multi-node deployments), with a primary key on the entry index. That key
//! is the log's single writer: each node keeps the tree in memory, reads
//! the leaves it has not seen, and inserts its leaf at the next index; when
//! another node took that index first, the insert is refused, and the node
//! reads the new leaves and tries the following index. Two histories cannot
//! both be stored, so no node can sign a head the others would contradict.
//!
//! A lease (one elected writer) would also serialise appends, but a holder
//! that pauses past its lease and then writes needs fencing to be safe; the
//! key constraint is that fence, and no node waits for an election.
//!
//! The signing key and the pseudonym secret live beside the leaves, made
//! once by the first node that asks: every node signs as the same log and
//! names a user with the same pseudonym. The key is made only for a log
//! with no entries, and a copy from files stores it last: a key in the
//! table means the history below it is whole, so no node can append under
//! that key to a copy that stopped half-way.

use super::*;

/// What a [`LogTable`] could not do (the database's own error).
pub type TableError = Box<dyn std::error::Error + Send + Sync>;

/// The storage of a shared log. Appends are made only by
/// [`TransparencyLog`], which never inserts an index before reading every
/// leaf below it.
pub trait LogTable: Send + Sync {
    /// The secret `name` of log `origin`. With `make`, one is stored on
    /// first use as `make()` returns it (a node that loses the race to
    /// store it gets the winner's); without, `None` when there is none.
    fn secret(
        &self,
        origin: &str,
        name: &str,
        make: Option<&mut dyn FnMut() -> Vec<u8>>,
    ) -> std::result::Result<Option<Vec<u8>>, TableError>;

    /// Up to `limit` leaves from index `from` on, in order, with their
    /// indexes.
    fn leaves(
        &self,
        origin: &str,
        from: u64,
        limit: u64,
    ) -> std::result::Result<Vec<(u64, Vec<u8>)>, TableError>;

    /// Stores `leaf` at `index`, durably; `Ok(false)` when the index is
    /// already taken.
    fn insert(
        &self,
        origin: &str,
        index: u64,
        leaf: &[u8],
    ) -> std::result::Result<bool, TableError>;
}

/// The name of the signing key among a shared log's secrets.
const SIGNING_KEY: &str = "signing-key";

/// Appends that lose the race for an index this many times in a row give
/// up: it takes that many other nodes appending at the same moment.
const APPEND_ATTEMPTS: usize = 64;

/// Leaves read per query while catching up.
const CATCH_UP_CHUNK: u64 = 4096;

/// The signing key stored for log `origin`, if any, without making one.
pub fn stored_key(table: &dyn LogTable, origin: &str) -> Result<Option<String>> {
    let key = table
        .secret(origin, SIGNING_KEY, None)
        .map_err(Error::Table)?;
    key.map(|k| {
        String::from_utf8(k).map_err(|_| Error::TableCorrupt("the signing key is not text".into()))
    })
    .transpose()
}

impl TransparencyLog {
    /// Opens log `origin` in `table`, creating its signing key on first use,
    /// and reads every leaf into the tree.
    pub fn open_shared(table: Arc<dyn LogTable>, origin: &str) -> Result<Self> {
        let key = match stored_key(&*table, origin)? {
            Some(key) => key,
            None => {
                let entries = table.leaves(origin, 0, 1).map_err(Error::Table)?;
                if !entries.is_empty() {
                    return Err(Error::TableCorrupt(format!(
                        "log {origin:?} has entries but no signing key: a copy into the database did not finish (run `flick migrate` again) or the key was lost (restore it)"
                    )));
                }
                let signer = NoteSigner::generate(origin)?;
                let line = signer.to_key_string();
                let stored = table
                    .secret(origin, SIGNING_KEY, Some(&mut || line.clone().into_bytes()))
                    .map_err(Error::Table)?
                    .unwrap_or_default();
                String::from_utf8(stored)
                    .map_err(|_| Error::TableCorrupt("the signing key is not text".into()))?
            }
        };
        let signer = NoteSigner::parse(key.trim())
            .map_err(|e| Error::TableCorrupt(format!("the signing key: {e}")))?;
        if signer.name() != origin {
            return Err(Error::TableCorrupt(format!(
                "the signing key stored for log {origin:?} is named {:?}",
                signer.name()
            )));
        }
        let log = Self {
            origin: origin.to_string(),
            signer,
            backend: Backend::Table {
                table,
                appends: Mutex::new(()),
            },
            state: RwLock::new(State {
                tree: Tree::new(),
                offsets: Vec::new(),
                committed_len: 0,
            }),
        };
        log.refresh()?;
        Ok(log)
    }

    /// A secret of this shared log other than its key (e.g. the pseudonym
    /// secret), made by `make` on first use. `None` for a log in files.
    pub fn shared_secret(
        &self,
        name: &str,
        make: &mut dyn FnMut() -> Vec<u8>,
    ) -> Result<Option<Vec<u8>>> {
        match &self.backend {
            Backend::Files { .. } => Ok(None),
            Backend::Table { table, .. } => {
                assert_ne!(name, SIGNING_KEY, "the signing key stays inside the log");
                let secret = table.secret(&self.origin, name, Some(make));
                Ok(Some(secret.map_err(Error::Table)?.unwrap_or_default()))
            }
        }
    }

    /// Copies this log, kept in files, into `table` (a deployment moving
    /// to several nodes): its signing key, then every leaf, and opens the
    /// copy, which must issue the same head. A copy that stopped half-way
    /// is continued; a table holding another history or key is refused.
    pub fn copy_to_table(&self, table: Arc<dyn LogTable>) -> Result<Self> {
        if self.is_shared() {
            return Err(Error::TableCorrupt("this log is already in a table".into()));
        }
        let key = self.signer.to_key_string();
        let another_key = || {
            Error::TableCorrupt(format!(
                "log {:?} already exists there with another signing key",
                self.origin
            ))
        };
        if stored_key(&*table, &self.origin)?.is_some_and(|k| k.trim() != key) {
            return Err(another_key());
        }
        let size = self.size();
        let mut next = 0;
        while next < size {
            let end = (next + CATCH_UP_CHUNK).min(size);
            let ours = self.entries(next, end)?;
            let theirs = table
                .leaves(&self.origin, next, end - next)
                .map_err(Error::Table)?;
            for entry in &ours {
                match theirs.get((entry.index - next) as usize) {
                    Some((index, leaf)) if *index == entry.index && *leaf == entry.leaf_bytes => {}
                    Some(_) => {
                        return Err(Error::TableCorrupt(format!(
                            "log {:?} there holds another entry {}",
                            self.origin, entry.index
                        )))
                    }
                    None => {
                        if !table
                            .insert(&self.origin, entry.index, &entry.leaf_bytes)
                            .map_err(Error::Table)?
                        {
                            return Err(Error::TableCorrupt(format!(
                                "entry {} of log {:?} was written there during the copy; stop every node first",
                                entry.index, self.origin
                            )));
                        }
                    }
                }
            }
            next = end;
        }
        // Last: the key marks the copy whole (see the module's comment).
        let stored = table
            .secret(
                &self.origin,
                SIGNING_KEY,
                Some(&mut || key.clone().into_bytes()),
            )
            .map_err(Error::Table)?
            .unwrap_or_default();
        if String::from_utf8_lossy(&stored).trim() != key {
            return Err(another_key());
        }
        let copy = Self::open_shared(table, &self.origin)?;
        if copy.size() != size || copy.checkpoint() != self.checkpoint() {
            return Err(Error::TableCorrupt(format!(
                "the copy holds {} entries with head {:?}, the files {size} with head {:?}",
                copy.size(),
                copy.checkpoint(),
                self.checkpoint()
            )));
        }
        Ok(copy)
    }

    /// Whether several nodes share this log through a database.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Table { .. })
    }

    /// Reads the leaves other nodes appended since this node last looked.
    /// Does nothing for a log in files, which only this process writes.
    pub fn refresh(&self) -> Result<u64> {
        if let Backend::Table { table, appends } = &self.backend {
            let _one = appends.lock().unwrap_or_else(|e| e.into_inner());
            self.catch_up(&**table)?;
        }
        Ok(self.size())
    }

    /// Catches up when a reader names a size beyond what this node has seen:
    /// another node may have issued that head.
    pub(super) fn reach(&self, size: u64) -> Result<()> {
        if size > self.size() {
            self.refresh()?;
        }
        Ok(())
    }

    /// Reads leaves from the current size on into the tree. Called with the
    /// node's append lock held, so the tree only grows here.
    fn catch_up(&self, table: &dyn LogTable) -> Result<()> {
        loop {
            let from = self.size();
            let leaves = table
                .leaves(&self.origin, from, CATCH_UP_CHUNK)
                .map_err(Error::Table)?;
            let got = leaves.len() as u64;
            let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
            for (index, leaf) in leaves {
                if index != s.tree.size() {
                    return Err(Error::TableCorrupt(format!(
                        "entry {} is missing (the next stored is {index})",
                        s.tree.size()
                    )));
                }
                s.tree.push(merkle::leaf_hash(&leaf));
            }
            if got < CATCH_UP_CHUNK {
                return Ok(());
            }
        }
    }

    pub(super) fn append_to_table(
        &self,
        table: &dyn LogTable,
        appends: &Mutex<()>,
        leaf: &[u8],
    ) -> Result<AppendReceipt> {
        let _one = appends.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..APPEND_ATTEMPTS {
            self.catch_up(table)?;
            let index = self.size();
            if !table
                .insert(&self.origin, index, leaf)
                .map_err(Error::Table)?
            {
                continue;
            }
            let (tree_size, root) = {
                let mut s = self.state.write().unwrap_or_else(|e| e.into_inner());
                s.tree.push(merkle::leaf_hash(leaf));
                (s.tree.size(), s.tree.root())
            };
            return Ok(AppendReceipt {
                index,
                tree_size,
                checkpoint_text: self.sign_head(tree_size, root),
            });
        }
        Err(Error::Table(
            format!("{APPEND_ATTEMPTS} other appends took the next index first; try again").into(),
        ))
    }

    pub(super) fn table_entries(
        &self,
        table: &dyn LogTable,
        start: u64,
        end: u64,
    ) -> Result<Vec<Entry>> {
        let size = self.size();
        if start > end || end > size {
            return Err(ProofError::SizeOutOfRange {
                size: end.max(start),
                available: size,
            }
            .into());
        }
        let leaves = table
            .leaves(&self.origin, start, end - start)
            .map_err(Error::Table)?;
        let mut out = Vec::with_capacity(leaves.len());
        for (expected, (index, leaf)) in (start..end).zip(leaves) {
            let corrupt = |reason: &str| Error::TableCorrupt(format!("entry {expected}: {reason}"));
            if index != expected {
                return Err(corrupt("missing"));
            }
            // The tree was built from these bytes; a changed leaf is damage.
            if self.read_state().tree.leaf_hashes().get(index as usize)
                != Some(&merkle::leaf_hash(&leaf))
            {
                return Err(corrupt("its bytes changed since they were appended"));
            }
            let record = serde_json::from_slice(&leaf).map_err(|_| corrupt("not JSON"))?;
            out.push(Entry {
                index,
                leaf_bytes: leaf,
                record,
            });
        }
        if out.len() as u64 != end - start {
            return Err(Error::TableCorrupt(format!(
                "entries {start}..{end} were asked for, {} are stored",
                out.len()
            )));
        }
        Ok(out)
    }
}
