//! Store specs → provider configurations, and the ClusterSecretStore namespace rule.
//!
//! Pure: credential Secret references are listed by [`credential_refs`], read by the
//! shell, and handed back as values to [`config`]. Reference resolution follows ESO:
//! a `namespace` on a reference is honoured only for ClusterSecretStores; without one, a
//! SecretStore's own namespace is used, and a ClusterSecretStore uses the namespace of the
//! ExternalSecret being reconciled ("referent auth").

use std::collections::BTreeMap;
use std::sync::Arc;

use regex::Regex;
use sealbox_providers::StoreConfig;
use sealbox_providers::aws::{AwsAuth as PAwsAuth, AwsConfig, BatchConfig};
use sealbox_providers::fake::{FakeConfig, FakeEntry};
use sealbox_providers::vault::{
    JwtFetcher, JwtSource, KvVersion, VaultAuth as PVaultAuth, VaultConfig,
};
use secrecy::SecretString;

use super::selector;
use crate::api::external::store::{
    ClusterSecretStoreCondition, SecretKeySelector, SecretStoreSpec,
};

/// Which kind of store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StoreKind {
    /// Namespaced.
    SecretStore,
    /// Cluster-scoped.
    ClusterSecretStore,
}

impl StoreKind {
    /// The kind name.
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::SecretStore => "SecretStore",
            StoreKind::ClusterSecretStore => "ClusterSecretStore",
        }
    }
}

/// A Secret key a store needs (`namespace/name` + key).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialRef {
    /// Namespace.
    pub namespace: String,
    /// Secret name.
    pub name: String,
    /// Key.
    pub key: String,
}

/// The store cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Zero or several providers, or one sealbox does not serve.
    #[error("invalid provider config: {0}")]
    InvalidProvider(String),
    /// A field is missing or wrong.
    #[error("invalid store configuration: {0}")]
    Invalid(String),
    /// A credential Secret or key is missing.
    #[error("could not read credentials: {0}")]
    MissingCredential(String),
    /// A ClusterSecretStore refuses this namespace.
    #[error(
        "using cluster store {store:?} is not allowed from namespace {namespace:?}: denied by spec.condition"
    )]
    NamespaceDenied {
        /// Store name.
        store: String,
        /// Namespace.
        namespace: String,
    },
}

/// The one provider of a store, checked.
pub fn provider_name(spec: &SecretStoreSpec) -> Result<&'static str, StoreError> {
    let names = spec.provider.names();
    match names.as_slice() {
        [] => Err(StoreError::InvalidProvider(
            "no provider is set in spec.provider".into(),
        )),
        [one] => match one.as_str() {
            "aws" => Ok("aws"),
            "vault" => Ok("vault"),
            "fake" => Ok("fake"),
            other => Err(StoreError::InvalidProvider(format!(
                "provider {other:?} is not supported by sealbox (supported: aws, vault, fake)"
            ))),
        },
        many => Err(StoreError::InvalidProvider(format!(
            "exactly one provider must be set, found {}",
            many.join(", ")
        ))),
    }
}

fn resolve_ref(
    sel: &SecretKeySelector,
    field: &str,
    kind: StoreKind,
    store_namespace: Option<&str>,
    es_namespace: &str,
) -> Result<CredentialRef, StoreError> {
    if sel.name.is_empty() || sel.key.is_empty() {
        return Err(StoreError::Invalid(format!(
            "{field}: name and key are required"
        )));
    }
    let namespace = match (kind, &sel.namespace) {
        (StoreKind::ClusterSecretStore, Some(ns)) if !ns.is_empty() => ns.clone(),
        (StoreKind::ClusterSecretStore, _) => es_namespace.to_owned(),
        (StoreKind::SecretStore, Some(ns))
            if Some(ns.as_str()) != store_namespace && !ns.is_empty() =>
        {
            return Err(StoreError::Invalid(format!(
                "{field}: namespace should either be empty or match the namespace of the SecretStore for a namespaced SecretStore"
            )));
        }
        (StoreKind::SecretStore, _) => store_namespace.unwrap_or(es_namespace).to_owned(),
    };
    Ok(CredentialRef {
        namespace,
        name: sel.name.clone(),
        key: sel.key.clone(),
    })
}

