//! String functions: sprig `strings.go`, the string entries of `functions.go`, and the
//! `goutils` / `xstrings` helpers they call. Strings are Go byte strings; functions that
//! work on runes decode them as Go does (an invalid byte is U+FFFD).

use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, int_arg, s, strval, take_str};
use crate::template::gofmt::{self, decode_rune, runes};
use crate::template::value::Value;

type R = Result<Value, FuncError>;

fn slice_panic() -> FuncError {
    FuncError::msg("runtime error: slice bounds out of range")
}

/// Go's `unicode.IsSpace`.
pub(crate) fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\x0b' | '\x0c' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    ) || (c as u32 > 0xff && c.is_whitespace())
}

/// Go `strings.Map(f, s)` over runes, re-encoding (invalid bytes become U+FFFD when any
/// rune changes, as `strings.Map` does).
fn map_runes(b: &[u8], f: impl Fn(char) -> char) -> Vec<u8> {
    let changed = runes(b).any(|(c, _, invalid)| invalid || f(c) != c);
    if !changed {
        return b.to_vec();
    }
    let mut out = Vec::with_capacity(b.len());
    for (c, _, _) in runes(b) {
        let m = f(c);
        let mut buf = [0u8; 4];
        out.extend_from_slice(m.encode_utf8(&mut buf).as_bytes());
    }
    out
}

fn to_upper_char(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c, // Go's unicode.ToUpper maps one rune to one rune
    }
}

