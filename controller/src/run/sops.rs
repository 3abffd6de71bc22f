//! The async shell around the SopsSecret planner: read the age key Secret and the live
//! Secret, plan off the async threads, apply through the apply core, then status and events.
//! Started once the `sealbox.dev` CRD is served; logs carry names and reasons, never values.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource as _;
use kube::api::Api;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::watcher;
use thiserror::Error;

use crate::api::sops_secret::{SopsSecret, SopsSecretCondition, SopsSecretStatus};
use crate::apply::conditions::{ObservedStatus, status_update};
use crate::apply::own_writes::RECHECK_AFTER;
use crate::apply::{
    Applier, ApplyError, ApplyOutcome, Backoff, ConditionState, ConditionStatus, EventKind,
    PlannedEvent,
};
use crate::reconcile::sops::{
    Path, READY, REASON_DECRYPTED, REASON_RESTORED, REASON_UPDATE_FAILED, SYNCED, age_keys, plan,
};

/// Settings of the SopsSecret controller.
#[derive(Clone, Debug)]
pub struct SopsOptions {
    /// Watched namespaces (`None`: all), as for SealedSecrets: one watch per namespace,
    /// so a SopsSecret elsewhere is never decrypted and no cluster-wide list is needed.
    pub namespaces: Option<Vec<String>>,
    /// Event reporter (controller name) and instance.
    pub reporter: String,
    /// This replica.
    pub instance: String,
    /// Reconciles in flight.
    pub concurrency: u16,
}

/// What every reconcile shares.
pub struct Context {
    /// Writes.
    pub applier: Applier,
    /// Retry delays per object.
    pub backoff: Backoff,
}

/// A reconcile failed in a way worth retrying.
#[derive(Debug, Error)]
pub enum ReconcileError {
    /// Reading or writing the API failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// Reading the age key Secret failed.
    #[error("reading the age key Secret {0}: {1}")]
    KeySecret(String, kube::Error),
    /// Writing status failed.
    #[error("writing status: {0}")]
    Status(kube::Error),
    /// The planner task died.
    #[error("planner task failed: {0}")]
    Join(String),
}

/// Whether the SopsSecret CRD is served (asked in `namespace`, or cluster-wide).
pub async fn crd_installed(client: &kube::Client, namespace: Option<&str>) -> bool {
    let api: Api<SopsSecret> = match namespace {
        None => Api::all(client.clone()),
        Some(ns) => Api::namespaced(client.clone(), ns),
    };
    api.list_metadata(&kube::api::ListParams::default().limit(1))
        .await
        .is_ok()
}

/// Run the SopsSecret controller until `shutdown`.
pub async fn run(
    client: kube::Client,
    options: SopsOptions,
    shutdown: impl Future<Output = ()> + Send + Sync + Clone + 'static,
) {
    let scopes: Vec<Option<String>> = match &options.namespaces {
        None => vec![None],
        Some(list) => list.iter().cloned().map(Some).collect(),
    };
    let Some(first) = scopes.first().cloned() else {
        return;
    };
    let mut logged = false;
    while !crd_installed(&client, first.as_deref()).await {
        if !logged {
            tracing::info!(
                "sopssecrets.sealbox.dev CRD is not installed; the SopsSecret controller waits for it"
            );
            logged = true;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
            () = shutdown.clone() => return,
        }
    }
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: options.reporter.clone(),
            instance: Some(options.instance.clone()),
        },
    );
    let context = Arc::new(Context {
        applier: Applier::new(client.clone(), recorder),
        backoff: Backoff::default(),
    });
    tracing::info!(namespaces = ?options.namespaces, "SopsSecret controller started");
    let loops = scopes.into_iter().map(|scope| {
        let (sops_api, secret_api): (Api<SopsSecret>, Api<Secret>) = match &scope {
            None => (Api::all(client.clone()), Api::all(client.clone())),
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
        };
        Controller::new(sops_api, watcher::Config::default())
            .owns(secret_api, watcher::Config::default())
            .with_config(controller::Config::default().concurrency(options.concurrency.max(1)))
            .graceful_shutdown_on(shutdown.clone())
            .run(reconcile, error_policy, context.clone())
            .for_each(|r| async move {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "SopsSecret controller event");
                }
            })
    });
    futures::future::join_all(loops).await;
}

