//! Short-TTL cache with in-flight deduplication.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use crate::error::Result;
use crate::metrics::{Metrics, ProviderKind};
use crate::provider::FetchKey;
use crate::value::{SecretMap, SecretValue};

/// Tuning of the request layer.
#[derive(Debug, Clone)]
pub struct LayerConfig {
    /// How long a successful read is served from memory. Short: long enough that one
    /// refresh cycle of many ExternalSecrets shares a read, short enough that a changed
    /// remote value is picked up on the next cycle. Zero disables caching (in-flight
    /// deduplication stays on).
    pub ttl: Duration,
    /// Expired entries are swept when the cache grows past this many entries.
    pub sweep_threshold: usize,
}

impl Default for LayerConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            sweep_threshold: 4096,
        }
    }
}

/// What a cache entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Operation {
    Fetch(FetchKey),
    Find(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub store: Arc<str>,
    pub operation: Operation,
}

/// A cached result: one payload, or the result of a find.
#[derive(Debug, Clone)]
pub(crate) enum Cached {
    Value(SecretValue),
    Map(Arc<SecretMap>),
}

type Cell = Arc<OnceCell<(Result<Cached>, Instant)>>;

/// The shared cache + dedup + metrics. One per controller process.
#[derive(Debug)]
pub struct RequestLayer {
    config: LayerConfig,
    metrics: Metrics,
    entries: Mutex<HashMap<CacheKey, Cell>>,
}

enum Lookup {
    Hit(Cached),
    Wait(Cell),
}

impl RequestLayer {
    /// A layer reporting to `metrics`.
    pub fn new(config: LayerConfig, metrics: Metrics) -> Arc<Self> {
        Arc::new(Self {
            config,
            metrics,
            entries: Mutex::new(HashMap::new()),
        })
    }

    /// The metrics handle providers report to.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Cell>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn fresh(&self, ready_at: Instant) -> bool {
        ready_at.elapsed() < self.config.ttl
    }

    /// Returns the cached result for `key`, joins an identical call in flight, or runs
    /// `call`. Errors are shared with the callers that joined, then forgotten (never
    /// cached), so the next read asks the store again.
    pub(crate) async fn get_or_call<F, Fut>(
        &self,
        key: CacheKey,
        provider: ProviderKind,
        call: F,
    ) -> Result<Cached>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached>>,
    {
        let cell = match self.lookup(&key, provider) {
            Lookup::Hit(cached) => return Ok(cached),
            Lookup::Wait(cell) => cell,
        };
        let (result, _) = cell
            .get_or_init(|| async { (call().await, Instant::now()) })
            .await;
        let result = result.clone();
        if result.is_err() || self.config.ttl.is_zero() {
            let mut entries = self.entries();
            if entries.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                entries.remove(&key);
            }
        }
        result
    }

    fn lookup(&self, key: &CacheKey, provider: ProviderKind) -> Lookup {
        let mut entries = self.entries();
        if let Some(cell) = entries.get(key) {
            match cell.get() {
                None => {
                    self.metrics.dedup_join(provider);
                    return Lookup::Wait(cell.clone());
                }
                Some((Ok(cached), ready_at)) if self.fresh(*ready_at) => {
                    self.metrics.cache_hit(provider);
                    return Lookup::Hit(cached.clone());
                }
                Some(_) => {}
            }
        }
        if entries.len() >= self.config.sweep_threshold {
            entries.retain(|_, cell| match cell.get() {
                None => true,
                Some((result, ready_at)) => result.is_ok() && ready_at.elapsed() < self.config.ttl,
            });
        }
        let cell: Cell = Arc::new(OnceCell::new());
        entries.insert(key.clone(), cell.clone());
        Lookup::Wait(cell)
    }

    /// Forgets every cached read of `remote_key` in `store` (all versions), and the
    /// store's cached finds. Reads in flight finish for their callers; new reads go to
    /// the store.
    pub(crate) fn invalidate_key(&self, store: &str, remote_key: &str) {
        self.entries().retain(|key, _| {
            *key.store != *store
                || match &key.operation {
                    Operation::Fetch(fetch) => fetch.key != remote_key,
                    Operation::Find(_) => false,
                }
        });
    }

    /// Forgets everything cached for `store`.
    pub(crate) fn invalidate_store(&self, store: &str) {
        self.entries().retain(|key, _| *key.store != *store);
    }

    /// Number of entries held (ready or in flight); for tests and diagnostics.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True when nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
