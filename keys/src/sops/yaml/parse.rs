//! YAML documents with byte ranges, built from granit-parser's event stream.
//!
//! The store never re-serialises a document: it splices new text into byte ranges of the
//! original. This module turns events (which carry byte offsets, comments and anchors) into a
//! small node tree that remembers where every scalar, comment and alias lives.

use granit_parser::{Event, Parser, ScalarStyle, StructureStyle};

use crate::limits::{Limits, YamlBudget, check_size, nesting_error, parser_options};
use crate::sops::error::{Result, SopsError};

/// A byte range in the source.
pub type Span = (usize, usize);

/// A node of a parsed document.
#[derive(Debug)]
pub struct YNode {
    /// What it is.
    pub kind: YKind,
    /// Where its content starts (after anchor/tag).
    pub start: usize,
    /// Where it ends (for block collections: where the next token starts).
    pub end: usize,
    /// Anchor id (0 = none).
    pub anchor: usize,
    /// Start of the first property (`&a`/`!tag`) written before the content, if any.
    pub props_start: Option<usize>,
}

/// Node kinds.
#[derive(Debug)]
pub enum YKind {
    /// A mapping.
    Map {
        /// `key, value` pairs.
        entries: Vec<(YNode, YNode)>,
        /// `{…}` style.
        flow: bool,
    },
    /// A sequence.
    Seq {
        /// Items.
        items: Vec<YNode>,
        /// `[…]` style.
        flow: bool,
    },
    /// A scalar.
    Scalar(YScalar),
    /// `*name`, and whether it sits inside a flow collection.
    Alias(usize, bool),
}

/// A scalar with its presentation.
#[derive(Debug)]
pub struct YScalar {
    /// Value after escape processing / folding.
    pub value: String,
    /// Presentation style.
    pub style: ScalarStyle,
    /// Tag as (is core `tag:yaml.org,2002:`, suffix), if explicit.
    pub tag: Option<(bool, String)>,
    /// Where the tag token starts, if any.
    pub tag_start: Option<usize>,
    /// The raw text range (block scalars: from the `|`/`>` indicator to the end of the
    /// last non-blank content line).
    pub span: Span,
    /// In a flow collection.
    pub in_flow: bool,
}

/// A comment (`#` to end of line).
#[derive(Debug, Clone)]
pub struct YComment {
    /// Position of `#`.
    pub start: usize,
    /// End of the comment (before the line break).
    pub end: usize,
}

/// One document of a stream.
#[derive(Debug)]
pub struct YDoc {
    /// The root node (`None` for an empty document).
    pub root: Option<YNode>,
    /// Comments inside the document, in order.
    pub comments: Vec<YComment>,
    /// Byte offset where the document's content region ends (start of `---`/`...` of the
    /// next document marker, or end of input).
    pub end: usize,
    /// Anchor names by id.
    pub anchors: Vec<(usize, String)>,
}

enum Frame {
    Map {
        node: YNode,
        entries: Vec<(YNode, YNode)>,
        pending_key: Option<YNode>,
        flow: bool,
    },
    Seq {
        node: YNode,
        items: Vec<YNode>,
        flow: bool,
    },
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

/// Column (in bytes) of a position.
pub fn column(text: &str, pos: usize) -> usize {
    pos - line_start(text, pos)
}

/// Find the `|`/`>` indicator of a block scalar whose content starts at `content_start`.
fn block_header(text: &str, content_start: usize, indicator: u8) -> Option<usize> {
    let b = text.as_bytes();
    // The header is on the last non-blank line before the content.
    let mut ls = line_start(text, content_start);
    let header_line = loop {
        if ls == 0 {
            break 0;
        }
        let prev = line_start(text, ls - 1);
        if text[prev..ls - 1].trim().is_empty() {
            ls = prev;
            continue;
        }
        break prev;
    };
    let line_end = text[header_line..]
        .find('\n')
        .map_or(text.len(), |i| header_line + i);
    let line = &b[header_line..line_end];
    // Comment start: '#' at line start or after whitespace.
    let mut comment = line.len();
    for i in 0..line.len() {
        if line[i] == b'#' && (i == 0 || line[i - 1] == b' ' || line[i - 1] == b'\t') {
            comment = i;
            break;
        }
    }
    let mut found = None;
    for i in 0..comment {
        if line[i] == indicator && (i == 0 || matches!(line[i - 1], b' ' | b'\t' | b':' | b'-')) {
            let mut j = i + 1;
            while j < comment && matches!(line[j], b'0'..=b'9' | b'+' | b'-') {
                j += 1;
            }
            if j == comment || matches!(line[j], b' ' | b'\t') {
                found = Some(header_line + i);
            }
        }
    }
    found
}

/// Whether a line of a block scalar has content: anything but spaces (and a line break).
/// Tabs count — after the indentation a tab is text, and a line of only tabs is not empty.
fn has_content(line: &str) -> bool {
    !line
        .trim_start_matches(' ')
        .trim_end_matches(['\n', '\r'])
        .is_empty()
}

fn trim_block_end(text: &str, start: usize, end: usize) -> usize {
    // End of the last content line of a block scalar whose header starts at `start`. Spaces
    // after the last visible character are content (a block scalar keeps them), and so is a
    // line of only spaces when it is indented deeper than the block: the range must cover
    // them, or a value spliced over the range leaves them behind (`ENC[…] ` no longer reads
    // back). Lines of at most the block's indentation are blank lines, not content.
    let slice = &text[start..end];
    let body = slice.find('\n').map_or(slice.len(), |i| i + 1);
    let indent_of = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let block_indent = slice[body..]
        .split('\n')
        .find(|l| has_content(l))
        .map(indent_of);
    let mut last_end = slice.trim_end_matches([' ', '\t', '\n', '\r']).len();
    let mut at = body;
    for line in slice[body..].split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let is_content = has_content(content)
            || block_indent
                .is_some_and(|n| indent_of(content) > n && at + content.len() > last_end);
        if is_content {
            last_end = last_end.max(at + content.len());
        }
        at += line.len();
    }
    start + last_end
}

