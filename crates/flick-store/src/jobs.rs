//! The transcoding queue. It lives in the database so that a job survives a
//! crash: whatever was `running` when the process died is queued again on
//! the next start.

use crate::{Result, Store};
use flick_domain::{SoundId, UserId, VideoId};
use rusqlite::{params, OptionalExtension};

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub video_id: VideoId,
    pub author_id: UserId,
    pub author_handle: String,
    /// The sound this upload reuses, if it asked for one.
    pub sound_of: Option<SoundId>,
    pub attempts: i64,
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

impl Store {
    /// Puts jobs that were running when the process stopped back in the
    /// queue. Called once at start, before any runner claims work.
    pub fn requeue_interrupted_jobs(&self, now: i64) -> Result<usize> {
        Ok(self.write().execute(
            "UPDATE jobs SET state = 'queued', updated_at = ?1 WHERE state = 'running'",
            [now],
        )?)
    }

    /// Takes the oldest queued job, marking it running.
    pub fn claim_job(&self, now: i64) -> Result<Option<Job>> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let job = tx
            .query_row(
                "SELECT j.id, j.video_id, v.author_id, u.handle, v.sound_of, j.attempts
                 FROM jobs j JOIN videos v ON v.id = j.video_id JOIN users u ON u.id = v.author_id
                 WHERE j.state = 'queued' ORDER BY j.id LIMIT 1",
                [],
                |r| {
                    Ok(Job {
                        id: r.get(0)?,
                        video_id: VideoId(r.get(1)?),
                        author_id: UserId(r.get(2)?),
                        author_handle: r.get(3)?,
                        sound_of: r.get::<_, Option<i64>>(4)?.map(SoundId),
                        attempts: r.get(5)?,
                    })
                },
            )
            .optional()?;
        if let Some(job) = &job {
            tx.execute(
                "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
                params![job.id, now],
            )?;
        }
        tx.commit()?;
        Ok(job)
    }

    /// Records a job's result and the video's new status in one transaction.
    pub fn finish_job(&self, job: &Job, outcome: &JobOutcome, now: i64) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        match outcome {
            JobOutcome::Ready {
                duration_ms,
                width,
                height,
                sound,
                new_sound_title,
            } => {
                if let (Some(sound), Some(title)) = (sound, new_sound_title) {
                    tx.execute(
                        "INSERT INTO sounds (id, origin_video_id, author_id, title, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![sound.0, job.video_id.0, job.author_id.0, title, now],
                    )?;
                }
                tx.execute(
                    "UPDATE videos SET status = 'ready', duration_ms = ?2, width = ?3, height = ?4, sound_id = ?5 WHERE id = ?1",
                    params![job.video_id.0, duration_ms, width, height, sound.map(|s| s.0)],
                )?;
                tx.execute(
                    "UPDATE jobs SET state = 'done', updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )?;
                crate::events::record(
                    &tx,
                    job.author_id,
                    Some(job.video_id),
                    None,
                    crate::EventKind::Publish,
                    now,
                )?;
            }
            JobOutcome::Failed { reason } => {
                tx.execute(
                    "UPDATE videos SET status = 'failed', failure_reason = ?2 WHERE id = ?1",
                    params![job.video_id.0, reason],
                )?;
                tx.execute(
                    "UPDATE jobs SET state = 'failed', updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// How many jobs wait or run: for health output and tests.
    pub fn pending_jobs(&self) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
            [],
            |r| r.get(0),
        )?)
    }
}
