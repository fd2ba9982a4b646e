//! habeas-domain: the register's vocabulary and rules, with no IO, no clock, no randomness.
//!
//! `Command` (what someone asks) -> [`decide`] (against the [`State`]) -> `Event`s or a
//! [`Refusal`] -> the store logs the events -> [`apply`] folds them into the state.
//! The same state and command always give the same events.

pub mod apply;
pub mod authz;
pub mod checks;
pub mod command;
mod daily;
pub mod decide;
pub mod event;
pub mod ids;
pub mod json;
pub mod model;
pub mod refusal;
pub mod state;
pub mod view;
pub mod zones;

pub use apply::{ApplyError, apply};
pub use command::{Command, Submission};
pub use decide::{Context, decide};
pub use event::{Event, Recorded};
pub use ids::*;
pub use refusal::Refusal;
pub use state::*;
pub use view::View;
