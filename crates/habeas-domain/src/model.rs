//! Value types shared by commands, events and state.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::ids::{Country, FacilityCode, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
    Other,
}

/// Who the person is. Every field the register holds about identity (CED 17(3)(a)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub given_names: Text,
    pub family_names: Text,
    pub sex: Sex,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<Date>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nationalities: Vec<Country>,
}

/// When, where and by whom the person was first deprived of liberty (CED 17(3)(c)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deprivation {
    pub at: Timestamp,
    pub place: Text,
    pub by: Text,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasisKind {
    ArrestWarrant,
    CourtOrder,
    Sentence,
    AdministrativeOrder,
    TransferAgreement,
    Other,
}

/// The instrument that authorizes detention (CED 17(3)(d)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalBasis {
    pub kind: LegalBasisKind,
    pub authority: Text,
    pub reference: Text,
    pub issued_on: Date,
    pub grounds: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Date>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalStatus {
    Remand,
    ConvictedUnsentenced,
    Sentenced,
    Immigration,
    Civil,
    Other,
}

/// A person to contact, and whether they are to be notified (SMR 68).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPerson {
    pub name: Text,
    pub relation: Text,
    #[serde(default)]
    pub notify: bool,
}

/// Where a transfer goes: a facility of this register, or out of its jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "must be {\"facility\": CODE} or {\"jurisdiction\": TEXT, \"authority\": TEXT}"
)]
pub enum Destination {
    Facility { facility: FacilityCode },
    Jurisdiction { jurisdiction: Text, authority: Text },
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Facility { facility } => write!(f, "facility {facility}"),
            Destination::Jurisdiction {
                jurisdiction,
                authority,
            } => write!(f, "{jurisdiction} ({authority})"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsencePurpose {
    CourtHearing,
    Hospital,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    CourtOrder,
    SentenceServed,
    Bail,
    Acquittal,
    ChargesDropped,
    Pardon,
    /// A system failure named as such, so errors are data (DESIGN §9).
    ReleasedInError,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CourtOrderKind {
    BarTransfer,
    Release,
    DetentionLimit,
    Produce,
}

/// Whom a court order applies to: listed persons, or everyone held under a legal basis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    untagged,
    deny_unknown_fields,
    expecting = "must be {\"register_nos\": [..]} or {\"legal_basis_reference\": TEXT}"
)]
pub enum AppliesTo {
    RegisterNos {
        register_nos: Vec<crate::ids::RegisterNo>,
    },
    LegalBasisReference {
        legal_basis_reference: Text,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricePer {
    Term,
    PersonDay,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub amount: f64,
    pub currency: Text,
    pub per: PricePer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    FamilyVisit,
    LegalVisit,
    ConsularVisit,
    Call,
    Letter,
}

impl ContactKind {
    /// Contact with the outside world that SMR 58 counts as family contact.
    pub fn is_family(self) -> bool {
        matches!(
            self,
            ContactKind::FamilyVisit | ContactKind::Call | ContactKind::Letter
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyTo {
    Family,
    Counsel,
    Consulate,
    IndependentAuthority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyAbout {
    Admission,
    Transfer,
    SeriousIllness,
    Death,
    Release,
    /// Injuries observed or force used: the referral of SMR 34 and 71.
    Injury,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    UseOfForce,
    Injury,
    SelfHarm,
    Assault,
    Other,
}

impl IncidentKind {
    /// Incidents that SMR 34 and 71 require to be referred to an independent authority.
    pub fn needs_referral(self) -> bool {
        matches!(self, IncidentKind::UseOfForce | IncidentKind::Injury)
    }
}

/// The snake_case name serde gives a unit enum variant (`use_of_force`).
pub fn variant_name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}
