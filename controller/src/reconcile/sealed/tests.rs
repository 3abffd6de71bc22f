use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use sealbox_keys::sealing::{Certificate, PrivateKey, SealingKey};

use super::*;
use crate::reconcile::bookkeeping::BOOKKEEPING_ANNOTATIONS;

const FIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/sealed-secrets/"
);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIX}{name}")).expect("fixture")
}

fn keys() -> KeySnapshot {
    let key = |n: u8| {
        SealingKey::new(
            format!("sealed-secrets-key{n}"),
            PrivateKey::from_pem(&fixture(&format!("sealing-key-{n}.key.pem"))).unwrap(),
            Certificate::from_pem(&fixture(&format!("sealing-key-{n}.cert.pem"))).unwrap(),
        )
        .unwrap()
    };
    KeySnapshot::from_keys([key(0), key(1)])
}

fn sealed(file: &str) -> SealedSecret {
    let mut s: SealedSecret = serde_saphyr::from_str(&fixture(file)).expect("parses");
    s.metadata.uid = Some("uid-1".into());
    s.metadata.generation = Some(1);
    if s.metadata.namespace.is_none() {
        s.metadata.namespace = Some("default".into());
    }
    s
}

fn expected(file: &str) -> serde_json::Value {
    let all: serde_json::Value = serde_json::from_str(&fixture("expected.json")).unwrap();
    all["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["file"] == file)
        .unwrap()
        .clone()
}

fn desired(p: &SealedPlan) -> Secret {
    p.plan
        .desired
        .as_ref()
        .expect("a desired Secret")
        .secret
        .clone()
}

/// The desired Secret as the API server would store it after our create.
fn as_live(p: &SealedPlan) -> Secret {
    let mut s = desired(p);
    s.metadata.owner_references = p
        .plan
        .desired
        .as_ref()
        .unwrap()
        .ownership
        .owner
        .clone()
        .map(|o| vec![o]);
    if s.type_.is_none() {
        s.type_ = Some("Opaque".into());
    }
    s
}

#[test]
fn strict_fixture_unseals_to_the_expected_secret_and_records_bookkeeping() {
    let p = plan(
        &sealed("strict.yaml"),
        &keys(),
        None,
        PlannerOptions::default(),
    );
    assert_eq!(p.path, Path::Unsealed);
    assert!(p.plan.source_changed);
    let secret = desired(&p);
    let want = &expected("strict.yaml")["expected_secret"];
    let data = serde_json::to_value(&secret.data).unwrap();
    assert_eq!(data, want["data"]);
    let annotations = secret.metadata.annotations.clone().unwrap();
    for a in BOOKKEEPING_ANNOTATIONS {
        assert!(annotations.contains_key(a), "{a} missing");
    }
    assert_eq!(
        annotations[OPENED_BY_ANNOTATION],
        "SHA256:l9rNRMyw3xD9BR+9byPMAEV/7GdT/ps+EOl8WEFhcWY"
    );
    assert_eq!(annotations[SOURCE_UID_ANNOTATION], "uid-1");
    assert_eq!(p.plan.condition.status, ConditionStatus::True);
    assert!(p.plan.events.is_empty());
}

#[test]
fn unchanged_live_secret_is_verified_without_decryption() {
    let ss = sealed("strict.yaml");
    let first = plan(&ss, &keys(), None, PlannerOptions::default());
    let live = as_live(&first);
    let again = plan(&ss, &keys(), Some(&live), PlannerOptions::default());
    assert_eq!(again.path, Path::Verified);
    assert!(!again.plan.source_changed);
    assert_eq!(desired(&again).data, desired(&first).data);
    assert_eq!(
        desired(&again).metadata.annotations,
        desired(&first).metadata.annotations
    );
}

#[test]
fn template_fixture_shortcut_keeps_metadata_type_and_immutable() {
    let ss = sealed("strict-template.yaml");
    let first = plan(&ss, &keys(), None, PlannerOptions::default());
    assert_eq!(first.path, Path::Unsealed);
    assert!(
        first
            .plan
            .desired
            .as_ref()
            .unwrap()
            .ownership
            .owner
            .is_none()
    );
    let live = as_live(&first);
    let again = plan(&ss, &keys(), Some(&live), PlannerOptions::default());
    assert_eq!(again.path, Path::Verified);
    let (a, b) = (desired(&first), desired(&again));
    assert_eq!(a.type_, b.type_);
    assert_eq!(a.immutable, Some(true));
    assert_eq!(a.immutable, b.immutable);
    assert_eq!(a.metadata.labels, b.metadata.labels);
    assert_eq!(a.metadata.annotations, b.metadata.annotations);
}

#[test]
fn hand_edited_data_is_unsealed_and_restored() {
    let ss = sealed("strict.yaml");
    let first = plan(&ss, &keys(), None, PlannerOptions::default());
    let mut live = as_live(&first);
    live.data
        .as_mut()
        .unwrap()
        .insert("password".into(), ByteString(b"hacked".to_vec()));
    let again = plan(&ss, &keys(), Some(&live), PlannerOptions::default());
    assert_eq!(again.path, Path::Unsealed);
    assert!(!again.plan.source_changed, "a repair, not a source change");
    assert_eq!(desired(&again).data, desired(&first).data);

    let mut extra = as_live(&first);
    extra
        .data
        .as_mut()
        .unwrap()
        .insert("added".into(), ByteString(b"x".to_vec()));
    assert_eq!(
        plan(&ss, &keys(), Some(&extra), PlannerOptions::default()).path,
        Path::Unsealed
    );
}

#[test]
fn forged_or_stale_bookkeeping_never_skips_decryption() {
    let ss = sealed("strict.yaml");
    let first = plan(&ss, &keys(), None, PlannerOptions::default());
    // A MAC made with a key the controller does not hold.
    let mut live = as_live(&first);
    live.metadata.annotations.as_mut().unwrap().insert(
        OPENED_BY_ANNOTATION.into(),
        "SHA256:EjkQfYdBLFiangUyaEX3rjTH7jnKtxe05Y5t9kk0J7M".into(),
    );
    assert_eq!(
        plan(&ss, &keys(), Some(&live), PlannerOptions::default()).path,
        Path::Unsealed
    );
    // The SealedSecret changed (one value from another object): digest differs.
    let mut changed = ss.clone();
    changed.spec.encrypted_data.remove("large");
    let p = plan(
        &changed,
        &keys(),
        Some(&as_live(&first)),
        PlannerOptions::default(),
    );
    assert_eq!(p.path, Path::Unsealed);
    assert!(p.plan.source_changed);
    assert!(!desired(&p).data.unwrap().contains_key("large"));
}

#[test]
fn the_recorded_key_is_tried_first() {
    let ss = sealed("strict-old-key.yaml");
    let first = plan(&ss, &keys(), None, PlannerOptions::default());
    assert_eq!(
        desired(&first).metadata.annotations.unwrap()[OPENED_BY_ANNOTATION],
        "SHA256:pqqA/nUOJ6jjSRqiEvEOjipXCojs62krdmd+/kVVur8"
    );
}

#[test]
fn foreign_secret_is_refused_before_any_decryption() {
    let ss = sealed("strict.yaml");
    let live = Secret {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some("db-credentials".into()),
            namespace: Some("demo".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    // Even with no keys at all, the answer is "refused", not "cannot decrypt".
    let p = plan(
        &ss,
        &KeySnapshot::default(),
        Some(&live),
        PlannerOptions::default(),
    );
    assert_eq!(p.path, Path::Refused);
    assert!(p.plan.desired.is_none());
    assert_eq!(
        p.plan.condition.message,
        "failed update: Resource \"db-credentials\" already exists and is not managed by SealedSecret"
    );
    assert_eq!(p.plan.events[0].reason, REASON_UPDATE_FAILED);
}

#[test]
fn negative_fixtures_fail_with_status_and_one_event_without_plaintexts() {
    let all: serde_json::Value = serde_json::from_str(&fixture("expected.json")).unwrap();
    let plaintexts: Vec<String> = all["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["items"].as_object().cloned().unwrap_or_default())
        .filter_map(|(_, v)| v["plaintext_utf8"].as_str().map(str::to_owned))
        .filter(|p| p.len() >= 4)
        .collect();
    for m in all["manifests"].as_array().unwrap() {
        if m["expect"] != "error" {
            continue;
        }
        let file = m["file"].as_str().unwrap();
        let p = plan(&sealed(file), &keys(), None, PlannerOptions::default());
        assert_eq!(p.path, Path::Failed, "{file}");
        assert!(p.plan.desired.is_none(), "{file}");
        assert_eq!(p.plan.condition.status, ConditionStatus::False);
        assert_eq!(p.plan.condition.reason, REASON_UNSEAL_FAILED);
        assert_eq!(p.plan.events.len(), 1);
        let text = format!("{} {}", p.plan.condition.message, p.plan.events[0].note);
        for item in m["failing_items"].as_array().unwrap() {
            let item = item.as_str().unwrap();
            if !item.starts_with('(') {
                assert!(text.contains(item), "{file}: {text}");
            }
        }
        for plain in &plaintexts {
            assert!(!text.contains(plain.as_str()), "{file} leaks a plaintext");
        }
    }
}

#[test]
fn patch_annotation_merges_and_shortcut_checks_only_our_keys() {
    let ss = sealed("namespace-wide.yaml");
    let first = plan(&ss, &keys(), None, PlannerOptions::default());
    let mut live = as_live(&first);
    live.metadata.owner_references = None;
    live.metadata
        .annotations
        .as_mut()
        .unwrap()
        .insert(PATCH_ANNOTATION.into(), "true".into());
    live.metadata
        .annotations
        .as_mut()
        .unwrap()
        .remove(SOURCE_UID_ANNOTATION);
    live.data
        .as_mut()
        .unwrap()
        .insert("theirs".into(), ByteString(b"x".to_vec()));
    let p = plan(&ss, &keys(), Some(&live), PlannerOptions::default());
    assert_eq!(p.path, Path::Verified);
    let data: BTreeMap<_, _> = desired(&p).data.unwrap();
    assert!(!data.contains_key("theirs"));
}
