//! The ClusterExternalSecret reconciler: list namespaces and this object's
//! ExternalSecrets, plan the fan-out (`reconcile::external::cluster_external`), apply and
//! delete through the apply core, write status. ExternalSecrets carry a controller
//! reference to their ClusterExternalSecret, so deleting it garbage-collects them (ESO uses
//! namespace finalizers for the same purpose).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;

use super::Shared;
use super::metrics::set_condition;
use crate::api::external::duration;
use crate::api::external::{ClusterExternalSecret, ExternalSecret};
use crate::apply::own_writes::RECHECK_AFTER;
use crate::reconcile::external::cluster_external::{self, Existing, NamespaceInfo};

/// Reconcile one ClusterExternalSecret.
pub async fn reconcile(
    ces: Arc<ClusterExternalSecret>,
    shared: Arc<Shared>,
) -> Result<Action, kube::Error> {
    if ces.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    // A copy from before our own status write would fan out and report again.
    if shared.applier.is_behind(ces.as_ref()) {
        return Ok(Action::requeue(RECHECK_AFTER));
    }
    let uid = ces.metadata.uid.clone().unwrap_or_default();
    let namespaces: Vec<NamespaceInfo> = Api::<Namespace>::all(shared.client.clone())
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .map(|n| NamespaceInfo {
            name: n.metadata.name.clone().unwrap_or_default(),
            labels: n.metadata.labels.clone().unwrap_or_default(),
            terminating: n.metadata.deletion_timestamp.is_some(),
        })
        .collect();
    let name = cluster_external::es_name(&ces);
    let mut previous = ces
        .status
        .as_ref()
        .map(|s| s.provisioned_namespaces.clone())
        .unwrap_or_default();
    let selected = cluster_external::selected(&ces, &namespaces);
    previous.extend(selected.iter().cloned());
    previous.sort();
    previous.dedup();
    let prev_name = ces
        .status
        .as_ref()
        .and_then(|s| s.external_secret_name.clone())
        .filter(|n| !n.is_empty());
    let mut existing = Vec::new();
    for ns in &previous {
        let api: Api<ExternalSecret> = Api::namespaced(shared.client.clone(), ns);
        for candidate in [Some(name.clone()), prev_name.clone()]
            .into_iter()
            .flatten()
        {
            if let Some(es) = api.get_opt(&candidate).await? {
                let ours = es
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|r| r.uid == uid && r.controller == Some(true));
                existing.push(Existing {
                    namespace: ns.clone(),
                    name: candidate.clone(),
                    uid: es.metadata.uid.clone().unwrap_or_default(),
                    ours,
                });
            }
            if prev_name.as_deref() == Some(name.as_str()) {
                break;
            }
        }
    }
    let plan = cluster_external::plan(&ces, &namespaces, &existing);
    let mut failed = plan.failed.clone();
    for (ns, es_name, es_uid) in &plan.delete {
        if let Err(e) = shared
            .applier
            .delete_object::<ExternalSecret>(ns, es_name, es_uid)
            .await
        {
            failed.insert(ns.clone(), e.to_string());
        }
    }
    let mut provisioned = Vec::new();
    for es in &plan.apply {
        let ns = es.metadata.namespace.clone().unwrap_or_default();
        match shared.applier.apply_object(es).await {
            Ok(_) => provisioned.push(ns),
            Err(e) => {
                failed.insert(ns, e.to_string());
            }
        }
    }
    let status = cluster_external::status(&ces, provisioned, &failed);
    set_condition(
        &shared.metrics.ces_condition,
        ces.metadata.name.as_deref().unwrap_or(""),
        "",
        "Ready",
        &status.conditions[0].status,
    );
    if ces.status.as_ref() != Some(&status) {
        shared
            .applier
            .write_cluster_status(ces.as_ref(), &status)
            .await?;
    }
    let interval = ces
        .spec
        .refresh_interval
        .as_deref()
        .and_then(|d| duration::parse(d).ok())
        .and_then(|d| d.to_std())
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_secs(3600));
    Ok(Action::requeue(interval))
}

/// Error policy.
pub fn error_policy(_: Arc<ClusterExternalSecret>, error: &kube::Error, _: Arc<Shared>) -> Action {
    tracing::warn!(%error, "ClusterExternalSecret reconcile failed; retrying");
    Action::requeue(Duration::from_secs(5))
}
