//! Watch: replay from an RV, DELETED with the deletion RV, bookmarks, in-band 410,
//! the real watcher/reflector resuming after forced 410s and dropped connections,
//! selectors with transitions, streaming lists, metadata-only watches, timeouts.

use super::{b64, eventually, secret, start};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::PartialObjectMeta;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

#[tokio::test]
async fn watch_replays_history_from_a_resource_version() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let list_rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    // Writes between the LIST and the WATCH must not be lost.
    api.create(&PostParams::default(), &secret("a", &[("k", "1")]))
        .await
        .unwrap();
    let m = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"k": b64("2")}})),
        )
        .await
        .unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();

    let stream = api
        .watch(
            &WatchParams::default().timeout(3).disable_bookmarks(),
            &list_rv,
        )
        .await
        .unwrap();
    let events: Vec<WatchEvent<Secret>> = stream.take(3).try_collect().await.unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            _ => "OTHER",
        })
        .collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
    let WatchEvent::Deleted(last) = &events[2] else {
        unreachable!()
    };
    assert_eq!(
        last.data.as_ref().unwrap()["k"].0,
        b"2",
        "DELETED carries the last state"
    );
    let del_rv: u64 = last
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    let mod_rv: u64 = m
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(del_rv > mod_rv, "DELETED carries the deletion's RV");
}

#[tokio::test]
async fn bookmarks_carry_kind_and_timeout_ends_the_stream() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let started = Instant::now();
    let stream = api
        .watch(&WatchParams::default().timeout(3), &rv)
        .await
        .unwrap();
    let events: Vec<WatchEvent<Secret>> = stream.try_collect().await.unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_secs(3) && elapsed < Duration::from_secs(6),
        "{elapsed:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, WatchEvent::Bookmark(b) if b.metadata.resource_version == rv)),
        "a parseable bookmark before the deadline: {events:?}"
    );
}

#[tokio::test]
async fn too_old_resource_version_is_an_in_band_410() {
    let double = start().await;
    let api: Api<Secret> = Api::default_namespaced(double.client().unwrap());
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    api.create(&PostParams::default(), &secret("x", &[]))
        .await
        .unwrap();
    double.compact_history();
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap()
        .boxed();
    match stream.next().await.unwrap().unwrap() {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected ERROR 410, got {other:?}"),
    }
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
    let watch_req = double
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.verb == "watch")
        .unwrap();
    assert_eq!(watch_req.status, 200, "never an HTTP 410 on a watch");
}

/// Drives a reflector and returns the names it holds.
fn names(reader: &reflector::Store<ConfigMap>) -> BTreeSet<String> {
    reader
        .state()
        .iter()
        .map(|c| c.metadata.name.clone().unwrap())
        .collect()
}

