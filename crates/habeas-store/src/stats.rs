//! Gathers the facts of the published statistics (`habeas_stats::Facts`) with range scans
//! over indexed tables: the stays open at the date (with the person's file for sex, age,
//! nationality and legal status), the stays and movements of the series' months, the persons
//! admitted under agreements, and the checks' snapshot at the date. Every definition is in
//! habeas-stats; nothing here decides what a figure means.

use crate::db::{OptionalExtension, params};
use habeas_domain::model::{LegalStatus, Sex};
use habeas_domain::*;
use habeas_stats::{AgreementFacts, Facts, HeldFact, Movement, MovementKind, StayInterval};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::Deserialize;

use crate::error::StoreError;
use crate::store::Store;

/// The movement types `events_movements` indexes (schema.rs); repeated in every query so
/// that SQLite can use the partial index.
pub(crate) const MOVEMENT_TYPES: &str = "type IN ('admission.recorded', 'transfer.departed', 'release.recorded', 'death.recorded', 'escape.recorded')";

fn ts(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The few fields of a person's file the statistics count by; serde skips the rest.
#[derive(Deserialize)]
struct LeanPerson {
    #[serde(default)]
    identity: Option<LeanIdentity>,
    episodes: Vec<LeanEpisode>,
}

#[derive(Deserialize)]
struct LeanIdentity {
    sex: Sex,
    #[serde(default)]
    date_of_birth: Option<Date>,
    #[serde(default)]
    nationalities: Vec<Country>,
}

#[derive(Deserialize)]
struct LeanEpisode {
    number: u32,
    admitted_legal_status: LegalStatus,
    #[serde(default)]
    legal_bases: Vec<LeanBasis>,
    #[serde(default)]
    agreement: Option<String>,
    #[serde(default)]
    custodial_authority: Option<String>,
}

#[derive(Deserialize)]
struct LeanBasis {
    at: Timestamp,
    #[serde(default)]
    legal_status: Option<LegalStatus>,
}

/// A row of the stays open at the date: status, facility, unit, cell, episode, person file.
type HeldRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    u32,
    String,
);

fn held_fact(row: &HeldRow, at: Timestamp) -> Result<HeldFact, StoreError> {
    let (status, facility, unit, cell, episode, data) = row;
    let corrupt = |detail: String| StoreError::CorruptRow {
        table: "persons",
        key: format!("stay of {}", facility.as_deref().unwrap_or("transit")),
        detail,
    };
    let p: LeanPerson = serde_json::from_str(data).map_err(|e| corrupt(e.to_string()))?;
    let status: Status = serde_json::from_value(serde_json::Value::String(status.clone()))
        .map_err(|e| corrupt(e.to_string()))?;
    let e = p
        .episodes
        .iter()
        .find(|e| e.number == *episode)
        .ok_or_else(|| corrupt(format!("no episode {episode}")))?;
    let legal_status = e
        .legal_bases
        .iter()
        .filter(|b| b.at <= at)
        .filter_map(|b| b.legal_status)
        .next_back()
        .unwrap_or(e.admitted_legal_status);
    Ok(HeldFact {
        status,
        facility: facility.clone(),
        unit: unit.clone(),
        cell: cell.clone(),
        sex: p.identity.as_ref().map(|i| i.sex),
        date_of_birth: p.identity.as_ref().and_then(|i| i.date_of_birth),
        nationalities: p.identity.map(|i| i.nationalities).unwrap_or_default(),
        legal_status,
        agreement: e.agreement.clone(),
        custodial_authority: e.custodial_authority.clone(),
    })
}

/// Parses a block of rows on all cores.
fn parse_block(rows: &[HeldRow], at: Timestamp) -> Result<Vec<HeldFact>, StoreError> {
    crate::findings::par_map(rows, |r| held_fact(r, at).map(Some))
}

impl Store {
    /// The facts of the statistics at `at` (now if `None`) with monthly series from the
    /// month of `series_from`, read in one transaction. By default everything recorded until
    /// now counts (published figures for a past date are revised as late records arrive); in
    /// the audit view, only what had been recorded by `at`.
    /// Without `checks`, the checks are not evaluated (most of the time over a large
    /// register) and the facts hold no findings.
    pub fn stats_facts(
        &self,
        at: Option<Timestamp>,
        series_from: Timestamp,
        checks: bool,
        view: View,
    ) -> Result<Facts, StoreError> {
        self.check_not_damaged()?;
        let at = at.unwrap_or_else(|| self.now());
        let known = view.known(at, self.now());
        self.conn.begin_read()?;
        let facts = self.gather(at, known, view, series_from.min(at), checks);
        // The gathering's error first: it is the cause of a failed COMMIT.
        let end = self.conn.execute_batch("COMMIT");
        let facts = facts?;
        end?;
        Ok(facts)
    }

