//! Tests of the Kubernetes API double itself, driven by the real `kube` client and runtime.

mod controller;
mod crd_status;
mod crud;
mod events;
mod faults;
mod perf;
mod secrets;
mod ssa;
mod watch;

use k8s_openapi::api::core::v1::Secret;
use kube::CustomResource;
use kube::CustomResourceExt;
use schemars::JsonSchema;
use sealbox_tests::apiserver::ApiServer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A namespaced custom resource with a status subresource, as the controller's CRDs are.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq)]
#[kube(
    group = "test.sealbox.io",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
pub struct WidgetSpec {
    pub size: i32,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// Starts a double with the Widget CRD installed.
pub async fn start() -> ApiServer {
    let double = ApiServer::start().await.expect("start double");
    double
        .install_crd(serde_json::to_value(Widget::crd()).unwrap())
        .expect("install Widget CRD");
    double
}

pub fn widget(name: &str, size: i32) -> Widget {
    Widget::new(
        name,
        WidgetSpec {
            size,
            tags: BTreeMap::new(),
        },
    )
}

pub fn secret(name: &str, pairs: &[(&str, &str)]) -> Secret {
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": name},
        "data": pairs.iter().map(|(k, v)| (k.to_string(), serde_json::json!(b64(v)))).collect::<serde_json::Map<_, _>>(),
    }))
    .unwrap()
}

pub fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

pub fn api_status(e: kube::Error) -> Box<kube::core::Status> {
    match e {
        kube::Error::Api(s) => s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn eventually<F: FnMut() -> bool>(timeout: Duration, mut f: F) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The stored resourceVersion of an object as a number.
pub fn rv_of<K: kube::Resource>(o: &K) -> u64 {
    o.meta()
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap()
}
