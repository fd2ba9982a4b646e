//! Boundary tests of every check of STANDARDS.md but `log-integrity` (the store tests cover
//! it): each check is shown quiet just before (or at) its limit and firing just after, with
//! the exact subject and `since`, and for some the exact `detail`.
//!
//! Persons come from a [`Register`] (commands → `decide` → `apply`), taken as known at `T`;
//! the daily facts and the other vectors of the [`Snapshot`] are set by hand, as the store
//! would build them. The `Register` records every event at `RECORDED_AT`
//! (2026-01-01T00:00:00Z, with five minutes of clock skew allowed), so facts happen in late
//! 2025 and the checks are evaluated at or after 2026-01-01T00:00:00Z.
//!
//! Each test looks at one check: findings of the other checks are filtered out (`found`,
//! `only`). `a_person_given_what_the_standards_ask_raises_no_finding` shows that the facts
//! the filters hide are the ones a held person needs.

use std::collections::BTreeMap;

use habeas_domain::checks::*;
use habeas_domain::model::*;
use habeas_domain::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::{Register, admission_under, bar_transfer, rn, ts};

// --- helpers --------------------------------------------------------------------------------

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

fn hours(n: i64) -> SignedDuration {
    SignedDuration::from_hours(n)
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// `t` plus `d` (negative for before).
fn at(t: &str, d: SignedDuration) -> Timestamp {
    ts(t).checked_add(d).unwrap()
}

/// The snapshot at `t`: the settings, places and court orders of the register, and every
/// person it held at `t` as known at `t`, with no daily facts. The rest is the test's.
fn snapshot(reg: &Register, t: Timestamp) -> Snapshot {
    let settings = reg.state.settings.clone();
    let mut persons: Vec<PersonFacts> = reg
        .state
        .persons
        .values()
        .filter_map(|p| p.as_known_at(t))
        .filter(|p| p.open_episode().is_some())
        .map(|person| PersonFacts {
            person,
            last_family_contact: None,
            legal_visit_since_admission: None,
            exam_since_admission: None,
            notifications: Vec::new(),
        })
        .collect();
    persons.sort_by(|a, b| a.person.register_no.cmp(&b.person.register_no));
    Snapshot {
        at: t,
        limits: Limits::new(
            settings
                .as_ref()
                .map(|s| s.limits.clone())
                .unwrap_or_default(),
        ),
        country: settings.and_then(|s| s.country),
        facilities: reg.state.facilities.values().cloned().collect(),
        cells: reg.state.cells.values().cloned().collect(),
        persons,
        court_orders: reg
            .state
            .court_orders
            .values()
            .filter_map(|o| o.as_known_at(t))
            .collect(),
        ..Snapshot::default()
    }
}

fn limits(pairs: &[(&str, f64)]) -> Limits {
    Limits::new(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
}

/// `evaluate`, checked against the same snapshot without the stays the store drops
/// (`drop_unreachable_stays`): every test's snapshot also shows that they change nothing.
fn evaluate_both(s: &Snapshot) -> Vec<Finding> {
    let findings = evaluate(s);
    let mut trimmed = s.clone();
    for pf in &mut trimmed.persons {
        drop_unreachable_stays(&mut pf.person, trimmed.at, &trimmed.limits);
    }
    assert_eq!(
        evaluate(&trimmed),
        findings,
        "dropping the unreachable stays changed the findings"
    );
    findings
}

/// The findings of one check (the others are filtered out: each test is about one check).
fn only(s: &Snapshot, check: &str) -> Vec<Finding> {
    evaluate_both(s)
        .into_iter()
        .filter(|f| f.check == check)
        .collect()
}

/// Subject and `since` of the findings of one check.
fn found(s: &Snapshot, check: &str) -> Vec<(String, Timestamp)> {
    only(s, check)
        .into_iter()
        .map(|f| (f.subject, f.since))
        .collect()
}

fn facts<'s>(s: &'s mut Snapshot, no: &str) -> &'s mut PersonFacts {
    s.persons
        .iter_mut()
        .find(|p| p.person.register_no == rn(no))
        .unwrap_or_else(|| panic!("{no} is not held at {}", s.at))
}

fn admission_seq(reg: &Register, no: &str) -> u64 {
    reg.person(no).episodes.last().unwrap().admission_seq
}

fn notice(at: Timestamp, to: NotifyTo, about: NotifyAbout, declined: bool) -> NotificationFact {
    NotificationFact {
        at,
        to,
        about,
        declined_by_person: declined,
        seq: 900,
    }
}

/// Admission under a legal basis with no expiry, to `facility`, with `edit` applied.
fn admit_with(
    reg: &mut Register,
    no: &str,
    facility: &str,
    when: &str,
    edit: impl FnOnce(&mut Value),
) {
    let mut cmd = admission_under(no, "SYN-CAUSA-1", when);
    cmd["facility"] = json!(facility);
    edit(&mut cmd);
    reg.ok(cmd);
}

fn place(reg: &mut Register, no: &str, cell: &str, when: &str) {
    reg.ok(json!({"type":"placement.record","register_no":no,"cell":cell,"at":when}));
}

/// Admission (under a legal basis) and placement in `cell` at the same instant.
fn admit_into(reg: &mut Register, no: &str, cell: &str, when: &str) {
    let facility = cell.split('/').next().unwrap();
    admit_with(reg, no, facility, when, |_| {});
    place(reg, no, cell, when);
}

fn cell(reg: &mut Register, path: &str, places: u32, beds: u32, area: f64) {
    reg.ok(json!({"type":"cell.register","cell":path,"places":places,"beds":beds,"area_m2":area}));
}

fn up(p: &str) -> UnitPath {
    UnitPath::parse(p).unwrap()
}

fn cp(p: &str) -> CellPath {
    CellPath::parse(p).unwrap()
}

const T0: &str = "2026-01-01T00:00:00Z";

// --- a quiet register -----------------------------------------------------------------------

#[test]
fn a_person_given_what_the_standards_ask_raises_no_finding() {
    let mut reg = Register::with_places();
    reg.ok(json!({"type":"settings.record","at":"2025-11-01T00:00:00Z","country":"SLV"}));
    admit_with(&mut reg, "SYN-1", "SYN-A", "2025-12-20T08:00:00Z", |c| {
        c["person"]["nationalities"] = json!(["SLV"]);
        c["person"]["date_of_birth"] = json!("1990-05-17");
    });
    place(&mut reg, "SYN-1", "SYN-A/P1/C001", "2025-12-20T08:00:00Z");
    let t = ts("2026-01-01T12:00:00Z");
    let mut s = snapshot(&reg, t);
    let admitted = ts("2025-12-20T08:00:00Z");
    let pf = facts(&mut s, "SYN-1");
    pf.last_family_contact = Some((at("2025-12-25T10:00:00Z", mins(0)), 50));
    pf.legal_visit_since_admission = Some((at("2025-12-21T10:00:00Z", mins(0)), 51));
    pf.exam_since_admission = Some((at("2025-12-20T09:00:00Z", mins(0)), 52));
    pf.notifications = vec![notice(
        admitted,
        NotifyTo::Family,
        NotifyAbout::Admission,
        false,
    )];
    s.exercise = vec![ExerciseSession {
        at: ts("2025-12-31T10:00:00Z"),
        until: ts("2025-12-31T11:00:00Z"),
        outdoors: true,
        cells: vec![],
        unit: None,
        register_nos: vec![rn("SYN-1")],
        seq: 60,
    }];
    assert_eq!(evaluate(&s), vec![]);
}

// --- custody --------------------------------------------------------------------------------

