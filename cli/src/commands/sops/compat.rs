//! The sops-compatible command line: sealbox invoked as `sops` (a symlink or copy named
//! `sops`), or `sealbox sops …`. helm-secrets (`HELM_SECRETS_SOPS_PATH`), Flux-adjacent
//! tooling and scripts call sops with its own syntax and branch on its exit codes and first
//! stderr line; this module parses that syntax exactly as sops 3.11 does and runs the same
//! commands as native sealbox.
//!
//! sops uses urfave/cli v1 on Go's `flag` package, which gives it these rules (all kept):
//! * `-flag` and `--flag` are the same; values as `--flag value` or `--flag=value`; bool
//!   flags take no value (`--flag=false` allowed); no bundling of short flags;
//! * global flags (`-d`, `-e`, `-r`, `-i`, `--config`, `--mac-only-encrypted`,
//!   `--encrypted-comment-regex`, `--indent`, `--verbose`, …) come before the subcommand or
//!   file, and parsing stops at the first non-flag (`sops -d FILE --extract …` ignores the
//!   flag, with sops' warning);
//! * a subcommand's own flags may come before or after its positional arguments (urfave
//!   moves them forward), and a subcommand falls back to a global flag it does not define
//!   (`sops --mac-only-encrypted encrypt …`);
//! * flags with an environment variable (`--age`/`SOPS_AGE_RECIPIENTS`, `--config`/
//!   `SOPS_CONFIG`, …) take it when not given;
//! * without a subcommand the legacy form runs: `-d`, `-e`, `-r`, `--set`, else edit.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use super::failure::{
    CANNOT_CHANGE_KEYS_OF_MISSING_FILE, CONFLICTING_PARAMETERS, GENERIC, INVALID_SET_FORMAT,
    NO_FILE_SPECIFIED, fail,
};
use super::{
    Command, ConfigArgs, Ctx, DecryptArgs, DecryptionArgs, EditArgs, EncryptArgs, ExecEnvArgs,
    ExecFileArgs, FilestatusArgs, KeyArgs, Mode, RotateArgs, RuleArgs, SetArgs, TypeArgs,
    UnsetArgs, UpdatekeysArgs, absolute, dispatch,
};
use crate::Global;
use crate::exit::RawExit;

/// Run with sops' own command line (what `sops` as a link to sealbox does).
#[derive(Debug, clap::Args)]
#[command(
    disable_help_flag = true,
    long_about = "Run with sops' own command line, exactly as sealbox does when it is started \
under the name `sops` (e.g. a symlink, for helm-secrets' HELM_SECRETS_SOPS_PATH): \
`sealbox sops -d --input-type yaml --output-type yaml secrets.yaml`. See `sealbox sops --help`."
)]
pub struct Args {
    /// sops' arguments, e.g. `--decrypt --input-type yaml secrets.yaml`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        num_args = 0..,
        value_name = "SOPS ARGS"
    )]
    pub args: Vec<OsString>,
}

/// The version sops mode reports (files are written with this version in their metadata).
const SOPS_VERSION: &str = "3.11.0";

/// If the program was started under the name `sops`, run sops mode and return its exit code.
pub fn main_if_invoked_as_sops() -> Option<ExitCode> {
    let mut args = std::env::args_os();
    let argv0 = PathBuf::from(args.next()?);
    if argv0.file_name()? != "sops" {
        return None;
    }
    let global = Global {
        keyring: std::env::var_os("SEALBOX_KEYRING").map(PathBuf::from),
    };
    let code = run_args(&global, args.collect());
    Some(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

/// Run sops' command line; prints errors like sops (the message alone on stderr) and
/// returns the exit code.
pub fn run_args(global: &Global, args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let ctx = Ctx {
        mode: Mode::Sops,
        keyring: crate::keyring_dir::KeyringDir::resolve(global).ok(),
    };
    match parse_and_run(&ctx, &args) {
        Ok(()) => 0,
        Err(e) => match e.chain().find_map(|c| c.downcast_ref::<RawExit>()) {
            Some(raw) => {
                eprintln!("{}", raw.message);
                i32::from(raw.code)
            }
            None => {
                eprintln!("{e:#}");
                1
            }
        },
    }
}

// ------------------------------------------------------------------------------------------
// Flag tables (cmd/sops/main.go at the commit of the sops 3.11 binary).

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Bool,
    Str,
    Int,
    Slice,
}

/// One flag: its names (the first is the one looked up), kind, environment variable.
struct Def {
    names: &'static [&'static str],
    kind: Kind,
    env: Option<&'static str>,
}

