//! Go `encoding/json` output and ESO's `esutils.GetByteValue`.
//!
//! ESO's Vault provider decodes KV data into Go maps and re-marshals them, so the bytes an
//! ExternalSecret receives are Go's: object keys sorted, compact, and `<`, `>`, `&`,
//! U+2028, U+2029 escaped as `\u003c`-style sequences. We produce the same bytes.

use serde_json::{Map, Number, Value};

/// `json.Marshal(v)` as Go writes it.
pub(crate) fn marshal(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// `json.Marshal` of a map: the whole Vault data object.
#[cfg_attr(not(any(feature = "aws", feature = "vault")), allow(dead_code))]
pub(crate) fn marshal_object(map: &Map<String, Value>) -> String {
    let mut out = String::new();
    write_object(&mut out, map);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, &map[key]);
    }
    out.push('}');
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// How a number reached ESO: Vault's client decodes with `UseNumber` (the literal is kept),
/// a plain `json.Unmarshal` into `any` yields a float64.
#[derive(Clone, Copy)]
pub(crate) enum NumberStyle {
    Literal,
    Float64,
}

/// `esutils.GetByteValue`: the bytes ESO puts into a Secret for one decoded JSON value.
pub(crate) fn byte_value(value: &Value, numbers: NumberStyle) -> Vec<u8> {
    match value {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(_) | Value::Array(_) => marshal(value).into_bytes(),
        Value::Number(n) => number_text(n, numbers).into_bytes(),
        Value::Bool(b) => b.to_string().into_bytes(),
        Value::Null => Vec::new(),
    }
}

fn number_text(n: &Number, numbers: NumberStyle) -> String {
    match numbers {
        NumberStyle::Literal => n.to_string(),
        // Go: strconv.FormatFloat(f, 'f', -1, 64) == Rust's shortest `Display` for f64.
        NumberStyle::Float64 => n.as_f64().map(|f| format!("{f}")).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marshal_sorts_keys_and_escapes_html_like_go() {
        let v = json!({"z": 1, "a": "<b>&\u{2028}\"\n", "m": [true, null, {"y": 2, "x": 1.5}]});
        assert_eq!(
            marshal(&v),
            r#"{"a":"\u003cb\u003e\u0026\u2028\"\n","m":[true,null,{"x":1.5,"y":2}],"z":1}"#
        );
        assert_eq!(marshal(&json!("\u{1}")), r#""\u0001""#);
    }

    #[test]
    fn byte_value_follows_esutils() {
        assert_eq!(byte_value(&json!("s"), NumberStyle::Literal), b"s");
        assert_eq!(byte_value(&json!(12), NumberStyle::Literal), b"12");
        assert_eq!(byte_value(&json!(1.25), NumberStyle::Float64), b"1.25");
        assert_eq!(
            byte_value(&json!(1e21), NumberStyle::Float64),
            b"1000000000000000000000"
        );
        assert_eq!(byte_value(&json!(true), NumberStyle::Float64), b"true");
        assert_eq!(byte_value(&json!(null), NumberStyle::Float64), b"");
        assert_eq!(
            byte_value(&json!({"b":1,"a":2}), NumberStyle::Float64),
            br#"{"a":2,"b":1}"#
        );
    }
}
