//! Planner tests on SopsSecrets encrypted by the SOPS library with a fixture age key.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sealbox_keys::sops::rules::RuleRegex;
use sealbox_keys::sops::{EncryptOptions, EncryptionRule, Format, Recipient, encrypt};
use serde_json::Value;

use super::*;

const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

const PLAIN: &str = "apiVersion: sealbox.dev/v1alpha1
kind: SopsSecret
metadata:
  name: db
  namespace: demo
spec:
  ageKeySecretRef:
    name: sops-age
  template:
    metadata:
      labels:
        app: db
    type: Opaque
    data:
      cert: aGVsbG8tY2VydA==
    stringData:
      password: s3cr3t-planner-value
      user: admin
";

fn alice_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keys/tests/fixtures/sops/keys/alice.agekey"
    ))
    .unwrap()
}

fn encrypted(plain: &str, mac_only_encrypted: bool) -> String {
    let opts = EncryptOptions {
        key_groups: vec![vec![Recipient::parse(ALICE).unwrap()]],
        rule: Some(EncryptionRule::EncryptedRegex(
            RuleRegex::new("^(data|stringData)$").unwrap(),
        )),
        mac_only_encrypted,
        ..EncryptOptions::default()
    };
    let out = encrypt(
        plain.as_bytes(),
        Format::Yaml,
        &opts,
        1_700_000_000,
        &mut rand::thread_rng(),
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// The object as the API server would hold it (uid, generation added).
fn object(text: &str) -> SopsSecret {
    let mut v: Value = serde_saphyr::from_str(text).unwrap();
    v["metadata"]["uid"] = "uid-1".into();
    v["metadata"]["generation"] = 1.into();
    serde_json::from_value(v).unwrap()
}

fn key_secret(entries: &[(&str, String)]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some("sops-age".into()),
            namespace: Some("demo".into()),
            ..ObjectMeta::default()
        },
        data: Some(
            entries
                .iter()
                .map(|(k, v)| ((*k).to_owned(), ByteString(v.clone().into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    }
}

fn keys() -> AgeKeys {
    let s = key_secret(&[("identity.agekey", alice_text())]);
    age_keys(
        Some(&s),
        &AgeKeySecretRef {
            name: "sops-age".into(),
            key: None,
        },
        "demo",
    )
    .unwrap()
}

fn data_of(plan: &Plan) -> BTreeMap<String, Vec<u8>> {
    plan.desired
        .as_ref()
        .unwrap()
        .secret
        .data
        .clone()
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect()
}

#[test]
fn decrypts_into_the_template_secret() {
    let s = object(&encrypted(PLAIN, true));
    let k = keys();
    let p = plan(&s, Ok(&k), None);
    assert_eq!(p.path, Path::Decrypted);
    let desired = p.plan.desired.as_ref().unwrap();
    assert_eq!(desired.secret.metadata.name.as_deref(), Some("db"));
    assert_eq!(desired.secret.type_.as_deref(), Some("Opaque"));
    assert_eq!(
        desired.secret.metadata.labels.as_ref().unwrap()["app"],
        "db"
    );
    let data = data_of(&p.plan);
    assert_eq!(data["password"], b"s3cr3t-planner-value");
    assert_eq!(data["user"], b"admin");
    assert_eq!(data["cert"], b"hello-cert");
    assert_eq!(p.plan.condition.status, ConditionStatus::True);
}

#[test]
fn unchanged_resync_takes_the_shortcut_and_an_edit_does_not() {
    let s = object(&encrypted(PLAIN, true));
    let k = keys();
    let first = plan(&s, Ok(&k), None);
    let live = first.plan.desired.unwrap().secret;
    let again = plan(&s, Ok(&k), Some(&live));
    assert_eq!(again.path, Path::Verified);
    assert!(!again.plan.source_changed);
    assert_eq!(again.plan.desired.unwrap().secret, live);
    let mut edited = live.clone();
    edited
        .data
        .as_mut()
        .unwrap()
        .insert("password".into(), ByteString(b"changed".to_vec()));
    let repaired = plan(&s, Ok(&k), Some(&edited));
    assert_eq!(repaired.path, Path::Decrypted);
    assert!(!repaired.plan.source_changed);
    assert_eq!(data_of(&repaired.plan)["password"], b"s3cr3t-planner-value");
}

#[test]
fn tampering_fails_without_a_secret_and_without_values_in_messages() {
    let text = encrypted(PLAIN, true);
    let k = keys();
    // A flipped byte in a ciphertext, and a value removed (caught by the MAC).
    let i = text.find("password: ENC[AES256_GCM,data:").unwrap() + 31;
    let flipped = if &text[i..i + 1] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &text[..i], &text[i + 1..]);
    let mut removed = object(&text);
    removed.spec.template["stringData"]
        .as_object_mut()
        .unwrap()
        .remove("user");
    for s in [object(&tampered), removed] {
        let p = plan(&s, Ok(&k), None);
        assert_eq!(p.path, Path::Failed);
        assert!(p.plan.desired.is_none());
        assert_eq!(p.plan.condition.reason, REASON_DECRYPT_FAILED);
        let shown = format!("{:?}", p.plan);
        assert!(
            !shown.contains("s3cr3t-planner-value") && !shown.contains("admin"),
            "{shown}"
        );
    }
}

#[test]
fn mac_over_every_value_is_refused_with_the_reason() {
    let s = object(&encrypted(PLAIN, false));
    let p = plan(&s, Ok(&keys()), None);
    assert!(
        p.plan
            .condition
            .message
            .contains("mac_only_encrypted must be true"),
        "{}",
        p.plan.condition.message
    );
}

#[test]
fn missing_or_wrong_keys_are_reported_and_retried() {
    let s = object(&encrypted(PLAIN, true));
    let r = AgeKeySecretRef {
        name: "sops-age".into(),
        key: None,
    };
    let err = age_keys(None, &r, "demo").unwrap_err();
    assert_eq!(err, "Secret demo/sops-age not found");
    let p = plan(&s, Err(&err), None);
    assert_eq!(p.plan.condition.reason, REASON_KEY_UNAVAILABLE);
    assert!(p.plan.retry);
    let err = age_keys(Some(&key_secret(&[("other", alice_text())])), &r, "demo").unwrap_err();
    assert!(err.contains("no *.agekey entry"), "{err}");
    // A valid identity that is not a recipient of the file.
    let bob = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keys/tests/fixtures/sops/keys/bob.agekey"
    ))
    .unwrap();
    let k = age_keys(
        Some(&key_secret(&[("bob.agekey", bob.clone())])),
        &r,
        "demo",
    )
    .unwrap();
    let p = plan(&s, Ok(&k), None);
    assert_eq!(p.plan.condition.reason, REASON_DECRYPT_FAILED);
    assert!(!format!("{k:?}").contains("AGE-SECRET-KEY"));
    assert!(!p.plan.condition.message.contains("AGE-SECRET-KEY"));
}

#[test]
fn a_foreign_secret_is_not_touched() {
    let s = object(&encrypted(PLAIN, true));
    let foreign = Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            namespace: Some("demo".into()),
            ..ObjectMeta::default()
        },
        ..Secret::default()
    };
    let p = plan(&s, Ok(&keys()), Some(&foreign));
    assert_eq!(p.path, Path::Refused);
    assert!(p.plan.desired.is_none());
}
