//! The YAML store: byte-preserving encryption and decryption.
//!
//! sops parses YAML into a tree and re-emits it, which normalises the layout (indent 4,
//! expanded flow style, comments moved). This store instead splices into the original text:
//! encrypting replaces exactly the scalars (and comments) that get encrypted and appends a
//! `sops:` block to each document; decrypting replaces `ENC[…]` scalars with their values
//! and strips the block. Every other byte stays as it was.
//!
//! **How a value is written back.** A plain `ENC[…]` (what sops writes) decrypts to the
//! value printed the way yaml.v3 prints it, so files written by sops decrypt byte-for-byte
//! like `sops decrypt`. When sealbox encrypts a scalar whose original text is *not* that
//! canonical form, it keeps the original presentation on the encrypted scalar instead, which
//! sops reads as the same string: `"ENC[…]"` (was double-quoted), `'ENC[…]'` (single-quoted),
//! `|-` block with the original indentation (literal/folded block), `!!str ENC[…]` (a plain
//! string yaml.v3 would have quoted, e.g. `yes`). Decrypting renders the value back in that
//! presentation, so encrypt → decrypt gives the original bytes.
//!
//! **Known differences** (documented, tested): typed scalars written in a non-canonical
//! spelling (`0x1F`, `1.0`, `True`, `2024-01-01`, `!!binary`) decrypt to sops' canonical
//! spelling; folded (`>`) blocks decrypt as literal blocks; an alias (`*a`) to an encrypted
//! scalar is replaced by its own encrypted copy (sops expands aliases and encrypts each copy
//! with its own path, so keeping `*a` would make the file undecryptable by sops); an alias to
//! a *collection* containing encrypted values is rejected with a clear error.

pub mod parse;
pub mod scalar;
pub mod splice;

use std::collections::HashMap;

use granit_parser::ScalarStyle;

use self::parse::{YDoc, YKind, YNode, column, parse_stream_with_limits};
use self::scalar::{Context, Resolved, Style};
use super::cipher::{EncryptedValue, Plain, Scalar};
use super::error::{Location, Result, SopsError};
use super::metadata::MetaValue;
use super::tree::{MapItem, NO_SITE, Node, PlainTree, Sealed, SealedTree, Site};
use crate::limits::Limits;

/// A place in the text that a leaf or comment came from.
#[derive(Debug, Clone)]
enum SiteKind {
    /// A scalar value.
    Scalar {
        /// Replaceable range (from the tag if there is one).
        range: (usize, usize),
        /// The scalar text alone.
        text_range: (usize, usize),
        style: Style,
        tagged_str: bool,
        has_tag: bool,
        ctx: Context,
        /// Start of the `- ` indicator if this is a block sequence item.
        dash: Option<usize>,
        /// Column of the first content line (block scalars).
        content_indent: usize,
    },
    /// A `#` comment: the range after `#`.
    Comment { range: (usize, usize) },
    /// An alias to a scalar (`*a`).
    Alias {
        range: (usize, usize),
        ctx: Context,
        /// The range of the anchored node it copies.
        target: (usize, usize),
    },
}

/// A parsed YAML file: its text, documents and where each tree leaf lives.
pub struct YamlText<'t> {
    text: &'t str,
    docs: Vec<YDoc>,
    sites: Vec<SiteKind>,
    /// Per document: the byte range of the `sops:` entry (line start to end), if present.
    meta_ranges: Vec<Option<(usize, usize)>>,
    /// The metadata block of the first document that has one.
    metadata: Option<MetaValue>,
    indent: usize,
}

fn scalar_style(s: ScalarStyle) -> Style {
    match s {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted => Style::Single,
        ScalarStyle::DoubleQuoted => Style::Double,
        ScalarStyle::Literal => Style::Literal,
        _ => Style::Folded,
    }
}

/// Offsets where lines start, for O(log n) line lookups on megabyte files.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect()
}

fn line_start(text: &str, pos: usize) -> usize {
    text[..pos].rfind('\n').map_or(0, |i| i + 1)
}

fn unsupported(doc: usize, path: &[String], reason: impl Into<String>) -> SopsError {
    SopsError::Unsupported {
        format: "YAML",
        location: Location::new(doc, path),
        reason: reason.into(),
    }
}

/// A document whose root is an empty/null plain scalar (`---` alone, `--- ~`): sops reads it
/// as an empty mapping.
fn is_null_root(root: &YNode) -> bool {
    matches!(&root.kind, YKind::Scalar(s)
        if s.style == ScalarStyle::Plain && matches!(scalar::resolve_plain(&s.value), Resolved::Null))
}

/// Resolve a scalar node to its sops value.
fn resolve(s: &parse::YScalar) -> Option<Resolved> {
    if let Some((core, suffix)) = &s.tag {
        return scalar::resolve_tagged(suffix, *core, &s.value, s.style != ScalarStyle::Plain);
    }
    Some(if s.style == ScalarStyle::Plain {
        scalar::resolve_plain(&s.value)
    } else {
        Resolved::Value(Scalar::Str(s.value.clone()))
    })
}

/// Builds the sops tree of one document.
struct Builder<'a, 't> {
    text: &'t str,
    doc: &'a YDoc,
    doc_index: usize,
    sites: &'a mut Vec<SiteKind>,
    anchors: HashMap<usize, &'a YNode>,
    used_comments: Vec<bool>,
    line_starts: &'a [usize],
    remaining_comments: usize,
    indent: usize,
    /// Leaves of encrypted files become `Sealed`; of plain files `Plain`.
    sealed: bool,
}

enum Leafy {
    Plain(Plain),
    Sealed(Sealed),
}

