//! Bitnami key backups and `--recovery-private-key` input: PEM keys, Secrets, `v1 List`s.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = sealbox_keys::sealing::backup::import_keys(&text) {
        // Errors are shown to users: they must render.
        let _ = e.to_string();
    }
});
