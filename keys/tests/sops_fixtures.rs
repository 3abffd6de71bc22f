//! Every fixture written by the real sops 3.11 (and the sops 3.13 upstream set) decrypts to
//! what `sops decrypt` printed, byte for byte; every negative case fails with the exit code
//! real sops returned. Data-driven from the fixtures' `manifest.json`.

use std::path::{Path, PathBuf};

use sealbox_keys::sops::{DataKey, Format, Identities, OpenedFile, StoreOptions};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops")
}

fn manifest() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir().join("manifest.json")).unwrap()).unwrap()
}

fn identities(files: &[serde_json::Value]) -> Identities {
    let mut ids = Identities::new();
    for f in files {
        let name = f.as_str().unwrap();
        let bytes = std::fs::read(dir().join(name)).unwrap();
        if name.ends_with(".agekey") {
            ids.add_age_keys(std::str::from_utf8(&bytes).unwrap(), name)
                .unwrap();
        } else {
            ids.add_ssh_private_key(&bytes, name).unwrap();
        }
    }
    ids
}

fn format_of(entry: &serde_json::Value, file: &str) -> Format {
    match entry.get("format").and_then(|f| f.as_str()) {
        Some("dotenv") => Format::Dotenv,
        Some(name) => Format::from_name(name).unwrap(),
        None => Format::from_path(file),
    }
}

