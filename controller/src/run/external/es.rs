//! The async shell of the ExternalSecret reconciler: read the live Secret, decide whether
//! the store must be asked (ESO's `shouldRefresh` + `isSecretValid`), read through the
//! shared request layer, plan (pure, `reconcile::external`), write through the apply core,
//! then status, events and metrics.
//!
//! Outages: a store that is down or throttling yields `Ready=False` with the cause and a
//! jittered, capped backoff; nothing is written to the Secret, so its last good value
//! stays. The next successful read heals everything without a manual step.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ConfigMap, ObjectReference, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource as _;
use kube::api::Api;
use kube::runtime::controller::Action;
use rand::Rng as _;
use sealbox_providers::{ProviderError, StoreClient};
use thiserror::Error;

use super::Shared;
use super::metrics::{ObjectLabels, forget_condition, set_condition};
use super::stores::{self, StoreProblem};
use crate::api::external::external_secret::Binding;
use crate::api::external::{
    ExternalSecret, ExternalSecretCondition, ExternalSecretStatus, FINALIZER, LABEL_OWNER,
};
use crate::apply::own_writes::RECHECK_AFTER;
use crate::apply::{ApplyError, ApplyOutcome, DesiredSecret, PlannedEvent};
use crate::reconcile::external::data::{self, Answer, Read};
use crate::reconcile::external::keys::DataMap;
use crate::reconcile::external::plan::{self, Deletion, Outcome, Policies};
use crate::reconcile::external::template::TemplateSources;
use crate::reconcile::external::{
    EVENT_CREATED, EVENT_DELETED, EVENT_INVALID_SYNC_WINDOW, EVENT_UPDATE_FAILED, EVENT_UPDATED,
    READY, REASON_DELETED, REASON_MISSING, REASON_SYNCED, REASON_SYNCED_ERROR, hash,
};

/// A reconcile failed on the Kubernetes side (the error policy backs off).
#[derive(Debug, Error)]
pub enum EsError {
    /// Reading or writing the Secret.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// Any other API call.
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// What the status should say after this reconcile.
struct Report {
    ready: bool,
    reason: &'static str,
    message: String,
    /// Set refreshTime/syncedResourceVersion (a completed sync).
    synced: bool,
    binding: Option<String>,
}

fn condition_of(es: &ExternalSecret) -> Option<&ExternalSecretCondition> {
    es.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == READY))
}

fn new_status(es: &ExternalSecret, report: &Report, started: Timestamp) -> ExternalSecretStatus {
    let mut status = es.status.clone().unwrap_or_default();
    let status_text = if report.ready { "True" } else { "False" };
    let old = condition_of(es);
    let transition = match old {
        Some(c) if c.status == status_text => c.last_transition_time.clone(),
        _ => None,
    }
    .unwrap_or(Time(started));
    status.conditions.retain(|c| c.type_ != READY);
    status.conditions.push(ExternalSecretCondition {
        type_: READY.into(),
        status: status_text.into(),
        reason: Some(report.reason.into()),
        message: Some(report.message.clone()),
        last_transition_time: Some(transition),
    });
    if report.synced {
        status.refresh_time = Some(Time(started));
        status.synced_resource_version = Some(plan::current_resource_version(es));
    }
    if let Some(name) = &report.binding {
        status.binding = Some(Binding {
            name: Some(name.clone()),
        });
    }
    status
}

async fn write_report(
    es: &ExternalSecret,
    shared: &Shared,
    report: Report,
    started: Timestamp,
) -> Result<(), EsError> {
    let name = es.metadata.name.clone().unwrap_or_default();
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let status = new_status(es, &report, started);
    set_condition(
        &shared.metrics.es_condition,
        &name,
        &namespace,
        READY,
        if report.ready { "True" } else { "False" },
    );
    if !report.ready {
        shared
            .metrics
            .sync_errors
            .get_or_create(&ObjectLabels {
                name: name.clone(),
                namespace: namespace.clone(),
            })
            .inc();
    }
    if es.status.as_ref() != Some(&status) {
        shared.applier.write_status(es, &status).await?;
    }
    Ok(())
}

async fn publish(shared: &Shared, es: &ExternalSecret, event: PlannedEvent) {
    let reference: ObjectReference = es.object_ref(&());
    shared.applier.publish(&event, &reference).await;
}

