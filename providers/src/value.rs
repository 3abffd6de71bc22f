//! Secret values as they travel from a store to the reconciler.
//!
//! Every byte that came from a store is held in a [`secrecy`] box: it is zeroised when
//! dropped and its `Debug` never shows the content, so a value cannot leak through a log
//! line, an error or a panic message by accident.

use std::collections::BTreeMap;
use std::fmt;

use secrecy::{ExposeSecret, SecretSlice};

/// One secret value: raw bytes exactly as the store returned them (no decoding — the
/// reconciler applies ESO's `decodingStrategy`).
#[derive(Clone)]
pub struct SecretValue(SecretSlice<u8>);

impl SecretValue {
    /// Takes ownership of `bytes`; the buffer is zeroised when the value is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretSlice::from(bytes))
    }

    /// A value built from text (UTF-8 bytes).
    pub fn from_text(text: String) -> Self {
        Self::new(text.into_bytes())
    }

    /// The raw bytes. Call sites that expose a value are easy to find with grep.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The bytes as UTF-8 text, or `None` when they are not valid UTF-8 (SecretBinary).
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose()).ok()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.expose().len()
    }

    /// True for a zero-length value.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([REDACTED])")
    }
}

impl From<&str> for SecretValue {
    fn from(text: &str) -> Self {
        Self::new(text.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

/// Several named values: the result of `dataFrom.extract` (property → value) and of
/// `dataFrom.find` (remote secret name → value). Sorted, so output is deterministic.
pub type SecretMap = BTreeMap<String, SecretValue>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let value = SecretValue::from("hunter2-top-secret");
        let shown = format!(
            "{value:?} {:?}",
            SecretMap::from([("k".into(), value.clone())])
        );
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("REDACTED"));
        assert_eq!(value.expose(), b"hunter2-top-secret");
        assert_eq!(value.expose_str(), Some("hunter2-top-secret"));
        assert_eq!(SecretValue::new(vec![0xff, 0]).expose_str(), None);
    }
}
