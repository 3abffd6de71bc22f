//! Go's `time` package as sprig's date functions use it: `time.Time` values, Go reference
//! layouts (`2006-01-02 15:04:05 -0700 MST`) for formatting and parsing, and
//! `time.Duration` strings. Follows `time/format.go` (`nextStdChunk`, `appendFormat`,
//! `Parse`) and `time/time.go` (`Duration.String`, `ParseDuration`). Calendar and zone
//! arithmetic is done by `jiff`.
//!
//! Not reproduced: the monotonic clock suffix (`m=+0.000001`) Go prints for `now`, and
//! parsing of zone abbreviations other than `UTC`/`GMT` (they parse as a zero offset with
//! the given name, as Go does for unknown abbreviations).

use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, Zoned};

/// A Go `time.Time`.
#[derive(Clone, PartialEq)]
pub struct GoTime(pub Zoned);

impl GoTime {
    /// Go's zero time: January 1, year 1, 00:00:00 UTC.
    pub fn zero() -> GoTime {
        let z = jiff::civil::date(1, 1, 1)
            .at(0, 0, 0, 0)
            .to_zoned(TimeZone::UTC)
            .expect("year 1 is in range");
        GoTime(z)
    }

    /// `time.Now()` in the local zone.
    pub fn now() -> GoTime {
        GoTime(Zoned::now())
    }

    /// `time.Unix(sec, 0)` in the local zone.
    pub fn from_unix(sec: i64) -> GoTime {
        let ts = Timestamp::from_second(sec).unwrap_or(Timestamp::UNIX_EPOCH);
        GoTime(ts.to_zoned(TimeZone::system()))
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.0.timestamp().as_second()
    }

    /// The same instant in another zone.
    pub fn in_zone(&self, tz: TimeZone) -> GoTime {
        GoTime(self.0.with_time_zone(tz))
    }

    /// Adds a Go duration in nanoseconds.
    pub fn add_nanos(&self, nanos: i64) -> GoTime {
        let span = jiff::SignedDuration::from_nanos(nanos);
        match self.0.timestamp().checked_add(span) {
            Ok(ts) => GoTime(ts.to_zoned(self.0.time_zone().clone())),
            Err(_) => self.clone(),
        }
    }

