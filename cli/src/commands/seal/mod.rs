//! `sealbox seal`: kubeseal's sealing, flag for flag.
//!
//! Secrets (YAML documents or concatenated JSON, stdin or `-f`) become SealedSecrets that
//! the Bitnami controller (and sealbox's) open; `--raw` seals one value; `--merge-into`
//! adds values to an existing SealedSecret file, keeping its scope.

pub mod cert;
pub mod input;
pub mod output;

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sealbox_controller::api::{
    SealedSecret, SealedSecretSpec, SecretTemplateSpec, expand_lists, parse_documents,
};
use sealbox_keys::sealing::{Label, PublicKey, Scope, envelope};
use zeroize::Zeroizing;

use self::input::{InputSecret, read_secret};
use self::output::{Format, render, sealed_secret_value};
use crate::Global;
use crate::exit::{Code, WithCode as _, fail};
use crate::keyring_dir::{FileMode, write_atomically};

/// Annotations kubectl/kubecfg use to keep a full copy of the applied object — for a Secret
/// that is every value in clear, so they never go into a SealedSecret (#227).
const LAST_APPLIED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
];

/// Seal Secrets into SealedSecrets (kubeseal-compatible).
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Seal Kubernetes Secrets into SealedSecrets that the Bitnami Sealed Secrets \
controller (or sealbox's) can open. Flags and output are kubeseal's: replace `kubeseal` by \
`sealbox seal`.\n\n  \
sealbox seal -f secret.yaml -w sealed.json\n  \
sealbox seal -o yaml < secret.yaml > sealed.yaml\n  \
sealbox seal --raw --from-file=password.txt -n demo --name db\n  \
sealbox seal --merge-into sealed.yaml < more-values.yaml\n\n\
Without --cert, the newest certificate of the local keyring (`sealbox keys init`) is used. \
The input may hold several Secrets (YAML documents or concatenated JSON); each becomes one \
SealedSecret. last-applied-configuration annotations, ownerReferences and server-side \
fields are stripped, like kubeseal does."
)]
pub struct Args {
    /// Secret(s) to seal (YAML or JSON); `-` or absent: stdin.
    #[arg(short = 'f', long = "secret-file", value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Write the output to FILE (atomically) instead of stdout. A `.yaml`/`.yml`/`.json`
    /// name picks the format unless -o is given.
    #[arg(short = 'w', long = "sealed-secret-file", value_name = "FILE")]
    pub sealed_secret_file: Option<PathBuf>,

    /// Output format (kubeseal's -o).
    #[arg(short = 'o', long = "format", value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Certificate (or RSA public key) to seal to: a file, file:// or http(s):// URL.
    /// Default: the newest key of the local keyring.
    #[arg(long, env = "SEALED_SECRETS_CERT", value_name = "FILE|URL")]
    pub cert: Option<String>,

    /// Scope: strict (default; name and namespace are pinned), namespace-wide, or
    /// cluster-wide. Overrides the scope annotations of the input.
    #[arg(long, value_name = "SCOPE", value_parser = parse_scope)]
    pub scope: Option<Scope>,

    /// Name of the SealedSecret (overrides the input's; required with --raw in strict scope).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Namespace for Secrets without one. A different namespace in the input is an error.
    /// Default: the namespace of the current kubeconfig context, if there is a kubeconfig.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// Seal one raw value (from --from-file or stdin) and print only its base64 ciphertext.
    #[arg(long)]
    pub raw: bool,

    /// With --raw: read the value from this file (`[key=]path`, like kubectl; the key is
    /// ignored).
    #[arg(long = "from-file", value_name = "[KEY=]PATH", requires = "raw")]
    pub from_file: Vec<String>,

    /// Seal the input and merge its values into this existing SealedSecret file, in place.
    /// The name, namespace and scope are taken from that file (kubeseal ignores the file's
    /// scope; sealbox keeps it so every value in the file opens).
    #[arg(long = "merge-into", value_name = "FILE", conflicts_with_all = ["raw", "sealed_secret_file"])]
    pub merge_into: Option<PathBuf>,

    /// Allow Secrets without data.
    #[arg(long)]
    pub allow_empty_data: bool,

