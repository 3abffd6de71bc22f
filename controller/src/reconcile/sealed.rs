//! The SealedSecret planner: SealedSecret + keys + live Secret → [`Plan`]. Pure (no I/O,
//! no clock) and synchronous — it may do RSA work, so the caller runs it off the async
//! threads.
//!
//! Order of business:
//! 1. the ownership check, before any decryption: a Secret we may not touch costs no RSA;
//! 2. the no-RSA shortcut (see [`bookkeeping`](super::bookkeeping)): when the live Secret
//!    was made from exactly this SealedSecret and its data still carries our MAC, the
//!    desired Secret is the template's metadata plus the live data;
//! 3. otherwise unseal (the key that opened the object last time is tried first), and
//!    record digest, key and MAC on the Secret for next time.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use sealbox_keys::sealing::{
    KeyId, Keyring, MANAGED_ANNOTATION, PATCH_ANNOTATION, SKIP_SET_OWNER_REFERENCES_ANNOTATION,
};

use super::bookkeeping::{
    DATA_MAC_ANNOTATION, DigestOptions, OPENED_BY_ANNOTATION, SOURCE_DIGEST_ANNOTATION,
    SOURCE_UID_ANNOTATION, source_digest,
};
use crate::api::sealed_secret::{API_VERSION, KIND};
use crate::api::{SealedSecret, UnsealOptions, unseal};
use crate::apply::{
    ConditionState, ConditionStatus, Decision, DesiredSecret, OwnershipPolicy, Plan, PlannedEvent,
    WhenForeign, WriteMode, decide,
};
use crate::keystore::KeySnapshot;

/// The condition type SealedSecrets report.
pub const SYNCED: &str = "Synced";
/// Event/condition reason: success (Bitnami's).
pub const REASON_UNSEALED: &str = "Unsealed";
/// Event/condition reason: decryption or template failure (Bitnami's).
pub const REASON_UNSEAL_FAILED: &str = "ErrUnsealFailed";
/// Event/condition reason: the Secret could not be written (Bitnami's).
pub const REASON_UPDATE_FAILED: &str = "ErrUpdateFailed";
/// Event reason: a hand-edited or deleted Secret was put back.
pub const REASON_RESTORED: &str = "SecretRestored";

/// Planner options (controller flags).
#[derive(Clone, Copy, Debug)]
pub struct PlannerOptions {
    /// `--accept-deprecated-v1-data`.
    pub accept_deprecated_v1_data: bool,
}

impl Default for PlannerOptions {
    fn default() -> Self {
        PlannerOptions {
            accept_deprecated_v1_data: true,
        }
    }
}

/// How the plan was reached (for metrics and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// The ownership check refused before any decryption.
    Refused,
    /// The live Secret was verified by digest and MAC: no decryption.
    Verified,
    /// The values were decrypted.
    Unsealed,
    /// Decryption (or a template) failed.
    Failed,
}

/// A plan and how it was made.
#[derive(Debug)]
pub struct SealedPlan {
    /// The plan.
    pub plan: Plan,
    /// How.
    pub path: Path,
}

/// The ownership policy of the Secret a SealedSecret makes (Bitnami's rules).
pub fn ownership_policy(sealed: &SealedSecret) -> OwnershipPolicy {
    let skip_owner = sealed
        .spec
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(SKIP_SET_OWNER_REFERENCES_ANNOTATION))
        .is_some_and(|v| v == "true");
    let owner = (!skip_owner).then(|| OwnerReference {
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        name: sealed.metadata.name.clone().unwrap_or_default(),
        uid: sealed.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    });
    OwnershipPolicy {
        source_kind: "SealedSecret",
        owner,
        create_if_missing: true,
        when_foreign: WhenForeign::Refuse,
        mode: WriteMode::Replace,
        adopt_annotation: Some(MANAGED_ANNOTATION.to_owned()),
        merge_annotation: Some(PATCH_ANNOTATION.to_owned()),
        provenance_annotation: Some(SOURCE_UID_ANNOTATION.to_owned()),
    }
}

fn synced_true() -> ConditionState {
    ConditionState::new(SYNCED, ConditionStatus::True, REASON_UNSEALED, "")
}

