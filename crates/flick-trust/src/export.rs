//! The export file an auditor verifies offline. Pure data; the log writes it
//! ([`crate::TransparencyLog::export`]) and [`crate::verify`] checks it.
//!
//! JSON, one object:
//!
//! ```json
//! {
//!   "format": "flick-transparency-log-export/v1",
//!   "origin": "flick-transparency-log",
//!   "entries": [
//!     {
//!       "index": 0,
//!       "leaf_b64": "eyJ0eXBlIjoicmVsZWFzZSIsLi4ufQ==",
//!       "record": {"type": "release", "version": "0.1.0", "...": "..."},
//!       "checkpoint": "flick-transparency-log\n1\n<base64 root>\n\n— flick-transparency-log <base64 sig>\n"
//!     }
//!   ]
//! }
//! ```
//!
//! - `entries` are in log order; `index` counts from 0 with no gaps.
//! - `leaf_b64` is the standard base64 (with padding) of the exact leaf bytes
//!   that were hashed. They are authoritative.
//! - `record` is those bytes decoded, for reading; a verifier checks it says
//!   the same as the leaf bytes.
//! - `checkpoint` is the signed checkpoint the log issued for tree size
//!   `index + 1`, i.e. the tree that ends with this entry.

use serde::{Deserialize, Serialize};

/// The value of the `format` field of this version of the export.
pub const FORMAT: &str = "flick-transparency-log-export/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportFile {
    pub format: String,
    pub origin: String,
    pub entries: Vec<ExportEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportEntry {
    pub index: u64,
    pub leaf_b64: String,
    pub record: serde_json::Value,
    pub checkpoint: String,
}
