//! HTTP front: URL layout (kube-api.md §1.1), query decoding (`+` as space, kube's leading
//! `?&`), content negotiation (metadata-only lists/watches), discovery, `/version`, Go-style
//! plain-text 404 for paths no handler owns, fault injection and the request log.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

use super::errors::ApiError;
use super::faults::FaultRule;
use super::patch::PatchKind;
use super::resources::{KindClass, ResourceType};
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{DeleteOptions, DeleteOutcome, Store, WriteOptions};
use super::watch::{self, WatchParams};
use super::{RequestRecord, Shared, view};

/// Builds the router serving the double.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

fn json_response(code: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec(v).expect("JSON values serialise");
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("valid response")
}

fn error_response(e: &ApiError) -> Response {
    json_response(
        StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &e.to_status(),
    )
}

fn plain_not_found() -> Response {
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from("404 page not found\n"))
        .expect("valid response")
}

/// A parsed resource URL.
struct ResourceRoute {
    rt: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

enum Route {
    Version,
    CoreVersions,
    Groups,
    ResourceList(String, String),
    Resource(ResourceRoute),
    Admin(String),
    NotFound,
}

fn parse_route(store: &Store, path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["version"] => return Route::Version,
        ["__double", rest @ ..] => return Route::Admin(rest.join("/")),
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return Route::NotFound,
    };
    if rest.is_empty() {
        let served = store
            .endpoints()
            .any(|r| r.group == group && r.version == version);
        return if served {
            Route::ResourceList(group.into(), version.into())
        } else {
            Route::NotFound
        };
    }
    let ep = |plural: &str| store.endpoint(group, version, plural);
    let mk = |rt: Arc<ResourceType>, ns: Option<&str>, tail: &[&str]| -> Route {
        match tail {
            [] => Route::Resource(ResourceRoute {
                rt,
                namespace: ns.map(str::to_owned),
                name: None,
                sub: None,
            }),
            [name] => Route::Resource(ResourceRoute {
                rt,
                namespace: ns.map(str::to_owned),
                name: Some((*name).to_owned()),
                sub: None,
            }),
            [name, sub] => Route::Resource(ResourceRoute {
                rt,
                namespace: ns.map(str::to_owned),
                name: Some((*name).to_owned()),
                sub: Some((*sub).to_owned()),
            }),
            _ => Route::NotFound,
        }
    };
    match rest {
        ["namespaces", ns, plural, tail @ ..] if ep(plural).is_some_and(|r| r.namespaced) => {
            mk(ep(plural).expect("checked"), Some(ns), tail)
        }
        [plural, tail @ ..] => match ep(plural) {
            Some(rt) if rt.namespaced && !tail.is_empty() => Route::NotFound,
            Some(rt) => mk(rt, None, tail),
            None => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}

fn query_map(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn truthy(q: &HashMap<String, String>, k: &str) -> bool {
    q.get(k).is_some_and(|v| v == "true" || v == "1")
}

fn parse_body(bytes: &Bytes, yaml_ok: bool) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => Ok(v),
        Err(e) if yaml_ok => {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| ApiError::bad_request("request body is not UTF-8"))?;
            serde_saphyr::from_str::<Value>(text).map_err(|y| {
                ApiError::bad_request(format!("error decoding YAML: {y} (as JSON: {e})"))
            })
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "error decoding request body as JSON: {e}"
        ))),
    }
}

fn verb_of(
    method: &Method,
    route: &ResourceRoute,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> String {
    match (method.as_str(), route.name.is_some()) {
        ("GET", false) if truthy(q, "watch") => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if ct.starts_with("application/apply-patch") {
                "apply"
            } else {
                "patch"
            }
        }
        ("DELETE", false) => "deletecollection",
        ("DELETE", true) => "delete",
        (m, _) => return m.to_lowercase(),
    }
    .to_owned()
}

