//! The statistics' definitions (STANDARDS.md, Publication), as one pure function over
//! [`Facts`]. Every figure is defined here and in `definitions.md`'s words on the published
//! site ([`crate::DEFINITIONS`]); the store only gathers facts.

use std::collections::{BTreeMap, HashMap};

use habeas_domain::View;
use habeas_domain::checks::{CHECKS, SubjectKind};
use habeas_domain::model::{LegalStatus, PricePer, Sex};
use habeas_domain::zones::{day_start, local_date};
use habeas_domain::{Country, Status};
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::facts::*;

/// The version of the definitions and of the JSON shape: bumped on any change of meaning.
/// 2: months and dates in the register's time zone, and the view a figure is in.
pub const DEFINITIONS_VERSION: u32 = 2;

/// The published statistics at a date. Counts of people are `Option`: `None` (JSON `null`)
/// when suppressed (see [`Statistics::suppress`]) or not applicable; `suppressed` lists
/// which were suppressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    pub definitions_version: u32,
    pub at: Timestamp,
    /// `known_now` (everything recorded until now about `at`, the default) or
    /// `as_recorded` (only what had been recorded by `at`).
    pub view: View,
    /// The IANA time zone whose calendar the months and dates are in.
    pub time_zone: String,
    pub series: SeriesRange,
    pub suppression: Suppression,
    pub national: National,
    pub facilities: Vec<FacilityStats>,
    pub months: Vec<MonthStats>,
    pub deaths_by_cause: Vec<CauseStats>,
    pub agreements: Vec<AgreementStats>,
    pub checks: Vec<CheckStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesRange {
    /// First and last month of the series (`YYYY-MM`); the last one ends at `at`.
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suppression {
    /// Counts of people from 1 to `min_count - 1` are suppressed (never deaths); `null`: none.
    pub min_count: Option<u64>,
    /// The figures suppressed, by JSON path (`facilities[CTRO].population`).
    pub suppressed: Vec<String>,
}

/// The World Prison Brief's fields, at the date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct National {
    /// Everyone held by the register: in a facility, temporarily absent, or in transit.
    pub total: Option<u64>,
    pub national_population: Option<u64>,
    /// total per 100,000 of the national population (`settings.record`).
    pub rate_per_100k: Option<f64>,
    pub remand: Option<u64>,
    pub remand_pct: Option<f64>,
    /// Convicted but not yet sentenced (not counted in `remand`).
    pub convicted_unsentenced: Option<u64>,
    pub female: Option<u64>,
    pub female_pct: Option<f64>,
    /// No recorded identity, hence no sex: counted in the total, not as female.
    pub sex_unknown: Option<u64>,
    /// Under 18 at the date.
    pub juvenile: Option<u64>,
    pub juvenile_pct: Option<f64>,
    /// No date of birth recorded: not counted as juvenile.
    pub age_unknown: Option<u64>,
    /// The register's country (`settings.record`); without it foreign nationals are not
    /// counted (`foreign` is `null`).
    pub country: Option<Country>,
    /// With at least one recorded nationality, none of them the register's country.
    pub foreign: Option<u64>,
    pub foreign_pct: Option<f64>,
    pub nationality_unknown: Option<u64>,
    /// Held for another authority (a custodial authority or an agreement recorded).
    pub held_for_other_authorities: Option<u64>,
    pub in_transit: Option<u64>,
    /// Facilities on the register's list.
    pub establishments: u64,
    /// The sum of the facilities' declared official capacities.
    pub official_capacity: u64,
    /// Held by a facility (absent ones included, in transit not) per 100 official places.
    pub occupancy_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacilityStats {
    pub facility: String,
    pub name: String,
    /// Held by the facility: in its cells, not yet placed, or temporarily absent.
    pub population: Option<u64>,
    /// In one of its cells at the date.
    pub in_cells: Option<u64>,
    pub official_capacity: u64,
    /// population per 100 official places.
    pub occupancy_pct: Option<f64>,
    /// Sums over the facility's registered cells.
    pub cells: u64,
    pub places: u64,
    pub beds: u64,
    /// in_cells / beds.
    pub persons_per_bed: Option<f64>,
    /// Floor area of the cells whose area is recorded.
    pub area_m2: Option<f64>,
    /// area_m2 / the persons in those same cells.
    pub m2_per_person: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthStats {
    /// `YYYY-MM`, a calendar month of the register's time zone.
    pub month: String,
    /// The instant the population is counted at: the month's last microsecond, or the
    /// statistics' date for the current month.
    pub end: Timestamp,
    pub population_at_end: Option<u64>,
    pub admissions: Option<u64>,
    pub releases: Option<u64>,
    pub escapes: Option<u64>,
    /// Departures on transfer to another facility of the register.
    pub transfers_internal: Option<u64>,
    /// Departures on transfer out of the register's jurisdiction (to another state…).
    pub transfers_out_of_jurisdiction: Option<u64>,
    /// Deaths in custody: never suppressed.
    pub deaths: u64,
    /// Of those, notified to an independent authority (SMR 71) by the statistics' date.
    pub deaths_referred: u64,
    pub deaths_referred_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseStats {
    /// As recorded; `not recorded` when no cause was given.
    pub cause: String,
    pub deaths: u64,
    pub referred: u64,
    pub referred_pct: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementStats {
    pub agreement: String,
    pub parties: Vec<String>,
    pub from: Date,
    pub until: Date,
    /// Held under the agreement at the date.
    pub people_held: Option<u64>,
    /// Everyone admitted under the agreement by the date.
    pub people_total: Option<u64>,
    /// Days held under it inside its term, up to the date (stays summed, to 0.1 day).
    pub person_days: Option<f64>,
    pub price_amount: Option<f64>,
    pub price_per: Option<String>,
    pub currency: Option<String>,
    /// What the term has cost by the date: a per-term price pro rata of the term's days
    /// elapsed; a per-person-day price times person_days.
    pub cost_to_date: Option<f64>,
    /// cost_to_date / person_days (a per-person-day price as recorded).
    pub price_per_person_day: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckStats {
    pub check: &'static str,
    pub source: &'static str,
    pub severity: &'static str,
    /// Findings open at the date (one per subject).
    pub open_findings: u64,
    /// Persons with an open finding of this check.
    pub persons_affected: Option<u64>,
    /// Σ (date − since) over those findings, in days: how long the people affected at the
    /// date had been affected.
    pub person_days: Option<f64>,
    /// Cells, units or facilities with an open finding of this check.
    pub places_affected: u64,
    /// Σ (date − since) over those findings, in days.
    pub place_days: f64,
    /// Persons held at the date in those places.
    pub persons_in_affected_places: Option<u64>,
    /// Findings about a log entry or the register as a whole.
    pub other_findings: u64,
}

fn pct(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| round((n as f64) * 100.0 / (d as f64), 1))
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

fn days(d: SignedDuration) -> f64 {
    d.as_secs_f64() / 86_400.0
}

/// Held at instant `t`: the stay has begun and not ended.
fn covers(s: &StayInterval, t: Timestamp) -> bool {
    s.from <= t && s.until.is_none_or(|u| t < u)
}

/// Time of `s` inside [from, to), in days.
fn overlap_days(s: &StayInterval, from: Timestamp, to: Timestamp) -> f64 {
    let a = s.from.max(from);
    let b = s.until.map_or(to, |u| u.min(to));
    if b > a {
        days(b.duration_since(a))
    } else {
        0.0
    }
}

fn midnight(d: Date) -> Timestamp {
    Offset::UTC
        .to_timestamp(d.to_datetime(jiff::civil::Time::midnight()))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The IANA name of `tz` (`UTC` for a fixed or unnamed zone).
pub fn zone_name(tz: &TimeZone) -> String {
    tz.iana_name().unwrap_or("UTC").to_owned()
}

fn utc_date(t: Timestamp) -> Date {
    Offset::UTC.to_datetime(t).date()
}

/// Whole years of age on `on`.
fn age_on(dob: Date, on: Date) -> i16 {
    let mut years = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        years -= 1;
    }
    years
}

/// The months of the series in `tz`'s calendar: (label, first instant, instant the
/// population is counted at, first instant of the next month).
pub(crate) fn months(
    from: Timestamp,
    at: Timestamp,
    tz: &TimeZone,
) -> Vec<(String, Timestamp, Timestamp, Timestamp)> {
    let mut out = Vec::new();
    let mut first = local_date(from, tz).first_of_month();
    let last = local_date(at, tz).first_of_month();
    while first <= last {
        let next = first
            .last_of_month()
            .tomorrow()
            .unwrap_or(first.last_of_month());
        let start = day_start(first, tz);
        let next_start = day_start(next, tz);
        let end = next_start
            .checked_sub(SignedDuration::from_micros(1))
            .unwrap_or(next_start)
            .min(at);
        out.push((
            format!("{:04}-{:02}", first.year(), first.month()),
            start,
            end,
            next_start,
        ));
        if next <= first {
            break;
        }
        first = next;
    }
    out
}

/// The first instant of the month `months_back` months before `at`'s month (UTC): the start
/// of a series of `months_back + 1` months ending with `at`'s.
pub fn series_start(at: Timestamp, months_back: u32) -> Timestamp {
    let first = utc_date(at).first_of_month();
    let back = first
        .checked_sub(jiff::Span::new().months(i64::from(months_back)))
        .unwrap_or(first);
    midnight(back)
}

/// The first instant of the month of `d` (UTC).
pub fn month_start(d: Date) -> Timestamp {
    midnight(d.first_of_month())
}

/// The end of day `d` (UTC): its last microsecond.
pub fn end_of_day(d: Date) -> Timestamp {
    let next = midnight(d.tomorrow().unwrap_or(d));
    next.checked_sub(SignedDuration::from_micros(1))
        .unwrap_or(next)
}

/// Computes every figure from the facts. No suppression: see [`Statistics::suppress`].
pub fn compute(f: &Facts) -> Statistics {
    let at = f.at;
    let on = local_date(at, &f.zone);
    let held = &f.held;
    let total = held.len() as u64;
    let count = |p: &dyn Fn(&HeldFact) -> bool| held.iter().filter(|h| p(h)).count() as u64;
    let remand = count(&|h| h.legal_status == LegalStatus::Remand);
    let convicted_unsentenced = count(&|h| h.legal_status == LegalStatus::ConvictedUnsentenced);
    let female = count(&|h| h.sex == Some(Sex::Female));
    let sex_unknown = count(&|h| h.sex.is_none());
    // The age of majority is the checks' `adult.age` limit (default 18), as the register sets it.
    let adult = habeas_domain::checks::Limits::new(
        f.settings
            .as_ref()
            .map(|s| s.limits.clone())
            .unwrap_or_default(),
    )
    .get("adult.age");
    let juvenile = count(&|h| {
        h.date_of_birth
            .is_some_and(|d| f64::from(age_on(d, on)) < adult)
    });
    let age_unknown = count(&|h| h.date_of_birth.is_none());
    let country = f.settings.as_ref().and_then(|s| s.country.clone());
    let foreign = country
        .as_ref()
        .map(|c| count(&|h| !h.nationalities.is_empty() && !h.nationalities.contains(c)));
    let nationality_unknown = count(&|h| h.nationalities.is_empty());
    let in_transit = count(&|h| h.status == Status::InTransit || h.facility.is_none());
    let national_population = f.settings.as_ref().and_then(|s| s.national_population);
    let official_capacity: u64 = f
        .facilities
        .iter()
        .map(|x| u64::from(x.official_capacity))
        .sum();

    // Per facility and per cell.
    let mut by_facility: HashMap<&str, u64> = HashMap::new();
    let mut by_cell: HashMap<&str, u64> = HashMap::new();
    let mut by_unit: HashMap<&str, u64> = HashMap::new();
    for h in held {
        if let Some(fac) = &h.facility {
            *by_facility.entry(fac).or_default() += 1;
        }
        if h.status == Status::InCustody {
            if let Some(c) = &h.cell {
                *by_cell.entry(c).or_default() += 1;
            }
            if let Some(u) = &h.unit {
                *by_unit.entry(u).or_default() += 1;
            }
        }
    }
    let in_facilities: u64 = by_facility.values().sum();
    let mut facilities = Vec::new();
    for fac in &f.facilities {
        let code = fac.facility.as_str();
        let (mut cells, mut places, mut beds, mut in_cells) = (0u64, 0u64, 0u64, 0u64);
        let (mut area, mut in_measured, mut measured) = (0.0f64, 0u64, false);
        for c in f.cells.iter().filter(|c| c.cell.facility.as_str() == code) {
            let path = c.cell.to_string();
            let n = by_cell.get(path.as_str()).copied().unwrap_or(0);
            cells += 1;
            places += u64::from(c.places);
            beds += u64::from(c.beds);
            in_cells += n;
            if let Some(a) = c.area_m2 {
                measured = true;
                area += a;
                in_measured += n;
            }
        }
        let population = by_facility.get(code).copied().unwrap_or(0);
        facilities.push(FacilityStats {
            facility: code.to_owned(),
            name: fac.name.to_string(),
            population: Some(population),
            in_cells: Some(in_cells),
            official_capacity: u64::from(fac.official_capacity),
            occupancy_pct: pct(population, u64::from(fac.official_capacity)),
            cells,
            places,
            beds,
            persons_per_bed: (beds > 0).then(|| round(in_cells as f64 / beds as f64, 2)),
            area_m2: measured.then(|| round(area, 2)),
            m2_per_person: (measured && in_measured > 0)
                .then(|| round(area / in_measured as f64, 2)),
        });
    }

    // Monthly series.
    let mut months_out = Vec::new();
    let mut causes: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (label, start, end, next) in months(f.series_from, at, &f.zone) {
        let population = f.stays.iter().filter(|s| covers(s, end)).count() as u64;
        let mut m = MonthStats {
            month: label,
            end,
            population_at_end: Some(population),
            admissions: Some(0),
            releases: Some(0),
            escapes: Some(0),
            transfers_internal: Some(0),
            transfers_out_of_jurisdiction: Some(0),
            deaths: 0,
            deaths_referred: 0,
            deaths_referred_pct: None,
        };
        let bump = |x: &mut Option<u64>| *x = Some(x.unwrap_or(0) + 1);
        for mv in f
            .movements
            .iter()
            .filter(|mv| mv.at >= start && mv.at < next && mv.at <= at)
        {
            match &mv.kind {
                MovementKind::Admission => bump(&mut m.admissions),
                MovementKind::Release => bump(&mut m.releases),
                MovementKind::Escape => bump(&mut m.escapes),
                MovementKind::Transfer {
                    out_of_jurisdiction: false,
                } => bump(&mut m.transfers_internal),
                MovementKind::Transfer {
                    out_of_jurisdiction: true,
                } => bump(&mut m.transfers_out_of_jurisdiction),
                MovementKind::Death {
                    cause, referred_at, ..
                } => {
                    let referred = referred_at.is_some_and(|r| r <= at);
                    m.deaths += 1;
                    m.deaths_referred += u64::from(referred);
                    let c = causes
                        .entry(
                            cause
                                .clone()
                                .filter(|c| !c.trim().is_empty())
                                .unwrap_or_else(|| "not recorded".into()),
                        )
                        .or_default();
                    c.0 += 1;
                    c.1 += u64::from(referred);
                }
            }
        }
        m.deaths_referred_pct = pct(m.deaths_referred, m.deaths);
        months_out.push(m);
    }
    let deaths_by_cause = causes
        .into_iter()
        .map(|(cause, (deaths, referred))| CauseStats {
            cause,
            deaths,
            referred,
            referred_pct: pct(referred, deaths),
        })
        .collect();

    // Agreements.
    let agreements = f
        .agreements
        .iter()
        .map(|a| agreement_stats(a, held, at, &f.zone))
        .collect();

    // Checks.
    let checks = check_stats(f, &by_cell, &by_unit, &by_facility);

    let series = SeriesRange {
        from: months_first_label(f.series_from, &f.zone),
        to: months_first_label(at, &f.zone),
    };
    Statistics {
        definitions_version: DEFINITIONS_VERSION,
        at,
        view: f.view,
        time_zone: zone_name(&f.zone),
        series,
        suppression: Suppression {
            min_count: None,
            suppressed: Vec::new(),
        },
        national: National {
            total: Some(total),
            national_population,
            rate_per_100k: national_population
                .filter(|n| *n > 0)
                .map(|n| round(total as f64 * 100_000.0 / n as f64, 1)),
            remand: Some(remand),
            remand_pct: pct(remand, total),
            convicted_unsentenced: Some(convicted_unsentenced),
            female: Some(female),
            female_pct: pct(female, total),
            sex_unknown: Some(sex_unknown),
            juvenile: Some(juvenile),
            juvenile_pct: pct(juvenile, total),
            age_unknown: Some(age_unknown),
            foreign_pct: foreign.and_then(|n| pct(n, total)),
            foreign,
            country,
            nationality_unknown: Some(nationality_unknown),
            held_for_other_authorities: Some(count(&|h| {
                h.agreement.is_some() || h.custodial_authority.is_some()
            })),
            in_transit: Some(in_transit),
            establishments: f.facilities.len() as u64,
            official_capacity,
            occupancy_pct: pct(in_facilities, official_capacity),
        },
        facilities,
        months: months_out,
        deaths_by_cause,
        agreements,
        checks,
    }
}

fn months_first_label(t: Timestamp, tz: &TimeZone) -> String {
    let d = local_date(t, tz);
    format!("{:04}-{:02}", d.year(), d.month())
}

fn agreement_stats(
    a: &AgreementFacts,
    held: &[HeldFact],
    at: Timestamp,
    tz: &TimeZone,
) -> AgreementStats {
    let terms = &a.agreement.terms;
    let id = terms.agreement.as_str();
    let term_start = day_start(terms.from, tz);
    let term_end = day_start(terms.until.tomorrow().unwrap_or(terms.until), tz);
    let until = term_end.min(at);
    let person_days: f64 = a
        .persons
        .iter()
        .flatten()
        .map(|s| overlap_days(s, term_start, until))
        .sum();
    let term_days = days(term_end.duration_since(term_start));
    let elapsed = if until > term_start {
        days(until.duration_since(term_start))
    } else {
        0.0
    };
    let cost = terms.price.as_ref().map(|p| match p.per {
        PricePer::Term if term_days > 0.0 => p.amount * (elapsed / term_days).min(1.0),
        PricePer::Term => 0.0,
        PricePer::PersonDay => p.amount * person_days,
    });
    let per_day = terms.price.as_ref().and_then(|p| match p.per {
        PricePer::PersonDay => Some(p.amount),
        PricePer::Term => cost
            .filter(|_| person_days > 0.0)
            .map(|c| round(c / person_days, 2)),
    });
    let people_total = a
        .persons
        .iter()
        .filter(|stays| stays.iter().any(|s| s.from <= at))
        .count() as u64;
    AgreementStats {
        agreement: id.to_owned(),
        parties: terms.parties.iter().map(ToString::to_string).collect(),
        from: terms.from,
        until: terms.until,
        people_held: Some(
            held.iter()
                .filter(|h| h.agreement.as_deref() == Some(id))
                .count() as u64,
        ),
        people_total: Some(people_total),
        person_days: Some(round(person_days, 1)),
        price_amount: terms.price.as_ref().map(|p| p.amount),
        price_per: terms
            .price
            .as_ref()
            .map(|p| habeas_domain::model::variant_name(&p.per)),
        currency: terms.price.as_ref().map(|p| p.currency.to_string()),
        cost_to_date: cost.map(|c| round(c, 2)),
        price_per_person_day: per_day,
    }
}

fn check_stats(
    f: &Facts,
    by_cell: &HashMap<&str, u64>,
    by_unit: &HashMap<&str, u64>,
    by_facility: &HashMap<&str, u64>,
) -> Vec<CheckStats> {
    CHECKS
        .iter()
        .map(|c| {
            // Per subject, the longest-running open finding (a cell can fail one check in
            // several ways at once: men with women, and remand with sentenced).
            let mut persons: BTreeMap<&str, f64> = BTreeMap::new();
            let mut places: BTreeMap<(SubjectKind, &str), f64> = BTreeMap::new();
            let mut other = 0;
            let mut open = 0;
            for x in f.findings.iter().filter(|x| x.check == c.id) {
                open += 1;
                let d = if f.at > x.since {
                    days(f.at.duration_since(x.since))
                } else {
                    0.0
                };
                let longest = |e: &mut f64| *e = e.max(d);
                match x.subject_kind {
                    SubjectKind::Person => longest(persons.entry(x.subject.as_str()).or_default()),
                    SubjectKind::Cell | SubjectKind::Unit | SubjectKind::Facility => longest(
                        places
                            .entry((x.subject_kind, x.subject.as_str()))
                            .or_default(),
                    ),
                    SubjectKind::Event | SubjectKind::Register => other += 1,
                }
            }
            let person_days: f64 = persons.values().sum();
            let place_days: f64 = places.values().sum();
            let in_places: u64 = places
                .keys()
                .map(|(kind, s)| {
                    match kind {
                        SubjectKind::Cell => by_cell.get(s),
                        SubjectKind::Unit => by_unit.get(s),
                        _ => by_facility.get(s),
                    }
                    .copied()
                    .unwrap_or(0)
                })
                .sum();
            CheckStats {
                check: c.id,
                source: c.source,
                severity: match c.severity {
                    habeas_domain::checks::Severity::Critical => "critical",
                    habeas_domain::checks::Severity::Warning => "warning",
                },
                open_findings: open,
                persons_affected: Some(persons.len() as u64),
                person_days: Some(round(person_days, 1)),
                places_affected: places.len() as u64,
                place_days: round(place_days, 1),
                persons_in_affected_places: Some(in_places),
                other_findings: other,
            }
        })
        .collect()
}

/// A count of people suppressed when it is from 1 to `min - 1`.
fn small(n: Option<u64>, min: u64) -> bool {
    n.is_some_and(|n| n > 0 && n < min)
}

impl Statistics {
    /// Suppresses every count of people from 1 to `min_count - 1`, and every figure derived
    /// from one (a share, a rate, persons per bed…), so that a small group cannot be singled
    /// out. Deaths are never suppressed. `None` or 0: nothing is.
    pub fn suppress(&mut self, min_count: Option<u64>) {
        self.suppression.min_count = min_count.filter(|m| *m > 1);
        let Some(min) = self.suppression.min_count else {
            return;
        };
        let out = &mut self.suppression.suppressed;
        let mut hide = |path: String, n: &mut Option<u64>, derived: &mut [&mut Option<f64>]| {
            if small(*n, min) {
                *n = None;
                for d in derived {
                    **d = None;
                }
                out.push(path);
                true
            } else {
                false
            }
        };
        let n = &mut self.national;
        if hide(
            "national.total".into(),
            &mut n.total,
            &mut [&mut n.rate_per_100k],
        ) {
            // Every share of a suppressed total would give the part away.
            n.remand_pct = None;
            n.female_pct = None;
            n.juvenile_pct = None;
            n.foreign_pct = None;
        }
        hide(
            "national.remand".into(),
            &mut n.remand,
            &mut [&mut n.remand_pct],
        );
        hide(
            "national.convicted_unsentenced".into(),
            &mut n.convicted_unsentenced,
            &mut [],
        );
        hide(
            "national.female".into(),
            &mut n.female,
            &mut [&mut n.female_pct],
        );
        hide("national.sex_unknown".into(), &mut n.sex_unknown, &mut []);
        hide(
            "national.juvenile".into(),
            &mut n.juvenile,
            &mut [&mut n.juvenile_pct],
        );
        hide("national.age_unknown".into(), &mut n.age_unknown, &mut []);
        hide(
            "national.foreign".into(),
            &mut n.foreign,
            &mut [&mut n.foreign_pct],
        );
        hide(
            "national.nationality_unknown".into(),
            &mut n.nationality_unknown,
            &mut [],
        );
        hide(
            "national.held_for_other_authorities".into(),
            &mut n.held_for_other_authorities,
            &mut [],
        );
        hide("national.in_transit".into(), &mut n.in_transit, &mut []);
        for fac in &mut self.facilities {
            let p = format!("facilities[{}]", fac.facility);
            hide(
                format!("{p}.population"),
                &mut fac.population,
                &mut [&mut fac.occupancy_pct],
            );
            hide(
                format!("{p}.in_cells"),
                &mut fac.in_cells,
                &mut [&mut fac.persons_per_bed, &mut fac.m2_per_person],
            );
        }
        for m in &mut self.months {
            let p = format!("months[{}]", m.month);
            hide(
                format!("{p}.population_at_end"),
                &mut m.population_at_end,
                &mut [],
            );
            hide(format!("{p}.admissions"), &mut m.admissions, &mut []);
            hide(format!("{p}.releases"), &mut m.releases, &mut []);
            hide(format!("{p}.escapes"), &mut m.escapes, &mut []);
            hide(
                format!("{p}.transfers_internal"),
                &mut m.transfers_internal,
                &mut [],
            );
            hide(
                format!("{p}.transfers_out_of_jurisdiction"),
                &mut m.transfers_out_of_jurisdiction,
                &mut [],
            );
        }
        for a in &mut self.agreements {
            let p = format!("agreements[{}]", a.agreement);
            hide(format!("{p}.people_held"), &mut a.people_held, &mut []);
            hide(
                format!("{p}.people_total"),
                &mut a.people_total,
                &mut [
                    &mut a.person_days,
                    &mut a.cost_to_date,
                    &mut a.price_per_person_day,
                ],
            );
        }
        // A death not referred or not told to the family is a death: never suppressed.
        for c in self
            .checks
            .iter_mut()
            .filter(|c| !c.check.starts_with("death-"))
        {
            let p = format!("checks[{}]", c.check);
            hide(
                format!("{p}.persons_affected"),
                &mut c.persons_affected,
                &mut [&mut c.person_days],
            );
            hide(
                format!("{p}.persons_in_affected_places"),
                &mut c.persons_in_affected_places,
                &mut [],
            );
        }
    }
}

// Used by the renderers for axis labels.
pub(crate) fn date_label(t: Timestamp) -> String {
    let dt: DateTime = Offset::UTC.to_datetime(t);
    format!("{} {:02}:{:02} UTC", dt.date(), dt.hour(), dt.minute())
}
