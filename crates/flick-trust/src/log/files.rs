//! The log's files on disk: opening them privately, framing and scanning
//! records, making renames durable, and the signing key.

use super::*;

pub(super) fn io_err<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Opens (creating if needed) a file for reading and appending, private to
/// the server's user: entries name who read whose data.
pub(super) fn open_private(path: &Path) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

/// Makes a newly created or renamed file's directory entry durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Where a scan of a length-prefixed file stopped.
pub(super) struct ScanEnd {
    /// End of the last complete record.
    pub(super) valid_len: u64,
    pub(super) file_len: u64,
}

/// Reads length-prefixed records from the start of `file`, calling `each`
/// with (offset, bytes). Stops at the end or at the first record that cannot
/// be complete (zero or oversized length, or running past the end), which is
/// what a torn write looks like.
pub(super) fn scan(
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

pub(super) fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + bytes.len());
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
    out
}

pub(super) fn load_or_create_key(
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
