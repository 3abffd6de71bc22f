//! Parser: items → trees. Follows Go's `text/template/parse/parse.go`: `define`/`block`
//! create named trees, `else if` / `else with` chains, `range` with `$i, $v :=` and `break` /
//! `continue`, variable scoping (an undefined `$x` is a parse error), the "non executable
//! command in pipeline stage N" check, and function names checked at parse time.
//!
//! Nesting is bounded (parentheses and control structures) so untrusted templates cannot
//! exhaust the stack: Go allows 10 000 nested parentheses; we allow [`MAX_NESTING`].

use std::collections::HashMap;

use super::ast::{Arg, Command, ControlKind, List, Node, Number, Pipe, is_empty_tree};
use super::error::{ErrorDetails, ErrorKind, Location, TemplateError};
use super::lex::{Item, ItemKind, Lexer};

/// Maximum nesting of parentheses plus control structures.
pub(crate) const MAX_NESTING: usize = 100;

/// How the parser should treat a function name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FuncStatus {
    Defined,
    Unsupported,
    Undefined,
}

/// The result of parsing: the named trees (the main one under the template's own name).
pub(crate) type TreeSet = HashMap<String, List>;

pub(crate) struct Parser<'a, F: Fn(&str) -> FuncStatus> {
    name: String,
    text: &'a str,
    items: Vec<Item>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    nesting: usize,
    funcs: &'a F,
    trees: TreeSet,
}

type PResult<T> = Result<T, TemplateError>;

/// Line (1-based) and Go-style column (0-based byte offset in the line) of `pos` in `text`.
pub(crate) fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text.as_bytes()[..pos];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let col = match before.iter().rposition(|b| *b == b'\n') {
        Some(nl) => pos - (nl + 1),
        None => pos,
    };
    (line, col)
}

/// Parses `text` into a tree set. `funcs` tells which function names exist.
pub(crate) fn parse<F: Fn(&str) -> FuncStatus>(
    name: &str,
    text: &str,
    left: &str,
    right: &str,
    funcs: &F,
) -> PResult<TreeSet> {
    let mut lexer = Lexer::new(text, left, right);
    let mut items = Vec::new();
    loop {
        let it = lexer.next_item();
        let stop = matches!(it.kind, ItemKind::Eof | ItemKind::Error);
        items.push(it);
        if stop {
            break;
        }
    }
    let mut p = Parser {
        name: name.to_string(),
        text,
        items,
        i: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        nesting: 0,
        funcs,
        trees: HashMap::new(),
    };
    let root = p.parse_top()?;
    p.add_tree(name.to_string(), root, 0)?;
    Ok(p.trees)
}

