//! The backend seam: one connection type over SQLite (rusqlite) and PostgreSQL (the
//! synchronous `postgres` client), with the calls the store makes (`prepare_cached`,
//! `execute`, `query_row`, rows, transactions). Everything that differs between the two
//! databases lives here and in the two schema modules: parameter and column types, the SQL
//! dialect (`?N` placeholders, `INDEXED BY`, `LIKE`), how a write transaction serializes
//! appends to the log, and how a failed statement affects the open transaction. The write
//! path, the log, queries and findings are written once, above this module.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use postgres::types::{IsNull, ToSql as PgToSql, Type};
use rusqlite::types::{FromSql, ToSqlOutput, ValueRef};

use crate::error::StoreError;

/// Where a register lives: a SQLite file, or a PostgreSQL database named by a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbLocation {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` connection URL.
    Postgres(String),
}

impl DbLocation {
    /// `postgres://…` and `postgresql://…` name a PostgreSQL database; anything else a file.
    pub fn parse(db: &str) -> DbLocation {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            DbLocation::Postgres(db.to_owned())
        } else {
            DbLocation::Sqlite(PathBuf::from(db))
        }
    }

    /// How the register is named in messages: the path, or the URL without its password.
    pub fn display_name(&self) -> PathBuf {
        match self {
            DbLocation::Sqlite(p) => p.clone(),
            DbLocation::Postgres(url) => PathBuf::from(redact_password(url)),
        }
    }

    /// The signing key's default place: beside a SQLite file (`PATH.key`). A PostgreSQL
    /// register has none: its key is a file the operator names (`--key` / `HABEAS_KEY`).
    pub fn default_key_path(&self) -> Option<PathBuf> {
        match self {
            DbLocation::Sqlite(p) => Some(crate::store::key_path(p)),
            DbLocation::Postgres(_) => None,
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (auth, host) = match rest.split_once('@') {
        Some((a, h)) => (a, h),
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// The advisory lock every PostgreSQL log writer holds until its transaction ends ("habeas"
/// in ASCII). Advisory locks are per database, so registers on one server do not contend.
const PG_LOG_LOCK: i64 = 0x6861_6265_6173;

/// A connection to either backend.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Pg(Box<PgConn>),
}

pub(crate) struct PgConn {
    client: RefCell<postgres::Client>,
    statements: RefCell<HashMap<String, postgres::Statement>>,
    in_tx: Cell<bool>,
    /// A statement failed inside the open transaction: PostgreSQL refuses everything until
    /// ROLLBACK (and would turn a COMMIT into a silent rollback), so the store must know.
    aborted: Cell<bool>,
}

impl Conn {
    /// A SQLite connection, read-only when `read_only` (a server's read handles).
    pub(crate) fn open_sqlite_with(path: &Path, read_only: bool) -> Result<Conn, rusqlite::Error> {
        let mode = if read_only {
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
        };
        rusqlite::Connection::open_with_flags(
            path,
            mode | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map(Conn::Sqlite)
    }

    pub(crate) fn open_pg(url: &str) -> Result<Conn, StoreError> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        // Marks the register's own sessions: the current-state tables' triggers refuse writes
        // from any other (schema_pg.rs, migration 4).
        client.batch_execute("SET client_min_messages = warning; SET habeas.writer = 'on'")?;
        Ok(Conn::Pg(Box::new(PgConn {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            in_tx: Cell::new(false),
            aborted: Cell::new(false),
        })))
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Conn::Pg(_))
    }

    /// The SQLite connection, for what only SQLite has (pragmas, WAL checkpoints).
    pub(crate) fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Conn::Sqlite(c) => Some(c),
            Conn::Pg(_) => None,
        }
    }

    pub(crate) fn prepare_cached(&self, sql: &str) -> Result<Stmt<'_>, StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(Stmt::SqliteCached(c.prepare_cached(sql)?)),
            Conn::Pg(p) => Ok(Stmt::Pg(p, p.statement(sql)?)),
        }
    }

    pub(crate) fn prepare(&self, sql: &str) -> Result<Stmt<'_>, StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(Stmt::Sqlite(c.prepare(sql)?)),
            Conn::Pg(p) => Ok(Stmt::Pg(p, p.statement(sql)?)),
        }
    }

    pub(crate) fn execute(&self, sql: &str, params: impl Params) -> Result<usize, StoreError> {
        self.prepare_cached(sql)?.execute(params)
    }

    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    /// Statements without parameters, as written (transaction control, savepoints, DDL).
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Conn::Pg(p) => p.batch(sql),
        }
    }

    /// A transaction that appends to the log: one at a time per register. SQLite takes the
    /// database's write lock (`BEGIN IMMEDIATE`); PostgreSQL a transaction-level advisory
    /// lock, held until COMMIT or ROLLBACK, so the next writer's statements (READ COMMITTED)
    /// see every row this one wrote.
    pub(crate) fn begin_log(&self) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch("BEGIN IMMEDIATE")?),
            Conn::Pg(p) => {
                p.batch("BEGIN")?;
                let locked = (|| {
                    let stmt = p.statement("SELECT pg_advisory_xact_lock(?1)")?;
                    p.run(|c| c.query(&stmt, &[&PG_LOG_LOCK]))?;
                    Ok(())
                })();
                if locked.is_err() {
                    let _ = p.batch("ROLLBACK");
                }
                locked
            }
        }
    }

    /// A read transaction: every statement sees the same snapshot.
    pub(crate) fn begin_read(&self) -> Result<(), StoreError> {
        match self {
            Conn::Sqlite(c) => Ok(c.execute_batch("BEGIN")?),
            Conn::Pg(p) => p.batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
        }
    }

    pub(crate) fn is_autocommit(&self) -> bool {
        match self {
            Conn::Sqlite(c) => c.is_autocommit(),
            Conn::Pg(p) => !p.in_tx.get(),
        }
    }
}