    /// The publication threshold in force at `at` (`settings.record` publication_min_count).
    pub fn stats_min_count(&self, at: Timestamp) -> Result<Option<u64>, StoreError> {
        Ok(self
            .settings_at(at.as_microsecond())?
            .and_then(|s| s.publication_min_count))
    }

    fn settings_at(&self, t: i64) -> Result<Option<Settings>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT data FROM settings WHERE at_us <= ?1 ORDER BY at_us DESC, seq DESC LIMIT 1",
                [t],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|d| serde_json::from_str(&d).ok()))
    }

    /// [`Store::stats_facts`] computed into the statistics (no suppression applied).
    pub fn statistics(
        &self,
        at: Option<Timestamp>,
        series_from: Timestamp,
        checks: bool,
        view: View,
    ) -> Result<habeas_stats::Statistics, StoreError> {
        let facts = self.stats_facts(at, series_from, checks, view)?;
        let mut s = habeas_stats::compute(&facts);
        if !checks {
            s.checks.clear();
        }
        Ok(s)
    }

    fn gather(
        &self,
        at: Timestamp,
        known: Timestamp,
        view: View,
        series_from: Timestamp,
        checks: bool,
    ) -> Result<Facts, StoreError> {
        let t = at.as_microsecond();
        let k = known.as_microsecond();
        let state = self.state();
        // The series' months are the register's calendar months; `series_from` names its
        // first month by its UTC date (as `habeas_stats::series_start` gives it).
        let zone = habeas_domain::zones::register_zone(state.facilities.values());
        let first_month = jiff::tz::Offset::UTC.to_datetime(series_from).date();
        let from = habeas_domain::zones::month_start(first_month, &zone).as_microsecond();
        let settings = self.settings_at(t)?;

        // Who was held at T: the stays open at T, each with its person's file.
        let mut held = Vec::new();
        {
            const BLOCK: usize = 8192;
            // Known now: the stays open at T. As recorded: those recorded by T, open at T
            // or ended by a record made after T.
            let mut stmt = self.conn.prepare_cached(if view == View::KnownNow {
                "SELECT s.status, s.facility, s.unit, s.cell, s.episode, p.data
                 FROM stays s INDEXED BY stays_until JOIN persons p ON p.register_no = s.register_no
                 WHERE s.until_us IS NULL AND s.from_us <= ?1
                 UNION ALL
                 SELECT s.status, s.facility, s.unit, s.cell, s.episode, p.data
                 FROM stays s INDEXED BY stays_until JOIN persons p ON p.register_no = s.register_no
                 WHERE s.until_us > ?1 AND s.from_us <= ?1"
            } else {
                "SELECT s.status, s.facility, s.unit, s.cell, s.episode, p.data
                 FROM stays s JOIN persons p ON p.register_no = s.register_no
                 WHERE s.from_us <= ?1 AND s.recorded_us <= ?2
                 AND (s.until_us IS NULL OR s.until_us > ?1 OR s.until_recorded_us > ?2)"
            })?;
            let mut rows = if view == View::KnownNow {
                stmt.query([t])?
            } else {
                stmt.query([t, k])?
            };
            let mut block: Vec<HeldRow> = Vec::with_capacity(BLOCK);
            while let Some(r) = rows.next()? {
                block.push((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ));
                if block.len() == BLOCK {
                    held.extend(parse_block(&block, at)?);
                    block.clear();
                }
            }
            held.extend(parse_block(&block, at)?);
        }

        // Every stay overlapping the series, for the population at each month's end.
        let mut stays = Vec::new();
        {
            // As recorded, an end recorded after T is not known: the stay is still open.
            let mut stmt = self.conn.prepare_cached(if view == View::KnownNow {
                "SELECT from_us, until_us FROM stays INDEXED BY stays_span
                 WHERE until_us IS NULL AND from_us <= ?2
                 UNION ALL
                 SELECT from_us, until_us FROM stays INDEXED BY stays_span
                 WHERE until_us > ?1 AND from_us <= ?2"
            } else {
                "SELECT from_us, CASE WHEN until_recorded_us > ?3 THEN NULL ELSE until_us END
                 FROM stays
                 WHERE from_us <= ?2 AND recorded_us <= ?3
                 AND (until_us IS NULL OR until_us > ?1 OR until_recorded_us > ?3)"
            })?;
            let mut rows = if view == View::KnownNow {
                stmt.query([from, t])?
            } else {
                stmt.query([from, t, k])?
            };
            while let Some(r) = rows.next()? {
                stays.push(StayInterval {
                    from: ts(r.get(0)?),
                    until: r.get::<_, Option<i64>>(1)?.map(ts),
                });
            }
        }

        let movements = self.movements(from, t, k)?;
        let agreements = self.agreement_facts(state)?;

        let findings = if checks {
            let snapshot = self.snapshot(at, known, None)?;
            let findings = habeas_domain::checks::evaluate(&snapshot);
            // As in `findings`: nobody needs to wait for a national snapshot to be freed.
            if snapshot.persons.len() > 10_000 {
                std::thread::spawn(move || drop(snapshot));
            }
            findings
        } else {
            Vec::new()
        };

        Ok(Facts {
            at,
            view,
            zone,
            series_from: ts(from),
            settings,
            facilities: state.facilities.values().cloned().collect(),
            cells: state.cells.values().cloned().collect(),
            held,
            stays,
            movements,
            agreements,
            findings,
        })
    }

    /// Admissions, releases, escapes, departures on transfer and deaths dated in [from, t],
    /// from the partial index of movement events.
    /// With `k`, the time of knowledge: movements recorded after it are ignored.
    fn movements(&self, from: i64, t: i64, k: i64) -> Result<Vec<Movement>, StoreError> {
        let mut out = Vec::new();
        for (kind, counted) in [
            ("admission.recorded", MovementKind::Admission),
            ("release.recorded", MovementKind::Release),
            ("escape.recorded", MovementKind::Escape),
        ] {
            let sql = format!(
                "SELECT at_us FROM events INDEXED BY events_movements
                 WHERE type = ?1 AND at_us >= ?2 AND at_us <= ?3 AND recorded_at_us <= ?4
                 AND {MOVEMENT_TYPES}"
            );
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![kind, from, t, k])?;
            while let Some(r) = rows.next()? {
                out.push(Movement {
                    at: ts(r.get(0)?),
                    kind: counted.clone(),
                });
            }
        }
        // Departures and deaths: their records say where to, and the cause.
        let sql = format!(
            "SELECT seq, record FROM events INDEXED BY events_movements
             WHERE type IN ('transfer.departed', 'death.recorded') AND at_us >= ?1 AND at_us <= ?2
             AND recorded_at_us <= ?3 AND {MOVEMENT_TYPES}"
        );
        let mut records = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(&sql)?;
            let mut rows = stmt.query(params![from, t, k])?;
            while let Some(r) = rows.next()? {
                records.push((r.get::<_, i64>(0)?, r.get::<_, String>(1)?));
            }
        }
        for (seq, record) in records {
            let seq_u = u64::try_from(seq).unwrap_or(0);
            let r = Recorded::from_json(&record).map_err(|e| StoreError::Corrupt {
                seq: seq_u,
                detail: format!("record does not parse: {e}"),
            })?;
            match r.event {
                Event::TransferDeparted(e) => out.push(Movement {
                    at: e.at,
                    kind: MovementKind::Transfer {
                        out_of_jurisdiction: matches!(
                            e.to,
                            habeas_domain::model::Destination::Jurisdiction { .. }
                        ),
                    },
                }),
                Event::DeathRecorded(e) => {
                    let at_us = e.at.as_microsecond();
                    let facility: Option<String> = self
                        .conn
                        .prepare_cached("SELECT facility FROM deaths WHERE seq = ?1")?
                        .query_row([seq], |r| r.get(0))
                        .optional()?
                        .flatten();
                    let referred: Option<i64> = self
                        .conn
                        .prepare_cached(
                            "SELECT min(at_us) FROM notifications INDEXED BY notifications_person
                             WHERE register_no = ?1 AND at_us >= ?2 AND to_whom = 'independent_authority'
                             AND about = 'death' AND declined = 0 AND recorded_us <= ?3",
                        )?
                        .query_row(params![e.register_no.as_str(), at_us, k], |r| r.get(0))?;
                    out.push(Movement {
                        at: e.at,
                        kind: MovementKind::Death {
                            cause: e.cause.as_ref().map(ToString::to_string),
                            facility,
                            referred_at: referred.map(ts),
                        },
                    });
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Every agreement with the stays of each custody episode admitted under it, found
    /// through the partial index of admissions that name an agreement.
    fn agreement_facts(&self, state: &State) -> Result<Vec<AgreementFacts>, StoreError> {
        let mut persons: Vec<String> = Vec::new();
        {
            let mut stmt = self.conn.prepare_cached(
                "SELECT DISTINCT subject FROM events INDEXED BY events_agreement_admissions
                 WHERE type = 'admission.recorded' AND instr(record, '\"agreement\":') > 0",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                if let Some(s) = r.get::<_, Option<String>>(0)? {
                    persons.push(s);
                }
            }
        }
        let mut out: Vec<AgreementFacts> = state
            .agreements
            .values()
            .map(|a| AgreementFacts {
                agreement: a.clone(),
                persons: Vec::new(),
            })
            .collect();
        for r in persons {
            let Ok(register_no) = RegisterNo::parse(&r) else {
                continue;
            };
            let Some(person) = self.person(&register_no)? else {
                continue;
            };
            for e in &person.episodes {
                let Some(id) = &e.agreement else { continue };
                if let Some(a) = out.iter_mut().find(|a| &a.agreement.terms.agreement == id) {
                    a.persons.push(
                        e.stays
                            .iter()
                            .map(|s| StayInterval {
                                from: s.from,
                                until: s.until,
                            })
                            .collect(),
                    );
                }
            }
        }
        Ok(out)
    }
}
