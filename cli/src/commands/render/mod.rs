//! `sealbox render`: manifests with every SOPS-encrypted resource decrypted — the Argo CD
//! Config Management Plugin `generate` command, the Helm post-renderer, and (as `sealbox
//! krm` or a binary named `ksops`) a kustomize KRM function / exec plugin.
//!
//! Contract (Argo CD CMP v2, Helm post-renderer): manifests only on stdout, logs only on
//! stderr, a non-zero exit with the file and reason on any failure — and then *nothing* on
//! stdout, because Argo CD with pruning would delete whatever a partial or empty output
//! leaves out. Output is therefore built completely in memory and written at the end.
//!
//! Inputs:
//! * `DIR` with a kustomization → `kustomize build DIR` (see [`source::kustomize_command`]),
//!   then the stream rule below;
//! * `DIR` without one → its `*.yaml|*.yml|*.json` files in path order ([`source`]); a file
//!   is decrypted as a whole (sops semantics: one data key and one MAC per file, all its
//!   documents), every other file is passed through byte for byte; every document must be
//!   a Kubernetes object (`apiVersion` and `kind`);
//! * `-` → a YAML stream on stdin (Helm post-renderer).
//!
//! Stream rule: documents are split at `---` and passed through byte for byte, except those
//! with a `sops` block that has a `mac`. Documents carrying the *same* `sops` block come from
//! one multi-document file (they share its data key and MAC), so they are decrypted together,
//! in stream order, with the MAC verified over all of them; each takes its place again.

mod decrypt;
pub mod krm;
mod resource_list;
mod source;
mod stream;

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sealbox_controller::api::parse_documents;
use sealbox_keys::sops::Format;
use serde_json::Value;

pub use self::decrypt::{Decryptor, parallel_map};
use self::source::{
    find_sources, kustomization_file, kustomize_build, kustomize_command, manifest_files,
    search_root,
};
use self::stream::{RawDocument, join_documents, sops_block, split_documents};
use crate::Global;
use crate::exit::{Code, exit_code_of, fail};
use crate::keyring_dir::KeyringDir;

/// Print manifests with SOPS-encrypted resources decrypted (Argo CD plugin, Helm
/// post-renderer).
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Print the manifests of a directory (or of stdin with `-`) with every \
SOPS-encrypted resource decrypted (MAC verified) and everything else unchanged: the `generate` \
command of an Argo CD Config Management Plugin, and a Helm post-renderer.\n\n\
A directory with a kustomization is built with kustomize first; otherwise its *.yaml, *.yml and \
*.json files are read in path order (dotfiles skipped, subdirectories with --recursive).\n\n\
Identities are found like `sealbox decrypt` finds them: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, \
~/.config/sops/age/keys.txt, SSH keys, the local keyring, SOPS_AGE_KEY_CMD.\n\n\
Manifests go to stdout, messages to stderr; on any failure the exit status is non-zero and \
nothing is printed on stdout.\n\n\
Helm (3.10+): helm install NAME CHART --post-renderer sealbox --post-renderer-args render \
--post-renderer-args -"
)]
pub struct Args {
    /// Directory to render, or `-` to read a YAML stream on stdin.
    #[arg(value_name = "DIR|-", default_value = ".")]
    pub path: PathBuf,
    /// Also read the files of subdirectories (directories without a kustomization).
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Command that builds a kustomization; DIR is appended. Default: `kustomize build` if
    /// kustomize is on PATH, else `kubectl kustomize` (env SEALBOX_KUSTOMIZE_COMMAND).
    #[arg(long, value_name = "COMMAND")]
    pub kustomize_command: Option<String>,
    /// Read the directory's files even if it has a kustomization.
    #[arg(long)]
    pub no_kustomize: bool,
    /// Where the SOPS files of a kustomization live (their MACs are verified there).
    /// Default: the Argo CD repository root, else the enclosing git work tree, else DIR.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Report what was read, skipped and decrypted on stderr.
    #[arg(short, long)]
    pub verbose: bool,
}

