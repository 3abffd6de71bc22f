//! The closed set of stores, dispatched by `match`.
//!
//! Why an enum and not a trait object: the set of providers is fixed at compile time by
//! cargo features; native `async fn` in traits is not object-safe, so a trait object
//! would need boxed futures on every call; and the request layer needs provider-specific
//! rules (AWS batching, Vault's Go-style value rendering) that an exhaustive `match` keeps
//! visible in one place. Adding a provider means adding a variant, and the compiler lists
//! every place that must handle it.

use crate::error::{ProviderError, Result};
use crate::json::{extract, go, path};
use crate::metrics::{Metrics, ProviderKind};
use crate::reference::{FindRef, MetadataPolicy, PushRef, RemoteRef};
use crate::value::{SecretMap, SecretValue};

#[cfg(feature = "aws")]
use crate::aws::{AwsConfig, AwsProvider};
#[cfg(feature = "fake")]
use crate::fake::{FakeConfig, FakeProvider};
#[cfg(feature = "vault")]
use crate::vault::{VaultConfig, VaultProvider};

/// What one remote read is keyed by: the unit of caching and in-flight deduplication.
/// The property is not part of it — all properties of one secret share one read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FetchKey {
    pub key: String,
    pub version: Option<String>,
    pub metadata_policy: MetadataPolicy,
}

impl FetchKey {
    pub(crate) fn of(reference: &RemoteRef) -> Self {
        Self {
            key: reference.key.clone(),
            version: reference.version().map(str::to_owned),
            metadata_policy: reference.metadata_policy,
        }
    }
}

/// A store's configuration (ESO `spec.provider.*`), with every credential already
/// resolved to a value by the caller.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum StoreConfig {
    #[cfg(feature = "fake")]
    Fake(FakeConfig),
    #[cfg(feature = "aws")]
    Aws(AwsConfig),
    #[cfg(feature = "vault")]
    Vault(VaultConfig),
}

#[derive(Debug)]
pub(crate) enum Provider {
    #[cfg(feature = "fake")]
    Fake(FakeProvider),
    #[cfg(feature = "aws")]
    Aws(AwsProvider),
    #[cfg(feature = "vault")]
    Vault(Box<VaultProvider>),
}

/// Dispatches `$body` over every compiled-in provider, binding it to `$p`.
macro_rules! each {
    ($self:expr, $p:ident => $body:expr) => {
        match $self {
            #[cfg(feature = "fake")]
            Provider::Fake($p) => $body,
            #[cfg(feature = "aws")]
            Provider::Aws($p) => $body,
            #[cfg(feature = "vault")]
            Provider::Vault($p) => $body,
        }
    };
}

impl Provider {
    pub(crate) async fn connect(config: StoreConfig, metrics: Metrics) -> Result<Self> {
        #[allow(unreachable_code, unused_variables)]
        let provider = match config {
            #[cfg(feature = "fake")]
            StoreConfig::Fake(c) => Self::Fake(FakeProvider::new(c, metrics)?),
            #[cfg(feature = "aws")]
            StoreConfig::Aws(c) => Self::Aws(AwsProvider::connect(c, metrics).await?),
            #[cfg(feature = "vault")]
            StoreConfig::Vault(c) => Self::Vault(Box::new(VaultProvider::new(c, metrics)?)),
        };
        Ok(provider)
    }

    pub(crate) fn kind(&self) -> ProviderKind {
        match self {
            #[cfg(feature = "fake")]
            Self::Fake(_) => ProviderKind::Fake,
            #[cfg(feature = "aws")]
            Self::Aws(_) => ProviderKind::Aws,
            #[cfg(feature = "vault")]
            Self::Vault(_) => ProviderKind::Vault,
        }
    }

    /// Reads the raw payload of one remote secret (no property applied).
    pub(crate) async fn fetch(&self, key: &FetchKey) -> Result<SecretValue> {
        each!(self, p => p.fetch(key).await)
    }

    pub(crate) async fn find(&self, find: &FindRef) -> Result<SecretMap> {
        find.matcher()?;
        each!(self, p => p.find(find).await)
    }

    pub(crate) async fn push(
        &self,
        push: &PushRef,
        value: &SecretValue,
        metadata: Option<&serde_json::Value>,
    ) -> Result<()> {
        match self {
            #[cfg(feature = "fake")]
            Self::Fake(p) => {
                let _ = metadata;
                p.push(push, value).await
            }
            #[cfg(feature = "aws")]
            Self::Aws(p) => p.push(push, value, metadata).await,
            #[cfg(feature = "vault")]
            Self::Vault(p) => {
                let _ = metadata;
                p.push(push, value).await
            }
        }
    }

    pub(crate) async fn delete(&self, push: &PushRef) -> Result<()> {
        each!(self, p => p.delete(push).await)
    }

    pub(crate) async fn exists(&self, push: &PushRef) -> Result<bool> {
        each!(self, p => p.exists(push).await)
    }

