use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry, Time};
use serde_json::json;

use super::*;
use crate::api::external::ExternalSecretStatus;
use crate::api::external::external_secret::{ExternalSecretSpec, Template, TemplateMetadata};
use crate::apply::{Decision, decide};

fn es(creation: Option<&str>, deletion: Option<&str>) -> ExternalSecret {
    let mut es = ExternalSecret::new(
        "db",
        ExternalSecretSpec {
            target: Some(Target {
                creation_policy: creation.map(str::to_owned),
                deletion_policy: deletion.map(str::to_owned),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    es.metadata.namespace = Some("app".into());
    es.metadata.uid = Some("uid-1".into());
    es.metadata.generation = Some(1);
    es
}

fn data(entries: &[(&str, &str)]) -> DataMap {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn live(
    entries: &[(&str, &str)],
    labels: &[(&str, &str)],
    managed: Option<serde_json::Value>,
) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some("db".into()),
            namespace: Some("app".into()),
            uid: Some("secret-uid".into()),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            managed_fields: managed.map(|fields| {
                vec![ManagedFieldsEntry {
                    manager: Some(hash::field_manager("db")),
                    operation: Some("Apply".into()),
                    fields_v1: Some(FieldsV1(fields)),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        },
        data: Some(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                .collect(),
        ),
        ..Default::default()
    }
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

fn synced_at(mut es: ExternalSecret, at: i64) -> ExternalSecret {
    let rv = current_resource_version(&es);
    es.status = Some(ExternalSecretStatus {
        refresh_time: Some(Time(ts(at))),
        synced_resource_version: Some(rv),
        ..Default::default()
    });
    es
}

#[test]
fn policies_default_and_forbidden_combinations() {
    let p = Policies::of(&es(None, None)).unwrap();
    assert_eq!(p.creation, Creation::Owner);
    assert_eq!(p.deletion, Deletion::Retain);
    assert_eq!(p.refresh, Refresh::Periodic);
    assert_eq!(p.interval, GoDuration::from_std(Duration::from_secs(3600)));
    for (c, d) in [
        ("Merge", "Delete"),
        ("CreateOrMerge", "Delete"),
        ("None", "Delete"),
        ("None", "Merge"),
    ] {
        assert!(Policies::of(&es(Some(c), Some(d))).is_err(), "{c}+{d}");
    }
    for (c, d) in [
        ("Owner", "Delete"),
        ("Orphan", "Retain"),
        ("Merge", "Merge"),
        ("CreateOrMerge", "Retain"),
        ("None", "Retain"),
        ("Owner", "Merge"),
    ] {
        assert!(Policies::of(&es(Some(c), Some(d))).is_ok(), "{c}+{d}");
    }
    assert!(
        Policies::of(&es(Some("Own"), None))
            .unwrap_err()
            .contains("\"Own\"")
    );
    let mut bad = es(None, None);
    bad.spec.refresh_interval = Some("1d".into());
    assert!(Policies::of(&bad).unwrap_err().contains("refreshInterval"));
}

#[test]
fn refresh_decision_like_eso_in_store_waves() {
    let base = es(None, None);
    let p = Policies::of(&base).unwrap();
    // Never synced.
    assert!(should_refresh(&base, &p, ts(1000)));
    let synced = synced_at(base.clone(), 1000);
    assert!(!should_refresh(&synced, &p, ts(1000 + 60)));
    let due = wave_due(ts(1000), Duration::from_secs(3600), &store_key(&synced));
    assert!(due <= ts(1000 + 3600), "never later than ESO");
    assert!(
        due > ts(1000 + 3600 - 300),
        "at most one wave (10%, max 5 min) earlier"
    );
    assert!(!should_refresh(
        &synced,
        &p,
        due - jiff::SignedDuration::from_secs(1)
    ));
    assert!(should_refresh(&synced, &p, due));
    // A label/annotation change (force-sync) or a spec change (generation) forces it.
    let mut forced = synced.clone();
    forced.metadata.annotations = Some(BTreeMap::from([(
        "external-secrets.io/force-sync".to_owned(),
        "1".to_owned(),
    )]));
    assert!(should_refresh(&forced, &p, ts(1001)));
    let mut changed = synced.clone();
    changed.metadata.generation = Some(2);
    assert!(should_refresh(&changed, &p, ts(1001)));
    // refreshInterval 0: once.
    let mut once = synced.clone();
    once.spec.refresh_interval = Some("0s".into());
    let p0 = Policies::of(&once).unwrap();
    assert!(!should_refresh(&once, &p0, ts(99_999)));
    assert_eq!(requeue_after(&once, &p0, ts(1000), ts(1000)), None);
    // CreatedOnce / OnChange.
    let mut created_once = synced.clone();
    created_once.spec.refresh_policy = Some("CreatedOnce".into());
    let pc = Policies::of(&created_once).unwrap();
    assert!(!should_refresh(&created_once, &pc, ts(99_999)));
    created_once.metadata.generation = Some(5);
    assert!(!should_refresh(&created_once, &pc, ts(99_999)));
    let mut on_change = synced.clone();
    on_change.spec.refresh_policy = Some("OnChange".into());
    let po = Policies::of(&on_change).unwrap();
    assert!(!should_refresh(&on_change, &po, ts(99_999)));
    on_change.metadata.generation = Some(5);
    assert!(should_refresh(&on_change, &po, ts(1001)));
    // Requeue = until the wave.
    let r = requeue_after(&synced, &p, ts(1000), ts(1600)).unwrap();
    assert_eq!(r, due.duration_since(ts(1600)).unsigned_abs());
}

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn with_windows(mut es: ExternalSecret, kind: &str, list: &[(&str, &str)]) -> ExternalSecret {
    use crate::api::external::external_secret::{SyncWindow, SyncWindows as Spec};
    es.spec.sync_windows = Some(Spec {
        kind: kind.into(),
        windows: list
            .iter()
            .map(|(s, d)| SyncWindow {
                schedule: (*s).into(),
                duration: (*d).into(),
            })
            .collect(),
    });
    es
}

#[test]
fn sync_windows_gate_only_periodic_refreshes() {
    // Allowed 22:00-00:00 UTC daily; refresh every 10 minutes.
    let mut base = with_windows(es(None, None), "allow", &[("0 22 * * *", "2h")]);
    base.spec.refresh_interval = Some("10m".into());
    let p = Policies::of(&base).unwrap();
    assert!(p.windows.is_some() && p.window_problems.is_empty());
    let last = at("2026-06-01T12:00:00Z");
    let synced = synced_at(base.clone(), last.as_second());
    let later = at("2026-06-01T15:00:00Z"); // long overdue, but outside the window
    assert!(!should_refresh(&synced, &p, later), "periodic: gated");
    assert!(
        should_refresh(&synced, &p, at("2026-06-01T22:30:00Z")),
        "inside the window"
    );
    // Never synced, changed and force-synced objects are not gated.
    assert!(should_refresh(&base, &p, later), "never synced");
    let mut changed = synced.clone();
    changed.metadata.generation = Some(2);
    assert!(should_refresh(&changed, &p, later), "spec change");
    let mut forced = synced.clone();
    forced.metadata.annotations = Some(BTreeMap::from([(
        "external-secrets.io/force-sync".to_owned(),
        "now".to_owned(),
    )]));
    assert!(should_refresh(&forced, &p, later), "force-sync");
    // Blocked: sleep until the window opens, not in a loop, not a whole interval.
    assert_eq!(
        requeue_after(&synced, &p, last, later),
        Some(Duration::from_secs(7 * 3600)),
        "15:00 -> 22:00"
    );
    // Inside the window: the ordinary wave.
    let inside = at("2026-06-01T22:30:00Z");
    let r = requeue_after(&synced, &p, inside, inside).unwrap();
    assert!(
        r <= Duration::from_secs(600) && r > Duration::from_secs(500),
        "{r:?}"
    );
    // A due refresh that would land after the window closes waits for the next one.
    let near_close = at("2026-06-01T23:55:00Z");
    assert_eq!(
        requeue_after(&synced, &p, near_close, near_close),
        Some(Duration::from_secs(22 * 3600 + 5 * 60)),
        "23:55 + 10m is outside; next opening 22:00 the next day"
    );

    // Deny 01:00-05:00: blocked inside, the requeue lands just after it closes.
    let mut deny = with_windows(es(None, None), "deny", &[("0 1 * * *", "4h")]);
    deny.spec.refresh_interval = Some("10m".into());
    let pd = Policies::of(&deny).unwrap();
    let deny_synced = synced_at(deny, at("2026-06-01T00:30:00Z").as_second());
    assert!(!should_refresh(
        &deny_synced,
        &pd,
        at("2026-06-01T02:00:00Z")
    ));
    assert!(should_refresh(
        &deny_synced,
        &pd,
        at("2026-06-01T05:00:01Z")
    ));
    assert_eq!(
        requeue_after(
            &deny_synced,
            &pd,
            at("2026-06-01T00:58:00Z"),
            at("2026-06-01T00:58:00Z")
        ),
        Some(Duration::from_secs(4 * 3600 + 2 * 60 + 1)),
        "00:58 + 10m falls in the window; 05:00:01 is the first allowed moment"
    );

    // A deny window that never closes: look again after one interval, never spin.
    let mut stuck = with_windows(es(None, None), "deny", &[("@every 1m", "1h")]);
    stuck.spec.refresh_interval = Some("10m".into());
    let ps = Policies::of(&stuck).unwrap();
    let stuck = synced_at(stuck, last.as_second());
    assert!(!should_refresh(&stuck, &ps, later));
    assert_eq!(
        requeue_after(&stuck, &ps, last, later),
        Some(Duration::from_secs(600))
    );
}

#[test]
fn malformed_sync_windows_never_block_the_first_sync() {
    // ESO: a window with a bad schedule is never open; only periodic refreshes are gated.
    let mut bad = with_windows(es(None, None), "allow", &[("every night", "2h")]);
    bad.spec.refresh_interval = Some("10m".into());
    let p = Policies::of(&bad).expect("not refused");
    assert_eq!(p.window_problems.len(), 1);
    assert!(
        p.window_problems[0].contains("spec.syncWindows.windows[0].schedule"),
        "{:?}",
        p.window_problems
    );
    let now = at("2026-06-01T23:00:00Z");
    assert!(should_refresh(&bad, &p, now), "first sync happens");
    let synced = synced_at(bad, at("2026-06-01T12:00:00Z").as_second());
    assert!(
        !should_refresh(&synced, &p, now),
        "an allow list with no open window blocks periodic refreshes"
    );
}

#[test]
fn objects_of_one_store_share_a_wave_and_stores_are_spread() {
    let interval = Duration::from_secs(600);
    // Objects of one store synced within the same wave stay together.
    let waves: BTreeSet<Timestamp> = (0..50)
        .map(|i| wave_due(ts(10_000 + i), interval, "SecretStore/app/aws"))
        .collect();
    assert!(waves.len() <= 2, "{waves:?}");
    let first = *waves.iter().next().unwrap();
    let again = wave_due(first, interval, "SecretStore/app/aws");
    assert_eq!(
        again.duration_since(first).unsigned_abs(),
        interval,
        "stable period"
    );
    // Different stores get different offsets.
    let offsets: BTreeSet<i64> = (0..100)
        .map(|i| wave_due(ts(10_000), interval, &format!("ClusterSecretStore//s{i}")).as_second())
        .collect();
    assert!(
        offsets.len() > 30,
        "stores must be spread: {}",
        offsets.len()
    );
    assert_eq!(
        jitter("x", GoDuration::from_std(interval)),
        jitter("x", GoDuration::from_std(interval))
    );
    assert!(jitter("x", GoDuration::from_std(interval)) < Duration::from_secs(60));
}

#[test]
fn secret_validity_uses_label_and_data_hash() {
    let p = Policies::of(&es(None, None)).unwrap();
    assert!(!is_secret_valid(None, &p));
    let mut s = live(&[("a", "1")], &[(LABEL_MANAGED, "true")], None);
    s.metadata.annotations = Some(BTreeMap::from([(
        ANNOTATION_DATA_HASH.to_owned(),
        live_hash(&s),
    )]));
    assert!(is_secret_valid(Some(&s), &p));
    let mut edited = s.clone();
    edited
        .data
        .as_mut()
        .unwrap()
        .insert("a".into(), ByteString(b"2".to_vec()));
    assert!(!is_secret_valid(Some(&edited), &p));
    let mut unlabeled = s.clone();
    unlabeled.metadata.labels = None;
    assert!(!is_secret_valid(Some(&unlabeled), &p));
    let orphan = Policies::of(&es(Some("Orphan"), None)).unwrap();
    assert!(is_secret_valid(None, &orphan));
}

#[test]
fn owner_writes_exact_data_keeps_foreign_metadata_and_records_esos_markers() {
    let e = es(None, None);
    let p = Policies::of(&e).unwrap();
    let current = live(
        &[("stale", "x"), ("a", "old")],
        &[
            ("argocd.argoproj.io/instance", "app"),
            ("old-template-label", "1"),
        ],
        Some(
            json!({"f:data": {"f:stale": {}}, "f:metadata": {"f:labels": {"f:old-template-label": {}}}}),
        ),
    );
    let d = desired(
        &e,
        &p,
        Some(&current),
        &data(&[("a", "new")]),
        &TemplateSources::default(),
    )
    .unwrap();
    let s = &d.secret;
    assert_eq!(d.manager, "externalsecrets.external-secrets.io/db");
    assert_eq!(s.data.as_ref().unwrap().keys().collect::<Vec<_>>(), ["a"]);
    let labels = s.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[LABEL_MANAGED], "true");
    assert_eq!(labels[LABEL_OWNER], hash::owner_label("app", "db"));
    assert_eq!(
        labels["argocd.argoproj.io/instance"], "app",
        "foreign labels kept"
    );
    assert!(
        !labels.contains_key("old-template-label"),
        "our old labels dropped"
    );
    let expected_hash = hash::data_hash([(&"a".to_owned(), b"new".as_slice())]);
    assert_eq!(
        s.metadata.annotations.as_ref().unwrap()[ANNOTATION_DATA_HASH],
        expected_hash
    );
    assert_eq!(d.ownership.owner.as_ref().unwrap().uid, "uid-1");
    // The applier adopts an existing Secret for Owner and writes our owner reference.
    assert_eq!(
        decide(&d.ownership, Some(&current), "uid-1"),
        Decision::Write {
            mode: WriteMode::Replace,
            set_owner: true
        }
    );
}

#[test]
fn merge_writes_only_our_keys_but_hashes_the_merged_result() {
    let e = es(Some("Merge"), None);
    let p = Policies::of(&e).unwrap();
    let current = live(
        &[("theirs", "t"), ("ours-old", "o")],
        &[],
        Some(json!({"f:data": {"f:ours-old": {}}})),
    );
    let d = desired(
        &e,
        &p,
        Some(&current),
        &data(&[("ours", "v")]),
        &TemplateSources::default(),
    )
    .unwrap();
    assert_eq!(
        d.secret.data.as_ref().unwrap().keys().collect::<Vec<_>>(),
        ["ours"]
    );
    let merged = data(&[("theirs", "t"), ("ours", "v")]);
    assert_eq!(
        d.secret.metadata.annotations.as_ref().unwrap()[ANNOTATION_DATA_HASH],
        hash::data_hash(merged.iter().map(|(k, v)| (k, v.as_slice())))
    );
    assert!(d.ownership.owner.is_none());
    assert!(!d.ownership.create_if_missing);
    assert!(
        !d.secret
            .metadata
            .labels
            .as_ref()
            .unwrap()
            .contains_key(LABEL_OWNER)
    );
    let com = Policies::of(&es(Some("CreateOrMerge"), None)).unwrap();
    let d = desired(
        &e,
        &com,
        None,
        &data(&[("ours", "v")]),
        &TemplateSources::default(),
    )
    .unwrap();
    assert!(d.ownership.create_if_missing && d.ownership.owner.is_none());
    assert_eq!(d.ownership.mode, WriteMode::Merge);
}

#[test]
fn another_external_secrets_target_is_refused() {
    let e = es(None, None);
    let p = Policies::of(&e).unwrap();
    let mut current = live(&[], &[], None);
    current.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "external-secrets.io/v1".into(),
        kind: "ExternalSecret".into(),
        name: "other".into(),
        uid: "u2".into(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    match outcome(
        &e,
        &p,
        Some(&current),
        &data(&[("a", "1")]),
        &TemplateSources::default(),
    ) {
        Outcome::Failed { message, error } => {
            assert_eq!(message, MSG_ERROR_IS_OWNED);
            assert!(error.contains("other"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn immutable_targets_keep_their_data() {
    let mut e = es(None, None);
    e.spec.target.as_mut().unwrap().immutable = Some(true);
    let p = Policies::of(&e).unwrap();
    let d = desired(
        &e,
        &p,
        None,
        &data(&[("a", "1")]),
        &TemplateSources::default(),
    )
    .unwrap();
    assert_eq!(d.secret.immutable, Some(true));
    let mut current = live(&[("a", "1")], &[], None);
    current.immutable = Some(true);
    let d = desired(
        &e,
        &p,
        Some(&current),
        &data(&[("a", "CHANGED")]),
        &TemplateSources::default(),
    )
    .unwrap();
    assert_eq!(d.secret.data.as_ref().unwrap()["a"].0, b"1");
}

#[test]
fn empty_provider_data_follows_the_deletion_policy() {
    let none = DataMap::new();
    let sources = TemplateSources::default();
    let e = es(Some("Owner"), Some("Delete"));
    let p = Policies::of(&e).unwrap();
    assert!(
        matches!(outcome(&e, &p, None, &none, &sources), Outcome::Delete { name } if name == "db")
    );
    let e = es(None, None);
    let p = Policies::of(&e).unwrap();
    assert!(matches!(
        outcome(&e, &p, None, &none, &sources),
        Outcome::Retained
    ));
    let e = es(Some("Owner"), Some("Merge"));
    let p = Policies::of(&e).unwrap();
    match outcome(&e, &p, None, &none, &sources) {
        Outcome::Write(d) => assert!(d.secret.data.as_ref().unwrap().is_empty()),
        other => panic!("{other:?}"),
    }
    let e = es(Some("Merge"), Some("Merge"));
    let p = Policies::of(&e).unwrap();
    assert!(matches!(
        outcome(&e, &p, None, &none, &sources),
        Outcome::Missing
    ));
    let e = es(Some("None"), None);
    let p = Policies::of(&e).unwrap();
    assert!(matches!(
        outcome(&e, &p, None, &data(&[("a", "1")]), &sources),
        Outcome::Nothing
    ));
}

#[test]
fn template_type_and_labels_are_applied_and_errors_never_show_values() {
    let mut e = es(None, None);
    e.spec.target.as_mut().unwrap().template = Some(Template {
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: BTreeMap::from([(".dockerconfigjson".to_owned(), "{{ .cfg }}".to_owned())]),
        metadata: Some(TemplateMetadata {
            labels: BTreeMap::from([("l".to_owned(), "{{ .cfg | len }}".to_owned())]),
            ..Default::default()
        }),
        ..Default::default()
    });
    let p = Policies::of(&e).unwrap();
    let d = desired(
        &e,
        &p,
        None,
        &data(&[("cfg", "{}")]),
        &TemplateSources::default(),
    )
    .unwrap();
    assert_eq!(
        d.secret.type_.as_deref(),
        Some("kubernetes.io/dockerconfigjson")
    );
    assert_eq!(d.secret.metadata.labels.as_ref().unwrap()["l"], "2");
    match outcome(
        &e,
        &p,
        None,
        &data(&[("other", "hunter2")]),
        &TemplateSources::default(),
    ) {
        Outcome::Failed { message, error } => {
            assert_eq!(message, MSG_ERROR_UPDATE);
            assert!(
                error.contains("cfg") && !error.contains("hunter2"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_template_keeps_the_live_type() {
    let e = es(None, None);
    let p = Policies::of(&e).unwrap();
    let mut current = live(&[], &[], None);
    current.type_ = Some("kubernetes.io/tls".into());
    let d = desired(
        &e,
        &p,
        Some(&current),
        &data(&[("tls.crt", "c"), ("tls.key", "k")]),
        &TemplateSources::default(),
    )
    .unwrap();
    assert_eq!(d.secret.type_.as_deref(), Some("kubernetes.io/tls"));
    let d = desired(
        &e,
        &p,
        None,
        &data(&[("a", "1")]),
        &TemplateSources::default(),
    )
    .unwrap();
    assert_eq!(d.secret.type_, None);
}
