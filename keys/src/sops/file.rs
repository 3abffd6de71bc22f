//! The public entry points: encrypt a file, open (decrypt) one, change it, seal it again.

use rand::{CryptoRng, RngCore};

use super::cipher::{DataKey, IvStash, Plain, Scalar, ValueCipher};
use super::error::{Result, SopsError};
use super::flat;
use super::gofmt::GoTime;
use super::keysource::{self, Identities, Recipient};
use super::metadata::{MasterKey, MetaValue, Metadata, WRITTEN_VERSION};
use super::rules::EncryptionRule;
use super::tree::{self, MapItem, Node, PlainTree, SealedTree, TreeCrypto};
use super::yaml::{self, YamlText};

/// The five sops stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.yaml` / `.yml`
    Yaml,
    /// `.json`
    Json,
    /// `.env`
    Dotenv,
    /// `.ini`
    Ini,
    /// anything else: the whole file is one value
    Binary,
}

impl Format {
    /// sops' `FormatForPath`: by extension, binary otherwise.
    pub fn from_path(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".env") {
            Format::Dotenv
        } else if lower.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    /// `--input-type` / `--output-type` names.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "yaml" => Format::Yaml,
            "json" => Format::Json,
            "dotenv" => Format::Dotenv,
            "ini" => Format::Ini,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Ini => "INI",
            Format::Binary => "binary",
        }
    }
}

/// Store settings (`stores:` in `.sops.yaml`, `--indent`).
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// YAML indentation of newly written blocks (sops default 4).
    pub yaml_indent: usize,
    /// JSON indentation in spaces; `None` = tab (sops default).
    pub json_indent: Option<usize>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            yaml_indent: 4,
            json_indent: None,
        }
    }
}

impl StoreOptions {
    fn json_indent(&self) -> String {
        self.json_indent
            .map_or_else(|| "\t".to_string(), |n| " ".repeat(n))
    }
}

/// What to encrypt with and how.
#[derive(Clone, Debug, Default)]
pub struct EncryptOptions {
    /// Key groups of recipients; one group unless Shamir is wanted.
    pub key_groups: Vec<Vec<Recipient>>,
    /// Shamir threshold (0 = number of groups).
    pub shamir_threshold: usize,
    /// The encryption rule (`None` = `unencrypted_suffix: _unencrypted`).
    pub rule: Option<EncryptionRule>,
    /// MAC only over encrypted values.
    pub mac_only_encrypted: bool,
    /// Store settings.
    pub store: StoreOptions,
}

/// The parsed plaintext in a given format, able to re-render itself.
enum PlainDoc {
    /// YAML keeps its text for byte-preserving output.
    Yaml(String),
    /// Other formats keep only the tree.
    Tree,
}

fn parse_plain(
    input: &[u8],
    format: Format,
    store: &StoreOptions,
) -> Result<(PlainTree, PlainDoc)> {
    if input.is_empty() {
        return Err(SopsError::EmptyInput);
    }
    match format {
        Format::Yaml => {
            let text = std::str::from_utf8(input).map_err(|_| SopsError::Parse {
                format: "YAML",
                reason: "input is not UTF-8".into(),
            })?;
            let (_, tree) = YamlText::parse_plain(text, store.yaml_indent)?;
            Ok((tree, PlainDoc::Yaml(text.to_string())))
        }
        Format::Json => Ok((vec![flat::json_parse_plain(input)?], PlainDoc::Tree)),
        Format::Binary => Ok((vec![flat::binary_parse_plain(input)], PlainDoc::Tree)),
        Format::Dotenv => {
            let (items, meta) = flat::dotenv_parse(input, false)?;
            if !meta.is_empty() {
                return Err(SopsError::AlreadyEncrypted);
            }
            Ok((
                vec![sealed_clear_to_plain(Node::Map(items))],
                PlainDoc::Tree,
            ))
        }
        Format::Ini => {
            let (tree, meta) = flat::ini_parse(input, false)?;
            if meta.is_some() {
                return Err(SopsError::AlreadyEncrypted);
            }
            Ok((vec![sealed_clear_to_plain(tree)], PlainDoc::Tree))
        }
    }
}

