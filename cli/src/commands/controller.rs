//! `sealbox controller`: the in-cluster controller, a drop-in for Bitnami's
//! `sealed-secrets-controller` (same flags, same `SEALED_SECRETS_<FLAG>` environment
//! variables, same key Secrets, endpoints and metrics).
//!
//! Every flag is documented in `docs/controller.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use jiff::{SignedDuration, Timestamp};
use sealbox_controller::keystore::KeyOrder;
use sealbox_controller::keystore::rotation::RotationConfig;
use sealbox_controller::run::{self, Config};
use sealbox_keys::sealing::{DEFAULT_KEY_PREFIX, KeySize, RotationPolicy};
use tokio::sync::mpsc;

use crate::Global;
use crate::exit::{Code, fail};

/// Log output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Run the in-cluster controller (Bitnami sealed-secrets-controller compatible).
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Run the sealbox controller: unseal SealedSecrets into Secrets, keep sealing keys \
(Bitnami-compatible kubernetes.io/tls Secrets labelled sealedsecrets.bitnami.com/sealed-secrets-key=active) \
and serve /v1/cert.pem, /v1/verify, /v1/rotate, /healthz, /readyz and /metrics.\n\n\
Flags and their SEALED_SECRETS_<FLAG> environment variables are those of Bitnami's controller, \
so an existing Deployment keeps its arguments. The cluster is found in-cluster first, then \
through KUBECONFIG / ~/.kube/config."
)]
pub struct Args {
    /// Prefix of key Secret names (a new key is `<prefix><5 chars>`).
    #[arg(long, env = "SEALED_SECRETS_KEY_PREFIX", default_value = DEFAULT_KEY_PREFIX)]
    pub key_prefix: String,
    /// Size of new RSA keys (2048, 3072 or 4096).
    #[arg(long, env = "SEALED_SECRETS_KEY_SIZE", default_value_t = 4096)]
    pub key_size: usize,
    /// Validity of new certificates (Go duration, e.g. 87600h).
    #[arg(long, env = "SEALED_SECRETS_KEY_TTL", default_value = "87600h", value_parser = parse_go_duration)]
    pub key_ttl: SignedDuration,
    /// Common name of new certificates (empty: empty subject, like Bitnami).
    #[arg(long, env = "SEALED_SECRETS_MY_CN", default_value = "")]
    pub my_cn: String,
    /// New key period (Go duration; 0 disables renewal).
    #[arg(long, visible_alias = "rotate-period", env = "SEALED_SECRETS_KEY_RENEW_PERIOD", default_value = "720h", value_parser = parse_go_duration)]
    pub key_renew_period: SignedDuration,
    /// Make a new key at start if the newest is older than this (RFC 1123 with numeric
    /// zone, e.g. "Mon, 02 Jan 2006 15:04:05 -0700").
    #[arg(long, env = "SEALED_SECRETS_KEY_CUTOFF_TIME", value_parser = parse_rfc1123z)]
    pub key_cutoff_time: Option<Timestamp>,
    /// Which time makes a key the newest: CertNotBefore (the certificate's NotBefore) or
    /// SecretCreationTimestamp (the key Secret's creation time).
    #[arg(long, env = "SEALED_SECRETS_KEY_ORDER_PRIORITY", default_value = "CertNotBefore", value_parser = ["CertNotBefore", "SecretCreationTimestamp"])]
    pub key_order_priority: String,
    /// Accept the deprecated `spec.data` format.
    #[arg(long, env = "SEALED_SECRETS_ACCEPT_DEPRECATED_V1_DATA", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub accept_deprecated_v1_data: bool,
    /// Watch SealedSecrets in every namespace (false: only the controller's and --additional-namespaces).
    #[arg(long, env = "SEALED_SECRETS_ALL_NAMESPACES", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub all_namespaces: bool,
    /// Comma-separated namespaces to watch besides the controller's.
    #[arg(long, env = "SEALED_SECRETS_ADDITIONAL_NAMESPACES", default_value = "")]
    pub additional_namespaces: String,
    /// Only SealedSecrets matching this label selector.
    #[arg(long, env = "SEALED_SECRETS_LABEL_SELECTOR", default_value = "")]
    pub label_selector: String,
    /// Sustained /v1/verify requests per second per client.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT", default_value_t = 2)]
    pub rate_limit: u32,
    /// /v1/verify burst per client.
    #[arg(long, env = "SEALED_SECRETS_RATE_LIMIT_BURST", default_value_t = 2)]
    pub rate_limit_burst: u32,
    /// Extra annotations on new key Secrets (k=v,k=v).
    #[arg(
        long,
        env = "SEALED_SECRETS_PRIVATEKEY_ANNOTATIONS",
        default_value = ""
    )]
    pub privatekey_annotations: String,
    /// Extra labels on new key Secrets (k=v,k=v).
    #[arg(long, env = "SEALED_SECRETS_PRIVATEKEY_LABELS", default_value = "")]
    pub privatekey_labels: String,
    /// Write the Synced status condition.
    #[arg(long, env = "SEALED_SECRETS_UPDATE_STATUS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub update_status: bool,
    /// Do not watch target Secrets (deleted/edited Secrets are repaired only on the next
    /// SealedSecret change); saves memory on clusters with very many Secrets.
    #[arg(long, env = "SEALED_SECRETS_SKIP_RECREATE", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub skip_recreate: bool,
    /// Accepted for compatibility: key Secrets are always watched.
    #[arg(long, env = "SEALED_SECRETS_WATCH_FOR_SECRETS", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub watch_for_secrets: bool,
    /// Accepted for compatibility: failed objects are retried with exponential backoff
    /// (capped at 5 minutes) for as long as they fail.
    #[arg(long, env = "SEALED_SECRETS_MAX_UNSEAL_RETRIES", default_value_t = 5)]
    pub max_unseal_retries: u32,
    /// Log level: ERROR, WARN, INFO, DEBUG or TRACE.
    #[arg(long, env = "SEALED_SECRETS_LOG_LEVEL", default_value = "INFO")]
    pub log_level: String,
    /// Log format.
    #[arg(
        long,
        env = "SEALED_SECRETS_LOG_FORMAT",
        value_enum,
        default_value = "text",
        ignore_case = true
    )]
    pub log_format: LogFormat,
    /// Accepted for compatibility: logs go to stdout.
    #[arg(long, env = "SEALED_SECRETS_LOG_INFO_STDOUT", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub log_info_stdout: bool,
    /// Accepted for compatibility (kube-rs has no client-side rate limiter).
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_QPS", default_value_t = 5.0)]
    pub kubeclient_qps: f32,
    /// Accepted for compatibility (see --kubeclient-qps).
    #[arg(long, env = "SEALED_SECRETS_KUBECLIENT_BURST", default_value_t = 10)]
    pub kubeclient_burst: u32,
    /// API listener (cert, verify, rotate, probes).
    #[arg(long, env = "SEALED_SECRETS_LISTEN_ADDR", default_value = ":8080")]
    pub listen_addr: String,
    /// Metrics listener.
    #[arg(
        long,
        env = "SEALED_SECRETS_LISTEN_METRICS_ADDR",
        default_value = ":8081"
    )]
    pub listen_metrics_addr: String,
    /// The controller's namespace (key Secrets, lease). Default: $POD_NAMESPACE, the
    /// service account's namespace, else "default".
    #[arg(
        long = "controller-namespace",
        env = "SEALED_SECRETS_CONTROLLER_NAMESPACE"
    )]
    pub controller_namespace: Option<String>,
    /// Reconciles in flight at once.
    #[arg(long, env = "SEALED_SECRETS_WORKERS", default_value_t = 16)]
    pub workers: u16,
    /// Threads doing RSA decryption at once (default: the number of CPUs).
    #[arg(long, env = "SEALED_SECRETS_UNSEAL_THREADS")]
    pub unseal_threads: Option<usize>,
    /// Re-check every SealedSecret this often (Go duration; 0: only on change). Cheap:
    /// unchanged objects need no RSA work.
    #[arg(long, env = "SEALED_SECRETS_RESYNC_PERIOD", default_value = "0", value_parser = parse_go_duration)]
    pub resync_period: SignedDuration,
    /// Elect a leader on a Lease (run several replicas; followers serve HTTP only).
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECT", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: bool,
    /// Lease name for leader election.
    #[arg(
        long,
        env = "SEALED_SECRETS_LEADER_ELECTION_ID",
        default_value = "sealbox-controller"
    )]
    pub leader_election_id: String,
    /// Lease duration (Go duration).
    #[arg(long, env = "SEALED_SECRETS_LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = parse_go_duration)]
    pub leader_election_lease_duration: SignedDuration,
    /// Kubeconfig file (default: in-cluster, then $KUBECONFIG / ~/.kube/config).
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context.
    #[arg(long)]
    pub context: Option<String>,
}

