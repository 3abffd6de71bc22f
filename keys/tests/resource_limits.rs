//! Resource limits of every parser of untrusted input in `sealbox-keys`: YAML bombs (billion
//! laughs, scalar amplification), deep nesting, document storms, node floods and absurd
//! flattened metadata are refused quickly with an error naming the limit; real-sized files
//! (1 MB / 10,000 keys) pass; the deepest accepted input is processed within a 2 MiB thread
//! stack (tokio's default) in a debug build.
//!
//! Every bomb runs under a wall-clock bound: a limit that is checked *after* the expansion
//! would fail these by time (or memory), not only by error kind.

use std::time::{Duration, Instant};

use sealbox_keys::limits::{Limit, LimitExceeded, Limits, check_json, check_yaml, saphyr_options};
use sealbox_keys::sealing::backup::{ImportError, import_keys};
use sealbox_keys::sops::config::SopsConfig;
use sealbox_keys::sops::{
    EncryptOptions, Format, Identities, OpenedFile, Recipient, SopsError, StoreOptions, encrypt,
};

const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

/// Generous: the bombs below would take minutes and gigabytes without the limits (the
/// 6-level billion laughs took 68 s before them). A debug build on a loaded 2-core machine
/// needed 6–8 s for the slowest refusal, so 5 s was too tight; 20 s still catches a limit
/// checked only after the expansion.
const QUICK: Duration = Duration::from_secs(20);

fn ids() -> Identities {
    let mut ids = Identities::new();
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sops/keys/alice.agekey"
    ))
    .unwrap();
    ids.add_age_keys(&key, "alice.agekey").unwrap();
    ids
}

fn opts() -> EncryptOptions {
    EncryptOptions {
        key_groups: vec![vec![Recipient::parse(ALICE).unwrap()]],
        ..Default::default()
    }
}

fn sops_encrypt(input: &str, format: Format) -> Result<Vec<u8>, SopsError> {
    encrypt(
        input.as_bytes(),
        format,
        &opts(),
        1_800_000_000,
        &mut rand::thread_rng(),
    )
}

fn sops_open(input: &[u8], format: Format) -> Result<OpenedFile, SopsError> {
    OpenedFile::open(input, format, &ids(), false, StoreOptions::default())
}

/// Run `f` and check it is refused in time with `limit`, and that the message names it.
fn refused<T>(what: &str, limit: Limit, f: impl FnOnce() -> Result<T, SopsError>) {
    let start = Instant::now();
    let err = match f() {
        Ok(_) => panic!("{what}: accepted, expected refusal by {limit}"),
        Err(e) => e,
    };
    let took = start.elapsed();
    assert!(took < QUICK, "{what}: refused only after {took:?}");
    match &err {
        SopsError::Limit { source, .. } => assert_eq!(source.limit, limit, "{what}: {err}"),
        other => panic!("{what}: expected a {limit} limit error, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("resource limit {limit} exceeded")),
        "{what}: {msg}"
    );
    assert_eq!(err.sops_exit_code(), 1, "{what}");
}

/// The classic "billion laughs": 9 levels of 10 aliases each = 10^9 leaves.
fn billion_laughs() -> String {
    let mut s = String::from("l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..10 {
        let prev = format!("*l{}", i - 1);
        let refs = [prev.as_str(); 10].join(", ");
        s.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
    }
    s
}

/// One 1 MiB scalar referenced 200 times: 200 MiB of copies from a 1 MiB file.
fn scalar_amplification() -> String {
    format!(
        "big: &big {}\ncopies: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*big"; 200].join(", ")
    )
}

#[test]
fn yaml_bombs_are_refused_before_expansion() {
    refused("billion laughs, encrypt", Limit::Nodes, || {
        sops_encrypt(&billion_laughs(), Format::Yaml)
    });
    refused("scalar amplification, encrypt", Limit::AliasBytes, || {
        sops_encrypt(&scalar_amplification(), Format::Yaml)
    });
    // The same bombs inside an *encrypted* file (a hostile pull request): appending a
    // `sops:` block is enough to reach the encrypted-file parser.
    let enc = sops_encrypt("a: 1\n", Format::Yaml).unwrap();
    let enc = String::from_utf8(enc).unwrap();
    let meta = &enc[enc.find("sops:").unwrap()..];
    refused("billion laughs, decrypt", Limit::Nodes, || {
        sops_open(
            format!("{}{meta}", billion_laughs()).as_bytes(),
            Format::Yaml,
        )
    });
    refused("scalar amplification, decrypt", Limit::AliasBytes, || {
        sops_open(
            format!("{}{meta}", scalar_amplification()).as_bytes(),
            Format::Yaml,
        )
    });
}