const fn b(names: &'static [&'static str]) -> Def {
    Def {
        names,
        kind: Kind::Bool,
        env: None,
    }
}
const fn s(names: &'static [&'static str]) -> Def {
    Def {
        names,
        kind: Kind::Str,
        env: None,
    }
}
const fn se(names: &'static [&'static str], env: &'static str) -> Def {
    Def {
        names,
        kind: Kind::Str,
        env: Some(env),
    }
}
const fn i(names: &'static [&'static str]) -> Def {
    Def {
        names,
        kind: Kind::Int,
        env: None,
    }
}

const KEYSERVICE: [Def; 2] = [
    Def {
        names: &["enable-local-keyservice"],
        kind: Kind::Bool,
        env: Some("SOPS_ENABLE_LOCAL_KEYSERVICE"),
    },
    Def {
        names: &["keyservice"],
        kind: Kind::Slice,
        env: Some("SOPS_KEYSERVICE"),
    },
];

const KEY_TYPES: [Def; 8] = [
    se(&["kms", "k"], "SOPS_KMS_ARN"),
    s(&["aws-profile"]),
    se(&["gcp-kms"], "SOPS_GCP_KMS_IDS"),
    se(&["hckms"], "SOPS_HUAWEICLOUD_KMS_IDS"),
    se(&["azure-kv"], "SOPS_AZURE_KEYVAULT_URLS"),
    se(&["hc-vault-transit"], "SOPS_VAULT_URIS"),
    se(&["pgp", "p"], "SOPS_PGP_FP"),
    se(&["age", "a"], "SOPS_AGE_RECIPIENTS"),
];

const ADD_RM: [Def; 14] = [
    s(&["add-gcp-kms"]),
    s(&["rm-gcp-kms"]),
    s(&["add-hckms"]),
    s(&["rm-hckms"]),
    s(&["add-azure-kv"]),
    s(&["rm-azure-kv"]),
    s(&["add-kms"]),
    s(&["rm-kms"]),
    s(&["add-hc-vault-transit"]),
    s(&["rm-hc-vault-transit"]),
    s(&["add-age"]),
    s(&["rm-age"]),
    s(&["add-pgp"]),
    s(&["rm-pgp"]),
];

const PATH_RULES: [Def; 4] = [
    s(&["unencrypted-suffix"]),
    s(&["encrypted-suffix"]),
    s(&["unencrypted-regex"]),
    s(&["encrypted-regex"]),
];

fn global_flags() -> Vec<Def> {
    let mut v = vec![
        b(&["decrypt", "d"]),
        b(&["encrypt", "e"]),
        b(&["rotate", "r"]),
        Def {
            names: &["disable-version-check"],
            kind: Kind::Bool,
            env: Some("SOPS_DISABLE_VERSION_CHECK"),
        },
        b(&["check-for-updates"]),
    ];
    v.extend(KEY_TYPES);
    v.extend([
        b(&["in-place", "i"]),
        s(&["extract"]),
        s(&["input-type"]),
        s(&["output-type"]),
        b(&["show-master-keys", "s"]),
    ]);
    v.extend(ADD_RM);
    v.extend([b(&["ignore-mac"]), b(&["mac-only-encrypted"])]);
    v.extend(PATH_RULES);
    v.extend([
        s(&["unencrypted-comment-regex"]),
        s(&["encrypted-comment-regex"]),
        se(&["config"], "SOPS_CONFIG"),
        s(&["encryption-context"]),
        s(&["set"]),
        i(&["shamir-secret-sharing-threshold"]),
        i(&["indent"]),
        b(&["verbose"]),
        s(&["output"]),
        s(&["filename-override"]),
        se(&["decryption-order"], "SOPS_DECRYPTION_ORDER"),
    ]);
    v.extend(KEYSERVICE);
    v.extend([b(&["help", "h"]), b(&["version", "v"])]);
    v
}

