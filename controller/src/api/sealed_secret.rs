//! The `bitnami.com/v1alpha1` `SealedSecret` resource, field for field as upstream
//! (`pkg/apis/sealedsecrets/v1alpha1/types.go`), so manifests written by kubeseal and
//! objects stored by the Bitnami controller read and write unchanged.
//!
//! The CRD schema is written out by hand ([`JsonSchema`] below) instead of derived, so it
//! is exactly Bitnami's: `encryptedData` required and open (`x-kubernetes-preserve-unknown-fields`),
//! `template.metadata` nullable and open, legacy `data` as `format: byte`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};

/// API group of SealedSecrets.
pub const GROUP: &str = "bitnami.com";
/// API version of SealedSecrets.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of SealedSecrets.
pub const API_VERSION: &str = "bitnami.com/v1alpha1";
/// Kind of SealedSecrets.
pub const KIND: &str = "SealedSecret";

/// What a SealedSecret holds: the sealed values and how to build the Secret from them.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "bitnami.com",
    version = "v1alpha1",
    kind = "SealedSecret",
    plural = "sealedsecrets",
    singular = "sealedsecret",
    namespaced,
    status = "SealedSecretStatus",
    derive = "PartialEq",
    doc = "SealedSecret is the K8s representation of a \"sealed Secret\" - a\nregular k8s Secret that has been sealed (encrypted) using the\ncontroller's key.",
    // Raw JSON form: three `printcolumn(type_ = "string", ..)` lists trip clippy's
    // duplicated-attributes lint.
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[0].message"}"#,
    printcolumn = r#"{"name":"Synced","type":"string","jsonPath":".status.conditions[0].status"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretSpec {
    /// How the Secret made from this SealedSecret looks (metadata, type, immutable,
    /// templated data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<SecretTemplateSpec>,

    /// Deprecated v1 format: one sealed blob holding a whole JSON `v1.Secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<ByteString>,

    /// Sealed values, one base64 blob per Secret key. A `null` map reads as empty.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub encrypted_data: BTreeMap<String, String>,
}

/// The shape of the Secret a SealedSecret unseals into.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretTemplateSpec {
    /// Labels, annotations and other metadata copied onto the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,

    /// Secret `type` (e.g. `Opaque`, `kubernetes.io/dockerconfigjson`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,

    /// Secret `immutable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,

    /// Go `text/template` (+ sprig) strings rendered over the decrypted values; a key here
    /// overrides the decrypted key of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<BTreeMap<String, String>>,
}

/// Status written by the controller.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretStatus {
    /// Generation of the spec last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions; upstream writes one, `Synced`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<SealedSecretCondition>>,
}

/// One status condition (upstream `SealedSecretCondition`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecretCondition {
    /// Condition type; upstream uses `Synced`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// Last time the condition was updated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
    /// Last time the status changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message (upstream: the unseal error, or empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The CRD exactly as Bitnami ships it. kube-derive has no `listKind` attribute (the API
/// server would default it), so it is set here to make the generated YAML match upstream's
/// `bitnami.com_sealedsecrets.yaml`. Use this rather than `SealedSecret::crd()`.
pub fn crd()
-> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    let mut crd = <SealedSecret as kube::core::CustomResourceExt>::crd();
    crd.spec.names.list_kind = Some("SealedSecretList".to_owned());
    crd
}

/// Upstream's `SealedSecretEncryptedData.UnmarshalJSON` never fails the object; we accept
/// `null` as empty and keep string values strict (the CRD schema already enforces them).
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    Ok(Option::<BTreeMap<String, String>>::deserialize(d)?.unwrap_or_default())
}

impl JsonSchema for SealedSecretSpec {
    fn schema_name() -> Cow<'static, str> {
        "SealedSecretSpec".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "SealedSecretSpec is the specification of a SealedSecret.",
            "type": "object",
            "properties": {
                "data": {
                    "description": "Data is deprecated and will be removed eventually. Use per-value EncryptedData instead.",
                    "type": "string",
                    "format": "byte"
                },
                "encryptedData": {
                    "type": "object",
                    "additionalProperties": { "type": "string" },
                    "x-kubernetes-preserve-unknown-fields": true
                },
                "template": {
                    "description": "Template defines the structure of the Secret that will be\ncreated from this sealed secret.",
                    "type": "object",
                    "properties": {
                        "data": {
                            "description": "Keys that should be templated using decrypted data.",
                            "type": "object",
                            "nullable": true,
                            "additionalProperties": { "type": "string" }
                        },
                        "immutable": {
                            "description": "Immutable, if set to true, ensures that data stored in the Secret cannot\nbe updated (only object metadata can be modified).\nIf not set to true, the field can be modified at any time.\nDefaulted to nil.",
                            "type": "boolean"
                        },
                        "metadata": {
                            "description": "Standard object's metadata.\nMore info: https://git.k8s.io/community/contributors/devel/api-conventions.md#metadata",
                            "type": "object",
                            "nullable": true,
                            "x-kubernetes-preserve-unknown-fields": true,
                            "properties": {
                                "annotations": {
                                    "type": "object",
                                    "additionalProperties": { "type": "string" }
                                },
                                "finalizers": {
                                    "type": "array",
                                    "items": { "type": "string" }
                                },
                                "labels": {
                                    "type": "object",
                                    "additionalProperties": { "type": "string" }
                                },
                                "name": { "type": "string" },
                                "namespace": { "type": "string" }
                            }
                        },
                        "type": {
                            "description": "Used to facilitate programmatic handling of secret data.",
                            "type": "string"
                        }
                    }
                }
            },
            "required": ["encryptedData"]
        })
    }
}