/// Reconcile one ExternalSecret.
pub async fn reconcile(es: Arc<ExternalSecret>, shared: Arc<Shared>) -> Result<Action, EsError> {
    let clock = Instant::now();
    let name = es.metadata.name.clone().unwrap_or_default();
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let labels = ObjectLabels {
        name: name.clone(),
        namespace: namespace.clone(),
    };
    shared.metrics.sync_calls.get_or_create(&labels).inc();
    let result = reconcile_inner(&es, &shared).await;
    shared
        .metrics
        .es_duration
        .get_or_create(&labels)
        .set(clock.elapsed().as_nanos().min(i64::MAX as u128) as i64);
    result
}

async fn reconcile_inner(es: &ExternalSecret, shared: &Shared) -> Result<Action, EsError> {
    let started = Timestamp::now();
    let name = es.metadata.name.clone().unwrap_or_default();
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let uid = es.metadata.uid.clone().unwrap_or_default();

    // Read-your-own-writes: a copy from before our last status/finalizer write would redo
    // that reconcile (a second sync and status write, the #388/#525 family). The watch
    // event of our write queues the object again; look at it then.
    if shared.applier.is_behind(es) {
        tracing::debug!(namespace = %namespace, name = %name, "cache behind our own write; waiting for it");
        return Ok(Action::requeue(RECHECK_AFTER));
    }
    if es.metadata.deletion_timestamp.is_some() {
        return finalize(es, shared).await;
    }

    let policies = match Policies::of(es) {
        Ok(p) => p,
        Err(message) => {
            return fail_without_retry(es, shared, plan::MSG_ERROR_INVALID_SPEC, message, started)
                .await;
        }
    };
    // The finalizer is only needed to delete a target ourselves (deletionPolicy Delete);
    // Owner targets are garbage-collected through their owner reference anyway.
    if policies.deletion == Deletion::Delete {
        shared.applier.set_finalizer(es, FINALIZER, true).await?;
    }

    let target = es.spec.target_name(&name).to_owned();
    let live = shared.applier.get_secret(&namespace, &target).await?;

    let refresh = plan::should_refresh(es, &policies, started);
    let valid = plan::is_secret_valid(live.as_ref(), &policies);
    tracing::debug!(
        namespace = %namespace,
        name = %name,
        resource_version = es.metadata.resource_version.as_deref().unwrap_or(""),
        refresh,
        valid,
        "ExternalSecret reconcile"
    );
    if !refresh && valid {
        shared.backoff.succeeded(&uid);
        return Ok(requeue(es, &policies, started));
    }
    // Never-synced, changed or broken objects go first; a periodic refresh takes one of
    // a limited number of slots, and yields (requeued shortly, jittered) when they are
    // all busy, so new ExternalSecrets never wait behind a refresh cycle.
    let synced_rv = es
        .status
        .as_ref()
        .and_then(|s| s.synced_resource_version.clone())
        .unwrap_or_default();
    let periodic_only =
        valid && !synced_rv.is_empty() && synced_rv == plan::current_resource_version(es);
    let _permit = if periodic_only {
        match shared.periodic.clone().try_acquire_owned() {
            Ok(p) => Some(p),
            Err(_) => {
                shared.metrics.deferred.inc();
                let ms = rand::thread_rng().gen_range(200..1500);
                return Ok(Action::requeue(Duration::from_millis(ms)));
            }
        }
    } else {
        None
    };

    // A malformed sync window never blocks a sync (ESO reads it as never open); say so
    // on each sync, since no webhook refused it.
    for problem in &policies.window_problems {
        publish(
            shared,
            es,
            PlannedEvent::warning(EVENT_INVALID_SYNC_WINDOW, problem.clone()),
        )
        .await;
    }

    // Read the provider.
    let requests = match data::requests(&es.spec) {
        Ok(r) => r,
        Err(e) => {
            return fail_without_retry(
                es,
                shared,
                plan::MSG_ERROR_INVALID_SPEC,
                e.to_string(),
                started,
            )
            .await;
        }
    };
    let mut clients: HashMap<(bool, String), Result<Arc<StoreClient>, Arc<StoreProblem>>> =
        HashMap::new();
    for request in &requests {
        let key = (request.store.is_cluster(), request.store.name.clone());
        if clients.contains_key(&key) {
            continue;
        }
        let client = match stores::find_store(
            &shared.secret_stores,
            &shared.cluster_stores,
            &namespace,
            &request.store,
        ) {
            Ok(found) => stores::client_for(shared, &found, &namespace).await,
            Err(e) => Err(e),
        };
        clients.insert(key, client.map_err(Arc::new));
    }
    if let Some(problem) = clients.values().find_map(|c| c.as_ref().err()) {
        if matches!(problem.as_ref(), StoreProblem::OtherClass { .. }) {
            tracing::debug!(namespace = %namespace, name = %name, "store of another controller class; skipping");
            return Ok(Action::await_change());
        }
        let transient = problem.is_transient();
        let message = format!("{}: {problem}", plan::MSG_ERROR_GET_DATA);
        return fail(
            es,
            shared,
            message,
            problem.to_string(),
            transient,
            None,
            started,
            &policies,
        )
        .await;
    }
    for (key, client) in &clients {
        if let Ok(client) = client {
            read_ahead(shared, client, &key.1, key.0, &namespace, started).await;
        }
    }
    let reads = requests.iter().map(|request| {
        let client = clients[&(request.store.is_cluster(), request.store.name.clone())]
            .as_ref()
            .expect("checked above")
            .clone();
        let read = request.read.clone();
        async move {
            match read {
                Read::Get(r) => client.get(&r).await.map(Answer::Value),
                Read::Extract(r) => client.get_map(&r).await.map(Answer::Map),
                Read::Find(f) => client.find(&f).await.map(Answer::Map),
            }
        }
    });
    let answers: Vec<Result<Answer, ProviderError>> = futures::future::join_all(reads).await;
    let deletion = match policies.deletion {
        Deletion::Retain => "Retain",
        Deletion::Delete => "Delete",
        Deletion::Merge => "Merge",
    };
    let assembled = match data::assemble(
        &es.spec,
        deletion,
        requests.into_iter().zip(answers).collect(),
    ) {
        Ok(a) => a,
        Err(e) => {
            let transient = e.is_transient();
            let message = format!("{}: {e}", plan::MSG_ERROR_GET_DATA);
            return fail(
                es,
                shared,
                message,
                e.to_string(),
                transient,
                e.retry_after(),
                started,
                &policies,
            )
            .await;
        }
    };
    for event in assembled.events {
        publish(shared, es, event).await;
    }

    let sources = match template_sources(es, shared, &namespace).await {
        Ok(s) => s,
        Err(e) => {
            let message = format!("{}: {e}", plan::MSG_ERROR_UPDATE);
            return fail(es, shared, message, e, true, None, started, &policies).await;
        }
    };

    match plan::outcome(es, &policies, live.as_ref(), &assembled.data, &sources) {
        Outcome::Failed { message, error } => {
            fail(
                es,
                shared,
                format!("{message}: {error}"),
                error,
                false,
                None,
                started,
                &policies,
            )
            .await
        }
        Outcome::Retained => {
            done(
                es,
                shared,
                REASON_SYNCED,
                plan::MSG_SYNCED_RETAIN,
                None,
                started,
                &policies,
            )
            .await
        }
        Outcome::Missing => {
            done(
                es,
                shared,
                REASON_MISSING,
                plan::MSG_MISSING,
                None,
                started,
                &policies,
            )
            .await
        }
        Outcome::Nothing => {
            done(
                es,
                shared,
                REASON_SYNCED,
                plan::MSG_SYNCED,
                None,
                started,
                &policies,
            )
            .await
        }
        Outcome::Delete { name: target } => {
            if let Some(secret) = &live {
                let uid = secret.metadata.uid.clone().unwrap_or_default();
                if shared
                    .applier
                    .delete_secret(&namespace, &target, &uid)
                    .await?
                {
                    publish(
                        shared,
                        es,
                        PlannedEvent::normal(EVENT_DELETED, plan::MSG_DELETED),
                    )
                    .await;
                }
            }
            done(
                es,
                shared,
                REASON_DELETED,
                plan::MSG_DELETED,
                None,
                started,
                &policies,
            )
            .await
        }
        Outcome::Write(desired) => {
            if policies.creation == plan::Creation::Owner
                && es
                    .status
                    .as_ref()
                    .and_then(|s| s.synced_resource_version.as_deref())
                    != Some(plan::current_resource_version(es).as_str())
            {
                delete_orphaned(es, shared, &namespace, &target).await?;
            }
            write(es, shared, *desired, live.as_ref(), started, &policies).await
        }
    }
}

