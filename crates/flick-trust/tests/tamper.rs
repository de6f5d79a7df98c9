//! The offline verifier against a real exported log, untouched and tampered
//! with in each way an operator (or anyone holding the export) could.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use flick_trust::checkpoint::Checkpoint;
use flick_trust::merkle::{self, Tree};
use flick_trust::{
    verify_export, Decision, FailureKind, NoteSigner, Record, TransparencyLog, VerifyFailure,
    VerifyReport, DEFAULT_ORIGIN,
};
use serde_json::Value;

const TRUSTED_AT: u64 = 20;
const TOTAL: u64 = 30;

fn record(i: u64) -> Record {
    let t = 1_700_000_000_000 + i as i64 * 1000;
    match i % 10 {
        0 => Record::Release {
            version: format!("0.1.{i}"),
            build_hash: format!("{:040x}", i),
            recommender_config_hash: "c0ffee".into(),
            time_ms: t,
        },
        7 => Record::Deletion {
            subject_ref: format!("{:064x}", i * 31),
            time_ms: t,
            region: "eu".into(),
        },
        8 => Record::Export {
            subject: format!("{}", 9000 + i),
            time_ms: t,
            region: "us".into(),
        },
        _ => Record::Access {
            actor: format!("{}", 100 + i % 3),
            role: ["admin", "moderator", "support", "partner"][(i % 4) as usize].into(),
            data_class: "watch_history".into(),
            subject: format!("{}", 5000 + i),
            purpose: format!("ticket #{i}: user asked why a video was removed"),
            time_ms: t,
            region: "eu".into(),
            decision: if i % 5 == 4 {
                Decision::Denied
            } else {
                Decision::Allowed
            },
        },
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    log: TransparencyLog,
    export: Value,
    key: String,
    trusted: String,
}

/// A real log of 30 mixed records, its export, its key, and the head an
/// auditor saved when the log had 20 entries.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log = TransparencyLog::open(dir.path(), DEFAULT_ORIGIN).unwrap();
    let mut trusted = String::new();
    for i in 0..TOTAL {
        log.append(&record(i)).unwrap();
        if i + 1 == TRUSTED_AT {
            trusted = log.checkpoint();
        }
    }
    let export = serde_json::to_value(log.export().unwrap()).unwrap();
    let key = log.verifier_key();
    Fixture {
        _dir: dir,
        log,
        export,
        key,
        trusted,
    }
}

impl Fixture {
    fn verify(&self, export: &Value, trusted: Option<&str>) -> Result<VerifyReport, VerifyFailure> {
        verify_export(&export.to_string(), &self.key, trusted)
    }

    fn expect_fail(&self, export: &Value, kind: FailureKind, entry: Option<u64>) -> VerifyFailure {
        let err = self
            .verify(export, Some(&self.trusted))
            .expect_err("tampering went undetected");
        assert_eq!((err.kind, err.entry), (kind, entry), "{err}");
        err
    }
}

fn entries(v: &mut Value) -> &mut Vec<Value> {
    v["entries"].as_array_mut().unwrap()
}

fn leaf(e: &Value) -> Vec<u8> {
    B64.decode(e["leaf_b64"].as_str().unwrap()).unwrap()
}

fn renumber(v: &mut Value) {
    for (i, e) in entries(v).iter_mut().enumerate() {
        e["index"] = i.into();
    }
}

#[test]
fn untampered_export_passes_with_and_without_trusted_head() {
    let f = fixture();
    let report = f.verify(&f.export, None).unwrap();
    assert_eq!(report.entries_checked, TOTAL);
    assert_eq!(report.tree_size, TOTAL);
    assert_eq!(report.root, f.log.root_at(TOTAL).unwrap());
    assert_eq!(
        report.final_checkpoint.as_deref(),
        Some(&*f.log.checkpoint())
    );
    assert_eq!(report.counts["release"], 3);
    assert_eq!(report.counts["deletion"], 3);
    assert_eq!(report.counts["export"], 3);
    assert_eq!(report.counts["access"], 21);
    assert_eq!(report.trusted_size, None);

    let report = f.verify(&f.export, Some(&f.trusted)).unwrap();
    assert_eq!(report.trusted_size, Some(TRUSTED_AT));
    assert!(report.to_string().contains("30 entries verified"));
    // The latest head is also a valid trusted head.
    let head = f.log.checkpoint();
    assert_eq!(
        f.verify(&f.export, Some(&head)).unwrap().trusted_size,
        Some(TOTAL)
    );
}

