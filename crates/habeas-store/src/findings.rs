//! Builds the checks' [`Snapshot`] of the register as known at a time, with one query per
//! kind of fact and only the window each check needs, then runs `habeas_domain::checks`.

use std::collections::HashMap;

use crate::db::{OptionalExtension, Row, params};
use habeas_domain::checks::*;
use habeas_domain::model::{LegalStatus, NotifyTo};
use habeas_domain::*;
use jiff::Timestamp;

use crate::error::StoreError;
use crate::store::Store;

/// Which findings to return.
#[derive(Debug, Clone, Default)]
pub struct FindingsFilter {
    pub check: Option<String>,
    pub facility: Option<FacilityCode>,
    /// Which world a past date is read in (default: everything known now).
    pub view: View,
}

/// The findings at a time, in a view.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FindingsReport {
    pub at: Timestamp,
    /// `known_now` (everything recorded until now about `at`) or `as_recorded`.
    pub view: View,
    pub findings: Vec<Finding>,
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

/// Maps `f` over `items` on all cores, a chunk per core, keeping the order.
pub(crate) fn par_map<T: Sync, U: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<Option<U>, StoreError> + Sync,
) -> Result<Vec<U>, StoreError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    let parsed: Vec<Result<Vec<U>, StoreError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for item in part {
                        if let Some(u) = f(item)? {
                            out.push(u);
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
    let mut out = Vec::with_capacity(items.len());
    for part in parsed {
        out.extend(part?);
    }
    Ok(out)
}

fn parse_person(key: &str, data: &str) -> Result<Person, StoreError> {
    serde_json::from_str::<Person>(data).map_err(|e| StoreError::CorruptRow {
        table: "persons",
        key: key.to_owned(),
        detail: e.to_string(),
    })
}

/// A fact kept in `episode_facts`: (at, seq, recorded), microseconds.
type Kept = (i64, i64, i64);

/// The row of `episode_facts` for one episode.
#[derive(Debug, Default)]
struct EpisodeFacts {
    legal_visit: Option<Kept>,
    exam: Option<Kept>,
    family: Option<Kept>,
    /// Each with when it was recorded.
    notifications: Vec<(NotificationFact, i64)>,
}

/// `episode_facts` columns after the key, as read by every query of it.
const EPISODE_FACTS: &str = "f.legal_visit_us, f.legal_visit_seq, f.legal_visit_recorded_us,
     f.exam_us, f.exam_seq, f.exam_recorded_us, f.family_us, f.family_seq, f.family_recorded_us,
     f.notifications";

/// The raw columns of [`EPISODE_FACTS`] (parsed later, off the reading thread).
type RawFacts = ([Option<i64>; 9], Option<String>);

fn raw_facts(row: &Row<'_>, first: usize) -> Result<RawFacts, StoreError> {
    let mut kept = [None; 9];
    for (i, v) in kept.iter_mut().enumerate() {
        *v = row.get(first + i)?;
    }
    Ok((kept, row.get(first + 9)?))
}

fn parse_facts(key: &str, (kept, notifications): &RawFacts) -> Result<EpisodeFacts, StoreError> {
    let triple = |i: usize| Some((kept[i]?, kept[i + 1]?, kept[i + 2]?));
    let mut facts = EpisodeFacts {
        legal_visit: triple(0),
        exam: triple(3),
        family: triple(6),
        notifications: Vec::new(),
    };
    if let Some(text) = notifications {
        let items: Vec<(i64, String, String, bool, i64, i64)> = serde_json::from_str(text)
            .map_err(|e| StoreError::CorruptRow {
                table: "episode_facts",
                key: key.to_owned(),
                detail: e.to_string(),
            })?;
        for (at, to, about, declined, seq, rec) in items {
            if let Some(n) = notification_fact(at, to, about, declined, seq) {
                facts.notifications.push((n, rec));
            }
        }
    }
    Ok(facts)
}

/// A kept fact, if it could be seen at `t` as known at `k`.
fn seen((at, seq, rec): Kept, (t, k): (i64, i64)) -> Option<(Timestamp, u64)> {
    (at <= t && rec <= k).then(|| (ts(at), seq_of(seq)))
}

/// The facts of an episode of which the checks want the first.
#[derive(Clone, Copy)]
enum FirstFact {
    LegalVisit,
    Exam,
}

fn seq_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl Store {
    /// Every open finding at `at` (now if `None`) in the filter's view: by default with
    /// everything recorded until now; in the audit view, ignoring events recorded after `at`.
    pub fn findings(
        &self,
        at: Option<Timestamp>,
        filter: &FindingsFilter,
    ) -> Result<Vec<Finding>, StoreError> {
        self.check_not_damaged()?;
        let at = at.unwrap_or_else(|| self.now());
        self.conn.begin_read()?;
        let known = filter.view.known(at, self.now());
        let snapshot = self.snapshot(at, known, None);
        // The snapshot's error first: it is the cause of a failed COMMIT.
        let end = self.conn.execute_batch("COMMIT");
        let snapshot = snapshot?;
        end?;
        let mut findings = evaluate(&snapshot);
        // Freeing a national register's snapshot (millions of small allocations) takes a
        // tenth of a second that nobody needs to wait for.
        if snapshot.persons.len() > 10_000 {
            std::thread::spawn(move || drop(snapshot));
        }
        if let Some(check) = &filter.check {
            findings.retain(|f| f.check == check);
        }
        if let Some(facility) = &filter.facility {
            findings.retain(|f| f.facility.as_deref() == Some(facility.as_str()));
        }
        Ok(findings)
    }

    /// [`Store::findings`] with the time and view they are for, as the CLI and the API give
    /// them in JSON.
    pub fn findings_report(
        &self,
        at: Option<Timestamp>,
        filter: &FindingsFilter,
    ) -> Result<FindingsReport, StoreError> {
        let at = at.unwrap_or_else(|| self.now());
        Ok(FindingsReport {
            at,
            view: filter.view,
            findings: self.findings(Some(at), filter)?,
        })
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

        // Who was held at T, with the facts of their episode that the checks count from
        // admission: kept per episode as they are recorded, so nothing here scans history.
        let held = match only {
            Some(r) => {
                let mut held = Vec::new();
                for person in self.persons_around(r, (at, known))? {
                    let facts = match person.open_episode() {
                        Some(e) => self.episode_facts(&person.register_no, e.number)?,
                        None => EpisodeFacts::default(),
                    };
                    held.push((person, facts));
                }
                held
            }
            None => self.persons_held_at((t, k), (at, known), &s.limits)?,
        };
        for (person, facts) in held {
            let Some(episode) = person.open_episode() else {
                continue;
            };
            if episode.stay_at(at).is_none() {
                continue;
            }
            let r = &person.register_no;
            let admitted = episode.admitted_at.as_microsecond();
            // A kept fact not yet seen at T (recorded later, or after T) leaves the question
            // open: then the person's own facts of the episode are read.
            let last_family_contact = match facts.family {
                None => None,
                Some(kept) => match seen(kept, (t, k)) {
                    Some(f) => Some(f),
                    None => self.family_contact_before(r, admitted, (t, k))?,
                },
            };
            let legal_visit_since_admission = match facts.legal_visit {
                _ if episode.legal_status != LegalStatus::Remand => None,
                None => None,
                Some(kept) => match seen(kept, (t, k)) {
                    Some(f) => Some(f),
                    None => self.first_fact(FirstFact::LegalVisit, r, admitted, (t, k))?,
                },
            };
            let exam_since_admission = match facts.exam {
                None => None,
                Some(kept) => match seen(kept, (t, k)) {
                    Some(f) => Some(f),
                    None => self.first_fact(FirstFact::Exam, r, admitted, (t, k))?,
                },
            };
            let notifications = facts
                .notifications
                .into_iter()
                .filter(|(n, rec)| n.at.as_microsecond() <= t && *rec <= k)
                .map(|(n, _)| n)
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

    /// Everyone held at `t` as known at `k`, with their episode's facts. Whoever is held now
    /// and whose file has not changed since `t` (nor become known since `k`) is read from
    /// `held_persons`, as the checks read them; the file of anyone else who may have been held
    /// then (it changed since, or they have left) is read whole and seen as known at `k`.
    fn persons_held_at(
        &self,
        (t, k): (i64, i64),
        (at, known): (Timestamp, Timestamp),
        limits: &Limits,
    ) -> Result<Vec<(Person, EpisodeFacts)>, StoreError> {
        // Each person keeps only the stays a check can read (on the worker that parsed them,
        // so their memory is reused at once).
        let trim = |mut p: Person| {
            drop_unreachable_stays(&mut p, at, limits);
            p
        };
        // Rows are parsed a block at a time (on all cores), so the raw JSON of only one block
        // is in memory at once.
        const BLOCK: usize = 16_384;
        let mut out = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT h.register_no, h.data, {EPISODE_FACTS}
                 FROM held_persons h NOT INDEXED
                 LEFT JOIN episode_facts f ON f.register_no = h.register_no AND f.episode = h.episode
                 WHERE h.changed_at_us <= ?1 AND h.changed_recorded_us <= ?2"
            ))?;
            let mut rows = stmt.query([t, k])?;
            let parse = |(key, data, facts): &(String, String, RawFacts)| {
                Ok(Some((
                    trim(parse_person(key, data)?),
                    parse_facts(key, facts)?,
                )))
            };
            // This thread reads the next block while the last one is parsed beside it.
            std::thread::scope(|scope| -> Result<(), StoreError> {
                type Parsed = Result<Vec<(Person, EpisodeFacts)>, StoreError>;
                let joined = |h: std::thread::ScopedJoinHandle<'_, Parsed>| {
                    h.join().unwrap_or_else(|_| {
                        Err(StoreError::Ledger(
                            "a worker parsing person files panicked".into(),
                        ))
                    })
                };
                let mut pending = None;
                loop {
                    let mut raw: Vec<(String, String, RawFacts)> = Vec::with_capacity(BLOCK);
                    while raw.len() < BLOCK {
                        let Some(row) = rows.next()? else { break };
                        raw.push((row.get(0)?, row.get(1)?, raw_facts(&row, 2)?));
                    }
                    let last = raw.len() < BLOCK;
                    if let Some(h) = pending.take() {
                        out.extend(joined(h)?);
                    }
                    if last {
                        out.extend(par_map(&raw, parse)?);
                        return Ok(());
                    }
                    pending = Some(scope.spawn(move || par_map(&raw, parse)));
                }
            })?;
        }
        let mut changed: Vec<(String, String)> = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT register_no, data FROM persons WHERE register_no IN (
                   SELECT register_no FROM held_persons INDEXED BY held_persons_changed_at WHERE changed_at_us > ?1
                   UNION SELECT register_no FROM held_persons INDEXED BY held_persons_changed_recorded
                     WHERE changed_recorded_us > ?2
                   UNION SELECT register_no FROM stays INDEXED BY stays_until
                     WHERE until_us > ?1 AND from_us <= ?1 AND recorded_us <= ?2
                   UNION SELECT register_no FROM stays INDEXED BY stays_until_recorded
                     WHERE until_recorded_us > ?2 AND from_us <= ?1 AND recorded_us <= ?2)",
            )?;
            let mut rows = stmt.query([t, k])?;
            while let Some(row) = rows.next()? {
                changed.push((row.get(0)?, row.get(1)?));
            }
        }
        for block in changed.chunks(BLOCK) {
            let persons = par_map(block, |(key, data)| {
                Ok(parse_person(key, data)?.into_as_of(at, known).map(trim))
            })?;
            for person in persons {
                let facts = match person.open_episode() {
                    Some(e) => self.episode_facts(&person.register_no, e.number)?,
                    None => EpisodeFacts::default(),
                };
                out.push((person, facts));
            }
        }
        Ok(out)
    }

    /// One person and whoever shares their cell now, as known at `known` about `at`.
    fn persons_around(
        &self,
        r: &RegisterNo,
        (at, known): (Timestamp, Timestamp),
    ) -> Result<Vec<Person>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT register_no, data FROM persons WHERE register_no = ?1
             UNION SELECT register_no, data FROM persons
             WHERE cell = (SELECT cell FROM persons WHERE register_no = ?1)",
        )?;
        let mut rows = stmt.query([r.as_str()])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            let data: String = row.get(1)?;
            if let Some(p) = parse_person(&key, &data)?.into_as_of(at, known) {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// The kept facts of one episode.
    fn episode_facts(&self, r: &RegisterNo, episode: u32) -> Result<EpisodeFacts, StoreError> {
        let raw = self
            .conn
            .prepare_cached(&format!(
                "SELECT {EPISODE_FACTS} FROM episode_facts f WHERE f.register_no = ?1 AND f.episode = ?2"
            ))?
            .query_row(params![r.as_str(), episode], |row| raw_facts(row, 0))
            .optional()?;
        match raw {
            Some(raw) => parse_facts(r.as_str(), &raw),
            None => Ok(EpisodeFacts::default()),
        }
    }

    /// The latest family contact (visit, call, letter) of a person from `from` to `t`, as
    /// known at `k`.
    fn family_contact_before(
        &self,
        r: &RegisterNo,
        from: i64,
        (t, k): (i64, i64),
    ) -> Result<Option<(Timestamp, u64)>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT at_us, seq FROM contacts INDEXED BY contacts_person
                 WHERE register_no = ?1 AND at_us >= ?2 AND at_us <= ?3 AND recorded_us <= ?4
                 AND kind IN ('family_visit', 'call', 'letter') ORDER BY at_us DESC LIMIT 1",
            )?
            .query_row(params![r.as_str(), from, t, k], |row| {
                Ok((ts(row.get(0)?), seq_of(row.get(1)?)))
            })
            .optional()
    }

    /// The first legal visit or health exam of a person from `from` to `t`, as known at `k`.
    fn first_fact(
        &self,
        which: FirstFact,
        r: &RegisterNo,
        from: i64,
        (t, k): (i64, i64),
    ) -> Result<Option<(Timestamp, u64)>, StoreError> {
        let sql = match which {
            FirstFact::LegalVisit => {
                "SELECT at_us, seq FROM contacts INDEXED BY contacts_person
                 WHERE register_no = ?1 AND at_us >= ?2 AND at_us <= ?3 AND recorded_us <= ?4
                 AND kind = 'legal_visit' ORDER BY at_us, seq LIMIT 1"
            }
            FirstFact::Exam => {
                "SELECT at_us, seq FROM health_exams INDEXED BY health_exams_person
                 WHERE register_no = ?1 AND at_us >= ?2 AND at_us <= ?3 AND recorded_us <= ?4
                 ORDER BY at_us, seq LIMIT 1"
            }
        };
        self.conn
            .prepare_cached(sql)?
            .query_row(params![r.as_str(), from, t, k], |row| {
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
        let mut latest: Vec<(UnitPath, String, (i64, u32, i64))> = Vec::new();
        for unit in self.state().units.keys() {
            let key = unit.to_string();
            let count: Option<(i64, u32, i64)> = self
                .conn
                .prepare_cached(
                    "SELECT at_us, counted, seq FROM counts WHERE unit = ?1 AND at_us <= ?2 AND recorded_us <= ?3
                     ORDER BY at_us DESC, seq DESC LIMIT 1",
                )?
                .query_row(params![key, t, k], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            if let Some(count) = count {
                latest.push((unit.clone(), key, count));
            }
        }
        if latest.is_empty() {
            return Ok(());
        }
        // Stays that had ended by the count but whose end was recorded after `k`, so that
        // then they were still open: read once for every unit, not once per unit. At a past
        // `k` these are nearly every stay closed since, which per unit made this the slowest
        // part of findings at a past date (5.7 s of 9 s at 27,500 held for 2022-01-01).
        let mut ended_unknown: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT unit, from_us, until_us FROM stays INDEXED BY stays_until_recorded
                 WHERE until_recorded_us > ?2 AND until_us <= ?1 AND unit IS NOT NULL
                 AND status = 'in_custody' AND from_us <= ?1 AND recorded_us <= ?2",
            )?;
            let mut rows = stmt.query([t, k])?;
            while let Some(row) = rows.next()? {
                let unit: String = row.get(0)?;
                ended_unknown
                    .entry(unit)
                    .or_default()
                    .push((row.get(1)?, row.get(2)?));
            }
        }
        for (unit, key, (at_us, counted, seq)) in latest {
            let still_open: i64 = self
                .conn
                .prepare_cached(
                    "SELECT count(*) FROM (
                       SELECT 1 FROM stays INDEXED BY stays_unit WHERE unit = ?1 AND until_us IS NULL
                         AND status = 'in_custody' AND from_us <= ?2 AND recorded_us <= ?3
                       UNION ALL SELECT 1 FROM stays INDEXED BY stays_unit WHERE unit = ?1 AND until_us > ?2
                         AND status = 'in_custody' AND from_us <= ?2 AND recorded_us <= ?3) AS unit_stays",
                )?
                .query_row(params![key, at_us, k], |r| r.get(0))?;
            let not_known_ended = ended_unknown.get(&key).map_or(0, |stays| {
                stays
                    .iter()
                    .filter(|&&(from, until)| from <= at_us && until <= at_us)
                    .count()
            });
            let expected = u64::try_from(still_open)
                .unwrap_or(0)
                .saturating_add(not_known_ended as u64);
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

    /// Events recorded later than the limit after they happened, whose finding is open at T:
    /// already late at T (the event's time plus the limit has passed) and recorded in the
    /// window before T or after it (known now, a record still missing at T was late then).
    /// A limit of an hour or more reads only the events more than an hour late (a partial
    /// index); a shorter one reads every event recorded in that span.
    fn late_records(&self, s: &mut Snapshot, (t, k): (i64, i64)) -> Result<(), StoreError> {
        let window = (s.limits.get("late-record.window_days") * 86_400e6) as i64;
        let limit = (s.limits.get("late-record.hours") * 3_600e6).max(0.0) as i64;
        let sql = if limit >= 3_600_000_000 {
            "SELECT seq, type, subject, at_us, recorded_at_us FROM events INDEXED BY events_late
             WHERE recorded_at_us - at_us > 3600000000 AND recorded_at_us > ?1 AND recorded_at_us <= ?2
             AND at_us <= ?3 AND recorded_at_us - at_us > ?4"
        } else {
            "SELECT seq, type, subject, at_us, recorded_at_us FROM events INDEXED BY events_recorded
             WHERE recorded_at_us > ?1 AND recorded_at_us <= ?2
             AND at_us <= ?3 AND recorded_at_us - at_us > ?4"
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let mut rows = stmt.query(params![
            t.saturating_sub(window),
            k,
            t.saturating_sub(limit),
            limit
        ])?;
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
