//! The real `sealbox controller` binary at DEBUG, serving all three families at once against
//! the API double, with known plaintexts; its logs and everything it wrote are scanned.

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealbox_controller::api::external::crds as eso_crds;
use sealbox_controller::api::{parse_documents, sops_secret};
use sealbox_tests::apiserver::ApiServer;
use sealbox_tests::leak_scan::{ApiRecorder, LeakScan};
use serde_json::{Value, json};

use crate::controller::binary::{Controller, sealbox_binary};
use crate::controller::{
    apply_fixture, cluster, eventually, plaintexts, read_fixture, secret, synced,
};
use crate::external::{put_es, put_store, ready};

const WAIT: Duration = Duration::from_secs(90);
const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

fn alice_identity() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keys/tests/fixtures/sops/keys/alice.agekey"
    ))
    .unwrap()
}

/// A SopsSecret encrypted by the sealbox binary (`--mac-only-encrypted`, data/stringData
/// encrypted), as the object to store.
fn sops_secret_object(name: &str, password: &str, username: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.yaml");
    std::fs::write(
        &path,
        format!(
            "apiVersion: sealbox.dev/v1alpha1\nkind: SopsSecret\nmetadata:\n  name: {name}\n  namespace: demo\nspec:\n  ageKeySecretRef:\n    name: sops-age\n  template:\n    type: Opaque\n    stringData:\n      password: {password}\n      username: {username}\n"
        ),
    )
    .unwrap();
    let out = Command::new(sealbox_binary())
        .args([
            "encrypt",
            "--mac-only-encrypted",
            "--encrypted-regex",
            "^(data|stringData)$",
            "--age",
            ALICE,
        ])
        .arg(&path)
        .env_clear()
        .env("HOME", dir.path())
        .env("SEALBOX_KEYRING", dir.path().join("keyring"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    parse_documents("sops-secret", &text)
        .unwrap()
        .remove(0)
        .value
}

fn condition(
    double: &ApiServer,
    api: &str,
    plural: &str,
    name: &str,
    kind: &str,
) -> Option<String> {
    let o = double.get(api, plural, Some("demo"), name)?;
    o.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .and_then(|c| c["status"].as_str())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_never_logs_or_writes_a_value_outside_secrets() {
    // Values of every family.
    let es_user = "ctl-es-Uu11-user".to_owned();
    let es_pw = "ctl-es-Pw22-password".to_owned();
    let es_raw = "ctl-es-Nj33-notjson".to_owned();
    let sops_pw = "ctl-sops-Sp44-password".to_owned();
    let sops_user = "ctl-sops-Su55-username".to_owned();
    let age_line = alice_identity()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_owned();
    let key_body = read_fixture("sealing-key-1.key.pem")
        .lines()
        .nth(3)
        .unwrap()
        .to_owned();
    let mut secrets: Vec<String> = plaintexts()
        .into_iter()
        .filter(|p| p.len() >= sealbox_tests::leak_scan::MIN_LEN)
        .collect();
    secrets.extend([
        es_user.clone(),
        es_pw.clone(),
        es_raw.clone(),
        sops_pw.clone(),
        sops_user.clone(),
        age_line,
        key_body,
    ]);
    let mut scan = LeakScan::new(&secrets);

    // One cluster with the three families' CRDs and the restored sealing keys.
    let double = cluster(true).await;
    for crd in eso_crds() {
        double
            .install_crd(serde_json::to_value(crd).unwrap())
            .unwrap();
    }
    double.install_crd(sops_secret::crd()).unwrap();
    double.create_namespace("app").unwrap();
    let mut recorder = ApiRecorder::start(&double);

    // SealedSecrets: fixtures that open, one renamed (strict: refused) and one tampered.
    apply_fixture(&double, "strict.yaml");
    apply_fixture(&double, "namespace-wide.yaml");
    apply_fixture(&double, "strict-template.yaml");
    let strict = parse_documents("strict", &read_fixture("strict.yaml")).unwrap()[0]
        .value
        .clone();
    let mut moved = strict.clone();
    moved["metadata"]["name"] = json!("moved-strict");
    double
        .put("bitnami.com/v1alpha1", "sealedsecrets", moved)
        .unwrap();
    let mut tampered = strict.clone();
    tampered["metadata"]["name"] = json!("tampered-strict");
    tampered["spec"]["template"]["metadata"]["name"] = json!("tampered-strict");
    let items = tampered["spec"]["encryptedData"].as_object_mut().unwrap();
    for v in items.values_mut() {
        let mut b = v.as_str().unwrap().as_bytes().to_vec();
        b[100] = if b[100] == b'A' { b'B' } else { b'A' };
        *v = json!(String::from_utf8(b).unwrap());
    }
    double
        .put("bitnami.com/v1alpha1", "sealedsecrets", tampered)
        .unwrap();

    // ExternalSecrets with the fake provider: synced, failing template, not JSON, missing.
    put_store(
        &double,
        "app",
        "fake",
        json!({"fake": {"data": [
            {"key": "app/db", "value": format!(r#"{{"user":"{es_user}","password":"{es_pw}"}}"#)},
            {"key": "app/raw", "value": es_raw}
        ]}}),
    );
    put_es(
        &double,
        "app",
        "good",
        json!({
            "refreshInterval": "1s",
            "secretStoreRef": {"name": "fake"},
            "target": {"template": {"data": {"dsn": "pg://{{ .user }}:{{ .password }}@db"}}},
            "dataFrom": [{"extract": {"key": "app/db"}}]
        }),
    );
    for (name, spec) in [
        (
            "fail-template",
            json!({"target": {"template": {"data": {"x": "{{ fail .password }}"}}},
                   "dataFrom": [{"extract": {"key": "app/db"}}]}),
        ),
        (
            "not-json",
            json!({"dataFrom": [{"extract": {"key": "app/raw"}}]}),
        ),
        (
            "missing",
            json!({"data": [{"secretKey": "k", "remoteRef": {"key": "app/nope"}}]}),
        ),
    ] {
        let mut spec = spec;
        spec["secretStoreRef"] = json!({"name": "fake"});
        spec["refreshInterval"] = json!("1s");
        put_es(&double, "app", name, spec);
    }

    // SopsSecrets: one that decrypts, one tampered; the identity in a Secret.
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
    let good = sops_secret_object("sops-db", &sops_pw, &sops_user);
    let mut bad = sops_secret_object("sops-tampered", &sops_pw, &sops_user);
    let text = bad["spec"]["template"]["stringData"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let at = "ENC[AES256_GCM,data:".len();
    let mut b = text.into_bytes();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    bad["spec"]["template"]["stringData"]["password"] = json!(String::from_utf8(b).unwrap());
    for o in [good, bad] {
        double
            .put(sops_secret::API_VERSION, sops_secret::PLURAL, o)
            .unwrap();
    }

    let controller = Controller::start(double.kubeconfig_path(), &[]);
    eventually("SealedSecrets handled", WAIT, || {
        secret(&double, "demo", "db-credentials").is_some()
            && synced(&double, "demo", "moved-strict").is_some_and(|s| s.0 == "False")
            && synced(&double, "demo", "tampered-strict").is_some_and(|s| s.0 == "False")
    })
    .await;
    eventually("ExternalSecrets handled", WAIT, || {
        ready(&double, "app", "good").is_some_and(|r| r.0 == "True")
            && ["fail-template", "not-json", "missing"]
                .iter()
                .all(|n| ready(&double, "app", n).is_some_and(|r| r.0 == "False"))
    })
    .await;
    eventually("SopsSecrets handled", WAIT, || {
        let api = sops_secret::API_VERSION;
        let plural = sops_secret::PLURAL;
        condition(&double, api, plural, "sops-db", "Synced").as_deref() == Some("True")
            && condition(&double, api, plural, "sops-tampered", "Synced").as_deref()
                == Some("False")
    })
    .await;
    // The values did reach their Secrets (the scan below is not vacuous).
    let db = secret(&double, "app", "good").expect("ES target Secret");
    let dsn = STANDARD
        .decode(db["data"]["dsn"].as_str().unwrap())
        .unwrap();
    assert_eq!(dsn, format!("pg://{es_user}:{es_pw}@db").into_bytes());
    let sdb = secret(&double, "demo", "sops-db").expect("SopsSecret target Secret");
    assert_eq!(
        STANDARD
            .decode(sdb["data"]["password"].as_str().unwrap())
            .unwrap(),
        sops_pw.as_bytes()
    );
    // A few refresh cycles (1 s) so DEBUG logs cover resyncs too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let logs = controller.terminate().await;
    assert!(
        logs.lines().count() > 20 && logs.contains("DEBUG"),
        "DEBUG logs expected"
    );

    // The logs are about these objects (so the scan reads the right text).
    for name in ["tampered-strict", "fail-template", "sops-tampered"] {
        assert!(logs.contains(name), "{name} not in the logs");
    }
    scan.scan("controller logs (stdout+stderr, DEBUG)", &logs);
    scan.scan_api_writes(&mut recorder);
    assert!(recorder.recorded() > 20, "{} writes", recorder.recorded());
    // Control: the same scan does see a value where it belongs (a Secret's data).
    let mut control = LeakScan::new([&es_pw, &sops_pw]);
    control.scan("Secret app/good", db.to_string());
    control.scan("Secret demo/sops-db", sdb.to_string());
    assert_eq!(control.findings().len(), 2, "{:#?}", control.findings());
    scan.scan_api_state(&double);
    assert!(
        !double.events(None).is_empty(),
        "the scenario produced Events"
    );
    scan.assert_clean();
}
