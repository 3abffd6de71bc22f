//! The Go text/template engine (SealedSecret `template.data`, ExternalSecret templates):
//! parse with both function sets, execute over a small data map with tight limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sealbox_keys::template::parse_for_fuzzing(data);
});
