//! `habeas`: the custody register's command line (DESIGN §7).
//!
//! Exit codes: 0 success; 1 a command refused, a record not found, or verification failed;
//! 2 bad usage, unreadable input, or a register that cannot be opened.

mod apply;
mod demo;
mod progress;
mod render;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use habeas_domain::RegisterNo;
use habeas_store::{DbLocation, Store};
use jiff::Timestamp;

/// mimalloc instead of the system allocator: reading a national register's held persons
/// builds millions of small strings and vectors on several threads, where glibc's per-thread
/// arenas spent a third of the time growing, faulting in and consolidating their heaps.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "habeas", version, about = "The habeas custody register", long_about = None)]
struct Cli {
    /// The register: a SQLite file path or a PostgreSQL URL (postgres://…). Default:
    /// $HABEAS_DB, else ./habeas.db
    #[arg(long, global = true, env = "HABEAS_DB", default_value = "habeas.db")]
    db: String,
    /// The register's signing key file. Default: $HABEAS_KEY, else beside a SQLite file
    /// (PATH.key); a PostgreSQL register needs one.
    #[arg(long, global = true, env = "HABEAS_KEY")]
    key: Option<PathBuf>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a new register and its signing key; prints the verifier key.
    Init {
        /// The log's name in every checkpoint, e.g. example.org/habeas/national
        #[arg(long)]
        origin: String,
    },
    /// Apply JSON lines of commands from FILE (or - for standard input). Lines the register
    /// already holds (same source_id, or the same text) are skipped: after a crash, run the
    /// same command again to resume.
    Apply {
        file: String,
        /// All or nothing: one refused line leaves the register unchanged.
        #[arg(long)]
        atomic: bool,
        /// Commands per transaction (and per signed checkpoint).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        batch_size: u32,
        /// Who applies the file, for commands that do not name an actor. Default: $USER.
        #[arg(long)]
        actor: Option<String>,
        /// Print one JSON object per committed batch and a JSON summary.
        #[arg(long)]
        json: bool,
        /// Load a new, empty register in bulk (an import): several times faster. On SQLite a
        /// failed or killed load leaves the empty register as it was: run it again.
        #[arg(long, conflicts_with = "atomic")]
        bulk: bool,
    },
    /// Where the person is now: status, facility, cell, since.
    Where {
        register_no: String,
        #[arg(long)]
        json: bool,
    },
    /// The person's whole file.
    Show {
        register_no: String,
        #[arg(long)]
        json: bool,
    },
    /// Population by facility and unit, with capacity and occupancy. At a past time, with
    /// everything the register knows now about it (--as-recorded: only what had been
    /// recorded by then).
    Population {
        /// A time (RFC 3339) or a date (YYYY-MM-DD = the end of that day, UTC).
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        view: ViewArgs,
        #[arg(long)]
        json: bool,
    },
    /// Open findings: where the standards were broken at a time, with everything the register
    /// knows now about it (--as-recorded: only what had been recorded by then).
    Findings {
        /// A time (RFC 3339) or a date (YYYY-MM-DD = the end of that day, UTC); default now.
        #[arg(long)]
        at: Option<String>,
        /// Only this check (e.g. bed-shortage).
        #[arg(long)]
        check: Option<String>,
        /// Only findings in this facility.
        #[arg(long)]
        facility: Option<String>,
        #[command(flatten)]
        view: ViewArgs,
        #[arg(long)]
        json: bool,
    },
    /// The published statistics at a date: population, facilities, monthly movements and
    /// deaths, agreements, and the standards not kept (aggregates only). At a past time, with
    /// everything the register knows now about it (--as-recorded: only what had been recorded
    /// by then). Months are the register's calendar months (its facilities' time zone).
    Stats {
        /// A time (RFC 3339) or a date (YYYY-MM-DD = the end of that day, UTC); default now.
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        view: ViewArgs,
        /// Months in the series, ending with the month of --at.
        #[arg(long, default_value_t = 36, value_parser = clap::value_parser!(u32).range(1..=600))]
        months: u32,
        /// The whole statistics as one JSON document.
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        /// Tables as CSV (each after a `# table` line; with --table, that table alone).
        #[arg(long)]
        csv: bool,
        /// With --csv: only this table (summary, facilities, months, deaths_by_cause,
        /// agreements, checks).
        #[arg(long, requires = "csv")]
        table: Option<String>,
        /// Suppress small counts of people as `publish` does (settings.record
        /// publication_min_count).
        #[arg(long)]
        suppress: bool,
        /// Leave out the figures per check (evaluating the checks is most of the time over
        /// a large register); `checks` is then empty.
        #[arg(long)]
        no_checks: bool,
    },
    /// Write the statistics as a static site an oversight body can post as is: HTML pages
    /// with SVG charts, CSV and JSON beside every table, definitions and sources.
    Publish {
        /// The folder to write (created if missing; files of the site are overwritten).
        #[arg(long)]
        out: PathBuf,
        /// First month of the series (YYYY-MM-DD, any day of it). Default: 35 months before --to.
        #[arg(long)]
        from: Option<String>,
        /// The date of the figures (YYYY-MM-DD = the end of that day, UTC). Default: now.
        #[arg(long)]
        to: Option<String>,
    },
    /// The verifiable log: key, checkpoints, leaves and proofs.
    Log {
        #[command(subcommand)]
        what: LogCmd,
    },
    /// Check every record, leaf, tree hash and checkpoint; exit 0 only if all verify.
    Verify {
        /// A checkpoint kept outside the register (a signed note) that the log must extend.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Re-derive the current-state tables from the log.
    Rebuild,
    /// Serve the web interface, the JSON API, the transparency endpoints and the public locator.
    Serve {
        /// Address to listen on (keep it on loopback behind a TLS proxy in production).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Commands the writer commits together at most (group commit); 1 commits every
        /// request on its own (for comparison).
        #[arg(long, default_value_t = habeas_web::MAX_GROUP_COMMANDS as u64, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        max_group: u64,
        /// The address of a reverse proxy in front of the server (repeatable): for its requests
        /// the client is the address it names in X-Forwarded-For, so the sign-in and locator
        /// limits count clients, not the proxy.
        #[arg(long, value_name = "IP")]
        trusted_proxy: Vec<std::net::IpAddr>,
    },
    /// A synthetic register, built in a temporary folder and served with demo accounts (one
    /// per role; their password and tokens are printed). Everything in it is synthetic.
    Demo {
        /// national (110,000 held at the end of three years), small (three months, a few
        /// hundred people), or N held.
        #[arg(long, default_value = "national")]
        scale: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Leave out daily life (exercise, contacts, …).
        #[arg(long)]
        no_daily_life: bool,
        /// Recurring daily life only over the last N days (0: every day of the history).
        /// Findings at the end need 30 days; 60 builds the national register several times
        /// faster than the whole history.
        #[arg(long, value_name = "N", default_value_t = 60)]
        recurring_days: u32,
        /// Build the register anew even if the cache holds one made with these settings.
        #[arg(long)]
        rebuild: bool,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
    },
    /// Copy a register to a new one, on the same or the other backend: the log byte for byte
    /// (records, salts, leaves, tree hashes, every signed checkpoint), the accounts and the
    /// access log; the copy's current state is rebuilt and the copy verified.
    Copy {
        /// The register to copy (a SQLite path or a postgres:// URL).
        #[arg(long)]
        from: String,
        /// The new register (it must not exist; a PostgreSQL database must exist, empty).
        #[arg(long)]
        to: String,
        /// The source's key. Default: --key/$HABEAS_KEY, else beside a SQLite source.
        #[arg(long)]
        from_key: Option<PathBuf>,
        /// Where the copy's key goes (the same key). Default: beside a SQLite copy, else the
        /// source's key file.
        #[arg(long)]
        to_key: Option<PathBuf>,
    },
    /// Accounts: who may use the API, with which role.
    User {
        #[command(subcommand)]
        what: UserCmd,
    },
    /// Write a synthetic register (JSON lines of commands) for tests, demos and benchmarks.
    Generate {
        /// small (a few hundred persons), national (36,000 → 110,000), or N persons held at the end.
        #[arg(long, default_value = "small")]
        scale: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The JSON-lines file to write (- for standard output).
        #[arg(
            long,
            required_unless_present = "register",
            conflicts_with = "register"
        )]
        out: Option<String>,
        /// Build a new register at PATH (SQLite) from the generated commands instead, applied
        /// as if kept live: each command recorded at its own time (what `habeas demo` serves).
        #[arg(long, value_name = "PATH")]
        register: Option<PathBuf>,
        /// With --register: the new register's origin (its name in signed checkpoints).
        #[arg(
            long,
            requires = "register",
            default_value = "example.org/habeas/synthetic"
        )]
        origin: String,
        /// Print the summary as JSON on standard output (with --register, or --out FILE).
        #[arg(long)]
        json: bool,
        /// Omit daily-life records (exercise, contacts, notifications, health, counts…).
        #[arg(long)]
        no_daily_life: bool,
        /// Recurring daily life (exercise, counts, family contacts, health requests,
        /// separations, incidents) only over the last N days; admission records and legal
        /// visits stay for every day.
        #[arg(long, value_name = "N")]
        recurring_days: Option<u32>,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user with a role (admin, registrar, officer, health, monitor).
    Add {
        name: String,
        #[arg(long)]
        role: String,
        /// Limit the user to these facilities (repeat for several).
        #[arg(long = "facility")]
        facilities: Vec<String>,
        /// Read a password for web sign-in from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user: their tokens and password stop working.
    Disable { name: String },
    /// Issue a new API token for a user; it is printed once and stored only hashed.
    Token { name: String },
}

