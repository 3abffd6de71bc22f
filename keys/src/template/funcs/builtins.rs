//! Go's predefined template functions (`text/template/funcs.go`): `and or not len index
//! slice print printf println html js urlquery call eq ne lt le gt ge`.
//! `and`/`or` short-circuit and are evaluated by the evaluator itself; they are registered
//! here for the parse-time name check and argument count.

use super::{CallCtx, FuncDef, Ty, f, fv};
use crate::template::error::FuncError;
use crate::template::gofmt::{self, is_go_print};
use crate::template::value::Value;

pub(crate) fn register(t: &mut std::collections::HashMap<&'static str, FuncDef>) {
    t.insert("and", fv(&[Ty::Any], Ty::Any, |_, _| Ok(Value::Nil)));
    t.insert("or", fv(&[Ty::Any], Ty::Any, |_, _| Ok(Value::Nil)));
    t.insert("call", fv(&[Ty::Any], Ty::Any, call));
    t.insert("html", fv(&[], Ty::Any, html));
    t.insert("index", fv(&[Ty::Any], Ty::Any, index));
    t.insert("slice", fv(&[Ty::Any], Ty::Any, slice));
    t.insert("js", fv(&[], Ty::Any, js));
    t.insert("len", f(&[Ty::Any], length));
    t.insert(
        "not",
        f(&[Ty::Any], |_, a| Ok(Value::Bool(!a[0].is_true()))),
    );
    t.insert(
        "print",
        fv(&[], Ty::Any, |c, a| sized(c, gofmt::sprint(&a))),
    );
    t.insert(
        "printf",
        fv(&[Ty::Str], Ty::Any, |c, a| {
            let fmt = match &a[0] {
                Value::String(s) => s.clone(),
                _ => Vec::new(),
            };
            sized(c, gofmt::sprintf(&fmt, &a[1..]))
        }),
    );
    t.insert(
        "println",
        fv(&[], Ty::Any, |c, a| sized(c, gofmt::sprintln(&a))),
    );
    t.insert("urlquery", fv(&[], Ty::Any, urlquery));
    t.insert("eq", fv(&[Ty::Any], Ty::Any, eq));
    t.insert(
        "ne",
        f(&[Ty::Any, Ty::Any], |_, a| {
            Ok(Value::Bool(!equal(&a[0], &a[1])?))
        }),
    );
    t.insert(
        "lt",
        f(&[Ty::Any, Ty::Any], |_, a| {
            Ok(Value::Bool(less(&a[0], &a[1])?))
        }),
    );
    t.insert(
        "le",
        f(&[Ty::Any, Ty::Any], |_, a| {
            Ok(Value::Bool(less(&a[0], &a[1])? || equal(&a[0], &a[1])?))
        }),
    );
    t.insert(
        "gt",
        f(&[Ty::Any, Ty::Any], |_, a| {
            let le = less(&a[0], &a[1])? || equal(&a[0], &a[1])?;
            Ok(Value::Bool(!le))
        }),
    );
    t.insert(
        "ge",
        f(&[Ty::Any, Ty::Any], |_, a| {
            Ok(Value::Bool(!less(&a[0], &a[1])?))
        }),
    );
}

fn sized(c: &CallCtx, v: Vec<u8>) -> Result<Value, FuncError> {
    c.check_size(v.len())?;
    Ok(Value::String(v))
}

fn call(_: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    // Template data never holds Go functions, so `call` can only fail, as Go does for
    // non-function values.
    match &a[0] {
        Value::Nil => Err(FuncError::msg("call of nil")),
        v => Err(FuncError::msg(format!(
            "non-function of type {}",
            v.type_name()
        ))),
    }
}

/// Go's `evalArgs`: one string argument as is, otherwise `fmt.Sprint` where a nil argument
/// prints as `<no value>` (Go's `printableValue` of an invalid value).
fn eval_args(a: &[Value]) -> Vec<u8> {
    if let [Value::String(s)] = a {
        return s.clone();
    }
    let mut out = Vec::new();
    let mut prev_string = false;
    for (i, v) in a.iter().enumerate() {
        let is_string = matches!(v, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(b' ');
        }
        if matches!(v, Value::Nil) {
            out.extend_from_slice(b"<no value>");
        } else {
            gofmt::print_value(&mut out, v);
        }
        prev_string = is_string;
    }
    out
}

fn html(c: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    let src = eval_args(&a);
    let mut out = Vec::with_capacity(src.len());
    for b in src {
        match b {
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            b'"' => out.extend_from_slice(b"&#34;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b => out.push(b),
        }
    }
    sized(c, out)
}

fn js(c: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    let src = eval_args(&a);
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        if b < 0x80 {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'<' => out.extend_from_slice(b"\\u003C"),
                b'>' => out.extend_from_slice(b"\\u003E"),
                b'&' => out.extend_from_slice(b"\\u0026"),
                b'=' => out.extend_from_slice(b"\\u003D"),
                b if b < b' ' => out.extend_from_slice(format!("\\u00{b:02X}").as_bytes()),
                b => out.push(b),
            }
            i += 1;
            continue;
        }
        let (ch, w) = gofmt::decode_rune(&src[i..]);
        let r = ch.unwrap_or('\u{FFFD}');
        if is_go_print(r) {
            out.extend_from_slice(&src[i..i + w]);
        } else {
            out.extend_from_slice(format!("\\u{:04X}", r as u32).as_bytes());
        }
        i += w;
    }
    sized(c, out)
}

