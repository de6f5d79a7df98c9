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

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};

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
fn pg_message(e: &tokio_postgres::Error) -> String {
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

/// A value as SQLite stores it: one of its five storage classes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ValueRef<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// An owned [`ValueRef`], for rows read without knowing their columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl ValueRef<'_> {
    fn kind(&self) -> &'static str {
        match self {
            ValueRef::Null => "NULL",
            ValueRef::Integer(_) => "an integer",
            ValueRef::Real(_) => "a real",
            ValueRef::Text(_) => "text",
            ValueRef::Blob(_) => "a blob",
        }
    }
}

/// Something that can be bound to a placeholder.
pub trait Param {
    fn to_value(&self) -> ValueRef<'_>;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn to_value(&self) -> ValueRef<'_> {
                ValueRef::Integer(*self as i64)
            }
        }
    )*};
}
int_param!(i64, i32, i16, u32, u16, u8);

impl Param for u64 {
    fn to_value(&self) -> ValueRef<'_> {
        // Beyond i64 only by a bug; saturate rather than wrap negative.
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl Param for usize {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl Param for bool {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Integer(i64::from(*self))
    }
}

impl Param for f64 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(*self)
    }
}

impl Param for f32 {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Real(f64::from(*self))
    }
}

impl Param for str {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for String {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for std::borrow::Cow<'_, str> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Text(self)
    }
}

impl Param for [u8] {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl Param for Vec<u8> {
    fn to_value(&self) -> ValueRef<'_> {
        ValueRef::Blob(self)
    }
}

impl Param for Value {
    fn to_value(&self) -> ValueRef<'_> {
        match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(t) => ValueRef::Text(t),
            Value::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl<T: Param> Param for Option<T> {
    fn to_value(&self) -> ValueRef<'_> {
        self.as_ref().map_or(ValueRef::Null, Param::to_value)
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn to_value(&self) -> ValueRef<'_> {
        (**self).to_value()
    }
}

/// The parameters of one statement.
pub trait Params {
    fn values(&self) -> Vec<ValueRef<'_>>;
}

impl Params for &[&dyn Param] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.iter().map(|p| p.to_value()).collect()
    }
}

impl Params for [&dyn Param; 0] {
    fn values(&self) -> Vec<ValueRef<'_>> {
        Vec::new()
    }
}

macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: Param> Params for [T; $n] {
            fn values(&self) -> Vec<ValueRef<'_>> {
                self.iter().map(|p| p.to_value()).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// Parameters from an iterator, e.g. the ids of an `IN (?1, ?2, …)`.
pub struct ParamsFromIter<T>(Vec<T>);

impl<T: Param> Params for ParamsFromIter<T> {
    fn values(&self) -> Vec<ValueRef<'_>> {
        self.0.iter().map(|p| p.to_value()).collect()
    }
}

pub fn params_from_iter<I: IntoIterator>(items: I) -> ParamsFromIter<I::Item> {
    ParamsFromIter(items.into_iter().collect())
}

/// `params![a, b]`: parameters of different types, in order.
macro_rules! params {
    () => { [] as [&dyn $crate::db::Param; 0] };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::db::Param),+] as &[&dyn $crate::db::Param]
    };
}
pub(crate) use params;

/// A column value converted to a Rust type.
pub trait FromCol: Sized {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str>;
}

impl FromCol for i64 {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Integer(i) => Ok(i),
            _ => Err("i64"),
        }
    }
}

macro_rules! narrow_int_col {
    ($($t:ty),*) => {$(
        impl FromCol for $t {
            fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
                match v {
                    ValueRef::Integer(i) => <$t>::try_from(i).map_err(|_| stringify!($t)),
                    _ => Err(stringify!($t)),
                }
            }
        }
    )*};
}
narrow_int_col!(i32, i16, u32, u16, u8, u64, usize);

impl FromCol for bool {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Integer(i) => Ok(i != 0),
            _ => Err("bool"),
        }
    }
}

impl FromCol for f64 {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Real(r) => Ok(r),
            ValueRef::Integer(i) => Ok(i as f64),
            _ => Err("f64"),
        }
    }
}

impl FromCol for f32 {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        f64::from_col(v).map(|r| r as f32).map_err(|_| "f32")
    }
}

