//! The manifest model: a file or stdin holding one or more Kubernetes objects, as YAML
//! documents separated by `---` or as concatenated JSON objects (what kubectl, kubeseal
//! and `kubectl get -o yaml` produce), turned into numbered documents.
//!
//! Errors say which source, which document and which line/column, and never quote the
//! input: manifests here carry secrets, and a parser message that echoes a line would
//! print one.

use std::fmt;

use sealbox_keys::limits::{
    LimitExceeded, Limits, check_json, check_size, check_yaml, saphyr_options,
};
use serde_json::Value;
use thiserror::Error;

/// One object from a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// 1-based position of the document in the stream (empty documents are not counted).
    pub number: usize,
    /// For objects taken out of a `kind: List`, their 0-based index in `items`.
    pub item: Option<usize>,
    /// 1-based line where the document starts (0 if unknown).
    pub line: usize,
    /// The parsed object.
    pub value: Value,
}

impl Document {
    /// `(apiVersion, kind)` of the object, empty strings if missing.
    pub fn type_meta(&self) -> (&str, &str) {
        (
            self.value
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or(""),
            self.value.get("kind").and_then(Value::as_str).unwrap_or(""),
        )
    }

    /// `metadata.name`, if present.
    pub fn name(&self) -> Option<&str> {
        self.value.pointer("/metadata/name").and_then(Value::as_str)
    }
}

impl fmt::Display for Document {
    /// "document 2 (line 14)" or "document 1, items[3]" — used as message prefixes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.number)?;
        if let Some(item) = self.item {
            write!(f, ", items[{item}]")?;
        }
        if self.line > 0 && self.item.is_none() {
            write!(f, " (line {})", self.line)?;
        }
        Ok(())
    }
}

/// A stream that is not valid YAML or JSON.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error(
    "{source_name}: document {document}: invalid {format} at line {line}, column {column}: {reason}"
)]
pub struct ManifestError {
    /// File name or `<stdin>`.
    pub source_name: String,
    /// 1-based document number.
    pub document: usize,
    /// 1-based line in the whole stream.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// "YAML" or "JSON".
    pub format: &'static str,
    /// What the parser expected (structure only, never input text).
    pub reason: String,
}

/// Parse a YAML or JSON stream. Input whose first non-blank character is `{` or `[` is
/// read as concatenated JSON; anything else as multi-document YAML. Empty documents are
/// skipped.
///
/// Manifests come from files, stdin, HTTP request bodies and the cluster, so the stream is
/// held to the shared resource limits (`sealbox_keys::limits`: size, nesting, documents,
/// alias expansion) before anything is built from it.
pub fn parse_documents(source_name: &str, text: &str) -> Result<Vec<Document>, ManifestError> {
    let limits = Limits::DEFAULT;
    check_size(text.len(), &limits).map_err(|e| limit_error(source_name, 1, 1, "YAML", e))?;
    let first = text
        .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .chars()
        .next();
    if matches!(first, Some('{' | '[')) {
        parse_json_stream(source_name, text)
    } else {
        parse_yaml_stream(source_name, text)
    }
}

/// Replace every `kind: List` document by its items (kubectl prints several objects that
/// way), keeping the document number and recording the item index.
pub fn expand_lists(documents: Vec<Document>) -> Vec<Document> {
    let mut out = Vec::with_capacity(documents.len());
    for doc in documents {
        let is_list = doc.value.get("kind").and_then(Value::as_str) == Some("List")
            && doc.value.get("items").is_some_and(Value::is_array);
        if !is_list {
            out.push(doc);
            continue;
        }
        let Value::Array(items) = doc.value["items"].clone() else {
            unreachable!("checked is_array")
        };
        for (i, value) in items.into_iter().enumerate() {
            out.push(Document {
                number: doc.number,
                item: Some(i),
                line: doc.line,
                value,
            });
        }
    }
    out
}

/// A stream (or one of its documents) over a resource limit: reported like a parse error at
/// the document where it happened, the reason naming the limit.
fn limit_error(
    source_name: &str,
    document: usize,
    line: usize,
    format: &'static str,
    e: LimitExceeded,
) -> ManifestError {
    ManifestError {
        source_name: source_name.to_owned(),
        document,
        line,
        column: 1,
        format,
        reason: e.to_string(),
    }
}

fn parse_json_stream(source_name: &str, text: &str) -> Result<Vec<Document>, ManifestError> {
    check_json(text.as_bytes(), &Limits::DEFAULT)
        .map_err(|e| limit_error(source_name, 1, 1, "JSON", e))?;
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(value)) => {
                let value_start = start + leading_whitespace(&text[start..]);
                documents.push(Document {
                    number: documents.len() + 1,
                    item: None,
                    line: line_of(text, value_start),
                    value,
                });
            }
            Some(Err(e)) => {
                return Err(ManifestError {
                    source_name: source_name.to_owned(),
                    document: documents.len() + 1,
                    line: e.line(),
                    column: e.column(),
                    format: "JSON",
                    reason: json_reason(&e),
                });
            }
        }
    }
    Ok(documents)
}

/// serde_json's message without its " at line L column C" suffix (we print our own).
fn json_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn leading_whitespace(s: &str) -> usize {
    s.len() - s.trim_start().len()
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

/// One YAML document's text and the line it starts on.
struct YamlChunk<'a> {
    text: &'a str,
    first_line: usize,
}

