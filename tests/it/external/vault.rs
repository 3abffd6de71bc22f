//! ExternalSecrets against OpenBao (the Vault API): KV v2 reads through a SecretStore
//! with userpass authentication; the controller logs in once per store, not once per
//! reconcile (ESO #4032).

use std::time::Duration;

use serde_json::{Value, json};

use super::*;

async fn vault(addr: &str, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, text) = http(
        method,
        &format!("{addr}/v1/{path}"),
        &[("X-Vault-Token", token)],
        body.as_ref(),
    )
    .await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_userpass_store_logs_in_once_for_many_reconciles() {
    let (addr, root) = vault_addr();
    let mount = unique("kv");
    vault(
        &addr,
        &root,
        "POST",
        &format!("sys/mounts/{mount}"),
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    )
    .await;
    vault(
        &addr,
        &root,
        "POST",
        &format!("{mount}/data/app/db"),
        Some(json!({"data": {"user": "admin", "password": "vault-pw"}})),
    )
    .await;
    let policy = unique("eso-read");
    vault(&addr, &root, "PUT", &format!("sys/policies/acl/{policy}"), Some(json!({"policy": format!("path \"{mount}/*\" {{ capabilities = [\"read\", \"list\"] }}")}))).await;
    let auth = unique("userpass");
    vault(
        &addr,
        &root,
        "POST",
        &format!("sys/auth/{auth}"),
        Some(json!({"type": "userpass"})),
    )
    .await;
    vault(
        &addr,
        &root,
        "POST",
        &format!("auth/{auth}/users/eso"),
        Some(json!({"password": "login-pw", "policies": policy})),
    )
    .await;

    let double = cluster().await;
    put_secret(&double, "app", "vault-login", &[("password", "login-pw")]);
    put_store(
        &double,
        "app",
        "bao",
        json!({"vault": {
            "server": addr, "path": mount, "version": "v2",
            "auth": {"userPass": {"path": auth, "username": "eso", "secretRef": {"name": "vault-login", "key": "password"}}}
        }}),
    );
    let mut opts = options();
    // A short cache so refreshes really read Vault again (with the same token).
    opts.layer = sealbox_providers::LayerConfig {
        ttl: Duration::from_millis(300),
        ..sealbox_providers::LayerConfig::default()
    };
    let ctl = Running::start(&double, opts).await;
    for i in 0..20 {
        put_es(
            &double,
            "app",
            &format!("v-{i}"),
            json!({
                "refreshInterval": "1s",
                "secretStoreRef": {"name": "bao"},
                "data": [{"secretKey": "password", "remoteRef": {"key": "app/db", "property": "password"}}],
                "dataFrom": [{"extract": {"key": "app/db"}}]
            }),
        );
    }
    eventually("20 Vault ExternalSecrets synced", WAIT, || {
        (0..20).all(|i| ready(&double, "app", &format!("v-{i}")).is_some_and(|r| r.0 == "True"))
    })
    .await;
    let d = secret_data(&double, "app", "v-7").unwrap();
    assert_eq!(
        (d["password"].as_str(), d["user"].as_str()),
        ("vault-pw", "admin")
    );
    // Several refresh cycles later, still one login.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let reads = ctl.calls("HashiCorp/Vault", "ReadSecretData");
    assert!(reads >= 2, "refreshes read the store: {reads}");
    assert_eq!(
        ctl.calls("HashiCorp/Vault", "Login"),
        1,
        "one login per store"
    );
    let store = double
        .get("external-secrets.io/v1", "secretstores", Some("app"), "bao")
        .unwrap();
    assert_eq!(store["status"]["conditions"][0]["reason"], "Valid");
    ctl.stop().await;
}

/// `data.data` of a KV v2 secret (`None` when absent or deleted).
async fn kv2_data(addr: &str, token: &str, mount: &str, key: &str) -> Option<Value> {
    let (status, text) = http(
        "GET",
        &format!("{addr}/v1/{mount}/data/{key}"),
        &[("X-Vault-Token", token)],
        None,
    )
    .await;
    if status == 404 {
        return None;
    }
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    Some(v["data"]["data"].clone()).filter(|d| !d.is_null())
}

