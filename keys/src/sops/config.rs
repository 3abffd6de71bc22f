//! `.sops.yaml`: creation rules and store settings (`config/config.go`).
//!
//! Parsing and rule selection are pure. Finding the file is a small filesystem walk
//! ([`find_config_file`]) that takes its starting directory as an argument, so callers choose
//! sops' behaviour (the current working directory) or a different one, and tests can point it
//! at a temporary tree.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Deserialize;

use super::error::{Result, SopsError};
use super::file::StoreOptions;
use super::keysource::Recipient;
use super::rules::EncryptionRule;
use crate::limits::{Limits, check_yaml, saphyr_options};

/// sops' config file name (a `.sops.yml` is *not* used, only warned about).
pub const CONFIG_FILE_NAME: &str = ".sops.yaml";
const MAX_DEPTH: usize = 100;

#[derive(Deserialize, Default)]
#[serde(untagged)]
enum StringOrList {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    fn items(&self) -> Vec<String> {
        match self {
            StringOrList::None => Vec::new(),
            StringOrList::One(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            StringOrList::Many(v) => v.clone(),
        }
    }
}

#[derive(Deserialize, Default)]
struct RawGroup {
    #[serde(default)]
    age: Vec<String>,
    #[serde(default)]
    merge: Vec<RawGroup>,
    #[serde(default)]
    pgp: Vec<String>,
    #[serde(default)]
    kms: Vec<serde_json::Value>,
    #[serde(default)]
    gcp_kms: Vec<serde_json::Value>,
    #[serde(default)]
    azure_keyvault: Vec<serde_json::Value>,
    #[serde(default)]
    hc_vault: Vec<String>,
    #[serde(default)]
    hckms: Vec<serde_json::Value>,
}

#[derive(Deserialize, Default)]
struct RawRule {
    path_regex: Option<String>,
    #[serde(default)]
    age: StringOrList,
    #[serde(default)]
    pgp: StringOrList,
    #[serde(default)]
    kms: StringOrList,
    #[serde(default)]
    gcp_kms: StringOrList,
    #[serde(default)]
    azure_keyvault: StringOrList,
    #[serde(default)]
    hc_vault_transit_uri: StringOrList,
    #[serde(default)]
    hckms: Vec<String>,
    #[serde(default)]
    key_groups: Vec<RawGroup>,
    #[serde(default)]
    shamir_threshold: usize,
    unencrypted_suffix: Option<String>,
    encrypted_suffix: Option<String>,
    unencrypted_regex: Option<String>,
    encrypted_regex: Option<String>,
    unencrypted_comment_regex: Option<String>,
    encrypted_comment_regex: Option<String>,
    #[serde(default)]
    mac_only_encrypted: bool,
}

#[derive(Deserialize, Default)]
struct RawIndent {
    indent: Option<i64>,
}

#[derive(Deserialize, Default)]
struct RawStores {
    #[serde(default)]
    yaml: RawIndent,
    #[serde(default)]
    json: RawIndent,
}

#[derive(Deserialize, Default)]
struct RawConfig {
    creation_rules: Option<Vec<RawRule>>,
    #[serde(default)]
    stores: RawStores,
}

/// One creation rule, with recipients parsed.
#[derive(Debug, Clone)]
pub struct CreationRule {
    path_regex: Option<Regex>,
    /// Key groups of age recipients.
    pub key_groups: Vec<Vec<Recipient>>,
    /// Shamir threshold (0 = number of groups).
    pub shamir_threshold: usize,
    /// The encryption rule, if one is configured.
    pub rule: Option<EncryptionRule>,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// Key types in the rule that sealbox cannot encrypt to (pgp, kms, …).
    pub unsupported_keys: Vec<&'static str>,
}

/// A parsed `.sops.yaml`.
#[derive(Debug, Clone)]
pub struct SopsConfig {
    rules: Option<Vec<CreationRule>>,
    /// Store settings for reading and writing.
    pub stores: StoreOptions,
}

fn group_from(g: &RawGroup, unsupported: &mut Vec<&'static str>) -> Result<Vec<Recipient>> {
    let mut out = Vec::new();
    for m in &g.merge {
        out.extend(group_from(m, unsupported)?);
    }
    for a in &g.age {
        for r in a.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            out.push(Recipient::parse(r)?);
        }
    }
    for (name, present) in [
        ("pgp", !g.pgp.is_empty()),
        ("kms", !g.kms.is_empty()),
        ("gcp_kms", !g.gcp_kms.is_empty()),
        ("azure_keyvault", !g.azure_keyvault.is_empty()),
        ("hc_vault", !g.hc_vault.is_empty()),
        ("hckms", !g.hckms.is_empty()),
    ] {
        if present {
            unsupported.push(name);
        }
    }
    let mut seen = Vec::new();
    out.retain(|r| {
        let fresh = !seen.contains(&r.as_str().to_string());
        seen.push(r.as_str().to_string());
        fresh
    });
    Ok(out)
}

