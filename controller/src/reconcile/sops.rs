//! The SopsSecret planner: SopsSecret + age key Secret + live Secret → [`Plan`]. Pure and
//! synchronous (it may do X25519 and AES work, so the caller runs it off the async threads).
//!
//! Order of business, as for SealedSecrets:
//! 1. the ownership check, before any decryption;
//! 2. the no-decryption shortcut: the live Secret records the digest of the SopsSecret it
//!    was made from and an HMAC over its data, keyed from the age identities (so nobody
//!    without them can forge it or test a guess of a value against it). Same digest and a
//!    valid HMAC: the live data is what decrypting would give — nothing is decrypted;
//! 3. otherwise decrypt (MAC verified, see [`crate::api::sops_secret`] for why
//!    `mac_only_encrypted` is required) and record digest and HMAC for next time.
//!
//! Messages name fields and reasons, never values.

use std::collections::BTreeMap;

use aws_lc_rs::{hkdf, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sealbox_keys::sops::{Format, Identities, OpenedFile, StoreOptions};
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::api::sops_secret::{API_VERSION, AgeKeySecretRef, KIND, SopsSecret};
use crate::apply::{
    ConditionState, ConditionStatus, Decision, DesiredSecret, OwnershipPolicy, Plan, PlannedEvent,
    WhenForeign, WriteMode, decide,
};

/// Condition type (also written as `Ready`).
pub const SYNCED: &str = "Synced";
/// The second condition type, same state.
pub const READY: &str = "Ready";
/// Reason: the Secret holds the decrypted values.
pub const REASON_DECRYPTED: &str = "Decrypted";
/// Reason: the SopsSecret could not be decrypted (tampered, wrong key, bad shape).
pub const REASON_DECRYPT_FAILED: &str = "DecryptFailed";
/// Reason: the age key Secret is missing or holds no usable identity.
pub const REASON_KEY_UNAVAILABLE: &str = "AgeKeyUnavailable";
/// Reason: the Secret could not be written (not ours, immutable, API error).
pub const REASON_UPDATE_FAILED: &str = "UpdateFailed";
/// Event reason: a hand-edited or deleted Secret was put back.
pub const REASON_RESTORED: &str = "SecretRestored";

/// Annotation: uid of the SopsSecret that wrote the Secret.
pub const SOURCE_UID_ANNOTATION: &str = "sealbox.dev/sops-source-uid";
/// Annotation: digest of the SopsSecret the Secret was made from.
pub const SOURCE_DIGEST_ANNOTATION: &str = "sealbox.dev/sops-source-digest";
/// Annotation: HMAC over digest and data, keyed from the age identities.
pub const DATA_MAC_ANNOTATION: &str = "sealbox.dev/sops-data-mac";

const FORMAT: &str = "sealbox.dev/sopssecret/v1";

/// How the plan was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The ownership check refused before any decryption.
    Refused,
    /// The live Secret was verified by digest and HMAC: nothing decrypted.
    Verified,
    /// The values were decrypted.
    Decrypted,
    /// No usable key, or decryption failed.
    Failed,
}

/// A plan and how it was made.
#[derive(Debug)]
pub struct SopsPlan {
    /// The plan.
    pub plan: Plan,
    /// How.
    pub path: Path,
}

/// The age identities of a key Secret and the HMAC key derived from them. `Debug` shows
/// only counts.
pub struct AgeKeys {
    identities: Identities,
    mac_key: hmac::Key,
}

impl std::fmt::Debug for AgeKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AgeKeys({} identities)", self.identities.len())
    }
}