impl<'a> Builder<'a, '_> {
    fn collect_anchors(&mut self, n: &'a YNode) {
        if n.anchor != 0 {
            self.anchors.insert(n.anchor, n);
        }
        match &n.kind {
            YKind::Map { entries, .. } => {
                for (k, v) in entries {
                    self.collect_anchors(k);
                    self.collect_anchors(v);
                }
            }
            YKind::Seq { items, .. } => items.iter().for_each(|i| self.collect_anchors(i)),
            _ => {}
        }
    }

    fn line_of(&self, pos: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= pos)
    }

    fn site(&mut self, s: SiteKind) -> Site {
        self.sites.push(s);
        (self.sites.len() - 1) as Site
    }

    /// Comments in `[from, to)` at column ≥ `min_col` not yet placed, as (sort key, item).
    fn take_comments(
        &mut self,
        from: usize,
        to: usize,
        min_col: usize,
        skip_line: Option<usize>,
    ) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if self.remaining_comments == 0 {
            return out;
        }
        // Comments arrive in document order: only look at those inside [from, to).
        let first = self.doc.comments.partition_point(|c| c.start < from);
        for (i, c) in self.doc.comments.iter().enumerate().skip(first) {
            if c.start >= to {
                break;
            }
            if self.used_comments[i] {
                continue;
            }
            if column(self.text, c.start) < min_col {
                continue;
            }
            if skip_line == Some(self.line_of(c.start)) {
                continue;
            }
            self.used_comments[i] = true;
            self.remaining_comments -= 1;
            out.push((c.start, i));
        }
        out
    }

    fn comment_leaf(&mut self, idx: usize) -> (Leafy, Site) {
        let c = &self.doc.comments[idx];
        let body = &self.text[c.start + 1..c.end];
        let site = self.site(SiteKind::Comment {
            range: (c.start + 1, c.end),
        });
        let leaf = if self.sealed {
            match EncryptedValue::parse_exact(body) {
                Some(e) => Leafy::Sealed(Sealed::Enc(e)),
                None => Leafy::Sealed(Sealed::Clear(Plain::Comment(body.to_string()))),
            }
        } else {
            Leafy::Plain(Plain::Comment(body.to_string()))
        };
        (leaf, site)
    }

    fn block_indent_for_map(&self, key_col: usize) -> usize {
        let n = self.indent.max(1);
        n * ((key_col + n) / n)
    }

    fn scalar_leaf(
        &mut self,
        s: &parse::YScalar,
        node: &YNode,
        path: &[String],
        parent_block_indent: usize,
        dash: Option<usize>,
    ) -> Result<Node<Leafy>> {
        let ctx = Context {
            flow: s.in_flow,
            key: false,
            block_indent: parent_block_indent,
            best_indent: self.indent,
        };
        let tag_start = s.tag_start.filter(|t| *t < s.span.0);
        let content_indent = if matches!(s.style, ScalarStyle::Literal | ScalarStyle::Folded) {
            // The first line with content sets a block's indentation (YAML's auto-detection).
            // Leading blank lines — empty, or spaces only and possibly less indented — do
            // not: taking the first line after the header put an encrypted value at column
            // 0 or 1 under `|-`, where it no longer belongs to the block (fuzz finding). A
            // block of only blank lines gets one column more than its header.
            let header = s.span.0.min(s.span.1);
            let body_start = self.text[header..s.span.1]
                .find('\n')
                .map_or(s.span.1, |i| header + i + 1);
            let indent_of = |l: &str| l.len() - l.trim_start_matches(' ').len();
            self.text[body_start..s.span.1]
                .split('\n')
                .find(|l| !l.trim_start_matches(' ').trim_end_matches('\r').is_empty())
                .map(indent_of)
                .unwrap_or_else(|| header - line_start(self.text, header) + 1)
        } else {
            0
        };
        let site = self.site(SiteKind::Scalar {
            range: (tag_start.unwrap_or(s.span.0), s.span.1),
            text_range: s.span,
            style: scalar_style(s.style),
            tagged_str: matches!(&s.tag, Some((true, t)) if t == "str"),
            has_tag: s.tag.is_some(),
            ctx,
            dash,
            content_indent,
        });
        let _ = node;
        // Whether a value that looks encrypted must be is for the rules to say when the tree is
        // opened (a clear `x_unencrypted: ENC[…` is kept verbatim, as sops does).
        if self.sealed
            && s.tag.as_ref().is_none_or(|(core, t)| *core && t == "str")
            && let Some(e) = EncryptedValue::parse_exact(&s.value)
        {
            return Ok(Node::Leaf(Leafy::Sealed(Sealed::Enc(e)), site));
        }
        match resolve(s) {
            None => Err(unsupported(
                self.doc_index,
                path,
                "tagged value does not match its tag",
            )),
            Some(Resolved::Null) => Ok(Node::Null(site)),
            Some(Resolved::Uint(_)) => Err(SopsError::EncryptValue {
                location: Location::new(self.doc_index, path),
                reason: "Cannot walk value, unknown type: uint64 (integer beyond int64)".into(),
            }),
            Some(Resolved::Value(v)) => {
                let p = Plain::Value(v);
                Ok(Node::Leaf(
                    if self.sealed {
                        Leafy::Sealed(Sealed::Clear(p))
                    } else {
                        Leafy::Plain(p)
                    },
                    site,
                ))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn node(
        &mut self,
        n: &'a YNode,
        path: &mut Vec<String>,
        parent_block_indent: usize,
        dash: Option<usize>,
        via_alias: bool,
        region_start: usize,
        skip_line: Option<usize>,
    ) -> Result<Node<Leafy>> {
        match &n.kind {
            YKind::Scalar(s) => {
                let mut leaf = self.scalar_leaf(s, n, path, parent_block_indent, dash)?;
                if via_alias {
                    strip_sites(&mut leaf);
                }
                Ok(leaf)
            }
            YKind::Alias(id, alias_in_flow) => {
                let target = *self.anchors.get(id).ok_or_else(|| {
                    unsupported(self.doc_index, path, "alias to an unknown anchor")
                })?;
                let mut expanded = self.node(
                    target,
                    path,
                    parent_block_indent,
                    None,
                    true,
                    target.start,
                    None,
                )?;
                if let Node::Leaf(_, site) = &mut expanded {
                    // Where the alias is decides how its replacement is written (an
                    // `ENC[…]` inside `[…]` must be quoted), not where its anchor is.
                    let in_flow = *alias_in_flow;
                    *site = self.site(SiteKind::Alias {
                        range: (n.start, n.end),
                        target: (target.start, target.end),
                        ctx: Context {
                            flow: in_flow,
                            key: false,
                            block_indent: parent_block_indent,
                            best_indent: self.indent,
                        },
                    });
                }
                Ok(expanded)
            }
            YKind::Map { entries, flow } => {
                let key_col = entries
                    .first()
                    .map_or(0, |(k, _)| column(self.text, k.start));
                let mut items: Vec<(usize, MapItem<Leafy>)> = Vec::new();
                let region_end = n.end;
                for (i, (k, v)) in entries.iter().enumerate() {
                    let key = match &k.kind {
                        YKind::Scalar(s) => match resolve(s) {
                            Some(Resolved::Value(Scalar::Str(k))) => k,
                            _ if s.value == "<<" => s.value.clone(),
                            _ => {
                                return Err(unsupported(
                                    self.doc_index,
                                    path,
                                    format!(
                                        "Tree contains a non-string key at byte {}; only string keys are supported",
                                        k.start
                                    ),
                                ));
                            }
                        },
                        _ => {
                            return Err(unsupported(
                                self.doc_index,
                                path,
                                "complex mapping keys are not supported",
                            ));
                        }
                    };
                    let key_line = self.line_of(k.start);
                    path.push(key);
                    let child_indent = if *flow {
                        parent_block_indent
                    } else {
                        self.block_indent_for_map(key_col)
                    };
                    // The value's region starts after its key; a comment on the key's own
                    // line belongs to this map (sops keeps it before the entry).
                    let value = self.node(
                        v,
                        path,
                        child_indent,
                        None,
                        via_alias,
                        k.end,
                        Some(key_line),
                    )?;
                    let key = path.pop().expect("pushed");
                    let _ = (i, key_line);
                    items.push((k.start, MapItem::Entry(key, value)));
                }
                if !via_alias && self.remaining_comments > 0 {
                    let lines: Vec<(usize, usize)> = entries
                        .iter()
                        .map(|(k, _)| (self.line_of(k.start), k.start))
                        .collect();
                    let min_col = if *flow { 0 } else { key_col };
                    // A comment at the start of the map's region (before the first key) is
                    // found via the parent's region; here: from the first key to the end.
                    let from = region_start.min(n.start);
                    for (pos, idx) in self.take_comments(from, region_end, min_col, skip_line) {
                        let line = self.line_of(pos);
                        let sort = lines
                            .iter()
                            .find(|(l, _)| *l == line)
                            .map_or(pos, |(_, s)| s.saturating_sub(1));
                        let (leaf, site) = self.comment_leaf(idx);
                        items.push((sort, MapItem::Comment(leaf, site)));
                    }
                }
                items.sort_by_key(|(s, _)| *s);
                Ok(Node::Map(items.into_iter().map(|(_, i)| i).collect()))
            }
            YKind::Seq { items, flow } => {
                let mut out: Vec<(usize, Node<Leafy>)> = Vec::new();
                let mut dash_col = 0;
                for item in items {
                    let start = item.props_start.unwrap_or(item.start).min(item.start);
                    let dash_pos = if *flow {
                        None
                    } else {
                        find_dash(self.text, start)
                    };
                    if let Some(d) = dash_pos {
                        dash_col = column(self.text, d);
                    }
                    let child_indent = if *flow {
                        parent_block_indent
                    } else {
                        dash_col + 2
                    };
                    let region = dash_pos.unwrap_or(start);
                    let node = self.node(
                        item,
                        path,
                        child_indent,
                        dash_pos,
                        via_alias,
                        region,
                        Some(self.line_of(region)),
                    )?;
                    out.push((dash_pos.unwrap_or(start), node));
                }
                if !via_alias && self.remaining_comments > 0 {
                    let lines: Vec<(usize, usize)> =
                        out.iter().map(|(s, _)| (self.line_of(*s), *s)).collect();
                    let min_col = if *flow { 0 } else { dash_col };
                    for (pos, idx) in
                        self.take_comments(region_start.min(n.start), n.end, min_col, skip_line)
                    {
                        let line = self.line_of(pos);
                        let sort = lines
                            .iter()
                            .find(|(l, _)| *l == line)
                            .map_or(pos, |(_, s)| s.saturating_sub(1));
                        let (leaf, site) = self.comment_leaf(idx);
                        out.push((sort, Node::Comment(leaf, site)));
                    }
                }
                out.sort_by_key(|(s, _)| *s);
                Ok(Node::Seq(out.into_iter().map(|(_, n)| n).collect()))
            }
        }
    }
}

fn strip_sites(n: &mut Node<Leafy>) {
    match n {
        Node::Leaf(_, s) | Node::Comment(_, s) | Node::Null(s) => *s = NO_SITE,
        Node::Seq(items) => items.iter_mut().for_each(strip_sites),
        Node::Map(items) => {
            for i in items {
                match i {
                    MapItem::Entry(_, v) => strip_sites(v),
                    MapItem::Comment(_, s) => *s = NO_SITE,
                }
            }
        }
    }
}

/// Position of the `-` indicator before a block sequence item starting at `start`.
fn find_dash(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = start;
    while i > 0 {
        i -= 1;
        match b[i] {
            b' ' | b'\t' => continue,
            b'-' => return Some(i),
            _ => return None,
        }
    }
    None
}

/// Nodes with sites that came from comments need re-sorting in the final order; the generic
/// conversions below turn the builder's tree into the two public type states.
fn into_plain(n: Node<Leafy>) -> Node<Plain> {
    match n {
        Node::Map(items) => Node::Map(
            items
                .into_iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k, into_plain(v)),
                    MapItem::Comment(Leafy::Plain(p), s) => MapItem::Comment(p, s),
                    MapItem::Comment(Leafy::Sealed(_), _) => unreachable!("plain builder"),
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.into_iter().map(into_plain).collect()),
        Node::Leaf(Leafy::Plain(p), s) => Node::Leaf(p, s),
        Node::Comment(Leafy::Plain(p), s) => Node::Comment(p, s),
        Node::Null(s) => Node::Null(s),
        _ => unreachable!("plain builder"),
    }
}

fn into_sealed(n: Node<Leafy>) -> Node<Sealed> {
    match n {
        Node::Map(items) => Node::Map(
            items
                .into_iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k, into_sealed(v)),
                    MapItem::Comment(Leafy::Sealed(p), s) => MapItem::Comment(p, s),
                    MapItem::Comment(Leafy::Plain(_), _) => unreachable!("sealed builder"),
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.into_iter().map(into_sealed).collect()),
        Node::Leaf(Leafy::Sealed(p), s) => Node::Leaf(p, s),
        Node::Comment(Leafy::Sealed(p), s) => Node::Comment(p, s),
        Node::Null(s) => Node::Null(s),
        _ => unreachable!("sealed builder"),
    }
}

