//! Server-side apply and `managedFields` bookkeeping (kube-api.md §6; apimachinery
//! `managedfields`, structured-merge-diff). Field sets are computed from the object and the
//! resource's topology; ownership moves exactly as the real server moves it, so a
//! controller that forgets `force`, or drops a key from its apply, sees what it would see
//! on a cluster.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

use super::errors::{ApiError, Cause};
use super::resources::{ListType, ResourceType, TypeNode};

/// One element of a field path (SMD `PathElement`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or map key: `f:<name>`.
    Field(String),
    /// A map-list item: `k:<json of key fields>`.
    Key(String),
    /// A set-list item: `v:<json value>`.
    Value(String),
    /// A positional list item: `i:<n>`.
    Index(usize),
}

/// A path from the object root.
pub type FieldPath = Vec<PathElement>;
/// A set of owned paths.
pub type FieldSet = BTreeSet<FieldPath>;

/// Prints a path the way conflict messages do: `.data.a`, `[uid="x"]`, `[=v]`.
pub fn path_string(p: &FieldPath) -> String {
    let mut s = String::new();
    for e in p {
        match e {
            PathElement::Field(f) => {
                s.push('.');
                s.push_str(f);
            }
            PathElement::Key(k) => {
                let parsed: Value = serde_json::from_str(k).unwrap_or(Value::Null);
                let inner: Vec<String> = parsed
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                s.push_str(&format!("[{}]", inner.join(",")));
            }
            PathElement::Value(v) => s.push_str(&format!("[={v}]")),
            PathElement::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Paths that are never owned (apimachinery `stripmeta.go`), plus server-only deletion fields.
fn is_stripped(p: &FieldPath) -> bool {
    match p.first() {
        Some(PathElement::Field(f)) if f == "apiVersion" || f == "kind" => p.len() == 1,
        Some(PathElement::Field(f)) if f == "metadata" => match p.get(1) {
            Some(PathElement::Field(m)) => matches!(
                m.as_str(),
                "name"
                    | "namespace"
                    | "uid"
                    | "resourceVersion"
                    | "generation"
                    | "creationTimestamp"
                    | "managedFields"
                    | "selfLink"
                    | "deletionTimestamp"
                    | "deletionGracePeriodSeconds"
                    | "generateName"
            ),
            None => true,
            _ => false,
        },
        _ => false,
    }
}

/// Which top-level fields a write may own, per endpoint (reset fields, AX `GetResetFields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything (kinds without a status subresource).
    All,
    /// Main resource of a kind with a status subresource: everything except `status`.
    MainWithoutStatus,
    /// The `/status` subresource: only `status`.
    StatusOnly,
}

impl Scope {
    fn allows(self, p: &FieldPath) -> bool {
        let is_status = matches!(p.first(), Some(PathElement::Field(f)) if f == "status");
        match self {
            Scope::All => true,
            Scope::MainWithoutStatus => !is_status,
            Scope::StatusOnly => is_status,
        }
    }
}

fn key_json(item: &Value, keys: &[String]) -> String {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(k) {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m).to_string()
}

fn walk(v: &Value, node: &TypeNode, path: &mut FieldPath, out: &mut BTreeMap<FieldPath, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() && !node.atomic_map => {
            for (k, c) in m {
                path.push(PathElement::Field(k.clone()));
                walk(c, node.child(k), path, out);
                path.pop();
            }
        }
        Value::Array(a) if !a.is_empty() && node.list != ListType::Atomic => match &node.list {
            ListType::Set => {
                for item in a {
                    path.push(PathElement::Value(item.to_string()));
                    out.insert(path.clone(), item.clone());
                    path.pop();
                }
            }
            ListType::Map(keys) => {
                for item in a {
                    path.push(PathElement::Key(key_json(item, keys)));
                    // The item's own membership: existence only (children carry the values).
                    out.insert(path.clone(), Value::Null);
                    walk(item, node.item(), path, out);
                    path.pop();
                }
            }
            ListType::Atomic => unreachable!("guarded above"),
        },
        _ => {
            if !path.is_empty() {
                out.insert(path.clone(), v.clone());
            }
        }
    }
}

/// Every owned member of `obj` with its value (atomic nodes whole), stripped paths removed.
pub fn leaves(obj: &Value, schema: &TypeNode, scope: Scope) -> BTreeMap<FieldPath, Value> {
    let mut out = BTreeMap::new();
    walk(obj, schema, &mut Vec::new(), &mut out);
    out.retain(|p, _| !is_stripped(p) && scope.allows(p));
    out
}

/// The field set of an object.
pub fn field_set(obj: &Value, schema: &TypeNode, scope: Scope) -> FieldSet {
    leaves(obj, schema, scope).into_keys().collect()
}

/// What changed between two states of an object.
#[derive(Debug, Default)]
pub struct Diff {
    /// Paths present only in the new state.
    pub added: FieldSet,
    /// Paths present in both with different values.
    pub modified: FieldSet,
    /// Paths present only in the old state.
    pub removed: FieldSet,
}

/// Diffs two objects over the owned paths.
pub fn diff(old: &Value, new: &Value, schema: &TypeNode, scope: Scope) -> Diff {
    let a = leaves(old, schema, scope);
    let b = leaves(new, schema, scope);
    let mut d = Diff::default();
    for (p, v) in &b {
        match a.get(p) {
            None => {
                d.added.insert(p.clone());
            }
            Some(old_v) if old_v != v => {
                d.modified.insert(p.clone());
            }
            _ => {}
        }
    }
    for p in a.keys() {
        if !b.contains_key(p) {
            d.removed.insert(p.clone());
        }
    }
    d
}

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedEntry {
    /// Manager name.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion of the write.
    pub api_version: String,
    /// RFC 3339 time of the last change by this entry.
    pub time: String,
    /// `""` or `status`.
    pub subresource: String,
    /// Owned fields.
    pub fields: FieldSet,
}

impl ManagedEntry {
    /// Whether this entry is the identity (manager, op, [apiVersion], subresource).
    pub fn is(&self, manager: &str, operation: &str, api_version: &str, subresource: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == subresource
            && (operation == "Apply" || self.api_version == api_version)
    }

    /// How the entry is named in conflict messages.
    fn describe(&self) -> String {
        let mut s = format!("\"{}\"", self.manager);
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource \"{}\"", self.subresource));
        }
        s
    }
}

