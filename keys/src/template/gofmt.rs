//! Go's `fmt` and `strconv` formatting, as far as templates reach them: how a value prints
//! (`fmt.Fprint`), `print`/`println`/`printf`, `%q` quoting (`strconv.Quote`), and float
//! formatting (`strconv.FormatFloat` 'e'/'f'/'g' with Go's shortest-digits rules, where
//! `%v` switches to exponent form from 1e+06 on).
//!
//! Follows `fmt/print.go`, `fmt/format.go`, `strconv/ftoa.go`, `strconv/quote.go`.
//! Go's `unicode.IsPrint` needs Unicode category tables; [`is_go_print`] approximates it for
//! non-ASCII characters (exact for ASCII, Latin-1, common whitespace and format characters).

use super::value::Value;

/// Decodes one Go rune: `(Some(char), width)` or `(None, 1)` for an invalid byte
/// (Go's `utf8.DecodeRune` returning `RuneError` with width 1).
pub(crate) fn decode_rune(b: &[u8]) -> (Option<char>, usize) {
    if b.is_empty() {
        return (None, 0);
    }
    let first = b[0];
    let n = match first {
        0x00..=0x7f => return (Some(first as char), 1),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (None, 1),
    };
    if b.len() < n {
        return (None, 1);
    }
    match std::str::from_utf8(&b[..n]) {
        Ok(s) => (s.chars().next(), n),
        Err(_) => (None, 1),
    }
}

/// Iterates Go runes over bytes; invalid bytes come out as U+FFFD (width 1), as in Go.
pub(crate) fn runes(b: &[u8]) -> impl Iterator<Item = (char, usize, bool)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= b.len() {
            return None;
        }
        let (c, w) = decode_rune(&b[i..]);
        i += w;
        Some((c.unwrap_or('\u{FFFD}'), w, c.is_none()))
    })
}

/// Go string → Rust string, replacing each invalid byte by U+FFFD as Go's range loop does.
pub(crate) fn lossy(b: &[u8]) -> String {
    runes(b).map(|(c, _, _)| c).collect()
}

/// Approximation of Go's `unicode.IsPrint`.
pub(crate) fn is_go_print(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return (0x20..0x7f).contains(&u);
    }
    if u < 0xa1 || u == 0xad {
        return false;
    }
    if c.is_whitespace() || c.is_control() {
        return false;
    }
    !matches!(u,
        0x061c | 0x06dd | 0x070f | 0x180e | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f
        | 0xd800..=0xdfff | 0xe000..=0xf8ff | 0xfeff | 0xfff9..=0xfffb | 0xfffe | 0xffff
        | 0xf0000..=0x10ffff | 0xe0000..=0xe007f)
        && (u & 0xfffe) != 0xfffe
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

fn push_escaped_rune(out: &mut Vec<u8>, c: char, quote: u8, ascii_only: bool) {
    if c as u32 == quote as u32 || c == '\\' {
        out.push(b'\\');
        out.push(c as u8);
        return;
    }
    if ascii_only {
        if c.is_ascii() && is_go_print(c) {
            out.push(c as u8);
            return;
        }
    } else if is_go_print(c) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        return;
    }
    match c {
        '\x07' => out.extend_from_slice(b"\\a"),
        '\x08' => out.extend_from_slice(b"\\b"),
        '\x0c' => out.extend_from_slice(b"\\f"),
        '\n' => out.extend_from_slice(b"\\n"),
        '\r' => out.extend_from_slice(b"\\r"),
        '\t' => out.extend_from_slice(b"\\t"),
        '\x0b' => out.extend_from_slice(b"\\v"),
        c if (c as u32) < 0x20 || c as u32 == 0x7f => {
            out.extend_from_slice(b"\\x");
            out.push(HEX_LOWER[(c as usize) >> 4]);
            out.push(HEX_LOWER[(c as usize) & 0xf]);
        }
        c if (c as u32) < 0x10000 => {
            out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
        }
        c => out.extend_from_slice(format!("\\U{:08x}", c as u32).as_bytes()),
    }
}

