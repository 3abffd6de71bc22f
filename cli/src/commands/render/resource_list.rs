//! Reading a kustomize KRM `ResourceList` and the generator configs in it: the part of
//! `sealbox krm` that parses untrusted input (a config from Git, a ResourceList from
//! kustomize, decrypted env files), kept free of I/O and of the CLI's error codes so that
//! the fuzz target `krm_resource_list` can compile this file by path
//! (`fuzz/fuzz_targets/krm_resource_list.rs`). `krm.rs` maps [`InputError`] to exit codes.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Our generator config's apiVersion.
pub const SEALBOX_API_VERSION: &str = "sealbox.dev/v1alpha1";
/// Our generator config kind.
pub const SEALBOX_KIND: &str = "SopsGenerator";
/// KSOPS' generator config (drop-in migration).
pub const KSOPS_API_VERSION: &str = "viaduct.ai/v1";
/// KSOPS' generator config kind.
pub const KSOPS_KIND: &str = "ksops";

/// What is wrong with a `ResourceList` or a generator config. The messages name where
/// (item index, `functionConfig`, file) and what was expected, never a value.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The input is not exactly one `ResourceList`.
    #[error(
        "<stdin>: expected one ResourceList (config.kubernetes.io/v1) — run by kustomize as an exec function, or give the config file as the argument (legacy exec plugin)"
    )]
    NotAResourceList,
    /// No item and no `functionConfig` is a generator config.
    #[error(
        "<stdin>: no generator config: expected functionConfig or an item of kind {SEALBOX_API_VERSION} {SEALBOX_KIND} or {KSOPS_API_VERSION} {KSOPS_KIND}"
    )]
    NoConfig,
    /// A generator config that does not fit the schema.
    #[error("{origin}: invalid generator config: {reason}")]
    InvalidConfig {
        /// Where the config came from.
        origin: String,
        /// serde's reason (field names and types, not values).
        reason: String,
    },
    /// A generator config with nothing to generate.
    #[error("{origin}: {label}: expected `files` or `secretFrom`")]
    NothingToGenerate {
        /// Where the config came from.
        origin: String,
        /// `apiVersion kind name`.
        label: String,
    },
    /// A line of a decrypted env file that is not `KEY=VALUE`.
    #[error("line {line}: expected KEY=VALUE")]
    EnvLine {
        /// 1-based line number.
        line: usize,
    },
}

impl InputError {
    /// Whether the input is of the wrong kind (no ResourceList, no config) rather than
    /// malformed.
    pub fn is_wrong_kind(&self) -> bool {
        matches!(self, InputError::NotAResourceList | InputError::NoConfig)
    }
}

/// One `secretFrom` entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretFrom {
    /// The Secret's metadata (name, namespace, labels, annotations — kustomize generator
    /// options such as `kustomize.config.k8s.io/needs-hash` pass through).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// The Secret type.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// `path` or `key=path`: decrypted text into `stringData`.
    #[serde(default)]
    pub files: Vec<String>,
    /// `path` or `key=path`: decrypted bytes into `data` (base64).
    #[serde(default)]
    pub binary_files: Vec<String>,
    /// dotenv files: one `stringData` key per variable.
    #[serde(default)]
    pub envs: Vec<String>,
}

/// A generator config (`SopsGenerator` or KSOPS' `ksops`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeneratorConfig {
    /// apiVersion.
    pub api_version: String,
    /// kind.
    pub kind: String,
    /// metadata (its name is used in messages).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// Encrypted manifests, emitted decrypted.
    #[serde(default)]
    pub files: Vec<String>,
    /// Secrets built from encrypted files.
    #[serde(default)]
    pub secret_from: Vec<SecretFrom>,
}

impl GeneratorConfig {
    /// `apiVersion kind name`, for messages.
    pub fn label(&self) -> String {
        let name = self
            .metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>");
        format!("{} {} {name}", self.api_version, self.kind)
    }
}

/// Whether an object is a generator config this mode handles.
pub fn is_generator_config(v: &Value) -> bool {
    let api = v.get("apiVersion").and_then(Value::as_str);
    let kind = v.get("kind").and_then(Value::as_str);
    matches!(
        (api, kind),
        (Some(SEALBOX_API_VERSION), Some(SEALBOX_KIND))
            | (Some(KSOPS_API_VERSION), Some(KSOPS_KIND))
    )
}

/// Parse and check one generator config.
pub fn parse_config(v: &Value, origin: &str) -> Result<GeneratorConfig, InputError> {
    let config: GeneratorConfig =
        serde_json::from_value(v.clone()).map_err(|e| InputError::InvalidConfig {
            origin: origin.to_owned(),
            reason: e.to_string(),
        })?;
    if config.files.is_empty() && config.secret_from.is_empty() {
        return Err(InputError::NothingToGenerate {
            origin: origin.to_owned(),
            label: config.label(),
        });
    }
    Ok(config)
}

/// What a `ResourceList` asks of the generator.
#[derive(Debug)]
pub struct ResourceListInput {
    /// The list's `apiVersion`, echoed in the output list.
    pub api_version: Option<Value>,
    /// The generator configs, each with where it came from (`items[3]`, `functionConfig`).
    pub configs: Vec<(GeneratorConfig, String)>,
    /// Items that are not generator configs: passed through.
    pub others: Vec<Value>,
}

