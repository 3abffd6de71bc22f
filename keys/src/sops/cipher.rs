//! The SOPS value cipher: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.
//!
//! AES-256-GCM with a **32-byte** IV (sops' `nonceSize`, non-standard but supported by
//! `AesGcm<Aes256, U32>`), AAD = the key path joined with `:` plus a trailing `:`, and the
//! plaintext bytes each Go type marshals to (`aes/cipher.go`). The [`IvStash`] reproduces
//! sops' IV reuse so that re-encrypting an unchanged value at the same path yields the same
//! ciphertext, which keeps git diffs after `edit`/`set` small.

use std::collections::HashMap;
use std::fmt;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::{U12, U32};
use aes_gcm::aead::{Aead, AeadInPlace, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::gofmt::{self, GoTime};

type SopsGcm = AesGcm<Aes256, U32>;
type StdGcm = AesGcm<Aes256, U12>;

/// Length of the IV sops generates for every value.
pub const IV_LEN: usize = 32;
const TAG_LEN: usize = 16;

/// The per-file 256-bit data key. Zeroed on drop; `Debug` never shows it.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// Wrap raw key bytes (e.g. unwrapped from an age stanza or recombined from Shamir shares).
    pub fn from_bytes(bytes: &[u8]) -> Option<DataKey> {
        let arr: [u8; 32] = bytes.try_into().ok()?;
        Some(DataKey(Zeroizing::new(arr)))
    }

    /// A fresh random data key, as `GenerateDataKeyWithKeyServices` makes.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> DataKey {
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        DataKey(key)
    }

    /// The raw key bytes (for wrapping with master keys).
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

impl PartialEq for DataKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0[..]).into()
    }
}

/// A typed scalar as sops' Go tree holds it.
#[derive(Clone, PartialEq)]
pub enum Scalar {
    /// `string` (`type:str`).
    Str(String),
    /// `int` (`type:int`), 64-bit like Go's `int`.
    Int(i64),
    /// `float64` (`type:float`).
    Float(f64),
    /// `bool` (`type:bool`).
    Bool(bool),
    /// `time.Time` (`type:time`).
    Time(GoTime),
    /// `[]byte` (`type:bytes`).
    Bytes(Vec<u8>),
    /// A Go `string` holding bytes that are not valid UTF-8 (`type:str`; binary files).
    BinStr(Vec<u8>),
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are secrets: only their type is ever printed.
        write!(f, "Scalar::{}(<redacted>)", self.type_tag())
    }
}

impl Scalar {
    /// The `type:` tag sops writes for this value.
    pub fn type_tag(&self) -> &'static str {
        match self {
            Scalar::Str(_) | Scalar::BinStr(_) => "str",
            Scalar::Int(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Bool(_) => "bool",
            Scalar::Time(_) => "time",
            Scalar::Bytes(_) => "bytes",
        }
    }

    /// `sops.ToBytes`: the bytes that are encrypted and fed into the MAC.
    pub fn to_sops_bytes(&self) -> Vec<u8> {
        match self {
            Scalar::Str(s) => s.as_bytes().to_vec(),
            Scalar::Int(i) => i.to_string().into_bytes(),
            Scalar::Float(f) => gofmt::format_float_f(*f).into_bytes(),
            Scalar::Bool(true) => b"True".to_vec(),
            Scalar::Bool(false) => b"False".to_vec(),
            Scalar::Time(t) => t.format_rfc3339_nano().into_bytes(),
            Scalar::Bytes(b) | Scalar::BinStr(b) => b.clone(),
        }
    }

    /// Empty strings are never encrypted (`isEmpty` in `aes/cipher.go`).
    pub fn is_empty_value(&self) -> bool {
        match self {
            Scalar::Str(s) => s.is_empty(),
            Scalar::Bytes(b) | Scalar::BinStr(b) => b.is_empty(),
            _ => false,
        }
    }

