//! Lexer: template text → items. Follows Go's `text/template/parse/lex.go` (Go 1.22+):
//! text and actions, `{{- ` / ` -}}` trim markers (a minus plus one ASCII space character),
//! `/* */` comments that must touch the delimiters, `:=` and `=`, numbers (including
//! `0x`/`0o`/`0b`, `_` separators, exponents, imaginary suffix), quoted / raw strings,
//! character constants, `break`/`continue` keywords, and newlines allowed inside actions.

/// Kinds of lexical items (Go's `itemType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemKind {
    Error,
    Bool,
    Char,
    CharConstant,
    Complex,
    Assign,
    Declare,
    Eof,
    Field,
    Identifier,
    LeftDelim,
    LeftParen,
    Number,
    Pipe,
    RawString,
    RightDelim,
    RightParen,
    Space,
    String,
    Text,
    Variable,
    // keywords
    Block,
    Break,
    Continue,
    Dot,
    Define,
    Else,
    End,
    If,
    Nil,
    Range,
    Template,
    With,
}

impl ItemKind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            ItemKind::Block
                | ItemKind::Break
                | ItemKind::Continue
                | ItemKind::Dot
                | ItemKind::Define
                | ItemKind::Else
                | ItemKind::End
                | ItemKind::If
                | ItemKind::Nil
                | ItemKind::Range
                | ItemKind::Template
                | ItemKind::With
        )
    }
}

/// One lexical item: its kind, byte position, text (or error message) and line.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub kind: ItemKind,
    pub pos: usize,
    pub val: String,
}

impl Item {
    /// Go's `item.String()`, used in "unexpected X in Y" messages.
    pub fn describe(&self) -> String {
        match self.kind {
            ItemKind::Eof => "EOF".to_string(),
            ItemKind::Error => self.val.clone(),
            k if k.is_keyword() => format!("<{}>", self.val),
            _ => {
                if self.val.chars().count() > 10 {
                    let short: String = self.val.chars().take(10).collect();
                    format!("{}...", super::gofmt::quote_str(short.as_bytes()))
                } else {
                    super::gofmt::quote_str(self.val.as_bytes())
                }
            }
        }
    }
}

fn keyword(word: &str) -> Option<ItemKind> {
    Some(match word {
        "." => ItemKind::Dot,
        "block" => ItemKind::Block,
        "break" => ItemKind::Break,
        "continue" => ItemKind::Continue,
        "define" => ItemKind::Define,
        "else" => ItemKind::Else,
        "end" => ItemKind::End,
        "if" => ItemKind::If,
        "range" => ItemKind::Range,
        "nil" => ItemKind::Nil,
        "template" => ItemKind::Template,
        "with" => ItemKind::With,
        _ => return None,
    })
}

const SPACE_CHARS: &[char] = &[' ', '\t', '\r', '\n'];
const TRIM_MARKER_LEN: usize = 2;
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric() && is_go_digit(c)
}

/// Go's `unicode.IsDigit` is category Nd; Rust's `is_numeric` also admits No/Nl.
fn is_go_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    // Approximation of category Nd: numeric characters that have a decimal digit value.
    c.is_ascii_digit() || (c.is_numeric() && !c.is_alphabetic())
}

fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

fn has_right_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