fn command_flags(name: &str) -> Option<Vec<Def>> {
    let order = se(&["decryption-order"], "SOPS_DECRYPTION_ORDER");
    let mut v = match name {
        "encrypt" => {
            let mut v = vec![b(&["in-place", "i"]), s(&["output"])];
            v.extend(KEY_TYPES);
            v.extend([s(&["input-type"]), s(&["output-type"])]);
            v.extend(PATH_RULES);
            v.extend([
                s(&["encryption-context"]),
                i(&["shamir-secret-sharing-threshold"]),
                s(&["filename-override"]),
            ]);
            v
        }
        "decrypt" => vec![
            b(&["in-place", "i"]),
            s(&["extract"]),
            s(&["output"]),
            s(&["input-type"]),
            s(&["output-type"]),
            b(&["ignore-mac"]),
            s(&["filename-override"]),
            order,
        ],
        "edit" => {
            let mut v: Vec<Def> = KEY_TYPES.into();
            v.extend([s(&["input-type"]), s(&["output-type"])]);
            v.extend(PATH_RULES);
            v.extend([
                s(&["encryption-context"]),
                i(&["shamir-secret-sharing-threshold"]),
                b(&["show-master-keys", "s"]),
                b(&["ignore-mac"]),
                order,
            ]);
            v
        }
        "rotate" => {
            let mut v = vec![
                b(&["in-place", "i"]),
                s(&["output"]),
                s(&["input-type"]),
                s(&["output-type"]),
                s(&["encryption-context"]),
            ];
            v.extend(ADD_RM);
            v.extend([s(&["filename-override"]), order]);
            v
        }
        "updatekeys" => vec![b(&["yes", "y"]), s(&["input-type"])],
        "set" => vec![
            s(&["input-type"]),
            s(&["output-type"]),
            b(&["value-file"]),
            b(&["value-stdin"]),
            i(&["shamir-secret-sharing-threshold"]),
            b(&["ignore-mac"]),
            order,
            b(&["idempotent"]),
        ],
        "unset" => vec![
            s(&["input-type"]),
            s(&["output-type"]),
            i(&["shamir-secret-sharing-threshold"]),
            b(&["ignore-mac"]),
            order,
            b(&["idempotent"]),
        ],
        "exec-env" => vec![
            b(&["background"]),
            b(&["pristine"]),
            s(&["user"]),
            b(&["same-process"]),
            order,
        ],
        "exec-file" => vec![
            b(&["background"]),
            b(&["no-fifo"]),
            s(&["user"]),
            s(&["input-type"]),
            s(&["output-type"]),
            s(&["filename"]),
            order,
        ],
        "filestatus" => return Some(vec![s(&["input-type"]), b(&["help", "h"])]),
        _ => return None,
    };
    if name != "filestatus" {
        v.extend(KEYSERVICE);
    }
    v.push(b(&["help", "h"]));
    Some(v)
}

// ------------------------------------------------------------------------------------------
// Parsing (Go's flag package semantics).

/// Parsed values of one flag set.
struct FlagSet {
    defs: Vec<Def>,
    values: HashMap<&'static str, Vec<String>>,
}

impl FlagSet {
    fn new(defs: Vec<Def>) -> FlagSet {
        FlagSet {
            defs,
            values: HashMap::new(),
        }
    }

    fn find(&self, name: &str) -> Option<&Def> {
        self.defs.iter().find(|d| d.names.contains(&name))
    }