/// Read the identities of the key Secret: `reference.key`, else every `*.agekey` entry
/// (Flux's rule). The error names the Secret and entries, never their content.
pub fn age_keys(
    secret: Option<&Secret>,
    reference: &AgeKeySecretRef,
    namespace: &str,
) -> Result<AgeKeys, String> {
    let where_ = format!("Secret {namespace}/{}", reference.name);
    if reference.name.is_empty() {
        return Err("spec.ageKeySecretRef.name is empty".into());
    }
    let secret = secret.ok_or_else(|| format!("{where_} not found"))?;
    let data = secret.data.clone().unwrap_or_default();
    let entries: Vec<(&String, &ByteString)> = match &reference.key {
        Some(k) => vec![(
            k,
            data.get_key_value(k)
                .map(|(_, v)| v)
                .ok_or_else(|| format!("{where_} has no entry {k:?}"))?,
        )],
        None => data
            .iter()
            .filter(|(k, _)| k.ends_with(".agekey"))
            .collect(),
    };
    if entries.is_empty() {
        return Err(format!("{where_} has no *.agekey entry"));
    }
    let mut identities = Identities::new();
    let mut ikm = Zeroizing::new(Vec::new());
    for (k, v) in entries {
        let text = Zeroizing::new(
            String::from_utf8(v.0.clone())
                .map_err(|_| format!("{where_} entry {k:?} is not UTF-8 text"))?,
        );
        identities
            .add_age_keys(&text, &format!("{where_} entry {k:?}"))
            .map_err(|e| e.to_string())?;
        ikm.extend_from_slice(&(k.len() as u64).to_be_bytes());
        ikm.extend_from_slice(k.as_bytes());
        ikm.extend_from_slice(&(text.len() as u64).to_be_bytes());
        ikm.extend_from_slice(text.as_bytes());
    }
    if identities.is_empty() {
        return Err(format!("{where_}: no age identity in it"));
    }
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, FORMAT.as_bytes());
    let prk = salt.extract(&ikm);
    let okm = prk
        .expand(&[b"data-mac"], hmac::HMAC_SHA256)
        .expect("HKDF output length fits");
    let mac_key = hmac::Key::from(okm);
    Ok(AgeKeys {
        identities,
        mac_key,
    })
}

fn data_mac_input(digest: &str, data: &BTreeMap<String, ByteString>) -> Vec<u8> {
    let mut m = Vec::new();
    for part in [FORMAT.as_bytes(), digest.as_bytes()] {
        m.extend_from_slice(&(part.len() as u64).to_be_bytes());
        m.extend_from_slice(part);
    }
    for (k, v) in data {
        m.extend_from_slice(&(k.len() as u64).to_be_bytes());
        m.extend_from_slice(k.as_bytes());
        m.extend_from_slice(&(v.0.len() as u64).to_be_bytes());
        m.extend_from_slice(&v.0);
    }
    m
}

impl AgeKeys {
    fn mac(&self, digest: &str, data: &BTreeMap<String, ByteString>) -> String {
        let tag = hmac::sign(&self.mac_key, &data_mac_input(digest, data));
        STANDARD.encode(tag.as_ref())
    }

    fn verify(&self, recorded: &str, digest: &str, data: &BTreeMap<String, ByteString>) -> bool {
        let Ok(tag) = STANDARD.decode(recorded) else {
            return false;
        };
        hmac::verify(&self.mac_key, &data_mac_input(digest, data), &tag).is_ok()
    }
}

/// Every object's keys sorted, recursively: the order the API server returns objects in,
/// made explicit so the result never depends on the server.
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// `sha256:<hex>` over what the Secret is derived from (ciphertexts are public).
pub fn source_digest(s: &SopsSecret) -> String {
    let input = json!({
        "format": FORMAT,
        "name": s.metadata.name,
        "namespace": s.metadata.namespace,
        "uid": s.metadata.uid,
        "spec": sorted(&serde_json::to_value(&s.spec).expect("spec serializes")),
        "sops": s.sops.as_ref().map(sorted),
    });
    let bytes = serde_json::to_vec(&input).expect("JSON values serialize");
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// The ownership policy of a SopsSecret's Secret: controller owner reference, created if
/// missing, a foreign Secret is never taken over.
pub fn ownership_policy(s: &SopsSecret) -> OwnershipPolicy {
    OwnershipPolicy {
        source_kind: KIND,
        owner: Some(OwnerReference {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            name: s.metadata.name.clone().unwrap_or_default(),
            uid: s.metadata.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        }),
        create_if_missing: true,
        when_foreign: WhenForeign::Refuse,
        mode: WriteMode::Replace,
        adopt_annotation: None,
        merge_annotation: None,
        provenance_annotation: Some(SOURCE_UID_ANNOTATION.to_owned()),
    }
}

fn condition(status: ConditionStatus, reason: &str, message: impl Into<String>) -> ConditionState {
    ConditionState::new(SYNCED, status, reason, message)
}

fn failed(reason: &str, message: String, retry: bool) -> SopsPlan {
    SopsPlan {
        plan: Plan::fail(
            condition(ConditionStatus::False, reason, message.clone()),
            PlannedEvent::warning(reason, message),
            retry,
        ),
        path: Path::Failed,
    }
}

fn annotation<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn string_map(v: Option<&Value>, field: &str) -> Result<Option<BTreeMap<String, String>>, String> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let m = v
        .as_object()
        .ok_or_else(|| format!("{field}: expected a map of strings"))?;
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let s = v
            .as_str()
            .ok_or_else(|| format!("{field}.{k}: expected a string"))?;
        out.insert(k.clone(), s.to_owned());
    }
    Ok(Some(out))
}