/// Plan one SealedSecret. `live` is the target Secret as the API server has it.
pub fn plan(
    sealed: &SealedSecret,
    keys: &KeySnapshot,
    live: Option<&Secret>,
    options: PlannerOptions,
) -> SealedPlan {
    let uid = sealed.metadata.uid.clone().unwrap_or_default();
    let policy = ownership_policy(sealed);
    let decision = decide(&policy, live, &uid);
    let mode = match &decision {
        Decision::Refuse(msg) => {
            return SealedPlan {
                plan: Plan::fail(
                    ConditionState::new(
                        SYNCED,
                        ConditionStatus::False,
                        REASON_UPDATE_FAILED,
                        format!("failed update: {msg}"),
                    ),
                    PlannedEvent::warning(REASON_UPDATE_FAILED, msg.clone()),
                    true,
                ),
                path: Path::Refused,
            };
        }
        Decision::Write { mode, .. } => *mode,
        Decision::Create | Decision::Skip(_) => WriteMode::Replace,
    };
    let digest = source_digest(
        sealed,
        DigestOptions {
            accept_deprecated_v1_data: options.accept_deprecated_v1_data,
        },
    );

    if let Some(live) = live
        && let Some(desired) = verified_shortcut(sealed, keys, live, &digest, mode, options)
    {
        let mut plan = Plan::write(
            DesiredSecret {
                secret: desired,
                ownership: policy,
            },
            synced_true(),
        );
        plan.source_changed = false;
        return SealedPlan {
            plan,
            path: Path::Verified,
        };
    }

    let hint = live.and_then(recorded_key);
    let unsealed = unseal(
        sealed,
        keys.keyring(),
        &UnsealOptions {
            accept_deprecated_v1_data: options.accept_deprecated_v1_data,
            preferred_key: hint.as_ref(),
        },
    );
    match unsealed {
        Err(e) => SealedPlan {
            plan: Plan::fail(
                ConditionState::new(
                    SYNCED,
                    ConditionStatus::False,
                    REASON_UNSEAL_FAILED,
                    e.to_string(),
                ),
                PlannedEvent::warning(REASON_UNSEAL_FAILED, format!("Failed to unseal: {e}")),
                false,
            ),
            path: Path::Failed,
        },
        Ok(unsealed) => {
            let mut secret = unsealed.secret.clone();
            let key = unsealed
                .main_key()
                .cloned()
                .or(hint)
                .or_else(|| keys.keyring().newest().map(|k| k.key_id().clone()));
            record(&mut secret, &uid, &digest, key.as_ref(), keys);
            let source_changed = live
                .is_none_or(|l| annotation(l, SOURCE_DIGEST_ANNOTATION) != Some(digest.as_str()));
            let mut plan = Plan::write(
                DesiredSecret {
                    secret,
                    ownership: policy,
                },
                synced_true(),
            );
            plan.source_changed = source_changed;
            SealedPlan {
                plan,
                path: Path::Unsealed,
            }
        }
    }
}

fn annotation<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

fn recorded_key(live: &Secret) -> Option<KeyId> {
    annotation(live, OPENED_BY_ANNOTATION).and_then(|s| s.parse().ok())
}

/// The data keys a SealedSecret's Secret holds, known without decrypting (`None` for the
/// legacy `spec.data` format, whose keys are inside the ciphertext).
fn managed_keys(sealed: &SealedSecret) -> Option<BTreeSet<String>> {
    if sealed.spec.data.is_some() {
        return None;
    }
    let mut keys: BTreeSet<String> = sealed.spec.encrypted_data.keys().cloned().collect();
    if let Some(templates) = sealed.spec.template.as_ref().and_then(|t| t.data.as_ref()) {
        keys.extend(templates.keys().cloned());
    }
    Some(keys)
}

/// The desired Secret without decryption, if the live Secret proves it holds exactly what
/// unsealing this SealedSecret would produce.
fn verified_shortcut(
    sealed: &SealedSecret,
    keys: &KeySnapshot,
    live: &Secret,
    digest: &str,
    mode: WriteMode,
    options: PlannerOptions,
) -> Option<Secret> {
    if annotation(live, SOURCE_DIGEST_ANNOTATION) != Some(digest) {
        return None;
    }
    let key = recorded_key(live)?;
    let mac_key = keys.mac_key(&key)?;
    let recorded_mac = annotation(live, DATA_MAC_ANNOTATION)?;
    let managed = managed_keys(sealed)?;
    let live_data = live.data.clone().unwrap_or_default();
    if mode == WriteMode::Replace && live_data.keys().ne(managed.iter()) {
        return None;
    }
    let mut data: BTreeMap<String, ByteString> = BTreeMap::new();
    for k in &managed {
        data.insert(k.clone(), live_data.get(k)?.clone());
    }
    if !mac_key.verify(recorded_mac, digest, &data) {
        return None;
    }
    // Everything but the values is a function of the SealedSecret alone: unseal a copy
    // without values (no key is used) to build it exactly as a full unseal would.
    let mut shell_source = sealed.clone();
    shell_source.spec.encrypted_data.clear();
    if let Some(t) = shell_source.spec.template.as_mut() {
        t.data = None;
    }
    let shell = unseal(
        &shell_source,
        &Keyring::new(),
        &UnsealOptions {
            accept_deprecated_v1_data: options.accept_deprecated_v1_data,
            preferred_key: None,
        },
    )
    .ok()?;
    let mut secret = shell.secret;
    secret.data = Some(data);
    let uid = sealed.metadata.uid.clone().unwrap_or_default();
    record(&mut secret, &uid, digest, Some(&key), keys);
    Some(secret)
}

/// Write the bookkeeping annotations onto a desired Secret.
fn record(secret: &mut Secret, uid: &str, digest: &str, key: Option<&KeyId>, keys: &KeySnapshot) {
    let mac = key
        .and_then(|k| keys.mac_key(k))
        .map(|m| m.mac(digest, secret.data.iter().flatten()));
    let annotations = secret
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new);
    annotations.insert(SOURCE_UID_ANNOTATION.to_owned(), uid.to_owned());
    annotations.insert(SOURCE_DIGEST_ANNOTATION.to_owned(), digest.to_owned());
    if let Some(key) = key {
        annotations.insert(OPENED_BY_ANNOTATION.to_owned(), key.to_string());
    }
    if let Some(mac) = mac {
        annotations.insert(DATA_MAC_ANNOTATION.to_owned(), mac);
    }
}

#[cfg(test)]
mod tests;
