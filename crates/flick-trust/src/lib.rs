//! Flick's transparency log: every read of protected data by someone other
//! than its owner, and every server start, is appended to a tamper-evident,
//! append-only log that anyone holding the log's public key can check.
//!
//! The log uses only published formats, so existing transparency-log tools
//! (and a few lines of any language) can check it:
//!
//! - the Merkle tree of RFC 6962 / RFC 9162 §2.1 with SHA-256,
//! - tree heads as C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>),
//! - signed as C2SP signed notes (<https://c2sp.org/signed-note>) with Ed25519.
//!
//! # For auditors: the exact formats
//!
//! **Leaves.** Each entry's leaf is a byte string: the record as compact UTF-8
//! JSON, e.g.
//! `{"type":"access","actor":"42","role":"moderator","data_class":"profile","subject":"7","purpose":"report review","time_ms":1700000000000,"region":"eu","decision":"allowed"}`.
//! Exports and the API give these exact bytes as standard base64 (`leaf_b64`)
//! beside the decoded record; the bytes are what is hashed and signed.
//! Record types: `access`, `release` (a server start: `version`, `build_hash`,
//! `recommender_config_hash`), `deletion` (`subject_ref` is an opaque salted
//! hash) and `export`. More types may be added; check unknown ones by hash.
//!
//! **Hashes.** `leaf hash = SHA-256(0x00 || leaf bytes)`;
//! `node hash = SHA-256(0x01 || left || right)`. The root of n leaves is the
//! RFC 9162 §2.1.1 Merkle Tree Hash: for n = 0, SHA-256 of nothing; for n = 1,
//! the leaf hash; for n > 1, with k the largest power of two below n,
//! `node hash(root of leaves[0..k], root of leaves[k..n])`.
//!
//! **Checkpoint** (signed tree head). Its text is exactly three lines:
//!
//! ```text
//! <origin>
//! <tree size, decimal, no leading zeros>
//! <root hash, standard base64 with padding>
//! ```
//!
//! each ending in `\n`. The origin is the log's name (by default
//! `flick-transparency-log`) and is also its key's name.
//!
//! **Signed note.** The checkpoint text, then an empty line, then one line
//! `— <key name> <base64(key ID || signature)>\n` (U+2014 em dash, a space).
//! The key ID is 4 bytes, `SHA-256(key name || 0x0A || 0x01 || public key)[0..4]`;
//! the signature is the 64-byte Ed25519 signature (RFC 8032) of the checkpoint
//! text, including its final newline. Ignore lines from other keys.
//!
//! **Public (verifier) key.** One line,
//! `<key name>+<key ID as 8 lowercase hex digits>+<base64(0x01 || 32-byte Ed25519 public key)>`,
//! the format Go's `golang.org/x/mod/sumdb/note` and the transparency-dev
//! tools read.
//!
//! **Checking a checkpoint in Python** (with the `cryptography` package):
//!
//! ```python
//! import base64, hashlib
//! from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
//!
//! def verify_checkpoint(note: str, vkey: str):
//!     name, key_id, key_b64 = vkey.strip().split("+", 2)
//!     key = base64.b64decode(key_b64)                       # 0x01 || public key
//!     assert key[0] == 1 and len(key) == 33
//!     assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == key_id
//!     cut = note.rindex("\n\n")
//!     text, sigs = note[:cut + 1], note[cut + 2:]
//!     for line in sigs.splitlines():
//!         dash, signer, sig_b64 = line.split(" ")
//!         sig = base64.b64decode(sig_b64)
//!         if dash == "\u2014" and signer == name and sig[:4].hex() == key_id:
//!             # raises InvalidSignature if the note was altered
//!             Ed25519PublicKey.from_public_bytes(key[1:]).verify(sig[4:], text.encode())
//!             origin, size, root = text.split("\n")[:3]
//!             assert origin == name
//!             return int(size), base64.b64decode(root)
//!     raise ValueError("not signed by this key")
//!
//! def root(leaves):  # leaves: list of leaf byte strings
//!     if not leaves:
//!         return hashlib.sha256(b"").digest()
//!     if len(leaves) == 1:
//!         return hashlib.sha256(b"\x00" + leaves[0]).digest()
//!     k = 1 << ((len(leaves) - 1).bit_length() - 1)
//!     return hashlib.sha256(b"\x01" + root(leaves[:k]) + root(leaves[k:])).digest()
//! ```
//!
//! An export's entries are correct when, for every entry `i`,
//! `verify_checkpoint(entry["checkpoint"], vkey) == (i + 1, root(leaves[0..i+1]))`.
//! Inclusion and consistency proofs the log serves follow RFC 9162 §2.1.3 and
//! §2.1.4 and verify with any RFC 6962 library.
//!
//! # Modules
//!
//! - [`merkle`], [`note`], [`checkpoint`], [`record`], [`export`] and
//!   [`verify`] are pure: no IO, no clock.
//! - [`log`] is the log on disk ([`TransparencyLog`]): the only IO.

pub mod checkpoint;
pub mod export;
pub mod label;
pub mod log;
pub mod merkle;
pub mod note;
pub mod record;
pub mod verify;

pub use checkpoint::Checkpoint;
pub use export::{ExportEntry, ExportFile};
pub use label::{LabelStatement, Labeller};
pub use log::{AppendReceipt, Entry, Error as LogError, LogTable, TableError, TransparencyLog};
pub use merkle::Hash;
pub use note::{NoteSigner, NoteVerifier};
pub use record::{Decision, Record};
pub use verify::{verify_export, FailureKind, VerifyFailure, VerifyReport};

/// The origin the server uses unless configured otherwise.
pub const DEFAULT_ORIGIN: &str = "flick-transparency-log";
