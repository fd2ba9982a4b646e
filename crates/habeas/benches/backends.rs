//! SQLite and PostgreSQL side by side (issue: PostgreSQL backend, item 5): bulk apply through
//! the Store API, and concurrent single-command writes from 8 writers with a connection each,
//! each beside a raw-insert baseline on the same backend measured in the same run.
//!
//! `cargo bench -p habeas --bench backends` — persons from $HABEAS_BENCH_PERSONS (default
//! 20,000: 40,801 commands), writes per writer from $HABEAS_BENCH_WRITES (default 200), runs
//! from $HABEAS_BENCH_RUNS (default 3); PostgreSQL from $HABEAS_BENCH_PG (default the test
//! server, 127.0.0.1:5432/test; a database is created per run and dropped). Prints medians.

#![allow(clippy::unwrap_used)] // a benchmark fails loudly

#[allow(dead_code)] // this bench uses only the median of the shared helpers
mod common;
use common::median;

use std::path::Path;
use std::time::{Duration, Instant};

use habeas_domain::Submission;
use habeas_store::{DbLocation, Store};

const BATCH: usize = 1000;
const WRITERS: usize = 8;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn admin_url() -> String {
    std::env::var("HABEAS_BENCH_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The same register shape as the register bench: one facility, 8 pavilions of 100 cells,
/// then an admission and a placement per person. Synthetic names only.
fn commands(persons: usize) -> Vec<String> {
    let mut v = vec![
        r#"{"type":"facility.register","facility":"BENCH","name":"Synthetic bench facility","authority":"Synthetic authority","timezone":"UTC","official_capacity":40000}"#.to_owned(),
    ];
    for u in 1..=8 {
        v.push(format!(
            r#"{{"type":"unit.register","facility":"BENCH","unit":"P{u}","name":"Pavilion {u}"}}"#
        ));
        for c in 1..=100 {
            v.push(format!(r#"{{"type":"cell.register","cell":"BENCH/P{u}/C{c:03}","places":70,"beds":48,"area_m2":100.0}}"#));
        }
    }
    for i in 0..persons {
        v.push(admission(&format!("SYN-{i:07}"), i));
        v.push(format!(r#"{{"type":"placement.record","register_no":"SYN-{i:07}","cell":"BENCH/P{}/C{:03}","at":"2025-02-{:02}T09:00:00Z"}}"#, 1 + i % 8, 1 + (i / 8) % 100, 1 + i % 28));
    }
    v
}

fn admission(register_no: &str, i: usize) -> String {
    format!(
        r#"{{"type":"admission.record","register_no":"{register_no}","facility":"BENCH","at":"2025-02-{:02}T08:00:00Z","person":{{"given_names":"Synthetic","family_names":"Person {i}","sex":"male","date_of_birth":"1990-01-01","nationalities":["SLV"]}},"legal_basis":{{"kind":"court_order","authority":"Synthetic court","reference":"SYN-CO-{i}","issued_on":"2025-01-01","grounds":"synthetic"}},"legal_status":"remand"}}"#,
        1 + i % 28
    )
}

/// A fresh, empty place for a register or a raw table on one backend.
enum Place {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, name: String },
}

impl Place {
    fn new(postgres: bool, tag: &str) -> Place {
        if !postgres {
            return Place::Sqlite(tempfile::tempdir().unwrap());
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("habeas_b_{tag}_{nanos:x}");
        let admin = admin_url();
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
        Place::Postgres { url, name }
    }

    fn location(&self) -> DbLocation {
        match self {
            Place::Sqlite(dir) => DbLocation::Sqlite(dir.path().join("bench.db")),
            Place::Postgres { url, .. } => DbLocation::Postgres(url.clone()),
        }
    }

    fn key(&self, dir: &Path) -> std::path::PathBuf {
        match self {
            Place::Sqlite(d) => habeas_store::key_path(&d.path().join("bench.db")),
            Place::Postgres { name, .. } => dir.join(format!("{name}.key")),
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Place::Postgres { name, .. } = self
            && let Ok(mut c) = postgres::Client::connect(&admin_url(), postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A connection for the raw baseline: the same durability as the store (SQLite WAL with
/// synchronous=FULL; PostgreSQL's defaults, synchronous_commit on).
enum Raw {
    Sqlite(rusqlite::Connection),
    Pg(postgres::Client),
}

impl Raw {
    fn open(place: &Place) -> Raw {
        match place.location() {
            DbLocation::Sqlite(p) => {
                let c = rusqlite::Connection::open(p).unwrap();
                c.busy_timeout(Duration::from_secs(60)).unwrap();
                c.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
                    .unwrap();
                c.execute_batch("PRAGMA synchronous=FULL").unwrap();
                Raw::Sqlite(c)
            }
            DbLocation::Postgres(url) => {
                Raw::Pg(postgres::Client::connect(&url, postgres::NoTls).unwrap())
            }
        }
    }
    fn batch(&mut self, sql: &str) {
        match self {
            Raw::Sqlite(c) => c.execute_batch(sql).unwrap(),
            Raw::Pg(c) => c.batch_execute(sql).unwrap(),
        }
    }
    fn create(&mut self) {
        match self {
            Raw::Sqlite(_) => {
                self.batch("CREATE TABLE raw (id INTEGER PRIMARY KEY, line TEXT NOT NULL)")
            }
            Raw::Pg(_) => self.batch(
                "CREATE TABLE raw (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, line TEXT NOT NULL)",
            ),
        }
    }
    /// Inserts the lines, `per_tx` to a transaction.
    fn insert(&mut self, lines: &[String], per_tx: usize) {
        let (begin, sql) = match self {
            Raw::Sqlite(_) => ("BEGIN IMMEDIATE", "INSERT INTO raw (line) VALUES (?1)"),
            Raw::Pg(_) => ("BEGIN", "INSERT INTO raw (line) VALUES ($1)"),
        };
        for chunk in lines.chunks(per_tx) {
            self.batch(begin);
            match self {
                Raw::Sqlite(c) => {
                    let mut stmt = c.prepare_cached(sql).unwrap();
                    for l in chunk {
                        stmt.execute([l]).unwrap();
                    }
                }
                Raw::Pg(c) => {
                    let stmt = c.prepare(sql).unwrap();
                    for l in chunk {
                        c.execute(&stmt, &[l]).unwrap();
                    }
                }
            }
            self.batch("COMMIT");
        }
    }
}

fn subs(lines: &[String]) -> Vec<Submission> {
    lines
        .iter()
        .map(|l| Submission::from_json(l).unwrap())
        .collect()
}

/// Bulk apply: `submit_batch` in batches of 1000 (one signed checkpoint each).
fn store_bulk(place: &Place, keys: &Path, lines: &[String]) -> Duration {
    let subs = subs(lines);
    let mut store = Store::create_at(
        &place.location(),
        &place.key(keys),
        "example.org/habeas/bench",
    )
    .unwrap();
    let start = Instant::now();
    for chunk in subs.chunks(BATCH) {
        let (outcomes, _) = store.submit_batch(chunk, false).unwrap();
        assert!(outcomes.iter().all(Result::is_ok));
    }
    start.elapsed()
}

fn raw_bulk(place: &Place, lines: &[String]) -> Duration {
    let mut raw = Raw::open(place);
    raw.create();
    let start = Instant::now();
    raw.insert(lines, BATCH);
    start.elapsed()
}

/// 8 writers, a connection each, each appending `writes` single-command transactions (an
/// admission: one event, one signed checkpoint per command).
fn store_concurrent(place: &Place, keys: &Path, setup: &[String], writes: usize) -> Duration {
    let location = place.location();
    let key = place.key(keys);
    let mut store = Store::create_at(&location, &key, "example.org/habeas/bench").unwrap();
    store.submit_batch(&subs(setup), false).unwrap();
    drop(store);
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            let (location, key) = (&location, &key);
            s.spawn(move || {
                let mut store = Store::open_at(location, key).unwrap();
                for i in 0..writes {
                    let sub =
                        Submission::from_json(&admission(&format!("W{w}-{i:06}"), i)).unwrap();
                    let (o, cp) = store.submit_batch(&[sub], false).unwrap();
                    assert!(o[0].is_ok() && cp.is_some());
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let store = Store::open_at(&location, &key).unwrap();
    assert_eq!(store.log_size(), (setup.len() + WRITERS * writes) as u64);
    assert!(store.verify(None).unwrap().ok());
    elapsed
}

fn raw_concurrent(place: &Place, writes: usize) -> Duration {
    Raw::open(place).create();
    let start = Instant::now();
    std::thread::scope(|s| {
        for w in 0..WRITERS {
            s.spawn(move || {
                let mut raw = Raw::open(place);
                let lines: Vec<String> = (0..writes)
                    .map(|i| admission(&format!("W{w}-{i:06}"), i))
                    .collect();
                raw.insert(&lines, 1);
            });
        }
    });
    start.elapsed()
}

fn main() {
    let persons = env_usize("HABEAS_BENCH_PERSONS", 20_000);
    let writes = env_usize("HABEAS_BENCH_WRITES", 200);
    let runs = env_usize("HABEAS_BENCH_RUNS", 3).max(1);
    let lines = commands(persons);
    let setup = &lines[..801];
    let keys = tempfile::tempdir().unwrap();
    println!(
        "backends bench: bulk {} commands in batches of {BATCH}; concurrent {WRITERS} writers x {writes} single-command transactions; {runs} runs",
        lines.len()
    );
    for (postgres, name) in [(false, "SQLite"), (true, "PostgreSQL")] {
        let (mut bulk, mut bulk_raw, mut conc, mut conc_raw) = (vec![], vec![], vec![], vec![]);
        for run in 0..runs {
            let r =
                lines.len() as f64 / raw_bulk(&Place::new(postgres, "raw"), &lines).as_secs_f64();
            let h = lines.len() as f64
                / store_bulk(&Place::new(postgres, "bulk"), keys.path(), &lines).as_secs_f64();
            let n = (WRITERS * writes) as f64;
            let cr = n / raw_concurrent(&Place::new(postgres, "craw"), writes).as_secs_f64();
            let c = n / store_concurrent(&Place::new(postgres, "conc"), keys.path(), setup, writes)
                .as_secs_f64();
            println!(
                "  {name} run {run}: bulk raw {r:.0} rows/s, habeas {h:.0} commands/s; concurrent raw {cr:.0} tx/s, habeas {c:.0} commands/s"
            );
            bulk_raw.push(r);
            bulk.push(h);
            conc_raw.push(cr);
            conc.push(c);
        }
        let (b, br, c, cr) = (
            median(bulk),
            median(bulk_raw),
            median(conc),
            median(conc_raw),
        );
        println!(
            "{name}: bulk apply {b:.0} commands/s vs raw insert {br:.0} rows/s: ratio {:.2}",
            b / br
        );
        println!(
            "{name}: {WRITERS} concurrent writers {c:.0} commands/s vs raw single-row transactions {cr:.0}/s: ratio {:.2}",
            c / cr
        );
    }
}
