//! The ExternalSecret family, as pure planners (ESO semantics; the async shells are in
//! [`crate::run::external`]):
//!
//! * [`data`] — `data`/`dataFrom` → store reads, answers → provider data;
//! * [`keys`] — rewrite, key conversion and validation, decoding, NUL checks;
//! * [`template`] — ESO's `ApplyTemplate` (engine v2);
//! * [`plan`] — policies, refresh decision, the desired Secret and the outcome;
//! * [`hash`] — ESO's data-hash, created-by, syncedResourceVersion and field manager;
//! * [`store`] — store specs → provider configurations, ClusterSecretStore conditions;
//! * [`cluster_external`] — ClusterExternalSecret fan-out;
//! * [`push`] — PushSecret;
//! * [`windows`] — `syncWindows` (allow/deny cron windows for periodic refreshes).

pub mod cluster_external;
pub mod data;
pub mod hash;
pub mod keys;
pub mod plan;
pub mod push;
pub mod selector;
pub mod store;
pub mod template;
pub mod windows;

/// The condition type ExternalSecrets report.
pub const READY: &str = "Ready";
/// Reason: synced (also retained, and `creationPolicy: None`).
pub const REASON_SYNCED: &str = "SecretSynced";
/// Reason: failed.
pub const REASON_SYNCED_ERROR: &str = "SecretSyncedError";
/// Reason: deleted by `deletionPolicy: Delete`.
pub const REASON_DELETED: &str = "SecretDeleted";
/// Reason: `creationPolicy: Merge` and no target.
pub const REASON_MISSING: &str = "SecretMissing";
/// Event: created.
pub const EVENT_CREATED: &str = "Created";
/// Event: updated.
pub const EVENT_UPDATED: &str = "Updated";
/// Event: deleted.
pub const EVENT_DELETED: &str = "Deleted";
/// Event: failed (Warning).
pub const EVENT_UPDATE_FAILED: &str = "UpdateFailed";
/// Event: a malformed `syncWindows` entry, read as never open (Warning; sealbox only —
/// ESO's webhook-less controller only logs it).
pub const EVENT_INVALID_SYNC_WINDOW: &str = "InvalidSyncWindow";
