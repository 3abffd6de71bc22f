//! Property: for generated YAML documents with comments and odd layout, sealbox's encrypt
//! followed by its decrypt gives back the original bytes exactly, and the encrypted text
//! keeps every line that holds no encrypted value unchanged.

use proptest::prelude::*;
use sealbox_keys::sops::{
    EncryptOptions, Format, Identities, OpenedFile, Recipient, StoreOptions, encrypt,
};

const ALICE_PUB: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

fn alice() -> Identities {
    let mut ids = Identities::new();
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sops/keys/alice.agekey"
    ))
    .unwrap();
    ids.add_age_keys(&key, "alice.agekey").unwrap();
    ids
}

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}".prop_filter("not sops", |k| k != "sops")
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9 ._/-]{0,12}[a-zA-Z0-9]".prop_map(|s| s),
        "[a-z0-9 ]{0,10}".prop_map(|s| format!("\"{s}\"")),
        "[a-z0-9 ]{0,10}".prop_map(|s| format!("'{s}'")),
        (0i64..100000).prop_map(|i| i.to_string()),
        Just("true".to_string()),
        Just("~".to_string()),
        Just("yes".to_string()),
        Just("\"\"".to_string()),
        "[a-z]{1,6}".prop_map(|s| format!("[{s}, \"{s}\", 1]")),
        "[a-z]{1,6}".prop_map(|s| format!("{{a: {s}, b: 2}}")),
    ]
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z ]{0,10}".prop_map(|c| format!("  # {c}")),
        "[a-z]{0,6}".prop_map(|c| format!(" #{c}"))
    ]
}

/// A block mapping at `indent` with nested maps, lists, blank lines and comments.
fn doc() -> impl Strategy<Value = String> {
    let entry = (
        key(),
        scalar(),
        comment(),
        any::<bool>(),
        prop::sample::select(vec![2usize, 3, 4]),
        any::<u8>(),
    );
    prop::collection::vec(entry, 1..8).prop_map(|entries| {
        let mut out = String::new();
        let mut used = std::collections::HashSet::new();
        for (i, (k, v, c, blank, ind, shape)) in entries.into_iter().enumerate() {
            let k = format!("{k}{i}");
            if !used.insert(k.clone()) {
                continue;
            }
            if blank {
                out.push('\n');
            }
            if shape % 5 == 0 {
                out.push_str(&format!("# head comment {i}\n"));
            }
            match shape % 4 {
                0 => out.push_str(&format!(
                    "{k}:{c}\n{}inner: {v}\n{}# inner comment\n{}more_unencrypted: {v}\n",
                    " ".repeat(ind),
                    " ".repeat(ind),
                    " ".repeat(ind)
                )),
                1 => out.push_str(&format!(
                    "{k}:\n{}- {v}{c}\n{}- {v}\n",
                    " ".repeat(ind - 2),
                    " ".repeat(ind - 2)
                )),
                2 => out.push_str(&format!(
                    "{k}: |\n{}line one {i}\n{}line two\n",
                    " ".repeat(ind),
                    " ".repeat(ind)
                )),
                _ => out.push_str(&format!("{k}: {v}{c}\n")),
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]
    #[test]
    fn encrypt_then_decrypt_is_byte_identical(text in doc()) {
        let mut rng = rand::thread_rng();
        let opts = EncryptOptions { key_groups: vec![vec![Recipient::parse(ALICE_PUB).unwrap()]], ..Default::default() };
        let enc = encrypt(text.as_bytes(), Format::Yaml, &opts, 1_790_000_000, &mut rng).unwrap();
        let enc_text = String::from_utf8(enc.clone()).unwrap();
        // Lines without an encrypted value are untouched (a block scalar's header becomes
        // `|-` because the value now sits on the next line as one `ENC[…]`).
        let body = &enc_text[..enc_text.rfind("sops:\n").unwrap()];
        for line in body.lines().filter(|l| !l.contains("ENC[") && !l.ends_with(": |-")) {
            prop_assert!(text.lines().any(|o| o == line), "line changed: {:?}", line);
        }
        let dec = OpenedFile::open(&enc, Format::Yaml, &alice(), false, StoreOptions::default()).unwrap();
        prop_assert_eq!(std::str::from_utf8(dec.plaintext()).unwrap(), text.as_str());
    }
}
