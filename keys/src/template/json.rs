//! Go `encoding/json` for template values (`encode.go`, `indent.go`, `decode.go`):
//! `toJson` escapes `<`, `>`, `&` as `\u003c \u003e \u0026` (HTML-safe), `toRawJson` does not;
//! U+2028/U+2029 are always escaped; invalid UTF-8 becomes `\ufffd`; map keys are sorted;
//! floats use `'f'` form unless the exponent is < -6 or ≥ 21; `fromJson` numbers are
//! `float64`. Parsing is done by `serde_json`.

use super::gofmt::{decode_rune, shortest_digits};
use super::value::Value;

/// Why a value cannot be encoded (Go's `UnsupportedValueError` / `UnsupportedTypeError`).
#[derive(Debug)]
pub(crate) struct EncodeError(pub String);

/// Go `json.Marshal` (html = true) or an `Encoder` with `SetEscapeHTML(false)` (html = false),
/// optionally indented like `json.MarshalIndent(v, "", indent)`.
pub(crate) fn encode(v: &Value, html: bool, indent: Option<&str>) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    write_value(&mut out, v, html, indent, 0)?;
    Ok(out)
}

fn newline(out: &mut Vec<u8>, indent: Option<&str>, depth: usize) {
    if let Some(ind) = indent {
        out.push(b'\n');
        for _ in 0..depth {
            out.extend_from_slice(ind.as_bytes());
        }
    }
}

fn write_value(
    out: &mut Vec<u8>,
    v: &Value,
    html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), EncodeError> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Float(f) => out.extend_from_slice(format_json_float(*f)?.as_bytes()),
        Value::String(s) => write_string(out, s, html),
        Value::Time(t) => {
            let s = t.format("2006-01-02T15:04:05.999999999Z07:00");
            write_string(out, s.as_bytes(), html);
        }
        Value::List(items) => {
            if items.is_empty() {
                out.extend_from_slice(b"[]");
                return Ok(());
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, indent, depth + 1);
                write_value(out, item, html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push(b']');
        }
        Value::Map(_) | Value::StringMap(_) => {
            let entries = v.map_entries().unwrap_or_default();
            if entries.is_empty() {
                out.extend_from_slice(b"{}");
                return Ok(());
            }
            out.push(b'{');
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, indent, depth + 1);
                write_string(out, k.as_bytes(), html);
                out.push(b':');
                if indent.is_some() {
                    out.push(b' ');
                }
                write_value(out, val, html, indent, depth + 1)?;
            }
            newline(out, indent, depth);
            out.push(b'}');
        }
    }
    Ok(())
}

