//! ESO `spec.syncWindows`: allow/deny windows that gate **periodic** refreshes only (a
//! never-synced, changed or hand-edited ExternalSecret is synced whatever the time).
//!
//! Semantics as ESO's `isPeriodicRefreshAllowedByWindows` / `isWithinSyncWindow`
//! (`pkg/controllers/externalsecret/externalsecret_controller.go`), evaluated in UTC:
//!
//! * a window is open at `t` when the schedule's most recent firing `p` before `t`
//!   satisfies `p <= t <= p + duration` (both ends inclusive); ESO finds `p` as "the first
//!   firing strictly after `t - duration - 1s`", and so does this module;
//! * `kind: allow` — refreshes only while at least one window is open; `kind: deny` —
//!   no refresh while any window is open;
//! * schedules are robfig/cron's standard syntax: five fields (minute hour day-of-month
//!   month day-of-week, Vixie's day-of-month/day-of-week rule), the descriptors `@yearly`,
//!   `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`, and
//!   `@every <Go duration>` (a constant delay with no phase: like ESO, such a window is
//!   either always or never open, depending on delay and duration).
//!
//! * a `CRON_TZ=<zone>` or `TZ=<zone>` prefix evaluates the expression in that IANA time
//!   zone, as robfig does (UTC otherwise).
//!
//! A malformed window (bad schedule or duration) is *never open*, as in ESO (an `allow`
//! list with only malformed windows blocks every periodic refresh, a `deny` list permits
//! them); an unknown kind permits every refresh, as in ESO. Windows only ever gate periodic
//! refreshes, so the ExternalSecret still syncs on creation and change. sealbox runs no
//! admission webhook, so [`parse`] also returns each problem, naming the field, for the
//! controller to report (ESO only logs it). Besides the yes/no answer,
//! [`SyncWindows::next_allowed`] says when a blocked refresh may run, so the controller
//! sleeps until then instead of retrying in a loop (ESO requeues at once).

use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::api::external::duration;
use crate::api::external::external_secret::SyncWindows as SyncWindowsSpec;

/// How many window openings/closings [`SyncWindows::next_allowed`] looks through before
/// it gives up (a deny window that is always open never allows).
const MAX_STEPS: usize = 512;

/// `syncWindows.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WindowKind {
    /// Periodic refreshes only while a window is open.
    Allow,
    /// No periodic refresh while a window is open.
    Deny,
}

/// When a window opens.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Schedule {
    /// A cron expression, evaluated in a time zone (UTC unless `CRON_TZ=`/`TZ=` says).
    Cron(Box<Cron>, TimeZone),
    /// `@every <duration>`: robfig's constant delay, whole seconds, at least one.
    Every(Duration),
}

impl Schedule {
    fn parse(text: &str) -> Result<Schedule, String> {
        let mut text = text.trim();
        let mut zone = TimeZone::UTC;
        if let Some(rest) = text
            .strip_prefix("CRON_TZ=")
            .or_else(|| text.strip_prefix("TZ="))
        {
            let (name, expression) = rest
                .split_once(' ')
                .ok_or("a time zone prefix must be followed by a schedule")?;
            zone = TimeZone::get(name).map_err(|e| format!("time zone {name:?}: {e}"))?;
            text = expression.trim();
        }
        if let Some(rest) = text.strip_prefix("@every ") {
            let every = duration::parse(rest.trim()).map_err(|e| e.to_string())?;
            // robfig: at least one second (negative delays too), whole seconds.
            let secs = every.to_std().map_or(0, |d| d.as_secs()).max(1);
            return Ok(Schedule::Every(Duration::from_secs(secs)));
        }
        let expression = match text {
            "@midnight" => "@daily",
            other => other,
        };
        if expression.starts_with('@')
            && !matches!(
                expression,
                "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@hourly"
            )
        {
            return Err(format!(
                "unknown descriptor {expression:?} (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>)"
            ));
        }
        if !expression.starts_with('@') && expression.split_whitespace().count() != 5 {
            return Err(
                "expected 5 fields (minute hour day-of-month month day-of-week)".to_owned(),
            );
        }
        if !expression.starts_with('@') {
            // croner also reads Quartz extensions (L, W, #, a `+` day-of-week) that
            // robfig refuses; day-of-month has no names, day-of-week names have no L.
            let fields: Vec<&str> = expression.split_whitespace().collect();
            let dom = fields[2].to_ascii_uppercase();
            let dow = fields[4].to_ascii_uppercase();
            if dom.contains(['L', 'W']) || dow.contains(['L', '#', '+']) {
                return Err("L, W, # and + are not part of the standard cron syntax".to_owned());
            }
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(expression).map_err(|e| e.to_string())?;
        Ok(Schedule::Cron(Box::new(cron), zone))
    }

    /// robfig `Schedule.Next`: the first firing strictly after `t`, at whole seconds.
    fn next(&self, t: Timestamp) -> Option<Timestamp> {
        let whole = Timestamp::from_second(t.as_second()).ok()?;
        match self {
            Schedule::Every(delay) => whole
                .checked_add(jiff::SignedDuration::try_from(*delay).ok()?)
                .ok(),
            Schedule::Cron(cron, zone) => cron
                .find_next_occurrence(&whole.to_zoned(zone.clone()), false)
                .ok()
                .map(|z| z.timestamp()),
        }
    }
}

/// One `schedule` + `duration` pair.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Window {
    schedule: Schedule,
    duration: Duration,
}

