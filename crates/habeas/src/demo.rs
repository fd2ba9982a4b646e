//! `habeas demo`: a synthetic register, built once per settings and kept in a cache, served
//! with one demo account per role.
//!
//! The register is applied as if it had been kept live: the store's clock follows each
//! command's own time while it is built, and afterwards runs from the end of the synthetic
//! history (2024-03-31 for the national case), so findings and late records read as they
//! would have on the day, not as two years of silence.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use habeas_domain::authz::Role;
use habeas_domain::{Submission, Text};
use habeas_store::Store;
use jiff::Timestamp;

use crate::Fail;

/// Commands per transaction (and signed checkpoint) while the demo register is built.
const BATCH: usize = 50_000;

/// The demo accounts: name, role, password. Public on purpose: the register is synthetic.
const ACCOUNTS: [(&str, Role, &str); 5] = [
    ("demo.admin", Role::Admin, "demo-admin-synthetic"),
    (
        "demo.registrar",
        Role::Registrar,
        "demo-registrar-synthetic",
    ),
    ("demo.officer", Role::Officer, "demo-officer-synthetic"),
    ("demo.health", Role::Health, "demo-health-synthetic"),
    ("demo.monitor", Role::Monitor, "demo-monitor-synthetic"),
];

pub(crate) fn run(
    config: &habeas_sim::Config,
    rebuild: bool,
    addr: std::net::SocketAddr,
    out: &mut impl Write,
) -> Result<u8, Fail> {
    let started = Instant::now();
    let db = cache_dir()?.join(cache_name(config));
    if rebuild || !db.exists() {
        build(config, &db, "example.org/habeas/demo")?;
    } else {
        eprintln!(
            "habeas demo: using the register built earlier with these settings: {} (--rebuild to build it anew)",
            db.display()
        );
    }
    let mut store = Store::open(&db)?;
    // From here the register's clock runs on from the end of the synthetic history.
    // It is kept in the register, so the CLI run beside the demo sees the same now.
    let end = last_time(&store)?;
    store.set_demo_clock(end)?;
    writeln!(
        out,
        "The demo register is ready in {:.0} s: {} ({} events, clock set to {end}). Everything in it is synthetic.",
        started.elapsed().as_secs_f64(),
        db.display(),
        store.log_size(),
    )?;
    writeln!(
        out,
        "Demo accounts (sign in at http://{addr}/ with the password; API: Authorization: Bearer TOKEN):"
    )?;
    let existing: Vec<String> = store.list_users()?.into_iter().map(|u| u.name).collect();
    for (name, role, password) in ACCOUNTS {
        if !existing.iter().any(|n| n == name) {
            store.add_user(name, role, &[], Some(password))?;
        }
        writeln!(
            out,
            "  {name:<16} {:<10} password {password:<26} token {}",
            role.as_str(),
            store.new_token(name)?
        )?;
    }
    writeln!(out, "Try: curl http://{addr}/log/checkpoint")?;
    out.flush()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    eprintln!("habeas demo: serving on http://{addr} (Ctrl-C to stop)");
    runtime
        .block_on(habeas_web::serve(
            habeas_web::AppState::new(store)?.with_overview_wait(habeas_web::SERVE_OVERVIEW_WAIT),
            addr,
        ))
        .with_context(|| format!("serving on {addr}"))?;
    Ok(0)
}

