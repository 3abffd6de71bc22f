//! The PushSecret reconciler: read the source Secret, plan (`reconcile::external::push`),
//! push through the pooled store clients (AWS/Vault/fake skip unchanged values and refuse
//! remote secrets they do not manage), delete what is no longer pushed when
//! `deletionPolicy: Delete`, and report ESO's `Ready` reasons (`Synced`, `Errored`,
//! `SourceDeleted`).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource as _;
use kube::runtime::controller::Action;
use sealbox_providers::PushRef;

use super::Shared;
use super::metrics::set_condition;
use super::stores;
use crate::api::external::duration;
use crate::api::external::push::{PushSecret, PushSecretCondition, PushSecretData};
use crate::api::external::{CLUSTER_SECRET_STORE_KIND, SECRET_STORE_KIND, SecretStoreRef};
use crate::apply::PlannedEvent;
use crate::apply::own_writes::RECHECK_AFTER;
use crate::reconcile::external::keys::DataMap;
use crate::reconcile::external::plan::current_resource_version_of;
use crate::reconcile::external::push::{self as plan, PushOp};
use crate::reconcile::external::selector;

/// The finalizer ESO puts on PushSecrets with `deletionPolicy: Delete`.
pub const FINALIZER: &str = "pushsecret.externalsecrets.io/finalizer";

fn store_ref(key: &str) -> SecretStoreRef {
    let (kind, name) = key.split_once('/').unwrap_or((SECRET_STORE_KIND, key));
    SecretStoreRef {
        name: name.to_owned(),
        kind: Some(kind.to_owned()),
    }
}

fn push_ref(entry: &PushSecretData) -> PushRef {
    let r = &entry.match_.remote_ref;
    let mut p = PushRef::key(r.remote_key.clone());
    if let Some(prop) = r.property.as_deref().filter(|p| !p.is_empty()) {
        p = p.with_property(prop);
    }
    p
}

