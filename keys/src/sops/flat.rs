//! The JSON, binary, dotenv and INI stores.
//!
//! Unlike YAML these formats are re-emitted from the tree the way sops emits them (sops'
//! output for them is normalised anyway): JSON with Go's `json.Indent` layout and
//! `encoding/json` escaping, dotenv line by line, INI in go-ini's pretty format.

use std::collections::HashMap;

use base64::Engine;

use super::cipher::{EncryptedValue, Plain, Scalar};
use super::error::{Result, SopsError};
use super::gofmt;
use super::metadata::{self, MetaValue};
use super::tree::{MapItem, NO_SITE, Node, Sealed};
use crate::limits::{Limits, check_json, check_lines};

// ---- JSON ------------------------------------------------------------------------------

fn json_err(reason: impl Into<String>) -> SopsError {
    SopsError::Parse {
        format: "JSON",
        reason: reason.into(),
    }
}

/// Builds a tree node straight from serde_json's token stream — no intermediate
/// `serde_json::Value` to allocate, hash and convert (most of the cost of reading a large
/// file). Object keys keep their order; a repeated key keeps its first position and takes
/// the last value (what `serde_json`'s order-preserving map did before).
struct NodeSeed<'a, V> {
    leaf: &'a dyn Fn(Scalar) -> V,
    enc: &'a dyn Fn(&str) -> Option<V>,
}

impl<V> Clone for NodeSeed<'_, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<V> Copy for NodeSeed<'_, V> {}

impl<'de, V> serde::de::DeserializeSeed<'de> for NodeSeed<'_, V> {
    type Value = Node<V>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Node<V>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, V> serde::de::Visitor<'de> for NodeSeed<'_, V> {
    type Value = Node<V>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> std::result::Result<Node<V>, E> {
        Ok(Node::Null(NO_SITE))
    }
    fn visit_bool<E>(self, b: bool) -> std::result::Result<Node<V>, E> {
        Ok(Node::Leaf((self.leaf)(Scalar::Bool(b)), NO_SITE))
    }
    // sops ≤ 3.12 decodes every JSON number as float64.
    fn visit_i64<E>(self, n: i64) -> std::result::Result<Node<V>, E> {
        Ok(Node::Leaf((self.leaf)(Scalar::Float(n as f64)), NO_SITE))
    }
    fn visit_u64<E>(self, n: u64) -> std::result::Result<Node<V>, E> {
        Ok(Node::Leaf((self.leaf)(Scalar::Float(n as f64)), NO_SITE))
    }
    fn visit_f64<E>(self, n: f64) -> std::result::Result<Node<V>, E> {
        Ok(Node::Leaf((self.leaf)(Scalar::Float(n)), NO_SITE))
    }
    fn visit_str<E>(self, s: &str) -> std::result::Result<Node<V>, E> {
        Ok(match (self.enc)(s) {
            Some(e) => Node::Leaf(e, NO_SITE),
            None => Node::Leaf((self.leaf)(Scalar::Str(s.to_string())), NO_SITE),
        })
    }
    fn visit_string<E>(self, s: String) -> std::result::Result<Node<V>, E> {
        Ok(match (self.enc)(&s) {
            Some(e) => Node::Leaf(e, NO_SITE),
            None => Node::Leaf((self.leaf)(Scalar::Str(s)), NO_SITE),
        })
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<Node<V>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(n) = seq.next_element_seed(self)? {
            items.push(n);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        map: A,
    ) -> std::result::Result<Node<V>, A::Error> {
        read_object(map, self, None)
    }
}

/// The entries of a JSON object, in order; a repeated key keeps its first position and takes
/// the last value. With `metadata`, a `sops` entry is taken out of the tree and read as a
/// plain JSON value into it instead (as tree leaves its integers would become floats).
fn read_object<'de, A: serde::de::MapAccess<'de>, V>(
    mut map: A,
    seed: NodeSeed<'_, V>,
    mut metadata: Option<&mut Option<serde_json::Value>>,
) -> std::result::Result<Node<V>, A::Error> {
    let mut items: Vec<MapItem<V>> = Vec::with_capacity(map.size_hint().unwrap_or(0));
    let mut seen: HashMap<String, usize> = HashMap::new();
    while let Some(key) = map.next_key::<String>()? {
        if let Some(slot) = metadata.as_deref_mut()
            && key == "sops"
        {
            *slot = Some(map.next_value()?);
            continue;
        }
        let value = map.next_value_seed(seed)?;
        match seen.get(&key) {
            Some(&i) => items[i] = MapItem::Entry(key, value),
            None => {
                seen.insert(key.clone(), items.len());
                items.push(MapItem::Entry(key, value));
            }
        }
    }
    Ok(Node::Map(items))
}

/// The top-level object: a [`NodeSeed`] map whose `sops` entry is kept apart.
struct DocumentSeed<'a, 'm, V> {
    node: NodeSeed<'a, V>,
    metadata: &'m mut Option<serde_json::Value>,
}

impl<'de, V> serde::de::DeserializeSeed<'de> for DocumentSeed<'_, '_, V> {
    type Value = Node<V>;
    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        d: D,
    ) -> std::result::Result<Node<V>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, V> serde::de::Visitor<'de> for DocumentSeed<'_, '_, V> {
    type Value = Node<V>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        map: A,
    ) -> std::result::Result<Node<V>, A::Error> {
        read_object(map, self.node, Some(self.metadata))
    }
}

