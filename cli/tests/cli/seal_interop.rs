//! What `sealbox seal` writes is opened by an independent implementation — Python with
//! pyca/cryptography, and again with the RSA-OAEP step done by the `openssl pkeyutl` CLI —
//! not only by sealbox itself. Every scope; binary, empty, UTF-8 and 20 KB values; and
//! `--raw`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::support::*;

/// Values covering what breaks naive implementations.
fn values() -> Vec<(&'static str, Vec<u8>)> {
    let mut large = Vec::with_capacity(20_000);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        large.push(x as u8);
    }
    vec![
        ("binary", (0..=255u8).collect()),
        ("empty", Vec::new()),
        ("unicode", "pässwörd ✓ 秘密 🔑".as_bytes().to_vec()),
        ("large", large),
        ("html", b"a<b>&c".to_vec()),
    ]
}

fn secret_json(name: &str, namespace: &str, annotations: Option<Value>) -> String {
    let data: serde_json::Map<String, Value> = values()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Value::String(STANDARD.encode(v))))
        .collect();
    let mut metadata = json!({"name": name, "namespace": namespace});
    if let Some(a) = annotations {
        metadata["annotations"] = a;
    }
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": "Opaque", "data": data})
        .to_string()
}

const SCOPES: [(&str, &str); 3] = [
    ("strict", "demo/interop"),
    ("namespace-wide", "demo"),
    ("cluster-wide", ""),
];

#[test]
fn sealed_values_of_every_scope_open_with_python_and_openssl() {
    let home = tempfile::tempdir().unwrap();
    // Seal to a fixture controller key so the independent side uses its PEM file as is.
    let key_id = expected()["controller_keys"][0].as_str().unwrap();
    let bytes = expected()["keys"][key_id]["bits"].as_u64().unwrap_or(4096) / 8;
    let prefix = STANDARD.encode([(bytes >> 8) as u8, bytes as u8, 0])[..2].to_owned();
    let mut items = Vec::new();
    for (scope, label) in SCOPES {
        let mut cmd = sealbox(home.path());
        cmd.args(["seal", "--scope", scope, "--cert"])
            .arg(cert_file(key_id));
        let text = ok(run_with_stdin(
            cmd,
            secret_json("interop", "demo", None).as_bytes(),
        ));
        let sealed: Value = serde_json::from_str(&text).expect("JSON output");
        for (key, value) in sealed["spec"]["encryptedData"].as_object().unwrap() {
            let ct = value.as_str().unwrap().to_owned();
            assert!(ct.starts_with(&prefix), "blob starts with u16be(RSA size)");
            items.push((format!("{scope}/{key}"), label.to_owned(), ct));
        }
    }
    assert_eq!(items.len(), SCOPES.len() * values().len());
    let want: std::collections::BTreeMap<&str, Vec<u8>> = values().into_iter().collect();
    for use_openssl in [false, true] {
        let opened = independent_open(&[key_file(key_id)], &items, use_openssl);
        for (id, _, _) in &items {
            let key = id.split('/').nth(1).unwrap();
            assert_eq!(
                opened[id].as_deref(),
                Some(want[key].as_slice()),
                "{id} (openssl RSA step: {use_openssl})"
            );
        }
    }
    // The label really binds: the strict values do not open under the namespace label.
    let wrong: Vec<_> = items
        .iter()
        .filter(|(id, _, _)| id.starts_with("strict/"))
        .map(|(id, _, ct)| (id.clone(), "demo".to_owned(), ct.clone()))
        .collect();
    let opened = independent_open(&[key_file(key_id)], &wrong, false);
    assert!(opened.values().all(Option::is_none));
}

#[test]
fn raw_values_of_every_scope_open_with_python() {
    let home = tempfile::tempdir().unwrap();
    let key_id = expected()["controller_keys"][0].as_str().unwrap();
    let value_file = home.path().join("value.bin");
    std::fs::write(&value_file, [0u8, 255, 1, 254, b'x']).unwrap();
    let mut items = Vec::new();
    for (scope, label) in SCOPES {
        let mut cmd = sealbox(home.path());
        cmd.args([
            "seal", "--raw", "--scope", scope, "-n", "demo", "--name", "interop", "--cert",
        ])
        .arg(cert_file(key_id))
        .arg(format!("--from-file=value={}", value_file.display()));
        let ct = ok(run(cmd));
        assert!(
            !ct.ends_with('\n'),
            "--raw prints no newline, like kubeseal"
        );
        items.push((scope.to_owned(), label.to_owned(), ct));
        // Also from stdin.
        let mut cmd = sealbox(home.path());
        cmd.args([
            "seal", "--raw", "--scope", scope, "-n", "demo", "--name", "interop", "--cert",
        ])
        .arg(cert_file(key_id));
        let ct = ok(run_with_stdin(cmd, b""));
        items.push((format!("{scope}-empty-stdin"), label.to_owned(), ct));
    }
    let opened = independent_open(&[key_file(key_id)], &items, true);
    for (id, _, _) in &items {
        let want: &[u8] = if id.ends_with("-empty-stdin") {
            b""
        } else {
            &[0, 255, 1, 254, b'x']
        };
        assert_eq!(opened[id].as_deref(), Some(want), "{id}");
    }
}
