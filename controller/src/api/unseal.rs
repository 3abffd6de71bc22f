//! SealedSecret + keyring → the `v1` Secret the controller would create. Pure: no I/O, no
//! clock, no API server; the reconcile planner and `sealbox unseal` both call it.
//!
//! Follows upstream `SealedSecret.Unseal` (`sealedsecret_expansion.go`):
//! * the RSA-OAEP label comes from the SealedSecret's own metadata (name, namespace, scope
//!   annotations), never from the template;
//! * `encryptedData`: Secret metadata/type/immutable from `spec.template`, every value
//!   decrypted, then `template.data` rendered over the decrypted strings (Go text/template +
//!   sprig), overriding same-named keys;
//! * legacy `spec.data`: one blob holding a JSON `v1.Secret`; refused next to a non-empty
//!   `encryptedData`;
//! * name/namespace forced to the SealedSecret's; an ownerReference to it (controller:
//!   true) unless the template says `skip-set-owner-references: "true"`;
//! * any single failure fails the whole object (no partial Secret); every error is tagged
//!   with the item key and never contains a value.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sealbox_keys::sealing::{
    KeyId, Keyring, Label, OpenError, SKIP_SET_OWNER_REFERENCES_ANNOTATION, envelope,
};
use sealbox_keys::template::{FuncSet, Template, TemplateError, Value as TemplateValue};
use thiserror::Error;

use super::sealed_secret::{API_VERSION, KIND, SealedSecret};

/// Knobs of [`unseal`].
#[derive(Clone, Debug)]
pub struct UnsealOptions<'a> {
    /// Accept the deprecated `spec.data` format (controller flag
    /// `--accept-deprecated-v1-data`, default true).
    pub accept_deprecated_v1_data: bool,
    /// The key that opened this object last time: tried first, which makes a resync one
    /// RSA operation per value however many keys the keyring holds.
    pub preferred_key: Option<&'a KeyId>,
}

impl Default for UnsealOptions<'_> {
    fn default() -> Self {
        UnsealOptions {
            accept_deprecated_v1_data: true,
            preferred_key: None,
        }
    }
}

/// The Secret and which key opened each sealed value.
#[derive(Clone, PartialEq)]
pub struct Unsealed {
    /// The Secret the controller would create.
    pub secret: Secret,
    /// Key id per `encryptedData` key (legacy `spec.data`: the single entry `""`).
    pub opened_by: BTreeMap<String, KeyId>,
}

impl Unsealed {
    /// The key that opened the most values (ties: first in key order) — the one to try
    /// first next time. `None` when there was nothing to open.
    pub fn main_key(&self) -> Option<&KeyId> {
        let mut counts: BTreeMap<&KeyId, usize> = BTreeMap::new();
        for id in self.opened_by.values() {
            *counts.entry(id).or_default() += 1;
        }
        let mut best: Option<(&KeyId, usize)> = None;
        for id in self.opened_by.values() {
            let n = counts[id];
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((id, n));
            }
        }
        best.map(|(id, _)| id)
    }
}

impl fmt::Debug for Unsealed {
    /// Names the Secret and the keys used; never the data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unsealed")
            .field("name", &self.secret.metadata.name)
            .field("namespace", &self.secret.metadata.namespace)
            .field(
                "data_keys",
                &self
                    .secret
                    .data
                    .as_ref()
                    .map(|d| d.keys().collect::<Vec<_>>()),
            )
            .field("opened_by", &self.opened_by)
            .finish()
    }
}

/// Why one value failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ItemFailure {
    /// Not base64, or no key could open it.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Its `template.data` entry did not render.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// One failed value, tagged with its key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{key}: {failure}")]
pub struct ItemError {
    /// The `encryptedData` / `template.data` key.
    pub key: String,
    /// What went wrong.
    pub failure: ItemFailure,
}

