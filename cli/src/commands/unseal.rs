//! `sealbox unseal`: kubeseal's `--recovery-unseal`, for every SealedSecret in the input.
//!
//! Keys come from `--recovery-private-key` (PEM, a key Secret, or a `v1 List` backup; the
//! flag repeats and takes comma-separated lists like kubeseal's) or else from the local
//! keyring. Output is the Secret the controller would create, in kubeseal's format. If
//! any SealedSecret fails, nothing is printed.

use std::path::PathBuf;

use jiff::Timestamp;
use sealbox_controller::api::{
    Document, SealedSecret, UnsealOptions, expand_lists, parse_documents, unseal,
};
use sealbox_keys::sealing::backup::import_keys;
use sealbox_keys::sealing::{Certificate, CertificateOptions, Keyring, SealingKey};

use super::seal::input::json_type;
use super::seal::output::{Format, render, secret_value};
use super::seal::{read_input, write_output};
use crate::Global;
use crate::exit::{Code, WithCode as _, fail};
use crate::keyring_dir::KeyringDir;

/// Open SealedSecrets with private keys (kubeseal --recovery-unseal).
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Open SealedSecrets offline and print the Secrets the controller would create \
(labels, annotations, type, immutable, templated data and ownerReferences included). \
The same as `kubeseal --recovery-unseal`:\n\n  \
sealbox unseal --recovery-private-key keys-backup.yaml < sealed.yaml\n\n\
Unlike kubeseal, every SealedSecret in the input is opened (YAML documents, concatenated \
JSON, or a v1 List). Without --recovery-private-key the local keyring is used. Keys are \
tried newest first; -v reports which key opened each object. If any object fails, \
nothing is printed."
)]
pub struct Args {
    /// SealedSecret(s) to open; `-` or absent: stdin.
    #[arg(short = 'f', long = "sealed-secret-file", value_name = "FILE")]
    pub sealed_secret_file: Option<PathBuf>,

    /// Write the Secret(s) to FILE (atomically, mode 0600) instead of stdout.
    #[arg(short = 'w', long = "secret-file", value_name = "FILE")]
    pub secret_file: Option<PathBuf>,

    /// Output format.
    #[arg(short = 'o', long = "format", value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Private key file(s): PEM (PKCS#1/PKCS#8), a kubernetes.io/tls key Secret, or a v1 List
    /// key backup. Repeatable and comma-separated. Default: the local keyring.
    #[arg(
        long = "recovery-private-key",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub recovery_private_key: Vec<PathBuf>,

    /// Accepted for kubeseal compatibility; unsealing is what this command does.
    #[arg(long = "recovery-unseal", hide = true)]
    pub recovery_unseal: bool,

    /// Report on stderr which key (fingerprint) opened each SealedSecret.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Run `sealbox unseal`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let keyring = if args.recovery_private_key.is_empty() {
        KeyringDir::resolve(global)?.load_required()?
    } else {
        recovery_keyring(&args.recovery_private_key)?
    };
    let (source, text) = read_input(args.sealed_secret_file.as_deref())?;
    let documents = expand_lists(
        parse_documents(&source, &text).map_err(|e| fail(Code::MalformedInput, e.to_string()))?,
    );
    if documents.is_empty() {
        return Err(fail(
            Code::MalformedInput,
            format!("{source}: no SealedSecret found (the input is empty)"),
        ));
    }

    let mut secrets = Vec::with_capacity(documents.len());
    let mut reports = Vec::new();
    for document in &documents {
        let sealed = read_sealed_secret(&source, document)?;
        let what = describe(&source, document, &sealed);
        let unsealed = unseal(&sealed, &keyring, &UnsealOptions::default()).map_err(|e| {
            let code = if e.is_template() {
                Code::Template
            } else {
                Code::CannotUnseal
            };
            fail(code, format!("{what}: {e}"))
        })?;
        if args.verbose {
            reports.push(report(&what, &unsealed, &keyring));
        }
        secrets.push(secret_value(&unsealed.secret));
    }
    for line in reports {
        eprintln!("{line}");
    }
    let format = args
        .format
        .or_else(|| args.secret_file.as_deref().and_then(Format::from_file_name))
        .unwrap_or(Format::Json);
    let rendered = zeroize::Zeroizing::new(render(&secrets, format));
    match args.secret_file.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => crate::keyring_dir::write_atomically(
            path,
            rendered.as_bytes(),
            crate::keyring_dir::FileMode::Private,
        )
        .code(Code::CouldNotWriteOutput, || {
            format!("cannot write {}", path.display())
        }),
        None => write_output(None, rendered.as_bytes()),
    }
}

