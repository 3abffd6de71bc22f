//! Server-side apply: the worked example of kube-api.md §6.5, shared ownership, removal,
//! create-by-apply, RV preconditions, fieldManager required, and lease mutual exclusion.

use super::{api_status, b64, rv_of, start};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

fn entry<'a>(
    s: &'a Secret,
    manager: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry> {
    s.metadata
        .managed_fields
        .as_ref()?
        .iter()
        .find(|e| e.manager.as_deref() == Some(manager))
}

fn fields(s: &Secret, manager: &str) -> Value {
    entry(s, manager)
        .and_then(|e| e.fields_v1.as_ref())
        .map(|f| f.0.clone())
        .unwrap_or(Value::Null)
}

fn data(s: &Secret, k: &str) -> Option<String> {
    s.data
        .as_ref()?
        .get(k)
        .map(|b| String::from_utf8(b.0.clone()).unwrap())
}

fn cfg(data: &[(&str, &str)]) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "app", "labels": {"app": "demo"}},
        "type": "Opaque",
        "data": data.iter().map(|(k, v)| (k.to_string(), json!(b64(v)))).collect::<serde_json::Map<_, _>>(),
    })
}

#[tokio::test]
async fn worked_example_conflict_force_and_removal() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let sealbox = PatchParams::apply("sealbox");

    // 1. Apply creates (201) and records an Apply entry for every applied field.
    let s1 = api
        .patch(
            "app",
            &sealbox,
            &Patch::Apply(cfg(&[("a", "orig"), ("b", "bee")])),
        )
        .await
        .unwrap();
    let apply_req = double
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.verb == "apply")
        .unwrap();
    assert_eq!(apply_req.status, 201, "apply that creates answers 201");
    let e = entry(&s1, "sealbox").unwrap();
    assert_eq!(e.operation.as_deref(), Some("Apply"));
    assert_eq!(e.fields_type.as_deref(), Some("FieldsV1"));
    let f = fields(&s1, "sealbox");
    assert_eq!(f["f:data"], json!({"f:a": {}, "f:b": {}}));
    assert_eq!(f["f:type"], json!({}));
    assert_eq!(f["f:metadata"]["f:labels"]["f:app"], json!({}));
    assert!(
        f["f:metadata"].get("f:name").is_none(),
        "name is never owned"
    );

    // 2. A hand edit (Update operation by kubectl-edit) takes data.a.
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    let s2 = api
        .patch(
            "app",
            &edit,
            &Patch::Merge(json!({"data": {"a": b64("hand")}})),
        )
        .await
        .unwrap();
    let ke = entry(&s2, "kubectl-edit").unwrap();
    assert_eq!(ke.operation.as_deref(), Some("Update"));
    assert_eq!(ke.api_version.as_deref(), Some("v1"));
    assert_eq!(fields(&s2, "kubectl-edit")["f:data"], json!({"f:a": {}}));
    assert!(
        fields(&s2, "sealbox")["f:data"].get("f:a").is_none(),
        "sealbox lost data.a"
    );

    // 3. Re-apply without force: 409 naming the field and the other manager.
    let err = api_status(
        api.patch(
            "app",
            &sealbox,
            &Patch::Apply(cfg(&[("a", "orig"), ("b", "bee")])),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using v1: .data.a"
    );
    let causes = err.details.unwrap().causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].reason, "FieldManagerConflict");
    assert_eq!(causes[0].field, ".data.a");
    assert!(
        !err.message.contains("orig") && !err.message.contains("hand"),
        "no values in errors"
    );
    assert_eq!(
        data(&api.get("app").await.unwrap(), "a").as_deref(),
        Some("hand"),
        "nothing written"
    );

    //    With force: value restored, the other entry emptied and removed.
    let s3 = api
        .patch(
            "app",
            &sealbox.clone().force(),
            &Patch::Apply(cfg(&[("a", "orig"), ("b", "bee")])),
        )
        .await
        .unwrap();
    assert_eq!(data(&s3, "a").as_deref(), Some("orig"));
    assert!(entry(&s3, "kubectl-edit").is_none());
    assert_eq!(
        fields(&s3, "sealbox")["f:data"],
        json!({"f:a": {}, "f:b": {}})
    );

    // 4. Applying only {b}: data.a is removed (nobody else owns it); b unchanged.
    let s4 = api
        .patch("app", &sealbox, &Patch::Apply(cfg(&[("b", "bee")])))
        .await
        .unwrap();
    assert_eq!(data(&s4, "a"), None);
    assert_eq!(data(&s4, "b").as_deref(), Some("bee"));

    // 5. Identical re-apply: no write, no RV change, no watch event.
    let s5 = api
        .patch("app", &sealbox, &Patch::Apply(cfg(&[("b", "bee")])))
        .await
        .unwrap();
    assert_eq!(rv_of(&s5), rv_of(&s4));
    assert_eq!(
        s5.metadata.managed_fields, s4.metadata.managed_fields,
        "no timestamp churn"
    );
}