fn to_lower_char(c: char) -> char {
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Go `unicode.ToTitle` (title case equals upper case outside a few digraphs).
fn to_title_char(c: char) -> char {
    match c {
        'ǆ' | 'ǅ' | 'Ǆ' => 'ǅ',
        'ǉ' | 'ǈ' | 'Ǉ' => 'ǈ',
        'ǌ' | 'ǋ' | 'Ǌ' => 'ǋ',
        'ǳ' | 'ǲ' | 'Ǳ' => 'ǲ',
        c => to_upper_char(c),
    }
}

pub(super) fn upper(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    if v.is_ascii() {
        return s(v.to_ascii_uppercase());
    }
    s(map_runes(&v, to_upper_char))
}

pub(super) fn lower(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    if v.is_ascii() {
        return s(v.to_ascii_lowercase());
    }
    s(map_runes(&v, to_lower_char))
}

/// Go `strings.TrimSpace`.
pub(super) fn trim(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    s(trim_func(&v, is_space, true, true))
}

fn trim_func(b: &[u8], pred: impl Fn(char) -> bool, left: bool, right: bool) -> Vec<u8> {
    let mut start = 0;
    if left {
        while start < b.len() {
            let (c, w) = decode_rune(&b[start..]);
            if !pred(c.unwrap_or('\u{FFFD}')) {
                break;
            }
            start += w;
        }
    }
    let mut end = b.len();
    if right {
        while end > start {
            // find the start of the last rune
            let mut k = end - 1;
            while k > start && end - k < 4 && (b[k] & 0xc0) == 0x80 {
                k -= 1;
            }
            let (c, w) = decode_rune(&b[k..end]);
            let (c, w) = if k + w == end { (c, w) } else { (None, 1) };
            let k = end - w;
            if !pred(c.unwrap_or('\u{FFFD}')) {
                break;
            }
            end = k;
        }
    }
    b[start..end].to_vec()
}

/// Go `strings.Title` (deprecated but what sprig calls): upper-cases letters that start a word.
pub(super) fn title(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    let is_sep = |c: char| -> bool {
        if c.is_ascii() {
            return !(c.is_ascii_alphanumeric() || c == '_');
        }
        if c.is_alphabetic() || c.is_numeric() {
            return false;
        }
        is_space(c)
    };
    let mut prev = ' ';
    let mut out = Vec::with_capacity(v.len());
    let mut changed = false;
    for (c, _, invalid) in runes(&v) {
        let m = if is_sep(prev) { to_title_char(c) } else { c };
        changed |= invalid || m != c;
        prev = c;
        let mut buf = [0u8; 4];
        out.extend_from_slice(m.encode_utf8(&mut buf).as_bytes());
    }
    s(if changed { out } else { v })
}

/// goutils `Uncapitalize`: lower-cases the first rune after each whitespace.
pub(super) fn untitle(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    if v.is_empty() {
        return s(v);
    }
    let mut out = Vec::with_capacity(v.len());
    let mut next = true;
    for (c, _, _) in runes(&v) {
        let m = if is_space(c) {
            next = true;
            c
        } else if next {
            next = false;
            to_lower_char(c)
        } else {
            c
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(m.encode_utf8(&mut buf).as_bytes());
    }
    s(out)
}

/// goutils `SwapCase`.
pub(super) fn swapcase(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    if v.is_empty() {
        return s(v);
    }
    let mut out = Vec::with_capacity(v.len());
    let mut whitespace = true;
    for (c, _, _) in runes(&v) {
        let m = if c.is_uppercase() {
            whitespace = false;
            to_lower_char(c)
        } else if c.is_lowercase() {
            let m = if whitespace {
                to_title_char(c)
            } else {
                to_upper_char(c)
            };
            whitespace = false;
            m
        } else {
            whitespace = is_space(c);
            c
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(m.encode_utf8(&mut buf).as_bytes());
    }
    s(out)
}

/// goutils `DeleteWhiteSpace`: works byte by byte (bytes ≥ 0x80 are re-encoded as if they
/// were Latin-1 runes when anything was removed — a goutils quirk reproduced here).
pub(super) fn nospace(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    let keep: Vec<u8> = v
        .iter()
        .copied()
        .filter(|b| !is_space(char::from(*b)))
        .collect();
    if keep.len() == v.len() {
        return s(v);
    }
    let mut out = Vec::with_capacity(keep.len());
    for b in keep {
        let mut buf = [0u8; 4];
        out.extend_from_slice(char::from(b).encode_utf8(&mut buf).as_bytes());
    }
    s(out)
}

/// goutils `Initials`: first byte after whitespace, byte by byte as goutils does.
pub(super) fn initials(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    let mut out = Vec::new();
    let mut gap = true;
    for b in v {
        let c = char::from(b);
        if is_space(c) {
            gap = true;
        } else if gap {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            gap = false;
        }
    }
    s(out)
}

fn abbreviate_full(v: &[u8], mut offset: i64, max_width: i64) -> Option<Vec<u8>> {
    if v.is_empty() {
        return Some(Vec::new());
    }
    if max_width < 4 {
        return None;
    }
    let len = v.len() as i64;
    if len <= max_width {
        return Some(v.to_vec());
    }
    if offset > len {
        offset = len;
    }
    if len - offset < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        let mut out = v[..(max_width - 3) as usize].to_vec();
        out.extend_from_slice(b"...");
        return Some(out);
    }
    if max_width < 7 {
        return None;
    }
    let mut out = b"...".to_vec();
    if offset + max_width - 3 < len {
        out.extend(abbreviate_full(&v[offset as usize..], 0, max_width - 3)?);
        return Some(out);
    }
    out.extend_from_slice(&v[(len - (max_width - 3)) as usize..]);
    Some(out)
}

pub(super) fn abbrev(_: &CallCtx, mut a: Vec<Value>) -> R {
    let width = int_arg(&a, 0);
    let v = take_str(&mut a, 1);
    if width < 4 {
        return s(v);
    }
    s(abbreviate_full(&v, 0, width).unwrap_or_default())
}

pub(super) fn abbrevboth(_: &CallCtx, mut a: Vec<Value>) -> R {
    let (left, right) = (int_arg(&a, 0), int_arg(&a, 1));
    let v = take_str(&mut a, 2);
    if right < 4 || left > 0 && right < 7 {
        return s(v);
    }
    s(abbreviate_full(&v, left, right).unwrap_or_default())
}

pub(super) fn trunc(_: &CallCtx, mut a: Vec<Value>) -> R {
    let c = int_arg(&a, 0);
    let v = take_str(&mut a, 1);
    let len = v.len() as i64;
    if c < 0 && len + c > 0 {
        return s(v[(len + c) as usize..].to_vec());
    }
    if c >= 0 && len > c {
        return s(v[..c as usize].to_vec());
    }
    s(v)
}

pub(super) fn substr(_: &CallCtx, mut a: Vec<Value>) -> R {
    let (start, end) = (int_arg(&a, 0), int_arg(&a, 1));
    let v = take_str(&mut a, 2);
    let len = v.len() as i64;
    let range = |lo: i64, hi: i64| -> R {
        if lo < 0 || hi < lo || hi > len {
            return Err(slice_panic());
        }
        s(v[lo as usize..hi as usize].to_vec())
    };
    if start < 0 {
        return range(0, end);
    }
    if end < 0 || end > len {
        return range(start, len);
    }
    range(start, end)
}

pub(super) fn repeat(c: &CallCtx, mut a: Vec<Value>) -> R {
    let count = int_arg(&a, 0);
    let v = take_str(&mut a, 1);
    if count < 0 {
        return Err(FuncError::msg("strings: negative Repeat count"));
    }
    let total = (v.len() as u128) * (count as u128);
    if total > c.max_size as u128 {
        return Err(FuncError::TooLarge);
    }
    s(v.repeat(count as usize))
}

/// Go `strings.Trim(s, cutset)`.
pub(super) fn trim_all(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cutset = gofmt::lossy(&take_str(&mut a, 0));
    let v = take_str(&mut a, 1);
    s(trim_func(&v, |c| cutset.contains(c), true, true))
}

pub(super) fn trim_suffix(_: &CallCtx, mut a: Vec<Value>) -> R {
    let suf = take_str(&mut a, 0);
    let v = take_str(&mut a, 1);
    s(v.strip_suffix(suf.as_slice())
        .map(<[u8]>::to_vec)
        .unwrap_or(v))
}

pub(super) fn trim_prefix(_: &CallCtx, mut a: Vec<Value>) -> R {
    let pre = take_str(&mut a, 0);
    let v = take_str(&mut a, 1);
    s(v.strip_prefix(pre.as_slice())
        .map(<[u8]>::to_vec)
        .unwrap_or(v))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

pub(super) fn contains(_: &CallCtx, a: Vec<Value>) -> R {
    let (sub, v) = (strval(&a[0]), strval(&a[1]));
    Ok(find(&v, &sub).is_some().into())
}

pub(super) fn has_prefix(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(strval(&a[1]).starts_with(&strval(&a[0])).into())
}

pub(super) fn has_suffix(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(strval(&a[1]).ends_with(&strval(&a[0])).into())
}

pub(super) fn quote(_: &CallCtx, a: Vec<Value>) -> R {
    let parts: Vec<Vec<u8>> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| gofmt::quote(&strval(v)))
        .collect();
    s(parts.join(&b' '))
}

pub(super) fn squote(_: &CallCtx, a: Vec<Value>) -> R {
    let parts: Vec<Vec<u8>> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| {
            let mut o = vec![b'\''];
            o.extend(gofmt::sprint_value(v));
            o.push(b'\'');
            o
        })
        .collect();
    s(parts.join(&b' '))
}

pub(super) fn cat(_: &CallCtx, a: Vec<Value>) -> R {
    let parts: Vec<Vec<u8>> = a
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(gofmt::sprint_value)
        .collect();
    s(parts.join(&b' '))
}

fn indent_bytes(c: &CallCtx, spaces: i64, v: &[u8]) -> Result<Vec<u8>, FuncError> {
    if spaces < 0 {
        return Err(FuncError::msg("strings: negative Repeat count"));
    }
    let lines = v.iter().filter(|b| **b == b'\n').count() as u128 + 1;
    if lines * spaces as u128 + v.len() as u128 > c.max_size as u128 {
        return Err(FuncError::TooLarge);
    }
    let pad = vec![b' '; spaces as usize];
    let mut out = pad.clone();
    for &b in v {
        out.push(b);
        if b == b'\n' {
            out.extend_from_slice(&pad);
        }
    }
    Ok(out)
}

pub(super) fn indent(c: &CallCtx, mut a: Vec<Value>) -> R {
    let n = int_arg(&a, 0);
    let v = take_str(&mut a, 1);
    s(indent_bytes(c, n, &v)?)
}

pub(super) fn nindent(c: &CallCtx, mut a: Vec<Value>) -> R {
    let n = int_arg(&a, 0);
    let v = take_str(&mut a, 1);
    let mut out = vec![b'\n'];
    out.extend(indent_bytes(c, n, &v)?);
    s(out)
}

/// Go `strings.Replace(src, old, new, -1)` (an empty `old` inserts between runes).
pub(crate) fn replace_all(src: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    if old.is_empty() {
        out.extend_from_slice(new);
        let mut i = 0;
        while i < src.len() {
            let (_, w) = decode_rune(&src[i..]);
            out.extend_from_slice(&src[i..i + w]);
            out.extend_from_slice(new);
            i += w;
        }
        return out;
    }
    let mut i = 0;
    while let Some(p) = find(&src[i..], old) {
        out.extend_from_slice(&src[i..i + p]);
        out.extend_from_slice(new);
        i += p + old.len();
    }
    out.extend_from_slice(&src[i..]);
    out
}

pub(super) fn replace(c: &CallCtx, mut a: Vec<Value>) -> R {
    let old = take_str(&mut a, 0);
    let new = take_str(&mut a, 1);
    let src = take_str(&mut a, 2);
    let out = replace_all(&src, &old, &new);
    c.check_size(out.len())?;
    s(out)
}

pub(super) fn plural(_: &CallCtx, mut a: Vec<Value>) -> R {
    let count = int_arg(&a, 2);
    let one = take_str(&mut a, 0);
    let many = take_str(&mut a, 1);
    s(if count == 1 { one } else { many })
}

/// Go `strings.Split` (`n < 0`) / `strings.SplitN`.
pub(crate) fn go_split(v: &[u8], sep: &[u8], n: i64) -> Vec<Vec<u8>> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        // explode into runes
        let mut parts = Vec::new();
        let mut i = 0;
        while i < v.len() {
            if n > 0 && parts.len() as i64 == n - 1 {
                parts.push(v[i..].to_vec());
                return parts;
            }
            let (_, w) = decode_rune(&v[i..]);
            parts.push(v[i..i + w].to_vec());
            i += w;
        }
        return parts;
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while n < 0 || (parts.len() as i64) < n - 1 {
        match find(&v[i..], sep) {
            Some(p) => {
                parts.push(v[i..i + p].to_vec());
                i += p + sep.len();
            }
            None => break,
        }
    }
    parts.push(v[i..].to_vec());
    parts
}

