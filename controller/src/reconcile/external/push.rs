//! PushSecret (ESO `pushsecret_controller.go`): which keys of the source Secret go to which
//! remote keys of which stores, what was pushed before (`status.syncedPushSecrets`, keyed
//! `Kind/name` → `remoteKey[/property]`), and what must be deleted remotely
//! (`deletionPolicy: Delete`: entries no longer pushed, or everything when the PushSecret
//! goes away). Pure; the shell pushes through the providers.

use std::collections::BTreeMap;

use regex::Regex;

use super::keys::DataMap;
use super::template::{self, Shape, TemplateSources};
use crate::api::external::push::{PushSecret, PushSecretData};

/// One push. `Debug` never shows the value.
#[derive(Clone)]
pub struct PushOp {
    /// `Kind/name` of the store.
    pub store: String,
    /// The remote key.
    pub remote_key: String,
    /// The property, if any.
    pub property: Option<String>,
    /// The value (a secret: never logged).
    pub value: Vec<u8>,
    /// Provider metadata.
    pub metadata: Option<serde_json::Value>,
    /// The spec entry (recorded in status).
    pub entry: PushSecretData,
}

impl std::fmt::Debug for PushOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushOp")
            .field("store", &self.store)
            .field("remote_key", &self.remote_key)
            .field("property", &self.property)
            .field("value", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// `remoteKey[/property]`, ESO's status key.
pub fn status_ref(entry: &PushSecretData) -> String {
    let r = &entry.match_.remote_ref;
    match r.property.as_deref().filter(|p| !p.is_empty()) {
        Some(p) => format!("{}/{p}", r.remote_key),
        None => r.remote_key.clone(),
    }
}

/// ESO `ReverseKeys` with `ReverseUnicode`: `_U002f_` → `/`.
pub fn reverse_unicode(key: &str) -> String {
    let re = Regex::new(r"_U([0-9a-fA-F]{4,5})_").expect("static regexp");
    re.replace_all(key, |c: &regex::Captures<'_>| {
        u32::from_str_radix(&c[1], 16)
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_else(|| c[0].to_owned())
    })
    .into_owned()
}

/// The pushes for `stores` (already resolved from `secretStoreRefs`), from the source data.
pub fn plan(ps: &PushSecret, source: &DataMap, stores: &[String]) -> Result<Vec<PushOp>, String> {
    if ps.spec.selector.generator_ref.is_some() {
        return Err("spec.selector.generatorRef: generators are not supported by sealbox".into());
    }
    if !ps.spec.data_to.is_empty() {
        return Err("spec.dataTo is not supported by sealbox; use spec.data".into());
    }
    let data: DataMap = match &ps.spec.template {
        None => source.clone(),
        Some(t) => {
            let shape = template::apply(
                template::Context {
                    template: Some(t),
                    creation_policy: "Owner",
                    es_labels: None,
                    es_annotations: None,
                },
                Shape::default(),
                source,
                &TemplateSources::default(),
            )
            .map_err(|e| e.to_string())?;
            shape.data
        }
    };
    let mut ops = Vec::new();
    for (i, entry) in ps.spec.data.iter().enumerate() {
        let reverse = match entry.conversion_strategy.as_deref().unwrap_or("") {
            "" | "None" => false,
            "ReverseUnicode" => true,
            other => {
                return Err(format!(
                    "spec.data[{i}].conversionStrategy {other:?} is not supported (expected None or ReverseUnicode)"
                ));
            }
        };
        let converted: DataMap = if reverse {
            data.iter()
                .map(|(k, v)| (reverse_unicode(k), v.clone()))
                .collect()
        } else {
            data.clone()
        };
        let value = match entry.match_.secret_key.as_deref().filter(|k| !k.is_empty()) {
            Some(key) => converted.get(key).cloned().ok_or_else(|| {
                format!("spec.data[{i}]: secret key {key:?} not found in the source Secret")
            })?,
            None => {
                // The whole Secret as a JSON object of strings (ESO's behaviour).
                let object: BTreeMap<&String, String> = converted
                    .iter()
                    .map(|(k, v)| (k, String::from_utf8_lossy(v).into_owned()))
                    .collect();
                serde_json::to_vec(&object).expect("strings serialize")
            }
        };
        if entry.match_.remote_ref.remote_key.is_empty() {
            return Err(format!(
                "spec.data[{i}].match.remoteRef.remoteKey is required"
            ));
        }
        for store in stores {
            ops.push(PushOp {
                store: store.clone(),
                remote_key: entry.match_.remote_ref.remote_key.clone(),
                property: entry
                    .match_
                    .remote_ref
                    .property
                    .clone()
                    .filter(|p| !p.is_empty()),
                value: value.clone(),
                metadata: entry.metadata.clone(),
                entry: entry.clone(),
            });
        }
    }
    Ok(ops)
}