/// Convert the plain tree of a YAML node into a metadata value.
fn meta_from_plain(n: &Node<Plain>) -> MetaValue {
    match n {
        Node::Map(items) => MetaValue::Map(
            items
                .iter()
                .filter_map(|i| match i {
                    MapItem::Entry(k, v) => Some((k.clone(), meta_from_plain(v))),
                    MapItem::Comment(..) => None,
                })
                .collect(),
        ),
        Node::Seq(items) => MetaValue::List(
            items
                .iter()
                .filter(|i| !matches!(i, Node::Comment(..)))
                .map(meta_from_plain)
                .collect(),
        ),
        Node::Leaf(Plain::Value(v), _) => match v {
            Scalar::Str(s) => MetaValue::Str(s.clone()),
            Scalar::Int(i) => MetaValue::Int(*i),
            Scalar::Float(f) => MetaValue::Float(*f),
            Scalar::Bool(b) => MetaValue::Bool(*b),
            Scalar::Time(t) => MetaValue::Str(t.format_rfc3339_nano()),
            Scalar::Bytes(b) | Scalar::BinStr(b) => {
                MetaValue::Str(String::from_utf8_lossy(b).into_owned())
            }
        },
        Node::Leaf(Plain::Comment(_), _) | Node::Comment(..) | Node::Null(_) => MetaValue::Null,
    }
}