fn pe_to_string(e: &PathElement) -> String {
    match e {
        PathElement::Field(f) => format!("f:{f}"),
        PathElement::Key(k) => format!("k:{k}"),
        PathElement::Value(v) => format!("v:{v}"),
        PathElement::Index(i) => format!("i:{i}"),
    }
}

fn pe_from_string(s: &str) -> Option<PathElement> {
    let (prefix, rest) = s.split_once(':')?;
    Some(match prefix {
        "f" => PathElement::Field(rest.to_owned()),
        "k" => PathElement::Key(serde_json::from_str::<Value>(rest).ok()?.to_string()),
        "v" => PathElement::Value(serde_json::from_str::<Value>(rest).ok()?.to_string()),
        "i" => PathElement::Index(rest.parse().ok()?),
        _ => return None,
    })
}

#[derive(Default)]
struct Trie {
    member: bool,
    children: BTreeMap<String, Trie>,
}

/// Serialises a field set as FieldsV1 (SMD `fieldpath/serialize.go`).
pub fn to_fields_v1(set: &FieldSet) -> Value {
    let mut root = Trie::default();
    for p in set {
        let mut node = &mut root;
        for e in p {
            node = node.children.entry(pe_to_string(e)).or_default();
        }
        node.member = true;
    }
    fn emit(t: &Trie) -> Value {
        let mut m = Map::new();
        if t.member && !t.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in &t.children {
            m.insert(k.clone(), emit(c));
        }
        Value::Object(m)
    }
    emit(&root)
}

/// Parses FieldsV1 back into a set.
pub fn from_fields_v1(v: &Value) -> FieldSet {
    fn rec(v: &Value, path: &mut FieldPath, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        if m.is_empty() && !path.is_empty() {
            out.insert(path.clone());
            return;
        }
        for (k, c) in m {
            if k == "." {
                out.insert(path.clone());
                continue;
            }
            if let Some(e) = pe_from_string(k) {
                path.push(e);
                rec(c, path, out);
                path.pop();
            }
        }
    }
    let mut out = FieldSet::new();
    rec(v, &mut Vec::new(), &mut out);
    out
}