/// The SealedSecret could not be unsealed; nothing was produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnsealError {
    /// One or more values failed (all are listed).
    #[error("{}", format_items(.0))]
    Items(Vec<ItemError>),
    /// `spec.data` next to a non-empty `spec.encryptedData` (upstream's message).
    #[error(
        "cannot use the field 'encryptedData' and the deprecated field 'data' at the same time"
    )]
    DataAndEncryptedData,
    /// `spec.data` while deprecated data is not accepted (upstream's message).
    #[error("using deprecated 'data' field, use 'encryptedData' or flip the feature flag")]
    DeprecatedDataRefused,
    /// The legacy `spec.data` blob could not be opened.
    #[error("spec.data: {0}")]
    LegacyData(OpenError),
    /// The legacy blob opened but does not hold a v1 Secret.
    #[error("spec.data: the decrypted payload is not a JSON v1 Secret ({0})")]
    LegacyPayload(String),
}

impl UnsealError {
    /// Whether the failure is "no key could open it" (wrong key, moved, renamed, tampered)
    /// as opposed to a malformed object or template.
    pub fn is_no_key(&self) -> bool {
        match self {
            UnsealError::Items(items) => items
                .iter()
                .any(|i| matches!(i.failure, ItemFailure::Open(OpenError::NoKeyCouldDecrypt))),
            UnsealError::LegacyData(OpenError::NoKeyCouldDecrypt) => true,
            _ => false,
        }
    }

    /// Whether only templates failed.
    pub fn is_template(&self) -> bool {
        matches!(self, UnsealError::Items(items)
            if !items.is_empty() && items.iter().all(|i| matches!(i.failure, ItemFailure::Template(_))))
    }
}

fn format_items(items: &[ItemError]) -> String {
    match items {
        [one] => one.to_string(),
        many => {
            let mut s = format!("{} errors occurred:", many.len());
            for item in many {
                s.push_str("\n\t* ");
                s.push_str(&item.to_string());
            }
            s
        }
    }
}

/// Turn a SealedSecret into the Secret the controller would create.
pub fn unseal(
    sealed: &SealedSecret,
    keyring: &Keyring,
    options: &UnsealOptions<'_>,
) -> Result<Unsealed, UnsealError> {
    let meta = &sealed.metadata;
    let label = Label::for_object(
        meta.namespace.as_deref(),
        meta.name.as_deref(),
        meta.annotations.as_ref(),
    );
    let template = sealed.spec.template.clone().unwrap_or_default();

    let (mut secret, opened_by) = match &sealed.spec.data {
        None => unseal_encrypted_data(sealed, &template, keyring, &label, options)?,
        Some(legacy) => {
            if !options.accept_deprecated_v1_data {
                return Err(UnsealError::DeprecatedDataRefused);
            }
            if !sealed.spec.encrypted_data.is_empty() {
                return Err(UnsealError::DataAndEncryptedData);
            }
            unseal_legacy(&legacy.0, keyring, &label, options)?
        }
    };

    secret.metadata.name = meta.name.clone();
    secret.metadata.namespace = meta.namespace.clone();
    let skip_owner = template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(SKIP_SET_OWNER_REFERENCES_ANNOTATION))
        .is_some_and(|v| v == "true");
    if !skip_owner {
        secret.metadata.owner_references = Some(vec![OwnerReference {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            name: meta.name.clone().unwrap_or_default(),
            uid: meta.uid.clone().unwrap_or_default(),
            controller: Some(true),
            block_owner_deletion: None,
        }]);
    }
    Ok(Unsealed { secret, opened_by })
}

type Opened = (Secret, BTreeMap<String, KeyId>);

