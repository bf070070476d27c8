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

/// Declares the stable error codes: each with its wire name and the HTTP
/// status it always answers with.
macro_rules! error_codes {
    ($($variant:ident = $text:literal => $status:ident,)*) => {
        /// Every stable error code hush answers with. The native API sends
        /// [`ErrorCode::as_str`]; each compatibility surface maps the code
        /// to its seed's own (see `api::surface`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The wire name, e.g. `insufficient_scope`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $text,)*
                }
            }

            /// The HTTP status this code is always sent with.
            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$variant => StatusCode::$status,)*
                }
            }
        }
    };
}

error_codes! {
    AlreadyExists = "already_exists" => CONFLICT,
    AuditUnavailable = "audit_unavailable" => SERVICE_UNAVAILABLE,
    BadSignature = "bad_signature" => UNAUTHORIZED,
    BodyTooLarge = "body_too_large" => PAYLOAD_TOO_LARGE,
    ClientManaged = "client_managed" => UNPROCESSABLE_ENTITY,
    ConfirmationRequired = "confirmation_required" => BAD_REQUEST,
    CsrfRejected = "csrf_rejected" => FORBIDDEN,
    NotBootstrapToken = "not_bootstrap_token" => FORBIDDEN,
    SessionIdle = "session_idle" => UNAUTHORIZED,
    SetupDone = "setup_done" => CONFLICT,
    CurrentVersion = "current_version" => CONFLICT,
    VersionDestroyed = "version_destroyed" => GONE,
    DatabaseUnavailable = "database_unavailable" => SERVICE_UNAVAILABLE,
    DecryptFailed = "decrypt_failed" => INTERNAL_SERVER_ERROR,
    DeviceForbidden = "device_forbidden" => FORBIDDEN,
    DevicesManagedInHush = "devices_managed_in_hush" => FORBIDDEN,
    E2eeProject = "e2ee_project" => UNPROCESSABLE_ENTITY,
    EmptyWrite = "empty_write" => BAD_REQUEST,
    EnvRequired = "env_required" => BAD_REQUEST,
    EnvironmentLocked = "environment_locked" => FORBIDDEN,
    InsufficientScope = "insufficient_scope" => FORBIDDEN,
    Internal = "internal" => INTERNAL_SERVER_ERROR,
    InvalidBlob = "invalid_blob" => BAD_REQUEST,
    InvalidBody = "invalid_body" => UNPROCESSABLE_ENTITY,
    InvalidCredentials = "invalid_credentials" => UNAUTHORIZED,
    InvalidDeviceHash = "invalid_device_hash" => BAD_REQUEST,
    InvalidE2eeMeta = "invalid_e2ee_meta" => UNPROCESSABLE_ENTITY,
    InvalidEmail = "invalid_email" => UNPROCESSABLE_ENTITY,
    InvalidEncryptionMode = "invalid_encryption_mode" => UNPROCESSABLE_ENTITY,
    InvalidFile = "invalid_file" => UNPROCESSABLE_ENTITY,
    InvalidJson = "invalid_json" => BAD_REQUEST,
    InvalidKey = "invalid_key" => BAD_REQUEST,
    InvalidKeyProof = "invalid_key_proof" => UNPROCESSABLE_ENTITY,
    InvalidName = "invalid_name" => UNPROCESSABLE_ENTITY,
    InvalidPath = "invalid_path" => BAD_REQUEST,
    InvalidQuery = "invalid_query" => BAD_REQUEST,
    InvalidRole = "invalid_role" => UNPROCESSABLE_ENTITY,
    InvalidScope = "invalid_scope" => UNPROCESSABLE_ENTITY,
    InvalidSignature = "invalid_signature" => UNAUTHORIZED,
    InvalidSlug = "invalid_slug" => UNPROCESSABLE_ENTITY,
    InvalidTag = "invalid_tag" => UNPROCESSABLE_ENTITY,
    InvalidText = "invalid_text" => UNPROCESSABLE_ENTITY,
    InvalidTime = "invalid_time" => UNPROCESSABLE_ENTITY,
    InvalidToken = "invalid_token" => UNAUTHORIZED,
    InvalidTokenRequest = "invalid_token_request" => UNPROCESSABLE_ENTITY,
    InvalidValue = "invalid_value" => UNPROCESSABLE_ENTITY,
    KeyNotSet = "key_not_set" => UNAUTHORIZED,
    LimitExceeded = "limit_exceeded" => UNPROCESSABLE_ENTITY,
    KeyProofMismatch = "key_proof_mismatch" => UNPROCESSABLE_ENTITY,
    KeyProofRequired = "key_proof_required" => UNPROCESSABLE_ENTITY,
    LastOwner = "last_owner" => CONFLICT,
    MasterKeyMismatch = "master_key_mismatch" => INTERNAL_SERVER_ERROR,
    MethodNotAllowed = "method_not_allowed" => METHOD_NOT_ALLOWED,
    MissingSignature = "missing_signature" => UNAUTHORIZED,
    MissingToken = "missing_token" => UNAUTHORIZED,
    NotASession = "not_a_session" => UNPROCESSABLE_ENTITY,
    NotFound = "not_found" => NOT_FOUND,
    NotReady = "not_ready" => SERVICE_UNAVAILABLE,
    PullToken = "pull_token" => FORBIDDEN,
    RateLimited = "rate_limited" => TOO_MANY_REQUESTS,
    RegistrationClosed = "registration_closed" => UNAUTHORIZED,
    ReplayedRequest = "replayed_request" => UNAUTHORIZED,
    SameScope = "same_scope" => UNPROCESSABLE_ENTITY,
    ScopeKindMismatch = "scope_kind_mismatch" => CONFLICT,
    SecretReserved = "secret_reserved" => FORBIDDEN,
    ServerManaged = "server_managed" => UNPROCESSABLE_ENTITY,
    StaleSignature = "stale_signature" => UNAUTHORIZED,
    StorageFull = "storage_full" => INSUFFICIENT_STORAGE,
    Timeout = "timeout" => SERVICE_UNAVAILABLE,
    TooLong = "too_long" => UNPROCESSABLE_ENTITY,
    TokenDisabled = "token_disabled" => UNAUTHORIZED,
    TokenEscalation = "token_escalation" => FORBIDDEN,
    TokenExpired = "token_expired" => UNAUTHORIZED,
    TokenLimited = "token_limited" => FORBIDDEN,
    TokenRevoked = "token_revoked" => CONFLICT,
    UnsupportedMediaType = "unsupported_media_type" => UNSUPPORTED_MEDIA_TYPE,
    ValueTooLarge = "value_too_large" => UNPROCESSABLE_ENTITY,
    VersionConflict = "version_conflict" => CONFLICT,
    WeakPassword = "weak_password" => UNPROCESSABLE_ENTITY,
    WrongPassword = "wrong_password" => FORBIDDEN,
    WrongValueKind = "wrong_value_kind" => UNPROCESSABLE_ENTITY,
}

