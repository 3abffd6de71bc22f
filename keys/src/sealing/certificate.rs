//! Sealing certificates: parsed from PEM/DER, or made self-signed in the shape of the
//! Bitnami controller's own (`pkg/crypto/keys.go` `SignKeyWithNotBefore`): empty subject
//! and issuer, random serial below 2^128, keyUsage encipherOnly (critical), CA:TRUE
//! (critical), subject key id, SHA-256 with RSA, valid 10 years from NotBefore.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use rand::RngCore as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, KeyUsagePurpose,
    SerialNumber,
};
use rsa::pkcs8::der::pem::LineEnding;

use super::error::{CertificateError, KeyError};
use super::pem_blocks::pem_blocks;
use super::private_key::PrivateKey;
use super::public_key::PublicKey;

/// Certificate lifetime of the Bitnami controller (`--key-ttl 87600h`, 10 years).
pub const DEFAULT_KEY_TTL: SignedDuration = SignedDuration::from_hours(87_600);

/// Smallest RSA key kubeseal seals to.
const MIN_SEALING_BITS: usize = 2048;

/// How to make a self-signed sealing certificate.
#[derive(Clone, Debug)]
pub struct CertificateOptions {
    /// Start of validity; also orders keys in the keyring (newest seals).
    pub not_before: Timestamp,
    /// Validity length (Bitnami default: 10 years).
    pub ttl: SignedDuration,
    /// Subject/issuer common name; `None` gives the empty DN the controller uses by default
    /// (`--my-cn ""`).
    pub common_name: Option<String>,
}

impl CertificateOptions {
    /// Bitnami defaults, valid from `not_before`.
    pub fn starting_at(not_before: Timestamp) -> CertificateOptions {
        CertificateOptions {
            not_before,
            ttl: DEFAULT_KEY_TTL,
            common_name: None,
        }
    }
}

/// An X.509 certificate holding an RSA public key.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    public_key: PublicKey,
    not_before: Timestamp,
    not_after: Timestamp,
}

impl Certificate {
    /// Parse the first `CERTIFICATE` block of a PEM text (like kubeseal's `ParseKey`).
    pub fn from_pem(text: &str) -> Result<Certificate, CertificateError> {
        let block = pem_blocks(text)
            .into_iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or(CertificateError::NoCertificate)?;
        let (_, der) = rsa::pkcs8::der::pem::decode_vec(block.text.as_bytes()).map_err(|e| {
            CertificateError::Invalid {
                reason: format!("bad PEM body: {e}"),
            }
        })?;
        Self::from_der(&der)
    }

    /// Every `CERTIFICATE` block in a PEM text.
    pub fn all_from_pem(text: &str) -> Result<Vec<Certificate>, CertificateError> {
        pem_blocks(text)
            .into_iter()
            .filter(|b| b.label == "CERTIFICATE")
            .map(|b| Self::from_pem(b.text))
            .collect()
    }

    /// Parse a DER certificate. Only RSA certificates are accepted.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertificateError> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).map_err(|e| CertificateError::Invalid {
                reason: e.to_string(),
            })?;
        let public_key = PublicKey::from_spki_der(cert.public_key().raw)?;
        let validity = cert.validity();
        let not_before = timestamp(validity.not_before.timestamp())?;
        let not_after = timestamp(validity.not_after.timestamp())?;
        Ok(Certificate {
            der: der.to_vec(),
            public_key,
            not_before,
            not_after,
        })
    }

    /// Make a self-signed certificate for `key`, shaped like the Bitnami controller's.
    pub fn self_signed(
        key: &PrivateKey,
        options: &CertificateOptions,
    ) -> Result<Certificate, CertificateError> {
        let generate_error = |e: rcgen::Error| CertificateError::Generate {
            reason: e.to_string(),
        };
        let signer = KeyPair::try_from(key.pkcs8_der()).map_err(generate_error)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        if let Some(cn) = &options.common_name {
            dn.push(DnType::CommonName, cn.as_str());
        }
        params.distinguished_name = dn;
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        params.not_before = epoch + since_epoch(options.not_before)?;
        let not_after = options.not_before.checked_add(options.ttl).map_err(|_| {
            CertificateError::Generate {
                reason: "validity end is out of range".to_owned(),
            }
        })?;
        params.not_after = epoch + since_epoch(not_after)?;
        params.serial_number = Some(random_serial());
        params.key_usages = vec![KeyUsagePurpose::EncipherOnly];
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&signer).map_err(generate_error)?;
        Self::from_der(cert.der())
    }

    /// PEM text (`-----BEGIN CERTIFICATE-----`), what `/v1/cert.pem` serves.
    pub fn to_pem(&self) -> String {
        rsa::pkcs8::der::pem::encode_string("CERTIFICATE", LineEnding::LF, &self.der)
            .expect("PEM encoding of DER cannot fail")
    }

    /// DER bytes.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certified public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// Start of validity.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// Refuse certificates kubeseal would refuse: expired at `now`, or a key below 2048
    /// bits. (NotBefore is not checked, like kubeseal.)
    pub fn check_usable_for_sealing(&self, now: Timestamp) -> Result<(), CertificateError> {
        let bits = self.public_key.bits();
        if bits < MIN_SEALING_BITS {
            return Err(CertificateError::Key(KeyError::TooSmall {
                bits,
                minimum: MIN_SEALING_BITS,
            }));
        }
        if now > self.not_after {
            return Err(CertificateError::Expired {
                not_after: self.not_after.to_string(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("key", &self.public_key)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .finish()
    }
}

fn timestamp(unix_seconds: i64) -> Result<Timestamp, CertificateError> {
    Timestamp::from_second(unix_seconds).map_err(|e| CertificateError::Invalid {
        reason: format!("validity time out of range: {e}"),
    })
}

/// Seconds since the epoch as a duration. rcgen takes `time::OffsetDateTime`; callers build
/// it as "epoch + this" so this crate needs no dependency of its own on `time`.
/// Sub-second precision is dropped (X.509 has none).
fn since_epoch(at: Timestamp) -> Result<std::time::Duration, CertificateError> {
    let seconds = u64::try_from(at.as_second()).map_err(|_| CertificateError::Generate {
        reason: "certificate dates before 1970 are not supported".to_owned(),
    })?;
    Ok(std::time::Duration::from_secs(seconds))
}

/// Upstream: `rand.Int(rand.Reader, 2^128)`, i.e. 128 random bits, non-negative.
fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    SerialNumber::from_slice(&bytes)
}