    fn defines(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The value given on the command line, else the environment variable, else `None`.
    fn get(&self, name: &str) -> Option<String> {
        let def = self.find(name)?;
        if let Some(v) = self.values.get(def.names[0]).and_then(|v| v.last()) {
            return Some(v.clone());
        }
        def.env.and_then(|e| std::env::var(e).ok())
    }

    /// Parse flags from the front of `args`; returns the positional rest. Stops at the first
    /// non-flag or after `--`.
    fn parse(&mut self, args: &[String]) -> Result<Vec<String>, String> {
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            if a.len() < 2 || !a.starts_with('-') {
                break;
            }
            let dashes = if a.starts_with("--") { 2 } else { 1 };
            if a == "--" {
                i += 1;
                break;
            }
            let body = &a[dashes..];
            if body.is_empty() || body.starts_with('-') || body.starts_with('=') {
                return Err(format!("bad flag syntax: {a}"));
            }
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (body, None),
            };
            let Some(def) = self.find(name) else {
                return Err(format!("flag provided but not defined: -{name}"));
            };
            let key = def.names[0];
            let value = match def.kind {
                Kind::Bool => match inline.as_deref() {
                    None => "true".to_string(),
                    Some(v) => match parse_go_bool(v) {
                        Some(b) => b.to_string(),
                        None => {
                            return Err(format!(
                                "invalid boolean value {v:?} for -{name}: parse error"
                            ));
                        }
                    },
                },
                _ => match inline {
                    Some(v) => v,
                    None => {
                        i += 1;
                        args.get(i)
                            .cloned()
                            .ok_or_else(|| format!("flag needs an argument: -{name}"))?
                    }
                },
            };
            if def.kind == Kind::Int && value.parse::<i64>().is_err() {
                return Err(format!(
                    "invalid value {value:?} for flag -{name}: parse error"
                ));
            }
            self.values.entry(key).or_default().push(value);
            i += 1;
        }
        Ok(args[i..].to_vec())
    }
}

fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// urfave/cli v1's `reorderArgs`: a subcommand's own flags (and a value following one) are
/// moved before the other arguments; everything after `--` stays in place.
fn reorder(set: &FlagSet, args: &[String]) -> Vec<String> {
    let mut flags = Vec::new();
    let mut rest = Vec::new();
    let mut value_may_follow = false;
    for (i, a) in args.iter().enumerate() {
        if a == "--" {
            rest.extend(args[i..].iter().cloned());
            break;
        } else if value_may_follow && !a.starts_with('-') {
            value_may_follow = false;
            flags.push(a.clone());
        } else if is_flag_of(set, a) {
            flags.push(a.clone());
            value_may_follow = !a.contains('=');
        } else {
            rest.push(a.clone());
        }
    }
    flags.extend(rest);
    flags
}

fn is_flag_of(set: &FlagSet, a: &str) -> bool {
    if a == "-" || !a.starts_with('-') {
        return false;
    }
    let name = a.trim_start_matches('-');
    let name = name.split('=').next().unwrap_or_default();
    set.defines(name)
}

/// Values looked up like urfave's `c.String(name)`: the subcommand's flag if it defines
/// one, else the global one.
struct Lookup<'a> {
    global: &'a FlagSet,
    command: Option<&'a FlagSet>,
}

