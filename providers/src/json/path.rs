//! The gjson path subset that ESO's providers use to resolve `property`.
//!
//! Supported: `.`-separated members, `\` escapes (`a\.b` is the key `a.b`), `*`/`?`
//! wildcards in member names (first match wins, as in gjson), array indexes, `#` (array
//! length) and `#.rest` (apply `rest` to every element, results as a JSON array).
//! Not supported (they select nothing): queries `#(...)`, modifiers `@...`, multipaths,
//! pipes. The result is rendered like gjson's `Result.String()`.

use std::borrow::Cow;

use serde_json::value::RawValue;

use super::{RawArray, RawObject, first_byte};

/// One segment of a path: literal characters and wildcards.
#[derive(Debug, Clone, PartialEq)]
enum Pat {
    Lit(char),
    Star,
    Quest,
}

#[derive(Debug, Clone, PartialEq)]
struct Segment(Vec<Pat>);

impl Segment {
    fn literal(&self) -> Option<String> {
        self.0
            .iter()
            .map(|p| match p {
                Pat::Lit(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    fn matches(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        glob(&self.0, &chars)
    }
}

fn glob(pat: &[Pat], text: &[char]) -> bool {
    match pat.split_first() {
        None => text.is_empty(),
        Some((Pat::Star, rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((Pat::Quest, rest)) => !text.is_empty() && glob(rest, &text[1..]),
        Some((Pat::Lit(c), rest)) => text.first() == Some(c) && glob(rest, &text[1..]),
    }
}

fn parse(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut current = Vec::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    current.push(Pat::Lit(escaped));
                }
            }
            '.' => segments.push(Segment(std::mem::take(&mut current))),
            '*' => current.push(Pat::Star),
            '?' => current.push(Pat::Quest),
            other => current.push(Pat::Lit(other)),
        }
    }
    segments.push(Segment(current));
    segments
}

/// Resolves `path` in the JSON text `json`; returns the raw JSON text of the result.
pub(crate) fn get_raw<'a>(json: &'a str, path: &str) -> Option<Cow<'a, str>> {
    if path.is_empty() {
        return None;
    }
    walk(json, &parse(path))
}

fn walk<'a>(json: &'a str, segments: &[Segment]) -> Option<Cow<'a, str>> {
    let Some((segment, rest)) = segments.split_first() else {
        return Some(Cow::Borrowed(json.trim()));
    };
    match first_byte(json)? {
        b'{' => {
            let RawObject(members) = serde_json::from_str(json).ok()?;
            let value: &'a RawValue = match segment.literal() {
                Some(name) => members.into_iter().find(|(k, _)| *k == name)?.1,
                None => members.into_iter().find(|(k, _)| segment.matches(k))?.1,
            };
            walk(value.get(), rest)
        }
        b'[' => {
            let RawArray(items) = serde_json::from_str(json).ok()?;
            let name = segment.literal()?;
            if name == "#" {
                if rest.is_empty() {
                    return Some(Cow::Owned(items.len().to_string()));
                }
                let found: Vec<String> = items
                    .iter()
                    .filter_map(|item| walk(item.get(), rest).map(Cow::into_owned))
                    .collect();
                return Some(Cow::Owned(format!("[{}]", found.join(","))));
            }
            let index: usize = name.parse().ok()?;
            walk(items.get(index)?.get(), rest)
        }
        _ => None,
    }
}

/// gjson's `Result.String()` for a raw JSON value: strings unquoted, integers verbatim,
/// other numbers in shortest decimal form (Go `FormatFloat(f, 'f', -1, 64)`), booleans as
/// words, `null` as nothing, objects and arrays as their raw text.
pub(crate) fn render(raw: &str) -> Vec<u8> {
    let raw = raw.trim();
    match first_byte(raw) {
        Some(b'"') => serde_json::from_str::<String>(raw)
            .map(String::into_bytes)
            .unwrap_or_default(),
        Some(b't') => b"true".to_vec(),
        Some(b'f') => b"false".to_vec(),
        Some(b'n') | None => Vec::new(),
        Some(b'{' | b'[') => raw.as_bytes().to_vec(),
        Some(_) => render_number(raw).into_bytes(),
    }
}

