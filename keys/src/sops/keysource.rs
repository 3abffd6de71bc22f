//! Wrapping the data key for recipients and recovering it with identities.
//!
//! age recipients (X25519, ssh-ed25519, ssh-rsa) each get their own armored age file holding
//! the data key, exactly as sops' `age.MasterKey.Encrypt` makes them (one recipient per age
//! file, not one multi-recipient file). With several key groups the data key is split with
//! Shamir and each group wraps its share. Where identities come from (environment variables,
//! key files, a keyring) is the caller's business: this module takes parsed identities.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::cipher::DataKey;
use super::error::{GroupFailure, Result, SopsError};
use super::metadata::{KeyGroup, MasterKey, Metadata};
use super::shamir;

/// A public key to encrypt the data key to.
#[derive(Clone)]
pub enum Recipient {
    /// `age1…` X25519.
    X25519(age::x25519::Recipient, String),
    /// `ssh-ed25519 …` or `ssh-rsa …`.
    Ssh(age::ssh::Recipient, String),
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.as_str())
    }
}

impl Recipient {
    /// Parse like sops' `parseRecipient` (`age1…`, `ssh-…`); surrounding spaces are ignored.
    pub fn parse(s: &str) -> Result<Recipient> {
        let s = s.trim();
        let err = |reason: String| SopsError::InvalidRecipient {
            recipient: s.to_string(),
            reason,
        };
        if s.starts_with("age1pq1") {
            return Err(err(
                "post-quantum hybrid age recipients are not supported by this build".into(),
            ));
        }
        if s.starts_with("age1") && s.matches('1').count() > 1 {
            return Err(err("age plugin recipients are not supported".into()));
        }
        if s.starts_with("age1") {
            return age::x25519::Recipient::from_str(s)
                .map(|r| Recipient::X25519(r, s.to_string()))
                .map_err(|e| {
                    err(format!(
                        "failed to parse input as Bech32-encoded age public key: {e}"
                    ))
                });
        }
        if s.starts_with("ssh-") {
            return age::ssh::Recipient::from_str(s)
                .map(|r| Recipient::Ssh(r, s.to_string()))
                .map_err(|e| {
                    err(format!(
                        "failed to parse input as age-ssh public key: {e:?}"
                    ))
                });
        }
        Err(err("unknown recipient type".into()))
    }

    /// The recipient as written into metadata.
    pub fn as_str(&self) -> &str {
        match self {
            Recipient::X25519(_, s) | Recipient::Ssh(_, s) => s,
        }
    }

    /// Encrypt `payload` (a data key or a Shamir share) to this recipient: one armored age file.
    pub fn wrap(&self, payload: &[u8]) -> Result<String> {
        let recipient: &dyn age::Recipient = match self {
            Recipient::X25519(r, _) => r,
            Recipient::Ssh(r, _) => r,
        };
        let fail = |reason: String| SopsError::KeyWrap {
            recipient: self.as_str().to_string(),
            reason,
        };
        let encryptor = age::Encryptor::with_recipients(std::iter::once(recipient))
            .map_err(|e| fail(e.to_string()))?;
        let mut out = Vec::new();
        let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)
            .map_err(|e| fail(e.to_string()))?;
        let mut w = encryptor
            .wrap_output(armor)
            .map_err(|e| fail(e.to_string()))?;
        w.write_all(payload).map_err(|e| fail(e.to_string()))?;
        w.finish()
            .and_then(|armor| armor.finish())
            .map_err(|e| fail(e.to_string()))?;
        let mut text = String::from_utf8(out).map_err(|e| fail(e.to_string()))?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(text)
    }
}

/// Private keys that can unwrap data keys. `Debug` shows only counts.
#[derive(Default)]
pub struct Identities {
    ids: Vec<Box<dyn age::Identity + Send + Sync>>,
}

impl fmt::Debug for Identities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identities({} keys)", self.ids.len())
    }
}

impl Identities {
    /// No identities.
    pub fn new() -> Identities {
        Identities::default()
    }