fn manager_of(q: &HashMap<String, String>, headers: &HeaderMap) -> Option<String> {
    q.get("fieldManager").cloned().or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.split('/').next().unwrap_or(ua).to_owned())
            .filter(|s| !s.is_empty())
    })
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = shared.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let path = uri.path().to_owned();
    if let Some(target) = super::proxy::match_service_proxy(&path) {
        return super::proxy::serve(&shared, target, method, &uri, &headers, body).await;
    }
    let q = query_map(&uri);
    let route = {
        let store = shared.store.lock().expect("store lock");
        parse_route(&store, &path)
    };
    let mut record = RequestRecord {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_owned(),
        verb: "get".into(),
        status: 0,
        field_manager: q.get("fieldManager").cloned(),
        meta_only: headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("as=PartialObjectMetadata")),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    let response = match route {
        Route::Resource(r) => {
            record.verb = verb_of(&method, &r, &q, &headers);
            match shared.faults.check(&record.verb, &path) {
                Some(code) => error_response(&ApiError::injected(code)),
                None => match resource(&shared, r, &record.verb, &q, &headers, &body) {
                    Ok(resp) => resp,
                    Err(e) => error_response(&e),
                },
            }
        }
        Route::Admin(cmd) => {
            record.verb = "admin".into();
            admin(&shared, &cmd, &q, &body)
        }
        other => {
            if let Some(code) = shared.faults.check("get", &path) {
                error_response(&ApiError::injected(code))
            } else {
                discovery(&shared, other, &headers)
            }
        }
    };
    record.status = response.status().as_u16();
    let mut log = shared.log.lock().expect("log lock");
    // Bounded for long standalone runs: the oldest half goes once the cap is reached.
    if log.len() >= super::REQUEST_LOG_CAP {
        log.drain(..super::REQUEST_LOG_CAP / 2);
    }
    log.push(record);
    drop(log);
    response
}

fn discovery(shared: &Shared, route: Route, _headers: &HeaderMap) -> Response {
    let store = shared.store.lock().expect("store lock");
    match route {
        Route::Version => json_response(
            StatusCode::OK,
            &json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-sealbox-double", "gitCommit": "0000000000000000000000000000000000000000",
                    "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
                    "platform": "linux/amd64"}),
        ),
        Route::CoreVersions => json_response(
            StatusCode::OK,
            &json!({"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": shared.addr.to_string()}]}),
        ),
        Route::Groups => {
            let mut groups: Vec<(String, Vec<String>)> = Vec::new();
            for rt in store.endpoints().filter(|r| !r.group.is_empty()) {
                match groups.iter_mut().find(|(g, _)| g == &rt.group) {
                    Some((_, vs)) => {
                        if !vs.contains(&rt.version) {
                            vs.push(rt.version.clone())
                        }
                    }
                    None => groups.push((rt.group.clone(), vec![rt.version.clone()])),
                }
            }
            let groups: Vec<Value> = groups
                .into_iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> =
                        vs.iter().map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v})).collect();
                    json!({"name": g, "versions": versions, "preferredVersion": versions[0].clone()})
                })
                .collect();
            json_response(
                StatusCode::OK,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        Route::ResourceList(g, v) => {
            let mut resources = Vec::new();
            for rt in store.endpoints().filter(|r| r.group == g && r.version == v) {
                let mut verbs = vec![
                    "create", "delete", "get", "list", "patch", "update", "watch",
                ];
                if rt.namespaced {
                    verbs.push("deletecollection");
                }
                resources.push(json!({"name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
                    "kind": rt.kind, "verbs": verbs}));
                if rt.status_subresource {
                    resources.push(json!({"name": format!("{}/status", rt.plural), "singularName": "",
                        "namespaced": rt.namespaced, "kind": rt.kind, "verbs": ["get", "patch", "update"]}));
                }
            }
            let gv = if g.is_empty() { v } else { format!("{g}/{v}") };
            json_response(
                StatusCode::OK,
                &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
            )
        }
        _ => plain_not_found(),
    }
}

fn selectors(
    rt: &ResourceType,
    q: &HashMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(
        q.get("labelSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let fields = FieldSelector::parse(
        q.get("fieldSelector")
            .map(String::as_str)
            .unwrap_or_default(),
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Store::check_field_selector(rt, &fields)?;
    Ok((labels, fields))
}

fn parse_rv(q: &HashMap<String, String>) -> Result<Option<u64>, ApiError> {
    match q.get("resourceVersion").map(String::as_str) {
        None | Some("") => Ok(None),
        Some(s) => s.parse::<u64>().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: {s:?}: must be a number"
            ))
        }),
    }
}

