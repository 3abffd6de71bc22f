//! The controller process: key watch and renewal, HTTP endpoints, leader election and the
//! SealedSecret controller loops, with graceful shutdown.

pub mod config;
pub mod external;
pub mod sealed;
pub mod sops;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::{BoxFuture, FutureExt as _, Shared};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher;
use kube_lease_manager::LeaseManagerBuilder;
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc};

pub use config::{Config, my_namespace};

use crate::api::SealedSecret;
use crate::apply::{Applier, Backoff};
use crate::http::{self, HttpState, Readiness};
use crate::keystore::{self, KeyStore};
use crate::metrics::Metrics;
use crate::reconcile::sealed::PlannerOptions;

/// The controller name on Events (`reportingController`).
pub const CONTROLLER_NAME: &str = "sealbox";

/// The controller could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum RunError {
    /// A listen address is invalid or cannot be bound.
    #[error("HTTP listener {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Leader election failed.
    #[error("leader election: {0}")]
    Lease(String),
    /// This replica lost the lease: it exits so its pod restarts as a follower.
    #[error("lost the leader lease")]
    LostLease,
}

/// Handles the caller can inspect while the controller runs (tests).
#[derive(Clone, Debug)]
pub struct Handles {
    /// Keys.
    pub keystore: Arc<KeyStore>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness.
    pub readiness: Arc<Readiness>,
    /// Where the API listener is bound.
    pub api_addr: std::net::SocketAddr,
    /// Where the metrics listener is bound.
    pub metrics_addr: std::net::SocketAddr,
}

type ShutdownSignal = Shared<BoxFuture<'static, ()>>;

async fn serve(
    addr: &str,
    router: axum::Router,
    shutdown: ShutdownSignal,
) -> Result<(tokio::task::JoinHandle<()>, std::net::SocketAddr), RunError> {
    let socket = http::parse_listen_addr(addr).map_err(|reason| RunError::Listen {
        addr: addr.to_owned(),
        reason,
    })?;
    let listener = tokio::net::TcpListener::bind(socket)
        .await
        .map_err(|e| RunError::Listen {
            addr: addr.to_owned(),
            reason: e.to_string(),
        })?;
    let local = listener.local_addr().map_err(|e| RunError::Listen {
        addr: addr.to_owned(),
        reason: e.to_string(),
    })?;
    tracing::info!(addr = %local, "HTTP server serving");
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "HTTP server exiting");
        }
    });
    Ok((task, local))
}