fn sealed_clear_to_plain(n: Node<tree::Sealed>) -> Node<Plain> {
    match n {
        Node::Map(items) => Node::Map(
            items
                .into_iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k, sealed_clear_to_plain(v)),
                    MapItem::Comment(tree::Sealed::Clear(p), s) => MapItem::Comment(p, s),
                    MapItem::Comment(tree::Sealed::Enc(e), s) => {
                        MapItem::Comment(Plain::Comment(e.to_string()), s)
                    }
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.into_iter().map(sealed_clear_to_plain).collect()),
        Node::Leaf(tree::Sealed::Clear(p), s) => Node::Leaf(p, s),
        Node::Leaf(tree::Sealed::Enc(e), s) => {
            Node::Leaf(Plain::Value(Scalar::Str(e.to_string())), s)
        }
        Node::Comment(tree::Sealed::Clear(p), s) => Node::Comment(p, s),
        Node::Comment(tree::Sealed::Enc(e), s) => Node::Comment(Plain::Comment(e.to_string()), s),
        Node::Null(s) => Node::Null(s),
    }
}

/// Render encrypted output for a sealed tree.
fn emit_encrypted(
    format: Format,
    store: &StoreOptions,
    plain: &PlainTree,
    doc: &PlainDoc,
    sealed: &SealedTree,
    meta: &Metadata,
) -> Result<Vec<u8>> {
    let mv = meta.to_value();
    Ok(match (format, doc) {
        (Format::Yaml, PlainDoc::Yaml(text)) => {
            let (y, _) = YamlText::parse_plain(text, store.yaml_indent)?;
            y.render_encrypted(plain, sealed, &mv)?.into_bytes()
        }
        (Format::Yaml, PlainDoc::Tree) => {
            return Err(SopsError::Emit {
                format: "YAML",
                reason: "internal: YAML documents always keep their text".into(),
            });
        }
        (Format::Json | Format::Binary, _) => {
            flat::json_document(&sealed[0], Some(&mv), &store.json_indent())?.into_bytes()
        }
        (Format::Dotenv, _) => flat::dotenv_emit(&sealed[0], Some(&mv))?.into_bytes(),
        (Format::Ini, _) => flat::ini_emit(&sealed[0], Some(&mv))?.into_bytes(),
    })
}

/// Render a plain tree in a format (`--output-type`), sops-style.
pub fn emit_plain_as(plain: &PlainTree, format: Format, store: &StoreOptions) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Json => {
            if plain.len() != 1 {
                return Err(SopsError::Emit {
                    format: "JSON",
                    reason: "a multi-document file cannot be written as JSON".into(),
                });
            }
            flat::json_document(&plain[0], None, &store.json_indent())?.into_bytes()
        }
        Format::Binary => flat::binary_emit_plain(&plain[0])?,
        Format::Dotenv => flat::dotenv_emit(&plain[0], None)?.into_bytes(),
        Format::Ini => flat::ini_emit(&plain[0], None)?.into_bytes(),
        Format::Yaml => {
            let mut out = String::new();
            for (i, d) in plain.iter().enumerate() {
                if i > 0 {
                    out.push_str("---\n");
                }
                out.push_str(&yaml::render_plain_tree(d, store.yaml_indent));
            }
            out.into_bytes()
        }
    })
}

/// Re-render a plaintext file in another store's format, as sops does for `encrypt
/// --input-type A --output-type B` (the result is then encrypted in format B).
pub fn convert_plain(
    input: &[u8],
    from: Format,
    to: Format,
    store: &StoreOptions,
) -> Result<Vec<u8>> {
    let (plain, _) = parse_plain(input, from, store)?;
    emit_plain_as(&plain, to, store)
}

fn now_metadata_time(now_unix: i64) -> GoTime {
    GoTime::from_unix_utc(now_unix)
}

