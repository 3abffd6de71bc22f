//! Running the binary in a clean environment, and reading the fixture set.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// Repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Sealed Secrets fixture set (overridable with `SEALBOX_SEALED_SECRETS_FIXTURES`).
pub fn fixture_dir() -> PathBuf {
    match std::env::var_os("SEALBOX_SEALED_SECRETS_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => repo().join("tests/fixtures/sealed-secrets"),
    }
}

/// The fixture set committed in the repository (never overridden): for tests about
/// behaviour and output shape rather than about the data of a set.
pub fn repo_fixture(rel: &str) -> PathBuf {
    repo().join("tests/fixtures/sealed-secrets").join(rel)
}

/// The committed set's `expected.json`.
pub fn repo_expected() -> Value {
    let text = std::fs::read_to_string(repo_fixture("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json parses")
}

/// The committed set's controller key files.
pub fn repo_controller_key_files() -> Vec<PathBuf> {
    let e = repo_expected();
    e["controller_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| {
            repo_fixture(
                e["keys"][id.as_str().unwrap()]["private_key"]
                    .as_str()
                    .unwrap(),
            )
        })
        .collect()
}

pub fn fixture(rel: &str) -> PathBuf {
    fixture_dir().join(rel)
}

pub fn cert_fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/certs").join(name)
}

pub fn expected() -> &'static Value {
    static EXPECTED: OnceLock<Value> = OnceLock::new();
    EXPECTED.get_or_init(|| {
        let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
        serde_json::from_str(&text).expect("expected.json parses")
    })
}

/// Paths of the private keys the controller holds.
pub fn controller_key_files() -> Vec<PathBuf> {
    expected()["controller_keys"]
        .as_array()
        .expect("controller_keys")
        .iter()
        .map(|id| {
            let id = id.as_str().unwrap();
            fixture(expected()["keys"][id]["private_key"].as_str().unwrap())
        })
        .collect()
}

pub fn key_file(id: &str) -> PathBuf {
    fixture(expected()["keys"][id]["private_key"].as_str().unwrap())
}

pub fn cert_file(id: &str) -> PathBuf {
    fixture(expected()["keys"][id]["cert"].as_str().unwrap())
}

/// A `sealbox` command with a clean environment: a private HOME, no kubeconfig, no
/// SEALED_SECRETS_CERT, no inherited keyring.
pub fn sealbox(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sealbox"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-kubeconfig"))
        .stdin(Stdio::null());
    cmd
}

/// Run with `stdin` bytes.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("sealbox starts");
    child.stdin.take().unwrap().write_all(stdin).expect("stdin");
    child.wait_with_output().expect("sealbox runs")
}

pub fn run(mut cmd: Command) -> Output {
    cmd.output().expect("sealbox runs")
}

/// Assert success and return stdout.
pub fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "sealbox failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 stdout")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// All JSON objects of a concatenated-JSON stream.
pub fn json_stream(text: &str) -> Vec<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|v| v.expect("valid JSON"))
        .collect()
}

/// A keyring with one fresh 2048-bit key (fast) in `dir`.
pub fn init_keyring(home: &Path, dir: &Path) {
    let mut cmd = sealbox(home);
    cmd.args(["--keyring"])
        .arg(dir)
        .args(["keys", "init", "--key-size", "2048"]);
    ok(run(cmd));
}

/// Open values with the independent Python implementation. `items`: (id, label,
/// ciphertext_b64). Returns id → plaintext (None if it did not open).
pub fn independent_open(
    keys: &[PathBuf],
    items: &[(String, String, String)],
    use_openssl: bool,
) -> std::collections::BTreeMap<String, Option<Vec<u8>>> {
    use base64::Engine as _;
    let job = serde_json::json!({
        "keys": keys.iter().map(|k| k.display().to_string()).collect::<Vec<_>>(),
        "items": items.iter().map(|(id, label, ct)| serde_json::json!({
            "id": id, "label": label, "ciphertext_b64": ct
        })).collect::<Vec<_>>(),
    });
    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("tests/tools/ss_open.py"));
    if use_openssl {
        cmd.arg("--openssl");
    }
    let out = run_with_stdin(cmd, job.to_string().as_bytes());
    assert!(
        out.status.success(),
        "ss_open.py failed (is python3-cryptography installed?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("ss_open output");
    results
        .into_iter()
        .map(|r| {
            let id = r["id"].as_str().unwrap().to_owned();
            let plain = (r["ok"] == true).then(|| {
                base64::engine::general_purpose::STANDARD
                    .decode(r["plaintext_b64"].as_str().unwrap())
                    .unwrap()
            });
            (id, plain)
        })
        .collect()
}
