//! The `sealbox.dev/v1alpha1` `SopsSecret`: a SOPS-encrypted Secret template that the
//! controller decrypts in the cluster with an age identity held in a Secret.
//!
//! The object is a SOPS file: users write it and run
//! `sealbox encrypt --mac-only-encrypted --encrypted-regex '^(data|stringData)$' -i f.yaml`
//! (or the same `sops` command), which encrypts `spec.template.data`/`stringData` and adds
//! the `sops` block at the top level, next to `spec` (as sops puts it in any YAML file):
//!
//! ```yaml
//! apiVersion: sealbox.dev/v1alpha1
//! kind: SopsSecret
//! metadata: {name: db, namespace: demo}
//! spec:
//!   ageKeySecretRef: {name: sops-age}       # a Secret in this namespace: *.agekey entries
//!   template:                               # the Secret to make (same name and namespace)
//!     metadata: {labels: {app: db}}
//!     type: Opaque
//!     stringData: {password: ENC[AES256_GCM,…]}
//! sops: {age: [...], mac: ENC[…], mac_only_encrypted: true, …}
//! ```
//!
//! Why `mac_only_encrypted` is required: the API server adds fields (uid, managedFields,
//! GitOps labels) and does not keep key order, so a MAC over every value in document order
//! can never match in the cluster. With `mac_only_encrypted: true` only the encrypted values
//! count; the controller reads them in sorted key order (what the API server returns), so
//! the encrypted keys must be written in sorted order too (a mismatch says so).
//!
//! The CRD is written out here rather than derived: kube-derive puts everything under
//! `spec`, and a SOPS file needs `sops` at the top level.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// API group.
pub const GROUP: &str = "sealbox.dev";
/// API version.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion`.
pub const API_VERSION: &str = "sealbox.dev/v1alpha1";
/// Kind.
pub const KIND: &str = "SopsSecret";
/// Plural resource name.
pub const PLURAL: &str = "sopssecrets";

/// A SOPS-encrypted Secret template (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SopsSecret {
    /// `sealbox.dev/v1alpha1`.
    #[serde(default)]
    pub api_version: String,
    /// `SopsSecret`.
    #[serde(default)]
    pub kind: String,
    /// Object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The key reference and the (partly encrypted) template.
    #[serde(default)]
    pub spec: SopsSecretSpec,
    /// The SOPS metadata block, exactly as sops/sealbox wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sops: Option<Value>,
    /// Written by the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SopsSecretStatus>,
}

/// `spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SopsSecretSpec {
    /// The Secret (in this namespace) holding the age identities.
    #[serde(default)]
    pub age_key_secret_ref: AgeKeySecretRef,
    /// The Secret to make; `data`/`stringData` values are SOPS-encrypted. Kept as JSON:
    /// its values are ciphertexts until decrypted, and the exact tree matters to SOPS.
    #[serde(default)]
    pub template: Value,
}

/// Which Secret entries hold age identities.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgeKeySecretRef {
    /// Secret name (same namespace as the SopsSecret).
    #[serde(default)]
    pub name: String,
    /// One entry; default: every entry whose key ends in `.agekey` (Flux's rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// `status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SopsSecretStatus {
    /// Generation of the spec last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Synced` and `Ready` (same state; `Ready` for tools that look for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<SopsSecretCondition>>,
}

/// One status condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SopsSecretCondition {
    /// `Synced` or `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Last time the status changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message (never a value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Generation this condition is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl kube::Resource for SopsSecret {
    type DynamicType = ();
    type Scope = k8s_openapi::NamespaceResourceScope;

    fn kind(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(KIND)
    }
    fn group(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(GROUP)
    }
    fn version(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(VERSION)
    }
    fn plural(_: &()) -> Cow<'_, str> {
        Cow::Borrowed(PLURAL)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

fn open_object(description: &str) -> Value {
    json!({"type": "object", "description": description, "x-kubernetes-preserve-unknown-fields": true})
}

/// The CustomResourceDefinition (namespaced, status subresource, `sops` at the top level).
pub fn crd() -> Value {
    let condition = json!({
        "type": "object",
        "required": ["type", "status"],
        "properties": {
            "type": {"type": "string"},
            "status": {"type": "string"},
            "lastTransitionTime": {"type": "string", "format": "date-time"},
            "reason": {"type": "string"},
            "message": {"type": "string"},
            "observedGeneration": {"type": "integer", "format": "int64"}
        }
    });
    let mut labels = BTreeMap::new();
    labels.insert("app.kubernetes.io/part-of", "sealbox");
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{PLURAL}.{GROUP}"), "labels": labels},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": "SopsSecretList",
                "plural": PLURAL,
                "singular": "sopssecret",
                "shortNames": ["sops"]
            },
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Synced", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Synced\")].status"},
                    {"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Synced\")].reason"},
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
                ],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": "SopsSecret is a SOPS-encrypted Secret template, decrypted by the sealbox controller with an age identity held in a Secret of the same namespace.",
                    "required": ["spec", "sops"],
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                        "spec": {
                            "type": "object",
                            "required": ["ageKeySecretRef", "template"],
                            "properties": {
                                "ageKeySecretRef": {
                                    "type": "object",
                                    "required": ["name"],
                                    "description": "The Secret (same namespace) holding age identities: `key`, else every entry ending in .agekey.",
                                    "properties": {
                                        "name": {"type": "string"},
                                        "key": {"type": "string"}
                                    }
                                },
                                "template": open_object("The Secret to make: metadata (labels, annotations), type, immutable, data and stringData; data/stringData values are SOPS-encrypted.")
                            }
                        },
                        "sops": open_object("SOPS metadata, as written by sealbox encrypt or sops (mac_only_encrypted: true)."),
                        "status": {
                            "type": "object",
                            "properties": {
                                "observedGeneration": {"type": "integer", "format": "int64"},
                                "conditions": {"type": "array", "items": condition}
                            }
                        }
                    }
                }}
            }]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_encrypted_object_with_sops_at_the_top() {
        let v = json!({
            "apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": "db", "namespace": "demo"},
            "spec": {"ageKeySecretRef": {"name": "sops-age"}, "template": {"stringData": {"a": "ENC[x]"}}},
            "sops": {"mac": "ENC[y]", "mac_only_encrypted": true}
        });
        let s: SopsSecret = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(s.spec.age_key_secret_ref.name, "sops-age");
        assert_eq!(s.sops.as_ref().unwrap()["mac"], "ENC[y]");
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
    }

    #[test]
    fn the_checked_in_crd_is_current() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/crds/sealbox.dev.yaml"
        ));
        let on_disk: Value = serde_saphyr::from_str(text).unwrap();
        assert_eq!(
            on_disk,
            crd(),
            "regenerate: sealbox crds --group sealbox.dev > deploy/crds/sealbox.dev.yaml"
        );
        let chart = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/helm/sealbox/crds/sealbox.dev.yaml"
        ));
        assert_eq!(
            chart, text,
            "copy deploy/crds/sealbox.dev.yaml into the Helm chart's crds/"
        );
    }
}
