//! Crash safety of every command that writes a file (issue [F] item 4): a `kill -9` at any
//! point leaves the target byte-identical to its old content or a complete new one (never a
//! mix, never truncated), no copy of a plaintext anywhere but where the user asked for it,
//! no temporary file behind, and temporary files 0600 inside 0700 private directories.
//!
//! How "any point" is reached: the disk only changes at system calls, so each command is
//! first run once under `strace` to list the calls of its main thread that create, write,
//! rename, link, remove or chmod anything, or start a process (the reaper, the editor); then
//! it is run again once per such call with strace's fault injection killing it with SIGKILL
//! as that call is entered (`-e inject=write:signal=KILL:when=3`). Every state the disk can
//! be left in is therefore produced. A second test kills at random moments during the
//! writes of a large file (a SIGKILL inside one `write` of several MB stops it part-way,
//! which the syscall boundary cannot show). `edit` is also killed (SIGKILL, SIGTERM, SIGHUP,
//! Ctrl-C to its process group) while the editor holds the plaintext.
//!
//! Needs `strace` (`scripts/peers/install.sh` installs it); the tests fail, not skip,
//! without it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::sops_support::{ALICE, BOB, err, key, sealbox};
use super::support::cert_fixture;

/// System calls that can change what is on disk, or start a process, in the main thread.
/// `?` lets strace accept a name the architecture does not have.
const MUTATING: &[&str] = &[
    "write",
    "pwrite64",
    "writev",
    "openat",
    "?open",
    "?creat",
    "mkdir",
    "mkdirat",
    "?rename",
    "renameat",
    "renameat2",
    "?link",
    "linkat",
    "?unlink",
    "unlinkat",
    "?rmdir",
    "fchmod",
    "fchmodat",
    "?chmod",
    "ftruncate",
    "?truncate",
    "fsync",
    "fdatasync",
    "?clone",
    "clone3",
    "?vfork",
    "?fork",
];

/// How long the reaper may take to remove what a killed sealbox left.
const REAPER_GRACE: Duration = Duration::from_secs(10);

fn strace() -> PathBuf {
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let p = dir.join("strace");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "strace not found: the crash-safety tests need it (scripts/peers/install.sh installs it)"
    );
}

