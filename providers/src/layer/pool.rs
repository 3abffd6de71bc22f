//! One long-lived client per store, replaced when the store's configuration changes.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::cache::RequestLayer;
use super::client::StoreClient;
use crate::error::Result;
use crate::provider::StoreConfig;

/// The clients of all stores the controller uses.
///
/// ESO builds a new client (and, for Vault, logs in) on every reconcile; sealbox keeps one
/// client per store and reuses it until the store's `revision` changes (the caller passes
/// e.g. the store's resourceVersion plus those of the credential Secrets it resolved). A
/// replaced or evicted client is closed, which revokes the Vault token it logged in for.
#[derive(Debug)]
pub struct StorePool {
    layer: Arc<RequestLayer>,
    clients: Mutex<HashMap<String, (String, Arc<StoreClient>)>>,
}

impl StorePool {
    /// An empty pool whose clients share `layer`.
    pub fn new(layer: Arc<RequestLayer>) -> Self {
        Self {
            layer,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The shared request layer.
    pub fn layer(&self) -> &Arc<RequestLayer> {
        &self.layer
    }

    /// The client of `store` if one is connected at `revision`.
    pub async fn get(&self, store: &str, revision: &str) -> Option<Arc<StoreClient>> {
        let clients = self.clients.lock().await;
        clients
            .get(store)
            .filter(|(rev, _)| rev == revision)
            .map(|(_, client)| client.clone())
    }

    /// The client of `store` at `revision`, connecting with `config()` when there is none
    /// (or only one for another revision, which is then closed).
    pub async fn get_or_connect(
        &self,
        store: &str,
        revision: &str,
        config: impl FnOnce() -> Result<StoreConfig>,
    ) -> Result<Arc<StoreClient>> {
        let mut clients = self.clients.lock().await;
        if let Some((rev, client)) = clients.get(store)
            && rev == revision
        {
            return Ok(client.clone());
        }
        let identity = format!("{store}@{revision}");
        let client = Arc::new(StoreClient::connect(identity, config()?, self.layer.clone()).await?);
        let replaced = clients.insert(store.to_owned(), (revision.to_owned(), client.clone()));
        drop(clients);
        if let Some((_, old)) = replaced {
            old.close().await;
        }
        Ok(client)
    }

    /// Closes and forgets the client of `store` (store deleted).
    pub async fn evict(&self, store: &str) {
        let removed = self.clients.lock().await.remove(store);
        if let Some((_, client)) = removed {
            client.close().await;
        }
    }

    /// Closes every client (controller shutdown).
    pub async fn shutdown(&self) {
        let clients: Vec<_> = self.clients.lock().await.drain().collect();
        for (_, (_, client)) in clients {
            client.close().await;
        }
    }

    /// Number of connected stores.
    pub async fn len(&self) -> usize {
        self.clients.lock().await.len()
    }

    /// True when no store is connected.
    pub async fn is_empty(&self) -> bool {
        self.len().await == 0
    }
}
