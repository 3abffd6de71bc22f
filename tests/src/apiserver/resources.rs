//! The resource types the double serves: built-in kinds it knows by heart and custom
//! resources registered from a CRD manifest. A type carries what the real server derives
//! from its registry strategy: scope, status subresource, generation, field selectors, and
//! the field topology server-side apply and pruning need.

use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// How list items are merged and owned by server-side apply (`x-kubernetes-list-type`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ListType {
    /// Replaced whole, owned as one field (the default for CR arrays).
    #[default]
    Atomic,
    /// Items are scalar set members (`v:<value>`).
    Set,
    /// Items are objects keyed by these fields (`k:{...}`).
    Map(Vec<String>),
}

/// The schema of one node, reduced to what SSA, pruning and defaulting use.
#[derive(Debug, Clone, Default)]
pub struct TypeNode {
    /// Declared `properties`.
    pub fields: BTreeMap<String, TypeNode>,
    /// `additionalProperties` (granular map values).
    pub additional: Option<Box<TypeNode>>,
    /// `items` of an array.
    pub items: Option<Box<TypeNode>>,
    /// List semantics for arrays.
    pub list: ListType,
    /// `x-kubernetes-map-type: atomic` (or `granular` when false).
    pub atomic_map: bool,
    /// `x-kubernetes-preserve-unknown-fields: true` (or embedded resource): no pruning below.
    pub preserve_unknown: bool,
    /// Whether pruning applies at this node (an OpenAPI `type: object`).
    pub is_object: bool,
    /// Schema `default:`.
    pub default: Option<Value>,
}

static UNKNOWN: std::sync::LazyLock<TypeNode> = std::sync::LazyLock::new(|| TypeNode {
    preserve_unknown: true,
    ..TypeNode::default()
});

impl TypeNode {
    /// The schema of a child field or map value; unknown children get a permissive node.
    pub fn child(&self, key: &str) -> &TypeNode {
        self.fields
            .get(key)
            .or(self.additional.as_deref())
            .unwrap_or(&UNKNOWN)
    }

    /// The schema of list items.
    pub fn item(&self) -> &TypeNode {
        self.items.as_deref().unwrap_or(&UNKNOWN)
    }

    /// Builds the node from an OpenAPI v3 schema as found in a CRD.
    pub fn from_openapi(schema: &Value) -> TypeNode {
        let mut n = TypeNode {
            is_object: schema.get("type").and_then(Value::as_str) == Some("object"),
            preserve_unknown: schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true)
                || schema
                    .get("x-kubernetes-embedded-resource")
                    .and_then(Value::as_bool)
                    == Some(true)
                || schema
                    .get("x-kubernetes-int-or-string")
                    .and_then(Value::as_bool)
                    == Some(true),
            atomic_map: schema.get("x-kubernetes-map-type").and_then(Value::as_str)
                == Some("atomic"),
            default: schema.get("default").cloned(),
            ..TypeNode::default()
        };
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                n.fields.insert(k.clone(), TypeNode::from_openapi(v));
            }
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(true)) => n.preserve_unknown = true,
            Some(v @ Value::Object(_)) => n.additional = Some(Box::new(TypeNode::from_openapi(v))),
            _ => {}
        }
        if let Some(items) = schema.get("items") {
            n.items = Some(Box::new(TypeNode::from_openapi(items)));
        }
        n.list = match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|k| k.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => ListType::Atomic,
        };
        // Embedded resources keep apiVersion/kind/metadata as the server does.
        if schema
            .get("x-kubernetes-embedded-resource")
            .and_then(Value::as_bool)
            == Some(true)
        {
            n.preserve_unknown = true;
        }
        n
    }
}

