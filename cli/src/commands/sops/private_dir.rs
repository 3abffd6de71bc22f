//! Private temporary directories for plaintext (`edit`, `exec-file`) that never outlive the
//! process: 0700 directories in `$TMPDIR`, removed on drop, on SIGINT, SIGTERM and SIGHUP,
//! and by the [`crate::reaper`] when sealbox is killed with a signal it cannot handle.
//!
//! While a child runs (the editor, the `exec-file` command) Ctrl-C belongs to it, as with
//! `git commit` or `system(3)`: SIGINT reaches it through the terminal's process group and
//! sealbox keeps waiting (an editor may use Ctrl-C itself; if the child dies, its exit is
//! handled normally and the directory removed). SIGTERM and SIGHUP are passed on to the
//! child, the directories are removed, and sealbox exits with 128 + the signal number.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::failure::{COULD_NOT_WRITE_OUTPUT, fail};

#[derive(Default)]
struct State {
    dirs: Vec<PathBuf>,
    child: Option<u32>,
}

fn state() -> &'static Mutex<State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE.get_or_init(Mutex::default)
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    state().lock().unwrap_or_else(|p| p.into_inner())
}

/// Start the signal thread once; returns after the handlers are installed, so no signal can
/// arrive between creating a directory and being able to remove it.
fn install_signal_handlers() -> anyhow::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
            std::thread::Builder::new()
                .name("sealbox-signals".into())
                .spawn(move || signal_loop(ready_tx))
                .map_err(|e| e.to_string())?;
            ready_rx
                .recv()
                .map_err(|_| "the signal thread stopped".to_string())?
        })
        .clone()
        .map_err(|e| {
            fail(
                COULD_NOT_WRITE_OUTPUT,
                format!("cannot install signal handlers: {e}"),
            )
        })
}

fn signal_loop(ready: std::sync::mpsc::Sender<Result<(), String>>) {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            let _ = ready.send(Err(e.to_string()));
            return;
        }
    };
    runtime.block_on(async move {
        let streams = (|| {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
                signal(SignalKind::hangup())?,
            ))
        })();
        let (mut int, mut term, mut hup) = match streams {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        loop {
            let signo: i32 = tokio::select! {
                _ = int.recv() => 2,
                _ = term.recv() => 15,
                _ = hup.recv() => 1,
            };
            let state = lock();
            if signo == 2 && state.child.is_some() {
                // Ctrl-C belongs to the child in the foreground.
                continue;
            }
            if let Some(pid) = state
                .child
                .and_then(|p| rustix::process::Pid::from_raw(p as i32))
            {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            for d in &state.dirs {
                let _ = std::fs::remove_dir_all(d);
            }
            std::process::exit(128 + signo);
        }
    });
}

/// A 0700 directory for plaintext, removed when dropped (and on signals).
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    /// Create one in the system temp directory.
    pub fn new() -> anyhow::Result<PrivateDir> {
        install_signal_handlers()?;
        // The name goes to the reaper before the directory exists: even a `kill -9` of
        // sealbox (which no handler sees) leaves no plaintext behind.
        let created = tempfile::Builder::new()
            .prefix("sealbox-")
            .make_in(std::env::temp_dir(), |candidate| {
                crate::reaper::remove_on_exit(candidate);
                let mut builder = std::fs::DirBuilder::new();
                #[cfg(unix)]
                {
                    use std::os::unix::fs::DirBuilderExt as _;
                    builder.mode(0o700);
                }
                builder.create(candidate)
            })
            .and_then(|named| named.keep().map_err(|e| e.error));
        let path = match created {
            Ok(((), path)) => path,
            Err(e) => {
                return Err(fail(
                    COULD_NOT_WRITE_OUTPUT,
                    format!("Could not create temporary directory: {e}"),
                ));
            }
        };
        lock().dirs.push(path.clone());
        Ok(PrivateDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
        lock().dirs.retain(|d| d != &self.path);
    }
}

/// Marks a child process as running in the foreground (see the module docs).
pub struct ForegroundChild(());

impl ForegroundChild {
    /// Register `pid` until the guard is dropped.
    pub fn new(pid: u32) -> ForegroundChild {
        lock().child = Some(pid);
        ForegroundChild(())
    }
}

impl Drop for ForegroundChild {
    fn drop(&mut self) {
        lock().child = None;
    }
}

/// Write `bytes` to a new 0600 file `name` in `dir`.
pub fn write_private_file(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<PathBuf> {
    use std::io::Write as _;
    let path = dir.join(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(&path).map_err(|e| {
        fail(
            COULD_NOT_WRITE_OUTPUT,
            format!("Could not create temporary file: {e}"),
        )
    })?;
    f.write_all(bytes).map_err(|e| {
        fail(
            COULD_NOT_WRITE_OUTPUT,
            format!("Could not write output file: {e}"),
        )
    })?;
    Ok(path)
}
