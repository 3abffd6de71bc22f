//! Shared fixtures and harnesses of the sealbox fuzz targets.
//!
//! Keys are compiled in from the repository's own fixture copies (never from outside the
//! repository), so a target behaves the same wherever it is built. Every harness states the
//! invariant it checks besides "does not panic": e.g. a file sealbox encrypted must decrypt
//! again, an opened sealed value error must be the one uniform error.

use std::sync::OnceLock;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use sealbox_keys::sealing::{Certificate, Keyring, PrivateKey, SealingKey};
use sealbox_keys::sops::{
    EncryptOptions, Format, Identities, OpenedFile, Recipient, SopsError, StoreOptions, encrypt,
};

/// `lastmodified` used by every harness (a fixed time keeps runs reproducible).
pub const NOW_UNIX: i64 = 1_800_000_000;

/// The current Bitnami fixture sealing key (4096 bits; the sealed-secrets fixtures are
/// sealed to it, so seeds taken from them open).
pub fn sealing_key_4096() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::from_pem(include_str!(
            "../../tests/fixtures/sealed-secrets/sealing-key-1.key.pem"
        ))
        .expect("fixture key")
    })
}

/// A 2048-bit key: four times cheaper per RSA operation, so more executions per second.
pub fn sealing_key_2048() -> &'static PrivateKey {
    static KEY: OnceLock<PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        PrivateKey::from_pem(include_str!(
            "../../tests/fixtures/certs/byo-rsa2048.key.pem"
        ))
        .expect("fixture key")
    })
}

/// A keyring holding only the current fixture key (one RSA operation per value).
pub fn keyring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| {
        let private = PrivateKey::from_pem(include_str!(
            "../../tests/fixtures/sealed-secrets/sealing-key-1.key.pem"
        ))
        .expect("fixture key");
        let cert = Certificate::from_pem(include_str!(
            "../../tests/fixtures/sealed-secrets/sealing-key-1.cert.pem"
        ))
        .expect("fixture cert");
        Keyring::from_keys([SealingKey::new("key1", private, cert).expect("pair")])
    })
}

/// The age identities of the SOPS fixture set (alice, bob, carol): every fixture opens.
pub fn identities() -> &'static Identities {
    static IDS: OnceLock<Identities> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut ids = Identities::new();
        for (name, text) in [
            (
                "alice",
                include_str!("../../keys/tests/fixtures/sops/keys/alice.agekey"),
            ),
            (
                "bob",
                include_str!("../../keys/tests/fixtures/sops/keys/bob.agekey"),
            ),
            (
                "carol",
                include_str!("../../keys/tests/fixtures/sops/keys/carol.agekey"),
            ),
        ] {
            ids.add_age_keys(text, name).expect("fixture identity");
        }
        ids
    })
}

/// alice's public key.
pub const ALICE: &str = "age1m4lx3p4p2qfwrlsvd56jp3jlhu3uazpzy378p3ngu39vua2h6q2qpugvds";

/// A deterministic RNG (runs must be reproducible from the crash file alone).
pub fn rng() -> StdRng {
    StdRng::seed_from_u64(0x5ea1_b0c5)
}

fn encrypt_options() -> EncryptOptions {
    EncryptOptions {
        key_groups: vec![vec![Recipient::parse(ALICE).expect("recipient")]],
        ..EncryptOptions::default()
    }
}

fn is_mac_error(e: &SopsError) -> bool {
    matches!(
        e,
        SopsError::MacMismatch { .. } | SopsError::MacUndecryptable(_)
    )
}

/// Re-seal an opened file (what `sops edit` does after a change) and check the result opens
/// to the same plaintext: a file sealbox writes must never become unreadable.
fn reseal_round_trip(file: &mut OpenedFile, format: Format) {
    let before = file.plaintext().to_vec();
    let mut rng = rng();
    let Ok(sealed) = file.seal(NOW_UNIX + 1, &mut rng) else {
        return;
    };
    let reopened = OpenedFile::open(
        &sealed,
        format,
        identities(),
        false,
        StoreOptions::default(),
    )
    .unwrap_or_else(|e| panic!("sealbox re-sealed a {format:?} file it cannot open: {e}"));
    assert_eq!(
        reopened.plaintext(),
        before.as_slice(),
        "re-sealing changed the {format:?} plaintext"
    );
}

/// The harness of every SOPS store: the input as an encrypted file (open, and on a MAC
/// failure open with `--ignore-mac`), then as a plaintext file (encrypt, which must then
/// open again).
pub fn sops_store(data: &[u8], format: Format) {
    match OpenedFile::open(data, format, identities(), false, StoreOptions::default()) {
        Ok(mut file) => reseal_round_trip(&mut file, format),
        Err(e) if is_mac_error(&e) => {
            if let Ok(mut file) =
                OpenedFile::open(data, format, identities(), true, StoreOptions::default())
            {
                let _ = file.emit_as(Format::Json);
                let _ = file.emit_as(Format::Yaml);
                reseal_round_trip(&mut file, format);
            }
        }
        Err(_) => {}
    }
    let mut rng = rng();
    if let Ok(encrypted) = encrypt(data, format, &encrypt_options(), NOW_UNIX, &mut rng) {
        let opened = OpenedFile::open(
            &encrypted,
            format,
            identities(),
            false,
            StoreOptions::default(),
        )
        .unwrap_or_else(|e| panic!("sealbox encrypted a {format:?} file it cannot open: {e}"));
        let _ = opened.emit_as(Format::Dotenv);
    }
}
