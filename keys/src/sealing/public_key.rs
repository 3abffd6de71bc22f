//! RSA public keys: read from a certificate, an SPKI (`PUBLIC KEY`) or PKCS#1
//! (`RSA PUBLIC KEY`) PEM, or DER; sealing uses them.

use std::fmt;

use rsa::BigUint;
use rsa::pkcs1::der::Decode as _;
use rsa::pkcs8::der::pem::LineEnding;
use rsa::pkcs8::spki::ObjectIdentifier;
use rsa::pkcs8::{EncodePublicKey as _, SubjectPublicKeyInfoRef};
use rsa::traits::PublicKeyParts;

use super::certificate::Certificate;
use super::error::KeyError;
use super::fingerprint::KeyId;
use super::pem_blocks::pem_blocks;

/// `rsaEncryption` (1.2.840.113549.1.1.1), the SPKI algorithm of every RSA key.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Largest RSA modulus we parse (the `rsa` crate's default cap is 4096 bits, which would
/// reject perfectly valid 8192-bit keys).
const MAX_RSA_BITS: usize = 16384;

/// An RSA public key that values can be sealed to.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    key: rsa::RsaPublicKey,
    id: KeyId,
}

impl PublicKey {
    pub(crate) fn from_rsa(key: rsa::RsaPublicKey) -> PublicKey {
        let id = KeyId::of(&key);
        PublicKey { key, id }
    }

    /// Parse a DER `SubjectPublicKeyInfo`. Non-RSA keys are refused with their algorithm.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let invalid = || KeyError::InvalidKey {
            label: "PUBLIC KEY".to_owned(),
            expected: "SubjectPublicKeyInfo",
        };
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| invalid())?;
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(KeyError::NotRsa {
                found: algorithm_name(&spki.algorithm.oid),
            });
        }
        let bits = spki.subject_public_key.as_bytes().ok_or_else(invalid)?;
        Self::from_pkcs1_der(bits)
    }

    /// Parse a DER PKCS#1 `RSAPublicKey` (modulus and exponent).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let invalid = || KeyError::InvalidKey {
            label: "RSA PUBLIC KEY".to_owned(),
            expected: "PKCS#1 RSA public key",
        };
        let parsed = rsa::pkcs1::RsaPublicKey::from_der(der).map_err(|_| invalid())?;
        let n = BigUint::from_bytes_be(parsed.modulus.as_bytes());
        let e = BigUint::from_bytes_be(parsed.public_exponent.as_bytes());
        let key =
            rsa::RsaPublicKey::new_with_max_size(n, e, MAX_RSA_BITS).map_err(|_| invalid())?;
        Ok(PublicKey::from_rsa(key))
    }

    /// Parse the first usable PEM block: `CERTIFICATE` (its key), `PUBLIC KEY` (SPKI) or
    /// `RSA PUBLIC KEY` (PKCS#1). This is what `--cert` accepts.
    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        for block in pem_blocks(text) {
            match block.label {
                "CERTIFICATE" => {
                    return Certificate::from_pem(block.text)
                        .map(|c| c.public_key().clone())
                        .map_err(|e| match e {
                            super::error::CertificateError::Key(k) => k,
                            _ => KeyError::InvalidKey {
                                label: "CERTIFICATE".to_owned(),
                                expected: "X.509 certificate",
                            },
                        });
                }
                "PUBLIC KEY" => {
                    let der = decode_pem_block(block.text, "PUBLIC KEY")?;
                    return Self::from_spki_der(&der);
                }
                "RSA PUBLIC KEY" => {
                    let der = decode_pem_block(block.text, "RSA PUBLIC KEY")?;
                    return Self::from_pkcs1_der(&der);
                }
                _ => {}
            }
        }
        Err(KeyError::NoPemBlock {
            expected: "certificate or RSA public key",
        })
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.n().bits()
    }

    /// The Bitnami key id (SSH SHA256 fingerprint).
    pub fn key_id(&self) -> &KeyId {
        &self.id
    }

    /// DER `SubjectPublicKeyInfo`.
    pub fn to_spki_der(&self) -> Vec<u8> {
        self.key
            .to_public_key_der()
            .expect("an RSA public key always encodes")
            .into_vec()
    }

    /// PEM `PUBLIC KEY` (SPKI), what `openssl rsa -pubout` writes.
    pub fn to_spki_pem(&self) -> String {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .expect("an RSA public key always encodes")
    }

    pub(crate) fn rsa(&self) -> &rsa::RsaPublicKey {
        &self.key
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("bits", &self.bits())
            .field("id", &self.id)
            .finish()
    }
}

/// Base64-decode the body of one PEM block with the expected label (public data only).
fn decode_pem_block(text: &str, label: &'static str) -> Result<Vec<u8>, KeyError> {
    let (found, der) =
        rsa::pkcs8::der::pem::decode_vec(text.as_bytes()).map_err(|_| KeyError::InvalidKey {
            label: label.to_owned(),
            expected: "base64 PEM body",
        })?;
    debug_assert_eq!(found, label);
    Ok(der)
}

/// A readable name for the public-key algorithms people actually try to use.
fn algorithm_name(oid: &ObjectIdentifier) -> String {
    match oid.to_string().as_str() {
        "1.2.840.10045.2.1" => "an EC (ECDSA) key".to_owned(),
        "1.3.101.112" => "an Ed25519 key".to_owned(),
        "1.3.101.110" => "an X25519 key".to_owned(),
        "1.2.840.10040.4.1" => "a DSA key".to_owned(),
        "1.2.840.113549.1.1.10" => "an RSA-PSS-only key".to_owned(),
        other => format!("a key with algorithm OID {other}"),
    }
}
