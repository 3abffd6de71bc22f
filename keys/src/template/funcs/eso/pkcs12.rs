//! ESO's PKCS#12 helpers (`runtime/template/v2/pkcs12.go`, built on go-pkcs12):
//! `pkcs12key(Pass)`, `pkcs12cert(Pass)` decode an archive (the first certificate bag is the
//! certificate, later ones are CA certificates, exactly one key is required);
//! `pemToPkcs12(Pass)`, `fullPemToPkcs12(Pass)`, `pemTruststoreToPKCS12(Pass)` encode one,
//! base64-encoded, with the algorithms of go-pkcs12's `Modern` encoder (PBES2 AES-256-CBC
//! with PBKDF2-HMAC-SHA-256, HMAC-SHA-256 MAC, 2048 iterations) via `p12-keystore`. Encoded
//! archives use random salts, so (as in Go) they differ on every call.

use base64::Engine as _;
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, PrivateKey,
    PrivateKeyChain,
};
use zeroize::Zeroizing;

use super::crypto::rsa_pkcs8_from_der;
use super::pem::{self, certs_from_pem, order_chain, parse_cert};
use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, s, take_str};
use crate::template::value::Value;

type R = Result<Value, FuncError>;

const ITERATIONS: u32 = 2048;

struct Decoded {
    key: Zeroizing<Vec<u8>>,
    cert: Vec<u8>,
    ca: Vec<Vec<u8>>,
}

/// go-pkcs12 `DecodeChain`.
fn decode_chain(data: &[u8], pass: &[u8], what: &str) -> Result<Decoded, FuncError> {
    let pass = String::from_utf8_lossy(pass);
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(data, &pass).map_err(|_| {
        FuncError::msg(format!(
            "unable to decode {what} with password: pkcs12: decoding the archive failed (wrong password or malformed data)"
        ))
    })?;
    if archive.keys.len() > 1 {
        return Err(FuncError::msg(format!(
            "unable to decode {what} with password: pkcs12: expected exactly one key bag"
        )));
    }
    let mut certs = archive.certs.into_iter().map(|c| c.cert.as_der().to_vec());
    let cert = certs.next().ok_or_else(|| {
        FuncError::msg(format!(
            "unable to decode {what} with password: pkcs12: certificate missing"
        ))
    })?;
    let key = archive.keys.into_iter().next().ok_or_else(|| {
        FuncError::msg(format!(
            "unable to decode {what} with password: pkcs12: private key missing"
        ))
    })?;
    Ok(Decoded {
        key: Zeroizing::new(key.key.as_der().to_vec()),
        cert,
        ca: certs.collect(),
    })
}

pub(super) fn pkcs12_key(_: &CallCtx, mut a: Vec<Value>) -> R {
    let input = take_str(&mut a, 0);
    key_impl(b"", &input)
}

pub(super) fn pkcs12_key_pass(_: &CallCtx, mut a: Vec<Value>) -> R {
    let pass = Zeroizing::new(take_str(&mut a, 0));
    let input = take_str(&mut a, 1);
    key_impl(&pass, &input)
}

fn key_impl(pass: &[u8], input: &[u8]) -> R {
    let d = decode_chain(input, pass, "pkcs12")?;
    s(pem::encode("PRIVATE KEY", &d.key))
}

pub(super) fn pkcs12_cert(_: &CallCtx, mut a: Vec<Value>) -> R {
    let input = take_str(&mut a, 0);
    cert_impl(b"", &input)
}

pub(super) fn pkcs12_cert_pass(_: &CallCtx, mut a: Vec<Value>) -> R {
    let pass = Zeroizing::new(take_str(&mut a, 0));
    let input = take_str(&mut a, 1);
    cert_impl(&pass, &input)
}

fn cert_impl(pass: &[u8], input: &[u8]) -> R {
    let d = decode_chain(input, pass, "pkcs12 certificate")?;
    let mut pem_data = pem::encode("CERTIFICATE", &d.cert);
    for ca in &d.ca {
        pem_data.extend(pem::encode("CERTIFICATE", ca));
    }
    // ESO: try to order the chain; on failure return the unordered PEM data.
    match certs_from_pem(&pem_data).and_then(order_chain) {
        Ok(ordered) => {
            let mut out = Vec::new();
            for c in ordered {
                out.extend(pem::encode("CERTIFICATE", &c.raw));
            }
            s(out)
        }
        Err(_) => s(pem_data),
    }
}

fn nil_deref() -> FuncError {
    FuncError::msg("runtime error: invalid memory address or nil pointer dereference")
}

