//! The PostgreSQL schema, as numbered migrations. The tables and columns are SQLite's
//! (`schema.rs`) in PostgreSQL's types (BIGINT, BYTEA, DOUBLE PRECISION); the append-only
//! rules are PL/pgSQL triggers, which also refuse TRUNCATE. `schema_migrations` records each
//! migration applied; `open` applies the missing ones, in order, under the log's lock.

/// One step of the schema: its number and its statements, applied in one transaction.
pub struct Migration {
    pub version: u32,
    pub sql: &'static str,
}

/// Every migration, in order. A register whose latest migration is newer than the last one
/// here was written by a newer habeas and is refused.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: MIGRATION_1,
    },
    Migration {
        version: 2,
        sql: MIGRATION_2,
    },
    Migration {
        version: 3,
        sql: MIGRATION_3,
    },
    Migration {
        version: 4,
        sql: MIGRATION_4,
    },
];

/// Migrations after which the current-state tables must be rebuilt from the log (they add a
/// projection that an existing register's events have not filled yet).
pub const REBUILD_AFTER: &[u32] = &[2];

/// The migration from which the access log has a signed head (access_head.rs): `open` signs
/// the first one over the entries already there.
pub const ACCESS_HEAD_FROM: u32 = 4;

/// The schema version this build writes: the last migration's.
pub fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// `latest()` as text, for messages.
pub const LATEST_NAME: &str = "4";

/// The table of applied migrations (created before the first one).
pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    applied_at TEXT NOT NULL
)";

const MIGRATION_1: &str = r#"CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- The log. seq is the leaf index. `record` is the canonical JSON of the event, `salt` the
-- 32 random bytes of its commitment, `leaf` the exact bytes whose hash is in the tree.
CREATE TABLE events (
    seq            BIGINT PRIMARY KEY,
    type           TEXT    NOT NULL,
    subject        TEXT,
    at_us          BIGINT,
    recorded_at_us BIGINT NOT NULL,
    record         TEXT    NOT NULL,
    salt           BYTEA    NOT NULL,
    leaf           BYTEA    NOT NULL
);
CREATE INDEX events_subject ON events(subject) WHERE subject IS NOT NULL;

