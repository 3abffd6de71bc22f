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

fn bob_text() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keys/tests/fixtures/sops/keys/bob.agekey"
    ))
    .unwrap()
}

fn any_ref() -> AgeKeySecretRef {
    AgeKeySecretRef {
        name: "sops-age".into(),
        key: None,
    }
}

#[test]
fn a_changed_source_is_decrypted_and_reported_as_a_change() {
    let k = keys();
    let first = object(&encrypted(PLAIN, true));
    let live = plan(&first, Ok(&k), None).plan.desired.unwrap().secret;
    // Re-encrypted with a new value: new ciphertexts, new digest.
    let second = object(&encrypted(
        &PLAIN.replace("s3cr3t-planner-value", "rotated-planner-value"),
        true,
    ));
    assert_ne!(source_digest(&first), source_digest(&second));
    let p = plan(&second, Ok(&k), Some(&live));
    assert_eq!(p.path, Path::Decrypted);
    assert!(p.plan.source_changed, "a new source is a change, not drift");
    assert_eq!(data_of(&p.plan)["password"], b"rotated-planner-value");
}

#[test]
fn the_digest_covers_identity_spec_and_sops_but_not_labels_or_status() {
    let s = object(&encrypted(PLAIN, true));
    let d = source_digest(&s);
    let mut labelled = s.clone();
    labelled
        .metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert("argocd.argoproj.io/instance".into(), "app".into());
    labelled.metadata.resource_version = Some("42".into());
    labelled.status = Some(Default::default());
    assert_eq!(source_digest(&labelled), d);
    let mut recreated = s.clone();
    recreated.metadata.uid = Some("uid-2".into());
    assert_ne!(source_digest(&recreated), d);
    let mut other_key = s.clone();
    other_key.spec.age_key_secret_ref.key = Some("x.agekey".into());
    assert_ne!(source_digest(&other_key), d);
    let mut other_sops = s.clone();
    other_sops.sops.as_mut().unwrap()["lastmodified"] = "2030-01-01T00:00:00Z".into();
    assert_ne!(source_digest(&other_sops), d);
}

#[test]
fn the_shortcut_trusts_only_a_mac_made_with_the_same_identities() {
    let s = object(&encrypted(PLAIN, true));
    let alice = keys();
    let live = plan(&s, Ok(&alice), None).plan.desired.unwrap().secret;
    // Someone without alice's key writes other data under the right digest, with a MAC
    // they can compute (bob's identity): not trusted, the values are decrypted again.
    let bob = age_keys(
        Some(&key_secret(&[("bob.agekey", bob_text())])),
        &any_ref(),
        "demo",
    )
    .unwrap();
    let mut forged = live.clone();
    forged
        .data
        .as_mut()
        .unwrap()
        .insert("password".into(), ByteString(b"forged".to_vec()));
    let mut forged_annotations = forged.metadata.annotations.clone().unwrap();
    forged_annotations.insert(
        DATA_MAC_ANNOTATION.into(),
        bob.mac(&source_digest(&s), forged.data.as_ref().unwrap()),
    );
    forged.metadata.annotations = Some(forged_annotations);
    let p = plan(&s, Ok(&alice), Some(&forged));
    assert_eq!(p.path, Path::Decrypted);
    assert_eq!(data_of(&p.plan)["password"], b"s3cr3t-planner-value");
    // A MAC that is not base64, or missing: decrypted again, never an error.
    for recorded in [Some("not base64!"), None] {
        let mut odd = live.clone();
        let a = odd.metadata.annotations.as_mut().unwrap();
        match recorded {
            Some(v) => a.insert(DATA_MAC_ANNOTATION.into(), v.into()),
            None => a.remove(DATA_MAC_ANNOTATION),
        };
        let p = plan(&s, Ok(&alice), Some(&odd));
        assert_eq!(p.path, Path::Decrypted);
        assert_eq!(p.plan.condition.status, ConditionStatus::True);
    }
    // Adding an identity to the key Secret changes the MAC key: one decryption, then the
    // shortcut again with the new MAC.
    let both = age_keys(
        Some(&key_secret(&[
            ("identity.agekey", alice_text()),
            ("bob.agekey", bob_text()),
        ])),
        &any_ref(),
        "demo",
    )
    .unwrap();
    let p = plan(&s, Ok(&both), Some(&live));
    assert_eq!(p.path, Path::Decrypted);
    let relive = p.plan.desired.unwrap().secret;
    assert_eq!(plan(&s, Ok(&both), Some(&relive)).path, Path::Verified);
}

#[test]
fn encrypted_keys_out_of_sorted_order_fail_with_the_reason() {
    // The cluster returns keys sorted; a file whose encrypted keys were written in another
    // order has a MAC over another sequence of values. The message says what to do.
    let unsorted = PLAIN.replace(
        "      password: s3cr3t-planner-value\n      user: admin\n",
        "      user: admin\n      password: s3cr3t-planner-value\n",
    );
    assert_ne!(unsorted, PLAIN);
    let p = plan(&object(&encrypted(&unsorted, true)), Ok(&keys()), None);
    assert_eq!(p.path, Path::Failed);
    assert!(!p.plan.retry, "bad input waits for a change");
    let m = &p.plan.condition.message;
    assert!(m.contains("MAC mismatch") && m.contains("sorted"), "{m}");
    assert_eq!(p.plan.events[0].kind, crate::apply::EventKind::Warning);
    assert_eq!(p.plan.events[0].reason, REASON_DECRYPT_FAILED);
}

