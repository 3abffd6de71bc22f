//! In-process controller runs against the API double.

use std::time::Duration;

use sealbox_controller::reconcile::bookkeeping::BOOKKEEPING_ANNOTATIONS;
use sealbox_tests::apiserver::FaultRule;
use serde_json::{Value, json};

use super::*;

const WAIT: Duration = Duration::from_secs(60);

/// The live Secret reduced to what `expected_secret` describes (bookkeeping annotations
/// removed, owner uid placeholder filled in, server-defaulted type made explicit).
fn comparable(live: &Value) -> Value {
    let mut annotations = live
        .pointer("/metadata/annotations")
        .cloned()
        .unwrap_or(json!({}));
    for a in BOOKKEEPING_ANNOTATIONS {
        annotations.as_object_mut().unwrap().remove(a);
    }
    let owners: Vec<Value> = live
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|o| {
            json!({"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["name"],
                   "uid": o["uid"], "controller": o["controller"]})
        })
        .collect();
    json!({
        "name": live.pointer("/metadata/name"),
        "namespace": live.pointer("/metadata/namespace"),
        "labels": live.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
        "annotations": annotations,
        "ownerReferences": owners,
        "type": live["type"],
        "immutable": live.get("immutable").cloned().unwrap_or(Value::Null),
        "data": live["data"],
    })
}

fn expected_comparable(exp: &Value, uid: &str, namespace: &str) -> Value {
    let owners: Vec<Value> = exp
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut o| {
            o["uid"] = json!(uid);
            o
        })
        .collect();
    json!({
        "name": exp.pointer("/metadata/name"),
        "namespace": exp.pointer("/metadata/namespace").cloned().unwrap_or(json!(namespace)),
        "labels": exp.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
        "annotations": exp.pointer("/metadata/annotations").cloned().unwrap_or(json!({})),
        "ownerReferences": owners,
        "type": exp.get("type").cloned().unwrap_or(json!("Opaque")),
        "immutable": exp.get("immutable").cloned().unwrap_or(Value::Null),
        "data": exp["data"],
    })
}

/// How many times events with this reason were recorded (kube's Recorder folds repeats
/// within 6 minutes into one Event with `series.count`).
fn occurrences(double: &ApiServer, name: &str, reason: &str) -> u64 {
    events_with(double, name, reason)
        .iter()
        .map(|e| {
            e.pointer("/series/count")
                .and_then(Value::as_u64)
                .unwrap_or(1)
        })
        .sum()
}

