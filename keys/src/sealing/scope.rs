//! Sealing scopes and the RSA-OAEP label that binds a value to where it may be opened.
//!
//! Upstream (`sealedsecret_expansion.go`): strict → `"<namespace>/<name>"` (with a slash,
//! whatever the developer docs say), namespace-wide → `"<namespace>"`, cluster-wide → `""`.
//! At unseal time the scope comes from the SealedSecret's *own* `metadata.annotations`
//! (cluster-wide wins; only the exact string `"true"` counts), never from the template.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// `sealedsecrets.bitnami.com/cluster-wide: "true"` — value may be opened under any name
/// in any namespace.
pub const CLUSTER_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/cluster-wide";
/// `sealedsecrets.bitnami.com/namespace-wide: "true"` — value may be renamed within its
/// namespace.
pub const NAMESPACE_WIDE_ANNOTATION: &str = "sealedsecrets.bitnami.com/namespace-wide";
/// On an existing Secret: the controller may take it over.
pub const MANAGED_ANNOTATION: &str = "sealedsecrets.bitnami.com/managed";
/// On an existing Secret: merge keys/labels/annotations instead of replacing.
pub const PATCH_ANNOTATION: &str = "sealedsecrets.bitnami.com/patch";
/// On the template: do not set an ownerReference on the created Secret.
pub const SKIP_SET_OWNER_REFERENCES_ANNOTATION: &str =
    "sealedsecrets.bitnami.com/skip-set-owner-references";

/// Where a sealed value may be opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Only under this exact namespace and name (the default).
    #[default]
    Strict,
    /// Under any name in this namespace.
    NamespaceWide,
    /// Anywhere in the cluster.
    ClusterWide,
}

/// A `--scope` value that is not one of the three scopes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("invalid scope {given:?}: must be one of: strict, namespace-wide, cluster-wide")]
pub struct ScopeParseError {
    /// What was given (a flag value; never secret).
    pub given: String,
}

impl Scope {
    /// All scopes, strictest first.
    pub const ALL: [Scope; 3] = [Scope::Strict, Scope::NamespaceWide, Scope::ClusterWide];

    /// The name used on the command line and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }

    /// The scope an object declares through its annotations, given a lookup function.
    ///
    /// Mirrors upstream `SecretScope`: cluster-wide if that annotation is exactly `"true"`,
    /// else namespace-wide if that one is exactly `"true"`, else strict.
    pub fn from_annotation_lookup<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Scope {
        if lookup(CLUSTER_WIDE_ANNOTATION) == Some("true") {
            Scope::ClusterWide
        } else if lookup(NAMESPACE_WIDE_ANNOTATION) == Some("true") {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// The scope declared by an annotation map (absent map = strict).
    pub fn from_annotations(annotations: Option<&BTreeMap<String, String>>) -> Scope {
        match annotations {
            Some(map) => Scope::from_annotation_lookup(|k| map.get(k).map(String::as_str)),
            None => Scope::Strict,
        }
    }

    /// Rewrite the two scope annotations so they declare `self` (upstream
    /// `UpdateScopeAnnotations`): both are removed, then the one for this scope is set.
    pub fn write_annotations(self, annotations: &mut BTreeMap<String, String>) {
        annotations.remove(NAMESPACE_WIDE_ANNOTATION);
        annotations.remove(CLUSTER_WIDE_ANNOTATION);
        match self {
            Scope::Strict => {}
            Scope::NamespaceWide => {
                annotations.insert(NAMESPACE_WIDE_ANNOTATION.to_owned(), "true".to_owned());
            }
            Scope::ClusterWide => {
                annotations.insert(CLUSTER_WIDE_ANNOTATION.to_owned(), "true".to_owned());
            }
        }
    }

    /// Whether sealing in this scope needs a namespace (all but cluster-wide).
    pub fn needs_namespace(self) -> bool {
        self != Scope::ClusterWide
    }

    /// Whether sealing in this scope needs a name (strict only).
    pub fn needs_name(self) -> bool {
        self == Scope::Strict
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = ScopeParseError;

    /// Accepts the three names, and `""` for the default (strict) like upstream's flag.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "" | "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(ScopeParseError {
                given: other.to_owned(),
            }),
        }
    }
}

