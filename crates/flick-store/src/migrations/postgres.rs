//! The PostgreSQL schema, and how a database is brought up to date.

/// The PostgreSQL schemas, each step as (the SQLite version it brings
/// the schema to, its SQL). The first is the whole schema as SQLite's
/// migrations leave it; a migration added to [`super::PUBLIC`] or [`super::REGION`]
/// adds its PostgreSQL form here (a test checks the versions agree).
pub(crate) const PUBLIC_PG: &[(usize, &str)] = &[
    (9, include_str!("../pg/public.sql")),
    (10, include_str!("../pg/shared.sql")),
    (11, include_str!("../pg/public_hashtags.sql")),
];
pub(crate) const REGION_PG: &[(usize, &str)] = &[
    (9, include_str!("../pg/region.sql")),
    (10, include_str!("../pg/region_events.sql")),
];

/// The public tables only PostgreSQL has, because only several nodes need
/// them: the transparency log every node shares (one node on SQLite keeps
/// its log in files) and the rate limits that hold across nodes (one node
/// keeps them in memory).
pub(crate) const SHARED_TABLES: &[&str] = &["log_secrets", "log_leaves", "rate_buckets"];

/// Brings `schema` on PostgreSQL up to date; the version is kept in the
/// schema's own `flick_schema_version`. An advisory lock held for the
/// transaction keeps two nodes starting at once from both migrating.
pub(crate) fn migrate_postgres(
    conn: &crate::db::Conn,
    schema: &str,
    steps: &[(usize, &str)],
) -> crate::Result<()> {
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch(&format!(
        "SELECT pg_advisory_xact_lock(7466332211);
         CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE IF NOT EXISTS {schema}.flick_schema_version (version BIGINT NOT NULL);
         SET LOCAL search_path TO {schema}, public;"
    ))?;
    let current: usize = tx.query_row(
        &format!("SELECT COALESCE(MAX(version), 0) FROM {schema}.flick_schema_version"),
        [],
        |r| r.get(0),
    )?;
    let known = steps.last().map_or(0, |(to, _)| *to);
    if current > known {
        return Err(crate::StoreError::SchemaTooNew {
            database: format!("PostgreSQL schema `{schema}`"),
            found: current,
            known,
        });
    }
    let mut version = current;
    for (to, sql) in steps.iter().filter(|(to, _)| *to > current) {
        tx.execute_batch(sql)?;
        version = *to;
        tracing::info!(schema, version, "applied database migration (PostgreSQL)");
    }
    if version != current {
        tx.execute(&format!("DELETE FROM {schema}.flick_schema_version"), [])?;
        tx.execute(
            &format!("INSERT INTO {schema}.flick_schema_version (version) VALUES (?1)"),
            [version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{table_names, PUBLIC, REGION};
    use super::*;

    /// A migration added for SQLite without its PostgreSQL form fails
    /// here, before a PostgreSQL deployment misses it.
    #[test]
    fn the_postgres_schemas_match_the_sqlite_migrations() {
        for (sqlite, pg) in [(PUBLIC, PUBLIC_PG), (REGION, REGION_PG)] {
            assert_eq!(pg.last().unwrap().0, sqlite.len(), "schema versions");
            let mut pg_tables: Vec<&str> = pg
                .iter()
                .flat_map(|(_, sql)| sql.split("CREATE TABLE ").skip(1))
                .filter_map(|rest| rest.split_whitespace().next())
                .collect();
            let mut sqlite_tables = table_names(sqlite);
            // Tables a later migration replaced or renamed.
            sqlite_tables.retain(|t| !["events", "events_v3", "video_hashtags_v2"].contains(t));
            pg_tables.retain(|t| *t != "events");
            // Tables only several nodes need.
            pg_tables.retain(|t| !SHARED_TABLES.contains(t));
            pg_tables.sort_unstable();
            sqlite_tables.sort_unstable();
            assert_eq!(pg_tables, sqlite_tables);
        }
    }
}