/// Run `sealbox render`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let keyring = KeyringDir::resolve(global).ok();
    let decryptor = Decryptor::from_process(keyring.as_ref());
    let rendered = render(&args, &decryptor)?;
    let mut out = std::io::stdout().lock();
    out.write_all(rendered.output.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| fail(Code::CouldNotWriteOutput, format!("writing to stdout: {e}")))?;
    if args.verbose {
        eprintln!(
            "sealbox render: {} document(s), {} decrypted, from {}",
            rendered.documents, rendered.decrypted, rendered.origin
        );
    }
    Ok(())
}

/// What [`render`] produced.
#[derive(Debug)]
pub struct Rendered {
    /// The YAML stream for stdout.
    pub output: String,
    /// Number of output documents (or files, in directory mode).
    pub documents: usize,
    /// How many of them were decrypted.
    pub decrypted: usize,
    /// What was rendered (for messages).
    pub origin: String,
}

/// Render according to `args`; nothing is printed on stdout.
pub fn render(args: &Args, decryptor: &Decryptor) -> anyhow::Result<Rendered> {
    if args.path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| fail(Code::InputUnreadable, format!("<stdin>: cannot read: {e}")))?;
        return render_stream("<stdin>", &text, None, decryptor);
    }
    let dir = &args.path;
    if !dir.is_dir() {
        return Err(fail(
            Code::InputUnreadable,
            format!("{}: not a directory (use `-` for stdin)", dir.display()),
        ));
    }
    if !args.no_kustomize
        && let Some(k) = kustomization_file(dir)
    {
        let argv = kustomize_command(args.kustomize_command.as_deref())?;
        if args.verbose {
            eprintln!(
                "sealbox render: {} found; running {} {}",
                k.display(),
                argv.join(" "),
                dir.display()
            );
        }
        let built = kustomize_build(&argv, dir)?;
        let root = search_root(dir, args.root.as_deref());
        return render_stream(
            &format!("kustomize build {}", dir.display()),
            &built,
            Some(&root),
            decryptor,
        );
    }
    render_directory(dir, args.recursive, args.verbose, decryptor)
}

/// One failure, kept with its exit code until all are reported.
struct Failure {
    message: String,
    code: u8,
}

impl Failure {
    fn new(origin: &str, err: &anyhow::Error) -> Failure {
        Failure {
            message: format!("{origin}: {err:#}"),
            code: exit_code_of(err),
        }
    }
}

/// Report every failure on stderr and return the first as the error (its exit code).
fn fail_all(mut failures: Vec<Failure>) -> anyhow::Error {
    let count = failures.len();
    for f in failures.iter().skip(1) {
        eprintln!("sealbox render: {}", f.message);
    }
    let first = failures.swap_remove(0);
    let suffix = if count > 1 {
        format!(" (and {} more failure(s) above)", count - 1)
    } else {
        String::new()
    };
    anyhow::Error::new(crate::exit::RawExit {
        code: first.code,
        message: format!("{}{suffix}; nothing was printed on stdout", first.message),
    })
}

fn render_directory(
    dir: &Path,
    recursive: bool,
    verbose: bool,
    decryptor: &Decryptor,
) -> anyhow::Result<Rendered> {
    let (files, ignored) = manifest_files(dir, recursive)?;
    if verbose {
        for name in &ignored {
            eprintln!("sealbox render: ignoring {name} (not .yaml, .yml or .json)");
        }
    }
    let results = parallel_map(&files, |file| -> anyhow::Result<(String, bool)> {
        let bytes = std::fs::read(&file.path)
            .map_err(|e| fail(Code::InputUnreadable, format!("cannot read: {e}")))?;
        // Checked before decrypting, so a file that is not YAML/JSON is reported as such
        // (and the parse error positions refer to the file as it is in Git).
        let raw = std::str::from_utf8(&bytes)
            .map_err(|_| fail(Code::MalformedInput, "not UTF-8 text"))?;
        check_objects(raw, file.format)?;
        let (text, decrypted) = match decryptor.open(&bytes, file.format)? {
            Some(opened) => (
                String::from_utf8(opened.plaintext().to_vec())
                    .map_err(|_| fail(Code::MalformedInput, "decrypted text is not UTF-8"))?,
                true,
            ),
            None => (
                String::from_utf8(bytes)
                    .map_err(|_| fail(Code::MalformedInput, "not UTF-8 text"))?,
                false,
            ),
        };
        check_objects(&text, file.format)?;
        Ok((strip_leading_marker(text), decrypted))
    });
    let mut texts = Vec::new();
    let mut failures = Vec::new();
    let mut decrypted = 0;
    for (file, result) in files.iter().zip(results) {
        match result {
            Ok((text, was_decrypted)) => {
                decrypted += usize::from(was_decrypted);
                texts.push(text);
            }
            Err(e) => failures.push(Failure::new(
                &dir.join(&file.name).display().to_string(),
                &e,
            )),
        }
    }
    if !failures.is_empty() {
        return Err(fail_all(failures));
    }
    Ok(Rendered {
        output: join_documents(texts.iter().map(String::as_str)),
        documents: texts.len(),
        decrypted,
        origin: dir.display().to_string(),
    })
}