#[test]
fn no_legal_basis() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-12-01T08:00:00Z");
    reg.ok(admission_under(
        "SYN-2",
        "SYN-CAUSA-1",
        "2025-12-01T08:00:00Z",
    ));
    // A basis recorded after the admission covers the person from then on.
    reg.admit("SYN-3", "SYN-A", "2025-12-01T08:00:00Z");
    reg.ok(
        json!({"type":"legal_basis.record","register_no":"SYN-3","at":"2025-12-10T08:00:00Z",
        "legal_basis":{"kind":"court_order","authority":"Juzgado Ejemplo","reference":"SYN-CAUSA-3",
        "issued_on":"2025-12-10","grounds":"Motivos de ejemplo"}}),
    );
    // Admitted at 00:04 (inside the clock skew): not held a minute before.
    reg.admit("SYN-4", "SYN-A", "2026-01-01T00:04:00Z");

    let s = snapshot(&reg, at(T0, mins(3)));
    assert_eq!(
        found(&s, "no-legal-basis"),
        vec![("SYN-1".to_owned(), ts("2025-12-01T08:00:00Z"))]
    );
    let s = snapshot(&reg, at(T0, mins(4)));
    let f = only(&s, "no-legal-basis");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![
            ("SYN-1", ts("2025-12-01T08:00:00Z")),
            ("SYN-4", ts("2026-01-01T00:04:00Z"))
        ]
    );
    assert_eq!(
        f[0].detail,
        "SYN-1 has been held since 2025-12-01T08:00:00Z (admitted to SYN-A) with no recorded legal basis"
    );
    assert_eq!(f[0].evidence, vec![admission_seq(&reg, "SYN-1")]);
    assert_eq!(f[0].facility.as_deref(), Some("SYN-A"));
}

#[test]
fn over_detention() {
    let mut reg = Register::with_places();
    // Valid through 2026-01-01 in the facility (America/El_Salvador, UTC−6): expired from
    // midnight there, 2026-01-02T06:00:00Z.
    admit_with(&mut reg, "SYN-1", "SYN-A", "2025-12-01T08:00:00Z", |c| {
        c["legal_basis"]["expires_on"] = json!("2026-01-01");
    });
    // One basis expired, another without expiry: still held lawfully.
    admit_with(&mut reg, "SYN-2", "SYN-A", "2025-12-01T08:00:00Z", |c| {
        c["legal_basis"]["expires_on"] = json!("2025-12-15");
    });
    reg.ok(
        json!({"type":"legal_basis.record","register_no":"SYN-2","at":"2025-12-10T08:00:00Z",
        "legal_basis":{"kind":"sentence","authority":"Juzgado Ejemplo","reference":"SYN-CAUSA-2",
        "issued_on":"2025-12-10","grounds":"Motivos de ejemplo"},"legal_status":"sentenced"}),
    );
    // Every basis expired: the latest expiry counts.
    admit_with(&mut reg, "SYN-3", "SYN-A", "2025-12-01T08:00:00Z", |c| {
        c["legal_basis"]["expires_on"] = json!("2025-12-15");
    });
    reg.ok(
        json!({"type":"legal_basis.record","register_no":"SYN-3","at":"2025-12-10T08:00:00Z",
        "legal_basis":{"kind":"court_order","authority":"Juzgado Ejemplo","reference":"SYN-CAUSA-3",
        "issued_on":"2025-12-10","grounds":"Motivos de ejemplo","expires_on":"2025-12-20"}}),
    );
    let syn3 = ("SYN-3".to_owned(), ts("2025-12-21T06:00:00Z"));

    let end = "2026-01-02T06:00:00Z";
    let s = snapshot(&reg, at(end, mins(-1)));
    assert_eq!(found(&s, "over-detention"), vec![syn3.clone()]);
    let s = snapshot(&reg, ts(end));
    assert_eq!(
        found(&s, "over-detention"),
        vec![("SYN-1".to_owned(), ts(end)), syn3.clone()]
    );
    let s = snapshot(&reg, at(end, mins(1)));
    let f = only(&s, "over-detention");
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].subject.as_str(), f[0].since), ("SYN-1", ts(end)));
    assert_eq!(
        f[0].detail,
        "SYN-1 is still held after every legal basis expired; the last, SYN-CAUSA-1 of Juzgado Ejemplo, expired on 2026-01-01"
    );

    // With 12 hours of grace: exactly at the end of the grace, and a minute before.
    let mut s = snapshot(&reg, at(end, hours(12) - mins(1)));
    s.limits = limits(&[("over-detention.grace_hours", 12.0)]);
    assert_eq!(
        found(&s, "over-detention"),
        vec![("SYN-3".to_owned(), ts("2025-12-21T18:00:00Z"))]
    );
    s.at = at(end, hours(12));
    assert_eq!(
        found(&s, "over-detention"),
        vec![
            ("SYN-1".to_owned(), at(end, hours(12))),
            ("SYN-3".to_owned(), ts("2025-12-21T18:00:00Z"))
        ]
    );
}

fn release_order(order: &str, issued_at: &str, applies_to: Value) -> Value {
    let mut o = bar_transfer(order, issued_at, applies_to);
    o["kind"] = json!("release");
    o
}

#[test]
fn release_order_ignored() {
    let mut reg = Register::with_places();
    for no in ["SYN-1", "SYN-2", "SYN-3", "SYN-4"] {
        reg.ok(admission_under(no, "SYN-CAUSA-1", "2025-12-01T08:00:00Z"));
    }
    reg.ok(admission_under(
        "SYN-5",
        "SYN-CAUSA-5",
        "2025-12-01T08:00:00Z",
    ));
    // Issued at 13:00: 12 hours of grace end at 2026-01-01T01:00:00Z.
    reg.ok(release_order(
        "SYN-CO-1",
        "2025-12-31T13:00:00Z",
        json!({"register_nos":["SYN-1","SYN-2"]}),
    ));
    // SYN-2 was released in time.
    reg.ok(
        json!({"type":"release.record","register_no":"SYN-2","at":"2025-12-31T20:00:00Z",
        "reason":"court_order","authority":"Juzgado Ejemplo 1","reference":"SYN-CO-1"}),
    );
    // An order lifted before the grace ended.
    reg.ok(release_order(
        "SYN-CO-3",
        "2025-12-31T13:00:00Z",
        json!({"register_nos":["SYN-3"]}),
    ));
    reg.ok(json!({"type":"court_order.lift","order":"SYN-CO-3","at":"2025-12-31T20:00:00Z"}));
    // An order for everyone held under a legal basis.
    reg.ok(release_order(
        "SYN-CO-5",
        "2025-12-31T13:00:00Z",
        json!({"legal_basis_reference":"SYN-CAUSA-5"}),
    ));

    let due = "2026-01-01T01:00:00Z";
    let s = snapshot(&reg, at(due, mins(-1)));
    assert_eq!(found(&s, "release-order-ignored"), vec![]);
    let s = snapshot(&reg, ts(due));
    let f = only(&s, "release-order-ignored");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-1", ts(due)), ("SYN-5", ts(due))]
    );
    assert_eq!(
        f[0].detail,
        "SYN-1 is still held although court order SYN-CO-1 (Juzgado Ejemplo 1, case SYN-CASO-7) ordered release on 2025-12-31T13:00:00Z"
    );
    // The default grace is 12 hours; with none, it is due at issue.
    let mut s = snapshot(&reg, ts(T0));
    s.limits = limits(&[("release-order-ignored.grace_hours", 0.0)]);
    assert_eq!(
        found(&s, "release-order-ignored"),
        vec![
            ("SYN-1".to_owned(), ts("2025-12-31T13:00:00Z")),
            ("SYN-5".to_owned(), ts("2025-12-31T13:00:00Z"))
        ]
    );
}

fn departure(no: &str, when: Timestamp, refs: &[&str], seq: u64) -> Departure {
    Departure {
        register_no: rn(no),
        at: when,
        to: "facility SYN-B".into(),
        seq,
        legal_basis_references: refs.iter().map(|r| Text::parse(r).unwrap()).collect(),
    }
}

