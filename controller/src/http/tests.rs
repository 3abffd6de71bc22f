use axum::http::Request;
use sealbox_keys::sealing::{Certificate, Keyring, PrivateKey, SealingKey};
use tower::ServiceExt as _;

use super::*;
use crate::keystore::KeySnapshot;
use crate::reconcile::reencrypt::verify as verify_offline;

const FIX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/sealed-secrets/"
);

fn read(n: &str) -> String {
    std::fs::read_to_string(format!("{FIX}{n}")).unwrap()
}

fn key(n: u8) -> SealingKey {
    SealingKey::new(
        format!("k{n}"),
        PrivateKey::from_pem(&read(&format!("sealing-key-{n}.key.pem"))).unwrap(),
        Certificate::from_pem(&read(&format!("sealing-key-{n}.cert.pem"))).unwrap(),
    )
    .unwrap()
}

fn state(keys: Vec<SealingKey>, rate: u32) -> Arc<HttpState> {
    let keystore = Arc::new(if keys.is_empty() {
        KeyStore::new()
    } else {
        KeyStore::with_snapshot(KeySnapshot::from_keys(keys))
    });
    Arc::new(HttpState {
        keystore,
        metrics: Metrics::new("test"),
        readiness: Arc::new(Readiness::default()),
        accept_deprecated_v1_data: true,
        limiter: RateLimiter::new(rate, rate),
    })
}

async fn call(
    router: Router,
    method: &str,
    path: &str,
    body: &str,
) -> (StatusCode, HeaderMap, String) {
    let response = router
        .oneshot(
            Request::builder()
                .method(method)
                .uri(path)
                .body(Body::from(body.to_owned()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn cert_is_the_newest_key_as_pem() {
    let s = state(vec![key(0), key(1)], 2);
    let (code, headers, body) = call(api_router(s), "GET", "/v1/cert.pem", "").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/x-pem-file");
    assert_eq!(body, read("sealing-key-1.cert.pem").replace("\r\n", "\n"));
    let (code, _, _) = call(api_router(state(vec![], 2)), "GET", "/v1/cert.pem", "").await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn verify_answers_200_or_409_and_is_rate_limited() {
    let s = state(vec![key(0), key(1)], 100);
    let (code, _, _) = call(
        api_router(s.clone()),
        "POST",
        "/v1/verify",
        &read("strict.yaml"),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
    let (code, _, body) = call(
        api_router(s.clone()),
        "POST",
        "/v1/verify",
        &read("negative/tampered.yaml"),
    )
    .await;
    assert_eq!(code, StatusCode::CONFLICT);
    assert!(body.is_empty());
    let (code, _, _) = call(
        api_router(s.clone()),
        "POST",
        "/v1/verify",
        &read("multi-doc.yaml"),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::INTERNAL_SERVER_ERROR,
        "multi-document bodies are refused"
    );
    let limited = state(vec![key(1)], 1);
    let mut codes = Vec::new();
    for _ in 0..4 {
        codes.push(
            call(api_router(limited.clone()), "POST", "/v1/verify", "{}")
                .await
                .0,
        );
    }
    assert!(codes.contains(&StatusCode::TOO_MANY_REQUESTS), "{codes:?}");
    let metrics = limited.metrics.encode();
    assert!(
        metrics.contains("path=\"/v1/verify\",code=\"429\",method=\"POST\""),
        "{metrics}"
    );
}

#[tokio::test]
async fn rotate_returns_the_sealed_secret_under_the_newest_key() {
    let s = state(vec![key(0), key(1)], 2);
    let (code, headers, body) = call(
        api_router(s),
        "POST",
        "/v1/rotate",
        &read("strict-old-key.yaml"),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let rotated: SealedSecret = serde_json::from_str(&body).unwrap();
    assert!(verify_offline(
        &rotated,
        &Keyring::from_keys([key(1)]),
        true
    ));
    let s = state(vec![key(1)], 2);
    let (code, _, body) = call(
        api_router(s),
        "POST",
        "/v1/rotate",
        &read("negative/tampered.yaml"),
    )
    .await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.starts_with("error decrypting secret."), "{body}");
}

#[tokio::test]
async fn probes_and_metrics() {
    let s = state(vec![key(1)], 2);
    assert_eq!(
        call(api_router(s.clone()), "GET", "/healthz", "").await.2,
        "ok\n"
    );
    assert_eq!(
        call(api_router(s.clone()), "GET", "/readyz", "").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    s.readiness.set_caches_synced(true);
    assert_eq!(
        call(api_router(s.clone()), "GET", "/readyz", "").await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(api_router(state(vec![], 2)), "GET", "/readyz", "")
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let (code, _, body) = call(metrics_router(s), "GET", "/metrics", "").await;
    assert_eq!(code, StatusCode::OK);
    assert!(body.contains("sealbox_sealing_keys 1"), "{body}");
}

#[test]
fn listen_addresses_like_go() {
    assert_eq!(
        parse_listen_addr(":8080").unwrap().to_string(),
        "0.0.0.0:8080"
    );
    assert_eq!(parse_listen_addr("127.0.0.1:0").unwrap().port(), 0);
    assert!(parse_listen_addr("nope").is_err());
}
