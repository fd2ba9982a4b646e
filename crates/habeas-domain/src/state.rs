//! Current state: what `apply` derives from the log. The store persists it as current-state
//! tables and may hold only part of `persons` in memory (the persons a command names).

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::command::AgreementRecord;
use crate::ids::*;
use crate::model::*;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub facilities: BTreeMap<FacilityCode, Facility>,
    pub units: BTreeMap<UnitPath, Unit>,
    pub cells: BTreeMap<CellPath, Cell>,
    /// The persons known to this state. In the store it is a working set, loaded on demand.
    pub persons: HashMap<RegisterNo, Person>,
    pub court_orders: BTreeMap<OrderId, CourtOrder>,
    pub agreements: BTreeMap<AgreementId, Agreement>,
    pub transfers: BTreeMap<TransferId, Transfer>,
    /// Every health request by id, and whether it was seen.
    pub health_requests: BTreeMap<RequestId, HealthRequestState>,
    /// Every incident id, with the event that recorded it first.
    pub incidents: BTreeMap<IncidentId, u64>,
    /// The settings in force (the latest `settings.record`).
    pub settings: Option<Settings>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthRequestState {
    pub request: RequestId,
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub recorded_at: Timestamp,
    pub seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen: Option<Seen>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub at: Timestamp,
    pub recorded_at: Timestamp,
    pub seq: u64,
}

/// The register's settings (`settings.record`), as the checks and statistics read them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_population: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, f64>,
    /// Counts of people below this are suppressed in published statistics (never deaths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_min_count: Option<u64>,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facility {
    pub facility: FacilityCode,
    pub name: Text,
    pub authority: Text,
    pub timezone: Text,
    pub official_capacity: u32,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub unit: UnitPath,
    pub name: Text,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub cell: CellPath,
    pub places: u32,
    pub beds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
    pub seq: u64,
}