/// A top-level JSON object read into a tree, after checking `limits` without building
/// anything; its `sops` entry, if any, comes back apart as a JSON value.
fn json_read_document<V>(
    input: &[u8],
    limits: &Limits,
    leaf: &dyn Fn(Scalar) -> V,
    enc: &dyn Fn(&str) -> Option<V>,
) -> Result<(Node<V>, Option<serde_json::Value>)> {
    check_json(input, limits).map_err(|source| SopsError::Limit {
        format: "JSON",
        source,
    })?;
    if input.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        // serde_json's message for malformed input, sops' for a valid non-object.
        serde_json::from_slice::<serde::de::IgnoredAny>(input)
            .map_err(|e| json_err(e.to_string()))?;
        return Err(json_err("Expected JSON object start"));
    }
    let mut metadata = None;
    let seed = DocumentSeed {
        node: NodeSeed { leaf, enc },
        metadata: &mut metadata,
    };
    let mut de = serde_json::Deserializer::from_slice(input);
    let tree = serde::de::DeserializeSeed::deserialize(seed, &mut de)
        .and_then(|n| de.end().map(|()| n))
        .map_err(|e| json_err(e.to_string()))?;
    Ok((tree, metadata))
}

/// JSON value → metadata value.
pub fn meta_from_json(v: &serde_json::Value) -> MetaValue {
    match v {
        serde_json::Value::Null => MetaValue::Null,
        serde_json::Value::Bool(b) => MetaValue::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or(MetaValue::Float(n.as_f64().unwrap_or(0.0)), MetaValue::Int),
        serde_json::Value::String(s) => MetaValue::Str(s.clone()),
        serde_json::Value::Array(a) => MetaValue::List(a.iter().map(meta_from_json).collect()),
        serde_json::Value::Object(m) => MetaValue::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), meta_from_json(v)))
                .collect(),
        ),
    }
}

/// Parse a plaintext JSON document.
pub fn json_parse_plain(input: &[u8]) -> Result<Node<Plain>> {
    let (tree, meta) = json_read_document(input, &Limits::DEFAULT, &Plain::Value, &|_| None)?;
    if meta.is_some() {
        return Err(SopsError::AlreadyEncrypted);
    }
    Ok(tree)
}

/// Parse an encrypted JSON document into the sealed tree and its metadata block.
pub fn json_parse_encrypted(input: &[u8]) -> Result<(Node<Sealed>, MetaValue)> {
    let enc = |s: &str| EncryptedValue::parse_exact(s).map(Sealed::Enc);
    let (tree, meta) = json_read_document(
        input,
        &Limits::SOPS_ENCRYPTED,
        &|s| Sealed::Clear(Plain::Value(s)),
        &enc,
    )?;
    let meta = meta.ok_or(SopsError::MetadataNotFound)?;
    Ok((tree, meta_from_json(&meta)))
}

/// Bytes that may need escaping in Go's `encoding/json` (controls, `"`, `\\`, `<`, `>`, `&`,
/// and 0xE2, the first byte of U+2028/U+2029); everything else is copied as it is.
const JSON_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'&' as usize] = true;
    t[0xE2] = true;
    t
};

