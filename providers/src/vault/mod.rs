//! HashiCorp Vault / OpenBao KV v1 and v2 (ESO `spec.provider.vault`).
//!
//! Reads follow ESO's `providers/v1/vault`: ESO's path building, `version` (v2), data
//! re-marshalled with Go's JSON rules (so `property`-less values are byte-identical),
//! `metadataPolicy: Fetch` = `custom_metadata` plus `created_time`, `current_version`,
//! `delete_version_after`; `find` lists `<mount>/metadata/<path>` recursively and matches
//! names or `custom_metadata` tags. Pushes mark secrets with `custom_metadata.managed-by:
//! external-secrets` (ESO's mark) and never touch secrets without it.

mod auth;
mod errors;
mod path;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value};
use vaultrs::api::kv2::requests::{SetSecretMetadataRequestBuilder, SetSecretRequestOptions};
use vaultrs::client::VaultClient;
use vaultrs::error::ClientError;
use vaultrs::{kv1, kv2};

pub use auth::{JwtFetcher, JwtSource, VaultAuth};

use self::auth::{Endpoint, TokenManager};
use self::path::{Location, locate};
use crate::error::{ProviderError, Result};
use crate::json::go;
use crate::metrics::{Metrics, ProviderKind};
use crate::provider::FetchKey;
use crate::reference::{FindRef, MetadataPolicy, PushRef};
use crate::value::{SecretMap, SecretValue};

const MANAGED_BY: &str = "managed-by";
const EXTERNAL_SECRETS: &str = "external-secrets";
/// How many secrets `find` reads at once.
const FIND_CONCURRENCY: usize = 8;

/// KV engine version (ESO `version`, default v2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KvVersion {
    V1,
    #[default]
    V2,
}

/// ESO `spec.provider.vault`, credentials resolved to values.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// `server`, e.g. `https://vault.example:8200`.
    pub server: String,
    /// `path`: the KV mount (optional for reads; needed by `find`).
    pub path: Option<String>,
    /// `version`.
    pub version: KvVersion,
    /// `namespace` (sent as `X-Vault-Namespace`).
    pub namespace: Option<String>,
    /// `auth`.
    pub auth: VaultAuth,
    /// `auth.namespace`: where to log in, when it differs from `namespace`
    /// (`Some("")` = the root namespace).
    pub auth_namespace: Option<String>,
    /// `checkAndSet.required`: pushes use KV v2 check-and-set.
    pub check_and_set_required: bool,
    /// HTTP timeout per request (default 10 s).
    pub timeout: Option<Duration>,
}

impl VaultConfig {
    /// A v2 store at `server` with `auth` and everything else at ESO's defaults.
    pub fn new(server: impl Into<String>, auth: VaultAuth) -> Self {
        Self {
            server: server.into(),
            path: None,
            version: KvVersion::V2,
            namespace: None,
            auth,
            auth_namespace: None,
            check_and_set_required: false,
            timeout: None,
        }
    }
}

/// A connected Vault store.
#[derive(Debug)]
pub(crate) struct VaultProvider {
    mount: Option<String>,
    version: KvVersion,
    cas_required: bool,
    tokens: TokenManager,
    metrics: Metrics,
}

type Data = Map<String, Value>;
/// A secret's data and its metadata (custom metadata, plus version keys on KV v2).
type Current = (Data, BTreeMap<String, String>);

impl VaultProvider {
    pub(crate) fn new(config: VaultConfig, metrics: Metrics) -> Result<Self> {
        if config.server.trim().is_empty() {
            return Err(ProviderError::config("vault: server is required"));
        }
        let endpoint = Endpoint {
            address: config.server.clone(),
            namespace: config.namespace.clone().filter(|ns| !ns.is_empty()),
            auth_namespace: config.auth_namespace.clone(),
            timeout: config.timeout.unwrap_or(Duration::from_secs(10)),
        };
        // Fail on a malformed address now, not at the first read.
        endpoint.client("", None)?;
        Ok(Self {
            mount: config
                .path
                .map(|p| p.trim_matches('/').to_owned())
                .filter(|p| !p.is_empty()),
            version: config.version,
            cas_required: config.check_and_set_required,
            tokens: TokenManager::new(endpoint, config.auth, metrics.clone()),
            metrics,
        })
    }

