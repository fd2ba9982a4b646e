//! Events: the facts the log holds. Most carry the accepted command's fields unchanged; a
//! command naming several persons becomes one event per person, so every person event has
//! exactly one subject.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::command::*;
use crate::ids::*;
use crate::model::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferOrdered {
    pub transfer: TransferId,
    pub register_no: RegisterNo,
    pub to: Destination,
    pub authority: Text,
    pub reference: Text,
    pub planned_at: Timestamp,
}

/// One person's part in an incident: an incident naming several persons is logged once per
/// person, so each person's file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentRecorded {
    pub incident: IncidentId,
    pub kind: IncidentKind,
    pub register_no: RegisterNo,
    pub at: Timestamp,
    pub description: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_to: Option<Text>,
}

/// A health request seen, with the person it concerns (from the request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthRequestSeen {
    pub request: RequestId,
    pub register_no: RegisterNo,
    pub at: Timestamp,
}

/// One fact of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    #[serde(rename = "facility.registered")]
    FacilityRegistered(FacilityRegister),
    #[serde(rename = "unit.registered")]
    UnitRegistered(UnitRegister),
    #[serde(rename = "cell.registered")]
    CellRegistered(CellRegister),
    #[serde(rename = "admission.recorded")]
    AdmissionRecorded(Box<AdmissionRecord>),
    #[serde(rename = "placement.recorded")]
    PlacementRecorded(PlacementRecord),
    #[serde(rename = "legal_basis.recorded")]
    LegalBasisRecorded(LegalBasisRecord),
    #[serde(rename = "absence.started")]
    AbsenceStarted(AbsenceStart),
    #[serde(rename = "absence.ended")]
    AbsenceEnded(PersonAt),
    #[serde(rename = "transfer.ordered")]
    TransferOrdered(TransferOrdered),
    #[serde(rename = "transfer.departed")]
    TransferDeparted(TransferDepart),
    #[serde(rename = "transfer.arrived")]
    TransferArrived(TransferArrive),
    #[serde(rename = "release.recorded")]
    ReleaseRecorded(ReleaseRecord),
    #[serde(rename = "death.recorded")]
    DeathRecorded(DeathRecord),
    #[serde(rename = "escape.recorded")]
    EscapeRecorded(PersonAt),
    #[serde(rename = "court_order.recorded")]
    CourtOrderRecorded(CourtOrderRecord),
    #[serde(rename = "court_order.lifted")]
    CourtOrderLifted(CourtOrderLift),
    #[serde(rename = "agreement.recorded")]
    AgreementRecorded(AgreementRecord),
    #[serde(rename = "exercise.recorded")]
    ExerciseRecorded(ExerciseRecord),
    #[serde(rename = "contact.recorded")]
    ContactRecorded(ContactRecord),
    #[serde(rename = "notification.recorded")]
    NotificationRecorded(NotificationRecord),
    #[serde(rename = "health.examined")]
    HealthExamined(HealthExam),
    #[serde(rename = "health.requested")]
    HealthRequested(HealthRequest),
    #[serde(rename = "health.seen")]
    HealthSeen(HealthRequestSeen),
    #[serde(rename = "separation.started")]
    SeparationStarted(SeparationStart),
    #[serde(rename = "separation.ended")]
    SeparationEnded(PersonAt),
    #[serde(rename = "incident.recorded")]
    IncidentRecorded(IncidentRecorded),
    #[serde(rename = "count.recorded")]
    CountRecorded(CountRecord),
    #[serde(rename = "settings.recorded")]
    SettingsRecorded(SettingsRecord),
}

impl Event {
    /// A fact kept only in its own table by the store (a contact, a notification, an exam,
    /// an exercise session, a count): `apply` changes no entity for it, so a store need not
    /// write any entity back.
    pub fn changes_no_entity(&self) -> bool {
        matches!(
            self,
            Event::ExerciseRecorded(_)
                | Event::ContactRecorded(_)
                | Event::NotificationRecorded(_)
                | Event::HealthExamined(_)
                | Event::CountRecorded(_)
        )
    }

