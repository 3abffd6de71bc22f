//! Finding the age identities that open a file, from the same places sops looks
//! (`age/keysource.go` `loadIdentities`), then the local keyring:
//!
//! 1. `SOPS_AGE_KEY` — identities inline (one per line; whitespace-separated also accepted,
//!    as sops ≥ 3.13 does);
//! 2. `SOPS_AGE_KEY_FILE` — a key file;
//! 3. `$XDG_CONFIG_HOME/sops/age/keys.txt`, else `~/.config/sops/age/keys.txt`;
//! 4. SSH keys — `SOPS_AGE_SSH_PRIVATE_KEY_FILE`, `~/.ssh/id_ed25519`, `~/.ssh/id_rsa` — but
//!    only for files that have an SSH recipient, and a default key that cannot be used
//!    (passphrase-protected, malformed) is skipped with a note instead of breaking
//!    decryption (improves on getsops/sops#1987);
//! 5. the sealbox keyring's age identity (`DIR/age/keys.txt`);
//! 6. `SOPS_AGE_KEY_CMD` — shlex-split and run, with `SOPS_AGE_RECIPIENT` set, once per
//!    recipient of the file until the data key opens (sops runs it for every key it tries).
//!
//! Problems with a source never stop the others; they are reported, with the recipients
//! that were tried, only if no identity opens the file. Key material is never printed.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sealbox_keys::sops::keysource::recover_data_key;
use sealbox_keys::sops::{
    DataKey, Format, Identities, MasterKey, Metadata, OpenedFile, SopsError, StoreOptions,
};
use zeroize::Zeroizing;

use super::Ctx;
use super::failure::{fail, sops};
use crate::keyring_dir::KeyringDir;

/// Where identities may come from, read once from the environment.
#[derive(Clone)]
pub struct IdentityEnv {
    age_key: Option<Zeroizing<String>>,
    age_key_file: Option<PathBuf>,
    age_key_cmd: Option<String>,
    ssh_key_file: Option<PathBuf>,
    home: Option<PathBuf>,
    user_config_dir: Option<PathBuf>,
    keyring_keys: Option<PathBuf>,
}

impl std::fmt::Debug for IdentityEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityEnv")
            .field("age_key", &self.age_key.as_ref().map(|_| "<redacted>"))
            .field("age_key_file", &self.age_key_file)
            .field("age_key_cmd", &self.age_key_cmd)
            .field("ssh_key_file", &self.ssh_key_file)
            .field("keyring_keys", &self.keyring_keys)
            .finish()
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).map(PathBuf::from)
}

impl IdentityEnv {
    /// Read the `SOPS_AGE_*` variables, the home and config directories, and the keyring.
    pub fn from_process(keyring: Option<&KeyringDir>) -> IdentityEnv {
        let home = env_path("HOME").filter(|p| !p.as_os_str().is_empty());
        // Go's os.UserConfigDir on Linux: $XDG_CONFIG_HOME if set, else $HOME/.config.
        let user_config_dir = env_path("XDG_CONFIG_HOME")
            .filter(|p| !p.as_os_str().is_empty())
            .or_else(|| home.as_ref().map(|h| h.join(".config")));
        IdentityEnv {
            age_key: std::env::var("SOPS_AGE_KEY").ok().map(Zeroizing::new),
            age_key_file: env_path("SOPS_AGE_KEY_FILE"),
            age_key_cmd: std::env::var("SOPS_AGE_KEY_CMD").ok(),
            ssh_key_file: env_path("SOPS_AGE_SSH_PRIVATE_KEY_FILE"),
            home,
            user_config_dir,
            keyring_keys: keyring.map(KeyringDir::age_keys_path),
        }
    }
}

/// Identities gathered so far and what happened at each source.
struct Gathered {
    ids: Identities,
    notes: Vec<String>,
}