#[derive(Subcommand)]
enum LogCmd {
    /// The verifier key (name+keyID+key) that checks every checkpoint.
    Key,
    /// The latest signed checkpoint (a C2SP signed note).
    Checkpoint,
    /// The exact bytes of leaf SEQ.
    Leaf { seq: u64 },
    /// A c2sp.org/tlog-proof@v1 that event SEQ is in the latest checkpoint.
    Prove { seq: u64 },
    /// A tlog-witness body: consistency proof from OLD_SIZE to the latest checkpoint.
    Consistency { old_size: u64 },
}

/// An error at the edge, with its exit code.
pub(crate) struct Fail(pub u8, pub anyhow::Error);

impl From<anyhow::Error> for Fail {
    fn from(e: anyhow::Error) -> Self {
        Fail(2, e)
    }
}
impl From<habeas_store::StoreError> for Fail {
    fn from(e: habeas_store::StoreError) -> Self {
        use habeas_store::StoreError as E;
        // A record asked for that the register does not hold is "not found" (1), like an
        // unknown register number; everything else here is a usage or register problem (2).
        let code = match e {
            E::NoSuchEvent { .. } | E::NoCheckpoint => 1,
            _ => 2,
        };
        Fail(code, e.into())
    }
}
impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail(2, e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Fail(code, e)) => {
            // A closed pipe (`habeas … | head`) is not an error worth a message.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::from(code);
            }
            eprintln!("habeas: {}", render::terminal_safe(&format!("{e:#}")));
            ExitCode::from(code)
        }
    }
}