impl<'t> YamlText<'t> {
    fn build(
        text: &'t str,
        indent: usize,
        sealed: bool,
    ) -> Result<(YamlText<'t>, Vec<Node<Leafy>>)> {
        // Encrypted files are larger than their plaintext (every value becomes `ENC[…]`, each
        // document gains a `sops:` block): they get the encrypted-input limits, so whatever
        // sealbox encrypts within the plaintext limits it can read back.
        let limits = if sealed {
            Limits::SOPS_ENCRYPTED
        } else {
            Limits::DEFAULT
        };
        let docs = parse_stream_with_limits(text, &limits)?;
        let mut sites = Vec::new();
        let mut trees = Vec::new();
        let mut meta_ranges = Vec::new();
        let mut metadata = None;
        let starts = line_starts(text);
        for (di, doc) in docs.iter().enumerate() {
            let mut b = Builder {
                text,
                doc,
                doc_index: di,
                sites: &mut sites,
                anchors: HashMap::new(),
                used_comments: vec![false; doc.comments.len()],
                line_starts: &starts,
                remaining_comments: doc.comments.len(),
                indent,
                sealed,
            };
            if !sealed
                && let Some(root) = &doc.root
                && is_null_root(root)
                && root.end > root.start
            {
                return Err(unsupported(
                    di,
                    &[],
                    "a document that is an explicit null (`~`, `null`) cannot carry an appended sops block; leave the document empty",
                ));
            }
            let Some(root) = doc.root.as_ref().filter(|r| !is_null_root(r)) else {
                // An empty document (only comments, `---` or an empty root): comments go to
                // the root, so they are encrypted like every other comment.
                let mut items = Vec::new();
                for (pos, idx) in b.take_comments(0, doc.end.max(text.len()), 0, None) {
                    let _ = pos;
                    let (leaf, site) = b.comment_leaf(idx);
                    items.push(MapItem::Comment(leaf, site));
                }
                trees.push(Node::Map(items));
                meta_ranges.push(None);
                continue;
            };
            match &root.kind {
                YKind::Map { flow: false, .. } => {}
                YKind::Map { flow: true, .. } => {
                    return Err(unsupported(
                        di,
                        &[],
                        "a top-level flow mapping ({…}) cannot carry an appended sops block; write the document in block style",
                    ));
                }
                YKind::Seq { .. } => {
                    return Err(unsupported(
                        di,
                        &[],
                        "YAML documents that are sequences are not supported",
                    ));
                }
                YKind::Scalar(s)
                    if s.style == ScalarStyle::Plain
                        && matches!(scalar::resolve_plain(&s.value), Resolved::Null) =>
                {
                    trees.push(Node::Map(Vec::new()));
                    meta_ranges.push(None);
                    continue;
                }
                _ => {
                    return Err(unsupported(
                        di,
                        &[],
                        "YAML documents that are values are not supported",
                    ));
                }
            }
            b.collect_anchors(root);
            let tree = b.node(root, &mut Vec::new(), 0, None, false, 0, None)?;
            let Node::Map(mut items) = tree else {
                unreachable!("root is a mapping")
            };
            // Comments after the root mapping (foot comments) belong to it too.
            for (_, idx) in b.take_comments(0, doc.end.max(root.end).max(text.len()), 0, None) {
                let (leaf, site) = b.comment_leaf(idx);
                items.push(MapItem::Comment(leaf, site));
            }
            let YKind::Map { entries, .. } = &root.kind else {
                unreachable!()
            };
            // Pull out the `sops` entry.
            let mut meta_range = None;
            let mut kept = Vec::new();
            for item in items {
                if let MapItem::Entry(k, v) = &item
                    && k == "sops"
                {
                    let (kn, vnode) = entries
                        .iter()
                        .find(|(kn, _)| matches!(&kn.kind, YKind::Scalar(s) if s.value == "sops"))
                        .expect("entry");
                    let pos = kn.start;
                    let end = vnode.end.max(pos);
                    meta_range = Some((line_start(text, pos), end));
                    if metadata.is_none() {
                        let plain = match v {
                            n if sealed => into_plain(sealed_to_plain_leafy(n)),
                            n => into_plain(clone_leafy(n)),
                        };
                        metadata = Some(meta_from_plain(&plain));
                    }
                    continue;
                }
                kept.push(item);
            }
            meta_ranges.push(meta_range);
            trees.push(Node::Map(kept));
        }
        Ok((
            YamlText {
                text,
                docs,
                sites,
                meta_ranges,
                metadata,
                indent,
            },
            trees,
        ))
    }

