//! Building a whole register at once (the demo, benchmarks) without paying, per batch, for
//! what only matters to a register in use.
//!
//! While a bulk load is open on SQLite, the secondary indexes are dropped (each row goes into
//! its table's own B-tree only; `finish_bulk_load` sorts every index once, which is several
//! times cheaper than millions of random index inserts), the rollback journal is off and
//! nothing is synced (each page is written once, not to the WAL and again to the file), the
//! page cache is 1 GiB and persons stay in memory. The price: a crash or an error during the
//! load leaves the file undefined. So it is only for a register built from scratch into a
//! file that is thrown away when the build does not finish — and the file says so: the
//! dropped indexes are kept in `meta.bulk_load`, and `open` refuses a register that has it.
//!
//! On PostgreSQL a bulk load keeps the schema and the journal; it turns off the wait for the
//! commit's flush and, as on SQLite, keeps persons in memory and writes their rows once at
//! the end — so there too a failed load must be built again.

use super::{PersonFiles, Store, write_person_tracked};
use crate::db::Conn;
use crate::error::StoreError;
use habeas_domain::RegisterNo;

/// Indexes on the events that stay live: building any of them again would read the whole
/// events table once each, while appending costs little — their keys arrive in the order of
/// the log (time, or a few event types by time), or, for `events_subject` (by person), the
/// index is small enough to stay in the page cache (measured: keeping it saved ~4 s of
/// rebuild on the national demo register and cost less during the load).
const KEPT_DURING_BULK_LOAD: &[&str] = &[
    "events_subject",
    // Looked up for every command that has a source_id (`apply` gives each line one).
    "events_source",
    "events_recorded",
    "events_late",
    "events_movements",
    "events_agreement_admissions",
];

/// The `meta` key that marks a bulk load in progress: the indexes to build again, as JSON.
pub(crate) const BULK_LOAD_KEY: &str = "bulk_load";

/// Persons whose files are made together, on the second thread.
const FILES_BLOCK: usize = 512;

/// What ending a bulk load did, for progress messages.
#[derive(Debug, Default, Clone)]
pub struct BulkLoadFinished {
    /// Persons' rows written (each once).
    pub persons: usize,
    pub persons_time: std::time::Duration,
    /// Indexes built again (and the file synced).
    pub indexes: usize,
    pub indexes_time: std::time::Duration,
}

