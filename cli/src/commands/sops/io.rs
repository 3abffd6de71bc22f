//! Reading inputs and writing outputs the way the SOPS commands need: plaintext is held in
//! memory that is wiped on drop, every file is replaced atomically (temp file in the same
//! directory, fsync, rename) keeping its permissions, and an in-place write through a
//! symlink replaces the link's target, not the link.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::absolute;
use super::failure::{COULD_NOT_READ_INPUT, COULD_NOT_WRITE_OUTPUT, NO_FILE_SPECIFIED, fail};
use crate::keyring_dir::{FileMode, write_atomically};

/// Read a whole file (sops: "Error reading file", exit 2).
pub fn read_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    std::fs::read(path).map(Zeroizing::new).map_err(|e| {
        fail(
            COULD_NOT_READ_INPUT,
            format!("Error reading file: {}: {e}", path.display()),
        )
    })
}

/// Read stdin to the end (sops: "Error reading from stdin", exit 2).
pub fn read_stdin() -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::new());
    std::io::stdin().read_to_end(&mut buf).map_err(|e| {
        fail(
            COULD_NOT_READ_INPUT,
            format!("Error reading from stdin: {e}"),
        )
    })?;
    Ok(buf)
}

/// The absolute path of an existing file, or sops' "cannot operate on non-existent file"
/// (exit 100).
pub fn existing(path: &Path) -> anyhow::Result<PathBuf> {
    let abs = absolute(path);
    if !abs.exists() {
        return Err(fail(
            NO_FILE_SPECIFIED,
            format!(
                "Error: cannot operate on non-existent file \"{}\"",
                abs.display()
            ),
        ));
    }
    Ok(abs)
}

/// What kind of content is written (decides the mode of a new file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Content {
    /// Encrypted: safe to share, a new file is 0644.
    Encrypted,
    /// Decrypted: a new file is 0600.
    Plaintext,
}

/// Where output goes.
#[derive(Clone, Debug)]
pub enum Sink {
    /// Standard output.
    Stdout,
    /// `--output FILE`.
    File(PathBuf),
    /// `-i`: back into the input file.
    InPlace(PathBuf),
}

impl Sink {
    /// From sops' `-i`/`--output` pair (both at once is exit 8, checked by the caller).
    pub fn from_flags(in_place: bool, output: Option<&Path>, input: Option<&Path>) -> Sink {
        match (in_place, output, input) {
            (true, _, Some(file)) => Sink::InPlace(file.to_path_buf()),
            (_, Some(out), _) => Sink::File(out.to_path_buf()),
            _ => Sink::Stdout,
        }
    }
}

/// Write `bytes` to the sink; files are replaced atomically.
pub fn write(sink: &Sink, bytes: &[u8], content: Content) -> anyhow::Result<()> {
    let (path, what) = match sink {
        Sink::Stdout => {
            let mut out = std::io::stdout().lock();
            return out
                .write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| {
                    fail(
                        COULD_NOT_WRITE_OUTPUT,
                        format!("Could not write output: {e}"),
                    )
                });
        }
        Sink::File(p) => (p, "output"),
        Sink::InPlace(p) => (p, "in-place"),
    };
    // Replace the target of a symlink, so the link (e.g. into a shared checkout) survives.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
    let mode = match content {
        Content::Encrypted => FileMode::Shareable,
        Content::Plaintext => FileMode::KeepOrPrivate,
    };
    write_atomically(&target, bytes, mode).map_err(|e| {
        fail(
            COULD_NOT_WRITE_OUTPUT,
            format!("Could not open {what} file for writing: {e:#}"),
        )
    })
}
