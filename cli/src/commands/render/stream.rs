//! A YAML stream (stdin, `kustomize build` output) as raw document texts, and which of them
//! are SOPS-encrypted.
//!
//! Documents are passed through byte for byte, so the stream is split at document markers
//! rather than parsed and re-emitted. YAML forbids a line that starts with `---` or `...`
//! followed by a blank or the end of the line inside any scalar, so a line-based split is
//! exact. Only documents that mention `sops` are parsed (to read their `sops` block).

use sealbox_controller::api::parse_documents;
use serde_json::Value;

/// One document of a stream: its text (ending with a line break unless empty) and the
/// 1-based line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDocument {
    /// The document's text, without its `---` marker line.
    pub text: String,
    /// 1-based line of the first line of `text` in the stream.
    pub line: usize,
}

impl RawDocument {
    /// Whether the document holds nothing but blanks and comments.
    pub fn is_blank(&self) -> bool {
        self.text.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#') || t == "---"
        })
    }
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']))
}

/// Split a stream at `---` / `...` marker lines. Content written on a `---` line itself
/// (`--- {a: 1}`) stays in its document.
pub fn split_documents(text: &str) -> Vec<RawDocument> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start_line = 1;
    let mut push = |current: &mut String, start_line: usize| {
        let mut text = std::mem::take(current);
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        docs.push(RawDocument {
            text,
            line: start_line,
        });
    };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches('\n');
        if is_marker(bare, "---") {
            push(&mut current, start_line);
            start_line = i + 1;
            let rest = bare[3..].trim_start_matches([' ', '\t']);
            if !rest.trim().is_empty() && !rest.trim_start().starts_with('#') {
                current.push_str(rest);
                current.push('\n');
            } else {
                start_line = i + 2;
            }
        } else if is_marker(bare, "...") {
            push(&mut current, start_line);
            start_line = i + 2;
        } else {
            current.push_str(line);
        }
    }
    push(&mut current, start_line);
    docs.retain(|d| !d.is_blank());
    docs
}

/// The `sops` block of a document if it is SOPS-encrypted (a top-level `sops` mapping with
/// a non-empty `mac`, the rule Flux applies), else `None`. A document that mentions `sops`
/// but does not parse is reported, without quoting it.
pub fn sops_block(doc: &RawDocument) -> Result<Option<Value>, String> {
    if !doc.text.contains("sops") {
        return Ok(None);
    }
    // The manifest parser reports positions and structure, never input text.
    let parsed = parse_documents("document", &doc.text).map_err(|e| {
        format!(
            "invalid {} at line {}, column {}: {}",
            e.format,
            doc.line + e.line.saturating_sub(1),
            e.column,
            e.reason
        )
    })?;
    let Some(first) = parsed.first() else {
        return Ok(None);
    };
    Ok(first
        .value
        .get("sops")
        .filter(|s| {
            s.get("mac")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty())
        })
        .cloned())
}

/// Join documents into a stream: each ends with a line break and is separated by `---`.
pub fn join_documents<'a>(docs: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(d);
        if !d.is_empty() && !d.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_markers_only_at_column_zero() {
        let text = "a: 1\n---\nb: |\n  ---\n  x\n--- # c\nc: 3\n...\n---\nd: 4\n";
        let docs = split_documents(text);
        let texts: Vec<&str> = docs.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(texts, ["a: 1\n", "b: |\n  ---\n  x\n", "c: 3\n", "d: 4\n"]);
        assert_eq!(docs[1].line, 3);
        assert_eq!(docs[2].line, 7);
        assert_eq!(docs[3].line, 10);
    }

    #[test]
    fn content_on_the_marker_line_stays() {
        let docs = split_documents("--- {a: 1}\n---\nb: 2");
        assert_eq!(docs[0].text, "{a: 1}\n");
        assert_eq!(docs[1].text, "b: 2\n");
    }

    #[test]
    fn blank_and_comment_only_documents_are_dropped() {
        let docs = split_documents("---\n# Source: x\n---\n\na: 1\n---\n");
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0].text, "\na: 1\n");
    }

    #[test]
    fn sops_block_needs_a_mac() {
        let enc = RawDocument {
            text: "a: ENC[x]\nsops:\n  mac: ENC[y]\n  version: 3.11.0\n".into(),
            line: 1,
        };
        assert!(sops_block(&enc).unwrap().is_some());
        let no_mac = RawDocument {
            text: "a: 1\nsops:\n  mac: \"\"\n".into(),
            line: 1,
        };
        assert!(sops_block(&no_mac).unwrap().is_none());
        let plain = RawDocument {
            text: "data:\n  sops: yes\n".into(),
            line: 1,
        };
        assert!(sops_block(&plain).unwrap().is_none());
    }

    #[test]
    fn unparsable_document_is_reported_without_its_text() {
        let bad = RawDocument {
            text: "sops: [unclosed s3cr3t\n".into(),
            line: 1,
        };
        let err = sops_block(&bad).unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn join_separates_and_terminates() {
        assert_eq!(join_documents(["a: 1", "b: 2\n"]), "a: 1\n---\nb: 2\n");
    }
}
