//! `sealbox unseal` against the fixture set: every positive manifest gives exactly
//! `expected_secret`, every negative is refused with nothing printed. Driven by
//! `expected.json` only, so another fixture set works the same way.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::*;

/// `expected_secret` with the uid placeholder replaced by what the manifest carries.
fn normalise_expected(secret: &Value, uid: &str) -> Value {
    let mut secret = secret.clone();
    if let Some(refs) = secret
        .get_mut("metadata")
        .and_then(|m| m.get_mut("ownerReferences"))
        .and_then(Value::as_array_mut)
    {
        for r in refs {
            r["uid"] = Value::String(uid.to_owned());
        }
    }
    secret
}

fn unseal_file(file: &str, keys: &[PathBuf], extra: &[&str]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = sealbox(home.path());
    cmd.arg("unseal");
    for key in keys {
        cmd.arg("--recovery-private-key").arg(key);
    }
    cmd.arg("-f").arg(fixture(file)).args(extra);
    run(cmd)
}

#[test]
fn every_positive_manifest_unseals_to_the_expected_secret() {
    let keys = controller_key_files();
    let manifests = expected()["manifests"].as_array().unwrap();
    let mut checked = 0;
    for m in manifests.iter().filter(|m| m["expect"] == "ok") {
        let file = m["file"].as_str().unwrap();
        let index = m["doc_index"].as_u64().unwrap_or(0) as usize;
        for format in ["json", "yaml"] {
            let out = unseal_file(file, &keys, &["-o", format, "-v"]);
            let err = stderr(&out);
            let text = ok(out);
            let docs: Vec<Value> = if format == "json" {
                json_stream(&text)
            } else {
                assert!(
                    text.starts_with("---\n"),
                    "{file}: YAML output starts with ---"
                );
                serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&text)
                    .unwrap()
                    .into_iter()
                    .filter(|d| !d.is_null())
                    .collect()
            };
            let got = &docs[index];
            let want = normalise_expected(&m["expected_secret"], "");
            assert_eq!(got, &want, "{file}[{index}] as {format}");
            // -v names the key that sealed it.
            let sealed_with = m["sealed_with"].as_str().unwrap();
            let fingerprint = expected()["keys"][sealed_with]["ssh_sha256_fingerprint"]
                .as_str()
                .unwrap();
            assert!(
                err.contains(fingerprint),
                "{file}: -v should name {fingerprint}:\n{err}"
            );
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn the_key_backup_list_works_as_recovery_key() {
    let backup = fixture("sealing-keys-backup.yaml");
    for m in expected()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["expect"] == "ok")
    {
        let file = m["file"].as_str().unwrap();
        let index = m["doc_index"].as_u64().unwrap_or(0) as usize;
        let docs = json_stream(&ok(unseal_file(file, std::slice::from_ref(&backup), &[])));
        assert_eq!(
            docs[index],
            normalise_expected(&m["expected_secret"], ""),
            "{file}"
        );
    }
}

#[test]
fn every_negative_manifest_is_refused_and_prints_nothing() {
    let keys = controller_key_files();
    let mut checked = 0;
    for m in expected()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["expect"] == "error")
    {
        let file = m["file"].as_str().unwrap();
        let out = unseal_file(file, &keys, &[]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{file} must not unseal");
        assert_eq!(out.status.code(), Some(15), "{file}: exit code 15\n{err}");
        assert!(out.stdout.is_empty(), "{file}: nothing printed on failure");
        let failing: Vec<&str> = m["failing_items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for item in failing.iter().filter(|i| !i.starts_with('(')) {
            assert!(
                err.contains(&format!("{item}: ")),
                "{file}: error tagged with {item}:\n{err}"
            );
        }
        if m["mutation"] != "badb64" && m["mutation"] != "both-fields" {
            assert!(
                err.contains("no key could decrypt secret"),
                "{file}:\n{err}"
            );
        }
        // No plaintext of the source manifest leaks into the error.
        if let Some(source) = m["derived_from"].as_str() {
            let original = expected()["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["file"] == source)
                .unwrap();
            for item in original["items"].as_object().unwrap().values() {
                if let Some(text) = item["plaintext_utf8"].as_str().filter(|t| t.len() >= 4) {
                    assert!(!err.contains(text), "{file}: error leaks a value");
                }
            }
        }
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn a_multi_document_stream_fails_as_a_whole_when_one_object_fails() {
    let home = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(repo_fixture("multi-doc.yaml")).unwrap();
    let bad = std::fs::read_to_string(repo_fixture("negative/moved-namespace.yaml")).unwrap();
    let mut cmd = sealbox(home.path());
    cmd.arg("unseal");
    for key in repo_controller_key_files() {
        cmd.arg("--recovery-private-key").arg(key);
    }
    let out = run_with_stdin(cmd, format!("{good}\n{bad}").as_bytes());
    assert_eq!(out.status.code(), Some(15));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("document 3"), "{}", stderr(&out));
}