fn unseal_encrypted_data(
    sealed: &SealedSecret,
    template: &super::sealed_secret::SecretTemplateSpec,
    keyring: &Keyring,
    label: &Label,
    options: &UnsealOptions<'_>,
) -> Result<Opened, UnsealError> {
    let mut errors = Vec::new();
    let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
    let mut opened_by = BTreeMap::new();
    // Values of one object are almost always sealed by the same key: once one opens, try
    // that key first for the rest.
    let mut hint = options.preferred_key.cloned();
    for (key, value) in &sealed.spec.encrypted_data {
        let opened = envelope::decode_base64(value)
            .and_then(|blob| keyring.open(label, &blob, hint.as_ref()));
        match opened {
            Ok(opened) => {
                hint = Some(opened.key_id.clone());
                opened_by.insert(key.clone(), opened.key_id);
                data.insert(key.clone(), ByteString(opened.plaintext.to_vec()));
            }
            Err(e) => errors.push(ItemError {
                key: key.clone(),
                failure: e.into(),
            }),
        }
    }

    if let Some(templates) = template.data.as_ref().filter(|t| !t.is_empty()) {
        // Upstream renders over map[string]string of the decrypted values; Go strings are
        // bytes, so binary values pass through unchanged.
        let values = TemplateValue::string_map(data.iter().map(|(k, v)| (k.clone(), v.0.clone())));
        for (key, text) in templates {
            let rendered =
                Template::parse(key, text, FuncSet::Sprig).and_then(|t| t.execute(&values));
            match rendered {
                Ok(bytes) => {
                    data.insert(key.clone(), ByteString(bytes));
                }
                Err(e) => errors.push(ItemError {
                    key: key.clone(),
                    failure: e.into(),
                }),
            }
        }
    }

    if !errors.is_empty() {
        return Err(UnsealError::Items(errors));
    }
    let metadata = template.metadata.clone().unwrap_or_default();
    let secret = Secret {
        metadata,
        type_: template.type_.clone(),
        immutable: template.immutable,
        data: Some(data),
        string_data: None,
    };
    Ok((secret, opened_by))
}

fn unseal_legacy(
    blob: &[u8],
    keyring: &Keyring,
    label: &Label,
    options: &UnsealOptions<'_>,
) -> Result<Opened, UnsealError> {
    let opened = keyring
        .open(label, blob, options.preferred_key)
        .map_err(UnsealError::LegacyData)?;
    let mut secret: Secret = serde_json::from_slice(&opened.plaintext)
        .map_err(|e| UnsealError::LegacyPayload(e.classify_name()))?;
    // The API server folds stringData into data when the controller creates the Secret.
    if let Some(string_data) = secret.string_data.take() {
        let data = secret.data.get_or_insert_with(BTreeMap::new);
        for (k, v) in string_data {
            data.insert(k, ByteString(v.into_bytes()));
        }
    }
    // Only data, type and metadata of the inner object matter; it must not smuggle in owners.
    secret.metadata = ObjectMeta {
        owner_references: None,
        ..secret.metadata
    };
    let opened_by = BTreeMap::from([(String::new(), opened.key_id)]);
    Ok((secret, opened_by))
}

/// Name of a serde_json error class without any input text.
trait ClassifyName {
    fn classify_name(&self) -> String;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> String {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error".to_owned(),
            serde_json::error::Category::Syntax => "invalid JSON".to_owned(),
            serde_json::error::Category::Data => "JSON of the wrong shape".to_owned(),
            serde_json::error::Category::Eof => "truncated JSON".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use sealbox_keys::sealing::{Certificate, PrivateKey, SealingKey};
    use serde_json::Value;

    use super::*;
    use crate::api::manifest::parse_documents;

    fn dir() -> PathBuf {
        std::env::var_os("SEALBOX_SEALED_SECRETS_FIXTURES").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/sealed-secrets"),
            PathBuf::from,
        )
    }

    fn read(rel: &str) -> String {
        std::fs::read_to_string(dir().join(rel)).unwrap()
    }

    fn expected() -> Value {
        serde_json::from_str(&read("expected.json")).unwrap()
    }

