//! The object store: one cluster-wide revision counter, objects per storage key, the watch
//! history ring, ownerReference index for garbage collection, and every write verb with the
//! server's metadata, precondition, no-op and finalizer rules (kube-api.md §2, §5, §7).
//!
//! All state sits behind one mutex, so a LIST's resourceVersion, a watch's history
//! snapshot and its live subscription are always consistent with each other.

use rand::Rng;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

use super::apply::{self, ApplyRequest, ManagedEntry, Scope};
use super::errors::{ApiError, required};
use super::resources::{KindClass, ResourceType};
use super::selectors::{FieldSelector, LabelSelector};
use super::validate;

/// The kind of a watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed.
    Deleted,
}

/// One persisted change, kept in the history ring and broadcast to watchers.
#[derive(Debug)]
pub struct WatchEntry {
    /// The revision of this change.
    pub rev: u64,
    /// Storage key of the resource.
    pub storage: Arc<str>,
    /// Namespace ("" for cluster-scoped).
    pub namespace: String,
    /// Event type.
    pub etype: EventType,
    /// The object to deliver (for DELETED: the last state with the deletion's RV).
    pub object: Arc<Value>,
    /// The previous state, for selector transitions.
    pub prev: Option<Arc<Value>>,
}

type ObjKey = (String, String);
type GlobalKey = (Arc<str>, String, String);

struct ListSnapshot {
    rev: u64,
    items: Vec<Arc<Value>>,
    offset: usize,
    created: Instant,
}

/// Options common to write verbs.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `fieldManager` (or the User-Agent-derived default; `None` = "unknown").
    pub manager: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `""` or `status`.
    pub subresource: String,
    /// `force=true` (apply only).
    pub force: bool,
}

impl WriteOptions {
    fn manager(&self) -> String {
        self.manager.clone().unwrap_or_else(|| "unknown".into())
    }
}

/// DeleteOptions that matter.
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `Background` (default), `Foreground` or `Orphan`.
    pub propagation: Option<String>,
    /// `preconditions.uid`.
    pub precondition_uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub precondition_rv: Option<String>,
    /// `dryRun`.
    pub dry_run: bool,
}

/// What a DELETE did.
#[derive(Debug)]
pub enum DeleteOutcome {
    /// Removed now; the Status body details.
    Removed(Value),
    /// Marked for deletion (finalizers pending); the object.
    Marked(Arc<Value>),
}

/// The result of a list.
pub struct ListResult {
    /// Matching objects.
    pub items: Vec<Arc<Value>>,
    /// The list resourceVersion.
    pub rev: u64,
    /// Continue token, if more pages remain.
    pub continue_token: Option<String>,
}

/// Where a watch starts.
pub enum WatchStart {
    /// Synthetic ADDED for current objects (matching selectors), then live events.
    Initial(Vec<Arc<Value>>, u64),
    /// Replay of history entries after the given RV, then live events.
    Replay(Vec<Arc<WatchEntry>>),
    /// The RV is older than retained history.
    TooOld {
        /// Requested RV.
        requested: u64,
        /// Oldest RV a watch may start from.
        oldest: u64,
    },
}

/// Counters and the one log of every write made by the store (for "0 writes" assertions).
#[derive(Debug, Default, Clone)]
pub struct StoreStats {
    /// Persisted writes (RV bumps).
    pub persisted_writes: u64,
    /// Writes that were no-ops.
    pub noop_writes: u64,
}

/// The in-memory cluster state.
pub struct Store {
    rev: u64,
    endpoints: BTreeMap<(String, String, String), Arc<ResourceType>>,
    storage_types: HashMap<Arc<str>, Arc<ResourceType>>,
    objects: HashMap<Arc<str>, BTreeMap<ObjKey, Arc<Value>>>,
    history: VecDeque<Arc<WatchEntry>>,
    history_cap: usize,
    compacted: u64,
    tx: broadcast::Sender<Arc<WatchEntry>>,
    uids: HashMap<String, GlobalKey>,
    dependents: HashMap<String, BTreeSet<GlobalKey>>,
    continues: HashMap<String, ListSnapshot>,
    gc_queue: Vec<String>,
    terminating: BTreeSet<String>,
    stats: StoreStats,
}

/// RFC 3339 with second precision, as `metav1.Time` serialises.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn random_suffix(n: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

fn new_uid() -> String {
    let bytes: [u8; 16] = rand::thread_rng().r#gen();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn meta(obj: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
    obj.get("metadata")
        .and_then(Value::as_object)
        .unwrap_or(&EMPTY)
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = Value::Object(Map::new());
    }
    obj["metadata"].as_object_mut().expect("just ensured")
}

