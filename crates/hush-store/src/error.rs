//! The store's one error type.
//!
//! Every variant a caller can act on is distinct and typed; messages name
//! what was wrong (names, slugs, version numbers) and never a secret value.
//! Database failures are wrapped whole so the server can log them and tell
//! the client nothing internal.

use hush_core::crypto::CryptoError;
use thiserror::Error;

/// Why a store operation failed. Nothing was written when one is returned.
#[derive(Debug, Error)]
pub enum StoreError {
    /// An organization, project, target, environment, secret or version
    /// that does not exist.
    #[error("{kind} not found: {what}")]
    NotFound {
        /// What kind of thing was looked up.
        kind: &'static str,
        /// Which one.
        what: String,
    },
    /// A slug or secret name already taken among its siblings.
    #[error("{kind} already exists: {what}")]
    AlreadyExists {
        /// What kind of thing.
        kind: &'static str,
        /// Which one.
        what: String,
    },
    /// A value over the configured size limit.
    #[error("value of {name} is {len} bytes; the limit is {max} bytes")]
    ValueTooLarge {
        /// The secret's name (or "blob").
        name: String,
        /// The refused size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A check-and-set write whose expected version was not current.
    #[error("version conflict: the write expected version {expected}, but the scope is at version {actual}")]
    Conflict {
        /// The version the writer expected.
        expected: i64,
        /// The scope's actual current version.
        actual: i64,
    },
    /// Plaintext asked of a project whose values only its clients can read.
    #[error("project {project} is end-to-end encrypted: the server holds no key and cannot decrypt its values")]
    ClientEncrypted {
        /// The project's slug.
        project: String,
    },
    /// A value of the wrong kind for the project's encryption mode
    /// (plaintext for a client-encrypted project or ciphertext for a
    /// server-encrypted one).
    #[error("project {project} uses {mode} encryption: {expected}")]
    WrongValueKind {
        /// The project's slug.
        project: String,
        /// The project's mode.
        mode: &'static str,
        /// What it expects instead.
        expected: &'static str,
    },
    /// Stored ciphertext failed to decrypt: tampered, moved, or a key mismatch.
    #[error("cannot decrypt {what}: {source}")]
    Decrypt {
        /// Which value or key.
        what: String,
        /// The cryptographic failure.
        source: CryptoError,
    },
    /// Encryption failed (only for inputs beyond AES-GCM's limits).
    #[error("cannot encrypt {what}: {source}")]
    Encrypt {
        /// Which value or key.
        what: String,
        /// The cryptographic failure.
        source: CryptoError,
    },
    /// The server was started with a different master key than the one
    /// that wrapped a project's data key.
    #[error("project {project} was encrypted under master key {stored}, but this server runs with master key {current}")]
    WrongMasterKey {
        /// The project's slug.
        project: String,
        /// Fingerprint recorded with the project.
        stored: String,
        /// Fingerprint of the key in use.
        current: String,
    },
    /// An entry operation on a blob scope, or the reverse.
    #[error("this scope holds {actual}, so it cannot take {attempted}")]
    ScopeKind {
        /// What the scope holds.
        actual: &'static str,
        /// What the write tried to put there.
        attempted: &'static str,
    },
    /// A target or environment used with a project it does not belong to.
    #[error("{kind} {slug} belongs to another project")]
    ForeignScope {
        /// "target" or "environment".
        kind: &'static str,
        /// Its slug.
        slug: String,
    },
    /// Deleting the version that holds the current state.
    #[error("version {version} is the current state of this scope and cannot be deleted; write or restore first")]
    CurrentVersion {
        /// The refused version.
        version: i64,
    },
    /// A database URL whose scheme is neither sqlite: nor postgres:.
    #[error("unsupported database URL scheme {scheme:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl {
        /// The scheme (the rest of the URL may hold a password).
        scheme: String,
    },
    /// The database schema is newer than this build understands.
    #[error("the database schema is at version {found}, newer than this hush supports ({known}); upgrade hush")]
    SchemaTooNew {
        /// Highest migration recorded in the database.
        found: i64,
        /// Highest migration this build has.
        known: i64,
    },
    /// Any other database failure (connection, IO, constraint).
    #[error("database error")]
    Database(#[source] sqlx::Error),
    /// A failure on the SQLite fast read path.
    #[error("database error")]
    Sqlite(#[source] rusqlite::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        StoreError::Database(err)
    }
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Turns a unique-constraint violation into [`StoreError::AlreadyExists`].
pub(crate) fn or_exists(kind: &'static str, what: &str) -> impl FnOnce(sqlx::Error) -> StoreError {
    let what = what.to_owned();
    move |err| match err.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::AlreadyExists { kind, what },
        _ => StoreError::Database(err),
    }
}

pub(crate) fn not_found(kind: &'static str, what: impl Into<String>) -> StoreError {
    StoreError::NotFound {
        kind,
        what: what.into(),
    }
}
