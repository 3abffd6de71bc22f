//! `external-secrets.io/v1` `SecretStore` and `ClusterSecretStore` (one spec, two scopes),
//! as ESO (`apis/externalsecrets/v1/secretstore_types.go`, `secretstore_aws_types.go`,
//! `secretstore_vault_types.go`, `secretstore_fake_types.go`).
//!
//! sealbox serves the `aws` (Secrets Manager), `vault` and `fake` providers. Stores of any
//! other provider are accepted and kept verbatim (the `provider` object preserves unknown
//! fields) and reported with `Ready=False`, reason `InvalidProviderConfig`.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// The spec shared by SecretStore and ClusterSecretStore.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "SecretStore",
    plural = "secretstores",
    singular = "secretstore",
    namespaced,
    status = "SecretStoreStatus",
    derive = "PartialEq",
    shortname = "ss",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    doc = "SecretStore represents a secure external location for storing secrets, which can be referenced as part of `storeRef` fields.",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Capabilities","type":"string","jsonPath":".status.capabilities"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// Controller class: only stores whose class is empty or ours are served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// Exactly one provider.
    #[serde(default)]
    #[schemars(schema_with = "provider_schema")]
    pub provider: SecretStoreProvider,
    /// Accepted for compatibility; sealbox retries with its own jittered backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_settings: Option<RetrySettings>,
    /// How often the store is re-validated (seconds or Go duration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<IntOrString>,
    /// ClusterSecretStore only: which namespaces may use it (ORed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ClusterSecretStoreCondition>,
}

/// The same spec, cluster-scoped.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ClusterSecretStore",
    plural = "clustersecretstores",
    singular = "clustersecretstore",
    status = "SecretStoreStatus",
    derive = "PartialEq",
    shortname = "css",
    category = "external-secrets",
    label("external-secrets.io/component", "controller"),
    doc = "ClusterSecretStore represents a secure external location for storing secrets, which can be referenced as part of `storeRef` fields.",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Capabilities","type":"string","jsonPath":".status.capabilities"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreSpec {
    /// Controller class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    /// Exactly one provider.
    #[serde(default)]
    #[schemars(schema_with = "provider_schema")]
    pub provider: SecretStoreProvider,
    /// Accepted for compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_settings: Option<RetrySettings>,
    /// How often the store is re-validated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<IntOrString>,
    /// Which namespaces may use it (ORed); none = every namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ClusterSecretStoreCondition>,
}

impl From<ClusterSecretStoreSpec> for SecretStoreSpec {
    fn from(c: ClusterSecretStoreSpec) -> Self {
        SecretStoreSpec {
            controller: c.controller,
            provider: c.provider,
            retry_settings: c.retry_settings,
            refresh_interval: c.refresh_interval,
            conditions: c.conditions,
        }
    }
}

/// `spec.retrySettings`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetrySettings {
    /// Max retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<i32>,
    /// Interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
}

/// `spec.conditions[]` of a ClusterSecretStore.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSecretStoreCondition {
    /// Namespaces with matching labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_selector: Option<LabelSelector>,
    /// Namespaces by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    /// Namespaces by (RE2) regexp.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespace_regexes: Vec<String>,
}

/// `spec.provider`: the providers sealbox serves, plus any other ESO provider kept as-is.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretStoreProvider {
    /// AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsProvider>,
    /// HashiCorp Vault / OpenBao.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault: Option<VaultProvider>,
    /// ESO's static Fake provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fake: Option<FakeProvider>,
    /// Providers sealbox does not implement (kept so the object round-trips).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

fn provider_schema(generator: &mut SchemaGenerator) -> Schema {
    let aws = generator.subschema_for::<AwsProvider>();
    let vault = generator.subschema_for::<VaultProvider>();
    let fake = generator.subschema_for::<FakeProvider>();
    json_schema!({
        "description": "Used to configure the provider. Only one provider may be set. sealbox serves aws (SecretsManager), vault and fake; other ESO providers are preserved and reported as unsupported.",
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
        "properties": {"aws": aws, "vault": vault, "fake": fake}
    })
}

/// `provider.aws`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsProvider {
    /// `SecretsManager` (served) or `ParameterStore` (refused).
    pub service: String,
    /// Region.
    pub region: String,
    /// Static credentials or a service account (JWT); none = the default chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AwsAuth>,
    /// Role to assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Roles assumed first, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_roles: Vec<String>,
    /// External ID for `role`.
    #[serde(
        default,
        rename = "externalID",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Session tags for `role`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_tags: Vec<AwsTag>,
    /// Deletion settings for PushSecret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_manager: Option<AwsSecretsManager>,
    /// Transitive tag keys (accepted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// Prefix prepended to every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// `aws.auth`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AwsAuth {
    /// Keys from a Secret.
    #[serde(default, rename = "secretRef", skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<AwsAuthSecretRef>,
    /// IRSA-style service account token (served by the default chain in-cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<serde_json::Value>,
}

