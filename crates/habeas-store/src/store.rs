//! The Store: opens a register, runs commands through the domain, and writes the events, their
//! leaves and tree hashes, the current-state tables and a signed checkpoint in one transaction.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use habeas_domain::*;
use habeas_ledger::{Checkpoint, Frontier, Hash, HashReader, Signer, Verifier, leaf_hash};
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::db::{Conn, DbLocation, OptionalExtension, params};
use crate::error::StoreError;
use crate::schema;

mod bulk;
pub use bulk::BulkLoadFinished;
mod group;

/// The first line of every leaf: names the leaf format so it can evolve.
pub const LEAF_PREFIX: &str = "habeas-entry/v1";

/// The leaf for an event: a commitment to the record, never the record itself, so a mirror of
/// the leaves learns nothing personal (DESIGN §5).
pub fn leaf_bytes(seq: u64, salt: &[u8], record: &[u8]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(record);
    let commitment = STANDARD.encode(h.finalize());
    format!("{LEAF_PREFIX}\n{seq}\n{commitment}\n").into_bytes()
}

/// The outcome of one submitted command: the sequence numbers of its events, or a refusal.
pub type Outcome = Result<Vec<u64>, Refusal>;

/// A signed checkpoint, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
}

/// The lowest tree level stored in the `tree` table. Hashes below it (subtrees of fewer than
/// 16 leaves) are recomputed from the stored leaves when a proof needs them: at most 15 leaf
/// hashes per level, and it saves writing ~1.9 rows per event.
pub const STORED_MIN_LEVEL: u8 = 4;

/// Reads tree hashes for the ledger's proofs: stored ones from `tree`, low ones from leaves.
pub(crate) struct SqlTree<'c>(pub &'c Conn);

impl HashReader for SqlTree<'_> {
    type Error = StoreError;
    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        if level < STORED_MIN_LEVEL {
            return self.subtree_from_leaves(level, index);
        }
        let mut stmt = self
            .0
            .prepare_cached("SELECT hash FROM tree WHERE level = ?1 AND idx = ?2")?;
        let blob: Vec<u8> = stmt.query_row(params![level, to_i64(index)], |r| r.get(0))?;
        Hash::try_from(blob.as_slice()).map_err(|_| {
            StoreError::Ledger(format!(
                "tree hash ({level}, {index}) is {} bytes, not 32",
                blob.len()
            ))
        })
    }
}

impl SqlTree<'_> {
    /// The hash of the full subtree (level, index), computed from its 2^level stored leaves.
    fn subtree_from_leaves(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        let width = 1u64 << level;
        let first = index << level;
        let mut stmt = self
            .0
            .prepare_cached("SELECT leaf FROM events WHERE seq >= ?1 AND seq < ?2 ORDER BY seq")?;
        let rows = stmt.query_map(params![to_i64(first), to_i64(first + width)], |r| {
            r.get::<_, Vec<u8>>(0)
        })?;
        let mut level_hashes = Vec::with_capacity(width as usize);
        for leaf in rows {
            level_hashes.push(leaf_hash(&leaf?));
        }
        if level_hashes.len() as u64 != width {
            return Err(StoreError::NoRows);
        }
        while level_hashes.len() > 1 {
            level_hashes = level_hashes
                .chunks(2)
                .map(|pair| habeas_ledger::node_hash(&pair[0], &pair[1]))
                .collect();
        }
        Ok(level_hashes[0])
    }
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// A register, on SQLite or PostgreSQL (`crate::db` is the seam between them).
pub struct Store {
    pub(crate) conn: Conn,
    /// The register's name in messages: the file, or the URL without its password.
    pub(crate) path: PathBuf,
    pub(crate) location: DbLocation,
    key_file: PathBuf,
    signer: Signer,
    pub(crate) origin: String,
    frontier: Frontier,
    /// The domain state: every place, order, agreement and transfer; persons on demand.
    state: State,
    /// Per person in `state.persons`: how many stays the table already holds.
    saved_stays: HashMap<RegisterNo, usize>,
    dirty: Dirty,
    in_tx: bool,
    /// Why the log head or the state could not be loaded; writes are refused while set.
    damaged: Option<String>,
    /// A write failed inside the open transaction: it can only be rolled back.
    poisoned: bool,
    salts: SaltPool,
    /// Shared with the read-only handles opened from this store (`open_reader`).
    clock: Clock,
    /// The tree head when the open savepoint was taken (group commit, `store/group.rs`).
    savepoint: Option<Frontier>,
    /// Persons kept in memory between transactions, at most.
    pub person_cache_limit: usize,
    /// Events replayed between two write-backs in `rebuild`.
    pub rebuild_chunk: u64,
    /// A bulk load is open (`store/bulk.rs`): no journal, no sync, no secondary indexes.
    bulk_load: bool,
}

/// Persons kept in memory between transactions by default.
pub(crate) const PERSON_CACHE_LIMIT: usize = 50_000;

type Clock = std::sync::Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Salts from the operating system's CSPRNG, read 4 KiB at a time: one system call per 128
/// events instead of one each. Every byte is used once.
struct SaltPool {
    buf: Box<[u8; 4096]>,
    pos: usize,
}

impl Default for SaltPool {
    fn default() -> Self {
        SaltPool {
            buf: Box::new([0; 4096]),
            pos: 4096,
        }
    }
}

impl SaltPool {
    fn next(&mut self) -> Result<[u8; 32], StoreError> {
        if self.pos + 32 > self.buf.len() {
            getrandom::fill(&mut self.buf[..]).map_err(|e| StoreError::Random(e.to_string()))?;
            self.pos = 0;
        }
        let mut salt = [0u8; 32];
        salt.copy_from_slice(&self.buf[self.pos..self.pos + 32]);
        // Wipe what was handed out, so a salt never sits twice in memory.
        self.buf[self.pos..self.pos + 32].fill(0);
        self.pos += 32;
        Ok(salt)
    }
}

#[derive(Default)]
struct Dirty {
    facilities: BTreeSet<FacilityCode>,
    units: BTreeSet<UnitPath>,
    cells: BTreeSet<CellPath>,
    persons: HashSet<RegisterNo>,
    court_orders: BTreeSet<OrderId>,
    agreements: BTreeSet<AgreementId>,
    transfers: BTreeSet<TransferId>,
    health_requests: BTreeSet<RequestId>,
}

/// The path of the signing key beside a database file.
pub fn key_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".key");
    PathBuf::from(s)
}

