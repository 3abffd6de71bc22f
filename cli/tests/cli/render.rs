//! `sealbox render` (Argo CD CMP generate, Helm post-renderer) and `sealbox krm` / `ksops`
//! (kustomize generator), against the real peers: files are encrypted by sealbox, the
//! expected plaintext comes from the real `sops -d`, kustomize is the real `kubectl
//! kustomize`, and the KRM function runner is the real `kpt fn eval`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::sops_support::{ALICE, code, err, key, ok, run, sealbox, sops_real, with_stdin};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: demo\ntype: Opaque\nstringData:\n  password: hunter2-render\n  port: \"5432\"\n";
const MULTI: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: one\nstringData:\n  token: multi-doc-token-1\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: two\nstringData:\n  token: multi-doc-token-2\n";
const CONFIGMAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: \"1\"\n";
const JSON_SECRET: &str = "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Secret\",\n  \"metadata\": {\"name\": \"js\"},\n  \"stringData\": {\"key\": \"json-value-1\"}\n}\n";
const PLAINTEXTS: &[&str] = &[
    "hunter2-render",
    "multi-doc-token-1",
    "multi-doc-token-2",
    "json-value-1",
];

/// `sealbox` in a clean environment that has alice's key.
fn with_key(home: &Path) -> Command {
    let mut cmd = sealbox(home);
    cmd.env("SOPS_AGE_KEY_FILE", key("alice.agekey"));
    cmd
}

/// Write `text` to `dir/name` and encrypt it in place with sealbox (data/stringData only,
/// as the Flux and Argo CD guides say).
fn encrypted(home: &Path, dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let mut cmd = sealbox(home);
    cmd.args([
        "encrypt",
        "--age",
        ALICE,
        "--encrypted-regex",
        "^(data|stringData)$",
        "-i",
    ])
    .arg(&path);
    ok(run(cmd));
    path
}

/// Every document of a YAML/JSON stream, parsed.
fn docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .expect("stream parses")
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// What the real sops decrypts a file to, parsed.
fn sops_d(home: &Path, file: &Path) -> Vec<Value> {
    let mut cmd = sops_real(home);
    cmd.env("SOPS_AGE_KEY_FILE", key("alice.agekey"))
        .arg("-d")
        .arg(file);
    docs(&String::from_utf8(ok(run(cmd))).unwrap())
}

fn stdout(out: Output) -> String {
    String::from_utf8(ok(out)).unwrap()
}

/// A directory of sealbox-encrypted manifests and one plain one.
fn app_dir(home: &Path) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let files = vec![
        encrypted(home, dir.path(), "a-secret.yaml", SECRET),
        encrypted(home, dir.path(), "b-multi.yaml", MULTI),
        encrypted(home, dir.path(), "c-secret.json", JSON_SECRET),
    ];
    std::fs::write(dir.path().join("d-config.yaml"), CONFIGMAP).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a manifest\n").unwrap();
    (dir, files)
}

#[test]
fn directory_render_equals_sops_decrypt_file_by_file() {
    let home = tempfile::tempdir().unwrap();
    let (dir, files) = app_dir(home.path());
    let mut cmd = with_key(home.path());
    cmd.arg("render").arg(dir.path());
    let out = stdout(run(cmd));
    let got = docs(&out);
    // Files in path order; each encrypted one exactly as sops -d gives it.
    let mut expected = Vec::new();
    for f in &files {
        expected.extend(sops_d(home.path(), f));
    }
    expected.extend(docs(CONFIGMAP));
    assert_eq!(got, expected);
    // The plain file passes through byte for byte.
    assert!(out.ends_with(CONFIGMAP), "{out}");
    assert!(!out.contains("sops:") && !out.contains("ENC["), "{out}");
}