fn requeue(es: &ExternalSecret, policies: &Policies, started: Timestamp) -> Action {
    let refreshed = es
        .status
        .as_ref()
        .and_then(|s| s.refresh_time.as_ref())
        .map(|t| t.0)
        .unwrap_or(started);
    match plan::requeue_after(es, policies, refreshed, started) {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    }
}

async fn done(
    es: &ExternalSecret,
    shared: &Shared,
    reason: &'static str,
    message: &str,
    binding: Option<String>,
    started: Timestamp,
    policies: &Policies,
) -> Result<Action, EsError> {
    let uid = es.metadata.uid.clone().unwrap_or_default();
    shared.backoff.succeeded(&uid);
    write_report(
        es,
        shared,
        Report {
            ready: true,
            reason,
            message: message.to_owned(),
            synced: true,
            binding,
        },
        started,
    )
    .await?;
    match plan::requeue_after(es, policies, started, started) {
        Some(d) => Ok(Action::requeue(d)),
        None => Ok(Action::await_change()),
    }
}

#[allow(clippy::too_many_arguments)]
async fn fail(
    es: &ExternalSecret,
    shared: &Shared,
    message: String,
    event: String,
    transient: bool,
    retry_after: Option<Duration>,
    started: Timestamp,
    policies: &Policies,
) -> Result<Action, EsError> {
    let uid = es.metadata.uid.clone().unwrap_or_default();
    let changed = condition_of(es)
        .is_none_or(|c| c.status != "False" || c.message.as_deref() != Some(message.as_str()));
    tracing::warn!(
        namespace = es.metadata.namespace.as_deref().unwrap_or(""),
        name = es.metadata.name.as_deref().unwrap_or(""),
        error = %event,
        transient,
        "ExternalSecret not synced"
    );
    if changed {
        publish(
            shared,
            es,
            PlannedEvent::warning(EVENT_UPDATE_FAILED, event),
        )
        .await;
    }
    write_report(
        es,
        shared,
        Report {
            ready: false,
            reason: REASON_SYNCED_ERROR,
            message,
            synced: false,
            binding: None,
        },
        started,
    )
    .await?;
    if transient {
        let delay = shared.backoff.failed(&uid);
        return Ok(Action::requeue(retry_after.map_or(delay, |r| r.max(delay))));
    }
    // Not fixable by retrying now: look again at the next refresh (or on change).
    Ok(match plan::requeue_after(es, policies, started, started) {
        Some(d) => Action::requeue(d),
        None => Action::await_change(),
    })
}

