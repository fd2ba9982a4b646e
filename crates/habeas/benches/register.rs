//! Bulk apply, whereabouts and proofs at scale, beside a raw-SQLite baseline measured in the
//! same run (issue: register core, item 9).
//!
//! `cargo bench -p habeas --bench register` — persons from $HABEAS_BENCH_PERSONS (default
//! 500,000: 1,000,000 commands, an admission and a placement each), runs from
//! $HABEAS_BENCH_RUNS (default 3). `HABEAS_BENCH_INPUT=FILE` measures those JSON lines instead
//! (e.g. the national synthetic register of `habeas generate`; the benchmark suite does).
//! Prints medians and ratios.

#![allow(clippy::unwrap_used)] // a benchmark fails loudly

mod common;
use common::{median, run_measured};

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use habeas_domain::RegisterNo;
use habeas_store::Store;

const BATCH: usize = 1000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A register of one facility with 8 pavilions of 100 cells, and `persons` admissions each
/// followed by a placement. Synthetic names only.
fn write_commands(path: &Path, persons: usize) -> usize {
    let mut f = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut lines = 0;
    writeln!(f, r#"{{"type":"facility.register","facility":"BENCH","name":"Synthetic bench facility","authority":"Synthetic authority","timezone":"UTC","official_capacity":40000}}"#).unwrap();
    lines += 1;
    for u in 1..=8 {
        writeln!(
            f,
            r#"{{"type":"unit.register","facility":"BENCH","unit":"P{u}","name":"Pavilion {u}"}}"#
        )
        .unwrap();
        lines += 1;
        for c in 1..=100 {
            writeln!(f, r#"{{"type":"cell.register","cell":"BENCH/P{u}/C{c:03}","places":70,"beds":48,"area_m2":100.0}}"#).unwrap();
            lines += 1;
        }
    }
    for i in 0..persons {
        let day = 1 + i % 28;
        writeln!(f, r#"{{"type":"admission.record","register_no":"SYN-{i:07}","facility":"BENCH","at":"2025-02-{day:02}T08:00:00Z","person":{{"given_names":"Synthetic","family_names":"Person {i}","sex":"male","date_of_birth":"1990-01-01","nationalities":["SLV"]}},"legal_basis":{{"kind":"court_order","authority":"Synthetic court","reference":"SYN-CO-{i}","issued_on":"2025-01-01","grounds":"synthetic"}},"legal_status":"remand"}}"#).unwrap();
        writeln!(f, r#"{{"type":"placement.record","register_no":"SYN-{i:07}","cell":"BENCH/P{}/C{:03}","at":"2025-02-{day:02}T09:00:00Z"}}"#, 1 + i % 8, 1 + (i / 8) % 100).unwrap();
        lines += 2;
    }
    lines
}

/// The lines of `file` and the register numbers it admits (the whereabouts samples).
fn admissions_in(file: &Path) -> (usize, Vec<String>) {
    let mut lines = 0;
    let mut admitted = Vec::new();
    for line in BufReader::new(std::fs::File::open(file).unwrap()).lines() {
        let line = line.unwrap();
        lines += 1;
        if line.contains(r#""type":"admission.record""#) {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            admitted.push(v["register_no"].as_str().unwrap().to_owned());
        }
    }
    admitted.sort();
    admitted.dedup();
    (lines, admitted)
}

/// The baseline: the same lines as rows of a bare table, same batch size and durability.
fn raw_sqlite(file: &Path, db: &Path) -> Duration {
    let _ = std::fs::remove_file(db);
    let start = Instant::now();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(
        "PRAGMA synchronous=FULL; CREATE TABLE raw (id INTEGER PRIMARY KEY, line TEXT NOT NULL)",
    )
    .unwrap();
    let reader = BufReader::new(std::fs::File::open(file).unwrap());
    let mut n = 0;
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = conn.prepare("INSERT INTO raw (line) VALUES (?1)").unwrap();
        for line in reader.lines() {
            stmt.execute([line.unwrap()]).unwrap();
            n += 1;
            if n % BATCH == 0 {
                conn.execute_batch("COMMIT; BEGIN IMMEDIATE").unwrap();
            }
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    start.elapsed()
}

/// A second reference: the rows a log with commitments must write at the least, per line —
/// the record, a 32-byte salt, a 64-byte leaf and the subject index — without the domain,
/// the tree, the current-state tables or checkpoints. It shows where the rest of the time goes.
fn events_only(file: &Path, db: &Path) -> Duration {
    let _ = std::fs::remove_file(db);
    let start = Instant::now();
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA journal_mode=WAL", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(
        "PRAGMA synchronous=FULL;
         CREATE TABLE events (seq INTEGER PRIMARY KEY, subject TEXT, record TEXT NOT NULL,
                              salt BLOB NOT NULL, leaf BLOB NOT NULL);
         CREATE INDEX events_subject ON events(subject) WHERE subject IS NOT NULL;",
    )
    .unwrap();
    let reader = BufReader::new(std::fs::File::open(file).unwrap());
    let salt = [7u8; 32];
    let leaf = [9u8; 64];
    let mut n = 0u64;
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    {
        let mut stmt = conn
            .prepare(
                "INSERT INTO events (seq, subject, record, salt, leaf) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .unwrap();
        for line in reader.lines() {
            let line = line.unwrap();
            let subject = line.find("SYN-").map(|i| line[i..i + 11].to_owned());
            stmt.execute(rusqlite::params![
                n as i64,
                subject,
                line,
                &salt[..],
                &leaf[..]
            ])
            .unwrap();
            n += 1;
            if n.is_multiple_of(BATCH as u64) {
                conn.execute_batch("COMMIT; BEGIN IMMEDIATE").unwrap();
            }
        }
    }
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    start.elapsed()
}

/// `habeas init` + `habeas apply ARGS… FILE` as a user runs them (the plain apply in batches of
/// 1,000, or `--bulk`, what `habeas generate --register` and the demo do); the time and the
/// peak RSS.
fn habeas_apply(file: &Path, db: &Path, args: &[&str]) -> (Duration, u64) {
    for f in [db.to_owned(), habeas_store::key_path(db)] {
        let _ = std::fs::remove_file(f);
    }
    // $HABEAS_BENCH_BIN: a copy of the binary to measure instead of the one cargo built.
    let bin =
        std::env::var("HABEAS_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_habeas").into());
    let db_s = db.to_str().unwrap();
    let init = Command::new(&bin)
        .args(["--db", db_s, "init", "--origin", "example.org/habeas/bench"])
        .output()
        .unwrap();
    assert!(init.status.success());
    run_measured(
        Command::new(&bin)
            .args(["--db", db_s, "apply"])
            .args(args)
            .arg(file),
    )
}

fn main() {
    let persons = env_usize("HABEAS_BENCH_PERSONS", 500_000);
    let runs = env_usize("HABEAS_BENCH_RUNS", 3).max(1);
    let dir = tempfile::tempdir().unwrap();
    let (file, lines, admitted) = match std::env::var_os("HABEAS_BENCH_INPUT") {
        Some(input) => {
            let file = std::path::PathBuf::from(input);
            let (lines, admitted) = admissions_in(&file);
            (file, lines, admitted)
        }
        None => {
            let file = dir.path().join("commands.jsonl");
            let lines = write_commands(&file, persons);
            let admitted = (0..persons).map(|i| format!("SYN-{i:07}")).collect();
            (file, lines, admitted)
        }
    };
    let size_mb = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
    println!(
        "register bench: {} ({} persons), {lines} commands ({size_mb:.0} MB of JSONL), batch {BATCH}, {runs} runs",
        file.display(),
        admitted.len()
    );

    let mut raw = Vec::new();
    let mut floor: Vec<f64> = Vec::new();
    let mut ours = Vec::new();
    let mut peaks = Vec::new();
    let mut bulk = Vec::new();
    let mut bulk_peaks = Vec::new();
    let db = dir.path().join("bench.db");
    for run in 0..runs {
        let r = raw_sqlite(&file, &dir.path().join("raw.db")).as_secs_f64();
        let e = events_only(&file, &dir.path().join("events.db")).as_secs_f64();
        let (b, bulk_peak) = habeas_apply(
            &file,
            &dir.path().join("bulk.db"),
            &["--bulk", "--batch-size", "50000"],
        );
        let (t, peak) = habeas_apply(&file, &db, &["--batch-size", &BATCH.to_string()]);
        println!(
            "  run {run}: raw SQLite {:.0} rows/s, events-only {:.0} rows/s, habeas apply {:.0} commands/s (peak RSS {} MB), apply --bulk {:.0} commands/s (peak RSS {} MB)",
            lines as f64 / r,
            lines as f64 / e,
            lines as f64 / t.as_secs_f64(),
            peak / 1024,
            lines as f64 / b.as_secs_f64(),
            bulk_peak / 1024
        );
        raw.push(lines as f64 / r);
        floor.push(lines as f64 / e);
        ours.push(lines as f64 / t.as_secs_f64());
        peaks.push(peak as f64);
        bulk.push(lines as f64 / b.as_secs_f64());
        bulk_peaks.push(bulk_peak as f64);
    }
    let _ = std::fs::remove_file(dir.path().join("bulk.db"));
    let (raw_rate, floor_rate, our_rate) = (median(raw), median(floor), median(ours));
    println!(
        "bulk apply: habeas {our_rate:.0} commands/s vs raw SQLite {raw_rate:.0} rows/s: ratio {:.2} (goal >= 0.5)",
        our_rate / raw_rate
    );
    println!(
        "  events-only rows {floor_rate:.0}/s = {:.2} of raw; habeas = {:.2} of events-only",
        floor_rate / raw_rate,
        our_rate / floor_rate
    );
    println!(
        "peak memory of habeas apply: {:.0} MB (goal < 500 MB)",
        median(peaks) / 1024.0
    );
    let bulk_rate = median(bulk);
    println!(
        "bulk load (apply --bulk, a new register): {bulk_rate:.0} commands/s: ratio {:.2} of raw SQLite, {:.1}x habeas apply; peak memory {:.0} MB",
        bulk_rate / raw_rate,
        bulk_rate / our_rate,
        median(bulk_peaks) / 1024.0
    );

    // Latency at that size, in-process: whereabouts and inclusion receipts.
    let store = Store::open(&db).unwrap();
    let size = store.log_size();
    let mut state = 0x2545F4914F6CDD1Du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let samples = 2000;
    let mut where_us = Vec::with_capacity(samples);
    for _ in 0..samples {
        let r = RegisterNo::parse(&admitted[next(admitted.len() as u64) as usize]).unwrap();
        let t = Instant::now();
        let w = store.whereabouts(&r).unwrap();
        where_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(w.is_some());
    }
    let mut prove_us = Vec::with_capacity(samples);
    for _ in 0..samples {
        let seq = next(size);
        let t = Instant::now();
        let receipt = store.inclusion_receipt(seq).unwrap();
        let text = receipt.format();
        prove_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(text.starts_with("c2sp.org/tlog-proof@v1"));
    }
    println!(
        "where (in-process) median {:.1} µs; log prove median {:.1} µs (goal < 1000 µs each) at {size} events",
        median(where_us),
        median(prove_us)
    );

    let t = Instant::now();
    let report = store.verify(None).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(report.ok());
    println!(
        "verify: {size} events in {secs:.1} s = {:.0} events/s",
        size as f64 / secs
    );
    let db_mb = std::fs::metadata(&db).unwrap().len() as f64 / 1e6;
    println!(
        "register file: {db_mb:.0} MB ({:.0} bytes per event)",
        db_mb * 1e6 / size as f64
    );
}