fn write_file(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Every file under `dir`, recursively (missing dir: none).
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `PLAIN`: a YAML file of `n` secret values, each recognisable by its marker.
fn plaintext_yaml(n: usize, marker: &str) -> String {
    let mut s = String::from("# crash-safety fixture\n");
    for i in 0..n {
        s.push_str(&format!(
            "key{i:05}: {marker}-{i:05}-{:016x}\n",
            (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ));
    }
    s
}

/// The private directories of one run.
struct Sandbox {
    _root: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
    tmp: PathBuf,
    keyring: PathBuf,
}

impl Sandbox {
    fn new() -> Sandbox {
        let root = tempfile::tempdir().unwrap();
        let home = root.path().join("home");
        let work = root.path().join("work");
        let tmp = root.path().join("tmp");
        let keyring = root.path().join("keyring");
        for d in [&home, &work, &tmp] {
            std::fs::create_dir_all(d).unwrap();
        }
        Sandbox {
            _root: root,
            home,
            work,
            tmp,
            keyring,
        }
    }

    /// `sealbox` in a clean environment, cwd = work, TMPDIR = tmp, alice's identity,
    /// keyring = the sandbox's.
    fn sealbox(&self) -> Command {
        let mut cmd = sealbox(&self.home);
        cmd.current_dir(&self.work)
            .env("TMPDIR", &self.tmp)
            .env("SOPS_AGE_KEY_FILE", key("alice.agekey"))
            .env("SEALBOX_KEYRING", &self.keyring);
        cmd
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.work.join(rel)
    }
}

/// What a possibly-killed run left as its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum State {
    Old,
    New,
}

/// Which files may hold a secret in the state found.
type AllowedFiles = Box<dyn Fn(&Sandbox, State) -> Vec<PathBuf>>;
/// Whether a target is old, complete-new, or broken (the reason).
type Judge = Box<dyn Fn(&Sandbox) -> Result<State, String>>;

/// One command that writes a file, with how to set it up and how to judge the result.
struct Case {
    name: &'static str,
    /// Prepares the sandbox (files in `work`, a keyring, ...).
    setup: Box<dyn Fn(&Sandbox)>,
    /// sealbox's arguments.
    args: Vec<String>,
    /// Extra environment.
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    /// Strings (secret values) that may only be in the files `plaintext_allowed` names.
    secrets: Vec<String>,
    /// Files that may hold a secret, given the state found.
    plaintext_allowed: AllowedFiles,
    /// Whether the target is old, complete-new, or broken (the reason).
    judge: Judge,
}

impl Case {
    fn command(&self, sb: &Sandbox, program_prefix: &[String]) -> Command {
        let mut cmd = if program_prefix.is_empty() {
            sb.sealbox()
        } else {
            // strace ... sealbox ...: same environment, sealbox's path as an argument.
            let inner = sb.sealbox();
            let mut cmd = Command::new(&program_prefix[0]);
            cmd.args(&program_prefix[1..]).arg(inner.get_program());
            cmd.env_clear();
            for (k, v) in inner.get_envs() {
                if let Some(v) = v {
                    cmd.env(k, v);
                }
            }
            cmd.current_dir(&sb.work).stdin(Stdio::null());
            cmd
        };
        cmd.args(&self.args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if self.stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        cmd
    }

    fn run(&self, sb: &Sandbox, prefix: &[String]) -> Output {
        let mut child = self.command(sb, prefix).spawn().expect("starts");
        if let Some(input) = &self.stdin {
            use std::io::Write as _;
            // A killed process closes its end: ignore the broken pipe.
            let _ = child.stdin.take().unwrap().write_all(input);
        }
        child.wait_with_output().expect("runs")
    }
}

/// Wait until the reaper has removed what a killed run left: TMPDIR empty and no
/// `.sealbox-*.tmp` under `work` or the keyring. Returns what is still there on timeout.
fn wait_for_cleanup(sb: &Sandbox) -> Vec<PathBuf> {
    let deadline = Instant::now() + REAPER_GRACE;
    loop {
        let mut left: Vec<PathBuf> = std::fs::read_dir(&sb.tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        for dir in [&sb.work, &sb.keyring] {
            left.extend(files(dir).into_iter().filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(".sealbox-"))
            }));
        }
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Judge the sandbox after a run that may have been killed `at`. Panics with the case, the
/// kill point and what is wrong.
fn assert_consistent(case: &Case, sb: &Sandbox, at: &str) -> State {
    let left = wait_for_cleanup(sb);
    assert!(
        left.is_empty(),
        "{} killed at {at}: left behind {left:#?}",
        case.name
    );
    let state = match (case.judge)(sb) {
        Ok(s) => s,
        Err(why) => panic!("{} killed at {at}: target broken: {why}", case.name),
    };
    let allowed = (case.plaintext_allowed)(sb, state);
    for dir in [&sb.work, &sb.tmp, &sb.keyring, &sb.home] {
        for f in files(dir) {
            if allowed.contains(&f) {
                continue;
            }
            let bytes = std::fs::read(&f).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes);
            for s in &case.secrets {
                assert!(
                    !text.contains(s.as_str()),
                    "{} killed at {at} (target {state:?}): {} holds a plaintext",
                    case.name,
                    f.display()
                );
            }
        }
    }
    state
}

/// Counts of each mutating system call of one complete run (main thread), and the trace.
fn record(case: &Case) -> (BTreeMap<String, usize>, String, PathBuf) {
    let sb = Sandbox::new();
    (case.setup)(&sb);
    // Outside the sandbox: the trace shows what was written, plaintext included.
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("trace.txt");
    let prefix = vec![
        strace().display().to_string(),
        "-qq".into(),
        "-s".into(),
        "4096".into(),
        "-o".into(),
        log.display().to_string(),
        "-e".into(),
        format!("trace={}", MUTATING.join(",")),
    ];
    let out = case.run(&sb, &prefix);
    assert!(
        out.status.success(),
        "{}: the recording run failed ({:?}): {}",
        case.name,
        out.status.code(),
        err(&out)
    );
    assert_eq!(
        assert_consistent(case, &sb, "<not killed>"),
        State::New,
        "{}: a complete run leaves the new content",
        case.name
    );
    let trace = std::fs::read_to_string(&log).unwrap();
    let mut counts = BTreeMap::new();
    for line in trace.lines() {
        if let Some((name, _)) = line.split_once('(')
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            *counts.entry(name.to_owned()).or_insert(0) += 1;
        }
    }
    (counts, trace, sb.tmp.clone())
}

