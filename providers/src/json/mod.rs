//! The JSON rules ESO applies to secret payloads, reimplemented so that sealbox resolves
//! `property`, `dataFrom.extract` and PushSecret merges byte-for-byte like ESO.
//!
//! * [`path`] — the gjson path subset ESO's providers use to read a `property`;
//! * [`set`] — the sjson subset the AWS provider uses to merge a pushed `property`;
//! * [`go`] — Go's `encoding/json` output and ESO's `GetByteValue` (the Vault provider
//!   re-marshals data maps with Go's rules);
//! * [`extract`] — `GetSecretMap`: a JSON object turned into a key → value map.
//!
//! Parse errors are never passed through: `serde_json` errors can quote the offending
//! input, which here is secret. Callers get a position-free, value-free reason instead.

pub(crate) mod extract;
pub(crate) mod go;
pub(crate) mod path;
#[cfg(any(feature = "fake", feature = "aws"))]
pub(crate) mod set;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// The members of a JSON object in document order, values left as raw JSON text borrowed
/// from the input (duplicates kept, so callers choose first-wins like gjson or last-wins
/// like Go maps).
pub(crate) struct RawObject<'a>(pub Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for RawObject<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((key, value));
                }
                Ok(RawObject(members))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// The elements of a JSON array, as raw JSON text borrowed from the input.
pub(crate) struct RawArray<'a>(pub Vec<&'a RawValue>);

impl<'de> Deserialize<'de> for RawArray<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArrayVisitor;
        impl<'de> Visitor<'de> for ArrayVisitor {
            type Value = RawArray<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<&'de RawValue>()? {
                    items.push(item);
                }
                Ok(RawArray(items))
            }
        }
        deserializer.deserialize_seq(ArrayVisitor)
    }
}

/// The first significant byte of a JSON text (after whitespace).
pub(crate) fn first_byte(raw: &str) -> Option<u8> {
    raw.bytes().find(|b| !b.is_ascii_whitespace())
}
