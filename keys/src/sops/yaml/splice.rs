//! Lossless `set` / `unset` on a YAML plaintext: the change is written into the text at the
//! byte range of the value, entry or list item it touches; every other byte stays as it was.
//!
//! sops re-emits the whole document after `set`/`unset` (indent 4, comments moved, flow style
//! expanded). Here a scalar replaced by a scalar keeps its quoting style where it can (the
//! same rules decrypt uses), a new key is appended after the last item of its mapping at
//! that mapping's indentation, a removed entry takes its lines with it (an inline comment on
//! its line stays, as a comment line). Structures this module does not handle (flow
//! collections, aliases, comments counted as list items, a mapping emptied by `unset`, …)
//! return `None`; the caller then falls back to re-rendering, and it also compares the
//! reparsed result with the tree the change must produce, so a splice can never change
//! anything but the layout it promises to keep.

use super::parse::{YKind, YNode, column};
use super::{SiteKind, ValuePos, YamlText, apply_edits, emit_plain, find_dash, key_text};
use crate::sops::cipher::Plain;
use crate::sops::path::{PathStep, from_path_and_leaf};
use crate::sops::tree::{MapItem, NO_SITE, Node, Site};

/// What to do at the path.
pub enum Change<'a> {
    /// Put this node there (create missing keys, append past the end of a list).
    Set(&'a Node<Plain>),
    /// Remove the entry or list item.
    Unset,
}

/// The new text of the first document after the change, or `None` if it cannot be spliced.
pub fn splice(text: &str, indent: usize, path: &[PathStep], change: Change<'_>) -> Option<String> {
    let (y, trees) = YamlText::parse_plain(text, indent).ok()?;
    let root = y.docs.first()?.root.as_ref()?;
    let tree = trees.first()?;
    let edit = Splicer { y: &y, indent }.plan(root, tree, path, &change)?;
    Some(apply_edits(text, vec![edit]))
}

type Edit = (usize, usize, String);

struct Splicer<'a, 't> {
    y: &'a YamlText<'t>,
    indent: usize,
}

impl Splicer<'_, '_> {
    fn text(&self) -> &str {
        self.y.text
    }

    fn plan(
        &self,
        yn: &YNode,
        tn: &Node<Plain>,
        path: &[PathStep],
        change: &Change<'_>,
    ) -> Option<Edit> {
        let (step, rest) = path.split_first()?;
        match (&yn.kind, tn, step) {
            (YKind::Map { entries, flow }, Node::Map(items), PathStep::Key(k)) => {
                let tree_entries: Vec<(&String, &Node<Plain>)> = items
                    .iter()
                    .filter_map(|i| match i {
                        MapItem::Entry(k, v) => Some((k, v)),
                        MapItem::Comment(..) => None,
                    })
                    .collect();
                if tree_entries.len() != entries.len() {
                    return None;
                }
                match tree_entries.iter().position(|(kk, _)| *kk == k) {
                    Some(j) => {
                        let (ky, vy) = &entries[j];
                        let vt = tree_entries[j].1;
                        if !rest.is_empty() {
                            return self.plan(vy, vt, rest, change);
                        }
                        match change {
                            Change::Set(new) => self.replace_entry_value(ky, vy, vt, new, *flow),
                            Change::Unset => self.remove_entry(entries, j, *flow),
                        }
                    }
                    None => match change {
                        Change::Unset => None,
                        Change::Set(new) => {
                            let sub = from_path_and_leaf(rest, (*new).clone());
                            self.insert_entry(entries, items, k, &sub, *flow)
                        }
                    },
                }
            }
            (
                YKind::Seq {
                    items: yitems,
                    flow,
                },
                Node::Seq(titems),
                PathStep::Index(i),
            ) => {
                if *i >= titems.len() {
                    return match change {
                        Change::Unset => None,
                        Change::Set(new) => {
                            let sub = from_path_and_leaf(rest, (*new).clone());
                            self.append_item(yitems, titems, &sub, *flow)
                        }
                    };
                }
                let t = &titems[*i];
                if matches!(t, Node::Comment(..)) {
                    return None;
                }
                let yi = titems[..*i]
                    .iter()
                    .filter(|n| !matches!(n, Node::Comment(..)))
                    .count();
                if titems
                    .iter()
                    .filter(|n| !matches!(n, Node::Comment(..)))
                    .count()
                    != yitems.len()
                {
                    return None;
                }
                let vy = yitems.get(yi)?;
                if !rest.is_empty() {
                    return self.plan(vy, t, rest, change);
                }
                match change {
                    Change::Set(new) => self.replace_item(vy, t, new, *flow),
                    Change::Unset => self.remove_item(yitems, yi, *flow),
                }
            }
            _ => None,
        }
    }

