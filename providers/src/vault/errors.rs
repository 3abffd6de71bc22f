//! vaultrs errors → [`ProviderError`] classes. Vault's error strings describe the request
//! ("permission denied", "invalid role ID"), not stored values, so they are kept.

use vaultrs::error::ClientError;

use crate::error::ProviderError;

pub(crate) fn status(error: &ClientError) -> Option<u16> {
    match error {
        ClientError::APIError { code, .. } => Some(*code),
        ClientError::RestClientError { source } => {
            // vaultrs does not re-export rustify's error type; its Debug form carries the code.
            let debug = format!("{source:?}");
            let rest = debug.split("ServerResponseError { code: ").nth(1)?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        }
        _ => None,
    }
}

pub(crate) fn classify(what: &str, key: &str, error: ClientError) -> ProviderError {
    let detail = match &error {
        ClientError::APIError { code, errors } if !errors.is_empty() => {
            format!("{what}: HTTP {code}: {}", errors.join("; "))
        }
        ClientError::APIError { code, .. } => format!("{what}: HTTP {code}"),
        other => format!("{what}: {}", crate::error::chain(other)),
    };
    match status(&error) {
        Some(404) => ProviderError::not_found(key),
        Some(401 | 403) => ProviderError::Forbidden { message: detail },
        Some(429) => ProviderError::Throttled {
            retry_after: None,
            message: detail,
        },
        Some(code) if code >= 500 => ProviderError::Unavailable { message: detail },
        Some(_) => ProviderError::backend(detail),
        None => match error {
            ClientError::RestClientError { .. } => ProviderError::Unavailable { message: detail },
            ClientError::ResponseEmptyError | ClientError::ResponseDataEmptyError => {
                ProviderError::not_found(key)
            }
            _ => ProviderError::backend(detail),
        },
    }
}
