//! Label and field selectors, parsed with the grammar kube-apiserver accepts
//! (apimachinery `labels.Parse` and `fields.ParseSelector`), so a controller whose selector
//! the real server would reject gets the same 400 here.

use serde_json::Value;
use std::collections::BTreeMap;

/// A parse error; becomes a 400 BadRequest whose message names the selector.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unable to parse requirement: {0}")]
pub struct SelectorError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum LabelOp {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
    GreaterThan(i64),
    LessThan(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LabelRequirement {
    key: String,
    op: LabelOp,
}

/// A parsed label selector: requirements joined by AND. Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Comma,
    OpenParen,
    CloseParen,
    Bang,
    Eq,
    DoubleEq,
    NotEq,
    Gt,
    Lt,
}

fn tokenize(input: &str) -> Result<Vec<Token>, SelectorError> {
    let mut out = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            ',' => {
                out.push(Token::Comma);
                i += 1
            }
            '(' => {
                out.push(Token::OpenParen);
                i += 1
            }
            ')' => {
                out.push(Token::CloseParen);
                i += 1
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::NotEq);
                i += 2
            }
            '!' => {
                out.push(Token::Bang);
                i += 1
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                out.push(Token::DoubleEq);
                i += 2
            }
            '=' => {
                out.push(Token::Eq);
                i += 1
            }
            '>' => {
                out.push(Token::Gt);
                i += 1
            }
            '<' => {
                out.push(Token::Lt);
                i += 1
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t\n\r,()!=<>".contains(chars[i]) {
                    i += 1;
                }
                out.push(Token::Ident(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

fn valid_label_value(v: &str) -> bool {
    v.is_empty()
        || (v.len() <= 63
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && v.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()))
}

fn valid_label_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if let Some(p) = prefix
        && (p.is_empty()
            || p.len() > 253
            || !p.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            }))
    {
        return false;
    }
    !name.is_empty() && valid_label_value(name)
}

impl LabelSelector {
    /// Parses the selector string (already URL-decoded).
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let tokens = tokenize(input)?;
        let mut reqs = Vec::new();
        let mut pos = 0;
        let err = |m: &str| SelectorError(format!("{m} in label selector {input:?}"));
        while pos < tokens.len() {
            let mut negated = false;
            if tokens[pos] == Token::Bang {
                negated = true;
                pos += 1;
            }
            let key = match tokens.get(pos) {
                Some(Token::Ident(k)) => k.clone(),
                _ => return Err(err("expected a label key")),
            };
            if !valid_label_key(&key) {
                return Err(err(&format!("invalid label key {key:?}")));
            }
            pos += 1;
            let op = if negated {
                LabelOp::DoesNotExist
            } else {
                match tokens.get(pos) {
                    None | Some(Token::Comma) => LabelOp::Exists,
                    Some(Token::Eq | Token::DoubleEq | Token::NotEq) => {
                        let neq = tokens[pos] == Token::NotEq;
                        pos += 1;
                        let value = match tokens.get(pos) {
                            Some(Token::Ident(v)) => {
                                pos += 1;
                                v.clone()
                            }
                            _ => String::new(),
                        };
                        if !valid_label_value(&value) {
                            return Err(err(&format!("invalid label value {value:?}")));
                        }
                        if neq {
                            LabelOp::NotEquals(value)
                        } else {
                            LabelOp::Equals(value)
                        }
                    }
                    Some(Token::Gt | Token::Lt) => {
                        let gt = tokens[pos] == Token::Gt;
                        pos += 1;
                        let n = match tokens.get(pos) {
                            Some(Token::Ident(v)) => {
                                v.parse::<i64>().map_err(|_| err("expected an integer"))?
                            }
                            _ => return Err(err("expected an integer")),
                        };
                        pos += 1;
                        if gt {
                            LabelOp::GreaterThan(n)
                        } else {
                            LabelOp::LessThan(n)
                        }
                    }
                    Some(Token::Ident(word)) if word == "in" || word == "notin" => {
                        let is_in = word == "in";
                        pos += 1;
                        if tokens.get(pos) != Some(&Token::OpenParen) {
                            return Err(err("expected '('"));
                        }
                        pos += 1;
                        let mut values = Vec::new();
                        let mut expect_value = true;
                        loop {
                            match tokens.get(pos) {
                                Some(Token::Ident(v)) if expect_value => {
                                    if !valid_label_value(v) {
                                        return Err(err(&format!("invalid label value {v:?}")));
                                    }
                                    values.push(v.clone());
                                    expect_value = false;
                                }
                                Some(Token::Comma) => {
                                    if expect_value {
                                        values.push(String::new());
                                    }
                                    expect_value = true;
                                }
                                Some(Token::CloseParen) => {
                                    if expect_value {
                                        values.push(String::new());
                                    }
                                    break;
                                }
                                _ => return Err(err("expected a value or ')'")),
                            }
                            pos += 1;
                        }
                        pos += 1;
                        if is_in {
                            LabelOp::In(values)
                        } else {
                            LabelOp::NotIn(values)
                        }
                    }
                    _ => return Err(err("expected an operator")),
                }
            };
            reqs.push(LabelRequirement { key, op });
            match tokens.get(pos) {
                None => {}
                Some(Token::Comma) => {
                    pos += 1;
                    if pos == tokens.len() {
                        return Err(err("trailing ','"));
                    }
                }
                Some(_) => return Err(err("expected ','")),
            }
        }
        Ok(Self { requirements: reqs })
    }

    /// True when the selector has no requirement.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether an object's labels satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.requirements.iter().all(|r| {
            let v = labels.get(&r.key);
            match &r.op {
                LabelOp::Equals(x) => v == Some(x),
                LabelOp::NotEquals(x) => v != Some(x),
                LabelOp::In(xs) => v.is_some_and(|v| xs.contains(v)),
                LabelOp::NotIn(xs) => v.is_none_or(|v| !xs.contains(v)),
                LabelOp::Exists => v.is_some(),
                LabelOp::DoesNotExist => v.is_none(),
                LabelOp::GreaterThan(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v > *n),
                LabelOp::LessThan(n) => v
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|v| v < *n),
            }
        })
    }

    /// Matches against an object's `metadata.labels`.
    pub fn matches_object(&self, obj: &Value) -> bool {
        if self.is_empty() {
            return true;
        }
        self.matches(&labels_of(obj))
    }
}

