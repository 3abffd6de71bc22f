//! CRUD, resourceVersion, conflicts, namespaces, paging, discovery, 404 shapes.

use super::{api_status, b64, rv_of, secret, start};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

#[tokio::test]
async fn secret_crud_sets_server_metadata_and_detects_stale_writes() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());

    let created = api
        .create(&PostParams::default(), &secret("s1", &[("k", "v1")]))
        .await
        .unwrap();
    let meta = &created.metadata;
    let uid = meta.uid.clone().expect("uid set");
    assert_eq!(uid.len(), 36, "uid is a UUID");
    let ts = serde_json::to_value(&meta.creation_timestamp).unwrap();
    let ts = ts.as_str().unwrap();
    assert!(
        ts.ends_with('Z') && !ts.contains('.'),
        "second precision RFC 3339: {ts}"
    );
    assert_eq!(meta.generation, None, "Secrets have no generation");
    assert_eq!(created.type_.as_deref(), Some("Opaque"), "type defaulted");
    let rv1 = rv_of(&created);

    // A second create of the same name: 409 AlreadyExists.
    let err = api_status(
        api.create(&PostParams::default(), &secret("s1", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "AlreadyExists"));
    assert!(err.is_already_exists());

    // Update with the current RV: RV moves (cluster-wide counter), uid/creationTimestamp kept.
    let mut fresh = created.clone();
    fresh
        .data
        .as_mut()
        .unwrap()
        .insert("k".into(), k8s_openapi::ByteString(b"v2".to_vec()));
    let updated = api
        .replace("s1", &PostParams::default(), &fresh)
        .await
        .unwrap();
    assert!(rv_of(&updated) > rv1);
    assert_eq!(updated.metadata.uid.as_deref(), Some(uid.as_str()));
    assert_eq!(
        updated.metadata.creation_timestamp,
        created.metadata.creation_timestamp
    );

    // Update from the stale copy: 409 Conflict with the exact reason kube matches on.
    let err = api_status(
        api.replace("s1", &PostParams::default(), &fresh)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (409, "Conflict"));
    assert!(
        err.message.contains("the object has been modified"),
        "{}",
        err.message
    );

    // A merge patch carrying a stale RV is an optimistic lock too.
    let stale = Patch::Merge(
        json!({"metadata": {"resourceVersion": rv1.to_string()}, "data": {"x": b64("y")}}),
    );
    let err = api_status(
        api.patch("s1", &PatchParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);

    // Another kind's write bumps the same counter: one cluster-wide revision.
    let cm: Api<ConfigMap> = Api::default_namespaced(double.client().unwrap());
    let c = cm
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "c"}})).unwrap(),
        )
        .await
        .unwrap();
    assert!(rv_of(&c) > rv_of(&updated));

    // Delete: 200 + Status (kube: Right), then 404 NotFound.
    let del = api.delete("s1", &DeleteParams::default()).await.unwrap();
    let status = del
        .right()
        .expect("a Status for an object without finalizers");
    assert_eq!(status.details.unwrap().uid, uid);
    let err = api_status(api.get("s1").await.unwrap_err());
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "secrets \"s1\" not found");
    assert!(api.get_opt("s1").await.unwrap().is_none());
    let err = api_status(
        api.delete("s1", &DeleteParams::default())
            .await
            .unwrap_err(),
    );
    assert!(err.is_not_found());

    // Re-created objects get a new uid.
    let again = api
        .create(&PostParams::default(), &secret("s1", &[]))
        .await
        .unwrap();
    assert_ne!(again.metadata.uid.as_deref(), Some(uid.as_str()));
}

#[tokio::test]
async fn identical_writes_are_noops_without_rv_bump() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let s = api
        .create(&PostParams::default(), &secret("same", &[("a", "1")]))
        .await
        .unwrap();
    let noops_before = double.store().stats().noop_writes;
    let again = api
        .replace("same", &PostParams::default(), &s)
        .await
        .unwrap();
    assert_eq!(rv_of(&again), rv_of(&s), "identical PUT keeps the RV");
    let patched = api
        .patch(
            "same",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": b64("1")}})),
        )
        .await
        .unwrap();
    assert_eq!(rv_of(&patched), rv_of(&s));
    assert_eq!(double.store().stats().noop_writes, noops_before + 2);
    // A real change does bump.
    let changed = api
        .patch(
            "same",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"a": b64("2")}})),
        )
        .await
        .unwrap();
    assert!(rv_of(&changed) > rv_of(&s));
}

#[tokio::test]
async fn namespaced_creates_need_an_existing_namespace() {
    let double = start().await;
    let client = double.client().unwrap();
    let api: Api<Secret> = Api::namespaced(client.clone(), "nope");
    let err = api_status(
        api.create(&PostParams::default(), &secret("s", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (404, "NotFound"));
    assert_eq!(err.message, "namespaces \"nope\" not found");
    // Server-side apply into a missing namespace is refused the same way.
    let err = api_status(
        api.patch(
            "s",
            &PatchParams::apply("t"),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret"})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.code, 404);
    // LIST in a missing namespace is an empty list, not an error.
    assert!(
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // Default namespaces exist.
    for ns in ["default", "kube-system"] {
        let api: Api<Secret> = Api::namespaced(client.clone(), ns);
        api.create(&PostParams::default(), &secret("s", &[]))
            .await
            .unwrap();
    }
    // A namespace made through the API is usable at once.
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "nope"}})).unwrap(),
    )
    .await
    .unwrap();
    api.create(&PostParams::default(), &secret("s", &[]))
        .await
        .unwrap();
    // Namespace-mismatched bodies are a 400.
    let mut wrong = secret("t", &[]);
    wrong.metadata.namespace = Some("default".into());
    let err = api_status(
        api.create(&PostParams::default(), &wrong)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (400, "BadRequest"));
}

