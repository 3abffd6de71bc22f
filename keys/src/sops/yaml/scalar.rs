//! yaml.v3's scalar rules, which decide both how sops *reads* a plain scalar (its type) and
//! how it *writes* one (plain, quoted or literal block).
//!
//! Reading: `resolve()` in go-yaml v3 `resolve.go` (YAML 1.1-flavoured: `0123` is octal,
//! `2024-01-01` is a timestamp, `yes` is a string). Writing: `encoder.stringv` picks a style
//! and libyaml's `yaml_emitter_analyze_scalar` may downgrade it; the writers below reproduce
//! the bytes of `yaml_emitter_write_{plain,single_quoted,double_quoted,literal}_scalar` with
//! sops' settings (unicode on, no line wrapping).

use base64::Engine;

use crate::sops::cipher::Scalar;
use crate::sops::gofmt::{self, GoTime};

/// What a YAML scalar resolves to.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// `null`, `~`, empty.
    Null,
    /// A typed value.
    Value(Scalar),
    /// An integer beyond int64 that yaml.v3 decodes as uint64 (sops cannot encrypt it).
    Uint(u64),
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':')
    {
        return false;
    }
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let mut i = usize::from(b[0] == b'+' || b[0] == b'-');
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let n = i - start;
        if n == 0 || (n == 2 && b[start] > b'5') {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(!b.is_empty() && (b[0] == b'+' || b[0] == b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` (prefixes 0x/0o/0b and leading-zero octal).
fn go_parse_int_base0(s: &str) -> Option<Result<i64, u64>> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some(Ok((mag as i64).wrapping_neg()))
        } else {
            None
        }
    } else if mag <= i64::MAX as u64 {
        Some(Ok(mag as i64))
    } else {
        Some(Err(mag))
    }
}

/// yaml.v3 `resolve("", s)` for an untagged plain scalar.
pub fn resolve_plain(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    match s {
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        "true" | "True" | "TRUE" => return Resolved::Value(Scalar::Bool(true)),
        "false" | "False" | "FALSE" => return Resolved::Value(Scalar::Bool(false)),
        ".nan" | ".NaN" | ".NAN" => return Resolved::Value(Scalar::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Value(Scalar::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Value(Scalar::Float(f64::NEG_INFINITY)),
        _ => {}
    }
    let str_value = || Resolved::Value(Scalar::Str(s.to_string()));
    match first {
        b'.' => {
            if is_yaml_style_float(s)
                && let Some(f) = gofmt::parse_float(s)
            {
                return Resolved::Value(Scalar::Float(f));
            }
            str_value()
        }
        b'+' | b'-' | b'0'..=b'9' => {
            if let Some(t) = GoTime::parse_yaml_timestamp(s) {
                return Resolved::Value(Scalar::Time(t));
            }
            let plain = s.replace('_', "");
            match go_parse_int_base0(&plain) {
                Some(Ok(i)) => return Resolved::Value(Scalar::Int(i)),
                Some(Err(u)) => return Resolved::Uint(u),
                None => {}
            }
            if is_yaml_style_float(&plain)
                && let Some(f) = gofmt::parse_float(&plain)
            {
                return Resolved::Value(Scalar::Float(f));
            }
            str_value()
        }
        _ => str_value(),
    }
}

/// Resolve an explicitly tagged scalar (`!!str 12`, `!!binary …`); `None` if the tag does not
/// fit the value (yaml.v3 fails to decode such documents).
pub fn resolve_tagged(tag_suffix: &str, core: bool, value: &str, quoted: bool) -> Option<Resolved> {
    if !core {
        // Local tags (`!foo`) decode into interface{} as plain strings.
        return Some(Resolved::Value(Scalar::Str(value.to_string())));
    }
    Some(match tag_suffix {
        "str" => Resolved::Value(Scalar::Str(value.to_string())),
        "binary" => {
            let cleaned: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned)
                .ok()?;
            match String::from_utf8(bytes) {
                Ok(s) => Resolved::Value(Scalar::Str(s)),
                Err(e) => Resolved::Value(Scalar::BinStr(e.into_bytes())),
            }
        }
        "null" | "bool" | "int" | "float" | "timestamp" => {
            let r = if quoted {
                Resolved::Value(Scalar::Str(value.to_string()))
            } else {
                resolve_plain(value)
            };
            match (tag_suffix, &r) {
                ("null", Resolved::Null) => r,
                ("bool", Resolved::Value(Scalar::Bool(_))) => r,
                ("int", Resolved::Value(Scalar::Int(_)) | Resolved::Uint(_)) => r,
                ("float", Resolved::Value(Scalar::Float(_))) => r,
                ("float", Resolved::Value(Scalar::Int(i))) => {
                    Resolved::Value(Scalar::Float(*i as f64))
                }
                ("timestamp", Resolved::Value(Scalar::Time(_))) => r,
                ("timestamp", _) => {
                    Resolved::Value(Scalar::Time(GoTime::parse_yaml_timestamp(value)?))
                }
                _ => return None,
            }
        }
        _ => Resolved::Value(Scalar::Str(value.to_string())),
    })
}

// ---- writing -------------------------------------------------------------------------

fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// libyaml's `yaml_emitter_analyze_scalar` verdicts.
struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single_quoted: bool,
    block: bool,
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain: false,
            block_plain: true,
            single_quoted: true,
            block: false,
        };
    }
    let (mut block_ind, mut flow_ind) = (false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let (mut line_breaks, mut special, mut tabs) = (false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let mut preceded_by_ws = true;
    let mut iter = value.chars().peekable();
    let mut i = 0usize;
    while let Some(c) = iter.next() {
        let next = iter.peek().copied();
        let followed_by_ws = next.is_none_or(|n| is_blank(n) || is_break(n));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_ind = true;
                    block_ind = true;
                }
                '?' | ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_ind = true,
                ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        let last = next.is_none();
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = is_blank(c) || is_break(c);
        i += 1;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain: true,
        block_plain: true,
        single_quoted: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || tabs || special {
        a.flow_plain = false;
        a.block_plain = false;
        a.single_quoted = false;
    }
    if space_break || special {
        a.block = false;
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_ind {
        a.flow_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

/// The presentation style of a scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'…'`.
    Single,
    /// `"…"`.
    Double,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// Where a scalar is written: decides which styles libyaml allows.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// Inside `[…]`/`{…}`.
    pub flow: bool,
    /// A mapping key.
    pub key: bool,
    /// Column of block-scalar content lines.
    pub block_indent: usize,
    /// The emitter's indentation setting (indentation hint of block scalars).
    pub best_indent: usize,
}

/// Whether a plain rendering of `s` is possible in `ctx` and reads back as the same string.
pub fn plain_allowed(s: &str, ctx: &Context) -> bool {
    let a = analyze(s);
    let ok = if ctx.flow {
        a.flow_plain
    } else {
        a.block_plain
    };
    ok && !s.is_empty() && matches!(resolve_plain(s), Resolved::Value(Scalar::Str(_)))
}

/// Pick the style yaml.v3 (as sops drives it) writes a string in.
pub fn canonical_string_style(s: &str, ctx: &Context) -> Style {
    // Fast path for the common case (identifiers, tokens, URLs without `: `/` #`): a string
    // that starts with a letter other than those of YAML's special words and holds only
    // these characters is always written plain.
    // YAML's special words (`yes`, `no`, `on`, `off`, `true`, `false`, `null`, …) are at most
    // five characters long, so a longer such string is plain whatever its first letter.
    let b = s.as_bytes();
    if !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && (b.len() > 5
            || !matches!(
                b[0],
                b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O'
            ))
        && b.iter().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/' | b'+' | b'=')
        })
    {
        return Style::Plain;
    }
    let can_plain = matches!(resolve_plain(s), Resolved::Value(Scalar::Str(_)))
        && !(is_base60_float(s) || is_old_bool(s));
    let requested = if s.contains('\n') {
        if ctx.flow {
            Style::Double
        } else {
            Style::Literal
        }
    } else if can_plain {
        Style::Plain
    } else {
        Style::Double
    };
    select_style(s, requested, ctx)
}