/// Split a YAML stream at document markers. YAML forbids a line starting with `---` or
/// `...` followed by a blank or end of line inside any scalar, so a line-based split is
/// exact; each chunk is then parsed on its own so errors know their document.
fn split_yaml_documents(text: &str) -> Vec<YamlChunk<'_>> {
    let is_marker = |line: &str, marker: &str| {
        line.strip_prefix(marker)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
    };
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n']);
        if is_marker(bare, "---") {
            chunks.push(YamlChunk {
                text: &text[start..offset],
                first_line: start_line,
            });
            // Content may follow the marker on the same line (`--- |`, `--- {a: 1}`):
            // keep it, replacing the marker by blanks so columns stay right.
            start = offset;
            start_line = i + 1;
        } else if is_marker(bare, "...") {
            chunks.push(YamlChunk {
                text: &text[start..offset],
                first_line: start_line,
            });
            start = offset + line.len();
            start_line = i + 2;
        }
        offset += line.len();
    }
    chunks.push(YamlChunk {
        text: &text[start..],
        first_line: start_line,
    });
    chunks
}

fn parse_yaml_stream(source_name: &str, text: &str) -> Result<Vec<Document>, ManifestError> {
    let limits = Limits::DEFAULT;
    let mut documents = Vec::new();
    for chunk in split_yaml_documents(text) {
        let body = blank_marker(chunk.text);
        if is_blank_yaml(&body) {
            continue;
        }
        let number = documents.len() + 1;
        if number > limits.max_documents {
            let e = LimitExceeded {
                limit: sealbox_keys::limits::Limit::Documents,
                max: limits.max_documents,
                found: number,
            };
            return Err(limit_error(
                source_name,
                number,
                chunk.first_line,
                "YAML",
                e,
            ));
        }
        check_yaml(&body, &limits)
            .map_err(|e| limit_error(source_name, number, chunk.first_line, "YAML", e))?;
        let value: Value = serde_saphyr::from_str_with_options(&body, saphyr_options(&limits))
            .map_err(|e| {
                let location = e.location();
                ManifestError {
                    source_name: source_name.to_owned(),
                    document: number,
                    line: location.map_or(chunk.first_line, |l| {
                        chunk.first_line + l.line() as usize - 1
                    }),
                    column: location.map_or(0, |l| l.column() as usize),
                    format: "YAML",
                    reason: serde_saphyr::MessageFormatter::format_message(
                        &serde_saphyr::UserMessageFormatter,
                        e.without_snippet(),
                    )
                    .into_owned(),
                }
            })?;
        if value.is_null() {
            continue;
        }
        documents.push(Document {
            number,
            item: None,
            line: first_content_line(&body, chunk.first_line),
            value,
        });
    }
    Ok(documents)
}

/// A chunk starting with `---` has the marker replaced by three spaces, so the parser sees
/// one bare document and reported columns still match the file.
fn blank_marker(chunk: &str) -> std::borrow::Cow<'_, str> {
    match chunk.strip_prefix("---") {
        Some(rest) => std::borrow::Cow::Owned(format!("   {rest}")),
        None => std::borrow::Cow::Borrowed(chunk),
    }
}

/// Only blank lines, comments and directives.
fn is_blank_yaml(chunk: &str) -> bool {
    chunk.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t.starts_with('%')
    })
}

fn first_content_line(chunk: &str, first_line: usize) -> usize {
    chunk
        .lines()
        .position(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && !t.starts_with('%')
        })
        .map_or(first_line, |i| first_line + i)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn yaml_stream_numbers_documents_and_lines() {
        let text = "# head\n---\napiVersion: v1\nkind: Secret\n---\n\n---\nkind: B\n...\n";
        let docs = parse_documents("f.yaml", text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].number, 1);
        assert_eq!(docs[0].line, 3);
        assert_eq!(docs[0].type_meta(), ("v1", "Secret"));
        assert_eq!(docs[1].number, 2);
        assert_eq!(docs[1].line, 8);
        assert_eq!(docs[1].value, json!({"kind": "B"}));
    }

    #[test]
    fn marker_lines_with_content_and_block_scalars() {
        let text = "--- {a: 1}\n--- |\n  text\n---\nk: |\n  ---x\n";
        let docs = parse_documents("f", text).unwrap();
        assert_eq!(docs[0].value, json!({"a": 1}));
        assert_eq!(docs[1].value, json!("text\n"));
        assert_eq!(docs[2].value, json!({"k": "---x\n"}));
    }

    #[test]
    fn yaml_errors_name_document_line_and_column_without_the_text() {
        let text = "kind: A\n---\nkind: B\npassword: \"s3cr3t-value\n  oops: [\n";
        let err = parse_documents("in.yaml", text).unwrap_err();
        assert_eq!(err.document, 2);
        assert_eq!(err.format, "YAML");
        assert!(err.line >= 4, "{err}");
        let msg = err.to_string();
        assert!(
            msg.starts_with("in.yaml: document 2: invalid YAML at line"),
            "{msg}"
        );
        assert!(!msg.contains("s3cr3t"), "{msg}");
    }

    #[test]
    fn json_streams_are_concatenated_objects() {
        let text = "{\"kind\": \"A\"}\n{\n  \"kind\": \"B\"\n}\n";
        let docs = parse_documents("x.json", text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].line, 2);
        let err =
            parse_documents("x.json", "{\"a\": 1}\n{\"password\": \"s3cr3t\",,}").unwrap_err();
        assert_eq!(err.document, 2);
        assert_eq!(err.line, 2);
        assert_eq!(err.format, "JSON");
        assert!(!err.to_string().contains("s3cr3t"));
    }

    #[test]
    fn lists_expand_into_items() {
        let docs = parse_documents(
            "l",
            "kind: List\napiVersion: v1\nitems:\n- kind: A\n- kind: B\n---\nkind: C\n",
        )
        .unwrap();
        let docs = expand_lists(docs);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[1].to_string(), "document 1, items[1]");
        assert_eq!(docs[2].to_string(), "document 2 (line 7)");
    }
}
