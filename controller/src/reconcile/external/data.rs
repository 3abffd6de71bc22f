//! `spec.data` / `spec.dataFrom` → store reads, and their answers → the provider data map,
//! exactly in ESO's order (`GetProviderSecretData`): every `dataFrom` entry in order (each
//! through rewrite → convert → validate → decode → NUL check), merged; then every `data[]`
//! item overwrites by `secretKey`.
//!
//! Split in two pure halves around the I/O: [`requests`] says what to read (the async shell
//! reads through the shared request layer, so duplicate reads cost nothing), [`assemble`]
//! turns the answers into data, applying ESO's rule for a missing remote secret: skipped
//! (with a `MissingProviderSecret` event) unless `deletionPolicy: Retain`, where it is an
//! error.

use sealbox_providers::{
    ErrorKind, FindRef, MetadataPolicy, ProviderError, RemoteRef, SecretMap, SecretValue,
};

use super::keys::{self, Conversion, DataMap, Decoding, KeyError};
use crate::api::external::external_secret::{self as es, ExternalSecretSpec, SecretStoreRef};
use crate::apply::PlannedEvent;

/// Event reason: a remote secret is missing and the deletion policy tolerates it.
pub const REASON_MISSING_PROVIDER_SECRET: &str = "MissingProviderSecret";

/// Where a read comes from in the spec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `spec.dataFrom[i]`.
    DataFrom(usize),
    /// `spec.data[i]`.
    Data(usize),
}

/// One read.
#[derive(Clone, Debug)]
pub enum Read {
    /// `GetSecretMap` (`dataFrom.extract`).
    Extract(RemoteRef),
    /// `GetAllSecrets` (`dataFrom.find`).
    Find(FindRef),
    /// `GetSecret` (`data[]`).
    Get(RemoteRef),
}

/// One read and the store it goes to.
#[derive(Clone, Debug)]
pub struct Request {
    /// The store (`sourceRef.storeRef`, else `spec.secretStoreRef`).
    pub store: SecretStoreRef,
    /// What to read.
    pub read: Read,
    /// Which spec item asked.
    pub origin: Origin,
}

/// The answer to one read.
#[derive(Clone, Debug)]
pub enum Answer {
    /// A value (`Get`).
    Value(SecretValue),
    /// A map (`Extract`, `Find`).
    Map(SecretMap),
}

/// The spec cannot be turned into reads.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No store anywhere.
    #[error("{0}: no store: set spec.secretStoreRef or sourceRef.storeRef")]
    NoStore(String),
    /// Generators are not implemented.
    #[error("{0}: generators (sourceRef.generatorRef) are not supported by sealbox")]
    Generator(String),
    /// Neither extract nor find.
    #[error("spec.dataFrom[{0}]: one of extract or find must be set")]
    EmptyDataFrom(usize),
    /// An invalid enum value.
    #[error("{0}: {1}")]
    Field(String, KeyError),
}

fn metadata_policy(path: &str, value: Option<&str>) -> Result<MetadataPolicy, SpecError> {
    match value.unwrap_or("") {
        "" | "None" => Ok(MetadataPolicy::None),
        "Fetch" => Ok(MetadataPolicy::Fetch),
        other => Err(SpecError::Field(
            path.to_owned(),
            KeyError::Unsupported {
                field: "metadataPolicy",
                value: other.to_owned(),
                expected: "None, Fetch",
            },
        )),
    }
}

fn remote_ref(path: &str, r: &es::RemoteRef) -> Result<RemoteRef, SpecError> {
    Ok(RemoteRef {
        key: r.key.clone(),
        property: r.property.clone().filter(|p| !p.is_empty()),
        version: r.version.clone().filter(|v| !v.is_empty()),
        metadata_policy: metadata_policy(path, r.metadata_policy.as_deref())?,
    })
}