impl PgConn {
    fn run<T>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let result = f(&mut self.client.borrow_mut());
        if result.is_err() && self.in_tx.get() {
            self.aborted.set(true);
        }
        Ok(result?)
    }

    fn statement(&self, sql: &str) -> Result<postgres::Statement, StoreError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let translated = pg_dialect(sql);
        let stmt = self.run(|c| c.prepare(&translated))?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    fn batch(&self, sql: &str) -> Result<(), StoreError> {
        let head = sql.trim_start().to_ascii_uppercase();
        let ends = head.starts_with("COMMIT")
            || head.starts_with("END")
            || (head.starts_with("ROLLBACK") && !head.starts_with("ROLLBACK TO"));
        if head.starts_with("COMMIT") && self.aborted.get() {
            // PostgreSQL would answer COMMIT with a rollback and no error.
            let _ = self.client.borrow_mut().batch_execute("ROLLBACK");
            self.in_tx.set(false);
            self.aborted.set(false);
            return Err(StoreError::Poisoned);
        }
        let result = self.run(|c| c.batch_execute(sql));
        if head.starts_with("BEGIN") && result.is_ok() {
            self.in_tx.set(true);
            self.aborted.set(false);
        } else if ends {
            self.in_tx.set(false);
            self.aborted.set(false);
        } else if head.starts_with("ROLLBACK TO") && result.is_ok() {
            self.aborted.set(false);
        }
        result
    }
}

/// SQL as the store writes it (SQLite's dialect, kept portable) → PostgreSQL's.
fn pg_dialect(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
        }
        if c == '?' && !in_string && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    // Index hints are SQLite's; PostgreSQL's planner chooses by itself.
    while let Some(i) = out.find(" INDEXED BY ") {
        let rest = &out[i + " INDEXED BY ".len()..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        out.replace_range(i..i + " INDEXED BY ".len() + end, "");
    }
    // `NOT INDEXED` (SQLite: scan the table) has no counterpart either.
    out = out.replace(" NOT INDEXED", "");
    // instr(haystack, needle) is strpos in PostgreSQL (same arguments, same 1-based result);
    // the migrations write the partial indexes that use it the same way, so they match.
    out = out.replace("instr(", "strpos(");
    // SQLite's LIKE ignores ASCII case; PostgreSQL's ILIKE does the same.
    out = out.replace(" LIKE ", " ILIKE ");
    if let Some(rest) = out.strip_prefix("INSERT OR IGNORE ") {
        out = format!("INSERT {rest} ON CONFLICT DO NOTHING");
    }
    out
}

