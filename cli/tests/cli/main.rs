//! End-to-end tests of the `sealbox` binary (one test binary for the whole CLI).
//!
//! * `trycmd_cases` — golden help texts and every bad-input error with its exit code
//!   (`cli/tests/cmd/*.trycmd`);
//! * `unseal_fixtures` — every manifest of the Sealed Secrets fixture set (made by upstream
//!   Go, npm and Python) unseals to `expected.json`, every negative is refused;
//! * `seal_interop` — what `sealbox seal` writes is opened by an independent implementation
//!   (`tests/tools/ss_open.py`: pyca/cryptography, and the openssl CLI for the RSA step);
//! * `seal_behaviour`, `keys` — kubeseal's flags and output shape, the local keyring.

mod keys;
mod seal_behaviour;
mod seal_interop;
mod support;
mod trycmd_cases;
mod unseal_fixtures;