fn resource(
    shared: &Arc<Shared>,
    r: ResourceRoute,
    verb: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, ApiError> {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let meta_only = accept.contains("as=PartialObjectMetadata");
    let rt = r.rt.clone();
    let sub = r.sub.clone().unwrap_or_default();
    if !sub.is_empty() && (sub != "status" || !rt.status_subresource) {
        return Ok(plain_not_found());
    }
    if rt.namespaced && r.name.is_some() && r.namespace.is_none() {
        return Ok(plain_not_found());
    }
    if q.contains_key("force") && verb != "apply" {
        return Err(ApiError {
            code: 422,
            reason: "Invalid".into(),
            message: "PatchOptions.meta.k8s.io \"\" is invalid: force: Forbidden: may not be specified for non-apply patch".into(),
            details: None,
        });
    }
    let dry_run = match q.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "dryRun: Unsupported value: {other:?}"
            )));
        }
    };
    let opts = WriteOptions {
        manager: manager_of(q, headers),
        dry_run,
        subresource: sub.clone(),
        force: truthy(q, "force"),
    };
    let ns = r.namespace.as_deref();
    let name = r.name.clone().unwrap_or_default();
    let single = |obj: &Value, code: StatusCode| {
        json_response(code, &view::present(&rt, obj, meta_only, true))
    };
    match verb {
        "get" => {
            let store = shared.store.lock().expect("store lock");
            let obj = store.get(&rt, ns, &name)?;
            Ok(single(&obj, StatusCode::OK))
        }
        "list" => {
            let (labels, fields) = selectors(&rt, q)?;
            if truthy(q, "sendInitialEvents") {
                return Err(ApiError::invalid_resource(
                    &rt,
                    "",
                    "sendInitialEvents",
                    "Forbidden: sendInitialEvents is forbidden for list",
                ));
            }
            let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok());
            let mut store = shared.store.lock().expect("store lock");
            let res = store.list(
                &rt,
                ns,
                &labels,
                &fields,
                limit,
                q.get("continue").map(String::as_str),
            )?;
            drop(store);
            let with_type = rt.class == KindClass::Custom;
            let items: Vec<Value> = res
                .items
                .iter()
                .map(|o| view::present(&rt, o, meta_only, with_type))
                .collect();
            let mut metadata = json!({"resourceVersion": res.rev.to_string()});
            if let Some(c) = res.continue_token {
                metadata["continue"] = json!(c);
            }
            let (kind, api_version) = if meta_only {
                (
                    "PartialObjectMetadataList".to_owned(),
                    "meta.k8s.io/v1".to_owned(),
                )
            } else {
                (rt.list_kind.clone(), rt.api_version())
            };
            Ok(json_response(
                StatusCode::OK,
                &json!({"kind": kind, "apiVersion": api_version, "metadata": metadata, "items": items}),
            ))
        }
        "watch" => {
            let (labels, fields) = selectors(&rt, q)?;
            let send_initial_events = truthy(q, "sendInitialEvents");
            let rvm = q
                .get("resourceVersionMatch")
                .map(String::as_str)
                .unwrap_or_default();
            if send_initial_events && rvm != "NotOlderThan" {
                return Err(ApiError::invalid_resource(
                    &rt,
                    "",
                    "resourceVersionMatch",
                    "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if !send_initial_events && !rvm.is_empty() {
                return Err(ApiError::invalid_resource(
                    &rt,
                    "",
                    "resourceVersionMatch",
                    "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            let params = WatchParams {
                namespace: r.namespace.clone(),
                resource_version: parse_rv(q)?,
                timeout: q.get("timeoutSeconds").and_then(|t| t.parse().ok()),
                labels,
                fields,
                bookmarks: truthy(q, "allowWatchBookmarks"),
                send_initial_events,
                meta_only,
            };
            watch::serve(shared.clone(), rt, params)
        }
        "create" => {
            if r.name.is_some() {
                return Err(ApiError::method_not_allowed("POST"));
            }
            let mut obj = parse_body(body, true)?;
            if rt.class == KindClass::CoreEvent {
                view::core_event_to_stored(&mut obj);
            }
            let created = {
                let mut store = shared.store.lock().expect("store lock");
                let created = store.create(&rt, ns, obj, &opts)?;
                maybe_register_crd(&mut store, &rt, &created);
                created
            };
            shared.gc_notify.notify_one();
            Ok(single(&created, StatusCode::CREATED))
        }
        "update" => {
            let mut obj = parse_body(body, true)?;
            if rt.class == KindClass::CoreEvent {
                view::core_event_to_stored(&mut obj);
            }
            let mut store = shared.store.lock().expect("store lock");
            let updated = store.update(&rt, ns, &name, obj, &opts)?;
            maybe_register_crd(&mut store, &rt, &updated);
            drop(store);
            shared.gc_notify.notify_one();
            Ok(single(&updated, StatusCode::OK))
        }
        "patch" | "apply" => {
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let kind = PatchKind::from_content_type(ct)?;
            let patch = parse_body(body, kind == PatchKind::Apply)?;
            let mut store = shared.store.lock().expect("store lock");
            let (obj, created) = if kind == PatchKind::Apply {
                store.apply(&rt, ns, &name, patch, &opts)?
            } else {
                (store.patch(&rt, ns, &name, kind, &patch, &opts)?, false)
            };
            maybe_register_crd(&mut store, &rt, &obj);
            drop(store);
            shared.gc_notify.notify_one();
            Ok(single(
                &obj,
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
            ))
        }
        "delete" => {
            let dopts = delete_options(body, q, dry_run)?;
            let out = shared
                .store
                .lock()
                .expect("store lock")
                .delete(&rt, ns, &name, &dopts)?;
            shared.gc_notify.notify_one();
            Ok(match out {
                DeleteOutcome::Removed(status) => json_response(StatusCode::OK, &status),
                DeleteOutcome::Marked(obj) => single(&obj, StatusCode::OK),
            })
        }
        "deletecollection" => {
            let (labels, fields) = selectors(&rt, q)?;
            let dopts = delete_options(body, q, dry_run)?;
            let mut store = shared.store.lock().expect("store lock");
            let items = store.list(&rt, ns, &labels, &fields, None, None)?.items;
            for o in items {
                let n = o
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let ons = o
                    .pointer("/metadata/namespace")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                store.delete(&rt, ons.as_deref(), &n, &dopts)?;
            }
            drop(store);
            shared.gc_notify.notify_one();
            Ok(json_response(
                StatusCode::OK,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
            ))
        }
        other => Err(ApiError::method_not_allowed(other)),
    }
}

fn delete_options(
    body: &Bytes,
    q: &HashMap<String, String>,
    dry_run: bool,
) -> Result<DeleteOptions, ApiError> {
    let b: Value = if body.is_empty() {
        json!({})
    } else {
        parse_body(body, false)?
    };
    let dry = dry_run
        || b.get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|v| v == "All"));
    Ok(DeleteOptions {
        propagation: b
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| q.get("propagationPolicy").cloned()),
        precondition_uid: b
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_owned),
        precondition_rv: b
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_owned),
        dry_run: dry,
    })
}

