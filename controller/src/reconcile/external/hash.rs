//! ESO's hashes, reproduced byte for byte so Secrets ESO wrote are recognised as ours (and
//! the other way round): all are SHA3-224 over Go's `fmt.Sprintf("%+v", x)` text.
//!
//! * `reconcile.external-secrets.io/data-hash` = hash of the Secret's `data`
//!   (`map[string][]byte` prints as `map[key:[104 105] other:[]]`, keys sorted);
//! * `reconcile.external-secrets.io/created-by` = hash of `"<namespace>/<name>"`;
//! * `status.syncedResourceVersion` = `"<generation>-<hash of {annotations labels}>"`;
//! * the field manager `externalsecrets.external-secrets.io/<name>`, or
//!   `externalsecrets.external-secrets.io/sha3/<hex>` when longer than 63 bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha3::{Digest as _, Sha3_224};

fn sha3_hex(text: &[u8]) -> String {
    hex::encode(Sha3_224::digest(text))
}

/// Go's `%+v` of a `map[string][]byte`.
fn go_byte_map<'a>(data: impl IntoIterator<Item = (&'a String, &'a [u8])>) -> String {
    let sorted: BTreeMap<&String, &[u8]> = data.into_iter().collect();
    let mut out = String::from("map[");
    for (i, (key, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(key);
        out.push_str(":[");
        for (j, b) in value.iter().enumerate() {
            if j > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{b}");
        }
        out.push(']');
    }
    out.push(']');
    out
}

/// Go's `%+v` of a `map[string]string`.
fn go_string_map(map: Option<&BTreeMap<String, String>>) -> String {
    let mut out = String::from("map[");
    for (i, (k, v)) in map.into_iter().flatten().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{k}:{v}");
    }
    out.push(']');
    out
}

/// ESO `ObjectHash(secret.Data)`: the data-hash annotation value.
pub fn data_hash<'a>(data: impl IntoIterator<Item = (&'a String, &'a [u8])>) -> String {
    sha3_hex(go_byte_map(data).as_bytes())
}

/// ESO `ObjectHash("<ns>/<name>")`: the created-by label value.
pub fn owner_label(namespace: &str, name: &str) -> String {
    sha3_hex(format!("{namespace}/{name}").as_bytes())
}

/// ESO `GetResourceVersion`: `"<generation>-<HashMeta>"`; any label or annotation change
/// (e.g. `force-sync`) changes it.
pub fn synced_resource_version(
    generation: i64,
    labels: Option<&BTreeMap<String, String>>,
    annotations: Option<&BTreeMap<String, String>>,
) -> String {
    let text = format!(
        "{{annotations:{} labels:{}}}",
        go_string_map(annotations),
        go_string_map(labels)
    );
    format!("{generation}-{}", sha3_hex(text.as_bytes()))
}

/// ESO `fqdnFor`: the field manager an ExternalSecret writes its Secret with.
pub fn field_manager(es_name: &str) -> String {
    let fqdn = format!("externalsecrets.external-secrets.io/{es_name}");
    if fqdn.len() > 63 {
        format!(
            "externalsecrets.external-secrets.io/sha3/{}",
            sha3_hex(es_name.as_bytes())
        )
    } else {
        fqdn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_print_forms() {
        let data = BTreeMap::from([
            ("b".to_owned(), b"hi".to_vec()),
            ("a".to_owned(), Vec::new()),
        ]);
        assert_eq!(
            go_byte_map(data.iter().map(|(k, v)| (k, v.as_slice()))),
            "map[a:[] b:[104 105]]"
        );
        assert_eq!(go_byte_map(std::iter::empty()), "map[]");
        let labels = BTreeMap::from([("x".to_owned(), "1".to_owned())]);
        assert_eq!(go_string_map(Some(&labels)), "map[x:1]");
        assert_eq!(go_string_map(None), "map[]");
    }

    #[test]
    fn known_answers() {
        // SHA3-224("") and SHA3-224("abc") (FIPS 202 test vectors) through our helper.
        assert_eq!(
            sha3_hex(b""),
            "6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7"
        );
        assert_eq!(
            sha3_hex(b"abc"),
            "e642824c3f8cf24ad09234ee7d3c766fc9a3a5168d0c94ad73b46fdf"
        );
        // The empty data map hashes `map[]`.
        assert_eq!(data_hash(std::iter::empty()), sha3_hex(b"map[]"));
        assert_eq!(owner_label("ns", "es"), sha3_hex(b"ns/es"));
        assert_eq!(
            synced_resource_version(3, None, None),
            format!("3-{}", sha3_hex(b"{annotations:map[] labels:map[]}"))
        );
    }

    #[test]
    fn long_names_use_the_sha3_manager() {
        assert_eq!(
            field_manager("db"),
            "externalsecrets.external-secrets.io/db"
        );
        let long = "x".repeat(40);
        let m = field_manager(&long);
        assert!(m.starts_with("externalsecrets.external-secrets.io/sha3/"));
        assert_eq!(
            m.len(),
            "externalsecrets.external-secrets.io/sha3/".len() + 56
        );
    }
}
