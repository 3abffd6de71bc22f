//! The double holds 10,000+ objects and serves a controller's list+watch quickly.

use super::{b64, eventually};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use sealbox_tests::apiserver::ApiServer;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn ten_thousand_objects_list_and_watch() {
    let double = ApiServer::start().await.unwrap();
    let t = Instant::now();
    for i in 0..10_000 {
        double
            .put(
                "v1",
                "secrets",
                json!({"metadata": {"name": format!("s-{i:05}"), "namespace": "default", "labels": {"shard": (i % 10).to_string()}},
                       "data": {"value": b64("x")}}),
            )
            .unwrap();
    }
    let load = t.elapsed();
    let client = double.client().unwrap();
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    let (reader, writer) = reflector::store();
    let t = Instant::now();
    let task = tokio::spawn(
        reflector(writer, watcher(api.clone(), watcher::Config::default()))
            .touched_objects()
            .for_each(|_| async {}),
    );
    assert!(eventually(Duration::from_secs(60), || reader.state().len() == 10_000).await);
    let synced = t.elapsed();
    assert_eq!(double.count("list", "/secrets"), 20, "500 per page");
    // Live changes still flow promptly with 10k objects stored.
    let t = Instant::now();
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "one-more"}})).unwrap(),
    )
    .await
    .unwrap();
    assert!(eventually(Duration::from_secs(10), || reader.state().len() == 10_001).await);
    let live = t.elapsed();
    // A selector list stays O(matching objects) in output.
    let l = api
        .list(&kube::api::ListParams::default().labels("shard=3"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 1_000);
    eprintln!("10k objects: load {load:?}, paged list+watch sync {synced:?}, live event {live:?}");
    assert!(synced < Duration::from_secs(30), "sync took {synced:?}");
    task.abort();
}
