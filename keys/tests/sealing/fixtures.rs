//! Data-driven checks against `expected.json`: key ids, raw values, every manifest value at
//! the envelope level, the key backup, and PEM export of the fixture keys.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealbox_keys::sealing::backup::{ManifestFormat, backup_list, import_keys};
use sealbox_keys::sealing::{Certificate, Keyring, Label, OpenError, PrivateKey, Scope, envelope};
use secrecy::ExposeSecret as _;
use serde_json::Value;

use crate::support::*;

#[test]
fn key_ids_are_the_upstream_ssh_fingerprints() {
    let keys = expected()["keys"].as_object().expect("keys");
    assert!(!keys.is_empty());
    for (id, spec) in keys {
        let private = PrivateKey::from_pem(&read(str_field(spec, "private_key"))).expect("key");
        let cert = Certificate::from_pem(&read(str_field(spec, "cert"))).expect("cert");
        let want = str_field(spec, "ssh_sha256_fingerprint");
        assert_eq!(private.key_id().as_str(), want, "private key {id}");
        assert_eq!(
            cert.public_key().key_id().as_str(),
            want,
            "certificate {id}"
        );
        if let Some(bits) = spec.get("bits").and_then(Value::as_u64) {
            assert_eq!(private.bits() as u64, bits, "{id} size");
        }
    }
}

#[test]
fn every_raw_value_opens_with_the_controller_keys_and_names_its_key() {
    let ring = controller_keyring();
    let raws = expected()["raw"].as_array().expect("raw");
    assert!(!raws.is_empty());
    for raw in raws {
        let id = str_field(raw, "id");
        let scope: Scope = str_field(raw, "scope").parse().expect("scope");
        let label = Label::new(
            scope,
            opt_str(raw, "namespace").unwrap_or(""),
            opt_str(raw, "name").unwrap_or(""),
        );
        assert_eq!(label.as_str(), str_field(raw, "label"), "{id}: label rule");
        let opened = ring
            .open_base64(&label, str_field(raw, "ciphertext_b64"), None)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(
            opened.plaintext.as_slice(),
            b64(raw, "plaintext_b64"),
            "{id}"
        );
        assert_eq!(
            opened.key_id.as_str(),
            fingerprint_of(str_field(raw, "sealed_with")),
            "{id}: reported key"
        );
        // Any other scope's label must fail: the label really pins the value.
        let ns = opt_str(raw, "namespace").unwrap_or("some-namespace");
        let name = opt_str(raw, "name").unwrap_or("some-name");
        for other in Scope::ALL.into_iter().filter(|s| *s != scope) {
            let wrong = Label::new(other, ns, name);
            if wrong == label {
                continue;
            }
            assert_eq!(
                ring.open_base64(&wrong, str_field(raw, "ciphertext_b64"), None)
                    .unwrap_err(),
                OpenError::NoKeyCouldDecrypt,
                "{id} opened under {other}"
            );
        }
    }
}

/// All documents of a fixture manifest as JSON values.
fn documents(file: &str) -> Vec<Value> {
    let text = read(file);
    if file.ends_with(".json") {
        vec![serde_json::from_str(&text).expect("json manifest")]
    } else {
        serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&text)
            .expect("yaml manifest")
            .into_iter()
            .filter(|d| !d.is_null())
            .collect()
    }
}

fn string_map(v: Option<&Value>) -> Option<BTreeMap<String, String>> {
    v.and_then(Value::as_object).map(|m| {
        m.iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
            .collect()
    })
}

/// The label a document's own metadata implies (what the controller derives).
fn label_of(doc: &Value) -> Label {
    let meta = &doc["metadata"];
    Label::for_object(
        meta.get("namespace").and_then(Value::as_str),
        meta.get("name").and_then(Value::as_str),
        string_map(meta.get("annotations")).as_ref(),
    )
}