impl Lookup<'_> {
    fn set(&self, name: &str) -> Option<&FlagSet> {
        match self.command {
            Some(c) if c.defines(name) => Some(c),
            _ => self.global.defines(name).then_some(self.global),
        }
    }
    fn string(&self, name: &str) -> Option<String> {
        self.set(name)?.get(name).filter(|v| !v.is_empty())
    }
    fn path(&self, name: &str) -> Option<PathBuf> {
        self.string(name).map(PathBuf::from)
    }
    fn bool(&self, name: &str) -> bool {
        self.set(name)
            .and_then(|s| s.get(name))
            .and_then(|v| parse_go_bool(&v))
            .unwrap_or(false)
    }
    fn int(&self, name: &str) -> Option<usize> {
        self.string(name).and_then(|v| v.parse::<usize>().ok())
    }

    fn config(&self) -> ConfigArgs {
        ConfigArgs {
            config: self.path("config"),
            indent: self.int("indent"),
        }
    }
    fn types(&self) -> TypeArgs {
        TypeArgs {
            input_type: self.string("input-type"),
            output_type: self.string("output-type"),
        }
    }
    fn decryption(&self) -> DecryptionArgs {
        DecryptionArgs {
            ignore_mac: self.bool("ignore-mac"),
            decryption_order: self.string("decryption-order"),
        }
    }
    fn keys(&self) -> KeyArgs {
        KeyArgs {
            age: self.string("age"),
            pgp: self.string("pgp"),
            kms: self.string("kms"),
            gcp_kms: self.string("gcp-kms"),
            azure_kv: self.string("azure-kv"),
            hc_vault_transit: self.string("hc-vault-transit"),
            hckms: self.string("hckms"),
            shamir_secret_sharing_threshold: self.int("shamir-secret-sharing-threshold"),
        }
    }
    fn rules(&self) -> RuleArgs {
        RuleArgs {
            unencrypted_suffix: self.string("unencrypted-suffix"),
            encrypted_suffix: self.string("encrypted-suffix"),
            unencrypted_regex: self.string("unencrypted-regex"),
            encrypted_regex: self.string("encrypted-regex"),
            unencrypted_comment_regex: self.string("unencrypted-comment-regex"),
            encrypted_comment_regex: self.string("encrypted-comment-regex"),
            mac_only_encrypted: self.bool("mac-only-encrypted"),
        }
    }
    fn foreign_add_rm(&self) -> Vec<(String, String)> {
        ADD_RM
            .iter()
            .map(|d| d.names[0])
            .filter(|n| !n.ends_with("-age"))
            .filter_map(|n| self.string(n).map(|v| (format!("--{n}"), v)))
            .collect()
    }
    fn rotate(&self, file: PathBuf) -> RotateArgs {
        RotateArgs {
            file,
            in_place: self.bool("in-place"),
            output: self.path("output"),
            add_age: self.string("add-age"),
            rm_age: self.string("rm-age"),
            foreign: self.foreign_add_rm(),
            filename_override: self.path("filename-override"),
            types: self.types(),
            decryption: self.decryption(),
            config: self.config(),
        }
    }
}

fn warn_extra_positional(pos: &[String]) {
    if pos.len() > 1 {
        eprintln!("More than one positional argument provided. Only the first one will be used!");
        if let Some(flag) = pos[1..].iter().find(|p| p.starts_with('-')) {
            eprintln!(
                "Note that one of the ignored positional argument is {flag:?}, which looks like a flag. Flags must always be provided before the first positional argument!"
            );
        }
    }
}

const HELP: &str = "NAME:
   sops - sealbox's sops-compatible mode (files, flags and exit codes of sops 3.11)

USAGE:
   sops [global options] command [command options] [arguments...]
   sops [-d|-e|-r|--set '[\"k\"] value'] [options] FILE     (legacy form; without a mode: edit)

COMMANDS:
   encrypt      encrypt a file, and output the results to stdout
   decrypt      decrypt a file, and output the results to stdout
   edit         edit an encrypted file
   rotate       generate a new data encryption key and reencrypt all values with the new key
   updatekeys   update the keys of SOPS files using the config file
   set          set a specific key or branch in the input document
   unset        unset a specific key or branch in the input document
   exec-env     execute a command with decrypted values inserted into the environment
   exec-file    execute a command with the decrypted contents as a temporary file
   filestatus   check the status of the file, returning encryption status

Only age recipients (age1…, ssh-ed25519, ssh-rsa) are supported. See `sealbox --help` and
docs/sops.md for the native commands.
";

fn usage_error(msg: String) -> anyhow::Error {
    fail(GENERIC, format!("Incorrect Usage: {msg}"))
}

fn parse_and_run(ctx: &Ctx, args: &[String]) -> anyhow::Result<()> {
    let mut global = FlagSet::new(global_flags());
    let rest = global.parse(args).map_err(usage_error)?;
    let top = Lookup {
        global: &global,
        command: None,
    };
    if top.bool("help") || matches!(rest.first().map(String::as_str), Some("help" | "h")) {
        print!("{HELP}");
        return Ok(());
    }
    if top.bool("version") {
        println!(
            "sops {SOPS_VERSION} (sealbox {}, sops-compatible mode)",
            env!("CARGO_PKG_VERSION")
        );
        return Ok(());
    }
    let Some(first) = rest.first() else {
        return Err(fail(NO_FILE_SPECIFIED, "Error: no file specified"));
    };
    if let Some(defs) = command_flags(first) {
        let mut set = FlagSet::new(defs);
        let reordered = reorder(&set, &rest[1..]);
        let pos = set.parse(&reordered).map_err(usage_error)?;
        let look = Lookup {
            global: &global,
            command: Some(&set),
        };
        if look.bool("help") {
            print!("{HELP}");
            return Ok(());
        }
        let command = subcommand(first, &look, pos)?;
        return dispatch(ctx, command);
    }
    if matches!(
        first.as_str(),
        "publish" | "keyservice" | "groups" | "completion"
    ) {
        return Err(fail(
            GENERIC,
            format!("`sops {first}` is not implemented by sealbox's sops-compatible mode"),
        ));
    }
    legacy(ctx, &top, rest)
}