    /// Nanoseconds from `self` to now (Go `time.Since`).
    pub fn since_nanos(&self) -> i64 {
        let d = Timestamp::now().duration_since(self.0.timestamp());
        d.as_nanos().clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// `Time.String()` (without the monotonic clock reading).
    pub fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    fn abbreviation(&self) -> String {
        let info = self.0.time_zone().to_offset_info(self.0.timestamp());
        let abbr = info.abbreviation();
        if abbr.is_empty() {
            return String::new();
        }
        abbr.to_string()
    }

    /// Go `Time.Format(layout)`.
    pub fn format(&self, layout: &str) -> String {
        let z = &self.0;
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(chunk) = chunk else { break };
            rest = suffix;
            let year = i64::from(z.year());
            let month = z.month() as usize;
            let day = z.day() as i64;
            let hour = z.hour() as i64;
            let offset = z.offset().seconds();
            match chunk {
                Chunk::Year => out.push_str(&format!("{year:04}")),
                Chunk::YearShort => out.push_str(&format!("{:02}", year.rem_euclid(100))),
                Chunk::LongMonth => out.push_str(LONG_MONTHS[month - 1]),
                Chunk::Month => out.push_str(&LONG_MONTHS[month - 1][..3]),
                Chunk::NumMonth => out.push_str(&month.to_string()),
                Chunk::ZeroMonth => out.push_str(&format!("{month:02}")),
                Chunk::LongWeekDay => out.push_str(LONG_DAYS[weekday(z)]),
                Chunk::WeekDay => out.push_str(&LONG_DAYS[weekday(z)][..3]),
                Chunk::Day => out.push_str(&day.to_string()),
                Chunk::UnderDay => out.push_str(&format!("{day:>2}")),
                Chunk::ZeroDay => out.push_str(&format!("{day:02}")),
                Chunk::UnderYearDay => out.push_str(&format!("{:>3}", z.day_of_year())),
                Chunk::ZeroYearDay => out.push_str(&format!("{:03}", z.day_of_year())),
                Chunk::Hour => out.push_str(&format!("{hour:02}")),
                Chunk::Hour12 | Chunk::ZeroHour12 => {
                    let mut h = hour % 12;
                    if h == 0 {
                        h = 12;
                    }
                    if chunk == Chunk::Hour12 {
                        out.push_str(&h.to_string());
                    } else {
                        out.push_str(&format!("{h:02}"));
                    }
                }
                Chunk::Minute => out.push_str(&z.minute().to_string()),
                Chunk::ZeroMinute => out.push_str(&format!("{:02}", z.minute())),
                Chunk::Second => out.push_str(&z.second().to_string()),
                Chunk::ZeroSecond => out.push_str(&format!("{:02}", z.second())),
                Chunk::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
                Chunk::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
                Chunk::TZ => {
                    let abbr = self.abbreviation();
                    if !abbr.is_empty() {
                        out.push_str(&abbr);
                    } else {
                        let m = offset / 60;
                        let (sign, m) = if m < 0 { ('-', -m) } else { ('+', m) };
                        out.push(sign);
                        out.push_str(&format!("{:02}{:02}", m / 60, m % 60));
                    }
                }
                Chunk::Offset {
                    z: zulu,
                    colon,
                    seconds,
                    hours_only,
                } => {
                    if offset == 0 && zulu {
                        out.push('Z');
                    } else {
                        let (sign, abs) = if offset < 0 {
                            ('-', -offset)
                        } else {
                            ('+', offset)
                        };
                        out.push(sign);
                        out.push_str(&format!("{:02}", abs / 3600));
                        if !hours_only {
                            if colon {
                                out.push(':');
                            }
                            out.push_str(&format!("{:02}", (abs / 60) % 60));
                        }
                        if seconds {
                            if colon {
                                out.push(':');
                            }
                            out.push_str(&format!("{:02}", abs % 60));
                        }
                    }
                }
                Chunk::Frac {
                    digits,
                    trim,
                    comma,
                } => {
                    let ns = z.subsec_nanosecond();
                    let s = format!("{ns:09}");
                    let mut frac = s[..digits].to_string();
                    if trim {
                        frac = frac.trim_end_matches('0').to_string();
                    }
                    if !frac.is_empty() {
                        out.push(if comma { ',' } else { '.' });
                        out.push_str(&frac);
                    }
                }
            }
        }
        out
    }

