//! The standards checks (STANDARDS.md): pure functions over a [`Snapshot`] of the register as
//! it was known at a time `T`. The store builds the snapshot with the queries each check
//! needs (and only the window each check needs); the rules live here.
//!
//! Calendar days are the facility's own (`crate::zones`, its IANA time zone from the bundled
//! database): `no-outdoor-exercise` counts minutes per local day. Limits in hours or days
//! (24 h notices, 30 days without contact) are durations and need no calendar.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::ids::*;
use crate::model::*;
use crate::state::*;

mod contact;
mod custody;
mod exercise;
mod places;
mod records;

use contact::contact_and_health_checks;
use custody::custody_checks;
use exercise::{exercise_check, exercise_check_first_half, exercise_check_second_half};
use places::place_checks;
use records::record_checks;

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

/// The facilities' time zones: each facility's days are its own. A facility whose zone is
/// not in the bundled database (a register older than that rule) counts in UTC.
pub(super) struct Zones<'a> {
    by_facility: HashMap<&'a FacilityCode, jiff::tz::TimeZone>,
    utc: jiff::tz::TimeZone,
}

impl<'a> Zones<'a> {
    pub(super) fn of_snapshot(s: &'a Snapshot) -> Zones<'a> {
        Zones {
            by_facility: s
                .facilities
                .iter()
                .map(|f| {
                    let tz =
                        crate::zones::zone(f.timezone.as_str()).unwrap_or(jiff::tz::TimeZone::UTC);
                    (&f.facility, tz)
                })
                .collect(),
            utc: jiff::tz::TimeZone::UTC,
        }
    }

    /// The zone of `facility` (UTC for none or an unknown one).
    pub(super) fn of(&self, facility: Option<&FacilityCode>) -> &jiff::tz::TimeZone {
        facility
            .and_then(|f| self.by_facility.get(f))
            .unwrap_or(&self.utc)
    }
}

/// Age in whole years at `t`, on the calendar of `tz` (the facility's).
fn age_at(dob: Date, t: Timestamp, tz: &jiff::tz::TimeZone) -> i16 {
    let today = crate::zones::local_date(t, tz);
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
