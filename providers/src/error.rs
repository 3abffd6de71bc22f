//! Errors classified by what the reconciler must do about them.
//!
//! The reconciler never matches on message text: `NotFound` drives `deletionPolicy`,
//! `Throttled`/`Unavailable` keep the last good Secret and back off, everything else is a
//! condition the user has to fix. Messages name keys, paths and stores but never contain a
//! secret value (store error bodies are not echoed unless they are known to be
//! value-free, and JSON parse errors on payloads are reduced to their position).

use std::time::Duration;

/// What went wrong, in the terms the reconciler acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The remote secret (or version) does not exist.
    NotFound,
    /// Authentication failed or the identity may not do this.
    Forbidden,
    /// The store rate-limited us.
    Throttled,
    /// The store could not be reached or failed on its side (network, 5xx, timeout).
    Unavailable,
    /// The reference cannot be resolved against the value (bad property path, not JSON, ...).
    InvalidRef,
    /// The store configuration is unusable (bad regexp, missing credentials, ...).
    Config,
    /// Any other error the store reported.
    Backend,
}

/// An error from a secret store.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The remote secret (or the requested version) does not exist.
    #[error("secret {key:?} not found")]
    NotFound { key: String },
    /// Authentication failed, or the identity is not allowed to do this.
    #[error("access denied: {message}")]
    Forbidden { message: String },
    /// The store throttled the request; `retry_after` is set when the store said when.
    #[error("throttled by the store{}: {message}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs_f64())).unwrap_or_default())]
    Throttled {
        retry_after: Option<Duration>,
        message: String,
    },
    /// Network failure, timeout or a 5xx from the store.
    #[error("store unavailable: {message}")]
    Unavailable { message: String },
    /// The reference does not fit the value: property missing, value not JSON, ...
    #[error("cannot resolve {key:?}: {reason}")]
    InvalidRef { key: String, reason: String },
    /// The store configuration is unusable.
    #[error("invalid store configuration: {message}")]
    Config { message: String },
    /// Any other store error.
    #[error("store error: {message}")]
    Backend { message: String },
}

impl ProviderError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::Forbidden { .. } => ErrorKind::Forbidden,
            Self::Throttled { .. } => ErrorKind::Throttled,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::InvalidRef { .. } => ErrorKind::InvalidRef,
            Self::Config { .. } => ErrorKind::Config,
            Self::Backend { .. } => ErrorKind::Backend,
        }
    }

    /// True when retrying later can succeed without anyone changing anything
    /// (throttling, outages): keep the last good value and back off.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Unavailable { .. })
    }

    /// How long the store asked us to wait, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn not_found(key: impl Into<String>) -> Self {
        Self::NotFound { key: key.into() }
    }

    pub(crate) fn invalid_ref(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidRef {
            key: key.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config {
            message: message.into(),
        }
    }

    #[cfg_attr(not(any(feature = "aws", feature = "vault")), allow(dead_code))]
    pub(crate) fn backend(message: impl Into<String>) -> Self {
        Self::Backend {
            message: message.into(),
        }
    }
}

/// An error and its sources on one line (client libraries put the useful part in sources).
#[cfg_attr(not(any(feature = "aws", feature = "vault")), allow(dead_code))]
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// Result alias for provider operations.
pub type Result<T, E = ProviderError> = std::result::Result<T, E>;
