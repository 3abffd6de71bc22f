//! The controller's HTTP endpoints, as Bitnami serves them (kubeseal talks to these through
//! the API server's service proxy):
//!
//! | listener | path | |
//! |---|---|---|
//! | `--listen-addr` (:8080) | `GET /v1/cert.pem` | newest certificate, `application/x-pem-file`; 500 without keys |
//! | | `POST /v1/verify` | 200 if the SealedSecret unseals, 409 if not; rate-limited (429) |
//! | | `POST /v1/rotate` | the SealedSecret re-encrypted to the newest key (JSON) |
//! | | `GET /healthz` | `ok` |
//! | | `GET /readyz` | 200 once keys are loaded and caches synced, else 503 |
//! | `--listen-metrics-addr` (:8081) | `GET /metrics` | Prometheus text |
//!
//! Nothing here ever returns or logs secret material: verify answers yes/no, rotate
//! returns ciphertext only.

pub mod ratelimit;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::api::{SealedSecret, parse_documents};
use crate::keystore::KeyStore;
use crate::metrics::{HttpDurationLabels, HttpLabels, Metrics};
use crate::reconcile::reencrypt::{reencrypt, verify};
use ratelimit::RateLimiter;

/// Readiness: keys loaded and every informer cache synced.
#[derive(Debug, Default)]
pub struct Readiness {
    caches_synced: AtomicBool,
}

impl Readiness {
    /// Mark the caches synced (or not, e.g. while not leading).
    pub fn set_caches_synced(&self, synced: bool) {
        self.caches_synced.store(synced, Ordering::SeqCst);
    }

    /// Whether the caches are synced.
    pub fn caches_synced(&self) -> bool {
        self.caches_synced.load(Ordering::SeqCst)
    }
}

/// Shared state of the handlers.
#[derive(Debug)]
pub struct HttpState {
    /// Current keys.
    pub keystore: Arc<KeyStore>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness flags.
    pub readiness: Arc<Readiness>,
    /// `--accept-deprecated-v1-data`.
    pub accept_deprecated_v1_data: bool,
    /// `/v1/verify` limiter.
    pub limiter: RateLimiter,
}

/// The API router (`--listen-addr`).
pub fn api_router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/v1/cert.pem", get(cert))
        .route("/v1/verify", post(verify_handler))
        .route("/v1/rotate", post(rotate_handler))
        .layer(middleware::from_fn_with_state(state.clone(), instrument))
        .with_state(state)
}

/// The metrics router (`--listen-metrics-addr`).
pub fn metrics_router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// Parse a Go-style listen address (`:8080`, `0.0.0.0:8080`, `127.0.0.1:0`).
pub fn parse_listen_addr(addr: &str) -> Result<SocketAddr, String> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_owned()
    };
    full.parse()
        .map_err(|e| format!("listen address {addr:?} is not HOST:PORT or :PORT ({e})"))
}

async fn instrument(State(state): State<Arc<HttpState>>, request: Request, next: Next) -> Response {
    // Only the fixed API paths (unknown paths must not create unbounded label values).
    let path = ["/v1/cert.pem", "/v1/verify", "/v1/rotate"]
        .into_iter()
        .find(|p| *p == request.uri().path())
        .map(str::to_owned);
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    // Only the API paths Bitnami instruments; probes stay out of the series.
    if let Some(path) = path {
        state
            .metrics
            .http_requests
            .get_or_create(&HttpLabels {
                path: path.clone(),
                code: response.status().as_u16().to_string(),
                method: method.clone(),
            })
            .inc();
        state
            .metrics
            .http_duration
            .get_or_create(&HttpDurationLabels { path, method })
            .observe(start.elapsed().as_secs_f64());
    }
    response
}

fn text(code: StatusCode, body: &'static str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n")
}

async fn readyz(State(state): State<Arc<HttpState>>) -> Response {
    let keys = state.keystore.is_loaded() && !state.keystore.snapshot().keyring().is_empty();
    match (keys, state.readiness.caches_synced()) {
        (true, true) => text(StatusCode::OK, "ok\n"),
        (false, _) => text(StatusCode::SERVICE_UNAVAILABLE, "sealing keys not loaded\n"),
        (true, false) => text(StatusCode::SERVICE_UNAVAILABLE, "caches not synced\n"),
    }
}

async fn cert(State(state): State<Arc<HttpState>>) -> Response {
    let snapshot = state.keystore.snapshot();
    match snapshot.keyring().newest() {
        Some(key) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/x-pem-file")
            .body(Body::from(key.certificate().to_pem()))
            .expect("valid response"),
        None => {
            tracing::error!("cannot get certificates: no sealing key loaded");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot get certificate\n",
            )
        }
    }
}

/// Read exactly one SealedSecret (YAML or JSON) from a request body.
fn read_sealed_secret(body: &Bytes) -> Result<SealedSecret, String> {
    let text = std::str::from_utf8(body).map_err(|_| "request body is not UTF-8".to_owned())?;
    let docs = parse_documents("request body", text).map_err(|e| e.to_string())?;
    match docs.as_slice() {
        [one] => {
            let (api_version, kind) = one.type_meta();
            if api_version != "bitnami.com/v1alpha1" || kind != "SealedSecret" {
                return Err(format!(
                    "unexpected resource type: {api_version}, Kind={kind} (expected bitnami.com/v1alpha1 SealedSecret)"
                ));
            }
            serde_json::from_value(one.value.clone())
                .map_err(|e| format!("{one}: not a valid SealedSecret: {e}"))
        }
        [] => Err("request body holds no object".to_owned()),
        _ => Err("request body holds several documents; send one SealedSecret".to_owned()),
    }
}

async fn verify_handler(
    State(state): State<Arc<HttpState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !state.limiter.allow(&format!("/v1/verify{forwarded}")) {
        return text(StatusCode::TOO_MANY_REQUESTS, "limit exceeded\n");
    }
    let sealed = match read_sealed_secret(&body) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "error validating secret");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot decode the SealedSecret\n",
            );
        }
    };
    let keys = state.keystore.snapshot();
    let accept = state.accept_deprecated_v1_data;
    let ok = tokio::task::spawn_blocking(move || verify(&sealed, keys.keyring(), accept))
        .await
        .unwrap_or(false);
    if ok {
        StatusCode::OK.into_response()
    } else {
        StatusCode::CONFLICT.into_response()
    }
}

async fn rotate_handler(State(state): State<Arc<HttpState>>, body: Bytes) -> Response {
    let sealed = match read_sealed_secret(&body) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "error rotating secret");
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot decode the SealedSecret\n",
            );
        }
    };
    let keys = state.keystore.snapshot();
    let accept = state.accept_deprecated_v1_data;
    let result =
        tokio::task::spawn_blocking(move || reencrypt(&sealed, keys.keyring(), accept)).await;
    match result {
        Ok(Ok(rotated)) => {
            let mut json = serde_json::to_vec_pretty(&rotated).expect("SealedSecrets serialize");
            json.push(b'\n');
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json))
                .expect("valid response")
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "error rotating secret");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
        Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"),
    }
}

async fn metrics_handler(State(state): State<Arc<HttpState>>) -> Response {
    state
        .metrics
        .sealing_keys
        .set(i64::try_from(state.keystore.snapshot().keyring().len()).unwrap_or(i64::MAX));
    Response::builder()
        .status(StatusCode::OK)
        .header(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
        .body(Body::from(state.metrics.encode()))
        .expect("valid response")
}

#[cfg(test)]
mod tests;