/// Where a person is, as one of the states `where` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    InCustody,
    Absent,
    InTransit,
    Released,
    TransferredOut,
    Deceased,
    Escaped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InCustody => "in_custody",
            Status::Absent => "absent",
            Status::InTransit => "in_transit",
            Status::Released => "released",
            Status::TransferredOut => "transferred_out",
            Status::Deceased => "deceased",
            Status::Escaped => "escaped",
        }
    }

    /// Still held by this register (in a facility, out temporarily, or in transit).
    pub fn is_held(self) -> bool {
        matches!(self, Status::InCustody | Status::Absent | Status::InTransit)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A period with one whereabouts: cut at every movement (DESIGN §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stay {
    /// `in_custody`, `absent` or `in_transit`.
    pub status: Status,
    /// The facility responsible for the person during the stay; none while in transit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facility: Option<FacilityCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellPath>,
    pub from: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Where an absence or a transit goes (`hospital: …`, `facility X`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The event that began the stay, and when the register learnt of it.
    pub seq: u64,
    pub recorded_at: Timestamp,
    /// When the register learnt of the stay's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_recorded_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalBasisEntry {
    pub at: Timestamp,
    pub legal_basis: LegalBasis,
    /// The legal status this record set, if it changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_status: Option<LegalStatus>,
    pub seq: u64,
    pub recorded_at: Timestamp,
}

/// A separation (solitary confinement) episode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Separation {
    pub from: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    pub reason: Text,
    pub authorized_by: Text,
    pub seq: u64,
    pub recorded_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_recorded_at: Option<Timestamp>,
}

/// How a custody episode ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EndKind {
    Released {
        reason: ReleaseReason,
        authority: Text,
        reference: Text,
    },
    TransferredOut {
        to: Destination,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer: Option<TransferId>,
    },
    Died {
        place: Text,
        circumstances: Text,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<Text>,
    },
    Escaped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpisodeEnd {
    pub at: Timestamp,
    #[serde(flatten)]
    pub kind: EndKind,
    pub seq: u64,
    pub recorded_at: Timestamp,
}

/// One custody episode: from admission to release (or death, escape, transfer out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Episode {
    pub number: u32,
    pub facility: FacilityCode,
    pub admitted_at: Timestamp,
    pub admission_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprived: Option<Deprivation>,
    /// The legal status now (the latest that a legal-basis record set, else at admission).
    pub legal_status: LegalStatus,
    pub admitted_legal_status: LegalStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legal_bases: Vec<LegalBasisEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodial_authority: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<AgreementId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactPerson>,
    pub stays: Vec<Stay>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfers: Vec<TransferId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub separations: Vec<Separation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<EpisodeEnd>,
}

impl Episode {
    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }

    pub fn current_stay(&self) -> Option<&Stay> {
        self.stays.last()
    }

    pub fn status(&self) -> Status {
        match &self.end {
            Some(end) => match end.kind {
                EndKind::Released { .. } => Status::Released,
                EndKind::TransferredOut { .. } => Status::TransferredOut,
                EndKind::Died { .. } => Status::Deceased,
                EndKind::Escaped => Status::Escaped,
            },
            None => self.stays.last().map_or(Status::InCustody, |s| s.status),
        }
    }

    /// The last time anything moved in this episode: a new fact about it cannot precede it.
    pub fn last_movement_at(&self) -> Timestamp {
        match (&self.end, self.stays.last()) {
            (Some(end), _) => end.at,
            (None, Some(stay)) => stay.from,
            (None, None) => self.admitted_at,
        }
    }

    /// The open separation, if any.
    pub fn open_separation(&self) -> Option<&Separation> {
        self.separations.last().filter(|s| s.until.is_none())
    }

    /// The stay at time `t`, if the episode covers it.
    pub fn stay_at(&self, t: Timestamp) -> Option<&Stay> {
        self.stays
            .iter()
            .rev()
            .find(|s| s.from <= t && s.until.is_none_or(|u| t < u))
    }

    /// When the person came to the facility that holds them now (the start of the run of
    /// stays in that facility, absences included).
    pub fn in_facility_since(&self) -> Option<Timestamp> {
        let facility = self.stays.last()?.facility.as_ref()?;
        let mut since = None;
        for stay in self.stays.iter().rev() {
            match &stay.facility {
                Some(f) if f == facility => since = Some(stay.from),
                _ => break,
            }
        }
        since
    }

    /// Does a legal basis of this episode carry this reference?
    pub fn held_under(&self, reference: &Text) -> bool {
        self.legal_bases
            .iter()
            .any(|b| &b.legal_basis.reference == reference)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub register_no: RegisterNo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    pub episodes: Vec<Episode>,
}

impl Person {
    /// The person as the register knew them at `t`: only facts that had happened by `t` and
    /// had been recorded by `t`. What is logged later is ignored, so findings at a past time
    /// are those that could have been seen then.
    pub fn as_known_at(&self, t: Timestamp) -> Option<Person> {
        self.as_of(t, t)
    }

    /// The person at `t` as the register knew them at `known` (≥ `t`): facts that happened
    /// by `t` and were recorded by `known`.
    pub fn as_of(&self, t: Timestamp, known: Timestamp) -> Option<Person> {
        self.clone().into_as_of(t, known)
    }

    /// [`Person::as_of`] without a copy.
    pub fn into_as_of(self, t: Timestamp, known: Timestamp) -> Option<Person> {
        let known = |at: Timestamp, recorded: Timestamp| at <= t && recorded <= known;
        let mut episodes = Vec::new();
        for mut e in self.episodes {
            let admitted_recorded = e.stays.first().map_or(e.admitted_at, |s| s.recorded_at);
            if !known(e.admitted_at, admitted_recorded) {
                break;
            }
            e.stays.retain(|s| known(s.from, s.recorded_at));
            if let Some(last) = e.stays.last_mut()
                && !last
                    .until
                    .zip(last.until_recorded_at)
                    .is_some_and(|(u, r)| known(u, r))
            {
                last.until = None;
                last.until_recorded_at = None;
            }
            // A legal basis counts from its `at`: one dated after `t` did not hold at `t`.
            e.legal_bases.retain(|b| known(b.at, b.recorded_at));
            e.legal_status = e
                .legal_bases
                .iter()
                .rev()
                .find_map(|b| b.legal_status)
                .unwrap_or(e.admitted_legal_status);
            e.separations.retain(|s| known(s.from, s.recorded_at));
            for s in &mut e.separations {
                if !s
                    .until
                    .zip(s.until_recorded_at)
                    .is_some_and(|(u, r)| known(u, r))
                {
                    s.until = None;
                    s.until_recorded_at = None;
                }
            }
            if e.end
                .as_ref()
                .is_some_and(|end| !known(end.at, end.recorded_at))
            {
                e.end = None;
            }
            episodes.push(e);
        }
        if episodes.is_empty() {
            return None;
        }
        Some(Person {
            register_no: self.register_no,
            identity: self.identity,
            episodes,
        })
    }

    /// The latest time anything in the file happened, and the latest time the register
    /// learnt of anything in it: at any `t` and `known` at or after them,
    /// [`Person::into_as_of`] changes nothing.
    pub fn last_change(&self) -> (Timestamp, Timestamp) {
        let mut at = Timestamp::MIN;
        let mut recorded = Timestamp::MIN;
        let mut see = |a: Timestamp, r: Timestamp| {
            at = at.max(a);
            recorded = recorded.max(r);
        };
        for e in &self.episodes {
            see(e.admitted_at, e.admitted_at);
            for s in &e.stays {
                see(s.from, s.recorded_at);
                if let (Some(u), Some(r)) = (s.until, s.until_recorded_at) {
                    see(u, r);
                }
            }
            for b in &e.legal_bases {
                see(b.at, b.recorded_at);
            }
            for s in &e.separations {
                see(s.from, s.recorded_at);
                if let (Some(u), Some(r)) = (s.until, s.until_recorded_at) {
                    see(u, r);
                }
            }
            if let Some(end) = &e.end {
                see(end.at, end.recorded_at);
            }
        }
        (at, recorded)
    }

    /// The person as the checks read them (`habeas_domain::checks`), without what no check
    /// reads: earlier episodes keep only how they ended, the open one drops the deprivation,
    /// contact persons, transfers and every separation but the last. The checks give the same
    /// findings for it as for the whole file.
    pub fn for_checks(&self) -> Person {
        let n = self.episodes.len();
        let episodes = self
            .episodes
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let last = i + 1 == n;
                Episode {
                    number: e.number,
                    facility: e.facility.clone(),
                    admitted_at: e.admitted_at,
                    admission_seq: e.admission_seq,
                    deprived: None,
                    legal_status: e.legal_status,
                    admitted_legal_status: e.admitted_legal_status,
                    legal_bases: if last {
                        e.legal_bases.clone()
                    } else {
                        Vec::new()
                    },
                    custodial_authority: None,
                    agreement: None,
                    contacts: Vec::new(),
                    stays: if last { e.stays.clone() } else { Vec::new() },
                    transfers: Vec::new(),
                    separations: if last {
                        e.separations.last().cloned().into_iter().collect()
                    } else {
                        Vec::new()
                    },
                    end: e.end.clone(),
                }
            })
            .collect();
        Person {
            register_no: self.register_no.clone(),
            identity: self.identity.clone(),
            episodes,
        }
    }

    pub fn current_episode(&self) -> Option<&Episode> {
        self.episodes.last()
    }

    pub fn open_episode(&self) -> Option<&Episode> {
        self.episodes.last().filter(|e| e.is_open())
    }

    pub fn status(&self) -> Status {
        self.current_episode()
            .map_or(Status::Released, Episode::status)
    }

    /// Where the person is now, as `where` reports it.
    pub fn whereabouts(&self) -> Option<Whereabouts> {
        let episode = self.current_episode()?;
        let status = episode.status();
        let (facility, cell, since, note) = match &episode.end {
            Some(end) => (None, None, end.at, None),
            None => {
                let stay = episode.current_stay()?;
                (
                    stay.facility.clone(),
                    stay.cell.clone(),
                    stay.from,
                    stay.note.clone(),
                )
            }
        };
        Some(Whereabouts {
            register_no: self.register_no.clone(),
            status,
            unit: cell.as_ref().map(CellPath::unit_path),
            facility,
            cell,
            since,
            episode: episode.number,
            note,
            custodial_authority: episode.custodial_authority.clone(),
        })
    }
}

