//! Replays the SOPS fixture set (`keys/tests/fixtures/sops/manifest.json`, made by real
//! sops 3.11) against the sealbox binary started as `sops`, the way
//! `shared/tools/check_sops_fixtures.py --exact-exit` does: every positive fixture decrypts
//! to `expected/` byte for byte, every negative case ends with sops' exit code and the same
//! kind of first stderr line. The native `sealbox decrypt` gives the same bytes.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::sops_support::*;

/// The environment check_sops_fixtures.py gives each case: a temp HOME and
/// XDG_CONFIG_HOME, the listed identities concatenated into a SOPS_AGE_KEY_FILE, or the
/// fixture's own variables (SSH key).
fn case_env(cmd: &mut Command, tmp: &Path, case: &Value) {
    cmd.env("XDG_CONFIG_HOME", tmp).current_dir(sops_fixtures());
    if let Some(extra) = case.get("decrypt_env").and_then(Value::as_object) {
        for (k, v) in extra {
            cmd.env(k, sops_fixtures().join(v.as_str().unwrap()));
        }
        return;
    }
    let mut keys = String::new();
    for id in case["decrypt_with"].as_array().into_iter().flatten() {
        keys.push_str(
            &std::fs::read_to_string(sops_fixtures().join(id.as_str().unwrap())).unwrap(),
        );
    }
    let file = tmp.join("keys.txt");
    std::fs::write(&file, keys).unwrap();
    cmd.env("SOPS_AGE_KEY_FILE", file);
}

/// The kind of an error line: the text before its first `:` or `.` ("MAC mismatch",
/// "Error decrypting tree", "Failed to get the data key required to decrypt the SOPS file").
fn kind(line: &str) -> &str {
    line.split([':', '.']).next().unwrap_or_default().trim()
}

fn run_case(cmd: Command) -> std::process::Output {
    run(cmd)
}

#[test]
fn every_fixture_decrypts_in_sops_mode_like_sops_does() {
    let tmp = tempfile::tempdir().unwrap();
    let empty_cfg = tmp.path().join("empty.yaml");
    std::fs::write(&empty_cfg, "").unwrap();
    let mut failures = Vec::new();
    let mut positives = 0;
    for fx in manifest()["fixtures"].as_array().unwrap() {
        let Some(expected) = fx["expected"].as_str() else {
            continue;
        };
        positives += 1;
        let file = fx["encrypted"].as_str().unwrap();
        let binary = fx["format"] == "binary" && !file.ends_with(".bin") && !file.ends_with(".enc");
        let want = std::fs::read(sops_fixtures().join(expected)).unwrap();
        // sops mode, exactly the check script's command line ...
        let mut cmd = sops_mode(tmp.path());
        cmd.arg("--config").arg(&empty_cfg).arg("decrypt");
        if binary {
            cmd.args(["--input-type", "binary", "--output-type", "binary"]);
        }
        cmd.arg(file);
        case_env(&mut cmd, tmp.path(), fx);
        let out = run_case(cmd);
        if code(&out) != 0 || out.stdout != want {
            failures.push(format!(
                "sops mode {file}: exit {} {}",
                code(&out),
                err(&out)
            ));
        }
        // ... and native sealbox.
        let mut cmd = sealbox(tmp.path());
        cmd.arg("decrypt").arg("--config").arg(&empty_cfg);
        if binary {
            cmd.args(["--input-type", "binary", "--output-type", "binary"]);
        }
        cmd.arg(file);
        case_env(&mut cmd, tmp.path(), fx);
        let out = run_case(cmd);
        if code(&out) != 0 || out.stdout != want {
            failures.push(format!("native {file}: exit {} {}", code(&out), err(&out)));
        }
    }
    assert_eq!(positives, 19, "the fixture set has 19 positive cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_negative_case_fails_with_sops_exit_code_and_error_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let empty_cfg = tmp.path().join("empty.yaml");
    std::fs::write(&empty_cfg, "").unwrap();
    let mut failures = Vec::new();
    let negatives = manifest()["negative"].as_array().unwrap();
    assert_eq!(negatives.len(), 13);
    for n in negatives {
        let file = n["file"].as_str().unwrap();
        let want = n["expect_exit"].as_i64().unwrap() as i32;
        let mut cmd = sops_mode(tmp.path());
        cmd.arg("--config").arg(&empty_cfg).arg("decrypt");
        for a in n["extra_args"].as_array().into_iter().flatten() {
            cmd.arg(a.as_str().unwrap());
        }
        cmd.arg(file);
        case_env(&mut cmd, tmp.path(), n);
        let out = run_case(cmd);
        if code(&out) != want {
            failures.push(format!(
                "{file}: exit {}, sops gave {want}: {}",
                code(&out),
                err(&out)
            ));
            continue;
        }
        if want == 0 {
            if let Some(expected) = n["expected"].as_str() {
                let expected = std::fs::read(sops_fixtures().join(expected)).unwrap();
                if out.stdout != expected {
                    failures.push(format!("{file}: output differs from {expected:?}"));
                }
            }
            continue;
        }
        let theirs = n["stderr_first_line"].as_str().unwrap();
        let ours = err(&out);
        let ours = ours.lines().next().unwrap_or_default();
        if kind(ours) != kind(theirs) {
            failures.push(format!(
                "{file}: first stderr line {ours:?}, sops: {theirs:?}"
            ));
        }
        if !out.stdout.is_empty() {
            failures.push(format!("{file}: printed something on stdout while failing"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
