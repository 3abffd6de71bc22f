//! The request layer in front of every provider: what makes N ExternalSecrets that read one
//! remote secret cost one store call per refresh cycle.
//!
//! * [`RequestLayer`] — shared by all stores of a controller: a short-TTL cache keyed by
//!   (store identity, key, version, metadata policy) plus in-flight deduplication
//!   (concurrent identical reads share one call), explicit invalidation (force-sync) and
//!   the metrics sink.
//! * [`StoreClient`] — one connected store; every read goes through the layer.
//! * [`StorePool`] — keeps one client per store for as long as the store's revision does
//!   not change (Vault tokens are reused, AWS credentials cached) and closes replaced or
//!   evicted clients (Vault tokens revoked).
//!
//! AWS adds a batcher below the layer (see `aws::batch`): distinct keys that miss the cache
//! at the same time are coalesced into `BatchGetSecretValue` calls of up to 20 ids.

mod cache;
mod client;
mod pool;

pub use cache::{LayerConfig, RequestLayer};
pub use client::StoreClient;
pub use pool::StorePool;

#[cfg(all(test, feature = "fake"))]
mod tests;
