//! One error type for the whole SOPS format library, mapped onto sops' exit codes.
//!
//! Scripts (helm-secrets, CI jobs) branch on sops' exit codes, so every failure carries the
//! code real sops 3.11 returns for it (`cmd/sops/codes/codes.go`). Messages name *where* the
//! problem is (document index, key path, metadata field) and never contain a plaintext value.

use std::fmt;

/// Where in a file a problem was found: document index (multi-document YAML) and key path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// Zero-based document index (always 0 for single-document formats).
    pub document: usize,
    /// Map keys from the document root; list positions as `[i]`.
    pub path: Vec<String>,
}

impl Location {
    pub(crate) fn new(document: usize, path: &[String]) -> Self {
        Location {
            document,
            path: path.to_vec(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}, key ", self.document)?;
        if self.path.is_empty() {
            f.write_str("<root>")
        } else {
            f.write_str(&self.path.join("."))
        }
    }
}

/// The report for one key group when the data key could not be recovered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupFailure {
    /// Zero-based key group index.
    pub group: usize,
    /// One line per master key that was tried (`recipient: reason`).
    pub keys: Vec<String>,
}

/// Everything that can go wrong reading, decrypting, encrypting or writing a SOPS file.
#[derive(Debug, thiserror::Error)]
pub enum SopsError {
    /// The input has no `sops` metadata (a plaintext file given to decrypt).
    #[error("sops metadata not found")]
    MetadataNotFound,

    /// The metadata block exists but is malformed.
    #[error("invalid sops metadata: {field}: {reason}")]
    InvalidMetadata { field: String, reason: String },

    /// The input document could not be parsed in its format.
    #[error("could not parse {format} input: {reason}")]
    Parse {
        format: &'static str,
        reason: String,
    },

    /// The input exceeds a resource limit (size, nesting, alias expansion, documents).
    #[error("{format} input refused: {source}")]
    Limit {
        format: &'static str,
        source: crate::limits::LimitExceeded,
    },

    /// The document parses but has a shape the store cannot represent.
    #[error("unsupported {format} content at {location}: {reason}")]
    Unsupported {
        format: &'static str,
        location: Location,
        reason: String,
    },

    /// Encrypting a file that already carries sops metadata.
    #[error(
        "The file you have provided contains a top-level entry called 'sops', or for flat file formats top-level entries starting with 'sops_'. This is generally due to the file already being encrypted with SOPS. If you wish to encrypt this file anyway, please rename the top-level entry."
    )]
    AlreadyEncrypted,

    /// Nothing to encrypt (empty input).
    #[error("file cannot be completely empty, it must contain at least one document")]
    EmptyInput,

    /// No recipient was given when encrypting.
    #[error("could not generate data key: no key groups or recipients were provided")]
    NoRecipients,

    /// The options given at the same time contradict each other.
    #[error("conflicting options: {0}")]
    Conflict(String),

    /// A recipient string could not be parsed.
    #[error("invalid recipient {recipient:?}: {reason}")]
    InvalidRecipient { recipient: String, reason: String },

    /// An identity (private key) could not be parsed. Never carries key material.
    #[error("invalid identity in {source_name}: {reason}")]
    InvalidIdentity { source_name: String, reason: String },

    /// The data key could not be recovered from any key group.
    #[error("{}", describe_data_key_failure(.groups, *.threshold))]
    DataKeyUnavailable {
        groups: Vec<GroupFailure>,
        threshold: usize,
    },

    /// Wrapping the data key for a recipient failed.
    #[error("could not encrypt the data key for {recipient}: {reason}")]
    KeyWrap { recipient: String, reason: String },

    /// A value failed to decrypt (tampered ciphertext, moved value, wrong key).
    #[error("Error decrypting tree: Could not decrypt value at {location}: {reason}")]
    DecryptValue { location: Location, reason: String },

    /// A value could not be encrypted (unsupported type such as integers beyond int64).
    #[error("Error encrypting tree: Could not encrypt value at {location}: {reason}")]
    EncryptValue { location: Location, reason: String },

    /// The stored MAC cannot be decrypted (usually a tampered `lastmodified`).
    #[error("Cannot decrypt MAC: {0}")]
    MacUndecryptable(String),

    /// The stored MAC does not match the one computed over the values.
    #[error("MAC mismatch. File has {stored}, computed {computed}")]
    MacMismatch { stored: String, computed: String },

    /// A tree path (`["a"][0]`) is malformed.
    #[error("invalid tree path {path:?}: {reason}")]
    InvalidTreePath { path: String, reason: String },

    /// A tree path does not exist in the document.
    #[error("component {component} not found in the document")]
    PathNotFound { component: String },

    /// A `.sops.yaml` problem.
    #[error("error loading config: {0}")]
    Config(String),

    /// No creation rule matches the file.
    #[error("error loading config: no matching creation rules found")]
    NoMatchingCreationRule,

    /// Emitting the output failed.
    #[error("could not write {format} output: {reason}")]
    Emit {
        format: &'static str,
        reason: String,
    },
}

fn describe_data_key_failure(groups: &[GroupFailure], threshold: usize) -> String {
    let mut out = String::from("Failed to get the data key required to decrypt the SOPS file.");
    if groups.len() > 1 {
        out.push_str(&format!(
            "\n\nThis file uses {} key groups; {threshold} must be decryptable.",
            groups.len()
        ));
    }
    for group in groups {
        out.push_str(&format!("\n\nGroup {}: FAILED", group.group));
        for key in &group.keys {
            out.push_str("\n  ");
            out.push_str(key);
        }
    }
    out.push_str("\n\nRecovery failed because no master key was able to decrypt the file. In order for SOPS to recover the file, at least one key has to be successful, but none were.");
    out
}

impl SopsError {
    /// The exit code real sops returns for this failure (`cmd/sops/codes/codes.go`).
    pub fn sops_exit_code(&self) -> u8 {
        match self {
            SopsError::MetadataNotFound
            | SopsError::InvalidMetadata { .. }
            | SopsError::Parse { .. }
            | SopsError::Limit { .. }
            | SopsError::Unsupported { .. }
            | SopsError::InvalidRecipient { .. }
            | SopsError::InvalidIdentity { .. }
            | SopsError::KeyWrap { .. } => 1,
            SopsError::Emit { .. } => 4,
            SopsError::Config(_) | SopsError::NoMatchingCreationRule => 5,
            SopsError::Conflict(_) => 8,
            SopsError::EncryptValue { .. } => 23,
            SopsError::DecryptValue { .. } => 25,
            SopsError::MacUndecryptable(_) | SopsError::MacMismatch { .. } => 51,
            SopsError::InvalidTreePath { .. } | SopsError::PathNotFound { .. } => 91,
            SopsError::EmptyInput => 92,
            SopsError::NoRecipients => 111,
            SopsError::DataKeyUnavailable { .. } => 128,
            SopsError::AlreadyEncrypted => 203,
        }
    }
}

/// Result alias for this module.
pub type Result<T> = std::result::Result<T, SopsError>;
