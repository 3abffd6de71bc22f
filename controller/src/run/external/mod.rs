//! The External Secrets controllers: SecretStore, ClusterSecretStore, ExternalSecret,
//! ClusterExternalSecret and PushSecret, sharing one store pool (one client per store,
//! Vault tokens reused) and one request layer (cache + in-flight dedup + AWS batching).
//!
//! Scheduling (ESO #4231, #2878, #4180): reconciles run concurrently (`concurrency`,
//! default 32, ESO's default is 1); periodic refreshes run in per-store waves spread
//! between stores (`reconcile::external::plan::wave_due`); a periodic
//! refresh takes one of a limited number of slots (half the concurrency) and yields when
//! none is free, so never-synced and changed objects are never stuck behind a refresh
//! cycle; provider errors back off with jitter (capped at two minutes, ESO's grows to
//! ~15 minutes).

pub mod ces;
pub mod es;
pub mod metrics;
pub mod push;
pub mod stores;
pub mod watches;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use kube::api::{Api, PostParams};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt as _;
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use sealbox_providers::vault::JwtFetcher;
use sealbox_providers::{
    LayerConfig, Metrics as ProviderMetrics, ProviderError, RequestLayer, StorePool,
};
use secrecy::SecretString;
use tokio::sync::Semaphore;

use self::metrics::EsoMetrics;
use self::stores::CredentialCache;
use crate::api::external::{
    ClusterExternalSecret, ClusterSecretStore, ExternalSecret, PushSecret, SecretStore,
};
use crate::apply::{Applier, Backoff};
use crate::reconcile::external::store::{ProviderOptions, TokenSource};

/// How long the ExternalSecret controller waits for the store caches at start-up before
/// it starts anyway (a safety net; the wait normally ends after the first list).
pub const STORE_CACHE_WAIT: Duration = Duration::from_secs(30);

/// Settings of the External Secrets controllers.
#[derive(Clone, Debug)]
pub struct ExternalOptions {
    /// Reconciles in flight per kind (default 32).
    pub concurrency: u16,
    /// Periodic refreshes in flight at once (default: half of `concurrency`).
    pub periodic_slots: usize,
    /// Only stores whose `spec.controller` is empty or this (ESO `--controller-class`).
    pub controller_class: String,
    /// Provider settings that are the controller's (endpoint overrides).
    pub provider: ProviderOptions,
    /// The request layer (cache TTL).
    pub layer: LayerConfig,
    /// Store re-validation interval when the store does not set one (ESO's 5 minutes).
    pub store_refresh: Duration,
    /// Upper bound of the error backoff.
    pub backoff_cap: Duration,
    /// `None`: all namespaces; else only these.
    pub namespaces: Option<Vec<String>>,
    /// The controller's name on Events.
    pub reporter: String,
    /// This replica's identity on Events.
    pub instance: String,
}

impl Default for ExternalOptions {
    fn default() -> Self {
        ExternalOptions {
            concurrency: 32,
            periodic_slots: 16,
            controller_class: String::new(),
            provider: ProviderOptions {
                aws_endpoint_url: None,
                aws_batch_window: Some(Duration::from_millis(100)),
            },
            layer: LayerConfig {
                ttl: Duration::from_secs(30),
                ..LayerConfig::default()
            },
            store_refresh: Duration::from_secs(300),
            backoff_cap: Duration::from_secs(120),
            namespaces: None,
            reporter: "sealbox".into(),
            instance: "sealbox".into(),
        }
    }
}