    fn locate(&self, key: &str) -> Location {
        locate(self.mount.as_deref(), self.version, key)
    }

    /// Runs `op` with the kept token; a token the server rejects (expired, revoked) is
    /// replaced by a new login once.
    async fn call<T, F, Fut>(&self, call: &'static str, key: &str, op: F) -> Result<T>
    where
        F: Fn(VaultClientRef) -> Fut,
        Fut: Future<Output = std::result::Result<T, ClientError>>,
    {
        let session = self.tokens.session().await?;
        let first = op(VaultClientRef(session.clone())).await;
        self.metrics.call(ProviderKind::Vault, call, &first);
        match first {
            Err(e) if errors::status(&e) == Some(403) && self.tokens.can_login() => {
                self.tokens.discard(session.generation).await;
                let session = self.tokens.session().await?;
                let second = op(VaultClientRef(session)).await;
                self.metrics.call(ProviderKind::Vault, call, &second);
                second.map_err(|e| errors::classify(call, key, e))
            }
            other => other.map_err(|e| errors::classify(call, key, e)),
        }
    }

    /// The data map of `key` (latest or `version`).
    async fn read_data(&self, key: &str, version: Option<&str>) -> Result<Data> {
        let at = self.locate(key);
        let value: Value = match self.version {
            KvVersion::V2 => {
                let version = version
                    .map(|v| {
                        v.parse::<u64>().map_err(|_| {
                            ProviderError::invalid_ref(
                                key,
                                format!("version {v:?} is not a KV v2 version number"),
                            )
                        })
                    })
                    .transpose()?;
                self.call("ReadSecretData", key, |c| {
                    let at = at.clone();
                    async move {
                        match version {
                            Some(v) => kv2::read_version(c.data(), &at.mount, &at.path, v).await,
                            None => kv2::read(c.data(), &at.mount, &at.path).await,
                        }
                    }
                })
                .await?
            }
            KvVersion::V1 => {
                self.call("ReadSecretData", key, |c| {
                    let at = at.clone();
                    async move { kv1::get(c.data(), &at.mount, &at.path).await }
                })
                .await?
            }
        };
        match value {
            Value::Object(data) => Ok(data),
            // A soft-deleted version has `data: null` (ESO: NoSecretError).
            Value::Null => Err(ProviderError::not_found(key)),
            _ => Err(ProviderError::backend(format!(
                "vault returned non-object data for {key:?}"
            ))),
        }
    }

    /// ESO `readSecretMetadata`: `custom_metadata` (+ system keys on v2) as strings.
    async fn read_metadata(&self, key: &str) -> Result<BTreeMap<String, String>> {
        match self.version {
            KvVersion::V2 => {
                let at = self.locate(key);
                let meta = self
                    .call("ReadSecretData", key, |c| {
                        let at = at.clone();
                        async move { kv2::read_metadata(c.data(), &at.mount, &at.path).await }
                    })
                    .await?;
                let mut out: BTreeMap<String, String> = meta
                    .custom_metadata
                    .unwrap_or_default()
                    .into_iter()
                    .collect();
                out.insert("created_time".into(), meta.created_time);
                out.insert("current_version".into(), meta.current_version.to_string());
                out.insert("delete_version_after".into(), meta.delete_version_after);
                Ok(out)
            }
            KvVersion::V1 => {
                let data = self.read_data(key, None).await?;
                Ok(match data.get("custom_metadata") {
                    Some(Value::Object(m)) => m
                        .iter()
                        .map(|(k, v)| {
                            let text = match v {
                                Value::String(s) => s.clone(),
                                other => other.to_string(),
                            };
                            (k.clone(), text)
                        })
                        .collect(),
                    _ => BTreeMap::new(),
                })
            }
        }
    }

    pub(crate) async fn fetch(&self, key: &FetchKey) -> Result<SecretValue> {
        if key.metadata_policy == MetadataPolicy::Fetch {
            if self.version == KvVersion::V1 {
                return Err(ProviderError::invalid_ref(
                    &key.key,
                    "cannot perform metadata fetch operations with kv version v1",
                ));
            }
            let metadata = self.read_metadata(&key.key).await?;
            let object: Data = metadata
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect();
            return Ok(SecretValue::from_text(go::marshal_object(&object)));
        }
        let data = self.read_data(&key.key, key.version.as_deref()).await?;
        Ok(SecretValue::from_text(go::marshal_object(&data)))
    }

    /// Every secret name under `folder` (relative to the mount), recursively.
    async fn list(&self, folder: String) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pending = vec![folder];
        while let Some(folder) = pending.pop() {
            let mount = self.mount.clone().expect("checked by find");
            let keys: Vec<String> = match self
                .call("ListSecrets", &folder, |c| {
                    let (mount, folder) = (mount.clone(), folder.clone());
                    let version = self.version;
                    async move {
                        match version {
                            KvVersion::V2 => kv2::list(c.data(), &mount, &folder).await,
                            KvVersion::V1 => kv1::list(c.data(), &mount, &folder)
                                .await
                                .map(|r| r.data.keys),
                        }
                    }
                })
                .await
            {
                Ok(keys) => keys,
                // An empty folder lists as 404.
                Err(ProviderError::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
            for key in keys {
                let full = format!("{folder}{key}");
                if key.ends_with('/') {
                    pending.push(full);
                } else {
                    names.push(full);
                }
            }
        }
        names.sort();
        Ok(names)
    }

    pub(crate) async fn find(&self, find: &FindRef) -> Result<SecretMap> {
        find.ensure_selective()?;
        if self.mount.is_none() {
            return Err(ProviderError::config(
                "vault: find needs the store's path (the KV mount) to list secrets",
            ));
        }
        if self.version == KvVersion::V1 && !find.tags.is_empty() && find.name_regexp.is_none() {
            return Err(ProviderError::config(
                "cannot perform find by tag operations with kv version v1",
            ));
        }
        let folder = match find.path.as_deref().map(|p| p.trim_matches('/')) {
            Some(p) if !p.is_empty() => format!("{p}/"),
            _ => String::new(),
        };
        let candidates = self.list(folder).await?;
        let matcher = find.matcher()?;
        let selected: Vec<Option<String>> = futures::stream::iter(candidates)
            .map(|name| {
                let matcher = matcher.clone();
                async move {
                    if let Some(re) = matcher {
                        return Ok::<_, ProviderError>(re.is_match(&name).then_some(name));
                    }
                    // ESO: with a name regexp, tags are not looked at.
                    let metadata = self.read_metadata(&name).await?;
                    let matches = find.tags.iter().all(|(k, v)| metadata.get(k) == Some(v));
                    Ok(matches.then_some(name))
                }
            })
            .buffered(FIND_CONCURRENCY)
            .try_collect()
            .await?;
        let reads: Vec<Option<(String, SecretValue)>> =
            futures::stream::iter(selected.into_iter().flatten())
                .map(|name| async move {
                    match self.read_data(&name, None).await {
                        Ok(data) => Ok(Some((
                            name,
                            SecretValue::from_text(go::marshal_object(&data)),
                        ))),
                        Err(ProviderError::NotFound { .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                })
                .buffered(FIND_CONCURRENCY)
                .try_collect()
                .await?;
        Ok(reads.into_iter().flatten().collect())
    }

    /// Reads the current data for a push/delete (`None` when absent) and, on KV v2, the
    /// version it was read at. Pushes merge into this data, so a check-and-set write must
    /// carry *this* version: if anyone wrote in between, Vault refuses the write instead of
    /// it silently dropping their change (the version is read first, then that version's
    /// data, so the two always match).
    async fn managed_data(&self, key: &str) -> Result<(Option<Current>, u32)> {
        if self.version == KvVersion::V1 {
            let data = match self.read_data(key, None).await {
                Ok(data) => data,
                Err(ProviderError::NotFound { .. }) => return Ok((None, 0)),
                Err(e) => return Err(e),
            };
            let metadata = self.read_metadata(key).await?;
            return Ok((Some((data, metadata)), 0));
        }
        let metadata = match self.read_metadata(key).await {
            Ok(metadata) => metadata,
            Err(ProviderError::NotFound { .. }) => return Ok((None, 0)),
            Err(e) => return Err(e),
        };
        let version: u32 = metadata
            .get("current_version")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if version == 0 {
            return Ok((None, 0));
        }
        match self.read_data(key, Some(&version.to_string())).await {
            Ok(data) => Ok((Some((data, metadata)), version)),
            // The latest version is deleted: absent, but a write must name that version.
            Err(ProviderError::NotFound { .. }) => Ok((None, version)),
            Err(e) => Err(e),
        }
    }

    fn is_managed(metadata: &BTreeMap<String, String>) -> bool {
        metadata.get(MANAGED_BY).map(String::as_str) == Some(EXTERNAL_SECRETS)
    }

    pub(crate) async fn push(&self, push: &PushRef, value: &SecretValue) -> Result<()> {
        let key = push.remote_key.as_str();
        let (existing, read_version) = self.managed_data(key).await?;
        let (mut current, metadata) = match existing {
            Some((data, metadata)) => {
                if !Self::is_managed(&metadata) {
                    return Err(ProviderError::Forbidden {
                        message: format!(
                            "secret {key:?} exists and is not managed by external-secrets (no custom_metadata {MANAGED_BY}={EXTERNAL_SECRETS}); refusing to overwrite it"
                        ),
                    });
                }
                (Some(data), Some(metadata))
            }
            None => (None, None),
        };
        if self.version == KvVersion::V1
            && let Some(data) = current.as_mut()
        {
            data.remove("custom_metadata");
        }
        let new_data: Data = match push.property() {
            Some(property) => {
                let text = value.expose_str().ok_or_else(|| {
                    ProviderError::invalid_ref(key, "a property push needs a UTF-8 value")
                })?;
                let mut data = current.clone().unwrap_or_default();
                match data.get(property) {
                    Some(Value::String(existing)) if existing == text => return Ok(()),
                    Some(Value::String(_)) | None => {}
                    Some(_) => {
                        return Err(ProviderError::invalid_ref(
                            key,
                            format!("error converting {property} to string"),
                        ));
                    }
                }
                data.insert(property.to_owned(), Value::String(text.to_owned()));
                data
            }
            None => {
                let incoming: Data = serde_json::from_slice(value.expose()).map_err(|_| {
                    ProviderError::invalid_ref(
                        key,
                        "error unmarshalling incoming secret value: invalid JSON format",
                    )
                })?;
                if current.as_ref() == Some(&incoming) {
                    return Ok(());
                }
                incoming
            }
        };
        let at = self.locate(key);
        match self.version {
            KvVersion::V1 => {
                let mut body: HashMap<String, Value> = new_data.into_iter().collect();
                body.insert(
                    "custom_metadata".into(),
                    serde_json::json!({ MANAGED_BY: EXTERNAL_SECRETS }),
                );
                self.call("WriteSecretData", key, |c| {
                    let (at, body) = (at.clone(), body.clone());
                    async move {
                        let refs: HashMap<&str, Value> =
                            body.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                        kv1::set(c.data(), &at.mount, &at.path, &refs).await
                    }
                })
                .await
            }
            KvVersion::V2 => {
                // Keep the custom metadata others set; add our mark.
                let mut custom: HashMap<String, String> = metadata
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "created_time" | "current_version" | "delete_version_after"
                        )
                    })
                    .collect();
                custom.insert(MANAGED_BY.into(), EXTERNAL_SECRETS.into());
                self.call("WriteSecretData", key, |c| {
                    let (at, custom) = (at.clone(), custom.clone());
                    async move {
                        let mut request = SetSecretMetadataRequestBuilder::default();
                        request.custom_metadata(custom);
                        kv2::set_metadata(c.data(), &at.mount, &at.path, Some(&mut request)).await
                    }
                })
                .await?;
                let cas = self.cas_required.then_some(read_version);
                self.call("WriteSecretData", key, |c| {
                    let (at, data) = (at.clone(), new_data.clone());
                    async move {
                        match cas {
                            Some(cas) => {
                                kv2::set_with_options(
                                    c.data(),
                                    &at.mount,
                                    &at.path,
                                    &data,
                                    SetSecretRequestOptions { cas },
                                )
                                .await
                            }
                            None => kv2::set(c.data(), &at.mount, &at.path, &data).await,
                        }
                    }
                })
                .await
                .map(|_| ())
            }
        }
    }

    pub(crate) async fn delete(&self, push: &PushRef) -> Result<()> {
        let key = push.remote_key.as_str();
        let (Some((mut data, metadata)), read_version) = self.managed_data(key).await? else {
            return Ok(());
        };
        if !Self::is_managed(&metadata) {
            return Ok(());
        }
        let at = self.locate(key);
        if let Some(property) = push.property() {
            data.shift_remove(property);
            if self.version == KvVersion::V1 && data.len() == 1 {
                data.remove("custom_metadata");
            }
            if !data.is_empty() {
                return self
                    .call("DeleteSecret", key, |c| {
                        let (at, data) = (at.clone(), data.clone());
                        let version = self.version;
                        // The remaining properties, with check-and-set when required.
                        let cas = self.cas_required.then_some(read_version);
                        async move {
                            match (version, cas) {
                                (KvVersion::V2, Some(cas)) => kv2::set_with_options(
                                    c.data(),
                                    &at.mount,
                                    &at.path,
                                    &data,
                                    SetSecretRequestOptions { cas },
                                )
                                .await
                                .map(|_| ()),
                                (KvVersion::V2, None) => {
                                    kv2::set(c.data(), &at.mount, &at.path, &data)
                                        .await
                                        .map(|_| ())
                                }
                                (KvVersion::V1, _) => {
                                    let refs: HashMap<&str, Value> =
                                        data.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
                                    kv1::set(c.data(), &at.mount, &at.path, &refs).await
                                }
                            }
                        }
                    })
                    .await;
            }
        }
        match self.version {
            KvVersion::V1 => {
                self.call("DeleteSecret", key, |c| {
                    let at = at.clone();
                    async move { kv1::delete(c.data(), &at.mount, &at.path).await }
                })
                .await
            }
            KvVersion::V2 => {
                self.call("DeleteSecret", key, |c| {
                    let at = at.clone();
                    async move { kv2::delete_latest(c.data(), &at.mount, &at.path).await }
                })
                .await?;
                self.call("DeleteSecret", key, |c| {
                    let at = at.clone();
                    async move { kv2::delete_metadata(c.data(), &at.mount, &at.path).await }
                })
                .await
            }
        }
    }

    pub(crate) async fn exists(&self, push: &PushRef) -> Result<bool> {
        match self.read_data(&push.remote_key, None).await {
            Ok(data) => Ok(push.property().is_none_or(|p| data.contains_key(p))),
            Err(ProviderError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(crate) async fn validate(&self) -> Result<()> {
        self.tokens.validate().await
    }

    pub(crate) async fn close(&self) {
        self.tokens.close().await;
    }
}

/// A session handle passed to one request; derefs to the data client.
struct VaultClientRef(std::sync::Arc<auth::Session>);

impl VaultClientRef {
    fn data(&self) -> &VaultClient {
        &self.0.data
    }
}
