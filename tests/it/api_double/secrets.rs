//! Secret strategy: stringData folding, type immutability, `immutable: true`, required
//! keys per type, and errors that never echo a value.

use super::{api_status, b64, rv_of, secret, start};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;

const PLAINTEXT: &str = "hunter2-very-secret";

#[tokio::test]
async fn string_data_is_folded_into_data_and_never_returned() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let s: Secret = serde_json::from_value(json!({
        "metadata": {"name": "sd"},
        "data": {"a": b64("from-data"), "b": b64("kept")},
        "stringData": {"a": PLAINTEXT},
    }))
    .unwrap();
    let created = api.create(&PostParams::default(), &s).await.unwrap();
    assert!(created.string_data.is_none());
    let data = created.data.unwrap();
    assert_eq!(
        data["a"].0,
        PLAINTEXT.as_bytes(),
        "stringData overrides data"
    );
    assert_eq!(data["b"].0, b"kept");
    let stored = double.get("v1", "secrets", Some("default"), "sd").unwrap();
    assert!(stored.get("stringData").is_none());
    // Via apply too; ownership is recorded under stringData as on a real server.
    let applied = api
        .patch(
            "sd",
            &PatchParams::apply("m").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sd"}, "stringData": {"c": "x"}})),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["c"].0, b"x");
    let mf = applied.metadata.managed_fields.unwrap();
    let m = mf
        .iter()
        .find(|e| e.manager.as_deref() == Some("m"))
        .unwrap();
    assert!(
        m.fields_v1.as_ref().unwrap().0["f:stringData"]
            .get("f:c")
            .is_some()
    );
}

#[tokio::test]
async fn type_is_immutable_and_immutable_freezes_data() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    api.create(&PostParams::default(), &secret("t", &[("k", PLAINTEXT)]))
        .await
        .unwrap();
    let err = api_status(
        api.patch(
            "t",
            &PatchParams::default(),
            &Patch::Merge(json!({"type": "kubernetes.io/basic-auth"})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert!(err.is_invalid());
    assert!(
        err.message.starts_with("Secret \"t\" is invalid: "),
        "{}",
        err.message
    );
    assert!(
        err.message
            .contains("type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"),
        "{}",
        err.message
    );
    assert!(!err.message.contains(PLAINTEXT) && !err.message.contains(&b64(PLAINTEXT)));

    // Omitting type on update keeps the stored type.
    let mut put = api.get("t").await.unwrap();
    put.type_ = None;
    assert_eq!(
        api.replace("t", &PostParams::default(), &put)
            .await
            .unwrap()
            .type_
            .as_deref(),
        Some("Opaque")
    );

    // immutable: data frozen, flag cannot be unset, metadata stays writable, delete works.
    let frozen = api
        .patch(
            "t",
            &PatchParams::default(),
            &Patch::Merge(json!({"immutable": true})),
        )
        .await
        .unwrap();
    let err = api_status(
        api.patch(
            "t",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": b64("other")}})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message
            .contains("data: Forbidden: field is immutable when `immutable` is set"),
        "{}",
        err.message
    );
    assert!(!err.message.contains(&b64(PLAINTEXT)) && !err.message.contains(&b64("other")));
    let err = api_status(
        api.patch(
            "t",
            &PatchParams::default(),
            &Patch::Merge(json!({"immutable": false})),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    let labelled = api
        .patch(
            "t",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"ok": "yes"}}})),
        )
        .await
        .unwrap();
    assert!(rv_of(&labelled) > rv_of(&frozen));
    api.delete("t", &DeleteParams::default()).await.unwrap();
}

#[tokio::test]
async fn typed_secrets_need_their_keys_and_data_must_be_valid() {
    let double = start().await;
    let client = double.client().unwrap();
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    let mut tls = secret("tls", &[("tls.crt", "cert")]);
    tls.type_ = Some("kubernetes.io/tls".into());
    let err = api_status(api.create(&PostParams::default(), &tls).await.unwrap_err());
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("data[tls.key]: Required value"),
        "{}",
        err.message
    );
    let causes = err.details.unwrap().causes;
    assert_eq!(causes[0].field, "data[tls.key]");

    let mut docker = secret("d", &[(".dockerconfigjson", "not json")]);
    docker.type_ = Some("kubernetes.io/dockerconfigjson".into());
    let err = api_status(
        api.create(&PostParams::default(), &docker)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(!err.message.contains("not json"));

    // v1 defaulting makes an omitted type `Opaque` on update too: a PUT without type on a
    // TLS Secret is the immutability error, not "keep the stored type".
    let mut ok_tls = secret("tls2", &[("tls.crt", "c"), ("tls.key", "k")]);
    ok_tls.type_ = Some("kubernetes.io/tls".into());
    let mut stored = api.create(&PostParams::default(), &ok_tls).await.unwrap();
    stored.type_ = None;
    let err = api_status(
        api.replace("tls2", &PostParams::default(), &stored)
            .await
            .unwrap_err(),
    );
    assert!(
        err.message
            .contains("type: Invalid value: \"Opaque\": field is immutable"),
        "{}",
        err.message
    );

    let bad_key = secret("k", &[("bad/key", "v")]);
    assert_eq!(
        api_status(
            api.create(&PostParams::default(), &bad_key)
                .await
                .unwrap_err()
        )
        .code,
        422
    );

    // Invalid names are refused.
    let err = api_status(
        api.create(&PostParams::default(), &secret("Bad_Name", &[]))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);

    // A create carrying a resourceVersion is refused as the real server does (500, no reason).
    let mut with_rv = secret("rv", &[]);
    with_rv.metadata.resource_version = Some("5".into());
    let err = api_status(
        api.create(&PostParams::default(), &with_rv)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 500);
}
