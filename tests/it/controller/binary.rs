//! The real `sealbox controller` binary as a child process: 1,000 SealedSecrets, a restart
//! that must do zero RSA operations, graceful SIGTERM, and a scan of everything it logged,
//! every Event and every status for the fixture plaintexts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine as _;
use rand::SeedableRng as _;
use sealbox_keys::sealing::{Certificate, Label, Scope, envelope};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;
use tokio::process::{Child, Command};

use super::*;

const OBJECTS: usize = 1_000;

/// `target/<profile>/sealbox`, next to this test binary's `deps/` directory.
pub fn sealbox_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SEALBOX_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("sealbox");
    assert!(
        bin.exists(),
        "{} not found: build it first with `cargo build -p sealbox` (scripts/test does)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Controller {
    child: Child,
    output: Vec<tokio::task::JoinHandle<String>>,
    api: std::net::SocketAddr,
    metrics: std::net::SocketAddr,
}

impl Controller {
    pub fn start(kubeconfig: &std::path::Path, extra: &[&str]) -> Controller {
        let (api, metrics) = (free_port(), free_port());
        let mut child = Command::new(sealbox_binary())
            .arg("controller")
            .args(["--log-format", "json", "--log-level", "DEBUG"])
            .args(["--listen-addr", &format!("127.0.0.1:{api}")])
            .args(["--listen-metrics-addr", &format!("127.0.0.1:{metrics}")])
            .args(["--key-size", "2048", "--key-renew-period", "0"])
            .args(extra)
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAMESPACE", "kube-system")
            .env_remove("SEALBOX_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start sealbox controller");
        // Drain both pipes while it runs (a full pipe would block the controller).
        let mut output = Vec::new();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        output.push(tokio::spawn(drain(stdout)));
        output.push(tokio::spawn(drain(stderr)));
        Controller {
            child,
            output,
            api: ([127, 0, 0, 1], api).into(),
            metrics: ([127, 0, 0, 1], metrics).into(),
        }
    }

    async fn metrics_text(&self) -> String {
        http(self.metrics, "GET", "/metrics", "").await.1
    }

    /// SIGTERM, wait for a clean exit, return everything it printed.
    pub async fn terminate(mut self) -> String {
        let pid = self.child.id().expect("running") as i32;
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .unwrap();
        let mut all = String::new();
        for o in self.output.drain(..) {
            all.push_str(&o.await.unwrap());
        }
        assert!(exit.success(), "exit {exit:?}\n{all}");
        all
    }
}

async fn drain(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut out = Vec::new();
    let _ = pipe.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// `count` one-value SealedSecrets in `demo`, sealed (public-key operations only) to the
/// fixture's newest key.
fn generated(count: usize) -> Vec<Value> {
    let cert = Certificate::from_pem(&read_fixture("sealing-key-1.cert.pem")).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    (0..count)
        .map(|i| {
            let name = format!("gen-{i:04}");
            let label = Label::new(Scope::Strict, "demo", &name);
            let value = envelope::seal(&mut rng, cert.public_key(), &label, format!("generated-value-{i}").as_bytes())
                .unwrap();
            json!({
                "apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret",
                "metadata": {"name": name, "namespace": "demo"},
                "spec": {"encryptedData": {"value": base64::engine::general_purpose::STANDARD.encode(value)},
                         "template": {"metadata": {"name": name, "namespace": "demo"}}}
            })
        })
        .collect()
}

fn synced_count(double: &ApiServer) -> usize {
    double
        .store()
        .all("bitnami.com/sealedsecrets")
        .iter()
        .filter(|s| {
            s.pointer("/status/conditions/0/status")
                .and_then(Value::as_str)
                == Some("True")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_restart_with_1000_objects_does_no_rsa_and_never_logs_a_secret() {
    let double = cluster(true).await;
    let objects = generated(OBJECTS);
    for o in &objects {
        double
            .put("bitnami.com/v1alpha1", "sealedsecrets", o.clone())
            .unwrap();
    }
    // The fixtures too (values with every kind of plaintext, and the negatives' messages).
    for file in [
        "strict.yaml",
        "namespace-wide.yaml",
        "strict-template.yaml",
        "legacy-v1-data.yaml",
    ] {
        apply_fixture(&double, file);
    }
    let total = OBJECTS + 4;
    let kubeconfig = double.kubeconfig_path().to_owned();

    let first = Controller::start(&kubeconfig, &[]);
    eventually("all synced (first run)", Duration::from_secs(240), || {
        synced_count(&double) == total
    })
    .await;
    let m = first.metrics_text().await;
    let first_rsa = metric(&m, "sealbox_rsa_private_operations_total").unwrap();
    assert!(first_rsa >= total as f64, "first run decrypts: {first_rsa}");
    let (code, _) = http(first.api, "GET", "/healthz", "").await;
    assert_eq!(code, 200);
    // A negative (renamed so it does not replace strict.yaml), to get its error into the
    // logs we scan; removed before the restart.
    let mut negative = parse_documents("neg", &read_fixture("negative/foreign-key.yaml")).unwrap()
        [0]
    .value
    .clone();
    negative["metadata"]["name"] = json!("db-credentials-foreign");
    double
        .put("bitnami.com/v1alpha1", "sealedsecrets", negative)
        .unwrap();
    eventually("negative reported", Duration::from_secs(60), || {
        synced(&double, "demo", "db-credentials-foreign").is_some_and(|s| s.0 == "False")
    })
    .await;
    let api: kube::Api<SealedSecret> = kube::Api::namespaced(double.client().unwrap(), "demo");
    api.delete("db-credentials-foreign", &Default::default())
        .await
        .unwrap();
    let mut logs = first.terminate().await;

    let second = Controller::start(&kubeconfig, &[]);
    eventually("ready after restart", Duration::from_secs(60), || true).await;
    let mut last = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let (200, text) = http(second.metrics, "GET", "/metrics", "").await {
            let skipped = metric(&text, "sealbox_unseal_skipped_total").unwrap_or(0.0);
            // Every object but the legacy `spec.data` one is verified without decryption.
            if skipped >= (total - 1) as f64 {
                last = text;
                break;
            }
            last = text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "restart never verified all objects:\n{last}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Everything unchanged was verified without decryption; only the legacy spec.data
    // object (its keys are inside its ciphertext) needs one RSA operation (its recorded key).
    let rsa = metric(&last, "sealbox_rsa_private_operations_total").unwrap();
    assert!(
        rsa <= 1.0,
        "restart performed {rsa} RSA operations for {total} unchanged objects"
    );
    let gen_rsa = metric(&last, "sealbox_unsealed_total").unwrap_or(0.0);
    assert!(
        gen_rsa <= 1.0,
        "decrypting reconciles after restart: {gen_rsa}"
    );
    logs.push_str(&second.terminate().await);

    // No plaintext anywhere: logs of both runs, Events, statuses.
    let mut haystack = logs.clone();
    for e in double.events(None) {
        haystack.push_str(&e.to_string());
    }
    for s in double.store().all("bitnami.com/sealedsecrets") {
        haystack.push_str(
            &s.pointer("/status")
                .cloned()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let mut needles = plaintexts();
    needles.push("generated-value-".to_owned());
    for p in &needles {
        assert!(
            !haystack.contains(p.as_str()),
            "found a plaintext in logs/events/status: {p:?}"
        );
    }
    // JSON logs: every line parses.
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not a JSON log line: {line}"
        );
    }
    assert!(
        logs.contains("no key could decrypt secret"),
        "the negative was logged"
    );
}