/// Go's `encoding/json` string encoding (HTML-safe).
pub fn go_json_string(s: &str, out: &mut String) {
    // Runs of bytes that need no escaping are copied at once (values are mostly such runs;
    // this is the hot loop of writing a large JSON file).
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !JSON_SPECIAL[b as usize] {
            i += 1;
            continue;
        }
        let (escape, len): (Option<&str>, usize) = match b {
            b'"' => (Some("\\\""), 1),
            b'\\' => (Some("\\\\"), 1),
            b'\n' => (Some("\\n"), 1),
            b'\r' => (Some("\\r"), 1),
            b'\t' => (Some("\\t"), 1),
            0x08 => (Some("\\b"), 1),
            0x0c => (Some("\\f"), 1),
            b'<' => (Some("\\u003c"), 1),
            b'>' => (Some("\\u003e"), 1),
            b'&' => (Some("\\u0026"), 1),
            // U+2028 / U+2029 (E2 80 A8 / E2 80 A9 in UTF-8)
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => {
                (Some("\\u2028"), 3)
            }
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => {
                (Some("\\u2029"), 3)
            }
            b if b < 0x20 => (None, 1),
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[run_start..i]);
        match escape {
            Some(e) => out.push_str(e),
            None => {
                use std::fmt::Write as _;
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        i += len;
        run_start = i;
    }
    out.push_str(&s[run_start..]);
    out.push('"');
}

/// How a scalar is written in JSON by sops (`json.Marshal`).
pub fn json_scalar(v: &Scalar, out: &mut String) -> Result<()> {
    match v {
        Scalar::Str(s) => go_json_string(s, out),
        Scalar::BinStr(b) => go_json_string(&String::from_utf8_lossy(b), out),
        Scalar::Int(i) => out.push_str(&i.to_string()),
        Scalar::Float(f) => {
            out.push_str(
                &gofmt::format_float_json(*f).ok_or_else(|| SopsError::Emit {
                    format: "JSON",
                    reason: format!("json: unsupported value: {}", gofmt::format_float_f(*f)),
                })?,
            )
        }
        Scalar::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Scalar::Time(t) => go_json_string(&t.format_rfc3339_nano(), out),
        Scalar::Bytes(b) => {
            go_json_string(&base64::engine::general_purpose::STANDARD.encode(b), out)
        }
    }
    Ok(())
}

/// Something that can be written as a JSON leaf.
pub trait JsonLeaf {
    /// Write the leaf; comments return `Ok(false)` and are skipped.
    fn write_json(&self, out: &mut String) -> Result<bool>;
}

impl JsonLeaf for Plain {
    fn write_json(&self, out: &mut String) -> Result<bool> {
        match self {
            Plain::Value(v) => json_scalar(v, out).map(|_| true),
            Plain::Comment(_) => Ok(false),
        }
    }
}

impl JsonLeaf for Sealed {
    fn write_json(&self, out: &mut String) -> Result<bool> {
        match self {
            Sealed::Enc(e) if e.type_tag() == "comment" => Ok(false),
            Sealed::Enc(e) => {
                // `ENC[…]` holds only base64, `:`, `,` and letters: nothing to escape.
                out.push('"');
                e.write_to(out);
                out.push('"');
                Ok(true)
            }
            Sealed::Clear(p) => p.write_json(out),
        }
    }
}

fn newline(out: &mut String, indent: &str, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str(indent);
    }
}

/// Write a node in `json.Indent` layout.
pub fn json_node<V: JsonLeaf>(
    n: &Node<V>,
    indent: &str,
    depth: usize,
    out: &mut String,
) -> Result<()> {
    match n {
        Node::Null(_) => out.push_str("null"),
        Node::Leaf(v, _) => {
            if !v.write_json(out)? {
                out.push_str("null");
            }
        }
        Node::Comment(..) => {}
        Node::Map(items) => {
            let entries: Vec<(&String, &Node<V>)> = items
                .iter()
                .filter_map(|i| match i {
                    MapItem::Entry(k, v) => Some((k, v)),
                    MapItem::Comment(..) => None,
                })
                .collect();
            if entries.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                go_json_string(k, out);
                out.push_str(": ");
                json_node(v, indent, depth + 1, out)?;
            }
            newline(out, indent, depth);
            out.push('}');
        }
        Node::Seq(items) => {
            let items: Vec<&Node<V>> = items.iter().filter(|i| !is_comment(i)).collect();
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, depth + 1);
                json_node(v, indent, depth + 1, out)?;
            }
            newline(out, indent, depth);
            out.push(']');
        }
    }
    Ok(())
}

fn is_comment<V: JsonLeaf>(n: &Node<V>) -> bool {
    match n {
        Node::Comment(..) => true,
        Node::Leaf(v, _) => {
            let mut s = String::new();
            matches!(v.write_json(&mut s), Ok(false))
        }
        _ => false,
    }
}

/// `json_node` for a whole document plus an optional metadata entry, with trailing newline.
pub fn json_document<V: JsonLeaf>(
    n: &Node<V>,
    meta: Option<&MetaValue>,
    indent: &str,
) -> Result<String> {
    let mut out = String::new();
    match meta {
        None => json_node(n, indent, 0, &mut out)?,
        Some(meta) => {
            let Node::Map(items) = n else {
                unreachable!("documents are mappings")
            };
            let mut with_meta: Vec<MapItem<JsonOrMeta<'_, V>>> = items
                .iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k.clone(), wrap(v)),
                    MapItem::Comment(_, s) => MapItem::Comment(JsonOrMeta::Skip, *s),
                })
                .collect();
            with_meta.push(MapItem::Entry("sops".into(), meta_node(meta)));
            json_node(&Node::Map(with_meta), indent, 0, &mut out)?;
        }
    }
    out.push('\n');
    Ok(out)
}

enum JsonOrMeta<'a, V> {
    Leaf(&'a V),
    Meta(MetaValue),
    Skip,
}

impl<V: JsonLeaf> JsonLeaf for JsonOrMeta<'_, V> {
    fn write_json(&self, out: &mut String) -> Result<bool> {
        match self {
            JsonOrMeta::Leaf(v) => v.write_json(out),
            JsonOrMeta::Skip => Ok(false),
            JsonOrMeta::Meta(m) => {
                match m {
                    MetaValue::Str(s) => go_json_string(s, out),
                    MetaValue::Int(i) => out.push_str(&i.to_string()),
                    MetaValue::Float(f) => {
                        out.push_str(&gofmt::format_float_json(*f).unwrap_or_default())
                    }
                    MetaValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                    _ => out.push_str("null"),
                }
                Ok(true)
            }
        }
    }
}

