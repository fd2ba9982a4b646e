//! Projections of facts into the tables the checks query: one row per daily-life record,
//! departure and death, written in the transaction that logs the event (and again by
//! `rebuild`). No rule is decided here; rows only restate the event.

use crate::db::{Conn as Connection, params};
use habeas_domain::*;

use crate::error::StoreError;
use crate::store::to_i64;

pub(crate) fn facts(conn: &Connection, state: &State, r: &Recorded) -> Result<(), StoreError> {
    let seq = to_i64(r.seq);
    let rec = r.recorded_at.as_microsecond();
    match &r.event {
        Event::ContactRecorded(e) => {
            let column = match e.kind {
                model::ContactKind::LegalVisit => Some(("legal_visit", Keep::First)),
                k if k.is_family() => Some(("family", Keep::Latest)),
                _ => None,
            };
            if let Some((column, keep)) = column
                && let Some(episode) = episode_of(state, &e.register_no, e.at)
            {
                episode_fact(
                    conn,
                    (&e.register_no, episode),
                    column,
                    keep,
                    (e.at.as_microsecond(), seq, rec),
                )?;
            }
            conn.prepare_cached(
                "INSERT INTO contacts (seq, register_no, kind, at_us, recorded_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                seq,
                e.register_no.as_str(),
                model::variant_name(&e.kind),
                e.at.as_microsecond(),
                rec
            ])?;
        }
        Event::NotificationRecorded(e) => {
            if let Some(episode) = episode_of(state, &e.register_no, e.at) {
                // A tuple serializes as the JSON array, without a Value in between.
                let item = serde_json::to_string(&(
                    e.at.as_microsecond(),
                    model::variant_name(&e.to),
                    model::variant_name(&e.about),
                    e.declined_by_person,
                    seq,
                    rec,
                ))
                .unwrap_or_default();
                // Appended as text, the same bytes on both backends: `verify` compares the
                // table with a SQLite rebuild byte for byte, and jsonb would re-space it.
                let sql = "INSERT INTO episode_facts (register_no, episode, notifications) VALUES (?1, ?2, '[' || CAST(?3 AS TEXT) || ']')
                     ON CONFLICT (register_no, episode) DO UPDATE
                     SET notifications = CASE WHEN episode_facts.notifications = '[]' THEN '[' || CAST(?3 AS TEXT) || ']'
                         ELSE substr(episode_facts.notifications, 1, length(episode_facts.notifications) - 1) || ',' || CAST(?3 AS TEXT) || ']' END";
                conn.prepare_cached(sql)?.execute(params![
                    e.register_no.as_str(),
                    episode,
                    item
                ])?;
            }
            conn.prepare_cached(
                "INSERT INTO notifications (seq, register_no, to_whom, about, declined, at_us, recorded_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                seq,
                e.register_no.as_str(),
                model::variant_name(&e.to),
                model::variant_name(&e.about),
                e.declined_by_person,
                e.at.as_microsecond(),
                rec
            ])?;
        }
        Event::HealthExamined(e) => {
            if let Some(episode) = episode_of(state, &e.register_no, e.at) {
                episode_fact(
                    conn,
                    (&e.register_no, episode),
                    "exam",
                    Keep::First,
                    (e.at.as_microsecond(), seq, rec),
                )?;
            }
            conn.prepare_cached(
                "INSERT INTO health_exams (seq, register_no, injuries, at_us, recorded_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                seq,
                e.register_no.as_str(),
                e.injuries_observed,
                e.at.as_microsecond(),
                rec
            ])?;
        }
        Event::ExerciseRecorded(e) => {
            conn.prepare_cached(
                "INSERT INTO exercise (seq, at_us, until_us, recorded_us, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                seq,
                e.at.as_microsecond(),
                e.until.as_microsecond(),
                rec,
                serde_json::to_string(e).unwrap_or_default()
            ])?;
        }
        Event::IncidentRecorded(e) => {
            conn.prepare_cached(
                "INSERT INTO incidents (seq, incident, register_no, kind, referred, at_us, recorded_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                seq,
                e.incident.as_str(),
                e.register_no.as_str(),
                model::variant_name(&e.kind),
                e.referred_to.is_some(),
                e.at.as_microsecond(),
                rec
            ])?;
        }
        Event::CountRecorded(e) => {
            conn.prepare_cached(
                "INSERT INTO counts (seq, unit, counted, at_us, recorded_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                seq,
                e.unit.to_string(),
                e.counted,
                e.at.as_microsecond(),
                rec
            ])?;
        }
        Event::SettingsRecorded(e) => {
            if let Some(settings) = &state.settings {
                conn.prepare_cached(
                    "INSERT INTO settings (seq, at_us, recorded_us, data) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    seq,
                    e.at.as_microsecond(),
                    rec,
                    serde_json::to_string(settings).unwrap_or_default()
                ])?;
            }
        }
        Event::TransferDeparted(e) => {
            // The legal bases the person was held under when they left: a court order may
            // bar the transfer of everyone held under one of them.
            let references: Vec<&Text> = state
                .persons
                .get(&e.register_no)
                .and_then(|p| p.current_episode())
                .map(|ep| {
                    ep.legal_bases
                        .iter()
                        .map(|b| &b.legal_basis.reference)
                        .collect()
                })
                .unwrap_or_default();
            let data =
                serde_json::json!({"to": e.to.to_string(), "legal_basis_references": references});
            conn.prepare_cached(
                "INSERT INTO departures (seq, register_no, at_us, recorded_us, data) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                seq,
                e.register_no.as_str(),
                e.at.as_microsecond(),
                rec,
                data.to_string()
            ])?;
        }
        Event::DeathRecorded(e) => {
            let facility = state
                .persons
                .get(&e.register_no)
                .and_then(|p| p.current_episode())
                .and_then(|ep| {
                    ep.stays
                        .iter()
                        .rev()
                        .find_map(|s| s.facility.clone())
                        .or(Some(ep.facility.clone()))
                });
            conn.prepare_cached(
                "INSERT INTO deaths (seq, register_no, facility, at_us, recorded_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                seq,
                e.register_no.as_str(),
                facility.as_ref().map(FacilityCode::as_str),
                e.at.as_microsecond(),
                rec
            ])?;
        }
        _ => {}
    }
    Ok(())
}

