//! ESO `GetSecretMap` (`dataFrom.extract`): a JSON object becomes one Secret key per member.

use serde_json::Value;

use super::RawObject;
use super::go::{NumberStyle, byte_value};
use crate::error::{ProviderError, Result};
use crate::value::{SecretMap, SecretValue};

/// AWS and fake providers: members are decoded as `json.RawMessage`; string members are
/// unquoted, every other member keeps its raw JSON text. A later duplicate key wins, as in
/// a Go map.
pub(crate) fn raw_members(key: &str, payload: &[u8]) -> Result<SecretMap> {
    let text = std::str::from_utf8(payload).map_err(|_| {
        ProviderError::invalid_ref(key, "value is not UTF-8 JSON; cannot extract keys")
    })?;
    if text.trim() == "null" {
        return Ok(SecretMap::new());
    }
    let RawObject(members) = serde_json::from_str(text).map_err(|_| not_object(key))?;
    let mut map = SecretMap::new();
    for (name, raw) in members {
        let bytes = match serde_json::from_str::<String>(raw.get()) {
            Ok(unquoted) => unquoted.into_bytes(),
            Err(_) => raw.get().as_bytes().to_vec(),
        };
        map.insert(name, SecretValue::new(bytes));
    }
    Ok(map)
}

/// Vault provider: the object is decoded into Go `map[string]any` (numbers become
/// float64) and every member goes through `GetByteValue`.
pub(crate) fn decoded_members(key: &str, payload: &[u8]) -> Result<SecretMap> {
    let value: Value = serde_json::from_slice(payload).map_err(|_| not_object(key))?;
    match value {
        Value::Object(members) => Ok(members
            .iter()
            .map(|(name, v)| {
                (
                    name.clone(),
                    SecretValue::new(byte_value(v, NumberStyle::Float64)),
                )
            })
            .collect()),
        Value::Null => Ok(SecretMap::new()),
        _ => Err(not_object(key)),
    }
}

fn not_object(key: &str) -> ProviderError {
    ProviderError::invalid_ref(
        key,
        "unable to unmarshal secret: value is not a JSON object, so its keys cannot be extracted",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(map: &SecretMap) -> Vec<(String, String)> {
        map.iter()
            .map(|(k, v)| (k.clone(), String::from_utf8(v.expose().to_vec()).unwrap()))
            .collect()
    }

    #[test]
    fn raw_members_unquote_strings_and_keep_raw_json() {
        let map = raw_members(
            "k",
            br#"{"s":"x\ny","n":1.50,"o":{ "a" : 1 },"b":false,"z":null}"#,
        )
        .unwrap();
        assert_eq!(
            show(&map),
            vec![
                ("b".into(), "false".into()),
                ("n".into(), "1.50".into()),
                ("o".into(), r#"{ "a" : 1 }"#.into()),
                ("s".into(), "x\ny".into()),
                ("z".into(), "null".into()),
            ]
        );
        let err = raw_members("db/creds", b"plain-secret-text").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidRef);
        assert!(!err.to_string().contains("plain-secret-text"));
        assert!(err.to_string().contains("db/creds"));
    }

    #[test]
    fn decoded_members_follow_go_rules() {
        let map =
            decoded_members("k", br#"{"n":1.50,"o":{"b":"<","a":1},"t":true,"z":null}"#).unwrap();
        assert_eq!(
            show(&map),
            vec![
                ("n".into(), "1.5".into()),
                ("o".into(), r#"{"a":1,"b":"\u003c"}"#.into()),
                ("t".into(), "true".into()),
                ("z".into(), "".into()),
            ]
        );
    }
}