/// Everything a request can fail with.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// From the store.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A name, slug or tag broke its rule.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A refusal with a stable code; its status follows from the code.
    #[error("{message}")]
    Refused {
        /// Stable code.
        code: ErrorCode,
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
    /// A path that exists, with a method it does not take (405).
    #[error("{method} is not allowed here")]
    MethodNotAllowed {
        /// The method that was used.
        method: String,
    },
    /// The request took longer than the server allows (503).
    #[error("the request took longer than {seconds} s and was stopped; retry later")]
    Timeout {
        /// The configured limit.
        seconds: u64,
    },
}

impl ServiceError {
    /// A refusal with `code` (whose status it answers with).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Refused {
            code,
            message: message.into(),
        }
    }

    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            ServiceError::Store(err) => match err {
                StoreError::NotFound { .. } | StoreError::ForeignScope { .. } => C::NotFound,
                StoreError::AlreadyExists { .. } => C::AlreadyExists,
                StoreError::Conflict { .. } => C::VersionConflict,
                StoreError::ScopeKind { .. } => C::ScopeKindMismatch,
                StoreError::CurrentVersion { .. } => C::CurrentVersion,
                StoreError::VersionDestroyed { .. } => C::VersionDestroyed,
                StoreError::ValueTooLarge { .. } => C::ValueTooLarge,
                StoreError::InvalidValue { .. } => C::InvalidValue,
                StoreError::LimitExceeded { .. } => C::LimitExceeded,
                StoreError::NegativeVersion(_) => C::InvalidBody,
                StoreError::InvalidText { .. } => C::InvalidText,
                StoreError::ClientEncrypted { .. } => C::E2eeProject,
                StoreError::WrongValueKind { .. } => C::WrongValueKind,
                StoreError::Decrypt { .. } => C::DecryptFailed,
                StoreError::WrongMasterKey { .. } => C::MasterKeyMismatch,
                StoreError::Unavailable {
                    kind: Unavailable::DiskFull,
                    ..
                } => C::StorageFull,
                StoreError::Unavailable { .. } => C::DatabaseUnavailable,
                StoreError::Encrypt { .. }
                | StoreError::MasterKeyMismatch { .. }
                | StoreError::UnsupportedUrl { .. }
                | StoreError::SchemaTooNew { .. }
                | StoreError::Decode { .. }
                | StoreError::Database(_) => C::Internal,
            },
            ServiceError::Name(NameError::InvalidSlug { .. }) => C::InvalidSlug,
            ServiceError::Name(NameError::InvalidTag { .. }) => C::InvalidTag,
            ServiceError::Name(NameError::TextTooLong { .. }) => C::TooLong,
            ServiceError::Name(NameError::TextCharacter { .. }) => C::InvalidText,
            ServiceError::Name(_) => C::InvalidName,
            ServiceError::Refused { code, .. } => *code,
            ServiceError::BodyTooLarge { .. } => C::BodyTooLarge,
            ServiceError::NotJson => C::UnsupportedMediaType,
            ServiceError::RateLimited { .. } => C::RateLimited,
            ServiceError::MethodNotAllowed { .. } => C::MethodNotAllowed,
            ServiceError::Timeout { .. } => C::Timeout,
        }
    }

    /// Status and stable code for this error.
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        let code = self.code();
        (code.status(), code)
    }
}