/// What every reconcile of the family shares.
pub struct Shared {
    /// The client.
    pub client: kube::Client,
    /// Writes.
    pub applier: Applier,
    /// One client per store.
    pub pool: StorePool,
    /// Metrics.
    pub metrics: Arc<EsoMetrics>,
    /// Retry delays.
    pub backoff: Backoff,
    /// Options.
    pub options: ExternalOptions,
    /// SecretStores (reflector).
    pub secret_stores: Store<SecretStore>,
    /// ClusterSecretStores (reflector).
    pub cluster_stores: Store<ClusterSecretStore>,
    /// ExternalSecrets (reflector; for read-ahead of a store's refresh wave).
    pub external_secrets: Store<ExternalSecret>,
    /// When each store's wave was last read ahead.
    pub prefetched: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
    /// Slots for periodic refreshes.
    pub periodic: Arc<Semaphore>,
    /// Credential Secrets, briefly cached.
    pub credentials: CredentialCache,
    /// Service-account tokens for Vault logins.
    pub tokens: Arc<dyn TokenSource + Send + Sync>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// Tokens from the TokenRequest API, and the controller's own mounted token.
struct KubeTokens {
    client: kube::Client,
}

impl TokenSource for KubeTokens {
    fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: Vec<String>,
    ) -> JwtFetcher {
        let client = self.client.clone();
        let (namespace, name) = (namespace.to_owned(), name.to_owned());
        Arc::new(move || {
            let client = client.clone();
            let (namespace, name, audiences) = (namespace.clone(), name.clone(), audiences.clone());
            Box::pin(async move {
                let api: Api<ServiceAccount> = Api::namespaced(client, &namespace);
                let request = TokenRequest {
                    spec: TokenRequestSpec {
                        audiences,
                        expiration_seconds: Some(600),
                        ..TokenRequestSpec::default()
                    },
                    ..TokenRequest::default()
                };
                let answer = api
                    .create_token_request(&name, &PostParams::default(), &request)
                    .await
                    .map_err(|e| ProviderError::Config {
                        message: format!(
                            "requesting a token for service account {namespace}/{name}: {e}"
                        ),
                    })?;
                let token = answer.status.map(|s| s.token).unwrap_or_default();
                Ok(SecretString::from(token))
            })
        })
    }

    fn own_token(&self) -> JwtFetcher {
        Arc::new(|| {
            Box::pin(async {
                tokio::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/token")
                    .await
                    .map(|t| SecretString::from(t.trim().to_owned()))
                    .map_err(|e| ProviderError::Config {
                        message: format!("reading the controller's service account token: {e}"),
                    })
            })
        })
    }
}

