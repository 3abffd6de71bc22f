//! The only code that writes to the API server: target Secrets (create, server-side apply,
//! removal of fields a replace must drop), status through the status subresource, and
//! Events.
//!
//! Secrets are created with a plain POST (a create never lands on a Secret that appeared a
//! moment ago: that is a 409, retried, and then goes through the ownership check) and
//! updated with server-side apply, field manager [`FIELD_MANAGER`], `force` — a controller
//! must win over a hand edit, which SSA would otherwise report as a conflict. In replace
//! mode, keys another manager added (a `kubectl edit`) are not ours under SSA and would
//! survive an apply, so they are removed with a merge patch carrying the resourceVersion
//! the apply returned (an optimistic lock).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use thiserror::Error;

use super::FIELD_MANAGER;
use super::drift::{Drift, compare};
use super::own_writes::OwnWrites;
use super::ownership::{Decision, WriteMode, decide};
use super::plan::{DesiredSecret, EventKind, PlannedEvent};

/// What happened to the target Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// It already was what the plan wants: nothing written.
    Unchanged,
    /// It did not exist and was created.
    Created,
    /// It existed and was updated; the drift says which parts changed.
    Updated(Drift),
    /// The ownership check refused to touch it.
    Refused(String),
    /// The policy says there is nothing to write.
    Skipped(String),
}

/// A write failed.
#[derive(Debug, Error)]
pub enum ApplyError {
    /// The target is immutable (or its type differs) and its content would change: no
    /// retry can fix that; the message says what to do.
    #[error(
        "the target Secret {name} is immutable ({field} would change). Once a Secret is marked as immutable, it is not possible to revert this change nor to mutate the contents of the data field. You can only delete and recreate the Secret."
    )]
    Immutable {
        /// namespace/name.
        name: String,
        /// Which field would change.
        field: &'static str,
    },
    /// The API server refused or failed the request.
    #[error("{verb} Secret {name}: {source}")]
    Api {
        /// What we tried.
        verb: &'static str,
        /// namespace/name.
        name: String,
        /// The client error (status messages never contain Secret values).
        source: kube::Error,
    },
}

impl ApplyError {
    /// Whether retrying later can help.
    pub fn is_transient(&self) -> bool {
        match self {
            ApplyError::Immutable { .. } => false,
            ApplyError::Api { source, .. } => {
                !matches!(source, kube::Error::Api(s) if s.code == 422 || s.code == 400 || s.code == 403)
            }
        }
    }
}

/// Whether a server error is Kubernetes' "field is immutable" validation failure.
pub fn is_immutable_error(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 422 && s.message.contains("immutable"))
}

/// Writes objects, status and events with one field manager, and remembers which versions
/// of the source objects its own writes replaced ([`Applier::is_behind`]).
#[derive(Clone)]
pub struct Applier {
    client: Client,
    recorder: Recorder,
    own: Arc<OwnWrites>,
}

impl Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("field_manager", &FIELD_MANAGER)
            .finish()
    }
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

impl Applier {
    /// An applier publishing events as `reporter`.
    pub fn new(client: Client, recorder: Recorder) -> Applier {
        Applier {
            client,
            recorder,
            own: Arc::new(OwnWrites::default()),
        }
    }

    /// Whether this cached copy of a source object predates a write this applier made to
    /// it (status, finalizer): reconciling it would redo the work of the reconcile that
    /// wrote, and write its status again. See [`OwnWrites`].
    pub fn is_behind<K: Resource>(&self, obj: &K) -> bool {
        let meta = obj.meta();
        self.own.is_behind(
            meta.uid.as_deref().unwrap_or_default(),
            meta.resource_version.as_deref(),
        )
    }

    /// The record of our own writes (for reconcilers that write source objects by other
    /// means, and tests).
    pub fn own_writes(&self) -> &OwnWrites {
        &self.own
    }

