//! The offline verifier an auditor runs on an export (see [`crate::export`]).
//! Pure: the caller reads the files.
//!
//! It rebuilds the tree from the leaf bytes, one entry at a time, and checks
//! that after each entry the log's signed head for that size matches. The
//! first entry where that fails is the one named: every entry before it is
//! covered by a valid signed head, so the problem is at that entry.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::export::{ExportFile, FORMAT};
use crate::merkle::{self, Hash, Tree};
use crate::note::{NoteError, NoteVerifier};
use crate::record::Record;

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub entries_checked: u64,
    pub tree_size: u64,
    pub root: Hash,
    /// The signed head of the final tree size (None for an empty export).
    pub final_checkpoint: Option<String>,
    /// Entries by their record `type`.
    pub counts: BTreeMap<String, u64>,
    /// The size of the trusted head shown to be a prefix of this log.
    pub trusted_size: Option<u64>,
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "OK: {} entries verified; every entry is covered by a tree head signed by the log's key.",
            self.entries_checked
        )?;
        writeln!(
            f,
            "tree size {}, root {}",
            self.tree_size,
            hex::encode(self.root)
        )?;
        for (t, n) in &self.counts {
            writeln!(f, "  {t}: {n}")?;
        }
        if let Some(m) = self.trusted_size {
            writeln!(
                f,
                "The trusted head you saved (size {m}) is a prefix of this log: nothing it covered was changed or removed."
            )?;
        }
        Ok(())
    }
}

/// The kind of problem, for programs; people read [`VerifyFailure::message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The public key is not a valid verifier key.
    BadPublicKey,
    /// The export is not a readable export file.
    BadExport,
    /// The export is from another log than the key's.
    WrongLog,
    /// An entry's index is not the next one: entries missing or out of order.
    WrongIndex,
    /// An entry's leaf is not valid base64 or not a JSON record.
    BadLeaf,
    /// An entry's head is missing, malformed or not signed by the key.
    BadSignature,
    /// An entry's head is for another tree size.
    WrongTreeSize,
    /// An entry's head does not match the tree recomputed from the leaves.
    RootMismatch,
    /// The decoded record shown beside a leaf does not match the leaf bytes.
    RecordMismatch,
    /// A leaf is not in the exact form the log writes.
    NonCanonicalLeaf,
    /// The trusted head is not a valid head signed by the key.
    BadTrustedHead,
    /// The export ends before the trusted head's size.
    Truncated,
    /// The trusted head and the export disagree: the log's history changed.
    Fork,
}

/// Why an export did not verify. `entry` is the first bad entry, when the
/// problem can be pinned to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyFailure {
    pub entry: Option<u64>,
    pub kind: FailureKind,
    pub message: String,
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VerifyFailure {}

fn fail(entry: Option<u64>, kind: FailureKind, message: String) -> VerifyFailure {
    VerifyFailure {
        entry,
        kind,
        message,
    }
}

