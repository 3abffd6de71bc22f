//! sops' command line on sealbox (started as `sops`, or `sealbox sops …`): the calls
//! helm-secrets' sops backend makes, written out literally (spec §9.4), the legacy flags,
//! global flags before subcommands, and sops' argument rules.

use std::path::Path;
use std::process::Command;

use super::sops_support::*;

const PLAIN: &str = "db:\n    user: admin\n    password: s3cr3t-value\n";

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// A working directory with a `.sops.yaml` (alice), a plaintext and an encrypted file,
/// and alice's key in SOPS_AGE_KEY_FILE — what a helm chart repository looks like.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join(".sops.yaml"),
        &format!("creation_rules:\n  - age: {ALICE}\n"),
    );
    write(&dir.path().join("plain.yaml"), PLAIN);
    write(&dir.path().join("secrets.yaml"), PLAIN);
    let mut cmd = sops(dir.path());
    cmd.args(["--encrypt", "--in-place", "secrets.yaml"]);
    ok(run(cmd));
    dir
}

fn sops(dir: &Path) -> Command {
    let mut cmd = sops_mode(dir);
    cmd.env("SOPS_AGE_KEY_FILE", key("alice.agekey"));
    cmd
}

fn real(dir: &Path) -> Command {
    let mut cmd = sops_real(dir);
    cmd.env("SOPS_AGE_KEY_FILE", key("alice.agekey"));
    cmd
}

/// `grep` as helm-secrets runs it on a file.
fn grep(args: &[&str], file: &Path) -> bool {
    Command::new("grep")
        .args(args)
        .arg(file)
        .status()
        .unwrap()
        .success()
}

