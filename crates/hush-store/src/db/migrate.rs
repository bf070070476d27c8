//! Schema migrations, applied by the writer before it takes any write.
//!
//! All pending migrations run in one transaction: a failure leaves the
//! database as it was. On PostgreSQL an advisory lock makes replicas that
//! start together take turns. A migration is SQL, optionally followed by a
//! data conversion written in Rust (run through the same transaction).

use std::collections::BTreeMap;

use super::{params, Row, Tx};
use crate::error::{DbError, Result, StoreError};
use crate::Backend;

/// Data conversions that SQL alone would make unreadable.
#[derive(Debug, Clone, Copy)]
enum Convert {
    /// Full per-version snapshots (`version_entries`) → changes only
    /// (`version_changes`).
    DeltaVersions,
    /// The unkeyed audit chain → keyed under a new chain key.
    KeyAudit,
}

struct Migration {
    version: i64,
    name: &'static str,
    sql: &'static str,
    convert: Option<Convert>,
}

/// The migrations of one backend's directory, in order. Both backends
/// have the same list; only the SQL differs.
macro_rules! migrations {
    ($dir:literal) => {
        &[
            migration!($dir, 1, "init", "0001_init.sql"),
            migration!($dir, 2, "tokens", "0002_tokens.sql"),
            migration!($dir, 3, "audit", "0003_audit.sql"),
            migration!($dir, 4, "users", "0004_users.sql"),
            migration!($dir, 5, "project_roles", "0005_project_roles.sql"),
            migration!($dir, 6, "vaultenv", "0006_vaultenv.sql"),
            migration!($dir, 7, "e2ee", "0007_e2ee.sql"),
            Migration {
                convert: Some(Convert::DeltaVersions),
                ..migration!($dir, 8, "version_changes", "0008_version_changes.sql")
            },
            migration!($dir, 9, "settings", "0009_settings.sql"),
            migration!($dir, 10, "audit_growth", "0010_audit_growth.sql"),
            Migration {
                convert: Some(Convert::KeyAudit),
                ..migration!($dir, 11, "keyed_audit", "0011_keyed_audit.sql")
            },
            migration!($dir, 12, "org_accounts", "0012_org_accounts.sql"),
            migration!($dir, 13, "viewer_policy", "0013_viewer_policy.sql"),
            migration!($dir, 14, "token_last_used", "0014_token_last_used.sql"),
            migration!($dir, 15, "version_states", "0015_version_states.sql"),
            migration!($dir, 16, "secret_last_used", "0016_secret_last_used.sql"),
            migration!($dir, 17, "key_verifications", "0017_key_verifications.sql"),
            migration!($dir, 18, "dashboard", "0018_dashboard.sql"),
        ]
    };
}

macro_rules! migration {
    ($dir:literal, $version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!("../../migrations/", $dir, "/", $file)),
            convert: None,
        }
    };
}

const SQLITE: &[Migration] = migrations!("sqlite");
const POSTGRES: &[Migration] = migrations!("postgres");

fn list(backend: Backend) -> &'static [Migration] {
    match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    }
}

/// The last migration's version (the same on both backends).
pub(crate) fn latest() -> i64 {
    SQLITE.last().map_or(0, |m| m.version)
}

/// How many migrations this build knows.
#[cfg(test)]
pub(crate) fn known(backend: Backend) -> usize {
    list(backend).len()
}