impl FromCol for String {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Text(t) => Ok(t.to_owned()),
            _ => Err("text"),
        }
    }
}

impl FromCol for Vec<u8> {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Blob(b) => Ok(b.to_vec()),
            _ => Err("a blob"),
        }
    }
}

impl FromCol for Value {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        Ok(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(t.to_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        })
    }
}

impl<T: FromCol> FromCol for Option<T> {
    fn from_col(v: ValueRef<'_>) -> Result<Self, &'static str> {
        match v {
            ValueRef::Null => Ok(None),
            v => T::from_col(v).map(Some),
        }
    }
}

/// A column's position.
pub trait ColIndex {
    fn index(self) -> usize;
}

impl ColIndex for usize {
    fn index(self) -> usize {
        self
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

/// A PostgreSQL column read as one of SQLite's storage classes.
struct PgCell<'a>(ValueRef<'a>);

impl<'a> FromSql<'a> for PgCell<'a> {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(PgCell(match *ty {
            Type::INT8 => ValueRef::Integer(i64::from_sql(ty, raw)?),
            Type::INT4 => ValueRef::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => ValueRef::Integer(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => ValueRef::Integer(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => ValueRef::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => ValueRef::Real(f32::from_sql(ty, raw)?.into()),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => ValueRef::Blob(raw),
            _ => ValueRef::Text(<&str>::from_sql(ty, raw)?),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(PgCell(ValueRef::Null))
    }

    fn accepts(ty: &Type) -> bool {
        matches!(
            *ty,
            Type::INT8
                | Type::INT4
                | Type::INT2
                | Type::BOOL
                | Type::FLOAT8
                | Type::FLOAT4
                | Type::NUMERIC
                | Type::BYTEA
        ) || <&str as FromSql>::accepts(ty)
    }
}

/// A `numeric` (what PostgreSQL's `SUM` of integers returns) in its binary
/// form: digit count, weight, sign and display scale, then base-10000
/// digits. Whole values become integers, as SQLite's `SUM` gives.
fn numeric(raw: &[u8]) -> Result<ValueRef<'static>, Box<dyn std::error::Error + Sync + Send>> {
    let word = |i: usize| -> Result<i16, Box<dyn std::error::Error + Sync + Send>> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".into())
    };
    let digits = word(0)? as usize;
    let weight = i32::from(word(1)?);
    let sign = word(2)? as u16;
    if sign == 0xC000 {
        return Ok(ValueRef::Real(f64::NAN));
    }
    let mut whole: i128 = 0;
    let mut fraction = 0f64;
    for i in 0..digits {
        let d = i128::from(word(4 + i)?);
        let power = weight - i as i32;
        if power >= 0 {
            whole = 10_000i128
                .checked_pow(power as u32)
                .and_then(|p| whole.checked_add(d * p))
                .ok_or("numeric out of range")?;
        } else {
            fraction += d as f64 * 10_000f64.powi(power);
        }
    }
    let negative = sign == 0x4000;
    if fraction == 0.0 {
        let v = i64::try_from(whole).map_err(|_| "numeric out of range")?;
        Ok(ValueRef::Integer(if negative { -v } else { v }))
    } else {
        let v = whole as f64 + fraction;
        Ok(ValueRef::Real(if negative { -v } else { v }))
    }
}

/// A parameter as whichever PostgreSQL type the server inferred for its
/// placeholder.
#[derive(Debug)]
struct PgParam<'a>(ValueRef<'a>);

