//! The rows of the transparency log that every node of a PostgreSQL
//! deployment shares (the storage behind `flick_trust::LogTable`).
//!
//! Its own connection, apart from the stores' writers: the gate appends
//! while a store transaction may be open on this node (a moderator's
//! decision is logged before it commits), and the record must be durable
//! on its own, whatever that transaction does next.

use std::sync::Mutex;

use crate::db::{params, Conn, OptionalExtension, PgTarget};
use crate::{migrations, Result, StoreError};

pub struct SharedLogRows {
    conn: Mutex<Conn>,
}

impl SharedLogRows {
    /// Connects to the public schema of the database at `url`, bringing
    /// it up to date first.
    pub fn open(url: &str) -> Result<Self> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Db(crate::db::DbError::Postgres(e)))?;
        let conn = Conn::postgres(PgTarget {
            config: crate::db::with_timeouts(config),
            search_path: "public".to_owned(),
        })?;
        migrations::migrate_postgres(&conn, "public", migrations::PUBLIC_PG)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Conn> {
        // Each call is one statement outside a transaction: a panic leaves
        // nothing half done.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Secret `name` of log `origin`. With `make`, it gives the value when
    /// no node has stored one yet, and the first stored value wins; without,
    /// `None` when there is none.
    pub fn secret(
        &self,
        origin: &str,
        name: &str,
        make: Option<impl FnOnce() -> Vec<u8>>,
    ) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        let read = |conn: &Conn| {
            conn.query_row(
                "SELECT value FROM log_secrets WHERE origin = ?1 AND name = ?2",
                params![origin, name],
                |r| r.get::<_, Vec<u8>>(0),
            )
            .optional()
        };
        if let Some(value) = read(&conn)? {
            return Ok(Some(value));
        }
        let Some(make) = make else {
            return Ok(None);
        };
        conn.execute(
            "INSERT INTO log_secrets (origin, name, value) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![origin, name, make()],
        )?;
        // Stored by this node or another a moment ago; secrets are never
        // deleted (a trigger refuses it).
        read(&conn)?
            .ok_or(StoreError::NotFound("the transparency log's secret"))
            .map(Some)
    }

    /// Up to `limit` leaves of log `origin` from index `from` on, in order.
    pub fn leaves(&self, origin: &str, from: u64, limit: u64) -> Result<Vec<(u64, Vec<u8>)>> {
        let conn = self.conn();
        let rows = conn
            .prepare_cached(
                "SELECT idx, leaf FROM log_leaves WHERE origin = ?1 AND idx >= ?2 ORDER BY idx LIMIT ?3",
            )?
            .query_map(params![origin, from, limit], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<crate::db::DbResult<_>>()?;
        Ok(rows)
    }

    /// Stores `leaf` at `index` of log `origin` (committed when this
    /// returns); false when that index is taken.
    pub fn insert(&self, origin: &str, index: u64, leaf: &[u8]) -> Result<bool> {
        let inserted = self.conn().execute(
            "INSERT INTO log_leaves (origin, idx, leaf) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            params![origin, index, leaf],
        )?;
        Ok(inserted == 1)
    }
}