/// Where the register lives: a `postgres://` URL, or a SQLite file path.
fn location(db: &str) -> anyhow::Result<DbLocation> {
    if db.is_empty() {
        bail!("--db must name a file or a postgres:// URL");
    }
    Ok(DbLocation::parse(db))
}

/// The signing key of the register at `location`: `key` if given, else beside a SQLite file.
fn key_file(location: &DbLocation, key: Option<&Path>, flag: &str) -> anyhow::Result<PathBuf> {
    match (key, location.default_key_path()) {
        (Some(k), _) => Ok(k.to_owned()),
        (None, Some(k)) => Ok(k),
        (None, None) => bail!(
            "{}: a PostgreSQL register's signing key is a file of its own: give {flag} PATH or set HABEAS_KEY",
            location.display_name().display()
        ),
    }
}

fn open(db: &str, key: Option<&Path>) -> Result<Store, Fail> {
    let location = location(db)?;
    let key = key_file(&location, key, "--key")?;
    Ok(Store::open_at(&location, &key)?)
}

fn parse_register_no(s: &str) -> Result<RegisterNo, Fail> {
    RegisterNo::parse(s).map_err(|e| Fail(2, anyhow::anyhow!("REGISTER_NO: {e}")))
}

/// The view of a past time, the same two flags on every command that takes `--at`.
#[derive(clap::Args, Debug, Clone, Copy)]
struct ViewArgs {
    /// The audit view: only what had been recorded by --at (what staff could have seen then).
    /// Without it: everything the register knows now about that time.
    #[arg(long, requires = "at")]
    as_recorded: bool,
    /// The default view, named (kept as an alias of leaving out --as-recorded).
    #[arg(long, conflicts_with = "as_recorded", hide = true)]
    known_now: bool,
}

impl ViewArgs {
    fn view(self) -> habeas_domain::View {
        habeas_domain::View::from_as_recorded(self.as_recorded)
    }
}