/// Where demo registers are kept between runs: `$HABEAS_CACHE`, else the user's cache folder.
fn cache_dir() -> Result<PathBuf, Fail> {
    let dir = std::env::var_os("HABEAS_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("habeas")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/habeas")))
        .unwrap_or_else(|| std::env::temp_dir().join("habeas"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// One file per generator settings and register format, so a changed schema or generator
/// never reuses an old register.
fn cache_name(config: &habeas_sim::Config) -> String {
    let scale = match config.scale {
        habeas_sim::Scale::Small => "small".to_owned(),
        habeas_sim::Scale::National => "national".to_owned(),
        habeas_sim::Scale::Persons(n) => n.to_string(),
    };
    let daily = match (config.daily_life, config.recurring_days) {
        (false, _) => "nodaily".to_owned(),
        (true, None) => "daily".to_owned(),
        (true, Some(n)) => format!("daily{n}"),
    };
    format!(
        "demo-{scale}-seed{}-{daily}-v{}-gen{}-schema{}.db",
        config.seed,
        env!("CARGO_PKG_VERSION"),
        habeas_sim::GENERATOR_REVISION,
        habeas_store::SCHEMA_VERSION
    )
}

/// `habeas generate --register PATH`: the demo's build into a new file of the user's.
pub(crate) fn generate_register(
    config: &habeas_sim::Config,
    db: &Path,
    origin: &str,
) -> Result<habeas_sim::Summary, Fail> {
    if db.exists() {
        return Err(habeas_store::StoreError::AlreadyExists {
            path: db.to_owned(),
        }
        .into());
    }
    build(config, db, origin)
}

/// Generates the register and applies it into `db`, through a temporary file renamed at the
/// end, so a build that is interrupted is never taken for a finished one.
fn build(
    config: &habeas_sim::Config,
    db: &Path,
    origin: &str,
) -> Result<habeas_sim::Summary, Fail> {
    let tmp = db.with_extension("building");
    let commands = db.with_extension("jsonl");
    for stale in [tmp.clone(), habeas_store::key_path(&tmp)] {
        remove_register_files(&stale)?;
    }
    eprintln!("habeas: generating a synthetic register …");
    let phase = Instant::now();
    let summary = habeas_sim::generate(
        config,
        &mut std::fs::File::create(&commands)
            .with_context(|| format!("cannot write {}", commands.display()))?,
    )
    .map_err(|e| Fail(2, e.into()))?;
    eprintln!(
        "habeas: generated in {:.1} s; applying {} commands ({} persons, {} held at the end, {} → {}) …",
        phase.elapsed().as_secs_f64(),
        summary.commands,
        summary.persons,
        summary.held_at_end,
        summary.first_day,
        summary.last_day
    );
    let phase = Instant::now();
    {
        let mut store = Store::create(&tmp, origin)?;
        // The file is renamed into place only once built: a failed build is thrown away, so
        // it can be loaded without journal, sync or indexes until the end.
        store.begin_bulk_load()?;
        apply_live(&mut store, &commands, summary.commands)?;
        eprintln!(
            "habeas: applied in {:.1} s; writing the persons' files and the indexes …",
            phase.elapsed().as_secs_f64()
        );
        let finished = store.finish_bulk_load()?;
        eprintln!(
            "habeas: {} persons' files written in {:.1} s, {} indexes built in {:.1} s",
            finished.persons,
            finished.persons_time.as_secs_f64(),
            finished.indexes,
            finished.indexes_time.as_secs_f64()
        );
    }
    let _ = std::fs::remove_file(&commands);
    std::fs::rename(habeas_store::key_path(&tmp), habeas_store::key_path(db))?;
    std::fs::rename(&tmp, db)?;
    Ok(summary)
}

/// Removes a SQLite register file with its WAL and shared-memory files, where they exist.
pub(crate) fn remove_register_files(db: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// A generated line, parsed ahead of the writer: its number, the latest time it reports,
/// and the command (or why it does not parse).
type Parsed = (
    usize,
    Option<Timestamp>,
    Result<Submission, habeas_domain::Refusal>,
);

/// Applies the generated lines with the store's clock at each command's own time, so the
/// register reads as one kept live (nothing is a late record), showing progress on a terminal.
/// Reading and parsing run on a second thread, a few thousand lines ahead of the writer.
fn apply_live(store: &mut Store, file: &Path, total: u64) -> Result<(), Fail> {
    let clock = Arc::new(Mutex::new(Timestamp::UNIX_EPOCH));
    let c = clock.clone();
    store.set_clock(move || *c.lock().unwrap_or_else(|p| p.into_inner()));
    let actor = Text::parse("demo").map_err(|e| Fail(2, anyhow::anyhow!("{e}")))?;
    let progress = crate::progress::bar(total, "applying");
    let input = std::fs::File::open(file)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<Parsed>>>(4);
    let reader = std::thread::spawn(move || parse_ahead(input, actor, &tx));
    let mut refused = 0u64;
    let mut in_batch = 0;
    let mut applied = 0u64;
    store.begin()?;
    for chunk in rx {
        for (n, time, submission) in chunk? {
            if let Some(t) = time {
                let mut now = clock.lock().unwrap_or_else(|p| p.into_inner());
                *now = (*now).max(t);
            }
            let outcome = match submission {
                Ok(s) => store.submit(&s)?,
                Err(r) => Err(r),
            };
            if let Err(r) = outcome {
                refused += 1;
                eprintln!("habeas: generated line {n} refused: {r}");
            }
            applied += 1;
            in_batch += 1;
            if in_batch == BATCH {
                store.commit()?;
                store.begin()?;
                in_batch = 0;
                progress.set_position(applied);
            }
        }
    }
    store.commit()?;
    let _ = reader.join();
    progress.finish_and_clear();
    if refused > 0 {
        eprintln!("habeas: {refused} generated commands were refused (a generator bug)");
    }
    Ok(())
}

/// Reads and parses the generated lines in chunks; stops when the writer hangs up.
fn parse_ahead(
    input: std::fs::File,
    actor: Text,
    tx: &std::sync::mpsc::SyncSender<anyhow::Result<Vec<Parsed>>>,
) {
    const CHUNK: usize = 2_000;
    let reader = BufReader::with_capacity(1 << 16, input);
    let mut chunk = Vec::with_capacity(CHUNK);
    for (n, line) in reader.lines().enumerate() {
        let parsed = line
            .map_err(anyhow::Error::from)
            .and_then(|line| {
                serde_json::from_str::<serde_json::Value>(&line)
                    .with_context(|| format!("generated line {} is not JSON", n + 1))
            })
            .map(|value| {
                let time = reported_time(&value);
                let submission = Submission::from_value(value).map(|mut s| {
                    s.actor = Some(actor.clone());
                    s
                });
                (n + 1, time, submission)
            });
        match parsed {
            Ok(p) => chunk.push(p),
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
        if chunk.len() == CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if tx.send(Ok(full)).is_err() {
                return;
            }
        }
    }
    let _ = tx.send(Ok(chunk));
}

/// The latest time a command reports (its `until`, `at`, `issued_at` or `planned_at`).
fn reported_time(v: &serde_json::Value) -> Option<Timestamp> {
    ["until", "at", "issued_at", "planned_at", "from"]
        .iter()
        .filter_map(|k| v.get(k)?.as_str()?.parse::<Timestamp>().ok())
        .max()
}

/// The latest `recorded_at` in the log: where the demo's clock starts again.
fn last_time(store: &Store) -> Result<Timestamp, Fail> {
    let size = store.log_size();
    if size == 0 {
        return Ok(Timestamp::now());
    }
    let (record, _salt) = store.record(size - 1)?;
    let value: serde_json::Value =
        serde_json::from_str(&record).with_context(|| format!("event {} is not JSON", size - 1))?;
    value
        .get("recorded_at")
        .and_then(|t| t.as_str())
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| Fail(2, anyhow::anyhow!("event {} has no recorded_at", size - 1)))
}
