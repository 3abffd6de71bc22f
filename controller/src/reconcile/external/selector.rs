//! Kubernetes label selectors (`matchLabels` + `matchExpressions`) over a label map: used
//! for ClusterSecretStore namespace conditions and ClusterExternalSecret namespace
//! selectors.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `labels` match `selector` (an empty selector matches everything, as in
/// `metav1.LabelSelectorAsSelector`). An unknown operator matches nothing.
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    for (k, v) in selector.match_labels.iter().flatten() {
        if labels.get(k) != Some(v) {
            return false;
        }
    }
    for expr in selector.match_expressions.iter().flatten() {
        let value = labels.get(&expr.key);
        let values = expr.values.as_deref().unwrap_or_default();
        let ok = match expr.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    use super::*;

    #[test]
    fn labels_and_expressions() {
        let labels = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        assert!(matches(&LabelSelector::default(), &labels));
        let sel = |op: &str, values: &[&str]| LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: op.into(),
                values: Some(values.iter().map(|s| s.to_string()).collect()),
            }]),
            match_labels: None,
        };
        assert!(matches(&sel("In", &["prod", "dev"]), &labels));
        assert!(!matches(&sel("NotIn", &["prod"]), &labels));
        assert!(matches(&sel("Exists", &[]), &labels));
        assert!(!matches(&sel("DoesNotExist", &[]), &labels));
        assert!(!matches(&sel("Bogus", &[]), &labels));
        let by_label = LabelSelector {
            match_labels: Some(BTreeMap::from([("env".to_owned(), "dev".to_owned())])),
            match_expressions: None,
        };
        assert!(!matches(&by_label, &labels));
    }
}
