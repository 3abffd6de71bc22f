//! Go standard-library formatting and parsing that the SOPS wire format depends on.
//!
//! sops is written in Go: the bytes it encrypts for numbers are `strconv.FormatFloat(v, 'f',
//! -1, 64)`, booleans are parsed with `strconv.ParseBool`, timestamps are `time.Time`
//! marshalled as RFC 3339, and its YAML/JSON emitters print floats with `'g'` / the
//! `encoding/json` rules. Matching sops byte-for-byte means reproducing exactly those rules,
//! which is all this module does.

/// `strconv.FormatFloat(v, 'f', -1, 64)`: shortest round-trip digits, never an exponent.
pub fn format_float_f(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's `Display` for f64 prints the shortest round-trip digits without exponent,
    // which is exactly Go's 'f' with precision -1 (including "-0" for negative zero).
    format!("{v}")
}

/// Shortest digits of `v` (no sign) and the decimal exponent `dp` such that
/// `v = 0.d1d2d3… × 10^dp` (Go's `decimal.dp`).
fn shortest_digits(v: f64) -> (String, i32) {
    let e = format!("{:e}", v.abs());
    let (mant, exp) = e.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    (digits.to_string(), exp + 1)
}

fn fmt_e(neg: bool, digits: &str, dp: i32) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let abs = exp.unsigned_abs();
    if abs < 10 {
        out.push('0');
    }
    out.push_str(&abs.to_string());
    out
}

/// `strconv.FormatFloat(v, 'g', -1, 64)` with yaml.v3's spelling of infinities and NaN:
/// how sops' YAML emitter prints a float (`1e3` → `1000`, `1.5e-7` → `1.5e-07`).
pub fn format_float_yaml(v: f64) -> String {
    if v.is_nan() {
        return ".nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let neg = v.is_sign_negative();
    if v == 0.0 {
        return if neg { "-0".into() } else { "0".into() };
    }
    let (digits, dp) = shortest_digits(v);
    let exp = dp - 1;
    if !(-4..6).contains(&exp) {
        return fmt_e(neg, &digits, dp);
    }
    format_float_f(v)
}

/// `encoding/json`'s float encoding (as used by sops' JSON store): `'f'` unless the magnitude
/// is below 1e-6 or at least 1e21, then `'e'` with `e-07` shortened to `e-7`.
pub fn format_float_json(v: f64) -> Option<String> {
    if !v.is_finite() {
        return None;
    }
    let abs = v.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let (digits, dp) = shortest_digits(v);
        let mut s = fmt_e(v.is_sign_negative(), &digits, dp);
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            s.remove(n - 2);
        }
        return Some(s);
    }
    Some(format_float_f(v))
}

/// `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `strconv.Atoi` on a 64-bit platform: optional sign, decimal digits only.
pub fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// `strconv.ParseFloat(s, 64)` for the spellings sops produces and Go accepts
/// (decimal, exponent, `Inf`/`NaN` in any case, optional sign).
pub fn parse_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let unsigned = lower.strip_prefix(['+', '-']).unwrap_or(&lower);
    if matches!(unsigned, "inf" | "infinity" | "nan") {
        return lower.parse::<f64>().ok();
    }
    if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
    {
        return None;
    }
    let v = s.parse::<f64>().ok()?;
    // Go reports out-of-range values as an error rather than returning ±Inf.
    if v.is_infinite() { None } else { Some(v) }
}