#[test]
fn deep_nesting_is_refused_in_every_structured_store() {
    let deep_yaml = format!("a: {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    refused("deep flow YAML", Limit::Depth, || {
        sops_encrypt(&deep_yaml, Format::Yaml)
    });
    let mut block = String::new();
    for i in 0..150 {
        block.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
    }
    block.push_str(&format!("{}leaf: x\n", "  ".repeat(150)));
    refused("deep block YAML", Limit::Depth, || {
        sops_encrypt(&block, Format::Yaml)
    });
    let deep_json = format!("{{\"a\": {}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
    refused("deep JSON (plain)", Limit::Depth, || {
        sops_encrypt(&deep_json, Format::Json)
    });
    refused("deep JSON (encrypted)", Limit::Depth, || {
        sops_open(deep_json.as_bytes(), Format::Json)
    });
    // Depth reached through aliases counts too: every line is one level deeper than the one
    // before, although the text itself never nests more than two levels.
    let mut via_alias = String::from("d0: &d0 [x]\n");
    for i in 1..=120 {
        via_alias.push_str(&format!("d{i}: &d{i} [*d{}]\n", i - 1));
    }
    refused("depth through aliases", Limit::Depth, || {
        sops_encrypt(&via_alias, Format::Yaml)
    });
}

#[test]
fn document_storms_and_node_floods_are_refused() {
    let storm = "a: 1\n---\n".repeat(10_001);
    refused("10,001 YAML documents", Limit::Documents, || {
        sops_encrypt(&storm, Format::Yaml)
    });
    let flood = format!("{{\"a\": [{}0]}}", "0,".repeat(1_000_000));
    refused("1,000,001 JSON values", Limit::Nodes, || {
        sops_encrypt(&flood, Format::Json)
    });
    let lines = "A=1\n".repeat(1_000_001);
    refused("1,000,001 dotenv lines", Limit::Nodes, || {
        sops_encrypt(&lines, Format::Dotenv)
    });
    let ini = format!("[s]\n{}", "k=v\n".repeat(1_000_001));
    refused("1,000,001 INI lines", Limit::Nodes, || {
        sops_encrypt(&ini, Format::Ini)
    });
}

#[test]
fn plaintext_larger_than_the_byte_limit_is_refused_without_parsing() {
    let big = format!("a: {}\n", " ".repeat(Limits::DEFAULT.max_input_bytes));
    refused("64 MiB + 4 bytes of YAML", Limit::InputBytes, || {
        sops_encrypt(&big, Format::Yaml)
    });
    let big_env = format!("A={}\n", "x".repeat(Limits::DEFAULT.max_input_bytes));
    refused("64 MiB dotenv", Limit::InputBytes, || {
        sops_encrypt(&big_env, Format::Dotenv)
    });
}

/// dotenv / INI carry the metadata flattened (`sops_age__list_0__map_enc=…`): an index or a
/// nesting no real file has must not allocate or recurse accordingly.
#[test]
fn absurd_flattened_metadata_is_refused() {
    let enc = sops_encrypt("A=1\n", Format::Dotenv).unwrap();
    let enc = String::from_utf8(enc).unwrap();
    for (what, line) in [
        ("huge list index", "sops_kms__list_99999999999=x".to_owned()),
        (
            "list index at usize::MAX",
            "sops_kms__list_18446744073709551615=x".to_owned(),
        ),
    ] {
        let start = Instant::now();
        let err = sops_open(format!("{enc}{line}\n").as_bytes(), Format::Dotenv).unwrap_err();
        assert!(start.elapsed() < QUICK, "{what}");
        match &err {
            SopsError::InvalidMetadata { field, reason } => {
                assert!(field.starts_with("kms__list_"), "{what}: {err}");
                assert!(reason.contains("out of range"), "{what}: {err}");
            }
            other => panic!("{what}: {other:?}"),
        }
    }
    let deep = format!("sops_x{}=v", "__map_k".repeat(200));
    refused("metadata key 200 levels deep", Limit::Depth, || {
        sops_open(format!("{enc}{deep}\n").as_bytes(), Format::Dotenv)
    });
    let many: String = (0..10_001).map(|i| format!("sops_extra{i}=x\n")).collect();
    let start = Instant::now();
    let err = sops_open(format!("{enc}{many}").as_bytes(), Format::Dotenv).unwrap_err();
    assert!(start.elapsed() < QUICK);
    assert!(
        err.to_string().contains("sealbox reads at most 10000"),
        "{err}"
    );
    // The INI store reads the same flattened form from its [sops] section.
    let ini = String::from_utf8(sops_encrypt("[s]\nk=v\n", Format::Ini).unwrap()).unwrap();
    let err = sops_open(
        format!("{ini}kms__list_99999999999 = x\n").as_bytes(),
        Format::Ini,
    )
    .unwrap_err();
    assert!(
        matches!(&err, SopsError::InvalidMetadata { reason, .. } if reason.contains("out of range")),
        "{err}"
    );
}

