//! kubeseal's interface and output shape, and sealbox's improvements over it.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use serde_json::{Value, json};

use crate::support::*;

/// Replace every `encryptedData` ciphertext in a JSON text by `X` and drop the old-style
/// `"creationTimestamp": null` lines, leaving kubeseal's exact layout to compare.
fn mask(text: &str) -> String {
    text.lines()
        .filter(|l| !l.contains("\"creationTimestamp\": null"))
        .map(|l| match l.find(": \"Ag") {
            Some(i) => format!(
                "{}: \"X\"{}",
                &l[..i],
                if l.ends_with(',') { "," } else { "" }
            ),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn json_output_has_kubeseals_exact_layout() {
    // The committed set's JSON manifest has kubeseal's JSON output shape: seal the same
    // Secret again (same metadata, type, values, scope, key) and compare the layout.
    let expected = repo_expected();
    let Some(manifest) = expected["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["format"] == "json" && m["expect"] == "ok" && m["legacy_v1_data"] != true)
    else {
        return;
    };
    let file = manifest["file"].as_str().unwrap();
    let fixture_text = std::fs::read_to_string(repo_fixture(file)).unwrap();
    let original =
        &json_stream(&fixture_text)[manifest["doc_index"].as_u64().unwrap_or(0) as usize];
    let template = &original["spec"]["template"];
    let mut input = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": template["metadata"],
        "data": manifest["expected_secret"]["data"],
    });
    if let Some(t) = template.get("type") {
        input["type"] = t.clone();
    }
    if let Some(i) = template.get("immutable") {
        input["immutable"] = i.clone();
    }
    let home = tempfile::tempdir().unwrap();
    let mut cmd = sealbox(home.path());
    cmd.args([
        "seal",
        "--scope",
        manifest["scope"].as_str().unwrap(),
        "--cert",
    ])
    .arg(repo_fixture(
        expected["keys"][manifest["sealed_with"].as_str().unwrap()]["cert"]
            .as_str()
            .unwrap(),
    ));
    let out = ok(run_with_stdin(cmd, input.to_string().as_bytes()));
    assert!(
        out.ends_with("}\n") && !out.ends_with("}\n\n"),
        "one trailing newline"
    );
    assert_eq!(mask(&out), mask(&fixture_text), "{file}");
}

#[test]
fn yaml_output_is_dash_separated_sorted_and_matches_json() {
    let home = tempfile::tempdir().unwrap();
    let two = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  namespace: demo\n  labels:\n    z: '1'\n    a: '2'\nstringData:\n  k: v\n---\n{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"b\",\"namespace\":\"demo\"},\"stringData\":{\"k\":\"v\"}}\n";
    let mut cmd = sealbox(home.path());
    cmd.args(["seal", "-o", "yaml", "--cert"])
        .arg(cert_fixture("byo-rsa2048.cert.pem"));
    let out = ok(run_with_stdin(cmd, two.as_bytes()));
    assert!(
        out.starts_with("---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n"),
        "{out}"
    );
    assert_eq!(out.matches("---\n").count(), 2);
    let docs: Vec<Value> = serde_saphyr::from_str_multiple::<Value, Vec<Value>>(&out)
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[0]["spec"]["template"]["metadata"]["labels"],
        json!({"a": "2", "z": "1"})
    );
    // Concatenated JSON input: one SealedSecret per object.
    let mut cmd = sealbox(home.path());
    cmd.args(["seal", "--cert"])
        .arg(cert_fixture("byo-rsa2048.cert.pem"));
    let input = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\"},\"stringData\":{\"k\":\"v\"}}{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"b\",\"namespace\":\"ns\"},\"stringData\":{\"k\":\"v\"}}";
    assert_eq!(
        json_stream(&ok(run_with_stdin(cmd, input.as_bytes()))).len(),
        2
    );
}

#[test]
fn server_fields_owner_references_and_last_applied_copies_are_stripped() {
    let home = tempfile::tempdir().unwrap();
    let leaked = "{\"data\":{\"password\":\"c3VwZXItc2VjcmV0LWxlYWs=\"}}";
    let input = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": "db", "namespace": "demo", "uid": "1234", "resourceVersion": "99",
            "generation": 3, "creationTimestamp": "2024-01-01T00:00:00Z",
            "selfLink": "/api/v1/namespaces/demo/secrets/db",
            "managedFields": [{"manager": "kubectl", "operation": "Update"}],
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "u"}],
            "labels": {"app": "db"},
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": leaked,
                "kubecfg.ksonnet.io/last-applied-configuration": leaked,
                "team": "a&b"
            }
        },
        "data": {"password": "c3VwZXItc2VjcmV0LWxlYWs="}
    });
    let mut cmd = sealbox(home.path());
    cmd.args(["seal", "--cert"])
        .arg(cert_fixture("byo-rsa2048.cert.pem"));
    let out = ok(run_with_stdin(cmd, input.to_string().as_bytes()));
    assert!(
        !out.contains("c3VwZXItc2VjcmV0LWxlYWs"),
        "no copy of the value in clear"
    );
    for field in [
        "last-applied",
        "resourceVersion",
        "uid",
        "generation",
        "creationTimestamp",
        "selfLink",
        "managedFields",
        "ownerReferences",
    ] {
        assert!(!out.contains(field), "{field} stripped:\n{out}");
    }
    assert!(
        out.contains("\"team\": \"a\\u0026b\""),
        "Go escapes & in JSON output:\n{out}"
    );
    let sealed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        sealed["spec"]["template"]["metadata"]["labels"],
        json!({"app": "db"})
    );
    assert!(
        sealed["metadata"].get("annotations").is_none(),
        "strict: no scope annotation"
    );
}

