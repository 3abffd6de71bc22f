//! PushSecret against Secrets Manager, as ESO does it: secrets we create carry the tag
//! `managed-by: external-secrets` (the same tag as ESO, so ownership survives a switch in
//! either direction) and a secret without it is never overwritten or deleted.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use serde::Deserialize;

use super::{AwsProvider, errors, get_secret_value};
use crate::error::{ProviderError, Result};
use crate::json::set::{self, SetError};
use crate::metrics::ProviderKind;
use crate::reference::PushRef;
use crate::value::SecretValue;

const MANAGED_BY: &str = "managed-by";
const EXTERNAL_SECRETS: &str = "external-secrets";
/// ESO's `ClientRequestToken` for the first version of a secret it creates.
const INITIAL_VERSION: &str = "00000000-0000-0000-0000-000000000001";
const METADATA_API_VERSION: &str = "kubernetes.external-secrets.io/v1alpha1";
const METADATA_KIND: &str = "PushSecretMetadata";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PushSecretMetadata {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    #[serde(default)]
    spec: PushSpec,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PushSpec {
    #[serde(default)]
    tags: BTreeMap<String, String>,
    description: Option<String>,
    secret_push_format: Option<String>,
    kms_key_id: Option<String>,
    resource_policy: Option<serde_json::Value>,
    replication_locations: Option<Vec<String>>,
}

/// ESO `constructMetadataWithDefaults`.
#[derive(Debug)]
struct PushOptions {
    /// The tags the user asked for (without `managed-by`).
    user_tags: BTreeMap<String, String>,
    description: String,
    as_string: bool,
    kms_key_id: String,
}

fn options(metadata: Option<&serde_json::Value>) -> Result<PushOptions> {
    let spec = match metadata {
        None => PushSpec::default(),
        Some(raw) => {
            let parsed: PushSecretMetadata = serde_json::from_value(raw.clone()).map_err(|e| {
                ProviderError::config(format!(
                    "failed to parse {METADATA_API_VERSION} {METADATA_KIND}: {e}"
                ))
            })?;
            if parsed.api_version != METADATA_API_VERSION {
                return Err(ProviderError::config(format!(
                    "unexpected apiVersion {:?}, expected {METADATA_API_VERSION:?}",
                    parsed.api_version
                )));
            }
            if parsed.kind != METADATA_KIND {
                return Err(ProviderError::config(format!(
                    "unexpected kind {:?}, expected {METADATA_KIND:?}",
                    parsed.kind
                )));
            }
            parsed.spec
        }
    };
    if spec.resource_policy.is_some() || spec.replication_locations.is_some() {
        return Err(ProviderError::config(
            "PushSecret metadata resourcePolicy and replicationLocations are not supported by sealbox",
        ));
    }
    if spec.tags.contains_key(MANAGED_BY) {
        return Err(ProviderError::config(format!(
            "error parsing tags in metadata: Cannot specify a '{MANAGED_BY}' tag"
        )));
    }
    let as_string = match spec.secret_push_format.as_deref() {
        None | Some("") | Some("binary") => false,
        Some("string") => true,
        Some(other) => {
            return Err(ProviderError::config(format!(
                "invalid secret push format: {other}"
            )));
        }
    };
    Ok(PushOptions {
        user_tags: spec.tags,
        description: spec
            .description
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| format!("secret '{MANAGED_BY}:{EXTERNAL_SECRETS}'")),
        as_string,
        kms_key_id: spec
            .kms_key_id
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "alias/aws/secretsmanager".to_owned()),
    })
}

