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

/// A [`LogTable`] in memory, with the one property the log relies on: an
/// index is stored once.
#[derive(Default)]
struct MemoryTable {
    secrets: Mutex<std::collections::HashMap<(String, String), Vec<u8>>>,
    leaves: Mutex<std::collections::BTreeMap<(String, u64), Vec<u8>>>,
}

impl LogTable for MemoryTable {
    fn secret(
        &self,
        origin: &str,
        name: &str,
        make: Option<&mut dyn FnMut() -> Vec<u8>>,
    ) -> std::result::Result<Option<Vec<u8>>, TableError> {
        let mut secrets = self.secrets.lock().unwrap();
        let key = (origin.to_owned(), name.to_owned());
        if let (None, Some(make)) = (secrets.get(&key), make) {
            secrets.insert(key.clone(), make());
        }
        Ok(secrets.get(&key).cloned())
    }

    fn leaves(
        &self,
        origin: &str,
        from: u64,
        limit: u64,
    ) -> std::result::Result<Vec<(u64, Vec<u8>)>, TableError> {
        let leaves = self.leaves.lock().unwrap();
        Ok(leaves
            .range((origin.to_owned(), from)..(origin.to_owned(), u64::MAX))
            .take(limit as usize)
            .map(|((_, i), leaf)| (*i, leaf.clone()))
            .collect())
    }

    fn insert(
        &self,
        origin: &str,
        index: u64,
        leaf: &[u8],
    ) -> std::result::Result<bool, TableError> {
        let mut leaves = self.leaves.lock().unwrap();
        match leaves.entry((origin.into(), index)) {
            std::collections::btree_map::Entry::Occupied(_) => Ok(false),
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(leaf.to_vec());
                Ok(true)
            }
        }
    }
}

#[test]
fn nodes_sharing_a_table_keep_one_history() {
    let table = Arc::new(MemoryTable::default());
    let nodes: Vec<_> = (0..3)
        .map(|_| Arc::new(TransparencyLog::open_shared(table.clone(), ORIGIN).unwrap()))
        .collect();
    assert_eq!(nodes[0].verifier_key(), nodes[2].verifier_key());
    let threads: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, log)| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..40)
                    .map(|i| log.append(&access(n as i64 * 1000 + i)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let receipts: Vec<AppendReceipt> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let mut indexes: Vec<u64> = receipts.iter().map(|r| r.index).collect();
    indexes.sort_unstable();
    assert_eq!(
        indexes,
        (0..120).collect::<Vec<_>>(),
        "each index given once"
    );

    for log in &nodes {
        assert_eq!(log.refresh().unwrap(), 120);
    }
    assert_eq!(nodes[0].checkpoint(), nodes[1].checkpoint());
    // Every receipt a node handed out is a head of the one history.
    let v = NoteVerifier::parse(&nodes[0].verifier_key()).unwrap();
    for r in &receipts {
        Checkpoint::verify(&r.checkpoint_text, &v).unwrap();
        assert_eq!(
            nodes[2].checkpoint_at(r.tree_size).unwrap(),
            r.checkpoint_text
        );
    }
    let mut export = Vec::new();
    nodes[1].export_to(&mut export).unwrap();
    let export = String::from_utf8(export).unwrap();
    let report = crate::verify::verify_export(&export, &nodes[0].verifier_key(), None).unwrap();
    assert_eq!(report.tree_size, 120);

    // A node opened later reads the same tree.
    let late = TransparencyLog::open_shared(table.clone(), ORIGIN).unwrap();
    assert_eq!(late.checkpoint(), nodes[0].checkpoint());
}

#[test]
fn a_shared_log_catches_up_when_asked_for_a_newer_head() {
    let table = Arc::new(MemoryTable::default());
    let a = TransparencyLog::open_shared(table.clone(), ORIGIN).unwrap();
    let b = TransparencyLog::open_shared(table.clone(), ORIGIN).unwrap();
    let receipt = a.append(&access(1)).unwrap();
    a.append(&access(2)).unwrap();
    // b has not looked yet, but answers for the sizes a issued.
    assert_eq!(b.size(), 0);
    assert_eq!(b.checkpoint_at(1).unwrap(), receipt.checkpoint_text);
    assert_eq!(
        b.entries(0, 2).unwrap()[1].leaf_bytes,
        access(2).leaf_bytes()
    );
    assert_eq!(
        b.consistency_proof(1, 2).unwrap(),
        a.consistency_proof(1, 2).unwrap()
    );
}

#[test]
fn a_shared_log_refuses_changed_or_missing_leaves() {
    let table = Arc::new(MemoryTable::default());
    let log = TransparencyLog::open_shared(table.clone(), ORIGIN).unwrap();
    for i in 0..3 {
        log.append(&access(i)).unwrap();
    }
    table
        .leaves
        .lock()
        .unwrap()
        .insert((ORIGIN.into(), 1), access(9).leaf_bytes());
    let err = log.entries(0, 3).unwrap_err();
    assert!(matches!(err, Error::TableCorrupt(_)), "{err}");

    table.leaves.lock().unwrap().remove(&(ORIGIN.into(), 1));
    let err = TransparencyLog::open_shared(table.clone(), ORIGIN).unwrap_err();
    assert!(err.to_string().contains("entry 1 is missing"), "{err}");

    // Another origin in the same table is another log with its own key.
    let other = TransparencyLog::open_shared(table, "flick.example/other").unwrap();
    assert_eq!(other.size(), 0);
    assert_ne!(other.verifier_key(), log.verifier_key());
}

#[test]
fn a_log_in_files_copies_into_a_table_and_goes_on_there() {
    let dir = tempfile::tempdir().unwrap();
    let files = TransparencyLog::open(dir.path(), ORIGIN).unwrap();
    for i in 0..5 {
        files.append(&access(i)).unwrap();
    }
    let head = files.checkpoint();
    let table = Arc::new(MemoryTable::default());
    // Stopped after two leaves: the second run continues.
    table.insert(ORIGIN, 0, &access(0).leaf_bytes()).unwrap();
    table.insert(ORIGIN, 1, &access(1).leaf_bytes()).unwrap();
    // No node may start on a copy that stopped half-way: it would sign
    // other entries at sizes the files already signed.
    let err = TransparencyLog::open_shared(table.clone(), ORIGIN).unwrap_err();
    assert!(err.to_string().contains("did not finish"), "{err}");
    let shared = files.copy_to_table(table.clone()).unwrap();
    assert_eq!((shared.size(), shared.checkpoint()), (5, head.clone()));
    assert_eq!(shared.verifier_key(), files.verifier_key());
    let again = files.copy_to_table(table.clone()).unwrap();
    assert_eq!(again.checkpoint(), head);
    // The history goes on in the table, a consistent extension of the old.
    shared.append(&access(5)).unwrap();
    let proof = shared.consistency_proof(5, 6).unwrap();
    merkle::verify_consistency(
        5,
        6,
        &files.root_at(5).unwrap(),
        &shared.root_at(6).unwrap(),
        &proof,
    )
    .unwrap();

    // Another log's history is not overwritten.
    let other_dir = tempfile::tempdir().unwrap();
    let other = TransparencyLog::open(other_dir.path(), ORIGIN).unwrap();
    let err = other.copy_to_table(table).unwrap_err();
    assert!(err.to_string().contains("another signing key"), "{err}");
}
