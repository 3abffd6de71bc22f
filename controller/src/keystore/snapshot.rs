//! An immutable view of the sealing keys at one moment: the keyring plus one MAC key per
//! sealing key. Readers (reconciles, HTTP handlers) take an `Arc` of it and never block
//! key reloads; a reload builds a new snapshot and swaps it in.

use std::collections::HashMap;
use std::fmt;

use k8s_openapi::api::core::v1::Secret;
use sealbox_keys::sealing::backup::{ImportError, import_keys};
use sealbox_keys::sealing::{KeyId, Keyring, SealingKey};
use zeroize::Zeroizing;

use crate::reconcile::bookkeeping::MacKey;

/// Which time orders the sealing keys (`--key-order-priority`): the newest key seals,
/// serves `/v1/cert` and times the next renewal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeyOrder {
    /// The certificate's NotBefore (Bitnami's default, `CertNotBefore`).
    #[default]
    CertNotBefore,
    /// The key Secret's `metadata.creationTimestamp` (`SecretCreationTimestamp`): for
    /// certificates re-issued or imported with NotBefore dates that do not say which key is
    /// the newest. A Secret without one (only possible outside an API server) keeps NotBefore.
    SecretCreationTimestamp,
}

/// The keys in use.
#[derive(Default)]
pub struct KeySnapshot {
    keyring: Keyring,
    mac_keys: HashMap<KeyId, MacKey>,
    /// Secret names whose key could not be read (with the reason), for status/logs.
    rejected: Vec<(String, String)>,
}

impl fmt::Debug for KeySnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySnapshot")
            .field("keyring", &self.keyring)
            .field("rejected", &self.rejected)
            .finish()
    }
}

impl KeySnapshot {
    /// A snapshot of these keys.
    pub fn from_keys(keys: impl IntoIterator<Item = SealingKey>) -> KeySnapshot {
        let keyring = Keyring::from_keys(keys);
        let mac_keys = keyring
            .iter()
            .map(|k| (k.key_id().clone(), MacKey::derive(k.private_key())))
            .collect();
        KeySnapshot {
            keyring,
            mac_keys,
            rejected: Vec::new(),
        }
    }

    /// Read every key Secret, ordered by `order`; unreadable ones are skipped and listed in
    /// [`KeySnapshot::rejected`] (one bad Secret must not take the other keys down).
    pub fn from_secrets<'a>(
        secrets: impl IntoIterator<Item = &'a Secret>,
        order: KeyOrder,
    ) -> KeySnapshot {
        let mut keys = Vec::new();
        let mut rejected = Vec::new();
        for secret in secrets {
            let name = secret.metadata.name.clone().unwrap_or_default();
            match key_from_secret(secret) {
                Ok(key) => keys.push(match (order, &secret.metadata.creation_timestamp) {
                    (KeyOrder::SecretCreationTimestamp, Some(created)) => {
                        key.with_ordering_time(created.0)
                    }
                    _ => key,
                }),
                Err(reason) => rejected.push((name, reason)),
            }
        }
        let mut snapshot = KeySnapshot::from_keys(keys);
        snapshot.rejected = rejected;
        snapshot
    }

    /// The keyring (newest first).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The MAC key of a sealing key.
    pub fn mac_key(&self, id: &KeyId) -> Option<&MacKey> {
        self.mac_keys.get(id)
    }

    /// Key Secrets that could not be used, with why.
    pub fn rejected(&self) -> &[(String, String)] {
        &self.rejected
    }
}

/// A Bitnami key Secret (`tls.key` PKCS#1 or PKCS#8 PEM, `tls.crt`) as a sealing key.
pub fn key_from_secret(secret: &Secret) -> Result<SealingKey, String> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    // The import code reads Secrets as manifests; the text holds the private key, so it is
    // wiped after parsing.
    let text = Zeroizing::new(
        serde_json::to_string(&secret_for_import(secret)).map_err(|e| e.to_string())?,
    );
    let mut imported = import_keys(&text).map_err(|e: ImportError| e.to_string())?;
    let key = imported
        .pop()
        .ok_or_else(|| "no private key in data[\"tls.key\"]".to_owned())?;
    let certificate = key.certificate.ok_or_else(|| {
        "data[\"tls.crt\"] is missing: a sealing key Secret needs the certificate next to the key"
            .to_owned()
    })?;
    SealingKey::new(name, key.private, certificate).map_err(|e| e.to_string())
}