/// Applies pending migrations inside the caller's transaction (`master`
/// seals what a conversion creates).
pub(crate) async fn run(tx: &Tx, master: &hush_core::crypto::MasterKey) -> Result<()> {
    let backend = tx.backend();
    if backend == Backend::Postgres {
        tx.script("SELECT pg_advisory_xact_lock(84208420)").await?;
    }
    tx.script(
        "CREATE TABLE IF NOT EXISTS hush_migrations (
            version    BIGINT PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at BIGINT NOT NULL
        )",
    )
    .await?;
    let applied: Vec<i64> = tx
        .rows("SELECT version FROM hush_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect::<Result<_>>()?;
    let known = list(backend).last().map_or(0, |m| m.version);
    if let Some(&found) = applied.iter().max().filter(|&&v| v > known) {
        return Err(StoreError::SchemaTooNew { found, known });
    }
    for migration in list(backend) {
        if applied.contains(&migration.version) {
            continue;
        }
        tx.script(migration.sql).await?;
        if let Some(convert) = migration.convert {
            match convert {
                Convert::DeltaVersions => delta_versions(tx).await?,
                Convert::KeyAudit => crate::audit::key_the_chain(tx, master).await?,
            }
        }
        tx.exec(
            "INSERT INTO hush_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &params![migration.version, migration.name, crate::now_ms()],
        )
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            "applied migration"
        );
    }
    Ok(())
}

/// Fails if a migration run with SQLite's foreign keys off left a row
/// pointing nowhere (so the transaction rolls back instead).
pub(crate) async fn check_foreign_keys(tx: &Tx) -> Result<()> {
    let broken = tx.rows("PRAGMA foreign_key_check", &[]).await?;
    match broken.first() {
        None => Ok(()),
        Some(row) => Err(StoreError::Database(DbError::JobFailed(format!(
            "a migration left {} row(s) with a dangling reference (first in table {})",
            broken.len(),
            row.get::<String>(0)?
        )))),
    }
}

/// The columns of a stored secret state after `name`, in the order both
/// `version_entries` and `version_changes` hold them.
const STATE: &str = "secret_id, value, note, tags, is_active, is_reserved, expires_at, \
     created_at, updated_at, created_by, updated_by";

/// Rewrites every entry scope's snapshots as changes: a version keeps the
/// rows of the names whose state differs from the previous surviving
/// version, and a tombstone for each name that disappeared. The state at
/// every version is unchanged (the migration test compares them all).
async fn delta_versions(tx: &Tx) -> Result<()> {
    let scopes = tx
        .rows(
            "SELECT DISTINCT scope_id FROM version_entries ORDER BY scope_id",
            &[],
        )
        .await?;
    for scope in &scopes {
        let scope: String = scope.get(0)?;
        let versions = tx
            .rows(
                "SELECT version FROM versions WHERE scope_id = $1 ORDER BY version",
                &params![&scope],
            )
            .await?;
        let mut previous: BTreeMap<String, Row> = BTreeMap::new();
        for version in &versions {
            let version: i64 = version.get(0)?;
            let snapshot: BTreeMap<String, Row> = tx
                .rows(
                    &format!(
                        "SELECT name, {STATE} FROM version_entries \
                         WHERE scope_id = $1 AND version = $2"
                    ),
                    &params![&scope, version],
                )
                .await?
                .into_iter()
                .map(|row| Ok((row.get::<String>(0)?, Row(row.0[1..].to_vec()))))
                .collect::<Result<_>>()?;
            for (name, state) in &snapshot {
                if previous.get(name) != Some(state) {
                    insert_change(tx, &scope, name, version, false, state).await?;
                }
            }
            for (name, state) in &previous {
                if !snapshot.contains_key(name) {
                    insert_change(tx, &scope, name, version, true, state).await?;
                }
            }
            previous = snapshot;
        }
    }
    tx.script("DROP TABLE version_entries").await?;
    Ok(())
}

async fn insert_change(
    tx: &Tx,
    scope: &str,
    name: &str,
    version: i64,
    removed: bool,
    state: &Row,
) -> Result<()> {
    let mut values = Vec::from(params![scope, name, version, removed]);
    values.extend(state.0.iter().cloned());
    if removed {
        // A tombstone keeps who and when, not the value.
        values[5] = super::Val::Blob(Vec::new());
    }
    tx.exec(
        &format!(
            "INSERT INTO version_changes (scope_id, name, version, removed, {STATE}) \
             VALUES ({})",
            super::placeholders(0, values.len())
        ),
        &values,
    )
    .await?;
    Ok(())
}