fn is_managed(tags: &[Tag]) -> bool {
    tags.iter()
        .any(|t| t.key() == Some(MANAGED_BY) && t.value() == Some(EXTERNAL_SECRETS))
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// The value to write: the pushed value, or (with a property) the current JSON with the
/// property set as a string (ESO: `sjson.SetBytes`).
fn merged(
    remote_key: &str,
    property: Option<&str>,
    value: &SecretValue,
    current: Option<&SecretValue>,
) -> Result<SecretValue> {
    let Some(property) = property else {
        return Ok(value.clone());
    };
    let text = value.expose_str().ok_or_else(|| {
        ProviderError::invalid_ref(remote_key, "a property push needs a UTF-8 value")
    })?;
    let current_text = match current {
        None => String::new(),
        Some(c) => String::from_utf8_lossy(c.expose()).into_owned(),
    };
    set::set_string(&current_text, property, text)
        .map(SecretValue::from_text)
        .map_err(|e| match e {
            SetError::NotJson | SetError::NotAnObject(_) => ProviderError::invalid_ref(
                remote_key,
                "PushSecret for aws secrets manager with a pushSecretData property requires a json secret",
            ),
        })
}

pub(super) async fn push(
    provider: &AwsProvider,
    push: &PushRef,
    value: &SecretValue,
    metadata: Option<&serde_json::Value>,
) -> Result<()> {
    let options = options(metadata)?;
    let name = provider.full_name(&push.remote_key);
    let described = match provider.describe(&name).await {
        Ok(described) => described,
        Err(ProviderError::NotFound { .. }) => {
            let value = merged(&push.remote_key, push.property(), value, None)?;
            return create(provider, &name, &options, &value).await;
        }
        Err(e) => return Err(e),
    };
    if !is_managed(described.tags()) {
        return Err(ProviderError::Forbidden {
            message: format!(
                "secret {name:?} exists and is not managed by external-secrets (no '{MANAGED_BY}: {EXTERNAL_SECRETS}' tag); refusing to overwrite it"
            ),
        });
    }
    let has_versions = described
        .version_ids_to_stages()
        .is_some_and(|versions| !versions.is_empty());
    let current = if has_versions {
        Some(get_secret_value(&provider.client, &provider.metrics, &name, None).await?)
    } else {
        None
    };
    let new_value = merged(&push.remote_key, push.property(), value, current.as_ref())?;
    patch_tags(provider, &name, described.tags(), &options).await?;
    if current
        .as_ref()
        .is_some_and(|c| c.expose() == new_value.expose())
    {
        return Ok(());
    }
    put_value(provider, &name, &new_value, options.as_string).await
}

async fn create(
    provider: &AwsProvider,
    name: &str,
    options: &PushOptions,
    value: &SecretValue,
) -> Result<()> {
    let mut tags: Vec<Tag> = options.user_tags.iter().map(|(k, v)| tag(k, v)).collect();
    tags.push(tag(MANAGED_BY, EXTERNAL_SECRETS));
    let mut request = provider
        .client
        .create_secret()
        .name(name)
        .set_tags(Some(tags))
        .description(&options.description)
        .client_request_token(INITIAL_VERSION)
        .kms_key_id(&options.kms_key_id);
    request = if options.as_string {
        request.secret_string(String::from_utf8_lossy(value.expose()))
    } else {
        request.secret_binary(Blob::new(value.expose().to_vec()))
    };
    let response = request.send().await;
    provider
        .metrics
        .call(ProviderKind::Aws, "CreateSecret", &response);
    response.map(|_| ()).map_err(|e| errors::classify(name, e))
}

async fn put_value(
    provider: &AwsProvider,
    name: &str,
    value: &SecretValue,
    as_string: bool,
) -> Result<()> {
    // The SDK fills ClientRequestToken with a fresh UUID (an idempotency token).
    let request = provider.client.put_secret_value().secret_id(name);
    let request = if as_string {
        request.secret_string(String::from_utf8_lossy(value.expose()))
    } else {
        request.secret_binary(Blob::new(value.expose().to_vec()))
    };
    let response = request.send().await;
    provider
        .metrics
        .call(ProviderKind::Aws, "PutSecretValue", &response);
    response.map(|_| ()).map_err(|e| errors::classify(name, e))
}

/// ESO `patchTags`: only when the metadata names tags; drops tags no longer wanted and
/// sets the wanted ones (always keeping `managed-by`).
async fn patch_tags(
    provider: &AwsProvider,
    name: &str,
    current: &[Tag],
    options: &PushOptions,
) -> Result<()> {
    if options.user_tags.is_empty() {
        return Ok(());
    }
    let current: BTreeMap<&str, &str> = current
        .iter()
        .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default())))
        .collect();
    let remove: Vec<String> = current
        .keys()
        .filter(|k| **k != MANAGED_BY && !options.user_tags.contains_key(**k))
        .map(|k| (*k).to_owned())
        .collect();
    if !remove.is_empty() {
        let response = provider
            .client
            .untag_resource()
            .secret_id(name)
            .set_tag_keys(Some(remove))
            .send()
            .await;
        provider
            .metrics
            .call(ProviderKind::Aws, "UntagResource", &response);
        response.map_err(|e| errors::classify(name, e))?;
    }
    let changed = options
        .user_tags
        .iter()
        .any(|(k, v)| current.get(k.as_str()) != Some(&v.as_str()));
    if changed {
        let mut tags: Vec<Tag> = options.user_tags.iter().map(|(k, v)| tag(k, v)).collect();
        tags.push(tag(MANAGED_BY, EXTERNAL_SECRETS));
        let response = provider
            .client
            .tag_resource()
            .secret_id(name)
            .set_tags(Some(tags))
            .send()
            .await;
        provider
            .metrics
            .call(ProviderKind::Aws, "TagResource", &response);
        response.map_err(|e| errors::classify(name, e))?;
    }
    Ok(())
}