impl Store {
    /// Creates a new register at `path` with a new signing key beside it (`PATH.key`, mode
    /// 0600). The origin names the log in every checkpoint (e.g. `example.org/habeas/sv`).
    pub fn create(path: &Path, origin: &str) -> Result<Store, StoreError> {
        let location = DbLocation::Sqlite(path.to_owned());
        Store::create_at(&location, &key_path(path), origin)
    }

    /// Opens an existing SQLite register, with its key beside it; never creates one.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_at(&DbLocation::Sqlite(path.to_owned()), &key_path(path))
    }

    /// Creates a new register at `location` with a new signing key written to `key_file`
    /// (mode 0600; it must not exist). A PostgreSQL database must exist and hold no register.
    pub fn create_at(
        location: &DbLocation,
        key_file: &Path,
        origin: &str,
    ) -> Result<Store, StoreError> {
        habeas_ledger::validate_key_name(origin).map_err(|e| StoreError::BadOrigin {
            origin: origin.to_owned(),
            detail: e.to_string(),
        })?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| StoreError::Random(e.to_string()))?;
        let signer = Signer::from_seed(origin, seed).map_err(|e| StoreError::BadOrigin {
            origin: origin.to_owned(),
            detail: e.to_string(),
        })?;
        Store::create_with_key(location, key_file, &signer, true)
    }

    /// Creates the register's tables and meta rows for `signer`; with `write_key`, writes the
    /// key to `key_file` first (and removes it again if the register cannot be created).
    pub(crate) fn create_with_key(
        location: &DbLocation,
        key_file: &Path,
        signer: &Signer,
        write_key: bool,
    ) -> Result<Store, StoreError> {
        let name = location.display_name();
        if let DbLocation::Sqlite(path) = location
            && path.exists()
        {
            return Err(StoreError::AlreadyExists { path: name });
        }
        if write_key && key_file.exists() {
            return Err(StoreError::AlreadyExists {
                path: key_file.to_owned(),
            });
        }
        let conn = match location {
            DbLocation::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path)?;
                configure(&conn)?;
                Conn::Sqlite(conn)
            }
            DbLocation::Postgres(url) => {
                let conn = Conn::open_pg(url)?;
                if pg_has_register(&conn)? {
                    return Err(StoreError::AlreadyExists { path: name });
                }
                conn
            }
        };
        if write_key {
            write_private_key(key_file, &signer.to_private_key())?;
        }
        let result = (|| -> Result<(), StoreError> {
            conn.begin_log()?;
            match &conn {
                Conn::Sqlite(_) => {
                    conn.execute_batch(schema::CREATE)?;
                    conn.execute_batch(&schema::state_guards())?;
                }
                Conn::Pg(_) => {
                    conn.execute_batch(crate::schema_pg::MIGRATIONS_TABLE)?;
                    for m in crate::schema_pg::MIGRATIONS {
                        apply_pg_migration(&conn, m)?;
                    }
                }
            }
            let mut ins = conn.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
            ins.execute(params!["format", schema::FORMAT])?;
            if !conn.is_postgres() {
                ins.execute(params!["schema_version", schema::SCHEMA_VERSION])?;
            }
            ins.execute(params!["origin", signer.name()])?;
            ins.execute(params!["verifier_key", signer.verifier_key()])?;
            drop(ins);
            crate::access_head::write(&conn, signer, &crate::access_head::Head::EMPTY)?;
            conn.execute_batch("COMMIT")?;
            Ok(())
        })();
        if let Err(e) = result {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            drop(conn);
            if let DbLocation::Sqlite(path) = location {
                let _ = std::fs::remove_file(path);
            }
            if write_key {
                let _ = std::fs::remove_file(key_file);
            }
            return Err(e);
        }
        drop(conn);
        Store::open_at(location, key_file)
    }

    /// Opens an existing register with its signing key from `key_file`; never creates one.
    /// A PostgreSQL register missing migrations of this build gets them first.
    pub fn open_at(location: &DbLocation, key_file: &Path) -> Result<Store, StoreError> {
        Store::open_with(location, key_file, false)
    }

    /// [`Store::open_at`], read-only when `read_only` (a connection that cannot write).
    pub(crate) fn open_with(
        location: &DbLocation,
        key_file: &Path,
        read_only: bool,
    ) -> Result<Store, StoreError> {
        let path = location.display_name();
        let not_register = |detail: String| StoreError::NotARegister {
            path: path.clone(),
            detail,
        };
        let conn = match location {
            DbLocation::Sqlite(file) => {
                if !file.exists() {
                    return Err(StoreError::NotFound { path });
                }
                Conn::open_sqlite_with(file, read_only).map_err(|e| not_register(e.to_string()))?
            }
            DbLocation::Postgres(url) => {
                let conn = Conn::open_pg(url)?;
                if read_only {
                    conn.execute_batch("SET default_transaction_read_only = on")?;
                }
                if !pg_has_register(&conn)? {
                    return Err(StoreError::NotFound { path });
                }
                conn
            }
        };
        let meta = read_meta(&conn).map_err(|e| not_register(e.to_string()))?;
        if meta.get("format").map(String::as_str) != Some(schema::FORMAT) {
            return Err(not_register("it has no habeas meta table".into()));
        }
        if meta.contains_key(bulk::BULK_LOAD_KEY) {
            return Err(not_register(
                "it was being built in bulk and the build never finished, so it may be \
                 incomplete or damaged: build it again"
                    .into(),
            ));
        }
        let origin = meta.get("origin").cloned().unwrap_or_default();
        let key_text = std::fs::read_to_string(key_file).map_err(|e| StoreError::Key {
            path: key_file.to_owned(),
            detail: e.to_string(),
        })?;
        let signer = Signer::from_private_key(key_text.trim()).map_err(|e| StoreError::Key {
            path: key_file.to_owned(),
            detail: e.to_string(),
        })?;
        if Some(&signer.verifier_key()) != meta.get("verifier_key") || signer.name() != origin {
            return Err(StoreError::Key {
                path: key_file.to_owned(),
                detail: "this key is not the register's signing key".into(),
            });
        }
        match &conn {
            Conn::Sqlite(c) => {
                let mut version = meta.get("schema_version").cloned().unwrap_or_default();
                if version == schema::UPGRADED_FROM && !read_only {
                    configure(c)?;
                    upgrade_sqlite(&conn, &signer)?;
                    version = schema::SCHEMA_VERSION.to_owned();
                }
                // A read-only handle reads schema 5 as 6: they differ only in the guards.
                if version != schema::SCHEMA_VERSION
                    && !(read_only && version == schema::UPGRADED_FROM)
                {
                    return Err(StoreError::WrongVersion {
                        path,
                        found: version,
                        expected: schema::SCHEMA_VERSION,
                    });
                }
                configure(c)?;
            }
            Conn::Pg(_) => migrate_pg(&conn, &path, &signer)?,
        }
        let mut store = Store {
            conn,
            path,
            location: location.clone(),
            key_file: key_file.to_owned(),
            signer,
            origin,
            frontier: Frontier::empty(),
            state: State::default(),
            saved_stays: HashMap::new(),
            dirty: Dirty::default(),
            in_tx: false,
            damaged: None,
            poisoned: false,
            salts: SaltPool::default(),
            clock: std::sync::Arc::new(Timestamp::now),
            savepoint: None,
            person_cache_limit: PERSON_CACHE_LIMIT,
            bulk_load: false,
            rebuild_chunk: 10_000,
        };
        store.reload()?;
        // A demo register runs on the demo's clock (`set_demo_clock`), in every process that
        // opens it: the CLI and the server see the same now.
        let demo_clock: Option<String> = store
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'demo_clock'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some((register, wall)) = demo_clock.as_deref().and_then(parse_demo_clock) {
            store.clock = std::sync::Arc::new(move || {
                register
                    .checked_add(Timestamp::now().duration_since(wall))
                    .unwrap_or(register)
            });
        }
        if store.conn.is_postgres() && !read_only {
            let pending: Option<String> = store
                .conn
                .query_row(
                    "SELECT value FROM meta WHERE key = 'rebuild_needed'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if pending.is_some() {
                // A migration added a projection the existing events have not filled.
                store.rebuild()?;
                store
                    .conn
                    .execute("DELETE FROM meta WHERE key = 'rebuild_needed'", [])?;
            }
        }
        Ok(store)
    }

    /// Where the register lives.
    pub fn location(&self) -> &DbLocation {
        &self.location
    }

    /// The signing key's file.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// The signing key, for `copy` to hand the same key to the copy.
    pub(crate) fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Replaces the clock that stamps `recorded_at` (tests, imports with a fixed time).
    /// Puts a synthetic register on the demo's clock: from `now` on, running with real time,
    /// kept in the register so that every process that opens it (the CLI beside `habeas demo`)
    /// sees the same now. Only `habeas demo` calls it.
    pub fn set_demo_clock(&mut self, now: Timestamp) -> Result<(), StoreError> {
        let wall = Timestamp::now();
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES ('demo_clock', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [format!(
                "{} {}",
                now.as_microsecond(),
                wall.as_microsecond()
            )],
        )?;
        self.clock = std::sync::Arc::new(move || {
            now.checked_add(Timestamp::now().duration_since(wall))
                .unwrap_or(now)
        });
        Ok(())
    }

    pub fn set_clock(&mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) {
        self.clock = std::sync::Arc::new(clock);
    }

    /// The register's clock (the time `recorded_at` would get now).
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The verifier key (`name+hex(keyID)+base64(0x01||pubkey)`).
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    pub fn verifier(&self) -> Verifier {
        self.signer.verifier()
    }

    /// Number of events in the log (= leaves in the tree).
    pub fn log_size(&self) -> u64 {
        if self.damaged.is_some() {
            return stored_log_size(&self.conn).unwrap_or(0);
        }
        self.frontier.size()
    }

    /// Queries that rely on the in-memory state refuse to answer from a damaged register.
    pub(crate) fn check_not_damaged(&self) -> Result<(), StoreError> {
        match &self.damaged {
            Some(detail) => Err(StoreError::Damaged {
                detail: detail.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The in-memory state (places, orders, agreements, transfers, and the loaded persons).
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Drops every cache and reloads the log head and the small tables.
    ///
    /// A register damaged behind its back still opens, so that `verify` can say what is wrong;
    /// it refuses writes until repaired.
    fn reload(&mut self) -> Result<(), StoreError> {
        self.damaged = None;
        if let Err(e) = self.load_head_and_state() {
            self.frontier = Frontier::empty();
            self.state = State::default();
            self.damaged = Some(e.to_string());
        }
        Ok(())
    }

    fn load_head_and_state(&mut self) -> Result<(), StoreError> {
        self.load_head()?;
        self.load_state()
    }

    /// Reloads the small tables into a fresh state (persons come back on demand).
    fn load_state(&mut self) -> Result<(), StoreError> {
        self.state = State::default();
        self.saved_stays.clear();
        self.dirty = Dirty::default();
        load_all(&self.conn, "facilities", "code", |f: Facility| {
            self.state.facilities.insert(f.facility.clone(), f);
        })?;
        load_all(&self.conn, "units", "path", |u: Unit| {
            self.state.units.insert(u.unit.clone(), u);
        })?;
        load_all(&self.conn, "cells", "path", |c: Cell| {
            self.state.cells.insert(c.cell.clone(), c);
        })?;
        load_all(&self.conn, "court_orders", "id", |o: CourtOrder| {
            self.state.court_orders.insert(o.order.clone(), o);
        })?;
        load_all(&self.conn, "agreements", "id", |a: Agreement| {
            self.state.agreements.insert(a.terms.agreement.clone(), a);
        })?;
        load_all(&self.conn, "transfers", "id", |t: Transfer| {
            self.state.transfers.insert(t.transfer.clone(), t);
        })?;
        load_all(
            &self.conn,
            "health_requests",
            "request",
            |r: HealthRequestState| {
                self.state.health_requests.insert(r.request.clone(), r);
            },
        )?;
        {
            let mut stmt = self
                .conn
                .prepare("SELECT incident, min(seq) FROM incidents GROUP BY incident")?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let id: String = row.get(0)?;
                let seq: i64 = row.get(1)?;
                let id = IncidentId::parse(&id).map_err(|e| StoreError::CorruptRow {
                    table: "incidents",
                    key: id.clone(),
                    detail: e.to_string(),
                })?;
                self.state
                    .incidents
                    .insert(id, u64::try_from(seq).unwrap_or(0));
            }
        }
        let settings: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM settings ORDER BY seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(data) = settings {
            self.state.settings =
                Some(
                    serde_json::from_str(&data).map_err(|e| StoreError::CorruptRow {
                        table: "settings",
                        key: "latest".into(),
                        detail: e.to_string(),
                    })?,
                );
        }
        Ok(())
    }

    /// Loads the tree head and checks it against the latest signed checkpoint: the register
    /// never signs a tree that does not extend what it signed before, whatever was changed or
    /// added behind its back (a changed tree hash, an event inserted without the key).
    fn load_head(&mut self) -> Result<(), StoreError> {
        let size = stored_log_size(&self.conn)?;
        self.frontier = Frontier::load(&SqlTree(&self.conn), size)
            .map_err(|e| StoreError::Ledger(format!("loading the tree head: {e}")))?;
        let latest: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match latest {
            None if size == 0 => Ok(()),
            None => Err(StoreError::Ledger(format!(
                "the log holds {size} events but no signed checkpoint"
            ))),
            Some((cp_size, root)) => {
                if cp_size != to_i64(size) {
                    return Err(StoreError::Ledger(format!(
                        "the log holds {size} events but the latest signed checkpoint is at size {cp_size}"
                    )));
                }
                if root.as_slice() != self.frontier.root() {
                    return Err(StoreError::Ledger(format!(
                        "the tree's root at size {size} is not the root of the latest signed checkpoint"
                    )));
                }
                Ok(())
            }
        }
    }

    // --- writing ------------------------------------------------------------------------

    /// Whether a transaction begun by [`Store::begin`] is open.
    pub(crate) fn in_transaction(&self) -> bool {
        self.in_tx
    }

    /// Opens a write transaction (`BEGIN IMMEDIATE`: one writer at a time). If another process
    /// appended since we last looked, the caches are reloaded first, so this store can never
    /// fork the tree.
    pub fn begin(&mut self) -> Result<(), StoreError> {
        self.conn.begin_log()?;
        self.in_tx = true;
        let size = match stored_log_size(&self.conn) {
            Ok(s) => s,
            Err(e) => {
                self.rollback()?;
                return Err(e);
            }
        };
        if size != self.frontier.size() || self.damaged.is_some() {
            let caught_up = self.damaged.is_none() && self.follow_appends(size).unwrap_or(false);
            if !caught_up {
                self.reload()?;
            }
        }
        if let Some(detail) = self.damaged.clone() {
            self.rollback()?;
            return Err(StoreError::Damaged { detail });
        }
        Ok(())
    }

    /// Follows what other writers appended since this store last looked, instead of reloading
    /// everything: their leaves extend the frontier, and the persons they wrote about leave
    /// the cache (read again from the tables when needed). Returns false, for a full reload,
    /// if an event changed shared state (places, orders, agreements, transfers, health
    /// requests, incidents, settings), if the catch-up is long, or if the result is not the
    /// tree of the latest signed checkpoint. Runs inside the log's write lock.
    pub(crate) fn follow_appends(&mut self, size: u64) -> Result<bool, StoreError> {
        const MAX_CATCH_UP: u64 = 10_000;
        let from = self.frontier.size();
        if size < from || size - from > MAX_CATCH_UP {
            return Ok(false);
        }
        let mut frontier = self.frontier.clone();
        let mut touched = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT seq, record, leaf FROM events WHERE seq >= ?1 ORDER BY seq",
            )?;
            let mut rows = stmt.query(params![to_i64(from)])?;
            while let Some(r) = rows.next()? {
                let seq: i64 = r.get(0)?;
                let record: String = r.get(1)?;
                let leaf: Vec<u8> = r.get(2)?;
                if seq != to_i64(frontier.size()) {
                    return Ok(false);
                }
                let Ok(recorded) = Recorded::from_json(&record) else {
                    return Ok(false);
                };
                if !changes_only_its_person(&recorded.event) {
                    return Ok(false);
                }
                touched.extend(recorded.event.register_no().cloned());
                frontier.append(leaf_hash(&leaf));
            }
        }
        let latest: Option<(i64, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT size, root FROM checkpoints ORDER BY size DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if frontier.size() != size || latest != Some((to_i64(size), frontier.root().to_vec())) {
            return Ok(false);
        }
        self.frontier = frontier;
        for r in touched {
            self.state.persons.remove(&r);
            self.saved_stays.remove(&r);
        }
        Ok(true)
    }

    /// Decides one command against the state and, if accepted, appends its events. A refusal
    /// changes nothing. Must be inside `begin`/`commit`.
    pub fn submit(&mut self, submission: &Submission) -> Result<Outcome, StoreError> {
        if !self.in_tx {
            return Err(StoreError::NoTransaction);
        }
        for register_no in submission.command.register_nos() {
            self.ensure_person(register_no)?;
        }
        if let Some(source) = &submission.source_id
            && let Some(seqs) = self.already_recorded(source)?
        {
            return Ok(Ok(seqs));
        }
        let recorded_at = (self.clock)();
        let ctx = Context::new(recorded_at);
        let events = match decide(&self.state, &submission.command, &ctx) {
            Ok(events) => events,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let mut seqs = Vec::with_capacity(events.len());
        for event in events {
            let recorded = Recorded {
                seq: self.frontier.size(),
                recorded_at,
                actor: submission.actor.clone(),
                source_id: submission.source_id.clone(),
                event,
            };
            if let Err(e) = self.append(&recorded) {
                self.poisoned = true;
                return Err(e);
            }
            seqs.push(recorded.seq);
        }
        Ok(Ok(seqs))
    }

    /// The events recorded for a submission's `source_id`, if any: such a submission is
    /// already recorded, and [`Store::submit`] answers with these instead of applying it again.
    pub fn already_recorded(&self, source_id: &Text) -> Result<Option<Vec<u64>>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq FROM events WHERE source_id = ?1 ORDER BY seq")?;
        let mut rows = stmt.query([source_id.as_str()])?;
        let mut seqs = Vec::new();
        while let Some(row) = rows.next()? {
            seqs.push(u64::try_from(row.get::<_, i64>(0)?).unwrap_or(0));
        }
        Ok((!seqs.is_empty()).then_some(seqs))
    }

    /// Writes one event to the log and folds it into the state.
    fn append(&mut self, recorded: &Recorded) -> Result<(), StoreError> {
        let record = recorded.canonical_json();
        let salt = self.salts.next()?;
        let leaf = leaf_bytes(recorded.seq, &salt, record.as_bytes());
        let seq = to_i64(recorded.seq);
        self.conn
            .prepare_cached(
                "INSERT INTO events (seq, type, subject, at_us, recorded_at_us, record, salt, leaf, source_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                seq,
                recorded.event.type_name(),
                recorded.event.register_no().map(RegisterNo::as_str),
                recorded.event.at().map(|t| t.as_microsecond()),
                recorded.recorded_at.as_microsecond(),
                record,
                &salt[..],
                leaf,
                recorded.source_id.as_ref().map(Text::as_str),
            ])?;
        // Apply before touching the frontier: if the state rejects the event, nothing of it
        // reaches the tree (the caller rolls the transaction back).
        apply(&mut self.state, recorded)?;
        self.mark_dirty(&recorded.event);
        crate::project::facts(&self.conn, &self.state, recorded)?;
        let nodes = self.frontier.append(leaf_hash(&leaf));
        let mut ins = self
            .conn
            .prepare_cached("INSERT INTO tree (level, idx, hash) VALUES (?1, ?2, ?3)")?;
        for (level, idx, hash) in nodes {
            if level >= STORED_MIN_LEVEL {
                ins.execute(params![level, to_i64(idx), &hash[..]])?;
            }
        }
        Ok(())
    }

    /// Writes back the changed state, signs a checkpoint if the log grew, and commits. Returns
    /// the new checkpoint, if any.
    pub fn commit(&mut self) -> Result<Option<SignedCheckpoint>, StoreError> {
        if !self.in_tx {
            return Err(StoreError::NoTransaction);
        }
        if self.poisoned {
            self.rollback()?;
            return Err(StoreError::Poisoned);
        }
        let result = (|| {
            self.write_back()?;
            let checkpoint = self.sign_checkpoint_if_grown()?;
            self.conn.execute_batch("COMMIT")?;
            Ok(checkpoint)
        })();
        match result {
            Ok(checkpoint) => {
                self.in_tx = false;
                self.savepoint = None;
                if self.state.persons.len() > self.person_cache_limit {
                    self.state.persons.clear();
                    self.saved_stays.clear();
                }
                Ok(checkpoint)
            }
            Err(e) => {
                self.rollback()?;
                Err(e)
            }
        }
    }

    /// Abandons the transaction: nothing of it stays, in the database or in memory.
    pub fn rollback(&mut self) -> Result<(), StoreError> {
        self.poisoned = false;
        self.savepoint = None;
        if self.in_tx {
            self.in_tx = false;
            // A failed COMMIT may already have ended the transaction.
            if !self.conn.is_autocommit() {
                self.conn.execute_batch("ROLLBACK")?;
            }
        }
        self.reload()?;
        if self.bulk_load {
            // Without a journal SQLite cannot undo what it wrote, and on either backend the
            // persons' rows held back until the load ends are gone with the reload.
            self.damaged = Some("a bulk load was rolled back: build the register again".into());
        }
        Ok(())
    }

    /// One batch in one transaction: every accepted command is applied, refused ones are
    /// reported. With `atomic`, any refusal rolls the whole batch back.
    pub fn submit_batch(
        &mut self,
        submissions: &[Submission],
        atomic: bool,
    ) -> Result<(Vec<Outcome>, Option<SignedCheckpoint>), StoreError> {
        self.begin()?;
        let mut outcomes = Vec::with_capacity(submissions.len());
        for s in submissions {
            match self.submit(s) {
                Ok(o) => outcomes.push(o),
                Err(e) => {
                    self.rollback()?;
                    return Err(e);
                }
            }
        }
        if atomic && outcomes.iter().any(Result::is_err) {
            self.rollback()?;
            return Ok((outcomes, None));
        }
        let checkpoint = self.commit()?;
        Ok((outcomes, checkpoint))
    }

    fn sign_checkpoint_if_grown(&mut self) -> Result<Option<SignedCheckpoint>, StoreError> {
        let size = self.frontier.size();
        let last: Option<i64> =
            self.conn
                .query_row("SELECT max(size) FROM checkpoints", [], |r| r.get(0))?;
        if size == 0 || last.is_some_and(|l| l >= to_i64(size)) {
            return Ok(None);
        }
        let root = self.frontier.root();
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            size,
            root,
            extensions: Vec::new(),
        };
        let note = checkpoint
            .sign(&[&self.signer])
            .map_err(|e| StoreError::Ledger(format!("signing the checkpoint: {e}")))?;
        self.conn.execute(
            "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?1, ?2, ?3, ?4)",
            params![to_i64(size), &root[..], note, (self.clock)().to_string()],
        )?;
        Ok(Some(SignedCheckpoint { size, root, note }))
    }

    /// Loads a person into the working state, if the register knows them.
    fn ensure_person(&mut self, register_no: &RegisterNo) -> Result<(), StoreError> {
        if self.state.persons.contains_key(register_no) {
            return Ok(());
        }
        if let Some(person) = read_person(&self.conn, register_no)? {
            let stays = person.episodes.iter().map(|e| e.stays.len()).sum();
            self.saved_stays.insert(register_no.clone(), stays);
            self.state.persons.insert(register_no.clone(), person);
        }
        Ok(())
    }

    fn mark_dirty(&mut self, event: &Event) {
        // A contact, an exam…: only its fact row is written (by `project`), not the person.
        if event.changes_no_entity() {
            return;
        }
        let d = &mut self.dirty;
        match event {
            Event::FacilityRegistered(e) => {
                d.facilities.insert(e.facility.clone());
            }
            Event::UnitRegistered(e) => {
                d.units.insert(UnitPath {
                    facility: e.facility.clone(),
                    unit: e.unit.clone(),
                });
            }
            Event::CellRegistered(e) => {
                d.cells.insert(e.cell.clone());
            }
            Event::CourtOrderRecorded(e) => {
                d.court_orders.insert(e.order.clone());
            }
            Event::CourtOrderLifted(e) => {
                d.court_orders.insert(e.order.clone());
            }
            Event::AgreementRecorded(e) => {
                d.agreements.insert(e.agreement.clone());
            }
            Event::TransferOrdered(e) => {
                d.transfers.insert(e.transfer.clone());
                d.persons.insert(e.register_no.clone());
            }
            Event::HealthRequested(e) => {
                d.health_requests.insert(e.request.clone());
            }
            Event::HealthSeen(e) => {
                d.health_requests.insert(e.request.clone());
            }
            other => {
                if let Some(r) = other.register_no() {
                    d.persons.insert(r.clone());
                }
            }
        }
    }

    /// Writes every entity changed in this transaction to the current-state tables.
    fn write_back(&mut self) -> Result<(), StoreError> {
        let mut dirty = std::mem::take(&mut self.dirty);
        if self.bulk_load {
            // Everyone stays in memory until the load ends, and is written once then.
            self.dirty.persons = std::mem::take(&mut dirty.persons);
        }
        let c = &self.conn;
        for code in &dirty.facilities {
            if let Some(f) = self.state.facilities.get(code) {
                c.prepare_cached(
                    "INSERT INTO facilities (code, data) VALUES (?1, ?2)
                     ON CONFLICT (code) DO UPDATE SET data = excluded.data",
                )?
                .execute(params![code.as_str(), to_json(f)])?;
            }
        }
        for path in &dirty.units {
            if let Some(u) = self.state.units.get(path) {
                c.prepare_cached(
                    "INSERT INTO units (path, facility, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT (path) DO UPDATE SET facility = excluded.facility, data = excluded.data",
                )?
                .execute(params![
                    path.to_string(),
                    path.facility.as_str(),
                    to_json(u)
                ])?;
            }
        }
        for path in &dirty.cells {
            if let Some(cell) = self.state.cells.get(path) {
                c.prepare_cached(
                    "INSERT INTO cells (path, facility, unit, places, beds, area_m2, data)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (path) DO UPDATE SET facility = excluded.facility,
                     unit = excluded.unit, places = excluded.places, beds = excluded.beds,
                     area_m2 = excluded.area_m2, data = excluded.data",
                )?
                .execute(params![
                    path.to_string(),
                    path.facility.as_str(),
                    path.unit_path().to_string(),
                    cell.places,
                    cell.beds,
                    cell.area_m2,
                    to_json(cell)
                ])?;
            }
        }
        for id in &dirty.court_orders {
            if let Some(o) = self.state.court_orders.get(id) {
                c.prepare_cached(
                    "INSERT INTO court_orders (id, data) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                )?
                .execute(params![id.as_str(), to_json(o)])?;
            }
        }
        for id in &dirty.agreements {
            if let Some(a) = self.state.agreements.get(id) {
                c.prepare_cached(
                    "INSERT INTO agreements (id, data) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                )?
                .execute(params![id.as_str(), to_json(a)])?;
            }
        }
        for id in &dirty.transfers {
            if let Some(t) = self.state.transfers.get(id) {
                c.prepare_cached(
                    "INSERT INTO transfers (id, data) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                )?
                .execute(params![id.as_str(), to_json(t)])?;
            }
        }
        for id in &dirty.health_requests {
            if let Some(r) = self.state.health_requests.get(id) {
                c.prepare_cached(
                    "INSERT INTO health_requests (request, register_no, data) VALUES (?1, ?2, ?3)
                     ON CONFLICT (request) DO UPDATE SET register_no = excluded.register_no, data = excluded.data",
                )?
                .execute(params![id.as_str(), r.register_no.as_str(), to_json(r)])?;
            }
        }
        self.write_persons(dirty.persons.iter())
    }

    fn write_persons<'a>(
        &mut self,
        register_nos: impl Iterator<Item = &'a RegisterNo>,
    ) -> Result<(), StoreError> {
        for register_no in register_nos {
            let Some(person) = self.state.persons.get(register_no) else {
                continue;
            };
            write_person_tracked(
                &self.conn,
                &mut self.saved_stays,
                person,
                PersonFiles::of(person),
            )?;
        }
        Ok(())
    }

    // --- rebuild ------------------------------------------------------------------------

    /// Drops the current-state tables and re-derives them from the log, in one transaction
    /// (DESIGN §1, principle 3). Returns the number of events replayed.
    pub fn rebuild(&mut self) -> Result<u64, StoreError> {
        // Not `begin`: that loads the current-state tables, which may be what is broken.
        self.conn.begin_log()?;
        self.in_tx = true;
        if let Err(e) = self.load_head() {
            self.rollback()?;
            return Err(StoreError::Damaged {
                detail: e.to_string(),
            });
        }
        self.damaged = None;
        let result = self.rebuild_inner();
        match result {
            Ok(n) => {
                self.commit()?;
                Ok(n)
            }
            Err(e) => {
                self.rollback()?;
                Err(e)
            }
        }
    }

    fn rebuild_inner(&mut self) -> Result<u64, StoreError> {
        for table in schema::STATE_TABLES {
            self.conn.execute(&format!("DELETE FROM {table}"), [])?;
        }
        self.state = State::default();
        self.saved_stays.clear();
        self.dirty = Dirty::default();
        let size = self.frontier.size();
        let mut seq = 0u64;
        let chunk = self.rebuild_chunk.max(1);
        while seq < size {
            let records: Vec<(u64, String)> = {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT seq, record FROM events WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![to_i64(seq), to_i64(chunk)], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?;
                rows.map(|r| r.map(|(s, rec)| (u64::try_from(s).unwrap_or(0), rec)))
                    .collect::<Result<_, _>>()?
            };
            if records.is_empty() {
                break;
            }
            for (s, record) in records {
                if s != seq {
                    return Err(StoreError::Corrupt {
                        seq,
                        detail: format!("the log jumps from {seq} to {s}"),
                    });
                }
                let recorded = Recorded::from_json(&record).map_err(|e| StoreError::Corrupt {
                    seq,
                    detail: format!("record does not parse: {e}"),
                })?;
                if let Some(r) = recorded.event.register_no() {
                    self.ensure_person(r)?;
                }
                apply(&mut self.state, &recorded)?;
                self.mark_dirty(&recorded.event);
                crate::project::facts(&self.conn, &self.state, &recorded)?;
                seq += 1;
            }
            self.write_back()?;
            if self.state.persons.len() > self.person_cache_limit {
                self.state.persons.clear();
                self.saved_stays.clear();
            }
        }
        Ok(seq)
    }
}

/// Events whose `apply` changes nothing but their person (so a writer that did not write them
/// need only forget that person). Everything else changes state every writer holds.
fn changes_only_its_person(event: &Event) -> bool {
    match event {
        Event::AdmissionRecorded(_)
        | Event::PlacementRecorded(_)
        | Event::LegalBasisRecorded(_)
        | Event::AbsenceStarted(_)
        | Event::AbsenceEnded(_)
        | Event::TransferDeparted(_)
        | Event::TransferArrived(_)
        | Event::ReleaseRecorded(_)
        | Event::DeathRecorded(_)
        | Event::EscapeRecorded(_)
        | Event::SeparationStarted(_)
        | Event::SeparationEnded(_)
        | Event::ContactRecorded(_)
        | Event::NotificationRecorded(_)
        | Event::HealthExamined(_)
        | Event::ExerciseRecorded(_)
        | Event::CountRecorded(_) => true,
        // Listed, not `_`: a new kind of event must be classified here.
        Event::FacilityRegistered(_)
        | Event::UnitRegistered(_)
        | Event::CellRegistered(_)
        | Event::TransferOrdered(_)
        | Event::CourtOrderRecorded(_)
        | Event::CourtOrderLifted(_)
        | Event::AgreementRecorded(_)
        | Event::HealthRequested(_)
        | Event::HealthSeen(_)
        | Event::IncidentRecorded(_)
        | Event::SettingsRecorded(_) => false,
    }
}

/// Keeps WAL checkpoints off the writer's path in a server: a background thread copies the
/// WAL back into the database as it grows (PASSIVE: it never blocks the writer).
///
/// The writer's own automatic checkpoint stays, at 8,192 pages (32 MiB), because only a
/// checkpoint run right after a commit, with no frame newer than it, lets the next write
/// start the WAL again from its beginning; under steady writes the background never gets
/// there. What that checkpoint copies and syncs is only what the background has not copied
/// yet, so the background runs again 5 ms after a pass that found new frames (and every
/// 50 ms when idle). Measured with 16 connections writing: checking every 100 ms left about
/// 100 ms of commits for the writer's checkpoint, a 25-40 ms stall each time the WAL wrapped
/// (three times a second), which set the p99 at 31-35 ms; checking 2-10 ms after new
/// frames brought it to 13-17 ms (BENCHMARKS.md).
///
/// The thread stops once the returned guard is dropped.
pub fn start_background_checkpoints(store: &Store) -> Result<BackgroundCheckpoints, StoreError> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let guard = BackgroundCheckpoints { stop: stop.clone() };
    // PostgreSQL checkpoints its own WAL.
    let (Some(own), DbLocation::Sqlite(path)) = (store.conn.sqlite(), store.location()) else {
        return Ok(guard);
    };
    own.execute_batch("PRAGMA wal_autocheckpoint=8192; PRAGMA journal_size_limit=67108864;")?;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    std::thread::Builder::new()
        .name("habeas-wal-checkpoint".into())
        .spawn(move || {
            let mut last = (0, 0);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // (frames in the WAL, frames copied) after this pass.
                let pass = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                });
                let pause = match pass {
                    Ok(now) if now != last => {
                        last = now;
                        5
                    }
                    Ok(_) => 50,
                    Err(e) => {
                        eprintln!("habeas: background WAL checkpoint failed: {e}");
                        1000
                    }
                };
                std::thread::sleep(std::time::Duration::from_millis(pause));
            }
        })?;
    Ok(guard)
}

