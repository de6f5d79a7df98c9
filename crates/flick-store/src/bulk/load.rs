//! A bulk load's guard ([`BulkLoad`]): the indexes and foreign-key checks
//! it puts off, the public file's second writer, and finishing both files.

use super::{insert_public_rows, insert_uploads, BulkVideo};
use crate::{Result, Store};
use std::sync::{mpsc, Mutex};

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
    /// The public file's own writer for the length of the load: a batch's
    /// public rows go in on it while the store's writer takes the
    /// region's, on two threads (two files, so neither waits for the
    /// other's lock, and each file's B-trees grow on a core of their own).
    public: Mutex<crate::db::Conn>,
    /// The page cache sizes to put back once the load is finished.
    previous_cache: [i64; 2],
    finished: bool,
}

/// Plain indexes a bulk load keeps: bulk rows arrive in id and posting
/// order (`BulkLoad::publish` sorts each batch by id; the seed posts in time
/// order), and a bulk video has no sound and one of a few template
/// media, so each of these grows at its end (or at one of a few ends),
/// which costs less than sorting a million keys once the rows are in.
const GROWN_AT_THE_END: &[&str] = &["videos_created", "videos_sound", "videos_media"];

impl Store {
    /// Starts a bulk load into `tables`, in this file or the public one:
    /// drops their plain (non-unique) indexes and stops checking foreign
    /// keys on the writer until the returned guard is finished or dropped.
    /// Meant for loading into empty tables (`flick seed --synthetic`):
    /// queries on these tables are slow until then.
    pub fn begin_bulk_load(&self, tables: &[&str]) -> Result<BulkLoad<'_>> {
        let mut public = rusqlite::Connection::open(&self.public_path)?;
        crate::configure(&public)?;
        public.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        public.pragma_update(None, "cache_size", -BULK_CACHE_KIB)?;
        // As the writer's: a 50,000-row commit would otherwise checkpoint.
        public.pragma_update(None, "wal_autocheckpoint", crate::WAL_AUTOCHECKPOINT_PAGES)?;
        if tables.iter().any(|t| public_table(&public, t)) {
            // Checked whole when the load finishes, like the writer's.
            public.pragma_update(None, "foreign_keys", "OFF")?;
        }
        let writer = self.write();
        let conn = sqlite(&writer)?;
        // The loads in between keep their pages cached from one call to
        // the next (see `BulkCache`).
        let previous_cache = grow_cache(conn)?;
        let guard = BulkLoad {
            store: self,
            public: Mutex::new(crate::db::Conn::sqlite(public, true)),
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
                if GROWN_AT_THE_END.contains(&name.as_str()) {
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
        // Outside any transaction, where SQLite lets it change.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        drop(writer);
        Ok(guard)
    }

    /// Finishes every bulk load that did not finish (a killed `flick seed
    /// --synthetic`): checks the foreign keys of its tables, then builds
    /// the indexes it dropped; each is gone from the record in the
    /// transaction that completes it. Returns how many steps it ran.
    pub(crate) fn finish_bulk_loads(conn: &rusqlite::Connection) -> Result<usize> {
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let left = Leftovers::read(conn)?;
        left.finish_here(conn)?;
        Ok(left.checks.len() + left.indexes.len())
    }
}

/// What bulk loads left to do, as recorded in the region file (region
/// migration 8): whole-table foreign-key checks and index builds, each
/// with its record's rowid.
#[derive(Default)]
struct Leftovers {
    /// (rowid, schema, table)
    checks: Vec<(i64, String, String)>,
    /// (rowid, the statement that builds it, naming its schema)
    indexes: Vec<(i64, String)>,
}

impl Leftovers {
    fn read(conn: &rusqlite::Connection) -> Result<Self> {
        Ok(Leftovers {
            checks: conn
                .prepare("SELECT rowid, schema, tbl FROM main.deferred_checks ORDER BY rowid")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?,
            indexes: conn
                .prepare("SELECT rowid, sql FROM main.deferred_indexes ORDER BY rowid")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?,
        })
    }

