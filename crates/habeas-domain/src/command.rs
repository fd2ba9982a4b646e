//! The command vocabulary (DESIGN §4): one JSON object per command. Every interface (CLI, HTTP,
//! forms, bulk import) produces these same values.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::model::*;
use crate::refusal::Refusal;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityRegister {
    pub facility: FacilityCode,
    pub name: Text,
    pub authority: Text,
    pub timezone: Text,
    pub official_capacity: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitRegister {
    pub facility: FacilityCode,
    pub unit: UnitCode,
    pub name: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellRegister {
    pub cell: CellPath,
    pub places: u32,
    pub beds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_m2: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdmissionRecord {
    pub register_no: RegisterNo,
    pub facility: FacilityCode,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<Identity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprived: Option<Deprivation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<LegalBasis>,
    pub legal_status: LegalStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodial_authority: Option<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<AgreementId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<ContactPerson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlacementRecord {
    pub register_no: RegisterNo,
    pub cell: CellPath,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasisRecord {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub legal_basis: LegalBasis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_status: Option<LegalStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbsenceStart {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub purpose: AbsencePurpose,
    pub destination: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonAt {
    pub register_no: RegisterNo,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferOrder {
    pub transfer: TransferId,
    pub register_nos: Vec<RegisterNo>,
    pub to: Destination,
    pub authority: Text,
    pub reference: Text,
    pub planned_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferDepart {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub to: Destination,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferArrive {
    pub register_no: RegisterNo,
    pub facility: FacilityCode,
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<CellPath>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRecord {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub reason: ReleaseReason,
    pub authority: Text,
    pub reference: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeathRecord {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub place: Text,
    pub circumstances: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourtOrderRecord {
    pub order: OrderId,
    pub court: Text,
    pub case: Text,
    pub kind: CourtOrderKind,
    pub issued_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    pub applies_to: AppliesTo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CourtOrderLift {
    pub order: OrderId,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgreementRecord {
    pub agreement: AgreementId,
    pub parties: Vec<Text>,
    pub from: Date,
    pub until: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
}

// --- daily life -------------------------------------------------------------------------

/// An exercise session for cells, a unit, or listed persons (at least one of them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExerciseRecord {
    pub at: Timestamp,
    pub until: Timestamp,
    pub outdoors: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cells: Vec<CellPath>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitPath>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub register_nos: Vec<RegisterNo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactRecord {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub kind: ContactKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationRecord {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub to: NotifyTo,
    pub about: NotifyAbout,
    /// The person asked that nobody be told (SMR 68 lets them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub declined_by_person: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthExam {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub injuries_observed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthRequest {
    pub request: RequestId,
    pub register_no: RegisterNo,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSeen {
    pub request: RequestId,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeparationStart {
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub reason: Text,
    pub authorized_by: Text,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentRecord {
    pub incident: IncidentId,
    pub kind: IncidentKind,
    pub register_nos: Vec<RegisterNo>,
    pub at: Timestamp,
    pub description: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_to: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRecord {
    pub unit: UnitPath,
    pub at: Timestamp,
    pub counted: u32,
}

/// The register's settings from `at` on: the checks' limits and what the statistics need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsRecord {
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_population: Option<u64>,
    /// The register's own country: nationals of other countries are foreign (VCCR 36).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// Overrides of the checks' defaults, by `check.limit` name (see `checks::LIMITS`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub limits: std::collections::BTreeMap<String, f64>,
    /// Published statistics show a count of people below this as suppressed (deaths never
    /// are), so that a small group cannot be singled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publication_min_count: Option<u64>,
}

macro_rules! vocabulary {
    ($($name:literal => $variant:ident($ty:ty),)*) => {
        /// One command of the vocabulary. Serialized with its `type` tag.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "type")]
        pub enum Command {
            $(#[serde(rename = $name)] $variant($ty),)*
        }

        impl Command {
            /// Every command type the register understands, in vocabulary order.
            pub const TYPES: &'static [&'static str] = &[$($name),*];

            pub fn type_name(&self) -> &'static str {
                match self { $(Command::$variant(_) => $name,)* }
            }

            fn from_fields(kind: &str, fields: serde_json::Value) -> Result<Command, Refusal> {
                match kind {
                    $($name => fields_into::<$ty>(fields).map(Command::$variant),)*
                    other => Err(Refusal::malformed(
                        "type",
                        format!("unknown command type `{other}`; known: {}", Self::TYPES.join(", ")),
                    )),
                }
            }
        }
    };
}

vocabulary! {
    "facility.register" => FacilityRegister(FacilityRegister),
    "unit.register" => UnitRegister(UnitRegister),
    "cell.register" => CellRegister(CellRegister),
    "admission.record" => AdmissionRecord(Box<AdmissionRecord>),
    "placement.record" => PlacementRecord(PlacementRecord),
    "legal_basis.record" => LegalBasisRecord(LegalBasisRecord),
    "absence.start" => AbsenceStart(AbsenceStart),
    "absence.end" => AbsenceEnd(PersonAt),
    "transfer.order" => TransferOrder(TransferOrder),
    "transfer.depart" => TransferDepart(TransferDepart),
    "transfer.arrive" => TransferArrive(TransferArrive),
    "release.record" => ReleaseRecord(ReleaseRecord),
    "death.record" => DeathRecord(DeathRecord),
    "escape.record" => EscapeRecord(PersonAt),
    "court_order.record" => CourtOrderRecord(CourtOrderRecord),
    "court_order.lift" => CourtOrderLift(CourtOrderLift),
    "agreement.record" => AgreementRecord(AgreementRecord),
    "exercise.record" => ExerciseRecord(ExerciseRecord),
    "contact.record" => ContactRecord(ContactRecord),
    "notification.record" => NotificationRecord(NotificationRecord),
    "health.exam" => HealthExam(HealthExam),
    "health.request" => HealthRequest(HealthRequest),
    "health.seen" => HealthSeen(HealthSeen),
    "separation.start" => SeparationStart(SeparationStart),
    "separation.end" => SeparationEnd(PersonAt),
    "incident.record" => IncidentRecord(IncidentRecord),
    "count.record" => CountRecord(CountRecord),
    "settings.record" => SettingsRecord(SettingsRecord),
}

/// A command as submitted: the command, who submits it, and the key of its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub actor: Option<Text>,
    /// A unique key given by the source (DESIGN §4): a command whose `source_id` is in the
    /// log is already recorded and is not applied again, so a retried request or a file
    /// applied again after a crash records nothing twice.
    pub source_id: Option<Text>,
    pub command: Command,
}

impl Submission {
    /// Parses one JSON command. Errors name the field (`person.date_of_birth`) and the rule.
    /// Duplicate keys are refused (JSON would keep the last silently).
    pub fn from_json(line: &str) -> Result<Submission, Refusal> {
        let value = crate::json::parse_unique(line).map_err(|e| {
            if e.duplicate {
                Refusal::malformed(e.path, e.message)
            } else {
                Refusal::malformed("", format!("not valid JSON: {e}"))
            }
        })?;
        Self::from_value(value)
    }

    pub fn from_value(value: serde_json::Value) -> Result<Submission, Refusal> {
        let serde_json::Value::Object(mut map) = value else {
            return Err(Refusal::malformed("", "a command must be a JSON object"));
        };
        let kind = match map.remove("type") {
            Some(serde_json::Value::String(s)) => s,
            Some(_) => return Err(Refusal::malformed("type", "must be a string")),
            None => {
                return Err(Refusal::malformed(
                    "type",
                    "is missing: every command names its type",
                ));
            }
        };
        let actor = match map.remove("actor") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(fields_into::<Text>(v).map_err(|r| r.in_field("actor"))?),
        };
        let source_id = match map.remove("source_id") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(fields_into::<Text>(v).map_err(|r| r.in_field("source_id"))?),
        };
        let command = Command::from_fields(&kind, serde_json::Value::Object(map))?;
        Ok(Submission {
            actor,
            source_id,
            command,
        })
    }
}

/// Deserializes with the path of the failing field, so a refusal can name it.
fn fields_into<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Refusal> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        Refusal::malformed(field, e.into_inner().to_string())
    })
}

impl Command {
    /// The persons a command names: the store loads them before `decide`.
    pub fn register_nos(&self) -> Vec<&RegisterNo> {
        match self {
            Command::AdmissionRecord(c) => vec![&c.register_no],
            Command::PlacementRecord(c) => vec![&c.register_no],
            Command::LegalBasisRecord(c) => vec![&c.register_no],
            Command::AbsenceStart(c) => vec![&c.register_no],
            Command::AbsenceEnd(c) | Command::EscapeRecord(c) => vec![&c.register_no],
            Command::TransferOrder(c) => c.register_nos.iter().collect(),
            Command::TransferDepart(c) => vec![&c.register_no],
            Command::TransferArrive(c) => vec![&c.register_no],
            Command::ReleaseRecord(c) => vec![&c.register_no],
            Command::DeathRecord(c) => vec![&c.register_no],
            Command::ExerciseRecord(c) => c.register_nos.iter().collect(),
            Command::ContactRecord(c) => vec![&c.register_no],
            Command::NotificationRecord(c) => vec![&c.register_no],
            Command::HealthExam(c) => vec![&c.register_no],
            Command::HealthRequest(c) => vec![&c.register_no],
            Command::SeparationStart(c) => vec![&c.register_no],
            Command::SeparationEnd(c) => vec![&c.register_no],
            Command::IncidentRecord(c) => c.register_nos.iter().collect(),
            // The person of a request is found through the request (the store loads it).
            Command::HealthSeen(_)
            | Command::CountRecord(_)
            | Command::SettingsRecord(_)
            | Command::FacilityRegister(_)
            | Command::UnitRegister(_)
            | Command::CellRegister(_)
            | Command::CourtOrderRecord(_)
            | Command::CourtOrderLift(_)
            | Command::AgreementRecord(_) => vec![],
        }
    }
}
