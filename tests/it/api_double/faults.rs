//! Fault injection through the Rust handle and the standalone binary's admin endpoint.

use super::{api_status, secret, start};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams};
use sealbox_tests::apiserver::FaultRule;
use std::io::BufRead;
use std::time::{Duration, Instant};

#[tokio::test]
async fn injected_errors_latency_and_counts() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    api.create(&PostParams::default(), &secret("f", &[]))
        .await
        .unwrap();

    // 500 on the next two GETs of this path, then normal service.
    double
        .faults()
        .add(FaultRule::next(Some("get"), Some("/secrets/f"), 500, 2));
    for _ in 0..2 {
        let err = api_status(api.get("f").await.unwrap_err());
        assert_eq!((err.code, err.reason.as_str()), (500, "InternalError"));
    }
    api.get("f").await.unwrap();

    // Writes can be failed too; nothing is persisted.
    let rev = double.store().revision();
    double
        .faults()
        .add(FaultRule::next(Some("write"), Some("/secrets"), 500, 1));
    assert_eq!(
        api_status(
            api.create(&PostParams::default(), &secret("g", &[]))
                .await
                .unwrap_err()
        )
        .code,
        500
    );
    assert_eq!(double.store().revision(), rev);

    // 503 is retried by kube's client (server_retry policy) — the request is seen again.
    double.clear_requests();
    double
        .faults()
        .add(FaultRule::next(Some("list"), None, 503, 2));
    api.list(&ListParams::default()).await.unwrap();
    let lists: Vec<u16> = double
        .requests()
        .iter()
        .filter(|r| r.verb == "list")
        .map(|r| r.status)
        .collect();
    assert_eq!(lists, [503, 503, 200]);

    // A rate of 1.0 fails every matching request until cleared.
    double
        .faults()
        .add(FaultRule::rate(Some("get"), None, 500, 1.0));
    assert!(api.get("f").await.is_err());
    double.faults().clear();
    api.get("f").await.unwrap();

    // Latency.
    double.faults().set_latency(Duration::from_millis(300));
    let t = Instant::now();
    api.get("f").await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    double.faults().set_latency(Duration::ZERO);
}

#[tokio::test]
async fn watch_lag_delivers_one_resource_late_and_in_order() {
    use futures::StreamExt as _;
    use kube::runtime::{WatchStreamExt as _, watcher};

    /// Drive a watcher in the background: (name, when seen) of every touched object.
    fn follow<K>(api: Api<K>) -> tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>
    where
        K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut stream = watcher(api, watcher::Config::default())
                .touched_objects()
                .boxed();
            while let Some(Ok(o)) = stream.next().await {
                let name = o.meta().name.clone().unwrap_or_default();
                if tx.send((name, Instant::now())).is_err() {
                    return;
                }
            }
        });
        rx
    }

    let double = start().await;
    let client = double.client().unwrap();
    let lagged: Api<Secret> = Api::default_namespaced(client.clone());
    let prompt: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::default_namespaced(client.clone());
    let lag = Duration::from_millis(400);
    double.faults().set_watch_lag("secrets", lag);
    let mut secrets = follow(lagged.clone());
    let mut maps = follow(prompt.clone());
    // Both watches are open before anything is written (the initial lists are empty).
    assert!(
        super::eventually(Duration::from_secs(10), || double.count("watch", "/") >= 2).await,
        "watches started"
    );

    let t = Instant::now();
    for name in ["l1", "l2", "l3"] {
        lagged
            .create(&PostParams::default(), &secret(name, &[]))
            .await
            .unwrap();
    }
    let cm: k8s_openapi::api::core::v1::ConfigMap =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}})).unwrap();
    prompt.create(&PostParams::default(), &cm).await.unwrap();

    let (name, at) = maps.recv().await.unwrap();
    assert_eq!(name, "p");
    assert!(
        at.duration_since(t) < lag,
        "another resource is not lagged: {:?}",
        at.duration_since(t)
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (name, at) = secrets.recv().await.unwrap();
        assert!(
            at.duration_since(t) >= lag,
            "lagged: {:?}",
            at.duration_since(t)
        );
        seen.push(name);
    }
    assert_eq!(seen, ["l1", "l2", "l3"], "order kept");

    // Without lag, events flow promptly again.
    double.faults().set_watch_lag("secrets", Duration::ZERO);
    let t = Instant::now();
    lagged
        .create(&PostParams::default(), &secret("l4", &[]))
        .await
        .unwrap();
    let (name, at) = secrets.recv().await.unwrap();
    assert_eq!(name, "l4");
    assert!(at.duration_since(t) < lag, "{:?}", at.duration_since(t));
}

/// Kills the child process on drop so a failing test leaves no server behind.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn standalone_binary_serves_a_kubeconfig_and_admin_faults() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let crd = dir.path().join("crd.yaml");
    std::fs::write(
        &crd,
        serde_saphyr::to_string(&<super::Widget as kube::CustomResourceExt>::crd()).unwrap(),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sealbox-kube-double"))
        .args(["--port", "0", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .arg("--crd")
        .arg(&crd)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Child(child);
    // Keep the pipe open for the child's whole life (it prints more than one line).
    let mut lines = std::io::BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );

    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &secret("bin", &[]))
        .await
        .unwrap();
    let widgets: Api<super::Widget> = Api::default_namespaced(client.clone());
    widgets
        .create(&PostParams::default(), &super::widget("w", 1))
        .await
        .unwrap();

    let admin = |path: &str, body: &str| {
        axum::http::Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap()
    };
    client
        .request_text(admin(
            "/__double/faults",
            r#"{"verb":"get","path":"/secrets/bin","status":500,"count":1}"#,
        ))
        .await
        .unwrap();
    assert_eq!(api_status(api.get("bin").await.unwrap_err()).code, 500);
    api.get("bin").await.unwrap();
    let stats = client
        .request_text(
            axum::http::Request::get("/__double/stats")
                .body(Vec::new())
                .unwrap(),
        )
        .await
        .unwrap();
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert!(stats["persistedWrites"].as_u64().unwrap() >= 2);
    drop(child);
    drop(lines);
}