/// Synced entries no longer pushed: (store, entry) to delete with `deletionPolicy: Delete`.
pub fn stale(ps: &PushSecret, ops: &[PushOp]) -> Vec<(String, PushSecretData)> {
    let mut out = Vec::new();
    for (store, entries) in ps
        .status
        .as_ref()
        .map(|s| s.synced_push_secrets.clone())
        .unwrap_or_default()
    {
        for (key, entry) in entries {
            if !ops
                .iter()
                .any(|o| o.store == store && status_ref(&o.entry) == key)
            {
                out.push((store.clone(), entry));
            }
        }
    }
    out
}

/// `status.syncedPushSecrets` after pushing `ops`.
pub fn synced(ops: &[PushOp]) -> BTreeMap<String, BTreeMap<String, PushSecretData>> {
    let mut out: BTreeMap<String, BTreeMap<String, PushSecretData>> = BTreeMap::new();
    for op in ops {
        out.entry(op.store.clone())
            .or_default()
            .insert(status_ref(&op.entry), op.entry.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::external::push::{
        PushSecretMatch, PushSecretRemoteRef, PushSecretSpec, PushSecretStatus,
    };

    fn entry(key: Option<&str>, remote: &str, property: Option<&str>) -> PushSecretData {
        PushSecretData {
            match_: PushSecretMatch {
                secret_key: key.map(str::to_owned),
                remote_ref: PushSecretRemoteRef {
                    remote_key: remote.into(),
                    property: property.map(str::to_owned),
                },
            },
            metadata: None,
            conversion_strategy: None,
        }
    }

    fn ps(data: Vec<PushSecretData>) -> PushSecret {
        PushSecret::new(
            "push",
            PushSecretSpec {
                data,
                ..Default::default()
            },
        )
    }

    fn source() -> DataMap {
        DataMap::from([
            ("password".to_owned(), b"pw".to_vec()),
            ("a_U002f_b".to_owned(), b"slash".to_vec()),
        ])
    }

    #[test]
    fn pushes_keys_whole_secrets_and_reverse_unicode() {
        let mut p = ps(vec![
            entry(Some("password"), "app/db", Some("password")),
            entry(None, "app/all", None),
            entry(Some("a/b"), "app/slash", None),
        ]);
        p.spec.data[2].conversion_strategy = Some("ReverseUnicode".into());
        let ops = plan(
            &p,
            &source(),
            &["SecretStore/aws".into(), "ClusterSecretStore/v".into()],
        )
        .unwrap();
        assert_eq!(ops.len(), 6);
        assert_eq!(ops[0].value, b"pw");
        assert_eq!(ops[0].property.as_deref(), Some("password"));
        assert_eq!(ops[2].value, br#"{"a_U002f_b":"slash","password":"pw"}"#);
        assert_eq!(ops[4].value, b"slash");
        assert_eq!(status_ref(&ops[0].entry), "app/db/password");
        let s = synced(&ops);
        assert_eq!(s["SecretStore/aws"].len(), 3);
        let missing = ps(vec![entry(Some("nope"), "x", None)]);
        assert!(
            plan(&missing, &source(), &["s".into()])
                .unwrap_err()
                .contains("\"nope\"")
        );
    }

    #[test]
    fn stale_entries_are_those_no_longer_pushed() {
        let mut p = ps(vec![entry(Some("password"), "app/db", None)]);
        let old = entry(Some("password"), "app/old", None);
        p.status = Some(PushSecretStatus {
            synced_push_secrets: BTreeMap::from([(
                "SecretStore/aws".to_owned(),
                BTreeMap::from([
                    ("app/old".to_owned(), old.clone()),
                    ("app/db".to_owned(), entry(Some("password"), "app/db", None)),
                ]),
            )]),
            ..Default::default()
        });
        let ops = plan(&p, &source(), &["SecretStore/aws".into()]).unwrap();
        let gone = stale(&p, &ops);
        assert_eq!(gone, vec![("SecretStore/aws".to_owned(), old)]);
    }
}
