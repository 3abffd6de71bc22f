//! Store lookup and client reuse for reconciles, and the SecretStore / ClusterSecretStore
//! reconcilers (`Ready` condition, ESO's reasons).
//!
//! A store's client lives in the shared [`StorePool`] for as long as the store object and
//! the credential Secrets it reads keep their resourceVersions: Vault logs in once per
//! store (not per reconcile, ESO #4032) and AWS credentials are resolved once. Credential
//! Secrets are read through a short-TTL cache so a refresh cycle of many ExternalSecrets
//! does not GET the same Secret once per object.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use sealbox_providers::{ProviderError, StoreClient};
use secrecy::SecretString;

use super::Shared;
use super::metrics::set_condition;
use crate::api::external::store::{SecretStoreCondition, SecretStoreStatus};
use crate::api::external::{ClusterSecretStore, SecretStore, SecretStoreRef, SecretStoreSpec};
use crate::apply::own_writes::RECHECK_AFTER;
use crate::reconcile::external::store::{self as plan, CredentialRef, StoreError, StoreKind};

/// Why a store cannot serve a reconcile.
#[derive(Debug, thiserror::Error)]
pub enum StoreProblem {
    /// No such store (yet).
    #[error("{kind} {name:?} not found")]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
    },
    /// The store belongs to another controller class.
    #[error("{kind} {name:?} belongs to controller class {class:?}")]
    OtherClass {
        /// Kind.
        kind: &'static str,
        /// Name.
        name: String,
        /// Its class.
        class: String,
    },
    /// Its spec is unusable or the namespace is not allowed.
    #[error(transparent)]
    Invalid(#[from] StoreError),
    /// Reading a credential Secret or namespace failed.
    #[error("reading {what}: {source}")]
    Api {
        /// What.
        what: String,
        /// Why.
        source: kube::Error,
    },
    /// Connecting failed.
    #[error(transparent)]
    Provider(#[from] ProviderError),
}

impl StoreProblem {
    /// Whether retrying soon can help without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreProblem::NotFound { .. } | StoreProblem::Api { .. } => true,
            StoreProblem::Invalid(StoreError::MissingCredential(_)) => true,
            StoreProblem::Provider(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// A credential Secret as read: its resourceVersion and its values.
type CredentialSecret = (String, BTreeMap<String, SecretString>);
/// When it was read, and what (`None`: absent).
type CachedCredential = (Instant, Option<CredentialSecret>);

/// Credential Secrets read recently, by `(namespace, name)`.
#[derive(Default)]
pub struct CredentialCache {
    entries: Mutex<HashMap<(String, String), CachedCredential>>,
}

impl std::fmt::Debug for CredentialCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CredentialCache(..)")
    }
}

const CREDENTIAL_TTL: Duration = Duration::from_secs(10);

impl CredentialCache {
    async fn get(
        &self,
        client: &kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<Option<CredentialSecret>, kube::Error> {
        let key = (namespace.to_owned(), name.to_owned());
        if let Some((at, value)) = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            && at.elapsed() < CREDENTIAL_TTL
        {
            return Ok(value.clone());
        }
        let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let secret = api.get_opt(name).await?;
        let value = secret.map(|s| {
            let rv = s.metadata.resource_version.clone().unwrap_or_default();
            let data = s
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        SecretString::from(String::from_utf8_lossy(&v.0).into_owned()),
                    )
                })
                .collect();
            (rv, data)
        });
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (Instant::now(), value.clone()));
        Ok(value)
    }
}

/// What identifies a store's configuration: its generation (spec changes), not its
/// resourceVersion — a status write must not replace the client (and its Vault token).
fn revision_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    match (meta.uid.as_deref(), meta.generation) {
        (Some(uid), Some(generation)) => format!("{uid}/{generation}"),
        _ => meta.resource_version.clone().unwrap_or_default(),
    }
}

