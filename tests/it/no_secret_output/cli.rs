//! Whole `sealbox` command scenarios with known plaintexts; see the module docs in `mod.rs`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sealbox_tests::leak_scan::LeakScan;

use crate::controller::binary::sealbox_binary;
use crate::controller::{fixtures, plaintexts as fixture_plaintexts};

const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

fn sops_key(name: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../keys/tests/fixtures/sops/keys"
    ))
    .join(name)
}

fn cert_fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/certs")).join(name)
}

/// Secrets every scenario must keep out of its output besides its values: alice's age
/// identity and a line of the sealing private key's PEM body.
fn key_material() -> Vec<String> {
    let age = std::fs::read_to_string(sops_key("alice.agekey")).unwrap();
    let age_line = age
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_owned();
    let pem = std::fs::read_to_string(fixtures().join("sealing-key-1.key.pem")).unwrap();
    let body_line = pem.lines().nth(3).unwrap().to_owned();
    vec![age_line, body_line]
}

/// Expected exit of a scenario.
#[derive(Clone, Copy, Debug)]
enum Exit {
    Success,
    Code(i32),
}

/// A directory of inputs and a scan every command's output goes through.
struct Scene {
    dir: tempfile::TempDir,
    scan: LeakScan,
    commands: usize,
}

impl Scene {
    fn new(secrets: &[String]) -> Scene {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("keyring")).unwrap();
        let mut all = secrets.to_vec();
        all.extend(key_material());
        Scene {
            dir,
            scan: LeakScan::new(all),
            commands: 0,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// `sealbox` with a clean environment: private HOME and keyring, alice's age identity.
    fn sealbox(&self) -> Command {
        let mut cmd = Command::new(sealbox_binary());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("SEALBOX_KEYRING", self.path("keyring"))
            .env("SOPS_AGE_KEY_FILE", sops_key("alice.agekey"))
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .current_dir(self.dir.path());
        cmd
    }

    /// Run `args`, check the exit, scan stderr (and stdout unless it is the plaintext
    /// asked for). Returns the output.
    fn run(
        &mut self,
        args: &[&str],
        stdin: Option<&[u8]>,
        exit: Exit,
        stdout_requested: bool,
    ) -> Output {
        self.run_with(self.sealbox(), args, stdin, exit, stdout_requested)
    }

    fn run_with(
        &mut self,
        mut cmd: Command,
        args: &[&str],
        stdin: Option<&[u8]>,
        exit: Exit,
        stdout_requested: bool,
    ) -> Output {
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start sealbox");
        if let Some(input) = stdin {
            let _ = child.stdin.take().unwrap().write_all(input);
        }
        let out = child.wait_with_output().unwrap();
        let what = format!("`sealbox {}`", args.join(" "));
        let ok = match exit {
            Exit::Success => out.status.success(),
            Exit::Code(c) => out.status.code() == Some(c),
        };
        assert!(
            ok,
            "{what}: expected {exit:?}, got {:?}\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        if !matches!(exit, Exit::Success) {
            // A failed command prints nothing on stdout (its output is all or nothing).
            assert!(
                out.stdout.is_empty() || stdout_requested,
                "{what} failed but printed on stdout"
            );
        }
        self.scan.scan_output(&what, &out, stdout_requested);
        self.commands += 1;
        out
    }

    fn finish(&self) {
        assert!(self.scan.scanned() >= self.commands);
        self.scan.assert_clean();
    }
}

/// Replace one character of the first `ENC[...data:` value with another base64 character.
fn tamper_first_value(text: &str) -> String {
    let at = text.find("ENC[AES256_GCM,data:").unwrap() + "ENC[AES256_GCM,data:".len();
    let mut bytes = text.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn seal_and_unseal_never_print_a_value() {
    let pw = "pw-Zx81-seal-stringdata".to_owned();
    let token = "tk-Qm47-seal-token".to_owned();
    let cert_value = "-----CERT-Lk22-body-----".to_owned();
    let raw = "raw-Vb90-value".to_owned();
    let bad64 = "bad64-Rt55-not!base64".to_owned();
    let yamlerr = "yamlerr-Pp31-value".to_owned();
    let mut secrets = vec![
        pw.clone(),
        token.clone(),
        cert_value.clone(),
        raw.clone(),
        bad64.clone(),
        yamlerr.clone(),
    ];
    secrets.extend(
        fixture_plaintexts()
            .into_iter()
            .filter(|p| p.len() >= sealbox_tests::leak_scan::MIN_LEN),
    );
    let mut s = Scene::new(&secrets);
    let cert = fixtures().join("sealing-key-1.cert.pem");
    let cert = cert.to_str().unwrap();
    let key1 = fixtures().join("sealing-key-1.key.pem");
    let key1 = key1.to_str().unwrap();
    let foreign = cert_fixture("byo-rsa2048.key.pem");
    let foreign = foreign.to_str().unwrap();

    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n  namespace: demo\nstringData:\n  password: {pw}\n  token: {token}\ndata:\n  cert: {}\n",
        STANDARD.encode(&cert_value)
    );
    s.write("secret.yaml", &secret);
    // Success: the SealedSecret on stdout holds no plaintext either.
    let sealed = s.run(
        &["seal", "--cert", cert, "-f", "secret.yaml", "-o", "yaml"],
        None,
        Exit::Success,
        false,
    );
    let sealed = String::from_utf8(sealed.stdout).unwrap();
    s.write("sealed.yaml", &sealed);
    s.write("value.txt", &raw);
    s.run(
        &[
            "seal",
            "--cert",
            cert,
            "--raw",
            "--scope",
            "cluster-wide",
            "--from-file",
            "value.txt",
        ],
        None,
        Exit::Success,
        false,
    );
    // Failures: a value that is not base64, a YAML error on a value's line, strict scope
    // without a namespace, a merge into another scope.
    let bad = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: a, namespace: demo}}\ndata:\n  k: \"{bad64}\"\n"
    );
    s.run(
        &["seal", "--cert", cert],
        Some(bad.as_bytes()),
        Exit::Code(10),
        false,
    );
    let broken = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: a, namespace: demo}}\nstringData:\n  password: \"{yamlerr}\n  other: [x\n"
    );
    s.run(
        &["seal", "--cert", cert],
        Some(broken.as_bytes()),
        Exit::Code(10),
        false,
    );
    let no_ns = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: a}}\nstringData: {{password: {pw}}}\n"
    );
    s.run(
        &["seal", "--cert", cert, "--scope", "strict"],
        Some(no_ns.as_bytes()),
        Exit::Code(12),
        false,
    );
    s.run(
        &[
            "seal",
            "--cert",
            cert,
            "--scope",
            "cluster-wide",
            "--merge-into",
            "sealed.yaml",
        ],
        Some(secret.as_bytes()),
        Exit::Code(12),
        false,
    );

    // unseal: success (stdout is the Secret asked for), then every failure path.
    s.run(
        &[
            "unseal",
            "-v",
            "--recovery-private-key",
            key1,
            "-f",
            "sealed.yaml",
        ],
        None,
        Exit::Success,
        true,
    );
    let strict = fixtures().join("strict.yaml");
    let strict = strict.to_str().unwrap();
    s.run(
        &["unseal", "--recovery-private-key", foreign, "-f", strict],
        None,
        Exit::Code(15),
        false,
    );
    let fixture = std::fs::read_to_string(strict).unwrap();
    let moved = fixture.replacen("namespace: demo", "namespace: elsewhere", 1);
    assert_ne!(moved, fixture);
    s.write("moved.yaml", &moved);
    s.run(
        &["unseal", "--recovery-private-key", key1, "-f", "moved.yaml"],
        None,
        Exit::Code(15),
        false,
    );
    // One base64 character of the first value changed.
    let at = sealed.find("password: ").unwrap() + "password: ".len() + 40;
    let mut tampered = sealed.clone().into_bytes();
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    s.write("tampered.yaml", &String::from_utf8(tampered).unwrap());
    s.run(
        &[
            "unseal",
            "--recovery-private-key",
            key1,
            "-f",
            "tampered.yaml",
        ],
        None,
        Exit::Code(15),
        false,
    );
    // -w with a failing second document: nothing written, nothing printed.
    s.write("two.yaml", &format!("{sealed}\n---\n{moved}"));
    s.run(
        &[
            "unseal",
            "--recovery-private-key",
            key1,
            "-f",
            "two.yaml",
            "-w",
            "out.json",
        ],
        None,
        Exit::Code(15),
        false,
    );
    assert!(!s.path("out.json").exists());
    s.finish();
}