/// One parameter value, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// A value that can be bound to a statement of either backend.
pub(crate) trait Param {
    fn value(&self) -> Value<'_>;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> Value<'_> {
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_param!(i64, i32, i16, u8, u16, u32, u64, usize);

impl Param for bool {
    fn value(&self) -> Value<'_> {
        Value::Int(i64::from(*self))
    }
}
impl Param for f64 {
    fn value(&self) -> Value<'_> {
        Value::Real(*self)
    }
}
impl Param for f32 {
    fn value(&self) -> Value<'_> {
        Value::Real(f64::from(*self))
    }
}
impl Param for str {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl Param for String {
    fn value(&self) -> Value<'_> {
        Value::Text(self)
    }
}
impl Param for [u8] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl Param for Vec<u8> {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl<const N: usize> Param for [u8; N] {
    fn value(&self) -> Value<'_> {
        Value::Blob(self)
    }
}
impl<T: Param> Param for Option<T> {
    fn value(&self) -> Value<'_> {
        match self {
            Some(v) => v.value(),
            None => Value::Null,
        }
    }
}
impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value<'_> {
        (**self).value()
    }
}

/// What a statement takes: `params![…]`, `[a, b]` of one type, or `[]`.
pub(crate) trait Params {
    fn values(&self) -> Vec<Value<'_>>;
}
impl Params for &[&dyn Param] {
    fn values(&self) -> Vec<Value<'_>> {
        self.iter().map(|p| p.value()).collect()
    }
}
impl Params for [&dyn Param; 0] {
    fn values(&self) -> Vec<Value<'_>> {
        Vec::new()
    }
}
macro_rules! array_params {
    ($($n:literal),*) => {$(
        impl<T: Param> Params for [T; $n] {
            fn values(&self) -> Vec<Value<'_>> {
                self.iter().map(|p| p.value()).collect()
            }
        }
    )*};
}
array_params!(1, 2, 3, 4, 5, 6, 7, 8);

/// `params![a, b, …]`: parameters of mixed types, as rusqlite's macro of that name.
macro_rules! params {
    () => { &[] as &[&dyn $crate::db::Param] };
    ($($p:expr),+ $(,)?) => { &[$(&$p as &dyn $crate::db::Param),+] as &[&dyn $crate::db::Param] };
}
pub(crate) use params;

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(i),
            Value::Real(f) => ValueRef::Real(f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl PgToSql for Value<'_> {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match *self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            Value::Text(s) => s.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// A column value read from either backend (SQLite through rusqlite's own conversions).
pub(crate) trait FromCol: FromSql + Sized {
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, String>;
}

/// Base types read from PostgreSQL; NULL is `None`.
pub(crate) trait PgBase: Sized {
    fn pg_opt(row: &postgres::Row, idx: usize) -> Result<Option<Self>, String>;
}

impl<T: PgBase + FromSql> FromCol for T {
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, String> {
        T::pg_opt(row, idx)?.ok_or_else(|| format!("column {idx} is NULL"))
    }
}
impl<T: PgBase + FromSql> FromCol for Option<T> {
    fn from_pg(row: &postgres::Row, idx: usize) -> Result<Self, String> {
        T::pg_opt(row, idx)
    }
}

fn pg_get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a postgres::Row,
    idx: usize,
) -> Result<T, String> {
    row.try_get(idx).map_err(|e| e.to_string())
}

fn pg_int(row: &postgres::Row, idx: usize) -> Result<Option<i64>, String> {
    let ty = row
        .columns()
        .get(idx)
        .ok_or_else(|| format!("no column {idx}"))?
        .type_()
        .clone();
    Ok(match ty {
        Type::INT8 => pg_get::<Option<i64>>(row, idx)?,
        Type::INT4 => pg_get::<Option<i32>>(row, idx)?.map(i64::from),
        Type::INT2 => pg_get::<Option<i16>>(row, idx)?.map(i64::from),
        Type::BOOL => pg_get::<Option<bool>>(row, idx)?.map(i64::from),
        other => return Err(format!("column {idx} is {other}, not an integer")),
    })
}