#[test]
fn seal_then_unseal_through_the_local_keyring() {
    let home = tempfile::tempdir().unwrap();
    let keyring = home.path().join("kr");
    init_keyring(home.path(), &keyring);
    let input = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: demo\n  annotations:\n    sealedsecrets.bitnami.com/namespace-wide: \"true\"\ntype: kubernetes.io/basic-auth\nimmutable: true\ndata:\n  username: YWRtaW4=\nstringData:\n  password: s3cr3t\n  username: root\n";
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring)
        .args(["seal", "-o", "yaml"]);
    let sealed = ok(run_with_stdin(cmd, input.as_bytes()));
    assert!(
        sealed.contains("sealedsecrets.bitnami.com/namespace-wide: 'true'")
            || sealed.contains("sealedsecrets.bitnami.com/namespace-wide: \"true\""),
        "{sealed}"
    );
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring).args(["unseal", "-v"]);
    let out = run_with_stdin(cmd, sealed.as_bytes());
    let err = stderr(&out);
    let secret: Value = serde_json::from_str(&ok(out)).unwrap();
    assert_eq!(
        secret["data"],
        json!({"password": "czNjcjN0", "username": "cm9vdA=="}),
        "stringData wins"
    );
    assert_eq!(secret["type"], "kubernetes.io/basic-auth");
    assert_eq!(secret["immutable"], true);
    assert_eq!(
        secret["metadata"]["ownerReferences"][0]["kind"],
        "SealedSecret"
    );
    assert!(err.contains("opened with key SHA256:"), "{err}");
    // Moving a namespace-wide SealedSecret to another name is fine; to another namespace not.
    let renamed = sealed.replace("name: db", "name: other");
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring).arg("unseal");
    ok(run_with_stdin(cmd, renamed.as_bytes()));
    let moved = sealed.replace("namespace: demo", "namespace: prod");
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring).arg("unseal");
    let out = run_with_stdin(cmd, moved.as_bytes());
    assert_eq!(out.status.code(), Some(15));
    assert!(!stderr(&out).contains("s3cr3t"));
}

#[test]
fn merge_into_keeps_the_files_scope_and_rewrites_it_atomically() {
    let home = tempfile::tempdir().unwrap();
    let keyring = home.path().join("kr");
    init_keyring(home.path(), &keyring);
    let file = home.path().join("sealed.yaml");
    let first = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: demo\nstringData:\n  a: one\n";
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring)
        .args(["seal", "--scope", "namespace-wide", "-w"])
        .arg(&file);
    ok(run_with_stdin(cmd, first.as_bytes()));
    let before = std::fs::read_to_string(&file).unwrap();
    assert!(before.starts_with("---\n"), "-w x.yaml picks YAML");

    // The new Secret names another object and no scope: merge uses the file's.
    let more = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: whatever\n  labels:\n    extra: 'yes'\nstringData:\n  b: two\n";
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring)
        .args(["seal", "--merge-into"])
        .arg(&file);
    ok(run_with_stdin(cmd, more.as_bytes()));
    let merged = std::fs::read_to_string(&file).unwrap();
    assert!(merged.starts_with("---\n"), "keeps the file's format");
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring)
        .args(["unseal", "-f"])
        .arg(&file);
    let secret: Value = serde_json::from_str(&ok(run(cmd))).unwrap();
    assert_eq!(secret["data"], json!({"a": "b25l", "b": "dHdv"}));
    assert_eq!(secret["metadata"]["name"], "app");
    assert_eq!(secret["metadata"]["labels"]["extra"], "yes");

    // Asking for another scope is refused and leaves the file as it was.
    let mut cmd = sealbox(home.path());
    cmd.env("SEALBOX_KEYRING", &keyring)
        .args(["seal", "--scope", "strict", "--merge-into"])
        .arg(&file);
    let out = run_with_stdin(cmd, more.as_bytes());
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), merged);
}

