//! The API server's service proxy, `/api/v1/namespaces/{ns}/services/{[scheme:]name[:port]}/proxy/{path}`,
//! which kubeseal (and `sealbox seal --fetch-cert/--validate/--re-encrypt`) use to reach the
//! controller's HTTP endpoints.
//!
//! The real server resolves the Service to a pod through its Endpoints; the double has no
//! pods, so a Service names its backend in the annotation [`BACKEND_ANNOTATION`]
//! (`http://127.0.0.1:PORT`, a test-only convention). The port part of the URL must name a
//! port of the Service (by name or number) or be empty (the first port), as on the real
//! server; a missing Service is a `NotFound` Status, a Service without a backend 503.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::Shared;

/// Service annotation naming the double's stand-in for the Service's endpoints.
pub const BACKEND_ANNOTATION: &str = "sealbox.io/double-backend";

/// A parsed proxy URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    /// Namespace.
    pub namespace: String,
    /// Service name.
    pub service: String,
    /// Port name or number ("" = the first port).
    pub port: String,
    /// Path after `/proxy`.
    pub path: String,
}

/// Recognise a service proxy URL.
pub fn match_service_proxy(path: &str) -> Option<ProxyTarget> {
    let rest = path.strip_prefix("/api/v1/namespaces/")?;
    let (namespace, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("services/")?;
    let (spec, rest) = rest.split_once('/')?;
    let tail = rest.strip_prefix("proxy")?;
    if !(tail.is_empty() || tail.starts_with('/')) {
        return None;
    }
    let parts: Vec<&str> = spec.split(':').collect();
    let (service, port) = match parts.as_slice() {
        [name] => (*name, ""),
        [name, port] => (*name, *port),
        [_scheme, name, port] => (*name, *port),
        _ => return None,
    };
    Some(ProxyTarget {
        namespace: namespace.to_owned(),
        service: service.to_owned(),
        port: port.to_owned(),
        path: if tail.is_empty() {
            "/".to_owned()
        } else {
            tail.to_owned()
        },
    })
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("valid response")
}

/// Forward the request to the Service's backend and relay the answer.
pub async fn serve(
    shared: &Arc<Shared>,
    target: ProxyTarget,
    method: Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let service: Option<Value> = {
        let store = shared.store.lock().expect("store lock");
        store
            .endpoint("", "v1", "services")
            .and_then(|rt| {
                store
                    .get(&rt, Some(&target.namespace), &target.service)
                    .ok()
            })
            .map(|o| (*o).clone())
    };
    let Some(service) = service else {
        return status(
            404,
            "NotFound",
            format!("services {:?} not found", target.service),
        );
    };
    let ports = service
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let port_ok = if target.port.is_empty() {
        !ports.is_empty()
    } else {
        ports.iter().any(|p| {
            p.get("name").and_then(Value::as_str) == Some(target.port.as_str())
                || p.get("port").map(Value::to_string).as_deref() == Some(target.port.as_str())
        })
    };
    if !port_ok {
        return status(
            503,
            "ServiceUnavailable",
            format!(
                "no endpoints available for service \"{}:{}\"",
                target.service, target.port
            ),
        );
    }
    let Some(backend) = service
        .pointer(&format!(
            "/metadata/annotations/{}",
            BACKEND_ANNOTATION.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .and_then(|b| b.strip_prefix("http://"))
        .map(|b| b.trim_end_matches('/').to_owned())
    else {
        return status(
            503,
            "ServiceUnavailable",
            format!("no endpoints available for service {:?}", target.service),
        );
    };
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream");
    let request = format!(
        "{method} {}{query} HTTP/1.0\r\nHost: {backend}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        target.path,
        body.len()
    );
    let relay = async {
        let mut stream = tokio::net::TcpStream::connect(&backend).await?;
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(&body).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = match relay.await {
        Ok(raw) => raw,
        Err(e) => {
            return status(
                503,
                "ServiceUnavailable",
                format!("error trying to reach service: {e}"),
            );
        }
    };
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let payload = raw.get(split + 4..).unwrap_or_default().to_vec();
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse::<u16>().ok())
        .unwrap_or(502);
    let mut response =
        Response::builder().status(StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY));
    for line in head.lines().skip(1) {
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-type")
        {
            response = response.header(header::CONTENT_TYPE, v.trim());
        }
    }
    response.body(Body::from(payload)).expect("valid response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_as_kubeseal_builds_them() {
        let t = match_service_proxy(
            "/api/v1/namespaces/kube-system/services/http:sealed-secrets-controller:http/proxy/v1/cert.pem",
        )
        .unwrap();
        assert_eq!(t.namespace, "kube-system");
        assert_eq!(t.service, "sealed-secrets-controller");
        assert_eq!(t.port, "http");
        assert_eq!(t.path, "/v1/cert.pem");
        let t = match_service_proxy("/api/v1/namespaces/ns/services/svc/proxy").unwrap();
        assert_eq!((t.port.as_str(), t.path.as_str()), ("", "/"));
        assert!(match_service_proxy("/api/v1/namespaces/ns/services/svc").is_none());
        assert!(match_service_proxy("/api/v1/namespaces/ns/secrets/x/proxy/y").is_none());
    }
}
