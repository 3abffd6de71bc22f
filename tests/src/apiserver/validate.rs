//! Per-kind defaulting, normalisation and validation — the registry strategies of the real
//! server (Secret, Event, Lease, Namespace, CRD, custom resources with pruning and schema
//! defaults) plus the object-metadata rules every kind shares.
//!
//! Messages name fields and never echo Secret values.

use base64::Engine;
use serde_json::{Map, Value};

use super::errors::{ApiError, Cause, forbidden, invalid_value, required};
use super::resources::{KindClass, ResourceType, TypeNode};

const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty() && s.len() <= 63 && !s.contains('.') && is_dns_subdomain(s)
}

/// Validates an object name for its kind.
pub fn name_causes(rt: &ResourceType, name: &str) -> Vec<Cause> {
    let ok = match rt.class {
        KindClass::Namespace => is_dns_label(name),
        _ => is_dns_subdomain(name),
    };
    if ok {
        vec![]
    } else {
        let what = if rt.class == KindClass::Namespace {
            "RFC 1123 label"
        } else {
            "RFC 1123 subdomain"
        };
        vec![invalid_value(
            "metadata.name",
            &format!(
                "{name:?}: a lowercase {what} must consist of lower case alphanumeric characters, '-' or '.'"
            ),
        )]
    }
}

fn is_qualified_finalizer(f: &str) -> bool {
    matches!(f, "kubernetes" | "orphan" | "foregroundDeletion")
        || f.split_once('/')
            .is_some_and(|(d, n)| is_dns_subdomain(d) && d.contains('.') && !n.is_empty())
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// ObjectMeta rules shared by every kind (AM `pkg/api/validation/objectmeta.go`).
fn metadata_causes(rt: &ResourceType, live: Option<&Value>, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let meta = new.get("metadata").cloned().unwrap_or_default();
    for field in ["labels", "annotations"] {
        if let Some(m) = meta.get(field) {
            match m.as_object() {
                Some(m) => {
                    for (k, v) in m {
                        if !v.is_string() {
                            causes.push(invalid_value(
                                &format!("metadata.{field}[{k}]"),
                                "value must be a string",
                            ));
                        }
                    }
                }
                None if m.is_null() => {}
                None => causes.push(invalid_value(
                    &format!("metadata.{field}"),
                    "must be a map of strings",
                )),
            }
        }
    }
    let finalizers = string_list(meta.get("finalizers"));
    let core = !matches!(rt.class, KindClass::Custom);
    for (i, f) in finalizers.iter().enumerate() {
        if core && !is_qualified_finalizer(f) {
            causes.push(invalid_value(
                &format!("metadata.finalizers[{i}]"),
                &format!(
                    "{f:?}: name is neither a standard finalizer name nor is it fully qualified"
                ),
            ));
        }
    }
    if let Some(live) = live
        && live.pointer("/metadata/deletionTimestamp").is_some()
    {
        let old = string_list(live.pointer("/metadata/finalizers"));
        for f in &finalizers {
            if !old.contains(f) {
                causes.push(forbidden(
                    "metadata.finalizers",
                    &format!("no new finalizers can be added if the object is being deleted, found new finalizers [\"{f}\"]"),
                ));
            }
        }
    }
    if let Some(refs) = meta.get("ownerReferences").and_then(Value::as_array) {
        let mut controllers = 0;
        for (i, r) in refs.iter().enumerate() {
            for f in ["apiVersion", "kind", "name", "uid"] {
                if r.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
                    causes.push(required(&format!("metadata.ownerReferences[{i}].{f}")));
                }
            }
            if r.get("controller").and_then(Value::as_bool) == Some(true) {
                controllers += 1;
            }
        }
        if controllers > 1 {
            causes.push(invalid_value(
                "metadata.ownerReferences",
                "Only one reference can have Controller set to true",
            ));
        }
    }
    causes
}

fn secret_type(v: &Value) -> String {
    v.get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// Folds `stringData` into `data`, defaults `type` (Secret strategy + v1 conversion).
fn normalize_secret(new: &mut Value) {
    let obj = new.as_object_mut().expect("objects are JSON objects");
    if let Some(Value::Object(sd)) = obj.remove("stringData") {
        let data = obj
            .entry("data")
            .or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        let data = data.as_object_mut().expect("just ensured");
        for (k, v) in sd {
            let s = v.as_str().unwrap_or_default();
            data.insert(
                k,
                Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
            );
        }
    }
    if obj
        .get("data")
        .is_some_and(|d| d.as_object().is_some_and(Map::is_empty) || d.is_null())
    {
        obj.remove("data");
    }
    if obj
        .get("type")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        // v1 defaulting runs when the request is decoded, before the strategy: an empty
        // type is `Opaque` on update too, so dropping `type` from a TLS Secret is a 422.
        obj.insert("type".into(), Value::String("Opaque".into()));
    }
}

