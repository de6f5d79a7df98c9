//! The access gate and the transparency log, as the services use them.
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
//!
//! Errors are [`TrustError`]s, not HTTP errors: the HTTP layer maps them to
//! its codes, and a node without it (a worker) reports them as they are.
use flick_domain::{
    AccessLog, AccessRequest, GateError, GatePermit, Refusal, UserId, PURPOSE_CHARS,
};
use flick_trust::{Decision, Record, TransparencyLog};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// What the gate or the log could not do.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The log, its signing key or the pseudonym secret could not be
    /// opened (at start).
    #[error("{0}")]
    Open(String),
    /// An append failed, so the access it records must not happen: the
    /// gate fails closed.
    #[error("the transparency log cannot be written: {0}")]
    LogUnavailable(String),
    #[error("the transparency log cannot be read: {0}")]
    LogUnreadable(String),
    /// The gate's rule said no (the refusal itself is in the log, unless
    /// it was a repeated refusal of someone without a staff role).
    #[error("access refused: {0}")]
    Refused(Refusal),
}

pub struct Trust {
    pub log: Arc<TransparencyLog>,
    salt: [u8; 32],
    /// The regions this node holds, e.g. `us` or `us+eu`: the node's name in
    /// records of refusals at the region boundary.
    pub node_regions: String,
    /// Refusals of people without a staff role, recorded per actor.
    refusals: governor::DefaultKeyedRateLimiter<UserId>,
}

/// Refusals of one non-staff account recorded in the log: a few an hour
/// show the pattern; more would only let them write to the log.
const RECORDED_REFUSALS_PER_HOUR: u32 = 3;

/// The role under which the storage layer's refusals at the region
/// boundary are logged: no person asked, the node's code did.
pub const NODE_ROLE: &str = "node";

