//! What a planner hands the applier: the Secret it wants, how it may be owned, the status
//! condition to report and the events to publish. Plans are plain data so planners stay
//! pure and their tests need no API server.

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;

use super::conditions::ConditionState;
use super::ownership::OwnershipPolicy;

/// The Secret a planner wants, and the rules for writing it.
#[derive(Clone)]
pub struct DesiredSecret {
    /// The full desired object (name, namespace, labels, annotations, owner references,
    /// type, immutable, data). `Debug` never shows the data.
    pub secret: Secret,
    /// Who may own it and how an existing Secret is treated.
    pub ownership: OwnershipPolicy,
}

impl fmt::Debug for DesiredSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DesiredSecret")
            .field("name", &self.secret.metadata.name)
            .field("namespace", &self.secret.metadata.namespace)
            .field(
                "data_keys",
                &self
                    .secret
                    .data
                    .as_ref()
                    .map(|d| d.keys().collect::<Vec<_>>()),
            )
            .field("ownership", &self.ownership)
            .finish()
    }
}

/// Event severity (the Kubernetes event `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// `Normal`.
    Normal,
    /// `Warning`.
    Warning,
}

/// An event about the source object. The note must never contain a secret value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEvent {
    /// Normal or Warning.
    pub kind: EventKind,
    /// Machine-readable reason (Bitnami's `Unsealed`, `ErrUnsealFailed`, `ErrUpdateFailed`).
    pub reason: String,
    /// Human-readable note.
    pub note: String,
}

impl PlannedEvent {
    /// A Normal event.
    pub fn normal(reason: &str, note: impl Into<String>) -> PlannedEvent {
        PlannedEvent {
            kind: EventKind::Normal,
            reason: reason.to_owned(),
            note: note.into(),
        }
    }

    /// A Warning event.
    pub fn warning(reason: &str, note: impl Into<String>) -> PlannedEvent {
        PlannedEvent {
            kind: EventKind::Warning,
            reason: reason.to_owned(),
            note: note.into(),
        }
    }
}

/// The outcome of planning one source object.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The Secret to write; `None` when planning failed (nothing is written then: a bad
    /// source object never blanks or deletes the last good Secret).
    pub desired: Option<DesiredSecret>,
    /// The condition to report on the source object.
    pub condition: ConditionState,
    /// Events to publish (at most one per reconcile by convention).
    pub events: Vec<PlannedEvent>,
    /// When to look again even if nothing changes (`None`: only on change).
    pub requeue: Option<Duration>,
    /// Whether a failure is worth retrying with backoff (a transient problem) or only on
    /// the next change of the source (bad input, immutable target).
    pub retry: bool,
    /// Whether the source changed since the live Secret was written (an update is then
    /// the normal result of a change; otherwise it repairs drift and says so).
    pub source_changed: bool,
}

impl Plan {
    /// A plan that writes `desired` and reports success.
    pub fn write(desired: DesiredSecret, condition: ConditionState) -> Plan {
        Plan {
            desired: Some(desired),
            condition,
            events: Vec::new(),
            requeue: None,
            retry: false,
            source_changed: true,
        }
    }

    /// A plan that writes nothing and reports a failure.
    pub fn fail(condition: ConditionState, event: PlannedEvent, retry: bool) -> Plan {
        Plan {
            desired: None,
            condition,
            events: vec![event],
            requeue: None,
            retry,
            source_changed: true,
        }
    }
}
