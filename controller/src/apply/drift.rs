//! Desired vs live: which parts of the live Secret differ from what the plan wants.
//!
//! Used twice: to write nothing when nothing differs (no-op resyncs), and to say in one
//! Event what a hand edit changed when it is repaired. Field names only — never values.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;

use super::ownership::WriteMode;

/// Parts of the live Secret that differ from the desired one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    /// Changed parts: `data`, `labels`, `annotations`, `type`, `immutable`,
    /// `ownerReferences`.
    pub changed: Vec<&'static str>,
    /// In replace mode: data keys present live but not desired (to remove).
    pub extra_data: Vec<String>,
    /// In replace mode: labels to remove.
    pub extra_labels: Vec<String>,
    /// In replace mode: annotations to remove.
    pub extra_annotations: Vec<String>,
}

impl Drift {
    /// Whether live already is what we want.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
            && self.extra_data.is_empty()
            && self.extra_labels.is_empty()
            && self.extra_annotations.is_empty()
    }

    /// Whether something must be removed (replace mode), which SSA alone cannot do for
    /// fields another manager owns.
    pub fn has_extras(&self) -> bool {
        !(self.extra_data.is_empty()
            && self.extra_labels.is_empty()
            && self.extra_annotations.is_empty())
    }

    /// "data, labels" — the parts a repair touches, for messages.
    pub fn summary(&self) -> String {
        let mut parts: Vec<&str> = self.changed.clone();
        if !self.extra_data.is_empty() && !parts.contains(&"data") {
            parts.push("data");
        }
        if !self.extra_labels.is_empty() && !parts.contains(&"labels") {
            parts.push("labels");
        }
        if !self.extra_annotations.is_empty() && !parts.contains(&"annotations") {
            parts.push("annotations");
        }
        parts.join(", ")
    }
}

fn map_differs<V: PartialEq>(
    desired: Option<&BTreeMap<String, V>>,
    live: Option<&BTreeMap<String, V>>,
) -> bool {
    let Some(desired) = desired else {
        return false;
    };
    desired
        .iter()
        .any(|(k, v)| live.and_then(|l| l.get(k)) != Some(v))
}

fn extras<V>(
    desired: Option<&BTreeMap<String, V>>,
    live: Option<&BTreeMap<String, V>>,
) -> Vec<String> {
    live.map(|l| {
        l.keys()
            .filter(|k| desired.is_none_or(|d| !d.contains_key(*k)))
            .cloned()
            .collect()
    })
    .unwrap_or_default()
}

/// Compare. `desired` must already carry (or not) the owner reference per the decision.
pub fn compare(desired: &Secret, live: &Secret, mode: WriteMode) -> Drift {
    let mut drift = Drift::default();
    if map_differs(desired.data.as_ref(), live.data.as_ref()) {
        drift.changed.push("data");
    }
    let (dm, lm) = (&desired.metadata, &live.metadata);
    if map_differs(dm.labels.as_ref(), lm.labels.as_ref()) {
        drift.changed.push("labels");
    }
    if map_differs(dm.annotations.as_ref(), lm.annotations.as_ref()) {
        drift.changed.push("annotations");
    }
    let desired_type = desired.type_.as_deref().unwrap_or("Opaque");
    if live.type_.as_deref().unwrap_or("Opaque") != desired_type {
        drift.changed.push("type");
    }
    if desired.immutable.is_some() && desired.immutable != live.immutable {
        drift.changed.push("immutable");
    }
    if let Some(refs) = &dm.owner_references {
        let live_refs = lm.owner_references.as_deref().unwrap_or_default();
        if refs.iter().any(|r| {
            !live_refs
                .iter()
                .any(|l| l.uid == r.uid && l.controller == r.controller && l.kind == r.kind)
        }) {
            drift.changed.push("ownerReferences");
        }
    }
    if mode == WriteMode::Replace {
        drift.extra_data = extras(desired.data.as_ref(), live.data.as_ref());
        drift.extra_labels = extras(dm.labels.as_ref(), lm.labels.as_ref());
        drift.extra_annotations = extras(dm.annotations.as_ref(), lm.annotations.as_ref());
    }
    drift
}

#[cfg(test)]
mod tests {
    use k8s_openapi::ByteString;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn secret(data: &[(&str, &str)], labels: &[(&str, &str)]) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                labels: Some(
                    labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..Default::default()
            },
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn identical_is_empty() {
        let s = secret(&[("a", "1")], &[("l", "x")]);
        assert!(compare(&s, &s, WriteMode::Replace).is_empty());
    }

    #[test]
    fn changed_value_and_extra_key_are_reported_by_name_only() {
        let desired = secret(&[("a", "1")], &[]);
        let live = secret(&[("a", "2"), ("b", "3")], &[("hand", "made")]);
        let d = compare(&desired, &live, WriteMode::Replace);
        assert_eq!(d.changed, vec!["data"]);
        assert_eq!(d.extra_data, vec!["b".to_string()]);
        assert_eq!(d.extra_labels, vec!["hand".to_string()]);
        assert_eq!(d.summary(), "data, labels");
        assert!(!format!("{d:?}").contains('2'));
    }

    #[test]
    fn merge_mode_ignores_extras() {
        let desired = secret(&[("a", "1")], &[]);
        let live = secret(&[("a", "1"), ("b", "3")], &[("other", "x")]);
        assert!(compare(&desired, &live, WriteMode::Merge).is_empty());
    }

    #[test]
    fn type_defaults_to_opaque() {
        let mut desired = secret(&[("a", "1")], &[]);
        let mut live = desired.clone();
        live.type_ = Some("Opaque".into());
        assert!(compare(&desired, &live, WriteMode::Replace).is_empty());
        desired.type_ = Some("kubernetes.io/tls".into());
        assert_eq!(
            compare(&desired, &live, WriteMode::Replace).changed,
            vec!["type"]
        );
    }
}