/// Encrypt a plaintext file. `now_unix` becomes `lastmodified` (the MAC's AAD).
pub fn encrypt(
    input: &[u8],
    format: Format,
    opts: &EncryptOptions,
    now_unix: i64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Vec<u8>> {
    if format == Format::Yaml && !input.is_empty() {
        // Parsed once: the same positions are used to splice the encrypted values in (the
        // parse is most of the cost on large files).
        let text = std::str::from_utf8(input).map_err(|_| SopsError::Parse {
            format: "YAML",
            reason: "input is not UTF-8".into(),
        })?;
        let (y, plain) = YamlText::parse_plain(text, opts.store.yaml_indent)?;
        let (sealed, meta) = encrypt_tree(&plain, format, opts, now_unix, rng)?;
        return Ok(y
            .render_encrypted(&plain, &sealed, &meta.to_value())?
            .into_bytes());
    }
    let (plain, doc) = parse_plain(input, format, &opts.store)?;
    let (sealed, meta) = encrypt_tree(&plain, format, opts, now_unix, rng)?;
    emit_encrypted(format, &opts.store, &plain, &doc, &sealed, &meta)
}

/// A fresh data key wrapped for the recipients, the metadata, and the sealed tree.
fn encrypt_tree(
    plain: &PlainTree,
    format: Format,
    opts: &EncryptOptions,
    now_unix: i64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(SealedTree, Metadata)> {
    let key = DataKey::generate(rng);
    let (groups, threshold) =
        keysource::wrap_data_key(&key, &opts.key_groups, opts.shamir_threshold, rng)?;
    // The binary store ignores rules (sops ≥ 3.11 warns and encrypts the blob).
    let rule = if format == Format::Binary {
        None
    } else {
        opts.rule.clone()
    };
    let mut meta = Metadata {
        key_groups: groups,
        shamir_threshold: threshold,
        last_modified: now_metadata_time(now_unix),
        mac: String::new(),
        rule: rule.unwrap_or_default(),
        mac_only_encrypted: opts.mac_only_encrypted,
        version: WRITTEN_VERSION.to_string(),
    };
    let sealed = seal_tree(plain, &key, &mut meta, None, now_unix, rng)?;
    Ok((sealed, meta))
}

/// Encrypt values and the MAC; sets `lastmodified` and `mac` in `meta`.
fn seal_tree(
    plain: &PlainTree,
    key: &DataKey,
    meta: &mut Metadata,
    stash: Option<&IvStash>,
    now_unix: i64,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<SealedTree> {
    let cipher = ValueCipher::new(key);
    let crypto = TreeCrypto {
        cipher: &cipher,
        rule: &meta.rule,
        mac_only_encrypted: meta.mac_only_encrypted,
    };
    let (sealed, mac) = tree::seal(plain, &crypto, stash, rng)?;
    meta.last_modified = now_metadata_time(now_unix);
    let aad = meta.last_modified.format_rfc3339();
    meta.mac = cipher
        .encrypt(&Plain::Value(Scalar::Str(mac)), &aad, stash, rng)
        .expect("MAC is not empty")
        .to_string();
    Ok(sealed)
}

fn parse_encrypted(
    input: &[u8],
    format: Format,
    store: &StoreOptions,
) -> Result<(SealedTree, MetaValue)> {
    match format {
        Format::Yaml => {
            let text = std::str::from_utf8(input).map_err(|_| SopsError::Parse {
                format: "YAML",
                reason: "input is not UTF-8".into(),
            })?;
            let (_, sealed, meta) = YamlText::parse_encrypted(text, store.yaml_indent)?;
            Ok((sealed, meta))
        }
        Format::Json | Format::Binary => {
            let (t, m) = flat::json_parse_encrypted(input)?;
            Ok((vec![t], m))
        }
        Format::Dotenv => {
            let (items, meta) = flat::dotenv_parse(input, true)?;
            if meta.is_empty() {
                return Err(SopsError::MetadataNotFound);
            }
            Ok((vec![Node::Map(items)], super::metadata::unflatten(&meta)))
        }
        Format::Ini => {
            let (tree, meta) = flat::ini_parse(input, true)?;
            let meta = meta.ok_or(SopsError::MetadataNotFound)?;
            Ok((vec![tree], super::metadata::unflatten(&meta)))
        }
    }
}

/// `filestatus`: metadata present with non-empty `version` and `mac`.
pub fn is_encrypted(input: &[u8], format: Format) -> bool {
    encryption_status(input, format).unwrap_or(false)
}

/// `filestatus` as sops computes it: `Ok(false)` for a file without metadata (or with an
/// empty `version`/`mac`), an error for a file that does not parse or whose metadata is
/// malformed (sops fails on those too).
pub fn encryption_status(input: &[u8], format: Format) -> Result<bool> {
    match parse_encrypted(input, format, &StoreOptions::default()) {
        Err(SopsError::MetadataNotFound) => Ok(false),
        Err(e) => Err(e),
        Ok((_, m)) => {
            let m = Metadata::from_value(&m)?;
            Ok(!m.version.is_empty() && !m.mac.is_empty())
        }
    }
}

/// A decrypted file, ready to be read, changed and sealed again with the same data key.
pub struct OpenedFile {
    format: Format,
    store: StoreOptions,
    metadata: Metadata,
    key: DataKey,
    stash: IvStash,
    plain: PlainTree,
    doc: PlainDoc,
    plaintext: Vec<u8>,
    positions_stale: bool,
}

impl std::fmt::Debug for OpenedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenedFile({:?}, <plaintext redacted>)", self.format)
    }
}

impl OpenedFile {
    /// Decrypt a file. Order and exit codes follow `common.DecryptTree`: data key (128),
    /// values (25), MAC (51, skipped with `ignore_mac`).
    pub fn open(
        input: &[u8],
        format: Format,
        ids: &Identities,
        ignore_mac: bool,
        store: StoreOptions,
    ) -> Result<OpenedFile> {
        Self::open_inner(
            input,
            format,
            ignore_mac,
            store,
            |m| keysource::recover_data_key(m, ids),
            true,
        )
    }

    /// Decrypt with an already known data key (key services, and cipher-level tests against
    /// files whose master keys are not available, e.g. PGP-only upstream fixtures).
    pub fn open_with_data_key(
        input: &[u8],
        format: Format,
        key: &DataKey,
        ignore_mac: bool,
        store: StoreOptions,
    ) -> Result<OpenedFile> {
        Self::open_inner(input, format, ignore_mac, store, |_| Ok(key.clone()), true)
    }

    /// Decrypt a file, asking `get_key` for the data key once the metadata has been read.
    /// Lets a caller look for identities only where this file needs them (e.g. SSH keys only
    /// for SSH recipients, a key command once per recipient), typically ending in
    /// [`super::keysource::recover_data_key`].
    pub fn open_with(
        input: &[u8],
        format: Format,
        ignore_mac: bool,
        store: StoreOptions,
        get_key: impl FnOnce(&Metadata) -> Result<DataKey>,
    ) -> Result<OpenedFile> {
        Self::open_inner(input, format, ignore_mac, store, get_key, true)
    }

    /// Like [`OpenedFile::open_with`], for reading only (`decrypt`, `exec-*`): the IVs of the
    /// values are not remembered, which saves a copy of every plaintext. Sealing such a file
    /// again works but gives every value a new IV (a larger diff); use `open_with` to edit.
    pub fn open_for_reading(
        input: &[u8],
        format: Format,
        ignore_mac: bool,
        store: StoreOptions,
        get_key: impl FnOnce(&Metadata) -> Result<DataKey>,
    ) -> Result<OpenedFile> {
        Self::open_inner(input, format, ignore_mac, store, get_key, false)
    }

    fn open_inner(
        input: &[u8],
        format: Format,
        ignore_mac: bool,
        store: StoreOptions,
        get_key: impl FnOnce(&Metadata) -> Result<DataKey>,
        keep_ivs: bool,
    ) -> Result<OpenedFile> {
        // YAML is parsed once; its positions are reused to render the plaintext.
        let (sealed, meta_value, yaml) = if format == Format::Yaml {
            let text = std::str::from_utf8(input).map_err(|_| SopsError::Parse {
                format: "YAML",
                reason: "input is not UTF-8".into(),
            })?;
            let (y, sealed, meta) = YamlText::parse_encrypted(text, store.yaml_indent)?;
            (sealed, meta, Some(y))
        } else {
            let (sealed, meta) = parse_encrypted(input, format, &store)?;
            (sealed, meta, None)
        };
        let metadata = Metadata::from_value(&meta_value)?;
        let key = get_key(&metadata)?;
        let cipher = ValueCipher::new(&key);
        let mut stash = IvStash::default();
        let rule = if format == Format::Binary {
            EncryptionRule::default()
        } else {
            metadata.rule.clone()
        };
        let crypto = TreeCrypto {
            cipher: &cipher,
            rule: &rule,
            mac_only_encrypted: metadata.mac_only_encrypted,
        };
        let (plain, computed) = tree::open(&sealed, &crypto, keep_ivs.then_some(&mut stash))?;
        let aad = metadata.last_modified.format_rfc3339();
        let stored = super::cipher::EncryptedValue::parse(&metadata.mac)
            .and_then(|e| cipher.decrypt(&e, &aad, Some(&mut stash)));
        if !ignore_mac {
            match stored {
                Err(e) => return Err(SopsError::MacUndecryptable(e)),
                Ok(Plain::Value(Scalar::Str(s))) if s == computed => {}
                Ok(Plain::Value(Scalar::Str(s))) => {
                    return Err(SopsError::MacMismatch {
                        stored: if s.is_empty() { "no MAC".into() } else { s },
                        computed,
                    });
                }
                Ok(_) => return Err(SopsError::MacUndecryptable("MAC is not a string".into())),
            }
        }
        let plain: PlainTree = plain.into_iter().map(comments_from_leaves).collect();
        let (plaintext, doc, positions_stale) = match (format, yaml) {
            (Format::Yaml, Some(y)) => {
                let out = y.render_plain(&sealed, &plain)?;
                // The tree's text positions still refer to the encrypted text; they are
                // re-read from the plaintext only when sealing needs them.
                (out.clone().into_bytes(), PlainDoc::Yaml(out), true)
            }
            (other, _) => (emit_plain_as(&plain, other, &store)?, PlainDoc::Tree, false),
        };
        Ok(OpenedFile {
            format,
            store,
            metadata,
            key,
            stash,
            plain,
            doc,
            plaintext,
            positions_stale,
        })
    }

    /// Point the tree's text positions at the plaintext (needed before splicing into it).
    fn refresh_positions(&mut self) -> Result<()> {
        if self.positions_stale
            && let PlainDoc::Yaml(text) = &self.doc
        {
            let (_, reparsed) = YamlText::parse_plain(text, self.store.yaml_indent)?;
            self.plain = reparsed;
        }
        self.positions_stale = false;
        Ok(())
    }

    /// The decrypted file in its own format.
    pub fn plaintext(&self) -> &[u8] {
        &self.plaintext
    }

    /// The decrypted tree.
    pub fn tree(&self) -> &PlainTree {
        &self.plain
    }

    /// The file's metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Emit the decrypted tree in another format (`--output-type`).
    pub fn emit_as(&self, format: Format) -> Result<Vec<u8>> {
        if format == self.format {
            return Ok(self.plaintext.clone());
        }
        emit_plain_as(&self.plain, format, &self.store)
    }

    /// [`OpenedFile::emit_as`] for a caller done with the file (`decrypt`): in the file's own
    /// format the plaintext moves out instead of being copied.
    pub fn into_output(self, format: Format) -> Result<Vec<u8>> {
        if format == self.format {
            return Ok(self.plaintext);
        }
        emit_plain_as(&self.plain, format, &self.store)
    }

    /// Replace the plaintext (after `edit`); it must parse in the file's format. Returns
    /// whether anything changed.
    pub fn replace_plaintext(&mut self, new: &[u8]) -> Result<bool> {
        if new == self.plaintext.as_slice() {
            return Ok(false);
        }
        let (plain, doc) = parse_plain(new, self.format, &self.store)?;
        self.plain = plain;
        self.doc = doc;
        self.plaintext = new.to_vec();
        self.positions_stale = false;
        Ok(true)
    }

    /// Encrypt again with the same data key; unchanged values keep their IVs (and so their
    /// exact ciphertext). `lastmodified` becomes `now_unix`.
    pub fn seal(&mut self, now_unix: i64, rng: &mut (impl RngCore + CryptoRng)) -> Result<Vec<u8>> {
        self.refresh_positions()?;
        let sealed = seal_tree(
            &self.plain,
            &self.key,
            &mut self.metadata,
            Some(&self.stash),
            now_unix,
            rng,
        )?;
        emit_encrypted(
            self.format,
            &self.store,
            &self.plain,
            &self.doc,
            &sealed,
            &self.metadata,
        )
    }

    /// `rotate`: a new data key for the same (age) recipients, plus `add`, minus `remove`.
    /// Keys of kinds sealbox cannot wrap (PGP, KMS, …) make this fail rather than be dropped.
    pub fn rotate(
        &mut self,
        add: &[Recipient],
        remove: &[String],
        now_unix: i64,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<u8>> {
        let mut groups: Vec<Vec<Recipient>> = Vec::new();
        for g in &self.metadata.key_groups {
            let mut rs = Vec::new();
            for k in g {
                match k {
                    MasterKey::Age { recipient, .. } => {
                        if !remove.iter().any(|r| r.trim() == recipient) {
                            rs.push(Recipient::parse(recipient)?);
                        }
                    }
                    other => {
                        return Err(SopsError::Conflict(format!(
                            "cannot rotate: the file has a {} master key, which sealbox cannot re-wrap",
                            other.describe()
                        )));
                    }
                }
            }
            groups.push(rs);
        }
        if let Some(first) = groups.first_mut() {
            for r in add {
                if !first.iter().any(|x| x.as_str() == r.as_str()) {
                    first.push(r.clone());
                }
            }
        }
        self.key = DataKey::generate(rng);
        self.stash = IvStash::default();
        let (kg, t) =
            keysource::wrap_data_key(&self.key, &groups, self.metadata.shamir_threshold, rng)?;
        self.metadata.key_groups = kg;
        self.metadata.shamir_threshold = t;
        self.seal(now_unix, rng)
    }

    /// `updatekeys`: wrap the *same* data key for new groups; values, MAC and `lastmodified`
    /// stay as they are.
    pub fn update_keys(
        &mut self,
        groups: &[Vec<Recipient>],
        threshold: usize,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<u8>> {
        self.refresh_positions()?;
        let (kg, t) = keysource::rewrap_data_key(&self.key, groups, threshold, rng)?;
        self.metadata.key_groups = kg;
        self.metadata.shamir_threshold = t;
        let now = self.metadata.last_modified;
        let sealed = {
            let cipher = ValueCipher::new(&self.key);
            let crypto = TreeCrypto {
                cipher: &cipher,
                rule: &self.metadata.rule,
                mac_only_encrypted: self.metadata.mac_only_encrypted,
            };
            let (sealed, _) = tree::seal(&self.plain, &crypto, Some(&self.stash), rng)?;
            sealed
        };
        self.metadata.last_modified = now;
        emit_encrypted(
            self.format,
            &self.store,
            &self.plain,
            &self.doc,
            &sealed,
            &self.metadata,
        )
    }

    /// Top-level scalar values as environment variables (`exec-env`).
    pub fn env_vars(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for d in &self.plain {
            if let Node::Map(items) = d {
                for i in items {
                    if let MapItem::Entry(k, Node::Leaf(Plain::Value(v), _)) = i {
                        out.push((k.clone(), super::path::scalar_text(v)));
                    }
                }
            }
        }
        out
    }

    /// `set`: put `value` at `path`. Returns whether the content changed: a JSON number
    /// equal to the integer already there is no change (sealbox writes it back as that
    /// integer, so `set --idempotent` must not rewrite the file for it).
    ///
    /// YAML keeps its layout: the value is written into the text where it changes (see
    /// [`yaml::splice`]); the other stores are re-rendered, as sops does.
    pub fn set(
        &mut self,
        path: &[super::path::PathStep],
        value: &serde_json::Value,
    ) -> Result<bool> {
        self.refresh_positions()?;
        let mut expected = self.plain.clone();
        super::path::set(&mut expected[0], path, value)?;
        let changed = !tree::same_content(&expected, &self.plain);
        if changed {
            let new = super::path::node_from_json(value);
            self.apply_change(expected, |text, indent| {
                yaml::splice::splice(text, indent, path, yaml::splice::Change::Set(&new))
            })?;
        }
        Ok(changed)
    }

    /// `unset`: remove the value at `path` (YAML: its lines only, the rest stays as it was).
    pub fn unset(&mut self, path: &[super::path::PathStep]) -> Result<()> {
        self.refresh_positions()?;
        let mut expected = self.plain.clone();
        super::path::unset(&mut expected[0], path)?;
        self.apply_change(expected, |text, indent| {
            yaml::splice::splice(text, indent, path, yaml::splice::Change::Unset)
        })
    }

    /// Adopt `expected` as the new tree. For YAML, first try the spliced text: it is used
    /// only if it parses back to exactly `expected` (values, types, comments and their
    /// order), so the splice can only ever save layout, never change content.
    fn apply_change(
        &mut self,
        expected: PlainTree,
        splice: impl FnOnce(&str, usize) -> Option<String>,
    ) -> Result<()> {
        if let PlainDoc::Yaml(text) = &self.doc
            && let Some(new_text) = splice(text, self.store.yaml_indent)
            && let Ok((_, reparsed)) = YamlText::parse_plain(&new_text, self.store.yaml_indent)
            && tree::same_content(&reparsed, &expected)
        {
            self.plaintext = new_text.clone().into_bytes();
            self.doc = PlainDoc::Yaml(new_text);
            self.plain = reparsed;
            self.positions_stale = false;
            return Ok(());
        }
        self.plain = expected;
        self.refresh_plaintext()
    }

    /// `--extract`: a scalar as raw text, a subtree in `format`.
    pub fn extract(&self, path: &[super::path::PathStep], format: Format) -> Result<Vec<u8>> {
        let node = super::path::get(&self.plain[0], path)?;
        match node {
            Node::Leaf(Plain::Value(v), _) => Ok(match v {
                Scalar::Str(s) => s.clone().into_bytes(),
                Scalar::BinStr(b) | Scalar::Bytes(b) => b.clone(),
                other => format!("{}\n", super::path::scalar_text(other)).into_bytes(),
            }),
            other => {
                let sub: PlainTree = vec![other.clone()];
                match format {
                    Format::Json => {
                        let mut s = String::new();
                        flat::json_node(&sub[0], &self.store.json_indent(), 0, &mut s)?;
                        s.push('\n');
                        Ok(s.into_bytes())
                    }
                    _ => Ok(yaml::render_plain_tree(&sub[0], self.store.yaml_indent).into_bytes()),
                }
            }
        }
    }

    fn refresh_plaintext(&mut self) -> Result<()> {
        // YAML: the changed tree is re-rendered; unchanged documents keep their text only
        // when nothing changed, so after `set`/`unset` the layout is sops-normalised.
        self.plaintext = emit_plain_as(&self.plain, self.format, &self.store)?;
        self.doc = match self.format {
            Format::Yaml => {
                PlainDoc::Yaml(String::from_utf8(self.plaintext.clone()).expect("UTF-8"))
            }
            _ => PlainDoc::Tree,
        };
        let (plain, _) = parse_plain(&self.plaintext, self.format, &self.store)?;
        self.plain = plain;
        self.positions_stale = false;
        Ok(())
    }

    /// The format name (for messages).
    pub fn format_name(&self) -> &'static str {
        self.format.name()
    }
}

/// sops 3.11 stores comments inside lists as encrypted list items; once decrypted they are
/// comments again.
fn comments_from_leaves(n: Node<Plain>) -> Node<Plain> {
    match n {
        Node::Map(items) => Node::Map(
            items
                .into_iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k, comments_from_leaves(v)),
                    c => c,
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.into_iter().map(comments_from_leaves).collect()),
        Node::Leaf(Plain::Comment(c), s) => Node::Comment(Plain::Comment(c), s),
        other => other,
    }
}
