//! RSA sealing keys, the SealedSecret envelope, scopes and the keyring.
//!
//! Everything here is byte-compatible with Bitnami Sealed Secrets (kubeseal and the
//! sealed-secrets controller), so SealedSecrets already in Git keep working and key backups
//! move between the two tools unchanged:
//!
//! * [`Scope`] and [`Label`] — the RSA-OAEP label that pins a value to a namespace/name,
//!   derived from an object's metadata exactly as upstream does;
//! * [`envelope`] — one sealed value: `u16be(len R) ‖ R ‖ C` with `R` = RSA-OAEP-SHA256 of a
//!   fresh AES-256 key and `C` = AES-256-GCM with a zero nonce;
//! * [`PublicKey`], [`PrivateKey`], [`Certificate`] — key material and PEM import/export
//!   (PKCS#1 and PKCS#8 private keys, SPKI public keys, X.509 certificates);
//! * [`KeyId`] — the SSH SHA256 fingerprint the Bitnami controller uses as a key id;
//! * [`Keyring`] — active and retired keys, newest seals, rotation policy, unsealing with
//!   "last key that worked first, then newest to oldest";
//! * [`backup`] — the `kubernetes.io/tls` key Secrets and the `v1 List` backup format.
//!
//! Private-key operations (RSA decryption, key generation) go through aws-lc-rs, whose RSA
//! code is constant time. The `rsa` crate is used for public-key sealing and for converting
//! between PKCS#1 and PKCS#8 only (RUSTSEC-2023-0071; `clippy.toml` bans its decrypt).

pub mod backup;
mod certificate;
pub mod envelope;
mod error;
mod fingerprint;
mod keyring;
mod pem_blocks;
mod private_key;
mod public_key;
mod scope;

pub use certificate::{Certificate, CertificateOptions, DEFAULT_KEY_TTL};
pub use error::{CertificateError, KeyError, OpenError, SealError};
pub use fingerprint::{KeyId, KeyIdParseError};
pub use keyring::{
    Clock, DEFAULT_KEY_PREFIX, DEFAULT_RENEW_PERIOD, FixedClock, KeyGenerationError, Keyring,
    Opened, RotationPolicy, SealingKey, SystemClock,
};
pub use private_key::{KeySize, PrivateKey, private_key_operations};
pub use public_key::PublicKey;
pub use scope::{
    CLUSTER_WIDE_ANNOTATION, Label, MANAGED_ANNOTATION, NAMESPACE_WIDE_ANNOTATION,
    PATCH_ANNOTATION, SKIP_SET_OWNER_REFERENCES_ANNOTATION, Scope, ScopeParseError,
};
