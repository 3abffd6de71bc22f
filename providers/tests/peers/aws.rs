//! AWS Secrets Manager provider against moto.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{Credentials, Region};
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use sealbox_providers::aws::{AwsAuth, AwsConfig, BatchConfig};
use sealbox_providers::{
    Counters, ErrorKind, FindRef, LayerConfig, Metrics, ProviderKind, PushRef, RemoteRef,
    RequestLayer, SecretValue, StoreClient, StoreConfig,
};
use serde_json::json;

use crate::support::{
    self, ExclusiveLock, Recorder, operations, peer_script, recorded_body, unique,
};

fn admin(url: &str) -> Client {
    support::install_crypto();
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .build();
    Client::from_conf(conf)
}

fn config(url: &str) -> AwsConfig {
    AwsConfig {
        region: "us-east-1".into(),
        auth: AwsAuth::Static {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
            session_token: None,
        },
        endpoint_url: Some(url.to_owned()),
        ..AwsConfig::default()
    }
}

async fn connect(config: AwsConfig, ttl: Duration) -> (StoreClient, Arc<Counters>) {
    support::install_crypto();
    let (metrics, counters) = Metrics::counters();
    let layer = RequestLayer::new(
        LayerConfig {
            ttl,
            ..LayerConfig::default()
        },
        metrics,
    );
    let client = StoreClient::connect(unique("aws-store"), StoreConfig::Aws(config), layer)
        .await
        .unwrap();
    (client, counters)
}

async fn create(client: &Client, name: &str, value: &str, tags: &[(&str, &str)]) -> String {
    let tags: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
        .collect();
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned()
}

fn text(value: &SecretValue) -> String {
    String::from_utf8(value.expose().to_vec()).unwrap()
}