fn first_cert(pem_text: &[u8]) -> Result<(Vec<u8>, &[u8]), FuncError> {
    let (block, rest) = pem::decode(pem_text);
    let block = block.ok_or_else(nil_deref)?;
    parse_cert(&block.bytes)?;
    Ok((block.bytes, rest))
}

/// ESO `parseCaCerts`: every block must be a certificate.
fn ca_certs(mut rest: &[u8]) -> Result<Vec<Vec<u8>>, FuncError> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (block, r) = pem::decode(rest);
        let block = block.ok_or_else(nil_deref)?;
        parse_cert(&block.bytes)?;
        out.push(block.bytes);
        rest = r;
    }
    Ok(out)
}

fn write_store(store: &KeyStore, pass: &[u8]) -> R {
    let pass = String::from_utf8_lossy(pass);
    let der = store
        .writer(&pass)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .encryption_iterations(ITERATIONS)
        .mac_algorithm(MacAlgorithm::HmacSha256)
        .mac_iterations(ITERATIONS)
        .write()
        .map_err(|_| FuncError::msg("pkcs12: encoding failed"))?;
    s(base64::engine::general_purpose::STANDARD.encode(der))
}

fn certs_key_to_pkcs12(cert: Vec<u8>, key_pem: &[u8], ca: Vec<Vec<u8>>, pass: &[u8]) -> R {
    let (block, _) = pem::decode(key_pem);
    let block = block.ok_or_else(nil_deref)?;
    let der = Zeroizing::new(block.bytes);
    let pkcs8 = rsa_pkcs8_from_der(&der)?;
    let key = PrivateKey::from_der(&pkcs8)
        .map_err(|_| FuncError::msg("unable to parse private key type"))?;
    let mut chain = vec![
        Certificate::from_der(&cert).map_err(|_| FuncError::msg("x509: malformed certificate"))?,
    ];
    for c in &ca {
        chain.push(
            Certificate::from_der(c).map_err(|_| FuncError::msg("x509: malformed certificate"))?,
        );
    }
    let local_key_id = {
        use sha1::Digest as _;
        sha1::Sha1::digest(&cert).to_vec()
    };
    let mut store = KeyStore::new();
    store.add_entry(
        "1",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(local_key_id, key, chain)),
    );
    write_store(&store, pass)
}

pub(super) fn pem_to_pkcs12(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cert = take_str(&mut a, 0);
    let key = Zeroizing::new(take_str(&mut a, 1));
    let (c, _) = first_cert(&cert)?;
    certs_key_to_pkcs12(c, &key, Vec::new(), b"")
}

pub(super) fn pem_to_pkcs12_pass(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cert = take_str(&mut a, 0);
    let key = Zeroizing::new(take_str(&mut a, 1));
    let pass = Zeroizing::new(take_str(&mut a, 2));
    let (c, _) = first_cert(&cert)?;
    certs_key_to_pkcs12(c, &key, Vec::new(), &pass)
}

pub(super) fn full_pem_to_pkcs12(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cert = take_str(&mut a, 0);
    let key = Zeroizing::new(take_str(&mut a, 1));
    let (c, rest) = first_cert(&cert)?;
    let ca = ca_certs(rest)?;
    certs_key_to_pkcs12(c, &key, ca, b"")
}

pub(super) fn full_pem_to_pkcs12_pass(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cert = take_str(&mut a, 0);
    let key = Zeroizing::new(take_str(&mut a, 1));
    let pass = Zeroizing::new(take_str(&mut a, 2));
    let (c, rest) = first_cert(&cert)?;
    let ca = ca_certs(rest)?;
    certs_key_to_pkcs12(c, &key, ca, &pass)
}

fn truststore(certs: &[u8], pass: &[u8]) -> R {
    let ca = ca_certs(certs)?;
    let mut store = KeyStore::new();
    for (i, c) in ca.iter().enumerate() {
        let cert =
            Certificate::from_der(c).map_err(|_| FuncError::msg("x509: malformed certificate"))?;
        store.add_entry(&format!("{i}"), KeyStoreEntry::Certificate(cert));
    }
    write_store(&store, pass)
}

pub(super) fn pem_truststore_to_pkcs12(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cert = take_str(&mut a, 0);
    truststore(&cert, b"")
}

pub(super) fn pem_truststore_to_pkcs12_pass(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cert = take_str(&mut a, 0);
    let pass = Zeroizing::new(take_str(&mut a, 1));
    truststore(&cert, &pass)
}
