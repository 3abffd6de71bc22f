//! sealbox-tests — shared helpers for the cross-crate integration tests.
//!
//! [`apiserver`] is the in-memory Kubernetes API double the controller's end-to-end tests
//! run against (see `docs/api-double.md`); [`leak_scan`] looks for known plaintexts in
//! everything a command or the controller printed or wrote (see `docs/security.md`).

pub mod apiserver;
pub mod leak_scan;
