//! Exit codes and the error type that carries them.
//!
//! Every failure a user can cause maps to a documented, distinct exit code, so scripts can
//! tell "bad input" from "wrong key" without parsing messages. The SOPS-family commands use
//! sops' own numbers (so scripts and helm-secrets behave the same on sealbox); the
//! sealing family uses 10–29, which sops does not use.
//!
//! Commands return `anyhow::Result`; a [`Failure`] anywhere in the error chain decides the
//! exit code, anything else exits with [`Code::Generic`].

use std::fmt;

/// A documented process exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// Anything not covered below (and sops' "file is not encrypted").
    Generic = 1,
    /// Command-line usage error (unknown flag, missing argument, conflicting flags).
    Usage = 2,
    /// An output file could not be written (sops: CouldNotWriteOutputFile).
    CouldNotWriteOutput = 3,
    /// Input is not valid YAML/JSON (file, document and position are in the message).
    MalformedInput = 10,
    /// A document is not of the expected kind (e.g. not a v1 Secret when sealing).
    WrongKind = 11,
    /// Scope problem: strict scope without a namespace or name, namespace mismatch.
    Scope = 12,
    /// The sealing certificate is unusable (not RSA, shorter than 2048 bits, expired, unreadable).
    BadCertificate = 13,
    /// A Secret without data, and `--allow-empty-data` was not given.
    EmptyData = 14,
    /// No key could decrypt a sealed value (tampered, moved, renamed or sealed for another key).
    CannotUnseal = 15,
    /// The local keyring is missing, unreadable or has no usable key.
    Keyring = 16,
    /// A SealedSecret template could not be rendered.
    Template = 17,
    /// An input file (Secret, SealedSecret, key, value) could not be read.
    InputUnreadable = 18,
    /// The cluster or controller could not be reached or refused the request.
    Cluster = 20,
    /// An external secret store failed, refused or returned no usable data
    /// (`sealbox external render`).
    Store = 21,
}

impl Code {
    /// The numeric process exit status.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// One line per code, for `sealbox help` (kept next to the enum so it cannot drift).
    pub const TABLE: &'static [(Code, &'static str)] = &[
        (
            Code::Generic,
            "generic error; for SOPS commands also \"file is not encrypted\"",
        ),
        (Code::Usage, "command-line usage error"),
        (Code::CouldNotWriteOutput, "could not write the output file"),
        (Code::MalformedInput, "input is not valid YAML/JSON"),
        (Code::WrongKind, "document is not of the expected kind"),
        (
            Code::Scope,
            "scope error: missing namespace/name, namespace mismatch",
        ),
        (
            Code::BadCertificate,
            "unusable certificate: not RSA, < 2048 bits, expired",
        ),
        (
            Code::EmptyData,
            "Secret has no data (use --allow-empty-data)",
        ),
        (Code::CannotUnseal, "no key could decrypt a sealed value"),
        (Code::Keyring, "local keyring missing, unreadable or empty"),
        (
            Code::Template,
            "SealedSecret template could not be rendered",
        ),
        (Code::InputUnreadable, "an input file could not be read"),
        (
            Code::Cluster,
            "cluster or controller unreachable or refused",
        ),
        (
            Code::Store,
            "external secret store failed, refused or returned no data",
        ),
    ];
}

/// An error with a chosen exit code. The message must never contain a secret value.
#[derive(Debug)]
pub struct Failure {
    /// Which exit code the process ends with.
    pub code: Code,
    /// What went wrong, naming the file/document/field, never a secret value.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Build a [`Failure`] as an `anyhow::Error`.
pub fn fail(code: Code, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Failure {
        code,
        message: message.into(),
    })
}

/// Attach an exit code to any error while keeping its message chain.
pub trait WithCode<T> {
    /// Wrap the error in a [`Failure`] with `code` and a context message.
    fn code(self, code: Code, context: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T, E> WithCode<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn code(self, code: Code, context: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|e| {
            let inner: anyhow::Error = e.into();
            anyhow::Error::new(Failure {
                code,
                message: format!("{}: {inner:#}", context()),
            })
        })
    }
}

/// The exit code for an error chain: the first [`Failure`] found, else a raw numeric code
/// set by a command that speaks another tool's exit codes ([`RawExit`]), else `Generic`.
pub fn exit_code_of(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.code.as_u8();
        }
        if let Some(r) = cause.downcast_ref::<RawExit>() {
            return r.code;
        }
    }
    Code::Generic.as_u8()
}

/// An exit code that is not in [`Code`]: used by the SOPS-family commands, which return
/// sops' own numbers (51 MAC mismatch, 128 no key, ...).
#[derive(Debug)]
pub struct RawExit {
    /// The numeric exit status.
    pub code: u8,
    /// The message printed to stderr.
    pub message: String,
}

impl fmt::Display for RawExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RawExit {}
