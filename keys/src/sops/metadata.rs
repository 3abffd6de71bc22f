//! The `sops:` metadata block: reading both the 3.11 (struct order) and 3.13 (alphabetical)
//! layouts, and writing the 3.11 layout.
//!
//! The block is read into a small ordered value tree ([`MetaValue`]) by each store and then
//! interpreted here, so YAML, JSON, dotenv and INI share one interpretation. Master keys this
//! library cannot use (PGP, cloud KMS, Vault) are kept field by field and written back, so a
//! rewrite never drops someone else's way into the file.

use super::error::{Result, SopsError};
use super::gofmt::GoTime;
use super::rules::{DEFAULT_UNENCRYPTED_SUFFIX, EncryptionRule};
use crate::limits::{Limit, LimitExceeded, Limits};

/// The version string written into files. It must be valid semver (sops' decrypt path calls
/// `semver.Make` on it via `DetectKMSEncryptionContextBug`) and at least 3.3.0; `3.11.0` is
/// the format we write byte-for-byte (the peer binary's own layout), and `sops edit`
/// upgrades it to its own version as usual.
pub const WRITTEN_VERSION: &str = "3.11.0";

/// An ordered, loosely typed value of the metadata block.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float (JSON numbers).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<MetaValue>),
    /// A mapping in document order.
    Map(Vec<(String, MetaValue)>),
    /// `null`.
    Null,
}

impl MetaValue {
    fn get<'a>(&'a self, key: &str) -> Option<&'a MetaValue> {
        match self {
            MetaValue::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match self {
            MetaValue::Str(s) => Some(s),
            _ => None,
        }
    }
    fn list(&self) -> &[MetaValue] {
        match self {
            MetaValue::List(l) => l,
            _ => &[],
        }
    }
}

/// Master-key kinds sops knows besides age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `pgp`
    Pgp,
    /// `kms` (AWS)
    Kms,
    /// `gcp_kms`
    GcpKms,
    /// `azure_kv`
    AzureKv,
    /// `hc_vault`
    HcVault,
    /// `hckms` (Huawei Cloud)
    Hckms,
}

impl KeyKind {
    const ALL: [KeyKind; 6] = [
        KeyKind::Pgp,
        KeyKind::Kms,
        KeyKind::GcpKms,
        KeyKind::AzureKv,
        KeyKind::HcVault,
        KeyKind::Hckms,
    ];
    /// The metadata field name.
    pub fn field(self) -> &'static str {
        match self {
            KeyKind::Pgp => "pgp",
            KeyKind::Kms => "kms",
            KeyKind::GcpKms => "gcp_kms",
            KeyKind::AzureKv => "azure_kv",
            KeyKind::HcVault => "hc_vault",
            KeyKind::Hckms => "hckms",
        }
    }
    /// Field order of the Go struct (3.11 serialisation).
    fn field_order(self) -> &'static [&'static str] {
        match self {
            KeyKind::Pgp => &["created_at", "enc", "fp"],
            KeyKind::Kms => &["arn", "role", "context", "created_at", "enc", "aws_profile"],
            KeyKind::GcpKms => &["resource_id", "created_at", "enc"],
            KeyKind::AzureKv => &["vault_url", "name", "version", "created_at", "enc"],
            KeyKind::HcVault => &[
                "vault_address",
                "engine_path",
                "key_name",
                "created_at",
                "enc",
            ],
            KeyKind::Hckms => &["key_id", "created_at", "enc"],
        }
    }
    fn identifier_field(self) -> &'static str {
        match self {
            KeyKind::Pgp => "fp",
            KeyKind::Kms => "arn",
            KeyKind::GcpKms => "resource_id",
            KeyKind::AzureKv => "vault_url",
            KeyKind::HcVault => "vault_address",
            KeyKind::Hckms => "key_id",
        }
    }
}