fn parts_map(parts: Vec<Vec<u8>>) -> Value {
    Value::StringMap(
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), p))
            .collect(),
    )
}

pub(super) fn split(_: &CallCtx, mut a: Vec<Value>) -> R {
    let sep = take_str(&mut a, 0);
    let v = take_str(&mut a, 1);
    Ok(parts_map(go_split(&v, &sep, -1)))
}

pub(super) fn splitn(_: &CallCtx, mut a: Vec<Value>) -> R {
    let n = int_arg(&a, 1);
    let sep = take_str(&mut a, 0);
    let v = take_str(&mut a, 2);
    Ok(parts_map(go_split(&v, &sep, n)))
}

pub(super) fn split_list(_: &CallCtx, mut a: Vec<Value>) -> R {
    let sep = take_str(&mut a, 0);
    let v = take_str(&mut a, 1);
    Ok(Value::List(
        go_split(&v, &sep, -1)
            .into_iter()
            .map(Value::String)
            .collect(),
    ))
}

/// sprig `strslice`.
pub(crate) fn strslice(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

pub(super) fn to_strings(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::List(
        strslice(&a[0]).into_iter().map(Value::String).collect(),
    ))
}

pub(super) fn join(c: &CallCtx, a: Vec<Value>) -> R {
    let sep = strval(&a[0]);
    let out = strslice(&a[1]).join(sep.as_slice());
    c.check_size(out.len())?;
    s(out)
}