/// The scanner. Call [`Lexer::next_item`] until it returns `Eof` or `Error`.
pub(crate) struct Lexer<'a> {
    input: &'a str,
    left: &'a str,
    right: &'a str,
    pos: usize,
    start: usize,
    at_eof: bool,
    paren_depth: usize,
    line: usize,
    start_line: usize,
    inside_action: bool,
    done: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(input: &'a str, left: &'a str, right: &'a str) -> Self {
        Lexer {
            input,
            left: if left.is_empty() { "{{" } else { left },
            right: if right.is_empty() { "}}" } else { right },
            pos: 0,
            start: 0,
            at_eof: false,
            paren_depth: 0,
            line: 1,
            start_line: 1,
            inside_action: false,
            done: false,
        }
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn next(&mut self) -> Option<char> {
        match self.rest().chars().next() {
            None => {
                self.at_eof = true;
                None
            }
            Some(c) => {
                self.pos += c.len_utf8();
                if c == '\n' {
                    self.line += 1;
                }
                Some(c)
            }
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.rest().chars().next()
    }

    fn backup(&mut self) {
        if !self.at_eof
            && self.pos > 0
            && let Some(c) = self.input[..self.pos].chars().next_back()
        {
            {
                self.pos -= c.len_utf8();
                if c == '\n' {
                    self.line -= 1;
                }
            }
        }
    }

    fn this_item(&mut self, kind: ItemKind) -> Item {
        let item = Item {
            kind,
            pos: self.start,
            val: self.input[self.start..self.pos].to_string(),
        };
        self.start = self.pos;
        self.start_line = self.line;
        item
    }

    fn ignore(&mut self) {
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.next() {
            Some(c) if valid.contains(c) => true,
            _ => {
                self.backup();
                false
            }
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while let Some(c) = self.next() {
            if !valid.contains(c) {
                self.backup();
                return;
            }
        }
        self.backup();
    }

    fn error(&mut self, msg: String) -> Item {
        self.done = true;
        Item {
            kind: ItemKind::Error,
            pos: self.start,
            val: msg,
        }
    }

    /// Returns the next item. After `Eof` or `Error` it keeps returning `Eof`.
    pub fn next_item(&mut self) -> Item {
        if self.done {
            return Item {
                kind: ItemKind::Eof,
                pos: self.pos,
                val: String::new(),
            };
        }
        loop {
            let step = if self.inside_action {
                self.lex_inside_action()
            } else {
                self.lex_text()
            };
            if let Some(item) = step {
                if item.kind == ItemKind::Eof {
                    self.done = true;
                }
                return item;
            }
        }
    }

    fn lex_text(&mut self) -> Option<Item> {
        if let Some(x) = self.rest().find(self.left) {
            if x > 0 {
                self.pos += x;
                let delim_end = self.pos + self.left.len();
                let mut trim = 0;
                if has_left_trim_marker(&self.input[delim_end..]) {
                    let text = &self.input[self.start..self.pos];
                    trim = text.len() - text.trim_end_matches(SPACE_CHARS).len();
                }
                self.pos -= trim;
                self.line += self.input[self.start..self.pos].matches('\n').count();
                let item = self.this_item(ItemKind::Text);
                self.pos += trim;
                self.ignore();
                if !item.val.is_empty() {
                    return Some(item);
                }
            }
            return self.lex_left_delim();
        }
        self.pos = self.input.len();
        if self.pos > self.start {
            self.line += self.input[self.start..self.pos].matches('\n').count();
            return Some(self.this_item(ItemKind::Text));
        }
        Some(self.this_item(ItemKind::Eof))
    }

    fn at_right_delim(&self) -> (bool, bool) {
        let rest = self.rest();
        if has_right_trim_marker(rest) && rest[TRIM_MARKER_LEN..].starts_with(self.right) {
            return (true, true);
        }
        if rest.starts_with(self.right) {
            return (true, false);
        }
        (false, false)
    }

    fn lex_left_delim(&mut self) -> Option<Item> {
        self.pos += self.left.len();
        let trim = has_left_trim_marker(self.rest());
        let after = if trim { TRIM_MARKER_LEN } else { 0 };
        if self.input[self.pos + after..].starts_with(LEFT_COMMENT) {
            self.pos += after;
            self.ignore();
            return self.lex_comment();
        }
        let item = self.this_item(ItemKind::LeftDelim);
        self.inside_action = true;
        self.pos += after;
        self.ignore();
        self.paren_depth = 0;
        Some(item)
    }

    fn lex_comment(&mut self) -> Option<Item> {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return Some(self.error("unclosed comment".into()));
        };
        self.pos += x + RIGHT_COMMENT.len();
        let (delim, trim) = self.at_right_delim();
        if !delim {
            return Some(self.error("comment ends before closing delimiter".into()));
        }
        self.line += self.input[self.start..self.pos].matches('\n').count();
        self.start = self.pos;
        self.start_line = self.line;
        if trim {
            self.pos += TRIM_MARKER_LEN;
        }
        self.pos += self.right.len();
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(SPACE_CHARS).len();
        }
        self.ignore();
        None
    }

    fn lex_right_delim(&mut self) -> Option<Item> {
        let (_, trim) = self.at_right_delim();
        if trim {
            self.pos += TRIM_MARKER_LEN;
            self.ignore();
        }
        self.pos += self.right.len();
        let item = self.this_item(ItemKind::RightDelim);
        if trim {
            let rest = self.rest();
            self.pos += rest.len() - rest.trim_start_matches(SPACE_CHARS).len();
            self.ignore();
        }
        self.inside_action = false;
        Some(item)
    }

    fn lex_inside_action(&mut self) -> Option<Item> {
        let (delim, _) = self.at_right_delim();
        if delim {
            if self.paren_depth == 0 {
                return self.lex_right_delim();
            }
            return Some(self.error("unclosed left paren".into()));
        }
        let Some(r) = self.next() else {
            return Some(self.error("unclosed action".into()));
        };
        match r {
            c if is_space(c) => {
                self.backup();
                self.lex_space()
            }
            '=' => Some(self.this_item(ItemKind::Assign)),
            ':' => {
                if self.next() != Some('=') {
                    return Some(self.error("expected :=".into()));
                }
                Some(self.this_item(ItemKind::Declare))
            }
            '|' => Some(self.this_item(ItemKind::Pipe)),
            '"' => Some(self.lex_quote()),
            '`' => Some(self.lex_raw_quote()),
            '$' => Some(self.lex_variable()),
            '\'' => Some(self.lex_char()),
            '.' => {
                if let Some(&b) = self.input.as_bytes().get(self.pos)
                    && !b.is_ascii_digit()
                {
                    return Some(self.lex_field_or_variable(ItemKind::Field));
                }
                self.backup();
                Some(self.lex_number())
            }
            '+' | '-' | '0'..='9' => {
                self.backup();
                Some(self.lex_number())
            }
            c if is_alnum(c) => {
                self.backup();
                Some(self.lex_identifier())
            }
            '(' => {
                self.paren_depth += 1;
                Some(self.this_item(ItemKind::LeftParen))
            }
            ')' => {
                if self.paren_depth == 0 {
                    return Some(self.error("unexpected right paren".into()));
                }
                self.paren_depth -= 1;
                Some(self.this_item(ItemKind::RightParen))
            }
            c if c.is_ascii() && !c.is_ascii_control() => Some(self.this_item(ItemKind::Char)),
            c => Some(self.error(format!(
                "unrecognized character in action: {}",
                super::gofmt::format_unicode_sharp(c)
            ))),
        }
    }

    fn lex_space(&mut self) -> Option<Item> {
        let mut num = 0;
        while let Some(c) = self.peek() {
            if !is_space(c) {
                break;
            }
            self.next();
            num += 1;
        }
        if has_right_trim_marker(&self.input[self.pos - 1..])
            && self.input[self.pos - 1 + TRIM_MARKER_LEN..].starts_with(self.right)
        {
            self.backup();
            if num == 1 {
                return self.lex_right_delim();
            }
        }
        Some(self.this_item(ItemKind::Space))
    }

    fn at_terminator(&mut self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            _ => self.rest().starts_with(self.right),
        }
    }

    fn lex_identifier(&mut self) -> Item {
        loop {
            match self.next() {
                Some(c) if is_alnum(c) => {}
                r => {
                    self.backup();
                    let word = &self.input[self.start..self.pos];
                    if !self.at_terminator() {
                        return self.error(format!("bad character {}", describe_rune(r)));
                    }
                    if let Some(k) = keyword(word) {
                        return self.this_item(k);
                    }
                    if word.starts_with('.') {
                        return self.this_item(ItemKind::Field);
                    }
                    if word == "true" || word == "false" {
                        return self.this_item(ItemKind::Bool);
                    }
                    return self.this_item(ItemKind::Identifier);
                }
            }
        }
    }

    fn lex_variable(&mut self) -> Item {
        if self.at_terminator() {
            return self.this_item(ItemKind::Variable);
        }
        self.lex_field_or_variable(ItemKind::Variable)
    }

    fn lex_field_or_variable(&mut self, kind: ItemKind) -> Item {
        if self.at_terminator() {
            return if kind == ItemKind::Variable {
                self.this_item(ItemKind::Variable)
            } else {
                self.this_item(ItemKind::Dot)
            };
        }
        let mut r;
        loop {
            r = self.next();
            match r {
                Some(c) if is_alnum(c) => {}
                _ => {
                    self.backup();
                    break;
                }
            }
        }
        if !self.at_terminator() {
            return self.error(format!("bad character {}", describe_rune(r)));
        }
        self.this_item(kind)
    }

    fn lex_char(&mut self) -> Item {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated character constant".into()),
                },
                None | Some('\n') => return self.error("unterminated character constant".into()),
                Some('\'') => break,
                _ => {}
            }
        }
        self.this_item(ItemKind::CharConstant)
    }

    fn lex_number(&mut self) -> Item {
        if !self.scan_number() {
            let text = self.input[self.start..self.pos].to_string();
            return self.error(format!(
                "bad number syntax: {}",
                super::gofmt::quote_str(text.as_bytes())
            ));
        }
        if let Some('+' | '-') = self.peek() {
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                let text = self.input[self.start..self.pos].to_string();
                return self.error(format!(
                    "bad number syntax: {}",
                    super::gofmt::quote_str(text.as_bytes())
                ));
            }
            return self.this_item(ItemKind::Complex);
        }
        self.this_item(ItemKind::Number)
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        if let Some(c) = self.peek()
            && is_alnum(c)
        {
            self.next();
            return false;
        }
        true
    }

    fn lex_quote(&mut self) -> Item {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    Some(c) if c != '\n' => {}
                    _ => return self.error("unterminated quoted string".into()),
                },
                None | Some('\n') => return self.error("unterminated quoted string".into()),
                Some('"') => break,
                _ => {}
            }
        }
        self.this_item(ItemKind::String)
    }

    fn lex_raw_quote(&mut self) -> Item {
        loop {
            match self.next() {
                None => return self.error("unterminated raw quoted string".into()),
                Some('`') => break,
                _ => {}
            }
        }
        self.this_item(ItemKind::RawString)
    }
}

