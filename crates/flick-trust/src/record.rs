//! What the log records. A record's leaf bytes — the bytes that are hashed
//! into the tree — are its JSON as `serde_json` writes it: the `type` tag
//! first, then the fields in the order they are declared here. Changing a
//! field's name or order would change the bytes of new records only; old
//! leaves are never re-encoded (the log stores the exact bytes it hashed).
//!
//! The enum is `#[non_exhaustive]` so new kinds of record can be added;
//! verifiers treat a record they do not know as opaque bytes and still check
//! its hash. Verifiers hold the known types to their exact bytes, so a
//! known type must never gain, lose or reorder a field: add a new type.

use serde::{Deserialize, Serialize};

/// Whether the gate let the read happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allowed,
    Denied,
}

/// One entry of the transparency log. Times are Unix milliseconds passed in
/// by the caller (this crate never reads the clock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum Record {
    /// A read of protected data by someone other than its owner.
    Access {
        /// Who read: an account id or a named service ("partner:acme").
        actor: String,
        /// The role the actor acted in (admin, moderator, support, partner).
        role: String,
        /// What kind of data (e.g. "profile", "watch_history").
        data_class: String,
        /// Whose data: an account id.
        subject: String,
        /// The purpose the actor stated.
        purpose: String,
        time_ms: i64,
        /// Where the data was processed.
        region: String,
        decision: Decision,
    },
    /// A start of the server: what code and which ranking ran from here on.
    Release {
        version: String,
        build_hash: String,
        recommender_config_hash: String,
        time_ms: i64,
    },
    /// An account's data was deleted. `subject_ref` is an opaque salted hash,
    /// never the account id, so the log holds no personal data about it.
    Deletion {
        subject_ref: String,
        time_ms: i64,
        region: String,
    },
    /// A person exported their own data.
    Export {
        subject: String,
        time_ms: i64,
        region: String,
    },
    /// A moderation decision. The subject is a pseudonym of what was
    /// decided on (e.g. `video:…`); `decision` is the id of the statement
    /// of reasons its owner received, so they can find it here.
    Moderation {
        /// The moderator, as a pseudonym.
        moderator: String,
        role: String,
        /// dismiss, label, demote, remove, restrict or suspend.
        action: String,
        /// illegal or terms.
        ground: String,
        /// The labels set, comma-separated (empty unless `action` is label).
        labels: String,
        subject: String,
        decision: i64,
        /// The decision this one reviews on appeal, 0 if none.
        appeal_of: i64,
        /// When the case was opened (its first report, or the moderator's
        /// own initiative): the time to action is `time_ms` minus this.
        case_opened_ms: i64,
        /// Whether detection or decision was automated.
        automated: bool,
        time_ms: i64,
    },
    /// A report was filed. The reporter is not named. A repeat report by
    /// the same reporter of an undecided case replaces the earlier one and
    /// carries its `report` id: count the latest record of each id.
    Report {
        report: i64,
        category: String,
        /// A pseudonym of what was reported (`video:…`).
        subject: String,
        time_ms: i64,
    },
    /// A moderator put a removed clip's frame hashes on the known-bad
    /// media list (`entry`): re-uploads of it are refused from now on.
    MediaBlocked {
        moderator: String,
        role: String,
        /// A pseudonym of the clip (`video:…`), as in its `moderation`
        /// record.
        subject: String,
        entry: i64,
        time_ms: i64,
    },
    /// An upload was refused because it matched the known-bad media list
    /// entry `entry`; nothing of it was kept.
    UploadBlocked {
        /// The uploader, as a pseudonym.
        uploader: String,
        entry: i64,
        time_ms: i64,
    },
}

impl Record {
    /// The `type` tags this version knows; a verifier holds leaves of these
    /// types to the exact bytes [`Record::leaf_bytes`] writes.
    pub const TYPES: [&'static str; 8] = [
        "access",
        "release",
        "deletion",
        "export",
        "moderation",
        "report",
        "media_blocked",
        "upload_blocked",
    ];

    /// The leaf bytes: the canonical JSON that is hashed into the tree.
    pub fn leaf_bytes(&self) -> Vec<u8> {
        // Serialising plain strings, integers and unit enums cannot fail.
        serde_json::to_vec(self).expect("a Record always serialises")
    }

    /// The `type` tag, e.g. "access".
    pub fn type_name(&self) -> &'static str {
        match self {
            Record::Access { .. } => "access",
            Record::Release { .. } => "release",
            Record::Deletion { .. } => "deletion",
            Record::Export { .. } => "export",
            Record::Moderation { .. } => "moderation",
            Record::Report { .. } => "report",
            Record::MediaBlocked { .. } => "media_blocked",
            Record::UploadBlocked { .. } => "upload_blocked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_bytes_are_stable_json() {
        let r = Record::Access {
            actor: "42".into(),
            role: "moderator".into(),
            data_class: "profile".into(),
            subject: "7".into(),
            purpose: "report #12 review".into(),
            time_ms: 1_700_000_000_000,
            region: "eu".into(),
            decision: Decision::Allowed,
        };
        assert_eq!(
            String::from_utf8(r.leaf_bytes()).unwrap(),
            r#"{"type":"access","actor":"42","role":"moderator","data_class":"profile","subject":"7","purpose":"report #12 review","time_ms":1700000000000,"region":"eu","decision":"allowed"}"#
        );
        let back: Record = serde_json::from_slice(&r.leaf_bytes()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.type_name(), "access");
        let rel = Record::Release {
            version: "0.1.0".into(),
            build_hash: "abc".into(),
            recommender_config_hash: "def".into(),
            time_ms: 1,
        };
        assert_eq!(rel.type_name(), "release");
        assert_eq!(
            String::from_utf8(rel.leaf_bytes()).unwrap(),
            r#"{"type":"release","version":"0.1.0","build_hash":"abc","recommender_config_hash":"def","time_ms":1}"#
        );
    }

    #[test]
    fn types_lists_every_variant() {
        let all = [
            Record::Access {
                actor: String::new(),
                role: String::new(),
                data_class: String::new(),
                subject: String::new(),
                purpose: String::new(),
                time_ms: 0,
                region: String::new(),
                decision: Decision::Denied,
            },
            Record::Release {
                version: String::new(),
                build_hash: String::new(),
                recommender_config_hash: String::new(),
                time_ms: 0,
            },
            Record::Deletion {
                subject_ref: String::new(),
                time_ms: 0,
                region: String::new(),
            },
            Record::Export {
                subject: String::new(),
                time_ms: 0,
                region: String::new(),
            },
            Record::Moderation {
                moderator: String::new(),
                role: String::new(),
                action: String::new(),
                ground: String::new(),
                labels: String::new(),
                subject: String::new(),
                decision: 0,
                appeal_of: 0,
                case_opened_ms: 0,
                automated: false,
                time_ms: 0,
            },
            Record::Report {
                report: 0,
                category: String::new(),
                subject: String::new(),
                time_ms: 0,
            },
            Record::MediaBlocked {
                moderator: String::new(),
                role: String::new(),
                subject: String::new(),
                entry: 0,
                time_ms: 0,
            },
            Record::UploadBlocked {
                uploader: String::new(),
                entry: 0,
                time_ms: 0,
            },
        ];
        assert_eq!(all.len(), Record::TYPES.len());
        for r in &all {
            let json: serde_json::Value = serde_json::from_slice(&r.leaf_bytes()).unwrap();
            assert_eq!(json["type"], r.type_name());
            assert!(Record::TYPES.contains(&r.type_name()));
        }
    }
}
