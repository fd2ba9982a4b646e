//! `decide` for the daily-life records: exercise, contacts, notifications, health,
//! separation, incidents, roll counts and settings. The same rule as for custody: a fact is
//! recorded when well-formed and consistent with the record; whether it kept the standards is
//! for the checks to say.

use jiff::SignedDuration;

use crate::checks::LIMITS;
use crate::command::*;
use crate::decide::{Context, check_time, describe_whereabouts, open_episode};
use crate::event::{Event, HealthRequestSeen, IncidentRecorded};
use crate::ids::*;
use crate::model::NotifyAbout;
use crate::refusal::{Refusal, rules};
use crate::state::*;

/// A person the register has held at some time: daily-life facts may be recorded late, after
/// a release, so custody now is not required.
fn known_person<'s>(
    state: &'s State,
    register_no: &RegisterNo,
    field: &str,
) -> Result<&'s Person, Refusal> {
    state
        .persons
        .get(register_no)
        .filter(|p| !p.episodes.is_empty())
        .ok_or_else(|| {
            Refusal::new(
                rules::UNKNOWN_PERSON,
                field,
                format!("{register_no} is not in the register; record the admission first"),
            )
        })
}

/// A person the register held at `at`: a fact of custody (a visit, an exam, an incident)
/// dated before every admission of theirs or after its end contradicts the record. With
/// `after_end`, a time after the end of an episode is accepted too (telling the family of a
/// release, a transfer or a death happens after it).
fn held_at<'s>(
    state: &'s State,
    register_no: &RegisterNo,
    at: jiff::Timestamp,
    after_end: bool,
    field: &str,
) -> Result<&'s Person, Refusal> {
    let person = known_person(state, register_no, field)?;
    let start = |e: &Episode| {
        e.deprived
            .as_ref()
            .map_or(e.admitted_at, |d| d.at.min(e.admitted_at))
    };
    let held = person
        .episodes
        .iter()
        .any(|e| start(e) <= at && (after_end || e.end.as_ref().is_none_or(|end| at <= end.at)));
    if held {
        return Ok(person);
    }
    // Name the episode the time falls after (or the first one, when it is before them all).
    let record = match person.episodes.iter().rev().find(|e| start(e) <= at) {
        Some(e) => match &e.end {
            Some(end) => format!(
                "custody episode {} of {register_no} ended at {} (event {})",
                e.number, end.at, end.seq
            ),
            None => format!(
                "{register_no} admitted {} (event {})",
                e.admitted_at, e.admission_seq
            ),
        },
        None => {
            let first = &person.episodes[0];
            format!(
                "{register_no} first admitted {} (event {})",
                first.admitted_at, first.admission_seq
            )
        }
    };
    Err(Refusal::new(
        rules::OUTSIDE_CUSTODY,
        "at",
        format!("{at} is outside every custody episode of {register_no}: the register did not hold them then"),
    )
    .with_record(record))
}

fn check_persons(
    state: &State,
    register_nos: &[RegisterNo],
    at: jiff::Timestamp,
    field: &str,
) -> Result<(), Refusal> {
    for (i, r) in register_nos.iter().enumerate() {
        let field = format!("{field}[{i}]");
        if register_nos[..i].contains(r) {
            return Err(Refusal::malformed(field, format!("{r} is listed twice")));
        }
        held_at(state, r, at, false, &field)?;
    }
    Ok(())
}

pub(crate) fn exercise(
    state: &State,
    c: &ExerciseRecord,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    check_time(c.until, ctx, "until")?;
    if c.until <= c.at {
        return Err(Refusal::malformed("until", "must be later than `at`"));
    }
    if c.until.duration_since(c.at) > SignedDuration::from_hours(24) {
        return Err(Refusal::malformed(
            "until",
            "an exercise session lasts at most 24 hours",
        ));
    }
    if c.cells.is_empty() && c.unit.is_none() && c.register_nos.is_empty() {
        return Err(Refusal::malformed(
            "",
            "name who exercised: `cells`, `unit` or `register_nos`",
        ));
    }
    for (i, cell) in c.cells.iter().enumerate() {
        if !state.cells.contains_key(cell) {
            return Err(Refusal::new(
                rules::UNKNOWN_CELL,
                format!("cells[{i}]"),
                format!("cell {cell} is not registered"),
            ));
        }
    }
    if let Some(unit) = &c.unit
        && !state.units.contains_key(unit)
    {
        return Err(Refusal::new(
            rules::UNKNOWN_UNIT,
            "unit",
            format!("unit {unit} is not registered"),
        ));
    }
    check_persons(state, &c.register_nos, c.at, "register_nos")?;
    Ok(vec![Event::ExerciseRecorded(c.clone())])
}

pub(crate) fn contact(
    state: &State,
    c: &ContactRecord,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    held_at(state, &c.register_no, c.at, false, "register_no")?;
    Ok(vec![Event::ContactRecorded(c.clone())])
}

pub(crate) fn notification(
    state: &State,
    c: &NotificationRecord,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    // Admission notices are given during custody; news of a release, a transfer out, a death
    // or a serious illness may follow the end of the episode.
    let after_end = !matches!(c.about, NotifyAbout::Admission);
    held_at(state, &c.register_no, c.at, after_end, "register_no")?;
    Ok(vec![Event::NotificationRecorded(c.clone())])
}