macro_rules! int_col {
    ($($t:ty),*) => {$(
        impl PgBase for $t {
            fn pg_opt(row: &postgres::Row, idx: usize) -> Result<Option<Self>, String> {
                pg_int(row, idx)?
                    .map(|v| <$t>::try_from(v).map_err(|e| format!("column {idx}: {e}")))
                    .transpose()
            }
        }
    )*};
}
int_col!(i64, i32, u8, u16, u32, u64, usize);

impl PgBase for bool {
    fn pg_opt(row: &postgres::Row, idx: usize) -> Result<Option<Self>, String> {
        Ok(pg_int(row, idx)?.map(|v| v != 0))
    }
}
impl PgBase for f64 {
    fn pg_opt(row: &postgres::Row, idx: usize) -> Result<Option<Self>, String> {
        match row.columns().get(idx).map(|c| c.type_().clone()) {
            Some(Type::FLOAT4) => Ok(pg_get::<Option<f32>>(row, idx)?.map(f64::from)),
            Some(Type::FLOAT8) => pg_get(row, idx),
            _ => Ok(pg_int(row, idx)?.map(|v| v as f64)),
        }
    }
}
impl PgBase for String {
    fn pg_opt(row: &postgres::Row, idx: usize) -> Result<Option<Self>, String> {
        pg_get(row, idx)
    }
}
impl PgBase for Vec<u8> {
    fn pg_opt(row: &postgres::Row, idx: usize) -> Result<Option<Self>, String> {
        pg_get(row, idx)
    }
}

/// What `Row::get` takes: a column index.
pub(crate) trait RowIndex {
    fn index(&self) -> usize;
}
impl RowIndex for usize {
    fn index(&self) -> usize {
        *self
    }
}

/// One result row of either backend.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    pub(crate) fn get<I: RowIndex, T: FromCol>(&self, idx: I) -> Result<T, StoreError> {
        let idx = idx.index();
        match self {
            Row::Sqlite(r) => Ok(r.get(idx)?),
            Row::Pg(r) => T::from_pg(r, idx).map_err(StoreError::Postgres),
        }
    }

    /// The column's bytes whether it holds text or a blob (a record changed behind the
    /// register's back may hold either).
    pub(crate) fn get_bytes(&self, idx: usize) -> Result<Vec<u8>, StoreError> {
        match self {
            Row::Sqlite(r) => Ok(match r.get_ref(idx)? {
                ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
                _ => Vec::new(),
            }),
            Row::Pg(r) => match r.columns().get(idx).map(|c| c.type_().clone()) {
                Some(Type::BYTEA) => Ok(pg_get::<Option<Vec<u8>>>(r, idx)
                    .map_err(StoreError::Postgres)?
                    .unwrap_or_default()),
                _ => Ok(pg_get::<Option<String>>(r, idx)
                    .map_err(StoreError::Postgres)?
                    .unwrap_or_default()
                    .into_bytes()),
            },
        }
    }

    pub(crate) fn column_count(&self) -> usize {
        match self {
            Row::Sqlite(r) => r.as_ref().column_count(),
            Row::Pg(r) => r.len(),
        }
    }

    /// Any column as text, for comparing whole tables across backends (NULL as `NULL`,
    /// integers and reals in decimal, blobs in hex).
    pub(crate) fn get_text(&self, idx: usize) -> Result<String, StoreError> {
        match self {
            Row::Sqlite(r) => Ok(match r.get_ref(idx)? {
                ValueRef::Null => "NULL".into(),
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) => f.to_string(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                ValueRef::Blob(b) => hex(b),
            }),
            Row::Pg(r) => {
                let ty = r.columns()[idx].type_().clone();
                let text = match ty {
                    Type::BYTEA => pg_get::<Option<Vec<u8>>>(r, idx).map(|b| b.map(|b| hex(&b))),
                    Type::FLOAT8 | Type::FLOAT4 => {
                        f64::pg_opt(r, idx).map(|f| f.map(|f| f.to_string()))
                    }
                    Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL => {
                        pg_int(r, idx).map(|i| i.map(|i| i.to_string()))
                    }
                    _ => pg_get::<Option<String>>(r, idx),
                }
                .map_err(StoreError::Postgres)?;
                Ok(text.unwrap_or_else(|| "NULL".into()))
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Rows of a query: SQLite's read as they come, PostgreSQL's fetched at once.
pub(crate) enum Rows<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Pg(std::vec::IntoIter<postgres::Row>, Option<postgres::Row>),
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)] // a lending iterator, as rusqlite's
    pub(crate) fn next(&mut self) -> Result<Option<Row<'_>>, StoreError> {
        match self {
            Rows::Sqlite(r) => Ok(r.next()?.map(Row::Sqlite)),
            Rows::Pg(it, current) => {
                *current = it.next();
                Ok(current.as_ref().map(Row::Pg))
            }
        }
    }
}