/// One way into the file: a master key and the data key (or share) it wraps.
#[derive(Clone, Debug, PartialEq)]
pub enum MasterKey {
    /// An age recipient (X25519, ssh-ed25519, ssh-rsa, …) and its armored age file.
    Age {
        /// Recipient as written (`age1…`, `ssh-ed25519 …`).
        recipient: String,
        /// Armored age file wrapping the data key (or share).
        enc: String,
    },
    /// A key type this library cannot use; preserved verbatim.
    Other {
        /// Which kind.
        kind: KeyKind,
        /// Its fields as read.
        fields: Vec<(String, MetaValue)>,
    },
}

impl MasterKey {
    /// Human-readable name for error reports (never secret).
    pub fn describe(&self) -> String {
        match self {
            MasterKey::Age { recipient, .. } => format!("age {recipient}"),
            MasterKey::Other { kind, fields } => {
                let id = fields
                    .iter()
                    .find(|(k, _)| k == kind.identifier_field())
                    .and_then(|(_, v)| v.as_str())
                    .unwrap_or("?");
                format!("{} {id}", kind.field())
            }
        }
    }
}

/// A key group: every key in it wraps the same data key (or Shamir share).
pub type KeyGroup = Vec<MasterKey>;

/// The parsed `sops` metadata.
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Key groups (one group unless Shamir is used).
    pub key_groups: Vec<KeyGroup>,
    /// Shamir threshold (0 = not set).
    pub shamir_threshold: usize,
    /// `lastmodified` (the MAC's AAD).
    pub last_modified: GoTime,
    /// The encrypted MAC.
    pub mac: String,
    /// The effective encryption rule (the `_unencrypted` default when none is written).
    pub rule: EncryptionRule,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
    /// `version`.
    pub version: String,
}

fn invalid(field: &str, reason: impl Into<String>) -> SopsError {
    SopsError::InvalidMetadata {
        field: field.into(),
        reason: reason.into(),
    }
}

fn opt_str<'a>(m: &'a MetaValue, key: &str) -> Result<Option<&'a str>> {
    match m.get(key) {
        None | Some(MetaValue::Null) => Ok(None),
        Some(MetaValue::Str(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(key, "expected a string")),
    }
}

fn parse_group(g: &MetaValue, field_prefix: &str) -> Result<KeyGroup> {
    let mut group = Vec::new();
    // Go's internalGroupFrom order: kms, gcp_kms, hckms, azure_kv, hc_vault, pgp, age.
    for kind in [
        KeyKind::Kms,
        KeyKind::GcpKms,
        KeyKind::Hckms,
        KeyKind::AzureKv,
        KeyKind::HcVault,
        KeyKind::Pgp,
    ] {
        for (i, k) in g
            .get(kind.field())
            .map(MetaValue::list)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let MetaValue::Map(fields) = k else {
                return Err(invalid(
                    &format!("{field_prefix}{}[{i}]", kind.field()),
                    "expected a mapping",
                ));
            };
            if let Some(created) = opt_str(k, "created_at")?
                && GoTime::parse_rfc3339(created).is_none()
            {
                return Err(invalid(
                    &format!("{field_prefix}{}[{i}].created_at", kind.field()),
                    "not an RFC 3339 time",
                ));
            }
            group.push(MasterKey::Other {
                kind,
                fields: fields.clone(),
            });
        }
    }
    for (i, k) in g
        .get("age")
        .map(MetaValue::list)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let field = format!("{field_prefix}age[{i}]");
        let recipient =
            opt_str(k, "recipient")?.ok_or_else(|| invalid(&field, "missing recipient"))?;
        let enc = opt_str(k, "enc")?.unwrap_or_default();
        group.push(MasterKey::Age {
            recipient: recipient.to_string(),
            enc: enc.to_string(),
        });
    }
    Ok(group)
}