fn describe_rune(r: Option<char>) -> String {
    match r {
        None => "U+FFFFFFFF".to_string(),
        Some(c) => super::gofmt::format_unicode_sharp(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(ItemKind, String)> {
        let mut l = Lexer::new(src, "", "");
        let mut out = Vec::new();
        loop {
            let it = l.next_item();
            let stop = matches!(it.kind, ItemKind::Eof | ItemKind::Error);
            out.push((it.kind, it.val));
            if stop {
                break;
            }
        }
        out
    }

    #[test]
    fn trim_markers_eat_surrounding_space() {
        // lex_test.go "trimming spaces before and after"
        let items = kinds("hello- {{- 3 -}} -world");
        assert_eq!(items[0], (ItemKind::Text, "hello-".into()));
        assert_eq!(items[2], (ItemKind::Number, "3".into()));
        assert_eq!(items[4], (ItemKind::Text, "-world".into()));
    }

    #[test]
    fn minus_number_is_not_a_trim_marker() {
        let items = kinds("{{-3}}");
        assert_eq!(items[1], (ItemKind::Number, "-3".into()));
    }

    #[test]
    fn comment_is_skipped() {
        let items = kinds("a{{/* c */}}b");
        assert_eq!(items[0].1, "a");
        assert_eq!(items[1].1, "b");
    }

    #[test]
    fn unclosed_action_is_an_error() {
        let items = kinds("{{ .x ");
        assert_eq!(items.last().unwrap().0, ItemKind::Error);
        assert_eq!(items.last().unwrap().1, "unclosed action");
    }
}
