//! `sealbox keys`: the local keyring of sealing keys (init, list, rotate, export-cert,
//! backup, import), stored exactly as the Bitnami controller stores its keys; and
//! `export-age`, the keyring's age identity for SOPS files (as a Flux decryption Secret
//! with `--flux`).

use std::path::PathBuf;

use jiff::{SignedDuration, Timestamp};
use sealbox_keys::sealing::backup::{
    ManifestFormat, backup_list, import_keys, not_before_for_bare_key,
};
use sealbox_keys::sealing::{
    Certificate, CertificateOptions, DEFAULT_KEY_PREFIX, KeySize, Keyring, RotationPolicy,
    SealingKey, SystemClock,
};
use secrecy::ExposeSecret as _;

use super::seal::write_output;
use crate::Global;
use crate::exit::{Code, WithCode as _, fail};
use crate::keyring_dir::{FileMode, KEY_NAMESPACE, KeyringDir, write_atomically};

/// Manage the local keyring of sealing keys.
#[derive(Debug, clap::Args)]
#[command(
    long_about = "Manage the local keyring of sealing keys (default ~/.config/sealbox, or \
--keyring DIR / SEALBOX_KEYRING). Each key is stored as a kubernetes.io/tls Secret like the \
Bitnami controller's, so `keys backup` is exactly what\n  kubectl get secret -n kube-system \
-l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml\nprints, and `keys import` takes that \
backup back."
)]
pub struct Args {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysCommand {
    /// Create the keyring with one RSA key and certificate (does nothing if it has keys).
    Init(InitArgs),
    /// List the keys, newest (the sealing key) first.
    List,
    /// Make a new sealing key; older keys stay for unsealing.
    Rotate(RotateArgs),
    /// Print the sealing certificate (what the controller serves at /v1/cert.pem).
    ExportCert(ExportCertArgs),
    /// Print the age identity for SOPS files (--flux: as the Secret Flux decrypts with).
    ExportAge(ExportAgeArgs),
    /// Print every key as a v1 List of key Secrets (a kubectl-compatible backup).
    Backup(BackupArgs),
    /// Add keys from a key backup (v1 List), key Secret(s), or PEM private keys.
    Import(ImportArgs),
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// RSA key size in bits (2048, 3072 or 4096; the controller uses 4096).
    #[arg(long, default_value_t = 4096, value_name = "BITS", value_parser = parse_key_size)]
    key_size: usize,
}

#[derive(Debug, clap::Args)]
struct RotateArgs {
    /// Only make a key if the newest is older than --renew-period.
    #[arg(long)]
    if_due: bool,
    /// With --if-due: how old the newest key may get (controller default 720h).
    #[arg(long, default_value = "720h", value_name = "DURATION", value_parser = parse_duration)]
    renew_period: SignedDuration,
    /// RSA key size in bits.
    #[arg(long, default_value_t = 4096, value_name = "BITS", value_parser = parse_key_size)]
    key_size: usize,
}

#[derive(Debug, clap::Args)]
struct ExportCertArgs {
    /// Write the certificate to FILE instead of stdout.
    #[arg(short = 'w', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
#[command(
    long_about = "Print the keyring's age identity (the private key SOPS files are encrypted to \
by default), as age-keygen writes it: for SOPS_AGE_KEY_FILE, a mounted Secret, another machine.\n\n\
With --flux, print it as the Secret Flux's kustomize-controller reads for \
`spec.decryption.provider: sops` (entry identity.agekey; Flux reads every *.agekey entry):\n  \
sealbox keys export-age --flux | kubectl apply -f -\n\
and name it in the Kustomization's spec.decryption.secretRef.\n\n\
The output holds a private key: keep it out of Git and logs."
)]
struct ExportAgeArgs {
    /// Print a Kubernetes Secret for Flux's kustomize-controller instead of the bare identity.
    #[arg(long)]
    flux: bool,
    /// With --flux: namespace of the Secret (the Flux Kustomization's namespace).
    #[arg(long, default_value = "flux-system", value_name = "NAMESPACE", value_parser = parse_dns_label, requires = "flux")]
    namespace: String,
    /// With --flux: name of the Secret (spec.decryption.secretRef.name).
    #[arg(long, default_value = "sops-age", value_name = "NAME", value_parser = parse_dns_subdomain, requires = "flux")]
    name: String,
    /// Write to FILE (mode 0600) instead of stdout.
    #[arg(short = 'w', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct BackupArgs {
    /// Write the backup to FILE (mode 0600) instead of stdout.
    #[arg(short = 'w', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Output format (yaml like `kubectl -o yaml`, or json).
    #[arg(
        short = 'o',
        long = "format",
        value_enum,
        default_value = "yaml",
        value_name = "FORMAT"
    )]
    format: BackupFormat,
    /// Namespace written into the key Secrets (where the controller will find them).
    #[arg(short = 'n', long, default_value = KEY_NAMESPACE, value_name = "NAMESPACE")]
    namespace: String,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum BackupFormat {
    Yaml,
    Json,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    /// Files to import (`-` for stdin).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

fn parse_key_size(s: &str) -> Result<usize, String> {
    let bits: usize = s
        .parse()
        .map_err(|_| format!("{s:?} is not a number of bits"))?;
    KeySize::from_bits(bits)
        .map(KeySize::bits)
        .ok_or_else(|| "key size must be 2048, 3072 or 4096".to_owned())
}

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    s.parse::<SignedDuration>()
        .map_err(|e| format!("{s:?} is not a duration like 720h or 30m: {e}"))
}