#[test]
fn stdin_post_renderer_decrypts_and_passes_the_rest_through() {
    let home = tempfile::tempdir().unwrap();
    let (dir, files) = app_dir(home.path());
    // What Helm hands a post-renderer: templates concatenated with `# Source:` comments.
    let secret = std::fs::read_to_string(&files[0]).unwrap();
    let multi = std::fs::read_to_string(&files[1]).unwrap();
    let stream = format!(
        "---\n# Source: chart/templates/cm.yaml\n{CONFIGMAP}---\n# Source: chart/templates/secret.yaml\n{secret}---\n# Source: chart/templates/multi.yaml\n{multi}"
    );
    let mut cmd = with_key(home.path());
    cmd.args(["render", "-"]);
    let out = String::from_utf8(ok(with_stdin(cmd, stream.as_bytes()))).unwrap();
    let mut expected = docs(CONFIGMAP);
    expected.extend(sops_d(home.path(), &files[0]));
    expected.extend(sops_d(home.path(), &files[1]));
    assert_eq!(docs(&out), expected);
    assert!(
        out.starts_with(&format!("# Source: chart/templates/cm.yaml\n{CONFIGMAP}")),
        "{out}"
    );
    drop(dir);
}

#[test]
fn stdin_documents_of_one_file_are_verified_together() {
    let home = tempfile::tempdir().unwrap();
    let (_dir, files) = app_dir(home.path());
    let multi = std::fs::read_to_string(&files[1]).unwrap();
    let parts: Vec<&str> = multi.split("\n---\n").collect();
    assert_eq!(parts.len(), 2);
    // A plain document between the two halves of one file: still one MAC over both.
    let stream = format!("{}\n---\n{CONFIGMAP}---\n{}", parts[0], parts[1]);
    let mut cmd = with_key(home.path());
    cmd.args(["render", "-"]);
    let out = String::from_utf8(ok(with_stdin(cmd, stream.as_bytes()))).unwrap();
    let names: Vec<String> = docs(&out)
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["one", "cfg", "two"]);
    // Dropping one document of the file breaks the MAC: refused, nothing on stdout.
    let mut cmd = with_key(home.path());
    cmd.args(["render", "-"]);
    let out = with_stdin(cmd, parts[0].as_bytes());
    assert_eq!(code(&out), 51, "{}", err(&out));
    assert!(out.stdout.is_empty());
    assert!(
        err(&out).contains("document 1") && err(&out).contains("MAC mismatch"),
        "{}",
        err(&out)
    );
}

/// `kubectl kustomize` of a copy of `dir` whose encrypted files were decrypted by real sops.
fn kustomize_of_sops_decrypted(home: &Path, dir: &Path, files: &[&str]) -> Vec<Value> {
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, copy.path().join(p.file_name().unwrap())).unwrap();
    }
    for f in files {
        let mut cmd = sops_real(home);
        cmd.env("SOPS_AGE_KEY_FILE", key("alice.agekey"))
            .args(["-d", "-i"])
            .arg(copy.path().join(f));
        ok(run(cmd));
    }
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(copy.path())
        .output()
        .expect("kubectl runs");
    docs(&stdout(out))
}

#[test]
fn kustomization_over_sealbox_files_equals_sops_decrypt_then_kustomize() {
    let home = tempfile::tempdir().unwrap();
    let (dir, _files) = app_dir(home.path());
    for kustomization in [
        "resources: [a-secret.yaml, b-multi.yaml, c-secret.json, d-config.yaml]\n",
        // Transformers change the encrypted resources: the MAC is verified on the source files.
        "namespace: other\ncommonLabels: {team: x}\nresources: [a-secret.yaml, b-multi.yaml, c-secret.json, d-config.yaml]\n",
    ] {
        std::fs::write(dir.path().join("kustomization.yaml"), kustomization).unwrap();
        let mut cmd = with_key(home.path());
        cmd.args(["render", "--kustomize-command", "kubectl kustomize"])
            .arg(dir.path());
        let got = docs(&stdout(run(cmd)));
        let expected = kustomize_of_sops_decrypted(
            home.path(),
            dir.path(),
            &["a-secret.yaml", "b-multi.yaml", "c-secret.json"],
        );
        assert_eq!(got, expected, "{kustomization}");
        assert_eq!(got.len(), 5);
    }
}