/// Applying a CRD makes its resources servable at once (the real server takes a moment to
/// report `Established`; the double does it synchronously and sets that condition).
fn maybe_register_crd(store: &mut Store, rt: &ResourceType, crd: &Value) {
    if rt.class != KindClass::Crd {
        return;
    }
    if let Ok(types) = ResourceType::from_crd(crd) {
        for t in types {
            store.register(t);
        }
    }
}

fn admin(shared: &Arc<Shared>, cmd: &str, q: &HashMap<String, String>, body: &Bytes) -> Response {
    let ok = || json_response(StatusCode::OK, &json!({"ok": true}));
    match cmd {
        "faults" => {
            let b: Value = serde_json::from_slice(body).unwrap_or_else(|_| json!({}));
            let status = b.get("status").and_then(Value::as_u64).unwrap_or(500) as u16;
            let verb = b.get("verb").and_then(Value::as_str);
            let path = b.get("path").and_then(Value::as_str);
            let rule = match (
                b.get("count").and_then(Value::as_u64),
                b.get("rate").and_then(Value::as_f64),
            ) {
                (_, Some(rate)) => FaultRule::rate(verb, path, status, rate),
                (Some(n), None) => FaultRule::next(verb, path, status, n as u32),
                (None, None) => FaultRule::next(verb, path, status, 1),
            };
            shared.faults.add(rule);
            ok()
        }
        "latency" => {
            let ms = q.get("ms").and_then(|m| m.parse().ok()).unwrap_or(0);
            shared
                .faults
                .set_latency(std::time::Duration::from_millis(ms));
            ok()
        }
        "drop-watches" => {
            shared.faults.drop_watches();
            ok()
        }
        "gone-next-watch" => {
            shared
                .faults
                .gone_on_next_watches(q.get("n").and_then(|n| n.parse().ok()).unwrap_or(1));
            ok()
        }
        "compact" => {
            shared.store.lock().expect("store lock").compact_history();
            ok()
        }
        "clear-faults" => {
            shared.faults.clear();
            ok()
        }
        "stats" => {
            let log = shared.log.lock().expect("log lock");
            let mut by_verb: HashMap<String, u64> = HashMap::new();
            for r in log.iter() {
                *by_verb.entry(r.verb.clone()).or_default() += 1;
            }
            let store = shared.store.lock().expect("store lock");
            let stats = store.stats();
            json_response(
                StatusCode::OK,
                &json!({"requests": log.len(), "byVerb": by_verb, "revision": store.revision(),
                        "persistedWrites": stats.persisted_writes, "noopWrites": stats.noop_writes}),
            )
        }
        _ => plain_not_found(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}