/// `--at` read against the register: a time after now is refused (a figure about the future
/// would be a forecast), and a time before the register's first admission is answered, but
/// with a note that nobody was held by the register then.
fn at_in(store: &Store, at: Option<&str>) -> Result<Option<Timestamp>, Fail> {
    let Some(s) = at else { return Ok(None) };
    let t = parse_at(s)?;
    let now = store.now();
    if t > now {
        return Err(Fail(
            2,
            anyhow::anyhow!("--at `{s}`: after now ({now}); the register answers about the past"),
        ));
    }
    match store.first_admission_at()? {
        Some(first) if t >= first => {}
        Some(first) => eprintln!(
            "note: --at {t} is before the register's first admission ({first}): nobody was held by it then"
        ),
        None => eprintln!("note: the register holds no admission: nobody was held by it then"),
    }
    Ok(Some(t))
}

/// `--at`: an RFC 3339 time, or a date meaning the end of that day (UTC).
pub(crate) fn parse_at(s: &str) -> Result<Timestamp, Fail> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Some(next) = d.tomorrow().ok()
        && let Ok(t) = format!("{next}T00:00:00Z").parse::<Timestamp>()
    {
        return Ok(t
            .checked_sub(jiff::SignedDuration::from_micros(1))
            .unwrap_or(t));
    }
    Err(Fail(
        2,
        anyhow::anyhow!(
            "--at `{s}`: expected an RFC 3339 time with offset (2025-03-16T20:00:00Z) or a date (2025-03-16)"
        ),
    ))
}

