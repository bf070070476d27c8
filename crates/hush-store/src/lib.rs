//! hush-store: persistence for hush on SQLite (embedded default) and
//! PostgreSQL.
//!
//! The store owns the database schema, the encryption of values at rest
//! (server-mode projects) and each scope's version log. Callers hand it
//! validated input ([`hush_core::SecretName`], [`hush_core::Slug`]) and
//! resolved [`Scope`]s; it hands back records. No wire format of any API
//! leaks in here.

mod audit;
mod backup;
pub(crate) mod db;
mod e2ee;
mod error;
mod key_verification;
mod keyring;
mod model;
mod orgs;
mod rows;
mod secrets;
mod signing;
mod tokens;
mod users;
mod vaultenv;
mod versions;

use std::time::{SystemTime, UNIX_EPOCH};

use hush_core::crypto::MasterKey;

pub use audit::{
    audit_now, AuditAnchor, AuditEntry, AuditProblem, AuditQuery, AuditRecord, AuditVerification,
    CheckpointCheck,
};
pub use backup::{backup, verify_file, BackupError, BackupHeader, BackupSummary, Progress};
pub use db::WriterStatus;
pub use error::{DbError, Result, StoreError, Unavailable};
pub use key_verification::KeyVerification;
pub use model::*;
pub use tokens::{NewToken, TokenKind, TokenRecord, TOUCH_EVERY_MS};
pub use users::{Membership, UserRecord};
pub use vaultenv::{Device, VaultKey};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded, single-process.
    Sqlite,
    /// Shared; several `hush serve` replicas may use one database.
    Postgres,
}

impl Backend {
    /// Detects the backend from a database URL.
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl {
                scheme: scheme.to_owned(),
            }),
        }
    }
}

/// Size limits enforced on writes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest plaintext value, in bytes (default 64 KiB, as Hep.gg documents).
    pub max_value_bytes: usize,
    /// Largest client-made ciphertext for one value. Client ciphertext is
    /// usually base64 of the encrypted value, so the default leaves room for
    /// a 64 KiB value after that expansion.
    pub max_ciphertext_bytes: usize,
    /// Largest opaque blob (vault-env, DotEnv client-managed).
    pub max_blob_bytes: usize,
    /// Most secrets one scope (a project, target or environment level)
    /// may hold: a scope is read whole on every pull.
    pub max_entries_per_scope: usize,
    /// Longest note on a secret, in characters.
    pub max_note_chars: usize,
    /// Most tags on one secret.
    pub max_tags: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_value_bytes: 64 * 1024,
            max_ciphertext_bytes: 96 * 1024,
            max_blob_bytes: 1024 * 1024,
            max_entries_per_scope: 10_000,
            max_note_chars: 4096,
            max_tags: 32,
        }
    }
}

/// How to open a store.
pub struct StoreOptions {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// The key that wraps every project's data key.
    pub master_key: MasterKey,
    /// During a master-key rotation, a second key accepted for reading
    /// (see `rotate_master_key`); `None` otherwise.
    pub accepted_master_key: Option<MasterKey>,
    /// Write limits.
    pub limits: Limits,
    /// Reader connections (SQLite) or total connections (PostgreSQL).
    pub max_connections: u32,
}

impl StoreOptions {
    /// Defaults for everything but the database and the key.
    pub fn new(database_url: impl Into<String>, master_key: MasterKey) -> Self {
        Self {
            database_url: database_url.into(),
            master_key,
            accepted_master_key: None,
            limits: Limits::default(),
            max_connections: 8,
        }
    }
}

/// What [`Store::stats`] reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DbStats {
    /// Write batches run since start.
    pub write_batches: u64,
    /// Writes those batches held.
    pub writes: u64,
    /// Writes waiting for the writer now.
    pub write_queue: usize,
    /// Read connections open (PostgreSQL; 0 on SQLite).
    pub pool_open: usize,
    /// Of those, idle.
    pub pool_idle: usize,
}

/// A handle on the database. Cheap to share behind an `Arc`; all methods
/// take `&self`.
pub struct Store {
    backend: Backend,
    db: db::Db,
    keys: keyring::Keyring,
    limits: Limits,
}

impl Store {
    /// Connects, applies pending migrations, and returns a ready store.
    pub async fn open(options: StoreOptions) -> Result<Self> {
        let backend = Backend::from_url(&options.database_url)?;
        let keys = keyring::MasterKeys {
            current: std::sync::Arc::new(options.master_key),
            accepted: options.accepted_master_key.map(std::sync::Arc::new),
        };
        let db = db::Db::open(
            &options.database_url,
            backend,
            options.max_connections,
            keys.clone(),
        )
        .await?;
        Ok(Self {
            backend,
            db,
            keys: keyring::Keyring::new(keys),
            limits: options.limits,
        })
    }

    /// Which database this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The write limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Counters for monitoring: group-commit batches and the writes they
    /// held, writes waiting, and the read pool's connections.
    pub fn stats(&self) -> DbStats {
        self.db.stats()
    }

    /// Checks that the database answers reads (for readiness probes).
    pub async fn ping(&self) -> Result<()> {
        self.db.ping().await
    }

    /// Whether writes commit. `probe` makes a tiny real write to find out;
    /// otherwise the last batch's outcome is trusted for up to 30 s.
    pub async fn writer_status(&self, probe: bool) -> WriterStatus {
        self.db.writer_status(probe).await
    }

    /// Lets queued writes commit, then closes all connections.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

/// Current time in unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A new random id in UUID v4 form: unguessable, so ids in URLs do not
/// reveal how many objects exist.
pub(crate) fn new_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
