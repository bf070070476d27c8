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
    /// An `expected_version` below 0 (versions count from 1; 0 is a scope
    /// never written).
    #[error("expected_version is a version number (0 for a scope never written), not {0}")]
    NegativeVersion(i64),
    /// A write that would take something past a limit.
    #[error("{what}: {count} would exceed the limit of {max}{hint}")]
    LimitExceeded {
        /// What is counted, e.g. "secrets in scope web/production".
        what: String,
        /// How many there would be.
        count: usize,
        /// The limit.
        max: usize,
        /// Where the limit is set, if it can be (", see --max-…").
        hint: &'static str,
    },
    /// Free text (a note) the store refuses.
    #[error("{what}: {reason}")]
    InvalidText {
        /// Whose text, e.g. the secret's name.
        what: String,
        /// Why.
        reason: String,
    },
    /// A value the store refuses (e.g. one no environment variable can hold).
    #[error("value of {name} is refused: {reason}")]
    InvalidValue {
        /// The secret's name.
        name: String,
        /// Why.
        reason: &'static str,
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
    /// The database's keys are sealed with another master key than the one
    /// this process was given.
    #[error(
        "this database is sealed with master key {database}, but this server was started with \
         master key {given}: start it with the key the database was made with (every replica \
         of one database needs the same --master-key-file or HUSH_MASTER_KEY)"
    )]
    MasterKeyMismatch {
        /// Fingerprint recorded in the database.
        database: String,
        /// Fingerprint of the key in use.
        given: String,
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
    /// A version whose values were destroyed (KV v2's `destroy`).
    #[error("version {version} was destroyed: its values are gone")]
    VersionDestroyed {
        /// The version.
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
    /// The database cannot take this request now: a full disk, a lock
    /// held too long, or an outage. Nothing was written; retrying later is
    /// safe.
    #[error("{kind}")]
    Unavailable {
        /// Which kind of trouble.
        kind: Unavailable,
        /// The underlying failure, for the server log (never for clients).
        cause: String,
    },
    /// A stored row did not have the expected shape.
    #[error("unexpected value in column {column}: expected {expected}")]
    Decode {
        /// The column's position in the query.
        column: usize,
        /// The type that was expected.
        expected: &'static str,
    },
    /// Any other database failure (a constraint or statement the code did
    /// not expect).
    #[error("database error")]
    Database(#[source] DbError),
}

/// Why the database cannot take a request right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The disk holding the database is full.
    DiskFull,
    /// The database is locked or overloaded.
    Busy,
    /// The database cannot be reached or failed (connection, I/O).
    Outage,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unavailable::DiskFull => {
                "the database's disk is full, so nothing was written; retry once space is freed"
            }
            Unavailable::Busy => "the database is busy, so nothing was written; retry shortly",
            Unavailable::Outage => {
                "the database cannot be reached, so nothing was done; retry shortly"
            }
        })
    }
}

/// A failure of the database driver.
#[derive(Debug, Error)]
pub enum DbError {
    /// From SQLite.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// From PostgreSQL.
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    /// A statement or connection attempt took too long.
    #[error("the database did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The write queue is closed (the store is shutting down).
    #[error("the database writer has stopped")]
    WriterStopped,
    /// A write job failed in a way that leaves its transaction unusable.
    #[error("a write job failed: {0}")]
    JobFailed(String),
}

impl DbError {
    /// Whether this failure means the database cannot be used right now
    /// (as opposed to a statement that failed on its own).
    pub fn unavailable(&self) -> Option<Unavailable> {
        match self {
            DbError::Sqlite(err) => sqlite_unavailable(err),
            DbError::Postgres(err) => postgres_unavailable(err),
            DbError::Timeout(_) | DbError::WriterStopped | DbError::JobFailed(_) => {
                Some(Unavailable::Outage)
            }
        }
    }

    /// Whether a unique constraint refused the statement.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(err, _)) => {
                err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || err.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            DbError::Postgres(err) => err
                .as_database_error()
                .is_some_and(|db| db.code().as_deref() == Some("23505")),
            _ => false,
        }
    }
}

fn sqlite_unavailable(err: &rusqlite::Error) -> Option<Unavailable> {
    use rusqlite::ErrorCode as C;
    let rusqlite::Error::SqliteFailure(err, _) = err else {
        return None;
    };
    match err.code {
        C::DiskFull => Some(Unavailable::DiskFull),
        C::DatabaseBusy | C::DatabaseLocked => Some(Unavailable::Busy),
        C::SystemIoFailure
        | C::DatabaseCorrupt
        | C::NotADatabase
        | C::OutOfMemory
        | C::ReadOnly
        | C::CannotOpen
        | C::FileLockingProtocolFailed
        | C::PermissionDenied
        | C::OperationAborted
        | C::OperationInterrupted => Some(Unavailable::Outage),
        _ => None,
    }
}

fn postgres_unavailable(err: &sqlx::Error) -> Option<Unavailable> {
    match err {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            if code == "53100" {
                Some(Unavailable::DiskFull)
            } else if code.starts_with("53") || code.starts_with("40") || code == "57014" {
                Some(Unavailable::Busy)
            } else if code.starts_with("08")
                || code.starts_with("57")
                || code.starts_with("58")
                || code.starts_with("XX")
            {
                Some(Unavailable::Outage)
            } else {
                None
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(Unavailable::Outage),
        _ => None,
    }
}

impl From<DbError> for StoreError {
    fn from(err: DbError) -> Self {
        match err.unavailable() {
            Some(kind) => StoreError::Unavailable {
                kind,
                cause: error_chain(&err),
            },
            None => StoreError::Database(err),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        DbError::from(err).into()
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        DbError::from(err).into()
    }
}

impl StoreError {
    /// Whether this error means the database could not be used (so the
    /// transaction it happened in cannot go on).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }

    /// The same failure for another caller of a failed batch.
    pub(crate) fn for_batch(&self) -> StoreError {
        match self {
            StoreError::Unavailable { kind, cause } => StoreError::Unavailable {
                kind: *kind,
                cause: cause.clone(),
            },
            other => StoreError::Unavailable {
                kind: Unavailable::Outage,
                cause: error_chain(other),
            },
        }
    }
}

/// An error and its sources, for logs.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Shorthand for store results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Turns a unique-constraint violation into [`StoreError::AlreadyExists`].
pub(crate) fn or_exists(kind: &'static str, what: &str) -> impl FnOnce(StoreError) -> StoreError {
    let what = what.to_owned();
    move |err| match err {
        StoreError::Database(db) if db.is_unique_violation() => {
            StoreError::AlreadyExists { kind, what }
        }
        other => other,
    }
}

pub(crate) fn not_found(kind: &'static str, what: impl Into<String>) -> StoreError {
    StoreError::NotFound {
        kind,
        what: what.into(),
    }
}
