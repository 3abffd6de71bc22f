//! Status conditions, kind-neutral.
//!
//! A status write is a real write (new resourceVersion, a watch event, another reconcile),
//! so writing a fresh timestamp on every reconcile is a hot loop (Bitnami #388/#525). The
//! rule here: write only when the condition's status, reason or message changed, or when
//! `observedGeneration` lags the object's generation. The transition time moves only when
//! the status flips.

use std::fmt;

use jiff::Timestamp;

/// `True`, `False` or `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// It does not.
    False,
    /// Not known yet.
    Unknown,
}

impl ConditionStatus {
    /// The API string.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }

    /// Parse the API string (anything else is `Unknown`).
    pub fn parse(s: &str) -> ConditionStatus {
        match s {
            "True" => ConditionStatus::True,
            "False" => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        }
    }

    /// Bitnami's `condition_info` gauge value: -1 false, 0 unknown, 1 true.
    pub fn gauge_value(self) -> i64 {
        match self {
            ConditionStatus::True => 1,
            ConditionStatus::False => -1,
            ConditionStatus::Unknown => 0,
        }
    }
}

impl fmt::Display for ConditionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part of a condition that decides whether status must be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionState {
    /// Condition type (`Synced` for SealedSecrets, `Ready` for ExternalSecrets).
    pub type_: String,
    /// Its status.
    pub status: ConditionStatus,
    /// Machine-readable reason.
    pub reason: String,
    /// Human-readable message; never a secret value.
    pub message: String,
}

impl ConditionState {
    /// A condition of `type_` with this status, reason and message.
    pub fn new(
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: impl Into<String>,
    ) -> ConditionState {
        ConditionState {
            type_: type_.to_owned(),
            status,
            reason: reason.to_owned(),
            message: message.into(),
        }
    }
}

/// What the source object currently reports (read from its status).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ObservedStatus {
    /// The condition of the planned type, if present.
    pub condition: Option<ConditionState>,
    /// When that condition last transitioned, if recorded.
    pub last_transition: Option<Timestamp>,
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
}

/// The status to write, or nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusUpdate {
    /// The new condition.
    pub condition: ConditionState,
    /// Its transition time: kept when the status did not flip.
    pub last_transition: Timestamp,
    /// Its update time (now).
    pub last_update: Timestamp,
    /// The generation this status describes.
    pub observed_generation: Option<i64>,
}

/// Decide whether status must be written: `None` when the observed status already says
/// the same thing about the same generation.
pub fn status_update(
    observed: &ObservedStatus,
    desired: &ConditionState,
    generation: Option<i64>,
    now: Timestamp,
) -> Option<StatusUpdate> {
    let same_condition = observed.condition.as_ref() == Some(desired);
    let same_generation = observed.observed_generation == generation;
    if same_condition && same_generation {
        return None;
    }
    let flipped = observed
        .condition
        .as_ref()
        .is_none_or(|c| c.status != desired.status);
    let last_transition = match (flipped, observed.last_transition) {
        (false, Some(t)) => t,
        _ => now,
    };
    Some(StatusUpdate {
        condition: desired.clone(),
        last_transition,
        last_update: now,
        observed_generation: generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synced(ok: bool, msg: &str) -> ConditionState {
        if ok {
            ConditionState::new("Synced", ConditionStatus::True, "Unsealed", msg)
        } else {
            ConditionState::new("Synced", ConditionStatus::False, "ErrUnsealFailed", msg)
        }
    }

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn same_condition_same_generation_writes_nothing() {
        let observed = ObservedStatus {
            condition: Some(synced(true, "")),
            last_transition: Some(ts(10)),
            observed_generation: Some(3),
        };
        assert_eq!(
            status_update(&observed, &synced(true, ""), Some(3), ts(99)),
            None
        );
    }

    #[test]
    fn new_generation_writes_but_keeps_transition_time() {
        let observed = ObservedStatus {
            condition: Some(synced(true, "")),
            last_transition: Some(ts(10)),
            observed_generation: Some(3),
        };
        let u = status_update(&observed, &synced(true, ""), Some(4), ts(99)).unwrap();
        assert_eq!(u.last_transition, ts(10));
        assert_eq!(u.last_update, ts(99));
        assert_eq!(u.observed_generation, Some(4));
    }

    #[test]
    fn flip_moves_transition_time_and_message_change_does_not() {
        let observed = ObservedStatus {
            condition: Some(synced(true, "")),
            last_transition: Some(ts(10)),
            observed_generation: Some(1),
        };
        let u = status_update(&observed, &synced(false, "boom"), Some(1), ts(50)).unwrap();
        assert_eq!(u.last_transition, ts(50));
        let observed = ObservedStatus {
            condition: Some(synced(false, "boom")),
            last_transition: Some(ts(50)),
            observed_generation: Some(1),
        };
        let u = status_update(&observed, &synced(false, "other"), Some(1), ts(60)).unwrap();
        assert_eq!(u.last_transition, ts(50));
    }

    #[test]
    fn first_status_is_written() {
        let u = status_update(
            &ObservedStatus::default(),
            &synced(true, ""),
            Some(1),
            ts(5),
        )
        .unwrap();
        assert_eq!(u.last_transition, ts(5));
        assert_eq!(ConditionStatus::parse("False").gauge_value(), -1);
    }
}