pub(super) fn sort_alpha(_: &CallCtx, a: Vec<Value>) -> R {
    let mut items = match &a[0] {
        Value::List(_) => strslice(&a[0]),
        other => vec![strval(other)],
    };
    items.sort();
    Ok(Value::List(items.into_iter().map(Value::String).collect()))
}

/// goutils `WrapCustom`.
fn wrap_custom(v: &[u8], wrap_len: i64, newline: &[u8], wrap_long: bool) -> Vec<u8> {
    if v.is_empty() {
        return Vec::new();
    }
    let newline: &[u8] = if newline.is_empty() { b"\n" } else { newline };
    let wrap_len = wrap_len.max(1) as usize;
    let len = v.len();
    let mut offset = 0;
    let mut out = Vec::new();
    while len - offset > wrap_len {
        if v[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (wrap_len + offset + 1).min(len);
        let space = v[offset..end].iter().rposition(|b| *b == b' ');
        match space {
            Some(sp) => {
                out.extend_from_slice(&v[offset..offset + sp]);
                out.extend_from_slice(newline);
                offset += sp + 1;
            }
            None => {
                if wrap_long {
                    out.extend_from_slice(&v[offset..offset + wrap_len]);
                    out.extend_from_slice(newline);
                    offset += wrap_len;
                } else {
                    let end = wrap_len + offset;
                    match v[end..].iter().position(|b| *b == b' ') {
                        None => {
                            out.extend_from_slice(&v[offset..]);
                            offset = len;
                        }
                        Some(i) => {
                            let sp = i + end;
                            out.extend_from_slice(&v[offset..sp]);
                            out.extend_from_slice(newline);
                            offset = sp + 1;
                        }
                    }
                }
            }
        }
    }
    out.extend_from_slice(&v[offset..]);
    out
}

pub(super) fn wrap(_: &CallCtx, mut a: Vec<Value>) -> R {
    let l = int_arg(&a, 0);
    let v = take_str(&mut a, 1);
    s(wrap_custom(&v, l, b"", false))
}

pub(super) fn wrap_with(_: &CallCtx, mut a: Vec<Value>) -> R {
    let l = int_arg(&a, 0);
    let sep = take_str(&mut a, 1);
    let v = take_str(&mut a, 2);
    s(wrap_custom(&v, l, &sep, true))
}

// ---- xstrings case conversion ------------------------------------------------------------

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || is_space(c)
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && !matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~')
        || (!c.is_ascii() && !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control())
}

