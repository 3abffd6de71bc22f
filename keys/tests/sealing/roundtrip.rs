//! Properties of the envelope: seal→open round trips, scope→label binding, tamper
//! detection, layout, and determinism under an injected RNG.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use sealbox_keys::sealing::{Label, OpenError, PrivateKey, Scope, envelope};

/// A 2048-bit fixture key keeps property tests fast; fixture 4096-bit keys are covered by
/// the data-driven tests.
fn key() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/certs/byo-rsa2048.key.pem");
        PrivateKey::from_pem(&std::fs::read_to_string(path).unwrap()).unwrap()
    })
}

fn dns_label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?"
}

fn scope() -> impl Strategy<Value = Scope> {
    prop_oneof![
        Just(Scope::Strict),
        Just(Scope::NamespaceWide),
        Just(Scope::ClusterWide)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn seal_then_open_returns_the_plaintext(
        plaintext in proptest::collection::vec(any::<u8>(), 0..4096),
        scope in scope(),
        ns in dns_label(),
        name in dns_label(),
    ) {
        let label = Label::new(scope, &ns, &name);
        let b64 = envelope::seal_to_base64(&mut rand::thread_rng(), key().public_key(), &label, &plaintext).unwrap();
        let blob = envelope::decode_base64(&b64).unwrap();
        let opened = envelope::open(key(), &label, &blob).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
        // Layout: u16be(len R) ‖ R ‖ C ‖ tag.
        let k = key().bits() / 8;
        prop_assert_eq!(&blob[..2], &(k as u16).to_be_bytes()[..]);
        prop_assert_eq!(blob.len(), 2 + k + plaintext.len() + envelope::TAG_LEN);
    }

    #[test]
    fn the_label_is_exactly_the_scope_rule(scope in scope(), ns in dns_label(), name in dns_label()) {
        let label = Label::new(scope, &ns, &name);
        let want = match scope {
            Scope::Strict => format!("{ns}/{name}"),
            Scope::NamespaceWide => ns.clone(),
            Scope::ClusterWide => String::new(),
        };
        prop_assert_eq!(label.as_str(), want.as_str());
        // Scope round-trips through its annotations, as the unsealer reads it back.
        let mut annotations = std::collections::BTreeMap::new();
        scope.write_annotations(&mut annotations);
        prop_assert_eq!(Scope::from_annotations(Some(&annotations)), scope);
        prop_assert_eq!(Label::for_object(Some(&ns), Some(&name), Some(&annotations)), label);
    }

    #[test]
    fn a_value_does_not_open_under_another_namespace_or_name(
        ns in dns_label(), name in dns_label(), other in dns_label(),
    ) {
        prop_assume!(ns != other);
        let strict = Label::new(Scope::Strict, &ns, &name);
        let blob = envelope::seal(&mut rand::thread_rng(), key().public_key(), &strict, b"secret").unwrap();
        for wrong in [
            Label::new(Scope::Strict, &other, &name),
            Label::new(Scope::Strict, &ns, &format!("{name}x")),
            Label::new(Scope::NamespaceWide, &ns, &name),
            Label::new(Scope::ClusterWide, &ns, &name),
        ] {
            prop_assert_eq!(envelope::open(key(), &wrong, &blob).unwrap_err(), OpenError::NoKeyCouldDecrypt);
        }
    }

    #[test]
    fn any_flipped_bit_or_truncation_is_refused_with_one_error(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
        cut in any::<prop::sample::Index>(),
    ) {
        let label = Label::new(Scope::NamespaceWide, "ns", "");
        let blob = envelope::seal(&mut rand::thread_rng(), key().public_key(), &label, &plaintext).unwrap();
        let mut tampered = blob.clone();
        let i = position.index(tampered.len());
        tampered[i] ^= 1 << bit;
        prop_assert_eq!(envelope::open(key(), &label, &tampered).unwrap_err(), OpenError::NoKeyCouldDecrypt);
        let truncated = &blob[..cut.index(blob.len())];
        prop_assert_eq!(envelope::open(key(), &label, truncated).unwrap_err(), OpenError::NoKeyCouldDecrypt);
    }
}

#[test]
fn an_injected_rng_makes_sealing_deterministic() {
    let label = Label::new(Scope::Strict, "ns", "n");
    let a = envelope::seal(
        &mut StdRng::seed_from_u64(7),
        key().public_key(),
        &label,
        b"x",
    )
    .unwrap();
    let b = envelope::seal(
        &mut StdRng::seed_from_u64(7),
        key().public_key(),
        &label,
        b"x",
    )
    .unwrap();
    let c = envelope::seal(
        &mut StdRng::seed_from_u64(8),
        key().public_key(),
        &label,
        b"x",
    )
    .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn large_values_round_trip() {
    let label = Label::new(Scope::ClusterWide, "", "");
    let big: Vec<u8> = (0..1_048_576u32).map(|i| (i * 31 % 251) as u8).collect();
    let blob = envelope::seal(&mut rand::thread_rng(), key().public_key(), &label, &big).unwrap();
    assert_eq!(
        envelope::open(key(), &label, &blob).unwrap().as_slice(),
        big.as_slice()
    );
}

#[test]
fn bad_base64_is_reported_as_such() {
    assert!(matches!(
        envelope::decode_base64("not*valid*base64!"),
        Err(OpenError::Base64 { .. })
    ));
    // Unpadded base64 is not Go's StdEncoding either.
    assert!(envelope::decode_base64("Zm9vYg").is_err());
}
