//! RSA private keys for unsealing: generated and used through aws-lc-rs (constant-time RSA),
//! imported and exported as PKCS#1 (`RSA PRIVATE KEY`, what the Bitnami controller writes)
//! or PKCS#8 (`PRIVATE KEY`).
//!
//! PKCS#1 ↔ PKCS#8 is a pure re-wrapping of the same DER (`PrivateKeyInfo` with the
//! `rsaEncryption` algorithm around the PKCS#1 bytes), done with the `pkcs8` types into
//! zeroizing buffers; no big-number arithmetic on the private key happens outside aws-lc-rs.

use std::fmt;

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use rsa::pkcs8::PrivateKeyInfo;
use rsa::pkcs8::der::pem::LineEnding;
use rsa::pkcs8::der::{Decode as _, Encode as _, asn1::AnyRef};
use rsa::pkcs8::spki::{AlgorithmIdentifierRef, ObjectIdentifier};
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};
use zeroize::Zeroizing;

use super::error::KeyError;
use super::fingerprint::KeyId;
use super::pem_blocks::pem_blocks;
use super::public_key::PublicKey;

/// Smallest RSA key we load: kubeseal refuses to seal to less, and aws-lc-rs refuses to
/// decrypt with less.
const MIN_BITS: usize = 2048;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// What `from_pem` looks for, for error messages.
const EXPECTED_PRIVATE_KEY: &str =
    "RSA private key (PKCS#1 \"RSA PRIVATE KEY\" or PKCS#8 \"PRIVATE KEY\")";

/// Sizes of newly generated sealing keys. The Bitnami controller uses 4096 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeySize {
    /// 2048 bits: the minimum kubeseal accepts; fast, for tests and small devices.
    Rsa2048,
    /// 3072 bits.
    Rsa3072,
    /// 4096 bits: the Bitnami default.
    #[default]
    Rsa4096,
}

impl KeySize {
    /// Size in bits.
    pub fn bits(self) -> usize {
        match self {
            KeySize::Rsa2048 => 2048,
            KeySize::Rsa3072 => 3072,
            KeySize::Rsa4096 => 4096,
        }
    }

    /// The size for a bit count, if supported.
    pub fn from_bits(bits: usize) -> Option<KeySize> {
        match bits {
            2048 => Some(KeySize::Rsa2048),
            3072 => Some(KeySize::Rsa3072),
            4096 => Some(KeySize::Rsa4096),
            _ => None,
        }
    }

    fn aws_lc(self) -> aws_lc_rs::rsa::KeySize {
        match self {
            KeySize::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
            KeySize::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
            KeySize::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
        }
    }
}

/// An RSA private key. `Debug` shows only the size and fingerprint.
pub struct PrivateKey {
    decrypting: OaepPrivateDecryptingKey,
    pkcs8: SecretSlice<u8>,
    public: PublicKey,
}

impl PrivateKey {
    /// Generate a new key with aws-lc-rs.
    pub fn generate(size: KeySize) -> Result<PrivateKey, KeyError> {
        let key = PrivateDecryptingKey::generate(size.aws_lc()).map_err(|_| KeyError::Crypto {
            operation: "RSA key generation",
        })?;
        let der = key.as_der().map_err(|_| KeyError::Crypto {
            operation: "PKCS#8 encoding of the new key",
        })?;
        let pkcs8 = SecretSlice::from(der.as_ref().to_vec());
        Self::from_parts(key, pkcs8)
    }