/// Every file and directory a run created was created private (0600 / 0700), and its name
/// (or a directory above it) had been handed to the reaper (a `write` of the path to its
/// pipe) before it existed.
fn assert_created_private_and_registered(case: &Case, trace: &str, tmp: &Path) {
    let mut registered: Vec<String> = Vec::new();
    let quoted =
        |line: &str, nth: usize| -> Option<String> { line.split('"').nth(nth).map(str::to_owned) };
    let mut created = 0;
    for line in trace.lines() {
        if line.starts_with("write(") {
            if let Some(p) = quoted(line, 1) {
                registered.push(p);
            }
            continue;
        }
        let (path, mode) = if line.starts_with("openat(") && line.contains("O_CREAT") {
            (
                quoted(line, 1),
                line.rsplit(", ").next().and_then(|m| m.split(')').next()),
            )
        } else if line.starts_with("mkdir(") {
            (
                quoted(line, 1),
                line.rsplit(", ").next().and_then(|m| m.split(')').next()),
            )
        } else {
            continue;
        };
        let path = path.expect("a quoted path");
        let mode = mode.expect("a mode");
        created += 1;
        let is_dir = line.starts_with("mkdir(");
        let want = if is_dir { "0700" } else { "0600" };
        assert_eq!(mode, want, "{}: {path} created with mode {mode}", case.name);
        // Every file is a temporary one (outputs are renamed into place); directories are
        // temporary inside TMPDIR (the keyring's own directories are meant to stay).
        let temporary = !is_dir || Path::new(&path).starts_with(tmp);
        assert!(
            !temporary || registered.iter().any(|r| Path::new(&path).starts_with(r)),
            "{}: {path} was created before the reaper knew it:\n{trace}",
            case.name
        );
    }
    assert!(
        created > 0,
        "{}: the trace shows no file created:\n{trace}",
        case.name
    );
}

/// Kill the case at every mutating system call; returns how many runs ended Old and New.
fn kill_at_every_syscall(case: &Case) -> BTreeMap<State, usize> {
    let (counts, trace, tmp) = record(case);
    assert_created_private_and_registered(case, &trace, &tmp);
    let mut seen = BTreeMap::new();
    let mut killed = 0;
    let mut points = 0;
    for (name, count) in &counts {
        for n in 1..=*count {
            points += 1;
            let sb = Sandbox::new();
            (case.setup)(&sb);
            let prefix = vec![
                strace().display().to_string(),
                "-qq".into(),
                "-o".into(),
                "/dev/null".into(),
                "-e".into(),
                format!("trace={name}"),
                "-e".into(),
                format!("inject={name}:signal=KILL:when={n}"),
            ];
            let out = case.run(&sb, &prefix);
            let at = format!("{name} #{n}");
            if out.status.code() == Some(137) || out.status.code().is_none() {
                killed += 1;
            } else {
                // The call count can differ between runs (e.g. a write to stderr); a run
                // that got through must still be consistent, and is counted below.
                assert!(
                    out.status.success(),
                    "{} ({at}): exit {:?}: {}",
                    case.name,
                    out.status.code(),
                    err(&out)
                );
            }
            *seen.entry(assert_consistent(case, &sb, &at)).or_insert(0) += 1;
        }
    }
    eprintln!(
        "{}: {points} kill points ({killed} killed): {seen:?} — calls {counts:?}",
        case.name
    );
    assert!(
        killed * 10 >= points * 9,
        "{}: only {killed} of {points} runs were killed",
        case.name
    );
    assert!(
        seen.get(&State::Old).copied().unwrap_or(0) > 0,
        "{}: no kill point left the old content: the injection never hit before the write",
        case.name
    );
    seen
}

// ------------------------------------------------------------------------------------------
// The cases

const MARK: &str = "crash-plaintext";

