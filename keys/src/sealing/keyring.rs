//! The keyring: every sealing key we hold, newest first.
//!
//! Like the Bitnami controller, keys are ordered by their certificate's NotBefore; the
//! newest seals and all of them unseal. Unlike it, unsealing does not try keys in random
//! map order: the caller may name the key that worked last for this object (the blob
//! carries no key id, so that hint is the only way to make the common case one RSA
//! operation), and otherwise keys are tried newest to oldest, because most values were
//! sealed recently.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use rand::Rng as _;
use thiserror::Error;
use zeroize::Zeroizing;

use super::certificate::{Certificate, CertificateOptions, DEFAULT_KEY_TTL};
use super::envelope;
use super::error::{CertificateError, KeyError, OpenError};
use super::fingerprint::KeyId;
use super::private_key::{KeySize, PrivateKey};
use super::scope::Label;

/// The Bitnami controller's default key renewal period (`--key-renew-period 720h`).
pub const DEFAULT_RENEW_PERIOD: SignedDuration = SignedDuration::from_hours(720);

/// The Bitnami controller's default key Secret name prefix (`--key-prefix`).
pub const DEFAULT_KEY_PREFIX: &str = "sealed-secrets-key";

/// Where "now" comes from, so rotation can be tested without waiting 30 days.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to (tests, simulations).
#[derive(Debug)]
pub struct FixedClock {
    now: Mutex<Timestamp>,
}

impl FixedClock {
    /// A clock stopped at `now`.
    pub fn new(now: Timestamp) -> FixedClock {
        FixedClock {
            now: Mutex::new(now),
        }
    }

    /// Move the clock to `now`.
    pub fn set(&self, now: Timestamp) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = now;
    }

    /// Move the clock forward by `by`.
    pub fn advance(&self, by: SignedDuration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.checked_add(by).expect("clock advanced out of range");
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Making a new key failed.
#[derive(Debug, Error)]
pub enum KeyGenerationError {
    /// Key generation failed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Certificate creation failed.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
}

/// One sealing key: the private key, its certificate, and the name of the
/// `kubernetes.io/tls` Secret that stores it.
pub struct SealingKey {
    name: String,
    private: PrivateKey,
    certificate: Certificate,
    /// Replaces the certificate NotBefore as the key's place in the order (the Bitnami
    /// controller's `--key-order-priority SecretCreationTimestamp`).
    ordering_time: Option<Timestamp>,
}

impl SealingKey {
    /// Pair a private key with its certificate. Fails if the certificate is for another key.
    pub fn new(
        name: impl Into<String>,
        private: PrivateKey,
        certificate: Certificate,
    ) -> Result<SealingKey, KeyError> {
        if certificate.public_key() != private.public_key() {
            return Err(KeyError::InvalidKey {
                label: "CERTIFICATE".to_owned(),
                expected: "certificate for the same key as tls.key",
            });
        }
        Ok(SealingKey {
            name: name.into(),
            private,
            certificate,
            ordering_time: None,
        })
    }

    /// Generate a new key and self-signed certificate like the controller does.
    pub fn generate(
        name: impl Into<String>,
        size: KeySize,
        options: &CertificateOptions,
    ) -> Result<SealingKey, KeyGenerationError> {
        let private = PrivateKey::generate(size)?;
        let certificate = Certificate::self_signed(&private, options)?;
        Ok(SealingKey::new(name, private, certificate)?)
    }

    /// A Kubernetes `generateName`-style name: `prefix` plus five random characters from
    /// the apiserver's alphabet (no vowels, no look-alikes), e.g. `sealed-secrets-keyq7x2m`.
    pub fn generate_name(prefix: &str) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut rng = rand::thread_rng();
        let suffix: String = (0..5)
            .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
            .collect();
        format!("{prefix}{suffix}")
    }

    /// Name of the key Secret.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Fingerprint (the controller's key id).
    pub fn key_id(&self) -> &KeyId {
        self.private.key_id()
    }

    /// The private key.
    pub fn private_key(&self) -> &PrivateKey {
        &self.private
    }

    /// The certificate sealers use.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// Certificate NotBefore.
    pub fn not_before(&self) -> Timestamp {
        self.certificate.not_before()
    }

    /// Order this key by `time` instead of its certificate NotBefore. Bitnami's
    /// `--key-order-priority SecretCreationTimestamp` uses the key Secret's creation time, for
    /// keys whose certificates were re-issued or imported with NotBefore dates that do not say
    /// which key is the newest.
    pub fn with_ordering_time(mut self, time: Timestamp) -> SealingKey {
        self.ordering_time = Some(time);
        self
    }

    /// The key's place in the order: the newest key seals, serves the certificate and times
    /// the next renewal. The certificate NotBefore unless [`SealingKey::with_ordering_time`]
    /// set another time.
    pub fn ordering_time(&self) -> Timestamp {
        self.ordering_time.unwrap_or_else(|| self.not_before())
    }
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealingKey")
            .field("name", &self.name)
            .field("id", self.key_id())
            .field("bits", &self.private.bits())
            .field("not_before", &self.not_before())
            .finish_non_exhaustive()
    }
}

