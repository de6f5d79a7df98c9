//! Schema migrations, applied in order and recorded in each file's
//! `PRAGMA user_version`. Never edit a migration that has shipped: add one.
//!
//! There are two kinds of database file. The *public* file holds what anyone
//! may see, whatever their region: profiles, published videos, comments and
//! counts. Each *region* file holds the protected data of the accounts whose
//! home is that region: credentials, sessions, interactions and watch
//! history, unpublished uploads. A region file is opened only by a node that
//! holds the region, so its rows cannot reach another region's node.
//!
//! Foreign keys cannot cross files: region rows point at accounts in the same
//! file; references to public rows (`video_id`, `followee_id`) are plain ids,
//! cleaned up by account deletion and its purges.

mod postgres;
mod steps;

pub(crate) use postgres::{migrate_postgres, PUBLIC_PG, REGION_PG, SHARED_TABLES};
pub(crate) use steps::{PUBLIC, REGION};

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// One migration: a batch of SQL, or a change SQL cannot make.
pub(crate) enum Step {
    Sql(&'static str),
    /// Every `CHECK (column IN ('a', 'b', 'c'))` becomes `CHECK (column =
    /// 'a' OR column = 'b' OR column = 'c')`. For a list of three or more
    /// constants SQLite builds a temporary table of it for every row it
    /// checks, which was most of the cost of writing a row to the event
    /// log (10 per For You page) and a third of a bulk-published video's.
    /// The comparisons mean the same and cost next to nothing. SQLite cannot
    /// change a CHECK with ALTER TABLE; rewriting the table's definition in
    /// the schema is its documented way for a change that leaves every
    /// stored row valid and unchanged (lang_altertable.html, "making other
    /// kinds of table schema changes"), and this one does.
    ChecksAsComparisons,
}
/// The tables the migrations create, by name.
pub(crate) fn table_names(migrations: &[Step]) -> Vec<&'static str> {
    migrations
        .iter()
        .filter_map(|step| match step {
            Step::Sql(sql) => Some(*sql),
            Step::ChecksAsComparisons => None,
        })
        .flat_map(|sql| sql.split("CREATE TABLE ").skip(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

/// Brings the file open as `conn`'s main database up to date. The version
/// is read inside an immediate transaction, so two processes opening the
/// same public file at once do not both run a migration.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[Step]) -> crate::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: usize = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current > migrations.len() {
            return Err(crate::StoreError::SchemaTooNew {
                database: tx.path().unwrap_or("the database").to_owned(),
                found: current,
                known: migrations.len(),
            });
        }
        let Some(step) = migrations.get(current) else {
            return Ok(());
        };
        match step {
            Step::Sql(sql) => tx.execute_batch(sql)?,
            Step::ChecksAsComparisons => checks_as_comparisons(&tx)?,
        }
        tx.pragma_update(None, "user_version", current + 1)?;
        tx.commit()?;
        tracing::info!(version = current + 1, "applied database migration");
    }
}

/// [`Step::ChecksAsComparisons`], inside the migration's transaction.
fn checks_as_comparisons(tx: &Transaction) -> rusqlite::Result<()> {
    let tables: Vec<(String, String)> = tx
        .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND sql IS NOT NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let changed: Vec<(String, String)> = tables
        .into_iter()
        .filter_map(|(name, sql)| {
            let new = in_checks_as_comparisons(&sql);
            (new != sql).then_some((name, new))
        })
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    // The documented procedure: the new definitions, then a new schema
    // version so every connection reads them afresh.
    // (The procedure's closing integrity check is the migration test's:
    // run here, it would read every page of a large file at start-up.)
    let version: i64 = tx.pragma_query_value(None, "schema_version", |r| r.get(0))?;
    tx.pragma_update(None, "writable_schema", true)?;
    let rewritten = changed.iter().try_for_each(|(name, sql)| {
        tx.execute(
            "UPDATE sqlite_schema SET sql = ?2 WHERE type = 'table' AND name = ?1",
            rusqlite::params![name, sql],
        )
        .map(drop)
    });
    // Off on every path: the setting belongs to the connection and
    // outlives a rolled-back transaction.
    let off = tx.pragma_update(None, "writable_schema", false);
    rewritten?;
    off?;
    tx.pragma_update(None, "schema_version", version + 1)
}