fn secret_causes(live: Option<&Value>, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let data = new
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut total = 0usize;
    let mut decoded_keys = std::collections::BTreeMap::new();
    for (k, v) in &data {
        let key_ok = !k.is_empty()
            && k.len() <= 253
            && k.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            && k != "."
            && k != ".."
            && !k.starts_with("..");
        if !key_ok {
            causes.push(invalid_value(
                &format!("data[{k}]"),
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
            ));
        }
        match v
            .as_str()
            .map(|s| base64::engine::general_purpose::STANDARD.decode(s))
        {
            Some(Ok(bytes)) => {
                total += bytes.len();
                decoded_keys.insert(k.clone(), bytes);
            }
            _ => causes.push(invalid_value(
                &format!("data[{k}]"),
                "must be a base64-encoded string",
            )),
        }
    }
    if total > MAX_SECRET_SIZE {
        causes.push(Cause {
            reason: "FieldValueTooLong".into(),
            message: format!("Too long: may not be more than {MAX_SECRET_SIZE} bytes"),
            field: "data".into(),
        });
    }
    let t = secret_type(new);
    let need = |k: &str, causes: &mut Vec<Cause>| {
        if !data.contains_key(k) {
            causes.push(required(&format!("data[{k}]")));
        }
    };
    match t.as_str() {
        "kubernetes.io/tls" => {
            need("tls.crt", &mut causes);
            need("tls.key", &mut causes);
        }
        "kubernetes.io/dockerconfigjson" | "kubernetes.io/dockercfg" => {
            let key = if t.ends_with("json") {
                ".dockerconfigjson"
            } else {
                ".dockercfg"
            };
            need(key, &mut causes);
            if let Some(b) = decoded_keys.get(key)
                && serde_json::from_slice::<Value>(b).is_err()
            {
                causes.push(invalid_value(
                    &format!("data[{key}]"),
                    "<secret contents redacted>: invalid JSON",
                ));
            }
        }
        "kubernetes.io/basic-auth"
            if !data.contains_key("username") && !data.contains_key("password") =>
        {
            causes.push(required("data[username]"));
        }
        "kubernetes.io/ssh-auth"
            if decoded_keys.get("ssh-privatekey").is_none_or(Vec::is_empty) =>
        {
            causes.push(required("data[ssh-privatekey]"));
        }
        "kubernetes.io/service-account-token"
            if new
                .pointer("/metadata/annotations/kubernetes.io~1service-account.name")
                .is_none() =>
        {
            causes.push(required(
                "metadata.annotations[kubernetes.io/service-account.name]",
            ));
        }
        _ => {}
    }
    if let Some(live) = live {
        let old_t = secret_type(live);
        if old_t != t {
            causes.push(invalid_value("type", &format!("{t:?}: field is immutable")));
        }
        if live.get("immutable").and_then(Value::as_bool) == Some(true) {
            if new.get("immutable").and_then(Value::as_bool) != Some(true) {
                causes.push(forbidden(
                    "immutable",
                    "field is immutable when `immutable` is set",
                ));
            }
            if live.get("data") != new.get("data") {
                causes.push(forbidden(
                    "data",
                    "field is immutable when `immutable` is set",
                ));
            }
        }
    }
    causes
}

fn lease_causes(new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let Some(d) = new
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_i64)
        && d <= 0
    {
        causes.push(invalid_value(
            "spec.leaseDurationSeconds",
            &format!("{d}: must be greater than 0"),
        ));
    }
    if let Some(t) = new
        .pointer("/spec/leaseTransitions")
        .and_then(Value::as_i64)
        && t < 0
    {
        causes.push(invalid_value(
            "spec.leaseTransitions",
            &format!("{t}: must be greater than or equal to 0"),
        ));
    }
    if new
        .pointer("/spec/preferredHolder")
        .is_some_and(|v| !v.is_null())
        && new.pointer("/spec/strategy").is_none_or(Value::is_null)
    {
        causes.push(forbidden(
            "spec.preferredHolder",
            "may only be specified if `strategy` is defined",
        ));
    }
    causes
}

