//! Tests of `sealbox_keys::sealing` against the Sealed Secrets interop fixtures (values
//! made by upstream Go, an npm implementation and Python) and of its own invariants.
//!
//! The fixture set is read from `tests/fixtures/sealed-secrets/` at the repository root,
//! or from `$SEALBOX_SEALED_SECRETS_FIXTURES` so another set (other keys, names, values)
//! can be checked with the same tests. Everything is driven by its `expected.json`.

mod certificates;
mod fixtures;
mod keyring;
mod roundtrip;
mod support;