/// Reads `metadata.managedFields` of a stored object.
pub fn read_entries(obj: &Value) -> Vec<ManagedEntry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|e| e.as_object().is_some_and(|m| !m.is_empty()))
                .map(|e| ManagedEntry {
                    manager: e
                        .get("manager")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    operation: e
                        .get("operation")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    api_version: e
                        .get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    time: e
                        .get("time")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    subresource: e
                        .get("subresource")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .into(),
                    fields: e.get("fieldsV1").map(from_fields_v1).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes entries into `metadata.managedFields` (omitted when empty).
pub fn write_entries(obj: &mut Value, entries: &[ManagedEntry]) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if entries.is_empty() {
        meta.remove("managedFields");
        return;
    }
    let arr: Vec<Value> = entries
        .iter()
        .map(|e| {
            let mut m = json!({
                "manager": e.manager, "operation": e.operation, "apiVersion": e.api_version,
                "time": e.time, "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(&e.fields),
            });
            if !e.subresource.is_empty() {
                m["subresource"] = json!(e.subresource);
            }
            m
        })
        .collect();
    meta.insert("managedFields".into(), Value::Array(arr));
}

/// Equality of entries ignoring `time` (timestamp-only changes are not writes, §5.5).
pub fn entries_equal_ignoring_time(a: &[ManagedEntry], b: &[ManagedEntry]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.manager == y.manager
                && x.operation == y.operation
                && x.api_version == y.api_version
                && x.subresource == y.subresource
                && x.fields == y.fields
        })
}

/// Merges an applied configuration into the live object (§6.2 merge rules).
pub fn merge(live: Option<&Value>, cfg: &Value, node: &TypeNode) -> Value {
    match (live, cfg) {
        (Some(Value::Object(l)), Value::Object(c)) if !node.atomic_map => {
            let mut r = l.clone();
            for (k, cv) in c {
                if cv.is_null() {
                    r.remove(k);
                    continue;
                }
                let merged = merge(l.get(k), cv, node.child(k));
                r.insert(k.clone(), merged);
            }
            Value::Object(r)
        }
        (Some(Value::Array(l)), Value::Array(c)) => match &node.list {
            ListType::Atomic => cfg.clone(),
            ListType::Set => {
                let mut r = l.clone();
                for item in c {
                    if !r.contains(item) {
                        r.push(item.clone());
                    }
                }
                Value::Array(r)
            }
            ListType::Map(keys) => {
                let mut r = l.clone();
                for item in c {
                    let k = key_json(item, keys);
                    match r.iter().position(|x| key_json(x, keys) == k) {
                        Some(i) => {
                            let merged = merge(Some(&r[i]), item, node.item());
                            r[i] = merged;
                        }
                        None => r.push(item.clone()),
                    }
                }
                Value::Array(r)
            }
        },
        _ => cfg.clone(),
    }
}

/// Removes one path from an object; empty containers left behind are removed too
/// (built-in types serialise empty maps/lists as absent).
pub fn remove_path(obj: &mut Value, path: &[PathElement], node: &TypeNode) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (idx_or_key, child_node): (Result<usize, String>, &TypeNode) = match (first, &*obj) {
        (PathElement::Field(f), Value::Object(_)) => (Err(f.clone()), node.child(f)),
        (PathElement::Key(k), Value::Array(a)) => {
            let ListType::Map(keys) = &node.list else {
                return false;
            };
            match a.iter().position(|x| &key_json(x, keys) == k) {
                Some(i) => (Ok(i), node.item()),
                None => return false,
            }
        }
        (PathElement::Value(v), Value::Array(a)) => {
            match a.iter().position(|x| &x.to_string() == v) {
                Some(i) => (Ok(i), node.item()),
                None => return false,
            }
        }
        (PathElement::Index(i), Value::Array(a)) if *i < a.len() => (Ok(*i), node.item()),
        _ => return false,
    };
    if rest.is_empty() {
        match (&idx_or_key, obj) {
            (Err(k), Value::Object(m)) => m.remove(k).is_some(),
            (Ok(i), Value::Array(a)) => {
                a.remove(*i);
                true
            }
            _ => false,
        }
    } else {
        let child = match (&idx_or_key, &mut *obj) {
            (Err(k), Value::Object(m)) => m.get_mut(k),
            (Ok(i), Value::Array(a)) => a.get_mut(*i),
            _ => None,
        };
        let Some(child) = child else { return false };
        let r = remove_path(child, rest, child_node);
        let now_empty = match child {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            _ => false,
        };
        if r && now_empty {
            match (&idx_or_key, obj) {
                (Err(k), Value::Object(m)) if k != "metadata" => {
                    m.remove(k);
                }
                (Ok(i), Value::Array(a)) => {
                    a.remove(*i);
                }
                _ => {}
            }
        }
        r
    }
}

/// The applier's identity and options.
pub struct ApplyRequest<'a> {
    /// Field manager.
    pub manager: &'a str,
    /// `""` or `status`.
    pub subresource: &'a str,
    /// `force=true`.
    pub force: bool,
    /// Endpoint apiVersion.
    pub api_version: &'a str,
    /// Current time (RFC 3339, seconds).
    pub now: &'a str,
    /// Which fields this endpoint may own.
    pub scope: Scope,
}

