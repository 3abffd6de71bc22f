//! Counters the controller exports: API calls by provider / call / outcome (ESO's
//! `externalsecret_provider_api_calls_count` labels), cache hits and in-flight joins.
//!
//! The crate does not pick a metrics library: it reports to a [`MetricsSink`]. The
//! controller implements the trait over its Prometheus registry; [`Counters`] is a
//! ready-made in-memory sink used by default and by tests.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

/// Which store a counter is about. `label()` gives ESO's provider label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderKind {
    /// The in-memory fake store.
    Fake,
    /// AWS Secrets Manager.
    Aws,
    /// HashiCorp Vault / OpenBao.
    Vault,
}

impl ProviderKind {
    /// ESO's `provider` label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::Fake => "Fake",
            Self::Aws => "AWS/SecretsManager",
            Self::Vault => "HashiCorp/Vault",
        }
    }
}

/// ESO's `status` label of an API call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Success,
    Error,
}

impl Outcome {
    /// `success` or `error`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
        }
    }
}

/// Receives every event the providers and the request layer count.
pub trait MetricsSink: Send + Sync {
    /// One request sent to a store (`call` is ESO's name: `GetSecretValue`, `Login`, ...).
    fn api_call(&self, provider: ProviderKind, call: &'static str, outcome: Outcome);
    /// A read answered from the short-TTL cache, with no store call.
    fn cache_hit(&self, provider: ProviderKind);
    /// A read that joined an identical read already in flight.
    fn dedup_join(&self, provider: ProviderKind);
}

/// A cloneable handle to the sink in use.
#[derive(Clone)]
pub struct Metrics(Arc<dyn MetricsSink>);

impl Metrics {
    /// Reports to `sink`.
    pub fn new(sink: Arc<dyn MetricsSink>) -> Self {
        Self(sink)
    }

    /// Reports to a fresh [`Counters`], returned too so it can be read.
    pub fn counters() -> (Self, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        (Self(counters.clone()), counters)
    }

    pub(crate) fn call<T, E>(
        &self,
        provider: ProviderKind,
        call: &'static str,
        result: &Result<T, E>,
    ) {
        let outcome = if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Error
        };
        self.0.api_call(provider, call, outcome);
    }

    pub(crate) fn cache_hit(&self, provider: ProviderKind) {
        self.0.cache_hit(provider);
    }

    pub(crate) fn dedup_join(&self, provider: ProviderKind) {
        self.0.dedup_join(provider);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::counters().0
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

/// In-memory counters.
#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<CounterState>,
}

#[derive(Debug, Default, Clone)]
struct CounterState {
    calls: BTreeMap<(ProviderKind, &'static str, Outcome), u64>,
    cache_hits: BTreeMap<ProviderKind, u64>,
    dedup_joins: BTreeMap<ProviderKind, u64>,
}

impl Counters {
    fn state(&self) -> std::sync::MutexGuard<'_, CounterState> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Calls of one kind, both outcomes.
    pub fn calls(&self, provider: ProviderKind, call: &str) -> u64 {
        self.state()
            .calls
            .iter()
            .filter(|((p, c, _), _)| *p == provider && *c == call)
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls of one kind with one outcome.
    pub fn calls_with(&self, provider: ProviderKind, call: &str, outcome: Outcome) -> u64 {
        self.state()
            .calls
            .iter()
            .filter(|((p, c, o), _)| *p == provider && *c == call && *o == outcome)
            .map(|(_, n)| n)
            .sum()
    }

    /// All calls to a provider.
    pub fn total_calls(&self, provider: ProviderKind) -> u64 {
        self.state()
            .calls
            .iter()
            .filter(|((p, _, _), _)| *p == provider)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every call counter as `(provider, call, outcome, count)`.
    pub fn call_counts(&self) -> Vec<(ProviderKind, &'static str, Outcome, u64)> {
        self.state()
            .calls
            .iter()
            .map(|((p, c, o), n)| (*p, *c, *o, *n))
            .collect()
    }

    /// Reads served from the cache.
    pub fn cache_hits(&self, provider: ProviderKind) -> u64 {
        self.state().cache_hits.get(&provider).copied().unwrap_or(0)
    }

    /// Reads that joined an identical read in flight.
    pub fn dedup_joins(&self, provider: ProviderKind) -> u64 {
        self.state()
            .dedup_joins
            .get(&provider)
            .copied()
            .unwrap_or(0)
    }
}

impl MetricsSink for Counters {
    fn api_call(&self, provider: ProviderKind, call: &'static str, outcome: Outcome) {
        *self
            .state()
            .calls
            .entry((provider, call, outcome))
            .or_default() += 1;
    }

    fn cache_hit(&self, provider: ProviderKind) {
        *self.state().cache_hits.entry(provider).or_default() += 1;
    }

    fn dedup_join(&self, provider: ProviderKind) {
        *self.state().dedup_joins.entry(provider).or_default() += 1;
    }
}
