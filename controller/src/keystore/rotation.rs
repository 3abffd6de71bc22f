//! Making new sealing keys: on first start, every `--key-renew-period` (30 days), when the
//! newest key predates `--key-cutoff-time`, and on demand (SIGUSR1).
//!
//! Safe with several replicas, with or without leader election: a scheduled key's Secret
//! name is derived from what every replica sees alike (prefix, namespace, the newest key
//! and the instant the new key is due), and it is *created*, never updated. Two replicas
//! due at the same moment both try the same name; the API server accepts one and answers
//! the other 409 AlreadyExists, which means "another replica did it". The key watch then
//! brings the winner's key to everyone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use sealbox_keys::sealing::backup::{ManifestFormat, key_secret};
use sealbox_keys::sealing::{CertificateOptions, KeyId, RotationPolicy, SealingKey};
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};
use thiserror::Error;
use tokio::sync::mpsc;

use super::KeyStore;

/// The characters the API server uses for `generateName` suffixes.
const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// How new keys are made and stored.
#[derive(Clone, Debug)]
pub struct RotationConfig {
    /// Namespace of the key Secrets.
    pub namespace: String,
    /// Renewal period, cutoff, TTL, size, name prefix.
    pub policy: RotationPolicy,
    /// `--my-cn`: certificate subject/issuer CN (empty DN when `None`).
    pub common_name: Option<String>,
    /// `--privatekey-labels`.
    pub labels: BTreeMap<String, String>,
    /// `--privatekey-annotations`.
    pub annotations: BTreeMap<String, String>,
}

/// Creating a key failed.
#[derive(Debug, Error)]
pub enum RotationError {
    /// Key or certificate generation failed.
    #[error("generating a sealing key: {0}")]
    Generate(String),
    /// The API server refused the key Secret.
    #[error("creating key Secret {name}: {source}")]
    Create {
        /// Secret name.
        name: String,
        /// Client error.
        source: kube::Error,
    },
}

/// The Secret name of the key due at `due` after `newest`: `<prefix>` + 5 characters
/// every replica computes alike.
pub fn scheduled_name(
    prefix: &str,
    namespace: &str,
    newest: Option<&KeyId>,
    due: Timestamp,
) -> String {
    let mut h = Sha256::new();
    h.update(b"sealbox.io/key-name/v1\0");
    h.update(namespace.as_bytes());
    h.update(b"\0");
    h.update(prefix.as_bytes());
    h.update(b"\0");
    h.update(newest.map(KeyId::as_str).unwrap_or("").as_bytes());
    h.update(b"\0");
    h.update(due.as_second().to_be_bytes());
    let digest = h.finalize();
    let suffix: String = digest
        .iter()
        .take(5)
        .map(|b| char::from(SUFFIX_ALPHABET[usize::from(*b) % SUFFIX_ALPHABET.len()]))
        .collect();
    format!("{prefix}{suffix}")
}

/// Outcome of one creation attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// Our key Secret was stored.
    Created(String),
    /// A Secret of that name exists already (another replica made this period's key).
    AlreadyExists(String),
}

