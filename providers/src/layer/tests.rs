//! The request layer against the fake store: cache, TTL, dedup, invalidation, errors.

use std::sync::Arc;
use std::time::Duration;

use super::{LayerConfig, RequestLayer, StoreClient, StorePool};
use crate::fake::{FakeConfig, FakeEntry};
use crate::metrics::{Counters, Metrics, ProviderKind};
use crate::provider::StoreConfig;
use crate::{ErrorKind, FindRef, PushRef, RemoteRef, SecretValue};

fn entry(key: &str, value: &str, version: Option<&str>) -> FakeEntry {
    FakeEntry {
        key: key.into(),
        value: SecretValue::from(value),
        version: version.map(str::to_owned),
    }
}

fn config(latency_ms: u64) -> StoreConfig {
    StoreConfig::Fake(FakeConfig {
        data: vec![
            entry(
                "db",
                r#"{"user":"admin","password":"p1","n":7,"o":{"a":1}}"#,
                None,
            ),
            entry("db", r#"{"user":"admin","password":"old"}"#, Some("v1")),
            entry("plain", "just text", None),
            entry("app/one", "1", None),
            entry("app/two", "2", Some("a")),
            entry("app/two", "2b", Some("b")),
        ],
        latency: Duration::from_millis(latency_ms),
    })
}

async fn store(ttl: Duration, latency_ms: u64) -> (StoreClient, Arc<Counters>, Arc<RequestLayer>) {
    let (metrics, counters) = Metrics::counters();
    let layer = RequestLayer::new(
        LayerConfig {
            ttl,
            ..LayerConfig::default()
        },
        metrics,
    );
    let client = StoreClient::connect("SecretStore/ns/fake@1", config(latency_ms), layer.clone())
        .await
        .unwrap();
    (client, counters, layer)
}

fn text(v: &SecretValue) -> &str {
    v.expose_str().unwrap()
}

#[tokio::test]
async fn fake_provider_follows_eso_semantics() {
    let (s, _, _) = store(Duration::from_secs(10), 0).await;
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("db").with_property("password"))
                .await
                .unwrap()
        ),
        "p1"
    );
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("db").with_property("n"))
                .await
                .unwrap()
        ),
        "7"
    );
    assert_eq!(
        text(
            &s.get(
                &RemoteRef::key("db")
                    .with_version("v1")
                    .with_property("password")
            )
            .await
            .unwrap()
        ),
        "old"
    );
    // A version that does not exist, and a missing property, are "not found" in ESO's fake.
    let missing_version = s
        .get(&RemoteRef::key("db").with_version("v9"))
        .await
        .unwrap_err();
    assert_eq!(missing_version.kind(), ErrorKind::NotFound);
    let missing_property = s
        .get(&RemoteRef::key("db").with_property("nope"))
        .await
        .unwrap_err();
    assert_eq!(missing_property.kind(), ErrorKind::NotFound);

    let map = s.get_map(&RemoteRef::key("db")).await.unwrap();
    assert_eq!(text(&map["user"]), "admin");
    assert_eq!(text(&map["n"]), "7");
    assert_eq!(text(&map["o"]), r#"{"a":1}"#);
    let not_json = s.get_map(&RemoteRef::key("plain")).await.unwrap_err();
    assert_eq!(not_json.kind(), ErrorKind::InvalidRef);
    assert!(!not_json.to_string().contains("just text"));

    let found = s
        .find(&FindRef {
            name_regexp: Some("^app/".into()),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(
        found.keys().cloned().collect::<Vec<_>>(),
        ["app/one", "app/two"]
    );
    assert_eq!(text(&found["app/two"]), "2b", "the highest version wins");
    let by_tags = FindRef {
        tags: [("env".to_owned(), "dev".to_owned())].into(),
        ..FindRef::default()
    };
    assert_eq!(
        s.find(&by_tags).await.unwrap_err().kind(),
        ErrorKind::Config
    );
    let bad_regexp = FindRef {
        name_regexp: Some("(".into()),
        ..FindRef::default()
    };
    assert_eq!(
        s.find(&bad_regexp).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn fake_push_delete_and_exists() {
    let (s, _, _) = store(Duration::from_secs(10), 0).await;
    let pushed = PushRef::key("pushed");
    assert!(!s.exists(&pushed).await.unwrap());
    s.push(
        &pushed.clone().with_property("a"),
        &SecretValue::from("1"),
        None,
    )
    .await
    .unwrap();
    s.push(
        &pushed.clone().with_property("b.c"),
        &SecretValue::from("2"),
        None,
    )
    .await
    .unwrap();
    assert!(s.exists(&pushed).await.unwrap());
    // The push invalidated the cache: the read sees the merged object.
    assert_eq!(
        text(&s.get(&RemoteRef::key("pushed")).await.unwrap()),
        r#"{"a":"1","b":{"c":"2"}}"#
    );
    // Values defined in the store spec cannot be overwritten.
    let err = s
        .push(&PushRef::key("plain"), &SecretValue::from("x"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    s.delete(&pushed).await.unwrap();
    assert!(!s.exists(&pushed).await.unwrap());
    assert_eq!(
        s.get(&RemoteRef::key("pushed")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    s.delete(&PushRef::key("plain")).await.unwrap();
    assert!(
        s.exists(&PushRef::key("plain")).await.unwrap(),
        "static entries survive delete"
    );
}

#[tokio::test]
async fn concurrent_identical_reads_share_one_call_and_cache_serves_the_rest() {
    let (s, counters, _) = store(Duration::from_secs(30), 50).await;
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let s = s.clone();
        let property = if i % 2 == 0 { "user" } else { "password" };
        tasks.push(tokio::spawn(async move {
            s.get(&RemoteRef::key("db").with_property(property)).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 1);
    assert_eq!(counters.dedup_joins(ProviderKind::Fake), 199);
    s.get(&RemoteRef::key("db")).await.unwrap();
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 1);
    assert_eq!(counters.cache_hits(ProviderKind::Fake), 1);
    // A different version is a different read.
    s.get(&RemoteRef::key("db").with_version("v1"))
        .await
        .unwrap();
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 2);
}

#[tokio::test]
async fn ttl_expiry_and_invalidation_send_reads_to_the_store() {
    let (s, counters, layer) = store(Duration::from_millis(150), 0).await;
    let r = RemoteRef::key("db").with_property("user");
    s.get(&r).await.unwrap();
    s.get(&r).await.unwrap();
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.get(&r).await.unwrap();
    assert_eq!(
        counters.calls(ProviderKind::Fake, "GetSecret"),
        2,
        "expired entries are re-read"
    );
    s.invalidate("db");
    s.get(&r).await.unwrap();
    assert_eq!(
        counters.calls(ProviderKind::Fake, "GetSecret"),
        3,
        "force-sync re-reads"
    );
    s.invalidate_all();
    assert!(layer.is_empty());
}

#[tokio::test]
async fn errors_are_shared_with_joiners_but_never_cached() {
    let (s, counters, layer) = store(Duration::from_secs(30), 30).await;
    let s = Arc::new(s);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.get(&RemoteRef::key("absent")).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap_err().kind(), ErrorKind::NotFound);
    }
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 1);
    assert!(layer.is_empty(), "the error was not kept");
    s.get(&RemoteRef::key("absent")).await.unwrap_err();
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 2);
}

#[tokio::test]
async fn stores_and_revisions_never_share_cached_values() {
    let (metrics, counters) = Metrics::counters();
    let layer = RequestLayer::new(LayerConfig::default(), metrics);
    let pool = StorePool::new(layer);
    let a1 = pool
        .get_or_connect("a", "1", || Ok(config(0)))
        .await
        .unwrap();
    let again = pool
        .get_or_connect("a", "1", || panic!("must reuse"))
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&a1, &again));
    let b = pool
        .get_or_connect("b", "1", || Ok(config(0)))
        .await
        .unwrap();
    a1.get(&RemoteRef::key("db")).await.unwrap();
    b.get(&RemoteRef::key("db")).await.unwrap();
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 2);
    let a2 = pool
        .get_or_connect("a", "2", || Ok(config(0)))
        .await
        .unwrap();
    assert!(!Arc::ptr_eq(&a1, &a2));
    assert!(pool.get("a", "1").await.is_none());
    a2.get(&RemoteRef::key("db")).await.unwrap();
    assert_eq!(counters.calls(ProviderKind::Fake, "GetSecret"), 3);
    assert_eq!(pool.len().await, 2);
    pool.evict("b").await;
    pool.shutdown().await;
    assert!(pool.is_empty().await);
}
