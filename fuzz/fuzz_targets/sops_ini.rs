//! The SOPS ini store: arbitrary bytes as an encrypted file (open, ignore-MAC open, re-seal)
//! and as a plaintext file (encrypt, then open again). See `sealbox_fuzz::sops_store`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealbox_keys::sops::Format;

fuzz_target!(|data: &[u8]| {
    sealbox_fuzz::sops_store(data, Format::Ini);
});