    /// Parse a DER PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let info = PrivateKeyInfo::from_der(der).map_err(|_| KeyError::InvalidKey {
            label: "PRIVATE KEY".to_owned(),
            expected: "PKCS#8 private key",
        })?;
        if info.algorithm.oid != RSA_ENCRYPTION {
            return Err(KeyError::NotRsa {
                found: format!("a private key with algorithm OID {}", info.algorithm.oid),
            });
        }
        let rsa_key = rsa::pkcs1::RsaPrivateKey::from_der(info.private_key).map_err(|_| {
            KeyError::InvalidKey {
                label: "PRIVATE KEY".to_owned(),
                expected: "PKCS#8 wrapping a PKCS#1 RSA private key",
            }
        })?;
        let bits = modulus_bits(rsa_key.modulus.as_bytes());
        if bits < MIN_BITS {
            return Err(KeyError::TooSmall {
                bits,
                minimum: MIN_BITS,
            });
        }
        let key = PrivateDecryptingKey::from_pkcs8(der).map_err(|_| KeyError::InvalidKey {
            label: "PRIVATE KEY".to_owned(),
            expected: "RSA private key of 2048 to 8192 bits",
        })?;
        Self::from_parts(key, SecretSlice::from(der.to_vec()))
    }

    /// Parse a DER PKCS#1 `RSAPrivateKey` (the body of an `RSA PRIVATE KEY` PEM block).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<PrivateKey, KeyError> {
        let pkcs8 = pkcs1_to_pkcs8(der)?;
        Self::from_pkcs8_der(&pkcs8)
    }

    /// Parse the first private key in a PEM text (`RSA PRIVATE KEY` or `PRIVATE KEY`);
    /// other blocks such as certificates are skipped.
    pub fn from_pem(text: &str) -> Result<PrivateKey, KeyError> {
        Self::all_from_pem(text)?
            .into_iter()
            .next()
            .ok_or(KeyError::NoPemBlock {
                expected: EXPECTED_PRIVATE_KEY,
            })
    }

    /// Every private key in a PEM text, in order. Encrypted and non-RSA keys are errors, so
    /// a file never silently loses a key.
    pub fn all_from_pem(text: &str) -> Result<Vec<PrivateKey>, KeyError> {
        let mut keys = Vec::new();
        for block in pem_blocks(text) {
            match block.label {
                "RSA PRIVATE KEY" => {
                    let der = decode_secret_block(block.text, block.label)?;
                    keys.push(Self::from_pkcs1_der(&der)?);
                }
                "PRIVATE KEY" => {
                    let der = decode_secret_block(block.text, block.label)?;
                    keys.push(Self::from_pkcs8_der(&der)?);
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(KeyError::InvalidKey {
                        label: block.label.to_owned(),
                        expected: "unencrypted private key (decrypt it first, e.g. `openssl pkey`)",
                    });
                }
                "EC PRIVATE KEY" | "OPENSSH PRIVATE KEY" | "DSA PRIVATE KEY" => {
                    return Err(KeyError::NotRsa {
                        found: format!("a \"{}\" PEM block", block.label),
                    });
                }
                _ => {}
            }
        }
        Ok(keys)
    }

    fn from_parts(
        key: PrivateDecryptingKey,
        pkcs8: SecretSlice<u8>,
    ) -> Result<PrivateKey, KeyError> {
        let spki = key.public_key().as_der().map_err(|_| KeyError::Crypto {
            operation: "public key encoding",
        })?;
        let public = PublicKey::from_spki_der(spki.as_ref())?;
        let decrypting = OaepPrivateDecryptingKey::new(key).map_err(|_| KeyError::Crypto {
            operation: "RSA-OAEP key setup",
        })?;
        Ok(PrivateKey {
            decrypting,
            pkcs8,
            public,
        })
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The Bitnami key id (SSH SHA256 fingerprint of the public key).
    pub fn key_id(&self) -> &KeyId {
        self.public.key_id()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    /// PEM PKCS#1 (`RSA PRIVATE KEY`), the format of the Bitnami controller's `tls.key`.
    pub fn to_pkcs1_pem(&self) -> SecretString {
        let info = PrivateKeyInfo::from_der(self.pkcs8.expose_secret())
            .expect("stored PKCS#8 was validated when the key was made");
        let pem = rsa::pkcs8::der::pem::encode_string(
            "RSA PRIVATE KEY",
            LineEnding::LF,
            info.private_key,
        )
        .expect("PEM encoding of a valid key cannot fail");
        SecretString::from(pem)
    }

    /// PEM PKCS#8 (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> SecretString {
        let pem = rsa::pkcs8::der::pem::encode_string(
            "PRIVATE KEY",
            LineEnding::LF,
            self.pkcs8.expose_secret(),
        )
        .expect("PEM encoding of a valid key cannot fail");
        SecretString::from(pem)
    }

    /// DER PKCS#8, for signing the self-signed certificate.
    pub(crate) fn pkcs8_der(&self) -> &[u8] {
        self.pkcs8.expose_secret()
    }

    /// RSA-OAEP (SHA-256, MGF1-SHA-256) decryption with `label`. `None` on any failure:
    /// callers must not be able to tell a wrong key from bad padding.
    pub(crate) fn oaep_decrypt(
        &self,
        label: &[u8],
        ciphertext: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        PRIVATE_KEY_OPERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut out = Zeroizing::new(vec![0u8; self.decrypting.min_output_size()]);
        let len = self
            .decrypting
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, Some(label))
            .ok()?
            .len();
        out.truncate(len);
        Some(out)
    }
}

/// RSA private-key operations (OAEP decryptions) performed by this process, successful or
/// not. The controller exports it as a metric so "a resync does no RSA work" is measurable.
static PRIVATE_KEY_OPERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Number of RSA private-key operations this process has performed so far.
pub fn private_key_operations() -> u64 {
    PRIVATE_KEY_OPERATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .field("id", self.key_id())
            .finish_non_exhaustive()
    }
}

/// Bit length of a big-endian unsigned magnitude (the public modulus).
pub(crate) fn modulus_bits(magnitude_be: &[u8]) -> usize {
    match magnitude_be.iter().position(|b| *b != 0) {
        Some(i) => (magnitude_be.len() - i) * 8 - magnitude_be[i].leading_zeros() as usize,
        None => 0,
    }
}

/// Wrap PKCS#1 `RSAPrivateKey` DER into a PKCS#8 `PrivateKeyInfo`, in a zeroizing buffer.
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let invalid = || KeyError::InvalidKey {
        label: "RSA PRIVATE KEY".to_owned(),
        expected: "PKCS#1 RSA private key",
    };
    let info = PrivateKeyInfo {
        algorithm: AlgorithmIdentifierRef {
            oid: RSA_ENCRYPTION,
            parameters: Some(AnyRef::NULL),
        },
        private_key: pkcs1,
        public_key: None,
    };
    let len = usize::try_from(info.encoded_len().map_err(|_| invalid())?).map_err(|_| invalid())?;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    info.encode_to_vec(&mut out).map_err(|_| invalid())?;
    Ok(out)
}

/// Base64-decode one private-key PEM block into a zeroizing buffer.
fn decode_secret_block(text: &str, label: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let invalid = || KeyError::InvalidKey {
        label: label.to_owned(),
        expected: "base64 PEM body",
    };
    let (_, der) = rsa::pkcs8::der::pem::decode_vec(text.as_bytes()).map_err(|_| invalid())?;
    Ok(Zeroizing::new(der))
}
