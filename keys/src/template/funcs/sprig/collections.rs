//! Dicts and lists: sprig `dict.go` and `list.go`, with `mergo` merge rules for
//! `merge`/`mergeOverwrite`. List functions accept any Go slice and panic (→ error) on other
//! kinds with sprig's own messages ("Cannot find first on type map").

use std::collections::BTreeMap;

use super::numeric::to_i64;
use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, int_arg, strval};
use crate::template::value::Value;

type R = Result<Value, FuncError>;

/// Go `reflect.Kind` name used in sprig's panics.
fn kind(v: &Value) -> &'static str {
    v.kind_name()
}

/// The elements of a slice argument, or sprig's panic for other kinds.
fn list_arg(v: Value, what: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l),
        Value::Nil => Err(FuncError::msg(
            "runtime error: invalid memory address or nil pointer dereference",
        )),
        other => Err(FuncError::msg(format!(
            "Cannot {what} on type {}",
            kind(&other)
        ))),
    }
}

fn map_arg(v: Value) -> BTreeMap<String, Value> {
    match v.into_generic_map() {
        Value::Map(m) => m,
        _ => BTreeMap::new(),
    }
}

pub(super) fn dict(_: &CallCtx, a: Vec<Value>) -> R {
    let mut m = BTreeMap::new();
    let mut it = a.into_iter();
    while let Some(k) = it.next() {
        let key = String::from_utf8_lossy(&strval(&k)).into_owned();
        let v = it.next().unwrap_or_else(|| Value::String(Vec::new()));
        m.insert(key, v);
    }
    Ok(Value::Map(m))
}

fn key_arg(v: &Value) -> String {
    String::from_utf8_lossy(&strval(v)).into_owned()
}

pub(super) fn get(_: &CallCtx, mut a: Vec<Value>) -> R {
    let key = key_arg(&a[1]);
    let m = map_arg(a.swap_remove(0));
    Ok(m.get(&key)
        .cloned()
        .unwrap_or_else(|| Value::String(Vec::new())))
}

pub(super) fn set(_: &CallCtx, mut a: Vec<Value>) -> R {
    let value = a.pop().unwrap_or(Value::Nil);
    let key = key_arg(&a[1]);
    let mut m = map_arg(a.swap_remove(0));
    m.insert(key, value);
    Ok(Value::Map(m))
}

pub(super) fn unset(_: &CallCtx, mut a: Vec<Value>) -> R {
    let key = key_arg(&a[1]);
    let mut m = map_arg(a.swap_remove(0));
    m.remove(&key);
    Ok(Value::Map(m))
}

pub(super) fn has_key(_: &CallCtx, a: Vec<Value>) -> R {
    let key = key_arg(&a[1]);
    Ok(a[0].map_get(&key).is_some().into())
}

pub(super) fn pluck(_: &CallCtx, a: Vec<Value>) -> R {
    let key = key_arg(&a[0]);
    Ok(Value::List(
        a[1..].iter().filter_map(|d| d.map_get(&key)).collect(),
    ))
}

pub(super) fn keys(_: &CallCtx, a: Vec<Value>) -> R {
    let mut out = Vec::new();
    for d in a {
        for (k, _) in d.map_entries().unwrap_or_default() {
            out.push(Value::String(k.into_bytes()));
        }
    }
    Ok(Value::List(out))
}

pub(super) fn pick(_: &CallCtx, mut a: Vec<Value>) -> R {
    let names: Vec<String> = a[1..].iter().map(key_arg).collect();
    let m = map_arg(a.swap_remove(0));
    Ok(Value::Map(
        m.into_iter().filter(|(k, _)| names.contains(k)).collect(),
    ))
}

pub(super) fn omit(_: &CallCtx, mut a: Vec<Value>) -> R {
    let names: Vec<String> = a[1..].iter().map(key_arg).collect();
    let m = map_arg(a.swap_remove(0));
    Ok(Value::Map(
        m.into_iter().filter(|(k, _)| !names.contains(k)).collect(),
    ))
}

