//! `sealbox quickstart`: on a machine with nothing set up, show the whole loop in one
//! command — create the local keyring (never touching an existing one), seal an example
//! Secret, open it again, do the same with a SOPS file, render a directory of encrypted
//! manifests as the Argo CD plugin does, and print what to run next.
//!
//! It is a list of small steps sharing a [`Context`], so other jobs (SOPS files, ...) can
//! add theirs without touching the existing ones.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rand::Rng as _;
use sealbox_controller::api::{SealedSecret, UnsealOptions, parse_documents, unseal};
use sealbox_keys::sealing::{KeySize, Keyring};
use sealbox_keys::sops;
use zeroize::Zeroizing;

use super::keys::{InitOutcome, init};
use super::render;
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
    (
        "GitOps: render a directory of encrypted manifests as Argo CD would",
        step_render,
    ),
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

/// The Argo CD Config Management Plugin's `generate` command (`sealbox render .` in the
/// Application's directory, see `deploy/argocd/plugin.yaml`) on a small directory: the
/// encrypted example, a second encrypted Secret and a plain ConfigMap. The render happens in
/// memory; only names are printed, and every document is compared with its original.
fn step_render(cx: &mut Context) -> anyhow::Result<()> {
    let (plaintext, encrypted) = cx.sops_example.as_ref().expect("encrypt step ran");
    let recipient = cx
        .dir
        .age_recipient()?
        .ok_or_else(|| fail(Code::Keyring, "the keyring's age identity disappeared"))?;
    let token: String = rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    let token_plain = Zeroizing::new(format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: quickstart-api-token\n  namespace: {EXAMPLE_NAMESPACE}\ntype: Opaque\nstringData:\n  token: {token}\n"
    ));
    let options = sops::EncryptOptions {
        key_groups: vec![vec![
            sops::Recipient::parse(&recipient).map_err(|e| fail(Code::Keyring, e.to_string()))?,
        ]],
        rule: sops::EncryptionRule::from_fields(
            None,
            None,
            None,
            Some("^(data|stringData)$"),
            None,
            None,
        )
        .map_err(|e| fail(Code::Generic, e.to_string()))?,
        ..Default::default()
    };
    let token_encrypted = sops::encrypt(
        token_plain.as_bytes(),
        sops::Format::Yaml,
        &options,
        jiff::Timestamp::now().as_second(),
        &mut rand::thread_rng(),
    )
    .map_err(|e| {
        fail(
            Code::Generic,
            format!("the render example did not encrypt: {e}"),
        )
    })?;
    let settings = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: quickstart-settings\n  namespace: {EXAMPLE_NAMESPACE}\ndata:\n  color: blue\n"
    );
    // Only encrypted files and the ConfigMap go to disk (a private temp dir, removed after).
    let app = tempfile::Builder::new()
        .prefix("sealbox-quickstart-app-")
        .tempdir()
        .map_err(|e| {
            fail(
                Code::Generic,
                format!("cannot create a temp directory: {e}"),
            )
        })?;
    // (file, its plaintext, its bytes on disk), in the path order render reads them.
    let files: [(&str, &str, &[u8]); 3] = [
        ("api-token.enc.yaml", &token_plain, &token_encrypted),
        ("secret.enc.yaml", plaintext, encrypted),
        ("settings.yaml", &settings, settings.as_bytes()),
    ];
    for (name, _, bytes) in &files {
        let path = app.path().join(name);
        std::fs::write(&path, bytes).map_err(|e| {
            fail(
                Code::Generic,
                format!("cannot write {}: {e}", path.display()),
            )
        })?;
    }
    let args = render::Args {
        path: app.path().to_path_buf(),
        recursive: false,
        kustomize_command: None,
        no_kustomize: true,
        root: None,
        verbose: false,
    };
    let rendered = render::render(&args, &render::Decryptor::from_process(Some(&cx.dir)))?;
    let output = Zeroizing::new(rendered.output);
    let got = parse_documents("rendered", &output).map_err(|e| {
        fail(
            Code::Generic,
            format!("the render output does not parse: {e}"),
        )
    })?;
    println!(
        "  app/ holds {} files; `sealbox render app/` (what the plugin runs) printed:\n",
        files.len()
    );
    let mut matches = got.len() == files.len();
    for ((name, plain, bytes), doc) in files.iter().zip(&got) {
        let original = parse_documents(name, plain)
            .map_err(|e| fail(Code::Generic, format!("{name}: {e}")))?;
        matches &= original.len() == 1 && original[0].value == doc.value;
        let meta = &doc.value["metadata"];
        println!(
            "    {name:<20} -> {} {}/{}: {}",
            doc.value["kind"].as_str().unwrap_or_default(),
            meta["namespace"].as_str().unwrap_or_default(),
            meta["name"].as_str().unwrap_or_default(),
            if bytes == &plain.as_bytes() {
                "passed through unchanged"
            } else {
                "decrypted (MAC verified)"
            }
        );
    }
    if !matches {
        return Err(fail(
            Code::Generic,
            "the rendered manifests differ from the originals",
        ));
    }
    println!(
        "\n  {} manifests, {} decrypted, each equal to its original (Argo CD reads them from stdout;\n  here they were compared in memory, not shown). deploy/argocd/ installs the plugin.",
        rendered.documents, rendered.decrypted
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
    println!(
        "  sealbox{keyring} render app/                         # Argo CD plugin: manifests, decrypted
  sealbox{keyring} keys export-age --flux | kubectl apply -f - # the Secret Flux decrypts with
  helm install NAME CHART --post-renderer sealbox --post-renderer-args render --post-renderer-args -"
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