fn quote_with(b: &[u8], quote: u8, ascii_only: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 2);
    out.push(quote);
    let mut i = 0;
    while i < b.len() {
        let (c, w) = decode_rune(&b[i..]);
        match c {
            None => {
                out.extend_from_slice(b"\\x");
                out.push(HEX_LOWER[(b[i] >> 4) as usize]);
                out.push(HEX_LOWER[(b[i] & 0xf) as usize]);
            }
            Some(c) => push_escaped_rune(&mut out, c, quote, ascii_only),
        }
        i += w;
    }
    out.push(quote);
    out
}

/// Go `strconv.Quote`.
pub(crate) fn quote(b: &[u8]) -> Vec<u8> {
    quote_with(b, b'"', false)
}

/// Go `strconv.Quote` as a Rust string (for messages about template text).
pub(crate) fn quote_str(b: &[u8]) -> String {
    String::from_utf8_lossy(&quote(b)).into_owned()
}

/// Go `%#U`: `U+0041 'A'`.
pub(crate) fn format_unicode_sharp(c: char) -> String {
    if is_go_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

// ---------------------------------------------------------------------------------------
// Floats (strconv/ftoa.go)
// ---------------------------------------------------------------------------------------

/// Decimal digits of |f| with the decimal point position (`0.d1d2... × 10^dp`), trailing
/// zeros trimmed; zero has no digits.
#[derive(Debug, Clone)]
pub(crate) struct Digits {
    pub d: Vec<u8>,
    pub dp: i32,
}

fn digits_from_exp_form(s: &str) -> Digits {
    // s is like "1.2345e6" or "1e-7"
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(|b| b.is_ascii_digit()).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    if d.is_empty() {
        return Digits { d, dp: 0 };
    }
    Digits { d, dp: exp + 1 }
}

/// Shortest digits that round-trip (Go's `prec = -1`).
pub(crate) fn shortest_digits(f: f64) -> Digits {
    if f == 0.0 {
        return Digits {
            d: Vec::new(),
            dp: 0,
        };
    }
    digits_from_exp_form(&format!("{:e}", f.abs()))
}

/// Digits rounded to `n` significant digits (n ≥ 1), trailing zeros trimmed.
fn sig_digits(f: f64, n: usize) -> Digits {
    if f == 0.0 {
        return Digits {
            d: Vec::new(),
            dp: 0,
        };
    }
    digits_from_exp_form(&format!("{:.*e}", n.saturating_sub(1), f.abs()))
}

fn fmt_e(neg: bool, d: &Digits, prec: usize, e: u8) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push(if d.d.is_empty() { '0' } else { d.d[0] as char });
    if prec > 0 {
        s.push('.');
        let mut i = 1;
        let m = d.d.len().min(prec + 1);
        if i < m {
            s.push_str(std::str::from_utf8(&d.d[i..m]).unwrap_or(""));
            i = m;
        }
        while i <= prec {
            s.push('0');
            i += 1;
        }
    }
    s.push(e as char);
    let mut exp = d.dp - 1;
    if d.d.is_empty() {
        exp = 0;
    }
    if exp < 0 {
        s.push('-');
        exp = -exp;
    } else {
        s.push('+');
    }
    if exp < 10 {
        s.push('0');
    }
    s.push_str(&exp.to_string());
    s
}

fn fmt_f(neg: bool, d: &Digits, prec: usize) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if d.dp > 0 {
        let m = (d.dp as usize).min(d.d.len());
        s.push_str(std::str::from_utf8(&d.d[..m]).unwrap_or(""));
        for _ in m..d.dp as usize {
            s.push('0');
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 1..=prec as i32 {
            let j = d.dp + i - 1;
            let ch = if j >= 0 && (j as usize) < d.d.len() {
                d.d[j as usize] as char
            } else {
                '0'
            };
            s.push(ch);
        }
    }
    s
}