/// Go's `floatEncoder` for float64.
pub(crate) fn format_json_float(f: f64) -> Result<String, EncodeError> {
    if f.is_nan() || f.is_infinite() {
        return Err(EncodeError(
            "json: unsupported value: NaN or infinite float".into(),
        ));
    }
    let abs = f.abs();
    let use_exp = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let neg = f < 0.0 || (f == 0.0 && f.is_sign_negative());
    let d = shortest_digits(f);
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if use_exp {
        s.push(d.d[0] as char);
        if d.d.len() > 1 {
            s.push('.');
            s.push_str(std::str::from_utf8(&d.d[1..]).unwrap_or(""));
        }
        let exp = d.dp - 1;
        s.push('e');
        s.push(if exp < 0 { '-' } else { '+' });
        // Go prints at least two exponent digits, then trims e-07 to e-7.
        let e = exp.abs();
        if e < 10 && exp >= 0 {
            s.push('0');
        }
        s.push_str(&e.to_string());
    } else {
        let digits = &d.d;
        if d.dp <= 0 {
            s.push('0');
            if !digits.is_empty() {
                s.push('.');
                for _ in 0..(-d.dp) {
                    s.push('0');
                }
                s.push_str(std::str::from_utf8(digits).unwrap_or(""));
            }
        } else {
            let dp = d.dp as usize;
            if digits.len() <= dp {
                s.push_str(std::str::from_utf8(digits).unwrap_or(""));
                for _ in digits.len()..dp {
                    s.push('0');
                }
                if digits.is_empty() {
                    s.clear();
                    if neg {
                        s.push('-');
                    }
                    s.push('0');
                }
            } else {
                s.push_str(std::str::from_utf8(&digits[..dp]).unwrap_or(""));
                s.push('.');
                s.push_str(std::str::from_utf8(&digits[dp..]).unwrap_or(""));
            }
        }
    }
    Ok(s)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Go's `appendString` with its escaping rules.
pub(crate) fn write_string(out: &mut Vec<u8>, s: &[u8], html: bool) {
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b < 0x80 {
            let safe =
                b >= 0x20 && b != b'"' && b != b'\\' && !(html && matches!(b, b'<' | b'>' | b'&'));
            if safe {
                out.push(b);
            } else {
                match b {
                    b'\\' | b'"' => {
                        out.push(b'\\');
                        out.push(b);
                    }
                    b'\x08' => out.extend_from_slice(b"\\b"),
                    b'\x0c' => out.extend_from_slice(b"\\f"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    _ => {
                        out.extend_from_slice(b"\\u00");
                        out.push(HEX[(b >> 4) as usize]);
                        out.push(HEX[(b & 0xf) as usize]);
                    }
                }
            }
            i += 1;
            continue;
        }
        let (c, w) = decode_rune(&s[i..]);
        match c {
            None => out.extend_from_slice(b"\\ufffd"),
            Some('\u{2028}') => out.extend_from_slice(b"\\u2028"),
            Some('\u{2029}') => out.extend_from_slice(b"\\u2029"),
            Some(_) => out.extend_from_slice(&s[i..i + w]),
        }
        i += w;
    }
    out.push(b'"');
}

/// Go `json.Unmarshal` into `interface{}`: objects → `map[string]interface{}`, arrays →
/// `[]interface{}`, numbers → `float64`. Invalid UTF-8 inside strings becomes U+FFFD as in
/// Go. The error message never contains the input.
pub(crate) fn decode(input: &[u8]) -> Result<Value, String> {
    let text = super::gofmt::lossy(input);
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| match e.classify() {
        serde_json::error::Category::Eof => "unexpected end of JSON input".to_string(),
        _ => format!("invalid JSON at line {} column {}", e.line(), e.column()),
    })?;
    Ok(from_serde(v))
}

pub(crate) fn from_serde(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::String(s.into_bytes()),
        serde_json::Value::Array(a) => Value::List(a.into_iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => {
            Value::Map(o.into_iter().map(|(k, v)| (k, from_serde(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> String {
        String::from_utf8(encode(v, true, None).unwrap()).unwrap()
    }

    #[test]
    fn html_escaping_like_go() {
        // encoding/json encode_test.go TestHTMLEscape / sealed-secrets fixture
        assert_eq!(enc(&Value::from("p\"q'r\\s&t")), r#""p\"q'r\\s\u0026t""#);
        assert_eq!(enc(&Value::from("<a>")), r#""\u003ca\u003e""#);
        let raw = encode(&Value::from("<&>"), false, None).unwrap();
        assert_eq!(raw, br#""<&>""#);
        assert_eq!(enc(&Value::String(vec![b'a', 0xff])), r#""a\ufffd""#);
        assert_eq!(enc(&Value::from("\u{2028}\x01\n")), r#""\u2028\u0001\n""#);
    }

    #[test]
    fn floats_like_go() {
        // encoding/json encode_test.go TestEncodeFloat-style values
        assert_eq!(format_json_float(1.0).unwrap(), "1");
        assert_eq!(format_json_float(0.1).unwrap(), "0.1");
        assert_eq!(format_json_float(1e21).unwrap(), "1e+21");
        assert_eq!(format_json_float(1e20).unwrap(), "100000000000000000000");
        assert_eq!(format_json_float(1e-7).unwrap(), "1e-7");
        assert_eq!(format_json_float(0.000001).unwrap(), "0.000001");
        assert_eq!(format_json_float(-2.5).unwrap(), "-2.5");
        assert_eq!(format_json_float(5432.0).unwrap(), "5432");
    }

    #[test]
    fn indent_like_marshal_indent() {
        let mut m = std::collections::BTreeMap::new();
        m.insert(
            "b".to_string(),
            Value::List(vec![Value::Int(1), Value::Int(2)]),
        );
        m.insert("a".to_string(), Value::Map(Default::default()));
        let s = encode(&Value::Map(m), true, Some("  ")).unwrap();
        assert_eq!(
            String::from_utf8(s).unwrap(),
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2\n  ]\n}"
        );
    }
}