#[tokio::test]
async fn shared_fields_survive_until_the_last_owner_drops_them() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let doc = |labels: Value| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sh", "labels": labels}});
    api.patch(
        "sh",
        &PatchParams::apply("a"),
        &Patch::Apply(doc(json!({"x": "1", "onlya": "1"}))),
    )
    .await
    .unwrap();
    // Same value from another manager: no conflict, shared ownership — a real write.
    let shared = api
        .patch(
            "sh",
            &PatchParams::apply("b"),
            &Patch::Apply(doc(json!({"x": "1"}))),
        )
        .await
        .unwrap();
    assert_eq!(
        fields(&shared, "a")["f:metadata"]["f:labels"]["f:x"],
        json!({})
    );
    assert_eq!(
        fields(&shared, "b")["f:metadata"]["f:labels"]["f:x"],
        json!({})
    );
    // A different value from b: conflict with a.
    let err = api_status(
        api.patch(
            "sh",
            &PatchParams::apply("b"),
            &Patch::Apply(doc(json!({"x": "2"}))),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"a\": .metadata.labels.x"
    );
    // a drops x: stays, b still owns it. a drops onlya: removed.
    let s = api
        .patch(
            "sh",
            &PatchParams::apply("a"),
            &Patch::Apply(doc(json!({}))),
        )
        .await
        .unwrap();
    let labels = s.metadata.labels.unwrap_or_default();
    assert_eq!(labels.get("x").map(String::as_str), Some("1"));
    assert!(!labels.contains_key("onlya"));
    // b drops x: removed.
    let s = api
        .patch(
            "sh",
            &PatchParams::apply("b"),
            &Patch::Apply(doc(json!({}))),
        )
        .await
        .unwrap();
    assert!(!s.metadata.labels.unwrap_or_default().contains_key("x"));
}

#[tokio::test]
async fn several_conflicts_are_listed_per_manager() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let doc = |a: &str, b: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "m"}, "data": {"a": b64(a), "b": b64(b)}});
    api.patch(
        "m",
        &PatchParams::apply("one"),
        &Patch::Apply(doc("1", "1")),
    )
    .await
    .unwrap();
    let err = api_status(
        api.patch(
            "m",
            &PatchParams::apply("two"),
            &Patch::Apply(doc("2", "2")),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        err.message,
        "Apply failed with 2 conflicts: conflicts with \"one\":\n- .data.a\n- .data.b"
    );
    assert_eq!(err.details.unwrap().causes.len(), 2);
}