#[test]
fn transfer_against_order() {
    let mut reg = Register::with_places();
    let issued = "2025-12-20T12:00:00Z";
    reg.ok(bar_transfer(
        "SYN-CO-1",
        issued,
        json!({"register_nos":["SYN-1","SYN-2"]}),
    ));
    reg.ok(bar_transfer(
        "SYN-CO-2",
        issued,
        json!({"legal_basis_reference":"SYN-CAUSA-9"}),
    ));
    // Lifted before SYN-4 departed.
    reg.ok(bar_transfer(
        "SYN-CO-3",
        "2025-12-01T00:00:00Z",
        json!({"register_nos":["SYN-4"]}),
    ));
    reg.ok(json!({"type":"court_order.lift","order":"SYN-CO-3","at":"2025-12-10T00:00:00Z"}));
    // Lifted after SYN-5 departed: the finding is open only while the order is in force.
    reg.ok(bar_transfer(
        "SYN-CO-4",
        "2025-12-01T00:00:00Z",
        json!({"register_nos":["SYN-5"]}),
    ));
    reg.ok(json!({"type":"court_order.lift","order":"SYN-CO-4","at":"2025-12-31T00:00:00Z"}));

    let mut s = snapshot(&reg, ts(T0));
    s.departures = vec![
        departure("SYN-1", at(issued, mins(-1)), &[], 101),
        departure("SYN-2", at(issued, mins(1)), &[], 102),
        departure("SYN-3", at(issued, mins(0)), &["SYN-CAUSA-9"], 103),
        departure("SYN-6", at(issued, mins(1)), &["SYN-CAUSA-1"], 106),
        departure("SYN-4", ts("2025-12-10T00:01:00Z"), &[], 104),
        departure("SYN-5", ts("2025-12-09T00:00:00Z"), &[], 105),
    ];
    let f = only(&s, "transfer-against-order");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.evidence.clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                "SYN-2",
                at(issued, mins(1)),
                vec![
                    reg.state.court_orders[&OrderId::parse("SYN-CO-1").unwrap()].seq,
                    102
                ]
            ),
            (
                "SYN-3",
                ts(issued),
                vec![
                    reg.state.court_orders[&OrderId::parse("SYN-CO-2").unwrap()].seq,
                    103
                ]
            ),
        ]
    );
    assert_eq!(
        f[0].detail,
        "SYN-2 departed to facility SYN-B at 2025-12-20T12:01:00Z while court order SYN-CO-1 (Juzgado Ejemplo 1, case SYN-CASO-7) barred the transfer"
    );
    // Evaluated on 2025-12-30, before SYN-CO-4 was lifted, SYN-5's departure is a finding.
    let mut s = snapshot(&reg, ts(T0));
    s.at = ts("2025-12-30T00:00:00Z");
    s.departures = vec![departure("SYN-5", ts("2025-12-09T00:00:00Z"), &[], 105)];
    assert_eq!(
        found(&s, "transfer-against-order"),
        vec![("SYN-5".to_owned(), ts("2025-12-09T00:00:00Z"))]
    );
}

#[test]
fn whereabouts_unknown() {
    let mut reg = Register::with_places();
    reg.admit("SYN-1", "SYN-A", "2025-12-01T08:00:00Z");
    reg.admit("SYN-2", "SYN-A", "2025-12-01T08:00:00Z");
    for no in ["SYN-1", "SYN-2"] {
        reg.ok(json!({"type":"transfer.depart","register_no":no,"at":"2025-12-31T01:00:00Z","to":{"facility":"SYN-B"}}));
    }
    reg.ok(json!({"type":"transfer.arrive","register_no":"SYN-2","facility":"SYN-B","at":"2025-12-31T05:00:00Z"}));
    let due = "2026-01-01T01:00:00Z";
    let s = snapshot(&reg, at(due, mins(-1)));
    assert_eq!(found(&s, "whereabouts-unknown"), vec![]);
    for t in [ts(due), at(due, mins(1))] {
        let s = snapshot(&reg, t);
        let f = only(&s, "whereabouts-unknown");
        assert_eq!(
            f.iter()
                .map(|f| (f.subject.as_str(), f.since, f.facility.clone()))
                .collect::<Vec<_>>(),
            // The facility they left answers for them until they arrive.
            vec![("SYN-1", ts(due), Some("SYN-A".to_owned()))]
        );
    }
}

// --- records --------------------------------------------------------------------------------

#[test]
fn late_record() {
    let happened = ts("2025-12-30T08:00:00Z");
    let late = |seq, subject: Option<&str>, delay: SignedDuration| LateRecord {
        seq,
        kind: "admission.recorded".into(),
        subject: subject.map(rn),
        at: happened,
        recorded_at: happened.checked_add(delay).unwrap(),
    };
    let s = Snapshot {
        at: ts(T0),
        late_records: vec![
            late(10, Some("SYN-1"), hours(24)),
            late(11, Some("SYN-2"), hours(24) + mins(1)),
            late(12, None, hours(25)),
        ],
        ..Snapshot::default()
    };
    let f = only(&s, "late-record");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject_kind, f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![
            // Late from the moment the 24 hours ran out, not from when it was entered.
            (SubjectKind::Person, "SYN-2", ts("2025-12-31T08:00:00Z")),
            (SubjectKind::Event, "12", ts("2025-12-31T08:00:00Z")),
        ]
    );
    // Evaluated at a time before it was entered (the register as known now about that
    // time): late since the limit ran out, and not yet late before that.
    let entered_later = Snapshot {
        at: ts("2026-01-02T00:00:00Z"),
        late_records: vec![late(13, Some("SYN-3"), hours(24 * 10))],
        ..Snapshot::default()
    };
    let g = only(&entered_later, "late-record");
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].since, ts("2025-12-31T08:00:00Z"));
    assert!(g[0].since <= entered_later.at);
    let too_soon = Snapshot {
        at: ts("2025-12-31T07:00:00Z"),
        ..entered_later
    };
    assert!(only(&too_soon, "late-record").is_empty());
    assert_eq!(
        f[0].detail,
        "admission.recorded (event 11) happened at 2025-12-30T08:00:00Z and was recorded at 2025-12-31T08:01:00Z, 24 hours later"
    );
}

#[test]
fn count_discrepancy() {
    let count = |unit: &str, counted, expected, seq| RollCount {
        unit: up(unit),
        at: ts("2025-12-31T18:00:00Z"),
        counted,
        expected,
        seq,
    };
    let mut s = Snapshot {
        at: ts(T0),
        roll_counts: vec![
            count("SYN-A/P1", 5, 5, 1),
            count("SYN-A/P2", 4, 5, 2),
            count("SYN-B/P1", 7, 5, 3),
        ],
        ..Snapshot::default()
    };
    let f = only(&s, "count-discrepancy");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![
            ("SYN-A/P2", ts("2025-12-31T18:00:00Z")),
            ("SYN-B/P1", ts("2025-12-31T18:00:00Z"))
        ]
    );
    assert_eq!(
        f[0].detail,
        "the roll count of SYN-A/P2 at 2025-12-31T18:00:00Z found 4 people; the register has 5 there"
    );
    s.limits = limits(&[("count-discrepancy.tolerance", 1.0)]);
    assert_eq!(
        found(&s, "count-discrepancy"),
        vec![("SYN-B/P1".to_owned(), ts("2025-12-31T18:00:00Z"))]
    );
}

// --- places ---------------------------------------------------------------------------------

