//! ESO's `ApplyTemplate` (`externalsecret_controller_template.go`, `templating/parser.go`,
//! `runtime/template/v2/template.go`), highest precedence first:
//! `template.data` > `templateFrom` (in order) > provider data (only with `mergePolicy:
//! Merge` or when the template has neither data nor templateFrom) > the existing Secret's
//! keys (only for `creationPolicy` Merge / CreateOrMerge). Without a template the provider
//! data is the Secret data and the ExternalSecret's labels and annotations are copied.
//!
//! Templates are Go `text/template` with ESO's v2 functions and `missingkey=error`, over
//! the provider data as a `map[string]string`. Template labels and annotations are rendered
//! too.

use std::collections::BTreeMap;

use sealbox_keys::template::{FuncSet, Template as GoTemplate, Value};

use super::keys::{self, DataMap, Decoding};
use crate::api::external::external_secret::{Template, TemplateFrom};

/// The ConfigMaps and Secrets `templateFrom` names, read by the shell beforehand.
#[derive(Clone, Debug, Default)]
pub struct TemplateSources {
    /// ConfigMap name → data.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secret name → data.
    pub secrets: BTreeMap<String, DataMap>,
}

impl TemplateSources {
    /// The ConfigMap and Secret names a template needs.
    pub fn needed(template: Option<&Template>) -> (Vec<String>, Vec<String>) {
        let mut cms = Vec::new();
        let mut secrets = Vec::new();
        for from in template
            .map(|t| t.template_from.as_slice())
            .unwrap_or_default()
        {
            if let Some(cm) = &from.config_map {
                cms.push(cm.name.clone());
            }
            if let Some(s) = &from.secret {
                secrets.push(s.name.clone());
            }
        }
        (cms, secrets)
    }
}

/// The parts of the Secret the template decides.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shape {
    /// `type` (`None`: keep/let the server default).
    pub type_: Option<String>,
    /// Data.
    pub data: DataMap,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Finalizers from `template.metadata.finalizers`.
    pub finalizers: Vec<String>,
}

/// A template could not be applied. Messages name keys and templates, never values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("could not apply template: {0}")]
pub struct TemplateError(pub String);

#[derive(Clone, Copy, PartialEq, Eq)]
enum TargetField {
    Data,
    Labels,
    Annotations,
}

fn target_field(target: Option<&str>) -> Result<TargetField, TemplateError> {
    match target.unwrap_or("").to_ascii_lowercase().as_str() {
        "" | "data" => Ok(TargetField::Data),
        "labels" => Ok(TargetField::Labels),
        "annotations" => Ok(TargetField::Annotations),
        other => Err(TemplateError(format!(
            "templateFrom target {other:?} is not allowed for Secrets (expected Data, Annotations or Labels)"
        ))),
    }
}

fn put(shape: &mut Shape, field: TargetField, key: String, value: Vec<u8>) {
    match field {
        TargetField::Data => {
            shape.data.insert(key, value);
        }
        TargetField::Labels => {
            shape
                .labels
                .insert(key, String::from_utf8_lossy(&value).into_owned());
        }
        TargetField::Annotations => {
            shape
                .annotations
                .insert(key, String::from_utf8_lossy(&value).into_owned());
        }
    }
}

fn render(name: &str, text: &str, data: &Value) -> Result<Vec<u8>, TemplateError> {
    let tpl = GoTemplate::parse(name, text, FuncSet::EsoV2)
        .map_err(|e| TemplateError(format!("unable to parse template at key {name}: {e}")))?;
    tpl.execute(data)
        .map_err(|e| TemplateError(format!("unable to execute template at key {name}: {e}")))
}

/// `Values` scope: every entry is a template whose output is the value of its key.
fn apply_values(
    shape: &mut Shape,
    templates: &BTreeMap<String, String>,
    data: &Value,
    field: TargetField,
    decoding: Decoding,
) -> Result<(), TemplateError> {
    for (key, text) in templates {
        let value = render(key, text, data)?;
        let value = keys::decode(decoding, key, value).map_err(|e| {
            TemplateError(format!(
                "failed to decode rendered template value for key {key}: {e}"
            ))
        })?;
        put(shape, field, key.clone(), value);
    }
    Ok(())
}

