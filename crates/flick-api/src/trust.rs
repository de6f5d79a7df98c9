//! The access gate and the transparency log, as the API uses them.
//!
//! Every read of a user's protected data by someone other than the user
//! goes through [`Trust::gate`], which appends a record to the log — and
//! fsyncs it — before the read may happen. If the log cannot be written, the
//! read is refused: the gate fails closed.
//!
//! Log records never carry an account id: subjects are pseudonyms, an HMAC
//! of the id under a secret kept in the data dir. The user's own export can
//! find their records (it knows their id); once the account is deleted,
//! nothing links a pseudonym back to a person.

use crate::error::{ApiError, ApiResult, Code};
use flick_domain::{GatePermit, UserId};
use flick_store::Role;
use flick_trust::{Decision, Record, TransparencyLog};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

pub struct Trust {
    pub log: Arc<TransparencyLog>,
    salt: [u8; 32],
    /// The regions this node holds, e.g. `us` or `us+eu`: the node's name in
    /// records of refusals at the region boundary.
    pub node_regions: String,
}

/// The role under which the storage layer's refusals at the region
/// boundary are logged: no person asked, the node's code did.
pub const NODE_ROLE: &str = "node";

/// Roles whose job may require reading someone's protected data.
fn may_read_protected(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Moderator | Role::Support)
}

/// Roles that read the log and aggregates (never protected data).
pub fn may_audit(role: Role) -> bool {
    matches!(role, Role::Auditor | Role::Admin)
}

impl Trust {
    /// Opens the log in `dir`, creating its signing key and the pseudonym
    /// secret on first start.
    pub fn open(dir: &Path, origin: &str, node_regions: &str) -> Result<Self, String> {
        let log = TransparencyLog::open(dir, origin).map_err(|e| e.to_string())?;
        let salt_path = dir.join("subject-secret");
        let salt = match std::fs::read(&salt_path) {
            Ok(bytes) if bytes.len() == 32 => bytes.try_into().expect("checked length"),
            Ok(_) => {
                return Err(format!(
                    "{} is damaged (expected 32 bytes)",
                    salt_path.display()
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut salt = [0u8; 32];
                rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut salt);
                write_secret(&salt_path, &salt)
                    .map_err(|e| format!("cannot write {}: {e}", salt_path.display()))?;
                salt
            }
            Err(e) => return Err(format!("cannot read {}: {e}", salt_path.display())),
        };
        Ok(Self {
            log: Arc::new(log),
            salt,
            node_regions: node_regions.to_owned(),
        })
    }

    /// The name a user has in the log.
    pub fn pseudonym(&self, user: UserId) -> String {
        // HMAC-like keyed hash: H(secret || id). The secret never leaves the
        // data dir, so the log alone cannot be joined back to accounts.
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(user.0.to_be_bytes());
        format!("subject:{}", hex::encode(&h.finalize()[..12]))
    }

    pub fn append(&self, record: &Record) -> ApiResult<()> {
        self.log.append(record).map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "transparency log append failed");
            ApiError::new(Code::LogUnavailable, "the transparency log cannot be written, so this access is refused; try again later")
        })
    }

    /// A store's refusal at the region boundary, on the record: which
    /// class of whose data (pseudonymous), which region it lives in.
    pub fn record_denial(&self, denial: &flick_store::Denial, now: i64) {
        let record = Record::Access {
            actor: format!("node:{}", denial.node_regions),
            role: NODE_ROLE.into(),
            data_class: denial.data_class.into(),
            subject: self.pseudonym(denial.subject),
            purpose: format!(
                "refused by the store: the data lives in region {}, this node holds {}",
                denial.subject_region, denial.node_regions
            ),
            time_ms: now,
            region: denial.subject_region.clone(),
            decision: Decision::Denied,
        };
        if let Err(e) = self.log.append(&record) {
            tracing::error!(error = %e, "could not log a refusal at the region boundary");
        }
    }

    /// Lets `actor` read `subject`'s `data_class` for `purpose`, or refuses;
    /// either way the decision is in the log before this returns. `region`
    /// is the subject's home region, where the read happens.
    #[allow(clippy::too_many_arguments)]
    pub fn gate(
        &self,
        actor: UserId,
        role: Role,
        data_class: &str,
        subject: UserId,
        region: &str,
        purpose: &str,
        now: i64,
    ) -> ApiResult<GatePermit> {
        let purpose = purpose.trim();
        let allowed = may_read_protected(role) && (10..=300).contains(&purpose.chars().count());
        self.append(&Record::Access {
            actor: self.pseudonym(actor),
            role: role.as_str().into(),
            data_class: data_class.into(),
            subject: self.pseudonym(subject),
            purpose: purpose.into(),
            time_ms: now,
            region: region.to_owned(),
            decision: if allowed {
                Decision::Allowed
            } else {
                Decision::Denied
            },
        })?;
        if !may_read_protected(role) {
            return Err(ApiError::new(
                Code::Forbidden,
                "your role may not read other people's data; the attempt has been logged",
            ));
        }
        if !allowed {
            return Err(ApiError::new(Code::PurposeRequired, "state why you need this data: `purpose` of 10 to 300 characters; the refusal has been logged"));
        }
        Ok(GatePermit::after_logged_access(subject))
    }

    /// Every log record about `user` (accesses to their data, their exports).
    pub fn records_about(&self, user: UserId) -> ApiResult<Vec<serde_json::Value>> {
        let me = self.pseudonym(user);
        let entries = self
            .log
            .entries(0, self.log.size())
            .map_err(|e| ApiError::internal("reading the log", e))?;
        Ok(entries
            .into_iter()
            .filter(|e| e.record.get("subject").and_then(|s| s.as_str()) == Some(me.as_str()))
            .map(|e| serde_json::json!({"index": e.index, "record": e.record}))
            .collect())
    }
}

fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
