//! Read-your-own-writes for reconcilers that read their source objects from a watch cache.
//!
//! A reconcile reads its object (SealedSecret, ExternalSecret, ...) from the controller's
//! reflector, writes the target Secret and then the object's status. The Secret write comes
//! back on the Secret watch at once and queues the object again; that next reconcile starts
//! as soon as the first one returns and reads the object from the cache — which may not
//! have received the status write yet. It then sees a never-synced object, syncs again and
//! writes a second status (Bitnami #388/#525 are status loops of this family). Waiting a
//! fixed time in tests only hid it.
//!
//! [`OwnWrites`] remembers, per object uid, the resourceVersions our own writes replaced. A
//! cached object still at one of them is *behind our own write*: the reconciler does nothing
//! and looks again shortly (the watch event of our write queues the object anyway). Any
//! other version — the one we wrote, or a newer one from someone else, or a relist — means
//! the cache caught up, and the record is dropped. Versions are only compared for equality,
//! never ordered (they are opaque). Records expire, so an object whose watch event never
//! arrives (deleted meanwhile) is not held back forever.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a record is trusted: a watch cache lagging longer than this is not waited for.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// When a reconcile that found its object behind our own write looks again. The watch
/// event of that write normally queues the object much sooner; this is the safety net.
pub const RECHECK_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Record {
    /// Versions of the object our writes replaced (the one we read, and our own
    /// intermediate ones when one reconcile writes twice, e.g. finalizer then status).
    superseded: Vec<String>,
    /// The version our last write produced.
    latest: String,
    /// When the last write was recorded.
    at: Instant,
}

/// Versions of source objects replaced by this controller's own writes, by object uid.
#[derive(Debug)]
pub struct OwnWrites {
    records: Mutex<HashMap<String, Record>>,
    ttl: Duration,
}

impl Default for OwnWrites {
    fn default() -> Self {
        OwnWrites::new(DEFAULT_TTL)
    }
}

impl OwnWrites {
    /// Records are trusted for `ttl`.
    pub fn new(ttl: Duration) -> OwnWrites {
        OwnWrites {
            records: Mutex::default(),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// We wrote the object `uid`: the version we read was `before`, the server answered
    /// with `after`.
    pub fn wrote(&self, uid: &str, before: Option<&str>, after: Option<&str>) {
        let (Some(after), false) = (after, uid.is_empty()) else {
            return;
        };
        let now = Instant::now();
        let mut records = self.lock();
        // Drop expired records now and then, so deleted objects do not accumulate.
        if records.len() > 64 {
            records.retain(|_, r| now.duration_since(r.at) < self.ttl);
        }
        let record = records.entry(uid.to_owned()).or_insert_with(|| Record {
            superseded: Vec::new(),
            latest: after.to_owned(),
            at: now,
        });
        let mut replaced = vec![record.latest.clone()];
        replaced.extend(before.map(str::to_owned));
        for version in replaced {
            if version != after && !record.superseded.contains(&version) {
                record.superseded.push(version);
            }
        }
        record.latest = after.to_owned();
        record.at = now;
    }

    /// Whether a cached copy of `uid` at `version` predates one of our own writes. A
    /// `false` answer also forgets the record (the cache caught up).
    pub fn is_behind(&self, uid: &str, version: Option<&str>) -> bool {
        let mut records = self.lock();
        let Some(record) = records.get(uid) else {
            return false;
        };
        let behind = record.at.elapsed() < self.ttl
            && version.is_some_and(|v| record.superseded.iter().any(|s| s == v));
        if !behind {
            records.remove(uid);
        }
        behind
    }

    /// Forget `uid` (the object is gone).
    pub fn forget(&self, uid: &str) {
        self.lock().remove(uid);
    }

    /// Objects with a record (tests, diagnostics).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no record is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cache_still_at_the_version_we_replaced_is_behind_until_it_catches_up() {
        let own = OwnWrites::default();
        own.wrote("u1", Some("10"), Some("11"));
        assert!(own.is_behind("u1", Some("10")), "stale copy");
        assert!(own.is_behind("u1", Some("10")), "still stale");
        assert!(!own.is_behind("u1", Some("11")), "our write arrived");
        assert!(own.is_empty(), "caught up: record dropped");
        assert!(!own.is_behind("u1", Some("10")), "no record, no opinion");
    }

    #[test]
    fn two_writes_in_one_reconcile_supersede_the_intermediate_version_too() {
        // Finalizer patch 10 -> 11, then a status write from the same (cached, rv 10) copy
        // lands at 12: a cache at 11 has the finalizer but not the status.
        let own = OwnWrites::default();
        own.wrote("u1", Some("10"), Some("11"));
        own.wrote("u1", Some("10"), Some("12"));
        assert!(own.is_behind("u1", Some("10")));
        assert!(own.is_behind("u1", Some("11")));
        assert!(!own.is_behind("u1", Some("12")));
    }

    #[test]
    fn a_version_written_by_someone_else_counts_as_caught_up() {
        let own = OwnWrites::default();
        own.wrote("u1", Some("10"), Some("11"));
        assert!(
            !own.is_behind("u1", Some("57")),
            "newer or relisted: take it"
        );
        assert!(own.is_empty());
    }

    #[test]
    fn objects_are_independent_and_records_expire() {
        let own = OwnWrites::new(Duration::from_millis(30));
        own.wrote("a", Some("1"), Some("2"));
        own.wrote("b", Some("5"), Some("6"));
        assert!(!own.is_behind("a", Some("5")), "b's versions are not a's");
        assert!(own.is_behind("b", Some("5")));
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            !own.is_behind("b", Some("5")),
            "expired: the cache is not waited for"
        );
    }

    #[test]
    fn writes_without_an_answer_version_or_uid_are_not_recorded() {
        let own = OwnWrites::default();
        own.wrote("u1", Some("1"), None);
        own.wrote("", Some("1"), Some("2"));
        assert!(own.is_empty());
        own.wrote("u1", Some("1"), Some("2"));
        own.forget("u1");
        assert!(!own.is_behind("u1", Some("1")));
    }
}
