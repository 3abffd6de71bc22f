//! Prometheus metrics. Bitnami's `sealed_secrets_controller_*` series keep their names and
//! labels so existing dashboards and the upstream Prometheus mixin keep working; ours are
//! `sealbox_*`.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sealbox_keys::sealing::private_key_operations;

/// Prometheus' default histogram buckets (what Bitnami's Go client uses).
const DEFAULT_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `{revision}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    /// Build version.
    pub revision: String,
}

/// `{reason, namespace}` of `unseal_errors_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// `fetch`, `unseal`, `update`, `unmanaged` or `status`.
    pub reason: String,
    /// Namespace of the SealedSecret.
    pub namespace: String,
}

/// Labels of `condition_info`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Condition type.
    pub condition: String,
    /// The SealedSecret's `app.kubernetes.io/instance` label.
    pub ss_app_kubernetes_io_instance: String,
}

/// `{path, code, method}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// Handler path.
    pub path: String,
    /// Status code.
    pub code: String,
    /// Method.
    pub method: String,
}

/// `{path, method}`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpDurationLabels {
    /// Handler path.
    pub path: String,
    /// Method.
    pub method: String,
}

/// `{result}` of reconciles.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// `unchanged`, `created`, `updated`, `failed`, `refused`, `error`.
    pub result: String,
}

/// Exports the process-wide RSA private-operation count of `sealbox-keys`.
#[derive(Debug)]
struct RsaOperations;

impl Collector for RsaOperations {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let counter = ConstCounter::new(private_key_operations());
        let metric = encoder.encode_descriptor(
            "sealbox_rsa_private_operations",
            "RSA private-key operations (OAEP decryptions) performed, successful or not.",
            None,
            counter.metric_type(),
        )?;
        counter.encode(metric)
    }
}

/// Every metric the controller exports.
pub struct Metrics {
    registry: Registry,
    /// `sealed_secrets_controller_unseal_requests_total`.
    pub unseal_requests: Counter,
    /// `sealed_secrets_controller_unseal_errors_total`.
    pub unseal_errors: Family<ErrorLabels, Counter>,
    /// `sealed_secrets_controller_condition_info`.
    pub condition_info: Family<ConditionLabels, Gauge>,
    /// `sealed_secrets_controller_http_requests_total`.
    pub http_requests: Family<HttpLabels, Counter>,
    /// `sealed_secrets_controller_http_request_duration_seconds`.
    pub http_duration: Family<HttpDurationLabels, Histogram>,
    /// `sealbox_unseal_skipped_total`: reconciles that verified the live Secret instead of
    /// decrypting (the digest+MAC shortcut).
    pub unseal_skipped: Counter,
    /// `sealbox_unsealed_total`: reconciles that decrypted values.
    pub unsealed: Counter,
    /// `sealbox_reconciles_total{result}`.
    pub reconciles: Family<ResultLabels, Counter>,
    /// `sealbox_apply_duration_seconds`: time to bring one target Secret in line.
    pub apply_duration: Histogram,
    /// `sealbox_sealing_keys`: keys loaded.
    pub sealing_keys: Gauge,
    /// The ExternalSecret family (ESO's `externalsecret_*` names).
    pub external: Arc<crate::run::external::metrics::EsoMetrics>,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Register everything; `version` labels `build_info`.
    pub fn new(version: &str) -> Arc<Metrics> {
        let mut registry = Registry::default();
        let build_info: Family<BuildLabels, Gauge> = Family::default();
        build_info
            .get_or_create(&BuildLabels {
                revision: version.to_owned(),
            })
            .set(1);
        let m = Metrics {
            registry: Registry::default(),
            unseal_requests: Counter::default(),
            unseal_errors: Family::default(),
            condition_info: Family::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(|| Histogram::new(DEFAULT_BUCKETS)),
            unseal_skipped: Counter::default(),
            unsealed: Counter::default(),
            reconciles: Family::default(),
            apply_duration: Histogram::new(exponential_buckets(0.001, 2.0, 14)),
            sealing_keys: Gauge::default(),
            external: Arc::default(),
        };
        m.external.register(&mut registry);
        {
            let ss = registry.sub_registry_with_prefix("sealed_secrets_controller");
            ss.register("build_info", "Build information.", build_info);
            ss.register(
                "unseal_requests",
                "Total number of sealed secret unseal requests",
                m.unseal_requests.clone(),
            );
            ss.register(
                "unseal_errors",
                "Total number of sealed secret unseal errors by reason",
                m.unseal_errors.clone(),
            );
            ss.register(
                "condition_info",
                "Current SealedSecret condition status. Values are -1 (false), 0 (unknown or absent), 1 (true)",
                m.condition_info.clone(),
            );
            ss.register(
                "http_requests",
                "A counter for requests to the wrapped handler.",
                m.http_requests.clone(),
            );
            ss.register(
                "http_request_duration_seconds",
                "A histogram of latencies for requests.",
                m.http_duration.clone(),
            );
        }
        {
            let ours = registry.sub_registry_with_prefix("sealbox");
            ours.register(
                "unseal_skipped",
                "Reconciles that verified the live Secret (digest + MAC) instead of decrypting.",
                m.unseal_skipped.clone(),
            );
            ours.register(
                "unsealed",
                "Reconciles that decrypted the SealedSecret's values.",
                m.unsealed.clone(),
            );
            ours.register("reconciles", "Reconciles by result.", m.reconciles.clone());
            ours.register(
                "apply_duration_seconds",
                "Time to bring one target Secret in line with its plan.",
                m.apply_duration.clone(),
            );
            ours.register(
                "sealing_keys",
                "Sealing keys loaded.",
                m.sealing_keys.clone(),
            );
        }
        registry.register_collector(Box::new(RsaOperations));
        Arc::new(Metrics { registry, ..m })
    }

    /// Count a reconcile result.
    pub fn reconciled(&self, result: &str) {
        self.reconciles
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
    }

    /// Count an unseal error (Bitnami's reasons).
    pub fn unseal_error(&self, reason: &str, namespace: &str) {
        self.unseal_errors
            .get_or_create(&ErrorLabels {
                reason: reason.to_owned(),
                namespace: namespace.to_owned(),
            })
            .inc();
    }

    /// The text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitnami_names_and_ours_are_exported() {
        let m = Metrics::new("v-test");
        m.unseal_requests.inc();
        m.unseal_error("unseal", "demo");
        m.condition_info
            .get_or_create(&ConditionLabels {
                namespace: "demo".into(),
                name: "db".into(),
                condition: "Synced".into(),
                ss_app_kubernetes_io_instance: String::new(),
            })
            .set(1);
        m.http_requests
            .get_or_create(&HttpLabels {
                path: "/v1/cert.pem".into(),
                code: "200".into(),
                method: "GET".into(),
            })
            .inc();
        let text = m.encode();
        for needle in [
            "sealed_secrets_controller_build_info{revision=\"v-test\"} 1",
            "sealed_secrets_controller_unseal_requests_total 1",
            "sealed_secrets_controller_unseal_errors_total{reason=\"unseal\",namespace=\"demo\"} 1",
            "sealed_secrets_controller_condition_info{namespace=\"demo\",name=\"db\",condition=\"Synced\",ss_app_kubernetes_io_instance=\"\"} 1",
            "sealed_secrets_controller_http_requests_total{path=\"/v1/cert.pem\",code=\"200\",method=\"GET\"} 1",
            "sealbox_rsa_private_operations_total",
            "sealbox_unseal_skipped_total 0",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
