//! hush-store: persistence for hush on SQLite (embedded default) and
//! PostgreSQL.
//!
//! The store owns the database schema, the encryption of values at rest
//! (server-mode projects) and each scope's version log. Callers hand it
//! validated input ([`hush_core::SecretName`], [`hush_core::Slug`]) and
//! resolved [`Scope`]s; it hands back records. No wire format of any API
//! leaks in here.

mod audit;
mod db;
mod e2ee;
mod error;
mod keyring;
mod model;
mod orgs;
mod rows;
mod secrets;
mod sqlite_reads;
mod tokens;
mod users;
mod vaultenv;
mod versions;

use std::time::{SystemTime, UNIX_EPOCH};

use hush_core::crypto::MasterKey;

pub use audit::{audit_now, AuditEntry, AuditQuery, AuditRecord, AuditVerification};
pub use db::Backend;
pub use error::{Result, StoreError};
pub use model::*;
/// The database error type wrapped by [`StoreError::Database`].
pub use sqlx::Error as SqlxError;
pub use tokens::{NewToken, TokenKind, TokenRecord};
pub use users::{Membership, UserRecord};
pub use vaultenv::{Device, VaultKey};

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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_value_bytes: 64 * 1024,
            max_ciphertext_bytes: 96 * 1024,
            max_blob_bytes: 1024 * 1024,
        }
    }
}

/// How to open a store.
pub struct StoreOptions {
    /// `sqlite://PATH` or `postgres://…`.
    pub database_url: String,
    /// The key that wraps every project's data key.
    pub master_key: MasterKey,
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
            limits: Limits::default(),
            max_connections: 8,
        }
    }
}

/// A handle on the database. Cheap to share behind an `Arc`; all methods
/// take `&self`.
pub struct Store {
    backend: Backend,
    pools: db::Pools,
    keys: keyring::Keyring,
    limits: Limits,
}

impl Store {
    /// Connects, applies pending migrations, and returns a ready store.
    pub async fn open(options: StoreOptions) -> Result<Self> {
        let backend = Backend::from_url(&options.database_url)?;
        let pools = db::connect(&options.database_url, backend, options.max_connections).await?;
        Ok(Self {
            backend,
            pools,
            keys: keyring::Keyring::new(options.master_key),
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

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pools.read).await?;
        Ok(())
    }

    /// Closes all connections, waiting for in-flight queries.
    pub async fn close(&self) {
        self.pools.write.close().await;
        self.pools.read.close().await;
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
