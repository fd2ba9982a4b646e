//! `copy`: a register into a new one on the same or the other backend, the log byte for byte
//! (records, salts, leaves, tree hashes, every signed checkpoint), the accounts and the
//! access log; the current-state tables are then rebuilt from the copied log, and the copy is
//! verified before it is handed back.

use std::path::Path;

use habeas_ledger::Signer;

use crate::db::{DbLocation, params};
use crate::error::StoreError;
use crate::store::Store;

/// Events copied per statement batch: bounds the memory a copy of a national register needs.
const CHUNK: i64 = 10_000;

impl Store {
    /// Copies this register to a new one at `target`, signed by the same key, which is
    /// written to `key_file` (or, if that file exists, must be this register's key). Refuses
    /// a source that does not verify: a copy must not launder a damaged log.
    pub fn copy_to(&self, target: &DbLocation, key_file: &Path) -> Result<Store, StoreError> {
        let refuse = |detail: String| StoreError::Copy { detail };
        let report = self.verify(None)?;
        if let Some(p) = report.problems.first() {
            return Err(refuse(format!(
                "the source does not verify ({} problems; the first: {})",
                report.problems.len(),
                p.what
            )));
        }
        let write_key = match std::fs::read_to_string(key_file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => {
                return Err(StoreError::Key {
                    path: key_file.to_owned(),
                    detail: e.to_string(),
                });
            }
            Ok(text) => {
                let same = Signer::from_private_key(text.trim())
                    .is_ok_and(|s| s.verifier_key() == self.verifier_key());
                if !same {
                    return Err(StoreError::Key {
                        path: key_file.to_owned(),
                        detail: "the file holds another key than the source register's".into(),
                    });
                }
                false
            }
        };
        let mut copy = Store::create_with_key(target, key_file, self.signer(), write_key)?;
        let copied = (|| {
            self.conn.begin_read()?;
            let result = self.copy_rows(&copy, true);
            let end = self.conn.execute_batch("COMMIT");
            result.and(end)
        })();
        if let Err(e) = copied {
            return Err(refuse(format!(
                "copying into {} failed: {e}; it holds an empty register now, remove it before trying again",
                copy.path().display()
            )));
        }
        copy.rebuild()?;
        let check = copy.verify(None)?;
        let source_head = self.latest_checkpoint().optional_checkpoint()?;
        let copy_head = copy.latest_checkpoint().optional_checkpoint()?;
        if !check.ok() || source_head != copy_head {
            return Err(refuse(format!(
                "the copy at {} does not verify as the source does",
                copy.path().display()
            )));
        }
        Ok(copy)
    }

