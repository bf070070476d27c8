//! The single map from every error to an HTTP status and a stable code.
//!
//! Services return [`ServiceError`]; this is the only place that decides
//! what a client sees. A 5xx says nothing internal: the cause is logged
//! (it never contains a secret value — store errors carry names only) and
//! the client gets a generic message.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use hush_core::NameError;
use hush_proto::{ErrorBody, ErrorDetail};
use hush_store::{StoreError, Unavailable};
use thiserror::Error;

/// Everything a request can fail with.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A name, slug or tag broke its rule.
    #[error(transparent)]
    Name(#[from] NameError),
    /// Malformed request (400).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// Well-formed but unacceptable content (422).
    #[error("{message}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// No usable credentials (401).
    #[error("{message}")]
    Unauthorized {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// Credentials without the needed permission (403).
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        message: String,
    },
    /// The body exceeded the size limit (413).
    #[error("request body is larger than the {limit}-byte limit")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// Too many requests (429); retry after this many seconds.
    #[error("too many requests; retry in {retry_after} s")]
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after: u64,
    },
    /// The request body is not JSON (415).
    #[error("send the body as JSON with Content-Type: application/json")]
    NotJson,
}

impl ServiceError {
    /// A 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 403 with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::Forbidden {
            code,
            message: message.into(),
        }
    }

    /// A 401 with a code.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unauthorized {
            code,
            message: message.into(),
        }
    }

    /// A 422 with a code.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// Status and stable code for this error.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            ServiceError::Store(err) => match err {
                StoreError::NotFound { .. } | StoreError::ForeignScope { .. } => {
                    (S::NOT_FOUND, "not_found")
                }
                StoreError::AlreadyExists { .. } => (S::CONFLICT, "already_exists"),
                StoreError::Conflict { .. } => (S::CONFLICT, "version_conflict"),
                StoreError::ScopeKind { .. } => (S::CONFLICT, "scope_kind_mismatch"),
                StoreError::CurrentVersion { .. } => (S::CONFLICT, "current_version"),
                StoreError::ValueTooLarge { .. } => (S::UNPROCESSABLE_ENTITY, "value_too_large"),
                StoreError::InvalidValue { .. } => (S::UNPROCESSABLE_ENTITY, "invalid_value"),
                StoreError::ClientEncrypted { .. } => (S::UNPROCESSABLE_ENTITY, "e2ee_project"),
                StoreError::WrongValueKind { .. } => (S::UNPROCESSABLE_ENTITY, "wrong_value_kind"),
                StoreError::Decrypt { .. } => (S::INTERNAL_SERVER_ERROR, "decrypt_failed"),
                StoreError::WrongMasterKey { .. } => {
                    (S::INTERNAL_SERVER_ERROR, "master_key_mismatch")
                }
                StoreError::Unavailable {
                    kind: Unavailable::DiskFull,
                    ..
                } => (S::INSUFFICIENT_STORAGE, "storage_full"),
                StoreError::Unavailable { .. } => (S::SERVICE_UNAVAILABLE, "database_unavailable"),
                StoreError::Encrypt { .. }
                | StoreError::MasterKeyMismatch { .. }
                | StoreError::UnsupportedUrl { .. }
                | StoreError::SchemaTooNew { .. }
                | StoreError::Decode { .. }
                | StoreError::Database(_) => (S::INTERNAL_SERVER_ERROR, "internal"),
            },
            ServiceError::Name(NameError::InvalidSlug { .. }) => {
                (S::UNPROCESSABLE_ENTITY, "invalid_slug")
            }
            ServiceError::Name(NameError::InvalidTag { .. }) => {
                (S::UNPROCESSABLE_ENTITY, "invalid_tag")
            }
            ServiceError::Name(_) => (S::UNPROCESSABLE_ENTITY, "invalid_name"),
            ServiceError::BadRequest { code, .. } => (S::BAD_REQUEST, code),
            ServiceError::Unprocessable { code, .. } => (S::UNPROCESSABLE_ENTITY, code),
            ServiceError::Unauthorized { code, .. } => (S::UNAUTHORIZED, code),
            ServiceError::Forbidden { code, .. } => (S::FORBIDDEN, code),
            ServiceError::BodyTooLarge { .. } => (S::PAYLOAD_TOO_LARGE, "body_too_large"),
            ServiceError::NotJson => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ServiceError::RateLimited { .. } => (S::TOO_MANY_REQUESTS, "rate_limited"),
        }
    }
}

/// The error body for a status and code.
pub fn error_response(status: StatusCode, code: &str, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.to_owned(),
            message,
        },
    };
    (status, Json(body)).into_response()
}

/// Seconds a client should wait before retrying a request the database
/// could not take.
pub const STORAGE_RETRY_AFTER: u64 = 5;

/// Adds `Retry-After: seconds` to a response.
pub fn retry_after(response: &mut Response, seconds: u64) {
    if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
        response
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, value);
    }
}