fn observed(s: &SopsSecret) -> ObservedStatus {
    let status = s.status.as_ref();
    let cond = status
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == SYNCED));
    ObservedStatus {
        condition: cond.map(|c| ConditionState {
            type_: c.type_.clone(),
            status: ConditionStatus::parse(&c.status),
            reason: c.reason.clone().unwrap_or_default(),
            message: c.message.clone().unwrap_or_default(),
        }),
        last_transition: cond
            .and_then(|c| c.last_transition_time.as_ref())
            .map(|t| t.0),
        observed_generation: status.and_then(|s| s.observed_generation),
    }
}

fn was_synced(s: &SopsSecret) -> bool {
    let o = observed(s);
    o.condition
        .is_some_and(|c| c.status == ConditionStatus::True)
        && o.observed_generation == s.metadata.generation
}

/// Write `Synced` and `Ready` (when changed) and publish the event.
async fn report(
    s: &SopsSecret,
    ctx: &Context,
    condition: ConditionState,
    event: Option<PlannedEvent>,
) -> Result<(), ReconcileError> {
    let previous = observed(s);
    let changed = previous.condition.as_ref() != Some(&condition);
    if let Some(update) = status_update(
        &previous,
        &condition,
        s.metadata.generation,
        Timestamp::now(),
    ) {
        let one = |type_: &str| SopsSecretCondition {
            type_: type_.to_owned(),
            status: update.condition.status.as_str().to_owned(),
            last_transition_time: Some(Time(update.last_transition)),
            reason: Some(update.condition.reason.clone()),
            message: Some(update.condition.message.clone()),
            observed_generation: update.observed_generation,
        };
        let status = SopsSecretStatus {
            observed_generation: update.observed_generation,
            conditions: Some(vec![one(SYNCED), one(READY)]),
        };
        ctx.applier
            .write_status(s, &status)
            .await
            .map_err(ReconcileError::Status)?;
    }
    if let Some(event) = event
        && (changed || event.kind == EventKind::Normal)
    {
        ctx.applier.publish(&event, &s.object_ref(&())).await;
    }
    Ok(())
}

