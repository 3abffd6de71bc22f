//! kustomize generator mode (KSOPS parity): a KRM exec function and a legacy exec plugin
//! that decrypt the SOPS files a generator config names.
//!
//! How the binary knows it is in this mode: it is started as `sealbox krm [CONFIG]`, or
//! under the name `ksops` or `sealbox-krm` (a symlink or copy; kustomize's
//! `config.kubernetes.io/function: exec: path:` cannot pass arguments, so drop-in KSOPS
//! configs that say `path: ksops` work with a `ksops -> sealbox` link). Then:
//! * no argument → KRM function: a `ResourceList` on stdin, a `ResourceList` on stdout;
//! * one argument → legacy exec plugin: the argument is the config file (kustomize writes
//!   it to a temporary file), a YAML stream of the generated objects on stdout.
//!
//! Config kinds, same schema: `sealbox.dev/v1alpha1` `SopsGenerator`, and KSOPS'
//! `viaduct.ai/v1` `ksops` for drop-in migration:
//! ```yaml
//! files: [./secret.enc.yaml]        # SOPS-encrypted manifests, emitted decrypted
//! secretFrom:                       # a Secret built from SOPS-encrypted files
//! - metadata: {name: app, annotations: {kustomize.config.k8s.io/needs-hash: "true"}}
//!   type: Opaque
//!   files: [./app.enc.conf, config.yaml=./cfg.enc.yaml]   # stringData, key = file name
//!   binaryFiles: [./cert.enc.p12]                         # data (base64)
//!   envs: [./app.enc.env]                                 # one stringData key per line
//! ```
//! Paths are relative to the working directory (kustomize runs functions and plugins in the
//! kustomization's directory). Every named file must be SOPS-encrypted (a plaintext file in
//! a secret generator is a mistake worth stopping for); MACs are verified, as KSOPS does.
//! Files are decrypted in parallel; on any failure nothing is printed on stdout.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use sealbox_controller::api::parse_documents;
use sealbox_keys::sops::{Format, OpenedFile};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Decryptor, parallel_map};
use crate::Global;
use crate::exit::{Code, exit_code_of, fail};
use crate::keyring_dir::KeyringDir;

/// Our generator config kind.
pub const SEALBOX_API_VERSION: &str = "sealbox.dev/v1alpha1";
/// Our generator config kind.
pub const SEALBOX_KIND: &str = "SopsGenerator";
/// KSOPS' generator config (drop-in migration).
pub const KSOPS_API_VERSION: &str = "viaduct.ai/v1";
/// KSOPS' generator config kind.
pub const KSOPS_KIND: &str = "ksops";

/// Run as a kustomize KRM function (no argument) or legacy exec plugin (config file).
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Run as a kustomize generator that decrypts SOPS files (KSOPS \
parity). With no argument: a KRM exec function (ResourceList on stdin and stdout). With one \
argument: a legacy exec plugin (the argument is the generator config file).\n\n\
kustomize cannot pass arguments to an exec function, so point `config.kubernetes.io/function: \
exec: path:` at a link to sealbox named `ksops` or `sealbox-krm`; started under those names \
sealbox behaves as `sealbox krm`.\n\n\
Config kinds: sealbox.dev/v1alpha1 SopsGenerator, and KSOPS' viaduct.ai/v1 ksops (same schema: \
files, secretFrom[].files/binaryFiles/envs)."
)]
pub struct Args {
    /// Legacy exec plugin mode: the generator config file.
    #[arg(value_name = "CONFIG")]
    pub config: Option<PathBuf>,
}

/// If started as `ksops` or `sealbox-krm`, run generator mode and return the exit code.
pub fn main_if_invoked_as_generator() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    let argv0 = PathBuf::from(args.next()?);
    let name = argv0.file_name()?.to_str()?;
    if name != "ksops" && name != "sealbox-krm" {
        return None;
    }
    let rest: Vec<OsString> = args.collect();
    let global = Global {
        keyring: std::env::var_os("SEALBOX_KEYRING").map(PathBuf::from),
    };
    let config = match rest.as_slice() {
        [] => None,
        [one] => Some(PathBuf::from(one)),
        _ => {
            eprintln!(
                "{name}: expected no argument (KRM function) or one (legacy exec plugin: the config file), got {}",
                rest.len()
            );
            return Some(ExitCode::from(Code::Usage.as_u8()));
        }
    };
    Some(match run(&global, Args { config }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e:#}");
            ExitCode::from(exit_code_of(&e))
        }
    })
}