impl SopsConfig {
    /// Parse the text of a `.sops.yaml`.
    pub fn parse(text: &str) -> Result<SopsConfig> {
        let raw: RawConfig = if text.trim().is_empty() {
            RawConfig::default()
        } else {
            // `.sops.yaml` comes from the repository: bounded like every untrusted YAML.
            check_yaml(text, &Limits::DEFAULT).map_err(|e| SopsError::Config(e.to_string()))?;
            serde_saphyr::from_str_with_options(text, saphyr_options(&Limits::DEFAULT))
                .map_err(|e| SopsError::Config(format!("Could not unmarshal config file: {e}")))?
        };
        let mut stores = StoreOptions::default();
        if let Some(i) = raw.stores.yaml.indent {
            if i < 0 {
                return Err(SopsError::Config(
                    "YAML Negative indentation not accepted".into(),
                ));
            }
            if i > 0 {
                stores.yaml_indent = i as usize;
            }
        }
        if let Some(i) = raw.stores.json.indent {
            if i < -1 {
                return Err(SopsError::Config(
                    "JSON Indentation parameter smaller than -1 is not accepted".into(),
                ));
            }
            stores.json_indent = (i >= 0).then_some(i as usize);
        }
        let rules = match raw.creation_rules {
            None => None,
            Some(list) => {
                let mut rules = Vec::with_capacity(list.len());
                for (i, r) in list.iter().enumerate() {
                    let ctx = |e: SopsError| SopsError::Config(format!("creation_rules[{i}]: {e}"));
                    let path_regex = match r.path_regex.as_deref().filter(|p| !p.is_empty()) {
                        Some(p) => Some(Regex::new(p).map_err(|e| {
                            SopsError::Config(format!(
                                "creation_rules[{i}].path_regex: can not compile regexp: {e}"
                            ))
                        })?),
                        None => None,
                    };
                    let rule = EncryptionRule::from_fields(
                        r.unencrypted_suffix.as_deref(),
                        r.encrypted_suffix.as_deref(),
                        r.unencrypted_regex.as_deref(),
                        r.encrypted_regex.as_deref(),
                        r.unencrypted_comment_regex.as_deref(),
                        r.encrypted_comment_regex.as_deref(),
                    )
                    .map_err(|_| SopsError::Config(format!("creation_rules[{i}]: cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex for the same rule")))?;
                    let mut unsupported = Vec::new();
                    let key_groups = if !r.key_groups.is_empty() {
                        r.key_groups
                            .iter()
                            .map(|g| group_from(g, &mut unsupported))
                            .collect::<Result<Vec<_>>>()
                            .map_err(ctx)?
                    } else {
                        let mut g = Vec::new();
                        for a in r.age.items() {
                            g.push(Recipient::parse(&a).map_err(ctx)?);
                        }
                        for (name, list) in [
                            ("pgp", &r.pgp),
                            ("kms", &r.kms),
                            ("gcp_kms", &r.gcp_kms),
                            ("azure_keyvault", &r.azure_keyvault),
                            ("hc_vault_transit_uri", &r.hc_vault_transit_uri),
                        ] {
                            if !list.items().is_empty() {
                                unsupported.push(name);
                            }
                        }
                        if !r.hckms.is_empty() {
                            unsupported.push("hckms");
                        }
                        vec![g]
                    };
                    rules.push(CreationRule {
                        path_regex,
                        key_groups,
                        shamir_threshold: r.shamir_threshold,
                        rule,
                        mac_only_encrypted: r.mac_only_encrypted,
                        unsupported_keys: unsupported,
                    });
                }
                Some(rules)
            }
        };
        Ok(SopsConfig { rules, stores })
    }

