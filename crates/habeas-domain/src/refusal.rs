//! Why the register refuses a command: malformed input, a contradiction with the record, or an
//! authorization the law forbids (DESIGN §1, principle 1). A refusal changes nothing.

use serde::Serialize;

/// A refusal names the rule, the field, the reason and, when there is one, the record it
/// contradicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Refusal {
    /// Stable id of the rule (`malformed`, `unknown-cell`, `barred-by-court-order`, …).
    pub rule: &'static str,
    /// The offending field as a JSON path (`person.date_of_birth`), or empty for the whole command.
    pub field: String,
    /// One line saying what is wrong.
    pub reason: String,
    /// The record the command contradicts (`person SV-1, released at … (event 12)`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
}

impl Refusal {
    pub fn new(rule: &'static str, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Refusal {
            rule,
            field: field.into(),
            reason: reason.into(),
            record: None,
        }
    }

    pub fn malformed(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::new(rules::MALFORMED, field, reason)
    }

    pub fn with_record(mut self, record: impl Into<String>) -> Self {
        self.record = Some(record.into());
        self
    }

    /// Prefixes the field path, for a value parsed inside a larger object.
    pub fn in_field(mut self, outer: &str) -> Self {
        self.field = if self.field.is_empty() {
            outer.to_owned()
        } else {
            format!("{outer}.{}", self.field)
        };
        self
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        if !self.field.is_empty() {
            s.push_str(&format!("field `{}`: ", self.field));
        }
        s.push_str(&format!("{} [{}]", self.reason, self.rule));
        if let Some(r) = &self.record {
            s.push_str(&format!("; record: {r}"));
        }
        s
    }
}

/// The rule ids a refusal can carry.
pub mod rules {
    /// Not a well-formed command: bad JSON, a missing or unknown field, a value out of range.
    pub const MALFORMED: &str = "malformed";
    /// An `at` later than the time of recording: a fact cannot be reported before it happens.
    pub const AT_IN_FUTURE: &str = "at-in-future";
    /// A time or date before the earliest the register accepts (`records.max_years_back`).
    pub const TOO_EARLY: &str = "too-early";
    /// A fact about a person dated outside every custody episode of theirs.
    pub const OUTSIDE_CUSTODY: &str = "outside-custody";
    /// A date of birth later than the time it is reported at.
    pub const BORN_LATER: &str = "born-after-admission";
    /// An `at` earlier than the person's last recorded movement.
    pub const OUT_OF_ORDER: &str = "out-of-order";
    /// The id is already taken by another record (facility, unit, cell, order, agreement…).
    pub const DUPLICATE: &str = "duplicate";
    pub const UNKNOWN_FACILITY: &str = "unknown-facility";
    pub const UNKNOWN_UNIT: &str = "unknown-unit";
    pub const UNKNOWN_CELL: &str = "unknown-cell";
    pub const UNKNOWN_PERSON: &str = "unknown-person";
    pub const UNKNOWN_ORDER: &str = "unknown-court-order";
    pub const UNKNOWN_AGREEMENT: &str = "unknown-agreement";
    pub const UNKNOWN_TRANSFER: &str = "unknown-transfer";
    pub const UNKNOWN_REQUEST: &str = "unknown-health-request";
    /// A new person's identity given with a register number that belongs to someone else.
    pub const REGISTER_NO_TAKEN: &str = "register-no-taken";
    pub const ALREADY_IN_CUSTODY: &str = "already-in-custody";
    pub const NOT_IN_CUSTODY: &str = "not-in-custody";
    /// The person's status does not allow this movement (not absent, not in transit…).
    pub const WRONG_STATUS: &str = "wrong-status";
    /// A cell in another facility than the one holding the person.
    pub const OTHER_FACILITY: &str = "other-facility";
    pub const ORDER_LIFTED: &str = "court-order-lifted";
    /// An authorization that a court order in force forbids.
    pub const BARRED_BY_COURT_ORDER: &str = "barred-by-court-order";
}
