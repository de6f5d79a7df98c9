//! One connection type over the two engines the store runs on: SQLite
//! (embedded, the default) and PostgreSQL (for several nodes).
//!
//! The store's SQL is written once. It keeps to what both engines accept,
//! and the few places where they differ ask [`Conn::dialect`]. The shape
//! follows rusqlite's (statements, rows, transactions), so a query reads
//! the same whichever engine runs it. The differences this layer absorbs:
//!
//! - Placeholders: `?1` is written, and becomes `$1` for PostgreSQL.
//! - Types: SQLite stores integers, reals, text and blobs whatever a
//!   column says; PostgreSQL is strict (`int4` is not `int8`, `SUM` of
//!   integers is `numeric`, a comparison is a `boolean`). Parameters and
//!   columns go through [`ValueRef`], SQLite's five storage classes, and
//!   are converted to and from whichever PostgreSQL type the server
//!   expects, so a query need not cast.
//! - Lost connections: a PostgreSQL connection that the server closed
//!   (a restart, a network cut) is opened again at its next use, unless it
//!   was lost inside a transaction: that transaction fails, and so does
//!   every statement of it, so nothing runs half inside it.

mod postgres;
mod value;

use postgres::{block_on, PgCell, PgConn, PgParam};
pub use postgres::{with_timeouts, PgTarget};
pub(crate) use value::params;
pub use value::{
    params_from_iter, ColIndex, FromCol, Param, Params, ParamsFromIter, Value, ValueRef,
};

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use tokio_postgres::types::ToSql;

/// Which SQL a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the query returned no rows")]
    NoRows,
    #[error("column {column}: cannot read {found} as {wanted}")]
    Type {
        column: usize,
        found: &'static str,
        wanted: &'static str,
    },
    #[error("the connection to PostgreSQL was lost inside a transaction")]
    LostInTransaction,
    #[error("cannot reach PostgreSQL: {0}")]
    Unreachable(String),
}

/// A PostgreSQL error with the server's own message when there is one
/// (`tokio_postgres::Error`'s display is only "db error").
pub(super) fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => e.to_string(),
    }
}

impl DbError {
    /// A UNIQUE or PRIMARY KEY constraint refused the row.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Postgres(e) => {
                e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
            }
            _ => false,
        }
    }

    /// The database is out of reach or going away, rather than refusing
    /// this statement: worth a retry later, and a 503 now.
    pub fn is_unavailable(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            DbError::LostInTransaction | DbError::Unreachable(_) => true,
            DbError::Postgres(e) => {
                // Closed, or the socket failed; not a statement the server
                // or the conversions refused, which a retry would not mend.
                e.is_closed()
                    || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                    || [
                        SqlState::ADMIN_SHUTDOWN,
                        SqlState::CRASH_SHUTDOWN,
                        SqlState::CANNOT_CONNECT_NOW,
                        SqlState::CONNECTION_FAILURE,
                        SqlState::CONNECTION_EXCEPTION,
                        SqlState::SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                        SqlState::TOO_MANY_CONNECTIONS,
                        // Rolled back by the server; the same request can
                        // succeed when tried again.
                        SqlState::T_R_SERIALIZATION_FAILURE,
                        SqlState::T_R_DEADLOCK_DETECTED,
                        SqlState::LOCK_NOT_AVAILABLE,
                        SqlState::QUERY_CANCELED,
                    ]
                    .iter()
                    .any(|c| e.code() == Some(c))
            }
            DbError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                f.code == rusqlite::ErrorCode::DatabaseBusy
                    || f.code == rusqlite::ErrorCode::DatabaseLocked
            }
            _ => false,
        }
    }
}

pub type DbResult<T> = std::result::Result<T, DbError>;

