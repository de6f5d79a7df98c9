//! Bulk loading for `flick seed --synthetic`: a large catalogue, its
//! accounts and an interaction history, written with the same rows and the
//! same region boundary as the one-at-a-time paths, but many per
//! transaction (one transaction per call, as everywhere in the store, so a
//! batch is either whole or absent).

use crate::{Result, Store};
use flick_domain::{Caption, DataClass, Handle, UserId, VideoId, WatchReport};
use rusqlite::{params, ToSql};
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
            let mut uploads: Vec<&dyn ToSql> = Vec::with_capacity(videos.len() * 4);
            let mut public: Vec<&dyn ToSql> = Vec::with_capacity(videos.len() * 8);
            let mut catalogue: Vec<&dyn ToSql> = Vec::with_capacity(videos.len() * 2);
            let tags: Vec<(i64, &str, usize)> = videos
                .iter()
                .flat_map(|v| {
                    v.caption
                        .hashtags()
                        .iter()
                        .enumerate()
                        .map(|(pos, t)| (v.id.0, t.as_str(), pos))
                })
                .collect();
            let mut tag_values: Vec<&dyn ToSql> = Vec::with_capacity(tags.len() * 3);
            let captions: Vec<&str> = videos.iter().map(|v| v.caption.text()).collect();
            for (v, caption) in videos.iter().zip(&captions) {
                uploads.extend([&v.id.0 as &dyn ToSql, &v.author.0, caption, &v.created_at]);
                public.extend([
                    &v.id.0 as &dyn ToSql,
                    &v.author.0,
                    caption,
                    &v.duration_ms,
                    &v.width,
                    &v.height,
                    &v.created_at,
                    &v.media.0,
                ]);
                catalogue.extend([&v.id.0 as &dyn ToSql, &v.created_at]);
            }
            for (id, t, pos) in &tags {
                tag_values.extend([id as &dyn ToSql, t, pos]);
            }
            insert_many(
                &tx,
                "INSERT INTO uploads (id, author_id, caption, created_at, status) VALUES",
                4,
                ", 'published'",
                &uploads,
            )
            .map_err(|e| crate::conflict_on_unique(e, "video id"))?;
            insert_many(
                &tx,
                "INSERT INTO videos (id, author_id, caption, duration_ms, width, height, created_at, media_id) VALUES",
                8,
                "",
                &public,
            )?;
            insert_many(
                &tx,
                "INSERT OR IGNORE INTO video_hashtags (video_id, tag, position) VALUES",
                3,
                "",
                &tag_values,
            )?;
            insert_many(
                &tx,
                "INSERT INTO catalogue (video_id, created_at, kind) VALUES",
                2,
                ", 'publish'",
                &catalogue,
            )?;
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

/// What a bulk load puts off until its rows are in: the secondary indexes
/// of the tables it fills, dropped and built again once, and their
/// foreign-key checks, run once over the whole tables. SQLite builds an
/// index from a table's rows by sorting them, several times faster than
/// keeping it up to date one row at a time, and `PRAGMA foreign_key_check`
/// looks up every row's parents in one pass for about a third of what the
/// same checks cost row by row. Indexes that enforce a constraint (primary
/// keys, UNIQUE) stay, and a reference that points nowhere fails the load
/// when it finishes ([`StoreError::BrokenReferences`]), so the load is held
/// to the same rules as the live paths, only later.
///
/// What is pending is kept in the region file (`deferred_indexes`,
/// `deferred_checks`), written in the transaction that drops the indexes
/// and each deleted in the one that completes it, so nothing is skipped
/// whatever stops the load: the guard finishes when it is finished or
/// dropped, and [`Store::open`] finishes what a killed process left.
///
/// Foreign keys are not enforced on the store's writer connection while
/// the guard lives: it is meant for a loader that is the only writer.
///
/// [`StoreError::BrokenReferences`]: crate::StoreError::BrokenReferences
pub struct BulkLoad<'s> {
    store: &'s Store,
    /// The page cache sizes to put back once the load is finished.
    previous_cache: [i64; 2],
    finished: bool,
}

