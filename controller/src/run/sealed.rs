//! The async shell around the SealedSecret planner: read the live Secret, plan (off the
//! async threads, at most one RSA job per core), apply, then status, events and metrics.

use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource as _;
use kube::runtime::controller::Action;
use thiserror::Error;
use tokio::sync::Semaphore;

use crate::api::{SealedSecret, SealedSecretCondition, SealedSecretStatus};
use crate::apply::conditions::{ObservedStatus, status_update};
use crate::apply::own_writes::RECHECK_AFTER;
use crate::apply::{
    Applier, ApplyError, ApplyOutcome, Backoff, ConditionState, ConditionStatus, PlannedEvent,
};
use crate::keystore::KeyStore;
use crate::metrics::{ConditionLabels, Metrics};
use crate::reconcile::sealed::{
    Path, PlannerOptions, REASON_RESTORED, REASON_UNSEALED, REASON_UPDATE_FAILED, SYNCED, plan,
};

/// What every SealedSecret reconcile shares.
pub struct Context {
    /// Writes.
    pub applier: Applier,
    /// Keys.
    pub keystore: Arc<KeyStore>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Retry delays per object.
    pub backoff: Backoff,
    /// One permit per RSA thread.
    pub rsa_slots: Semaphore,
    /// Planner options.
    pub options: PlannerOptions,
    /// Write status conditions.
    pub update_status: bool,
    /// Requeue successful objects after this long (periodic resync), if set.
    pub resync: Option<std::time::Duration>,
}

/// A reconcile failed in a way worth retrying (the error policy backs off).
#[derive(Debug, Error)]
pub enum ReconcileError {
    /// Reading or writing the API failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// Writing status failed.
    #[error("writing status: {0}")]
    Status(kube::Error),
    /// The planner task died.
    #[error("planner task failed: {0}")]
    Join(String),
}

fn observed(ss: &SealedSecret) -> ObservedStatus {
    let status = ss.status.as_ref();
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

fn was_synced(ss: &SealedSecret) -> bool {
    let o = observed(ss);
    o.condition
        .is_some_and(|c| c.status == ConditionStatus::True)
        && o.observed_generation == ss.metadata.generation
}

async fn report(
    ss: &SealedSecret,
    ctx: &Context,
    condition: ConditionState,
    event: Option<PlannedEvent>,
) -> Result<(), ReconcileError> {
    let namespace = ss.metadata.namespace.clone().unwrap_or_default();
    let previous = observed(ss);
    let changed = previous.condition.as_ref() != Some(&condition);
    if ctx.update_status
        && let Some(update) = status_update(
            &previous,
            &condition,
            ss.metadata.generation,
            Timestamp::now(),
        )
    {
        let status = SealedSecretStatus {
            observed_generation: update.observed_generation,
            conditions: Some(vec![SealedSecretCondition {
                type_: update.condition.type_.clone(),
                status: update.condition.status.as_str().to_owned(),
                last_update_time: Some(Time(update.last_update)),
                last_transition_time: Some(Time(update.last_transition)),
                reason: Some(update.condition.reason.clone()),
                message: Some(update.condition.message.clone()),
            }]),
        };
        if let Err(e) = ctx.applier.write_status(ss, &status).await {
            ctx.metrics.unseal_error("status", &namespace);
            return Err(ReconcileError::Status(e));
        }
    }
    ctx.metrics
        .condition_info
        .get_or_create(&ConditionLabels {
            namespace: namespace.clone(),
            name: ss.metadata.name.clone().unwrap_or_default(),
            condition: SYNCED.to_owned(),
            ss_app_kubernetes_io_instance: ss
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("app.kubernetes.io/instance"))
                .cloned()
                .unwrap_or_default(),
        })
        .set(condition.status.gauge_value());
    if let Some(event) = event
        && (changed || event.kind == crate::apply::EventKind::Normal)
    {
        ctx.applier.publish(&event, &ss.object_ref(&())).await;
    }
    Ok(())
}

