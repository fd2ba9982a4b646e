//! Read-only questions to the register: where is this person, their whole file, the population.

use std::collections::BTreeMap;

use crate::db::{Row, params};
use habeas_domain::*;
use jiff::Timestamp;
use serde::Serialize;

use crate::error::StoreError;
use crate::store::Store;

/// One event of a person's file.
#[derive(Debug, Clone, Serialize)]
pub struct FileEvent {
    pub seq: u64,
    pub recorded_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<Text>,
    pub event: Event,
}

/// A person's whole file: who they are, where they are, every episode and every event.
#[derive(Debug, Clone, Serialize)]
pub struct PersonFile {
    pub register_no: RegisterNo,
    pub whereabouts: Option<Whereabouts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<habeas_domain::model::Identity>,
    pub episodes: Vec<Episode>,
    pub events: Vec<FileEvent>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UnitPopulation {
    pub unit: String,
    pub name: Option<String>,
    pub cells: u64,
    pub places: u64,
    pub beds: u64,
    /// In a cell of this unit.
    pub held: u64,
    /// Percentage of places taken (`held / places`), when the unit has places.
    pub occupancy_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FacilityPopulation {
    pub facility: String,
    pub name: String,
    pub official_capacity: u64,
    /// Held by the facility: in its cells, not yet placed, or temporarily absent.
    pub held: u64,
    pub absent: u64,
    /// Admitted but not (yet) placed in a cell.
    pub unplaced: u64,
    pub occupancy_pct: Option<f64>,
    pub units: Vec<UnitPopulation>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Population {
    /// The time the figures are for (absent: now).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// The world a past time is read in (`known_now` or `as_recorded`; the same now).
    pub view: View,
    /// Everyone held by the register: in facilities, absent, or in transit.
    pub total: u64,
    pub in_transit: u64,
    pub facilities: Vec<FacilityPopulation>,
}

/// Persons held by (facility, unit, status); unit empty when not in a cell.
type Counts = BTreeMap<(Option<String>, Option<String>, String), u64>;

fn pct(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| ((n as f64) * 1000.0 / (d as f64)).round() / 10.0)
}

impl Store {
    /// Where the person is now; `None` if the register has never held them.
    pub fn whereabouts(&self, register_no: &RegisterNo) -> Result<Option<Whereabouts>, StoreError> {
        Ok(self.person(register_no)?.and_then(|p| p.whereabouts()))
    }

    /// The person as the current-state tables hold them.
    pub fn person(&self, register_no: &RegisterNo) -> Result<Option<Person>, StoreError> {
        crate::store::read_person(&self.conn, register_no)
    }

    /// The person's whole file, with every event about them in log order.
    pub fn person_file(&self, register_no: &RegisterNo) -> Result<Option<PersonFile>, StoreError> {
        let Some(person) = self.person(register_no)? else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, record FROM events WHERE subject = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([register_no.as_str()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let events = rows
            .map(|row| {
                let (seq, record) = row?;
                file_event(seq, &record)
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(PersonFile {
            register_no: person.register_no.clone(),
            whereabouts: person.whereabouts(),
            identity: person.identity.clone(),
            episodes: person.episodes,
            events,
        }))
    }

    /// Population by facility and unit, now or at a past time, with capacity and occupancy.
    /// At a past time in the audit view, a stay counts only if it had been recorded by then,
    /// and its end only if that had been recorded by then.
    pub fn population(&self, at: Option<Timestamp>, view: View) -> Result<Population, StoreError> {
        self.check_not_damaged()?;
        let mut counts: Counts = BTreeMap::new();
        {
            let (sql, at_us) = match at {
                None => (
                    "SELECT facility, unit, status, count(*) FROM persons
                     WHERE status IN ('in_custody', 'absent', 'in_transit')
                     GROUP BY facility, unit, status",
                    None,
                ),
                Some(t) if view == View::KnownNow => (
                    "SELECT facility, unit, status, count(*) FROM stays
                     WHERE from_us <= ?1 AND (until_us IS NULL OR until_us > ?1)
                     GROUP BY facility, unit, status",
                    Some(t.as_microsecond()),
                ),
                Some(t) => (
                    "SELECT facility, unit, status, count(*) FROM stays
                     WHERE from_us <= ?1 AND recorded_us <= ?1
                     AND (until_us IS NULL OR until_us > ?1 OR until_recorded_us > ?1)
                     GROUP BY facility, unit, status",
                    Some(t.as_microsecond()),
                ),
            };
            let mut stmt = self.conn.prepare(sql)?;
            let mut rows = match at_us {
                None => stmt.query([])?,
                Some(t) => stmt.query(params![t])?,
            };
            while let Some(r) = rows.next()? {
                let n: i64 = r.get(3)?;
                counts.insert(
                    (r.get(0)?, r.get(1)?, r.get(2)?),
                    u64::try_from(n).unwrap_or(0),
                );
            }
        }
        Ok(self.assemble_population(at, view, &counts))
    }

    /// The population at each of `ends` (ascending or not), from one read of the stays that
    /// overlap them: what [`Store::population`] gives at each, for the month-end series of the
    /// dashboard and the statistics page without one scan per month.
    pub fn population_series(
        &self,
        ends: &[Timestamp],
        view: View,
    ) -> Result<Vec<Population>, StoreError> {
        self.check_not_damaged()?;
        let (Some(first), Some(last)) = (ends.iter().min(), ends.iter().max()) else {
            return Ok(Vec::new());
        };
        let ends_us: Vec<i64> = ends.iter().map(|t| t.as_microsecond()).collect();
        // Places are interned: a national register has millions of stays in a few thousand.
        let mut places: BTreeMap<(Option<String>, Option<String>, String), usize> = BTreeMap::new();
        let mut per_end: Vec<Vec<u64>> = vec![Vec::new(); ends.len()];
        {
            let mut stmt = self.conn.prepare(
                "SELECT facility, unit, status, from_us, until_us, recorded_us, until_recorded_us
                 FROM stays
                 WHERE from_us <= ?2
                 AND (until_us IS NULL OR until_us > ?1 OR until_recorded_us > ?1)",
            )?;
            let mut rows = stmt.query(params![first.as_microsecond(), last.as_microsecond()])?;
            let mut key: (Option<String>, Option<String>, String) = (None, None, String::new());
            let mut index = 0;
            while let Some(r) = rows.next()? {
                let place: (Option<String>, Option<String>, String) =
                    (r.get(0)?, r.get(1)?, r.get(2)?);
                if place != key || places.is_empty() {
                    let next = places.len();
                    index = *places.entry(place.clone()).or_insert(next);
                    key = place;
                }
                let from: i64 = r.get(3)?;
                let until: Option<i64> = r.get(4)?;
                let recorded: i64 = r.get(5)?;
                let until_recorded: Option<i64> = r.get(6)?;
                for (i, &t) in ends_us.iter().enumerate() {
                    let held = match view {
                        View::KnownNow => from <= t && until.is_none_or(|u| u > t),
                        View::AsRecorded => {
                            from <= t
                                && recorded <= t
                                && (until.is_none_or(|u| u > t)
                                    || until_recorded.is_some_and(|r| r > t))
                        }
                    };
                    if held {
                        let counts = &mut per_end[i];
                        if counts.len() <= index {
                            counts.resize(index + 1, 0);
                        }
                        counts[index] += 1;
                    }
                }
            }
        }
        let by_index: Vec<&(Option<String>, Option<String>, String)> = {
            let mut v: Vec<_> = places.iter().collect();
            v.sort_by_key(|(_, i)| **i);
            v.into_iter().map(|(k, _)| k).collect()
        };
        Ok(ends
            .iter()
            .zip(per_end)
            .map(|(t, n)| {
                let counts: Counts = n
                    .into_iter()
                    .enumerate()
                    .filter(|(_, c)| *c > 0)
                    .map(|(i, c)| (by_index[i].clone(), c))
                    .collect();
                self.assemble_population(Some(*t), view, &counts)
            })
            .collect())
    }

    /// [`Population`] from counts by (facility, unit, status), with the places of the state.
    fn assemble_population(
        &self,
        at: Option<Timestamp>,
        view: View,
        counts: &Counts,
    ) -> Population {
        let state = self.state();
        let mut facilities = Vec::new();
        let mut total = 0;
        let mut in_transit = 0;
        for ((facility, _, status), n) in counts {
            total += n;
            if status == "in_transit" || facility.is_none() {
                in_transit += n;
            }
        }
        for (code, f) in &state.facilities {
            let mut fp = FacilityPopulation {
                facility: code.to_string(),
                name: f.name.to_string(),
                official_capacity: u64::from(f.official_capacity),
                held: 0,
                absent: 0,
                unplaced: 0,
                occupancy_pct: None,
                units: Vec::new(),
            };
            for ((fac, unit, status), n) in counts {
                if fac.as_deref() != Some(code.as_str()) {
                    continue;
                }
                fp.held += n;
                match (status.as_str(), unit) {
                    ("absent", _) => fp.absent += n,
                    (_, None) => fp.unplaced += n,
                    _ => {}
                }
            }
            for (path, unit) in state.units.iter().filter(|(p, _)| &p.facility == code) {
                let key = path.to_string();
                let (mut cells, mut places, mut beds) = (0, 0, 0);
                for cell in state.cells.values().filter(|c| c.cell.unit_path() == *path) {
                    cells += 1;
                    places += u64::from(cell.places);
                    beds += u64::from(cell.beds);
                }
                let held = counts
                    .iter()
                    .filter(|((_, u, s), _)| {
                        u.as_deref() == Some(key.as_str()) && s == "in_custody"
                    })
                    .map(|(_, n)| n)
                    .sum();
                fp.units.push(UnitPopulation {
                    unit: key,
                    name: Some(unit.name.to_string()),
                    cells,
                    places,
                    beds,
                    held,
                    occupancy_pct: pct(held, places),
                });
            }
            fp.occupancy_pct = pct(fp.held, fp.official_capacity);
            facilities.push(fp);
        }
        Population {
            at,
            view,
            total,
            in_transit,
            facilities,
        }
    }
}

/// One answer of a search by name or register number.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PersonHit {
    pub register_no: String,
    pub given_names: Option<String>,
    pub family_names: Option<String>,
    pub date_of_birth: Option<String>,
    pub status: String,
    pub facility: Option<String>,
    pub cell: Option<String>,
}

/// A `PersonHit` from the columns register_no, given_names, family_names, date_of_birth,
/// status, facility, cell.
pub(crate) fn person_hit(r: &Row<'_>) -> Result<PersonHit, StoreError> {
    Ok(PersonHit {
        register_no: r.get(0)?,
        given_names: r.get(1)?,
        family_names: r.get(2)?,
        date_of_birth: r.get(3)?,
        status: r.get(4)?,
        facility: r.get(5)?,
        cell: r.get(6)?,
    })
}

impl Store {
    /// Persons whose register number is `q`, or whose family or given names start with `q`
    /// (case-insensitive for ASCII), at most `limit`.
    pub fn search_persons(&self, q: &str, limit: usize) -> Result<Vec<PersonHit>, StoreError> {
        let escaped: String = q
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT register_no, given_names, family_names, date_of_birth, status, facility, cell
             FROM persons WHERE register_no = ?1
                OR family_names LIKE ?2 ESCAPE '\\' OR given_names LIKE ?2 ESCAPE '\\'
             ORDER BY family_names, given_names, register_no LIMIT ?3",
        )?;
        let rows = stmt.query_map(
            params![q, format!("{escaped}%"), i64::try_from(limit).unwrap_or(50)],
            person_hit,
        )?;
        rows.collect::<Result<_, _>>()
    }

    /// The person with exactly these family names and date of birth, if exactly one.
    pub fn find_by_identity(
        &self,
        family_names: &str,
        date_of_birth: &str,
    ) -> Result<Vec<PersonHit>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT register_no, given_names, family_names, date_of_birth, status, facility, cell
             FROM persons WHERE lower(family_names) = lower(?1) AND date_of_birth = ?2 LIMIT 2",
        )?;
        let rows = stmt.query_map(params![family_names, date_of_birth], person_hit)?;
        rows.collect::<Result<_, _>>()
    }
}

/// The log's answers for the public locator when the current-state tables have no row for a
/// person (they were damaged; `verify` names how): the locator never says "no record" of
/// someone the log holds.
impl Store {
    /// Whereabouts replayed from the person's own events (index `events_subject`) over this
    /// register's places and agreements; `None` when the log holds no event about them.
    pub fn whereabouts_from_log(
        &self,
        register_no: &RegisterNo,
    ) -> Result<Option<Whereabouts>, StoreError> {
        let now = self.state();
        // Places, agreements and settings are not events of the person; everything of the
        // person's (orders, transfers, requests, incidents) comes back with their events.
        let mut state = State {
            facilities: now.facilities.clone(),
            units: now.units.clone(),
            cells: now.cells.clone(),
            agreements: now.agreements.clone(),
            settings: now.settings.clone(),
            ..State::default()
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, record FROM events WHERE subject = ?1 ORDER BY seq")?;
        let rows = stmt.query_map([register_no.as_str()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut any = false;
        for row in rows {
            let (seq, record) = row?;
            let seq = u64::try_from(seq).unwrap_or(0);
            let recorded = Recorded::from_json(&record).map_err(|e| StoreError::Corrupt {
                seq,
                detail: format!("record does not parse: {e}"),
            })?;
            habeas_domain::apply(&mut state, &recorded).map_err(|e| StoreError::Corrupt {
                seq,
                detail: e.to_string(),
            })?;
            any = true;
        }
        if !any {
            return Ok(None);
        }
        Ok(state.persons.get(register_no).and_then(Person::whereabouts))
    }

    /// Register numbers whose admission in the log names these family names (any case) and
    /// date of birth, at most two; a scan of the admissions, so only for a table's miss.
    pub fn find_by_identity_in_log(
        &self,
        family_names: &str,
        date_of_birth: &str,
    ) -> Result<Vec<RegisterNo>, StoreError> {
        // The canonical record has no white space: a cheap filter before parsing.
        let needle = format!("\"date_of_birth\":\"{date_of_birth}\"");
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, record FROM events WHERE type = 'admission.recorded' AND instr(record, ?1) > 0 ORDER BY seq",
        )?;
        let rows = stmt.query_map([needle.as_str()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        let wanted = family_names.trim().to_lowercase();
        let mut found: Vec<RegisterNo> = Vec::new();
        for row in rows {
            let (seq, record) = row?;
            let recorded = Recorded::from_json(&record).map_err(|e| StoreError::Corrupt {
                seq: u64::try_from(seq).unwrap_or(0),
                detail: format!("record does not parse: {e}"),
            })?;
            if let Event::AdmissionRecorded(a) = &recorded.event
                && let Some(person) = &a.person
                && person.family_names.as_str().trim().to_lowercase() == wanted
                && person.date_of_birth.map(|d| d.to_string()).as_deref() == Some(date_of_birth)
                && !found.contains(&a.register_no)
            {
                found.push(a.register_no.clone());
                if found.len() == 2 {
                    break;
                }
            }
        }
        Ok(found)
    }
}

impl Store {
    /// The facility responsible for a person now, or the last one that held them.
    pub fn person_facility(
        &self,
        register_no: &RegisterNo,
    ) -> Result<Option<FacilityCode>, StoreError> {
        Ok(self.person(register_no)?.and_then(|p| {
            let e = p.current_episode()?;
            e.stays
                .iter()
                .rev()
                .find_map(|s| s.facility.clone())
                .or_else(|| Some(e.facility.clone()))
        }))
    }
}

/// A row of `events` (`seq`, `record`) as an entry of a file or a list of movements.
pub(crate) fn file_event(seq: i64, record: &str) -> Result<FileEvent, StoreError> {
    let seq = u64::try_from(seq).unwrap_or(0);
    let r = Recorded::from_json(record).map_err(|e| StoreError::Corrupt {
        seq,
        detail: format!("record does not parse: {e}"),
    })?;
    Ok(FileEvent {
        seq,
        recorded_at: r.recorded_at,
        actor: r.actor,
        event: r.event,
    })
}
