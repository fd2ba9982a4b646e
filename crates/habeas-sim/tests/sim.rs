//! habeas-sim through its public API: determinism, the vocabulary, chronology, acceptance by a
//! fresh register, and the figures of the case.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::collections::{HashMap, HashSet};

use habeas_domain::{Command, Submission, View};
use habeas_sim::{AGREEMENT_BASIS, Config, MEGA_PRISON, Scale, Summary, generate};
use serde_json::Value;

const DAILY_LIFE: &[&str] = &[
    "exercise.record",
    "contact.record",
    "notification.record",
    "health.exam",
    "health.request",
    "health.seen",
    "separation.start",
    "separation.end",
    "incident.record",
    "count.record",
    "settings.record",
];

fn gen_config(scale: Scale, seed: u64, daily_life: bool) -> (Vec<u8>, Summary) {
    let mut out = Vec::new();
    let summary = generate(
        &Config {
            scale,
            seed,
            daily_life,
            recurring_days: None,
        },
        &mut out,
    )
    .unwrap();
    (out, summary)
}

fn lines(bytes: &[u8]) -> Vec<&str> {
    std::str::from_utf8(bytes).unwrap().lines().collect()
}

fn kind(v: &Value) -> &str {
    v["type"].as_str().unwrap()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, sa) = gen_config(Scale::Small, 7, true);
    let (b, sb) = gen_config(Scale::Small, 7, true);
    let (c, _) = gen_config(Scale::Small, 8, true);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    assert_ne!(a, c);
    assert_eq!(sa.commands as usize, lines(&a).len());

    // Without daily life: exactly the same population facts, in the same order.
    let (d, sd) = gen_config(Scale::Small, 7, false);
    let facts: Vec<&str> = lines(&a)
        .into_iter()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            !DAILY_LIFE.contains(&kind(&v))
        })
        .collect();
    assert_eq!(facts, lines(&d));
    assert_eq!(sd.daily_life_records, 0);
    assert_eq!(sa.commands - sa.daily_life_records, sd.commands);
}

#[test]
fn every_line_is_in_the_vocabulary_chronological_and_synthetic() {
    for daily_life in [false, true] {
        let (out, summary) = gen_config(Scale::Small, 3, daily_life);
        let mut last_at = String::new();
        let mut seen_timed = false;
        let mut kinds = HashSet::new();
        for (i, line) in lines(&out).into_iter().enumerate() {
            let v: Value = serde_json::from_str(line).unwrap();
            let k = kind(&v).to_owned();
            if Command::TYPES.contains(&k.as_str()) {
                if let Err(r) = Submission::from_json(line) {
                    panic!("line {}: {line}: {r:?}", i + 1);
                }
            } else {
                assert!(
                    daily_life && DAILY_LIFE.contains(&k.as_str()),
                    "line {}: {k}",
                    i + 1
                );
            }
            // Registrations first, then every `at` (or `issued_at`) in order, all in the past.
            let at = v
                .get("at")
                .or_else(|| v.get("issued_at"))
                .and_then(Value::as_str);
            match at {
                Some(at) => {
                    seen_timed = true;
                    assert!(
                        at >= last_at.as_str(),
                        "line {}: {at} before {last_at}",
                        i + 1
                    );
                    assert!(at.ends_with('Z') && at < "2024-04-01T06:00:00Z", "{at}");
                    last_at = at.to_owned();
                }
                None => assert!(
                    !seen_timed || ["agreement.record", "transfer.order"].contains(&k.as_str()),
                    "line {}: untimed {k} after timed lines",
                    i + 1
                ),
            }
            // Synthetic: persons by SYN- numbers, places and texts marked.
            if let Some(r) = v.get("register_no") {
                assert!(r.as_str().unwrap().starts_with("SYN-"));
            }
            // (Facility codes carry SYN too, so every record but the settings says it.)
            if k != "settings.record" {
                assert!(
                    line.contains("SYN") || line.contains("(synthetic)"),
                    "line {}: {line}",
                    i + 1
                );
            }
            kinds.insert(k);
        }
        assert!(
            last_at.as_str() > "2024-03-31",
            "the last day is 2024-03-31 (local), not {last_at}"
        );
        let expected: &[&str] = if daily_life { DAILY_LIFE } else { &[] };
        for k in [
            "admission.record",
            "placement.record",
            "legal_basis.record",
            "absence.start",
            "absence.end",
            "transfer.order",
            "transfer.depart",
            "transfer.arrive",
            "release.record",
            "death.record",
            "court_order.record",
            "agreement.record",
        ]
        .iter()
        .chain(expected)
        {
            assert!(kinds.contains(*k), "no {k} in the small register");
        }
        assert!(summary.persons > 200 && summary.persons < 1000);
    }
}

