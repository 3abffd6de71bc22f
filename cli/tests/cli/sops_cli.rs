//! The SOPS commands end to end: encryption with the keyring default, identity discovery,
//! `.sops.yaml` discovery, edit/exec safety (private temp files, cleanup on signals), set /
//! unset / rotate / updatekeys, bad input (sops' exit codes, originals untouched, no
//! plaintext left on disk), and interop with the real sops binary in both directions.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::sops_support::*;

fn write(path: &Path, text: &str) {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// An executable shell script.
fn script(path: &Path, body: &str) -> PathBuf {
    write(path, &format!("#!/bin/sh\n{body}\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path.to_path_buf()
}

fn with_key(mut cmd: Command, name: &str) -> Command {
    cmd.env("SOPS_AGE_KEY_FILE", key(name));
    cmd
}

/// Decrypt with the real sops and alice's key.
fn sops_decrypt(home: &Path, file: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = with_key(sops_real(home), "alice.agekey");
    cmd.arg("decrypt").args(extra).arg(file);
    run(cmd)
}

const PLAIN: &str = "# settings\napp:\n    name: demo # trailing\n    password: hunter2-plaintext\n    port: 5432\n";

// ------------------------------------------------------------------------------------------
// Encryption: the keyring default, every store, real sops reads it.

#[test]
fn native_encrypt_without_recipients_uses_the_keyring_identity() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("s.yaml");
    write(&file, PLAIN);
    let mut cmd = sealbox(home.path());
    cmd.args(["encrypt", "s.yaml"]);
    let out = run(cmd);
    assert_eq!(code(&out), 0, "{}", err(&out));
    assert!(
        err(&out).contains("created an age identity"),
        "{}",
        err(&out)
    );
    let keys = home.path().join(".config/sealbox/age/keys.txt");
    #[cfg(unix)]
    assert_eq!(mode(&keys), 0o600);
    let recipient = read(&keys)
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(String::from))
        .unwrap();
    let enc = String::from_utf8(out.stdout).unwrap();
    assert!(enc.contains(&format!("recipient: {recipient}")));
    assert!(!enc.contains("hunter2-plaintext"));
    // Flux's marker and helm-secrets' detector.
    assert!(enc.contains("    mac: ENC["));
    assert!(enc.lines().any(|l| l == "sops:"));
    write(&home.path().join("s.enc.yaml"), &enc);
    // sealbox decrypts with the keyring identity (after sops' sources), byte for byte.
    let mut cmd = sealbox(home.path());
    cmd.args(["decrypt", "s.enc.yaml"]);
    assert_eq!(String::from_utf8(ok(run(cmd))).unwrap(), PLAIN);
    // The real sops opens it with the same identity file.
    let mut cmd = sops_real(home.path());
    cmd.env("SOPS_AGE_KEY_FILE", &keys).args([
        "decrypt",
        "--extract",
        r#"["app"]["password"]"#,
        "s.enc.yaml",
    ]);
    assert_eq!(ok(run(cmd)), b"hunter2-plaintext");
    // `keys list` shows the recipient.
    let mut cmd = sealbox(home.path());
    cmd.args(["keys", "list"]);
    let list = String::from_utf8(ok(run(cmd))).unwrap();
    assert!(list.contains(&recipient), "{list}");
    // sops mode does not fall back: same failure as sops.
    let mut cmd = sops_mode(home.path());
    cmd.args(["encrypt", "s.yaml"]);
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    assert_eq!(
        err(&out).lines().next().unwrap(),
        "config file not found, or has no creation rules, and no keys provided through command line options"
    );
}

/// Every positive fixture's sops options, given to sealbox in sops mode on the same
/// plaintext: the real sops decrypts the result to exactly what it decrypts its own file to.
#[test]
fn files_encrypted_by_sealbox_with_every_fixture_option_decrypt_with_real_sops() {
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for fx in manifest()["fixtures"].as_array().unwrap() {
        let enc_name = fx["encrypted"].as_str().unwrap();
        let plain = sops_fixtures().join(fx["plaintext"].as_str().unwrap());
        let out_file = tmp.path().join(enc_name.replace('/', "_"));
        let mut cmd = sops_mode(tmp.path());
        if let Some(cfg) = fx["config"].as_str() {
            cmd.arg("--config").arg(sops_fixtures().join(cfg));
        } else {
            cmd.arg("--config").arg(tmp.path().join("none.yaml"));
            write(&tmp.path().join("none.yaml"), "");
        }
        cmd.arg("encrypt");
        if let Some(o) = fx["filename_override"].as_str() {
            cmd.args(["--filename-override", o]);
        }
        for a in fx["sops_args"].as_array().into_iter().flatten() {
            let a = a.as_str().unwrap();
            // Paths in the arguments are relative to the fixture directory.
            if a.starts_with("keys/") || a.starts_with("configs/") {
                cmd.arg(sops_fixtures().join(a));
            } else {
                cmd.arg(a);
            }
        }
        cmd.arg("--output").arg(&out_file).arg(&plain);
        cmd.current_dir(sops_fixtures());
        let out = run(cmd);
        if code(&out) != 0 {
            failures.push(format!("{enc_name}: sealbox encrypt failed: {}", err(&out)));
            continue;
        }
        // The creation rule chosen by --filename-override decides the recipients.
        let written = std::fs::read(&out_file).unwrap();
        for r in fx["expect_recipients"].as_array().into_iter().flatten() {
            if !String::from_utf8_lossy(&written).contains(r.as_str().unwrap()) {
                failures.push(format!("{enc_name}: recipient {r} missing"));
            }
        }
        // Decrypt with real sops, using the fixture's identities and stores.
        let mut cmd = sops_real(tmp.path());
        let mut keys = String::new();
        for id in fx["decrypt_with"].as_array().into_iter().flatten() {
            keys.push_str(&read(&sops_fixtures().join(id.as_str().unwrap())));
        }
        write(&tmp.path().join("keys.txt"), &keys);
        cmd.env("SOPS_AGE_KEY_FILE", tmp.path().join("keys.txt"));
        if let Some(extra) = fx.get("decrypt_env").and_then(Value::as_object) {
            for (k, v) in extra {
                cmd.env(k, sops_fixtures().join(v.as_str().unwrap()));
            }
        }
        cmd.arg("--config")
            .arg(tmp.path().join("none.yaml"))
            .arg("decrypt");
        let fmt = fx["format"].as_str().unwrap();
        cmd.args(["--input-type", fmt, "--output-type", fmt]);
        cmd.arg(&out_file);
        write(&tmp.path().join("none.yaml"), "");
        let got = run(cmd);
        let want = std::fs::read(sops_fixtures().join(fx["expected"].as_str().unwrap())).unwrap();
        if code(&got) != 0 {
            failures.push(format!("{enc_name}: real sops failed: {}", err(&got)));
        } else if fmt == "ini" {
            // go-ini's output order of equal documents is stable; compare parsed lines.
            let mut a: Vec<_> = String::from_utf8_lossy(&got.stdout)
                .lines()
                .map(String::from)
                .collect();
            let mut b: Vec<_> = String::from_utf8_lossy(&want)
                .lines()
                .map(String::from)
                .collect();
            a.sort();
            b.sort();
            if a != b {
                failures.push(format!("{enc_name}: sops' output differs from expected/"));
            }
        } else if got.stdout != want {
            failures.push(format!(
                "{enc_name}: sops' output differs from expected/:\n{}",
                String::from_utf8_lossy(&got.stdout)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn yaml_layout_survives_encrypt_and_decrypt_through_the_cli() {
    let home = tempfile::tempdir().unwrap();
    let odd = "# top\n\napp:   # on key\n  name: \"quoted\"   # inline\n  single: 'it''s'\n  flow: {a: 1, b: [x, \"y\"]}\n  block: |\n     five spaces\n  list:\n  - one\n  # in list\n  - two: 2\nother_unencrypted: clear\n# foot\n";
    write(&home.path().join("odd.yaml"), odd);
    let mut cmd = sealbox(home.path());
    cmd.args(["encrypt", "--age", ALICE, "-i", "odd.yaml"]);
    ok(run(cmd));
    let enc = read(&home.path().join("odd.yaml"));
    assert!(
        enc.starts_with("#ENC[") && enc.contains("\napp:   #ENC["),
        "{enc}"
    );
    let mut cmd = with_key(sealbox(home.path()), "alice.agekey");
    cmd.args(["decrypt", "odd.yaml"]);
    assert_eq!(String::from_utf8(ok(run(cmd))).unwrap(), odd);
    let out = sops_decrypt(
        home.path(),
        &home.path().join("odd.yaml"),
        &["--output-type", "json"],
    );
    let v: Value = serde_json::from_slice(&ok(out)).unwrap();
    assert_eq!(v["app"]["flow"]["b"][1], "y");
    assert_eq!(v["app"]["block"], "five spaces\n");
}

// ------------------------------------------------------------------------------------------
// Identity discovery.

fn nested_enc() -> PathBuf {
    sops_fixtures().join("nested.enc.yaml")
}

fn decrypt_nested(cmd: Command) -> std::process::Output {
    let mut cmd = cmd;
    cmd.args(["decrypt", "--extract", r#"["app"]["name"]"#])
        .arg(nested_enc());
    run(cmd)
}

#[test]
fn identities_come_from_every_sops_source_and_the_keyring() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let alice = read(&key("alice.agekey"));
    let alice_line = alice
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    let bob_line = read(&key("bob.agekey"))
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    let want = b"ledger-api".to_vec();
    // Nothing anywhere: 128, with the recipient tried and the sources named.
    let out = decrypt_nested(sealbox(h));
    assert_eq!(code(&out), 128, "{}", err(&out));
    assert!(err(&out).contains(ALICE) && err(&out).contains("no age identity found"));
    // SOPS_AGE_KEY, newline- and space-separated.
    let mut cmd = sealbox(h);
    cmd.env("SOPS_AGE_KEY", format!("{bob_line}\n{alice_line}\n"));
    assert_eq!(ok(decrypt_nested(cmd)), want);
    let mut cmd = sealbox(h);
    cmd.env("SOPS_AGE_KEY", format!("{bob_line} {alice_line}"));
    assert_eq!(ok(decrypt_nested(cmd)), want);
    // SOPS_AGE_KEY_FILE.
    assert_eq!(
        ok(decrypt_nested(with_key(sealbox(h), "alice.agekey"))),
        want
    );
    // $XDG_CONFIG_HOME/sops/age/keys.txt, then ~/.config/sops/age/keys.txt.
    write(&h.join("xdg/sops/age/keys.txt"), &alice);
    let mut cmd = sealbox(h);
    cmd.env("XDG_CONFIG_HOME", h.join("xdg"));
    assert_eq!(ok(decrypt_nested(cmd)), want);
    write(&h.join(".config/sops/age/keys.txt"), &alice);
    assert_eq!(ok(decrypt_nested(sealbox(h))), want);
    std::fs::remove_file(h.join(".config/sops/age/keys.txt")).unwrap();
    // SOPS_AGE_KEY_CMD: shlex-split, told which recipient it is asked for.
    let log = h.join("cmd.log");
    let cmd_script = script(
        &h.join("key cmd.sh"),
        &format!(
            "echo \"$SOPS_AGE_RECIPIENT $1\" >> '{}'\ncat '{}'",
            log.display(),
            key("alice.agekey").display()
        ),
    );
    let mut cmd = sealbox(h);
    cmd.env(
        "SOPS_AGE_KEY_CMD",
        format!("'{}' first-arg", cmd_script.display()),
    );
    assert_eq!(ok(decrypt_nested(cmd)), want);
    assert_eq!(read(&log), format!("{ALICE} first-arg\n"));
    // The keyring's identity, tried after sops' sources.
    write(&h.join("ring/age/keys.txt"), &alice);
    let mut cmd = sealbox(h);
    cmd.env("SEALBOX_KEYRING", h.join("ring"));
    assert_eq!(ok(decrypt_nested(cmd)), want);
    // Also in sops mode.
    let mut cmd = sops_mode(h);
    cmd.env("SEALBOX_KEYRING", h.join("ring"));
    assert_eq!(ok(decrypt_nested(cmd)), want);
    // A wrong key: 128, recipients and sources listed, never key material.
    let out = decrypt_nested(with_key(sealbox(h), "carol.agekey"));
    assert_eq!(code(&out), 128);
    let msg = err(&out);
    assert!(msg.contains("Failed to get the data key required to decrypt the SOPS file."));
    assert!(msg.contains(ALICE), "{msg}");
    assert!(msg.contains("SOPS_AGE_KEY_FILE"), "{msg}");
    assert!(!msg.contains("AGE-SECRET-KEY"), "{msg}");
}

#[test]
fn ssh_identities_and_a_broken_default_ssh_key() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let ssh_fixture = sops_fixtures().join("ssh-recipient.enc.yaml");
    let want = std::fs::read(sops_fixtures().join("expected/ssh-recipient.yaml")).unwrap();
    // SOPS_AGE_SSH_PRIVATE_KEY_FILE.
    let mut cmd = sealbox(h);
    cmd.env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", key("dave_ed25519"))
        .arg("decrypt")
        .arg(&ssh_fixture);
    assert_eq!(ok(run(cmd)), want);
    // ~/.ssh/id_ed25519 by default.
    write(&h.join(".ssh/id_ed25519"), &read(&key("dave_ed25519")));
    let mut cmd = sealbox(h);
    cmd.arg("decrypt").arg(&ssh_fixture);
    assert_eq!(ok(run(cmd)), want);
    // A malformed default key (getsops/sops#1987) does not stop other identities: neither
    // for age files nor for SSH files with an explicit key.
    write(
        &h.join(".ssh/id_ed25519"),
        "-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n",
    );
    write(&h.join(".ssh/id_rsa"), "not a key at all\n");
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.arg("decrypt").arg(nested_enc());
    assert_eq!(
        ok(run(cmd)),
        std::fs::read(sops_fixtures().join("expected/nested.yaml")).unwrap()
    );
    let mut cmd = sealbox(h);
    cmd.env("SOPS_AGE_SSH_PRIVATE_KEY_FILE", key("dave_ed25519"))
        .arg("decrypt")
        .arg(&ssh_fixture);
    assert_eq!(ok(run(cmd)), want);
    // And when nothing fits, the broken key is named as skipped.
    let mut cmd = sealbox(h);
    cmd.arg("decrypt").arg(&ssh_fixture);
    let out = run(cmd);
    assert_eq!(code(&out), 128);
    assert!(
        err(&out).contains("id_ed25519") && err(&out).contains("skipped"),
        "{}",
        err(&out)
    );
}

// ------------------------------------------------------------------------------------------
// .sops.yaml discovery.

#[test]
fn sops_yaml_is_found_from_the_working_directory_upwards() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    write(
        &h.join("repo/.sops.yaml"),
        &format!(
            "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: {BOB}\n  - age: {CAROL}\n"
        ),
    );
    write(
        &h.join("repo/prod/s.yaml"),
        "metadata:\n  name: x\ndata:\n  k: v\n",
    );
    let recipients = |out: &[u8]| -> String {
        String::from_utf8_lossy(out)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- recipient: ").map(String::from))
            .collect::<Vec<_>>()
            .join(",")
    };
    // From a subdirectory: the config two levels up applies, with the prod rule.
    let mut cmd = sealbox(h);
    cmd.current_dir(h.join("repo/prod"))
        .args(["encrypt", "s.yaml"]);
    let out = ok(run(cmd));
    assert_eq!(recipients(&out), BOB);
    assert!(
        String::from_utf8_lossy(&out).contains("name: x"),
        "metadata stays clear"
    );
    // sops' quirk, kept: the search starts at the working directory, not at the file.
    let mut cmd = sealbox(h);
    cmd.current_dir(h).args(["encrypt", "repo/prod/s.yaml"]);
    let out = ok(run(cmd));
    assert!(
        !recipients(&out).contains(BOB),
        "no config found from {h:?}"
    );
    // --config: rules match the path relative to the config's directory.
    let mut cmd = sealbox(h);
    cmd.current_dir(h)
        .args(["encrypt", "--config", "repo/.sops.yaml", "repo/prod/s.yaml"]);
    assert_eq!(recipients(&ok(run(cmd))), BOB);
    // --filename-override picks the rule (and the store).
    let mut cmd = sealbox(h);
    cmd.current_dir(h.join("repo/prod")).args([
        "encrypt",
        "--filename-override",
        "../other.yaml",
        "s.yaml",
    ]);
    assert_eq!(recipients(&ok(run(cmd))), CAROL);
    // SOPS_CONFIG, and a missing explicit config is an error.
    let mut cmd = sealbox(h);
    cmd.env("SOPS_CONFIG", h.join("nope.yaml"))
        .current_dir(h.join("repo/prod"))
        .args(["encrypt", "s.yaml"]);
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    assert!(
        err(&out).contains("could not read config file"),
        "{}",
        err(&out)
    );
    // A rule that matches nothing is sops' error, also with --age.
    write(
        &h.join("strict/.sops.yaml"),
        &format!("creation_rules:\n  - path_regex: ^never$\n    age: {BOB}\n"),
    );
    write(&h.join("strict/s.yaml"), "a: 1\n");
    let mut cmd = sealbox(h);
    cmd.current_dir(h.join("strict"))
        .args(["encrypt", "--age", ALICE, "s.yaml"]);
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    assert!(
        err(&out).contains("no matching creation rules found"),
        "{}",
        err(&out)
    );
}

// ------------------------------------------------------------------------------------------
// edit

/// An encrypted copy of PLAIN (alice) at `dir/name`.
fn encrypted_file(home: &Path, name: &str) -> PathBuf {
    let path = home.join(name);
    write(&path, PLAIN);
    let mut cmd = sealbox(home);
    cmd.args(["encrypt", "--age", ALICE, "-i"]).arg(&path);
    ok(run(cmd));
    path
}

fn edit(home: &Path, tmpdir: &Path, editor: &str, file: &Path) -> std::process::Output {
    let mut cmd = with_key(sealbox(home), "alice.agekey");
    cmd.env("TMPDIR", tmpdir)
        .env("SOPS_EDITOR", editor)
        .arg("edit")
        .arg(file);
    run(cmd)
}

#[test]
fn edit_changes_only_what_was_edited_and_cleans_up() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let tmpdir = h.join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let file = encrypted_file(h, "s.yaml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    }
    let before = read(&file);
    // The editor sees a 0600 file in a 0700 directory, and changes one value.
    let probe = h.join("probe.txt");
    let editor = script(
        &h.join("editor.sh"),
        &format!(
            "stat -c '%a' \"$1\" \"$(dirname \"$1\")\" > '{}'\nsed -i 's/port: 5432/port: 6543/' \"$1\"",
            probe.display()
        ),
    );
    let out = edit(h, &tmpdir, &editor.display().to_string(), &file);
    assert_eq!(code(&out), 0, "{}", err(&out));
    assert_eq!(read(&probe), "600\n700\n");
    assert!(entries(&tmpdir).is_empty(), "private directory removed");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o640, "file mode kept");
    let after = read(&file);
    let changed: Vec<(&str, &str)> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert!(changed[0].0.starts_with("    port: ENC["), "{changed:#?}");
    assert!(
        changed[1..]
            .iter()
            .all(|(a, _)| a.contains("lastmodified:") || a.contains("mac:")),
        "only the value and the metadata's lastmodified/mac change: {changed:#?}"
    );
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["decrypt", "s.yaml"]);
    assert_eq!(
        String::from_utf8(ok(run(cmd))).unwrap(),
        PLAIN.replace("5432", "6543")
    );
    assert_eq!(code(&sops_decrypt(h, &file, &[])), 0);

    // Unchanged: sops' exit 200, file untouched.
    let before = read(&file);
    let out = edit(h, &tmpdir, "true", &file);
    assert_eq!(code(&out), 200);
    assert_eq!(err(&out).trim(), "sealbox: File has not changed, exiting.");
    assert_eq!(read(&file), before);
    // SOPS_EDITOR with arguments (shlex), preferred over EDITOR.
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.env("TMPDIR", &tmpdir)
        .env("EDITOR", "false")
        .env(
            "SOPS_EDITOR",
            "sed -i 's/name: demo/name: \"renamed demo\"/'",
        )
        .arg("edit")
        .arg(&file);
    ok(run(cmd));
    assert!(entries(&tmpdir).is_empty());
}

#[test]
fn a_failed_edit_leaves_the_original_and_no_plaintext() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let tmpdir = h.join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let work = h.join("work");
    let file = encrypted_file(&work, "s.yaml");
    let listing = tree(&work);
    let bad = script(
        &h.join("bad.sh"),
        "printf 'app: [unclosed\\n  password: hunter2-plaintext\\n' > \"$1\"",
    );
    // Not interactive (stdin is not a terminal): fail at once, say why, touch nothing.
    let out = edit(h, &tmpdir, &bad.display().to_string(), &file);
    assert_eq!(code(&out), 1);
    assert!(err(&out).contains("Could not load tree, probably due to invalid syntax"));
    assert!(err(&out).contains("was left unchanged"));
    assert!(!err(&out).contains("hunter2"));
    assert_eq!(tree(&work), listing);
    assert!(entries(&tmpdir).is_empty());
    assert_no_plaintext(&work, "hunter2-plaintext");
    // An editor that fails: sops' exit 201, nothing changed.
    let out = edit(h, &tmpdir, "false", &file);
    assert_eq!(code(&out), 201);
    assert_eq!(tree(&work), listing);
    assert!(entries(&tmpdir).is_empty());
    // No identity: 128 before anything is written.
    let mut cmd = sealbox(h);
    cmd.env("TMPDIR", &tmpdir)
        .env("SOPS_EDITOR", "true")
        .arg("edit")
        .arg(&file);
    assert_eq!(code(&run(cmd)), 128);
    assert_eq!(tree(&work), listing);
    assert!(entries(&tmpdir).is_empty());
}

#[test]
fn sigterm_during_edit_removes_the_plaintext_and_keeps_the_file() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let tmpdir = h.join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let file = encrypted_file(h, "s.yaml");
    let before = read(&file);
    let editor = script(&h.join("slow.sh"), "exec sleep 30");
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.env("TMPDIR", &tmpdir)
        .env("SOPS_EDITOR", &editor)
        .arg("edit")
        .arg(&file);
    let mut child = cmd.spawn().unwrap();
    // Wait until the plaintext is in the private directory.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = entries(&tmpdir).iter().any(|d| d.join("s.yaml").exists());
        if found {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "editor never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // Ctrl-C belongs to the editor: sealbox alone ignores SIGINT while it runs.
    let pid = child.id().to_string();
    let kill = |sig: &str| Command::new("kill").args([sig, &pid]).status().unwrap();
    assert!(kill("-INT").success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "still waiting for the editor"
    );
    assert!(kill("-TERM").success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(entries(&tmpdir).is_empty(), "plaintext removed on SIGTERM");
    assert_eq!(read(&file), before);
}

#[test]
fn edit_creates_a_new_file_from_sops_example() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let seen = h.join("seen.yaml");
    let editor = script(
        &h.join("ed.sh"),
        &format!(
            "cp \"$1\" '{}'\necho 'added: value' >> \"$1\"",
            seen.display()
        ),
    );
    let mut cmd = sealbox(h);
    cmd.env("SOPS_EDITOR", &editor)
        .args(["edit", "--age", ALICE, "new.yaml"]);
    ok(run(cmd));
    assert!(read(&seen).starts_with("hello: Welcome to SOPS! Edit this file as you please!\n"));
    let out = ok(sops_decrypt(
        h,
        &h.join("new.yaml"),
        &["--extract", r#"["added"]"#],
    ));
    assert_eq!(out, b"value");
    // Without --age or a config: the keyring's identity (native mode).
    let env_editor = script(&h.join("ed-env.sh"), "echo 'added=value' >> \"$1\"");
    let mut cmd = sealbox(h);
    cmd.env("SOPS_EDITOR", &env_editor)
        .args(["edit", "other.env"]);
    ok(run(cmd));
    assert!(read(&h.join("other.env")).contains("sops_mac=ENC["));
}

// ------------------------------------------------------------------------------------------
// set / unset / rotate / updatekeys

#[test]
fn set_and_unset_change_only_their_lines() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = encrypted_file(h, "s.yaml");
    let before = read(&file);
    let sb = || with_key(sealbox(h), "alice.agekey");
    let mut cmd = sb();
    cmd.args(["set", "s.yaml", r#"["app"]["port"]"#, "6543"]);
    ok(run(cmd));
    let after = read(&file);
    let changed: Vec<_> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(before.lines().count(), after.lines().count());
    assert!(changed[0].0.starts_with("    port: ENC["), "{changed:#?}");
    assert!(
        changed[1..]
            .iter()
            .all(|(a, _)| a.contains("lastmodified:") || a.contains("mac:")),
        "{changed:#?}"
    );
    // --value-stdin keeps the value out of the process list.
    let mut cmd = sb();
    cmd.args(["set", "--value-stdin", "s.yaml", r#"["app"]["token"]"#]);
    ok(with_stdin(cmd, b"\"from-stdin\""));
    write(&h.join("v.json"), "{\"nested\": true}");
    let mut cmd = sb();
    cmd.args([
        "set",
        "--value-file",
        "s.yaml",
        r#"["app"]["obj"]"#,
        "v.json",
    ]);
    ok(run(cmd));
    let mut cmd = sb();
    cmd.args(["unset", "s.yaml", r#"["app"]["name"]"#]);
    ok(run(cmd));
    let mut cmd = sb();
    cmd.args(["decrypt", "s.yaml"]);
    assert_eq!(
        String::from_utf8(ok(run(cmd))).unwrap(),
        "# settings\napp:\n    # trailing\n    password: hunter2-plaintext\n    port: 6543\n    token: from-stdin\n    obj:\n        nested: true\n"
    );
    let out = ok(sops_decrypt(
        h,
        &file,
        &["--extract", r#"["app"]["token"]"#],
    ));
    assert_eq!(out, b"from-stdin");
    // --idempotent: no write when nothing changes.
    let before = read(&file);
    let mut cmd = sb();
    cmd.args([
        "set",
        "--idempotent",
        "s.yaml",
        r#"["app"]["port"]"#,
        "6543",
    ]);
    ok(run(cmd));
    assert_eq!(read(&file), before);
    let mut cmd = sb();
    cmd.args(["unset", "--idempotent", "s.yaml", r#"["app"]["nope"]"#]);
    ok(run(cmd));
    assert_eq!(read(&file), before);
    // Bad input: sops' codes and messages, file untouched.
    for (args, want_code, want_msg) in [
        (
            vec!["set", "s.yaml", r#"["a"]"#, "{bad"],
            7,
            "Value for --set is not valid JSON",
        ),
        (
            vec!["set", "s.yaml", "bad", "1"],
            7,
            "Invalid set index format",
        ),
        (
            vec!["unset", "s.yaml", r#"["nope"]"#],
            1,
            "Key not found: nope",
        ),
        (
            vec!["unset", "s.yaml", "bad"],
            7,
            "Invalid unset index format",
        ),
    ] {
        let mut cmd = sb();
        cmd.args(&args);
        let out = run(cmd);
        assert_eq!(code(&out), want_code, "{args:?}: {}", err(&out));
        assert!(err(&out).contains(want_msg), "{args:?}: {}", err(&out));
        assert_eq!(read(&file), before);
    }
}

fn enc_values(text: &str) -> Vec<String> {
    let body = &text[..text.find("\nsops:").unwrap()];
    body.match_indices("ENC[")
        .map(|(i, _)| body[i..].split(']').next().unwrap().to_string())
        .collect()
}

#[test]
fn rotate_makes_a_new_data_key_and_changes_recipients() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = encrypted_file(h, "s.yaml");
    let before = read(&file);
    // Like sops: stdout unless -i.
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["rotate", "s.yaml"]);
    let printed = String::from_utf8(ok(run(cmd))).unwrap();
    assert_eq!(read(&file), before);
    assert!(printed.contains("sops:"));
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args([
        "rotate",
        "-i",
        "--add-age",
        CAROL,
        "--rm-age",
        ALICE,
        "s.yaml",
    ]);
    ok(run(cmd));
    let after = read(&file);
    let (a, b) = (enc_values(&before), enc_values(&after));
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().zip(&b).all(|(x, y)| x != y),
        "every value re-encrypted"
    );
    assert!(after.contains(CAROL) && !after.contains(ALICE));
    let mut cmd = with_key(sops_real(h), "carol.agekey");
    cmd.args(["decrypt", "--extract", r#"["app"]["password"]"#, "s.yaml"]);
    assert_eq!(ok(run(cmd)), b"hunter2-plaintext");
    assert_eq!(code(&sops_decrypt(h, &file, &[])), 128, "alice was removed");
    // Changing keys of a missing file: sops' exit 49.
    let mut cmd = sealbox(h);
    cmd.args(["rotate", "--add-age", BOB, "missing.yaml"]);
    assert_eq!(code(&run(cmd)), 49);
}

#[test]
fn updatekeys_syncs_recipients_and_keeps_the_data_key() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = encrypted_file(h, "s.yaml");
    let before = read(&file);
    write(
        &h.join(".sops.yaml"),
        &format!("creation_rules:\n  - age: {ALICE},{BOB}\n"),
    );
    // Asked, answered "n": nothing changes.
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["updatekeys", "s.yaml"]);
    let out = with_stdin(cmd, b"n\n");
    assert_eq!(code(&out), 0, "{}", err(&out));
    let shown = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        shown,
        format!(
            "The following changes will be made to the file's groups:\nGroup 1\n    {ALICE}\n+++ {BOB}\nIs this okay? (y/n):"
        )
    );
    assert_eq!(read(&file), before);
    // -y: bob can read it; values, lastmodified and mac are unchanged.
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["updatekeys", "-y", "s.yaml"]);
    ok(run(cmd));
    let after = read(&file);
    assert_eq!(enc_values(&before), enc_values(&after));
    let line = |t: &str, k: &str| t.lines().find(|l| l.contains(k)).unwrap().to_string();
    assert_eq!(line(&before, "mac:"), line(&after, "mac:"));
    assert_eq!(
        line(&before, "lastmodified:"),
        line(&after, "lastmodified:")
    );
    let mut cmd = with_key(sops_real(h), "bob.agekey");
    cmd.args(["decrypt", "s.yaml"]);
    ok(run(cmd));
    // Removing alice: the hint says the old data key still opens old copies.
    write(
        &h.join(".sops.yaml"),
        &format!("creation_rules:\n  - age: {BOB}\n"),
    );
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["updatekeys", "-y", "s.yaml"]);
    let out = run(cmd);
    assert_eq!(code(&out), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("--- {ALICE}")));
    assert!(err(&out).contains("rotate -i"), "{}", err(&out));
    // Up to date: nothing to do.
    let mut cmd = with_key(sealbox(h), "bob.agekey");
    cmd.args(["updatekeys", "-y", "s.yaml"]);
    let out = run(cmd);
    assert!(err(&out).contains("already up to date"));
}

// ------------------------------------------------------------------------------------------
// exec-env / exec-file / filestatus

#[test]
fn exec_env_and_exec_file_give_values_without_leaving_files() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let tmpdir = h.join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    write(
        &h.join("env.yaml"),
        "DB_PASSWORD: pw-value\nPORT: 5432\nRATIO: 3.0\n",
    );
    let mut cmd = sealbox(h);
    cmd.args(["encrypt", "--age", ALICE, "-i", "env.yaml"]);
    ok(run(cmd));
    let sb = || {
        let mut c = with_key(sealbox(h), "alice.agekey");
        c.env("TMPDIR", &tmpdir).env("OUTER", "kept");
        c
    };
    let mut cmd = sb();
    cmd.args([
        "exec-env",
        "env.yaml",
        "echo $DB_PASSWORD $PORT $RATIO $OUTER",
    ]);
    assert_eq!(ok(run(cmd)), b"pw-value 5432 3.0 kept\n");
    let mut cmd = sb();
    cmd.args([
        "exec-env",
        "--pristine",
        "env.yaml",
        "echo \"$DB_PASSWORD[$OUTER]\"",
    ]);
    assert_eq!(ok(run(cmd)), b"pw-value[]\n");
    let mut cmd = sb();
    cmd.args(["exec-env", "env.yaml", "exit 7"]);
    assert_eq!(code(&run(cmd)), 7, "the command's exit code");
    // exec-file: a FIFO by default, a 0600 file with --no-fifo; both gone afterwards.
    let mut cmd = sb();
    cmd.args(["exec-file", "env.yaml", "stat -c '%F %a' {}; cat {}"]);
    let out = String::from_utf8(ok(run(cmd))).unwrap();
    assert!(
        out.starts_with("fifo 600\nDB_PASSWORD: pw-value\n"),
        "{out}"
    );
    let mut cmd = sb();
    cmd.args([
        "exec-file",
        "--no-fifo",
        "--filename",
        "cfg.yaml",
        "env.yaml",
        "stat -c '%F %a' {}; stat -c %a $(dirname {}); basename {}",
    ]);
    assert_eq!(
        String::from_utf8(ok(run(cmd))).unwrap(),
        "regular file 600\n700\ncfg.yaml\n"
    );
    let mut cmd = sb();
    cmd.args(["exec-file", "--no-fifo", "env.yaml", "exit 3"]);
    assert_eq!(code(&run(cmd)), 3);
    assert!(entries(&tmpdir).is_empty());
    assert_no_plaintext(h, "pw-value");
    // Complex values cannot become environment variables.
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.arg("exec-env").arg(nested_enc()).arg("true");
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    assert!(err(&out).contains("cannot use complex value in environment; offending key app"));
}

#[test]
fn filestatus_reports_like_sops() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let status = |file: &Path| {
        let mut cmd = sealbox(h);
        cmd.arg("filestatus").arg(file);
        run(cmd)
    };
    assert_eq!(ok(status(&nested_enc())), b"{\"encrypted\":true}\n");
    assert_eq!(
        ok(status(&sops_fixtures().join("negative/not-encrypted.yaml"))),
        b"{\"encrypted\":false}\n"
    );
    for f in [
        "app.enc.env",
        "app.enc.ini",
        "config.enc.json",
        "blob.enc.bin",
    ] {
        assert_eq!(
            ok(status(&sops_fixtures().join(f))),
            b"{\"encrypted\":true}\n",
            "{f}"
        );
    }
    write(&h.join("bad.yaml"), "a: [1,\n");
    assert_eq!(code(&status(&h.join("bad.yaml"))), 1);
    assert_eq!(code(&status(&h.join("missing.yaml"))), 1);
}

// ------------------------------------------------------------------------------------------
// Bad input

#[test]
fn bad_input_gets_sops_exit_codes_and_leaves_files_untouched() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let work = h.join("work");
    let tmpdir = h.join("tmp");
    std::fs::create_dir_all(&tmpdir).unwrap();
    let enc = encrypted_file(&work, "s.yaml");
    write(&work.join("plain.yaml"), PLAIN);
    write(&work.join("bad.yaml"), "app: [1,\n");
    std::fs::copy(
        sops_fixtures().join("negative/tampered-plaintext.enc.yaml"),
        work.join("tampered.yaml"),
    )
    .unwrap();
    std::fs::copy(
        sops_fixtures().join("upstream/format.enc.yaml"),
        work.join("pgp-only.yaml"),
    )
    .unwrap();
    let listing = tree(&work);
    let cases: Vec<(Vec<&str>, &str, i32, &str)> = vec![
        (
            vec!["decrypt", "plain.yaml"],
            "alice.agekey",
            1,
            "sops metadata not found",
        ),
        (
            vec!["decrypt", "-i", "plain.yaml"],
            "alice.agekey",
            1,
            "sops metadata not found",
        ),
        (
            vec!["decrypt", "bad.yaml"],
            "alice.agekey",
            1,
            "could not parse YAML input",
        ),
        (
            vec!["encrypt", "--age", ALICE, "bad.yaml"],
            "alice.agekey",
            2,
            "Error unmarshalling file",
        ),
        (
            vec!["encrypt", "--age", ALICE, "-i", "s.yaml"],
            "alice.agekey",
            203,
            "top-level entry called 'sops'",
        ),
        (
            vec!["encrypt", "--age", "age1nope", "-i", "plain.yaml"],
            "alice.agekey",
            1,
            "age1nope",
        ),
        (
            vec!["decrypt", "-i", "s.yaml"],
            "carol.agekey",
            128,
            "Failed to get the data key",
        ),
        (
            vec!["decrypt", "--extract", r#"["app"]["nope"]"#, "s.yaml"],
            "alice.agekey",
            1,
            "error truncating tree: component ['nope'] not found",
        ),
        (
            vec!["decrypt", "--extract", "nope", "s.yaml"],
            "alice.agekey",
            91,
            "error parsing --extract path",
        ),
        (
            vec!["decrypt", "-i", "tampered.yaml"],
            "bob.agekey",
            51,
            "MAC mismatch",
        ),
        (
            vec!["set", "tampered.yaml", r#"["data"]["x"]"#, "1"],
            "bob.agekey",
            51,
            "MAC mismatch",
        ),
        (vec!["decrypt", "pgp-only.yaml"], "alice.agekey", 128, "pgp"),
        (
            vec!["decrypt", "missing.yaml"],
            "alice.agekey",
            100,
            "cannot operate on non-existent file",
        ),
        (
            vec!["decrypt", "-i", "--output", "x", "s.yaml"],
            "alice.agekey",
            8,
            "cannot operate on both --output and --in-place",
        ),
        (
            vec!["decrypt", "--decryption-order", "age,age", "s.yaml"],
            "alice.agekey",
            112,
            "Duplicate decryption key type: age",
        ),
        (
            vec![
                "encrypt",
                "--age",
                ALICE,
                "--encrypted-regex",
                "a",
                "--unencrypted-suffix",
                "b",
                "plain.yaml",
            ],
            "alice.agekey",
            8,
            "cannot use more than one of",
        ),
        (
            vec!["encrypt", "--pgp", "ABCDEF", "plain.yaml"],
            "alice.agekey",
            1,
            "only to age recipients",
        ),
    ];
    for (args, id, want, msg) in cases {
        let mut cmd = with_key(sealbox(h), id);
        cmd.current_dir(&work).env("TMPDIR", &tmpdir).args(&args);
        let out = run(cmd);
        let e = err(&out);
        assert_eq!(code(&out), want, "{args:?}: {e}");
        assert!(e.contains(msg), "{args:?}: {e}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
        assert!(!e.contains("hunter2"), "{args:?} leaked a value: {e}");
        assert_eq!(tree(&work), listing, "{args:?} changed the directory");
        assert!(entries(&tmpdir).is_empty());
    }
    // Encrypting empty input: 92.
    write(&h.join("empty.yaml"), "");
    let mut cmd = sealbox(h);
    cmd.args(["encrypt", "--age", ALICE, "empty.yaml"]);
    assert_eq!(code(&run(cmd)), 92);
    let _ = enc;
}

#[test]
fn decrypted_output_files_are_private_and_in_place_keeps_modes() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = encrypted_file(h, "s.yaml");
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["decrypt", "--output", "out.yaml", "s.yaml"]);
    ok(run(cmd));
    assert_eq!(read(&h.join("out.yaml")), PLAIN);
    #[cfg(unix)]
    assert_eq!(mode(&h.join("out.yaml")), 0o600);
    // In place through a symlink: the link stays, its target changes.
    std::os::unix::fs::symlink(&file, h.join("link.yaml")).unwrap();
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["decrypt", "-i", "link.yaml"]);
    ok(run(cmd));
    assert!(
        std::fs::symlink_metadata(h.join("link.yaml"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(read(&file), PLAIN);
}

#[test]
fn quickstart_encrypts_and_decrypts_a_sops_example_with_the_keyring_identity() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = sealbox(home.path());
    cmd.arg("quickstart");
    let out = String::from_utf8(ok(run(cmd))).unwrap();
    let keys = home.path().join(".config/sealbox/age/keys.txt");
    let recipient = read(&keys)
        .lines()
        .find_map(|l| l.strip_prefix("# public key: ").map(String::from))
        .unwrap();
    assert!(out.contains("SOPS: encrypt an example file"), "{out}");
    assert!(out.contains(&format!("recipient: {recipient}")), "{out}");
    assert!(out.contains("    mac: ENC["), "{out}");
    assert!(
        out.contains("name: quickstart-credentials"),
        "metadata stays clear:\n{out}"
    );
    assert!(out.contains("byte-for-byte the original"), "{out}");
    assert!(out.contains("sealbox encrypt -i secret.yaml"), "{out}");
    // A second run reuses the identity.
    let mut cmd = sealbox(home.path());
    cmd.arg("quickstart");
    let again = String::from_utf8(ok(run(cmd))).unwrap();
    assert!(again.contains("using the existing age identity"), "{again}");
    assert!(read(&keys).contains(&recipient));
}

/// On a terminal, an edit that does not parse is explained and the editor re-opened on Enter
/// (driven through a pseudo-terminal by python3's `pty` module).
#[test]
fn an_invalid_edit_on_a_terminal_offers_to_reopen_the_editor() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = encrypted_file(h, "s.yaml");
    let before = read(&file);
    let copy = h.join("copy");
    // First run: keeps a copy of the plaintext and writes invalid YAML; second run (the
    // re-opened editor shows that invalid text, as in sops): a valid change of the copy.
    let editor = script(
        &h.join("twice.sh"),
        &format!(
            "if [ -e '{c}' ]; then sed 's/port: .*/port: 7777/' '{c}' > \"$1\"; else cp \"$1\" '{c}'; printf 'app: [broken\\n' > \"$1\"; fi",
            c = copy.display()
        ),
    );
    // The alarm ends the run if sealbox asks again (it would wait for input forever).
    let mut cmd = Command::new("python3");
    cmd.args([
        "-c",
        "import pty, signal, sys; signal.alarm(60); sys.exit(pty.spawn(sys.argv[1:]) >> 8)",
        env!("CARGO_BIN_EXE_sealbox"),
        "edit",
    ])
    .arg(&file)
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("HOME", h)
    .env("SOPS_AGE_KEY_FILE", key("alice.agekey"))
    .env("SOPS_EDITOR", &editor)
    .current_dir(h);
    let out = with_stdin(cmd, b"\n");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(code(&out), 0, "{shown}{}", err(&out));
    assert!(shown.contains("Could not load tree"), "{shown}");
    assert!(
        shown.contains("Press Enter to return to the editor"),
        "{shown}"
    );
    let mut cmd = with_key(sealbox(h), "alice.agekey");
    cmd.args(["decrypt", "--extract", r#"["app"]["port"]"#, "s.yaml"]);
    assert_eq!(ok(run(cmd)), b"7777\n");
    // Only the edited value was re-encrypted.
    let password = |t: &str| {
        t.lines()
            .find(|l| l.contains("password:"))
            .map(String::from)
    };
    assert_eq!(password(&read(&file)), password(&before));
}