/// Run `sealbox krm`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let keyring = KeyringDir::resolve(global).ok();
    let decryptor = Decryptor::from_process(keyring.as_ref());
    let output = match &args.config {
        Some(path) => legacy_plugin(path, &decryptor)?,
        None => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .map_err(|e| fail(Code::InputUnreadable, format!("<stdin>: cannot read: {e}")))?;
            krm_function(&input, &decryptor)?
        }
    };
    let mut out = std::io::stdout().lock();
    out.write_all(output.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| fail(Code::CouldNotWriteOutput, format!("writing to stdout: {e}")))
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
    fn label(&self) -> String {
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

fn parse_config(v: &Value, origin: &str) -> anyhow::Result<GeneratorConfig> {
    let config: GeneratorConfig = serde_json::from_value(v.clone()).map_err(|e| {
        fail(
            Code::MalformedInput,
            format!("{origin}: invalid generator config: {e}"),
        )
    })?;
    if config.files.is_empty() && config.secret_from.is_empty() {
        return Err(fail(
            Code::MalformedInput,
            format!(
                "{origin}: {}: expected `files` or `secretFrom`",
                config.label()
            ),
        ));
    }
    Ok(config)
}

/// A `key=path` or `path` entry.
fn split_entry(entry: &str) -> (String, &str) {
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

/// What one decryption job is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JobKind {
    Manifest,
    Text,
    Binary,
    Env,
}

struct Job {
    config: usize,
    /// `secretFrom` index, for Secret parts.
    secret: Option<usize>,
    kind: JobKind,
    key: String,
    path: String,
}

/// What a job produced.
enum Part {
    Manifests(Vec<Value>, String),
    Text(String, String),
    Binary(String, Vec<u8>),
    Env(Vec<(String, String)>),
}

fn open_required(path: &str, decryptor: &Decryptor) -> anyhow::Result<OpenedFile> {
    let bytes = std::fs::read(path)
        .map_err(|e| fail(Code::InputUnreadable, format!("cannot read: {e}")))?;
    let format = Format::from_path(path);
    decryptor.open(&bytes, format)?.ok_or_else(|| {
        fail(
            Code::Generic,
            "not SOPS-encrypted (no sops metadata with a mac); a generator only takes encrypted files",
        )
    })
}

fn run_job(job: &Job, decryptor: &Decryptor) -> anyhow::Result<Part> {
    let opened = open_required(&job.path, decryptor)?;
    Ok(match job.kind {
        JobKind::Manifest => {
            let text = String::from_utf8(opened.plaintext().to_vec())
                .map_err(|_| fail(Code::MalformedInput, "decrypted manifest is not UTF-8"))?;
            let docs = parse_documents("decrypted file", &text).map_err(|e| {
                fail(
                    Code::MalformedInput,
                    format!(
                        "decrypted text is not YAML/JSON: document {}, line {}: {}",
                        e.document, e.line, e.reason
                    ),
                )
            })?;
            let values = docs.into_iter().map(|d| d.value).collect();
            Part::Manifests(values, text)
        }
        JobKind::Text => {
            let text = String::from_utf8(opened.plaintext().to_vec()).map_err(|_| {
                fail(
                    Code::MalformedInput,
                    "decrypted content is not UTF-8 text; list it under binaryFiles",
                )
            })?;
            Part::Text(job.key.clone(), text)
        }
        JobKind::Binary => Part::Binary(job.key.clone(), opened.plaintext().to_vec()),
        JobKind::Env => {
            if opened.format() == Format::Dotenv {
                Part::Env(
                    opened
                        .env_vars()
                        .into_iter()
                        .map(|(k, v)| (k, unquote_env(&v)))
                        .collect(),
                )
            } else {
                let text = String::from_utf8(opened.plaintext().to_vec())
                    .map_err(|_| fail(Code::MalformedInput, "decrypted env file is not UTF-8"))?;
                Part::Env(parse_env_lines(&text)?)
            }
        }
    })
}

/// godotenv's quoting: `"…"` (with `\n` escapes) and `'…'` are unwrapped.
fn unquote_env(v: &str) -> String {
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

fn parse_env_lines(text: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            return Err(fail(
                Code::MalformedInput,
                format!("line {}: expected KEY=VALUE", i + 1),
            ));
        };
        out.push((k.trim().to_owned(), unquote_env(v)));
    }
    Ok(out)
}