/// The UTC day of a Unix time in milliseconds, as `YYYY-MM-DD`: the key
/// of the per-day figures. Computed here rather than in SQL, where the two
/// engines spell it differently.
pub fn day_of(ms: i64) -> String {
    // Days to a civil date (H. Hinnant, "chrono-Compatible Low-Level Date
    // Algorithms"), valid for every day this i64 can name.
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// SQL for the UTC day (`YYYY-MM-DD`) of `column`, a Unix time in ms,
/// where it must be computed row by row.
pub fn day_sql(dialect: Dialect, column: &str) -> String {
    match dialect {
        Dialect::Sqlite => format!("date({column} / 1000, 'unixepoch')"),
        Dialect::Postgres => {
            format!("to_char(to_timestamp({column} / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        }
    }
}

/// One row of a result.
pub enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a tokio_postgres::Row),
}

impl Row<'_> {
    pub fn get<I: ColIndex, T: FromCol>(&self, index: I) -> DbResult<T> {
        let column = index.index();
        let convert = |v: ValueRef<'_>| {
            T::from_col(v).map_err(|wanted| DbError::Type {
                column,
                found: v.kind(),
                wanted,
            })
        };
        match self {
            Row::Sqlite(r) => {
                let v = r.get_ref(column)?;
                convert(match v {
                    rusqlite::types::ValueRef::Null => ValueRef::Null,
                    rusqlite::types::ValueRef::Integer(i) => ValueRef::Integer(i),
                    rusqlite::types::ValueRef::Real(f) => ValueRef::Real(f),
                    rusqlite::types::ValueRef::Text(t) => {
                        ValueRef::Text(std::str::from_utf8(t).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                column,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        })?)
                    }
                    rusqlite::types::ValueRef::Blob(b) => ValueRef::Blob(b),
                })
            }
            Row::Postgres(r) => {
                let PgCell(v) = r.try_get(column)?;
                convert(v)
            }
        }
    }
}

enum Engine {
    Sqlite(rusqlite::Connection),
    Postgres(Box<RefCell<PgConn>>),
}

/// A connection to either engine.
pub struct Conn {
    engine: Engine,
    /// SQLite: transactions take the write lock when they begin.
    immediate: bool,
    in_transaction: Cell<bool>,
}

impl Conn {
    /// `immediate`: this connection's transactions write, so they take
    /// SQLite's write lock up front (see `Store::open`).
    pub fn sqlite(conn: rusqlite::Connection, immediate: bool) -> Self {
        Self {
            engine: Engine::Sqlite(conn),
            immediate,
            in_transaction: Cell::new(false),
        }
    }

    pub fn postgres(target: PgTarget) -> DbResult<Self> {
        let client = target.connect()?;
        Ok(Self {
            engine: Engine::Postgres(Box::new(RefCell::new(PgConn {
                target,
                client: Some(client),
                statements: HashMap::new(),
            }))),
            immediate: false,
            in_transaction: Cell::new(false),
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self.engine {
            Engine::Sqlite(_) => Dialect::Sqlite,
            Engine::Postgres(_) => Dialect::Postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, WAL
    /// checkpoints, bulk loads); `None` on PostgreSQL.
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.engine {
            Engine::Sqlite(c) => Some(c),
            Engine::Postgres(_) => None,
        }
    }

    pub fn execute<P: Params>(&self, sql: &str, params: P) -> DbResult<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    pub fn query_row<P: Params, T>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// Statements separated by semicolons, without parameters.
    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        match &self.engine {
            Engine::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Engine::Postgres(pg) => {
                let mut pg = pg.borrow_mut();
                let client = pg.client(self.in_transaction.get())?;
                Ok(block_on(client.batch_execute(sql))?)
            }
        }
    }

    pub fn prepare(&self, sql: &str) -> DbResult<Stmt<'_>> {
        self.statement(sql, false)
    }

    /// A statement kept for reuse: the next `prepare_cached` of the same
    /// SQL skips parsing and planning.
    pub fn prepare_cached(&self, sql: &str) -> DbResult<Stmt<'_>> {
        self.statement(sql, true)
    }

