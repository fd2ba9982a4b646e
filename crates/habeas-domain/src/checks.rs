//! The standards checks (STANDARDS.md): pure functions over a [`Snapshot`] of the register as
//! it was known at a time `T`. The store builds the snapshot with the queries each check
//! needs (and only the window each check needs); the rules live here.
//!
//! Days are UTC days: a facility's own time zone is not applied yet.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::ids::*;
use crate::model::*;
use crate::state::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Warning,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Person,
    Cell,
    Unit,
    Facility,
    Event,
    Register,
}

/// A check that fails for a subject since a time, with the log entries that are its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub subject_kind: SubjectKind,
    /// The register number, cell path, unit path, facility code or sequence number.
    pub subject: String,
    /// The facility concerned, for filtering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facility: Option<String>,
    pub since: Timestamp,
    pub detail: String,
    pub evidence: Vec<u64>,
}

/// A check of STANDARDS.md: its id, source and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckInfo {
    pub id: &'static str,
    pub source: &'static str,
    pub severity: Severity,
}

use Severity::{Critical, Warning};

/// Every check, in STANDARDS.md order.
pub const CHECKS: &[CheckInfo] = &[
    CheckInfo {
        id: "no-legal-basis",
        source: "SMR 7; CED 17(2)(a)",
        severity: Critical,
    },
    CheckInfo {
        id: "over-detention",
        source: "CED 17(2)(f); BOP 11(3)",
        severity: Critical,
    },
    CheckInfo {
        id: "release-order-ignored",
        source: "CED 21; court order",
        severity: Critical,
    },
    CheckInfo {
        id: "transfer-against-order",
        source: "court order; CED 17",
        severity: Critical,
    },
    CheckInfo {
        id: "whereabouts-unknown",
        source: "CED 17(3)(h), 18(1)(d)",
        severity: Critical,
    },
    CheckInfo {
        id: "late-record",
        source: "CED 17(3), 22(b); SMR 7",
        severity: Warning,
    },
    CheckInfo {
        id: "count-discrepancy",
        source: "CED 17(3); SMR 7",
        severity: Critical,
    },
    CheckInfo {
        id: "cell-over-capacity",
        source: "SMR 12-13",
        severity: Warning,
    },
    CheckInfo {
        id: "bed-shortage",
        source: "SMR 21",
        severity: Critical,
    },
    CheckInfo {
        id: "floor-space",
        source: "SMR 13; ICRC; CPT",
        severity: Warning,
    },
    CheckInfo {
        id: "facility-over-capacity",
        source: "SMR 10, 13",
        severity: Warning,
    },
    CheckInfo {
        id: "category-mixing",
        source: "SMR 11, 112",
        severity: Critical,
    },
    CheckInfo {
        id: "no-outdoor-exercise",
        source: "SMR 23(1)",
        severity: Warning,
    },
    CheckInfo {
        id: "no-family-contact",
        source: "SMR 58, 43(3); BOP 15, 19",
        severity: Warning,
    },
    CheckInfo {
        id: "no-legal-access",
        source: "SMR 61, 119; BOP 17-18",
        severity: Warning,
    },
    CheckInfo {
        id: "consular-access-missing",
        source: "VCCR 36; SMR 62",
        severity: Warning,
    },
    CheckInfo {
        id: "family-not-notified",
        source: "SMR 68; BOP 16(1); CED 18",
        severity: Warning,
    },
    CheckInfo {
        id: "no-medical-exam",
        source: "SMR 30, 34",
        severity: Warning,
    },
    CheckInfo {
        id: "health-request-unanswered",
        source: "SMR 24-27, 31",
        severity: Warning,
    },
    CheckInfo {
        id: "prolonged-solitary",
        source: "SMR 43(1)(b), 44",
        severity: Critical,
    },
    CheckInfo {
        id: "solitary-prohibited",
        source: "SMR 45(2)",
        severity: Critical,
    },
    CheckInfo {
        id: "death-not-referred",
        source: "SMR 71; CED 12",
        severity: Critical,
    },
    CheckInfo {
        id: "death-family-not-notified",
        source: "SMR 69",
        severity: Critical,
    },
    CheckInfo {
        id: "injury-not-referred",
        source: "SMR 34, 71",
        severity: Warning,
    },
    CheckInfo {
        id: "log-integrity",
        source: "SMR 6",
        severity: Critical,
    },
];

pub fn check_info(id: &str) -> Option<&'static CheckInfo> {
    CHECKS.iter().find(|c| c.id == id)
}

/// A threshold of a check, overridable by `settings.record` (`limits: {name: value}`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limit {
    pub name: &'static str,
    pub default: f64,
    pub unit: &'static str,
}

/// Every limit with its default (STANDARDS.md).
pub const LIMITS: &[Limit] = &[
    Limit {
        name: "over-detention.grace_hours",
        default: 0.0,
        unit: "hours",
    },
    Limit {
        name: "release-order-ignored.grace_hours",
        default: 12.0,
        unit: "hours",
    },
    Limit {
        name: "whereabouts-unknown.transit_hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "late-record.hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "late-record.window_days",
        default: 30.0,
        unit: "days",
    },
    Limit {
        name: "count-discrepancy.tolerance",
        default: 0.0,
        unit: "persons",
    },
    Limit {
        name: "floor-space.min_m2",
        default: 3.4,
        unit: "m2 per person",
    },
    Limit {
        name: "facility-over-capacity.pct",
        default: 100.0,
        unit: "% of official capacity",
    },
    Limit {
        name: "no-outdoor-exercise.min_minutes",
        default: 60.0,
        unit: "minutes per day",
    },
    Limit {
        name: "no-outdoor-exercise.lookback_days",
        default: 30.0,
        unit: "days",
    },
    Limit {
        name: "no-family-contact.days",
        default: 30.0,
        unit: "days",
    },
    Limit {
        name: "no-legal-access.days",
        default: 7.0,
        unit: "days",
    },
    Limit {
        name: "consular-access-missing.hours",
        default: 72.0,
        unit: "hours",
    },
    Limit {
        name: "family-not-notified.hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "no-medical-exam.hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "health-request-unanswered.hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "prolonged-solitary.days",
        default: 15.0,
        unit: "days",
    },
    Limit {
        name: "death-not-referred.hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "death-family-not-notified.hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "injury-not-referred.hours",
        default: 24.0,
        unit: "hours",
    },
    Limit {
        name: "injury-not-referred.window_days",
        default: 365.0,
        unit: "days",
    },
    Limit {
        name: "adult.age",
        default: 18.0,
        unit: "years",
    },
    // Not a check's limit: how far back a reported time or date may lie before the time of
    // recording (`decide` refuses earlier ones as typing errors). 120 years covers the oldest
    // date of birth and any history a register imports.
    Limit {
        name: "records.max_years_back",
        default: 120.0,
        unit: "years",
    },
];

