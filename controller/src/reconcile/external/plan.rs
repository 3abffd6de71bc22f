//! The ExternalSecret planner: policies, the refresh decision, and "provider data + live
//! Secret → the Secret to write", with ESO's semantics (`externalsecret_controller.go`).
//! Pure: the caller supplies the clock, the live Secret and the provider data.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use sha2::{Digest as _, Sha256};

use super::hash;
use super::keys::DataMap;
use super::template::{self, Shape, TemplateSources};
use super::windows::{self, SyncWindows};
use crate::api::external::duration::{self, GoDuration};
use crate::api::external::external_secret::Target;
use crate::api::external::{
    ANNOTATION_DATA_HASH, API_VERSION_V1, ExternalSecret, LABEL_MANAGED, LABEL_OWNER,
};
use crate::apply::{OwnershipPolicy, WhenForeign, WriteMode};

/// `creationPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Creation {
    /// Create, own (GC'd with the ExternalSecret), replace data.
    Owner,
    /// Create, do not own, replace data.
    Orphan,
    /// Never create; merge into an existing Secret.
    Merge,
    /// Write nothing.
    None,
    /// Create if missing, else merge; never own.
    CreateOrMerge,
}

/// `deletionPolicy`: what happens when the provider returns no data at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// Keep the Secret as it is.
    Retain,
    /// Delete it (only with `Owner`).
    Delete,
    /// Remove the keys this ExternalSecret manages.
    Merge,
}

/// `refreshPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// Every `refreshInterval` (the default).
    Periodic,
    /// Once.
    CreatedOnce,
    /// When the ExternalSecret's spec/labels/annotations change.
    OnChange,
}

/// The ExternalSecret's policies, validated and defaulted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policies {
    /// creationPolicy.
    pub creation: Creation,
    /// deletionPolicy.
    pub deletion: Deletion,
    /// refreshPolicy.
    pub refresh: Refresh,
    /// refreshInterval (default 1h).
    pub interval: GoDuration,
    /// target.immutable.
    pub immutable: bool,
    /// syncWindows (gate periodic refreshes only); `None`: always allowed.
    pub windows: Option<SyncWindows>,
    /// What is malformed in `syncWindows` (never open, as in ESO; reported, not refused).
    pub window_problems: Vec<String>,
}

/// The default `refreshInterval` (ESO's CRD default, applied in code).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(3600);

impl Policies {
    /// Read and validate the policies of `es` (the combinations ESO's webhook forbids are
    /// refused here, since sealbox runs no webhook).
    pub fn of(es: &ExternalSecret) -> Result<Policies, String> {
        let target = es.spec.target.as_ref();
        if target.is_some_and(|t| t.manifest.is_some()) {
            return Err(
                "spec.target.manifest: generic targets (ConfigMaps, custom resources) are not supported by sealbox"
                    .into(),
            );
        }
        let creation = match Target::creation_policy(target) {
            "Owner" => Creation::Owner,
            "Orphan" => Creation::Orphan,
            "Merge" => Creation::Merge,
            "None" => Creation::None,
            "CreateOrMerge" => Creation::CreateOrMerge,
            other => {
                return Err(format!(
                    "spec.target.creationPolicy {other:?} is not supported (expected Owner, Orphan, Merge, None or CreateOrMerge)"
                ));
            }
        };
        let deletion = match Target::deletion_policy(target) {
            "Retain" => Deletion::Retain,
            "Delete" => Deletion::Delete,
            "Merge" => Deletion::Merge,
            other => {
                return Err(format!(
                    "spec.target.deletionPolicy {other:?} is not supported (expected Retain, Delete or Merge)"
                ));
            }
        };
        match (deletion, creation) {
            (Deletion::Delete, Creation::Merge | Creation::CreateOrMerge | Creation::None) => {
                return Err(format!(
                    "deletionPolicy=Delete must not be used with creationPolicy={creation:?}"
                ));
            }
            (Deletion::Merge, Creation::None) => {
                return Err(
                    "deletionPolicy=Merge must not be used with creationPolicy=None".into(),
                );
            }
            _ => {}
        }
        let refresh = match es.spec.refresh_policy.as_deref().unwrap_or("") {
            "" | "Periodic" => Refresh::Periodic,
            "CreatedOnce" => Refresh::CreatedOnce,
            "OnChange" => Refresh::OnChange,
            other => {
                return Err(format!(
                    "spec.refreshPolicy {other:?} is not supported (expected Periodic, CreatedOnce or OnChange)"
                ));
            }
        };
        let interval = match es.spec.refresh_interval.as_deref() {
            None | Some("") => GoDuration::from_std(DEFAULT_REFRESH_INTERVAL),
            Some(text) => {
                duration::parse(text).map_err(|e| format!("spec.refreshInterval: {e}"))?
            }
        };
        let windows::Parsed {
            windows,
            problems: window_problems,
        } = windows::parse(es.spec.sync_windows.as_ref());
        Ok(Policies {
            creation,
            deletion,
            refresh,
            interval,
            immutable: target.and_then(|t| t.immutable).unwrap_or(false),
            windows,
            window_problems,
        })
    }
}

