//! Removing what sealbox leaves on disk when it dies without a chance to clean up.
//!
//! Drop guards and the signal thread (`commands::sops::private_dir`) remove temporary files
//! on every exit sealbox sees: success, error, SIGINT, SIGTERM, SIGHUP. SIGKILL (`kill -9`,
//! the OOM killer, a CI runner's timeout) cannot be seen, and it would leave behind the
//! plaintext `edit` and `exec-file` put in their private directories, or a half-written
//! temporary file next to an output.
//!
//! So before sealbox creates such a path it hands it to a *reaper*: a small `/bin/sh`
//! process, started once per sealbox process, that reads paths from a pipe and does nothing
//! else until the pipe closes. The pipe closes when sealbox exits, however it exits (the
//! kernel closes the descriptors of a killed process), and the reaper then removes every
//! path it was given — on a normal exit they are gone already and `rm -f` is a no-op.
//!
//! The reaper runs in its own process group and ignores SIGHUP/SIGINT/SIGTERM, so a Ctrl-C or
//! a signal to sealbox's process group does not take it down first; its working directory
//! is `/`. The pipe is close-on-exec, so editors and `exec-*` commands never hold it open.
//! Callers register a path *before* they create it (`tempfile::Builder::make_in` hands out
//! the name first), so there is no moment at which it exists unregistered.
//!
//! Best effort by design: where no `/bin/sh` can be started the reaper is absent and only
//! the in-process cleanup applies (the state of the art: sops has none for SIGKILL). It
//! cannot help when the reaper itself is killed (a `kill -9` of every process of a session)
//! or the machine loses power; `docs/security.md` says so.

use std::io::Write as _;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The script: collect paths (one per line) until EOF, then remove them.
const SCRIPT: &str = r#"trap '' HUP INT TERM PIPE
while IFS= read -r p; do set -- "$@" "$p"; done
[ "$#" -eq 0 ] || exec rm -rf -- "$@""#;

fn pipe() -> &'static Mutex<Option<ChildStdin>> {
    static PIPE: OnceLock<Mutex<Option<ChildStdin>>> = OnceLock::new();
    PIPE.get_or_init(|| Mutex::new(spawn()))
}

fn spawn() -> Option<ChildStdin> {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new("/bin/sh")
        .args(["-c", SCRIPT, "sealbox-reaper"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        .process_group(0)
        .spawn()
        .ok()?;
    // Not waited for: it outlives us by design (init adopts it).
    child.stdin.take()
}

/// Ask the reaper to remove `path` (a file or a directory tree) once this process is gone.
/// Returns `false` if there is no reaper (it could not be started or has died) or the path
/// cannot be passed to it (not absolute, or a line break in it).
pub fn remove_on_exit(path: &Path) -> bool {
    let Some(text) = path.to_str() else {
        return false;
    };
    if !path.is_absolute() || text.contains('\n') {
        return false;
    }
    let mut guard = pipe().lock().unwrap_or_else(|p| p.into_inner());
    let Some(stdin) = guard.as_mut() else {
        return false;
    };
    let ok = stdin
        .write_all(text.as_bytes())
        .and_then(|()| stdin.write_all(b"\n"))
        .and_then(|()| stdin.flush())
        .is_ok();
    if !ok {
        *guard = None;
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_paths_are_not_sent() {
        assert!(!remove_on_exit(Path::new("relative/path")));
        assert!(!remove_on_exit(Path::new("/tmp/a\nb")));
    }
}