impl Gathered {
    fn add_text(&mut self, text: &str, source: &str) {
        match self.ids.add_age_keys(text, source) {
            Ok(0) => self.notes.push(format!("{source}: no identities in it")),
            Ok(n) => self
                .notes
                .push(format!("{source}: {n} identity(ies) loaded")),
            Err(e) => self.notes.push(format!("{source}: not used: {e}")),
        }
    }

    fn add_file(&mut self, path: &Path, source: &str, missing_is_note: bool) {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                self.add_text(&text, &format!("{source} ({})", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !missing_is_note => {}
            Err(e) => self
                .notes
                .push(format!("{source}: failed to open {}: {e}", path.display())),
        }
    }

    fn add_ssh(&mut self, path: &Path, source: &str, explicit: bool) {
        match std::fs::read(path) {
            Ok(pem) => {
                let pem = Zeroizing::new(pem);
                let name = format!("{source} ({})", path.display());
                match self.ids.add_ssh_private_key(&pem, &name) {
                    Ok(()) => self.notes.push(format!("{name}: loaded")),
                    Err(e) => self.notes.push(format!("{name}: skipped: {e}")),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {}
            Err(e) => self
                .notes
                .push(format!("{source}: failed to open {}: {e}", path.display())),
        }
    }
}

/// `SOPS_AGE_KEY` may hold several identities separated by newlines (sops 3.11) or by any
/// whitespace (sops ≥ 3.13); comment lines stay as they are.
fn split_inline_keys(text: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for word in line.split_whitespace() {
            out.push_str(word);
            out.push('\n');
        }
    }
    out
}

fn age_recipients(meta: &Metadata) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for group in &meta.key_groups {
        for key in group {
            if let MasterKey::Age { recipient, .. } = key
                && !out.contains(&recipient.as_str())
            {
                out.push(recipient);
            }
        }
    }
    out
}

/// Run `SOPS_AGE_KEY_CMD` for one recipient; its stdout holds identities.
fn run_key_cmd(cmd: &str, recipient: &str) -> Result<Zeroizing<String>, String> {
    let argv = shlex::split(cmd)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| format!("failed to parse command {cmd} from SOPS_AGE_KEY_CMD"))?;
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .env("SOPS_AGE_RECIPIENT", recipient)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("failed to execute command {cmd} from SOPS_AGE_KEY_CMD: {e}"))?;
    let stdout = Zeroizing::new(out.stdout);
    if !out.status.success() {
        let first = String::from_utf8_lossy(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        return Err(format!(
            "failed to execute command {cmd} from SOPS_AGE_KEY_CMD: {}{}",
            out.status,
            if first.is_empty() {
                String::new()
            } else {
                format!(": {first}")
            }
        ));
    }
    String::from_utf8(stdout.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| "SOPS_AGE_KEY_CMD printed something that is not UTF-8".to_string())
}

