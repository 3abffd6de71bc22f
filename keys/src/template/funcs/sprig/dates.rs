//! Dates: sprig `date.go` (`now date dateInZone htmlDate toDate mustToDate unixEpoch
//! dateModify ago duration durationRound`) and the `time.Time` methods templates can call
//! on a time value (`{{ now.Year }}`, `{{ (now).Format "2006" }}`).
//!
//! "Local" is the process's zone (`TZ`, else the system zone; containers usually run UTC).
//! sprig's `duration` accepts only `int64` and strings in Go; since this engine does not
//! tell `int` from `int64`, an integer literal is accepted too.

use jiff::tz::TimeZone;

use crate::template::error::FuncError;
use crate::template::funcs::{CallCtx, s, strval};
use crate::template::gotime::{GoTime, duration_string, parse_duration};
use crate::template::value::Value;

type R = Result<Value, FuncError>;

fn time_of(v: &Value) -> GoTime {
    match v {
        Value::Time(t) => t.clone(),
        Value::Int(i) => GoTime::from_unix(*i),
        _ => GoTime::now(),
    }
}

/// Go `time.LoadLocation` with sprig's fallback to UTC.
fn load_location(zone: &[u8]) -> TimeZone {
    let name = String::from_utf8_lossy(zone);
    match name.as_ref() {
        "" | "UTC" => TimeZone::UTC,
        "Local" => TimeZone::system(),
        other => TimeZone::get(other).unwrap_or(TimeZone::UTC),
    }
}

fn format_in(layout: &[u8], t: &GoTime, zone: &[u8]) -> R {
    let layout = String::from_utf8_lossy(layout);
    s(t.in_zone(load_location(zone)).format(&layout))
}

pub(super) fn now(_: &CallCtx, _: Vec<Value>) -> R {
    Ok(Value::Time(GoTime::now()))
}

pub(super) fn date(_: &CallCtx, a: Vec<Value>) -> R {
    format_in(&strval(&a[0]), &time_of(&a[1]), b"Local")
}

pub(super) fn date_in_zone(_: &CallCtx, a: Vec<Value>) -> R {
    format_in(&strval(&a[0]), &time_of(&a[1]), &strval(&a[2]))
}

pub(super) fn html_date(_: &CallCtx, a: Vec<Value>) -> R {
    format_in(b"2006-01-02", &time_of(&a[0]), b"Local")
}

pub(super) fn html_date_in_zone(_: &CallCtx, a: Vec<Value>) -> R {
    format_in(b"2006-01-02", &time_of(&a[0]), &strval(&a[1]))
}

fn time_arg(v: &Value) -> GoTime {
    match v {
        Value::Time(t) => t.clone(),
        _ => GoTime::zero(),
    }
}

pub(super) fn date_modify(_: &CallCtx, a: Vec<Value>) -> R {
    let t = time_arg(&a[1]);
    match parse_duration(&String::from_utf8_lossy(&strval(&a[0]))) {
        Some(d) => Ok(Value::Time(t.add_nanos(d))),
        None => Ok(Value::Time(t)),
    }
}

pub(super) fn must_date_modify(_: &CallCtx, a: Vec<Value>) -> R {
    let t = time_arg(&a[1]);
    match parse_duration(&String::from_utf8_lossy(&strval(&a[0]))) {
        Some(d) => Ok(Value::Time(t.add_nanos(d))),
        None => Err(FuncError::msg("time: invalid duration")),
    }
}

fn parse_local(a: &[Value]) -> Option<GoTime> {
    let layout = String::from_utf8_lossy(&strval(&a[0])).into_owned();
    let value = String::from_utf8_lossy(&strval(&a[1])).into_owned();
    GoTime::parse(&layout, &value, &TimeZone::system())
}

pub(super) fn to_date(_: &CallCtx, a: Vec<Value>) -> R {
    Ok(Value::Time(parse_local(&a).unwrap_or_else(GoTime::zero)))
}

pub(super) fn must_to_date(_: &CallCtx, a: Vec<Value>) -> R {
    parse_local(&a)
        .map(Value::Time)
        .ok_or_else(|| FuncError::msg("parsing time: value does not match the layout"))
}

