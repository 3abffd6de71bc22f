//! One sealed value, byte-compatible with upstream `pkg/crypto/crypto.go`:
//!
//! ```text
//! blob = u16be(len R) ‖ R ‖ C
//! R    = RSA-OAEP(SHA-256, MGF1-SHA-256, label)(32 random bytes = AES-256 session key)
//! C    = AES-256-GCM(session key, nonce = 12 zero bytes, no AAD)(plaintext) ‖ 16-byte tag
//! ```
//!
//! The zero nonce is safe because every session key encrypts exactly one value. In a
//! SealedSecret each blob is stored as padded standard base64.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm, AesGcm, Nonce, aes::Aes192};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::{CryptoRng, RngCore};
use rsa::Oaep;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::error::{OpenError, SealError};
use super::private_key::PrivateKey;
use super::public_key::PublicKey;
use super::scope::Label;

/// Size of the AES session key sealers generate (AES-256).
pub const SESSION_KEY_LEN: usize = 32;

/// GCM authentication tag size.
pub const TAG_LEN: usize = 16;

/// AES-192-GCM, which upstream would accept if a sealer sent a 24-byte session key.
type Aes192Gcm = AesGcm<Aes192, aes_gcm::aead::consts::U12>;

/// Seal `plaintext` to `key` under `label`, drawing the session key and the OAEP seed from
/// `rng` (inject a seeded RNG to make test output deterministic).
pub fn seal<R: CryptoRng + RngCore>(
    rng: &mut R,
    key: &PublicKey,
    label: &Label,
    plaintext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let mut session_key = Zeroizing::new([0u8; SESSION_KEY_LEN]);
    rng.fill_bytes(session_key.as_mut());
    let wrapped = key
        .rsa()
        .encrypt(
            rng,
            Oaep::new_with_label::<Sha256, _>(label.as_str()),
            session_key.as_ref(),
        )
        .map_err(|_| SealError::Rsa)?;
    let wrapped_len = u16::try_from(wrapped.len()).map_err(|_| SealError::Rsa)?;

    let mut blob = Vec::with_capacity(2 + wrapped.len() + plaintext.len() + TAG_LEN);
    blob.extend_from_slice(&wrapped_len.to_be_bytes());
    blob.extend_from_slice(&wrapped);
    let body_start = blob.len();
    blob.extend_from_slice(plaintext);
    let cipher = Aes256Gcm::new_from_slice(session_key.as_ref()).map_err(|_| SealError::Aead)?;
    let tag = cipher
        .encrypt_in_place_detached(&Nonce::default(), b"", &mut blob[body_start..])
        .map_err(|_| SealError::Aead)?;
    blob.extend_from_slice(&tag);
    Ok(blob)
}

/// [`seal`] and encode as padded standard base64, the form stored in `encryptedData` and
/// printed by `kubeseal --raw`.
pub fn seal_to_base64<R: CryptoRng + RngCore>(
    rng: &mut R,
    key: &PublicKey,
    label: &Label,
    plaintext: &[u8],
) -> Result<String, SealError> {
    seal(rng, key, label, plaintext).map(|blob| STANDARD.encode(blob))
}

/// Decode one `encryptedData` value (padded standard base64, like Go's
/// `base64.StdEncoding`).
pub fn decode_base64(value: &str) -> Result<Vec<u8>, OpenError> {
    STANDARD.decode(value).map_err(|e| OpenError::Base64 {
        reason: e.to_string(),
    })
}

/// Open `blob` with one private key. Every failure is the same
/// [`OpenError::NoKeyCouldDecrypt`]: truncation, wrong key, wrong label, bad tag.
pub fn open(key: &PrivateKey, label: &Label, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    open_inner(key, label, blob).ok_or(OpenError::NoKeyCouldDecrypt)
}

fn open_inner(key: &PrivateKey, label: &Label, blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (len_bytes, rest) = blob.split_first_chunk::<2>()?;
    let wrapped_len = usize::from(u16::from_be_bytes(*len_bytes));
    if rest.len() < wrapped_len {
        return None;
    }
    let (wrapped, body) = rest.split_at(wrapped_len);
    let session_key = key.oaep_decrypt(label.as_bytes(), wrapped)?;
    let (ciphertext, tag) = body.split_at_checked(body.len().checked_sub(TAG_LEN)?)?;
    let mut plaintext = Zeroizing::new(ciphertext.to_vec());
    let nonce = Nonce::default();
    // Upstream hands the unwrapped key to aes.NewCipher, which also takes 16 and 24 bytes.
    let opened = match session_key.len() {
        32 => Aes256Gcm::new_from_slice(&session_key)
            .ok()?
            .decrypt_in_place_detached(&nonce, b"", &mut plaintext, tag.into()),
        24 => Aes192Gcm::new_from_slice(&session_key)
            .ok()?
            .decrypt_in_place_detached(&nonce, b"", &mut plaintext, tag.into()),
        16 => Aes128Gcm::new_from_slice(&session_key)
            .ok()?
            .decrypt_in_place_detached(&nonce, b"", &mut plaintext, tag.into()),
        _ => return None,
    };
    opened.ok()?;
    Some(plaintext)
}
