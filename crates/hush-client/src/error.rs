//! What can go wrong talking to a hush server, classified so a caller (the
//! CLI's exit codes, an app's retry logic) can act on the kind of failure.

use std::path::PathBuf;

use thiserror::Error;

/// A client failure. Messages name things (URLs, files, codes), never a
/// secret value or a token.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Options are missing or malformed.
    #[error("{0}")]
    Config(String),
    /// The server could not be reached (connection refused, DNS, TLS,
    /// timeout).
    #[error("cannot reach the hush server at {url}: {reason}")]
    Network {
        /// Base URL.
        url: String,
        /// What failed, without the request URL (it may carry a token).
        reason: String,
    },
    /// 401 or 403: the token is missing, invalid, expired, revoked, or
    /// lacks a scope.
    #[error("{message} ({code})")]
    Auth {
        /// HTTP status.
        status: u16,
        /// The server's stable code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// 404: the organization, project, environment, secret or version does
    /// not exist (or is outside the token's reach).
    #[error("{message} ({code})")]
    NotFound {
        /// The server's stable code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// Any other error answer.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's stable code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server answered something that is not what its API promises.
    #[error("unexpected answer from the hush server: {0}")]
    Protocol(String),
    /// The last-good cache exists but cannot be trusted or read.
    #[error("the cache file {path} {reason}")]
    Cache {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// The project is end-to-end encrypted and this call needs plaintext.
    #[error("project is end-to-end encrypted: {0}")]
    E2ee(String),
}

impl ClientError {
    /// True when the failure means the server was not reachable, so a
    /// cached copy may stand in.
    pub fn is_network(&self) -> bool {
        matches!(self, ClientError::Network { .. })
            || matches!(self, ClientError::Api { status, .. } if *status >= 500)
    }

    /// The server's stable error code, if the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Auth { code, .. }
            | ClientError::NotFound { code, .. }
            | ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// `Result` with a [`ClientError`].
pub type Result<T> = std::result::Result<T, ClientError>;
