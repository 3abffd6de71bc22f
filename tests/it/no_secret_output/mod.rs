//! "No secret in output" (issue [F] item 5): whole command and controller scenarios with
//! known plaintexts, every output scanned by [`sealbox_tests::leak_scan::LeakScan`] — the
//! plaintext, JSON-escaped, base64 (standard and URL-safe, each alignment) and hex.
//!
//! * `cli` — the `sealbox` binary: seal, unseal (success and every failure path),
//!   encrypt/decrypt/set failures in each store, render/krm failures, and `external render`
//!   success and failures; stdout is scanned unless it is the plaintext the user asked for.
//! * `controller` — the real `sealbox controller` binary at DEBUG against the API double:
//!   SealedSecrets (opened, tampered, moved), ExternalSecrets with the fake provider
//!   (synced, template failure, missing key, value that is not JSON) and SopsSecrets
//!   (decrypted, tampered); its logs, every Event and every status/metadata it wrote.

mod cli;
mod controller;
