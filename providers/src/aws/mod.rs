//! AWS Secrets Manager (ESO `spec.provider.aws` with `service: SecretsManager`).
//!
//! Reads follow ESO's `providers/v1/aws/secretsmanager`: `prefix` + key, `version` as a
//! stage or `uuid/<VersionId>`, `SecretString` else `SecretBinary`, `metadataPolicy:
//! Fetch` = the tags as a JSON object, `find` by name regexp / tags / path. Unlike ESO,
//! reads of the current version go through a batcher ([`batch`]) and `find` by name
//! reads its matches in batches instead of one `GetSecretValue` each.

mod batch;
mod errors;
mod push;

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{
    Credentials, ProvideCredentials, Region, SharedCredentialsProvider,
};
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretValueEntry};
use secrecy::{ExposeSecret, SecretString};

pub use batch::{BatchConfig, MAX_BATCH_IDS};

use self::batch::Batcher;
use crate::error::{ProviderError, Result};
use crate::json::go;
use crate::metrics::{Metrics, ProviderKind};
use crate::provider::FetchKey;
use crate::reference::{FindRef, MetadataPolicy, PushRef};
use crate::value::{SecretMap, SecretValue};

/// How the store authenticates (ESO `auth`).
#[derive(Debug, Clone, Default)]
pub enum AwsAuth {
    /// ESO `auth.secretRef`: keys resolved from the referenced Kubernetes Secret.
    Static {
        access_key_id: String,
        secret_access_key: SecretString,
        session_token: Option<SecretString>,
    },
    /// No `auth`: the SDK's default chain (environment, web identity / IRSA, profile,
    /// container and instance metadata).
    #[default]
    DefaultChain,
}