/// Only what the importer reads: kind, name, data.
fn secret_for_import(secret: &Secret) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": secret.metadata.name},
        "data": secret.data,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn key_secret(name: &str, key: &str, cert: Option<&str>) -> Secret {
        let mut data =
            BTreeMap::from([("tls.key".to_owned(), ByteString(key.as_bytes().to_vec()))]);
        if let Some(cert) = cert {
            data.insert("tls.crt".into(), ByteString(cert.as_bytes().to_vec()));
        }
        Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            data: Some(data),
            type_: Some("kubernetes.io/tls".into()),
            ..Default::default()
        }
    }

    const KEY0: &str = include_str!("../../../tests/fixtures/sealed-secrets/sealing-key-0.key.pem");
    const CERT0: &str =
        include_str!("../../../tests/fixtures/sealed-secrets/sealing-key-0.cert.pem");
    const KEY1: &str = include_str!("../../../tests/fixtures/sealed-secrets/sealing-key-1.key.pem");
    const CERT1: &str =
        include_str!("../../../tests/fixtures/sealed-secrets/sealing-key-1.cert.pem");

    #[test]
    fn bitnami_key_secrets_load_newest_first_and_bad_ones_are_reported() {
        let secrets = [
            key_secret("sealed-secrets-keyaaaaa", KEY0, Some(CERT0)),
            key_secret("sealed-secrets-keybbbbb", KEY1, Some(CERT1)),
            key_secret("sealed-secrets-keyccccc", KEY1, None),
            key_secret("sealed-secrets-keyddddd", "not pem", Some(CERT1)),
        ];
        let snap = KeySnapshot::from_secrets(&secrets, KeyOrder::CertNotBefore);
        assert_eq!(snap.keyring().len(), 2);
        let newest = snap.keyring().newest().unwrap();
        assert_eq!(
            newest.key_id().as_str(),
            "SHA256:l9rNRMyw3xD9BR+9byPMAEV/7GdT/ps+EOl8WEFhcWY"
        );
        assert!(snap.mac_key(newest.key_id()).is_some());
        let rejected: Vec<&str> = snap.rejected().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            rejected,
            vec!["sealed-secrets-keyccccc", "sealed-secrets-keyddddd"]
        );
        let debug = format!("{snap:?}");
        assert!(!debug.contains("MII"), "Debug leaks key material");
        for (_, reason) in snap.rejected() {
            assert!(
                !reason.contains("MII"),
                "reason leaks key material: {reason}"
            );
        }
    }

    #[test]
    fn secret_creation_timestamp_order_picks_the_most_recently_created_secret() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
        let created = |mut secret: Secret, second: i64| {
            secret.metadata.creation_timestamp =
                Some(Time(jiff::Timestamp::from_second(second).unwrap()));
            secret
        };
        let by_cert = KeySnapshot::from_secrets(
            &[
                key_secret("sealed-secrets-keyaaaaa", KEY0, Some(CERT0)),
                key_secret("sealed-secrets-keybbbbb", KEY1, Some(CERT1)),
            ],
            KeyOrder::CertNotBefore,
        );
        let newest_cert = by_cert.keyring().newest().unwrap().name().to_owned();
        let oldest_cert = by_cert.keyring().iter().last().unwrap().name().to_owned();
        assert_ne!(newest_cert, oldest_cert);
        // The Secret holding the older certificate was created last.
        let secrets: Vec<Secret> = [
            ("sealed-secrets-keyaaaaa", KEY0, CERT0),
            ("sealed-secrets-keybbbbb", KEY1, CERT1),
        ]
        .into_iter()
        .map(|(name, key, cert)| {
            let when = if name == oldest_cert {
                2_000_000_000
            } else {
                1_900_000_000
            };
            created(key_secret(name, key, Some(cert)), when)
        })
        .collect();
        let by_creation = KeySnapshot::from_secrets(&secrets, KeyOrder::SecretCreationTimestamp);
        assert_eq!(by_creation.keyring().newest().unwrap().name(), oldest_cert);
        let same = KeySnapshot::from_secrets(&secrets, KeyOrder::CertNotBefore);
        assert_eq!(same.keyring().newest().unwrap().name(), newest_cert);
    }
}
