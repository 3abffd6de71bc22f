//! The ExternalSecret controller with ESO's Fake provider: policies, templates, status,
//! events, drift repair and pruning, ClusterSecretStore conditions — no cloud needed.

use std::time::Duration;

use sealbox_controller::reconcile::external::hash;
use serde_json::{Value, json};

use super::*;

fn fake_store(double: &ApiServer, ns: &str, extra: &[(&str, &str)]) {
    let mut data = vec![
        json!({"key": "app/db", "value": r#"{"user":"admin","password":"p1-secret"}"#}),
        json!({"key": "plain", "value": "hello-value"}),
    ];
    for (k, v) in extra {
        data.push(json!({"key": k, "value": v}));
    }
    put_store(double, ns, "fake", json!({"fake": {"data": data}}));
}

fn managers(live: &Value) -> Vec<String> {
    live["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|m| m["manager"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_policy_templates_status_events_and_drift_repair() {
    let double = cluster().await;
    fake_store(&double, "app", &[]);
    let ctl = Running::start(&double, options()).await;
    let stored = put_es(
        &double,
        "app",
        "db",
        json!({
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "fake"},
            "target": {"name": "db-creds", "template": {
                "mergePolicy": "Merge",
                "metadata": {"labels": {"app.kubernetes.io/part-of": "{{ .user }}-stack"}},
                "data": {"dsn": "postgres://{{ .user }}:{{ .password | urlquery }}@db:5432/app"}
            }},
            "data": [
                {"secretKey": "user", "remoteRef": {"key": "app/db", "property": "user"}},
                {"secretKey": "password", "remoteRef": {"key": "app/db", "property": "password"}}
            ],
            "dataFrom": [{"extract": {"key": "app/db"}, "rewrite": [{"regexp": {"source": "^(.*)$", "target": "raw_$1"}}]}]
        }),
    );
    let uid = stored["metadata"]["uid"].as_str().unwrap().to_owned();
    eventually("db synced", WAIT, || {
        ready(&double, "app", "db").is_some_and(|r| r.0 == "True")
    })
    .await;
    assert_eq!(
        ready(&double, "app", "db").unwrap(),
        ("True".into(), "SecretSynced".into(), "secret synced".into())
    );
    let data = secret_data(&double, "app", "db-creds").unwrap();
    assert_eq!(data["user"], "admin");
    assert_eq!(data["password"], "p1-secret");
    assert_eq!(data["raw_user"], "admin");
    assert_eq!(data["dsn"], "postgres://admin:p1-secret@db:5432/app");
    let live = secret(&double, "app", "db-creds").unwrap();
    assert_eq!(
        live["metadata"]["labels"]["reconcile.external-secrets.io/managed"],
        "true"
    );
    assert_eq!(
        live["metadata"]["labels"]["reconcile.external-secrets.io/created-by"],
        hash::owner_label("app", "db")
    );
    assert_eq!(
        live["metadata"]["labels"]["app.kubernetes.io/part-of"],
        "admin-stack"
    );
    let owner = &live["metadata"]["ownerReferences"][0];
    assert_eq!(
        (
            owner["kind"].as_str(),
            owner["uid"].as_str(),
            owner["controller"].as_bool()
        ),
        (Some("ExternalSecret"), Some(uid.as_str()), Some(true))
    );
    // ESO's data-hash over the data, so ESO would recognise this Secret as valid.
    let entries: Vec<(String, Vec<u8>)> = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect();
    assert_eq!(
        live["metadata"]["annotations"]["reconcile.external-secrets.io/data-hash"],
        hash::data_hash(entries.iter().map(|(k, v)| (k, v.as_slice())))
    );
    assert_eq!(
        managers(&live),
        vec!["externalsecrets.external-secrets.io/db".to_owned()]
    );
    let es = es_obj(&double, "app", "db").unwrap();
    assert!(es["status"]["refreshTime"].is_string());
    assert_eq!(es["status"]["binding"]["name"], "db-creds");
    assert!(
        es["status"]["syncedResourceVersion"]
            .as_str()
            .unwrap()
            .starts_with("1-")
    );
    let created: Vec<Value> = double
        .events_for("ExternalSecret", "db")
        .into_iter()
        .filter(|e| e["reason"] == "Created")
        .collect();
    assert_eq!(created.len(), 1);

    // A quiet period writes nothing (no status hot loop, no re-apply, no second sync from
    // a cache that has not seen the first status write yet), measured right after sync.
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

    // A hand edit is repaired at once (the owned Secret is watched), and reported.
    put_secret(
        &double,
        "app",
        "db-creds",
        &[("user", "mallory"), ("extra", "x")],
    );
    eventually("hand edit repaired", WAIT, || {
        secret_data(&double, "app", "db-creds").is_some_and(|d| {
            d.get("user").map(String::as_str) == Some("admin") && !d.contains_key("extra")
        })
    })
    .await;

    // A changed template: the new key appears, the dropped one is pruned.
    let mut spec = es_obj(&double, "app", "db").unwrap()["spec"].clone();
    spec["target"]["template"]["data"] = json!({"url": "https://{{ .user }}@example"});
    put_es(&double, "app", "db", spec);
    eventually("template change applied", WAIT, || {
        secret_data(&double, "app", "db-creds")
            .is_some_and(|d| d.contains_key("url") && !d.contains_key("dsn"))
    })
    .await;

    // A deleted Secret is recreated at once.
    let client = double.client().unwrap();
    let api: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(client.clone(), "app");
    api.delete("db-creds", &Default::default()).await.unwrap();
    eventually("deleted Secret recreated", WAIT, || {
        secret(&double, "app", "db-creds").is_some()
    })
    .await;

    // No value ever reaches an event or the status.
    for e in double.events(Some("app")) {
        let text = e.to_string();
        assert!(
            !text.contains("p1-secret") && !text.contains("hello-value"),
            "{text}"
        );
    }
    let status = es_obj(&double, "app", "db").unwrap()["status"].to_string();
    assert!(!status.contains("p1-secret"));
    ctl.stop().await;
}

/// Start-up: ExternalSecrets that exist before the controller starts are reconciled only
/// once the store caches have listed (never "store not found"), and without delay: the
/// wait ends on the reflectors' own readiness flag. (kube's `Store::wait_until_ready` once
/// lost this wake-up and the start hung until a timeout; the safety-net bound is 30 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_secrets_present_at_start_up_sync_promptly_and_find_their_stores() {
    let double = cluster().await;
    fake_store(&double, "app", &[]);
    put_cluster_store(
        &double,
        "cluster-fake",
        json!({"provider": {"fake": {"data": [{"key": "k", "value": "from-cluster-store"}]}}}),
    );
    for i in 0..10 {
        put_es(
            &double,
            "app",
            &format!("early-{i}"),
            json!({
                "secretStoreRef": if i % 2 == 0 {
                    json!({"name": "fake"})
                } else {
                    json!({"name": "cluster-fake", "kind": "ClusterSecretStore"})
                },
                "data": [{"secretKey": "v", "remoteRef": {"key": if i % 2 == 0 { "plain" } else { "k" }}}]
            }),
        );
    }
    // The first store lists fail: the store caches fill a moment after the
    // ExternalSecret cache, which a controller that did not wait for them would show.
    double
        .faults()
        .add(sealbox_tests::apiserver::FaultRule::next(
            Some("list"),
            Some("secretstores"),
            500,
            4,
        ));
    let started = std::time::Instant::now();
    let ctl = Running::start(&double, options()).await;
    eventually("every early ExternalSecret synced", WAIT, || {
        (0..10).all(|i| ready(&double, "app", &format!("early-{i}")).is_some_and(|r| r.0 == "True"))
    })
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "start-up took {:?} (the safety-net bound is 30 s)",
        started.elapsed()
    );
    for i in 0..10 {
        let failures: Vec<Value> = double
            .events_for("ExternalSecret", &format!("early-{i}"))
            .into_iter()
            .filter(|e| e["type"] == "Warning")
            .collect();
        assert!(failures.is_empty(), "early-{i}: {failures:?}");
    }
    ctl.stop().await;
}