/// A prepared statement of either backend.
pub(crate) enum Stmt<'c> {
    SqliteCached(rusqlite::CachedStatement<'c>),
    Sqlite(rusqlite::Statement<'c>),
    Pg(&'c PgConn, postgres::Statement),
}

impl<'c> Stmt<'c> {
    fn sqlite(&mut self) -> Option<&mut rusqlite::Statement<'c>> {
        match self {
            Stmt::SqliteCached(s) => Some(s),
            Stmt::Sqlite(s) => Some(s),
            Stmt::Pg(..) => None,
        }
    }

    pub(crate) fn execute(&mut self, params: impl Params) -> Result<usize, StoreError> {
        let values = params.values();
        if let Some(s) = self.sqlite() {
            return Ok(s.execute(rusqlite::params_from_iter(values.iter()))?);
        }
        let Stmt::Pg(conn, stmt) = self else {
            unreachable!("every statement is SQLite's or PostgreSQL's")
        };
        let refs: Vec<&(dyn PgToSql + Sync)> =
            values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
        let n = conn.run(|c| c.execute(&*stmt, &refs))?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(crate) fn query(&mut self, params: impl Params) -> Result<Rows<'_>, StoreError> {
        let values = params.values();
        match self {
            Stmt::SqliteCached(s) => Ok(Rows::Sqlite(
                s.query(rusqlite::params_from_iter(values.iter()))?,
            )),
            Stmt::Sqlite(s) => Ok(Rows::Sqlite(
                s.query(rusqlite::params_from_iter(values.iter()))?,
            )),
            Stmt::Pg(conn, stmt) => {
                let refs: Vec<&(dyn PgToSql + Sync)> =
                    values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
                let rows = conn.run(|c| c.query(&*stmt, &refs))?;
                Ok(Rows::Pg(rows.into_iter(), None))
            }
        }
    }

    /// The first row, or `StoreError::NoRows`.
    pub(crate) fn query_row<T>(
        &mut self,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(StoreError::NoRows),
        }
    }

    /// Every row through `f`, read at once.
    pub(crate) fn query_map<T>(
        &mut self,
        params: impl Params,
        mut f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<std::vec::IntoIter<Result<T, StoreError>>, StoreError> {
        let mut rows = self.query(params)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(f(&row));
        }
        Ok(out.into_iter())
    }
}

/// `query_row(…).optional()`: no row is `None`, as rusqlite's extension of that name.
pub(crate) trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>, StoreError>;
}

impl<T> OptionalExtension<T> for Result<T, StoreError> {
    fn optional(self) -> Result<Option<T>, StoreError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NoRows) => Ok(None),
            Err(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_translates_placeholders_hints_and_like() {
        assert_eq!(
            pg_dialect("SELECT a FROM t INDEXED BY t_at WHERE a = ?1 AND b LIKE ?2 AND c = '?3'"),
            "SELECT a FROM t WHERE a = $1 AND b ILIKE $2 AND c = '?3'"
        );
        assert_eq!(
            pg_dialect("INSERT OR IGNORE INTO t (a) VALUES (?1)"),
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
        );
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact_password("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_password("postgres://h/db"), "postgres://h/db");
    }
}
