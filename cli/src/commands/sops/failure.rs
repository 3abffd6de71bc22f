//! sops' exit codes (`cmd/sops/codes/codes.go`) and errors that carry them.
//!
//! Scripts and helm-secrets branch on these numbers and read the first line of stderr, so
//! each failure uses the code real sops 3.11 returns for it and, where scripts may match on
//! it, sops' wording. Messages never contain plaintext values or key material.

use sealbox_keys::sops::SopsError;

use crate::exit::RawExit;

pub const GENERIC: u8 = 1;
pub const COULD_NOT_READ_INPUT: u8 = 2;
pub const COULD_NOT_WRITE_OUTPUT: u8 = 3;
pub const INVALID_SET_FORMAT: u8 = 7;
pub const CONFLICTING_PARAMETERS: u8 = 8;
pub const CANNOT_CHANGE_KEYS_OF_MISSING_FILE: u8 = 49;
pub const INVALID_TREE_PATH: u8 = 91;
pub const NO_FILE_SPECIFIED: u8 = 100;
pub const DUPLICATE_DECRYPTION_KEY_TYPE: u8 = 112;
pub const FILE_NOT_MODIFIED: u8 = 200;
pub const NO_EDITOR: u8 = 201;

/// An error that ends the process with sops' `code`.
pub fn fail(code: u8, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(RawExit {
        code,
        message: message.into(),
    })
}

/// A format-library error with the exit code sops uses for it. Configuration problems are
/// exit 1 in sops (they reach the CLI as plain errors), not the library's 5.
pub fn sops(e: SopsError) -> anyhow::Error {
    let code = match &e {
        SopsError::Config(_) | SopsError::NoMatchingCreationRule => GENERIC,
        _ => e.sops_exit_code(),
    };
    fail(code, e.to_string())
}

/// Reading the input failed in a way sops reports as "could not read" (encrypt/edit parse
/// errors are exit 2 in sops, "Error unmarshalling file: …").
pub fn unreadable_plaintext(e: SopsError) -> anyhow::Error {
    match e {
        SopsError::Parse { .. } | SopsError::Unsupported { .. } | SopsError::Limit { .. } => fail(
            COULD_NOT_READ_INPUT,
            format!("Error unmarshalling file: {e}"),
        ),
        other => sops(other),
    }
}

/// `--decryption-order`: sops rejects duplicates (exit 112); sealbox only has age keys, so
/// the order has no other effect.
pub fn check_decryption_order(order: Option<&str>) -> anyhow::Result<()> {
    let Some(order) = order.filter(|o| !o.is_empty()) else {
        return Ok(());
    };
    let mut seen = Vec::new();
    for t in order.split(',') {
        if seen.contains(&t) {
            return Err(fail(
                DUPLICATE_DECRYPTION_KEY_TYPE,
                format!("Duplicate decryption key type: {t}"),
            ));
        }
        seen.push(t);
    }
    Ok(())
}