fn key_size(bits: usize) -> KeySize {
    KeySize::from_bits(bits).expect("validated by the argument parser")
}

/// Run `sealbox keys ...`.
pub fn run(global: &Global, args: Args) -> anyhow::Result<()> {
    let dir = KeyringDir::resolve(global)?;
    match args.command {
        KeysCommand::Init(a) => {
            init(&dir, key_size(a.key_size))?;
            init_age_identity(&dir)
        }
        KeysCommand::List => list(&dir),
        KeysCommand::Rotate(a) => rotate(&dir, &a),
        KeysCommand::ExportCert(a) => export_cert(&dir, a.output),
        KeysCommand::ExportAge(a) => export_age(&dir, &a),
        KeysCommand::Backup(a) => backup(&dir, &a),
        KeysCommand::Import(a) => import(&dir, &a.files),
    }
}

/// What `init` did.
pub enum InitOutcome {
    /// A new key was made.
    Created(Box<SealingKey>),
    /// The keyring already had this many keys; nothing was changed.
    AlreadyInitialised(usize),
}

/// Create the keyring with one key unless it already has keys (never overwrites).
pub fn init(dir: &KeyringDir, size: KeySize) -> anyhow::Result<InitOutcome> {
    let ring = dir.load()?;
    if !ring.is_empty() {
        eprintln!(
            "keyring at {} already has {} key(s); newest {} — nothing to do",
            dir.root().display(),
            ring.len(),
            ring.newest()
                .map(|k| k.key_id().to_string())
                .unwrap_or_default()
        );
        return Ok(InitOutcome::AlreadyInitialised(ring.len()));
    }
    let key = SealingKey::generate(
        SealingKey::generate_name(DEFAULT_KEY_PREFIX),
        size,
        &CertificateOptions::starting_at(Timestamp::now()),
    )
    .code(Code::Keyring, || "cannot generate a sealing key".to_owned())?;
    let path = dir.save_key(&key)?;
    eprintln!(
        "created sealing key {} ({} bits, valid until {}) in {}",
        key.key_id(),
        key.private_key().bits(),
        key.certificate().not_after().strftime("%Y-%m-%d"),
        path.display()
    );
    Ok(InitOutcome::Created(Box::new(key)))
}

/// The age identity SOPS files are encrypted to by default (`sealbox encrypt` without
/// recipients), created next to the sealing keys if missing.
fn init_age_identity(dir: &KeyringDir) -> anyhow::Result<()> {
    let (recipient, created) = dir.ensure_age_identity()?;
    if created {
        eprintln!(
            "created age identity for SOPS files in {} (recipient {recipient})",
            dir.age_keys_path().display()
        );
    } else {
        eprintln!("age identity for SOPS files: recipient {recipient} — nothing to do");
    }
    Ok(())
}

fn list(dir: &KeyringDir) -> anyhow::Result<()> {
    let age = dir.age_recipient()?;
    let ring = match age {
        Some(_) => dir.load()?,
        None => dir.load_required()?,
    };
    if !ring.is_empty() {
        list_sealing_keys(&ring);
    }
    if let Some(recipient) = age {
        if !ring.is_empty() {
            println!();
        }
        println!(
            "SOPS AGE RECIPIENT ({})\n{recipient}",
            dir.age_keys_path().display()
        );
    }
    Ok(())
}

