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