#[test]
fn small_register_is_accepted_whole_and_verifies() {
    let (out, summary) = gen_config(Scale::Small, 11, false);
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        habeas_store::Store::create(&dir.path().join("r.db"), "example.org/sim").unwrap();
    let subs: Vec<Submission> = lines(&out)
        .into_iter()
        .map(|l| Submission::from_json(l).unwrap())
        .collect();
    for batch in subs.chunks(500) {
        let (outcomes, _) = store.submit_batch(batch, false).unwrap();
        for (o, s) in outcomes.iter().zip(batch) {
            if let Err(r) = o {
                panic!("refused {:?}: {r:?}", s.command);
            }
        }
    }
    assert!(store.verify(None).unwrap().ok());
    let p = store.population(None, View::KnownNow).unwrap();
    assert_eq!(p.total, summary.held_at_end);
    assert_eq!(p.in_transit, 0);
    let mega = p
        .facilities
        .iter()
        .find(|f| f.facility == MEGA_PRISON)
        .unwrap();
    assert_eq!(mega.official_capacity, 40_000);
    assert_eq!(mega.units.len(), 8);
}

/// Replays the commands: who is held, on what status, where.
#[derive(Default)]
struct Tally {
    held: HashMap<String, (String, String)>, // register_no -> (status, facility)
    deaths: u64,
    agreement: HashSet<String>,
    removed_against_order: u64,
    order_issued_at: Option<String>,
    first_agreement_admission: Option<String>,
    mega_cells: Vec<(u64, u64)>,
}

fn tally(out: &[u8]) -> Tally {
    let mut t = Tally::default();
    for line in lines(out) {
        let v: Value = serde_json::from_str(line).unwrap();
        let no = v
            .get("register_no")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match kind(&v) {
            "cell.register" if v["cell"].as_str().unwrap().starts_with("CECOT-SYN/") => t
                .mega_cells
                .push((v["places"].as_u64().unwrap(), v["beds"].as_u64().unwrap())),
            "admission.record" => {
                let no = no.unwrap();
                if v["legal_basis"]["reference"] == AGREEMENT_BASIS {
                    t.agreement.insert(no.clone());
                    t.first_agreement_admission
                        .get_or_insert(v["at"].as_str().unwrap().to_owned());
                }
                let status = v["legal_status"].as_str().unwrap().to_owned();
                let fac = v["facility"].as_str().unwrap().to_owned();
                assert!(t.held.insert(no, (status, fac)).is_none());
            }
            "legal_basis.record" => {
                if let Some(s) = v.get("legal_status").and_then(Value::as_str) {
                    t.held.get_mut(&no.unwrap()).unwrap().0 = s.to_owned();
                }
            }
            "transfer.order" => {
                for r in v["register_nos"].as_array().unwrap() {
                    assert!(!t.agreement.contains(r.as_str().unwrap()), "barred order");
                }
            }
            "transfer.arrive" => {
                t.held.get_mut(&no.unwrap()).unwrap().1 = v["facility"].as_str().unwrap().into();
            }
            "transfer.depart" if v["to"].get("jurisdiction").is_some() => {
                let no = no.unwrap();
                assert!(t.agreement.contains(&no));
                t.held.remove(&no).unwrap();
                t.removed_against_order += 1;
            }
            "release.record" | "escape.record" => {
                t.held.remove(&no.unwrap()).unwrap();
            }
            "death.record" => {
                t.held.remove(&no.unwrap()).unwrap();
                t.deaths += 1;
            }
            "court_order.record" => {
                assert_eq!(v["kind"], "bar_transfer");
                assert_eq!(v["applies_to"]["legal_basis_reference"], AGREEMENT_BASIS);
                t.order_issued_at = Some(v["issued_at"].as_str().unwrap().to_owned());
            }
            "agreement.record" => {
                assert_eq!(
                    v["price"],
                    serde_json::json!({"amount":6000000,"currency":"USD","per":"term"})
                );
            }
            _ => {}
        }
    }
    t
}

#[test]
fn a_mid_scale_register_shows_the_figures_of_the_case() {
    let n = 5000u64;
    let (out, summary) = gen_config(Scale::Persons(n as u32), 5, false);
    let t = tally(&out);
    let held = t.held.len() as u64;
    assert_eq!(held, summary.held_at_end);
    assert!(held.abs_diff(n) * 50 <= n, "held at the end: {held}");
    let remand = t.held.values().filter(|(s, _)| s == "remand").count() as f64 / held as f64;
    assert!((0.70..=0.80).contains(&remand), "remand share {remand}");
    assert!(
        t.deaths >= 10 && t.deaths == summary.deaths,
        "deaths {}",
        t.deaths
    );
    // The mega-prison: 8 pavilions, 40,000 places, cells of 65–70 with fewer beds.
    assert_eq!(t.mega_cells.iter().map(|c| c.0).sum::<u64>(), 40_000);
    assert!(
        t.mega_cells
            .iter()
            .all(|&(places, beds)| (65..=70).contains(&places) && beds < places)
    );
    assert!(t.held.values().filter(|(_, f)| f == MEGA_PRISON).count() as u64 > n / 10);
    // The agreement: persons received after the court order barred their removal; a few sent
    // back regardless.
    assert!(t.agreement.len() >= 8);
    assert!(t.order_issued_at.unwrap() < t.first_agreement_admission.unwrap());
    assert!(t.removed_against_order >= 1);
    assert_eq!(t.removed_against_order, summary.removed_against_order);
}