fn is_qualified_name(s: &str) -> bool {
    let name = match s.rsplit_once('/') {
        Some((p, n)) => {
            if !is_dns_subdomain(p) {
                return false;
            }
            n
        }
        None => s,
    };
    !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric())
}

/// events.k8s.io/v1 validation (KK `pkg/apis/core/validation/events.go`), on the stored form.
fn event_causes(live: Option<&Value>, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let s = |p: &str| {
        new.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    if let Some(live) = live {
        for f in [
            "regarding",
            "reason",
            "note",
            "type",
            "eventTime",
            "action",
            "related",
            "reportingController",
            "reportingInstance",
        ] {
            if live.get(f) != new.get(f) {
                causes.push(invalid_value(f, "field is immutable"));
            }
        }
        return causes;
    }
    if new.get("eventTime").is_none_or(Value::is_null) {
        causes.push(required("eventTime"));
    }
    let t = s("/type");
    if t != "Normal" && t != "Warning" {
        causes.push(Cause {
            reason: "FieldValueNotSupported".into(),
            message: format!("Unsupported value: {t:?}: supported values: \"Normal\", \"Warning\""),
            field: "type".into(),
        });
    }
    let rc = s("/reportingController");
    if rc.is_empty() {
        causes.push(required("reportingController"));
    } else if !is_qualified_name(&rc) {
        causes.push(invalid_value(
            "reportingController",
            &format!("{rc:?}: must be a qualified name"),
        ));
    }
    for (f, max) in [("reportingInstance", 128), ("action", 128), ("reason", 128)] {
        let v = s(&format!("/{f}"));
        if v.is_empty() {
            causes.push(required(f));
        } else if v.len() > max {
            causes.push(invalid_value(
                f,
                &format!("can have at most {max} characters"),
            ));
        }
    }
    if s("/note").len() > 1024 {
        causes.push(invalid_value("note", "can have at most 1024 characters"));
    }
    for f in [
        "deprecatedCount",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
        "deprecatedSource",
    ] {
        if new.get(f).is_some_and(|v| {
            !v.is_null() && v != &Value::Object(Map::new()) && v != &Value::from(0)
        }) {
            causes.push(invalid_value(f, "needs to be unset"));
        }
    }
    if let Some(series) = new.get("series").filter(|v| !v.is_null()) {
        if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            causes.push(invalid_value("series.count", "should be at least 2"));
        }
        if series.get("lastObservedTime").is_none_or(Value::is_null) {
            causes.push(required("series.lastObservedTime"));
        }
    }
    let ev_ns = s("/metadata/namespace");
    let reg_ns = s("/regarding/namespace");
    if reg_ns.is_empty() {
        if ev_ns != "default" && ev_ns != "kube-system" {
            causes.push(invalid_value(
                "metadata.namespace",
                &format!("{ev_ns:?}: does not match regardingObject.namespace"),
            ));
        }
    } else if reg_ns != ev_ns {
        causes.push(invalid_value(
            "metadata.namespace",
            &format!("{ev_ns:?}: does not match regarding.namespace"),
        ));
    }
    causes
}