    pub(crate) async fn validate(&self) -> Result<()> {
        match self {
            #[cfg(feature = "fake")]
            Self::Fake(_) => Ok(()),
            #[cfg(feature = "aws")]
            Self::Aws(p) => p.validate().await,
            #[cfg(feature = "vault")]
            Self::Vault(p) => p.validate().await,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            #[cfg(feature = "fake")]
            Self::Fake(_) => {}
            #[cfg(feature = "aws")]
            Self::Aws(_) => {}
            #[cfg(feature = "vault")]
            Self::Vault(p) => p.close().await,
        }
    }

    /// Applies `reference.property` to a payload with the rules of this provider.
    pub(crate) fn resolve(
        &self,
        reference: &RemoteRef,
        payload: SecretValue,
    ) -> Result<SecretValue> {
        let Some(property) = reference.property() else {
            return Ok(payload);
        };
        let text = String::from_utf8_lossy(payload.expose());
        let key = &reference.key;
        let found = match self.kind() {
            ProviderKind::Fake => path::gjson_property(&text, property)
                .ok_or_else(|| ProviderError::not_found(key))?,
            ProviderKind::Aws => path::aws_property(&text, property).ok_or_else(|| {
                ProviderError::invalid_ref(
                    key,
                    format!("key {property} does not exist in secret {key}"),
                )
            })?,
            ProviderKind::Vault => vault_property(&text, property).ok_or_else(|| {
                ProviderError::invalid_ref(
                    key,
                    format!("cannot find secret data for key: {property:?}"),
                )
            })?,
        };
        Ok(SecretValue::new(found))
    }

    /// `dataFrom.extract`: the (property-narrowed) value as a key → value map.
    pub(crate) fn extract(&self, reference: &RemoteRef, value: &SecretValue) -> Result<SecretMap> {
        match self.kind() {
            ProviderKind::Fake | ProviderKind::Aws => {
                extract::raw_members(&reference.key, value.expose())
            }
            ProviderKind::Vault => extract::decoded_members(&reference.key, value.expose()),
        }
    }
}

/// ESO Vault `getSecretValue`: an actual top-level key wins over gjson syntax.
fn vault_property(data_json: &str, property: &str) -> Option<Vec<u8>> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(data_json)
        && let Some(value) = map.get(property)
    {
        return Some(go::byte_value(value, go::NumberStyle::Literal));
    }
    path::gjson_property(data_json, property)
}

#[cfg(test)]
mod tests {
    use super::vault_property;

    #[test]
    fn vault_top_level_key_wins_over_path_syntax() {
        let data = r#"{"a.b":"literal","a":{"b":"nested"},"n":5,"o":{"y":1,"x":"<"}}"#;
        assert_eq!(vault_property(data, "a.b").unwrap(), b"literal");
        assert_eq!(vault_property(data, "a").unwrap(), br#"{"b":"nested"}"#);
        assert_eq!(vault_property(data, "n").unwrap(), b"5");
        assert_eq!(
            vault_property(data, "o").unwrap(),
            br#"{"x":"\u003c","y":1}"#
        );
        assert_eq!(vault_property(data, "o.x").unwrap(), b"<");
        assert_eq!(vault_property(data, "missing"), None);
    }

    #[cfg(all(feature = "aws", feature = "vault", feature = "fake"))]
    #[test]
    fn store_configs_never_show_credentials_in_debug() {
        use crate::aws::{AwsAuth, AwsConfig};
        use crate::fake::{FakeConfig, FakeEntry};
        use crate::vault::{JwtSource, VaultAuth, VaultConfig};
        let configs = [
            super::StoreConfig::Aws(AwsConfig {
                auth: AwsAuth::Static {
                    access_key_id: "AKIDEXAMPLE".into(),
                    secret_access_key: "aws-secret-key-xyz".into(),
                    session_token: Some("aws-session-token-xyz".into()),
                },
                ..AwsConfig::default()
            }),
            super::StoreConfig::Vault(VaultConfig::new(
                "http://v",
                VaultAuth::Token("vault-token-xyz".into()),
            )),
            super::StoreConfig::Vault(VaultConfig::new(
                "http://v",
                VaultAuth::AppRole {
                    path: "approle".into(),
                    role_id: "r".into(),
                    secret_id: "secret-id-xyz".into(),
                },
            )),
            super::StoreConfig::Vault(VaultConfig::new(
                "http://v",
                VaultAuth::Kubernetes {
                    mount_path: "k".into(),
                    role: "r".into(),
                    jwt: JwtSource::Value("jwt-xyz".into()),
                },
            )),
            super::StoreConfig::Vault(VaultConfig::new(
                "http://v",
                VaultAuth::UserPass {
                    path: "u".into(),
                    username: "eso".into(),
                    password: "password-xyz".into(),
                },
            )),
            super::StoreConfig::Fake(FakeConfig {
                data: vec![FakeEntry {
                    key: "k".into(),
                    value: "fake-value-xyz".into(),
                    version: None,
                }],
                ..FakeConfig::default()
            }),
        ];
        for config in configs {
            let shown = format!("{config:?}");
            assert!(!shown.contains("-xyz"), "{shown}");
        }
    }
}