impl ServiceError {
    /// The message a client may see: the error itself for 4xx; for 5xx
    /// only what says nothing internal (the cause goes to the log).
    pub fn public_message(&self) -> String {
        let (status, code) = self.status_and_code();
        if !status.is_server_error() {
            return self.to_string();
        }
        match self {
            // The outage is logged once by the store, not per request.
            ServiceError::Store(StoreError::Unavailable { kind, .. }) => kind.to_string(),
            _ => {
                tracing::error!(code, error = %self, source = ?std::error::Error::source(self), "request failed");
                match code {
                    "decrypt_failed" | "master_key_mismatch" => self.to_string(),
                    _ => "internal error; see the server log".to_owned(),
                }
            }
        }
    }

    /// Seconds to send in `Retry-After`, for errors worth retrying.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ServiceError::RateLimited { retry_after } => Some(*retry_after),
            ServiceError::Store(StoreError::Unavailable { .. }) => Some(STORAGE_RETRY_AFTER),
            _ => None,
        }
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let mut response = error_response(status, code, self.public_message());
        if let Some(seconds) = self.retry_after() {
            retry_after(&mut response, seconds);
        }
        response
    }
}

impl From<JsonRejection> for ServiceError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => {
                ServiceError::unprocessable("invalid_body", err.body_text())
            }
            JsonRejection::JsonSyntaxError(err) => {
                ServiceError::bad_request("invalid_json", err.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => ServiceError::NotJson,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ServiceError::BodyTooLarge {
                    limit: crate::config::DEFAULT_MAX_BODY_BYTES,
                }
            }
            other => ServiceError::bad_request("invalid_body", other.body_text()),
        }
    }
}

impl From<QueryRejection> for ServiceError {
    fn from(rejection: QueryRejection) -> Self {
        ServiceError::bad_request("invalid_query", rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_core::NameRule;

    fn code(err: ServiceError) -> (u16, &'static str) {
        let (s, c) = err.status_and_code();
        (s.as_u16(), c)
    }

    #[test]
    fn every_error_has_its_status_and_code() {
        let nf = StoreError::NotFound {
            kind: "project",
            what: "x".into(),
        };
        assert_eq!(code(nf.into()), (404, "not_found"));
        assert_eq!(
            code(
                StoreError::Conflict {
                    expected: 1,
                    actual: 2
                }
                .into()
            ),
            (409, "version_conflict")
        );
        assert_eq!(
            code(
                StoreError::AlreadyExists {
                    kind: "project",
                    what: "x".into()
                }
                .into()
            ),
            (409, "already_exists")
        );
        assert_eq!(
            code(
                StoreError::ValueTooLarge {
                    name: "A".into(),
                    len: 2,
                    max: 1
                }
                .into()
            ),
            (422, "value_too_large")
        );
        assert_eq!(
            code(
                StoreError::ClientEncrypted {
                    project: "p".into()
                }
                .into()
            ),
            (422, "e2ee_project")
        );
        assert_eq!(
            code(StoreError::CurrentVersion { version: 1 }.into()),
            (409, "current_version")
        );
        assert_eq!(code(StoreError::Database(db_error()).into()).0, 500);
        assert_eq!(
            code(
                StoreError::Unavailable {
                    kind: Unavailable::DiskFull,
                    cause: "x".into()
                }
                .into()
            ),
            (507, "storage_full")
        );
        assert_eq!(
            code(
                StoreError::Unavailable {
                    kind: Unavailable::Outage,
                    cause: "x".into()
                }
                .into()
            ),
            (503, "database_unavailable")
        );
        assert_eq!(
            code(NameRule::Native.parse("1x").unwrap_err().into()),
            (422, "invalid_name")
        );
        assert_eq!(
            code(hush_core::Slug::parse("project", "A").unwrap_err().into()),
            (422, "invalid_slug")
        );
        assert_eq!(
            code(ServiceError::unauthorized("invalid_token", "x")),
            (401, "invalid_token")
        );
        assert_eq!(
            code(ServiceError::forbidden("insufficient_scope", "x")),
            (403, "insufficient_scope")
        );
        assert_eq!(
            code(ServiceError::BodyTooLarge { limit: 1 }),
            (413, "body_too_large")
        );
        assert_eq!(code(ServiceError::NotJson), (415, "unsupported_media_type"));
    }

    fn db_error() -> hush_store::DbError {
        hush_store::DbError::JobFailed("pool details".to_owned())
    }

    #[tokio::test]
    async fn internal_errors_say_nothing_internal() {
        let response = ServiceError::Store(StoreError::Database(db_error())).into_response();
        assert_eq!(response.status(), 500);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body.error.code, "internal");
        assert!(
            !body.error.message.contains("pool"),
            "{}",
            body.error.message
        );
    }
}