/// `sql` with each `CHECK (column IN (constant, ...))` of three or more
/// constants written as comparisons joined by OR. The constants are the
/// schema's own (no parentheses or commas inside quotes), and anything
/// else is left exactly as it is.
fn in_checks_as_comparisons(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 64);
    let mut rest = sql;
    while let Some(at) = rest.find("CHECK (") {
        let (before, from) = rest.split_at(at + "CHECK (".len());
        out.push_str(before);
        rest = from;
        let Some(close) = rest.find("))") else {
            continue;
        };
        let inner = &rest[..close];
        let Some((column, list)) = inner.split_once(" IN (") else {
            continue;
        };
        let column = column.trim();
        let items: Vec<&str> = list.split(',').map(str::trim).collect();
        let plain = column
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
            && items.iter().all(|i| !i.contains('(') && !i.contains(')'));
        if items.len() < 3 || !plain {
            continue;
        }
        let comparisons: Vec<String> = items.iter().map(|i| format!("{column} = {i}")).collect();
        out.push_str(&comparisons.join(" OR "));
        // Keep the CHECK's own closing parenthesis; drop the list's.
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table's definition as the file stores it.
    fn table_sql(conn: &Connection, table: &str) -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn in_lists_of_three_or_more_become_comparisons() {
        let sql = "CREATE TABLE t (\n    a TEXT CHECK (a IN ('x', 'y',\n          'z')),\n    b TEXT CHECK (b IN ('p', 'q')),\n    c INTEGER PRIMARY KEY CHECK (c = 1))";
        assert_eq!(
            in_checks_as_comparisons(sql),
            "CREATE TABLE t (\n    a TEXT CHECK (a = 'x' OR a = 'y' OR a = 'z'),\n    b TEXT CHECK (b IN ('p', 'q')),\n    c INTEGER PRIMARY KEY CHECK (c = 1))"
        );
    }

    /// Every CHECK of both files, once migrated: no list long enough to
    /// make SQLite build a table per row, and each still refuses a value
    /// outside it.
    #[test]
    fn a_file_from_a_newer_release_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("public.db");
        let mut conn = Connection::open(&path).unwrap();
        migrate(&mut conn, PUBLIC).unwrap();
        // What a release with one more migration leaves behind.
        conn.pragma_update(None, "user_version", PUBLIC.len() + 1)
            .unwrap();
        let err = migrate(&mut conn, PUBLIC).unwrap_err();
        assert!(
            matches!(err, crate::StoreError::SchemaTooNew { found, known, .. }
                if found == PUBLIC.len() + 1 && known == PUBLIC.len()),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("public.db"), "{message}");
        assert!(message.contains("newer release"), "{message}");
        let version: usize = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, PUBLIC.len() + 1);
    }

    #[test]
    fn the_event_index_step_also_finishes_what_a_killed_bulk_load_left() {
        let mut region = Connection::open_in_memory().unwrap();
        // The step before the one that drops `events_video`.
        migrate(&mut region, &REGION[..REGION.len() - 1]).unwrap();
        // What `begin_bulk_load` leaves when the load is killed: the plain
        // indexes of `events` dropped, the statements that build them
        // recorded for the next open.
        region
            .execute_batch(
                "DROP INDEX events_video; DROP INDEX events_creator; DROP INDEX events_user;
                 INSERT INTO deferred_indexes (sql) VALUES
                    ('CREATE INDEX main.events_user ON events(user_id)'),
                    ('CREATE INDEX main.events_video ON events(video_id)'),
                    ('CREATE INDEX main.events_creator ON events(creator_id)');",
            )
            .unwrap();
        migrate(&mut region, REGION).unwrap();
        let deferred: Vec<String> = region
            .prepare("SELECT sql FROM deferred_indexes")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            deferred,
            ["CREATE INDEX main.events_user ON events(user_id)"],
            "only what the step did not replace is left to build"
        );
        let indexes: Vec<(String, String)> = region
            .prepare(
                "SELECT name, sql FROM sqlite_schema
                 WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(indexes.len(), 1, "{indexes:?}");
        assert_eq!(indexes[0].0, "events_creator");
        assert!(
            indexes[0].1.ends_with("WHERE creator_id IS NOT NULL"),
            "{indexes:?}"
        );
    }

    #[test]
    fn migrated_files_check_by_comparisons_and_still_refuse_bad_values() {
        for steps in [PUBLIC, REGION] {
            let mut conn = Connection::open_in_memory().unwrap();
            migrate(&mut conn, steps).unwrap();
            let sqls: Vec<String> = conn
                .prepare("SELECT sql FROM sqlite_schema WHERE type = 'table'")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            for sql in &sqls {
                assert_eq!(&in_checks_as_comparisons(sql), sql, "{sql}");
            }
            // Run twice: a file already migrated stays as it is.
            migrate(&mut conn, steps).unwrap();
            let integrity: String = conn
                .pragma_query_value(None, "integrity_check", |r| r.get(0))
                .unwrap();
            assert_eq!(integrity, "ok");
        }
        let mut public = Connection::open_in_memory().unwrap();
        migrate(&mut public, PUBLIC).unwrap();
        let videos = table_sql(&public, "videos");
        assert!(
            videos.contains(
                "CHECK (moderation = 'none' OR moderation = 'demoted' OR moderation = 'removed')"
            ),
            "{videos}"
        );
        assert!(!videos.contains(" IN ("), "{videos}");
        public
            .execute_batch(
                "INSERT INTO users (id, handle, region, created_at) VALUES (1, 'a', 'eu', 0);
                 INSERT INTO videos (id, author_id, caption, duration_ms, width, height, created_at)
                     VALUES (1, 1, '', 1, 1, 1, 0);",
            )
            .unwrap();
        let err = public
            .execute(
                "UPDATE videos SET comment_policy = 'friends' WHERE id = 1",
                [],
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("CHECK constraint failed"), "{err}");

        let mut region = Connection::open_in_memory().unwrap();
        migrate(&mut region, REGION).unwrap();
        region
            .execute(
                "INSERT INTO accounts (id, password_hash, created_at) VALUES (1, 'h', 0)",
                [],
            )
            .unwrap();
        let event = |kind: &str| {
            region.execute(
                "INSERT INTO events (user_id, video_id, kind, created_at) VALUES (1, 2, ?1, 0)",
                [kind],
            )
        };
        event("impression").unwrap();
        event("view").unwrap();
        let err = event("bogus").unwrap_err().to_string();
        assert!(err.contains("CHECK constraint failed"), "{err}");
    }

    /// A file that has rows, migrated while another connection has it
    /// open: the rows stay, and the other connection reads the new
    /// definitions (the schema version moved) and keeps working.
    #[test]
    fn an_existing_file_is_rewritten_under_an_open_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("region.db");
        let step = REGION
            .iter()
            .position(|s| matches!(s, Step::ChecksAsComparisons))
            .unwrap();
        let mut writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        migrate(&mut writer, &REGION[..step]).unwrap();
        writer
            .execute_batch(
                "INSERT INTO accounts (id, password_hash, created_at) VALUES (1, 'h', 0);
                 INSERT INTO events (user_id, video_id, kind, created_at) VALUES (1, 2, 'view', 0);",
            )
            .unwrap();
        let other = Connection::open(&path).unwrap();
        let count = |c: &Connection| -> i64 {
            c.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(count(&other), 1);
        migrate(&mut writer, REGION).unwrap();
        let events = table_sql(&other, "events");
        assert!(events.contains("kind = 'impression'"), "{events}");
        other
            .execute(
                "INSERT INTO events (user_id, video_id, kind, created_at) VALUES (1, 3, 'impression', 0)",
                [],
            )
            .unwrap();
        assert!(other
            .execute(
                "INSERT INTO events (user_id, video_id, kind, created_at) VALUES (1, 3, 'nope', 0)",
                [],
            )
            .is_err());
        assert_eq!(count(&writer), 2);
        let integrity: String = writer
            .pragma_query_value(None, "integrity_check", |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok");
    }
}
