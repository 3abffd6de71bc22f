//! What the reconciler asks a store for, in ESO's vocabulary
//! (`remoteRef`, `dataFrom.find`, PushSecret `remoteRef`).

use std::collections::BTreeMap;

use regex::Regex;

use crate::error::{ProviderError, Result};

/// ESO `metadataPolicy`: read the secret's value, or its metadata (AWS tags, Vault
/// `custom_metadata`) as a JSON object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MetadataPolicy {
    /// Read the value (ESO `None`, the default).
    #[default]
    None,
    /// Read the metadata instead (ESO `Fetch`).
    Fetch,
}

/// ESO `ExternalSecretDataRemoteRef`: one remote secret, optionally one property of it.
///
/// Decoding and conversion strategies are deliberately absent: providers return raw
/// bytes and the reconciler applies ESO's strategies on top.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct RemoteRef {
    /// Name/path of the remote secret (before the store's `prefix` is applied).
    pub key: String,
    /// Property inside a JSON value (gjson-style path); `None` = the whole value.
    pub property: Option<String>,
    /// AWS: version stage (`AWSCURRENT` default) or `uuid/<VersionId>`;
    /// Vault KV v2: version number; fake: the `version` of a data entry.
    pub version: Option<String>,
    /// Value or metadata.
    pub metadata_policy: MetadataPolicy,
}

impl RemoteRef {
    /// A reference to the whole current value of `key`.
    pub fn key(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            ..Self::default()
        }
    }

    /// The same reference, narrowed to `property`.
    pub fn with_property(mut self, property: impl Into<String>) -> Self {
        self.property = Some(property.into());
        self
    }

    /// The same reference, at `version`.
    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The same reference, reading metadata (`metadataPolicy: Fetch`).
    pub fn fetch_metadata(mut self) -> Self {
        self.metadata_policy = MetadataPolicy::Fetch;
        self
    }

    /// The property, treating an empty string like ESO does (= no property).
    pub(crate) fn property(&self) -> Option<&str> {
        self.property.as_deref().filter(|p| !p.is_empty())
    }

    /// The version, treating an empty string as "no version".
    pub(crate) fn version(&self) -> Option<&str> {
        self.version.as_deref().filter(|v| !v.is_empty())
    }
}

/// ESO `dataFrom.find`: select remote secrets by name regexp, tags and/or path.
#[derive(Debug, Clone, Default)]
pub struct FindRef {
    /// Restrict the search to names under this path (AWS: name prefix filter; Vault: the
    /// folder that is listed recursively).
    pub path: Option<String>,
    /// `find.name.regexp` (Go RE2 syntax; Rust's `regex` accepts the same subset).
    pub name_regexp: Option<String>,
    /// `find.tags`: every tag must match (AWS tags, Vault `custom_metadata`).
    pub tags: BTreeMap<String, String>,
}

impl FindRef {
    /// Compiles `name_regexp`, with an error that names the expression.
    pub(crate) fn matcher(&self) -> Result<Option<Regex>> {
        self.name_regexp
            .as_deref()
            .map(|re| {
                Regex::new(re).map_err(|e| {
                    ProviderError::config(format!("could not compile find.name.regexp {re:?}: {e}"))
                })
            })
            .transpose()
    }

    /// A stable text form, used as the cache key of a find.
    pub(crate) fn cache_key(&self) -> String {
        format!(
            "path={:?};name={:?};tags={:?}",
            self.path, self.name_regexp, self.tags
        )
    }

    #[cfg_attr(not(any(feature = "aws", feature = "vault")), allow(dead_code))]
    pub(crate) fn ensure_selective(&self) -> Result<()> {
        if self.name_regexp.is_none() && self.tags.is_empty() {
            return Err(ProviderError::config(
                "find needs name.regexp or tags (ESO: unexpected find operator)",
            ));
        }
        Ok(())
    }
}

/// ESO PushSecret `remoteRef`: where a value is pushed to or deleted from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PushRef {
    /// Remote secret name/path (before the store's `prefix`).
    pub remote_key: String,
    /// When set, only this property of a JSON object is written/removed and the rest of
    /// the remote secret is kept.
    pub property: Option<String>,
}

impl PushRef {
    /// A push of the whole remote secret `remote_key`.
    pub fn key(remote_key: impl Into<String>) -> Self {
        Self {
            remote_key: remote_key.into(),
            property: None,
        }
    }

    /// The same push, narrowed to `property`.
    pub fn with_property(mut self, property: impl Into<String>) -> Self {
        self.property = Some(property.into());
        self
    }

    pub(crate) fn property(&self) -> Option<&str> {
        self.property.as_deref().filter(|p| !p.is_empty())
    }
}