    /// A scalar replaced by a scalar, keeping the original presentation where possible.
    fn scalar_edit(&self, vy: &YNode, vt: &Node<Plain>, new: &Node<Plain>) -> Option<Edit> {
        if !matches!(vy.kind, YKind::Scalar(_)) {
            return None;
        }
        let site: Site = match vt {
            Node::Leaf(_, s) | Node::Null(s) => *s,
            _ => return None,
        };
        if site == NO_SITE {
            return None;
        }
        let SiteKind::Scalar { range, .. } = self.y.sites.get(site as usize)? else {
            return None;
        };
        let (mut start, mut end, mut text) = match new {
            Node::Leaf(p @ Plain::Value(_), _) => self.y.plain_edit(site, p)?,
            Node::Null(_) => (range.0, range.1, "null".to_string()),
            _ => return None,
        };
        // An empty value (`key:`, `-`) is reported at its indicator: write after it.
        let bytes = self.text().as_bytes();
        if start == end {
            if matches!(bytes.get(start), Some(b':' | b'-')) {
                start += 1;
                end += 1;
            }
            if start > 0 && !bytes[start - 1].is_ascii_whitespace() {
                text.insert(0, ' ');
            }
        }
        Some((start, end, text))
    }

    fn replace_entry_value(
        &self,
        ky: &YNode,
        vy: &YNode,
        vt: &Node<Plain>,
        new: &Node<Plain>,
        flow: bool,
    ) -> Option<Edit> {
        let new_is_scalar = matches!(new, Node::Leaf(..) | Node::Null(_));
        if new_is_scalar && let Some(edit) = self.scalar_edit(vy, vt, new) {
            return Some(edit);
        }
        if flow || ky.props_start.is_some() || !matches!(ky.kind, YKind::Scalar(_)) {
            return None;
        }
        let end = self.line_end_after(content_end(vy).max(ky.end))?;
        let col = column(self.text(), ky.start);
        let mut out = self.text()[ky.start..ky.end].to_string();
        out.push(':');
        emit_plain(new, col, self.indent, &mut out, ValuePos::MapValue);
        self.finish_line(&mut out, end);
        Some((ky.start, end, out))
    }

    fn replace_item(
        &self,
        vy: &YNode,
        vt: &Node<Plain>,
        new: &Node<Plain>,
        flow: bool,
    ) -> Option<Edit> {
        let new_is_scalar = matches!(new, Node::Leaf(..) | Node::Null(_));
        if new_is_scalar && let Some(edit) = self.scalar_edit(vy, vt, new) {
            return Some(edit);
        }
        if flow {
            return None;
        }
        let dash = find_dash(
            self.text(),
            vy.props_start.unwrap_or(vy.start).min(vy.start),
        )?;
        let end = self.line_end_after(content_end(vy))?;
        let mut out = String::from("-");
        emit_plain(
            new,
            column(self.text(), dash),
            self.indent,
            &mut out,
            ValuePos::SeqItem,
        );
        self.finish_line(&mut out, end);
        Some((dash, end, out))
    }

    fn insert_entry(
        &self,
        entries: &[(YNode, YNode)],
        items: &[MapItem<Plain>],
        key: &str,
        value: &Node<Plain>,
        flow: bool,
    ) -> Option<Edit> {
        let (first_key, _) = entries.first()?;
        if flow {
            return None;
        }
        let (last_k, last_v) = entries.last()?;
        let mut after = content_end(last_v).max(last_k.end);
        if let Some(MapItem::Comment(_, site)) = items.last() {
            after = after.max(self.comment_end(*site)?);
        }
        let col = column(self.text(), first_key.start);
        let mut out = " ".repeat(col);
        out.push_str(&key_text(key, self.indent));
        out.push(':');
        emit_plain(value, col, self.indent, &mut out, ValuePos::MapValue);
        Some(self.insert_after_line(after, out))
    }

    fn append_item(
        &self,
        yitems: &[YNode],
        titems: &[Node<Plain>],
        value: &Node<Plain>,
        flow: bool,
    ) -> Option<Edit> {
        let first = yitems.first()?;
        if flow {
            return None;
        }
        let dash = find_dash(
            self.text(),
            first.props_start.unwrap_or(first.start).min(first.start),
        )?;
        let col = column(self.text(), dash);
        let mut after = content_end(yitems.last()?);
        if let Some(Node::Comment(_, site)) = titems.last() {
            after = after.max(self.comment_end(*site)?);
        }
        let mut out = " ".repeat(col);
        out.push('-');
        emit_plain(value, col, self.indent, &mut out, ValuePos::SeqItem);
        Some(self.insert_after_line(after, out))
    }

