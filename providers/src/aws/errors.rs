//! AWS SDK errors → [`ProviderError`] classes.
//!
//! AWS error messages describe the request (secret names, ARNs, permissions), never the
//! secret's value, so code and message are kept; the HTTP body is not.

use std::time::Duration;

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use crate::error::ProviderError;

/// Error codes that mean "this identity may not do this".
const FORBIDDEN: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "IncompleteSignature",
    "MissingAuthenticationToken",
];

/// Error codes that mean "slow down".
const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];

/// Error codes that mean the service failed on its side.
const UNAVAILABLE: &[&str] = &[
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// True when the service said the secret does not exist (or is scheduled for deletion:
/// AWS says `InvalidParameterException` "...was marked for deletion", moto says
/// `InvalidRequestException` "...currently marked deleted").
pub(crate) fn is_not_found(code: Option<&str>, message: Option<&str>) -> bool {
    match code {
        Some("ResourceNotFoundException") => true,
        Some("InvalidParameterException" | "InvalidRequestException") => message
            .is_some_and(|m| m.contains("marked for deletion") || m.contains("marked deleted")),
        _ => false,
    }
}

/// Classifies an error code + message from a batch response entry or a service error.
pub(crate) fn classify_code(
    key: &str,
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    retry_after: Option<Duration>,
) -> ProviderError {
    let text = format!(
        "{}: {}",
        code.unwrap_or("error"),
        message.unwrap_or("no message")
    );
    if is_not_found(code, message) {
        return ProviderError::not_found(key);
    }
    let code_is = |list: &[&str]| code.is_some_and(|c| list.contains(&c));
    if code_is(THROTTLED) || status == Some(429) {
        return ProviderError::Throttled {
            retry_after,
            message: text,
        };
    }
    if code_is(FORBIDDEN) || matches!(status, Some(401 | 403)) {
        return ProviderError::Forbidden { message: text };
    }
    if code_is(UNAVAILABLE) || status.is_some_and(|s| s >= 500) {
        return ProviderError::Unavailable { message: text };
    }
    ProviderError::backend(text)
}

/// Classifies any SDK error of an operation on `key`.
pub(crate) fn classify<E>(key: &str, error: SdkError<E>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &error {
        SdkError::ServiceError(service) => {
            let raw = service.raw();
            let status = raw.status().as_u16();
            let retry_after = raw
                .headers()
                .get("retry-after")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64);
            let err = service.err();
            classify_code(key, err.code(), err.message(), Some(status), retry_after)
        }
        SdkError::TimeoutError(_) => ProviderError::Unavailable {
            message: format!("request for {key:?} timed out"),
        },
        SdkError::DispatchFailure(failure) => {
            if failure.is_io() || failure.is_timeout() {
                ProviderError::Unavailable {
                    message: format!("cannot reach AWS Secrets Manager: {}", chain(&error)),
                }
            } else {
                // Credential resolution failures surface here too.
                let text = chain(&error);
                if text.contains("credential") || text.contains("identity") {
                    ProviderError::Forbidden { message: text }
                } else {
                    ProviderError::Unavailable { message: text }
                }
            }
        }
        SdkError::ResponseError(_) => ProviderError::Unavailable {
            message: format!(
                "unreadable response from AWS Secrets Manager: {}",
                chain(&error)
            ),
        },
        SdkError::ConstructionFailure(_) => ProviderError::config(chain(&error)),
        _ => ProviderError::backend(chain(&error)),
    }
}

pub(crate) use crate::error::chain;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn codes_map_to_kinds() {
        let kind = |code: &str, msg: &str, status: u16| {
            classify_code("k", Some(code), Some(msg), Some(status), None).kind()
        };
        assert_eq!(
            kind("ResourceNotFoundException", "nope", 400),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind(
                "InvalidParameterException",
                "You can't perform this operation on the secret because it was marked for deletion.",
                400
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind("InvalidRequestException", "The parameter is invalid.", 400),
            ErrorKind::Backend
        );
        assert_eq!(
            kind(
                "InvalidRequestException",
                "... because it is currently marked deleted.",
                400
            ),
            ErrorKind::NotFound
        );
        assert_eq!(
            kind("ThrottlingException", "Rate exceeded", 400),
            ErrorKind::Throttled
        );
        assert_eq!(kind("Whatever", "", 429), ErrorKind::Throttled);
        assert_eq!(kind("AccessDeniedException", "", 400), ErrorKind::Forbidden);
        assert_eq!(
            kind("InternalServiceError", "", 500),
            ErrorKind::Unavailable
        );
        assert_eq!(kind("Odd", "", 503), ErrorKind::Unavailable);
        assert_eq!(kind("DecryptionFailure", "", 400), ErrorKind::Backend);
        let throttled = classify_code(
            "k",
            Some("ThrottlingException"),
            None,
            Some(400),
            Some(Duration::from_secs(2)),
        );
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(2)));
        assert!(throttled.is_transient());
    }
}
