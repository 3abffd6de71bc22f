//! Certificates: the Bitnami-shaped self-signed certificate, parsing, and the checks
//! kubeseal applies before sealing.

use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use sealbox_keys::sealing::{
    Certificate, CertificateError, CertificateOptions, KeyError, KeySize, PrivateKey, PublicKey,
};
use secrecy::ExposeSecret as _;
use x509_parser::extensions::ParsedExtension;

fn cert_fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/certs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn self_signed_certificate_is_shaped_like_the_controllers() {
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("generate");
    let not_before = Timestamp::from_second(1_800_000_000).unwrap();
    let cert = Certificate::self_signed(&key, &CertificateOptions::starting_at(not_before))
        .expect("certificate");
    assert_eq!(cert.public_key(), key.public_key());
    assert_eq!(cert.not_before(), not_before);
    assert_eq!(
        cert.not_after().duration_since(cert.not_before()),
        SignedDuration::from_hours(87_600),
        "10 years like --key-ttl 87600h"
    );

    let (_, x509) = x509_parser::parse_x509_certificate(cert.der()).expect("x509");
    assert_eq!(x509.subject().iter().count(), 0, "empty subject DN");
    assert_eq!(x509.issuer().iter().count(), 0, "empty issuer DN");
    assert_eq!(
        x509.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11",
        "sha256WithRSAEncryption"
    );
    let serial = x509.raw_serial();
    let significant = serial.iter().skip_while(|b| **b == 0).count();
    assert!(significant <= 16, "serial below 2^128");
    let mut saw_ku = false;
    let mut saw_bc = false;
    let mut saw_ski = false;
    for ext in x509.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::KeyUsage(ku) => {
                saw_ku = true;
                assert!(ext.critical, "keyUsage critical");
                assert!(ku.encipher_only());
                assert!(!ku.digital_signature() && !ku.key_encipherment() && !ku.key_cert_sign());
            }
            ParsedExtension::BasicConstraints(bc) => {
                saw_bc = true;
                assert!(ext.critical, "basicConstraints critical");
                assert!(bc.ca);
                assert_eq!(bc.path_len_constraint, None);
            }
            ParsedExtension::SubjectKeyIdentifier(_) => saw_ski = true,
            ParsedExtension::AuthorityKeyIdentifier(_) => {
                panic!("no AKI on a self-signed key cert")
            }
            _ => {}
        }
    }
    assert!(saw_ku && saw_bc && saw_ski);
    // The signature verifies with the certified key (self-signed).
    let spki_key = x509.public_key().subject_public_key.data.to_vec();
    aws_lc_rs::signature::UnparsedPublicKey::new(
        &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
        spki_key,
    )
    .verify(x509.tbs_certificate.as_ref(), &x509.signature_value.data)
    .expect("self-signature verifies");

    // PEM round trip.
    let again = Certificate::from_pem(&cert.to_pem()).expect("pem");
    assert_eq!(again.der(), cert.der());
}

#[test]
fn two_certificates_get_different_random_serials() {
    let key = PrivateKey::generate(KeySize::Rsa2048).expect("generate");
    let options = CertificateOptions::starting_at(Timestamp::now());
    let a = Certificate::self_signed(&key, &options).unwrap();
    let b = Certificate::self_signed(&key, &options).unwrap();
    let serial = |c: &Certificate| {
        x509_parser::parse_x509_certificate(c.der())
            .unwrap()
            .1
            .raw_serial()
            .to_vec()
    };
    assert_ne!(serial(&a), serial(&b));
}

