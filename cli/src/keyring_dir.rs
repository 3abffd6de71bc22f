//! The local keyring directory: the embedded default that lets every command run on a
//! laptop with no cluster (`~/.config/sealbox`, or `--keyring DIR` / `SEALBOX_KEYRING`).
//!
//! Layout (the directory and everything in it is private: dirs 0700, files 0600):
//!
//! ```text
//! DIR/
//!   sealing-keys/<name>.yaml   one Bitnami-shaped kubernetes.io/tls Secret per sealing key,
//!                              so `keys backup` is exactly a kubectl key backup
//!   age/keys.txt               age identities for SOPS files
//! ```
//!
//! Every file is written atomically: a temporary file in the same directory, fsync,
//! rename, fsync of the directory. A crash leaves the old file or the new one, never half.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sealbox_keys::sealing::backup::{ManifestFormat, import_keys, key_secret};
use sealbox_keys::sealing::{Keyring, SealingKey};
use sealbox_keys::sops::{age_recipients_of, generate_age_identity};
use secrecy::ExposeSecret as _;

use crate::Global;
use crate::exit::{Code, WithCode as _, fail};

/// Namespace written into stored key Secrets: where the Bitnami controller keeps its keys,
/// so a backup restores into a cluster unchanged.
pub const KEY_NAMESPACE: &str = sealbox_keys::sealing::backup::DEFAULT_KEY_NAMESPACE;

/// A keyring directory (which may not exist yet).
#[derive(Clone, Debug)]
pub struct KeyringDir {
    root: PathBuf,
}