/// Parse a Go duration (`720h`, `1h30m`, `15s`, `0`).
pub fn parse_go_duration(s: &str) -> Result<SignedDuration, String> {
    let s = s.trim();
    if s == "0" || s.is_empty() {
        return Ok(SignedDuration::ZERO);
    }
    let mut total = SignedDuration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{s:?}: missing unit (expected e.g. 720h, 30m, 15s)"))?;
        let (number, tail) = rest.split_at(digits);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let n: f64 = number
            .parse()
            .map_err(|_| format!("{s:?}: {number:?} is not a number"))?;
        let secs = match unit {
            "h" => n * 3600.0,
            "m" => n * 60.0,
            "s" => n,
            "ms" => n / 1000.0,
            other => return Err(format!("{s:?}: unknown unit {other:?} (use h, m, s or ms)")),
        };
        total = total
            .checked_add(SignedDuration::from_secs_f64(secs))
            .ok_or_else(|| format!("{s:?}: too long"))?;
        rest = tail;
    }
    Ok(total)
}

/// Parse Go's RFC1123Z (`Mon, 02 Jan 2006 15:04:05 -0700`).
fn parse_rfc1123z(s: &str) -> Result<Timestamp, String> {
    jiff::fmt::strtime::parse("%a, %d %b %Y %H:%M:%S %z", s)
        .and_then(|t| t.to_timestamp())
        .map_err(|e| format!("{s:?} is not RFC 1123 with a numeric zone ({e})"))
}