/// When to make a new sealing key (the controller's renewal flags).
#[derive(Clone, Debug)]
pub struct RotationPolicy {
    /// Age of the newest key after which a new one is made; `None` disables renewal
    /// (`--key-renew-period 0`).
    pub renew_period: Option<SignedDuration>,
    /// A new key is due if the newest was made before this instant (`--key-cutoff-time`).
    pub cutoff: Option<Timestamp>,
    /// Validity of new certificates (`--key-ttl`).
    pub key_ttl: SignedDuration,
    /// Size of new keys (`--key-size`).
    pub key_size: KeySize,
    /// Name prefix of new key Secrets (`--key-prefix`).
    pub name_prefix: String,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy {
            renew_period: Some(DEFAULT_RENEW_PERIOD),
            cutoff: None,
            key_ttl: DEFAULT_KEY_TTL,
            key_size: KeySize::Rsa4096,
            name_prefix: DEFAULT_KEY_PREFIX.to_owned(),
        }
    }
}

impl RotationPolicy {
    /// When the next key is due: now if the keyring is empty or the newest key predates the
    /// cutoff, else the newest key's ordering time (certificate NotBefore by default) + renew
    /// period; `None` if renewal is off and a key exists.
    pub fn next_due(&self, keyring: &Keyring) -> Option<Timestamp> {
        let Some(newest) = keyring.newest() else {
            return Some(Timestamp::UNIX_EPOCH);
        };
        if self
            .cutoff
            .is_some_and(|cutoff| newest.ordering_time() < cutoff)
        {
            return Some(newest.ordering_time());
        }
        let period = self.renew_period.filter(|p| p.is_positive())?;
        Some(
            newest
                .ordering_time()
                .checked_add(period)
                .unwrap_or(Timestamp::MAX),
        )
    }

    /// Whether a new key is due at `now`.
    pub fn is_due(&self, keyring: &Keyring, now: Timestamp) -> bool {
        self.next_due(keyring).is_some_and(|due| due <= now)
    }
}

/// A value opened by the keyring, and which key opened it. `Debug` hides the plaintext.
pub struct Opened {
    /// The plaintext, wiped on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The key that opened it (remember it as the hint for this object next time).
    pub key_id: KeyId,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field(
                "plaintext",
                &format_args!("<{} bytes redacted>", self.plaintext.len()),
            )
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// Active and retired sealing keys, newest first.
#[derive(Default)]
pub struct Keyring {
    keys: Vec<SealingKey>,
    index: HashMap<KeyId, usize>,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Keyring {
        Keyring::default()
    }

    /// A keyring holding `keys` (duplicates by fingerprint are dropped).
    pub fn from_keys(keys: impl IntoIterator<Item = SealingKey>) -> Keyring {
        let mut ring = Keyring::new();
        for key in keys {
            ring.insert(key);
        }
        ring
    }

    /// Add a key; returns `false` (and drops it) if a key with the same fingerprint is
    /// already present.
    pub fn insert(&mut self, key: SealingKey) -> bool {
        if self.index.contains_key(key.key_id()) {
            return false;
        }
        self.keys.push(key);
        self.keys.sort_by(|a, b| {
            b.ordering_time()
                .cmp(&a.ordering_time())
                .then_with(|| a.key_id().cmp(b.key_id()))
        });
        self.index = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.key_id().clone(), i))
            .collect();
        true
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The sealing key: the one with the latest [`SealingKey::ordering_time`].
    pub fn newest(&self) -> Option<&SealingKey> {
        self.keys.first()
    }

    /// All keys, newest to oldest.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &SealingKey> {
        self.keys.iter()
    }

    /// The key with this fingerprint.
    pub fn get(&self, id: &KeyId) -> Option<&SealingKey> {
        self.index.get(id).map(|&i| &self.keys[i])
    }

    /// Make a new key valid from `clock.now()` and add it (it becomes the sealing key).
    pub fn rotate(
        &mut self,
        policy: &RotationPolicy,
        clock: &dyn Clock,
    ) -> Result<&SealingKey, KeyGenerationError> {
        let options = CertificateOptions {
            not_before: clock.now(),
            ttl: policy.key_ttl,
            common_name: None,
        };
        let key = SealingKey::generate(
            SealingKey::generate_name(&policy.name_prefix),
            policy.key_size,
            &options,
        )?;
        let id = key.key_id().clone();
        self.insert(key);
        Ok(self.get(&id).expect("the key just inserted"))
    }

    /// [`Keyring::rotate`] if `policy` says a key is due now; `None` if not.
    pub fn rotate_if_due(
        &mut self,
        policy: &RotationPolicy,
        clock: &dyn Clock,
    ) -> Result<Option<&SealingKey>, KeyGenerationError> {
        if policy.is_due(self, clock.now()) {
            self.rotate(policy, clock).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Open a sealed blob: the `preferred` key first (the one that opened this object
    /// last time), then every other key newest to oldest. One uniform error if none can.
    pub fn open(
        &self,
        label: &Label,
        blob: &[u8],
        preferred: Option<&KeyId>,
    ) -> Result<Opened, OpenError> {
        let first = preferred.and_then(|id| self.index.get(id).copied());
        let order = first
            .into_iter()
            .chain((0..self.keys.len()).filter(|&i| Some(i) != first));
        for i in order {
            let key = &self.keys[i];
            if let Ok(plaintext) = envelope::open(key.private_key(), label, blob) {
                return Ok(Opened {
                    plaintext,
                    key_id: key.key_id().clone(),
                });
            }
        }
        Err(OpenError::NoKeyCouldDecrypt)
    }

    /// Decode one base64 `encryptedData` value and [`Keyring::open`] it.
    pub fn open_base64(
        &self,
        label: &Label,
        value: &str,
        preferred: Option<&KeyId>,
    ) -> Result<Opened, OpenError> {
        let blob = envelope::decode_base64(value)?;
        self.open(label, &blob, preferred)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.keys.iter()).finish()
    }
}
