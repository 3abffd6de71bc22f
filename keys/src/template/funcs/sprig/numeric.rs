//! Numbers: sprig `numeric.go` and the math entries of `functions.go`. Conversions follow
//! `spf13/cast` (`ToInt64`: strings parsed with base prefixes, failures are 0; `ToFloat64`);
//! integer arithmetic wraps like Go's `int64`; division by zero is Go's runtime panic message;
//! `addf`/`subf`/`mulf`/`divf` use exact decimal arithmetic like `shopspring/decimal`
//! (`divf` rounds to 16 places), so `addf 0.1 0.2` is `0.3`.

use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, int_arg, s};
use crate::template::gofmt::{self, shortest_digits};
use crate::template::parse::parse_go_int;
use crate::template::value::Value;

type R = Result<Value, FuncError>;

/// `cast.ToInt64`.
pub(crate) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => {
            if f.is_nan() {
                i64::MIN
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => i64::from(*b),
        Value::String(b) => {
            let s = String::from_utf8_lossy(b);
            let s = trim_zero_decimal(&s);
            if s.is_empty() {
                return 0;
            }
            parse_go_int(s).unwrap_or(0)
        }
        _ => 0,
    }
}

fn trim_zero_decimal(s: &str) -> &str {
    if let Some(dot) = s.rfind('.') {
        let frac = &s[dot + 1..];
        if !frac.is_empty() && frac.bytes().all(|b| b == b'0') {
            return &s[..dot];
        }
    }
    s
}

/// `cast.ToFloat64`.
pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(b) => String::from_utf8_lossy(b)
            .trim()
            .parse::<f64>()
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

pub(super) fn atoi(_: &CallCtx, a: Vec<Value>) -> R {
    let n = match &a[0] {
        Value::String(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0),
        _ => 0,
    };
    Ok(Value::Int(n))
}

pub(super) fn to_int64(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Int(to_i64(&a[0])))
}

pub(super) fn to_float64(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Float(to_f64(&a[0])))
}

pub(super) fn to_decimal(_: &CallCtx, a: Vec<Value>) -> R {
    let text = String::from_utf8_lossy(&gofmt::sprint_value(&a[0])).into_owned();
    let (neg, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text.as_str()),
    };
    let n = i64::from_str_radix(body, 8)
        .ok()
        .filter(|_| !body.is_empty() && !body.starts_with(['+', '-']))
        .map_or(0, |n| if neg { -n } else { n });
    Ok(Value::Int(n))
}

pub(super) fn add1(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Int(to_i64(&a[0]).wrapping_add(1)))
}

pub(super) fn add(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Int(
        a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_i64(v))),
    ))
}

pub(super) fn sub(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
}

fn divide_by_zero() -> FuncError {
    FuncError::msg("runtime error: integer divide by zero")
}

pub(super) fn div(_: &CallCtx, a: Vec<Value>) -> R {
    let (x, y) = (to_i64(&a[0]), to_i64(&a[1]));
    if y == 0 {
        return Err(divide_by_zero());
    }
    Ok(Value::Int(x.wrapping_div(y)))
}

pub(super) fn modulo(_: &CallCtx, a: Vec<Value>) -> R {
    let (x, y) = (to_i64(&a[0]), to_i64(&a[1]));
    if y == 0 {
        return Err(divide_by_zero());
    }
    Ok(Value::Int(x.wrapping_rem(y)))
}

pub(super) fn mul(_: &CallCtx, a: Vec<Value>) -> R {
    let mut it = a.iter();
    let first = it.next().map_or(0, to_i64);
    Ok(Value::Int(
        it.fold(first, |acc, v| acc.wrapping_mul(to_i64(v))),
    ))
}

pub(super) fn max(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Int(a.iter().map(to_i64).max().unwrap_or(0)))
}

pub(super) fn min(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Int(a.iter().map(to_i64).min().unwrap_or(0)))
}

/// Go `math.Max`: NaN wins, +0 beats -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x > 0.0 || y.is_infinite() && y > 0.0 {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

