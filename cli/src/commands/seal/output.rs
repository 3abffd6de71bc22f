//! Writing objects the way kubeseal does, so files in Git do not churn when a team moves
//! from kubeseal to sealbox:
//!
//! * JSON (kubeseal's default): Go's field order (`kind`, `apiVersion`, `metadata`, `spec`;
//!   ObjectMeta in its struct order), maps with sorted keys, 2-space indent, Go's HTML-safe
//!   escaping of `<`, `>`, `&`, U+2028, U+2029, one trailing newline per object;
//! * YAML: `---` before each object, keys sorted at every level (kubeseal converts its JSON
//!   with `sigs.k8s.io/yaml`), 2-space indent, list items at the parent's indentation.
//!
//! Like current kubeseal (apimachinery ≥ 1.33) an empty `creationTimestamp` is omitted.

use std::collections::BTreeMap;
use std::io;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::ValueEnum;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sealbox_controller::api::SealedSecret;
use serde_json::{Map, Value};

/// Output format (`-o/--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON, kubeseal's default.
    Json,
    /// YAML, one `---` document per object.
    Yaml,
}

impl Format {
    /// The format a file name implies (`.yaml`/`.yml`/`.json`), as kubeseal does for `-w`.
    pub fn from_file_name(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// The format of an existing manifest text.
    pub fn of_text(text: &str) -> Format {
        if text.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// Render objects (already in Go field order) as kubeseal prints them.
pub fn render(objects: &[Value], format: Format) -> String {
    let mut out = String::new();
    for object in objects {
        match format {
            Format::Json => {
                out.push_str(&go_json_pretty(object));
                out.push('\n');
            }
            Format::Yaml => {
                out.push_str("---\n");
                out.push_str(&yaml(object));
            }
        }
    }
    out
}

/// A SealedSecret in kubeseal's JSON field order.
pub fn sealed_secret_value(sealed: &SealedSecret) -> Value {
    let mut spec = Map::new();
    let template = sealed.spec.template.clone().unwrap_or_default();
    let mut t = Map::new();
    t.insert(
        "metadata".into(),
        Value::Object(object_meta(
            template.metadata.as_ref().unwrap_or(&ObjectMeta::default()),
        )),
    );
    if let Some(type_) = template.type_.as_ref().filter(|s| !s.is_empty()) {
        t.insert("type".into(), Value::String(type_.clone()));
    }
    if let Some(immutable) = template.immutable {
        t.insert("immutable".into(), Value::Bool(immutable));
    }
    if let Some(data) = template.data.as_ref().filter(|d| !d.is_empty()) {
        t.insert("data".into(), string_map(data));
    }
    spec.insert("template".into(), Value::Object(t));
    if let Some(data) = &sealed.spec.data {
        spec.insert("data".into(), Value::String(STANDARD.encode(&data.0)));
    }
    spec.insert(
        "encryptedData".into(),
        string_map(&sealed.spec.encrypted_data),
    );

    let mut root = Map::new();
    root.insert("kind".into(), Value::String("SealedSecret".into()));
    root.insert(
        "apiVersion".into(),
        Value::String("bitnami.com/v1alpha1".into()),
    );
    root.insert(
        "metadata".into(),
        Value::Object(object_meta(&sealed.metadata)),
    );
    root.insert("spec".into(), Value::Object(spec));
    if let Some(status) = &sealed.status {
        root.insert(
            "status".into(),
            serde_json::to_value(status).expect("status serializes"),
        );
    }
    Value::Object(root)
}

/// A v1 Secret in Go's field order (`kind`, `apiVersion`, `metadata`, `immutable`, `data`,
/// `stringData`, `type`), as `kubeseal --recovery-unseal` prints it.
pub fn secret_value(secret: &Secret) -> Value {
    let mut root = Map::new();
    root.insert("kind".into(), Value::String("Secret".into()));
    root.insert("apiVersion".into(), Value::String("v1".into()));
    root.insert(
        "metadata".into(),
        Value::Object(object_meta(&secret.metadata)),
    );
    if let Some(immutable) = secret.immutable {
        root.insert("immutable".into(), Value::Bool(immutable));
    }
    if let Some(data) = secret.data.as_ref().filter(|d| !d.is_empty()) {
        let data: BTreeMap<&String, String> = data
            .iter()
            .map(|(k, v)| (k, STANDARD.encode(&v.0)))
            .collect();
        root.insert(
            "data".into(),
            Value::Object(
                data.into_iter()
                    .map(|(k, v)| (k.clone(), Value::String(v)))
                    .collect(),
            ),
        );
    }
    if let Some(string_data) = secret.string_data.as_ref().filter(|d| !d.is_empty()) {
        root.insert("stringData".into(), string_map(string_data));
    }
    if let Some(type_) = secret.type_.as_ref().filter(|s| !s.is_empty()) {
        root.insert("type".into(), Value::String(type_.clone()));
    }
    Value::Object(root)
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// ObjectMeta in Go's struct order, `omitempty` fields left out when empty.
pub fn object_meta(meta: &ObjectMeta) -> Map<String, Value> {
    let full = serde_json::to_value(meta).expect("ObjectMeta serializes");
    let mut out = Map::new();
    const ORDER: [&str; 15] = [
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    ];
    for key in ORDER {
        let Some(value) = full.get(key) else { continue };
        let empty = match value {
            Value::Null => true,
            Value::String(s) => s.is_empty(),
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Number(n) => n.as_i64() == Some(0),
            Value::Bool(_) => false,
        };
        if empty {
            continue;
        }
        let value = match (key, value) {
            ("labels" | "annotations", Value::Object(m)) => {
                let sorted: BTreeMap<&String, &Value> = m.iter().collect();
                Value::Object(
                    sorted
                        .into_iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            }
            ("ownerReferences", Value::Array(refs)) => {
                Value::Array(refs.iter().map(owner_reference).collect())
            }
            _ => value.clone(),
        };
        out.insert(key.to_owned(), value);
    }
    out
}

/// OwnerReference in Go's order: apiVersion, kind, name, uid, controller, blockOwnerDeletion.
fn owner_reference(r: &Value) -> Value {
    let mut out = Map::new();
    for key in [
        "apiVersion",
        "kind",
        "name",
        "uid",
        "controller",
        "blockOwnerDeletion",
    ] {
        if let Some(v) = r.get(key) {
            out.insert(key.to_owned(), v.clone());
        } else if matches!(key, "apiVersion" | "kind" | "name" | "uid") {
            out.insert(key.to_owned(), Value::String(String::new()));
        }
    }
    Value::Object(out)
}

/// `json.MarshalIndent(v, "", "  ")` as Go writes it.
pub fn go_json_pretty(value: &Value) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter::new());
    serde::Serialize::serialize(value, &mut ser).expect("JSON values serialize");
    String::from_utf8(out).expect("serde_json writes UTF-8")
}

/// serde_json's pretty printer plus Go's extra escapes (`encoding/json` escapes HTML
/// characters and the JavaScript line separators by default).
struct GoFormatter {
    pretty: serde_json::ser::PrettyFormatter<'static>,
}

impl GoFormatter {
    fn new() -> Self {
        GoFormatter {
            pretty: serde_json::ser::PrettyFormatter::with_indent(b"  "),
        }
    }
}

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_array(w)
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array(w)
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(w)
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object(w)
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object(w)
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.pretty.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(w)
    }
}

/// Keys sorted at every level (what `sigs.k8s.io/yaml` does), then YAML.
fn yaml(value: &Value) -> String {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.indent_step = 2;
    options.compact_list_indent = true;
    options.prefer_block_scalars = true;
    options.folded_wrap_chars = usize::MAX / 2;
    serde_saphyr::to_string_with_options(&sorted(value), options)
        .expect("JSON values serialize to YAML")
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(ordered.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn go_escapes_html_characters_and_indents_two_spaces() {
        let v = json!({"b": "a<b>&c\u{2028}", "a": [], "c": {}, "d": [1]});
        assert_eq!(
            go_json_pretty(&v),
            "{\n  \"b\": \"a\\u003cb\\u003e\\u0026c\\u2028\",\n  \"a\": [],\n  \"c\": {},\n  \"d\": [\n    1\n  ]\n}"
        );
    }

    #[test]
    fn yaml_sorts_keys_and_starts_each_document_with_dashes() {
        let out = render(
            &[json!({"kind": "X", "apiVersion": "v1", "l": ["a"]})],
            Format::Yaml,
        );
        assert_eq!(out, "---\napiVersion: v1\nkind: X\nl:\n- a\n");
    }
}