fn wrap<V>(n: &Node<V>) -> Node<JsonOrMeta<'_, V>> {
    match n {
        Node::Map(items) => Node::Map(
            items
                .iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k.clone(), wrap(v)),
                    MapItem::Comment(_, s) => MapItem::Comment(JsonOrMeta::Skip, *s),
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.iter().map(wrap).collect()),
        Node::Leaf(v, s) => Node::Leaf(JsonOrMeta::Leaf(v), *s),
        Node::Comment(_, s) => Node::Comment(JsonOrMeta::Skip, *s),
        Node::Null(s) => Node::Null(*s),
    }
}

fn meta_node<'a, V>(m: &MetaValue) -> Node<JsonOrMeta<'a, V>> {
    match m {
        MetaValue::Map(items) => Node::Map(
            items
                .iter()
                .map(|(k, v)| MapItem::Entry(k.clone(), meta_node(v)))
                .collect(),
        ),
        MetaValue::List(l) => Node::Seq(l.iter().map(meta_node).collect()),
        MetaValue::Null => Node::Null(NO_SITE),
        other => Node::Leaf(JsonOrMeta::Meta(other.clone()), NO_SITE),
    }
}

// ---- binary ----------------------------------------------------------------------------

/// The binary store's tree: one string leaf `data` holding the whole input.
pub fn binary_parse_plain(input: &[u8]) -> Node<Plain> {
    let v = match std::str::from_utf8(input) {
        Ok(s) => Scalar::Str(s.to_string()),
        Err(_) => Scalar::BinStr(input.to_vec()),
    };
    Node::Map(vec![MapItem::Entry(
        "data".into(),
        Node::Leaf(Plain::Value(v), NO_SITE),
    )])
}

/// The raw bytes of a decrypted binary document.
pub fn binary_emit_plain(n: &Node<Plain>) -> Result<Vec<u8>> {
    let Node::Map(items) = n else {
        unreachable!("documents are mappings")
    };
    for i in items {
        if let MapItem::Entry(k, Node::Leaf(Plain::Value(v), _)) = i
            && k == "data"
        {
            return match v {
                Scalar::Str(s) => Ok(s.as_bytes().to_vec()),
                Scalar::BinStr(b) | Scalar::Bytes(b) => Ok(b.clone()),
                _ => Err(SopsError::Emit {
                    format: "binary",
                    reason: "'data' key in tree does not have a string value".into(),
                }),
            };
        }
    }
    Err(SopsError::Emit {
        format: "binary",
        reason: "no binary data found in tree".into(),
    })
}

// ---- dotenv ----------------------------------------------------------------------------

/// Text of a dotenv value as sops writes it (`stores.ValToString`, newlines escaped).
fn dotenv_value(v: &Scalar) -> String {
    match v {
        Scalar::Str(s) => s.replace('\n', "\\n"),
        Scalar::BinStr(b) | Scalar::Bytes(b) => String::from_utf8_lossy(b).replace('\n', "\\n"),
        other => ini_value(other),
    }
}

/// A value as INI text: like dotenv but newlines stay newlines (the INI writer puts such a
/// value in `"""…"""`, as go-ini does; escaping them as `\n` changed the value).
fn ini_value(v: &Scalar) -> String {
    match v {
        Scalar::Str(s) => s.clone(),
        Scalar::BinStr(b) | Scalar::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => {
            let g = gofmt::format_float_yaml(*f).to_uppercase();
            if g.contains('.') || g.contains('E') {
                g
            } else {
                format!("{f:.1}")
            }
        }
        Scalar::Bool(b) => b.to_string(),
        Scalar::Time(t) => t.format_rfc3339(),
    }
}

/// Flattened `key = value` metadata lines (prefix removed, `\n` decoded).
pub type FlatMetadata = Vec<(String, String)>;

/// Parse dotenv lines (`stores/dotenv/store.go`).
pub fn dotenv_parse(input: &[u8], sealed: bool) -> Result<(Vec<MapItem<Sealed>>, FlatMetadata)> {
    let text = String::from_utf8_lossy(input);
    check_lines(&text, flat_limits(sealed)).map_err(|source| SopsError::Limit {
        format: "dotenv",
        source,
    })?;
    let mut items = Vec::new();
    let mut meta = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            let v = match EncryptedValue::parse_exact(c).filter(|_| sealed) {
                Some(e) => Sealed::Enc(e),
                None => Sealed::Clear(Plain::Comment(c.into())),
            };
            items.push(MapItem::Comment(v, NO_SITE));
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(SopsError::Parse {
                format: "dotenv",
                reason: format!("invalid dotenv input line {} (expected KEY=VALUE)", i + 1),
            });
        };
        if let Some(mk) = k.strip_prefix("sops_") {
            meta.push((mk.to_string(), v.replace("\\n", "\n")));
            continue;
        }
        let value = v.replace("\\n", "\n");
        // Whether a value that looks encrypted must be is for the rules to say (a clear
        // `KEY_unencrypted=ENC[…` is kept verbatim, as sops does).
        let leaf = match EncryptedValue::parse_exact(&value).filter(|_| sealed) {
            Some(e) => Sealed::Enc(e),
            None => Sealed::Clear(Plain::Value(Scalar::Str(value))),
        };
        items.push(MapItem::Entry(k.to_string(), Node::Leaf(leaf, NO_SITE)));
    }
    metadata::check_flat(&meta, flat_limits(sealed))?;
    Ok((items, meta))
}