/// Verifies an export against the log's verifier key and, optionally, a
/// signed checkpoint the auditor saved earlier.
pub fn verify_export(
    export_json: &str,
    verifier_key: &str,
    trusted_head: Option<&str>,
) -> Result<VerifyReport, VerifyFailure> {
    let verifier = NoteVerifier::parse(verifier_key).map_err(|e| {
        fail(
            None,
            FailureKind::BadPublicKey,
            format!("the public key is not a signed-note verifier key (name+hash+base64): {e}"),
        )
    })?;
    let export: ExportFile = serde_json::from_str(export_json).map_err(|e| {
        fail(
            None,
            FailureKind::BadExport,
            format!("the export file is not a Flick transparency log export: {e}"),
        )
    })?;
    if export.format != FORMAT {
        return Err(fail(
            None,
            FailureKind::BadExport,
            format!(
                "the export is in format {:?}; this verifier reads {FORMAT:?}",
                export.format
            ),
        ));
    }
    if export.origin != verifier.name() {
        return Err(fail(
            None,
            FailureKind::WrongLog,
            format!(
                "the export is from log {:?} but the public key is for log {:?}: use the key of the log that made the export",
                export.origin,
                verifier.name()
            ),
        ));
    }
    // Check the trusted head first: a bad one is a problem with the input,
    // and its size is needed to explain a short export.
    let trusted = trusted_head
        .map(|t| {
            Checkpoint::verify(t, &verifier).map_err(|e| {
                fail(
                    None,
                    FailureKind::BadTrustedHead,
                    format!(
                        "the trusted head you gave is not a checkpoint signed by this public key: {}",
                        describe(&e)
                    ),
                )
            })
        })
        .transpose()?;

    let mut tree = Tree::new();
    let mut counts = BTreeMap::new();
    for (pos, e) in export.entries.iter().enumerate() {
        let i = pos as u64;
        let size = i + 1;
        if e.index != i {
            let message = if e.index > i {
                format!(
                    "entry {i}: expected entry {i} here but found entry {}: entries were removed or reordered",
                    e.index
                )
            } else {
                format!(
                    "entry {i}: found entry {} again where entry {i} should be: entries were inserted, duplicated or reordered",
                    e.index
                )
            };
            return Err(fail(Some(i), FailureKind::WrongIndex, message));
        }
        let leaf = B64.decode(&e.leaf_b64).map_err(|_| {
            fail(
                Some(i),
                FailureKind::BadLeaf,
                format!(
                    "entry {i}: its leaf_b64 is not valid base64: the entry was damaged or edited"
                ),
            )
        })?;
        tree.push(merkle::leaf_hash(&leaf));

        let cp = Checkpoint::verify(&e.checkpoint, &verifier).map_err(|err| {
            fail(
                Some(i),
                FailureKind::BadSignature,
                format!(
                    "entry {i}: its tree head is not a valid checkpoint signed by the log's key ({}): the head was forged or altered, or the entry was inserted",
                    describe(&err)
                ),
            )
        })?;
        if cp.size != size {
            return Err(fail(
                Some(i),
                FailureKind::WrongTreeSize,
                format!(
                    "entry {i}: its signed tree head is for size {}, not {size}: entries were inserted, removed or reordered here",
                    cp.size
                ),
            ));
        }
        if cp.root != tree.root() {
            return Err(fail(
                Some(i),
                FailureKind::RootMismatch,
                format!(
                    "entry {i}: its bytes do not match the signed tree head for size {size} — the entry was changed, or entries were inserted, removed or reordered here"
                ),
            ));
        }

        // The leaf is authentic; now check what is shown beside it says
        // the same thing, and that the leaf is in the log's exact form.
        let decoded: serde_json::Value = serde_json::from_slice(&leaf).map_err(|_| {
            fail(
                Some(i),
                FailureKind::BadLeaf,
                format!("entry {i}: its signed leaf bytes are not JSON: the log wrote an unreadable record"),
            )
        })?;
        if decoded != e.record {
            return Err(fail(
                Some(i),
                FailureKind::RecordMismatch,
                format!(
                    "entry {i}: the decoded record shown beside it does not match its leaf bytes (the leaf bytes are what the log signed): the record was edited after export"
                ),
            ));
        }
        let type_name = match decoded.get("type").and_then(|t| t.as_str()) {
            Some(t) => t.to_string(),
            None => {
                return Err(fail(
                    Some(i),
                    FailureKind::BadLeaf,
                    format!("entry {i}: its signed record has no \"type\""),
                ))
            }
        };
        // Known record types must be byte-for-byte what the log writes, so a
        // leaf cannot mean different things to different JSON readers
        // (duplicate keys, odd escapes). Newer types are checked by hash only.
        if Record::TYPES.contains(&type_name.as_str()) {
            let canonical = serde_json::from_slice::<Record>(&leaf)
                .map(|r| r.leaf_bytes() == leaf)
                .unwrap_or(false);
            if !canonical {
                return Err(fail(
                    Some(i),
                    FailureKind::NonCanonicalLeaf,
                    format!("entry {i}: its signed leaf bytes are not in the exact form the log writes {type_name} records in (the log wrote an ambiguous record, or this verifier is older than the log: update it)"),
                ));
            }
        }
        *counts.entry(type_name).or_insert(0) += 1;
    }

    let n = tree.size();
    let final_root = tree.root();
    let mut trusted_size = None;
    if let Some(t) = trusted {
        if t.size > n {
            return Err(fail(
                Some(n),
                FailureKind::Truncated,
                format!(
                    "the export ends at {n} entries but the trusted head you saved covers {}: entries were removed from the end",
                    t.size
                ),
            ));
        }
        let root_then = tree
            .root_at(t.size)
            .expect("the trusted size is within the tree");
        if root_then != t.root {
            return Err(fail(
                None,
                FailureKind::Fork,
                format!(
                    "the trusted head you saved (size {}) does not match the first {} entries of this export, though both are signed by the log's key: the log rewrote its history after you saved that head — keep both files as evidence",
                    t.size, t.size
                ),
            ));
        }
        // The same conclusion by the standard route, as existing tlog tools
        // would check it: a consistency proof from the trusted head to the
        // final head, computed from the leaves.
        let proof = tree
            .consistency_proof(t.size, n)
            .expect("sizes are within the tree");
        merkle::verify_consistency(t.size, n, &t.root, &final_root, &proof).map_err(|e| {
            fail(
                None,
                FailureKind::Fork,
                format!(
                    "the trusted head (size {}) is not consistent with the final head (size {n}): {e}",
                    t.size
                ),
            )
        })?;
        trusted_size = Some(t.size);
    }

    Ok(VerifyReport {
        entries_checked: n,
        tree_size: n,
        root: final_root,
        final_checkpoint: export.entries.last().map(|e| e.checkpoint.clone()),
        counts,
        trusted_size,
    })
}

fn describe(e: &CheckpointError) -> String {
    match e {
        CheckpointError::Note(NoteError::NotSigned(_)) => "it has no signature by this key".into(),
        CheckpointError::Note(NoteError::BadSignature(_)) => {
            "its signature by this key does not verify".into()
        }
        other => other.to_string(),
    }
}