impl Store {
    /// Starts a bulk load (see the module's documentation: only for a register built from
    /// scratch into a file discarded if the build fails). End it with
    /// [`Store::finish_bulk_load`]; until then the register cannot be opened again.
    pub fn begin_bulk_load(&mut self) -> Result<(), StoreError> {
        if self.in_tx {
            return Err(StoreError::TransactionOpen);
        }
        if self.bulk_load {
            return Ok(());
        }
        self.person_cache_limit = usize::MAX;
        let Conn::Sqlite(c) = &self.conn else {
            self.conn.execute_batch("SET synchronous_commit = off")?;
            self.bulk_load = true;
            return Ok(());
        };
        let indexes: Vec<(String, String)> = {
            let mut stmt = c.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
                 ORDER BY name",
            )?;
            let all: Vec<(String, String)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            all.into_iter()
                .filter(|(name, _)| !KEPT_DURING_BULK_LOAD.contains(&name.as_str()))
                .collect()
        };
        let saved = serde_json::to_string(&indexes)
            .map_err(|e| StoreError::Ledger(format!("saving the index list: {e}")))?;
        // The mark and the drops in one transaction: the file never lacks an index unmarked.
        let tx = c.unchecked_transaction()?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            rusqlite::params![BULK_LOAD_KEY, saved],
        )?;
        for (name, _) in &indexes {
            tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
        }
        tx.commit()?;
        let mode: String = c.query_row("PRAGMA journal_mode=OFF", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("off") {
            return Err(StoreError::Ledger(format!(
                "bulk load: the journal stayed in mode {mode}"
            )));
        }
        c.execute_batch("PRAGMA synchronous=OFF; PRAGMA cache_size=-1048576;")?;
        self.bulk_load = true;
        Ok(())
    }

    /// Ends a bulk load: builds the indexes again, goes back to WAL with full sync, writes
    /// everything to disk and clears the mark. The register is then like any other.
    pub fn finish_bulk_load(&mut self) -> Result<BulkLoadFinished, StoreError> {
        let mut finished = BulkLoadFinished::default();
        if self.in_tx {
            return Err(StoreError::TransactionOpen);
        }
        if !self.bulk_load {
            return Ok(finished);
        }
        let started = std::time::Instant::now();
        if let Some(detail) = self.damaged.clone() {
            return Err(StoreError::Damaged { detail });
        }
        // The persons' rows, written once each, in key order (appends to the B-trees).
        let mut persons: Vec<_> = std::mem::take(&mut self.dirty.persons)
            .into_iter()
            .collect();
        persons.sort_unstable();
        self.conn.begin_log()?;
        self.in_tx = true;
        let written = self.write_all_persons(&persons);
        self.in_tx = false;
        if let Err(e) = written.and_then(|()| self.conn.execute_batch("COMMIT")) {
            self.damaged = Some(format!("finishing a bulk load: {e}"));
            return Err(e);
        }
        finished.persons = persons.len();
        finished.persons_time = started.elapsed();
        self.person_cache_limit = super::PERSON_CACHE_LIMIT;
        // Freeing a national register's persons takes seconds: on the other core, while
        // the indexes are built.
        let persons = std::mem::take(&mut self.state.persons);
        let stays = std::mem::take(&mut self.saved_stays);
        std::thread::spawn(move || drop((persons, stays)));
        let Conn::Sqlite(c) = &self.conn else {
            self.conn.execute_batch("SET synchronous_commit = on")?;
            self.bulk_load = false;
            return Ok(finished);
        };
        let started = std::time::Instant::now();
        let saved: String = c.query_row(
            "SELECT value FROM meta WHERE key = ?1",
            [BULK_LOAD_KEY],
            |r| r.get(0),
        )?;
        let indexes: Vec<(String, String)> =
            serde_json::from_str(&saved).map_err(|e| StoreError::CorruptRow {
                table: "meta",
                key: BULK_LOAD_KEY.into(),
                detail: e.to_string(),
            })?;
        // The sorter may use the second core.
        c.execute_batch("PRAGMA threads=2")?;
        let tx = c.unchecked_transaction()?;
        for (_, sql) in &indexes {
            tx.execute_batch(sql)?;
        }
        finished.indexes = indexes.len();
        tx.execute("DELETE FROM meta WHERE key = ?1", [BULK_LOAD_KEY])?;
        tx.commit()?;
        let mode: String = c.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Ledger(format!(
                "bulk load: the journal went to mode {mode}, not WAL"
            )));
        }
        super::configure(c)?;
        // Nothing of the load was synced: put the whole file on disk before anyone relies
        // on it.
        if let crate::DbLocation::Sqlite(file) = &self.location {
            std::fs::File::open(file)?.sync_all()?;
        }
        finished.indexes_time = started.elapsed();
        self.bulk_load = false;
        Ok(finished)
    }

    /// Writes the rows of every person named, in order: one thread makes their files
    /// (JSON), a block ahead of this one, which writes them.
    fn write_all_persons(&mut self, register_nos: &[RegisterNo]) -> Result<(), StoreError> {
        let persons = &self.state.persons;
        let conn = &self.conn;
        let saved_stays = &mut self.saved_stays;
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(&RegisterNo, PersonFiles)>>(2);
            scope.spawn(move || {
                for block in register_nos.chunks(FILES_BLOCK) {
                    let files = block
                        .iter()
                        .filter_map(|r| Some((r, PersonFiles::of(persons.get(r)?))))
                        .collect();
                    if tx.send(files).is_err() {
                        return;
                    }
                }
            });
            for block in rx {
                for (register_no, files) in block {
                    if let Some(person) = persons.get(register_no) {
                        write_person_tracked(conn, saved_stays, person, files)?;
                    }
                }
            }
            Ok(())
        })
    }
}
