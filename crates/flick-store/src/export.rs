//! Everything stored about one account, for the user's own export.

use crate::db::Conn;
use crate::db::Value;
use crate::{Result, Store};
use flick_domain::DataClass;
use flick_domain::{Protected, UserId};

/// Rows of one table that concern the user, as column name → value maps.
pub struct TableDump {
    pub table: &'static str,
    pub rows: Vec<Vec<(String, Value)>>,
}

/// The tables and the condition that selects a user's rows in each. Every
/// table holding personal data is listed here; `tests::every_table_is_covered`
/// fails when a new table is added without deciding how it is exported.
const USER_ROWS: &[(&str, &str)] = &[
    // public file
    ("users", "id = ?1"),
    ("videos", "author_id = ?1"),
    (
        "video_hashtags",
        "video_id IN (SELECT id FROM videos WHERE author_id = ?1)",
    ),
    (
        "video_mentions",
        "video_id IN (SELECT id FROM videos WHERE author_id = ?1)",
    ),
    ("sounds", "author_id = ?1"),
    ("comments", "author_id = ?1"),
    (
        "daily_stats",
        "video_id IN (SELECT id FROM videos WHERE author_id = ?1)",
    ),
    (
        "catalogue",
        "video_id IN (SELECT id FROM videos WHERE author_id = ?1)",
    ),
    ("purges", "kind = 'user' AND id = ?1"),
    (
        "video_labels",
        "video_id IN (SELECT id FROM videos WHERE author_id = ?1)",
    ),
    // Whom the account blocked (who blocked it is theirs).
    ("blocks", "blocker_id = ?1"),
    // Moderation of the account's content, and what it reported.
    ("mod_cases", "owner_id = ?1"),
    (
        "mod_decisions",
        "case_id IN (SELECT id FROM mod_cases WHERE owner_id = ?1)",
    ),
    (
        "mod_appeals",
        "decision_id IN (SELECT d.id FROM mod_decisions d JOIN mod_cases c ON c.id = d.case_id WHERE c.owner_id = ?1)",
    ),
    (
        "mod_reports",
        "id IN (SELECT id FROM reports WHERE reporter_id = ?1)",
    ),
    // Context notes the account wrote and how it rated others'.
    ("notes", "author_id = ?1"),
    ("note_ratings", "rater_id = ?1"),
    // Bookkeeping of the scorer: nobody's data.
    ("note_scoring", "CAST(?1 AS BIGINT) IS NULL"),
    // Known-bad media: hashes of removed clips, kept past their accounts;
    // the moderator's id is staff data, not the listed clip's creator's.
    ("media_blocklist", "CAST(?1 AS BIGINT) IS NULL"),
    // the home region's file
    ("accounts", "id = ?1"),
    ("sessions", "user_id = ?1"),
    ("uploads", "author_id = ?1"),
    (
        "jobs",
        "video_id IN (SELECT id FROM uploads WHERE author_id = ?1)",
    ),
    // Who the user follows. Who follows them is their followers' data.
    ("follows", "follower_id = ?1"),
    ("likes", "user_id = ?1"),
    ("shares", "user_id = ?1"),
    ("views", "user_id = ?1"),
    ("not_interested", "user_id = ?1"),
    ("events", "user_id = ?1"),
    ("reports", "reporter_id = ?1"),
    ("mutes", "muter_id = ?1"),
    ("keyword_filters", "user_id = ?1"),
    // Only while the account's deletion is under way: then no export runs.
    ("deletions", "user_id = ?1"),
    ("deletion_steps", "user_id = ?1"),
];

const WITHHELD: &[(&str, &str)] = &[("accounts", "password_hash"), ("sessions", "token_hash")];

fn dump(conn: &Conn, table: &'static str, cond: &str, user: UserId) -> Result<TableDump> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} WHERE {cond}"))?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let rows = stmt
        .query_map([user.0], |r| {
            let mut row = Vec::new();
            for (i, name) in names.iter().enumerate() {
                let withheld = WITHHELD.contains(&(table, name.as_str()));
                let value: Value = if withheld {
                    Value::Text("(withheld)".into())
                } else {
                    r.get(i)?
                };
                row.push((name.clone(), value));
            }
            Ok(row)
        })?
        .collect::<crate::db::DbResult<_>>()?;
    Ok(TableDump { table, rows })
}

impl Store {
    /// Every row about `user`, table by table: protected, so only the owner
    /// or the access gate can open it.
    pub fn export_user(&self, user: UserId) -> Result<Protected<Vec<TableDump>>> {
        let conn = self.read();
        self.guard(&conn, user, DataClass::Everything)?;
        let tables = USER_ROWS
            .iter()
            .map(|(t, cond)| dump(&conn, t, cond, user))
            .collect::<Result<_>>()?;
        Ok(Protected::new(user, tables))
    }

