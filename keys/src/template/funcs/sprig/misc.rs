//! sprig `defaults.go` (default, coalesce, JSON), `crypto.go` (hashes, bcrypt, htpasswd,
//! random strings/bytes, uuidv4), the encoding entries (base64/base32), `regex.go`, and the
//! `path` functions.
//!
//! Regular expressions: Go's RE2 syntax is translated to the `regex` crate's (which shares
//! RE2's design): Perl classes `\d \w \s \b` are made ASCII-only as in Go, and `\Q…\E`
//! literals are expanded. Errors never quote the pattern or the input.

use base64::Engine as _;
use rand::Rng as _;
use sha1::Digest as _;

use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, int_arg, s, strval, take_str};
use crate::template::json;
use crate::template::value::Value;

type R = Result<Value, FuncError>;

// ---- defaults.go ---------------------------------------------------------------------------

pub(super) fn default(_: &CallCtx, mut a: Vec<Value>) -> R {
    let given = a.split_off(1);
    let d = a.swap_remove(0);
    match given.into_iter().next() {
        Some(g) if !g.is_empty_value() => Ok(g),
        _ => Ok(d),
    }
}

pub(super) fn coalesce(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(a.into_iter()
        .find(|v| !v.is_empty_value())
        .unwrap_or(Value::Nil))
}

pub(super) fn ternary(_: &CallCtx, mut a: Vec<Value>) -> R {
    let cond = matches!(a[2], Value::Bool(true));
    a.truncate(2);
    let vf = a.pop().unwrap_or(Value::Nil);
    let vt = a.pop().unwrap_or(Value::Nil);
    Ok(if cond { vt } else { vf })
}

pub(super) fn from_json(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(json::decode(&strval(&a[0])).unwrap_or(Value::Nil))
}

pub(super) fn must_from_json(_: &CallCtx, a: Vec<Value>) -> R {
    json::decode(&strval(&a[0])).map_err(FuncError::Message)
}

fn sized(c: &CallCtx, v: Vec<u8>) -> R {
    c.check_size(v.len())?;
    s(v)
}

pub(super) fn to_json(c: &CallCtx, a: Vec<Value>) -> R {
    sized(c, json::encode(&a[0], true, None).unwrap_or_default())
}

pub(super) fn must_to_json(c: &CallCtx, a: Vec<Value>) -> R {
    let v = json::encode(&a[0], true, None).map_err(|e| FuncError::Message(e.0))?;
    sized(c, v)
}

pub(super) fn to_pretty_json(c: &CallCtx, a: Vec<Value>) -> R {
    sized(c, json::encode(&a[0], true, Some("  ")).unwrap_or_default())
}

pub(super) fn must_to_pretty_json(c: &CallCtx, a: Vec<Value>) -> R {
    let v = json::encode(&a[0], true, Some("  ")).map_err(|e| FuncError::Message(e.0))?;
    sized(c, v)
}

/// `toRawJson` panics on error and `mustToRawJson` returns it: both are errors here.
pub(super) fn must_to_raw_json(c: &CallCtx, a: Vec<Value>) -> R {
    let v = json::encode(&a[0], false, None).map_err(|e| FuncError::Message(e.0))?;
    sized(c, v)
}

// ---- encoding ------------------------------------------------------------------------------

/// Go's `base64.StdEncoding`: padded, trailing bits not checked, CR/LF ignored.
const GO_STD_B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireCanonical),
);

pub(super) fn b64enc(c: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    c.check_size(v.len() / 3 * 4 + 4)?;
    s(GO_STD_B64.encode(v))
}

/// Strips CR/LF as Go's decoders do, remembering original offsets for error messages.
fn strip_newlines(v: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(v.len());
    let mut pos = Vec::with_capacity(v.len());
    for (i, b) in v.iter().enumerate() {
        if *b != b'\r' && *b != b'\n' {
            out.push(*b);
            pos.push(i);
        }
    }
    (out, pos)
}