#[test]
fn cell_over_capacity() {
    let mut reg = Register::with_places();
    cell(&mut reg, "SYN-A/P2/C001", 3, 9, 100.0);
    for (no, hh) in [("SYN-1", "03"), ("SYN-2", "01"), ("SYN-3", "02")] {
        admit_into(
            &mut reg,
            no,
            "SYN-A/P2/C001",
            &format!("2025-12-01T{hh}:00:00Z"),
        );
    }
    admit_into(&mut reg, "SYN-4", "SYN-A/P2/C001", "2026-01-01T00:04:00Z");
    admit_into(&mut reg, "SYN-5", "SYN-A/P2/C001", "2026-01-01T00:05:00Z");
    let s = snapshot(&reg, at(T0, mins(3)));
    assert_eq!(found(&s, "cell-over-capacity"), vec![]);
    let s = snapshot(&reg, at(T0, mins(4)));
    assert_eq!(
        found(&s, "cell-over-capacity"),
        vec![("SYN-A/P2/C001".to_owned(), at(T0, mins(4)))]
    );
    // A fifth person: still over capacity since the fourth arrived.
    let s = snapshot(&reg, at(T0, mins(5)));
    let f = only(&s, "cell-over-capacity");
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].detail,
        "cell SYN-A/P2/C001 holds 5 people for 3 places since 2026-01-01T00:04:00Z"
    );
    assert_eq!(f[0].subject_kind, SubjectKind::Cell);
    assert_eq!(f[0].facility.as_deref(), Some("SYN-A"));
}

#[test]
fn bed_shortage() {
    let mut reg = Register::with_places();
    cell(&mut reg, "SYN-A/P2/C001", 70, 48, 1000.0);
    // 48 people arrive on 2025-12-01, one a minute, in reverse order of register number.
    for i in 0..48 {
        let when = at("2025-12-01T00:00:00Z", mins(47 - i));
        admit_into(
            &mut reg,
            &format!("SYN-{i:02}"),
            "SYN-A/P2/C001",
            &when.to_string(),
        );
    }
    admit_into(&mut reg, "SYN-48", "SYN-A/P2/C001", "2026-01-01T00:04:00Z");
    admit_into(&mut reg, "SYN-49", "SYN-A/P2/C001", "2026-01-01T00:05:00Z");

    let s = snapshot(&reg, at(T0, mins(3)));
    assert_eq!(s.persons.len(), 48);
    assert_eq!(found(&s, "bed-shortage"), vec![]);
    let s = snapshot(&reg, at(T0, mins(4)));
    let f = only(&s, "bed-shortage");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-A/P2/C001", at(T0, mins(4)))]
    );
    assert_eq!(
        f[0].detail,
        "cell SYN-A/P2/C001 holds 49 people for 48 beds since 2026-01-01T00:04:00Z"
    );
    let s = snapshot(&reg, at(T0, mins(5)));
    let f = only(&s, "bed-shortage");
    assert_eq!(
        f[0].detail,
        "cell SYN-A/P2/C001 holds 50 people for 48 beds since 2026-01-01T00:04:00Z"
    );
}

/// A cell of 34 m²: 10 people (3.4 m² each) before 2026, an eleventh at 00:04.
fn floor_space_register() -> Register {
    let mut reg = Register::with_places();
    cell(&mut reg, "SYN-A/P2/C001", 20, 20, 34.0);
    for i in 1..=10 {
        let when = at("2025-12-01T00:00:00Z", hours(i));
        admit_into(
            &mut reg,
            &format!("SYN-{i:02}"),
            "SYN-A/P2/C001",
            &when.to_string(),
        );
    }
    admit_into(&mut reg, "SYN-11", "SYN-A/P2/C001", "2026-01-01T00:04:00Z");
    reg
}

#[test]
fn floor_space() {
    let reg = floor_space_register();
    let s = snapshot(&reg, at(T0, mins(3)));
    assert_eq!(found(&s, "floor-space"), vec![]);
    let s = snapshot(&reg, at(T0, mins(4)));
    let f = only(&s, "floor-space");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-A/P2/C001", at(T0, mins(4)))]
    );
    assert_eq!(
        f[0].detail,
        "cell SYN-A/P2/C001 gives 3.09 m² per person (11 people in 34 m²; minimum 3.4 m²) since 2026-01-01T00:04:00Z"
    );

    // The CPT's 4 m², set by settings: 8 fit, so the ninth arrival is when it began.
    let mut reg = floor_space_register();
    reg.ok(json!({"type":"settings.record","at":"2025-11-01T00:00:00Z","limits":{"floor-space.min_m2":4.0}}));
    let s = snapshot(&reg, at(T0, mins(3)));
    let f = only(&s, "floor-space");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-A/P2/C001", ts("2025-12-01T09:00:00Z"))]
    );
    assert_eq!(
        f[0].detail,
        "cell SYN-A/P2/C001 gives 3.40 m² per person (10 people in 34 m²; minimum 4 m²) since 2025-12-01T09:00:00Z"
    );
}

fn small_facility() -> Register {
    let mut reg = Register::with_places();
    reg.ok(
        json!({"type":"facility.register","facility":"SYN-C","name":"Centro C",
        "authority":"Autoridad Ejemplo","timezone":"UTC","official_capacity":3}),
    );
    for (i, when) in [
        "2025-12-01T03:00:00Z",
        "2025-12-01T01:00:00Z",
        "2025-12-01T02:00:00Z",
        "2026-01-01T00:04:00Z",
        "2026-01-01T00:05:00Z",
    ]
    .iter()
    .enumerate()
    {
        reg.admit(&format!("SYN-{}", i + 1), "SYN-C", when);
    }
    // In transit out of SYN-C before 2026: not in the facility.
    reg.admit("SYN-9", "SYN-C", "2025-11-01T00:00:00Z");
    reg.ok(json!({"type":"transfer.depart","register_no":"SYN-9","at":"2025-12-31T23:00:00Z","to":{"facility":"SYN-A"}}));
    reg
}

#[test]
fn facility_over_capacity() {
    let reg = small_facility();
    let s = snapshot(&reg, at(T0, mins(3)));
    assert_eq!(found(&s, "facility-over-capacity"), vec![]);
    let s = snapshot(&reg, at(T0, mins(4)));
    let f = only(&s, "facility-over-capacity");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-C", at(T0, mins(4)))]
    );
    assert_eq!(
        f[0].detail,
        "facility SYN-C holds 4 people for an official capacity of 3 (133 %) since 2026-01-01T00:04:00Z"
    );
    // At 150 %, 4 may be held (3 × 1.5, rounded down).
    let mut s = snapshot(&reg, at(T0, mins(4)));
    s.limits = limits(&[("facility-over-capacity.pct", 150.0)]);
    assert_eq!(found(&s, "facility-over-capacity"), vec![]);
    let mut s = snapshot(&reg, at(T0, mins(5)));
    s.limits = limits(&[("facility-over-capacity.pct", 150.0)]);
    assert_eq!(
        found(&s, "facility-over-capacity"),
        vec![("SYN-C".to_owned(), at(T0, mins(5)))]
    );
}