impl JsonSchema for SealedSecretStatus {
    fn schema_name() -> Cow<'static, str> {
        "SealedSecretStatus".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "SealedSecretStatus is the most recently observed status of the SealedSecret.",
            "type": "object",
            "properties": {
                "conditions": {
                    "description": "Represents the latest available observations of a sealed secret's current state.",
                    "type": "array",
                    "items": {
                        "description": "SealedSecretCondition describes the state of a sealed secret at a certain point.",
                        "type": "object",
                        "properties": {
                            "lastTransitionTime": {
                                "description": "Last time the condition transitioned from one status to another.",
                                "type": "string",
                                "format": "date-time"
                            },
                            "lastUpdateTime": {
                                "description": "The last time this condition was updated.",
                                "type": "string",
                                "format": "date-time"
                            },
                            "message": {
                                "description": "A human readable message indicating details about the transition.",
                                "type": "string"
                            },
                            "reason": {
                                "description": "The reason for the condition's last transition.",
                                "type": "string"
                            },
                            "status": {
                                "description": "Status of the condition for a sealed secret.\nValid values for \"Synced\": \"True\", \"False\", or \"Unknown\".",
                                "type": "string"
                            },
                            "type": {
                                "description": "Type of condition for a sealed secret.\nValid value: \"Synced\"",
                                "type": "string"
                            }
                        },
                        "required": ["status", "type"]
                    }
                },
                "observedGeneration": {
                    "description": "ObservedGeneration reflects the generation most recently observed by the sealed-secrets controller.",
                    "type": "integer",
                    "format": "int64"
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn crd() -> Value {
        serde_json::to_value(super::crd()).expect("crd serializes")
    }

    #[test]
    fn crd_names_scope_and_subresources_match_bitnami() {
        let crd = crd();
        assert_eq!(crd["metadata"]["name"], "sealedsecrets.bitnami.com");
        assert_eq!(crd["spec"]["group"], "bitnami.com");
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        assert_eq!(crd["spec"]["names"]["kind"], "SealedSecret");
        assert_eq!(crd["spec"]["names"]["listKind"], "SealedSecretList");
        assert_eq!(crd["spec"]["names"]["plural"], "sealedsecrets");
        assert_eq!(crd["spec"]["names"]["singular"], "sealedsecret");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert_eq!(version["served"], true);
        assert_eq!(version["storage"], true);
        assert_eq!(version["subresources"], json!({"status": {}}));
        assert_eq!(
            version["additionalPrinterColumns"],
            json!([
                {"jsonPath": ".status.conditions[0].message", "name": "Status", "type": "string"},
                {"jsonPath": ".status.conditions[0].status", "name": "Synced", "type": "string"},
                {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}
            ])
        );
    }

    #[test]
    fn crd_schema_has_bitnamis_structural_facts() {
        let crd = crd();
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        assert_eq!(schema["required"], json!(["spec"]));
        let spec = &schema["properties"]["spec"];
        assert_eq!(spec["required"], json!(["encryptedData"]));
        assert_eq!(
            spec["properties"]["encryptedData"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        assert_eq!(
            spec["properties"]["encryptedData"]["additionalProperties"]["type"],
            "string"
        );
        assert_eq!(spec["properties"]["data"]["format"], "byte");
        let template = &spec["properties"]["template"]["properties"];
        assert_eq!(template["metadata"]["nullable"], true);
        assert_eq!(
            template["metadata"]["x-kubernetes-preserve-unknown-fields"],
            true
        );
        assert_eq!(template["data"]["nullable"], true);
        assert_eq!(template["immutable"]["type"], "boolean");
        let condition = &schema["properties"]["status"]["properties"]["conditions"]["items"];
        assert_eq!(condition["required"], json!(["status", "type"]));
        assert_eq!(
            schema["properties"]["status"]["properties"]["observedGeneration"]["format"],
            "int64"
        );
    }

    #[test]
    fn kubeseal_json_reads_and_unknown_shapes_are_tolerated() {
        let ss: SealedSecret = serde_json::from_value(json!({
            "apiVersion": "bitnami.com/v1alpha1",
            "kind": "SealedSecret",
            "metadata": {"name": "n", "namespace": "ns", "creationTimestamp": null},
            "spec": {
                "template": {"metadata": {"name": "n", "creationTimestamp": null}, "type": "Opaque"},
                "encryptedData": null
            }
        }))
        .expect("parses");
        assert!(ss.spec.encrypted_data.is_empty());
        assert_eq!(ss.spec.template.unwrap().type_.as_deref(), Some("Opaque"));
        let status: SealedSecretStatus = serde_json::from_value(json!({
            "observedGeneration": 3,
            "conditions": [{"type": "Synced", "status": "False", "message": "no key could decrypt secret",
                            "lastUpdateTime": "2026-01-01T00:00:00Z"}]
        }))
        .unwrap();
        assert_eq!(status.observed_generation, Some(3));
    }
}