pub(crate) fn health_exam(
    state: &State,
    c: &HealthExam,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    held_at(state, &c.register_no, c.at, false, "register_no")?;
    Ok(vec![Event::HealthExamined(c.clone())])
}

pub(crate) fn health_request(
    state: &State,
    c: &HealthRequest,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    held_at(state, &c.register_no, c.at, false, "register_no")?;
    if let Some(r) = state.health_requests.get(&c.request) {
        return Err(Refusal::new(
            rules::DUPLICATE,
            "request",
            format!("health request {} is already recorded", c.request),
        )
        .with_record(format!(
            "health request {} of {} (event {})",
            r.request, r.register_no, r.seq
        )));
    }
    Ok(vec![Event::HealthRequested(c.clone())])
}

pub(crate) fn health_seen(
    state: &State,
    c: &HealthSeen,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    let r = state.health_requests.get(&c.request).ok_or_else(|| {
        Refusal::new(
            rules::UNKNOWN_REQUEST,
            "request",
            format!("health request {} is not recorded", c.request),
        )
    })?;
    if let Some(seen) = &r.seen {
        return Err(Refusal::new(
            rules::DUPLICATE,
            "request",
            format!(
                "health request {} was already seen at {}",
                c.request, seen.at
            ),
        )
        .with_record(format!("event {}", seen.seq)));
    }
    if c.at < r.at {
        return Err(Refusal::new(
            rules::OUT_OF_ORDER,
            "at",
            format!("is before the request was made ({})", r.at),
        )
        .with_record(format!("health request {} (event {})", r.request, r.seq)));
    }
    Ok(vec![Event::HealthSeen(HealthRequestSeen {
        request: c.request.clone(),
        register_no: r.register_no.clone(),
        at: c.at,
    })])
}

pub(crate) fn separation_start(
    state: &State,
    c: &SeparationStart,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    let (person, episode) = open_episode(state, &c.register_no, "register_no")?;
    if let Some(sep) = episode.open_separation() {
        return Err(Refusal::new(
            rules::WRONG_STATUS,
            "register_no",
            format!(
                "{} is already in separation since {}",
                c.register_no, sep.from
            ),
        )
        .with_record(format!("separation.started (event {})", sep.seq)));
    }
    if c.at < episode.admitted_at {
        return Err(Refusal::new(
            rules::OUT_OF_ORDER,
            "at",
            format!("is before the admission ({})", episode.admitted_at),
        )
        .with_record(describe_whereabouts(person)));
    }
    Ok(vec![Event::SeparationStarted(c.clone())])
}

pub(crate) fn separation_end(
    state: &State,
    c: &PersonAt,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    let (_, episode) = open_episode(state, &c.register_no, "register_no")?;
    let sep = episode.open_separation().ok_or_else(|| {
        Refusal::new(
            rules::WRONG_STATUS,
            "register_no",
            format!("{} is not in separation", c.register_no),
        )
    })?;
    if c.at < sep.from {
        return Err(Refusal::new(
            rules::OUT_OF_ORDER,
            "at",
            format!("is before the separation began ({})", sep.from),
        )
        .with_record(format!("separation.started (event {})", sep.seq)));
    }
    Ok(vec![Event::SeparationEnded(c.clone())])
}

pub(crate) fn incident(
    state: &State,
    c: &IncidentRecord,
    ctx: &Context,
) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    if let Some(seq) = state.incidents.get(&c.incident) {
        return Err(Refusal::new(
            rules::DUPLICATE,
            "incident",
            format!("incident {} is already recorded", c.incident),
        )
        .with_record(format!("incident {} (event {seq})", c.incident)));
    }
    if c.register_nos.is_empty() {
        return Err(Refusal::malformed(
            "register_nos",
            "must name at least one person",
        ));
    }
    check_persons(state, &c.register_nos, c.at, "register_nos")?;
    Ok(c.register_nos
        .iter()
        .map(|r| {
            Event::IncidentRecorded(IncidentRecorded {
                incident: c.incident.clone(),
                kind: c.kind,
                register_no: r.clone(),
                at: c.at,
                description: c.description.clone(),
                referred_to: c.referred_to.clone(),
            })
        })
        .collect())
}

pub(crate) fn count(state: &State, c: &CountRecord, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    if !state.units.contains_key(&c.unit) {
        return Err(Refusal::new(
            rules::UNKNOWN_UNIT,
            "unit",
            format!("unit {} is not registered", c.unit),
        ));
    }
    Ok(vec![Event::CountRecorded(c.clone())])
}

pub(crate) fn settings(c: &SettingsRecord, ctx: &Context) -> Result<Vec<Event>, Refusal> {
    check_time(c.at, ctx, "at")?;
    if c.national_population == Some(0) {
        return Err(Refusal::malformed(
            "national_population",
            "must be a positive number of people",
        ));
    }
    for (name, value) in &c.limits {
        let field = format!("limits.{name}");
        if !LIMITS.iter().any(|l| l.name == name) {
            let known: Vec<&str> = LIMITS.iter().map(|l| l.name).collect();
            return Err(Refusal::malformed(
                field,
                format!("unknown limit; known: {}", known.join(", ")),
            ));
        }
        if !(value.is_finite() && *value >= 0.0) {
            return Err(Refusal::malformed(field, "must be a non-negative number"));
        }
    }
    Ok(vec![Event::SettingsRecorded(c.clone())])
}