#[test]
fn daily_life_follows_each_facility_regime() {
    let (out, _) = gen_config(Scale::Small, 4, true);
    let mut facility_of: HashMap<String, String> = HashMap::new();
    let (mut contacts, mut exercise, mut mega_counts) = (0, 0, 0);
    let mut settings = false;
    for line in lines(&out) {
        let v: Value = serde_json::from_str(line).unwrap();
        let no = v
            .get("register_no")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match kind(&v) {
            "admission.record" => {
                facility_of.insert(no.unwrap(), v["facility"].as_str().unwrap().into());
            }
            "transfer.arrive" => {
                facility_of.insert(no.unwrap(), v["facility"].as_str().unwrap().into());
            }
            "contact.record" => {
                assert_ne!(
                    facility_of[&no.unwrap()],
                    MEGA_PRISON,
                    "a visit in the mega-prison"
                );
                contacts += 1;
            }
            "exercise.record" => {
                assert!(!v["unit"].as_str().unwrap().starts_with("CECOT-SYN/"));
                assert_eq!(v["outdoors"], true);
                exercise += 1;
            }
            "count.record" if v["unit"].as_str().unwrap().starts_with("CECOT-SYN/") => {
                mega_counts += 1
            }
            "settings.record" => {
                assert_eq!(v["national_population"], 6_300_000);
                settings = true;
            }
            _ => {}
        }
    }
    assert!(settings && contacts > 500 && exercise > 500 && mega_counts == 8 * 91);
}

#[test]
fn a_recent_window_keeps_custody_and_admission_records_and_drops_older_routine() {
    let config = |recurring_days| Config {
        scale: Scale::Small,
        seed: 5,
        daily_life: true,
        recurring_days,
    };
    let mut full = Vec::new();
    generate(&config(None), &mut full).unwrap();
    let mut windowed = Vec::new();
    let summary = generate(&config(Some(20)), &mut windowed).unwrap();
    // The small register runs 2024-01-01 → 2024-03-31: the last 20 days start on 03-12.
    let window_start = "2024-03-12";
    let parsed = |bytes: &[u8]| -> Vec<Value> {
        lines(bytes)
            .into_iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (full, windowed) = (parsed(&full), parsed(&windowed));
    let custody = |vs: &[Value]| -> Vec<String> {
        vs.iter()
            .filter(|v| !DAILY_LIFE.contains(&kind(v)))
            .map(|v| v.to_string())
            .collect()
    };
    assert_eq!(
        custody(&full),
        custody(&windowed),
        "custody facts unchanged"
    );
    assert!(windowed.len() < full.len());

    let routine = [
        "exercise.record",
        "count.record",
        "health.request",
        "health.seen",
        "separation.start",
        "separation.end",
        "incident.record",
    ];
    let mut legal_before: HashMap<String, u32> = HashMap::new();
    let mut in_window = 0;
    for v in &windowed {
        let day = v["at"].as_str().and_then(|t| t.get(..10)).unwrap_or("9999");
        let before = day < window_start;
        if routine.contains(&kind(v)) {
            assert!(!before, "routine record before the window: {v}");
            in_window += 1;
        }
        if kind(v) == "contact.record" && before {
            assert_eq!(
                v["kind"], "legal_visit",
                "only legal visits before the window: {v}"
            );
            *legal_before
                .entry(v["register_no"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    assert!(in_window > 0, "the window has routine records");
    assert!(
        legal_before.values().all(|&n| n == 1),
        "one legal visit per episode before the window"
    );
    // Admission records stay for everyone admitted before the window.
    let exams_before = windowed
        .iter()
        .filter(|v| kind(v) == "health.exam" && v["at"].as_str().unwrap() < window_start)
        .count();
    assert!(
        exams_before > 100,
        "{exams_before} admission exams before the window"
    );

    // And a register keeps every line of it.
    let dir = tempfile::tempdir().unwrap();
    let mut store =
        habeas_store::Store::create(&dir.path().join("w.db"), "example.org/sim").unwrap();
    let subs: Vec<Submission> = lines_of(&windowed);
    for batch in subs.chunks(500) {
        let (outcomes, _) = store.submit_batch(batch, false).unwrap();
        for (o, s) in outcomes.iter().zip(batch) {
            assert!(o.is_ok(), "refused {:?}: {o:?}", s.command);
        }
    }
    assert!(store.log_size() >= summary.commands);
}

fn lines_of(values: &[Value]) -> Vec<Submission> {
    values
        .iter()
        .map(|v| Submission::from_value(v.clone()).unwrap())
        .collect()
}