#[test]
fn kustomize_mode_refuses_a_tampered_source_and_an_unknown_one() {
    let home = tempfile::tempdir().unwrap();
    let (dir, files) = app_dir(home.path());
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "resources: [a-secret.yaml]\n",
    )
    .unwrap();
    // Change a clear value the MAC covers (type): the source file fails its MAC.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    std::fs::write(
        &files[0],
        text.replace("type: Opaque", "type: kubernetes.io/tls"),
    )
    .unwrap();
    let mut cmd = with_key(home.path());
    cmd.args(["render", "--kustomize-command", "kubectl kustomize"])
        .arg(dir.path());
    let out = run(cmd);
    assert_eq!(code(&out), 51, "{}", err(&out));
    assert!(out.stdout.is_empty());
    assert!(
        err(&out).contains("a-secret.yaml") && err(&out).contains("MAC mismatch"),
        "{}",
        err(&out)
    );
    // The encrypted resource comes from outside the search root.
    std::fs::write(&files[0], text).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = with_key(home.path());
    cmd.args([
        "render",
        "--kustomize-command",
        "kubectl kustomize",
        "--root",
    ])
    .arg(elsewhere.path())
    .arg(dir.path());
    let out = run(cmd);
    assert_ne!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert!(err(&out).contains("no SOPS file under"), "{}", err(&out));
}

/// Breaks a fresh app directory; says whether render gets the key and extra arguments.
type Breaker = fn(&Path, &[PathBuf]) -> (bool, Vec<&'static str>);

#[test]
fn bad_input_fails_with_file_and_reason_and_prints_nothing() {
    let home = tempfile::tempdir().unwrap();
    // (what, how to break it, expected exit code, text the message must contain)
    let cases: &[(&str, Breaker, i32, &str)] = &[
        (
            "MAC",
            |_, files| {
                let t = std::fs::read_to_string(&files[0]).unwrap();
                let i = t.find("mac: ENC[AES256_GCM,data:").unwrap() + 26;
                let flipped = if &t[i..i + 1] == "A" { "B" } else { "A" };
                std::fs::write(&files[0], format!("{}{flipped}{}", &t[..i], &t[i + 1..])).unwrap();
                (true, vec![])
            },
            51,
            "a-secret.yaml",
        ),
        (
            "identity",
            |_, _| (false, vec![]),
            128,
            "no age identity found",
        ),
        (
            "kustomize",
            |dir, _| {
                std::fs::write(
                    dir.join("kustomization.yaml"),
                    "resources: [missing.yaml]\n",
                )
                .unwrap();
                (true, vec!["--kustomize-command", "kubectl kustomize"])
            },
            1,
            "missing.yaml",
        ),
        (
            "not YAML",
            |dir, _| {
                std::fs::write(dir.join("e-broken.yaml"), "kind: [unclosed\n  - x: y\n").unwrap();
                (true, vec![])
            },
            10,
            "e-broken.yaml",
        ),
        (
            "not an object",
            |dir, _| {
                std::fs::write(dir.join("e-values.yaml"), "replicas: 3\n").unwrap();
                (true, vec![])
            },
            11,
            "e-values.yaml",
        ),
    ];
    for (what, breaker, want, mention) in cases {
        let (dir, files) = app_dir(home.path());
        let (key, extra) = breaker(dir.path(), &files);
        let mut cmd = if key {
            with_key(home.path())
        } else {
            sealbox(home.path())
        };
        cmd.arg("render").args(extra).arg(dir.path());
        let out = run(cmd);
        let stderr = err(&out);
        assert_eq!(code(&out), *want, "{what}: {stderr}");
        assert!(out.stdout.is_empty(), "{what}: stdout not empty");
        assert!(stderr.contains(mention), "{what}: {stderr}");
        for p in PLAINTEXTS {
            assert!(!stderr.contains(p), "{what}: plaintext in stderr: {stderr}");
        }
    }
}

/// `kpt`: on PATH, or in the Google Cloud SDK next to its kubectl.
fn kpt() -> PathBuf {
    for candidate in ["kpt", "/usr/lib/google-cloud-sdk/bin/kpt"] {
        if Command::new(candidate)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return PathBuf::from(candidate);
        }
    }
    panic!(
        "kpt (a KRM function runner) not found: it ships with the Google Cloud SDK on this machine image"
    );
}

