//! Sealing keys stored the Bitnami way: `kubernetes.io/tls` Secrets labelled
//! `sealedsecrets.bitnami.com/sealed-secrets-key=active` in the controller's namespace
//! (plus the pre-0.9 single key Secret named exactly `<key-prefix>`), so a Bitnami key
//! backup restored there is used as it is, and ours restore into Bitnami.
//!
//! Key Secrets are watched: a new, restored, relabelled or deleted key takes effect without
//! a restart. Each change builds a new [`KeySnapshot`] that readers pick up atomically.

pub mod rotation;
pub mod snapshot;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use sealbox_keys::sealing::backup::{KEY_LABEL, KEY_LABEL_ACTIVE};
use tokio::sync::watch;

pub use snapshot::{KeyOrder, KeySnapshot, key_from_secret};

/// The label selector of active key Secrets.
pub fn active_key_selector() -> String {
    format!("{KEY_LABEL}={KEY_LABEL_ACTIVE}")
}

/// The current keys, shared by reconcilers and HTTP handlers.
#[derive(Debug)]
pub struct KeyStore {
    current: RwLock<Arc<KeySnapshot>>,
    version: watch::Sender<u64>,
    loaded: AtomicBool,
}

impl Default for KeyStore {
    fn default() -> Self {
        KeyStore {
            current: RwLock::new(Arc::new(KeySnapshot::default())),
            version: watch::channel(0).0,
            loaded: AtomicBool::new(false),
        }
    }
}

impl KeyStore {
    /// An empty store (not loaded yet).
    pub fn new() -> KeyStore {
        KeyStore::default()
    }

    /// A store holding `snapshot`, marked loaded (tests, offline use).
    pub fn with_snapshot(snapshot: KeySnapshot) -> KeyStore {
        let store = KeyStore::new();
        store.replace(snapshot);
        store
    }

    /// The keys now.
    pub fn snapshot(&self) -> Arc<KeySnapshot> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Swap in new keys and tell subscribers.
    pub fn replace(&self, snapshot: KeySnapshot) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(snapshot);
        self.loaded.store(true, Ordering::SeqCst);
        self.version.send_modify(|v| *v += 1);
    }

    /// Whether the key Secrets have been read at least once.
    pub fn is_loaded(&self) -> bool {
        self.loaded.load(Ordering::SeqCst)
    }

    /// A receiver that changes whenever the keys change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }
}

fn rebuild(keystore: &KeyStore, active: &Store<Secret>, legacy: &Store<Secret>, order: KeyOrder) {
    let mut secrets: Vec<Arc<Secret>> = active.state();
    secrets.extend(legacy.state());
    let snapshot = KeySnapshot::from_secrets(secrets.iter().map(|s| s.as_ref()), order);
    for (name, reason) in snapshot.rejected() {
        tracing::error!(secret = %name, %reason, "ignoring unreadable key Secret");
    }
    let ids: Vec<String> = snapshot
        .keyring()
        .iter()
        .map(|k| format!("{} ({})", k.name(), k.key_id()))
        .collect();
    tracing::info!(keys = ids.len(), newest_first = ?ids, "sealing keys loaded");
    keystore.replace(snapshot);
}

/// Watch the key Secrets in `namespace` forever, keeping `keystore` current, with the keys
/// ordered by `order`.
pub async fn watch_keys(
    client: kube::Client,
    namespace: String,
    key_prefix: String,
    order: KeyOrder,
    keystore: Arc<KeyStore>,
) {
    let api: Api<Secret> = Api::namespaced(client, &namespace);
    let (active_reader, active_writer) = reflector::store();
    let (legacy_reader, legacy_writer) = reflector::store();
    let active = watcher(
        api.clone(),
        watcher::Config::default().labels(&active_key_selector()),
    )
    .default_backoff()
    .reflect(active_writer)
    .map_ok(|e| {
        matches!(
            e,
            watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone
        )
    });
    let legacy = watcher(
        api,
        watcher::Config::default().fields(&format!("metadata.name={key_prefix}")),
    )
    .default_backoff()
    .reflect(legacy_writer)
    .map_ok(|e| {
        matches!(
            e,
            watcher::Event::Apply(_) | watcher::Event::Delete(_) | watcher::Event::InitDone
        )
    });
    let mut events = futures::stream::select(active, legacy).boxed();
    let mut legacy_ready = false;
    let mut active_ready = false;
    while let Some(event) = events.next().await {
        match event {
            Ok(true) => {
                if !active_ready || !legacy_ready {
                    active_ready = active_reader.wait_until_ready().now_or_never().is_some();
                    legacy_ready = legacy_reader.wait_until_ready().now_or_never().is_some();
                    if !(active_ready && legacy_ready) {
                        continue;
                    }
                }
                rebuild(&keystore, &active_reader, &legacy_reader, order);
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "watching key Secrets failed; retrying"),
        }
    }
}

use futures::FutureExt as _;
