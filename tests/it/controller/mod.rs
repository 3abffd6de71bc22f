//! End-to-end tests of the sealbox controller against the Kubernetes API double: in-process
//! runs (fast, many scenarios) and the real `sealbox controller` binary as a child process
//! (restart, logs, signals).

pub mod binary;
mod cli;
mod scenarios;

use std::collections::BTreeMap;
use std::path::PathBuf;

use std::time::Duration;

use jiff::SignedDuration;
use kube::CustomResourceExt as _;
use sealbox_controller::api::{SealedSecret, parse_documents};
use sealbox_controller::keystore::KeyOrder;
use sealbox_controller::keystore::rotation::RotationConfig;
use sealbox_controller::run::{self, Config, Handles};
use sealbox_keys::sealing::{KeySize, RotationPolicy};
use sealbox_tests::apiserver::ApiServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{mpsc, oneshot};

/// The fixture directory (copied from the shared set).
pub fn fixtures() -> PathBuf {
    std::env::var_os("SEALBOX_SEALED_SECRETS_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/sealed-secrets"
            ))
        })
}

pub fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).expect("fixture file")
}

pub fn expected() -> Value {
    serde_json::from_str(&read_fixture("expected.json")).expect("expected.json")
}

/// Every plaintext of the fixture set long enough to be recognisable in a log line.
pub fn plaintexts() -> Vec<String> {
    let mut out = Vec::new();
    for m in expected()["manifests"].as_array().unwrap() {
        for (_, item) in m["items"].as_object().cloned().unwrap_or_default() {
            if let Some(p) = item["plaintext_utf8"].as_str()
                && p.len() >= 5
            {
                out.push(p.to_owned());
            }
        }
    }
    out
}

/// A double with the SealedSecret CRD, the fixture namespaces and (optionally) the
/// Bitnami key backup restored into kube-system.
pub async fn cluster(restore_backup: bool) -> ApiServer {
    let double = ApiServer::start().await.expect("double");
    double
        .install_crd(serde_json::to_value(SealedSecret::crd()).unwrap())
        .expect("CRD");
    for ns in ["demo", "team-a", "team-b", "team-z", "shared"] {
        double.create_namespace(ns).unwrap();
    }
    if restore_backup {
        restore_keys(&double, None);
    }
    double
}

/// Restore the fixture key backup (`kubectl apply -f backup.yaml`), optionally only the
/// Secret with this index.
pub fn restore_keys(double: &ApiServer, only: Option<usize>) {
    let docs = parse_documents("backup", &read_fixture("sealing-keys-backup.yaml")).unwrap();
    let items = docs[0].value["items"].as_array().unwrap();
    for (i, item) in items.iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        double
            .put("v1", "secrets", item.clone())
            .expect("key Secret");
    }
}

/// Put every SealedSecret document of a fixture file into the double (namespace
/// `default` when the manifest has none). Returns the stored objects.
pub fn apply_fixture(double: &ApiServer, file: &str) -> Vec<Value> {
    let docs = parse_documents(file, &read_fixture(file)).unwrap();
    docs.into_iter()
        .map(|d| {
            let mut v = d.value;
            if v.pointer("/metadata/namespace").is_none() {
                v["metadata"]["namespace"] = json!("default");
            }
            double
                .put("bitnami.com/v1alpha1", "sealedsecrets", v)
                .expect("stored")
        })
        .collect()
}

pub fn secret(double: &ApiServer, ns: &str, name: &str) -> Option<Value> {
    double.get("v1", "secrets", Some(ns), name)
}

pub fn sealed(double: &ApiServer, ns: &str, name: &str) -> Option<Value> {
    double.get("bitnami.com/v1alpha1", "sealedsecrets", Some(ns), name)
}

/// The Synced condition of a SealedSecret: (status, reason, message).
pub fn synced(double: &ApiServer, ns: &str, name: &str) -> Option<(String, String, String)> {
    let ss = sealed(double, ns, name)?;
    let c = ss
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Synced")?
        .clone();
    Some((
        c["status"].as_str().unwrap_or("").to_owned(),
        c["reason"].as_str().unwrap_or("").to_owned(),
        c["message"].as_str().unwrap_or("").to_owned(),
    ))
}

pub async fn eventually<F: FnMut() -> bool>(what: &str, timeout: Duration, mut f: F) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if f() {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Controller settings for tests: all namespaces, keys in kube-system, 2048-bit new keys
/// (never 4096 in tests), ephemeral ports.
pub fn test_config() -> Config {
    Config {
        namespace: "kube-system".into(),
        all_namespaces: true,
        additional_namespaces: vec![],
        label_selector: None,
        listen_addr: "127.0.0.1:0".into(),
        listen_metrics_addr: "127.0.0.1:0".into(),
        accept_deprecated_v1_data: true,
        update_status: true,
        skip_recreate: false,
        rotation: RotationConfig {
            namespace: "kube-system".into(),
            policy: RotationPolicy {
                renew_period: None,
                cutoff: None,
                key_ttl: SignedDuration::from_hours(87_600),
                key_size: KeySize::Rsa2048,
                name_prefix: "sealed-secrets-key".into(),
            },
            common_name: None,
            labels: BTreeMap::new(),
            annotations: BTreeMap::new(),
        },
        key_order: KeyOrder::CertNotBefore,
        rate_limit: 100,
        rate_limit_burst: 100,
        workers: 8,
        unseal_threads: 2,
        resync_period: None,
        leader_elect: false,
        lease_name: "sealbox-controller".into(),
        lease_duration: Duration::from_secs(15),
        identity: "test-controller".into(),
        version: "test".into(),
    }
}

/// An in-process controller; dropping it stops it.
pub struct Running {
    pub handles: Handles,
    pub rotate: mpsc::Sender<()>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), run::RunError>>>,
}

impl Running {
    pub async fn start(double: &ApiServer, config: Config) -> Running {
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (rotate_tx, rotate_rx) = mpsc::channel(1);
        let (handles_tx, handles_rx) = oneshot::channel();
        let client = double.client().unwrap();
        let task = tokio::spawn(run::run(
            config,
            client,
            async move {
                let _ = stop_rx.await;
            },
            rotate_rx,
            Some(handles_tx),
        ));
        let handles = handles_rx.await.expect("controller started");
        Running {
            handles,
            rotate: rotate_tx,
            stop: Some(stop_tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let result = tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .expect("graceful shutdown in time")
                .expect("task");
            result.expect("clean exit");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// A minimal HTTP/1.0 request to a local server: (status, body).
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    // Not listening (yet): status 0.
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return (0, String::new());
    };
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: localhost\r\nContent-Length: {}\r\nContent-Type: application/yaml\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// Value of a metric line (first sample whose line starts with `prefix`).
pub fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