/// What a set of configs generates: objects (in config order: `files` first, then
/// `secretFrom`) and, for the legacy plugin, the decrypted manifest texts as they are.
struct Generated {
    objects: Vec<Value>,
    legacy_chunks: Vec<String>,
}

/// `stringData` (text files, dotenv entries) and `data` (binary files, base64) of one
/// `secretFrom` Secret being assembled.
type SecretEntries = (Map<String, Value>, Map<String, Value>);

fn generate(
    configs: &[(GeneratorConfig, String)],
    decryptor: &Decryptor,
) -> anyhow::Result<Generated> {
    let mut jobs = Vec::new();
    for (ci, (config, _)) in configs.iter().enumerate() {
        for f in &config.files {
            jobs.push(Job {
                config: ci,
                secret: None,
                kind: JobKind::Manifest,
                key: String::new(),
                path: f.clone(),
            });
        }
        for (si, s) in config.secret_from.iter().enumerate() {
            let name = s.metadata.get("name").and_then(Value::as_str).unwrap_or("");
            if name.is_empty() {
                return Err(fail(
                    Code::MalformedInput,
                    format!(
                        "{}: {}: secretFrom[{si}]: metadata.name is required",
                        configs[ci].1,
                        config.label()
                    ),
                ));
            }
            for (kind, list) in [
                (JobKind::Text, &s.files),
                (JobKind::Binary, &s.binary_files),
            ] {
                for entry in list {
                    let (key, path) = split_entry(entry);
                    jobs.push(Job {
                        config: ci,
                        secret: Some(si),
                        kind,
                        key,
                        path: path.to_owned(),
                    });
                }
            }
            for e in &s.envs {
                jobs.push(Job {
                    config: ci,
                    secret: Some(si),
                    kind: JobKind::Env,
                    key: String::new(),
                    path: e.clone(),
                });
            }
        }
    }
    let results = parallel_map(&jobs, |job| run_job(job, decryptor));
    let mut failures = Vec::new();
    let mut parts = Vec::new();
    for (job, r) in jobs.iter().zip(results) {
        match r {
            Ok(p) => parts.push((job, p)),
            Err(e) => {
                let (config, origin) = &configs[job.config];
                failures.push((
                    format!("{origin}: {}: {}: {e:#}", config.label(), job.path),
                    exit_code_of(&e),
                ));
            }
        }
    }
    if let Some((first, code)) = failures.first() {
        for (msg, _) in failures.iter().skip(1) {
            eprintln!("sealbox krm: {msg}");
        }
        return Err(anyhow::Error::new(crate::exit::RawExit {
            code: *code,
            message: format!("{first}; nothing was printed on stdout"),
        }));
    }
    let mut objects = Vec::new();
    let mut legacy_chunks = Vec::new();
    let mut secrets: BTreeMap<(usize, usize), SecretEntries> = BTreeMap::new();
    for (job, part) in parts {
        match part {
            Part::Manifests(values, text) => {
                objects.extend(values);
                legacy_chunks.push(text);
            }
            Part::Text(key, text) => {
                let entry = secrets
                    .entry((job.config, job.secret.unwrap_or(0)))
                    .or_default();
                entry.0.insert(key, Value::String(text));
            }
            Part::Binary(key, bytes) => {
                let entry = secrets
                    .entry((job.config, job.secret.unwrap_or(0)))
                    .or_default();
                entry.1.insert(
                    key,
                    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
                );
            }
            Part::Env(vars) => {
                let entry = secrets
                    .entry((job.config, job.secret.unwrap_or(0)))
                    .or_default();
                for (k, v) in vars {
                    entry.0.insert(k, Value::String(v));
                }
            }
        }
    }
    for (ci, (config, _)) in configs.iter().enumerate() {
        for (si, s) in config.secret_from.iter().enumerate() {
            let (string_data, data) = secrets.remove(&(ci, si)).unwrap_or_default();
            let mut secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": s.metadata});
            if let Some(t) = &s.type_ {
                secret["type"] = Value::String(t.clone());
            }
            if !data.is_empty() {
                secret["data"] = Value::Object(data);
            }
            if !string_data.is_empty() {
                secret["stringData"] = Value::Object(string_data);
            }
            let text = serde_saphyr::to_string(&secret)
                .map_err(|e| fail(Code::Generic, format!("rendering a Secret as YAML: {e}")))?;
            legacy_chunks.push(text);
            objects.push(secret);
        }
    }
    Ok(Generated {
        objects,
        legacy_chunks,
    })
}