    /// Number of identities loaded.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether none are loaded.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Add age identities from text: one `AGE-SECRET-KEY-1…` per line; blank lines and `#`
    /// comments are ignored (sops' `parseIdentities`). Returns how many were added.
    /// `source_name` (a path or variable name) appears in errors; key material never does.
    pub fn add_age_keys(&mut self, text: &str, source_name: &str) -> Result<usize> {
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: &str| SopsError::InvalidIdentity {
                source_name: format!("{source_name} line {}", i + 1),
                reason: reason.to_string(),
            };
            if line.starts_with("AGE-SECRET-KEY-PQ-1") {
                return Err(err(
                    "post-quantum hybrid identities are not supported by this build",
                ));
            }
            if line.starts_with("AGE-PLUGIN-") {
                return Err(err("age plugin identities are not supported"));
            }
            if !line.starts_with("AGE-SECRET-KEY-1") {
                return Err(err("unknown identity type"));
            }
            let id = age::x25519::Identity::from_str(line)
                .map_err(|_| err("malformed AGE-SECRET-KEY-1 identity"))?;
            self.ids.push(Box::new(id));
            n += 1;
        }
        Ok(n)
    }

    /// Add an OpenSSH private key (ed25519 or RSA, unencrypted) as an age identity.
    pub fn add_ssh_private_key(&mut self, pem: &[u8], source_name: &str) -> Result<()> {
        let err = |reason: String| SopsError::InvalidIdentity {
            source_name: source_name.to_string(),
            reason,
        };
        let id = age::ssh::Identity::from_buffer(pem, Some(source_name.to_string()))
            .map_err(|e| err(format!("not an SSH private key: {e}")))?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                self.ids.push(Box::new(id));
                Ok(())
            }
            age::ssh::Identity::Encrypted(_) => {
                Err(err("passphrase-protected SSH keys are not supported".into()))
            }
            age::ssh::Identity::Unsupported(_) => Err(err("unsupported SSH key type".into())),
        }
    }

    fn unwrap(&self, armored: &str) -> std::result::Result<Zeroizing<Vec<u8>>, String> {
        if self.ids.is_empty() {
            return Err("no age identities were provided".into());
        }
        let reader = ArmoredReader::new(armored.as_bytes());
        let decryptor =
            age::Decryptor::new(reader).map_err(|e| format!("invalid age file: {e}"))?;
        let mut r = decryptor
            .decrypt(self.ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| format!("failed to decrypt: {e}"))?;
        let mut out = Zeroizing::new(Vec::new());
        r.read_to_end(&mut out)
            .map_err(|e| format!("failed to decrypt: {e}"))?;
        Ok(out)
    }
}

/// A new age X25519 identity: its recipient (`age1…`) and the text of a key file in
/// `age-keygen`'s layout (`# created:`, `# public key:`, `AGE-SECRET-KEY-1…`), which sops and
/// age read as they are. The secret text is wiped from memory when dropped.
pub fn generate_age_identity(created: &str) -> (String, Zeroizing<String>) {
    use age::secrecy::ExposeSecret as _;
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let secret = identity.to_string();
    let text = Zeroizing::new(format!(
        "# created: {created}\n# public key: {recipient}\n{}\n",
        secret.expose_secret()
    ));
    (recipient, text)
}

/// The recipients (`age1…`) of the X25519 identities in a key file's text, in order;
/// comments and blank lines are skipped. Errors name the line, never its content.
pub fn age_recipients_of(text: &str, source_name: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let id = age::x25519::Identity::from_str(line).map_err(|_| SopsError::InvalidIdentity {
            source_name: format!("{source_name} line {}", i + 1),
            reason: "not an AGE-SECRET-KEY-1 identity".into(),
        })?;
        out.push(id.to_public().to_string());
    }
    Ok(out)
}

/// Wrap a fresh data key for every key group (Shamir split when there are several groups).
/// Keys of other kinds (PGP, KMS, …) cannot be wrapped here and make this fail.
pub fn wrap_data_key(
    key: &DataKey,
    groups: &[Vec<Recipient>],
    threshold: usize,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Vec<KeyGroup>, usize)> {
    if groups.is_empty() || groups.iter().all(Vec::is_empty) {
        return Err(SopsError::NoRecipients);
    }
    if groups.iter().any(Vec::is_empty) {
        return Err(SopsError::Conflict("empty key group provided".into()));
    }
    let (parts, threshold) = if groups.len() == 1 {
        (vec![Zeroizing::new(key.expose().to_vec())], 0)
    } else {
        let t = if threshold == 0 {
            groups.len()
        } else {
            threshold
        };
        let parts = shamir::split(key.expose(), groups.len(), t, rng).map_err(|e| {
            SopsError::Conflict(format!(
                "could not split data key into parts for Shamir: {e}"
            ))
        })?;
        (parts, t)
    };
    let mut out = Vec::with_capacity(groups.len());
    for (group, part) in groups.iter().zip(&parts) {
        let mut g = Vec::with_capacity(group.len());
        let mut seen: Vec<&str> = Vec::new();
        for r in group {
            if seen.contains(&r.as_str()) {
                continue;
            }
            seen.push(r.as_str());
            g.push(MasterKey::Age {
                recipient: r.as_str().to_string(),
                enc: r.wrap(part)?,
            });
        }
        out.push(g);
    }
    Ok((out, threshold))
}

