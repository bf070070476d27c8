//! Connections and migrations for both backends.
//!
//! Both backends run the same SQL text through sqlx's `Any` driver: queries
//! use `$N` placeholders (native to PostgreSQL, accepted by SQLite), times
//! are integers and flags are 0/1, so only the DDL differs per backend.
//!
//! SQLite gets two pools: several readers, and exactly one writer
//! connection. WAL lets readers proceed during a write, and the single
//! writer serializes writes in-process, so a write never fails with
//! SQLITE_BUSY. PostgreSQL uses one pool; writers to the same scope
//! serialize on that scope's row lock (see `secrets.rs`).

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::{Executor, Row};

use crate::error::{Result, StoreError};
use crate::rows::{self, SecretRow};
use crate::sqlite_reads::SqliteReads;

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

    fn migrations(self) -> &'static [Migration] {
        match self {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        }
    }
}

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
}

/// The migrations of one backend's directory, in order. Both backends
/// have the same list; only the SQL differs.
macro_rules! migrations {
    ($dir:literal) => {
        &[
            Migration {
                version: 1,
                name: "init",
                sql: include_str!(concat!("../migrations/", $dir, "/0001_init.sql")),
            },
            Migration {
                version: 2,
                name: "tokens",
                sql: include_str!(concat!("../migrations/", $dir, "/0002_tokens.sql")),
            },
            Migration {
                version: 3,
                name: "audit",
                sql: include_str!(concat!("../migrations/", $dir, "/0003_audit.sql")),
            },
            Migration {
                version: 4,
                name: "users",
                sql: include_str!(concat!("../migrations/", $dir, "/0004_users.sql")),
            },
            Migration {
                version: 5,
                name: "project_roles",
                sql: include_str!(concat!("../migrations/", $dir, "/0005_project_roles.sql")),
            },
            Migration {
                version: 6,
                name: "vaultenv",
                sql: include_str!(concat!("../migrations/", $dir, "/0006_vaultenv.sql")),
            },
            Migration {
                version: 7,
                name: "e2ee",
                sql: include_str!(concat!("../migrations/", $dir, "/0007_e2ee.sql")),
            },
        ]
    };
}

const SQLITE_MIGRATIONS: &[Migration] = migrations!("sqlite");
const POSTGRES_MIGRATIONS: &[Migration] = migrations!("postgres");

const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// The reader and writer pools (the same pool on PostgreSQL), plus the
/// SQLite fast read path.
pub(crate) struct Pools {
    pub(crate) read: AnyPool,
    pub(crate) write: AnyPool,
    pub(crate) sqlite_reads: Option<Arc<SqliteReads>>,
}

impl Pools {
    /// Secret rows for a query selecting `scope_id, id, SECRET_FIELDS`
    /// with text parameters: the read behind every pull.
    pub(crate) async fn secret_rows(
        &self,
        sql: String,
        binds: Vec<String>,
    ) -> Result<Vec<SecretRow>> {
        if let Some(fast) = &self.sqlite_reads {
            return fast.secret_rows(&sql, &binds);
        }
        let mut query = sqlx::query(&sql);
        for bind in &binds {
            query = query.bind(bind);
        }
        let found = query.fetch_all(&self.read).await?;
        Ok(found
            .iter()
            .map(rows::secret)
            .collect::<sqlx::Result<_>>()?)
    }

    /// `(scope id, current_version)` for those of `keys` that exist.
    pub(crate) async fn scope_versions(&self, keys: &[String]) -> Result<Vec<(String, i64)>> {
        let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, current_version FROM scopes WHERE id IN ({})",
            placeholders.join(", ")
        );
        if let Some(fast) = &self.sqlite_reads {
            return fast.scope_versions(&sql, keys);
        }
        let mut query = sqlx::query(&sql);
        for key in keys {
            query = query.bind(key);
        }
        let found = query.fetch_all(&self.read).await?;
        Ok(found
            .iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect::<sqlx::Result<_>>()?)
    }
}

pub(crate) async fn connect(url: &str, backend: Backend, max_connections: u32) -> Result<Pools> {
    sqlx::any::install_default_drivers();
    match backend {
        Backend::Sqlite => {
            let url = sqlite_url(url);
            let write = sqlite_pool(1).connect(&url).await?;
            // Migrate through the writer before readers open the file.
            migrate(&write, backend).await?;
            let read = sqlite_pool(max_connections.max(1)).connect(&url).await?;
            let sqlite_reads = Some(SqliteReads::new(&url, max_connections as usize)?);
            Ok(Pools {
                read,
                write,
                sqlite_reads,
            })
        }
        Backend::Postgres => {
            let pool = AnyPoolOptions::new()
                .max_connections(max_connections.max(2))
                .acquire_timeout(Duration::from_secs(30))
                .connect(url)
                .await?;
            migrate(&pool, backend).await?;
            Ok(Pools {
                read: pool.clone(),
                write: pool,
                sqlite_reads: None,
            })
        }
    }
}

/// Adds `mode=rwc` (create if missing) unless the URL sets a mode itself.
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

fn sqlite_pool(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                conn.execute(sqlx::raw_sql(SQLITE_PRAGMAS)).await?;
                Ok(())
            })
        })
}

/// Applies pending migrations in one transaction. On PostgreSQL an advisory
/// lock makes replicas that start together take turns.
async fn migrate(pool: &AnyPool, backend: Backend) -> Result<()> {
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        tx.execute(sqlx::raw_sql(
            "DO $$ BEGIN PERFORM pg_advisory_xact_lock(84208420); END $$;",
        ))
        .await?;
    }
    tx.execute(sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS hush_migrations (
            version    BIGINT PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    ))
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM hush_migrations")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    let known = backend.migrations().last().map_or(0, |m| m.version);
    if let Some(&found) = applied.iter().max().filter(|&&v| v > known) {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for migration in backend.migrations() {
        if applied.contains(&migration.version) {
            continue;
        }
        tx.execute(sqlx::raw_sql(migration.sql)).await?;
        sqlx::query("INSERT INTO hush_migrations (version, name, applied_at) VALUES ($1, $2, $3)")
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::now_ms())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every SQLite connection, reader or writer, runs with the durability
    /// and integrity settings the store relies on.
    #[tokio::test]
    async fn sqlite_connections_use_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let pools = connect(&url, Backend::Sqlite, 2).await.unwrap();
        for pool in [&pools.read, &pools.write] {
            let mut conn = pool.acquire().await.unwrap();
            let get = |sql: &'static str| sqlx::query(sql);
            let mode: String = get("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            let sync: i64 = get("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            let fks: i64 = get("PRAGMA foreign_keys")
                .fetch_one(&mut *conn)
                .await
                .unwrap()
                .get(0);
            assert_eq!((mode.as_str(), sync, fks), ("wal", 2, 1));
        }
        // Reopening applies no migration twice.
        drop(pools);
        let again = connect(&url, Backend::Sqlite, 1).await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM hush_migrations")
            .fetch_one(&again.read)
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, SQLITE_MIGRATIONS.len() as i64);
    }

    #[test]
    fn backend_from_url_hides_everything_but_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::from_url("mysql://root:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"mysql\"") && !err.contains("pw"), "{err}");
    }
}