impl KeyringDir {
    /// The directory chosen by `--keyring` / `SEALBOX_KEYRING`, else
    /// `$XDG_CONFIG_HOME/sealbox`, else `~/.config/sealbox`.
    pub fn resolve(global: &Global) -> anyhow::Result<KeyringDir> {
        if let Some(dir) = &global.keyring {
            return Ok(KeyringDir::at(dir.clone()));
        }
        if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            return Ok(KeyringDir::at(PathBuf::from(xdg).join("sealbox")));
        }
        match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => Ok(KeyringDir::at(PathBuf::from(home).join(".config/sealbox"))),
            None => Err(fail(
                Code::Keyring,
                "cannot find the keyring: neither --keyring, SEALBOX_KEYRING, XDG_CONFIG_HOME nor HOME is set",
            )),
        }
    }

    /// A keyring at `root`.
    pub fn at(root: PathBuf) -> KeyringDir {
        KeyringDir { root }
    }

    /// The keyring directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where sealing keys live.
    pub fn sealing_keys_dir(&self) -> PathBuf {
        self.root.join("sealing-keys")
    }

    /// The age identity for SOPS files (`DIR/age/keys.txt`, an age key file).
    pub fn age_keys_path(&self) -> PathBuf {
        self.root.join("age").join("keys.txt")
    }

    /// The recipient (`age1…`) of the keyring's age identity, if it has one.
    pub fn age_recipient(&self) -> anyhow::Result<Option<String>> {
        let path = self.age_keys_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => zeroize::Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e).code(Code::Keyring, || format!("cannot read {}", path.display()));
            }
        };
        let recipients = age_recipients_of(&text, &path.display().to_string())
            .code(Code::Keyring, || {
                "the keyring's age identity is unusable".to_owned()
            })?;
        Ok(recipients.into_iter().next())
    }

    /// The keyring's age recipient, creating the identity (0600, atomically) if there is
    /// none yet. Returns the recipient and whether it was created now.
    pub fn ensure_age_identity(&self) -> anyhow::Result<(String, bool)> {
        if let Some(r) = self.age_recipient()? {
            return Ok((r, false));
        }
        let path = self.age_keys_path();
        let dir = path
            .parent()
            .expect("age/keys.txt has a parent")
            .to_path_buf();
        for d in [self.root.clone(), dir] {
            create_private_dir(&d)
                .code(Code::Keyring, || format!("cannot create {}", d.display()))?;
        }
        let created = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let (recipient, text) = generate_age_identity(&created);
        write_atomically(&path, text.as_bytes(), FileMode::Private)
            .code(Code::Keyring, || format!("cannot write {}", path.display()))?;
        Ok((recipient, true))
    }

    /// Files of stored sealing keys, sorted by name. Empty if the directory is missing.
    fn key_files(&self) -> anyhow::Result<Vec<PathBuf>> {
        let dir = self.sealing_keys_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(e).code(Code::Keyring, || format!("cannot read {}", dir.display()));
            }
        };
        let mut files = Vec::new();
        for entry in entries {
            let path = entry
                .code(Code::Keyring, || format!("cannot read {}", dir.display()))?
                .path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
        files.sort();
        Ok(files)
    }

    /// Load every sealing key. An empty or missing keyring is an empty [`Keyring`]; use
    /// [`KeyringDir::load_required`] where a key is needed.
    pub fn load(&self) -> anyhow::Result<Keyring> {
        let mut ring = Keyring::new();
        for path in self.key_files()? {
            let text = fs::read_to_string(&path)
                .code(Code::Keyring, || format!("cannot read {}", path.display()))?;
            let keys = import_keys(&text).code(Code::Keyring, || path.display().to_string())?;
            for key in keys {
                let name = key.name.unwrap_or_else(|| file_stem(&path));
                let cert = key.certificate.ok_or_else(|| {
                    fail(
                        Code::Keyring,
                        format!(
                            "{}: the key Secret has no data[\"tls.crt\"]",
                            path.display()
                        ),
                    )
                })?;
                let key = SealingKey::new(name, key.private, cert)
                    .code(Code::Keyring, || path.display().to_string())?;
                ring.insert(key);
            }
        }
        Ok(ring)
    }

    /// Load the keyring and insist on at least one key.
    pub fn load_required(&self) -> anyhow::Result<Keyring> {
        let ring = self.load()?;
        if ring.is_empty() {
            return Err(fail(
                Code::Keyring,
                format!(
                    "no sealing key in the keyring at {} (create one with `sealbox keys init`, or pass --cert / --recovery-private-key)",
                    self.root.display()
                ),
            ));
        }
        Ok(ring)
    }

    /// Create the directories (0700) if missing.
    pub fn create_dirs(&self) -> anyhow::Result<()> {
        for dir in [self.root.clone(), self.sealing_keys_dir()] {
            create_private_dir(&dir)
                .code(Code::Keyring, || format!("cannot create {}", dir.display()))?;
        }
        Ok(())
    }

    /// Store one key as `sealing-keys/<name>.yaml` (0600, atomically). Refuses to replace
    /// an existing file: keys are never overwritten.
    pub fn save_key(&self, key: &SealingKey) -> anyhow::Result<PathBuf> {
        self.create_dirs()?;
        let path = self.sealing_keys_dir().join(format!("{}.yaml", key.name()));
        if path.exists() {
            return Err(fail(
                Code::Keyring,
                format!(
                    "{} already exists; refusing to overwrite a key",
                    path.display()
                ),
            ));
        }
        let text = key_secret(key, KEY_NAMESPACE, ManifestFormat::Yaml);
        write_atomically(&path, text.expose_secret().as_bytes(), FileMode::Private)
            .code(Code::Keyring, || format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Permissions for a newly written file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileMode {
    /// 0600: keys, plaintext.
    Private,
    /// Keep the mode of the file being replaced, else 0644 (sealed output is public).
    Shareable,
    /// Keep the mode of the file being replaced, else 0600 (decrypted output written where
    /// the user asked: their file keeps its permissions, a new one is private).
    KeepOrPrivate,
}

/// Create `dir` and its parents; a directory we create is 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Write `contents` to `path` atomically: temp file in the same directory, fsync, rename
/// over the target, fsync the directory. On any error the target is untouched and the temp
/// file is removed. The temp file is created 0600 (its final mode is set before any content
/// is written) and its name is given to the [`crate::reaper`] before it exists, so even a
/// `kill -9` at any point leaves the old file or the new one and no temp file behind.
pub fn write_atomically(path: &Path, contents: &[u8], mode: FileMode) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".sealbox-")
        .suffix(".tmp")
        .make_in(&dir, |candidate| {
            crate::reaper::remove_on_exit(candidate);
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            options.open(candidate)
        })
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let bits = match mode {
            FileMode::Private => 0o600,
            FileMode::Shareable => fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0o644),
            FileMode::KeepOrPrivate => fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0o600),
        };
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(bits))
            .context("cannot set file permissions")?;
    }
    temp.write_all(contents).context("write failed")?;
    temp.as_file().sync_all().context("fsync failed")?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot rename into {}", path.display()))?;
    if let Ok(d) = fs::File::open(&dir) {
        // Make the rename itself durable; not all filesystems support fsync on a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.yaml");
        write_atomically(&path, b"one", FileMode::Private).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        write_atomically(&path, b"two", FileMode::Shareable).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".sealbox-"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn age_identity_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let ring = KeyringDir::at(dir.path().join("ring"));
        assert!(ring.age_recipient().unwrap().is_none());
        let (recipient, created) = ring.ensure_age_identity().unwrap();
        assert!(created && recipient.starts_with("age1"));
        let (again, created) = ring.ensure_age_identity().unwrap();
        assert_eq!((again.as_str(), created), (recipient.as_str(), false));
        let text = fs::read_to_string(ring.age_keys_path()).unwrap();
        assert!(text.contains(&format!("# public key: {recipient}\n")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&ring.age_keys_path()), 0o600);
            assert_eq!(mode(ring.age_keys_path().parent().unwrap()), 0o700);
            assert_eq!(mode(ring.root()), 0o700);
        }
    }

    #[test]
    fn failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("out");
        assert!(write_atomically(&path, b"x", FileMode::Private).is_err());
        assert!(!path.exists());
    }
}