/// The limits in force: defaults overridden by settings.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Limits {
    overrides: BTreeMap<String, f64>,
}

impl Limits {
    pub fn new(overrides: BTreeMap<String, f64>) -> Self {
        Limits { overrides }
    }

    pub fn get(&self, name: &str) -> f64 {
        self.overrides
            .get(name)
            .copied()
            .or_else(|| LIMITS.iter().find(|l| l.name == name).map(|l| l.default))
            .unwrap_or(0.0)
    }

    fn hours(&self, name: &str) -> SignedDuration {
        duration(self.get(name) * 3600.0)
    }

    fn days(&self, name: &str) -> SignedDuration {
        duration(self.get(name) * 86_400.0)
    }
}

/// A limit as a duration, saturating: a limit too large for a duration means "never", and
/// must not panic (`settings.record` accepts any finite, non-negative number).
fn duration(secs: f64) -> SignedDuration {
    SignedDuration::try_from_secs_f64(secs).unwrap_or(if secs < 0.0 {
        SignedDuration::MIN
    } else {
        SignedDuration::MAX
    })
}

/// A held person as known at `T`, with the daily-life facts their checks need.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonFacts {
    /// The person as known at `T` (`Person::as_known_at`); their last episode is open. The
    /// store drops the stays no check at `T` reads ([`drop_unreachable_stays`]).
    pub person: Person,
    /// The latest family contact (visit, call, letter) at or before `T`.
    pub last_family_contact: Option<(Timestamp, u64)>,
    /// The first legal visit since the current admission.
    pub legal_visit_since_admission: Option<(Timestamp, u64)>,
    /// The first health exam since the current admission.
    pub exam_since_admission: Option<(Timestamp, u64)>,
    /// Notifications about this person since the current admission.
    pub notifications: Vec<NotificationFact>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationFact {
    pub at: Timestamp,
    pub to: NotifyTo,
    pub about: NotifyAbout,
    pub declined_by_person: bool,
    pub seq: u64,
}

/// A departure, for `transfer-against-order`.
#[derive(Debug, Clone, PartialEq)]
pub struct Departure {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub to: String,
    pub seq: u64,
    /// The legal-basis references the person was held under when they departed.
    pub legal_basis_references: Vec<Text>,
}

/// The latest roll count of a unit, with the register's number for that unit at that time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollCount {
    pub unit: UnitPath,
    pub at: Timestamp,
    pub counted: u32,
    pub expected: u32,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateRecord {
    pub seq: u64,
    pub kind: String,
    pub subject: Option<RegisterNo>,
    pub at: Timestamp,
    pub recorded_at: Timestamp,
}

/// A death with the notifications about it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeathFacts {
    pub register_no: RegisterNo,
    pub facility: Option<FacilityCode>,
    pub at: Timestamp,
    pub seq: u64,
    pub notifications: Vec<NotificationFact>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRequest {
    pub request: RequestId,
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub seq: u64,
}

/// Injuries observed at an exam, or an incident of force or injury, with its referral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjuryFacts {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub seq: u64,
    /// `health exam` or `incident I-1 (use_of_force)`.
    pub what: String,
    /// When it was referred to an independent authority, if it was.
    pub referred_at: Option<Timestamp>,
}

/// An exercise session in the look-back window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseSession {
    pub at: Timestamp,
    pub until: Timestamp,
    pub outdoors: bool,
    pub cells: Vec<CellPath>,
    pub unit: Option<UnitPath>,
    pub register_nos: Vec<RegisterNo>,
    pub seq: u64,
}

/// The register as known at `at`, as the checks read it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub at: Timestamp,
    pub limits: Limits,
    pub country: Option<Country>,
    pub facilities: Vec<Facility>,
    pub cells: Vec<Cell>,
    /// Everyone held at `at`: in custody, absent or in transit.
    pub persons: Vec<PersonFacts>,
    pub court_orders: Vec<CourtOrder>,
    pub departures: Vec<Departure>,
    pub roll_counts: Vec<RollCount>,
    pub late_records: Vec<LateRecord>,
    pub deaths: Vec<DeathFacts>,
    pub open_requests: Vec<OpenRequest>,
    pub injuries: Vec<InjuryFacts>,
    pub exercise: Vec<ExerciseSession>,
    /// The first problem found with the log, if any (seq, what).
    pub log_problem: Option<(Option<u64>, String)>,
}

fn info(id: &str) -> Severity {
    check_info(id).map_or(Severity::Critical, |c| c.severity)
}

fn person_finding(
    check: &'static str,
    p: &Person,
    facility: Option<&FacilityCode>,
    since: Timestamp,
    detail: String,
    evidence: Vec<u64>,
) -> Finding {
    Finding {
        check,
        severity: info(check),
        subject_kind: SubjectKind::Person,
        subject: p.register_no.to_string(),
        facility: facility.map(ToString::to_string),
        since,
        detail,
        evidence,
    }
}

