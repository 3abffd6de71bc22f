//! Where a key lives in Vault: ESO's `buildPath` rules, expressed as (mount, path inside
//! the mount) so vaultrs can build the data/metadata URLs.
//!
//! With a store `path` (the KV mount), a key that already starts with the mount (and, on
//! v2, `data/`) is not prefixed twice. Without one, v2 keys either contain `/data/`
//! (used as written) or get `data/` after their first segment; v1 keys are used as
//! written. The resulting URLs are exactly the ones ESO requests.

use super::KvVersion;

/// A KV location: `mount` + `path` (no leading/trailing `data/` or `metadata/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub mount: String,
    pub path: String,
}

pub(crate) fn locate(mount: Option<&str>, version: KvVersion, key: &str) -> Location {
    if let Some(mount) = mount.map(|m| m.trim_matches('/')).filter(|m| !m.is_empty()) {
        let prefix = format!("{mount}/");
        let mut rest = key;
        if let Some(stripped) = rest.strip_prefix(&prefix) {
            rest = stripped;
            if version == KvVersion::V2
                && let Some(stripped) = rest.strip_prefix("data/")
            {
                rest = stripped;
            }
        }
        return Location {
            mount: mount.to_owned(),
            path: rest.to_owned(),
        };
    }
    if version == KvVersion::V2
        && let Some((mount, path)) = key.split_once("/data/")
    {
        return Location {
            mount: mount.to_owned(),
            path: path.to_owned(),
        };
    }
    match key.split_once('/') {
        Some((mount, path)) => Location {
            mount: mount.to_owned(),
            path: path.to_owned(),
        },
        None => Location {
            mount: key.to_owned(),
            path: String::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(mount: Option<&str>, version: KvVersion, key: &str) -> String {
        let l = locate(mount, version, key);
        match version {
            KvVersion::V2 => format!("{}/data/{}", l.mount, l.path),
            KvVersion::V1 => format!("{}/{}", l.mount, l.path),
        }
    }

    /// The examples from ESO's `buildPath` documentation.
    #[test]
    fn matches_eso_build_path_examples() {
        use KvVersion::{V1, V2};
        let m = Some("secret/path");
        assert_eq!(url(m, V2, "foo"), "secret/path/data/foo");
        assert_eq!(url(m, V1, "foo"), "secret/path/foo");
        assert_eq!(url(m, V2, "secret/path/foo"), "secret/path/data/foo");
        assert_eq!(url(m, V2, "secret/path/data/foo"), "secret/path/data/foo");
        assert_eq!(url(m, V1, "secret/path/foo"), "secret/path/foo");
        assert_eq!(url(None, V2, "secret/path/foo"), "secret/data/path/foo");
        assert_eq!(
            url(None, V2, "secret/path/data/foo"),
            "secret/path/data/foo"
        );
        assert_eq!(url(None, V1, "secret/path/foo"), "secret/path/foo");
        assert_eq!(url(Some("secret"), V2, "app/db"), "secret/data/app/db");
    }
}
