//! The real `sealbox controller` binary serves ExternalSecrets (the family is registered in
//! its run loop), exports ESO's metric names, and never logs a secret value — not even at
//! DEBUG, not even for failures.

use std::process::Stdio;

use tokio::process::Command;

use super::*;

fn sealbox_binary() -> PathBuf {
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

async fn drain(mut pipe: impl tokio::io::AsyncRead + Unpin) -> String {
    let mut out = Vec::new();
    let _ = pipe.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_binary_syncs_external_secrets_without_logging_values() {
    let double = cluster().await;
    double
        .install_crd(serde_json::to_value(sealbox_controller::api::sealed_secret_crd()).unwrap())
        .unwrap();
    put_store(
        &double,
        "app",
        "fake",
        json!({"fake": {"data": [
            {"key": "app/db", "value": r#"{"user":"bin-user-value","password":"bin-secret-value"}"#}
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
    put_es(
        &double,
        "app",
        "bad-template",
        json!({
            "secretStoreRef": {"name": "fake"},
            "target": {"template": {"data": {"x": "{{ .password | b64dec | fail }}"}}},
            "dataFrom": [{"extract": {"key": "app/db"}}]
        }),
    );
    put_es(
        &double,
        "app",
        "missing",
        json!({
            "secretStoreRef": {"name": "fake"},
            "data": [{"secretKey": "k", "remoteRef": {"key": "nope"}}]
        }),
    );
    let metrics_port = free_port();
    let mut child = Command::new(sealbox_binary())
        .arg("controller")
        .args(["--log-format", "json", "--log-level", "DEBUG"])
        .args(["--listen-addr", &format!("127.0.0.1:{}", free_port())])
        .args([
            "--listen-metrics-addr",
            &format!("127.0.0.1:{metrics_port}"),
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
    let out = tokio::spawn(drain(child.stdout.take().unwrap()));
    let err = tokio::spawn(drain(child.stderr.take().unwrap()));
    eventually("good synced by the binary", WAIT, || {
        secret_data(&double, "app", "good")
            .is_some_and(|d| d["dsn"] == "pg://bin-user-value:bin-secret-value@db")
    })
    .await;
    eventually("failures reported", WAIT, || {
        ready(&double, "app", "bad-template").is_some_and(|r| r.0 == "False")
            && ready(&double, "app", "missing").is_some_and(|r| r.0 == "False")
    })
    .await;
    // A few refresh cycles (refreshInterval 1s) so the debug logs cover them too.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, text) = http(
        "GET",
        &format!("http://127.0.0.1:{metrics_port}/metrics"),
        &[],
        None,
    )
    .await;
    assert_eq!(status, 200);
    for name in [
        "externalsecret_sync_calls_total",
        "externalsecret_status_condition",
        "externalsecret_provider_api_calls_count",
        "secretstore_status_condition",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
    let pid = child.id().expect("running") as i32;
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap()
            .success()
    );
    let exit = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits after SIGTERM")
        .unwrap();
    let logs = format!("{}{}", out.await.unwrap(), err.await.unwrap());
    assert!(exit.success(), "exit {exit:?}\n{logs}");
    assert!(
        logs.contains("ExternalSecret not synced"),
        "failures are logged"
    );
    for value in ["bin-secret-value", "bin-user-value"] {
        assert!(!logs.contains(value), "a secret value reached the logs");
    }
    for e in double.events(Some("app")) {
        assert!(!e.to_string().contains("bin-secret-value"));
    }
}
