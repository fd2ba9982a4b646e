//! `no-outdoor-exercise` (SMR 23(1)): minutes outdoors per day, counted from the day after
//! admission.

use jiff::tz::TimeZone;

use super::*;
use crate::zones::{day_start, local_date};

/// Minutes outdoors per person per UTC day, from the sessions that cover them, for the days
/// of the look-back window.
pub(super) fn exercise_check(s: &Snapshot, out: &mut Vec<Finding>) {
    exercise_check_of(s, &s.persons, out);
}

/// The first half of the held persons' exercise check, and the second: the largest group of
/// checks, split so that both halves run side by side.
pub(super) fn exercise_check_first_half(s: &Snapshot, out: &mut Vec<Finding>) {
    exercise_check_of(s, &s.persons[..s.persons.len() / 2], out);
}

pub(super) fn exercise_check_second_half(s: &Snapshot, out: &mut Vec<Finding>) {
    exercise_check_of(s, &s.persons[s.persons.len() / 2..], out);
}

/// `no-outdoor-exercise` for `persons` (of the snapshot), in their order.
pub(super) fn exercise_check_of(s: &Snapshot, persons: &[PersonFacts], out: &mut Vec<Finding>) {
    let t = s.at;
    let min = s.limits.get("no-outdoor-exercise.min_minutes");
    let lookback = s.limits.get("no-outdoor-exercise.lookback_days").max(1.0) as i64;
    // Days are the facility's own (its IANA time zone).
    let zones = Zones::of_snapshot(s);
    // Sessions by the place they cover.
    let mut by_unit: HashMap<&UnitPath, Vec<&ExerciseSession>> = HashMap::new();
    let mut by_cell: HashMap<&CellPath, Vec<&ExerciseSession>> = HashMap::new();
    let mut by_person: HashMap<&RegisterNo, Vec<&ExerciseSession>> = HashMap::new();
    // Each session's minutes per local day of a facility, computed once for everyone there.
    let mut per_day: HashMap<(u64, Option<&FacilityCode>), DayMinutes> = HashMap::new();
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
        let facility = stay.facility.as_ref().or(Some(&e.facility));
        let tz = zones.of(facility);
        let today = local_date(t, tz);
        let Ok(last_day) = today.yesterday() else {
            continue;
        };
        // A look-back beyond the calendar reaches its first day (and must not panic).
        let first_day = jiff::Span::new()
            .try_days(lookback)
            .and_then(|span| today.checked_sub(span))
            .unwrap_or(Date::MIN);
        // Days counted: full days after the admission day, inside the window.
        let Ok(first_counted) = local_date(e.admitted_at, tz).tomorrow() else {
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
        let window_start = day_start(start, tz);
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
        // The latest session outdoors that reached the person, whatever its day.
        let mut last_reached: Option<(Timestamp, u64)> = None;
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
            if x.at <= t && last_reached.is_none_or(|(at, _)| x.at > at) {
                last_reached = Some((x.at, x.seq));
            }
            let split = per_day
                .entry((x.seq, facility))
                .or_insert_with(|| minutes_per_day(x, tz));
            for &(day, m) in split.iter() {
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
        // Evidence: the entry that put the person where the short days began (their admission
        // or the movement to that place), the latest session that reached them, and the
        // sessions of the last day.
        let mut shown = vec![
            e.stay_at(day_start(first_short, tz))
                .map_or(e.admission_seq, |st| st.seq),
        ];
        shown.extend(last_reached.map(|(_, seq)| seq));
        shown.extend(evidence.get(&last_day).into_iter().flatten());
        shown.sort_unstable();
        shown.dedup();
        out.push(person_finding(
            "no-outdoor-exercise",
            &pf.person,
            stay.facility.as_ref(),
            day_start(first_short, tz),
            format!(
                "{} had {:.0} minutes outdoors on {last_day} (minimum {min}); every day since {first_short} was short",
                pf.person.register_no, got
            ),
            shown,
        ));
    }
}

/// Minutes outdoors on each local day.
type DayMinutes = Vec<(Date, f64)>;

/// A session's minutes on each local day of `tz` it touches.
fn minutes_per_day(x: &ExerciseSession, tz: &TimeZone) -> DayMinutes {
    let mut split = Vec::new();
    let mut day = local_date(x.at, tz);
    while day <= local_date(x.until, tz) {
        let next = day.tomorrow().unwrap_or(day);
        let lo = x.at.max(day_start(day, tz));
        let hi = x.until.min(day_start(next, tz));
        if hi > lo {
            split.push((day, hi.duration_since(lo).as_secs_f64() / 60.0));
        }
        if next == day {
            break;
        }
        day = next;
    }
    split
}
