//! The transcoding queue. It lives in the database so that a job survives a
//! crash, and a runner holds the job it runs by a lease: it renews the
//! lease while it works, and a running job whose lease has lapsed (its
//! runner died, or lost the database) is claimed again by any runner.

use crate::db::{params, OptionalExtension};
use crate::{Result, Store};
use flick_domain::{Caption, SoundId, UserId, VideoId};

/// A job that keeps killing its runner (or keeps being interrupted) is
/// failed on its next claim rather than retried forever.
pub const MAX_JOB_ATTEMPTS: i64 = 5;

/// Who holds a job's lease: one runner, named uniquely per process so that
/// a restarted node is a new holder. Letters, digits, `-`, `_` and `.`,
/// at most 64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder(String);

impl LeaseHolder {
    pub fn parse(name: &str) -> Option<Self> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        ok.then(|| Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A claim's terms: who holds the job, and for how long (ms) each claim or
/// renewal holds it.
#[derive(Debug, Clone)]
pub struct Lease {
    pub holder: LeaseHolder,
    pub ttl_ms: i64,
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub video_id: VideoId,
    pub author_id: UserId,
    pub author_handle: String,
    /// The sound this upload reuses, if it asked for one.
    pub sound_of: Option<SoundId>,
    /// Claims so far, this one included.
    pub attempts: i64,
    /// Who claimed it: only they may renew or finish it, and only this
    /// claim (`attempts` tells a runner's claims of one job apart).
    pub holder: LeaseHolder,
}

pub enum JobOutcome {
    Ready {
        duration_ms: i64,
        width: i64,
        height: i64,
        sound: Option<SoundId>,
        /// Set when `sound` is new: this clip introduced it.
        new_sound_title: Option<String>,
    },
    Failed {
        reason: String,
    },
}

/// What [`Store::finish_job`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Finish {
    Recorded,
    /// The lease lapsed and another runner claimed the job: nothing was
    /// recorded, and the result is that runner's to give.
    LeaseLost,
    /// The job is gone: its upload was deleted with its account.
    Gone,
}

/// Why a job was failed without running again.
const TOO_MANY_ATTEMPTS: &str =
    "the clip could not be processed after several attempts; try exporting it again from your camera or editor";

impl Store {
    /// Puts every running job back in the queue, whoever held it. Only for
    /// a node that knows it is the store's one runner (an SQLite data dir,
    /// which one process holds locked), once at start, before it claims:
    /// its jobs then resume at once instead of when their leases lapse.
    pub fn requeue_interrupted_jobs(&self, now: i64) -> Result<usize> {
        Ok(self.write().execute(
            "UPDATE jobs SET state = 'queued', lease_holder = NULL, lease_until = NULL, updated_at = ?1
             WHERE state = 'running'",
            [now],
        )?)
    }