/// The object metadata topology (same for every kind, AM `types.go` markers).
fn metadata_node() -> TypeNode {
    let mut meta = TypeNode {
        preserve_unknown: true,
        ..TypeNode::default()
    };
    meta.fields.insert(
        "finalizers".into(),
        TypeNode {
            list: ListType::Set,
            ..TypeNode::default()
        },
    );
    meta.fields.insert(
        "ownerReferences".into(),
        TypeNode {
            list: ListType::Map(vec!["uid".into()]),
            ..TypeNode::default()
        },
    );
    meta
}

/// Behaviour class: which strategy (defaulting/validation) the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindClass {
    /// core/v1 Secret.
    Secret,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 Namespace.
    Namespace,
    /// events.k8s.io/v1 Event (stored form).
    EventV1,
    /// core/v1 Event: a view of the same storage as `EventV1`.
    CoreEvent,
    /// coordination.k8s.io/v1 Lease.
    Lease,
    /// apiextensions.k8s.io/v1 CustomResourceDefinition.
    Crd,
    /// A custom resource.
    Custom,
}

/// One servable resource (group/version/plural).
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// Version served at this endpoint.
    pub version: String,
    /// Plural resource name (URL segment).
    pub plural: String,
    /// Singular name (discovery).
    pub singular: String,
    /// Kind.
    pub kind: String,
    /// List kind.
    pub list_kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Whether `/status` is a subresource (status isolated from main writes).
    pub status_subresource: bool,
    /// Strategy class.
    pub class: KindClass,
    /// Storage key: two endpoints with the same key share objects (core and events.k8s.io Events).
    pub storage: Arc<str>,
    /// Topology (+ schema for custom resources).
    pub schema: Arc<TypeNode>,
    /// Whether the schema came from a CRD (pruning and defaulting apply).
    pub structural: bool,
    /// Extra field-selector paths (`selectableFields`, without the leading dot).
    pub selectable_fields: Vec<String>,
}

impl ResourceType {
    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// GroupResource as the server prints it in messages: `plural` or `plural.group`.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// GroupKind as printed in validation messages: `Kind` or `Kind.group`.
    pub fn group_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Whether `generation` is maintained (CRs, CRDs, Namespaces do not; Secrets do not).
    pub fn has_generation(&self) -> bool {
        matches!(self.class, KindClass::Custom | KindClass::Crd)
    }

    /// Whether PUT without `metadata.resourceVersion` is refused (Leases, CRs).
    pub fn requires_rv_on_update(&self) -> bool {
        matches!(
            self.class,
            KindClass::Lease | KindClass::Custom | KindClass::Crd
        )
    }

    /// Field-selector fields the real server supports for this kind.
    pub fn supports_field(&self, field: &str) -> bool {
        match field {
            "metadata.name" => true,
            "metadata.namespace" => self.namespaced || self.class == KindClass::Namespace,
            _ => match self.class {
                KindClass::Secret => field == "type",
                KindClass::Namespace => field == "status.phase",
                KindClass::CoreEvent => {
                    field.starts_with("involvedObject.")
                        || ["reason", "reportingComponent", "source", "type"].contains(&field)
                }
                KindClass::Custom => self.selectable_fields.iter().any(|f| f == field),
                _ => false,
            },
        }
    }

    fn builtin(
        group: &str,
        version: &str,
        plural: &str,
        kind: &str,
        namespaced: bool,
        class: KindClass,
    ) -> Self {
        let mut root = TypeNode::default();
        root.fields.insert("metadata".into(), metadata_node());
        ResourceType {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_lowercase(),
            kind: kind.into(),
            list_kind: format!("{kind}List"),
            namespaced,
            status_subresource: class == KindClass::Namespace,
            class,
            storage: Arc::from(format!("{group}/{plural}")),
            schema: Arc::new(root),
            structural: false,
            selectable_fields: Vec::new(),
        }
    }