fn decrypt_to_string(sb: &Sandbox, rel: &str, identity: &str) -> Result<String, String> {
    let mut cmd = sealbox(&sb.home);
    cmd.current_dir(&sb.work)
        .env("SOPS_AGE_KEY_FILE", key(identity))
        .args(["decrypt", rel]);
    let out = cmd.output().unwrap();
    if !out.status.success() {
        return Err(format!(
            "{rel} does not decrypt (exit {:?}): {}",
            out.status.code(),
            err(&out)
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("{rel}: not UTF-8"))
}

/// An encrypted copy of `plain` for alice (made once per case, reused as the old content).
fn encrypted(plain: &str) -> Vec<u8> {
    let sb = Sandbox::new();
    write_file(&sb.path("f.yaml"), plain.as_bytes());
    let mut cmd = sb.sealbox();
    cmd.args(["encrypt", "--age", ALICE, "-i", "f.yaml"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", err(&out));
    std::fs::read(sb.path("f.yaml")).unwrap()
}

/// A SOPS in-place case on `f.yaml`: old = `old` bytes; new = decrypts (with `identity`) to
/// `new_plain` and differs from the old bytes.
#[allow(clippy::too_many_arguments)]
fn sops_case(
    name: &'static str,
    old: Vec<u8>,
    extra_files: Vec<(&'static str, Vec<u8>)>,
    args: &[&str],
    env: Vec<(String, String)>,
    new_plain: String,
    identity: &'static str,
    secrets: Vec<String>,
    old_is_plaintext: bool,
) -> Case {
    let old_for_setup = old.clone();
    Case {
        name,
        setup: Box::new(move |sb| {
            write_file(&sb.path("f.yaml"), &old_for_setup);
            for (rel, bytes) in &extra_files {
                write_file(&sb.path(rel), bytes);
            }
        }),
        args: args.iter().map(|s| s.to_string()).collect(),
        env,
        stdin: None,
        secrets,
        plaintext_allowed: Box::new(move |sb, state| {
            if state == State::Old && old_is_plaintext {
                vec![sb.path("f.yaml")]
            } else {
                vec![]
            }
        }),
        judge: Box::new(move |sb| {
            let now = std::fs::read(sb.path("f.yaml")).map_err(|e| format!("f.yaml: {e}"))?;
            if now == old {
                return Ok(State::Old);
            }
            let plain = decrypt_to_string(sb, "f.yaml", identity)?;
            if plain == new_plain {
                Ok(State::New)
            } else {
                Err("f.yaml decrypts, but not to the expected new plaintext".into())
            }
        }),
    }
}

fn cases() -> Vec<Case> {
    let plain = plaintext_yaml(300, MARK);
    let enc = encrypted(&plain);
    let secrets = vec![MARK.to_owned()];
    let mut out = Vec::new();

    out.push(sops_case(
        "encrypt -i",
        plain.clone().into_bytes(),
        vec![],
        &["encrypt", "--age", ALICE, "-i", "f.yaml"],
        vec![],
        plain.clone(),
        "alice.agekey",
        secrets.clone(),
        true,
    ));

    // decrypt -i: the new content is the plaintext the user asked for.
    {
        let old = enc.clone();
        let expected = plain.clone();
        let old_setup = enc.clone();
        out.push(Case {
            name: "decrypt -i",
            setup: Box::new(move |sb| write_file(&sb.path("f.yaml"), &old_setup)),
            args: ["decrypt", "-i", "f.yaml"].map(String::from).to_vec(),
            env: vec![],
            stdin: None,
            secrets: secrets.clone(),
            plaintext_allowed: Box::new(|sb, state| match state {
                State::New => vec![sb.path("f.yaml")],
                State::Old => vec![],
            }),
            judge: Box::new(move |sb| {
                let now = std::fs::read(sb.path("f.yaml")).map_err(|e| e.to_string())?;
                if now == old {
                    Ok(State::Old)
                } else if now == expected.as_bytes() {
                    Ok(State::New)
                } else {
                    Err(format!("{} bytes that are neither old nor new", now.len()))
                }
            }),
        });
    }

    out.push(sops_case(
        "rotate -i",
        enc.clone(),
        vec![],
        &["rotate", "-i", "f.yaml"],
        vec![],
        plain.clone(),
        "alice.agekey",
        secrets.clone(),
        false,
    ));

    out.push(sops_case(
        "updatekeys -y",
        enc.clone(),
        vec![(
            ".sops.yaml",
            format!("creation_rules:\n  - age: {ALICE},{BOB}\n").into_bytes(),
        )],
        &["updatekeys", "-y", "f.yaml"],
        vec![],
        plain.clone(),
        // Only a completed update lets bob read it.
        "bob.agekey",
        secrets.clone(),
        false,
    ));

    let set_value = format!("{MARK}-set-value");
    out.push(sops_case(
        "set",
        enc.clone(),
        vec![],
        &[
            "set",
            "f.yaml",
            r#"["key00007"]"#,
            &format!("\"{set_value}\""),
        ],
        vec![],
        {
            let line = plain.lines().find(|l| l.starts_with("key00007:")).unwrap();
            plain.replace(line, &format!("key00007: {set_value}"))
        },
        "alice.agekey",
        secrets.clone(),
        false,
    ));

    out.push(sops_case(
        "unset",
        enc.clone(),
        vec![],
        &["unset", "f.yaml", r#"["key00011"]"#],
        vec![],
        {
            let line = plain.lines().find(|l| l.starts_with("key00011:")).unwrap();
            plain.replace(&format!("{line}\n"), "")
        },
        "alice.agekey",
        secrets.clone(),
        false,
    ));

    // edit with an editor that changes one value at once; sealbox is killed around it.
    {
        let editor_dir = tempfile::tempdir().unwrap().keep();
        let editor = editor_dir.join("editor.sh");
        write_file(
            &editor,
            b"#!/bin/sh\nsed -i 's/^key00003: .*/key00003: crash-plaintext-edited/' \"$1\"\n",
        );
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
        let line = plain.lines().find(|l| l.starts_with("key00003:")).unwrap();
        out.push(sops_case(
            "edit",
            enc.clone(),
            vec![],
            &["edit", "f.yaml"],
            vec![("SOPS_EDITOR".into(), editor.display().to_string())],
            plain.replace(line, "key00003: crash-plaintext-edited"),
            "alice.agekey",
            secrets.clone(),
            false,
        ));
    }

    // unseal -w: a plaintext Secret written where the user asked (0600).
    {
        let secret = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: demo\nstringData:\n  password: {MARK}-sealed-value\n"
        );
        let sealed = {
            let sb = Sandbox::new();
            let mut cmd = sb.sealbox();
            cmd.args(["seal", "--cert"])
                .arg(cert_fixture("byo-rsa2048.cert.pem"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(secret.as_bytes())
                .unwrap();
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success());
            o.stdout
        };
        let key_pem = std::fs::read(cert_fixture("byo-rsa2048.key.pem")).unwrap();
        out.push(Case {
            name: "unseal -w",
            setup: Box::new(move |sb| {
                write_file(&sb.path("sealed.yaml"), &sealed);
                write_file(&sb.path("key.pem"), &key_pem);
            }),
            args: [
                "unseal",
                "--recovery-private-key",
                "key.pem",
                "-f",
                "sealed.yaml",
                "-w",
                "secret.json",
            ]
            .map(String::from)
            .to_vec(),
            env: vec![],
            stdin: None,
            // The Secret's data is base64; its plaintext must not be anywhere else.
            secrets: vec![
                format!("{MARK}-sealed-value"),
                base64_of(&format!("{MARK}-sealed-value")),
            ],
            plaintext_allowed: Box::new(|sb, state| match state {
                State::New => vec![sb.path("secret.json")],
                State::Old => vec![],
            }),
            judge: Box::new(|sb| {
                let p = sb.path("secret.json");
                if !p.exists() {
                    return Ok(State::Old);
                }
                let text = std::fs::read_to_string(&p).map_err(|e| e.to_string())?;
                let v: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| format!("secret.json is not complete JSON: {e}"))?;
                if v["data"]["password"] != base64_of(&format!("{MARK}-sealed-value")) {
                    return Err("secret.json lacks the value".into());
                }
                if mode(&p) != 0o600 {
                    return Err(format!("secret.json has mode {:o}", mode(&p)));
                }
                Ok(State::New)
            }),
        });
    }

    // seal --merge-into: the SealedSecret gains a value, atomically.
    {
        let first = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: demo\nstringData:\n  a: crash-plaintext-a\n";
        let more = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: demo\nstringData:\n  b: crash-plaintext-b\n";
        let sealed = {
            let sb = Sandbox::new();
            let mut cmd = sb.sealbox();
            cmd.args(["seal", "--cert"])
                .arg(cert_fixture("byo-rsa2048.cert.pem"))
                .args(["-o", "yaml"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(first.as_bytes())
                .unwrap();
            let o = child.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", err(&o));
            o.stdout
        };
        let old = sealed.clone();
        out.push(Case {
            name: "seal --merge-into",
            setup: Box::new(move |sb| write_file(&sb.path("sealed.yaml"), &sealed)),
            args: vec![
                "seal".into(),
                "--cert".into(),
                cert_fixture("byo-rsa2048.cert.pem").display().to_string(),
                "--merge-into".into(),
                "sealed.yaml".into(),
            ],
            env: vec![],
            stdin: Some(more.as_bytes().to_vec()),
            secrets: vec![MARK.to_owned()],
            plaintext_allowed: Box::new(|_, _| vec![]),
            judge: Box::new(move |sb| {
                let now = std::fs::read(sb.path("sealed.yaml")).map_err(|e| e.to_string())?;
                if now == old {
                    return Ok(State::Old);
                }
                std::fs::write(
                    sb.path("key.pem"),
                    std::fs::read(cert_fixture("byo-rsa2048.key.pem")).unwrap(),
                )
                .unwrap();
                let mut cmd = sealbox(&sb.home);
                cmd.current_dir(&sb.work).args([
                    "unseal",
                    "--recovery-private-key",
                    "key.pem",
                    "-f",
                    "sealed.yaml",
                ]);
                let o = cmd.output().unwrap();
                std::fs::remove_file(sb.path("key.pem")).unwrap();
                if !o.status.success() {
                    return Err(format!("sealed.yaml does not unseal: {}", err(&o)));
                }
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                if v["data"]["a"] == base64_of("crash-plaintext-a")
                    && v["data"]["b"] == base64_of("crash-plaintext-b")
                {
                    Ok(State::New)
                } else {
                    Err("sealed.yaml unseals without both values".into())
                }
            }),
        });
    }

    // Keyring writes: a new sealing key (2048-bit: fast) and the age identity, from empty.
    out.push(keyring_case(
        "keys init",
        &["keys", "init", "--key-size", "2048"],
        false,
    ));
    // A new sealing key made by rotation (2048-bit: fast) next to an existing one.
    out.push(keyring_case(
        "keys rotate",
        &["keys", "rotate", "--key-size", "2048"],
        true,
    ));
    // A key from a backup into an existing keyring.
    out.push(keyring_case(
        "keys import",
        &["keys", "import", "backup.yaml"],
        true,
    ));
    out
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A keyring-writing case. The keyring must afterwards load (`keys list`) with every file
/// complete, private (files 0600, directories 0700), holding the old keys or the old keys
/// plus the new one.
fn keyring_case(name: &'static str, args: &[&str], with_existing_key: bool) -> Case {
    let backup = std::fs::read(super::support::repo_fixture("sealing-keys-backup.yaml")).unwrap();
    let byo_key = std::fs::read(cert_fixture("byo-rsa2048.key.pem")).unwrap();
    let byo_cert = std::fs::read(cert_fixture("byo-rsa2048.cert.pem")).unwrap();
    Case {
        name,
        setup: Box::new(move |sb| {
            write_file(&sb.path("backup.yaml"), &backup);
            if with_existing_key {
                // An existing keyring with one key, made by sealbox itself from a PEM pair.
                write_file(&sb.path("byo.key.pem"), &byo_key);
                write_file(&sb.path("byo.cert.pem"), &byo_cert);
                let mut cmd = sb.sealbox();
                cmd.args(["keys", "import", "byo.key.pem"]);
                let o = cmd.output().unwrap();
                assert!(o.status.success(), "{}", err(&o));
                std::fs::remove_file(sb.path("byo.key.pem")).unwrap();
                std::fs::remove_file(sb.path("byo.cert.pem")).unwrap();
            }
        }),
        args: args.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        stdin: None,
        // Private keys never leave the keyring (and the backup they came from): no PEM or
        // base64 PEM private-key header anywhere else.
        secrets: vec![
            "PRIVATE KEY".into(),
            base64_of("-----BEGIN RSA PRIVATE KEY-----"),
            base64_of("-----BEGIN PRIVATE KEY-----"),
        ],
        plaintext_allowed: Box::new(|sb, _| {
            let mut allowed = files(&sb.keyring);
            allowed.push(sb.path("backup.yaml"));
            allowed
        }),
        judge: Box::new(move |sb| {
            let key_files: Vec<PathBuf> = files(&sb.keyring.join("sealing-keys"));
            for f in files(&sb.keyring) {
                if mode(&f) != 0o600 {
                    return Err(format!("{} has mode {:o}", f.display(), mode(&f)));
                }
                let mut d = f.parent().unwrap().to_path_buf();
                while d.starts_with(&sb.keyring) {
                    if mode(&d) != 0o700 {
                        return Err(format!("{} has mode {:o}", d.display(), mode(&d)));
                    }
                    d = d.parent().unwrap().to_path_buf();
                }
            }
            let before = usize::from(with_existing_key);
            let mut cmd = sb.sealbox();
            cmd.args(["keys", "list"]);
            let o = cmd.output().unwrap();
            if key_files.len() == before {
                return Ok(State::Old);
            }
            if !o.status.success() {
                return Err(format!(
                    "{} key files but `keys list` fails: {}",
                    key_files.len(),
                    err(&o)
                ));
            }
            let listed = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| l.contains("sealing") || l.contains("unsealing only"))
                .count();
            if listed == key_files.len() && listed > before {
                Ok(State::New)
            } else {
                Err(format!(
                    "{} key files, {listed} keys listed",
                    key_files.len()
                ))
            }
        }),
    }
}

#[test]
fn kill_9_at_every_disk_write_leaves_old_or_new_and_no_plaintext() {
    let mut summary = Vec::new();
    for case in cases() {
        let seen = kill_at_every_syscall(&case);
        summary.push((case.name, seen));
    }
    eprintln!("summary: {summary:#?}");
}

// ------------------------------------------------------------------------------------------
// Random SIGKILLs inside the writes of a large file.

#[test]
fn kill_9_at_random_moments_on_a_large_file() {
    // ~1.7 MB of plaintext, ~6 MB encrypted: one write of it takes long enough to be cut.
    let plain = plaintext_yaml(25_000, MARK);
    let enc = encrypted(&plain);
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    for (name, old, args, new_is_plain) in [
        (
            "decrypt -i",
            enc.clone(),
            vec!["decrypt", "-i", "f.yaml"],
            true,
        ),
        (
            "encrypt -i",
            plain.clone().into_bytes(),
            vec!["encrypt", "--age", ALICE, "-i", "f.yaml"],
            false,
        ),
    ] {
        // How long an uninterrupted run takes.
        let sb = Sandbox::new();
        write_file(&sb.path("f.yaml"), &old);
        let started = Instant::now();
        let o = sb.sealbox().args(&args).output().unwrap();
        assert!(o.status.success(), "{}", err(&o));
        let full = started.elapsed();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for _ in 0..16 {
            let sb = Sandbox::new();
            write_file(&sb.path("f.yaml"), &old);
            let delay = full.mul_f64((next() % 1000) as f64 / 1000.0 * 1.1);
            let mut child = sb
                .sealbox()
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            let _ = child.kill();
            let status = child.wait().unwrap();
            let left = wait_for_cleanup(&sb);
            assert!(left.is_empty(), "{name}: left behind {left:#?}");
            let now = std::fs::read(sb.path("f.yaml")).unwrap();
            let complete_new = if new_is_plain {
                now == plain.as_bytes()
            } else {
                decrypt_to_string(&sb, "f.yaml", "alice.agekey").ok() == Some(plain.clone())
            };
            let state = if now == old {
                "old"
            } else if complete_new {
                "new"
            } else {
                panic!(
                    "{name} killed after {delay:?} ({status:?}): target is neither old nor new ({} bytes)",
                    now.len()
                );
            };
            *seen.entry(state).or_insert(0) += 1;
            for f in files(&sb.work).into_iter().chain(files(&sb.tmp)) {
                if f == sb.path("f.yaml") {
                    continue;
                }
                let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
                assert!(
                    !text.contains(MARK),
                    "{name}: {} holds a plaintext",
                    f.display()
                );
            }
        }
        eprintln!("{name}: uninterrupted {full:?}; 16 random kills: {seen:?}");
    }
}

// ------------------------------------------------------------------------------------------
// edit: signals while the editor holds the plaintext.

/// An editor that records its file's and directory's modes and its pid, then waits.
fn slow_editor(dir: &Path) -> (PathBuf, PathBuf) {
    let probe = dir.join("probe.txt");
    let editor = dir.join("slow-editor.sh");
    write_file(
        &editor,
        format!(
            "#!/bin/sh\nstat -c '%a' \"$1\" \"$(dirname \"$1\")\" > '{p}.tmp'\necho $$ >> '{p}.tmp'\nmv '{p}.tmp' '{p}'\nexec sleep 60\n",
            p = probe.display()
        )
        .as_bytes(),
    );
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    (editor, probe)
}

/// Start `sealbox edit f.yaml` (own process group) and wait until the editor runs; returns
/// the child and the editor's pid.
fn start_edit(sb: &Sandbox, editor: &Path, probe: &Path) -> (std::process::Child, String) {
    use std::os::unix::process::CommandExt as _;
    let child = sb
        .sealbox()
        .env("SOPS_EDITOR", editor)
        .args(["edit", "f.yaml"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probe.exists() {
        assert!(Instant::now() < deadline, "the editor never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(probe).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        &lines[..2],
        ["600", "700"],
        "plaintext file 0600 in a 0700 directory"
    );
    (child, lines[2].to_owned())
}

fn kill(sig: &str, target: &str) {
    let status = Command::new("kill")
        .args([sig, "--", target])
        .status()
        .unwrap();
    assert!(status.success(), "kill {sig} {target}");
}

#[test]
fn signals_during_edit_remove_the_plaintext_and_keep_the_file() {
    let plain = plaintext_yaml(50, MARK);
    let enc = encrypted(&plain);
    for signal in ["-KILL", "-TERM", "-HUP", "-INT (process group)"] {
        let sb = Sandbox::new();
        write_file(&sb.path("f.yaml"), &enc);
        let (editor, probe) = slow_editor(&sb.home);
        let (mut child, editor_pid) = start_edit(&sb, &editor, &probe);
        // The plaintext is on disk now, in the private directory.
        assert_eq!(std::fs::read_dir(&sb.tmp).unwrap().count(), 1);
        let pid = child.id().to_string();
        match signal {
            "-INT (process group)" => kill("-INT", &format!("-{pid}")),
            sig => kill(sig, &pid),
        }
        let status = child.wait().unwrap();
        let expected: &[Option<i32>] = match signal {
            "-KILL" => &[None],
            "-TERM" => &[Some(143)],
            "-HUP" => &[Some(129)],
            // Ctrl-C reaches the editor, which dies of it: sops' "could not run editor"
            // (or 130 if sealbox sees the SIGINT only after the editor has been reaped).
            _ => &[Some(201), Some(130)],
        };
        assert!(
            expected.contains(&status.code()),
            "{signal}: exit status {status:?}"
        );
        let left = wait_for_cleanup(&sb);
        assert!(
            left.is_empty(),
            "{signal}: plaintext left behind: {left:#?}"
        );
        assert_eq!(std::fs::read(sb.path("f.yaml")).unwrap(), enc, "{signal}");
        // After SIGKILL the editor is an orphan still running: stop it (by its pid).
        let _ = Command::new("kill")
            .args(["-KILL", &editor_pid])
            .stderr(Stdio::null())
            .status();
        for f in files(&sb.work).into_iter().chain(files(&sb.tmp)) {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            assert!(
                !text.contains(MARK),
                "{signal}: {} holds a plaintext",
                f.display()
            );
        }
    }
}

#[test]
fn kill_9_during_exec_file_removes_the_plaintext() {
    let plain = plaintext_yaml(20, MARK);
    let enc = encrypted(&plain);
    for fifo in [false, true] {
        let sb = Sandbox::new();
        write_file(&sb.path("f.yaml"), &enc);
        let probe = sb.home.join("probe.txt");
        // The command records the file's mode and its own pid, then waits (without
        // reading a FIFO: the plaintext stays pending in the private directory).
        let command = format!(
            "stat -c '%a' {{}} > '{p}.tmp'; echo $$ >> '{p}.tmp'; mv '{p}.tmp' '{p}'; exec sleep 60",
            p = probe.display()
        );
        let mut args = vec!["exec-file"];
        if !fifo {
            args.push("--no-fifo");
        }
        args.extend(["f.yaml", command.as_str()]);
        let mut child = sb
            .sealbox()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !probe.exists() {
            assert!(Instant::now() < deadline, "exec-file never ran its command");
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = std::fs::read_to_string(&probe).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "600", "fifo={fifo}: the plaintext file is 0600");
        assert_eq!(std::fs::read_dir(&sb.tmp).unwrap().count(), 1);
        child.kill().unwrap();
        child.wait().unwrap();
        let left = wait_for_cleanup(&sb);
        assert!(left.is_empty(), "fifo={fifo}: left behind {left:#?}");
        let _ = Command::new("kill")
            .args(["-KILL", lines[1]])
            .stderr(Stdio::null())
            .status();
        assert_eq!(std::fs::read(sb.path("f.yaml")).unwrap(), enc);
    }
}