/// sops parses `version` as semver (an optional leading `v`, then `X.Y.Z` with optional
/// pre-release and build parts) on every decrypt and refuses the file if it does not parse;
/// so does sealbox, with the reason sops gives.
fn check_version(version: &str) -> Result<String> {
    if version.is_empty() {
        return Err(invalid("version", "Version string empty"));
    }
    let bare = version.strip_prefix('v').unwrap_or(version);
    semver::Version::parse(bare).map_err(|e| {
        invalid(
            "version",
            format!("{version:?} is not a semantic version (X.Y.Z): {e}"),
        )
    })?;
    Ok(version.to_string())
}

impl Metadata {
    /// Interpret a metadata block (`stores.Metadata.ToInternal`).
    pub fn from_value(m: &MetaValue) -> Result<Metadata> {
        if !matches!(m, MetaValue::Map(_)) {
            return Err(invalid("sops", "expected a mapping"));
        }
        let version = match m.get("version") {
            Some(MetaValue::Str(s)) => check_version(s)?,
            None | Some(MetaValue::Null) => check_version("")?,
            Some(_) => {
                return Err(invalid(
                    "version",
                    "must be a string (files from sops 1.x with a numeric version must be rotated with sops 2.0.x first)",
                ));
            }
        };
        let last_modified = opt_str(m, "lastmodified")?.unwrap_or_default();
        let last_modified = GoTime::parse_rfc3339(last_modified)
            .ok_or_else(|| invalid("lastmodified", "not an RFC 3339 time"))?;
        let mac = opt_str(m, "mac")?.unwrap_or_default().to_string();
        let shamir_threshold = match m.get("shamir_threshold") {
            None | Some(MetaValue::Null) => 0,
            Some(MetaValue::Int(i)) if *i >= 0 => *i as usize,
            Some(MetaValue::Float(f)) if *f >= 0.0 && f.fract() == 0.0 => *f as usize,
            Some(MetaValue::Str(s)) => s
                .parse::<usize>()
                .or_else(|_| s.parse::<f64>().map(|f| f as usize))
                .map_err(|_| invalid("shamir_threshold", "not an integer"))?,
            Some(_) => return Err(invalid("shamir_threshold", "not an integer")),
        };
        let mac_only_encrypted = match m.get("mac_only_encrypted") {
            None | Some(MetaValue::Null) => false,
            Some(MetaValue::Bool(b)) => *b,
            Some(MetaValue::Str(s)) => s == "true",
            Some(_) => return Err(invalid("mac_only_encrypted", "not a boolean")),
        };
        let rule = EncryptionRule::from_fields(
            opt_str(m, "unencrypted_suffix")?,
            opt_str(m, "encrypted_suffix")?,
            opt_str(m, "unencrypted_regex")?,
            opt_str(m, "encrypted_regex")?,
            opt_str(m, "unencrypted_comment_regex")?,
            opt_str(m, "encrypted_comment_regex")?,
        )?
        .unwrap_or_else(|| EncryptionRule::UnencryptedSuffix(DEFAULT_UNENCRYPTED_SUFFIX.into()));
        // Top-level keys form one group; otherwise key_groups.
        let top = parse_group(m, "")?;
        let key_groups = if !top.is_empty() {
            vec![top]
        } else {
            let mut groups = Vec::new();
            for (i, g) in m
                .get("key_groups")
                .map(MetaValue::list)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                groups.push(parse_group(g, &format!("key_groups[{i}]."))?);
            }
            groups
        };
        if key_groups.is_empty() {
            return Err(invalid("sops", "No keys found in file"));
        }
        Ok(Metadata {
            key_groups,
            shamir_threshold,
            last_modified,
            mac,
            rule,
            mac_only_encrypted,
            version,
        })
    }

    /// The block as sops 3.11 writes it (`stores.MetadataFromInternal`, struct order).
    pub fn to_value(&self) -> MetaValue {
        let mut m: Vec<(String, MetaValue)> = Vec::new();
        if self.shamir_threshold > 0 {
            m.push((
                "shamir_threshold".into(),
                MetaValue::Int(self.shamir_threshold as i64),
            ));
        }
        let keys_of = |group: &KeyGroup, kind: Option<KeyKind>| -> Vec<MetaValue> {
            group
                .iter()
                .filter_map(|k| match (k, kind) {
                    (MasterKey::Age { recipient, enc }, None) => Some(MetaValue::Map(vec![
                        ("recipient".into(), MetaValue::Str(recipient.clone())),
                        ("enc".into(), MetaValue::Str(enc.clone())),
                    ])),
                    (MasterKey::Other { kind: k, fields }, Some(want)) if *k == want => {
                        let mut ordered: Vec<(String, MetaValue)> = Vec::new();
                        for name in want.field_order() {
                            if let Some((_, v)) = fields.iter().find(|(f, _)| f == name) {
                                ordered.push((name.to_string(), v.clone()));
                            }
                        }
                        for (f, v) in fields {
                            if !want.field_order().contains(&f.as_str()) {
                                ordered.push((f.clone(), v.clone()));
                            }
                        }
                        Some(MetaValue::Map(ordered))
                    }
                    _ => None,
                })
                .collect()
        };
        let push_list =
            |m: &mut Vec<(String, MetaValue)>, name: &str, l: Vec<MetaValue>, always: bool| {
                if always || !l.is_empty() {
                    m.push((name.into(), MetaValue::List(l)));
                }
            };
        if self.key_groups.len() == 1 {
            let g = &self.key_groups[0];
            push_list(&mut m, "kms", keys_of(g, Some(KeyKind::Kms)), false);
            push_list(&mut m, "gcp_kms", keys_of(g, Some(KeyKind::GcpKms)), false);
            push_list(&mut m, "hckms", keys_of(g, Some(KeyKind::Hckms)), false);
            push_list(
                &mut m,
                "azure_kv",
                keys_of(g, Some(KeyKind::AzureKv)),
                false,
            );
            push_list(
                &mut m,
                "hc_vault",
                keys_of(g, Some(KeyKind::HcVault)),
                false,
            );
            push_list(&mut m, "age", keys_of(g, None), false);
        } else {
            let groups = self
                .key_groups
                .iter()
                .map(|g| {
                    let mut gm = Vec::new();
                    push_list(&mut gm, "pgp", keys_of(g, Some(KeyKind::Pgp)), false);
                    push_list(&mut gm, "kms", keys_of(g, Some(KeyKind::Kms)), false);
                    push_list(&mut gm, "gcp_kms", keys_of(g, Some(KeyKind::GcpKms)), false);
                    push_list(&mut gm, "hckms", keys_of(g, Some(KeyKind::Hckms)), false);
                    push_list(
                        &mut gm,
                        "azure_kv",
                        keys_of(g, Some(KeyKind::AzureKv)),
                        false,
                    );
                    push_list(
                        &mut gm,
                        "hc_vault",
                        keys_of(g, Some(KeyKind::HcVault)),
                        true,
                    );
                    push_list(&mut gm, "age", keys_of(g, None), true);
                    MetaValue::Map(gm)
                })
                .collect();
            m.push(("key_groups".into(), MetaValue::List(groups)));
        }
        m.push((
            "lastmodified".into(),
            MetaValue::Str(self.last_modified.format_rfc3339()),
        ));
        m.push(("mac".into(), MetaValue::Str(self.mac.clone())));
        if self.key_groups.len() == 1 {
            push_list(
                &mut m,
                "pgp",
                keys_of(&self.key_groups[0], Some(KeyKind::Pgp)),
                false,
            );
        }
        let (field, value) = self.rule.field();
        m.push((field.into(), MetaValue::Str(value.to_string())));
        if self.mac_only_encrypted {
            m.push(("mac_only_encrypted".into(), MetaValue::Bool(true)));
        }
        m.push(("version".into(), MetaValue::Str(self.version.clone())));
        MetaValue::Map(m)
    }

    /// Kinds of master keys in the file that this library cannot use.
    pub fn foreign_key_kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<&'static str> = KeyKind::ALL
            .iter()
            .filter(|k| {
                self.key_groups
                    .iter()
                    .flatten()
                    .any(|m| matches!(m, MasterKey::Other { kind, .. } if kind == *k))
            })
            .map(|k| k.field())
            .collect();
        kinds.dedup();
        kinds
    }
}