fn meta_str(obj: &Value, field: &str) -> Option<String> {
    meta(obj)
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn owner_uids(obj: &Value) -> Vec<String> {
    meta(obj)
        .get("ownerReferences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .get("finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn set_finalizers(obj: &mut Value, list: &[String]) {
    let m = meta_mut(obj);
    if list.is_empty() {
        m.remove("finalizers");
    } else {
        m.insert("finalizers".into(), json!(list));
    }
}

/// Object content compared for no-op detection and generation: without RV and managedFields.
fn comparable(obj: &Value) -> Value {
    let mut c = obj.clone();
    if let Some(m) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
        m.remove("managedFields");
    }
    c
}

/// The part of an object whose change bumps `generation` (§2.1).
fn spec_part(obj: &Value, status_subresource: bool) -> Value {
    let mut c = obj.clone();
    if let Some(m) = c.as_object_mut() {
        m.remove("metadata");
        if status_subresource {
            m.remove("status");
        }
    }
    c
}

fn scope_for(rt: &ResourceType, sub: &str) -> Scope {
    if sub == "status" {
        Scope::StatusOnly
    } else if rt.status_subresource {
        Scope::MainWithoutStatus
    } else {
        Scope::All
    }
}

impl Store {
    /// A store with the built-in kinds, namespaces `default`, `kube-system`, `kube-public`,
    /// `kube-node-lease`, and a history ring of `history_cap` entries.
    pub fn new(history_cap: usize) -> Self {
        let (tx, _) = broadcast::channel(65_536);
        let mut s = Store {
            rev: 1000,
            endpoints: BTreeMap::new(),
            storage_types: HashMap::new(),
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_cap: history_cap.max(1),
            compacted: 1000,
            tx,
            uids: HashMap::new(),
            dependents: HashMap::new(),
            continues: HashMap::new(),
            gc_queue: Vec::new(),
            terminating: BTreeSet::new(),
            stats: StoreStats::default(),
        };
        for rt in ResourceType::builtins() {
            s.register(rt);
        }
        let ns_rt = s.endpoint("", "v1", "namespaces").expect("builtin");
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            s.create(
                &ns_rt,
                None,
                json!({"metadata": {"name": ns}}),
                &WriteOptions::default(),
            )
            .expect("bootstrap namespace");
        }
        s
    }

    /// Registers (or replaces) a served resource type.
    pub fn register(&mut self, rt: ResourceType) {
        let rt = Arc::new(rt);
        if rt.class != KindClass::CoreEvent {
            self.storage_types.insert(rt.storage.clone(), rt.clone());
        }
        self.objects.entry(rt.storage.clone()).or_default();
        self.endpoints.insert(
            (rt.group.clone(), rt.version.clone(), rt.plural.clone()),
            rt,
        );
    }

    /// Looks up a served endpoint.
    pub fn endpoint(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.endpoints
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
            .cloned()
    }

    /// All served endpoints (discovery).
    pub fn endpoints(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.endpoints.values()
    }

    /// The canonical type of a storage key.
    pub fn storage_type(&self, storage: &str) -> Option<Arc<ResourceType>> {
        self.storage_types.get(storage).cloned()
    }

    /// Current cluster revision.
    pub fn revision(&self) -> u64 {
        self.rev
    }

    /// Counters.
    pub fn stats(&self) -> StoreStats {
        self.stats.clone()
    }

    /// Subscribes to live changes (call under the same lock as a snapshot).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEntry>> {
        self.tx.subscribe()
    }

    /// Forgets the watch history: every watch from an older RV now gets 410.
    pub fn compact_history(&mut self) {
        self.history.clear();
        self.compacted = self.rev;
    }

    /// Takes the garbage collector's pending owner uids.
    pub fn take_gc_queue(&mut self) -> Vec<String> {
        std::mem::take(&mut self.gc_queue)
    }

    /// Number of stored objects of a storage key.
    pub fn count(&self, storage: &str) -> usize {
        self.objects.get(storage).map(BTreeMap::len).unwrap_or(0)
    }

    fn key(rt: &ResourceType, ns: Option<&str>, name: &str) -> ObjKey {
        (
            if rt.namespaced {
                ns.unwrap_or_default().to_owned()
            } else {
                String::new()
            },
            name.to_owned(),
        )
    }

    /// GET.
    pub fn get(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        self.objects
            .get(&rt.storage)
            .and_then(|m| m.get(&Self::key(rt, ns, name)))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    fn get_opt(&self, rt: &ResourceType, ns: Option<&str>, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(&rt.storage)
            .and_then(|m| m.get(&Self::key(rt, ns, name)))
            .cloned()
    }

    /// Resolves a field-selector field on a stored object.
    pub fn field_value(rt: &ResourceType, obj: &Value, field: &str) -> Option<String> {
        let ptr = match (rt.class, field) {
            (_, "metadata.name") => "/metadata/name".to_owned(),
            (_, "metadata.namespace") => "/metadata/namespace".to_owned(),
            (KindClass::CoreEvent, f) if f.starts_with("involvedObject.") => {
                format!("/regarding/{}", &f["involvedObject.".len()..])
            }
            (KindClass::CoreEvent, "reportingComponent") => "/reportingController".to_owned(),
            (KindClass::CoreEvent, "source") => "/deprecatedSource/component".to_owned(),
            (_, f) => format!("/{}", f.replace('.', "/")),
        };
        obj.pointer(&ptr).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// Checks that a field selector only names supported fields (400 otherwise).
    pub fn check_field_selector(rt: &ResourceType, sel: &FieldSelector) -> Result<(), ApiError> {
        for r in &sel.requirements {
            if !rt.supports_field(&r.field) {
                return Err(ApiError::bad_request(format!(
                    "field label not supported: {}",
                    r.field
                )));
            }
        }
        Ok(())
    }

    /// Whether an object matches the selectors.
    pub fn matches(
        rt: &ResourceType,
        obj: &Value,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> bool {
        labels.matches_object(obj) && fields.matches_with(|f| Self::field_value(rt, obj, f))
    }

    /// LIST with optional namespace, selectors and paging.
    pub fn list(
        &mut self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        limit: Option<usize>,
        continue_token: Option<&str>,
    ) -> Result<ListResult, ApiError> {
        let limit = limit.filter(|l| *l > 0);
        if let Some(token) = continue_token.filter(|t| !t.is_empty()) {
            let snap = self.continues.remove(token).ok_or_else(|| {
                ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
            })?;
            return Ok(self.page(snap, limit));
        }
        let items: Vec<Arc<Value>> = match self.objects.get(&rt.storage) {
            None => vec![],
            Some(m) => {
                let iter: Box<dyn Iterator<Item = (&ObjKey, &Arc<Value>)>> =
                    match ns.filter(|_| rt.namespaced) {
                        Some(ns) => Box::new(
                            m.range((ns.to_owned(), String::new())..)
                                .take_while(move |((n, _), _)| n == ns),
                        ),
                        None => Box::new(m.iter()),
                    };
                iter.filter(|(_, o)| Self::matches(rt, o, labels, fields))
                    .map(|(_, o)| o.clone())
                    .collect()
            }
        };
        let snap = ListSnapshot {
            rev: self.rev,
            items,
            offset: 0,
            created: Instant::now(),
        };
        Ok(self.page(snap, limit))
    }

    fn page(&mut self, mut snap: ListSnapshot, limit: Option<usize>) -> ListResult {
        let rev = snap.rev;
        let remaining = snap.items.len() - snap.offset;
        match limit {
            Some(l) if remaining > l => {
                let items = snap.items[snap.offset..snap.offset + l].to_vec();
                snap.offset += l;
                let token = format!("c{}-{}", rev, random_suffix(12));
                self.continues
                    .retain(|_, s| s.created.elapsed() < Duration::from_secs(300));
                self.continues.insert(token.clone(), snap);
                ListResult {
                    items,
                    rev,
                    continue_token: Some(token),
                }
            }
            _ => {
                let items = if snap.offset == 0 {
                    snap.items
                } else {
                    snap.items[snap.offset..].to_vec()
                };
                ListResult {
                    items,
                    rev,
                    continue_token: None,
                }
            }
        }
    }

    /// Where a watch from `rv` starts; `None` = from "now" with synthetic ADDED events.
    pub fn watch_start(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        rv: Option<u64>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> WatchStart {
        match rv {
            None | Some(0) => {
                let items = self
                    .objects
                    .get(&rt.storage)
                    .map(|m| {
                        m.iter()
                            .filter(|((n, _), _)| ns.is_none_or(|ns| !rt.namespaced || n == ns))
                            .filter(|(_, o)| Self::matches(rt, o, labels, fields))
                            .map(|(_, o)| o.clone())
                            .collect()
                    })
                    .unwrap_or_default();
                WatchStart::Initial(items, self.rev)
            }
            Some(n) if n < self.compacted => WatchStart::TooOld {
                requested: n,
                oldest: self.compacted,
            },
            Some(n) => {
                let start = self.history.partition_point(|e| e.rev <= n);
                WatchStart::Replay(
                    self.history
                        .range(start..)
                        .filter(|e| e.storage == rt.storage)
                        .cloned()
                        .collect(),
                )
            }
        }
    }

    fn namespace_check(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<(), ApiError> {
        if !rt.namespaced {
            return Ok(());
        }
        let ns_obj = self
            .objects
            .get("/namespaces")
            .and_then(|m| m.get(&(String::new(), ns.to_owned())))
            .ok_or_else(|| ApiError::namespace_not_found(ns))?;
        if ns_obj.pointer("/metadata/deletionTimestamp").is_some() {
            return Err(ApiError::namespace_terminating(rt, name, ns));
        }
        Ok(())
    }

    fn check_kind(rt: &ResourceType, body: &Value, strict: bool) -> Result<(), ApiError> {
        let av = body.get("apiVersion").and_then(Value::as_str);
        let kind = body.get("kind").and_then(Value::as_str);
        if strict || av.is_some() || kind.is_some() {
            if kind.is_some_and(|k| k != rt.kind) || (strict && kind.is_none()) {
                return Err(ApiError::bad_request(format!(
                    "invalid object type: {}, Kind={}",
                    av.unwrap_or_default(),
                    kind.unwrap_or_default()
                )));
            }
            if av.is_some_and(|a| a != rt.api_version()) || (strict && av.is_none()) {
                return Err(ApiError::bad_request(format!(
                    "Incorrect version specified in apply patch. Specified patch version: {}, expected: {}",
                    av.unwrap_or_default(),
                    rt.api_version()
                )));
            }
        }
        Ok(())
    }

    fn resolve_namespace(
        rt: &ResourceType,
        url_ns: Option<&str>,
        body: &mut Value,
    ) -> Result<String, ApiError> {
        let body_ns = meta_str(body, "namespace").filter(|s| !s.is_empty());
        if !rt.namespaced {
            meta_mut(body).remove("namespace");
            return Ok(String::new());
        }
        let url_ns = url_ns.unwrap_or_default();
        if let Some(b) = &body_ns
            && b != url_ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        meta_mut(body).insert("namespace".into(), json!(url_ns));
        Ok(url_ns.to_owned())
    }

    /// POST.
    pub fn create(
        &mut self,
        rt: &ResourceType,
        url_ns: Option<&str>,
        mut body: Value,
        opts: &WriteOptions,
    ) -> Result<Arc<Value>, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        Self::check_kind(rt, &body, false)?;
        let ns = Self::resolve_namespace(rt, url_ns, &mut body)?;
        let mut name = meta_str(&body, "name").unwrap_or_default();
        if name.is_empty() {
            match meta_str(&body, "generateName").filter(|g| !g.is_empty()) {
                Some(prefix) => {
                    name = format!("{prefix}{}", random_suffix(5));
                    meta_mut(&mut body).insert("name".into(), json!(name));
                }
                None => {
                    let mut c = required("metadata.name");
                    c.message = "Required value: name or generateName is required".into();
                    return Err(ApiError::invalid(rt, "", vec![c]));
                }
            }
        }
        if meta(&body)
            .get("resourceVersion")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
        {
            return Err(ApiError::rv_on_create());
        }
        let causes = validate::name_causes(rt, &name);
        if !causes.is_empty() {
            return Err(ApiError::invalid(rt, &name, causes));
        }
        self.namespace_check(rt, &ns, &name)?;
        if self.get_opt(rt, Some(&ns), &name).is_some() {
            return Err(ApiError::already_exists(rt, &name));
        }
        if rt.status_subresource && rt.class == KindClass::Custom {
            body.as_object_mut().expect("object").remove("status");
        }
        self.stamp_new(rt, &mut body);
        let now = now_rfc3339();
        let entries = apply::update_entries(
            &rt.schema,
            scope_for(rt, ""),
            vec![],
            None,
            &body,
            &opts.manager(),
            "",
            &rt.api_version(),
            &now,
        );
        validate::normalize_and_validate(rt, &name, None, &mut body)?;
        apply::write_entries(&mut body, &entries);
        if opts.dry_run {
            return Ok(Arc::new(body));
        }
        Ok(self.commit_put(rt, &ns, &name, body, None))
    }

    fn stamp_new(&self, rt: &ResourceType, body: &mut Value) {
        let obj = body.as_object_mut().expect("object");
        obj.insert("apiVersion".into(), json!(rt.api_version()));
        obj.insert("kind".into(), json!(rt.kind));
        let m = meta_mut(body);
        m.insert("uid".into(), json!(new_uid()));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        for f in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "resourceVersion",
            "generation",
            "selfLink",
            "managedFields",
        ] {
            m.remove(f);
        }
        if rt.has_generation() {
            m.insert("generation".into(), json!(1));
        }
    }

    /// Copies server-owned metadata from the live object onto `new`.
    fn keep_server_fields(live: &Value, new: &mut Value) {
        for f in ["apiVersion", "kind"] {
            if let Some(v) = live.get(f) {
                new[f] = v.clone();
            }
        }
        let lm = meta(live).clone();
        let nm = meta_mut(new);
        for f in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "name",
            "namespace",
        ] {
            match lm.get(f) {
                Some(v) => {
                    nm.insert(f.into(), v.clone());
                }
                None => {
                    nm.remove(f);
                }
            }
        }
        nm.remove("resourceVersion");
        nm.remove("selfLink");
    }

    fn check_name(name: &str, body: &Value) -> Result<(), ApiError> {
        if let Some(n) = meta_str(body, "name").filter(|n| !n.is_empty())
            && n != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        Ok(())
    }

    fn entries_from_body(live: &Value, body: &Value) -> Vec<ManagedEntry> {
        match meta(body).get("managedFields").and_then(Value::as_array) {
            Some(a)
                if !a.is_empty() && a.iter().all(|e| e.as_object().is_some_and(Map::is_empty)) =>
            {
                vec![]
            }
            Some(a) if !a.is_empty() => apply::read_entries(body),
            _ => apply::read_entries(live),
        }
    }

    /// PUT (main resource or `/status`).
    pub fn update(
        &mut self,
        rt: &ResourceType,
        url_ns: Option<&str>,
        name: &str,
        mut body: Value,
        opts: &WriteOptions,
    ) -> Result<Arc<Value>, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        Self::check_kind(rt, &body, false)?;
        Self::check_name(name, &body)?;
        Self::resolve_namespace(rt, url_ns, &mut body)?;
        let live = self.get(rt, url_ns, name)?;
        match meta_str(&body, "resourceVersion").filter(|s| !s.is_empty()) {
            Some(rv) if Some(&rv) != meta_str(&live, "resourceVersion").as_ref() => {
                return Err(ApiError::conflict(rt, name));
            }
            None if rt.requires_rv_on_update()
                || opts.subresource == "status" && rt.class == KindClass::Custom =>
            {
                return Err(ApiError::invalid_resource(
                    rt,
                    name,
                    "metadata.resourceVersion",
                    "Invalid value: 0: must be specified for an update",
                ));
            }
            _ => {}
        }
        let entries = if opts.subresource == "status" {
            apply::read_entries(&live)
        } else {
            Self::entries_from_body(&live, &body)
        };
        let new = self.with_reset_fields(rt, &live, body, &opts.subresource);
        self.finish_update(rt, live, new, entries, opts)
    }

    /// Applies the status/main isolation rules to a candidate object.
    fn with_reset_fields(
        &self,
        rt: &ResourceType,
        live: &Value,
        candidate: Value,
        sub: &str,
    ) -> Value {
        if sub == "status" {
            let mut new = live.clone();
            match candidate.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    new.as_object_mut().expect("object").remove("status");
                }
            }
            new
        } else {
            let mut new = candidate;
            if rt.status_subresource {
                match live.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().expect("object").remove("status");
                    }
                }
            }
            new
        }
    }

    fn finish_update(
        &mut self,
        rt: &ResourceType,
        live: Arc<Value>,
        mut new: Value,
        entries: Vec<ManagedEntry>,
        opts: &WriteOptions,
    ) -> Result<Arc<Value>, ApiError> {
        Self::keep_server_fields(&live, &mut new);
        let now = now_rfc3339();
        let entries = apply::update_entries(
            &rt.schema,
            scope_for(rt, &opts.subresource),
            entries,
            Some(&live),
            &new,
            &opts.manager(),
            &opts.subresource,
            &rt.api_version(),
            &now,
        );
        let name = meta_str(&live, "name").unwrap_or_default();
        validate::normalize_and_validate(rt, &name, Some(&live), &mut new)?;
        self.finalize_write(rt, Some(live), new, entries, opts.dry_run)
            .map(|(o, _)| o)
    }

    /// Generation bump, no-op detection, finalizer-triggered removal and commit.
    fn finalize_write(
        &mut self,
        rt: &ResourceType,
        live: Option<Arc<Value>>,
        mut new: Value,
        entries: Vec<ManagedEntry>,
        dry_run: bool,
    ) -> Result<(Arc<Value>, bool), ApiError> {
        let ns = meta_str(&new, "namespace").unwrap_or_default();
        let name = meta_str(&new, "name").unwrap_or_default();
        let Some(live) = live else {
            apply::write_entries(&mut new, &entries);
            if dry_run {
                return Ok((Arc::new(new), true));
            }
            return Ok((self.commit_put(rt, &ns, &name, new, None), true));
        };
        if rt.has_generation()
            && spec_part(&live, rt.status_subresource) != spec_part(&new, rt.status_subresource)
        {
            let g = meta(&live)
                .get("generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            meta_mut(&mut new).insert("generation".into(), json!(g + 1));
        }
        let old_entries = apply::read_entries(&live);
        let unchanged_entries = apply::entries_equal_ignoring_time(&old_entries, &entries);
        apply::write_entries(
            &mut new,
            if unchanged_entries {
                &old_entries
            } else {
                &entries
            },
        );
        if unchanged_entries && comparable(&live) == comparable(&new) {
            self.stats.noop_writes += 1;
            return Ok((live, false));
        }
        if dry_run {
            let mut out = new;
            if let Some(rv) = meta(&live).get("resourceVersion").cloned() {
                meta_mut(&mut out).insert("resourceVersion".into(), rv);
            }
            return Ok((Arc::new(out), false));
        }
        if meta(&new).contains_key("deletionTimestamp") && finalizers(&new).is_empty() {
            let removed = self.commit_remove(rt, &ns, &name, new, &live);
            return Ok((removed, false));
        }
        Ok((self.commit_put(rt, &ns, &name, new, Some(live)), false))
    }

    /// PATCH (json, merge, strategic; apply goes to [`Store::apply`]).
    pub fn patch(
        &mut self,
        rt: &ResourceType,
        url_ns: Option<&str>,
        name: &str,
        kind: super::patch::PatchKind,
        patch_body: &Value,
        opts: &WriteOptions,
    ) -> Result<Arc<Value>, ApiError> {
        use super::patch::{PatchKind, json_patch, merge_patch, strategic_merge_patch};
        let live = self.get(rt, url_ns, name)?;
        let mut candidate = (*live).clone();
        let core_view = rt.class == KindClass::CoreEvent;
        if core_view {
            super::view::stored_event_to_core(&mut candidate);
        }
        match kind {
            PatchKind::Json => json_patch(&mut candidate, patch_body)?,
            PatchKind::Merge => merge_patch(&mut candidate, patch_body),
            PatchKind::Strategic => {
                if rt.class == KindClass::Custom || rt.class == KindClass::Crd {
                    return Err(ApiError::unsupported_media_type(
                        "application/strategic-merge-patch+json",
                    ));
                }
                strategic_merge_patch(&mut candidate, patch_body)?
            }
            PatchKind::Apply => unreachable!("apply is routed to Store::apply"),
        }
        if !candidate.is_object() {
            return Err(ApiError::bad_request(
                "the patch produced a non-object document",
            ));
        }
        Self::check_name(name, &candidate)?;
        if meta_str(&candidate, "resourceVersion") != meta_str(&live, "resourceVersion")
            && meta_str(&candidate, "resourceVersion").is_some_and(|s| !s.is_empty())
        {
            return Err(ApiError::conflict(rt, name));
        }
        let entries = if opts.subresource == "status"
            || meta(&candidate).get("managedFields") == meta(&live).get("managedFields")
        {
            apply::read_entries(&live)
        } else {
            Self::entries_from_body(&live, &candidate)
        };
        let new = self.with_reset_fields(rt, &live, candidate, &opts.subresource);
        self.finish_update(rt, live, new, entries, opts)
    }

    /// Server-side apply; returns the object and whether it was created.
    pub fn apply(
        &mut self,
        rt: &ResourceType,
        url_ns: Option<&str>,
        name: &str,
        mut cfg: Value,
        opts: &WriteOptions,
    ) -> Result<(Arc<Value>, bool), ApiError> {
        let Some(manager) = opts.manager.clone().filter(|m| !m.is_empty()) else {
            return Err(ApiError {
                code: 422,
                reason: "Invalid".into(),
                message: "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into(),
                details: Some(Box::new(json!({"group": "meta.k8s.io", "kind": "PatchOptions",
                    "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]}))),
            });
        };
        if !cfg.is_object() {
            return Err(ApiError::bad_request(
                "the apply configuration must be an object",
            ));
        }
        Self::check_kind(rt, &cfg, true)?;
        if meta(&cfg).contains_key("managedFields") {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        Self::check_name(name, &cfg)?;
        let ns = Self::resolve_namespace(rt, url_ns, &mut cfg)?;
        meta_mut(&mut cfg).insert("name".into(), json!(name));
        let live = self.get_opt(rt, Some(&ns), name);
        if let Some(rv) = meta_str(&cfg, "resourceVersion").filter(|s| !s.is_empty()) {
            match &live {
                Some(l) if meta_str(l, "resourceVersion").as_deref() == Some(rv.as_str()) => {}
                Some(_) => return Err(ApiError::conflict(rt, name)),
                None => return Err(ApiError::not_found(rt, name)),
            }
        }
        meta_mut(&mut cfg).remove("resourceVersion");
        if live.is_none() {
            if opts.subresource == "status" {
                return Err(ApiError::not_found(rt, name));
            }
            let causes = validate::name_causes(rt, name);
            if !causes.is_empty() {
                return Err(ApiError::invalid(rt, name, causes));
            }
            self.namespace_check(rt, &ns, name)?;
        }
        let now = now_rfc3339();
        let api_version = rt.api_version();
        let req = ApplyRequest {
            manager: &manager,
            subresource: &opts.subresource,
            force: opts.force,
            api_version: &api_version,
            now: &now,
            scope: scope_for(rt, &opts.subresource),
        };
        let outcome = apply::apply(rt, name, live.as_deref(), cfg, &req)?;
        let mut new = outcome.object;
        match &live {
            Some(l) => {
                Self::keep_server_fields(l, &mut new);
                new = self.with_reset_fields(rt, l, new, &opts.subresource);
            }
            None => {
                if rt.status_subresource && rt.class == KindClass::Custom {
                    new.as_object_mut().expect("object").remove("status");
                }
                self.stamp_new(rt, &mut new);
                meta_mut(&mut new).insert("name".into(), json!(name));
                if rt.namespaced {
                    meta_mut(&mut new).insert("namespace".into(), json!(ns));
                }
            }
        }
        validate::normalize_and_validate(rt, name, live.as_deref(), &mut new)?;
        self.finalize_write(rt, live, new, outcome.entries, opts.dry_run)
    }

    /// DELETE.
    pub fn delete(
        &mut self,
        rt: &ResourceType,
        url_ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteOutcome, ApiError> {
        let live = self.get(rt, url_ns, name)?;
        let uid = meta_str(&live, "uid").unwrap_or_default();
        if let Some(p) = &opts.precondition_uid
            && p != &uid
        {
            return Err(ApiError::conflict_msg(
                rt,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {p}, UID in object meta: {uid}"
                ),
            ));
        }
        if let Some(p) = &opts.precondition_rv
            && Some(p) != meta_str(&live, "resourceVersion").as_ref()
        {
            return Err(ApiError::conflict_msg(
                rt,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {p}, ResourceVersion in object meta: {}",
                    meta_str(&live, "resourceVersion").unwrap_or_default()
                ),
            ));
        }
        if rt.class == KindClass::Namespace {
            return Ok(self.terminate_namespace(rt, live, opts.dry_run));
        }
        let mut fins = finalizers(&live);
        match opts.propagation.as_deref() {
            Some("Orphan") if !fins.iter().any(|f| f == "orphan") => fins.push("orphan".into()),
            Some("Foreground") if !fins.iter().any(|f| f == "foregroundDeletion") => {
                fins.push("foregroundDeletion".into())
            }
            None | Some("Background" | "Orphan" | "Foreground") => {}
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: \"{other}\""
                )));
            }
        }
        let ns = meta_str(&live, "namespace").unwrap_or_default();
        if fins.is_empty() {
            let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": rt.group, "kind": rt.plural, "uid": uid}});
            if !opts.dry_run {
                let last = (*live).clone();
                self.commit_remove(rt, &ns, name, last, &live);
            }
            return Ok(DeleteOutcome::Removed(status));
        }
        let already = meta(&live).contains_key("deletionTimestamp");
        if already && fins == finalizers(&live) {
            return Ok(DeleteOutcome::Marked(live));
        }
        let mut new = (*live).clone();
        set_finalizers(&mut new, &fins);
        if !already {
            let m = meta_mut(&mut new);
            m.insert("deletionTimestamp".into(), json!(now_rfc3339()));
            m.insert("deletionGracePeriodSeconds".into(), json!(0));
            if let Some(g) = m
                .get("generation")
                .and_then(Value::as_i64)
                .filter(|g| *g > 0)
            {
                m.insert("generation".into(), json!(g + 1));
            }
        }
        if opts.dry_run {
            return Ok(DeleteOutcome::Marked(Arc::new(new)));
        }
        meta_mut(&mut new).remove("resourceVersion");
        let obj = self.commit_put(rt, &ns, name, new, Some(live));
        if fins
            .iter()
            .any(|f| f == "orphan" || f == "foregroundDeletion")
        {
            self.gc_queue.push(uid);
        }
        Ok(DeleteOutcome::Marked(obj))
    }

    fn index_owners(&mut self, key: &GlobalKey, prev: Option<&Value>, new: Option<&Value>) {
        if let Some(p) = prev {
            for u in owner_uids(p) {
                if let Some(set) = self.dependents.get_mut(&u) {
                    set.remove(key);
                    if set.is_empty() {
                        self.dependents.remove(&u);
                    }
                }
            }
        }
        if let Some(n) = new {
            for u in owner_uids(n) {
                self.dependents.entry(u).or_default().insert(key.clone());
            }
        }
    }

    fn push_history(&mut self, entry: WatchEntry) {
        let entry = Arc::new(entry);
        self.history.push_back(entry.clone());
        while self.history.len() > self.history_cap {
            if let Some(e) = self.history.pop_front() {
                self.compacted = e.rev;
            }
        }
        let _ = self.tx.send(entry);
    }

    fn commit_put(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
        prev: Option<Arc<Value>>,
    ) -> Arc<Value> {
        self.rev += 1;
        self.stats.persisted_writes += 1;
        meta_mut(&mut obj).insert("resourceVersion".into(), json!(self.rev.to_string()));
        let obj = Arc::new(obj);
        let gkey: GlobalKey = (rt.storage.clone(), ns.to_owned(), name.to_owned());
        self.index_owners(&gkey, prev.as_deref(), Some(&obj));
        if let Some(uid) = meta_str(&obj, "uid") {
            self.uids.insert(uid, gkey);
        }
        self.objects
            .entry(rt.storage.clone())
            .or_default()
            .insert((ns.to_owned(), name.to_owned()), obj.clone());
        let etype = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.push_history(WatchEntry {
            rev: self.rev,
            storage: rt.storage.clone(),
            namespace: ns.to_owned(),
            etype,
            object: obj.clone(),
            prev,
        });
        obj
    }

    fn commit_remove(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut last: Value,
        live: &Arc<Value>,
    ) -> Arc<Value> {
        self.rev += 1;
        self.stats.persisted_writes += 1;
        meta_mut(&mut last).insert("resourceVersion".into(), json!(self.rev.to_string()));
        let last = Arc::new(last);
        let gkey: GlobalKey = (rt.storage.clone(), ns.to_owned(), name.to_owned());
        self.index_owners(&gkey, Some(live), None);
        if let Some(m) = self.objects.get_mut(&rt.storage) {
            m.remove(&(ns.to_owned(), name.to_owned()));
        }
        if let Some(uid) = meta_str(live, "uid") {
            self.uids.remove(&uid);
            self.gc_queue.push(uid);
        }
        // A dependent leaving may unblock an owner in foreground deletion.
        for u in owner_uids(live) {
            self.gc_queue.push(u);
        }
        self.push_history(WatchEntry {
            rev: self.rev,
            storage: rt.storage.clone(),
            namespace: ns.to_owned(),
            etype: EventType::Deleted,
            object: last.clone(),
            prev: Some(live.clone()),
        });
        last
    }

    fn owner_alive(&self, uid: &str, dependent_ns: &str) -> bool {
        match self.uids.get(uid) {
            None => false,
            Some((_, owner_ns, _)) => owner_ns.is_empty() || owner_ns == dependent_ns,
        }
    }

    fn internal_update(&mut self, key: &GlobalKey, edit: impl FnOnce(&mut Value)) {
        let Some(rt) = self.storage_type(&key.0) else {
            return;
        };
        let Some(live) = self
            .objects
            .get(&key.0)
            .and_then(|m| m.get(&(key.1.clone(), key.2.clone())))
            .cloned()
        else {
            return;
        };
        let mut new = (*live).clone();
        edit(&mut new);
        let opts = WriteOptions {
            manager: Some("generic-garbage-collector".into()),
            ..WriteOptions::default()
        };
        let entries = apply::read_entries(&live);
        let _ = self.finish_update(&rt, live, new, entries, &opts);
    }

    /// DELETE of a Namespace: phase `Terminating` + deletionTimestamp now (MODIFIED); the
    /// namespace controller's work (delete every object inside, then the namespace) runs in
    /// the background pass.
    fn terminate_namespace(
        &mut self,
        rt: &ResourceType,
        live: Arc<Value>,
        dry_run: bool,
    ) -> DeleteOutcome {
        if meta(&live).contains_key("deletionTimestamp") {
            return DeleteOutcome::Marked(live);
        }
        let mut new = (*live).clone();
        meta_mut(&mut new).insert("deletionTimestamp".into(), json!(now_rfc3339()));
        meta_mut(&mut new).insert("deletionGracePeriodSeconds".into(), json!(0));
        meta_mut(&mut new).remove("resourceVersion");
        new["status"] = json!({"phase": "Terminating"});
        if dry_run {
            return DeleteOutcome::Marked(Arc::new(new));
        }
        let name = meta_str(&live, "name").unwrap_or_default();
        let obj = self.commit_put(rt, "", &name, new, Some(live));
        self.terminating.insert(name);
        DeleteOutcome::Marked(obj)
    }

    fn sweep_namespaces(&mut self) {
        for ns in self.terminating.clone() {
            let mut remaining = 0;
            let storages: Vec<Arc<ResourceType>> = self
                .storage_types
                .values()
                .filter(|t| t.namespaced)
                .cloned()
                .collect();
            for rt in storages {
                let names: Vec<(String, bool)> = self
                    .objects
                    .get(&rt.storage)
                    .map(|m| {
                        m.range((ns.clone(), String::new())..)
                            .take_while(|((n, _), _)| n == &ns)
                            .map(|((_, name), o)| {
                                (name.clone(), meta(o).contains_key("deletionTimestamp"))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                for (name, deleting) in names {
                    if !deleting {
                        let _ = self.delete(&rt, Some(&ns), &name, &DeleteOptions::default());
                    }
                }
                remaining += self.objects.get(&rt.storage).map_or(0, |m| {
                    m.range((ns.clone(), String::new())..)
                        .take_while(|((n, _), _)| n == &ns)
                        .count()
                });
            }
            if remaining == 0 {
                self.terminating.remove(&ns);
                let ns_rt = self.storage_type("/namespaces").expect("builtin");
                if let Some(live) = self.get_opt(&ns_rt, None, &ns) {
                    let last = (*live).clone();
                    self.commit_remove(&ns_rt, "", &ns, last, &live);
                }
            }
        }
    }

    /// One garbage-collector pass over the queued owner uids (kube-controller-manager's job;
    /// the double runs it in a background task so deletions of dependents are asynchronous,
    /// as on a real cluster). Returns whether anything was queued.
    pub fn run_gc(&mut self) -> bool {
        let mut worked = false;
        let mut guard = 0;
        while !self.gc_queue.is_empty() && guard < 100_000 {
            guard += 1;
            worked = true;
            let queue = std::mem::take(&mut self.gc_queue);
            for uid in queue {
                self.gc_owner(&uid);
            }
        }
        if !self.terminating.is_empty() {
            self.sweep_namespaces();
            worked = true;
            while !self.gc_queue.is_empty() && guard < 200_000 {
                guard += 1;
                let queue = std::mem::take(&mut self.gc_queue);
                for uid in queue {
                    self.gc_owner(&uid);
                }
            }
        }
        worked
    }

    fn gc_owner(&mut self, uid: &str) {
        let deps: Vec<GlobalKey> = self
            .dependents
            .get(uid)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        let owner = self.uids.get(uid).cloned();
        let owner_obj = owner.as_ref().and_then(|(s, ns, n)| {
            self.objects
                .get(s)
                .and_then(|m| m.get(&(ns.clone(), n.clone())))
                .cloned()
        });
        match owner_obj {
            Some(o) if meta(&o).contains_key("deletionTimestamp") => {
                let fins = finalizers(&o);
                let okey = owner.expect("owner exists");
                if fins.iter().any(|f| f == "orphan") {
                    for d in &deps {
                        let uid = uid.to_owned();
                        self.internal_update(d, move |obj| {
                            if let Some(refs) = obj
                                .pointer_mut("/metadata/ownerReferences")
                                .and_then(Value::as_array_mut)
                            {
                                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(&uid));
                                if refs.is_empty() {
                                    meta_mut(obj).remove("ownerReferences");
                                }
                            }
                        });
                    }
                    self.internal_update(&okey, |obj| {
                        let f: Vec<String> = finalizers(obj)
                            .into_iter()
                            .filter(|f| f != "orphan")
                            .collect();
                        set_finalizers(obj, &f);
                    });
                } else if fins.iter().any(|f| f == "foregroundDeletion") {
                    if deps.is_empty() {
                        self.internal_update(&okey, |obj| {
                            let f: Vec<String> = finalizers(obj)
                                .into_iter()
                                .filter(|f| f != "foregroundDeletion")
                                .collect();
                            set_finalizers(obj, &f);
                        });
                    } else {
                        for d in &deps {
                            self.gc_delete(d, Some("Foreground"));
                        }
                    }
                }
            }
            Some(_) => {}
            None => {
                for d in deps {
                    let Some(obj) = self
                        .objects
                        .get(&d.0)
                        .and_then(|m| m.get(&(d.1.clone(), d.2.clone())))
                        .cloned()
                    else {
                        continue;
                    };
                    let alive: Vec<String> = owner_uids(&obj)
                        .into_iter()
                        .filter(|u| self.owner_alive(u, &d.1))
                        .collect();
                    if alive.is_empty() {
                        self.gc_delete(&d, None);
                    } else {
                        self.internal_update(&d, move |o| {
                            if let Some(refs) = o
                                .pointer_mut("/metadata/ownerReferences")
                                .and_then(Value::as_array_mut)
                            {
                                refs.retain(|r| {
                                    r.get("uid")
                                        .and_then(Value::as_str)
                                        .is_some_and(|u| alive.iter().any(|a| a == u))
                                });
                            }
                        });
                    }
                }
            }
        }
    }

    fn gc_delete(&mut self, key: &GlobalKey, policy: Option<&str>) {
        let Some(rt) = self.storage_type(&key.0) else {
            return;
        };
        let ns = if key.1.is_empty() {
            None
        } else {
            Some(key.1.as_str())
        };
        let opts = DeleteOptions {
            propagation: policy.map(str::to_owned),
            ..DeleteOptions::default()
        };
        let _ = self.delete(&rt, ns, &key.2, &opts);
    }

    /// Direct store write for tests: create, or replace unconditionally (no RV check).
    pub fn put(&mut self, rt: &ResourceType, obj: Value) -> Result<Arc<Value>, ApiError> {
        let ns = meta_str(&obj, "namespace");
        let name = meta_str(&obj, "name").unwrap_or_default();
        let opts = WriteOptions {
            manager: Some("sealbox-test-harness".into()),
            ..WriteOptions::default()
        };
        match self.get_opt(rt, ns.as_deref(), &name) {
            None => self.create(rt, ns.as_deref(), obj, &opts),
            Some(live) => {
                let mut body = obj;
                meta_mut(&mut body).remove("resourceVersion");
                let entries = apply::read_entries(&live);
                self.finish_update(rt, live, body, entries, &opts)
            }
        }
    }

    /// Every stored object of a storage key (tests, event queries).
    pub fn all(&self, storage: &str) -> Vec<Arc<Value>> {
        self.objects
            .get(storage)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }
}