#[test]
fn category_mixing() {
    let mut reg = Register::with_places();
    for c in ["C001", "C002", "C003", "C004"] {
        cell(&mut reg, &format!("SYN-A/P2/{c}"), 4, 4, 100.0);
    }
    let mut admit = |no: &str, cell: &str, when: &str, edit: &dyn Fn(&mut Value)| {
        admit_with(&mut reg, no, "SYN-A", when, |c| edit(c));
        place(&mut reg, no, cell, when);
    };
    let man = |c: &mut Value| c["person"]["sex"] = json!("male");
    let woman = |c: &mut Value| c["person"]["sex"] = json!("female");
    // C001: a man, then a woman.
    admit("SYN-1", "SYN-A/P2/C001", "2025-12-01T01:00:00Z", &man);
    admit("SYN-2", "SYN-A/P2/C001", "2025-12-01T02:00:00Z", &woman);
    // C002: a sentenced man, then a man on remand.
    admit("SYN-3", "SYN-A/P2/C002", "2025-12-01T01:00:00Z", &|c| {
        man(c);
        c["legal_status"] = json!("sentenced");
    });
    admit("SYN-4", "SYN-A/P2/C002", "2025-12-01T03:00:00Z", &man);
    // C003: an adult, then someone who turns 18 on 2026-01-02.
    admit("SYN-5", "SYN-A/P2/C003", "2025-12-01T01:00:00Z", &|c| {
        c["person"]["date_of_birth"] = json!("1990-05-17");
    });
    admit("SYN-6", "SYN-A/P2/C003", "2025-12-01T04:00:00Z", &|c| {
        c["person"]["date_of_birth"] = json!("2008-01-02");
    });
    // C004: a man with a person of sex `other`, both on remand, ages unknown: no mixing.
    admit("SYN-7", "SYN-A/P2/C004", "2025-12-01T01:00:00Z", &man);
    admit("SYN-8", "SYN-A/P2/C004", "2025-12-01T01:00:00Z", &|_| {});

    let s = snapshot(&reg, ts("2026-01-01T23:59:59Z"));
    let f = only(&s, "category-mixing");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.detail.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (
                "SYN-A/P2/C001",
                ts("2025-12-01T02:00:00Z"),
                "cell SYN-A/P2/C001 holds men with women (1 and 1) since 2025-12-01T02:00:00Z"
            ),
            (
                "SYN-A/P2/C002",
                ts("2025-12-01T03:00:00Z"),
                "cell SYN-A/P2/C002 holds people on remand with convicted people (1 and 1) since 2025-12-01T03:00:00Z"
            ),
            (
                "SYN-A/P2/C003",
                ts("2025-12-01T04:00:00Z"),
                "cell SYN-A/P2/C003 holds children with adults (1 and 1) since 2025-12-01T04:00:00Z"
            ),
        ]
    );
    // On their 18th birthday in the facility (midnight in America/El_Salvador is 06:00 UTC)
    // SYN-6 is an adult; at midnight UTC it is still the day before there.
    let s = snapshot(&reg, ts("2026-01-02T05:59:59Z"));
    assert_eq!(found(&s, "category-mixing").len(), 3);
    let s = snapshot(&reg, ts("2026-01-02T06:00:00Z"));
    assert_eq!(
        found(&s, "category-mixing")
            .into_iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>(),
        vec!["SYN-A/P2/C001", "SYN-A/P2/C002"]
    );
}

// --- exercise -------------------------------------------------------------------------------

fn session(
    from: &str,
    minutes: i64,
    cells: &[&str],
    unit: Option<&str>,
    nos: &[&str],
    seq: u64,
) -> ExerciseSession {
    ExerciseSession {
        at: ts(from),
        until: at(from, mins(minutes)),
        outdoors: true,
        cells: cells.iter().map(|c| cp(c)).collect(),
        unit: unit.map(up),
        register_nos: nos.iter().map(|n| rn(n)).collect(),
        seq,
    }
}

#[test]
fn no_outdoor_exercise() {
    let mut reg = Register::with_places();
    cell(&mut reg, "SYN-A/P2/C001", 4, 4, 100.0);
    cell(&mut reg, "SYN-A/P2/C002", 4, 4, 100.0);
    let admitted = "2025-12-29T08:00:00Z";
    admit_into(&mut reg, "SYN-1", "SYN-A/P1/C001", admitted);
    admit_into(&mut reg, "SYN-2", "SYN-A/P1/C001", admitted);
    admit_into(&mut reg, "SYN-3", "SYN-A/P1/C002", admitted);
    admit_into(&mut reg, "SYN-4", "SYN-B/P1/C001", admitted);
    // SYN-5 and SYN-6 swap cells at 10:00 on 2025-12-31.
    admit_into(&mut reg, "SYN-5", "SYN-A/P2/C001", admitted);
    admit_into(&mut reg, "SYN-6", "SYN-A/P2/C002", admitted);
    place(&mut reg, "SYN-5", "SYN-A/P2/C002", "2025-12-31T10:00:00Z");
    place(&mut reg, "SYN-6", "SYN-A/P2/C001", "2025-12-31T10:00:00Z");
    // Admitted the day before T: the admission day is not counted.
    admit_into(&mut reg, "SYN-7", "SYN-A/P1/C002", "2025-12-31T08:00:00Z");

    // Evaluated on 2026-01-01: the days counted are 2025-12-30 and 2025-12-31.
    let mut s = snapshot(&reg, ts("2026-01-01T12:00:00Z"));
    s.exercise = vec![
        // SYN-1: 60 minutes on the 30th, 59 on the 31st.
        session("2025-12-30T10:00:00Z", 60, &[], None, &["SYN-1"], 1),
        session("2025-12-31T10:00:00Z", 59, &[], None, &["SYN-1"], 2),
        // SYN-2: by name; SYN-3 and SYN-7: by cell; SYN-4: by unit.
        session("2025-12-31T10:00:00Z", 60, &[], None, &["SYN-2"], 3),
        session("2025-12-31T14:00:00Z", 60, &["SYN-A/P1/C002"], None, &[], 4),
        session("2025-12-31T14:00:00Z", 60, &[], Some("SYN-B/P1"), &[], 5),
        // After the swap: SYN-6 is in C001 when it begins, SYN-5 is not.
        session("2025-12-31T11:00:00Z", 60, &["SYN-A/P2/C001"], None, &[], 6),
        // Indoors does not count.
        ExerciseSession {
            outdoors: false,
            ..session("2025-12-31T15:00:00Z", 60, &[], None, &["SYN-5"], 7)
        },
    ];
    let f = only(&s, "no-outdoor-exercise");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        // Days begin at midnight in the facility (America/El_Salvador, UTC−6).
        vec![
            ("SYN-1", ts("2025-12-31T06:00:00Z")),
            ("SYN-5", ts("2025-12-30T06:00:00Z")),
        ]
    );
    assert_eq!(
        f[0].detail,
        "SYN-1 had 59 minutes outdoors on 2025-12-31 (minimum 60); every day since 2025-12-31 was short"
    );
    // The entry that placed SYN-1 where the short days began, and the session of the last day.
    assert_eq!(f[0].evidence.len(), 2, "{:?}", f[0].evidence);
    assert!(f[0].evidence.contains(&2));
    // SYN-5 never went outdoors: the evidence is the entry that starts the count, never empty.
    assert_eq!(f[1].evidence.len(), 1, "{:?}", f[1].evidence);
    assert!(
        !f[1].evidence.contains(&7),
        "an indoor session is no evidence"
    );

    // A day later, with no session on 2026-01-01: SYN-7's streak begins the day after the
    // admission day.
    s.at = ts("2026-01-02T12:00:00Z");
    let syn7: Vec<_> = found(&s, "no-outdoor-exercise")
        .into_iter()
        .filter(|(no, _)| no == "SYN-7")
        .collect();
    assert_eq!(syn7, vec![("SYN-7".to_owned(), ts("2026-01-01T06:00:00Z"))]);
}

/// #16: an outdoor hour from 19:00 to 20:00 in America/El_Salvador (01:00–02:00 UTC the next
/// day) counts for the facility's day, not the next UTC day.
#[test]
fn no_outdoor_exercise_counts_the_facilitys_own_days() {
    let mut reg = Register::with_places();
    // Admitted at 08:00 local on 30 December: the 31st is the first day counted.
    admit_into(&mut reg, "SYN-1", "SYN-A/P1/C001", "2025-12-30T14:00:00Z");
    // 19:00–20:00 local on 31 December.
    let mut s = snapshot(&reg, ts("2026-01-01T18:00:00Z"));
    s.exercise = vec![session(
        "2026-01-01T01:00:00Z",
        60,
        &["SYN-A/P1/C001"],
        None,
        &[],
        1,
    )];
    // At noon local on 1 January, the 31st had its hour.
    assert!(only(&s, "no-outdoor-exercise").is_empty());
    // Counted in UTC, that hour falls on 1 January and the 31st had none: the same register
    // in a UTC facility is short.
    for f in reg.state.facilities.values_mut() {
        f.timezone = habeas_domain::Text::parse("UTC").unwrap();
    }
    let s = Snapshot {
        facilities: reg.state.facilities.values().cloned().collect(),
        ..s
    };
    assert_eq!(found(&s, "no-outdoor-exercise").len(), 1);
}

