//! The External Secrets Operator API (`external-secrets.io`), served by sealbox with ESO's
//! schemas so ESO manifests apply unchanged:
//!
//! * [`ExternalSecret`], [`SecretStore`], [`ClusterSecretStore`], [`ClusterExternalSecret`]
//!   (`v1`) and [`PushSecret`] (`v1alpha1`);
//! * [`crds`] — their CustomResourceDefinitions, generated from these types, with every
//!   `default:` removed (ESO's server-side defaults on optional fields keep Argo CD
//!   OutOfSync forever; defaults live in the reconcilers instead);
//! * [`duration`] — Go duration text (`1h0m0s`).

pub mod cluster;
pub mod duration;
pub mod external_secret;
pub mod push;
pub mod store;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt as _;
use serde_json::Value;

pub use cluster::{ClusterExternalSecret, ClusterExternalSecretSpec, ClusterExternalSecretStatus};
pub use external_secret::{
    CLUSTER_SECRET_STORE_KIND, ExternalSecret, ExternalSecretCondition, ExternalSecretSpec,
    ExternalSecretStatus, SECRET_STORE_KIND, SecretStoreRef,
};
pub use push::{PushSecret, PushSecretSpec, PushSecretStatus};
pub use store::{
    ClusterSecretStore, ClusterSecretStoreSpec, SecretStore, SecretStoreProvider, SecretStoreSpec,
    SecretStoreStatus,
};

/// API group.
pub const GROUP: &str = "external-secrets.io";
/// `apiVersion` of the v1 kinds.
pub const API_VERSION_V1: &str = "external-secrets.io/v1";
/// `apiVersion` of PushSecret.
pub const API_VERSION_V1ALPHA1: &str = "external-secrets.io/v1alpha1";

/// Label on every Secret an ExternalSecret manages (ESO's; the Secret watch filters on it).
pub const LABEL_MANAGED: &str = "reconcile.external-secrets.io/managed";
/// Label naming (by hash of `namespace/name`) the ExternalSecret that owns a Secret.
pub const LABEL_OWNER: &str = "reconcile.external-secrets.io/created-by";
/// Annotation with the hash of the Secret's data (drift detection without the store).
pub const ANNOTATION_DATA_HASH: &str = "reconcile.external-secrets.io/data-hash";
/// Annotation whose change forces a refresh.
pub const ANNOTATION_FORCE_SYNC: &str = "external-secrets.io/force-sync";
/// Finalizer on ExternalSecrets (ESO's name, so objects move between the two).
pub const FINALIZER: &str = "externalsecrets.external-secrets.io/externalsecret-cleanup";
/// Label on ExternalSecrets made by a ClusterExternalSecret (ESO's).
pub const LABEL_CES_OWNER: &str = "externalsecrets.external-secrets.io/owner";

/// Removes every `default` keyword from a CRD's schemas.
fn strip_defaults(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("default");
            for v in map.values_mut() {
                strip_defaults(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_defaults),
        _ => {}
    }
}

fn finish(crd: CustomResourceDefinition, list_kind: &str) -> CustomResourceDefinition {
    let mut crd = crd;
    crd.spec.names.list_kind = Some(list_kind.to_owned());
    let mut value = serde_json::to_value(&crd).expect("CRDs serialize");
    if let Some(versions) = value.pointer_mut("/spec/versions") {
        strip_defaults(versions);
    }
    serde_json::from_value(value).expect("a CRD without defaults is still a CRD")
}

/// The five CRDs, in a fixed order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        finish(ExternalSecret::crd(), "ExternalSecretList"),
        finish(SecretStore::crd(), "SecretStoreList"),
        finish(ClusterSecretStore::crd(), "ClusterSecretStoreList"),
        finish(ClusterExternalSecret::crd(), "ClusterExternalSecretList"),
        finish(PushSecret::crd(), "PushSecretList"),
    ]
}

