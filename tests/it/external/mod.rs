//! End-to-end tests of the External Secrets controllers (in process) against the
//! Kubernetes API double and the real peers: the fake provider, moto (AWS Secrets
//! Manager, with its request recorder) and OpenBao (Vault API).
//!
//! Peers come from `scripts/peers/*.sh` (`scripts/test` exports `SEALBOX_TEST_MOTO_URL`
//! and `SEALBOX_TEST_VAULT_ADDR`); tests that count calls or stop a server start their own
//! on fixed ports (45672, 45673) under a cross-process lock. A missing peer that cannot be
//! started fails the test loudly.

mod aws;
mod binary;
mod fake;
mod priority;
mod targets;
mod vault;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use sealbox_controller::api::external::crds;
use sealbox_controller::run::external::metrics::EsoMetrics;
use sealbox_controller::run::external::{self as external, ExternalOptions};
use sealbox_tests::apiserver::ApiServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;

/// Fixed ports of the servers these tests own.
pub const MOTO_RECORDER_PORT: u16 = 45672;
/// moto stopped and restarted by the outage test.
pub const MOTO_OUTAGE_PORT: u16 = 45673;

pub const WAIT: Duration = Duration::from_secs(90);

/// A double with the ESO CRDs and a few namespaces.
pub async fn cluster() -> ApiServer {
    let double = ApiServer::start().await.expect("double");
    for crd in crds() {
        double
            .install_crd(serde_json::to_value(crd).unwrap())
            .expect("CRD");
    }
    for ns in ["app", "team-a", "team-b", "ops"] {
        double.create_namespace(ns).unwrap();
    }
    double
}

/// The External Secrets controllers running in this process; dropping stops them.
pub struct Running {
    pub metrics: Arc<EsoMetrics>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn start(double: &ApiServer, options: ExternalOptions) -> Running {
        if let Ok(filter) = std::env::var("SEALBOX_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        }
        .boxed()
        .shared();
        let metrics = Arc::new(EsoMetrics::default());
        let task = tokio::spawn(external::run(
            double.client().unwrap(),
            options,
            metrics.clone(),
            shutdown,
        ));
        Running {
            metrics,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(30), t)
                .await
                .expect("graceful shutdown in time")
                .expect("task");
        }
    }

    /// `externalsecret_provider_api_calls_count` for one provider and call.
    pub fn calls(&self, provider: &str, call: &str) -> i64 {
        ["success", "error"]
            .iter()
            .map(|status| {
                self.metrics
                    .api_calls
                    .get_or_create(&external::metrics::CallLabels {
                        provider: provider.into(),
                        call: call.into(),
                        status: (*status).into(),
                    })
                    .get()
            })
            .sum()
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

/// Options for tests: fast store re-validation and short backoff.
pub fn options() -> ExternalOptions {
    ExternalOptions {
        store_refresh: Duration::from_secs(2),
        backoff_cap: Duration::from_secs(3),
        ..ExternalOptions::default()
    }
}

pub fn es_obj(double: &ApiServer, ns: &str, name: &str) -> Option<Value> {
    double.get("external-secrets.io/v1", "externalsecrets", Some(ns), name)
}

pub fn secret(double: &ApiServer, ns: &str, name: &str) -> Option<Value> {
    double.get("v1", "secrets", Some(ns), name)
}

/// The decoded data of a Secret.
pub fn secret_data(double: &ApiServer, ns: &str, name: &str) -> Option<BTreeMap<String, String>> {
    use base64::Engine as _;
    let s = secret(double, ns, name)?;
    Some(
        s["data"]
            .as_object()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.as_str().unwrap_or_default())
                    .unwrap();
                (k, String::from_utf8_lossy(&bytes).into_owned())
            })
            .collect(),
    )
}

/// The Ready condition: (status, reason, message).
pub fn ready(double: &ApiServer, ns: &str, name: &str) -> Option<(String, String, String)> {
    let es = es_obj(double, ns, name)?;
    let c = es
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?
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
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn put_es(double: &ApiServer, ns: &str, name: &str, spec: Value) -> Value {
    double
        .put(
            "external-secrets.io/v1",
            "externalsecrets",
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                   "metadata": {"name": name, "namespace": ns}, "spec": spec}),
        )
        .expect("ExternalSecret stored")
}

pub fn put_store(double: &ApiServer, ns: &str, name: &str, provider: Value) -> Value {
    double
        .put(
            "external-secrets.io/v1",
            "secretstores",
            json!({"apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
                   "metadata": {"name": name, "namespace": ns}, "spec": {"provider": provider}}),
        )
        .expect("SecretStore stored")
}

pub fn put_cluster_store(double: &ApiServer, name: &str, spec: Value) -> Value {
    double
        .put(
            "external-secrets.io/v1",
            "clustersecretstores",
            json!({"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                   "metadata": {"name": name}, "spec": spec}),
        )
        .expect("ClusterSecretStore stored")
}

pub fn put_secret(double: &ApiServer, ns: &str, name: &str, data: &[(&str, &str)]) {
    use base64::Engine as _;
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                json!(base64::engine::general_purpose::STANDARD.encode(v)),
            )
        })
        .collect();
    double
        .put(
            "v1",
            "secrets",
            json!({"metadata": {"name": name, "namespace": ns}, "data": data}),
        )
        .expect("Secret stored");
}

// ----- peers -----

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `scripts/peers/<peer>.sh <command> <port>`; stdout (the URL).
pub fn peer_script(peer: &str, command: &str, port: Option<u16>) -> String {
    let script = repo_root().join("scripts/peers").join(format!("{peer}.sh"));
    let mut cmd = Command::new("bash");
    cmd.arg(&script).arg(command);
    if let Some(port) = port {
        cmd.arg(port.to_string());
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run scripts/test", script.display()));
    assert!(
        output.status.success(),
        "{peer} could not be {command}ed by {} — run scripts/test, which installs and starts the peers.\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The shared OpenBao server (from scripts/test, else started) and its root token.
pub fn vault_addr() -> (String, String) {
    let addr = match std::env::var("SEALBOX_TEST_VAULT_ADDR") {
        Ok(a) if !a.is_empty() => a,
        _ => peer_script("openbao", "start", None),
    };
    let token = std::env::var("SEALBOX_TEST_VAULT_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "root".into());
    (addr, token)
}

/// A cross-process exclusive lock (tests owning a fixed-port server).
pub struct ExclusiveLock(File);

impl ExclusiveLock {
    pub fn take(name: &str) -> Self {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.lock"));
        let file = File::create(&path).expect("lock file");
        file.lock().expect("lock");
        Self(file)
    }
}

impl Drop for ExclusiveLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// A minimal HTTP/1.0 client (plain HTTP on 127.0.0.1): (status, body).
pub async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n",
        payload.len()
    );
    if body.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&payload);
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
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

/// A TCP proxy to `upstream` that holds every chunk the client sends for `latency` (each
/// HTTP request is one or a few chunks). Stops with the test's runtime.
pub async fn latency_proxy(upstream: String, latency: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    return;
                };
                let (mut client_rx, mut client_tx) = client.into_split();
                let (mut server_rx, mut server_tx) = server.into_split();
                let requests = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match client_rx.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        tokio::time::sleep(latency).await;
                        if server_tx.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = server_tx.shutdown().await;
                };
                let answers = async move {
                    let _ = tokio::io::copy(&mut server_rx, &mut client_tx).await;
                    let _ = client_tx.shutdown().await;
                };
                tokio::join!(requests, answers);
            });
        }
    });
    format!("http://{addr}")
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