#[test]
fn sops_commands_never_print_a_value_they_were_not_asked_for() {
    let pw = "sops-Ha12-password".to_owned();
    let api = "sops-Jk34-api-key".to_owned();
    let multi = "line1-Mm56\nline2-Nn78 \"quoted\"".to_owned();
    let env_secret = "env-Dd44-secret".to_owned();
    let ini_secret = "ini-Ii66-secret".to_owned();
    let yamlerr = "sopserr-Ee88-value".to_owned();
    let setjson = "setjson-Ss99-value".to_owned();
    let secrets = vec![
        pw.clone(),
        api.clone(),
        multi.clone(),
        env_secret.clone(),
        ini_secret.clone(),
        yamlerr.clone(),
        setjson.clone(),
    ];
    let mut s = Scene::new(&secrets);
    let plain = format!(
        "db:\n    password: {pw}\n    api_key: {api}\n    note: {}\nport_unencrypted: 5432\n",
        serde_json::to_string(&multi).unwrap()
    );
    s.write("plain.yaml", &plain);
    let enc = s.run(
        &["encrypt", "--age", ALICE, "plain.yaml"],
        None,
        Exit::Success,
        false,
    );
    let enc = String::from_utf8(enc.stdout).unwrap();
    s.write("enc.yaml", &enc);
    // decrypt to stdout is the plaintext asked for: only stderr is checked.
    s.run(&["decrypt", "enc.yaml"], None, Exit::Success, true);
    s.run(
        &["decrypt", "--extract", r#"["db"]["password"]"#, "enc.yaml"],
        None,
        Exit::Success,
        true,
    );

    // Not a recipient: 128.
    let mut bob = s.sealbox();
    bob.env("SOPS_AGE_KEY_FILE", sops_key("bob.agekey"));
    s.run_with(bob, &["decrypt", "enc.yaml"], None, Exit::Code(128), false);
    // MAC tampered: 51.
    let mac_at = enc.find("mac: ENC[AES256_GCM,data:").unwrap() + 30;
    let mut bad_mac = enc.clone().into_bytes();
    bad_mac[mac_at] = if bad_mac[mac_at] == b'A' { b'B' } else { b'A' };
    s.write("bad-mac.yaml", &String::from_utf8(bad_mac).unwrap());
    s.run(&["decrypt", "bad-mac.yaml"], None, Exit::Code(51), false);
    // A clear value changed: MAC mismatch (51), with the values' digests, never values.
    s.write(
        "clear-changed.yaml",
        &enc.replace("port_unencrypted: 5432", "port_unencrypted: 5433"),
    );
    s.run(
        &["decrypt", "clear-changed.yaml"],
        None,
        Exit::Code(51),
        false,
    );
    // One encrypted value tampered: 25 (could not decrypt), also with --ignore-mac.
    s.write("bad-value.yaml", &tamper_first_value(&enc));
    s.run(&["decrypt", "bad-value.yaml"], None, Exit::Code(25), false);
    s.run(
        &["decrypt", "--ignore-mac", "bad-value.yaml"],
        None,
        Exit::Code(25),
        false,
    );
    // --extract of a missing key, set with a value that is not JSON.
    s.run(
        &["decrypt", "--extract", r#"["db"]["missing"]"#, "enc.yaml"],
        None,
        Exit::Code(1),
        false,
    );
    s.run(
        &[
            "set",
            "enc.yaml",
            r#"["db"]["x"]"#,
            &format!("{{\"{setjson}"),
        ],
        None,
        Exit::Code(7),
        false,
    );
    // Plaintext input with a syntax error on a value's line, and an already encrypted file.
    s.write(
        "broken.yaml",
        &format!("a:\n  password: \"{yamlerr}\n  b: [1\n"),
    );
    s.run(
        &["encrypt", "--age", ALICE, "broken.yaml"],
        None,
        Exit::Code(2),
        false,
    );
    s.run(
        &["encrypt", "--age", ALICE, "enc.yaml"],
        None,
        Exit::Code(203),
        false,
    );
    // dotenv and INI: a line that is not KEY=VALUE next to a secret, and a tampered file.
    s.write(
        "bad.env",
        &format!("PASSWORD={env_secret}\n{env_secret} no equals sign\n"),
    );
    s.run(
        &["encrypt", "--age", ALICE, "bad.env"],
        None,
        Exit::Code(2),
        false,
    );
    s.write("good.env", &format!("PASSWORD={env_secret}\n"));
    let env_enc = s.run(
        &["encrypt", "--age", ALICE, "good.env"],
        None,
        Exit::Success,
        false,
    );
    s.write(
        "tampered.env",
        &tamper_first_value(&String::from_utf8(env_enc.stdout).unwrap()),
    );
    s.run(&["decrypt", "tampered.env"], None, Exit::Code(25), false);
    s.write(
        "bad.ini",
        &format!("[main]\npassword = {ini_secret}\n[broken\n"),
    );
    s.run(
        &["encrypt", "--age", ALICE, "bad.ini"],
        None,
        Exit::Code(2),
        false,
    );
    s.finish();
}

#[test]
fn render_krm_and_external_render_failures_print_no_value() {
    let pw = "render-Rr12-password".to_owned();
    let user = "ext-Uu11-user".to_owned();
    let ext_pw = "ext-Pw22-password".to_owned();
    let not_json = "extraw-Nj33-notjson".to_owned();
    let secrets = vec![pw.clone(), user.clone(), ext_pw.clone(), not_json.clone()];
    let mut s = Scene::new(&secrets);

    // A SOPS-encrypted Secret manifest in a directory, then the same with a bad MAC.
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: {pw}\n"
    );
    s.write("plain/secret.yaml", &manifest);
    let enc = s.run(
        &[
            "encrypt",
            "--age",
            ALICE,
            "--encrypted-regex",
            "^(data|stringData)$",
            "plain/secret.yaml",
        ],
        None,
        Exit::Success,
        false,
    );
    let enc = String::from_utf8(enc.stdout).unwrap();
    s.write("app/secret.enc.yaml", &enc);
    s.run(&["render", "app"], None, Exit::Success, true);
    s.write("bad/secret.enc.yaml", &tamper_first_value(&enc));
    s.run(&["render", "bad"], None, Exit::Code(25), false);
    let mac_at = enc.find("mac: ENC[AES256_GCM,data:").unwrap() + 30;
    let mut bad_mac = enc.clone().into_bytes();
    bad_mac[mac_at] = if bad_mac[mac_at] == b'A' { b'B' } else { b'A' };
    s.write(
        "badmac/secret.enc.yaml",
        &String::from_utf8(bad_mac).unwrap(),
    );
    s.run(&["render", "badmac"], None, Exit::Code(51), false);
    // No identity at all.
    let mut anonymous = s.sealbox();
    anonymous.env_remove("SOPS_AGE_KEY_FILE");
    s.run_with(anonymous, &["render", "app"], None, Exit::Code(128), false);
    // The KRM function over the tampered file.
    let list = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig:\n  apiVersion: sealbox.dev/v1alpha1\n  kind: SopsGenerator\n  metadata: {name: gen}\n  files: [./bad/secret.enc.yaml]\n";
    s.run(&["krm"], Some(list.as_bytes()), Exit::Code(25), false);

    // external render with the fake provider.
    s.write(
        "store.yaml",
        &format!(
            "apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: {{name: fake, namespace: app}}\nspec:\n  provider:\n    fake:\n      data:\n      - key: app/db\n        value: '{{\"user\":\"{user}\",\"password\":\"{ext_pw}\"}}'\n      - key: app/raw\n        value: '{not_json}'\n"
        ),
    );
    let es = |name: &str, spec: &str| {
        format!(
            "apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {{name: {name}, namespace: app}}\nspec:\n  secretStoreRef: {{name: fake}}\n{spec}"
        )
    };
    s.write(
        "good.yaml",
        &es(
            "good",
            "  target:\n    template:\n      data:\n        dsn: \"pg://{{ .user }}:{{ .password }}@db\"\n  dataFrom:\n  - extract: {key: app/db}\n",
        ),
    );
    s.run(
        &["external", "render", "good.yaml", "--store", "store.yaml"],
        None,
        Exit::Success,
        true,
    );
    for (name, spec, code) in [
        // A template that fails with the value as its message (sprig's `fail`).
        (
            "fail",
            "  target:\n    template:\n      data:\n        x: \"{{ fail .password }}\"\n  dataFrom:\n  - extract: {key: app/db}\n",
            17,
        ),
        // A value that is not JSON, extracted as if it were.
        ("notjson", "  dataFrom:\n  - extract: {key: app/raw}\n", 21),
        // A missing remote key.
        (
            "missing",
            "  data:\n  - secretKey: k\n    remoteRef: {key: app/nope}\n",
            21,
        ),
    ] {
        let file = format!("{name}.yaml");
        s.write(&file, &es(name, spec));
        s.run(
            &["external", "render", &file, "--store", "store.yaml"],
            None,
            Exit::Code(code),
            false,
        );
    }
    s.finish();
}

/// The helper itself is not a test that cannot fail: a command that does print a value is
/// caught (`decrypt` scanned as if its stdout had not been asked for).
#[test]
fn a_printed_value_is_caught() {
    let secret = "caught-Cc77-value".to_owned();
    let mut s = Scene::new(std::slice::from_ref(&secret));
    s.write("p.yaml", &format!("k: {secret}\n"));
    let enc = s.run(
        &["encrypt", "--age", ALICE, "p.yaml"],
        None,
        Exit::Success,
        false,
    );
    s.write("e.yaml", &String::from_utf8(enc.stdout).unwrap());
    s.run(&["decrypt", "e.yaml"], None, Exit::Success, false);
    s.run(
        &["decrypt", "--output-type", "json", "e.yaml"],
        None,
        Exit::Success,
        false,
    );
    let findings = s.scan.findings();
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|f| f.location.starts_with("stdout of `sealbox decrypt"))
    );
}
