//! The reconcile/apply core every kind goes through (SealedSecrets now; ExternalSecrets and
//! SopsSecrets later).
//!
//! A kind-specific planner (pure, in `reconcile/`) turns a source object and its inputs into
//! a [`Plan`]: the Secret it wants, how that Secret may be owned ([`OwnershipPolicy`]), the
//! status condition and the events. This module then does, for every kind alike:
//!
//! 1. the ownership check ([`ownership::decide`]): never take over a Secret we do not own
//!    unless the policy (or an opt-in annotation on the live Secret) allows it;
//! 2. drift detection ([`drift::compare`]): nothing is written when the live Secret already
//!    is what the plan wants; a hand edit or a deletion is repaired and reported once;
//! 3. server-side apply with the field manager [`FIELD_MANAGER`] and controller owner
//!    references ([`Applier`]);
//! 4. status conditions with `observedGeneration`, written through the status subresource
//!    only when something changed ([`conditions`]);
//! 5. requeue with exponential backoff and jitter on errors ([`backoff`]);
//! 6. read-your-own-writes: a source object whose cached copy predates our own status or
//!    finalizer write is not reconciled again from that stale copy ([`own_writes`]).
//!
//! Only this module writes to the API server.

pub mod applier;
pub mod backoff;
pub mod conditions;
pub mod drift;
pub mod lifecycle;
pub mod own_writes;
pub mod ownership;
pub mod plan;

pub use applier::{Applier, ApplyError, ApplyOutcome};
pub use backoff::Backoff;
pub use conditions::{ConditionState, ConditionStatus};
pub use drift::{Drift, compare};
pub use own_writes::OwnWrites;
pub use ownership::{Decision, OwnershipPolicy, WhenForeign, WriteMode, decide};
pub use plan::{DesiredSecret, EventKind, Plan, PlannedEvent};

/// The field manager of every write the controller makes (objects and status).
pub const FIELD_MANAGER: &str = "sealbox";
