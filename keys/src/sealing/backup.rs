//! Sealing keys as Kubernetes Secrets, the way the Bitnami controller stores them, and the
//! backup format users already have:
//!
//! * one key = a `kubernetes.io/tls` Secret with `tls.key` (PKCS#1 PEM) and `tls.crt`,
//!   labelled `sealedsecrets.bitnami.com/sealed-secrets-key: active`;
//! * a backup = `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml`,
//!   a `v1 List` of those Secrets.
//!
//! Import also takes what `kubeseal --recovery-private-key` takes: bare PEM private keys
//! (optionally with their certificates in the same file) or single Secrets.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Serialize, Serializer};
use serde_json::Value;
use thiserror::Error;
use zeroize::Zeroizing;

use super::certificate::Certificate;
use super::error::{CertificateError, KeyError};
use super::keyring::SealingKey;
use super::pem_blocks::pem_blocks;
use super::private_key::PrivateKey;
use crate::limits::{LimitExceeded, Limits, check_yaml, saphyr_options};

/// Label that marks a Secret as a sealing key (`keys.go` `SealedSecretsKeyLabel`).
pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";

/// Value of [`KEY_LABEL`] on keys the controller loads.
pub const KEY_LABEL_ACTIVE: &str = "active";

/// Where the Bitnami controller keeps its keys by default.
pub const DEFAULT_KEY_NAMESPACE: &str = "kube-system";

/// A key read from an import source. The certificate is absent when the source was a bare
/// PEM private key without one.
pub struct ImportedKey {
    /// The private key.
    pub private: PrivateKey,
    /// Its certificate, if the source had one.
    pub certificate: Option<Certificate>,
    /// The key Secret's name, if the source was a Secret.
    pub name: Option<String>,
}

impl std::fmt::Debug for ImportedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedKey")
            .field("private", &self.private)
            .field("certificate", &self.certificate)
            .field("name", &self.name)
            .finish()
    }
}

/// Reading keys from an import source failed. Messages name the document and field, never
/// key material.
#[derive(Debug, Error)]
pub enum ImportError {
    /// Neither PEM nor a YAML/JSON document.
    #[error(
        "not a PEM private key, a Secret or a v1 List of Secrets: invalid YAML/JSON at line {line}, column {column}: {reason}"
    )]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Parser message (structure only).
        reason: String,
    },
    /// A document or List item is not a v1 Secret.
    #[error("{what} is a {kind}, expected a v1 Secret or a v1 List of Secrets")]
    NotASecret {
        /// Which document / item.
        what: String,
        /// Its kind.
        kind: String,
    },
    /// A Secret has no usable `data["tls.key"]`.
    #[error("{what}: {problem}")]
    BadSecret {
        /// Which Secret.
        what: String,
        /// What is wrong (never the value).
        problem: String,
    },
    /// A private key could not be read.
    #[error("{what}: {source}")]
    Key {
        /// Which Secret or PEM block.
        what: String,
        /// Why.
        source: KeyError,
    },
    /// A certificate could not be read or does not match its key.
    #[error("{what}: {source}")]
    Certificate {
        /// Which Secret.
        what: String,
        /// Why.
        source: CertificateError,
    },
    /// The input exceeds a resource limit (size, nesting, alias expansion, documents).
    #[error("key import refused: {0}")]
    Limit(#[from] LimitExceeded),
    /// The input holds no key at all.
    #[error(
        "no private key found (expected PEM \"RSA PRIVATE KEY\"/\"PRIVATE KEY\", a kubernetes.io/tls Secret or a v1 List of them)"
    )]
    Empty,
}

/// Read every key in `text`: PEM private keys (paired with certificates of the same key in
/// the same text), or YAML/JSON Secrets and `v1 List`s of Secrets (multi-document).
pub fn import_keys(text: &str) -> Result<Vec<ImportedKey>, ImportError> {
    let has_private_pem = pem_blocks(text)
        .iter()
        .any(|b| b.label.ends_with("PRIVATE KEY"));
    let keys = if has_private_pem {
        import_pem(text)?
    } else {
        import_manifests(text)?
    };
    if keys.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(keys)
}