/// The Secret described by a (decrypted, or value-less) template.
fn secret_from_template(s: &SopsSecret, template: &Value) -> Result<Secret, String> {
    let empty = Map::new();
    let t = match template {
        Value::Object(m) => m,
        Value::Null => &empty,
        _ => return Err("spec.template: expected a map".into()),
    };
    let meta = t.get("metadata");
    let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
    if let Some(d) = t.get("data").filter(|v| !v.is_null()) {
        let d = d
            .as_object()
            .ok_or_else(|| "spec.template.data: expected a map".to_owned())?;
        for (k, v) in d {
            let text = v
                .as_str()
                .ok_or_else(|| format!("spec.template.data.{k}: expected a base64 string"))?;
            let bytes = STANDARD
                .decode(text.trim())
                .map_err(|_| format!("spec.template.data.{k}: not valid base64"))?;
            data.insert(k.clone(), ByteString(bytes));
        }
    }
    if let Some(d) = t.get("stringData").filter(|v| !v.is_null()) {
        let d = d
            .as_object()
            .ok_or_else(|| "spec.template.stringData: expected a map".to_owned())?;
        for (k, v) in d {
            let bytes = match v {
                Value::String(s) => s.clone().into_bytes(),
                Value::Number(n) => n.to_string().into_bytes(),
                Value::Bool(b) => b.to_string().into_bytes(),
                _ => return Err(format!("spec.template.stringData.{k}: expected a string")),
            };
            data.insert(k.clone(), ByteString(bytes));
        }
    }
    let type_ = match t.get("type") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("spec.template.type: expected a string".into()),
    };
    let immutable = match t.get("immutable") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err("spec.template.immutable: expected true or false".into()),
    };
    Ok(Secret {
        metadata: ObjectMeta {
            name: s.metadata.name.clone(),
            namespace: s.metadata.namespace.clone(),
            labels: string_map(
                meta.and_then(|m| m.get("labels")),
                "spec.template.metadata.labels",
            )?,
            annotations: string_map(
                meta.and_then(|m| m.get("annotations")),
                "spec.template.metadata.annotations",
            )?,
            ..ObjectMeta::default()
        },
        type_,
        immutable,
        data: Some(data),
        ..Secret::default()
    })
}

/// The template with every `data`/`stringData` value decrypted; MAC verified.
fn decrypt_template(s: &SopsSecret, keys: &AgeKeys) -> Result<Value, String> {
    let sops = s.sops.as_ref().filter(|v| v.is_object()).ok_or_else(|| {
        "no sops metadata: encrypt the file with sealbox encrypt or sops".to_owned()
    })?;
    if sops.get("mac_only_encrypted") != Some(&Value::Bool(true)) {
        return Err(
            "sops.mac_only_encrypted must be true: the API server adds fields and reorders keys, so only the \
encrypted values can be MAC-checked in the cluster (encrypt with --mac-only-encrypted)"
                .into(),
        );
    }
    let document = json!({
        "spec": sorted(&serde_json::to_value(&s.spec).expect("spec serializes")),
        "sops": sops,
    });
    let bytes = serde_json::to_vec(&document).expect("JSON values serialize");
    let opened = OpenedFile::open(&bytes, Format::Json, &keys.identities, false, StoreOptions::default())
        .map_err(|e| {
            let msg = e.to_string();
            if msg.starts_with("MAC mismatch") {
                "MAC mismatch: the encrypted values were changed, removed or reordered (the cluster returns keys \
in sorted order, so encrypted keys must be written sorted)"
                    .to_owned()
            } else {
                msg
            }
        })?;
    let plain: Value = serde_json::from_slice(opened.plaintext())
        .map_err(|_| "decrypted document is not JSON".to_owned())?;
    Ok(plain["spec"]["template"].clone())
}