/// Go `strconv.FormatFloat(f, fmt, prec, 64)` for fmt in e, E, f, g, G.
pub(crate) fn format_float(f: f64, fmt: u8, prec: Option<usize>) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative());
    match fmt {
        b'e' | b'E' => {
            let (d, p) = match prec {
                None => {
                    let d = shortest_digits(f);
                    let p = d.d.len().saturating_sub(1);
                    (d, p)
                }
                Some(p) => (sig_digits(f, p + 1), p),
            };
            fmt_e(neg, &d, p, fmt)
        }
        b'f' | b'F' => match prec {
            None => {
                let d = shortest_digits(f);
                let p = (d.d.len() as i32 - d.dp).max(0) as usize;
                fmt_f(neg, &d, p)
            }
            Some(p) => {
                let s = format!("{:.*}", p, f.abs());
                if neg { format!("-{s}") } else { s }
            }
        },
        _ => {
            let shortest = prec.is_none();
            let (d, mut p) = match prec {
                None => {
                    let d = shortest_digits(f);
                    let n = d.d.len();
                    (d, n)
                }
                Some(p) => {
                    let p = p.max(1);
                    (sig_digits(f, p), p)
                }
            };
            let nd = d.d.len() as i32;
            let mut eprec = p as i32;
            if eprec > nd && nd >= d.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = d.dp - 1;
            let e = if fmt == b'G' { b'E' } else { b'e' };
            if exp < -4 || exp >= eprec {
                if p as i32 > nd {
                    p = nd.max(0) as usize;
                }
                return fmt_e(neg, &d, p.saturating_sub(1), e);
            }
            if p as i32 > d.dp {
                p = nd.max(0) as usize;
            }
            fmt_f(neg, &d, (p as i32 - d.dp).max(0) as usize)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Printing values (fmt/print.go)
// ---------------------------------------------------------------------------------------

/// `fmt.Fprint(v)` of a single value with the `%v` verb.
pub(crate) fn print_value(out: &mut Vec<u8>, v: &Value) {
    let f = Flags::default();
    fmt_value(out, v, 'v', &f);
}

/// The `%v` text of a value as bytes.
pub(crate) fn sprint_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    print_value(&mut out, v);
    out
}

/// `fmt.Sprint(args...)`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(b' ');
        }
        print_value(&mut out, a);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln(args...)`: always spaces, trailing newline.
pub(crate) fn sprintln(args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        print_value(&mut out, a);
    }
    out.push(b'\n');
    out
}

#[derive(Default, Clone)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(out: &mut Vec<u8>, s: &[u8], f: &Flags) {
    let Some(w) = f.width else {
        out.extend_from_slice(s);
        return;
    };
    let n = runes(s).count();
    if n >= w {
        out.extend_from_slice(s);
        return;
    }
    let fill = w - n;
    if f.minus {
        out.extend_from_slice(s);
        out.extend(std::iter::repeat_n(b' ', fill));
    } else {
        let c = if f.zero { b'0' } else { b' ' };
        out.extend(std::iter::repeat_n(c, fill));
        out.extend_from_slice(s);
    }
}

/// Pads a number: zero padding goes after the sign.
fn pad_number(out: &mut Vec<u8>, s: &str, f: &Flags) {
    if f.zero
        && !f.minus
        && let Some(w) = f.width
        && s.len() < w
    {
        let (sign, body) = match s.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        out.extend_from_slice(sign.as_bytes());
        out.extend(std::iter::repeat_n(b'0', w - s.len()));
        out.extend_from_slice(body.as_bytes());
        return;
    }
    let mut g = f.clone();
    g.zero = false;
    pad(out, s.as_bytes(), &g);
}

fn bad_verb(out: &mut Vec<u8>, verb: char, v: &Value) {
    out.extend_from_slice(b"%!");
    push_char(out, verb);
    out.push(b'(');
    if matches!(v, Value::Nil) {
        out.extend_from_slice(b"<nil>");
    } else {
        out.extend_from_slice(v.type_name().as_bytes());
        out.push(b'=');
        print_value(out, v);
    }
    out.push(b')');
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn fmt_integer(out: &mut Vec<u8>, i: i64, verb: char, f: &Flags) {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let (radix, upper) = match verb {
        'b' => (2, false),
        'o' | 'O' => (8, false),
        'x' => (16, false),
        'X' => (16, true),
        _ => (10, false),
    };
    let mut digits = match radix {
        2 => format!("{u:b}"),
        8 => format!("{u:o}"),
        16 if upper => format!("{u:X}"),
        16 => format!("{u:x}"),
        _ => u.to_string(),
    };
    if let Some(p) = f.prec {
        if p == 0 && u == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let mut prefix = String::new();
    if neg {
        prefix.push('-');
    } else if f.plus {
        prefix.push('+');
    } else if f.space {
        prefix.push(' ');
    }
    if f.sharp {
        match verb {
            'b' => prefix.push_str("0b"),
            'o' if !digits.starts_with('0') => prefix.push('0'),
            'x' => prefix.push_str("0x"),
            'X' => prefix.push_str("0X"),
            _ => {}
        }
    }
    if verb == 'O' {
        prefix.push_str("0o");
    }
    let s = format!("{prefix}{digits}");
    if f.prec.is_some() {
        let mut g = f.clone();
        g.zero = false;
        pad(out, s.as_bytes(), &g);
    } else if f.zero && !f.minus && f.width.is_some_and(|w| w > s.len()) {
        out.extend_from_slice(prefix.as_bytes());
        out.extend(std::iter::repeat_n(b'0', f.width.unwrap_or(0) - s.len()));
        out.extend_from_slice(digits.as_bytes());
    } else {
        pad(out, s.as_bytes(), f);
    }
}

fn fmt_float_verb(out: &mut Vec<u8>, x: f64, verb: char, f: &Flags) {
    let (fmt, prec) = match verb {
        'v' => (b'g', f.prec),
        'e' | 'E' => (verb as u8, Some(f.prec.unwrap_or(6))),
        'f' | 'F' => (b'f', Some(f.prec.unwrap_or(6))),
        'g' | 'G' => (verb as u8, f.prec),
        _ => unreachable!("checked by caller"),
    };
    let mut s = format_float(x, fmt, prec);
    if x.is_infinite() || x.is_nan() {
        if s.starts_with('+') && !f.plus {
            s.remove(0);
        }
        if x.is_nan() && f.plus {
            s.insert(0, '+');
        }
        if f.space && !s.starts_with(['+', '-']) {
            s.insert(0, ' ');
        }
        let mut g = f.clone();
        g.zero = false;
        pad(out, s.as_bytes(), &g);
        return;
    }
    if !s.starts_with('-') {
        if f.plus {
            s.insert(0, '+');
        } else if f.space {
            s.insert(0, ' ');
        }
    }
    pad_number(out, &s, f);
}

fn fmt_string(out: &mut Vec<u8>, s: &[u8], verb: char, f: &Flags) -> bool {
    match verb {
        'v' if f.sharp => pad(out, &quote(s), f),
        'v' | 's' => {
            let s = match f.prec {
                Some(p) => {
                    let mut end = 0;
                    for (n, (_, w, _)) in runes(s).enumerate() {
                        if n == p {
                            break;
                        }
                        end += w;
                    }
                    &s[..end]
                }
                None => s,
            };
            pad(out, s, f);
        }
        'q' => {
            let q = if f.sharp && can_backquote(s) {
                let mut v = vec![b'`'];
                v.extend_from_slice(s);
                v.push(b'`');
                v
            } else {
                quote_with(s, b'"', f.plus)
            };
            pad(out, &q, f);
        }
        'x' | 'X' => {
            let s = match f.prec {
                Some(p) => &s[..p.min(s.len())],
                None => s,
            };
            let mut h = Vec::new();
            let digits: &[u8] = if verb == 'x' {
                b"0123456789abcdef"
            } else {
                b"0123456789ABCDEF"
            };
            for (i, b) in s.iter().enumerate() {
                if f.space && i > 0 {
                    h.push(b' ');
                }
                if f.sharp && (f.space || i == 0) {
                    h.extend_from_slice(if verb == 'x' { b"0x" } else { b"0X" });
                }
                h.push(digits[(b >> 4) as usize]);
                h.push(digits[(b & 0xf) as usize]);
            }
            pad(out, &h, f);
        }
        _ => return false,
    }
    true
}

