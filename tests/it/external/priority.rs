//! The never-synced-first gate: new ExternalSecrets created while a whole refresh wave is
//! due are synced ahead of it, not behind it (ESO #2878, #4180: new objects waiting behind
//! a slow refresh cycle). The store is OpenBao behind a proxy that adds latency to every
//! request, so a refresh wave takes seconds.

use std::time::Duration;

use serde_json::json;

use super::*;

/// Added to every request on its way to OpenBao.
const LATENCY: Duration = Duration::from_millis(150);
/// ExternalSecrets refreshed in the wave.
const PERIODIC: usize = 40;
/// ExternalSecrets created when the wave starts.
const NEW: usize = 5;

async fn vault(addr: &str, token: &str, method: &str, path: &str, body: serde_json::Value) {
    let (status, text) = http(
        method,
        &format!("{addr}/v1/{path}"),
        &[("X-Vault-Token", token)],
        Some(&body),
    )
    .await;
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {text}"
    );
}

fn refresh_time(double: &ApiServer, name: &str) -> Option<String> {
    es_obj(double, "app", name)?["status"]["refreshTime"]
        .as_str()
        .map(str::to_owned)
}

/// Runs the scenario with `periodic_slots` refresh slots; returns how many of the
/// periodic ExternalSecrets had refreshed by the time every new one was synced.
async fn refreshed_before_the_new_ones_synced(periodic_slots: usize) -> usize {
    let (addr, root) = vault_addr();
    let mount = unique("kv-prio");
    vault(
        &addr,
        &root,
        "POST",
        &format!("sys/mounts/{mount}"),
        json!({"type": "kv", "options": {"version": "2"}}),
    )
    .await;
    for i in 0..PERIODIC + NEW {
        vault(
            &addr,
            &root,
            "POST",
            &format!("{mount}/data/app/s{i}"),
            json!({"data": {"v": format!("value-{i}")}}),
        )
        .await;
    }
    let slow = latency_proxy(addr.trim_start_matches("http://").to_owned(), LATENCY).await;

    let double = cluster().await;
    put_secret(&double, "app", "bao-token", &[("token", &root)]);
    put_store(
        &double,
        "app",
        "slow-bao",
        json!({"vault": {
            "server": slow, "path": mount, "version": "v2",
            "auth": {"tokenSecretRef": {"name": "bao-token", "key": "token"}}
        }}),
    );
    let mut opts = options();
    opts.concurrency = 8;
    opts.periodic_slots = periodic_slots;
    // Every refresh really reads the store (no cache across waves).
    opts.layer = sealbox_providers::LayerConfig {
        ttl: Duration::from_millis(100),
        ..sealbox_providers::LayerConfig::default()
    };
    let ctl = Running::start(&double, opts).await;
    let es = |i: usize, interval: &str| {
        json!({
            "refreshInterval": interval,
            "secretStoreRef": {"name": "slow-bao"},
            "data": [{"secretKey": "v", "remoteRef": {"key": format!("app/s{i}"), "property": "v"}}]
        })
    };
    for i in 0..PERIODIC {
        put_es(&double, "app", &format!("p-{i}"), es(i, "8s"));
    }
    eventually("the periodic ones synced", WAIT, || {
        (0..PERIODIC)
            .all(|i| ready(&double, "app", &format!("p-{i}")).is_some_and(|r| r.0 == "True"))
    })
    .await;
    let first: Vec<String> = (0..PERIODIC)
        .map(|i| refresh_time(&double, &format!("p-{i}")).unwrap())
        .collect();
    let refreshed = |double: &ApiServer| {
        (0..PERIODIC)
            .filter(|i| refresh_time(double, &format!("p-{i}")).as_ref() != Some(&first[*i]))
            .count()
    };
    // The wave begins (one store: one wave for all of them) ...
    eventually("the refresh wave begins", WAIT, || refreshed(&double) > 0).await;
    // ... and new ExternalSecrets arrive at that moment.
    for j in 0..NEW {
        put_es(&double, "app", &format!("new-{j}"), es(PERIODIC + j, "1h"));
    }
    let mut done_at = None;
    eventually("the new ones synced", WAIT, || {
        let all = (0..NEW).all(|j| {
            secret_data(&double, "app", &format!("new-{j}"))
                .is_some_and(|d| d["v"] == format!("value-{}", PERIODIC + j))
        });
        if all {
            done_at = Some(refreshed(&double));
        }
        all
    })
    .await;
    // The wave still completes.
    eventually("the wave completes", WAIT, || {
        refreshed(&double) == PERIODIC
    })
    .await;
    ctl.stop().await;
    done_at.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_external_secrets_are_synced_ahead_of_a_slow_refresh_wave() {
    // Two refresh slots: a due refresh that finds none free yields its worker.
    let gated = refreshed_before_the_new_ones_synced(2).await;
    assert!(
        gated <= PERIODIC / 2,
        "new ExternalSecrets waited behind the refresh wave: {gated}/{PERIODIC} refreshes ran first"
    );
    // Control: with as many refresh slots as workers (no gate), the same new objects
    // queue behind the wave — which shows the scenario really has a queue to jump.
    let ungated = refreshed_before_the_new_ones_synced(8).await;
    eprintln!(
        "refreshes before the new ones were synced: gated {gated}/{PERIODIC}, ungated {ungated}/{PERIODIC}"
    );
    assert!(
        ungated > gated,
        "without the gate more refreshes run first: gated {gated}, ungated {ungated}"
    );
}