/// Parse `k=v,k=v` (Bitnami's --privatekey-labels/annotations).
fn parse_pairs(flag: &str, s: &str) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| fail(Code::Usage, format!("--{flag}: {pair:?} is not key=value")))?;
        out.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(out)
}

fn to_std(d: SignedDuration) -> Duration {
    d.unsigned_abs()
}

fn init_logging(args: &Args) -> anyhow::Result<()> {
    let level = match args.log_level.to_ascii_uppercase().as_str() {
        "ERROR" => "error",
        "WARN" | "WARNING" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        "TRACE" => "trace",
        other => {
            return Err(fail(
                Code::Usage,
                format!("--log-level {other:?}: expected ERROR, WARN, INFO, DEBUG or TRACE"),
            ));
        }
    };
    // Our crates at the chosen level; the kube/hyper stack one notch quieter.
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEALBOX_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!(
            "warn,sealbox={level},sealbox_controller={level},sealbox_keys={level}"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let result = match args.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("setting up logging: {e}"))
}

/// Build a client: in-cluster first, then the kubeconfig.
pub async fn client(
    kubeconfig: Option<&PathBuf>,
    context: Option<&str>,
) -> anyhow::Result<kube::Client> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &options).await?
        }
        None => match kube::Config::incluster() {
            Ok(c) if context.is_none() => c,
            _ => kube::Config::from_kubeconfig(&options)
                .await
                .context("no in-cluster configuration and no usable kubeconfig")?,
        },
    };
    kube::Client::try_from(config).context("building the Kubernetes client")
}