/// Decodes standard padded base64 like Go's `StdEncoding.DecodeString`; the error names the
/// byte offset only (never the data).
pub(crate) fn go_b64_decode(v: &[u8]) -> Result<Vec<u8>, String> {
    let (clean, pos) = strip_newlines(v);
    GO_STD_B64.decode(&clean).map_err(|e| {
        let at = match e {
            base64::DecodeError::InvalidByte(i, _)
            | base64::DecodeError::InvalidLastSymbol(i, _) => {
                pos.get(i).copied().unwrap_or(v.len())
            }
            base64::DecodeError::InvalidLength(_) | base64::DecodeError::InvalidPadding => {
                let full = clean.len() / 4 * 4;
                pos.get(full).copied().unwrap_or(v.len())
            }
        };
        format!("illegal base64 data at input byte {at}")
    })
}

pub(super) fn b64dec(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    match go_b64_decode(&v) {
        Ok(d) => s(d),
        Err(msg) => s(msg),
    }
}

pub(super) fn b32enc(c: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    c.check_size(v.len() / 5 * 8 + 8)?;
    s(data_encoding::BASE32.encode(&v))
}

pub(super) fn b32dec(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    let (clean, pos) = strip_newlines(&v);
    match data_encoding::BASE32.decode(&clean) {
        Ok(d) => s(d),
        Err(e) => s(format!(
            "illegal base32 data at input byte {}",
            pos.get(e.position).copied().unwrap_or(v.len())
        )),
    }
}

// ---- crypto.go: hashes, bcrypt, random -----------------------------------------------------

pub(super) fn sha1sum(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(hex::encode(sha1::Sha1::digest(take_str(&mut a, 0))))
}

pub(super) fn sha256sum(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(hex::encode(sha2::Sha256::digest(take_str(&mut a, 0))))
}

pub(super) fn sha512sum(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(hex::encode(sha2::Sha512::digest(take_str(&mut a, 0))))
}

pub(super) fn adler32sum(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(adler2::adler32_slice(&take_str(&mut a, 0)).to_string())
}

/// Go `bcrypt.GenerateFromPassword(pw, DefaultCost)` as sprig formats it.
fn bcrypt_string(pw: &[u8]) -> String {
    if pw.len() > 72 {
        return "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes"
            .into();
    }
    match bcrypt::hash_with_result(pw, 10) {
        Ok(h) => h.format_for_version(bcrypt::Version::TwoA),
        Err(_) => "failed to encrypt string with bcrypt: bcrypt: hashing failed".into(),
    }
}

pub(super) fn bcrypt(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(bcrypt_string(&take_str(&mut a, 0)))
}

pub(super) fn htpasswd(_: &CallCtx, mut a: Vec<Value>) -> R {
    let user = take_str(&mut a, 0);
    let pw = take_str(&mut a, 1);
    let algo = take_str(&mut a, 2);
    if user.contains(&b':') {
        let mut out = b"invalid username: ".to_vec();
        out.extend(user);
        return s(out);
    }
    let mut out = user;
    out.push(b':');
    if algo == b"sha" {
        out.extend_from_slice(b"{SHA}");
        out.extend(
            base64::engine::general_purpose::STANDARD
                .encode(sha1::Sha1::digest(&pw))
                .into_bytes(),
        );
    } else {
        out.extend(bcrypt_string(&pw).into_bytes());
    }
    s(out)
}

fn random_from(c: &CallCtx, count: i64, charset: &[u8]) -> R {
    if count < 0 {
        return Err(FuncError::msg("runtime error: makeslice: len out of range"));
    }
    c.check_size(count as usize)?;
    let mut rng = rand::rngs::OsRng;
    let out: Vec<u8> = (0..count)
        .map(|_| charset[rng.gen_range(0..charset.len())])
        .collect();
    s(out)
}

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

pub(super) fn rand_alpha_num(c: &CallCtx, a: Vec<Value>) -> R {
    random_from(c, int_arg(&a, 0), ALNUM)
}

pub(super) fn rand_alpha(c: &CallCtx, a: Vec<Value>) -> R {
    random_from(c, int_arg(&a, 0), ALPHA)
}