    /// Every row of the log and (with `accounts`) the accounts, from this store's read
    /// snapshot into `copy`, in one write transaction there.
    pub(crate) fn copy_rows(&self, copy: &Store, accounts: bool) -> Result<(), StoreError> {
        let to = &copy.conn;
        to.begin_log()?;
        let result = (|| {
            let mut from_seq = 0i64;
            loop {
                let mut n = 0;
                let mut stmt = self.conn.prepare_cached(
                    "SELECT seq, type, subject, at_us, recorded_at_us, record, salt, leaf, source_id
                     FROM events WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
                )?;
                let mut rows = stmt.query(params![from_seq, CHUNK])?;
                let mut ins = to.prepare_cached(
                    "INSERT INTO events (seq, type, subject, at_us, recorded_at_us, record, salt, leaf, source_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?;
                while let Some(r) = rows.next()? {
                    let seq: i64 = r.get(0)?;
                    ins.execute(params![
                        seq,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Vec<u8>>(6)?,
                        r.get::<_, Vec<u8>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                    ])?;
                    from_seq = seq + 1;
                    n += 1;
                }
                if n < CHUNK {
                    break;
                }
            }
            copy_table(
                self,
                to,
                "SELECT level, idx, hash FROM tree ORDER BY level, idx",
                "INSERT INTO tree (level, idx, hash) VALUES (?1, ?2, ?3)",
                |r| {
                    Ok(vec![
                        Col::I(r.get(0)?),
                        Col::I(r.get(1)?),
                        Col::B(r.get(2)?),
                    ])
                },
            )?;
            copy_table(
                self,
                to,
                "SELECT size, root, note, signed_at FROM checkpoints ORDER BY size",
                "INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?1, ?2, ?3, ?4)",
                |r| {
                    Ok(vec![
                        Col::I(r.get(0)?),
                        Col::B(r.get(1)?),
                        Col::T(r.get(2)?),
                        Col::T(r.get(3)?),
                    ])
                },
            )?;
            if !accounts {
                return to.execute_batch("COMMIT");
            }
            copy_table(
                self,
                to,
                "SELECT name, role, facilities, password_hash, disabled, created_at FROM users ORDER BY name",
                "INSERT INTO users (name, role, facilities, password_hash, disabled, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                |r| {
                    Ok(vec![
                        Col::T(r.get(0)?),
                        Col::T(r.get(1)?),
                        Col::T(r.get(2)?),
                        Col::OptT(r.get(3)?),
                        Col::I(r.get(4)?),
                        Col::T(r.get(5)?),
                    ])
                },
            )?;
            copy_table(
                self,
                to,
                "SELECT hash, \"user\", created_at FROM tokens ORDER BY hash",
                "INSERT INTO tokens (hash, \"user\", created_at) VALUES (?1, ?2, ?3)",
                |r| {
                    Ok(vec![
                        Col::B(r.get(0)?),
                        Col::T(r.get(1)?),
                        Col::T(r.get(2)?),
                    ])
                },
            )?;
            // In id order, so an empty copy numbers them as the source did.
            copy_table(
                self,
                to,
                "SELECT at, \"user\", register_no, what FROM access_log ORDER BY id",
                "INSERT INTO access_log (at, \"user\", register_no, what) VALUES (?1, ?2, ?3, ?4)",
                |r| {
                    Ok(vec![
                        Col::T(r.get(0)?),
                        Col::T(r.get(1)?),
                        Col::OptT(r.get(2)?),
                        Col::T(r.get(3)?),
                    ])
                },
            )?;
            // The copy's head, over the same entries, signed with the copy's key.
            crate::access_head::write(to, copy.signer(), &crate::access_head::fold_all(to)?)?;
            to.execute_batch("COMMIT")
        })();
        if result.is_err() && !to.is_autocommit() {
            let _ = to.execute_batch("ROLLBACK");
        }
        result
    }
}

/// A copied column value.
enum Col {
    I(i64),
    T(String),
    OptT(Option<String>),
    B(Vec<u8>),
}

impl crate::db::Param for Col {
    fn value(&self) -> crate::db::Value<'_> {
        match self {
            Col::I(i) => i.value(),
            Col::T(t) => t.value(),
            Col::OptT(t) => t.value(),
            Col::B(b) => b.value(),
        }
    }
}

fn copy_table(
    from: &Store,
    to: &crate::db::Conn,
    select: &str,
    insert: &str,
    row: impl Fn(&crate::db::Row<'_>) -> Result<Vec<Col>, StoreError>,
) -> Result<(), StoreError> {
    let mut stmt = from.conn.prepare(select)?;
    let mut rows = stmt.query([])?;
    let mut ins = to.prepare_cached(insert)?;
    while let Some(r) = rows.next()? {
        let cols = row(&r)?;
        let params: Vec<&dyn crate::db::Param> =
            cols.iter().map(|c| c as &dyn crate::db::Param).collect();
        ins.execute(params.as_slice())?;
    }
    Ok(())
}

trait OptionalCheckpoint {
    fn optional_checkpoint(self) -> Result<Option<(u64, String)>, StoreError>;
}

impl OptionalCheckpoint for Result<crate::store::SignedCheckpoint, StoreError> {
    fn optional_checkpoint(self) -> Result<Option<(u64, String)>, StoreError> {
        match self {
            Ok(c) => Ok(Some((c.size, c.note))),
            Err(StoreError::NoCheckpoint) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl Store {
    /// Every row of a log, account or current-state table as text, sorted: what `copy` and the conformance tests compare across backends.
    #[doc(hidden)]
    pub fn table_rows(&self, table: &str) -> Result<Vec<Vec<String>>, StoreError> {
        const OTHER: &[&str] = &[
            "events",
            "tree",
            "checkpoints",
            "users",
            "tokens",
            "access_log",
        ];
        if !crate::schema::STATE_TABLES.contains(&table) && !OTHER.contains(&table) {
            return Err(StoreError::Copy {
                detail: format!("no table `{table}`"),
            });
        }
        let mut stmt = self.conn.prepare(&format!("SELECT * FROM {table}"))?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(
                (0..r.column_count())
                    .map(|i| r.get_text(i))
                    .collect::<Result<_, _>>()?,
            );
        }
        // Sorted here, not by the database: collations differ between backends.
        out.sort();
        Ok(out)
    }
}