/// `"<generation>-<hash>"` of the ExternalSecret now.
pub fn current_resource_version(es: &ExternalSecret) -> String {
    current_resource_version_of(&es.metadata)
}

/// `"<generation>-<hash of labels and annotations>"` of any object (ESO's formula).
pub fn current_resource_version_of(meta: &ObjectMeta) -> String {
    hash::synced_resource_version(
        meta.generation.unwrap_or(0),
        meta.labels.as_ref(),
        meta.annotations.as_ref(),
    )
}

/// A stable pseudo-random fraction in [0, 1) of `key` (spreads objects and stores).
pub fn spread(key: &str) -> f64 {
    let digest = Sha256::digest(key.as_bytes());
    f64::from(u32::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3],
    ])) / 4_294_967_296.0
}

/// A stable delay in `[0, 10 %)` of `interval` (at most 5 minutes) for `key`; used for
/// store re-validation.
pub fn jitter(key: &str, interval: GoDuration) -> Duration {
    let Some(interval) = interval.to_std() else {
        return Duration::ZERO;
    };
    interval
        .mul_f64(0.1 * spread(key))
        .min(Duration::from_secs(300))
}

/// Identity of the store an ExternalSecret reads from (its refresh wave).
pub fn store_key(es: &ExternalSecret) -> String {
    let store = es.spec.secret_store_ref.clone().unwrap_or_default();
    let ns = if store.is_cluster() {
        ""
    } else {
        es.metadata.namespace.as_deref().unwrap_or("")
    };
    format!("{}/{ns}/{}", store.kind(), store.name)
}

/// Periodic refreshes run in **waves per store**: the due time `refreshTime + interval`
/// is rounded down to the store's wave grid (width = 10 % of the interval, at least 1 s,
/// at most 5 minutes; offset = a stable fraction of the width per store).
///
/// * Every ExternalSecret of one store refreshes in the same wave, so their reads meet in
///   the request layer (one read per remote secret, AWS reads batched 20 per call):
///   1,000 ExternalSecrets over 100 AWS secrets cost 5 calls per cycle.
/// * Different stores get different offsets, so a controller restart or a mass apply
///   does not make every store refresh in lock step (ESO #4231), and each store's wave
///   is paced by the controller's concurrency, not fired at once.
/// * A refresh is never later than ESO's `refreshTime + interval` (rounding down), and at
///   most one wave width earlier.
pub fn wave_due(refresh_time: Timestamp, interval: Duration, store: &str) -> Timestamp {
    let width = (interval / 10).clamp(Duration::from_secs(1), Duration::from_secs(300));
    let width_ns = width.as_nanos() as i128;
    let offset = (width_ns as f64 * spread(store)) as i128;
    let raw = refresh_time.as_nanosecond() + interval.as_nanos() as i128;
    let aligned = (raw - offset).div_euclid(width_ns) * width_ns + offset;
    // Never before refreshTime itself (tiny intervals).
    let aligned = aligned.max(refresh_time.as_nanosecond());
    Timestamp::from_nanosecond(aligned).unwrap_or(refresh_time)
}

/// ESO `shouldRefresh` (with the store's refresh wave for periodic refreshes, and
/// `syncWindows` gating them).
pub fn should_refresh(es: &ExternalSecret, p: &Policies, now: Timestamp) -> bool {
    let status = es.status.as_ref();
    let synced = status
        .and_then(|s| s.synced_resource_version.as_deref())
        .unwrap_or("");
    let refresh_time = status.and_then(|s| s.refresh_time.as_ref()).map(|t| t.0);
    let never = synced.is_empty() || refresh_time.is_none();
    match p.refresh {
        Refresh::CreatedOnce => never,
        Refresh::OnChange => never || synced != current_resource_version(es),
        Refresh::Periodic => {
            if p.interval.is_non_positive() && !synced.is_empty() {
                return false;
            }
            if synced != current_resource_version(es) {
                return true;
            }
            let Some(last) = refresh_time else {
                return true;
            };
            if last > now {
                return true;
            }
            let interval = p.interval.to_std().unwrap_or_default();
            now >= wave_due(last, interval, &store_key(es))
                && p.windows.as_ref().is_none_or(|w| w.allows(now))
        }
    }
}