/// The CRDs as one YAML stream (`---`-separated), as checked in at
/// `deploy/crds/external-secrets.io.yaml`.
pub fn crds_yaml() -> String {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&crd).expect("CRDs render as YAML"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `deploy/crds/external-secrets.io.yaml` (and the Helm chart's copy) must be what the
    /// types generate; regenerate
    /// with `SEALBOX_REGENERATE_CRDS=1 cargo test -p sealbox-controller --lib checked_in_eso_crds`.
    #[test]
    fn checked_in_eso_crds_are_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/crds/external-secrets.io.yaml"
        );
        let generated = crds_yaml();
        if std::env::var_os("SEALBOX_REGENERATE_CRDS").is_some() {
            std::fs::write(path, &generated).unwrap();
        }
        let helm = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../deploy/helm/sealbox/crds/external-secrets.io.yaml"
        );
        if std::env::var_os("SEALBOX_REGENERATE_CRDS").is_some() {
            std::fs::write(helm, &generated).unwrap();
        }
        for path in [path, helm] {
            let checked_in = std::fs::read_to_string(path).unwrap_or_default();
            assert!(
                checked_in == generated,
                "{path} is stale: regenerate with SEALBOX_REGENERATE_CRDS=1 cargo test -p sealbox-controller --lib checked_in_eso_crds"
            );
        }
    }

    fn contains_key(value: &Value, key: &str) -> bool {
        match value {
            Value::Object(m) => m.contains_key(key) || m.values().any(|v| contains_key(v, key)),
            Value::Array(a) => a.iter().any(|v| contains_key(v, key)),
            _ => false,
        }
    }

    #[test]
    fn crds_have_esos_names_and_no_defaults() {
        let crds = crds();
        let names: Vec<String> = crds
            .iter()
            .map(|c| c.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "externalsecrets.external-secrets.io",
                "secretstores.external-secrets.io",
                "clustersecretstores.external-secrets.io",
                "clusterexternalsecrets.external-secrets.io",
                "pushsecrets.external-secrets.io"
            ]
        );
        for crd in &crds {
            let v = serde_json::to_value(crd).unwrap();
            assert!(
                !contains_key(&v["spec"]["versions"], "default"),
                "{:?} has a default",
                crd.metadata.name
            );
            assert_eq!(
                v["spec"]["versions"][0]["subresources"]["status"],
                serde_json::json!({})
            );
        }
        let es = serde_json::to_value(&crds[0]).unwrap();
        assert_eq!(es["spec"]["names"]["shortNames"], serde_json::json!(["es"]));
        assert_eq!(es["spec"]["scope"], "Namespaced");
        let css = serde_json::to_value(&crds[2]).unwrap();
        assert_eq!(css["spec"]["scope"], "Cluster");
        let push = serde_json::to_value(&crds[4]).unwrap();
        assert_eq!(push["spec"]["versions"][0]["name"], "v1alpha1");
        // Enums are kept (validation), defaults are not.
        let policy = es.pointer(
            "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/target/properties/creationPolicy/enum",
        );
        assert_eq!(
            policy,
            Some(&serde_json::json!([
                "Owner",
                "Orphan",
                "Merge",
                "None",
                "CreateOrMerge"
            ]))
        );
        // Unknown providers survive pruning.
        let provider = serde_json::to_value(&crds[1]).unwrap();
        assert_eq!(
            provider.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/provider/x-kubernetes-preserve-unknown-fields"),
            Some(&serde_json::json!(true))
        );
    }

    #[test]
    fn eso_manifest_reads_and_round_trips() {
        let yaml = r#"
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, namespace: app}
spec:
  refreshInterval: 1h
  secretStoreRef: {name: aws, kind: ClusterSecretStore}
  target:
    name: db-secret
    creationPolicy: Owner
    template:
      engineVersion: v2
      data:
        dsn: "postgres://{{ .user }}:{{ .password }}@db"
  data:
  - secretKey: user
    remoteRef: {key: app/db, property: user}
  dataFrom:
  - extract: {key: app/common}
    rewrite:
    - regexp: {source: "^(.*)$", target: "common_$1"}
"#;
        let es: ExternalSecret = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(es.spec.target_name("db"), "db-secret");
        assert!(es.spec.secret_store_ref.as_ref().unwrap().is_cluster());
        assert_eq!(es.spec.data[0].remote_ref.property.as_deref(), Some("user"));
        let back = serde_json::to_value(&es).unwrap();
        assert!(back["spec"]["target"].get("deletionPolicy").is_none());
        let store: SecretStore = serde_saphyr::from_str(
            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {name: s}\nspec:\n  provider:\n    gcpsm: {projectID: p}\n",
        )
        .unwrap();
        assert_eq!(store.spec.provider.names(), vec!["gcpsm".to_owned()]);
        assert_eq!(
            serde_json::to_value(&store).unwrap()["spec"]["provider"]["gcpsm"]["projectID"],
            "p"
        );
    }
}