// --- contact and health ---------------------------------------------------------------------

#[test]
fn no_family_contact() {
    let mut reg = Register::with_places();
    reg.ok(admission_under(
        "SYN-1",
        "SYN-CAUSA-1",
        "2025-11-01T00:00:00Z",
    ));
    reg.ok(admission_under(
        "SYN-2",
        "SYN-CAUSA-1",
        "2025-12-02T10:00:00Z",
    ));
    let contact = ts("2025-12-02T10:00:00Z");
    let due = "2026-01-01T10:00:00Z";
    let with_facts = |t: Timestamp| {
        let mut s = snapshot(&reg, t);
        facts(&mut s, "SYN-1").last_family_contact = Some((contact, 77));
        // A contact before the admission (an earlier episode) does not count.
        facts(&mut s, "SYN-2").last_family_contact = Some((ts("2025-11-15T10:00:00Z"), 78));
        s
    };
    assert_eq!(
        found(&with_facts(at(due, mins(-1))), "no-family-contact"),
        vec![]
    );
    let s = with_facts(ts(due));
    let f = only(&s, "no-family-contact");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.evidence.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("SYN-1", ts(due), vec![77]),
            ("SYN-2", ts(due), vec![admission_seq(&reg, "SYN-2")]),
        ]
    );
    assert_eq!(
        f[0].detail,
        "SYN-1 has had no family visit, call or letter since 2025-12-02T10:00:00Z (30 days)"
    );
    assert_eq!(
        found(&with_facts(at(due, mins(1))), "no-family-contact").len(),
        2
    );
}

#[test]
fn no_legal_access() {
    let mut reg = Register::with_places();
    let admitted = "2025-12-25T06:00:00Z";
    for no in ["SYN-1", "SYN-2", "SYN-3"] {
        reg.ok(admission_under(no, "SYN-CAUSA-1", admitted));
    }
    admit_with(&mut reg, "SYN-4", "SYN-A", admitted, |c| {
        c["legal_status"] = json!("sentenced")
    });
    let due = "2026-01-01T06:00:00Z";
    let with_facts = |t| {
        let mut s = snapshot(&reg, t);
        facts(&mut s, "SYN-2").legal_visit_since_admission = Some((ts("2025-12-31T10:00:00Z"), 5));
        s
    };
    assert_eq!(
        found(&with_facts(at(due, mins(-1))), "no-legal-access"),
        vec![]
    );
    let s = with_facts(ts(due));
    let f = only(&s, "no-legal-access");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-1", ts(due)), ("SYN-3", ts(due))]
    );
    assert_eq!(
        f[0].detail,
        "SYN-1, on remand since 2025-12-25T06:00:00Z, has had no legal visit"
    );
}

#[test]
fn consular_access_missing() {
    let mut reg = Register::with_places();
    reg.ok(json!({"type":"settings.record","at":"2025-11-01T00:00:00Z","country":"SLV"}));
    let admitted = "2025-12-29T06:00:00Z";
    for (no, nationalities) in [
        ("SYN-1", json!(["GTM"])),
        ("SYN-2", json!(["SLV"])),
        ("SYN-3", json!(["GTM", "SLV"])),
        ("SYN-4", json!(["GTM"])),
        ("SYN-5", json!([])),
    ] {
        admit_with(&mut reg, no, "SYN-A", admitted, |c| {
            c["person"]["nationalities"] = nationalities;
        });
    }
    let due = "2026-01-01T06:00:00Z";
    let with_facts = |t| {
        let mut s = snapshot(&reg, t);
        facts(&mut s, "SYN-4").notifications = vec![notice(
            at(admitted, hours(1)),
            NotifyTo::Consulate,
            NotifyAbout::Admission,
            false,
        )];
        s
    };
    assert_eq!(
        found(&with_facts(at(due, mins(-1))), "consular-access-missing"),
        vec![]
    );
    let s = with_facts(ts(due));
    let f = only(&s, "consular-access-missing");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-1", ts(due))]
    );
    assert_eq!(
        f[0].detail,
        "SYN-1 (GTM) was admitted at 2025-12-29T06:00:00Z and their consulate has not been notified"
    );
    // Without the register's country, nobody is known to be foreign.
    let mut s = with_facts(at(due, days(1)));
    s.country = None;
    assert_eq!(found(&s, "consular-access-missing"), vec![]);
}

#[test]
fn family_not_notified() {
    let mut reg = Register::with_places();
    let admitted = "2025-12-31T06:00:00Z";
    for no in ["SYN-1", "SYN-2", "SYN-7"] {
        reg.ok(admission_under(no, "SYN-CAUSA-1", admitted));
    }
    // Transferred: departed at 04:00, arrived at SYN-B at 06:00.
    for no in ["SYN-3", "SYN-4", "SYN-5"] {
        reg.ok(admission_under(no, "SYN-CAUSA-1", "2025-12-01T06:00:00Z"));
        reg.ok(json!({"type":"transfer.depart","register_no":no,"at":"2025-12-31T04:00:00Z","to":{"facility":"SYN-B"}}));
        reg.ok(json!({"type":"transfer.arrive","register_no":no,"facility":"SYN-B","at":admitted}));
    }
    // SYN-4 is placed in a cell after arriving: the arrival is still the one to notify.
    place(&mut reg, "SYN-4", "SYN-B/P1/C001", "2025-12-31T07:00:00Z");
    let arrived = ts(admitted);
    let with_facts = |t| {
        let mut s = snapshot(&reg, t);
        let family = |at, about, declined| notice(at, NotifyTo::Family, about, declined);
        // The person declined: that counts.
        facts(&mut s, "SYN-2").notifications =
            vec![family(ts(admitted), NotifyAbout::Admission, true)];
        for no in ["SYN-3", "SYN-4", "SYN-5"] {
            facts(&mut s, no).notifications = vec![family(
                ts("2025-12-01T07:00:00Z"),
                NotifyAbout::Admission,
                false,
            )];
        }
        facts(&mut s, "SYN-5").notifications.push(family(
            at(admitted, hours(1)),
            NotifyAbout::Transfer,
            false,
        ));
        // Counsel is not the family.
        facts(&mut s, "SYN-7").notifications = vec![notice(
            ts(admitted),
            NotifyTo::Counsel,
            NotifyAbout::Admission,
            false,
        )];
        s
    };
    let due = ts("2026-01-01T06:00:00Z");
    assert_eq!(
        found(
            &with_facts(due.checked_sub(mins(1)).unwrap()),
            "family-not-notified"
        ),
        vec![]
    );
    let s = with_facts(due);
    let f = only(&s, "family-not-notified");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![
            ("SYN-1", due),
            ("SYN-3", due),
            ("SYN-4", due),
            ("SYN-7", due)
        ]
    );
    assert_eq!(
        f[0].detail,
        "nobody was notified of the admission of SYN-1 at 2025-12-31T06:00:00Z, and the person did not decline"
    );
    assert_eq!(
        f[1].detail,
        format!(
            "nobody was notified of the transfer of SYN-3 at {arrived}, and the person did not decline"
        )
    );
    assert_eq!(f[1].facility.as_deref(), Some("SYN-B"));
    assert_eq!(f[2].detail.replace("SYN-4", "SYN-3"), f[1].detail);
}

