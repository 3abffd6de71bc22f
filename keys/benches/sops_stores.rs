//! 1 MB / 10,000-key YAML and JSON encrypt and decrypt (the input shape of
//! `shared/tools/sops_perf.py`: 100 sections × 100 keys, 86-character values), so the numbers
//! compare with real sops' CPU time on the same documents.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use sealbox_keys::sops::{
    EncryptOptions, Format, Identities, OpenedFile, Recipient, StoreOptions, encrypt,
};

const ALICE_PUB: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

fn value(rng: &mut impl Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..86)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn yaml_doc() -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1234);
    let mut out = String::new();
    for s in 0..100 {
        out.push_str(&format!("section_{s:03}:\n"));
        for k in 0..100 {
            out.push_str(&format!("    key_{k:03}: {}\n", value(&mut rng)));
        }
    }
    out
}

fn json_doc() -> String {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1234);
    let mut out = String::from("{\n");
    for s in 0..100 {
        out.push_str(&format!("  \"section_{s:03}\": {{\n"));
        for k in 0..100 {
            let comma = if k < 99 { "," } else { "" };
            out.push_str(&format!(
                "    \"key_{k:03}\": \"{}\"{comma}\n",
                value(&mut rng)
            ));
        }
        out.push_str(if s < 99 { "  },\n" } else { "  }\n" });
    }
    out.push_str("}\n");
    out
}

fn bench(c: &mut Criterion) {
    let mut ids = Identities::new();
    let key = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/sops/keys/alice.agekey"
    ))
    .unwrap();
    ids.add_age_keys(&key, "alice.agekey").unwrap();
    let opts = EncryptOptions {
        key_groups: vec![vec![Recipient::parse(ALICE_PUB).unwrap()]],
        ..Default::default()
    };
    let mut group = c.benchmark_group("sops_1mb_10k_keys");
    group.sample_size(10);
    for (name, format, doc) in [
        ("yaml", Format::Yaml, yaml_doc()),
        ("json", Format::Json, json_doc()),
    ] {
        let mut rng = rand::thread_rng();
        let enc = encrypt(doc.as_bytes(), format, &opts, 1_790_000_000, &mut rng).unwrap();
        group.bench_function(format!("{name}_encrypt"), |b| {
            b.iter(|| encrypt(doc.as_bytes(), format, &opts, 1_790_000_000, &mut rng).unwrap())
        });
        group.bench_function(format!("{name}_decrypt"), |b| {
            b.iter(|| OpenedFile::open(&enc, format, &ids, false, StoreOptions::default()).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