impl Store {
    /// Starts a bulk load into `tables`, in this file or the public one:
    /// drops their plain (non-unique) indexes and stops checking foreign
    /// keys on the writer until the returned guard is finished or dropped.
    /// Meant for loading into empty tables (`flick seed --synthetic`):
    /// queries on these tables are slow until then.
    pub fn begin_bulk_load(&self, tables: &[&str]) -> Result<BulkLoad<'_>> {
        let conn = self.write();
        // The loads in between keep their pages cached from one call to
        // the next (see `BulkCache`).
        let previous_cache = grow_cache(&conn)?;
        let guard = BulkLoad {
            store: self,
            previous_cache,
            finished: false,
        };
        // One transaction: every index goes and every check is recorded,
        // or nothing happens.
        let tx = conn.unchecked_transaction()?;
        for schema in ["main", "public"] {
            let found: Vec<(String, String, String, String)> = tx
                .prepare(&format!(
                    "SELECT type, name, tbl_name, sql FROM {schema}.sqlite_schema
                     WHERE type IN ('table', 'index') AND sql IS NOT NULL ORDER BY name"
                ))?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (kind, name, table, sql) in found {
                if !tables.contains(&table.as_str()) {
                    continue;
                }
                if kind == "table" {
                    tx.execute(
                        "INSERT INTO main.deferred_checks (schema, tbl) VALUES (?1, ?2)",
                        [schema, &table],
                    )?;
                    continue;
                }
                let Some(rest) = sql.strip_prefix("CREATE INDEX ") else {
                    continue; // UNIQUE: a constraint, not just a lookup path
                };
                tx.execute_batch(&format!("DROP INDEX {schema}.\"{name}\""))?;
                tx.execute(
                    "INSERT INTO main.deferred_indexes (sql) VALUES (?1)",
                    [format!("CREATE INDEX {schema}.{rest}")],
                )?;
            }
        }
        tx.commit()?;
        // Outside any transaction, where SQLite lets it change.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        drop(conn);
        Ok(guard)
    }

    /// Finishes every bulk load that did not finish (a killed `flick seed
    /// --synthetic`): checks the foreign keys of its tables, then builds
    /// the indexes it dropped; each is gone from the record in the
    /// transaction that completes it. Returns how many steps it ran.
    pub(crate) fn finish_bulk_loads(conn: &rusqlite::Connection) -> Result<usize> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let checks: Vec<(i64, String, String)> = conn
            .prepare("SELECT rowid, schema, tbl FROM main.deferred_checks ORDER BY rowid")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        for (rowid, schema, table) in &checks {
            // Checked before any index is built: a load that broke the
            // rules is not worth indexing. The record stays, so every
            // later open refuses the inconsistent file too.
            let broken: usize = conn
                .prepare(&format!("PRAGMA {schema}.foreign_key_check(\"{table}\")"))?
                .query_map([], |_| Ok(()))?
                .try_fold(0, |n, row| row.map(|()| n + 1))?;
            if broken > 0 {
                return Err(crate::StoreError::BrokenReferences {
                    table: table.clone(),
                    rows: broken,
                });
            }
            conn.execute("DELETE FROM main.deferred_checks WHERE rowid = ?1", [rowid])?;
        }
        let pending: Vec<(i64, String)> = conn
            .prepare("SELECT rowid, sql FROM main.deferred_indexes ORDER BY rowid")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        if pending.is_empty() {
            return Ok(checks.len());
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
        Ok(checks.len() + pending.len())
    }
}

impl BulkLoad<'_> {
    /// Checks the loaded tables' foreign keys and builds their indexes.
    pub fn finish(mut self) -> Result<()> {
        self.complete()
    }

    fn complete(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        let conn = self.store.write();
        // First, so the writer checks references again even if what
        // follows fails (this guard does not try a second time).
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut cache = BulkCache::grow(&conn)?;
        cache.previous = self.previous_cache;
        Store::finish_bulk_loads(&conn)?;
        Ok(())
    }
}