/// A leading `---` line would make an empty first document once files are joined.
fn strip_leading_marker(text: String) -> String {
    match text.strip_prefix("---\n") {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// Every document of a file must be a Kubernetes object; a file that is not YAML/JSON, or
/// a document without `apiVersion`/`kind`, is refused (Argo CD would fail on it later,
/// with a less precise message). Messages never quote the file.
fn check_objects(text: &str, format: Format) -> anyhow::Result<()> {
    let docs = parse_documents("file", text).map_err(|e| {
        fail(
            Code::MalformedInput,
            format!(
                "not valid {}: document {}, line {}, column {}: {}",
                if format == Format::Json {
                    "JSON"
                } else {
                    e.format
                },
                e.document,
                e.line,
                e.column,
                e.reason
            ),
        )
    })?;
    for doc in &docs {
        let ok = doc.value.is_object()
            && doc
                .value
                .get("apiVersion")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
            && doc
                .value
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty());
        if !ok {
            return Err(fail(
                Code::WrongKind,
                format!(
                    "{doc}: not a Kubernetes object (expected a mapping with apiVersion and kind)"
                ),
            ));
        }
    }
    Ok(())
}

/// Render a YAML stream: see the module documentation for the grouping rule.
pub fn render_stream(
    origin: &str,
    text: &str,
    sources_root: Option<&Path>,
    decryptor: &Decryptor,
) -> anyhow::Result<Rendered> {
    let docs = split_documents(text);
    let mut failures = Vec::new();
    // Groups of document indices that share one sops block, in order of first appearance.
    // The MAC (an ENC[…] string with a random IV) identifies one encryption of one file.
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut by_mac: HashMap<String, usize> = HashMap::new();
    for (i, doc) in docs.iter().enumerate() {
        match sops_block(doc) {
            Ok(None) => {}
            Ok(Some(block)) => {
                let mac = block["mac"].as_str().unwrap_or_default().to_owned();
                let g = *by_mac.entry(mac.clone()).or_insert_with(|| {
                    groups.push((mac, Vec::new()));
                    groups.len() - 1
                });
                groups[g].1.push(i);
            }
            Err(reason) => failures.push(Failure {
                message: format!("{origin}: {}: {reason}", describe_doc(i, doc)),
                code: Code::MalformedInput.as_u8(),
            }),
        }
    }
    if !failures.is_empty() {
        return Err(fail_all(failures));
    }
    let sources = sources_root.map(|root| {
        let macs: Vec<String> = groups.iter().map(|(m, _)| m.clone()).collect();
        (root, find_sources(root, &macs))
    });
    let results = parallel_map(&groups, |(mac, group)| match &sources {
        None => decrypt_group(&docs, group, decryptor),
        Some((root, found)) => match found.get(mac) {
            Some(path) => decrypt_group_from_source(&docs, group, path, decryptor),
            None => Err(fail(
                Code::Generic,
                format!(
                    "encrypted, but no SOPS file under {} holds this document's MAC; kustomize \
reorders keys, so render verifies the MAC on the source file (set --root to the directory \
that contains it)",
                    root.display()
                ),
            )),
        },
    });
    let mut slots: Vec<String> = docs.iter().map(|d| d.text.clone()).collect();
    let mut decrypted = 0;
    for ((_, group), result) in groups.iter().zip(results) {
        match result {
            Ok(plain) => {
                for (&i, text) in group.iter().zip(plain) {
                    slots[i] = text;
                    decrypted += 1;
                }
            }
            Err(e) => {
                let which: Vec<String> = group.iter().map(|&i| describe_doc(i, &docs[i])).collect();
                failures.push(Failure::new(
                    &format!("{origin}: {}", which.join(" + ")),
                    &e,
                ));
            }
        }
    }
    if !failures.is_empty() {
        return Err(fail_all(failures));
    }
    Ok(Rendered {
        output: join_documents(slots.iter().map(String::as_str)),
        documents: slots.len(),
        decrypted,
        origin: origin.to_owned(),
    })
}

/// "document 3 (line 41, Secret demo/db)": where a document is, without its content.
fn describe_doc(index: usize, doc: &RawDocument) -> String {
    let what = parse_documents("document", &doc.text)
        .ok()
        .and_then(|d| d.into_iter().next())
        .map(|d| {
            let kind = d
                .value
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            let name = d.name().unwrap_or("?").to_owned();
            match d
                .value
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
            {
                Some(ns) => format!(", {kind} {ns}/{name}"),
                None => format!(", {kind} {name}"),
            }
        })
        .unwrap_or_default();
    format!("document {} (line {}{what})", index + 1, doc.line)
}

/// Decrypt documents that a kustomize build copied out of the SOPS file at `source`: the
/// file itself is opened (data key recovered, MAC verified over the file as written), then
/// the documents are opened with its data key. kustomize sorts keys and applies
/// transformers, so the documents' own MAC cannot match; every encrypted value is still
/// authenticated by AES-GCM with its key path.
fn decrypt_group_from_source(
    docs: &[RawDocument],
    group: &[usize],
    source: &Path,
    decryptor: &Decryptor,
) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(source).map_err(|e| {
        fail(
            Code::InputUnreadable,
            format!("{}: cannot read: {e}", source.display()),
        )
    })?;
    let format = if source
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        Format::Json
    } else {
        Format::Yaml
    };
    let (_, key) = decryptor
        .open_keeping_key(&bytes, format)
        .map_err(|e| e.context(format!("source file {}", source.display())))?
        .ok_or_else(|| {
            fail(
                Code::Generic,
                format!("source file {}: not SOPS-encrypted", source.display()),
            )
        })?;
    let joined = join_documents(group.iter().map(|&i| docs[i].text.as_str()));
    let opened = decryptor.open_with_key(joined.as_bytes(), &key)?;
    split_plaintext(opened.plaintext(), group.len())
}

