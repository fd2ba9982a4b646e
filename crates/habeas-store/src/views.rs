//! Reads for the web interface's pages: who is in a cell, how full each cell is, the latest
//! movements, and when the register's history begins (for population over time).

use std::collections::BTreeMap;

use crate::db::{OptionalExtension, Param, params};
use jiff::Timestamp;

use crate::error::StoreError;
use crate::queries::{FileEvent, PersonHit, file_event, person_hit};
use crate::store::Store;

/// The event types that move a person: into custody, between places, out of custody.
pub const MOVEMENT_TYPES: &[&str] = &[
    "admission.recorded",
    "placement.recorded",
    "absence.started",
    "absence.ended",
    "transfer.departed",
    "transfer.arrived",
    "release.recorded",
    "death.recorded",
    "escape.recorded",
];

impl Store {
    /// Persons in custody in each cell of `facility` now, by cell path (cells holding nobody
    /// are absent).
    pub fn cell_occupancy(&self, facility: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        self.check_not_damaged()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT cell, count(*) FROM persons
             WHERE facility = ?1 AND status = 'in_custody' AND cell IS NOT NULL GROUP BY cell",
        )?;
        let rows = stmt.query_map([facility], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (cell, n) = row?;
            out.insert(cell, u64::try_from(n).unwrap_or(0));
        }
        Ok(out)
    }

    /// The persons in custody in a cell now, by name, at most `limit`.
    pub fn persons_in_cell(&self, cell: &str, limit: usize) -> Result<Vec<PersonHit>, StoreError> {
        self.check_not_damaged()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT register_no, given_names, family_names, date_of_birth, status, facility, cell
             FROM persons WHERE cell = ?1 AND status = 'in_custody'
             ORDER BY family_names, given_names, register_no LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![cell, i64::try_from(limit).unwrap_or(i64::MAX)],
            person_hit,
        )?;
        rows.collect::<Result<_, _>>()
    }

    /// The last `limit` movements ([`MOVEMENT_TYPES`]) in log order, newest first.
    pub fn latest_movements(&self, limit: usize) -> Result<Vec<FileEvent>, StoreError> {
        self.check_not_damaged()?;
        let placeholders = (1..=MOVEMENT_TYPES.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT seq, record FROM events WHERE type IN ({placeholders}) ORDER BY seq DESC LIMIT {}",
            i64::try_from(limit).unwrap_or(i64::MAX)
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let types: Vec<&dyn Param> = MOVEMENT_TYPES.iter().map(|t| t as &dyn Param).collect();
        let rows = stmt.query_map(types.as_slice(), |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })?;
        rows.map(|row| {
            let (seq, record) = row?;
            file_event(seq, &record)
        })
        .collect()
    }

    /// When the register's earliest admission is dated (`None`: it holds none): before it,
    /// nobody was held by the register, and population over time begins there (also when a
    /// history was imported after later events).
    pub fn first_admission_at(&self) -> Result<Option<Timestamp>, StoreError> {
        let sql = format!(
            "SELECT min(at_us) FROM events INDEXED BY events_movements
             WHERE type = 'admission.recorded' AND {}",
            crate::stats::MOVEMENT_TYPES
        );
        let us: Option<i64> = self.conn.query_row(&sql, [], |r| r.get(0))?;
        Ok(us.and_then(|u| Timestamp::from_microsecond(u).ok()))
    }

    /// A register number for the next admission: the highest number in the register with its
    /// last digits counted up, keeping their width (`SYN-000041` after `SYN-000040`); `None`
    /// for an empty register or numbers without digits at the end.
    pub fn next_register_no(&self) -> Result<Option<String>, StoreError> {
        let last: Option<String> = self
            .conn
            .query_row::<Option<String>>(
                // The primary key's order: one step down its index, at any size.
                "SELECT max(register_no) FROM persons",
                [],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        // Counted up past any number already taken (text order is not number order).
        let mut next = last.and_then(|n| next_number(&n));
        for _ in 0..1000 {
            let Some(n) = &next else { break };
            let taken: i64 = self.conn.query_row(
                "SELECT count(*) FROM persons WHERE register_no = ?1",
                [n.as_str()],
                |r| r.get(0),
            )?;
            if taken == 0 {
                return Ok(next);
            }
            next = next_number(n);
        }
        Ok(None)
    }
}

/// `n` with its trailing digits plus one, at least as wide.
fn next_number(n: &str) -> Option<String> {
    let digits = n.len() - n.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    let (head, tail) = n.split_at(n.len() - digits);
    let next = tail.parse::<u64>().ok()?.checked_add(1)?;
    Some(format!("{head}{next:0digits$}"))
}