/// A Go `time.Time` reduced to what the SOPS format observes: an instant and the zone offset
/// it was written with (Go formats zero offsets as `Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GoTime {
    /// Seconds since the Unix epoch (UTC).
    pub unix: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
    /// Offset from UTC in seconds.
    pub offset: i32,
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A tiny cursor over ASCII digits with Go's `getnum` semantics.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i < self.s.len() && self.i - start < max && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
    fn lit(&mut self, c: u8) -> Option<()> {
        (self.s.get(self.i) == Some(&c)).then(|| self.i += 1)
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn fraction(&mut self) -> Option<u32> {
        if self.peek() != Some(b'.') {
            return Some(0);
        }
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        let mut n: u32 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        for _ in digits.len()..9 {
            n *= 10;
        }
        Some(n)
    }
    fn zone(&mut self) -> Option<i32> {
        match self.peek()? {
            b'Z' => {
                self.i += 1;
                Some(0)
            }
            sign @ (b'+' | b'-') => {
                self.i += 1;
                let h = self.num(2, 2)?;
                self.lit(b':')?;
                let m = self.num(2, 2)?;
                if h > 23 || m > 59 {
                    return None;
                }
                let off = (h * 3600 + m * 60) as i32;
                Some(if sign == b'-' { -off } else { off })
            }
            _ => None,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn build_time(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    nanos: u32,
    offset: i32,
) -> Option<GoTime> {
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + i64::from(hour * 3600 + min * 60 + sec);
    Some(GoTime {
        unix: local - i64::from(offset),
        nanos,
        offset,
    })
}

impl GoTime {
    /// `time.Parse(time.RFC3339, s)` (fractional seconds accepted, as Go does).
    pub fn parse_rfc3339(s: &str) -> Option<GoTime> {
        let mut c = Cursor {
            s: s.as_bytes(),
            i: 0,
        };
        let year = c.num(4, 4)?;
        c.lit(b'-')?;
        let month = c.num(2, 2)?;
        c.lit(b'-')?;
        let day = c.num(2, 2)?;
        c.lit(b'T')?;
        let hour = c.num(2, 2)?;
        c.lit(b':')?;
        let min = c.num(2, 2)?;
        c.lit(b':')?;
        let sec = c.num(2, 2)?;
        let nanos = c.fraction()?;
        let offset = c.zone()?;
        if !c.done() {
            return None;
        }
        build_time(i64::from(year), month, day, hour, min, sec, nanos, offset)
    }

    /// yaml.v3's timestamp resolution (`parseTimestamp` in `resolve.go`): the formats
    /// `2006-1-2T15:4:5.999999999Z07:00` (also lower-case `t`), `2006-1-2 15:4:5.999999999`
    /// and `2006-1-2`.
    pub fn parse_yaml_timestamp(s: &str) -> Option<GoTime> {
        let b = s.as_bytes();
        if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
            return None;
        }
        let mut c = Cursor { s: b, i: 0 };
        let year = c.num(4, 4)?;
        c.lit(b'-')?;
        let month = c.num(1, 2)?;
        c.lit(b'-')?;
        let day = c.num(1, 2)?;
        if c.done() {
            return build_time(i64::from(year), month, day, 0, 0, 0, 0, 0);
        }
        let sep = c.peek()?;
        c.i += 1;
        let hour = c.num(1, 2)?;
        c.lit(b':')?;
        let min = c.num(1, 2)?;
        c.lit(b':')?;
        let sec = c.num(1, 2)?;
        let nanos = c.fraction()?;
        let offset = match sep {
            b'T' | b't' => c.zone()?,
            b' ' => 0,
            _ => return None,
        };
        if !c.done() {
            return None;
        }
        build_time(i64::from(year), month, day, hour, min, sec, nanos, offset)
    }

    fn format(&self, with_nanos: bool) -> String {
        let local = self.unix + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            y,
            m,
            d,
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        if with_nanos && self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let abs = self.offset.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, (abs / 60) % 60));
        }
        out
    }

    /// `t.Format(time.RFC3339)`.
    pub fn format_rfc3339(&self) -> String {
        self.format(false)
    }

    /// `t.Format(time.RFC3339Nano)` = `t.MarshalText()`.
    pub fn format_rfc3339_nano(&self) -> String {
        self.format(true)
    }

    /// Build from Unix seconds (UTC), e.g. from an injected clock.
    pub fn from_unix_utc(unix: i64) -> GoTime {
        GoTime {
            unix,
            nanos: 0,
            offset: 0,
        }
    }

    /// Year in the time's own offset (MarshalText rejects years outside 0..=9999).
    pub fn year(&self) -> i64 {
        civil_from_days((self.unix + i64::from(self.offset)).div_euclid(86_400)).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_match_go() {
        assert_eq!(format_float_f(1e-7), "0.0000001");
        assert_eq!(format_float_f(0.75), "0.75");
        assert_eq!(format_float_f(1000.0), "1000");
        assert_eq!(format_float_f(f64::INFINITY), "+Inf");
        assert_eq!(format_float_yaml(1000.0), "1000");
        assert_eq!(format_float_yaml(1.0), "1");
        assert_eq!(format_float_yaml(1.5e-7), "1.5e-07");
        assert_eq!(format_float_yaml(1e6), "1e+06");
        assert_eq!(format_float_yaml(123_456_789.0), "1.23456789e+08");
        assert_eq!(format_float_yaml(0.0001), "0.0001");
        assert_eq!(format_float_yaml(0.00001), "1e-05");
        assert_eq!(format_float_yaml(f64::NEG_INFINITY), "-.inf");
        assert_eq!(format_float_json(1e-7).unwrap(), "1e-7");
        assert_eq!(format_float_json(1e21).unwrap(), "1e+21");
        assert_eq!(
            format_float_json(12_345_678_901_234_567_890.0).unwrap(),
            "12345678901234567000"
        );
        assert_eq!(format_float_json(1.5).unwrap(), "1.5");
    }

    #[test]
    fn times_match_go() {
        let t = GoTime::parse_yaml_timestamp("2024-01-01").unwrap();
        assert_eq!(t.format_rfc3339_nano(), "2024-01-01T00:00:00Z");
        let t = GoTime::parse_yaml_timestamp("2024-1-2t3:4:5.5+01:00").unwrap();
        assert_eq!(t.format_rfc3339_nano(), "2024-01-02T03:04:05.5+01:00");
        let t = GoTime::parse_rfc3339("2026-11-21T21:25:12+00:00").unwrap();
        assert_eq!(t.format_rfc3339(), "2026-11-21T21:25:12Z");
        assert!(GoTime::parse_rfc3339("2026-02-30T00:00:00Z").is_none());
        assert!(GoTime::parse_yaml_timestamp("2024-13-01").is_none());
        assert_eq!(
            GoTime::from_unix_utc(0).format_rfc3339(),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn ints_and_bools_match_go() {
        assert_eq!(atoi("+5"), Some(5));
        assert_eq!(atoi("0x1F"), None);
        assert_eq!(atoi("1_000"), None);
        assert_eq!(parse_bool("True"), Some(true));
        assert_eq!(parse_bool("yes"), None);
        assert_eq!(parse_float("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_float("0.0000001"), Some(1e-7));
        assert_eq!(parse_float("1e400"), None);
    }
}