    /// Splits off the steps on the public file.
    fn split_public(self) -> (Leftovers, Leftovers) {
        let (public_checks, checks) = self.checks.into_iter().partition(|c| c.1 == "public");
        let (public_indexes, indexes) = self
            .indexes
            .into_iter()
            .partition(|(_, sql)| sql.starts_with(PUBLIC_INDEX));
        (
            Leftovers {
                checks: public_checks,
                indexes: public_indexes,
            },
            Leftovers { checks, indexes },
        )
    }

    /// Runs every step on `conn` (a region's writer, the public file
    /// attached), each record deleted in the transaction that completes
    /// it. Checks come first: a load that broke the rules is not worth
    /// indexing, and its record stays, so every later open refuses the
    /// inconsistent file too. Transactions are deferred, so one that
    /// touches only the region file leaves the public file's lock free.
    fn finish_here(&self, conn: &rusqlite::Connection) -> Result<()> {
        for (rowid, schema, table) in &self.checks {
            check_references(conn, schema, table)?;
            conn.execute("DELETE FROM main.deferred_checks WHERE rowid = ?1", [rowid])?;
        }
        with_sorter_threads(conn, || {
            self.indexes.iter().try_for_each(|(rowid, sql)| {
                let tx = rusqlite::Transaction::new_unchecked(
                    conn,
                    rusqlite::TransactionBehavior::Deferred,
                )?;
                tx.execute_batch(&if_not_exists(sql))?;
                tx.execute(
                    "DELETE FROM main.deferred_indexes WHERE rowid = ?1",
                    [rowid],
                )?;
                Ok(tx.commit()?)
            })
        })
    }

    /// Runs the public file's steps on `public`, a connection whose main
    /// file it is, without touching the records (they live in the region
    /// file, which another thread is writing): the caller deletes them
    /// once this succeeds. Every step can run twice (a kill in between),
    /// since an index is built only if it does not exist.
    fn finish_on_public(&self, public: &rusqlite::Connection) -> Result<()> {
        for (_, _, table) in &self.checks {
            check_references(public, "main", table)?;
        }
        with_sorter_threads(public, || {
            self.indexes.iter().try_for_each(|(_, sql)| {
                let own = sql.replacen(PUBLIC_INDEX, "CREATE INDEX ", 1);
                Ok(public.execute_batch(&if_not_exists(&own))?)
            })
        })
    }

    fn forget(&self, conn: &rusqlite::Connection) -> Result<()> {
        let tx =
            rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Deferred)?;
        for (rowid, _, _) in &self.checks {
            tx.execute("DELETE FROM main.deferred_checks WHERE rowid = ?1", [rowid])?;
        }
        for (rowid, _) in &self.indexes {
            tx.execute(
                "DELETE FROM main.deferred_indexes WHERE rowid = ?1",
                [rowid],
            )?;
        }
        Ok(tx.commit()?)
    }
}

/// How a recorded index build on the public file starts.
const PUBLIC_INDEX: &str = "CREATE INDEX public.";

fn if_not_exists(sql: &str) -> String {
    sql.replacen("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1)
}

/// Fails with [`crate::StoreError::BrokenReferences`] when a row of
/// `schema.table` points at nothing.
fn check_references(conn: &rusqlite::Connection, schema: &str, table: &str) -> Result<()> {
    let broken: usize = conn
        .prepare(&format!("PRAGMA {schema}.foreign_key_check(\"{table}\")"))?
        .query_map([], |_| Ok(()))?
        .try_fold(0, |n, row| row.map(|()| n + 1))?;
    if broken > 0 {
        return Err(crate::StoreError::BrokenReferences {
            table: table.to_owned(),
            rows: broken,
        });
    }
    Ok(())
}

/// Runs `f` with SQLite allowed helper threads for sorting an index's
/// keys, one per core.
fn with_sorter_threads(conn: &rusqlite::Connection, f: impl FnOnce() -> Result<()>) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    conn.pragma_update(None, "threads", cores.min(8) as i64)?;
    let done = f();
    conn.pragma_update(None, "threads", 0)?;
    done
}