/// Plaintext or encrypted-input limits (see [`Limits::SOPS_ENCRYPTED`]).
fn flat_limits(sealed: bool) -> &'static Limits {
    if sealed {
        &Limits::SOPS_ENCRYPTED
    } else {
        &Limits::DEFAULT
    }
}

/// Something that can be written as a flat (dotenv/INI) value.
pub trait FlatLeaf {
    /// The value text (`None` for comments); comment text via `comment()`.
    fn flat(&self) -> Option<String>;
    /// Comment text if this is a comment.
    fn comment(&self) -> Option<String>;
    /// The value text for the INI store (`None` for comments).
    fn ini(&self) -> Option<String>;
}

impl FlatLeaf for Plain {
    fn flat(&self) -> Option<String> {
        match self {
            Plain::Value(v) => Some(dotenv_value(v)),
            Plain::Comment(_) => None,
        }
    }
    fn comment(&self) -> Option<String> {
        match self {
            Plain::Comment(c) => Some(c.clone()),
            Plain::Value(_) => None,
        }
    }
    fn ini(&self) -> Option<String> {
        match self {
            Plain::Value(v) => Some(ini_value(v)),
            Plain::Comment(_) => None,
        }
    }
}

impl FlatLeaf for Sealed {
    fn flat(&self) -> Option<String> {
        match self {
            Sealed::Enc(e) => Some(e.to_string()),
            Sealed::Clear(p) => p.flat(),
        }
    }
    fn comment(&self) -> Option<String> {
        match self {
            Sealed::Enc(e) => Some(e.to_string()),
            Sealed::Clear(p) => p.comment(),
        }
    }
    fn ini(&self) -> Option<String> {
        match self {
            Sealed::Enc(e) => Some(e.to_string()),
            Sealed::Clear(p) => p.ini(),
        }
    }
}

