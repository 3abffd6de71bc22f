//! ClusterExternalSecret fan-out (ESO `clusterexternalsecret_controller.go`): one
//! ExternalSecret per selected namespace, owned by the ClusterExternalSecret; the ones in
//! namespaces no longer selected are removed; a same-named ExternalSecret this
//! ClusterExternalSecret does not own is never touched (`external secret already exists in
//! namespace`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::selector;
use crate::api::external::cluster::{
    ClusterExternalSecretCondition, ClusterExternalSecretStatus, NamespaceFailure,
};
use crate::api::external::{
    ANNOTATION_FORCE_SYNC, API_VERSION_V1, ClusterExternalSecret, ExternalSecret,
};

/// A namespace as the planner sees it.
#[derive(Clone, Debug, Default)]
pub struct NamespaceInfo {
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Being deleted.
    pub terminating: bool,
}

/// An existing ExternalSecret with the CES's name somewhere.
#[derive(Clone, Debug)]
pub struct Existing {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// uid.
    pub uid: String,
    /// Whether this ClusterExternalSecret controls it.
    pub ours: bool,
}

/// What to do.
#[derive(Clone, Debug, Default)]
pub struct FanOut {
    /// ExternalSecrets to apply.
    pub apply: Vec<ExternalSecret>,
    /// ExternalSecrets to delete: (namespace, name, uid).
    pub delete: Vec<(String, String, String)>,
    /// Namespaces refused and why.
    pub failed: BTreeMap<String, String>,
}

/// The name of the ExternalSecrets made.
pub fn es_name(ces: &ClusterExternalSecret) -> String {
    ces.spec
        .external_secret_name
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| ces.metadata.name.clone())
        .unwrap_or_default()
}

/// The namespaces a ClusterExternalSecret selects (selectors ORed, plus the list).
pub fn selected(ces: &ClusterExternalSecret, namespaces: &[NamespaceInfo]) -> BTreeSet<String> {
    let mut selectors = ces.spec.namespace_selectors.clone();
    if let Some(s) = &ces.spec.namespace_selector {
        selectors.push(s.clone());
    }
    namespaces
        .iter()
        .filter(|ns| !ns.terminating)
        .filter(|ns| {
            ces.spec.namespaces.contains(&ns.name)
                || selectors.iter().any(|s| selector::matches(s, &ns.labels))
        })
        .map(|ns| ns.name.clone())
        .collect()
}

/// Plan the fan-out.
pub fn plan(
    ces: &ClusterExternalSecret,
    namespaces: &[NamespaceInfo],
    existing: &[Existing],
) -> FanOut {
    let name = es_name(ces);
    let targets = selected(ces, namespaces);
    let mut out = FanOut::default();
    for e in existing.iter().filter(|e| e.ours) {
        if !targets.contains(&e.namespace) || e.name != name {
            out.delete
                .push((e.namespace.clone(), e.name.clone(), e.uid.clone()));
        }
    }
    let owner = OwnerReference {
        api_version: API_VERSION_V1.to_owned(),
        kind: "ClusterExternalSecret".to_owned(),
        name: ces.metadata.name.clone().unwrap_or_default(),
        uid: ces.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let metadata = ces
        .spec
        .external_secret_metadata
        .clone()
        .unwrap_or_default();
    for ns in targets {
        if existing
            .iter()
            .any(|e| e.namespace == ns && e.name == name && !e.ours)
        {
            out.failed
                .insert(ns, "external secret already exists in namespace".into());
            continue;
        }
        let mut annotations = metadata.annotations.clone();
        match ces
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(ANNOTATION_FORCE_SYNC))
        {
            Some(v) => {
                annotations.insert(ANNOTATION_FORCE_SYNC.to_owned(), v.clone());
            }
            None => {
                annotations.remove(ANNOTATION_FORCE_SYNC);
            }
        }
        let mut es = ExternalSecret::new(&name, ces.spec.external_secret_spec.clone());
        es.metadata = ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns),
            labels: (!metadata.labels.is_empty()).then(|| metadata.labels.clone()),
            annotations: (!annotations.is_empty()).then_some(annotations),
            owner_references: Some(vec![owner.clone()]),
            ..ObjectMeta::default()
        };
        out.apply.push(es);
    }
    out
}