/// The native error body for a code: `{"error":{"code","message"}}`.
pub fn error_response(code: ErrorCode, message: String) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code: code.as_str().to_owned(),
            message,
        },
    };
    (code.status(), Json(body)).into_response()
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
        let code = code.as_str();
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
            other => matches!(
                other.code(),
                ErrorCode::StorageFull
                    | ErrorCode::DatabaseUnavailable
                    | ErrorCode::AuditUnavailable
                    | ErrorCode::NotReady
                    | ErrorCode::Timeout
            )
            .then_some(STORAGE_RETRY_AFTER),
        }
    }
}

/// An error as any surface can render it: its code, the message a client
/// may see, and when to retry.
#[derive(Debug, Clone)]
pub struct ErrorParts {
    /// The stable code.
    pub code: ErrorCode,
    /// The message (nothing internal for 5xx).
    pub message: String,
    /// Seconds to send in `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ErrorParts {
    /// The native envelope `{"error":{"code","message"}}`.
    pub fn native(&self) -> Response {
        error_response(self.code, self.message.clone())
    }
}

impl ServiceError {
    /// What a surface needs to render this error.
    pub fn parts(&self) -> ErrorParts {
        ErrorParts {
            code: self.code(),
            message: self.public_message(),
            retry_after: self.retry_after(),
        }
    }
}

/// The native rendering, carrying the error's parts in the response's
/// extensions so the surface layer can render it in another surface's
/// shape (see `api::surface::classify`).
impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let parts = self.parts();
        let mut response = parts.native();
        if let Some(seconds) = parts.retry_after {
            retry_after(&mut response, seconds);
        }
        response.extensions_mut().insert(parts);
        response
    }
}

impl From<JsonRejection> for ServiceError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonDataError(err) => {
                ServiceError::new(ErrorCode::InvalidBody, err.body_text())
            }
            JsonRejection::JsonSyntaxError(err) => {
                ServiceError::new(ErrorCode::InvalidJson, err.body_text())
            }
            JsonRejection::MissingJsonContentType(_) => ServiceError::NotJson,
            other => ServiceError::new(ErrorCode::InvalidJson, other.body_text()),
        }
    }
}

impl From<QueryRejection> for ServiceError {
    fn from(rejection: QueryRejection) -> Self {
        ServiceError::new(ErrorCode::InvalidQuery, rejection.body_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hush_core::NameRule;

    fn code(err: ServiceError) -> (u16, &'static str) {
        let (s, c) = err.status_and_code();
        (s.as_u16(), c.as_str())
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
            code(ServiceError::new(ErrorCode::InvalidToken, "x")),
            (401, "invalid_token")
        );
        assert_eq!(
            code(ServiceError::new(ErrorCode::InsufficientScope, "x")),
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