/// `KeysAndValues` scope: the template renders a YAML map of key → value.
fn apply_keys_and_values(
    shape: &mut Shape,
    name: &str,
    text: &str,
    data: &Value,
    field: TargetField,
    decoding: Decoding,
) -> Result<(), TemplateError> {
    let rendered = render(name, text, data)?;
    let text = String::from_utf8(rendered)
        .map_err(|_| TemplateError(format!("template {name:?} did not render UTF-8 YAML")))?;
    let map: BTreeMap<String, String> = if text.trim().is_empty() {
        BTreeMap::new()
    } else {
        serde_saphyr::from_str(&text).map_err(|_| {
            TemplateError(format!(
                "could not unmarshal template {name:?} to 'map[string][]byte': the rendered text is not a YAML map of strings"
            ))
        })?
    };
    for (key, value) in map {
        let value = keys::decode(decoding, &key, value.into_bytes()).map_err(|e| {
            TemplateError(format!(
                "failed to decode rendered template value for key {key}: {e}"
            ))
        })?;
        put(shape, field, key, value);
    }
    Ok(())
}

fn apply_from(
    shape: &mut Shape,
    from: &TemplateFrom,
    sources: &TemplateSources,
    data: &Value,
) -> Result<(), TemplateError> {
    let field = target_field(from.target.as_deref())?;
    let decoding = Decoding::parse(from.values_decoding_strategy.as_deref())
        .map_err(|e| TemplateError(e.to_string()))?;
    let fetch_err = |e: String| TemplateError(format!("error fetching templateFrom data: {e}"));
    if let Some(cm_ref) = &from.config_map {
        let cm = sources
            .config_maps
            .get(&cm_ref.name)
            .ok_or_else(|| fetch_err(format!("configmaps {:?} not found", cm_ref.name)))?;
        for item in &cm_ref.items {
            let text = cm.get(&item.key).ok_or_else(|| {
                fetch_err(format!(
                    "error in configmap {}: missing key {}",
                    cm_ref.name, item.key
                ))
            })?;
            apply_scoped(
                shape,
                item.template_as.as_deref(),
                &item.key,
                text,
                data,
                field,
                decoding,
            )?;
        }
    }
    if let Some(secret_ref) = &from.secret {
        let secret = sources
            .secrets
            .get(&secret_ref.name)
            .ok_or_else(|| fetch_err(format!("secrets {:?} not found", secret_ref.name)))?;
        for item in &secret_ref.items {
            let raw = secret.get(&item.key).ok_or_else(|| {
                fetch_err(format!(
                    "error in secret {}: missing key {}",
                    secret_ref.name, item.key
                ))
            })?;
            let text = String::from_utf8_lossy(raw).into_owned();
            apply_scoped(
                shape,
                item.template_as.as_deref(),
                &item.key,
                &text,
                data,
                field,
                decoding,
            )?;
        }
    }
    if let Some(literal) = &from.literal {
        apply_keys_and_values(shape, literal, literal, data, field, decoding)?;
    }
    Ok(())
}

fn apply_scoped(
    shape: &mut Shape,
    scope: Option<&str>,
    key: &str,
    text: &str,
    data: &Value,
    field: TargetField,
    decoding: Decoding,
) -> Result<(), TemplateError> {
    match scope.unwrap_or("") {
        "" | "Values" => apply_values(
            shape,
            &BTreeMap::from([(key.to_owned(), text.to_owned())]),
            data,
            field,
            decoding,
        ),
        "KeysAndValues" => apply_keys_and_values(shape, text, text, data, field, decoding),
        other => Err(TemplateError(format!(
            "unknown scope '{other}': expected 'Values' or 'KeysAndValues'"
        ))),
    }
}

/// Everything [`apply`] needs besides the provider data.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// `spec.target.template`.
    pub template: Option<&'a Template>,
    /// `creationPolicy` (defaulted).
    pub creation_policy: &'a str,
    /// The ExternalSecret's labels (copied when there is no template).
    pub es_labels: Option<&'a BTreeMap<String, String>>,
    /// The ExternalSecret's annotations.
    pub es_annotations: Option<&'a BTreeMap<String, String>>,
}

