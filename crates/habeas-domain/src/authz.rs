//! Who may do what: the roles of DESIGN §7, the actions they ask for, and ONE table
//! ([`permits`]) that says yes or no. Callers (the web application, the CLI) enforce it in one
//! place; nothing else decides authorization. Facility scopes are checked by [`in_scope`].
//!
//! Monitors (ombudsman, national preventive mechanism, ICRC) read everything but clinical
//! detail, read the access log, and never write.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::command::Command;
use crate::ids::{FacilityCode, RegisterNo};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including accounts and the access log.
    Admin,
    /// The records office: places, custody and daily life.
    Registrar,
    /// Custodial staff: daily life.
    Officer,
    /// Health staff: health records and clinical detail.
    Health,
    /// Oversight (ombudsman, NPM, ICRC): reads without clinical detail, and the access log.
    Monitor,
}

impl Role {
    /// Every role, in table order.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Registrar,
        Role::Officer,
        Role::Health,
        Role::Monitor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Registrar => "registrar",
            Role::Officer => "officer",
            Role::Health => "health",
            Role::Monitor => "monitor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that names no role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; roles: admin, registrar, officer, health, monitor")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// What kind of record a command writes; roles are granted commands by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandClass {
    /// Facilities, units, cells.
    Places,
    /// Admission, placement, legal basis, absences, transfers, release, death, escape, court
    /// orders, agreements.
    Custody,
    /// Exercise, contact, notification, separation, incident, count.
    DailyLife,
    /// Health examinations, requests and consultations.
    Health,
    /// The register's settings.
    Settings,
}

impl CommandClass {
    /// Every class, in table order.
    pub const ALL: [CommandClass; 5] = [
        CommandClass::Places,
        CommandClass::Custody,
        CommandClass::DailyLife,
        CommandClass::Health,
        CommandClass::Settings,
    ];

    /// The class of a command. Exhaustive: a new command must be classified here.
    pub fn of(command: &Command) -> CommandClass {
        use CommandClass as C;
        match command {
            Command::FacilityRegister(_) | Command::UnitRegister(_) | Command::CellRegister(_) => {
                C::Places
            }
            Command::AdmissionRecord(_)
            | Command::PlacementRecord(_)
            | Command::LegalBasisRecord(_)
            | Command::AbsenceStart(_)
            | Command::AbsenceEnd(_)
            | Command::TransferOrder(_)
            | Command::TransferDepart(_)
            | Command::TransferArrive(_)
            | Command::ReleaseRecord(_)
            | Command::DeathRecord(_)
            | Command::EscapeRecord(_)
            | Command::CourtOrderRecord(_)
            | Command::CourtOrderLift(_)
            | Command::AgreementRecord(_) => C::Custody,
            Command::ExerciseRecord(_)
            | Command::ContactRecord(_)
            | Command::NotificationRecord(_)
            | Command::SeparationStart(_)
            | Command::SeparationEnd(_)
            | Command::IncidentRecord(_)
            | Command::CountRecord(_) => C::DailyLife,
            Command::HealthExam(_) | Command::HealthRequest(_) | Command::HealthSeen(_) => {
                C::Health
            }
            Command::SettingsRecord(_) => C::Settings,
        }
    }

    /// The class of a command type by its name (`placement.record`), for interfaces that
    /// offer commands before there is one (the web forms). Agrees with [`CommandClass::of`].
    pub fn of_type(type_name: &str) -> Option<CommandClass> {
        use CommandClass as C;
        Some(match type_name {
            "facility.register" | "unit.register" | "cell.register" => C::Places,
            "admission.record" | "placement.record" | "legal_basis.record" | "absence.start"
            | "absence.end" | "transfer.order" | "transfer.depart" | "transfer.arrive"
            | "release.record" | "death.record" | "escape.record" | "court_order.record"
            | "court_order.lift" | "agreement.record" => C::Custody,
            "exercise.record"
            | "contact.record"
            | "notification.record"
            | "separation.start"
            | "separation.end"
            | "incident.record"
            | "count.record" => C::DailyLife,
            "health.exam" | "health.request" | "health.seen" => C::Health,
            "settings.record" => C::Settings,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CommandClass::Places => "places",
            CommandClass::Custody => "custody",
            CommandClass::DailyLife => "daily_life",
            CommandClass::Health => "health",
            CommandClass::Settings => "settings",
        }
    }
}

/// Something a user asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Submit a command of this class.
    Submit(CommandClass),
    /// Read a person's file (identity, whereabouts, custody, daily life).
    ReadPerson,
    /// Read clinical detail (health examinations, requests, consultations).
    ReadHealthDetail,
    /// Read the findings of the checks.
    ReadFindings,
    /// Read the population and occupancy.
    ReadPopulation,
    /// Read the access log (who read whose file).
    ReadAccessLog,
    /// Add, disable and issue tokens to users.
    ManageUsers,
    /// Search persons by name or number.
    SearchPersons,
}