// ---- flattening for dotenv / INI (stores/flatten.go) ------------------------------------

/// Flatten a metadata value as `FlattenMetadata` does (`__map_` / `__list_` separators).
pub fn flatten(value: &MetaValue) -> Vec<(String, MetaValue)> {
    fn go(prefix: &str, v: &MetaValue, out: &mut Vec<(String, MetaValue)>) {
        match v {
            MetaValue::Map(m) => {
                for (k, v) in m {
                    go(&format!("{prefix}__map_{k}"), v, out);
                }
            }
            MetaValue::List(l) => {
                for (i, v) in l.iter().enumerate() {
                    go(&format!("{prefix}__list_{i}"), v, out);
                }
            }
            other => out.push((prefix.to_string(), other.clone())),
        }
    }
    let mut out = Vec::new();
    if let MetaValue::Map(m) = value {
        for (k, v) in m {
            match v {
                MetaValue::Map(_) | MetaValue::List(_) => go(k, v, &mut out),
                other => out.push((k.clone(), other.clone())),
            }
        }
    }
    out
}

/// Most flattened metadata entries read from a dotenv/INI file. Real files have about two per
/// master key plus eight; rebuilding the tree is quadratic in the entry count (ordered maps),
/// so a file of a million `sops_*` lines must be refused rather than processed.
pub const MAX_FLAT_METADATA_ENTRIES: usize = 10_000;

