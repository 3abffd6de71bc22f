//! Events posted by kube-runtime's `Recorder` (events.k8s.io/v1), their core/v1 view,
//! series merge patches, validation, and the double's query helper.

use super::{api_status, secret, start};
use k8s_openapi::api::core::v1::{Event as CoreEvent, Namespace, Secret};
use k8s_openapi::api::events::v1::Event as EventV1;
use kube::Resource;
use kube::api::{Api, ListParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::json;

#[tokio::test]
async fn recorder_events_are_stored_viewable_in_both_apis_and_series_patched() {
    let double = start().await;
    let client = double.client().unwrap();
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    let s = secrets
        .create(&PostParams::default(), &secret("evt", &[]))
        .await
        .unwrap();
    let reporter = Reporter {
        controller: "sealbox".into(),
        instance: Some("sealbox-0".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let ev = Event {
        type_: EventType::Warning,
        reason: "UnsealFailed".into(),
        note: Some("no key could decrypt this object".into()),
        action: "Unseal".into(),
        secondary: None,
    };
    recorder.publish(&ev, &s.object_ref(&())).await.unwrap();
    assert!(double.requests().iter().any(
        |r| r.verb == "create" && r.path == "/apis/events.k8s.io/v1/namespaces/default/events"
    ));

    let v1: Api<EventV1> = Api::default_namespaced(client.clone());
    let list = v1.list(&ListParams::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    let e = &list.items[0];
    assert_eq!(e.reason.as_deref(), Some("UnsealFailed"));
    assert_eq!(e.reporting_controller.as_deref(), Some("sealbox"));
    assert_eq!(e.regarding.as_ref().unwrap().name.as_deref(), Some("evt"));

    // The same storage through core/v1, with core field names.
    let core: Api<CoreEvent> = Api::default_namespaced(client.clone());
    let ce = &core.list(&ListParams::default()).await.unwrap().items[0];
    assert_eq!(ce.involved_object.name.as_deref(), Some("evt"));
    assert_eq!(
        ce.message.as_deref(),
        Some("no key could decrypt this object")
    );
    assert_eq!(ce.reporting_component.as_deref(), Some("sealbox"));
    let by_field = core
        .list(&ListParams::default().fields("involvedObject.name=evt,reason=UnsealFailed"))
        .await
        .unwrap();
    assert_eq!(by_field.items.len(), 1);

    // The same event again: a merge patch with series.count = 2 on the cached event.
    recorder.publish(&ev, &s.object_ref(&())).await.unwrap();
    assert!(double.requests().iter().any(|r| {
        r.verb == "patch"
            && r.path
                .starts_with("/apis/events.k8s.io/v1/namespaces/default/events/")
            && r.content_type.as_deref() == Some("application/merge-patch+json")
    }));
    let stored = double.events_for("Secret", "evt");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["series"]["count"], 2);

    // Cluster-scoped objects: events go to "default".
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns = nss.get("kube-system").await.unwrap();
    recorder.publish(&ev, &ns.object_ref(&())).await.unwrap();
    assert_eq!(
        double.events_for("Namespace", "kube-system")[0]["metadata"]["namespace"],
        "default"
    );
    assert_eq!(double.events(Some("default")).len(), 2);
}

#[tokio::test]
async fn events_v1_creates_are_validated() {
    let double = start().await;
    let v1: Api<EventV1> = Api::default_namespaced(double.client().unwrap());
    let bad: EventV1 = serde_json::from_value(json!({
        "metadata": {"name": "bad"},
        "eventTime": "2026-01-02T03:04:05.123456Z",
        "type": "Loud",
        "reason": "R", "action": "A",
        "reportingController": "sealbox", "reportingInstance": "i",
        "regarding": {"kind": "Secret", "name": "x", "namespace": "other"},
    }))
    .unwrap();
    let err = api_status(v1.create(&PostParams::default(), &bad).await.unwrap_err());
    // Legacy core/v1 events (no eventTime) are still accepted through the core API.
    let core: Api<CoreEvent> = Api::default_namespaced(double.client().unwrap());
    let legacy: CoreEvent = serde_json::from_value(json!({
        "metadata": {"name": "legacy"}, "reason": "Old", "message": "m", "type": "Normal",
        "involvedObject": {"kind": "Secret", "name": "x", "namespace": "default"},
    }))
    .unwrap();
    core.create(&PostParams::default(), &legacy).await.unwrap();
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    let fields: Vec<String> = err
        .details
        .unwrap()
        .causes
        .into_iter()
        .map(|c| c.field)
        .collect();
    assert!(
        fields.contains(&"type".to_string()) && fields.contains(&"metadata.namespace".to_string()),
        "{fields:?}"
    );
}
