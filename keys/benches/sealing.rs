//! Sealed Secrets envelope speed with RSA-4096 (the Bitnami default key size):
//!
//! * `seal/rsa4096` — seal one 64-byte value (RSA-OAEP public op + AES-GCM);
//! * `unseal/rsa4096` — open one 64-byte value with the right key (RSA-OAEP private op,
//!   aws-lc-rs, + AES-GCM): compare with `openssl speed -seconds 3 rsa4096` "sign/s";
//! * `keyring_open_known_key/{1,13}` — open through a keyring of 1 or 13 keys when the key
//!   that worked last is passed as the hint: must be flat in the number of keys;
//! * `keyring_open_no_hint/13_oldest` — the same value without a hint when its key is the
//!   oldest of 13: what trying every key costs (the Bitnami controller's situation).
//!
//! The 12 extra keys are RSA-4096 too (generated once at start-up, which takes a few
//! seconds), so the no-hint case pays a real private-key operation per wrong key.
//! Run: `cargo bench -p sealbox-keys --bench sealing`.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use sealbox_keys::sealing::{
    Certificate, CertificateOptions, KeySize, Keyring, Label, PrivateKey, Scope, SealingKey,
    envelope,
};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/sealed-secrets")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn target_key() -> SealingKey {
    let private = PrivateKey::from_pem(&fixture("sealing-key-1.key.pem")).expect("key");
    let cert = Certificate::from_pem(&fixture("sealing-key-1.cert.pem")).expect("cert");
    SealingKey::new("target", private, cert).expect("pair")
}

fn benches(c: &mut Criterion) {
    let label = Label::new(Scope::Strict, "demo", "db-credentials");
    let value = [0x5au8; 64];
    let target = target_key();
    assert_eq!(target.private_key().bits(), 4096);
    let public = target.certificate().public_key().clone();
    let blob = envelope::seal(&mut rand::thread_rng(), &public, &label, &value).unwrap();

    c.bench_function("seal/rsa4096", |b| {
        b.iter(|| envelope::seal(&mut rand::thread_rng(), black_box(&public), &label, &value))
    });
    c.bench_function("unseal/rsa4096", |b| {
        b.iter(|| envelope::open(black_box(target.private_key()), &label, black_box(&blob)))
    });

    // The target is the oldest key; 12 newer keys sit in front of it.
    let start = target.not_before();
    let fillers: Vec<SealingKey> = (1..=12)
        .map(|i| {
            SealingKey::generate(
                format!("filler{i}"),
                KeySize::Rsa4096,
                &CertificateOptions::starting_at(start + SignedDuration::from_hours(720 * i)),
            )
            .expect("filler key")
        })
        .collect();
    let one = Keyring::from_keys([target_key()]);
    let mut thirteen = Keyring::from_keys(fillers);
    thirteen.insert(target_key());
    assert_eq!(thirteen.len(), 13);
    assert_eq!(thirteen.iter().last().unwrap().key_id(), target.key_id());
    assert!(Timestamp::now() > start);

    let hint = target.key_id().clone();
    let mut group = c.benchmark_group("keyring_open_known_key");
    for (n, ring) in [(1usize, &one), (13, &thirteen)] {
        group.bench_with_input(BenchmarkId::from_parameter(n), ring, |b, ring| {
            b.iter(|| {
                ring.open(&label, black_box(&blob), Some(&hint))
                    .expect("opens")
            })
        });
    }
    group.finish();

    c.bench_function("keyring_open_no_hint/13_oldest", |b| {
        b.iter(|| {
            thirteen
                .open(&label, black_box(&blob), None)
                .expect("opens")
        })
    });
}

criterion_group! {
    name = sealing;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(sealing);
