//! Fault injection: error responses on chosen verbs/paths (n times or at a rate), added
//! latency, dropped watch connections, a forced 410 on the next watch, and watch lag (events
//! of one resource delivered late, as from a real server's watch cache under load) — the
//! failures a controller must survive without losing or blanking a Secret.

use rand::Rng;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// One injected-failure rule.
#[derive(Debug, Clone)]
pub struct FaultRule {
    /// Verb to match (`get`, `list`, `watch`, `create`, `update`, `patch`, `apply`, `delete`);
    /// `None` matches every verb. `write` matches every mutating verb.
    pub verb: Option<String>,
    /// Substring of the request path to match; `None` matches every path.
    pub path_contains: Option<String>,
    /// HTTP status to answer (500, 503, 429, ...).
    pub status: u16,
    /// Fire this many times, then retire; `None` = no count limit.
    pub remaining: Option<u32>,
    /// Probability in [0, 1] per matching request; `None` = always.
    pub rate: Option<f64>,
}

impl FaultRule {
    /// A rule that answers `status` to the next `n` matching requests.
    pub fn next(verb: Option<&str>, path_contains: Option<&str>, status: u16, n: u32) -> Self {
        FaultRule {
            verb: verb.map(str::to_owned),
            path_contains: path_contains.map(str::to_owned),
            status,
            remaining: Some(n),
            rate: None,
        }
    }

    /// A rule that answers `status` to a fraction `rate` of matching requests.
    pub fn rate(verb: Option<&str>, path_contains: Option<&str>, status: u16, rate: f64) -> Self {
        FaultRule {
            verb: verb.map(str::to_owned),
            path_contains: path_contains.map(str::to_owned),
            status,
            remaining: None,
            rate: Some(rate.clamp(0.0, 1.0)),
        }
    }

    fn matches(&self, verb: &str, path: &str) -> bool {
        let verb_ok = match self.verb.as_deref() {
            None => true,
            Some("write") => matches!(verb, "create" | "update" | "patch" | "apply" | "delete"),
            Some(v) => v == verb,
        };
        verb_ok
            && self
                .path_contains
                .as_deref()
                .is_none_or(|p| path.contains(p))
    }
}

/// The fault state shared by the HTTP layer and the test handle.
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    latency: Mutex<Duration>,
    gone_next: AtomicU32,
    drop_tx: tokio::sync::watch::Sender<u64>,
    watch_lag: Mutex<Vec<(String, Duration)>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rules: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            gone_next: AtomicU32::new(0),
            drop_tx: tokio::sync::watch::channel(0).0,
            watch_lag: Mutex::new(Vec::new()),
        }
    }
}

impl Faults {
    /// Adds a rule.
    pub fn add(&self, rule: FaultRule) {
        self.rules.lock().expect("faults lock").push(rule);
    }

    /// Removes every rule, the latency and pending forced-410s.
    pub fn clear(&self) {
        self.rules.lock().expect("faults lock").clear();
        *self.latency.lock().expect("faults lock") = Duration::ZERO;
        self.gone_next.store(0, Ordering::SeqCst);
        self.watch_lag.lock().expect("faults lock").clear();
    }

    /// Delivers every live watch event of the resource `plural` (e.g. `externalsecrets`)
    /// `lag` late, in order; `Duration::ZERO` removes the lag. A real API server's watch
    /// cache lags behind writes under load: a controller reading its informer cache right
    /// after its own write sees the object as it was before that write.
    pub fn set_watch_lag(&self, plural: &str, lag: Duration) {
        let mut lags = self.watch_lag.lock().expect("faults lock");
        lags.retain(|(p, _)| p != plural);
        if !lag.is_zero() {
            lags.push((plural.to_owned(), lag));
        }
    }

    /// The watch lag of the resource `plural`.
    pub fn watch_lag(&self, plural: &str) -> Duration {
        self.watch_lag
            .lock()
            .expect("faults lock")
            .iter()
            .find(|(p, _)| p == plural)
            .map_or(Duration::ZERO, |(_, d)| *d)
    }

    /// Adds latency before every response.
    pub fn set_latency(&self, d: Duration) {
        *self.latency.lock().expect("faults lock") = d;
    }

    /// Current latency.
    pub fn latency(&self) -> Duration {
        *self.latency.lock().expect("faults lock")
    }

    /// Closes every open watch stream now (clients see EOF and re-watch).
    pub fn drop_watches(&self) {
        self.drop_tx.send_modify(|g| *g += 1);
    }

    /// A receiver that changes when watches must be dropped.
    pub fn drop_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.drop_tx.subscribe()
    }

    /// The next `n` watch requests that resume from a resourceVersion get an in-band 410.
    pub fn gone_on_next_watches(&self, n: u32) {
        self.gone_next.fetch_add(n, Ordering::SeqCst);
    }

    /// Consumes one forced 410, if any is pending.
    pub fn take_gone(&self) -> bool {
        self.gone_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// The status to inject for this request, if any rule fires.
    pub fn check(&self, verb: &str, path: &str) -> Option<u16> {
        let mut rules = self.rules.lock().expect("faults lock");
        let mut fired = None;
        for r in rules.iter_mut() {
            if !r.matches(verb, path) {
                continue;
            }
            if let Some(rate) = r.rate
                && !rand::thread_rng().gen_bool(rate)
            {
                continue;
            }
            if let Some(n) = r.remaining.as_mut() {
                if *n == 0 {
                    continue;
                }
                *n -= 1;
            }
            fired = Some(r.status);
            break;
        }
        rules.retain(|r| r.remaining != Some(0));
        fired
    }
}