#[test]
fn changing_one_byte_of_any_leaf_is_detected_at_that_entry() {
    let f = fixture();
    for i in 0..TOTAL as usize {
        let mut v = f.export.clone();
        let e = &mut entries(&mut v)[i];
        let mut bytes = leaf(e);
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        e["leaf_b64"] = B64.encode(&bytes).into();
        let err = f.expect_fail(&v, FailureKind::RootMismatch, Some(i as u64));
        assert!(err.message.starts_with(&format!(
            "entry {i}: its bytes do not match the signed tree head for size {}",
            i + 1
        )));
    }
}

#[test]
fn a_decoded_record_that_differs_from_its_leaf_is_detected() {
    let f = fixture();
    let mut v = f.export.clone();
    entries(&mut v)[12]["record"]["purpose"] = "nothing to see here".into();
    let err = f.expect_fail(&v, FailureKind::RecordMismatch, Some(12));
    assert!(err.message.contains("leaf bytes are what the log signed"));

    // Adding a field to the shown record is also a difference.
    let mut v = f.export.clone();
    entries(&mut v)[3]["record"]["note"] = "approved".into();
    f.expect_fail(&v, FailureKind::RecordMismatch, Some(3));
}

#[test]
fn dropping_an_entry_is_detected() {
    let f = fixture();
    let mut v = f.export.clone();
    entries(&mut v).remove(9);
    let err = f.expect_fail(&v, FailureKind::WrongIndex, Some(9));
    assert!(err.message.contains("removed or reordered"), "{err}");

    // Even with the indices renumbered to hide the gap: the head that now
    // sits at position 9 is signed for size 11.
    renumber(&mut v);
    f.expect_fail(&v, FailureKind::WrongTreeSize, Some(9));

    // And with the heads left in place (only the leaf removed).
    let mut v = f.export.clone();
    let heads: Vec<Value> = entries(&mut v)
        .iter()
        .map(|e| e["checkpoint"].clone())
        .collect();
    entries(&mut v).remove(9);
    for (i, e) in entries(&mut v).iter_mut().enumerate() {
        e["checkpoint"] = heads[i].clone();
    }
    renumber(&mut v);
    f.expect_fail(&v, FailureKind::RootMismatch, Some(9));
}

/// A forged entry for position `at`, with a head over the tree it would
/// make, signed by `signer` (or unsigned).
fn forged_entry(export: &Value, at: usize, signer: Option<&NoteSigner>) -> Value {
    let forged = Record::Access {
        actor: "999".into(),
        role: "admin".into(),
        data_class: "profile".into(),
        subject: "1".into(),
        purpose: "routine check".into(),
        time_ms: 1_700_000_000_000,
        region: "eu".into(),
        decision: Decision::Allowed,
    };
    let bytes = forged.leaf_bytes();
    let mut tree = Tree::new();
    for e in &export["entries"].as_array().unwrap()[..at] {
        tree.push(merkle::leaf_hash(&leaf(e)));
    }
    tree.push(merkle::leaf_hash(&bytes));
    let cp = Checkpoint {
        origin: DEFAULT_ORIGIN.into(),
        size: at as u64 + 1,
        root: tree.root(),
    };
    let head = match signer {
        Some(s) => cp.sign(s).unwrap(),
        None => format!("{}\n", cp.body()),
    };
    serde_json::json!({
        "index": at,
        "leaf_b64": B64.encode(&bytes),
        "record": serde_json::from_slice::<Value>(&bytes).unwrap(),
        "checkpoint": head,
    })
}

#[test]
fn inserting_a_forged_entry_is_detected() {
    let f = fixture();
    // Signed by a key of the same name that is not the log's.
    let impostor = NoteSigner::generate(DEFAULT_ORIGIN).unwrap();
    let mut v = f.export.clone();
    let forged = forged_entry(&v, 14, Some(&impostor));
    entries(&mut v).insert(14, forged);
    renumber(&mut v);
    let err = f.expect_fail(&v, FailureKind::BadSignature, Some(14));
    assert!(err.message.contains("no signature by this key"), "{err}");

    // Unsigned.
    let mut v = f.export.clone();
    let forged = forged_entry(&v, 14, None);
    entries(&mut v).insert(14, forged);
    renumber(&mut v);
    f.expect_fail(&v, FailureKind::BadSignature, Some(14));

    // Inserted with the real head of entry 14 copied onto it.
    let mut v = f.export.clone();
    let mut forged = forged_entry(&v, 14, None);
    forged["checkpoint"] = entries(&mut v)[14]["checkpoint"].clone();
    entries(&mut v).insert(14, forged);
    f.expect_fail(&v, FailureKind::RootMismatch, Some(14));

    // A copy of an existing entry inserted after it.
    let mut v = f.export.clone();
    let copy = entries(&mut v)[5].clone();
    entries(&mut v).insert(6, copy);
    let err = f.expect_fail(&v, FailureKind::WrongIndex, Some(6));
    assert!(
        err.message.contains("inserted, duplicated or reordered"),
        "{err}"
    );
}