#[test]
fn every_manifest_value_opens_or_fails_as_expected() {
    let ring = controller_keyring();
    let manifests = expected()["manifests"].as_array().expect("manifests");
    assert!(!manifests.is_empty());
    let mut checked = 0;
    for m in manifests {
        let file = str_field(m, "file");
        let index = m["doc_index"].as_u64().unwrap_or(0) as usize;
        let docs = documents(file);
        let doc = &docs[index];
        let what = format!("{file}[{index}]");
        let label = label_of(doc);
        assert_eq!(label.as_str(), str_field(m, "label"), "{what}: label");
        let encrypted = doc["spec"]["encryptedData"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let ok = str_field(m, "expect") == "ok";
        if ok {
            let items = m["items"].as_object().expect("items");
            if let Some(legacy) = m.get("legacy_plaintext") {
                let blob = STANDARD
                    .decode(doc["spec"]["data"].as_str().expect("spec.data"))
                    .expect("spec.data base64");
                let opened = ring
                    .open(&label, &blob, None)
                    .expect("legacy spec.data opens");
                assert_eq!(
                    opened.plaintext.as_slice(),
                    b64(legacy, "plaintext_b64"),
                    "{what}"
                );
            } else {
                for (key, item) in items {
                    let value = encrypted[key].as_str().expect("encrypted value");
                    let opened = ring
                        .open_base64(&label, value, None)
                        .unwrap_or_else(|e| panic!("{what}/{key}: {e}"));
                    assert_eq!(
                        opened.plaintext.as_slice(),
                        b64(item, "plaintext_b64"),
                        "{what}/{key}"
                    );
                    assert_eq!(
                        opened.key_id.as_str(),
                        fingerprint_of(str_field(m, "sealed_with")),
                        "{what}/{key}: reported key"
                    );
                    checked += 1;
                }
            }
        } else {
            let failing: Vec<&str> = m["failing_items"]
                .as_array()
                .expect("failing_items")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for (key, value) in &encrypted {
                let result = ring.open_base64(&label, value.as_str().unwrap_or(""), None);
                if failing.contains(&key.as_str()) {
                    let err = result.expect_err(&format!("{what}/{key} must not open"));
                    if !matches!(err, OpenError::Base64 { .. }) {
                        assert_eq!(err, OpenError::NoKeyCouldDecrypt, "{what}/{key}");
                        assert_eq!(err.to_string(), "no key could decrypt secret");
                    }
                    checked += 1;
                } else if failing.iter().all(|f| encrypted.contains_key(*f)) {
                    assert!(
                        result.is_ok(),
                        "{what}/{key}: untouched value should still open"
                    );
                }
            }
        }
    }
    assert!(checked > 0);
}

#[test]
fn the_backup_list_imports_every_controller_key_with_its_certificate() {
    let imported = import_keys(&read("sealing-keys-backup.yaml")).expect("backup imports");
    let mut got: Vec<String> = imported
        .iter()
        .map(|k| k.private.key_id().to_string())
        .collect();
    got.sort();
    let mut want: Vec<String> = controller_key_ids()
        .iter()
        .map(|id| fingerprint_of(id))
        .collect();
    want.sort();
    assert_eq!(got, want);
    for key in &imported {
        let cert = key.certificate.as_ref().expect("backup carries tls.crt");
        assert_eq!(cert.public_key(), key.private.public_key());
        assert!(key.name.as_deref().is_some_and(|n| !n.is_empty()));
    }
}

#[test]
fn export_then_import_of_a_backup_keeps_keys_names_and_certificates() {
    let ring = controller_keyring();
    for format in [ManifestFormat::Yaml, ManifestFormat::Json] {
        let text = backup_list(ring.iter(), "kube-system", format);
        let imported = import_keys(text.expose_secret()).expect("own backup imports");
        assert_eq!(imported.len(), ring.len());
        for (key, original) in imported.iter().zip(ring.iter()) {
            assert_eq!(key.private.key_id(), original.key_id());
            assert_eq!(key.name.as_deref(), Some(original.name()));
            assert_eq!(
                key.certificate.as_ref().map(|c| c.der().to_vec()),
                Some(original.certificate().der().to_vec())
            );
        }
        let value: Value = if format == ManifestFormat::Json {
            serde_json::from_str(text.expose_secret()).expect("json")
        } else {
            serde_saphyr::from_str(text.expose_secret()).expect("yaml")
        };
        assert_eq!(value["kind"], "List");
        assert_eq!(value["apiVersion"], "v1");
        let item = &value["items"][0];
        assert_eq!(item["type"], "kubernetes.io/tls");
        assert_eq!(
            item["metadata"]["labels"]["sealedsecrets.bitnami.com/sealed-secrets-key"],
            "active"
        );
        assert_eq!(item["metadata"]["namespace"], "kube-system");
        let key_pem = STANDARD
            .decode(item["data"]["tls.key"].as_str().expect("tls.key"))
            .expect("base64");
        assert!(
            key_pem.starts_with(b"-----BEGIN RSA PRIVATE KEY-----\n"),
            "PKCS#1 like the controller"
        );
    }
}

#[test]
fn pkcs1_export_reproduces_the_controller_pem_and_pkcs8_round_trips() {
    for id in controller_key_ids() {
        let spec = &expected()["keys"][&id];
        let original = read(str_field(spec, "private_key"));
        let key = PrivateKey::from_pem(&original).expect("key");
        assert_eq!(
            key.to_pkcs1_pem().expose_secret().trim_end(),
            original.trim_end(),
            "{id}"
        );
        let pkcs8 = key.to_pkcs8_pem();
        assert!(
            pkcs8
                .expose_secret()
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        let again = PrivateKey::from_pem(pkcs8.expose_secret()).expect("pkcs8 parses");
        assert_eq!(again.key_id(), key.key_id());
        // Both forms open what the other sealed.
        let label = Label::new(Scope::Strict, "ns", "n");
        let blob =
            envelope::seal(&mut rand::thread_rng(), again.public_key(), &label, b"x").unwrap();
        assert_eq!(
            envelope::open(&key, &label, &blob).unwrap().as_slice(),
            b"x"
        );
    }
}

#[test]
fn a_foreign_key_opens_nothing_in_the_controller_set() {
    let Some(foreign) = expected()["keys"].as_object().and_then(|keys| {
        keys.iter()
            .find(|(_, k)| k["in_controller"] == Value::Bool(false))
    }) else {
        return;
    };
    let foreign_ring = Keyring::from_keys([sealing_key(foreign.0)]);
    for raw in expected()["raw"].as_array().expect("raw") {
        let scope: Scope = str_field(raw, "scope").parse().unwrap();
        let label = Label::new(
            scope,
            opt_str(raw, "namespace").unwrap_or(""),
            opt_str(raw, "name").unwrap_or(""),
        );
        assert!(
            foreign_ring
                .open_base64(&label, str_field(raw, "ciphertext_b64"), None)
                .is_err()
        );
    }
}