/// ESO `ApplyTemplate`. `base` is the live Secret minus what this ExternalSecret managed
/// (an empty shape for a new Secret).
pub fn apply(
    ctx: Context<'_>,
    base: Shape,
    provider: &DataMap,
    sources: &TemplateSources,
) -> Result<Shape, TemplateError> {
    let mut shape = base;
    match ctx.template {
        None => {
            shape
                .labels
                .extend(ctx.es_labels.cloned().unwrap_or_default());
            shape
                .annotations
                .extend(ctx.es_annotations.cloned().unwrap_or_default());
        }
        Some(t) => {
            if let Some(m) = &t.metadata {
                shape.labels.extend(m.labels.clone());
                shape.annotations.extend(m.annotations.clone());
                for f in &m.finalizers {
                    if !shape.finalizers.contains(f) {
                        shape.finalizers.push(f.clone());
                    }
                }
            }
        }
    }
    if ctx.creation_policy != "Merge" && ctx.creation_policy != "CreateOrMerge" {
        shape.data.clear();
    }
    let Some(template) = ctx.template else {
        shape.data.extend(provider.clone());
        return Ok(shape);
    };
    if let Some(engine) = template.engine_version.as_deref()
        && !engine.is_empty()
        && engine != "v2"
    {
        return Err(TemplateError(format!(
            "template engine version {engine:?} is not supported (only v2)"
        )));
    }
    if let Some(t) = template.type_.as_deref().filter(|t| !t.is_empty()) {
        shape.type_ = Some(t.to_owned());
    }
    let merge_policy = template.merge_policy.as_deref().unwrap_or("");
    if !matches!(merge_policy, "" | "Replace" | "Merge") {
        return Err(TemplateError(format!(
            "mergePolicy {merge_policy:?} is not supported (expected Replace or Merge)"
        )));
    }
    let no_templates = template.data.is_empty() && template.template_from.is_empty();
    if merge_policy == "Merge" || no_templates {
        shape.data.extend(provider.clone());
    }
    let data = Value::string_map(provider.iter().map(|(k, v)| (k.clone(), v.clone())));
    for from in &template.template_from {
        apply_from(&mut shape, from, sources, &data)?;
    }
    apply_values(
        &mut shape,
        &template.data,
        &data,
        TargetField::Data,
        Decoding::None,
    )
    .map_err(|e| TemplateError(format!("could not execute template: {}", e.0)))?;
    if let Some(m) = &template.metadata {
        apply_values(
            &mut shape,
            &m.labels,
            &data,
            TargetField::Labels,
            Decoding::None,
        )
        .map_err(|e| TemplateError(format!("could not execute template: {}", e.0)))?;
        apply_values(
            &mut shape,
            &m.annotations,
            &data,
            TargetField::Annotations,
            Decoding::None,
        )
        .map_err(|e| TemplateError(format!("could not execute template: {}", e.0)))?;
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::external::external_secret::{TemplateMetadata, TemplateRef, TemplateRefItem};

    fn provider() -> DataMap {
        DataMap::from([
            ("user".to_owned(), b"admin".to_vec()),
            ("password".to_owned(), b"p@ss".to_vec()),
            ("db-host".to_owned(), b"db.local".to_vec()),
        ])
    }

    fn ctx(template: Option<&Template>, policy: &'static str) -> Context<'static> {
        // The template outlives the call in each test; leak a clone for simplicity.
        let template = template.map(|t| &*Box::leak(Box::new(t.clone())));
        Context {
            template,
            creation_policy: policy,
            es_labels: None,
            es_annotations: None,
        }
    }

    fn base_with(key: &str) -> Shape {
        Shape {
            data: DataMap::from([(key.to_owned(), b"kept".to_vec())]),
            ..Shape::default()
        }
    }

    #[test]
    fn no_template_copies_provider_data_and_es_metadata() {
        let labels = BTreeMap::from([("team".to_owned(), "core".to_owned())]);
        let mut c = ctx(None, "Owner");
        c.es_labels = Some(Box::leak(Box::new(labels)));
        let out = apply(
            c,
            base_with("old"),
            &provider(),
            &TemplateSources::default(),
        )
        .unwrap();
        assert_eq!(out.data, provider(), "Owner clears existing keys");
        assert_eq!(out.labels["team"], "core");
        let out = apply(
            ctx(None, "Merge"),
            base_with("old"),
            &provider(),
            &TemplateSources::default(),
        )
        .unwrap();
        assert_eq!(out.data["old"], b"kept", "Merge keeps existing keys");
    }

    #[test]
    fn template_data_replaces_provider_keys_unless_merge_policy() {
        let t = Template {
            type_: Some("kubernetes.io/basic-auth".into()),
            data: BTreeMap::from([(
                "dsn".to_owned(),
                "pg://{{ .user }}:{{ .password | urlquery }}@{{ index . \"db-host\" }}".to_owned(),
            )]),
            metadata: Some(TemplateMetadata {
                labels: BTreeMap::from([("owner".to_owned(), "{{ .user | upper }}".to_owned())]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let out = apply(
            ctx(Some(&t), "Owner"),
            Shape::default(),
            &provider(),
            &TemplateSources::default(),
        )
        .unwrap();
        assert_eq!(out.data.keys().collect::<Vec<_>>(), ["dsn"]);
        assert_eq!(out.data["dsn"], b"pg://admin:p%40ss@db.local");
        assert_eq!(out.type_.as_deref(), Some("kubernetes.io/basic-auth"));
        assert_eq!(out.labels["owner"], "ADMIN");
        let mut merge = t.clone();
        merge.merge_policy = Some("Merge".into());
        let out = apply(
            ctx(Some(&merge), "Owner"),
            Shape::default(),
            &provider(),
            &TemplateSources::default(),
        )
        .unwrap();
        assert_eq!(out.data.len(), 4);
    }

    #[test]
    fn missing_keys_fail_without_leaking_values() {
        let t = Template {
            data: BTreeMap::from([("x".to_owned(), "{{ .nope }}{{ .password }}".to_owned())]),
            ..Default::default()
        };
        let e = apply(
            ctx(Some(&t), "Owner"),
            Shape::default(),
            &provider(),
            &TemplateSources::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("nope") && e.contains("at key x"), "{e}");
        assert!(!e.contains("p@ss"));
    }

    #[test]
    fn template_from_configmap_secret_and_literal_in_order() {
        let t = Template {
            template_from: vec![
                TemplateFrom {
                    config_map: Some(TemplateRef {
                        name: "tpl".into(),
                        items: vec![
                            TemplateRefItem {
                                key: "config.yaml".into(),
                                template_as: None,
                            },
                            TemplateRefItem {
                                key: "kv".into(),
                                template_as: Some("KeysAndValues".into()),
                            },
                        ],
                    }),
                    ..Default::default()
                },
                TemplateFrom {
                    literal: Some("annotated: \"{{ .user }}\"".into()),
                    target: Some("Annotations".into()),
                    ..Default::default()
                },
                TemplateFrom {
                    secret: Some(TemplateRef {
                        name: "tpl-secret".into(),
                        items: vec![TemplateRefItem {
                            key: "config.yaml".into(),
                            template_as: None,
                        }],
                    }),
                    ..Default::default()
                },
            ],
            data: BTreeMap::from([("final".to_owned(), "{{ .user }}".to_owned())]),
            ..Default::default()
        };
        let sources = TemplateSources {
            config_maps: BTreeMap::from([(
                "tpl".to_owned(),
                BTreeMap::from([
                    ("config.yaml".to_owned(), "user: {{ .user }}".to_owned()),
                    ("kv".to_owned(), "a: \"1\"\nb: \"{{ .user }}\"".to_owned()),
                ]),
            )]),
            secrets: BTreeMap::from([(
                "tpl-secret".to_owned(),
                DataMap::from([(
                    "config.yaml".to_owned(),
                    b"from-secret {{ .user }}".to_vec(),
                )]),
            )]),
        };
        let out = apply(
            ctx(Some(&t), "Owner"),
            Shape::default(),
            &provider(),
            &sources,
        )
        .unwrap();
        assert_eq!(
            out.data["config.yaml"], b"from-secret admin",
            "later templateFrom wins"
        );
        assert_eq!(out.data["b"], b"admin");
        assert_eq!(out.data["final"], b"admin");
        assert_eq!(out.annotations["annotated"], "admin");
        let missing = apply(
            ctx(Some(&t), "Owner"),
            Shape::default(),
            &provider(),
            &TemplateSources::default(),
        )
        .unwrap_err();
        assert!(missing.to_string().contains("configmaps \"tpl\" not found"));
        let mut bad = t.clone();
        bad.template_from[1].target = Some("spec.x".into());
        assert!(
            apply(
                ctx(Some(&bad), "Owner"),
                Shape::default(),
                &provider(),
                &sources
            )
            .is_err()
        );
    }
}