fn split_plaintext(plain: &[u8], expected: usize) -> anyhow::Result<Vec<String>> {
    let plain = std::str::from_utf8(plain)
        .map_err(|_| fail(Code::MalformedInput, "decrypted text is not UTF-8"))?;
    let parts: Vec<String> = split_documents(plain).into_iter().map(|d| d.text).collect();
    if parts.len() != expected {
        return Err(fail(
            Code::MalformedInput,
            format!(
                "decrypting {expected} document(s) gave {} document(s)",
                parts.len()
            ),
        ));
    }
    Ok(parts)
}

/// Decrypt the documents of one group together (one data key, one MAC) and return their
/// plaintexts in the same order.
fn decrypt_group(
    docs: &[RawDocument],
    group: &[usize],
    decryptor: &Decryptor,
) -> anyhow::Result<Vec<String>> {
    let joined = join_documents(group.iter().map(|&i| docs[i].text.as_str()));
    let opened = decryptor
        .open(joined.as_bytes(), Format::Yaml)
        .map_err(|e| {
            let message = format!("{e:#}");
            if message.contains("MAC mismatch") {
                anyhow::Error::new(crate::exit::RawExit {
                    code: exit_code_of(&e),
                    message: format!(
                        "{message} (the documents of one SOPS file must reach render unchanged and in \
their original order: a kustomize transformer such as namespace, labels or patches, or a \
reordering, changes what the MAC covers; encrypt with mac_only_encrypted: true, or keep one \
resource per file)"
                    ),
                })
            } else {
                e
            }
        })?
        .context("a document with a sops block was not recognised as encrypted")?;
    split_plaintext(opened.plaintext(), group.len())
}