    /// The built-in kinds every double serves.
    pub fn builtins() -> Vec<ResourceType> {
        let mut core_events =
            Self::builtin("", "v1", "events", "Event", true, KindClass::CoreEvent);
        core_events.storage = Arc::from("events.k8s.io/events");
        vec![
            Self::builtin("", "v1", "secrets", "Secret", true, KindClass::Secret),
            Self::builtin(
                "",
                "v1",
                "configmaps",
                "ConfigMap",
                true,
                KindClass::ConfigMap,
            ),
            // Services: stored like ConfigMaps (no Service-specific validation); the
            // double's service proxy (`services/<svc>/proxy/...`) reads them.
            Self::builtin("", "v1", "services", "Service", true, KindClass::ConfigMap),
            Self::builtin(
                "",
                "v1",
                "namespaces",
                "Namespace",
                false,
                KindClass::Namespace,
            ),
            core_events,
            Self::builtin(
                "events.k8s.io",
                "v1",
                "events",
                "Event",
                true,
                KindClass::EventV1,
            ),
            Self::builtin(
                "coordination.k8s.io",
                "v1",
                "leases",
                "Lease",
                true,
                KindClass::Lease,
            ),
            Self::builtin(
                "apiextensions.k8s.io",
                "v1",
                "customresourcedefinitions",
                "CustomResourceDefinition",
                false,
                KindClass::Crd,
            ),
        ]
    }

    /// The served versions of a CRD manifest as resource types.
    pub fn from_crd(crd: &Value) -> Result<Vec<ResourceType>, String> {
        let spec = crd.get("spec").ok_or("spec: Required value")?;
        let group = spec
            .get("group")
            .and_then(Value::as_str)
            .ok_or("spec.group: Required value")?;
        let names = spec.get("names").ok_or("spec.names: Required value")?;
        let plural = names
            .get("plural")
            .and_then(Value::as_str)
            .ok_or("spec.names.plural: Required value")?;
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .ok_or("spec.names.kind: Required value")?;
        let expected_name = format!("{plural}.{group}");
        let name = crd
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if name != expected_name {
            return Err(format!(
                "metadata.name: Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"
            ));
        }
        let namespaced = match spec.get("scope").and_then(Value::as_str) {
            Some("Namespaced") => true,
            Some("Cluster") => false,
            _ => return Err("spec.scope: Unsupported value: must be Namespaced or Cluster".into()),
        };
        let list_kind = names
            .get("listKind")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or(format!("{kind}List"));
        let singular = names
            .get("singular")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or(kind.to_lowercase());
        let versions = spec
            .get("versions")
            .and_then(Value::as_array)
            .ok_or("spec.versions: Required value")?;
        let mut out = Vec::new();
        for v in versions {
            if v.get("served").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let version = v
                .get("name")
                .and_then(Value::as_str)
                .ok_or("spec.versions[].name: Required value")?;
            let mut root = v
                .pointer("/schema/openAPIV3Schema")
                .map(TypeNode::from_openapi)
                .unwrap_or_else(|| TypeNode {
                    preserve_unknown: true,
                    ..TypeNode::default()
                });
            root.fields.insert("metadata".into(), metadata_node());
            for k in ["apiVersion", "kind"] {
                root.fields.entry(k.into()).or_default();
            }
            let status_subresource = v.pointer("/subresources/status").is_some();
            let selectable_fields = v
                .get("selectableFields")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.get("jsonPath").and_then(Value::as_str))
                        .map(|p| p.trim_start_matches('.').to_owned())
                        .collect()
                })
                .unwrap_or_default();
            out.push(ResourceType {
                group: group.into(),
                version: version.into(),
                plural: plural.into(),
                singular: singular.clone(),
                kind: kind.into(),
                list_kind: list_kind.clone(),
                namespaced,
                status_subresource,
                class: KindClass::Custom,
                storage: Arc::from(format!("{group}/{plural}")),
                schema: Arc::new(root),
                structural: true,
                selectable_fields,
            });
        }
        if out.is_empty() {
            return Err("spec.versions: Invalid value: no served version".into());
        }
        Ok(out)
    }
}