fn can_backquote(s: &[u8]) -> bool {
    runes(s).all(|(c, w, invalid)| {
        !(invalid || w == 1 && (c as u32) < 0x20 && c != '\t')
            && c != '`'
            && c != '\u{7f}'
            && c != '\u{FEFF}'
    })
}

fn fmt_value(out: &mut Vec<u8>, v: &Value, verb: char, f: &Flags) {
    match v {
        Value::Nil => {
            if verb == 'v' {
                pad(out, b"<nil>", f);
            } else {
                bad_verb(out, verb, v);
            }
        }
        Value::Bool(b) => {
            if matches!(verb, 't' | 'v') {
                pad(out, if *b { b"true" } else { b"false" }, f);
            } else {
                bad_verb(out, verb, v);
            }
        }
        Value::Int(i) => match verb {
            'v' | 'd' | 'b' | 'o' | 'O' | 'x' | 'X' => fmt_integer(out, *i, verb, f),
            'c' => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                let mut buf = [0u8; 4];
                pad(out, c.encode_utf8(&mut buf).as_bytes(), f);
            }
            'q' => {
                let c = u32::try_from(*i)
                    .ok()
                    .and_then(char::from_u32)
                    .unwrap_or('\u{FFFD}');
                let mut q = vec![b'\''];
                push_escaped_rune(&mut q, c, b'\'', f.plus);
                q.push(b'\'');
                pad(out, &q, f);
            }
            'U' => {
                let mut s = format!("U+{:04X}", i);
                if f.sharp
                    && let Some(c) = u32::try_from(*i).ok().and_then(char::from_u32)
                    && is_go_print(c)
                {
                    s.push_str(&format!(" '{c}'"));
                }
                pad(out, s.as_bytes(), f);
            }
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => bad_verb(out, verb, v),
            _ => bad_verb(out, verb, v),
        },
        Value::Float(x) => match verb {
            'v' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G' => fmt_float_verb(out, *x, verb, f),
            _ => bad_verb(out, verb, v),
        },
        Value::String(s) => {
            if !fmt_string(out, s, verb, f) {
                bad_verb(out, verb, v);
            }
        }
        Value::Time(t) => {
            let s = t.go_string();
            if !fmt_string(out, s.as_bytes(), verb, f) {
                bad_verb(out, verb, v);
            }
        }
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                fmt_value(out, item, verb, f);
            }
            out.push(b']');
        }
        Value::Map(_) | Value::StringMap(_) => {
            out.extend_from_slice(b"map[");
            for (i, (k, val)) in v.map_entries().unwrap_or_default().iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                fmt_value(out, &Value::String(k.as_bytes().to_vec()), verb, f);
                out.push(b':');
                fmt_value(out, val, verb, f);
            }
            out.push(b']');
        }
    }
}

