//! `habeas stats` and `habeas publish` over `examples/stats.jsonl`, a register small enough
//! that every figure was computed by hand (below, next to the assertion that checks it).
//!
//! The register is applied through the Store API as if entered live (the clock follows each
//! line's `at`, so nothing is a late record), then read through the library and through the
//! `habeas` binary. Statistics at T = 2025-03-31T23:59:59.999999Z (`--at 2025-03-31`),
//! months 2025-01 to 2025-03 (`--months 3`).
//!
//! The register (all UTC; facilities NORTE, capacity 10: cells A/C1 4 places 2 beds 12 m²,
//! A/C2 4 places 4 beds 16 m²; SUR, capacity 5: cell B/C1 5 places 5 beds, no area):
//!
//! | person | sex, born, nationality | admitted | legal status | end |
//! |---|---|---|---|---|
//! | S06 | F 1975, XYZ | SUR 01-05 08:00 | remand | died 02-14 06:00, cardiac arrest; referred 10:00 |
//! | S07 | M 1970, XYZ | SUR 01-05 08:30 | sentenced | transfer to NORTE 03-03 08:00–12:00, A/C1 |
//! | S01 | F 1990, XYZ | NORTE 01-10 10:00, A/C1 | remand | held |
//! | S02 | M 2008-06-15, XYZ | NORTE 01-15 12:00, A/C1 12:30; no legal basis | remand | held |
//! | S03 | M 1980, OTH | NORTE 01-20 09:00, A/C2 | sentenced | released 02-10 09:00 |
//! | S10 | M, no date of birth, no nationality | SUR 01-25 10:00 | remand | escaped 03-05 02:00 |
//! | S04 | M, no date of birth, OTH; AG-1 | NORTE 02-01 00:00, A/C1 01:00 | other | held |
//! | S05 | M 1988, OTH; AG-1 | NORTE 02-01 00:00, A/C2 01:00 | other | out to Otheria 02-21 00:00 |
//! | S09 | M 1995, XYZ + OTH | SUR 03-01 10:00 | convicted_unsentenced → sentenced 03-15 | held |
//! | S08 | no identity | SUR 03-20 00:00 | remand | died 03-25 00:00, no cause, not referred |
//!
//! Settings: national population 1,000,000, country XYZ, publication_min_count 3, and the
//! daily-life checks' limits set out of reach, so that the findings are the ones below.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use habeas_stats::{Statistics, series_start};
use jiff::Timestamp;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_habeas");

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/stats.jsonl")
}

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Applies the example as if entered live; returns the register's path.
fn build(dir: &Path) -> PathBuf {
    let path = dir.join("stats.db");
    let mut store = habeas_store::Store::create(&path, "example.org/habeas/stats").unwrap();
    let clock = Arc::new(Mutex::new(t("2025-01-01T00:00:00Z")));
    let c = clock.clone();
    store.set_clock(move || *c.lock().unwrap());
    for line in std::fs::read_to_string(example()).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let Some(at) = v["at"].as_str() {
            let next = t(at)
                .checked_add(jiff::SignedDuration::from_mins(1))
                .unwrap();
            let mut now = clock.lock().unwrap();
            *now = (*now).max(next);
        }
        let sub = habeas_domain::Submission::from_json(line).unwrap();
        let (outcomes, _) = store.submit_batch(&[sub], false).unwrap();
        assert!(outcomes[0].is_ok(), "refused: {line}: {:?}", outcomes[0]);
    }
    path
}

fn habeas(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("HABEAS_DB")
        .output()
        .unwrap()
}

const AT: &str = "2025-03-31T23:59:59.999999Z";

fn statistics(db: &Path) -> Statistics {
    let store = habeas_store::Store::open(db).unwrap();
    let at = t(AT);
    store
        .statistics(
            Some(at),
            series_start(at, 2),
            true,
            habeas_domain::View::KnownNow,
        )
        .unwrap()
}