#[test]
fn every_fixture_decrypts_to_expected_bytes() {
    let m = manifest();
    let mut failures = Vec::new();
    for f in m["fixtures"].as_array().unwrap() {
        let file = f["encrypted"].as_str().unwrap();
        let input = std::fs::read(dir().join(file)).unwrap();
        let expected = std::fs::read(dir().join(f["expected"].as_str().unwrap())).unwrap();
        let ids = identities(f["decrypt_with"].as_array().unwrap());
        match OpenedFile::open(
            &input,
            format_of(f, file),
            &ids,
            false,
            StoreOptions::default(),
        ) {
            Ok(o) if o.plaintext() == expected.as_slice() => {}
            Ok(o) => failures.push(format!(
                "{file}: output differs\n--- got\n{}\n--- want\n{}",
                String::from_utf8_lossy(o.plaintext()),
                String::from_utf8_lossy(&expected)
            )),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
        // The reading-only open (decrypt, exec-*) gives the same bytes, and `decrypt`'s
        // consuming output is them too.
        match OpenedFile::open_for_reading(
            &input,
            format_of(f, file),
            false,
            StoreOptions::default(),
            |meta| sealbox_keys::sops::keysource::recover_data_key(meta, &ids),
        )
        .and_then(|o| o.into_output(format_of(f, file)))
        {
            Ok(out) if out == expected => {}
            Ok(_) => failures.push(format!("{file} (reading only): output differs")),
            Err(e) => failures.push(format!("{file} (reading only): {e}")),
        }
        // Cipher level: the known data key opens it too.
        let key = DataKey::from_bytes(&hex::decode(f["data_key_hex"].as_str().unwrap()).unwrap())
            .unwrap();
        if let Err(e) = OpenedFile::open_with_data_key(
            &input,
            format_of(f, file),
            &key,
            false,
            StoreOptions::default(),
        ) {
            failures.push(format!("{file} (data key): {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_negative_case_fails_with_sops_exit_code() {
    let m = manifest();
    let mut failures = Vec::new();
    for n in m["negative"].as_array().unwrap() {
        let file = n["file"].as_str().unwrap();
        let input = std::fs::read(dir().join(file)).unwrap();
        let ids = identities(
            n.get("decrypt_with")
                .and_then(|d| d.as_array())
                .map(Vec::as_slice)
                .unwrap_or(&[]),
        );
        let ignore_mac = n["extra_args"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "--ignore-mac"));
        let want = n["expect_exit"].as_u64().unwrap() as u8;
        let result = OpenedFile::open(
            &input,
            Format::from_path(file),
            &ids,
            ignore_mac,
            StoreOptions::default(),
        );
        let got = match &result {
            Ok(_) => 0,
            Err(e) => e.sops_exit_code(),
        };
        let reading = OpenedFile::open_for_reading(
            &input,
            Format::from_path(file),
            ignore_mac,
            StoreOptions::default(),
            |meta| sealbox_keys::sops::keysource::recover_data_key(meta, &ids),
        );
        let got_reading = reading.as_ref().map_or_else(|e| e.sops_exit_code(), |_| 0);
        if got_reading != got {
            failures.push(format!(
                "{file}: reading-only open exits {got_reading}, open exits {got}"
            ));
        }
        if got != want {
            failures.push(format!(
                "{file}: exit {got}, want {want} ({:?})",
                result.as_ref().err().map(|e| e.to_string())
            ));
            continue;
        }
        if let (Ok(o), Some(exp)) = (&result, n.get("expected").and_then(|e| e.as_str())) {
            let expected = std::fs::read(dir().join(exp)).unwrap();
            if o.plaintext() != expected.as_slice() {
                failures.push(format!("{file}: output differs from {exp}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn upstream_313_files_decrypt_like_local_sops() {
    let readme = std::fs::read_to_string(dir().join("upstream/README.md")).unwrap();
    let mut failures = Vec::new();
    let mut n = 0;
    for line in readme
        .lines()
        .filter(|l| l.starts_with("| `") && l.contains("expected-by-local-sops"))
    {
        let cols: Vec<&str> = line
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        let (file, key_hex, expected) = (cols[1], cols[2], cols[4]);
        n += 1;
        let input = std::fs::read(dir().join("upstream").join(file)).unwrap();
        let want = std::fs::read(dir().join("upstream").join(expected)).unwrap();
        let key = DataKey::from_bytes(&hex::decode(key_hex).unwrap()).unwrap();
        match OpenedFile::open_with_data_key(
            &input,
            Format::from_path(file),
            &key,
            false,
            StoreOptions::default(),
        ) {
            Ok(o) if o.plaintext() == want.as_slice() => {}
            Ok(o) => failures.push(format!(
                "{file}: differs\n--- got\n{}\n--- want\n{}",
                String::from_utf8_lossy(o.plaintext()),
                String::from_utf8_lossy(&want)
            )),
            Err(e) => failures.push(format!("{file}: {e}")),
        }
    }
    assert_eq!(n, 6, "all upstream fixtures listed");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `open_with` remembers IVs, so sealing an unchanged file again rewrites every value to the
/// same text; `open_for_reading` does not (every value gets a new IV), yet its re-sealed file
/// still opens to the same plaintext.
#[test]
fn only_the_editing_open_keeps_value_ivs() {
    let input = std::fs::read(dir().join("nested.enc.yaml")).unwrap();
    let ids = identities(&[serde_json::json!("keys/alice.agekey")]);
    let get_key = |meta: &_| sealbox_keys::sops::keysource::recover_data_key(meta, &ids);
    let values = |text: &[u8]| -> Vec<String> {
        String::from_utf8_lossy(text)
            .split("ENC[")
            .skip(1)
            .map(|v| v.split(']').next().unwrap().to_string())
            .collect()
    };
    let mut rng = rand::thread_rng();
    let (yaml, opts) = (Format::Yaml, StoreOptions::default);
    let mut editing = OpenedFile::open_with(&input, yaml, false, opts(), get_key).unwrap();
    let mut reading = OpenedFile::open_for_reading(&input, yaml, false, opts(), get_key).unwrap();
    let (kept, fresh) = (
        editing.seal(1_700_000_000, &mut rng).unwrap(),
        reading.seal(1_700_000_000, &mut rng).unwrap(),
    );
    let (orig, kept, fresh) = (values(&input), values(&kept), values(&fresh));
    // The last value is the MAC, which depends on `lastmodified`.
    let n = orig.len() - 1;
    assert!(n > 1);
    assert_eq!(kept[..n], orig[..n]);
    assert!(fresh[..n].iter().zip(&orig[..n]).all(|(a, b)| a != b));
    let again = OpenedFile::open_with(
        &reading.seal(1_700_000_000, &mut rng).unwrap(),
        yaml,
        false,
        opts(),
        get_key,
    )
    .unwrap();
    assert_eq!(again.plaintext(), editing.plaintext());
    // In another format the consuming output is `emit_as`'s.
    let json = again.emit_as(Format::Json).unwrap();
    assert!(json.starts_with(b"{"));
    assert_eq!(again.into_output(Format::Json).unwrap(), json);
}
