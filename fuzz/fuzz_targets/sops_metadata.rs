//! The `sops:` metadata block, as JSON (how the JSON and binary stores carry it) and as
//! flattened `key=value` lines (dotenv / INI).
//!
//! Invariant: metadata sealbox writes (`to_value`) reads back to the same block, directly
//! and through the dotenv/INI flattening.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealbox_keys::sops::Metadata;
use sealbox_keys::sops::flat::meta_from_json;
use sealbox_keys::sops::metadata::{flat_value_string, flatten, unflatten};

fn check_round_trip(metadata: &Metadata) {
    let written = metadata.to_value();
    let again = Metadata::from_value(&written).expect("metadata sealbox writes must read back");
    assert_eq!(
        again.to_value(),
        written,
        "metadata changed on a round trip"
    );
    let flat: Vec<(String, String)> = flatten(&written)
        .into_iter()
        .filter_map(|(k, v)| flat_value_string(&v).map(|s| (k, s.replace("\\n", "\n"))))
        .collect();
    let _ = Metadata::from_value(&unflatten(&flat));
}

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(metadata) = Metadata::from_value(&meta_from_json(&json)) {
            check_round_trip(&metadata);
        }
        return;
    }
    let text = String::from_utf8_lossy(data);
    let flat: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("\\n", "\n")))
        .collect();
    if let Ok(metadata) = Metadata::from_value(&unflatten(&flat)) {
        check_round_trip(&metadata);
    }
});