#[tokio::test]
async fn apply_validation_and_preconditions() {
    let double = start().await;
    let client = double.client().unwrap();
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    let doc = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "v"}});
    let s = api
        .patch("v", &PatchParams::apply("m"), &Patch::Apply(doc.clone()))
        .await
        .unwrap();

    // Wrong kind / apiVersion: 400.
    let err = api_status(
        api.patch(
            "v",
            &PatchParams::apply("m"),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "v"}}),
            ),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.code, 400);
    // managedFields in an apply body: 400.
    let err = api_status(
        api.patch("v", &PatchParams::apply("m"), &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "v", "managedFields": [{"manager": "x"}]}})))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 400);
    // A stale RV inside an apply body is a precondition: 409.
    let stale = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "v", "resourceVersion": "1"}});
    let err = api_status(
        api.patch("v", &PatchParams::apply("m").force(), &Patch::Apply(stale))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);
    let current = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "v", "resourceVersion": s.metadata.resource_version}, "data": {"k": b64("x")}});
    api.patch(
        "v",
        &PatchParams::apply("m").force(),
        &Patch::Apply(current),
    )
    .await
    .unwrap();

    // fieldManager is required for apply (kube refuses client-side, so send raw HTTP).
    let req = axum::http::Request::builder()
        .method("PATCH")
        .uri("/api/v1/namespaces/default/secrets/v")
        .header("content-type", "application/apply-patch+yaml")
        .body(serde_json::to_vec(&doc).unwrap())
        .unwrap();
    let err = api_status(client.request_text(req).await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert!(
        err.message.contains("fieldManager: Required value"),
        "{}",
        err.message
    );

    // force on a non-apply patch is refused.
    let req = axum::http::Request::builder()
        .method("PATCH")
        .uri("/api/v1/namespaces/default/secrets/v?force=true")
        .header("content-type", "application/merge-patch+json")
        .body(b"{}".to_vec())
        .unwrap();
    assert_eq!(
        api_status(client.request_text(req).await.unwrap_err()).code,
        422
    );

    // Unknown patch content type: 415.
    let req = axum::http::Request::builder()
        .method("PATCH")
        .uri("/api/v1/namespaces/default/secrets/v")
        .header("content-type", "text/plain")
        .body(b"{}".to_vec())
        .unwrap();
    assert_eq!(
        api_status(client.request_text(req).await.unwrap_err()).code,
        415
    );
}

#[tokio::test]
async fn lease_holder_is_exclusive_through_apply_conflicts() {
    let double = start().await;
    let api: Api<Lease> = Api::default_namespaced(double.client().unwrap());
    let lease = |holder: &str| {
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
               "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15}})
    };
    api.patch(
        "leader",
        &PatchParams::apply("lm-a"),
        &Patch::Apply(lease("a")),
    )
    .await
    .unwrap();
    let err = api_status(
        api.patch(
            "leader",
            &PatchParams::apply("lm-b"),
            &Patch::Apply(lease("b")),
        )
        .await
        .unwrap_err(),
    );
    assert!(err.is_conflict());
    assert!(
        err.message.contains(".spec.holderIdentity"),
        "{}",
        err.message
    );
    // The holder releases with a strategic merge patch setting null: field and ownership go.
    let rel = PatchParams {
        field_manager: Some("lm-a".into()),
        ..Default::default()
    };
    api.patch(
        "leader",
        &rel,
        &Patch::Strategic(json!({"spec": {"holderIdentity": null}})),
    )
    .await
    .unwrap();
    let taken = api
        .patch(
            "leader",
            &PatchParams::apply("lm-b"),
            &Patch::Apply(lease("b")),
        )
        .await
        .unwrap();
    assert_eq!(taken.spec.unwrap().holder_identity.as_deref(), Some("b"));
}

/// The lease crate the controller uses (kube-lease-manager) relies on SSA conflicts for
/// mutual exclusion and on strategic merge patches with `null` to release.
#[tokio::test]
async fn kube_lease_manager_gives_one_leader_at_a_time() {
    use kube_lease_manager::LeaseManagerBuilder;
    let double = start().await;
    let client = double.client().unwrap();
    let build = |id: &str| {
        LeaseManagerBuilder::new(client.clone(), "sealbox-leader")
            .with_identity(id)
            .with_duration(5)
            .with_grace(2)
            .build()
    };
    let a = build("replica-a").await.unwrap();
    let b = build("replica-b").await.unwrap();
    assert!(a.changed().await.unwrap(), "a acquires the free lease");
    // b must not become leader while a holds a live lease.
    let b_wait = tokio::time::timeout(std::time::Duration::from_secs(2), b.changed()).await;
    assert!(b_wait.is_err(), "b stayed a follower");
    let lease: Lease = Api::default_namespaced(client.clone())
        .get("sealbox-leader")
        .await
        .unwrap();
    assert_eq!(
        lease.spec.unwrap().holder_identity.as_deref(),
        Some("replica-a")
    );
    // a releases (SMP with nulls); b takes over.
    a.release().await.unwrap();
    let took = tokio::time::timeout(std::time::Duration::from_secs(10), b.changed())
        .await
        .unwrap()
        .unwrap();
    assert!(took);
    let lease: Lease = Api::default_namespaced(client)
        .get("sealbox-leader")
        .await
        .unwrap();
    let spec = lease.spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert!(spec.lease_transitions.unwrap_or(0) >= 1);
}