async fn fail_without_retry(
    es: &ExternalSecret,
    shared: &Shared,
    what: &str,
    error: String,
    started: Timestamp,
) -> Result<Action, EsError> {
    let message = format!("{what}: {error}");
    let changed = condition_of(es).is_none_or(|c| c.message.as_deref() != Some(message.as_str()));
    if changed {
        publish(
            shared,
            es,
            PlannedEvent::warning(EVENT_UPDATE_FAILED, error),
        )
        .await;
    }
    write_report(
        es,
        shared,
        Report {
            ready: false,
            reason: REASON_SYNCED_ERROR,
            message,
            synced: false,
            binding: None,
        },
        started,
    )
    .await?;
    Ok(Action::await_change())
}

async fn write(
    es: &ExternalSecret,
    shared: &Shared,
    desired: plan::Desired,
    live: Option<&Secret>,
    started: Timestamp,
    policies: &Policies,
) -> Result<Action, EsError> {
    let uid = es.metadata.uid.clone().unwrap_or_default();
    let target = desired.secret.metadata.name.clone().unwrap_or_default();
    let wanted = DesiredSecret {
        secret: desired.secret,
        ownership: desired.ownership,
    };
    match shared
        .applier
        .apply_secret_as(&wanted, live, &uid, &desired.manager)
        .await
    {
        Ok(outcome) => {
            match &outcome {
                ApplyOutcome::Created => {
                    publish(
                        shared,
                        es,
                        PlannedEvent::normal(EVENT_CREATED, "secret created"),
                    )
                    .await;
                }
                ApplyOutcome::Updated(_) => {
                    publish(
                        shared,
                        es,
                        PlannedEvent::normal(EVENT_UPDATED, "secret updated"),
                    )
                    .await;
                }
                ApplyOutcome::Skipped(_) => {
                    return done(
                        es,
                        shared,
                        REASON_MISSING,
                        plan::MSG_MISSING,
                        None,
                        started,
                        policies,
                    )
                    .await;
                }
                ApplyOutcome::Refused(msg) => {
                    let msg = msg.clone();
                    return fail(
                        es,
                        shared,
                        format!("{}: {msg}", plan::MSG_ERROR_UPDATE),
                        msg,
                        false,
                        None,
                        started,
                        policies,
                    )
                    .await;
                }
                ApplyOutcome::Unchanged => {}
            }
            done(
                es,
                shared,
                REASON_SYNCED,
                plan::MSG_SYNCED,
                Some(target),
                started,
                policies,
            )
            .await
        }
        Err(e @ ApplyError::Immutable { .. }) => {
            fail(
                es,
                shared,
                format!("{}: {e}", plan::MSG_ERROR_IMMUTABLE),
                e.to_string(),
                false,
                None,
                started,
                policies,
            )
            .await
        }
        Err(ApplyError::Api {
            source: kube::Error::Api(s),
            ..
        }) if s.code == 409 => {
            // Conflict: someone wrote in between; look again right away.
            Ok(Action::requeue(Duration::from_millis(
                rand::thread_rng().gen_range(50..250),
            )))
        }
        Err(e) => {
            let transient = e.is_transient();
            fail(
                es,
                shared,
                format!("{}: {e}", plan::MSG_ERROR_UPDATE),
                e.to_string(),
                transient,
                None,
                started,
                policies,
            )
            .await
        }
    }
}