/// The legacy exec plugin: `CONFIG` file in, YAML stream out.
pub fn legacy_plugin(config_path: &Path, decryptor: &Decryptor) -> anyhow::Result<String> {
    let origin = config_path.display().to_string();
    let text = std::fs::read_to_string(config_path)
        .map_err(|e| fail(Code::InputUnreadable, format!("{origin}: cannot read: {e}")))?;
    let docs =
        parse_documents(&origin, &text).map_err(|e| fail(Code::MalformedInput, e.to_string()))?;
    let mut configs = Vec::new();
    for d in &docs {
        configs.push((parse_config(&d.value, &origin)?, origin.clone()));
    }
    let generated = generate(&configs, decryptor)?;
    Ok(super::stream::join_documents(
        generated
            .legacy_chunks
            .iter()
            .map(|c| c.strip_prefix("---\n").unwrap_or(c)),
    ))
}

/// The KRM function: `ResourceList` in, `ResourceList` out. Items that are generator configs
/// are replaced by what they generate (for a generator kustomize passes the config itself as
/// an item); with no config among the items, `functionConfig` is used. Other items pass
/// through.
pub fn krm_function(input: &str, decryptor: &Decryptor) -> anyhow::Result<String> {
    let docs =
        parse_documents("<stdin>", input).map_err(|e| fail(Code::MalformedInput, e.to_string()))?;
    let list = match docs.as_slice() {
        [one] if one.value.get("kind").and_then(Value::as_str) == Some("ResourceList") => {
            &one.value
        }
        _ => {
            return Err(fail(
                Code::WrongKind,
                "<stdin>: expected one ResourceList (config.kubernetes.io/v1) — run by kustomize as an exec function, or give the config file as the argument (legacy exec plugin)",
            ));
        }
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
        return Err(fail(
            Code::WrongKind,
            format!(
                "<stdin>: no generator config: expected functionConfig or an item of kind {SEALBOX_API_VERSION} {SEALBOX_KIND} or {KSOPS_API_VERSION} {KSOPS_KIND}"
            ),
        ));
    }
    let generated = generate(&configs, decryptor)?;
    others.extend(generated.objects);
    let out = json!({
        "apiVersion": list.get("apiVersion").cloned().unwrap_or_else(|| json!("config.kubernetes.io/v1")),
        "kind": "ResourceList",
        "items": others,
    });
    serde_saphyr::to_string(&out)
        .map_err(|e| fail(Code::Generic, format!("rendering the ResourceList: {e}")))
}

#[cfg(test)]
mod tests {
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
        assert!(parse_env_lines("novalue\n").is_err());
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
    fn resource_list_without_config_is_refused() {
        let d = Decryptor::from_process(None);
        let input = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n";
        let err = krm_function(input, &d).unwrap_err().to_string();
        assert!(err.contains("no generator config"), "{err}");
        let err = krm_function("a: 1\n", &d).unwrap_err().to_string();
        assert!(err.contains("expected one ResourceList"), "{err}");
    }
}
