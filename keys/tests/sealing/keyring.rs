//! The keyring: ordering, the unseal order with a hint, and the rotation policy driven by
//! an injected clock.

use jiff::{SignedDuration, Timestamp};
use sealbox_keys::sealing::{
    Certificate, CertificateOptions, Clock, FixedClock, KeyId, KeySize, Keyring, Label, OpenError,
    PrivateKey, RotationPolicy, Scope, SealingKey, envelope,
};

use crate::support::*;

fn small_key(name: &str, not_before: Timestamp) -> SealingKey {
    SealingKey::generate(
        name,
        KeySize::Rsa2048,
        &CertificateOptions::starting_at(not_before),
    )
    .expect("generate")
}

fn fast_policy() -> RotationPolicy {
    RotationPolicy {
        key_size: KeySize::Rsa2048,
        ..RotationPolicy::default()
    }
}

#[test]
fn newest_certificate_seals_and_iteration_is_newest_first() {
    let t0 = Timestamp::from_second(1_700_000_000).unwrap();
    let old = small_key("old", t0);
    let new = small_key("new", t0 + SignedDuration::from_hours(24));
    let mid = small_key("mid", t0 + SignedDuration::from_hours(12));
    let ring = Keyring::from_keys([old, new, mid]);
    let names: Vec<&str> = ring.iter().map(SealingKey::name).collect();
    assert_eq!(names, ["new", "mid", "old"]);
    assert_eq!(ring.newest().unwrap().name(), "new");
}

#[test]
fn fixture_controller_keys_order_by_not_before() {
    let ring = controller_keyring();
    let not_befores: Vec<Timestamp> = ring.iter().map(SealingKey::not_before).collect();
    assert!(not_befores.windows(2).all(|w| w[0] >= w[1]));
    // expected.json names the current (most recent) key by role.
    let newest_id = expected()["keys"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, k)| {
            k["in_controller"] == true && k["role"].as_str().is_some_and(|r| r.contains("current"))
        })
        .map(|(id, _)| id.clone());
    if let Some(id) = newest_id {
        assert_eq!(
            ring.newest().unwrap().key_id().as_str(),
            fingerprint_of(&id)
        );
    }
}

#[test]
fn duplicate_keys_are_dropped() {
    let mut ring = controller_keyring();
    let before = ring.len();
    let again = sealing_key(&controller_key_ids()[0]);
    assert!(!ring.insert(again));
    assert_eq!(ring.len(), before);
}

#[test]
fn open_uses_the_hint_and_reports_which_key_opened() {
    let ring = controller_keyring();
    let label = Label::new(Scope::Strict, "ns", "name");
    for key in ring.iter() {
        let blob = envelope::seal(
            &mut rand::thread_rng(),
            key.certificate().public_key(),
            &label,
            b"v",
        )
        .unwrap();
        // No hint, the right hint, a wrong hint, an unknown hint: all open, all name the key.
        let unknown: KeyId = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
            .parse()
            .unwrap();
        for hint in [
            None,
            Some(key.key_id()),
            Some(ring.newest().unwrap().key_id()),
            Some(&unknown),
        ] {
            let opened = ring.open(&label, &blob, hint).expect("opens");
            assert_eq!(opened.plaintext.as_slice(), b"v");
            assert_eq!(&opened.key_id, key.key_id());
        }
        let debug = format!("{:?}", ring.open(&label, &blob, None).unwrap());
        assert!(debug.contains("redacted"), "{debug}");
    }
}

#[test]
fn an_empty_keyring_opens_nothing_with_the_uniform_error() {
    let ring = Keyring::new();
    let err = ring
        .open(&Label::new(Scope::ClusterWide, "", ""), b"\x02\x00", None)
        .unwrap_err();
    assert_eq!(err, OpenError::NoKeyCouldDecrypt);
}