pub(super) fn rand_numeric(c: &CallCtx, a: Vec<Value>) -> R {
    random_from(c, int_arg(&a, 0), DIGITS)
}

pub(super) fn rand_ascii(c: &CallCtx, a: Vec<Value>) -> R {
    let printable: Vec<u8> = (32u8..127).collect();
    random_from(c, int_arg(&a, 0), &printable)
}

pub(super) fn rand_bytes(c: &CallCtx, a: Vec<Value>) -> R {
    let n = int_arg(&a, 0);
    if n < 0 {
        return Err(FuncError::msg("runtime error: makeslice: len out of range"));
    }
    c.check_size(n as usize / 3 * 4 + 4)?;
    let mut buf = vec![0u8; n as usize];
    rand::rngs::OsRng.fill(&mut buf[..]);
    s(base64::engine::general_purpose::STANDARD.encode(buf))
}

pub(super) fn rand_int(_: &CallCtx, a: Vec<Value>) -> R {
    let (min, max) = (int_arg(&a, 0), int_arg(&a, 1));
    let n = max.wrapping_sub(min);
    if n <= 0 {
        return Err(FuncError::msg("invalid argument to Intn"));
    }
    Ok(Value::Int(rand::rngs::OsRng.gen_range(0..n) + min))
}

pub(super) fn shuffle(_: &CallCtx, mut a: Vec<Value>) -> R {
    use rand::seq::SliceRandom as _;
    let v = crate::template::gofmt::lossy(&take_str(&mut a, 0));
    let mut chars: Vec<char> = v.chars().collect();
    chars.shuffle(&mut rand::rngs::OsRng);
    s(chars.into_iter().collect::<String>())
}

pub(super) fn uuidv4(_: &CallCtx, _: Vec<Value>) -> R {
    s(uuid::Uuid::new_v4().to_string())
}

// ---- regex.go ------------------------------------------------------------------------------

/// Translates Go RE2 syntax to the `regex` crate's.
fn translate_go_regex(p: &[u8]) -> Result<String, FuncError> {
    let p = std::str::from_utf8(p)
        .map_err(|_| FuncError::msg("invalid UTF-8 in regular expression"))?;
    let mut out = String::with_capacity(p.len() + 8);
    let mut chars = p.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        if c == '\\' {
            let Some(e) = chars.next() else {
                out.push('\\');
                break;
            };
            let rep: Option<(&str, &str)> = match e {
                'd' => Some(("[0-9]", "0-9")),
                'D' => Some(("[^0-9]", "[^0-9]")),
                'w' => Some(("[0-9A-Za-z_]", "0-9A-Za-z_")),
                'W' => Some(("[^0-9A-Za-z_]", "[^0-9A-Za-z_]")),
                's' => Some(("[\\t\\n\\x0C\\r ]", "\\t\\n\\x0C\\r ")),
                'S' => Some(("[^\\t\\n\\x0C\\r ]", "[^\\t\\n\\x0C\\r ]")),
                'b' if !in_class => Some(("(?-u:\\b)", "")),
                'B' if !in_class => Some(("(?-u:\\B)", "")),
                _ => None,
            };
            if let Some((outside, inside)) = rep {
                out.push_str(if in_class { inside } else { outside });
                class_start = false;
                continue;
            }
            if e == 'Q' {
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        None => break,
                        Some('\\') if chars.peek() == Some(&'E') => {
                            chars.next();
                            break;
                        }
                        Some(ch) => lit.push(ch),
                    }
                }
                out.push_str(&regex::escape(&lit));
                continue;
            }
            if e == 'C' {
                return Err(FuncError::msg(
                    "error parsing regexp: invalid escape sequence: `\\C`",
                ));
            }
            out.push('\\');
            out.push(e);
            class_start = false;
            continue;
        }
        if in_class {
            if c == ']' && !class_start {
                in_class = false;
            }
            if c == '[' && chars.peek() == Some(&':') {
                // POSIX class [:alpha:]: copy through the closing ":]"
                out.push('[');
                for ch in chars.by_ref() {
                    out.push(ch);
                    if ch == ']' {
                        break;
                    }
                }
                class_start = false;
                continue;
            }
            if c == '[' {
                // a literal '[' inside a Go class must be escaped for the regex crate
                out.push_str("\\[");
                class_start = false;
                continue;
            }
            if (c == '&' || c == '~' || c == '-') && chars.peek() == Some(&c) {
                out.push('\\');
            }
            class_start = class_start && c == '^';
            out.push(c);
            continue;
        }
        if c == '[' {
            in_class = true;
            class_start = true;
            out.push(c);
            if chars.peek() == Some(&'^') {
                out.push('^');
                chars.next();
            }
            if chars.peek() == Some(&']') {
                out.push_str("\\]");
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    Ok(out)
}

fn compile(p: &[u8]) -> Result<regex::bytes::Regex, FuncError> {
    let translated = translate_go_regex(p)?;
    regex::bytes::RegexBuilder::new(&translated)
        .size_limit(1 << 22)
        .build()
        .map_err(|_| FuncError::msg("error parsing regexp: invalid regular expression"))
}

pub(super) fn regex_match(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(compile(&strval(&a[0]))
        .map(|r| r.is_match(&strval(&a[1])))
        .unwrap_or(false)
        .into())
}

pub(super) fn must_regex_match(_: &CallCtx, a: Vec<Value>) -> R {
    let r = compile(&strval(&a[0]))?;
    Ok(r.is_match(&strval(&a[1])).into())
}

pub(super) fn regex_find_all(_: &CallCtx, a: Vec<Value>) -> R {
    let r = compile(&strval(&a[0]))?;
    let n = int_arg(&a, 2);
    let hay = strval(&a[1]);
    let it = r
        .find_iter(&hay)
        .map(|m| Value::String(m.as_bytes().to_vec()));
    let v: Vec<Value> = if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    };
    Ok(Value::List(v))
}

