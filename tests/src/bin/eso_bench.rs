//! `sealbox-eso-bench`: time-to-all-synced and the controller's peak memory for N
//! ExternalSecrets, with the real `sealbox controller` binary as a child process, the API
//! double in this process and moto as AWS Secrets Manager. Run it through
//! `bench/eso.sh` (release build, peers started); it prints one JSON line per run.
//!
//! Setup: 100 AWS secrets (two properties each), one ClusterSecretStore, N ExternalSecrets
//! spread over 10 namespaces, each reading both properties of secret `i % 100`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use sealbox_controller::api::external::crds;
use sealbox_providers::aws::{AwsAuth, AwsConfig};
use sealbox_providers::{
    LayerConfig, Metrics, PushRef, RequestLayer, SecretValue, StoreClient, StoreConfig,
};
use sealbox_tests::apiserver::{ApiServer, Options};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(about = "ExternalSecret benchmark: sealbox controller + API double + moto")]
struct Args {
    /// Number of ExternalSecrets.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// moto URL (AWS Secrets Manager).
    #[arg(long, env = "SEALBOX_TEST_MOTO_URL")]
    moto: String,
    /// The sealbox binary (release build).
    #[arg(long, default_value = "target/release/sealbox")]
    sealbox: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let double = ApiServer::start_with(Options {
        history: 200_000,
        ..Options::default()
    })
    .await
    .context("API double")?;
    for crd in crds() {
        double
            .install_crd(serde_json::to_value(crd)?)
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    double
        .install_crd(serde_json::to_value(
            sealbox_controller::api::sealed_secret_crd(),
        )?)
        .map_err(|e| anyhow::anyhow!(e.message))?;
    let namespaces: Vec<String> = (0..10).map(|i| format!("bench-{i}")).collect();
    for ns in &namespaces {
        double
            .create_namespace(ns)
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }

    // 100 remote secrets in moto.
    let seeder = StoreClient::connect(
        "seeder",
        StoreConfig::Aws(AwsConfig {
            region: "us-east-1".into(),
            auth: AwsAuth::Static {
                access_key_id: "test".into(),
                secret_access_key: "test".into(),
                session_token: None,
            },
            endpoint_url: Some(args.moto.clone()),
            ..AwsConfig::default()
        }),
        RequestLayer::new(LayerConfig::default(), Metrics::default()),
    )
    .await?;
    let metadata = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1", "kind": "PushSecretMetadata", "spec": {"secretPushFormat": "string"}});
    for i in 0..100 {
        let value = json!({"user": format!("user-{i}"), "password": format!("pw-{i}")}).to_string();
        seeder
            .push(
                &PushRef::key(format!("bench/s{i}")),
                &SecretValue::from_text(value),
                Some(&metadata),
            )
            .await?;
    }

    double
        .put(
            "v1",
            "secrets",
            json!({"metadata": {"name": "aws-creds", "namespace": "kube-system"},
            "stringData": {"id": "test", "secret": "test"}}),
        )
        .map_err(|e| anyhow::anyhow!(e.message))?;
    double
        .put("external-secrets.io/v1", "clustersecretstores", json!({
            "apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
            "metadata": {"name": "aws"},
            "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1",
                "auth": {"secretRef": {
                    "accessKeyIDSecretRef": {"name": "aws-creds", "namespace": "kube-system", "key": "id"},
                    "secretAccessKeySecretRef": {"name": "aws-creds", "namespace": "kube-system", "key": "secret"}}}}}}
        }))
        .map_err(|e| anyhow::anyhow!(e.message))?;
    for i in 0..args.count {
        let ns = &namespaces[i % namespaces.len()];
        double
            .put("external-secrets.io/v1", "externalsecrets", json!({
                "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret",
                "metadata": {"name": format!("es-{i}"), "namespace": ns},
                "spec": {
                    "refreshInterval": "1h",
                    "secretStoreRef": {"name": "aws", "kind": "ClusterSecretStore"},
                    "data": [
                        {"secretKey": "user", "remoteRef": {"key": format!("bench/s{}", i % 100), "property": "user"}},
                        {"secretKey": "password", "remoteRef": {"key": format!("bench/s{}", i % 100), "property": "password"}}
                    ]
                }
            }))
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }

    let started = Instant::now();
    let mut child = Command::new(&args.sealbox)
        .args([
            "controller",
            "--kubeconfig",
            &double.kubeconfig_path().display().to_string(),
            "--listen-addr",
            "127.0.0.1:0",
            "--listen-metrics-addr",
            "127.0.0.1:0",
            "--key-size",
            "2048",
            "--controller-namespace",
            "kube-system",
            "--log-level",
            "WARN",
        ])
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &args.moto)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", args.sealbox.display()))?;
    let pid = child.id();
    let mut peak_rss = 0u64;
    let deadline = started + Duration::from_secs(args.timeout);
    let synced_at = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        peak_rss = peak_rss.max(rss_kib(pid, "VmRSS:").unwrap_or(0));
        let ready = (0..args.count)
            .filter(|i| {
                double
                    .get(
                        "external-secrets.io/v1",
                        "externalsecrets",
                        Some(&namespaces[i % namespaces.len()]),
                        &format!("es-{i}"),
                    )
                    .and_then(|es| es.pointer("/status/conditions/0/status").cloned())
                    == Some(Value::from("True"))
            })
            .count();
        if ready == args.count {
            break started.elapsed();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!(
                "only {ready} of {} ExternalSecrets synced after {:?}",
                args.count,
                args.timeout
            );
        }
    };
    // A quiet period after the sync: memory at rest.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let settled_rss = rss_kib(pid, "VmRSS:").unwrap_or(0);
    let hwm = rss_kib(pid, "VmHWM:").unwrap_or(peak_rss);
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "{}",
        json!({
            "external_secrets": args.count,
            "time_to_all_synced_s": (synced_at.as_secs_f64() * 100.0).round() / 100.0,
            "peak_rss_mib": (hwm as f64 / 1024.0 * 10.0).round() / 10.0,
            "rss_after_sync_mib": (settled_rss as f64 / 1024.0 * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
