//! Who may write a target Secret, as a policy value rather than kind-specific code.
//!
//! Bitnami's controller refuses to touch an existing Secret it does not control unless the
//! Secret carries `sealedsecrets.bitnami.com/managed: "true"` (take it over) or
//! `.../patch: "true"` (merge our keys, labels and annotations into it). ESO's
//! `creationPolicy` (Owner / Merge / Orphan / None) is the same idea spelled differently;
//! both are expressed by [`OwnershipPolicy`] and decided by [`decide`].

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

/// How our data is combined with what the live Secret already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteMode {
    /// Data, labels and annotations become exactly the desired ones (extra keys removed).
    Replace,
    /// Desired keys, labels and annotations are merged in; nothing else is touched.
    Merge,
}

/// What to do with a Secret that exists but is not ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenForeign {
    /// Leave it alone and report it (Bitnami's default, ESO `Owner`).
    Refuse,
    /// Take it over (ESO `Orphan`).
    Adopt,
    /// Merge into it (ESO `Merge`).
    Merge,
}

/// The ownership rules of one desired Secret.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnershipPolicy {
    /// Kind of the source object, for messages ("… is not managed by SealedSecret").
    pub source_kind: &'static str,
    /// The controller owner reference to set (`None`: the Secret outlives its source,
    /// e.g. `sealedsecrets.bitnami.com/skip-set-owner-references: "true"`).
    pub owner: Option<OwnerReference>,
    /// Create the Secret when it does not exist (ESO `Merge` does not).
    pub create_if_missing: bool,
    /// What to do with an existing Secret we do not own.
    pub when_foreign: WhenForeign,
    /// Mode for a Secret we own.
    pub mode: WriteMode,
    /// Annotation that, set to `"true"` on the live Secret, lets us take it over.
    pub adopt_annotation: Option<String>,
    /// Annotation that, set to `"true"` on the live Secret, switches to merge mode.
    pub merge_annotation: Option<String>,
    /// Annotation on the live Secret naming (by uid) the source object that wrote it;
    /// a Secret we made without an owner reference is still recognised as ours.
    pub provenance_annotation: Option<String>,
}

/// The outcome of the ownership check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No Secret exists: create it.
    Create,
    /// Write it in this mode; `set_owner` says whether our owner reference is written.
    Write {
        /// Replace or merge.
        mode: WriteMode,
        /// Whether the owner reference goes on the Secret.
        set_owner: bool,
    },
    /// Do not write; the message says why (no secret values).
    Refuse(String),
    /// Nothing to do (no Secret and the policy does not create one).
    Skip(String),
}

fn annotated(live: &Secret, name: Option<&String>) -> bool {
    name.is_some_and(|n| {
        live.metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(n))
            .is_some_and(|v| v == "true")
    })
}

/// Whether `live` is controlled by the owner with `uid` (a controller ownerReference).
pub fn controlled_by(live: &Secret, uid: &str) -> bool {
    live.metadata.owner_references.as_ref().is_some_and(|refs| {
        refs.iter()
            .any(|r| r.uid == uid && r.controller == Some(true))
    })
}

