//! Reading the Secrets to seal from parsed documents.
//!
//! Checked by hand rather than with serde into `k8s_openapi::Secret`: serde's type errors
//! quote the offending value ("invalid type: integer `12345`"), and here that value would
//! be a password. Every message names the document and field instead.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sealbox_controller::api::Document;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::exit::{Code, fail};

/// A Secret to seal. Values are plaintext, wiped on drop; `Debug` shows only key names.
pub struct InputSecret {
    /// Where it came from, for messages ("<stdin>: document 2 (line 9)").
    pub origin: String,
    /// Its metadata.
    pub metadata: ObjectMeta,
    /// `type`.
    pub type_: Option<String>,
    /// `immutable`.
    pub immutable: Option<bool>,
    /// `data` (decoded) then `stringData` on top: stringData wins, as in the API server
    /// and in kubeseal.
    pub values: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for InputSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputSecret")
            .field("origin", &self.origin)
            .field("name", &self.metadata.name)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Turn one document into a Secret to seal, or explain (without values) why not.
pub fn read_secret(source: &str, doc: &Document) -> anyhow::Result<InputSecret> {
    let origin = format!("{source}: {doc}");
    let object = doc.value.as_object().ok_or_else(|| {
        fail(
            Code::WrongKind,
            format!(
                "{origin}: expected a v1 Secret object, found {}",
                json_type(&doc.value)
            ),
        )
    })?;
    let (api_version, kind) = doc.type_meta();
    if kind != "Secret" || !(api_version == "v1" || api_version.is_empty()) {
        let found = if kind.is_empty() {
            "an object without `kind`".to_owned()
        } else {
            format!(
                "{} {kind}",
                if api_version.is_empty() {
                    "(no apiVersion)"
                } else {
                    api_version
                }
            )
        };
        return Err(fail(
            Code::WrongKind,
            format!("{origin}: expected kind Secret (apiVersion v1), found {found}"),
        ));
    }

    if let Some(Value::Object(meta)) = object.get("metadata") {
        check_metadata_shape(meta, &origin)?;
    }
    let metadata = match object.get("metadata") {
        None | Some(Value::Null) => ObjectMeta::default(),
        Some(m) => serde_json::from_value::<ObjectMeta>(m.clone()).map_err(|_| {
            fail(
                Code::MalformedInput,
                format!(
                    "{origin}: metadata is not valid Kubernetes metadata (name/namespace must be strings, labels and annotations maps of strings)"
                ),
            )
        })?,
    };

    let type_ = optional_string(object, "type", &origin)?;
    let immutable = match object.get("immutable") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(fail(
                Code::MalformedInput,
                format!("{origin}: `immutable` must be true or false"),
            ));
        }
    };

    let mut values = BTreeMap::new();
    for (key, value) in string_entries(object, "data", &origin)? {
        let text = value.ok_or_else(|| {
            fail(
                Code::MalformedInput,
                format!("{origin}: data[{key:?}] must be a base64 string"),
            )
        })?;
        let bytes = STANDARD.decode(text.trim()).map_err(|_| {
            fail(
                Code::MalformedInput,
                format!(
                    "{origin}: data[{key:?}] is not valid base64 (use stringData for plain text)"
                ),
            )
        })?;
        values.insert(key.to_owned(), Zeroizing::new(bytes));
    }
    for (key, value) in string_entries(object, "stringData", &origin)? {
        let text = value.ok_or_else(|| {
            fail(
                Code::MalformedInput,
                format!("{origin}: stringData[{key:?}] must be a string (quote numbers and booleans in YAML)"),
            )
        })?;
        values.insert(key.to_owned(), Zeroizing::new(text.as_bytes().to_vec()));
    }

    Ok(InputSecret {
        origin,
        metadata,
        type_,
        immutable,
        values,
    })
}

/// Point at the metadata field of the wrong type, e.g. `namespace: no` (a YAML boolean).
fn check_metadata_shape(meta: &serde_json::Map<String, Value>, origin: &str) -> anyhow::Result<()> {
    for field in ["name", "namespace", "generateName"] {
        match meta.get(field) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => {
                return Err(fail(
                    Code::MalformedInput,
                    format!(
                        "{origin}: metadata.{field} must be a string, found {} (quote it in YAML: y, n, yes, no, on, off, true, false and numbers are not strings)",
                        json_type(other)
                    ),
                ));
            }
        }
    }
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                if let Some((key, _)) = map.iter().find(|(_, v)| !v.is_string() && !v.is_null()) {
                    return Err(fail(
                        Code::MalformedInput,
                        format!(
                            "{origin}: metadata.{field}[{key:?}] must be a string (quote it in YAML)"
                        ),
                    ));
                }
            }
            Some(other) => {
                return Err(fail(
                    Code::MalformedInput,
                    format!(
                        "{origin}: metadata.{field} must be a map of strings, found {}",
                        json_type(other)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The entries of a map field; values that are not strings come back as `None` (so the
/// caller can report the key) and `null` values are skipped like the API server does.
fn string_entries<'a>(
    object: &'a serde_json::Map<String, Value>,
    field: &str,
    origin: &str,
) -> anyhow::Result<Vec<(&'a str, Option<&'a str>)>> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(map
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()),
        Some(other) => Err(fail(
            Code::MalformedInput,
            format!(
                "{origin}: `{field}` must be a map of key to value, found {}",
                json_type(other)
            ),
        )),
    }
}

fn optional_string(
    object: &serde_json::Map<String, Value>,
    field: &str,
    origin: &str,
) -> anyhow::Result<Option<String>> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(fail(
            Code::MalformedInput,
            format!(
                "{origin}: `{field}` must be a string, found {}",
                json_type(other)
            ),
        )),
    }
}

/// The JSON type of a value, for messages that must not show the value.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}
