//! `verify`'s check of the current state against the log (DESIGN §1, principle 3: current
//! state is a cache of the log). The log is copied from the register's read snapshot into a
//! scratch SQLite file, the state is rebuilt there by the same `rebuild`, and every
//! current-state table of the register is compared with the rebuilt one, row by row by key.

use std::collections::HashMap;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::db::{DbLocation, params};
use crate::error::StoreError;
use crate::log::Problem;
use crate::schema::STATE_TABLES;
use crate::store::Store;

/// Differences listed per table; the rest are counted in one line.
const LISTED_PER_TABLE: usize = 10;

/// A scratch directory removed with this value, whatever happens.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Store {
    /// Rebuilds the state from this store's read snapshot in a scratch register and returns
    /// one problem per differing row (missing, extra or different), table by table. Called
    /// inside `verify`'s read transaction.
    pub(crate) fn check_state(&self, max: usize) -> Result<Vec<Problem>, StoreError> {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).map_err(|e| StoreError::Copy {
            detail: format!("no randomness for a scratch name: {e}"),
        })?;
        let dir = std::env::temp_dir().join(format!(
            "habeas-verify-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(r)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir).map_err(|e| StoreError::Copy {
            detail: format!("cannot create the scratch folder {}: {e}", dir.display()),
        })?;
        let scratch = Scratch(dir);
        let location = DbLocation::Sqlite(scratch.0.join("rebuilt.db"));
        // The register's own key file: the scratch is never signed into, only rebuilt.
        let mut rebuilt = Store::create_with_key(&location, self.key_file(), self.signer(), false)?;
        // A file thrown away afterwards: no journal, no sync.
        rebuilt
            .conn
            .execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF")?;
        self.copy_rows(&rebuilt, false)?;
        if let Err(e) = rebuilt.rebuild() {
            return Ok(vec![Problem {
                seq: None,
                what: format!("current state: the log cannot be replayed to check it: {e}"),
                last: None,
            }]);
        }
        let mut problems = Vec::new();
        for table in STATE_TABLES {
            if problems.len() >= max {
                break;
            }
            self.compare_table(&rebuilt, table, max, &mut problems)?;
        }
        drop(rebuilt);
        drop(scratch);
        Ok(problems)
    }

    fn compare_table(
        &self,
        rebuilt: &Store,
        table: &str,
        max: usize,
        problems: &mut Vec<Problem>,
    ) -> Result<(), StoreError> {
        // Key columns from the SQLite schema (PostgreSQL's mirrors it, column for column);
        // held_persons has no primary key but a unique register number.
        let columns: Vec<(String, i64)> = {
            let mut stmt = rebuilt
                .conn
                .prepare("SELECT name, pk FROM pragma_table_info(?1) ORDER BY cid")?;
            let rows = stmt.query_map(params![table], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut key: Vec<(i64, usize)> = columns
            .iter()
            .enumerate()
            .filter(|(_, (_, pk))| *pk > 0)
            .map(|(i, (_, pk))| (*pk, i))
            .collect();
        key.sort_unstable();
        let mut key: Vec<usize> = key.into_iter().map(|(_, i)| i).collect();
        let register_col = columns.iter().position(|(n, _)| n == "register_no");
        let seq_col = columns.iter().position(|(n, _)| n == "seq");
        if key.is_empty() {
            key.push(register_col.unwrap_or(0));
        }
        let key_of = |row: &[String]| {
            key.iter()
                .map(|&i| row.get(i).map_or("", String::as_str))
                .collect::<Vec<_>>()
                .join("/")
        };
        let read = |store: &Store, f: &mut dyn FnMut(Vec<String>)| -> Result<(), StoreError> {
            let mut stmt = store.conn.prepare(&format!("SELECT * FROM {table}"))?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                f((0..r.column_count())
                    .map(|i| r.get_text(i))
                    .collect::<Result<_, _>>()?);
            }
            Ok(())
        };
        // What the log says, by key: a digest per row bounds memory at national scale.
        let mut expected: HashMap<String, ([u8; 32], Option<String>)> = HashMap::new();
        read(rebuilt, &mut |row| {
            let subject = register_col.and_then(|i| row.get(i).cloned());
            expected.insert(key_of(&row), (digest(&row), subject));
        })?;
        let mut found: Vec<(String, &'static str, Option<String>)> = Vec::new();
        read(self, &mut |row| {
            let k = key_of(&row);
            match expected.remove(&k) {
                None => found.push((
                    k,
                    "is in the table but not in the log (extra)",
                    register_col.and_then(|i| row.get(i).cloned()),
                )),
                Some((d, subject)) if d != digest(&row) => {
                    found.push((k, "differs from what the log says", subject))
                }
                Some(_) => {}
            }
        })?;
        found.extend(
            expected
                .into_iter()
                .map(|(k, (_, subject))| (k, "is in the log but missing from the table", subject)),
        );
        found.sort();
        let total = found.len();
        for (k, how, subject) in found.into_iter().take(LISTED_PER_TABLE) {
            if problems.len() >= max {
                return Ok(());
            }
            // The events concerning it: by the key itself for the fact tables (seq), else by
            // the register number (index events_subject).
            let seqs: Vec<u64> = if seq_col.is_some() && key == [seq_col.unwrap_or(0)] {
                k.parse().ok().into_iter().collect()
            } else if let Some(r) = &subject {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT seq FROM events WHERE subject = ?1 ORDER BY seq LIMIT 4",
                )?;
                let rows = stmt.query_map(params![r.as_str()], |r| r.get::<_, i64>(0))?;
                rows.filter_map(|s| s.ok().and_then(|s| u64::try_from(s).ok()))
                    .collect()
            } else {
                Vec::new()
            };
            let events = match seqs.as_slice() {
                [] => String::new(),
                [s] => format!(" (event {s})"),
                [a @ .., _] if seqs.len() == 4 => format!(
                    " (events {} …)",
                    a.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
                ),
                all => format!(
                    " (events {})",
                    all.iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            problems.push(Problem {
                seq: seqs.first().copied(),
                what: format!("current state: {table}: {k}{events} {how}"),
                last: None,
            });
        }
        if total > LISTED_PER_TABLE && problems.len() < max {
            problems.push(Problem {
                seq: None,
                what: format!(
                    "current state: {table}: {} more rows differ from the log; `habeas rebuild` re-derives the table",
                    total - LISTED_PER_TABLE
                ),
                last: None,
            });
        }
        Ok(())
    }
}

fn digest(row: &[String]) -> [u8; 32] {
    let mut h = Sha256::new();
    for c in row {
        h.update((c.len() as u64).to_le_bytes());
        h.update(c.as_bytes());
    }
    h.finalize().into()
}
