//! `sealbox keys` and `sealbox quickstart` on the local keyring.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

fn keys(home: &Path, keyring: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = sealbox(home);
    cmd.arg("--keyring").arg(keyring).arg("keys").args(args);
    run(cmd)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn key_files(keyring: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(keyring.join("sealing-keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn init_list_rotate_export_backup_and_import_round_trip() {
    let home = tempfile::tempdir().unwrap();
    let keyring = home.path().join("kr");
    init_keyring(home.path(), &keyring);
    let files = key_files(&keyring);
    assert_eq!(files.len(), 1);
    #[cfg(unix)]
    {
        assert_eq!(mode(&keyring), 0o700);
        assert_eq!(mode(&keyring.join("sealing-keys")), 0o700);
        assert_eq!(mode(&files[0]), 0o600);
    }
    let stored = std::fs::read_to_string(&files[0]).unwrap();
    assert!(stored.contains("type: kubernetes.io/tls"));
    assert!(stored.contains("sealedsecrets.bitnami.com/sealed-secrets-key: active"));

    // init again changes nothing.
    let out = keys(home.path(), &keyring, &["init"]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("nothing to do"));
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), stored);

    // rotate --if-due: the key is new, nothing happens; rotate: a second key seals.
    assert!(
        keys(home.path(), &keyring, &["rotate", "--if-due"])
            .status
            .success()
    );
    assert_eq!(key_files(&keyring).len(), 1);
    let cert_before = ok(keys(home.path(), &keyring, &["export-cert"]));
    std::thread::sleep(std::time::Duration::from_millis(1100)); // NotBefore has 1 s resolution
    ok(keys(
        home.path(),
        &keyring,
        &["rotate", "--key-size", "2048"],
    ));
    assert_eq!(key_files(&keyring).len(), 2);
    let cert_after = ok(keys(home.path(), &keyring, &["export-cert"]));
    assert!(cert_after.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_ne!(cert_before, cert_after, "the new key seals");
    let list = ok(keys(home.path(), &keyring, &["list"]));
    // The sealing-key table, then (after a blank line) the SOPS age recipient.
    assert_eq!(
        list.lines().take_while(|l| !l.is_empty()).count(),
        3,
        "{list}"
    );
    assert!(list.contains("SOPS AGE RECIPIENT"), "{list}");
    assert!(list.lines().nth(1).unwrap().ends_with("sealing"), "{list}");
    assert!(
        list.lines().nth(2).unwrap().ends_with("unsealing only"),
        "{list}"
    );

    // backup = a kubectl v1 List; importing it into an empty keyring gives the same keys.
    let backup = ok(keys(home.path(), &keyring, &["backup"]));
    let list_value: Value = serde_saphyr::from_str(&backup).unwrap();
    assert_eq!(list_value["kind"], "List");
    assert_eq!(list_value["items"].as_array().unwrap().len(), 2);
    let backup_file = home.path().join("backup.yaml");
    ok(keys(
        home.path(),
        &keyring,
        &["backup", "-w", backup_file.to_str().unwrap()],
    ));
    #[cfg(unix)]
    assert_eq!(mode(&backup_file), 0o600);
    let other = home.path().join("other");
    ok(keys(
        home.path(),
        &other,
        &["import", backup_file.to_str().unwrap()],
    ));
    let fingerprints = |dir: &Path| -> Vec<String> {
        let list = ok(keys(home.path(), dir, &["list"]));
        list.lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| l.split_whitespace().nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(fingerprints(&keyring), fingerprints(&other));
    assert_eq!(ok(keys(home.path(), &other, &["export-cert"])), cert_after);
    // Importing the same keys again adds nothing and says so.
    let again = keys(
        home.path(),
        &other,
        &["import", backup_file.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(16));
    assert!(stderr(&again).contains("already in the keyring"));
}

#[test]
fn a_bitnami_backup_and_bare_pem_keys_import() {
    let home = tempfile::tempdir().unwrap();
    let keyring = home.path().join("kr");
    let backup = fixture("sealing-keys-backup.yaml");
    ok(keys(
        home.path(),
        &keyring,
        &["import", backup.to_str().unwrap()],
    ));
    let list = ok(keys(home.path(), &keyring, &["list"]));
    for id in expected()["controller_keys"].as_array().unwrap() {
        let fp = expected()["keys"][id.as_str().unwrap()]["ssh_sha256_fingerprint"]
            .as_str()
            .unwrap();
        assert!(list.contains(fp), "{list}");
    }
    // The controller key with the newest certificate is the sealing key, as in the cluster.
    let newest_id = expected()["controller_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .max_by_key(|id| {
            let pem = std::fs::read_to_string(cert_file(id)).unwrap();
            sealbox_keys::sealing::Certificate::from_pem(&pem)
                .unwrap()
                .not_before()
        })
        .unwrap();
    let newest = list.lines().nth(1).unwrap();
    let fingerprint = expected()["keys"][newest_id]["ssh_sha256_fingerprint"]
        .as_str()
        .unwrap();
    assert!(newest.contains(fingerprint), "{list}");

    // A bare PEM key (no certificate) never takes over sealing.
    let bare = cert_fixture("byo-rsa2048.key.pem");
    let out = keys(home.path(), &keyring, &["import", bare.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list_after = ok(keys(home.path(), &keyring, &["list"]));
    assert_eq!(
        list_after.lines().nth(1),
        list.lines().nth(1),
        "sealing key unchanged"
    );
    assert_eq!(list_after.lines().count(), list.lines().count() + 1);
    // The keyring now opens every fixture manifest without --recovery-private-key.
    for m in expected()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["expect"] == "ok")
    {
        let mut cmd = sealbox(home.path());
        cmd.env("SEALBOX_KEYRING", &keyring)
            .args(["unseal", "-f"])
            .arg(fixture(m["file"].as_str().unwrap()));
        ok(run(cmd));
    }
}

#[test]
fn quickstart_works_on_an_empty_machine_and_never_overwrites() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = sealbox(home.path());
    cmd.arg("quickstart");
    let out = ok(run(cmd));
    assert!(out.contains("values match"), "{out}");
    assert!(out.contains("sealbox seal"), "next commands shown:\n{out}");
    assert!(out.contains("kind: SealedSecret"), "{out}");
    let keyring = home.path().join(".config/sealbox");
    let files = key_files(&keyring);
    assert_eq!(files.len(), 1);
    let stored = std::fs::read_to_string(&files[0]).unwrap();
    // Second run reuses the keyring untouched; XDG_CONFIG_HOME is respected.
    let mut cmd = sealbox(home.path());
    cmd.arg("quickstart");
    let out = ok(run(cmd));
    assert!(out.contains("using the existing keyring"), "{out}");
    assert_eq!(key_files(&keyring), files);
    assert_eq!(std::fs::read_to_string(&files[0]).unwrap(), stored);
    let xdg = home.path().join("xdg");
    let mut cmd = sealbox(home.path());
    cmd.env("XDG_CONFIG_HOME", &xdg)
        .args(["keys", "init", "--key-size", "2048"]);
    ok(run(cmd));
    assert_eq!(key_files(&xdg.join("sealbox")).len(), 1);
}
