//! `.sops.yaml`: parsing and creation-rule selection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealbox_keys::sops::config::SopsConfig;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(config) = SopsConfig::parse(&text) {
        for path in ["secrets/app.yaml", "clusters/prod/db.enc.json", ".env", ""] {
            let _ = config.rule_for(path);
        }
    }
});
