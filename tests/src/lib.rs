//! sealbox-tests — shared helpers for the cross-crate integration tests.
//!
//! [`apiserver`] is the in-memory Kubernetes API double the controller's end-to-end tests
//! run against (see `docs/api-double.md`).

pub mod apiserver;
