//! Each scope's version log.
//!
//! Every write bumps the scope's `current_version` with one
//! `UPDATE … RETURNING`. On PostgreSQL that statement row-locks the scope
//! until commit, so concurrent writers to one scope queue up and each gets
//! the next number; on SQLite the single writer connection serializes them.
//! The same statement carries the check-and-set condition.
//!
//! After the write, the scope's full state is copied into
//! `version_entries` under the new number, so reading, diffing or restoring
//! any version is a plain lookup and deleting one version never damages
//! another.

use std::collections::BTreeMap;
use std::sync::Arc;

use hush_core::crypto::DataKey;

use sqlx::any::Any;
use sqlx::{Row, Transaction};

use crate::error::{not_found, Result, StoreError};
use crate::model::*;
use crate::rows::{self, SecretRow};
use crate::secrets::decrypt_row;
use crate::{now_ms, Store};

/// What a scope holds; fixed by its first write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Entries,
    Blob,
}

impl ScopeKind {
    fn as_str(self) -> &'static str {
        match self {
            ScopeKind::Entries => "entries",
            ScopeKind::Blob => "blob",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ScopeKind::Entries => "individual secrets",
            ScopeKind::Blob => "an encrypted blob",
        }
    }
}

/// A version about to be recorded.
pub(crate) struct WriteRecord {
    pub(crate) version: i64,
    pub(crate) action: Action,
    pub(crate) changed_keys: Vec<String>,
    pub(crate) restored_from: Option<i64>,
    pub(crate) blob: Option<Vec<u8>>,
}