/// The status after a fan-out (`provisioned`: namespaces where the apply succeeded).
pub fn status(
    ces: &ClusterExternalSecret,
    mut provisioned: Vec<String>,
    failed: &BTreeMap<String, String>,
) -> ClusterExternalSecretStatus {
    provisioned.sort();
    let condition = if failed.is_empty() {
        ClusterExternalSecretCondition {
            type_: "Ready".into(),
            status: "True".into(),
            message: None,
        }
    } else {
        ClusterExternalSecretCondition {
            type_: "Ready".into(),
            status: "False".into(),
            message: Some("one or more namespaces failed".into()),
        }
    };
    ClusterExternalSecretStatus {
        external_secret_name: Some(es_name(ces)),
        failed_namespaces: failed
            .iter()
            .map(|(ns, reason)| NamespaceFailure {
                namespace: ns.clone(),
                reason: Some(reason.clone()),
            })
            .collect(),
        provisioned_namespaces: provisioned,
        conditions: vec![condition],
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

    use super::*;
    use crate::api::external::ClusterExternalSecretSpec;
    use crate::api::external::cluster::ExternalSecretMetadata;

    fn ns(name: &str, team: &str) -> NamespaceInfo {
        NamespaceInfo {
            name: name.into(),
            labels: BTreeMap::from([("team".to_owned(), team.to_owned())]),
            terminating: false,
        }
    }

    fn ces() -> ClusterExternalSecret {
        let mut c = ClusterExternalSecret::new(
            "shared",
            ClusterExternalSecretSpec {
                external_secret_name: Some("db".into()),
                external_secret_metadata: Some(ExternalSecretMetadata {
                    labels: BTreeMap::from([("from".to_owned(), "ces".to_owned())]),
                    annotations: BTreeMap::new(),
                }),
                namespace_selectors: vec![LabelSelector {
                    match_labels: Some(BTreeMap::from([("team".to_owned(), "a".to_owned())])),
                    match_expressions: None,
                }],
                namespaces: vec!["ops".into()],
                ..Default::default()
            },
        );
        c.metadata.uid = Some("ces-uid".into());
        c.metadata.annotations = Some(BTreeMap::from([(
            ANNOTATION_FORCE_SYNC.to_owned(),
            "42".to_owned(),
        )]));
        c
    }

    #[test]
    fn fans_out_removes_stale_and_refuses_foreign() {
        let mut terminating = ns("a-gone", "a");
        terminating.terminating = true;
        let namespaces = vec![
            ns("a1", "a"),
            ns("a2", "a"),
            ns("b1", "b"),
            ns("ops", "x"),
            terminating,
        ];
        let existing = vec![
            Existing {
                namespace: "b1".into(),
                name: "db".into(),
                uid: "u-b1".into(),
                ours: true,
            },
            Existing {
                namespace: "a2".into(),
                name: "db".into(),
                uid: "u-a2".into(),
                ours: false,
            },
        ];
        let out = plan(&ces(), &namespaces, &existing);
        let applied: Vec<_> = out
            .apply
            .iter()
            .map(|e| e.metadata.namespace.clone().unwrap())
            .collect();
        assert_eq!(applied, ["a1", "ops"]);
        assert_eq!(out.delete, vec![("b1".into(), "db".into(), "u-b1".into())]);
        assert_eq!(
            out.failed["a2"],
            "external secret already exists in namespace"
        );
        let es = &out.apply[0];
        assert_eq!(es.metadata.labels.as_ref().unwrap()["from"], "ces");
        assert_eq!(
            es.metadata.annotations.as_ref().unwrap()[ANNOTATION_FORCE_SYNC],
            "42"
        );
        assert_eq!(
            es.metadata.owner_references.as_ref().unwrap()[0].uid,
            "ces-uid"
        );
        let st = status(&ces(), applied, &out.failed);
        assert_eq!(st.conditions[0].status, "False");
        assert_eq!(st.provisioned_namespaces, ["a1", "ops"]);
        assert_eq!(st.external_secret_name.as_deref(), Some("db"));
    }
}