    /// Parse decrypted bytes according to their `type:` tag, as `Cipher.Decrypt` does.
    pub fn from_sops_bytes(type_tag: &str, bytes: Vec<u8>) -> Result<Plain, String> {
        let text =
            || String::from_utf8(bytes.clone()).map_err(|_| "value is not UTF-8".to_string());
        Ok(match type_tag {
            "str" => match String::from_utf8(bytes) {
                Ok(s) => Plain::Value(Scalar::Str(s)),
                Err(e) => Plain::Value(Scalar::BinStr(e.into_bytes())),
            },
            "int" => Plain::Value(Scalar::Int(
                gofmt::atoi(&text()?).ok_or("type:int value is not a decimal integer")?,
            )),
            "float" => Plain::Value(Scalar::Float(
                gofmt::parse_float(&text()?).ok_or("type:float value is not a number")?,
            )),
            "bool" => Plain::Value(Scalar::Bool(
                gofmt::parse_bool(&text()?).ok_or("type:bool value is not a boolean")?,
            )),
            "time" => Plain::Value(Scalar::Time(
                GoTime::parse_rfc3339(&text()?).ok_or("type:time value is not RFC 3339")?,
            )),
            "bytes" => Plain::Value(Scalar::Bytes(bytes)),
            "comment" => Plain::Comment(text()?),
            other => return Err(format!("Unknown datatype: {other}")),
        })
    }
}

/// A decrypted leaf: a value or a comment.
#[derive(Clone, Debug, PartialEq)]
pub enum Plain {
    /// A scalar value.
    Value(Scalar),
    /// Comment text (what follows `#`).
    Comment(String),
}

impl Plain {
    fn type_tag(&self) -> &'static str {
        match self {
            Plain::Value(v) => v.type_tag(),
            Plain::Comment(_) => "comment",
        }
    }
    fn bytes(&self) -> Vec<u8> {
        match self {
            Plain::Value(v) => v.to_sops_bytes(),
            Plain::Comment(c) => c.as_bytes().to_vec(),
        }
    }
}

/// A parsed `ENC[AES256_GCM,…]` string.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedValue {
    data: Vec<u8>,
    iv: Vec<u8>,
    tag: Vec<u8>,
    type_tag: String,
}

impl fmt::Debug for EncryptedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EncryptedValue(type:{}, {} bytes)",
            self.type_tag,
            self.data.len()
        )
    }
}

/// Where the last `,` + `field` starts in `s`: `s.rfind(",type:")` for `field` = `"type:"`,
/// found by trying the commas from the end (base64 has none, so the first one tried is
/// normally it; a substring searcher per field was ~3% of decrypting a large file).
fn rfind_field(s: &str, field: &str) -> Option<usize> {
    let mut end = s.len();
    while let Some(i) = s[..end].rfind(',') {
        if s[i + 1..].starts_with(field) {
            return Some(i);
        }
        end = i;
    }
    None
}

impl EncryptedValue {
    /// Quick test used by stores: does this text look like a sops value?
    pub fn looks_encrypted(s: &str) -> bool {
        s.starts_with("ENC[AES256_GCM,data:")
    }

    /// Parse with sops' regex `^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`.
    pub fn parse(s: &str) -> Result<EncryptedValue, String> {
        let bad = || "Input string does not match sops' data format".to_string();
        let rest = s.strip_prefix("ENC[AES256_GCM,data:").ok_or_else(bad)?;
        // Greedy groups as in Go's regexp: the last `]` closes, the last `,type:` splits.
        let close = rest.rfind(']').ok_or_else(bad)?;
        let body = &rest[..close];
        let t = rfind_field(body, "type:").ok_or_else(bad)?;
        let type_tag = &body[t + 6..];
        let body = &body[..t];
        let g = rfind_field(body, "tag:").ok_or_else(bad)?;
        let tag = &body[g + 5..];
        let body = &body[..g];
        let v = rfind_field(body, "iv:").ok_or_else(bad)?;
        let iv = &body[v + 4..];
        let data = &body[..v];
        if data.is_empty() || iv.is_empty() || tag.is_empty() || type_tag.is_empty() {
            return Err(bad());
        }
        let dec = |what: &str, x: &str| {
            B64.decode(x)
                .map_err(|e| format!("Error base64-decoding {what}: {e}"))
        };
        Ok(EncryptedValue {
            data: dec("data", data)?,
            iv: dec("iv", iv)?,
            tag: dec("tag", tag)?,
            type_tag: type_tag.to_string(),
        })
    }

