//! Opening SOPS files for the GitOps hooks: identities found once, files opened in parallel.
//!
//! Identities come from the same places as `sealbox decrypt` looks (sops' environment
//! variables and key files, then the local keyring; see [`crate::commands::sops::identity`]),
//! so an Argo CD sidecar only needs `SOPS_AGE_KEY_FILE` pointing at a mounted Secret.
//!
//! A data key belongs to one file, so nothing is shared between files: each file's data key
//! is unwrapped once for all of its documents, and files are spread over the cores.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicUsize, Ordering};

use sealbox_keys::sops::{DataKey, Format, OpenedFile, SopsError, StoreOptions};

use crate::commands::sops::identity::{IdentityEnv, describe, recover};
use crate::keyring_dir::KeyringDir;

/// Opens SOPS files with the identities of the environment. Cheap to share between threads.
#[derive(Clone, Debug)]
pub struct Decryptor {
    env: IdentityEnv,
    store: StoreOptions,
}

impl Decryptor {
    /// Identities from the process environment and the keyring (if any).
    pub fn from_process(keyring: Option<&KeyringDir>) -> Decryptor {
        Decryptor {
            env: IdentityEnv::from_process(keyring),
            // Decrypted JSON is written with two-space indentation (sops' default is a tab):
            // it ends up inside a YAML stream, where tab indentation is fragile.
            store: StoreOptions {
                yaml_indent: 4,
                json_indent: Some(2),
            },
        }
    }

    /// Decrypt `input` (MAC verified) if it is SOPS-encrypted; `Ok(None)` if it carries no
    /// `sops` metadata or an empty `mac`/`version` (a plain file, passed through). Errors
    /// name the reason and the identity sources tried, never a value or a key.
    pub fn open(&self, input: &[u8], format: Format) -> anyhow::Result<Option<OpenedFile>> {
        Ok(self.open_keeping_key(input, format)?.map(|(file, _)| file))
    }

    /// [`Decryptor::open`], also returning the file's data key (to open documents that a
    /// build step copied out of this very file; see `render`'s kustomize mode).
    pub fn open_keeping_key(
        &self,
        input: &[u8],
        format: Format,
    ) -> anyhow::Result<Option<(OpenedFile, DataKey)>> {
        let notes = RefCell::new(Vec::new());
        let plain = Cell::new(false);
        let key = RefCell::new(None);
        let opened = OpenedFile::open_with(input, format, false, self.store.clone(), |meta| {
            if meta.mac.is_empty() || meta.version.is_empty() {
                plain.set(true);
                return Err(SopsError::MetadataNotFound);
            }
            let k = recover(meta, &self.env, &notes)?;
            *key.borrow_mut() = Some(k.clone());
            Ok(k)
        });
        match opened {
            Ok(file) => Ok(key.into_inner().map(|k| (file, k))),
            Err(SopsError::MetadataNotFound) => Ok(None),
            Err(e) if plain.get() => Err(describe(e, &[])),
            Err(e) => Err(describe(e, &notes.borrow())),
        }
    }

    /// Open text that holds values encrypted with `key` (documents a build step copied out
    /// of a file whose MAC was verified), without a MAC check of its own: each value is
    /// still authenticated by AES-GCM with its key path.
    pub fn open_with_key(&self, input: &[u8], key: &DataKey) -> anyhow::Result<OpenedFile> {
        OpenedFile::open_with_data_key(input, Format::Yaml, key, true, self.store.clone())
            .map_err(|e| describe(e, &[]))
    }
}

/// How many worker threads to use for `jobs` independent jobs.
fn workers(jobs: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(jobs)
        .max(1)
}

/// `f` over every item on all cores; results in item order.
pub fn parallel_map<T, R>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let n = workers(items.len());
    if n <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        out.push((i, f(item)));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("render worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_map_keeps_order() {
        let items: Vec<usize> = (0..1000).collect();
        let out = parallel_map(&items, |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn plain_yaml_is_not_encrypted() {
        let d = Decryptor::from_process(None);
        assert!(d.open(b"a: 1\n", Format::Yaml).unwrap().is_none());
    }
}
