//! ESO v2 functions (`FuncSet::EsoV2`), checked against data made by independent tools:
//! OpenSSL (PKCS#8 / PKCS#12 fixtures), rcgen (certificate chains), the `rsa` crate
//! (OAEP encryption for `rsaDecrypt`). Expectations follow ESO `runtime/template/v2/*.go`.

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use sealbox_keys::template::{ErrorKind, FuncSet, Template, Value};

const RSA_KEY: &str = include_str!("fixtures/template/rsa-key.pem");
const RSA_CERT: &str = include_str!("fixtures/template/rsa-cert.pem");
const RSA_PKCS8: &str = include_str!("fixtures/template/rsa-key.pkcs8.pem");
const P12_NOPASS: &[u8] = include_bytes!("fixtures/template/bundle-nopass.p12");
const P12_PASS: &[u8] = include_bytes!("fixtures/template/bundle-pass.p12");

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn eso(
    src: &str,
    data: &[(&str, Vec<u8>)],
) -> Result<Vec<u8>, sealbox_keys::template::TemplateError> {
    let t = Template::parse("t", src, FuncSet::EsoV2)?;
    t.execute(&Value::string_map(
        data.iter().map(|(k, v)| (*k, v.clone())),
    ))
}

fn eso_str(src: &str, data: &[(&str, Vec<u8>)]) -> String {
    String::from_utf8(eso(src, data).unwrap_or_else(|e| panic!("{src}: {e}"))).unwrap()
}

struct Chain {
    root: String,
    inter: String,
    leaf: String,
}

fn chain() -> Chain {
    let root_key = KeyPair::generate().unwrap();
    let mut root_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    root_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_params, root_key);

    let inter_key = KeyPair::generate().unwrap();
    let mut inter_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    inter_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    inter_params.use_authority_key_identifier_extension = true;
    let inter = inter_params.signed_by(&inter_key, &root_issuer).unwrap();
    let inter_issuer = Issuer::new(inter_params, inter_key);

    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec!["example.com".to_string()]).unwrap();
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress("10.0.0.1".parse().unwrap()));
    leaf_params
        .subject_alt_names
        .push(SanType::IpAddress("2001:db8::1".parse().unwrap()));
    leaf_params
        .subject_alt_names
        .push(SanType::Rfc822Name("ops@example.com".try_into().unwrap()));
    leaf_params
        .subject_alt_names
        .push(SanType::URI("spiffe://example.com/app".try_into().unwrap()));
    leaf_params
        .subject_alt_names
        .push(SanType::DnsName("www.example.com".try_into().unwrap()));
    leaf_params.use_authority_key_identifier_extension = true;
    // ExplicitNoCa makes rcgen write basicConstraints CA:FALSE and a SubjectKeyIdentifier,
    // as real issuers do (ESO chains by AuthorityKeyId/SubjectKeyId).
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    let leaf = leaf_params.signed_by(&leaf_key, &inter_issuer).unwrap();
    Chain {
        root: root.pem(),
        inter: inter.pem(),
        leaf: leaf.pem(),
    }
}