    /// Record that `written` replaced `read` (same object).
    pub(crate) fn record_write<K: Resource>(&self, read: &K, written: &K) {
        self.own.wrote(
            read.meta().uid.as_deref().unwrap_or_default(),
            read.meta().resource_version.as_deref(),
            written.meta().resource_version.as_deref(),
        );
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Read the live target Secret.
    pub async fn get_secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Secret>, ApplyError> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        // Any 404 on an object GET means "no such Secret" (kube's `get_opt` only knows the
        // reason `NotFound`; emulators such as kmock send other reasons).
        match api.get(name).await {
            Ok(secret) => Ok(Some(secret)),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
            Err(source) => Err(ApplyError::Api {
                verb: "get",
                name: format!("{namespace}/{name}"),
                source,
            }),
        }
    }

    /// Bring the target Secret to the desired state under the ownership policy.
    /// `source_uid` identifies the source object for the ownership check.
    pub async fn apply_secret(
        &self,
        desired: &DesiredSecret,
        live: Option<&Secret>,
        source_uid: &str,
    ) -> Result<ApplyOutcome, ApplyError> {
        self.apply_secret_as(desired, live, source_uid, FIELD_MANAGER)
            .await
    }

    /// [`Applier::apply_secret`] under another field manager. ExternalSecrets write with
    /// ESO's per-object manager (`externalsecrets.external-secrets.io/<name>`): server-side
    /// apply then prunes exactly the keys that object stopped producing, several objects
    /// can merge into one Secret without removing each other's keys, and ownership of
    /// fields carries over between ESO and sealbox.
    pub async fn apply_secret_as(
        &self,
        desired: &DesiredSecret,
        live: Option<&Secret>,
        source_uid: &str,
        manager: &str,
    ) -> Result<ApplyOutcome, ApplyError> {
        let namespace = desired
            .secret
            .metadata
            .namespace
            .clone()
            .unwrap_or_default();
        let name = desired.secret.metadata.name.clone().unwrap_or_default();
        let full = format!("{namespace}/{name}");
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &namespace);
        let decision = decide(&desired.ownership, live, source_uid);
        let (mode, set_owner) = match decision {
            Decision::Refuse(msg) => return Ok(ApplyOutcome::Refused(msg)),
            Decision::Skip(msg) => return Ok(ApplyOutcome::Skipped(msg)),
            Decision::Create => (WriteMode::Replace, desired.ownership.owner.is_some()),
            Decision::Write { mode, set_owner } => (mode, set_owner),
        };
        let mut want = desired.secret.clone();
        want.metadata.owner_references = if set_owner {
            desired.ownership.owner.clone().map(|o| vec![o])
        } else {
            None
        };

        let Some(live) = live else {
            let params = PostParams {
                field_manager: Some(manager.to_owned()),
                ..PostParams::default()
            };
            api.create(&params, &want)
                .await
                .map_err(|source| ApplyError::Api {
                    verb: "create",
                    name: full,
                    source,
                })?;
            return Ok(ApplyOutcome::Created);
        };

        let drift = compare(&want, live, mode);
        if drift.is_empty() {
            return Ok(ApplyOutcome::Unchanged);
        }
        if live.immutable == Some(true) {
            for field in ["data", "immutable"] {
                if drift.changed.contains(&field)
                    || (field == "data" && !drift.extra_data.is_empty())
                {
                    return Err(ApplyError::Immutable { name: full, field });
                }
            }
        }
        if drift.changed.contains(&"type") {
            return Err(ApplyError::Immutable {
                name: full,
                field: "type",
            });
        }

