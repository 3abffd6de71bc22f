//! A real `kube::runtime::Controller` against the double: `owns()` (metadata-only watches)
//! triggers on owned-Secret drift, garbage collection of owned objects, the `finalizer()`
//! helper's JSON patches, and deletion with finalizers and propagation policies.

use super::{Widget, b64, eventually, start, widget};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Ctx {
    client: kube::Client,
    reconciles: AtomicUsize,
    cleanups: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct ReconcileError(String);

async fn reconcile(
    w: Arc<Widget>,
    ctx: Arc<Ctx>,
) -> Result<Action, kube::runtime::finalizer::Error<ReconcileError>> {
    ctx.reconciles.fetch_add(1, Ordering::SeqCst);
    let ns = w.namespace().unwrap();
    let api: Api<Widget> = Api::namespaced(ctx.client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, "test.sealbox.io/cleanup", w, |ev| async {
        match ev {
            FinalizerEvent::Apply(w) => {
                let owner = w.controller_owner_ref(&()).unwrap();
                let desired = json!({
                    "apiVersion": "v1", "kind": "Secret",
                    "metadata": {"name": w.name_any(), "ownerReferences": [owner]},
                    "data": {"size": b64(&w.spec.size.to_string())},
                });
                secrets
                    .patch(
                        &w.name_any(),
                        &PatchParams::apply("sealbox").force(),
                        &Patch::Apply(desired),
                    )
                    .await
                    .map_err(|e| ReconcileError(e.to_string()))?;
                Ok(Action::await_change())
            }
            FinalizerEvent::Cleanup(_) => {
                ctx.cleanups.fetch_add(1, Ordering::SeqCst);
                Ok(Action::await_change())
            }
        }
    })
    .await
}

fn error_policy(
    _w: Arc<Widget>,
    _e: &kube::runtime::finalizer::Error<ReconcileError>,
    _c: Arc<Ctx>,
) -> Action {
    Action::requeue(Duration::from_millis(200))
}

#[tokio::test]
async fn controller_owns_secrets_self_heals_and_cleans_up() {
    let double = start().await;
    let client = double.client().unwrap();
    let widgets: Api<Widget> = Api::default_namespaced(client.clone());
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        reconciles: AtomicUsize::new(0),
        cleanups: AtomicUsize::new(0),
    });
    let controller = Controller::new(widgets.clone(), watcher::Config::default())
        .owns(secrets.clone(), watcher::Config::default())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let task = tokio::spawn(controller);

    widgets
        .create(&PostParams::default(), &widget("w1", 3))
        .await
        .unwrap();
    let secret_has = |want: &'static str| {
        let double = &double;
        move || {
            double
                .get("v1", "secrets", Some("default"), "w1")
                .and_then(|s| s["data"]["size"].as_str().map(|v| v == b64(want)))
                .unwrap_or(false)
        }
    };
    assert!(
        eventually(Duration::from_secs(15), secret_has("3")).await,
        "owned Secret created"
    );
    let w = widgets.get("w1").await.unwrap();
    assert_eq!(
        w.finalizers(),
        ["test.sealbox.io/cleanup"],
        "finalizer() added its finalizer by JSON patch"
    );
    assert!(double.requests().iter().any(|r| r.verb == "patch"
        && r.path.ends_with("/widgets/w1")
        && r.content_type.as_deref() == Some("application/json-patch+json")),);
    let owned = secrets.get("w1").await.unwrap();
    let oref = &owned.owner_references()[0];
    assert_eq!(
        (oref.kind.as_str(), oref.controller),
        ("Widget", Some(true))
    );

    // Drift: a hand edit of the owned Secret reaches the controller through the metadata-only
    // owns() watch and is put back.
    let before = ctx.reconciles.load(Ordering::SeqCst);
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    secrets
        .patch(
            "w1",
            &edit,
            &Patch::Merge(json!({"data": {"size": b64("999")}})),
        )
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(15), secret_has("3")).await,
        "drift repaired"
    );
    assert!(ctx.reconciles.load(Ordering::SeqCst) > before);
    assert!(
        double
            .requests()
            .iter()
            .any(|r| r.verb == "watch" && r.path.ends_with("/secrets") && r.meta_only)
    );

    // Deleting the owner: deletionTimestamp + MODIFIED, cleanup runs, finalizer removed,
    // object gone; the garbage collector then removes the owned Secret.
    widgets
        .delete("w1", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(15), || double
            .get("test.sealbox.io/v1", "widgets", Some("default"), "w1")
            .is_none())
        .await,
        "widget removed after its finalizer"
    );
    assert_eq!(ctx.cleanups.load(Ordering::SeqCst), 1);
    assert!(
        eventually(Duration::from_secs(10), || double
            .get("v1", "secrets", Some("default"), "w1")
            .is_none())
        .await,
        "owned Secret garbage-collected"
    );
    task.abort();
}