#[test]
fn sops_config_and_key_backups_are_bounded() {
    let start = Instant::now();
    let err = SopsConfig::parse(&format!("creation_rules: []\n{}", billion_laughs())).unwrap_err();
    assert!(start.elapsed() < QUICK);
    assert!(
        matches!(&err, SopsError::Config(m) if m.contains("resource limit max_nodes exceeded")),
        "{err}"
    );
    assert_eq!(err.sops_exit_code(), 5);
    let err = SopsConfig::parse(&scalar_amplification()).unwrap_err();
    assert!(
        err.to_string()
            .contains("resource limit max_alias_bytes exceeded"),
        "{err}"
    );

    let start = Instant::now();
    let bomb = format!("apiVersion: v1\nkind: List\n{}", billion_laughs());
    let err = import_keys(&bomb).unwrap_err();
    assert!(start.elapsed() < QUICK);
    assert!(
        matches!(
            &err,
            ImportError::Limit(LimitExceeded {
                limit: Limit::Nodes,
                ..
            })
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("key import refused: resource limit max_nodes")
    );
    let err = import_keys(&scalar_amplification()).unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::Limit(LimitExceeded {
                limit: Limit::AliasBytes,
                ..
            })
        ),
        "{err}"
    );
    let err = import_keys(&"kind: Secret\n---\n".repeat(10_001)).unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::Limit(LimitExceeded {
                limit: Limit::Documents,
                ..
            })
        ),
        "{err}"
    );
}

/// Manifests (SealedSecrets from files and from the cluster) are parsed with serde-saphyr:
/// the shared options must stop the same bombs, and `check_yaml` must stop the scalar
/// amplification serde-saphyr's budget does not measure.
#[test]
fn serde_saphyr_with_the_shared_options_stops_bombs() {
    type Value = serde_json::Value;
    let start = Instant::now();
    let err = serde_saphyr::from_str_with_options::<Value>(
        &billion_laughs(),
        saphyr_options(&Limits::DEFAULT),
    )
    .unwrap_err();
    assert!(start.elapsed() < QUICK, "{err}");
    let deep = format!("a: {}1{}\n", "[".repeat(1000), "]".repeat(1000));
    assert!(
        serde_saphyr::from_str_with_options::<Value>(&deep, saphyr_options(&Limits::DEFAULT))
            .is_err()
    );
    assert_eq!(
        check_yaml(&scalar_amplification(), &Limits::DEFAULT)
            .unwrap_err()
            .limit,
        Limit::AliasBytes
    );
    assert_eq!(
        check_yaml(&deep, &Limits::DEFAULT).unwrap_err().limit,
        Limit::Depth
    );
    // A real manifest stream passes both.
    let manifests = "apiVersion: v1\nkind: Secret\nmetadata: {name: a, labels: &l {x: y}, annotations: *l}\n---\nkind: Secret\nmetadata: {name: b}\n";
    check_yaml(manifests, &Limits::DEFAULT).unwrap();
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple_with_options(manifests, saphyr_options(&Limits::DEFAULT))
            .unwrap();
    assert_eq!(docs.len(), 2);
}

fn value(i: usize) -> String {
    // 86 characters, like shared/tools/sops_perf.py and the criterion bench.
    format!(
        "{i:08}{}",
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnop"
    )
}

