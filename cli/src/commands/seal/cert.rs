//! Where the sealing public key comes from: `--cert FILE|URL` (or `SEALED_SECRETS_CERT`)
//! like kubeseal, else the newest certificate of the local keyring.
//!
//! Certificates are refused like kubeseal refuses them (not RSA, expired) and also when
//! the key is shorter than 2048 bits. A bare SPKI `PUBLIC KEY` PEM is accepted too (it
//! has no expiry to check).

use std::time::Duration;

use jiff::Timestamp;
use sealbox_keys::sealing::{Certificate, CertificateError, KeyError, PublicKey};

use crate::Global;
use crate::exit::{Code, WithCode as _, fail};
use crate::keyring_dir::KeyringDir;

/// Smallest RSA key we seal to.
const MIN_BITS: usize = 2048;

/// The public key to seal to.
pub struct SealingTarget {
    /// The key.
    pub key: PublicKey,
}

/// Resolve `--cert` (or the keyring default) to a usable public key.
pub fn sealing_target(cert: Option<&str>, global: &Global) -> anyhow::Result<SealingTarget> {
    let now = Timestamp::now();
    let Some(location) = cert.filter(|c| !c.is_empty()) else {
        let dir = KeyringDir::resolve(global)?;
        let ring = dir.load_required()?;
        let newest = ring.newest().expect("load_required returns a key");
        newest.certificate().check_usable_for_sealing(now).map_err(|e| {
            fail(
                Code::BadCertificate,
                format!(
                    "the newest key in the keyring at {} cannot seal: {e} (run `sealbox keys rotate`)",
                    dir.root().display()
                ),
            )
        })?;
        return Ok(SealingTarget {
            key: newest.certificate().public_key().clone(),
        });
    };
    let text = read_location(location)?;
    let key = parse_sealing_key(&text, now)
        .map_err(|e| fail(Code::BadCertificate, format!("--cert {location}: {e}")))?;
    Ok(SealingTarget { key })
}

/// Parse a certificate (or bare public key) PEM and apply kubeseal's checks.
pub fn parse_sealing_key(text: &str, now: Timestamp) -> Result<PublicKey, CertificateError> {
    if text.contains("-----BEGIN CERTIFICATE-----") {
        let cert = Certificate::from_pem(text)?;
        cert.check_usable_for_sealing(now)?;
        return Ok(cert.public_key().clone());
    }
    let key = PublicKey::from_pem(text).map_err(|e| match e {
        KeyError::NoPemBlock { .. } => CertificateError::NoCertificate,
        other => CertificateError::Key(other),
    })?;
    if key.bits() < MIN_BITS {
        return Err(CertificateError::Key(KeyError::TooSmall {
            bits: key.bits(),
            minimum: MIN_BITS,
        }));
    }
    Ok(key)
}

/// Read a local file, a `file://` URL or an `http(s)://` URL.
pub fn read_location(location: &str) -> anyhow::Result<String> {
    if location.starts_with("http://") || location.starts_with("https://") {
        return fetch(location);
    }
    let path = location.strip_prefix("file://").unwrap_or(location);
    std::fs::read_to_string(path).code(Code::BadCertificate, || {
        format!("cannot read --cert {path}")
    })
}

fn fetch(url: &str) -> anyhow::Result<String> {
    // reqwest's rustls needs a process-wide provider; installing twice is harmless.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .code(Code::Generic, || "cannot start the HTTP client".to_owned())?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .code(Code::BadCertificate, || {
                format!("cannot fetch --cert {url}")
            })?;
        let response = client
            .get(url)
            .send()
            .await
            .code(Code::BadCertificate, || {
                format!("cannot fetch --cert {url}")
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(
                Code::BadCertificate,
                format!("cannot fetch --cert {url}: HTTP {status}"),
            ));
        }
        response
            .text()
            .await
            .code(Code::BadCertificate, || format!("cannot read --cert {url}"))
    })
}