#[test]
fn swapping_two_entries_is_detected() {
    let f = fixture();
    let mut v = f.export.clone();
    entries(&mut v).swap(5, 6);
    f.expect_fail(&v, FailureKind::WrongIndex, Some(5));

    // Whole entries swapped and renumbered: the heads give it away.
    renumber(&mut v);
    f.expect_fail(&v, FailureKind::WrongTreeSize, Some(5));

    // Only the leaves and records swapped, everything else in place.
    let mut v = f.export.clone();
    let es = entries(&mut v);
    let (a, b) = (es[5].clone(), es[6].clone());
    for (dst, src) in [(5, &b), (6, &a)] {
        es[dst]["leaf_b64"] = src["leaf_b64"].clone();
        es[dst]["record"] = src["record"].clone();
    }
    f.expect_fail(&v, FailureKind::RootMismatch, Some(5));

    // Two entries far apart.
    let mut v = f.export.clone();
    entries(&mut v).swap(2, 25);
    renumber(&mut v);
    f.expect_fail(&v, FailureKind::WrongTreeSize, Some(2));
}

#[test]
fn truncating_the_end_is_detected_with_a_trusted_head() {
    let f = fixture();
    let mut v = f.export.clone();
    entries(&mut v).truncate(15);
    let err = f.expect_fail(&v, FailureKind::Truncated, Some(15));
    assert_eq!(
        err.message,
        "the export ends at 15 entries but the trusted head you saved covers 20: entries were removed from the end"
    );
    // A truncated export is itself a valid log prefix: without a saved head
    // there is nothing to show entries are missing. That is what the
    // trusted head is for.
    assert_eq!(f.verify(&v, None).unwrap().tree_size, 15);

    // Cutting just the last entry, against the latest head.
    let mut v = f.export.clone();
    entries(&mut v).pop();
    let head = f.log.checkpoint();
    let err = f.verify(&v, Some(&head)).unwrap_err();
    assert_eq!(
        (err.kind, err.entry),
        (FailureKind::Truncated, Some(TOTAL - 1))
    );
}

