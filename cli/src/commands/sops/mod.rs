//! SOPS: `encrypt`, `decrypt`, `edit`, `rotate`, `updatekeys`, `set`, `unset`, `exec-env`,
//! `exec-file`, `filestatus` — on files sops 3.x reads and writes (the format itself is
//! `sealbox_keys::sops`), with sops' flags, exit codes and first error lines.
//!
//! Two front ends share every command: the native one (`sealbox encrypt FILE`, clap) and the
//! sops-compatible one ([`compat`]: the binary invoked as `sops`, or `sealbox sops …`), which
//! parses sops' own command line so helm-secrets and scripts run unchanged. The differences
//! between the modes are deliberate and few: native `encrypt`/`edit` fall back to the local
//! keyring's age recipient when no recipient is configured anywhere, and native errors are
//! prefixed with `sealbox:`.
//!
//! Behaviour kept from sops for compatibility (documented in `docs/sops.md`): `.sops.yaml` is
//! searched from the current directory upwards (not from the file's directory), flags after
//! the file name are ignored in sops mode, `rotate` prints to stdout unless `-i`, `updatekeys`
//! keeps the data key.

mod args;
pub mod compat;
mod config;
mod decrypt;
mod edit;
mod encrypt;
mod examples;
mod exec;
mod failure;
mod filestatus;
pub mod identity;
mod io;
mod private_dir;
mod recipients;
mod set;

use std::path::{Path, PathBuf};

use sealbox_keys::sops::{Format, StoreOptions};

pub use self::args::*;
use self::config::LoadedConfig;
use crate::Global;
use crate::keyring_dir::KeyringDir;

/// The SOPS commands (flattened into sealbox's top-level commands). Their help texts come
/// from each `Args` struct (a doc comment here would replace the long descriptions).
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    Encrypt(EncryptArgs),
    Decrypt(DecryptArgs),
    Edit(EditArgs),
    Rotate(RotateArgs),
    Updatekeys(UpdatekeysArgs),
    Set(SetArgs),
    Unset(UnsetArgs),
    ExecEnv(ExecEnvArgs),
    ExecFile(ExecFileArgs),
    Filestatus(FilestatusArgs),
    Sops(compat::Args),
}

/// Native sealbox syntax, or sops' command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `sealbox encrypt …`
    Native,
    /// `sops …` / `sealbox sops …`
    Sops,
}

/// What every command needs besides its own options.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Which front end is running.
    pub mode: Mode,
    /// The local keyring (its age identity is tried after sops' identity sources); `None`
    /// when no location can be determined.
    pub keyring: Option<KeyringDir>,
}

impl Ctx {
    fn new(mode: Mode, global: &Global) -> Ctx {
        Ctx {
            mode,
            keyring: KeyringDir::resolve(global).ok(),
        }
    }
}

/// Run a native SOPS command.
pub fn run(global: &Global, command: Command) -> anyhow::Result<()> {
    let ctx = Ctx::new(Mode::Native, global);
    match command {
        Command::Sops(args) => std::process::exit(compat::run_args(global, args.args)),
        other => dispatch(&ctx, other),
    }
}

/// Run one command in either mode.
fn dispatch(ctx: &Ctx, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Encrypt(a) => encrypt::run(ctx, a),
        Command::Decrypt(a) => decrypt::run(ctx, a),
        Command::Edit(a) => edit::run(ctx, a),
        Command::Rotate(a) => recipients::rotate(ctx, a),
        Command::Updatekeys(a) => recipients::updatekeys(ctx, a),
        Command::Set(a) => set::set(ctx, a),
        Command::Unset(a) => set::unset(ctx, a),
        Command::ExecEnv(a) => exec::exec_env(ctx, a),
        Command::ExecFile(a) => exec::exec_file(ctx, a),
        Command::Filestatus(a) => filestatus::run(ctx, a),
        Command::Sops(_) => unreachable!("handled by the caller"),
    }
}

/// sops' `FormatForPathOrString`: a known `--input-type`/`--output-type` name wins, else the
/// extension (case-sensitive, like sops), else binary.
pub fn format_for(path: &Path, type_flag: Option<&str>) -> Format {
    if let Some(f) = type_flag.and_then(Format::from_name) {
        return f;
    }
    let p = path.to_string_lossy();
    if p.ends_with(".yaml") || p.ends_with(".yml") {
        Format::Yaml
    } else if p.ends_with(".json") {
        Format::Json
    } else if p.ends_with(".env") {
        Format::Dotenv
    } else if p.ends_with(".ini") {
        Format::Ini
    } else {
        Format::Binary
    }
}

/// Store settings: `stores:` of the config, then `--indent` for both YAML and JSON.
pub fn store_options(config: Option<&LoadedConfig>, args: &ConfigArgs) -> StoreOptions {
    let mut store = config.map(|c| c.config.stores.clone()).unwrap_or_default();
    if let Some(n) = args.indent {
        if n > 0 {
            store.yaml_indent = n;
        }
        store.json_indent = Some(n);
    }
    store
}

/// The current time for `lastmodified`.
pub fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// Go's `filepath.Abs`: joined to the current directory and cleaned lexically (`..` and `.`
/// removed, symlinks not resolved), so `--filename-override ../x.yaml` matches creation
/// rules the way it does in sops.
pub fn absolute(path: &Path) -> PathBuf {
    use std::path::Component;
    let joined = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn absolute_paths_are_cleaned_like_go() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            super::absolute(std::path::Path::new("a/../b/./c.yaml")),
            cwd.join("b/c.yaml")
        );
        assert_eq!(
            super::absolute(std::path::Path::new("/x/y/../z")),
            std::path::PathBuf::from("/x/z")
        );
    }
}