fn is_alphabet(c: char) -> bool {
    c.is_ascii_alphabetic()
}

/// xstrings `ToPascalCase` (sprig's `camelcase`).
pub(super) fn camelcase(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = gofmt::lossy(&take_str(&mut a, 0));
    let mut out = String::new();
    let mut upper_next = true;
    for c in v.chars() {
        if is_connector(c) {
            upper_next = true;
            continue;
        }
        if upper_next {
            out.push(to_upper_char(c));
            upper_next = false;
        } else {
            out.push(to_lower_char(c));
        }
    }
    s(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

/// xstrings `nextWord`.
fn next_word(v: &[char]) -> (Word, usize) {
    if v.is_empty() {
        return (Word::Invalid, 0);
    }
    let r = v[0];
    let mut n = 1;
    let take = |n: &mut usize, pred: &dyn Fn(char) -> bool| {
        while *n < v.len() && pred(v[*n]) {
            *n += 1;
        }
    };
    if is_connector(r) {
        take(&mut n, &is_connector);
        (Word::Connector, n)
    } else if is_punct(r) {
        take(&mut n, &is_punct);
        (Word::Punct, n)
    } else if r.is_uppercase() {
        if n < v.len() {
            let r2 = v[n];
            if r2.is_uppercase() {
                n += 1;
                take(&mut n, &|c: char| c.is_uppercase());
                if n < v.len() && is_alphabet(v[n]) {
                    n -= 1;
                }
            } else if is_alphabet(r2) {
                n += 1;
                take(&mut n, &|c: char| is_alphabet(c) && !c.is_uppercase());
            }
        }
        (Word::Upper, n)
    } else if is_alphabet(r) {
        take(&mut n, &|c: char| is_alphabet(c) && !c.is_uppercase());
        (Word::Alpha, n)
    } else if r.is_numeric() {
        take(&mut n, &|c: char| c.is_numeric());
        (Word::Number, n)
    } else {
        take(&mut n, &|c: char| {
            !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
        });
        (Word::Other, n)
    }
}

fn push_lower(out: &mut String, wt: Word, w: &[char], connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.extend(w.iter());
        return;
    }
    for &c in w {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.push(to_lower_char(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings `camelCaseToLowerCase` (sprig `snakecase` / `kebabcase`).
fn camel_to_lower(v: &str, connector: char) -> String {
    let chars: Vec<char> = v.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let mut pos = 0;
    let next = |pos: &mut usize| -> (Word, std::ops::Range<usize>) {
        let (wt, n) = next_word(&chars[*pos..]);
        let r = *pos..*pos + n;
        *pos += n;
        (wt, r)
    };
    let (mut wt, mut word) = next(&mut pos);
    while pos < chars.len() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, &chars[word.clone()], connector);
        }
        let prev = wt;
        let last = word.clone();
        (wt, word) = next(&mut pos);
        match prev {
            Word::Number => {
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, &chars[word.clone()], connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, &chars[last], connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if pos >= chars.len() {
                    continue;
                }
                let last = word.clone();
                (wt, word) = next(&mut pos);
                if wt != Word::Alpha {
                    push_lower(&mut out, Word::Number, &chars[last], connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                push_lower(&mut out, Word::Number, &chars[last], connector);
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, &chars[word.clone()], connector);
                    (wt, word) = next(&mut pos);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, &chars[word], connector);
    out
}

pub(super) fn snakecase(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(camel_to_lower(&gofmt::lossy(&take_str(&mut a, 0)), '_'))
}

pub(super) fn kebabcase(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(camel_to_lower(&gofmt::lossy(&take_str(&mut a, 0)), '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(f: fn(&CallCtx, Vec<Value>) -> R, s: &str) -> String {
        let c = CallCtx { max_size: 1 << 20 };
        match f(&c, vec![Value::from(s)]).unwrap() {
            Value::String(b) => String::from_utf8(b).unwrap(),
            _ => panic!("not a string"),
        }
    }

    #[test]
    fn xstrings_examples() {
        // xstrings convert.go doc comments
        assert_eq!(run(snakecase, "FirstName"), "first_name");
        assert_eq!(run(snakecase, "HTTPServer"), "http_server");
        assert_eq!(run(snakecase, "NoHTTPS"), "no_https");
        assert_eq!(run(snakecase, "GO_PATH"), "go_path");
        assert_eq!(run(snakecase, "GO PATH"), "go_path");
        assert_eq!(run(snakecase, "http2xx"), "http_2xx");
        assert_eq!(run(snakecase, "HTTP20xOK"), "http_20x_ok");
        assert_eq!(run(snakecase, "Duration2m3s"), "duration_2m3s");
        assert_eq!(run(snakecase, "Bld4Floor3rd"), "bld4_floor_3rd");
        assert_eq!(run(kebabcase, "FirstName"), "first-name");
        assert_eq!(run(camelcase, "http_server"), "HttpServer");
        assert_eq!(run(camelcase, "some words"), "SomeWords");
    }

    #[test]
    fn goutils_examples() {
        assert_eq!(run(swapcase, "This Is A.Test"), "tHIS iS a.tEST");
        assert_eq!(run(initials, "Foo Bar baz"), "FBb");
        assert_eq!(run(untitle, "Hello World"), "hello world");
        assert_eq!(run(nospace, " a b\tc "), "abc");
        assert_eq!(run(title, "hello wide-world"), "Hello Wide-World");
        assert_eq!(run(trim, "\u{a0} x \n"), "x");
    }
}
