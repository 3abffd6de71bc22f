//! Loading the fixture set and its `expected.json`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealbox_keys::sealing::{Certificate, Keyring, PrivateKey, SealingKey};
use serde_json::Value;

/// The fixture directory (overridable with `SEALBOX_SEALED_SECRETS_FIXTURES`).
pub fn fixture_dir() -> PathBuf {
    match std::env::var_os("SEALBOX_SEALED_SECRETS_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/sealed-secrets"),
    }
}

pub fn read(rel: &str) -> String {
    let path = fixture_dir().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The parsed `expected.json`.
pub fn expected() -> &'static Value {
    static EXPECTED: OnceLock<Value> = OnceLock::new();
    EXPECTED.get_or_init(|| serde_json::from_str(&read("expected.json")).expect("expected.json"))
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("field {key} missing in {v}"))
}

pub fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub fn b64(v: &Value, key: &str) -> Vec<u8> {
    STANDARD.decode(str_field(v, key)).expect("fixture base64")
}

/// One fixture key by id (`key0`, `key1`, `foreign`, ...), with its certificate.
pub fn sealing_key(id: &str) -> SealingKey {
    let spec = &expected()["keys"][id];
    let private = PrivateKey::from_pem(&read(str_field(spec, "private_key"))).expect("key");
    let cert = Certificate::from_pem(&read(str_field(spec, "cert"))).expect("cert");
    SealingKey::new(id, private, cert).expect("matching pair")
}

/// Ids of the keys the controller holds.
pub fn controller_key_ids() -> Vec<String> {
    expected()["controller_keys"]
        .as_array()
        .expect("controller_keys")
        .iter()
        .map(|v| v.as_str().expect("key id").to_owned())
        .collect()
}

/// A keyring with exactly the controller's keys.
pub fn controller_keyring() -> Keyring {
    Keyring::from_keys(controller_key_ids().iter().map(|id| sealing_key(id)))
}

/// Fingerprint of a fixture key id as recorded in expected.json.
pub fn fingerprint_of(id: &str) -> String {
    str_field(&expected()["keys"][id], "ssh_sha256_fingerprint").to_owned()
}