/// The result of an apply: the merged object (not yet normalised or validated) and entries.
pub struct ApplyOutcome {
    /// Merged object.
    pub object: Value,
    /// New managedFields entries.
    pub entries: Vec<ManagedEntry>,
}

fn drop_out_of_scope(cfg: &mut Value, scope: Scope) {
    let Some(m) = cfg.as_object_mut() else { return };
    match scope {
        Scope::All => {}
        Scope::MainWithoutStatus => {
            m.remove("status");
        }
        Scope::StatusOnly => {
            m.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"))
        }
    }
}

/// Server-side apply of `cfg` onto `live` (∅ = create) — §6.4 APPLY steps 2–7.
pub fn apply(
    rt: &ResourceType,
    name: &str,
    live: Option<&Value>,
    mut cfg: Value,
    req: &ApplyRequest<'_>,
) -> Result<ApplyOutcome, ApiError> {
    let schema = &*rt.schema;
    drop_out_of_scope(&mut cfg, req.scope);
    if req.scope == Scope::StatusOnly
        && let Some(meta) = cfg.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.retain(|k, _| k == "name" || k == "namespace");
    }
    let new_set = field_set(&cfg, schema, req.scope);
    let mut entries = live.map(read_entries).unwrap_or_default();
    let mine = entries
        .iter()
        .position(|e| e.is(req.manager, "Apply", req.api_version, req.subresource));
    let last: FieldSet = mine.map(|i| entries[i].fields.clone()).unwrap_or_default();

    let mut live_plain = live.cloned().unwrap_or_else(|| json!({}));
    if let Some(meta) = live_plain
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
    {
        meta.remove("managedFields");
    }
    let mut merged = merge(Some(&live_plain), &cfg, schema);

    // Prune what this manager applied before and omits now, unless someone else owns it.
    for p in last.difference(&new_set) {
        let owned_elsewhere = entries
            .iter()
            .enumerate()
            .any(|(i, e)| Some(i) != mine && e.fields.iter().any(|q| q.starts_with(p)));
        if !owned_elsewhere {
            remove_path(&mut merged, p, schema);
        }
    }

    let d = diff(&live_plain, &merged, schema, req.scope);
    let changed: FieldSet = d.added.union(&d.modified).cloned().collect();
    let mut conflicts: Vec<(String, Vec<FieldPath>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        let c: Vec<FieldPath> = e.fields.intersection(&changed).cloned().collect();
        if !c.is_empty() {
            conflicts.push((e.describe(), c));
        }
    }
    if !conflicts.is_empty() && !req.force {
        conflicts.sort();
        let total: usize = conflicts.iter().map(|(_, c)| c.len()).sum();
        let mut causes = Vec::new();
        let mut msg = format!(
            "Apply failed with {total} conflict{}: ",
            if total == 1 { "" } else { "s" }
        );
        let mut parts = Vec::new();
        for (who, paths) in &conflicts {
            for p in paths {
                causes.push(Cause {
                    reason: "FieldManagerConflict".into(),
                    message: format!("conflict with {who}"),
                    field: path_string(p),
                });
            }
            if total == 1 {
                parts.push(format!("conflict with {who}: {}", path_string(&paths[0])));
            } else {
                let list: Vec<String> = paths
                    .iter()
                    .map(|p| format!("- {}", path_string(p)))
                    .collect();
                parts.push(format!("conflicts with {who}:\n{}", list.join("\n")));
            }
        }
        msg.push_str(&parts.join("\n"));
        return Err(ApiError::apply_conflict(rt, name, msg, causes));
    }
    let object_changed = live.is_none() || live_plain != merged;
    for (i, e) in entries.iter_mut().enumerate() {
        if Some(i) == mine {
            continue;
        }
        e.fields
            .retain(|p| !changed.contains(p) && !d.removed.contains(p));
    }
    let time = match mine {
        Some(i) if !object_changed => entries[i].time.clone(),
        _ => req.now.to_owned(),
    };
    let entry = ManagedEntry {
        manager: req.manager.into(),
        operation: "Apply".into(),
        api_version: req.api_version.into(),
        time,
        subresource: req.subresource.into(),
        fields: new_set,
    };
    match mine {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
    entries.retain(|e| !e.fields.is_empty());
    Ok(ApplyOutcome {
        object: merged,
        entries,
    })
}