/// Re-wrap an existing data key for new groups (`updatekeys`): same data key, new recipients.
pub fn rewrap_data_key(
    key: &DataKey,
    groups: &[Vec<Recipient>],
    threshold: usize,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<(Vec<KeyGroup>, usize)> {
    wrap_data_key(key, groups, threshold, rng)
}

/// Recover the data key (`GetDataKeyWithKeyServices`): per group, the first age key the
/// identities open wins; with several groups at least `shamir_threshold` must open.
pub fn recover_data_key(meta: &Metadata, ids: &Identities) -> Result<DataKey> {
    let mut parts: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    let mut failures = Vec::new();
    for (gi, group) in meta.key_groups.iter().enumerate() {
        let mut report = Vec::new();
        let mut got = None;
        for key in group {
            match key {
                MasterKey::Age { recipient, enc } => match ids.unwrap(enc) {
                    Ok(p) => {
                        got = Some(p);
                        break;
                    }
                    Err(e) => report.push(format!("{recipient}: {e}")),
                },
                other => report.push(format!(
                    "{}: this key type is not supported by sealbox; use sops with access to it, or add an age recipient with `sops updatekeys`",
                    other.describe()
                )),
            }
        }
        match got {
            Some(p) => parts.push(p),
            None => failures.push(GroupFailure {
                group: gi,
                keys: report,
            }),
        }
    }
    let threshold = if meta.key_groups.len() > 1 {
        meta.shamir_threshold.max(1)
    } else {
        1
    };
    let unavailable = |failures: Vec<GroupFailure>| SopsError::DataKeyUnavailable {
        groups: failures,
        threshold,
    };
    let key = if meta.key_groups.len() > 1 {
        if parts.len() < threshold.max(2) {
            return Err(unavailable(failures));
        }
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        let combined = shamir::combine(&refs).map_err(|e| SopsError::DataKeyUnavailable {
            groups: vec![GroupFailure {
                group: 0,
                keys: vec![format!("could not get data key from shamir parts: {e}")],
            }],
            threshold,
        })?;
        DataKey::from_bytes(&combined)
    } else {
        match parts.first() {
            Some(p) => DataKey::from_bytes(p),
            None => return Err(unavailable(failures)),
        }
    };
    key.ok_or_else(|| SopsError::DataKeyUnavailable {
        groups: vec![GroupFailure {
            group: 0,
            keys: vec!["the unwrapped data key does not have 32 bytes".into()],
        }],
        threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_identity_opens_what_its_recipient_wraps() {
        let (recipient, text) = generate_age_identity("2026-01-01T00:00:00Z");
        assert!(recipient.starts_with("age1"));
        assert!(text.starts_with("# created: 2026-01-01T00:00:00Z\n# public key: age1"));
        let mut ids = Identities::new();
        assert_eq!(ids.add_age_keys(&text, "generated").unwrap(), 1);
        let key = DataKey::generate(&mut rand::thread_rng());
        let (groups, _) = wrap_data_key(
            &key,
            &[vec![Recipient::parse(&recipient).unwrap()]],
            0,
            &mut rand::thread_rng(),
        )
        .unwrap();
        let meta = Metadata {
            key_groups: groups,
            shamir_threshold: 0,
            last_modified: super::super::gofmt::GoTime::from_unix_utc(0),
            mac: String::new(),
            rule: Default::default(),
            mac_only_encrypted: false,
            version: "3.11.0".into(),
        };
        assert!(recover_data_key(&meta, &ids).unwrap() == key);
        assert!(!format!("{ids:?}").contains("AGE-SECRET-KEY"));
        assert_eq!(
            age_recipients_of(&text, "generated").unwrap(),
            vec![recipient]
        );
        let err = age_recipients_of("# c\nAGE-SECRET-KEY-1NOPE\n", "f").unwrap_err();
        assert!(err.to_string().contains("f line 2"));
        assert!(!err.to_string().contains("NOPE"));
    }
}
