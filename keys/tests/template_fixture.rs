//! The sealed-secrets fixture `strict-template.yaml`: its `spec.template.data` rendered over
//! the decrypted items must equal `expected.json` → `template_rendered` (made with Go
//! text/template + sprig: `toJson` escapes `&` as `\u0026`, `urlquery` gives `%22 %27 %5C %26`).

use base64::Engine as _;
use sealbox_keys::template::{FuncSet, Template, Value};

const MANIFEST: &str = include_str!("fixtures/template/strict-template.yaml");
const EXPECTED: &str = include_str!("fixtures/template/expected.json");

#[test]
fn strict_template_fixture_renders_like_go() {
    let b64 = base64::engine::general_purpose::STANDARD;
    let expected: serde_json::Value = serde_json::from_str(EXPECTED).unwrap();
    let entry = expected["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["file"] == "strict-template.yaml")
        .unwrap();
    let data = Value::string_map(entry["items"].as_object().unwrap().iter().map(|(k, v)| {
        (
            k.clone(),
            b64.decode(v["plaintext_b64"].as_str().unwrap()).unwrap(),
        )
    }));
    let manifest: serde_json::Value = serde_saphyr::from_str(MANIFEST).unwrap();
    let templates = manifest["spec"]["template"]["data"].as_object().unwrap();
    let rendered = entry["template_rendered"].as_object().unwrap();
    assert_eq!(templates.len(), rendered.len());
    for (key, text) in templates {
        let t = Template::parse(key, text.as_str().unwrap(), FuncSet::Sprig).unwrap();
        let out = t.execute(&data).unwrap();
        let want = b64
            .decode(rendered[key]["plaintext_b64"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&want),
            "template {key}"
        );
    }
}