#[test]
fn a_named_key_entry_is_the_only_one_read() {
    let s = object(&encrypted(PLAIN, true));
    let secret = key_secret(&[("bob.agekey", bob_text()), ("alice.txt", alice_text())]);
    let named = AgeKeySecretRef {
        name: "sops-age".into(),
        key: Some("alice.txt".into()),
    };
    let k = age_keys(Some(&secret), &named, "demo").unwrap();
    assert_eq!(plan(&s, Ok(&k), None).path, Path::Decrypted);
    // Without `key`, only *.agekey entries count: bob's, which cannot open the file.
    let k = age_keys(Some(&secret), &any_ref(), "demo").unwrap();
    assert_eq!(plan(&s, Ok(&k), None).path, Path::Failed);
    let missing = AgeKeySecretRef {
        name: "sops-age".into(),
        key: Some("nope".into()),
    };
    let err = age_keys(Some(&secret), &missing, "demo").unwrap_err();
    assert_eq!(err, "Secret demo/sops-age has no entry \"nope\"");
    let empty = AgeKeySecretRef::default();
    assert_eq!(
        age_keys(Some(&secret), &empty, "demo").unwrap_err(),
        "spec.ageKeySecretRef.name is empty"
    );
    // An entry that is not an identity is named, its content is not shown.
    let junk = key_secret(&[("x.agekey", "not-an-identity-but-secret-ish".into())]);
    let err = age_keys(Some(&junk), &any_ref(), "demo").unwrap_err();
    assert!(err.contains("x.agekey"), "{err}");
    assert!(!err.contains("not-an-identity-but-secret-ish"), "{err}");
}

#[test]
fn a_bad_decrypted_value_names_its_field_never_the_value() {
    let bad = PLAIN.replace("cert: aGVsbG8tY2VydA==", "cert: plain-not-base64-value!");
    let p = plan(&object(&encrypted(&bad, true)), Ok(&keys()), None);
    assert_eq!(p.path, Path::Failed);
    assert!(p.plan.desired.is_none());
    let m = &p.plan.condition.message;
    assert!(
        m.contains("spec.template.data.cert") && m.contains("base64"),
        "{m}"
    );
    let shown = format!("{p:?}");
    assert!(!shown.contains("plain-not-base64-value"), "{shown}");
    assert!(!shown.contains("s3cr3t-planner-value"), "{shown}");
}

#[test]
fn template_metadata_type_and_immutable_are_carried_and_debug_hides_values() {
    let text = PLAIN
        .replace(
            "      labels:\n        app: db\n",
            "      labels:\n        app: db\n      annotations:\n        team: payments\n",
        )
        .replace(
            "    type: Opaque\n",
            "    type: kubernetes.io/basic-auth\n    immutable: true\n",
        );
    let s = object(&encrypted(&text, true));
    let p = plan(&s, Ok(&keys()), None);
    assert_eq!(p.path, Path::Decrypted);
    let secret = &p.plan.desired.as_ref().unwrap().secret;
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(secret.immutable, Some(true));
    let annotations = secret.metadata.annotations.as_ref().unwrap();
    assert_eq!(annotations["team"], "payments");
    assert_eq!(annotations[SOURCE_UID_ANNOTATION], "uid-1");
    assert_eq!(annotations[SOURCE_DIGEST_ANNOTATION], source_digest(&s));
    assert!(annotations.contains_key(DATA_MAC_ANNOTATION));
    let owner = &p.plan.desired.as_ref().unwrap().ownership.owner;
    let owner = owner.as_ref().unwrap();
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("SopsSecret", "uid-1")
    );
    let shown = format!("{p:?}");
    assert!(
        !shown.contains("s3cr3t-planner-value") && !shown.contains("admin"),
        "{shown}"
    );
}

#[test]
fn a_secret_left_by_a_deleted_sopssecret_of_the_same_name_is_not_taken_over() {
    let s = object(&encrypted(PLAIN, true));
    let k = keys();
    let old = plan(&s, Ok(&k), None).plan.desired.unwrap();
    let mut live = old.secret.clone();
    live.metadata.owner_references = old.ownership.owner.clone().map(|o| vec![o]);
    let mut recreated = s.clone();
    recreated.metadata.uid = Some("uid-2".into());
    let p = plan(&recreated, Ok(&k), Some(&live));
    assert_eq!(p.path, Path::Refused);
    assert!(
        p.plan.retry,
        "retried: garbage collection removes the old Secret"
    );
    // The owner itself is recognised by its controller reference.
    assert_ne!(plan(&s, Ok(&k), Some(&live)).path, Path::Refused);
}
