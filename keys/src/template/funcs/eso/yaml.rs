//! ESO `toYaml` / `fromYaml` (`runtime/template/v2/yaml.go`, via `sigs.k8s.io/yaml`: the value
//! goes through JSON first, so numbers become JSON numbers and maps have sorted keys).
//! YAML text is produced and parsed by `serde-saphyr`.
//!
//! Known differences from Go's `go-yaml` v2 emitter: quoting style of some scalars may differ
//! (both produce YAML that parses to the same data); `fromYaml` uses the YAML 1.2 core schema,
//! so `yes`/`no`/`on`/`off` stay strings where go-yaml v2 (YAML 1.1) reads booleans.

use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, s, strval};
use crate::template::gofmt::lossy;
use crate::template::json::from_serde;
use crate::template::value::Value;

type R = Result<Value, FuncError>;

/// The JSON form `sigs.k8s.io/yaml` marshals through (`json.Marshal` semantics).
fn to_json_value(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                J::from(*f as i64)
            } else {
                serde_json::Number::from_f64(*f).map_or(J::Null, J::Number)
            }
        }
        Value::String(b) => J::String(lossy(b)),
        Value::Time(t) => J::String(t.format("2006-01-02T15:04:05.999999999Z07:00")),
        Value::List(l) => J::Array(l.iter().map(to_json_value).collect()),
        Value::Map(_) | Value::StringMap(_) => J::Object(
            v.map_entries()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, to_json_value(&v)))
                .collect(),
        ),
    }
}

pub(super) fn to_yaml(c: &CallCtx, a: Vec<Value>) -> R {
    if let Value::Float(f) = &a[0]
        && !f.is_finite()
    {
        return s("");
    }
    let out = serde_saphyr::to_string(&to_json_value(&a[0])).unwrap_or_default();
    let out = out.strip_suffix('\n').unwrap_or(&out).to_string();
    c.check_size(out.len())?;
    s(out)
}

pub(super) fn from_yaml(_: &CallCtx, a: Vec<Value>) -> R {
    let text = lossy(&strval(&a[0]));
    let parsed: Result<serde_json::Value, _> = serde_saphyr::from_str(&text);
    let mut m = std::collections::BTreeMap::new();
    match parsed {
        Ok(serde_json::Value::Object(o)) => {
            for (k, v) in o {
                m.insert(k, from_serde(v));
            }
        }
        Ok(serde_json::Value::Null) => {}
        Ok(_) => {
            m.insert(
                "Error".to_string(),
                Value::from(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal into Go value of type map[string]interface {}",
                ),
            );
        }
        Err(_) => {
            m.insert(
                "Error".to_string(),
                Value::from("error converting YAML to JSON: yaml: invalid YAML document"),
            );
        }
    }
    Ok(Value::Map(m))
}