/// The credential references a store needs, by field path.
pub fn credential_refs(
    spec: &SecretStoreSpec,
    kind: StoreKind,
    store_namespace: Option<&str>,
    es_namespace: &str,
) -> Result<Vec<(String, CredentialRef)>, StoreError> {
    let r = |sel: &SecretKeySelector, field: &str| {
        resolve_ref(sel, field, kind, store_namespace, es_namespace).map(|c| (field.to_owned(), c))
    };
    let mut out = Vec::new();
    match provider_name(spec)? {
        "aws" => {
            let aws = spec.provider.aws.as_ref().expect("checked");
            if let Some(s) = aws.auth.as_ref().and_then(|a| a.secret_ref.as_ref()) {
                out.push(r(
                    &s.access_key_id,
                    "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef",
                )?);
                out.push(r(
                    &s.secret_access_key,
                    "spec.provider.aws.auth.secretRef.secretAccessKeySecretRef",
                )?);
                if let Some(t) = &s.session_token {
                    out.push(r(
                        t,
                        "spec.provider.aws.auth.secretRef.sessionTokenSecretRef",
                    )?);
                }
            }
        }
        "vault" => {
            let auth = spec.provider.vault.as_ref().and_then(|v| v.auth.as_ref());
            if let Some(auth) = auth {
                if let Some(t) = &auth.token_secret_ref {
                    out.push(r(t, "spec.provider.vault.auth.tokenSecretRef")?);
                }
                if let Some(a) = &auth.app_role {
                    out.push(r(
                        &a.secret_ref,
                        "spec.provider.vault.auth.appRole.secretRef",
                    )?);
                    if let Some(role) = &a.role_ref {
                        out.push(r(role, "spec.provider.vault.auth.appRole.roleRef")?);
                    }
                }
                if let Some(s) = auth.kubernetes.as_ref().and_then(|k| k.secret_ref.as_ref()) {
                    out.push(r(s, "spec.provider.vault.auth.kubernetes.secretRef")?);
                }
                if let Some(s) = auth.jwt.as_ref().and_then(|k| k.secret_ref.as_ref()) {
                    out.push(r(s, "spec.provider.vault.auth.jwt.secretRef")?);
                }
                if let Some(u) = &auth.user_pass {
                    out.push(r(
                        &u.secret_ref,
                        "spec.provider.vault.auth.userPass.secretRef",
                    )?);
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// How the shell mints service-account tokens (TokenRequest) for Vault logins.
pub trait TokenSource {
    /// A fetcher of a fresh token for `namespace/name` with `audiences`.
    fn service_account_token(
        &self,
        namespace: &str,
        name: &str,
        audiences: Vec<String>,
    ) -> JwtFetcher;
    /// The controller's own token (Vault kubernetes auth without a reference).
    fn own_token(&self) -> JwtFetcher;
}

/// Options that are the controller's, not the store's.
#[derive(Clone, Debug, Default)]
pub struct ProviderOptions {
    /// Secrets Manager endpoint override (tests; else `AWS_ENDPOINT_URL_SECRETS_MANAGER`).
    pub aws_endpoint_url: Option<String>,
    /// How long the first read of an AWS batch waits for company (the controller uses
    /// 100 ms: a refresh wave's reads then fill batches of 20).
    pub aws_batch_window: Option<std::time::Duration>,
}

/// Build the provider configuration. `credentials` maps each field path of
/// [`credential_refs`] to its value.
pub fn config(
    spec: &SecretStoreSpec,
    kind: StoreKind,
    store_namespace: Option<&str>,
    es_namespace: &str,
    credentials: &BTreeMap<String, SecretString>,
    tokens: &dyn TokenSource,
    options: &ProviderOptions,
) -> Result<StoreConfig, StoreError> {
    let cred = |field: &str| -> Result<SecretString, StoreError> {
        credentials
            .get(field)
            .cloned()
            .ok_or_else(|| StoreError::MissingCredential(format!("{field} is not available")))
    };
    let exposed = |field: &str| -> Result<String, StoreError> {
        use secrecy::ExposeSecret as _;
        Ok(cred(field)?.expose_secret().trim().to_owned())
    };
    match provider_name(spec)? {
        "fake" => {
            let fake = spec.provider.fake.as_ref().expect("checked");
            Ok(StoreConfig::Fake(FakeConfig {
                data: fake
                    .data
                    .iter()
                    .map(|d| FakeEntry {
                        key: d.key.clone(),
                        value: d.value.as_str().into(),
                        version: d.version.clone(),
                    })
                    .collect(),
                ..FakeConfig::default()
            }))
        }
        "aws" => {
            let aws = spec.provider.aws.as_ref().expect("checked");
            if aws.service != "SecretsManager" {
                return Err(StoreError::InvalidProvider(format!(
                    "aws service {:?} is not supported by sealbox (supported: SecretsManager)",
                    aws.service
                )));
            }
            let auth = match aws.auth.as_ref().and_then(|a| a.secret_ref.as_ref()) {
                Some(s) => PAwsAuth::Static {
                    access_key_id: exposed(
                        "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef",
                    )?,
                    secret_access_key: cred(
                        "spec.provider.aws.auth.secretRef.secretAccessKeySecretRef",
                    )?,
                    session_token: match &s.session_token {
                        Some(_) => Some(cred(
                            "spec.provider.aws.auth.secretRef.sessionTokenSecretRef",
                        )?),
                        None => None,
                    },
                },
                None => PAwsAuth::DefaultChain,
            };
            let sm = aws.secrets_manager.as_ref();
            Ok(StoreConfig::Aws(AwsConfig {
                region: aws.region.clone(),
                auth,
                role: aws.role.clone().filter(|r| !r.is_empty()),
                additional_roles: aws.additional_roles.clone(),
                external_id: aws.external_id.clone().filter(|r| !r.is_empty()),
                session_tags: aws
                    .session_tags
                    .iter()
                    .map(|t| (t.key.clone(), t.value.clone()))
                    .collect(),
                prefix: aws.prefix.clone().unwrap_or_default(),
                endpoint_url: options.aws_endpoint_url.clone(),
                force_delete_without_recovery: sm
                    .and_then(|s| s.force_delete_without_recovery)
                    .unwrap_or(false),
                recovery_window_in_days: sm
                    .and_then(|s| s.recovery_window_in_days)
                    .filter(|d| *d != 0),
                batching: BatchConfig {
                    window: options
                        .aws_batch_window
                        .unwrap_or(BatchConfig::default().window),
                    ..BatchConfig::default()
                },
                ..AwsConfig::default()
            }))
        }
        "vault" => {
            let v = spec.provider.vault.as_ref().expect("checked");
            let version = match v.version.as_deref().unwrap_or("") {
                "" | "v2" => KvVersion::V2,
                "v1" => KvVersion::V1,
                other => {
                    return Err(StoreError::Invalid(format!(
                        "spec.provider.vault.version {other:?} is not supported (expected v1 or v2)"
                    )));
                }
            };
            let auth = v.auth.as_ref().ok_or_else(|| {
                StoreError::Invalid("spec.provider.vault.auth is required".into())
            })?;
            let auth_method = if auth.token_secret_ref.is_some() {
                PVaultAuth::Token(cred("spec.provider.vault.auth.tokenSecretRef")?)
            } else if let Some(a) = &auth.app_role {
                let role_id = match (&a.role_id, &a.role_ref) {
                    (_, Some(_)) => exposed("spec.provider.vault.auth.appRole.roleRef")?,
                    (Some(id), None) => id.clone(),
                    (None, None) => {
                        return Err(StoreError::Invalid(
                            "spec.provider.vault.auth.appRole: roleId or roleRef is required"
                                .into(),
                        ));
                    }
                };
                PVaultAuth::AppRole {
                    path: a
                        .path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "approle".into()),
                    role_id,
                    secret_id: cred("spec.provider.vault.auth.appRole.secretRef")?,
                }
            } else if let Some(k) = &auth.kubernetes {
                let jwt = if k.secret_ref.is_some() {
                    JwtSource::Value(cred("spec.provider.vault.auth.kubernetes.secretRef")?)
                } else if let Some(sa) = &k.service_account_ref {
                    let ns = match (kind, &sa.namespace) {
                        (StoreKind::ClusterSecretStore, Some(ns)) => ns.clone(),
                        _ => store_namespace.unwrap_or(es_namespace).to_owned(),
                    };
                    JwtSource::Fetch(tokens.service_account_token(
                        &ns,
                        &sa.name,
                        sa.audiences.clone(),
                    ))
                } else {
                    JwtSource::Fetch(tokens.own_token())
                };
                PVaultAuth::Kubernetes {
                    mount_path: k
                        .mount_path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "kubernetes".into()),
                    role: k.role.clone(),
                    jwt,
                }
            } else if let Some(j) = &auth.jwt {
                let jwt = if j.secret_ref.is_some() {
                    JwtSource::Value(cred("spec.provider.vault.auth.jwt.secretRef")?)
                } else if let Some(t) = &j.kubernetes_service_account_token {
                    let sa = &t.service_account_ref;
                    let ns = match (kind, &sa.namespace) {
                        (StoreKind::ClusterSecretStore, Some(ns)) => ns.clone(),
                        _ => store_namespace.unwrap_or(es_namespace).to_owned(),
                    };
                    let audiences = t.audiences.clone().unwrap_or_else(|| sa.audiences.clone());
                    JwtSource::Fetch(tokens.service_account_token(&ns, &sa.name, audiences))
                } else {
                    return Err(StoreError::Invalid(
                        "spec.provider.vault.auth.jwt: secretRef or kubernetesServiceAccountToken is required".into(),
                    ));
                };
                PVaultAuth::Jwt {
                    path: j
                        .path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "jwt".into()),
                    role: j.role.clone().filter(|r| !r.is_empty()),
                    jwt,
                }
            } else if let Some(u) = &auth.user_pass {
                PVaultAuth::UserPass {
                    path: u
                        .path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "userpass".into()),
                    username: u.username.clone(),
                    password: cred("spec.provider.vault.auth.userPass.secretRef")?,
                }
            } else {
                let named: Vec<&str> = [
                    ("ldap", auth.ldap.is_some()),
                    ("cert", auth.cert.is_some()),
                    ("iam", auth.iam.is_some()),
                    ("gcp", auth.gcp.is_some()),
                ]
                .into_iter()
                .filter(|(_, set)| *set)
                .map(|(n, _)| n)
                .collect();
                return Err(StoreError::InvalidProvider(if named.is_empty() {
                    "spec.provider.vault.auth: no authentication method is set".into()
                } else {
                    format!(
                        "vault auth method {} is not supported by sealbox (supported: tokenSecretRef, appRole, kubernetes, jwt, userPass)",
                        named.join(", ")
                    )
                }));
            };
            let mut config = VaultConfig::new(v.server.clone(), auth_method);
            config.path = v.path.clone();
            config.version = version;
            config.namespace = v.namespace.clone();
            config.auth_namespace = auth.namespace.clone();
            config.check_and_set_required = v
                .check_and_set
                .as_ref()
                .and_then(|c| c.required)
                .unwrap_or(false);
            Ok(StoreConfig::Vault(config))
        }
        _ => unreachable!("provider_name returns a served provider"),
    }
}

/// ESO `shouldProcessSecret`: no conditions = every namespace; otherwise any condition
/// (namespace list, regexes, label selector over the namespace's labels) must match.
pub fn namespace_allowed(
    conditions: &[ClusterSecretStoreCondition],
    namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
) -> bool {
    if conditions.is_empty() {
        return true;
    }
    conditions.iter().any(|c| {
        if let Some(sel) = &c.namespace_selector
            && selector::matches(sel, namespace_labels)
        {
            return true;
        }
        if c.namespaces.iter().any(|n| n == namespace) {
            return true;
        }
        c.namespace_regexes
            .iter()
            .any(|re| Regex::new(re).is_ok_and(|r| r.is_match(namespace)))
    })
}

/// A [`TokenSource`] that refuses (the CLI, tests without a cluster).
#[derive(Debug, Default)]
pub struct NoTokens;

impl TokenSource for NoTokens {
    fn service_account_token(&self, namespace: &str, name: &str, _: Vec<String>) -> JwtFetcher {
        let what = format!("{namespace}/{name}");
        Arc::new(move || {
            let what = what.clone();
            Box::pin(async move {
                Err(sealbox_providers::ProviderError::Config {
                    message: format!("no cluster to request a token for service account {what}"),
                })
            })
        })
    }

    fn own_token(&self) -> JwtFetcher {
        Arc::new(|| {
            Box::pin(async {
                Err(sealbox_providers::ProviderError::Config {
                    message: "no service account token available".into(),
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::external::store::{
        AwsAuth, AwsAuthSecretRef, AwsProvider, FakeProvider, FakeProviderData,
        SecretStoreProvider, VaultAuth, VaultProvider, VaultUserPassAuth,
    };

    fn sel(name: &str, key: &str, ns: Option<&str>) -> SecretKeySelector {
        SecretKeySelector {
            name: name.into(),
            key: key.into(),
            namespace: ns.map(str::to_owned),
        }
    }

    fn aws_spec(ns: Option<&str>) -> SecretStoreSpec {
        SecretStoreSpec {
            provider: SecretStoreProvider {
                aws: Some(AwsProvider {
                    service: "SecretsManager".into(),
                    region: "us-east-1".into(),
                    auth: Some(AwsAuth {
                        secret_ref: Some(AwsAuthSecretRef {
                            access_key_id: sel("aws-creds", "id", ns),
                            secret_access_key: sel("aws-creds", "secret", ns),
                            session_token: None,
                        }),
                        jwt: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn referent_auth_namespaces() {
        let refs = credential_refs(
            &aws_spec(None),
            StoreKind::ClusterSecretStore,
            None,
            "team-a",
        )
        .unwrap();
        assert_eq!(refs[0].1.namespace, "team-a");
        let refs = credential_refs(
            &aws_spec(Some("ops")),
            StoreKind::ClusterSecretStore,
            None,
            "team-a",
        )
        .unwrap();
        assert_eq!(refs[0].1.namespace, "ops");
        let refs =
            credential_refs(&aws_spec(None), StoreKind::SecretStore, Some("app"), "app").unwrap();
        assert_eq!(
            refs[1].1,
            CredentialRef {
                namespace: "app".into(),
                name: "aws-creds".into(),
                key: "secret".into()
            }
        );
        assert!(
            credential_refs(
                &aws_spec(Some("ops")),
                StoreKind::SecretStore,
                Some("app"),
                "app"
            )
            .is_err()
        );
    }

    #[test]
    fn aws_config_from_resolved_credentials() {
        let spec = aws_spec(None);
        let mut creds = BTreeMap::new();
        creds.insert(
            "spec.provider.aws.auth.secretRef.accessKeyIDSecretRef".to_owned(),
            SecretString::from("AKID\n"),
        );
        creds.insert(
            "spec.provider.aws.auth.secretRef.secretAccessKeySecretRef".to_owned(),
            SecretString::from("s3cret"),
        );
        let options = ProviderOptions {
            aws_endpoint_url: Some("http://127.0.0.1:1".into()),
            aws_batch_window: None,
        };
        match config(
            &spec,
            StoreKind::SecretStore,
            Some("app"),
            "app",
            &creds,
            &NoTokens,
            &options,
        )
        .unwrap()
        {
            StoreConfig::Aws(c) => {
                assert_eq!(c.region, "us-east-1");
                assert!(
                    matches!(c.auth, PAwsAuth::Static { ref access_key_id, .. } if access_key_id == "AKID")
                );
                assert_eq!(c.endpoint_url.as_deref(), Some("http://127.0.0.1:1"));
            }
            other => panic!("{other:?}"),
        }
        creds.clear();
        let e = config(
            &spec,
            StoreKind::SecretStore,
            Some("app"),
            "app",
            &creds,
            &NoTokens,
            &options,
        )
        .unwrap_err();
        assert!(matches!(e, StoreError::MissingCredential(_)));
    }

    #[test]
    fn providers_checked() {
        let none = SecretStoreSpec::default();
        assert!(
            provider_name(&none)
                .unwrap_err()
                .to_string()
                .contains("no provider")
        );
        let mut two = aws_spec(None);
        two.provider.fake = Some(FakeProvider::default());
        assert!(
            provider_name(&two)
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        let mut gcp = SecretStoreSpec::default();
        gcp.provider
            .other
            .insert("gcpsm".into(), serde_json::json!({}));
        assert!(
            provider_name(&gcp)
                .unwrap_err()
                .to_string()
                .contains("gcpsm")
        );
        let fake = SecretStoreSpec {
            provider: SecretStoreProvider {
                fake: Some(FakeProvider {
                    data: vec![FakeProviderData {
                        key: "k".into(),
                        value: "v".into(),
                        version: None,
                    }],
                    validation_result: None,
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(matches!(
            config(
                &fake,
                StoreKind::SecretStore,
                Some("a"),
                "a",
                &BTreeMap::new(),
                &NoTokens,
                &ProviderOptions::default()
            ),
            Ok(StoreConfig::Fake(_))
        ));
        let vault = SecretStoreSpec {
            provider: SecretStoreProvider {
                vault: Some(VaultProvider {
                    server: "http://v".into(),
                    auth: Some(VaultAuth {
                        user_pass: Some(VaultUserPassAuth {
                            path: None,
                            username: "eso".into(),
                            secret_ref: sel("pw", "password", None),
                        }),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let refs = credential_refs(&vault, StoreKind::SecretStore, Some("a"), "a").unwrap();
        assert_eq!(refs[0].0, "spec.provider.vault.auth.userPass.secretRef");
        let creds = BTreeMap::from([(refs[0].0.clone(), SecretString::from("pw-xyz"))]);
        let c = config(
            &vault,
            StoreKind::SecretStore,
            Some("a"),
            "a",
            &creds,
            &NoTokens,
            &ProviderOptions::default(),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("pw-xyz"));
    }

    #[test]
    fn cluster_store_namespace_conditions() {
        let labels = BTreeMap::from([("team".to_owned(), "a".to_owned())]);
        assert!(namespace_allowed(&[], "any", &labels));
        let conds = vec![
            ClusterSecretStoreCondition {
                namespaces: vec!["ops".into()],
                ..Default::default()
            },
            ClusterSecretStoreCondition {
                namespace_regexes: vec!["^team-.*$".into()],
                ..Default::default()
            },
        ];
        assert!(namespace_allowed(&conds, "ops", &BTreeMap::new()));
        assert!(namespace_allowed(&conds, "team-x", &BTreeMap::new()));
        assert!(!namespace_allowed(&conds, "default", &labels));
        let by_label = vec![ClusterSecretStoreCondition {
            namespace_selector: Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                    match_labels: Some(labels.clone()),
                    match_expressions: None,
                },
            ),
            ..Default::default()
        }];
        assert!(namespace_allowed(&by_label, "whatever", &labels));
        assert!(!namespace_allowed(&by_label, "whatever", &BTreeMap::new()));
        let e = StoreError::NamespaceDenied {
            store: "aws".into(),
            namespace: "default".into(),
        };
        assert_eq!(
            e.to_string(),
            "using cluster store \"aws\" is not allowed from namespace \"default\": denied by spec.condition"
        );
    }
}