/// The spec, namespace and revision of a store, found in the reflectors.
pub struct FoundStore {
    /// Kind.
    pub kind: StoreKind,
    /// Name.
    pub name: String,
    /// Namespace (SecretStore only).
    pub namespace: Option<String>,
    /// Spec.
    pub spec: SecretStoreSpec,
    /// Revision (uid/generation).
    pub resource_version: String,
}

/// Find the store an ExternalSecret in `es_namespace` refers to.
pub fn find_store(
    secret_stores: &Store<SecretStore>,
    cluster_stores: &Store<ClusterSecretStore>,
    es_namespace: &str,
    store_ref: &SecretStoreRef,
) -> Result<FoundStore, StoreProblem> {
    if store_ref.is_cluster() {
        let found = cluster_stores
            .get(&ObjectRef::new(&store_ref.name))
            .ok_or_else(|| StoreProblem::NotFound {
                kind: "ClusterSecretStore",
                name: store_ref.name.clone(),
            })?;
        Ok(FoundStore {
            kind: StoreKind::ClusterSecretStore,
            name: store_ref.name.clone(),
            namespace: None,
            spec: found.spec.clone().into(),
            resource_version: revision_of(&found.metadata),
        })
    } else {
        let found = secret_stores
            .get(&ObjectRef::new(&store_ref.name).within(es_namespace))
            .ok_or_else(|| StoreProblem::NotFound {
                kind: "SecretStore",
                name: store_ref.name.clone(),
            })?;
        Ok(FoundStore {
            kind: StoreKind::SecretStore,
            name: store_ref.name.clone(),
            namespace: Some(es_namespace.to_owned()),
            spec: found.spec.clone(),
            resource_version: revision_of(&found.metadata),
        })
    }
}

/// The connected client of `store` for an object in `es_namespace` (from the pool, or a
/// new connection when the store or its credentials changed).
pub async fn client_for(
    shared: &Shared,
    store: &FoundStore,
    es_namespace: &str,
) -> Result<Arc<StoreClient>, StoreProblem> {
    tracing::debug!(kind = store.kind.as_str(), name = %store.name, revision = %store.resource_version, "store client");
    let class = store.spec.controller.clone().unwrap_or_default();
    if !class.is_empty() && class != shared.options.controller_class {
        return Err(StoreProblem::OtherClass {
            kind: store.kind.as_str(),
            name: store.name.clone(),
            class,
        });
    }
    if store.kind == StoreKind::ClusterSecretStore && !store.spec.conditions.is_empty() {
        let labels = namespace_labels(shared, es_namespace).await?;
        if !plan::namespace_allowed(&store.spec.conditions, es_namespace, &labels) {
            return Err(StoreError::NamespaceDenied {
                store: store.name.clone(),
                namespace: es_namespace.to_owned(),
            }
            .into());
        }
    }
    connect(shared, store, es_namespace).await
}

/// The pooled client of `store` (no namespace condition check: the caller did it).
async fn connect(
    shared: &Shared,
    store: &FoundStore,
    es_namespace: &str,
) -> Result<Arc<StoreClient>, StoreProblem> {
    let ns = store.namespace.as_deref();
    let refs = plan::credential_refs(&store.spec, store.kind, ns, es_namespace)?;
    // Referent authentication (a ClusterSecretStore reading credentials from the
    // ExternalSecret's namespace) needs one client per namespace.
    let referent = store.kind == StoreKind::ClusterSecretStore
        && refs != plan::credential_refs(&store.spec, store.kind, ns, "\u{0}")?;
    let mut revision = store.resource_version.clone();
    let mut credentials = BTreeMap::new();
    for (
        field,
        CredentialRef {
            namespace,
            name,
            key,
        },
    ) in &refs
    {
        let secret = shared
            .credentials
            .get(&shared.client, namespace, name)
            .await
            .map_err(|source| StoreProblem::Api {
                what: format!("Secret {namespace}/{name}"),
                source,
            })?
            .ok_or_else(|| {
                StoreError::MissingCredential(format!(
                    "{field}: Secret {namespace}/{name} not found"
                ))
            })?;
        let value = secret.1.get(key).cloned().ok_or_else(|| {
            StoreError::MissingCredential(format!(
                "{field}: Secret {namespace}/{name} has no key {key:?}"
            ))
        })?;
        revision.push_str(&format!("|{namespace}/{name}@{}", secret.0));
        credentials.insert(field.clone(), value);
    }
    let mut key = format!(
        "{}/{}/{}",
        store.kind.as_str(),
        ns.unwrap_or(""),
        store.name
    );
    if referent {
        key.push_str(&format!("@{es_namespace}"));
    }
    let spec = &store.spec;
    let kind = store.kind;
    let tokens = shared.tokens.clone();
    let options = shared.options.provider.clone();
    Ok(shared
        .pool
        .get_or_connect(&key, &revision, || {
            plan::config(
                spec,
                kind,
                ns,
                es_namespace,
                &credentials,
                tokens.as_ref(),
                &options,
            )
            .map_err(|e| ProviderError::Config {
                message: e.to_string(),
            })
        })
        .await?)
}