/// Requests that wrote to `path_end` (a path suffix such as `/externalsecrets/x/status`).
fn writes_to(double: &ApiServer, path_end: &str) -> Vec<String> {
    double
        .requests()
        .iter()
        .filter(|r| r.is_write() && r.path.ends_with(path_end))
        .map(|r| format!("{} {} {}", r.verb, r.path, r.query))
        .collect()
}

/// The Secret write of a sync queues the ExternalSecret again at once (Secret watch). With
/// a watch cache that lags (a real API server under load), that next reconcile reads a
/// copy without the status just written; it must not sync and write status a second time
/// (Bitnami #388/#525 are status loops of this family). Deterministic: every
/// ExternalSecret event reaches the controller 600 ms late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_watch_cache_never_causes_a_second_sync_or_status_write() {
    let double = cluster().await;
    fake_store(&double, "app", &[]);
    double
        .faults()
        .set_watch_lag("externalsecrets", Duration::from_millis(600));
    let ctl = Running::start(&double, options()).await;
    // Retain: status only. Delete: a finalizer patch, then status from the same cached
    // copy (two writes in one reconcile; the cache may catch up with the first only).
    for (name, deletion) in [("retain", "Retain"), ("delete", "Delete")] {
        put_es(
            &double,
            "app",
            name,
            json!({
                "refreshInterval": "1h",
                "secretStoreRef": {"name": "fake"},
                "target": {"name": format!("{name}-creds"), "deletionPolicy": deletion},
                "data": [{"secretKey": "v", "remoteRef": {"key": "plain"}}]
            }),
        );
    }
    for name in ["retain", "delete"] {
        eventually(&format!("{name} synced"), WAIT, || {
            ready(&double, "app", name).is_some_and(|r| r.0 == "True")
        })
        .await;
    }
    // Long enough for every lagged event and any reconcile they queue.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for name in ["retain", "delete"] {
        assert_eq!(
            writes_to(&double, &format!("/externalsecrets/{name}/status")).len(),
            1,
            "{name}: one status write: {:?}",
            writes_to(&double, &format!("/externalsecrets/{name}/status"))
        );
        assert!(
            writes_to(&double, &format!("/secrets/{name}-creds")).is_empty(),
            "{name}: created, never written again"
        );
        let created = double
            .events_for("ExternalSecret", name)
            .into_iter()
            .filter(|e| e["reason"] == "Created")
            .count();
        assert_eq!(created, 1, "{name}: one Created event");
    }
    assert_eq!(
        writes_to(&double, "/namespaces/app/secrets").len(),
        2,
        "one Secret created per ExternalSecret"
    );
    assert_eq!(
        writes_to(&double, "/externalsecrets/delete").len(),
        1,
        "one finalizer patch"
    );
    assert!(writes_to(&double, "/externalsecrets/retain").is_empty());
    // And then nothing at all.
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