    /// The `type:` tag.
    pub fn type_tag(&self) -> &str {
        &self.type_tag
    }

    /// Parse `s` only if it is exactly the text sops writes for a value (the same bytes come
    /// back from `to_string`). Stores read leaves with this: anything else that merely
    /// starts like one (a malformed `ENC[…`, text after the closing `]`) stays the clear
    /// string it is, so a value the rules leave clear comes back byte for byte (sops keeps
    /// such values verbatim), and one the rules say is encrypted fails with sops' "does not
    /// match sops' data format" when the tree is opened.
    pub fn parse_exact(s: &str) -> Option<EncryptedValue> {
        if !Self::looks_encrypted(s) {
            return None;
        }
        // `parse` splits at the last `]`, `,type:`, `,tag:` and `,iv:`, and the standard
        // engine only decodes canonical base64, so every field re-encodes to the very text it
        // came from: the value is written back identically exactly when nothing follows the
        // closing `]` (checked without re-encoding, which doubled the cost of reading).
        Self::parse(s).ok().filter(|_| s.ends_with(']'))
    }
}

impl EncryptedValue {
    /// Append the `ENC[…]` text to `out` (what `Display` prints, without a temporary string
    /// per field).
    pub fn write_to(&self, out: &mut String) {
        out.reserve(64 + (self.data.len() + self.iv.len() + self.tag.len()) * 4 / 3);
        out.push_str("ENC[AES256_GCM,data:");
        B64.encode_string(&self.data, out);
        out.push_str(",iv:");
        B64.encode_string(&self.iv, out);
        out.push_str(",tag:");
        B64.encode_string(&self.tag, out);
        out.push_str(",type:");
        out.push_str(&self.type_tag);
        out.push(']');
    }
}

impl fmt::Display for EncryptedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// IVs of values decrypted in this session, keyed by (AAD, type, plaintext), so that
/// unchanged values re-encrypt to identical ciphertext (sops' `stash`).
type StashKey = (String, &'static str, Vec<u8>);

#[derive(Default, Clone)]
pub struct IvStash {
    // Recorded cheaply while decrypting; indexed only when a re-encryption looks one up.
    entries: Vec<(StashKey, [u8; IV_LEN])>,
    index: std::cell::OnceCell<HashMap<StashKey, [u8; IV_LEN]>>,
}

impl fmt::Debug for IvStash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IvStash({} entries)", self.entries.len())
    }
}

impl Drop for IvStash {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for ((_, _, plaintext), _) in self.entries.iter_mut() {
            plaintext.zeroize();
        }
        if let Some(map) = self.index.take() {
            for ((_, _, mut plaintext), _) in map {
                plaintext.zeroize();
            }
        }
    }
}

impl IvStash {
    /// Number of remembered IVs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    fn insert(&mut self, key: StashKey, iv: [u8; IV_LEN]) {
        self.index = std::cell::OnceCell::new();
        self.entries.push((key, iv));
    }
    fn get(&self, key: &StashKey) -> Option<[u8; IV_LEN]> {
        self.index
            .get_or_init(|| self.entries.iter().cloned().collect())
            .get(key)
            .copied()
    }
}

/// AES-256-GCM bound to one data key.
pub struct ValueCipher {
    gcm: SopsGcm,
    std_gcm: StdGcm,
}

impl fmt::Debug for ValueCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValueCipher(<key redacted>)")
    }
}