/// Read the documents of a KRM function's stdin. Items that are generator configs are
/// replaced by what they generate (for a generator kustomize passes the config itself as an
/// item); with no config among the items, `functionConfig` is used. Other items pass
/// through.
pub fn read_resource_list(documents: Vec<Value>) -> Result<ResourceListInput, InputError> {
    let mut documents = documents;
    let list = match documents.as_mut_slice() {
        [one] if one.get("kind").and_then(Value::as_str) == Some("ResourceList") => {
            std::mem::take(one)
        }
        _ => return Err(InputError::NotAResourceList),
    };
    let items: Vec<Value> = list
        .get("items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut configs = Vec::new();
    let mut others = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        if is_generator_config(&item) {
            configs.push((
                parse_config(&item, &format!("<stdin>: items[{i}]"))?,
                format!("items[{i}]"),
            ));
        } else {
            others.push(item);
        }
    }
    if configs.is_empty()
        && let Some(fc) = list
            .get("functionConfig")
            .filter(|v| is_generator_config(v))
    {
        configs.push((
            parse_config(fc, "<stdin>: functionConfig")?,
            "functionConfig".to_owned(),
        ));
    }
    if configs.is_empty() {
        return Err(InputError::NoConfig);
    }
    Ok(ResourceListInput {
        api_version: list.get("apiVersion").cloned(),
        configs,
        others,
    })
}

/// A `key=path` or `path` entry.
pub fn split_entry(entry: &str) -> (String, &str) {
    match entry.split_once('=') {
        Some((key, path)) if !key.is_empty() => (key.to_owned(), path),
        _ => (
            Path::new(entry)
                .file_name()
                .map_or_else(|| entry.to_owned(), |n| n.to_string_lossy().into_owned()),
            entry,
        ),
    }
}

/// godotenv's quoting: `"…"` (with `\n` escapes) and `'…'` are unwrapped.
pub fn unquote_env(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        return v[1..v.len() - 1]
            .replace("\\n", "\n")
            .replace("\\\"", "\"")
            .replace("\\\\", "\\");
    }
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        return v[1..v.len() - 1].to_owned();
    }
    v.to_owned()
}

/// A decrypted env file that is not dotenv-encrypted: `KEY=VALUE` lines (`export ` and
/// comments allowed).
pub fn parse_env_lines(text: &str) -> Result<Vec<(String, String)>, InputError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(InputError::EnvLine { line: i + 1 });
        };
        out.push((k.trim().to_owned(), unquote_env(v)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn entries_take_the_file_name_or_an_explicit_key() {
        assert_eq!(
            split_entry("./a/b.enc.yaml"),
            ("b.enc.yaml".to_owned(), "./a/b.enc.yaml")
        );
        assert_eq!(
            split_entry("config.yaml=./b.enc.yaml"),
            ("config.yaml".to_owned(), "./b.enc.yaml")
        );
    }

    #[test]
    fn env_values_are_unquoted_like_godotenv() {
        assert_eq!(unquote_env("\"a b\\nc\""), "a b\nc");
        assert_eq!(unquote_env("'x y'"), "x y");
        assert_eq!(unquote_env("plain"), "plain");
        assert_eq!(
            parse_env_lines("# c\nexport A=1\nB=\"two\"\n").unwrap(),
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "two".to_owned())
            ]
        );
        assert!(matches!(
            parse_env_lines("novalue\n"),
            Err(InputError::EnvLine { line: 1 })
        ));
    }

    #[test]
    fn configs_need_files_or_secret_from() {
        let v =
            json!({"apiVersion": KSOPS_API_VERSION, "kind": KSOPS_KIND, "metadata": {"name": "x"}});
        assert!(is_generator_config(&v));
        let err = parse_config(&v, "cfg").unwrap_err().to_string();
        assert!(err.contains("expected `files` or `secretFrom`"), "{err}");
    }

    #[test]
    fn resource_lists_are_read_into_configs_and_pass_through_items() {
        let config = json!({"apiVersion": SEALBOX_API_VERSION, "kind": SEALBOX_KIND,
                            "metadata": {"name": "g"}, "files": ["./a.enc.yaml"]});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let list = json!({"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList",
                          "items": [cm.clone(), config.clone()]});
        let input = read_resource_list(vec![list]).unwrap();
        assert_eq!(input.configs.len(), 1);
        assert_eq!(input.configs[0].1, "items[1]");
        assert_eq!(input.others, std::slice::from_ref(&cm));
        // functionConfig only when no item is a config.
        let list = json!({"kind": "ResourceList", "items": [cm], "functionConfig": config});
        let input = read_resource_list(vec![list]).unwrap();
        assert_eq!(input.configs[0].1, "functionConfig");
        assert!(input.api_version.is_none());
        let bad = json!({"kind": "ResourceList",
                         "items": [{"apiVersion": KSOPS_API_VERSION, "kind": KSOPS_KIND, "files": "x"}]});
        let err = read_resource_list(vec![bad]).unwrap_err();
        assert!(!err.is_wrong_kind());
        assert!(
            err.to_string()
                .starts_with("<stdin>: items[0]: invalid generator config"),
            "{err}"
        );
        assert!(read_resource_list(vec![]).unwrap_err().is_wrong_kind());
        assert!(
            read_resource_list(vec![json!({"kind": "ResourceList"})])
                .unwrap_err()
                .is_wrong_kind()
        );
    }
}