        let body = apply_body(&want, mode);
        let applied = api
            .patch(
                &name,
                &PatchParams::apply(manager).force(),
                &Patch::Apply(&body),
            )
            .await
            .map_err(|source| {
                if is_immutable_error(&source) {
                    ApplyError::Immutable {
                        name: full.clone(),
                        field: "data",
                    }
                } else {
                    ApplyError::Api {
                        verb: "apply",
                        name: full.clone(),
                        source,
                    }
                }
            })?;
        if drift.has_extras() {
            let remaining = compare(&want, &applied, mode);
            if remaining.has_extras() {
                let patch = removal_patch(&remaining, applied.metadata.resource_version.as_deref());
                let params = PatchParams {
                    field_manager: Some(manager.to_owned()),
                    ..PatchParams::default()
                };
                api.patch(&name, &params, &Patch::Merge(&patch))
                    .await
                    .map_err(|source| ApplyError::Api {
                        verb: "patch",
                        name: full.clone(),
                        source,
                    })?;
            }
        }
        Ok(ApplyOutcome::Updated(drift))
    }

    /// Write `status` through the status subresource with server-side apply (same field
    /// manager). Callers decide beforehand whether anything changed.
    pub async fn write_status<K, S>(&self, obj: &K, status: &S) -> Result<(), kube::Error>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        S: Serialize,
    {
        let namespace = obj.meta().namespace.clone().unwrap_or_default();
        let name = obj.meta().name.clone().unwrap_or_default();
        let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
        let body = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": status,
        });
        let written = api
            .patch_status(&name, &apply_params(), &Patch::Apply(&body))
            .await?;
        self.record_write(obj, &written);
        Ok(())
    }

    /// Publish an event about `regarding`. Failures are logged, never fatal: an event
    /// that cannot be written must not stop a Secret from being written.
    pub async fn publish(&self, event: &PlannedEvent, regarding: &ObjectReference) {
        let ev = Event {
            type_: match event.kind {
                EventKind::Normal => EventType::Normal,
                EventKind::Warning => EventType::Warning,
            },
            reason: event.reason.clone(),
            note: Some(event.note.clone()),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, regarding).await {
            tracing::warn!(reason = %event.reason, error = %e, "could not publish event");
        }
    }
}

/// The apply configuration: in merge mode only what we set; in replace mode the whole
/// desired object (apply drops what we applied before and no longer want).
fn apply_body(want: &Secret, mode: WriteMode) -> Value {
    let mut metadata = json!({
        "name": want.metadata.name,
        "namespace": want.metadata.namespace,
    });
    if let Some(labels) = &want.metadata.labels {
        metadata["labels"] = json!(labels);
    }
    if let Some(annotations) = &want.metadata.annotations {
        metadata["annotations"] = json!(annotations);
    }
    if let Some(refs) = &want.metadata.owner_references {
        metadata["ownerReferences"] = json!(refs);
    }
    let mut body = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": want.type_.clone().unwrap_or_else(|| "Opaque".to_owned()),
        "data": want.data.clone().unwrap_or_default(),
    });
    if let Some(immutable) = want.immutable {
        body["immutable"] = json!(immutable);
    }
    if mode == WriteMode::Merge {
        // Nothing else: merge mode never claims fields it does not set.
    }
    body
}

/// A merge patch deleting extra data keys, labels and annotations, locked to `rv`.
fn removal_patch(drift: &Drift, rv: Option<&str>) -> Value {
    let nulls = |keys: &[String]| -> BTreeMap<String, Value> {
        keys.iter().map(|k| (k.clone(), Value::Null)).collect()
    };
    let mut metadata = json!({});
    if let Some(rv) = rv {
        metadata["resourceVersion"] = json!(rv);
    }
    if !drift.extra_labels.is_empty() {
        metadata["labels"] = json!(nulls(&drift.extra_labels));
    }
    if !drift.extra_annotations.is_empty() {
        metadata["annotations"] = json!(nulls(&drift.extra_annotations));
    }
    let mut patch = json!({ "metadata": metadata });
    if !drift.extra_data.is_empty() {
        patch["data"] = json!(nulls(&drift.extra_data));
    }
    patch
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_patch_nulls_by_name_and_locks_the_version() {
        let drift = Drift {
            changed: vec![],
            extra_data: vec!["b".into()],
            extra_labels: vec!["l".into()],
            extra_annotations: vec![],
        };
        assert_eq!(
            removal_patch(&drift, Some("42")),
            json!({"metadata": {"resourceVersion": "42", "labels": {"l": null}}, "data": {"b": null}})
        );
    }
}
