//! `apply(state, event)`: folds one logged event into the state. Events that `decide` accepted
//! always apply; an event that does not fit the state (a log written by something else) is an
//! error, never a panic.

use jiff::Timestamp;

use crate::event::{Event, Recorded};
use crate::ids::*;
use crate::model::Destination;
use crate::state::*;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq} ({kind}) does not fit the state: {reason}")]
pub struct ApplyError {
    pub seq: u64,
    pub kind: &'static str,
    pub reason: String,
}

pub fn apply(state: &mut State, recorded: &Recorded) -> Result<(), ApplyError> {
    let seq = recorded.seq;
    let rec = recorded.recorded_at;
    let err = |reason: String| ApplyError {
        seq,
        kind: recorded.event.type_name(),
        reason,
    };
    match &recorded.event {
        Event::FacilityRegistered(e) => {
            if state.facilities.contains_key(&e.facility) {
                return Err(err(format!(
                    "facility {} is already registered",
                    e.facility
                )));
            }
            state.facilities.insert(
                e.facility.clone(),
                Facility {
                    facility: e.facility.clone(),
                    name: e.name.clone(),
                    authority: e.authority.clone(),
                    timezone: e.timezone.clone(),
                    official_capacity: e.official_capacity,
                    seq,
                },
            );
        }
        Event::UnitRegistered(e) => {
            let unit = UnitPath {
                facility: e.facility.clone(),
                unit: e.unit.clone(),
            };
            if state.units.contains_key(&unit) {
                return Err(err(format!("unit {unit} is already registered")));
            }
            state.units.insert(
                unit.clone(),
                Unit {
                    unit,
                    name: e.name.clone(),
                    seq,
                },
            );
        }
        Event::CellRegistered(e) => {
            if state.cells.contains_key(&e.cell) {
                return Err(err(format!("cell {} is already registered", e.cell)));
            }
            state.cells.insert(
                e.cell.clone(),
                Cell {
                    cell: e.cell.clone(),
                    places: e.places,
                    beds: e.beds,
                    area_m2: e.area_m2,
                    seq,
                },
            );
        }
        Event::AdmissionRecorded(e) => {
            let person = state
                .persons
                .entry(e.register_no.clone())
                .or_insert_with(|| Person {
                    register_no: e.register_no.clone(),
                    identity: None,
                    episodes: Vec::new(),
                });
            if person.open_episode().is_some() {
                return Err(err(format!("{} is already in custody", e.register_no)));
            }
            if person.identity.is_none() {
                person.identity = e.person.clone();
            }
            let number = u32::try_from(person.episodes.len() + 1).unwrap_or(u32::MAX);
            person.episodes.push(Episode {
                number,
                facility: e.facility.clone(),
                admitted_at: e.at,
                admission_seq: seq,
                deprived: e.deprived.clone(),
                legal_status: e.legal_status,
                admitted_legal_status: e.legal_status,
                legal_bases: e
                    .legal_basis
                    .iter()
                    .map(|b| LegalBasisEntry {
                        at: e.at,
                        legal_basis: b.clone(),
                        legal_status: None,
                        seq,
                        recorded_at: rec,
                    })
                    .collect(),
                custodial_authority: e.custodial_authority.clone(),
                agreement: e.agreement.clone(),
                contacts: e.contacts.clone(),
                stays: vec![Stay {
                    status: Status::InCustody,
                    facility: Some(e.facility.clone()),
                    cell: None,
                    from: e.at,
                    until: None,
                    note: None,
                    seq,
                    recorded_at: rec,
                    until_recorded_at: None,
                }],
                transfers: Vec::new(),
                separations: Vec::new(),
                end: None,
            });
        }
        Event::PlacementRecorded(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            let facility = Some(e.cell.facility.clone());
            move_to(
                episode,
                Status::InCustody,
                facility,
                Some(e.cell.clone()),
                None,
                e.at,
                seq,
                rec,
            );
        }
        Event::LegalBasisRecorded(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            episode.legal_bases.push(LegalBasisEntry {
                at: e.at,
                legal_basis: e.legal_basis.clone(),
                legal_status: e.legal_status,
                seq,
                recorded_at: rec,
            });
            if let Some(status) = e.legal_status {
                episode.legal_status = status;
            }
        }
        Event::AbsenceStarted(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            let facility = episode.current_stay().and_then(|s| s.facility.clone());
            let note = format!(
                "{}: {}",
                crate::model::variant_name(&e.purpose),
                e.destination
            );
            move_to(
                episode,
                Status::Absent,
                facility,
                None,
                Some(note),
                e.at,
                seq,
                rec,
            );
        }
        Event::AbsenceEnded(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            // Back to where the person was before the absence.
            let back = episode
                .stays
                .iter()
                .rev()
                .find(|s| s.status == Status::InCustody)
                .map(|s| (s.facility.clone(), s.cell.clone()))
                .unwrap_or((Some(episode.facility.clone()), None));
            move_to(
                episode,
                Status::InCustody,
                back.0,
                back.1,
                None,
                e.at,
                seq,
                rec,
            );
        }
        Event::TransferOrdered(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            episode.transfers.push(e.transfer.clone());
            let transfer = state
                .transfers
                .entry(e.transfer.clone())
                .or_insert_with(|| Transfer {
                    transfer: e.transfer.clone(),
                    to: e.to.clone(),
                    authority: e.authority.clone(),
                    reference: e.reference.clone(),
                    planned_at: e.planned_at,
                    register_nos: Vec::new(),
                    seq,
                });
            transfer.register_nos.push(e.register_no.clone());
        }
        Event::TransferDeparted(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            match &e.to {
                Destination::Facility { facility } => {
                    let note = Some(format!("to facility {facility}"));
                    move_to(episode, Status::InTransit, None, None, note, e.at, seq, rec);
                }
                Destination::Jurisdiction { .. } => {
                    let kind = EndKind::TransferredOut {
                        to: e.to.clone(),
                        transfer: e.transfer.clone(),
                    };
                    end_episode(episode, kind, e.at, seq, rec);
                }
            }
        }
        Event::TransferArrived(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            let facility = Some(e.facility.clone());
            move_to(
                episode,
                Status::InCustody,
                facility,
                e.cell.clone(),
                None,
                e.at,
                seq,
                rec,
            );
        }
        Event::ReleaseRecorded(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            let kind = EndKind::Released {
                reason: e.reason,
                authority: e.authority.clone(),
                reference: e.reference.clone(),
            };
            end_episode(episode, kind, e.at, seq, rec);
        }
        Event::DeathRecorded(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            let kind = EndKind::Died {
                place: e.place.clone(),
                circumstances: e.circumstances.clone(),
                cause: e.cause.clone(),
            };
            end_episode(episode, kind, e.at, seq, rec);
        }
        Event::EscapeRecorded(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            end_episode(episode, EndKind::Escaped, e.at, seq, rec);
        }
        Event::CourtOrderRecorded(e) => {
            if state.court_orders.contains_key(&e.order) {
                return Err(err(format!("court order {} is already recorded", e.order)));
            }
            state.court_orders.insert(
                e.order.clone(),
                CourtOrder {
                    order: e.order.clone(),
                    court: e.court.clone(),
                    case: e.case.clone(),
                    kind: e.kind,
                    issued_at: e.issued_at,
                    until: e.until,
                    applies_to: e.applies_to.clone(),
                    lifted_at: None,
                    seq,
                    recorded_at: rec,
                    lifted_recorded_at: None,
                },
            );
        }
        Event::CourtOrderLifted(e) => {
            let order = state
                .court_orders
                .get_mut(&e.order)
                .ok_or_else(|| err(format!("court order {} is not recorded", e.order)))?;
            order.lifted_at = Some(e.at);
            order.lifted_recorded_at = Some(rec);
        }
        Event::SeparationStarted(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            if episode.open_separation().is_some() {
                return Err(err(format!("{} is already in separation", e.register_no)));
            }
            episode.separations.push(Separation {
                from: e.at,
                until: None,
                reason: e.reason.clone(),
                authorized_by: e.authorized_by.clone(),
                seq,
                recorded_at: rec,
                until_recorded_at: None,
            });
        }
        Event::SeparationEnded(e) => {
            let episode = open_episode_mut(state, &e.register_no).map_err(err)?;
            let sep = episode
                .separations
                .last_mut()
                .filter(|s| s.until.is_none())
                .ok_or_else(|| err(format!("{} is not in separation", e.register_no)))?;
            sep.until = Some(e.at);
            sep.until_recorded_at = Some(rec);
        }
        Event::HealthRequested(e) => {
            if state.health_requests.contains_key(&e.request) {
                return Err(err(format!(
                    "health request {} is already recorded",
                    e.request
                )));
            }
            state.health_requests.insert(
                e.request.clone(),
                HealthRequestState {
                    request: e.request.clone(),
                    register_no: e.register_no.clone(),
                    at: e.at,
                    recorded_at: rec,
                    seq,
                    seen: None,
                },
            );
        }
        Event::HealthSeen(e) => {
            let request = state
                .health_requests
                .get_mut(&e.request)
                .filter(|r| r.seen.is_none())
                .ok_or_else(|| err(format!("health request {} is not open", e.request)))?;
            request.seen = Some(Seen {
                at: e.at,
                recorded_at: rec,
                seq,
            });
        }
        Event::IncidentRecorded(e) => {
            state.incidents.entry(e.incident.clone()).or_insert(seq);
        }
        Event::SettingsRecorded(e) => {
            state.settings = Some(Settings {
                at: e.at,
                national_population: e.national_population,
                country: e.country.clone(),
                limits: e.limits.clone(),
                publication_min_count: e.publication_min_count,
                seq,
            });
        }
        // Facts kept in their own tables by the store; they change no entity here
        // (`Event::changes_no_entity` names the same list; the store relies on it).
        Event::ExerciseRecorded(_)
        | Event::ContactRecorded(_)
        | Event::NotificationRecorded(_)
        | Event::HealthExamined(_)
        | Event::CountRecorded(_) => {}
        Event::AgreementRecorded(e) => {
            if state.agreements.contains_key(&e.agreement) {
                return Err(err(format!(
                    "agreement {} is already recorded",
                    e.agreement
                )));
            }
            state.agreements.insert(
                e.agreement.clone(),
                Agreement {
                    terms: e.clone(),
                    seq,
                },
            );
        }
    }
    Ok(())
}

