use crate::db::params;
use crate::{Result, Store};
use flick_domain::{SoundId, UserId, VideoId};

pub struct VideoStats {
    pub id: VideoId,
    /// Whose files it plays: its own id, except in a synthetic catalogue.
    pub media: VideoId,
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
    /// A creator's numbers, from the public aggregates only: the raw views
    /// behind them live in the viewers' regions and expire.
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
                    COALESCE(CAST(SUM(d.watched_ms) AS DOUBLE PRECISION) / NULLIF(SUM(d.views), 0) / NULLIF(v.duration_ms, 0), 0),
                    v.like_count, v.comment_count, v.share_count, COALESCE(v.media_id, v.id)
                 FROM videos v LEFT JOIN daily_stats d ON d.video_id = v.id
                 WHERE v.author_id = ?1 AND v.deleted_at IS NULL
                 GROUP BY v.id ORDER BY v.created_at DESC, v.id DESC",
            )?
            .query_map([author.0], |r| {
                Ok(VideoStats {
                    id: VideoId(r.get(0)?),
                    caption: r.get(1)?,
                    views: r.get(2)?,
                    // At most one full play per view, as watch time counts.
                    avg_watch_ratio: r.get::<_, f64>(3)?.min(1.0),
                    likes: r.get(4)?,
                    comments: r.get(5)?,
                    shares: r.get(6)?,
                    media: VideoId(r.get(7)?),
                })
            })?
            .collect::<crate::db::DbResult<_>>()?;
        let since = now - days * 86_400_000;
        let daily = conn
            .prepare_cached(
                "SELECT day, SUM(views), SUM(likes) FROM daily_stats
                 WHERE video_id IN (SELECT id FROM videos WHERE author_id = ?1)
                   AND day >= ?2
                 GROUP BY day ORDER BY day",
            )?
            .query_map(params![author.0, crate::db::day_of(since)], |r| {
                Ok(DayStats {
                    day: r.get(0)?,
                    views: r.get(1)?,
                    likes: r.get(2)?,
                })
            })?
            .collect::<crate::db::DbResult<_>>()?;
        Ok(CreatorAnalytics { videos, daily })
    }

    /// Removes this region's rows that point at accounts or videos deleted
    /// on a node that could not reach this region.
    pub fn run_purges(&self) -> Result<usize> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let mut users = Vec::new();
        let mut videos = Vec::new();
        {
            let mut stmt = tx.prepare("SELECT kind, id FROM purges WHERE region = ?1")?;
            let rows = stmt.query_map([self.region.as_str()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            for row in rows {
                match row? {
                    (kind, id) if kind == "user" => users.push(UserId(id)),
                    (_, id) => videos.push(VideoId(id)),
                }
            }
        }
        // A commit spans two files and is atomic per file only: a crash in
        // the middle of an account's creation or deletion can leave one
        // side. Such halves are unusable; remove them.
        // Accounts whose deletion is in progress are left to
        // `finish_interrupted_deletions`, which knows what each side needs.
        let halves = tx.execute(
            "DELETE FROM accounts WHERE id NOT IN (SELECT id FROM users)
               AND id NOT IN (SELECT user_id FROM deletions)",
            [],
        )? + tx.execute(
            "DELETE FROM users WHERE region = ?1 AND id NOT IN (SELECT id FROM accounts)
               AND id NOT IN (SELECT user_id FROM deletions)",
            [self.region.as_str()],
        )?;
        if halves > 0 {
            tracing::warn!(halves, "removed accounts left half-written by a crash");
        }
        if users.is_empty() && videos.is_empty() {
            tx.commit()?;
            return Ok(0);
        }
        purge_references(&tx, &users, &videos)?;
        tx.execute(
            "DELETE FROM purges WHERE region = ?1",
            [self.region.as_str()],
        )?;
        tx.commit()?;
        for user in &users {
            self.homes.forget(*user);
        }
        self.truncate_wal_after_deletion(&conn)?;
        Ok(users.len())
    }
}

/// Drops this region's rows pointing at deleted accounts and their videos:
/// follows of them (moving the followers' counts), and every interaction
/// with their videos.
pub(crate) fn purge_references(
    tx: &crate::db::Tx<'_>,
    users: &[UserId],
    videos: &[VideoId],
) -> Result<()> {
    for user in users {
        tx.execute(
            "UPDATE users SET following_count = following_count - 1
             WHERE id IN (SELECT follower_id FROM follows WHERE followee_id = ?1)",
            [user.0],
        )?;
        tx.execute("DELETE FROM follows WHERE followee_id = ?1", [user.0])?;
        tx.execute("DELETE FROM mutes WHERE muted_id = ?1", [user.0])?;
        tx.execute("DELETE FROM events WHERE creator_id = ?1", [user.0])?;
    }
    for video in videos {
        for table in ["likes", "views", "not_interested", "shares", "events"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE video_id = ?1"),
                [video.0],
            )?;
        }
    }
    Ok(())
}

impl Store {
    /// The retention job: raw views (the watch history) older than `cutoff`
    /// are deleted, with their events and the impressions (what each user
    /// was shown). Their counts were added to the
    /// public `daily_stats` when they were recorded, so nothing is lost but
    /// the viewer. Returns how many were deleted.
    pub fn fold_old_views(&self, cutoff: i64) -> Result<usize> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        let deleted = tx.execute("DELETE FROM views WHERE created_at < ?1", [cutoff])?;
        tx.execute(
            "DELETE FROM events WHERE kind IN ('view', 'impression') AND created_at < ?1",
            [cutoff],
        )?;
        tx.commit()?;
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_store;
    use flick_domain::Handle;

    #[test]
    fn halves_left_by_a_crash_between_the_two_files_are_removed() {
        let (_d, s) = test_store();
        let whole = s
            .create_user(&Handle::parse("whole").unwrap(), "h", 0)
            .unwrap();
        let no_profile = s
            .create_user(&Handle::parse("half_a").unwrap(), "h", 0)
            .unwrap();
        let no_account = s
            .create_user(&Handle::parse("half_b").unwrap(), "h", 0)
            .unwrap();
        // What a crash after one file's commit would leave.
        s.write()
            .execute("DELETE FROM users WHERE id = ?1", [no_profile.0])
            .unwrap();
        s.write()
            .execute("DELETE FROM accounts WHERE id = ?1", [no_account.0])
            .unwrap();
        s.run_purges().unwrap();
        let count = |sql: &str| -> i64 { s.read().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM accounts"), 1);
        assert_eq!(count("SELECT COUNT(*) FROM users"), 1);
        assert!(s.profile_by_id(whole).unwrap().is_some());
    }
}