    /// For tests and audits: how many rows in any table still mention `needle`
    /// in any column, by table. Scans everything; not for request paths.
    pub fn rows_mentioning(&self, needle: &str) -> Result<Vec<(String, i64)>> {
        let conn = self.read();
        let mut found = Vec::new();
        for (schema, table) in all_tables(&conn)? {
            let columns = columns_of(&conn, &schema, &table)?;
            let cond = columns
                .iter()
                // As SQLite's LIKE: ASCII case does not matter.
                .map(|c| match conn.dialect() {
                    crate::db::Dialect::Sqlite => format!("CAST({c} AS TEXT) LIKE ?1"),
                    crate::db::Dialect::Postgres => format!("CAST({c} AS TEXT) ILIKE ?1"),
                })
                .collect::<Vec<_>>()
                .join(" OR ");
            let n: i64 = conn.query_row(
                &format!("SELECT COUNT(*) FROM {schema}.{table} WHERE {cond}"),
                [format!("%{needle}%")],
                |r| r.get(0),
            )?;
            if n > 0 {
                found.push((format!("{}.{table}", schema.trim_matches('"')), n));
            }
        }
        Ok(found)
    }
}

/// The tables of one schema (`main` or `public`) with their row counts.
pub(crate) fn table_counts(conn: &Conn, schema: &str) -> Result<Vec<(String, i64)>> {
    let (qualifier, names) = tables_of(conn, schema)?;
    names
        .into_iter()
        .map(|t| {
            let n = conn.query_row(&format!("SELECT COUNT(*) FROM {qualifier}.{t}"), [], |r| {
                r.get(0)
            })?;
            Ok((t, n))
        })
        .collect()
}

/// The tables of `schema` — `main`, the region's, or `public` — by name,
/// and how to qualify them in SQL. On PostgreSQL the region's schema is
/// the first of the connection's search path, and the schema version's
/// own table is not one of Flick's.
pub(crate) fn tables_of(conn: &Conn, schema: &str) -> Result<(String, Vec<String>)> {
    let (qualifier, sql) = match (conn.dialect(), schema) {
        (crate::db::Dialect::Sqlite, _) => (
            schema.to_owned(),
            format!(
                "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ),
        ),
        (crate::db::Dialect::Postgres, s) => {
            let pg_schema: String = if s == "main" {
                conn.query_row("SELECT (current_schemas(false))[1]", [], |r| r.get(0))?
            } else {
                s.to_owned()
            };
            (
                format!("\"{pg_schema}\""),
                format!(
                    "SELECT table_name FROM information_schema.tables
                     WHERE table_schema = '{pg_schema}' AND table_type = 'BASE TABLE'
                       AND table_name != 'flick_schema_version' ORDER BY table_name"
                ),
            )
        }
    };
    let names = conn
        .prepare(&sql)?
        .query_map([], |r| r.get(0))?
        .collect::<crate::db::DbResult<_>>()?;
    Ok((qualifier, names))
}

/// Every table of both files, as (schema as SQL names it, table): `main`
/// is the region file.
fn all_tables(conn: &Conn) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for schema in ["main", "public"] {
        let (qualifier, names) = tables_of(conn, schema)?;
        out.extend(names.into_iter().map(|n| (qualifier.clone(), n)));
    }
    Ok(out)
}

/// A table's columns.
pub(crate) fn columns_of(conn: &Conn, qualifier: &str, table: &str) -> Result<Vec<String>> {
    let sql = match conn.dialect() {
        crate::db::Dialect::Sqlite => "SELECT name FROM pragma_table_info(?1, ?2)",
        crate::db::Dialect::Postgres => {
            "SELECT column_name FROM information_schema.columns
             WHERE table_name = ?1 AND table_schema = ?2 ORDER BY ordinal_position"
        }
    };
    let schema = qualifier.trim_matches('"');
    Ok(conn
        .prepare(sql)?
        .query_map([table, schema], |r| r.get(0))?
        .collect::<crate::db::DbResult<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_store;

    /// Tables that hold nobody's data, so nothing of them is exported: the
    /// statements that build indexes a bulk load dropped.
    const NOT_PERSONAL: &[&str] = &["deferred_indexes", "deferred_checks"];

    #[test]
    fn every_table_is_covered() {
        let (_d, s) = test_store();
        let conn = s.read();
        for (_, t) in all_tables(&conn).unwrap() {
            assert!(
                USER_ROWS.iter().any(|(name, _)| *name == t) || NOT_PERSONAL.contains(&t.as_str()),
                "table {t} is not in the export"
            );
        }
    }
}
