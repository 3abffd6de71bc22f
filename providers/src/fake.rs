//! ESO's Fake provider: static `data[] {key, value, version}` from the store spec, served
//! from memory. It is the embedded default for trying sealbox with no cloud account.
//!
//! Semantics follow ESO's `providers/v1/fake`: an entry is addressed by key *and* version
//! (an absent version is the empty version), `property` is a gjson path and a missing
//! property is "not found", `find` supports `name.regexp` only and returns the highest
//! version of each key. Pushed values live next to the static ones; static entries can not
//! be overwritten by a push.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{ProviderError, Result};
use crate::json::set::set_string;
use crate::metrics::{Metrics, ProviderKind};
use crate::provider::FetchKey;
use crate::reference::{FindRef, MetadataPolicy, PushRef};
use crate::value::{SecretMap, SecretValue};

/// One `spec.provider.fake.data[]` entry.
#[derive(Clone)]
pub struct FakeEntry {
    pub key: String,
    pub value: SecretValue,
    /// `None` and `Some("")` are the same (ESO's empty version).
    pub version: Option<String>,
}

impl std::fmt::Debug for FakeEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeEntry")
            .field("key", &self.key)
            .field("value", &self.value)
            .field("version", &self.version)
            .finish()
    }
}

/// `spec.provider.fake`.
#[derive(Debug, Clone, Default)]
pub struct FakeConfig {
    pub data: Vec<FakeEntry>,
    /// Simulated store latency per call (for benchmarks and for watching the request
    /// layer coalesce concurrent reads); zero by default.
    pub latency: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    StoreSpec,
    Pushed,
}

#[derive(Debug)]
struct Entry {
    value: SecretValue,
    version: String,
    origin: Origin,
}

/// The fake store.
#[derive(Debug)]
pub(crate) struct FakeProvider {
    entries: Mutex<HashMap<String, Entry>>,
    latency: Duration,
    metrics: Metrics,
}

/// ESO's `mapKey`: key and version concatenated.
fn map_key(key: &str, version: &str) -> String {
    format!("{key}{version}")
}

impl FakeProvider {
    pub(crate) fn new(config: FakeConfig, metrics: Metrics) -> Result<Self> {
        let mut entries = HashMap::new();
        for (index, entry) in config.data.into_iter().enumerate() {
            if entry.key.is_empty() {
                return Err(ProviderError::config(format!(
                    "fake provider: data[{index}].key must be set"
                )));
            }
            let version = entry.version.unwrap_or_default();
            entries.insert(
                map_key(&entry.key, &version),
                Entry {
                    value: entry.value,
                    version,
                    origin: Origin::StoreSpec,
                },
            );
        }
        Ok(Self {
            entries: Mutex::new(entries),
            latency: config.latency,
            metrics,
        })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn simulate_latency(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    pub(crate) async fn fetch(&self, key: &FetchKey) -> Result<SecretValue> {
        self.simulate_latency().await;
        let result = self.lookup(key);
        self.metrics.call(ProviderKind::Fake, "GetSecret", &result);
        result
    }

    fn lookup(&self, key: &FetchKey) -> Result<SecretValue> {
        if key.metadata_policy == MetadataPolicy::Fetch {
            return Err(ProviderError::invalid_ref(
                &key.key,
                "the fake provider has no metadata (metadataPolicy: Fetch)",
            ));
        }
        let version = key.version.as_deref().unwrap_or("");
        let entries = self.entries();
        match entries.get(&map_key(&key.key, version)) {
            Some(entry) if entry.version == version => Ok(entry.value.clone()),
            _ => Err(ProviderError::not_found(&key.key)),
        }
    }

    pub(crate) async fn find(&self, find: &FindRef) -> Result<SecretMap> {
        self.simulate_latency().await;
        let result = self.find_now(find);
        self.metrics
            .call(ProviderKind::Fake, "GetAllSecrets", &result);
        result
    }

    fn find_now(&self, find: &FindRef) -> Result<SecretMap> {
        let Some(matcher) = find.matcher()? else {
            return Err(ProviderError::config(
                "the fake provider supports find by name.regexp only",
            ));
        };
        let entries = self.entries();
        let mut latest: HashMap<&str, (&str, &SecretValue)> = HashMap::new();
        for (map_key, entry) in entries.iter() {
            let name = map_key
                .strip_suffix(entry.version.as_str())
                .unwrap_or(map_key);
            if !matcher.is_match(name) {
                continue;
            }
            match latest.get(name) {
                Some((version, _)) if *version >= entry.version.as_str() => {}
                _ => {
                    latest.insert(name, (entry.version.as_str(), &entry.value));
                }
            }
        }
        Ok(latest
            .into_iter()
            .map(|(name, (_, value))| (name.to_owned(), value.clone()))
            .collect())
    }

    pub(crate) async fn push(&self, push: &PushRef, value: &SecretValue) -> Result<()> {
        self.simulate_latency().await;
        let result = self.push_now(push, value);
        self.metrics.call(ProviderKind::Fake, "PushSecret", &result);
        result
    }

    fn push_now(&self, push: &PushRef, value: &SecretValue) -> Result<()> {
        let mut entries = self.entries();
        let slot = map_key(&push.remote_key, "");
        if let Some(existing) = entries.get(&slot)
            && existing.origin == Origin::StoreSpec
        {
            return Err(ProviderError::Forbidden {
                message: format!(
                    "key {:?} is defined in the store spec and cannot be overwritten by a push",
                    push.remote_key
                ),
            });
        }
        let new_value = match push.property() {
            None => value.clone(),
            Some(property) => {
                let text = value.expose_str().ok_or_else(|| {
                    ProviderError::invalid_ref(
                        &push.remote_key,
                        "a property push needs a UTF-8 value",
                    )
                })?;
                let current = entries
                    .get(&slot)
                    .and_then(|e| e.value.expose_str().map(str::to_owned))
                    .unwrap_or_default();
                let merged = set_string(&current, property, text).map_err(|_| {
                    ProviderError::invalid_ref(
                        &push.remote_key,
                        "pushing a property requires the remote value to be a JSON object",
                    )
                })?;
                SecretValue::from_text(merged)
            }
        };
        entries.insert(
            slot,
            Entry {
                value: new_value,
                version: String::new(),
                origin: Origin::Pushed,
            },
        );
        Ok(())
    }

    pub(crate) async fn delete(&self, push: &PushRef) -> Result<()> {
        self.simulate_latency().await;
        let mut entries = self.entries();
        let slot = map_key(&push.remote_key, "");
        if entries
            .get(&slot)
            .is_some_and(|e| e.origin == Origin::Pushed)
        {
            entries.remove(&slot);
        }
        let result = Ok(());
        self.metrics
            .call(ProviderKind::Fake, "DeleteSecret", &result);
        result
    }

    pub(crate) async fn exists(&self, push: &PushRef) -> Result<bool> {
        self.simulate_latency().await;
        Ok(self.entries().contains_key(&map_key(&push.remote_key, "")))
    }
}
