//! The SQLite schema: the log (append-only by trigger) and the current-state tables.

/// Bumped on every change to the schema; `open` refuses a register of another version, except
/// schema 5, which a writable `open` brings to 6 (it only lacks the state guards).
pub const SCHEMA_VERSION: &str = "6";
/// The schema `open` upgrades in place by adding [`state_guards`].
pub const UPGRADED_FROM: &str = "5";
/// Written in `meta.format`: tells a habeas register from any other SQLite file.
pub const FORMAT: &str = "habeas-register";

pub const CREATE: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The log. seq is the leaf index. `record` is the canonical JSON of the event, `salt` the
-- 32 random bytes of its commitment, `leaf` the exact bytes whose hash is in the tree.
CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,
    type           TEXT    NOT NULL,
    subject        TEXT,
    at_us          INTEGER,
    recorded_at_us INTEGER NOT NULL,
    record         TEXT    NOT NULL,
    salt           BLOB    NOT NULL,
    leaf           BLOB    NOT NULL,
    -- The submission's source_id (also inside `record`): a command whose key is here is
    -- already recorded. Every event of one command carries it.
    source_id      TEXT
);
CREATE INDEX events_subject ON events(subject) WHERE subject IS NOT NULL;
CREATE INDEX events_source ON events(source_id) WHERE source_id IS NOT NULL;

-- Movements by kind and time, for the statistics' monthly series (stats.rs); daily-life
-- events stay out of it.
CREATE INDEX events_movements ON events(type, at_us) WHERE type IN ('admission.recorded', 'transfer.departed', 'release.recorded', 'death.recorded', 'escape.recorded');
-- Admissions under an agreement (the key appears in the canonical record only when set), for
-- the statistics per agreement.
CREATE INDEX events_agreement_admissions ON events(type) WHERE type = 'admission.recorded' AND instr(record, '"agreement":') > 0;

-- Hashes of complete full subtrees: (level, idx) covers leaves idx*2^level .. (idx+1)*2^level-1.
CREATE TABLE tree (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB    NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Every checkpoint ever signed, as the signed note.
CREATE TABLE checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB    NOT NULL,
    note      TEXT    NOT NULL,
    signed_at TEXT    NOT NULL
);

-- Nothing in the log is ever updated or deleted: the database itself refuses it.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the log is append-only: events cannot be updated'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the log is append-only: events cannot be deleted'); END;
CREATE TRIGGER tree_no_update BEFORE UPDATE ON tree
BEGIN SELECT RAISE(ABORT, 'the log is append-only: tree hashes cannot be updated'); END;
CREATE TRIGGER tree_no_delete BEFORE DELETE ON tree
BEGIN SELECT RAISE(ABORT, 'the log is append-only: tree hashes cannot be deleted'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'the log is append-only: checkpoints cannot be updated'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'the log is append-only: checkpoints cannot be deleted'); END;