/// ESO `DeleteSecret`: nothing to do when the secret is gone or not ours. With a
/// property, only that property is removed (ESO deletes the whole secret even then,
/// which loses the other properties; the secret is deleted once it is empty).
pub(super) async fn delete(provider: &AwsProvider, push: &PushRef) -> Result<()> {
    let name = provider.full_name(&push.remote_key);
    let current = match get_secret_value(&provider.client, &provider.metrics, &name, None).await {
        Ok(current) => current,
        Err(ProviderError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    let described = provider.describe(&name).await?;
    if !is_managed(described.tags()) {
        return Ok(());
    }
    if let Some(property) = push.property() {
        let text = String::from_utf8_lossy(current.expose());
        match set::remove(&text, property) {
            Ok(Some(rest)) => {
                let rest = SecretValue::from_text(rest);
                if rest.expose() == current.expose() {
                    return Ok(());
                }
                let as_string = current.expose_str().is_some();
                return put_value(provider, &name, &rest, as_string).await;
            }
            Ok(None) => {}
            Err(_) => {
                return Err(ProviderError::invalid_ref(
                    &push.remote_key,
                    "cannot remove a property: the remote secret is not a JSON object",
                ));
            }
        }
    }
    let mut request = provider.client.delete_secret().secret_id(&name);
    if provider.force_delete_without_recovery {
        request = request.force_delete_without_recovery(true);
    }
    if let Some(days) = provider.recovery_window_in_days {
        request = request.recovery_window_in_days(days);
    }
    let response = request.send().await;
    provider
        .metrics
        .call(ProviderKind::Aws, "DeleteSecret", &response);
    response.map(|_| ()).map_err(|e| errors::classify(&name, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_defaults_and_validation_follow_eso() {
        let o = options(None).unwrap();
        assert!(!o.as_string);
        assert_eq!(o.description, "secret 'managed-by:external-secrets'");
        assert_eq!(o.kms_key_id, "alias/aws/secretsmanager");
        let meta = json!({"apiVersion": METADATA_API_VERSION, "kind": METADATA_KIND,
            "spec": {"secretPushFormat": "string", "tags": {"team": "core"}}});
        let o = options(Some(&meta)).unwrap();
        assert!(o.as_string);
        assert_eq!(o.user_tags.get("team").map(String::as_str), Some("core"));
        let bad_kind = json!({"apiVersion": METADATA_API_VERSION, "kind": "Other"});
        assert!(
            options(Some(&bad_kind))
                .unwrap_err()
                .to_string()
                .contains("unexpected kind")
        );
        let managed = json!({"apiVersion": METADATA_API_VERSION, "kind": METADATA_KIND,
            "spec": {"tags": {"managed-by": "me"}}});
        assert!(options(Some(&managed)).is_err());
        let unknown = json!({"apiVersion": METADATA_API_VERSION, "kind": METADATA_KIND,
            "spec": {"colour": "blue"}});
        assert!(options(Some(&unknown)).is_err());
        let format = json!({"apiVersion": METADATA_API_VERSION, "kind": METADATA_KIND,
            "spec": {"secretPushFormat": "yaml"}});
        assert!(options(Some(&format)).is_err());
    }
}
