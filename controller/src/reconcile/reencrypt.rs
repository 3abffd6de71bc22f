//! Re-encrypt a SealedSecret to the newest sealing key (`POST /v1/rotate`,
//! `sealbox seal --re-encrypt`), and the `/v1/verify` check.
//!
//! Upstream re-seals the *unsealed Secret*, which bakes rendered `template.data` into
//! `encryptedData` and needs the template metadata copied back to keep the scope. Here
//! every sealed value is re-sealed in place under the same label, so the scope, the
//! template (including `template.data`) and everything else stay exactly as they were;
//! only the ciphertexts change. The object must open completely first: a SealedSecret
//! that does not unseal is refused, not partially rotated.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use rand::rngs::OsRng;
use sealbox_keys::sealing::{Keyring, Label, OpenError, SealError, envelope};
use thiserror::Error;

use crate::api::{SealedSecret, UnsealError, UnsealOptions, unseal};

/// Re-encryption failed.
#[derive(Debug, Error)]
pub enum ReencryptError {
    /// There is no key to seal to.
    #[error("no sealing key is loaded")]
    NoKey,
    /// The object does not unseal (upstream's wording).
    #[error("error decrypting secret. {0}")]
    Unseal(#[from] UnsealError),
    /// A value could not be opened (should not happen after a full unseal).
    #[error("error decrypting secret. {key}: {source}")]
    Open {
        /// encryptedData key.
        key: String,
        /// Why.
        source: OpenError,
    },
    /// Sealing failed.
    #[error("error creating new sealed secret. {0}")]
    Seal(#[from] SealError),
}

/// Whether a SealedSecret unseals with these keys (the `/v1/verify` semantics).
pub fn verify(sealed: &SealedSecret, keyring: &Keyring, accept_deprecated_v1_data: bool) -> bool {
    unseal(
        sealed,
        keyring,
        &UnsealOptions {
            accept_deprecated_v1_data,
            preferred_key: None,
        },
    )
    .is_ok()
}

/// The same SealedSecret with every value sealed to the newest key.
pub fn reencrypt(
    sealed: &SealedSecret,
    keyring: &Keyring,
    accept_deprecated_v1_data: bool,
) -> Result<SealedSecret, ReencryptError> {
    let newest = keyring.newest().ok_or(ReencryptError::NoKey)?;
    let public = newest.certificate().public_key();
    let unsealed = unseal(
        sealed,
        keyring,
        &UnsealOptions {
            accept_deprecated_v1_data,
            preferred_key: None,
        },
    )?;
    let meta = &sealed.metadata;
    let label = Label::for_object(
        meta.namespace.as_deref(),
        meta.name.as_deref(),
        meta.annotations.as_ref(),
    );
    let mut out = sealed.clone();
    let mut rng = OsRng;
    let mut values = BTreeMap::new();
    for (key, value) in &sealed.spec.encrypted_data {
        let opened = keyring
            .open_base64(&label, value, unsealed.opened_by.get(key))
            .map_err(|source| ReencryptError::Open {
                key: key.clone(),
                source,
            })?;
        let resealed = envelope::seal_to_base64(&mut rng, public, &label, &opened.plaintext)?;
        values.insert(key.clone(), resealed);
    }
    out.spec.encrypted_data = values;
    if let Some(blob) = &sealed.spec.data {
        let opened = keyring
            .open(&label, &blob.0, unsealed.opened_by.get(""))
            .map_err(|source| ReencryptError::Open {
                key: "spec.data".into(),
                source,
            })?;
        let resealed = envelope::seal(&mut rng, public, &label, &opened.plaintext)?;
        out.spec.data = Some(ByteString(resealed));
    }
    // Server-set fields have no place in a manifest that goes back to Git.
    out.metadata.creation_timestamp = None;
    out.metadata.deletion_timestamp = None;
    out.metadata.generation = None;
    out.metadata.resource_version = None;
    out.metadata.uid = None;
    out.metadata.managed_fields = None;
    out.status = None;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use sealbox_keys::sealing::{Certificate, PrivateKey, SealingKey};

    use super::*;

    const FIX: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/sealed-secrets/"
    );

    fn read(n: &str) -> String {
        std::fs::read_to_string(format!("{FIX}{n}")).unwrap()
    }

    fn key(n: u8) -> SealingKey {
        SealingKey::new(
            format!("k{n}"),
            PrivateKey::from_pem(&read(&format!("sealing-key-{n}.key.pem"))).unwrap(),
            Certificate::from_pem(&read(&format!("sealing-key-{n}.cert.pem"))).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn old_key_values_move_to_the_newest_key_keeping_scope_and_template() {
        let both = Keyring::from_keys([key(0), key(1)]);
        for file in [
            "strict-old-key.yaml",
            "strict-template.yaml",
            "legacy-v1-data.yaml",
        ] {
            let ss: SealedSecret = serde_saphyr::from_str(&read(file)).unwrap();
            let rotated = reencrypt(&ss, &both, true).unwrap();
            assert_eq!(rotated.spec.template, ss.spec.template, "{file}");
            assert_eq!(rotated.metadata.annotations, ss.metadata.annotations);
            // Only the newest key (key1) is needed now.
            let newest_only = Keyring::from_keys([key(1)]);
            let a = unseal(&ss, &both, &UnsealOptions::default()).unwrap();
            let b = unseal(&rotated, &newest_only, &UnsealOptions::default()).unwrap();
            assert_eq!(a.secret.data, b.secret.data, "{file}");
            assert!(verify(&rotated, &newest_only, true));
        }
    }

    #[test]
    fn an_object_that_does_not_open_is_refused() {
        let ss: SealedSecret = serde_saphyr::from_str(&read("negative/tampered.yaml")).unwrap();
        let ring = Keyring::from_keys([key(0), key(1)]);
        assert!(!verify(&ss, &ring, true));
        let err = reencrypt(&ss, &ring, true).unwrap_err().to_string();
        assert!(err.starts_with("error decrypting secret."), "{err}");
        assert!(matches!(
            reencrypt(&ss, &Keyring::new(), true),
            Err(ReencryptError::NoKey)
        ));
    }
}
