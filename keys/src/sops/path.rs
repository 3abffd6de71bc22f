//! Tree paths as sops writes them (`["a"]["b"][0]`) and the operations on them: `--extract`,
//! `set`, `unset`. Like sops, list indices count comment items too (a verified sops quirk).

use super::cipher::{Plain, Scalar};
use super::error::{Result, SopsError};
use super::gofmt;
use super::tree::{MapItem, NO_SITE, Node};

/// One step of a tree path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// `["key"]`
    Key(String),
    /// `[0]`
    Index(usize),
}

/// Parse `["a"][0]["b"]` (sops' `parseTreePath`; keys may use `"` or `'`).
pub fn parse_path(s: &str) -> Result<Vec<PathStep>> {
    let bad = |reason: &str| SopsError::InvalidTreePath {
        path: s.to_string(),
        reason: reason.to_string(),
    };
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        rest = rest.strip_prefix('[').ok_or_else(|| bad("expected '['"))?;
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let inner = &rest[1..];
            let end = inner.find(q).ok_or_else(|| bad("unterminated key"))?;
            out.push(PathStep::Key(inner[..end].to_string()));
            rest = inner[end + 1..]
                .strip_prefix(']')
                .ok_or_else(|| bad("expected ']'"))?;
        } else {
            let end = rest.find(']').ok_or_else(|| bad("expected ']'"))?;
            let n = rest[..end]
                .trim()
                .parse::<usize>()
                .map_err(|_| bad("index is not a number"))?;
            out.push(PathStep::Index(n));
            rest = &rest[end + 1..];
        }
    }
    if out.is_empty() {
        return Err(bad("empty path"));
    }
    Ok(out)
}

fn describe(step: &PathStep) -> String {
    match step {
        PathStep::Key(k) => format!("['{k}']"),
        PathStep::Index(i) => format!("[{i}]"),
    }
}

/// The node at `path`.
pub fn get<'a>(root: &'a Node<Plain>, path: &[PathStep]) -> Result<&'a Node<Plain>> {
    let mut cur = root;
    for step in path {
        let not_found = || SopsError::PathNotFound {
            component: describe(step),
        };
        cur = match (cur, step) {
            (Node::Map(items), PathStep::Key(k)) => items
                .iter()
                .find_map(|i| match i {
                    MapItem::Entry(kk, v) if kk == k => Some(v),
                    _ => None,
                })
                .ok_or_else(not_found)?,
            (Node::Seq(items), PathStep::Index(i)) => items.get(*i).ok_or_else(not_found)?,
            _ => return Err(not_found()),
        };
    }
    Ok(cur)
}

/// Convert a JSON value (the `set` argument) into a tree node; numbers become floats like
/// sops' JSON decoding.
pub fn node_from_json(v: &serde_json::Value) -> Node<Plain> {
    match v {
        serde_json::Value::Null => Node::Null(NO_SITE),
        serde_json::Value::Bool(b) => Node::Leaf(Plain::Value(Scalar::Bool(*b)), NO_SITE),
        serde_json::Value::Number(n) => Node::Leaf(
            Plain::Value(Scalar::Float(n.as_f64().unwrap_or(0.0))),
            NO_SITE,
        ),
        serde_json::Value::String(s) => Node::Leaf(Plain::Value(Scalar::Str(s.clone())), NO_SITE),
        serde_json::Value::Array(a) => Node::Seq(a.iter().map(node_from_json).collect()),
        serde_json::Value::Object(m) => Node::Map(
            m.iter()
                .map(|(k, v)| MapItem::Entry(k.clone(), node_from_json(v)))
                .collect(),
        ),
    }
}

/// The node `path` would create around `leaf` where nothing exists yet.
pub(crate) fn from_path_and_leaf(path: &[PathStep], leaf: Node<Plain>) -> Node<Plain> {
    match path.split_first() {
        None => leaf,
        Some((PathStep::Index(_), rest)) => Node::Seq(vec![from_path_and_leaf(rest, leaf)]),
        Some((PathStep::Key(k), rest)) => Node::Map(vec![MapItem::Entry(
            k.clone(),
            from_path_and_leaf(rest, leaf),
        )]),
    }
}