/// Generate a key valid from `not_before` and store it as Secret `name` (create-only).
pub async fn create_key(
    client: &kube::Client,
    config: &RotationConfig,
    name: String,
    not_before: Timestamp,
) -> Result<Created, RotationError> {
    let options = CertificateOptions {
        not_before,
        ttl: config.policy.key_ttl,
        common_name: config.common_name.clone(),
    };
    let size = config.policy.key_size;
    let key_name = name.clone();
    // RSA key generation takes seconds at 4096 bits: keep it off the async threads.
    let key = tokio::task::spawn_blocking(move || SealingKey::generate(key_name, size, &options))
        .await
        .map_err(|e| RotationError::Generate(e.to_string()))?
        .map_err(|e| RotationError::Generate(e.to_string()))?;
    let manifest = key_secret(&key, &config.namespace, ManifestFormat::Json);
    let mut secret: Secret = serde_json::from_str(manifest.expose_secret())
        .map_err(|e| RotationError::Generate(format!("key Secret does not parse: {e}")))?;
    secret.metadata.creation_timestamp = None;
    let labels = secret.metadata.labels.get_or_insert_with(BTreeMap::new);
    for (k, v) in &config.labels {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if !config.annotations.is_empty() {
        secret.metadata.annotations = Some(config.annotations.clone());
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), &config.namespace);
    let params = PostParams {
        field_manager: Some(crate::apply::FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    };
    match api.create(&params, &secret).await {
        Ok(_) => {
            tracing::info!(secret = %name, key = %key.key_id(), "created a new sealing key");
            Ok(Created::Created(name))
        }
        Err(kube::Error::Api(s)) if s.code == 409 && s.reason == "AlreadyExists" => {
            tracing::info!(secret = %name, "this period's key was already created (by another replica)");
            Ok(Created::AlreadyExists(name))
        }
        Err(source) => Err(RotationError::Create { name, source }),
    }
}

/// Keep keys renewed forever. `manual` receives requests for an immediate new key
/// (SIGUSR1, like Bitnami).
pub async fn run(
    client: kube::Client,
    config: RotationConfig,
    keystore: Arc<KeyStore>,
    mut manual: mpsc::Receiver<()>,
) {
    let mut changes = keystore.subscribe();
    while !keystore.is_loaded() {
        if changes.changed().await.is_err() {
            return;
        }
    }
    loop {
        let snapshot = keystore.snapshot();
        let now = Timestamp::now();
        let due = config.policy.next_due(snapshot.keyring());
        let newest = snapshot.keyring().newest().map(|k| k.key_id().clone());
        if let Some(due) = due
            && due <= now
        {
            let name = scheduled_name(
                &config.policy.name_prefix,
                &config.namespace,
                newest.as_ref(),
                due,
            );
            match create_key(&client, &config, name, now).await {
                Ok(_) => {
                    // Wait for the watch to bring the key in before deciding again.
                    let _ = tokio::time::timeout(Duration::from_secs(30), changes.changed()).await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "key renewal failed; retrying in 30s");
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
            continue;
        }
        let wait = due
            .map(|d| {
                let secs = (d.as_second() - now.as_second()).max(1);
                Duration::from_secs(u64::try_from(secs).unwrap_or(u64::MAX))
            })
            .unwrap_or(Duration::from_secs(86_400 * 365));
        if let Some(due) = due {
            tracing::info!(next_key_at = %due, "next sealing key scheduled");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = changes.changed() => if changed.is_err() { return },
            request = manual.recv() => {
                if request.is_none() {
                    // No more manual triggers; keep the schedule.
                    manual = mpsc::channel(1).1;
                    continue;
                }
                let name = SealingKey::generate_name(&config.policy.name_prefix);
                if let Err(e) = create_key(&client, &config, name, Timestamp::now()).await {
                    tracing::error!(error = %e, "requested key renewal failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_names_agree_across_replicas_and_differ_per_period() {
        let due = Timestamp::from_second(1_800_000_000).unwrap();
        let id: KeyId = "SHA256:l9rNRMyw3xD9BR+9byPMAEV/7GdT/ps+EOl8WEFhcWY"
            .parse()
            .unwrap();
        let a = scheduled_name("sealed-secrets-key", "kube-system", Some(&id), due);
        let b = scheduled_name("sealed-secrets-key", "kube-system", Some(&id), due);
        assert_eq!(a, b);
        assert!(a.starts_with("sealed-secrets-key"));
        assert_eq!(a.len(), "sealed-secrets-key".len() + 5);
        assert!(
            a["sealed-secrets-key".len()..]
                .bytes()
                .all(|c| SUFFIX_ALPHABET.contains(&c))
        );
        let later = due
            .checked_add(jiff::SignedDuration::from_hours(720))
            .unwrap();
        assert_ne!(
            a,
            scheduled_name("sealed-secrets-key", "kube-system", Some(&id), later)
        );
        assert_ne!(
            a,
            scheduled_name("sealed-secrets-key", "kube-system", None, due)
        );
    }
}