    fn remove_entry(&self, entries: &[(YNode, YNode)], j: usize, flow: bool) -> Option<Edit> {
        if flow || entries.len() < 2 {
            return None;
        }
        let (ky, vy) = &entries[j];
        let start = self.line_start_if_blank_prefix(ky.props_start.unwrap_or(ky.start))?;
        self.remove_lines(
            start,
            content_end(vy).max(ky.end),
            column(self.text(), ky.start),
        )
    }

    fn remove_item(&self, yitems: &[YNode], yi: usize, flow: bool) -> Option<Edit> {
        if flow || yitems.len() < 2 {
            return None;
        }
        let vy = &yitems[yi];
        let dash = find_dash(
            self.text(),
            vy.props_start.unwrap_or(vy.start).min(vy.start),
        )?;
        let start = self.line_start_if_blank_prefix(dash)?;
        self.remove_lines(start, content_end(vy), column(self.text(), dash))
    }

    /// Remove `[start, content_end)` and the rest of its line; a comment after the content on
    /// the last line stays on a line of its own at `col`.
    fn remove_lines(&self, start: usize, content_end: usize, col: usize) -> Option<Edit> {
        let text = self.text();
        let line_end = text[content_end..]
            .find('\n')
            .map_or(text.len(), |i| content_end + i);
        let rest = text[content_end..line_end].trim();
        let end = (line_end + 1).min(text.len());
        if rest.is_empty() {
            return Some((start, end, String::new()));
        }
        if !rest.starts_with('#') {
            return None;
        }
        let mut out = " ".repeat(col);
        out.push_str(rest);
        if end > line_end {
            out.push('\n');
        }
        Some((start, end, out))
    }

    /// The start of the line holding `pos` if only blanks precede `pos` on it.
    fn line_start_if_blank_prefix(&self, pos: usize) -> Option<usize> {
        let start = super::line_start(self.text(), pos);
        self.text()[start..pos]
            .bytes()
            .all(|b| b == b' ')
            .then_some(start)
    }

    /// End of the line holding `pos` (after its newline) if only blanks follow `pos`.
    fn line_end_after(&self, pos: usize) -> Option<usize> {
        let text = self.text();
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        text[pos..line_end]
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b == b'\r')
            .then_some((line_end + 1).min(text.len()))
    }

    /// Terminate a replacement that consumed the text up to `end` like the text was.
    fn finish_line(&self, out: &mut String, end: usize) {
        if end > 0 && self.text().as_bytes()[end - 1] == b'\n' {
            out.push('\n');
        }
    }

    /// Insert `line` on a new line after the line holding `pos`.
    fn insert_after_line(&self, pos: usize, mut line: String) -> Edit {
        let text = self.text();
        match text[pos..].find('\n') {
            Some(i) => {
                let at = pos + i + 1;
                line.push('\n');
                (at, at, line)
            }
            None => {
                line.insert(0, '\n');
                (text.len(), text.len(), line)
            }
        }
    }

    fn comment_end(&self, site: Site) -> Option<usize> {
        match self.y.sites.get(site as usize)? {
            SiteKind::Comment { range } => Some(range.1),
            _ => None,
        }
    }
}