/// A generator directory: encrypted manifest, text/binary/env files, a `ksops` link.
fn generator_dir(home: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    encrypted(home, dir.path(), "secret.enc.yaml", SECRET);
    for (name, text) in [
        ("app.conf", "line1\nline2\n"),
        ("app.env", "USER=admin\nPASS=\"p w\"\n"),
    ] {
        let plain = dir.path().join(name);
        std::fs::write(&plain, text).unwrap();
        let mut cmd = sealbox(home);
        cmd.args(["encrypt", "--age", ALICE]).arg(&plain);
        let enc = ok(run(cmd));
        std::fs::write(dir.path().join(name.replace('.', ".enc.")), enc).unwrap();
        std::fs::remove_file(plain).unwrap();
    }
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_sealbox"), dir.path().join("ksops")).unwrap();
    dir
}

const GENERATOR_BODY: &str = "files: [./secret.enc.yaml]\nsecretFrom:\n- metadata:\n    name: app\n    annotations:\n      kustomize.config.k8s.io/needs-hash: \"true\"\n  type: Opaque\n  files: [./app.enc.conf, renamed.conf=./app.enc.conf]\n  binaryFiles: [bin.conf=./app.enc.conf]\n  envs: [./app.enc.env]\n";

fn check_generated(objects: &[Value], home: &Path, dir: &Path) {
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert_eq!(objects[0], sops_d(home, &dir.join("secret.enc.yaml"))[0]);
    let app = &objects[1];
    assert_eq!(app["kind"], "Secret");
    assert_eq!(app["type"], "Opaque");
    assert_eq!(app["stringData"]["app.enc.conf"], "line1\nline2\n");
    assert_eq!(app["stringData"]["renamed.conf"], "line1\nline2\n");
    assert_eq!(app["stringData"]["USER"], "admin");
    assert_eq!(app["stringData"]["PASS"], "p w");
    assert_eq!(app["data"]["bin.conf"], "bGluZTEKbGluZTIK");
}

#[test]
fn krm_function_under_kpt_with_ksops_and_sealbox_configs() {
    let home = tempfile::tempdir().unwrap();
    let dir = generator_dir(home.path());
    for (api, kind) in [
        ("viaduct.ai/v1", "ksops"),
        ("sealbox.dev/v1alpha1", "SopsGenerator"),
    ] {
        let config = dir.path().join("gen.yaml");
        std::fs::write(
            &config,
            format!("apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: gen\n{GENERATOR_BODY}"),
        )
        .unwrap();
        let mut cmd = Command::new(kpt());
        cmd.current_dir(dir.path())
            .env("SOPS_AGE_KEY_FILE", key("alice.agekey"))
            .env("HOME", home.path())
            .args(["fn", "eval", "-", "--exec"])
            .arg(dir.path().join("ksops"))
            .args(["--fn-config", "gen.yaml", "--output", "unwrap"]);
        let out = stdout(with_stdin(cmd, b""));
        let objects = docs(&out);
        check_generated(&objects, home.path(), dir.path());
        assert_eq!(
            objects[1]["metadata"]["annotations"]["kustomize.config.k8s.io/needs-hash"],
            "true"
        );
    }
}