fn run(cli: Cli) -> Result<u8, Fail> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Cmd::Init { origin } => {
            let location = location(&cli.db)?;
            let key = key_file(&location, cli.key.as_deref(), "--key")?;
            let store = Store::create_at(&location, &key, &origin)?;
            writeln!(out, "{}", store.verifier_key())?;
            eprintln!(
                "created register {} (origin {origin}); signing key in {}",
                store.path().display(),
                key.display()
            );
            Ok(0)
        }
        Cmd::Apply {
            file,
            atomic,
            batch_size,
            actor,
            json,
            bulk,
        } => {
            let mut store = open(&cli.db, cli.key.as_deref())?;
            let actor = actor.or_else(|| std::env::var("USER").ok().map(|u| format!("cli:{u}")));
            if !bulk {
                return apply::run(
                    &mut store,
                    &file,
                    atomic,
                    batch_size as usize,
                    actor,
                    json,
                    &mut out,
                );
            }
            if store.log_size() > 0 {
                return Err(Fail(
                    2,
                    anyhow::anyhow!(
                        "--bulk loads a new, empty register only; this one holds {} events",
                        store.log_size()
                    ),
                ));
            }
            let apply_bulk = |store: &mut Store, out: &mut std::io::StdoutLock| {
                store.begin_bulk_load()?;
                let code = apply::run(
                    store,
                    &file,
                    false,
                    batch_size as usize,
                    actor.clone(),
                    json,
                    out,
                )?;
                store.finish_bulk_load()?;
                Ok::<u8, Fail>(code)
            };
            match store.location().clone() {
                // SQLite: the load goes into a copy of the empty register, renamed over it
                // only once finished; a failed or killed load leaves the register as `init`
                // made it, so the same command can simply be run again.
                DbLocation::Sqlite(path) => {
                    let key = store.key_file().to_owned();
                    drop(store);
                    let building = path.with_extension("bulk-building");
                    demo::remove_register_files(&building)?;
                    std::fs::copy(&path, &building).with_context(|| {
                        format!("cannot copy {} to {}", path.display(), building.display())
                    })?;
                    let mut copy = Store::open_at(&DbLocation::Sqlite(building.clone()), &key)?;
                    let code = apply_bulk(&mut copy, &mut out).inspect_err(|_| {
                        eprintln!(
                            "habeas: the bulk load did not finish; {} is unchanged (still empty): \
                             correct the input and run the same command again",
                            path.display()
                        );
                    })?;
                    drop(copy);
                    std::fs::rename(&building, &path).with_context(|| {
                        format!("cannot rename {} to {}", building.display(), path.display())
                    })?;
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        std::fs::File::open(dir).and_then(|d| d.sync_all())?;
                    }
                    Ok(code)
                }
                // PostgreSQL keeps its journal during a bulk load: what was committed stays,
                // and the persons' rows are written at the end.
                DbLocation::Postgres(_) => apply_bulk(&mut store, &mut out).inspect_err(|_| {
                    eprintln!(
                        "habeas: the bulk load did not finish: run `habeas rebuild`, then \
                         `habeas apply FILE` (without --bulk) to finish; lines already recorded \
                         are skipped"
                    );
                }),
            }
        }
        Cmd::Where { register_no, json } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let r = parse_register_no(&register_no)?;
            match store.whereabouts(&r)? {
                None => {
                    eprintln!("habeas: {r} is not in the register");
                    Ok(1)
                }
                Some(w) => {
                    if json {
                        render::json(&mut out, &w)?;
                    } else {
                        render::whereabouts(&mut out, &w)?;
                    }
                    Ok(0)
                }
            }
        }
        Cmd::Show { register_no, json } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let r = parse_register_no(&register_no)?;
            match store.person_file(&r)? {
                None => {
                    eprintln!("habeas: {r} is not in the register");
                    Ok(1)
                }
                Some(file) => {
                    let findings = store.person_findings(&r)?;
                    if json {
                        render::json(
                            &mut out,
                            &render::FileWithFindings {
                                file: &file,
                                findings: &findings,
                            },
                        )?;
                    } else {
                        render::person_file(&mut out, &file)?;
                        render::findings(&mut out, &findings)?;
                    }
                    Ok(0)
                }
            }
        }
        Cmd::Population { at, view, json } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let at = at_in(&store, at.as_deref())?;
            let p = store.population(at, view.view())?;
            if json {
                render::json(&mut out, &p)?;
            } else {
                render::population(&mut out, &p)?;
            }
            Ok(0)
        }
        Cmd::Findings {
            at,
            check,
            facility,
            view,
            json,
        } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let at = at_in(&store, at.as_deref())?;
            if let Some(c) = &check
                && habeas_domain::checks::check_info(c).is_none()
            {
                let known: Vec<&str> = habeas_domain::checks::CHECKS.iter().map(|c| c.id).collect();
                return Err(Fail(
                    2,
                    anyhow::anyhow!("--check `{c}`: unknown check; known: {}", known.join(", ")),
                ));
            }
            let facility = facility
                .map(|f| {
                    habeas_domain::FacilityCode::parse(&f)
                        .map_err(|e| Fail(2, anyhow::anyhow!("--facility: {e}")))
                })
                .transpose()?;
            let filter = habeas_store::FindingsFilter {
                check,
                facility,
                view: view.view(),
            };
            let report = store.findings_report(at, &filter)?;
            // Buffered: a national register has findings by the hundred thousand, and stdout
            // alone writes line by line.
            let mut out = std::io::BufWriter::new(&mut out);
            if json {
                render::json(&mut out, &report)?;
            } else {
                render::findings(&mut out, &report.findings)?;
            }
            out.flush()?;
            Ok(0)
        }
        Cmd::Stats {
            at,
            view,
            months,
            json,
            csv,
            table,
            suppress,
            no_checks,
        } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let at = match at_in(&store, at.as_deref())? {
                Some(t) => t,
                None => store.now(),
            };
            let mut stats = store.statistics(
                Some(at),
                habeas_stats::series_start(at, months - 1),
                !no_checks,
                view.view(),
            )?;
            if suppress {
                let min = store.stats_min_count(at)?;
                stats.suppress(min);
            }
            render::stats(&mut out, &stats, json, csv, table.as_deref())?;
            Ok(0)
        }
        Cmd::Publish { out: dir, from, to } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let date = |flag: &str, s: &str| {
                s.parse::<jiff::civil::Date>().map_err(|_| {
                    Fail(
                        2,
                        anyhow::anyhow!("--{flag} `{s}`: expected a date (2025-03-16)"),
                    )
                })
            };
            let at = match &to {
                Some(s) => habeas_stats::end_of_day(date("to", s)?),
                None => store.now(),
            };
            let series_from = match &from {
                Some(s) => habeas_stats::month_start(date("from", s)?),
                None => habeas_stats::series_start(at, 35),
            };
            if series_from > at {
                return Err(Fail(
                    2,
                    anyhow::anyhow!("--from must not be after --to (or now)"),
                ));
            }
            // A published site is revised as late records arrive: known now.
            let mut stats =
                store.statistics(Some(at), series_from, true, habeas_domain::View::KnownNow)?;
            stats.suppress(store.stats_min_count(at)?);
            let info = habeas_stats::SiteInfo {
                origin: store.origin().to_owned(),
                log_size: store.log_size(),
            };
            let files = habeas_stats::site(&stats, &info);
            std::fs::create_dir_all(&dir).with_context(|| format!("--out {}", dir.display()))?;
            for f in &files {
                let path = dir.join(&f.path);
                std::fs::write(&path, &f.contents)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            writeln!(
                out,
                "published {} files to {} (statistics at {}, months {} to {})",
                files.len(),
                dir.display(),
                stats.at,
                stats.series.from,
                stats.series.to
            )?;
            Ok(0)
        }
        Cmd::Log { what } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            match what {
                LogCmd::Key => writeln!(out, "{}", store.verifier_key())?,
                LogCmd::Checkpoint => out.write_all(store.latest_checkpoint()?.note.as_bytes())?,
                LogCmd::Leaf { seq } => out.write_all(&store.leaf(seq)?)?,
                LogCmd::Prove { seq } => {
                    out.write_all(store.inclusion_receipt(seq)?.format().as_bytes())?
                }
                LogCmd::Consistency { old_size } => {
                    out.write_all(store.consistency(old_size)?.format().as_bytes())?
                }
            }
            Ok(0)
        }
        Cmd::Verify { checkpoint, json } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let external = checkpoint
                .map(|p| {
                    std::fs::read_to_string(&p)
                        .with_context(|| format!("--checkpoint {}", p.display()))
                })
                .transpose()?;
            let report = store.verify(external.as_deref())?;
            if json {
                render::json(&mut out, &report)?;
            } else {
                render::verify(&mut out, &report)?;
            }
            Ok(if report.ok() { 0 } else { 1 })
        }
        Cmd::Generate {
            scale,
            seed,
            out: file,
            register,
            origin,
            json,
            no_daily_life,
            recurring_days,
        } => {
            let config = sim_config(&scale, seed, !no_daily_life, recurring_days)?;
            let started = std::time::Instant::now();
            let s = match (&register, file.as_deref()) {
                (Some(path), _) => demo::generate_register(&config, path, &origin)?,
                (None, Some("-")) if json => {
                    return Err(Fail(
                        2,
                        anyhow::anyhow!("--json: standard output already carries the commands"),
                    ));
                }
                (None, Some("-")) => habeas_sim::generate(&config, &mut out).map_err(sim_error)?,
                (None, file) => {
                    let file = file.unwrap_or_default();
                    let mut f = std::io::BufWriter::new(
                        std::fs::File::create(file).with_context(|| format!("--out {file}"))?,
                    );
                    let s = habeas_sim::generate(&config, &mut f).map_err(sim_error)?;
                    f.flush().with_context(|| format!("--out {file}"))?;
                    s
                }
            };
            if json {
                let summary = serde_json::json!({
                    "commands": s.commands,
                    "persons": s.persons,
                    "facilities": s.facilities,
                    "first_day": s.first_day,
                    "last_day": s.last_day,
                    "held_at_start": s.held_at_start,
                    "held_at_end": s.held_at_end,
                    "remand_at_end": s.remand_at_end,
                    "releases": s.releases,
                    "deaths": s.deaths,
                    "escapes": s.escapes,
                    "transfers": s.transfers,
                    "agreement_persons": s.agreement_persons,
                    "removed_against_order": s.removed_against_order,
                    "daily_life_records": s.daily_life_records,
                    "register": register,
                    "seconds": started.elapsed().as_secs_f64(),
                });
                writeln!(out, "{summary}")?;
            }
            eprintln!(
                "generated {} commands: {} persons, {} held at the end ({} on remand), {} deaths, {} under agreement ({} removed against the order), {} → {}, in {:.1} s",
                s.commands,
                s.persons,
                s.held_at_end,
                s.remand_at_end,
                s.deaths,
                s.agreement_persons,
                s.removed_against_order,
                s.first_day,
                s.last_day,
                started.elapsed().as_secs_f64()
            );
            Ok(0)
        }
        Cmd::Serve {
            addr,
            max_group,
            trusted_proxy,
        } => {
            let store = open(&cli.db, cli.key.as_deref())?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            eprintln!(
                "habeas: serving {} on http://{addr} (Ctrl-C to stop)",
                store.path().display()
            );
            runtime
                .block_on(habeas_web::serve(
                    habeas_web::AppState::with_max_group(
                        store,
                        usize::try_from(max_group).unwrap_or(usize::MAX),
                    )?
                    .with_overview_wait(habeas_web::SERVE_OVERVIEW_WAIT)
                    .with_trusted_proxies(trusted_proxy),
                    addr,
                ))
                .with_context(|| format!("serving on {addr}"))?;
            Ok(0)
        }
        Cmd::User { what } => user(&cli.db, cli.key.as_deref(), what, &mut out),
        Cmd::Copy {
            from,
            to,
            from_key,
            to_key,
        } => {
            let source_location = location(&from)?;
            let source_key = key_file(
                &source_location,
                from_key.as_deref().or(cli.key.as_deref()),
                "--from-key",
            )?;
            let source = Store::open_at(&source_location, &source_key)?;
            let target = location(&to)?;
            let target_key = to_key
                .or_else(|| target.default_key_path())
                .unwrap_or(source_key);
            let copy = source.copy_to(&target, &target_key)?;
            let head = copy.latest_checkpoint().ok();
            writeln!(
                out,
                "copied {} events and {} checkpoints to {} (signing key {})",
                copy.log_size(),
                copy.verify(None)?.checkpoints,
                copy.path().display(),
                target_key.display()
            )?;
            if let Some(head) = head {
                write!(out, "{}", head.note)?;
            }
            Ok(0)
        }
        Cmd::Demo {
            scale,
            seed,
            no_daily_life,
            recurring_days,
            rebuild,
            addr,
        } => {
            let recurring = (recurring_days > 0).then_some(recurring_days);
            let config = sim_config(&scale, seed, !no_daily_life, recurring)?;
            demo::run(&config, rebuild, addr, &mut out)
        }
        Cmd::Rebuild => {
            let mut store = open(&cli.db, cli.key.as_deref())?;
            let n = store.rebuild()?;
            writeln!(out, "rebuilt the current state from {n} events")?;
            Ok(0)
        }
    }
}

