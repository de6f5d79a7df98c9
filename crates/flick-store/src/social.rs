use crate::db::{params, OptionalExtension};
use crate::events::{record, EventKind};
use crate::{Cursor, Result, Store, StoreError};
use flick_domain::DataClass;
use flick_domain::{CommentBody, CommentId, CommentPolicy, UserId, VideoId, WatchReport};

#[derive(Debug, Clone)]
pub struct CommentRecord {
    pub id: CommentId,
    pub video_id: VideoId,
    pub author_id: UserId,
    pub author_handle: String,
    pub body: String,
    pub created_at: i64,
    /// Waiting for the clip's creator to approve it.
    pub held: bool,
}

pub struct SearchResults {
    /// (account, handle, display name)
    pub handles: Vec<(UserId, String, String)>,
    pub hashtags: Vec<(String, i64)>,
}

impl Store {
    /// Idempotent: following twice is one follow. Returns whether it changed.
    pub fn follow(&self, follower: UserId, followee: UserId, now: i64) -> Result<bool> {
        let mut conn = self.write();
        self.guard(&conn, follower, DataClass::Follows)?;
        let tx = conn.transaction()?;
        // No foreign key can cross into the public file: check the followee
        // exists here, in the same transaction, so a follow cannot outlive
        // a deletion.
        if !tx
            .prepare_cached("SELECT 1 FROM users WHERE id = ?1")?
            .exists([followee.0])?
        {
            return Err(StoreError::NotFound("account"));
        }
        let added = tx.execute(
            "INSERT INTO follows (follower_id, followee_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![follower.0, followee.0, now],
        )? == 1;
        if added {
            adjust_follow_counts(&tx, follower, followee, 1)?;
            record(&tx, follower, None, Some(followee), EventKind::Follow, now)?;
        }
        tx.commit()?;
        Ok(added)
    }

    pub fn unfollow(&self, follower: UserId, followee: UserId, now: i64) -> Result<bool> {
        let mut conn = self.write();
        self.guard(&conn, follower, DataClass::Follows)?;
        let tx = conn.transaction()?;
        let removed = tx.execute(
            "DELETE FROM follows WHERE follower_id = ?1 AND followee_id = ?2",
            params![follower.0, followee.0],
        )? == 1;
        if removed {
            adjust_follow_counts(&tx, follower, followee, -1)?;
            record(
                &tx,
                follower,
                None,
                Some(followee),
                EventKind::Unfollow,
                now,
            )?;
        }
        tx.commit()?;
        Ok(removed)
    }

    pub fn is_following(&self, follower: UserId, followee: UserId) -> Result<bool> {
        let conn = self.read();
        self.guard(&conn, follower, DataClass::Follows)?;
        let found = conn
            .prepare_cached("SELECT 1 FROM follows WHERE follower_id = ?1 AND followee_id = ?2")?
            .exists(params![follower.0, followee.0])?;
        Ok(found)
    }

    /// Idempotent; the video's counter moves only when the like is new.
    pub fn like(&self, user: UserId, video: VideoId, now: i64) -> Result<bool> {
        let mut conn = self.write();
        self.guard(&conn, user, DataClass::Likes)?;
        let tx = conn.transaction()?;
        let added = tx.execute(
            "INSERT INTO likes (user_id, video_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![user.0, video.0, now],
        )? == 1;
        if added {
            tx.execute(
                "UPDATE videos SET like_count = like_count + 1 WHERE id = ?1",
                [video.0],
            )?;
            tx.execute(
                "INSERT INTO daily_stats (video_id, day, likes) VALUES (?1, ?2, 1)
                 ON CONFLICT (video_id, day) DO UPDATE SET likes = daily_stats.likes + 1",
                params![video.0, crate::db::day_of(now)],
            )?;
            record(&tx, user, Some(video), None, EventKind::Like, now)?;
        }
        tx.commit()?;
        Ok(added)
    }

