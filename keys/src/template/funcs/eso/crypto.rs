//! ESO `rsaDecrypt` (`decrypt.go`) and `jwkPublicKeyPem` / `jwkPrivateKeyPem` (`jwk.go`).
//!
//! The RSA private-key operation runs in aws-lc-rs (constant time); the `rsa` crate is used
//! only to convert key formats (PKCS#1 → PKCS#8, JWK components → DER). JWK support covers
//! `kty: RSA`; EC and OKP keys give a clear "not supported by sealbox" error at run time.

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
use zeroize::Zeroizing;

use super::pem;
use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, s, take_str};
use crate::template::value::Value;

type R = Result<Value, FuncError>;

/// ESO `parsePrivateKey` (PKCS#1, then PKCS#8) returning PKCS#8 DER for an RSA key.
pub(crate) fn rsa_pkcs8_from_der(der: &[u8]) -> Result<Zeroizing<Vec<u8>>, FuncError> {
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_der(der) {
        let doc = k
            .to_pkcs8_der()
            .map_err(|_| FuncError::msg("unable to parse private key type"))?;
        return Ok(Zeroizing::new(doc.as_bytes().to_vec()));
    }
    Ok(Zeroizing::new(der.to_vec()))
}

pub(super) fn rsa_decrypt(_: &CallCtx, mut a: Vec<Value>) -> R {
    use aws_lc_rs::rsa::{
        OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OAEP_SHA512_MGF1SHA512,
        OaepPrivateDecryptingKey, PrivateDecryptingKey,
    };
    let scheme = take_str(&mut a, 0);
    let hash = take_str(&mut a, 1);
    let input = take_str(&mut a, 2);
    let key_pem = Zeroizing::new(take_str(&mut a, 3));
    match scheme.as_slice() {
        b"None" => return s(input),
        b"RSA-OAEP" => {}
        other => {
            return Err(FuncError::msg(format!(
                "decryption scheme {} is not supported",
                String::from_utf8_lossy(other)
            )));
        }
    }
    let (block, _) = pem::decode(&key_pem);
    let Some(block) = block else {
        return Err(FuncError::msg("failed to decode PEM block"));
    };
    let der = Zeroizing::new(block.bytes);
    let pkcs8 = rsa_pkcs8_from_der(&der)?;
    let key = PrivateDecryptingKey::from_pkcs8(&pkcs8).map_err(|_| {
        FuncError::msg("could not parse private key: unable to parse private key type")
    })?;
    let key = OaepPrivateDecryptingKey::new(key)
        .map_err(|_| FuncError::msg("could not parse RSA private key"))?;
    let alg = match hash.as_slice() {
        b"SHA1" => &OAEP_SHA1_MGF1SHA1,
        b"SHA512" => &OAEP_SHA512_MGF1SHA512,
        _ => &OAEP_SHA256_MGF1SHA256,
    };
    let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let plain = key.decrypt(alg, &input, &mut out, None).map_err(|_| {
        FuncError::msg("error decrypting data with RSA: crypto/rsa: decryption error")
    })?;
    s(plain.to_vec())
}

fn b64url(v: &serde_json::Value, field: &str) -> Result<rsa::BigUint, FuncError> {
    let s = v.get(field).and_then(|x| x.as_str()).ok_or_else(|| {
        FuncError::msg(format!(
            "failed to parse key: required field {field} is missing"
        ))
    })?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| {
            FuncError::msg(format!(
                "failed to parse key: invalid base64 in field {field}"
            ))
        })?;
    Ok(rsa::BigUint::from_bytes_be(&bytes))
}

fn parse_jwk(input: &[u8]) -> Result<serde_json::Value, FuncError> {
    let v: serde_json::Value = serde_json::from_slice(input)
        .map_err(|_| FuncError::msg("failed to parse key: invalid JSON"))?;
    match v.get("kty").and_then(|k| k.as_str()) {
        Some("RSA") => Ok(v),
        Some(other) => Err(FuncError::msg(format!(
            "jwk key type {other:?} is not supported by sealbox (only RSA)"
        ))),
        None => Err(FuncError::msg("failed to parse key: kty is missing")),
    }
}

pub(super) fn jwk_public_key_pem(_: &CallCtx, mut a: Vec<Value>) -> R {
    let input = Zeroizing::new(take_str(&mut a, 0));
    let v = parse_jwk(&input)?;
    let key = rsa::RsaPublicKey::new(b64url(&v, "n")?, b64url(&v, "e")?)
        .map_err(|_| FuncError::msg("failed to parse key: invalid RSA public key"))?;
    let der = key
        .to_public_key_der()
        .map_err(|_| FuncError::msg("failed to marshal public key"))?;
    s(pem::encode("PUBLIC KEY", der.as_bytes()))
}

pub(super) fn jwk_private_key_pem(_: &CallCtx, mut a: Vec<Value>) -> R {
    let input = Zeroizing::new(take_str(&mut a, 0));
    let v = parse_jwk(&input)?;
    let n = b64url(&v, "n")?;
    let e = b64url(&v, "e")?;
    let d = b64url(&v, "d")?;
    let primes = match (b64url(&v, "p"), b64url(&v, "q")) {
        (Ok(p), Ok(q)) => vec![p, q],
        _ => Vec::new(),
    };
    let key = if primes.is_empty() {
        rsa::RsaPrivateKey::from_components(n, e, d, Vec::new())
    } else {
        rsa::RsaPrivateKey::from_components(n, e, d, primes)
    }
    .map_err(|_| FuncError::msg("failed to parse key: invalid RSA private key"))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|_| FuncError::msg("failed to marshal private key"))?;
    s(pem::encode("PRIVATE KEY", der.as_bytes()))
}