    /// Go `time.ParseInLocation(layout, value, loc)`; `None` on any mismatch.
    pub fn parse(layout: &str, value: &str, loc: &TimeZone) -> Option<GoTime> {
        let mut year: i16 = 1;
        let mut month: i8 = 1;
        let mut day: i8 = 1;
        let mut yday: Option<i16> = None;
        let mut hour: i8 = 0;
        let mut min: i8 = 0;
        let mut sec: i8 = 0;
        let mut nsec: i32 = 0;
        let mut pm: Option<bool> = None;
        let mut zone_offset: Option<i32> = None;
        let mut layout = layout;
        let mut value = value;
        loop {
            let (prefix, chunk, suffix) = next_std_chunk(layout);
            value = skip_prefix(value, prefix)?;
            let Some(chunk) = chunk else {
                if !value.is_empty() {
                    return None;
                }
                break;
            };
            layout = suffix;
            match chunk {
                Chunk::Year => {
                    let (n, rest) = take_digits(value, 4, 4)?;
                    year = n as i16;
                    value = rest;
                }
                Chunk::YearShort => {
                    let (n, rest) = take_digits(value, 2, 2)?;
                    year = if n >= 69 { 1900 + n } else { 2000 + n } as i16;
                    value = rest;
                }
                Chunk::LongMonth | Chunk::Month => {
                    let (i, rest) = lookup_name(value, &LONG_MONTHS, chunk == Chunk::Month)?;
                    month = i as i8 + 1;
                    value = rest;
                }
                Chunk::NumMonth | Chunk::ZeroMonth => {
                    let (n, rest) =
                        take_digits(value, if chunk == Chunk::ZeroMonth { 2 } else { 1 }, 2)?;
                    if !(1..=12).contains(&n) {
                        return None;
                    }
                    month = n as i8;
                    value = rest;
                }
                Chunk::LongWeekDay | Chunk::WeekDay => {
                    let (_, rest) = lookup_name(value, &LONG_DAYS, chunk == Chunk::WeekDay)?;
                    value = rest;
                }
                Chunk::Day | Chunk::UnderDay | Chunk::ZeroDay => {
                    let mut v = value;
                    if chunk == Chunk::UnderDay && v.starts_with(' ') {
                        v = &v[1..];
                    }
                    let (n, rest) = take_digits(v, if chunk == Chunk::ZeroDay { 2 } else { 1 }, 2)?;
                    day = n as i8;
                    value = rest;
                }
                Chunk::UnderYearDay | Chunk::ZeroYearDay => {
                    let mut v = value;
                    if chunk == Chunk::UnderYearDay {
                        v = v.trim_start_matches(' ');
                    }
                    let (n, rest) =
                        take_digits(v, if chunk == Chunk::ZeroYearDay { 3 } else { 1 }, 3)?;
                    yday = Some(n as i16);
                    value = rest;
                }
                Chunk::Hour => {
                    let (n, rest) = take_digits(value, 1, 2)?;
                    if n > 23 {
                        return None;
                    }
                    hour = n as i8;
                    value = rest;
                }
                Chunk::Hour12 | Chunk::ZeroHour12 => {
                    let (n, rest) =
                        take_digits(value, if chunk == Chunk::ZeroHour12 { 2 } else { 1 }, 2)?;
                    if n > 12 {
                        return None;
                    }
                    hour = n as i8;
                    value = rest;
                }
                Chunk::Minute | Chunk::ZeroMinute => {
                    let (n, rest) =
                        take_digits(value, if chunk == Chunk::ZeroMinute { 2 } else { 1 }, 2)?;
                    if n > 59 {
                        return None;
                    }
                    min = n as i8;
                    value = rest;
                }
                Chunk::Second | Chunk::ZeroSecond => {
                    let (n, rest) =
                        take_digits(value, if chunk == Chunk::ZeroSecond { 2 } else { 1 }, 2)?;
                    if n > 59 {
                        return None;
                    }
                    sec = n as i8;
                    value = rest;
                    // Go accepts a fractional second after seconds even if the layout lacks it.
                    if let Some(r) = value.strip_prefix(['.', ','])
                        && r.starts_with(|c: char| c.is_ascii_digit())
                        && !matches!(next_std_chunk(layout).1, Some(Chunk::Frac { .. }))
                    {
                        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
                        nsec = frac_nanos(&r[..digits]);
                        value = &r[digits..];
                    }
                }
                Chunk::PM | Chunk::Pm => {
                    if value.len() < 2 {
                        return None;
                    }
                    let p = &value[..2];
                    pm = Some(match p {
                        "PM" | "pm" => true,
                        "AM" | "am" => false,
                        _ => return None,
                    });
                    value = &value[2..];
                }
                Chunk::TZ => {
                    if let Some(r) = value
                        .strip_prefix("UTC")
                        .or_else(|| value.strip_prefix("GMT"))
                    {
                        zone_offset = Some(0);
                        value = r;
                    } else {
                        let n = value.bytes().take_while(u8::is_ascii_uppercase).count();
                        if n < 3 {
                            return None;
                        }
                        value = &value[n..];
                    }
                }
                Chunk::Offset {
                    z: zulu,
                    colon,
                    seconds,
                    hours_only,
                } => {
                    if zulu && value.starts_with('Z') {
                        zone_offset = Some(0);
                        value = &value[1..];
                        continue;
                    }
                    let sign = match value.as_bytes().first()? {
                        b'+' => 1,
                        b'-' => -1,
                        _ => return None,
                    };
                    let mut v = &value[1..];
                    let (h, r) = take_digits(v, 2, 2)?;
                    v = r;
                    let mut m = 0;
                    let mut s = 0;
                    if !hours_only {
                        if colon {
                            v = v.strip_prefix(':')?;
                        }
                        let (mm, r) = take_digits(v, 2, 2)?;
                        m = mm;
                        v = r;
                    }
                    if seconds {
                        if colon {
                            v = v.strip_prefix(':')?;
                        }
                        let (ss, r) = take_digits(v, 2, 2)?;
                        s = ss;
                        v = r;
                    }
                    zone_offset = Some(sign * (h * 3600 + m * 60 + s));
                    value = v;
                }
                Chunk::Frac { digits, trim, .. } => {
                    let Some(r) = value.strip_prefix(['.', ',']) else {
                        if trim {
                            continue;
                        }
                        return None;
                    };
                    let n = r.bytes().take_while(u8::is_ascii_digit).count();
                    if !trim && n != digits {
                        return None;
                    }
                    nsec = frac_nanos(&r[..n]);
                    value = &r[n..];
                }
            }
        }
        if let Some(p) = pm {
            if p && hour < 12 {
                hour += 12;
            } else if !p && hour == 12 {
                hour = 0;
            }
        }
        let mut date = jiff::civil::Date::new(year, month, day).ok()?;
        if let Some(yd) = yday {
            date = date.with().day_of_year(yd).build().ok()?;
        }
        let dt = date.at(hour, min, sec, nsec);
        let z = match zone_offset {
            Some(off) => {
                let offset = Offset::from_seconds(off).ok()?;
                // Go keeps the named location when its offset agrees at that instant.
                let fixed = dt.to_zoned(TimeZone::fixed(offset)).ok()?;
                let local = fixed.with_time_zone(loc.clone());
                if local.offset() == offset {
                    local
                } else {
                    fixed
                }
            }
            None => dt.to_zoned(loc.clone()).ok()?,
        };
        Some(GoTime(z))
    }
}

