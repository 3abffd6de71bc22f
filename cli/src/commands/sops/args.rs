//! Command-line options of the SOPS commands, with sops' flag names.
//!
//! The same structs are filled by clap (native `sealbox encrypt …`) and by the
//! sops-compatible parser ([`super::compat`]), so both modes run exactly the same code.

use std::path::PathBuf;

/// `.sops.yaml` and output layout options every command shares.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// Path to the sops config file; when set, `.sops.yaml` is not searched for (sops
    /// searches from the current directory upwards, not from the file's directory).
    #[arg(long, env = "SOPS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Indentation (spaces) of YAML/JSON output; overrides `stores:` in `.sops.yaml`.
    #[arg(long, value_name = "N")]
    pub indent: Option<usize>,
}

/// Input/output store selection.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TypeArgs {
    /// yaml, json, dotenv, ini or binary; default: from the file extension (binary if unknown).
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// yaml, json, dotenv, ini or binary; default: from the file extension.
    #[arg(long, value_name = "TYPE")]
    pub output_type: Option<String>,
}

/// The six mutually exclusive "which values are encrypted" rules and the MAC variant.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RuleArgs {
    /// Keys (and their subtrees) ending with this suffix stay clear (default `_unencrypted`
    /// when no rule is given).
    #[arg(long, value_name = "SUFFIX")]
    pub unencrypted_suffix: Option<String>,
    /// Only keys (and their subtrees) ending with this suffix are encrypted.
    #[arg(long, value_name = "SUFFIX")]
    pub encrypted_suffix: Option<String>,
    /// Keys matching this regex (and their subtrees) stay clear.
    #[arg(long, value_name = "REGEX")]
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this regex (and their subtrees) are encrypted, e.g.
    /// '^(data|stringData)$' for Kubernetes Secrets.
    #[arg(long, value_name = "REGEX")]
    pub encrypted_regex: Option<String>,
    /// Values preceded by a comment matching this regex stay clear.
    #[arg(long, value_name = "REGEX")]
    pub unencrypted_comment_regex: Option<String>,
    /// Only values preceded by a comment matching this regex are encrypted.
    #[arg(long, value_name = "REGEX")]
    pub encrypted_comment_regex: Option<String>,
    /// Compute the MAC only over values that end up encrypted (clear fields may then be
    /// edited without re-encrypting).
    #[arg(long)]
    pub mac_only_encrypted: bool,
}

/// Who can open a new file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// Comma-separated age recipients (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`).
    #[arg(
        short = 'a',
        long,
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS"
    )]
    pub age: Option<String>,
    /// PGP fingerprints (sealbox cannot encrypt to PGP; given only to report that clearly).
    #[arg(short = 'p', long, env = "SOPS_PGP_FP", hide = true)]
    pub pgp: Option<String>,
    /// AWS KMS ARNs (not supported by sealbox).
    #[arg(short = 'k', long, env = "SOPS_KMS_ARN", hide = true)]
    pub kms: Option<String>,
    /// GCP KMS resource IDs (not supported by sealbox).
    #[arg(long, env = "SOPS_GCP_KMS_IDS", hide = true)]
    pub gcp_kms: Option<String>,
    /// Azure Key Vault URLs (not supported by sealbox).
    #[arg(long, env = "SOPS_AZURE_KEYVAULT_URLS", hide = true)]
    pub azure_kv: Option<String>,
    /// Vault transit URIs (not supported by sealbox).
    #[arg(long, env = "SOPS_VAULT_URIS", hide = true)]
    pub hc_vault_transit: Option<String>,
    /// HuaweiCloud KMS key IDs (not supported by sealbox).
    #[arg(long, env = "SOPS_HUAWEICLOUD_KMS_IDS", hide = true)]
    pub hckms: Option<String>,
    /// Number of key groups needed to recover the data key (Shamir); default: all groups,
    /// or `shamir_threshold` of the creation rule.
    #[arg(long, value_name = "N")]
    pub shamir_secret_sharing_threshold: Option<usize>,
}

impl KeyArgs {
    /// Key types given that sealbox cannot encrypt to, as (flag, value).
    pub fn foreign(&self) -> Vec<(&'static str, &str)> {
        [
            ("--pgp", &self.pgp),
            ("--kms", &self.kms),
            ("--gcp-kms", &self.gcp_kms),
            ("--azure-kv", &self.azure_kv),
            ("--hc-vault-transit", &self.hc_vault_transit),
            ("--hckms", &self.hckms),
        ]
        .into_iter()
        .filter_map(|(f, v)| v.as_deref().filter(|s| !s.is_empty()).map(|s| (f, s)))
        .collect()
    }
}