impl Window {
    /// The firing whose window contains `at` (ESO `isWithinSyncWindow`).
    fn open_since(&self, at: Timestamp) -> Option<Timestamp> {
        let span = jiff::SignedDuration::try_from(self.duration).ok()?;
        let from = at
            .checked_sub(span)
            .ok()?
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .ok()?;
        let prev = self.schedule.next(from)?;
        let end = prev.checked_add(span).ok()?;
        (prev <= at && at <= end).then_some(prev)
    }

    /// The first instant after `t` at which this window opens or closes.
    fn next_change(&self, t: Timestamp) -> Option<Timestamp> {
        let opens = self.schedule.next(t);
        let closes = self.open_since(t).and_then(|prev| {
            let span = jiff::SignedDuration::try_from(self.duration).ok()?;
            // Inclusive end: closed one instant later; one second keeps it simple.
            prev.checked_add(span)
                .ok()?
                .checked_add(jiff::SignedDuration::from_secs(1))
                .ok()
        });
        match (opens, closes) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Parsed `spec.syncWindows`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncWindows {
    /// allow / deny.
    pub kind: WindowKind,
    /// The well-formed windows (malformed ones are never open, so they are left out).
    windows: Vec<Window>,
}

/// `spec.syncWindows` read as ESO's controller reads it, plus what was wrong with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// `None`: every periodic refresh is allowed (no windows, or an unknown kind).
    pub windows: Option<SyncWindows>,
    /// Each malformed part, naming its field (never blocks the first sync; reported).
    pub problems: Vec<String>,
}

/// Parse `spec.syncWindows` with ESO's leniency (see the module documentation).
pub fn parse(spec: Option<&SyncWindowsSpec>) -> Parsed {
    let Some(spec) = spec else {
        return Parsed::default();
    };
    let kind = match spec.kind.as_str() {
        "allow" => WindowKind::Allow,
        "deny" => WindowKind::Deny,
        other => {
            return Parsed {
                windows: None,
                problems: vec![format!(
                    "spec.syncWindows.kind {other:?} is not supported (expected allow or deny); every refresh is allowed"
                )],
            };
        }
    };
    if spec.windows.is_empty() {
        return Parsed::default();
    }
    let mut windows = Vec::with_capacity(spec.windows.len());
    let mut problems = Vec::new();
    for (i, w) in spec.windows.iter().enumerate() {
        let schedule = match Schedule::parse(&w.schedule) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!(
                    "spec.syncWindows.windows[{i}].schedule {:?}: {e}; this window is never open",
                    w.schedule
                ));
                continue;
            }
        };
        let duration = match duration::parse(&w.duration) {
            Ok(d) => match d.to_std() {
                Some(d) => d,
                None => {
                    problems.push(format!(
                        "spec.syncWindows.windows[{i}].duration must not be negative; this window is never open"
                    ));
                    continue;
                }
            },
            Err(e) => {
                problems.push(format!(
                    "spec.syncWindows.windows[{i}].duration: {e}; this window is never open"
                ));
                continue;
            }
        };
        windows.push(Window { schedule, duration });
    }
    Parsed {
        windows: Some(SyncWindows { kind, windows }),
        problems,
    }
}

impl SyncWindows {
    /// Whether any window is open at `at`.
    pub fn any_open(&self, at: Timestamp) -> bool {
        self.windows.iter().any(|w| w.open_since(at).is_some())
    }

    /// Whether a periodic refresh may run at `at`.
    pub fn allows(&self, at: Timestamp) -> bool {
        match self.kind {
            WindowKind::Allow => self.any_open(at),
            WindowKind::Deny => !self.any_open(at),
        }
    }

