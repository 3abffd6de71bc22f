//! ExternalSecrets against AWS Secrets Manager (moto): call economy counted with moto's
//! request recorder, and an outage that must neither blank nor delete a Secret.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sealbox_providers::aws::{AwsAuth, AwsConfig};
use sealbox_providers::{
    LayerConfig, Metrics, PushRef, RequestLayer, SecretValue, StoreClient, StoreConfig,
};
use serde_json::{Value, json};

use super::*;

const STRING_FORMAT: &str = r#"{"apiVersion":"kubernetes.external-secrets.io/v1alpha1","kind":"PushSecretMetadata","spec":{"secretPushFormat":"string"}}"#;

/// A provider client used only to seed moto (not the controller under test).
async fn seeder(url: &str) -> StoreClient {
    StoreClient::connect(
        "seeder",
        StoreConfig::Aws(AwsConfig {
            region: "us-east-1".into(),
            auth: AwsAuth::Static {
                access_key_id: "test".into(),
                secret_access_key: "test".into(),
                session_token: None,
            },
            endpoint_url: Some(url.to_owned()),
            ..AwsConfig::default()
        }),
        RequestLayer::new(LayerConfig::default(), Metrics::default()),
    )
    .await
    .expect("seeder")
}

async fn seed(client: &StoreClient, name: &str, value: &Value) {
    let metadata: Value = serde_json::from_str(STRING_FORMAT).unwrap();
    client
        .push(
            &PushRef::key(name),
            &SecretValue::from_text(value.to_string()),
            Some(&metadata),
        )
        .await
        .unwrap_or_else(|e| panic!("seeding {name}: {e}"));
}

fn aws_cluster_store(double: &ApiServer, name: &str) {
    put_secret(
        double,
        "ops",
        "aws-creds",
        &[("id", "test"), ("secret", "test")],
    );
    put_cluster_store(
        double,
        name,
        json!({"provider": {"aws": {
            "service": "SecretsManager",
            "region": "us-east-1",
            "auth": {"secretRef": {
                "accessKeyIDSecretRef": {"name": "aws-creds", "namespace": "ops", "key": "id"},
                "secretAccessKeySecretRef": {"name": "aws-creds", "namespace": "ops", "key": "secret"}
            }}
        }}}),
    );
}

struct MotoRecorder {
    url: String,
}

impl MotoRecorder {
    async fn post(&self, action: &str) {
        let (status, body) = http(
            "POST",
            &format!("{}/moto-api/recorder/{action}", self.url),
            &[],
            None,
        )
        .await;
        assert!(
            (200..300).contains(&status),
            "recorder {action}: {status} {body}"
        );
    }

    async fn start(&self) {
        self.post("stop-recording").await;
        self.post("reset-recording").await;
        self.post("start-recording").await;
    }

    /// Secrets Manager operations recorded since `start`, by name.
    async fn operations(&self) -> BTreeMap<String, usize> {
        let (_, text) = http(
            "GET",
            &format!("{}/moto-api/recorder/download-recording", self.url),
            &[],
            None,
        )
        .await;
        let mut counts = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let request: Value = serde_json::from_str(line).expect("recording line");
            let op = request["headers"]["X-Amz-Target"]
                .as_str()
                .unwrap_or("unknown")
                .trim_start_matches("secretsmanager.")
                .to_owned();
            *counts.entry(op).or_default() += 1;
        }
        counts
    }
}