impl Action {
    /// Every action, in table order.
    pub const ALL: [Action; 12] = [
        Action::Submit(CommandClass::Places),
        Action::Submit(CommandClass::Custody),
        Action::Submit(CommandClass::DailyLife),
        Action::Submit(CommandClass::Health),
        Action::Submit(CommandClass::Settings),
        Action::ReadPerson,
        Action::ReadHealthDetail,
        Action::ReadFindings,
        Action::ReadPopulation,
        Action::ReadAccessLog,
        Action::ManageUsers,
        Action::SearchPersons,
    ];
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Submit(class) => write!(f, "submit {} commands", class.as_str()),
            Action::ReadPerson => f.write_str("read a person's file"),
            Action::ReadHealthDetail => f.write_str("read clinical detail"),
            Action::ReadFindings => f.write_str("read findings"),
            Action::ReadPopulation => f.write_str("read the population"),
            Action::ReadAccessLog => f.write_str("read the access log"),
            Action::ManageUsers => f.write_str("manage users"),
            Action::SearchPersons => f.write_str("search persons"),
        }
    }
}

/// THE authorization table: whether `role` may do `action`. Exhaustive over both, so a new
/// role or action must be placed here (and in the table test).
pub fn permits(role: Role, action: Action) -> bool {
    use Action as A;
    use CommandClass as C;
    match (role, action) {
        (Role::Admin, _) => true,

        (Role::Registrar, A::Submit(C::Places | C::Custody | C::DailyLife)) => true,
        (Role::Registrar, A::Submit(C::Health | C::Settings)) => false,
        (Role::Registrar, A::ReadPerson | A::ReadFindings | A::ReadPopulation) => true,
        (Role::Registrar, A::SearchPersons) => true,
        (Role::Registrar, A::ReadHealthDetail | A::ReadAccessLog | A::ManageUsers) => false,

        (Role::Officer, A::Submit(C::DailyLife)) => true,
        (Role::Officer, A::Submit(C::Places | C::Custody | C::Health | C::Settings)) => false,
        (Role::Officer, A::ReadPerson | A::ReadFindings | A::ReadPopulation) => true,
        (Role::Officer, A::SearchPersons) => true,
        (Role::Officer, A::ReadHealthDetail | A::ReadAccessLog | A::ManageUsers) => false,

        (Role::Health, A::Submit(C::Health)) => true,
        (Role::Health, A::Submit(C::Places | C::Custody | C::DailyLife | C::Settings)) => false,
        (Role::Health, A::ReadPerson | A::ReadFindings | A::ReadPopulation) => true,
        (Role::Health, A::SearchPersons | A::ReadHealthDetail) => true,
        (Role::Health, A::ReadAccessLog | A::ManageUsers) => false,

        (Role::Monitor, A::Submit(_)) => false,
        (Role::Monitor, A::ReadPerson | A::ReadFindings | A::ReadPopulation) => true,
        (Role::Monitor, A::SearchPersons | A::ReadAccessLog) => true,
        (Role::Monitor, A::ReadHealthDetail | A::ManageUsers) => false,
    }
}

/// Whether a user with this facility scope is scoped at all (an empty scope = every facility).
pub fn facility_scoped(scope: &[FacilityCode]) -> bool {
    !scope.is_empty()
}

/// Whether a user scoped to `scope` may act on a person or command in `facility`. An empty
/// scope covers every facility; something in no facility (`None`: a person never admitted, a
/// register-wide setting) is in scope only for unscoped users.
pub fn in_scope(scope: &[FacilityCode], facility: Option<&FacilityCode>) -> bool {
    scope.is_empty() || facility.is_some_and(|f| scope.contains(f))
}

/// The facilities a command acts in, for facility-scoped users. Commands about a person act
/// in the facility that holds them (`person_facility`); a transfer also acts where it goes.
/// An empty answer means "no facility" (settings, agreements, court orders: register-wide).
pub fn command_facilities(
    command: &Command,
    person_facility: impl Fn(&RegisterNo) -> Option<FacilityCode>,
) -> Vec<FacilityCode> {
    use crate::model::Destination;
    let mut out: Vec<FacilityCode> = match command {
        Command::FacilityRegister(c) => vec![c.facility.clone()],
        Command::UnitRegister(c) => vec![c.facility.clone()],
        Command::CellRegister(c) => vec![c.cell.facility.clone()],
        Command::AdmissionRecord(c) => vec![c.facility.clone()],
        Command::PlacementRecord(c) => vec![c.cell.facility.clone()],
        Command::TransferArrive(c) => vec![c.facility.clone()],
        Command::TransferOrder(c) => match &c.to {
            Destination::Facility { facility } => vec![facility.clone()],
            Destination::Jurisdiction { .. } => vec![],
        },
        Command::ExerciseRecord(c) => c
            .cells
            .iter()
            .map(|cell| cell.facility.clone())
            .chain(c.unit.iter().map(|u| u.facility.clone()))
            .collect(),
        Command::CountRecord(c) => vec![c.unit.facility.clone()],
        _ => vec![],
    };
    out.extend(
        command
            .register_nos()
            .into_iter()
            .filter_map(&person_facility),
    );
    out.sort();
    out.dedup();
    out
}