/// Plan one SopsSecret. `keys` are the identities from its key Secret (or why there are
/// none); `live` is the target Secret as the API server has it.
pub fn plan(s: &SopsSecret, keys: Result<&AgeKeys, &str>, live: Option<&Secret>) -> SopsPlan {
    let uid = s.metadata.uid.clone().unwrap_or_default();
    let policy = ownership_policy(s);
    if let Decision::Refuse(msg) = decide(&policy, live, &uid) {
        return SopsPlan {
            plan: Plan::fail(
                condition(ConditionStatus::False, REASON_UPDATE_FAILED, msg.clone()),
                PlannedEvent::warning(REASON_UPDATE_FAILED, msg),
                true,
            ),
            path: Path::Refused,
        };
    }
    let keys = match keys {
        Ok(k) => k,
        Err(reason) => return failed(REASON_KEY_UNAVAILABLE, reason.to_owned(), true),
    };
    let digest = source_digest(s);

    // Shortcut: the live Secret was made from exactly this SopsSecret and its data is ours.
    if let Some(live) = live
        && annotation(live, SOURCE_DIGEST_ANNOTATION) == Some(digest.as_str())
        && let Some(recorded) = annotation(live, DATA_MAC_ANNOTATION)
    {
        let data = live.data.clone().unwrap_or_default();
        if keys.verify(recorded, &digest, &data)
            && let Ok(mut secret) = secret_from_template(s, &without_values(&s.spec.template))
        {
            secret.data = Some(data);
            record(&mut secret, &uid, &digest, keys);
            let mut plan = Plan::write(
                DesiredSecret {
                    secret,
                    ownership: policy,
                },
                condition(ConditionStatus::True, REASON_DECRYPTED, ""),
            );
            plan.source_changed = false;
            return SopsPlan {
                plan,
                path: Path::Verified,
            };
        }
    }

    let template = match decrypt_template(s, keys) {
        Ok(t) => t,
        Err(reason) => {
            return failed(
                REASON_DECRYPT_FAILED,
                format!("cannot decrypt: {reason}"),
                false,
            );
        }
    };
    let mut secret = match secret_from_template(s, &template) {
        Ok(secret) => secret,
        Err(reason) => return failed(REASON_DECRYPT_FAILED, reason, false),
    };
    record(&mut secret, &uid, &digest, keys);
    let source_changed =
        live.is_none_or(|l| annotation(l, SOURCE_DIGEST_ANNOTATION) != Some(digest.as_str()));
    let mut plan = Plan::write(
        DesiredSecret {
            secret,
            ownership: policy,
        },
        condition(ConditionStatus::True, REASON_DECRYPTED, ""),
    );
    plan.source_changed = source_changed;
    SopsPlan {
        plan,
        path: Path::Decrypted,
    }
}

/// The template without `data`/`stringData` (its clear parts build the Secret's shell).
fn without_values(template: &Value) -> Value {
    let mut t = template.clone();
    if let Value::Object(m) = &mut t {
        m.remove("data");
        m.remove("stringData");
    }
    t
}

fn record(secret: &mut Secret, uid: &str, digest: &str, keys: &AgeKeys) {
    let mac = keys.mac(digest, secret.data.as_ref().unwrap_or(&BTreeMap::new()));
    let annotations = secret
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    annotations.insert(SOURCE_UID_ANNOTATION.to_owned(), uid.to_owned());
    annotations.insert(SOURCE_DIGEST_ANNOTATION.to_owned(), digest.to_owned());
    annotations.insert(DATA_MAC_ANNOTATION.to_owned(), mac);
}

#[cfg(test)]
mod tests;
