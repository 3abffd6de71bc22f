//! What the controller records on each Secret it writes, so that a resync — and a restart —
//! of an unchanged SealedSecret needs no RSA operation at all.
//!
//! The design (documented in `docs/controller.md`, "Unsealing only when needed"):
//!
//! * `sealbox.io/source-digest` = SHA-256 over everything the Secret is derived from: the
//!   SealedSecret's name, namespace, uid, scope annotations, its whole `spec` (ciphertexts,
//!   template) and the controller options that change the result. Ciphertexts are public
//!   (they are in Git), so this digest reveals nothing about the plaintexts.
//! * `sealbox.io/opened-by` = the fingerprint of the key that opened the values (public).
//! * `sealbox.io/data-mac` = HMAC-SHA256 over the digest and every managed data key and
//!   value, keyed with a key derived (HKDF-SHA256) from *that sealing key's private key*.
//!   Without the private key nobody can test a guess of a low-entropy value against it,
//!   and nobody can forge a MAC for edited data.
//!
//! On reconcile, if the live Secret's digest equals the SealedSecret's current digest and
//! the MAC (recomputed over the live data with the named key) matches, the live data is
//! exactly what unsealing would produce: the desired Secret is the template's metadata
//! plus the live data, with no decryption. Any change to the SealedSecret changes the
//! digest (so stale data is never kept); any edit of the data breaks the MAC (so the
//! Secret is unsealed and restored); a key that is gone disables the shortcut.

use std::collections::BTreeMap;
use std::fmt;

use aws_lc_rs::{hkdf, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::ByteString;
use sealbox_keys::sealing::PrivateKey;
use secrecy::ExposeSecret as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::api::SealedSecret;
use sealbox_keys::sealing::{CLUSTER_WIDE_ANNOTATION, NAMESPACE_WIDE_ANNOTATION};

/// Annotation: uid of the SealedSecret that wrote the Secret (recognises Secrets made
/// without an owner reference as ours).
pub const SOURCE_UID_ANNOTATION: &str = "sealbox.io/source-uid";
/// Annotation: digest of the SealedSecret inputs the Secret was made from.
pub const SOURCE_DIGEST_ANNOTATION: &str = "sealbox.io/source-digest";
/// Annotation: fingerprint of the key that opened the values.
pub const OPENED_BY_ANNOTATION: &str = "sealbox.io/opened-by";
/// Annotation: HMAC of the data, keyed from the opening key.
pub const DATA_MAC_ANNOTATION: &str = "sealbox.io/data-mac";

/// Every bookkeeping annotation (stripped when comparing with Bitnami's output).
pub const BOOKKEEPING_ANNOTATIONS: [&str; 4] = [
    SOURCE_UID_ANNOTATION,
    SOURCE_DIGEST_ANNOTATION,
    OPENED_BY_ANNOTATION,
    DATA_MAC_ANNOTATION,
];

/// Version tag mixed into digest and MAC; bump it if their inputs change.
const FORMAT: &str = "sealbox.io/bookkeeping/v1";

/// Controller options that change the unsealed result (part of the digest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestOptions {
    /// `--accept-deprecated-v1-data`.
    pub accept_deprecated_v1_data: bool,
}

/// `sha256:<hex>` over the SealedSecret's inputs.
pub fn source_digest(sealed: &SealedSecret, options: DigestOptions) -> String {
    let meta = &sealed.metadata;
    let annotation = |k: &str| meta.annotations.as_ref().and_then(|a| a.get(k)).cloned();
    let input = json!({
        "format": FORMAT,
        "name": meta.name,
        "namespace": meta.namespace,
        "uid": meta.uid,
        "clusterWide": annotation(CLUSTER_WIDE_ANNOTATION),
        "namespaceWide": annotation(NAMESPACE_WIDE_ANNOTATION),
        "spec": sealed.spec,
        "acceptDeprecatedV1Data": options.accept_deprecated_v1_data,
    });
    let bytes = serde_json::to_vec(&input).expect("JSON values serialize");
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

/// An HMAC key derived from one sealing key. `Debug` is redacted.
pub struct MacKey(hmac::Key);

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

impl MacKey {
    /// HKDF-SHA256 over the PKCS#8 encoding of the private key, with a fixed salt and
    /// info, so the MAC key is independent of every other use of the key.
    pub fn derive(private: &PrivateKey) -> MacKey {
        let pkcs8 = private.to_pkcs8_pem();
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, FORMAT.as_bytes());
        let prk = salt.extract(pkcs8.expose_secret().as_bytes());
        let info = [b"secret data mac".as_slice()];
        let okm = prk
            .expand(&info, hmac::HMAC_SHA256)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        MacKey(hmac::Key::from(okm))
    }

    /// `hmac-sha256:<base64>` over the digest and the `(key, value)` pairs in key order.
    pub fn mac<'a>(
        &self,
        digest: &str,
        data: impl IntoIterator<Item = (&'a String, &'a ByteString)>,
    ) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(FORMAT.as_bytes());
        feed(&mut ctx, digest.as_bytes());
        let sorted: BTreeMap<&String, &ByteString> = data.into_iter().collect();
        for (k, v) in sorted {
            feed(&mut ctx, k.as_bytes());
            feed(&mut ctx, &v.0);
        }
        format!("hmac-sha256:{}", STANDARD.encode(ctx.sign().as_ref()))
    }

    /// Constant-time check of a recorded MAC.
    pub fn verify<'a>(
        &self,
        recorded: &str,
        digest: &str,
        data: impl IntoIterator<Item = (&'a String, &'a ByteString)>,
    ) -> bool {
        let expected = self.mac(digest, data);
        expected.len() == recorded.len()
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                recorded.as_bytes(),
            )
            .is_ok()
    }
}

