//! `external-secrets.io/v1` `ExternalSecret`, field for field as ESO
//! (`apis/externalsecrets/v1/externalsecret_types.go`), so manifests written for ESO apply
//! unchanged and objects ESO stored read back.
//!
//! Every optional field is an `Option` (or an empty collection) and the CRD carries **no
//! `default:`**: ESO's server-side defaults (`creationPolicy: Owner`, `refreshInterval:
//! 1h0m0s`, the strategy fields) made Argo CD report every ExternalSecret OutOfSync forever
//! (ESO #6398, #6797, #6887). The defaults live in code ([`ExternalSecretSpec::target_name`],
//! [`Target::creation_policy`], ...).
//!
//! Enumerations are strings validated by the CRD schema (`enum:`) and again by the planner
//! with a clear error: a value the schema missed (the API double does not validate enums)
//! must not break the watch of every other ExternalSecret by failing deserialization.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `spec.secretStoreRef` and `sourceRef.storeRef`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct SecretStoreRef {
    /// Name of the SecretStore resource.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// `SecretStore` (the default) or `ClusterSecretStore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["SecretStore", "ClusterSecretStore"]))]
    pub kind: Option<String>,
}

/// The store kinds.
pub const SECRET_STORE_KIND: &str = "SecretStore";
/// The cluster-scoped store kind.
pub const CLUSTER_SECRET_STORE_KIND: &str = "ClusterSecretStore";

impl SecretStoreRef {
    /// The kind, defaulted.
    pub fn kind(&self) -> &str {
        self.kind
            .as_deref()
            .filter(|k| !k.is_empty())
            .unwrap_or(SECRET_STORE_KIND)
    }

    /// Whether this names a ClusterSecretStore.
    pub fn is_cluster(&self) -> bool {
        self.kind() == CLUSTER_SECRET_STORE_KIND
    }
}

/// What an ExternalSecret wants.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ExternalSecret",
    plural = "externalsecrets",
    singular = "externalsecret",
    namespaced,
    status = "ExternalSecretStatus",
    derive = "PartialEq",
    shortname = "es",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    doc = "ExternalSecret is the Schema for the external-secrets API. It defines how to fetch data from external APIs and make it available as Kubernetes Secrets.",
    printcolumn = r#"{"name":"StoreType","type":"string","jsonPath":".spec.secretStoreRef.kind"}"#,
    printcolumn = r#"{"name":"Store","type":"string","jsonPath":".spec.secretStoreRef.name"}"#,
    printcolumn = r#"{"name":"Refresh Interval","type":"string","jsonPath":".spec.refreshInterval"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Last Sync","type":"date","jsonPath":".status.refreshTime"}"#,
    selectable = ".spec.secretStoreRef.name",
    selectable = ".spec.secretStoreRef.kind",
    selectable = ".spec.target.name",
    selectable = ".spec.refreshInterval"
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    /// The store values are read from (per item overridable with `sourceRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_store_ref: Option<SecretStoreRef>,
    /// The Secret to write (default: named like the ExternalSecret, `Owner`, `Retain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// `CreatedOnce`, `Periodic` (default) or `OnChange`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["CreatedOnce", "Periodic", "OnChange"]))]
    pub refresh_policy: Option<String>,
    /// Go duration between refreshes (default `1h0m0s`; `0s` = once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    /// Restricts when periodic refreshes may happen (ESO 2.x): `allow` windows only, or
    /// never inside `deny` windows. Creation, spec changes and force-sync are not gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<SyncWindows>,
    /// One Secret key per item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ExternalSecretData>,
    /// Many keys per item, merged in order; `data` overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_from: Vec<DataFromSource>,
}

/// `spec.syncWindows`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SyncWindows {
    /// `allow` or `deny`.
    #[schemars(extend("enum" = ["allow", "deny"]))]
    pub kind: String,
    /// Schedule + duration pairs.
    #[serde(default)]
    pub windows: Vec<SyncWindow>,
}

/// One sync window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SyncWindow {
    /// 5-field cron (UTC unless prefixed `CRON_TZ=`/`TZ=`), `@daily`-style descriptors or
    /// `@every 1h`.
    pub schedule: String,
    /// How long the window stays open.
    pub duration: String,
}

/// `spec.target`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// Secret name (default: the ExternalSecret's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
    /// `Owner` (default), `Orphan`, `Merge`, `None` or `CreateOrMerge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Owner", "Orphan", "Merge", "None", "CreateOrMerge"]))]
    pub creation_policy: Option<String>,
    /// `Retain` (default), `Delete` or `Merge`: what happens when the provider has no data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Delete", "Merge", "Retain"]))]
    pub deletion_policy: Option<String>,
    /// The blueprint of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// Generic targets (ConfigMaps, CRs) — not supported by sealbox; refused with a
    /// condition rather than ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<ManifestReference>,
    /// Make the Secret immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

/// `target.manifest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManifestReference {
    /// apiVersion of the target.
    pub api_version: String,
    /// kind of the target.
    pub kind: String,
}

/// `target.template`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// Secret type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Only `v2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["v2"]))]
    pub engine_version: Option<String>,
    /// Labels, annotations (both templated) and finalizers of the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<TemplateMetadata>,
    /// `Replace` (default) or `Merge` (provider keys kept next to templated ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Replace", "Merge"]))]
    pub merge_policy: Option<String>,
    /// Secret key → Go template over the provider data.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Templates from ConfigMaps, Secrets or literals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_from: Vec<TemplateFrom>,
}

