//! Resource limits of the manifest reader (`api::parse_documents`), which reads SealedSecrets
//! from files, stdin, HTTP request bodies (`/v1/verify`, `/v1/rotate`) and the cluster:
//! YAML bombs, deep nesting and document storms are refused quickly, at the document where
//! they happen, with the limit named; real streams pass.

use std::time::{Duration, Instant};

use sealbox_controller::api::parse_documents;

const QUICK: Duration = Duration::from_secs(5);

fn billion_laughs() -> String {
    let mut s = String::from("l0: &l0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n");
    for i in 1..10 {
        let prev = format!("*l{}", i - 1);
        s.push_str(&format!(
            "l{i}: &l{i} [{}]\n",
            [prev.as_str(); 10].join(", ")
        ));
    }
    s
}

fn refused(text: &str, document: usize, limit: &str) {
    let start = Instant::now();
    let err = parse_documents("in.yaml", text).unwrap_err();
    assert!(start.elapsed() < QUICK, "took {:?}", start.elapsed());
    assert_eq!(err.document, document, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("resource limit {limit} exceeded")),
        "{msg}"
    );
    assert!(msg.starts_with("in.yaml: document "), "{msg}");
}

#[test]
fn yaml_bombs_are_refused_at_their_document() {
    refused(&billion_laughs(), 1, "max_nodes");
    let second = format!("apiVersion: v1\nkind: Secret\n---\n{}", billion_laughs());
    refused(&second, 2, "max_nodes");
    let amplification = format!(
        "big: &big {}\ncopies: [{}]\n",
        "x".repeat(1 << 20),
        vec!["*big"; 200].join(", ")
    );
    refused(&amplification, 1, "max_alias_bytes");
}

#[test]
fn deep_nesting_and_document_storms_are_refused() {
    refused(
        &format!("a: {}1{}\n", "[".repeat(5000), "]".repeat(5000)),
        1,
        "max_depth",
    );
    let json = format!("{{\"a\": {}1{}}}", "[".repeat(5000), "]".repeat(5000));
    let err = parse_documents("in.json", &json).unwrap_err();
    assert_eq!(err.format, "JSON");
    assert!(
        err.to_string()
            .contains("resource limit max_depth exceeded"),
        "{err}"
    );
    refused(&"kind: A\n---\n".repeat(10_001), 10_001, "max_documents");
    let err = parse_documents("in.json", &"{} ".repeat(10_001)).unwrap_err();
    assert!(
        err.to_string()
            .contains("resource limit max_documents exceeded"),
        "{err}"
    );
}

#[test]
fn real_streams_pass() {
    let mut stream = String::new();
    for i in 0..2000 {
        stream.push_str(&format!(
            "---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: s{i}\n  namespace: demo\n  labels: &l {{app: web, tier: backend}}\n  annotations: *l\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n"
        ));
    }
    let docs = parse_documents("many.yaml", &stream).unwrap();
    assert_eq!(docs.len(), 2000);
    assert_eq!(docs[1999].name(), Some("s1999"));
}