impl BulkLoad<'_> {
    /// Publishes videos whose authors' home is this region, as a finished
    /// transcode would: the region's upload row, the public row with its
    /// hashtags, and the catalogue entry every recommender reads. Their
    /// media are another video's files, so no file is written.
    ///
    /// The region's rows and the public file's are written at the same
    /// time on two connections. Neither file
    /// commits unless both halves went in, and the public file commits
    /// only after the region's did: a failed insert leaves neither file
    /// changed, and only a failing commit of the public file (or a kill
    /// between the two commits) could leave uploads without their videos.
    /// SQLite in WAL mode gives no more over attached files either: a
    /// transaction across them is atomic per file.
    pub fn publish(&self, videos: &[BulkVideo]) -> Result<()> {
        let conn = self.store.write();
        sqlite(&conn)?;
        let videos = self.store.publishable(&conn, videos)?;
        let (public_written, public_in) = mpsc::channel::<bool>();
        let (region_committed, commit_rx) = mpsc::channel::<bool>();
        let (videos, lock) = (&videos, &self.public);
        std::thread::scope(|scope| {
            let public = scope.spawn(move || -> Result<()> {
                let c = lock.lock().unwrap_or_else(|e| e.into_inner());
                let tx = c.unchecked_transaction()?;
                let written = insert_public_rows(&tx, videos);
                let _ = public_written.send(written.is_ok());
                written?;
                // A closed channel (the region half failed, or panicked)
                // means no.
                if commit_rx.recv().unwrap_or(false) {
                    tx.commit()?;
                }
                Ok(())
            });
            // Moved in, so even a panic here closes the channel the
            // public half waits on.
            let region = move || -> Result<()> {
                let (public_in, region_committed) = (public_in, region_committed);
                // Deferred, unlike the writer's usual immediate: that would
                // take the write lock of the attached public file too, and
                // the other half is writing it.
                let tx = conn.deferred_transaction()?;
                insert_uploads(&tx, videos)?;
                if public_in.recv().unwrap_or(false) {
                    tx.commit()?;
                    let _ = region_committed.send(true);
                }
                Ok(())
            };
            let region = region();
            let public = public
                .join()
                .expect("the public half of a bulk publish panicked");
            region.and(public)
        })
    }

    /// Checks the loaded tables' foreign keys and builds their indexes.
    pub fn finish(mut self) -> Result<()> {
        self.complete()
    }

    fn complete(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.finished, true) {
            return Ok(());
        }
        let writer = self.store.write();
        let conn = sqlite(&writer)?;
        // First, so the writer checks references again even if what
        // follows fails (this guard does not try a second time).
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut cache = BulkCache::grow(conn)?;
        cache.previous = self.previous_cache;
        // Each file's steps on its own connection, at the same time.
        let (public_steps, region_steps) = Leftovers::read(conn)?.split_public();
        let lock = &self.public;
        std::thread::scope(|scope| {
            let public = scope.spawn(|| {
                let c = lock.lock().unwrap_or_else(|e| e.into_inner());
                public_steps.finish_on_public(sqlite(&c)?)
            });
            let region = region_steps.finish_here(conn);
            let public = public
                .join()
                .expect("finishing the public file's load panicked");
            region.and(public)
        })?;
        public_steps.forget(conn)?;
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
pub(super) struct BulkCache<'c> {
    conn: &'c rusqlite::Connection,
    /// The sizes it replaced (main, public), put back when it ends: a
    /// bulk call inside a [`BulkLoad`]'s lifetime keeps the grown
    /// cache, so the next call finds its pages still there.
    previous: [i64; 2],
}