    fn statement(&self, sql: &str, cached: bool) -> DbResult<Stmt<'_>> {
        Ok(match &self.engine {
            Engine::Sqlite(c) => Stmt(StmtKind::Sqlite(if cached {
                SqliteStmt::Cached(c.prepare_cached(sql)?)
            } else {
                SqliteStmt::Plain(c.prepare(sql)?)
            })),
            Engine::Postgres(pg) => Stmt(StmtKind::Postgres {
                statement: pg.borrow_mut().statement(sql, self.in_transaction.get())?,
                conn: self,
            }),
        })
    }

    /// Begins a transaction, rolled back unless committed.
    pub fn transaction(&mut self) -> DbResult<Tx<'_>> {
        self.unchecked_transaction()
    }

    /// [`Conn::transaction`] through a shared reference.
    pub fn unchecked_transaction(&self) -> DbResult<Tx<'_>> {
        let begin = match self.dialect() {
            Dialect::Sqlite if self.immediate => "BEGIN IMMEDIATE",
            _ => "BEGIN",
        };
        self.execute_batch(begin)?;
        self.in_transaction.set(true);
        Ok(Tx {
            conn: self,
            done: false,
        })
    }

    /// A transaction that takes SQLite's write lock only at its first
    /// write, on a connection whose transactions usually take it at once.
    pub fn deferred_transaction(&self) -> DbResult<Tx<'_>> {
        self.execute_batch("BEGIN")?;
        self.in_transaction.set(true);
        Ok(Tx {
            conn: self,
            done: false,
        })
    }

    fn pg_query(
        &self,
        statement: &tokio_postgres::Statement,
        values: &[ValueRef<'_>],
    ) -> DbResult<Vec<tokio_postgres::Row>> {
        let Engine::Postgres(pg) = &self.engine else {
            unreachable!("a PostgreSQL statement on a SQLite connection")
        };
        let params: Vec<PgParam<'_>> = values.iter().map(|v| PgParam(*v)).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let mut pg = pg.borrow_mut();
        let client = pg.connected(self.in_transaction.get())?;
        block_on(client.query(statement, &refs)).map_err(|e| {
            tracing::debug!(params = ?values, error = %pg_message(&e), "PostgreSQL query failed");
            e.into()
        })
    }

    fn pg_execute(
        &self,
        statement: &tokio_postgres::Statement,
        values: &[ValueRef<'_>],
    ) -> DbResult<usize> {
        let Engine::Postgres(pg) = &self.engine else {
            unreachable!("a PostgreSQL statement on a SQLite connection")
        };
        let params: Vec<PgParam<'_>> = values.iter().map(|v| PgParam(*v)).collect();
        let refs: Vec<&(dyn ToSql + Sync)> =
            params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let mut pg = pg.borrow_mut();
        let client = pg.connected(self.in_transaction.get())?;
        block_on(client.execute(statement, &refs))
            .map(|n| n as usize)
            .map_err(|e| {
                tracing::debug!(params = ?values, error = %pg_message(&e), "PostgreSQL statement failed");
                e.into()
            })
    }
}

/// A transaction; dropped without [`Tx::commit`], it rolls back.
pub struct Tx<'c> {
    conn: &'c Conn,
    done: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> DbResult<()> {
        self.done = true;
        // Still inside the transaction: a connection lost before COMMIT
        // reached the server must fail here, not open a fresh one on which
        // a COMMIT of nothing would succeed.
        let committed = self.conn.execute_batch("COMMIT");
        self.conn.in_transaction.set(false);
        committed
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // A connection lost mid-transaction has nothing to roll back:
            // the server already did.
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::debug!(error = %e, "rollback failed");
            }
            self.conn.in_transaction.set(false);
        }
    }
}

enum SqliteStmt<'c> {
    Cached(rusqlite::CachedStatement<'c>),
    Plain(rusqlite::Statement<'c>),
}

impl<'c> std::ops::Deref for SqliteStmt<'c> {
    type Target = rusqlite::Statement<'c>;
    fn deref(&self) -> &Self::Target {
        match self {
            SqliteStmt::Cached(s) => s,
            SqliteStmt::Plain(s) => s,
        }
    }
}

impl std::ops::DerefMut for SqliteStmt<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        match self {
            SqliteStmt::Cached(s) => s,
            SqliteStmt::Plain(s) => s,
        }
    }
}

/// A prepared statement.
pub struct Stmt<'c>(StmtKind<'c>);

enum StmtKind<'c> {
    Sqlite(SqliteStmt<'c>),
    Postgres {
        statement: tokio_postgres::Statement,
        conn: &'c Conn,
    },
}

fn sqlite_values<'a>(
    values: &'a [ValueRef<'a>],
) -> impl Iterator<Item = rusqlite::types::ToSqlOutput<'a>> + 'a {
    values.iter().map(|v| {
        rusqlite::types::ToSqlOutput::Borrowed(match *v {
            ValueRef::Null => rusqlite::types::ValueRef::Null,
            ValueRef::Integer(i) => rusqlite::types::ValueRef::Integer(i),
            ValueRef::Real(r) => rusqlite::types::ValueRef::Real(r),
            ValueRef::Text(t) => rusqlite::types::ValueRef::Text(t.as_bytes()),
            ValueRef::Blob(b) => rusqlite::types::ValueRef::Blob(b),
        })
    })
}