/// Reconcile one SealedSecret.
pub async fn reconcile(ss: Arc<SealedSecret>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    ctx.metrics.unseal_requests.inc();
    if !ctx.keystore.is_loaded() {
        return Ok(Action::requeue(std::time::Duration::from_secs(1)));
    }
    let namespace = ss.metadata.namespace.clone().unwrap_or_default();
    let name = ss.metadata.name.clone().unwrap_or_default();
    let uid = ss.metadata.uid.clone().unwrap_or_default();
    // Read-your-own-writes: the Secret write of the previous reconcile queued this object
    // again; a cached copy still without that reconcile's status would write it a second
    // time. The watch event of our status write queues the object again.
    if ctx.applier.is_behind(ss.as_ref()) {
        tracing::debug!(namespace = %namespace, name = %name, "cache behind our own write; waiting for it");
        return Ok(Action::requeue(RECHECK_AFTER));
    }
    let live = match ctx.applier.get_secret(&namespace, &name).await {
        Ok(live) => live,
        Err(e) => {
            ctx.metrics.unseal_error("fetch", &namespace);
            return Err(e.into());
        }
    };

    let keys = ctx.keystore.snapshot();
    let options = ctx.options;
    let planned = {
        let _permit = ctx
            .rsa_slots
            .acquire()
            .await
            .expect("semaphore never closed");
        let sealed = ss.clone();
        let live = live.clone();
        tokio::task::spawn_blocking(move || plan(&sealed, &keys, live.as_ref(), options))
            .await
            .map_err(|e| ReconcileError::Join(e.to_string()))?
    };
    match planned.path {
        Path::Verified => {
            ctx.metrics.unseal_skipped.inc();
        }
        Path::Unsealed => {
            ctx.metrics.unsealed.inc();
        }
        Path::Failed | Path::Refused => {}
    }

    let plan = planned.plan;
    let Some(desired) = plan.desired else {
        let reason = if planned.path == Path::Refused {
            "unmanaged"
        } else {
            "unseal"
        };
        ctx.metrics.unseal_error(reason, &namespace);
        ctx.metrics.reconciled(if planned.path == Path::Refused {
            "refused"
        } else {
            "failed"
        });
        tracing::warn!(namespace = %namespace, name = %name, reason = %plan.condition.reason,
            message = %plan.condition.message, "SealedSecret not synced");
        report(&ss, &ctx, plan.condition, plan.events.into_iter().next()).await?;
        return Ok(if plan.retry {
            Action::requeue(ctx.backoff.failed(&uid))
        } else {
            Action::await_change()
        });
    };

    let started = Instant::now();
    let outcome = ctx
        .applier
        .apply_secret(&desired, live.as_ref(), &uid)
        .await;
    ctx.metrics
        .apply_duration
        .observe(started.elapsed().as_secs_f64());
    let secret_name = format!("{namespace}/{name}");
    match outcome {
        Ok(ApplyOutcome::Refused(msg)) | Ok(ApplyOutcome::Skipped(msg)) => {
            ctx.metrics.unseal_error("unmanaged", &namespace);
            ctx.metrics.reconciled("refused");
            let condition = ConditionState::new(
                SYNCED,
                ConditionStatus::False,
                REASON_UPDATE_FAILED,
                format!("failed update: {msg}"),
            );
            report(
                &ss,
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
                ApplyOutcome::Created if was_synced(&ss) => Some(PlannedEvent::normal(
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
                    REASON_UNSEALED,
                    "SealedSecret unsealed successfully",
                )),
                // Nothing written, but the object recovers from a reported failure (e.g. its
                // key came back). A cache that has not seen our status yet says nothing.
                _ if observed(&ss)
                    .condition
                    .is_some_and(|c| c.status == ConditionStatus::False) =>
                {
                    Some(PlannedEvent::normal(
                        REASON_UNSEALED,
                        "SealedSecret unsealed successfully",
                    ))
                }
                _ => None,
            };
            let result = match &outcome {
                ApplyOutcome::Created => "created",
                ApplyOutcome::Updated(_) => "updated",
                _ => "unchanged",
            };
            ctx.metrics.reconciled(result);
            if result != "unchanged" {
                tracing::info!(namespace = %namespace, name = %name, result, "Secret written");
            }
            report(&ss, &ctx, plan.condition, event).await?;
            Ok(match ctx.resync {
                Some(period) => Action::requeue(period),
                None => Action::await_change(),
            })
        }
        Err(e) => {
            ctx.metrics.unseal_error("update", &namespace);
            ctx.metrics.reconciled("error");
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
                &ss,
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
pub fn error_policy(ss: Arc<SealedSecret>, error: &ReconcileError, ctx: Arc<Context>) -> Action {
    let uid = ss.metadata.uid.clone().unwrap_or_default();
    let delay = ctx.backoff.failed(&uid);
    tracing::warn!(
        namespace = ss.metadata.namespace.as_deref().unwrap_or(""),
        name = ss.metadata.name.as_deref().unwrap_or(""),
        %error,
        retry_in_ms = delay.as_millis() as u64,
        "reconcile failed; retrying"
    );
    Action::requeue(delay)
}