    /// Takes the oldest job that is queued, or running under a lapsed
    /// lease, and leases it to `lease.holder` until `now + lease.ttl_ms`.
    /// A job claimed [`MAX_JOB_ATTEMPTS`] times already is failed instead
    /// (its upload too, with a reason), and the next one taken.
    pub fn claim_job(&self, now: i64, lease: &Lease) -> Result<Option<Job>> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        // On PostgreSQL several nodes claim at once: the row is locked for
        // this transaction, and a job another node is claiming right now
        // is skipped rather than waited for (and claimed twice). On SQLite
        // the transaction holds the file's write lock, which does the same.
        let lock = match tx.dialect() {
            crate::db::Dialect::Postgres => " FOR UPDATE OF j SKIP LOCKED",
            crate::db::Dialect::Sqlite => "",
        };
        let claimable = format!(
            "SELECT j.id, j.video_id, p.author_id, u.handle, p.sound_of, j.attempts
             FROM jobs j JOIN uploads p ON p.id = j.video_id JOIN users u ON u.id = p.author_id
             WHERE j.state = 'queued'
                OR (j.state = 'running' AND (j.lease_until IS NULL OR j.lease_until <= ?1))
             ORDER BY j.id LIMIT 1{lock}"
        );
        let job = loop {
            let job = tx
                .query_row(&claimable, [now], |r| {
                    Ok(Job {
                        id: r.get(0)?,
                        video_id: VideoId(r.get(1)?),
                        author_id: UserId(r.get(2)?),
                        author_handle: r.get(3)?,
                        sound_of: r.get::<_, Option<i64>>(4)?.map(SoundId),
                        attempts: r.get(5)?,
                        holder: lease.holder.clone(),
                    })
                })
                .optional()?;
            let Some(mut job) = job else { break None };
            if job.attempts >= MAX_JOB_ATTEMPTS {
                tx.execute(
                    "UPDATE uploads SET status = 'failed', failure_reason = ?2 WHERE id = ?1 AND status = 'processing'",
                    params![job.video_id.0, TOO_MANY_ATTEMPTS],
                )?;
                tx.execute(
                    "UPDATE jobs SET state = 'failed', lease_holder = NULL, lease_until = NULL, updated_at = ?2
                     WHERE id = ?1",
                    params![job.id, now],
                )?;
                tracing::warn!(video_id = %job.video_id, attempts = job.attempts, "job failed: too many attempts");
                continue;
            }
            tx.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_holder = ?2,
                        lease_until = ?3, updated_at = ?4
                 WHERE id = ?1",
                params![
                    job.id,
                    lease.holder.as_str(),
                    now.saturating_add(lease.ttl_ms),
                    now
                ],
            )?;
            job.attempts += 1;
            break Some(job);
        };
        tx.commit()?;
        Ok(job)
    }

    /// Extends `job`'s lease to `now + ttl_ms`; false when its holder no
    /// longer holds it (it lapsed and another runner claimed the job, or
    /// the job is gone), so the runner should give it up.
    pub fn renew_job_lease(&self, job: &Job, now: i64, ttl_ms: i64) -> Result<bool> {
        let renewed = self.write().execute(
            "UPDATE jobs SET lease_until = ?3
             WHERE id = ?1 AND state = 'running' AND lease_holder = ?2 AND attempts = ?4",
            params![
                job.id,
                job.holder.as_str(),
                now.saturating_add(ttl_ms),
                job.attempts
            ],
        )?;
        Ok(renewed == 1)
    }

    /// Gives back a claim its runner is stopping without finishing (a clean
    /// shutdown): the job is queued again at once, for any runner, and the
    /// claim does not count as an attempt. False if the claim no longer
    /// held the job.
    pub fn release_job(&self, job: &Job, now: i64) -> Result<bool> {
        let released = self.write().execute(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_holder = NULL,
                    lease_until = NULL, updated_at = ?4
             WHERE id = ?1 AND state = 'running' AND lease_holder = ?2 AND attempts = ?3",
            params![job.id, job.holder.as_str(), job.attempts, now],
        )?;
        Ok(released == 1)
    }

    /// Records a job's result and the video's new status in one
    /// transaction. A successful transcode publishes the video: its public
    /// row, hashtags, mentions and sound appear together, unless the author
    /// deleted the upload meanwhile. Nothing is recorded unless `job.holder`
    /// still holds the job ([`Finish::LeaseLost`]). A lease that lapsed
    /// without anyone claiming the job still counts: the work is done.
    pub fn finish_job(&self, job: &Job, outcome: &JobOutcome, now: i64) -> Result<Finish> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let claim: Option<(String, Option<String>, i64)> = tx
            .query_row(
                "SELECT state, lease_holder, attempts FROM jobs WHERE id = ?1",
                [job.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match claim {
            None => return Ok(Finish::Gone),
            Some((state, holder, attempts))
                if state != "running"
                    || holder.as_deref() != Some(job.holder.as_str())
                    || attempts != job.attempts =>
            {
                return Ok(Finish::LeaseLost)
            }
            Some(_) => {}
        }
        let upload: Option<(String, String, i64, String)> = tx
            .query_row(
                "SELECT caption, status, created_at, labels FROM uploads WHERE id = ?1",
                [job.video_id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let still_wanted = matches!(&upload, Some((_, status, _, _)) if status == "processing");
        match outcome {
            JobOutcome::Ready {
                duration_ms,
                width,
                height,
                sound,
                new_sound_title,
            } if still_wanted => {
                let (caption, _, created_at, labels) = upload.expect("checked above");
                if let (Some(sound), Some(title)) = (sound, new_sound_title) {
                    tx.execute(
                        "INSERT INTO sounds (id, origin_video_id, author_id, title, created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                        params![sound.0, job.video_id.0, job.author_id.0, title, now],
                    )?;
                }
                tx.execute(
                    // OR IGNORE: a crash can commit the public file and not the
                    // region's (the two are separate files); the retried job
                    // then completes the region's side.
                    "INSERT INTO videos (id, author_id, caption, duration_ms, width, height, sound_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
                    params![job.video_id.0, job.author_id.0, caption, duration_ms, width, height, sound.map(|s| s.0), created_at],
                )?;
                // The caption was checked at upload; parsing it again gives
                // the same tags.
                if let Ok(parsed) = Caption::parse(&caption) {
                    for (pos, tag) in parsed.hashtags().iter().enumerate() {
                        tx.execute(
                            "INSERT INTO video_hashtags (video_id, tag, position) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                            params![job.video_id.0, tag, pos],
                        )?;
                    }
                    for handle in parsed.mentions() {
                        tx.execute(
                            "INSERT INTO video_mentions (video_id, handle) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                            params![job.video_id.0, handle],
                        )?;
                    }
                }
                for label in labels.split(',').filter_map(flick_domain::Label::parse) {
                    tx.execute(
                        "INSERT INTO video_labels (video_id, label, decision, created_at)
                         VALUES (?1, ?2, NULL, ?3) ON CONFLICT DO NOTHING",
                        params![job.video_id.0, label.as_str(), now],
                    )?;
                }
                tx.execute(
                    "UPDATE uploads SET status = 'published' WHERE id = ?1",
                    [job.video_id.0],
                )?;
                tx.execute(
                    "UPDATE jobs SET state = 'done', lease_holder = NULL, lease_until = NULL, updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )?;
                crate::events::record_catalogue(&tx, job.video_id, crate::EventKind::Publish, now)?;
            }
            JobOutcome::Ready { .. } => {
                tx.execute(
                    "UPDATE jobs SET state = 'done', lease_holder = NULL, lease_until = NULL, updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )?;
            }
            JobOutcome::Failed { reason } => {
                tx.execute(
                    "UPDATE uploads SET status = 'failed', failure_reason = ?2 WHERE id = ?1 AND status = 'processing'",
                    params![job.video_id.0, reason],
                )?;
                tx.execute(
                    "UPDATE jobs SET state = 'failed', lease_holder = NULL, lease_until = NULL, updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )?;
            }
        }
        tx.commit()?;
        Ok(Finish::Recorded)
    }

    pub fn pending_jobs(&self) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
            [],
            |r| r.get(0),
        )?)
    }
}