impl Trust {
    /// Opens the log in `dir`, creating its signing key and the pseudonym
    /// secret on first start.
    pub fn open(dir: &Path, origin: &str, node_regions: &str) -> Result<Self, TrustError> {
        let log =
            TransparencyLog::open(dir, origin).map_err(|e| TrustError::Open(e.to_string()))?;
        let salt_path = dir.join("subject-secret");
        let salt = match std::fs::read(&salt_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let salt = new_secret();
                write_secret(&salt_path, &salt).map_err(|e| {
                    TrustError::Open(format!("cannot write {}: {e}", salt_path.display()))
                })?;
                salt
            }
            Err(e) => {
                return Err(TrustError::Open(format!(
                    "cannot read {}: {e}",
                    salt_path.display()
                )))
            }
        };
        let salt = salt.try_into().map_err(|_| {
            TrustError::Open(format!(
                "{} is damaged (expected 32 bytes)",
                salt_path.display()
            ))
        })?;
        Ok(Self::with(log, salt, node_regions))
    }

    /// Opens the log every node of a PostgreSQL deployment shares (see
    /// `flick_trust::LogTable`): one history, one key and one pseudonym
    /// secret, whichever node writes or reads.
    ///
    /// `own_dir` is where this node kept a log of its own before the nodes
    /// shared one. Such a log with entries is never silently left behind:
    /// while the database has no log yet, the start is refused until
    /// `flick migrate` carries it over; once the database has one, the old
    /// log stays where it is, for its auditors, and a warning says so.
    pub fn open_shared(
        rows: flick_store::SharedLogRows,
        origin: &str,
        node_regions: &str,
        own_dir: &Path,
    ) -> Result<Self, TrustError> {
        let open = |e: flick_trust::LogError| TrustError::Open(e.to_string());
        let table: Arc<dyn flick_trust::LogTable> = Arc::new(SharedRows(rows));
        let entries = own_dir.join(flick_trust::log::ENTRIES_FILE);
        if std::fs::metadata(&entries).is_ok_and(|m| m.len() > 0) {
            let own_key = std::fs::read_to_string(own_dir.join(flick_trust::log::KEY_FILE))
                .unwrap_or_default();
            match flick_trust::log::stored_key(&*table, origin).map_err(open)? {
                None => {
                    return Err(TrustError::Open(format!(
                        "this node keeps a transparency log of its own in {}, from before the nodes shared one in the database: carry it over with `flick migrate --from <this data dir> --to <config>` while the nodes are stopped, or move that folder aside to start a new log",
                        own_dir.display()
                    )))
                }
                Some(shared) if shared.trim() != own_key.trim() => tracing::warn!(
                    dir = %own_dir.display(),
                    "this node's own transparency log is no longer written: the nodes share the log in the database; keep the folder for the auditors of its history"
                ),
                Some(_) => {}
            }
        }
        let log = TransparencyLog::open_shared(table, origin).map_err(open)?;
        let salt = log
            .shared_secret(SUBJECT_SECRET, &mut new_secret)
            .map_err(open)?
            .expect("a shared log has shared secrets");
        let salt = salt.try_into().map_err(|_| {
            TrustError::Open("the stored pseudonym secret is damaged (expected 32 bytes)".into())
        })?;
        Ok(Self::with(log, salt, node_regions))
    }

    /// Copies the log in `dir` (one machine's) into the shared rows, with
    /// its key and pseudonym secret, so a deployment that moves to
    /// PostgreSQL keeps its one history and its users' pseudonyms. Returns
    /// the number of entries; the copy has been checked to issue the same
    /// signed head.
    pub fn copy_to_shared(
        dir: &Path,
        origin: &str,
        rows: flick_store::SharedLogRows,
    ) -> Result<u64, TrustError> {
        let open = |e: flick_trust::LogError| TrustError::Open(e.to_string());
        let files = Self::open(dir, origin, "")?;
        // The pseudonym secret first, the log after: the log's key, stored
        // last, marks the copy whole.
        let salt = rows
            .secret(origin, SUBJECT_SECRET, Some(|| files.salt.to_vec()))
            .map_err(|e| TrustError::Open(e.to_string()))?;
        if salt.as_deref() != Some(&files.salt[..]) {
            return Err(TrustError::Open(format!(
                "log {origin:?} in the database already has another pseudonym secret"
            )));
        }
        let shared = files
            .log
            .copy_to_table(Arc::new(SharedRows(rows)))
            .map_err(open)?;
        Ok(shared.size())
    }

    fn with(log: TransparencyLog, salt: [u8; 32], node_regions: &str) -> Self {
        let per_hour = std::num::NonZeroU32::new(RECORDED_REFUSALS_PER_HOUR).expect("positive");
        Self {
            log: Arc::new(log),
            salt,
            node_regions: node_regions.to_owned(),
            refusals: governor::DefaultKeyedRateLimiter::keyed(governor::Quota::per_hour(per_hour)),
        }
    }

    /// Reads what other nodes appended to a shared log (nothing to do for
    /// a log in files); returns the size.
    pub fn refresh(&self) -> Result<u64, TrustError> {
        self.log
            .refresh()
            .map_err(|e| TrustError::LogUnreadable(e.to_string()))
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

    /// The name a public thing (a clip, a comment, an account as the
    /// subject of a decision) has in the log: `video:…`. Keyed by the same
    /// secret, so the log alone does not say which clip a decision was
    /// about, while the platform can show its owner the record.
    pub fn thing_pseudonym(&self, kind: &str, id: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(b"thing\0");
        h.update(kind.as_bytes());
        h.update(b"\0");
        h.update(id.as_bytes());
        format!("{kind}:{}", hex::encode(&h.finalize()[..12]))
    }

    pub fn append(&self, record: &Record) -> Result<(), TrustError> {
        self.log.append(record).map(|_| ()).map_err(|e| {
            tracing::error!(error = %e, "transparency log append failed");
            TrustError::LogUnavailable(e.to_string())
        })
    }

    /// A store's refusal at the region boundary, on the record: which
    /// class of whose data (pseudonymous), which region it lives in.
    pub fn record_denial(&self, denial: &flick_store::Denial, now: i64) {
        let record = Record::Access {
            actor: format!("node:{}", denial.node_regions),
            role: NODE_ROLE.into(),
            data_class: denial.data_class.as_str().into(),
            subject: self.pseudonym(denial.subject),
            purpose: format!(
                "refused by the store: the data lives in region {}, this node holds {}",
                denial.subject_region, denial.node_regions
            ),
            time_ms: now,
            region: denial.subject_region.to_string(),
            decision: Decision::Denied,
        };
        if let Err(e) = self.log.append(&record) {
            tracing::error!(error = %e, "could not log a refusal at the region boundary");
        }
    }

    /// Lets `request.actor` read the subject's data, or refuses, through
    /// [`flick_domain::gate`]: the decision is in the log (see the
    /// [`AccessLog`] impl below) before a permit exists.
    pub fn gate(&self, request: &AccessRequest<'_>, now: i64) -> Result<GatePermit, TrustError> {
        let log = TimedLog { trust: self, now };
        flick_domain::gate(&log, request).map_err(|e| match e {
            GateError::Log(e) => e,
            GateError::Refused(refusal) => TrustError::Refused(refusal),
        })
    }

    /// Every log record about `user` (accesses to their data, their exports),
    /// read a chunk at a time.
    pub fn records_about(&self, user: UserId) -> Result<Vec<serde_json::Value>, TrustError> {
        let me = self.pseudonym(user);
        self.refresh()?;
        let mut out = Vec::new();
        self.log
            .for_each_entry(|e| {
                if e.record.get("subject").and_then(|s| s.as_str()) == Some(me.as_str()) {
                    out.push(serde_json::json!({"index": e.index, "record": e.record}));
                }
                Ok(())
            })
            .map_err(|e| TrustError::LogUnreadable(e.to_string()))?;
        Ok(out)
    }
}

