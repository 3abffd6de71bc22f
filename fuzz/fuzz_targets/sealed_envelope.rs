//! One sealed SealedSecret value (`u16be(len R) ‖ R ‖ AES-GCM`) opened with a fixed key.
//!
//! Input: one selector byte (bit 0: the 4096- or 2048-bit fixture key; bits 1..: which of
//! the fixture labels) followed by the blob. Invariant: every failure is the single
//! `NoKeyCouldDecrypt` (no padding/tag oracle), and base64 decoding of arbitrary text only
//! ever fails with the base64 error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealbox_keys::sealing::{Label, OpenError, Scope, envelope};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, blob)) = data.split_first() else {
        return;
    };
    let key = if selector & 1 == 0 {
        sealbox_fuzz::sealing_key_4096()
    } else {
        sealbox_fuzz::sealing_key_2048()
    };
    // The labels of the fixture manifests: strict, namespace-wide, cluster-wide.
    let label = match (selector >> 1) % 3 {
        0 => Label::new(Scope::Strict, "demo", "db-credentials"),
        1 => Label::new(Scope::NamespaceWide, "team-a", ""),
        _ => Label::new(Scope::ClusterWide, "", ""),
    };
    if let Err(e) = envelope::open(key, &label, blob) {
        assert_eq!(e, OpenError::NoKeyCouldDecrypt);
        assert_eq!(e.to_string(), "no key could decrypt secret");
    }
    if let Ok(text) = std::str::from_utf8(blob) {
        match envelope::decode_base64(text) {
            Ok(_) | Err(OpenError::Base64 { .. }) => {}
            Err(other) => panic!("base64 decoding failed with {other:?}"),
        }
    }
});