fn parse_err(reason: String) -> SopsError {
    SopsError::Parse {
        format: "YAML",
        reason,
    }
}

/// Parse a YAML stream into documents with byte ranges, within [`Limits::DEFAULT`].
pub fn parse_stream(text: &str) -> Result<Vec<YDoc>> {
    parse_stream_with_limits(text, &Limits::DEFAULT)
}

/// Parse a YAML stream into documents with byte ranges. Every event first goes through a
/// [`YamlBudget`], so a stream whose alias expansion, nesting or document count exceeds
/// `limits` is refused before the tree (which the store later expands aliases into) exists.
pub fn parse_stream_with_limits(text: &str, limits: &Limits) -> Result<Vec<YDoc>> {
    let limit_err = |source| SopsError::Limit {
        format: "YAML",
        source,
    };
    check_size(text.len(), limits).map_err(limit_err)?;
    let mut budget = YamlBudget::new(*limits);
    let mut opts = parser_options(limits);
    opts.emit_comments = true;
    opts.emit_anchor_events = true;
    let parser = Parser::new_from_str_with_options(text, opts);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut cur: Option<YDoc> = None;
    let mut pending_props: Option<usize> = None;
    let mut pending_comments: Vec<YComment> = Vec::new();
    let mut flow_depth = 0usize;

    fn attach(stack: &mut [Frame], cur: &mut Option<YDoc>, node: YNode) -> Result<()> {
        match stack.last_mut() {
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => {
                if let Some(k) = pending_key.take() {
                    entries.push((k, node));
                } else {
                    *pending_key = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            None => {
                if let Some(doc) = cur.as_mut() {
                    doc.root = Some(node);
                }
            }
        }
        Ok(())
    }

    for ev in parser {
        let (ev, span) = ev.map_err(|e| match nesting_error(&e, limits) {
            Some(source) => limit_err(source),
            None => parse_err(e.to_string()),
        })?;
        budget.event(&ev).map_err(limit_err)?;
        let s = span.start.byte_offset().unwrap_or(span.start.index());
        let e = span.end.byte_offset().unwrap_or(span.end.index());
        match ev {
            Event::StreamStart | Event::StreamEnd => {}
            Event::Comment(_, _) => {
                let c = YComment { start: s, end: e };
                match cur.as_mut() {
                    Some(d) => d.comments.push(c),
                    None => pending_comments.push(c),
                }
            }
            Event::DocumentStart(..) => {
                cur = Some(YDoc {
                    root: None,
                    comments: std::mem::take(&mut pending_comments),
                    end: text.len(),
                    anchors: Vec::new(),
                });
            }
            Event::DocumentEnd => {
                if let Some(mut d) = cur.take() {
                    // `e` is after an explicit `...`; the content ends before the marker.
                    d.end = if e > s { s } else { e };
                    docs.push(d);
                }
            }
            Event::Anchor(id, name) => {
                if let Some(d) = cur.as_mut() {
                    d.anchors.push((id, name.to_string()));
                }
                // The anchor event follows its node: record where its properties start.
                let fix = |n: &mut YNode| {
                    if n.anchor == id {
                        n.props_start = Some(n.props_start.map_or(s, |p| p.min(s)));
                    }
                };
                match stack.last_mut() {
                    Some(Frame::Map {
                        node,
                        entries,
                        pending_key,
                        ..
                    }) => {
                        if node.anchor == id && entries.is_empty() && pending_key.is_none() {
                            fix(node);
                        } else if let Some(k) = pending_key.as_mut() {
                            fix(k);
                        } else if let Some((_, v)) = entries.last_mut() {
                            fix(v);
                        }
                    }
                    Some(Frame::Seq { node, items, .. }) => {
                        if node.anchor == id && items.is_empty() {
                            fix(node);
                        } else if let Some(v) = items.last_mut() {
                            fix(v);
                        }
                    }
                    None => {
                        if let Some(Some(root)) = cur.as_mut().map(|d| d.root.as_mut()) {
                            fix(root);
                        }
                    }
                }
                let _ = pending_props.take();
            }
            Event::Scalar(value, style, anchor, tag) => {
                let in_flow = flow_depth > 0;
                let tag_start = span.tag_start.map(|m| m.byte_offset().unwrap_or(m.index()));
                let mut sspan = (s, e);
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    let ind = if style == ScalarStyle::Literal {
                        b'|'
                    } else {
                        b'>'
                    };
                    let header = block_header(text, s, ind).ok_or_else(|| {
                        parse_err(format!(
                            "cannot locate the block scalar header before byte {s}"
                        ))
                    })?;
                    let end = trim_block_end(text, header, e.max(s)).max(header + 1);
                    sspan = (header, end);
                }
                let tag = tag.map(|t| (t.handle() == "tag:yaml.org,2002:", t.suffix().to_string()));
                let node = YNode {
                    kind: YKind::Scalar(YScalar {
                        value: value.to_string(),
                        style,
                        tag,
                        tag_start,
                        span: sspan,
                        in_flow,
                    }),
                    start: sspan.0,
                    end: sspan.1,
                    anchor,
                    props_start: tag_start,
                };
                attach(&mut stack, &mut cur, node)?;
            }
            Event::Alias(id) => {
                let node = YNode {
                    kind: YKind::Alias(id, flow_depth > 0),
                    start: s,
                    end: e,
                    anchor: 0,
                    props_start: None,
                };
                attach(&mut stack, &mut cur, node)?;
            }
            Event::MappingStart(style, anchor, _tag) => {
                let flow = style == StructureStyle::Flow;
                if flow {
                    flow_depth += 1;
                }
                stack.push(Frame::Map {
                    node: YNode {
                        kind: YKind::Scalar(YScalar {
                            value: String::new(),
                            style: ScalarStyle::Plain,
                            tag: None,
                            tag_start: None,
                            span: (s, s),
                            in_flow: false,
                        }),
                        start: s,
                        end: s,
                        anchor,
                        props_start: span.tag_start.map(|m| m.byte_offset().unwrap_or(m.index())),
                    },
                    entries: Vec::new(),
                    pending_key: None,
                    flow,
                });
            }
            Event::SequenceStart(style, anchor, _tag) => {
                let flow = style == StructureStyle::Flow;
                if flow {
                    flow_depth += 1;
                }
                stack.push(Frame::Seq {
                    node: YNode {
                        kind: YKind::Alias(0, false),
                        start: s,
                        end: s,
                        anchor,
                        props_start: span.tag_start.map(|m| m.byte_offset().unwrap_or(m.index())),
                    },
                    items: Vec::new(),
                    flow,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let frame = stack
                    .pop()
                    .ok_or_else(|| parse_err("unbalanced collection end".into()))?;
                let node = match frame {
                    Frame::Map {
                        mut node,
                        entries,
                        pending_key,
                        flow,
                    } => {
                        if pending_key.is_some() {
                            return Err(parse_err("mapping key without value".into()));
                        }
                        if flow {
                            flow_depth -= 1;
                        }
                        node.end = e;
                        node.kind = YKind::Map { entries, flow };
                        node
                    }
                    Frame::Seq {
                        mut node,
                        items,
                        flow,
                    } => {
                        if flow {
                            flow_depth -= 1;
                        }
                        node.end = e;
                        node.kind = YKind::Seq { items, flow };
                        node
                    }
                };
                attach(&mut stack, &mut cur, node)?;
            }
            _ => {}
        }
    }
    if let Some(d) = cur.take() {
        docs.push(d);
    }
    // Comments after the last document belong to it.
    if let Some(last) = docs.last_mut() {
        last.comments.extend(pending_comments);
    }
    Ok(docs)
}