    /// Cluster flags (`--fetch-cert`, `--validate`, `--re-encrypt`, controller location).
    #[command(flatten)]
    pub cluster: crate::commands::cluster::ClusterArgs,
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    s.parse::<Scope>().map_err(|e| e.to_string())
}

/// Run `sealbox seal`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    if args.cluster.wants_cluster() {
        return crate::commands::cluster::run(&args);
    }
    if args.raw {
        return seal_raw(global, &args);
    }
    let target = cert::sealing_target(args.cert.as_deref(), global)?;
    let (source, text) = read_input(args.secret_file.as_deref())?;
    let documents = expand_lists(
        parse_documents(&source, &text).map_err(|e| fail(Code::MalformedInput, e.to_string()))?,
    );
    let secrets = documents
        .iter()
        .map(|doc| read_secret(&source, doc))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if secrets.is_empty() {
        return Err(fail(
            Code::MalformedInput,
            format!("{source}: no Secret found (the input is empty)"),
        ));
    }

    if let Some(path) = &args.merge_into {
        return merge_into(path, secrets, &args, &target.key);
    }

    let rules = SealRules::from_args(&args, None);
    let mut objects = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let sealed = seal_secret(secret, &rules, &target.key)?;
        objects.push(sealed_secret_value(&sealed));
    }
    let format = args
        .format
        .or_else(|| {
            args.sealed_secret_file
                .as_deref()
                .and_then(Format::from_file_name)
        })
        .unwrap_or(Format::Json);
    write_output(
        args.sealed_secret_file.as_deref(),
        render(&objects, format).as_bytes(),
    )
}

/// How names, namespaces and scopes are decided for every Secret of one run.
pub struct SealRules {
    /// Explicit `--scope`.
    pub scope: Option<Scope>,
    /// `--name`, or the merge target's name.
    pub name: Option<String>,
    /// `-n`, or the merge target's namespace.
    pub namespace: Option<String>,
    /// Whether the namespace is forced (merge) rather than a default/check (`-n`).
    pub force_namespace: bool,
    /// `--allow-empty-data`.
    pub allow_empty_data: bool,
}

impl SealRules {
    fn from_args(args: &Args, merge_target: Option<(&ObjectMeta, Scope)>) -> SealRules {
        match merge_target {
            None => SealRules {
                scope: args.scope,
                name: args.name.clone(),
                namespace: args.namespace.clone(),
                force_namespace: false,
                allow_empty_data: args.allow_empty_data,
            },
            Some((meta, scope)) => SealRules {
                scope: Some(scope),
                name: meta.name.clone(),
                namespace: meta.namespace.clone(),
                force_namespace: true,
                allow_empty_data: args.allow_empty_data,
            },
        }
    }
}