#[test]
fn every_figure_of_the_example_is_the_hand_computed_one() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let s = statistics(&db);
    assert_eq!(s.at, t(AT));
    assert_eq!(
        (s.series.from.as_str(), s.series.to.as_str()),
        ("2025-01", "2025-03")
    );

    // Held at T: S01, S02, S04, S07 (NORTE/A/C1) and S09 (SUR/B/C1).
    let n = &s.national;
    assert_eq!(n.total, Some(5));
    // 5 × 100,000 / 1,000,000.
    assert_eq!(n.rate_per_100k, Some(0.5));
    // S01, S02 on remand; S04 other; S07 sentenced; S09 sentenced since 03-15.
    assert_eq!((n.remand, n.remand_pct), (Some(2), Some(40.0)));
    assert_eq!(n.convicted_unsentenced, Some(0));
    // S01.
    assert_eq!(
        (n.female, n.female_pct, n.sex_unknown),
        (Some(1), Some(20.0), Some(0))
    );
    // S02 is 16 at T; S04 has no date of birth.
    assert_eq!(
        (n.juvenile, n.juvenile_pct, n.age_unknown),
        (Some(1), Some(20.0), Some(1))
    );
    // S04 (OTH); S09 holds XYZ too, so is not foreign.
    assert_eq!(n.country.as_ref().map(|c| c.as_str()), Some("XYZ"));
    assert_eq!((n.foreign, n.foreign_pct), (Some(1), Some(20.0)));
    assert_eq!(n.nationality_unknown, Some(0));
    assert_eq!(n.held_for_other_authorities, Some(1));
    assert_eq!(n.in_transit, Some(0));
    assert_eq!((n.establishments, n.official_capacity), (2, 15));
    // 5 held in facilities / 15 places = 33.33 %.
    assert_eq!(n.occupancy_pct, Some(33.3));

    // NORTE: 4 held, all in A/C1: 4 / 10 = 40 %; 4 persons / 6 beds = 0.67; 28 m² / 4 = 7.
    let norte = &s.facilities[0];
    assert_eq!(norte.facility, "NORTE");
    assert_eq!(
        (
            norte.population,
            norte.in_cells,
            norte.official_capacity,
            norte.occupancy_pct
        ),
        (Some(4), Some(4), 10, Some(40.0))
    );
    assert_eq!((norte.cells, norte.places, norte.beds), (2, 8, 6));
    assert_eq!(norte.persons_per_bed, Some(0.67));
    assert_eq!(
        (norte.area_m2, norte.m2_per_person),
        (Some(28.0), Some(7.0))
    );
    // SUR: S09 alone: 1 / 5 = 20 %; 1 / 5 beds = 0.2; no cell area recorded.
    let sur = &s.facilities[1];
    assert_eq!(
        (
            sur.population,
            sur.in_cells,
            sur.occupancy_pct,
            sur.persons_per_bed
        ),
        (Some(1), Some(1), Some(20.0), Some(0.2))
    );
    assert_eq!((sur.area_m2, sur.m2_per_person), (None, None));

    // January: S06, S07, S01, S02, S03, S10 admitted, all held at the end.
    // February: + S04, S05; − S03 (released), S06 (died), S05 (to Otheria) = 5; the death
    //   was referred. March: + S09, S08; − S10 (escaped), S08 (died) = 5; S07's transfer to
    //   NORTE is internal; S08's death was not referred.
    let m: Vec<_> = s
        .months
        .iter()
        .map(|m| {
            (
                m.month.as_str(),
                m.population_at_end,
                m.admissions,
                m.releases,
                m.escapes,
                m.transfers_internal,
                m.transfers_out_of_jurisdiction,
                m.deaths,
                m.deaths_referred,
                m.deaths_referred_pct,
            )
        })
        .collect();
    fn some<T>(x: T) -> Option<T> {
        Some(x)
    }
    assert_eq!(
        m,
        vec![
            (
                "2025-01",
                some(6),
                some(6),
                some(0),
                some(0),
                some(0),
                some(0),
                0,
                0,
                None
            ),
            (
                "2025-02",
                some(5),
                some(2),
                some(1),
                some(0),
                some(0),
                some(1),
                1,
                1,
                Some(100.0)
            ),
            (
                "2025-03",
                some(5),
                some(2),
                some(0),
                some(1),
                some(1),
                some(0),
                1,
                0,
                Some(0.0)
            ),
        ]
    );
    assert_eq!(s.months[0].end, t("2025-01-31T23:59:59.999999Z"));
    assert_eq!(s.months[2].end, t(AT));
    let causes: Vec<_> = s
        .deaths_by_cause
        .iter()
        .map(|c| (c.cause.as_str(), c.deaths, c.referred))
        .collect();
    assert_eq!(
        causes,
        vec![("cardiac arrest (synthetic)", 1, 1), ("not recorded", 1, 0)]
    );

    // AG-1, 2025-02-01 to 2025-03-02 = 30 days, $30,000 for the term. S04 held the whole
    // term (30 days), S05 from 02-01 to 02-21 (20 days): 50 person-days; the term is over by
    // T, so the cost is the whole price: 30,000 / 50 = 600 per person-day.
    let a = &s.agreements[0];
    assert_eq!(a.agreement, "AG-1");
    assert_eq!((a.people_held, a.people_total), (Some(1), Some(2)));
    assert_eq!(a.person_days, Some(50.0));
    assert_eq!(
        (a.cost_to_date, a.price_per_person_day),
        (Some(30000.0), Some(600.0))
    );
    assert_eq!(a.currency.as_deref(), Some("USD"));

    // Checks open at T, with (T − since) in days:
    // - no-legal-basis: S02 since admission 01-15 12:00 → 16.5 + 28 + 31 = 75.5.
    // - bed-shortage: A/C1 since S04 made it 3 persons for 2 beds, 02-01 01:00 → 58.96 → 59.0.
    // - floor-space: A/C1 at 12 m² / 4 = 3 m² < 3.4 since S07 arrived 03-03 12:00 → 28.5.
    // - category-mixing: A/C1 (S01 female with men since S02's placement 01-15 12:30 →
    //   75.48; a juvenile with adults since then too; remand with sentenced since 03-03):
    //   three findings, one place, the longest 75.5 days.
    // - death-not-referred, death-family-not-notified: S08, since 24 h after the death,
    //   03-26 00:00 → 6.0.
    // Every place finding is about A/C1, which holds 4 at T.
    let c: Vec<_> = s
        .checks
        .iter()
        .filter(|c| c.open_findings > 0)
        .map(|c| {
            (
                c.check,
                c.open_findings,
                c.persons_affected,
                c.person_days,
                c.places_affected,
                c.place_days,
                c.persons_in_affected_places,
            )
        })
        .collect();
    assert_eq!(
        c,
        vec![
            ("no-legal-basis", 1, some(1), some(75.5), 0, 0.0, some(0)),
            ("bed-shortage", 1, some(0), some(0.0), 1, 59.0, some(4)),
            ("floor-space", 1, some(0), some(0.0), 1, 28.5, some(4)),
            ("category-mixing", 3, some(0), some(0.0), 1, 75.5, some(4)),
            ("death-not-referred", 1, some(1), some(6.0), 0, 0.0, some(0)),
            (
                "death-family-not-notified",
                1,
                some(1),
                some(6.0),
                0,
                0.0,
                some(0)
            ),
        ]
    );
    assert_eq!(s.checks.len(), habeas_domain::checks::CHECKS.len());
    assert!(s.suppression.suppressed.is_empty());
}