fn go_min(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x < 0.0 || y.is_infinite() && y < 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && y == 0.0 {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

pub(super) fn maxf(_: &CallCtx, a: Vec<Value>) -> R {
    let mut it = a.iter().map(to_f64);
    let first = it.next().unwrap_or(0.0);
    Ok(Value::Float(it.fold(first, go_max)))
}

pub(super) fn minf(_: &CallCtx, a: Vec<Value>) -> R {
    let mut it = a.iter().map(to_f64);
    let first = it.next().unwrap_or(0.0);
    Ok(Value::Float(it.fold(first, go_min)))
}

pub(super) fn ceil(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Float(to_f64(&a[0]).ceil()))
}

pub(super) fn floor(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Float(to_f64(&a[0]).floor()))
}

pub(super) fn round(_: &CallCtx, a: Vec<Value>) -> R {
    let round_on = match a.get(2) {
        Some(Value::Float(f)) => *f,
        _ => 0.5,
    };
    let val = to_f64(&a[0]);
    let places = int_arg(&a, 1) as f64;
    let pow = 10f64.powf(places);
    let digit = pow * val;
    let frac = digit - digit.trunc();
    let r = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    Ok(Value::Float(r / pow))
}

fn check_len(c: &CallCtx, n: u128) -> Result<(), FuncError> {
    if n > c.max_size as u128 {
        return Err(FuncError::TooLarge);
    }
    Ok(())
}

fn until_step_vec(c: &CallCtx, start: i64, stop: i64, step: i64) -> Result<Vec<i64>, FuncError> {
    let mut v = Vec::new();
    if stop < start {
        if step >= 0 {
            return Ok(v);
        }
        check_len(
            c,
            ((start as i128 - stop as i128) / -(step as i128)) as u128,
        )?;
        let mut i = start;
        while i > stop {
            v.push(i);
            i = match i.checked_add(step) {
                Some(n) => n,
                None => break,
            };
        }
        return Ok(v);
    }
    if step <= 0 {
        return Ok(v);
    }
    check_len(c, ((stop as i128 - start as i128) / step as i128) as u128)?;
    let mut i = start;
    while i < stop {
        v.push(i);
        i = match i.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    Ok(v)
}

fn ints(v: Vec<i64>) -> Value {
    Value::List(v.into_iter().map(Value::Int).collect())
}

pub(super) fn until(c: &CallCtx, a: Vec<Value>) -> R {
    let count = int_arg(&a, 0);
    let step = if count < 0 { -1 } else { 1 };
    Ok(ints(until_step_vec(c, 0, count, step)?))
}

pub(super) fn until_step(c: &CallCtx, a: Vec<Value>) -> R {
    Ok(ints(until_step_vec(
        c,
        int_arg(&a, 0),
        int_arg(&a, 1),
        int_arg(&a, 2),
    )?))
}

pub(super) fn seq(c: &CallCtx, a: Vec<Value>) -> R {
    let p: Vec<i64> = (0..a.len()).map(|i| int_arg(&a, i)).collect();
    let v = match p.len() {
        1 => {
            let (start, end) = (1, p[0]);
            let inc = if end < start { -1 } else { 1 };
            until_step_vec(c, start, end.wrapping_add(inc), inc)?
        }
        2 => {
            let (start, end) = (p[0], p[1]);
            let step = if end < start { -1 } else { 1 };
            until_step_vec(c, start, end.wrapping_add(step), step)?
        }
        3 => {
            let (start, step, end) = (p[0], p[1], p[2]);
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return s("");
                }
            }
            until_step_vec(c, start, end.wrapping_add(inc), step)?
        }
        _ => return s(""),
    };
    let text: Vec<String> = v.iter().map(i64::to_string).collect();
    s(text.join(" "))
}

// ---- exact decimal arithmetic (shopspring/decimal NewFromFloat + Add/Sub/Mul/DivRound) ----

/// A decimal `m × 10^e`.
#[derive(Clone, Copy)]
struct Dec {
    m: i128,
    e: i32,
}