#[test]
fn no_medical_exam() {
    let mut reg = Register::with_places();
    let admitted = "2025-12-31T06:00:00Z";
    reg.ok(admission_under("SYN-1", "SYN-CAUSA-1", admitted));
    reg.ok(admission_under("SYN-2", "SYN-CAUSA-1", admitted));
    let due = "2026-01-01T06:00:00Z";
    let with_facts = |t| {
        let mut s = snapshot(&reg, t);
        facts(&mut s, "SYN-2").exam_since_admission = Some((at(due, mins(0)), 9));
        s
    };
    assert_eq!(
        found(&with_facts(at(due, mins(-1))), "no-medical-exam"),
        vec![]
    );
    let s = with_facts(ts(due));
    let f = only(&s, "no-medical-exam");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.detail.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "SYN-1",
            ts(due),
            "SYN-1 was admitted at 2025-12-31T06:00:00Z and has had no health exam"
        )]
    );
}

/// The open requests at `t`, as the store selects them: made by `t`, not seen by `t`.
fn open_requests(reg: &Register, t: Timestamp) -> Vec<OpenRequest> {
    reg.state
        .health_requests
        .values()
        .filter(|r| r.at <= t && r.seen.as_ref().is_none_or(|s| s.at > t))
        .map(|r| OpenRequest {
            request: r.request.clone(),
            register_no: r.register_no.clone(),
            at: r.at,
            seq: r.seq,
        })
        .collect()
}

#[test]
fn health_request_unanswered() {
    let mut reg = Register::with_places();
    for no in ["SYN-1", "SYN-2", "SYN-3"] {
        reg.ok(admission_under(no, "SYN-CAUSA-1", "2025-12-01T06:00:00Z"));
    }
    let made = "2025-12-31T06:00:00Z";
    for (req, no) in [
        ("SYN-H-1", "SYN-1"),
        ("SYN-H-2", "SYN-2"),
        ("SYN-H-3", "SYN-3"),
    ] {
        reg.ok(json!({"type":"health.request","request":req,"register_no":no,"at":made}));
    }
    // Seen in time; and a person released before it was due.
    reg.ok(json!({"type":"health.seen","request":"SYN-H-2","at":"2025-12-31T07:00:00Z"}));
    reg.ok(
        json!({"type":"release.record","register_no":"SYN-3","at":"2025-12-31T20:00:00Z",
        "reason":"bail","authority":"Juzgado Ejemplo","reference":"SYN-R-3"}),
    );
    let due = "2026-01-01T06:00:00Z";
    let with_requests = |t| {
        let mut s = snapshot(&reg, t);
        s.open_requests = open_requests(&reg, t);
        s
    };
    let s = with_requests(at(due, mins(-1)));
    assert_eq!(s.open_requests.len(), 2, "SYN-H-1 and SYN-H-3 are open");
    assert_eq!(found(&s, "health-request-unanswered"), vec![]);
    let s = with_requests(ts(due));
    let f = only(&s, "health-request-unanswered");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.detail.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "SYN-1",
            ts(due),
            "health request SYN-H-1 of SYN-1 made at 2025-12-31T06:00:00Z has not been seen"
        )]
    );
}

#[test]
fn prolonged_solitary() {
    let mut reg = Register::with_places();
    reg.ok(admission_under(
        "SYN-1",
        "SYN-CAUSA-1",
        "2025-12-01T06:00:00Z",
    ));
    reg.ok(admission_under(
        "SYN-2",
        "SYN-CAUSA-1",
        "2025-12-01T06:00:00Z",
    ));
    let separate = |no: &str, when: &str| {
        json!({"type":"separation.start","register_no":no,"at":when,
            "reason":"Motivo de ejemplo","authorized_by":"Director Ejemplo"})
    };
    reg.ok(separate("SYN-1", "2025-12-17T00:00:00Z"));
    // 19 days, ended: not open.
    reg.ok(separate("SYN-2", "2025-12-01T07:00:00Z"));
    reg.ok(json!({"type":"separation.end","register_no":"SYN-2","at":"2025-12-20T07:00:00Z"}));

    // Exactly 15 days: not longer than the maximum.
    let s = snapshot(&reg, ts(T0));
    assert_eq!(found(&s, "prolonged-solitary"), vec![]);
    let s = snapshot(&reg, at(T0, mins(1)));
    let f = only(&s, "prolonged-solitary");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.detail.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "SYN-1",
            ts(T0),
            "SYN-1 has been in separation since 2025-12-17T00:00:00Z (15 days; the maximum is 15), authorized by Director Ejemplo"
        )]
    );
    let mut s = snapshot(&reg, ts(T0));
    s.limits = limits(&[("prolonged-solitary.days", 10.0)]);
    assert_eq!(
        found(&s, "prolonged-solitary"),
        vec![("SYN-1".to_owned(), ts("2025-12-27T00:00:00Z"))]
    );
}

#[test]
fn solitary_prohibited() {
    let mut reg = Register::with_places();
    admit_with(&mut reg, "SYN-1", "SYN-A", "2025-12-01T06:00:00Z", |c| {
        c["person"]["date_of_birth"] = json!("2008-01-02");
    });
    reg.ok(admission_under(
        "SYN-2",
        "SYN-CAUSA-1",
        "2025-12-01T06:00:00Z",
    ));
    for no in ["SYN-1", "SYN-2"] {
        reg.ok(
            json!({"type":"separation.start","register_no":no,"at":"2025-12-31T10:00:00Z",
            "reason":"Motivo de ejemplo","authorized_by":"Director Ejemplo"}),
        );
    }
    // 17 until the end of 2026-01-01 in the facility (06:00 UTC on the 2nd); 18 from
    // 2026-01-02; age unknown: no finding.
    let s = snapshot(&reg, ts("2026-01-02T05:59:59Z"));
    let f = only(&s, "solitary-prohibited");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.detail.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "SYN-1",
            ts("2025-12-31T10:00:00Z"),
            "SYN-1, aged 17, has been in separation since 2025-12-31T10:00:00Z"
        )]
    );
    let s = snapshot(&reg, ts("2026-01-02T06:00:00Z"));
    assert_eq!(found(&s, "solitary-prohibited"), vec![]);
}

// --- deaths and injuries --------------------------------------------------------------------

#[test]
fn death_not_referred_and_death_family_not_notified() {
    let died = ts("2025-12-31T06:00:00Z");
    let death = |no: &str, notifications| DeathFacts {
        register_no: rn(no),
        facility: Some(FacilityCode::parse("SYN-A").unwrap()),
        at: died,
        seq: 40,
        notifications,
    };
    let hour_after = died.checked_add(hours(1)).unwrap();
    let hour_before = died.checked_sub(hours(1)).unwrap();
    let mut s = Snapshot {
        at: ts("2026-01-01T05:59:00Z"),
        deaths: vec![
            death("SYN-1", vec![]),
            death(
                "SYN-2",
                vec![
                    notice(
                        hour_after,
                        NotifyTo::IndependentAuthority,
                        NotifyAbout::Death,
                        false,
                    ),
                    // About the admission, not the death.
                    notice(hour_after, NotifyTo::Family, NotifyAbout::Admission, false),
                ],
            ),
            // Notices before the death do not count.
            death(
                "SYN-3",
                vec![
                    notice(
                        hour_before,
                        NotifyTo::IndependentAuthority,
                        NotifyAbout::Death,
                        false,
                    ),
                    notice(hour_before, NotifyTo::Family, NotifyAbout::Death, false),
                ],
            ),
            death(
                "SYN-4",
                vec![
                    notice(
                        died,
                        NotifyTo::IndependentAuthority,
                        NotifyAbout::Death,
                        false,
                    ),
                    notice(hour_after, NotifyTo::Family, NotifyAbout::Death, false),
                ],
            ),
        ],
        ..Snapshot::default()
    };
    assert_eq!(found(&s, "death-not-referred"), vec![]);
    assert_eq!(found(&s, "death-family-not-notified"), vec![]);
    let due = ts("2026-01-01T06:00:00Z");
    s.at = due;
    assert_eq!(
        found(&s, "death-not-referred"),
        vec![("SYN-1".to_owned(), due), ("SYN-3".to_owned(), due)]
    );
    let f = only(&s, "death-family-not-notified");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since))
            .collect::<Vec<_>>(),
        vec![("SYN-1", due), ("SYN-2", due), ("SYN-3", due)]
    );
    assert_eq!(
        f[1].detail,
        "the death of SYN-2 at 2025-12-31T06:00:00Z has not been notified to the family"
    );
    assert_eq!(f[1].facility.as_deref(), Some("SYN-A"));
}

