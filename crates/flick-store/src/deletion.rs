//! Deleting an account, in steps that survive a crash between them.
//!
//! An account's rows live in two files, its region's and the public one,
//! and SQLite commits each file on its own: one transaction over both can
//! still be cut between the two commits, leaving, say, the public profile
//! and the counts it added with no account behind them. So a deletion is
//! four commits:
//!
//! 1. **intent**: a `deletions` row with every figure the public side will
//!    need (likes, shares and follows per target), read while this file's
//!    rows still exist;
//! 2. **region**: this file's rows, if the account is still here;
//! 3. **public**: profile, videos, comments, sounds, the counts the account
//!    added to others, catalogue and purges, if the profile is still there;
//! 4. **done**: the intent goes.
//!
//! Each step checks that its side still has the account and does
//! everything for that side in one transaction, so finishing an
//! interrupted deletion ([`Store::finish_interrupted_deletions`], at start)
//! does each step exactly once.

use crate::analytics::purge_references;
use crate::db::{params, Conn, OptionalExtension, Tx};
use crate::{crash_point, DeletedAccount, RegionCode, Result, Store};
use flick_domain::{DataClass, SoundId, UserId, VideoId};

impl Store {
    /// Deletes an account of this region: its public profile, videos,
    /// comments and sounds; its protected rows here (through the
    /// `accounts` cascade); the counts it contributed to others' videos and
    /// profiles; and this region's rows pointing at it. For each region in
    /// `other_regions` a purge is left, so the nodes holding them remove
    /// their rows pointing at the account too.
    pub fn delete_user(
        &self,
        user: UserId,
        other_regions: &[RegionCode],
        now: i64,
    ) -> Result<DeletedAccount> {
        let mut conn = self.write();
        self.guard(&conn, user, DataClass::Account)?;
        write_intent(&mut conn, user, other_regions, now)?;
        crash_point("delete-account-after-intent");
        let deleted = finish(&mut conn, user, now)?;
        self.homes.forget(user);
        self.truncate_wal_after_deletion(&conn)?;
        Ok(deleted)
    }

    /// Finishes the deletions a crash interrupted; returns what each one
    /// removed, so the caller can delete the files too.
    pub fn finish_interrupted_deletions(&self, now: i64) -> Result<Vec<(UserId, DeletedAccount)>> {
        let mut conn = self.write();
        let users: Vec<UserId> = conn
            .prepare("SELECT user_id FROM deletions ORDER BY started_at")?
            .query_map([], |r| Ok(UserId(r.get(0)?)))?
            .collect::<crate::db::DbResult<_>>()?;
        let mut out = Vec::with_capacity(users.len());
        for user in users {
            tracing::warn!(user_id = %user, "finishing an account deletion a crash interrupted");
            out.push((user, finish(&mut conn, user, now)?));
            self.homes.forget(user);
        }
        if !out.is_empty() {
            self.truncate_wal_after_deletion(&conn)?;
        }
        Ok(out)
    }
}

/// Step 1: what the public side needs, recorded before anything goes.
fn write_intent(
    conn: &mut Conn,
    user: UserId,
    other_regions: &[RegionCode],
    now: i64,
) -> Result<()> {
    let tx = conn.transaction()?;
    let fresh = tx.execute(
        "INSERT INTO deletions (user_id, started_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![user.0, now],
    )?;
    if fresh == 0 {
        let region_done = tx
            .query_row("SELECT 1 FROM accounts WHERE id = ?1", [user.0], |_| Ok(()))
            .optional()?
            .is_none();
        if region_done {
            // An earlier attempt got past the region step: its figures are
            // the last ones there will be; finishing it is enough.
            return Ok(tx.commit()?);
        }
        // An earlier attempt failed before the region step: the account
        // may have liked or followed since, so its figures are redone.
        tx.execute("DELETE FROM deletion_steps WHERE user_id = ?1", [user.0])?;
    }
    let step = |sql: &str| tx.execute(sql, [user.0]);
    step(
        "INSERT INTO deletion_steps (user_id, kind, target)
         SELECT ?1, 'video', id FROM videos WHERE author_id = ?1
         UNION SELECT ?1, 'video', id FROM uploads WHERE author_id = ?1",
    )?;
    step("INSERT INTO deletion_steps (user_id, kind, target) SELECT ?1, 'sound', id FROM sounds WHERE author_id = ?1")?;
    step(
        "INSERT INTO deletion_steps (user_id, kind, target, n)
         SELECT ?1, 'like', video_id, COUNT(*) FROM likes WHERE user_id = ?1 GROUP BY video_id",
    )?;
    step(&format!(
        "INSERT INTO deletion_steps (user_id, kind, target, label, n)
         SELECT ?1, 'like_day', video_id, {}, COUNT(*)
         FROM likes WHERE user_id = ?1 GROUP BY 3, 4",
        crate::db::day_sql(tx.dialect(), "created_at")
    ))?;
    step(
        "INSERT INTO deletion_steps (user_id, kind, target, n)
         SELECT ?1, 'share', video_id, SUM(counted) FROM shares WHERE user_id = ?1 GROUP BY video_id",
    )?;
    step(
        "INSERT INTO deletion_steps (user_id, kind, target)
         SELECT ?1, 'followee', followee_id FROM follows WHERE follower_id = ?1",
    )?;
    // This region's followers of the account; other regions' followers are
    // their purges' business.
    step(
        "INSERT INTO deletion_steps (user_id, kind, target)
         SELECT ?1, 'follower', follower_id FROM follows WHERE followee_id = ?1",
    )?;
    for region in other_regions {
        tx.execute(
            "INSERT INTO deletion_steps (user_id, kind, label) VALUES (?1, 'purge_region', ?2)",
            params![user.0, region.as_str()],
        )?;
    }
    Ok(tx.commit()?)
}

