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
