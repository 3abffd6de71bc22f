//! Vault provider against OpenBao.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sealbox_providers::vault::{JwtSource, KvVersion, VaultAuth, VaultConfig};
use sealbox_providers::{
    Counters, ErrorKind, FindRef, LayerConfig, Metrics, Outcome, ProviderKind, PushRef, RemoteRef,
    RequestLayer, SecretValue, StoreClient, StoreConfig,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{self, ExclusiveLock, VaultAdmin, peer_script, unique};

async fn connect(config: VaultConfig, ttl: Duration) -> (StoreClient, Arc<Counters>) {
    let (metrics, counters) = Metrics::counters();
    let layer = RequestLayer::new(
        LayerConfig {
            ttl,
            ..LayerConfig::default()
        },
        metrics,
    );
    let client = StoreClient::connect(unique("vault-store"), StoreConfig::Vault(config), layer)
        .await
        .unwrap();
    (client, counters)
}

fn root_config(admin: &VaultAdmin, mount: Option<&str>) -> VaultConfig {
    VaultConfig {
        path: mount.map(str::to_owned),
        ..VaultConfig::new(&admin.addr, VaultAuth::Token(admin.root_token().into()))
    }
}

fn text(value: &SecretValue) -> String {
    String::from_utf8(value.expose().to_vec()).unwrap()
}

fn calls(counters: &Counters, call: &str) -> u64 {
    counters.calls_with(ProviderKind::Vault, call, Outcome::Success)
}

#[tokio::test]
async fn kv2_paths_versions_properties_and_metadata_like_eso() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    admin
        .kv2_put(&mount, "app/db", json!({"user": "admin", "password": "p1", "n": 7, "o": {"b": "<x>", "a": 1}, "a.b": "literal"}))
        .await;
    admin
        .kv2_put(
            &mount,
            "app/db",
            json!({"user": "admin", "password": "p2", "ratio": 1.25}),
        )
        .await;
    admin
        .post(
            &format!("{mount}/metadata/app/db"),
            json!({"custom_metadata": {"env": "dev", "team": "core"}}),
        )
        .await;
    let (s, _) = connect(root_config(&admin, Some(&mount)), Duration::from_secs(10)).await;

    // Whole value: Go's json.Marshal of the data map (sorted keys).
    assert_eq!(
        text(&s.get(&RemoteRef::key("app/db")).await.unwrap()),
        r#"{"password":"p2","ratio":1.25,"user":"admin"}"#
    );
    // Keys that already carry the mount (and data/) are not prefixed twice.
    for key in [format!("{mount}/app/db"), format!("{mount}/data/app/db")] {
        assert_eq!(
            text(
                &s.get(&RemoteRef::key(key).with_property("password"))
                    .await
                    .unwrap()
            ),
            "p2"
        );
    }
    let v1 = |p: &str| RemoteRef::key("app/db").with_version("1").with_property(p);
    assert_eq!(text(&s.get(&v1("password")).await.unwrap()), "p1");
    assert_eq!(text(&s.get(&v1("n")).await.unwrap()), "7");
    assert_eq!(
        text(&s.get(&v1("a.b")).await.unwrap()),
        "literal",
        "a real key wins over a path"
    );
    assert_eq!(
        text(&s.get(&v1("o")).await.unwrap()),
        r#"{"a":1,"b":"\u003cx\u003e"}"#
    );
    assert_eq!(text(&s.get(&v1("o.b")).await.unwrap()), "<x>");
    let missing = s.get(&v1("nope")).await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::InvalidRef);
    assert!(!missing.to_string().contains("p1"));
    assert_eq!(
        s.get(&RemoteRef::key("app/db").with_version("two"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRef
    );

    // dataFrom.extract: Go's map[string]any rules (numbers as float64, objects re-marshalled).
    let map = s
        .get_map(&RemoteRef::key("app/db").with_version("1"))
        .await
        .unwrap();
    assert_eq!(text(&map["n"]), "7");
    assert_eq!(text(&map["o"]), r#"{"a":1,"b":"\u003cx\u003e"}"#);
    assert_eq!(text(&map["user"]), "admin");

    // metadataPolicy: Fetch = custom_metadata + system keys.
    let meta = s
        .get(&RemoteRef::key("app/db").fetch_metadata())
        .await
        .unwrap();
    let meta: Value = serde_json::from_slice(meta.expose()).unwrap();
    assert_eq!(meta["env"], "dev");
    assert_eq!(meta["team"], "core");
    assert_eq!(meta["current_version"], "2");
    assert!(meta["created_time"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(
        text(
            &s.get(
                &RemoteRef::key("app/db")
                    .fetch_metadata()
                    .with_property("team")
            )
            .await
            .unwrap()
        ),
        "core"
    );

    // Without a store path the first segment is the mount.
    let (no_path, _) = connect(root_config(&admin, None), Duration::from_secs(10)).await;
    assert_eq!(
        text(
            &no_path
                .get(&RemoteRef::key(format!("{mount}/app/db")).with_property("user"))
                .await
                .unwrap()
        ),
        "admin"
    );

    // Absent secrets and soft-deleted versions are NotFound.
    assert_eq!(
        s.get(&RemoteRef::key("app/none")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    admin
        .post(&format!("{mount}/delete/app/db"), json!({"versions": [2]}))
        .await;
    s.invalidate_all();
    assert_eq!(
        s.get(&RemoteRef::key("app/db")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    assert_eq!(text(&s.get(&v1("password")).await.unwrap()), "p1");
}

#[tokio::test]
async fn kv1_reads_find_and_push() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(1).await;
    admin
        .post(
            &format!("{mount}/app/db"),
            json!({"user": "admin", "password": "p1"}),
        )
        .await;
    let (s, _) = connect(
        VaultConfig {
            version: KvVersion::V1,
            ..root_config(&admin, Some(&mount))
        },
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("app/db").with_property("password"))
                .await
                .unwrap()
        ),
        "p1"
    );
    assert_eq!(
        text(&s.get(&RemoteRef::key("app/db")).await.unwrap()),
        r#"{"password":"p1","user":"admin"}"#
    );
    assert_eq!(
        s.get(&RemoteRef::key("app/db").fetch_metadata())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidRef
    );
    let found = s
        .find(&FindRef {
            name_regexp: Some("db$".into()),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(found.keys().cloned().collect::<Vec<_>>(), ["app/db"]);

    s.push(
        &PushRef::key("pushed").with_property("k"),
        &SecretValue::from("v"),
        None,
    )
    .await
    .unwrap();
    let raw = admin.get(&format!("{mount}/pushed")).await;
    assert_eq!(raw["data"]["k"], "v");
    assert_eq!(
        raw["data"]["custom_metadata"]["managed-by"],
        "external-secrets"
    );
    // Not managed: refused.
    let refused = s
        .push(
            &PushRef::key("app/db"),
            &SecretValue::from(r#"{"x":"y"}"#),
            None,
        )
        .await;
    assert_eq!(refused.unwrap_err().kind(), ErrorKind::Forbidden);
    s.delete(&PushRef::key("pushed")).await.unwrap();
    assert_eq!(
        s.get(&RemoteRef::key("pushed")).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn kv2_find_by_name_tags_and_path() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    for (key, env) in [
        ("app/db", "dev"),
        ("app/cache", "prod"),
        ("other/deep/x", "dev"),
    ] {
        admin.kv2_put(&mount, key, json!({"name": key})).await;
        admin
            .post(
                &format!("{mount}/metadata/{key}"),
                json!({"custom_metadata": {"env": env}}),
            )
            .await;
    }
    let (s, _) = connect(root_config(&admin, Some(&mount)), Duration::from_secs(10)).await;
    let by_name = s
        .find(&FindRef {
            name_regexp: Some("^app/".into()),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_name.keys().cloned().collect::<Vec<_>>(),
        ["app/cache", "app/db"]
    );
    assert_eq!(text(&by_name["app/db"]), r#"{"name":"app/db"}"#);
    let by_tags = s
        .find(&FindRef {
            tags: [("env".to_owned(), "dev".to_owned())].into(),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_tags.keys().cloned().collect::<Vec<_>>(),
        ["app/db", "other/deep/x"]
    );
    let by_path = s
        .find(&FindRef {
            path: Some("other".into()),
            name_regexp: Some(".".into()),
            ..FindRef::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_path.keys().cloned().collect::<Vec<_>>(),
        ["other/deep/x"]
    );
}

#[tokio::test]
async fn kv2_push_merges_properties_and_deletes_only_what_it_manages() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    admin
        .kv2_put(&mount, "foreign", json!({"owner": "someone"}))
        .await;
    let (s, _) = connect(
        VaultConfig {
            check_and_set_required: true,
            ..root_config(&admin, Some(&mount))
        },
        Duration::from_secs(10),
    )
    .await;
    let key = PushRef::key("pushed");
    assert!(!s.exists(&key).await.unwrap());
    s.push(
        &key.clone().with_property("user"),
        &SecretValue::from("admin"),
        None,
    )
    .await
    .unwrap();
    s.push(
        &key.clone().with_property("password"),
        &SecretValue::from("s3cr3t"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        text(&s.get(&RemoteRef::key("pushed")).await.unwrap()),
        r#"{"password":"s3cr3t","user":"admin"}"#
    );
    let meta = admin.get(&format!("{mount}/metadata/pushed")).await;
    assert_eq!(
        meta["data"]["custom_metadata"]["managed-by"],
        "external-secrets"
    );
    assert_eq!(meta["data"]["current_version"], 2);
    // Same value again: no new version.
    s.push(
        &key.clone().with_property("user"),
        &SecretValue::from("admin"),
        None,
    )
    .await
    .unwrap();
    let meta = admin.get(&format!("{mount}/metadata/pushed")).await;
    assert_eq!(meta["data"]["current_version"], 2);
    // A whole-secret push must be a JSON object.
    let bad = s
        .push(&key, &SecretValue::from("not json at all"), None)
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidRef);
    assert!(!bad.to_string().contains("not json at all"));

    let refused = s
        .push(
            &PushRef::key("foreign"),
            &SecretValue::from(r#"{"owner":"me"}"#),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden);
    s.delete(&PushRef::key("foreign")).await.unwrap();
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("foreign").with_property("owner"))
                .await
                .unwrap()
        ),
        "someone"
    );

    s.delete(&key.clone().with_property("user")).await.unwrap();
    assert_eq!(
        text(&s.get(&RemoteRef::key("pushed")).await.unwrap()),
        r#"{"password":"s3cr3t"}"#
    );
    s.delete(&key).await.unwrap();
    assert!(!s.exists(&key).await.unwrap());
    let client = reqwest::Client::new();
    let status = client
        .get(format!("{}/v1/{mount}/metadata/pushed", admin.addr))
        .header("X-Vault-Token", admin.root_token())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 404, "metadata is gone too");
}

/// Many reads through one store cost one login; close() revokes that token.
#[tokio::test]
async fn userpass_logs_in_once_per_store_and_revokes_on_close() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    for i in 0..20 {
        admin
            .kv2_put(&mount, &format!("k{i}"), json!({"v": i}))
            .await;
    }
    let policy = admin.policy(&[&format!("{mount}/*")]).await;
    let auth_mount = unique("userpass");
    admin
        .post(
            &format!("sys/auth/{auth_mount}"),
            json!({"type": "userpass"}),
        )
        .await;
    admin
        .post(
            &format!("auth/{auth_mount}/users/eso"),
            json!({"password": "pw-123", "token_policies": [policy], "token_ttl": "1h"}),
        )
        .await;
    let (s, counters) = connect(
        VaultConfig {
            path: Some(mount.clone()),
            ..VaultConfig::new(
                &admin.addr,
                VaultAuth::UserPass {
                    path: auth_mount,
                    username: "eso".into(),
                    password: "pw-123".into(),
                },
            )
        },
        Duration::ZERO,
    )
    .await;
    let s = Arc::new(s);
    s.validate().await.unwrap();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                s.get(&RemoteRef::key(format!("k{}", i % 20)).with_property("v"))
                    .await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(text(&t.await.unwrap().unwrap()), (i % 20).to_string());
    }
    for i in 0..20 {
        s.get(&RemoteRef::key(format!("k{i}"))).await.unwrap();
    }
    assert_eq!(calls(&counters, "Login"), 1, "{:?}", counters.call_counts());
    assert!(calls(&counters, "ReadSecretData") >= 20);
    s.close().await;
    assert_eq!(calls(&counters, "RevokeSelf"), 1);
    // Wrong password: Forbidden, with no password in the message.
    let (bad, _) = connect(
        VaultConfig::new(
            &admin.addr,
            VaultAuth::UserPass {
                path: "userpass-missing".into(),
                username: "eso".into(),
                password: "wrong-password-xyz".into(),
            },
        ),
        Duration::ZERO,
    )
    .await;
    let err = bad.validate().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert!(
        !err.to_string().contains("wrong-password-xyz")
            && !format!("{err:?}").contains("wrong-password-xyz")
    );
}

async fn approle(
    admin: &VaultAdmin,
    policy: &str,
    ttl: &str,
    max_ttl: &str,
) -> (String, String, String, String) {
    let auth_mount = unique("approle");
    admin
        .post(
            &format!("sys/auth/{auth_mount}"),
            json!({"type": "approle"}),
        )
        .await;
    let role = unique("role");
    admin
        .post(
            &format!("auth/{auth_mount}/role/{role}"),
            json!({"token_policies": [policy], "token_ttl": ttl, "token_max_ttl": max_ttl}),
        )
        .await;
    let role_id = admin
        .get(&format!("auth/{auth_mount}/role/{role}/role-id"))
        .await["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_id = admin
        .post(
            &format!("auth/{auth_mount}/role/{role}/secret-id"),
            json!({}),
        )
        .await["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_owned();
    (auth_mount, role, role_id, secret_id)
}

/// Short-TTL tokens are renewed with renew-self, and replaced by a new login only when
/// they reach their max TTL — never a login per read.
#[tokio::test]
async fn approle_token_is_renewed_before_expiry_and_replaced_at_max_ttl() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    admin.kv2_put(&mount, "k", json!({"v": "x"})).await;
    let policy = admin.policy(&[&format!("{mount}/*")]).await;
    let (auth_mount, _, role_id, secret_id) = approle(&admin, &policy, "3s", "7s").await;
    let (s, counters) = connect(
        VaultConfig {
            path: Some(mount),
            ..VaultConfig::new(
                &admin.addr,
                VaultAuth::AppRole {
                    path: auth_mount,
                    role_id,
                    secret_id: secret_id.into(),
                },
            )
        },
        Duration::ZERO,
    )
    .await;
    let started = std::time::Instant::now();
    let mut reads = 0;
    while started.elapsed() < Duration::from_millis(9500) {
        assert_eq!(
            text(
                &s.get(&RemoteRef::key("k").with_property("v"))
                    .await
                    .unwrap()
            ),
            "x"
        );
        reads += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let logins = calls(&counters, "Login");
    let renewals = calls(&counters, "RenewSelf");
    assert!(reads >= 30);
    assert!(renewals >= 2, "renewals={renewals} logins={logins}");
    assert!(
        (2..=3).contains(&logins),
        "renewals={renewals} logins={logins}"
    );
    assert_eq!(
        counters.calls_with(ProviderKind::Vault, "ReadSecretData", Outcome::Error),
        0
    );
    s.close().await;
}

/// A token revoked behind our back is replaced by one new login, transparently.
#[tokio::test]
async fn a_rejected_token_is_replaced_by_a_new_login() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    admin.kv2_put(&mount, "k", json!({"v": "x"})).await;
    let policy = admin.policy(&[&format!("{mount}/*")]).await;
    let (auth_mount, role, role_id, secret_id) = approle(&admin, &policy, "1h", "2h").await;
    let (s, counters) = connect(
        VaultConfig {
            path: Some(mount),
            ..VaultConfig::new(
                &admin.addr,
                VaultAuth::AppRole {
                    path: auth_mount,
                    role_id,
                    secret_id: secret_id.into(),
                },
            )
        },
        Duration::ZERO,
    )
    .await;
    s.get(&RemoteRef::key("k")).await.unwrap();
    // Find our token by its role and revoke it.
    let accessors = admin.list("auth/token/accessors").await;
    let mut revoked = 0;
    for accessor in accessors["data"]["keys"].as_array().unwrap() {
        let info = admin
            .post("auth/token/lookup-accessor", json!({"accessor": accessor}))
            .await;
        if info["data"]["meta"]["role_name"] == role.as_str() {
            admin
                .post("auth/token/revoke-accessor", json!({"accessor": accessor}))
                .await;
            revoked += 1;
        }
    }
    assert_eq!(revoked, 1);
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("k").with_property("v"))
                .await
                .unwrap()
        ),
        "x"
    );
    assert_eq!(calls(&counters, "Login"), 2);
}

#[tokio::test]
async fn jwt_auth_asks_the_fetcher_once_per_login() {
    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    admin.kv2_put(&mount, "k", json!({"v": "jwt"})).await;
    let policy = admin.policy(&[&format!("{mount}/*")]).await;
    let auth_mount = unique("jwt");
    admin
        .post(&format!("sys/auth/{auth_mount}"), json!({"type": "jwt"}))
        .await;
    admin
        .post(
            &format!("auth/{auth_mount}/config"),
            json!({"jwt_validation_pubkeys": [support::fixture("jwt-signing.pub.pem")]}),
        )
        .await;
    admin
        .post(
            &format!("auth/{auth_mount}/role/eso"),
            json!({"role_type": "jwt", "bound_audiences": ["vault"], "user_claim": "sub", "token_policies": [policy], "token_ttl": "1h"}),
        )
        .await;
    let fetches = Arc::new(AtomicUsize::new(0));
    let counter = fetches.clone();
    let fetcher: sealbox_providers::vault::JwtFetcher = Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let now = support::now_secs();
        let jwt =
            support::sign_jwt(&json!({"sub": "ci", "aud": "vault", "iat": now, "exp": now + 300}));
        Box::pin(async move { Ok(SecretString::from(jwt)) })
    });
    let (s, counters) = connect(
        VaultConfig {
            path: Some(mount),
            ..VaultConfig::new(
                &admin.addr,
                VaultAuth::Jwt {
                    path: auth_mount,
                    role: Some("eso".into()),
                    jwt: JwtSource::Fetch(fetcher),
                },
            )
        },
        Duration::ZERO,
    )
    .await;
    for _ in 0..5 {
        assert_eq!(
            text(
                &s.get(&RemoteRef::key("k").with_property("v"))
                    .await
                    .unwrap()
            ),
            "jwt"
        );
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert_eq!(calls(&counters, "Login"), 1);
}

/// Kubernetes auth: OpenBao verifies the service-account JWT with a TokenReview, which a
/// tiny HTTP server in this test answers.
#[tokio::test]
async fn kubernetes_auth_logs_in_through_a_token_review() {
    let reviews = Arc::new(AtomicUsize::new(0));
    let seen = reviews.clone();
    let app = axum::Router::new().route(
        "/apis/authentication.k8s.io/v1/tokenreviews",
        post(move |raw: axum::body::Bytes| {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
                // OpenBao does not always send a JSON content type: parse the body as is.
                let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
                let token = body["spec"]["token"].as_str().unwrap_or_default();
                let claims: Value = token
                    .split('.')
                    .nth(1)
                    .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
                    .and_then(|b| serde_json::from_slice(&b).ok())
                    .unwrap_or(Value::Null);
                let sa = &claims["kubernetes.io"];
                Json(json!({
                    "apiVersion": "authentication.k8s.io/v1",
                    "kind": "TokenReview",
                    "status": {
                        "authenticated": true,
                        "user": {
                            "username": format!("system:serviceaccount:{}:{}", sa["namespace"].as_str().unwrap_or(""), sa["serviceaccount"]["name"].as_str().unwrap_or("")),
                            "uid": sa["serviceaccount"]["uid"],
                            "groups": ["system:serviceaccounts"]
                        },
                        "audiences": body["spec"]["audiences"].as_array().cloned().unwrap_or_default()
                    }
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let review_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let admin = VaultAdmin::new();
    let mount = admin.mount_kv(2).await;
    admin.kv2_put(&mount, "k", json!({"v": "k8s"})).await;
    let policy = admin.policy(&[&format!("{mount}/*")]).await;
    let auth_mount = unique("kubernetes");
    admin
        .post(
            &format!("sys/auth/{auth_mount}"),
            json!({"type": "kubernetes"}),
        )
        .await;
    admin
        .post(
            &format!("auth/{auth_mount}/config"),
            json!({"kubernetes_host": review_url, "kubernetes_ca_cert": support::fixture("fake-kubernetes-ca.crt.pem"),
                   "token_reviewer_jwt": "reviewer-token", "disable_local_ca_jwt": true}),
        )
        .await;
    admin
        .post(
            &format!("auth/{auth_mount}/role/eso"),
            json!({"bound_service_account_names": ["external-secrets"], "bound_service_account_namespaces": ["platform"],
                   "token_policies": [policy], "token_ttl": "1h"}),
        )
        .await;
    let now = support::now_secs();
    let jwt = support::sign_jwt(&json!({
        "iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:platform:external-secrets",
        "aud": ["vault"], "iat": now, "exp": now + 600,
        "kubernetes.io": {"namespace": "platform", "serviceaccount": {"name": "external-secrets", "uid": "2f0c6a0e-uid"}}
    }));
    let (s, counters) = connect(
        VaultConfig {
            path: Some(mount),
            ..VaultConfig::new(
                &admin.addr,
                VaultAuth::Kubernetes {
                    mount_path: auth_mount,
                    role: "eso".into(),
                    jwt: JwtSource::Value(jwt.into()),
                },
            )
        },
        Duration::ZERO,
    )
    .await;
    for _ in 0..5 {
        assert_eq!(
            text(
                &s.get(&RemoteRef::key("k").with_property("v"))
                    .await
                    .unwrap()
            ),
            "k8s"
        );
    }
    assert_eq!(calls(&counters, "Login"), 1);
    assert_eq!(
        reviews.load(Ordering::SeqCst),
        1,
        "one login, one TokenReview"
    );
}

/// Store namespace (X-Vault-Namespace) for data, a different auth namespace for login.
#[tokio::test]
async fn namespaces_for_data_and_for_login() {
    let admin = VaultAdmin::new();
    let ns = unique("team");
    admin.post(&format!("sys/namespaces/{ns}"), json!({})).await;
    let in_ns = admin.in_namespace(&ns);
    in_ns
        .post(
            "sys/mounts/secret",
            json!({"type": "kv", "options": {"version": "2"}}),
        )
        .await;
    in_ns
        .kv2_put("secret", "app", json!({"v": "namespaced"}))
        .await;

    // Root token, store namespace.
    let (s, _) = connect(
        VaultConfig {
            namespace: Some(ns.clone()),
            ..root_config(&admin, Some("secret"))
        },
        Duration::ZERO,
    )
    .await;
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("app").with_property("v"))
                .await
                .unwrap()
        ),
        "namespaced"
    );
    // Without the namespace the secret is not there.
    let (outside, _) = connect(root_config(&admin, Some("secret")), Duration::ZERO).await;
    assert_eq!(
        outside
            .get(&RemoteRef::key("app"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    // Login in the root namespace (auth.namespace = ""), data in the team namespace.
    let policy = admin.policy(&[&format!("{ns}/secret/*")]).await;
    let auth_mount = unique("userpass");
    admin
        .post(
            &format!("sys/auth/{auth_mount}"),
            json!({"type": "userpass"}),
        )
        .await;
    admin
        .post(
            &format!("auth/{auth_mount}/users/eso"),
            json!({"password": "pw", "token_policies": [policy]}),
        )
        .await;
    let (cross, counters) = connect(
        VaultConfig {
            path: Some("secret".into()),
            namespace: Some(ns.clone()),
            auth_namespace: Some(String::new()),
            ..VaultConfig::new(
                &admin.addr,
                VaultAuth::UserPass {
                    path: auth_mount.clone(),
                    username: "eso".into(),
                    password: "pw".into(),
                },
            )
        },
        Duration::ZERO,
    )
    .await;
    assert_eq!(
        text(
            &cross
                .get(&RemoteRef::key("app").with_property("v"))
                .await
                .unwrap()
        ),
        "namespaced"
    );
    assert_eq!(calls(&counters, "Login"), 1);
    // Logging in inside the team namespace fails: the auth method lives in the root.
    let (wrong, _) = connect(
        VaultConfig {
            path: Some("secret".into()),
            namespace: Some(ns),
            ..VaultConfig::new(
                &admin.addr,
                VaultAuth::UserPass {
                    path: auth_mount,
                    username: "eso".into(),
                    password: "pw".into(),
                },
            )
        },
        Duration::ZERO,
    )
    .await;
    assert_eq!(
        wrong.validate().await.unwrap_err().kind(),
        ErrorKind::Forbidden
    );
}

/// Stop OpenBao mid-test: errors are Unavailable; after a restart the same client recovers.
#[tokio::test]
async fn outage_is_unavailable_then_recovers() {
    let _lock = ExclusiveLock::take("openbao-outage");
    let port = support::BAO_OUTAGE_PORT;
    let addr = peer_script("openbao", "start", port);
    let admin = VaultAdmin::at(&addr, "root");
    admin.kv2_put("secret", "k", json!({"v": "before"})).await;
    let (s, _) = connect(
        VaultConfig {
            path: Some("secret".into()),
            timeout: Some(Duration::from_secs(3)),
            ..VaultConfig::new(&addr, VaultAuth::Token("root".into()))
        },
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("k").with_property("v"))
                .await
                .unwrap()
        ),
        "before"
    );
    peer_script("openbao", "stop", port);
    s.invalidate_all();
    let down = s.get(&RemoteRef::key("k")).await.unwrap_err();
    assert_eq!(down.kind(), ErrorKind::Unavailable, "{down}");
    assert!(s.get_map(&RemoteRef::key("k")).await.is_err());
    peer_script("openbao", "start", port);
    // Dev mode keeps nothing across restarts: seed again.
    admin.kv2_put("secret", "k", json!({"v": "after"})).await;
    assert_eq!(
        text(
            &s.get(&RemoteRef::key("k").with_property("v"))
                .await
                .unwrap()
        ),
        "after"
    );
    peer_script("openbao", "stop", port);
}

#[tokio::test]
async fn vault_throttling_sealed_and_refused_are_classified() {
    async fn answering(status: u16) -> String {
        let app = axum::Router::new().fallback(move || async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                r#"{"errors":["request rejected"]}"#,
            )
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }
    let store = |addr: String| async move {
        connect(
            VaultConfig {
                path: Some("secret".into()),
                ..VaultConfig::new(addr, VaultAuth::Token("t".into()))
            },
            Duration::ZERO,
        )
        .await
        .0
    };
    let s = store(answering(429).await).await;
    assert_eq!(
        s.get(&RemoteRef::key("k")).await.unwrap_err().kind(),
        ErrorKind::Throttled
    );
    let s = store(answering(503).await).await;
    assert_eq!(
        s.get(&RemoteRef::key("k")).await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    let s = store(answering(403).await).await;
    assert_eq!(
        s.get(&RemoteRef::key("k")).await.unwrap_err().kind(),
        ErrorKind::Forbidden
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let s = store(closed).await;
    assert_eq!(
        s.get(&RemoteRef::key("k")).await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
}