impl<F: Fn(&str) -> FuncStatus> Parser<'_, F> {
    fn err_at(&self, pos: usize, kind: ErrorKind) -> TemplateError {
        let (line, column) = line_col(self.text, pos);
        TemplateError::new(ErrorDetails {
            location: Location {
                template: self.name.clone(),
                line,
                column,
            },
            context: None,
            executing: None,
            kind,
        })
    }

    fn errorf(&self, msg: impl Into<String>) -> TemplateError {
        let pos = self
            .items
            .get(self.i.saturating_sub(1))
            .map_or(0, |t| t.pos);
        self.err_at(pos, ErrorKind::Syntax(msg.into()))
    }

    fn next(&mut self) -> Item {
        let it = self.items[self.i.min(self.items.len() - 1)].clone();
        if self.i < self.items.len() {
            self.i += 1;
        }
        it
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn peek(&mut self) -> Item {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.kind != ItemKind::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let start = self.i;
        let it = self.next_non_space();
        // Go backs up exactly one token: the spaces stay consumed.
        let _ = start;
        self.backup();
        it
    }

    fn unexpected(&self, item: &Item, context: &str) -> TemplateError {
        if item.kind == ItemKind::Error {
            return self.err_at(item.pos, ErrorKind::Syntax(item.val.clone()));
        }
        self.err_at(
            item.pos,
            ErrorKind::Syntax(format!("unexpected {} in {context}", item.describe())),
        )
    }

    fn expect(&mut self, kind: ItemKind, context: &str) -> PResult<Item> {
        let it = self.next_non_space();
        if it.kind != kind {
            return Err(self.unexpected(&it, context));
        }
        Ok(it)
    }

    fn add_tree(&mut self, name: String, root: List, pos: usize) -> PResult<()> {
        match self.trees.get(&name) {
            Some(existing) if !is_empty_tree(existing) => {
                if !is_empty_tree(&root) {
                    return Err(self.err_at(
                        pos,
                        ErrorKind::Syntax(format!(
                            "template: multiple definition of template {name:?}"
                        )),
                    ));
                }
            }
            _ => {
                self.trees.insert(name, root);
            }
        }
        Ok(())
    }

    fn enter(&mut self, pos: usize) -> PResult<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(self.err_at(
                pos,
                ErrorKind::Syntax(format!(
                    "max expression depth exceeded (sealbox allows {MAX_NESTING} nested levels)"
                )),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.nesting -= 1;
    }

    /// Go `parse()`: top level, where `{{define}}` is allowed.
    fn parse_top(&mut self) -> PResult<List> {
        let mut root = Vec::new();
        while self.peek().kind != ItemKind::Eof {
            if self.peek().kind == ItemKind::LeftDelim {
                let save = self.i;
                self.next();
                if self.next_non_space().kind == ItemKind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = save;
            }
            let n = self.text_or_action()?;
            match n {
                Parsed::End(pos) => {
                    return Err(self.err_at(pos, ErrorKind::Syntax("unexpected {{end}}".into())));
                }
                Parsed::Else(pos) => {
                    return Err(self.err_at(pos, ErrorKind::Syntax("unexpected {{else}}".into())));
                }
                Parsed::Node(n) => root.push(n),
            }
        }
        if let Some(err) = self.items.iter().find(|i| i.kind == ItemKind::Error) {
            return Err(self.err_at(err.pos, ErrorKind::Syntax(err.val.clone())));
        }
        Ok(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let tok = self.next_non_space();
        if !matches!(tok.kind, ItemKind::String | ItemKind::RawString) {
            return Err(self.unexpected(&tok, CONTEXT));
        }
        let name = unquote_name(&tok.val)
            .ok_or_else(|| self.err_at(tok.pos, ErrorKind::Syntax("invalid syntax".into())))?;
        self.expect(ItemKind::RightDelim, CONTEXT)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        if let Parsed::Else(pos) = end {
            return Err(self.err_at(
                pos,
                ErrorKind::Syntax(format!("unexpected {{{{else}}}} in {CONTEXT}")),
            ));
        }
        self.add_tree(name, list, tok.pos)
    }

    /// Go `itemList`: nodes up to `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(List, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != ItemKind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        let eof = self.peek();
        if eof.kind == ItemKind::Error {
            return Err(self.unexpected(&eof, "input"));
        }
        Err(self.err_at(eof.pos, ErrorKind::Syntax("unexpected EOF".into())))
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let tok = self.next_non_space();
        match tok.kind {
            ItemKind::Text => Ok(Parsed::Node(Node::Text {
                text: tok.val.into_bytes(),
            })),
            ItemKind::LeftDelim => self.action(),
            _ => Err(self.unexpected(&tok, "input")),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let tok = self.next_non_space();
        match tok.kind {
            ItemKind::Block => return self.block_control(tok.pos).map(Parsed::Node),
            ItemKind::Break | ItemKind::Continue => {
                let word = if tok.kind == ItemKind::Break {
                    "break"
                } else {
                    "continue"
                };
                let t = self.next_non_space();
                if t.kind != ItemKind::RightDelim {
                    return Err(self.unexpected(&t, &format!("{{{{{word}}}}}")));
                }
                if self.range_depth == 0 {
                    return Err(self.err_at(
                        tok.pos,
                        ErrorKind::Syntax(format!("{{{{{word}}}}} outside {{{{range}}}}")),
                    ));
                }
                return Ok(Parsed::Node(if tok.kind == ItemKind::Break {
                    Node::Break
                } else {
                    Node::Continue
                }));
            }
            ItemKind::Else => return self.else_control(),
            ItemKind::End => {
                self.expect(ItemKind::RightDelim, "end")?;
                return Ok(Parsed::End(tok.pos));
            }
            ItemKind::If => return self.control(ControlKind::If, tok.pos).map(Parsed::Node),
            ItemKind::Range => {
                return self.control(ControlKind::Range, tok.pos).map(Parsed::Node);
            }
            ItemKind::With => return self.control(ControlKind::With, tok.pos).map(Parsed::Node),
            ItemKind::Template => return self.template_control().map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let pipe = self.pipeline("command", ItemKind::RightDelim)?;
        Ok(Parsed::Node(Node::Action { pipe }))
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if matches!(peek.kind, ItemKind::If | ItemKind::With) {
            return Ok(Parsed::Else(peek.pos));
        }
        let tok = self.expect(ItemKind::RightDelim, "else")?;
        Ok(Parsed::Else(tok.pos))
    }

    fn control(&mut self, kind: ControlKind, pos: usize) -> PResult<Node> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let context = match kind {
            ControlKind::If => "if",
            ControlKind::With => "with",
            ControlKind::Range => "range",
        };
        let pipe = self.pipeline(context, ItemKind::RightDelim)?;
        if kind == ControlKind::Range {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if kind == ControlKind::Range {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Parsed::Else(else_pos) = next {
            let peek = self.peek();
            if kind == ControlKind::If && peek.kind == ItemKind::If {
                self.next();
                else_list = Some(vec![self.control(ControlKind::If, peek.pos)?]);
            } else if kind == ControlKind::With && peek.kind == ItemKind::With {
                self.next();
                else_list = Some(vec![self.control(ControlKind::With, peek.pos)?]);
            } else {
                let (l, end) = self.item_list()?;
                if let Parsed::Else(p) = end {
                    return Err(
                        self.err_at(p, ErrorKind::Syntax("expected end; found {{else}}".into()))
                    );
                }
                let _ = else_pos;
                else_list = Some(l);
            }
        }
        self.vars.truncate(mark);
        self.leave();
        Ok(Node::Control {
            kind,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&mut self, context: &str) -> PResult<(String, usize)> {
        let tok = self.next_non_space();
        if !matches!(tok.kind, ItemKind::String | ItemKind::RawString) {
            return Err(self.unexpected(&tok, context));
        }
        let name = unquote_name(&tok.val)
            .ok_or_else(|| self.err_at(tok.pos, ErrorKind::Syntax("invalid syntax".into())))?;
        Ok((name, tok.pos))
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let (name, pos) = self.template_name(CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().kind != ItemKind::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, ItemKind::RightDelim)?);
        }
        Ok(Node::Template { pos, name, pipe })
    }

    fn block_control(&mut self, _pos: usize) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let (name, pos) = self.template_name(CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemKind::RightDelim)?;
        self.enter(pos)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_range = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = saved_vars;
        self.range_depth = saved_range;
        self.leave();
        if let Parsed::Else(p) = end {
            return Err(self.err_at(
                p,
                ErrorKind::Syntax(format!("unexpected {{{{else}}}} in {CONTEXT}")),
            ));
        }
        self.add_tree(name.clone(), list, pos)?;
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        })
    }

    /// Go `pipeline`: declarations? command ('|' command)*
    fn pipeline(&mut self, context: &str, end: ItemKind) -> PResult<Pipe> {
        let tok = self.peek_non_space();
        let mut pipe = Pipe {
            pos: tok.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // declarations
        loop {
            let v = self.peek_non_space();
            if v.kind != ItemKind::Variable {
                break;
            }
            let save = self.i;
            self.next_non_space();
            let next = self.peek_non_space();
            match next.kind {
                ItemKind::Assign | ItemKind::Declare => {
                    pipe.is_assign = next.kind == ItemKind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    break;
                }
                ItemKind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val.clone());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            ItemKind::Variable | ItemKind::RightDelim | ItemKind::RightParen => {
                                continue;
                            }
                            _ => return Err(self.errorf("range can only initialize variables")),
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let tok = self.next_non_space();
            if tok.kind == end {
                self.check_pipeline(&pipe, context, tok.pos)?;
                return Ok(pipe);
            }
            match tok.kind {
                ItemKind::Bool
                | ItemKind::CharConstant
                | ItemKind::Complex
                | ItemKind::Dot
                | ItemKind::Field
                | ItemKind::Identifier
                | ItemKind::Number
                | ItemKind::Nil
                | ItemKind::RawString
                | ItemKind::String
                | ItemKind::Variable
                | ItemKind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&tok, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str, pos: usize) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.err_at(
                pos,
                ErrorKind::Syntax(format!("missing value for {context}")),
            ));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number { .. }
                    | Arg::String { .. }
            ) {
                return Err(self.err_at(
                    c.pos,
                    ErrorKind::Syntax(format!(
                        "non executable command in pipeline stage {}",
                        i + 1
                    )),
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let tok = self.next();
            match tok.kind {
                ItemKind::Space => continue,
                ItemKind::RightDelim | ItemKind::RightParen => self.backup(),
                ItemKind::Pipe => {}
                _ => return Err(self.unexpected(&tok, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command"));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != ItemKind::Field {
            return Ok(Some(node));
        }
        let chain_pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == ItemKind::Field {
            let f = self.next();
            fields.push(f.val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { pos, mut idents } => {
                idents.extend(fields);
                Arg::Field { pos, idents }
            }
            Arg::Variable { pos, mut idents } => {
                idents.extend(fields);
                Arg::Variable { pos, idents }
            }
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number { .. }
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return Err(self.err_at(
                    chain_pos,
                    ErrorKind::Syntax(format!(
                        "unexpected . after term {}",
                        super::gofmt::quote_str(node.to_string().as_bytes())
                    )),
                ));
            }
            other => Arg::Chain {
                pos: chain_pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let tok = self.next_non_space();
        Ok(Some(match tok.kind {
            ItemKind::Identifier => {
                match (self.funcs)(&tok.val) {
                    FuncStatus::Defined => {}
                    FuncStatus::Unsupported => {
                        return Err(
                            self.err_at(tok.pos, ErrorKind::UnsupportedFunction(tok.val.clone()))
                        );
                    }
                    FuncStatus::Undefined => {
                        return Err(
                            self.err_at(tok.pos, ErrorKind::UnknownFunction(tok.val.clone()))
                        );
                    }
                }
                Arg::Identifier {
                    pos: tok.pos,
                    name: tok.val,
                }
            }
            ItemKind::Dot => Arg::Dot { pos: tok.pos },
            ItemKind::Nil => Arg::Nil { pos: tok.pos },
            ItemKind::Variable => {
                let idents: Vec<String> = split_variable(&tok.val);
                if !self.vars.iter().any(|v| *v == idents[0]) {
                    return Err(self.err_at(
                        tok.pos,
                        ErrorKind::Syntax(format!("undefined variable {:?}", idents[0])),
                    ));
                }
                Arg::Variable {
                    pos: tok.pos,
                    idents,
                }
            }
            ItemKind::Field => Arg::Field {
                pos: tok.pos,
                idents: tok.val[1..].split('.').map(str::to_string).collect(),
            },
            ItemKind::Bool => Arg::Bool {
                pos: tok.pos,
                value: tok.val == "true",
            },
            ItemKind::CharConstant | ItemKind::Complex | ItemKind::Number => {
                let number = parse_number(&tok.val, tok.kind)
                    .map_err(|m| self.err_at(tok.pos, ErrorKind::Syntax(m)))?;
                Arg::Number {
                    pos: tok.pos,
                    number,
                }
            }
            ItemKind::LeftParen => {
                self.enter(tok.pos)?;
                let p = self.pipeline("parenthesized pipeline", ItemKind::RightParen)?;
                self.leave();
                Arg::Pipe(Box::new(p))
            }
            ItemKind::String | ItemKind::RawString => {
                let text = unquote(&tok.val).ok_or_else(|| {
                    self.err_at(tok.pos, ErrorKind::Syntax("invalid syntax".into()))
                })?;
                Arg::String {
                    pos: tok.pos,
                    quoted: tok.val,
                    text,
                }
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// What `text_or_action` produced.
enum Parsed {
    Node(Node),
    End(usize),
    Else(usize),
}

fn split_variable(v: &str) -> Vec<String> {
    v.split('.').map(str::to_string).collect()
}

fn unquote_name(quoted: &str) -> Option<String> {
    String::from_utf8(unquote(quoted)?).ok()
}

/// Go `strconv.Unquote` for `"..."` and `` `...` `` literals, producing bytes (a `\x` escape
/// may make invalid UTF-8, as in Go).
pub(crate) fn unquote(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let quote = b[0];
    if b[b.len() - 1] != quote {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    match quote {
        b'`' => {
            if inner.contains('`') {
                return None;
            }
            Some(inner.bytes().filter(|c| *c != b'\r').collect())
        }
        b'"' => {
            let mut out = Vec::with_capacity(inner.len());
            let mut rest = inner;
            while !rest.is_empty() {
                let (bytes, tail) = unquote_char(rest, b'"')?;
                out.extend_from_slice(&bytes);
                rest = tail;
            }
            Some(out)
        }
        _ => None,
    }
}

/// Go `strconv.UnquoteChar`: decodes one (possibly escaped) character, returning its bytes.
fn unquote_char(s: &str, quote: u8) -> Option<(Vec<u8>, &str)> {
    let c = s.chars().next()?;
    if c as u32 == quote as u32 && (quote == b'\'' || quote == b'"') {
        return None;
    }
    if c != '\\' {
        if c == '\n' {
            return None;
        }
        let mut buf = [0u8; 4];
        return Some((
            c.encode_utf8(&mut buf).as_bytes().to_vec(),
            &s[c.len_utf8()..],
        ));
    }
    let rest = &s[1..];
    let e = rest.chars().next()?;
    // `e` may be any character (`"\é"`): step over all of its bytes.
    let tail = &rest[e.len_utf8()..];
    let simple = |b: u8| Some((vec![b], tail));
    match e {
        'a' => simple(0x07),
        'b' => simple(0x08),
        'f' => simple(0x0c),
        'n' => simple(b'\n'),
        'r' => simple(b'\r'),
        't' => simple(b'\t'),
        'v' => simple(0x0b),
        '\\' => simple(b'\\'),
        '\'' | '"' => {
            if e as u32 != quote as u32 {
                return None;
            }
            simple(e as u8)
        }
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            // Check the bytes before slicing: `tail` may hold any character (`"\uɢ…"`).
            if tail.len() < n || !tail.as_bytes()[..n].iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            let v = u32::from_str_radix(&tail[..n], 16).ok()?;
            if e == 'x' {
                return Some((vec![v as u8], &tail[n..]));
            }
            let ch = char::from_u32(v)?;
            let mut buf = [0u8; 4];
            Some((ch.encode_utf8(&mut buf).as_bytes().to_vec(), &tail[n..]))
        }
        '0'..='7' => {
            if rest.len() < 3
                || !rest.as_bytes()[..3]
                    .iter()
                    .all(|b| (b'0'..=b'7').contains(b))
            {
                return None;
            }
            let digits = &rest[..3];
            let v = u32::from_str_radix(digits, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((vec![v as u8], &rest[3..]))
        }
        _ => None,
    }
}

/// Go's `underscoreOK`: underscores only between digits (or after a base prefix).
fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    if !b.is_empty() && (b[0] == b'-' || b[0] == b'+') {
        i = 1;
    }
    let mut hex = false;
    if b.len() - i >= 2 && b[i] == b'0' && matches!(b[i + 1] | 0x20, b'b' | b'o' | b'x') {
        hex = (b[i + 1] | 0x20) == b'x';
        i += 2;
        saw = b'0';
    }
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() || hex && c.is_ascii_hexdigit() {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go `strconv.ParseUint(s, 0, 64)` (no sign allowed).
fn parse_go_uint(s: &str) -> Option<u64> {
    if s.is_empty() || s.starts_with(['+', '-']) {
        return None;
    }
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let (digits, radix) = if let Some(r) = lower.strip_prefix("0x") {
        (r, 16)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (r, 8)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (r, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Go `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = parse_go_uint(body)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// Go `strconv.ParseFloat(s, 64)` for the literals the lexer admits (decimal and hex floats).
fn parse_go_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(s) {
        return None;
    }
    let clean: String = s.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        parse_hex_float(hex)?
    } else {
        if body.is_empty() || body == "." || body.contains(['x', 'X', 'i']) {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    let (mant, exp) = match s.find(['p', 'P']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => return None, // Go requires the p exponent in hex floats
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], &mant[i + 1..]),
        None => (mant, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut v = 0f64;
    for c in int_part.chars() {
        v = v * 16.0 + c.to_digit(16)? as f64;
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        v += c.to_digit(16)? as f64 * scale;
        scale /= 16.0;
    }
    Some(v * 2f64.powi(exp))
}

/// Go `parse.newNumber`.
pub(crate) fn parse_number(text: &str, kind: ItemKind) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        is_int: false,
        is_uint: false,
        is_float: false,
        int: 0,
        uint: 0,
        float: 0.0,
    };
    if kind == ItemKind::CharConstant {
        let inner = &text[1..];
        let (bytes, tail) =
            unquote_char(inner, b'\'').ok_or_else(|| "invalid syntax".to_string())?;
        if tail != "'" {
            return Err(format!("malformed character constant: {text}"));
        }
        let r = std::str::from_utf8(&bytes)
            .ok()
            .and_then(|s| s.chars().next())
            .map(|c| c as u32)
            .unwrap_or_else(|| u32::from(bytes[0]));
        n.is_int = true;
        n.int = i64::from(r);
        n.is_uint = true;
        n.uint = u64::from(r);
        n.is_float = true;
        n.float = f64::from(r);
        return Ok(n);
    }
    if kind == ItemKind::Complex || text.ends_with('i') {
        return Err(format!(
            "complex constant {text} is not supported by sealbox"
        ));
    }
    if let Some(u) = parse_go_uint(text) {
        n.is_uint = true;
        n.uint = u;
    }
    if let Some(i) = parse_go_int(text) {
        n.is_int = true;
        n.int = i;
        if i == 0 {
            n.is_uint = true;
            n.uint = 0;
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float = n.int as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float = n.uint as f64;
    } else if let Some(f) = parse_go_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!(
                "integer overflow: {}",
                super::gofmt::quote_str(text.as_bytes())
            ));
        }
        n.is_float = true;
        n.float = f;
        if !n.is_int
            && f.fract() == 0.0
            && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f)
        {
            n.is_int = true;
            n.int = f as i64;
        }
        if !n.is_uint && f.fract() == 0.0 && (0.0..1.844_674_407_370_955_2e19).contains(&f) {
            n.is_uint = true;
            n.uint = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            super::gofmt::quote_str(text.as_bytes())
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_strconv() {
        // parse_test.go numberTests
        let n = parse_number("0x10", ItemKind::Number).unwrap();
        assert!(n.is_int && n.int == 16);
        let n = parse_number("0777", ItemKind::Number).unwrap();
        assert_eq!(n.int, 511);
        let n = parse_number("1e3", ItemKind::Number).unwrap();
        assert!(n.is_float && n.is_int && n.int == 1000);
        let n = parse_number("-1.5", ItemKind::Number).unwrap();
        assert!(n.is_float && !n.is_int);
        let n = parse_number("'a'", ItemKind::CharConstant).unwrap();
        assert_eq!(n.int, 97);
        let n = parse_number("1_000", ItemKind::Number).unwrap();
        assert_eq!(n.int, 1000);
        assert!(parse_number("0x", ItemKind::Number).is_err());
        assert!(parse_number("1__0", ItemKind::Number).is_err());
        assert!(parse_number("99999999999999999999", ItemKind::Number).is_err());
    }

    #[test]
    fn unquote_follows_strconv() {
        assert_eq!(unquote(r#""a\tb""#).unwrap(), b"a\tb");
        assert_eq!(unquote(r#""\xff""#).unwrap(), vec![0xff]);
        assert_eq!(unquote(r#""\u00e9""#).unwrap(), "é".as_bytes());
        assert_eq!(unquote("`a\\n`").unwrap(), b"a\\n");
        assert!(unquote(r#""\'""#).is_none());
        assert!(unquote(r#""\q""#).is_none());
    }
}
