//! sealbox-keys — the bytes that end up in Git.
//!
//! This crate talks to nobody: no network, no Kubernetes, no async runtime. It owns
//! everything whose exact byte layout other tools (kubeseal, the Bitnami controller,
//! sops, Flux) depend on, so it can be fuzzed and property-tested in isolation:
//!
//! * [`sealing`] — RSA sealing keys and certificates, the SealedSecret hybrid envelope,
//!   scopes and their OAEP labels, the keyring (kubeseal / Bitnami controller compatible);
//! * [`sops`] — the SOPS file format: encrypted values, MAC, metadata, stores, key groups;
//! * [`template`] — Go `text/template` with the sprig / ESO function sets, which
//!   SealedSecret and ExternalSecret templates in Git are written in;
//! * [`limits`] — size, depth, document and alias-expansion limits every parser of untrusted
//!   input applies.

pub mod limits;
pub mod sealing;
pub mod sops;
pub mod template;