/// Go `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
pub(crate) fn query_escape(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    for &b in src {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            b => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
        }
    }
    out
}

fn urlquery(c: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    sized(c, query_escape(&eval_args(&a)))
}

fn index_arg(v: &Value, cap: usize) -> Result<usize, FuncError> {
    match v {
        Value::Int(x) => {
            if *x < 0 || *x as u64 > cap as u64 {
                return Err(FuncError::msg("index out of range"));
            }
            Ok(*x as usize)
        }
        Value::Nil => Err(FuncError::msg("cannot index slice/array with nil")),
        other => Err(FuncError::msg(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        ))),
    }
}

fn index(_: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    let mut it = a.into_iter();
    let mut item = it.next().unwrap_or(Value::Nil);
    if matches!(item, Value::Nil) {
        return Err(FuncError::msg("index of untyped nil"));
    }
    for idx in it {
        item = match item {
            Value::List(mut l) => {
                let i = index_arg(&idx, l.len())?;
                if i >= l.len() {
                    return Err(FuncError::msg("index out of range"));
                }
                l.swap_remove(i)
            }
            Value::String(s) => {
                let i = index_arg(&idx, s.len())?;
                if i >= s.len() {
                    return Err(FuncError::msg("index out of range"));
                }
                Value::Int(i64::from(s[i]))
            }
            m @ (Value::Map(_) | Value::StringMap(_)) => {
                let key = match &idx {
                    Value::String(k) => String::from_utf8_lossy(k).into_owned(),
                    Value::Nil => {
                        return Err(FuncError::msg("value is nil; should be of type string"));
                    }
                    other => {
                        return Err(FuncError::msg(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        )));
                    }
                };
                match m.map_get(&key) {
                    Some(v) => v,
                    None => m.map_zero_elem(),
                }
            }
            Value::Nil => return Err(FuncError::msg("index of nil pointer")),
            other => {
                return Err(FuncError::msg(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

fn slice(_: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    let mut it = a.into_iter();
    let item = it.next().unwrap_or(Value::Nil);
    let idx: Vec<Value> = it.collect();
    if matches!(item, Value::Nil) {
        return Err(FuncError::msg("slice of untyped nil"));
    }
    if idx.len() > 3 {
        return Err(FuncError::msg(format!(
            "too many slice indexes: {}",
            idx.len()
        )));
    }
    let len = match &item {
        Value::String(s) => {
            if idx.len() == 3 {
                return Err(FuncError::msg("cannot 3-index slice a string"));
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => {
            return Err(FuncError::msg(format!(
                "can't slice item of type {}",
                other.type_name()
            )));
        }
    };
    let mut bounds = [0usize, len, len];
    for (i, v) in idx.iter().enumerate() {
        bounds[i] = index_arg(v, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(FuncError::msg("invalid slice index: low > high"));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(FuncError::msg("invalid slice index: high > max"));
    }
    Ok(match item {
        Value::String(s) => Value::String(s[bounds[0]..bounds[1]].to_vec()),
        Value::List(l) => Value::List(l[bounds[0]..bounds[1]].to_vec()),
        _ => unreachable!("checked above"),
    })
}

fn length(_: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    match &a[0] {
        Value::Nil => Err(FuncError::msg(
            "reflect: call of reflect.Value.Type on zero Value",
        )),
        v => match v.len() {
            Some(n) => Ok(Value::Int(n as i64)),
            None => Err(FuncError::msg(format!("len of type {}", v.type_name()))),
        },
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::Str,
        _ => Kind::Invalid,
    }
}

/// Go `eq` for two values.
pub(crate) fn equal(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 != k2 {
        if !matches!(a, Value::Nil) && !matches!(b, Value::Nil) {
            return Err(FuncError::msg(format!(
                "incompatible types for comparison: {} and {}",
                a.type_name(),
                b.type_name()
            )));
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Nil, _) | (_, Value::Nil) => matches!(a, Value::Nil) && matches!(b, Value::Nil),
        (Value::Time(x), Value::Time(y)) => x == y,
        (x, y) => {
            if std::mem::discriminant(x) != std::mem::discriminant(y) {
                return Err(FuncError::msg(format!(
                    "non-comparable types: {}, {}",
                    x.type_name(),
                    y.type_name()
                )));
            }
            return Err(FuncError::msg(format!(
                "non-comparable type: {}",
                y.type_name()
            )));
        }
    })
}

fn eq(_: &CallCtx, a: Vec<Value>) -> Result<Value, FuncError> {
    if a.len() < 2 {
        return Err(FuncError::msg("missing argument for comparison"));
    }
    for b in &a[1..] {
        if equal(&a[0], b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// Go `lt`.
pub(crate) fn less(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let (k1, k2) = (basic_kind(a), basic_kind(b));
    if k1 == Kind::Invalid || k2 == Kind::Invalid {
        return Err(FuncError::msg("invalid type for comparison"));
    }
    if k1 != k2 {
        return Err(FuncError::msg(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        )));
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err(FuncError::msg("invalid type for comparison")),
    })
}