/// One step of a flattened metadata key: `__map_<key>` or `__list_<index>`.
#[derive(Debug)]
enum Tok {
    Map(String),
    List(usize),
}

/// Split a flattened key (`age__list_0__map_enc`) into its steps.
fn tokenize(path: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut rest = path;
    let mut first = true;
    loop {
        let next_map = rest.find("__map_");
        let next_list = rest.find("__list_");
        let cut = match (next_map, next_list) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => rest.len(),
        };
        let piece = &rest[..cut];
        if first {
            toks.push(Tok::Map(piece.to_string()));
            first = false;
        }
        if cut == rest.len() {
            break;
        }
        rest = &rest[cut..];
        if let Some(r) = rest.strip_prefix("__map_") {
            let end = [r.find("__map_"), r.find("__list_")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(r.len());
            toks.push(Tok::Map(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("__list_") {
            let end = [r.find("__map_"), r.find("__list_")]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(r.len());
            toks.push(Tok::List(r[..end].parse().unwrap_or(0)));
            rest = &r[end..];
        }
        if rest.is_empty() {
            break;
        }
    }
    toks
}

/// Refuse flattened metadata (dotenv `sops_*` lines, the INI `[sops]` section) that would
/// build something no sops file has: a key nested deeper than `limits.max_depth`, or a list
/// index at least as large as the number of entries (`__list_99999999999` would otherwise
/// allocate that many slots). Messages name the key, which is metadata, never a value.
pub fn check_flat(flat: &[(String, String)], limits: &Limits) -> Result<()> {
    if flat.len() > MAX_FLAT_METADATA_ENTRIES {
        return Err(invalid(
            "sops",
            format!(
                "{} metadata entries; sealbox reads at most {MAX_FLAT_METADATA_ENTRIES} (a sops file has a few per master key)",
                flat.len()
            ),
        ));
    }
    for (key, _) in flat {
        let toks = tokenize(key);
        if toks.len() > limits.max_depth {
            return Err(SopsError::Limit {
                format: "sops metadata",
                source: LimitExceeded {
                    limit: Limit::Depth,
                    max: limits.max_depth,
                    found: toks.len(),
                },
            });
        }
        if let Some(i) = list_index_out_of_range(&toks, flat.len()) {
            return Err(invalid(
                key,
                format!(
                    "list index {i} is out of range (the metadata has {} entries)",
                    flat.len()
                ),
            ));
        }
    }
    Ok(())
}

fn list_index_out_of_range(toks: &[Tok], entries: usize) -> Option<usize> {
    toks.iter().find_map(|t| match t {
        Tok::List(i) if *i >= entries => Some(*i),
        _ => None,
    })
}

/// Rebuild the metadata tree from flattened `key = value` strings (`Unflatten`).
///
/// Entries that [`check_flat`] refuses (too deep, list index out of range) are skipped, so
/// this never builds more than the input warrants; the stores call [`check_flat`] first and
/// report them.
pub fn unflatten(flat: &[(String, String)]) -> MetaValue {
    fn insert(node: &mut MetaValue, toks: &[Tok], value: &str) {
        let Some((first, rest)) = toks.split_first() else {
            *node = MetaValue::Str(value.to_string());
            return;
        };
        match first {
            Tok::Map(k) => {
                if !matches!(node, MetaValue::Map(_)) {
                    *node = MetaValue::Map(Vec::new());
                }
                let MetaValue::Map(m) = node else {
                    unreachable!()
                };
                let idx = match m.iter().position(|(kk, _)| kk == k) {
                    Some(i) => i,
                    None => {
                        m.push((k.clone(), MetaValue::Null));
                        m.len() - 1
                    }
                };
                insert(&mut m[idx].1, rest, value);
            }
            Tok::List(i) => {
                if !matches!(node, MetaValue::List(_)) {
                    *node = MetaValue::List(Vec::new());
                }
                let MetaValue::List(l) = node else {
                    unreachable!()
                };
                if l.len() <= *i {
                    l.resize(*i + 1, MetaValue::Null);
                }
                insert(&mut l[*i], rest, value);
            }
        }
    }
    let mut root = MetaValue::Map(Vec::new());
    for (k, v) in flat.iter().take(MAX_FLAT_METADATA_ENTRIES) {
        let toks = tokenize(k);
        if toks.len() > Limits::SOPS_ENCRYPTED.max_depth
            || list_index_out_of_range(&toks, flat.len()).is_some()
        {
            continue;
        }
        insert(&mut root, &toks, v);
    }
    root
}

/// Render a flattened metadata value as sops' dotenv/INI stores do (`\n` escaped).
pub fn flat_value_string(v: &MetaValue) -> Option<String> {
    match v {
        MetaValue::Str(s) => Some(s.replace('\n', "\\n")),
        MetaValue::Int(i) => Some(i.to_string()),
        MetaValue::Float(f) => Some(format!("{f:.0}")),
        MetaValue::Bool(b) => Some(b.to_string()),
        MetaValue::Null => None,
        MetaValue::List(_) | MetaValue::Map(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_round_trip() {
        let v = MetaValue::Map(vec![
            (
                "age".into(),
                MetaValue::List(vec![MetaValue::Map(vec![
                    ("recipient".into(), MetaValue::Str("age1x".into())),
                    ("enc".into(), MetaValue::Str("a\nb\n".into())),
                ])]),
            ),
            ("version".into(), MetaValue::Str("3.11.0".into())),
        ]);
        let flat = flatten(&v);
        assert_eq!(flat[0].0, "age__list_0__map_recipient");
        let strings: Vec<(String, String)> = flat
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    flat_value_string(v).unwrap().replace("\\n", "\n"),
                )
            })
            .collect();
        assert_eq!(unflatten(&strings), v);
    }
}