    /// Parse a plaintext YAML file for encryption.
    pub fn parse_plain(text: &'t str, indent: usize) -> Result<(YamlText<'t>, PlainTree)> {
        // A bare CR is a YAML line break, but this store finds lines by LF: it would splice
        // into the wrong places and write a file it cannot read. LF and CRLF are fine.
        if let Some(at) = text
            .bytes()
            .enumerate()
            .position(|(i, b)| b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
        {
            return Err(SopsError::Parse {
                format: "YAML",
                reason: format!(
                    "bare carriage return (CR without LF) at byte {at}: sealbox reads YAML with LF or CRLF line breaks only; convert the file"
                ),
            });
        }
        let (y, trees) = Self::build(text, indent, false)?;
        // Only blank lines and comments: no document to carry the `sops:` block, so the
        // encrypted comments could never be decrypted again (sops refuses such files too).
        if y.docs.is_empty() {
            return Err(SopsError::EmptyInput);
        }
        if y.meta_ranges.iter().any(Option::is_some) {
            return Err(SopsError::AlreadyEncrypted);
        }
        Ok((y, trees.into_iter().map(into_plain).collect()))
    }

    /// Parse an encrypted YAML file; returns the metadata block too.
    pub fn parse_encrypted(
        text: &'t str,
        indent: usize,
    ) -> Result<(YamlText<'t>, SealedTree, MetaValue)> {
        let (mut y, trees) = Self::build(text, indent, true)?;
        let meta = y.metadata.take().ok_or(SopsError::MetadataNotFound)?;
        Ok((y, trees.into_iter().map(into_sealed).collect(), meta))
    }

    /// Text of the original for a site's scalar.
    fn original(&self, range: (usize, usize)) -> &str {
        &self.text[range.0..range.1]
    }

    /// Render the encrypted file: `sealed` is the result of sealing the tree this text was
    /// parsed into; `metadata_block` the `sops:` block (without trailing newline handling).
    pub fn render_encrypted(
        &self,
        plain: &PlainTree,
        sealed: &SealedTree,
        metadata: &MetaValue,
    ) -> Result<String> {
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        for (di, (p, s)) in plain.iter().zip(sealed).enumerate() {
            self.encrypt_edits(di, p, s, &mut Vec::new(), &mut edits)?;
        }
        let block = render_meta_block(metadata, self.indent);
        for (di, doc) in self.docs.iter().enumerate() {
            let at = self.doc_content_end(di, doc);
            // A top-level mapping need not start at column 0 (`  a: 1`): the block must be a
            // key of that mapping, so it takes the mapping's indentation.
            let root_col = doc
                .root
                .as_ref()
                .filter(|r| !is_null_root(r))
                .map_or(0, |r| column(self.text, r.start));
            let indented;
            let block = if root_col == 0 {
                &block
            } else {
                let pad = " ".repeat(root_col);
                indented = block
                    .split_inclusive('\n')
                    .map(|l| format!("{pad}{l}"))
                    .collect::<String>();
                &indented
            };
            let mut ins = String::new();
            let before = &self.text[..at];
            if at == self.text.len() && !before.is_empty() && !before.ends_with('\n') {
                // Keep a missing final newline missing: decrypt strips this exact text.
                ins.push('\n');
                ins.push_str(block.trim_end_matches('\n'));
            } else {
                ins.push_str(block);
            }
            edits.push((at, at, ins));
        }
        Ok(apply_edits(self.text, edits))
    }

    fn doc_content_end(&self, _di: usize, doc: &YDoc) -> usize {
        // Before the next document marker (or end of input); after trailing comments.
        let len = self.text.len();
        let mut end = doc.end.min(len);
        match &doc.root {
            Some(root) if !is_null_root(root) => end = end.max(root.end.min(len)),
            // An empty document (`---` alone, `--- ~`, only comments): its end may be right
            // after the marker and before its comments. The block goes after them.
            _ => {
                if let Some(last) = doc.comments.last() {
                    end = end.max(last.end.min(len));
                }
            }
        }
        // Never glue the block onto the middle of a line (`---sops:` is not a marker).
        if end > 0 && end < len && self.text.as_bytes()[end - 1] != b'\n' {
            end = self.text[end..].find('\n').map_or(len, |i| end + i + 1);
        }
        // If the document ends with an explicit `---`/`...` marker, `end` is its position.
        end
    }

    fn encrypt_edits(
        &self,
        doc: usize,
        p: &Node<Plain>,
        s: &Node<Sealed>,
        path: &mut Vec<String>,
        edits: &mut Vec<(usize, usize, String)>,
    ) -> Result<()> {
        match (p, s) {
            (Node::Map(pi), Node::Map(si)) => {
                for (a, b) in pi.iter().zip(si) {
                    match (a, b) {
                        (MapItem::Entry(k, pv), MapItem::Entry(_, sv)) => {
                            path.push(k.clone());
                            let r = self.encrypt_edits(doc, pv, sv, path, edits);
                            path.pop();
                            r?;
                        }
                        (MapItem::Comment(_, site), MapItem::Comment(Sealed::Enc(e), _)) => {
                            self.comment_edit(*site, e, edits);
                        }
                        _ => {}
                    }
                }
            }
            (Node::Seq(pi), Node::Seq(si)) => {
                for (a, b) in pi.iter().zip(si) {
                    self.encrypt_edits(doc, a, b, path, edits)?;
                }
            }
            (Node::Comment(_, site), Node::Comment(Sealed::Enc(e), _)) => {
                self.comment_edit(*site, e, edits)
            }
            (Node::Leaf(Plain::Value(v), site), Node::Leaf(Sealed::Enc(e), _)) => {
                if *site == NO_SITE {
                    return Err(unsupported(
                        doc,
                        path,
                        "an alias refers to a collection that contains values to encrypt; sops expands aliases and encrypts every copy with its own key path, which cannot be written without expanding the alias: expand it or exclude it from encryption",
                    ));
                }
                edits.push(self.value_edit(*site, v, e));
            }
            (Node::Leaf(Plain::Value(v), site), Node::Leaf(Sealed::Clear(_), _)) => {
                // A clear alias of an anchor that is now encrypted would read the ciphertext
                // (a MAC mismatch at once: the MAC covers the clear value; fuzz finding).
                // It becomes a copy of the value, as sops writes every alias.
                if let Some(SiteKind::Alias { range, ctx, target }) = self.sites.get(*site as usize)
                    && edits.iter().any(|(s, e, _)| *s < target.1 && target.0 < *e)
                {
                    let text = strip_one_newline(scalar::canonical(v, ctx));
                    edits.push((range.0, range.1, text));
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn comment_edit(
        &self,
        site: Site,
        e: &EncryptedValue,
        edits: &mut Vec<(usize, usize, String)>,
    ) {
        if let Some(SiteKind::Comment { range }) = self.sites.get(site as usize) {
            edits.push((range.0, range.1, e.to_string()));
        }
    }

    /// Choose how to write an encrypted scalar so that decrypting restores the original.
    fn value_edit(&self, site: Site, v: &Scalar, e: &EncryptedValue) -> (usize, usize, String) {
        let enc = e.to_string();
        match &self.sites[site as usize] {
            SiteKind::Alias { range, ctx, .. } => {
                let text = if ctx.flow { format!("\"{enc}\"") } else { enc };
                (range.0, range.1, text)
            }
            SiteKind::Comment { range } => (range.0, range.1, enc),
            SiteKind::Scalar {
                range,
                text_range,
                style,
                has_tag,
                ctx,
                content_indent,
                ..
            } => {
                let original = self.original(*text_range);
                let canonical = strip_one_newline(scalar::canonical(v, ctx));
                let is_str = matches!(v, Scalar::Str(_));
                let text = if !ctx.flow && !*has_tag && canonical == original {
                    enc
                } else if ctx.flow {
                    match style {
                        Style::Single if is_str => format!("'{enc}'"),
                        Style::Plain if is_str => format!("!!str \"{enc}\""),
                        _ => format!("\"{enc}\""),
                    }
                } else {
                    match style {
                        Style::Double if is_str => format!("\"{enc}\""),
                        Style::Single if is_str => format!("'{enc}'"),
                        Style::Literal | Style::Folded if is_str => {
                            format!("|-\n{}{enc}", " ".repeat(*content_indent))
                        }
                        Style::Plain if is_str && !*has_tag => format!("!!str {enc}"),
                        _ => enc,
                    }
                };
                (range.0, range.1, text)
            }
        }
    }

    /// Render the decrypted file from the opened tree (same shape as the parsed one).
    pub fn render_plain(&self, sealed: &SealedTree, plain: &PlainTree) -> Result<String> {
        let mut edits: Vec<(usize, usize, String)> = Vec::new();
        for (s, p) in sealed.iter().zip(plain) {
            self.decrypt_edits(s, p, &mut edits);
        }
        for (di, range) in self.meta_ranges.iter().enumerate() {
            if let Some((start, end)) = *range {
                let _ = di;
                let mut start = start;
                if end >= self.text.len() && !self.text.ends_with('\n') && start > 0 {
                    start -= 1;
                }
                edits.push((start, end, String::new()));
            }
        }
        Ok(apply_edits(self.text, edits))
    }

    fn decrypt_edits(
        &self,
        s: &Node<Sealed>,
        p: &Node<Plain>,
        edits: &mut Vec<(usize, usize, String)>,
    ) {
        match (s, p) {
            (Node::Map(si), Node::Map(pi)) => {
                for (a, b) in si.iter().zip(pi) {
                    match (a, b) {
                        (MapItem::Entry(_, sv), MapItem::Entry(_, pv)) => {
                            self.decrypt_edits(sv, pv, edits)
                        }
                        (
                            MapItem::Comment(Sealed::Enc(_), site),
                            MapItem::Comment(Plain::Comment(c), _),
                        ) => {
                            if let Some(SiteKind::Comment { range }) =
                                self.sites.get(*site as usize)
                            {
                                edits.push((range.0, range.1, c.clone()));
                            }
                        }
                        _ => {}
                    }
                }
            }
            (Node::Seq(si), Node::Seq(pi)) => {
                for (a, b) in si.iter().zip(pi) {
                    self.decrypt_edits(a, b, edits);
                }
            }
            (Node::Comment(Sealed::Enc(_), site), Node::Comment(Plain::Comment(c), _)) => {
                if let Some(SiteKind::Comment { range }) = self.sites.get(*site as usize) {
                    edits.push((range.0, range.1, c.clone()));
                }
            }
            (Node::Leaf(Sealed::Enc(_), site), Node::Leaf(plain, _) | Node::Comment(plain, _))
                if *site != NO_SITE =>
            {
                if let Some(edit) = self.plain_edit(*site, plain) {
                    edits.push(edit);
                }
            }
            _ => {}
        }
    }

    fn plain_edit(&self, site: Site, plain: &Plain) -> Option<(usize, usize, String)> {
        match &self.sites[site as usize] {
            SiteKind::Scalar {
                range,
                style,
                tagged_str,
                ctx,
                dash,
                content_indent,
                ..
            } => {
                let v = match plain {
                    Plain::Comment(c) => {
                        // sops 3.11 writes encrypted comments inside lists as `- ENC[…]` items.
                        let start = dash.unwrap_or(range.0);
                        return Some((start, range.1, format!("#{c}")));
                    }
                    Plain::Value(v) => v,
                };
                let text = match (v, style) {
                    (Scalar::Str(s), _) if *tagged_str => {
                        if scalar::plain_allowed(s, ctx) {
                            s.clone()
                        } else {
                            strip_one_newline(scalar::canonical(v, ctx))
                        }
                    }
                    (Scalar::Str(s), Style::Double) => scalar::write_double(s),
                    (Scalar::Str(s), Style::Single) => {
                        if scalar::select_style(s, Style::Single, ctx) == Style::Single {
                            scalar::write_single(s)
                        } else {
                            scalar::write_double(s)
                        }
                    }
                    (Scalar::Str(s), Style::Literal | Style::Folded) => {
                        self.literal_in_place(s, *range, *content_indent, ctx)
                    }
                    _ => strip_one_newline(scalar::canonical(v, ctx)),
                };
                Some((range.0, range.1, text))
            }
            SiteKind::Alias { .. } | SiteKind::Comment { .. } => None,
        }
    }

    /// A literal block written at an existing block's indentation; the value's trailing line
    /// breaks are already in the text after the block.
    fn literal_in_place(
        &self,
        s: &str,
        range: (usize, usize),
        indent: usize,
        ctx: &Context,
    ) -> String {
        if scalar::select_style(s, Style::Literal, ctx) != Style::Literal && !s.ends_with(' ') {
            return scalar::write_double(s);
        }
        if s.lines().any(|l| l.ends_with(' ') || l.ends_with('\t')) {
            // Trailing spaces would be ambiguous in a block; keep it exact.
            return scalar::write_double(s);
        }
        let body = s.trim_end_matches('\n');
        let breaks = s.len() - body.len();
        let mut out = String::from("|");
        if body.starts_with(' ') || body.starts_with('\n') {
            let header_line = line_start(self.text, range.0);
            let parent = self.text[header_line..].len()
                - self.text[header_line..].trim_start_matches(' ').len();
            out.push_str(&indent.saturating_sub(parent).max(1).to_string());
        }
        match breaks {
            0 => out.push('-'),
            1 => {}
            _ => out.push('+'),
        }
        // A value of only line breaks has no line of its own: they are all in the text after
        // the header (writing an empty line here added one more to a `|+` block).
        for line in body.split('\n').filter(|_| !body.is_empty()) {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&" ".repeat(indent));
                out.push_str(line);
            }
        }
        out
    }
}

fn strip_one_newline(mut s: String) -> String {
    if s.ends_with('\n') {
        s.pop();
    }
    s
}

fn apply_edits(text: &str, mut edits: Vec<(usize, usize, String)>) -> String {
    edits.sort_by_key(|(s, e, _)| (*s, *e));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.2.len()).sum::<usize>());
    let mut pos = 0;
    for (s, e, t) in edits {
        if s < pos {
            continue;
        }
        out.push_str(&text[pos..s]);
        out.push_str(&t);
        pos = e;
    }
    out.push_str(&text[pos..]);
    out
}

fn clone_leafy(n: &Node<Leafy>) -> Node<Leafy> {
    match n {
        Node::Map(items) => Node::Map(
            items
                .iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k.clone(), clone_leafy(v)),
                    MapItem::Comment(l, s) => MapItem::Comment(clone_leaf(l), *s),
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.iter().map(clone_leafy).collect()),
        Node::Leaf(l, s) => Node::Leaf(clone_leaf(l), *s),
        Node::Comment(l, s) => Node::Comment(clone_leaf(l), *s),
        Node::Null(s) => Node::Null(*s),
    }
}