/// Run until `shutdown` resolves (SIGTERM in the binary). `manual_rotation` receives
/// requests for an immediate new key (SIGUSR1).
pub async fn run(
    config: Config,
    client: kube::Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
    manual_rotation: mpsc::Receiver<()>,
    handles_out: Option<tokio::sync::oneshot::Sender<Handles>>,
) -> Result<(), RunError> {
    let shutdown: ShutdownSignal = shutdown.boxed().shared();
    let metrics = Metrics::new(&config.version);
    let keystore = Arc::new(KeyStore::new());
    let readiness = Arc::new(Readiness::default());
    let state = Arc::new(HttpState {
        keystore: keystore.clone(),
        metrics: metrics.clone(),
        readiness: readiness.clone(),
        accept_deprecated_v1_data: config.accept_deprecated_v1_data,
        limiter: http::ratelimit::RateLimiter::new(config.rate_limit, config.rate_limit_burst),
    });
    let (api_server, api_addr) = serve(
        &config.listen_addr,
        http::api_router(state.clone()),
        shutdown.clone(),
    )
    .await?;
    let (metrics_server, metrics_addr) = serve(
        &config.listen_metrics_addr,
        http::metrics_router(state),
        shutdown.clone(),
    )
    .await?;
    if let Some(tx) = handles_out {
        let _ = tx.send(Handles {
            keystore: keystore.clone(),
            metrics: metrics.clone(),
            readiness: readiness.clone(),
            api_addr,
            metrics_addr,
        });
    }

    let key_watch = tokio::spawn(keystore::watch_keys(
        client.clone(),
        config.namespace.clone(),
        config.rotation.policy.name_prefix.clone(),
        config.key_order,
        keystore.clone(),
    ));

    // Leader election: followers serve the HTTP endpoints (they watch the keys too) but
    // neither reconcile nor renew keys.
    let mut lease_state = None;
    if config.leader_elect {
        let manager = LeaseManagerBuilder::new(client.clone(), &config.lease_name)
            .with_namespace(&config.namespace)
            .with_identity(&config.identity)
            .with_duration(config.lease_duration.as_secs().max(2))
            .with_grace((config.lease_duration.as_secs() / 3).max(1))
            .build()
            .await
            .map_err(|e| RunError::Lease(e.to_string()))?;
        let (mut rx, task) = manager.watch().await;
        // A follower has no informer caches to wait for: it is ready to serve the
        // certificate, verify and rotate as soon as the keys are loaded.
        readiness.set_caches_synced(true);
        tracing::info!(identity = %config.identity, lease = %config.lease_name, "waiting to become the leader");
        loop {
            if *rx.borrow_and_update() {
                break;
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() {
                    return Err(RunError::Lease("the lease manager stopped".into()));
                },
                () = shutdown.clone() => {
                    drop(rx);
                    let _ = task.await;
                    key_watch.abort();
                    let _ = tokio::join!(api_server, metrics_server);
                    return Ok(());
                }
            }
        }
        tracing::info!(identity = %config.identity, "became the leader");
        readiness.set_caches_synced(false);
        lease_state = Some((rx, task));
    }

    // Always running: it makes the first key; `--key-renew-period 0` only stops renewal.
    let rotation = tokio::spawn(keystore::rotation::run(
        client.clone(),
        config.rotation.clone(),
        keystore.clone(),
        manual_rotation,
    ));

    // The External Secrets family (ExternalSecret, SecretStore, ClusterSecretStore, ...):
    // its own controllers, started once the external-secrets.io CRDs are served.
    let external_secrets = tokio::spawn(external::run(
        client.clone(),
        external::ExternalOptions {
            namespaces: config.watched_namespaces(),
            reporter: CONTROLLER_NAME.to_owned(),
            instance: config.identity.clone(),
            ..external::ExternalOptions::default()
        },
        metrics.external.clone(),
        shutdown.clone(),
    ));

    // SopsSecrets (sealbox.dev): their own controller, started once the CRD is served.
    let sops_secrets = tokio::spawn(sops::run(
        client.clone(),
        sops::SopsOptions {
            namespaces: config.watched_namespaces(),
            reporter: CONTROLLER_NAME.to_owned(),
            instance: config.identity.clone(),
            concurrency: config.workers,
        },
        shutdown.clone(),
    ));

    let reporter = Reporter {
        controller: CONTROLLER_NAME.to_owned(),
        instance: Some(config.identity.clone()),
    };
    let context = Arc::new(sealed::Context {
        applier: Applier::new(client.clone(), Recorder::new(client.clone(), reporter)),
        keystore: keystore.clone(),
        metrics: metrics.clone(),
        backoff: Backoff::default(),
        rsa_slots: Semaphore::new(config.unseal_threads.max(1)),
        options: PlannerOptions {
            accept_deprecated_v1_data: config.accept_deprecated_v1_data,
        },
        update_status: config.update_status,
        resync: config.resync_period,
    });

    let mut wc = watcher::Config::default();
    if let Some(selector) = &config.label_selector {
        wc = wc.labels(selector);
    }
    let scopes: Vec<Option<String>> = match config.watched_namespaces() {
        None => vec![None],
        Some(list) => list.into_iter().map(Some).collect(),
    };
    let mut loops = Vec::new();
    let mut stores = Vec::new();
    for scope in scopes {
        let (ss_api, secret_api): (Api<SealedSecret>, Api<Secret>) = match &scope {
            None => (Api::all(client.clone()), Api::all(client.clone())),
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
        };
        let mut ctl = Controller::new(ss_api, wc.clone())
            .with_config(controller::Config::default().concurrency(config.workers.max(1)));
        if !config.skip_recreate {
            ctl = ctl.owns(secret_api, watcher::Config::default());
        }
        // New, restored or removed keys: look at every SealedSecret again (cheap for
        // those already synced — no RSA — and it heals the ones that could not open).
        let key_changes = changes(keystore.subscribe());
        ctl = ctl
            .reconcile_all_on(key_changes)
            .graceful_shutdown_on(shutdown.clone());
        stores.push(ctl.store());
        let ctx = context.clone();
        loops.push(tokio::spawn(async move {
            ctl.run(sealed::reconcile, sealed::error_policy, ctx)
                .for_each(|result| async move {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "controller event");
                    }
                })
                .await;
        }));
    }
    let ready = readiness.clone();
    tokio::spawn(async move {
        // The store's readiness signal wakes only its most recent waiter (the controller
        // itself waits on it too), so poll it instead of waiting once.
        for store in stores {
            while tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready())
                .await
                .is_err()
            {}
        }
        ready.set_caches_synced(true);
        tracing::info!("caches synced");
    });

    let lost = async {
        match &mut lease_state {
            Some((rx, _)) => loop {
                if rx.changed().await.is_err() || !*rx.borrow() {
                    return;
                }
            },
            None => futures::future::pending::<()>().await,
        }
    };
    let mut lost_lease = false;
    tokio::select! {
        () = shutdown.clone() => tracing::info!("shutting down"),
        () = lost => { lost_lease = true; tracing::error!("lost the leader lease; stopping"); }
    }
    for l in loops {
        if lost_lease {
            l.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(20), l).await;
    }
    if lost_lease {
        external_secrets.abort();
        sops_secrets.abort();
    }
    let _ = tokio::time::timeout(Duration::from_secs(20), external_secrets).await;
    let _ = tokio::time::timeout(Duration::from_secs(20), sops_secrets).await;
    rotation.abort();
    key_watch.abort();
    if let Some((rx, task)) = lease_state {
        drop(rx);
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    if lost_lease {
        api_server.abort();
        metrics_server.abort();
        return Err(RunError::LostLease);
    }
    let _ = tokio::join!(api_server, metrics_server);
    Ok(())
}

/// A stream that yields once per change of a `watch` channel.
fn changes(rx: tokio::sync::watch::Receiver<u64>) -> impl futures::Stream<Item = ()> + Send {
    futures::stream::unfold(rx, |mut rx| async move {
        rx.changed().await.ok().map(|()| ((), rx))
    })
}