#[tokio::test]
async fn leases_require_a_resource_version_on_put() {
    let double = start().await;
    let api: Api<Lease> = Api::default_namespaced(double.client().unwrap());
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}})).unwrap();
    let created = api.create(&PostParams::default(), &lease).await.unwrap();
    let mut no_rv = created.clone();
    no_rv.metadata.resource_version = None;
    let err = api_status(
        api.replace("l", &PostParams::default(), &no_rv)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert!(
        err.message.contains("must be specified for an update"),
        "{}",
        err.message
    );
    // Validation: leaseDurationSeconds must be positive.
    let mut bad = created.clone();
    bad.spec.as_mut().unwrap().lease_duration_seconds = Some(0);
    let err = api_status(
        api.replace("l", &PostParams::default(), &bad)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
}

#[tokio::test]
async fn list_pages_share_one_snapshot() {
    let double = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(double.client().unwrap());
    for i in 0..25 {
        api.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": format!("cm-{i:02}")}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let first = api.list(&ListParams::default().limit(10)).await.unwrap();
    assert_eq!(first.items.len(), 10);
    let token = first.metadata.continue_.clone().expect("a continue token");
    let list_rv = first.metadata.resource_version.clone().unwrap();
    // A write after page 1 is not visible on later pages (consistent snapshot).
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "cm-99"}})).unwrap(),
    )
    .await
    .unwrap();
    let mut names: Vec<String> = first
        .items
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = api
            .list(&ListParams::default().limit(10).continue_token(&t))
            .await
            .unwrap();
        assert_eq!(
            page.metadata.resource_version.as_deref(),
            Some(list_rv.as_str())
        );
        names.extend(page.items.iter().map(|c| c.metadata.name.clone().unwrap()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    assert_eq!(names.len(), 25);
    assert!(!names.contains(&"cm-99".to_owned()));
    // An unknown continue token is 410 Expired.
    let err = api_status(
        api.list(&ListParams::default().limit(10).continue_token("bogus"))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (410, "Expired"));
}

#[tokio::test]
async fn unknown_paths_get_go_plain_404_and_version_discovery_work() {
    let double = start().await;
    let client = double.client().unwrap();
    let gvk = GroupVersionKind::gvk("missing.example.com", "v1", "Thing");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "things");
    let api: Api<DynamicObject> = Api::default_namespaced_with(client.clone(), &ar);
    let err = api_status(api.get("x").await.unwrap_err());
    assert_eq!(err.code, 404);
    assert!(
        !err.is_not_found(),
        "a route nobody owns is not an object NotFound"
    );

    let v = client.apiserver_version().await.unwrap();
    assert_eq!(v.major, "1");

    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    let (ar, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk("test.sealbox.io", "v1", "Widget"))
        .expect("CRD discovered");
    assert_eq!(ar.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Secret"))
            .is_some()
    );
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease"))
            .is_some()
    );
}

#[tokio::test]
async fn direct_store_access_and_request_counters() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    double
        .put("v1", "secrets", json!({"metadata": {"name": "direct", "namespace": "default"}, "data": {"a": b64("1")}}))
        .unwrap();
    let got = api.get("direct").await.unwrap();
    assert_eq!(got.data.unwrap()["a"].0, b"1");
    assert_eq!(
        double.write_count("/secrets"),
        0,
        "store writes bypass HTTP"
    );
    double.clear_requests();
    api.patch(
        "direct",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    api.get("direct").await.unwrap();
    assert_eq!(double.write_count("/secrets"), 1);
    assert_eq!(double.count("get", "/secrets/direct"), 1);
    // The kubeconfig file a separate process would use reaches the same server.
    let kc = kube::config::Kubeconfig::read_from(double.kubeconfig_path()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "default");
    let via_file: Api<Secret> = Api::default_namespaced(kube::Client::try_from(config).unwrap());
    assert!(via_file.get_opt("direct").await.unwrap().is_some());
    let stored = double
        .get("v1", "secrets", Some("default"), "direct")
        .unwrap();
    assert_eq!(stored["metadata"]["labels"]["x"], "y");
}

#[tokio::test]
async fn deleting_a_namespace_terminates_then_removes_its_content() {
    let double = start().await;
    let client = double.client().unwrap();
    let nss: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "gone"}})).unwrap(),
    )
    .await
    .unwrap();
    let api: Api<Secret> = Api::namespaced(client.clone(), "gone");
    api.create(&PostParams::default(), &secret("a", &[]))
        .await
        .unwrap();
    let mut held = secret("held", &[]);
    held.metadata.finalizers = Some(vec!["test.sealbox.io/hold".into()]);
    api.create(&PostParams::default(), &held).await.unwrap();

    let marked = nss
        .delete("gone", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("namespace returned");
    assert_eq!(marked.status.unwrap().phase.as_deref(), Some("Terminating"));
    // Creates into a terminating namespace are forbidden.
    let err = api_status(
        api.create(&PostParams::default(), &secret("late", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (403, "Forbidden"));
    assert!(
        super::eventually(std::time::Duration::from_secs(10), || double
            .get("v1", "secrets", Some("gone"), "a")
            .is_none())
        .await
    );
    // The namespace waits for the object with a finalizer.
    assert!(double.get("v1", "namespaces", None, "gone").is_some());
    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(
        super::eventually(std::time::Duration::from_secs(10), || double
            .get("v1", "namespaces", None, "gone")
            .is_none())
        .await
    );
}