/// When to look again after a sync (ESO `getRequeueResult`, aligned to the store's
/// wave); `None` when nothing is periodic. A refresh that is due but blocked by
/// `syncWindows` waits for the next moment the windows allow one (ESO retries at once,
/// in a loop); when they never will, it looks again after one interval.
pub fn requeue_after(
    es: &ExternalSecret,
    p: &Policies,
    refreshed_at: Timestamp,
    now: Timestamp,
) -> Option<Duration> {
    if p.refresh != Refresh::Periodic || p.interval.is_non_positive() {
        return None;
    }
    let interval = p.interval.to_std().unwrap_or_default();
    let mut due = wave_due(refreshed_at, interval, &store_key(es)).max(now);
    if let Some(w) = &p.windows {
        due = match w.next_allowed(due) {
            Some(at) => at,
            None => return Some(interval.max(Duration::from_secs(1))),
        };
    }
    let wait = due.duration_since(now);
    Some(if wait.is_negative() {
        Duration::from_millis(100)
    } else {
        wait.unsigned_abs().max(Duration::from_millis(100))
    })
}

/// ESO `isSecretValid`: the live Secret exists, carries the managed label and its data
/// still hashes to the recorded data-hash (else it was edited and is re-synced).
pub fn is_secret_valid(live: Option<&Secret>, p: &Policies) -> bool {
    if p.creation == Creation::Orphan {
        return true;
    }
    let Some(live) = live else {
        return false;
    };
    let meta = &live.metadata;
    if meta
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_MANAGED))
        .map(String::as_str)
        != Some("true")
    {
        return false;
    }
    let recorded = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_DATA_HASH));
    recorded.is_some_and(|h| *h == live_hash(live))
}

/// The data-hash of a live Secret's data.
pub fn live_hash(live: &Secret) -> String {
    hash::data_hash(live.data.iter().flatten().map(|(k, v)| (k, v.0.as_slice())))
}

/// The data keys, labels and annotations a field manager owns on `live` (from
/// `managedFields`): what this ExternalSecret wrote last time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Managed {
    /// Data keys.
    pub data: BTreeSet<String>,
    /// Label keys.
    pub labels: BTreeSet<String>,
    /// Annotation keys.
    pub annotations: BTreeSet<String>,
}