fn expect(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn watcher_relists_after_a_forced_410_and_sees_every_change() {
    let double = start().await;
    let client = double.client().unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for n in ["keep", "change", "gone"] {
        api.create(&PostParams::default(), &cm(n, json!({})))
            .await
            .unwrap();
    }
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .default_backoff()
        .touched_objects();
    let task = tokio::spawn(stream.for_each(|_| async {}));
    assert!(
        eventually(Duration::from_secs(10), || names(&reader)
            == expect(&["keep", "change", "gone"]))
        .await
    );
    let lists_before = double.count("list", "/configmaps");

    // Forget history and cut the stream: the resumed watch gets an in-band 410 → relist.
    double.compact_history();
    double.faults().gone_on_next_watches(1);
    double.faults().drop_watches();
    api.create(&PostParams::default(), &cm("new", json!({})))
        .await
        .unwrap();
    api.patch(
        "change",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await
    .unwrap();
    api.delete("gone", &DeleteParams::default()).await.unwrap();

    assert!(
        eventually(Duration::from_secs(15), || {
            names(&reader) == expect(&["keep", "change", "new"])
                && reader
                    .get(&reflector::ObjectRef::new("change").within("default"))
                    .is_some_and(|c| {
                        c.data.as_ref().and_then(|d| d.get("v")).map(String::as_str) == Some("2")
                    })
        })
        .await,
        "reflector converged: {:?}",
        names(&reader)
    );
    assert!(
        double.count("list", "/configmaps") > lists_before,
        "the watcher relisted after the 410"
    );
    task.abort();
}

#[tokio::test]
async fn watcher_resumes_after_dropped_connections_without_relisting() {
    let double = start().await;
    let client = double.client().unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let (reader, writer) = reflector::store();
    let task = tokio::spawn(
        reflector(writer, watcher(api.clone(), watcher::Config::default()))
            .default_backoff()
            .touched_objects()
            .for_each(|_| async {}),
    );
    assert!(
        eventually(Duration::from_secs(10), || double
            .count("watch", "/configmaps")
            >= 1)
        .await
    );
    let mut want = BTreeSet::new();
    for i in 0..20 {
        if i % 5 == 0 {
            // Cut the open stream, write while it is down, and wait for the re-watch.
            let watches = double.count("watch", "/configmaps");
            double.faults().drop_watches();
            api.create(&PostParams::default(), &cm(&format!("gap-{i}"), json!({})))
                .await
                .unwrap();
            want.insert(format!("gap-{i}"));
            assert!(
                eventually(Duration::from_secs(10), || double
                    .count("watch", "/configmaps")
                    > watches)
                .await
            );
        }
        let name = format!("cm-{i}");
        api.create(&PostParams::default(), &cm(&name, json!({})))
            .await
            .unwrap();
        want.insert(name);
    }
    api.delete("cm-3", &DeleteParams::default()).await.unwrap();
    want.remove("cm-3");
    double.faults().drop_watches();
    api.create(&PostParams::default(), &cm("late", json!({})))
        .await
        .unwrap();
    want.insert("late".into());
    assert!(
        eventually(Duration::from_secs(15), || names(&reader) == want).await,
        "{:?}",
        names(&reader)
    );
    assert_eq!(
        double.count("list", "/configmaps"),
        1,
        "resumed from the RV, no relist"
    );
    assert!(
        double.count("watch", "/configmaps") >= 5,
        "re-watched after each drop"
    );
    task.abort();
}

#[tokio::test]
async fn label_selector_watch_sees_objects_enter_and_leave() {
    let double = start().await;
    let api: Api<ConfigMap> = Api::default_namespaced(double.client().unwrap());
    api.create(&PostParams::default(), &cm("sel", json!({"app": "other"})))
        .await
        .unwrap();
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = api
        .watch(
            &WatchParams::default()
                .labels("app in (demo,x),!skip")
                .timeout(5)
                .disable_bookmarks(),
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    api.patch(
        "sel",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"app": "demo"}}})),
    )
    .await
    .unwrap();
    api.patch(
        "sel",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "b"}})),
    )
    .await
    .unwrap();
    api.patch(
        "sel",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"skip": ""}}})),
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        match stream.next().await.unwrap().unwrap() {
            WatchEvent::Added(c) => got.push(("ADDED", c)),
            WatchEvent::Modified(c) => got.push(("MODIFIED", c)),
            WatchEvent::Deleted(c) => got.push(("DELETED", c)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        got.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["ADDED", "MODIFIED", "DELETED"]
    );
    // The DELETED on leaving carries the previous (still matching) content.
    assert!(
        !got[2]
            .1
            .metadata
            .labels
            .as_ref()
            .unwrap()
            .contains_key("skip")
    );

    // Lists honour set-based selectors too; a bad selector is a 400.
    let l = api
        .list(&ListParams::default().labels("app notin (demo)"))
        .await
        .unwrap();
    assert!(l.items.is_empty());
    let err = super::api_status(
        api.list(&ListParams::default().labels("app in demo"))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 400);
}

#[tokio::test]
async fn field_selectors_on_list_watch_and_await_condition() {
    let double = start().await;
    let client = double.client().unwrap();
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &secret("plain", &[]))
        .await
        .unwrap();
    let mut tls = secret("tls", &[("tls.crt", "c"), ("tls.key", "k")]);
    tls.type_ = Some("kubernetes.io/tls".into());
    api.create(&PostParams::default(), &tls).await.unwrap();
    let l = api
        .list(&ListParams::default().fields("type=kubernetes.io/tls"))
        .await
        .unwrap();
    assert_eq!(l.items.len(), 1);
    let l = api
        .list(&ListParams::default().fields("metadata.name!=tls,metadata.namespace=default"))
        .await
        .unwrap();
    assert_eq!(
        l.items
            .iter()
            .map(|s| s.metadata.name.clone().unwrap())
            .collect::<Vec<_>>(),
        ["plain"]
    );
    let err = super::api_status(
        api.list(&ListParams::default().fields("data.x=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (err.code, err.message.as_str()),
        (400, "field label not supported: data.x")
    );

    // await_condition uses watch_object → fieldSelector=metadata.name=...
    let waiter = tokio::spawn(kube::runtime::wait::await_condition(
        api.clone(),
        "later",
        |s: Option<&Secret>| {
            s.and_then(|s| s.metadata.labels.as_ref())
                .is_some_and(|l| l.contains_key("ready"))
        },
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    api.create(&PostParams::default(), &secret("later", &[]))
        .await
        .unwrap();
    api.patch(
        "later",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"ready": "y"}}})),
    )
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        double
            .requests()
            .iter()
            .any(|r| r.verb == "watch" && r.query.contains("fieldSelector=metadata.name%3Dlater"))
    );
}