async fn namespace_labels(
    shared: &Shared,
    namespace: &str,
) -> Result<BTreeMap<String, String>, StoreProblem> {
    let api: Api<Namespace> = Api::all(shared.client.clone());
    let ns = api
        .get_opt(namespace)
        .await
        .map_err(|source| StoreProblem::Api {
            what: format!("Namespace {namespace}"),
            source,
        })?;
    Ok(ns.and_then(|n| n.metadata.labels).unwrap_or_default())
}

/// ESO's store reasons.
pub const REASON_VALID: &str = "Valid";
/// Provider config invalid.
pub const REASON_INVALID_PROVIDER: &str = "InvalidProviderConfig";
/// Validation failed.
pub const REASON_VALIDATION_FAILED: &str = "ValidationFailed";

fn store_status(
    previous: Option<&SecretStoreStatus>,
    ready: bool,
    reason: &str,
    message: String,
) -> SecretStoreStatus {
    let status = if ready { "True" } else { "False" };
    let old = previous.and_then(|p| p.conditions.iter().find(|c| c.type_ == "Ready"));
    let transition = match old {
        Some(c) if c.status == status => c.last_transition_time.clone(),
        _ => None,
    }
    .unwrap_or(Time(Timestamp::now()));
    SecretStoreStatus {
        conditions: vec![SecretStoreCondition {
            type_: "Ready".into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message),
            last_transition_time: Some(transition),
        }],
        capabilities: Some("ReadWrite".into()),
    }
}

fn same_status(a: Option<&SecretStoreStatus>, b: &SecretStoreStatus) -> bool {
    a.is_some_and(|a| {
        a.capabilities == b.capabilities
            && a.conditions.len() == b.conditions.len()
            && a.conditions.iter().zip(&b.conditions).all(|(x, y)| {
                x.type_ == y.type_
                    && x.status == y.status
                    && x.reason == y.reason
                    && x.message == y.message
            })
    })
}

/// Validate a store: build (or reuse) its client and check it can authenticate.
async fn validate(shared: &Shared, found: &FoundStore) -> (bool, &'static str, String) {
    // A ClusterSecretStore with referent credentials cannot be validated without a
    // namespace; ESO reports it Ready (ValidationUnknown) and so does sealbox.
    let es_namespace = found.namespace.clone().unwrap_or_default();
    if found.kind == StoreKind::ClusterSecretStore
        && plan::credential_refs(&found.spec, found.kind, None, "\u{0}")
            .is_ok_and(|r| r.iter().any(|(_, c)| c.namespace == "\u{0}"))
    {
        return (
            true,
            "ValidationUnknown",
            "store validated (referent credentials are checked per namespace)".into(),
        );
    }
    let class = found.spec.controller.clone().unwrap_or_default();
    if !class.is_empty() && class != shared.options.controller_class {
        return (
            true,
            REASON_VALID,
            "store belongs to another controller class".into(),
        );
    }
    match connect(shared, found, &es_namespace).await {
        Ok(client) => match client.validate().await {
            Ok(()) => (true, REASON_VALID, "store validated".into()),
            Err(e) => (
                false,
                REASON_VALIDATION_FAILED,
                format!("unable to validate store: {e}"),
            ),
        },
        Err(StoreProblem::Invalid(e @ StoreError::InvalidProvider(_))) => {
            (false, REASON_INVALID_PROVIDER, e.to_string())
        }
        Err(e) => (
            false,
            REASON_INVALID_PROVIDER,
            format!("unable to create client: {e}"),
        ),
    }
}