fn clone_leaf(l: &Leafy) -> Leafy {
    match l {
        Leafy::Plain(p) => Leafy::Plain(p.clone()),
        Leafy::Sealed(s) => Leafy::Sealed(s.clone()),
    }
}

/// The metadata block is never encrypted: read its leaves as plain values.
fn sealed_to_plain_leafy(n: &Node<Leafy>) -> Node<Leafy> {
    let conv = |l: &Leafy| match l {
        Leafy::Sealed(Sealed::Clear(p)) => Leafy::Plain(p.clone()),
        Leafy::Sealed(Sealed::Enc(e)) => Leafy::Plain(Plain::Value(Scalar::Str(e.to_string()))),
        Leafy::Plain(p) => Leafy::Plain(p.clone()),
    };
    match n {
        Node::Map(items) => Node::Map(
            items
                .iter()
                .map(|i| match i {
                    MapItem::Entry(k, v) => MapItem::Entry(k.clone(), sealed_to_plain_leafy(v)),
                    MapItem::Comment(l, s) => MapItem::Comment(conv(l), *s),
                })
                .collect(),
        ),
        Node::Seq(items) => Node::Seq(items.iter().map(sealed_to_plain_leafy).collect()),
        Node::Leaf(l, s) => Node::Leaf(conv(l), *s),
        Node::Comment(l, s) => Node::Comment(conv(l), *s),
        Node::Null(s) => Node::Null(*s),
    }
}