    fn keyring(expected: &Value) -> Keyring {
        Keyring::from_keys(
            expected["controller_keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| {
                    let spec = &expected["keys"][id.as_str().unwrap()];
                    SealingKey::new(
                        id.as_str().unwrap(),
                        PrivateKey::from_pem(&read(spec["private_key"].as_str().unwrap())).unwrap(),
                        Certificate::from_pem(&read(spec["cert"].as_str().unwrap())).unwrap(),
                    )
                    .unwrap()
                }),
        )
    }

    fn sealed(file: &str, index: usize) -> SealedSecret {
        let docs = parse_documents(file, &read(file)).unwrap();
        serde_json::from_value(docs[index].value.clone()).unwrap()
    }

    #[test]
    fn fixtures_unseal_to_the_expected_secret_with_the_owner_uid() {
        let expected = expected();
        let ring = keyring(&expected);
        for m in expected["manifests"].as_array().unwrap() {
            let file = m["file"].as_str().unwrap();
            let index = m["doc_index"].as_u64().unwrap() as usize;
            let mut ss = sealed(file, index);
            ss.metadata.uid = Some("uid-1234".to_owned());
            let result = unseal(&ss, &ring, &UnsealOptions::default());
            if m["expect"] == "error" {
                let err = result.expect_err(file);
                assert!(!format!("{err:?}").is_empty());
                continue;
            }
            let unsealed = result.unwrap_or_else(|e| panic!("{file}: {e}"));
            let mut want = m["expected_secret"].clone();
            if let Some(refs) = want["metadata"]
                .get_mut("ownerReferences")
                .and_then(Value::as_array_mut)
            {
                for r in refs {
                    r["uid"] = Value::String("uid-1234".to_owned());
                }
            }
            let got = serde_json::to_value(&unsealed.secret).unwrap();
            assert_eq!(got, want, "{file}[{index}]");
            let sealed_with = m["sealed_with"].as_str().unwrap();
            let fingerprint = expected["keys"][sealed_with]["ssh_sha256_fingerprint"]
                .as_str()
                .unwrap();
            assert_eq!(
                unsealed.main_key().map(KeyId::as_str),
                Some(fingerprint),
                "{file}"
            );
            // Debug names the object and keys, never the data.
            let debug = format!("{unsealed:?}");
            for value in unsealed.secret.data.iter().flat_map(|d| d.values()) {
                if let Ok(text) = std::str::from_utf8(&value.0)
                    && text.len() >= 6
                {
                    assert!(!debug.contains(text), "{file}: Debug leaks data");
                }
            }
        }
    }

    #[test]
    fn deprecated_data_can_be_refused_and_a_wrong_hint_is_harmless() {
        let expected = expected();
        let ring = keyring(&expected);
        let Some(legacy) = expected["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["legacy_v1_data"] == true && m["expect"] == "ok")
        else {
            return;
        };
        let ss = sealed(legacy["file"].as_str().unwrap(), 0);
        let refuse = UnsealOptions {
            accept_deprecated_v1_data: false,
            preferred_key: None,
        };
        assert_eq!(
            unseal(&ss, &ring, &refuse).unwrap_err(),
            UnsealError::DeprecatedDataRefused
        );
        let wrong: KeyId = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            .parse()
            .unwrap();
        let hinted = UnsealOptions {
            accept_deprecated_v1_data: true,
            preferred_key: Some(&wrong),
        };
        assert!(unseal(&ss, &ring, &hinted).is_ok());
    }

    #[test]
    fn no_key_errors_are_tagged_and_classified() {
        let expected = expected();
        let ring = keyring(&expected);
        let m = expected["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["mutation"] == "rename")
            .unwrap();
        let err = unseal(
            &sealed(m["file"].as_str().unwrap(), 0),
            &ring,
            &UnsealOptions::default(),
        )
        .unwrap_err();
        assert!(err.is_no_key());
        assert!(!err.is_template());
        let text = err.to_string();
        for item in m["failing_items"].as_array().unwrap() {
            assert!(text.contains(&format!(
                "{}: no key could decrypt secret",
                item.as_str().unwrap()
            )));
        }
    }
}