pub(super) fn regex_find(_: &CallCtx, a: Vec<Value>) -> R {
    let r = compile(&strval(&a[0]))?;
    let hay = strval(&a[1]);
    s(r.find(&hay)
        .map(|m| m.as_bytes().to_vec())
        .unwrap_or_default())
}

pub(super) fn regex_replace_all(c: &CallCtx, a: Vec<Value>) -> R {
    let r = compile(&strval(&a[0]))?;
    let out = r
        .replace_all(&strval(&a[1]), strval(&a[2]).as_slice())
        .into_owned();
    c.check_size(out.len())?;
    s(out)
}

pub(super) fn regex_replace_all_literal(c: &CallCtx, a: Vec<Value>) -> R {
    let r = compile(&strval(&a[0]))?;
    let repl = strval(&a[2]);
    let out = r
        .replace_all(&strval(&a[1]), regex::bytes::NoExpand(&repl))
        .into_owned();
    c.check_size(out.len())?;
    s(out)
}

/// Go `Regexp.Split`.
pub(super) fn regex_split(_: &CallCtx, a: Vec<Value>) -> R {
    let pattern = strval(&a[0]);
    let r = compile(&pattern)?;
    let text = strval(&a[1]);
    let n = int_arg(&a, 2);
    if n == 0 {
        return Ok(Value::List(Vec::new()));
    }
    if !pattern.is_empty() && text.is_empty() {
        return Ok(Value::List(vec![Value::String(Vec::new())]));
    }
    let matches: Vec<(usize, usize)> = {
        let it = r.find_iter(&text).map(|m| (m.start(), m.end()));
        if n < 0 {
            it.collect()
        } else {
            it.take(n as usize).collect()
        }
    };
    let mut parts = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (ms, me) in matches {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            parts.push(Value::String(text[beg..end].to_vec()));
        }
        beg = me;
    }
    if end != text.len() {
        parts.push(Value::String(text[beg..].to_vec()));
    }
    Ok(Value::List(parts))
}

