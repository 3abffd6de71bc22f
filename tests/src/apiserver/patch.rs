//! Non-apply patches: RFC 7386 merge patch, RFC 6902 JSON patch (with the apiserver's
//! "`test` null passes on an absent member" rule that kube's `finalizer()` helper relies on),
//! and strategic merge patch for the shapes built-in kinds carry.

use serde_json::Value;

use super::errors::ApiError;

/// The patch flavour, from the request's `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/json-patch+json`.
    Json,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchKind {
    /// Maps a content type, or 415.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/json-patch+json" => Ok(PatchKind::Json),
            "application/merge-patch+json" => Ok(PatchKind::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(PatchKind::Apply),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }

    /// Name used in the request log (`patch` verb sub-kind).
    pub fn as_str(self) -> &'static str {
        match self {
            PatchKind::Json => "json",
            PatchKind::Merge => "merge",
            PatchKind::Strategic => "strategic",
            PatchKind::Apply => "apply",
        }
    }
}

/// RFC 7386 merge patch: objects merge, `null` deletes, arrays replace.
pub fn merge_patch(doc: &mut Value, patch: &Value) {
    json_patch::merge(doc, patch);
}

/// RFC 6902 patch with evanphx/json-patch v4's `test` semantics.
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), ApiError> {
    let ops = ops
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be a JSON array of operations"))?;
    let mut work = doc.clone();
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        if kind == "test" && op.get("value").is_some_and(Value::is_null) {
            let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
            match work.pointer(path) {
                None | Some(Value::Null) => continue,
                Some(_) => return Err(ApiError::invalid_request()),
            }
        }
        let parsed: json_patch::PatchOperation = serde_json::from_value(op.clone())
            .map_err(|e| ApiError::bad_request(format!("invalid json patch operation: {e}")))?;
        json_patch::patch(&mut work, &[parsed]).map_err(|e| match e.kind {
            json_patch::PatchErrorKind::TestFailed => ApiError::invalid_request(),
            _ => ApiError::invalid_request(),
        })?;
    }
    *doc = work;
    Ok(())
}

/// Strategic merge patch, for built-in kinds (CRs answer 415 before reaching here).
///
/// Differs from merge patch on lists with a strategy: `metadata.finalizers` (primitive
/// list, merge → union; `$deleteFromPrimitiveList/finalizers` removes), and
/// `metadata.ownerReferences` (merged by `uid`, `$patch: delete` removes an item).
/// `$retainKeys` and `$setElementOrder` directives are accepted and ignored.
pub fn strategic_merge_patch(doc: &mut Value, patch: &Value) -> Result<(), ApiError> {
    let mut patch = patch.clone();
    let patch_obj = patch
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request("strategic merge patch must be an object"))?;
    let mut finalizers_add: Option<Vec<Value>> = None;
    let mut finalizers_remove: Vec<Value> = Vec::new();
    let mut owner_patch: Option<Vec<Value>> = None;
    if let Some(meta) = patch_obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if let Some(Value::Array(f)) = meta.remove("finalizers") {
            finalizers_add = Some(f);
        }
        if let Some(Value::Array(f)) = meta.remove("$deleteFromPrimitiveList/finalizers") {
            finalizers_remove = f;
        }
        if let Some(Value::Array(o)) = meta.remove("ownerReferences") {
            owner_patch = Some(o);
        }
        meta.retain(|k, _| !k.starts_with("$setElementOrder/") && k != "$retainKeys");
    }
    patch_obj.retain(|k, _| !k.starts_with("$setElementOrder/") && k != "$retainKeys");
    json_patch::merge(doc, &patch);
    if finalizers_add.is_some() || !finalizers_remove.is_empty() {
        let meta = ensure_metadata(doc);
        let mut list = meta
            .get("finalizers")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for f in finalizers_add.unwrap_or_default() {
            if !list.contains(&f) {
                list.push(f);
            }
        }
        list.retain(|f| !finalizers_remove.contains(f));
        if list.is_empty() {
            meta.remove("finalizers");
        } else {
            meta.insert("finalizers".into(), Value::Array(list));
        }
    }
    if let Some(items) = owner_patch {
        let meta = ensure_metadata(doc);
        let mut list = meta
            .get("ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for item in items {
            let uid = item.get("uid").cloned();
            let pos = list.iter().position(|x| x.get("uid") == uid.as_ref());
            if item.get("$patch").and_then(Value::as_str) == Some("delete") {
                if let Some(i) = pos {
                    list.remove(i);
                }
                continue;
            }
            match pos {
                Some(i) => json_patch::merge(&mut list[i], &item),
                None => list.push(item),
            }
        }
        if list.is_empty() {
            meta.remove("ownerReferences");
        } else {
            meta.insert("ownerReferences".into(), Value::Array(list));
        }
    }
    Ok(())
}

fn ensure_metadata(doc: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !doc.get("metadata").is_some_and(Value::is_object) {
        doc["metadata"] = Value::Object(Default::default());
    }
    doc["metadata"].as_object_mut().expect("just ensured")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn test_null_passes_on_absent_member() {
        let mut doc = json!({"metadata": {"name": "a"}});
        let ops = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["x.io/f"]},
        ]);
        json_patch(&mut doc, &ops).unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["x.io/f"]));
        let again = json_patch(&mut doc, &ops).unwrap_err();
        assert_eq!(again.code, 422);
        assert_eq!(again.reason, "Invalid");
    }

    #[test]
    fn failed_test_leaves_document_untouched() {
        let mut doc = json!({"a": 1});
        let ops = json!([{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 5}]);
        assert!(json_patch(&mut doc, &ops).is_err());
        assert_eq!(doc, json!({"a": 1}));
    }

    #[test]
    fn smp_unions_finalizers_and_null_deletes() {
        let mut doc = json!({"metadata": {"finalizers": ["a.io/x"]}, "spec": {"holderIdentity": "me", "n": 1}});
        strategic_merge_patch(
            &mut doc,
            &json!({"metadata": {"finalizers": ["b.io/y"]}, "spec": {"holderIdentity": null}}),
        )
        .unwrap();
        assert_eq!(doc["metadata"]["finalizers"], json!(["a.io/x", "b.io/y"]));
        assert_eq!(doc["spec"], json!({"n": 1}));
    }
}
