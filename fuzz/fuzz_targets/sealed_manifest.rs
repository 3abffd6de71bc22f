//! SealedSecret manifests as the controller and `sealbox unseal` read them: a YAML or JSON
//! stream (`controller/src/api/manifest.rs`, compiled in here by path so the fuzz build does
//! not pull kube/k8s-openapi/tokio), `kind: List` expansion, then for every SealedSecret the
//! RSA-OAEP label from its own metadata and an attempt to open each `encryptedData` value
//! and the legacy `spec.data` with the fixture keyring.
//!
//! Invariant: a value that does not open fails with the uniform "no key could decrypt
//! secret" or a base64 error, never anything else.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use sealbox_keys::sealing::{Label, OpenError};
use serde_json::Value;

#[allow(dead_code)]
#[path = "../../controller/src/api/manifest.rs"]
mod manifest;

fn open_value(label: &Label, value: &Value) {
    let Some(text) = value.as_str() else {
        return;
    };
    match sealbox_fuzz::keyring().open_base64(label, text, None) {
        Ok(_) | Err(OpenError::Base64 { .. }) | Err(OpenError::NoKeyCouldDecrypt) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let documents = match manifest::parse_documents("fuzz.yaml", text) {
        Ok(documents) => documents,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    for document in manifest::expand_lists(documents) {
        let _ = document.to_string();
        if document.type_meta().1 != "SealedSecret" {
            continue;
        }
        let metadata = document.value.get("metadata");
        let field = |name: &str| metadata.and_then(|m| m.get(name)).and_then(Value::as_str);
        let annotations: Option<BTreeMap<String, String>> = metadata
            .and_then(|m| m.get("annotations"))
            .and_then(Value::as_object)
            .map(|a| {
                a.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            });
        let label = Label::for_object(field("namespace"), field("name"), annotations.as_ref());
        let spec = document.value.get("spec");
        if let Some(items) = spec
            .and_then(|s| s.get("encryptedData"))
            .and_then(Value::as_object)
        {
            // At most a few values per document: each is an RSA-4096 operation.
            for value in items.values().take(4) {
                open_value(&label, value);
            }
        }
        if let Some(legacy) = spec.and_then(|s| s.get("data")) {
            open_value(&label, legacy);
        }
    }
});