/// core/v1 legacy Event rules: the involved object's namespace must match the event's.
fn legacy_event_causes(new: &Value) -> Vec<Cause> {
    let ev_ns = new
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match new
        .pointer("/regarding/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
    {
        Some(ns) if ns != ev_ns => vec![invalid_value(
            "involvedObject.namespace",
            &format!("{ns:?}: does not match event.namespace"),
        )],
        _ => vec![],
    }
}

/// Drops fields the structural schema does not declare (CRD pruning).
pub fn prune(v: &mut Value, node: &TypeNode) {
    if node.preserve_unknown {
        if let Value::Object(m) = v {
            for (k, c) in m.iter_mut() {
                if let Some(child) = node.fields.get(k) {
                    prune(c, child);
                }
            }
        }
        return;
    }
    match v {
        Value::Object(m)
            if node.is_object || !node.fields.is_empty() || node.additional.is_some() =>
        {
            if node.additional.is_none() {
                m.retain(|k, _| node.fields.contains_key(k));
            }
            for (k, c) in m.iter_mut() {
                prune(c, node.child(k));
            }
        }
        Value::Array(a) => {
            for item in a {
                prune(item, node.item());
            }
        }
        _ => {}
    }
}

/// Applies schema `default:` values to absent fields of present objects.
pub fn apply_defaults(v: &mut Value, node: &TypeNode) {
    match v {
        Value::Object(m) => {
            for (k, child) in &node.fields {
                if !m.contains_key(k)
                    && let Some(d) = &child.default
                {
                    m.insert(k.clone(), d.clone());
                }
            }
            for (k, c) in m.iter_mut() {
                if k != "metadata" {
                    apply_defaults(c, node.child(k));
                }
            }
        }
        Value::Array(a) => {
            for item in a {
                apply_defaults(item, node.item());
            }
        }
        _ => {}
    }
}

/// Normalises (defaults, folds, prunes) and validates `new`; 422 on failure.
pub fn normalize_and_validate(
    rt: &ResourceType,
    name: &str,
    live: Option<&Value>,
    new: &mut Value,
) -> Result<(), ApiError> {
    match rt.class {
        KindClass::Secret => normalize_secret(new),
        KindClass::Custom if rt.structural => {
            let schema = &*rt.schema;
            if let Value::Object(m) = new {
                for (k, c) in m.iter_mut() {
                    if k != "metadata" && k != "apiVersion" && k != "kind" {
                        prune(c, schema.child(k));
                    }
                }
                if !schema.preserve_unknown {
                    m.retain(|k, _| {
                        k == "metadata"
                            || k == "apiVersion"
                            || k == "kind"
                            || schema.fields.contains_key(k)
                    });
                }
            }
            apply_defaults(new, schema);
        }
        KindClass::Namespace if new.pointer("/status/phase").is_none() => {
            new["status"] = serde_json::json!({"phase": "Active"});
        }
        _ => {}
    }
    let mut causes = metadata_causes(rt, live, new);
    causes.extend(match rt.class {
        KindClass::Secret => secret_causes(live, new),
        KindClass::Lease => lease_causes(new),
        KindClass::EventV1 => event_causes(live, new),
        // core/v1 still accepts legacy events (no eventTime); new-style ones get the v1 rules.
        KindClass::CoreEvent if new.get("eventTime").is_some_and(|t| !t.is_null()) => {
            event_causes(live, new)
        }
        KindClass::CoreEvent => legacy_event_causes(new),
        KindClass::Crd => match ResourceType::from_crd(new) {
            Ok(_) => vec![],
            Err(e) => vec![invalid_value("spec", &e)],
        },
        _ => vec![],
    });
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt, name, causes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rt(plural: &str) -> ResourceType {
        ResourceType::builtins()
            .into_iter()
            .find(|r| r.plural == plural && r.group.is_empty())
            .unwrap()
    }

    #[test]
    fn string_data_overrides_data_and_is_not_stored() {
        let rt = rt("secrets");
        let mut s =
            json!({"metadata": {"name": "a"}, "data": {"k": "b2xk"}, "stringData": {"k": "new"}});
        normalize_and_validate(&rt, "a", None, &mut s).unwrap();
        assert_eq!(s["data"]["k"], "bmV3");
        assert!(s.get("stringData").is_none());
        assert_eq!(s["type"], "Opaque");
    }

    #[test]
    fn tls_requires_keys_and_messages_hide_values() {
        let rt = rt("secrets");
        let mut s = json!({"metadata": {"name": "a"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "c2VjcmV0LXZhbHVl"}});
        let e = normalize_and_validate(&rt, "a", None, &mut s).unwrap_err();
        assert_eq!(e.code, 422);
        assert!(
            e.message.contains("data[tls.key]: Required value"),
            "{}",
            e.message
        );
        assert!(!e.message.contains("c2VjcmV0LXZhbHVl") && !e.message.contains("secret-value"));
    }

    #[test]
    fn pruning_drops_undeclared_fields() {
        let node = TypeNode::from_openapi(&json!({"type": "object", "properties": {
            "spec": {"type": "object", "properties": {"a": {"type": "string"}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "m": {"type": "object", "additionalProperties": {"type": "string"}}}}));
        let mut v = json!({"spec": {"a": "x", "b": "y"}, "free": {"z": 1}, "m": {"q": "r"}});
        for (k, c) in v.as_object_mut().unwrap().iter_mut() {
            prune(c, node.child(k));
        }
        assert_eq!(
            v,
            json!({"spec": {"a": "x"}, "free": {"z": 1}, "m": {"q": "r"}})
        );
    }
}