#[test]
fn helm_secrets_calls_work_unchanged() {
    let repo = repo();
    let d = repo.path();
    let enc = d.join("secrets.yaml");
    // Its detectors: `grep -q 'mac.*,type:str]'` (is it encrypted?) and, to pick the type on
    // decrypt, `grep -xq 'sops:\s*'` (yaml) / `grep -q '"data": "ENC'` (binary).
    assert!(grep(&["-q", "mac.*,type:str]"], &enc));
    assert!(grep(&["-xq", "sops:\\s*"], &enc));
    assert!(!grep(&["-q", "mac.*,type:str]"], &d.join("plain.yaml")));

    // _sops_backend_decrypt_file: to stdout, to --output, in place.
    let mut cmd = sops(d);
    cmd.args([
        "--decrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "secrets.yaml",
    ]);
    assert_eq!(String::from_utf8(ok(run(cmd))).unwrap(), PLAIN);
    let mut cmd = sops(d);
    cmd.args([
        "--decrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "--output",
        "out.yaml",
        "secrets.yaml",
    ]);
    ok(run(cmd));
    assert_eq!(read(&d.join("out.yaml")), PLAIN);

    // _sops_backend_encrypt_file: to stdout, to --output, in place.
    let mut cmd = sops(d);
    cmd.args([
        "--encrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "plain.yaml",
    ]);
    let printed = ok(run(cmd));
    assert!(String::from_utf8_lossy(&printed).contains("password: ENC["));
    let mut cmd = sops(d);
    cmd.args([
        "--encrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "--output",
        "o.enc.yaml",
        "plain.yaml",
    ]);
    ok(run(cmd));
    let mut cmd = real(d);
    cmd.args(["--decrypt", "o.enc.yaml"]);
    assert_eq!(String::from_utf8(ok(run(cmd))).unwrap(), PLAIN);
    write(&d.join("inplace.yaml"), PLAIN);
    let mut cmd = sops(d);
    cmd.args([
        "--encrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "--in-place",
        "inplace.yaml",
    ]);
    ok(run(cmd));
    assert!(grep(&["-q", "mac.*,type:str]"], &d.join("inplace.yaml")));
    let mut cmd = sops(d);
    cmd.args([
        "--decrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "--in-place",
        "inplace.yaml",
    ]);
    ok(run(cmd));
    assert_eq!(read(&d.join("inplace.yaml")), PLAIN);

    // _sops_backend_decrypt_literal: an encrypted JSON literal on /dev/stdin.
    write(&d.join("lit.json"), "{\"value\": \"literal-secret\"}\n");
    let mut cmd = sops(d);
    cmd.args(["--encrypt", "lit.json"]);
    let literal = ok(run(cmd));
    assert!(
        String::from_utf8_lossy(&literal).contains("\"mac\": \"ENC["),
        "Flux's JSON marker"
    );
    let mut cmd = sops(d);
    cmd.args([
        "--decrypt",
        "--input-type",
        "json",
        "--output-type",
        "json",
        "/dev/stdin",
    ]);
    let out = with_stdin(cmd, &literal);
    assert_eq!(
        String::from_utf8(ok(out)).unwrap(),
        "{\n\t\"value\": \"literal-secret\"\n}\n"
    );

    // _sops_backend_edit_file: `--input-type yaml --output-type yaml FILE` is edit.
    let mut cmd = sops(d);
    cmd.env("SOPS_EDITOR", "sed -i s/admin/root/").args([
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "secrets.yaml",
    ]);
    ok(run(cmd));
    let mut cmd = real(d);
    cmd.args(["-d", "--extract", r#"["db"]["user"]"#, "secrets.yaml"]);
    assert_eq!(ok(run(cmd)), b"root");

    // Extra backend arguments go first (SECRET_BACKEND_ARGS), e.g. --verbose or --config.
    let mut cmd = sops(d);
    cmd.args([
        "--verbose",
        "--config",
        ".sops.yaml",
        "--decrypt",
        "--input-type",
        "yaml",
        "--output-type",
        "yaml",
        "secrets.yaml",
    ]);
    assert_eq!(
        String::from_utf8(ok(run(cmd))).unwrap(),
        "db:\n    user: root\n    password: s3cr3t-value\n"
    );
}

#[test]
fn binary_files_are_detected_like_helm_secrets_expects() {
    let repo = repo();
    let d = repo.path();
    write(&d.join("cert.pem"), "-----BEGIN X-----\nbytes\n");
    let mut cmd = sops(d);
    cmd.args([
        "--encrypt",
        "--input-type",
        "binary",
        "--output-type",
        "binary",
        "--output",
        "cert.enc",
        "cert.pem",
    ]);
    ok(run(cmd));
    assert!(grep(&["-q", "\"data\": \"ENC"], &d.join("cert.enc")));
    let mut cmd = sops(d);
    cmd.args([
        "--decrypt",
        "--input-type",
        "binary",
        "--output-type",
        "binary",
        "cert.enc",
    ]);
    assert_eq!(ok(run(cmd)), b"-----BEGIN X-----\nbytes\n");
}

#[test]
fn legacy_flags_and_subcommands() {
    let repo = repo();
    let d = repo.path();
    // -d with --extract before the file; after the file it is ignored with sops' warning.
    let mut cmd = sops(d);
    cmd.args(["-d", "--extract", r#"["db"]["password"]"#, "secrets.yaml"]);
    assert_eq!(ok(run(cmd)), b"s3cr3t-value");
    let mut cmd = sops(d);
    cmd.args(["-d", "secrets.yaml", "--extract", r#"["db"]["password"]"#]);
    let out = run(cmd);
    assert_eq!(String::from_utf8(out.stdout.clone()).unwrap(), PLAIN);
    assert!(err(&out).contains("More than one positional argument provided"));
    // Subcommand flags may come after the file (urfave reorders them).
    let mut cmd = sops(d);
    cmd.args(["decrypt", "secrets.yaml", "--extract", r#"["db"]["user"]"#]);
    assert_eq!(ok(run(cmd)), b"admin");
    // `-flag` is `--flag`, and `--flag=value`.
    let mut cmd = sops(d);
    cmd.args(["-decrypt", "-extract=[\"db\"][\"user\"]", "secrets.yaml"]);
    assert_eq!(ok(run(cmd)), b"admin");
    // --set (legacy) writes in place; -r -i rotates.
    let before = read(&d.join("secrets.yaml"));
    let mut cmd = sops(d);
    cmd.args(["--set", r#"["db"]["user"] "admin2""#, "secrets.yaml"]);
    ok(run(cmd));
    let mut cmd = sops(d);
    cmd.args(["-r", "-i", "--add-age", BOB, "secrets.yaml"]);
    ok(run(cmd));
    let after = read(&d.join("secrets.yaml"));
    assert_ne!(before, after);
    let mut cmd = sops_real(d);
    cmd.env("SOPS_AGE_KEY_FILE", key("bob.agekey")).args([
        "-d",
        "--extract",
        r#"["db"]["user"]"#,
        "secrets.yaml",
    ]);
    assert_eq!(ok(run(cmd)), b"admin2");
    // `sops FILE` is edit.
    let mut cmd = sops(d);
    cmd.env("SOPS_EDITOR", "true").arg("secrets.yaml");
    let out = run(cmd);
    assert_eq!(code(&out), 200);
    assert_eq!(err(&out).trim(), "File has not changed, exiting.");
    // `sealbox sops …` is the same as a `sops` link.
    let mut cmd = sealbox(d);
    cmd.env("SOPS_AGE_KEY_FILE", key("alice.agekey")).args([
        "sops",
        "-d",
        "--extract",
        r#"["db"]["user"]"#,
        "secrets.yaml",
    ]);
    assert_eq!(ok(run(cmd)), b"admin2");
    let mut cmd = sealbox(d);
    cmd.args(["sops", "--version"]);
    assert!(
        String::from_utf8(ok(run(cmd)))
            .unwrap()
            .starts_with("sops 3.11.0")
    );
    let mut cmd = sops(d);
    cmd.args(["filestatus", "secrets.yaml"]);
    assert_eq!(ok(run(cmd)), b"{\"encrypted\":true}\n");
}

#[test]
fn global_flags_apply_to_subcommands_like_in_sops_3_11() {
    let repo = repo();
    let d = repo.path();
    // --mac-only-encrypted / comment regexes are global-only in 3.11: before the subcommand.
    let mut cmd = sops(d);
    cmd.args(["--mac-only-encrypted", "encrypt", "plain.yaml"]);
    let out = String::from_utf8(ok(run(cmd))).unwrap();
    assert!(out.contains("mac_only_encrypted: true"), "{out}");
    let mut cmd = sops(d);
    cmd.args(["encrypt", "--mac-only-encrypted", "plain.yaml"]);
    let out = run(cmd);
    assert_eq!(code(&out), 1);
    assert!(err(&out).contains("flag provided but not defined: -mac-only-encrypted"));
    write(&d.join("c.yaml"), "# sops:enc\npassword: x\nuser: y\n");
    let mut cmd = sops(d);
    cmd.args(["--encrypted-comment-regex", "sops:enc", "encrypt", "c.yaml"]);
    let out = String::from_utf8(ok(run(cmd))).unwrap();
    assert!(
        out.contains("password: ENC[") && out.contains("user: y"),
        "{out}"
    );
    // --indent and --config before the subcommand.
    write(
        &d.join("other.sops.yaml"),
        &format!("creation_rules:\n  - age: {BOB}\n"),
    );
    let mut cmd = sops(d);
    cmd.args([
        "--config",
        "other.sops.yaml",
        "--indent",
        "2",
        "encrypt",
        "plain.yaml",
    ]);
    let out = String::from_utf8(ok(run(cmd))).unwrap();
    assert!(
        out.contains(&format!("recipient: {BOB}")) && out.contains("\n  age:\n"),
        "{out}"
    );
    // SOPS_AGE_RECIPIENTS is --age.
    let mut cmd = sops(d);
    cmd.env("SOPS_AGE_RECIPIENTS", CAROL)
        .args(["encrypt", "plain.yaml"]);
    assert!(String::from_utf8(ok(run(cmd))).unwrap().contains(CAROL));
}

#[test]
fn usage_errors_and_exit_codes_match_sops() {
    let repo = repo();
    let d = repo.path();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec![], 100, "Error: no file specified"),
        (vec!["-d"], 100, "Error: no file specified"),
        (
            vec!["-d", "missing.yaml"],
            100,
            "Error: cannot operate on non-existent file",
        ),
        (
            vec!["--foo", "secrets.yaml"],
            1,
            "flag provided but not defined: -foo",
        ),
        (
            vec!["decrypt", "--foo", "secrets.yaml"],
            1,
            "flag provided but not defined: -foo",
        ),
        (
            vec!["decrypt", "--verbose", "secrets.yaml"],
            1,
            "flag provided but not defined: -verbose",
        ),
        (vec!["-d", "--output"], 1, "flag needs an argument: -output"),
        (
            vec!["set", "secrets.yaml", r#"["a"]"#],
            100,
            "Need precisely 3 positional arguments",
        ),
        (
            vec!["unset", "secrets.yaml"],
            100,
            "Error: no file specified, or index is missing",
        ),
        (
            vec!["exec-env", "secrets.yaml"],
            1,
            "error: missing file to decrypt",
        ),
        (
            vec!["--set", "nope", "secrets.yaml"],
            7,
            "Invalid --set format",
        ),
        (
            vec!["-e", "secrets.yaml"],
            203,
            "top-level entry called 'sops'",
        ),
        (vec!["-d", "plain.yaml"], 1, "sops metadata not found"),
        (
            vec!["-r", "--add-age", BOB, "missing.yaml"],
            49,
            "cannot add or remove keys on non-existent file",
        ),
        (
            vec!["-d", "-i", "--output", "x", "secrets.yaml"],
            8,
            "Error: cannot operate on both --output and --in-place",
        ),
        (
            vec!["decrypt", "--extract", "x", "secrets.yaml"],
            91,
            "error parsing --extract path: component x doesn't end with ]",
        ),
        (vec!["keyservice"], 1, "not implemented"),
    ];
    for (args, want, msg) in cases {
        let mut cmd = sops(d);
        cmd.args(&args);
        let out = run(cmd);
        assert_eq!(code(&out), want, "{args:?}: {}", err(&out));
        let first = err(&out);
        let first = first
            .lines()
            .find(|l| !l.starts_with("More than one"))
            .unwrap_or_default()
            .to_string();
        assert!(first.contains(msg), "{args:?}: first stderr line {first:?}");
        assert!(
            !first.starts_with("sealbox:"),
            "sops mode prints sops' messages as they are"
        );
    }
}
