//! The SOPS file format (sops 3.x compatible): values, MAC, metadata, key groups and the
//! YAML, JSON, dotenv, INI and binary stores.
//!
//! Entry points: [`encrypt`] a plaintext file; [`OpenedFile::open`] an encrypted one, read
//! or change it ([`OpenedFile::set`], [`OpenedFile::unset`], [`OpenedFile::extract`],
//! [`OpenedFile::replace_plaintext`]) and [`OpenedFile::seal`] it again with the same data key
//! (unchanged values keep their exact ciphertext); [`OpenedFile::rotate`] and
//! [`OpenedFile::update_keys`] change who can open it. Every failure is a [`SopsError`] that
//! knows sops' exit code. Identities are passed in ([`Identities`]); finding them in the
//! environment is the CLI's job. [`config`] reads `.sops.yaml`.

pub mod cipher;
pub mod config;
pub mod error;
pub mod file;
pub mod flat;
pub mod gofmt;
pub mod keysource;
pub mod metadata;
pub mod path;
pub mod rules;
pub mod shamir;
pub mod tree;
pub mod yaml;

pub use cipher::{DataKey, EncryptedValue, Plain, Scalar};
pub use error::{Location, Result, SopsError};
pub use file::{
    EncryptOptions, Format, OpenedFile, StoreOptions, convert_plain, emit_plain_as, encrypt,
    encryption_status, is_encrypted,
};
pub use keysource::{Identities, Recipient, age_recipients_of, generate_age_identity};
pub use metadata::{KeyKind, MasterKey, Metadata};
pub use path::{PathStep, parse_path};
pub use rules::EncryptionRule;
pub use tree::{MapItem, Node, PlainTree};