impl ToSql for PgParam<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        let mismatch = || -> Box<dyn std::error::Error + Sync + Send> {
            format!("cannot bind {} as {ty}", self.0.kind()).into()
        };
        match (self.0, ty) {
            (ValueRef::Null, _) => Ok(IsNull::Yes),
            (ValueRef::Integer(i), &Type::INT8) => i.to_sql(ty, out),
            (ValueRef::Integer(i), &Type::INT4) => i32::try_from(i)?.to_sql(ty, out),
            (ValueRef::Integer(i), &Type::INT2) => i16::try_from(i)?.to_sql(ty, out),
            (ValueRef::Integer(i), &Type::BOOL) => (i != 0).to_sql(ty, out),
            (ValueRef::Integer(i), &Type::FLOAT8) => (i as f64).to_sql(ty, out),
            (ValueRef::Integer(i), &Type::FLOAT4) => (i as f32).to_sql(ty, out),
            (ValueRef::Integer(i), &Type::NUMERIC) => {
                numeric_to_sql(i, out);
                Ok(IsNull::No)
            }
            (ValueRef::Integer(i), t) if <&str as ToSql>::accepts(t) => {
                i.to_string().as_str().to_sql(ty, out)
            }
            (ValueRef::Real(r), &Type::FLOAT8) => r.to_sql(ty, out),
            (ValueRef::Real(r), &Type::FLOAT4) => (r as f32).to_sql(ty, out),
            (ValueRef::Real(r), t) if <&str as ToSql>::accepts(t) => {
                r.to_string().as_str().to_sql(ty, out)
            }
            (ValueRef::Text(s), t) if <&str as ToSql>::accepts(t) => s.to_sql(ty, out),
            // As SQLite's column affinity converts it: text that is a
            // number, compared with or stored in a numeric column.
            (ValueRef::Text(s), &Type::INT8 | &Type::INT4 | &Type::INT2 | &Type::NUMERIC) => {
                let i: i64 = s.trim().parse().map_err(|_| mismatch())?;
                PgParam(ValueRef::Integer(i)).to_sql(ty, out)
            }
            (ValueRef::Text(s), &Type::FLOAT8 | &Type::FLOAT4) => {
                let r: f64 = s.trim().parse().map_err(|_| mismatch())?;
                PgParam(ValueRef::Real(r)).to_sql(ty, out)
            }
            (ValueRef::Blob(b), &Type::BYTEA) => b.to_sql(ty, out),
            (v, t) => {
                tracing::warn!(value = ?v, column_type = %t, "a parameter of the wrong type");
                Err(mismatch())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    // Every type is accepted above; `to_sql` refuses what it cannot encode.
    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut tokio_postgres::types::private::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        self.to_sql(ty, out)
    }
}

/// An integer as a `numeric`, e.g. a parameter compared with a `SUM`.
fn numeric_to_sql(i: i64, out: &mut tokio_postgres::types::private::BytesMut) {
    let negative = i < 0;
    let mut rest = i.unsigned_abs();
    let mut digits = Vec::new();
    while rest > 0 {
        digits.push((rest % 10_000) as i16);
        rest /= 10_000;
    }
    digits.reverse();
    let weight = digits.len() as i16 - 1;
    let mut bytes = Vec::with_capacity(8 + digits.len() * 2);
    bytes.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    bytes.extend_from_slice(&weight.max(0).to_be_bytes());
    bytes.extend_from_slice(&(if negative { 0x4000u16 } else { 0 }).to_be_bytes());
    bytes.extend_from_slice(&0i16.to_be_bytes());
    for d in digits {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(&bytes);
}

/// `?N` placeholders as PostgreSQL's `$N`, outside quoted strings,
/// quoted identifiers and comments. A bare `?` takes the number after the
/// highest so far, as in SQLite.
pub(crate) fn postgres_sql(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut highest = 0u32;
    while let Some(c) = chars.next() {
        out.push(c);
        match c {
            '\'' | '"' => {
                // To the closing quote; a doubled quote is one escaped.
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let mut last = ' ';
                for d in chars.by_ref() {
                    out.push(d);
                    if last == '*' && d == '/' {
                        break;
                    }
                    last = d;
                }
            }
            '?' => {
                out.pop();
                let mut number = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    number.push(*d);
                    chars.next();
                }
                let n = number.parse().unwrap_or(highest + 1);
                highest = highest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => {}
        }
    }
    out
}

/// How to open a PostgreSQL connection, and the schemas its statements
/// see by default.
#[derive(Clone)]
pub struct PgTarget {
    pub config: tokio_postgres::Config,
    /// `SET search_path` right after connecting, e.g. `region_eu, public`.
    pub search_path: String,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        f.debug_struct("PgTarget")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .field("search_path", &self.search_path)
            .finish()
    }
}