/// The answer to "where is this person now?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whereabouts {
    pub register_no: RegisterNo,
    pub status: Status,
    pub facility: Option<FacilityCode>,
    pub unit: Option<UnitPath>,
    pub cell: Option<CellPath>,
    pub since: Timestamp,
    pub episode: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodial_authority: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourtOrder {
    pub order: OrderId,
    pub court: Text,
    pub case: Text,
    pub kind: CourtOrderKind,
    pub issued_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    pub applies_to: AppliesTo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted_at: Option<Timestamp>,
    pub seq: u64,
    pub recorded_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted_recorded_at: Option<Timestamp>,
}

impl CourtOrder {
    /// The order as the register knew it at `t`: `None` if it was not yet recorded; a lift
    /// recorded later is ignored.
    pub fn as_known_at(&self, t: Timestamp) -> Option<CourtOrder> {
        if self.recorded_at > t {
            return None;
        }
        let mut o = self.clone();
        if o.lifted_recorded_at.is_some_and(|r| r > t) {
            o.lifted_at = None;
            o.lifted_recorded_at = None;
        }
        Some(o)
    }

    /// In force from issue until lifted or its `until`, whichever comes first.
    pub fn in_force_at(&self, t: Timestamp) -> bool {
        self.issued_at <= t
            && self.until.is_none_or(|u| t < u)
            && self.lifted_at.is_none_or(|l| t < l)
    }

    /// Does the order name this person, or everyone held under one of their legal bases?
    pub fn applies_to(&self, register_no: &RegisterNo, episode: Option<&Episode>) -> bool {
        match &self.applies_to {
            AppliesTo::RegisterNos { register_nos } => register_nos.contains(register_no),
            AppliesTo::LegalBasisReference {
                legal_basis_reference,
            } => episode.is_some_and(|e| e.held_under(legal_basis_reference)),
        }
    }

    /// How a refusal or a finding names the order.
    pub fn describe(&self) -> String {
        let kind = crate::model::variant_name(&self.kind);
        format!(
            "court order {} ({kind}) of {}, case {}, issued {} (event {})",
            self.order, self.court, self.case, self.issued_at, self.seq
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    #[serde(flatten)]
    pub terms: AgreementRecord,
    pub seq: u64,
}

impl Agreement {
    pub fn in_force_on(&self, d: Date) -> bool {
        self.terms.from <= d && d <= self.terms.until
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub transfer: TransferId,
    pub to: Destination,
    pub authority: Text,
    pub reference: Text,
    pub planned_at: Timestamp,
    pub register_nos: Vec<RegisterNo>,
    pub seq: u64,
}