fn weekday(z: &Zoned) -> usize {
    z.weekday().to_sunday_zero_offset() as usize
}

fn frac_nanos(digits: &str) -> i32 {
    let mut s = digits.to_string();
    s.truncate(9);
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

fn skip_prefix<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    // Go's skip: spaces in the layout match one or more spaces in the value.
    let mut v = value;
    let mut p = prefix;
    while !p.is_empty() {
        if p.starts_with(' ') {
            if !v.is_empty() && !v.starts_with(' ') {
                return None;
            }
            p = p.trim_start_matches(' ');
            v = v.trim_start_matches(' ');
            continue;
        }
        let c = p.chars().next()?;
        v = v.strip_prefix(c)?;
        p = &p[c.len_utf8()..];
    }
    Some(v)
}

fn take_digits(v: &str, min: usize, max: usize) -> Option<(i32, &str)> {
    let n = v.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((v[..n].parse().ok()?, &v[n..]))
}

fn lookup_name<'a>(v: &'a str, names: &[&str], short: bool) -> Option<(usize, &'a str)> {
    for (i, name) in names.iter().enumerate() {
        let name = if short { &name[..3] } else { name };
        if v.len() >= name.len() && v[..name.len()].eq_ignore_ascii_case(name) {
            return Some((i, &v[name.len()..]));
        }
    }
    None
}

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    Year,
    YearShort,
    PM,
    Pm,
    TZ,
    Offset {
        z: bool,
        colon: bool,
        seconds: bool,
        hours_only: bool,
    },
    Frac {
        digits: usize,
        trim: bool,
        comma: bool,
    },
}