fn render_number(raw: &str) -> String {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return raw.to_owned();
    }
    match raw.parse::<f64>() {
        Ok(f) => format!("{f}"),
        Err(_) => raw.to_owned(),
    }
}

/// ESO AWS `escapeDotsIfRequired` + gjson: a property containing dots is first tried as
/// one literal key (`a.b`), then as a nested path (`a` → `b`).
pub(crate) fn aws_property(payload: &str, property: &str) -> Option<Vec<u8>> {
    if property.contains('.') {
        let escaped = property.replace('.', "\\.");
        if let Some(raw) = get_raw(payload, &escaped) {
            return Some(render(&raw));
        }
    }
    get_raw(payload, property).map(|raw| render(&raw))
}

/// Plain gjson lookup + rendering (ESO fake provider, Vault fallback path).
pub(crate) fn gjson_property(payload: &str, property: &str) -> Option<Vec<u8>> {
    get_raw(payload, property).map(|raw| render(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"user":"admin","password":"p1","n":42,"f":1.50,"neg":-7,"big":1e3,
        "t":true,"nil":null,"nested":{"a.b":"dotted","arr":[1,2,{"x":"y"}],"deep":{"k":"v"}},
        "a":{"b":"nested-ab"},"a.b":"literal-ab","list":[{"name":"one"},{"name":"two"}]}"#;

    fn get(path: &str) -> Option<String> {
        gjson_property(DOC, path).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn members_and_scalars_render_like_gjson() {
        assert_eq!(get("user").as_deref(), Some("admin"));
        assert_eq!(get("n").as_deref(), Some("42"));
        assert_eq!(get("neg").as_deref(), Some("-7"));
        assert_eq!(get("f").as_deref(), Some("1.5"));
        assert_eq!(get("big").as_deref(), Some("1000"));
        assert_eq!(get("t").as_deref(), Some("true"));
        assert_eq!(get("nil").as_deref(), Some(""));
        assert_eq!(get("missing"), None);
        assert_eq!(get(""), None);
    }

    #[test]
    fn nested_paths_arrays_and_raw_objects() {
        assert_eq!(get("nested.deep.k").as_deref(), Some("v"));
        assert_eq!(get("nested.deep").as_deref(), Some(r#"{"k":"v"}"#));
        assert_eq!(get("nested.arr.1").as_deref(), Some("2"));
        assert_eq!(get("nested.arr.2.x").as_deref(), Some("y"));
        assert_eq!(get("nested.arr.#").as_deref(), Some("3"));
        assert_eq!(get("list.#.name").as_deref(), Some(r#"["one","two"]"#));
        assert_eq!(get("nested.arr.9"), None);
        assert_eq!(get(r"nested.a\.b").as_deref(), Some("dotted"));
        assert_eq!(get("us?r").as_deref(), Some("admin"));
        assert_eq!(get("pass*").as_deref(), Some("p1"));
    }

    #[test]
    fn aws_tries_the_literal_dotted_key_first() {
        assert_eq!(
            aws_property(DOC, "a.b")
                .map(String::from_utf8)
                .unwrap()
                .unwrap(),
            "literal-ab"
        );
        let only_nested = r#"{"a":{"b":"nested-ab"}}"#;
        assert_eq!(aws_property(only_nested, "a.b").unwrap(), b"nested-ab");
        assert_eq!(aws_property(DOC, "nested.a.b"), None);
        assert_eq!(
            aws_property(DOC, r"nested.a\.b").unwrap(),
            b"dotted".to_vec()
        );
        assert_eq!(aws_property("not json", "a"), None);
        assert_eq!(aws_property(r#"["x"]"#, "0").unwrap(), b"x");
    }

    #[test]
    fn raw_text_is_kept_exactly() {
        let doc = r#"{"obj": { "b" : [1, 2] } }"#;
        assert_eq!(get_raw(doc, "obj").unwrap(), r#"{ "b" : [1, 2] }"#);
        assert_eq!(render(r#""esc\"aped\u00e9""#), "esc\"apedé".as_bytes());
    }
}
