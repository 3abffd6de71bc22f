//! `sealbox quickstart`: on a machine with nothing set up, show the whole loop in one
//! command — create the local keyring (never touching an existing one), seal an example
//! Secret, open it again, and print what to run next.
//!
//! It is a list of small steps sharing a [`Context`], so other jobs (SOPS files, ...) can
//! add theirs without touching the existing ones.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rand::Rng as _;
use sealbox_controller::api::{SealedSecret, UnsealOptions, unseal};
use sealbox_keys::sealing::{KeySize, Keyring};
use sealbox_keys::sops;
use zeroize::Zeroizing;

use super::keys::{InitOutcome, init};
use super::seal::input::InputSecret;
use super::seal::output::{Format, render, sealed_secret_value};
use super::seal::{SealRules, seal_secret};
use crate::Global;
use crate::exit::{Code, fail};
use crate::keyring_dir::KeyringDir;

/// Set up a local keyring and walk through sealing and unsealing once.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// State shared by the steps.
pub struct Context {
    /// The local keyring directory.
    pub dir: KeyringDir,
    /// The keyring, once loaded or created.
    pub keyring: Option<Keyring>,
    /// The example values (kept to compare after unsealing).
    pub example: BTreeMap<String, Zeroizing<Vec<u8>>>,
    /// The example SealedSecret.
    pub sealed: Option<SealedSecret>,
    /// The SOPS example: its plaintext and the encrypted file.
    pub sops_example: Option<(Zeroizing<String>, Vec<u8>)>,
}