fn dec_from_f64(f: f64) -> Option<Dec> {
    if !f.is_finite() {
        return None;
    }
    let d = shortest_digits(f);
    let mut m: i128 = 0;
    for &c in &d.d {
        m = m.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
    }
    if f < 0.0 {
        m = -m;
    }
    Some(Dec {
        m,
        e: d.dp - d.d.len() as i32,
    })
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

fn align(a: Dec, b: Dec) -> Option<(i128, i128, i32)> {
    let e = a.e.min(b.e);
    let am = a.m.checked_mul(pow10((a.e - e) as u32)?)?;
    let bm = b.m.checked_mul(pow10((b.e - e) as u32)?)?;
    Some((am, bm, e))
}

fn dec_to_f64(d: Dec) -> f64 {
    format!("{}e{}", d.m, d.e).parse().unwrap_or(0.0)
}

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

fn dec_op(a: f64, b: f64, op: Op) -> f64 {
    let exact = (|| -> Option<f64> {
        let (x, y) = (dec_from_f64(a)?, dec_from_f64(b)?);
        let r = match op {
            Op::Add => {
                let (xm, ym, e) = align(x, y)?;
                Dec {
                    m: xm.checked_add(ym)?,
                    e,
                }
            }
            Op::Sub => {
                let (xm, ym, e) = align(x, y)?;
                Dec {
                    m: xm.checked_sub(ym)?,
                    e,
                }
            }
            Op::Mul => Dec {
                m: x.m.checked_mul(y.m)?,
                e: x.e + y.e,
            },
            Op::Div => {
                if y.m == 0 {
                    return None;
                }
                // result = x.m/y.m × 10^(x.e - y.e), rounded to 16 decimal places
                let shift = x.e - y.e + 16;
                let (num, den) = if shift >= 0 {
                    (x.m.checked_mul(pow10(shift as u32)?)?, y.m)
                } else {
                    (x.m, y.m.checked_mul(pow10((-shift) as u32)?)?)
                };
                let q = num / den;
                let r = num % den;
                let q = if (r.abs() * 2) >= den.abs() {
                    if (num < 0) != (den < 0) { q - 1 } else { q + 1 }
                } else {
                    q
                };
                Dec { m: q, e: -16 }
            }
        };
        Some(dec_to_f64(r))
    })();
    exact.unwrap_or(match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
    })
}

fn fold_dec(first: f64, rest: &[Value], op: Op) -> f64 {
    rest.iter().fold(first, |acc, v| dec_op(acc, to_f64(v), op))
}

pub(super) fn add1f(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Float(dec_op(to_f64(&a[0]), 1.0, Op::Add)))
}

pub(super) fn addf(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Float(fold_dec(0.0, &a, Op::Add)))
}

pub(super) fn subf(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Float(fold_dec(to_f64(&a[0]), &a[1..], Op::Sub)))
}

pub(super) fn mulf(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Float(fold_dec(to_f64(&a[0]), &a[1..], Op::Mul)))
}

pub(super) fn divf(_: &CallCtx, a: Vec<Value>) -> R {
    for v in &a[1..] {
        if to_f64(v) == 0.0 {
            return Err(FuncError::msg("decimal division by 0"));
        }
    }
    Ok(Value::Float(fold_dec(to_f64(&a[0]), &a[1..], Op::Div)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_ops_are_exact() {
        assert_eq!(dec_op(0.1, 0.2, Op::Add), 0.3);
        assert_eq!(dec_op(1.1, 3.0, Op::Mul), 3.3);
        assert_eq!(dec_op(10.0, 3.0, Op::Div), 3.3333333333333335);
        assert_eq!(dec_op(5.5, 2.2, Op::Sub), 3.3);
    }

    #[test]
    fn cast_to_int64() {
        assert_eq!(to_i64(&Value::from("0x10")), 16);
        assert_eq!(to_i64(&Value::from("010")), 8);
        assert_eq!(to_i64(&Value::from("5.0")), 5);
        assert_eq!(to_i64(&Value::from("5.5")), 0);
        assert_eq!(to_i64(&Value::Float(3.9)), 3);
        assert_eq!(to_i64(&Value::Nil), 0);
    }
}