/// Keeps the background WAL checkpoints running; dropping it stops them.
#[derive(Debug)]
pub struct BackgroundCheckpoints {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for BackgroundCheckpoints {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn configure(conn: &rusqlite::Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    // The mark of the register's own connections, which the state guards ask for. Innocuous:
    // triggers may call it whatever the schema's trust setting.
    conn.create_scalar_function(
        schema::WRITER_FUNCTION,
        0,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8
            | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC
            | rusqlite::functions::FunctionFlags::SQLITE_INNOCUOUS,
        |_| Ok(1),
    )?;
    // WAL + synchronous=FULL: a committed batch survives a crash or power loss.
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Sqlite(rusqlite::Error::InvalidQuery));
    }
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;
         PRAGMA wal_autocheckpoint=16384;",
    )?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Schema 5 → 6: adds the state guards and signs the access log's first head, in one
/// transaction with the version.
fn upgrade_sqlite(conn: &Conn, signer: &Signer) -> Result<(), StoreError> {
    conn.begin_log()?;
    let result = (|| {
        conn.execute_batch(&schema::state_guards())?;
        crate::access_head::write(conn, signer, &crate::access_head::fold_all(conn)?)?;
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            params![schema::SCHEMA_VERSION],
        )?;
        conn.execute_batch("COMMIT")
    })();
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

