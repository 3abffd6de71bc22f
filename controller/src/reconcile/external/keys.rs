//! What ESO does to the keys and values a store returns, in its order
//! (`externalsecret_controller_secret.go`): rewrite → convert keys (only without rewrite) →
//! validate keys → decode values → NUL-byte check. Every function is pure and its errors
//! name keys, never values.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use regex::Regex;
use sealbox_keys::template::{FuncSet, MissingKey, Options, Template, Value as TplValue};
use serde_json::Value;
use thiserror::Error;

use crate::api::external::external_secret::{Rewrite, RewriteMerge};

/// Raw key → value bytes as they flow through the pipeline.
pub type DataMap = BTreeMap<String, Vec<u8>>;

/// A key or value transformation failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum KeyError {
    /// Unknown strategy value.
    #[error("{field} {value:?} is not supported (expected one of {expected})")]
    Unsupported {
        /// Which field.
        field: &'static str,
        /// The value.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
    /// Two keys became one.
    #[error("secret name collision during conversion: {0}")]
    Collision(String),
    /// A key Kubernetes would refuse.
    #[error("invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): {0}")]
    InvalidKey(String),
    /// A value could not be decoded.
    #[error(
        "error applying decoding strategy {strategy} to data: failure decoding key {key}: {reason}"
    )]
    Decode {
        /// Strategy.
        strategy: String,
        /// Key.
        key: String,
        /// Why (byte position only).
        reason: String,
    },
    /// A value has NUL bytes and the policy is `Fail`.
    #[error(
        "fetched secret value for key {0:?} contains null bytes; use a text-safe format such as PEM/base64 or leave nullBytePolicy unset for intentional binary data"
    )]
    NullBytes(String),
    /// A rewrite failed.
    #[error("error applying rewrite to keys: failed rewrite operation[{index}]: {reason}")]
    Rewrite {
        /// Which operation.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// `conversionStrategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conversion {
    /// Invalid characters → `_`.
    Default,
    /// Invalid characters → `_UXXXX_`.
    Unicode,
}

impl Conversion {
    /// Parse (absent/empty = Default).
    pub fn parse(value: Option<&str>) -> Result<Conversion, KeyError> {
        match value.unwrap_or("") {
            "" | "Default" => Ok(Conversion::Default),
            "Unicode" => Ok(Conversion::Unicode),
            other => Err(KeyError::Unsupported {
                field: "conversionStrategy",
                value: other.to_owned(),
                expected: "Default, Unicode",
            }),
        }
    }
}

/// `decodingStrategy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoding {
    /// As is (the default).
    None,
    /// Standard base64 (padding required).
    Base64,
    /// URL-safe base64 (padding required).
    Base64Url,
    /// Base64, else URL base64, else as is.
    Auto,
}

impl Decoding {
    /// Parse (absent/empty = None).
    pub fn parse(value: Option<&str>) -> Result<Decoding, KeyError> {
        match value.unwrap_or("") {
            "" | "None" => Ok(Decoding::None),
            "Base64" => Ok(Decoding::Base64),
            "Base64URL" => Ok(Decoding::Base64Url),
            "Auto" => Ok(Decoding::Auto),
            other => Err(KeyError::Unsupported {
                field: "decodingStrategy",
                value: other.to_owned(),
                expected: "Auto, Base64, Base64URL, None",
            }),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Decoding::None => "None",
            Decoding::Base64 => "Base64",
            Decoding::Base64Url => "Base64URL",
            Decoding::Auto => "Auto",
        }
    }
}

/// Go's `encoding/base64` decoders: padding required, non-canonical trailing bits
/// accepted, CR and LF ignored.
fn go_engine(alphabet: &alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
            .with_decode_allow_trailing_bits(true),
    )
}

fn go_decode(alphabet: &alphabet::Alphabet, input: &[u8]) -> Result<Vec<u8>, String> {
    let cleaned: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    go_engine(alphabet).decode(&cleaned).map_err(|e| match e {
        base64::DecodeError::InvalidByte(pos, _) => {
            format!("illegal base64 data at input byte {pos}")
        }
        base64::DecodeError::InvalidLastSymbol(pos, _) => {
            format!("illegal base64 data at input byte {pos}")
        }
        _ => format!("illegal base64 data at input byte {}", cleaned.len()),
    })
}