#[test]
fn legacy_exec_plugin_under_kubectl_kustomize() {
    let home = tempfile::tempdir().unwrap();
    let dir = generator_dir(home.path());
    let plugin_dir = home.path().join("xdg/kustomize/plugin/viaduct.ai/v1/ksops");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_sealbox"), plugin_dir.join("ksops")).unwrap();
    std::fs::write(
        dir.path().join("gen.yaml"),
        format!("apiVersion: viaduct.ai/v1\nkind: ksops\nmetadata:\n  name: gen\n{GENERATOR_BODY}"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "generators: [gen.yaml]\n",
    )
    .unwrap();
    let run_kustomize = |with_key: bool| {
        let mut cmd = Command::new("kubectl");
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("xdg"))
            .args(["kustomize", "--enable-alpha-plugins"])
            .arg(dir.path());
        if with_key {
            cmd.env("SOPS_AGE_KEY_FILE", key("alice.agekey"));
        }
        run(cmd)
    };
    let objects = docs(&stdout(run_kustomize(true)));
    check_generated(&objects, home.path(), dir.path());
    // needs-hash: kustomize appended the content hash to the name.
    let name = objects[1]["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("app-") && name.len() > 4, "{name}");
    // Without a key: kustomize fails with our message; nothing decrypted leaks.
    let out = run_kustomize(false);
    assert_ne!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert!(err(&out).contains("no age identity found"), "{}", err(&out));
}

#[test]
fn krm_function_passes_other_items_through_and_reports_bad_configs() {
    let home = tempfile::tempdir().unwrap();
    let dir = generator_dir(home.path());
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: keep}\n- apiVersion: sealbox.dev/v1alpha1\n  kind: SopsGenerator\n  metadata: {name: g}\n  files: [./secret.enc.yaml]\n";
    let mut cmd = with_key(home.path());
    cmd.current_dir(dir.path()).arg("krm");
    let out = stdout(with_stdin(cmd, list.as_bytes()));
    let result: Value = serde_saphyr::from_str(&out).unwrap();
    let items = result["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["metadata"]["name"], "keep");
    assert_eq!(items[1]["stringData"]["password"], "hunter2-render");
    // A generator that names a plaintext file is refused.
    std::fs::write(dir.path().join("plain.yaml"), SECRET).unwrap();
    let bad = list.replace("./secret.enc.yaml", "./plain.yaml");
    let mut cmd = with_key(home.path());
    cmd.current_dir(dir.path()).arg("krm");
    let out = with_stdin(cmd, bad.as_bytes());
    assert_ne!(code(&out), 0);
    assert!(out.stdout.is_empty());
    assert!(
        err(&out).contains("plain.yaml") && err(&out).contains("not SOPS-encrypted"),
        "{}",
        err(&out)
    );
}

/// `sealbox quickstart` ends by rendering a directory of encrypted manifests the way the
/// Argo CD plugin does; it shows names only, never the decrypted values.
#[test]
fn quickstart_renders_a_directory_like_the_argo_cd_plugin() {
    let home = tempfile::tempdir().unwrap();
    let tmp = home.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut cmd = sealbox(home.path());
    cmd.env("TMPDIR", &tmp).arg("quickstart");
    let out = stdout(run(cmd));
    let step = out
        .split("\n[")
        .find(|s| s.contains("render a directory of encrypted manifests"))
        .unwrap_or_else(|| panic!("no render step:\n{out}"));
    for line in [
        "api-token.enc.yaml   -> Secret demo/quickstart-api-token: decrypted (MAC verified)",
        "secret.enc.yaml      -> Secret demo/quickstart-credentials: decrypted (MAC verified)",
        "settings.yaml        -> ConfigMap demo/quickstart-settings: passed through unchanged",
        "3 manifests, 2 decrypted, each equal to its original",
    ] {
        assert!(step.contains(line), "{line:?} missing:\n{step}");
    }
    assert!(out.contains("sealbox render app/"), "next steps:\n{out}");
    assert!(out.contains("--post-renderer-args render --post-renderer-args -"));
    // The random values (24 and 32 letters and digits) appear only encrypted.
    for line in out.lines().map(str::trim) {
        for (key, len) in [("token: ", 32), ("password: ", 24)] {
            if let Some(v) = line.strip_prefix(key) {
                let clear = v.len() == len && v.chars().all(|c| c.is_ascii_alphanumeric());
                assert!(!clear, "a value is shown: {line}");
            }
        }
    }
    // The app directory was made in TMPDIR and is gone.
    let leftovers: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