#[test]
fn rsa_4096_generation_makes_a_usable_sealing_key() {
    let key = PrivateKey::generate(KeySize::Rsa4096).expect("generate");
    assert_eq!(key.bits(), 4096);
    let cert =
        Certificate::self_signed(&key, &CertificateOptions::starting_at(Timestamp::now())).unwrap();
    cert.check_usable_for_sealing(Timestamp::now())
        .expect("usable");
    let pem = key.to_pkcs1_pem();
    assert!(
        pem.expose_secret()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    assert_eq!(
        PrivateKey::from_pem(pem.expose_secret()).unwrap().key_id(),
        key.key_id()
    );
}

#[test]
fn kubeseal_refuses_expired_small_and_non_rsa_certificates_and_so_do_we() {
    let now = Timestamp::from_second(1_790_000_000).unwrap(); // 2026-09
    let expired = Certificate::from_pem(&cert_fixture("expired-rsa2048.cert.pem")).unwrap();
    assert!(matches!(
        expired.check_usable_for_sealing(now),
        Err(CertificateError::Expired { .. })
    ));
    let small = Certificate::from_pem(&cert_fixture("rsa1024.cert.pem")).unwrap();
    match small.check_usable_for_sealing(now) {
        Err(CertificateError::Key(KeyError::TooSmall {
            bits: 1024,
            minimum: 2048,
        })) => {}
        other => panic!("expected TooSmall, got {other:?}"),
    }
    match Certificate::from_pem(&cert_fixture("ec-p256.cert.pem")) {
        Err(CertificateError::Key(KeyError::NotRsa { found })) => assert!(found.contains("EC")),
        other => panic!("expected NotRsa, got {other:?}"),
    }
    let byo = Certificate::from_pem(&cert_fixture("byo-rsa2048.cert.pem")).unwrap();
    byo.check_usable_for_sealing(now)
        .expect("a CN-subject RSA-2048 cert is fine");
}

#[test]
fn a_public_key_comes_from_a_certificate_an_spki_pem_or_a_pkcs1_pem() {
    let from_cert = PublicKey::from_pem(&cert_fixture("byo-rsa2048.cert.pem")).unwrap();
    let from_spki = PublicKey::from_pem(&cert_fixture("byo-rsa2048.pub.pem")).unwrap();
    assert_eq!(from_cert, from_spki);
    assert_eq!(
        PublicKey::from_pem(&from_spki.to_spki_pem()).unwrap(),
        from_spki
    );
    let private = PrivateKey::from_pem(&cert_fixture("byo-rsa2048.key.pem")).unwrap();
    assert_eq!(
        private.public_key(),
        &from_cert,
        "PKCS#8 key matches its cert"
    );
    let pkcs1_pub = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_pem(
        &<rsa::RsaPublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_pem(&cert_fixture(
            "byo-rsa2048.pub.pem",
        ))
        .unwrap(),
        rsa::pkcs8::LineEnding::LF,
    )
    .unwrap();
    assert_eq!(PublicKey::from_pem(&pkcs1_pub).unwrap(), from_cert);
    assert!(matches!(
        PublicKey::from_pem("not pem"),
        Err(KeyError::NoPemBlock { .. })
    ));
}

#[test]
fn private_key_errors_are_clear_and_never_echo_the_key() {
    let pem = cert_fixture("expired-rsa2048.key.pem");
    // Corrupt the base64 body: the error must name the block, not show its bytes.
    let body_line = pem.lines().nth(3).unwrap().to_owned();
    let corrupted = pem.replacen(&body_line, &"!".repeat(body_line.len()), 1);
    let err = PrivateKey::from_pem(&corrupted).unwrap_err().to_string();
    assert!(err.contains("RSA PRIVATE KEY"), "{err}");
    assert!(!err.contains(&body_line[..20]), "{err}");
    assert!(matches!(
        PrivateKey::from_pem(&cert_fixture("byo-rsa2048.cert.pem")),
        Err(KeyError::NoPemBlock { .. })
    ));
    let ec_key = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
    assert!(matches!(
        PrivateKey::from_pem(ec_key),
        Err(KeyError::NotRsa { .. })
    ));
    let encrypted =
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    assert!(
        PrivateKey::from_pem(encrypted)
            .unwrap_err()
            .to_string()
            .contains("unencrypted")
    );
}

#[test]
fn debug_output_never_contains_key_material() {
    let pem = cert_fixture("byo-rsa2048.key.pem");
    let key = PrivateKey::from_pem(&pem).unwrap();
    let debug = format!("{key:?}");
    assert!(debug.contains("SHA256:"), "{debug}");
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!debug.contains(&line[..16]), "{debug}");
    }
    let pkcs1 = key.to_pkcs1_pem();
    assert_eq!(format!("{pkcs1:?}"), "SecretBox<str>([REDACTED])");
}