pub(super) fn unix_epoch(_: &CallCtx, a: Vec<Value>) -> R {
    s(time_arg(&a[0]).unix().to_string())
}

/// Go `Duration.Round(m)` (halfway values round away from zero).
fn round_duration(d: i64, m: i64) -> i64 {
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if r + r < m {
            return d + r;
        }
        return d.saturating_sub(m - r);
    }
    if r + r < m {
        return d - r;
    }
    d.saturating_add(m - r)
}

pub(super) fn ago(_: &CallCtx, a: Vec<Value>) -> R {
    let t = time_of(&a[0]);
    s(duration_string(round_duration(
        t.since_nanos(),
        1_000_000_000,
    )))
}

pub(super) fn duration(_: &CallCtx, a: Vec<Value>) -> R {
    let n: i64 = match &a[0] {
        Value::String(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        Value::Int(i) => *i,
        _ => 0,
    };
    s(duration_string(n.wrapping_mul(1_000_000_000)))
}

pub(super) fn duration_round(_: &CallCtx, a: Vec<Value>) -> R {
    let d: i64 = match &a[0] {
        Value::String(b) => parse_duration(&String::from_utf8_lossy(b)).unwrap_or(0),
        Value::Int(i) => *i,
        Value::Time(t) => t.since_nanos(),
        _ => 0,
    };
    let u = d.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    const MONTH: u64 = 30 * DAY;
    const YEAR: u64 = 365 * DAY;
    let out = if u > YEAR {
        format!("{}y", u / YEAR)
    } else if u > MONTH {
        format!("{}mo", u / MONTH)
    } else if u > DAY {
        format!("{}d", u / DAY)
    } else if u > HOUR {
        format!("{}h", u / HOUR)
    } else if u > MINUTE {
        format!("{}m", u / MINUTE)
    } else if u > SECOND {
        format!("{}s", u / SECOND)
    } else {
        "0s".to_string()
    };
    s(out)
}

/// Methods of Go's `time.Time` reachable from templates.
pub(crate) fn time_method(t: &GoTime, name: &str, args: Vec<Value>) -> R {
    let z = &t.0;
    let want = |n: usize| -> Result<(), FuncError> {
        if args.len() != n {
            return Err(FuncError::Type(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            )));
        }
        Ok(())
    };
    match name {
        "Format" => {
            want(1)?;
            match &args[0] {
                Value::String(l) => s(t.format(&String::from_utf8_lossy(l))),
                other => Err(FuncError::Type(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                ))),
            }
        }
        _ => {
            want(0)?;
            Ok(match name {
                "Year" => Value::Int(i64::from(z.year())),
                "Month" => Value::String(t.format("January").into_bytes()),
                "Day" => Value::Int(i64::from(z.day())),
                "Hour" => Value::Int(i64::from(z.hour())),
                "Minute" => Value::Int(i64::from(z.minute())),
                "Second" => Value::Int(i64::from(z.second())),
                "Nanosecond" => Value::Int(i64::from(z.subsec_nanosecond())),
                "YearDay" => Value::Int(i64::from(z.day_of_year())),
                "Weekday" => Value::String(t.format("Monday").into_bytes()),
                "Unix" => Value::Int(t.unix()),
                "UnixMilli" => Value::Int(z.timestamp().as_millisecond()),
                "UnixNano" => Value::Int(
                    z.timestamp()
                        .as_nanosecond()
                        .clamp(i64::MIN as i128, i64::MAX as i128) as i64,
                ),
                "UTC" => Value::Time(t.in_zone(TimeZone::UTC)),
                "Local" => Value::Time(t.in_zone(TimeZone::system())),
                "String" => Value::String(t.go_string().into_bytes()),
                "IsZero" => Value::Bool(*t == GoTime::zero() || t.unix() == GoTime::zero().unix()),
                _ => {
                    return Err(FuncError::Type(format!(
                        "can't evaluate field {name} in type time.Time"
                    )));
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_rounding_like_go() {
        assert_eq!(round_duration(1_499_999_999, 1_000_000_000), 1_000_000_000);
        assert_eq!(round_duration(1_500_000_000, 1_000_000_000), 2_000_000_000);
        assert_eq!(
            round_duration(-1_500_000_000, 1_000_000_000),
            -2_000_000_000
        );
    }
}
