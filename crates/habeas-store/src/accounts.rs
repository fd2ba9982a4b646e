//! Accounts: users with a role and a facility scope, argon2id passwords, API tokens kept only
//! as their SHA-256, and the append-only access log (who read whose file, when).
//!
//! These tables are not derived from the log: `rebuild` leaves them alone.

use std::sync::OnceLock;

use crate::db::{Conn, OptionalExtension, Row, params};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use habeas_domain::authz::Role;
use habeas_domain::{FacilityCode, RegisterNo};
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::store::Store;

/// Every API token starts with this.
pub const TOKEN_PREFIX: &str = "habeas_";
/// A password has at least this many characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// And at most this many (hashing is cheap in the length, but nobody needs more).
const MAX_PASSWORD_CHARS: usize = 1024;
const MAX_NAME_LEN: usize = 64;

/// A user account, as listed (never the password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// The facilities the user may act on; empty = every facility.
    pub facilities: Vec<FacilityCode>,
    pub disabled: bool,
    pub has_password: bool,
    pub created_at: Timestamp,
}

/// One read of the register, as the access log recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    pub at: Timestamp,
    pub user: String,
    pub register_no: Option<RegisterNo>,
    pub what: String,
}

fn check_name(name: &str) -> Result<(), StoreError> {
    let bad = |detail: &str| StoreError::BadUserName {
        name: name.to_owned(),
        detail: detail.to_owned(),
    };
    if name.is_empty() {
        return Err(bad("must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(bad("is longer than 64 characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(bad(
            "may hold only lowercase ASCII letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

fn check_password_rules(password: &str) -> Result<(), StoreError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(StoreError::BadPassword {
            detail: format!("must be at least {MIN_PASSWORD_CHARS} characters (got {n})"),
        });
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(StoreError::BadPassword {
            detail: format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        });
    }
    Ok(())
}

fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(bytes)
}

/// argon2id with the crate's default parameters and a 16-byte random salt, as a PHC string.
fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt: [u8; 16] = random()?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::PasswordHash(e.to_string()))
}

/// A hash no password matches in practice, verified against when there is no real one, so a
/// wrong name takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        Argon2::default()
            .hash_password_with_salt(b"habeas: no such user", b"habeas-no-user!!")
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

const USER_COLUMNS: &str = "users.name, users.role, users.facilities, users.password_hash IS NOT NULL, users.disabled, users.created_at";

fn corrupt(table: &'static str, key: &str, detail: impl ToString) -> StoreError {
    StoreError::CorruptRow {
        table,
        key: key.to_owned(),
        detail: detail.to_string(),
    }
}

/// A `users` row read with [`USER_COLUMNS`].
fn user_from_row(row: &Row<'_>) -> Result<Result<User, StoreError>, StoreError> {
    let name: String = row.get(0)?;
    let role: String = row.get(1)?;
    let facilities: String = row.get(2)?;
    let has_password: bool = row.get(3)?;
    let disabled: bool = row.get(4)?;
    let created_at: String = row.get(5)?;
    Ok((|| {
        Ok(User {
            role: role
                .parse()
                .map_err(|e| corrupt("users", &name, format!("role: {e}")))?,
            facilities: serde_json::from_str(&facilities)
                .map_err(|e| corrupt("users", &name, format!("facilities: {e}")))?,
            disabled,
            has_password,
            created_at: created_at
                .parse()
                .map_err(|e| corrupt("users", &name, format!("created_at: {e}")))?,
            name: name.clone(),
        })
    })())
}

impl Store {
    fn user_row(&self, name: &str) -> Result<Option<(User, Option<String>)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, users.password_hash FROM users WHERE name = ?1"
        ))?;
        let row = stmt
            .query_row([name], |r| {
                Ok((user_from_row(r)?, r.get::<_, Option<String>>(6)?))
            })
            .optional()?;
        match row {
            None => Ok(None),
            Some((user, hash)) => Ok(Some((user?, hash))),
        }
    }

    /// Adds a user. Names are 1–64 characters of `[a-z0-9._-]` and never reused; a password,
    /// if given, has at least [`MIN_PASSWORD_CHARS`] characters and is stored as argon2id.
    /// An empty `facilities` means every facility.
    pub fn add_user(
        &mut self,
        name: &str,
        role: Role,
        facilities: &[FacilityCode],
        password: Option<&str>,
    ) -> Result<(), StoreError> {
        check_name(name)?;
        let hash = match password {
            Some(p) => {
                check_password_rules(p)?;
                Some(hash_password(p)?)
            }
            None => None,
        };
        let mut scope = facilities.to_vec();
        scope.sort();
        scope.dedup();
        let scope = serde_json::to_string(&scope).map_err(std::io::Error::from)?;
        let inserted = self.conn.execute(
            "INSERT INTO users (name, role, facilities, password_hash, disabled, created_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5) ON CONFLICT (name) DO NOTHING",
            params![name, role.as_str(), scope, hash, self.now().to_string()],
        )?;
        if inserted == 0 {
            return Err(StoreError::UserExists {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Every user, by name.
    pub fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))?;
        let rows = stmt.query_map([], user_from_row)?;
        let mut users = Vec::new();
        for row in rows {
            users.push(row??);
        }
        Ok(users)
    }

    /// Disables a user: their password and every token stop working. Disabling twice is fine.
    pub fn disable_user(&mut self, name: &str) -> Result<(), StoreError> {
        let changed = self
            .conn
            .execute("UPDATE users SET disabled = 1 WHERE name = ?1", [name])?;
        if changed == 0 {
            return Err(StoreError::NoSuchUser {
                name: name.to_owned(),
            });
        }
        Ok(())
    }

    /// Issues a new API token for an enabled user: `habeas_` + 32 random bytes in base64url
    /// (no padding). It is returned only here; the register keeps its SHA-256.
    pub fn new_token(&mut self, name: &str) -> Result<String, StoreError> {
        match self.user_row(name)? {
            None => {
                return Err(StoreError::NoSuchUser {
                    name: name.to_owned(),
                });
            }
            Some((user, _)) if user.disabled => {
                return Err(StoreError::UserDisabled {
                    name: name.to_owned(),
                });
            }
            Some(_) => {}
        }
        let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(random::<32>()?));
        self.conn.execute(
            "INSERT INTO tokens (hash, \"user\", created_at) VALUES (?1, ?2, ?3)",
            params![&token_hash(&token)[..], name, self.now().to_string()],
        )?;
        Ok(token)
    }

    /// The enabled user a token belongs to; `None` for an unknown token or a disabled user.
    pub fn user_for_token(&self, token: &str) -> Result<Option<User>, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS} FROM tokens JOIN users ON users.name = tokens.\"user\"
             WHERE tokens.hash = ?1 AND users.disabled = 0"
        ))?;
        let user = stmt
            .query_row([&token_hash(token)[..]], user_from_row)
            .optional()?;
        user.transpose()
    }

    /// Opens a web session for a signed-in user: returns the session id (for the cookie) and
    /// its CSRF token. Only the id's SHA-256 is stored.
    pub fn new_session(
        &mut self,
        name: &str,
        lifetime: std::time::Duration,
    ) -> Result<(String, String), StoreError> {
        let id = URL_SAFE_NO_PAD.encode(random::<32>()?);
        let csrf = URL_SAFE_NO_PAD.encode(random::<32>()?);
        let expires = self
            .now()
            .as_microsecond()
            .saturating_add(i64::try_from(lifetime.as_micros()).unwrap_or(i64::MAX));
        self.conn.execute(
            "INSERT INTO sessions (hash, \"user\", csrf, expires_us) VALUES (?1, ?2, ?3, ?4)",
            params![&token_hash(&id)[..], name, csrf, expires],
        )?;
        Ok((id, csrf))
    }

    /// The user of a live session and its CSRF token; `None` if unknown, expired or the user
    /// is disabled.
    pub fn session_user(&self, id: &str) -> Result<Option<(User, String)>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {USER_COLUMNS}, sessions.csrf FROM sessions JOIN users ON users.name = sessions.\"user\"
             WHERE sessions.hash = ?1 AND users.disabled = 0 AND sessions.expires_us > ?2"
        ))?;
        let found = stmt
            .query_row(
                params![&token_hash(id)[..], self.now().as_microsecond()],
                |r| Ok((user_from_row(r)?, r.get::<_, String>(6)?)),
            )
            .optional()?;
        match found {
            None => Ok(None),
            Some((user, csrf)) => Ok(Some((user?, csrf))),
        }
    }

    /// Ends a session (sign-out).
    pub fn end_session(&mut self, id: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "DELETE FROM sessions WHERE hash = ?1",
            [&token_hash(id)[..]],
        )?;
        Ok(())
    }

    /// The enabled user with this name and password; `None` if the name is unknown, the user
    /// is disabled or has no password, or the password is wrong. argon2 compares in constant
    /// time, and an unknown name is verified against a dummy hash so it takes as long.
    pub fn check_password(&self, name: &str, password: &str) -> Result<Option<User>, StoreError> {
        let row = self.user_row(name)?;
        let hash = row
            .as_ref()
            .and_then(|(_, h)| h.as_deref())
            .unwrap_or_else(|| dummy_hash());
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), hash)
            .is_ok();
        Ok(match row {
            Some((user, Some(_))) if ok && !user.disabled => Some(user),
            _ => None,
        })
    }

    /// Records a read: who, whose file (if a person's), what (e.g. `person.show`). The time is
    /// the register's clock.
    pub fn log_access(
        &self,
        user: &str,
        register_no: Option<&RegisterNo>,
        what: &str,
    ) -> Result<(), StoreError> {
        let record = AccessRecord {
            at: self.now(),
            user: user.to_owned(),
            register_no: register_no.map(|r| r.to_string()),
            what: what.to_owned(),
        };
        if !self.conn.is_autocommit() {
            return append_access(&self.conn, self.signer(), std::slice::from_ref(&record));
        }
        // Its own transaction: the entry and the signed head land together.
        self.conn.begin_log()?;
        let result = append_access(&self.conn, self.signer(), std::slice::from_ref(&record))
            .and_then(|()| self.conn.execute_batch("COMMIT"));
        if result.is_err() && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        result
    }

    /// The latest `limit` entries of the access log, newest first.
    pub fn access_log(&self, limit: usize) -> Result<Vec<AccessEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, \"user\", register_no, what FROM access_log ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (id, at, user, register_no, what) = row?;
            let key = id.to_string();
            entries.push(AccessEntry {
                id,
                at: at
                    .parse()
                    .map_err(|e| corrupt("access_log", &key, format!("at: {e}")))?,
                user,
                register_no: register_no
                    .map(|r| RegisterNo::parse(&r))
                    .transpose()
                    .map_err(|e| corrupt("access_log", &key, format!("register_no: {e}")))?,
                what,
            });
        }
        Ok(entries)
    }
}