/// Reconcile one SopsSecret.
pub async fn reconcile(s: Arc<SopsSecret>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let namespace = s.metadata.namespace.clone().unwrap_or_default();
    let name = s.metadata.name.clone().unwrap_or_default();
    let uid = s.metadata.uid.clone().unwrap_or_default();
    // Read-your-own-writes (as for SealedSecrets): a cached copy that predates our last
    // status write would decrypt and write status a second time; the watch event of that
    // write queues the object again.
    if ctx.applier.is_behind(s.as_ref()) {
        tracing::debug!(namespace = %namespace, name = %name, "cache behind our own write; waiting for it");
        return Ok(Action::requeue(RECHECK_AFTER));
    }
    let key_ref = s.spec.age_key_secret_ref.clone();
    let key_secret = if key_ref.name.is_empty() {
        None
    } else {
        let api: Api<Secret> = Api::namespaced(ctx.applier.client().clone(), &namespace);
        match api.get(&key_ref.name).await {
            Ok(secret) => Some(secret),
            Err(kube::Error::Api(e)) if e.code == 404 => None,
            Err(e) => {
                return Err(ReconcileError::KeySecret(
                    format!("{namespace}/{}", key_ref.name),
                    e,
                ));
            }
        }
    };
    let live = ctx.applier.get_secret(&namespace, &name).await?;
    let planned = {
        let s = s.clone();
        let live = live.clone();
        tokio::task::spawn_blocking(move || {
            let keys = age_keys(key_secret.as_ref(), &key_ref, &namespace);
            plan(&s, keys.as_ref().map_err(String::as_str), live.as_ref())
        })
        .await
        .map_err(|e| ReconcileError::Join(e.to_string()))?
    };
    let namespace = s.metadata.namespace.clone().unwrap_or_default();
    let plan = planned.plan;
    let Some(desired) = plan.desired else {
        tracing::warn!(namespace = %namespace, name = %name, reason = %plan.condition.reason,
            message = %plan.condition.message, "SopsSecret not synced");
        report(&s, &ctx, plan.condition, plan.events.into_iter().next()).await?;
        return Ok(if plan.retry {
            Action::requeue(ctx.backoff.failed(&uid))
        } else {
            Action::await_change()
        });
    };
    // Which path the planner took, so that an operator (and the e2e test) can see that an
    // unchanged resync decrypts nothing.
    match planned.path {
        Path::Verified => {
            tracing::debug!(namespace = %namespace, name = %name, "live Secret verified; nothing decrypted")
        }
        Path::Decrypted => {
            tracing::debug!(namespace = %namespace, name = %name, "SopsSecret decrypted")
        }
        Path::Refused | Path::Failed => {}
    }
    let secret_name = format!("{namespace}/{name}");
    match ctx
        .applier
        .apply_secret(&desired, live.as_ref(), &uid)
        .await
    {
        Ok(ApplyOutcome::Refused(msg)) | Ok(ApplyOutcome::Skipped(msg)) => {
            let condition = ConditionState::new(
                SYNCED,
                ConditionStatus::False,
                REASON_UPDATE_FAILED,
                msg.clone(),
            );
            report(
                &s,
                &ctx,
                condition,
                Some(PlannedEvent::warning(REASON_UPDATE_FAILED, msg)),
            )
            .await?;
            Ok(Action::requeue(ctx.backoff.failed(&uid)))
        }
        Ok(outcome) => {
            ctx.backoff.succeeded(&uid);
            let event = match &outcome {
                ApplyOutcome::Created if was_synced(&s) => Some(PlannedEvent::normal(
                    REASON_RESTORED,
                    format!("Secret {secret_name} was deleted; recreated it"),
                )),
                ApplyOutcome::Updated(drift) if !plan.source_changed => Some(PlannedEvent::normal(
                    REASON_RESTORED,
                    format!(
                        "Secret {secret_name} was changed outside the controller ({}); restored it",
                        drift.summary()
                    ),
                )),
                ApplyOutcome::Created | ApplyOutcome::Updated(_) => Some(PlannedEvent::normal(
                    REASON_DECRYPTED,
                    format!("decrypted into Secret {secret_name}"),
                )),
                _ if observed(&s)
                    .condition
                    .is_some_and(|c| c.status == ConditionStatus::False) =>
                {
                    Some(PlannedEvent::normal(
                        REASON_DECRYPTED,
                        format!("decrypted into Secret {secret_name}"),
                    ))
                }
                _ => None,
            };
            if !matches!(outcome, ApplyOutcome::Unchanged) {
                tracing::info!(namespace = %namespace, name = %name, "Secret written");
            }
            report(&s, &ctx, plan.condition, event).await?;
            Ok(Action::await_change())
        }
        Err(e) => {
            let transient = e.is_transient();
            let message = e.to_string();
            tracing::warn!(namespace = %namespace, name = %name, error = %message, "writing the Secret failed");
            let condition = ConditionState::new(
                SYNCED,
                ConditionStatus::False,
                REASON_UPDATE_FAILED,
                &message,
            );
            report(
                &s,
                &ctx,
                condition,
                Some(PlannedEvent::warning(REASON_UPDATE_FAILED, message)),
            )
            .await?;
            if transient {
                Err(e.into())
            } else {
                Ok(Action::await_change())
            }
        }
    }
}

/// Error policy: back off per object.
pub fn error_policy(s: Arc<SopsSecret>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let uid = s.metadata.uid.clone().unwrap_or_default();
    let delay = ctx.backoff.failed(&uid);
    tracing::warn!(
        namespace = s.metadata.namespace.as_deref().unwrap_or(""),
        name = s.metadata.name.as_deref().unwrap_or(""),
        %error,
        retry_in_ms = delay.as_millis() as u64,
        "SopsSecret reconcile failed; retrying"
    );
    Action::requeue(delay)
}
