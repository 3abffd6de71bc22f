//! The controller's settings (the `sealbox controller` flags, resolved).

use std::time::Duration;

use crate::keystore::KeyOrder;
use crate::keystore::rotation::RotationConfig;

/// Everything [`run`](super::run) needs to know.
#[derive(Clone, Debug)]
pub struct Config {
    /// Namespace of the key Secrets (and of the lease): the controller's own.
    pub namespace: String,
    /// Watch SealedSecrets in every namespace (`--all-namespaces`, default true).
    pub all_namespaces: bool,
    /// Extra namespaces to watch besides the controller's (`--additional-namespaces`);
    /// given, they switch off `all_namespaces` like Bitnami.
    pub additional_namespaces: Vec<String>,
    /// Only SealedSecrets matching this label selector (`--label-selector`).
    pub label_selector: Option<String>,
    /// API listener (`--listen-addr`, `:8080`).
    pub listen_addr: String,
    /// Metrics listener (`--listen-metrics-addr`, `:8081`).
    pub listen_metrics_addr: String,
    /// `--accept-deprecated-v1-data`.
    pub accept_deprecated_v1_data: bool,
    /// Write status conditions (`--update-status`).
    pub update_status: bool,
    /// Do not watch target Secrets (`--skip-recreate`): deleted or edited Secrets are
    /// then only repaired on the next SealedSecret change or resync.
    pub skip_recreate: bool,
    /// Key renewal and the shape of new keys.
    pub rotation: RotationConfig,
    /// Which time orders the sealing keys (`--key-order-priority`).
    pub key_order: KeyOrder,
    /// `/v1/verify` requests per second (`--rate-limit`).
    pub rate_limit: u32,
    /// `/v1/verify` burst (`--rate-limit-burst`).
    pub rate_limit_burst: u32,
    /// Reconciles in flight (`--workers`).
    pub workers: u16,
    /// Threads doing RSA work at once (`--unseal-threads`, default: the CPU count).
    pub unseal_threads: usize,
    /// Periodic re-check of every SealedSecret (`--resync-period`, 0 = only on change).
    pub resync_period: Option<Duration>,
    /// Leader election on a Lease (`--leader-elect`).
    pub leader_elect: bool,
    /// Lease name (`--leader-election-id`).
    pub lease_name: String,
    /// Lease duration (`--leader-election-lease-duration`).
    pub lease_duration: Duration,
    /// This replica's identity (pod name or hostname).
    pub identity: String,
    /// Build version for `build_info`.
    pub version: String,
}

/// The namespace the controller runs in: `$POD_NAMESPACE`, else the service account's
/// namespace file, else `default` (Bitnami's `myNamespace`).
pub fn my_namespace() -> String {
    if let Ok(ns) = std::env::var("POD_NAMESPACE")
        && !ns.trim().is_empty()
    {
        return ns.trim().to_owned();
    }
    if let Ok(ns) =
        std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        && !ns.trim().is_empty()
    {
        return ns.trim().to_owned();
    }
    "default".to_owned()
}

impl Config {
    /// The namespaces to watch: `None` = all, else the list (own namespace first).
    pub fn watched_namespaces(&self) -> Option<Vec<String>> {
        if self.all_namespaces && self.additional_namespaces.is_empty() {
            return None;
        }
        let mut out = vec![self.namespace.clone()];
        for ns in &self.additional_namespaces {
            let ns = ns.trim();
            if !ns.is_empty() && !out.iter().any(|o| o == ns) {
                out.push(ns.to_owned());
            }
        }
        Some(out)
    }
}
