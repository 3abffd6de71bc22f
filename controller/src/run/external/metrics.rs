//! ESO's metric names (`docs/api/metrics.md`), so existing dashboards and alerts keep
//! working, plus sealbox's request-layer counters.
//!
//! prometheus-client appends `_total` to every counter; ESO exports two counters without
//! it (`externalsecret_sync_calls_error`, `externalsecret_provider_api_calls_count`), so
//! those two are exported with gauge type and monotonic values — `rate()` and
//! `increase()` over them work as before.

use std::fmt;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sealbox_providers::{MetricsSink, Outcome, ProviderKind};

/// `{name, namespace}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    /// Name.
    pub name: String,
    /// Namespace (empty for cluster-scoped kinds).
    pub namespace: String,
}

/// `{name, namespace, condition, status}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Condition type.
    pub condition: String,
    /// `True` or `False`.
    pub status: String,
}

/// `{provider, call, status}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    /// `AWS/SecretsManager`, `HashiCorp/Vault`, `Fake`.
    pub provider: String,
    /// ESO's call name.
    pub call: String,
    /// `success` or `error`.
    pub status: String,
}

/// `{provider}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    /// Provider label.
    pub provider: String,
}

/// The ExternalSecret family's metrics.
#[derive(Default)]
pub struct EsoMetrics {
    /// `externalsecret_sync_calls_total`.
    pub sync_calls: Family<ObjectLabels, Counter>,
    /// `externalsecret_sync_calls_error`.
    pub sync_errors: Family<ObjectLabels, Gauge>,
    /// `externalsecret_status_condition`.
    pub es_condition: Family<ConditionLabels, Gauge>,
    /// `externalsecret_reconcile_duration` (nanoseconds, as ESO).
    pub es_duration: Family<ObjectLabels, Gauge>,
    /// `externalsecret_provider_api_calls_count`.
    pub api_calls: Family<CallLabels, Gauge>,
    /// `secretstore_status_condition`.
    pub ss_condition: Family<ConditionLabels, Gauge>,
    /// `clustersecretstore_status_condition`.
    pub css_condition: Family<ConditionLabels, Gauge>,
    /// `clusterexternalsecret_status_condition`.
    pub ces_condition: Family<ConditionLabels, Gauge>,
    /// `pushsecret_status_condition`.
    pub ps_condition: Family<ConditionLabels, Gauge>,
    /// `sealbox_provider_cache_hits_total`.
    pub cache_hits: Family<ProviderLabels, Counter>,
    /// `sealbox_provider_dedup_joins_total`.
    pub dedup_joins: Family<ProviderLabels, Counter>,
    /// `sealbox_externalsecret_refreshes_deferred_total`: periodic refreshes put back
    /// because new objects were waiting.
    pub deferred: Counter,
}

impl fmt::Debug for EsoMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EsoMetrics").finish_non_exhaustive()
    }
}

/// Set a condition gauge the way ESO does: 1 for the current status, 0 for the other.
pub fn set_condition(
    family: &Family<ConditionLabels, Gauge>,
    name: &str,
    namespace: &str,
    condition: &str,
    status: &str,
) {
    for s in ["True", "False"] {
        family
            .get_or_create(&ConditionLabels {
                name: name.to_owned(),
                namespace: namespace.to_owned(),
                condition: condition.to_owned(),
                status: s.to_owned(),
            })
            .set(i64::from(s == status));
    }
}

/// Forget the series of a deleted object.
pub fn forget_condition(
    family: &Family<ConditionLabels, Gauge>,
    name: &str,
    namespace: &str,
    condition: &str,
) {
    for s in ["True", "False"] {
        family.remove(&ConditionLabels {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            condition: condition.to_owned(),
            status: s.to_owned(),
        });
    }
}

