//! Go `time.Duration` text (`metav1.Duration`): what `refreshInterval` fields hold.
//!
//! ESO stores durations as Go writes them (`1h0m0s`) and accepts every Go spelling
//! (`90s`, `1.5h`, `300ms`, `-1s`), so parsing follows `time.ParseDuration` and printing
//! follows `Duration.String`.

use std::time::Duration;

/// A duration that may be negative (Go allows negative intervals; ESO treats `<= 0` as
/// "never refresh").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct GoDuration {
    /// Nanoseconds.
    pub nanos: i128,
}

impl GoDuration {
    /// The zero duration.
    pub const ZERO: GoDuration = GoDuration { nanos: 0 };

    /// From a std duration.
    pub fn from_std(d: Duration) -> GoDuration {
        GoDuration {
            nanos: d.as_nanos() as i128,
        }
    }

    /// Whether this is `<= 0`.
    pub fn is_non_positive(&self) -> bool {
        self.nanos <= 0
    }

    /// As a std duration (`None` when negative).
    pub fn to_std(self) -> Option<Duration> {
        u64::try_from(self.nanos).ok().map(Duration::from_nanos)
    }
}

/// A Go duration string could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {text:?}: {reason} (expected a Go duration such as 1h, 30m, 1h30m or 0s)"
)]
pub struct DurationError {
    /// The text.
    pub text: String,
    /// Why.
    pub reason: &'static str,
}

/// `time.ParseDuration`.
pub fn parse(text: &str) -> Result<GoDuration, DurationError> {
    let err = |reason| DurationError {
        text: text.to_owned(),
        reason,
    };
    let mut s = text;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(GoDuration::ZERO);
    }
    if s.is_empty() {
        return Err(err("empty"));
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let number_len = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        if number_len == 0 {
            return Err(err("expected a number"));
        }
        let (number, rest) = s.split_at(number_len);
        let value: f64 = number.parse().map_err(|_| err("bad number"))?;
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, rest) = rest.split_at(unit_len);
        let scale: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(err("missing unit")),
            _ => return Err(err("unknown unit")),
        };
        total += value * scale;
        s = rest;
    }
    if total > 9.3e18 {
        return Err(err("too large"));
    }
    let nanos = total.round() as i128;
    Ok(GoDuration {
        nanos: if negative { -nanos } else { nanos },
    })
}

/// `Duration.String` (e.g. `1h0m0s`, `1m30s`, `500ms`, `0s`).
pub fn format(d: GoDuration) -> String {
    let mut n = d.nanos;
    if n == 0 {
        return "0s".to_owned();
    }
    let sign = if n < 0 { "-" } else { "" };
    n = n.abs();
    if n < 1_000_000_000 {
        let (value, unit) = if n < 1_000 {
            (n as f64, "ns")
        } else if n < 1_000_000 {
            (n as f64 / 1e3, "µs")
        } else {
            (n as f64 / 1e6, "ms")
        };
        return format!("{sign}{}{unit}", trim_float(value));
    }
    let hours = n / 3_600_000_000_000;
    n %= 3_600_000_000_000;
    let minutes = n / 60_000_000_000;
    n %= 60_000_000_000;
    let seconds = n as f64 / 1e9;
    let mut out = String::from(sign);
    if hours > 0 {
        out.push_str(&format!("{hours}h{minutes}m"));
    } else if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", trim_float(seconds)));
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_spellings() {
        assert_eq!(parse("1h").unwrap().nanos, 3_600_000_000_000);
        assert_eq!(parse("1h0m0s").unwrap(), parse("60m").unwrap());
        assert_eq!(parse("1.5h").unwrap(), parse("90m").unwrap());
        assert_eq!(parse("300ms").unwrap().nanos, 300_000_000);
        assert_eq!(parse("0").unwrap(), GoDuration::ZERO);
        assert_eq!(parse("0s").unwrap(), GoDuration::ZERO);
        assert_eq!(parse("-1s").unwrap().nanos, -1_000_000_000);
        assert!(parse("").is_err());
        assert!(parse("5").is_err());
        assert!(parse("5d").is_err());
        assert!(parse("h").is_err());
        let e = parse("1x").unwrap_err().to_string();
        assert!(e.contains("\"1x\"") && e.contains("unknown unit"), "{e}");
    }

    #[test]
    fn formats_like_go() {
        for (text, want) in [
            ("1h", "1h0m0s"),
            ("90s", "1m30s"),
            ("0s", "0s"),
            ("500ms", "500ms"),
            ("1.5s", "1.5s"),
            ("25h", "25h0m0s"),
            ("-5m", "-5m0s"),
        ] {
            assert_eq!(format(parse(text).unwrap()), want, "{text}");
        }
    }
}