/// Seal one Secret following kubeseal's `Seal` + `NewSealedSecret`.
pub fn seal_secret(
    secret: InputSecret,
    rules: &SealRules,
    key: &PublicKey,
) -> anyhow::Result<SealedSecret> {
    let origin = secret.origin.clone();
    if secret.values.is_empty() && !rules.allow_empty_data {
        return Err(fail(
            Code::EmptyData,
            format!(
                "{origin}: the Secret has no data or stringData; assuming this is a mistake (use --allow-empty-data to seal it anyway)"
            ),
        ));
    }
    let mut meta = secret.metadata;
    if let Some(name) = &rules.name {
        meta.name = Some(name.clone());
    }
    let name = meta.name.clone().filter(|n| !n.is_empty()).ok_or_else(|| {
        fail(
            Code::Scope,
            format!("{origin}: missing metadata.name in the input Secret (or pass --name)"),
        )
    })?;

    if let Some(scope) = rules.scope {
        let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
        scope.write_annotations(annotations);
    }
    let scope = Scope::from_annotations(meta.annotations.as_ref());

    let given_ns = meta.namespace.clone().filter(|n| !n.is_empty());
    let namespace = if rules.force_namespace {
        rules.namespace.clone()
    } else {
        match (&given_ns, &rules.namespace) {
            (Some(input), Some(flag)) if input != flag => {
                return Err(fail(
                    Code::Scope,
                    format!(
                        "{origin}: namespace mismatch: the input Secret is in namespace {input:?} but {flag:?} was given with -n"
                    ),
                ));
            }
            (Some(input), _) => Some(input.clone()),
            (None, Some(flag)) => Some(flag.clone()),
            (None, None) if scope.needs_namespace() => kubeconfig_namespace(),
            (None, None) => None,
        }
    }
    .filter(|n| !n.is_empty());
    if scope.needs_namespace() && namespace.is_none() {
        return Err(fail(
            Code::Scope,
            format!(
                "{origin}: a {scope} SealedSecret needs a namespace: set metadata.namespace, pass -n/--namespace, or use --scope cluster-wide"
            ),
        ));
    }
    meta.namespace = namespace.clone();

    // Server-side and dangerous fields, as kubeseal strips them (plus managedFields).
    meta.self_link = None;
    meta.uid = None;
    meta.resource_version = None;
    meta.generation = None;
    meta.creation_timestamp = None;
    meta.deletion_timestamp = None;
    meta.deletion_grace_period_seconds = None;
    meta.managed_fields = None;
    meta.owner_references = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        for key in LAST_APPLIED_ANNOTATIONS {
            annotations.remove(key);
        }
    }
    if meta.annotations.as_ref().is_some_and(BTreeMap::is_empty) {
        meta.annotations = None;
    }

    let label = Label::new(scope, namespace.as_deref().unwrap_or(""), &name);
    let mut rng = rand::rngs::OsRng;
    let mut encrypted = BTreeMap::new();
    for (k, v) in &secret.values {
        let sealed = envelope::seal_to_base64(&mut rng, key, &label, v)
            .code(Code::BadCertificate, || {
                format!("{origin}: sealing {k:?} failed")
            })?;
        encrypted.insert(k.clone(), sealed);
    }

    let mut top_annotations = BTreeMap::new();
    scope.write_annotations(&mut top_annotations);
    let metadata = ObjectMeta {
        name: Some(name),
        namespace,
        annotations: (!top_annotations.is_empty()).then_some(top_annotations),
        ..ObjectMeta::default()
    };
    Ok(SealedSecret {
        metadata,
        spec: SealedSecretSpec {
            template: Some(SecretTemplateSpec {
                metadata: Some(meta),
                type_: secret.type_.clone(),
                immutable: secret.immutable,
                data: None,
            }),
            data: None,
            encrypted_data: encrypted,
        },
        status: None,
    })
}

/// `--merge-into FILE`: seal with the file's name, namespace and scope, merge, rewrite.
fn merge_into(
    path: &Path,
    secrets: Vec<InputSecret>,
    args: &Args,
    key: &PublicKey,
) -> anyhow::Result<()> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).code(Code::InputUnreadable, || {
        format!("cannot read --merge-into {source}")
    })?;
    let documents = expand_lists(
        parse_documents(&source, &text).map_err(|e| fail(Code::MalformedInput, e.to_string()))?,
    );
    let [document] = documents.as_slice() else {
        return Err(fail(
            Code::MalformedInput,
            format!(
                "{source}: --merge-into needs a file with exactly one SealedSecret, found {} documents",
                documents.len()
            ),
        ));
    };
    let mut target = crate::commands::unseal::read_sealed_secret(&source, document)?;
    let scope = Scope::from_annotations(target.metadata.annotations.as_ref());
    if let Some(asked) = args.scope.filter(|s| *s != scope) {
        return Err(fail(
            Code::Scope,
            format!(
                "{source} is a {scope} SealedSecret; --scope {asked} would make the merged values impossible to open (merge keeps the file's scope)"
            ),
        ));
    }
    let rules = SealRules::from_args(args, Some((&target.metadata, scope)));
    let template = target
        .spec
        .template
        .get_or_insert_with(SecretTemplateSpec::default);
    let template_meta = template.metadata.get_or_insert_with(ObjectMeta::default);
    for secret in secrets {
        let update = seal_secret(secret, &rules, key)?;
        target
            .spec
            .encrypted_data
            .extend(update.spec.encrypted_data);
        let update_template = update.spec.template.unwrap_or_default();
        let update_meta = update_template.metadata.unwrap_or_default();
        if let Some(annotations) = update_meta.annotations {
            template_meta
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .extend(annotations);
        }
        if let Some(labels) = update_meta.labels {
            template_meta
                .labels
                .get_or_insert_with(BTreeMap::new)
                .extend(labels);
        }
        if let Some(data) = update_template.data {
            template.data.get_or_insert_with(BTreeMap::new).extend(data);
        }
    }
    let format = args.format.unwrap_or_else(|| Format::of_text(&text));
    let rendered = render(&[sealed_secret_value(&target)], format);
    write_atomically(path, rendered.as_bytes(), FileMode::Shareable)
        .code(Code::CouldNotWriteOutput, || {
            format!("cannot write {source}")
        })
}

