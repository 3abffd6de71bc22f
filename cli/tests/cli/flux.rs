//! `sealbox keys export-age --flux`: the Secret Flux's kustomize-controller reads for
//! `spec.decryption.provider: sops`. Flux links the sops Go library and parses each
//! `*.agekey` entry with filippo.io/age, so the proof uses the real `sops` (Flux's
//! decryptor stand-in) and the real `age` on the exported entry, over a file sealbox
//! encrypted with no setup (to the keyring's own identity).

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::sops_support::{code, err, ok, run, sealbox, sops_real, with_stdin};

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: apps\ntype: Opaque\nstringData:\n  password: flux-export-password\n";

fn export(home: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = sealbox(home);
    cmd.args(["keys", "export-age"]).args(args);
    run(cmd)
}

fn parse(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("the Secret is YAML")
}

/// The identity file inside a `--flux` Secret.
fn entry(secret: &Value) -> String {
    let b64 = secret["data"]["identity.agekey"]
        .as_str()
        .expect("data.identity.agekey");
    String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap()
}

#[test]
fn the_flux_secret_opens_what_sealbox_encrypted_with_no_setup() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("db.enc.yaml");
    std::fs::write(&file, SECRET).unwrap();
    // No recipient given: sealbox encrypts to the keyring's age identity (made on first use).
    let mut cmd = sealbox(home.path());
    cmd.args(["encrypt", "--encrypted-regex", "^(data|stringData)$", "-i"])
        .arg(&file);
    ok(run(cmd));
    let encrypted = std::fs::read_to_string(&file).unwrap();
    assert!(!encrypted.contains("flux-export-password"));
    // The marker Flux greps for before it decrypts a YAML file.
    assert!(encrypted.contains("mac: ENC["), "{encrypted}");

    let out = export(home.path(), &["--flux"]);
    let stdout = String::from_utf8(ok(out.clone())).unwrap();
    assert!(
        !stdout.contains("AGE-SECRET-KEY-") && !err(&out).contains("AGE-SECRET-KEY-"),
        "the key is only in base64 inside data"
    );
    let secret = parse(&stdout);
    assert_eq!(secret["apiVersion"], "v1");
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["metadata"]["name"], "sops-age");
    assert_eq!(secret["metadata"]["namespace"], "flux-system");
    assert_eq!(secret["data"].as_object().unwrap().len(), 1);
    let identity = entry(&secret);
    let keys_txt = home.path().join(".config/sealbox/age/keys.txt");
    assert_eq!(identity, std::fs::read_to_string(&keys_txt).unwrap());

    // The entry as Flux holds it: a file of its own, nothing else in the environment.
    let flux_dir = tempfile::tempdir().unwrap();
    let agekey = flux_dir.path().join("identity.agekey");
    std::fs::write(&agekey, &identity).unwrap();
    let mut sops = sops_real(flux_dir.path());
    sops.env("SOPS_AGE_KEY_FILE", &agekey)
        .args(["decrypt", "--output-type", "json"])
        .arg(&file);
    let plain: Value = serde_json::from_slice(&ok(run(sops))).unwrap();
    assert_eq!(
        plain["stringData"]["password"], "flux-export-password",
        "real sops opens the file with the exported identity"
    );

    // filippo.io/age (the parser Flux uses for *.agekey entries) reads the entry too.
    let recipient = identity
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen header")
        .to_owned();
    let sealed = ok(with_stdin(
        {
            let mut c = Command::new("age");
            c.args(["-r", &recipient]);
            c
        },
        b"age-roundtrip",
    ));
    let mut open = Command::new("age");
    open.arg("-d").arg("-i").arg(&agekey);
    assert_eq!(ok(with_stdin(open, &sealed)), b"age-roundtrip");
}

#[test]
fn export_age_names_output_and_bad_input() {
    let home = tempfile::tempdir().unwrap();
    // Nothing to export yet: exit 16 (keyring), the path named, nothing on stdout.
    let out = export(home.path(), &["--flux"]);
    assert_eq!(code(&out), 16, "{}", err(&out));
    assert!(out.stdout.is_empty());
    assert!(err(&out).contains("age/keys.txt"), "{}", err(&out));

    // Make the identity (as `sealbox encrypt` would on first use).
    let mut cmd = sealbox(home.path());
    cmd.args([
        "encrypt",
        "--input-type",
        "dotenv",
        "--output-type",
        "dotenv",
    ])
    .args(["--filename-override", "x.env"]);
    ok(with_stdin(cmd, b"A=1\n"));
    let keys_txt =
        std::fs::read_to_string(home.path().join(".config/sealbox/age/keys.txt")).unwrap();

    // Bare: the identity file itself.
    let bare = String::from_utf8(ok(export(home.path(), &[]))).unwrap();
    assert_eq!(bare, keys_txt);

    // Namespace and name of the Secret.
    let custom = String::from_utf8(ok(export(
        home.path(),
        &["--flux", "--namespace", "apps", "--name", "team.age-keys"],
    )))
    .unwrap();
    let secret = parse(&custom);
    assert_eq!(secret["metadata"]["namespace"], "apps");
    assert_eq!(secret["metadata"]["name"], "team.age-keys");
    assert_eq!(entry(&secret), keys_txt);

    // To a file: private mode, nothing on stdout.
    let target = home.path().join("out/sops-age.yaml");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    let out = export(home.path(), &["--flux", "-w", target.to_str().unwrap()]);
    assert!(ok(out).is_empty());
    assert_eq!(
        entry(&parse(&std::fs::read_to_string(&target).unwrap())),
        keys_txt
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // Usage errors name the flag; nothing is printed on stdout.
    for (args, needle) in [
        (&["--namespace", "apps"][..], "--flux"),
        (&["--flux", "--name", "Bad_Name"][..], "--name"),
        (&["--flux", "--namespace=Apps_"][..], "--namespace"),
    ] {
        let out = export(home.path(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", err(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(err(&out).contains(needle), "{args:?}: {}", err(&out));
    }
}