fn list_sealing_keys(ring: &Keyring) {
    println!(
        "{:<28} {:<51} {:>5}  {:<20} {:<20} ROLE",
        "NAME", "FINGERPRINT", "BITS", "NOT BEFORE", "NOT AFTER"
    );
    for (i, key) in ring.iter().enumerate() {
        let cert = key.certificate();
        println!(
            "{:<28} {:<51} {:>5}  {:<20} {:<20} {}",
            key.name(),
            key.key_id().as_str(),
            key.private_key().bits(),
            cert.not_before().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            cert.not_after().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            if i == 0 { "sealing" } else { "unsealing only" }
        );
    }
}

fn rotate(dir: &KeyringDir, args: &RotateArgs) -> anyhow::Result<()> {
    let mut ring = dir.load_required()?;
    let policy = RotationPolicy {
        renew_period: Some(args.renew_period),
        key_size: key_size(args.key_size),
        ..RotationPolicy::default()
    };
    let clock = SystemClock;
    let older = ring.len();
    let made = if args.if_due {
        ring.rotate_if_due(&policy, &clock)
    } else {
        ring.rotate(&policy, &clock).map(Some)
    }
    .code(Code::Keyring, || "cannot generate a sealing key".to_owned())?;
    match made {
        Some(key) => {
            let path = dir.save_key(key)?;
            eprintln!(
                "new sealing key {} in {}; {} older key(s) kept for unsealing",
                key.key_id(),
                path.display(),
                older
            );
        }
        None => {
            let newest = ring.newest().expect("load_required");
            eprintln!(
                "newest key {} is from {}; not due before {} — nothing to do",
                newest.key_id(),
                newest.not_before(),
                policy
                    .next_due(&ring)
                    .map_or_else(|| "never".to_owned(), |t| t.to_string())
            );
        }
    }
    Ok(())
}

fn export_cert(dir: &KeyringDir, output: Option<PathBuf>) -> anyhow::Result<()> {
    let ring = dir.load_required()?;
    let pem = ring.newest().expect("load_required").certificate().to_pem();
    write_output(output.as_deref(), pem.as_bytes())
}

/// The entry Flux's kustomize-controller reads age identities from (any `*.agekey` key of
/// the decryption Secret's data; see spec/sops.md §9.1).
pub const FLUX_AGE_ENTRY: &str = "identity.agekey";

fn export_age(dir: &KeyringDir, args: &ExportAgeArgs) -> anyhow::Result<()> {
    let path = dir.age_keys_path();
    // Validates the file (a readable, parseable identity) before printing anything.
    if dir.age_recipient()?.is_none() {
        return Err(fail(
            Code::Keyring,
            format!(
                "the keyring has no age identity ({} is missing); create one with `sealbox keys init`",
                path.display()
            ),
        ));
    }
    let identity = zeroize::Zeroizing::new(
        std::fs::read_to_string(&path)
            .code(Code::Keyring, || format!("cannot read {}", path.display()))?,
    );
    let text = if args.flux {
        flux_age_secret(&identity, &args.namespace, &args.name)?
    } else {
        identity
    };
    match args.output.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(out) => write_atomically(out, text.as_bytes(), FileMode::Private)
            .code(Code::CouldNotWriteOutput, || {
                format!("cannot write {}", out.display())
            }),
        None => write_output(None, text.as_bytes()),
    }
}

/// The Secret `kubectl create secret generic NAME -n NAMESPACE
/// --from-file=identity.agekey=keys.txt` makes, as YAML.
fn flux_age_secret(
    identity: &str,
    namespace: &str,
    name: &str,
) -> anyhow::Result<zeroize::Zeroizing<String>> {
    use base64::Engine as _;
    let encoded = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD.encode(identity.as_bytes()),
    );
    let mut data = serde_json::Map::new();
    data.insert(
        FLUX_AGE_ENTRY.to_owned(),
        serde_json::Value::String(encoded.to_string()),
    );
    let mut secret = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "type": "Opaque",
    });
    secret["data"] = serde_json::Value::Object(data);
    // One line per value (no folded block scalar): what `kubectl get -o yaml` prints.
    let mut options = serde_saphyr::SerializerOptions::default();
    options.prefer_block_scalars = false;
    let text = serde_saphyr::to_string_with_options(&secret, options)
        .map(zeroize::Zeroizing::new)
        .code(Code::Generic, || {
            "cannot render the Secret as YAML".to_owned()
        });
    zeroize_json(secret);
    text
}