/// Decryption options.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DecryptionArgs {
    /// Decrypt even if the MAC does not match (or cannot be decrypted).
    #[arg(long)]
    pub ignore_mac: bool,
    /// Comma-separated key types to try first (sealbox only has age keys; checked like sops).
    #[arg(long, env = "SOPS_DECRYPTION_ORDER", value_name = "TYPES")]
    pub decryption_order: Option<String>,
}

/// Encrypt a file's values (sops-compatible output).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Encrypt the values of a YAML, JSON, dotenv, INI or binary file \
(sops-compatible: `sops decrypt` and Flux open the result). Output goes to stdout unless \
-i/--output is given.\n\n\
Recipients: --age, else SOPS_AGE_RECIPIENTS, else the matching creation rule of .sops.yaml \
(searched from the current directory upwards, or --config). When none of these names a \
recipient, sealbox encrypts to the age identity of the local keyring (creating it on first \
use), so it works with no setup; `sealbox keys list` shows that recipient.\n\n\
YAML keeps its layout: comments, order, quoting and blank lines are untouched, only values \
(and comments) are replaced by ENC[...] and a sops: block is appended."
)]
pub struct EncryptArgs {
    /// The file to encrypt (stdin if absent; then --filename-override is required).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Write back to FILE (atomically, keeping its permissions).
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Use this name instead of FILE for the creation rule and the file type.
    #[arg(long, value_name = "NAME")]
    pub filename_override: Option<PathBuf>,
    #[command(flatten)]
    pub types: TypeArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Decrypt a sops-encrypted file.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Decrypt a sops-encrypted file to stdout (or -i/--output). \
Identities are looked for like sops does: SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, \
SOPS_AGE_KEY_CMD, SOPS_AGE_SSH_PRIVATE_KEY_FILE or ~/.ssh/id_ed25519 and ~/.ssh/id_rsa (only \
for files with SSH recipients), $XDG_CONFIG_HOME/sops/age/keys.txt, and last the local \
keyring's age identity. Exit codes are sops': 128 no identity opens the file, 51 MAC \
mismatch, 25 a value does not decrypt, 1 the file is not encrypted."
)]
pub struct DecryptArgs {
    /// The file to decrypt (stdin if absent).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Write back to FILE (atomically, keeping its permissions).
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Write to this file (mode 0600 if new) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print only this key or branch, e.g. '["data"]["password"]' (scalars raw, no newline
    /// for strings).
    #[arg(long, value_name = "PATH")]
    pub extract: Option<String>,
    /// Use this name instead of FILE for the file type.
    #[arg(long, value_name = "NAME")]
    pub filename_override: Option<PathBuf>,
    #[command(flatten)]
    pub types: TypeArgs,
    #[command(flatten)]
    pub decryption: DecryptionArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Edit a sops-encrypted file in $EDITOR (or create one).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Decrypt FILE into a private temporary file (0600 in a 0700 \
directory, removed on every exit path), open it in $SOPS_EDITOR or $EDITOR (default vim, \
nano or vi), and encrypt it again with the same data key: unchanged values keep their exact \
ciphertext. A FILE that does not exist is created from an example, encrypted to --age / \
.sops.yaml (or the local keyring's recipient). Exit 200 if nothing was changed."
)]
pub struct EditArgs {
    /// The file to edit (created if missing).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Show the sops metadata in the editor (not supported by sealbox).
    #[arg(short = 's', long, hide = true)]
    pub show_master_keys: bool,
    #[command(flatten)]
    pub types: TypeArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub rules: RuleArgs,
    #[command(flatten)]
    pub decryption: DecryptionArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Re-encrypt a file with a new data key; add or remove age recipients.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Generate a new data key and re-encrypt every value with it, \
optionally adding or removing age recipients. Like sops, the result goes to stdout unless \
-i/--in-place or --output is given, and .sops.yaml is not read (use `updatekeys` for that)."
)]
pub struct RotateArgs {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Write back to FILE (atomically, keeping its permissions).
    #[arg(short = 'i', long)]
    pub in_place: bool,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Comma-separated age recipients to add (to the first key group).
    #[arg(long, value_name = "RECIPIENTS")]
    pub add_age: Option<String>,
    /// Comma-separated age recipients to remove (from every key group).
    #[arg(long, value_name = "RECIPIENTS")]
    pub rm_age: Option<String>,
    /// Other key types to add or remove (not supported by sealbox), as (flag, value).
    #[arg(skip)]
    pub foreign: Vec<(String, String)>,
    /// Use this name instead of FILE for the file type.
    #[arg(long, value_name = "NAME")]
    pub filename_override: Option<PathBuf>,
    #[command(flatten)]
    pub types: TypeArgs,
    #[command(flatten)]
    pub decryption: DecryptionArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Sync a file's recipients with .sops.yaml (same data key).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Make the recipients (key groups, Shamir threshold) of each FILE \
those of its creation rule in .sops.yaml, re-wrapping the same data key: values, MAC and \
lastmodified stay as they are. Shows the change and asks unless -y. A removed recipient can \
still decrypt every copy of the file it had (Git history, backups): run `rotate -i` as well \
to change the data key."
)]
pub struct UpdatekeysArgs {
    /// The encrypted files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// yaml, json, dotenv, ini or binary; default: from the file extension.
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// Shamir threshold to set (default: keep the file's, at most the number of groups).
    #[arg(long, value_name = "N")]
    pub shamir_secret_sharing_threshold: Option<usize>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Set one value of an encrypted file.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Set the value at PATH (e.g. '[\"app\"][\"replicas\"]') to a JSON \
VALUE and write the file back. Missing keys are created, an index past the end appends. \
YAML keeps its layout: only the changed entry's lines differ afterwards (plus \
lastmodified and mac). Use --value-file or --value-stdin to keep the value out of the \
process list."
)]
pub struct SetArgs {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Where, e.g. '["data"]["password"]'.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// A JSON value ('"text"', 4, true, {"a": 1}); with --value-file a file holding it.
    #[arg(value_name = "VALUE")]
    pub value: Option<String>,
    /// VALUE is a file to read the JSON value from.
    #[arg(long, conflicts_with = "value_stdin")]
    pub value_file: bool,
    /// Read the JSON value from stdin (no VALUE argument).
    #[arg(long)]
    pub value_stdin: bool,
    /// Do not write the file if the value is already there.
    #[arg(long)]
    pub idempotent: bool,
    /// Accepted for sops compatibility (the file keeps its threshold).
    #[arg(long, value_name = "N", hide = true)]
    pub shamir_secret_sharing_threshold: Option<usize>,
    #[command(flatten)]
    pub types: TypeArgs,
    #[command(flatten)]
    pub decryption: DecryptionArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Remove one key or list item of an encrypted file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct UnsetArgs {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// What to remove, e.g. '["data"]["old"]'.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// Succeed without writing if PATH does not exist.
    #[arg(long)]
    pub idempotent: bool,
    /// Accepted for sops compatibility (the file keeps its threshold).
    #[arg(long, value_name = "N", hide = true)]
    pub shamir_secret_sharing_threshold: Option<usize>,
    #[command(flatten)]
    pub types: TypeArgs,
    #[command(flatten)]
    pub decryption: DecryptionArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Run a command with the decrypted values as environment variables.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Decrypt FILE and run COMMAND (with /bin/sh -c) with every \
top-level value as an environment variable. Nothing is written to disk. The exit code is \
the command's."
)]
pub struct ExecEnvArgs {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The command line, run with /bin/sh -c.
    #[arg(value_name = "COMMAND")]
    pub command: String,
    /// Only the decrypted values, not the current environment.
    #[arg(long)]
    pub pristine: bool,
    /// Run the command as this user (name or uid; needs the privilege to switch).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Replace this process by the command instead of running a child.
    #[arg(long)]
    pub same_process: bool,
    /// Start the command and return at once (deprecated in sops).
    #[arg(long, hide = true)]
    pub background: bool,
    #[command(flatten)]
    pub decryption: DecryptionArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Run a command with the decrypted file at a private temporary path.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(
    long_about = "Decrypt FILE and run COMMAND (with /bin/sh -c) with every `{}` \
replaced by the path of the plaintext: a FIFO (default; the plaintext never touches a disk, \
and can be read once) or with --no-fifo a 0600 file, in a private 0700 directory that is \
removed afterwards, also on Ctrl-C and SIGTERM. The exit code is the command's."
)]
pub struct ExecFileArgs {
    /// The encrypted file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The command line, run with /bin/sh -c; `{}` is replaced by the plaintext's path.
    #[arg(value_name = "COMMAND")]
    pub command: String,
    /// Use a regular (0600) file instead of a FIFO.
    #[arg(long)]
    pub no_fifo: bool,
    /// Name of the temporary file (default: tmp-file).
    #[arg(long, value_name = "NAME")]
    pub filename: Option<String>,
    /// Run the command as this user (name or uid; needs the privilege to switch).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
    /// Not supported: the plaintext would be removed while the command still runs.
    #[arg(long, hide = true)]
    pub background: bool,
    #[command(flatten)]
    pub types: TypeArgs,
    #[command(flatten)]
    pub decryption: DecryptionArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Print {"encrypted":true|false} for a file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FilestatusArgs {
    /// The file to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// yaml, json, dotenv, ini or binary; default: from the file extension.
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
}
