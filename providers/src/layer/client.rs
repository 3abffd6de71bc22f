//! One connected store, with every read going through the shared request layer.

use std::sync::Arc;

use super::cache::{CacheKey, Cached, Operation, RequestLayer};
use crate::error::Result;
use crate::metrics::ProviderKind;
use crate::provider::{FetchKey, Provider, StoreConfig};
use crate::reference::{FindRef, PushRef, RemoteRef};
use crate::value::{SecretMap, SecretValue};

/// A connected secret store: the operations ESO's reconcilers need.
///
/// Reads are cached for the layer's TTL and deduplicated while in flight; writes go
/// straight to the store and invalidate what they change.
#[derive(Debug)]
pub struct StoreClient {
    identity: Arc<str>,
    provider: Provider,
    layer: Arc<RequestLayer>,
}

impl StoreClient {
    /// Connects to the store described by `config`. `identity` names the store *and its
    /// configuration revision* (e.g. `ClusterSecretStore/aws@resourceVersion=42`): it
    /// keys the cache, so two stores or two revisions of one store never share values.
    /// Connecting does not contact the store; credentials are used on the first call.
    pub async fn connect(
        identity: impl Into<String>,
        config: StoreConfig,
        layer: Arc<RequestLayer>,
    ) -> Result<Self> {
        let provider = Provider::connect(config, layer.metrics().clone()).await?;
        Ok(Self {
            identity: Arc::from(identity.into()),
            provider,
            layer,
        })
    }

    /// The identity given at connect time.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Which provider this is.
    pub fn kind(&self) -> ProviderKind {
        self.provider.kind()
    }

    async fn payload(&self, key: FetchKey) -> Result<SecretValue> {
        let cache_key = CacheKey {
            store: self.identity.clone(),
            operation: Operation::Fetch(key.clone()),
        };
        let cached = self
            .layer
            .get_or_call(cache_key, self.kind(), || async {
                self.provider.fetch(&key).await.map(Cached::Value)
            })
            .await?;
        match cached {
            Cached::Value(value) => Ok(value),
            Cached::Map(_) => unreachable!("fetch entries always hold a value"),
        }
    }

    /// ESO `GetSecret` (`data[].remoteRef`): one value, narrowed to `property` if set.
    pub async fn get(&self, reference: &RemoteRef) -> Result<SecretValue> {
        let payload = self.payload(FetchKey::of(reference)).await?;
        self.provider.resolve(reference, payload)
    }

    /// ESO `GetSecretMap` (`dataFrom.extract`): the value (narrowed to `property` if set)
    /// must be a JSON object; each member becomes one entry.
    pub async fn get_map(&self, reference: &RemoteRef) -> Result<SecretMap> {
        let value = self.get(reference).await?;
        self.provider.extract(reference, &value)
    }

    /// ESO `GetAllSecrets` (`dataFrom.find`): remote secret name → whole value.
    pub async fn find(&self, find: &FindRef) -> Result<SecretMap> {
        let cache_key = CacheKey {
            store: self.identity.clone(),
            operation: Operation::Find(find.cache_key()),
        };
        let cached = self
            .layer
            .get_or_call(cache_key, self.kind(), || async {
                self.provider
                    .find(find)
                    .await
                    .map(|m| Cached::Map(Arc::new(m)))
            })
            .await?;
        match cached {
            Cached::Map(map) => Ok(map.as_ref().clone()),
            Cached::Value(_) => unreachable!("find entries always hold a map"),
        }
    }

    /// PushSecret: create or update the remote secret (or one `property` of it).
    /// `metadata` is the PushSecret's provider metadata (`PushSecretMetadata` JSON).
    pub async fn push(
        &self,
        push: &PushRef,
        value: &SecretValue,
        metadata: Option<&serde_json::Value>,
    ) -> Result<()> {
        let result = self.provider.push(push, value, metadata).await;
        self.layer.invalidate_key(&self.identity, &push.remote_key);
        result
    }

    /// PushSecret deletion: remove what was pushed (only secrets marked as managed by
    /// us / ESO; a `property` removes only that property).
    pub async fn delete(&self, push: &PushRef) -> Result<()> {
        let result = self.provider.delete(push).await;
        self.layer.invalidate_key(&self.identity, &push.remote_key);
        result
    }

    /// PushSecret `updatePolicy: IfNotExists`: does the remote secret exist?
    pub async fn exists(&self, push: &PushRef) -> Result<bool> {
        self.provider.exists(push).await
    }

    /// The store's `Valid` condition: can we authenticate? (Vault logs in — the token is
    /// then reused; AWS resolves credentials, assuming the role if one is set.)
    pub async fn validate(&self) -> Result<()> {
        self.provider.validate().await
    }

    /// Force-sync of one remote key: the next read goes to the store.
    pub fn invalidate(&self, remote_key: &str) {
        self.layer.invalidate_key(&self.identity, remote_key);
    }

    /// Force-sync of everything read through this store.
    pub fn invalidate_all(&self) {
        self.layer.invalidate_store(&self.identity);
    }

    /// Releases what the store holds for us (Vault: revokes a token we logged in for).
    pub async fn close(&self) {
        self.layer.invalidate_store(&self.identity);
        self.provider.close().await;
    }
}