/// The RSA-OAEP label of a sealed value: the bytes that pin it to a scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label(String);

impl Label {
    /// The label for `scope` (upstream `EncryptionLabel`). Unused parts are ignored, so
    /// `Label::new(Scope::ClusterWide, "x", "y")` is the empty label.
    pub fn new(scope: Scope, namespace: &str, name: &str) -> Label {
        Label(match scope {
            Scope::ClusterWide => String::new(),
            Scope::NamespaceWide => namespace.to_owned(),
            Scope::Strict => format!("{namespace}/{name}"),
        })
    }

    /// The label an object's own metadata implies (upstream `labelFor`): scope from its
    /// annotations, then namespace and name. Missing namespace/name count as empty.
    pub fn for_object(
        namespace: Option<&str>,
        name: Option<&str>,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Label {
        Label::new(
            Scope::from_annotations(annotations),
            namespace.unwrap_or(""),
            name.unwrap_or(""),
        )
    }

    /// The label bytes fed to RSA-OAEP.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The label as text (labels are built from Kubernetes names, so always UTF-8).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotations(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn labels_follow_upstream_encryption_label() {
        assert_eq!(
            Label::new(Scope::Strict, "bar", "mysecret").as_str(),
            "bar/mysecret"
        );
        assert_eq!(
            Label::new(Scope::NamespaceWide, "bar", "mysecret").as_str(),
            "bar"
        );
        assert_eq!(
            Label::new(Scope::ClusterWide, "bar", "mysecret").as_str(),
            ""
        );
    }

    #[test]
    fn cluster_wide_wins_and_only_exact_true_counts() {
        let both = annotations(&[
            (CLUSTER_WIDE_ANNOTATION, "true"),
            (NAMESPACE_WIDE_ANNOTATION, "true"),
        ]);
        assert_eq!(Scope::from_annotations(Some(&both)), Scope::ClusterWide);
        let ns = annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true")]);
        assert_eq!(Scope::from_annotations(Some(&ns)), Scope::NamespaceWide);
        let capital = annotations(&[(NAMESPACE_WIDE_ANNOTATION, "True")]);
        assert_eq!(Scope::from_annotations(Some(&capital)), Scope::Strict);
        let yes = annotations(&[(CLUSTER_WIDE_ANNOTATION, "yes")]);
        assert_eq!(Scope::from_annotations(Some(&yes)), Scope::Strict);
        assert_eq!(Scope::from_annotations(None), Scope::Strict);
    }

    #[test]
    fn write_annotations_replaces_previous_scope() {
        let mut a = annotations(&[(CLUSTER_WIDE_ANNOTATION, "true"), ("other", "kept")]);
        Scope::NamespaceWide.write_annotations(&mut a);
        assert_eq!(
            a,
            annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true"), ("other", "kept")])
        );
        Scope::Strict.write_annotations(&mut a);
        assert_eq!(a, annotations(&[("other", "kept")]));
        Scope::ClusterWide.write_annotations(&mut a);
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::ClusterWide);
    }

    #[test]
    fn scope_names_parse_like_the_kubeseal_flag() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert_eq!("".parse::<Scope>(), Ok(Scope::Strict));
        let err = "Strict".parse::<Scope>().unwrap_err();
        assert!(
            err.to_string()
                .contains("must be one of: strict, namespace-wide, cluster-wide")
        );
    }

    #[test]
    fn label_for_object_uses_metadata() {
        let a = annotations(&[(NAMESPACE_WIDE_ANNOTATION, "true")]);
        assert_eq!(
            Label::for_object(Some("ns"), Some("n"), Some(&a)).as_str(),
            "ns"
        );
        assert_eq!(Label::for_object(None, Some("n"), None).as_str(), "/n");
    }
}