/// Read ahead a store's refresh wave: the first reconcile of a wave reads, at once, every
/// remote secret that the ExternalSecrets of this store due now (or within the cache
/// TTL) use. The reads go through the request layer, so they are deduplicated and, on AWS,
/// batched 20 per `BatchGetSecretValue`; the other reconciles of the wave find the values
/// in the cache. 1,000 ExternalSecrets over 100 AWS secrets thus cost 5 calls per cycle,
/// whatever the order and pace of their reconciles. Only for AWS (Vault has no batch
/// read, so reading ahead would not save a call). Errors are ignored here: each
/// ExternalSecret still reads its own keys and gets its own answer.
async fn read_ahead(
    shared: &Shared,
    client: &Arc<StoreClient>,
    store_name: &str,
    cluster: bool,
    namespace: &str,
    now: Timestamp,
) {
    if client.kind() != sealbox_providers::ProviderKind::Aws {
        return;
    }
    let ttl = shared.options.layer.ttl;
    let wave_key = format!(
        "{}/{}",
        client.identity(),
        if cluster { "" } else { namespace }
    );
    if shared
        .prefetched
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&wave_key)
        .is_some_and(|at| at.elapsed() < ttl / 2)
    {
        return;
    }
    let horizon = now + jiff::SignedDuration::try_from(ttl / 2).unwrap_or_default();
    let mut keys = std::collections::BTreeSet::new();
    for es in shared.external_secrets.state() {
        let Some(store) = es.spec.secret_store_ref.as_ref() else {
            continue;
        };
        if store.name != store_name || store.is_cluster() != cluster {
            continue;
        }
        if !cluster && es.metadata.namespace.as_deref() != Some(namespace) {
            continue;
        }
        let Ok(p) = Policies::of(&es) else { continue };
        if !plan::should_refresh(&es, &p, horizon) {
            continue;
        }
        let plain = |r: &crate::api::external::external_secret::RemoteRef| {
            r.version.as_deref().unwrap_or("").is_empty()
                && matches!(r.metadata_policy.as_deref(), None | Some("") | Some("None"))
        };
        for item in &es.spec.data {
            if item.source_ref.is_none() && plain(&item.remote_ref) {
                keys.insert(item.remote_ref.key.clone());
            }
        }
        for item in &es.spec.data_from {
            if let Some(r) = &item.extract
                && item.source_ref.is_none()
                && plain(r)
            {
                keys.insert(r.key.clone());
            }
        }
    }
    // The cache of ExternalSecrets fills during the first list: read ahead only once it
    // knows more than the object being reconciled.
    if keys.len() < 2 {
        return;
    }
    shared
        .prefetched
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(wave_key, Instant::now());
    let reads = keys
        .into_iter()
        .map(|k| async move { client.get(&sealbox_providers::RemoteRef::key(k)).await });
    let _ = futures::future::join_all(reads).await;
}