    /// The person this event is about, if any.
    pub fn register_no(&self) -> Option<&RegisterNo> {
        match self {
            Event::AdmissionRecorded(e) => Some(&e.register_no),
            Event::PlacementRecorded(e) => Some(&e.register_no),
            Event::LegalBasisRecorded(e) => Some(&e.register_no),
            Event::AbsenceStarted(e) => Some(&e.register_no),
            Event::AbsenceEnded(e) | Event::EscapeRecorded(e) => Some(&e.register_no),
            Event::TransferOrdered(e) => Some(&e.register_no),
            Event::TransferDeparted(e) => Some(&e.register_no),
            Event::TransferArrived(e) => Some(&e.register_no),
            Event::ReleaseRecorded(e) => Some(&e.register_no),
            Event::DeathRecorded(e) => Some(&e.register_no),
            Event::ContactRecorded(e) => Some(&e.register_no),
            Event::NotificationRecorded(e) => Some(&e.register_no),
            Event::HealthExamined(e) => Some(&e.register_no),
            Event::HealthRequested(e) => Some(&e.register_no),
            Event::HealthSeen(e) => Some(&e.register_no),
            Event::SeparationStarted(e) => Some(&e.register_no),
            Event::SeparationEnded(e) => Some(&e.register_no),
            Event::IncidentRecorded(e) => Some(&e.register_no),
            // An exercise session may cover a whole unit: no single subject.
            Event::ExerciseRecorded(_)
            | Event::CountRecorded(_)
            | Event::SettingsRecorded(_)
            | Event::FacilityRegistered(_)
            | Event::UnitRegistered(_)
            | Event::CellRegistered(_)
            | Event::CourtOrderRecorded(_)
            | Event::CourtOrderLifted(_)
            | Event::AgreementRecorded(_) => None,
        }
    }

    /// When it happened, as reported (None for register set-up and agreements).
    pub fn at(&self) -> Option<Timestamp> {
        match self {
            Event::AdmissionRecorded(e) => Some(e.at),
            Event::PlacementRecorded(e) => Some(e.at),
            Event::LegalBasisRecorded(e) => Some(e.at),
            Event::AbsenceStarted(e) => Some(e.at),
            Event::AbsenceEnded(e) | Event::EscapeRecorded(e) => Some(e.at),
            Event::TransferOrdered(e) => Some(e.planned_at),
            Event::TransferDeparted(e) => Some(e.at),
            Event::TransferArrived(e) => Some(e.at),
            Event::ReleaseRecorded(e) => Some(e.at),
            Event::DeathRecorded(e) => Some(e.at),
            Event::CourtOrderRecorded(e) => Some(e.issued_at),
            Event::CourtOrderLifted(e) => Some(e.at),
            Event::ExerciseRecorded(e) => Some(e.at),
            Event::ContactRecorded(e) => Some(e.at),
            Event::NotificationRecorded(e) => Some(e.at),
            Event::HealthExamined(e) => Some(e.at),
            Event::HealthRequested(e) => Some(e.at),
            Event::HealthSeen(e) => Some(e.at),
            Event::SeparationStarted(e) => Some(e.at),
            Event::SeparationEnded(e) => Some(e.at),
            Event::IncidentRecorded(e) => Some(e.at),
            Event::CountRecorded(e) => Some(e.at),
            Event::SettingsRecorded(e) => Some(e.at),
            Event::FacilityRegistered(_)
            | Event::UnitRegistered(_)
            | Event::CellRegistered(_)
            | Event::AgreementRecorded(_) => None,
        }
    }

    /// Clinical facts: shown only to roles that may read health detail (`authz`).
    pub fn is_clinical(&self) -> bool {
        matches!(
            self,
            Event::HealthExamined(_) | Event::HealthRequested(_) | Event::HealthSeen(_)
        )
    }

    /// The `type` tag (`admission.recorded`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Event::FacilityRegistered(_) => "facility.registered",
            Event::UnitRegistered(_) => "unit.registered",
            Event::CellRegistered(_) => "cell.registered",
            Event::AdmissionRecorded(_) => "admission.recorded",
            Event::PlacementRecorded(_) => "placement.recorded",
            Event::LegalBasisRecorded(_) => "legal_basis.recorded",
            Event::AbsenceStarted(_) => "absence.started",
            Event::AbsenceEnded(_) => "absence.ended",
            Event::TransferOrdered(_) => "transfer.ordered",
            Event::TransferDeparted(_) => "transfer.departed",
            Event::TransferArrived(_) => "transfer.arrived",
            Event::ReleaseRecorded(_) => "release.recorded",
            Event::DeathRecorded(_) => "death.recorded",
            Event::EscapeRecorded(_) => "escape.recorded",
            Event::CourtOrderRecorded(_) => "court_order.recorded",
            Event::CourtOrderLifted(_) => "court_order.lifted",
            Event::AgreementRecorded(_) => "agreement.recorded",
            Event::ExerciseRecorded(_) => "exercise.recorded",
            Event::ContactRecorded(_) => "contact.recorded",
            Event::NotificationRecorded(_) => "notification.recorded",
            Event::HealthExamined(_) => "health.examined",
            Event::HealthRequested(_) => "health.requested",
            Event::HealthSeen(_) => "health.seen",
            Event::SeparationStarted(_) => "separation.started",
            Event::SeparationEnded(_) => "separation.ended",
            Event::IncidentRecorded(_) => "incident.recorded",
            Event::CountRecorded(_) => "count.recorded",
            Event::SettingsRecorded(_) => "settings.recorded",
        }
    }
}