pub(super) fn values(_: &CallCtx, mut a: Vec<Value>) -> R {
    let m = map_arg(a.swap_remove(0));
    Ok(Value::List(m.into_values().collect()))
}

/// `mergo.Merge` (overwrite = false) / `mergo.MergeWithOverwrite` for maps.
fn deep_merge(dst: &mut BTreeMap<String, Value>, src: &BTreeMap<String, Value>, overwrite: bool) {
    for (k, sv) in src {
        if matches!(sv, Value::Nil) {
            if overwrite {
                dst.insert(k.clone(), Value::Nil);
            }
            continue;
        }
        let dst_is_empty = dst.get(k).is_none_or(Value::is_empty_value);
        match (dst.get_mut(k), sv) {
            (Some(Value::Map(dm)), Value::Map(sm)) if !dm.is_empty() => {
                deep_merge(dm, sm, overwrite);
                continue;
            }
            (Some(Value::Map(dm)), Value::StringMap(_)) if !dm.is_empty() => {
                let sm = map_arg(sv.clone());
                deep_merge(dm, &sm, overwrite);
                continue;
            }
            _ => {}
        }
        if overwrite || dst_is_empty {
            dst.insert(k.clone(), sv.clone());
        }
    }
}

fn merge_impl(a: Vec<Value>, overwrite: bool) -> R {
    let mut it = a.into_iter();
    let mut dst = map_arg(it.next().unwrap_or(Value::Nil));
    for src in it {
        let src = map_arg(src);
        deep_merge(&mut dst, &src, overwrite);
    }
    Ok(Value::Map(dst))
}

pub(super) fn merge(_: &CallCtx, a: Vec<Value>) -> R {
    merge_impl(a, false)
}

pub(super) fn merge_overwrite(_: &CallCtx, a: Vec<Value>) -> R {
    merge_impl(a, true)
}

pub(super) fn push(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = a.pop().unwrap_or(Value::Nil);
    let mut l = match a.pop().unwrap_or(Value::Nil) {
        Value::List(l) => l,
        other => {
            return Err(FuncError::msg(format!(
                "Cannot push on type {}",
                kind(&other)
            )));
        }
    };
    l.push(v);
    Ok(Value::List(l))
}

pub(super) fn prepend(_: &CallCtx, mut a: Vec<Value>) -> R {
    let v = a.pop().unwrap_or(Value::Nil);
    let mut l = match a.pop().unwrap_or(Value::Nil) {
        Value::List(l) => l,
        other => {
            return Err(FuncError::msg(format!(
                "Cannot prepend on type {}",
                kind(&other)
            )));
        }
    };
    l.insert(0, v);
    Ok(Value::List(l))
}

pub(super) fn first(_: &CallCtx, mut a: Vec<Value>) -> R {
    let l = list_arg(a.swap_remove(0), "find first")?;
    Ok(l.into_iter().next().unwrap_or(Value::Nil))
}

pub(super) fn last(_: &CallCtx, mut a: Vec<Value>) -> R {
    let l = list_arg(a.swap_remove(0), "find last")?;
    Ok(l.into_iter().next_back().unwrap_or(Value::Nil))
}

pub(super) fn rest(_: &CallCtx, mut a: Vec<Value>) -> R {
    let l = list_arg(a.swap_remove(0), "find rest")?;
    Ok(Value::List(l.into_iter().skip(1).collect()))
}

pub(super) fn initial(_: &CallCtx, mut a: Vec<Value>) -> R {
    let mut l = list_arg(a.swap_remove(0), "find initial")?;
    l.pop();
    Ok(Value::List(l))
}

pub(super) fn reverse(_: &CallCtx, mut a: Vec<Value>) -> R {
    let mut l = list_arg(a.swap_remove(0), "find reverse")?;
    l.reverse();
    Ok(Value::List(l))
}

