//! Copying a deployment's databases from SQLite to PostgreSQL (`flick
//! migrate`), table by table, with each table's rows checked on both
//! sides afterwards.

use crate::db::{params_from_iter, Conn, Dialect, Value};
use crate::export::{columns_of, tables_of};
use crate::{Result, Store, StoreError};
use sha2::{Digest, Sha256};

/// One table as copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    /// `public`, or the region's code.
    pub schema: String,
    pub table: String,
    pub rows: u64,
}

/// Rows per INSERT: well under PostgreSQL's 65,535 parameters a statement.
const MAX_PARAMS: usize = 30_000;

impl Store {
    /// Copies this (SQLite) store's tables into `target`'s (PostgreSQL),
    /// which must hold no rows yet: the region's tables, and the public
    /// ones too when `with_public` (once per deployment, not per region).
    /// Rows keep their ids; identity counters continue after the highest.
    /// Each table goes in one transaction, with triggers and foreign keys
    /// off for it (PostgreSQL's `session_replication_role = replica`, which
    /// needs a superuser), since rows arrive table by table and derived
    /// columns are copied as they are. Afterwards every table is compared:
    /// the row count and a digest of the rows, independent of their order,
    /// must match.
    pub fn copy_into(&self, target: &Store, with_public: bool) -> Result<Vec<TableCopy>> {
        let source = self.write();
        let dest = target.write();
        if source.dialect() != Dialect::Sqlite || dest.dialect() != Dialect::Postgres {
            return Err(StoreError::NeedsSqlite(
                "copying a deployment (from SQLite to PostgreSQL)",
            ));
        }
        let schemas: Vec<&str> = if with_public {
            vec!["public", "main"]
        } else {
            vec!["main"]
        };
        let mut copied = Vec::new();
        for schema in schemas {
            let (from, tables) = tables_of(&source, schema)?;
            let (to, target_tables) = tables_of(&dest, schema)?;
            for table in tables {
                // Bulk loads' bookkeeping, meaningless elsewhere.
                if table.starts_with("deferred_") {
                    continue;
                }
                if !target_tables.contains(&table) {
                    return Err(StoreError::CopyMismatch(format!(
                        "the PostgreSQL schema has no table `{table}`"
                    )));
                }
                let rows = copy_table(&source, &from, &dest, &to, &table)?;
                copied.push(TableCopy {
                    schema: if schema == "main" {
                        self.region.as_str().to_owned()
                    } else {
                        "public".to_owned()
                    },
                    table,
                    rows,
                });
            }
        }
        Ok(copied)
    }
}