/// Emit a dotenv document (and the flattened metadata, sorted, when encrypted).
pub fn dotenv_emit<V: FlatLeaf>(n: &Node<V>, meta: Option<&MetaValue>) -> Result<String> {
    let Node::Map(items) = n else {
        unreachable!("documents are mappings")
    };
    let mut out = String::new();
    for item in items {
        match item {
            MapItem::Comment(c, _) => {
                out.push('#');
                out.push_str(&c.comment().unwrap_or_default());
                out.push('\n');
            }
            MapItem::Entry(k, Node::Leaf(v, _)) => {
                out.push_str(k);
                out.push('=');
                out.push_str(&v.flat().unwrap_or_default());
                out.push('\n');
            }
            MapItem::Entry(k, Node::Null(_)) => {
                out.push_str(k);
                out.push_str("=<nil>\n");
            }
            MapItem::Entry(k, _) => {
                return Err(SopsError::Emit {
                    format: "dotenv",
                    reason: format!("cannot use complex value in dotenv file; offending key {k}"),
                });
            }
        }
    }
    if let Some(meta) = meta {
        let mut flat = metadata::flatten(meta);
        flat.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, v) in flat {
            if let Some(s) = metadata::flat_value_string(&v) {
                out.push_str("sops_");
                out.push_str(&k);
                out.push('=');
                out.push_str(&s);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

// ---- INI (gopkg.in/ini.v1 as sops configures it) ----------------------------------------

fn ini_strip_comment_char(c: &str) -> String {
    if c.starts_with(';') {
        c.trim_start_matches([';', ' ']).to_string()
    } else if c.starts_with('#') {
        c.trim_start_matches(['#', ' ']).to_string()
    } else {
        c.to_string()
    }
}

fn ini_err(line: usize, reason: impl Into<String>) -> SopsError {
    SopsError::Parse {
        format: "INI",
        reason: format!("line {line}: {}", reason.into()),
    }
}

/// One parsed INI section: name, comment, keys with their comments.
struct IniSection {
    name: String,
    comment: String,
    keys: Vec<(String, String, String)>,
    /// Position of each key in `keys`: a repeated key replaces the earlier value (go-ini), and
    /// finding it by a linear scan made a section of n keys cost n² (minutes for 40,000).
    index: HashMap<String, usize>,
}

fn ini_parse_sections(text: &str) -> Result<Vec<IniSection>> {
    let mut sections = vec![IniSection {
        name: "DEFAULT".into(),
        comment: String::new(),
        keys: Vec::new(),
        index: HashMap::new(),
    }];
    let mut comment = String::new();
    let mut lines = text.split_inclusive('\n').enumerate().peekable();
    let text_start = text.strip_prefix('\u{feff}').unwrap_or(text);
    let _ = text_start;
    while let Some((ln, raw)) = lines.next() {
        let line = raw.trim_start();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') || line.starts_with(';') {
            comment.push_str(line);
            if !line.ends_with('\n') {
                comment.push('\n');
            }
            continue;
        }
        if line.starts_with('[') {
            let close = line
                .rfind(']')
                .ok_or_else(|| ini_err(ln + 1, "unclosed section"))?;
            let name = line[1..close].to_string();
            let rest = &line[close + 1..];
            if let Some(i) = rest.find(['#', ';']) {
                comment.push_str(&rest[i..]);
            }
            sections.push(IniSection {
                name,
                comment: comment.trim().to_string(),
                keys: Vec::new(),
                index: HashMap::new(),
            });
            comment.clear();
            continue;
        }
        // Key name (optionally quoted) and delimiter `=` or `:`.
        let (name, rest) = if let Some(q) = ["\"\"\"", "\"", "`"]
            .iter()
            .find(|q| line.starts_with(**q) && line.len() > q.len())
        {
            let inner = &line[q.len()..];
            let end = inner
                .find(q)
                .ok_or_else(|| ini_err(ln + 1, "missing closing key quote"))?;
            let after = &inner[end + q.len()..];
            let d = after
                .find(['=', ':'])
                .ok_or_else(|| ini_err(ln + 1, "key-value delimiter not found"))?;
            let name = inner[..end].trim();
            // A quoted empty name would be written back unquoted, which no INI reader (this
            // one included) accepts: refuse it here, as for an unquoted one.
            if name.is_empty() {
                return Err(ini_err(ln + 1, "empty key name"));
            }
            (name.to_string(), &after[d + 1..])
        } else {
            let d = line
                .find(['=', ':'])
                .ok_or_else(|| ini_err(ln + 1, "key-value delimiter not found"))?;
            if d == 0 {
                return Err(ini_err(ln + 1, "empty key name"));
            }
            (line[..d].trim().to_string(), &line[d + 1..])
        };
        // Value.
        let v = rest.trim_start();
        let value = if let Some(q) = ["\"\"\"", "`"]
            .iter()
            .find(|q| v.starts_with(**q) && (v.len() > 3 || **q == "`"))
        {
            let inner = &v[q.len()..];
            if let Some(end) = inner.rfind(q) {
                inner[..end].to_string()
            } else {
                let mut val = inner.to_string();
                loop {
                    let Some((_, next)) = lines.next() else {
                        return Err(ini_err(ln + 1, "missing closing value quote"));
                    };
                    if let Some(end) = next.rfind(q) {
                        val.push_str(&next[..end]);
                        break;
                    }
                    val.push_str(next);
                }
                val
            }
        } else {
            let mut line = v.trim().to_string();
            if let Some(i) = line.find(['#', ';']) {
                comment.push_str(&line[i..]);
                line = line[..i].trim().to_string();
            }
            let surrounded = |q: char| {
                line.len() >= 2
                    && line.starts_with(q)
                    && line.ends_with(q)
                    && line[1..].find(q) == Some(line.len() - 2)
            };
            if surrounded('\'') || surrounded('"') {
                line = line[1..line.len() - 1].to_string();
            }
            line
        };
        let section = sections.last_mut().expect("DEFAULT exists");
        let key_comment = comment.trim().to_string();
        comment.clear();
        if let Some(&i) = section.index.get(&name) {
            let existing = &mut section.keys[i];
            existing.1 = value;
            existing.2 = key_comment;
        } else {
            section.index.insert(name.clone(), section.keys.len());
            section.keys.push((name, value, key_comment));
        }
    }
    Ok(sections)
}

/// Parse INI into the sops tree (sections are top-level keys) and the `[sops]` section.
pub fn ini_parse(input: &[u8], sealed: bool) -> Result<(Node<Sealed>, Option<FlatMetadata>)> {
    let text = std::str::from_utf8(input).map_err(|_| ini_err(0, "input is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_lines(text, flat_limits(sealed)).map_err(|source| SopsError::Limit {
        format: "INI",
        source,
    })?;
    let sections = ini_parse_sections(text)?;
    let mut meta: Option<FlatMetadata> = None;
    let mut out = Vec::new();
    let leaf = |s: &str, comment: bool| -> Sealed {
        if sealed && let Some(e) = EncryptedValue::parse_exact(s) {
            return Sealed::Enc(e);
        }
        if comment {
            Sealed::Clear(Plain::Comment(s.into()))
        } else {
            Sealed::Clear(Plain::Value(Scalar::Str(s.into())))
        }
    };
    for s in sections {
        if s.name == "sops" {
            if meta.is_none() {
                meta = Some(
                    s.keys
                        .iter()
                        .map(|(k, v, _)| (k.clone(), v.replace("\\n", "\n")))
                        .collect(),
                );
            }
            continue;
        }
        let mut items = Vec::new();
        if !s.comment.is_empty() {
            items.push(MapItem::Comment(
                leaf(&ini_strip_comment_char(&s.comment), true),
                NO_SITE,
            ));
        }
        for (k, v, c) in s.keys {
            items.push(MapItem::Entry(k, Node::Leaf(leaf(&v, false), NO_SITE)));
            if !c.is_empty() {
                items.push(MapItem::Comment(
                    leaf(&ini_strip_comment_char(&c), true),
                    NO_SITE,
                ));
            }
        }
        out.push(MapItem::Entry(s.name, Node::Map(items)));
    }
    if let Some(meta) = &meta {
        metadata::check_flat(meta, flat_limits(sealed))?;
    }
    Ok((Node::Map(out), meta))
}

fn ini_comment_lines(comment: &str, trim: bool, out: &mut String) {
    for line in comment.split('\n') {
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') || line.starts_with(';') {
            out.push_str(&line[..1]);
            out.push(' ');
            out.push_str(line[1..].trim());
        } else {
            out.push_str("; ");
            out.push_str(if trim { line.trim() } else { line });
        }
        out.push('\n');
    }
}

fn ini_quote_key(k: &str) -> String {
    if k.contains('"') || k.contains(['=', ':']) {
        format!("`{k}`")
    } else if k.contains('`') {
        format!("\"\"\"{k}\"\"\"")
    } else {
        k.to_string()
    }
}

fn ini_quote_value(v: &str) -> String {
    if v.contains(['\n', '`']) {
        format!("\"\"\"{v}\"\"\"")
    } else if v.contains(['#', ';']) {
        format!("`{v}`")
    } else if v.trim() != v {
        format!("\"{v}\"")
    } else {
        v.to_string()
    }
}

/// How to write `k = v` so that this module's own reader reads back exactly `(k, v)`.
///
/// go-ini's quoting (tried first, so ordinary files look like sops' output) is not always
/// reversible: a key holding both `"` and a backtick, or a value wrapped in quotes, reads
/// back as something else — for an encrypted file that means a value whose key path (its
/// AAD) no longer matches, i.e. a file that cannot be decrypted. Each spelling is therefore
/// checked by parsing it; `None` if none reads back.
fn ini_entry(k: &str, v: &str) -> Option<(String, String)> {
    let keys = [
        ini_quote_key(k),
        k.to_string(),
        format!("`{k}`"),
        format!("\"\"\"{k}\"\"\""),
        format!("\"{k}\""),
    ];
    let values = [
        ini_quote_value(v),
        format!("\"\"\"{v}\"\"\""),
        format!("`{v}`"),
        format!("\"{v}\""),
    ];
    keys.iter()
        .flat_map(|kq| values.iter().map(move |vq| (kq, vq)))
        .find(|(kq, vq)| {
            ini_parse_sections(&format!("[s]\n{kq} = {vq}\n")).is_ok_and(|secs| {
                matches!(secs.as_slice(), [_, s] if s.keys.len() == 1
                    && s.keys[0].0 == k && s.keys[0].1 == v)
            })
        })
        .map(|(kq, vq)| (kq.clone(), vq.clone()))
}

/// Emit INI in go-ini's pretty format (aligned `=`, blank line between sections).
pub fn ini_emit<V: FlatLeaf>(n: &Node<V>, meta: Option<&MetaValue>) -> Result<String> {
    let Node::Map(items) = n else {
        unreachable!("documents are mappings")
    };
    struct Sec {
        name: String,
        comment: String,
        keys: Vec<(String, String, String)>,
    }
    let mut secs = Vec::new();
    for item in items {
        let MapItem::Entry(name, value) = item else {
            continue;
        };
        let Node::Map(entries) = value else {
            return Err(SopsError::Emit {
                format: "INI",
                reason: format!(
                    "Error encoding section {name}: section values should always be mappings"
                ),
            });
        };
        let mut sec = Sec {
            name: name.clone(),
            comment: String::new(),
            keys: Vec::new(),
        };
        for (i, e) in entries.iter().enumerate() {
            match e {
                MapItem::Comment(c, _) => {
                    let text = c.comment().unwrap_or_default();
                    if i == 0 {
                        sec.comment = text;
                    } else if let Some(last) = sec.keys.last_mut() {
                        last.2 = text;
                    }
                }
                MapItem::Entry(k, Node::Leaf(v, _)) => {
                    sec.keys
                        .push((k.clone(), v.ini().unwrap_or_default(), String::new()))
                }
                MapItem::Entry(k, Node::Null(_)) => {
                    sec.keys.push((k.clone(), "<nil>".into(), String::new()))
                }
                MapItem::Entry(k, _) => {
                    return Err(SopsError::Emit {
                        format: "INI",
                        reason: format!("Error encoding key {k}: nested values are not supported"),
                    });
                }
            }
        }
        secs.push(sec);
    }
    if let Some(meta) = meta {
        let mut flat = metadata::flatten(meta);
        flat.sort_by(|a, b| a.0.cmp(&b.0));
        secs.push(Sec {
            name: "sops".into(),
            comment: String::new(),
            keys: flat
                .into_iter()
                .filter_map(|(k, v)| metadata::flat_value_string(&v).map(|s| (k, s, String::new())))
                .collect(),
        });
    }
    let mut out = String::new();
    let last = secs.len().saturating_sub(1);
    for (i, sec) in secs.iter().enumerate() {
        if !sec.comment.is_empty() {
            ini_comment_lines(&sec.comment, false, &mut out);
        }
        if i > 0 || sec.name.to_uppercase() != "DEFAULT" {
            out.push('[');
            out.push_str(&sec.name);
            out.push_str("]\n");
        } else if sec.keys.is_empty() {
            continue;
        }
        let entries = sec
            .keys
            .iter()
            .map(|(k, v, _)| {
                ini_entry(k, v).ok_or_else(|| SopsError::Emit {
                    format: "INI",
                    reason: format!(
                        "key {k:?} in section [{}] (or its value) cannot be written so that it reads back the same; rename the key or change the value",
                        sec.name
                    ),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let align = entries.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for ((_, _, c), (name, value)) in sec.keys.iter().zip(&entries) {
            if !c.is_empty() {
                ini_comment_lines(c, true, &mut out);
            }
            out.push_str(name);
            out.push_str(&" ".repeat(align - name.len()));
            out.push_str(" = ");
            out.push_str(value);
            out.push('\n');
        }
        if i != last {
            out.push('\n');
        }
    }
    Ok(out)
}

#[cfg(test)]
mod json_tests {
    use super::go_json_string;

    /// The rules of Go's `encoding/json` string encoder, char by char.
    fn reference(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn json_documents_read_straight_into_the_tree() {
        use super::{json_parse_encrypted, json_parse_plain};
        use crate::sops::cipher::{Plain, Scalar};
        use crate::sops::tree::{MapItem, Node};
        let tree =
            json_parse_plain(br#" {"b": 1, "a": [true, null, "x"], "b": {"c": 2.5}} "#).unwrap();
        let Node::Map(items) = &tree else { panic!() };
        let keys: Vec<&str> = items
            .iter()
            .map(|i| match i {
                MapItem::Entry(k, _) => k.as_str(),
                MapItem::Comment(..) => "#",
            })
            .collect();
        assert_eq!(
            keys,
            ["b", "a"],
            "order kept; a repeated key keeps its first place"
        );
        assert!(matches!(&items[0], MapItem::Entry(_, Node::Map(m)) if m.len() == 1));
        assert!(matches!(
            &items[1],
            MapItem::Entry(_, Node::Seq(v)) if matches!(v[0], Node::Leaf(Plain::Value(Scalar::Bool(true)), _))
                && matches!(v[1], Node::Null(_))
        ));
        let one = json_parse_plain(br#"{"n": 8443}"#).unwrap();
        assert!(matches!(
            &one,
            Node::Map(m) if matches!(&m[0], MapItem::Entry(_, Node::Leaf(Plain::Value(Scalar::Float(f)), _)) if *f == 8443.0)
        ));
        for bad in [&b"[1, 2]"[..], br#""x""#, br#"{"a": 1} x"#, br#"{"a": "#] {
            assert!(
                json_parse_plain(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            json_parse_plain(b"[1]").unwrap_err().to_string(),
            "could not parse JSON input: Expected JSON object start"
        );
        assert!(matches!(
            json_parse_plain(br#"{"sops": {}}"#),
            Err(crate::sops::SopsError::AlreadyEncrypted)
        ));
        let (tree, meta) = json_parse_encrypted(
            br#"{"a": {"sops": 1}, "sops": {"version": "3.11.0", "shamir_threshold": 2}, "z": "x"}"#,
        )
        .unwrap();
        let Node::Map(items) = &tree else { panic!() };
        assert!(
            matches!(&items[..], [MapItem::Entry(a, Node::Map(inner)), MapItem::Entry(z, _)]
                if a == "a" && z == "z" && inner.len() == 1),
            "only the top-level `sops` entry leaves the tree"
        );
        let crate::sops::metadata::MetaValue::Map(fields) = meta else {
            panic!("metadata is a map")
        };
        assert!(
            fields.contains(&(
                "shamir_threshold".to_string(),
                crate::sops::metadata::MetaValue::Int(2)
            )),
            "metadata integers stay integers"
        );
    }

    #[test]
    fn escapes_like_go() {
        for s in [
            "",
            "plain ascii",
            "quote\" back\\slash",
            "<tag> & \u{1}\u{1f}\u{7f}",
            "line\nbreak\r\ttab\u{8}\u{c}",
            "héllo wörld ✓ 日本 😀",
            "sep\u{2028}para\u{2029}end\u{2027}\u{202a}",
            "\u{e2}\u{80}",
        ] {
            let mut got = String::new();
            go_json_string(s, &mut got);
            assert_eq!(got, reference(s), "{s:?}");
        }
    }
}
