use crate::{Result, Store};
use flick_domain::{SoundId, UserId, VideoId};
use rusqlite::params;

pub struct VideoStats {
    pub id: VideoId,
    pub caption: String,
    pub views: i64,
    pub avg_watch_ratio: f64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

pub struct DayStats {
    pub day: String,
    pub views: i64,
    pub likes: i64,
}

pub struct CreatorAnalytics {
    pub videos: Vec<VideoStats>,
    pub daily: Vec<DayStats>,
}

/// What deleting an account removed that lives outside the database.
pub struct DeletedAccount {
    pub videos: Vec<VideoId>,
    pub sounds: Vec<SoundId>,
}

impl Store {
    /// Per published video of `author`, and per day over the last `days`.
    pub fn creator_analytics(
        &self,
        author: UserId,
        now: i64,
        days: i64,
    ) -> Result<CreatorAnalytics> {
        let conn = self.read();
        let videos = conn
            .prepare_cached(
                "SELECT v.id, v.caption, v.view_count,
                    COALESCE(
                        (COALESCE((SELECT SUM(MIN(1.0, CAST(w.watched_ms AS REAL) / v.duration_ms)) FROM views w WHERE w.video_id = v.id), 0)
                         -- folded views count with their day's mean ratio
                         + COALESCE((SELECT MIN(1.0, CAST(SUM(d.watched_ms) AS REAL) / SUM(d.views) / v.duration_ms) * SUM(d.views)
                                     FROM daily_views d WHERE d.video_id = v.id), 0))
                        / NULLIF((SELECT COUNT(*) FROM views w WHERE w.video_id = v.id)
                                 + COALESCE((SELECT SUM(d.views) FROM daily_views d WHERE d.video_id = v.id), 0), 0),
                        0),
                    v.like_count, v.comment_count, v.share_count
                 FROM videos v WHERE v.author_id = ?1 AND v.status = 'ready' AND v.deleted_at IS NULL
                 ORDER BY v.created_at DESC",
            )?
            .query_map([author.0], |r| {
                Ok(VideoStats {
                    id: VideoId(r.get(0)?),
                    caption: r.get(1)?,
                    views: r.get(2)?,
                    avg_watch_ratio: r.get(3)?,
                    likes: r.get(4)?,
                    comments: r.get(5)?,
                    shares: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        let since = now - days * 86_400_000;
        let daily = conn
            .prepare_cached(
                "WITH mine AS (SELECT id FROM videos WHERE author_id = ?1),
                 events AS (
                    SELECT created_at, 1 AS is_view, 0 AS is_like FROM views WHERE video_id IN mine AND created_at >= ?2
                    UNION ALL
                    SELECT created_at, 0, 1 FROM likes WHERE video_id IN mine AND created_at >= ?2),
                 per_day AS (
                    SELECT date(created_at / 1000, 'unixepoch') AS day, is_view AS views, is_like AS likes FROM events
                    UNION ALL
                    -- Views older than the retention window survive only as counts.
                    SELECT day, views, 0 FROM daily_views
                    WHERE video_id IN mine AND day >= date(?2 / 1000, 'unixepoch'))
                 SELECT day, SUM(views), SUM(likes) FROM per_day GROUP BY day ORDER BY day",
            )?
            .query_map(params![author.0, since], |r| Ok(DayStats { day: r.get(0)?, views: r.get(1)?, likes: r.get(2)? }))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(CreatorAnalytics { videos, daily })
    }

    /// Deletes an account and, through foreign keys, every row that refers
    /// to it: sessions, videos, likes, comments, follows, views. Returns
    /// what the caller must remove from disk.
    pub fn delete_user(&self, user: UserId) -> Result<DeletedAccount> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let videos = tx
            .prepare("SELECT id FROM videos WHERE author_id = ?1")?
            .query_map([user.0], |r| Ok(VideoId(r.get(0)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let sounds = tx
            .prepare("SELECT id FROM sounds WHERE author_id = ?1")?
            .query_map([user.0], |r| Ok(SoundId(r.get(0)?)))?
            .collect::<rusqlite::Result<_>>()?;
        // Counters on other people's videos must not keep this user's likes
        // and comments once the rows are gone.
        tx.execute(
            "UPDATE videos SET like_count = like_count - (SELECT COUNT(*) FROM likes l WHERE l.video_id = videos.id AND l.user_id = ?1),
                comment_count = comment_count - (SELECT COUNT(*) FROM comments c WHERE c.video_id = videos.id AND c.author_id = ?1),
                share_count = share_count - (SELECT COUNT(*) FROM shares s WHERE s.video_id = videos.id AND s.user_id = ?1)
             WHERE author_id != ?1",
            [user.0],
        )?;
        tx.execute("DELETE FROM users WHERE id = ?1", [user.0])?;
        tx.commit()?;
        // The WAL still holds the pages as they were before the delete; fold
        // it into the (securely overwritten) database and empty it.
        // A reader holding an old snapshot blocks it; readers are short, so retry.
        for attempt in 0.. {
            let (busy, _, _): (i64, i64, i64) =
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            if busy == 0 {
                break;
            }
            if attempt == 100 {
                tracing::warn!("WAL checkpoint after account deletion stayed blocked; it completes at the next checkpoint");
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(DeletedAccount { videos, sounds })
    }
}

impl Store {
    /// The retention job: folds raw views older than `cutoff` into per-day
    /// counts without viewers, then deletes them and their events. Returns
    /// how many raw views were folded.
    pub fn fold_old_views(&self, cutoff: i64) -> Result<usize> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO daily_views (video_id, day, views, completed, watched_ms)
             SELECT video_id, date(created_at / 1000, 'unixepoch'), COUNT(*), SUM(completed), SUM(watched_ms)
             FROM views WHERE created_at < ?1 GROUP BY video_id, date(created_at / 1000, 'unixepoch')
             ON CONFLICT (video_id, day) DO UPDATE SET
                views = views + excluded.views,
                completed = completed + excluded.completed,
                watched_ms = watched_ms + excluded.watched_ms",
            [cutoff],
        )?;
        let folded = tx.execute("DELETE FROM views WHERE created_at < ?1", [cutoff])?;
        tx.execute(
            "DELETE FROM events WHERE kind = 'view' AND created_at < ?1",
            [cutoff],
        )?;
        tx.commit()?;
        Ok(folded)
    }
}
