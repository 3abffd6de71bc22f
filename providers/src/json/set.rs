//! The sjson subset ESO's AWS provider uses to push one `property` into a JSON secret:
//! `sjson.SetBytes(current, property, value)` with the value written as a JSON string and
//! missing parent objects created. Paths are `.`-separated with `\` escapes.

use serde_json::{Map, Value};

/// Why a property could not be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SetError {
    /// The current secret is not JSON (ESO: "requires a json secret").
    NotJson,
    /// The current secret, or a parent on the path, is JSON but not an object.
    NotAnObject(String),
}

fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            '.' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out
}

/// Returns `current` (empty = `{}`) with `path` set to the string `value`.
pub(crate) fn set_string(current: &str, path: &str, value: &str) -> Result<String, SetError> {
    let mut root = if current.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_str::<Value>(current).map_err(|_| SetError::NotJson)?
    };
    let segments = segments(path);
    let (last, parents) = segments
        .split_last()
        .expect("split always yields a segment");
    let mut node = &mut root;
    let mut walked = String::new();
    for segment in parents {
        let Value::Object(map) = node else {
            return Err(SetError::NotAnObject(walked));
        };
        node = map
            .entry(segment.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !walked.is_empty() {
            walked.push('.');
        }
        walked.push_str(segment);
    }
    let Value::Object(map) = node else {
        return Err(SetError::NotAnObject(walked));
    };
    map.insert(last.clone(), Value::String(value.to_owned()));
    Ok(serde_json::to_string(&root).expect("a Value always serialises"))
}

#[cfg_attr(not(feature = "aws"), allow(dead_code))]
/// Removes `path` from the JSON object `current`; `Ok(None)` when nothing is left.
pub(crate) fn remove(current: &str, path: &str) -> Result<Option<String>, SetError> {
    let mut root = serde_json::from_str::<Value>(current).map_err(|_| SetError::NotJson)?;
    let segments = segments(path);
    let (last, parents) = segments
        .split_last()
        .expect("split always yields a segment");
    let mut node = &mut root;
    for segment in parents {
        match node {
            Value::Object(map) => match map.get_mut(segment) {
                Some(child) => node = child,
                None => return Ok(Some(current.to_owned())),
            },
            _ => return Err(SetError::NotAnObject(segment.clone())),
        }
    }
    if let Value::Object(map) = node {
        map.shift_remove(last);
    }
    match &root {
        Value::Object(map) if map.is_empty() => Ok(None),
        _ => Ok(Some(
            serde_json::to_string(&root).expect("a Value always serialises"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_top_level_and_nested_properties_keeping_the_rest() {
        assert_eq!(set_string("", "a", "1").unwrap(), r#"{"a":"1"}"#);
        assert_eq!(set_string("", "a.b", "1").unwrap(), r#"{"a":{"b":"1"}}"#);
        assert_eq!(set_string("", r"a\.b", "1").unwrap(), r#"{"a.b":"1"}"#);
        assert_eq!(
            set_string(r#"{"x":2,"a":{"c":"3"}}"#, "a.b", "v").unwrap(),
            r#"{"x":2,"a":{"c":"3","b":"v"}}"#
        );
        assert_eq!(
            set_string(r#"{"a":"old"}"#, "a", "new").unwrap(),
            r#"{"a":"new"}"#
        );
        assert_eq!(set_string("plain text", "a", "v"), Err(SetError::NotJson));
        assert!(matches!(
            set_string(r#"{"a":1}"#, "a.b", "v"),
            Err(SetError::NotAnObject(_))
        ));
        assert!(matches!(
            set_string("[1]", "a", "v"),
            Err(SetError::NotAnObject(_))
        ));
    }

    #[test]
    fn removes_properties() {
        assert_eq!(
            remove(r#"{"a":"1","b":"2"}"#, "a").unwrap().unwrap(),
            r#"{"b":"2"}"#
        );
        assert_eq!(remove(r#"{"a":"1"}"#, "a").unwrap(), None);
        assert_eq!(
            remove(r#"{"a":{"b":"1"},"c":1}"#, "a.b").unwrap().unwrap(),
            r#"{"a":{},"c":1}"#
        );
    }
}