/// `fmt.Sprintf(format, args...)`.
pub(crate) fn sprintf(format: &[u8], args: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0;
    let n = format.len();
    while i < n {
        let start = i;
        while i < n && format[i] != b'%' {
            i += 1;
        }
        out.extend_from_slice(&format[start..i]);
        if i >= n {
            break;
        }
        i += 1; // skip %
        let mut f = Flags::default();
        // flags
        while i < n {
            match format[i] {
                b'#' => f.sharp = true,
                b'0' => f.zero = true,
                b'+' => f.plus = true,
                b'-' => f.minus = true,
                b' ' => f.space = true,
                _ => break,
            }
            i += 1;
        }
        // argument index
        let parse_index = |i: &mut usize, arg_num: &mut usize, reordered: &mut bool| -> bool {
            if *i < n && format[*i] == b'[' {
                *reordered = true;
                let close = format[*i..].iter().position(|b| *b == b']');
                if let Some(c) = close {
                    let idx = std::str::from_utf8(&format[*i + 1..*i + c])
                        .ok()
                        .and_then(|s| s.parse::<usize>().ok());
                    *i += c + 1;
                    match idx {
                        Some(k) if k >= 1 => {
                            *arg_num = k - 1;
                            return true;
                        }
                        _ => return false,
                    }
                }
                return false;
            }
            true
        };
        let mut good_index = parse_index(&mut i, &mut arg_num, &mut reordered);
        // width
        if i < n && format[i] == b'*' {
            i += 1;
            match args.get(arg_num) {
                Some(Value::Int(w)) => {
                    let w = *w;
                    if w < 0 {
                        f.minus = true;
                        f.width = Some(w.unsigned_abs() as usize);
                    } else {
                        f.width = Some(w as usize);
                    }
                    arg_num += 1;
                }
                _ => {
                    out.extend_from_slice(b"%!(BADWIDTH)");
                    if arg_num < args.len() {
                        arg_num += 1;
                    }
                }
            }
        } else {
            let s = i;
            while i < n && format[i].is_ascii_digit() {
                i += 1;
            }
            if i > s {
                f.width = std::str::from_utf8(&format[s..i])
                    .ok()
                    .and_then(|s| s.parse().ok());
            }
        }
        // precision
        if i < n && format[i] == b'.' {
            i += 1;
            if !parse_index(&mut i, &mut arg_num, &mut reordered) {
                good_index = false;
            }
            if i < n && format[i] == b'*' {
                i += 1;
                match args.get(arg_num) {
                    Some(Value::Int(p)) if *p >= 0 => {
                        f.prec = Some(*p as usize);
                        arg_num += 1;
                    }
                    _ => {
                        out.extend_from_slice(b"%!(BADPREC)");
                        if arg_num < args.len() {
                            arg_num += 1;
                        }
                    }
                }
            } else {
                let s = i;
                while i < n && format[i].is_ascii_digit() {
                    i += 1;
                }
                f.prec = Some(
                    std::str::from_utf8(&format[s..i])
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                );
            }
        }
        if !parse_index(&mut i, &mut arg_num, &mut reordered) {
            good_index = false;
        }
        if i >= n {
            out.extend_from_slice(b"%!(NOVERB)");
            break;
        }
        let (c, w) = decode_rune(&format[i..]);
        let verb = c.unwrap_or('\u{FFFD}');
        i += w.max(1);
        if verb == '%' {
            out.push(b'%');
            continue;
        }
        if !good_index {
            out.extend_from_slice(b"%!");
            push_char(&mut out, verb);
            out.extend_from_slice(b"(BADINDEX)");
            continue;
        }
        let Some(arg) = args.get(arg_num) else {
            out.extend_from_slice(b"%!");
            push_char(&mut out, verb);
            out.extend_from_slice(b"(MISSING)");
            continue;
        };
        arg_num += 1;
        if f.minus {
            f.zero = false;
        }
        if verb == 'w' {
            bad_verb(&mut out, verb, arg);
            continue;
        }
        fmt_value(&mut out, arg, verb, &f);
    }
    if !reordered && arg_num < args.len() {
        out.extend_from_slice(b"%!(EXTRA ");
        for (k, a) in args[arg_num..].iter().enumerate() {
            if k > 0 {
                out.extend_from_slice(b", ");
            }
            if matches!(a, Value::Nil) {
                out.extend_from_slice(b"<nil>");
            } else {
                out.extend_from_slice(a.type_name().as_bytes());
                out.push(b'=');
                print_value(&mut out, a);
            }
        }
        out.push(b')');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(fmt: &str, args: &[Value]) -> String {
        String::from_utf8(sprintf(fmt.as_bytes(), args)).unwrap()
    }

    #[test]
    fn floats_print_like_go() {
        // fmt_test.go: %v of floats uses %g with shortest digits, exponent from 1e21? no: e+06
        assert_eq!(format_float(1e6, b'g', None), "1e+06");
        assert_eq!(format_float(123456.0, b'g', None), "123456");
        assert_eq!(format_float(1234567.0, b'g', None), "1.234567e+06");
        assert_eq!(format_float(0.0001, b'g', None), "0.0001");
        assert_eq!(format_float(0.00001, b'g', None), "1e-05");
        assert_eq!(format_float(3.0, b'g', None), "3");
        assert_eq!(format_float(0.0, b'g', None), "0");
        assert_eq!(format_float(2.71628, b'f', Some(2)), "2.72");
        assert_eq!(format_float(1.0, b'e', Some(3)), "1.000e+00");
        assert_eq!(format_float(1.0, b'g', Some(3)), "1");
        assert_eq!(format_float(1234.5678, b'g', Some(3)), "1.23e+03");
    }

    #[test]
    fn printf_verbs() {
        // fmt_test.go fmtTests
        assert_eq!(
            pf(
                "%5d|%-5d|%05d",
                &[Value::Int(42), Value::Int(42), Value::Int(-42)]
            ),
            "   42|42   |-0042"
        );
        assert_eq!(
            pf(
                "%x %X %o %b",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5)
                ]
            ),
            "ff FF 10 101"
        );
        assert_eq!(pf("%q", &[Value::from("a\"b\n")]), "\"a\\\"b\\n\"");
        assert_eq!(
            pf("%s %v", &[Value::from("x"), Value::Bool(true)]),
            "x true"
        );
        assert_eq!(pf("%d", &[Value::from("x")]), "%!d(string=x)");
        assert_eq!(pf("%d", &[]), "%!d(MISSING)");
        assert_eq!(pf("a", &[Value::Int(1)]), "a%!(EXTRA int=1)");
        assert_eq!(pf("%.2f%%", &[Value::Float(99.5)]), "99.50%");
        assert_eq!(pf("%6.2f|", &[Value::Float(2.71628)]), "  2.72|");
        assert_eq!(pf("%x", &[Value::from("hi")]), "6869");
        assert_eq!(
            pf("%[2]s %[1]s", &[Value::from("a"), Value::from("b")]),
            "b a"
        );
        assert_eq!(
            pf("%v", &[Value::List(vec![Value::Int(1), Value::from("a")])]),
            "[1 a]"
        );
        assert_eq!(pf("%c", &[Value::Int(65)]), "A");
        assert_eq!(pf("%.3s", &[Value::from("abcdef")]), "abc");
        assert_eq!(pf("%+d", &[Value::Int(5)]), "+5");
    }

    #[test]
    fn quote_escapes_like_strconv() {
        assert_eq!(quote_str(b"\x00\xff\t\xe2\x9c\x93"), "\"\\x00\\xff\\t✓\"");
        assert_eq!(quote_str("\u{a0}".as_bytes()), "\"\\u00a0\"");
    }

    #[test]
    fn sprint_spacing() {
        // fmt.Sprint adds spaces between operands when neither is a string
        let v = sprint(&[
            Value::Int(1),
            Value::Int(2),
            Value::from("a"),
            Value::Int(3),
        ]);
        assert_eq!(v, b"1 2a3");
        assert_eq!(sprintln(&[Value::from("a"), Value::Int(1)]), b"a 1\n");
    }
}
