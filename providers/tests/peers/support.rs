//! Finding/starting the peers, unique names, cross-process locks, moto's recorder, an
//! OpenBao admin client and JWT signing.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};

/// Default ports of the servers these tests start themselves (overridable by env).
pub const MOTO_SHARED_PORT: u16 = 45661;
pub const MOTO_RECORDER_PORT: u16 = 45662;
pub const MOTO_OUTAGE_PORT: u16 = 45663;
pub const BAO_SHARED_PORT: u16 = 48200;
pub const BAO_OUTAGE_PORT: u16 = 48210;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn port_from_env(var: &str, default: u16) -> u16 {
    std::env::var(var)
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(default)
}

/// Runs `scripts/peers/<peer>.sh <command> <port>`; returns stdout (the URL).
pub fn peer_script(peer: &str, command: &str, port: u16) -> String {
    let script = repo_root().join("scripts/peers").join(format!("{peer}.sh"));
    let output = Command::new("bash")
        .arg(&script)
        .arg(command)
        .arg(port.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; run scripts/test", script.display()));
    if !output.status.success() {
        panic!(
            "{peer} could not be {command}ed on 127.0.0.1:{port} by {} — run scripts/test, which installs and starts the peers.\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The shared moto server.
pub fn moto_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("SEALBOX_TEST_MOTO_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => peer_script(
            "moto",
            "start",
            port_from_env("SEALBOX_TEST_MOTO_PORT", MOTO_SHARED_PORT),
        ),
    })
    .clone()
}

/// A moto server used only by call-counting tests (its recorder is global).
pub fn recorder_moto_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        peer_script(
            "moto",
            "start",
            port_from_env("SEALBOX_TEST_MOTO_RECORDER_PORT", MOTO_RECORDER_PORT),
        )
    })
    .clone()
}

/// The shared OpenBao server and its root token.
pub fn vault() -> (String, String) {
    static ADDR: OnceLock<String> = OnceLock::new();
    let addr = ADDR
        .get_or_init(|| match std::env::var("SEALBOX_TEST_VAULT_ADDR") {
            Ok(addr) if !addr.is_empty() => addr,
            _ => peer_script(
                "openbao",
                "start",
                port_from_env("SEALBOX_TEST_VAULT_PORT", BAO_SHARED_PORT),
            ),
        })
        .clone();
    let token = std::env::var("SEALBOX_TEST_VAULT_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "root".to_owned());
    (addr, token)
}

/// A name no other test (or test process) uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// An exclusive lock shared by every test process (tests that count calls on, or stop,
/// a dedicated server take it so they never overlap).
pub struct ExclusiveLock(File);

impl ExclusiveLock {
    pub fn take(name: &str) -> Self {
        let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.lock"));
        let file = File::create(&path).expect("create lock file");
        file.lock().expect("lock");
        Self(file)
    }
}

impl Drop for ExclusiveLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// moto's request recorder.
pub struct Recorder {
    url: String,
    http: reqwest::Client,
}

impl Recorder {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, action: &str) {
        let response = self
            .http
            .post(format!("{}/moto-api/recorder/{action}", self.url))
            .send()
            .await
            .expect("moto recorder");
        assert!(response.status().is_success(), "recorder {action}");
    }

    /// Empties the recording and starts recording.
    pub async fn start(&self) {
        self.post("stop-recording").await;
        self.post("reset-recording").await;
        self.post("start-recording").await;
    }

    /// Stops recording; returns every recorded request.
    pub async fn stop(&self) -> Vec<Value> {
        self.post("stop-recording").await;
        let text = self
            .http
            .get(format!("{}/moto-api/recorder/download-recording", self.url))
            .send()
            .await
            .expect("download recording")
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("recording line"))
            .collect()
    }
}

/// The decoded body of a recorded request.
pub fn recorded_body(request: &Value) -> String {
    let body = request["body"].as_str().unwrap_or_default();
    if request["body_encoded"].as_bool() == Some(true) {
        String::from_utf8_lossy(&STANDARD.decode(body).unwrap_or_default()).into_owned()
    } else {
        body.to_owned()
    }
}

/// Recorded Secrets Manager operations by name (`GetSecretValue` → count).
pub fn operations(requests: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in requests {
        let op = match request["headers"]["X-Amz-Target"].as_str() {
            Some(target) => target.trim_start_matches("secretsmanager.").to_owned(),
            None => {
                let body = recorded_body(request);
                body.split('&')
                    .find_map(|kv| kv.strip_prefix("Action="))
                    .unwrap_or("unknown")
                    .to_owned()
            }
        };
        *counts.entry(op).or_default() += 1;
    }
    counts
}

/// Root-token HTTP client for setting up OpenBao (mounts, auth methods, policies).
#[derive(Clone)]
pub struct VaultAdmin {
    pub addr: String,
    token: String,
    namespace: Option<String>,
    http: reqwest::Client,
}

impl VaultAdmin {
    pub fn new() -> Self {
        let (addr, token) = vault();
        Self::at(&addr, &token)
    }

    pub fn at(addr: &str, token: &str) -> Self {
        Self {
            addr: addr.to_owned(),
            token: token.to_owned(),
            namespace: None,
            http: reqwest::Client::new(),
        }
    }

    pub fn root_token(&self) -> String {
        self.token.clone()
    }

    pub fn in_namespace(&self, namespace: &str) -> Self {
        Self {
            namespace: Some(namespace.to_owned()),
            ..self.clone()
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}/v1/{path}", self.addr))
            .header("X-Vault-Token", &self.token);
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("vault admin request");
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> Value {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn list(&self, path: &str) -> Value {
        self.send(reqwest::Method::from_bytes(b"LIST").unwrap(), path, None)
            .await
    }

    /// Mounts a fresh KV engine; returns its path.
    pub async fn mount_kv(&self, version: u8) -> String {
        let mount = unique(&format!("kv{version}"));
        self.post(
            &format!("sys/mounts/{mount}"),
            json!({"type": "kv", "options": {"version": version.to_string()}}),
        )
        .await;
        mount
    }

    /// A policy that may read/write/list everything under the given path globs.
    pub async fn policy(&self, paths: &[&str]) -> String {
        let name = unique("policy");
        let rules: String = paths
            .iter()
            .map(|p| {
                format!(
                    "path \"{p}\" {{ capabilities = [\"create\", \"read\", \"update\", \"delete\", \"list\"] }}\n"
                )
            })
            .collect();
        self.post(
            &format!("sys/policies/acl/{name}"),
            json!({"policy": rules}),
        )
        .await;
        name
    }

    /// Writes a KV v2 secret; returns the new version.
    pub async fn kv2_put(&self, mount: &str, key: &str, data: Value) -> u64 {
        let out = self
            .post(&format!("{mount}/data/{key}"), json!({"data": data}))
            .await;
        out["data"]["version"].as_u64().unwrap()
    }
}

/// Signs `claims` as an RS256 JWT with the test key in `tests/fixtures`.
pub fn sign_jwt(claims: &Value) -> String {
    let pem = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jwt-signing.key.pem"),
    )
    .unwrap();
    let der = STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .unwrap();
    let key = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).expect("pkcs8 key");
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    let signing_input = format!("{header}.{payload}");
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &aws_lc_rs::signature::RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The TLS crypto provider for the AWS SDK's HTTPS client (the binary installs it in main).
pub fn install_crypto() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