-- Current state: a cache of the log, rebuilt by `habeas rebuild`. `data` holds the domain
-- entity as JSON; the other columns are what queries filter on.
CREATE TABLE facilities (code TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE units (path TEXT PRIMARY KEY, facility TEXT NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE cells (
    path TEXT PRIMARY KEY, facility TEXT NOT NULL, unit TEXT NOT NULL,
    places INTEGER NOT NULL, beds INTEGER NOT NULL, area_m2 REAL, data TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE court_orders (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE agreements (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE transfers (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE persons (
    register_no  TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    facility     TEXT,
    unit         TEXT,
    cell         TEXT,
    since_us     INTEGER NOT NULL,
    family_names TEXT,
    given_names  TEXT,
    date_of_birth TEXT,
    data         TEXT NOT NULL
);
CREATE INDEX persons_family_names ON persons(family_names);
CREATE INDEX persons_cell ON persons(cell) WHERE cell IS NOT NULL;
-- Every stay (a period with one whereabouts), for the population and the checks at any
-- date. recorded_us / until_recorded_us: when the register learnt of its start and end, so a
-- past date can be seen as it was known then.
CREATE TABLE stays (
    register_no TEXT    NOT NULL,
    idx         INTEGER NOT NULL,
    episode     INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    facility    TEXT,
    unit        TEXT,
    cell        TEXT,
    from_us     INTEGER NOT NULL,
    until_us    INTEGER,
    seq         INTEGER NOT NULL,
    recorded_us INTEGER NOT NULL,
    until_recorded_us INTEGER,
    PRIMARY KEY (register_no, idx)
) WITHOUT ROWID;
CREATE INDEX stays_until ON stays(until_us);
CREATE INDEX stays_until_recorded ON stays(until_recorded_us) WHERE until_recorded_us IS NOT NULL;
-- Covering for the roll-count check (who was in a unit at a time) without touching the table.
CREATE INDEX stays_unit ON stays(unit, until_us, status, from_us, recorded_us) WHERE unit IS NOT NULL;
-- Covering (until, from) for the statistics' monthly series: which stays overlap a span.
CREATE INDEX stays_span ON stays(until_us, from_us);

-- The persons held now as the checks read them (`Person::for_checks`), for findings at any
-- time since their file last changed: changed_at_us / changed_recorded_us are the latest time
-- anything in it happened and was recorded (`Person::last_change`). Written with `persons`.
-- A rowid table: its rows (about 2 KB) stay on their page, where WITHOUT ROWID would put
-- most of each on overflow pages, and findings read them in one scan.
CREATE TABLE held_persons (
    register_no         TEXT    NOT NULL UNIQUE,
    episode             INTEGER NOT NULL,
    changed_at_us       INTEGER NOT NULL,
    changed_recorded_us INTEGER NOT NULL,
    data                TEXT    NOT NULL
);
CREATE INDEX held_persons_changed_at ON held_persons(changed_at_us);
CREATE INDEX held_persons_changed_recorded ON held_persons(changed_recorded_us);
-- Per custody episode, the facts the checks count from admission, kept up to date as they are
-- recorded so that no check scans history: the first legal visit and health exam, the latest
-- family contact (each with when it was recorded), and every notification about the person
-- ([at_us, to, about, declined, seq, recorded_us] each). A fact belongs to the last episode
-- admitted at or before it.
CREATE TABLE episode_facts (
    register_no TEXT    NOT NULL,
    episode     INTEGER NOT NULL,
    legal_visit_us INTEGER, legal_visit_seq INTEGER, legal_visit_recorded_us INTEGER,
    exam_us        INTEGER, exam_seq        INTEGER, exam_recorded_us        INTEGER,
    family_us      INTEGER, family_seq      INTEGER, family_recorded_us      INTEGER,
    notifications  TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (register_no, episode)
) WITHOUT ROWID;

-- Events recorded more than an hour after they happened: late-record reads only these when
-- its limit is an hour or more, and all events recorded in its window otherwise.
CREATE INDEX events_late ON events(recorded_at_us) WHERE recorded_at_us - at_us > 3600000000;
CREATE INDEX events_recorded ON events(recorded_at_us, at_us);

-- Entities of the daily-life records.
CREATE TABLE health_requests (request TEXT PRIMARY KEY, register_no TEXT NOT NULL, data TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE settings (seq INTEGER PRIMARY KEY, at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL, data TEXT NOT NULL);

-- Facts of the daily-life records, as the checks query them (one row per fact).
CREATE TABLE contacts (
    seq INTEGER PRIMARY KEY, register_no TEXT NOT NULL, kind TEXT NOT NULL,
    at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL
);
CREATE INDEX contacts_person ON contacts(register_no, at_us);
-- Covering indexes (seq is the rowid): the checks' range scans never touch the table.
CREATE INDEX contacts_at ON contacts(at_us, kind, recorded_us, register_no);
CREATE INDEX contacts_kind_at ON contacts(kind, at_us, recorded_us, register_no);
CREATE TABLE notifications (
    seq INTEGER PRIMARY KEY, register_no TEXT NOT NULL, to_whom TEXT NOT NULL, about TEXT NOT NULL,
    declined INTEGER NOT NULL, at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL
);
CREATE INDEX notifications_person ON notifications(register_no, at_us);
CREATE INDEX notifications_at ON notifications(at_us, recorded_us, register_no, to_whom, about, declined);
CREATE TABLE health_exams (
    seq INTEGER PRIMARY KEY, register_no TEXT NOT NULL, injuries INTEGER NOT NULL,
    at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL
);
CREATE INDEX health_exams_person ON health_exams(register_no, at_us);
CREATE INDEX health_exams_at ON health_exams(at_us, recorded_us, register_no);
CREATE INDEX health_exams_injuries ON health_exams(at_us) WHERE injuries = 1;
CREATE TABLE exercise (
    seq INTEGER PRIMARY KEY, at_us INTEGER NOT NULL, until_us INTEGER NOT NULL,
    recorded_us INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX exercise_at ON exercise(at_us);
CREATE TABLE incidents (
    seq INTEGER PRIMARY KEY, incident TEXT NOT NULL, register_no TEXT NOT NULL, kind TEXT NOT NULL,
    referred INTEGER NOT NULL, at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL
);
CREATE INDEX incidents_at ON incidents(at_us);
CREATE TABLE counts (
    seq INTEGER PRIMARY KEY, unit TEXT NOT NULL, counted INTEGER NOT NULL,
    at_us INTEGER NOT NULL, recorded_us INTEGER NOT NULL
);
CREATE INDEX counts_unit ON counts(unit, at_us);
CREATE TABLE departures (
    seq INTEGER PRIMARY KEY, register_no TEXT NOT NULL, at_us INTEGER NOT NULL,
    recorded_us INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE INDEX departures_at ON departures(at_us);
CREATE TABLE deaths (
    seq INTEGER PRIMARY KEY, register_no TEXT NOT NULL, facility TEXT, at_us INTEGER NOT NULL,
    recorded_us INTEGER NOT NULL
);
CREATE INDEX deaths_at ON deaths(at_us);

-- Accounts (not derived from the log; `rebuild` leaves them alone). A user is disabled, never
-- deleted, so a name in the access log always means the same person.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    facilities    TEXT NOT NULL, -- JSON array of facility codes; [] = every facility
    password_hash TEXT,          -- argon2id PHC string
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
CREATE TRIGGER users_no_delete BEFORE DELETE ON users
BEGIN SELECT RAISE(ABORT, 'users are disabled, never deleted'); END;
-- API tokens: only the SHA-256 of the token is kept.
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name),
    created_at TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens(user);
-- Web sessions after a password sign-in: the cookie's id is stored hashed; each session has
-- its own CSRF token. Ended sessions are deleted.
CREATE TABLE sessions (
    hash       BLOB PRIMARY KEY,
    user       TEXT NOT NULL REFERENCES users(name),
    csrf       TEXT NOT NULL,
    expires_us INTEGER NOT NULL
);
-- Every read of a person's file: who, when, whose. Append-only like the log.
CREATE TABLE access_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    user        TEXT NOT NULL,
    register_no TEXT,
    what        TEXT NOT NULL
);
CREATE INDEX access_log_person ON access_log(register_no) WHERE register_no IS NOT NULL;
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: entries cannot be updated'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'the access log is append-only: entries cannot be deleted'); END;
"#;

/// The current-state tables, in the order `rebuild` clears them.
pub const STATE_TABLES: &[&str] = &[
    "facilities",
    "units",
    "cells",
    "court_orders",
    "agreements",
    "transfers",
    "persons",
    "stays",
    "held_persons",
    "episode_facts",
    "health_requests",
    "settings",
    "contacts",
    "notifications",
    "health_exams",
    "exercise",
    "incidents",
    "counts",
    "departures",
    "deaths",
];

/// The name of the SQL function that tells the register's own connections from any other. The
/// register registers it on each connection it opens; a trigger that calls it from elsewhere
/// (the `sqlite3` shell, another program) fails with "no such function", so the write is
/// refused either way.
pub const WRITER_FUNCTION: &str = "habeas_writer";

/// Triggers refusing inserts, updates and deletes on every current-state table from anything
/// but the register (schema 6). A guard against edits by hand and other programs: whoever
/// controls the file can drop it, and `verify` is what detects a changed state.
pub fn state_guards() -> String {
    let mut sql = String::new();
    for table in STATE_TABLES {
        for op in ["INSERT", "UPDATE", "DELETE"] {
            sql.push_str(&format!(
                "CREATE TRIGGER IF NOT EXISTS {table}_{lower}_by_register_only BEFORE {op} ON {table}
                 WHEN {WRITER_FUNCTION}() IS NOT 1
                 BEGIN SELECT RAISE(ABORT, '{table} is current state derived from the log: only the register writes it (habeas rebuild re-derives it)'); END;\n",
                lower = op.to_lowercase(),
            ));
        }
    }
    sql
}
