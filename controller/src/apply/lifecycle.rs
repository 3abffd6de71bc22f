//! The rest of what the reconcilers write, still only from `apply`: deleting a target
//! Secret (ESO `deletionPolicy: Delete`, orphaned targets), finalizers on source objects,
//! and status of cluster-scoped kinds. Every delete is guarded by a uid precondition so a
//! Secret re-created in the meantime by someone else is never removed.

use std::fmt::Debug;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::Resource;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, Preconditions};
use kube::core::PartialObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::FIELD_MANAGER;
use super::applier::{Applier, ApplyError};

impl Applier {
    /// Delete `namespace/name` if it is still the object with `uid`. A Secret that is
    /// already gone is not an error.
    pub async fn delete_secret(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> Result<bool, ApplyError> {
        let api: Api<Secret> = Api::namespaced(self.client().clone(), namespace);
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(source) => Err(ApplyError::Api {
                verb: "delete",
                name: format!("{namespace}/{name}"),
                source,
            }),
        }
    }

    /// Metadata of the Secrets in `namespace` matching `selector` (no data is read).
    pub async fn secret_metadata(
        &self,
        namespace: &str,
        selector: &str,
    ) -> Result<Vec<PartialObjectMeta<Secret>>, ApplyError> {
        let api: Api<Secret> = Api::namespaced(self.client().clone(), namespace);
        api.list_metadata(&ListParams::default().labels(selector))
            .await
            .map(|l| l.items)
            .map_err(|source| ApplyError::Api {
                verb: "list",
                name: format!("{namespace}/*"),
                source,
            })
    }

    /// Add or remove `finalizer` on a namespaced source object with a JSON merge patch
    /// that carries the resourceVersion (ESO patches instead of updating so it never
    /// claims spec fields). Returns whether a write happened.
    pub async fn set_finalizer<K>(
        &self,
        obj: &K,
        finalizer: &str,
        present: bool,
    ) -> Result<bool, kube::Error>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let meta = obj.meta();
        let mut finalizers = meta.finalizers.clone().unwrap_or_default();
        let has = finalizers.iter().any(|f| f == finalizer);
        if has == present {
            return Ok(false);
        }
        if present {
            finalizers.push(finalizer.to_owned());
        } else {
            finalizers.retain(|f| f != finalizer);
        }
        let api: Api<K> = Api::namespaced(
            self.client().clone(),
            meta.namespace.as_deref().unwrap_or_default(),
        );
        let patch = json!({"metadata": {
            "finalizers": finalizers,
            "resourceVersion": meta.resource_version,
        }});
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let written = api
            .patch(
                meta.name.as_deref().unwrap_or_default(),
                &params,
                &Patch::Merge(&patch),
            )
            .await?;
        self.record_write(obj, &written);
        Ok(true)
    }

    /// [`Applier::write_status`] for cluster-scoped kinds.
    pub async fn write_cluster_status<K, S>(&self, obj: &K, status: &S) -> Result<(), kube::Error>
    where
        K: Resource<DynamicType = (), Scope = ClusterResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
        S: Serialize,
    {
        let name = obj.meta().name.clone().unwrap_or_default();
        let api: Api<K> = Api::all(self.client().clone());
        let body = json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "status": status,
        });
        let written = api
            .patch_status(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await?;
        self.record_write(obj, &written);
        Ok(())
    }

    /// Server-side apply of a namespaced object this controller generates (the
    /// ExternalSecrets of a ClusterExternalSecret), field manager [`FIELD_MANAGER`],
    /// forced. Returns whether anything changed.
    pub async fn apply_object<K>(&self, obj: &K) -> Result<bool, kube::Error>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Serialize
            + Debug,
    {
        let meta = obj.meta();
        let api: Api<K> = Api::namespaced(
            self.client().clone(),
            meta.namespace.as_deref().unwrap_or_default(),
        );
        let mut body = serde_json::to_value(obj).map_err(kube::Error::SerdeError)?;
        body["apiVersion"] = json!(K::api_version(&()));
        body["kind"] = json!(K::kind(&()));
        if let Some(m) = body.get_mut("metadata").and_then(|m| m.as_object_mut()) {
            m.remove("resourceVersion");
            m.remove("managedFields");
            m.remove("uid");
            m.remove("creationTimestamp");
        }
        if let Some(b) = body.as_object_mut() {
            b.remove("status");
        }
        let before = api
            .get_opt(meta.name.as_deref().unwrap_or_default())
            .await?;
        let after = api
            .patch(
                meta.name.as_deref().unwrap_or_default(),
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&body),
            )
            .await?;
        let changed = before
            .as_ref()
            .and_then(|b| b.meta().resource_version.clone())
            != after.meta().resource_version;
        if changed && let Some(before) = &before {
            // Its own reconciler must not act on the copy this write replaced.
            self.record_write(before, &after);
        }
        Ok(changed)
    }

    /// Delete a namespaced object if it is still the one with `uid`.
    pub async fn delete_object<K>(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
    ) -> Result<bool, kube::Error>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = Api::namespaced(self.client().clone(), namespace);
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: Some(uid.to_owned()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(name, &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(e),
        }
    }
}