/// A subcommand with its positional arguments checked as sops checks them.
fn subcommand(name: &str, look: &Lookup<'_>, pos: Vec<String>) -> anyhow::Result<Command> {
    let file0 = || pos.first().map(PathBuf::from);
    let no_file = || fail(NO_FILE_SPECIFIED, "Error: no file specified");
    Ok(match name {
        "encrypt" => {
            warn_extra_positional(&pos);
            Command::Encrypt(EncryptArgs {
                file: file0(),
                in_place: look.bool("in-place"),
                output: look.path("output"),
                filename_override: look.path("filename-override"),
                types: look.types(),
                keys: look.keys(),
                rules: look.rules(),
                config: look.config(),
            })
        }
        "decrypt" => {
            warn_extra_positional(&pos);
            Command::Decrypt(DecryptArgs {
                file: file0(),
                in_place: look.bool("in-place"),
                output: look.path("output"),
                extract: look.string("extract"),
                filename_override: look.path("filename-override"),
                types: look.types(),
                decryption: look.decryption(),
                config: look.config(),
            })
        }
        "edit" => {
            warn_extra_positional(&pos);
            Command::Edit(EditArgs {
                file: file0().ok_or_else(no_file)?,
                show_master_keys: look.bool("show-master-keys"),
                types: look.types(),
                keys: look.keys(),
                rules: look.rules(),
                decryption: look.decryption(),
                config: look.config(),
            })
        }
        "rotate" => {
            warn_extra_positional(&pos);
            Command::Rotate(look.rotate(file0().ok_or_else(no_file)?))
        }
        "updatekeys" => {
            if pos.is_empty() {
                return Err(no_file());
            }
            Command::Updatekeys(UpdatekeysArgs {
                files: pos.iter().map(PathBuf::from).collect(),
                yes: look.bool("yes"),
                input_type: look.string("input-type"),
                shamir_secret_sharing_threshold: look.int("shamir-secret-sharing-threshold"),
                config: look.config(),
            })
        }
        "set" => {
            let value_stdin = look.bool("value-stdin");
            let value_file = look.bool("value-file");
            if value_stdin && value_file {
                return Err(fail(
                    GENERIC,
                    "Error: cannot use both --value-file and --value-stdin",
                ));
            }
            if value_stdin && pos.len() != 2 {
                return Err(fail(
                    NO_FILE_SPECIFIED,
                    "Error: file specified, or index and value are missing. Need precisely 2 positional arguments since --value-stdin is used.",
                ));
            }
            if !value_stdin && pos.len() != 3 {
                return Err(fail(
                    NO_FILE_SPECIFIED,
                    "Error: no file specified, or index and value are missing. Need precisely 3 positional arguments.",
                ));
            }
            Command::Set(SetArgs {
                file: PathBuf::from(&pos[0]),
                path: pos[1].clone(),
                value: pos.get(2).cloned(),
                value_file,
                value_stdin,
                idempotent: look.bool("idempotent"),
                shamir_secret_sharing_threshold: look.int("shamir-secret-sharing-threshold"),
                types: look.types(),
                decryption: look.decryption(),
                config: look.config(),
            })
        }
        "unset" => {
            if pos.len() != 2 {
                return Err(fail(
                    NO_FILE_SPECIFIED,
                    "Error: no file specified, or index is missing",
                ));
            }
            Command::Unset(UnsetArgs {
                file: PathBuf::from(&pos[0]),
                path: pos[1].clone(),
                idempotent: look.bool("idempotent"),
                shamir_secret_sharing_threshold: look.int("shamir-secret-sharing-threshold"),
                types: look.types(),
                decryption: look.decryption(),
                config: look.config(),
            })
        }
        "exec-env" | "exec-file" => {
            if pos.len() != 2 {
                return Err(fail(GENERIC, "error: missing file to decrypt"));
            }
            let (file, command) = (PathBuf::from(&pos[0]), pos[1].clone());
            if name == "exec-env" {
                Command::ExecEnv(ExecEnvArgs {
                    file,
                    command,
                    pristine: look.bool("pristine"),
                    user: look.string("user"),
                    same_process: look.bool("same-process"),
                    background: look.bool("background"),
                    decryption: DecryptionArgs {
                        // sops reads --ignore-mac here, which exec-env does not define.
                        ignore_mac: false,
                        decryption_order: look.string("decryption-order"),
                    },
                    config: look.config(),
                })
            } else {
                Command::ExecFile(ExecFileArgs {
                    file,
                    command,
                    no_fifo: look.bool("no-fifo"),
                    filename: look.string("filename"),
                    user: look.string("user"),
                    background: look.bool("background"),
                    types: look.types(),
                    decryption: DecryptionArgs {
                        ignore_mac: false,
                        decryption_order: look.string("decryption-order"),
                    },
                    config: look.config(),
                })
            }
        }
        "filestatus" => Command::Filestatus(FilestatusArgs {
            file: file0().ok_or_else(no_file)?,
            input_type: look.string("input-type"),
            config: look.config(),
        }),
        other => unreachable!("no flag table for {other}"),
    })
}