const BULK_CACHE_KIB: i64 = 1_048_576;

impl<'c> BulkCache<'c> {
    pub(super) fn grow(conn: &'c rusqlite::Connection) -> Result<Self> {
        let previous = grow_cache(conn)?;
        Ok(BulkCache { conn, previous })
    }
}

impl Drop for BulkCache<'_> {
    fn drop(&mut self) {
        let _ = set_cache(self.conn, self.previous);
    }
}

/// The SQLite connection under `conn`: bulk loads are SQLite's alone.
pub(crate) fn sqlite(conn: &crate::db::Conn) -> Result<&rusqlite::Connection> {
    conn.as_sqlite()
        .ok_or(crate::StoreError::NeedsSqlite("a bulk load"))
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

/// Whether `table` is one of the public file's (`conn`'s main file).
fn public_table(conn: &rusqlite::Connection, table: &str) -> bool {
    conn.query_row(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1",
        [table],
        |_| Ok(()),
    )
    .is_ok()
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
            .collect::<crate::db::DbResult<Vec<String>>>()
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

    /// A load publishes each batch on two connections at once; a batch
    /// either lands in both files or in neither, whichever half fails.
    #[test]
    fn a_published_batch_lands_in_both_files_or_in_neither() {
        use crate::BulkVideo;
        use flick_domain::{Caption, Handle, UserId, VideoId};
        let (_dir, s) = test_store();
        s.bulk_create_users(&[(UserId(1), Handle::parse("alice").unwrap())], "hash", 1)
            .unwrap();
        let video = |id: i64| BulkVideo {
            id: VideoId(id),
            author: UserId(1),
            caption: Caption::parse(&format!("clip {id} #one #two")).unwrap(),
            duration_ms: 15_000,
            width: 720,
            height: 1280,
            created_at: id,
            media: VideoId(id),
        };
        let count = |table: &str| -> i64 {
            s.write()
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
                .unwrap()
        };
        let load = s
            .begin_bulk_load(&["videos", "video_hashtags", "uploads"])
            .unwrap();
        load.publish(&[video(10), video(11), video(12)]).unwrap();
        // The region's half fails: 12 is already an upload.
        assert!(load.publish(&[video(12), video(13)]).is_err());
        // The public half fails: 20 is already a video (put there by hand).
        s.write()
            .execute(
                "INSERT INTO videos (id, author_id, caption, duration_ms, width, height, created_at)
                 VALUES (20, 1, 'by hand', 1000, 720, 1280, 20)",
                [],
            )
            .unwrap();
        assert!(load.publish(&[video(20), video(21)]).is_err());
        load.finish().unwrap();
        assert_eq!(count("uploads"), 3, "no upload of a failed batch");
        assert_eq!(count("videos"), 4, "three published and the one by hand");
        assert_eq!(count("video_hashtags"), 6);
        assert_eq!(count("catalogue"), 3);
    }

    /// A kill after the public file's steps ran but before their records
    /// went: the next open runs them again, and building an index that is
    /// already there is no error.
    #[test]
    fn public_steps_that_ran_before_a_kill_run_again_at_the_next_open() {
        let (dir, s) = test_store();
        let load = s.begin_bulk_load(&["videos"]).unwrap();
        let (public, _) = super::Leftovers::read(s.write().as_sqlite().unwrap())
            .unwrap()
            .split_public();
        assert!(!public.indexes.is_empty());
        public
            .finish_on_public(load.public.lock().unwrap().as_sqlite().unwrap())
            .unwrap();
        std::mem::forget(load);
        drop(s);
        let s = open_again(&dir).unwrap();
        assert!(indexes(&s, "public").contains(&"videos_author".to_string()));
        let left: i64 = s
            .write()
            .query_row(
                "SELECT (SELECT COUNT(*) FROM deferred_checks) + (SELECT COUNT(*) FROM deferred_indexes)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }
}