fn read_meta(conn: &Conn) -> Result<HashMap<String, String>, StoreError> {
    let mut stmt = conn.prepare("SELECT key, value FROM meta")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Whether the PostgreSQL database holds a register (its `meta` table).
fn pg_has_register(conn: &Conn) -> Result<bool, StoreError> {
    conn.query_row(
        "SELECT count(*) FROM information_schema.tables
         WHERE table_schema = current_schema() AND table_name = 'meta'",
        [],
        |r| Ok(r.get::<_, i64>(0)? > 0),
    )
}

fn apply_pg_migration(conn: &Conn, m: &crate::schema_pg::Migration) -> Result<(), StoreError> {
    conn.execute_batch(m.sql)?;
    conn.execute(
        "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
        params![m.version, Timestamp::now().to_string()],
    )?;
    Ok(())
}

/// Applies the migrations this build has and the register lacks, in one transaction under
/// the log's lock (so two processes opening an old register do not both migrate it);
/// refuses a register migrated by a newer build.
fn migrate_pg(conn: &Conn, path: &Path, signer: &Signer) -> Result<(), StoreError> {
    let applied = |conn: &Conn| -> Result<u32, StoreError> {
        conn.query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
    };
    let latest = crate::schema_pg::latest();
    let found = applied(conn)?;
    if found == latest {
        return Ok(());
    }
    if found > latest {
        return Err(StoreError::WrongVersion {
            path: path.to_owned(),
            found: found.to_string(),
            expected: crate::schema_pg::LATEST_NAME,
        });
    }
    conn.begin_log()?;
    let result = (|| {
        let found = applied(conn)?;
        for m in crate::schema_pg::MIGRATIONS
            .iter()
            .filter(|m| m.version > found)
        {
            apply_pg_migration(conn, m)?;
            if m.version == crate::schema_pg::ACCESS_HEAD_FROM {
                // The access log's first head, over the entries it already has.
                crate::access_head::write(conn, signer, &crate::access_head::fold_all(conn)?)?;
            }
            if crate::schema_pg::REBUILD_AFTER.contains(&m.version) {
                // Done by `open` once the store is up; a crash before it only repeats it.
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('rebuild_needed', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    params![m.version.to_string()],
                )?;
            }
        }
        conn.execute_batch("COMMIT")
    })();
    if result.is_err() && !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    result
}

pub(crate) fn stored_log_size(conn: &Conn) -> Result<u64, StoreError> {
    let max: Option<i64> = conn.query_row("SELECT max(seq) FROM events", [], |r| r.get(0))?;
    Ok(max.map_or(0, |m| u64::try_from(m).unwrap_or(0) + 1))
}

/// The person as the `persons` table holds them.
pub(crate) fn read_person(
    conn: &Conn,
    register_no: &RegisterNo,
) -> Result<Option<Person>, StoreError> {
    let data: Option<String> = conn
        .prepare_cached("SELECT data FROM persons WHERE register_no = ?1")?
        .query_row([register_no.as_str()], |r| r.get(0))
        .optional()?;
    data.map(|d| {
        serde_json::from_str(&d).map_err(|e| StoreError::CorruptRow {
            table: "persons",
            key: register_no.to_string(),
            detail: e.to_string(),
        })
    })
    .transpose()
}

/// Every entity of a small current-state table (`key`, `data` columns).
fn load_all<T: serde::de::DeserializeOwned + Send>(
    conn: &Conn,
    table: &'static str,
    key: &str,
    mut f: impl FnMut(T),
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {key}, data FROM {table}"))?;
    let mut rows = stmt.query([])?;
    // Read first, then parsed on all cores: a national register has health requests by the
    // hundred thousand, and every open reads them.
    let mut raw: Vec<(String, String)> = Vec::new();
    while let Some(row) = rows.next()? {
        raw.push((row.get(0)?, row.get(1)?));
    }
    let values = crate::findings::par_map(&raw, |(key, data)| {
        serde_json::from_str(data)
            .map(Some)
            .map_err(|e| StoreError::CorruptRow {
                table,
                key: key.clone(),
                detail: e.to_string(),
            })
    })?;
    for value in values {
        f(value);
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// What takes time in writing a person's rows: their file as JSON and, while they are held,
/// the checks' view of it. Made apart from the writing, so a bulk load can make them on
/// another core.
pub(crate) struct PersonFiles {
    data: String,
    for_checks: Option<String>,
}

impl PersonFiles {
    pub(crate) fn of(person: &Person) -> PersonFiles {
        PersonFiles {
            data: to_json(person),
            for_checks: crate::project::for_checks_json(person),
        }
    }
}

/// [`write_person`] from the stays already saved (`saved_stays`), which it then updates.
pub(crate) fn write_person_tracked(
    conn: &Conn,
    saved_stays: &mut HashMap<RegisterNo, usize>,
    person: &Person,
    files: PersonFiles,
) -> Result<(), StoreError> {
    let saved = saved_stays.get(&person.register_no).copied().unwrap_or(0);
    let total = write_person(conn, person, saved, files)?;
    saved_stays.insert(person.register_no.clone(), total);
    Ok(())
}

/// Writes a person's row and the stays from the last saved one on (it may have been closed).
/// Returns the number of stays now saved.
fn write_person(
    conn: &Conn,
    person: &Person,
    saved: usize,
    files: PersonFiles,
) -> Result<usize, StoreError> {
    let w = person.whereabouts();
    let id = person.identity.as_ref();
    conn.prepare_cached(
        "INSERT INTO persons (register_no, status, facility, unit, cell, since_us,
         family_names, given_names, date_of_birth, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (register_no) DO UPDATE SET status = excluded.status,
         facility = excluded.facility, unit = excluded.unit, cell = excluded.cell,
         since_us = excluded.since_us, family_names = excluded.family_names,
         given_names = excluded.given_names, date_of_birth = excluded.date_of_birth,
         data = excluded.data",
    )?
    .execute(params![
        person.register_no.as_str(),
        w.as_ref().map_or("released", |w| w.status.as_str()),
        w.as_ref().and_then(|w| w.facility.as_ref()).map(FacilityCode::as_str),
        w.as_ref().and_then(|w| w.unit.as_ref()).map(|u| u.to_string()),
        w.as_ref().and_then(|w| w.cell.as_ref()).map(|c| c.to_string()),
        w.as_ref().map_or(0, |w| w.since.as_microsecond()),
        id.map(|i| i.family_names.as_str()),
        id.map(|i| i.given_names.as_str()),
        id.and_then(|i| i.date_of_birth).map(|d| d.to_string()),
        files.data,
    ])?;
    crate::project::held_person(conn, person, files.for_checks)?;
    let mut idx = 0usize;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO stays (register_no, idx, episode, status, facility, unit, cell,
         from_us, until_us, seq, recorded_us, until_recorded_us)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (register_no, idx) DO UPDATE SET episode = excluded.episode,
         status = excluded.status, facility = excluded.facility, unit = excluded.unit,
         cell = excluded.cell, from_us = excluded.from_us, until_us = excluded.until_us,
         seq = excluded.seq, recorded_us = excluded.recorded_us,
         until_recorded_us = excluded.until_recorded_us",
    )?;
    for episode in &person.episodes {
        for stay in &episode.stays {
            if idx + 1 >= saved {
                stmt.execute(params![
                    person.register_no.as_str(),
                    to_i64(idx as u64),
                    episode.number,
                    stay.status.as_str(),
                    stay.facility.as_ref().map(FacilityCode::as_str),
                    stay.cell.as_ref().map(|c| c.unit_path().to_string()),
                    stay.cell.as_ref().map(|c| c.to_string()),
                    stay.from.as_microsecond(),
                    stay.until.map(|t| t.as_microsecond()),
                    to_i64(stay.seq),
                    stay.recorded_at.as_microsecond(),
                    stay.until_recorded_at.map(|t| t.as_microsecond()),
                ])?;
            }
            idx += 1;
        }
    }
    Ok(idx)
}

#[cfg(unix)]
fn write_private_key(path: &Path, key: &str) -> Result<(), StoreError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| StoreError::Key {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    f.write_all(format!("{key}\n").as_bytes())?;
    f.sync_all()?;
    // The key's directory entry must survive a power loss too.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn write_private_key(path: &Path, key: &str) -> Result<(), StoreError> {
    std::fs::write(path, format!("{key}\n"))?;
    Ok(())
}

/// `meta.demo_clock`: "register_us wall_us", the demo's time and the real time it was set at.
fn parse_demo_clock(v: &str) -> Option<(Timestamp, Timestamp)> {
    let (a, b) = v.split_once(' ')?;
    Some((
        Timestamp::from_microsecond(a.parse().ok()?).ok()?,
        Timestamp::from_microsecond(b.parse().ok()?).ok()?,
    ))
}