impl EsoMetrics {
    /// Register every series in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "externalsecret_sync_calls",
            "Total number of the External Secret sync calls",
            self.sync_calls.clone(),
        );
        registry.register(
            "externalsecret_sync_calls_error",
            "Total number of the External Secret sync errors",
            self.sync_errors.clone(),
        );
        registry.register(
            "externalsecret_status_condition",
            "The status condition of a specific External Secret",
            self.es_condition.clone(),
        );
        registry.register(
            "externalsecret_reconcile_duration",
            "The duration time to reconcile the External Secret (nanoseconds)",
            self.es_duration.clone(),
        );
        registry.register(
            "externalsecret_provider_api_calls_count",
            "Number of API calls towards the secret provider",
            self.api_calls.clone(),
        );
        registry.register(
            "secretstore_status_condition",
            "The status condition of a specific SecretStore",
            self.ss_condition.clone(),
        );
        registry.register(
            "clustersecretstore_status_condition",
            "The status condition of a specific ClusterSecretStore",
            self.css_condition.clone(),
        );
        registry.register(
            "clusterexternalsecret_status_condition",
            "The status condition of a specific ClusterExternalSecret",
            self.ces_condition.clone(),
        );
        registry.register(
            "pushsecret_status_condition",
            "The status condition of a specific PushSecret",
            self.ps_condition.clone(),
        );
        registry.register(
            "sealbox_provider_cache_hits",
            "Store reads answered from the request layer's short-TTL cache.",
            self.cache_hits.clone(),
        );
        registry.register(
            "sealbox_provider_dedup_joins",
            "Store reads that joined an identical read already in flight.",
            self.dedup_joins.clone(),
        );
        registry.register(
            "sealbox_externalsecret_refreshes_deferred",
            "Periodic refreshes put back so never-synced ExternalSecrets go first.",
            self.deferred.clone(),
        );
    }
}

impl MetricsSink for EsoMetrics {
    fn api_call(&self, provider: ProviderKind, call: &'static str, outcome: Outcome) {
        self.api_calls
            .get_or_create(&CallLabels {
                provider: provider.label().to_owned(),
                call: call.to_owned(),
                status: outcome.label().to_owned(),
            })
            .inc();
    }

    fn cache_hit(&self, provider: ProviderKind) {
        self.cache_hits
            .get_or_create(&ProviderLabels {
                provider: provider.label().to_owned(),
            })
            .inc();
    }

    fn dedup_join(&self, provider: ProviderKind) {
        self.dedup_joins
            .get_or_create(&ProviderLabels {
                provider: provider.label().to_owned(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esos_metric_names_are_exported() {
        let m = crate::metrics::Metrics::new("test");
        let e = &m.external;
        e.sync_calls
            .get_or_create(&ObjectLabels {
                name: "db".into(),
                namespace: "app".into(),
            })
            .inc();
        e.sync_errors
            .get_or_create(&ObjectLabels {
                name: "db".into(),
                namespace: "app".into(),
            })
            .inc();
        set_condition(&e.es_condition, "db", "app", "Ready", "True");
        e.api_call(ProviderKind::Aws, "BatchGetSecretValue", Outcome::Success);
        e.api_call(ProviderKind::Vault, "Login", Outcome::Error);
        e.cache_hit(ProviderKind::Aws);
        let text = m.encode();
        for needle in [
            "externalsecret_sync_calls_total{name=\"db\",namespace=\"app\"} 1",
            "externalsecret_sync_calls_error{name=\"db\",namespace=\"app\"} 1",
            "externalsecret_status_condition{name=\"db\",namespace=\"app\",condition=\"Ready\",status=\"True\"} 1",
            "externalsecret_status_condition{name=\"db\",namespace=\"app\",condition=\"Ready\",status=\"False\"} 0",
            "externalsecret_provider_api_calls_count{provider=\"AWS/SecretsManager\",call=\"BatchGetSecretValue\",status=\"success\"} 1",
            "externalsecret_provider_api_calls_count{provider=\"HashiCorp/Vault\",call=\"Login\",status=\"error\"} 1",
            "sealbox_provider_cache_hits_total{provider=\"AWS/SecretsManager\"} 1",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        // The Bitnami series are still there.
        assert!(text.contains("sealed_secrets_controller_build_info"));
    }
}
