//! PostgreSQL's side of the connection layer: type conversions to and
//! from SQLite's storage classes, placeholders, and connections driven by
//! one background runtime thread.

use super::{pg_message, DbError, DbResult, ValueRef};
use std::collections::HashMap;
use std::fmt;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};

/// A PostgreSQL column read as one of SQLite's storage classes.
pub(super) struct PgCell<'a>(pub(super) ValueRef<'a>);

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
pub(super) fn numeric(
    raw: &[u8],
) -> Result<ValueRef<'static>, Box<dyn std::error::Error + Sync + Send>> {
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
pub(super) struct PgParam<'a>(pub(super) ValueRef<'a>);

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
pub(super) fn numeric_to_sql(i: i64, out: &mut tokio_postgres::types::private::BytesMut) {
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
pub(super) fn postgres_sql(sql: &str) -> String {
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
pub(super) fn pg_runtime() -> &'static tokio::runtime::Runtime {
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
pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
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

pub(super) struct PgConn {
    pub(super) target: PgTarget,
    pub(super) client: Option<tokio_postgres::Client>,
    pub(super) statements: HashMap<String, tokio_postgres::Statement>,
}

impl PgConn {
    /// The client, connected again if the server closed it, unless that
    /// happened inside a transaction.
    pub(super) fn client(&mut self, in_transaction: bool) -> DbResult<&mut tokio_postgres::Client> {
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
    pub(super) fn connected(
        &mut self,
        in_transaction: bool,
    ) -> DbResult<&mut tokio_postgres::Client> {
        match self.client.as_mut() {
            Some(c) if !c.is_closed() => Ok(c),
            _ if in_transaction => Err(DbError::LostInTransaction),
            _ => Err(DbError::Unreachable("the connection closed".into())),
        }
    }

    pub(super) fn statement(
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