/// `template.metadata`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateMetadata {
    /// Templated annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Templated labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Finalizers put on the Secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// `template.templateFrom[]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFrom {
    /// Templates stored in a ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<TemplateRef>,
    /// Templates stored in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<TemplateRef>,
    /// `Data` (default), `Annotations` or `Labels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A YAML map template (`KeysAndValues` scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub literal: Option<String>,
    /// Decoding of rendered values (default `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Auto", "Base64", "Base64URL", "None"]))]
    pub values_decoding_strategy: Option<String>,
}

/// A ConfigMap/Secret holding templates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TemplateRef {
    /// Its name (same namespace as the ExternalSecret).
    pub name: String,
    /// Which keys hold templates.
    #[serde(default)]
    pub items: Vec<TemplateRefItem>,
}

/// One template key.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefItem {
    /// The key.
    pub key: String,
    /// `Values` (default: the key names the output) or `KeysAndValues` (the template
    /// renders a YAML map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Values", "KeysAndValues"]))]
    pub template_as: Option<String>,
}

/// `spec.data[]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    /// The Secret key.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub secret_key: String,
    /// What to read.
    pub remote_ref: RemoteRef,
    /// Read from another store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreSourceRef>,
}

/// `remoteRef` / `dataFrom[].extract`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RemoteRef {
    /// Remote secret name/path.
    pub key: String,
    /// `None` (default) or `Fetch` (read tags/metadata instead of the value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["None", "Fetch"]))]
    pub metadata_policy: Option<String>,
    /// A property (JSON path) of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    /// A version of the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Key conversion for `extract` (`Default` or `Unicode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Default", "Unicode"]))]
    pub conversion_strategy: Option<String>,
    /// Value decoding (`Auto`, `Base64`, `Base64URL`, `None` = default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Auto", "Base64", "Base64URL", "None"]))]
    pub decoding_strategy: Option<String>,
    /// `Ignore` (default) or `Fail` on NUL bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Ignore", "Fail"]))]
    pub null_byte_policy: Option<String>,
}

/// `data[].sourceRef`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreSourceRef {
    /// The store to read this item from.
    #[serde(default, rename = "storeRef", skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Generators are not supported by sealbox (refused with a condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<GeneratorRef>,
}

/// A generator reference (kept so manifests round-trip; not executed).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorRef {
    /// apiVersion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Generator kind.
    pub kind: String,
    /// Generator name.
    pub name: String,
}

/// `spec.dataFrom[]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DataFromSource {
    /// Every property of one remote secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<RemoteRef>,
    /// Every remote secret matching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub find: Option<Find>,
    /// Key rewrites, applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrite: Vec<Rewrite>,
    /// Another store (or a generator, unsupported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<StoreSourceRef>,
}

/// `dataFrom[].find`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Find {
    /// Root path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Name regexp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<FindName>,
    /// Tags that must all match.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Key conversion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Default", "Unicode"]))]
    pub conversion_strategy: Option<String>,
    /// Value decoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Auto", "Base64", "Base64URL", "None"]))]
    pub decoding_strategy: Option<String>,
    /// NUL byte policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Ignore", "Fail"]))]
    pub null_byte_policy: Option<String>,
}

/// `find.name`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FindName {
    /// RE2 regexp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<String>,
}

/// `dataFrom[].rewrite[]` (exactly one member set).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Rewrite {
    /// Merge JSON values into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge: Option<RewriteMerge>,
    /// `regexp.ReplaceAll` on keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regexp: Option<RewriteRegexp>,
    /// Go template on keys (`.value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<RewriteTransform>,
}

/// `rewrite.regexp`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RewriteRegexp {
    /// The expression.
    pub source: String,
    /// The replacement (`$1` expands).
    pub target: String,
}

/// `rewrite.transform`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RewriteTransform {
    /// Template; the key is `.value`.
    pub template: String,
}

/// `rewrite.merge`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RewriteMerge {
    /// Target key (JSON strategy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub into: Option<String>,
    /// Keys merged last, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority: Vec<String>,
    /// `Strict` (default) or `IgnoreNotFound`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["IgnoreNotFound", "Strict"]))]
    pub priority_policy: Option<String>,
    /// `Error` (default) or `Ignore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Ignore", "Error"]))]
    pub conflict_policy: Option<String>,
    /// `Extract` (default) or `JSON`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Extract", "JSON"]))]
    pub strategy: Option<String>,
}

/// `status`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretStatus {
    /// When the values were last read and the Secret written (`null` before).
    #[serde(default)]
    pub refresh_time: Option<Time>,
    /// `<generation>-<hash of labels and annotations>` at the last sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_resource_version: Option<String>,
    /// `Ready` (and `Deleted`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ExternalSecretCondition>,
    /// servicebinding.io reference to the Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding: Option<Binding>,
}

/// `status.binding`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Binding {
    /// Secret name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A status condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretCondition {
    /// `Ready` or `Deleted`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False`, `Unknown`.
    pub status: String,
    /// Machine-readable reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable message (never a secret value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the status last flipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

impl ExternalSecretSpec {
    /// The target Secret name.
    pub fn target_name<'a>(&'a self, es_name: &'a str) -> &'a str {
        self.target
            .as_ref()
            .and_then(|t| t.name.as_deref())
            .filter(|n| !n.is_empty())
            .unwrap_or(es_name)
    }
}

impl Target {
    /// `creationPolicy`, defaulted.
    pub fn creation_policy(target: Option<&Target>) -> &str {
        target
            .and_then(|t| t.creation_policy.as_deref())
            .filter(|s| !s.is_empty())
            .unwrap_or("Owner")
    }

    /// `deletionPolicy`, defaulted.
    pub fn deletion_policy(target: Option<&Target>) -> &str {
        target
            .and_then(|t| t.deletion_policy.as_deref())
            .filter(|s| !s.is_empty())
            .unwrap_or("Retain")
    }
}