fn feed(ctx: &mut hmac::Context, bytes: &[u8]) {
    ctx.update(&(bytes.len() as u64).to_be_bytes());
    ctx.update(bytes);
}

#[cfg(test)]
mod tests {
    use sealbox_keys::sealing::PrivateKey;

    use super::*;
    use crate::api::SealedSecretSpec;

    fn key() -> PrivateKey {
        PrivateKey::from_pem(include_str!(
            "../../../tests/fixtures/sealed-secrets/sealing-key-1.key.pem"
        ))
        .unwrap()
    }

    fn sealed(value: &str) -> SealedSecret {
        let mut s = SealedSecret::new(
            "db",
            SealedSecretSpec {
                encrypted_data: BTreeMap::from([("a".to_owned(), value.to_owned())]),
                ..Default::default()
            },
        );
        s.metadata.namespace = Some("ns".into());
        s.metadata.uid = Some("u1".into());
        s
    }

    #[test]
    fn digest_changes_with_every_input() {
        let opts = DigestOptions {
            accept_deprecated_v1_data: true,
        };
        let base = source_digest(&sealed("AgA="), opts);
        assert!(base.starts_with("sha256:"));
        assert_eq!(base, source_digest(&sealed("AgA="), opts));
        assert_ne!(base, source_digest(&sealed("AgB="), opts));
        let mut renamed = sealed("AgA=");
        renamed.metadata.name = Some("db2".into());
        assert_ne!(base, source_digest(&renamed, opts));
        let mut scoped = sealed("AgA=");
        scoped.metadata.annotations = Some(BTreeMap::from([(
            CLUSTER_WIDE_ANNOTATION.to_owned(),
            "true".to_owned(),
        )]));
        assert_ne!(base, source_digest(&scoped, opts));
        let mut recreated = sealed("AgA=");
        recreated.metadata.uid = Some("u2".into());
        assert_ne!(base, source_digest(&recreated, opts));
        assert_ne!(
            base,
            source_digest(
                &sealed("AgA="),
                DigestOptions {
                    accept_deprecated_v1_data: false
                }
            )
        );
    }

    #[test]
    fn mac_is_keyed_bound_to_digest_and_data_and_redacted() {
        let k = MacKey::derive(&key());
        let data = BTreeMap::from([("a".to_owned(), ByteString(b"secret".to_vec()))]);
        let mac = k.mac("sha256:1", &data);
        assert!(k.verify(&mac, "sha256:1", &data));
        assert!(!k.verify(&mac, "sha256:2", &data));
        let edited = BTreeMap::from([("a".to_owned(), ByteString(b"secreT".to_vec()))]);
        assert!(!k.verify(&mac, "sha256:1", &edited));
        let renamed = BTreeMap::from([("b".to_owned(), ByteString(b"secret".to_vec()))]);
        assert!(!k.verify(&mac, "sha256:1", &renamed));
        // A plain hash of the value is not the MAC (no offline guessing without the key).
        let plain = STANDARD.encode(Sha256::digest(b"secret"));
        assert!(!mac.contains(&plain));
        let other = MacKey::derive(
            &PrivateKey::from_pem(include_str!(
                "../../../tests/fixtures/sealed-secrets/sealing-key-0.key.pem"
            ))
            .unwrap(),
        );
        assert!(!other.verify(&mac, "sha256:1", &data));
        assert_eq!(format!("{k:?}"), "MacKey(<redacted>)");
    }
}
