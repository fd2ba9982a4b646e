//! The `habeas` binary through its command line, as a user or a script drives it: the
//! walkthrough, refusals, bad input, tampering behind the register's back, a crash mid-apply,
//! rebuild, and proofs checked with the ledger's verifiers.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use habeas_ledger::{Checkpoint, InclusionReceipt, Verifier, WitnessRequest, leaf_hash};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_habeas");
const ORIGIN: &str = "example.org/habeas/test";

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn habeas(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("HABEAS_DB")
        .output()
        .expect("run habeas")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: Output) -> Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    o
}

/// A register holding the walkthrough, applied in batches of 5 so it has several checkpoints.
fn walkthrough(dir: &Path) -> PathBuf {
    let db = dir.join("reg.db");
    ok(habeas(&db, &["init", "--origin", ORIGIN]));
    ok(habeas(
        &db,
        &[
            "apply",
            "--batch-size",
            "5",
            example("walkthrough.jsonl").to_str().unwrap(),
        ],
    ));
    db
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn walkthrough_answers_where_show_and_population() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());

    let w = json(&ok(habeas(&db, &["where", "SYN-000002", "--json"])));
    assert_eq!(w["register_no"], "SYN-000002");
    assert_eq!(w["status"], "in_custody");
    assert_eq!(w["facility"], "NORTE");
    assert_eq!(w["cell"], "NORTE/A/C01");
    assert_eq!(w["since"], "2025-04-01T11:00:00Z");

    let released = json(&ok(habeas(&db, &["where", "SYN-000001", "--json"])));
    assert_eq!(released["status"], "released");
    let dead = json(&ok(habeas(&db, &["where", "SYN-000004", "--json"])));
    assert_eq!(dead["status"], "deceased");
    assert_eq!(dead["since"], "2025-06-03T04:10:00Z");

    let text = stdout(&ok(habeas(&db, &["where", "SYN-000003"])));
    assert!(
        text.contains("cell CTRO/P1/C002") && text.contains("held for Federal State of Otheria"),
        "{text}"
    );

    let unknown = habeas(&db, &["where", "SYN-999999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("SYN-999999 is not in the register"));
    let malformed = habeas(&db, &["where", "not a number"]);
    assert_eq!(malformed.status.code(), Some(2));

    let p = json(&ok(habeas(&db, &["population", "--json"])));
    assert_eq!(p["total"], 2);
    assert_eq!(p["facilities"][0]["facility"], "CTRO");
    assert_eq!(p["facilities"][0]["held"], 1);
    // At the end of 2025-03-20: SYN-1, SYN-2 (back from court) and SYN-3 in CTRO.
    let p = json(&ok(habeas(
        &db,
        &["population", "--at", "2025-03-20", "--json"],
    )));
    assert_eq!(p["total"], 3);
    assert_eq!(p["facilities"][0]["units"][0]["held"], 2, "{p}");
    // During the hearing SYN-2 is absent but still held by CTRO.
    let p = json(&ok(habeas(
        &db,
        &["population", "--at", "2025-03-20T12:00:00Z", "--json"],
    )));
    assert_eq!(p["facilities"][0]["absent"], 1);
    assert_eq!(p["facilities"][0]["held"], 3);
    let bad_at = habeas(&db, &["population", "--at", "yesterday"]);
    assert_eq!(bad_at.status.code(), Some(2));
    assert!(stderr(&bad_at).contains("--at `yesterday`"));
}

/// #16: the walkthrough (events of 2025) entered today is history recorded late. Every
/// command answers a past time with what the register knows now by default, and only what
/// had been recorded by then with --as-recorded; the JSON says which.
#[test]
fn findings_population_and_stats_answer_the_same_world_about_a_past_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    for at in ["2025-03-20T12:00:00Z", "2025-03-25"] {
        let p = json(&ok(habeas(&db, &["population", "--at", at, "--json"])));
        assert_eq!(p["view"], "known_now");
        let s = json(&ok(habeas(
            &db,
            &["stats", "--at", at, "--json", "--no-checks"],
        )));
        assert_eq!(s["view"], "known_now");
        assert_eq!(
            s["national"]["total"], p["total"],
            "stats and population at {at}"
        );
        let f = json(&ok(habeas(&db, &["findings", "--at", at, "--json"])));
        assert_eq!(f["view"], "known_now");
        assert!(
            !f["findings"].as_array().unwrap().is_empty(),
            "people were held at {at}: the findings must not say nothing"
        );
        // The alias of the default is accepted and answers the same.
        let alias = json(&ok(habeas(
            &db,
            &["findings", "--at", at, "--known-now", "--json"],
        )));
        assert_eq!(alias, f);

        // Nothing of it had been recorded by then.
        let p = json(&ok(habeas(
            &db,
            &["population", "--at", at, "--as-recorded", "--json"],
        )));
        assert_eq!(
            (&p["view"], &p["total"]),
            (&"as_recorded".into(), &0.into())
        );
        let s = json(&ok(habeas(
            &db,
            &[
                "stats",
                "--at",
                at,
                "--as-recorded",
                "--json",
                "--no-checks",
            ],
        )));
        assert_eq!(
            (&s["view"], &s["national"]["total"]),
            (&"as_recorded".into(), &0.into())
        );
        let f = json(&ok(habeas(
            &db,
            &["findings", "--at", at, "--as-recorded", "--json"],
        )));
        assert_eq!(f["view"], "as_recorded");
        assert_eq!(f["findings"], serde_json::json!([]));
    }
    // Now, --known-now names what is given anyway.
    assert_eq!(
        stdout(&ok(habeas(&db, &["population", "--json"]))),
        stdout(&ok(habeas(&db, &["population", "--known-now", "--json"])))
    );
    // --as-recorded needs --at; both views at once is refused; the future is refused.
    let o = habeas(&db, &["findings", "--as-recorded"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = habeas(
        &db,
        &[
            "findings",
            "--at",
            "2025-03-20",
            "--as-recorded",
            "--known-now",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let o = habeas(&db, &["stats", "--at", "2999-01-01"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("after now"), "{}", stderr(&o));
    // Before the first admission: an explicit empty answer, not a crash.
    let o = ok(habeas(&db, &["population", "--at", "2020-01-01", "--json"]));
    assert_eq!(json(&o)["total"], 0);
    assert!(
        stderr(&o).contains("before the register's first admission"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn show_json_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    for r in ["SYN-000001", "SYN-000002", "SYN-000004"] {
        let mut file = json(&ok(habeas(&db, &["show", r, "--json"])));
        // Findings depend on today's date (late records, days without contact): the file
        // proper is snapshotted, the findings are checked by name.
        let findings = file
            .as_object_mut()
            .and_then(|o| o.remove("findings"))
            .expect("show --json has findings");
        let checks: Vec<&str> = findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["check"].as_str().unwrap())
            .collect();
        assert!(checks.contains(&"late-record"), "{r}: {checks:?}");
        insta::assert_json_snapshot!(format!("show_{r}"), file, {
            ".events[].recorded_at" => "[recorded_at]",
            ".events[].actor" => "[actor]",
            ".episodes[].stays[].recorded_at" => "[recorded_at]",
            ".episodes[].stays[].until_recorded_at" => "[recorded_at]",
            ".episodes[].legal_bases[].recorded_at" => "[recorded_at]",
            ".episodes[].end.recorded_at" => "[recorded_at]",
        });
    }
    let text = stdout(&ok(habeas(&db, &["show", "SYN-000001"])));
    assert!(text.contains("Ana Lucía Ejemplo Prueba"));
    assert!(text.contains("released"));
}

#[test]
fn refused_lines_name_line_field_rule_and_record_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let before = stdout(&ok(habeas(&db, &["log", "checkpoint"])));
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        concat!(
            r#"{"type":"transfer.order","transfer":"T-2","register_nos":["SYN-000003"],"to":{"jurisdiction":"Otheria","authority":"Otheria (synthetic)"},"authority":"Ministry","reference":"R-2","planned_at":"2025-05-01T00:00:00Z"}"#, "\n",
            r#"{"type":"placement.record","register_no":"SYN-000003","cell":"CTRO/P9/C001","at":"2025-05-01T00:00:00Z"}"#, "\n",
            "\n",
            r#"{"type":"placement.record","register_no":"SYN-000001","cell":"CTRO/P1/C001","at":"2025-10-01T00:00:00Z"}"#, "\n",
            r#"{"type":"admission.record","register_no":"SYN-000009","facility":"CTRO","at":"2025-10-01T00:00:00Z","legal_status":"remand","person":{"given_names":"X","family_names":"Y","sex":"male","date_of_birth":"1990-13-01"}}"#, "\n",
            "not json\n",
            r#"{"type":"placement.record","register_no":"SYN-000003","cel":"CTRO/P1/C001","at":"2025-10-01T00:00:00Z"}"#, "\n",
        ),
    )
    .unwrap();
    for atomic in [true, false] {
        let mut args = vec!["apply", bad.to_str().unwrap()];
        if atomic {
            args.push("--atomic");
        }
        let o = habeas(&db, &args);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        // Refusals, one line each; beside them, each committed batch is reported.
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("line ")).collect();
        assert_eq!(lines.len(), 6, "{err}");
        assert!(
            lines[0].starts_with("line 1: refused: field `register_nos[0]`"),
            "{err}"
        );
        assert!(
            lines[0].contains("[barred-by-court-order]")
                && lines[0].contains("CO-7")
                && lines[0].contains("SYN-CV-25-0001")
        );
        assert!(
            lines[1].starts_with("line 2: refused: field `cell`")
                && lines[1].contains("[unknown-cell]")
        );
        assert!(
            lines[2].starts_with("line 4: refused: field `register_no`")
                && lines[2].contains("[not-in-custody]")
                && lines[2].contains("record: person SYN-000001 is released")
        );
        assert!(
            lines[3].starts_with("line 5: refused: field `person.date_of_birth`")
                && lines[3].contains("[malformed]")
        );
        assert!(lines[4].starts_with("line 6: refused: not valid JSON"));
        assert!(lines[5].starts_with("line 7: refused: field `cel`: unknown field"));
        assert_eq!(
            stdout(&ok(habeas(&db, &["log", "checkpoint"]))),
            before,
            "nothing applied"
        );
    }

    // --atomic: one bad line among good ones leaves the register unchanged.
    let mixed = dir.path().join("mixed.jsonl");
    std::fs::write(
        &mixed,
        concat!(
            r#"{"type":"admission.record","register_no":"SYN-000010","facility":"CTRO","at":"2025-10-01T00:00:00Z","legal_status":"remand"}"#, "\n",
            r#"{"type":"placement.record","register_no":"SYN-000010","cell":"CTRO/P9/C001","at":"2025-10-01T01:00:00Z"}"#, "\n",
        ),
    )
    .unwrap();
    let o = habeas(&db, &["apply", "--atomic", mixed.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("nothing applied"));
    assert_eq!(habeas(&db, &["where", "SYN-000010"]).status.code(), Some(1));
    assert_eq!(stdout(&ok(habeas(&db, &["log", "checkpoint"]))), before);
    // Without --atomic the good line lands.
    assert_eq!(
        habeas(&db, &["apply", mixed.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    ok(habeas(&db, &["where", "SYN-000010"]));
    ok(habeas(&db, &["verify"]));
}

#[test]
fn bad_paths_and_files_fail_with_exit_2_and_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let o = habeas(&missing, &["where", "SYN-1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no register at"), "{}", stderr(&o));
    assert!(!missing.exists(), "reading never creates a register");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text, not a database\n").unwrap();
    let o = habeas(&text, &["verify"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not a habeas register"),
        "{}",
        stderr(&o)
    );

    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t(x)")
        .unwrap();
    let o = habeas(&other, &["population"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("is not a habeas register"),
        "{}",
        stderr(&o)
    );

    let db = walkthrough(dir.path());
    let o = habeas(&db, &["init", "--origin", ORIGIN]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"));
    let o = habeas(&db, &["apply", "/nonexistent/commands.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read /nonexistent/commands.jsonl"),
        "{}",
        stderr(&o)
    );
    let o = habeas(Path::new("postgres://localhost/test"), &["verify"]);
    assert_eq!(o.status.code(), Some(2));
    let o = habeas(&dir.path().join("x.db"), &["init", "--origin", "has space"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("origin `has space`"), "{}", stderr(&o));

    let mut child = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "apply", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\xff\xfe\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 1: refused: the line is not UTF-8"),
        "{}",
        stderr(&o)
    );
}

/// Each change made behind the register's back, with the sqlite shell say, and the first
/// sequence number `verify` must name.
#[test]
fn verify_detects_every_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    ok(habeas(&db, &["verify"]));
    let key = habeas_store::key_path(&db);
    let cases: &[(&str, &str, &str)] = &[
        (
            "record",
            "DROP TRIGGER events_no_update; UPDATE events SET record = replace(record, 'Ana Lucía', 'Ana Luisa') WHERE seq = 10",
            "10",
        ),
        (
            "salt",
            "DROP TRIGGER events_no_update; UPDATE events SET salt = zeroblob(32) WHERE seq = 12",
            "12",
        ),
        (
            "leaf",
            "DROP TRIGGER events_no_update; UPDATE events SET leaf = (SELECT leaf FROM events WHERE seq = 14) WHERE seq = 13",
            "13",
        ),
        (
            "stored tree hash",
            "DROP TRIGGER tree_no_update; UPDATE tree SET hash = zeroblob(32) WHERE level = 4 AND idx = 0",
            "0",
        ),
        (
            "deleted tree hash",
            "DROP TRIGGER tree_no_delete; DELETE FROM tree",
            "0",
        ),
        (
            "checkpoint note",
            "DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET note = replace(note, char(10) || '20' || char(10), char(10) || '21' || char(10)) WHERE size = 20",
            "19",
        ),
        (
            "checkpoint root",
            "DROP TRIGGER checkpoints_no_update; UPDATE checkpoints SET root = zeroblob(32) WHERE size = 15",
            "14",
        ),
        (
            "deleted event",
            "DROP TRIGGER events_no_delete; DROP TRIGGER tree_no_delete; DELETE FROM events WHERE seq = 26",
            "26",
        ),
        (
            "event removed from the middle",
            "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq = 3",
            "3",
        ),
    ];
    for (what, sql, seq) in cases {
        let copy = dir
            .path()
            .join(format!("tampered-{}.db", what.replace(' ', "-")));
        std::fs::copy(&db, &copy).unwrap();
        std::fs::copy(&key, habeas_store::key_path(&copy)).unwrap();
        rusqlite::Connection::open(&copy)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
        let o = habeas(&copy, &["verify"]);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stdout(&o));
        let expected = format!("the first bad sequence number is {seq}\n");
        assert!(stdout(&o).contains(&expected), "{what}: {}", stdout(&o));
        if *what == "deleted tree hash" {
            // A register whose tree head cannot be loaded opens for verify, but refuses writes.
            let o = habeas(
                &copy,
                &["apply", example("walkthrough.jsonl").to_str().unwrap()],
            );
            assert_eq!(o.status.code(), Some(2));
            assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
        }
        let report = json(&habeas(&copy, &["verify", "--json"]));
        assert!(!report["problems"].as_array().unwrap().is_empty());
    }
}

#[test]
fn verify_against_an_outside_checkpoint_and_proofs_check_with_standard_verifiers() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let vkey = stdout(&ok(habeas(&db, &["log", "key"])));
    let verifier = Verifier::from_verifier_key(vkey.trim()).unwrap();
    let old_note = stdout(&ok(habeas(&db, &["log", "checkpoint"])));
    let (old, _) = Checkpoint::open(&old_note, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(old.size, 27);
    let saved = dir.path().join("checkpoint.txt");
    std::fs::write(&saved, &old_note).unwrap();

    let more = dir.path().join("more.jsonl");
    std::fs::write(&more, r#"{"type":"admission.record","register_no":"SYN-000020","facility":"NORTE","at":"2025-10-01T00:00:00Z","legal_status":"remand"}"#).unwrap();
    ok(habeas(&db, &["apply", more.to_str().unwrap()]));
    let o = ok(habeas(
        &db,
        &["verify", "--checkpoint", saved.to_str().unwrap()],
    ));
    assert!(
        stdout(&o).contains("consistent with the given checkpoint at size 27"),
        "{}",
        stdout(&o)
    );

    let new_note = stdout(&ok(habeas(&db, &["log", "checkpoint"])));
    let (new, _) = Checkpoint::open(&new_note, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(new.size, 28);
    // Every leaf's inclusion receipt, and the consistency body from the saved checkpoint.
    for seq in [0u64, 5, 17, 27] {
        let leaf = ok(habeas(&db, &["log", "leaf", &seq.to_string()])).stdout;
        assert!(leaf.starts_with(b"habeas-entry/v1\n"));
        let receipt = InclusionReceipt::parse(&stdout(&ok(habeas(
            &db,
            &["log", "prove", &seq.to_string()],
        ))))
        .unwrap();
        assert_eq!(receipt.index, seq);
        let (cp, _) =
            Checkpoint::open(&receipt.checkpoint, std::slice::from_ref(&verifier)).unwrap();
        habeas_ledger::verify_inclusion(&leaf_hash(&leaf), seq, cp.size, &receipt.hashes, &cp.root)
            .unwrap();
    }
    let body =
        WitnessRequest::parse(&stdout(&ok(habeas(&db, &["log", "consistency", "27"])))).unwrap();
    assert_eq!(body.old_size, 27);
    habeas_ledger::verify_consistency(27, new.size, &body.proof, &old.root, &new.root).unwrap();
    assert_eq!(habeas(&db, &["log", "prove", "28"]).status.code(), Some(1));
    assert_eq!(
        habeas(&db, &["log", "consistency", "29"]).status.code(),
        Some(2)
    );

    // A checkpoint from another register does not verify here.
    let other = dir.path().join("other.db");
    ok(habeas(&other, &["init", "--origin", ORIGIN]));
    let facility = dir.path().join("f.jsonl");
    std::fs::write(&facility, r#"{"type":"facility.register","facility":"X","name":"X","authority":"A","timezone":"UTC","official_capacity":1}"#).unwrap();
    ok(habeas(&other, &["apply", facility.to_str().unwrap()]));
    let foreign = dir.path().join("foreign.txt");
    std::fs::write(
        &foreign,
        stdout(&ok(habeas(&other, &["log", "checkpoint"]))),
    )
    .unwrap();
    let o = habeas(&db, &["verify", "--checkpoint", foreign.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn rebuild_gives_back_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let people = ["SYN-000001", "SYN-000002", "SYN-000003", "SYN-000004"];
    let before: Vec<String> = people
        .iter()
        .map(|r| stdout(&ok(habeas(&db, &["show", r, "--json"]))))
        .collect();
    let pop = stdout(&ok(habeas(&db, &["population", "--json"])));
    let o = ok(habeas(&db, &["rebuild"]));
    assert!(stdout(&o).contains("from 27 events"));
    let after: Vec<String> = people
        .iter()
        .map(|r| stdout(&ok(habeas(&db, &["show", r, "--json"]))))
        .collect();
    assert_eq!(before, after);
    assert_eq!(pop, stdout(&ok(habeas(&db, &["population", "--json"]))));
    ok(habeas(&db, &["verify"]));
}

/// SIGKILL in the middle of a large apply: the log still verifies, and the register holds
/// exactly a prefix of the file made of whole batches, including every batch reported.
#[test]
fn a_kill_mid_apply_loses_no_committed_batch_and_leaves_the_log_verifiable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    ok(habeas(&db, &["init", "--origin", ORIGIN]));
    let file = dir.path().join("big.jsonl");
    // Line 2k admits K{k}; line 2k+1 records a family visit of theirs: a daily-life fact,
    // which nothing but its source key keeps from being recorded twice.
    const N: usize = 100_000;
    write_big_file(&file, N, true);
    const BATCH: usize = 250;
    let mut child = Command::new(BIN)
        .args([
            "--db",
            db.to_str().unwrap(),
            "apply",
            "--json",
            "--batch-size",
            &BATCH.to_string(),
            file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported_last_line = 0u64;
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let mut batches = 0;
    while batches < 20 {
        line.clear();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let v: Value = serde_json::from_str(&line).unwrap();
        if let Some(c) = v.get("committed") {
            reported_last_line = c["last_line"].as_u64().unwrap();
            batches += 1;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        reported_last_line > 0,
        "no batch was reported before the kill"
    );
    assert!(
        (reported_last_line as usize) < N,
        "the apply finished before the kill; make the file larger"
    );

    ok(habeas(&db, &["verify"]));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let persons: i64 = conn
        .query_row("SELECT count(*) FROM persons", [], |r| r.get(0))
        .unwrap();
    let events: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    let max: String = conn
        .query_row("SELECT max(register_no) FROM persons", [], |r| r.get(0))
        .unwrap();
    let persons = persons as u64;
    let events = events as u64;
    // Every line is one event: the register holds lines 1..=events, whole batches only.
    assert!(
        events >= reported_last_line,
        "a reported batch is missing: {events} events, reported up to line {reported_last_line}"
    );
    assert_eq!(events % BATCH as u64, 0, "whole batches only");
    assert_eq!(persons, events / 2, "the admissions of that prefix");
    assert_eq!(
        max,
        format!("K{persons:07}"),
        "the register holds exactly a prefix of the file"
    );
    // The same command again resumes: the lines already recorded are skipped, not refused
    // and not recorded twice.
    let o = ok(habeas(
        &db,
        &[
            "apply",
            "--batch-size",
            "5000",
            "--json",
            file.to_str().unwrap(),
        ],
    ));
    let summary: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["already_recorded"], events);
    assert_eq!(summary["summary"]["refused"], 0);
    let total: i64 = conn
        .query_row("SELECT count(*) FROM persons", [], |r| r.get(0))
        .unwrap();
    assert_eq!(total as usize, N);
    let events: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(events as usize, 2 * N + 1, "every line recorded once");
    ok(habeas(&db, &["verify"]));
}

/// Changes that keep each leaf consistent with its record — a rewrite with a recomputed leaf,
/// or an event added with a correct leaf and tree by someone without the key — are caught by
/// the signed checkpoints, and the register refuses to sign over them.
#[test]
fn consistent_rewrites_and_unsigned_events_are_caught_by_the_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let key = habeas_store::key_path(&db);
    // Rewrite event 20's record and recompute its leaf: only the checkpoints can tell.
    let copy = dir.path().join("rewritten.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::copy(&key, habeas_store::key_path(&copy)).unwrap();
    {
        let conn = rusqlite::Connection::open(&copy).unwrap();
        conn.execute_batch("DROP TRIGGER events_no_update").unwrap();
        let (record, salt): (String, Vec<u8>) = conn
            .query_row("SELECT record, salt FROM events WHERE seq = 20", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        let forged = record.replace("2025-04-01T06:00:00Z", "2025-04-02T06:00:00Z");
        assert_ne!(forged, record);
        let leaf = habeas_store::leaf_bytes(20, &salt, forged.as_bytes());
        conn.execute(
            "UPDATE events SET record = ?1, leaf = ?2 WHERE seq = 20",
            rusqlite::params![forged, leaf],
        )
        .unwrap();
    }
    let o = habeas(&copy, &["verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("the first bad sequence number is 20"),
        "{}",
        stdout(&o)
    );
    // The register will not sign a tree that does not extend its last checkpoint.
    let o = habeas(
        &copy,
        &["apply", example("walkthrough.jsonl").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("damaged") && stderr(&o).contains("latest signed checkpoint"),
        "{}",
        stderr(&o)
    );

    // Add an event with a correct leaf (and no tree row needed below level 4), without the key.
    let copy = dir.path().join("appended.db");
    std::fs::copy(&db, &copy).unwrap();
    std::fs::copy(&key, habeas_store::key_path(&copy)).unwrap();
    {
        let conn = rusqlite::Connection::open(&copy).unwrap();
        let (record, salt): (String, Vec<u8>) = conn
            .query_row("SELECT record, salt FROM events WHERE seq = 26", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        let forged = record.replace("\"seq\":26", "\"seq\":27");
        let leaf = habeas_store::leaf_bytes(27, &salt, forged.as_bytes());
        conn.execute(
            "INSERT INTO events (seq, type, subject, at_us, recorded_at_us, record, salt, leaf)
             SELECT 27, type, subject, at_us, recorded_at_us, ?1, salt, ?2 FROM events WHERE seq = 26",
            rusqlite::params![forged, leaf],
        )
        .unwrap();
    }
    let o = habeas(&copy, &["verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("the first bad sequence number is 27"),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("covered by no signed checkpoint"),
        "{}",
        stdout(&o)
    );
    let o = habeas(
        &copy,
        &["apply", example("walkthrough.jsonl").to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

/// `rebuild` repairs current-state tables broken behind the register's back.
#[test]
fn rebuild_repairs_a_corrupt_state_table() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let before = stdout(&ok(habeas(&db, &["show", "SYN-000003", "--json"])));
    let tamper =
        "UPDATE cells SET data = 'garbage'; DELETE FROM persons WHERE register_no = 'SYN-000003'";
    // The shell cannot: the state tables take writes from the register only.
    let shell = rusqlite::Connection::open(&db).unwrap();
    let err = shell.execute_batch(tamper).unwrap_err().to_string();
    assert!(err.contains("no such function: habeas_writer"), "{err}");
    // A program imitating the register's mark can; verify and rebuild are the defence.
    shell
        .create_scalar_function(
            habeas_store::WRITER_FUNCTION,
            0,
            rusqlite::functions::FunctionFlags::SQLITE_UTF8,
            |_| Ok(1),
        )
        .unwrap();
    shell.execute_batch(tamper).unwrap();
    drop(shell);
    let o = habeas(&db, &["population"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cells row") && stderr(&o).contains("rebuild"),
        "{}",
        stderr(&o)
    );
    // verify compares the state with the log and names what was broken.
    let o = habeas(&db, &["verify"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("persons: SYN-000003") && stdout(&o).contains("cells: "),
        "{}",
        stdout(&o)
    );
    ok(habeas(&db, &["rebuild"]));
    assert_eq!(
        stdout(&ok(habeas(&db, &["show", "SYN-000003", "--json"]))),
        before
    );
    ok(habeas(&db, &["population"]));
    ok(habeas(&db, &["verify"]));
}

/// Starts `habeas demo --scale small` with its cache in `cache`, reads what it prints until
/// the accounts are listed, and stops it.
fn run_demo(cache: &Path) -> String {
    let mut child = Command::new(BIN)
        .args(["demo", "--scale", "small", "--addr", "127.0.0.1:0"])
        .env_remove("HABEAS_DB")
        .env("HABEAS_CACHE", cache)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut line = String::new();
    while lines.len() < 7 && reader.read_line(&mut line).unwrap() > 0 {
        lines.push(std::mem::take(&mut line));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    lines.concat()
}

/// `habeas demo` builds a synthetic register once per settings, prints one account per role
/// (password and token) and serves it; a second run reuses the register it built.
#[test]
fn the_demo_builds_a_register_and_prints_the_demo_accounts() {
    let cache = tempfile::tempdir().unwrap();
    let text = run_demo(cache.path());
    assert!(text.contains("The demo register is ready"), "{text}");
    assert!(text.contains("Everything in it is synthetic"), "{text}");
    for role in ["admin", "registrar", "officer", "health", "monitor"] {
        let account = text
            .lines()
            .find(|l| l.contains(&format!("demo.{role} ")))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(account.contains("habeas_"), "a token: {account}");
        assert!(
            account.contains(&format!("password demo-{role}-synthetic")),
            "{account}"
        );
    }
    let db_of = |text: &str| {
        text.split("ready in ")
            .nth(1)
            .and_then(|s| s.split(": ").nth(1))
            .and_then(|s| s.split(" (").next())
            .unwrap()
            .to_owned()
    };
    let db = db_of(&text);
    assert!(db.starts_with(cache.path().to_str().unwrap()), "{db}");
    // The CLI beside the demo sees the demo's now (#21: one clock), not today's date.
    let clock: jiff::Timestamp = text
        .split("clock set to ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap()
        .parse()
        .unwrap();
    let stats = json(&ok(habeas(
        Path::new(&db),
        &["stats", "--json", "--no-checks"],
    )));
    let now: jiff::Timestamp = stats["at"].as_str().unwrap().parse().unwrap();
    assert!(
        now >= clock && now.duration_since(clock) < jiff::SignedDuration::from_mins(10),
        "the CLI's now {now}, the demo's clock {clock}"
    );
    // The register it built verifies, and the next run serves the same one.
    ok(habeas(Path::new(&db), &["verify"]));
    let size = stdout(&ok(habeas(Path::new(&db), &["log", "checkpoint"])));
    let again = run_demo(cache.path());
    assert_eq!(db_of(&again), db, "{again}");
    assert!(again.contains("demo.monitor "), "{again}");
    assert_eq!(
        stdout(&ok(habeas(Path::new(&db), &["log", "checkpoint"]))),
        size
    );
}

/// `habeas generate --register` builds the register `habeas apply` would from the same lines
/// (in bulk, recorded at each command's time): every command accepted, the summary's counts in
/// it, verifying, openable; it never overwrites a file.
#[test]
fn generate_builds_a_register_in_bulk_that_verifies_and_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("synthetic.db");
    let o = ok(Command::new(BIN)
        .args([
            "generate",
            "--scale",
            "small",
            "--json",
            "--origin",
            "example.org/habeas/t",
        ])
        .arg("--register")
        .arg(&db)
        .env_remove("HABEAS_DB")
        .output()
        .unwrap());
    let summary: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(summary["commands"].as_u64().unwrap() > 1_000, "{summary}");
    ok(habeas(&db, &["verify"]));
    let population: serde_json::Value =
        serde_json::from_str(&stdout(&ok(habeas(&db, &["population", "--json"])))).unwrap();
    assert_eq!(
        population["total"].as_u64(),
        summary["held_at_end"].as_u64(),
        "{population}"
    );
    let checkpoint = stdout(&ok(habeas(&db, &["log", "checkpoint"])));
    assert!(
        checkpoint.starts_with("example.org/habeas/t\n"),
        "{checkpoint}"
    );
    // No temporary file is left beside it, and a second build refuses the existing register.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("synthetic.db")),
        "{names:?}"
    );
    let again = Command::new(BIN)
        .args(["generate", "--scale", "small", "--register"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("never overwritten"),
        "{}",
        stderr(&again)
    );
    assert_eq!(stdout(&ok(habeas(&db, &["log", "checkpoint"]))), checkpoint);
    // Every finding on a generated register names the log entries that show it (#16).
    let findings = json(&ok(habeas(&db, &["findings", "--json"])));
    assert_eq!(findings["view"], "known_now");
    let findings = findings["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    for f in findings {
        assert!(
            f["evidence"].as_array().is_some_and(|e| !e.is_empty()),
            "no evidence: {f}"
        );
    }
}

/// `apply --bulk` loads a new register to the same state as `apply` (every file identical),
/// and refuses a register that already holds events, changing nothing.
#[test]
fn apply_bulk_loads_a_new_register_like_apply_and_refuses_a_used_one() {
    let dir = tempfile::tempdir().unwrap();
    let plain = walkthrough(dir.path());
    let bulk = dir.path().join("bulk.db");
    ok(habeas(&bulk, &["init", "--origin", ORIGIN]));
    ok(habeas(
        &bulk,
        &[
            "apply",
            "--bulk",
            "--batch-size",
            "5",
            example("walkthrough.jsonl").to_str().unwrap(),
        ],
    ));
    ok(habeas(&bulk, &["verify"]));
    for r in ["SYN-000001", "SYN-000002", "SYN-000003", "SYN-000004"] {
        let show = |db: &Path| stdout(&ok(habeas(db, &["where", r, "--json"])));
        assert_eq!(show(&bulk), show(&plain), "{r}");
    }
    let before = stdout(&ok(habeas(&bulk, &["log", "checkpoint"])));
    let again = habeas(
        &bulk,
        &[
            "apply",
            "--bulk",
            example("walkthrough.jsonl").to_str().unwrap(),
        ],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("new, empty register only"),
        "{}",
        stderr(&again)
    );
    assert_eq!(stdout(&ok(habeas(&bulk, &["log", "checkpoint"]))), before);
}

// --- PostgreSQL -----------------------------------------------------------------------------

/// A fresh PostgreSQL database `habeas_t_<random>` on the test server (`HABEAS_TEST_PG`, else
/// 127.0.0.1:5432/test), dropped at the end. An unreachable server fails the test.
struct PgDb {
    url: String,
    name: String,
}

fn pg_admin() -> postgres::Client {
    let url = std::env::var("HABEAS_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| {
        panic!("PostgreSQL at {url} is unreachable ({e}): this test fails rather than skips")
    })
}

impl PgDb {
    fn new() -> PgDb {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!("habeas_t_{:x}{:x}", std::process::id(), nanos);
        pg_admin()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let admin = std::env::var("HABEAS_TEST_PG")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
        PgDb { url, name }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = pg_admin().batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// `habeas copy` from SQLite to PostgreSQL and back: the log is the same byte for byte, so
/// every leaf, checkpoint, receipt and consistency proof reads the same from each copy, each
/// verifies, and the checkpoint kept outside the first register verifies against the others.
#[test]
fn copy_moves_a_register_to_postgresql_and_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let pg = PgDb::new();
    let pg_db = PathBuf::from(&pg.url);
    let pg_key = dir.path().join("pg.key");
    let pg_key = pg_key.to_str().unwrap();
    let o = ok(habeas(
        &db,
        &[
            "copy",
            "--from",
            db.to_str().unwrap(),
            "--to",
            &pg.url,
            "--to-key",
            pg_key,
        ],
    ));
    assert!(
        stdout(&o).starts_with("copied 27 events and 6 checkpoints to postgres://"),
        "{}",
        stdout(&o)
    );
    let back = dir.path().join("back.db");
    // PostgreSQL → SQLite: --key names the source's key; the copy's goes beside it.
    ok(habeas(
        &pg_db,
        &[
            "--key",
            pg_key,
            "copy",
            "--from",
            &pg.url,
            "--to",
            back.to_str().unwrap(),
        ],
    ));
    let checkpoint = dir.path().join("outside.checkpoint");
    std::fs::write(
        &checkpoint,
        stdout(&ok(habeas(&db, &["log", "checkpoint"]))),
    )
    .unwrap();
    let same: &[&[&str]] = &[
        &["log", "key"],
        &["log", "checkpoint"],
        &["log", "leaf", "0"],
        &["log", "leaf", "25"],
        &["log", "prove", "3"],
        &["log", "prove", "25"],
        &["log", "consistency", "5"],
        &["log", "consistency", "20"],
        &["show", "SYN-000002", "--json"],
        &["population", "--json"],
        &["verify", "--checkpoint", checkpoint.to_str().unwrap()],
    ];
    for args in same {
        let original = stdout(&ok(habeas(&db, args)));
        let on_pg = stdout(&ok(habeas(&pg_db, &[&["--key", pg_key], *args].concat())));
        let returned = stdout(&ok(habeas(&back, args)));
        assert_eq!(on_pg, original, "{args:?}");
        assert_eq!(returned, original, "{args:?}");
    }
    // The copy is a register like any other: it takes new commands and still verifies.
    ok(habeas(
        &pg_db,
        &[
            "--key",
            pg_key,
            "apply",
            example("checks.jsonl").to_str().unwrap(),
        ],
    ));
    ok(habeas(
        &pg_db,
        &[
            "--key",
            pg_key,
            "verify",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
        ],
    ));

    // Never onto an existing register; never without the key of a PostgreSQL source.
    let o = habeas(
        &db,
        &[
            "copy",
            "--from",
            db.to_str().unwrap(),
            "--to",
            &pg.url,
            "--to-key",
            pg_key,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = Command::new(BIN)
        .args([
            "copy",
            "--from",
            &pg.url,
            "--to",
            dir.path().join("x.db").to_str().unwrap(),
        ])
        .env_remove("HABEAS_DB")
        .env_remove("HABEAS_KEY")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("signing key"), "{}", stderr(&o));
}

/// Feeds `input` to `habeas apply -` on `db`.
fn apply_stdin(db: &Path, input: &[u8], extra: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "apply"])
        .args(extra)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Written from a thread: a large input must not fill the pipe while nobody reads.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap();
    o
}

/// Hardening (#15, item 7): what an auditor typed that the register used to accept. Each line
/// is refused naming its field and rule, and nothing of it is recorded.
#[test]
fn implausible_input_is_refused_naming_the_field_and_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let before = stdout(&ok(habeas(&db, &["log", "checkpoint"])));
    let cases: &[(&str, &str, &str)] = &[
        (
            r#"{"type":"contact.record","register_no":"SYN-000002","at":"2025-05-01T10:00:00Z","kind":"call","kind":"family_visit"}"#,
            "duplicate key `kind`: an object names each field once",
            "malformed",
        ),
        (
            r#"{"type":"admission.record","register_no":"SYN-000020","facility":"CTRO","at":"2025-05-01T10:00:00Z","legal_status":"remand","person":{"given_names":"A","family_names":"B","sex":"male","sex":"female"}}"#,
            "field `person`: duplicate key `sex`",
            "malformed",
        ),
        (
            r#"{"type":"facility.register","facility":"MARS","name":"M","authority":"A","timezone":"Mars/Olympus","official_capacity":10}"#,
            "field `timezone`",
            "malformed",
        ),
        (
            r#"{"type":"admission.record","register_no":"SYN-000021","facility":"CTRO","at":"2025-05-01T10:00:00Z","legal_status":"remand","person":{"given_names":"A","family_names":"B","sex":"male","date_of_birth":"2999-01-01"}}"#,
            "field `person.date_of_birth`",
            "born-after-admission",
        ),
        (
            r#"{"type":"admission.record","register_no":"SYN-000022","facility":"CTRO","at":"0001-01-01T00:00:00Z","legal_status":"remand"}"#,
            "field `at`",
            "too-early",
        ),
        (
            r#"{"type":"contact.record","register_no":"SYN-000002","at":"0000-01-01T00:00:00Z","kind":"call"}"#,
            "field `at`",
            "too-early",
        ),
        (
            r#"{"type":"count.record","unit":"CTRO/P1","at":"0000-01-01T00:00:00Z","counted":1}"#,
            "field `at`",
            "too-early",
        ),
        // SYN-000001 was released on 2025-09-12.
        (
            r#"{"type":"contact.record","register_no":"SYN-000001","at":"2025-10-01T10:00:00Z","kind":"family_visit"}"#,
            "field `at`",
            "outside-custody",
        ),
    ];
    for (line, field, rule) in cases {
        let o = apply_stdin(&db, format!("{line}\n").as_bytes(), &[]);
        assert_eq!(o.status.code(), Some(1), "{line}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains(&format!("line 1: refused: {field}"))
                && err.contains(&format!("[{rule}]")),
            "{line}: {err}"
        );
    }
    assert_eq!(
        stdout(&ok(habeas(&db, &["log", "checkpoint"]))),
        before,
        "nothing was recorded"
    );
    // The bound is a setting: a register that imports older history widens it.
    ok(apply_stdin(
        &db,
        br#"{"type":"settings.record","at":"2025-05-01T00:00:00Z","limits":{"records.max_years_back":3000}}
{"type":"count.record","unit":"CTRO/P1","at":"0001-01-01T00:00:00Z","counted":0}
"#,
        &[],
    ));
}

/// Hardening (#15, item 8): a refusal quotes what the line said, but an escape sequence in it
/// never reaches the terminal raw; a line over the limit is refused without being held whole.
#[test]
fn refusals_escape_control_characters_and_huge_lines_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    // JSON escapes become real ESC and BEL characters in the parsed type name, which the
    // refusal quotes.
    let o = apply_stdin(&db, b"{\"type\":\"\\u001b[2J\\u0007x\"}\n", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !o.stderr.iter().any(|&b| b == 0x1b || b == 0x07),
        "raw control characters on stderr: {:?}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("\\u{001b}[2J\\u{0007}x"),
        "{}",
        stderr(&o)
    );

    // 3 MiB on one line, then a good line: the first is refused, the second applied.
    let mut input = Vec::with_capacity(3 << 20);
    input.extend_from_slice(b"{\"type\":\"");
    input.resize(3 << 20, b'a');
    input.extend_from_slice(b"\"}\n");
    input.extend_from_slice(
        br#"{"type":"contact.record","register_no":"SYN-000002","at":"2025-05-01T10:00:00Z","kind":"call"}"#,
    );
    input.push(b'\n');
    let o = apply_stdin(&db, &input, &["--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 1: refused: the line is longer than 1048576 bytes"),
        "{}",
        stderr(&o)
    );
    let summary: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["applied"], 1);
}

/// Hardening (#15, item 6): a file applied again records none of its lines twice — daily-life
/// lines included, which nothing else would refuse — and says how many it skipped.
#[test]
fn applying_a_file_again_records_no_line_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = walkthrough(dir.path());
    let events = |db: &Path| -> i64 {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
            .unwrap()
    };
    let before = events(&db);
    let o = ok(habeas(
        &db,
        &[
            "apply",
            "--json",
            example("walkthrough.jsonl").to_str().unwrap(),
        ],
    ));
    let summary: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["applied"], 0);
    assert_eq!(summary["summary"]["refused"], 0);
    assert_eq!(summary["summary"]["already_recorded"], 27);
    assert!(
        stderr(&o).contains("committed lines 1-27: 0 applied (0 events), 27 already recorded"),
        "{}",
        stderr(&o)
    );
    assert_eq!(events(&db), before);
    // A command that names its own source_id is recorded once, whatever else it says.
    let line = br#"{"type":"contact.record","source_id":"visits-book/2025/0412","register_no":"SYN-000002","at":"2025-05-01T10:00:00Z","kind":"family_visit"}
{"type":"contact.record","source_id":"visits-book/2025/0412","register_no":"SYN-000002","at":"2025-05-01T10:00:00Z","kind":"call"}
"#;
    let o = ok(apply_stdin(&db, line, &["--json"]));
    let summary: Value = serde_json::from_str(stdout(&o).lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["applied"], 1);
    assert_eq!(summary["summary"]["already_recorded"], 1);
    assert_eq!(events(&db), before + 1);
    ok(habeas(&db, &["verify"]));
}

/// Hardening (#15, item 6): a bulk import that fails, or is killed, leaves the register as
/// `init` made it, so the same command can be run again.
#[test]
fn a_failed_or_killed_bulk_import_can_be_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bulk.db");
    ok(habeas(&db, &["init", "--origin", ORIGIN]));
    // Reading a directory fails after the load has begun.
    let o = habeas(&db, &["apply", "--bulk", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("run the same command again"),
        "{}",
        stderr(&o)
    );
    let v = json(&ok(habeas(&db, &["verify", "--json"])));
    assert_eq!(v["events"], 0);

    // Killed in the middle of a large import.
    let file = dir.path().join("big.jsonl");
    const N: usize = 100_000;
    write_big_file(&file, N, false);
    let mut child = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "apply", "--bulk", "--json"])
        .args(["--batch-size", "500", file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("committed"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
    let v = json(&ok(habeas(&db, &["verify", "--json"])));
    assert_eq!(v["events"], 0, "the register is still the empty one");

    let o = ok(habeas(&db, &["apply", "--bulk", file.to_str().unwrap()]));
    assert!(
        stdout(&o).contains(&format!("applied {} commands", N + 1)),
        "{}",
        stdout(&o)
    );
    ok(habeas(&db, &["verify"]));
    assert!(
        !dir.path().join("bulk.bulk-building").exists(),
        "no file is left behind"
    );
}

/// A facility, then `n` admissions (K0000001…), each followed by a family visit when `visits`.
fn write_big_file(path: &Path, n: usize, visits: bool) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, r#"{{"type":"facility.register","facility":"BIG","name":"Big","authority":"A","timezone":"UTC","official_capacity":1000000}}"#).unwrap();
    for i in 1..=n {
        writeln!(f, r#"{{"type":"admission.record","register_no":"K{i:07}","facility":"BIG","at":"2025-01-01T00:00:00Z","legal_status":"remand"}}"#).unwrap();
        if visits {
            writeln!(f, r#"{{"type":"contact.record","register_no":"K{i:07}","at":"2025-01-02T00:00:00Z","kind":"family_visit"}}"#).unwrap();
        }
    }
}

/// #20: the synthetic national register shows the case whole, on the national scale's
/// parameters with a twentieth of its population (5,500 held at the end): the mega-prison is
/// filled pavilion after pavilion in cells of 65–70 people for fewer bunks, so most of its
/// people are in a `bed-shortage` cell and `floor-space` gives the m² per person; nobody
/// there goes outdoors or gets a visit; the population grows from 36,000 to 110,000 (scaled);
/// deaths above 261 (scaled), most not referred; the agreement's price and the people received
/// under it; removals while a court order barred them.
#[test]
fn the_national_register_shows_every_fact_of_the_case() {
    const SCALE: f64 = 110_000.0 / 5_500.0;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("case.db");
    let o = ok(Command::new(BIN)
        .args([
            "generate",
            "--scale",
            "5500",
            "--seed",
            "1",
            "--recurring-days",
            "45",
            "--json",
        ])
        .arg("--register")
        .arg(&db)
        .env_remove("HABEAS_DB")
        .output()
        .unwrap());
    let summary = json(&o);
    let scaled = |k: &str| summary[k].as_f64().unwrap() * SCALE;
    assert!(
        (34_000.0..38_000.0).contains(&scaled("held_at_start")),
        "{summary}"
    );
    assert!(
        (104_000.0..116_000.0).contains(&scaled("held_at_end")),
        "{summary}"
    );
    assert!(scaled("deaths") > 261.0, "{summary}");
    assert!(
        summary["removed_against_order"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    assert!(scaled("agreement_persons") >= 200.0, "{summary}");

    let at = "2024-03-31T23:00:00Z";
    let findings = json(&ok(habeas(&db, &["findings", "--at", at, "--json"])));
    let findings = findings["findings"].as_array().unwrap();
    let of = |check: &str| -> Vec<&Value> {
        findings
            .iter()
            .filter(|f| f["check"] == check && f["facility"] == "CECOT-SYN")
            .collect()
    };
    let population = json(&ok(habeas(&db, &["population", "--at", at, "--json"])));
    let mega = population["facilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["facility"] == "CECOT-SYN")
        .unwrap()
        .clone();
    let held = mega["held"].as_u64().unwrap();
    assert!(held > 500, "{mega}");
    // Pavilions are opened one after another: the first are full, the last empty.
    let by_pavilion: Vec<u64> = mega["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["held"].as_u64().unwrap())
        .collect();
    // (The prison keeps its 40,000 places at this scale, so its people fill the first
    // pavilion or the first few: every pavilion before the last one in use is full.)
    let in_use = by_pavilion.iter().take_while(|n| **n > 0).count();
    assert!(in_use >= 1, "{by_pavilion:?}");
    assert!(
        by_pavilion[in_use..].iter().all(|n| *n == 0),
        "{by_pavilion:?}"
    );
    assert!(
        by_pavilion[..in_use - 1].iter().all(|n| *n >= 4_900),
        "{by_pavilion:?}"
    );
    assert_eq!(*by_pavilion.last().unwrap(), 0, "{by_pavilion:?}");
    // Most of its people are in a cell with fewer bunks than people, 65–70 to a cell.
    let short: Vec<&Value> = of("bed-shortage");
    let in_short: u64 = short
        .iter()
        .map(|f| {
            let d = f["detail"].as_str().unwrap();
            let n = d
                .split(" holds ")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap();
            let n: u64 = n.parse().unwrap();
            assert!((60..=70).contains(&n), "{d}");
            n
        })
        .sum();
    assert!(
        in_short * 2 > held,
        "{in_short} of {held} in bed-shortage cells"
    );
    assert!(
        !of("floor-space").is_empty(),
        "floor-space in the mega-prison"
    );
    // Nobody outdoors, no visits.
    let persons_with = |check: &str| of(check).len() as u64;
    assert!(
        persons_with("no-outdoor-exercise") * 10 >= held * 9,
        "{}",
        persons_with("no-outdoor-exercise")
    );
    assert!(
        persons_with("no-family-contact") * 2 >= held,
        "{}",
        persons_with("no-family-contact")
    );
    // Removals while a court order barred them.
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "transfer-against-order"),
        "transfer-against-order"
    );
    // Deaths, most not referred; the agreement priced at $6 million a year.
    let stats = json(&ok(habeas(
        &db,
        &[
            "stats",
            "--at",
            at,
            "--months",
            "36",
            "--json",
            "--no-checks",
        ],
    )));
    let (deaths, referred): (u64, u64) =
        stats["months"]
            .as_array()
            .unwrap()
            .iter()
            .fold((0, 0), |(d, r), m| {
                (
                    d + m["deaths"].as_u64().unwrap(),
                    r + m["deaths_referred"].as_u64().unwrap(),
                )
            });
    assert!(
        deaths as f64 * SCALE > 261.0 && referred * 2 < deaths,
        "{deaths} deaths, {referred} referred"
    );
    let agreement = &stats["agreements"][0];
    assert!(agreement.to_string().contains("6000000"), "{agreement}");
}
