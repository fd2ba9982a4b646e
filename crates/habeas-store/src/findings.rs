//! Builds the checks' [`Snapshot`] of the register as known at a time, with one query per
//! kind of fact and only the window each check needs, then runs `habeas_domain::checks`.

use std::collections::HashMap;

use crate::db::{OptionalExtension, Rows, params};
use habeas_domain::checks::*;
use habeas_domain::model::{LegalStatus, NotifyTo};
use habeas_domain::*;
use jiff::{SignedDuration, Timestamp};

use crate::error::StoreError;
use crate::store::Store;

/// Which findings to return.
#[derive(Debug, Clone, Default)]
pub struct FindingsFilter {
    pub check: Option<String>,
    pub facility: Option<FacilityCode>,
    /// Evaluate a past date with everything recorded until now, not only what was recorded
    /// by then.
    pub known_now: bool,
}

fn ts(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn notification_fact(
    at_us: i64,
    to: String,
    about: String,
    declined: bool,
    seq: i64,
) -> Option<NotificationFact> {
    Some(NotificationFact {
        at: ts(at_us),
        to: serde_json::from_value(serde_json::Value::String(to)).ok()?,
        about: serde_json::from_value(serde_json::Value::String(about)).ok()?,
        declined_by_person: declined,
        seq: seq_of(seq),
    })
}

/// Parses person files on all cores and keeps each as known at `known` about `at`.
fn parse_persons(
    raw: &[(String, String)],
    at: Timestamp,
    known: Timestamp,
) -> Result<Vec<Person>, StoreError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = raw.len().div_ceil(threads).max(1);
    let parsed: Vec<Result<Vec<Person>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = raw
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for (key, data) in part {
                        let person = serde_json::from_str::<Person>(data).map_err(|e| {
                            StoreError::CorruptRow {
                                table: "persons",
                                key: key.clone(),
                                detail: e.to_string(),
                            }
                        })?;
                        if let Some(p) = person.into_as_of(at, known) {
                            out.push(p);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(StoreError::Ledger(
                        "a worker parsing person files panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(raw.len());
    for part in parsed {
        out.extend(part?);
    }
    Ok(out)
}

fn seq_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// Every open finding at `at` (now if `None`), as the register knew it then: events
    /// recorded after `at` are ignored.
    pub fn findings(
        &self,
        at: Option<Timestamp>,
        filter: &FindingsFilter,
    ) -> Result<Vec<Finding>, StoreError> {
        self.check_not_damaged()?;
        let at = at.unwrap_or_else(|| self.now());
        self.conn.begin_read()?;
        let known = if filter.known_now {
            self.now().max(at)
        } else {
            at
        };
        let snapshot = self.snapshot(at, known, None);
        // The snapshot's error first: it is the cause of a failed COMMIT.
        let end = self.conn.execute_batch("COMMIT");
        let snapshot = snapshot?;
        end?;
        let mut findings = evaluate(&snapshot);
        if let Some(check) = &filter.check {
            findings.retain(|f| f.check == check);
        }
        if let Some(facility) = &filter.facility {
            findings.retain(|f| f.facility.as_deref() == Some(facility.as_str()));
        }
        Ok(findings)
    }

    /// The open findings about one person now: their own, and those of the cell they are in.
    pub fn person_findings(&self, register_no: &RegisterNo) -> Result<Vec<Finding>, StoreError> {
        self.check_not_damaged()?;
        let at = self.now();
        let snapshot = self.snapshot(at, at, Some(register_no))?;
        let cell = snapshot
            .persons
            .iter()
            .find(|p| &p.person.register_no == register_no)
            .and_then(|p| p.person.open_episode())
            .and_then(|e| e.current_stay())
            .and_then(|s| s.cell.clone());
        let mut findings = evaluate(&snapshot);
        findings.retain(|f| match f.subject_kind {
            SubjectKind::Person => f.subject == register_no.as_str(),
            SubjectKind::Cell => cell.as_ref().is_some_and(|c| f.subject == c.to_string()),
            SubjectKind::Register => true,
            _ => false,
        });
        Ok(findings)
    }

    /// The register as known at `at`. With `only`, just that person and their cell mates.
    ///
    /// `known` is the time of knowledge: facts recorded after it are ignored. Findings at a
    /// past date use `known = at` (what could be seen then); `known = now` reconstructs a past
    /// date from everything recorded since (e.g. after importing history).
    pub fn snapshot(
        &self,
        at: Timestamp,
        known: Timestamp,
        only: Option<&RegisterNo>,
    ) -> Result<Snapshot, StoreError> {
        let known = known.max(at);
        let t = at.as_microsecond();
        let k = known.as_microsecond();
        let state = self.state();
        let mut s = Snapshot {
            at,
            ..Snapshot::default()
        };

        // Settings in force at T.
        let settings: Option<String> = self
            .conn
            .query_row(
                "SELECT data FROM settings WHERE at_us <= ?1 AND recorded_us <= ?2
                 ORDER BY at_us DESC, seq DESC LIMIT 1",
                [t, k],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(settings) = settings.and_then(|d| serde_json::from_str::<Settings>(&d).ok()) {
            s.limits = Limits::new(settings.limits);
            s.country = settings.country;
        }
        s.facilities = state.facilities.values().cloned().collect();
        s.cells = state.cells.values().cloned().collect();
        s.court_orders = state
            .court_orders
            .values()
            .filter_map(|o| o.as_known_at(known))
            .collect();

        // Who was held at T, with the daily facts their checks need. For the whole register
        // each kind of fact is read in one range scan; for one person (and their cell mates)
        // by index lookups.
        let window =
            SignedDuration::try_from_secs_f64(s.limits.get("no-family-contact.days") * 86_400.0)
                .unwrap_or(SignedDuration::MAX);
        let contact_window_start = at.checked_sub(window).unwrap_or(at).as_microsecond();
        let mut held = Vec::new();
        for person in self.persons_held_at((t, k), only, (at, known))? {
            let Some(episode) = person.open_episode() else {
                continue;
            };
            if episode.stay_at(at).is_none() {
                continue;
            }
            let admitted = episode.admitted_at.as_microsecond();
            held.push((person, admitted));
        }
        let since = held.iter().map(|(_, a)| *a).min().unwrap_or(t);
        let scope = only.map(|_| {
            held.iter()
                .map(|(p, _)| p.register_no.to_string())
                .collect::<Vec<_>>()
        });
        let recent_family = self.recent_family_contacts((t, k), contact_window_start, only)?;
        let exams = self.facts_by_person(
            "SELECT register_no, at_us, seq FROM health_exams
             WHERE at_us >= ?1 AND at_us <= ?2 AND recorded_us <= ?3",
            since,
            (t, k),
            scope.as_deref(),
        )?;
        let legal_visits = self.facts_by_person(
            "SELECT register_no, at_us, seq FROM contacts INDEXED BY contacts_kind_at
             WHERE kind = 'legal_visit' AND at_us >= ?1 AND at_us <= ?2 AND recorded_us <= ?3",
            since,
            (t, k),
            scope.as_deref(),
        )?;
        let mut notifications = self.notifications_since(since, (t, k), scope.as_deref())?;
        for (person, admitted) in held {
            let r = &person.register_no;
            let Some(episode) = person.open_episode() else {
                continue;
            };
            let last_family_contact = match recent_family.get(r.as_str()) {
                Some(&(at_us, seq)) => Some((ts(at_us), seq_of(seq))),
                None if admitted < contact_window_start => {
                    self.last_family_contact_before(r, contact_window_start, k)?
                }
                None => None,
            };
            let first_since = |facts: &HashMap<String, Vec<(i64, i64)>>| {
                facts.get(r.as_str()).and_then(|v| {
                    v.iter()
                        .filter(|(at_us, _)| *at_us >= admitted)
                        .min()
                        .map(|&(at_us, seq)| (ts(at_us), seq_of(seq)))
                })
            };
            let legal_visit_since_admission = if episode.legal_status == LegalStatus::Remand {
                first_since(&legal_visits)
            } else {
                None
            };
            let exam_since_admission = first_since(&exams);
            let notifications = notifications
                .remove(r.as_str())
                .unwrap_or_default()
                .into_iter()
                .filter(|n| n.at.as_microsecond() >= admitted)
                .collect();
            s.persons.push(PersonFacts {
                person,
                last_family_contact,
                legal_visit_since_admission,
                exam_since_admission,
                notifications,
            });
        }

        // Departures that can be against an order still in force (the domain says which).
        if let Some(from) = departures_relevant_from(&s.court_orders, at) {
            let from = from.as_microsecond();
            let mut stmt = self.conn.prepare_cached(
                "SELECT register_no, at_us, seq, data FROM departures INDEXED BY departures_at
                 WHERE at_us >= ?3 AND at_us <= ?1 AND recorded_us <= ?2",
            )?;
            let mut rows = stmt.query([t, k, from])?;
            while let Some(row) = rows.next()? {
                let r: String = row.get(0)?;
                if only.is_some_and(|o| o.as_str() != r) {
                    continue;
                }
                let data: serde_json::Value =
                    serde_json::from_str(&row.get::<_, String>(3)?).unwrap_or_default();
                let Ok(register_no) = RegisterNo::parse(&r) else {
                    continue;
                };
                s.departures.push(Departure {
                    register_no,
                    at: ts(row.get(1)?),
                    seq: seq_of(row.get(2)?),
                    to: data["to"].as_str().unwrap_or_default().to_owned(),
                    legal_basis_references: data["legal_basis_references"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().and_then(|s| Text::parse(s).ok()))
                                .collect()
                        })
                        .unwrap_or_default(),
                });
            }
        }

        if only.is_none() {
            self.roll_counts(&mut s, (t, k))?;
        }
        self.late_records(&mut s, (t, k))?;
        if let Some(r) = only {
            s.late_records.retain(|l| l.subject.as_ref() == Some(r));
        }
        self.deaths(&mut s, (t, k), only)?;
        s.open_requests = state
            .health_requests
            .values()
            .filter(|r| r.at <= at && r.recorded_at <= known)
            .filter(|r| {
                !r.seen
                    .as_ref()
                    .is_some_and(|seen| seen.at <= at && seen.recorded_at <= known)
            })
            .filter(|r| only.is_none_or(|o| o == &r.register_no))
            .map(|r| OpenRequest {
                request: r.request.clone(),
                register_no: r.register_no.clone(),
                at: r.at,
                seq: r.seq,
            })
            .collect();
        self.injuries(&mut s, (t, k), only)?;
        self.exercise(&mut s, (t, k))?;
        if only.is_none()
            && let Err(e) = self.latest_checkpoint_verifies()
        {
            s.log_problem = Some((None, e));
        }
        Ok(s)
    }

    /// Everyone held at `t` as known at `k` (stays open at `t`, ending after it, or whose end
    /// was recorded after `k`), read in one statement. With `only`, that person and whoever
    /// shares their cell.
    fn persons_held_at(
        &self,
        (t, k): (i64, i64),
        only: Option<&RegisterNo>,
        (at, known): (Timestamp, Timestamp),
    ) -> Result<Vec<Person>, StoreError> {
        // Rows are parsed a block at a time (on all cores), so the raw JSON of only one block
        // is in memory at once.
        const BLOCK: usize = 8192;
        let mut out = Vec::new();
        let mut raw: Vec<(String, String)> = Vec::with_capacity(BLOCK);
        let mut read = |rows: &mut Rows<'_>| -> Result<(), StoreError> {
            while let Some(row) = rows.next()? {
                raw.push((row.get(0)?, row.get(1)?));
                if raw.len() == BLOCK {
                    out.extend(parse_persons(&raw, at, known)?);
                    raw.clear();
                }
            }
            out.extend(parse_persons(&raw, at, known)?);
            raw.clear();
            Ok(())
        };
        match only {
            Some(r) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT register_no, data FROM persons WHERE register_no = ?1
                     UNION SELECT register_no, data FROM persons
                     WHERE cell = (SELECT cell FROM persons WHERE register_no = ?1)",
                )?;
                read(&mut stmt.query([r.as_str()])?)?;
            }
            None => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT register_no, data FROM persons WHERE register_no IN (
                       SELECT register_no FROM stays WHERE until_us IS NULL AND from_us <= ?1 AND recorded_us <= ?2
                       UNION SELECT register_no FROM stays WHERE until_us > ?1 AND from_us <= ?1 AND recorded_us <= ?2
                       UNION SELECT register_no FROM stays WHERE until_recorded_us > ?2 AND from_us <= ?1 AND recorded_us <= ?2)",
                )?;
                read(&mut stmt.query([t, k])?)?;
            }
        }
        Ok(out)
    }

    /// (at, seq) of facts per person from one range scan; with `scope`, only those persons.
    fn facts_by_person(
        &self,
        sql: &str,
        since: i64,
        (t, k): (i64, i64),
        scope: Option<&[String]>,
    ) -> Result<HashMap<String, Vec<(i64, i64)>>, StoreError> {
        let mut out: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![since, t, k])?;
        while let Some(row) = rows.next()? {
            let r: String = row.get(0)?;
            if scope.is_some_and(|s| !s.contains(&r)) {
                continue;
            }
            out.entry(r).or_default().push((row.get(1)?, row.get(2)?));
        }
        Ok(out)
    }

    /// Notifications per person from `since` on, from one range scan.
    fn notifications_since(
        &self,
        since: i64,
        (t, k): (i64, i64),
        scope: Option<&[String]>,
    ) -> Result<HashMap<String, Vec<NotificationFact>>, StoreError> {
        let mut out: HashMap<String, Vec<NotificationFact>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT register_no, at_us, to_whom, about, declined, seq FROM notifications INDEXED BY notifications_at
             WHERE at_us >= ?1 AND at_us <= ?2 AND recorded_us <= ?3",
        )?;
        let mut rows = stmt.query(params![since, t, k])?;
        while let Some(row) = rows.next()? {
            let r: String = row.get(0)?;
            if scope.is_some_and(|s| !s.contains(&r)) {
                continue;
            }
            if let Some(n) = notification_fact(
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
            ) {
                out.entry(r).or_default().push(n);
            }
        }
        Ok(out)
    }

    /// The latest family contact of each person inside the window (one range scan).
    fn recent_family_contacts(
        &self,
        (t, k): (i64, i64),
        from: i64,
        only: Option<&RegisterNo>,
    ) -> Result<HashMap<String, (i64, i64)>, StoreError> {
        let mut out: HashMap<String, (i64, i64)> = HashMap::new();
        let sql = if only.is_some() {
            "SELECT register_no, at_us, seq FROM contacts WHERE register_no = ?4 AND at_us > ?2 AND at_us <= ?1
             AND recorded_us <= ?3 AND kind IN ('family_visit', 'call', 'letter')"
        } else {
            "SELECT register_no, at_us, seq FROM contacts INDEXED BY contacts_at WHERE at_us > ?2 AND at_us <= ?1
             AND recorded_us <= ?3 AND kind IN ('family_visit', 'call', 'letter')"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = match only {
            Some(r) => stmt.query(params![t, from, k, r.as_str()])?,
            None => stmt.query(params![t, from, k])?,
        };
        while let Some(row) = rows.next()? {
            let r: String = row.get(0)?;
            let at: i64 = row.get(1)?;
            let seq: i64 = row.get(2)?;
            let e = out.entry(r).or_insert((at, seq));
            if at > e.0 {
                *e = (at, seq);
            }
        }
        Ok(out)
    }

    fn last_family_contact_before(
        &self,
        r: &RegisterNo,
        before: i64,
        k: i64,
    ) -> Result<Option<(Timestamp, u64)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT at_us, seq FROM contacts WHERE register_no = ?1 AND at_us <= ?2 AND recorded_us <= ?3
                 AND kind IN ('family_visit', 'call', 'letter') ORDER BY at_us DESC LIMIT 1",
            )?
            .query_row(params![r.as_str(), before, k], |row| {
                Ok((ts(row.get(0)?), seq_of(row.get(1)?)))
            })
            .optional()
    }

    /// Notifications about one person from `from` on.
    fn notifications(
        &self,
        r: &RegisterNo,
        from: i64,
        (t, k): (i64, i64),
    ) -> Result<Vec<NotificationFact>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at_us, to_whom, about, declined, seq FROM notifications WHERE register_no = ?1
             AND at_us >= ?2 AND at_us <= ?3 AND recorded_us <= ?4",
        )?;
        let mut rows = stmt.query(params![r.as_str(), from, t, k])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            if let Some(n) = notification_fact(
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
            ) {
                out.push(n);
            }
        }
        Ok(out)
    }

    /// The latest count of each unit, with the register's number for the unit at that time.
    fn roll_counts(&self, s: &mut Snapshot, (t, k): (i64, i64)) -> Result<(), StoreError> {
        let units: Vec<UnitPath> = self.state().units.keys().cloned().collect();
        for unit in units {
            let key = unit.to_string();
            let latest: Option<(i64, u32, i64)> = self
                .conn
                .prepare_cached(
                    "SELECT at_us, counted, seq FROM counts WHERE unit = ?1 AND at_us <= ?2 AND recorded_us <= ?3
                     ORDER BY at_us DESC, seq DESC LIMIT 1",
                )?
                .query_row(params![key, t, k], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((at_us, counted, seq)) = latest else {
                continue;
            };
            let expected: i64 = self
                .conn
                .prepare_cached(
                    "SELECT count(*) FROM (
                       SELECT 1 FROM stays INDEXED BY stays_unit WHERE unit = ?1 AND until_us IS NULL
                         AND status = 'in_custody' AND from_us <= ?2 AND recorded_us <= ?3
                       UNION ALL SELECT 1 FROM stays INDEXED BY stays_unit WHERE unit = ?1 AND until_us > ?2
                         AND status = 'in_custody' AND from_us <= ?2 AND recorded_us <= ?3
                       UNION ALL SELECT 1 FROM stays WHERE unit = ?1 AND until_us <= ?2 AND until_recorded_us > ?3
                         AND status = 'in_custody' AND from_us <= ?2 AND recorded_us <= ?3) AS unit_stays",
                )?
                .query_row(params![key, at_us, k], |r| r.get(0))?;
            s.roll_counts.push(RollCount {
                unit,
                at: ts(at_us),
                counted,
                expected: u32::try_from(expected).unwrap_or(u32::MAX),
                seq: seq_of(seq),
            });
        }
        Ok(())
    }

    fn late_records(&self, s: &mut Snapshot, (t, k): (i64, i64)) -> Result<(), StoreError> {
        let window = (s.limits.get("late-record.window_days") * 86_400e6) as i64;
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, type, subject, at_us, recorded_at_us FROM events INDEXED BY events_late
             WHERE recorded_at_us - at_us > 3600000000 AND recorded_at_us > ?1 AND recorded_at_us <= ?2
             AND at_us <= ?3",
        )?;
        let mut rows = stmt.query(params![k.saturating_sub(window), k, t])?;
        while let Some(row) = rows.next()? {
            let subject: Option<String> = row.get(2)?;
            s.late_records.push(LateRecord {
                seq: seq_of(row.get(0)?),
                kind: row.get(1)?,
                subject: subject.and_then(|r| RegisterNo::parse(&r).ok()),
                at: ts(row.get(3)?),
                recorded_at: ts(row.get(4)?),
            });
        }
        Ok(())
    }

    fn deaths(
        &self,
        s: &mut Snapshot,
        (t, k): (i64, i64),
        only: Option<&RegisterNo>,
    ) -> Result<(), StoreError> {
        let mut deaths = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT register_no, facility, at_us, seq FROM deaths INDEXED BY deaths_at
                 WHERE at_us <= ?1 AND recorded_us <= ?2",
            )?;
            let mut rows = stmt.query([t, k])?;
            while let Some(row) = rows.next()? {
                let r: String = row.get(0)?;
                let facility: Option<String> = row.get(1)?;
                if only.is_some_and(|o| o.as_str() != r) {
                    continue;
                }
                if let Ok(r) = RegisterNo::parse(&r) {
                    deaths.push((r, facility, row.get::<_, i64>(2)?, row.get::<_, i64>(3)?));
                }
            }
        }
        for (r, facility, at_us, seq) in deaths {
            let notifications = self.notifications(&r, at_us, (t, k))?;
            s.deaths.push(DeathFacts {
                facility: facility.and_then(|f| FacilityCode::parse(&f).ok()),
                register_no: r,
                at: ts(at_us),
                seq: seq_of(seq),
                notifications,
            });
        }
        Ok(())
    }

    /// Exams that observed injuries and incidents of force or injury in the window, with the
    /// time each was referred to an independent authority.
    fn injuries(
        &self,
        s: &mut Snapshot,
        (t, k): (i64, i64),
        only: Option<&RegisterNo>,
    ) -> Result<(), StoreError> {
        let window = (s.limits.get("injury-not-referred.window_days") * 86_400e6) as i64;
        let from = t.saturating_sub(window);
        let mut found: Vec<(String, i64, i64, String, bool)> = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT register_no, at_us, seq FROM health_exams INDEXED BY health_exams_injuries
                 WHERE injuries = 1 AND at_us > ?1 AND at_us <= ?2 AND recorded_us <= ?3",
            )?;
            let mut rows = stmt.query(params![from, t, k])?;
            while let Some(row) = rows.next()? {
                found.push((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    "injuries observed at a health exam".into(),
                    false,
                ));
            }
            let mut stmt = self.conn.prepare_cached(
                "SELECT register_no, at_us, seq, incident, kind, referred FROM incidents
                 WHERE kind IN ('use_of_force', 'injury') AND at_us > ?1 AND at_us <= ?2 AND recorded_us <= ?3",
            )?;
            let mut rows = stmt.query(params![from, t, k])?;
            while let Some(row) = rows.next()? {
                let incident: String = row.get(3)?;
                let kind: String = row.get(4)?;
                found.push((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    format!("incident {incident} ({kind})"),
                    row.get(5)?,
                ));
            }
        }
        for (r, at_us, seq, what, referred) in found {
            if only.is_some_and(|o| o.as_str() != r) {
                continue;
            }
            let Ok(register_no) = RegisterNo::parse(&r) else {
                continue;
            };
            let referred_at = if referred {
                Some(ts(at_us))
            } else {
                self.notifications(&register_no, at_us, (t, k))?
                    .into_iter()
                    .filter(|n| n.to == NotifyTo::IndependentAuthority && !n.declined_by_person)
                    .map(|n| n.at)
                    .min()
            };
            s.injuries.push(InjuryFacts {
                register_no,
                at: ts(at_us),
                seq: seq_of(seq),
                what,
                referred_at,
            });
        }
        Ok(())
    }

    fn exercise(&self, s: &mut Snapshot, (t, k): (i64, i64)) -> Result<(), StoreError> {
        let days = s.limits.get("no-outdoor-exercise.lookback_days").max(1.0) + 2.0;
        let from = t.saturating_sub((days * 86_400e6) as i64);
        let mut stmt = self.conn.prepare_cached(
            "SELECT data, seq FROM exercise WHERE at_us > ?1 AND at_us <= ?2 AND recorded_us <= ?3",
        )?;
        let mut rows = stmt.query(params![from, t, k])?;
        while let Some(row) = rows.next()? {
            let data: String = row.get(0)?;
            if let Ok(x) = serde_json::from_str::<command::ExerciseRecord>(&data) {
                s.exercise.push(ExerciseSession {
                    at: x.at,
                    until: x.until,
                    outdoors: x.outdoors,
                    cells: x.cells,
                    unit: x.unit,
                    register_nos: x.register_nos,
                    seq: seq_of(row.get(1)?),
                });
            }
        }
        Ok(())
    }

    /// The quick integrity check behind `log-integrity`: the latest checkpoint is signed by
    /// the register and its root is the tree's. The full check is `verify`.
    fn latest_checkpoint_verifies(&self) -> Result<(), String> {
        let Ok(cp) = self.latest_checkpoint() else {
            return Ok(());
        };
        let (parsed, _) =
            habeas_ledger::Checkpoint::open(&cp.note, std::slice::from_ref(&self.verifier()))
                .map_err(|e| format!("the latest checkpoint does not verify: {e}"))?;
        let root = habeas_ledger::root_at(&crate::store::SqlTree(&self.conn), parsed.size)
            .map_err(|e| format!("the tree cannot be read: {e}"))?;
        if root != parsed.root || parsed.size != self.log_size() {
            return Err(format!(
                "the tree at size {} does not match the latest signed checkpoint",
                parsed.size
            ));
        }
        Ok(())
    }
}
