//! habeas-store: the register's persistence. One Store API over SQLite and PostgreSQL (the
//! seam is `db.rs`): commands go through `habeas_domain::decide`, and their events, the
//! leaves and tree hashes, the current-state tables and a signed checkpoint are written in one
//! transaction. The events, tree and checkpoint tables refuse UPDATE and DELETE by trigger.

mod access_head;
mod accounts;
mod copy;
mod db;
mod error;
mod findings;
mod log;
mod project;
mod queries;
mod schema;
mod schema_pg;
mod state_check;
mod stats;
mod store;
mod views;

pub use accounts::{AccessEntry, AccessRecord, MIN_PASSWORD_CHARS, TOKEN_PREFIX, User};
pub use db::DbLocation;
pub use error::StoreError;
pub use findings::{FindingsFilter, FindingsReport};
pub use log::{Problem, VerifyReport};
pub use queries::{
    FacilityPopulation, FileEvent, PersonFile, PersonHit, Population, UnitPopulation,
};
pub use schema::{SCHEMA_VERSION, STATE_TABLES, WRITER_FUNCTION};
pub use store::{
    BackgroundCheckpoints, BulkLoadFinished, LEAF_PREFIX, Outcome, SignedCheckpoint, Store,
    key_path, leaf_bytes, start_background_checkpoints,
};
pub use views::MOVEMENT_TYPES;