fn user(db: &str, key: Option<&Path>, what: UserCmd, out: &mut impl Write) -> Result<u8, Fail> {
    let mut store = open(db, key)?;
    match what {
        UserCmd::Add {
            name,
            role,
            facilities,
            password_stdin,
        } => {
            let role: habeas_domain::authz::Role = role
                .parse()
                .map_err(|e| Fail(2, anyhow::anyhow!("--role: {e}")))?;
            let facilities = facilities
                .iter()
                .map(|f| {
                    habeas_domain::FacilityCode::parse(f)
                        .map_err(|e| Fail(2, anyhow::anyhow!("--facility: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            store.add_user(&name, role, &facilities, password.as_deref())?;
            writeln!(out, "added {name} ({})", role.as_str())?;
        }
        UserCmd::List { json } => {
            let users = store.list_users()?;
            if json {
                render::json(out, &users)?;
            } else {
                for u in users {
                    let scope: Vec<&str> = u.facilities.iter().map(|f| f.as_str()).collect();
                    writeln!(
                        out,
                        "{:<24} {:<10} {:<20} {}{}",
                        u.name,
                        u.role.as_str(),
                        if scope.is_empty() {
                            "all facilities".to_owned()
                        } else {
                            scope.join(",")
                        },
                        if u.has_password {
                            "password"
                        } else {
                            "no password"
                        },
                        if u.disabled { "  DISABLED" } else { "" }
                    )?;
                }
            }
        }
        UserCmd::Disable { name } => {
            store.disable_user(&name)?;
            writeln!(out, "disabled {name}")?;
        }
        UserCmd::Token { name } => {
            let token = store.new_token(&name)?;
            writeln!(out, "{token}")?;
            eprintln!("this token is shown once; it is stored only as a hash");
        }
    }
    Ok(0)
}

/// The generator's settings from the command line.
/// An io::Error stays one, so that a closed pipe ends quietly.
fn sim_error(e: habeas_sim::SimError) -> Fail {
    match e {
        habeas_sim::SimError::Io(io) => Fail(2, io.into()),
        other => Fail(2, other.into()),
    }
}

fn sim_config(
    scale: &str,
    seed: u64,
    daily_life: bool,
    recurring_days: Option<u32>,
) -> Result<habeas_sim::Config, Fail> {
    Ok(habeas_sim::Config {
        scale: scale.parse().map_err(|e| Fail(2, anyhow::Error::new(e)))?,
        seed,
        daily_life,
        recurring_days,
    })
}
