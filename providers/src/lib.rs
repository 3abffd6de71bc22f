//! sealbox-providers — external secret stores behind one interface.
//!
//! Talks to AWS Secrets Manager, Vault, or an in-memory fake; never to Kubernetes. The
//! controller resolves everything Kubernetes-shaped (credential Secret refs, service
//! account tokens) into values before it builds a [`StoreConfig`].
//!
//! Entry points: [`StorePool`] (one long-lived [`StoreClient`] per store) over a shared
//! [`RequestLayer`] (cache, in-flight dedup, metrics). Reads take a [`RemoteRef`] or a
//! [`FindRef`], writes a [`PushRef`]; values are [`SecretValue`]s; failures are
//! [`ProviderError`]s classified by [`ErrorKind`].

#[cfg(not(any(feature = "fake", feature = "aws", feature = "vault")))]
compile_error!("sealbox-providers needs at least one provider feature: fake, aws or vault");

mod error;
mod json;
mod layer;
mod metrics;
mod provider;
mod reference;
mod value;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "fake")]
pub mod fake;
#[cfg(feature = "vault")]
pub mod vault;

pub use error::{ErrorKind, ProviderError, Result};
pub use layer::{LayerConfig, RequestLayer, StoreClient, StorePool};
pub use metrics::{Counters, Metrics, MetricsSink, Outcome, ProviderKind};
pub use provider::StoreConfig;
pub use reference::{FindRef, MetadataPolicy, PushRef, RemoteRef};
pub use value::{SecretMap, SecretValue};