/// The `Kind/name` of every store the PushSecret names (labelSelector refs resolved
/// against the store caches).
fn stores_of(ps: &PushSecret, shared: &Shared) -> Vec<String> {
    let namespace = ps.metadata.namespace.clone().unwrap_or_default();
    let mut out = Vec::new();
    for r in &ps.spec.secret_store_refs {
        let kind = r
            .kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or(SECRET_STORE_KIND);
        if let Some(name) = r.name.as_deref().filter(|n| !n.is_empty()) {
            out.push(format!("{kind}/{name}"));
        } else if let Some(sel) = &r.label_selector {
            if kind == CLUSTER_SECRET_STORE_KIND {
                for s in shared.cluster_stores.state() {
                    if selector::matches(
                        sel,
                        s.metadata.labels.as_ref().unwrap_or(&Default::default()),
                    ) {
                        out.push(format!(
                            "{kind}/{}",
                            s.metadata.name.clone().unwrap_or_default()
                        ));
                    }
                }
            } else {
                for s in shared.secret_stores.state() {
                    if s.metadata.namespace.as_deref() == Some(namespace.as_str())
                        && selector::matches(
                            sel,
                            s.metadata.labels.as_ref().unwrap_or(&Default::default()),
                        )
                    {
                        out.push(format!(
                            "{kind}/{}",
                            s.metadata.name.clone().unwrap_or_default()
                        ));
                    }
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

async fn client(
    shared: &Shared,
    namespace: &str,
    store: &str,
) -> Result<Arc<sealbox_providers::StoreClient>, String> {
    let r = store_ref(store);
    let found = stores::find_store(&shared.secret_stores, &shared.cluster_stores, namespace, &r)
        .map_err(|e| e.to_string())?;
    stores::client_for(shared, &found, namespace)
        .await
        .map_err(|e| e.to_string())
}

async fn delete_entries(
    shared: &Shared,
    namespace: &str,
    entries: &[(String, PushSecretData)],
) -> Result<(), String> {
    for (store, entry) in entries {
        let c = client(shared, namespace, store).await?;
        c.delete(&push_ref(entry)).await.map_err(|e| {
            format!(
                "could not delete remote ref {} from {store}: {e}",
                plan::status_ref(entry)
            )
        })?;
    }
    Ok(())
}

fn all_synced(ps: &PushSecret) -> Vec<(String, PushSecretData)> {
    ps.status
        .as_ref()
        .map(|s| {
            s.synced_push_secrets
                .iter()
                .flat_map(|(store, entries)| {
                    entries.values().map(move |e| (store.clone(), e.clone()))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn report(
    ps: &PushSecret,
    shared: &Shared,
    ready: bool,
    reason: &str,
    message: String,
    synced: Option<
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, PushSecretData>>,
    >,
) -> Result<(), kube::Error> {
    let mut status = ps.status.clone().unwrap_or_default();
    let text = if ready { "True" } else { "False" };
    let transition = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready" && c.status == text)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or(Time(Timestamp::now()));
    let changed = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .is_none_or(|c| c.status != text || c.message.as_deref() != Some(message.as_str()));
    status.conditions = vec![PushSecretCondition {
        type_: "Ready".into(),
        status: text.into(),
        reason: Some(reason.into()),
        message: Some(message.clone()),
        last_transition_time: Some(transition),
    }];
    if let Some(synced) = synced {
        status.synced_push_secrets = synced;
        status.refresh_time = Some(Time(Timestamp::now()));
        status.synced_resource_version = Some(current_resource_version_of(&ps.metadata));
    }
    set_condition(
        &shared.metrics.ps_condition,
        ps.metadata.name.as_deref().unwrap_or(""),
        ps.metadata.namespace.as_deref().unwrap_or(""),
        "Ready",
        text,
    );
    if changed {
        let reference: ObjectReference = ps.object_ref(&());
        let event = if ready {
            PlannedEvent::normal(reason, message)
        } else {
            PlannedEvent::warning(reason, message)
        };
        shared.applier.publish(&event, &reference).await;
    }
    if ps.status.as_ref() != Some(&status) {
        shared.applier.write_status(ps, &status).await?;
    }
    Ok(())
}

fn interval(ps: &PushSecret) -> Option<Duration> {
    match ps.spec.refresh_interval.as_deref() {
        None | Some("") => Some(Duration::from_secs(3600)),
        Some(t) => duration::parse(t)
            .ok()
            .and_then(|d| d.to_std())
            .filter(|d| !d.is_zero()),
    }
}

/// Reconcile one PushSecret.
pub async fn reconcile(ps: Arc<PushSecret>, shared: Arc<Shared>) -> Result<Action, kube::Error> {
    // A copy from before our own status/finalizer write would push and report again.
    if shared.applier.is_behind(ps.as_ref()) {
        return Ok(Action::requeue(RECHECK_AFTER));
    }
    let namespace = ps.metadata.namespace.clone().unwrap_or_default();
    let uid = ps.metadata.uid.clone().unwrap_or_default();
    let delete_policy = ps.spec.deletion_policy.as_deref() == Some("Delete");
    if ps.metadata.deletion_timestamp.is_some() {
        if ps
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == FINALIZER)
        {
            if delete_policy
                && let Err(e) = delete_entries(&shared, &namespace, &all_synced(&ps)).await
            {
                report(
                    &ps,
                    &shared,
                    false,
                    "Errored",
                    format!("Failed to Delete Secrets from Provider: {e}"),
                    None,
                )
                .await?;
                return Ok(Action::requeue(shared.backoff.failed(&uid)));
            }
            shared
                .applier
                .set_finalizer(ps.as_ref(), FINALIZER, false)
                .await?;
        }
        return Ok(Action::await_change());
    }
    if delete_policy {
        shared
            .applier
            .set_finalizer(ps.as_ref(), FINALIZER, true)
            .await?;
    }
    // Source.
    let source_name = ps
        .spec
        .selector
        .secret
        .as_ref()
        .and_then(|s| s.name.clone())
        .filter(|n| !n.is_empty());
    let Some(source_name) = source_name else {
        report(&ps, &shared, false, "Errored", "spec.selector.secret.name is required (selector by labels and generators are not supported by sealbox)".into(), None).await?;
        return Ok(Action::await_change());
    };
    let source: Option<DataMap> = shared
        .applier
        .get_secret(&namespace, &source_name)
        .await
        .map_err(|e| match e {
            crate::apply::ApplyError::Api { source, .. } => source,
            other => kube::Error::Service(other.to_string().into()),
        })?
        .map(|s| {
            s.data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect()
        });
    let Some(source) = source else {
        if delete_policy && !all_synced(&ps).is_empty() {
            if let Err(e) = delete_entries(&shared, &namespace, &all_synced(&ps)).await {
                report(
                    &ps,
                    &shared,
                    false,
                    "Errored",
                    format!("failed to cleanup provider secrets: {e}"),
                    None,
                )
                .await?;
                return Ok(Action::requeue(shared.backoff.failed(&uid)));
            }
            report(
                &ps,
                &shared,
                false,
                "SourceDeleted",
                "source secret deleted; provider secrets cleaned up".into(),
                Some(Default::default()),
            )
            .await?;
            return Ok(Action::await_change());
        }
        report(
            &ps,
            &shared,
            false,
            "Errored",
            "could not get source secret".into(),
            None,
        )
        .await?;
        return Ok(Action::requeue(shared.backoff.failed(&uid)));
    };
    let stores = stores_of(&ps, &shared);
    let ops: Vec<PushOp> = match plan::plan(&ps, &source, &stores) {
        Ok(ops) => ops,
        Err(e) => {
            report(&ps, &shared, false, "Errored", e, None).await?;
            return Ok(Action::await_change());
        }
    };
    let if_not_exists = ps.spec.update_policy.as_deref() == Some("IfNotExists");
    for op in &ops {
        let result = async {
            let c = client(&shared, &namespace, &op.store).await?;
            let target = push_ref(&op.entry);
            if if_not_exists && c.exists(&target).await.map_err(|e| e.to_string())? {
                return Ok(());
            }
            let value = sealbox_providers::SecretValue::new(op.value.clone());
            c.push(&target, &value, op.metadata.as_ref())
                .await
                .map_err(|e| {
                    format!(
                        "could not write remote ref {} to target secretstore {}: {e}",
                        plan::status_ref(&op.entry),
                        op.store
                    )
                })
        }
        .await;
        if let Err(e) = result {
            report(
                &ps,
                &shared,
                false,
                "Errored",
                format!("set secret failed: {e}"),
                None,
            )
            .await?;
            return Ok(Action::requeue(shared.backoff.failed(&uid)));
        }
    }
    if delete_policy {
        let stale = plan::stale(&ps, &ops);
        if let Err(e) = delete_entries(&shared, &namespace, &stale).await {
            report(
                &ps,
                &shared,
                false,
                "Errored",
                format!("Failed to Delete Secrets from Provider: {e}"),
                None,
            )
            .await?;
            return Ok(Action::requeue(shared.backoff.failed(&uid)));
        }
    }
    shared.backoff.succeeded(&uid);
    report(
        &ps,
        &shared,
        true,
        "Synced",
        "PushSecret synced successfully".into(),
        Some(plan::synced(&ops)),
    )
    .await?;
    Ok(match interval(&ps) {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

/// Error policy.
pub fn error_policy(ps: Arc<PushSecret>, error: &kube::Error, shared: Arc<Shared>) -> Action {
    let delay = shared
        .backoff
        .failed(ps.metadata.uid.as_deref().unwrap_or(""));
    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "PushSecret reconcile failed; retrying");
    Action::requeue(delay)
}