impl ValueCipher {
    /// Set up the cipher for a data key.
    pub fn new(key: &DataKey) -> ValueCipher {
        ValueCipher {
            gcm: SopsGcm::new_from_slice(key.expose()).expect("32-byte key"),
            std_gcm: StdGcm::new_from_slice(key.expose()).expect("32-byte key"),
        }
    }

    /// Encrypt a leaf with `aad`; `None` for empty values, which sops leaves as they are.
    pub fn encrypt(
        &self,
        plain: &Plain,
        aad: &str,
        stash: Option<&IvStash>,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Option<EncryptedValue> {
        let bytes = Zeroizing::new(plain.bytes());
        if bytes.is_empty()
            && matches!(
                plain,
                Plain::Comment(_)
                    | Plain::Value(Scalar::Str(_) | Scalar::Bytes(_) | Scalar::BinStr(_))
            )
        {
            return None;
        }
        let type_tag = plain.type_tag();
        let iv = stash
            .and_then(|s| s.get(&(aad.to_string(), type_tag, bytes.to_vec())))
            .unwrap_or_else(|| {
                let mut iv = [0u8; IV_LEN];
                rng.fill_bytes(&mut iv);
                iv
            });
        let mut out = self
            .gcm
            .encrypt(
                (&iv).into(),
                Payload {
                    msg: &bytes,
                    aad: aad.as_bytes(),
                },
            )
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let tag = out.split_off(out.len() - TAG_LEN);
        Some(EncryptedValue {
            data: out,
            iv: iv.to_vec(),
            tag,
            type_tag: type_tag.to_string(),
        })
    }

    /// Decrypt and type a value; remembers its IV in `stash`.
    pub fn decrypt(
        &self,
        value: &EncryptedValue,
        aad: &str,
        stash: Option<&mut IvStash>,
    ) -> Result<Plain, String> {
        let auth_failed =
            || "Could not decrypt with AES_GCM: cipher: message authentication failed".to_string();
        // Like sops (`gcm.Open(nil, iv, append(data, tag...), aad)`), the tag is the last 16
        // bytes of `data ‖ tag`, whatever the split in the text. That one buffer is decrypted
        // in place and then becomes the value: one copy of the ciphertext per value.
        let mut buf = Zeroizing::new(Vec::with_capacity(value.data.len() + value.tag.len()));
        buf.extend_from_slice(&value.data);
        buf.extend_from_slice(&value.tag);
        let Some(body_len) = buf.len().checked_sub(TAG_LEN) else {
            return Err(auth_failed());
        };
        let tag = aes_gcm::Tag::clone_from_slice(&buf[body_len..]);
        buf.truncate(body_len);
        match value.iv.len() {
            IV_LEN => self.gcm.decrypt_in_place_detached(
                value.iv.as_slice().into(),
                aad.as_bytes(),
                &mut buf,
                &tag,
            ),
            12 => self.std_gcm.decrypt_in_place_detached(
                value.iv.as_slice().into(),
                aad.as_bytes(),
                &mut buf,
                &tag,
            ),
            n => return Err(format!("unsupported IV length {n}")),
        }
        .map_err(|_| auth_failed())?;
        let plain = Scalar::from_sops_bytes(&value.type_tag, std::mem::take(&mut *buf))?;
        if let (Some(stash), Ok(iv)) = (stash, <[u8; IV_LEN]>::try_from(value.iv.as_slice())) {
            stash.insert((aad.to_string(), plain.type_tag(), plain.bytes()), iv);
        }
        Ok(plain)
    }
}

/// The AAD for a key path: keys joined with `:` plus a trailing `:`.
pub fn aad_for_path(path: &[String]) -> String {
    let mut s = String::with_capacity(path.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
    for p in path {
        s.push_str(p);
        s.push(':');
    }
    if path.is_empty() {
        s.push(':');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_exact_accepts_exactly_what_is_written_back() {
        let good = "ENC[AES256_GCM,data:QUJD,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]";
        let e = EncryptedValue::parse_exact(good).unwrap();
        assert_eq!(e.to_string(), good);
        for bad in [
            "ENC[AES256_GCM,data:QUJD,iv:AAAA,tag:AAAA,type:str]x",
            "ENC[AES256_GCM,data:QUI,iv:AAAA,tag:AAAA,type:str]",
            "ENC[AES256_GCM,data:QUJ=,iv:AAAA,tag:AAAA,type:str]",
            "ENC[AES256_GCM,data:QR==,iv:AAAA,tag:AAAA,type:str]",
            "ENC[AES256_GCM,data:QUJD,iv:AAAA,tag:AAAA,type:str",
        ] {
            assert!(EncryptedValue::parse_exact(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn rfind_field_is_rfind_of_comma_and_field() {
        for s in [
            "",
            ",",
            "type:",
            ",type:",
            "a,type:b,type:c",
            "a,type:b,typ:c,",
            "x,tag:y,tag,",
            ",,,type:",
            "é,type:ü,",
        ] {
            for field in ["type:", "tag:", "iv:"] {
                assert_eq!(
                    rfind_field(s, field),
                    s.rfind(&format!(",{field}")),
                    "{s:?}"
                );
            }
        }
    }

    #[test]
    fn aad_matches_sops() {
        assert_eq!(aad_for_path(&[]), ":");
        assert_eq!(
            aad_for_path(&["app".into(), "database".into(), "password".into()]),
            "app:database:password:"
        );
    }

    #[test]
    fn round_trip_and_stash_reuse() {
        let mut rng = rand::thread_rng();
        let key = DataKey::generate(&mut rng);
        let c = ValueCipher::new(&key);
        let v = Plain::Value(Scalar::Int(42));
        let enc = c.encrypt(&v, "a:", None, &mut rng).unwrap();
        let text = enc.to_string();
        assert!(text.ends_with(",type:int]"));
        let parsed = EncryptedValue::parse(&text).unwrap();
        let mut stash = IvStash::default();
        assert_eq!(c.decrypt(&parsed, "a:", Some(&mut stash)).unwrap(), v);
        assert!(c.decrypt(&parsed, "b:", None).is_err());
        let again = c.encrypt(&v, "a:", Some(&stash), &mut rng).unwrap();
        assert_eq!(again.to_string(), text);
        let other = c
            .encrypt(&Plain::Value(Scalar::Int(43)), "a:", Some(&stash), &mut rng)
            .unwrap();
        assert_ne!(other.to_string(), text);
        assert!(
            c.encrypt(
                &Plain::Value(Scalar::Str(String::new())),
                "a:",
                None,
                &mut rng
            )
            .is_none()
        );
    }

    /// sops opens `data ‖ tag` and takes the tag from its last 16 bytes, wherever the text
    /// split them; a value whose bytes moved between the fields still opens, a value shorter
    /// than a tag does not.
    #[test]
    fn the_tag_is_the_last_sixteen_bytes_of_data_and_tag() {
        let mut rng = rand::thread_rng();
        let key = DataKey::generate(&mut rng);
        let c = ValueCipher::new(&key);
        let v = Plain::Value(Scalar::Str("hunter2".into()));
        let enc = c.encrypt(&v, "a:", None, &mut rng).unwrap();
        let mut moved = enc.clone();
        let last = moved.data.split_off(moved.data.len() - 3);
        moved.tag.splice(0..0, last);
        assert_eq!(c.decrypt(&moved, "a:", None).unwrap(), v);
        let mut short = enc.clone();
        short.tag.truncate(15);
        short.data.clear();
        assert!(c.decrypt(&short, "a:", None).is_err());
        let mut flipped = enc;
        flipped.tag[0] ^= 1;
        assert_eq!(
            c.decrypt(&flipped, "a:", None).unwrap_err(),
            "Could not decrypt with AES_GCM: cipher: message authentication failed"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let key = DataKey::from_bytes(&[7u8; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "DataKey(<redacted>)");
        let s = Scalar::Str("hunter2".into());
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
