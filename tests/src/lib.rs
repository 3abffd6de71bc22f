//! sealbox-tests — shared helpers for the cross-crate integration tests.
