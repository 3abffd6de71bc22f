//! The key id the Bitnami controller uses: the SSH SHA256 fingerprint of the public key.
//!
//! Upstream `crypto.PublicKeyFingerprint` = `ssh.FingerprintSHA256(ssh.NewPublicKey(pub))`,
//! i.e. `"SHA256:" + base64-nopad(sha256(ssh-rsa wire blob))`, the same string
//! `ssh-keygen -lf` prints. The wire blob is `string "ssh-rsa" ‖ mpint e ‖ mpint n`.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use rsa::traits::PublicKeyParts;
use sha2::{Digest, Sha256};

/// SSH SHA256 fingerprint of an RSA public key, e.g.
/// `SHA256:l9rNRMyw3xD9BR+9byPMAEV/7GdT/ps+EOl8WEFhcWY`. Public; safe to log.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// Fingerprint of an RSA public key.
    pub(crate) fn of(key: &rsa::RsaPublicKey) -> KeyId {
        let mut blob = Vec::with_capacity(16 + key.size());
        put_string(&mut blob, b"ssh-rsa");
        put_mpint(&mut blob, &key.e().to_bytes_be());
        put_mpint(&mut blob, &key.n().to_bytes_be());
        let digest = Sha256::digest(&blob);
        KeyId(format!("SHA256:{}", STANDARD_NO_PAD.encode(digest)))
    }

    /// The fingerprint text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An SSH `string`: u32be length, then the bytes.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("SSH string shorter than 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An SSH `mpint` of a non-negative big-endian magnitude: minimal bytes, with a leading
/// zero byte when the top bit is set so it does not read as negative.
fn put_mpint(out: &mut Vec<u8>, magnitude_be: &[u8]) {
    let first_nonzero = magnitude_be
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude_be.len());
    let digits = &magnitude_be[first_nonzero..];
    if digits.first().is_some_and(|b| b & 0x80 != 0) {
        let mut padded = Vec::with_capacity(digits.len() + 1);
        padded.push(0);
        padded.extend_from_slice(digits);
        put_string(out, &padded);
    } else {
        put_string(out, digits);
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// A fingerprint string that does not look like `SHA256:<43 base64 chars>`.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("not an SSH SHA256 fingerprint (expected \"SHA256:\" followed by 43 base64 characters)")]
pub struct KeyIdParseError;

impl FromStr for KeyId {
    type Err = KeyIdParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b64 = s.strip_prefix("SHA256:").ok_or(KeyIdParseError)?;
        match STANDARD_NO_PAD.decode(b64) {
            Ok(bytes) if bytes.len() == 32 => Ok(KeyId(s.to_owned())),
            _ => Err(KeyIdParseError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpint_encoding_follows_rfc4251() {
        let mut out = Vec::new();
        put_mpint(&mut out, &[0x00, 0x80]);
        assert_eq!(out, [0, 0, 0, 2, 0x00, 0x80]);
        out.clear();
        put_mpint(&mut out, &[0x01, 0x00, 0x01]);
        assert_eq!(out, [0, 0, 0, 3, 0x01, 0x00, 0x01]);
        out.clear();
        put_mpint(&mut out, &[0, 0]);
        assert_eq!(out, [0, 0, 0, 0]);
    }

    #[test]
    fn parse_checks_shape() {
        let ok = "SHA256:l9rNRMyw3xD9BR+9byPMAEV/7GdT/ps+EOl8WEFhcWY";
        assert_eq!(ok.parse::<KeyId>().unwrap().as_str(), ok);
        assert!("MD5:aa".parse::<KeyId>().is_err());
        assert!("SHA256:short".parse::<KeyId>().is_err());
    }
}
