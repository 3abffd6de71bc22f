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
use serde_json::{Map, Value, json};

use super::resource_list::{
    GeneratorConfig, InputError, parse_config, parse_env_lines, read_resource_list, split_entry,
    unquote_env,
};
use super::{Decryptor, parallel_map};
use crate::Global;
use crate::exit::{Code, exit_code_of, fail};
use crate::keyring_dir::KeyringDir;

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
                Part::Env(parse_env_lines(&text).map_err(input_failure)?)
            }
        }
    })
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

/// A `ResourceList`/config problem as a CLI failure: no usable config is the wrong kind of
/// input (exit 11), anything else malformed input (exit 10).
fn input_failure(e: InputError) -> anyhow::Error {
    let code = if e.is_wrong_kind() {
        Code::WrongKind
    } else {
        Code::MalformedInput
    };
    fail(code, e.to_string())
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
        configs.push((
            parse_config(&d.value, &origin).map_err(input_failure)?,
            origin.clone(),
        ));
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
    let input =
        read_resource_list(docs.into_iter().map(|d| d.value).collect()).map_err(input_failure)?;
    let generated = generate(&input.configs, decryptor)?;
    let mut others = input.others;
    others.extend(generated.objects);
    let out = json!({
        "apiVersion": input.api_version.unwrap_or_else(|| json!("config.kubernetes.io/v1")),
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
    fn resource_list_without_config_is_refused() {
        let d = Decryptor::from_process(None);
        let input = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n";
        let err = krm_function(input, &d).unwrap_err().to_string();
        assert!(err.contains("no generator config"), "{err}");
        let err = krm_function("a: 1\n", &d).unwrap_err().to_string();
        assert!(err.contains("expected one ResourceList"), "{err}");
    }
}