/// Steps 2 to 4, each only if still to do.
fn finish(conn: &mut Conn, user: UserId, now: i64) -> Result<DeletedAccount> {
    let deleted = DeletedAccount {
        videos: targets(conn, user, "video")?
            .into_iter()
            .map(VideoId)
            .collect(),
        sounds: targets(conn, user, "sound")?
            .into_iter()
            .map(SoundId)
            .collect(),
    };
    let tx = conn.transaction()?;
    if exists(&tx, "SELECT 1 FROM accounts WHERE id = ?1", user)? {
        delete_region_rows(&tx, user, &deleted.videos)?;
    }
    tx.commit()?;
    crash_point("delete-account-after-region");
    let tx = conn.transaction()?;
    if exists(&tx, "SELECT 1 FROM users WHERE id = ?1", user)? {
        delete_public_rows(&tx, user, &deleted.videos, now)?;
    }
    tx.commit()?;
    crash_point("delete-account-after-public");
    conn.execute("DELETE FROM deletions WHERE user_id = ?1", [user.0])?;
    Ok(deleted)
}

/// Step 2: this file's rows of the account (the `accounts` cascade) and
/// this file's rows pointing at it or its videos.
fn delete_region_rows(tx: &Tx, user: UserId, videos: &[VideoId]) -> Result<()> {
    tx.execute("DELETE FROM follows WHERE followee_id = ?1", [user.0])?;
    purge_references(tx, &[], videos)?;
    tx.execute("DELETE FROM events WHERE creator_id = ?1", [user.0])?;
    tx.execute("DELETE FROM mutes WHERE muted_id = ?1", [user.0])?;
    // What moderators read of the account's reports: the link to them is
    // here, so this is the step that can still find them.
    tx.execute(
        "DELETE FROM mod_reports WHERE id IN (SELECT id FROM reports WHERE reporter_id = ?1)",
        [user.0],
    )?;
    tx.execute("DELETE FROM accounts WHERE id = ?1", [user.0])?;
    Ok(())
}

/// Step 3: the public file, from the figures of the intent.
fn delete_public_rows(tx: &Tx, user: UserId, videos: &[VideoId], now: i64) -> Result<()> {
    let u = user.0;
    // Counters on other people's videos and profiles drop what this
    // account added.
    for (count, kind) in [("like_count", "like"), ("share_count", "share")] {
        tx.execute(
            &format!(
                "UPDATE videos SET {count} = {count} - s.n
                 FROM deletion_steps s
                 WHERE s.user_id = ?1 AND s.kind = '{kind}' AND s.target = videos.id
                   AND videos.author_id != ?1"
            ),
            [u],
        )?;
    }
    tx.execute(
        "UPDATE videos SET comment_count = comment_count -
            (SELECT COUNT(*) FROM comments c WHERE c.video_id = videos.id AND c.author_id = ?1
               AND c.held = 0 AND c.removed_at IS NULL)
         WHERE author_id != ?1 AND id IN (SELECT video_id FROM comments WHERE author_id = ?1)",
        [u],
    )?;
    tx.execute(
        "UPDATE daily_stats SET likes = likes - s.n
         FROM deletion_steps s
         WHERE s.user_id = ?1 AND s.kind = 'like_day' AND s.target = daily_stats.video_id
           AND s.label = daily_stats.day",
        [u],
    )?;
    tx.execute(
        "UPDATE users SET follower_count = follower_count - 1
         WHERE id IN (SELECT target FROM deletion_steps WHERE user_id = ?1 AND kind = 'followee')",
        [u],
    )?;
    tx.execute(
        "UPDATE users SET following_count = following_count - 1
         WHERE id IN (SELECT target FROM deletion_steps WHERE user_id = ?1 AND kind = 'follower')",
        [u],
    )?;
    // Every region's recommender drops the videos, including on nodes
    // that cannot run this account's deletion themselves.
    crate::events::lock_log(tx, "catalogue")?;
    tx.execute(
        "INSERT INTO catalogue (video_id, kind, created_at)
         SELECT id, 'unpublish', ?2 FROM videos WHERE author_id = ?1 AND deleted_at IS NULL",
        params![u, now],
    )?;
    tx.execute("DELETE FROM users WHERE id = ?1", [u])?;
    let regions: Vec<String> = tx
        .prepare("SELECT label FROM deletion_steps WHERE user_id = ?1 AND kind = 'purge_region'")?
        .query_map([u], |r| r.get(0))?
        .collect::<crate::db::DbResult<_>>()?;
    for region in regions {
        tx.execute(
            "INSERT INTO purges (region, kind, id) VALUES (?1, 'user', ?2) ON CONFLICT DO NOTHING",
            params![region, u],
        )?;
        for v in videos {
            tx.execute(
                "INSERT INTO purges (region, kind, id) VALUES (?1, 'video', ?2) ON CONFLICT DO NOTHING",
                params![region, v.0],
            )?;
        }
    }
    Ok(())
}

fn targets(conn: &Conn, user: UserId, kind: &str) -> Result<Vec<i64>> {
    Ok(conn
        .prepare("SELECT target FROM deletion_steps WHERE user_id = ?1 AND kind = ?2")?
        .query_map(params![user.0, kind], |r| r.get(0))?
        .collect::<crate::db::DbResult<_>>()?)
}

fn exists(tx: &Tx, sql: &str, user: UserId) -> Result<bool> {
    Ok(tx
        .query_row(sql, [user.0], |_| Ok(()))
        .optional()?
        .is_some())
}