fn import_pem(text: &str) -> Result<Vec<ImportedKey>, ImportError> {
    let privates = PrivateKey::all_from_pem(text).map_err(|source| ImportError::Key {
        what: "PEM input".to_owned(),
        source,
    })?;
    let certificates =
        Certificate::all_from_pem(text).map_err(|source| ImportError::Certificate {
            what: "PEM input".to_owned(),
            source,
        })?;
    Ok(privates
        .into_iter()
        .map(|private| {
            let certificate = certificates
                .iter()
                .find(|c| c.public_key() == private.public_key())
                .cloned();
            ImportedKey {
                private,
                certificate,
                name: None,
            }
        })
        .collect())
}

fn import_manifests(text: &str) -> Result<Vec<ImportedKey>, ImportError> {
    // Backups come from users and clusters: bounded before anything is built.
    check_yaml(text, &Limits::DEFAULT)?;
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple_with_options(text, saphyr_options(&Limits::DEFAULT))
            .map_err(|e| {
                let location = e.location();
                ImportError::Syntax {
                    line: location.map_or(0, |l| l.line() as usize),
                    column: location.map_or(0, |l| l.column() as usize),
                    reason: serde_saphyr::MessageFormatter::format_message(
                        &serde_saphyr::UserMessageFormatter,
                        e.without_snippet(),
                    )
                    .into_owned(),
                }
            })?;
    let mut keys = Vec::new();
    for (doc_index, doc) in docs.iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let what = format!("document {}", doc_index + 1);
        match doc.get("kind").and_then(Value::as_str) {
            Some("List") => {
                let items = doc
                    .get("items")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for (item_index, item) in items.iter().enumerate() {
                    let what = format!("{what}, items[{item_index}]");
                    keys.push(import_secret(item, &what)?);
                }
            }
            _ => keys.push(import_secret(doc, &what)?),
        }
    }
    Ok(keys)
}

fn import_secret(doc: &Value, what: &str) -> Result<ImportedKey, ImportError> {
    let kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("(no kind)");
    if kind != "Secret" {
        return Err(ImportError::NotASecret {
            what: what.to_owned(),
            kind: kind.to_owned(),
        });
    }
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let what = match &name {
        Some(n) => format!("{what} (Secret {n:?})"),
        None => what.to_owned(),
    };
    let field = |key: &str| -> Result<Option<Zeroizing<Vec<u8>>>, ImportError> {
        match doc.get("data").and_then(|d| d.get(key)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(b64)) => STANDARD
                .decode(b64)
                .map(|bytes| Some(Zeroizing::new(bytes)))
                .map_err(|_| ImportError::BadSecret {
                    what: what.clone(),
                    problem: format!("data[{key:?}] is not valid base64"),
                }),
            Some(_) => Err(ImportError::BadSecret {
                what: what.clone(),
                problem: format!("data[{key:?}] must be a base64 string"),
            }),
        }
    };
    let key_pem = field("tls.key")?.ok_or_else(|| ImportError::BadSecret {
        what: what.clone(),
        problem: "has no data[\"tls.key\"] (a sealing key Secret holds the PEM private key there)"
            .to_owned(),
    })?;
    let key_text = std::str::from_utf8(&key_pem).map_err(|_| ImportError::BadSecret {
        what: what.clone(),
        problem: "data[\"tls.key\"] is not PEM text".to_owned(),
    })?;
    let private = PrivateKey::from_pem(key_text).map_err(|source| ImportError::Key {
        what: format!("{what}, data[\"tls.key\"]"),
        source,
    })?;
    let certificate = match field("tls.crt")? {
        None => None,
        Some(crt) => {
            let crt_text = String::from_utf8_lossy(&crt);
            let cert =
                Certificate::from_pem(&crt_text).map_err(|source| ImportError::Certificate {
                    what: format!("{what}, data[\"tls.crt\"]"),
                    source,
                })?;
            if cert.public_key() != private.public_key() {
                return Err(ImportError::BadSecret {
                    what,
                    problem: "data[\"tls.crt\"] is the certificate of a different key than data[\"tls.key\"]"
                        .to_owned(),
                });
            }
            Some(cert)
        }
    };
    Ok(ImportedKey {
        private,
        certificate,
        name,
    })
}