fn starts_lower(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// Go `nextStdChunk`: text before the first layout element, the element, and the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Chunk>, &str) {
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let found: Option<(Chunk, usize)> = match b[i] {
            b'J' => {
                if rest.starts_with("January") {
                    Some((Chunk::LongMonth, 7))
                } else if rest.starts_with("Jan") && !starts_lower(&rest[3..]) {
                    Some((Chunk::Month, 3))
                } else {
                    None
                }
            }
            b'M' => {
                if rest.starts_with("Monday") {
                    Some((Chunk::LongWeekDay, 6))
                } else if rest.starts_with("Mon") && !starts_lower(&rest[3..]) {
                    Some((Chunk::WeekDay, 3))
                } else if rest.starts_with("MST") {
                    Some((Chunk::TZ, 3))
                } else {
                    None
                }
            }
            b'0' => match b.get(i + 1) {
                Some(b'1') => Some((Chunk::ZeroMonth, 2)),
                Some(b'2') => Some((Chunk::ZeroDay, 2)),
                Some(b'3') => Some((Chunk::ZeroHour12, 2)),
                Some(b'4') => Some((Chunk::ZeroMinute, 2)),
                Some(b'5') => Some((Chunk::ZeroSecond, 2)),
                Some(b'6') => Some((Chunk::YearShort, 2)),
                Some(b'0') if b.get(i + 2) == Some(&b'2') => Some((Chunk::ZeroYearDay, 3)),
                _ => None,
            },
            b'1' => {
                if b.get(i + 1) == Some(&b'5') {
                    Some((Chunk::Hour, 2))
                } else {
                    Some((Chunk::NumMonth, 1))
                }
            }
            b'2' => {
                if rest.starts_with("2006") {
                    Some((Chunk::Year, 4))
                } else {
                    Some((Chunk::Day, 1))
                }
            }
            b'_' => {
                if rest.starts_with("_2") {
                    if rest.starts_with("_2006") {
                        // "_" followed by a year: literal underscore then the year
                        None
                    } else {
                        Some((Chunk::UnderDay, 2))
                    }
                } else if rest.starts_with("__2") {
                    Some((Chunk::UnderYearDay, 3))
                } else {
                    None
                }
            }
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if b.get(i + 1) == Some(&b'M') => Some((Chunk::PM, 2)),
            b'p' if b.get(i + 1) == Some(&b'm') => Some((Chunk::Pm, 2)),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let body = &rest[1..];
                let opts: [(&str, bool, bool, bool); 5] = [
                    ("07:00:00", true, true, false),
                    ("070000", false, true, false),
                    ("07:00", true, false, false),
                    ("0700", false, false, false),
                    ("07", false, false, true),
                ];
                opts.iter().find(|(p, ..)| body.starts_with(p)).map(
                    |(p, colon, seconds, hours_only)| {
                        (
                            Chunk::Offset {
                                z,
                                colon: *colon,
                                seconds: *seconds,
                                hours_only: *hours_only,
                            },
                            1 + p.len(),
                        )
                    },
                )
            }
            b'.' | b',' => {
                let c = b.get(i + 1).copied();
                if matches!(c, Some(b'0' | b'9')) {
                    let ch = c.unwrap_or(b'0');
                    let mut j = i + 1;
                    while j < b.len() && b[j] == ch {
                        j += 1;
                    }
                    if j >= b.len() || !b[j].is_ascii_digit() {
                        let digits = (j - i - 1).min(9);
                        Some((
                            Chunk::Frac {
                                digits,
                                trim: ch == b'9',
                                comma: b[i] == b',',
                            },
                            j - i,
                        ))
                    } else {
                        None
                    }
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return (&layout[..i], Some(chunk), &layout[i + len..]);
        }
        i += layout[i..].chars().next().map_or(1, char::len_utf8);
    }
    (layout, None, "")
}