pub(super) fn compact(_: &CallCtx, mut a: Vec<Value>) -> R {
    let l = list_arg(a.swap_remove(0), "compact")?;
    Ok(Value::List(
        l.into_iter().filter(|v| !v.is_empty_value()).collect(),
    ))
}

pub(super) fn uniq(_: &CallCtx, mut a: Vec<Value>) -> R {
    let l = list_arg(a.swap_remove(0), "find uniq")?;
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(Value::List(out))
}

pub(super) fn without(_: &CallCtx, mut a: Vec<Value>) -> R {
    let omit = a.split_off(1);
    let l = list_arg(a.swap_remove(0), "find without")?;
    Ok(Value::List(
        l.into_iter().filter(|v| !omit.contains(v)).collect(),
    ))
}

pub(super) fn has(_: &CallCtx, mut a: Vec<Value>) -> R {
    let hay = a.pop().unwrap_or(Value::Nil);
    let needle = a.pop().unwrap_or(Value::Nil);
    match hay {
        Value::Nil => Ok(false.into()),
        Value::List(l) => Ok(l.contains(&needle).into()),
        other => Err(FuncError::msg(format!(
            "Cannot find has on type {}",
            kind(&other)
        ))),
    }
}

pub(super) fn slice(_: &CallCtx, mut a: Vec<Value>) -> R {
    let idx = a.split_off(1);
    let l = match a.swap_remove(0) {
        Value::List(l) => l,
        other => {
            return Err(FuncError::msg(format!(
                "list should be type of slice or array but {}",
                kind(&other)
            )));
        }
    };
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let start = idx.first().map_or(0, to_i64);
    let end = if idx.len() < 2 {
        l.len() as i64
    } else {
        to_i64(&idx[1])
    };
    if start < 0 || end < start || end > l.len() as i64 {
        return Err(FuncError::msg("runtime error: slice bounds out of range"));
    }
    Ok(Value::List(l[start as usize..end as usize].to_vec()))
}

pub(super) fn concat(_: &CallCtx, a: Vec<Value>) -> R {
    let mut out = Vec::new();
    for l in a {
        match l {
            Value::List(items) => out.extend(items),
            other => {
                return Err(FuncError::msg(format!(
                    "Cannot concat type {} as list",
                    kind(&other)
                )));
            }
        }
    }
    Ok(Value::List(out))
}

pub(super) fn dig(_: &CallCtx, mut a: Vec<Value>) -> R {
    if a.len() < 3 {
        return Err(FuncError::msg("dig needs at least three arguments"));
    }
    let dict = a.pop().unwrap_or(Value::Nil);
    let default = a.pop().unwrap_or(Value::Nil);
    let mut keys = Vec::new();
    for k in &a {
        match k {
            Value::String(s) => keys.push(String::from_utf8_lossy(s).into_owned()),
            other => {
                return Err(FuncError::msg(format!(
                    "interface conversion: interface {{}} is {}, not string",
                    other.type_name()
                )));
            }
        }
    }
    let mut cur = match dict {
        Value::Map(m) => m,
        other => {
            return Err(FuncError::msg(format!(
                "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                other.type_name()
            )));
        }
    };
    for (i, k) in keys.iter().enumerate() {
        let Some(step) = cur.remove(k) else {
            return Ok(default);
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        cur = match step {
            Value::Map(m) => m,
            other => {
                return Err(FuncError::msg(format!(
                    "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(default)
}

pub(super) fn chunk(_: &CallCtx, mut a: Vec<Value>) -> R {
    let size = int_arg(&a, 0);
    let l = list_arg(a.swap_remove(1), "chunk")?;
    if size <= 0 {
        return Err(FuncError::msg("runtime error: integer divide by zero"));
    }
    Ok(Value::List(
        l.chunks(size as usize)
            .map(|c| Value::List(c.to_vec()))
            .collect(),
    ))
}