fn copy_table(source: &Conn, from: &str, dest: &Conn, to: &str, table: &str) -> Result<u64> {
    let columns = columns_of(source, from, table)?;
    let list = columns.join(", ");
    let tx = dest.unchecked_transaction()?;
    // No time limit for a table of millions of rows.
    tx.execute_batch(
        "SET LOCAL session_replication_role = replica; SET LOCAL statement_timeout = 0",
    )?;
    // A table the schema seeds (note_scoring's one row) is replaced; any
    // other row means the target is not empty.
    let seeded = table == "note_scoring";
    if seeded {
        tx.execute(&format!("DELETE FROM {to}.{table}"), [])?;
    }
    let existing: i64 = tx.query_row(&format!("SELECT COUNT(*) FROM {to}.{table}"), [], |r| {
        r.get(0)
    })?;
    if existing > 0 {
        return Err(StoreError::CopyMismatch(format!(
            "`{table}` in the PostgreSQL database already has {existing} rows: migrate into an empty database"
        )));
    }
    let per_insert = (MAX_PARAMS / columns.len()).max(1);
    let one_row = format!("({})", vec!["?"; columns.len()].join(", "));
    let mut batch: Vec<Value> = Vec::with_capacity(per_insert * columns.len());
    let mut rows = 0u64;
    let flush = |batch: &mut Vec<Value>| -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let n = batch.len() / columns.len();
        tx.execute(
            &format!(
                "INSERT INTO {to}.{table} ({list}) VALUES {}",
                vec![one_row.as_str(); n].join(", ")
            ),
            params_from_iter(batch.drain(..)),
        )?;
        Ok(())
    };
    {
        let mut select = source.prepare(&format!("SELECT {list} FROM {from}.{table}"))?;
        let mut all = select.query_map([], |r| {
            (0..columns.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<crate::db::DbResult<Vec<Value>>>()
        })?;
        for row in all.by_ref() {
            batch.extend(row?);
            rows += 1;
            if batch.len() >= per_insert * columns.len() {
                flush(&mut batch)?;
            }
        }
    }
    flush(&mut batch)?;
    // Identity columns continue after the highest copied id.
    let identity: Option<String> = tx
        .query_row(
            "SELECT column_name FROM information_schema.columns
             WHERE table_schema = ?1 AND table_name = ?2 AND is_identity = 'YES'",
            [to.trim_matches('"'), table],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            crate::db::DbError::NoRows => Ok(None),
            e => Err(e),
        })?;
    if let Some(column) = identity {
        // Past the highest id SQLite ever gave (AUTOINCREMENT's record, which
        // survives deleting the newest rows), not only the highest kept: an
        // id is never given twice, which the recommender's cursor relies on.
        let given: i64 = source
            .query_row(
                &format!("SELECT seq FROM {from}.sqlite_sequence WHERE name = ?1"),
                [table],
                |r| r.get(0),
            )
            .or_else(|e| match e {
                crate::db::DbError::NoRows => Ok(0),
                e => Err(e),
            })?;
        tx.query_row(
            &format!(
                "SELECT setval(pg_get_serial_sequence('{to}.{table}', '{column}'),
                               GREATEST(COALESCE(MAX({column}), 0), ?1) + 1, false) FROM {to}.{table}"
            ),
            [given],
            |_| Ok(()),
        )?;
    }
    let (source_rows, source_digest) = digest(source, from, table, &list)?;
    let (dest_rows, dest_digest) = digest(&tx, to, table, &list)?;
    if (source_rows, source_digest) != (dest_rows, dest_digest) || source_rows != rows {
        return Err(StoreError::CopyMismatch(format!(
            "`{table}` differs after the copy: {source_rows} rows in SQLite, {dest_rows} in PostgreSQL{}",
            if source_rows == dest_rows { ", with different values" } else { "" }
        )));
    }
    tx.commit()?;
    Ok(rows)
}

/// A table's row count and the sum of its rows' SHA-256 digests: equal for
/// the same rows in any order, whichever engine stores them.
fn digest(conn: &Conn, schema: &str, table: &str, list: &str) -> Result<(u64, [u64; 4])> {
    let mut select = conn.prepare(&format!("SELECT {list} FROM {schema}.{table}"))?;
    let columns = list.split(", ").count();
    let mut sum = [0u64; 4];
    let mut rows = 0;
    let hashes = select.query_map([], |r| {
        let mut h = Sha256::new();
        for i in 0..columns {
            match r.get::<_, Value>(i)? {
                Value::Null => h.update([0]),
                Value::Integer(v) => {
                    h.update([1]);
                    h.update(v.to_le_bytes());
                }
                Value::Real(v) => {
                    h.update([2]);
                    h.update(v.to_le_bytes());
                }
                Value::Text(t) => {
                    h.update([3]);
                    h.update((t.len() as u64).to_le_bytes());
                    h.update(t.as_bytes());
                }
                Value::Blob(b) => {
                    h.update([4]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(&b);
                }
            }
        }
        Ok(h.finalize())
    })?;
    for hash in hashes {
        let hash = hash?;
        for (lane, chunk) in sum.iter_mut().zip(hash.chunks(8)) {
            *lane = lane.wrapping_add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        rows += 1;
    }
    Ok((rows, sum))
}
