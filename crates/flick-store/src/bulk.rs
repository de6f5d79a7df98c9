//! Bulk loading for `flick seed --synthetic`: a large catalogue, its
//! accounts and an interaction history, written with the same rows and the
//! same region boundary as the one-at-a-time paths, but many per
//! transaction (one transaction per call, as everywhere in the store, so a
//! batch is either whole or absent).

use crate::{Result, Store};
use flick_domain::{Caption, DataClass, Handle, UserId, VideoId, WatchReport};
use rusqlite::params;
use std::collections::HashMap;

/// A published video, with the facts its transcode would have measured.
#[derive(Debug, Clone)]
pub struct BulkVideo {
    pub id: VideoId,
    pub author: UserId,
    pub caption: Caption,
    pub duration_ms: i64,
    pub width: i64,
    pub height: i64,
    pub created_at: i64,
    /// A published video whose media files this one plays.
    pub media: VideoId,
}

/// One interaction of a bulk history.
#[derive(Debug, Clone, Copy)]
pub enum BulkInteraction {
    View(WatchReport),
    Like,
}

impl Store {
    /// Creates accounts whose home is this store's region: each a public
    /// profile and a region account, all with `password_hash`.
    pub fn bulk_create_users(
        &self,
        users: &[(UserId, Handle)],
        password_hash: &str,
        now: i64,
    ) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction()?;
        {
            let mut public = tx.prepare_cached(
                "INSERT INTO users (id, handle, region, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            let mut account = tx.prepare_cached(
                "INSERT INTO accounts (id, password_hash, created_at) VALUES (?1, ?2, ?3)",
            )?;
            for (id, handle) in users {
                public
                    .execute(params![id.0, handle.as_str(), self.region.as_str(), now])
                    .map_err(|e| crate::conflict_on_unique(e, "handle"))?;
                account.execute(params![id.0, password_hash, now])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Publishes videos whose authors' home is this region, as a finished
    /// transcode would: the region's upload row, the public row with its
    /// hashtags, and the catalogue entry every recommender reads. Their
    /// media are another video's files, so no file is written.
    pub fn bulk_publish(&self, videos: &[BulkVideo]) -> Result<()> {
        let conn = self.write();
        for author in distinct(videos.iter().map(|v| v.author)) {
            self.guard(&conn, author, DataClass::Uploads)?;
        }
        let _cache = BulkCache::grow(&conn)?;
        // In id order, each table's B-tree fills page by page instead of
        // at random places.
        let mut videos: Vec<&BulkVideo> = videos.iter().collect();
        videos.sort_unstable_by_key(|v| v.id.0);
        // Unchecked only because the cache guard borrows the connection;
        // the store's writer lock is held, so no other transaction is open.
        let tx = conn.unchecked_transaction()?;
        {
            let mut upload = tx.prepare_cached(
                "INSERT INTO uploads (id, author_id, caption, status, created_at)
                 VALUES (?1, ?2, ?3, 'published', ?4)",
            )?;
            let mut public = tx.prepare_cached(
                "INSERT INTO videos (id, author_id, caption, duration_ms, width, height, created_at, media_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut tag = tx.prepare_cached(
                "INSERT OR IGNORE INTO video_hashtags (video_id, tag, position) VALUES (?1, ?2, ?3)",
            )?;
            let mut catalogue = tx.prepare_cached(
                "INSERT INTO catalogue (video_id, kind, created_at) VALUES (?1, 'publish', ?2)",
            )?;
            for v in &videos {
                upload
                    .execute(params![v.id.0, v.author.0, v.caption.text(), v.created_at])
                    .map_err(|e| crate::conflict_on_unique(e, "video id"))?;
                public.execute(params![
                    v.id.0,
                    v.author.0,
                    v.caption.text(),
                    v.duration_ms,
                    v.width,
                    v.height,
                    v.created_at,
                    v.media.0
                ])?;
                for (pos, t) in v.caption.hashtags().iter().enumerate() {
                    tag.execute(params![v.id.0, t, pos])?;
                }
                catalogue.execute(params![v.id.0, v.created_at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Records a history of views and likes by this region's accounts, in
    /// the order given (the event log's order): the watch history and like
    /// rows, the events the recommender learns from, and the public counts
    /// and daily figures, added up per video and day.
    pub fn bulk_interactions(
        &self,
        history: &[(UserId, VideoId, BulkInteraction, i64)],
    ) -> Result<()> {
        let conn = self.write();
        for user in distinct(history.iter().map(|h| h.0)) {
            self.guard(&conn, user, DataClass::WatchHistory)?;
        }
        let _cache = BulkCache::grow(&conn)?;
        // (views, completed, watched_ms, likes) per video and per video-day.
        let mut per_video: HashMap<i64, [i64; 4]> = HashMap::new();
        let mut per_day: HashMap<(i64, i64), [i64; 4]> = HashMap::new();
        let tx = conn.unchecked_transaction()?;
        {
            let mut view = tx.prepare_cached(
                "INSERT INTO views (video_id, user_id, watched_ms, completed, loops, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut like = tx.prepare_cached(
                "INSERT OR IGNORE INTO likes (user_id, video_id, created_at) VALUES (?1, ?2, ?3)",
            )?;
            for &(user, video, what, at) in history {
                let mut add = [0i64; 4];
                match what {
                    BulkInteraction::View(r) => {
                        view.execute(params![
                            video.0,
                            user.0,
                            r.watched_ms,
                            r.completed,
                            r.loops,
                            at
                        ])?;
                        crate::events::record(
                            &tx,
                            user,
                            Some(video),
                            None,
                            crate::EventKind::View(r),
                            at,
                        )?;
                        add = [1, r.completed as i64, r.watched_ms as i64, 0];
                    }
                    BulkInteraction::Like => {
                        if like.execute(params![user.0, video.0, at])? == 1 {
                            crate::events::record(
                                &tx,
                                user,
                                Some(video),
                                None,
                                crate::EventKind::Like,
                                at,
                            )?;
                            add[3] = 1;
                        }
                    }
                }
                let day = at.div_euclid(86_400_000);
                for (slot, a) in [
                    per_video.entry(video.0).or_default(),
                    per_day.entry((video.0, day)).or_default(),
                ]
                .into_iter()
                .zip([add, add])
                {
                    for (s, x) in slot.iter_mut().zip(a) {
                        *s += x;
                    }
                }
            }
            let mut counts = tx.prepare_cached(
                "UPDATE videos SET view_count = view_count + ?2, completed_count = completed_count + ?3,
                        like_count = like_count + ?4 WHERE id = ?1",
            )?;
            for (video, [views, completed, _, likes]) in &per_video {
                counts.execute(params![video, views, completed, likes])?;
            }
            // Watch time counts up to one full play per view, as `add_view`
            // does; a synthetic view never runs past its clip's length.
            let mut daily = tx.prepare_cached(
                "INSERT INTO daily_stats (video_id, day, views, completed, watched_ms, likes)
                 VALUES (?1, date(?2 * 86400, 'unixepoch'), ?3, ?4, ?5, ?6)
                 ON CONFLICT (video_id, day) DO UPDATE SET views = views + excluded.views,
                    completed = completed + excluded.completed,
                    watched_ms = watched_ms + excluded.watched_ms, likes = likes + excluded.likes",
            )?;
            for ((video, day), [views, completed, watched, likes]) in &per_day {
                daily.execute(params![video, day, views, completed, watched, likes])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The secondary indexes of some tables, dropped while a bulk load fills
/// them and built again, once, when it is done: SQLite builds an index
/// from a table's rows by sorting them, several times faster than keeping
/// it up to date one row at a time. Indexes that enforce a constraint
/// (primary keys, UNIQUE) stay, so the load is checked exactly as the live
/// paths are. The statements that build them again are kept in the region
/// file (`deferred_indexes`), written in the transaction that drops them
/// and each deleted in the one that runs it, so nothing is lost whatever
/// stops the load: the guard builds them when it is rebuilt or dropped,
/// and [`Store::open`] builds any a killed process left.
pub struct DeferredIndexes<'s> {
    store: &'s Store,
    /// The page cache sizes to put back once the indexes are built.
    previous_cache: [i64; 2],
}

impl Store {
    /// Drops the plain (non-unique) indexes of `tables`, in this file or
    /// the public one, until the returned guard is rebuilt or dropped.
    /// Meant for loading into empty tables (`flick seed --synthetic`):
    /// queries on these tables are slow until then.
    pub fn defer_indexes(&self, tables: &[&str]) -> Result<DeferredIndexes<'_>> {
        let conn = self.write();
        // The loads in between keep their pages cached from one call to
        // the next (see `BulkCache`).
        let previous_cache = grow_cache(&conn)?;
        let guard = DeferredIndexes {
            store: self,
            previous_cache,
        };
        // One transaction: every index goes and is recorded, or none.
        let tx = conn.unchecked_transaction()?;
        for schema in ["main", "public"] {
            let found: Vec<(String, String, String)> = tx
                .prepare(&format!(
                    "SELECT name, tbl_name, sql FROM {schema}.sqlite_schema
                     WHERE type = 'index' AND sql IS NOT NULL ORDER BY name"
                ))?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (name, table, sql) in found {
                let Some(rest) = sql.strip_prefix("CREATE INDEX ") else {
                    continue; // UNIQUE: a constraint, not just a lookup path
                };
                if !tables.contains(&table.as_str()) {
                    continue;
                }
                tx.execute_batch(&format!("DROP INDEX {schema}.\"{name}\""))?;
                tx.execute(
                    "INSERT INTO main.deferred_indexes (sql) VALUES (?1)",
                    [format!("CREATE INDEX {schema}.{rest}")],
                )?;
            }
        }
        tx.commit()?;
        drop(conn);
        Ok(guard)
    }

    /// Builds every index a bulk load dropped and did not build again (a
    /// killed `flick seed --synthetic`); each is gone from the record in
    /// the transaction that builds it.
    pub(crate) fn build_deferred_indexes(conn: &rusqlite::Connection) -> Result<usize> {
        let pending: Vec<(i64, String)> = conn
            .prepare("SELECT rowid, sql FROM main.deferred_indexes ORDER BY rowid")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if pending.is_empty() {
            return Ok(0);
        }
        // SQLite sorts an index's keys with helper threads when allowed.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        conn.pragma_update(None, "threads", cores.min(8) as i64)?;
        let built = pending.iter().try_for_each(|(rowid, sql)| {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(sql)?;
            tx.execute(
                "DELETE FROM main.deferred_indexes WHERE rowid = ?1",
                [rowid],
            )?;
            tx.commit()
        });
        conn.pragma_update(None, "threads", 0)?;
        built?;
        Ok(pending.len())
    }
}

impl DeferredIndexes<'_> {
    /// Builds the dropped indexes again.
    pub fn rebuild(mut self) -> Result<()> {
        self.build()
    }

    fn build(&mut self) -> Result<()> {
        let conn = self.store.write();
        let mut cache = BulkCache::grow(&conn)?;
        cache.previous = self.previous_cache;
        Store::build_deferred_indexes(&conn)?;
        Ok(())
    }
}

impl Drop for DeferredIndexes<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.build() {
            tracing::error!(
                error = %e,
                "could not build the indexes a bulk load deferred; the next start builds them"
            );
        }
    }
}

/// A page cache big enough for bulk inserts into indexed tables (SQLite's
/// default is 2 MB; this allows up to 1 GiB per file, as a seed of a
/// million videos needs), for the length of one call; the connection is the
/// store's writer, so it goes back to the default after.
struct BulkCache<'c> {
    conn: &'c rusqlite::Connection,
    /// The sizes it replaced (main, public), put back when it ends: a
    /// bulk call inside [`DeferredIndexes`]' lifetime keeps the grown
    /// cache, so the next call finds its pages still there.
    previous: [i64; 2],
}

const BULK_CACHE_KIB: i64 = 1_048_576;

impl<'c> BulkCache<'c> {
    fn grow(conn: &'c rusqlite::Connection) -> Result<Self> {
        let previous = grow_cache(conn)?;
        Ok(BulkCache { conn, previous })
    }
}

impl Drop for BulkCache<'_> {
    fn drop(&mut self) {
        let _ = set_cache(self.conn, self.previous);
    }
}

/// Sets both files' page cache to the bulk size; returns the sizes it had.
fn grow_cache(conn: &rusqlite::Connection) -> Result<[i64; 2]> {
    let public = rusqlite::DatabaseName::Attached("public");
    let previous = [
        conn.pragma_query_value(None, "cache_size", |r| r.get(0))?,
        conn.pragma_query_value(Some(public), "cache_size", |r| r.get(0))?,
    ];
    set_cache(conn, [-BULK_CACHE_KIB; 2])?;
    Ok(previous)
}

fn set_cache(conn: &rusqlite::Connection, [main, public]: [i64; 2]) -> Result<()> {
    conn.pragma_update(None, "cache_size", main)?;
    conn.pragma_update(
        Some(rusqlite::DatabaseName::Attached("public")),
        "cache_size",
        public,
    )?;
    Ok(())
}

fn distinct(ids: impl Iterator<Item = UserId>) -> Vec<UserId> {
    let mut v: Vec<UserId> = ids.collect();
    v.sort_unstable_by_key(|u| u.0);
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use crate::test_store;

    fn indexes(s: &crate::Store, schema: &str) -> Vec<String> {
        let conn = s.write();
        let mut q = conn
            .prepare(&format!(
                "SELECT name FROM {schema}.sqlite_schema
                 WHERE type = 'index' AND tbl_name IN ('videos', 'uploads') ORDER BY name"
            ))
            .unwrap();
        let names = q
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<String>>>()
            .unwrap();
        names
    }

    #[test]
    fn deferred_indexes_come_back_whether_rebuilt_or_dropped() {
        let (_dir, s) = test_store();
        let before = (indexes(&s, "public"), indexes(&s, "main"));
        assert!(before.0.contains(&"videos_author".to_string()));
        assert!(before.1.contains(&"uploads_author".to_string()));
        let deferred = s.defer_indexes(&["videos", "uploads"]).unwrap();
        let during = (indexes(&s, "public"), indexes(&s, "main"));
        assert!(!during.0.contains(&"videos_author".to_string()));
        assert!(!during.1.contains(&"uploads_author".to_string()));
        // The one that enforces UNIQUE (author, idempotency key) stays.
        assert!(during
            .1
            .iter()
            .any(|n| n.starts_with("sqlite_autoindex_uploads")));
        deferred.rebuild().unwrap();
        assert_eq!((indexes(&s, "public"), indexes(&s, "main")), before);

        // A load that fails part-way drops the guard without rebuilding.
        drop(s.defer_indexes(&["videos"]).unwrap());
        assert_eq!((indexes(&s, "public"), indexes(&s, "main")), before);
    }

    #[test]
    fn indexes_a_killed_load_left_dropped_are_built_at_the_next_open() {
        let (dir, s) = test_store();
        let before = (indexes(&s, "public"), indexes(&s, "main"));
        // As if the process were killed mid-load: the guard never runs.
        std::mem::forget(s.defer_indexes(&["videos", "uploads"]).unwrap());
        assert!(!indexes(&s, "public").contains(&"videos_author".to_string()));
        drop(s);
        let s = crate::Store::open(
            &dir.path().join("public.db"),
            &dir.path().join("region.db"),
            flick_domain::RegionCode::parse("eu").unwrap(),
        )
        .unwrap();
        assert_eq!((indexes(&s, "public"), indexes(&s, "main")), before);
        let left: i64 = s
            .write()
            .query_row("SELECT COUNT(*) FROM deferred_indexes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }
}