/// `aws.auth.secretRef`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AwsAuthSecretRef {
    /// Access key id.
    #[serde(default, rename = "accessKeyIDSecretRef")]
    pub access_key_id: SecretKeySelector,
    /// Secret access key.
    #[serde(default, rename = "secretAccessKeySecretRef")]
    pub secret_access_key: SecretKeySelector,
    /// Session token.
    #[serde(
        default,
        rename = "sessionTokenSecretRef",
        skip_serializing_if = "Option::is_none"
    )]
    pub session_token: Option<SecretKeySelector>,
}

/// `aws.sessionTags[]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AwsTag {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

/// `aws.secretsManager`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsSecretsManager {
    /// Delete without the recovery window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_delete_without_recovery: Option<bool>,
    /// Recovery window (7–30 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_window_in_days: Option<i64>,
}

/// ESO `SecretKeySelector` (`apis/meta/v1`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeySelector {
    /// Secret name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace (ClusterSecretStore only; else the ExternalSecret's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Key in the Secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

/// ESO `ServiceAccountSelector`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ServiceAccountSelector {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Audiences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audiences: Vec<String>,
}

/// `provider.vault`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultProvider {
    /// Server URL.
    pub server: String,
    /// KV mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `v1` or `v2` (default `v2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["v1", "v2"]))]
    pub version: Option<String>,
    /// Vault Enterprise / OpenBao namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<VaultAuth>,
    /// CA bundle (not yet honoured by sealbox: use a CA the system trusts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// CA provider (accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_provider: Option<serde_json::Value>,
    /// mTLS (accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<serde_json::Value>,
    /// Accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_your_writes: Option<bool>,
    /// Accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_inconsistent: Option<bool>,
    /// Extra headers (accepted).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Check-and-set for pushes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_and_set: Option<VaultCheckAndSet>,
}

/// `vault.checkAndSet`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VaultCheckAndSet {
    /// Require CAS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// `vault.auth`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAuth {
    /// Namespace to log in to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A token in a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_secret_ref: Option<SecretKeySelector>,
    /// AppRole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_role: Option<VaultAppRole>,
    /// Kubernetes auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<VaultKubernetesAuth>,
    /// JWT/OIDC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<VaultJwtAuth>,
    /// Username/password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pass: Option<VaultUserPassAuth>,
    /// LDAP (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap: Option<serde_json::Value>,
    /// Cert (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<serde_json::Value>,
    /// AWS IAM (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<serde_json::Value>,
    /// GCP (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gcp: Option<serde_json::Value>,
}

/// `auth.appRole`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultAppRole {
    /// Mount path (`approle`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Role id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<String>,
    /// Role id from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ref: Option<SecretKeySelector>,
    /// Secret id.
    #[serde(default)]
    pub secret_ref: SecretKeySelector,
}

/// `auth.kubernetes`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesAuth {
    /// Mount path (`kubernetes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_path: Option<String>,
    /// Vault role.
    pub role: String,
    /// Token from the TokenRequest API for this service account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_ref: Option<ServiceAccountSelector>,
    /// Token from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
}

/// `auth.jwt`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultJwtAuth {
    /// Mount path (`jwt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// JWT from a Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// JWT from the TokenRequest API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_service_account_token: Option<VaultKubernetesServiceAccountToken>,
}

/// `jwt.kubernetesServiceAccountToken`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultKubernetesServiceAccountToken {
    /// The service account.
    pub service_account_ref: ServiceAccountSelector,
    /// Audiences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audiences: Option<Vec<String>>,
    /// Lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_seconds: Option<i64>,
}

/// `auth.userPass`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VaultUserPassAuth {
    /// Mount path (`userpass`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// User name.
    pub username: String,
    /// Password.
    #[serde(default)]
    pub secret_ref: SecretKeySelector,
}

/// `provider.fake`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FakeProvider {
    /// Static entries.
    #[serde(default)]
    pub data: Vec<FakeProviderData>,
    /// Accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_result: Option<i32>,
}

/// One fake entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FakeProviderData {
    /// Key.
    pub key: String,
    /// Value (a secret: never logged).
    #[serde(default)]
    pub value: String,
    /// Version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// `status` of both store kinds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretStoreStatus {
    /// `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<SecretStoreCondition>,
    /// `ReadOnly`, `WriteOnly` or `ReadWrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
}

/// A store condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretStoreCondition {
    /// `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`/`False`/`Unknown`.
    pub status: String,
    /// Reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Last flip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<Time>,
}

impl SecretStoreProvider {
    /// The names of the providers set (for "exactly one" checks and messages).
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.aws.is_some() {
            out.push("aws".to_owned());
        }
        if self.vault.is_some() {
            out.push("vault".to_owned());
        }
        if self.fake.is_some() {
            out.push("fake".to_owned());
        }
        out.extend(
            self.other
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, _)| k.clone()),
        );
        out
    }
}