impl<'c> Stmt<'c> {
    /// Runs it, returning how many rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> DbResult<usize> {
        let values = params.values();
        match &mut self.0 {
            StmtKind::Sqlite(s) => {
                Ok(s.execute(rusqlite::params_from_iter(sqlite_values(&values)))?)
            }
            StmtKind::Postgres { statement, conn } => conn.pg_execute(statement, &values),
        }
    }

    /// The first row through `f`; [`DbError::NoRows`] when there is none.
    pub fn query_row<P: Params, T>(
        &mut self,
        params: P,
        f: impl FnOnce(&Row<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        let values = params.values();
        match &mut self.0 {
            StmtKind::Sqlite(s) => {
                let mut rows = s.query(rusqlite::params_from_iter(sqlite_values(&values)))?;
                match rows.next()? {
                    Some(r) => f(&Row::Sqlite(r)),
                    None => Err(DbError::NoRows),
                }
            }
            StmtKind::Postgres { statement, conn } => {
                let rows = conn.pg_query(statement, &values)?;
                match rows.first() {
                    Some(r) => f(&Row::Postgres(r)),
                    None => Err(DbError::NoRows),
                }
            }
        }
    }

    pub fn exists<P: Params>(&mut self, params: P) -> DbResult<bool> {
        match self.query_row(params, |_| Ok(())) {
            Ok(()) => Ok(true),
            Err(DbError::NoRows) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every row through `f`.
    pub fn query_map<P: Params, T, F>(&mut self, params: P, f: F) -> DbResult<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> DbResult<T>,
    {
        let values = params.values();
        Ok(match &mut self.0 {
            StmtKind::Sqlite(s) => MappedRows::Sqlite(
                s.query(rusqlite::params_from_iter(sqlite_values(&values)))?,
                f,
            ),
            StmtKind::Postgres { statement, conn } => {
                MappedRows::Postgres(conn.pg_query(statement, &values)?.into_iter(), f)
            }
        })
    }

    pub fn column_names(&self) -> Vec<String> {
        match &self.0 {
            StmtKind::Sqlite(s) => s.column_names().into_iter().map(str::to_owned).collect(),
            StmtKind::Postgres { statement, .. } => statement
                .columns()
                .iter()
                .map(|c| c.name().to_owned())
                .collect(),
        }
    }
}

/// The rows of [`Stmt::query_map`]: read one at a time from SQLite, and
/// all at once from PostgreSQL.
pub enum MappedRows<'s, F> {
    Sqlite(rusqlite::Rows<'s>, F),
    Postgres(std::vec::IntoIter<tokio_postgres::Row>, F),
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> DbResult<T>,
{
    type Item = DbResult<T>;

    fn next(&mut self) -> Option<DbResult<T>> {
        match self {
            MappedRows::Sqlite(rows, f) => match rows.next() {
                Ok(Some(r)) => Some(f(&Row::Sqlite(r))),
                Ok(None) => None,
                Err(e) => Some(Err(e.into())),
            },
            MappedRows::Postgres(rows, f) => rows.next().map(|r| f(&Row::Postgres(&r))),
        }
    }
}

/// `.optional()`: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> DbResult<Option<T>>;
}

impl<T> OptionalExtension<T> for DbResult<T> {
    fn optional(self) -> DbResult<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(DbError::NoRows) | Err(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::postgres::{numeric, numeric_to_sql, postgres_sql};
    use super::*;

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(86_400_000 - 1), "1970-01-01");
        assert_eq!(day_of(-1), "1969-12-31");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        assert_eq!(day_of(1_796_169_600_000), "2026-12-02");
        // The same as SQLite's date() for each day of four years.
        let c = rusqlite::Connection::open_in_memory().unwrap();
        for d in (0..4 * 366).map(|d| 1_700_000_000_000 + d * 86_400_000 + 12_345) {
            let sqlite: String = c
                .query_row(
                    &format!("SELECT {}", day_sql(Dialect::Sqlite, &d.to_string())),
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(day_of(d), sqlite);
        }
    }

    #[test]
    fn placeholders_become_dollars_outside_quotes_and_comments() {
        assert_eq!(
            postgres_sql("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b IN (?12, ?) OR c = ?2"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b IN ($12, $13) OR c = $2"
        );
        assert_eq!(
            postgres_sql("SELECT ?3 -- isn't ?1\n, 'it''s ?', ?1 /* ? */, ?"),
            "SELECT $3 -- isn't ?1\n, 'it''s ?', $1 /* ? */, $4"
        );
    }

    #[test]
    fn numerics_decode_as_sqlite_would_give_them() {
        // 123456789 = [1, 2345, 6789] with weight 2.
        let mut raw = Vec::new();
        for w in [3i16, 2, 0, 0, 1, 2345, 6789] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric(&raw).unwrap(), ValueRef::Integer(123_456_789));
        let mut out = tokio_postgres::types::private::BytesMut::new();
        numeric_to_sql(-123_456_789, &mut out);
        assert_eq!(numeric(&out).unwrap(), ValueRef::Integer(-123_456_789));
        // 0 has no digits.
        let mut out = tokio_postgres::types::private::BytesMut::new();
        numeric_to_sql(0, &mut out);
        assert_eq!(numeric(&out).unwrap(), ValueRef::Integer(0));
        // 1.5 = [1, 5000] with weight 0.
        let mut raw = Vec::new();
        for w in [2i16, 0, 0, 1, 1, 5000] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric(&raw).unwrap(), ValueRef::Real(1.5));
    }
}
