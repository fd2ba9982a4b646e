//! The access log's signed head (#15, item 2): every entry is folded, in id order, into one
//! running SHA-256, and the register signs (count, hash) as a note in `meta` with each write
//! to the access log. The triggers already refuse updates and deletes; the head is what tells
//! `verify` that entries were deleted or changed by someone who dropped the triggers — the
//! newest entries included, which a chain alone cannot show. Not in the C2SP checkpoint: the
//! access log is not part of the published log, and its entries are personal data.
//!
//! Limit: someone who can write the database can put back an older signed head and delete
//! the entries since it; only a copy of the head kept outside the database shows that.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use habeas_ledger::{Note, Signer, Verifier};
use sha2::{Digest, Sha256};

use crate::db::{Conn, OptionalExtension, params};
use crate::error::StoreError;

/// The `meta` key of the signed head.
pub(crate) const HEAD_KEY: &str = "access_log_head";
/// The first line of the head's note: never an origin, so never taken for a checkpoint.
const FORMAT_LINE: &str = "habeas-access-log/v1";

/// Entries folded so far and the running hash over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub count: u64,
    pub hash: [u8; 32],
}

impl Head {
    pub(crate) const EMPTY: Head = Head {
        count: 0,
        hash: [0; 32],
    };

    /// Folds one entry in: every field length-prefixed, so no two entries fold alike.
    pub(crate) fn fold(
        &mut self,
        id: i64,
        at: &str,
        user: &str,
        register_no: Option<&str>,
        what: &str,
    ) {
        let mut h = Sha256::new();
        h.update(self.hash);
        h.update(id.to_le_bytes());
        for field in [Some(at), Some(user), register_no, Some(what)] {
            match field {
                None => h.update(u64::MAX.to_le_bytes()),
                Some(f) => {
                    h.update((f.len() as u64).to_le_bytes());
                    h.update(f.as_bytes());
                }
            }
        }
        self.hash = h.finalize().into();
        self.count += 1;
    }

    /// The note's text: format, origin, count, hash.
    fn text(&self, origin: &str) -> String {
        format!(
            "{FORMAT_LINE}\n{origin}\n{}\n{}\n",
            self.count,
            STANDARD.encode(self.hash)
        )
    }

    fn parse_text(text: &str, origin: &str) -> Result<Head, String> {
        let lines: Vec<&str> = text.lines().collect();
        let [format, o, count, hash] = lines.as_slice() else {
            return Err("it is not four lines".into());
        };
        if *format != FORMAT_LINE || *o != origin {
            return Err(format!("it is `{format}` for `{o}`, not this register's"));
        }
        let count = count
            .parse()
            .map_err(|_| format!("its count `{count}` is not a number"))?;
        let hash = STANDARD
            .decode(hash)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or("its hash is not 32 bytes of base64")?;
        Ok(Head { count, hash })
    }
}

/// The stored head, parsed but not verified (the writer's path: verify checks signatures).
/// `None` if there is none or it does not parse: then the writer leaves it for `verify`.
pub(crate) fn stored(conn: &Conn, origin: &str) -> Result<Option<Head>, StoreError> {
    Ok(note(conn)?.and_then(|n| {
        let parsed = Note::parse(&n).ok()?;
        Head::parse_text(&parsed.text, origin).ok()
    }))
}

/// The stored head, verified with the register's key: `Ok(None)` if there is none,
/// `Err(why)` if it does not verify.
pub(crate) fn verified(
    conn: &Conn,
    origin: &str,
    verifier: &Verifier,
) -> Result<Option<Result<Head, String>>, StoreError> {
    Ok(note(conn)?.map(|n| {
        let opened = Note::open(&n, std::slice::from_ref(verifier))
            .map_err(|e| format!("its signature does not verify: {e}"))?;
        Head::parse_text(&opened.text, origin)
    }))
}

fn note(conn: &Conn) -> Result<Option<String>, StoreError> {
    conn.query_row(
        "SELECT value FROM meta WHERE key = ?1",
        params![HEAD_KEY],
        |r| r.get(0),
    )
    .optional()
}

/// Signs `head` and stores it, inside the caller's transaction.
pub(crate) fn write(conn: &Conn, signer: &Signer, head: &Head) -> Result<(), StoreError> {
    let note = Note::sign(&head.text(signer.name()), &[signer])
        .map_err(|e| StoreError::Ledger(format!("signing the access log's head: {e}")))?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![HEAD_KEY, note],
    )?;
    Ok(())
}

/// The head of every entry stored, folded from the first.
pub(crate) fn fold_all(conn: &Conn) -> Result<Head, StoreError> {
    let mut head = Head::EMPTY;
    let mut stmt =
        conn.prepare("SELECT id, at, \"user\", register_no, what FROM access_log ORDER BY id")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let at: String = r.get(1)?;
        let user: String = r.get(2)?;
        let register_no: Option<String> = r.get(3)?;
        let what: String = r.get(4)?;
        head.fold(id, &at, &user, register_no.as_deref(), &what);
    }
    Ok(head)
}

impl crate::store::Store {
    /// `verify`'s check of the access log against its signed head: a problem per way it
    /// differs (entries deleted, added or changed; head missing or forged).
    pub(crate) fn check_access_log(&self) -> Result<Vec<crate::log::Problem>, StoreError> {
        let problem = |what: String| crate::log::Problem {
            seq: None,
            what: format!("access log: {what}"),
            last: None,
        };
        let found = fold_all(&self.conn)?;
        let head = match verified(&self.conn, self.signer().name(), &self.verifier())? {
            None => {
                return Ok(vec![problem(format!(
                    "it holds {} entries but its signed head is missing: it was removed",
                    found.count
                ))]);
            }
            Some(Err(why)) => return Ok(vec![problem(format!("its signed head is bad: {why}"))]),
            Some(Ok(head)) => head,
        };
        Ok(if found.count < head.count {
            vec![problem(format!(
                "{} of the {} entries its signed head counts are missing: entries were deleted",
                head.count - found.count,
                head.count
            ))]
        } else if found.count > head.count {
            vec![problem(format!(
                "it holds {} entries but its signed head counts {}: entries were added outside the register",
                found.count, head.count
            ))]
        } else if found.hash != head.hash {
            vec![problem(format!(
                "its {} entries do not hash to its signed head: entries were changed or replaced",
                found.count
            ))]
        } else {
            Vec::new()
        })
    }
}