/// Which of a kind of fact an episode keeps.
#[derive(Clone, Copy)]
enum Keep {
    First,
    Latest,
}

/// The number of the episode a fact at `at` belongs to: the last admitted at or before it.
fn episode_of(state: &State, register_no: &RegisterNo, at: jiff::Timestamp) -> Option<u32> {
    state
        .persons
        .get(register_no)?
        .episodes
        .iter()
        .rev()
        .find(|e| e.admitted_at <= at)
        .map(|e| e.number)
}

/// Keeps the first (or latest) fact of a kind in `episode_facts`; of two at the same time,
/// the one recorded first.
fn episode_fact(
    conn: &Connection,
    (register_no, episode): (&RegisterNo, u32),
    column: &str,
    keep: Keep,
    (at, seq, rec): (i64, i64, i64),
) -> Result<(), StoreError> {
    let better = match keep {
        Keep::First => "<",
        Keep::Latest => ">",
    };
    let sql = format!(
        "INSERT INTO episode_facts (register_no, episode, {column}_us, {column}_seq, {column}_recorded_us)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (register_no, episode) DO UPDATE
         SET {column}_us = excluded.{column}_us, {column}_seq = excluded.{column}_seq,
             {column}_recorded_us = excluded.{column}_recorded_us
         WHERE episode_facts.{column}_us IS NULL OR excluded.{column}_us {better} episode_facts.{column}_us"
    );
    conn.prepare_cached(&sql)?
        .execute(params![register_no.as_str(), episode, at, seq, rec])?;
    Ok(())
}

/// The file as the checks read it, while the person is held.
pub(crate) fn for_checks_json(person: &Person) -> Option<String> {
    person
        .open_episode()
        .map(|_| serde_json::to_string(&person.for_checks()).unwrap_or_default())
}

/// Keeps a person's row in `held_persons` with their file (`for_checks_json`): there while
/// they are held.
pub(crate) fn held_person(
    conn: &Connection,
    person: &Person,
    for_checks: Option<String>,
) -> Result<(), StoreError> {
    match person.open_episode().zip(for_checks) {
        Some((episode, data)) => {
            let (at, recorded) = person.last_change();
            conn.prepare_cached(
                "INSERT INTO held_persons (register_no, episode, changed_at_us, changed_recorded_us, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (register_no) DO UPDATE SET episode = excluded.episode,
                 changed_at_us = excluded.changed_at_us,
                 changed_recorded_us = excluded.changed_recorded_us, data = excluded.data",
            )?
            .execute(params![
                person.register_no.as_str(),
                episode.number,
                at.as_microsecond(),
                recorded.as_microsecond(),
                data
            ])?;
        }
        None => {
            conn.prepare_cached("DELETE FROM held_persons WHERE register_no = ?1")?
                .execute([person.register_no.as_str()])?;
        }
    }
    Ok(())
}