/// `--raw`: seal one value and print its base64 (no newline), like kubeseal.
fn seal_raw(global: &Global, args: &Args) -> anyhow::Result<()> {
    let value: Zeroizing<Vec<u8>> = match args.from_file.as_slice() {
        [] => {
            let mut buf = Zeroizing::new(Vec::new());
            std::io::stdin()
                .read_to_end(&mut buf)
                .code(Code::InputUnreadable, || "cannot read stdin".to_owned())?;
            buf
        }
        [spec] => {
            let path = spec.split_once('=').map_or(spec.as_str(), |(_, p)| p);
            Zeroizing::new(std::fs::read(path).code(Code::InputUnreadable, || {
                format!("cannot read --from-file {path}")
            })?)
        }
        _ => {
            return Err(fail(
                Code::Usage,
                "--raw seals one value: give --from-file at most once",
            ));
        }
    };
    let scope = args.scope.unwrap_or_default();
    let namespace = match &args.namespace {
        Some(ns) => Some(ns.clone()),
        None if scope.needs_namespace() => kubeconfig_namespace(),
        None => None,
    };
    if scope.needs_namespace() && namespace.as_deref().is_none_or(str::is_empty) {
        return Err(fail(
            Code::Scope,
            format!("must provide the --namespace flag with --raw and --scope {scope}"),
        ));
    }
    if scope.needs_name() && args.name.as_deref().is_none_or(str::is_empty) {
        return Err(fail(
            Code::Scope,
            "must provide the --name flag with --raw and --scope strict",
        ));
    }
    let target = cert::sealing_target(args.cert.as_deref(), global)?;
    let label = Label::new(
        scope,
        namespace.as_deref().unwrap_or(""),
        args.name.as_deref().unwrap_or(""),
    );
    let sealed = envelope::seal_to_base64(&mut rand::rngs::OsRng, &target.key, &label, &value)
        .code(Code::BadCertificate, || "sealing failed".to_owned())?;
    write_output(args.sealed_secret_file.as_deref(), sealed.as_bytes())
}

/// Read `-f FILE` (or stdin for `None`/`-`) into a buffer wiped on drop. Returns the
/// name used in messages.
pub fn read_input(path: Option<&Path>) -> anyhow::Result<(String, Zeroizing<String>)> {
    match path.filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .code(Code::InputUnreadable, || format!("cannot read {name}"))?;
            Ok((name, Zeroizing::new(text)))
        }
        None => {
            let mut text = Zeroizing::new(String::new());
            std::io::stdin()
                .read_to_string(&mut text)
                .code(Code::InputUnreadable, || {
                    "cannot read stdin (is it UTF-8?)".to_owned()
                })?;
            Ok(("<stdin>".to_owned(), text))
        }
    }
}

/// Write to `-w FILE` atomically, or to stdout.
pub fn write_output(path: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match path.filter(|p| p.as_os_str() != "-") {
        Some(path) => write_atomically(path, bytes, FileMode::Shareable)
            .code(Code::CouldNotWriteOutput, || {
                format!("cannot write {}", path.display())
            }),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .code(Code::CouldNotWriteOutput, || {
                    "cannot write to stdout".to_owned()
                })
        }
    }
}

/// The namespace of the current kubeconfig context (`default` if it names none), as
/// kubeseal falls back to; `None` without a usable kubeconfig.
pub fn kubeconfig_namespace() -> Option<String> {
    let config = kube::config::Kubeconfig::read().ok()?;
    let current = config.current_context.as_deref()?;
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == current)?
        .context
        .as_ref()?;
    Some(
        context
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned()),
    )
}