    /// The first rule whose `path_regex` matches `relative_path` (unanchored search, as Go's
    /// `MatchString`); a rule without `path_regex` matches everything. `Ok(None)` when the
    /// file has no `creation_rules` at all.
    pub fn rule_for(&self, relative_path: &str) -> Result<Option<&CreationRule>> {
        let Some(rules) = &self.rules else {
            return Ok(None);
        };
        rules
            .iter()
            .find(|r| {
                r.path_regex
                    .as_ref()
                    .is_none_or(|re| re.is_match(relative_path))
            })
            .map(Some)
            .ok_or(SopsError::NoMatchingCreationRule)
    }
}

/// The path rules are matched against: the file's absolute path with the config file's
/// directory stripped when the file is below it (sops' `parseCreationRuleForFile`).
pub fn path_for_rules(config_dir: &Path, file_abs: &Path) -> String {
    match file_abs.strip_prefix(config_dir) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        Err(_) => file_abs.to_string_lossy().into_owned(),
    }
}

/// Look for `.sops.yaml` in `start_dir` and up to 100 parents (sops' `LookupConfigFile`).
/// Returns the path found, and a warning if a `.sops.yml` was seen on the way.
pub fn find_config_file(start_dir: &Path) -> (Option<PathBuf>, Option<String>) {
    let mut dir = Some(start_dir.to_path_buf());
    let mut alternate: Option<PathBuf> = None;
    for _ in 0..MAX_DEPTH {
        let Some(d) = dir else { break };
        let candidate = d.join(CONFIG_FILE_NAME);
        if candidate.is_file() {
            let warning = alternate.map(|a| {
                format!(
                    "ignoring {a:?} when searching for config file; the config file must be called {CONFIG_FILE_NAME:?}; using {candidate:?} instead"
                )
            });
            return (Some(candidate), warning);
        }
        if alternate.is_none() && d.join(".sops.yml").is_file() {
            alternate = Some(d.join(".sops.yml"));
        }
        dir = d.parent().map(Path::to_path_buf);
    }
    let warning = alternate.map(|a| format!("ignoring {a:?} when searching for config file; the config file must be called {CONFIG_FILE_NAME:?}"));
    (None, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

    #[test]
    fn rule_selection_and_forms() {
        let cfg = SopsConfig::parse(&format!(
            "creation_rules:\n- path_regex: prod/.*\\.yaml$\n  encrypted_regex: ^(data)$\n  age: [{ALICE}]\n- age: {ALICE}, {ALICE}\nstores:\n  yaml:\n    indent: 2\n"
        ))
        .unwrap();
        assert_eq!(cfg.stores.yaml_indent, 2);
        let r = cfg.rule_for("clusters/prod/db.yaml").unwrap().unwrap();
        assert!(matches!(r.rule, Some(EncryptionRule::EncryptedRegex(_))));
        let r = cfg.rule_for("other.json").unwrap().unwrap();
        assert!(r.rule.is_none());
        assert_eq!(r.key_groups[0].len(), 2);
        let none = SopsConfig::parse(
            "creation_rules:\n- path_regex: x$\n  age: "
                .to_string()
                .as_str()
                .to_owned()
                .as_str(),
        );
        assert!(none.is_ok());
        let cfg = SopsConfig::parse(&format!(
            "creation_rules:\n- path_regex: ^a\n  age: {ALICE}\n"
        ))
        .unwrap();
        assert!(matches!(
            cfg.rule_for("b"),
            Err(SopsError::NoMatchingCreationRule)
        ));
        assert!(
            SopsConfig::parse("stores: {}\n")
                .unwrap()
                .rule_for("x")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn finds_config_walking_up() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(dir.path().join("a/.sops.yml"), "").unwrap();
        assert_eq!(find_config_file(&deep).0, None);
        std::fs::write(dir.path().join(".sops.yaml"), "").unwrap();
        let (found, warning) = find_config_file(&deep);
        assert_eq!(found.unwrap(), dir.path().join(".sops.yaml"));
        assert!(warning.unwrap().contains(".sops.yml"));
        assert_eq!(
            path_for_rules(dir.path(), &deep.join("x.yaml")),
            "a/b/c/x.yaml"
        );
    }
}