/// Wait until the KV v2 data of `key` satisfies `done` (pushes race and are retried, as
/// the controller retries any failed push); returns it.
async fn remote_eventually(
    addr: &str,
    token: &str,
    mount: &str,
    key: &str,
    what: &str,
    done: impl Fn(&Option<Value>) -> bool,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let data = kv2_data(addr, token, mount, key).await;
        if done(&data) {
            return data;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what} (now {data:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `current_version` of a KV v2 secret.
async fn kv2_version(addr: &str, token: &str, mount: &str, key: &str) -> u64 {
    let (status, text) = http(
        "GET",
        &format!("{addr}/v1/{mount}/metadata/{key}"),
        &[("X-Vault-Token", token)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    v["data"]["current_version"].as_u64().unwrap()
}

/// Create or change (spec only, as `kubectl apply` would: the status stays) a PushSecret.
fn put_push(double: &ApiServer, name: &str, store: &str, delete: bool, data: Value) {
    let spec = json!({
        "refreshInterval": "1s",
        "deletionPolicy": if delete { "Delete" } else { "None" },
        "secretStoreRefs": [{"name": store}],
        "selector": {"secret": {"name": "source"}},
        "data": data
    });
    let object = match double.get(
        "external-secrets.io/v1alpha1",
        "pushsecrets",
        Some("app"),
        name,
    ) {
        Some(mut existing) => {
            existing["spec"] = spec;
            existing
        }
        None => json!({
            "apiVersion": "external-secrets.io/v1alpha1", "kind": "PushSecret",
            "metadata": {"name": name, "namespace": "app"},
            "spec": spec
        }),
    };
    double
        .put("external-secrets.io/v1alpha1", "pushsecrets", object)
        .expect("PushSecret stored");
}

/// (reason, message) of a PushSecret's Ready condition.
fn push_ready(double: &ApiServer, name: &str) -> Option<(String, String)> {
    let p = double.get(
        "external-secrets.io/v1alpha1",
        "pushsecrets",
        Some("app"),
        name,
    )?;
    let c = p.pointer("/status/conditions/0")?;
    Some((
        c["reason"].as_str().unwrap_or("").to_owned(),
        c["message"].as_str().unwrap_or("").to_owned(),
    ))
}

fn property(secret_key: &str, remote_key: &str, prop: &str) -> Value {
    json!({"match": {"secretKey": secret_key, "remoteRef": {"remoteKey": remote_key, "property": prop}}})
}

/// PushSecret to OpenBao (KV v2) through the controller: properties of several
/// PushSecrets merge into one remote secret; a secret not marked `managed-by:
/// external-secrets` is never overwritten; `checkAndSet.required` writes with `cas` on a
/// mount that demands it (and a store without it is refused by Vault); `deletionPolicy:
/// Delete` removes a property dropped from the spec, and the PushSecret's properties when
/// it is deleted — the remote secret goes when its last property does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_secret_to_openbao_merges_properties_checks_and_sets_and_deletes() {
    let (addr, root) = vault_addr();
    let mount = unique("kv-push");
    vault(
        &addr,
        &root,
        "POST",
        &format!("sys/mounts/{mount}"),
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    )
    .await;
    // Every write to this mount must carry check-and-set.
    vault(
        &addr,
        &root,
        "POST",
        &format!("{mount}/config"),
        Some(json!({"cas_required": true})),
    )
    .await;
    // Someone else's secret at a key we will be asked to push to.
    vault(
        &addr,
        &root,
        "POST",
        &format!("{mount}/data/app/foreign"),
        Some(json!({"options": {"cas": 0}, "data": {"theirs": "untouched"}})),
    )
    .await;

    let double = cluster().await;
    put_secret(&double, "app", "bao-token", &[("token", &root)]);
    put_secret(
        &double,
        "app",
        "source",
        &[
            ("user", "admin"),
            ("password", "push-pw-1"),
            ("extra", "x1"),
        ],
    );
    for (name, cas) in [("bao-cas", true), ("bao-plain", false)] {
        let mut vault_spec = json!({
            "server": addr, "path": mount, "version": "v2",
            "auth": {"tokenSecretRef": {"name": "bao-token", "key": "token"}}
        });
        if cas {
            vault_spec["checkAndSet"] = json!({"required": true});
        }
        put_store(&double, "app", name, json!({"vault": vault_spec}));
    }
    let ctl = Running::start(&double, options()).await;

    // Two PushSecrets, three properties, one remote secret.
    put_push(
        &double,
        "db-creds",
        "bao-cas",
        true,
        json!([
            property("user", "app/db", "user"),
            property("password", "app/db", "password")
        ]),
    );
    put_push(
        &double,
        "db-extra",
        "bao-cas",
        true,
        json!([property("extra", "app/db", "extra")]),
    );
    eventually("both PushSecrets synced", WAIT, || {
        ["db-creds", "db-extra"]
            .iter()
            .all(|n| push_ready(&double, n).is_some_and(|r| r.0 == "Synced"))
    })
    .await;
    let expected = json!({"user": "admin", "password": "push-pw-1", "extra": "x1"});
    remote_eventually(
        &addr,
        &root,
        &mount,
        "app/db",
        "properties merged into one remote secret",
        |d| d.as_ref() == Some(&expected),
    )
    .await;
    // Refreshes of unchanged values write nothing (check-and-set would bump the version).
    let version = kv2_version(&addr, &root, &mount, "app/db").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        kv2_version(&addr, &root, &mount, "app/db").await,
        version,
        "no rewrite of unchanged values"
    );

    // A changed source value is pushed again, with cas = the current version.
    put_secret(
        &double,
        "app",
        "source",
        &[
            ("user", "admin"),
            ("password", "push-pw-2"),
            ("extra", "x1"),
        ],
    );
    remote_eventually(
        &addr,
        &root,
        &mount,
        "app/db",
        "the new password reached OpenBao",
        |d| d.as_ref().is_some_and(|d| d["password"] == "push-pw-2"),
    )
    .await;
    assert_eq!(
        kv2_data(&addr, &root, &mount, "app/db").await.unwrap()["extra"],
        "x1",
        "the other PushSecret's property is kept"
    );

    // Without checkAndSet the store's writes are refused by the mount.
    put_push(
        &double,
        "no-cas",
        "bao-plain",
        false,
        json!([property("user", "app/other", "user")]),
    );
    eventually("a push without check-and-set is refused", WAIT, || {
        push_ready(&double, "no-cas").is_some_and(|r| r.0 == "Errored")
    })
    .await;
    let (_, message) = push_ready(&double, "no-cas").unwrap();
    assert!(message.contains("check-and-set"), "{message}");
    assert_eq!(kv2_data(&addr, &root, &mount, "app/other").await, None);

    // A secret others own is never overwritten.
    put_push(
        &double,
        "foreign",
        "bao-cas",
        false,
        json!([property("user", "app/foreign", "user")]),
    );
    eventually("pushing over a foreign secret is refused", WAIT, || {
        push_ready(&double, "foreign").is_some_and(|r| r.0 == "Errored")
    })
    .await;
    let (_, message) = push_ready(&double, "foreign").unwrap();
    assert!(
        message.contains("not managed by external-secrets"),
        "{message}"
    );
    assert_eq!(
        kv2_data(&addr, &root, &mount, "app/foreign").await.unwrap(),
        json!({"theirs": "untouched"})
    );

    // deletionPolicy Delete: a property dropped from the spec is removed remotely ...
    put_push(
        &double,
        "db-creds",
        "bao-cas",
        true,
        json!([property("user", "app/db", "user")]),
    );
    remote_eventually(
        &addr,
        &root,
        &mount,
        "app/db",
        "password removed from OpenBao",
        |d| d.as_ref().is_some_and(|d| d.get("password").is_none()),
    )
    .await;
    assert_eq!(
        kv2_data(&addr, &root, &mount, "app/db").await.unwrap(),
        json!({"user": "admin", "extra": "x1"})
    );
    // ... deleting a PushSecret removes its properties, and the secret with the last one.
    let api: kube::Api<sealbox_controller::api::external::PushSecret> =
        kube::Api::namespaced(double.client().unwrap(), "app");
    api.delete("db-creds", &Default::default()).await.unwrap();
    eventually("db-creds gone", WAIT, || {
        push_ready(&double, "db-creds").is_none()
    })
    .await;
    assert_eq!(
        kv2_data(&addr, &root, &mount, "app/db").await.unwrap(),
        json!({"extra": "x1"})
    );
    api.delete("db-extra", &Default::default()).await.unwrap();
    eventually("db-extra gone", WAIT, || {
        push_ready(&double, "db-extra").is_none()
    })
    .await;
    assert_eq!(
        kv2_data(&addr, &root, &mount, "app/db").await,
        None,
        "the last property took the remote secret with it"
    );
    ctl.stop().await;
}

/// Check-and-set protects a read-modify-write: two pushes of different properties of one
/// remote secret race (each request held 100 ms by a proxy; the second push reads before
/// the first one's write lands and writes after it). With `checkAndSet.required`, the
/// write based on the older read is refused by OpenBao — it must never succeed and drop
/// the other property (it did when the check-and-set version was read again just before
/// writing) — and a retry (what the PushSecret controller does on error) merges both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_set_refuses_a_push_based_on_a_stale_read() {
    use sealbox_providers::vault::{VaultAuth, VaultConfig};
    use sealbox_providers::{
        LayerConfig, Metrics, PushRef, RequestLayer, SecretValue, StoreClient, StoreConfig,
    };

    let (addr, root) = vault_addr();
    let mount = unique("kv-cas");
    vault(
        &addr,
        &root,
        "POST",
        &format!("sys/mounts/{mount}"),
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    )
    .await;
    vault(
        &addr,
        &root,
        "POST",
        &format!("{mount}/config"),
        Some(json!({"cas_required": true})),
    )
    .await;
    let slow = latency_proxy(
        addr.trim_start_matches("http://").to_owned(),
        Duration::from_millis(100),
    )
    .await;
    let connect = |name: &'static str| {
        let mut config = VaultConfig::new(
            slow.clone(),
            VaultAuth::Token(secrecy::SecretString::from(root.clone())),
        );
        config.path = Some(mount.clone());
        config.check_and_set_required = true;
        async move {
            StoreClient::connect(
                name,
                StoreConfig::Vault(config),
                RequestLayer::new(LayerConfig::default(), Metrics::default()),
            )
            .await
            .expect("client")
        }
    };
    let (a, b) = (connect("a").await, connect("b").await);
    let key = PushRef::key("app/raced");
    // The secret exists (version 1), so both pushes merge into it.
    a.push(
        &key.clone().with_property("seed"),
        &SecretValue::from("0"),
        None,
    )
    .await
    .unwrap();
    let (user, password) = (
        key.clone().with_property("user"),
        key.clone().with_property("password"),
    );
    let (admin, pw) = (SecretValue::from("admin"), SecretValue::from("cas-pw"));
    // B starts two requests after A: it reads before A's write lands and writes after it.
    let (ra, rb) = tokio::join!(a.push(&user, &admin, None), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        b.push(&password, &pw, None).await
    });
    let refused: Vec<String> = [&ra, &rb]
        .into_iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "exactly one of two racing writes is refused: {ra:?} {rb:?}"
    );
    assert!(refused[0].contains("check-and-set"), "{}", refused[0]);
    // The refused one retries and now merges with the other's write.
    if ra.is_err() {
        a.push(&user, &admin, None).await.unwrap();
    } else {
        b.push(&password, &pw, None).await.unwrap();
    }
    assert_eq!(
        kv2_data(&addr, &root, &mount, "app/raced").await.unwrap(),
        json!({"seed": "0", "user": "admin", "password": "cas-pw"})
    );
    assert_eq!(kv2_version(&addr, &root, &mount, "app/raced").await, 3);
}