#[test]
fn stats_json_is_stable() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let o = habeas(
        &db,
        &["stats", "--at", "2025-03-31", "--months", "3", "--json"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    // The binary reads the same figures as the library.
    assert_eq!(v, serde_json::to_value(statistics(&db)).unwrap());
    insta::assert_json_snapshot!("stats_json", v);
}

#[test]
fn stats_text_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let o = habeas(&db, &["stats", "--at", "2025-03-31", "--months", "3"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.starts_with("Statistics at 2025-03-31T23:59:59.999999Z (months 2025-01 to 2025-03)")
    );
    insta::assert_snapshot!("stats_text", text);

    let o = habeas(
        &db,
        &[
            "stats",
            "--at",
            "2025-03-31",
            "--months",
            "3",
            "--csv",
            "--table",
            "facilities",
        ],
    );
    assert!(o.status.success());
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "facility,name,population,in_cells,official_capacity,occupancy_pct,cells,places,beds,persons_per_bed,area_m2,m2_per_person\r\n\
         NORTE,Centro Norte (synthetic),4,4,10,40,2,8,6,0.67,28,7\r\n\
         SUR,Centro Sur (synthetic),1,1,5,20,1,5,5,0.2,,\r\n"
    );
    let o = habeas(
        &db,
        &["stats", "--at", "2025-03-31", "--months", "3", "--csv"],
    );
    let all = String::from_utf8(o.stdout).unwrap();
    for id in [
        "summary",
        "facilities",
        "months",
        "deaths_by_cause",
        "agreements",
        "checks",
    ] {
        assert!(all.contains(&format!("# {id}\r\n")), "{id} missing");
    }

    // With --suppress, small counts are hidden as publish hides them (threshold 3).
    let o = habeas(
        &db,
        &[
            "stats",
            "--at",
            "2025-03-31",
            "--months",
            "3",
            "--json",
            "--suppress",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["suppression"]["min_count"], 3);
    assert_eq!(v["national"]["female"], Value::Null);
    assert_eq!(v["national"]["total"], 5);

    // --no-checks: the same figures without the checks.
    let o = habeas(
        &db,
        &[
            "stats",
            "--at",
            "2025-03-31",
            "--months",
            "3",
            "--json",
            "--no-checks",
        ],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut full = serde_json::to_value(statistics(&db)).unwrap();
    full["checks"] = Value::Array(Vec::new());
    assert_eq!(v, full);
}

#[test]
fn bad_input_is_refused_with_the_flag_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    for (args, needle) in [
        (vec!["stats", "--at", "yesterday"], "--at `yesterday`"),
        (
            vec!["stats", "--csv", "--table", "people"],
            "--table `people`: unknown table",
        ),
        (vec!["stats", "--months", "0"], "--months"),
        (
            vec!["publish", "--out", "x", "--to", "2025-02-30"],
            "--to `2025-02-30`",
        ),
        (
            vec![
                "publish",
                "--out",
                "x",
                "--from",
                "2025-04-01",
                "--to",
                "2025-03-31",
            ],
            "--from must not be after",
        ),
    ] {
        let o = habeas(&db, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    assert!(
        !dir.path().join("x").exists(),
        "nothing published on bad input"
    );
}

#[test]
fn the_published_site_is_aggregates_only_offline_and_suppresses_small_counts() {
    let dir = tempfile::tempdir().unwrap();
    let db = build(dir.path());
    let out = dir.path().join("site");
    let o = habeas(
        &db,
        &[
            "publish",
            "--out",
            out.to_str().unwrap(),
            "--from",
            "2025-01-01",
            "--to",
            "2025-03-31",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected = vec![
        "agreements.html",
        "checks.html",
        "deaths.html",
        "definitions.html",
        "facilities.html",
        "index.html",
        "movements.html",
        "statistics.json",
    ];
    let tables = [
        "summary",
        "facilities",
        "months",
        "deaths_by_cause",
        "agreements",
        "checks",
    ];
    let beside: Vec<String> = tables
        .iter()
        .flat_map(|t| [format!("{t}.csv"), format!("{t}.json")])
        .collect();
    expected.extend(beside.iter().map(String::as_str));
    expected.sort();
    assert_eq!(names, expected);

    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    let v: Value = serde_json::from_str(&read("statistics.json")).unwrap();
    // Threshold 3: counts of 1 and 2 are suppressed with what would reveal them; zeros,
    // larger counts and deaths are shown.
    assert_eq!(v["suppression"]["min_count"], 3);
    assert_eq!(v["national"]["total"], 5);
    assert_eq!(v["national"]["female"], Value::Null);
    assert_eq!(v["national"]["female_pct"], Value::Null);
    assert_eq!(v["national"]["remand_pct"], Value::Null);
    assert_eq!(v["national"]["in_transit"], 0);
    assert_eq!(v["facilities"][0]["population"], 4);
    assert_eq!(v["facilities"][1]["population"], Value::Null);
    assert_eq!(v["facilities"][1]["occupancy_pct"], Value::Null);
    assert_eq!(v["months"][1]["releases"], Value::Null);
    assert_eq!(v["months"][1]["deaths"], 1);
    assert_eq!(v["months"][2]["deaths"], 1);
    assert_eq!(v["agreements"][0]["person_days"], Value::Null);
    let death_check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "death-not-referred")
        .unwrap();
    assert_eq!(
        death_check["persons_affected"], 1,
        "deaths are never suppressed"
    );
    let suppressed: Vec<&str> = v["suppression"]["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(suppressed.contains(&"national.female"));
    assert!(suppressed.contains(&"facilities[SUR].population"));
    assert!(!suppressed.iter().any(|s| s.contains("death")));
    assert!(read("summary.csv").contains("\r\nfemale,\r\n"));
    assert!(read("index.html").contains("<td class=\"n\">&lt;3</td>"));

    for name in names.iter().filter(|n| n.ends_with(".html")) {
        let page = read(name);
        assert!(
            page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
            "{name}"
        );
        // Offline: no scripts, stylesheets, images or fonts from anywhere.
        for forbidden in ["<script", "<link", "<img", "src=", "@import", "url("] {
            assert!(!page.contains(forbidden), "{name} contains {forbidden}");
        }
        assert!(
            !page
                .replace("http://www.w3.org/2000/svg", "")
                .contains("http"),
            "{name}"
        );
        if name != "definitions.html" {
            assert!(
                page.contains("<caption>") && page.contains("<th scope=\"col\">"),
                "{name}"
            );
        }
        // No personal data: no register number, name or date of birth of the example.
        for personal in [
            "SYN-S0",
            "SYN-S1",
            "Ejemplo",
            "Rosa",
            "1990-05-01",
            "2008-06-15",
        ] {
            assert!(!page.contains(personal), "{name} contains {personal}");
        }
        insta::assert_snapshot!(format!("publish_{}", name.replace('.', "_")), page);
    }
    for name in names
        .iter()
        .filter(|n| n.ends_with(".json") || n.ends_with(".csv"))
    {
        assert!(
            !read(name).contains("SYN-S"),
            "{name} holds a register number"
        );
    }
    insta::assert_snapshot!("publish_months_csv", read("months.csv"));
    insta::assert_json_snapshot!("publish_statistics_json", v);
    let definitions = read("definitions.html");
    assert!(definitions.contains("World Prison Brief"));
    assert!(definitions.contains("Nelson Mandela Rules"));
}