/// Write a metadata block (`sops:` and its mapping) in yaml.v3's block style.
pub fn render_meta_block(meta: &MetaValue, indent: usize) -> String {
    let mut out = String::from("sops:");
    emit_value(meta, 0, indent, &mut out, ValuePos::MapValue);
    out.push('\n');
    out
}

#[derive(Clone, Copy, PartialEq)]
enum ValuePos {
    MapValue,
    SeqItem,
}

fn child_indent(parent: usize, n: usize) -> usize {
    n * ((parent + n) / n)
}

/// The indentation indicator of a block scalar (`|2`, needed when its text starts with a
/// space or a line break) whose lines are written at `content` after a key or `- ` at
/// column `parent`: YAML counts it from the parent's indentation. yaml.v3 (sops) writes its
/// indentation setting instead, which is the same for mapping values at sops' layout but
/// not for sequence items (sops writes `- |4-` over lines 2 columns in, a file neither sops
/// nor sealbox can read back): sealbox writes the indicator that reads back (fuzz finding).
fn block_indicator(content: usize, parent: usize) -> usize {
    content.saturating_sub(parent).max(1)
}

/// Emit `v` following a `key:` (at column `col`) or a `- ` (at column `col`).
fn emit_value(v: &MetaValue, col: usize, n: usize, out: &mut String, pos: ValuePos) {
    let n = n.max(1);
    match v {
        MetaValue::Map(m) if m.is_empty() => out.push_str(" {}"),
        MetaValue::List(l) if l.is_empty() => out.push_str(" []"),
        MetaValue::Map(m) => {
            let inner = if pos == ValuePos::SeqItem {
                col + 2
            } else {
                child_indent(col, n)
            };
            for (i, (k, v)) in m.iter().enumerate() {
                if i == 0 && pos == ValuePos::SeqItem {
                    out.push(' ');
                } else {
                    out.push('\n');
                    out.push_str(&" ".repeat(inner));
                }
                out.push_str(&scalar::canonical(
                    &Scalar::Str(k.clone()),
                    &Context {
                        flow: false,
                        key: true,
                        block_indent: inner,
                        best_indent: n,
                    },
                ));
                out.push(':');
                emit_value(v, inner, n, out, ValuePos::MapValue);
            }
        }
        MetaValue::List(l) => {
            let dash = if pos == ValuePos::SeqItem {
                col + 2
            } else {
                child_indent(col, n)
            };
            for (i, item) in l.iter().enumerate() {
                if i == 0 && pos == ValuePos::SeqItem {
                    out.push(' ');
                } else {
                    out.push('\n');
                    out.push_str(&" ".repeat(dash));
                }
                out.push('-');
                emit_value(item, dash, n, out, ValuePos::SeqItem);
            }
        }
        scalar_value => {
            let block_indent = if pos == ValuePos::SeqItem {
                col + 2
            } else {
                child_indent(col, n)
            };
            let ctx = Context {
                flow: false,
                key: false,
                block_indent,
                best_indent: block_indicator(block_indent, col),
            };
            let text = match scalar_value {
                MetaValue::Str(s) => scalar::canonical(&Scalar::Str(s.clone()), &ctx),
                MetaValue::Int(i) => i.to_string(),
                MetaValue::Float(f) => scalar::canonical(&Scalar::Float(*f), &ctx),
                MetaValue::Bool(b) => b.to_string(),
                _ => "null".to_string(),
            };
            out.push(' ');
            out.push_str(strip_one_newline(text).as_str());
        }
    }
}

