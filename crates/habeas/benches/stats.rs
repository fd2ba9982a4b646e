//! Statistics at a date with a 36-month series over a national register (issue 7, item 4).
//!
//! `cargo bench -p habeas --bench stats` — the register is `$HABEAS_STATS_BENCH_DB` (default
//! target/bench-cache/stats-national-nd.db), built once if missing: habeas-sim's national register
//! (36,000 → 110,000 held, 2021-04-01 → 2024-03-31; without daily life unless
//! `HABEAS_STATS_BENCH_DAILY=1`), built by `habeas generate --register` as if entered live
//! (the register's clock follows each command's time, so nothing is a late record). Then
//! `habeas stats --at 2024-03-31T23:00:00Z --months 36 --json` runs 3 times in its own
//! process (median, peak RSS), and `habeas findings` at the same date for the share the checks
//! take. Baseline, measured in the same run: one bare `SELECT count(*)` scan of each table the
//! statistics read (stays, persons with their files, the movement events), timed in process.
//! `$HABEAS_BIN` overrides the binary (copy it first: the shared target is overwritten by
//! other builds).

#![allow(clippy::unwrap_used)] // a benchmark fails loudly

mod common;
use common::{median, run_measured as run};

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn scan(conn: &rusqlite::Connection, sql: &str) -> (Duration, i64) {
    let start = Instant::now();
    let n: i64 = conn.query_row(sql, [], |r| r.get(0)).unwrap();
    (start.elapsed(), n)
}

fn main() {
    let db = PathBuf::from(
        std::env::var("HABEAS_STATS_BENCH_DB")
            .unwrap_or_else(|_| "target/bench-cache/stats-national-nd.db".into()),
    );
    let daily = std::env::var("HABEAS_STATS_BENCH_DAILY").is_ok_and(|v| v == "1");
    let bin = std::env::var("HABEAS_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_habeas").into());
    if !db.exists() {
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        // `habeas generate --register`: the demo's build, the clock following each command.
        let mut build = Command::new(&bin);
        build.args(["generate", "--scale", "national", "--seed", "1", "--json"]);
        if !daily {
            build.arg("--no-daily-life");
        }
        let o = build.arg("--register").arg(&db).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        println!(
            "built {}: {} commands, {} held at the end, in {:.0} s",
            db.display(),
            s["commands"],
            s["held_at_end"],
            s["seconds"].as_f64().unwrap()
        );
    }
    let db_s = db.to_str().unwrap();
    let at = "2024-03-31T23:00:00Z";

    // Baseline: one bare scan of each table the statistics read.
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut base = Vec::new();
    for _ in 0..3 {
        let (a, stays) = scan(&conn, "SELECT count(*) FROM stays");
        let (b, persons) = scan(&conn, "SELECT count(*) FROM persons WHERE length(data) > 0");
        let (c, movements) = scan(
            &conn,
            "SELECT count(*) FROM events WHERE type IN ('admission.recorded', 'transfer.departed', 'release.recorded', 'death.recorded', 'escape.recorded')",
        );
        let (d, events) = scan(&conn, "SELECT count(*) FROM events");
        base.push((
            (a + b + c).as_secs_f64(),
            stays,
            persons,
            movements,
            events,
            d,
        ));
    }
    let baseline = median(base.iter().map(|b| b.0).collect());
    let (_, stays, persons, movements, events, _) = base[0];
    drop(conn);

    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..3 {
        let (t, peak) = run(Command::new(&bin).args([
            "--db", db_s, "stats", "--at", at, "--months", "36", "--json",
        ]));
        times.push(t.as_secs_f64());
        peaks.push(peak as f64);
    }
    let mut ntimes = Vec::new();
    for _ in 0..3 {
        let (t, _) = run(Command::new(&bin).args([
            "--db",
            db_s,
            "stats",
            "--at",
            at,
            "--months",
            "36",
            "--json",
            "--no-checks",
        ]));
        ntimes.push(t.as_secs_f64());
    }
    let mut ftimes = Vec::new();
    for _ in 0..3 {
        let (t, _) = run(Command::new(&bin).args(["--db", db_s, "findings", "--at", at, "--json"]));
        ftimes.push(t.as_secs_f64());
    }
    let o = Command::new(&bin)
        .args([
            "--db", db_s, "stats", "--at", at, "--months", "36", "--json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let t = median(times);
    let f = median(ftimes);
    let nc = median(ntimes);
    println!(
        "stats bench: {} ({} events, {} persons, {} stays, {} movement events; daily life: {})",
        db.display(),
        events,
        persons,
        stays,
        movements,
        if daily { "yes" } else { "no" }
    );
    println!(
        "  baseline (bare count(*) scans of stays, persons' files, movement events): {:.2} s",
        baseline
    );
    println!(
        "  habeas stats --at {at} --months 36 --json: {:.2} s median = {:.1}× baseline; peak {:.0} MB; total {} held, {} months",
        t,
        t / baseline,
        median(peaks) / 1024.0,
        v["national"]["total"],
        v["months"].as_array().map_or(0, Vec::len)
    );
    println!(
        "  habeas stats … --no-checks (everything but the figures per check): {:.2} s median = {:.1}× baseline",
        nc,
        nc / baseline
    );
    println!(
        "  of which the checks (habeas findings --at {at} --json alone): {:.2} s median",
        f
    );
}