/// Serialize a [`SecretString`] by exposing it; used only for the key Secret's `tls.key`,
/// whose serialized form the caller keeps in a `SecretString` again.
fn expose<S: Serializer>(secret: &SecretString, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(secret.expose_secret())
}

/// `data` of a key Secret, fields in kubectl's (alphabetical) order.
#[derive(Serialize)]
struct KeyData {
    #[serde(rename = "tls.crt")]
    tls_crt: String,
    #[serde(rename = "tls.key", serialize_with = "expose")]
    tls_key: SecretString,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyMetadata<'a> {
    creation_timestamp: String,
    labels: BTreeMap<&'static str, &'static str>,
    name: &'a str,
    namespace: &'a str,
}

/// One key Secret, fields in kubectl's (alphabetical) order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeySecret<'a> {
    api_version: &'static str,
    data: KeyData,
    kind: &'static str,
    metadata: KeyMetadata<'a>,
    #[serde(rename = "type")]
    type_: &'static str,
}

impl<'a> KeySecret<'a> {
    fn new(key: &'a SealingKey, namespace: &'a str) -> KeySecret<'a> {
        let pem_key = key.private_key().to_pkcs1_pem();
        KeySecret {
            api_version: "v1",
            data: KeyData {
                tls_crt: STANDARD.encode(key.certificate().to_pem()),
                tls_key: SecretString::from(STANDARD.encode(pem_key.expose_secret())),
            },
            kind: "Secret",
            metadata: KeyMetadata {
                creation_timestamp: key.not_before().to_string(),
                labels: BTreeMap::from([(KEY_LABEL, KEY_LABEL_ACTIVE)]),
                name: key.name(),
                namespace,
            },
            type_: "kubernetes.io/tls",
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMetadata {
    resource_version: &'static str,
}

/// `kind: List`, as kubectl prints several objects.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyList<'a> {
    api_version: &'static str,
    items: Vec<KeySecret<'a>>,
    kind: &'static str,
    metadata: ListMetadata,
}

/// Output formats of key Secrets and backups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestFormat {
    /// YAML as kubectl prints it (keys sorted, 2-space indent, lists not indented).
    Yaml,
    /// JSON as kubectl prints it (4-space indent).
    Json,
}

fn render<T: Serialize>(value: &T, format: ManifestFormat) -> SecretString {
    let text = match format {
        ManifestFormat::Yaml => serde_saphyr::to_string_with_options(value, yaml_options())
            .expect("key Secrets serialize to YAML"),
        ManifestFormat::Json => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
            value
                .serialize(&mut ser)
                .expect("key Secrets serialize to JSON");
            out.push(b'\n');
            String::from_utf8(out).expect("serde_json writes UTF-8")
        }
    };
    SecretString::from(text)
}

/// kubectl-like YAML: 2-space indent, sequence items at the parent's indentation, no
/// folding of long base64 lines.
fn yaml_options() -> serde_saphyr::SerializerOptions {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.indent_step = 2;
    options.compact_list_indent = true;
    options.prefer_block_scalars = false;
    options
}

/// One key as a Bitnami key Secret (what the controller writes, and what the local keyring
/// stores per key). Contains the private key, hence a [`SecretString`].
pub fn key_secret(key: &SealingKey, namespace: &str, format: ManifestFormat) -> SecretString {
    render(&KeySecret::new(key, namespace), format)
}

/// All keys as the `v1 List` that
/// `kubectl get secret -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml` prints,
/// newest first.
pub fn backup_list<'a>(
    keys: impl IntoIterator<Item = &'a SealingKey>,
    namespace: &str,
    format: ManifestFormat,
) -> SecretString {
    let list = KeyList {
        api_version: "v1",
        items: keys
            .into_iter()
            .map(|k| KeySecret::new(k, namespace))
            .collect(),
        kind: "List",
        metadata: ListMetadata {
            resource_version: "",
        },
    };
    render(&list, format)
}

/// NotBefore for the certificate made for an imported bare key: just before the oldest key
/// already held, so importing an old key never silently changes which key seals. With an
/// empty keyring it is `now`.
pub fn not_before_for_bare_key(oldest: Option<Timestamp>, now: Timestamp) -> Timestamp {
    match oldest {
        Some(oldest) => oldest
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .unwrap_or(oldest),
        None => now,
    }
}