/// Write a plain tree as sops does (yaml.v3 block style, comments as `#` lines).
pub fn render_plain_tree(n: &Node<Plain>, indent: usize) -> String {
    let mut out = String::new();
    match n {
        Node::Map(items) => {
            let mut first = true;
            for item in items {
                if !first {
                    out.push('\n');
                }
                first = false;
                match item {
                    MapItem::Comment(Plain::Comment(c), _) => {
                        out.push('#');
                        out.push_str(c);
                    }
                    MapItem::Comment(..) => {}
                    MapItem::Entry(k, v) => {
                        out.push_str(&key_text(k, indent));
                        out.push(':');
                        emit_plain(v, 0, indent, &mut out, ValuePos::MapValue);
                    }
                }
            }
            if !items.is_empty() {
                out.push('\n');
            } else {
                out.push_str("{}\n");
            }
        }
        other => {
            out.push('-');
            emit_plain(other, 0, indent, &mut out, ValuePos::MapValue);
            out.push('\n');
        }
    }
    out
}

fn key_text(k: &str, indent: usize) -> String {
    scalar::canonical(
        &Scalar::Str(k.to_string()),
        &Context {
            flow: false,
            key: true,
            block_indent: 0,
            best_indent: indent,
        },
    )
}

fn emit_plain(v: &Node<Plain>, col: usize, n: usize, out: &mut String, pos: ValuePos) {
    let n = n.max(1);
    match v {
        Node::Map(items) if !items.iter().any(|i| matches!(i, MapItem::Entry(..))) => {
            out.push_str(" {}")
        }
        Node::Seq(items) if !items.iter().any(|i| !matches!(i, Node::Comment(..))) => {
            out.push_str(" []")
        }
        Node::Map(items) => {
            let inner = if pos == ValuePos::SeqItem {
                col + 2
            } else {
                child_indent(col, n)
            };
            let mut first = true;
            for item in items {
                if first && pos == ValuePos::SeqItem && matches!(item, MapItem::Entry(..)) {
                    out.push(' ');
                } else {
                    out.push('\n');
                    out.push_str(&" ".repeat(inner));
                }
                first = false;
                match item {
                    MapItem::Comment(Plain::Comment(c), _) => {
                        out.push('#');
                        out.push_str(c);
                    }
                    MapItem::Comment(..) => {}
                    MapItem::Entry(k, v) => {
                        out.push_str(&key_text(k, n));
                        out.push(':');
                        emit_plain(v, inner, n, out, ValuePos::MapValue);
                    }
                }
            }
        }
        Node::Seq(items) => {
            let dash = if pos == ValuePos::SeqItem {
                col + 2
            } else {
                child_indent(col, n)
            };
            let mut first = true;
            for item in items {
                if first && pos == ValuePos::SeqItem && !matches!(item, Node::Comment(..)) {
                    out.push(' ');
                } else {
                    out.push('\n');
                    out.push_str(&" ".repeat(dash));
                }
                first = false;
                if let Node::Comment(Plain::Comment(c), _) = item {
                    out.push('#');
                    out.push_str(c);
                    continue;
                }
                out.push('-');
                emit_plain(item, dash, n, out, ValuePos::SeqItem);
            }
        }
        Node::Null(_) => out.push_str(" null"),
        Node::Comment(..) | Node::Leaf(Plain::Comment(_), _) => {}
        Node::Leaf(Plain::Value(s), _) => {
            let block_indent = if pos == ValuePos::SeqItem {
                col + 2
            } else {
                child_indent(col, n)
            };
            let ctx = Context {
                flow: false,
                key: false,
                block_indent,
                best_indent: block_indicator(block_indent, col),
            };
            out.push(' ');
            out.push_str(&strip_one_newline(scalar::canonical(s, &ctx)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_block_layout_matches_sops() {
        let m = MetaValue::Map(vec![
            (
                "age".into(),
                MetaValue::List(vec![MetaValue::Map(vec![
                    ("recipient".into(), MetaValue::Str("age1abc".into())),
                    ("enc".into(), MetaValue::Str("-----BEGIN AGE ENCRYPTED FILE-----\nAAA\n-----END AGE ENCRYPTED FILE-----\n".into())),
                ])]),
            ),
            ("lastmodified".into(), MetaValue::Str("2026-11-21T21:32:27Z".into())),
            ("unencrypted_suffix".into(), MetaValue::Str("_unencrypted".into())),
            ("version".into(), MetaValue::Str("3.11.0".into())),
        ]);
        let got = render_meta_block(&m, 4);
        let want = "sops:\n    age:\n        - recipient: age1abc\n          enc: |\n            -----BEGIN AGE ENCRYPTED FILE-----\n            AAA\n            -----END AGE ENCRYPTED FILE-----\n    lastmodified: \"2026-11-21T21:32:27Z\"\n    unencrypted_suffix: _unencrypted\n    version: 3.11.0\n";
        assert_eq!(got, want);
    }
}