fn open_episode_mut<'s>(
    state: &'s mut State,
    register_no: &RegisterNo,
) -> Result<&'s mut Episode, String> {
    let person = state
        .persons
        .get_mut(register_no)
        .ok_or_else(|| format!("person {register_no} is not in the state"))?;
    person
        .episodes
        .last_mut()
        .filter(|e| e.is_open())
        .ok_or_else(|| format!("person {register_no} has no open custody episode"))
}

/// Closes the current stay at `at` and opens the next one.
#[allow(clippy::too_many_arguments)] // one call per movement kind; a struct would only rename them
fn move_to(
    episode: &mut Episode,
    status: Status,
    facility: Option<FacilityCode>,
    cell: Option<CellPath>,
    note: Option<String>,
    at: Timestamp,
    seq: u64,
    recorded_at: Timestamp,
) {
    if let Some(current) = episode.stays.last_mut() {
        current.until = Some(at);
        current.until_recorded_at = Some(recorded_at);
    }
    episode.stays.push(Stay {
        status,
        facility,
        cell,
        from: at,
        until: None,
        note,
        seq,
        recorded_at,
        until_recorded_at: None,
    });
}

fn end_episode(
    episode: &mut Episode,
    kind: EndKind,
    at: Timestamp,
    seq: u64,
    recorded_at: Timestamp,
) {
    if let Some(current) = episode.stays.last_mut() {
        current.until = Some(at);
        current.until_recorded_at = Some(recorded_at);
    }
    if let Some(sep) = episode.separations.last_mut()
        && sep.until.is_none()
    {
        // Leaving custody ends a separation.
        sep.until = Some(at);
        sep.until_recorded_at = Some(recorded_at);
    }
    episode.end = Some(EpisodeEnd {
        at,
        kind,
        seq,
        recorded_at,
    });
}
