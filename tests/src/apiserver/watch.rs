//! The watch engine (kube-api.md §4): newline-delimited JSON events over a chunked 200
//! response, replay from a resourceVersion out of the history ring, selector transitions
//! (ADDED/DELETED when an object starts/stops matching), bookmarks with apiVersion/kind,
//! streaming lists, `timeoutSeconds`, and a too-old resourceVersion reported in-band as an
//! `ERROR` event with a 410 Status (never an HTTP 410, which kube would retry forever).

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

use super::Shared;
use super::errors::ApiError;
use super::resources::ResourceType;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{EventType, Store, WatchEntry, WatchStart};
use super::view;

/// Parameters of one watch request.
pub struct WatchParams {
    /// Namespace filter.
    pub namespace: Option<String>,
    /// Start RV (`None` = unset or "").
    pub resource_version: Option<u64>,
    /// `timeoutSeconds`.
    pub timeout: Option<u64>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
    /// `allowWatchBookmarks`.
    pub bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: bool,
    /// Metadata-only (`as=PartialObjectMetadata`).
    pub meta_only: bool,
}

struct Filter {
    rt: Arc<ResourceType>,
    p: WatchParams,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        Store::matches(&self.rt, obj, &self.p.labels, &self.p.fields)
    }

    fn line(&self, etype: &str, obj: &Value) -> Bytes {
        let ev =
            json!({"type": etype, "object": view::present(&self.rt, obj, self.p.meta_only, true)});
        let mut s = serde_json::to_vec(&ev).expect("JSON values serialise");
        s.push(b'\n');
        Bytes::from(s)
    }

    /// The line (if any) a history entry produces for this watcher (§4.2 transitions).
    fn entry_line(&self, e: &WatchEntry) -> Option<Bytes> {
        if e.storage != self.rt.storage {
            return None;
        }
        if let Some(ns) = &self.p.namespace
            && self.rt.namespaced
            && &e.namespace != ns
        {
            return None;
        }
        match e.etype {
            EventType::Added => self
                .matches(&e.object)
                .then(|| self.line("ADDED", &e.object)),
            EventType::Deleted => self
                .matches(&e.object)
                .then(|| self.line("DELETED", &e.object)),
            EventType::Modified => {
                let now = self.matches(&e.object);
                let before = e.prev.as_deref().is_some_and(|p| self.matches(p));
                match (before, now) {
                    (true, true) => Some(self.line("MODIFIED", &e.object)),
                    (false, true) => Some(self.line("ADDED", &e.object)),
                    (true, false) => {
                        let mut last = (**e.prev.as_ref().expect("before implies prev")).clone();
                        last["metadata"]["resourceVersion"] = json!(e.rev.to_string());
                        Some(self.line("DELETED", &last))
                    }
                    (false, false) => None,
                }
            }
        }
    }

    fn bookmark(&self, rev: u64, initial_end: bool) -> Bytes {
        let (api_version, kind) = if self.p.meta_only {
            (
                "meta.k8s.io/v1".to_owned(),
                "PartialObjectMetadata".to_owned(),
            )
        } else {
            (self.rt.api_version(), self.rt.kind.clone())
        };
        let mut metadata = json!({"resourceVersion": rev.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let ev = json!({"type": "BOOKMARK", "object": {"apiVersion": api_version, "kind": kind, "metadata": metadata}});
        let mut s = serde_json::to_vec(&ev).expect("JSON values serialise");
        s.push(b'\n');
        Bytes::from(s)
    }
}

fn error_line(requested: u64, oldest: u64) -> Bytes {
    let status =
        ApiError::expired(format!("too old resource version: {requested} ({oldest})")).to_status();
    let mut s = serde_json::to_vec(&json!({"type": "ERROR", "object": status}))
        .expect("JSON values serialise");
    s.push(b'\n');
    Bytes::from(s)
}

/// Serves a watch request; parameter errors are ordinary HTTP errors, everything after is in-band.
pub fn serve(
    shared: Arc<Shared>,
    rt: Arc<ResourceType>,
    p: WatchParams,
) -> Result<Response, ApiError> {
    Store::check_field_selector(&rt, &p.fields)?;
    let forced_gone = p.resource_version.is_some_and(|n| n > 0) && shared.faults.take_gone();
    let (start, rx, rev_now) = {
        let store = shared.store.lock().expect("store lock");
        let rv = if p.send_initial_events {
            None
        } else {
            p.resource_version
        };
        let start = store.watch_start(&rt, p.namespace.as_deref(), rv, &p.labels, &p.fields);
        (start, store.subscribe(), store.revision())
    };
    let timeout = Duration::from_secs(
        p.timeout
            .unwrap_or_else(|| rand::thread_rng().gen_range(1800..3600)),
    );
    let bookmark_every = shared.bookmark_interval;
    let drop_rx = shared.faults.drop_signal();
    let (tx, out_rx) = mpsc::channel::<Result<Bytes, Infallible>>(512);
    let filter = Filter { rt, p };
    let send_initial = filter.p.send_initial_events;
    tokio::spawn(async move {
        if forced_gone {
            let _ = tx
                .send(Ok(error_line(
                    filter.p.resource_version.unwrap_or(0),
                    rev_now,
                )))
                .await;
            return;
        }
        let mut last_rev = rev_now;
        match start {
            WatchStart::TooOld { requested, oldest } => {
                let _ = tx.send(Ok(error_line(requested, oldest))).await;
                return;
            }
            WatchStart::Initial(items, rev) => {
                for o in items {
                    if tx.send(Ok(filter.line("ADDED", &o))).await.is_err() {
                        return;
                    }
                }
                if send_initial && tx.send(Ok(filter.bookmark(rev, true))).await.is_err() {
                    return;
                }
                last_rev = rev;
            }
            WatchStart::Replay(entries) => {
                for e in entries {
                    if let Some(l) = filter.entry_line(&e)
                        && tx.send(Ok(l)).await.is_err()
                    {
                        return;
                    }
                }
            }
        }
        live(
            &shared,
            filter,
            rx,
            tx,
            drop_rx,
            timeout,
            bookmark_every,
            last_rev,
        )
        .await;
    });
    let body = Body::from_stream(futures::stream::unfold(out_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(body)
        .expect("valid response"))
}

#[allow(clippy::too_many_arguments)]
async fn live(
    shared: &Shared,
    filter: Filter,
    mut rx: broadcast::Receiver<Arc<WatchEntry>>,
    tx: mpsc::Sender<Result<Bytes, Infallible>>,
    mut drop_rx: tokio::sync::watch::Receiver<u64>,
    timeout: Duration,
    bookmark_every: Duration,
    mut last_rev: u64,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    let bookmark_at = deadline
        .checked_sub(Duration::from_secs(2))
        .unwrap_or(deadline);
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + bookmark_every, bookmark_every);
    let mut final_bookmark_sent = false;
    // Events held back by an injected watch lag, with when they are due.
    let mut held: VecDeque<(tokio::time::Instant, Bytes)> = VecDeque::new();
    drop_rx.borrow_and_update();
    loop {
        tokio::select! {
            r = rx.recv() => match r {
                Ok(e) => {
                    if e.rev <= last_rev {
                        continue;
                    }
                    last_rev = e.rev;
                    if let Some(l) = filter.entry_line(&e) {
                        // Injected watch lag: the event reaches the client `lag` after it
                        // happened, behind any event still held back (order is kept).
                        let lag = shared.faults.watch_lag(&filter.rt.plural);
                        if lag.is_zero() && held.is_empty() {
                            if tx.send(Ok(l)).await.is_err() {
                                return;
                            }
                        } else {
                            held.push_back((tokio::time::Instant::now() + lag, l));
                        }
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // A watcher too slow for the broadcast window is terminated the way the
                    // apiserver terminates slow watchers: the client must relist.
                    let _ = tx.send(Ok(error_line(last_rev, last_rev + 1))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = sleep_until_front(&held), if !held.is_empty() => {
                while let Some((due, _)) = held.front() {
                    if *due > tokio::time::Instant::now() {
                        break;
                    }
                    let (_, l) = held.pop_front().expect("front exists");
                    if tx.send(Ok(l)).await.is_err() {
                        return;
                    }
                }
            }
            // No bookmark may overtake an event still held back.
            _ = tokio::time::sleep_until(bookmark_at), if !final_bookmark_sent && filter.p.bookmarks && held.is_empty() => {
                final_bookmark_sent = true;
                if tx.send(Ok(filter.bookmark(last_rev, false))).await.is_err() {
                    return;
                }
            }
            _ = ticker.tick(), if filter.p.bookmarks && held.is_empty() => {
                if tx.send(Ok(filter.bookmark(last_rev, false))).await.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep_until(deadline) => return,
            _ = drop_rx.changed() => return,
            _ = tx.closed() => return,
        }
    }
}

/// Resolves when the first held-back event is due (never when none is held).
async fn sleep_until_front(held: &VecDeque<(tokio::time::Instant, Bytes)>) {
    match held.front() {
        Some((due, _)) => tokio::time::sleep_until(*due).await,
        None => futures::future::pending().await,
    }
}