#[tokio::test]
async fn reads_stages_version_ids_binary_and_properties_like_eso() {
    let url = support::moto_url();
    let sm = admin(&url);
    let base = unique("app");
    let db = format!("{base}/db");
    let first = json!({"user": "admin", "password": "p1", "a.b": "literal",
        "a": {"b": "nested"}, "nested": {"x.y": "dotted", "arr": [1, 2]}, "port": 5432});
    let v1 = create(&sm, &db, &first.to_string(), &[]).await;
    let v2 = sm
        .put_secret_value()
        .secret_id(&db)
        .secret_string(r#"{"user":"admin","password":"p2"}"#)
        .send()
        .await
        .unwrap()
        .version_id()
        .unwrap()
        .to_owned();
    sm.update_secret_version_stage()
        .secret_id(&db)
        .version_stage("BLUE")
        .move_to_version_id(&v1)
        .send()
        .await
        .unwrap();
    let bin = format!("{base}/bin");
    sm.create_secret()
        .name(&bin)
        .secret_binary(Blob::new(vec![0u8, 1, 2, 255]))
        .send()
        .await
        .unwrap();

    // The store's prefix is prepended to every key.
    let (s, _) = connect(
        AwsConfig {
            prefix: format!("{base}/"),
            ..config(&url)
        },
        Duration::from_secs(10),
    )
    .await;
    let get = |r: RemoteRef| {
        let s = &s;
        async move { s.get(&r).await }
    };
    assert_eq!(
        text(
            &get(RemoteRef::key("db").with_property("password"))
                .await
                .unwrap()
        ),
        "p2"
    );
    assert_eq!(
        text(
            &get(RemoteRef::key("db")
                .with_version("AWSPREVIOUS")
                .with_property("password"))
            .await
            .unwrap()
        ),
        "p1"
    );
    assert_eq!(
        text(
            &get(RemoteRef::key("db")
                .with_version("BLUE")
                .with_property("password"))
            .await
            .unwrap()
        ),
        "p1"
    );
    assert_eq!(
        text(
            &get(RemoteRef::key("db")
                .with_version(format!("uuid/{v1}"))
                .with_property("password"))
            .await
            .unwrap()
        ),
        "p1"
    );
    assert_eq!(
        text(
            &get(RemoteRef::key("db").with_version(format!("uuid/{v2}")))
                .await
                .unwrap()
        ),
        r#"{"user":"admin","password":"p2"}"#
    );
    // Dotted property: the literal key wins, then the nested path, escapes work.
    let old = |p: &str| {
        RemoteRef::key("db")
            .with_version("AWSPREVIOUS")
            .with_property(p)
    };
    assert_eq!(text(&get(old("a.b")).await.unwrap()), "literal");
    assert_eq!(text(&get(old("a")).await.unwrap()), r#"{"b":"nested"}"#);
    assert_eq!(text(&get(old(r"nested.x\.y")).await.unwrap()), "dotted");
    assert_eq!(text(&get(old("nested.arr.1")).await.unwrap()), "2");
    assert_eq!(text(&get(old("port")).await.unwrap()), "5432");
    let missing = get(old("nope")).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::InvalidRef);
    assert!(missing.to_string().contains("nope"));
    assert!(
        !missing.to_string().contains("p1"),
        "errors never carry values"
    );

    // SecretBinary comes back byte for byte.
    assert_eq!(
        get(RemoteRef::key("bin")).await.unwrap().expose(),
        [0u8, 1, 2, 255]
    );

    // dataFrom.extract: strings unquoted, the rest raw JSON.
    let map = s
        .get_map(&RemoteRef::key("db").with_version("AWSPREVIOUS"))
        .await
        .unwrap();
    assert_eq!(text(&map["password"]), "p1");
    assert_eq!(text(&map["port"]), "5432");
    assert_eq!(text(&map["nested"]), r#"{"x.y":"dotted","arr":[1,2]}"#);
    assert_eq!(
        s.get_map(&RemoteRef::key("bin")).await.unwrap_err().kind(),
        ErrorKind::InvalidRef
    );

    let absent = get(RemoteRef::key("absent")).await.unwrap_err();
    assert_eq!(absent.kind(), ErrorKind::NotFound);
    let absent_version =
        get(RemoteRef::key("db").with_version("uuid/00000000-0000-0000-0000-00000000dead"))
            .await
            .unwrap_err();
    assert_eq!(absent_version.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn metadata_fetch_returns_tags_as_json() {
    let url = support::moto_url();
    let sm = admin(&url);
    let name = unique("tagged");
    create(&sm, &name, "v", &[("team", "core"), ("env", "dev")]).await;
    let (s, _) = connect(config(&url), Duration::from_secs(10)).await;
    let all = s
        .get(&RemoteRef::key(&name).fetch_metadata())
        .await
        .unwrap();
    assert_eq!(text(&all), r#"{"env":"dev","team":"core"}"#);
    let team = s
        .get(&RemoteRef::key(&name).fetch_metadata().with_property("team"))
        .await
        .unwrap();
    assert_eq!(text(&team), "core");
}

#[tokio::test]
async fn find_by_name_regexp_tags_and_path() {
    let url = support::moto_url();
    let sm = admin(&url);
    let base = unique("find");
    let tag = unique("tag");
    create(&sm, &format!("{base}/a/one"), "1", &[(&tag, "x")]).await;
    create(&sm, &format!("{base}/a/two"), "2", &[(&tag, "y")]).await;
    create(&sm, &format!("{base}/b/three"), "3", &[(&tag, "x")]).await;
    let (s, counters) = connect(config(&url), Duration::from_secs(10)).await;

    let by_name = s
        .find(&FindRef {
            name_regexp: Some(format!("^{base}/a/")),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_name
            .iter()
            .map(|(k, v)| (k.clone(), text(v)))
            .collect::<Vec<_>>(),
        [
            (format!("{base}/a/one"), "1".into()),
            (format!("{base}/a/two"), "2".into())
        ]
    );
    // ESO reads each match with its own GetSecretValue; we batch them.
    assert_eq!(counters.calls(ProviderKind::Aws, "GetSecretValue"), 0);

    let by_tags = s
        .find(&FindRef {
            tags: [(tag.clone(), "x".to_owned())].into(),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_tags.keys().cloned().collect::<Vec<_>>(),
        [format!("{base}/a/one"), format!("{base}/b/three")]
    );

    let by_path = s
        .find(&FindRef {
            path: Some(format!("{base}/b")),
            name_regexp: Some(".*".into()),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_path.keys().cloned().collect::<Vec<_>>(),
        [format!("{base}/b/three")]
    );

    let nothing = FindRef::default();
    assert_eq!(
        s.find(&nothing).await.unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[tokio::test]
async fn push_creates_merges_properties_and_deletes_only_what_it_manages() {
    let url = support::moto_url();
    let sm = admin(&url);
    let (s, _) = connect(
        AwsConfig {
            force_delete_without_recovery: true,
            ..config(&url)
        },
        Duration::from_secs(10),
    )
    .await;
    let name = unique("pushed");
    let whole = PushRef::key(&name);
    assert!(!s.exists(&whole).await.unwrap());
    s.push(
        &whole.clone().with_property("user"),
        &SecretValue::from("admin"),
        None,
    )
    .await
    .unwrap();
    let described = sm.describe_secret().secret_id(&name).send().await.unwrap();
    assert!(
        described
            .tags()
            .iter()
            .any(|t| t.key() == Some("managed-by") && t.value() == Some("external-secrets"))
    );
    // ESO pushes SecretBinary unless metadata says "string".
    let raw = sm.get_secret_value().secret_id(&name).send().await.unwrap();
    assert_eq!(
        raw.secret_binary().unwrap().as_ref(),
        br#"{"user":"admin"}"#
    );

    s.push(
        &whole.clone().with_property("db.password"),
        &SecretValue::from("s3cr3t"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        text(&s.get(&RemoteRef::key(&name)).await.unwrap()),
        r#"{"user":"admin","db":{"password":"s3cr3t"}}"#
    );
    assert_eq!(
        text(
            &s.get(&RemoteRef::key(&name).with_property("db.password"))
                .await
                .unwrap()
        ),
        "s3cr3t"
    );
    // Pushing the same value again writes nothing new.
    let versions_before = sm
        .list_secret_version_ids()
        .secret_id(&name)
        .send()
        .await
        .unwrap()
        .versions()
        .len();
    s.push(
        &whole.clone().with_property("user"),
        &SecretValue::from("admin"),
        None,
    )
    .await
    .unwrap();
    let versions_after = sm
        .list_secret_version_ids()
        .secret_id(&name)
        .send()
        .await
        .unwrap()
        .versions()
        .len();
    assert_eq!(versions_before, versions_after);

    // String format and tags from PushSecret metadata.
    let string_name = unique("pushed-string");
    let metadata = json!({"apiVersion": "kubernetes.external-secrets.io/v1alpha1",
        "kind": "PushSecretMetadata", "spec": {"secretPushFormat": "string", "tags": {"team": "core"}}});
    s.push(
        &PushRef::key(&string_name),
        &SecretValue::from("plain"),
        Some(&metadata),
    )
    .await
    .unwrap();
    let raw = sm
        .get_secret_value()
        .secret_id(&string_name)
        .send()
        .await
        .unwrap();
    assert_eq!(raw.secret_string(), Some("plain"));
    let tags = sm
        .describe_secret()
        .secret_id(&string_name)
        .send()
        .await
        .unwrap();
    assert!(tags.tags().iter().any(|t| t.key() == Some("team")));

    // A secret someone else owns is never overwritten, and never deleted.
    let foreign = unique("foreign");
    create(&sm, &foreign, "theirs", &[]).await;
    let refused = s
        .push(&PushRef::key(&foreign), &SecretValue::from("ours"), None)
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    assert!(!refused.to_string().contains("ours") && !refused.to_string().contains("theirs"));
    s.delete(&PushRef::key(&foreign)).await.unwrap();
    assert_eq!(
        text(&s.get(&RemoteRef::key(&foreign)).await.unwrap()),
        "theirs"
    );

    // Deleting one property keeps the others; deleting the rest removes the secret.
    s.delete(&whole.clone().with_property("user"))
        .await
        .unwrap();
    assert_eq!(
        text(&s.get(&RemoteRef::key(&name)).await.unwrap()),
        r#"{"db":{"password":"s3cr3t"}}"#
    );
    s.delete(&whole).await.unwrap();
    assert!(!s.exists(&whole).await.unwrap());
    assert_eq!(
        s.get(&RemoteRef::key(&name)).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    s.delete(&whole).await.unwrap();
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_not_found() {
    let url = support::moto_url();
    let sm = admin(&url);
    let name = unique("doomed");
    create(&sm, &name, "v", &[]).await;
    sm.delete_secret()
        .secret_id(&name)
        .recovery_window_in_days(7)
        .send()
        .await
        .unwrap();
    let (s, _) = connect(
        AwsConfig {
            batching: BatchConfig {
                enabled: false,
                ..BatchConfig::default()
            },
            ..config(&url)
        },
        Duration::from_secs(10),
    )
    .await;
    let err = s.get(&RemoteRef::key(&name)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

/// The issue's call-economy target: 1,000 ExternalSecrets over 100 distinct secrets with
/// two properties each cost at most 5 API calls per refresh cycle.
#[tokio::test]
async fn thousand_readers_of_hundred_secrets_cost_five_batch_calls() {
    let _lock = ExclusiveLock::take("moto-recorder");
    let url = support::recorder_moto_url();
    let sm = admin(&url);
    let base = unique("economy");
    let names: Vec<String> = (0..100).map(|i| format!("{base}/s{i:03}")).collect();
    futures::future::join_all(names.iter().enumerate().map(|(i, name)| {
        let sm = sm.clone();
        async move {
            create(
                &sm,
                name,
                &json!({"user": format!("u{i}"), "password": format!("p{i}")}).to_string(),
                &[],
            )
            .await
        }
    }))
    .await;

    let (s, counters) = connect(config(&url), Duration::from_secs(30)).await;
    let s = Arc::new(s);
    let recorder = Recorder::new(&url);
    let cycle = |s: Arc<StoreClient>, names: Vec<String>| async move {
        let tasks: Vec<_> = (0..1000)
            .map(|i| {
                let s = s.clone();
                let name = names[i % 100].clone();
                let property = if i % 2 == 0 { "user" } else { "password" };
                tokio::spawn(async move {
                    let value = s
                        .get(&RemoteRef::key(&name).with_property(property))
                        .await
                        .unwrap();
                    (i, value)
                })
            })
            .collect();
        for task in tasks {
            let (i, value) = task.await.unwrap();
            let expected = if i % 2 == 0 {
                format!("u{}", i % 100)
            } else {
                format!("p{}", i % 100)
            };
            assert_eq!(text(&value), expected);
        }
    };

    recorder.start().await;
    cycle(s.clone(), names.clone()).await;
    let first = operations(&recorder.stop().await);
    let total: usize = first.values().sum();
    assert!(total <= 5, "first cycle cost {total} calls: {first:?}");
    assert_eq!(first.get("BatchGetSecretValue"), Some(&5), "{first:?}");
    assert!(counters.dedup_joins(ProviderKind::Aws) >= 900);

    // Within the TTL the next cycle is served from memory.
    recorder.start().await;
    cycle(s.clone(), names.clone()).await;
    let second = operations(&recorder.stop().await);
    assert!(
        second.is_empty(),
        "cached cycle still called AWS: {second:?}"
    );
    assert!(counters.cache_hits(ProviderKind::Aws) >= 1000);

    // Force-sync: the next cycle goes back to AWS, batched again.
    s.invalidate_all();
    recorder.start().await;
    cycle(s.clone(), names).await;
    let third = operations(&recorder.stop().await);
    assert_eq!(third.values().sum::<usize>(), 5, "{third:?}");
}

#[tokio::test]
async fn batch_falls_back_per_id_on_secrets_the_batch_could_not_return() {
    let _lock = ExclusiveLock::take("moto-recorder");
    let url = support::recorder_moto_url();
    let sm = admin(&url);
    let a = unique("fallback-a");
    let b = unique("fallback-b");
    create(&sm, &a, "A", &[]).await;
    create(&sm, &b, "B", &[]).await;
    let missing = unique("fallback-missing");
    let (s, _) = connect(config(&url), Duration::from_secs(30)).await;
    let recorder = Recorder::new(&url);
    recorder.start().await;
    let (ref_a, ref_b, ref_missing) = (
        RemoteRef::key(&a),
        RemoteRef::key(&b),
        RemoteRef::key(&missing),
    );
    let (ra, rb, rm) = tokio::join!(s.get(&ref_a), s.get(&ref_b), s.get(&ref_missing));
    let ops = operations(&recorder.stop().await);
    assert_eq!(text(&ra.unwrap()), "A");
    assert_eq!(text(&rb.unwrap()), "B");
    assert_eq!(rm.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(ops.get("BatchGetSecretValue"), Some(&1), "{ops:?}");
    assert_eq!(
        ops.get("GetSecretValue"),
        Some(&1),
        "only the failed id is re-read: {ops:?}"
    );
}

#[tokio::test]
async fn role_assumption_sends_external_id_and_session_tags() {
    let _lock = ExclusiveLock::take("moto-recorder");
    let url = support::recorder_moto_url();
    let sm = admin(&url);
    let name = unique("assumed");
    create(&sm, &name, "via-role", &[]).await;
    let (s, _) = connect(
        AwsConfig {
            role: Some("arn:aws:iam::123456789012:role/eso-reader".into()),
            additional_roles: vec!["arn:aws:iam::123456789012:role/hop".into()],
            external_id: Some("ext-42".into()),
            session_tags: vec![("tenant".into(), "blue".into())],
            sts_endpoint_url: Some(url.clone()),
            ..config(&url)
        },
        Duration::from_secs(10),
    )
    .await;
    let recorder = Recorder::new(&url);
    recorder.start().await;
    s.validate().await.unwrap();
    assert_eq!(
        text(&s.get(&RemoteRef::key(&name)).await.unwrap()),
        "via-role"
    );
    let requests = recorder.stop().await;
    let bodies: Vec<String> = requests
        .iter()
        .map(recorded_body)
        .filter(|b| b.contains("Action=AssumeRole"))
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains("role%2Fhop")),
        "{bodies:?}"
    );
    let main = bodies
        .iter()
        .find(|b| b.contains("role%2Feso-reader"))
        .expect("the store role was assumed");
    assert!(main.contains("ExternalId=ext-42"), "{main}");
    assert!(
        main.contains("Tags.member.1.Key=tenant") && main.contains("Tags.member.1.Value=blue"),
        "{main}"
    );
    // The secret read was signed with the assumed role's credentials, not the static ones.
    let get = requests
        .iter()
        .find(|r| r["headers"]["X-Amz-Target"].as_str() == Some("secretsmanager.GetSecretValue"))
        .expect("GetSecretValue recorded");
    let auth = get["headers"]["Authorization"].as_str().unwrap();
    assert!(!auth.contains("Credential=test/"), "{auth}");
}

/// `AWS_ENDPOINT_URL_SECRETS_MANAGER` is honoured when no endpoint is configured. Runs in
/// a child process because the environment is process-wide.
#[tokio::test]
async fn endpoint_from_aws_endpoint_url_secrets_manager() {
    let url = support::moto_url();
    let sm = admin(&url);
    let name = unique("env-endpoint");
    create(&sm, &name, "from-env", &[]).await;
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "aws::endpoint_child", "--ignored", "--nocapture"])
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", &url)
        .env("SEALBOX_CHILD_SECRET", &name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("endpoint-child-ok"),
        "the child test did not read through the env endpoint: {stdout}"
    );
}

#[tokio::test]
#[ignore = "run by endpoint_from_aws_endpoint_url_secrets_manager in a child process"]
async fn endpoint_child() {
    let Ok(name) = std::env::var("SEALBOX_CHILD_SECRET") else {
        eprintln!(
            "endpoint_child only runs when spawned by endpoint_from_aws_endpoint_url_secrets_manager"
        );
        return;
    };
    let (s, _) = connect(
        AwsConfig {
            endpoint_url: None,
            ..config("unused")
        },
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        text(&s.get(&RemoteRef::key(&name)).await.unwrap()),
        "from-env"
    );
    println!("endpoint-child-ok");
}

/// Stop moto mid-test: reads fail as Unavailable (never an empty value), then recover by
/// themselves once it is back.
#[tokio::test]
async fn outage_is_unavailable_then_recovers() {
    let _lock = ExclusiveLock::take("moto-outage");
    let port = support::MOTO_OUTAGE_PORT;
    let url = peer_script("moto", "start", port);
    let sm = admin(&url);
    let name = unique("outage");
    create(&sm, &name, r#"{"k":"before"}"#, &[]).await;
    let (s, _) = connect(
        AwsConfig {
            attempt_timeout: Some(Duration::from_secs(2)),
            ..config(&url)
        },
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        text(
            &s.get(&RemoteRef::key(&name).with_property("k"))
                .await
                .unwrap()
        ),
        "before"
    );

    peer_script("moto", "stop", port);
    s.invalidate_all();
    let down = s
        .get(&RemoteRef::key(&name).with_property("k"))
        .await
        .unwrap_err();
    assert_eq!(down.kind(), ErrorKind::Unavailable, "{down}");
    assert!(down.is_transient());
    let map = s.get_map(&RemoteRef::key(&name)).await;
    assert!(map.is_err(), "a failed read never yields an (empty) map");
    let find = s
        .find(&FindRef {
            name_regexp: Some(".*".into()),
            ..FindRef::default()
        })
        .await;
    assert_eq!(find.unwrap_err().kind(), ErrorKind::Unavailable);

    let url_again = peer_script("moto", "start", port);
    assert_eq!(url, url_again);
    // moto keeps state in memory: seed it again, then the same client recovers.
    create(&admin(&url), &name, r#"{"k":"after"}"#, &[]).await;
    assert_eq!(
        text(
            &s.get(&RemoteRef::key(&name).with_property("k"))
                .await
                .unwrap()
        ),
        "after"
    );
    peer_script("moto", "stop", port);
}

/// A stand-in endpoint that answers every call with `status` and a JSON error body, so
/// throttling and 5xx classification are checked through the real SDK (moto does not
/// throttle).
async fn failing_endpoint(
    status: u16,
    error_type: &'static str,
    retry_after: Option<&'static str>,
) -> String {
    use axum::http::{HeaderMap, HeaderValue, StatusCode};
    let app = axum::Router::new().fallback(move || async move {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-amz-json-1.1"),
        );
        headers.insert("x-amzn-errortype", HeaderValue::from_static(error_type));
        if let Some(seconds) = retry_after {
            headers.insert("retry-after", HeaderValue::from_static(seconds));
        }
        (
            StatusCode::from_u16(status).unwrap(),
            headers,
            format!(r#"{{"__type":"{error_type}","message":"Rate exceeded"}}"#),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn throttling_and_server_errors_are_classified() {
    let throttling = failing_endpoint(400, "ThrottlingException", Some("3")).await;
    let (s, _) = connect(config(&throttling), Duration::from_secs(10)).await;
    let err = s.get(&RemoteRef::key("any")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert!(err.is_transient());

    let too_many = failing_endpoint(429, "TooManyRequests", None).await;
    let (s, _) = connect(config(&too_many), Duration::from_secs(10)).await;
    assert_eq!(
        s.get(&RemoteRef::key("any")).await.unwrap_err().kind(),
        ErrorKind::Throttled
    );

    let broken = failing_endpoint(500, "InternalServiceError", None).await;
    let (s, _) = connect(config(&broken), Duration::from_secs(10)).await;
    let err = s.get_map(&RemoteRef::key("any")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");

    let denied = failing_endpoint(400, "AccessDeniedException", None).await;
    let (s, _) = connect(config(&denied), Duration::from_secs(10)).await;
    assert_eq!(
        s.get(&RemoteRef::key("any")).await.unwrap_err().kind(),
        ErrorKind::Forbidden
    );

    // Nothing listens here: connection refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let (s, _) = connect(config(&closed), Duration::from_secs(10)).await;
    assert_eq!(
        s.get(&RemoteRef::key("any")).await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
}

/// A proxy in front of moto that denies `BatchGetSecretValue`, like an IAM policy written
/// for ESO (GetSecretValue only).
async fn batch_denying_proxy(moto: String) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let (http, moto) = (http.clone(), moto.clone());
        async move {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if target.ends_with("BatchGetSecretValue") {
                return (
                    StatusCode::BAD_REQUEST,
                    [("x-amzn-errortype", "AccessDeniedException".to_owned())],
                    r#"{"__type":"AccessDeniedException","message":"not authorized to perform: secretsmanager:BatchGetSecretValue"}"#
                        .as_bytes()
                        .to_vec(),
                );
            }
            let mut request = http.post(&moto).body(body);
            for (name, value) in &headers {
                if name != "host" && name != "content-length" {
                    request = request.header(name.as_str(), value.as_bytes());
                }
            }
            let response = request.send().await.unwrap();
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/x-amz-json-1.1")
                .to_owned();
            (status, [("content-type", content_type)], response.bytes().await.unwrap().to_vec())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn batching_switches_off_when_the_identity_may_not_batch() {
    let moto = support::moto_url();
    let sm = admin(&moto);
    let names: Vec<String> = (0..3).map(|i| unique(&format!("nobatch{i}"))).collect();
    for (i, name) in names.iter().enumerate() {
        create(&sm, name, &format!("v{i}"), &[]).await;
    }
    let proxy = batch_denying_proxy(moto).await;
    let (s, counters) = connect(config(&proxy), Duration::from_secs(10)).await;
    let read_all = || async {
        let refs: Vec<RemoteRef> = names.iter().map(RemoteRef::key).collect();
        let values = futures::future::join_all(refs.iter().map(|r| s.get(r))).await;
        for (i, value) in values.into_iter().enumerate() {
            assert_eq!(text(&value.unwrap()), format!("v{i}"));
        }
    };
    read_all().await;
    assert_eq!(counters.calls(ProviderKind::Aws, "BatchGetSecretValue"), 1);
    assert_eq!(counters.calls(ProviderKind::Aws, "GetSecretValue"), 3);
    s.invalidate_all();
    read_all().await;
    assert_eq!(
        counters.calls(ProviderKind::Aws, "BatchGetSecretValue"),
        1,
        "not tried again"
    );
    assert_eq!(counters.calls(ProviderKind::Aws, "GetSecretValue"), 6);
}