/// `sops [-d|-e|-r|--set …] FILE`: the form helm-secrets and older scripts use.
fn legacy(ctx: &Ctx, look: &Lookup<'_>, pos: Vec<String>) -> anyhow::Result<()> {
    let decrypt = look.bool("decrypt");
    let encrypt = look.bool("encrypt");
    let rotate = look.bool("rotate");
    let set = look.string("set");
    let edit = !decrypt && !encrypt && !rotate && set.is_none();
    warn_extra_positional(&pos);
    let file = PathBuf::from(&pos[0]);
    if look.bool("in-place") && look.string("output").is_some() {
        return Err(fail(
            CONFLICTING_PARAMETERS,
            "Error: cannot operate on both --output and --in-place",
        ));
    }
    let abs = absolute(&file);
    if !abs.exists() {
        let changes_keys = ADD_RM.iter().any(|d| look.string(d.names[0]).is_some());
        if changes_keys {
            return Err(fail(
                CANNOT_CHANGE_KEYS_OF_MISSING_FILE,
                format!(
                    "Error: cannot add or remove keys on non-existent file \"{}\", use `--kms` and `--pgp` instead.",
                    abs.display()
                ),
            ));
        }
        if encrypt || decrypt || rotate {
            return Err(fail(
                NO_FILE_SPECIFIED,
                format!(
                    "Error: cannot operate on non-existent file \"{}\"",
                    abs.display()
                ),
            ));
        }
    }
    let modes = [decrypt, encrypt, rotate, set.is_some()]
        .iter()
        .filter(|m| **m)
        .count();
    if modes > 1 {
        eprintln!(
            "More than one command (--encrypt, --decrypt, --rotate, --set) has been specified. Only the changes made by the last one will be visible. Note that this behavior is deprecated and will cause an error eventually."
        );
    }
    // sops runs encrypt, decrypt, rotate, set in this order; the last one's output wins.
    let command = if let Some(set) = set {
        let (path, value) = split_set_argument(&set)?;
        Command::Set(SetArgs {
            file,
            path,
            value: Some(value),
            value_file: false,
            value_stdin: false,
            idempotent: false,
            shamir_secret_sharing_threshold: look.int("shamir-secret-sharing-threshold"),
            types: look.types(),
            decryption: look.decryption(),
            config: look.config(),
        })
    } else if rotate {
        Command::Rotate(look.rotate(file))
    } else if decrypt {
        Command::Decrypt(DecryptArgs {
            file: Some(file),
            in_place: look.bool("in-place"),
            output: look.path("output"),
            extract: look.string("extract"),
            filename_override: look.path("filename-override"),
            types: look.types(),
            decryption: look.decryption(),
            config: look.config(),
        })
    } else if encrypt {
        Command::Encrypt(EncryptArgs {
            file: Some(file),
            in_place: look.bool("in-place"),
            output: look.path("output"),
            filename_override: look.path("filename-override"),
            types: look.types(),
            keys: look.keys(),
            rules: look.rules(),
            config: look.config(),
        })
    } else {
        debug_assert!(edit);
        Command::Edit(EditArgs {
            file,
            show_master_keys: look.bool("show-master-keys"),
            types: look.types(),
            keys: look.keys(),
            rules: look.rules(),
            decryption: look.decryption(),
            config: look.config(),
        })
    };
    dispatch(ctx, command)
}