fn store_for(
    path: &str,
    default: Option<&SecretStoreRef>,
    source: Option<&es::StoreSourceRef>,
) -> Result<SecretStoreRef, SpecError> {
    if let Some(source) = source {
        if source.generator_ref.is_some() {
            return Err(SpecError::Generator(path.to_owned()));
        }
        if let Some(store) = source.store_ref.as_ref().filter(|s| !s.name.is_empty()) {
            return Ok(store.clone());
        }
    }
    default
        .filter(|s| !s.name.is_empty())
        .cloned()
        .ok_or_else(|| SpecError::NoStore(path.to_owned()))
}

/// Every read the spec needs, `dataFrom` first, in spec order.
pub fn requests(spec: &ExternalSecretSpec) -> Result<Vec<Request>, SpecError> {
    let default = spec.secret_store_ref.as_ref();
    let mut out = Vec::new();
    for (i, item) in spec.data_from.iter().enumerate() {
        let path = format!("spec.dataFrom[{i}]");
        let store = store_for(&path, default, item.source_ref.as_ref())?;
        let read = if let Some(find) = &item.find {
            let strategy_check = Conversion::parse(find.conversion_strategy.as_deref())
                .and_then(|_| Decoding::parse(find.decoding_strategy.as_deref()));
            strategy_check.map_err(|e| SpecError::Field(format!("{path}.find"), e))?;
            Read::Find(FindRef {
                path: find.path.clone().filter(|p| !p.is_empty()),
                name_regexp: find
                    .name
                    .as_ref()
                    .and_then(|n| n.regexp.clone())
                    .filter(|r| !r.is_empty()),
                tags: find.tags.clone(),
            })
        } else if let Some(extract) = &item.extract {
            let strategy_check = Conversion::parse(extract.conversion_strategy.as_deref())
                .and_then(|_| Decoding::parse(extract.decoding_strategy.as_deref()));
            strategy_check.map_err(|e| SpecError::Field(format!("{path}.extract"), e))?;
            Read::Extract(remote_ref(&format!("{path}.extract"), extract)?)
        } else {
            return Err(SpecError::EmptyDataFrom(i));
        };
        out.push(Request {
            store,
            read,
            origin: Origin::DataFrom(i),
        });
    }
    for (i, item) in spec.data.iter().enumerate() {
        let path = format!("spec.data[{i}]");
        let store = store_for(&path, default, item.source_ref.as_ref())?;
        Decoding::parse(item.remote_ref.decoding_strategy.as_deref())
            .map_err(|e| SpecError::Field(path.clone(), e))?;
        out.push(Request {
            store,
            read: Read::Get(remote_ref(&path, &item.remote_ref)?),
            origin: Origin::Data(i),
        });
    }
    Ok(out)
}

/// Reading or processing failed.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DataError {
    /// The store answered with an error.
    #[error("{context}, err: {source}")]
    Provider {
        /// `error processing spec.data[0] (key: app/db)`.
        context: String,
        /// The store's error (value-free).
        source: ProviderError,
    },
    /// Keys or values could not be processed.
    #[error("{context}, err: {source}")]
    Keys {
        /// Which item.
        context: String,
        /// What failed.
        source: KeyError,
    },
}

impl DataError {
    /// Whether retrying later can help without a change (store down or throttling).
    pub fn is_transient(&self) -> bool {
        matches!(self, DataError::Provider { source, .. } if source.is_transient())
    }

    /// How long the store asked us to wait, if it said.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            DataError::Provider { source, .. } => source.retry_after(),
            DataError::Keys { .. } => None,
        }
    }
}

/// The provider data and the events reading it produced.
#[derive(Debug, Default)]
pub struct Assembled {
    /// Secret key → value.
    pub data: DataMap,
    /// `MissingProviderSecret` events.
    pub events: Vec<PlannedEvent>,
}

fn map_of(answer: Answer) -> DataMap {
    match answer {
        Answer::Map(m) => m
            .into_iter()
            .map(|(k, v)| (k, v.expose().to_vec()))
            .collect(),
        Answer::Value(v) => DataMap::from([(String::new(), v.expose().to_vec())]),
    }
}