#[test]
fn rotation_policy_follows_renew_period_cutoff_and_disable() {
    let t0 = Timestamp::from_second(1_700_000_000).unwrap();
    let clock = FixedClock::new(t0);
    let policy = fast_policy();
    let mut ring = Keyring::new();
    assert!(
        policy.is_due(&ring, clock.now()),
        "an empty keyring needs a key"
    );
    let first = ring
        .rotate_if_due(&policy, &clock)
        .unwrap()
        .expect("first key");
    assert_eq!(first.not_before(), t0);
    assert!(first.name().starts_with("sealed-secrets-key"));
    assert_eq!(first.name().len(), "sealed-secrets-key".len() + 5);
    let first_id = first.key_id().clone();

    clock.advance(SignedDuration::from_hours(719));
    assert!(
        ring.rotate_if_due(&policy, &clock).unwrap().is_none(),
        "29d23h: not yet"
    );
    clock.advance(SignedDuration::from_hours(1));
    assert_eq!(
        policy.next_due(&ring),
        Some(t0 + SignedDuration::from_hours(720))
    );
    let second = ring
        .rotate_if_due(&policy, &clock)
        .unwrap()
        .expect("30 days: new key");
    assert_eq!(second.not_before(), clock.now());
    let second_id = second.key_id().clone();
    assert_eq!(ring.len(), 2);
    assert_eq!(ring.newest().unwrap().key_id(), &second_id, "new key seals");
    assert!(ring.get(&first_id).is_some(), "old key kept for unsealing");

    // Renewal disabled: never due while a key exists.
    let disabled = RotationPolicy {
        renew_period: None,
        ..fast_policy()
    };
    clock.advance(SignedDuration::from_hours(24 * 365));
    assert!(!disabled.is_due(&ring, clock.now()));
    assert_eq!(disabled.next_due(&ring), None);

    // Cutoff: due as soon as the newest key predates it.
    let cutoff = RotationPolicy {
        renew_period: None,
        cutoff: Some(clock.now()),
        ..fast_policy()
    };
    assert!(cutoff.is_due(&ring, clock.now()));
    ring.rotate_if_due(&cutoff, &clock)
        .unwrap()
        .expect("cutoff forces a key");
    assert!(
        !cutoff.is_due(&ring, clock.now()),
        "newest is now at the cutoff"
    );
}

#[test]
fn sealing_key_refuses_a_certificate_of_another_key() {
    let a = PrivateKey::generate(KeySize::Rsa2048).unwrap();
    let b = PrivateKey::generate(KeySize::Rsa2048).unwrap();
    let cert_b =
        Certificate::self_signed(&b, &CertificateOptions::starting_at(Timestamp::now())).unwrap();
    assert!(SealingKey::new("x", a, cert_b).is_err());
}

/// `--key-order-priority SecretCreationTimestamp`: an ordering time replaces the certificate
/// NotBefore for which key seals and when the next key is due.
#[test]
fn an_ordering_time_overrides_not_before_for_sealing_and_renewal() {
    let by_not_before = controller_keyring();
    assert!(by_not_before.len() >= 2, "fixture has several keys");
    let oldest_by_cert = by_not_before.iter().last().unwrap().key_id().clone();
    let t0 = Timestamp::from_second(1_800_000_000).unwrap();
    // Give the oldest certificate the latest ordering time, the others earlier ones.
    let ids = controller_key_ids();
    let keys = ids.iter().map(|id| {
        let key = sealing_key(id);
        let when = if *key.key_id() == oldest_by_cert {
            t0
        } else {
            t0 - SignedDuration::from_hours(1)
        };
        key.with_ordering_time(when)
    });
    let ring = Keyring::from_keys(keys);
    let newest = ring.newest().unwrap();
    assert_eq!(
        newest.key_id(),
        &oldest_by_cert,
        "the ordering time decides"
    );
    assert_eq!(newest.ordering_time(), t0);
    assert!(newest.not_before() < t0, "NotBefore itself is unchanged");
    assert_eq!(
        fast_policy().next_due(&ring),
        Some(t0 + SignedDuration::from_hours(720)),
        "renewal counts from the ordering time"
    );
    let cutoff = RotationPolicy {
        cutoff: Some(t0 + SignedDuration::from_secs(1)),
        ..fast_policy()
    };
    assert_eq!(
        cutoff.next_due(&ring),
        Some(t0),
        "cutoff compares the ordering time"
    );
}
