//! Parse + execute of a typical ESO template (the shapes found in public GitOps repos:
//! interpolation, `index`, `toJson`/`dict`, `b64enc`, `upper`, a `range`).

use criterion::{Criterion, criterion_group, criterion_main};
use sealbox_keys::template::{FuncSet, Template, Value};

const ESO_TEMPLATE: &str = r#"{
  "credentials.json": {{ toJson (dict "AccountTag" .account "TunnelSecret" (.secret | b64enc) "TunnelID" .tunnel) }},
  "dsn": "postgres://{{ .username }}:{{ .password | urlquery }}@{{ index . "db-host" }}:5432/{{ .database | lower }}",
  "env": "{{ .environment | upper | default "DEV" }}",
  {{- range $k, $v := . }}{{ if hasPrefix "feature_" $k }}
  "{{ $k | trimPrefix "feature_" }}": {{ $v | quote }},{{ end }}{{ end }}
  "checksum": "{{ printf "%s:%s" .username .password | sha256sum | trunc 16 }}"
}"#;

fn data() -> Value {
    Value::string_map([
        ("account", "0123456789abcdef"),
        ("secret", "c2VjcmV0LXR1bm5lbC1rZXktbWF0ZXJpYWw="),
        ("tunnel", "6ff42ae2-765d-4adf-8112-31c55c1551ef"),
        ("username", "app_user"),
        ("password", "p\"q'r\\s&t"),
        ("db-host", "db.internal"),
        ("database", "Orders"),
        ("environment", "prod"),
        ("feature_a", "on"),
        ("feature_b", "off"),
    ])
}

fn bench(c: &mut Criterion) {
    let d = data();
    c.bench_function("eso_template_parse_execute", |b| {
        b.iter(|| {
            let t = Template::parse("config.json", ESO_TEMPLATE, FuncSet::EsoV2).unwrap();
            std::hint::black_box(t.execute(&d).unwrap())
        })
    });
    let t = Template::parse("config.json", ESO_TEMPLATE, FuncSet::EsoV2).unwrap();
    c.bench_function("eso_template_execute_only", |b| {
        b.iter(|| std::hint::black_box(t.execute(&d).unwrap()))
    });
    let simple = Template::parse("password", "{{ .password }}", FuncSet::EsoV2).unwrap();
    c.bench_function("interpolation_only", |b| {
        b.iter(|| std::hint::black_box(simple.execute(&d).unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