fn refresh_time(double: &ApiServer, ns: &str, name: &str) -> Option<String> {
    es_obj(double, ns, name)?["status"]["refreshTime"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_external_secrets_over_hundred_aws_secrets_cost_five_calls_per_cycle() {
    let _lock = ExclusiveLock::take("eso-moto-recorder");
    let url = peer_script("moto", "start", Some(MOTO_RECORDER_PORT));
    let (status, _) = http("POST", &format!("{url}/moto-api/reset"), &[], None).await;
    assert_eq!(status, 200);
    let seeder = seeder(&url).await;
    for i in 0..100 {
        seed(
            &seeder,
            &format!("econ/s{i}"),
            &json!({"user": format!("user-{i}"), "password": format!("pw-{i}")}),
        )
        .await;
    }
    let recorder = MotoRecorder { url: url.clone() };
    let double = cluster().await;
    aws_cluster_store(&double, "aws");
    let namespaces = ["app", "team-a", "team-b", "ops"];
    for i in 0..1000 {
        let ns = namespaces[i % namespaces.len()];
        put_es(
            &double,
            ns,
            &format!("es-{i}"),
            json!({
                "refreshInterval": "30s",
                "secretStoreRef": {"name": "aws", "kind": "ClusterSecretStore"},
                "data": [
                    {"secretKey": "user", "remoteRef": {"key": format!("econ/s{}", i % 100), "property": "user"}},
                    {"secretKey": "password", "remoteRef": {"key": format!("econ/s{}", i % 100), "property": "password"}}
                ]
            }),
        );
    }
    recorder.start().await;
    let mut opts = options();
    opts.provider.aws_endpoint_url = Some(url.clone());
    opts.layer = LayerConfig {
        ttl: Duration::from_secs(20),
        ..LayerConfig::default()
    };
    let started = Instant::now();
    let ctl = Running::start(&double, opts).await;
    let all_synced = |double: &ApiServer| {
        (0..1000).all(|i| {
            ready(double, namespaces[i % namespaces.len()], &format!("es-{i}"))
                .is_some_and(|r| r.0 == "True")
        })
    };
    eventually(
        "1000 ExternalSecrets synced",
        Duration::from_secs(240),
        || all_synced(&double),
    )
    .await;
    let first_sync = started.elapsed();
    let first = recorder.operations().await;
    eprintln!("first cycle: {first:?} in {first_sync:?}");
    for i in [0usize, 1, 99, 100, 555, 999] {
        let d = secret_data(
            &double,
            namespaces[i % namespaces.len()],
            &format!("es-{i}"),
        )
        .unwrap();
        assert_eq!(d["user"], format!("user-{}", i % 100));
        assert_eq!(d["password"], format!("pw-{}", i % 100));
    }
    let total: usize = first.values().sum();
    assert!(total <= 5, "first cycle cost {total} calls: {first:?}");

    // The next periodic cycle: every ExternalSecret refreshes once more (the cache from
    // the first cycle has expired), again for at most 5 calls.
    let before: Vec<Option<String>> = (0..1000)
        .map(|i| refresh_time(&double, namespaces[i % 4], &format!("es-{i}")))
        .collect();
    recorder.start().await;
    eventually(
        "1000 ExternalSecrets refreshed again",
        Duration::from_secs(240),
        || {
            (0..1000)
                .all(|i| refresh_time(&double, namespaces[i % 4], &format!("es-{i}")) != before[i])
        },
    )
    .await;
    let second = recorder.operations().await;
    eprintln!("second cycle: {second:?}");
    let total: usize = second.values().sum();
    assert!(
        total >= 1,
        "the second cycle must read the store again (cache expired)"
    );
    assert!(total <= 5, "second cycle cost {total} calls: {second:?}");
    assert_eq!(
        ctl.calls("AWS/SecretsManager", "GetSecretValue"),
        0,
        "everything was batched"
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_outage_keeps_secrets_and_recovers_by_itself() {
    let _lock = ExclusiveLock::take("eso-moto-outage");
    let url = peer_script("moto", "start", Some(MOTO_OUTAGE_PORT));
    http("POST", &format!("{url}/moto-api/reset"), &[], None).await;
    seed(
        &seeder(&url).await,
        "outage/db",
        &json!({"password": "before-outage"}),
    )
    .await;
    let double = cluster().await;
    aws_cluster_store(&double, "aws");
    for i in 0..5 {
        put_es(
            &double,
            "app",
            &format!("db-{i}"),
            json!({
                "refreshInterval": "2s",
                "secretStoreRef": {"name": "aws", "kind": "ClusterSecretStore"},
                "data": [{"secretKey": "password", "remoteRef": {"key": "outage/db", "property": "password"}}]
            }),
        );
    }
    let mut opts = options();
    opts.provider.aws_endpoint_url = Some(url.clone());
    opts.layer = LayerConfig {
        ttl: Duration::from_millis(500),
        ..LayerConfig::default()
    };
    let ctl = Running::start(&double, opts).await;
    eventually("synced before the outage", WAIT, || {
        (0..5).all(|i| ready(&double, "app", &format!("db-{i}")).is_some_and(|r| r.0 == "True"))
    })
    .await;
    let rvs: Vec<Value> = (0..5)
        .map(|i| {
            secret(&double, "app", &format!("db-{i}")).unwrap()["metadata"]["resourceVersion"]
                .clone()
        })
        .collect();

    peer_script("moto", "stop", Some(MOTO_OUTAGE_PORT));
    eventually("Ready=False during the outage", WAIT, || {
        (0..5).all(|i| ready(&double, "app", &format!("db-{i}")).is_some_and(|r| r.0 == "False"))
    })
    .await;
    let r = ready(&double, "app", "db-0").unwrap();
    assert_eq!(r.1, "SecretSyncedError");
    assert!(
        r.2.starts_with("could not get secret data from provider"),
        "{}",
        r.2
    );
    // Keep failing for a while: the Secrets keep their last good value, untouched.
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (i, rv) in rvs.iter().enumerate() {
        let live =
            secret(&double, "app", &format!("db-{i}")).expect("Secret kept during the outage");
        assert_eq!(
            &live["metadata"]["resourceVersion"], rv,
            "no write to the Secret during the outage"
        );
        assert_eq!(
            secret_data(&double, "app", &format!("db-{i}")).unwrap()["password"],
            "before-outage"
        );
    }

    // Restart moto (it keeps state in memory, so the remote secret is seeded again — the
    // cluster side gets no manual step): everything recovers by itself.
    let url = peer_script("moto", "start", Some(MOTO_OUTAGE_PORT));
    seed(
        &seeder(&url).await,
        "outage/db",
        &json!({"password": "after-outage"}),
    )
    .await;
    eventually("recovered after the outage", WAIT, || {
        (0..5).all(|i| {
            ready(&double, "app", &format!("db-{i}")).is_some_and(|r| r.0 == "True")
                && secret_data(&double, "app", &format!("db-{i}"))
                    .is_some_and(|d| d["password"] == "after-outage")
        })
    })
    .await;
    let warnings: Vec<Value> = double
        .events_for("ExternalSecret", "db-0")
        .into_iter()
        .filter(|e| e["reason"] == "UpdateFailed")
        .collect();
    assert!(!warnings.is_empty(), "the outage is reported as an event");
    assert!(
        warnings.len() <= 3,
        "retries do not spam events: {}",
        warnings.len()
    );
    let _ = Arc::clone(&ctl.metrics);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secret_to_moto_and_delete_with_deletion_policy() {
    let url = match std::env::var("SEALBOX_TEST_MOTO_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => peer_script("moto", "start", None),
    };
    let remote = unique("pushed");
    let double = cluster().await;
    aws_cluster_store(&double, "aws");
    put_secret(&double, "app", "source", &[("token", "push-to-aws-value")]);
    let mut opts = options();
    opts.provider.aws_endpoint_url = Some(url.clone());
    let ctl = Running::start(&double, opts).await;
    double
        .put(
            "external-secrets.io/v1alpha1",
            "pushsecrets",
            json!({
                "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
                "metadata": {"name": "push", "namespace": "app"},
                "spec": {
                    "deletionPolicy": "Delete",
                    "secretStoreRefs": [{"name": "aws", "kind": "ClusterSecretStore"}],
                    "selector": {"secret": {"name": "source"}},
                    "data": [{"match": {"secretKey": "token", "remoteRef": {"remoteKey": remote}},
                              "metadata": serde_json::from_str::<Value>(STRING_FORMAT).unwrap()}]
                }
            }),
        )
        .unwrap();
    eventually("PushSecret synced to moto", WAIT, || {
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
    let reader = seeder(&url).await;
    let value = reader
        .get(&sealbox_providers::RemoteRef::key(remote.clone()))
        .await
        .unwrap();
    assert_eq!(value.expose(), b"push-to-aws-value");
    // Deleting the PushSecret deletes the remote secret (deletionPolicy: Delete).
    let api: kube::Api<sealbox_controller::api::external::PushSecret> =
        kube::Api::namespaced(double.client().unwrap(), "app");
    api.delete("push", &Default::default()).await.unwrap();
    eventually("PushSecret gone", WAIT, || {
        double
            .get(
                "external-secrets.io/v1alpha1",
                "pushsecrets",
                Some("app"),
                "push",
            )
            .is_none()
    })
    .await;
    let fresh = seeder(&url).await;
    let gone = fresh.get(&sealbox_providers::RemoteRef::key(remote)).await;
    assert!(
        gone.is_err(),
        "the remote secret is deleted (scheduled for deletion)"
    );
    ctl.stop().await;
}