#[test]
fn injury_not_referred() {
    let seen = ts("2025-12-31T06:00:00Z");
    let injury = |no: &str, what: &str, referred_at: Option<Timestamp>, seq| InjuryFacts {
        register_no: rn(no),
        at: seen,
        seq,
        what: what.into(),
        referred_at,
    };
    let due = ts("2026-01-01T06:00:00Z");
    let mut s = Snapshot {
        at: due.checked_sub(mins(1)).unwrap(),
        injuries: vec![
            injury("SYN-1", "injuries observed at a health exam", None, 1),
            // An incident recorded with `referred_to`: referred when it happened.
            injury("SYN-2", "incident SYN-I-1 (use_of_force)", Some(seen), 2),
            injury("SYN-3", "incident SYN-I-2 (use_of_force)", None, 3),
            // Referred by a notification to an independent authority, after the deadline.
            injury(
                "SYN-4",
                "injuries observed at a health exam",
                Some(due.checked_add(hours(1)).unwrap()),
                4,
            ),
        ],
        ..Snapshot::default()
    };
    assert_eq!(found(&s, "injury-not-referred"), vec![]);
    s.at = due;
    let f = only(&s, "injury-not-referred");
    assert_eq!(
        f.iter()
            .map(|f| (f.subject.as_str(), f.since, f.evidence.clone()))
            .collect::<Vec<_>>(),
        vec![
            ("SYN-1", due, vec![1]),
            ("SYN-3", due, vec![3]),
            ("SYN-4", due, vec![4])
        ]
    );
    assert_eq!(
        f[1].detail,
        "incident SYN-I-2 (use_of_force) of SYN-3 at 2025-12-31T06:00:00Z has not been referred to an independent authority"
    );
    // Once referred, it is closed.
    s.at = due.checked_add(hours(1)).unwrap();
    assert_eq!(
        found(&s, "injury-not-referred")
            .into_iter()
            .map(|(no, _)| no)
            .collect::<Vec<_>>(),
        vec!["SYN-1", "SYN-3"]
    );
}

// --- limits at their extremes ---------------------------------------------------------------

#[test]
fn limits_too_large_for_a_timestamp_mean_never_and_do_not_panic() {
    let mut reg = Register::with_places();
    admit_into(&mut reg, "SYN-1", "SYN-A/P1/C001", "2025-12-01T06:00:00Z");
    reg.ok(
        json!({"type":"separation.start","register_no":"SYN-1","at":"2025-12-01T07:00:00Z",
        "reason":"Motivo de ejemplo","authorized_by":"Director Ejemplo"}),
    );
    let t = ts("2026-01-01T12:00:00Z");
    // Every limit a settings.record accepts (finite, non-negative), at two sizes: beyond any
    // timestamp, and beyond any duration.
    for big in [1e9, 1e300] {
        let mut s = snapshot(&reg, t);
        s.limits = Limits::new(
            LIMITS
                .iter()
                .filter(|l| l.unit == "hours" || l.unit == "days")
                .map(|l| (l.name.to_owned(), big))
                .collect::<BTreeMap<_, _>>(),
        );
        s.open_requests = vec![OpenRequest {
            request: RequestId::parse("SYN-H-1").unwrap(),
            register_no: rn("SYN-1"),
            at: ts("2025-12-01T08:00:00Z"),
            seq: 1,
        }];
        let time_checks = [
            "no-family-contact",
            "no-legal-access",
            "family-not-notified",
            "no-medical-exam",
            "health-request-unanswered",
            "prolonged-solitary",
        ];
        let got: Vec<&str> = evaluate(&s)
            .into_iter()
            .map(|f| f.check)
            .filter(|c| time_checks.contains(c))
            .collect();
        assert_eq!(got, Vec::<&str>::new(), "limits of {big}");
    }
}

/// A long custody keeps, of its old stays, only those a check reads: the last arrival from a
/// transit, the first stay in the present facility and the last stay in one; the findings
/// are the same with and without the others (`evaluate_both`).
#[test]
fn old_stays_that_no_check_reads_are_dropped() {
    let mut reg = Register::with_places();
    // SYN-20: moved about SYN-A for months, transferred to SYN-B, moved there.
    admit_into(&mut reg, "SYN-20", "SYN-A/P1/C001", "2025-01-10T06:00:00Z");
    place(&mut reg, "SYN-20", "SYN-A/P1/C002", "2025-03-01T06:00:00Z");
    place(&mut reg, "SYN-20", "SYN-A/P1/C001", "2025-05-01T06:00:00Z");
    reg.ok(json!({"type":"transfer.depart","register_no":"SYN-20","at":"2025-06-01T04:00:00Z","to":{"facility":"SYN-B"}}));
    reg.ok(json!({"type":"transfer.arrive","register_no":"SYN-20","facility":"SYN-B","at":"2025-06-02T04:00:00Z"}));
    place(&mut reg, "SYN-20", "SYN-B/P1/C001", "2025-06-02T05:00:00Z");
    // SYN-21: moved about SYN-A, then in transit since yesterday.
    admit_into(&mut reg, "SYN-21", "SYN-A/P1/C001", "2025-02-01T06:00:00Z");
    place(&mut reg, "SYN-21", "SYN-A/P1/C002", "2025-04-01T06:00:00Z");
    place(&mut reg, "SYN-21", "SYN-A/P1/C001", "2025-08-01T06:00:00Z");
    place(&mut reg, "SYN-21", "SYN-A/P1/C002", "2025-12-20T06:00:00Z");
    reg.ok(json!({"type":"transfer.depart","register_no":"SYN-21","at":"2025-12-30T04:00:00Z","to":{"facility":"SYN-B"}}));
    let t = ts("2026-01-01T12:00:00Z");
    let s = snapshot(&reg, t);
    let stays = |s: &Snapshot, no: &str| {
        s.persons
            .iter()
            .find(|pf| pf.person.register_no.as_str() == no)
            .and_then(|pf| pf.person.open_episode())
            .map(|e| e.stays.iter().map(|st| st.from).collect::<Vec<_>>())
            .unwrap()
    };
    let mut trimmed = s.clone();
    for pf in &mut trimmed.persons {
        drop_unreachable_stays(&mut pf.person, t, &trimmed.limits);
    }
    // SYN-20: the transit and the arrival; the last stay in SYN-B (SYN-B's first is the
    // arrival).
    assert_eq!(
        stays(&trimmed, "SYN-20"),
        vec![
            ts("2025-06-01T04:00:00Z"),
            ts("2025-06-02T04:00:00Z"),
            ts("2025-06-02T05:00:00Z")
        ]
    );
    assert_eq!(stays(&s, "SYN-20").len(), 7);
    // SYN-21: the stays that end inside the look-back (30 days and 4 to spare), the last in a
    // facility among them, and the transit.
    assert_eq!(
        stays(&trimmed, "SYN-21"),
        vec![
            ts("2025-08-01T06:00:00Z"),
            ts("2025-12-20T06:00:00Z"),
            ts("2025-12-30T04:00:00Z")
        ]
    );
    assert!(!evaluate_both(&s).is_empty());
    // A look-back of a year keeps them all.
    let mut long = s.clone();
    long.limits = limits(&[("no-outdoor-exercise.lookback_days", 365.0)]);
    for pf in &mut long.persons {
        drop_unreachable_stays(&mut pf.person, t, &long.limits);
    }
    assert_eq!(stays(&long, "SYN-20").len(), 7);
    evaluate_both(&long);
}