/// `t + d`, saturating: a limit beyond the last timestamp is never reached.
fn add(t: Timestamp, d: SignedDuration) -> Timestamp {
    t.checked_add(d).unwrap_or(if d.is_negative() {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

fn utc_date(t: Timestamp) -> Date {
    jiff::tz::Offset::UTC.to_datetime(t).date()
}

fn day_start(d: Date) -> Timestamp {
    jiff::tz::Offset::UTC
        .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Age in whole years at `t`.
fn age_at(dob: Date, t: Timestamp) -> i16 {
    let today = utc_date(t);
    let mut age = today.year() - dob.year();
    if (today.month(), today.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    age
}

/// The time the k-th (1-based) earliest of `times` arrived: since then, at least k of them
/// have been present together.
fn kth_earliest(times: &mut [Timestamp], k: usize) -> Option<Timestamp> {
    if k == 0 || k > times.len() {
        return None;
    }
    times.sort();
    Some(times[k - 1])
}

/// Evaluates every check at the snapshot's time. The result is sorted by check, then subject.
pub fn evaluate(s: &Snapshot) -> Vec<Finding> {
    // The groups of checks read the snapshot and nothing else: on a national register each
    // takes a good part of a second, so they run side by side (the exercise check, the
    // largest, in two halves of the persons), and their findings are joined in the same order
    // as one after the other (the sort below is stable).
    type Group = fn(&Snapshot, &mut Vec<Finding>);
    const GROUPS: [Group; 6] = [
        custody_checks,
        place_checks,
        exercise_check_first_half,
        exercise_check_second_half,
        contact_and_health_checks,
        record_checks,
    ];
    let run = |g: Group| {
        let mut found = Vec::new();
        g(s, &mut found);
        found
    };
    let parts: Vec<Vec<Finding>> = if s.persons.len() < 2_000 {
        [
            custody_checks,
            place_checks,
            exercise_check,
            contact_and_health_checks,
            record_checks,
        ]
        .iter()
        .map(|&g: &Group| run(g))
        .collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = GROUPS
                .iter()
                .map(|&g| scope.spawn(move || run(g)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    let order: HashMap<&str, usize> = CHECKS.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
    // Each finding's place in CHECKS is looked up once, not at every comparison.
    let mut keyed: Vec<(Option<usize>, Finding)> = out
        .into_iter()
        .map(|f| (order.get(f.check).copied(), f))
        .collect();
    keyed.sort_by(|(oa, a), (ob, b)| {
        (oa, &a.subject_kind, &a.subject, a.since).cmp(&(ob, &b.subject_kind, &b.subject, b.since))
    });
    keyed.into_iter().map(|(_, f)| f).collect()
}

/// The stays of an open episode that a check at `t` can read (with `limits`, and the exercise
/// sessions a snapshot at `t` holds), by index: every stay that ends after the look-back of
/// `no-outdoor-exercise` (with days to spare: no session in the snapshot falls in an earlier
/// one), and of the earlier ones the last arrival from a transit with its transit
/// (`family-not-notified`), the first of the run of stays in the facility that holds the
/// person now (the facility's arrivals) and the last stay in a facility
/// (`whereabouts-unknown`). The checks search the stays from the end, and find the same
/// stays among these.
fn reachable_stays(e: &Episode, t: Timestamp, limits: &Limits) -> Vec<usize> {
    let days = limits
        .get("no-outdoor-exercise.lookback_days")
        .max(1.0)
        .ceil()
        + 3.0;
    let lo = add(t, duration(-days * 86_400.0));
    let stays = &e.stays;
    let recent = stays
        .iter()
        .position(|st| st.until.is_none_or(|u| u > lo))
        .unwrap_or(stays.len());
    let mut kept = Vec::new();
    if let Some(i) = last_arrival(stays.as_slice()) {
        kept.extend([i, i + 1]);
    }
    if let Some(facility) = stays.last().and_then(|st| st.facility.as_ref()) {
        let mut start = stays.len() - 1;
        while start > 0 && stays[start - 1].facility.as_ref() == Some(facility) {
            start -= 1;
        }
        kept.push(start);
    }
    if let Some(i) = stays.iter().rposition(|st| st.facility.is_some()) {
        kept.push(i);
    }
    kept.retain(|&i| i < recent);
    kept.extend(recent..stays.len());
    kept.sort_unstable();
    kept.dedup();
    kept
}

/// The index of the transit of the last arrival from one (as `family-not-notified` finds it).
fn last_arrival<S: std::borrow::Borrow<Stay>>(stays: &[S]) -> Option<usize> {
    stays.windows(2).rposition(|w| {
        let (a, b) = (w[0].borrow(), w[1].borrow());
        a.status == Status::InTransit && b.status == Status::InCustody && a.until == Some(b.from)
    })
}

/// What the checks find in an episode's stays (the last arrival, the start of the run in the
/// present facility as `Episode::in_facility_since`, the last stay in a facility), to compare
/// the stays with fewer of them.
fn stay_searches(stays: &[&Stay]) -> (Option<(u64, u64)>, Option<Timestamp>, Option<u64>) {
    let in_facility_since = stays.last().and_then(|last| {
        let facility = last.facility.as_ref()?;
        stays
            .iter()
            .rev()
            .take_while(|st| st.facility.as_ref() == Some(facility))
            .last()
            .map(|st| st.from)
    });
    (
        last_arrival(stays).map(|i| (stays[i].seq, stays[i + 1].seq)),
        in_facility_since,
        stays
            .iter()
            .rev()
            .find(|st| st.facility.is_some())
            .map(|st| st.seq),
    )
}

/// Drops the stays of a held person's open episode that no check at `t` can read
/// ([`reachable_stays`]): a national register's snapshot then keeps a few stays per person
/// instead of their whole custody. If the checks' searches would not find the same stays in
/// what is left (stays that touch oddly), only the stays before the first one kept go.
pub fn drop_unreachable_stays(p: &mut Person, t: Timestamp, limits: &Limits) {
    let Some(e) = p.episodes.last_mut().filter(|e| e.is_open()) else {
        return;
    };
    let mut kept = reachable_stays(e, t, limits);
    if kept.len() == e.stays.len() {
        return;
    }
    let all: Vec<&Stay> = e.stays.iter().collect();
    let fewer: Vec<&Stay> = kept.iter().map(|&i| all[i]).collect();
    if stay_searches(&fewer) != stay_searches(&all) {
        let first = kept.first().copied().unwrap_or(all.len());
        kept = (first..all.len()).collect();
    }
    let mut next = kept.into_iter().peekable();
    let stays = std::mem::take(&mut e.stays);
    e.stays = stays
        .into_iter()
        .enumerate()
        .filter(|(i, _)| next.next_if_eq(i).is_some())
        .map(|(_, st)| st)
        .collect();
    e.stays.shrink_to_fit();
}

fn current(p: &PersonFacts) -> Option<(&Episode, &Stay)> {
    let e = p.person.open_episode()?;
    Some((e, e.current_stay()?))
}

/// From when departures can matter to `transfer-against-order` at `t`: the finding stays open
/// only while a barring order is in force, so only departures since the earliest bar order in
/// force at `t` can be one. `None`: no departure can.
pub fn departures_relevant_from(orders: &[CourtOrder], t: Timestamp) -> Option<Timestamp> {
    orders
        .iter()
        .filter(|o| o.kind == CourtOrderKind::BarTransfer && o.in_force_at(t))
        .map(|o| o.issued_at)
        .min()
}

fn custody_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    let t = s.at;
    for pf in &s.persons {
        let Some((e, stay)) = current(pf) else {
            continue;
        };
        let p = &pf.person;
        let fac = stay.facility.as_ref().or(Some(&e.facility));
        // no-legal-basis
        if e.legal_bases.is_empty() {
            out.push(person_finding(
                "no-legal-basis",
                p,
                fac,
                e.admitted_at,
                format!(
                    "{} has been held since {} (admitted to {}) with no recorded legal basis",
                    p.register_no, e.admitted_at, e.facility
                ),
                vec![e.admission_seq],
            ));
        } else if e
            .legal_bases
            .iter()
            .all(|b| b.legal_basis.expires_on.is_some())
        {
            // over-detention: every basis has expired (valid through its expiry date).
            let last = e
                .legal_bases
                .iter()
                .filter_map(|b| b.legal_basis.expires_on.map(|d| (d, b)))
                .max_by_key(|(d, _)| *d);
            if let Some((expiry, basis)) = last {
                let end = day_start(expiry.tomorrow().unwrap_or(expiry));
                let since = add(end, s.limits.hours("over-detention.grace_hours"));
                if since <= t {
                    out.push(person_finding(
                        "over-detention",
                        p,
                        fac,
                        since,
                        format!(
                            "{} is still held after every legal basis expired; the last, {} of {}, expired on {}",
                            p.register_no, basis.legal_basis.reference, basis.legal_basis.authority, expiry
                        ),
                        e.legal_bases.iter().map(|b| b.seq).collect(),
                    ));
                }
            }
        }
        // release-order-ignored
        for o in &s.court_orders {
            // An order obeyed by an earlier release does not follow the person into a later
            // custody on other grounds.
            let obeyed_before = p.episodes.iter().any(|ep| {
                ep.end
                    .as_ref()
                    .is_some_and(|end| end.at >= o.issued_at && end.at <= e.admitted_at)
            });
            if o.kind == CourtOrderKind::Release
                && o.in_force_at(t)
                && !obeyed_before
                && o.applies_to(&p.register_no, Some(e))
            {
                let since = add(
                    o.issued_at.max(e.admitted_at),
                    s.limits.hours("release-order-ignored.grace_hours"),
                );
                if since <= t {
                    out.push(person_finding(
                        "release-order-ignored",
                        p,
                        fac,
                        since,
                        format!(
                            "{} is still held although court order {} ({}, case {}) ordered release on {}",
                            p.register_no, o.order, o.court, o.case, o.issued_at
                        ),
                        vec![o.seq, e.admission_seq],
                    ));
                }
            }
        }
        // whereabouts-unknown
        if stay.status == Status::InTransit {
            let since = add(
                stay.from,
                s.limits.hours("whereabouts-unknown.transit_hours"),
            );
            if since <= t {
                out.push(person_finding(
                    "whereabouts-unknown",
                    p,
                    // The facility they left: it answers for them until they arrive.
                    e.stays
                        .iter()
                        .rev()
                        .find_map(|st| st.facility.as_ref())
                        .or(Some(&e.facility)),
                    since,
                    format!(
                        "{} departed at {} ({}) and has not arrived anywhere",
                        p.register_no,
                        stay.from,
                        stay.note.as_deref().unwrap_or("in transit")
                    ),
                    vec![stay.seq],
                ));
            }
        }
        // prolonged-solitary and solitary-prohibited
        if let Some(sep) = e.open_separation() {
            let max = s.limits.days("prolonged-solitary.days");
            let since = add(sep.from, max);
            if since < t {
                out.push(person_finding(
                    "prolonged-solitary",
                    p,
                    fac,
                    since,
                    format!(
                        "{} has been in separation since {} ({} days; the maximum is {}), authorized by {}",
                        p.register_no,
                        sep.from,
                        t.duration_since(sep.from).as_secs() / 86_400,
                        s.limits.get("prolonged-solitary.days"),
                        sep.authorized_by
                    ),
                    vec![sep.seq],
                ));
            }
            if let Some(dob) = p.identity.as_ref().and_then(|i| i.date_of_birth)
                && f64::from(age_at(dob, t)) < s.limits.get("adult.age")
            {
                out.push(person_finding(
                    "solitary-prohibited",
                    p,
                    fac,
                    sep.from,
                    format!(
                        "{}, aged {}, has been in separation since {}",
                        p.register_no,
                        age_at(dob, t),
                        sep.from
                    ),
                    vec![sep.seq],
                ));
            }
        }
    }
    // transfer-against-order: a departure while a bar order applying to the person was in
    // force; open while the order stays in force.
    for d in &s.departures {
        for o in &s.court_orders {
            if o.kind != CourtOrderKind::BarTransfer || !o.in_force_at(d.at) || !o.in_force_at(t) {
                continue;
            }
            let applies = match &o.applies_to {
                AppliesTo::RegisterNos { register_nos } => register_nos.contains(&d.register_no),
                AppliesTo::LegalBasisReference {
                    legal_basis_reference,
                } => d.legal_basis_references.contains(legal_basis_reference),
            };
            if applies {
                out.push(Finding {
                    check: "transfer-against-order",
                    severity: info("transfer-against-order"),
                    subject_kind: SubjectKind::Person,
                    subject: d.register_no.to_string(),
                    facility: None,
                    since: d.at,
                    detail: format!(
                        "{} departed to {} at {} while court order {} ({}, case {}) barred the transfer",
                        d.register_no, d.to, d.at, o.order, o.court, o.case
                    ),
                    evidence: vec![o.seq, d.seq],
                });
            }
        }
    }
}

/// Who belongs to one side of a category (men, people on remand, children…).
type Group<'a> = &'a dyn Fn(&PersonFacts) -> bool;

fn place_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    let t = s.at;
    // Who is in each cell, and in each facility, at T.
    let mut in_cell: BTreeMap<&CellPath, Vec<(&PersonFacts, Timestamp)>> = BTreeMap::new();
    let mut in_facility: BTreeMap<&FacilityCode, Vec<Timestamp>> = BTreeMap::new();
    for pf in &s.persons {
        let Some((e, stay)) = current(pf) else {
            continue;
        };
        if let (Status::InCustody, Some(cell)) = (stay.status, &stay.cell) {
            in_cell.entry(cell).or_default().push((pf, stay.from));
        }
        if let Some(f) = &stay.facility {
            in_facility
                .entry(f)
                .or_default()
                .push(e.in_facility_since().unwrap_or(stay.from));
        }
    }
    let cells: BTreeMap<&CellPath, &Cell> = s.cells.iter().map(|c| (&c.cell, c)).collect();
    for (path, occupants) in &in_cell {
        let Some(cell) = cells.get(path) else {
            continue;
        };
        let n = occupants.len();
        let mut arrivals: Vec<Timestamp> = occupants.iter().map(|(_, a)| *a).collect();
        let fac = Some(path.facility.to_string());
        let mut cell_finding = |check: &'static str, since: Timestamp, detail: String| {
            out.push(Finding {
                check,
                severity: info(check),
                subject_kind: SubjectKind::Cell,
                subject: path.to_string(),
                facility: fac.clone(),
                since,
                detail,
                evidence: vec![cell.seq],
            });
        };
        if n > cell.places as usize
            && let Some(since) = kth_earliest(&mut arrivals, cell.places as usize + 1)
        {
            cell_finding(
                "cell-over-capacity",
                since,
                format!(
                    "cell {path} holds {n} people for {} places since {since}",
                    cell.places
                ),
            );
        }
        if n > cell.beds as usize
            && let Some(since) = kth_earliest(&mut arrivals, cell.beds as usize + 1)
        {
            cell_finding(
                "bed-shortage",
                since,
                format!(
                    "cell {path} holds {n} people for {} beds since {since}",
                    cell.beds
                ),
            );
        }
        if let Some(area) = cell.area_m2 {
            let min = s.limits.get("floor-space.min_m2");
            // The most people the cell can hold with `min` m² each.
            let fits = if min > 0.0 {
                (area / min).floor() as usize
            } else {
                usize::MAX
            };
            if n > fits
                && let Some(since) = kth_earliest(&mut arrivals, fits + 1)
            {
                cell_finding(
                    "floor-space",
                    since,
                    format!(
                        "cell {path} gives {:.2} m² per person ({n} people in {area} m²; minimum {min} m²) since {since}",
                        area / n as f64
                    ),
                );
            }
        }
        // category-mixing: one finding per kind of mixing.
        let group_since = |pred: &dyn Fn(&PersonFacts) -> bool| -> Option<Timestamp> {
            occupants
                .iter()
                .filter(|(p, _)| pred(p))
                .map(|(_, a)| *a)
                .min()
        };
        let sex = |p: &PersonFacts| p.person.identity.as_ref().map(|i| i.sex);
        let status = |p: &PersonFacts| p.person.open_episode().map(|e| e.legal_status);
        let adult = s.limits.get("adult.age");
        let minor = |p: &PersonFacts| {
            p.person
                .identity
                .as_ref()
                .and_then(|i| i.date_of_birth)
                .map(|d| f64::from(age_at(d, t)) < adult)
        };
        let kinds: [(&str, Group, Group); 3] = [
            ("men with women", &|p| sex(p) == Some(Sex::Male), &|p| {
                sex(p) == Some(Sex::Female)
            }),
            (
                "people on remand with convicted people",
                &|p| status(p) == Some(LegalStatus::Remand),
                &|p| {
                    matches!(
                        status(p),
                        Some(LegalStatus::Sentenced | LegalStatus::ConvictedUnsentenced)
                    )
                },
            ),
            ("children with adults", &|p| minor(p) == Some(true), &|p| {
                minor(p) == Some(false)
            }),
        ];
        for (what, a, b) in kinds {
            if let (Some(sa), Some(sb)) = (group_since(a), group_since(b)) {
                let since = sa.max(sb);
                let na = occupants.iter().filter(|(p, _)| a(p)).count();
                let nb = occupants.iter().filter(|(p, _)| b(p)).count();
                out.push(Finding {
                    check: "category-mixing",
                    severity: info("category-mixing"),
                    subject_kind: SubjectKind::Cell,
                    subject: path.to_string(),
                    facility: Some(path.facility.to_string()),
                    since,
                    detail: format!("cell {path} holds {what} ({na} and {nb}) since {since}"),
                    evidence: vec![cell.seq],
                });
            }
        }
    }
    // facility-over-capacity
    let pct = s.limits.get("facility-over-capacity.pct");
    for f in &s.facilities {
        let Some(arrivals) = in_facility.get_mut(&f.facility) else {
            continue;
        };
        let allowed = (f64::from(f.official_capacity) * pct / 100.0).floor() as usize;
        let n = arrivals.len();
        if n > allowed
            && let Some(since) = kth_earliest(arrivals, allowed + 1)
        {
            out.push(Finding {
                check: "facility-over-capacity",
                severity: info("facility-over-capacity"),
                subject_kind: SubjectKind::Facility,
                subject: f.facility.to_string(),
                facility: Some(f.facility.to_string()),
                since,
                detail: format!(
                    "facility {} holds {n} people for an official capacity of {} ({:.0} %) since {since}",
                    f.facility,
                    f.official_capacity,
                    n as f64 * 100.0 / f64::from(f.official_capacity.max(1))
                ),
                evidence: vec![f.seq],
            });
        }
    }
    // count-discrepancy: the latest count of each unit.
    let tolerance = s.limits.get("count-discrepancy.tolerance");
    for c in &s.roll_counts {
        if (f64::from(c.counted) - f64::from(c.expected)).abs() > tolerance {
            out.push(Finding {
                check: "count-discrepancy",
                severity: info("count-discrepancy"),
                subject_kind: SubjectKind::Unit,
                subject: c.unit.to_string(),
                facility: Some(c.unit.facility.to_string()),
                since: c.at,
                detail: format!(
                    "the roll count of {} at {} found {} people; the register has {} there",
                    c.unit, c.at, c.counted, c.expected
                ),
                evidence: vec![c.seq],
            });
        }
    }
}

/// Minutes outdoors per person per UTC day, from the sessions that cover them, for the days
/// of the look-back window.
fn exercise_check(s: &Snapshot, out: &mut Vec<Finding>) {
    exercise_check_of(s, &s.persons, out);
}

/// The first half of the held persons' exercise check, and the second: the largest group of
/// checks, split so that both halves run side by side.
fn exercise_check_first_half(s: &Snapshot, out: &mut Vec<Finding>) {
    exercise_check_of(s, &s.persons[..s.persons.len() / 2], out);
}

fn exercise_check_second_half(s: &Snapshot, out: &mut Vec<Finding>) {
    exercise_check_of(s, &s.persons[s.persons.len() / 2..], out);
}

/// `no-outdoor-exercise` for `persons` (of the snapshot), in their order.
fn exercise_check_of(s: &Snapshot, persons: &[PersonFacts], out: &mut Vec<Finding>) {
    let t = s.at;
    let min = s.limits.get("no-outdoor-exercise.min_minutes");
    let lookback = s.limits.get("no-outdoor-exercise.lookback_days").max(1.0) as i64;
    let today = utc_date(t);
    let Ok(last_day) = today.yesterday() else {
        return;
    };
    // A look-back beyond the calendar reaches its first day (and must not panic).
    let first_day = jiff::Span::new()
        .try_days(lookback)
        .and_then(|span| today.checked_sub(span))
        .unwrap_or(Date::MIN);
    // Sessions by the place they cover.
    let mut by_unit: HashMap<&UnitPath, Vec<&ExerciseSession>> = HashMap::new();
    let mut by_cell: HashMap<&CellPath, Vec<&ExerciseSession>> = HashMap::new();
    let mut by_person: HashMap<&RegisterNo, Vec<&ExerciseSession>> = HashMap::new();
    // Each session's minutes per UTC day, computed once for everyone it covers.
    let mut per_day: HashMap<u64, Vec<(Date, f64)>> = HashMap::new();
    for x in s.exercise.iter().filter(|x| x.outdoors) {
        let mut split = Vec::new();
        let mut day = utc_date(x.at);
        while day <= utc_date(x.until) {
            let lo = x.at.max(day_start(day));
            let hi = x.until.min(day_start(day.tomorrow().unwrap_or(day)));
            if hi > lo {
                split.push((day, hi.duration_since(lo).as_secs_f64() / 60.0));
            }
            match day.tomorrow() {
                Ok(d) => day = d,
                Err(_) => break,
            }
        }
        per_day.insert(x.seq, split);
    }
    for x in s.exercise.iter().filter(|x| x.outdoors) {
        if let Some(u) = &x.unit {
            by_unit.entry(u).or_default().push(x);
        }
        for c in &x.cells {
            by_cell.entry(c).or_default().push(x);
        }
        for r in &x.register_nos {
            by_person.entry(r).or_default().push(x);
        }
    }
    for pf in persons {
        let Some((e, stay)) = current(pf) else {
            continue;
        };
        if stay.status == Status::InTransit {
            continue;
        }
        // Days counted: full days after the admission day, inside the window.
        let Ok(first_counted) = utc_date(e.admitted_at).tomorrow() else {
            continue;
        };
        let start = first_counted.max(first_day);
        if start > last_day {
            continue;
        }
        // The sessions that may cover this person: by name, and by every cell and unit of
        // their stays in the window.
        let mut candidates: Vec<&ExerciseSession> = Vec::new();
        if let Some(v) = by_person.get(&pf.person.register_no) {
            candidates.extend(v);
        }
        let window_start = day_start(start);
        for st in e
            .stays
            .iter()
            .filter(|st| st.until.is_none_or(|u| u > window_start))
        {
            if let Some(cell) = &st.cell {
                if let Some(v) = by_cell.get(cell) {
                    candidates.extend(v);
                }
                if let Some(v) = by_unit.get(&cell.unit_path()) {
                    candidates.extend(v);
                }
            }
        }
        candidates.sort_by_key(|x| x.seq);
        candidates.dedup_by_key(|x| x.seq);
        // Minutes per day, counting a session only if the person was there when it began.
        let mut minutes: BTreeMap<Date, f64> = BTreeMap::new();
        let mut evidence: BTreeMap<Date, Vec<u64>> = BTreeMap::new();
        for x in candidates {
            let covered = x.register_nos.contains(&pf.person.register_no)
                || e.stay_at(x.at).is_some_and(|st| {
                    st.status == Status::InCustody
                        && st.cell.as_ref().is_some_and(|c| {
                            x.unit
                                .as_ref()
                                .is_some_and(|u| u.facility == c.facility && u.unit == c.unit)
                                || x.cells.contains(c)
                        })
                });
            if !covered {
                continue;
            }
            for &(day, m) in per_day.get(&x.seq).map_or(&[][..], Vec::as_slice) {
                *minutes.entry(day).or_default() += m;
                evidence.entry(day).or_default().push(x.seq);
            }
        }
        let short = |d: Date| minutes.get(&d).copied().unwrap_or(0.0) < min;
        if !short(last_day) {
            continue;
        }
        // The streak of short days ending yesterday.
        let mut first_short = last_day;
        while first_short > start {
            match first_short.yesterday() {
                Ok(prev) if short(prev) => first_short = prev,
                _ => break,
            }
        }
        let got = minutes.get(&last_day).copied().unwrap_or(0.0);
        out.push(person_finding(
            "no-outdoor-exercise",
            &pf.person,
            stay.facility.as_ref(),
            day_start(first_short),
            format!(
                "{} had {:.0} minutes outdoors on {last_day} (minimum {min}); every day since {first_short} was short",
                pf.person.register_no, got
            ),
            evidence.get(&last_day).cloned().unwrap_or_default(),
        ));
    }
}

/// The first notification to `to` (about `about`) from `after` on. A notification the person
/// declined counts: SMR 68 leaves the choice to them.
fn notified(
    notifications: &[NotificationFact],
    to: NotifyTo,
    about: Option<NotifyAbout>,
    after: Timestamp,
) -> Option<&NotificationFact> {
    // A person may ask that their family or consulate not be told (SMR 68, VCCR 36); nobody
    // can waive a referral to an independent authority, and a death is always told.
    let waivable =
        matches!(to, NotifyTo::Family | NotifyTo::Consulate) && about != Some(NotifyAbout::Death);
    notifications.iter().find(|n| {
        n.to == to
            && about.is_none_or(|a| n.about == a)
            && n.at >= after
            && (!n.declined_by_person || waivable)
    })
}

fn contact_and_health_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    let t = s.at;
    for pf in &s.persons {
        let Some((e, stay)) = current(pf) else {
            continue;
        };
        let p = &pf.person;
        let fac = stay.facility.as_ref().or(Some(&e.facility));
        // no-family-contact: counted from the last contact of this episode, else admission.
        let (from, evidence) = match pf.last_family_contact {
            Some((at, seq)) if at >= e.admitted_at => (at, vec![seq]),
            _ => (e.admitted_at, vec![e.admission_seq]),
        };
        let since = add(from, s.limits.days("no-family-contact.days"));
        if since <= t {
            out.push(person_finding(
                "no-family-contact",
                p,
                fac,
                since,
                format!(
                    "{} has had no family visit, call or letter since {from} ({} days)",
                    p.register_no,
                    t.duration_since(from).as_secs() / 86_400
                ),
                evidence,
            ));
        }
        // no-legal-access: remand prisoners.
        if e.legal_status == LegalStatus::Remand && pf.legal_visit_since_admission.is_none() {
            let since = add(e.admitted_at, s.limits.days("no-legal-access.days"));
            if since <= t {
                out.push(person_finding(
                    "no-legal-access",
                    p,
                    fac,
                    since,
                    format!(
                        "{}, on remand since {}, has had no legal visit",
                        p.register_no, e.admitted_at
                    ),
                    vec![e.admission_seq],
                ));
            }
        }
        // consular-access-missing: a foreign national's consulate not notified.
        let foreign = match (&s.country, p.identity.as_ref()) {
            (Some(country), Some(id)) => {
                !id.nationalities.is_empty() && !id.nationalities.contains(country)
            }
            _ => false,
        };
        if foreign
            && notified(&pf.notifications, NotifyTo::Consulate, None, e.admitted_at).is_none()
        {
            let since = add(
                e.admitted_at,
                s.limits.hours("consular-access-missing.hours"),
            );
            if since <= t {
                let n: Vec<&str> = p
                    .identity
                    .iter()
                    .flat_map(|i| i.nationalities.iter().map(Country::as_str))
                    .collect();
                out.push(person_finding(
                    "consular-access-missing",
                    p,
                    fac,
                    since,
                    format!(
                        "{} ({}) was admitted at {} and their consulate has not been notified",
                        p.register_no,
                        n.join(", "),
                        e.admitted_at
                    ),
                    vec![e.admission_seq],
                ));
            }
        }
        // family-not-notified: after admission, and after the last transfer arrival.
        let hours = s.limits.hours("family-not-notified.hours");
        // The last arrival: a stay in custody right after a transit (a placement or an
        // absence after it must not hide it).
        let arrival = e
            .stays
            .windows(2)
            .rev()
            .find(|w| {
                w[0].status == Status::InTransit
                    && w[1].status == Status::InCustody
                    && w[0].until == Some(w[1].from)
            })
            // (transit stay, arrival): the family may be told from the departure on.
            .map(|w| (&w[0], &w[1]));
        let mut family_gap = None;
        if notified(
            &pf.notifications,
            NotifyTo::Family,
            Some(NotifyAbout::Admission),
            e.admitted_at,
        )
        .is_none()
        {
            family_gap = Some(("admission", e.admitted_at, e.admission_seq));
        } else if let Some((transit, a)) = arrival
            && notified(
                &pf.notifications,
                NotifyTo::Family,
                Some(NotifyAbout::Transfer),
                transit.from,
            )
            .is_none()
        {
            family_gap = Some(("transfer", a.from, a.seq));
        }
        if let Some((what, at, seq)) = family_gap {
            let since = add(at, hours);
            if since <= t {
                out.push(person_finding(
                    "family-not-notified",
                    p,
                    fac,
                    since,
                    format!(
                        "nobody was notified of the {what} of {} at {at}, and the person did not decline",
                        p.register_no
                    ),
                    vec![seq],
                ));
            }
        }
        // no-medical-exam
        if pf.exam_since_admission.is_none() {
            let since = add(e.admitted_at, s.limits.hours("no-medical-exam.hours"));
            if since <= t {
                out.push(person_finding(
                    "no-medical-exam",
                    p,
                    fac,
                    since,
                    format!(
                        "{} was admitted at {} and has had no health exam",
                        p.register_no, e.admitted_at
                    ),
                    vec![e.admission_seq],
                ));
            }
        }
    }
    // health-request-unanswered: only for people still held.
    let held: HashMap<&RegisterNo, &PersonFacts> = s
        .persons
        .iter()
        .map(|p| (&p.person.register_no, p))
        .collect();
    for r in &s.open_requests {
        let Some(pf) = held.get(&r.register_no) else {
            continue;
        };
        // A request from an earlier custody episode is not this one's.
        if current(pf).is_none_or(|(e, _)| r.at < e.admitted_at) {
            continue;
        }
        let since = add(r.at, s.limits.hours("health-request-unanswered.hours"));
        if since <= t {
            let fac = current(pf).and_then(|(_, st)| st.facility.clone());
            out.push(person_finding(
                "health-request-unanswered",
                &pf.person,
                fac.as_ref(),
                since,
                format!(
                    "health request {} of {} made at {} has not been seen",
                    r.request, r.register_no, r.at
                ),
                vec![r.seq],
            ));
        }
    }
    // Deaths: referred to an independent authority, and the family told.
    for d in &s.deaths {
        for (check, to, whom) in [
            (
                "death-not-referred",
                NotifyTo::IndependentAuthority,
                "an independent authority",
            ),
            ("death-family-not-notified", NotifyTo::Family, "the family"),
        ] {
            if notified(&d.notifications, to, Some(NotifyAbout::Death), d.at).is_some() {
                continue;
            }
            let since = add(d.at, s.limits.hours(&format!("{check}.hours")));
            if since <= t {
                out.push(Finding {
                    check,
                    severity: info(check),
                    subject_kind: SubjectKind::Person,
                    subject: d.register_no.to_string(),
                    facility: d.facility.as_ref().map(ToString::to_string),
                    since,
                    detail: format!(
                        "the death of {} at {} has not been notified to {whom}",
                        d.register_no, d.at
                    ),
                    evidence: vec![d.seq],
                });
            }
        }
    }
    // Injuries not referred.
    let hours = s.limits.hours("injury-not-referred.hours");
    for i in &s.injuries {
        if i.referred_at.is_some_and(|r| r <= t) {
            continue;
        }
        let since = add(i.at, hours);
        if since <= t {
            let fac = held
                .get(&i.register_no)
                .and_then(|pf| current(pf))
                .and_then(|(_, st)| st.facility.clone());
            out.push(Finding {
                check: "injury-not-referred",
                severity: info("injury-not-referred"),
                subject_kind: SubjectKind::Person,
                subject: i.register_no.to_string(),
                facility: fac.map(|f| f.to_string()),
                since,
                detail: format!(
                    "{} of {} at {} has not been referred to an independent authority",
                    i.what, i.register_no, i.at
                ),
                evidence: vec![i.seq],
            });
        }
    }
}

fn record_checks(s: &Snapshot, out: &mut Vec<Finding>) {
    // A late record about someone held is the responsibility of the facility holding them.
    let held_facility: HashMap<&RegisterNo, &FacilityCode> = s
        .persons
        .iter()
        .filter_map(|pf| {
            let (e, stay) = current(pf)?;
            Some((
                &pf.person.register_no,
                stay.facility.as_ref().unwrap_or(&e.facility),
            ))
        })
        .collect();
    let late = s.limits.hours("late-record.hours");
    for r in &s.late_records {
        let delay = r.recorded_at.duration_since(r.at);
        if delay > late {
            out.push(Finding {
                check: "late-record",
                severity: info("late-record"),
                subject_kind: if r.subject.is_some() {
                    SubjectKind::Person
                } else {
                    SubjectKind::Event
                },
                subject: r
                    .subject
                    .as_ref()
                    .map_or_else(|| r.seq.to_string(), ToString::to_string),
                facility: r
                    .subject
                    .as_ref()
                    .and_then(|subject| held_facility.get(subject))
                    .map(|f| f.to_string()),
                since: r.recorded_at,
                detail: format!(
                    "{} (event {}) happened at {} and was recorded at {}, {} hours later",
                    r.kind,
                    r.seq,
                    r.at,
                    r.recorded_at,
                    delay.as_secs() / 3600
                ),
                evidence: vec![r.seq],
            });
        }
    }
    if let Some((seq, what)) = &s.log_problem {
        out.push(Finding {
            check: "log-integrity",
            severity: info("log-integrity"),
            subject_kind: SubjectKind::Register,
            subject: "log".into(),
            facility: None,
            since: s.at,
            detail: format!("the log does not verify: {what}"),
            evidence: seq.iter().copied().collect(),
        });
    }
}