/// Overwrite the strings of a JSON value before it is dropped (it held a private key).
fn zeroize_json(mut value: serde_json::Value) {
    use zeroize::Zeroize as _;
    match &mut value {
        serde_json::Value::String(s) => s.zeroize(),
        serde_json::Value::Object(m) => {
            for (_, v) in std::mem::take(m) {
                zeroize_json(v);
            }
        }
        serde_json::Value::Array(a) => a.drain(..).for_each(zeroize_json),
        _ => {}
    }
}

fn parse_dns_label(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    ok.then(|| s.to_owned()).ok_or_else(|| {
        format!("{s:?} is not a namespace name (lowercase letters, digits and '-', at most 63)")
    })
}

fn parse_dns_subdomain(s: &str) -> Result<String, String> {
    (is_dns_subdomain(s) && !s.ends_with(['-', '.']))
        .then(|| s.to_owned())
        .ok_or_else(|| {
            format!(
                "{s:?} is not a Secret name (lowercase letters, digits, '-' and '.', at most 253)"
            )
        })
}

fn backup(dir: &KeyringDir, args: &BackupArgs) -> anyhow::Result<()> {
    let ring = dir.load_required()?;
    let format = match args.format {
        BackupFormat::Yaml => ManifestFormat::Yaml,
        BackupFormat::Json => ManifestFormat::Json,
    };
    let text = backup_list(ring.iter(), &args.namespace, format);
    match args.output.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => write_atomically(path, text.expose_secret().as_bytes(), FileMode::Private)
            .code(Code::CouldNotWriteOutput, || {
                format!("cannot write {}", path.display())
            }),
        None => write_output(None, text.expose_secret().as_bytes()),
    }
}

fn import(dir: &KeyringDir, files: &[PathBuf]) -> anyhow::Result<()> {
    let mut ring: Keyring = dir.load()?;
    // Read and check everything before writing anything.
    let mut pending = Vec::new();
    for path in files {
        let (name, text) = super::seal::read_input(Some(path))?;
        let keys = import_keys(&text).code(Code::Keyring, || name.clone())?;
        pending.push((name, keys));
    }
    let mut added = 0;
    for (source, keys) in pending {
        for key in keys {
            let id = key.private.key_id().clone();
            if ring.get(&id).is_some() {
                eprintln!("{source}: key {id} is already in the keyring; skipped");
                continue;
            }
            let certificate = match key.certificate {
                Some(cert) => cert,
                None => {
                    let oldest = ring.iter().last().map(SealingKey::not_before);
                    let not_before = not_before_for_bare_key(oldest, Timestamp::now());
                    eprintln!(
                        "{source}: key {id} has no certificate; made one valid from {not_before} so it does not become the sealing key"
                    );
                    Certificate::self_signed(
                        &key.private,
                        &CertificateOptions::starting_at(not_before),
                    )
                    .code(Code::Keyring, || format!("{source}: key {id}"))?
                }
            };
            let mut name = key
                .name
                .filter(|n| is_dns_subdomain(n))
                .unwrap_or_else(|| SealingKey::generate_name(DEFAULT_KEY_PREFIX));
            if ring.iter().any(|k| k.name() == name) {
                name = SealingKey::generate_name(DEFAULT_KEY_PREFIX);
            }
            let sealing = SealingKey::new(name, key.private, certificate)
                .code(Code::Keyring, || format!("{source}: key {id}"))?;
            let path = dir.save_key(&sealing)?;
            eprintln!("{source}: imported key {id} as {}", path.display());
            ring.insert(sealing);
            added += 1;
        }
    }
    if added == 0 {
        return Err(fail(
            Code::Keyring,
            "no new key imported (every key given is already in the keyring)",
        ));
    }
    eprintln!(
        "keyring at {} now holds {} key(s); sealing key {}",
        dir.root().display(),
        ring.len(),
        ring.newest()
            .map(|k| k.key_id().to_string())
            .unwrap_or_default()
    );
    Ok(())
}

/// Key names become file names: only what a Kubernetes object name may contain.
fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !name.starts_with(['-', '.'])
}
