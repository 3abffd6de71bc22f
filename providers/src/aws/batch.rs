//! Coalesces concurrent reads of *different* secrets into `BatchGetSecretValue` calls.
//!
//! The request layer already collapses identical reads; what is left when a refresh cycle
//! starts is one read per distinct secret, all at about the same time. The batcher
//! collects them for a short window (or until 20 distinct ids, AWS's page size for id
//! lists) and sends one call. Secrets the batch could not return (per-secret errors, or
//! absent from the answer) are read one by one with `GetSecretValue`, so every caller gets
//! exactly the answer (value or classified error) a single read would have given.
//!
//! If the identity may not call `BatchGetSecretValue` at all (policies written for ESO
//! often grant only `GetSecretValue`), batching switches itself off for the store and
//! reads go one by one.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_secretsmanager::Client;
use futures::future::join_all;
use tokio::sync::oneshot;

use super::{errors, get_secret_value, payload_of_entry};
use crate::error::{ErrorKind, ProviderError, Result};
use crate::metrics::{Metrics, ProviderKind};
use crate::value::SecretValue;

/// AWS accepts at most 20 ids in `SecretIdList`.
pub const MAX_BATCH_IDS: usize = 20;

/// Batching knobs.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    /// Off = every read is its own `GetSecretValue`.
    pub enabled: bool,
    /// How long the first read of a batch waits for company.
    pub window: Duration,
    /// Flush as soon as this many distinct ids are waiting (capped at 20).
    pub max_ids: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_millis(15),
            max_ids: MAX_BATCH_IDS,
        }
    }
}

struct Waiter {
    id: String,
    reply: oneshot::Sender<Result<SecretValue>>,
}

#[derive(Default)]
struct Pending {
    waiters: Vec<Waiter>,
    distinct: HashSet<String>,
    generation: u64,
}

impl Pending {
    fn take(&mut self) -> Vec<Waiter> {
        self.generation += 1;
        self.distinct.clear();
        std::mem::take(&mut self.waiters)
    }
}

pub(crate) struct Batcher {
    client: Client,
    metrics: Metrics,
    window: Duration,
    max_ids: usize,
    disabled: AtomicBool,
    pending: Mutex<Pending>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("window", &self.window)
            .field("max_ids", &self.max_ids)
            .field("disabled", &self.disabled.load(Ordering::Relaxed))
            .finish()
    }
}

impl Batcher {
    pub(crate) fn new(client: Client, metrics: Metrics, config: &BatchConfig) -> Arc<Self> {
        Arc::new(Self {
            client,
            metrics,
            window: config.window,
            max_ids: config.max_ids.clamp(1, MAX_BATCH_IDS),
            disabled: AtomicBool::new(!config.enabled),
            pending: Mutex::new(Pending::default()),
        })
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The AWSCURRENT value of secret `id` (a full name or ARN).
    pub(crate) async fn get(self: &Arc<Self>, id: String) -> Result<SecretValue> {
        if self.disabled.load(Ordering::Relaxed) {
            return get_secret_value(&self.client, &self.metrics, &id, None).await;
        }
        let (reply, answer) = oneshot::channel();
        let full_batch = {
            let mut pending = self.pending();
            pending.distinct.insert(id.clone());
            pending.waiters.push(Waiter { id, reply });
            if pending.distinct.len() >= self.max_ids {
                Some(pending.take())
            } else {
                if pending.waiters.len() == 1 {
                    let generation = pending.generation;
                    let this = self.clone();
                    tokio::spawn(async move { this.flush_after_window(generation).await });
                }
                None
            }
        };
        if let Some(batch) = full_batch {
            let this = self.clone();
            tokio::spawn(async move { this.run(batch).await });
        }
        answer
            .await
            .unwrap_or_else(|_| Err(ProviderError::backend("the batch worker stopped")))
    }

    async fn flush_after_window(self: Arc<Self>, generation: u64) {
        tokio::time::sleep(self.window).await;
        let batch = {
            let mut pending = self.pending();
            (pending.generation == generation && !pending.waiters.is_empty())
                .then(|| pending.take())
        };
        if let Some(batch) = batch {
            self.run(batch).await;
        }
    }

    async fn run(&self, waiters: Vec<Waiter>) {
        let mut ids: Vec<String> = Vec::new();
        for waiter in &waiters {
            if !ids.contains(&waiter.id) {
                ids.push(waiter.id.clone());
            }
        }
        let results = self.read(&ids).await;
        for waiter in waiters {
            let result = results
                .get(&waiter.id)
                .cloned()
                .unwrap_or_else(|| Err(ProviderError::backend("batch lost a request")));
            // A caller that went away no longer needs its answer.
            let _ = waiter.reply.send(result);
        }
    }

    /// One answer per id: from one batch call where possible, single reads otherwise.
    async fn read(&self, ids: &[String]) -> HashMap<String, Result<SecretValue>> {
        if ids.len() == 1 {
            let id = &ids[0];
            let single = get_secret_value(&self.client, &self.metrics, id, None).await;
            return HashMap::from([(id.clone(), single)]);
        }
        let mut results = HashMap::new();
        let retry_singly: Vec<String> = match self.batch_call(ids).await {
            Ok(mut found) => ids
                .iter()
                .filter(|id| match found.remove(*id) {
                    Some(value) => {
                        results.insert((*id).clone(), Ok(value));
                        false
                    }
                    None => true,
                })
                .cloned()
                .collect(),
            Err(e) if e.kind() == ErrorKind::Forbidden => {
                tracing::warn!(
                    error = %e,
                    "BatchGetSecretValue is not allowed for this identity; reading secrets one by one from now on"
                );
                self.disabled.store(true, Ordering::Relaxed);
                ids.to_vec()
            }
            Err(e) => {
                return ids.iter().map(|id| (id.clone(), Err(e.clone()))).collect();
            }
        };
        let singles = join_all(
            retry_singly
                .iter()
                .map(|id| get_secret_value(&self.client, &self.metrics, id, None)),
        )
        .await;
        results.extend(retry_singly.into_iter().zip(singles));
        results
    }

    /// `BatchGetSecretValue(SecretIdList=ids)`: the values it returned, by requested id.
    async fn batch_call(&self, ids: &[String]) -> Result<HashMap<String, SecretValue>> {
        let mut found = HashMap::new();
        let mut next_token: Option<String> = None;
        loop {
            let response = self
                .client
                .batch_get_secret_value()
                .set_secret_id_list(Some(ids.to_vec()))
                .set_next_token(next_token.take())
                .send()
                .await;
            self.metrics
                .call(ProviderKind::Aws, "BatchGetSecretValue", &response);
            let output = response.map_err(|e| errors::classify("BatchGetSecretValue", e))?;
            for entry in output.secret_values() {
                let Some(value) = payload_of_entry(entry) else {
                    continue;
                };
                for id in ids {
                    if entry.name() == Some(id.as_str()) || entry.arn() == Some(id.as_str()) {
                        found.insert(id.clone(), value.clone());
                    }
                }
            }
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => break,
            }
        }
        Ok(found)
    }
}