/// `--set '["a"]["b"] VALUE'`: the path ends at the first `"] "`/`] `.
fn split_set_argument(set: &str) -> anyhow::Result<(String, String)> {
    let Some(at) = set.find("] ") else {
        return Err(fail(INVALID_SET_FORMAT, "Invalid --set format"));
    };
    let path = set[..at + 1].trim_end().to_string();
    let value = set[at + 2..].to_string();
    Ok((path, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_flag_rules() {
        let mut g = FlagSet::new(global_flags());
        let rest = g
            .parse(&strings(&[
                "-d",
                "--input-type=yaml",
                "--output-type",
                "json",
                "-ignore-mac=false",
                "f.yaml",
                "--extract",
            ]))
            .unwrap();
        assert_eq!(rest, strings(&["f.yaml", "--extract"]));
        let l = Lookup {
            global: &g,
            command: None,
        };
        assert!(l.bool("decrypt") && !l.bool("ignore-mac"));
        assert_eq!(l.string("input-type").as_deref(), Some("yaml"));
        assert_eq!(l.string("output-type").as_deref(), Some("json"));
        let mut g = FlagSet::new(global_flags());
        assert_eq!(
            g.parse(&strings(&["--nope"])).unwrap_err(),
            "flag provided but not defined: -nope"
        );
        assert_eq!(
            g.parse(&strings(&["--output"])).unwrap_err(),
            "flag needs an argument: -output"
        );
        let mut g = FlagSet::new(global_flags());
        assert_eq!(g.parse(&strings(&["--", "-d"])).unwrap(), strings(&["-d"]));
    }

    #[test]
    fn subcommand_flags_move_before_positionals() {
        let set = FlagSet::new(command_flags("decrypt").unwrap());
        assert_eq!(
            reorder(&set, &strings(&["f.yaml", "--extract", "[\"a\"]", "-i"])),
            strings(&["--extract", "[\"a\"]", "-i", "f.yaml"])
        );
        // An unknown flag stays where it is (and fails the parse if it comes first).
        assert_eq!(
            reorder(&set, &strings(&["--nope", "f.yaml"])),
            strings(&["--nope", "f.yaml"])
        );
    }

    #[test]
    fn subcommands_fall_back_to_global_flags() {
        let mut g = FlagSet::new(global_flags());
        g.parse(&strings(&["--mac-only-encrypted", "--age", "age1global"]))
            .unwrap();
        let mut c = FlagSet::new(command_flags("encrypt").unwrap());
        c.parse(&strings(&["--encrypted-regex", "^data$"])).unwrap();
        let l = Lookup {
            global: &g,
            command: Some(&c),
        };
        assert!(l.rules().mac_only_encrypted);
        assert_eq!(l.rules().encrypted_regex.as_deref(), Some("^data$"));
        // encrypt defines --age itself, so the global one is not used (as in sops).
        assert_ne!(l.keys().age.as_deref(), Some("age1global"));
    }

    #[test]
    fn set_argument_splits_at_the_path_end() {
        assert_eq!(
            split_set_argument(r#"["a"]["b c"] {"x": 1}"#).unwrap(),
            (r#"["a"]["b c"]"#.to_string(), r#"{"x": 1}"#.to_string())
        );
        assert!(split_set_argument("nope").is_err());
    }
}