/// One read to record in the access log: who, when, whose file (if a person's), what.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    at: jiff::Timestamp,
    user: String,
    register_no: Option<String>,
    what: String,
}

impl AccessRecord {
    /// A read happening now.
    pub fn now(user: &str, register_no: Option<&RegisterNo>, what: &str) -> AccessRecord {
        AccessRecord {
            at: jiff::Timestamp::now(),
            user: user.to_owned(),
            register_no: register_no.map(|r| r.to_string()),
            what: what.to_owned(),
        }
    }
}

impl Store {
    /// Appends reads to the access log, inside the transaction opened by [`Store::begin`]
    /// (a server's one writer adds the reads queued meanwhile to its next group, so they
    /// become durable with it).
    pub fn record_access(&mut self, records: &[AccessRecord]) -> Result<(), StoreError> {
        if !self.in_transaction() {
            return Err(StoreError::NoTransaction);
        }
        append_access(&self.conn, self.signer(), records)
    }
}

/// The one writer of the access log: appends the entries and, when the stored head is sound,
/// folds them into it and signs it again, inside the caller's transaction. A missing or
/// broken head is left as found, for `verify` to report: resealing it would hide a deletion.
fn append_access(
    conn: &Conn,
    signer: &habeas_ledger::Signer,
    records: &[AccessRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut head = crate::access_head::stored(conn, signer.name())?;
    for r in records {
        let at = r.at.to_string();
        let id: i64 = conn.query_row(
            "INSERT INTO access_log (at, \"user\", register_no, what) VALUES (?1, ?2, ?3, ?4) RETURNING id",
            params![at, r.user, r.register_no, r.what],
            |row| row.get(0),
        )?;
        if let Some(h) = &mut head {
            h.fold(id, &at, &r.user, r.register_no.as_deref(), &r.what);
        }
    }
    if let Some(h) = head {
        crate::access_head::write(conn, signer, &h)?;
    }
    Ok(())
}