/// ESO `deleteOrphanedSecrets`: Secrets this ExternalSecret created under an older
/// `target.name` (found by the created-by label) are deleted.
async fn delete_orphaned(
    es: &ExternalSecret,
    shared: &Shared,
    namespace: &str,
    target: &str,
) -> Result<(), EsError> {
    let name = es.metadata.name.clone().unwrap_or_default();
    let selector = format!("{LABEL_OWNER}={}", hash::owner_label(namespace, &name));
    for secret in shared.applier.secret_metadata(namespace, &selector).await? {
        let secret_name = secret.metadata.name.clone().unwrap_or_default();
        if secret_name == target {
            continue;
        }
        let uid = secret.metadata.uid.clone().unwrap_or_default();
        if shared
            .applier
            .delete_secret(namespace, &secret_name, &uid)
            .await?
        {
            publish(
                shared,
                es,
                PlannedEvent::normal(EVENT_DELETED, "secret deleted because it was orphaned"),
            )
            .await;
        }
    }
    Ok(())
}

/// The ExternalSecret is being deleted: with `deletionPolicy: Delete`, delete the target
/// if this ExternalSecret controls it; then drop the finalizer (ESO's or ours).
async fn finalize(es: &ExternalSecret, shared: &Shared) -> Result<Action, EsError> {
    let name = es.metadata.name.clone().unwrap_or_default();
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let uid = es.metadata.uid.clone().unwrap_or_default();
    let has_finalizer = es
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER);
    if !has_finalizer {
        return Ok(Action::await_change());
    }
    let delete = es
        .spec
        .target
        .as_ref()
        .and_then(|t| t.deletion_policy.as_deref())
        == Some("Delete");
    if delete {
        let target = es.spec.target_name(&name);
        if let Some(secret) = shared.applier.get_secret(&namespace, target).await?
            && crate::apply::ownership::controlled_by(&secret, &uid)
        {
            let secret_uid = secret.metadata.uid.clone().unwrap_or_default();
            shared
                .applier
                .delete_secret(&namespace, target, &secret_uid)
                .await?;
        }
    }
    shared.applier.set_finalizer(es, FINALIZER, false).await?;
    forget_condition(&shared.metrics.es_condition, &name, &namespace, READY);
    shared.backoff.succeeded(&uid);
    Ok(Action::await_change())
}

async fn template_sources(
    es: &ExternalSecret,
    shared: &Shared,
    namespace: &str,
) -> Result<TemplateSources, String> {
    let template = es.spec.target.as_ref().and_then(|t| t.template.as_ref());
    let (cms, secrets) = TemplateSources::needed(template);
    let mut sources = TemplateSources::default();
    for name in cms {
        let api: Api<ConfigMap> = Api::namespaced(shared.client.clone(), namespace);
        if let Some(cm) = api
            .get_opt(&name)
            .await
            .map_err(|e| format!("reading ConfigMap {name}: {e}"))?
        {
            sources
                .config_maps
                .insert(name, cm.data.unwrap_or_default());
        }
    }
    for name in secrets {
        if let Some(s) = shared
            .applier
            .get_secret(namespace, &name)
            .await
            .map_err(|e| e.to_string())?
        {
            let data: DataMap = s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect();
            sources.secrets.insert(name, data);
        }
    }
    Ok(sources)
}

/// Error policy: jittered exponential backoff per object.
pub fn error_policy(es: Arc<ExternalSecret>, error: &EsError, shared: Arc<Shared>) -> Action {
    let uid = es.metadata.uid.clone().unwrap_or_default();
    let delay = shared.backoff.failed(&uid);
    tracing::warn!(
        namespace = es.metadata.namespace.as_deref().unwrap_or(""),
        name = es.metadata.name.as_deref().unwrap_or(""),
        %error,
        retry_in_ms = delay.as_millis() as u64,
        "ExternalSecret reconcile failed; retrying"
    );
    Action::requeue(delay)
}