/// The transparency log as the gate's [`AccessLog`], at one moment.
struct TimedLog<'a> {
    trust: &'a Trust,
    now: i64,
}

impl AccessLog for TimedLog<'_> {
    type Error = TrustError;

    /// Every decision about a staff member is appended and fsynced, with
    /// their purpose (an overlong one cut to the limit and marked). A
    /// refusal of anyone else is recorded without its purpose text and
    /// only a few times an hour per account, so nobody can grow the
    /// permanent, public log at will.
    fn record(
        &self,
        request: &AccessRequest<'_>,
        decision: Result<(), Refusal>,
    ) -> Result<(), TrustError> {
        let trust = self.trust;
        let purpose = request.purpose.trim();
        let chars = purpose.chars().count();
        let staff = request.role.may_read_protected();
        let recorded_purpose = if !staff {
            format!("(not staff; {chars} characters not recorded)")
        } else if chars > *PURPOSE_CHARS.end() {
            let cut: String = purpose.chars().take(*PURPOSE_CHARS.end()).collect();
            format!("{cut}…")
        } else {
            purpose.to_owned()
        };
        if !staff && trust.refusals.check_key(&request.actor).is_err() {
            tracing::info!(actor = %trust.pseudonym(request.actor), "repeated refusal not recorded in the log");
            return Ok(());
        }
        trust.append(&Record::Access {
            actor: trust.pseudonym(request.actor),
            role: request.role.as_str().into(),
            data_class: request.class.as_str().into(),
            subject: trust.pseudonym(request.subject),
            purpose: recorded_purpose,
            time_ms: self.now,
            region: request.region.to_string(),
            decision: match decision {
                Ok(()) => Decision::Allowed,
                Err(_) => Decision::Denied,
            },
        })
    }
}

/// The pseudonym secret's name among a shared log's secrets.
const SUBJECT_SECRET: &str = "subject-secret";

fn new_secret() -> Vec<u8> {
    let mut salt = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut salt);
    salt
}

/// The store's rows as the log's table.
struct SharedRows(flick_store::SharedLogRows);

impl flick_trust::LogTable for SharedRows {
    fn secret(
        &self,
        origin: &str,
        name: &str,
        make: Option<&mut dyn FnMut() -> Vec<u8>>,
    ) -> Result<Option<Vec<u8>>, flick_trust::TableError> {
        Ok(self.0.secret(origin, name, make)?)
    }

    fn leaves(
        &self,
        origin: &str,
        from: u64,
        limit: u64,
    ) -> Result<Vec<(u64, Vec<u8>)>, flick_trust::TableError> {
        Ok(self.0.leaves(origin, from, limit)?)
    }

    fn insert(
        &self,
        origin: &str,
        index: u64,
        leaf: &[u8],
    ) -> Result<bool, flick_trust::TableError> {
        Ok(self.0.insert(origin, index, leaf)?)
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