/// Apply `policy` to the live Secret (if any). `source_uid` identifies the source object.
pub fn decide(policy: &OwnershipPolicy, live: Option<&Secret>, source_uid: &str) -> Decision {
    let Some(live) = live else {
        return if policy.create_if_missing {
            Decision::Create
        } else {
            Decision::Skip(
                "the target Secret does not exist and the policy does not create it".into(),
            )
        };
    };
    let name = live.metadata.name.clone().unwrap_or_default();
    let controlled = controlled_by(live, source_uid);
    let ours = controlled
        || policy.provenance_annotation.as_ref().is_some_and(|a| {
            live.metadata
                .annotations
                .as_ref()
                .and_then(|m| m.get(a))
                .is_some_and(|v| !source_uid.is_empty() && v == source_uid)
        });
    let adopt = annotated(live, policy.adopt_annotation.as_ref());
    let merge = annotated(live, policy.merge_annotation.as_ref());
    if merge {
        // Bitnami: patch mode merges; owner references only if also "managed".
        return Decision::Write {
            mode: WriteMode::Merge,
            set_owner: policy.owner.is_some() && (adopt || controlled),
        };
    }
    if ours || adopt {
        return Decision::Write {
            mode: policy.mode,
            set_owner: policy.owner.is_some(),
        };
    }
    match policy.when_foreign {
        WhenForeign::Refuse => Decision::Refuse(format!(
            "Resource {name:?} already exists and is not managed by {}",
            policy.source_kind
        )),
        WhenForeign::Adopt => Decision::Write {
            mode: policy.mode,
            set_owner: policy.owner.is_some(),
        },
        WhenForeign::Merge => Decision::Write {
            mode: WriteMode::Merge,
            set_owner: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn owner(uid: &str) -> OwnerReference {
        OwnerReference {
            api_version: "bitnami.com/v1alpha1".into(),
            kind: "SealedSecret".into(),
            name: "s".into(),
            uid: uid.into(),
            controller: Some(true),
            block_owner_deletion: None,
        }
    }

    fn bitnami(owner_ref: bool) -> OwnershipPolicy {
        OwnershipPolicy {
            source_kind: "SealedSecret",
            owner: owner_ref.then(|| owner("u1")),
            create_if_missing: true,
            when_foreign: WhenForeign::Refuse,
            mode: WriteMode::Replace,
            adopt_annotation: Some("sealedsecrets.bitnami.com/managed".into()),
            merge_annotation: Some("sealedsecrets.bitnami.com/patch".into()),
            provenance_annotation: Some("sealbox.io/source-uid".into()),
        }
    }

    fn live(annotations: &[(&str, &str)], owners: Vec<OwnerReference>) -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("s".into()),
                annotations: Some(
                    annotations
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect::<BTreeMap<_, _>>(),
                ),
                owner_references: Some(owners),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn missing_secret_is_created() {
        assert_eq!(decide(&bitnami(true), None, "u1"), Decision::Create);
        let mut p = bitnami(true);
        p.create_if_missing = false;
        assert!(matches!(decide(&p, None, "u1"), Decision::Skip(_)));
    }

    #[test]
    fn foreign_secret_is_refused_with_bitnamis_message() {
        let d = decide(&bitnami(true), Some(&live(&[], vec![])), "u1");
        assert_eq!(
            d,
            Decision::Refuse(
                "Resource \"s\" already exists and is not managed by SealedSecret".into()
            )
        );
        // Other kinds name themselves.
        let sops = OwnershipPolicy {
            source_kind: "SopsSecret",
            ..bitnami(true)
        };
        assert_eq!(
            decide(&sops, Some(&live(&[], vec![])), "u1"),
            Decision::Refuse(
                "Resource \"s\" already exists and is not managed by SopsSecret".into()
            )
        );
        // Controlled by a different SealedSecret (other uid): still foreign.
        let d = decide(&bitnami(true), Some(&live(&[], vec![owner("u2")])), "u1");
        assert!(matches!(d, Decision::Refuse(_)));
        // "True" is not "true".
        let d = decide(
            &bitnami(true),
            Some(&live(
                &[("sealedsecrets.bitnami.com/managed", "True")],
                vec![],
            )),
            "u1",
        );
        assert!(matches!(d, Decision::Refuse(_)));
    }

    #[test]
    fn owned_managed_and_provenance_secrets_are_replaced() {
        let want = Decision::Write {
            mode: WriteMode::Replace,
            set_owner: true,
        };
        assert_eq!(
            decide(&bitnami(true), Some(&live(&[], vec![owner("u1")])), "u1"),
            want
        );
        assert_eq!(
            decide(
                &bitnami(true),
                Some(&live(
                    &[("sealedsecrets.bitnami.com/managed", "true")],
                    vec![]
                )),
                "u1"
            ),
            want
        );
        assert_eq!(
            decide(
                &bitnami(false),
                Some(&live(&[("sealbox.io/source-uid", "u1")], vec![])),
                "u1"
            ),
            Decision::Write {
                mode: WriteMode::Replace,
                set_owner: false
            }
        );
    }

    #[test]
    fn patch_annotation_merges_and_owns_only_when_also_managed() {
        assert_eq!(
            decide(
                &bitnami(true),
                Some(&live(
                    &[("sealedsecrets.bitnami.com/patch", "true")],
                    vec![]
                )),
                "u1"
            ),
            Decision::Write {
                mode: WriteMode::Merge,
                set_owner: false
            }
        );
        assert_eq!(
            decide(
                &bitnami(true),
                Some(&live(
                    &[
                        ("sealedsecrets.bitnami.com/patch", "true"),
                        ("sealedsecrets.bitnami.com/managed", "true")
                    ],
                    vec![]
                )),
                "u1"
            ),
            Decision::Write {
                mode: WriteMode::Merge,
                set_owner: true
            }
        );
    }

    #[test]
    fn eso_style_policies() {
        let mut orphan = bitnami(false);
        orphan.when_foreign = WhenForeign::Adopt;
        assert!(matches!(
            decide(&orphan, Some(&live(&[], vec![])), "u1"),
            Decision::Write {
                mode: WriteMode::Replace,
                set_owner: false
            }
        ));
        let mut merge = bitnami(false);
        merge.when_foreign = WhenForeign::Merge;
        merge.create_if_missing = false;
        assert!(matches!(
            decide(&merge, Some(&live(&[], vec![])), "u1"),
            Decision::Write {
                mode: WriteMode::Merge,
                ..
            }
        ));
    }
}
