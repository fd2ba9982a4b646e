//! The facts the statistics are computed from, as the store gathers them: the state at a
//! date (who was held, where, of which sex, age, nationality and legal status), the stays and
//! movements over the months of the series, the agreements, and the open findings. No rule
//! is decided by whoever fills these in; every definition lives in [`crate::compute`].

use habeas_domain::View;
use habeas_domain::checks::Finding;
use habeas_domain::model::{LegalStatus, Sex};
use habeas_domain::{Agreement, Cell, Country, Facility, Settings, Status};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

/// Everything [`crate::compute`] needs for the statistics at `at` and the monthly series
/// from `series_from` to `at`.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The time the statistics are for.
    pub at: Timestamp,
    /// The world `at` is read in: what the gathered facts know about it.
    pub view: View,
    /// The register's time zone ([`habeas_domain::zones::register_zone`]): the months and
    /// dates of the figures are its calendar's.
    pub zone: TimeZone,
    /// The first instant of the first month of the series (in `zone`).
    pub series_from: Timestamp,
    /// The settings in force at `at` (`settings.record`).
    pub settings: Option<Settings>,
    pub facilities: Vec<Facility>,
    pub cells: Vec<Cell>,
    /// One entry per person held at `at` (in a facility, temporarily absent, or in transit).
    pub held: Vec<HeldFact>,
    /// Every stay (a period held by the register) that overlaps the series.
    pub stays: Vec<StayInterval>,
    /// Admissions, releases, departures, deaths and escapes dated inside the series.
    pub movements: Vec<Movement>,
    pub agreements: Vec<AgreementFacts>,
    /// The findings open at `at`.
    pub findings: Vec<Finding>,
}

/// A person held at the statistics' date, with what the figures count them by.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldFact {
    pub status: Status,
    /// The facility responsible (none while in transit).
    pub facility: Option<String>,
    pub unit: Option<String>,
    pub cell: Option<String>,
    pub sex: Option<Sex>,
    pub date_of_birth: Option<Date>,
    pub nationalities: Vec<Country>,
    /// The legal status in force at the date (the latest legal-basis record that set one by
    /// then, else the status at admission).
    pub legal_status: LegalStatus,
    pub agreement: Option<String>,
    pub custodial_authority: Option<String>,
}

/// One period during which a person was held by the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StayInterval {
    pub from: Timestamp,
    /// `None`: still going on.
    pub until: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Movement {
    pub at: Timestamp,
    pub kind: MovementKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MovementKind {
    Admission,
    Release,
    Escape,
    /// A departure on transfer: to a facility of this register, or out of its jurisdiction
    /// (which ends the custody episode).
    Transfer {
        out_of_jurisdiction: bool,
    },
    Death {
        cause: Option<String>,
        facility: Option<String>,
        /// When the death was first notified to an independent authority, if it was.
        referred_at: Option<Timestamp>,
    },
}

/// An agreement to hold persons for another authority, and the stays of everyone admitted
/// under it.
#[derive(Debug, Clone)]
pub struct AgreementFacts {
    pub agreement: Agreement,
    /// One entry per person (custody episode) admitted under the agreement: their stays.
    pub persons: Vec<Vec<StayInterval>>,
}