/// ESO `decoding.Decode` of one value.
pub fn decode(strategy: Decoding, key: &str, value: Vec<u8>) -> Result<Vec<u8>, KeyError> {
    let fail = |reason: String| KeyError::Decode {
        strategy: strategy.name().to_owned(),
        key: key.to_owned(),
        reason,
    };
    match strategy {
        Decoding::None => Ok(value),
        Decoding::Base64 => go_decode(&alphabet::STANDARD, &value).map_err(fail),
        Decoding::Base64Url => go_decode(&alphabet::URL_SAFE, &value).map_err(fail),
        Decoding::Auto => Ok(go_decode(&alphabet::STANDARD, &value)
            .or_else(|_| go_decode(&alphabet::URL_SAFE, &value))
            .unwrap_or(value)),
    }
}

/// ESO `DecodeMap`.
pub fn decode_map(strategy: Decoding, data: DataMap) -> Result<DataMap, KeyError> {
    data.into_iter()
        .map(|(k, v)| decode(strategy, &k, v).map(|v| (k, v)))
        .collect()
}

fn allowed(c: char) -> bool {
    c.is_alphabetic() || c.is_numeric() || c == '-' || c == '.' || c == '_'
}

/// ESO `ConvertKeys`.
pub fn convert_keys(strategy: Conversion, data: DataMap) -> Result<DataMap, KeyError> {
    let mut out = DataMap::new();
    for (key, value) in data {
        let converted: String = key
            .chars()
            .map(|c| {
                if allowed(c) {
                    c.to_string()
                } else {
                    match strategy {
                        Conversion::Default => "_".to_owned(),
                        Conversion::Unicode => format!("_U{:04x}_", c as u32),
                    }
                }
            })
            .collect();
        if out.contains_key(&converted) {
            return Err(KeyError::Collision(converted));
        }
        out.insert(converted, value);
    }
    Ok(out)
}

/// ESO `ValidateKeys`: empty keys are dropped; others must be ≤ 253 characters of
/// letters, digits, `-`, `.` and `_`.
pub fn validate_keys(mut data: DataMap) -> Result<DataMap, KeyError> {
    data.remove("");
    for key in data.keys() {
        if key.len() > 253 {
            let cut: String = key.chars().take(253).collect();
            return Err(KeyError::InvalidKey(format!(
                "key has length {} but max is 253: (following is truncated): {cut}",
                key.len()
            )));
        }
        if let Some(c) = key.chars().find(|c| !allowed(*c)) {
            return Err(KeyError::InvalidKey(format!(
                "key has invalid character {c}, only alphanumeric, '-', '.' and '_' are allowed: {key}"
            )));
        }
    }
    Ok(data)
}

/// ESO `nullBytePolicy: Fail`.
pub fn check_null_bytes(policy: Option<&str>, data: &DataMap) -> Result<(), KeyError> {
    match policy.unwrap_or("") {
        "" | "Ignore" => Ok(()),
        "Fail" => match data.iter().find(|(_, v)| v.contains(&0)) {
            Some((k, _)) => Err(KeyError::NullBytes(k.clone())),
            None => Ok(()),
        },
        other => Err(KeyError::Unsupported {
            field: "nullBytePolicy",
            value: other.to_owned(),
            expected: "Ignore, Fail",
        }),
    }
}

/// ESO `RewriteMap`: the operations in order.
pub fn rewrite(operations: &[Rewrite], data: DataMap) -> Result<DataMap, KeyError> {
    let mut out = data;
    for (index, op) in operations.iter().enumerate() {
        let fail = |reason: String| KeyError::Rewrite { index, reason };
        out = if let Some(merge) = &op.merge {
            rewrite_merge(merge, out).map_err(fail)?
        } else if let Some(re) = &op.regexp {
            let compiled = Regex::new(&re.source)
                .map_err(|e| fail(format!("regexp failed with failed to compile: {e}")))?;
            out.into_iter()
                .map(|(k, v)| (compiled.replace_all(&k, re.target.as_str()).into_owned(), v))
                .collect()
        } else if let Some(t) = &op.transform {
            let mut options = Options::for_funcs(FuncSet::EsoV2);
            options.missing_key = MissingKey::Invalid;
            let tpl =
                Template::parse_with_options("transform", &t.template, options).map_err(|e| {
                    fail(format!(
                        "transform failed with failed to parse template: {e}"
                    ))
                })?;
            let mut next = DataMap::new();
            for (key, value) in out {
                let rendered = tpl
                    .execute(&TplValue::string_map([("value", key.as_bytes().to_vec())]))
                    .map_err(|e| {
                        fail(format!(
                            "transform failed with failed to execute template for key {key:?}: {e}"
                        ))
                    })?;
                next.insert(String::from_utf8_lossy(&rendered).into_owned(), value);
            }
            next
        } else {
            out
        };
    }
    Ok(out)
}