/// libyaml's `yaml_emitter_select_scalar_style`.
pub fn select_style(s: &str, requested: Style, ctx: &Context) -> Style {
    let a = analyze(s);
    let mut style = requested;
    if ctx.key && a.multiline {
        style = Style::Double;
    }
    if style == Style::Plain {
        if (ctx.flow && !a.flow_plain) || (!ctx.flow && !a.block_plain) {
            style = Style::Single;
        }
        if s.is_empty() && (ctx.flow || ctx.key) {
            style = Style::Single;
        }
    }
    if style == Style::Single && !a.single_quoted {
        style = Style::Double;
    }
    if matches!(style, Style::Literal | Style::Folded) && (!a.block || ctx.flow || ctx.key) {
        style = Style::Double;
    }
    style
}

/// `yaml_emitter_write_single_quoted_scalar` without line wrapping.
pub fn write_single(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// `yaml_emitter_write_double_quoted_scalar` without line wrapping.
pub fn write_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
            out.push('\\');
            match c {
                '\0' => out.push('0'),
                '\u{7}' => out.push('a'),
                '\u{8}' => out.push('b'),
                '\t' => out.push('t'),
                '\n' => out.push('n'),
                '\u{b}' => out.push('v'),
                '\u{c}' => out.push('f'),
                '\r' => out.push('r'),
                '\u{1b}' => out.push('e'),
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '\u{85}' => out.push('N'),
                '\u{A0}' => out.push('_'),
                '\u{2028}' => out.push('L'),
                '\u{2029}' => out.push('P'),
                c => {
                    let v = c as u32;
                    if v <= 0xFF {
                        out.push_str(&format!("x{v:02X}"));
                    } else if v <= 0xFFFF {
                        out.push_str(&format!("u{v:04X}"));
                    } else {
                        out.push_str(&format!("U{v:08X}"));
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// `yaml_emitter_write_literal_scalar`: header, then each line indented; the result ends
/// with the value's own trailing line breaks.
pub fn write_literal(s: &str, ctx: &Context) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    out.push('|');
    if s.starts_with(' ') || s.starts_with(is_break) {
        out.push_str(&ctx.best_indent.to_string());
    }
    let mut rev = s.chars().rev();
    match (rev.next(), rev.next()) {
        (None, _) => out.push('-'),
        (Some(last), _) if !is_break(last) => out.push('-'),
        (Some(_), None) => out.push('+'),
        (Some(_), Some(prev)) if is_break(prev) => out.push('+'),
        _ => {}
    }
    out.push('\n');
    let mut at_line_start = true;
    for c in s.chars() {
        if is_break(c) {
            out.push(c);
            at_line_start = true;
        } else {
            if at_line_start {
                out.extend(std::iter::repeat_n(' ', ctx.block_indent));
                at_line_start = false;
            }
            out.push(c);
        }
    }
    out
}

/// Render a string in a given style (the style must have been checked to be possible).
pub fn write_string(s: &str, style: Style, ctx: &Context) -> String {
    match style {
        Style::Plain => s.to_string(),
        Style::Single => write_single(s),
        Style::Double => write_double(s),
        Style::Literal | Style::Folded => write_literal(s, ctx),
    }
}

/// How sops (yaml.v3) prints a typed scalar.
pub fn canonical(value: &Scalar, ctx: &Context) -> String {
    match value {
        Scalar::Str(s) => write_string(s, canonical_string_style(s, ctx), ctx),
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => gofmt::format_float_yaml(*f),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Time(t) => t.format_rfc3339_nano(),
        Scalar::Bytes(b) | Scalar::BinStr(b) => {
            // yaml.v3 writes non-UTF-8 strings as base64 `!!binary`.
            let enc = base64::engine::general_purpose::STANDARD.encode(b);
            format!("!!binary {enc}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            flow: false,
            key: false,
            block_indent: 4,
            best_indent: 4,
        }
    }

    #[test]
    fn resolves_like_yaml_v3() {
        assert_eq!(resolve_plain("0123"), Resolved::Value(Scalar::Int(83)));
        assert_eq!(resolve_plain("0x1F"), Resolved::Value(Scalar::Int(31)));
        assert_eq!(resolve_plain("1_000"), Resolved::Value(Scalar::Int(1000)));
        assert_eq!(resolve_plain("1e3"), Resolved::Value(Scalar::Float(1000.0)));
        assert_eq!(resolve_plain("09"), Resolved::Value(Scalar::Float(9.0)));
        assert_eq!(
            resolve_plain("yes"),
            Resolved::Value(Scalar::Str("yes".into()))
        );
        assert_eq!(resolve_plain("~"), Resolved::Null);
        assert_eq!(resolve_plain("+5"), Resolved::Value(Scalar::Int(5)));
        assert_eq!(
            resolve_plain("+1-555-0100"),
            Resolved::Value(Scalar::Str("+1-555-0100".into()))
        );
        assert_eq!(
            resolve_plain("18446744073709551615"),
            Resolved::Uint(u64::MAX)
        );
        assert!(matches!(
            resolve_plain("2024-01-01"),
            Resolved::Value(Scalar::Time(_))
        ));
        assert!(is_base60_float("1:20"));
        assert!(!is_base60_float("1:2:x"));
    }

    #[test]
    fn renders_like_yaml_v3() {
        let c = ctx();
        assert_eq!(canonical(&Scalar::Str("yes".into()), &c), "\"yes\"");
        assert_eq!(canonical(&Scalar::Str("".into()), &c), "\"\"");
        assert_eq!(canonical(&Scalar::Str("0123".into()), &c), "\"0123\"");
        assert_eq!(canonical(&Scalar::Str("héllo ✓".into()), &c), "héllo ✓");
        assert_eq!(canonical(&Scalar::Str("a: b".into()), &c), "'a: b'");
        assert_eq!(
            canonical(&Scalar::Str("tab\there".into()), &c),
            "\"tab\\there\""
        );
        assert_eq!(
            canonical(&Scalar::Str("l1\nl2\n".into()), &c),
            "|\n    l1\n    l2\n"
        );
        assert_eq!(
            canonical(&Scalar::Str("l1 \nl2".into()), &c),
            "\"l1 \\nl2\""
        );
        assert_eq!(canonical(&Scalar::Str("😀".into()), &c), "\"\\U0001F600\"");
        assert_eq!(
            canonical(&Scalar::Str("folded text\n".into()), &c),
            "|\n    folded text\n"
        );
    }
}
