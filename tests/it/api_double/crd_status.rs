//! Custom resources: generation rules, the status subresource, pruning, SMP refusal.

use super::Widget;
use super::{WidgetStatus, api_status, rv_of, start, widget};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

#[tokio::test]
async fn generation_moves_only_on_spec_and_status_is_isolated() {
    let double = start().await;
    let api: Api<Widget> = Api::default_namespaced(double.client().unwrap());

    // Status in a create is dropped; generation starts at 1.
    let mut w = widget("w", 1);
    w.status = Some(WidgetStatus {
        observed_generation: Some(7),
        phase: Some("Bogus".into()),
    });
    let created = api.create(&PostParams::default(), &w).await.unwrap();
    assert_eq!(created.status, None);
    assert_eq!(created.metadata.generation, Some(1));

    // Labels do not bump generation; spec does.
    let labelled = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(1));
    assert!(rv_of(&labelled) > rv_of(&created));
    let spec2 = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(spec2.metadata.generation, Some(2));

    // /status writes change only status: RV moves, generation does not, spec changes are dropped.
    let st = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 99}, "metadata": {"labels": {"c": "d"}}, "status": {"phase": "Ready", "observedGeneration": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(st.status.as_ref().unwrap().phase.as_deref(), Some("Ready"));
    assert_eq!(st.spec.size, 2, "spec is not writable through /status");
    assert!(
        !st.metadata
            .labels
            .clone()
            .unwrap_or_default()
            .contains_key("c"),
        "metadata is not writable through /status"
    );
    assert_eq!(st.metadata.generation, Some(2));
    assert!(rv_of(&st) > rv_of(&spec2));

    // Status in a main-resource write is ignored.
    let main = api
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Hacked"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        main.status.as_ref().unwrap().phase.as_deref(),
        Some("Ready")
    );
    assert_eq!(
        rv_of(&main),
        rv_of(&st),
        "a status-only main write is a no-op"
    );

    // Identical status write: no-op. A fresh value: a real write.
    let same = api
        .patch_status(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "Ready"}})),
        )
        .await
        .unwrap();
    assert_eq!(rv_of(&same), rv_of(&st));

    // PUT /status needs an RV (CRs disallow unconditional update).
    let mut no_rv = same.clone();
    no_rv.metadata.resource_version = None;
    let err = api_status(
        api.replace_status("w", &PostParams::default(), &no_rv)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    let mut stale = same.clone();
    stale.metadata.resource_version = Some(rv_of(&created).to_string());
    let err = api_status(
        api.replace_status("w", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);

    // Server-side apply through /status: the earlier merge-patch writer (manager "unknown",
    // no User-Agent) owns status.phase, so a different value conflicts unless forced.
    let status_apply = Patch::Apply(
        json!({"apiVersion": "test.sealbox.io/v1", "kind": "Widget", "status": {"phase": "Done"}}),
    );
    let err = api_status(
        api.patch_status("w", &PatchParams::apply("ctl"), &status_apply)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"unknown\" using test.sealbox.io/v1 with subresource \"status\": .status.phase"
    );
    // Forced, it records a status-subresource entry; through /status it never creates.
    let applied = api
        .patch_status(
            "w",
            &PatchParams::apply("ctl").force(),
            &Patch::Apply(json!({"apiVersion": "test.sealbox.io/v1", "kind": "Widget", "status": {"phase": "Done"}})),
        )
        .await
        .unwrap();
    let mf = applied.metadata.managed_fields.unwrap();
    assert!(
        mf.iter()
            .any(|e| e.manager.as_deref() == Some("ctl")
                && e.subresource.as_deref() == Some("status"))
    );
    let err = api_status(
        api.patch_status(
            "missing",
            &PatchParams::apply("ctl"),
            &Patch::Apply(json!({"apiVersion": "test.sealbox.io/v1", "kind": "Widget", "status": {"phase": "x"}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.code, 404);

    // PUT on the main resource needs an RV too.
    let mut put = api.get("w").await.unwrap();
    put.metadata.resource_version = None;
    let err = api_status(
        api.replace("w", &PostParams::default(), &put)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));

    // Deleting with a finalizer bumps generation once.
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": ["test.sealbox.io/hold"]}})),
    )
    .await
    .unwrap();
    let before = api.get("w").await.unwrap().metadata.generation.unwrap();
    api.delete("w", &Default::default()).await.unwrap();
    let deleting = api.get("w").await.unwrap();
    assert_eq!(deleting.metadata.generation, Some(before + 1));
    assert!(deleting.metadata.deletion_timestamp.is_some());
}

#[tokio::test]
async fn undeclared_fields_are_pruned_and_smp_is_refused() {
    let double = start().await;
    let client = double.client().unwrap();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("test.sealbox.io", "v1", "Widget"),
        "widgets",
    );
    let dynapi: Api<DynamicObject> = Api::default_namespaced_with(client.clone(), &ar);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "test.sealbox.io/v1", "kind": "Widget",
        "metadata": {"name": "p"},
        "spec": {"size": 1, "undeclared": "dropped", "tags": {"free": "kept"}},
        "extra": {"top": "level"},
    }))
    .unwrap();
    let created = dynapi.create(&PostParams::default(), &obj).await.unwrap();
    assert_eq!(
        created.data["spec"],
        json!({"size": 1, "tags": {"free": "kept"}})
    );
    assert!(created.data.get("extra").is_none());

    let api: Api<Widget> = Api::default_namespaced(client);
    let err = api_status(
        api.patch(
            "p",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 3}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(
        (err.code, err.reason.as_str()),
        (415, "UnsupportedMediaType")
    );
}
