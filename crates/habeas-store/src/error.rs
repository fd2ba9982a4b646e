use std::path::PathBuf;

/// Everything that can go wrong below the domain: opening, reading, writing, the log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no register at {path}: create one with `habeas init --origin ORIGIN`")]
    NotFound { path: PathBuf },
    #[error("{path} already exists: a register is never overwritten")]
    AlreadyExists { path: PathBuf },
    #[error("{path} is not a habeas register: {detail}")]
    NotARegister { path: PathBuf, detail: String },
    #[error("{path} has schema version {found}; this habeas reads version {expected}")]
    WrongVersion {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
    #[error("signing key {path}: {detail}")]
    Key { path: PathBuf, detail: String },
    #[error("origin `{origin}`: {detail}")]
    BadOrigin { origin: String, detail: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(String),
    #[error("database error: the query returned no rows")]
    NoRows,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Stored data that does not parse: the register was changed behind its back.
    #[error("event {seq}: stored data is corrupt: {detail}; run `habeas verify`")]
    Corrupt { seq: u64, detail: String },
    #[error(transparent)]
    Apply(#[from] habeas_domain::ApplyError),
    #[error("{0}")]
    Ledger(String),
    #[error("no event {seq}: the log has {size} events (0..{size})")]
    NoSuchEvent { seq: u64, size: u64 },
    #[error("the log has no signed checkpoint yet: apply a command first")]
    NoCheckpoint,
    #[error("old size {old} is larger than the log's {size}")]
    BadOldSize { old: u64, size: u64 },
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
    #[error("the register is damaged and refuses writes: {detail}; run `habeas verify`")]
    Damaged { detail: String },
    #[error("a write failed in this transaction; it was rolled back")]
    Poisoned,
    #[error("{table} row {key}: stored data is corrupt: {detail}; run `habeas rebuild`")]
    CorruptRow {
        table: &'static str,
        key: String,
        detail: String,
    },
    #[error("no transaction is open: call begin() first")]
    NoTransaction,
    #[error("no savepoint is open: call savepoint() first")]
    NoSavepoint,
    #[error("a savepoint is already open: release it or roll back to it first")]
    SavepointOpen,
    #[error("a bulk load is open: it cannot undo a part of a transaction; finish it first")]
    BulkLoadOpen,
    #[error("a write transaction is open: a read snapshot sees committed data only")]
    TransactionOpen,
    #[error("user name `{name}`: {detail}")]
    BadUserName { name: String, detail: String },
    #[error("user `{name}` already exists")]
    UserExists { name: String },
    #[error("no user `{name}`")]
    NoSuchUser { name: String },
    #[error("user `{name}` is disabled")]
    UserDisabled { name: String },
    #[error("password: {detail}")]
    BadPassword { detail: String },
    #[error("copy refused: {detail}")]
    Copy { detail: String },
    #[error("password hashing failed: {0}")]
    PasswordHash(String),
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        // The server's own message (e.g. a trigger's) says more than the client's summary.
        StoreError::Postgres(match e.as_db_error() {
            Some(db) => db.message().to_owned(),
            None => e.to_string(),
        })
    }
}

impl<E: std::error::Error> From<habeas_ledger::LedgerError<E>> for StoreError {
    fn from(e: habeas_ledger::LedgerError<E>) -> Self {
        StoreError::Ledger(e.to_string())
    }
}