/// Where a node's own text ends (block collections: the end of their last value, not the
/// start of the next token, so trailing comments and blank lines are not included).
fn content_end(n: &YNode) -> usize {
    match &n.kind {
        YKind::Scalar(s) => s.span.1,
        YKind::Alias(..) => n.end,
        YKind::Map {
            entries,
            flow: false,
        } => entries
            .last()
            .map_or(n.end, |(k, v)| content_end(v).max(k.end)),
        YKind::Seq { items, flow: false } => items.last().map_or(n.end, content_end),
        YKind::Map { .. } | YKind::Seq { .. } => n.end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sops::path::{node_from_json, parse_path};
    use crate::sops::tree::same_content;

    /// Splice, and check the result against the tree `path::set`/`unset` gives.
    fn run(text: &str, path: &str, value: Option<serde_json::Value>) -> Option<String> {
        let p = parse_path(path).unwrap();
        let (_, mut expected) = YamlText::parse_plain(text, 4).unwrap();
        let out = match &value {
            Some(v) => {
                crate::sops::path::set(&mut expected[0], &p, v).unwrap();
                let node = node_from_json(v);
                splice(text, 4, &p, Change::Set(&node))
            }
            None => {
                crate::sops::path::unset(&mut expected[0], &p).unwrap();
                splice(text, 4, &p, Change::Unset)
            }
        }?;
        let (_, got) = YamlText::parse_plain(&out, 4).expect("spliced text parses");
        assert!(same_content(&got, &expected), "content differs:\n{out}");
        Some(out)
    }

    const DOC: &str = "\
# head comment
app:
  name:   \"demo\"    # keep me
  replicas: 3
  tags: [a, b]
  list:
  - one
  - two: 2
    three: 3
other: 'x'  # trailing
";

    #[test]
    fn replaces_a_scalar_in_place_keeping_its_quotes() {
        let out = run(DOC, r#"["app"]["name"]"#, Some(serde_json::json!("prod"))).unwrap();
        assert_eq!(out, DOC.replace("\"demo\"", "\"prod\""));
        let out = run(DOC, r#"["other"]"#, Some(serde_json::json!("it's"))).unwrap();
        assert_eq!(out, DOC.replace("'x'", "'it''s'"));
        let out = run(DOC, r#"["app"]["replicas"]"#, Some(serde_json::json!(4))).unwrap();
        assert_eq!(out, DOC.replace("replicas: 3", "replicas: 4"));
        let out = run(DOC, r#"["app"]["list"][0]"#, Some(serde_json::json!(null))).unwrap();
        assert_eq!(out, DOC.replace("- one", "- null"));
    }

    #[test]
    fn adds_keys_and_items_at_the_right_indentation() {
        let out = run(
            DOC,
            r#"["app"]["new"]["deep"]"#,
            Some(serde_json::json!("v")),
        )
        .unwrap();
        assert_eq!(
            out,
            DOC.replace("    three: 3\n", "    three: 3\n  new:\n    deep: v\n")
        );
        let out = run(DOC, r#"["top"]"#, Some(serde_json::json!(true))).unwrap();
        assert_eq!(out, format!("{DOC}top: true\n"));
        let out = run(
            DOC,
            r#"["app"]["list"][9]"#,
            Some(serde_json::json!({"k": "v"})),
        )
        .unwrap();
        assert_eq!(
            out,
            DOC.replace("    three: 3\n", "    three: 3\n  - k: v\n")
        );
        let out = run(
            DOC,
            r#"["app"]["list"][1]["four"]"#,
            Some(serde_json::json!("4")),
        )
        .unwrap();
        assert_eq!(
            out,
            DOC.replace("    three: 3\n", "    three: 3\n    four: \"4\"\n")
        );
    }

    #[test]
    fn replaces_collections_by_whole_entries() {
        let out = run(
            DOC,
            r#"["app"]["replicas"]"#,
            Some(serde_json::json!(["p", "q"])),
        )
        .unwrap();
        assert_eq!(
            out,
            DOC.replace("  replicas: 3\n", "  replicas:\n    - p\n    - q\n")
        );
        let out = run(
            DOC,
            r#"["app"]["list"][1]"#,
            Some(serde_json::json!("flat")),
        )
        .unwrap();
        assert_eq!(out, DOC.replace("  - two: 2\n    three: 3\n", "  - flat\n"));
    }

    #[test]
    fn removes_entries_and_items_with_their_lines() {
        let out = run(DOC, r#"["app"]["replicas"]"#, None).unwrap();
        assert_eq!(out, DOC.replace("  replicas: 3\n", ""));
        let out = run(DOC, r#"["app"]["name"]"#, None).unwrap();
        assert_eq!(
            out,
            DOC.replace("  name:   \"demo\"    # keep me\n", "  # keep me\n")
        );
        let out = run(DOC, r#"["app"]["list"][1]"#, None).unwrap();
        assert_eq!(out, DOC.replace("  - two: 2\n    three: 3\n", ""));
        let out = run(DOC, r#"["app"]"#, None).unwrap();
        assert_eq!(out, "# head comment\nother: 'x'  # trailing\n");
    }

    #[test]
    fn declines_what_it_cannot_keep() {
        // flow collections, a mapping emptied by unset: the caller re-renders instead
        assert!(run(DOC, r#"["app"]["tags"][0]"#, None).is_none());
        assert!(run(DOC, r#"["app"]["tags"][5]"#, Some(serde_json::json!("c"))).is_none());
        assert!(run("a:\n  only: 1\nb: 2\n", r#"["a"]["only"]"#, None).is_none());
    }

    #[test]
    fn later_documents_and_missing_final_newline_are_kept() {
        let text = "a: 1\nb: 2\n---\nc: 3\n";
        let out = run(text, r#"["z"]"#, Some(serde_json::json!(1))).unwrap();
        assert_eq!(out, "a: 1\nb: 2\nz: 1\n---\nc: 3\n");
        let out = run("a: 1", r#"["b"]"#, Some(serde_json::json!("x"))).unwrap();
        assert_eq!(out, "a: 1\nb: x");
        let out = run("a: 1\nb:\n", r#"["b"]"#, Some(serde_json::json!("x"))).unwrap();
        assert_eq!(out, "a: 1\nb: x\n");
    }
}
