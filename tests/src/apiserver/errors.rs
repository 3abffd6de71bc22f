//! The `Status` error object. kube 5 decides `is_not_found()`, `is_conflict()`,
//! `is_invalid()` and `is_already_exists()` from `reason` alone, so every constructor here
//! uses the exact reason and message template of apimachinery `pkg/api/errors`.

use serde_json::{Value, json};

use super::resources::ResourceType;

/// One `details.causes[]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// e.g. `FieldValueInvalid`, `FieldManagerConflict`.
    pub reason: String,
    /// Human message.
    pub message: String,
    /// Field path, e.g. `data[tls.key]` or `.data.a`.
    pub field: String,
}

/// An API error as the server reports it. Messages never contain object values.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// Machine-readable reason (`NotFound`, `Conflict`, ...).
    pub reason: String,
    /// Message.
    pub message: String,
    /// `details` object, when the server sends one.
    pub details: Option<Box<Value>>,
}

impl ApiError {
    fn new(code: u16, reason: &str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason: reason.into(),
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// The `Status` JSON body.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = (**d).clone();
        }
        s
    }

    fn gr_details(rt: &ResourceType, name: &str) -> Value {
        json!({"name": name, "group": rt.group, "kind": rt.plural})
    }

    /// 404 NotFound for an object.
    pub fn not_found(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", rt.group_resource()),
        )
        .with_details(Self::gr_details(rt, name))
    }

    /// 404 for a missing namespace on create (namespace lifecycle admission).
    pub fn namespace_not_found(ns: &str) -> Self {
        Self::new(404, "NotFound", format!("namespaces \"{ns}\" not found"))
            .with_details(json!({"name": ns, "kind": "namespaces"}))
    }

    /// 403 on create into a terminating namespace.
    pub fn namespace_terminating(rt: &ResourceType, name: &str, ns: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                rt.group_resource()
            ),
        )
        .with_details(Self::gr_details(rt, name))
    }

    /// 409 AlreadyExists.
    pub fn already_exists(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", rt.group_resource()),
        )
        .with_details(Self::gr_details(rt, name))
    }

    /// 409 Conflict on a stale resourceVersion or failed precondition.
    pub fn conflict(rt: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                rt.group_resource()
            ),
        )
        .with_details(Self::gr_details(rt, name))
    }

    /// 409 Conflict with a custom message (delete preconditions).
    pub fn conflict_msg(rt: &ResourceType, name: &str, msg: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {msg}",
                rt.group_resource()
            ),
        )
        .with_details(Self::gr_details(rt, name))
    }

    /// 409 SSA conflict, causes one per field.
    pub fn apply_conflict(
        rt: &ResourceType,
        name: &str,
        message: String,
        causes: Vec<Cause>,
    ) -> Self {
        let causes: Vec<Value> = causes
            .into_iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        Self::new(409, "Conflict", message).with_details(json!({
            "name": name, "group": rt.group, "kind": rt.plural, "causes": causes,
        }))
    }

    /// 422 Invalid with field causes; the message lists them like the real server.
    pub fn invalid(rt: &ResourceType, name: &str, causes: Vec<Cause>) -> Self {
        let parts: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let joined = if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("[{}]", parts.join(", "))
        };
        let cause_json: Vec<Value> = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
            .collect();
        Self::new(
            422,
            "Invalid",
            format!("{} \"{name}\" is invalid: {joined}", rt.group_kind()),
        )
        .with_details(
            json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": cause_json}),
        )
    }

    /// 422 with the plural-resource prefix (the RV-required-on-update message uses it).
    pub fn invalid_resource(rt: &ResourceType, name: &str, field: &str, msg: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            format!(
                "{} \"{name}\" is invalid: {field}: {msg}",
                rt.group_resource()
            ),
        )
        .with_details(json!({"name": name, "group": rt.group, "kind": rt.plural,
                   "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": field}]}))
    }

    /// 422 with a generic message (JSON-patch `test` failure).
    pub fn invalid_request() -> Self {
        Self::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        )
    }

    /// 400 BadRequest.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", msg)
    }

    /// 415 UnsupportedMediaType.
    pub fn unsupported_media_type(ct: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format ({ct:?}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            ),
        )
    }

    /// 405 MethodNotAllowed.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )
    }

    /// 410 Expired (watch history or continue token).
    pub fn expired(msg: impl Into<String>) -> Self {
        Self::new(410, "Expired", msg)
    }

    /// 500 InternalError (also the injected-fault error).
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(500, "InternalError", msg)
    }

    /// An arbitrary code (fault injection).
    pub fn injected(code: u16) -> Self {
        let reason = match code {
            429 => "TooManyRequests",
            503 => "ServiceUnavailable",
            504 => "Timeout",
            409 => "Conflict",
            _ => "InternalError",
        };
        Self::new(code, reason, format!("injected fault: HTTP {code}"))
    }

    /// 500 with an empty reason, as the server answers a create carrying a resourceVersion.
    pub fn rv_on_create() -> Self {
        Self::new(
            500,
            "",
            "resourceVersion should not be set on objects to be created",
        )
    }
}

/// A `FieldValueInvalid` cause.
pub fn invalid_value(field: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {detail}"),
        field: field.into(),
    }
}

/// A `FieldValueRequired` cause.
pub fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired".into(),
        message: "Required value".into(),
        field: field.into(),
    }
}

/// A `FieldValueForbidden` cause.
pub fn forbidden(field: &str, detail: &str) -> Cause {
    Cause {
        reason: "FieldValueForbidden".into(),
        message: format!("Forbidden: {detail}"),
        field: field.into(),
    }
}
