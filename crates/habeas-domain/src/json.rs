//! JSON as the register reads it: like `serde_json::from_str`, but an object that names a key
//! twice is refused. serde_json keeps the last value silently, so `{"at": A, …, "at": B}`
//! would record B while a reader of the line sees A first.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a text is not JSON the register accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsonError {
    /// The JSON path of the object holding the duplicate (empty at the top level, or for
    /// a syntax error).
    pub path: String,
    pub message: String,
    /// A key named twice (otherwise: not JSON at all).
    pub duplicate: bool,
}

/// Parses one JSON document, refusing duplicate keys at any depth.
pub fn parse_unique(text: &str) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let duplicate = inner.to_string().starts_with(DUPLICATE);
        JsonError {
            path: if path == "." || !duplicate {
                String::new()
            } else {
                path
            },
            message: inner.to_string(),
            duplicate,
        }
    })?;
    de.end().map_err(|e| JsonError {
        path: String::new(),
        message: e.to_string(),
        duplicate: false,
    })?;
    let UniqueValue(v) = value;
    Ok(v)
}

const DUPLICATE: &str = "duplicate key";

/// A JSON value deserialized with duplicate keys refused at any depth: for readers that
/// deserialize through serde (axum's `Json` extractor) rather than from text.
pub struct UniqueValue(pub Value);

impl<'de> de::Deserialize<'de> for UniqueValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor).map(UniqueValue)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "{DUPLICATE} `{key}`: an object names each field once"
                )));
            }
            let UniqueValue(v) = map.next_value_seed(Seed)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

struct Seed;

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = UniqueValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<UniqueValue, D::Error> {
        de::Deserialize::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth_with_their_path() {
        let e = parse_unique(r#"{"a":1,"a":2}"#).unwrap_err();
        assert!(e.message.contains("duplicate key `a`"), "{e:?}");
        let e = parse_unique(r#"{"person":{"sex":"male","sex":"female"}}"#).unwrap_err();
        assert_eq!(e.path, "person");
        assert!(e.message.contains("duplicate key `sex`"), "{e:?}");
        let e = parse_unique(r#"[{"x":1},{"y":1,"y":1}]"#).unwrap_err();
        assert_eq!(e.path, "[1]");
    }

    #[test]
    fn accepts_what_serde_json_accepts_and_gives_the_same_value() {
        for text in [
            r#"{"a":1,"b":[1,2.5,-3,"x",null,true],"c":{"d":{}}}"#,
            "[]",
            r#""s""#,
            "12345678901234567890",
            "1e300",
        ] {
            let ours = parse_unique(text).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
        assert!(parse_unique(r#"{"a":1} x"#).is_err());
        assert!(parse_unique(r#"{"a":"#).is_err());
    }
}
