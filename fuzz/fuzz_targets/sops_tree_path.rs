//! `--extract` / `set` / `unset` tree paths (`["a"][0]["b"]`), applied to a small tree.
//!
//! Input: the path on the first line, the JSON value to `set` after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealbox_keys::sops::parse_path;
use sealbox_keys::sops::path::{get, node_from_json, set, unset};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, value) = text.split_once('\n').unwrap_or((&text, "null"));
    let Ok(steps) = parse_path(path) else {
        return;
    };
    let value: serde_json::Value = serde_json::from_str(value).unwrap_or(serde_json::Value::Null);
    let base = serde_json::json!({"a": {"b": [1, "two", {"c": null}]}, "d": "e"});
    let mut root = node_from_json(&base);
    let _ = get(&root, &steps);
    let _ = set(&mut root, &steps, &value);
    let _ = get(&root, &steps);
    let _ = unset(&mut root, &steps);
});