fn field_keys(fields: &serde_json::Value, pointer: &str) -> BTreeSet<String> {
    fields
        .pointer(pointer)
        .and_then(|v| v.as_object())
        .map(|m| {
            m.keys()
                .filter_map(|k| k.strip_prefix("f:"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// ESO `getManagedDataKeys` / `GetManagedLabelKeys` / `GetManagedAnnotationKeys`.
pub fn managed_by(live: &Secret, manager: &str) -> Managed {
    let mut out = Managed::default();
    for entry in live.metadata.managed_fields.iter().flatten() {
        if entry.manager.as_deref() != Some(manager) {
            continue;
        }
        let Some(fields) = &entry.fields_v1 else {
            continue;
        };
        out.data.extend(field_keys(&fields.0, "/f:data"));
        out.labels
            .extend(field_keys(&fields.0, "/f:metadata/f:labels"));
        out.annotations
            .extend(field_keys(&fields.0, "/f:metadata/f:annotations"));
    }
    out
}

/// Why no Secret can be planned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The target is controlled by another ExternalSecret.
    #[error("secret is owned by another ExternalSecret: {0}")]
    OwnedByOther(String),
    /// The template failed.
    #[error(transparent)]
    Template(#[from] template::TemplateError),
}

/// The Secret to write and how.
#[derive(Clone, Debug)]
pub struct Desired {
    /// What the applier gets.
    pub secret: Secret,
    /// The ownership policy.
    pub ownership: OwnershipPolicy,
    /// The field manager (ESO's per-ExternalSecret name, so ownership of keys carries
    /// over between ESO and sealbox and several ExternalSecrets can merge into one Secret).
    pub manager: String,
}

/// The ownership rules of a creation policy.
pub fn ownership(es: &ExternalSecret, creation: Creation) -> OwnershipPolicy {
    let owner = OwnerReference {
        api_version: API_VERSION_V1.to_owned(),
        kind: "ExternalSecret".to_owned(),
        name: es.metadata.name.clone().unwrap_or_default(),
        uid: es.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    };
    let (owner, create_if_missing, when_foreign, mode) = match creation {
        Creation::Owner => (Some(owner), true, WhenForeign::Adopt, WriteMode::Replace),
        Creation::Orphan => (None, true, WhenForeign::Adopt, WriteMode::Replace),
        Creation::CreateOrMerge => (None, true, WhenForeign::Merge, WriteMode::Merge),
        Creation::Merge | Creation::None => (None, false, WhenForeign::Merge, WriteMode::Merge),
    };
    OwnershipPolicy {
        source_kind: "ExternalSecret",
        owner,
        create_if_missing,
        when_foreign,
        mode,
        adopt_annotation: None,
        merge_annotation: None,
        provenance_annotation: None,
    }
}

fn other_es_controller(live: &Secret, es_name: &str) -> Option<String> {
    live.metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| {
            r.controller == Some(true)
                && r.kind == "ExternalSecret"
                && r.api_version.starts_with("external-secrets.io/")
                && r.name != es_name
        })
        .map(|r| r.name.clone())
}

/// Build the Secret an ExternalSecret wants from the provider data (ESO's mutation
/// function): template, ownership label, managed label, data-hash.
///
/// In `Replace` mode (Owner, Orphan) the desired Secret carries the live labels and
/// annotations this ExternalSecret does not manage, so other tools' metadata is kept (as
/// ESO keeps it) while its data is exactly the computed data. In `Merge` mode (Merge,
/// CreateOrMerge) it carries only this ExternalSecret's keys; the data-hash is computed
/// over the merged result, as ESO does.
pub fn desired(
    es: &ExternalSecret,
    p: &Policies,
    live: Option<&Secret>,
    provider: &DataMap,
    sources: &TemplateSources,
) -> Result<Desired, PlanError> {
    let es_name = es.metadata.name.clone().unwrap_or_default();
    let namespace = es.metadata.namespace.clone().unwrap_or_default();
    let manager = hash::field_manager(&es_name);
    if let Some(live) = live
        && let Some(other) = other_es_controller(live, &es_name)
    {
        return Err(PlanError::OwnedByOther(other));
    }
    let managed = live.map(|l| managed_by(l, &manager)).unwrap_or_default();
    let live_data: DataMap = live
        .and_then(|l| l.data.as_ref())
        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
        .unwrap_or_default();
    let merging = matches!(p.creation, Creation::Merge | Creation::CreateOrMerge);

    let (ours, type_) = if p.immutable && live.is_some() {
        // ESO never re-templates an existing immutable target: only metadata moves.
        (
            Shape {
                data: live_data.clone(),
                ..Shape::default()
            },
            live.and_then(|l| l.type_.clone()),
        )
    } else {
        let ctx = template::Context {
            template: es.spec.target.as_ref().and_then(|t| t.template.as_ref()),
            // Only this ExternalSecret's keys: the merge with the live data is done below
            // (and by the API server in merge mode).
            creation_policy: "Owner",
            es_labels: es.metadata.labels.as_ref(),
            es_annotations: es.metadata.annotations.as_ref(),
        };
        let shape = template::apply(ctx, Shape::default(), provider, sources)?;
        let type_ = shape
            .type_
            .clone()
            .or_else(|| live.and_then(|l| l.type_.clone()));
        (shape, type_)
    };

    // The data the Secret ends up with (what the data-hash covers).
    let final_data: DataMap = if merging {
        let mut base: DataMap = live_data
            .into_iter()
            .filter(|(k, _)| !managed.data.contains(k))
            .collect();
        base.extend(ours.data.clone());
        base
    } else {
        ours.data.clone()
    };
    let data_hash = hash::data_hash(final_data.iter().map(|(k, v)| (k, v.as_slice())));

    let mut labels = BTreeMap::new();
    let mut annotations = BTreeMap::new();
    if !merging && let Some(live) = live {
        // Keep what others put on the Secret; drop what we put there before.
        for (k, v) in live.metadata.labels.iter().flatten() {
            if !managed.labels.contains(k) && k != LABEL_OWNER {
                labels.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in live.metadata.annotations.iter().flatten() {
            if !managed.annotations.contains(k) {
                annotations.insert(k.clone(), v.clone());
            }
        }
    }
    labels.extend(ours.labels.clone());
    annotations.extend(ours.annotations.clone());
    if p.creation == Creation::Owner {
        labels.insert(
            LABEL_OWNER.to_owned(),
            hash::owner_label(&namespace, &es_name),
        );
    }
    labels.insert(LABEL_MANAGED.to_owned(), "true".to_owned());
    annotations.insert(ANNOTATION_DATA_HASH.to_owned(), data_hash);

    let data_to_write = if merging { ours.data } else { final_data };
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(es.spec.target_name(&es_name).to_owned()),
            namespace: Some(namespace),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        type_,
        immutable: p.immutable.then_some(true),
        data: Some(
            data_to_write
                .into_iter()
                .map(|(k, v)| (k, ByteString(v)))
                .collect(),
        ),
        ..Secret::default()
    };
    Ok(Desired {
        secret,
        ownership: ownership(es, p.creation),
        manager,
    })
}

/// What a reconcile does after reading the provider (ESO's `Reconcile` from step 6 on).
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Write this Secret; Ready=True `SecretSynced` "secret synced".
    Write(Box<Desired>),
    /// No data and `deletionPolicy: Delete`: delete the target if it exists; Ready=True
    /// `SecretDeleted`.
    Delete {
        /// Target name.
        name: String,
    },
    /// No data and `deletionPolicy: Retain`: keep the Secret; Ready=True `SecretSynced`
    /// "secret retained due to DeletionPolicy=Retain".
    Retained,
    /// `creationPolicy: Merge` and no Secret: Ready=True `SecretMissing`, look again at the
    /// next refresh.
    Missing,
    /// `creationPolicy: None`: nothing to write; Ready=True `SecretSynced`.
    Nothing,
    /// Ready=False `SecretSyncedError` with ESO's `message`; `error` goes to the event.
    Failed {
        /// ESO's condition message.
        message: &'static str,
        /// The cause (value-free).
        error: String,
    },
}

/// Decide what to do with the provider data.
pub fn outcome(
    es: &ExternalSecret,
    p: &Policies,
    live: Option<&Secret>,
    provider: &DataMap,
    sources: &TemplateSources,
) -> Outcome {
    let es_name = es.metadata.name.clone().unwrap_or_default();
    let target = es.spec.target_name(&es_name).to_owned();
    if provider.is_empty() {
        match p.deletion {
            Deletion::Delete => {
                if p.creation != Creation::Owner {
                    return Outcome::Failed {
                        message: MSG_ERROR_DELETE,
                        error: format!(
                            "unable to delete secret {target}: creationPolicy={:?} is not Owner",
                            p.creation
                        ),
                    };
                }
                return Outcome::Delete { name: target };
            }
            Deletion::Retain => return Outcome::Retained,
            Deletion::Merge => {}
        }
    }
    match p.creation {
        Creation::None => return Outcome::Nothing,
        Creation::Merge if live.is_none() => return Outcome::Missing,
        _ => {}
    }
    match desired(es, p, live, provider, sources) {
        Ok(d) => Outcome::Write(Box::new(d)),
        Err(PlanError::OwnedByOther(other)) => Outcome::Failed {
            message: MSG_ERROR_IS_OWNED,
            error: format!("secret is owned by another ExternalSecret: {other}"),
        },
        Err(e @ PlanError::Template(_)) => Outcome::Failed {
            message: MSG_ERROR_UPDATE,
            error: format!("unable to mutate secret {target}: {e}"),
        },
    }
}

/// ESO's condition messages.
pub const MSG_SYNCED: &str = "secret synced";
/// Retained.
pub const MSG_SYNCED_RETAIN: &str = "secret retained due to DeletionPolicy=Retain";
/// Deleted.
pub const MSG_DELETED: &str = "secret deleted due to DeletionPolicy=Delete";
/// Merge target missing.
pub const MSG_MISSING: &str = "secret will not be created due to CreationPolicy=Merge";
/// Provider failed.
pub const MSG_ERROR_GET_DATA: &str = "could not get secret data from provider";
/// Delete failed.
pub const MSG_ERROR_DELETE: &str = "could not delete secret";
/// Write failed.
pub const MSG_ERROR_UPDATE: &str = "could not update secret";
/// Immutable target.
pub const MSG_ERROR_IMMUTABLE: &str = "could not update secret, target is immutable";
/// Owned by another ExternalSecret.
pub const MSG_ERROR_IS_OWNED: &str = "target is owned by another ExternalSecret";
/// Invalid spec (sealbox: ESO's webhook would have refused the object).
pub const MSG_ERROR_INVALID_SPEC: &str = "invalid ExternalSecret spec";

#[cfg(test)]
mod tests;
