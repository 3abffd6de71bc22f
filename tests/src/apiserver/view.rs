//! How a stored object is shown through one endpoint: the endpoint's apiVersion/kind, the
//! core/v1 view of events.k8s.io/v1 Events (same storage, renamed fields, as the real server
//! converts them), and metadata-only `PartialObjectMetadata` for `Controller::owns()`.

use serde_json::{Map, Value, json};

use super::resources::{KindClass, ResourceType};

/// Field pairs (events.k8s.io/v1 name, core/v1 name).
const EVENT_RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedCount", "count"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
];

fn rename(obj: &mut Value, to_core: bool) {
    let Some(m) = obj.as_object_mut() else { return };
    let mut out = Map::new();
    for (k, v) in std::mem::take(m) {
        let renamed = EVENT_RENAMES
            .iter()
            .find(|(v1, core)| if to_core { *v1 == k } else { *core == k })
            .map(|(v1, core)| if to_core { *core } else { *v1 });
        out.insert(renamed.map(str::to_owned).unwrap_or(k), v);
    }
    *m = out;
}

/// Converts a core/v1 Event body into the stored (events.k8s.io/v1) field names.
pub fn core_event_to_stored(obj: &mut Value) {
    rename(obj, false);
}

/// Converts a stored Event into core/v1 field names.
pub fn stored_event_to_core(obj: &mut Value) {
    rename(obj, true);
}

/// The object as the endpoint returns it. `with_type`: keep apiVersion/kind (single objects,
/// watch events, CR list items); built-in list items come without them.
pub fn present(rt: &ResourceType, obj: &Value, meta_only: bool, with_type: bool) -> Value {
    if meta_only {
        return json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
        });
    }
    let mut out = obj.clone();
    if rt.class == KindClass::CoreEvent {
        stored_event_to_core(&mut out);
    }
    if let Some(m) = out.as_object_mut() {
        if with_type {
            m.insert("apiVersion".into(), json!(rt.api_version()));
            m.insert("kind".into(), json!(rt.kind));
            // Keep apiVersion/kind first, as Go's encoder prints them.
            let mut ordered = Map::new();
            for k in ["kind", "apiVersion"] {
                if let Some(v) = m.remove(k) {
                    ordered.insert(k.into(), v);
                }
            }
            ordered.extend(std::mem::take(m));
            *m = ordered;
        } else {
            m.remove("apiVersion");
            m.remove("kind");
        }
    }
    out
}