#[test]
fn a_failed_run_leaves_an_existing_output_file_untouched() {
    let home = tempfile::tempdir().unwrap();
    let out_file = home.path().join("sealed.json");
    std::fs::write(&out_file, "previous content\n").unwrap();
    // Second document fails (empty data): nothing is written, not even the first.
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\nstringData: {k: v}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: ns}\n";
    let mut cmd = sealbox(home.path());
    cmd.args(["seal", "--cert"])
        .arg(cert_fixture("byo-rsa2048.cert.pem"))
        .arg("-w")
        .arg(&out_file);
    let out = run_with_stdin(cmd, input.as_bytes());
    assert_eq!(out.status.code(), Some(14));
    assert!(stderr(&out).contains("document 2"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "previous content\n"
    );
    let names: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
}

#[test]
fn error_messages_never_echo_values() {
    let home = tempfile::tempdir().unwrap();
    for (input, code) in [
        (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\nstringData:\n  pin: 73519\n",
            10,
        ),
        (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\ndata:\n  pin: \"73519!!\"\n",
            10,
        ),
        (
            "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\nstringData:\n  pin: \"73519\n  x: [\n",
            10,
        ),
        (
            "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"stringData\":{\"pin\":\"73519\"},,}",
            10,
        ),
    ] {
        let mut cmd = sealbox(home.path());
        cmd.args(["seal", "--cert"])
            .arg(cert_fixture("byo-rsa2048.cert.pem"));
        let out = run_with_stdin(cmd, input.as_bytes());
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        assert!(!stderr(&out).contains("73519"), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_certificate_comes_from_a_url_or_the_environment_like_kubeseal() {
    let cert = std::fs::read(cert_fixture("byo-rsa2048.cert.pem")).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut stream, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = stream.read(&mut buf).unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let response = if request.starts_with("GET /v1/cert.pem ") {
                let mut r = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-pem-file\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    cert.len()
                )
                .into_bytes();
                r.extend_from_slice(&cert);
                r
            } else {
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec()
            };
            stream.write_all(&response).unwrap();
        }
    });
    let home = tempfile::tempdir().unwrap();
    let input =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\nstringData: {k: v}\n";
    let mut cmd = sealbox(home.path());
    cmd.args([
        "seal",
        "--cert",
        &format!("http://127.0.0.1:{port}/v1/cert.pem"),
    ]);
    let sealed = ok(run_with_stdin(cmd, input.as_bytes()));
    assert!(
        sealed.contains("\"k\": \"AQ"),
        "2048-bit key: blob starts 01 00"
    );
    let mut cmd = sealbox(home.path());
    cmd.args([
        "seal",
        "--cert",
        &format!("http://127.0.0.1:{port}/nothing"),
    ]);
    let out = run_with_stdin(cmd, input.as_bytes());
    assert_eq!(out.status.code(), Some(13));
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    server.join().unwrap();

    // SEALED_SECRETS_CERT, and file:// URLs.
    let mut cmd = sealbox(home.path());
    cmd.env(
        "SEALED_SECRETS_CERT",
        format!("file://{}", cert_fixture("byo-rsa2048.cert.pem").display()),
    )
    .arg("seal");
    ok(run_with_stdin(cmd, input.as_bytes()));
    // A bare SPKI public key works as --cert too.
    let mut cmd = sealbox(home.path());
    cmd.args(["seal", "--cert"])
        .arg(cert_fixture("byo-rsa2048.pub.pem"));
    ok(run_with_stdin(cmd, input.as_bytes()));
}

#[test]
fn a_missing_namespace_comes_from_the_kubeconfig_context_like_kubeseal() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n- name: dev\n  context:\n    cluster: c\n    user: u\n    namespace: from-context\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let input = "apiVersion: v1\nkind: Secret\nmetadata: {name: a}\nstringData: {k: v}\n";
    let mut cmd = sealbox(home.path());
    cmd.env("KUBECONFIG", &kubeconfig)
        .args(["seal", "--cert"])
        .arg(cert_fixture("byo-rsa2048.cert.pem"));
    let sealed: Value = serde_json::from_str(&ok(run_with_stdin(cmd, input.as_bytes()))).unwrap();
    assert_eq!(sealed["metadata"]["namespace"], "from-context");
    assert_eq!(
        sealed["spec"]["template"]["metadata"]["namespace"],
        "from-context"
    );
    // -n wins over the context.
    let mut cmd = sealbox(home.path());
    cmd.env("KUBECONFIG", &kubeconfig)
        .args(["seal", "-n", "flag", "--cert"])
        .arg(cert_fixture("byo-rsa2048.cert.pem"));
    let sealed: Value = serde_json::from_str(&ok(run_with_stdin(cmd, input.as_bytes()))).unwrap();
    assert_eq!(sealed["metadata"]["namespace"], "flag");
}