    pub fn unlike(&self, user: UserId, video: VideoId, now: i64) -> Result<bool> {
        let mut conn = self.write();
        self.guard(&conn, user, DataClass::Likes)?;
        let tx = conn.transaction()?;
        let liked_at: Option<i64> = tx
            .query_row(
                "DELETE FROM likes WHERE user_id = ?1 AND video_id = ?2 RETURNING created_at",
                params![user.0, video.0],
                |r| r.get(0),
            )
            .optional()?;
        let removed = liked_at.is_some();
        if let Some(at) = liked_at {
            tx.execute(
                "UPDATE daily_stats SET likes = likes - 1
                 WHERE video_id = ?1 AND day = ?2 AND likes > 0",
                params![video.0, crate::db::day_of(at)],
            )?;
            tx.execute(
                "UPDATE videos SET like_count = like_count - 1 WHERE id = ?1",
                [video.0],
            )?;
            record(&tx, user, Some(video), None, EventKind::Unlike, now)?;
        }
        tx.commit()?;
        Ok(removed)
    }

    /// Adds a comment; a `held` one waits for the creator's approval and
    /// is not counted until then.
    pub fn add_comment(
        &self,
        video: VideoId,
        author: UserId,
        body: &CommentBody,
        held: bool,
        now: i64,
    ) -> Result<CommentRecord> {
        let mut conn = self.write();
        self.guard(&conn, author, DataClass::Interactions)?;
        let tx = conn.transaction()?;
        let id = CommentId(tx.query_row(
            "INSERT INTO comments (video_id, author_id, body, created_at, held) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            params![video.0, author.0, body.as_str(), now, held],
            |r| r.get(0),
        )?);
        if !held {
            tx.execute(
                "UPDATE videos SET comment_count = comment_count + 1 WHERE id = ?1",
                [video.0],
            )?;
        }
        let handle: String =
            tx.query_row("SELECT handle FROM users WHERE id = ?1", [author.0], |r| {
                r.get(0)
            })?;
        record(&tx, author, Some(video), None, EventKind::Comment, now)?;
        tx.commit()?;
        Ok(CommentRecord {
            id,
            video_id: video,
            author_id: author,
            author_handle: handle,
            body: body.as_str().to_owned(),
            created_at: now,
            held,
        })
    }