/// Ownership after a non-apply write (§6.4 UPDATE): changed fields move to the writer.
#[allow(clippy::too_many_arguments)] // mirrors the identity tuple of a managedFields entry
pub fn update_entries(
    schema: &TypeNode,
    scope: Scope,
    mut entries: Vec<ManagedEntry>,
    old: Option<&Value>,
    new: &Value,
    manager: &str,
    subresource: &str,
    api_version: &str,
    now: &str,
) -> Vec<ManagedEntry> {
    let empty = json!({});
    let d = diff(old.unwrap_or(&empty), new, schema, scope);
    let touched: FieldSet = d
        .added
        .iter()
        .chain(&d.modified)
        .chain(&d.removed)
        .cloned()
        .collect();
    if touched.is_empty() {
        return entries;
    }
    let mine = entries
        .iter()
        .position(|e| e.is(manager, "Update", api_version, subresource));
    for (i, e) in entries.iter_mut().enumerate() {
        if Some(i) != mine {
            e.fields.retain(|p| !touched.contains(p));
        }
    }
    let mut fields = mine.map(|i| entries[i].fields.clone()).unwrap_or_default();
    fields.retain(|p| !d.removed.contains(p));
    fields.extend(d.added.iter().cloned());
    fields.extend(d.modified.iter().cloned());
    let entry = ManagedEntry {
        manager: manager.into(),
        operation: "Update".into(),
        api_version: api_version.into(),
        time: now.into(),
        subresource: subresource.into(),
        fields,
    };
    match mine {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
    entries.retain(|e| !e.fields.is_empty());
    entries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::resources::ResourceType;

    fn secret_rt() -> ResourceType {
        ResourceType::builtins()
            .into_iter()
            .find(|r| r.plural == "secrets")
            .unwrap()
    }

    #[test]
    fn fields_v1_round_trip_with_map_list() {
        let rt = secret_rt();
        let obj = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a",
            "labels": {"app": "x"}, "finalizers": ["a.io/f"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "X", "name": "o", "uid": "u1"}]},
            "data": {"k": "dg=="}, "type": "Opaque"});
        let set = field_set(&obj, &rt.schema, Scope::All);
        let v1 = to_fields_v1(&set);
        assert_eq!(
            v1["f:metadata"]["f:ownerReferences"]["k:{\"uid\":\"u1\"}"]["."],
            json!({})
        );
        assert_eq!(v1["f:metadata"]["f:finalizers"]["v:\"a.io/f\""], json!({}));
        assert_eq!(from_fields_v1(&v1), set);
        assert!(!set.contains(&vec![
            PathElement::Field("metadata".into()),
            PathElement::Field("name".into())
        ]));
    }

    #[test]
    fn custom_resource_list_types_follow_the_schema() {
        let schema = TypeNode::from_openapi(&json!({"type": "object", "properties": {
            "status": {"type": "object", "properties": {
                "conditions": {"type": "array", "items": {"type": "object"}},
                "keyed": {"type": "array", "x-kubernetes-list-type": "map",
                          "x-kubernetes-list-map-keys": ["type"], "items": {"type": "object"}}}}}}));
        let obj = json!({"status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "keyed": [{"type": "A", "v": 1}, {"type": "B", "v": 2}]}});
        let set = field_set(&obj, &schema, Scope::All);
        let f = |s: &str| PathElement::Field(s.into());
        // Atomic list (no marker): one member for the whole list.
        assert!(set.contains(&vec![f("status"), f("conditions")]));
        // Map list: one member per item key, plus the item's fields.
        let item = vec![
            f("status"),
            f("keyed"),
            PathElement::Key(r#"{"type":"A"}"#.into()),
        ];
        assert!(set.contains(&item));
        let mut child = item.clone();
        child.push(f("v"));
        assert!(set.contains(&child));
        // Merging a config that changes one keyed item leaves the other in place.
        let cfg = json!({"status": {"keyed": [{"type": "B", "v": 3}]}});
        let merged = merge(Some(&obj), &cfg, &schema);
        assert_eq!(
            merged["status"]["keyed"],
            json!([{"type": "A", "v": 1}, {"type": "B", "v": 3}])
        );
        // ...while an atomic list is replaced whole.
        let cfg = json!({"status": {"conditions": [{"type": "Synced", "status": "False"}]}});
        let merged = merge(Some(&obj), &cfg, &schema);
        assert_eq!(
            merged["status"]["conditions"],
            json!([{"type": "Synced", "status": "False"}])
        );
    }

    #[test]
    fn path_strings() {
        let p = vec![
            PathElement::Field("data".into()),
            PathElement::Field("a".into()),
        ];
        assert_eq!(path_string(&p), ".data.a");
    }
}
