//! ESO's creation-policy behaviour matrix end to end (`docs/guides/ownership-deletion-policy.md`,
//! spec §1.2): what happens to a target Secret that is deleted or edited by hand, per
//! `creationPolicy`.
//!
//! | policy        | deleted target               | hand-edited target                  |
//! |---------------|------------------------------|-------------------------------------|
//! | Owner         | recreated at once            | repaired at once                    |
//! | CreateOrMerge | recreated at once            | repaired at once, others' keys kept |
//! | Orphan        | recreated at the next refresh| repaired at the next refresh        |
//! | Merge         | never created (SecretMissing)| repaired at once, others' keys kept |
//!
//! "At once" comes from the managed-Secret watch (metadata only, mapped to ExternalSecrets
//! by target name); "at the next refresh" is checked against the Orphan object's own
//! `refreshTime`: it must not move before the repair, and must move with it.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use super::*;

/// The Orphan ExternalSecret's refresh interval: long enough to tell "at once" from "at
/// the next refresh" under load, short enough to wait for.
const ORPHAN_INTERVAL_S: u64 = 6;

fn refresh_time(double: &ApiServer, name: &str) -> Option<String> {
    es_obj(double, "app", name)?["status"]["refreshTime"]
        .as_str()
        .map(str::to_owned)
}

fn value(double: &ApiServer, secret: &str, key: &str) -> Option<String> {
    secret_data(double, "app", secret)?.get(key).cloned()
}

/// Edit a Secret by hand (merge patch of its data, labels and annotations untouched).
async fn hand_edit(api: &Api<Secret>, name: &str, pairs: &[(&str, &str)]) {
    use base64::Engine as _;
    let data: serde_json::Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(&json!({"data": data})),
    )
    .await
    .unwrap();
}

/// Wait until the Orphan object has just refreshed, so that its next refresh is a whole
/// interval away; returns its refreshTime.
async fn right_after_an_orphan_refresh(double: &ApiServer) -> String {
    let before = refresh_time(double, "orphan").unwrap();
    eventually("an Orphan refresh", WAIT, || {
        refresh_time(double, "orphan").is_some_and(|t| t != before)
    })
    .await;
    refresh_time(double, "orphan").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_creation_policy_treats_deleted_and_hand_edited_targets_as_eso_does() {
    let double = cluster().await;
    put_store(
        &double,
        "app",
        "fake",
        json!({"fake": {"data": [{"key": "plain", "value": "hello-value"}]}}),
    );
    put_secret(&double, "app", "merge-t", &[("theirs", "kept")]);
    let ctl = Running::start(&double, options()).await;
    for (name, policy, interval) in [
        ("owner", "Owner", "1h".to_owned()),
        ("com", "CreateOrMerge", "1h".to_owned()),
        ("orphan", "Orphan", format!("{ORPHAN_INTERVAL_S}s")),
        ("merge", "Merge", "1h".to_owned()),
    ] {
        put_es(
            &double,
            "app",
            name,
            json!({
                "refreshInterval": interval,
                "secretStoreRef": {"name": "fake"},
                "target": {"name": format!("{name}-t"), "creationPolicy": policy},
                "data": [{"secretKey": "v", "remoteRef": {"key": "plain"}}]
            }),
        );
    }
    for name in ["owner", "com", "orphan", "merge"] {
        eventually(&format!("{name} synced"), WAIT, || {
            value(&double, &format!("{name}-t"), "v").as_deref() == Some("hello-value")
                && ready(&double, "app", name).is_some_and(|r| r.0 == "True")
        })
        .await;
    }
    assert_eq!(value(&double, "merge-t", "theirs").as_deref(), Some("kept"));
    let api: Api<Secret> = Api::namespaced(double.client().unwrap(), "app");

    // ---- hand edits: our key changed, a foreign key added ----
    let orphan_synced = right_after_an_orphan_refresh(&double).await;
    for name in ["owner-t", "com-t", "orphan-t", "merge-t"] {
        hand_edit(&api, name, &[("v", "mallory"), ("extra", "x")]).await;
    }
    eventually(
        "Owner, CreateOrMerge and Merge repaired at once",
        WAIT,
        || {
            ["owner-t", "com-t", "merge-t"]
                .iter()
                .all(|s| value(&double, s, "v").as_deref() == Some("hello-value"))
        },
    )
    .await;
    assert_eq!(
        value(&double, "orphan-t", "v").as_deref(),
        Some("mallory"),
        "Orphan targets wait for the next refresh"
    );
    assert_eq!(
        refresh_time(&double, "orphan").as_deref(),
        Some(orphan_synced.as_str())
    );
    // Owner owns the whole Secret; the merging policies keep what others wrote.
    assert_eq!(value(&double, "owner-t", "extra"), None);
    assert_eq!(value(&double, "com-t", "extra").as_deref(), Some("x"));
    assert_eq!(value(&double, "merge-t", "extra").as_deref(), Some("x"));
    assert_eq!(value(&double, "merge-t", "theirs").as_deref(), Some("kept"));
    eventually("Orphan repaired at its next refresh", WAIT, || {
        value(&double, "orphan-t", "v").as_deref() == Some("hello-value")
    })
    .await;
    assert_ne!(
        refresh_time(&double, "orphan").as_deref(),
        Some(orphan_synced.as_str()),
        "by a refresh"
    );

    // ---- deleted targets ----
    let orphan_synced = right_after_an_orphan_refresh(&double).await;
    for name in ["owner-t", "com-t", "orphan-t", "merge-t"] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    eventually("Owner and CreateOrMerge recreated at once", WAIT, || {
        ["owner-t", "com-t"]
            .iter()
            .all(|s| value(&double, s, "v").as_deref() == Some("hello-value"))
    })
    .await;
    eventually("Merge reports the missing target", WAIT, || {
        ready(&double, "app", "merge").is_some_and(|r| r.1 == "SecretMissing")
    })
    .await;
    assert!(
        secret(&double, "app", "orphan-t").is_none(),
        "Orphan targets wait for the next refresh"
    );
    assert_eq!(
        refresh_time(&double, "orphan").as_deref(),
        Some(orphan_synced.as_str())
    );
    let owner = secret(&double, "app", "owner-t").unwrap();
    assert_eq!(
        owner["metadata"]["ownerReferences"][0]["kind"], "ExternalSecret",
        "Owner: controlled again"
    );
    let com = secret(&double, "app", "com-t").unwrap();
    assert!(
        com["metadata"].get("ownerReferences").is_none(),
        "CreateOrMerge: never owned"
    );
    eventually("Orphan recreated at its next refresh", WAIT, || {
        value(&double, "orphan-t", "v").as_deref() == Some("hello-value")
    })
    .await;
    assert_ne!(
        refresh_time(&double, "orphan").as_deref(),
        Some(orphan_synced.as_str())
    );
    // Merge never creates, not even at a refresh or a forced sync.
    let mut merge = es_obj(&double, "app", "merge").unwrap();
    merge["metadata"]["annotations"] = json!({"external-secrets.io/force-sync": "1"});
    double
        .put("external-secrets.io/v1", "externalsecrets", merge)
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        secret(&double, "app", "merge-t").is_none(),
        "Merge never creates"
    );
    assert_eq!(
        ready(&double, "app", "merge").unwrap(),
        (
            "True".into(),
            "SecretMissing".into(),
            "secret will not be created due to CreationPolicy=Merge".into()
        )
    );
    ctl.stop().await;
}