impl Drop for BulkLoad<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.complete() {
            tracing::error!(
                error = %e,
                "could not finish a bulk load; the next start tries again"
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
    /// bulk call inside a [`BulkLoad`]'s lifetime keeps the grown
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

/// Rows per multi-row INSERT: one statement runs many rows, so the
/// per-statement work (reset, binding calls, the statement's setup) is
/// paid once per this many rows instead of once per row.
const ROWS_PER_INSERT: usize = 64;

/// Inserts `values`, `width` per row, with `head` ("INSERT INTO t (…)
/// VALUES") and `tail` (constant columns after the bound ones, e.g.
/// ", 'published'") completing each row.
fn insert_many(
    tx: &rusqlite::Transaction<'_>,
    head: &str,
    width: usize,
    tail: &str,
    values: &[&dyn ToSql],
) -> rusqlite::Result<()> {
    let row = format!("({}{tail})", vec!["?"; width].join(", "));
    for chunk in values.chunks(ROWS_PER_INSERT * width) {
        let sql = format!(
            "{head} {}",
            vec![row.as_str(); chunk.len() / width].join(", ")
        );
        tx.prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(chunk.iter()))?;
    }
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
        let deferred = s.begin_bulk_load(&["videos", "uploads"]).unwrap();
        let during = (indexes(&s, "public"), indexes(&s, "main"));
        assert!(!during.0.contains(&"videos_author".to_string()));
        assert!(!during.1.contains(&"uploads_author".to_string()));
        // The one that enforces UNIQUE (author, idempotency key) stays.
        assert!(during
            .1
            .iter()
            .any(|n| n.starts_with("sqlite_autoindex_uploads")));
        deferred.finish().unwrap();
        assert_eq!((indexes(&s, "public"), indexes(&s, "main")), before);

        // A load that fails part-way drops the guard without finishing it.
        drop(s.begin_bulk_load(&["videos"]).unwrap());
        assert_eq!((indexes(&s, "public"), indexes(&s, "main")), before);
    }

    #[test]
    fn indexes_a_killed_load_left_dropped_are_built_at_the_next_open() {
        let (dir, s) = test_store();
        let before = (indexes(&s, "public"), indexes(&s, "main"));
        // As if the process were killed mid-load: the guard never runs.
        std::mem::forget(s.begin_bulk_load(&["videos", "uploads"]).unwrap());
        assert!(!indexes(&s, "public").contains(&"videos_author".to_string()));
        drop(s);
        let s = open_again(&dir).unwrap();
        assert_eq!((indexes(&s, "public"), indexes(&s, "main")), before);
        let left: i64 = s
            .write()
            .query_row("SELECT COUNT(*) FROM deferred_indexes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    fn open_again(dir: &tempfile::TempDir) -> crate::Result<crate::Store> {
        crate::Store::open(
            &dir.path().join("public.db"),
            &dir.path().join("region.db"),
            flick_domain::RegionCode::parse("eu").unwrap(),
        )
    }

    /// A row whose author does not exist goes in while the load defers
    /// the checks, and the load fails when it finishes; after a kill, the
    /// next open refuses the file with the same error, and keeps refusing.
    #[test]
    fn a_bulk_load_with_a_broken_reference_fails_when_it_finishes() {
        let orphan = "INSERT INTO public.videos (id, author_id, caption, duration_ms, width, height, created_at)
                      VALUES (7, 999, 'nobody posted this', 1000, 720, 1280, 1)";
        let (dir, s) = test_store();
        // Outside a load, the reference is checked as the row goes in.
        assert!(s.write().execute(orphan, []).is_err());
        let load = s.begin_bulk_load(&["videos"]).unwrap();
        s.write().execute(orphan, []).unwrap();
        match load.finish() {
            Err(crate::StoreError::BrokenReferences { table, rows }) => {
                assert_eq!((table.as_str(), rows), ("videos", 1));
            }
            other => panic!("expected BrokenReferences, got {other:?}"),
        }
        // Checked again from now on.
        let again = orphan.replace("(7,", "(8,");
        assert!(s.write().execute(&again, []).is_err());
        drop(s);
        for _ in 0..2 {
            let err = open_again(&dir).err().expect("the open refuses the file");
            assert!(err.to_string().contains("seed a fresh one"), "{err}");
        }
    }

    /// A load killed after its rows went in is checked at the next open,
    /// which then succeeds when they are sound.
    #[test]
    fn a_killed_load_of_sound_rows_is_checked_and_opens() {
        let (dir, s) = test_store();
        std::mem::forget(s.begin_bulk_load(&["videos", "uploads"]).unwrap());
        let pending: i64 = s
            .write()
            .query_row("SELECT COUNT(*) FROM deferred_checks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(pending, 2, "one check per table");
        drop(s);
        let s = open_again(&dir).unwrap();
        let left: i64 = s
            .write()
            .query_row("SELECT COUNT(*) FROM deferred_checks", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
        let enforced: i64 = s
            .write()
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(enforced, 1);
    }
}
