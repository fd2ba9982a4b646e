//! What "at T" means: the one time semantics of every figure and finding about a past time.
//!
//! A question about time T can be asked of two worlds. By default the register answers with
//! everything it knows now about T (events dated by T, whenever they were recorded), so a
//! history imported or recorded late counts. The audit view answers with only what had been
//! recorded by T: what staff could have seen then. For T = now the two are the same.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Which world a question about a time is answered in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Everything recorded until now about T (the default).
    #[default]
    KnownNow,
    /// Only what had been recorded by T (the audit view).
    AsRecorded,
}

impl View {
    /// `as_recorded` as the CLI flag, query parameter and form checkbox give it.
    pub fn from_as_recorded(as_recorded: bool) -> View {
        if as_recorded {
            View::AsRecorded
        } else {
            View::KnownNow
        }
    }

    /// The time of knowledge for a question about `at` asked at `now`: facts recorded after
    /// it are ignored.
    pub fn known(self, at: Timestamp, now: Timestamp) -> Timestamp {
        match self {
            View::KnownNow => now.max(at),
            View::AsRecorded => at,
        }
    }

    /// The name in JSON, URLs and the definitions (`known_now`, `as_recorded`).
    pub fn as_str(self) -> &'static str {
        match self {
            View::KnownNow => "known_now",
            View::AsRecorded => "as_recorded",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_view_knows_only_what_was_recorded_by_t() {
        let t: Timestamp = "2025-05-20T12:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-12-08T00:00:00Z".parse().unwrap();
        assert_eq!(View::KnownNow.known(t, now), now);
        assert_eq!(View::AsRecorded.known(t, now), t);
        // A time after now is known as of itself in both.
        assert_eq!(View::KnownNow.known(now, t), now);
        assert_eq!(
            serde_json::to_string(&View::AsRecorded).unwrap(),
            "\"as_recorded\""
        );
    }
}
