//! ESO template engine v2's own functions (`runtime/template/v2/template.go` `tplFuncs`),
//! plus `hexdec` from ESO's vendored sprig copy. Only in [`FuncSet::EsoV2`].
//!
//! [`FuncSet::EsoV2`]: crate::template::FuncSet::EsoV2

use std::collections::HashMap;

use super::{FuncDef, Ty, f};

mod crypto;
pub(crate) mod pem;
mod pkcs12;
mod yaml;

pub(crate) fn register(t: &mut HashMap<&'static str, FuncDef>) {
    use Ty::*;
    t.insert("pkcs12key", f(&[Str], pkcs12::pkcs12_key));
    t.insert("pkcs12keyPass", f(&[Str, Str], pkcs12::pkcs12_key_pass));
    t.insert("pkcs12cert", f(&[Str], pkcs12::pkcs12_cert));
    t.insert("pkcs12certPass", f(&[Str, Str], pkcs12::pkcs12_cert_pass));
    t.insert("pemToPkcs12", f(&[Str, Str], pkcs12::pem_to_pkcs12));
    t.insert(
        "pemToPkcs12Pass",
        f(&[Str, Str, Str], pkcs12::pem_to_pkcs12_pass),
    );
    t.insert(
        "fullPemToPkcs12",
        f(&[Str, Str], pkcs12::full_pem_to_pkcs12),
    );
    t.insert(
        "fullPemToPkcs12Pass",
        f(&[Str, Str, Str], pkcs12::full_pem_to_pkcs12_pass),
    );
    t.insert(
        "pemTruststoreToPKCS12",
        f(&[Str], pkcs12::pem_truststore_to_pkcs12),
    );
    t.insert(
        "pemTruststoreToPKCS12Pass",
        f(&[Str, Str], pkcs12::pem_truststore_to_pkcs12_pass),
    );
    t.insert("filterPEM", f(&[Str, Str], pem::filter_pem));
    t.insert("filterCertChain", f(&[Str, Str], pem::filter_cert_chain));
    t.insert("certSANs", f(&[Str], pem::cert_sans));
    t.insert("jwkPublicKeyPem", f(&[Str], crypto::jwk_public_key_pem));
    t.insert("jwkPrivateKeyPem", f(&[Str], crypto::jwk_private_key_pem));
    t.insert("toYaml", f(&[Any], yaml::to_yaml));
    t.insert("fromYaml", f(&[Str], yaml::from_yaml));
    t.insert("rsaDecrypt", f(&[Str, Str, Str, Str], crypto::rsa_decrypt));
    t.insert(
        "hexdec",
        f(&[Str], |_, mut a| {
            let v = super::take_str(&mut a, 0);
            match hex::decode(&v) {
                Ok(d) => super::s(d),
                Err(hex::FromHexError::OddLength) => {
                    super::s("encoding/hex: odd length hex string")
                }
                Err(hex::FromHexError::InvalidHexCharacter { c, .. }) => super::s(format!(
                    "encoding/hex: invalid byte: {}",
                    crate::template::gofmt::format_unicode_sharp(c)
                )),
                Err(_) => super::s("encoding/hex: invalid byte"),
            }
        }),
    );
}