/// Whether the API server serves `external-secrets.io/v1` (the CRDs are installed).
pub async fn crds_installed(client: &kube::Client) -> bool {
    let api: Api<ExternalSecret> = Api::all(client.clone());
    api.list_metadata(&kube::api::ListParams::default().limit(1))
        .await
        .is_ok()
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Run the family until `shutdown` resolves. Waits (checking every 30 s) until the CRDs
/// are installed, so a cluster without them only logs once.
pub async fn run(
    client: kube::Client,
    options: ExternalOptions,
    metrics: Arc<EsoMetrics>,
    shutdown: impl Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let mut logged = false;
    loop {
        if crds_installed(&client).await {
            break;
        }
        if !logged {
            tracing::info!(
                "external-secrets.io CRDs are not installed; ExternalSecret controllers wait for them"
            );
            logged = true;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
            () = shutdown.clone() => return,
        }
    }
    let scope = options.namespaces.clone().and_then(|n| match n.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    });
    if options.namespaces.as_ref().is_some_and(|n| n.len() > 1) {
        tracing::warn!(
            "ExternalSecret controllers watch one namespace or all; several namespaces given, watching all"
        );
    }
    let layer = RequestLayer::new(options.layer.clone(), ProviderMetrics::new(metrics.clone()));
    let concurrency = options.concurrency.max(1);

    // The controllers own their reflectors: their readiness can be awaited by any number
    // of tasks (see `watches` for why kube's own store readiness is not used).
    let (ss_store, ss_ready, ss_stream) = watches::reflect(
        scoped::<SecretStore>(&client, scope.as_deref()),
        watcher::Config::default(),
    );
    let ss_ctl = Controller::for_stream(ss_stream, ss_store.clone())
        .with_config(controller::Config::default().concurrency(concurrency));
    let (css_store, css_ready, css_stream) = watches::reflect(
        Api::<ClusterSecretStore>::all(client.clone()),
        watcher::Config::default(),
    );
    let css_ctl = Controller::for_stream(css_stream, css_store.clone())
        .with_config(controller::Config::default().concurrency(concurrency));
    // Managed Secrets, metadata only and label-filtered (ESO's memory fix #2625), mapped to
    // the ExternalSecrets targeting them by name — not only through owner references,
    // which only Owner targets carry: a deleted or edited target of any policy queues its
    // ExternalSecret at once, and the planner decides (ESO's behaviour matrix).
    let (es_store, _es_ready, es_stream) = watches::reflect(
        scoped::<ExternalSecret>(&client, scope.as_deref()),
        watcher::Config::default(),
    );
    let mapper_store = es_store.clone();
    let es_ctl = Controller::for_stream(es_stream, es_store.clone())
        .watches_stream(
            watches::managed_secrets(scoped::<PartialObjectMeta<Secret>>(
                &client,
                scope.as_deref(),
            )),
            move |secret| watches::targeting(&mapper_store, &secret),
        )
        .with_config(controller::Config::default().concurrency(concurrency))
        .graceful_shutdown_on(shutdown.clone());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: options.reporter.clone(),
            instance: Some(options.instance.clone()),
        },
    );
    let shared = Arc::new(Shared {
        client: client.clone(),
        applier: Applier::new(client.clone(), recorder),
        pool: StorePool::new(layer),
        metrics,
        backoff: Backoff::new(Duration::from_secs(1), options.backoff_cap),
        periodic: Arc::new(Semaphore::new(options.periodic_slots.max(1))),
        secret_stores: ss_store,
        cluster_stores: css_store,
        external_secrets: es_store,
        prefetched: std::sync::Mutex::default(),
        credentials: CredentialCache::default(),
        tokens: Arc::new(KubeTokens {
            client: client.clone(),
        }),
        options,
    });

    let ss_loop = {
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            ss_ctl
                .graceful_shutdown_on(shutdown)
                .run(stores::reconcile_secret_store, store_error_policy, shared)
                .for_each(|r| async move {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "SecretStore controller event");
                    }
                })
                .await;
        })
    };
    let css_loop = {
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            css_ctl
                .graceful_shutdown_on(shutdown)
                .run(stores::reconcile_cluster_store, store_error_policy, shared)
                .for_each(|r| async move {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "ClusterSecretStore controller event");
                    }
                })
                .await;
        })
    };
    // Stores must be known before ExternalSecrets ask for them (an ExternalSecret whose
    // store is not cached yet would report it missing and back off). The wait ends when
    // both store reflectors have listed; the bound is only a safety net for an API server
    // that cannot list them (the store controllers keep retrying; so do ExternalSecrets).
    let ready = async {
        ss_ready.wait().await;
        tracing::debug!("SecretStore cache ready");
        css_ready.wait().await;
        tracing::debug!("ClusterSecretStore cache ready");
    };
    if tokio::time::timeout(STORE_CACHE_WAIT, ready).await.is_err() {
        tracing::warn!(
            secret_stores_listed = ss_ready.is_ready(),
            cluster_secret_stores_listed = css_ready.is_ready(),
            wait_s = STORE_CACHE_WAIT.as_secs(),
            "store caches not listed yet; starting the ExternalSecret controller anyway"
        );
    }

    let es_loop = {
        let shared = shared.clone();
        tokio::spawn(async move {
            es_ctl
                .run(es::reconcile, es::error_policy, shared)
                .for_each(|r| async move {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "ExternalSecret controller event");
                    }
                })
                .await;
        })
    };
    // ClusterExternalSecrets: their ExternalSecrets are owned (recreated when deleted),
    // and every namespace change re-evaluates the selectors.
    let namespace_changes = watcher::watcher(
        Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone()),
        watcher::Config::default(),
    )
    .touched_objects()
    .filter_map(|r| async move { r.ok().map(|_| ()) });
    let ces_ctl = Controller::new(
        Api::<ClusterExternalSecret>::all(client.clone()),
        watcher::Config::default(),
    )
    .owns(
        scoped::<ExternalSecret>(&client, scope.as_deref()),
        watcher::Config::default(),
    )
    .reconcile_all_on(namespace_changes)
    .with_config(controller::Config::default().concurrency(4))
    .graceful_shutdown_on(shutdown.clone());
    let ces_loop = {
        let shared = shared.clone();
        tokio::spawn(async move {
            ces_ctl
                .run(ces::reconcile, ces::error_policy, shared)
                .for_each(|r| async move {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "ClusterExternalSecret controller event");
                    }
                })
                .await;
        })
    };
    let ps_ctl = Controller::new(
        scoped::<PushSecret>(&client, scope.as_deref()),
        watcher::Config::default(),
    )
    .with_config(controller::Config::default().concurrency(concurrency))
    .graceful_shutdown_on(shutdown.clone());
    let ps_loop = {
        let shared = shared.clone();
        tokio::spawn(async move {
            ps_ctl
                .run(push::reconcile, push::error_policy, shared)
                .for_each(|r| async move {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "PushSecret controller event");
                    }
                })
                .await;
        })
    };
    shutdown.await;
    for task in [es_loop, ces_loop, ps_loop, ss_loop, css_loop] {
        let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
    }
    shared.pool.shutdown().await;
}

fn store_error_policy<K>(_: Arc<K>, error: &kube::Error, _: Arc<Shared>) -> controller::Action {
    tracing::warn!(%error, "store reconcile failed; retrying");
    controller::Action::requeue(Duration::from_secs(5))
}
