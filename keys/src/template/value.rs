//! The dynamic values a template works on, modelled on the Go types that the Bitnami controller
//! and ESO hand to `text/template` and that sprig functions return.
//!
//! Go strings are byte strings, so [`Value::String`] holds `Vec<u8>`: a secret that is not
//! UTF-8 passes through `{{ .blob }}` unchanged. Two map variants exist because Go treats a
//! `map[string]string` (the data both controllers pass in) differently from a
//! `map[string]interface{}` (what `dict` and `fromJson` build): `index` of a missing key yields
//! `""` in the first and `nil` in the second, and sprig's dict functions refuse the first.
//!
//! `Debug` is redacted on purpose: values are secrets, and a `{:?}` in a log line must never
//! print one.

use std::collections::BTreeMap;
use std::fmt;

use super::gotime::GoTime;

/// A Go value as seen by a template.
#[derive(Clone, PartialEq)]
pub enum Value {
    /// `nil` (an untyped nil interface, or "no value").
    Nil,
    /// Go `bool`.
    Bool(bool),
    /// Go `int` / `int64` (the engine does not distinguish the two).
    Int(i64),
    /// Go `float64`.
    Float(f64),
    /// Go `string`: arbitrary bytes.
    String(Vec<u8>),
    /// Go `[]interface{}` (also stands for `[]string` results of sprig functions).
    List(Vec<Value>),
    /// Go `map[string]interface{}`.
    Map(BTreeMap<String, Value>),
    /// Go `map[string]string`: the data map both controllers pass to templates.
    StringMap(BTreeMap<String, Vec<u8>>),
    /// Go `time.Time` (sprig's date functions).
    Time(GoTime),
}

impl Value {
    /// Builds the `map[string]string` that the Bitnami controller and ESO pass as template data.
    pub fn string_map<I, K, V>(entries: I) -> Value
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<Vec<u8>>,
    {
        Value::StringMap(
            entries
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// A Go string value from anything byte-like.
    pub fn str(s: impl Into<Vec<u8>>) -> Value {
        Value::String(s.into())
    }

    /// The Go type name used in error messages (`reflect.Type.String()`), never the value.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::StringMap(_) => "map[string]string",
            Value::Time(_) => "time.Time",
        }
    }

    /// The Go `reflect.Kind` name (sprig `kindOf`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::String(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) | Value::StringMap(_) => "map",
            Value::Time(_) => "struct",
        }
    }

    /// Go's template truthiness (`text/template` `isTrue`): zero values are false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::String(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::StringMap(m) => !m.is_empty(),
            Value::Time(_) => true,
        }
    }

    /// sprig `empty`: the negation of truthiness (structs are never empty).
    pub fn is_empty_value(&self) -> bool {
        !self.is_true()
    }

    /// Length for `len`, or `None` when Go has no length for the type.
    pub fn len(&self) -> Option<usize> {
        match self {
            Value::String(s) => Some(s.len()),
            Value::List(l) => Some(l.len()),
            Value::Map(m) => Some(m.len()),
            Value::StringMap(m) => Some(m.len()),
            _ => None,
        }
    }

    /// Whether [`Value::len`] is zero (and the value has a length).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Looks a key up in either map variant, returning `None` when absent or not a map.
    pub fn map_get(&self, key: &str) -> Option<Value> {
        match self {
            Value::Map(m) => m.get(key).cloned(),
            Value::StringMap(m) => m.get(key).map(|v| Value::String(v.clone())),
            _ => None,
        }
    }

    /// The zero value of the map's element type: `""` for `map[string]string`, nil otherwise.
    pub fn map_zero_elem(&self) -> Value {
        match self {
            Value::StringMap(_) => Value::String(Vec::new()),
            _ => Value::Nil,
        }
    }

    /// The entries of either map variant in Go's sorted key order.
    pub fn map_entries(&self) -> Option<Vec<(String, Value)>> {
        match self {
            Value::Map(m) => Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            Value::StringMap(m) => Some(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Converts a `map[string]string` to `map[string]interface{}` (other values unchanged).
    pub fn into_generic_map(self) -> Value {
        match self {
            Value::StringMap(m) => {
                Value::Map(m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
            }
            other => other,
        }
    }
}

impl fmt::Debug for Value {
    /// Redacted: shows the Go type and size, never the content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("Nil"),
            Value::Bool(_) => f.write_str("Bool(<redacted>)"),
            Value::Int(_) => f.write_str("Int(<redacted>)"),
            Value::Float(_) => f.write_str("Float(<redacted>)"),
            Value::String(s) => write!(f, "String(<redacted {} bytes>)", s.len()),
            Value::List(l) => write!(f, "List(<redacted {} items>)", l.len()),
            Value::Map(m) => write!(f, "Map(<redacted {} entries>)", m.len()),
            Value::StringMap(m) => write!(f, "StringMap(<redacted {} entries>)", m.len()),
            Value::Time(_) => f.write_str("Time(<redacted>)"),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.as_bytes().to_vec())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into_bytes())
    }
}

impl From<Vec<u8>> for Value {
    fn from(s: Vec<u8>) -> Self {
        Value::String(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::List(l)
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(m: BTreeMap<String, Value>) -> Self {
        Value::Map(m)
    }
}