#[tokio::test]
async fn streaming_lists_and_metadata_only_watches() {
    let double = start().await;
    let client = double.client().unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    for n in ["a", "b"] {
        api.create(&PostParams::default(), &cm(n, json!({})))
            .await
            .unwrap();
    }
    // Streaming list: initial ADDED + initial-events-end bookmark → InitDone, no LIST call.
    let (reader, writer) = reflector::store();
    let t1 = tokio::spawn(
        reflector(
            writer,
            watcher(api.clone(), watcher::Config::default().streaming_lists()),
        )
        .touched_objects()
        .for_each(|_| async {}),
    );
    assert!(
        eventually(Duration::from_secs(10), || names(&reader)
            == expect(&["a", "b"]))
        .await
    );
    assert_eq!(double.count("list", "/configmaps"), 0);
    api.create(&PostParams::default(), &cm("c", json!({})))
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || names(&reader)
            == expect(&["a", "b", "c"]))
        .await
    );
    t1.abort();

    // Metadata-only watcher (what Controller::owns uses).
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    secrets
        .create(
            &PostParams::default(),
            &secret("meta", &[("hidden", "value")]),
        )
        .await
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let t2 = tokio::spawn(
        watcher(
            Api::<PartialObjectMeta<Secret>>::default_namespaced(client.clone()),
            watcher::Config::default(),
        )
        .touched_objects()
        .try_for_each(move |m| {
            seen2.lock().unwrap().push(m.metadata.name.clone().unwrap());
            async { Ok(()) }
        }),
    );
    assert!(
        eventually(Duration::from_secs(10), || seen
            .lock()
            .unwrap()
            .contains(&"meta".to_string()))
        .await
    );
    secrets
        .create(&PostParams::default(), &secret("meta2", &[]))
        .await
        .unwrap();
    assert!(
        eventually(Duration::from_secs(10), || seen
            .lock()
            .unwrap()
            .contains(&"meta2".to_string()))
        .await
    );
    let reqs = double.requests();
    assert!(
        reqs.iter()
            .any(|r| r.verb == "list" && r.path.ends_with("/secrets") && r.meta_only)
    );
    assert!(
        reqs.iter()
            .any(|r| r.verb == "watch" && r.path.ends_with("/secrets") && r.meta_only)
    );
    t2.abort();
}

#[tokio::test]
async fn all_namespaces_list_and_watch() {
    let double = start().await;
    let client = double.client().unwrap();
    double.create_namespace("other").unwrap();
    let all: Api<Secret> = Api::all(client.clone());
    let (reader, writer) = reflector::store();
    let task = tokio::spawn(
        reflector(
            writer,
            watcher(
                all.clone(),
                watcher::Config::default()
                    .labels("sealedsecrets.bitnami.com/sealed-secrets-key=active"),
            ),
        )
        .touched_objects()
        .for_each(|_| async {}),
    );
    for ns in ["default", "other"] {
        let api: Api<Secret> = Api::namespaced(client.clone(), ns);
        let mut s = secret("key", &[]);
        s.metadata.labels = Some(
            [(
                "sealedsecrets.bitnami.com/sealed-secrets-key".to_string(),
                "active".to_string(),
            )]
            .into(),
        );
        api.create(&PostParams::default(), &s).await.unwrap();
        api.create(&PostParams::default(), &secret("unlabelled", &[]))
            .await
            .unwrap();
    }
    assert!(eventually(Duration::from_secs(10), || reader.state().len() == 2).await);
    let namespaces: BTreeSet<String> = reader
        .state()
        .iter()
        .map(|s| s.metadata.namespace.clone().unwrap())
        .collect();
    assert_eq!(namespaces, expect(&["default", "other"]));
    assert_eq!(
        all.list(&ListParams::default()).await.unwrap().items.len(),
        4
    );
    // dryRun=All validates but persists nothing.
    let rev = double.store().revision();
    let api: Api<Secret> = Api::default_namespaced(client.clone());
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    api.create(&dry, &secret("dry", &[])).await.unwrap();
    assert!(api.get_opt("dry").await.unwrap().is_none());
    assert_eq!(double.store().revision(), rev);
    task.abort();
}
