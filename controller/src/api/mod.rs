//! CRD types and the manifest model, usable without the controller runtime (the CLI reads
//! and writes the same objects).
//!
//! * [`sealed_secret`] — the `bitnami.com/v1alpha1` `SealedSecret` resource;
//! * [`unseal`](mod@unseal) — SealedSecret + keyring → the Secret the controller creates (pure);
//! * [`external`] — the External Secrets Operator kinds (`external-secrets.io`);
//! * [`sops_secret`] — the `sealbox.dev/v1alpha1` `SopsSecret` resource (a SOPS file);
//! * [`manifest`] — YAML/JSON streams → numbered documents with precise parse errors.

pub mod external;
pub mod manifest;
pub mod sealed_secret;
pub mod sops_secret;
pub mod unseal;

pub use manifest::{Document, ManifestError, expand_lists, parse_documents};
pub use sealed_secret::{
    SealedSecret, SealedSecretCondition, SealedSecretSpec, SealedSecretStatus, SecretTemplateSpec,
    crd as sealed_secret_crd,
};
pub use unseal::{ItemError, ItemFailure, UnsealError, UnsealOptions, Unsealed, unseal};