/// Go's `json.Marshal` of a decoded value: sorted keys, HTML characters escaped when
/// `escape_html`, numbers as Go prints a float64.
fn go_json(value: &Value, escape_html: bool, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&go_number(n)),
        Value::String(s) => {
            let mut text = serde_json::to_string(s).expect("strings serialize");
            if escape_html {
                text = text
                    .replace('<', "\\u003c")
                    .replace('>', "\\u003e")
                    .replace('&', "\\u0026");
            }
            out.push_str(&text);
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, escape_html, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(&Value::String(k.clone()), escape_html, out);
                out.push(':');
                go_json(v, escape_html, out);
            }
            out.push('}');
        }
    }
}

fn go_number(n: &serde_json::Number) -> String {
    let f = n.as_f64().unwrap_or(0.0);
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.0}")
    } else {
        format!("{f}")
    }
}

/// ESO `GetByteValue` of a decoded JSON value.
fn byte_value(value: &Value) -> Vec<u8> {
    match value {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Null => Vec::new(),
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Number(n) => go_number(n).into_bytes(),
        other => {
            let mut s = String::new();
            go_json(other, true, &mut s);
            s.into_bytes()
        }
    }
}

fn rewrite_merge(op: &RewriteMerge, data: DataMap) -> Result<DataMap, String> {
    let ignore_missing = op.priority_policy.as_deref() == Some("IgnoreNotFound");
    let mut keys: Vec<&String> = data.keys().filter(|k| !op.priority.contains(k)).collect();
    keys.sort();
    keys.extend(op.priority.iter());
    let mut merged: BTreeMap<String, Value> = BTreeMap::new();
    let mut conflicts: Vec<String> = Vec::new();
    for key in keys {
        let Some(raw) = data.get(key) else {
            if ignore_missing {
                continue;
            }
            return Err(format!(
                "merge failed with key {key:?} not found in input map"
            ));
        };
        let parsed: serde_json::Map<String, Value> = serde_json::from_slice(raw).map_err(|_| {
            format!("merge failed with failed to unmarshal JSON: the value of {key:?} is not a JSON object")
        })?;
        for (k, v) in parsed {
            if merged.contains_key(&k) {
                conflicts.push(k.clone());
            }
            merged.insert(k, v);
        }
    }
    if op.conflict_policy.as_deref() != Some("Ignore") && !conflicts.is_empty() {
        return Err(format!(
            "merge failed with conflicts: {}",
            conflicts.join(", ")
        ));
    }
    match op.strategy.as_deref().unwrap_or("") {
        "" | "Extract" => Ok(merged
            .iter()
            .map(|(k, v)| (k.clone(), byte_value(v)))
            .collect()),
        "JSON" => {
            let into = op
                .into
                .as_deref()
                .filter(|s| !s.is_empty())
                .ok_or("merge failed with missing 'into' field")?;
            let object = Value::Object(merged.into_iter().collect());
            let mut text = String::new();
            go_json(&object, false, &mut text);
            let mut out = data;
            out.insert(into.to_owned(), text.into_bytes());
            Ok(out)
        }
        other => Err(format!(
            "merge strategy {other:?} is not supported (expected Extract or JSON)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::external::external_secret::{RewriteRegexp, RewriteTransform};

    fn map(entries: &[(&str, &str)]) -> DataMap {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn conversion_default_and_unicode() {
        let out = convert_keys(Conversion::Default, map(&[("a/b c", "1")])).unwrap();
        assert!(out.contains_key("a_b_c"));
        let out = convert_keys(Conversion::Unicode, map(&[("a/b", "1")])).unwrap();
        assert!(out.contains_key("a_U002f_b"));
        let e = convert_keys(Conversion::Default, map(&[("a/b", "1"), ("a_b", "2")]));
        assert_eq!(e.unwrap_err(), KeyError::Collision("a_b".into()));
        assert!(Conversion::parse(Some("Weird")).is_err());
    }

    #[test]
    fn validation_drops_empty_and_names_bad_keys() {
        let out = validate_keys(map(&[("", "x"), ("ok.key-1_é", "y")])).unwrap();
        assert_eq!(out.keys().collect::<Vec<_>>(), ["ok.key-1_é"]);
        let e = validate_keys(map(&[("bad/key", "s3cr3t")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid character /") && e.contains("bad/key") && e.contains("TIP"));
        assert!(!e.contains("s3cr3t"));
        assert!(validate_keys(map(&[(&"k".repeat(254), "v")])).is_err());
    }

    #[test]
    fn decoding_strategies_like_go() {
        assert_eq!(
            decode(Decoding::Base64, "k", b"aGk=".to_vec()).unwrap(),
            b"hi"
        );
        assert_eq!(
            decode(Decoding::Base64, "k", b"aGk=\n".to_vec()).unwrap(),
            b"hi"
        );
        assert!(
            decode(Decoding::Base64, "k", b"aGk".to_vec()).is_err(),
            "padding required"
        );
        assert_eq!(
            decode(Decoding::Base64Url, "k", b"-_8=".to_vec()).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode(Decoding::Auto, "k", b"-_8=".to_vec()).unwrap(),
            [0xfb, 0xff]
        );
        assert_eq!(
            decode(Decoding::Auto, "k", b"not base64!".to_vec()).unwrap(),
            b"not base64!"
        );
        assert_eq!(
            decode(Decoding::None, "k", b"aGk=".to_vec()).unwrap(),
            b"aGk="
        );
        let e = decode(Decoding::Base64, "pw", b"secret!!".to_vec())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("pw") && e.contains("input byte 6") && !e.contains("secret!!"),
            "{e}"
        );
    }

    #[test]
    fn null_bytes() {
        let data = map(&[("k", "a\0b")]);
        assert!(check_null_bytes(None, &data).is_ok());
        assert!(check_null_bytes(Some("Ignore"), &data).is_ok());
        assert_eq!(
            check_null_bytes(Some("Fail"), &data).unwrap_err(),
            KeyError::NullBytes("k".into())
        );
    }

    #[test]
    fn rewrites_in_order() {
        let ops = vec![
            Rewrite {
                regexp: Some(RewriteRegexp {
                    source: "^app/(.*)$".into(),
                    target: "$1".into(),
                }),
                ..Default::default()
            },
            Rewrite {
                transform: Some(RewriteTransform {
                    template: "{{ .value | upper }}".into(),
                }),
                ..Default::default()
            },
        ];
        let out = rewrite(&ops, map(&[("app/db", "1"), ("other", "2")])).unwrap();
        assert_eq!(out.keys().collect::<Vec<_>>(), ["DB", "OTHER"]);
        let bad = vec![Rewrite {
            regexp: Some(RewriteRegexp {
                source: "(".into(),
                target: "".into(),
            }),
            ..Default::default()
        }];
        assert!(matches!(
            rewrite(&bad, map(&[("a", "1")])).unwrap_err(),
            KeyError::Rewrite { index: 0, .. }
        ));
    }

    #[test]
    fn merge_rewrite_extract_and_json() {
        let data = map(&[
            ("a", r#"{"user":"u1","n":5,"nested":{"z":1,"a":"<"}}"#),
            ("b", r#"{"user":"u2","ok":true}"#),
        ]);
        let strict = Rewrite {
            merge: Some(RewriteMerge::default()),
            ..Default::default()
        };
        let e = rewrite(std::slice::from_ref(&strict), data.clone()).unwrap_err();
        assert!(e.to_string().contains("conflicts: user"), "{e}");
        let ignore = Rewrite {
            merge: Some(RewriteMerge {
                conflict_policy: Some("Ignore".into()),
                priority: vec!["a".into()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let out = rewrite(&[ignore], data.clone()).unwrap();
        assert_eq!(out["user"], b"u1", "priority keys merge last and win");
        assert_eq!(out["n"], b"5");
        assert_eq!(out["ok"], b"true");
        assert_eq!(out["nested"], br#"{"a":"\u003c","z":1}"#);
        let json = Rewrite {
            merge: Some(RewriteMerge {
                conflict_policy: Some("Ignore".into()),
                strategy: Some("JSON".into()),
                into: Some("all".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let out = rewrite(&[json], data).unwrap();
        assert_eq!(
            String::from_utf8(out["all"].clone()).unwrap(),
            r#"{"n":5,"nested":{"a":"<","z":1},"ok":true,"user":"u2"}"#
        );
        assert!(out.contains_key("a"), "JSON strategy keeps the inputs");
    }
}