fn events_with(double: &ApiServer, name: &str, reason: &str) -> Vec<Value> {
    double
        .events_for("SealedSecret", name)
        .into_iter()
        .filter(|e| e["reason"] == reason)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_positive_fixture_becomes_exactly_the_expected_secret() {
    let double = cluster(true).await;
    let ctl = Running::start(&double, test_config()).await;
    let exp = expected();
    let positives: Vec<&Value> = exp["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["expect"] == "ok")
        .collect();
    let mut files: Vec<&str> = positives
        .iter()
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    files.dedup();
    for file in files {
        apply_fixture(&double, file);
    }
    for m in &positives {
        let ns = m["namespace"].as_str().unwrap_or("default");
        let name = m["name"].as_str().unwrap();
        eventually(&format!("{ns}/{name} synced"), WAIT, || {
            synced(&double, ns, name).is_some_and(|s| s.0 == "True")
        })
        .await;
        let live = secret(&double, ns, name).expect("Secret written");
        let ss = sealed(&double, ns, name).unwrap();
        let uid = ss.pointer("/metadata/uid").unwrap().as_str().unwrap();
        assert_eq!(
            comparable(&live),
            expected_comparable(&m["expected_secret"], uid, ns),
            "{ns}/{name}"
        );
        assert_eq!(
            ss.pointer("/status/observedGeneration"),
            ss.pointer("/metadata/generation"),
            "{name}"
        );
        eventually(&format!("{name}: its Unsealed event"), WAIT, || {
            occurrences(&double, name, "Unsealed") >= 1
        })
        .await;
        // Every write carried our field manager.
        let managers: Vec<String> = live["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["manager"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(managers, vec!["sealbox".to_owned()], "{name}");
    }
    // A quiet period writes nothing: no status hot loop, no re-apply.
    double.clear_requests();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        double.write_count("/"),
        0,
        "{:?}",
        double
            .requests()
            .iter()
            .filter(|r| r.is_write())
            .collect::<Vec<_>>()
    );
    for m in &positives {
        let name = m["name"].as_str().unwrap();
        assert_eq!(
            occurrences(&double, name, "Unsealed"),
            1,
            "{name}: exactly one Unsealed event"
        );
    }
    let metrics = ctl.handles.metrics.encode();
    assert!(metric(&metrics, "sealbox_unsealed_total").unwrap() >= positives.len() as f64);
    ctl.stop().await;
}

/// The Secret write of a reconcile queues its SealedSecret again at once (owned-Secret
/// watch). A watch cache that lags (a real API server under load) hands that next
/// reconcile a copy without the status just written: it must not write status a second
/// time. This is the race behind the quiet-period flake of the test above; here every
/// SealedSecret event reaches the controller 600 ms late, so it happens every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_watch_cache_never_causes_a_second_status_write() {
    let double = cluster(true).await;
    double
        .faults()
        .set_watch_lag("sealedsecrets", Duration::from_millis(600));
    let ctl = Running::start(&double, test_config()).await;
    let exp = expected();
    let positives: Vec<&Value> = exp["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["expect"] == "ok")
        .take(3)
        .collect();
    let mut files: Vec<&str> = positives
        .iter()
        .map(|m| m["file"].as_str().unwrap())
        .collect();
    files.dedup();
    for file in files {
        apply_fixture(&double, file);
    }
    let status_writes = |ns: &str, name: &str| -> Vec<String> {
        let path = format!("/namespaces/{ns}/sealedsecrets/{name}/status");
        double
            .requests()
            .iter()
            .filter(|r| r.is_write() && r.path.ends_with(&path))
            .map(|r| format!("{} {}", r.verb, r.path))
            .collect()
    };
    for m in &positives {
        let ns = m["namespace"].as_str().unwrap_or("default");
        let name = m["name"].as_str().unwrap();
        eventually(&format!("{ns}/{name} synced"), WAIT, || {
            synced(&double, ns, name).is_some_and(|s| s.0 == "True")
        })
        .await;
    }
    // Long enough for every lagged event and any reconcile they queue.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for m in &positives {
        let ns = m["namespace"].as_str().unwrap_or("default");
        let name = m["name"].as_str().unwrap();
        assert_eq!(
            status_writes(ns, name).len(),
            1,
            "{ns}/{name}: {:?}",
            status_writes(ns, name)
        );
        assert_eq!(occurrences(&double, name, "Unsealed"), 1, "{name}");
    }
    double.clear_requests();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        double.write_count("/"),
        0,
        "{:?}",
        double
            .requests()
            .iter()
            .filter(|r| r.is_write())
            .collect::<Vec<_>>()
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negatives_get_status_one_event_and_no_secret_while_others_keep_working() {
    let double = cluster(true).await;
    let ctl = Running::start(&double, test_config()).await;
    let exp = expected();
    let plain = plaintexts();
    apply_fixture(&double, "namespace-wide-binary.yaml");
    for m in exp["manifests"].as_array().unwrap() {
        if m["expect"] != "error" {
            continue;
        }
        let file = m["file"].as_str().unwrap();
        let ns = m["namespace"].as_str().unwrap();
        let name = m["name"].as_str().unwrap();
        let stored = apply_fixture(&double, file);
        let uid = stored[0]["metadata"]["uid"].as_str().unwrap().to_owned();
        eventually(&format!("{file} reported"), WAIT, || {
            synced(&double, ns, name).is_some_and(|s| s.0 == "False")
        })
        .await;
        let (_, reason, message) = synced(&double, ns, name).unwrap();
        assert_eq!(reason, "ErrUnsealFailed", "{file}");
        assert!(!message.is_empty(), "{file}");
        assert!(secret(&double, ns, name).is_none(), "{file}: no Secret");
        tokio::time::sleep(Duration::from_millis(300)).await;
        let events: Vec<Value> = double
            .events_for("SealedSecret", name)
            .into_iter()
            .filter(|e| e["regarding"]["uid"] == uid.as_str())
            .collect();
        assert_eq!(events.len(), 1, "{file}: exactly one event");
        assert_eq!(events[0]["reason"], "ErrUnsealFailed");
        assert_eq!(events[0]["type"], "Warning");
        let text = format!("{message} {}", events[0]["note"]);
        for p in &plain {
            assert!(
                !text.contains(p.as_str()),
                "{file}: status/event leaks a plaintext"
            );
        }
        // Remove it so the next negative (same name) starts clean.
        let api: kube::Api<SealedSecret> = kube::Api::namespaced(double.client().unwrap(), ns);
        api.delete(name, &Default::default()).await.unwrap();
        eventually("deleted", WAIT, || sealed(&double, ns, name).is_none()).await;
    }
    assert_eq!(synced(&double, "team-b", "blob-store").unwrap().0, "True");
    assert!(secret(&double, "team-b", "blob-store").is_some());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_are_reverted_and_deleted_secrets_recreated_with_one_event_each() {
    let double = cluster(true).await;
    let ctl = Running::start(&double, test_config()).await;
    apply_fixture(&double, "strict.yaml");
    eventually("synced", WAIT, || {
        synced(&double, "demo", "db-credentials").is_some_and(|s| s.0 == "True")
    })
    .await;
    let original = secret(&double, "demo", "db-credentials").unwrap();
    let client = double.client().unwrap();
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(client, "demo");
    // kubectl edit: change a value, add a key and a label (a different field manager).
    api.patch(
        "db-credentials",
        &kube::api::PatchParams {
            field_manager: Some("kubectl-edit".into()),
            ..Default::default()
        },
        &kube::api::Patch::Merge(json!({
            "metadata": {"labels": {"hand": "made"}},
            "data": {"password": "aGFja2Vk", "extra": "eA=="}
        })),
    )
    .await
    .unwrap();
    eventually("edit reverted", WAIT, || {
        secret(&double, "demo", "db-credentials").is_some_and(|s| {
            s["data"] == original["data"] && s.pointer("/metadata/labels/hand").is_none()
        })
    })
    .await;
    eventually("one restore event", WAIT, || {
        events_with(&double, "db-credentials", "SecretRestored").len() == 1
    })
    .await;
    let note = events_with(&double, "db-credentials", "SecretRestored")[0]["note"].clone();
    assert!(note.as_str().unwrap().contains("changed outside"), "{note}");

    api.delete("db-credentials", &Default::default())
        .await
        .unwrap();
    eventually("recreated", WAIT, || {
        secret(&double, "demo", "db-credentials").is_some_and(|s| s["data"] == original["data"])
    })
    .await;
    eventually("second restore event", WAIT, || {
        occurrences(&double, "db-credentials", "SecretRestored") == 2
    })
    .await;
    assert_eq!(occurrences(&double, "db-credentials", "Unsealed"), 1);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmanaged_secret_is_not_taken_over_until_annotated_managed() {
    let double = cluster(true).await;
    double
        .put(
            "v1",
            "secrets",
            json!({"metadata": {"name": "db-credentials", "namespace": "demo"},
                   "data": {"mine": "bm90IHlvdXJz"}}),
        )
        .unwrap();
    let ctl = Running::start(&double, test_config()).await;
    apply_fixture(&double, "strict.yaml");
    eventually("refused", WAIT, || {
        synced(&double, "demo", "db-credentials").is_some_and(|s| s.0 == "False")
    })
    .await;
    let (_, reason, message) = synced(&double, "demo", "db-credentials").unwrap();
    assert_eq!(reason, "ErrUpdateFailed");
    assert!(
        message.contains("already exists and is not managed by SealedSecret"),
        "{message}"
    );
    let untouched = secret(&double, "demo", "db-credentials").unwrap();
    assert_eq!(untouched["data"], json!({"mine": "bm90IHlvdXJz"}));
    // The event follows the status write; retries (backoff) do not repeat it.
    eventually("its event", WAIT, || {
        !events_with(&double, "db-credentials", "ErrUpdateFailed").is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        events_with(&double, "db-credentials", "ErrUpdateFailed").len(),
        1
    );

    let mut annotated = untouched.clone();
    annotated["metadata"]["annotations"] = json!({"sealedsecrets.bitnami.com/managed": "true"});
    annotated["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("managedFields");
    double.put("v1", "secrets", annotated).unwrap();
    eventually("taken over", WAIT, || {
        synced(&double, "demo", "db-credentials").is_some_and(|s| s.0 == "True")
    })
    .await;
    let live = secret(&double, "demo", "db-credentials").unwrap();
    assert!(live["data"].get("mine").is_none(), "replaced, not merged");
    assert_eq!(live["data"]["username"], "YWRtaW4=");
    assert_eq!(
        live["metadata"]["ownerReferences"][0]["kind"],
        "SealedSecret"
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patch_annotation_merges_into_an_existing_secret() {
    let double = cluster(true).await;
    double
        .put(
            "v1",
            "secrets",
            json!({"metadata": {"name": "api-token", "namespace": "team-a",
                   "annotations": {"sealedsecrets.bitnami.com/patch": "true"}, "labels": {"keep": "me"}},
                   "data": {"theirs": "eA=="}}),
        )
        .unwrap();
    let ctl = Running::start(&double, test_config()).await;
    apply_fixture(&double, "namespace-wide.yaml");
    eventually("merged", WAIT, || {
        secret(&double, "team-a", "api-token").is_some_and(|s| s["data"].get("token").is_some())
    })
    .await;
    let live = secret(&double, "team-a", "api-token").unwrap();
    assert_eq!(live["data"]["theirs"], "eA==");
    assert_eq!(live["metadata"]["labels"]["keep"], "me");
    assert!(
        live["metadata"].get("ownerReferences").is_none(),
        "patch without managed: no owner"
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restored_backup_key_is_picked_up_and_rotation_serves_a_new_cert() {
    let double = cluster(false).await;
    // Only the newest key (items[1] of the backup) is present at first.
    restore_keys(&double, Some(1));
    let ctl = Running::start(&double, test_config()).await;
    apply_fixture(&double, "strict.yaml");
    apply_fixture(&double, "strict-old-key.yaml");
    eventually("strict synced", WAIT, || {
        synced(&double, "demo", "db-credentials").is_some_and(|s| s.0 == "True")
    })
    .await;
    let old_key_status = || synced(&double, "demo", "legacy-password").map(|s| s.0);
    eventually("old-key object fails", WAIT, || {
        old_key_status().as_deref() == Some("False")
    })
    .await;
    // Restore the older key from the backup: no restart needed.
    restore_keys(&double, Some(0));
    eventually("old-key object opens", WAIT, || {
        old_key_status().as_deref() == Some("True")
    })
    .await;

    let api = ctl.handles.api_addr;
    let (code, before) = http(api, "GET", "/v1/cert.pem", "").await;
    assert_eq!(code, 200);
    assert_eq!(
        before.replace("\r\n", "\n"),
        read_fixture("sealing-key-1.cert.pem").replace("\r\n", "\n")
    );
    ctl.rotate.send(()).await.unwrap();
    eventually("three keys", WAIT, || {
        ctl.handles.keystore.snapshot().keyring().len() == 3
    })
    .await;
    let (_, after) = http(api, "GET", "/v1/cert.pem", "").await;
    assert_ne!(before, after, "the new key seals");
    let keys = double.store().all("/secrets").len();
    assert!(keys >= 3);
    // Old objects still open (verify endpoint and the Secrets stay synced).
    let (code, _) = http(
        api,
        "POST",
        "/v1/verify",
        &read_fixture("strict-old-key.yaml"),
    )
    .await;
    assert_eq!(code, 200);
    let (code, _) = http(
        api,
        "POST",
        "/v1/verify",
        &read_fixture("negative/foreign-key.yaml"),
    )
    .await;
    assert_eq!(code, 409);
    let (code, rotated) = http(
        api,
        "POST",
        "/v1/rotate",
        &read_fixture("strict-old-key.yaml"),
    )
    .await;
    assert_eq!(code, 200, "{rotated}");
    assert_eq!(synced(&double, "demo", "db-credentials").unwrap().0, "True");
    // The new key Secret is Bitnami-shaped.
    let new_key = double
        .store()
        .all("/secrets")
        .into_iter()
        .find(|s| {
            s["metadata"]["namespace"] == "kube-system"
                && !["sealed-secrets-keyq7x2m", "sealed-secrets-keyt4k9d"]
                    .contains(&s["metadata"]["name"].as_str().unwrap_or(""))
        })
        .expect("a new key Secret");
    assert_eq!(new_key["type"], "kubernetes.io/tls");
    assert_eq!(
        new_key["metadata"]["labels"]["sealedsecrets.bitnami.com/sealed-secrets-key"],
        "active"
    );
    assert!(
        new_key["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("sealed-secrets-key")
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_without_keys_makes_one_and_becomes_ready() {
    let double = cluster(false).await;
    let ctl = Running::start(&double, test_config()).await;
    eventually("a key", WAIT, || {
        ctl.handles.keystore.snapshot().keyring().len() == 1
    })
    .await;
    let (code, body) = http(ctl.handles.api_addr, "GET", "/v1/cert.pem", "").await;
    assert_eq!(code, 200);
    assert!(body.starts_with("-----BEGIN CERTIFICATE-----"));
    eventually("ready", WAIT, || ctl.handles.readiness.caches_synced()).await;
    let (code, _) = http(ctl.handles.api_addr, "GET", "/readyz", "").await;
    assert_eq!(code, 200);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_through_5xx_dropped_watches_and_410() {
    let double = cluster(true).await;
    double
        .faults()
        .add(FaultRule::next(Some("create"), Some("/secrets"), 500, 3));
    double
        .faults()
        .add(FaultRule::next(Some("apply"), Some("/status"), 500, 3));
    let ctl = Running::start(&double, test_config()).await;
    apply_fixture(&double, "strict.yaml");
    apply_fixture(&double, "namespace-wide.yaml");
    tokio::time::sleep(Duration::from_millis(200)).await;
    double.faults().drop_watches();
    double.faults().gone_on_next_watches(2);
    double.compact_history();
    apply_fixture(&double, "multi-doc.yaml");
    for (ns, name) in [
        ("demo", "db-credentials"),
        ("team-a", "api-token"),
        ("demo", "multi-a"),
        ("demo", "multi-b"),
    ] {
        eventually(&format!("{ns}/{name} converged"), WAIT, || {
            synced(&double, ns, name).is_some_and(|s| s.0 == "True")
                && secret(&double, ns, name).is_some()
        })
        .await;
    }
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_leader_election_one_replica_reconciles_and_a_follower_takes_over() {
    let double = cluster(true).await;
    let mut a_cfg = test_config();
    a_cfg.leader_elect = true;
    a_cfg.identity = "replica-a".into();
    a_cfg.lease_duration = Duration::from_secs(3);
    let mut b_cfg = a_cfg.clone();
    b_cfg.identity = "replica-b".into();
    let a = Running::start(&double, a_cfg).await;
    apply_fixture(&double, "strict.yaml");
    eventually("a reconciles", WAIT, || {
        synced(&double, "demo", "db-credentials").is_some_and(|s| s.0 == "True")
    })
    .await;
    let b = Running::start(&double, b_cfg).await;
    // The follower serves the endpoints (it watches the keys too) but is not the holder.
    eventually("b has keys", WAIT, || {
        b.handles.keystore.snapshot().keyring().len() == 2
    })
    .await;
    let (code, _) = http(b.handles.api_addr, "GET", "/v1/cert.pem", "").await;
    assert_eq!(code, 200);
    let holder = || {
        double
            .get(
                "coordination.k8s.io/v1",
                "leases",
                Some("kube-system"),
                "sealbox-controller",
            )
            .and_then(|l| {
                l.pointer("/spec/holderIdentity")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
    };
    assert_eq!(holder().as_deref(), Some("replica-a"));
    let (code, _) = http(b.handles.api_addr, "GET", "/readyz", "").await;
    assert_eq!(code, 200, "a follower is ready to serve the endpoints");
    a.stop().await;
    eventually("b leads", WAIT, || holder().as_deref() == Some("replica-b")).await;
    apply_fixture(&double, "namespace-wide.yaml");
    eventually("b reconciles", WAIT, || {
        synced(&double, "team-a", "api-token").is_some_and(|s| s.0 == "True")
    })
    .await;
    b.stop().await;
}