/// An event as the log holds it: its sequence number (= its leaf index), when it was recorded,
/// by whom. Its canonical JSON is the record that the leaf commits to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    pub seq: u64,
    pub recorded_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Text>,
    /// The submission's `source_id`, when it gave one: what makes a resubmission "already
    /// recorded" (absent from records that had none, so their bytes are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<Text>,
    pub event: Event,
}

impl Recorded {
    /// Canonical JSON (RFC 8785 style): sorted keys, no insignificant whitespace. The bytes
    /// the log commits to; the same event always gives the same bytes.
    pub fn canonical_json(&self) -> String {
        let mut out = Vec::with_capacity(512);
        match serde_json::to_value(self) {
            Ok(v) => write_canonical_bytes(&v, &mut out),
            // Serializing plain data to a Value cannot fail: no maps with non-string keys.
            Err(e) => unreachable!("event serialization failed: {e}"),
        }
        // Only serde_json's output and ASCII punctuation were written: valid UTF-8.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    pub fn from_json(record: &str) -> Result<Recorded, serde_json::Error> {
        serde_json::from_str(record)
    }
}

/// Writes a JSON value with every object's keys sorted (by UTF-16 code units, as RFC 8785
/// asks; for the ASCII keys of this vocabulary that is byte order) and no whitespace. Sorted
/// here, not by relying on serde_json's map type, so that a dependency turning on
/// `preserve_order` cannot change the bytes the log commits to.
pub fn write_canonical(value: &serde_json::Value, out: &mut String) {
    let mut buf = Vec::with_capacity(256);
    write_canonical_bytes(value, &mut buf);
    out.push_str(&String::from_utf8_lossy(&buf));
}

/// [`write_canonical`] into bytes: keys and scalars go straight through serde_json's
/// serializer (the same bytes as its `to_string`, without a string per token).
fn write_canonical_bytes(value: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    // Writing into a Vec cannot fail.
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| utf16_order(a.0, b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, k.as_str());
                out.push(b':');
                write_canonical_bytes(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical_bytes(v, out);
            }
            out.push(b']');
        }
        other => {
            let _ = serde_json::to_writer(&mut *out, other);
        }
    }
}

/// Key order of RFC 8785: UTF-16 code units (byte order when both keys are ASCII).
fn utf16_order(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.cmp(b)
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

#[cfg(test)]
mod tests {
    use super::write_canonical;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The plain writer the fast one replaced: a string per key and per scalar. The bytes
    /// the log already commits to were written by it, so both must agree exactly.
    fn reference(value: &Value, out: &mut String) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
                out.push('{');
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    reference(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    reference(v, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let text = "[a-zA-Z0-9 \"\\\\\n\t\u{1}\u{7f}é€\u{10000}\u{fffd}]{0,8}";
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            text.prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(text, inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_fast_canonical_writer_gives_the_bytes_of_the_plain_one(v in any_json()) {
            let mut fast = String::new();
            write_canonical(&v, &mut fast);
            let mut plain = String::new();
            reference(&v, &mut plain);
            prop_assert_eq!(fast, plain);
        }
    }

    #[test]
    fn keys_beyond_the_basic_plane_sort_by_utf16_code_units() {
        // U+10000 is D800 DC00 in UTF-16: before U+FFFD, though after it in UTF-8.
        let v: Value = serde_json::json!({"\u{fffd}": 1, "\u{10000}": 2, "a": 3});
        let mut out = String::new();
        write_canonical(&v, &mut out);
        assert_eq!(out, "{\"a\":3,\"\u{10000}\":2,\"\u{fffd}\":1}");
    }
}
