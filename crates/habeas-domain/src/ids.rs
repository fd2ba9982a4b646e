//! Identifiers of the register, parsed once at the edge ("parse, don't validate"): a value of
//! one of these types is always well-formed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a text is not a valid identifier; the field name is added by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IdError(pub String);

/// A code segment: ASCII letters, digits, `-`, `_`, `.`; starts with a letter or digit.
fn check_code(kind: &str, s: &str, max: usize) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError(format!("{kind} must not be empty")));
    }
    if s.len() > max {
        return Err(IdError(format!(
            "{kind} `{s}` is longer than {max} characters"
        )));
    }
    let first_ok = s.as_bytes()[0].is_ascii_alphanumeric();
    if !first_ok
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(IdError(format!(
            "{kind} `{s}` may hold only ASCII letters, digits, '-', '_' and '.', starting with a letter or digit"
        )));
    }
    Ok(())
}

macro_rules! code_id {
    ($(#[$m:meta])* $name:ident, $kind:literal, $max:literal) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, IdError> {
                check_code($kind, s, $max)?;
                Ok(Self(s.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                check_code($kind, &s, $max)?;
                Ok(Self(s))
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

code_id!(
    /// A person's register number: permanent, unique, never reused.
    RegisterNo,
    "register number",
    40
);
code_id!(
    /// The code of a facility on the official list (`CECOT`).
    FacilityCode,
    "facility code",
    40
);
code_id!(
    /// A unit's code inside its facility (`P1`).
    UnitCode,
    "unit code",
    40
);
code_id!(
    /// A cell's code inside its unit (`C001`).
    CellCode,
    "cell code",
    40
);
code_id!(
    /// A court order's id in this register (`CO-1`).
    OrderId,
    "court order id",
    80
);
code_id!(
    /// A transfer's id (`T-1`).
    TransferId,
    "transfer id",
    80
);
code_id!(
    /// An agreement's id (`AG-1`).
    AgreementId,
    "agreement id",
    80
);
code_id!(
    /// A health request's id (`H-1`).
    RequestId,
    "health request id",
    80
);
code_id!(
    /// An incident's id (`I-1`).
    IncidentId,
    "incident id",
    80
);

/// `FACILITY/UNIT`: a pavilion, wing or module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UnitPath {
    pub facility: FacilityCode,
    pub unit: UnitCode,
}

impl UnitPath {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(f), Some(u), None) => Ok(Self {
                facility: FacilityCode::parse(f)?,
                unit: UnitCode::parse(u)?,
            }),
            _ => Err(IdError(format!("unit path `{s}` must be FACILITY/UNIT"))),
        }
    }
}

impl TryFrom<String> for UnitPath {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<UnitPath> for String {
    fn from(v: UnitPath) -> String {
        v.to_string()
    }
}
impl fmt::Display for UnitPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.facility, self.unit)
    }
}

/// `FACILITY/UNIT/CELL`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CellPath {
    pub facility: FacilityCode,
    pub unit: UnitCode,
    pub cell: CellCode,
}

impl CellPath {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(f), Some(u), Some(c), None) => Ok(Self {
                facility: FacilityCode::parse(f)?,
                unit: UnitCode::parse(u)?,
                cell: CellCode::parse(c)?,
            }),
            _ => Err(IdError(format!(
                "cell path `{s}` must be FACILITY/UNIT/CELL"
            ))),
        }
    }

    pub fn unit_path(&self) -> UnitPath {
        UnitPath {
            facility: self.facility.clone(),
            unit: self.unit.clone(),
        }
    }
}

impl TryFrom<String> for CellPath {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::parse(&s)
    }
}
impl From<CellPath> for String {
    fn from(v: CellPath) -> String {
        v.to_string()
    }
}
impl fmt::Display for CellPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.facility, self.unit, self.cell)
    }
}

/// A non-empty line of free text (a name, an authority, a reference), at most 500 characters,
/// without control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

impl Text {
    pub const MAX: usize = 500;
    pub fn parse(s: &str) -> Result<Self, IdError> {
        Self::try_from(s.to_owned())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        if s.trim().is_empty() {
            return Err(IdError("must not be empty".into()));
        }
        if s.chars().count() > Self::MAX {
            return Err(IdError(format!("is longer than {} characters", Self::MAX)));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(IdError("must not contain control characters".into()));
        }
        Ok(Self(s))
    }
}
impl From<Text> for String {
    fn from(v: Text) -> String {
        v.0
    }
}
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISO 3166-1 alpha-3 country code (`SLV`, `VEN`): three upper-case ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(String);

impl TryFrom<String> for Country {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(s))
        } else {
            Err(IdError(format!(
                "`{s}` is not an ISO 3166-1 alpha-3 country code (three upper-case letters)"
            )))
        }
    }
}
impl From<Country> for String {
    fn from(v: Country) -> String {
        v.0
    }
}
impl Country {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_paths_need_three_segments() {
        assert!(CellPath::parse("CECOT/P1/C001").is_ok());
        assert!(CellPath::parse("CECOT/P1").is_err());
        assert!(CellPath::parse("CECOT/P1/C001/x").is_err());
        assert!(CellPath::parse("CECOT//C001").is_err());
        assert!(RegisterNo::parse("SV 1").is_err());
        assert!(RegisterNo::parse("-SV1").is_err());
        assert!(Text::parse("a\nb").is_err());
    }
}