#[test]
fn real_sized_files_pass_the_limits() {
    let mut yaml = String::new();
    let mut json = String::from("{\n");
    for s in 0..100 {
        yaml.push_str(&format!("section_{s:03}:\n"));
        json.push_str(&format!("  \"section_{s:03}\": {{\n"));
        for k in 0..100 {
            yaml.push_str(&format!("    key_{k:03}: {}\n", value(s * 100 + k)));
            let comma = if k < 99 { "," } else { "" };
            json.push_str(&format!(
                "    \"key_{k:03}\": \"{}\"{comma}\n",
                value(s * 100 + k)
            ));
        }
        json.push_str(if s < 99 { "  },\n" } else { "  }\n" });
    }
    json.push_str("}\n");
    assert!(yaml.len() > 1_000_000 && json.len() > 1_000_000);
    for (format, text) in [(Format::Yaml, &yaml), (Format::Json, &json)] {
        let start = Instant::now();
        let enc = sops_encrypt(text, format).unwrap();
        let opened = sops_open(&enc, format).unwrap();
        assert!(opened.plaintext().len() >= 1_000_000);
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{format:?}: {:?}",
            start.elapsed()
        );
    }
    check_yaml(&yaml, &Limits::DEFAULT).unwrap();
    check_json(json.as_bytes(), &Limits::DEFAULT).unwrap();
    // Aliases used the way people do (a shared block referenced a few hundred times).
    let mut shared = String::from("base: &base {image: app, replicas: 2, env: [a, b, c]}\n");
    for i in 0..500 {
        shared.push_str(&format!("svc{i}: *base\n"));
    }
    check_yaml(&shared, &Limits::DEFAULT).unwrap();
}

/// Work must grow linearly with the input, or a file under every limit is still a denial of
/// service: an INI section of n keys used to cost n² (a repeated key replaces the earlier one,
/// and each key was looked up by a linear scan: 23 s for 40,000 keys in a debug build).
/// Compared as a ratio, so the test does not depend on the machine's speed.
#[test]
fn parsing_a_large_ini_section_is_linear() {
    let section = |n: usize| -> String {
        std::iter::once("[s]\n".to_owned())
            .chain((0..n).map(|i| format!("key{i} = value\n")))
            .collect()
    };
    let time = |text: &str| {
        let start = Instant::now();
        let (tree, _) = sealbox_keys::sops::flat::ini_parse(text.as_bytes(), false).unwrap();
        drop(tree);
        start.elapsed()
    };
    let (small, large) = (section(20_000), section(160_000));
    time(&small); // warm up the allocator
    let ratio = time(&large).as_secs_f64() / time(&small).as_secs_f64().max(1e-6);
    // Linear: about 8; quadratic: about 64.
    assert!(ratio < 24.0, "8x the keys took {ratio:.1}x the time");
    // Repeated keys still replace the earlier value, in the first one's place.
    use sealbox_keys::sops::{MapItem, Node, Plain, Scalar, tree::Sealed};
    let (tree, _) =
        sealbox_keys::sops::flat::ini_parse(b"[s]\na = 1\nb = 2\na = 3\n", false).unwrap();
    let Node::Map(sections) = tree else { panic!() };
    let Some(MapItem::Entry(_, Node::Map(items))) = sections.last() else {
        panic!()
    };
    let pairs: Vec<(String, String)> = items
        .iter()
        .filter_map(|i| match i {
            MapItem::Entry(k, Node::Leaf(Sealed::Clear(Plain::Value(Scalar::Str(v))), _)) => {
                Some((k.clone(), v.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("a".to_owned(), "3".to_owned()),
            ("b".to_owned(), "2".to_owned())
        ]
    );
}

/// The deepest input the limits accept goes through encrypt and decrypt on a thread with a
/// 2 MiB stack (tokio's worker default), in whatever profile the tests are built.
#[test]
fn the_deepest_accepted_input_fits_a_small_stack() {
    let depth = Limits::DEFAULT.max_depth;
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            // depth nested mappings in block style, innermost value a string
            let mut yaml = String::new();
            for i in 0..depth - 1 {
                yaml.push_str(&format!("{}k{i}:\n", "  ".repeat(i)));
            }
            yaml.push_str(&format!("{}leaf: secret\n", "  ".repeat(depth - 1)));
            let enc = sops_encrypt(&yaml, Format::Yaml).unwrap();
            let opened = sops_open(&enc, Format::Yaml).unwrap();
            assert_eq!(opened.plaintext(), yaml.as_bytes());

            let json = format!(
                "{}\"secret\"{}",
                "{\"k\": ".repeat(depth),
                "}".repeat(depth)
            );
            let enc = sops_encrypt(&json, Format::Json).unwrap();
            sops_open(&enc, Format::Json).unwrap();
        })
        .unwrap()
        .join()
        .expect("deepest accepted input overflowed a 2 MiB stack");
}