/// `syncWindows` gate periodic refreshes only: a closed window keeps the first sync's
/// value while an ungated neighbour refreshes; a malformed window never blocks the first
/// sync (ESO reads it as never open) and is reported with a Warning event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_windows_gate_periodic_refreshes_and_never_the_first_sync() {
    let double = cluster().await;
    fake_store(&double, "app", &[("rotating", "v1")]);
    let ctl = Running::start(&double, options()).await;
    let es = |windows: Option<Value>| {
        let mut spec = json!({
            "refreshInterval": "1s",
            "secretStoreRef": {"name": "fake"},
            "data": [{"secretKey": "v", "remoteRef": {"key": "rotating"}}]
        });
        if let Some(w) = windows {
            spec["syncWindows"] = w;
        }
        spec
    };
    put_es(&double, "app", "ungated", es(None));
    // A deny window that is always open (robfig's @every has no phase).
    put_es(
        &double,
        "app",
        "denied",
        es(Some(
            json!({"kind": "deny", "windows": [{"schedule": "@every 1m", "duration": "1h"}]}),
        )),
    );
    put_es(
        &double,
        "app",
        "malformed",
        es(Some(
            json!({"kind": "allow", "windows": [{"schedule": "every night", "duration": "1h"}]}),
        )),
    );
    for name in ["ungated", "denied", "malformed"] {
        eventually(&format!("{name} synced once"), WAIT, || {
            secret_data(&double, "app", name).is_some_and(|d| d["v"] == "v1")
                && ready(&double, "app", name).is_some_and(|r| r.0 == "True")
        })
        .await;
    }
    let warnings: Vec<Value> = double
        .events_for("ExternalSecret", "malformed")
        .into_iter()
        .filter(|e| e["reason"] == "InvalidSyncWindow")
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["type"], "Warning");
    let note = warnings[0]["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("spec.syncWindows.windows[0].schedule") && note.contains("never open"),
        "{note}"
    );
    assert_eq!(
        ready(&double, "app", "malformed").unwrap().1,
        "SecretSynced",
        "a malformed window is no sync error"
    );

    // The remote value rotates: only the ungated ExternalSecret refreshes.
    fake_store(&double, "app", &[("rotating", "v2")]);
    eventually("ungated refreshed", WAIT, || {
        secret_data(&double, "app", "ungated").is_some_and(|d| d["v"] == "v2")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for name in ["denied", "malformed"] {
        assert_eq!(
            secret_data(&double, "app", name).unwrap()["v"],
            "v1",
            "{name}: periodic refresh gated"
        );
    }
    // A change of the object itself is not gated.
    let mut spec = es_obj(&double, "app", "denied").unwrap()["spec"].clone();
    spec["data"][0]["secretKey"] = json!("w");
    put_es(&double, "app", "denied", spec);
    eventually("denied re-synced on change", WAIT, || {
        secret_data(&double, "app", "denied")
            .is_some_and(|d| d.get("w").map(String::as_str) == Some("v2"))
    })
    .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_missing_delete_and_invalid_policies() {
    let double = cluster().await;
    fake_store(&double, "app", &[("temp", "temporary")]);
    put_secret(&double, "app", "shared", &[("theirs", "kept")]);
    let ctl = Running::start(&double, options()).await;
    put_es(
        &double,
        "app",
        "merge-in",
        json!({
            "secretStoreRef": {"name": "fake"},
            "target": {"name": "shared", "creationPolicy": "Merge"},
            "data": [{"secretKey": "ours", "remoteRef": {"key": "plain"}}]
        }),
    );
    put_es(
        &double,
        "app",
        "merge-missing",
        json!({
            "secretStoreRef": {"name": "fake"},
            "target": {"name": "nowhere", "creationPolicy": "Merge"},
            "data": [{"secretKey": "ours", "remoteRef": {"key": "plain"}}]
        }),
    );
    put_es(
        &double,
        "app",
        "temp",
        json!({
            "secretStoreRef": {"name": "fake"},
            "target": {"deletionPolicy": "Delete"},
            "data": [{"secretKey": "v", "remoteRef": {"key": "temp"}}]
        }),
    );
    put_es(
        &double,
        "app",
        "invalid",
        json!({
            "secretStoreRef": {"name": "fake"},
            "target": {"creationPolicy": "Merge", "deletionPolicy": "Delete"},
            "data": [{"secretKey": "v", "remoteRef": {"key": "plain"}}]
        }),
    );
    eventually("merge-in synced", WAIT, || {
        ready(&double, "app", "merge-in").is_some_and(|r| r.0 == "True")
    })
    .await;
    let data = secret_data(&double, "app", "shared").unwrap();
    assert_eq!(
        (data["theirs"].as_str(), data["ours"].as_str()),
        ("kept", "hello-value")
    );
    let shared = secret(&double, "app", "shared").unwrap();
    assert!(
        shared["metadata"]["ownerReferences"].is_null(),
        "Merge never owns"
    );
    eventually("merge-missing reported", WAIT, || {
        ready(&double, "app", "merge-missing").is_some_and(|r| r.1 == "SecretMissing")
    })
    .await;
    assert!(secret(&double, "app", "nowhere").is_none());
    eventually("invalid reported", WAIT, || {
        ready(&double, "app", "invalid").is_some_and(|r| r.0 == "False")
    })
    .await;
    let r = ready(&double, "app", "invalid").unwrap();
    assert_eq!(r.1, "SecretSyncedError");
    assert!(r.2.contains("deletionPolicy=Delete"), "{}", r.2);
    eventually("temp synced", WAIT, || {
        secret_data(&double, "app", "temp").is_some()
    })
    .await;
    // The ExternalSecret carries our finalizer (deletionPolicy Delete).
    let temp = es_obj(&double, "app", "temp").unwrap();
    assert_eq!(
        temp["metadata"]["finalizers"][0],
        "externalsecrets.external-secrets.io/externalsecret-cleanup"
    );

    // The remote secret disappears; force-sync: deletionPolicy Delete removes the Secret.
    // The store and the ExternalSecret are two watches: a force-sync can reach the
    // controller before the store change does (it then reads the old store, as ESO
    // would), so force-sync again until the new store is seen.
    fake_store(&double, "app", &[]);
    let deleted = || {
        secret(&double, "app", "temp").is_none()
            && ready(&double, "app", "temp").is_some_and(|r| r.1 == "SecretDeleted")
    };
    for attempt in 0.. {
        let mut temp = es_obj(&double, "app", "temp").unwrap();
        temp["metadata"]["annotations"] =
            json!({"external-secrets.io/force-sync": attempt.to_string()});
        double
            .put("external-secrets.io/v1", "externalsecrets", temp)
            .unwrap();
        let until = tokio::time::Instant::now() + Duration::from_secs(3);
        while !deleted() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if deleted() {
            break;
        }
        assert!(attempt < 20, "temp deleted by deletionPolicy");
    }
    assert!(
        !double
            .events_for("ExternalSecret", "temp")
            .iter()
            .filter(|e| e["reason"] == "MissingProviderSecret")
            .collect::<Vec<_>>()
            .is_empty()
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_conditions_refuse_other_namespaces_and_stores_report_ready() {
    let double = cluster().await;
    put_cluster_store(
        &double,
        "shared-fake",
        json!({
            "provider": {"fake": {"data": [{"key": "k", "value": "cluster-value"}]}},
            "conditions": [{"namespaces": ["team-a"]}, {"namespaceRegexes": ["^ops$"]}]
        }),
    );
    put_store(
        &double,
        "app",
        "broken",
        json!({"gcpsm": {"projectID": "p"}}),
    );
    let ctl = Running::start(&double, options()).await;
    for ns in ["team-a", "team-b", "ops"] {
        put_es(
            &double,
            ns,
            "from-cluster",
            json!({
                "secretStoreRef": {"name": "shared-fake", "kind": "ClusterSecretStore"},
                "data": [{"secretKey": "k", "remoteRef": {"key": "k"}}]
            }),
        );
    }
    eventually("team-a synced", WAIT, || {
        ready(&double, "team-a", "from-cluster").is_some_and(|r| r.0 == "True")
    })
    .await;
    eventually("ops synced", WAIT, || {
        ready(&double, "ops", "from-cluster").is_some_and(|r| r.0 == "True")
    })
    .await;
    eventually("team-b refused", WAIT, || {
        ready(&double, "team-b", "from-cluster").is_some_and(|r| r.0 == "False")
    })
    .await;
    let r = ready(&double, "team-b", "from-cluster").unwrap();
    assert!(
        r.2.contains("is not allowed from namespace \"team-b\": denied by spec.condition"),
        "{}",
        r.2
    );
    assert!(secret(&double, "team-b", "from-cluster").is_none());
    // Store conditions.
    let store_ready = |kind: &str, ns: Option<&str>, name: &str| -> Option<(String, String)> {
        let s = double.get("external-secrets.io/v1", kind, ns, name)?;
        let c = s.pointer("/status/conditions/0")?.clone();
        Some((
            c["status"].as_str()?.to_owned(),
            c["reason"].as_str()?.to_owned(),
        ))
    };
    eventually("cluster store Valid", WAIT, || {
        store_ready("clustersecretstores", None, "shared-fake")
            == Some(("True".into(), "Valid".into()))
    })
    .await;
    eventually("unsupported store refused", WAIT, || {
        store_ready("secretstores", Some("app"), "broken")
            == Some(("False".into(), "InvalidProviderConfig".into()))
    })
    .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_external_secret_fans_out_by_namespace_labels() {
    let double = cluster().await;
    double
        .put(
            "v1",
            "namespaces",
            json!({"metadata": {"name": "blue-1", "labels": {"team": "blue"}}}),
        )
        .unwrap();
    double
        .put(
            "v1",
            "namespaces",
            json!({"metadata": {"name": "green-1", "labels": {"team": "green"}}}),
        )
        .unwrap();
    put_cluster_store(
        &double,
        "fake",
        json!({"provider": {"fake": {"data": [{"key": "k", "value": "fanned-out"}]}}}),
    );
    let ctl = Running::start(&double, options()).await;
    double
        .put(
            "external-secrets.io/v1",
            "clusterexternalsecrets",
            json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ClusterExternalSecret",
                "metadata": {"name": "shared"},
                "spec": {
                    "externalSecretName": "shared-es",
                    "externalSecretMetadata": {"labels": {"from": "ces"}},
                    "namespaceSelectors": [{"matchLabels": {"team": "blue"}}],
                    "externalSecretSpec": {
                        "secretStoreRef": {"name": "fake", "kind": "ClusterSecretStore"},
                        "data": [{"secretKey": "k", "remoteRef": {"key": "k"}}]
                    }
                }
            }),
        )
        .unwrap();
    eventually("ExternalSecret made in blue-1 and synced", WAIT, || {
        secret_data(&double, "blue-1", "shared-es").is_some_and(|d| d["k"] == "fanned-out")
    })
    .await;
    assert!(es_obj(&double, "green-1", "shared-es").is_none());
    let es = es_obj(&double, "blue-1", "shared-es").unwrap();
    assert_eq!(es["metadata"]["labels"]["from"], "ces");
    assert_eq!(
        es["metadata"]["ownerReferences"][0]["kind"],
        "ClusterExternalSecret"
    );
    // A namespace that starts matching gets its ExternalSecret; one that stops loses it.
    double
        .put(
            "v1",
            "namespaces",
            json!({"metadata": {"name": "green-1", "labels": {"team": "blue"}}}),
        )
        .unwrap();
    double
        .put(
            "v1",
            "namespaces",
            json!({"metadata": {"name": "blue-1", "labels": {"team": "red"}}}),
        )
        .unwrap();
    eventually("fan-out follows the labels", WAIT, || {
        es_obj(&double, "green-1", "shared-es").is_some()
            && es_obj(&double, "blue-1", "shared-es").is_none()
    })
    .await;
    eventually("status lists the provisioned namespaces", WAIT, || {
        double
            .get(
                "external-secrets.io/v1",
                "clusterexternalsecrets",
                None,
                "shared",
            )
            .is_some_and(|c| {
                c["status"]["provisionedNamespaces"] == json!(["green-1"])
                    && c["status"]["conditions"][0]["status"] == "True"
            })
    })
    .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secret_writes_to_the_store_and_an_external_secret_reads_it_back() {
    let double = cluster().await;
    fake_store(&double, "app", &[]);
    put_secret(
        &double,
        "app",
        "source",
        &[("password", "pushed-pw"), ("user", "pusher")],
    );
    let ctl = Running::start(&double, options()).await;
    double
        .put("external-secrets.io/v1alpha1", "pushsecrets", json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
            "metadata": {"name": "push", "namespace": "app"},
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRefs": [{"name": "fake"}],
                "selector": {"secret": {"name": "source"}},
                "data": [{"match": {"secretKey": "password", "remoteRef": {"remoteKey": "pushed/db"}}}]
            }
        }))
        .unwrap();
    eventually("PushSecret synced", WAIT, || {
        double
            .get(
                "external-secrets.io/v1alpha1",
                "pushsecrets",
                Some("app"),
                "push",
            )
            .is_some_and(|p| p["status"]["conditions"][0]["reason"] == "Synced")
    })
    .await;
    let ps = double
        .get(
            "external-secrets.io/v1alpha1",
            "pushsecrets",
            Some("app"),
            "push",
        )
        .unwrap();
    assert!(ps["status"]["syncedPushSecrets"]["SecretStore/fake"]["pushed/db"].is_object());
    assert!(!ps["status"].to_string().contains("pushed-pw"));
    put_es(
        &double,
        "app",
        "reader",
        json!({
            "secretStoreRef": {"name": "fake"},
            "data": [{"secretKey": "pw", "remoteRef": {"key": "pushed/db"}}]
        }),
    );
    eventually("the pushed value is read back", WAIT, || {
        secret_data(&double, "app", "reader").is_some_and(|d| d["pw"] == "pushed-pw")
    })
    .await;
    ctl.stop().await;
}