    /// The first instant at or after `at` at which a periodic refresh may run: `at` itself
    /// when allowed now, `None` when no window change within the search horizon allows
    /// one (an always-open deny window, a schedule that never fires).
    pub fn next_allowed(&self, at: Timestamp) -> Option<Timestamp> {
        if self.allows(at) {
            return Some(at);
        }
        let mut t = at;
        for _ in 0..MAX_STEPS {
            let next = self
                .windows
                .iter()
                .filter_map(|w| w.next_change(t))
                .filter(|n| *n > t)
                .min()?;
            if self.allows(next) {
                return Some(next);
            }
            t = next;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::external::external_secret::SyncWindow;

    fn ts(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn spec(kind: &str, list: &[(&str, &str)]) -> SyncWindowsSpec {
        SyncWindowsSpec {
            kind: kind.into(),
            windows: list
                .iter()
                .map(|(s, d)| SyncWindow {
                    schedule: (*s).into(),
                    duration: (*d).into(),
                })
                .collect(),
        }
    }

    fn windows(kind: &str, list: &[(&str, &str)]) -> SyncWindows {
        let parsed = parse(Some(&spec(kind, list)));
        assert_eq!(parsed.problems, Vec::<String>::new());
        parsed.windows.unwrap()
    }

    #[test]
    fn window_boundaries_are_inclusive_as_in_eso() {
        // Daily at 22:00 UTC for two hours (the case ESO's own tests use).
        let w = windows("allow", &[("0 22 * * *", "2h")]);
        let open = ts("2026-06-01T22:00:00Z");
        assert!(w.allows(open), "at the opening");
        assert!(w.allows(ts("2026-06-01T22:30:00Z")), "inside");
        assert!(w.allows(ts("2026-06-02T00:00:00Z")), "at the closing");
        assert!(!w.allows(ts("2026-06-02T00:00:01Z")), "one second later");
        assert!(!w.allows(ts("2026-06-01T21:00:00Z")), "an hour before");
        assert!(!w.allows(ts("2026-06-02T03:00:00Z")), "between occurrences");
        assert!(w.allows(ts("2026-06-02T22:30:00Z")), "next day's window");
    }

    #[test]
    fn deny_is_the_complement_and_any_window_counts() {
        let w = windows("deny", &[("0 22 * * *", "2h"), ("30 6 * * 1-5", "30m")]);
        assert!(!w.allows(ts("2026-06-01T23:00:00Z")), "first window open");
        // 2026-06-02 is a Tuesday: the weekday window is open 06:30-07:00.
        assert!(!w.allows(ts("2026-06-02T06:45:00Z")));
        assert!(w.allows(ts("2026-06-02T07:00:01Z")));
        // Sunday 2026-06-07: no weekday window.
        assert!(w.allows(ts("2026-06-07T06:45:00Z")));
        assert!(w.allows(ts("2026-06-01T20:00:00Z")), "no window open");
    }

    #[test]
    fn descriptors_and_day_rules_follow_robfig() {
        let daily = windows("allow", &[("@midnight", "1h")]);
        assert!(daily.allows(ts("2026-06-03T00:59:59Z")));
        assert!(!daily.allows(ts("2026-06-03T01:00:01Z")));
        let weekly = windows("allow", &[("@weekly", "24h")]);
        assert!(weekly.allows(ts("2026-06-07T12:00:00Z")), "Sunday");
        assert!(!weekly.allows(ts("2026-06-08T12:00:00Z")), "Monday");
        // Vixie: both day fields restricted = either matches (1st of month OR Monday).
        let either = windows("allow", &[("0 12 1 * MON", "1h")]);
        assert!(
            either.allows(ts("2026-07-01T12:30:00Z")),
            "the 1st, a Wednesday"
        );
        assert!(either.allows(ts("2026-06-08T12:30:00Z")), "a Monday");
        assert!(!either.allows(ts("2026-06-09T12:30:00Z")), "neither");
        // One restricted, the other `*`: only the restricted one counts.
        let mondays = windows("allow", &[("0 12 * * MON", "1h")]);
        assert!(!mondays.allows(ts("2026-07-01T12:30:00Z")));
        // Names are fine (WED has a W, JUL an L: not Quartz syntax).
        let named = windows("allow", &[("0 12 * JUL WED", "1h")]);
        assert!(named.allows(ts("2026-07-01T12:30:00Z")));
        assert!(
            !named.allows(ts("2026-06-03T12:30:00Z")),
            "a June Wednesday"
        );
    }

    #[test]
    fn every_windows_have_no_phase_like_esos() {
        // robfig's @every is a constant delay from "now": its window is open when the
        // delay fits in the duration (plus ESO's one-second look-back), always or never.
        let always = windows("allow", &[("@every 1h", "2h")]);
        let never = windows("allow", &[("@every 24h", "1h")]);
        for t in ["2026-06-01T00:00:00Z", "2026-06-01T13:17:42.5Z"] {
            assert!(always.allows(ts(t)), "{t}");
            assert!(!never.allows(ts(t)), "{t}");
        }
        assert_eq!(never.next_allowed(ts("2026-06-01T00:00:00Z")), None);
    }

    #[test]
    fn next_allowed_is_the_next_opening_for_allow_and_the_closing_for_deny() {
        let allow = windows("allow", &[("0 22 * * *", "2h")]);
        let now = ts("2026-06-01T20:15:00Z");
        assert_eq!(allow.next_allowed(now), Some(ts("2026-06-01T22:00:00Z")));
        let inside = ts("2026-06-01T23:00:00Z");
        assert_eq!(allow.next_allowed(inside), Some(inside), "allowed now");

        let deny = windows("deny", &[("0 22 * * *", "2h")]);
        assert_eq!(
            deny.next_allowed(inside),
            Some(ts("2026-06-02T00:00:01Z")),
            "just after the window closes"
        );
        // Two overlapping deny windows: allowed only once both closed.
        let deny2 = windows("deny", &[("0 22 * * *", "2h"), ("30 23 * * *", "1h")]);
        assert_eq!(deny2.next_allowed(inside), Some(ts("2026-06-02T00:30:01Z")));
        // An always-open deny window never allows.
        let stuck = windows("deny", &[("@every 1m", "1h")]);
        assert_eq!(stuck.next_allowed(inside), None);
    }

    #[test]
    fn malformed_windows_are_never_open_and_reported_with_the_field() {
        let problem = |kind: &str, s: &str, d: &str| {
            let parsed = parse(Some(&spec(kind, &[(s, d)])));
            assert_eq!(parsed.problems.len(), 1, "{s} {d}");
            parsed.problems[0].clone()
        };
        let e = problem("allow", "not-a-cron", "1h");
        assert!(e.contains("spec.syncWindows.windows[0].schedule"), "{e}");
        assert!(problem("allow", "0 0 22 * * *", "1h").contains("5 fields"));
        assert!(problem("allow", "@sometimes", "1h").contains("unknown descriptor"));
        assert!(problem("allow", "0 22 L * *", "1h").contains("standard cron"));
        assert!(problem("allow", "0 22 * * *", "soon").contains("windows[0].duration"));
        assert!(problem("allow", "0 22 * * *", "-1h").contains("negative"));
        assert!(problem("allow", "CRON_TZ=Mars/Olympus 0 22 * * *", "1h").contains("time zone"));
        assert!(problem("sometimes", "0 22 * * *", "1h").contains("spec.syncWindows.kind"));

        // ESO: a malformed window is never open; an allow list of only malformed windows
        // blocks, a deny list permits; the well-formed windows beside it still count.
        let at = ts("2026-06-01T23:00:00Z");
        let only_bad = |kind: &str| parse(Some(&spec(kind, &[("not-a-cron", "2h")])));
        assert!(!only_bad("allow").windows.unwrap().allows(at));
        assert!(only_bad("deny").windows.unwrap().allows(at));
        let mixed = parse(Some(&spec(
            "allow",
            &[("not-a-cron", "2h"), ("0 22 * * *", "2h")],
        )));
        assert_eq!(mixed.problems.len(), 1);
        assert!(mixed.windows.unwrap().allows(at));
        // An unknown kind permits everything (ESO), and says so.
        let unknown = parse(Some(&spec("sometimes", &[("0 22 * * *", "2h")])));
        assert_eq!(unknown.windows, None);
        // robfig clamps @every to at least one second (negative delays too).
        let fast = parse(Some(&spec("allow", &[("@every -1s", "2s")])));
        assert!(fast.problems.is_empty());
        assert!(fast.windows.unwrap().allows(at));
        // No windows (or none at all): always allowed, nothing to report.
        assert_eq!(parse(None), Parsed::default());
        assert_eq!(parse(Some(&spec("allow", &[]))), Parsed::default());
    }

    #[test]
    fn a_time_zone_prefix_moves_the_schedule_as_robfig_does() {
        // 22:00 in Berlin in June (CEST, UTC+2) is 20:00 UTC.
        for prefix in ["CRON_TZ=Europe/Berlin", "TZ=Europe/Berlin"] {
            let w = windows("allow", &[(&format!("{prefix} 0 22 * * *"), "1h")]);
            assert!(w.allows(ts("2026-06-01T20:30:00Z")), "{prefix}");
            assert!(!w.allows(ts("2026-06-01T22:30:00Z")), "{prefix}");
        }
        // In January (CET, UTC+1) the same window is at 21:00 UTC.
        let w = windows("allow", &[("CRON_TZ=Europe/Berlin 0 22 * * *", "1h")]);
        assert!(w.allows(ts("2026-01-05T21:30:00Z")));
        assert!(!w.allows(ts("2026-01-05T20:30:00Z")));
    }
}