/// Turn the answers (one per request, same order) into the provider data.
pub fn assemble(
    spec: &ExternalSecretSpec,
    deletion_policy: &str,
    answers: Vec<(Request, Result<Answer, ProviderError>)>,
) -> Result<Assembled, DataError> {
    let mut out = Assembled::default();
    let tolerate_missing = deletion_policy != "Retain";
    for (request, answer) in answers {
        match request.origin {
            Origin::DataFrom(i) => {
                let item = &spec.data_from[i];
                let (what, conversion, decoding, null_policy) = match (&item.find, &item.extract) {
                    (Some(f), _) => (
                        "find",
                        f.conversion_strategy.as_deref(),
                        f.decoding_strategy.as_deref(),
                        f.null_byte_policy.as_deref(),
                    ),
                    (None, Some(e)) => (
                        "extract",
                        e.conversion_strategy.as_deref(),
                        e.decoding_strategy.as_deref(),
                        e.null_byte_policy.as_deref(),
                    ),
                    (None, None) => unreachable!("requests() refuses empty dataFrom items"),
                };
                let context = format!("error processing spec.dataFrom[{i}].{what}");
                let answer = match answer {
                    Err(e) if e.kind() == ErrorKind::NotFound && tolerate_missing => {
                        out.events.push(PlannedEvent::normal(
                            REASON_MISSING_PROVIDER_SECRET,
                            format!("secret does not exist at provider using spec.dataFrom[{i}]"),
                        ));
                        continue;
                    }
                    Err(source) => return Err(DataError::Provider { context, source }),
                    Ok(a) => a,
                };
                let keys_err = |source| DataError::Keys {
                    context: context.clone(),
                    source,
                };
                let mut map = keys::rewrite(&item.rewrite, map_of(answer)).map_err(keys_err)?;
                if item.rewrite.is_empty() {
                    let conversion = Conversion::parse(conversion).map_err(keys_err)?;
                    map = keys::convert_keys(conversion, map).map_err(keys_err)?;
                }
                map = keys::validate_keys(map).map_err(keys_err)?;
                let decoding = Decoding::parse(decoding).map_err(keys_err)?;
                map = keys::decode_map(decoding, map).map_err(keys_err)?;
                keys::check_null_bytes(null_policy, &map).map_err(keys_err)?;
                out.data.extend(map);
            }
            Origin::Data(i) => {
                let item = &spec.data[i];
                let context = format!(
                    "error processing spec.data[{i}] (key: {})",
                    item.remote_ref.key
                );
                let value = match answer {
                    Err(e) if e.kind() == ErrorKind::NotFound && tolerate_missing => {
                        out.events.push(PlannedEvent::normal(
                            REASON_MISSING_PROVIDER_SECRET,
                            format!(
                                "secret does not exist at provider using spec.data[{i}] (key={})",
                                item.remote_ref.key
                            ),
                        ));
                        continue;
                    }
                    Err(source) => return Err(DataError::Provider { context, source }),
                    Ok(Answer::Value(v)) => v.expose().to_vec(),
                    Ok(Answer::Map(_)) => unreachable!("Get reads answer with a value"),
                };
                let keys_err = |source| DataError::Keys {
                    context: context.clone(),
                    source,
                };
                let decoding = Decoding::parse(item.remote_ref.decoding_strategy.as_deref())
                    .map_err(keys_err)?;
                let value = keys::decode(decoding, &item.secret_key, value).map_err(keys_err)?;
                let single = DataMap::from([(item.secret_key.clone(), value)]);
                keys::check_null_bytes(item.remote_ref.null_byte_policy.as_deref(), &single)
                    .map_err(keys_err)?;
                out.data.extend(single);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::external::external_secret::{
        DataFromSource, ExternalSecretData, Find, FindName,
    };

    fn spec() -> ExternalSecretSpec {
        ExternalSecretSpec {
            secret_store_ref: Some(SecretStoreRef {
                name: "aws".into(),
                kind: None,
            }),
            data_from: vec![
                DataFromSource {
                    extract: Some(es::RemoteRef {
                        key: "app/common".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                DataFromSource {
                    find: Some(Find {
                        name: Some(FindName {
                            regexp: Some("^app/".into()),
                        }),
                        decoding_strategy: Some("Base64".into()),
                        ..Default::default()
                    }),
                    source_ref: Some(es::StoreSourceRef {
                        store_ref: Some(SecretStoreRef {
                            name: "other".into(),
                            kind: Some("ClusterSecretStore".into()),
                        }),
                        generator_ref: None,
                    }),
                    ..Default::default()
                },
            ],
            data: vec![ExternalSecretData {
                secret_key: "password".into(),
                remote_ref: es::RemoteRef {
                    key: "app/db".into(),
                    property: Some("password".into()),
                    ..Default::default()
                },
                source_ref: None,
            }],
            ..Default::default()
        }
    }

    fn answers(
        spec: &ExternalSecretSpec,
        results: Vec<Result<Answer, ProviderError>>,
    ) -> Vec<(Request, Result<Answer, ProviderError>)> {
        requests(spec).unwrap().into_iter().zip(results).collect()
    }

    fn smap(entries: &[(&str, &str)]) -> Answer {
        Answer::Map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), SecretValue::from(*v)))
                .collect(),
        )
    }

    #[test]
    fn requests_follow_the_spec_and_its_store_overrides() {
        let reqs = requests(&spec()).unwrap();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].store.name, "aws");
        assert!(reqs[1].store.is_cluster());
        assert!(matches!(&reqs[2].read, Read::Get(r) if r.property.as_deref() == Some("password")));
        let mut bad = spec();
        bad.data_from[0].extract = None;
        assert_eq!(requests(&bad).unwrap_err(), SpecError::EmptyDataFrom(0));
        let mut bad = spec();
        bad.secret_store_ref = None;
        assert!(matches!(requests(&bad).unwrap_err(), SpecError::NoStore(_)));
        let mut bad = spec();
        bad.data[0].remote_ref.decoding_strategy = Some("Rot13".into());
        assert!(requests(&bad).unwrap_err().to_string().contains("Rot13"));
    }

    #[test]
    fn data_from_merges_in_order_and_data_overrides() {
        let s = spec();
        let got = assemble(
            &s,
            "Retain",
            answers(
                &s,
                vec![
                    Ok(smap(&[("password", "from-extract"), ("a b", "x")])),
                    Ok(smap(&[("app/x", "aGk=")])),
                    Ok(Answer::Value(SecretValue::from("from-data"))),
                ],
            ),
        )
        .unwrap();
        assert_eq!(got.data["password"], b"from-data");
        assert_eq!(got.data["a_b"], b"x", "converted without rewrite");
        assert_eq!(got.data["app_x"], b"hi", "find: converted then decoded");
    }

    #[test]
    fn missing_remote_secrets_follow_the_deletion_policy() {
        let s = spec();
        let results = || {
            vec![
                Err(ProviderError::NotFound {
                    key: "app/common".into(),
                }),
                Ok(smap(&[])),
                Err(ProviderError::NotFound {
                    key: "app/db".into(),
                }),
            ]
        };
        let got = assemble(&s, "Delete", answers(&s, results())).unwrap();
        assert!(got.data.is_empty());
        assert_eq!(got.events.len(), 2);
        assert_eq!(got.events[0].reason, REASON_MISSING_PROVIDER_SECRET);
        let e = assemble(&s, "Retain", answers(&s, results())).unwrap_err();
        assert!(!e.is_transient());
        assert!(
            e.to_string()
                .starts_with("error processing spec.dataFrom[0].extract"),
            "{e}"
        );
    }

    #[test]
    fn outages_are_transient_errors() {
        let s = spec();
        let e = assemble(
            &s,
            "Delete",
            answers(
                &s,
                vec![
                    Err(ProviderError::Unavailable {
                        message: "connection refused".into(),
                    }),
                    Ok(smap(&[])),
                    Ok(Answer::Value(SecretValue::from("v"))),
                ],
            ),
        )
        .unwrap_err();
        assert!(e.is_transient());
    }
}