/// One step: a title and what it does.
pub type Step = (&'static str, fn(&mut Context) -> anyhow::Result<()>);

/// The steps, in order.
pub const STEPS: &[Step] = &[
    ("local keyring", step_keyring),
    ("seal an example Secret", step_seal),
    ("open it again", step_unseal),
    (
        "SOPS: encrypt an example file with the keyring's age identity",
        step_sops_encrypt,
    ),
    ("SOPS: decrypt it again", step_sops_decrypt),
    ("what to run next", step_next),
];

const EXAMPLE_NAMESPACE: &str = "demo";
const EXAMPLE_NAME: &str = "quickstart-credentials";

/// Run `sealbox quickstart`.
pub fn run(global: &Global, _args: Args) -> anyhow::Result<()> {
    let mut context = Context {
        dir: KeyringDir::resolve(global)?,
        keyring: None,
        example: BTreeMap::new(),
        sealed: None,
        sops_example: None,
    };
    for (i, (title, step)) in STEPS.iter().enumerate() {
        println!("\n[{}/{}] {title}", i + 1, STEPS.len());
        step(&mut context)?;
    }
    Ok(())
}

fn step_keyring(cx: &mut Context) -> anyhow::Result<()> {
    match init(&cx.dir, KeySize::Rsa4096)? {
        InitOutcome::Created(key) => println!(
            "  created {} with a new 4096-bit sealing key {}\n  (a kubernetes.io/tls key Secret like the Bitnami controller's, mode 0600)",
            cx.dir.root().display(),
            key.key_id()
        ),
        InitOutcome::AlreadyInitialised(n) => println!(
            "  using the existing keyring at {} ({n} key(s)); nothing was changed",
            cx.dir.root().display()
        ),
    }
    cx.keyring = Some(cx.dir.load_required()?);
    Ok(())
}

fn step_seal(cx: &mut Context) -> anyhow::Result<()> {
    let keyring = cx.keyring.as_ref().expect("keyring step ran");
    let newest = keyring.newest().expect("load_required");
    let password: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    cx.example = BTreeMap::from([
        ("username".to_owned(), Zeroizing::new(b"demo".to_vec())),
        ("password".to_owned(), Zeroizing::new(password.into_bytes())),
    ]);
    let input = InputSecret {
        origin: "example Secret".to_owned(),
        metadata: ObjectMeta {
            name: Some(EXAMPLE_NAME.to_owned()),
            namespace: Some(EXAMPLE_NAMESPACE.to_owned()),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".to_owned()),
        immutable: None,
        values: cx.example.clone(),
    };
    let rules = SealRules {
        scope: None,
        name: None,
        namespace: None,
        force_namespace: false,
        allow_empty_data: false,
    };
    let sealed = seal_secret(input, &rules, newest.certificate().public_key())?;
    println!(
        "  sealed Secret {EXAMPLE_NAMESPACE}/{EXAMPLE_NAME} (keys: username, password) to key {} (strict scope):\n",
        newest.key_id()
    );
    for line in render(&[sealed_secret_value(&sealed)], Format::Yaml).lines() {
        println!("    {line}");
    }
    println!("\n  This is safe to commit: only the keyring's private key can open it.");
    cx.sealed = Some(sealed);
    Ok(())
}

fn step_unseal(cx: &mut Context) -> anyhow::Result<()> {
    let keyring = cx.keyring.as_ref().expect("keyring step ran");
    let sealed = cx.sealed.as_ref().expect("seal step ran");
    let unsealed = unseal(sealed, keyring, &UnsealOptions::default())
        .map_err(|e| fail(Code::CannotUnseal, format!("the example did not open: {e}")))?;
    let data = unsealed.secret.data.clone().unwrap_or_default();
    let same = data.len() == cx.example.len()
        && cx
            .example
            .iter()
            .all(|(k, v)| data.get(k).is_some_and(|d| d.0 == **v));
    if !same {
        return Err(fail(
            Code::CannotUnseal,
            "the example opened but its values differ from what was sealed",
        ));
    }
    println!(
        "  opened {EXAMPLE_NAMESPACE}/{EXAMPLE_NAME} with key {}: all {} values match what was sealed",
        unsealed
            .main_key()
            .map(ToString::to_string)
            .unwrap_or_default(),
        data.len()
    );
    Ok(())
}

fn step_sops_encrypt(cx: &mut Context) -> anyhow::Result<()> {
    let (recipient, created) = cx.dir.ensure_age_identity()?;
    println!(
        "  {} age identity {} (recipient {recipient})",
        if created {
            "created the"
        } else {
            "using the existing"
        },
        cx.dir.age_keys_path().display()
    );
    let password: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    let plaintext = Zeroizing::new(format!(
        "# A Secret for Flux / kustomize: only data and stringData are encrypted\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {EXAMPLE_NAME}\n  namespace: {EXAMPLE_NAMESPACE}\ntype: Opaque\nstringData:\n  username: demo\n  password: {password}\n"
    ));
    let options = sops::EncryptOptions {
        key_groups: vec![vec![
            sops::Recipient::parse(&recipient).map_err(|e| fail(Code::Keyring, e.to_string()))?,
        ]],
        rule: Some(
            sops::EncryptionRule::from_fields(
                None,
                None,
                None,
                Some("^(data|stringData)$"),
                None,
                None,
            )
            .map_err(|e| fail(Code::Generic, e.to_string()))?
            .expect("one rule"),
        ),
        ..Default::default()
    };
    let encrypted = sops::encrypt(
        plaintext.as_bytes(),
        sops::Format::Yaml,
        &options,
        jiff::Timestamp::now().as_second(),
        &mut rand::thread_rng(),
    )
    .map_err(|e| {
        fail(
            Code::Generic,
            format!("the SOPS example did not encrypt: {e}"),
        )
    })?;
    println!(
        "  sealbox encrypt --encrypted-regex '^(data|stringData)$' secret.yaml > secret.enc.yaml\n  (with no --age and no creation rule in .sops.yaml, the keyring's recipient is used) gives:\n"
    );
    for line in String::from_utf8_lossy(&encrypted).lines() {
        println!("    {line}");
    }
    println!(
        "\n  sops, Flux and helm-secrets decrypt this file with the same age identity; layout and comments are kept."
    );
    cx.sops_example = Some((plaintext, encrypted));
    Ok(())
}

fn step_sops_decrypt(cx: &mut Context) -> anyhow::Result<()> {
    let (plaintext, encrypted) = cx.sops_example.as_ref().expect("encrypt step ran");
    let path = cx.dir.age_keys_path();
    let keys = Zeroizing::new(std::fs::read_to_string(&path).map_err(|e| {
        fail(
            Code::Keyring,
            format!("cannot read {}: {e}", path.display()),
        )
    })?);
    let mut ids = sops::Identities::new();
    ids.add_age_keys(&keys, &path.display().to_string())
        .map_err(|e| fail(Code::Keyring, e.to_string()))?;
    let opened = sops::OpenedFile::open(
        encrypted,
        sops::Format::Yaml,
        &ids,
        false,
        sops::StoreOptions::default(),
    )
    .map_err(|e| {
        fail(
            Code::Generic,
            format!("the SOPS example did not decrypt: {e}"),
        )
    })?;
    if opened.plaintext() != plaintext.as_bytes() {
        return Err(fail(
            Code::Generic,
            "the SOPS example decrypted, but not to the original bytes",
        ));
    }
    println!(
        "  sealbox decrypt secret.enc.yaml: decrypted with {} — byte-for-byte the original (MAC verified)",
        path.display()
    );
    Ok(())
}

fn step_next(cx: &mut Context) -> anyhow::Result<()> {
    let keyring = if cx.dir.root() == default_dir_hint().as_path() {
        String::new()
    } else {
        format!(" --keyring {}", cx.dir.root().display())
    };
    println!(
        "  sealbox seal{keyring} -f secret.yaml -o yaml -w sealed.yaml   # like kubeseal -o yaml
  sealbox seal{keyring} --raw --from-file=pw.txt -n demo --name db # one value, like kubeseal --raw
  sealbox unseal{keyring} -v < sealed.yaml                         # like kubeseal --recovery-unseal
  sealbox keys{keyring} list                                       # keys, newest seals
  sealbox keys{keyring} export-cert > cert.pem                     # share with people who seal
  sealbox keys{keyring} backup -w keys-backup.yaml                 # keep it somewhere safe!
  kubectl apply -f keys-backup.yaml{pad}# lets a Bitnami controller open them too",
        pad = " ".repeat(23 + keyring.len())
    );
    println!(
        "  sealbox{keyring} encrypt -i secret.yaml              # like sops encrypt -i (sops -e -i)
  sealbox{keyring} decrypt secret.yaml                 # like sops decrypt (sops -d)
  sealbox{keyring} edit secret.yaml                    # like sops edit (sops secret.yaml)
  ln -s \"$(command -v sealbox)\" ~/bin/sops           # sops' own command line, e.g. for helm-secrets"
    );
    Ok(())
}

fn default_dir_hint() -> std::path::PathBuf {
    match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => std::path::PathBuf::from(x).join("sealbox"),
        None => std::env::var_os("HOME")
            .map(|h| std::path::PathBuf::from(h).join(".config/sealbox"))
            .unwrap_or_default(),
    }
}