fn cm_owned_by(name: &str, owner: &Widget) -> ConfigMap {
    let mut c: ConfigMap = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    c.metadata.owner_references = Some(vec![owner.controller_owner_ref(&()).unwrap()]);
    c
}

#[tokio::test]
async fn finalizers_and_propagation_policies() {
    let double = start().await;
    let client = double.client().unwrap();
    let widgets: Api<Widget> = Api::default_namespaced(client.clone());
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());

    // Finalizer: DELETE marks (200 + object), updates still work, new finalizers are refused,
    // removing the last one deletes.
    let mut w = widget("f", 1);
    w.metadata.finalizers = Some(vec!["test.sealbox.io/a".into()]);
    widgets.create(&PostParams::default(), &w).await.unwrap();
    let marked = widgets.delete("f", &DeleteParams::default()).await.unwrap();
    let marked = marked
        .left()
        .expect("object returned while finalizers are pending");
    assert!(marked.metadata.deletion_timestamp.is_some());
    let again = widgets
        .delete("f", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .unwrap();
    assert_eq!(
        again.metadata.resource_version, marked.metadata.resource_version,
        "repeated DELETE changes nothing"
    );
    let err = super::api_status(
        widgets
            .patch(
                "f",
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"finalizers": ["test.sealbox.io/a", "test.sealbox.io/b"]}}),
                ),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    widgets
        .patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"still": "writable"}}})),
        )
        .await
        .unwrap();
    widgets
        .patch(
            "f",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    assert!(widgets.get_opt("f").await.unwrap().is_none());

    // Background (default): dependents with no remaining owner go; one with another live owner
    // only loses the dangling reference.
    let o1 = widgets
        .create(&PostParams::default(), &widget("o1", 1))
        .await
        .unwrap();
    let o2 = widgets
        .create(&PostParams::default(), &widget("o2", 1))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm_owned_by("only-o1", &o1))
        .await
        .unwrap();
    let mut both = cm_owned_by("both", &o1);
    let mut r2 = o2.controller_owner_ref(&()).unwrap();
    r2.controller = None;
    both.metadata.owner_references.as_mut().unwrap().push(r2);
    cms.create(&PostParams::default(), &both).await.unwrap();
    widgets
        .delete("o1", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || double
            .get("v1", "configmaps", Some("default"), "only-o1")
            .is_none())
        .await
    );
    assert!(
        eventually(Duration::from_secs(10), || double
            .get("v1", "configmaps", Some("default"), "both")
            .is_some_and(|c| c["metadata"]["ownerReferences"]
                .as_array()
                .map(Vec::len)
                == Some(1)))
        .await
    );

    // Orphan: the owner goes, the dependent stays without its reference.
    let o3 = widgets
        .create(&PostParams::default(), &widget("o3", 1))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm_owned_by("orphan", &o3))
        .await
        .unwrap();
    widgets.delete("o3", &DeleteParams::orphan()).await.unwrap();
    assert!(
        eventually(Duration::from_secs(10), || double
            .get("test.sealbox.io/v1", "widgets", Some("default"), "o3")
            .is_none())
        .await
    );
    let orphan = cms.get("orphan").await.unwrap();
    assert!(
        orphan
            .metadata
            .owner_references
            .unwrap_or_default()
            .is_empty()
    );

    // Foreground: dependents first, then the owner.
    let o4 = widgets
        .create(&PostParams::default(), &widget("o4", 1))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm_owned_by("fg", &o4))
        .await
        .unwrap();
    widgets
        .delete("o4", &DeleteParams::foreground())
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || double
            .get("test.sealbox.io/v1", "widgets", Some("default"), "o4")
            .is_none())
        .await
    );
    assert!(cms.get_opt("fg").await.unwrap().is_none());

    // Delete preconditions.
    let w5 = widgets
        .create(&PostParams::default(), &widget("o5", 1))
        .await
        .unwrap();
    let dp = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("wrong".into()),
            resource_version: None,
        }),
        ..Default::default()
    };
    let err = super::api_status(widgets.delete("o5", &dp).await.unwrap_err());
    assert_eq!(err.code, 409);
    let dp = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: w5.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    widgets.delete("o5", &dp).await.unwrap();

    // ownerReferences validation: two controller refs are refused.
    let mut two = cm_owned_by("two", &o2);
    let mut r = o2.controller_owner_ref(&()).unwrap();
    r.uid = "other-uid".into();
    two.metadata.owner_references.as_mut().unwrap().push(r);
    let err = super::api_status(cms.create(&PostParams::default(), &two).await.unwrap_err());
    assert_eq!(err.code, 422);
}