/// Go `Duration.String()`.
pub(crate) fn duration_string(d: i64) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut s = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1u64)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        s.push_str(&frac_string(u, div));
        s.push_str(unit);
    } else {
        let secs_total = u / 1_000_000_000;
        let nanos = u % 1_000_000_000;
        let h = secs_total / 3600;
        let m = (secs_total / 60) % 60;
        let sec = secs_total % 60;
        if h > 0 {
            s.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            s.push_str(&format!("{m}m"));
        }
        s.push_str(&frac_string(sec * 1_000_000_000 + nanos, 1_000_000_000));
        s.push('s');
    }
    if neg {
        s.insert(0, '-');
    }
    s
}

fn frac_string(v: u64, div: u64) -> String {
    let int = v / div;
    let frac = v % div;
    if frac == 0 {
        return int.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{int}.{}", f.trim_end_matches('0'))
}

/// Go `time.ParseDuration`.
pub(crate) fn parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .char_indices()
            .take_while(|(_, c)| !c.is_ascii_digit() && *c != '.')
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .unwrap_or(0);
        let unit = &rest[..u];
        rest = &rest[u..];
        let mult: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += num * mult;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let t = total.round() as i64;
    Some(if neg { -t } else { t })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(y: i16, mo: i8, d: i8, h: i8, mi: i8, s: i8, off: i32) -> GoTime {
        let tz = TimeZone::fixed(Offset::from_seconds(off).unwrap());
        GoTime(
            jiff::civil::date(y, mo, d)
                .at(h, mi, s, 0)
                .to_zoned(tz)
                .unwrap(),
        )
    }

    #[test]
    fn formats_go_layouts() {
        // time/format_test.go formatTests (values for Feb 4 2009 21:00:57 PST -0800)
        let t = fixed(2009, 2, 4, 21, 0, 57, -8 * 3600);
        assert_eq!(t.format("2006-01-02"), "2009-02-04");
        assert_eq!(t.format("Jan _2 15:04:05"), "Feb  4 21:00:57");
        assert_eq!(t.format("Mon Jan 2 3:4:5 PM"), "Wed Feb 4 9:0:57 PM");
        assert_eq!(
            t.format("2006-01-02T15:04:05Z07:00"),
            "2009-02-04T21:00:57-08:00"
        );
        assert_eq!(t.format("Monday, 02-Jan-06"), "Wednesday, 04-Feb-09");
    }

    #[test]
    fn parses_go_layouts() {
        let t = GoTime::parse("2006-01-02", "2024-05-01", &TimeZone::UTC).unwrap();
        assert_eq!(t.format("Jan 2, 2006"), "May 1, 2024");
        let t = GoTime::parse(
            "2006-01-02T15:04:05Z07:00",
            "2024-05-01T10:20:30+02:00",
            &TimeZone::UTC,
        )
        .unwrap();
        assert_eq!(t.unix(), 1714551630);
        assert!(GoTime::parse("2006-01-02", "2024-13-01", &TimeZone::UTC).is_none());
    }

    #[test]
    fn durations_like_go() {
        // time/time_test.go durationTests
        assert_eq!(duration_string(0), "0s");
        assert_eq!(duration_string(1), "1ns");
        assert_eq!(duration_string(1100), "1.1µs");
        assert_eq!(duration_string(2_200_000), "2.2ms");
        assert_eq!(duration_string(3_300_000_000), "3.3s");
        assert_eq!(
            duration_string(4 * 60 * 1_000_000_000 + 5_000_000_000),
            "4m5s"
        );
        assert_eq!(
            duration_string(5 * 3600 * 1_000_000_000 + 6 * 60_000_000_000 + 7_001_000_000),
            "5h6m7.001s"
        );
        assert_eq!(duration_string(-1), "-1ns");
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("-1.5h"), Some(-5_400_000_000_000));
        assert_eq!(parse_duration("bogus"), None);
    }
}