-- Hashes of complete full subtrees: (level, idx) covers leaves idx*2^level .. (idx+1)*2^level-1.
CREATE TABLE tree (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA    NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Every checkpoint ever signed, as the signed note.
CREATE TABLE checkpoints (
    size      BIGINT PRIMARY KEY,
    root      BYTEA    NOT NULL,
    note      TEXT    NOT NULL,
    signed_at TEXT    NOT NULL
);


-- Current state: a cache of the log, rebuilt by `habeas rebuild`. `data` holds the domain
-- entity as JSON; the other columns are what queries filter on.
CREATE TABLE facilities (code TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE units (path TEXT PRIMARY KEY, facility TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE cells (
    path TEXT PRIMARY KEY, facility TEXT NOT NULL, unit TEXT NOT NULL,
    places BIGINT NOT NULL, beds BIGINT NOT NULL, area_m2 DOUBLE PRECISION, data TEXT NOT NULL
);
CREATE TABLE court_orders (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE agreements (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE transfers (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE persons (
    register_no  TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    facility     TEXT,
    unit         TEXT,
    cell         TEXT,
    since_us     BIGINT NOT NULL,
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
    idx         BIGINT NOT NULL,
    episode     BIGINT NOT NULL,
    status      TEXT    NOT NULL,
    facility    TEXT,
    unit        TEXT,
    cell        TEXT,
    from_us     BIGINT NOT NULL,
    until_us    BIGINT,
    seq         BIGINT NOT NULL,
    recorded_us BIGINT NOT NULL,
    until_recorded_us BIGINT,
    PRIMARY KEY (register_no, idx)
);
CREATE INDEX stays_until ON stays(until_us);
CREATE INDEX stays_until_recorded ON stays(until_recorded_us) WHERE until_recorded_us IS NOT NULL;
CREATE INDEX stays_unit ON stays(unit, until_us) WHERE unit IS NOT NULL;

-- Events recorded more than an hour after they happened (late-record reads only these).
CREATE INDEX events_late ON events(recorded_at_us) WHERE recorded_at_us - at_us > 3600000000;

-- Entities of the daily-life records.
CREATE TABLE health_requests (request TEXT PRIMARY KEY, register_no TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE settings (seq BIGINT PRIMARY KEY, at_us BIGINT NOT NULL, recorded_us BIGINT NOT NULL, data TEXT NOT NULL);

-- Facts of the daily-life records, as the checks query them (one row per fact).
CREATE TABLE contacts (
    seq BIGINT PRIMARY KEY, register_no TEXT NOT NULL, kind TEXT NOT NULL,
    at_us BIGINT NOT NULL, recorded_us BIGINT NOT NULL
);
CREATE INDEX contacts_person ON contacts(register_no, at_us);
-- Covering indexes (seq is the rowid): the checks' range scans never touch the table.
CREATE INDEX contacts_at ON contacts(at_us, kind, recorded_us, register_no);
CREATE INDEX contacts_kind_at ON contacts(kind, at_us, recorded_us, register_no);
CREATE TABLE notifications (
    seq BIGINT PRIMARY KEY, register_no TEXT NOT NULL, to_whom TEXT NOT NULL, about TEXT NOT NULL,
    declined BIGINT NOT NULL, at_us BIGINT NOT NULL, recorded_us BIGINT NOT NULL
);
CREATE INDEX notifications_person ON notifications(register_no, at_us);
CREATE INDEX notifications_at ON notifications(at_us, recorded_us, register_no, to_whom, about, declined);
CREATE TABLE health_exams (
    seq BIGINT PRIMARY KEY, register_no TEXT NOT NULL, injuries BIGINT NOT NULL,
    at_us BIGINT NOT NULL, recorded_us BIGINT NOT NULL
);
CREATE INDEX health_exams_person ON health_exams(register_no, at_us);
CREATE INDEX health_exams_at ON health_exams(at_us, recorded_us, register_no);
CREATE INDEX health_exams_injuries ON health_exams(at_us) WHERE injuries = 1;
CREATE TABLE exercise (
    seq BIGINT PRIMARY KEY, at_us BIGINT NOT NULL, until_us BIGINT NOT NULL,
    recorded_us BIGINT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX exercise_at ON exercise(at_us);
CREATE TABLE incidents (
    seq BIGINT PRIMARY KEY, incident TEXT NOT NULL, register_no TEXT NOT NULL, kind TEXT NOT NULL,
    referred BIGINT NOT NULL, at_us BIGINT NOT NULL, recorded_us BIGINT NOT NULL
);
CREATE INDEX incidents_at ON incidents(at_us);
CREATE TABLE counts (
    seq BIGINT PRIMARY KEY, unit TEXT NOT NULL, counted BIGINT NOT NULL,
    at_us BIGINT NOT NULL, recorded_us BIGINT NOT NULL
);
CREATE INDEX counts_unit ON counts(unit, at_us);
CREATE TABLE departures (
    seq BIGINT PRIMARY KEY, register_no TEXT NOT NULL, at_us BIGINT NOT NULL,
    recorded_us BIGINT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX departures_at ON departures(at_us);
CREATE TABLE deaths (
    seq BIGINT PRIMARY KEY, register_no TEXT NOT NULL, facility TEXT, at_us BIGINT NOT NULL,
    recorded_us BIGINT NOT NULL
);
CREATE INDEX deaths_at ON deaths(at_us);

-- Accounts (not derived from the log; `rebuild` leaves them alone). A user is disabled, never
-- deleted, so a name in the access log always means the same person.
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    facilities    TEXT NOT NULL, -- JSON array of facility codes; [] = every facility
    password_hash TEXT,          -- argon2id PHC string
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);
-- API tokens: only the SHA-256 of the token is kept.
CREATE TABLE tokens (
    hash       BYTEA PRIMARY KEY,
    "user"       TEXT NOT NULL REFERENCES users(name),
    created_at TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens("user");
-- Web sessions after a password sign-in: the cookie's id is stored hashed; each session has
-- its own CSRF token. Ended sessions are deleted.
CREATE TABLE sessions (
    hash       BYTEA PRIMARY KEY,
    "user"       TEXT NOT NULL REFERENCES users(name),
    csrf       TEXT NOT NULL,
    expires_us BIGINT NOT NULL
);
-- Every read of a person's file: who, when, whose. Append-only like the log.
CREATE TABLE access_log (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at          TEXT NOT NULL,
    "user"        TEXT NOT NULL,
    register_no TEXT,
    what        TEXT NOT NULL
);
CREATE INDEX access_log_person ON access_log(register_no) WHERE register_no IS NOT NULL;

-- Nothing in the log is ever updated, deleted or truncated: the database itself refuses it.
CREATE FUNCTION habeas_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] || ' ' || lower(TG_OP) || 'd'
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events FOR EACH ROW
    EXECUTE FUNCTION habeas_refuse_change('the log is append-only: events cannot be');
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT
    EXECUTE FUNCTION habeas_refuse_change('the log is append-only: events cannot be');
CREATE TRIGGER tree_append_only BEFORE UPDATE OR DELETE ON tree FOR EACH ROW
    EXECUTE FUNCTION habeas_refuse_change('the log is append-only: tree hashes cannot be');
CREATE TRIGGER tree_no_truncate BEFORE TRUNCATE ON tree FOR EACH STATEMENT
    EXECUTE FUNCTION habeas_refuse_change('the log is append-only: tree hashes cannot be');
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW
    EXECUTE FUNCTION habeas_refuse_change('the log is append-only: checkpoints cannot be');
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT
    EXECUTE FUNCTION habeas_refuse_change('the log is append-only: checkpoints cannot be');
CREATE TRIGGER users_no_delete BEFORE DELETE ON users FOR EACH ROW
    EXECUTE FUNCTION habeas_refuse_change('users are disabled, never');
CREATE TRIGGER users_no_truncate BEFORE TRUNCATE ON users FOR EACH STATEMENT
    EXECUTE FUNCTION habeas_refuse_change('users are disabled, never');
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log FOR EACH ROW
    EXECUTE FUNCTION habeas_refuse_change('the access log is append-only: entries cannot be');
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log FOR EACH STATEMENT
    EXECUTE FUNCTION habeas_refuse_change('the access log is append-only: entries cannot be');
"#;

/// SQLite's schema 4: indexes for the statistics, a covering index for roll counts, the
/// held-now projection and the facts kept per episode for the findings.
const MIGRATION_2: &str = r#"
-- Movements by kind and time, for the statistics' monthly series (stats.rs).
CREATE INDEX events_movements ON events(type, at_us) WHERE type IN ('admission.recorded', 'transfer.departed', 'release.recorded', 'death.recorded', 'escape.recorded');
-- Admissions under an agreement (SQLite's instr is strpos here; the dialect translates the
-- queries the same way).
CREATE INDEX events_agreement_admissions ON events(type) WHERE type = 'admission.recorded' AND strpos(record, '"agreement":') > 0;
CREATE INDEX events_recorded ON events(recorded_at_us, at_us);

DROP INDEX stays_unit;
CREATE INDEX stays_unit ON stays(unit, until_us, status, from_us, recorded_us) WHERE unit IS NOT NULL;
CREATE INDEX stays_span ON stays(until_us, from_us);

CREATE TABLE held_persons (
    register_no         TEXT PRIMARY KEY,
    episode             BIGINT NOT NULL,
    changed_at_us       BIGINT NOT NULL,
    changed_recorded_us BIGINT NOT NULL,
    data                TEXT   NOT NULL
);
CREATE INDEX held_persons_changed_at ON held_persons(changed_at_us);
CREATE INDEX held_persons_changed_recorded ON held_persons(changed_recorded_us);
CREATE TABLE episode_facts (
    register_no TEXT   NOT NULL,
    episode     BIGINT NOT NULL,
    legal_visit_us BIGINT, legal_visit_seq BIGINT, legal_visit_recorded_us BIGINT,
    exam_us        BIGINT, exam_seq        BIGINT, exam_recorded_us        BIGINT,
    family_us      BIGINT, family_seq      BIGINT, family_recorded_us      BIGINT,
    notifications  TEXT   NOT NULL DEFAULT '[]',
    PRIMARY KEY (register_no, episode)
);
"#;

/// SQLite's schema 5.
const MIGRATION_3: &str = r#"
-- The submission's source_id (also inside `record`): a command whose key is here is already
-- recorded. Records written before this migration carry none, so the column needs no filling.
ALTER TABLE events ADD COLUMN source_id TEXT;
CREATE INDEX events_source ON events(source_id) WHERE source_id IS NOT NULL;
"#;

/// SQLite's schema 6: the current-state tables refuse writes from anything but the register,
/// whose connections set `habeas.writer` (db.rs). A guard against edits by hand: anyone who can
/// set the variable can write, and `verify` is what detects a changed state.
const MIGRATION_4: &str = r#"
CREATE FUNCTION habeas_guard_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('habeas.writer', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION '% is current state derived from the log: only the register writes it (habeas rebuild re-derives it)', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END $$;
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['facilities', 'units', 'cells', 'court_orders', 'agreements',
        'transfers', 'persons', 'stays', 'held_persons', 'episode_facts', 'health_requests',
        'settings', 'contacts', 'notifications', 'health_exams', 'exercise', 'incidents',
        'counts', 'departures', 'deaths'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
            FOR EACH STATEMENT EXECUTE FUNCTION habeas_guard_state()', t || '_by_register_only', t);
    END LOOP;
END $$;
"#;