    /// Newest first; held comments only with `held`.
    pub fn comments(
        &self,
        video: VideoId,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<CommentRecord>> {
        self.comment_page(video, cursor, limit, false)
    }

    /// The comments of `video` waiting for its creator, newest first.
    pub fn held_comments(
        &self,
        video: VideoId,
        cursor: Option<Cursor>,
        limit: u32,
    ) -> Result<Vec<CommentRecord>> {
        self.comment_page(video, cursor, limit, true)
    }

    fn comment_page(
        &self,
        video: VideoId,
        cursor: Option<Cursor>,
        limit: u32,
        held: bool,
    ) -> Result<Vec<CommentRecord>> {
        let (before_at, before_id) = Cursor::start(cursor);
        let conn = self.read();
        let mut stmt = conn.prepare_cached(
            "SELECT c.id, c.video_id, c.author_id, u.handle, c.body, c.created_at, c.held
             FROM comments c JOIN users u ON u.id = c.author_id
             WHERE c.video_id = ?1 AND c.removed_at IS NULL AND c.held = ?5
               AND (c.created_at, c.id) < (?2, ?3)
             ORDER BY c.created_at DESC, c.id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![video.0, before_at, before_id, limit, held], |r| {
            Ok(CommentRecord {
                id: CommentId(r.get(0)?),
                video_id: VideoId(r.get(1)?),
                author_id: UserId(r.get(2)?),
                author_handle: r.get(3)?,
                body: r.get(4)?,
                created_at: r.get(5)?,
                held: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }

    /// Releases a held comment; whether one was held (a comment a moderator
    /// removed stays removed, and uncounted).
    pub fn approve_comment(&self, id: CommentId) -> Result<bool> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let video: Option<i64> = tx
            .query_row(
                "UPDATE comments SET held = 0 WHERE id = ?1 AND held = 1 AND removed_at IS NULL RETURNING video_id",
                [id.0],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(v) = video {
            tx.execute(
                "UPDATE videos SET comment_count = comment_count + 1 WHERE id = ?1",
                [v],
            )?;
        }
        tx.commit()?;
        Ok(video.is_some())
    }

    /// Who may comment on `video` and what its creator holds for review:
    /// (creator, policy, held words).
    pub fn comment_rules(
        &self,
        video: VideoId,
    ) -> Result<Option<(UserId, CommentPolicy, Vec<String>)>> {
        let conn = self.read();
        let row = conn
            .prepare_cached(
                "SELECT v.author_id, v.comment_policy, u.held_words FROM videos v
                   JOIN users u ON u.id = v.author_id WHERE v.id = ?1",
            )?
            .query_row([video.0], |r| {
                Ok((
                    UserId(r.get(0)?),
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        Ok(row.map(|(author, policy, words)| {
            (
                author,
                CommentPolicy::parse(&policy).unwrap_or(CommentPolicy::Everyone),
                words
                    .split('\n')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )
        }))
    }

    pub fn set_comment_policy(&self, video: VideoId, policy: CommentPolicy) -> Result<()> {
        self.write().execute(
            "UPDATE videos SET comment_policy = ?2 WHERE id = ?1",
            params![video.0, policy.as_str()],
        )?;
        Ok(())
    }

    /// The words `user` holds comments for.
    pub fn held_words(&self, user: UserId) -> Result<Vec<String>> {
        let words: Option<String> = self
            .read()
            .prepare_cached("SELECT held_words FROM users WHERE id = ?1")?
            .query_row([user.0], |r| r.get(0))
            .optional()?;
        Ok(words
            .unwrap_or_default()
            .split('\n')
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect())
    }

    pub fn set_held_words(&self, user: UserId, words: &[String]) -> Result<()> {
        self.write().execute(
            "UPDATE users SET held_words = ?2 WHERE id = ?1",
            params![user.0, words.join("\n")],
        )?;
        Ok(())
    }

    /// Who wrote a comment, and under which video.
    pub fn comment_owner(&self, id: CommentId) -> Result<Option<(UserId, VideoId)>> {
        Ok(self
            .read()
            .prepare_cached("SELECT author_id, video_id FROM comments WHERE id = ?1")?
            .query_row([id.0], |r| Ok((UserId(r.get(0)?), VideoId(r.get(1)?))))
            .optional()?)
    }

    pub fn delete_comment(&self, id: CommentId) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let (video, counted): (i64, bool) = tx
            .query_row(
                "DELETE FROM comments WHERE id = ?1
                 RETURNING video_id, held = 0 AND removed_at IS NULL",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or(StoreError::NotFound("comment"))?;
        if counted {
            tx.execute(
                "UPDATE videos SET comment_count = comment_count - 1 WHERE id = ?1",
                [video],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A visitor's share only counts; a member's is also their history.
    /// Records a share. `counted` says whether it adds to the public count
    /// (the caller de-duplicates per person); the user's own row and the
    /// recommender's event are kept either way. Returns the public count.
    /// `prompted`: the sharer went through the "unverified content" prompt
    /// of a clip labelled misinformation.
    pub fn add_share(
        &self,
        video: VideoId,
        user: Option<UserId>,
        counted: bool,
        prompted: bool,
        now: i64,
    ) -> Result<i64> {
        let mut conn = self.write();
        if let Some(user) = user {
            self.guard(&conn, user, DataClass::Interactions)?;
        }
        let tx = conn.transaction()?;
        if let Some(user) = user {
            tx.execute(
                "INSERT INTO shares (video_id, user_id, created_at, counted, prompted) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![video.0, user.0, now, counted, prompted],
            )?;
        }
        let count = tx.query_row(
            "UPDATE videos SET share_count = share_count + ?2 WHERE id = ?1 RETURNING share_count",
            params![video.0, counted as i64],
            |r| r.get(0),
        )?;
        if let Some(user) = user {
            record(&tx, user, Some(video), None, EventKind::Share, now)?;
        }
        tx.commit()?;
        Ok(count)
    }

    /// Records a view. `counted` says whether it adds to the public counts
    /// and the creator's analytics (the caller de-duplicates per viewer);
    /// the viewer's history and the recommender's event are kept either way.
    pub fn add_view(
        &self,
        video: VideoId,
        user: Option<UserId>,
        report: WatchReport,
        counted: bool,
        now: i64,
    ) -> Result<()> {
        let mut conn = self.write();
        if let Some(user) = user {
            self.guard(&conn, user, DataClass::WatchHistory)?;
        }
        let tx = conn.transaction()?;
        // Counts are public and kept at once; the viewer's own row is their
        // watch history, in their region, for the retention window only.
        if counted {
            count_view(&tx, video, report, now)?;
        }
        if let Some(user) = user {
            tx.execute(
                "INSERT INTO views (video_id, user_id, watched_ms, completed, loops, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![video.0, user.0, report.watched_ms, report.completed, report.loops, now],
            )?;
            record(&tx, user, Some(video), None, EventKind::View(report), now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many views a user has reported for a video: lets tests and the
    /// analytics page confirm that the watch signal arrived.
    pub fn views_by(&self, user: UserId, video: VideoId) -> Result<Vec<WatchReport>> {
        let conn = self.read();
        self.guard(&conn, user, DataClass::WatchHistory)?;
        let mut stmt = conn.prepare_cached(
            "SELECT watched_ms, completed, loops FROM views WHERE user_id = ?1 AND video_id = ?2 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![user.0, video.0], |r| {
            Ok(WatchReport {
                watched_ms: r.get(0)?,
                completed: r.get(1)?,
                loops: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<crate::db::DbResult<_>>()?)
    }

    pub fn mark_not_interested(&self, user: UserId, video: VideoId, now: i64) -> Result<()> {
        let mut conn = self.write();
        self.guard(&conn, user, DataClass::Interactions)?;
        let tx = conn.transaction()?;
        let added = tx.execute(
            "INSERT INTO not_interested (user_id, video_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![user.0, video.0, now],
        )? == 1;
        if added {
            record(&tx, user, Some(video), None, EventKind::NotInterested, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Handles and hashtags starting with `prefix` (already lowercased).
    pub fn search(&self, prefix: &str, limit: u32) -> Result<SearchResults> {
        // LIKE wildcards in the query are taken literally.
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let conn = self.read();
        let handles = conn
            .prepare_cached("SELECT id, handle, display_name FROM users WHERE lower(handle) LIKE lower(?1) ESCAPE '\\' ORDER BY length(handle), handle LIMIT ?2")?
            .query_map(params![pattern, limit], |r| Ok((UserId(r.get(0)?), r.get(1)?, r.get(2)?)))?
            .collect::<crate::db::DbResult<_>>()?;
        let hashtags = conn
            .prepare_cached(
                "SELECT h.tag, COUNT(*) FROM video_hashtags h JOIN videos v ON v.id = h.video_id
                 WHERE lower(h.tag) LIKE lower(?1) ESCAPE '\\' AND v.deleted_at IS NULL
                 GROUP BY h.tag ORDER BY COUNT(*) DESC, h.tag LIMIT ?2",
            )?
            .query_map(params![pattern, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<crate::db::DbResult<_>>()?;
        Ok(SearchResults { handles, hashtags })
    }
}

/// Follows live in the follower's region; the counts on both public
/// profiles move with them.
fn adjust_follow_counts(
    tx: &crate::db::Tx<'_>,
    follower: UserId,
    followee: UserId,
    by: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE users SET following_count = following_count + ?2 WHERE id = ?1",
        params![follower.0, by],
    )?;
    tx.execute(
        "UPDATE users SET follower_count = follower_count + ?2 WHERE id = ?1",
        params![followee.0, by],
    )?;
    Ok(())
}

/// Adds one view to the public counts and the day's aggregate.
fn count_view(tx: &crate::db::Tx<'_>, video: VideoId, report: WatchReport, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE videos SET view_count = view_count + 1, completed_count = completed_count + ?2 WHERE id = ?1",
        params![video.0, report.completed as i64],
    )?;
    tx.execute(
        "INSERT INTO daily_stats (video_id, day, views, completed, watched_ms)
         VALUES (?1, ?2, 1, ?3,
                 -- watch time counts up to one full play, as the ratio does
                 COALESCE((SELECT CASE WHEN duration_ms < ?4 THEN duration_ms ELSE ?4 END
                             FROM videos WHERE id = ?1), ?4))
         ON CONFLICT (video_id, day) DO UPDATE SET views = daily_stats.views + 1,
            completed = daily_stats.completed + excluded.completed,
            watched_ms = daily_stats.watched_ms + excluded.watched_ms",
        params![
            video.0,
            crate::db::day_of(now),
            report.completed as i64,
            report.watched_ms
        ],
    )?;
    Ok(())
}