fn store_requeue(spec: &SecretStoreSpec, uid: &str, ready: bool, shared: &Shared) -> Action {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    let base = match &spec.refresh_interval {
        Some(IntOrString::Int(s)) if *s > 0 => Duration::from_secs(*s as u64),
        Some(IntOrString::String(s)) => crate::api::external::duration::parse(s)
            .ok()
            .and_then(|d| d.to_std())
            .filter(|d| !d.is_zero())
            .unwrap_or(shared.options.store_refresh),
        _ => shared.options.store_refresh,
    };
    if !ready {
        return Action::requeue(shared.backoff.failed(&format!("store/{uid}")));
    }
    shared.backoff.succeeded(&format!("store/{uid}"));
    Action::requeue(
        base + crate::reconcile::external::plan::jitter(
            uid,
            crate::api::external::duration::GoDuration::from_std(base),
        ),
    )
}

/// Reconcile a SecretStore.
pub async fn reconcile_secret_store(
    store: Arc<SecretStore>,
    shared: Arc<Shared>,
) -> Result<Action, kube::Error> {
    // A copy from before our own status write would validate (log in) and report again.
    if shared.applier.is_behind(store.as_ref()) {
        return Ok(Action::requeue(RECHECK_AFTER));
    }
    let name = store.metadata.name.clone().unwrap_or_default();
    let namespace = store.metadata.namespace.clone().unwrap_or_default();
    let found = FoundStore {
        kind: StoreKind::SecretStore,
        name: name.clone(),
        namespace: Some(namespace.clone()),
        spec: store.spec.clone(),
        resource_version: revision_of(&store.metadata),
    };
    let (ready, reason, message) = validate(&shared, &found).await;
    let status = store_status(store.status.as_ref(), ready, reason, message);
    set_condition(
        &shared.metrics.ss_condition,
        &name,
        &namespace,
        "Ready",
        &status.conditions[0].status,
    );
    if !same_status(store.status.as_ref(), &status) {
        shared.applier.write_status(store.as_ref(), &status).await?;
    }
    Ok(store_requeue(
        &store.spec,
        store.metadata.uid.as_deref().unwrap_or(""),
        ready,
        &shared,
    ))
}

/// Reconcile a ClusterSecretStore.
pub async fn reconcile_cluster_store(
    store: Arc<ClusterSecretStore>,
    shared: Arc<Shared>,
) -> Result<Action, kube::Error> {
    // A copy from before our own status write would validate (log in) and report again.
    if shared.applier.is_behind(store.as_ref()) {
        return Ok(Action::requeue(RECHECK_AFTER));
    }
    let name = store.metadata.name.clone().unwrap_or_default();
    let found = FoundStore {
        kind: StoreKind::ClusterSecretStore,
        name: name.clone(),
        namespace: None,
        spec: store.spec.clone().into(),
        resource_version: revision_of(&store.metadata),
    };
    let (ready, reason, message) = validate(&shared, &found).await;
    let status = store_status(store.status.as_ref(), ready, reason, message);
    set_condition(
        &shared.metrics.css_condition,
        &name,
        "",
        "Ready",
        &status.conditions[0].status,
    );
    if !same_status(store.status.as_ref(), &status) {
        shared
            .applier
            .write_cluster_status(store.as_ref(), &status)
            .await?;
    }
    Ok(store_requeue(
        &found.spec,
        store.metadata.uid.as_deref().unwrap_or(""),
        ready,
        &shared,
    ))
}