/// Go `regexp.QuoteMeta`: escapes `\.+*?()|[]{}^$`.
pub(super) fn regex_quote_meta(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = take_str(&mut a, 0);
    let mut out = Vec::with_capacity(v.len());
    for b in v {
        if br"\.+*?()|[]{}^$".contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    s(out)
}

// ---- path ----------------------------------------------------------------------------------

/// Go `path.Clean`.
pub(crate) fn clean(p: &[u8]) -> Vec<u8> {
    if p.is_empty() {
        return b".".to_vec();
    }
    let rooted = p[0] == b'/';
    let n = p.len();
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let (mut r, mut dotdot) = (0, 0);
    if rooted {
        out.push(b'/');
        r = 1;
        dotdot = 1;
    }
    while r < n {
        if p[r] == b'/' || p[r] == b'.' && (r + 1 == n || p[r + 1] == b'/') {
            r += 1;
        } else if p[r] == b'.' && p.get(r + 1) == Some(&b'.') && (r + 2 == n || p[r + 2] == b'/') {
            r += 2;
            if out.len() > dotdot {
                let mut w = out.len() - 1;
                while w > dotdot && out[w] != b'/' {
                    w -= 1;
                }
                out.truncate(w);
            } else if !rooted {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(b"..");
                dotdot = out.len();
            }
        } else {
            if rooted && out.len() != 1 || !rooted && !out.is_empty() {
                out.push(b'/');
            }
            while r < n && p[r] != b'/' {
                out.push(p[r]);
                r += 1;
            }
        }
    }
    if out.is_empty() {
        return b".".to_vec();
    }
    out
}

pub(super) fn path_clean(_: &CallCtx, mut a: Vec<Value>) -> R {
    s(clean(&take_str(&mut a, 0)))
}

pub(super) fn path_base(_: &CallCtx, mut a: Vec<Value>) -> R {
    let mut p = take_str(&mut a, 0);
    if p.is_empty() {
        return s(".");
    }
    while p.len() > 1 && p.ends_with(b"/") {
        p.pop();
    }
    if p == b"/" {
        return s("/");
    }
    match p.iter().rposition(|b| *b == b'/') {
        Some(i) => s(p[i + 1..].to_vec()),
        None => s(p),
    }
}

pub(super) fn path_dir(_: &CallCtx, mut a: Vec<Value>) -> R {
    let p = take_str(&mut a, 0);
    let dir = match p.iter().rposition(|b| *b == b'/') {
        Some(i) => &p[..=i],
        None => &p[..0],
    };
    s(clean(dir))
}

pub(super) fn path_ext(_: &CallCtx, mut a: Vec<Value>) -> R {
    let p = take_str(&mut a, 0);
    for i in (0..p.len()).rev() {
        if p[i] == b'/' {
            break;
        }
        if p[i] == b'.' {
            return s(p[i..].to_vec());
        }
    }
    s("")
}

pub(super) fn path_is_abs(_: &CallCtx, mut a: Vec<Value>) -> R {
    Ok(take_str(&mut a, 0)
        .first()
        .is_some_and(|b| *b == b'/')
        .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_clean_like_go() {
        // path/path_test.go cleantests
        for (i, o) in [
            ("", "."),
            ("abc/def/../..", "."),
            ("/../abc", "/abc"),
            ("abc/./../def", "def"),
            ("../../abc", "../../abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("/abc/def/../../..", "/"),
            ("abc/../../../def", "../../def"),
        ] {
            assert_eq!(
                String::from_utf8(clean(i.as_bytes())).unwrap(),
                o,
                "clean({i})"
            );
        }
    }

    #[test]
    fn go_regex_classes_are_ascii() {
        let r = compile(br"^\d+$").unwrap();
        assert!(r.is_match(b"123"));
        assert!(!r.is_match("١٢٣".as_bytes()));
        let r = compile(br"\Qa.b\E").unwrap();
        assert!(r.is_match(b"xa.by") && !r.is_match(b"axb"));
    }

    #[test]
    fn base64_errors_name_offsets_only() {
        assert_eq!(go_b64_decode(b"aGk=").unwrap(), b"hi");
        assert_eq!(go_b64_decode(b"aG\nk=").unwrap(), b"hi");
        assert_eq!(
            go_b64_decode(b"a$k=").unwrap_err(),
            "illegal base64 data at input byte 1"
        );
    }
}