/// `metadata.labels` as a map (non-string values ignored).
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// One `field=value` / `field!=value` term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRequirement {
    /// The field path as written, e.g. `metadata.name`.
    pub field: String,
    /// The (unescaped) value.
    pub value: String,
    /// True for `!=`.
    pub negated: bool,
}

/// A parsed field selector (AND of terms).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector {
    /// The terms.
    pub requirements: Vec<FieldRequirement>,
}

fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            parts.last_mut().expect("non-empty").push('\\');
            parts.last_mut().expect("non-empty").push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("non-empty").push(c);
        }
    }
    parts
}

fn unescape(s: &str) -> Result<String, SelectorError> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                _ => {
                    return Err(SelectorError(format!(
                        "invalid field selector escape in {s:?}"
                    )));
                }
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

impl FieldSelector {
    /// Parses `a=b,c!=d` with backslash escapes.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        if input.trim().is_empty() {
            return Ok(Self::default());
        }
        for term in split_unescaped(input, ',') {
            let (field, value, negated) = if let Some((f, v)) = term.split_once("!=") {
                (f, v, true)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, v, false)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, v, false)
            } else {
                return Err(SelectorError(format!(
                    "invalid field selector term {term:?}: expected field=value"
                )));
            };
            requirements.push(FieldRequirement {
                field: field.trim().to_owned(),
                value: unescape(value)?,
                negated,
            });
        }
        Ok(Self { requirements })
    }

    /// Matches with a resolver that returns the value of a supported field.
    pub fn matches_with(&self, resolve: impl Fn(&str) -> Option<String>) -> bool {
        self.requirements.iter().all(|r| {
            let v = resolve(&r.field).unwrap_or_default();
            (v == r.value) != r.negated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn set_based_and_equality() {
        let s = LabelSelector::parse("env in (a,b),!x,tier!=db,app").unwrap();
        assert!(s.matches(&labels(&[("env", "a"), ("app", "1")])));
        assert!(!s.matches(&labels(&[("env", "c"), ("app", "1")])));
        assert!(!s.matches(&labels(&[("env", "a"), ("app", "1"), ("x", "")])));
        assert!(!s.matches(&labels(&[("env", "a")])));
        assert!(!s.matches(&labels(&[("env", "a"), ("app", "1"), ("tier", "db")])));
        let s = LabelSelector::parse("env notin (prod), n>3, m<2").unwrap();
        assert!(s.matches(&labels(&[("n", "4"), ("m", "1")])));
        assert!(!s.matches(&labels(&[("n", "3"), ("m", "1")])));
        assert!(!s.matches(&labels(&[("env", "prod"), ("n", "4"), ("m", "1")])));
        let s = LabelSelector::parse("k in (a,,b)").unwrap();
        assert!(s.matches(&labels(&[("k", "")])));
        let s = LabelSelector::parse("example.com/k==v").unwrap();
        assert!(s.matches(&labels(&[("example.com/k", "v")])));
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "env in a",
            "=x",
            "a,",
            "a b",
            "k=v v",
            "Bad_Prefix/k=v",
            "k in (a",
            "n>x",
        ] {
            assert!(LabelSelector::parse(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn field_selector_escapes() {
        let s = FieldSelector::parse(r"metadata.name=a\,b,type!=Opaque").unwrap();
        assert_eq!(s.requirements[0].value, "a,b");
        assert!(s.requirements[1].negated);
        assert!(s.matches_with(|f| Some(if f == "type" {
            "kubernetes.io/tls".into()
        } else {
            "a,b".into()
        })));
    }
}