/// Run `sealbox controller`.
pub fn run(_global: &Global, args: Args) -> anyhow::Result<()> {
    // First thing: one TLS provider for the whole process (kube and reqwest both use rustls).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_logging(&args)?;
    let key_size = KeySize::from_bits(args.key_size).ok_or_else(|| {
        fail(
            Code::Usage,
            format!("--key-size {}: expected 2048, 3072 or 4096", args.key_size),
        )
    })?;
    let namespace = args
        .controller_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(run::my_namespace);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let identity = std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("sealbox-{}", std::process::id()));
    let config = Config {
        namespace: namespace.clone(),
        all_namespaces: args.all_namespaces,
        additional_namespaces: args
            .additional_namespaces
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        label_selector: Some(args.label_selector.clone()).filter(|s| !s.is_empty()),
        listen_addr: args.listen_addr.clone(),
        listen_metrics_addr: args.listen_metrics_addr.clone(),
        accept_deprecated_v1_data: args.accept_deprecated_v1_data,
        update_status: args.update_status,
        skip_recreate: args.skip_recreate,
        rotation: RotationConfig {
            namespace,
            policy: RotationPolicy {
                renew_period: Some(args.key_renew_period).filter(|p| p.is_positive()),
                cutoff: args.key_cutoff_time,
                key_ttl: args.key_ttl,
                key_size,
                name_prefix: args.key_prefix.clone(),
            },
            common_name: Some(args.my_cn.clone()).filter(|s| !s.is_empty()),
            labels: parse_pairs("privatekey-labels", &args.privatekey_labels)?,
            annotations: parse_pairs("privatekey-annotations", &args.privatekey_annotations)?,
        },
        key_order: match args.key_order_priority.as_str() {
            "SecretCreationTimestamp" => KeyOrder::SecretCreationTimestamp,
            _ => KeyOrder::CertNotBefore,
        },
        rate_limit: args.rate_limit,
        rate_limit_burst: args.rate_limit_burst,
        workers: args.workers,
        unseal_threads: args.unseal_threads.unwrap_or(threads),
        resync_period: Some(to_std(args.resync_period)).filter(|d| !d.is_zero()),
        leader_elect: args.leader_elect,
        lease_name: args.leader_election_id.clone(),
        lease_duration: to_std(args.leader_election_lease_duration),
        identity,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sealbox")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let client = client(args.kubeconfig.as_ref(), args.context.as_deref())
            .await
            .map_err(|e| fail(Code::Cluster, format!("{e:#}")))?;
        let (rotate_tx, rotate_rx) = mpsc::channel(1);
        spawn_usr1(rotate_tx);
        tracing::info!(namespace = %config.namespace, version = %config.version, "starting sealbox controller");
        run::run(config, client, shutdown_signal(), rotate_rx, None)
            .await
            .map_err(|e| fail(Code::Cluster, e.to_string()))
    })
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("termination signal received");
}

/// SIGUSR1 asks for a new sealing key now (Bitnami's manual renewal).
fn spawn_usr1(tx: mpsc::Sender<()>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
            return;
        };
        while usr1.recv().await.is_some() {
            tracing::info!("SIGUSR1: making a new sealing key");
            let _ = tx.try_send(());
        }
    });
    #[cfg(not(unix))]
    drop(tx);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("720h").unwrap(),
            SignedDuration::from_hours(720)
        );
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            SignedDuration::from_secs(5400)
        );
        assert_eq!(parse_go_duration("0").unwrap(), SignedDuration::ZERO);
        assert_eq!(
            parse_go_duration("15s").unwrap(),
            SignedDuration::from_secs(15)
        );
        assert!(parse_go_duration("10").is_err());
        assert!(parse_go_duration("3d").is_err());
    }

    #[test]
    fn rfc1123z_and_pairs() {
        let t = parse_rfc1123z("Mon, 02 Jan 2006 15:04:05 -0700").unwrap();
        assert_eq!(t.to_string(), "2006-01-02T22:04:05Z");
        let p = parse_pairs("x", "a=1, b=2").unwrap();
        assert_eq!(p["b"], "2");
        assert!(parse_pairs("x", "nope").is_err());
    }
}