/// `TreeBranch.Set`: create missing keys, append past the end of lists.
pub fn set(root: &mut Node<Plain>, path: &[PathStep], value: &serde_json::Value) -> Result<bool> {
    let new = node_from_json(value);
    Ok(set_node(root, path, new))
}

fn set_node(cur: &mut Node<Plain>, path: &[PathStep], new: Node<Plain>) -> bool {
    let Some((step, rest)) = path.split_first() else {
        let changed = *cur != new;
        *cur = new;
        return changed;
    };
    match (cur, step) {
        (Node::Map(items), PathStep::Key(k)) => {
            for i in items.iter_mut() {
                if let MapItem::Entry(kk, v) = i
                    && kk == k
                {
                    return set_node(v, rest, new);
                }
            }
            items.push(MapItem::Entry(k.clone(), from_path_and_leaf(rest, new)));
            true
        }
        (Node::Seq(items), PathStep::Index(i)) => {
            if *i >= items.len() {
                items.push(from_path_and_leaf(rest, new));
                true
            } else {
                set_node(&mut items[*i], rest, new)
            }
        }
        (other, _) => {
            let replacement = from_path_and_leaf(path, new);
            let changed = *other != replacement;
            *other = replacement;
            changed
        }
    }
}

/// `TreeBranch.Unset`.
pub fn unset(root: &mut Node<Plain>, path: &[PathStep]) -> Result<()> {
    let Some((step, rest)) = path.split_first() else {
        return Err(SopsError::InvalidTreePath {
            path: String::new(),
            reason: "empty path".into(),
        });
    };
    let not_found = || SopsError::PathNotFound {
        component: describe(step),
    };
    match (root, step) {
        (Node::Map(items), PathStep::Key(k)) => {
            let idx = items
                .iter()
                .position(|i| matches!(i, MapItem::Entry(kk, _) if kk == k))
                .ok_or_else(not_found)?;
            if rest.is_empty() {
                items.remove(idx);
                Ok(())
            } else if let MapItem::Entry(_, v) = &mut items[idx] {
                unset(v, rest)
            } else {
                Err(not_found())
            }
        }
        (Node::Seq(items), PathStep::Index(i)) => {
            if *i >= items.len() {
                return Err(not_found());
            }
            if rest.is_empty() {
                items.remove(*i);
                Ok(())
            } else {
                unset(&mut items[*i], rest)
            }
        }
        _ => Err(not_found()),
    }
}

/// A scalar as text the way sops prints it for `--extract` and `exec-env`.
pub fn scalar_text(v: &Scalar) -> String {
    match v {
        Scalar::Str(s) => s.clone(),
        Scalar::BinStr(b) | Scalar::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => gofmt::format_float_yaml(*f),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Time(t) => t.format_rfc3339_nano(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sops_paths() {
        assert_eq!(
            parse_path(r#"["a"][0]['b']"#).unwrap(),
            vec![
                PathStep::Key("a".into()),
                PathStep::Index(0),
                PathStep::Key("b".into())
            ]
        );
        assert!(parse_path("a.b").is_err());
        assert!(parse_path("").is_err());
    }

    #[test]
    fn set_get_unset() {
        let mut root = Node::Map(vec![]);
        let p = parse_path(r#"["a"]["b"]"#).unwrap();
        assert!(set(&mut root, &p, &serde_json::json!("x")).unwrap());
        assert!(!set(&mut root, &p, &serde_json::json!("x")).unwrap());
        assert!(
            matches!(get(&root, &p).unwrap(), Node::Leaf(Plain::Value(Scalar::Str(s)), _) if s == "x")
        );
        unset(&mut root, &p).unwrap();
        assert!(get(&root, &p).is_err());
        assert!(unset(&mut root, &p).is_err());
    }
}