/// Recover the data key of a file: every source is loaded, then the key command runs per
/// recipient if needed. `notes` collects what each source gave, for the failure message.
pub fn recover(
    meta: &Metadata,
    env: &IdentityEnv,
    notes: &RefCell<Vec<String>>,
) -> Result<DataKey, SopsError> {
    let mut g = Gathered {
        ids: Identities::new(),
        notes: Vec::new(),
    };
    if let Some(text) = &env.age_key {
        g.add_text(&split_inline_keys(text), "SOPS_AGE_KEY");
    }
    if let Some(path) = &env.age_key_file {
        g.add_file(path, "SOPS_AGE_KEY_FILE", true);
    }
    if let Some(dir) = &env.user_config_dir {
        g.add_file(&dir.join("sops/age/keys.txt"), "sops user key file", false);
    }
    let wants_ssh = age_recipients(meta).iter().any(|r| r.starts_with("ssh-"));
    if wants_ssh {
        if let Some(path) = &env.ssh_key_file {
            g.add_ssh(path, "SOPS_AGE_SSH_PRIVATE_KEY_FILE", true);
        }
        if let Some(home) = &env.home {
            g.add_ssh(&home.join(".ssh/id_ed25519"), "default SSH key", false);
            g.add_ssh(&home.join(".ssh/id_rsa"), "default SSH key", false);
        }
    }
    if let Some(path) = &env.keyring_keys {
        g.add_file(path, "sealbox keyring", false);
    }
    let mut result = recover_data_key(meta, &g.ids);
    if result.is_err()
        && let Some(cmd) = &env.age_key_cmd
    {
        for recipient in age_recipients(meta) {
            match run_key_cmd(cmd, recipient) {
                Ok(text) => g.add_text(
                    &text,
                    &format!("SOPS_AGE_KEY_CMD (SOPS_AGE_RECIPIENT={recipient})"),
                ),
                Err(e) => g.notes.push(e),
            }
            result = recover_data_key(meta, &g.ids);
            if result.is_ok() {
                break;
            }
        }
    }
    if g.ids.is_empty() {
        g.notes.push(
            "no age identity found: set SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or SOPS_AGE_KEY_CMD, or put the key in ~/.config/sops/age/keys.txt".into(),
        );
    }
    *notes.borrow_mut() = g.notes;
    result
}

/// Decrypt `input` to change it and seal it again (unchanged values keep their IVs), with
/// the identities found in the environment; a data-key failure lists the recipients tried
/// and the identity sources (never keys).
pub fn open(
    ctx: &Ctx,
    input: &[u8],
    format: Format,
    ignore_mac: bool,
    store: StoreOptions,
) -> anyhow::Result<OpenedFile> {
    let env = IdentityEnv::from_process(ctx.keyring.as_ref());
    let notes = RefCell::new(Vec::new());
    OpenedFile::open_with(input, format, ignore_mac, store, |m| {
        recover(m, &env, &notes)
    })
    .map_err(|e| describe(e, &notes.borrow()))
}

/// [`open`] for commands that only read the plaintext (`decrypt`, `exec-env`, `exec-file`).
pub fn open_for_reading(
    ctx: &Ctx,
    input: &[u8],
    format: Format,
    ignore_mac: bool,
    store: StoreOptions,
) -> anyhow::Result<OpenedFile> {
    let env = IdentityEnv::from_process(ctx.keyring.as_ref());
    let notes = RefCell::new(Vec::new());
    OpenedFile::open_for_reading(input, format, ignore_mac, store, |m| {
        recover(m, &env, &notes)
    })
    .map_err(|e| describe(e, &notes.borrow()))
}

/// The CLI error for a failure to open a file; a data-key failure gets the identity
/// sources appended (what each gave, never key material).
pub fn describe(e: SopsError, notes: &[String]) -> anyhow::Error {
    match e {
        e @ SopsError::DataKeyUnavailable { .. } => {
            let mut msg = e.to_string();
            if !notes.is_empty() {
                msg.push_str("\n\nIdentity sources:");
                for n in notes {
                    msg.push_str("\n  ");
                    msg.push_str(n);
                }
            }
            fail(e.sops_exit_code(), msg)
        }
        other => sops(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_keys_split_on_any_whitespace() {
        let got =
            split_inline_keys("# c\nAGE-SECRET-KEY-1A AGE-SECRET-KEY-1B\n\tAGE-SECRET-KEY-1C\n");
        assert_eq!(
            got.as_str(),
            "AGE-SECRET-KEY-1A\nAGE-SECRET-KEY-1B\nAGE-SECRET-KEY-1C\n"
        );
    }

    #[test]
    fn debug_never_shows_the_inline_key() {
        let env = IdentityEnv {
            age_key: Some(Zeroizing::new("AGE-SECRET-KEY-1SECRET".into())),
            age_key_file: None,
            age_key_cmd: None,
            ssh_key_file: None,
            home: None,
            user_config_dir: None,
            keyring_keys: None,
        };
        assert!(!format!("{env:?}").contains("SECRET-KEY"));
    }
}