#[test]
fn altered_or_foreign_heads_and_keys_are_rejected() {
    let f = fixture();
    // One byte of an entry's signed head (its root line) changed.
    let mut v = f.export.clone();
    let cp = entries(&mut v)[8]["checkpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let lines: Vec<&str> = cp.split('\n').collect();
    let mut root = B64.decode(lines[2]).unwrap();
    root[0] ^= 0x80;
    let altered = cp.replacen(lines[2], &B64.encode(root), 1);
    entries(&mut v)[8]["checkpoint"] = altered.into();
    let err = f.expect_fail(&v, FailureKind::BadSignature, Some(8));
    assert!(err.message.contains("does not verify"), "{err}");

    // Another log's key (even with the same name) verifies nothing.
    let other = NoteSigner::generate(DEFAULT_ORIGIN).unwrap();
    let err =
        verify_export(&f.export.to_string(), &other.verifier().to_string(), None).unwrap_err();
    assert_eq!((err.kind, err.entry), (FailureKind::BadSignature, Some(0)));
    let err = verify_export(
        &f.export.to_string(),
        &NoteSigner::generate("another-log")
            .unwrap()
            .verifier()
            .to_string(),
        None,
    )
    .unwrap_err();
    assert_eq!(err.kind, FailureKind::WrongLog);

    // A trusted head signed by someone else, or not a head at all.
    let fake = Checkpoint {
        origin: DEFAULT_ORIGIN.into(),
        size: 3,
        root: [0; 32],
    }
    .sign(&other)
    .unwrap();
    let err = f.verify(&f.export, Some(&fake)).unwrap_err();
    assert_eq!((err.kind, err.entry), (FailureKind::BadTrustedHead, None));
    assert_eq!(
        f.verify(&f.export, Some("hello")).unwrap_err().kind,
        FailureKind::BadTrustedHead
    );

    // Garbage inputs.
    assert_eq!(
        verify_export("{}", &f.key, None).unwrap_err().kind,
        FailureKind::BadExport
    );
    assert_eq!(
        verify_export(&f.export.to_string(), "not a key", None)
            .unwrap_err()
            .kind,
        FailureKind::BadPublicKey
    );
    let mut v = f.export.clone();
    entries(&mut v)[4]["leaf_b64"] = "***".into();
    f.expect_fail(&v, FailureKind::BadLeaf, Some(4));
}

#[test]
fn a_rewritten_history_signed_by_the_same_key_is_a_fork() {
    // Two copies of one log diverge after 10 entries; both are signed by the
    // log's key. A head saved from one exposes the other.
    let f = fixture();
    let dir_a = tempfile::tempdir().unwrap();
    let dir_b = tempfile::tempdir().unwrap();
    {
        let a = TransparencyLog::open(dir_a.path(), DEFAULT_ORIGIN).unwrap();
        for i in 0..10 {
            a.append(&record(i)).unwrap();
        }
    }
    for name in ["log-signing.key", "log-entries", "log-checkpoints"] {
        std::fs::copy(dir_a.path().join(name), dir_b.path().join(name)).unwrap();
    }
    let a = TransparencyLog::open(dir_a.path(), DEFAULT_ORIGIN).unwrap();
    let b = TransparencyLog::open(dir_b.path(), DEFAULT_ORIGIN).unwrap();
    for i in 10..14 {
        a.append(&record(i)).unwrap();
        b.append(&record(i + 100)).unwrap();
    }
    let saved_from_a = a.checkpoint_at(12).unwrap();
    let export_b = serde_json::to_string(&b.export().unwrap()).unwrap();
    let key = b.verifier_key();
    assert!(verify_export(&export_b, &key, None).is_ok());
    let err = verify_export(&export_b, &key, Some(&saved_from_a)).unwrap_err();
    assert_eq!((err.kind, err.entry), (FailureKind::Fork, None));
    assert!(err.message.contains("rewrote its history"), "{err}");
    // A head from before the split is fine.
    let before = a.checkpoint_at(10).unwrap();
    assert!(verify_export(&export_b, &key, Some(&before)).is_ok());
    drop(f);
}

#[test]
fn a_signed_but_non_canonical_leaf_is_flagged() {
    // Built by hand with the log's own key, as a misbehaving operator could:
    // a leaf with a duplicated key reads differently to different parsers.
    let dir = tempfile::tempdir().unwrap();
    let log = TransparencyLog::open(dir.path(), DEFAULT_ORIGIN).unwrap();
    drop(log);
    let key_text = std::fs::read_to_string(dir.path().join("log-signing.key")).unwrap();
    let signer = NoteSigner::parse(&key_text).unwrap();
    let leaves: Vec<Vec<u8>> = vec![
        record(1).leaf_bytes(),
        br#"{"type":"export","subject":"1","subject":"2","time_ms":5,"region":"eu"}"#.to_vec(),
    ];
    let mut tree = Tree::new();
    let mut es = Vec::new();
    for (i, l) in leaves.iter().enumerate() {
        tree.push(merkle::leaf_hash(l));
        let head = Checkpoint {
            origin: DEFAULT_ORIGIN.into(),
            size: i as u64 + 1,
            root: tree.root(),
        }
        .sign(&signer)
        .unwrap();
        es.push(serde_json::json!({
            "index": i,
            "leaf_b64": B64.encode(l),
            "record": serde_json::from_slice::<Value>(l).unwrap(),
            "checkpoint": head,
        }));
    }
    let export = serde_json::json!({
        "format": "flick-transparency-log-export/v1",
        "origin": DEFAULT_ORIGIN,
        "entries": es,
    });
    let key = signer.verifier().to_string();
    let err = verify_export(&export.to_string(), &key, None).unwrap_err();
    assert_eq!(
        (err.kind, err.entry),
        (FailureKind::NonCanonicalLeaf, Some(1))
    );

    // The first entry alone, built the same way, verifies: the verifier
    // depends on the documented format, not on this crate's log code.
    let mut one = export.clone();
    entries(&mut one).truncate(1);
    assert_eq!(
        verify_export(&one.to_string(), &key, None)
            .unwrap()
            .tree_size,
        1
    );
}