/// ESO `spec.provider.aws` (Secrets Manager).
#[derive(Debug, Clone, Default)]
pub struct AwsConfig {
    /// `region` (required).
    pub region: String,
    /// `auth`.
    pub auth: AwsAuth,
    /// `role`: assumed (after `additional_roles`) with `external_id` and `session_tags`.
    pub role: Option<String>,
    /// `additionalRoles`: assumed in order, before `role`.
    pub additional_roles: Vec<String>,
    /// `externalID` for assuming `role`.
    pub external_id: Option<String>,
    /// `sessionTags` for assuming `role`.
    pub session_tags: Vec<(String, String)>,
    /// `prefix`: prepended to every key (reads, pushes, deletes).
    pub prefix: String,
    /// Secrets Manager endpoint override. When `None`, the SDK honours
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER` and `AWS_ENDPOINT_URL`.
    pub endpoint_url: Option<String>,
    /// STS endpoint override for role assumption (else `AWS_ENDPOINT_URL_STS` /
    /// `AWS_ENDPOINT_URL` / the regional endpoint).
    pub sts_endpoint_url: Option<String>,
    /// `secretsManager.forceDeleteWithoutRecovery` (PushSecret deletion).
    pub force_delete_without_recovery: bool,
    /// `secretsManager.recoveryWindowInDays` (7–30; PushSecret deletion).
    pub recovery_window_in_days: Option<i64>,
    /// Read batching.
    pub batching: BatchConfig,
    /// Per-attempt timeout of one API call (default 10 s).
    pub attempt_timeout: Option<Duration>,
}

/// A connected Secrets Manager store.
#[derive(Debug)]
pub(crate) struct AwsProvider {
    client: Client,
    credentials: SharedCredentialsProvider,
    batcher: Arc<Batcher>,
    prefix: String,
    force_delete_without_recovery: bool,
    recovery_window_in_days: Option<i64>,
    metrics: Metrics,
}

impl AwsProvider {
    pub(crate) async fn connect(config: AwsConfig, metrics: Metrics) -> Result<Self> {
        if config.region.trim().is_empty() {
            return Err(ProviderError::config("aws: region is required"));
        }
        if config.force_delete_without_recovery && config.recovery_window_in_days.is_some() {
            return Err(ProviderError::config(
                "aws: secretsManager.forceDeleteWithoutRecovery and recoveryWindowInDays are mutually exclusive",
            ));
        }
        if let Some(days) = config.recovery_window_in_days
            && !(7..=30).contains(&days)
        {
            return Err(ProviderError::config(format!(
                "aws: secretsManager.recoveryWindowInDays must be between 7 and 30, got {days}"
            )));
        }
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(config.attempt_timeout.unwrap_or(Duration::from_secs(10)))
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .timeout_config(timeouts);
        if let AwsAuth::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } = &config.auth
        {
            loader = loader.credentials_provider(Credentials::new(
                access_key_id.clone(),
                secret_access_key.expose_secret().to_owned(),
                session_token.as_ref().map(|t| t.expose_secret().to_owned()),
                None,
                "sealbox-static",
            ));
        }
        let base = loader.load().await;
        let mut credentials = base.credentials_provider().ok_or_else(|| {
            ProviderError::config("aws: no credentials provider could be configured")
        })?;

        let sts_config = match &config.sts_endpoint_url {
            Some(url) => base.to_builder().endpoint_url(url).build(),
            None => base.clone(),
        };
        for role in &config.additional_roles {
            let provider = AssumeRoleProvider::builder(role)
                .session_name("sealbox")
                .configure(&sts_config)
                .build_from_provider(credentials.clone())
                .await;
            credentials = SharedCredentialsProvider::new(provider);
        }
        if let Some(role) = &config.role {
            let mut builder = AssumeRoleProvider::builder(role)
                .session_name("sealbox")
                .configure(&sts_config);
            if let Some(id) = &config.external_id {
                builder = builder.external_id(id);
            }
            if !config.session_tags.is_empty() {
                builder = builder.tags(config.session_tags.iter().cloned());
            }
            credentials = SharedCredentialsProvider::new(
                builder.build_from_provider(credentials.clone()).await,
            );
        }

        let mut sm = aws_sdk_secretsmanager::config::Builder::from(&base)
            .credentials_provider(credentials.clone());
        if let Some(url) = &config.endpoint_url {
            sm = sm.endpoint_url(url);
        }
        let client = Client::from_conf(sm.build());
        let batcher = Batcher::new(client.clone(), metrics.clone(), &config.batching);
        Ok(Self {
            client,
            credentials,
            batcher,
            prefix: config.prefix,
            force_delete_without_recovery: config.force_delete_without_recovery,
            recovery_window_in_days: config.recovery_window_in_days,
            metrics,
        })
    }

    fn full_name(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub(crate) async fn fetch(&self, key: &FetchKey) -> Result<SecretValue> {
        let name = self.full_name(&key.key);
        if key.metadata_policy == MetadataPolicy::Fetch {
            return self.tags_as_json(&name).await;
        }
        match key.version.as_deref() {
            None | Some("AWSCURRENT") => self.batcher.get(name).await,
            Some(version) => {
                get_secret_value(&self.client, &self.metrics, &name, Some(version)).await
            }
        }
    }

    /// ESO `metadataPolicy: Fetch`: `DescribeSecret` tags as a JSON object string.
    async fn tags_as_json(&self, name: &str) -> Result<SecretValue> {
        let described = self.describe(name).await?;
        let tags: serde_json::Map<String, serde_json::Value> = described
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or_default().to_owned(),
                    serde_json::Value::String(t.value().unwrap_or_default().to_owned()),
                )
            })
            .collect();
        Ok(SecretValue::from_text(go::marshal_object(&tags)))
    }

    async fn describe(
        &self,
        name: &str,
    ) -> Result<aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput> {
        let response = self.client.describe_secret().secret_id(name).send().await;
        self.metrics
            .call(ProviderKind::Aws, "DescribeSecret", &response);
        response.map_err(|e| errors::classify(name, e))
    }

    /// ESO `GetAllSecrets`: remote secret name → value.
    pub(crate) async fn find(&self, find: &FindRef) -> Result<SecretMap> {
        find.ensure_selective()?;
        let matcher = find.matcher()?;
        if !find.tags.is_empty() || find.path.is_some() {
            // Server-side filters, values in the same call (ESO does the same here).
            let mut filters = Vec::new();
            for (key, value) in &find.tags {
                filters.push(filter(FilterNameStringType::TagKey, key));
                filters.push(filter(FilterNameStringType::TagValue, value));
            }
            if let Some(path) = &find.path {
                filters.push(filter(FilterNameStringType::Name, path));
            }
            let mut found = SecretMap::new();
            let mut next_token: Option<String> = None;
            loop {
                let response = self
                    .client
                    .batch_get_secret_value()
                    .set_filters(Some(filters.clone()))
                    .set_next_token(next_token.take())
                    .send()
                    .await;
                self.metrics
                    .call(ProviderKind::Aws, "BatchGetSecretValue", &response);
                let output = response.map_err(|e| errors::classify("find", e))?;
                for entry in output.secret_values() {
                    let Some(name) = entry.name() else { continue };
                    if matcher.as_ref().is_some_and(|re| !re.is_match(name)) {
                        continue;
                    }
                    if let Some(value) = payload_of_entry(entry) {
                        found.insert(name.to_owned(), value);
                    }
                }
                match output.next_token() {
                    Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                    _ => break,
                }
            }
            return Ok(found);
        }

        // Name regexp only: list names, then read the matches. ESO reads each match
        // with its own GetSecretValue; we send them through the batcher (20 per call).
        let matcher = matcher.expect("ensure_selective: no tags means a name regexp");
        let mut names = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let response = self
                .client
                .list_secrets()
                .set_next_token(next_token.take())
                .send()
                .await;
            self.metrics
                .call(ProviderKind::Aws, "ListSecrets", &response);
            let output = response.map_err(|e| errors::classify("find", e))?;
            names.extend(
                output
                    .secret_list()
                    .iter()
                    .filter_map(|s| s.name())
                    .filter(|name| matcher.is_match(name))
                    .map(str::to_owned),
            );
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        let reads =
            futures::future::join_all(names.iter().map(|name| self.batcher.get(name.clone())))
                .await;
        let mut found = SecretMap::new();
        for (name, read) in names.into_iter().zip(reads) {
            match read {
                Ok(value) => {
                    found.insert(name, value);
                }
                // Deleted between the listing and the read: not part of the result.
                Err(ProviderError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// The store's `Valid` condition: credentials can be obtained (and the role assumed).
    pub(crate) async fn validate(&self) -> Result<()> {
        match self.credentials.provide_credentials().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = errors::chain(&e);
                let lowered = text.to_lowercase();
                if lowered.contains("timed out")
                    || lowered.contains("dispatch")
                    || lowered.contains("connect")
                {
                    Err(ProviderError::Unavailable { message: text })
                } else {
                    Err(ProviderError::Forbidden { message: text })
                }
            }
        }
    }

    pub(crate) async fn push(
        &self,
        push: &PushRef,
        value: &SecretValue,
        metadata: Option<&serde_json::Value>,
    ) -> Result<()> {
        push::push(self, push, value, metadata).await
    }

    pub(crate) async fn delete(&self, push: &PushRef) -> Result<()> {
        push::delete(self, push).await
    }

    pub(crate) async fn exists(&self, push: &PushRef) -> Result<bool> {
        let name = self.full_name(&push.remote_key);
        match get_secret_value(&self.client, &self.metrics, &name, None).await {
            Ok(_) => Ok(true),
            Err(ProviderError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn filter(key: FilterNameStringType, value: &str) -> Filter {
    Filter::builder().key(key).values(value).build()
}

/// `GetSecretValue` of `name` at `version` (stage, or `uuid/<VersionId>`; `None` =
/// AWSCURRENT).
pub(crate) async fn get_secret_value(
    client: &Client,
    metrics: &Metrics,
    name: &str,
    version: Option<&str>,
) -> Result<SecretValue> {
    let mut request = client.get_secret_value().secret_id(name);
    request = match version {
        Some(v) => match v.strip_prefix("uuid/") {
            Some(id) => request.version_id(id),
            None => request.version_stage(v),
        },
        None => request,
    };
    let response = request.send().await;
    metrics.call(ProviderKind::Aws, "GetSecretValue", &response);
    let output = response.map_err(|e| errors::classify(name, e))?;
    if let Some(text) = output.secret_string() {
        return Ok(SecretValue::new(text.as_bytes().to_vec()));
    }
    if let Some(blob) = output.secret_binary() {
        return Ok(SecretValue::new(blob.as_ref().to_vec()));
    }
    Err(ProviderError::backend(format!(
        "invalid secret received: no secret string nor binary for key {name:?}"
    )))
}

/// The payload of a batch entry: `SecretString`, else `SecretBinary`.
pub(crate) fn payload_of_entry(entry: &SecretValueEntry) -> Option<SecretValue> {
    if let Some(text) = entry.secret_string() {
        return Some(SecretValue::new(text.as_bytes().to_vec()));
    }
    entry
        .secret_binary()
        .map(|blob| SecretValue::new(blob.as_ref().to_vec()))
}
