//! Reading the log: entries by range, proofs, and whole-log walks (the
//! statistics, the export) a bounded chunk at a time.

use super::*;

impl TransparencyLog {
    /// Entries `start..end` with their leaf bytes, read from disk.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Entry>> {
        self.reach(end.max(start))?;
        let dir = match &self.backend {
            Backend::Files { dir, .. } => dir,
            Backend::Table { table, .. } => return self.table_entries(&**table, start, end),
        };
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
        let path = dir.join(ENTRIES_FILE);
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
        self.reach(tree_size)?;
        Ok(self.read_state().tree.inclusion_proof(index, tree_size)?)
    }

    /// The proof that the tree of size `first` is a prefix of size `second`.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>> {
        self.reach(second.max(first))?;
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
        // A shared log keeps no heads: each is re-signed.
        if let Backend::Files { dir, .. } = &self.backend {
            let path = dir.join(CHECKPOINTS_FILE);
            let mut f = File::open(&path).map_err(io_err("open", &path))?;
            scan(
                &mut f,
                |_, bytes| match entries.next(self)? {
                    Some(entry) => {
                        emit(&mut out, entry, String::from_utf8_lossy(bytes).into_owned())
                    }
                    None => Ok(()),
                },
                &path,
            )?;
        }
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