#[test]
fn filter_pem_splits_bundles() {
    let bundle = format!("junk before\n{RSA_PKCS8}{RSA_CERT}");
    let d = [("tls", bundle.into_bytes())];
    assert_eq!(
        eso_str(r#"{{ .tls | filterPEM "CERTIFICATE" }}"#, &d),
        RSA_CERT
    );
    assert_eq!(
        eso_str(r#"{{ filterPEM "private key" .tls }}"#, &d),
        RSA_PKCS8
    );
    // no PEM at all → ESO's junk error
    let e = eso(
        r#"{{ filterPEM "CERTIFICATE" .x }}"#,
        &[("x", b"not pem".to_vec())],
    )
    .unwrap_err();
    assert!(matches!(
        e.kind(), ErrorKind::Function { message, .. } if message == "error filtering pem: found junk"));
}

#[test]
fn filter_cert_chain_orders_by_key_ids() {
    let c = chain();
    // shuffled input order
    let bundle = format!("{}{}{}", c.inter, c.root, c.leaf);
    let d = [("chain", bundle.into_bytes())];
    assert_eq!(
        eso_str(r#"{{ filterCertChain "leaf" .chain }}"#, &d),
        c.leaf
    );
    assert_eq!(
        eso_str(r#"{{ filterCertChain "intermediate" .chain }}"#, &d),
        c.inter
    );
    assert_eq!(
        eso_str(r#"{{ filterCertChain "root" .chain }}"#, &d),
        c.root
    );
    assert_eq!(eso_str(r#"{{ filterCertChain "other" .chain }}"#, &d), "");
    // two unrelated leaves → ESO's disjunct error
    let c2 = chain();
    let d = [("chain", format!("{}{}", c.leaf, c2.leaf).into_bytes())];
    let e = eso(r#"{{ filterCertChain "leaf" .chain }}"#, &d).unwrap_err();
    assert!(
        e.to_string()
            .contains("found multiple leaf or disjunct certificates"),
        "{e}"
    );
}

#[test]
fn cert_sans_lists_dns_ip_email_uri() {
    let c = chain();
    let d = [("crt", c.leaf.into_bytes())];
    assert_eq!(
        eso_str(r#"{{ certSANs .crt | join "," }}"#, &d),
        "example.com,www.example.com,10.0.0.1,2001:db8::1,ops@example.com,spiffe://example.com/app"
    );
}

#[test]
fn rsa_decrypt_oaep_with_aws_lc() {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(RSA_KEY).unwrap();
    let public = key.to_public_key();
    let mut rng = rand::rngs::OsRng;
    let ct256 = public
        .encrypt(&mut rng, rsa::Oaep::new::<sha2::Sha256>(), b"db-password")
        .unwrap();
    let ct1 = public
        .encrypt(&mut rng, rsa::Oaep::new::<sha1::Sha1>(), b"sha1-secret")
        .unwrap();
    let d = [
        ("key", RSA_KEY.as_bytes().to_vec()),
        ("pkcs8", RSA_PKCS8.as_bytes().to_vec()),
        ("c256", b64(&ct256).into_bytes()),
        ("c1", b64(&ct1).into_bytes()),
    ];
    assert_eq!(
        eso_str(
            r#"{{ rsaDecrypt "RSA-OAEP" "SHA256" (b64dec .c256) .key }}"#,
            &d
        ),
        "db-password"
    );
    assert_eq!(
        eso_str(
            r#"{{ rsaDecrypt "RSA-OAEP" "SHA256" (b64dec .c256) .pkcs8 }}"#,
            &d
        ),
        "db-password"
    );
    assert_eq!(
        eso_str(
            r#"{{ rsaDecrypt "RSA-OAEP" "SHA1" (b64dec .c1) .key }}"#,
            &d
        ),
        "sha1-secret"
    );
    assert_eq!(
        eso_str(r#"{{ rsaDecrypt "None" "SHA256" "plain" .key }}"#, &d),
        "plain"
    );
    let e = eso(
        r#"{{ rsaDecrypt "RSA-OAEP" "SHA1" (b64dec .c256) .key }}"#,
        &d,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("error decrypting data with RSA"),
        "{e}"
    );
    let e = eso(r#"{{ rsaDecrypt "RSA-OAEP" "SHA1" "x" "nokey" }}"#, &d).unwrap_err();
    assert!(e.to_string().contains("failed to decode PEM block"), "{e}");
    // rsaDecrypt is ESO-only
    assert!(matches!(
        Template::parse(
            "t",
            r#"{{ rsaDecrypt "None" "x" "y" "z" }}"#,
            FuncSet::Sprig
        )
        .unwrap_err()
        .kind(),
        ErrorKind::UnknownFunction(_)
    ));
}

fn jwk_of_fixture() -> String {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::traits::{PrivateKeyParts as _, PublicKeyParts as _};
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(RSA_KEY).unwrap();
    let u =
        |n: &rsa::BigUint| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(n.to_bytes_be());
    format!(
        r#"{{"kty":"RSA","n":"{}","e":"{}","d":"{}","p":"{}","q":"{}"}}"#,
        u(key.n()),
        u(key.e()),
        u(key.d()),
        u(&key.primes()[0]),
        u(&key.primes()[1])
    )
}

#[test]
fn jwk_to_pem_matches_openssl() {
    let d = [("jwk", jwk_of_fixture().into_bytes())];
    // the public key must equal the SubjectPublicKeyInfo inside the OpenSSL-made certificate
    let der = x509_parser::pem::parse_x509_pem(RSA_CERT.as_bytes())
        .unwrap()
        .1
        .contents;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let spki = cert.tbs_certificate.subject_pki.raw;
    let want = {
        let b = b64(spki);
        let mut s = String::from("-----BEGIN PUBLIC KEY-----\n");
        for chunk in b.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap());
            s.push('\n');
        }
        s.push_str("-----END PUBLIC KEY-----\n");
        s
    };
    assert_eq!(eso_str("{{ jwkPublicKeyPem .jwk }}", &d), want);
    assert_eq!(eso_str("{{ jwkPrivateKeyPem .jwk }}", &d), RSA_PKCS8);
    let e = eso(
        "{{ jwkPublicKeyPem .x }}",
        &[("x", br#"{"kty":"EC","crv":"P-256"}"#.to_vec())],
    )
    .unwrap_err();
    assert!(e.to_string().contains("not supported by sealbox"), "{e}");
}

#[test]
fn pkcs12_decode_openssl_bundles() {
    let d = [
        ("nopass", b64(P12_NOPASS).into_bytes()),
        ("withpass", b64(P12_PASS).into_bytes()),
    ];
    assert_eq!(eso_str("{{ .nopass | b64dec | pkcs12key }}", &d), RSA_PKCS8);
    assert_eq!(eso_str("{{ .nopass | b64dec | pkcs12cert }}", &d), RSA_CERT);
    assert_eq!(
        eso_str(r#"{{ .withpass | b64dec | pkcs12keyPass "s3cret" }}"#, &d),
        RSA_PKCS8
    );
    assert_eq!(
        eso_str(r#"{{ .withpass | b64dec | pkcs12certPass "s3cret" }}"#, &d),
        RSA_CERT
    );
    let e = eso(r#"{{ .withpass | b64dec | pkcs12keyPass "wrong" }}"#, &d).unwrap_err();
    assert!(
        !e.to_string().contains("s3cret") && e.to_string().contains("unable to decode"),
        "{e}"
    );
}

#[test]
fn pkcs12_encode_round_trips() {
    let c = chain();
    let d = [
        ("crt", RSA_CERT.as_bytes().to_vec()),
        ("key", RSA_KEY.as_bytes().to_vec()),
        ("ca", format!("{}{}", c.inter, c.root).into_bytes()),
        ("full", format!("{RSA_CERT}{}", c.root).into_bytes()),
    ];
    assert_eq!(
        eso_str("{{ pemToPkcs12 .crt .key | b64dec | pkcs12key }}", &d),
        RSA_PKCS8
    );
    assert_eq!(
        eso_str(
            r#"{{ pemToPkcs12Pass .crt .key "pw" | b64dec | pkcs12keyPass "pw" }}"#,
            &d
        ),
        RSA_PKCS8
    );
    assert_eq!(
        eso_str(
            r#"{{ pemToPkcs12Pass .crt .key "pw" | b64dec | pkcs12certPass "pw" }}"#,
            &d
        ),
        RSA_CERT
    );
    // the chain's CA certificates come back after the leaf (unordered: they do not chain)
    assert_eq!(
        eso_str("{{ fullPemToPkcs12 .full .key | b64dec | pkcs12cert }}", &d),
        format!("{RSA_CERT}{}", c.root)
    );
    // a truststore holds certificates only (no key): pkcs12key reports the missing key
    let e = eso(
        r#"{{ pemTruststoreToPKCS12Pass .ca "pw" | b64dec | pkcs12keyPass "pw" }}"#,
        &d,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("private key missing")
            || e.to_string().contains("certificate missing"),
        "{e}"
    );
    let out = eso_str("{{ pemTruststoreToPKCS12 .ca }}", &d);
    let der = base64::engine::general_purpose::STANDARD
        .decode(out)
        .unwrap();
    let archive = p12_keystore::Pkcs12Archive::from_pkcs12(&der, "").unwrap();
    assert_eq!(archive.certs.len(), 2);
    // OpenSSL, when present, reads what we wrote
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_ok()
    {
        let p12 = base64::engine::general_purpose::STANDARD
            .decode(eso_str(r#"{{ pemToPkcs12Pass .crt .key "pw" }}"#, &d))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.p12");
        std::fs::write(&path, p12).unwrap();
        let out = std::process::Command::new("openssl")
            .args(["pkcs12", "-in"])
            .arg(&path)
            .args(["-passin", "pass:pw", "-nokeys"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("BEGIN CERTIFICATE"));
    }
}

#[test]
fn yaml_round_trip() {
    let d = [("cfg", b"a: 1\nb:\n  - x\n  - z\nc:\n  d: e\n".to_vec())];
    assert_eq!(
        eso_str(
            "{{ (fromYaml .cfg).c.d }} {{ (fromYaml .cfg).b }} {{ (fromYaml .cfg).a }}",
            &d
        ),
        "e [x z] 1"
    );
    let y = eso_str(
        r#"{{ toYaml (dict "a" 1 "b" (list "x" "z") "c" (dict "d" "e")) }}"#,
        &d,
    );
    // the YAML must parse back to the same data
    let back = eso_str(&format!("{{{{ toJson (fromYaml {:?}) }}}}", y), &d);
    assert_eq!(back, r#"{"a":1,"b":["x","z"],"c":{"d":"e"}}"#);
    assert_eq!(
        eso_str(r#"{{ (fromYaml "- a\n- b").Error | len | lt 0 }}"#, &d),
        "true"
    );
    // hexdec is ESO's vendored-sprig addition
    assert_eq!(
        eso_str(r#"{{ hexdec "6869" }}|{{ hexdec "6" }}"#, &d),
        "hi|encoding/hex: odd length hex string"
    );
}
