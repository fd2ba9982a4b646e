//! habeas-store through its public API: batches, refusals, append-only tables, rebuild,
//! verification and proofs.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::PathBuf;

use habeas_domain::{RegisterNo, Submission, View};
use habeas_ledger::{
    Checkpoint, InclusionReceipt, WitnessRequest, leaf_hash, verify_consistency, verify_inclusion,
};
use habeas_store::{DbLocation, STATE_TABLES, Store};
use jiff::Timestamp;
use proptest::prelude::*;

fn now() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

// --- the two backends -------------------------------------------------------------------------

/// Every conformance test runs once per backend (the `sqlite` and `postgres` modules below).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests use: `HABEAS_TEST_PG`, else the CI server's `test`
/// database. Each test creates a database of its own from it and drops it at the end.
fn admin_url() -> String {
    std::env::var("HABEAS_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn admin() -> ::postgres::Client {
    let url = admin_url();
    ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {url} is unreachable ({e}): the PostgreSQL conformance tests fail rather than skip; start it (.ci/run does) or set HABEAS_TEST_PG"
        )
    })
}

/// A fresh, empty place for one register: a temporary folder, and for PostgreSQL a new
/// database `habeas_t_<random>` (dropped with this value). The key lives in the folder.
pub struct Db {
    pub backend: Backend,
    pub location: DbLocation,
    pub key: PathBuf,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl Db {
    pub fn new(backend: Backend) -> Db {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                let path = dir.path().join("register.db");
                Db {
                    backend,
                    key: habeas_store::key_path(&path),
                    location: DbLocation::Sqlite(path),
                    dir,
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let mut r = [0u8; 8];
                getrandom::fill(&mut r).unwrap();
                let name = format!("habeas_t_{:016x}", u64::from_le_bytes(r));
                admin()
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap();
                let base = admin_url();
                let base = &base[..base.rfind('/').unwrap()];
                Db {
                    backend,
                    key: dir.path().join("register.key"),
                    location: DbLocation::Postgres(format!("{base}/{name}")),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn create_with(&self, origin: &str) -> Store {
        let mut store = Store::create_at(&self.location, &self.key, origin).unwrap();
        store.set_clock(now);
        store
    }

    pub fn create(&self) -> Store {
        self.create_with("example.org/habeas/test")
    }

    pub fn open(&self) -> Store {
        Store::open_at(&self.location, &self.key).unwrap()
    }

    /// Runs SQL straight on the database, as someone with access to it but not to the key.
    pub fn raw(&self, sql: &str) -> Result<(), String> {
        match &self.location {
            DbLocation::Sqlite(p) => rusqlite::Connection::open(p)
                .unwrap()
                .execute_batch(sql)
                .map_err(|e| e.to_string()),
            DbLocation::Postgres(url) => ::postgres::Client::connect(url, ::postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .map_err(|e| {
                    e.as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().to_owned())
                }),
        }
    }

    /// Runs `sql` on a connection that bears the register's mark, as a program imitating the
    /// register could: the current-state tables' guards let it through (only `verify` tells).
    pub fn raw_as_register(&self, sql: &str) -> Result<(), String> {
        match &self.location {
            DbLocation::Sqlite(p) => {
                let conn = rusqlite::Connection::open(p).unwrap();
                conn.create_scalar_function(
                    habeas_store::WRITER_FUNCTION,
                    0,
                    rusqlite::functions::FunctionFlags::SQLITE_UTF8,
                    |_| Ok(1),
                )
                .unwrap();
                conn.execute_batch(sql).map_err(|e| e.to_string())
            }
            DbLocation::Postgres(_) => self.raw(&format!("SET habeas.writer = 'on'; {sql}")),
        }
    }

    /// The first column of every row, as text.
    pub fn texts(&self, sql: &str) -> Vec<String> {
        match &self.location {
            DbLocation::Sqlite(p) => {
                let conn = rusqlite::Connection::open(p).unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                stmt.query_map([], |r| {
                    Ok(match r.get::<_, rusqlite::types::Value>(0)? {
                        rusqlite::types::Value::Text(t) => t,
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        other => format!("{other:?}"),
                    })
                })
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
            }
            DbLocation::Postgres(url) => ::postgres::Client::connect(url, ::postgres::NoTls)
                .unwrap()
                .simple_query(sql)
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    ::postgres::SimpleQueryMessage::Row(r) => {
                        Some(r.get(0).unwrap_or("").to_owned())
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// Changes rows of append-only tables behind the register's back: the triggers are
    /// dropped (SQLite) or disabled (PostgreSQL) first, as the database's owner could.
    pub fn tamper(&self, tables: &[&str], sql: &str) {
        let mut script = String::new();
        for t in tables {
            match self.backend {
                Backend::Sqlite => script.push_str(&format!(
                    "DROP TRIGGER IF EXISTS {t}_no_update; DROP TRIGGER IF EXISTS {t}_no_delete;"
                )),
                Backend::Postgres => {
                    script.push_str(&format!("ALTER TABLE {t} DISABLE TRIGGER USER;"))
                }
            }
        }
        script.push_str(sql);
        self.raw(&script).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// `n` zero bytes as an SQL literal of this backend.
    pub fn zeros(&self, n: usize) -> String {
        match self.backend {
            Backend::Sqlite => format!("zeroblob({n})"),
            Backend::Postgres => format!("'\\x{}'::bytea", "00".repeat(n)),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            let _ = admin().batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Each test below is a function of the backend; this runs it on both.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[test] fn $name() { super::$name(super::Backend::Sqlite) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(super::Backend::Postgres) } )*
        }
    };
}

conformance!(
    refused_command_changes_nothing_and_atomic_batch_rolls_back,
    transfer_order_barred_by_court_order_is_refused_but_departure_is_recorded,
    log_tables_refuse_update_and_delete,
    state_tables_refuse_writes_from_anything_but_the_register,
    verify_detects_deleted_and_changed_access_log_entries,
    proofs_verify_against_the_signed_checkpoints,
    the_checks_example_triggers_every_check_exactly_once,
    verify_finds_every_kind_of_tampering,
    verify_names_the_first_event_rewritten_with_a_consistent_leaf,
    verify_compares_the_current_state_with_the_log,
    rebuild_repairs_a_corrupt_state_table,
    queries_answer_where_show_population_and_search,
    eight_concurrent_writers_never_fork_the_log,
    copies_keep_the_log_byte_for_byte,
    users_are_added_listed_and_disabled,
    duplicate_and_bad_names_and_short_passwords_are_refused,
    passwords_check_and_stop_working_when_disabled,
    tokens_work_once_issued_and_stop_after_disable,
    the_access_log_records_reads_and_refuses_update_and_delete,
    rollback_to_savepoint_undoes_one_request_and_keeps_its_neighbours,
    savepoints_are_refused_out_of_place,
    a_reader_sees_committed_data_only,
    statistics_findings_and_views_agree_with_sqlite,
    findings_at_a_past_date_use_only_what_was_known_then,
    findings_population_and_statistics_agree_at_any_past_time_in_either_view,
    roll_counts_at_a_past_date_count_a_stay_whose_end_was_not_known_yet,
    a_source_id_already_in_the_log_is_not_recorded_again,
);

use accounts::*;

fn sub(json: &str) -> Submission {
    Submission::from_json(json).unwrap_or_else(|r| panic!("{json}: {r}"))
}

const PLACES: &[&str] = &[
    r#"{"type":"facility.register","facility":"F1","name":"One","authority":"A","timezone":"UTC","official_capacity":10}"#,
    r#"{"type":"facility.register","facility":"F2","name":"Two","authority":"A","timezone":"UTC","official_capacity":10}"#,
    r#"{"type":"unit.register","facility":"F1","unit":"U","name":"U"}"#,
    r#"{"type":"unit.register","facility":"F2","unit":"U","name":"U"}"#,
    r#"{"type":"cell.register","cell":"F1/U/C1","places":2,"beds":1}"#,
    r#"{"type":"cell.register","cell":"F1/U/C2","places":2,"beds":2,"area_m2":9.5}"#,
    r#"{"type":"cell.register","cell":"F2/U/C1","places":4,"beds":4}"#,
    r#"{"type":"court_order.record","order":"CO-1","court":"Court","case":"K-1","kind":"bar_transfer","issued_at":"2025-01-01T00:00:00Z","applies_to":{"register_nos":["P0"]}}"#,
];

/// Every row of every current-state table, as text, sorted.
fn dump(store: &Store) -> Vec<(String, Vec<Vec<String>>)> {
    STATE_TABLES
        .iter()
        .map(|t| (t.to_string(), store.table_rows(t).unwrap()))
        .collect()
}

/// A random command over a small universe: five persons, three cells, two facilities.
fn command(t: u32) -> impl Strategy<Value = String> {
    let base = "2025-02-01T00:00:00Z"
        .parse::<Timestamp>()
        .unwrap()
        .checked_add(jiff::SignedDuration::from_mins(i64::from(t) * 10))
        .unwrap();
    // Times mostly move forward but sometimes step back, so out-of-order refusals happen.
    let at = (-25i64..10).prop_map(move |j| {
        base.checked_add(jiff::SignedDuration::from_mins(j))
            .unwrap()
    });
    let person = (0..5u8).prop_map(|i| format!("P{i}"));
    let cell = prop_oneof![Just("F1/U/C1"), Just("F1/U/C2"), Just("F2/U/C1")];
    let facility = prop_oneof![Just("F1"), Just("F2")];
    let other = (0..5u8).prop_map(|i| format!("P{i}"));
    (0..24u8, person, cell, facility, any::<bool>(), at, other).prop_map(move |(kind, p, c, f, flag, at, q)| {
        let until = at.checked_add(jiff::SignedDuration::from_mins(30)).unwrap();
        match kind {
            // Daily life and authorities: every projection table gets rows.
            12 => format!(r#"{{"type":"exercise.record","at":"{at}","until":"{until}","outdoors":{flag},"cells":["{c}"]}}"#),
            13 => format!(r#"{{"type":"contact.record","register_no":"{p}","at":"{at}","kind":"{}"}}"#, if flag { "family_visit" } else { "legal_visit" }),
            14 => format!(r#"{{"type":"notification.record","register_no":"{p}","at":"{at}","to":"family","about":"admission","declined_by_person":{flag}}}"#),
            15 => format!(r#"{{"type":"health.exam","register_no":"{p}","at":"{at}","injuries_observed":{flag}}}"#),
            16 => format!(r#"{{"type":"health.request","request":"H-{t}","register_no":"{p}","at":"{at}"}}"#),
            17 => format!(r#"{{"type":"health.seen","request":"H-{}","at":"{at}"}}"#, t.saturating_sub(1)),
            18 => format!(r#"{{"type":"separation.start","register_no":"{p}","at":"{at}","reason":"r","authorized_by":"d"}}"#),
            19 => format!(r#"{{"type":"separation.end","register_no":"{p}","at":"{at}"}}"#),
            20 => format!(r#"{{"type":"incident.record","incident":"I-{t}","kind":"use_of_force","register_nos":["{p}"],"at":"{at}","description":"d"}}"#),
            21 => format!(r#"{{"type":"count.record","unit":"F1/U","at":"{at}","counted":{}}}"#, u8::from(flag)),
            22 => format!(r#"{{"type":"settings.record","at":"{at}","country":"SLV","limits":{{"no-family-contact.days":{}}}}}"#, if flag { 20 } else { 30 }),
            23 => format!(r#"{{"type":"court_order.record","order":"CO-{t}","court":"C","case":"K","kind":"{}","issued_at":"{at}","applies_to":{{"register_nos":["{p}"]}}}}"#, if flag { "release" } else { "bar_transfer" }),
            0 | 1 => {
                let lb = if flag {
                    r#","legal_basis":{"kind":"court_order","authority":"Court","reference":"REF-1","issued_on":"2025-01-01","grounds":"g"}"#
                } else {
                    ""
                };
                format!(r#"{{"type":"admission.record","register_no":"{p}","facility":"{f}","at":"{at}","legal_status":"remand","person":{{"given_names":"G {p}","family_names":"F","sex":"other"}}{lb}}}"#)
            }
            2 | 3 => format!(r#"{{"type":"placement.record","register_no":"{p}","cell":"{c}","at":"{at}"}}"#),
            4 => format!(r#"{{"type":"absence.start","register_no":"{p}","at":"{at}","purpose":"hospital","destination":"H"}}"#),
            5 => format!(r#"{{"type":"absence.end","register_no":"{p}","at":"{at}"}}"#),
            6 => format!(r#"{{"type":"transfer.depart","register_no":"{p}","at":"{at}","to":{{"facility":"{f}"}}}}"#),
            7 => format!(r#"{{"type":"transfer.arrive","register_no":"{p}","facility":"{f}","at":"{at}"{}}}"#,
                if flag { format!(r#","cell":"{c}""#) } else { String::new() }),
            8 => format!(r#"{{"type":"release.record","register_no":"{p}","at":"{at}","reason":"bail","authority":"Court","reference":"R"}}"#),
            9 => format!(r#"{{"type":"legal_basis.record","register_no":"{p}","at":"{at}","legal_basis":{{"kind":"sentence","authority":"Court","reference":"S-{p}","issued_on":"2025-01-02","grounds":"g"}},"legal_status":"sentenced"}}"#),
            10 => if flag {
                format!(r#"{{"type":"death.record","register_no":"{p}","at":"{at}","place":"cell","circumstances":"c"}}"#)
            } else {
                format!(r#"{{"type":"transfer.depart","register_no":"{p}","at":"{at}","to":{{"jurisdiction":"Elsewhere","authority":"X"}}}}"#)
            },
            _ => {
                // One or two persons: an order naming several gives one event per person.
                let who = if flag && p != q { format!(r#""{p}","{q}""#) } else { format!(r#""{p}""#) };
                format!(r#"{{"type":"transfer.order","transfer":"T-{t}","register_nos":[{who}],"to":{{"facility":"{f}"}},"authority":"A","reference":"R","planned_at":"{at}"}}"#)
            }
        }
    })
}

fn commands() -> impl Strategy<Value = Vec<String>> {
    (1usize..60).prop_flat_map(|n| (0..n as u32).map(command).collect::<Vec<_>>())
}

/// Current state is a cache of the log: whatever valid or refused commands came in, and
/// however they were cut into batches, `rebuild` re-derives exactly the same tables.
fn rebuild_equals_incremental(
    backend: Backend,
    cmds: &[String],
    batch: usize,
    cache_limit: usize,
) -> Result<(), TestCaseError> {
    let db = Db::new(backend);
    let mut store = db.create();
    // A tiny cache forces persons to be reloaded from the tables between batches.
    store.person_cache_limit = cache_limit;
    // Small rebuild chunks make rebuild evict and reload persons too.
    store.rebuild_chunk = 7;
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    let (outcomes, _) = store.submit_batch(&places, true).unwrap();
    prop_assert!(outcomes.iter().all(Result::is_ok));
    let subs: Vec<Submission> = cmds.iter().map(|j| sub(j)).collect();
    // About a third of the random commands are accepted; the rest are refusals, which
    // must leave no trace either.
    for chunk in subs.chunks(batch) {
        store.submit_batch(chunk, false).unwrap();
    }
    let live = dump(&store);
    let size = store.log_size();
    prop_assert_eq!(store.rebuild().unwrap(), size);
    prop_assert_eq!(dump(&store), live);
    prop_assert!(store.verify(None).unwrap().ok());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn rebuild_equals_incremental_sqlite(cmds in commands(), batch in 1usize..8, cache_limit in 0usize..4) {
        rebuild_equals_incremental(Backend::Sqlite, &cmds, batch, cache_limit)?;
    }
}

proptest! {
    // A database per case: fewer cases on the server.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]
    #[test]
    fn rebuild_equals_incremental_postgres(cmds in commands(), batch in 1usize..8, cache_limit in 0usize..4) {
        rebuild_equals_incremental(Backend::Postgres, &cmds, batch, cache_limit)?;
    }
}

fn refused_command_changes_nothing_and_atomic_batch_rolls_back(backend: Backend) {
    let db = Db::new(backend);
    let mut store = db.create();
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    store.submit_batch(&places, false).unwrap();
    let before = dump(&store);
    let size = store.log_size();

    let good = sub(
        r#"{"type":"admission.record","register_no":"P0","facility":"F1","at":"2025-02-01T00:00:00Z","legal_status":"remand"}"#,
    );
    let bad = sub(
        r#"{"type":"placement.record","register_no":"P0","cell":"F1/U/C9","at":"2025-02-01T01:00:00Z"}"#,
    );
    let (outcomes, checkpoint) = store
        .submit_batch(&[good.clone(), bad.clone()], true)
        .unwrap();
    assert!(outcomes[0].is_ok());
    assert_eq!(outcomes[1].as_ref().unwrap_err().rule, "unknown-cell");
    assert!(checkpoint.is_none());
    assert_eq!(
        store.log_size(),
        size,
        "an atomic batch with a refusal appends nothing"
    );
    assert_eq!(dump(&store), before);
    assert!(
        store
            .whereabouts(&RegisterNo::parse("P0").unwrap())
            .unwrap()
            .is_none()
    );

    // Without atomic, the good command lands and the bad one changes nothing.
    let (outcomes, checkpoint) = store.submit_batch(&[good, bad], false).unwrap();
    assert!(outcomes[0].is_ok() && outcomes[1].is_err());
    assert_eq!(checkpoint.unwrap().size, size + 1);
}

fn transfer_order_barred_by_court_order_is_refused_but_departure_is_recorded(backend: Backend) {
    let db = Db::new(backend);
    let mut store = db.create();
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    store.submit_batch(&places, false).unwrap();
    store
        .submit_batch(&[sub(r#"{"type":"admission.record","register_no":"P0","facility":"F1","at":"2025-02-01T00:00:00Z","legal_status":"remand"}"#)], false)
        .unwrap();
    let (o, _) = store
        .submit_batch(&[sub(r#"{"type":"transfer.order","transfer":"T-1","register_nos":["P0"],"to":{"facility":"F2"},"authority":"A","reference":"R","planned_at":"2025-03-01T00:00:00Z"}"#)], false)
        .unwrap();
    let refusal = o[0].as_ref().unwrap_err();
    assert_eq!(refusal.rule, "barred-by-court-order");
    assert!(
        refusal.reason.contains("CO-1")
            && refusal.reason.contains("Court")
            && refusal.reason.contains("K-1")
    );
    // The departure itself is a fact: recorded, and left to the checks to report.
    let (o, _) = store
        .submit_batch(&[sub(r#"{"type":"transfer.depart","register_no":"P0","at":"2025-03-01T00:00:00Z","to":{"facility":"F2"}}"#)], false)
        .unwrap();
    assert!(o[0].is_ok());
    let w = store
        .whereabouts(&RegisterNo::parse("P0").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(w.status.as_str(), "in_transit");
}

fn log_tables_refuse_update_and_delete(backend: Backend) {
    let db = Db::new(backend);
    let mut store = db.create();
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    store.submit_batch(&places, false).unwrap();
    // Enough events for a stored tree hash (level 4: 16 leaves).
    let more: Vec<Submission> = (0..10)
        .map(|i| sub(&format!(r#"{{"type":"facility.register","facility":"X{i}","name":"X","authority":"A","timezone":"UTC","official_capacity":1}}"#)))
        .collect();
    store.submit_batch(&more, false).unwrap();
    drop(store);
    let mut refused = vec![
        "UPDATE events SET record = '{}' WHERE seq = 0".to_owned(),
        "DELETE FROM events WHERE seq = 0".into(),
        format!(
            "UPDATE tree SET hash = {} WHERE level = 4 AND idx = 0",
            db.zeros(32)
        ),
        "DELETE FROM tree".into(),
        "UPDATE checkpoints SET note = ''".into(),
        "DELETE FROM checkpoints".into(),
    ];
    if backend == Backend::Postgres {
        // PostgreSQL can also empty a table without deleting rows.
        refused
            .extend(["TRUNCATE events", "TRUNCATE tree", "TRUNCATE checkpoints"].map(String::from));
    }
    for sql in &refused {
        let err = db.raw(sql).unwrap_err();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    assert!(db.open().verify(None).unwrap().ok());
}

/// Hardening (#15, item 2): the current-state tables refuse writes from anything but the
/// register — the `sqlite3` shell or `psql`, say — so nobody erases a person from what the
/// register shows by hand; the register itself still writes them.
fn state_tables_refuse_writes_from_anything_but_the_register(backend: Backend) {
    let db = Db::new(backend);
    let store = small_register(&db);
    let before = dump(&store);
    drop(store);
    for table in habeas_store::STATE_TABLES {
        for sql in [
            format!("DELETE FROM {table}"),
            format!("UPDATE {table} SET recorded_us = 0"),
            format!("INSERT INTO {table} DEFAULT VALUES"),
        ] {
            let err = db.raw(&sql).unwrap_err();
            let refused = match backend {
                // The shell does not know the register's function: the guard cannot run.
                Backend::Sqlite => {
                    err.contains("no such function: habeas_writer")
                        || err.contains("only the register writes it")
                }
                Backend::Postgres => err.contains(&format!(
                    "{table} is current state derived from the log: only the register writes it"
                )),
            };
            // A column the table lacks is refused by the database before any guard.
            assert!(refused || err.contains("recorded_us"), "{sql}: {err}");
        }
    }
    if backend == Backend::Postgres {
        let err = db.raw("TRUNCATE persons").unwrap_err();
        assert!(err.contains("only the register writes it"), "{err}");
    }
    let mut store = db.open();
    assert_eq!(dump(&store), before, "nothing changed");
    // The register writes through its own guards.
    let (o, _) = store
        .submit_batch(&[sub(r#"{"type":"release.record","register_no":"P1","at":"2025-03-01T00:00:00Z","reason":"court_order","authority":"Juzgado 1","reference":"SYN-REL-1"}"#)], false)
        .unwrap();
    assert!(o[0].is_ok(), "{o:?}");
    assert_eq!(store.rebuild().unwrap(), 29);
    assert!(store.verify(None).unwrap().ok());
}

/// A SQLite register of schema 5 (before the state guards) gets them from its next writable
/// open, and says schema 6.
#[test]
fn a_sqlite_register_of_schema_5_gets_the_state_guards_on_open() {
    let db = Db::new(Backend::Sqlite);
    drop(small_register(&db));
    let guards = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%_by_register_only'";
    assert_eq!(db.texts(guards), ["60"]);
    let mut undo = String::new();
    for table in habeas_store::STATE_TABLES {
        for op in ["insert", "update", "delete"] {
            undo.push_str(&format!("DROP TRIGGER {table}_{op}_by_register_only;"));
        }
    }
    undo.push_str("UPDATE meta SET value = '5' WHERE key = 'schema_version'");
    db.raw(&undo).unwrap();
    assert_eq!(db.texts(guards), ["0"]);
    let store = db.open();
    assert_eq!(db.texts(guards), ["60"]);
    assert_eq!(
        db.texts("SELECT value FROM meta WHERE key = 'schema_version'"),
        [habeas_store::SCHEMA_VERSION]
    );
    let err = db.raw("DELETE FROM persons").unwrap_err();
    assert!(err.contains("no such function: habeas_writer"), "{err}");
    assert!(store.verify(None).unwrap().ok());
}

/// Hardening (#15, item 2): deleting access-log entries behind the register's back — the
/// newest included — or changing one, or removing the signed head, is named by `verify`.
fn verify_detects_deleted_and_changed_access_log_entries(backend: Backend) {
    let db = Db::new(backend);
    let store = small_register(&db);
    for i in 0..3 {
        let p = habeas_domain::RegisterNo::parse(&format!("P{i}")).unwrap();
        store.log_access("omb", Some(&p), "person.show").unwrap();
    }
    drop(store);
    let report = db.open().verify(None).unwrap();
    assert!(report.ok(), "{report:?}");
    // Each case on a fresh copy of the same register.
    let copy = || {
        let other = Db::new(backend);
        db.open().copy_to(&other.location, &other.key).unwrap();
        other
    };
    let cases: &[(&str, &str, &str)] = &[
        (
            "the newest entry deleted",
            "DELETE FROM access_log WHERE id = (SELECT max(id) FROM access_log)",
            "access log: 1 of the 3 entries its signed head counts are missing: entries were deleted",
        ),
        (
            "an entry changed",
            "UPDATE access_log SET \"user\" = 'someone.else' WHERE id = (SELECT min(id) FROM access_log)",
            "access log: its 3 entries do not hash to its signed head: entries were changed or replaced",
        ),
        (
            "the head removed with every entry",
            "DELETE FROM access_log; DELETE FROM meta WHERE key = 'access_log_head'",
            "access log: it holds 0 entries but its signed head is missing: it was removed",
        ),
    ];
    for (what, sql, expected) in cases {
        let other = copy();
        assert!(
            other.open().verify(None).unwrap().ok(),
            "{what}: the copy verifies"
        );
        other.tamper(&["access_log"], sql);
        let report = other.open().verify(None).unwrap();
        let whats: Vec<&str> = report.problems.iter().map(|p| p.what.as_str()).collect();
        assert_eq!(whats, [*expected], "{what}");
    }
}

fn proofs_verify_against_the_signed_checkpoints(backend: Backend) {
    let db = Db::new(backend);
    let mut store = db.create();
    let mut old_checkpoints = Vec::new();
    for chunk in PLACES.chunks(3) {
        let subs: Vec<Submission> = chunk.iter().map(|j| sub(j)).collect();
        let (_, cp) = store.submit_batch(&subs, false).unwrap();
        old_checkpoints.push(cp.unwrap());
    }
    let latest = store.latest_checkpoint().unwrap();
    let verifier = store.verifier();
    let (cp, _) = Checkpoint::open(&latest.note, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(cp.size, PLACES.len() as u64);
    for seq in 0..cp.size {
        let receipt =
            InclusionReceipt::parse(&store.inclusion_receipt(seq).unwrap().format()).unwrap();
        let leaf = store.leaf(seq).unwrap();
        verify_inclusion(
            &leaf_hash(&leaf),
            receipt.index,
            cp.size,
            &receipt.hashes,
            &cp.root,
        )
        .unwrap();
    }
    for old in &old_checkpoints {
        let body = WitnessRequest::parse(&store.consistency(old.size).unwrap().format()).unwrap();
        verify_consistency(old.size, cp.size, &body.proof, &old.root, &cp.root).unwrap();
    }
    assert!(store.inclusion_receipt(cp.size).is_err());
    assert!(store.consistency(cp.size + 1).is_err());
}

/// `examples/checks.jsonl` holds a small register in which every check of STANDARDS.md fails
/// exactly once. It is applied as if entered in real time (the clock follows each line's
/// `at`; one record is entered four days late), and the findings at the end are exactly the
/// expected ones: no check missing, none extra.
fn the_checks_example_triggers_every_check_exactly_once(backend: Backend) {
    use std::cell::Cell;
    use std::sync::{Arc, Mutex};
    let db = Db::new(backend);
    let mut store = db.create_with("example.org/habeas/checks");
    let clock = Arc::new(Mutex::new(
        "2025-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let c = clock.clone();
    store.set_clock(move || *c.lock().unwrap());
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/checks.jsonl"
    ))
    .unwrap();
    let refused = Cell::new(0);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        // A fact is entered a minute after it happened (an exercise session, after it ended).
        if let Some(at) = ["until", "at", "issued_at"]
            .iter()
            .find_map(|k| v[k].as_str())
        {
            let at: Timestamp = at.parse().unwrap();
            let mut now = clock.lock().unwrap();
            *now = (*now).max(at.checked_add(jiff::SignedDuration::from_mins(1)).unwrap());
        }
        let (outcomes, _) = store.submit_batch(&[sub(line)], false).unwrap();
        if let Err(r) = &outcomes[0] {
            refused.set(refused.get() + 1);
            eprintln!("refused: {line}\n  {r}");
        }
    }
    assert_eq!(refused.get(), 0);
    let end: Timestamp = "2025-02-15T12:00:00Z".parse().unwrap();
    *clock.lock().unwrap() = end;
    let findings = store
        .findings(Some(end), &habeas_store::FindingsFilter::default())
        .unwrap();
    let got: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f.check, f.subject.as_str()))
        .collect();
    let expected = vec![
        ("no-legal-basis", "SYN-C01"),
        ("over-detention", "SYN-C02"),
        ("release-order-ignored", "SYN-C03"),
        ("transfer-against-order", "SYN-C04"),
        ("whereabouts-unknown", "SYN-C05"),
        ("late-record", "SYN-C10"),
        ("count-discrepancy", "EXA/U2"),
        ("cell-over-capacity", "EXA/U1/C1"),
        ("bed-shortage", "EXA/U1/C2"),
        ("floor-space", "EXA/U1/C3"),
        ("facility-over-capacity", "EXB"),
        ("category-mixing", "EXA/U1/C4"),
        ("no-outdoor-exercise", "SYN-C22"),
        ("no-family-contact", "SYN-C23"),
        ("no-legal-access", "SYN-C24"),
        ("consular-access-missing", "SYN-C25"),
        ("family-not-notified", "SYN-C26"),
        ("no-medical-exam", "SYN-C27"),
        ("health-request-unanswered", "SYN-C28"),
        ("prolonged-solitary", "SYN-C29"),
        ("solitary-prohibited", "SYN-C30"),
        ("death-not-referred", "SYN-C31"),
        ("death-family-not-notified", "SYN-C32"),
        ("injury-not-referred", "SYN-C33"),
    ];
    assert_eq!(got, expected, "{findings:#?}");
    // Every check but log-integrity is there once; each names its evidence.
    let ids: Vec<&str> = habeas_domain::checks::CHECKS
        .iter()
        .map(|c| c.id)
        .filter(|c| *c != "log-integrity")
        .collect();
    assert_eq!(got.iter().map(|(c, _)| *c).collect::<Vec<_>>(), ids);
    // Every finding names the log entries that show it (#16).
    for f in &findings {
        assert!(!f.evidence.is_empty(), "no evidence: {f:?}");
    }
    let f = &findings[8];
    assert_eq!(
        f.detail,
        "cell EXA/U1/C2 holds 2 people for 1 beds since 2025-01-20T09:00:00Z"
    );

    // Evaluated as recorded when the late record was not yet entered, it is not a finding;
    // known now, the lateness had begun by then.
    let before = |view| {
        store
            .findings(
                Some("2025-02-13T00:00:00Z".parse().unwrap()),
                &habeas_store::FindingsFilter {
                    view,
                    ..Default::default()
                },
            )
            .unwrap()
    };
    assert!(
        !before(View::AsRecorded)
            .iter()
            .any(|f| f.check == "late-record")
    );
    assert!(
        before(View::KnownNow)
            .iter()
            .any(|f| f.check == "late-record")
    );

    // log-integrity: a signature of the latest checkpoint changed behind the register's back.
    drop(store);
    db.tamper(
        &["checkpoints"],
        "UPDATE checkpoints SET note = replace(note, '— example.org/habeas/checks ', '— example.org/habeas/checks A')
         WHERE size = (SELECT max(size) FROM checkpoints);",
    );
    let mut store = db.open();
    store.set_clock(move || end);
    let findings = store
        .findings(Some(end), &habeas_store::FindingsFilter::default())
        .unwrap();
    let integrity: Vec<_> = findings
        .iter()
        .filter(|f| f.check == "log-integrity")
        .collect();
    assert_eq!(integrity.len(), 1, "{findings:#?}");
    assert_eq!(findings.len(), expected.len() + 1);
}

// --- accounts, tokens and the access log ------------------------------------------------------

mod accounts {
    use habeas_domain::FacilityCode;
    use habeas_domain::authz::Role;
    use habeas_store::{StoreError, TOKEN_PREFIX};

    use super::{Backend, Db, now};

    const PASSWORD: &str = "correct horse battery";

    fn fc(s: &str) -> FacilityCode {
        FacilityCode::parse(s).unwrap()
    }

    pub fn users_are_added_listed_and_disabled(backend: Backend) {
        let db = Db::new(backend);
        let mut store = db.create();
        store
            .add_user("ana.admin", Role::Admin, &[], Some(PASSWORD))
            .unwrap();
        store
            .add_user(
                "omb-1",
                Role::Monitor,
                &[fc("F2"), fc("F1"), fc("F1")],
                None,
            )
            .unwrap();
        let users = store.list_users().unwrap();
        assert_eq!(users.len(), 2);
        let (ana, omb) = (&users[0], &users[1]);
        assert_eq!(ana.name, "ana.admin");
        assert_eq!(ana.role, Role::Admin);
        assert!(ana.facilities.is_empty());
        assert!(ana.has_password && !ana.disabled);
        assert_eq!(ana.created_at, now());
        assert_eq!(omb.name, "omb-1");
        assert_eq!(omb.role, Role::Monitor);
        assert_eq!(
            omb.facilities,
            [fc("F1"), fc("F2")],
            "sorted, without repeats"
        );
        assert!(!omb.has_password);
        let json = serde_json::to_value(omb).unwrap();
        assert_eq!(json["role"], "monitor");
        assert_eq!(json["facilities"], serde_json::json!(["F1", "F2"]));
        assert!(json.get("password_hash").is_none());

        store.disable_user("omb-1").unwrap();
        store.disable_user("omb-1").unwrap();
        assert!(store.list_users().unwrap()[1].disabled);
        let err = store.disable_user("nobody").unwrap_err();
        assert!(matches!(err, StoreError::NoSuchUser { .. }));
        assert_eq!(err.to_string(), "no user `nobody`");
    }

    pub fn duplicate_and_bad_names_and_short_passwords_are_refused(backend: Backend) {
        let db = Db::new(backend);
        let mut store = db.create();
        store.add_user("reg", Role::Registrar, &[], None).unwrap();
        let err = store.add_user("reg", Role::Officer, &[], None).unwrap_err();
        assert_eq!(err.to_string(), "user `reg` already exists");
        assert_eq!(store.list_users().unwrap()[0].role, Role::Registrar);

        let long = "a".repeat(65);
        for name in ["", "Ana", "ana admin", "ana/x", "ána", long.as_str()] {
            let err = store.add_user(name, Role::Officer, &[], None).unwrap_err();
            assert!(
                matches!(err, StoreError::BadUserName { .. }),
                "{name}: {err}"
            );
            assert!(err.to_string().starts_with("user name `"), "{err}");
        }
        store
            .add_user(&"a".repeat(64), Role::Officer, &[], None)
            .unwrap();

        let err = store
            .add_user("short", Role::Officer, &[], Some("elevenchars"))
            .unwrap_err();
        assert!(matches!(err, StoreError::BadPassword { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "password: must be at least 12 characters (got 11)"
        );
        assert_eq!(store.list_users().unwrap().len(), 2, "nothing added");
    }

    pub fn passwords_check_and_stop_working_when_disabled(backend: Backend) {
        let db = Db::new(backend);
        let mut store = db.create();
        store
            .add_user("nurse", Role::Health, &[fc("F1")], Some(PASSWORD))
            .unwrap();
        store
            .add_user("tokenonly", Role::Officer, &[], None)
            .unwrap();
        let user = store.check_password("nurse", PASSWORD).unwrap().unwrap();
        assert_eq!(user.name, "nurse");
        assert_eq!(user.role, Role::Health);
        assert_eq!(user.facilities, [fc("F1")]);
        assert!(
            store
                .check_password("nurse", "correct horse battery!")
                .unwrap()
                .is_none()
        );
        assert!(store.check_password("nobody", PASSWORD).unwrap().is_none());
        assert!(
            store
                .check_password("tokenonly", PASSWORD)
                .unwrap()
                .is_none()
        );
        // Stored as an argon2id PHC string, never the password.
        let hash = db.texts("SELECT password_hash FROM users WHERE name = 'nurse'")[0].clone();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!hash.contains(PASSWORD));

        store.disable_user("nurse").unwrap();
        assert!(store.check_password("nurse", PASSWORD).unwrap().is_none());
    }

    pub fn tokens_work_once_issued_and_stop_after_disable(backend: Backend) {
        let db = Db::new(backend);
        let mut store = db.create();
        store
            .add_user("officer.1", Role::Officer, &[], None)
            .unwrap();
        let token = store.new_token("officer.1").unwrap();
        assert!(token.starts_with(TOKEN_PREFIX), "{token}");
        assert_eq!(
            token.len(),
            TOKEN_PREFIX.len() + 43,
            "32 bytes, base64url, no padding"
        );
        assert!(
            token[TOKEN_PREFIX.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        let second = store.new_token("officer.1").unwrap();
        assert_ne!(token, second);
        for t in [&token, &second] {
            let user = store.user_for_token(t).unwrap().unwrap();
            assert_eq!(user.name, "officer.1");
            assert_eq!(user.role, Role::Officer);
        }
        // A wrong token, a changed one, or one without the prefix belongs to nobody.
        let mut changed = token.clone();
        changed.pop();
        changed.push(if token.ends_with('A') { 'B' } else { 'A' });
        for t in [
            changed.as_str(),
            "",
            "habeas_",
            &token[TOKEN_PREFIX.len()..],
        ] {
            assert!(store.user_for_token(t).unwrap().is_none(), "{t}");
        }
        // Only the SHA-256 is stored.
        let stored = db.texts("SELECT length(hash) FROM tokens");
        assert_eq!(stored, ["32", "32"]);

        let err = store.new_token("nobody").unwrap_err();
        assert!(matches!(err, StoreError::NoSuchUser { .. }));
        store.disable_user("officer.1").unwrap();
        assert!(store.user_for_token(&token).unwrap().is_none());
        assert!(store.user_for_token(&second).unwrap().is_none());
        let err = store.new_token("officer.1").unwrap_err();
        assert_eq!(err.to_string(), "user `officer.1` is disabled");
    }

    pub fn the_access_log_records_reads_and_refuses_update_and_delete(backend: Backend) {
        let db = Db::new(backend);
        let mut store = db.create();
        store.add_user("omb", Role::Monitor, &[], None).unwrap();
        let p1 = habeas_domain::RegisterNo::parse("P1").unwrap();
        store.log_access("omb", Some(&p1), "person.show").unwrap();
        store.set_clock(|| "2026-01-02T00:00:00Z".parse().unwrap());
        store.log_access("omb", None, "population").unwrap();
        let log = store.access_log(10).unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].what, "population", "newest first");
        assert_eq!(log[0].register_no, None);
        assert_eq!(log[0].at, "2026-01-02T00:00:00Z".parse().unwrap());
        assert_eq!(log[1].user, "omb");
        assert_eq!(log[1].register_no.as_ref(), Some(&p1));
        assert_eq!(log[1].at, now());
        assert!(log[0].id > log[1].id);
        assert_eq!(store.access_log(1).unwrap(), log[..1]);
        let json = serde_json::to_value(&log[1]).unwrap();
        assert_eq!(json["register_no"], "P1");
        assert_eq!(json["what"], "person.show");
        drop(store);

        for sql in [
            "UPDATE access_log SET \"user\" = 'someone.else'",
            "DELETE FROM access_log",
        ] {
            let err = db.raw(sql).unwrap_err();
            assert!(err.contains("append-only"), "{sql}: {err}");
        }
        let err = db.raw("DELETE FROM users").unwrap_err();
        assert!(err.contains("never deleted"), "{err}");
    }
}

// --- tampering, repair, queries -----------------------------------------------------------------

/// 28 events: the places (checkpoint at 8), ten facilities (at 18), then ten admissions and
/// placements, one batch each (19 … 28). Enough for a stored tree hash (level 4).
fn small_register(db: &Db) -> Store {
    let mut store = db.create();
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    store.submit_batch(&places, false).unwrap();
    let more: Vec<Submission> = (0..10)
        .map(|i| sub(&format!(r#"{{"type":"facility.register","facility":"X{i}","name":"X","authority":"A","timezone":"UTC","official_capacity":1}}"#)))
        .collect();
    store.submit_batch(&more, false).unwrap();
    for i in 0..5 {
        let (o, _) = store
            .submit_batch(&[sub(&format!(r#"{{"type":"admission.record","register_no":"P{i}","facility":"F1","at":"2025-02-01T0{i}:00:00Z","legal_status":"remand","person":{{"given_names":"Gabriela {i}","family_names":"Fuentes","sex":"other","date_of_birth":"1990-01-0{}"}}}}"#, i + 1))], false)
            .unwrap();
        assert!(o[0].is_ok(), "{o:?}");
        let (o, _) = store
            .submit_batch(&[sub(&format!(r#"{{"type":"placement.record","register_no":"P{i}","cell":"F1/U/C{}","at":"2025-02-01T0{i}:30:00Z"}}"#, i % 2 + 1))], false)
            .unwrap();
        assert!(o[0].is_ok(), "{o:?}");
    }
    assert_eq!(store.log_size(), 28);
    store
}

fn verify_finds_every_kind_of_tampering(backend: Backend) {
    let cases: &[(&str, &[&str], &str, u64)] = &[
        (
            "record",
            &["events"],
            "UPDATE events SET record = replace(record, 'authority', 'authorities') WHERE seq = 10",
            10,
        ),
        (
            "salt",
            &["events"],
            "UPDATE events SET salt = ZEROS WHERE seq = 12",
            12,
        ),
        (
            "leaf",
            &["events"],
            "UPDATE events SET leaf = (SELECT leaf FROM events WHERE seq = 14) WHERE seq = 13",
            13,
        ),
        (
            "stored tree hash",
            &["tree"],
            "UPDATE tree SET hash = ZEROS WHERE level = 4 AND idx = 0",
            0,
        ),
        ("deleted tree hash", &["tree"], "DELETE FROM tree", 0),
        (
            "checkpoint note",
            &["checkpoints"],
            "UPDATE checkpoints SET note = replace(note, 'habeas/test', 'habeas/tesT') WHERE size = 18",
            17,
        ),
        (
            "checkpoint root",
            &["checkpoints"],
            "UPDATE checkpoints SET root = ZEROS WHERE size = 18",
            17,
        ),
        (
            "last event deleted",
            &["events"],
            "DELETE FROM events WHERE seq = 27",
            27,
        ),
        (
            "event removed from the middle",
            &["events"],
            "DELETE FROM events WHERE seq = 3",
            3,
        ),
    ];
    for (what, tables, sql, seq) in cases {
        let db = Db::new(backend);
        let store = small_register(&db);
        assert!(store.verify(None).unwrap().ok());
        drop(store);
        db.tamper(tables, &sql.replace("ZEROS", &db.zeros(32)));
        let mut store = db.open();
        let report = store.verify(None).unwrap();
        assert_eq!(report.first_bad_seq(), Some(*seq), "{what}: {report:?}");
        if *what == "deleted tree hash" || *what == "last event deleted" {
            // A register whose tree head does not match what it signed refuses writes.
            let err = store
                .submit_batch(&[sub(PLACES[0])], false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("damaged"), "{what}: {err}");
        }
    }
}

/// 84 facility registrations, checkpoints at 40 (one batch of 40), 41 … 60 (one event
/// each), 80 (one batch of 20), 81 … 84.
fn checkpointed_register(db: &Db) -> Store {
    let mut store = db.create();
    let facility = |i: u64| {
        sub(&format!(
            r#"{{"type":"facility.register","facility":"X{i}","name":"X{i}","authority":"A","timezone":"UTC","official_capacity":1}}"#
        ))
    };
    let mut next = 0u64;
    let mut batch = |store: &mut Store, n: u64| {
        let subs: Vec<Submission> = (next..next + n).map(facility).collect();
        next += n;
        let (o, _) = store.submit_batch(&subs, false).unwrap();
        assert!(o.iter().all(|o| o.is_ok()), "{o:?}");
    };
    batch(&mut store, 40);
    for _ in 0..20 {
        batch(&mut store, 1);
    }
    batch(&mut store, 20);
    for _ in 0..4 {
        batch(&mut store, 1);
    }
    assert_eq!(store.log_size(), 84);
    store
}

/// Rewrites event `seq` as someone with the database but not the key would: a changed
/// record whose commitment and leaf are recomputed so that they agree, and optionally every
/// stored tree hash recomputed from the new leaves (the triggers dropped or disabled first).
fn rewrite_event(db: &Db, seq: u64, recompute_tree: bool) {
    let store = db.open();
    let (record, salt) = store.record(seq).unwrap();
    let changed = record.replace(r#""name":"X"#, r#""name":"Z"#);
    assert_ne!(changed, record);
    let leaf = habeas_store::leaf_bytes(seq, &salt, changed.as_bytes());
    let mut leaves: Vec<Vec<u8>> = (0..store.log_size())
        .map(|s| store.leaf(s).unwrap())
        .collect();
    drop(store);
    leaves[seq as usize] = leaf.clone();
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let blob = |b: &[u8]| match db.backend {
        Backend::Sqlite => format!("x'{}'", hex(b)),
        Backend::Postgres => format!("'\\x{}'::bytea", hex(b)),
    };
    let mut sql = format!(
        "UPDATE events SET record = '{}', leaf = {} WHERE seq = {seq};",
        changed.replace('\'', "''"),
        blob(&leaf)
    );
    if recompute_tree {
        let mut frontier = habeas_ledger::Frontier::empty();
        for l in &leaves {
            for (level, idx, hash) in frontier.append(leaf_hash(l)) {
                if level >= 4 {
                    sql.push_str(&format!(
                        "UPDATE tree SET hash = {} WHERE level = {level} AND idx = {idx};",
                        blob(&hash)
                    ));
                }
            }
        }
    }
    db.tamper(&["events", "tree"], &sql);
}

fn verify_names_the_first_event_rewritten_with_a_consistent_leaf(backend: Backend) {
    // (altered event, stored tree hashes recomputed too, the range verify must name)
    let cases: &[(u64, bool, (u64, u64))] = &[
        // First event: the tile 0..15 bounds it; with the tree recomputed only the first
        // checkpoint (40) does.
        (0, false, (0, 15)),
        (0, true, (0, 39)),
        // Inside a 16-leaf tile, in the first batch.
        (20, false, (16, 31)),
        (20, true, (0, 39)),
        (39, false, (32, 39)),
        // A checkpoint after every event: pinpointed whatever the tree says.
        (40, false, (40, 40)),
        (45, false, (45, 45)),
        (45, true, (45, 45)),
        (59, true, (59, 59)),
        // Inside the batch of 20 (checkpoints 60 and 80), across the tiles 48..63 and 64..79.
        (62, false, (60, 63)),
        (62, true, (60, 79)),
        (70, false, (64, 79)),
        (70, true, (60, 79)),
        // The last event (its tile is not complete, so no stored hash).
        (83, false, (83, 83)),
        (83, true, (83, 83)),
    ];
    for &(seq, recompute_tree, (lo, hi)) in cases {
        let db = Db::new(backend);
        let store = checkpointed_register(&db);
        assert!(store.verify(None).unwrap().ok());
        drop(store);
        rewrite_event(&db, seq, recompute_tree);
        let report = db.open().verify(None).unwrap();
        let case = format!("event {seq}, tree recomputed: {recompute_tree}: {report:#?}");
        assert_eq!(report.first_bad_seq(), Some(lo), "{case}");
        assert_eq!(report.first_bad_range(), Some((lo, hi)), "{case}");
        let first = &report.problems[0].what;
        if lo == hi {
            assert!(first.contains(&format!("event {lo} was altered")), "{case}");
        } else {
            assert!(
                first.contains(&format!("one of events {lo}–{hi} was altered")),
                "{case}"
            );
        }
    }
}

fn verify_compares_the_current_state_with_the_log(backend: Backend) {
    // Erasing a person from what the register shows: population and locator lose them.
    let db = Db::new(backend);
    let mut store = small_register(&db);
    drop(store);
    db.raw_as_register("DELETE FROM persons WHERE register_no = 'P2'; DELETE FROM stays WHERE register_no = 'P2'; DELETE FROM held_persons WHERE register_no = 'P2'")
        .unwrap();
    store = db.open();
    let report = store.verify(None).unwrap();
    assert!(!report.ok(), "{report:?}");
    let whats: Vec<&str> = report.problems.iter().map(|p| p.what.as_str()).collect();
    for table in ["persons", "held_persons"] {
        assert!(
            whats.contains(&format!("current state: {table}: P2 (events 22, 23) is in the log but missing from the table").as_str()),
            "{table}: {whats:#?}"
        );
    }
    assert!(
        whats
            .iter()
            .any(|w| w.starts_with("current state: stays: P2/")
                && w.ends_with("is in the log but missing from the table")),
        "{whats:#?}"
    );
    // seq = the first event concerning the person: the admission.
    assert_eq!(report.first_bad_seq(), Some(22), "{report:?}");
    assert_eq!(store.rebuild().unwrap(), 28);
    assert!(store.verify(None).unwrap().ok());

    // A changed row and a row the log never made.
    drop(store);
    db.raw_as_register("UPDATE cells SET places = 99 WHERE path = 'F1/U/C1'; INSERT INTO facilities (code, data) VALUES ('GHOST', '{}')")
        .unwrap();
    let report = db.open().verify(None).unwrap();
    let whats: Vec<&str> = report.problems.iter().map(|p| p.what.as_str()).collect();
    assert!(
        whats.contains(&"current state: cells: F1/U/C1 differs from what the log says"),
        "{whats:#?}"
    );
    assert!(
        whats.contains(
            &"current state: facilities: GHOST is in the table but not in the log (extra)"
        ),
        "{whats:#?}"
    );
}

fn rebuild_repairs_a_corrupt_state_table(backend: Backend) {
    let db = Db::new(backend);
    let mut store = small_register(&db);
    let before = dump(&store);
    db.raw_as_register("UPDATE persons SET data = 'not json' WHERE register_no = 'P1'; DELETE FROM stays WHERE register_no = 'P2'")
        .unwrap();
    let p1 = RegisterNo::parse("P1").unwrap();
    let err = store.person(&p1).unwrap_err().to_string();
    assert!(err.contains("persons row P1"), "{err}");
    assert_eq!(store.rebuild().unwrap(), 28);
    assert_eq!(dump(&store), before);
    assert!(store.person(&p1).unwrap().is_some());
}

fn queries_answer_where_show_population_and_search(backend: Backend) {
    let db = Db::new(backend);
    let store = small_register(&db);
    let p3 = RegisterNo::parse("P3").unwrap();
    let w = store.whereabouts(&p3).unwrap().unwrap();
    assert_eq!(w.status.as_str(), "in_custody");
    assert_eq!(w.cell.unwrap().to_string(), "F1/U/C2");
    let file = store.person_file(&p3).unwrap().unwrap();
    assert_eq!(
        file.events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [24, 25]
    );
    assert!(
        store
            .person_file(&RegisterNo::parse("P9").unwrap())
            .unwrap()
            .is_none()
    );
    let population = store.population(None, View::KnownNow).unwrap();
    assert_eq!(population.total, 5);
    let f1 = &population.facilities[0];
    assert_eq!((f1.facility.as_str(), f1.held), ("F1", 5));
    assert_eq!(f1.units[0].held, 5);
    let past = store
        .population(
            Some("2025-02-01T02:10:00Z".parse().unwrap()),
            View::KnownNow,
        )
        .unwrap();
    assert_eq!(past.total, 3);
    // Prefix search ignores ASCII case on both backends; LIKE wildcards are literal.
    let hits = store.search_persons("fUEN", 10).unwrap();
    assert_eq!(hits.len(), 5);
    assert_eq!(hits[0].register_no, "P0");
    assert_eq!(store.search_persons("P2", 10).unwrap().len(), 1);
    assert!(store.search_persons("%", 10).unwrap().is_empty());
    assert_eq!(store.search_persons("Gab", 2).unwrap().len(), 2);
    let found = store.find_by_identity("FUENTES", "1990-01-03").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].register_no, "P2");
}

// --- concurrency ---------------------------------------------------------------------------------

/// Eight writers, each with its own connection (its own `Store`), apply commands at once. The
/// log is serialized: no event is lost or written twice, every checkpoint any writer signed
/// is consistent with the latest (so with every other), and `verify` passes.
fn eight_concurrent_writers_never_fork_the_log(backend: Backend) {
    const WRITERS: usize = 8;
    const PER_WRITER: usize = 12;
    let db = Db::new(backend);
    let mut store = db.create();
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    store.submit_batch(&places, false).unwrap();
    // One person every writer moves: a writer that kept a stale copy of them would write it
    // back over the others' moves (the rebuild comparison at the end would show it).
    let (o, _) = store
        .submit_batch(&[sub(r#"{"type":"admission.record","register_no":"SHARED","facility":"F1","at":"2025-01-01T00:00:00Z","legal_status":"remand"}"#)], false)
        .unwrap();
    assert!(o[0].is_ok());
    let base = store.log_size();
    let shared_moves = std::sync::atomic::AtomicU64::new(0);
    let checkpoints: Vec<Vec<habeas_store::SignedCheckpoint>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (db, shared_moves) = (&db, &shared_moves);
                s.spawn(move || {
                    let mut store = db.open();
                    store.set_clock(now);
                    let mut signed = Vec::new();
                    for i in 0..PER_WRITER {
                        let p = format!("W{w}-{i}");
                        // Admissions by one writer, a count of the shared unit (state every
                        // writer changes) and a placement in a shared cell.
                        let batch = [
                            sub(&format!(r#"{{"type":"admission.record","register_no":"{p}","facility":"F1","at":"2025-02-01T00:00:00Z","legal_status":"remand"}}"#)),
                            sub(&format!(r#"{{"type":"placement.record","register_no":"{p}","cell":"F1/U/C1","at":"2025-02-01T01:00:00Z"}}"#)),
                        ];
                        let (outcomes, cp) = store.submit_batch(&batch, true).unwrap();
                        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
                        signed.push(cp.unwrap());
                        // Moves of the shared person, at increasing times; one that comes
                        // in after a later one is refused, which changes nothing.
                        let minute = 1 + w * PER_WRITER + i;
                        let cell = 1 + (w + i) % 2;
                        let (outcomes, cp) = store
                            .submit_batch(&[sub(&format!(r#"{{"type":"placement.record","register_no":"SHARED","cell":"F1/U/C{cell}","at":"2025-01-02T{:02}:{:02}:00Z"}}"#, minute / 60, minute % 60))], true)
                            .unwrap();
                        if outcomes[0].is_ok() {
                            shared_moves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            signed.push(cp.unwrap());
                        }
                    }
                    signed
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut store = db.open();
    let shared_moves = shared_moves.into_inner();
    let expected = base + (WRITERS * PER_WRITER * 2) as u64 + shared_moves;
    assert_eq!(store.log_size(), expected);
    // Every event once: each person's two events, nothing else, seq contiguous.
    let mut subjects: Vec<String> = (base..expected)
        .map(|seq| {
            let (record, _) = store.record(seq).unwrap();
            let v: serde_json::Value = serde_json::from_str(&record).unwrap();
            assert_eq!(v["seq"], seq);
            format!("{} {}", v["event"]["register_no"], v["event"]["type"])
        })
        .collect();
    subjects.retain(|s| !s.starts_with("\"SHARED\""));
    subjects.sort();
    let before = subjects.len();
    subjects.dedup();
    assert_eq!(subjects.len(), before, "an event was written twice");
    assert_eq!(subjects.len(), WRITERS * PER_WRITER * 2);
    // Each writer's checkpoints, and all of them together, are distinct sizes, each
    // consistent with the latest signed tree.
    let mut all: Vec<_> = checkpoints.into_iter().flatten().collect();
    all.sort_by_key(|c| c.size);
    let sizes: std::collections::BTreeSet<u64> = all.iter().map(|c| c.size).collect();
    assert_eq!(sizes.len(), all.len(), "two commits signed the same size");
    let latest = store.latest_checkpoint().unwrap();
    assert_eq!(latest.size, expected);
    for old in &all {
        let body = store.consistency(old.size).unwrap();
        verify_consistency(old.size, latest.size, &body.proof, &old.root, &latest.root)
            .unwrap_or_else(|e| panic!("checkpoint at {} forks: {e}", old.size));
    }
    let report = store.verify(None).unwrap();
    assert!(report.ok(), "{report:?}");
    assert_eq!(report.checkpoints, 2 + all.len() as u64);
    // The current state is what the log says.
    let live = dump(&store);
    store.rebuild().unwrap();
    assert_eq!(dump(&store), live);
    let held = store.population(None, View::KnownNow).unwrap().facilities[0].units[0].held;
    assert_eq!(held, (WRITERS * PER_WRITER) as u64 + 1);
    let file = store
        .person_file(&RegisterNo::parse("SHARED").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(file.events.len() as u64, 1 + shared_moves);
    assert!(shared_moves > 0);
}

// --- copy between backends -----------------------------------------------------------------------

const LOG_TABLES: &[&str] = &[
    "events",
    "tree",
    "checkpoints",
    "users",
    "tokens",
    "access_log",
];

fn same_tables(a: &Store, b: &Store) {
    for t in LOG_TABLES.iter().chain(STATE_TABLES) {
        assert_eq!(
            a.table_rows(t).unwrap(),
            b.table_rows(t).unwrap(),
            "table {t}"
        );
    }
}

/// A copy to the other backend and back holds the same log, byte for byte, the same
/// accounts and the same state; the same receipts and consistency proofs come out of it.
fn copies_keep_the_log_byte_for_byte(backend: Backend) {
    use habeas_domain::authz::Role;
    let other = match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    };
    let source_db = Db::new(backend);
    let mut source = small_register(&source_db);
    source
        .add_user("ana.admin", Role::Admin, &[], Some("correct horse battery"))
        .unwrap();
    source.new_token("ana.admin").unwrap();
    source
        .log_access(
            "ana.admin",
            Some(&RegisterNo::parse("P1").unwrap()),
            "person.show",
        )
        .unwrap();
    let target_db = Db::new(other);
    let copy = source.copy_to(&target_db.location, &target_db.key).unwrap();
    same_tables(&source, &copy);
    assert_eq!(copy.verifier_key(), source.verifier_key());
    assert_eq!(
        copy.latest_checkpoint().unwrap(),
        source.latest_checkpoint().unwrap()
    );
    for seq in [0, 13, 27] {
        assert_eq!(
            copy.inclusion_receipt(seq).unwrap().format(),
            source.inclusion_receipt(seq).unwrap().format()
        );
    }
    for old in [8, 18, 23] {
        assert_eq!(
            copy.consistency(old).unwrap().format(),
            source.consistency(old).unwrap().format()
        );
    }
    assert!(
        copy.check_password("ana.admin", "correct horse battery")
            .unwrap()
            .is_some()
    );

    // And back, into a third register on the first backend.
    let back_db = Db::new(backend);
    let back = copy.copy_to(&back_db.location, &back_db.key).unwrap();
    same_tables(&source, &back);

    // A copy never overwrites a register, and never takes another key.
    let err = source
        .copy_to(&target_db.location, &target_db.key)
        .err()
        .unwrap();
    assert!(err.to_string().contains("already exists"), "{err}");
    let stranger = Db::new(other);
    let unrelated_db = Db::new(backend);
    let unrelated = unrelated_db.create_with("example.org/other");
    std::fs::copy(unrelated.key_file(), &stranger.key).unwrap();
    let err = source
        .copy_to(&stranger.location, &stranger.key)
        .err()
        .unwrap();
    assert!(err.to_string().contains("another key"), "{err}");
}

// --- PostgreSQL only -----------------------------------------------------------------------------

/// Opening applies no migration to an up-to-date register and refuses one migrated by a newer
/// habeas; a PostgreSQL database without a register is "not found", and never changed.
#[test]
fn postgres_migrations_are_recorded_and_newer_schemas_refused() {
    let db = Db::new(Backend::Postgres);
    let err = Store::open_at(&db.location, &db.key).err().unwrap();
    assert!(
        err.to_string().starts_with("no register at postgres://"),
        "{err}"
    );
    assert!(
        db.texts("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            .is_empty()
    );
    drop(db.create());
    assert_eq!(
        db.texts("SELECT version FROM schema_migrations ORDER BY version"),
        ["1", "2", "3", "4"]
    );
    drop(db.open());
    assert_eq!(db.texts("SELECT count(*) FROM schema_migrations"), ["4"]);
    let err = Store::create_at(&db.location, &db.dir.path().join("k2"), "example.org/x")
        .err()
        .unwrap();
    assert!(err.to_string().contains("already exists"), "{err}");
    db.raw("INSERT INTO schema_migrations VALUES (99, 'later')")
        .unwrap();
    let err = Store::open_at(&db.location, &db.key).err().unwrap();
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

// --- group commit and read handles ---------------------------------------------------------

fn admit(p: &str) -> Submission {
    sub(&format!(
        r#"{{"type":"admission.record","register_no":"{p}","facility":"F1","at":"2025-02-01T00:00:00Z","legal_status":"remand"}}"#
    ))
}

/// Group commit: three requests in one transaction, the middle one undone at its savepoint
/// after part of it was applied. The others land with one checkpoint, and nothing of the
/// middle one stays — in the tables, the log, or the in-memory state.
fn rollback_to_savepoint_undoes_one_request_and_keeps_its_neighbours(backend: Backend) {
    let db = Db::new(backend);
    let mut store = db.create();
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    store.submit_batch(&places, false).unwrap();
    let start = store.log_size();

    store.begin().unwrap();
    // Request 1: admits P1.
    store.savepoint().unwrap();
    let first = store.submit(&admit("P1")).unwrap().unwrap();
    store.release_savepoint().unwrap();
    assert!(
        matches!(store.savepoint(), Ok(())),
        "a new savepoint after release"
    );
    // Request 2: registers a facility, admits P2 there, then a refused placement.
    let f3 = sub(
        r#"{"type":"facility.register","facility":"F3","name":"Three","authority":"A","timezone":"UTC","official_capacity":5}"#,
    );
    assert!(store.submit(&f3).unwrap().is_ok());
    assert!(store.submit(&admit("P2")).unwrap().is_ok());
    let refused = store
        .submit(&sub(
            r#"{"type":"placement.record","register_no":"P2","cell":"F1/U/C9","at":"2025-02-01T01:00:00Z"}"#,
        ))
        .unwrap();
    assert_eq!(refused.unwrap_err().rule, "unknown-cell");
    store.rollback_to_savepoint().unwrap();
    // Request 3: admits P3; its seq follows request 1's, as if request 2 never was.
    store.savepoint().unwrap();
    let third = store.submit(&admit("P3")).unwrap().unwrap();
    store.release_savepoint().unwrap();
    assert_eq!(first, vec![start]);
    assert_eq!(third, vec![start + 1]);
    let checkpoint = store.commit().unwrap().unwrap();
    assert_eq!(checkpoint.size, start + 2, "one checkpoint for the group");

    let p = |s: &str| RegisterNo::parse(s).unwrap();
    assert!(store.whereabouts(&p("P1")).unwrap().is_some());
    assert!(store.whereabouts(&p("P2")).unwrap().is_none());
    assert!(store.whereabouts(&p("P3")).unwrap().is_some());
    assert!(!store.state().facilities.keys().any(|f| f.as_str() == "F3"));
    // The in-memory state forgot request 2 too: F3 and P2 can be recorded anew.
    let (o, _) = store.submit_batch(&[f3, admit("P2")], true).unwrap();
    assert!(o.iter().all(Result::is_ok), "{o:?}");
    assert!(store.verify(None).unwrap().ok());
    let live = dump(&store);
    store.rebuild().unwrap();
    assert_eq!(dump(&store), live, "the tables are a cache of the log");
}

fn savepoints_are_refused_out_of_place(backend: Backend) {
    let db = Db::new(backend);
    let mut store = db.create();
    assert!(matches!(
        store.savepoint(),
        Err(habeas_store::StoreError::NoTransaction)
    ));
    store.begin().unwrap();
    assert!(matches!(
        store.rollback_to_savepoint(),
        Err(habeas_store::StoreError::NoSavepoint)
    ));
    store.savepoint().unwrap();
    assert!(matches!(
        store.savepoint(),
        Err(habeas_store::StoreError::SavepointOpen)
    ));
    store.rollback().unwrap();
    // A rollback ends the savepoint with the transaction.
    store.begin().unwrap();
    store.savepoint().unwrap();
    store.commit().unwrap();
}

/// A read-only handle sees what is committed, never a transaction in progress, and its
/// in-memory state follows the log.
fn a_reader_sees_committed_data_only(backend: Backend) {
    let db = Db::new(backend);
    let mut store = db.create();
    let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
    store.submit_batch(&places, false).unwrap();
    let mut reader = store.open_reader().unwrap();
    let size = store.log_size();

    store.begin().unwrap();
    store.submit(&admit("P1")).unwrap().unwrap();
    store.submit(&sub(
        r#"{"type":"facility.register","facility":"F3","name":"Three","authority":"A","timezone":"UTC","official_capacity":5}"#,
    )).unwrap().unwrap();
    let seen = reader
        .read_current(|r| {
            Ok::<_, habeas_store::StoreError>((
                r.latest_checkpoint()?.size,
                r.whereabouts(&RegisterNo::parse("P1").unwrap())?,
                r.population(None, View::KnownNow)?.facilities.len(),
            ))
        })
        .unwrap();
    assert_eq!(seen, (size, None, 2), "nothing uncommitted is visible");
    store.commit().unwrap();

    let (cp, w, facilities) = reader
        .read_current(|r| {
            Ok::<_, habeas_store::StoreError>((
                r.latest_checkpoint()?,
                r.whereabouts(&RegisterNo::parse("P1").unwrap())?,
                r.population(None, View::KnownNow)?.facilities.len(),
            ))
        })
        .unwrap();
    assert_eq!(cp.size, size + 2);
    assert!(w.is_some());
    assert_eq!(facilities, 3, "the reader's state caught up with the log");
    assert_eq!(reader.log_size(), size + 2);
    // The receipt it serves verifies against the checkpoint it serves.
    let receipt = reader.read_snapshot(|r| r.inclusion_receipt(size)).unwrap();
    assert_eq!(receipt.checkpoint, cp.note);
    // And it cannot write.
    assert!(reader.submit_batch(&[admit("P9")], true).is_err());
    assert!(
        store
            .whereabouts(&RegisterNo::parse("P9").unwrap())
            .unwrap()
            .is_none()
    );
}

// --- statistics, findings projections and web views ------------------------------------------

/// `examples/stats.jsonl` applied live (the clock follows each line) on `db`'s backend.
/// A bulk load (the demo's and the benchmarks' way to build a register) leaves exactly what
/// the same commands applied batch by batch leave: the same records, current-state tables
/// and (SQLite) indexes, and a log that verifies. While it runs, the register cannot be
/// opened and nothing can be partly undone.
fn bulk_load_equals_incremental(
    backend: Backend,
    cmds: &[String],
    batch: usize,
) -> Result<(), TestCaseError> {
    let apply = |store: &mut Store| {
        let places: Vec<Submission> = PLACES.iter().map(|j| sub(j)).collect();
        store.submit_batch(&places, true).unwrap();
        let subs: Vec<Submission> = cmds.iter().map(|j| sub(j)).collect();
        for chunk in subs.chunks(batch) {
            store.submit_batch(chunk, false).unwrap();
        }
    };
    let plain_db = Db::new(backend);
    let mut plain = plain_db.create();
    apply(&mut plain);

    let db = Db::new(backend);
    let mut bulk = db.create();
    let indexes = "SELECT name || ' ' || sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name";
    bulk.begin_bulk_load().unwrap();
    apply(&mut bulk);
    if backend == Backend::Sqlite {
        prop_assert!(db.texts(indexes).len() < plain_db.texts(indexes).len());
        let refused = Store::open_at(&db.location, &db.key)
            .err()
            .map(|e| e.to_string());
        prop_assert!(
            refused
                .as_deref()
                .is_some_and(|e| e.contains("built in bulk")),
            "opened during a bulk load: {refused:?}"
        );
        bulk.begin().unwrap();
        prop_assert!(matches!(
            bulk.savepoint(),
            Err(habeas_store::StoreError::BulkLoadOpen)
        ));
        bulk.commit().unwrap();
    }
    let finished = bulk.finish_bulk_load().unwrap();
    prop_assert!(finished.persons <= 5);
    prop_assert_eq!(dump(&bulk), dump(&plain));
    let records = "SELECT record FROM events ORDER BY seq";
    prop_assert_eq!(db.texts(records), plain_db.texts(records));
    if backend == Backend::Sqlite {
        prop_assert_eq!(db.texts(indexes), plain_db.texts(indexes));
    }
    prop_assert!(bulk.verify(None).unwrap().ok());
    drop(bulk);
    let reopened = db.open();
    prop_assert_eq!(dump(&reopened), dump(&plain));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn bulk_load_equals_incremental_sqlite(cmds in commands(), batch in 1usize..8) {
        bulk_load_equals_incremental(Backend::Sqlite, &cmds, batch)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn bulk_load_equals_incremental_postgres(cmds in commands(), batch in 1usize..8) {
        bulk_load_equals_incremental(Backend::Postgres, &cmds, batch)?;
    }
}

fn stats_register(db: &Db) -> Store {
    let mut store = db.create_with("example.org/habeas/stats");
    let clock = std::sync::Arc::new(std::sync::Mutex::new(
        "2025-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
    ));
    let c = clock.clone();
    store.set_clock(move || *c.lock().unwrap());
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/stats.jsonl"
    ))
    .unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let Some(at) = v["at"].as_str() {
            let at: Timestamp = at.parse().unwrap();
            let mut now = clock.lock().unwrap();
            *now = (*now).max(at.checked_add(jiff::SignedDuration::from_mins(1)).unwrap());
        }
        let (outcomes, _) = store.submit_batch(&[sub(line)], false).unwrap();
        assert!(outcomes[0].is_ok(), "refused: {line}: {:?}", outcomes[0]);
    }
    store
}

/// What main's statistics, held-now findings and web views answer over the hand-checked
/// statistics register, as text: the same on every backend, before and after a rebuild
/// (the held-now projection and the per-episode facts are rebuilt from the log).
fn stats_answers(store: &Store) -> Vec<String> {
    let at: Timestamp = "2025-03-31T23:59:59.999999Z".parse().unwrap();
    let from: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
    let mut out = vec![
        format!(
            "{:?}",
            store
                .statistics(Some(at), from, true, View::KnownNow)
                .unwrap()
        ),
        format!("{:?}", store.stats_min_count(at).unwrap()),
        format!(
            "{:?}",
            store
                .findings(Some(at), &habeas_store::FindingsFilter::default())
                .unwrap()
        ),
        format!("{:?}", store.findings(None, &Default::default()).unwrap()),
        format!("{:?}", store.cell_occupancy("NORTE").unwrap()),
        format!("{:?}", store.latest_movements(5).unwrap()),
        format!("{:?}", store.first_admission_at().unwrap()),
    ];
    for cell in ["NORTE/A/C1", "NORTE/A/C2", "SUR/B/C1"] {
        out.push(format!("{:?}", store.persons_in_cell(cell, 10).unwrap()));
    }
    out
}

fn statistics_findings_and_views_agree_with_sqlite(backend: Backend) {
    let sqlite = Db::new(Backend::Sqlite);
    let expected = stats_answers(&stats_register(&sqlite));
    assert!(expected[0].contains("held"), "{}", expected[0]);
    let db = Db::new(backend);
    let mut store = stats_register(&db);
    let answers = stats_answers(&store);
    for (a, e) in answers.iter().zip(&expected) {
        assert_eq!(a, e);
    }
    store.rebuild().unwrap();
    assert_eq!(stats_answers(&store), expected, "after rebuild");
}

/// A register whose clock the test sets, with the places of [`PLACES`] registered.
struct Clocked {
    store: Store,
    clock: std::sync::Arc<std::sync::Mutex<Timestamp>>,
}

impl Clocked {
    fn new(db: &Db, origin: &str) -> Clocked {
        let clock = std::sync::Arc::new(std::sync::Mutex::new(
            "2025-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
        ));
        let mut store = db.create_with(origin);
        let c = clock.clone();
        store.set_clock(move || *c.lock().unwrap());
        let mut clocked = Clocked { store, clock };
        for p in PLACES {
            clocked.enter("2025-01-01T00:00:00Z", p);
        }
        clocked
    }

    fn set_now(&self, now: &str) {
        *self.clock.lock().unwrap() = now.parse().unwrap();
    }

    /// One command, entered at `recorded`; it must be applied.
    fn enter(&mut self, recorded: &str, json: &str) {
        self.set_now(recorded);
        let (outcomes, _) = self.store.submit_batch(&[sub(json)], false).unwrap();
        assert!(outcomes[0].is_ok(), "{json}: {:?}", outcomes[0]);
    }

    /// `p` admitted to F2 on remand at 08:00 on 1 March 2025 and placed in F2/U/C1 at 09:00,
    /// each entered a minute later.
    fn admit_to_f2_cell_1(&mut self, p: &str) {
        self.enter(
            "2025-03-01T08:01:00Z",
            &format!(
                r#"{{"type":"admission.record","register_no":"{p}","facility":"F2","at":"2025-03-01T08:00:00Z","legal_status":"remand","person":{{"given_names":"G {p}","family_names":"F","sex":"male"}},"legal_basis":{{"kind":"court_order","authority":"Court","reference":"REF-{p}","issued_on":"2025-02-28","grounds":"g"}}}}"#
            ),
        );
        self.enter(
            "2025-03-01T09:01:00Z",
            &format!(
                r#"{{"type":"placement.record","register_no":"{p}","cell":"F2/U/C1","at":"2025-03-01T09:00:00Z"}}"#
            ),
        );
    }
}

/// A small history: P1 and P2 admitted to F2 on 1 March 2025 and placed, P2 released on 15
/// March, each line entered at `recorded(line's time)`.
fn march_history(c: &mut Clocked, recorded: impl Fn(&str) -> String) {
    for p in ["P1", "P2"] {
        c.enter(
            &recorded("2025-03-01T08:01:00Z"),
            &format!(
                r#"{{"type":"admission.record","register_no":"{p}","facility":"F2","at":"2025-03-01T08:00:00Z","legal_status":"remand","person":{{"given_names":"G {p}","family_names":"F","sex":"male"}},"legal_basis":{{"kind":"court_order","authority":"Court","reference":"REF-{p}","issued_on":"2025-02-28","grounds":"g"}}}}"#
            ),
        );
        c.enter(
            &recorded("2025-03-01T09:01:00Z"),
            &format!(
                r#"{{"type":"placement.record","register_no":"{p}","cell":"F2/U/C1","at":"2025-03-01T09:00:00Z"}}"#
            ),
        );
    }
    c.enter(
        &recorded("2025-03-15T12:01:00Z"),
        r#"{"type":"release.record","register_no":"P2","at":"2025-03-15T12:00:00Z","reason":"bail","authority":"Court","reference":"R"}"#,
    );
}

/// What the register answers about `t` in `view`: population, the statistics' total and
/// month-end populations, and the findings.
fn answers_at(
    store: &Store,
    t: &str,
    view: View,
) -> (u64, Option<u64>, Vec<Option<u64>>, Vec<String>) {
    let t: Timestamp = t.parse().unwrap();
    let population = store.population(Some(t), view).unwrap().total;
    let stats = store
        .statistics(Some(t), habeas_stats::series_start(t, 2), false, view)
        .unwrap();
    assert_eq!(stats.view, view);
    let filter = habeas_store::FindingsFilter {
        view,
        ..Default::default()
    };
    let mut findings: Vec<String> = store
        .findings(Some(t), &filter)
        .unwrap()
        .into_iter()
        .map(|f| format!("{} {} since {}", f.check, f.subject, f.since))
        .collect();
    findings.sort();
    (
        population,
        stats.national.total,
        stats.months.iter().map(|m| m.population_at_end).collect(),
        findings,
    )
}

/// #16: every command asks the same world about a past time. A history entered late is seen
/// whole by default and not at all in the audit view; entered live, both views agree.
fn findings_population_and_statistics_agree_at_any_past_time_in_either_view(backend: Backend) {
    let times = [
        "2025-02-15T00:00:00Z",
        "2025-03-03T00:00:00Z",
        "2025-03-10T00:00:00Z",
        "2025-03-20T00:00:00Z",
    ];
    let held = [0, 2, 2, 1];

    let db = Db::new(backend);
    let mut late = Clocked::new(&db, "example.org/habeas/late");
    march_history(&mut late, |_| "2025-06-01T00:00:00Z".into());
    late.set_now("2025-06-02T00:00:00Z");
    for (t, n) in times.iter().zip(held) {
        let (population, total, _, findings) = answers_at(&late.store, t, View::KnownNow);
        assert_eq!((population, total), (n, Some(n)), "known now at {t}");
        // Every person held then is in a finding about their custody (no exam, no
        // exercise, … by then); late-record is about records, held or not.
        for p in ["P1", "P2"] {
            let in_findings = findings
                .iter()
                .any(|f| !f.starts_with("late-record") && f.contains(&format!(" {p} ")));
            let was_held = n == 2 || (n == 1 && p == "P1");
            assert_eq!(in_findings, was_held, "{p} at {t}: {findings:?}");
        }
        // No finding starts after the time it is evaluated at.
        let at: Timestamp = t.parse().unwrap();
        for f in late.store.findings(Some(at), &Default::default()).unwrap() {
            assert!(f.since <= at, "{} since {} at {t}", f.check, f.since);
        }
        let (population, total, months, findings) = answers_at(&late.store, t, View::AsRecorded);
        assert_eq!((population, total), (0, Some(0)), "as recorded at {t}");
        assert!(months.iter().all(|m| *m == Some(0)), "{months:?}");
        assert!(
            findings
                .iter()
                .all(|f| !f.contains(" P1 ") && !f.contains(" P2 ")),
            "as recorded at {t}, nothing about P1 or P2 was known: {findings:?}"
        );
    }
    // The month-end series known now: end of January 0, end of February 0, then March.
    let (_, _, months, _) = answers_at(&late.store, "2025-03-20T00:00:00Z", View::KnownNow);
    assert_eq!(months, vec![Some(0), Some(0), Some(1)]);

    let db = Db::new(backend);
    let mut live = Clocked::new(&db, "example.org/habeas/live");
    march_history(&mut live, |t| t.to_owned());
    live.set_now("2025-06-02T00:00:00Z");
    for (t, n) in times.iter().zip(held) {
        let known = answers_at(&live.store, t, View::KnownNow);
        assert_eq!(known.0, n, "live, known now at {t}");
        assert_eq!(
            answers_at(&live.store, t, View::AsRecorded),
            known,
            "live-entered: the audit view gives the same answers at {t}"
        );
        // Late or live, the figures known now are the same (the findings differ by
        // late-record, which is the point of it).
        let late_known = answers_at(&late.store, t, View::KnownNow);
        assert_eq!(
            (known.0, known.1, known.2),
            (late_known.0, late_known.1, late_known.2),
            "late or live, known now gives the same figures at {t}"
        );
    }
}

/// Findings at a past date see the register as it was known then, whichever way a held
/// person is read: from the held-now projection (file unchanged since) or whole (changed
/// since, or gone), and with facts kept per episode that were not yet known then.
fn findings_at_a_past_date_use_only_what_was_known_then(backend: Backend) {
    let db = Db::new(backend);
    let mut c = Clocked::new(&db, "example.org/habeas/past");
    c.enter(
        "2025-03-01T00:00:00Z",
        r#"{"type":"settings.record","at":"2025-03-01T00:00:00Z","limits":{"no-family-contact.days":10}}"#,
    );
    for p in ["P1", "P2"] {
        c.admit_to_f2_cell_1(p);
        c.enter(
            "2025-03-01T10:01:00Z",
            &format!(
                r#"{{"type":"health.exam","register_no":"{p}","at":"2025-03-01T10:00:00Z","injuries_observed":false}}"#
            ),
        );
        c.enter(
            "2025-03-01T11:01:00Z",
            &format!(
                r#"{{"type":"notification.record","register_no":"{p}","at":"2025-03-01T11:00:00Z","to":"family","about":"admission"}}"#
            ),
        );
        c.enter(
            "2025-03-10T10:01:00Z",
            &format!(
                r#"{{"type":"contact.record","register_no":"{p}","at":"2025-03-10T10:00:00Z","kind":"family_visit"}}"#
            ),
        );
    }
    // P1's legal visit of 5 March is entered only on 20 March.
    c.enter(
        "2025-03-20T09:00:00Z",
        r#"{"type":"contact.record","register_no":"P1","at":"2025-03-05T10:00:00Z","kind":"legal_visit"}"#,
    );
    // P2 is released on 15 March; P1 has a family visit on 25 March.
    c.enter(
        "2025-03-15T12:01:00Z",
        r#"{"type":"release.record","register_no":"P2","at":"2025-03-15T12:00:00Z","reason":"bail","authority":"Court","reference":"R"}"#,
    );
    c.enter(
        "2025-03-25T10:01:00Z",
        r#"{"type":"contact.record","register_no":"P1","at":"2025-03-25T10:00:00Z","kind":"family_visit"}"#,
    );
    c.set_now("2025-03-31T12:00:00Z");
    let store = &mut c.store;
    let at = |s: &str| Some(s.parse::<Timestamp>().unwrap());
    let of = |store: &Store, t: Option<Timestamp>, known_now: bool| {
        let filter = habeas_store::FindingsFilter {
            view: if known_now {
                View::KnownNow
            } else {
                View::AsRecorded
            },
            ..Default::default()
        };
        let mut got: Vec<(String, String, String)> = store
            .findings(t, &filter)
            .unwrap()
            .into_iter()
            // Nobody goes outdoors here: that finding is not what this test is about.
            .filter(|f| f.subject.starts_with('P') && f.check != "no-outdoor-exercise")
            .map(|f| (f.check.to_owned(), f.subject, f.since.to_string()))
            .collect();
        got.sort();
        got
    };
    let f = |check: &str, subject: &str, since: &str| {
        (check.to_owned(), subject.to_owned(), since.to_owned())
    };
    // 12 March: P1's file is unchanged since (the projection), P2's changed (released). The
    // legal visit of 5 March was not known yet: both lack legal access.
    let march12 = vec![
        f("no-legal-access", "P1", "2025-03-08T08:00:00Z"),
        f("no-legal-access", "P2", "2025-03-08T08:00:00Z"),
    ];
    assert_eq!(of(store, at("2025-03-12T12:00:00Z"), false), march12);
    // With everything recorded since, the legal visit counts for P1 (and was entered late).
    assert_eq!(
        of(store, at("2025-03-12T12:00:00Z"), true),
        vec![
            // Late from when the limit ran out after the visit (5 March 10:00), not from
            // when it was entered (#16, item 2).
            f("late-record", "P1", "2025-03-06T10:00:00Z"),
            f("no-legal-access", "P2", "2025-03-08T08:00:00Z")
        ]
    );
    // 24 March: P1's latest family contact kept is of 25 March, not yet seen; the one of
    // 10 March is read instead, 14 days before (the limit is 10).
    assert_eq!(
        of(store, at("2025-03-24T12:00:00Z"), false),
        vec![
            f("late-record", "P1", "2025-03-06T10:00:00Z"),
            f("no-family-contact", "P1", "2025-03-20T10:00:00Z")
        ]
    );
    // Now: P1 had a visit on 25 March and legal access; P2 is no longer held.
    assert_eq!(
        of(store, None, false),
        vec![f("late-record", "P1", "2025-03-06T10:00:00Z")]
    );
    // The projections are a cache of the log: after rebuild, the same findings.
    store.rebuild().unwrap();
    assert_eq!(of(store, at("2025-03-12T12:00:00Z"), false), march12);
    assert_eq!(
        of(store, at("2025-03-24T12:00:00Z"), false),
        vec![
            f("late-record", "P1", "2025-03-06T10:00:00Z"),
            f("no-family-contact", "P1", "2025-03-20T10:00:00Z")
        ]
    );
}

/// A roll count is compared with who the register had in the unit at the count's time, as
/// known then: a release entered only later still counts as present.
fn roll_counts_at_a_past_date_count_a_stay_whose_end_was_not_known_yet(backend: Backend) {
    let db = Db::new(backend);
    let mut c = Clocked::new(&db, "example.org/habeas/counts");
    for p in ["P1", "P2"] {
        c.admit_to_f2_cell_1(p);
    }
    // The count of 15 March finds both; P2's release of 10 March is entered on 20 March.
    c.enter(
        "2025-03-15T18:01:00Z",
        r#"{"type":"count.record","unit":"F2/U","at":"2025-03-15T18:00:00Z","counted":2}"#,
    );
    c.enter(
        "2025-03-20T09:00:00Z",
        r#"{"type":"release.record","register_no":"P2","at":"2025-03-10T12:00:00Z","reason":"bail","authority":"Court","reference":"R"}"#,
    );
    c.set_now("2025-03-31T12:00:00Z");
    let store = &c.store;
    let discrepancies = |t: &str, known_now: bool| {
        let filter = habeas_store::FindingsFilter {
            view: if known_now {
                View::KnownNow
            } else {
                View::AsRecorded
            },
            ..Default::default()
        };
        store
            .findings(Some(t.parse().unwrap()), &filter)
            .unwrap()
            .into_iter()
            .filter(|f| f.check == "count-discrepancy")
            .map(|f| (f.subject, f.detail))
            .collect::<Vec<_>>()
    };
    // As known on 16 March, P2 was still there: the count agrees.
    assert_eq!(discrepancies("2025-03-16T12:00:00Z", false), vec![]);
    // With the release known, the register had one person there, not two.
    let one = vec![(
        "F2/U".to_owned(),
        "the roll count of F2/U at 2025-03-15T18:00:00Z found 2 people; the register has 1 there"
            .to_owned(),
    )];
    assert_eq!(discrepancies("2025-03-16T12:00:00Z", true), one);
    assert_eq!(discrepancies("2025-03-31T12:00:00Z", false), one);
}

/// A register made before migration 2 (no held-now projection, no per-episode facts) gets it
/// on open, with its state rebuilt from the log, and then answers as one made with it.
#[test]
fn postgres_migration_2_fills_the_new_projections_of_an_existing_register() {
    let sqlite = Db::new(Backend::Sqlite);
    let expected = stats_answers(&stats_register(&sqlite));
    let db = Db::new(Backend::Postgres);
    drop(stats_register(&db));
    db.raw(
        "DROP TABLE held_persons; DROP TABLE episode_facts;
         DROP INDEX events_movements, events_agreement_admissions, events_recorded, stays_span, stays_unit;
         CREATE INDEX stays_unit ON stays(unit, until_us) WHERE unit IS NOT NULL;
         DROP INDEX events_source; ALTER TABLE events DROP COLUMN source_id;
         DROP FUNCTION habeas_guard_state() CASCADE;
         DELETE FROM schema_migrations WHERE version IN (2, 3, 4)",
    )
    .unwrap();
    let mut store = db.open();
    store.set_clock(|| "2025-03-25T00:01:00Z".parse().unwrap());
    assert_eq!(
        db.texts("SELECT version FROM schema_migrations ORDER BY version"),
        ["1", "2", "3", "4"]
    );
    assert!(
        db.texts("SELECT value FROM meta WHERE key = 'rebuild_needed'")
            .is_empty()
    );
    assert!(!db.texts("SELECT register_no FROM held_persons").is_empty());
    let answers = stats_answers(&store);
    assert_eq!(answers[..3], expected[..3]);
    assert_eq!(answers[4..], expected[4..]);
}

/// DESIGN §4: a command whose `source_id` is in the log is "already recorded": it is answered
/// with the events it gave the first time and records nothing, on both backends, after a
/// rebuild and in a copy on the other backend.
fn a_source_id_already_in_the_log_is_not_recorded_again(backend: Backend) {
    let db = Db::new(backend);
    let mut store = small_register(&db);
    let visit = sub(
        r#"{"type":"contact.record","source_id":"visits/0001","register_no":"P1","at":"2025-02-02T00:00:00Z","kind":"family_visit"}"#,
    );
    let (first, _) = store
        .submit_batch(std::slice::from_ref(&visit), false)
        .unwrap();
    let seqs = first[0].clone().unwrap();
    let size = store.log_size();
    let source = habeas_domain::Text::parse("visits/0001").unwrap();
    assert_eq!(store.already_recorded(&source).unwrap(), Some(seqs.clone()));
    // The same key with other content is still the same submission.
    let again = sub(
        r#"{"type":"contact.record","source_id":"visits/0001","register_no":"P1","at":"2025-02-03T00:00:00Z","kind":"call"}"#,
    );
    let (second, checkpoint) = store
        .submit_batch(std::slice::from_ref(&again), false)
        .unwrap();
    assert_eq!(second[0].clone().unwrap(), seqs);
    assert!(checkpoint.is_none(), "nothing new to sign");
    assert_eq!(store.log_size(), size);
    assert!(
        store.leaf(seqs[0]).is_ok(),
        "the record keeps its source_id and verifies"
    );
    assert!(store.verify(None).unwrap().ok());
    store.rebuild().unwrap();
    assert_eq!(store.already_recorded(&source).unwrap(), Some(seqs.clone()));
    let other = match backend {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    };
    let target = Db::new(other);
    let mut copy = store.copy_to(&target.location, &target.key).unwrap();
    assert_eq!(copy.already_recorded(&source).unwrap(), Some(seqs));
    let (third, _) = copy.submit_batch(&[again], false).unwrap();
    assert!(third[0].is_ok());
    assert_eq!(copy.log_size(), size);
}