/// "<stdin>: document 2 (line 9) SealedSecret demo/db-credentials"
fn describe(source: &str, document: &Document, sealed: &SealedSecret) -> String {
    let name = sealed.metadata.name.as_deref().unwrap_or("(no name)");
    match sealed.metadata.namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{source}: {document} SealedSecret {ns}/{name}"),
        _ => format!("{source}: {document} SealedSecret {name}"),
    }
}

fn report(what: &str, unsealed: &sealbox_controller::api::Unsealed, keyring: &Keyring) -> String {
    let mut ids: Vec<_> = unsealed.opened_by.values().collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return format!("{what}: nothing sealed (no encryptedData)");
    }
    let keys: Vec<String> = ids
        .iter()
        .map(|id| match keyring.get(id) {
            Some(k) => format!("{id} ({})", k.name()),
            None => id.to_string(),
        })
        .collect();
    format!("{what}: opened with key {}", keys.join(", "))
}

/// A document as a SealedSecret, or a clear error (wrong kind, bad shape).
pub fn read_sealed_secret(source: &str, document: &Document) -> anyhow::Result<SealedSecret> {
    let (api_version, kind) = document.type_meta();
    if kind != "SealedSecret" || api_version != "bitnami.com/v1alpha1" {
        let found = if document.value.is_object() {
            format!(
                "{} {}",
                if api_version.is_empty() {
                    "(no apiVersion)"
                } else {
                    api_version
                },
                if kind.is_empty() { "(no kind)" } else { kind }
            )
        } else {
            json_type(&document.value).to_owned()
        };
        return Err(fail(
            Code::WrongKind,
            format!(
                "{source}: {document}: expected a bitnami.com/v1alpha1 SealedSecret, found {found}"
            ),
        ));
    }
    // SealedSecrets hold only ciphertext and templates, so serde's messages are safe here.
    serde_json::from_value::<SealedSecret>(document.value.clone()).map_err(|e| {
        fail(
            Code::MalformedInput,
            format!("{source}: {document}: not a valid SealedSecret: {e}"),
        )
    })
}

/// Build a keyring from `--recovery-private-key` files. Keys without a certificate get a
/// throw-away one dated at the epoch: it is only used to order keys (oldest last).
fn recovery_keyring(paths: &[PathBuf]) -> anyhow::Result<Keyring> {
    let mut ring = Keyring::new();
    for path in paths {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).code(Code::InputUnreadable, || {
            format!("cannot read --recovery-private-key {name}")
        })?;
        let keys =
            import_keys(&text).code(Code::Keyring, || format!("--recovery-private-key {name}"))?;
        for (i, key) in keys.into_iter().enumerate() {
            let cert = match key.certificate {
                Some(cert) => cert,
                None => Certificate::self_signed(
                    &key.private,
                    &CertificateOptions::starting_at(Timestamp::UNIX_EPOCH),
                )
                .code(Code::Keyring, || format!("--recovery-private-key {name}"))?,
            };
            let key_name = key.name.unwrap_or_else(|| format!("{name}#{i}"));
            let key = SealingKey::new(key_name, key.private, cert)
                .code(Code::Keyring, || format!("--recovery-private-key {name}"))?;
            ring.insert(key);
        }
    }
    Ok(ring)
}
