//! The watches of the External Secrets controllers: reflectors this module owns (with a
//! readiness signal any number of tasks can wait on) and the managed-Secret watch that
//! maps a Secret back to the ExternalSecrets targeting it by name.
//!
//! Why own the reflectors: kube's `Store::wait_until_ready` is a one-shot channel that
//! keeps only the most recent waiter's wake-up. The `Controller` waits on its own store
//! before it starts reconciling, so a second task waiting on the same store (the
//! ExternalSecret controller waiting for the store caches) could lose its wake-up and hang
//! for good — the start-up hang that was once papered over with a 3 s timeout. A
//! [`Readiness`] is a `tokio::sync::watch` flag set when the reflector's first list is
//! complete (`InitDone`), which wakes every waiter.
//!
//! Why map Secrets by name: ESO watches managed Secrets metadata-only and maps each to
//! the ExternalSecrets whose target has its name (`findObjectsForSecret`), because only
//! `Owner` targets carry an owner reference. With it, a deleted `CreateOrMerge` target is
//! recreated at once and a hand-edited `Merge` target repaired at once, as in ESO; whether
//! a reconcile then writes is the planner's decision (`Orphan` targets are always "valid",
//! so they are only rewritten at the next refresh).

use std::fmt::Debug;

use futures::{Stream, StreamExt as _};
use kube::Resource;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::api::external::{ExternalSecret, LABEL_MANAGED};

/// Set once a reflector has listed everything; any number of tasks can wait on it.
#[derive(Clone, Debug)]
pub struct Readiness(watch::Receiver<bool>);

impl Readiness {
    /// Whether the first list is complete.
    pub fn is_ready(&self) -> bool {
        *self.0.borrow()
    }

    /// Wait until the first list is complete. Returns at once when it already is; never
    /// returns when the reflector is dropped before (its stream was never driven).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|ready| *ready).await.is_err() {
            futures::future::pending::<()>().await;
        }
    }
}

/// A reflector of `api`: the store, its readiness, and the stream of applied objects that
/// must be driven (by a `Controller::for_stream`) for either to fill.
pub fn reflect<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Store<K>,
    Readiness,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + Debug + DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let (tx, rx) = watch::channel(false);
    let stream = reflector::reflector(writer, watcher(api, config))
        .inspect(move |event| {
            if let Ok(watcher::Event::InitDone) = event {
                tx.send_replace(true);
            }
        })
        .applied_objects();
    (reader, Readiness(rx), stream)
}

/// Managed Secrets (label `reconcile.external-secrets.io/managed=true`), metadata only
/// (`api` is an `Api<PartialObjectMeta<Secret>>`), created, changed or deleted.
pub fn managed_secrets<K>(
    api: Api<PartialObjectMeta<K>>,
) -> impl Stream<Item = Result<PartialObjectMeta<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + Debug + Send + Sync + 'static,
{
    watcher(
        api,
        watcher::Config::default().labels(&format!("{LABEL_MANAGED}=true")),
    )
    .touched_objects()
}

/// The ExternalSecrets of the Secret's namespace whose target is named like the Secret
/// (ESO's `findObjectsForSecret`).
pub fn targeting<K: Resource>(
    external_secrets: &Store<ExternalSecret>,
    secret: &PartialObjectMeta<K>,
) -> Vec<ObjectRef<ExternalSecret>> {
    let (Some(name), Some(namespace)) = (
        secret.metadata.name.as_deref(),
        secret.metadata.namespace.as_deref(),
    ) else {
        return Vec::new();
    };
    external_secrets
        .state_filter(|es| {
            es.metadata.namespace.as_deref() == Some(namespace)
                && es
                    .spec
                    .target_name(es.metadata.name.as_deref().unwrap_or_default())
                    == name
        })
        .iter()
        .map(|es| ObjectRef::from_obj(es.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::external::external_secret::{ExternalSecretSpec, Target};
    use k8s_openapi::api::core::v1::Secret;
    use kube::runtime::watcher::Event;

    fn es(ns: &str, name: &str, target: Option<&str>) -> ExternalSecret {
        let mut es = ExternalSecret::new(
            name,
            ExternalSecretSpec {
                target: target.map(|t| Target {
                    name: Some(t.into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        );
        es.metadata.namespace = Some(ns.into());
        es
    }

    fn secret(ns: &str, name: &str) -> PartialObjectMeta<Secret> {
        let mut meta = PartialObjectMeta::<Secret>::default();
        meta.metadata.name = Some(name.into());
        meta.metadata.namespace = Some(ns.into());
        meta
    }

    #[test]
    fn secrets_map_to_every_external_secret_targeting_their_name_in_their_namespace() {
        let (reader, mut writer) = reflector::store::<ExternalSecret>();
        writer.apply_watcher_event(&Event::Init);
        for e in [
            es("app", "db", None),                  // target: its own name
            es("app", "merge-a", Some("shared")),   // two ExternalSecrets merging into one
            es("app", "merge-b", Some("shared")),   // Secret
            es("other", "merge-c", Some("shared")), // same name, other namespace
            es("app", "renamed", Some("new-name")),
        ] {
            writer.apply_watcher_event(&Event::InitApply(e));
        }
        writer.apply_watcher_event(&Event::InitDone);
        let names = |ns: &str, secret_name: &str| {
            let mut out: Vec<String> = targeting(&reader, &secret(ns, secret_name))
                .into_iter()
                .map(|r| r.name)
                .collect();
            out.sort();
            out
        };
        assert_eq!(names("app", "db"), ["db"]);
        assert_eq!(names("app", "shared"), ["merge-a", "merge-b"]);
        assert_eq!(names("other", "shared"), ["merge-c"]);
        assert!(names("app", "renamed").is_empty(), "matched by target name");
        assert!(names("app", "unrelated").is_empty());
    }

    #[tokio::test]
    async fn readiness_wakes_every_waiter() {
        // The property kube's own Store::wait_until_ready lacks: many concurrent waiters,
        // all woken by one InitDone.
        let (tx, rx) = watch::channel(false);
        let ready = Readiness(rx);
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let r = ready.clone();
                tokio::spawn(async move { r.wait().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert!(!ready.is_ready());
        tx.send_replace(true);
        for w in waiters {
            tokio::time::timeout(std::time::Duration::from_secs(5), w)
                .await
                .expect("woken")
                .unwrap();
        }
        // A late waiter returns at once.
        tokio::time::timeout(std::time::Duration::from_secs(1), ready.wait())
            .await
            .expect("already ready");
    }

    #[tokio::test]
    async fn kube_store_readiness_wakes_only_its_last_waiter() {
        // The root cause of the start-up hang, kept as a test: two tasks wait on one
        // kube Store (as the store Controller and the ExternalSecret start-up did); the
        // one that started waiting first is never woken. Should kube fix this, this test
        // fails and `Readiness` could go back to `Store::wait_until_ready`.
        let (reader, mut writer) = reflector::store::<ExternalSecret>();
        let first = {
            let r = reader.clone();
            tokio::spawn(async move { r.wait_until_ready().await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let last = {
            let r = reader.clone();
            tokio::spawn(async move { r.wait_until_ready().await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitDone);
        let wait = std::time::Duration::from_secs(2);
        assert!(tokio::time::timeout(wait, last).await.is_ok(), "last woken");
        assert!(
            tokio::time::timeout(wait, first).await.is_err(),
            "the first waiter's wake-up was lost"
        );
        // ... although the store is ready for anyone who asks now.
        tokio::time::timeout(wait, reader.wait_until_ready())
            .await
            .expect("a new waiter sees it ready")
            .unwrap();
    }
}
