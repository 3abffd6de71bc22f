//! Error types of the sealing module.
//!
//! None of these carries key material or plaintext. [`OpenError`] deliberately has a single
//! variant for every cryptographic failure (wrong key, wrong label, truncated blob, bad
//! padding, bad GCM tag): telling them apart would hand an attacker a padding oracle, and
//! users' alerts match upstream's one message, "no key could decrypt secret".

use thiserror::Error;

/// A key could not be read, written or generated.
#[derive(Debug, Error)]
pub enum KeyError {
    /// The text holds no PEM block of a kind we can use.
    #[error("no {expected} found in the PEM input")]
    NoPemBlock {
        /// What we looked for, e.g. "RSA private key (PKCS#1 or PKCS#8)".
        expected: &'static str,
    },
    /// A PEM block was found but its contents are not a valid key of that kind.
    #[error("the {label} PEM block is not a valid {expected}")]
    InvalidKey {
        /// The PEM label (e.g. "RSA PRIVATE KEY").
        label: String,
        /// What it should have been.
        expected: &'static str,
    },
    /// The key is not an RSA key.
    #[error("expected an RSA key but found {found}")]
    NotRsa {
        /// A human-readable name of the algorithm found.
        found: String,
    },
    /// The key is smaller than the minimum we accept for sealing.
    #[error("RSA key is {bits} bits; at least {minimum} bits are required")]
    TooSmall {
        /// Size of the key.
        bits: usize,
        /// Minimum accepted size.
        minimum: usize,
    },
    /// Key generation or a key-format conversion failed inside the crypto library.
    #[error("{operation} failed")]
    Crypto {
        /// What we were doing.
        operation: &'static str,
    },
}

/// A certificate could not be parsed, made, or is unusable for sealing.
#[derive(Debug, Error)]
pub enum CertificateError {
    /// No `CERTIFICATE` PEM block in the input.
    #[error("no PEM certificate found (expected a \"-----BEGIN CERTIFICATE-----\" block)")]
    NoCertificate,
    /// The DER inside the PEM block is not an X.509 certificate.
    #[error("the certificate is not valid X.509: {reason}")]
    Invalid {
        /// Parser message (certificates are public; no secret can be in it).
        reason: String,
    },
    /// The certificate's key is not usable (not RSA, too small).
    #[error("unusable certificate key: {0}")]
    Key(#[from] KeyError),
    /// The certificate has expired; kubeseal refuses these too.
    #[error("the certificate expired on {not_after}; refusing to seal with an expired certificate")]
    Expired {
        /// When it expired (RFC 3339).
        not_after: String,
    },
    /// Building or signing a new certificate failed.
    #[error("could not create the certificate: {reason}")]
    Generate {
        /// Message from the certificate builder.
        reason: String,
    },
}

/// Sealing a value failed (only possible with a broken public key or an absurd value size).
#[derive(Debug, Error)]
pub enum SealError {
    /// RSA-OAEP encryption of the session key failed.
    #[error("RSA-OAEP encryption of the session key failed")]
    Rsa,
    /// AES-GCM encryption failed (value larger than GCM allows).
    #[error("AES-256-GCM encryption failed (value too large)")]
    Aead,
}

/// Opening a sealed value failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OpenError {
    /// The value is not standard padded base64. This concerns the public ciphertext only.
    #[error("value is not valid base64: {reason}")]
    Base64 {
        /// Decoder message (about the ciphertext, never the plaintext).
        reason: String,
    },
    /// No key could open the value: wrong key, wrong scope/name/namespace, truncated or
    /// tampered ciphertext. One message for all of them on purpose.
    #[error("no key could decrypt secret")]
    NoKeyCouldDecrypt,
}
