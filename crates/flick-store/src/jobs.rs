//! The transcoding queue. It lives in the database so that a job survives a
//! crash: whatever was `running` when the process died is queued again on
//! the next start.

use crate::{Result, Store};
use flick_domain::{Caption, SoundId, UserId, VideoId};
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
                "SELECT j.id, j.video_id, p.author_id, u.handle, p.sound_of, j.attempts
                 FROM jobs j JOIN uploads p ON p.id = j.video_id JOIN users u ON u.id = p.author_id
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
    /// Records a job's result. A successful transcode publishes the video:
    /// its public row, hashtags, mentions and sound appear together, unless
    /// the author deleted the upload meanwhile.
    pub fn finish_job(&self, job: &Job, outcome: &JobOutcome, now: i64) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
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
                        "INSERT OR IGNORE INTO sounds (id, origin_video_id, author_id, title, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![sound.0, job.video_id.0, job.author_id.0, title, now],
                    )?;
                }
                tx.execute(
                    // OR IGNORE: a crash can commit the public file and not the
                    // region's (the two are separate files); the retried job
                    // then completes the region's side.
                    "INSERT OR IGNORE INTO videos (id, author_id, caption, duration_ms, width, height, sound_id, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![job.video_id.0, job.author_id.0, caption, duration_ms, width, height, sound.map(|s| s.0), created_at],
                )?;
                // The caption was checked at upload; parsing it again gives
                // the same tags.
                if let Ok(parsed) = Caption::parse(&caption) {
                    for (pos, tag) in parsed.hashtags().iter().enumerate() {
                        tx.execute(
                            "INSERT OR IGNORE INTO video_hashtags (video_id, tag, position) VALUES (?1, ?2, ?3)",
                            params![job.video_id.0, tag, pos],
                        )?;
                    }
                    for handle in parsed.mentions() {
                        tx.execute(
                            "INSERT OR IGNORE INTO video_mentions (video_id, handle) VALUES (?1, ?2)",
                            params![job.video_id.0, handle],
                        )?;
                    }
                }
                for label in labels.split(',').filter_map(flick_domain::Label::parse) {
                    tx.execute(
                        "INSERT OR IGNORE INTO video_labels (video_id, label, decision, created_at)
                         VALUES (?1, ?2, NULL, ?3)",
                        params![job.video_id.0, label.as_str(), now],
                    )?;
                }
                tx.execute(
                    "UPDATE uploads SET status = 'published' WHERE id = ?1",
                    [job.video_id.0],
                )?;
                tx.execute(
                    "UPDATE jobs SET state = 'done', updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )?;
                crate::events::record_catalogue(&tx, job.video_id, crate::EventKind::Publish, now)?;
            }
            JobOutcome::Ready { .. } => {
                tx.execute(
                    "UPDATE jobs SET state = 'done', updated_at = ?2 WHERE id = ?1",
                    params![job.id, now],
                )?;
            }
            JobOutcome::Failed { reason } => {
                tx.execute(
                    "UPDATE uploads SET status = 'failed', failure_reason = ?2 WHERE id = ?1 AND status = 'processing'",
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

    pub fn pending_jobs(&self) -> Result<i64> {
        Ok(self.read().query_row(
            "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')",
            [],
            |r| r.get(0),
        )?)
    }
}