impl PgTarget {
    pub fn connect(&self) -> DbResult<tokio_postgres::Client> {
        let config = self.config.clone();
        // The socket and the connection's task live on Flick's PostgreSQL
        // runtime; the client's requests go to that task through channels,
        // so they can be waited on from any thread (see `block_on`).
        let connecting = pg_runtime().spawn(async move {
            let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "PostgreSQL connection ended");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        let client = block_on(connecting)
            .map_err(|e| DbError::Unreachable(e.to_string()))?
            .map_err(|e| DbError::Unreachable(pg_message(&e)))?;
        // A statement or a lock wait that runs past these fails (and the
        // request answers 503) rather than holding a connection for ever.
        block_on(client.batch_execute(&format!(
            "SET search_path TO {}; SET statement_timeout = '60s'; SET lock_timeout = '20s'",
            self.search_path
        )))?;
        Ok(client)
    }
}

/// The runtime that drives every PostgreSQL connection of the process: one
/// thread, since it only moves bytes between sockets and channels.
fn pg_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("flick-postgres")
            .enable_all()
            .build()
            .expect("cannot start the PostgreSQL connections' runtime")
    })
}

/// Waits for `future` on this thread. The store is synchronous (callers
/// off the async runtime use `spawn_blocking`), and a few callers are on an
/// async thread; tokio's own `block_on` refuses to run there, while this
/// one only parks the thread until the connection's task wakes it, as a
/// SQLite call blocks it on disk I/O. (A dozen lines rather than a crate.)
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    // Outside tokio's cooperative budget: on a runtime thread whose budget
    // is spent, a budgeted future (a JoinHandle) would answer Pending and
    // wake itself at once, for ever, since this loop never yields to the
    // scheduler that refills it.
    let mut future = std::pin::pin!(tokio::task::unconstrained(future));
    loop {
        if let std::task::Poll::Ready(out) =
            std::future::Future::poll(future.as_mut(), &mut context)
        {
            return out;
        }
        std::thread::park();
    }
}

/// `config` with the bounds Flick needs, where the URL set none: a
/// connection attempt gives up after 3 s, and a connection whose server
/// stopped answering (a cut cable, not a restart) is found dead within
/// seconds instead of TCP's minutes, so requests answer 503, never hang.
pub fn with_timeouts(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(3));
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(std::time::Duration::from_secs(10));
    }
    config
        .keepalives(true)
        .keepalives_idle(std::time::Duration::from_secs(5))
        .keepalives_interval(std::time::Duration::from_secs(2))
        .keepalives_retries(3);
    if config.get_application_name().is_none() {
        config.application_name("flick");
    }
    config
}

struct PgConn {
    target: PgTarget,
    client: Option<tokio_postgres::Client>,
    statements: HashMap<String, tokio_postgres::Statement>,
}

impl PgConn {
    /// The client, connected again if the server closed it, unless that
    /// happened inside a transaction.
    fn client(&mut self, in_transaction: bool) -> DbResult<&mut tokio_postgres::Client> {
        let lost = self.client.as_ref().is_none_or(|c| c.is_closed());
        if lost {
            if in_transaction {
                return Err(DbError::LostInTransaction);
            }
            self.statements.clear();
            self.client = None;
            self.client = Some(self.target.connect()?);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// The client a statement was prepared on, not a new one: a statement
    /// belongs to its connection, and the next `prepare` reconnects.
    fn connected(&mut self, in_transaction: bool) -> DbResult<&mut tokio_postgres::Client> {
        match self.client.as_mut() {
            Some(c) if !c.is_closed() => Ok(c),
            _ if in_transaction => Err(DbError::LostInTransaction),
            _ => Err(DbError::Unreachable("the connection closed".into())),
        }
    }

    fn statement(
        &mut self,
        sql: &str,
        in_transaction: bool,
    ) -> DbResult<tokio_postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            if !self.client.as_ref().is_none_or(|c| c.is_closed()) {
                return Ok(s.clone());
            }
        }
        let translated = postgres_sql(sql);
        let statement = block_on(self.client(in_transaction)?.prepare(&translated))
            .inspect_err(|e| tracing::warn!(sql = %translated, error = %pg_message(e), "PostgreSQL refused a statement"))?;
        if self.statements.len() > 256 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
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