impl WriteRecord {
    /// Records the version and, for entry scopes, snapshots the state.
    pub(crate) async fn save(
        self,
        tx: &mut Transaction<'static, Any>,
        scope: &Scope,
        author: &str,
        now: i64,
    ) -> Result<VersionInfo> {
        sqlx::query(
            "INSERT INTO versions (scope_id, version, action, changed_keys, restored_from, blob, \
             created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&scope.key)
        .bind(self.version)
        .bind(self.action.as_str())
        .bind(rows::join_keys(&self.changed_keys))
        .bind(self.restored_from)
        .bind(self.blob)
        .bind(now)
        .bind(author)
        .execute(&mut **tx)
        .await?;
        if self.action != Action::Blob {
            let sql = format!(
                "INSERT INTO version_entries (scope_id, version, secret_id, {fields}) \
                 SELECT scope_id, $2, id, {fields} FROM secrets WHERE scope_id = $1",
                fields = rows::SECRET_FIELDS
            );
            sqlx::query(&sql)
                .bind(&scope.key)
                .bind(self.version)
                .execute(&mut **tx)
                .await?;
        }
        Ok(VersionInfo {
            version: self.version,
            action: self.action,
            changed_keys: self.changed_keys,
            restored_from: self.restored_from,
            created_at: now,
            created_by: author.to_owned(),
        })
    }
}

impl Store {
    /// Creates the scope row if needed, then takes the next version number
    /// (locking the scope until the transaction ends).
    pub(crate) async fn bump(
        &self,
        tx: &mut Transaction<'static, Any>,
        scope: &Scope,
        kind: ScopeKind,
        expected: Option<i64>,
        now: i64,
    ) -> Result<i64> {
        sqlx::query(
            "INSERT INTO scopes (id, project_id, target_id, environment_id, kind, \
             current_version, updated_at) VALUES ($1, $2, $3, $4, $5, 0, $6) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&scope.key)
        .bind(&scope.project_id)
        .bind(scope.target_id.as_deref())
        .bind(scope.environment_id.as_deref())
        .bind(kind.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
        let bumped = sqlx::query(
            "UPDATE scopes SET current_version = current_version + 1, updated_at = $2 \
             WHERE id = $1 AND ($3 < 0 OR current_version = $3) \
             RETURNING current_version, kind",
        )
        .bind(&scope.key)
        .bind(now)
        .bind(expected.unwrap_or(-1))
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = bumped else {
            let actual: i64 = sqlx::query("SELECT current_version FROM scopes WHERE id = $1")
                .bind(&scope.key)
                .fetch_one(&mut **tx)
                .await?
                .try_get(0)?;
            return Err(StoreError::Conflict {
                expected: expected.unwrap_or(-1),
                actual,
            });
        };
        let stored: String = row.try_get("kind")?;
        if stored != kind.as_str() {
            let actual = if stored == "blob" {
                ScopeKind::Blob
            } else {
                ScopeKind::Entries
            };
            return Err(StoreError::ScopeKind {
                actual: actual.describe(),
                attempted: kind.describe(),
            });
        }
        Ok(row.try_get("current_version")?)
    }

    /// The scope's current version: 0 if it was never written. One indexed
    /// lookup, cheap enough to poll.
    pub async fn current_version(&self, scope: &Scope) -> Result<i64> {
        let row = sqlx::query("SELECT current_version FROM scopes WHERE id = $1")
            .bind(&scope.key)
            .fetch_optional(&self.pools.read)
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }

    /// The current version of this scope and each scope it inherits from,
    /// shallowest first (0 for a scope never written): together they change
    /// whenever the merged view may have. One small indexed query.
    pub async fn lineage_versions(&self, scope: &Scope) -> Result<Vec<i64>> {
        let lineage = scope.lineage();
        let keys: Vec<String> = lineage.iter().map(|(_, key)| key.clone()).collect();
        let found = self.pools.scope_versions(&keys).await?;
        Ok(keys
            .iter()
            .map(|key| {
                found
                    .iter()
                    .find(|(id, _)| id == key)
                    .map_or(0, |(_, v)| *v)
            })
            .collect())
    }

    /// The scope's version log, newest first.
    pub async fn versions(&self, scope: &Scope) -> Result<Vec<VersionInfo>> {
        let sql = format!(
            "SELECT {} FROM versions WHERE scope_id = $1 ORDER BY version DESC",
            rows::VERSION_COLUMNS
        );
        let all = sqlx::query(&sql)
            .bind(&scope.key)
            .fetch_all(&self.pools.read)
            .await?;
        Ok(all.iter().map(rows::version).collect::<sqlx::Result<_>>()?)
    }

    /// One version's log entry.
    pub async fn version(&self, scope: &Scope, version: i64) -> Result<VersionInfo> {
        let sql = format!(
            "SELECT {} FROM versions WHERE scope_id = $1 AND version = $2",
            rows::VERSION_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(&scope.key)
            .bind(version)
            .fetch_optional(&self.pools.read)
            .await?
            .ok_or_else(|| not_found("version", version.to_string()))?;
        Ok(rows::version(&row)?)
    }

    async fn entries_at(&self, scope: &Scope, version: i64) -> Result<Vec<SecretRow>> {
        self.version(scope, version).await?;
        let sql = format!(
            "SELECT scope_id, secret_id AS id, {} FROM version_entries \
             WHERE scope_id = $1 AND version = $2 ORDER BY name",
            rows::SECRET_FIELDS
        );
        let found = sqlx::query(&sql)
            .bind(&scope.key)
            .bind(version)
            .fetch_all(&self.pools.read)
            .await?;
        Ok(found
            .iter()
            .map(rows::secret)
            .collect::<sqlx::Result<_>>()?)
    }

    /// The scope's full state (all secrets, active or not) right after
    /// `version` was written.
    pub async fn secrets_at(
        &self,
        scope: &Scope,
        version: i64,
        reveal: Reveal,
    ) -> Result<Vec<Secret>> {
        let rows = self.entries_at(scope, version).await?;
        let level = scope.level();
        self.reveal(
            scope,
            rows.into_iter().map(|r| (level, r)).collect(),
            reveal,
        )
        .await
    }

    /// Which names differ between two versions (`from` older, `to` newer):
    /// names only, never values. Server-mode values are compared decrypted,
    /// so re-setting the same value is not a change.
    pub async fn diff(&self, scope: &Scope, from: i64, to: i64) -> Result<Vec<DiffEntry>> {
        let old = self.entries_at(scope, from).await?;
        let new = self.entries_at(scope, to).await?;
        let dek = self.comparison_key(scope).await?;
        let old: BTreeMap<&str, &SecretRow> = old.iter().map(|r| (r.name.as_str(), r)).collect();
        let new: BTreeMap<&str, &SecretRow> = new.iter().map(|r| (r.name.as_str(), r)).collect();
        let mut out = Vec::new();
        for (name, before) in &old {
            match new.get(name) {
                None => out.push(entry(name, DiffKind::Removed)),
                Some(after) if differs(scope, dek.as_deref(), before, after)? => {
                    out.push(entry(name, DiffKind::Changed))
                }
                Some(_) => {}
            }
        }
        for name in new.keys().filter(|name| !old.contains_key(*name)) {
            out.push(entry(name, DiffKind::Added));
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The key for comparing values decrypted (server mode); client-mode
    /// values can only be compared as bytes.
    async fn comparison_key(&self, scope: &Scope) -> Result<Option<Arc<DataKey>>> {
        Ok(match scope.mode {
            EncryptionMode::Server => Some(self.data_key(scope).await?),
            EncryptionMode::Client => None,
        })
    }

    /// Makes `version`'s state current again, as a new version. Secrets get
    /// back their ids and metadata exactly as they were.
    pub async fn restore(
        &self,
        scope: &Scope,
        version: i64,
        author: &str,
        expected_version: Option<i64>,
    ) -> Result<VersionInfo> {
        let target = self.version(scope, version).await?;
        let kind = if target.action == Action::Blob {
            ScopeKind::Blob
        } else {
            ScopeKind::Entries
        };
        let dek = match kind {
            ScopeKind::Entries => self.comparison_key(scope).await?,
            ScopeKind::Blob => None,
        };
        let now = now_ms();
        let mut tx = self.pools.write.begin().await?;
        let new_version = self
            .bump(&mut tx, scope, kind, expected_version, now)
            .await?;
        let (changed_keys, blob) = match kind {
            ScopeKind::Entries => (
                restore_entries(&mut tx, scope, dek.as_deref(), version).await?,
                None,
            ),
            ScopeKind::Blob => {
                let blob: Option<Vec<u8>> =
                    sqlx::query("SELECT blob FROM versions WHERE scope_id = $1 AND version = $2")
                        .bind(&scope.key)
                        .bind(version)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get(0)?;
                set_scope_blob(&mut tx, scope, blob.as_deref()).await?;
                (target.changed_keys.clone(), blob)
            }
        };
        let info = WriteRecord {
            version: new_version,
            action: if kind == ScopeKind::Blob {
                Action::Blob
            } else {
                Action::Restore
            },
            changed_keys,
            restored_from: Some(version),
            blob,
        }
        .save(&mut tx, scope, author, now)
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Removes one version from the log. The current version cannot be
    /// deleted (it is the state readers see).
    pub async fn delete_version(&self, scope: &Scope, version: i64) -> Result<()> {
        let mut tx = self.pools.write.begin().await?;
        let current = sqlx::query("SELECT current_version FROM scopes WHERE id = $1")
            .bind(&scope.key)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get::<i64, _>(0))
            .transpose()?;
        if current == Some(version) {
            return Err(StoreError::CurrentVersion { version });
        }
        delete_versions(&mut tx, scope, "version = $2", version).await?;
        let gone = sqlx::query("DELETE FROM versions WHERE scope_id = $1 AND version = $2")
            .bind(&scope.key)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(not_found("version", version.to_string()));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Erases every version but the current one, so old values are gone
    /// from the database. Returns how many versions were removed. Version
    /// numbers keep counting from where they were.
    pub async fn purge_history(&self, scope: &Scope) -> Result<u64> {
        let mut tx = self.pools.write.begin().await?;
        let current = self.current_in(&mut tx, scope).await?;
        delete_versions(&mut tx, scope, "version < $2", current).await?;
        let gone = sqlx::query("DELETE FROM versions WHERE scope_id = $1 AND version < $2")
            .bind(&scope.key)
            .bind(current)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(gone.rows_affected())
    }

    async fn current_in(&self, tx: &mut Transaction<'static, Any>, scope: &Scope) -> Result<i64> {
        Ok(
            sqlx::query("SELECT current_version FROM scopes WHERE id = $1")
                .bind(&scope.key)
                .fetch_optional(&mut **tx)
                .await?
                .map(|row| row.try_get::<i64, _>(0))
                .transpose()?
                .unwrap_or(0),
        )
    }

    /// Every recorded state of the secret now called `name` (or, if it no
    /// longer exists, last called so), oldest first — following it across
    /// renames, since a rename keeps the secret's id.
    pub async fn secret_history(
        &self,
        scope: &Scope,
        name: &str,
        reveal: Reveal,
    ) -> Result<Vec<(i64, Secret)>> {
        // Every write snapshots the whole scope, so the newest snapshot that
        // has this name holds the current secret's id if it still exists.
        let id_row = sqlx::query(
            "SELECT secret_id FROM version_entries WHERE scope_id = $1 AND name = $2 \
             ORDER BY version DESC LIMIT 1",
        )
        .bind(&scope.key)
        .bind(name)
        .fetch_optional(&self.pools.read)
        .await?
        .ok_or_else(|| not_found("secret", name))?;
        let id: String = id_row.try_get(0)?;
        let sql = format!(
            "SELECT version, scope_id, secret_id AS id, {} FROM version_entries \
             WHERE scope_id = $1 AND secret_id = $2 ORDER BY version",
            rows::SECRET_FIELDS
        );
        let found = sqlx::query(&sql)
            .bind(&scope.key)
            .bind(&id)
            .fetch_all(&self.pools.read)
            .await?;
        let mut numbers = Vec::with_capacity(found.len());
        let mut states = Vec::with_capacity(found.len());
        for row in &found {
            numbers.push(row.try_get::<i64, _>("version")?);
            states.push((scope.level(), rows::secret(row)?));
        }
        let secrets = self.reveal(scope, states, reveal).await?;
        Ok(numbers.into_iter().zip(secrets).collect())
    }

    /// Stores (or with `None` clears) a blob scope's opaque content as a new
    /// version. `changed_keys` are the names the client reports changing;
    /// they are kept for the log, as the blob itself is unreadable here.
    pub async fn write_blob(
        &self,
        scope: &Scope,
        content: Option<Vec<u8>>,
        changed_keys: Vec<String>,
        author: &str,
        expected_version: Option<i64>,
    ) -> Result<VersionInfo> {
        if let Some(bytes) = &content {
            if bytes.len() > self.limits.max_blob_bytes {
                return Err(StoreError::ValueTooLarge {
                    name: "blob".to_owned(),
                    len: bytes.len(),
                    max: self.limits.max_blob_bytes,
                });
            }
        }
        let now = now_ms();
        let mut tx = self.pools.write.begin().await?;
        let version = self
            .bump(&mut tx, scope, ScopeKind::Blob, expected_version, now)
            .await?;
        set_scope_blob(&mut tx, scope, content.as_deref()).await?;
        let info = WriteRecord {
            version,
            action: Action::Blob,
            changed_keys,
            restored_from: None,
            blob: content,
        }
        .save(&mut tx, scope, author, now)
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// A blob scope's current content; `None` if the scope was never written.
    pub async fn read_blob(&self, scope: &Scope) -> Result<Option<Blob>> {
        let row = sqlx::query("SELECT kind, blob, current_version FROM scopes WHERE id = $1")
            .bind(&scope.key)
            .fetch_optional(&self.pools.read)
            .await?;
        let Some(row) = row else { return Ok(None) };
        if row.try_get::<String, _>("kind")? != ScopeKind::Blob.as_str() {
            return Err(StoreError::ScopeKind {
                actual: ScopeKind::Entries.describe(),
                attempted: "a blob read",
            });
        }
        Ok(Some(Blob {
            content: row.try_get("blob")?,
            version: row.try_get("current_version")?,
        }))
    }

    /// A blob scope's content as of `version`.
    pub async fn blob_at(&self, scope: &Scope, version: i64) -> Result<Blob> {
        let row = sqlx::query("SELECT blob FROM versions WHERE scope_id = $1 AND version = $2")
            .bind(&scope.key)
            .bind(version)
            .fetch_optional(&self.pools.read)
            .await?
            .ok_or_else(|| not_found("version", version.to_string()))?;
        Ok(Blob {
            content: row.try_get(0)?,
            version,
        })
    }
}

/// Whether two states of a secret differ in value or metadata. Server-mode
/// values are compared decrypted (each write re-encrypts with a new nonce,
/// so equal values rarely have equal bytes).
fn differs(scope: &Scope, dek: Option<&DataKey>, a: &SecretRow, b: &SecretRow) -> Result<bool> {
    if !a.same_metadata(b) {
        return Ok(true);
    }
    if a.value == b.value {
        return Ok(false);
    }
    Ok(match dek {
        Some(dek) => decrypt_row(scope, dek, a)? != decrypt_row(scope, dek, b)?,
        None => true,
    })
}

fn entry(name: &str, kind: DiffKind) -> DiffEntry {
    DiffEntry {
        name: name.to_owned(),
        kind,
    }
}

async fn set_scope_blob(
    tx: &mut Transaction<'static, Any>,
    scope: &Scope,
    blob: Option<&[u8]>,
) -> Result<()> {
    sqlx::query("UPDATE scopes SET blob = $2 WHERE id = $1")
        .bind(&scope.key)
        .bind(blob.map(<[u8]>::to_vec))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the snapshot rows of the versions matching `condition` (which
/// compares `version` with `$2`).
async fn delete_versions(
    tx: &mut Transaction<'static, Any>,
    scope: &Scope,
    condition: &str,
    version: i64,
) -> Result<()> {
    let sql = format!("DELETE FROM version_entries WHERE scope_id = $1 AND {condition}");
    sqlx::query(&sql)
        .bind(&scope.key)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Replaces the scope's secrets with `version`'s snapshot; returns the
/// names whose state changed.
async fn restore_entries(
    tx: &mut Transaction<'static, Any>,
    scope: &Scope,
    dek: Option<&DataKey>,
    version: i64,
) -> Result<Vec<String>> {
    let current_sql = format!(
        "SELECT scope_id, id, {} FROM secrets WHERE scope_id = $1",
        rows::SECRET_FIELDS
    );
    let current = sqlx::query(&current_sql)
        .bind(&scope.key)
        .fetch_all(&mut **tx)
        .await?;
    let snapshot_sql = format!(
        "SELECT scope_id, secret_id AS id, {} FROM version_entries \
         WHERE scope_id = $1 AND version = $2",
        rows::SECRET_FIELDS
    );
    let snapshot = sqlx::query(&snapshot_sql)
        .bind(&scope.key)
        .bind(version)
        .fetch_all(&mut **tx)
        .await?;
    let before: BTreeMap<String, SecretRow> = current
        .iter()
        .map(|r| rows::secret(r).map(|s| (s.name.clone(), s)))
        .collect::<sqlx::Result<_>>()?;
    let after: BTreeMap<String, SecretRow> = snapshot
        .iter()
        .map(|r| rows::secret(r).map(|s| (s.name.clone(), s)))
        .collect::<sqlx::Result<_>>()?;
    let mut changed = Vec::new();
    for (name, row) in &before {
        match after.get(name) {
            Some(new) if !differs(scope, dek, row, new)? => {}
            _ => changed.push(name.clone()),
        }
    }
    changed.extend(after.keys().filter(|n| !before.contains_key(*n)).cloned());
    changed.sort();

    sqlx::query("DELETE FROM secrets WHERE scope_id = $1")
        .bind(&scope.key)
        .execute(&mut **tx)
        .await?;
    let insert = format!(
        "INSERT INTO secrets (scope_id, id, {fields}) SELECT scope_id, secret_id, {fields} \
         FROM version_entries WHERE scope_id = $1 AND version = $2",
        fields = rows::SECRET_FIELDS
    );
    sqlx::query(&insert)
        .bind(&scope.key)
        .bind(version)
        .execute(&mut **tx)
        .await?;
    Ok(changed)
}
