//! Secret entries: writes (each one version) and reads (per level or merged).
//!
//! Values are encrypted before the transaction opens, so a write holds the
//! scope's lock only for the SQL itself.

use hush_core::crypto::{DataKey, ValueContext};
use sqlx::any::Any;
use sqlx::Transaction;

use crate::error::{not_found, or_exists, Result, StoreError};
use crate::model::*;
use crate::rows::{self, SecretRow};
use crate::versions::{ScopeKind, WriteRecord};
use crate::{new_id, now_ms, Store};

/// A change with its value already encrypted.
enum Prepared {
    Upsert {
        input: SecretInput,
        sealed: Option<Vec<u8>>,
    },
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
}

impl Store {
    /// Applies `changes` to `scope` atomically as one new version and returns
    /// it. With `expected_version`, the write happens only if the scope is
    /// still at that version (0 for a scope never written); otherwise it
    /// fails with [`StoreError::Conflict`] and writes nothing.
    pub async fn write(
        &self,
        scope: &Scope,
        changes: Vec<Change>,
        author: &str,
        expected_version: Option<i64>,
    ) -> Result<VersionInfo> {
        let mut changed_keys: Vec<String> = Vec::new();
        let needs_key = scope.mode == EncryptionMode::Server
            && changes.iter().any(|c| {
                matches!(
                    c,
                    Change::Rename { .. }
                        | Change::Upsert(SecretInput {
                            value: InputValue::Plain(_),
                            ..
                        })
                )
            });
        let dek = if needs_key {
            Some(self.data_key(scope).await?)
        } else {
            None
        };
        let mut prepared = Vec::with_capacity(changes.len());
        for change in changes {
            let step = self.prepare(scope, dek.as_deref(), change)?;
            match &step {
                Prepared::Upsert { input, .. } => changed_keys.push(input.name.to_string()),
                Prepared::Delete(name) => changed_keys.push(name.clone()),
                Prepared::Rename { from, to } => {
                    changed_keys.push(from.clone());
                    changed_keys.push(to.clone());
                }
            }
            prepared.push(step);
        }
        dedup_in_order(&mut changed_keys);

        let now = now_ms();
        let mut tx = self.pools.write.begin().await?;
        let version = self
            .bump(&mut tx, scope, ScopeKind::Entries, expected_version, now)
            .await?;
        for step in prepared {
            apply(&mut tx, scope, dek.as_deref(), step, author, now).await?;
        }
        let info = WriteRecord {
            version,
            action: Action::Write,
            changed_keys,
            restored_from: None,
            blob: None,
        }
        .save(&mut tx, scope, author, now)
        .await?;
        tx.commit().await?;
        Ok(info)
    }

    /// Validates one change and encrypts its value; writes nothing.
    fn prepare(&self, scope: &Scope, dek: Option<&DataKey>, change: Change) -> Result<Prepared> {
        Ok(match change {
            Change::Upsert(input) => {
                let sealed = self.seal_input(scope, dek, &input)?;
                Prepared::Upsert { input, sealed }
            }
            Change::Delete(name) => Prepared::Delete(name.to_string()),
            Change::Rename { from, to } => Prepared::Rename {
                from: from.to_string(),
                to: to.to_string(),
            },
        })
    }

    fn seal_input(
        &self,
        scope: &Scope,
        dek: Option<&DataKey>,
        input: &SecretInput,
    ) -> Result<Option<Vec<u8>>> {
        let name = input.name.as_str();
        let too_large = |len: usize, max: usize| StoreError::ValueTooLarge {
            name: name.to_owned(),
            len,
            max,
        };
        match (&input.value, dek) {
            (InputValue::Keep, _) => Ok(None),
            (InputValue::Plain(value), Some(dek)) => {
                if value.len() > self.limits.max_value_bytes {
                    return Err(too_large(value.len(), self.limits.max_value_bytes));
                }
                let ctx = value_context(scope, &scope.key, name);
                dek.encrypt_value(&ctx, value)
                    .map(Some)
                    .map_err(|source| StoreError::Encrypt {
                        what: format!("secret {name}"),
                        source,
                    })
            }
            (InputValue::Ciphertext(bytes), None) if scope.mode == EncryptionMode::Client => {
                if bytes.len() > self.limits.max_ciphertext_bytes {
                    return Err(too_large(bytes.len(), self.limits.max_ciphertext_bytes));
                }
                Ok(Some(bytes.clone()))
            }
            (InputValue::Plain(_), _) => Err(StoreError::WrongValueKind {
                project: scope.project_slug.clone(),
                mode: scope.mode.as_str(),
                expected: "values must be encrypted by the client before they are sent",
            }),
            (InputValue::Ciphertext(_), _) => Err(StoreError::WrongValueKind {
                project: scope.project_slug.clone(),
                mode: scope.mode.as_str(),
                expected: "values are sent as plaintext and encrypted by the server",
            }),
        }
    }

    /// The secrets stored at exactly this scope, by name.
    pub async fn read_level(&self, scope: &Scope, options: ReadOptions) -> Result<Vec<Secret>> {
        let sql = format!(
            "SELECT scope_id, id, {} FROM secrets WHERE scope_id = $1 ORDER BY name",
            rows::SECRET_FIELDS
        );
        let found = self.pools.secret_rows(sql, vec![scope.key.clone()]).await?;
        let now = now_ms();
        let live = found
            .into_iter()
            .filter(|row| options.include_inactive || row.is_live(now))
            .map(|row| (scope.level(), row))
            .collect();
        self.reveal(scope, live, options.reveal).await
    }

    /// The secrets visible at this scope: project level, overlaid by the
    /// target level, overlaid by the environment level (deeper wins). One
    /// query. Inactive and expired secrets drop out before overlaying
    /// unless `include_inactive` is set.
    pub async fn read_merged(&self, scope: &Scope, options: ReadOptions) -> Result<Vec<Secret>> {
        let (rows, _) = self.merged_rows(scope, options.include_inactive).await?;
        self.reveal(scope, rows, options.reveal).await
    }

    /// The merged view of [`Store::read_merged`] (active secrets only),
    /// labelled so it can be cached: the lineage versions it reflects and
    /// the time it stops being valid because a secret expires. The versions
    /// are read first, so a write racing with this read can only make the
    /// label older than the content, never newer.
    pub async fn merged_view(&self, scope: &Scope, reveal: Reveal) -> Result<MergedView> {
        let versions = self.lineage_versions(scope).await?;
        let (rows, valid_until) = self.merged_rows(scope, false).await?;
        let secrets = self.reveal(scope, rows, reveal).await?;
        Ok(MergedView {
            versions,
            valid_until,
            secrets,
        })
    }

    /// Overlaid rows, and the earliest future expiry among all rows read
    /// (when a hidden or visible secret expires, the view changes).
    async fn merged_rows(
        &self,
        scope: &Scope,
        include_inactive: bool,
    ) -> Result<(Vec<(Level, SecretRow)>, Option<i64>)> {
        let lineage = scope.lineage();
        let placeholders: Vec<String> = (1..=lineage.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT scope_id, id, {} FROM secrets WHERE scope_id IN ({})",
            rows::SECRET_FIELDS,
            placeholders.join(", ")
        );
        let binds = lineage.iter().map(|(_, key)| key.clone()).collect();
        let mut found = self.pools.secret_rows(sql, binds).await?;
        // Sorted by name (stable: cheaper here than SQLite's sorter), the
        // overlay is one pass: of each run of equal names keep the deepest.
        found.sort_by(|a, b| a.name.cmp(&b.name));
        let now = now_ms();
        let valid_until = found
            .iter()
            .filter_map(|row| row.expires_at)
            .filter(|&at| at > now)
            .min();
        let mut merged: Vec<(Level, SecretRow)> = Vec::with_capacity(found.len());
        for row in found {
            if !include_inactive && !row.is_live(now) {
                continue;
            }
            let level = lineage
                .iter()
                .find(|(_, key)| *key == row.scope_id)
                .map_or(Level::Project, |(level, _)| *level);
            match merged.last_mut() {
                Some(last) if last.1.name == row.name => {
                    if level > last.0 {
                        *last = (level, row);
                    }
                }
                _ => merged.push((level, row)),
            }
        }
        Ok((merged, valid_until))
    }

    /// Turns rows into secrets, decrypting when asked.
    pub(crate) async fn reveal(
        &self,
        scope: &Scope,
        found: Vec<(Level, SecretRow)>,
        reveal: Reveal,
    ) -> Result<Vec<Secret>> {
        let dek = match reveal {
            Reveal::Plaintext => Some(self.data_key(scope).await?),
            Reveal::Metadata | Reveal::Ciphertext => None,
        };
        found
            .into_iter()
            .map(|(level, mut row)| {
                let value = match &dek {
                    Some(dek) => Value::Plain(decrypt_row(scope, dek, &row)?),
                    None if reveal == Reveal::Ciphertext => {
                        Value::Ciphertext(std::mem::take(&mut row.value))
                    }
                    None => Value::Hidden,
                };
                Ok(row.into_secret(level, value))
            })
            .collect()
    }
}

pub(crate) fn value_context<'a>(
    scope: &'a Scope,
    scope_key: &'a str,
    name: &'a str,
) -> ValueContext<'a> {
    ValueContext {
        project_id: &scope.project_id,
        scope: scope_key,
        name,
    }
}

pub(crate) fn decrypt_row(
    scope: &Scope,
    dek: &DataKey,
    row: &SecretRow,
) -> Result<hush_core::SecretString> {
    dek.decrypt_value(&value_context(scope, &row.scope_id, &row.name), &row.value)
        .map_err(|source| StoreError::Decrypt {
            what: format!("secret {}", row.name),
            source,
        })
}

fn dedup_in_order(keys: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
}

async fn apply(
    tx: &mut Transaction<'static, Any>,
    scope: &Scope,
    dek: Option<&DataKey>,
    step: Prepared,
    author: &str,
    now: i64,
) -> Result<()> {
    match step {
        Prepared::Upsert {
            input,
            sealed: Some(sealed),
        } => {
            sqlx::query(
                "INSERT INTO secrets (id, scope_id, name, value, note, tags, is_active, \
                 is_reserved, expires_at, created_at, updated_at, created_by, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $11) \
                 ON CONFLICT (scope_id, name) DO UPDATE SET value = excluded.value, \
                 note = excluded.note, tags = excluded.tags, is_active = excluded.is_active, \
                 is_reserved = excluded.is_reserved, expires_at = excluded.expires_at, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            )
            .bind(new_id())
            .bind(&scope.key)
            .bind(input.name.as_str())
            .bind(sealed)
            .bind(input.note)
            .bind(rows::join_tags(&input.tags))
            .bind(i64::from(input.is_active))
            .bind(i64::from(input.is_reserved))
            .bind(input.expires_at)
            .bind(now)
            .bind(author)
            .execute(&mut **tx)
            .await?;
        }
        Prepared::Upsert {
            input,
            sealed: None,
        } => {
            let done = sqlx::query(
                "UPDATE secrets SET note = $3, tags = $4, is_active = $5, is_reserved = $6, \
                 expires_at = $7, updated_at = $8, updated_by = $9 \
                 WHERE scope_id = $1 AND name = $2",
            )
            .bind(&scope.key)
            .bind(input.name.as_str())
            .bind(input.note)
            .bind(rows::join_tags(&input.tags))
            .bind(i64::from(input.is_active))
            .bind(i64::from(input.is_reserved))
            .bind(input.expires_at)
            .bind(now)
            .bind(author)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(not_found("secret", input.name.as_str()));
            }
        }
        Prepared::Delete(name) => {
            let done = sqlx::query("DELETE FROM secrets WHERE scope_id = $1 AND name = $2")
                .bind(&scope.key)
                .bind(&name)
                .execute(&mut **tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(not_found("secret", name));
            }
        }
        Prepared::Rename { from, to } => rename(tx, scope, dek, &from, &to, author, now).await?,
    }
    Ok(())
}

/// Renames in place so the secret keeps its id (and so its history). A
/// server-encrypted value is re-encrypted, since its ciphertext is bound to
/// its name.
async fn rename(
    tx: &mut Transaction<'static, Any>,
    scope: &Scope,
    dek: Option<&DataKey>,
    from: &str,
    to: &str,
    author: &str,
    now: i64,
) -> Result<()> {
    let sql = format!(
        "SELECT scope_id, id, {} FROM secrets WHERE scope_id = $1 AND name = $2",
        rows::SECRET_FIELDS
    );
    let row = sqlx::query(&sql)
        .bind(&scope.key)
        .bind(from)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| not_found("secret", from))?;
    let row = rows::secret(&row)?;
    let value = match dek {
        Some(dek) => {
            let plain = decrypt_row(scope, dek, &row)?;
            dek.encrypt_value(&value_context(scope, &scope.key, to), &plain)
                .map_err(|source| StoreError::Encrypt {
                    what: format!("secret {to}"),
                    source,
                })?
        }
        None => row.value,
    };
    sqlx::query(
        "UPDATE secrets SET name = $3, value = $4, updated_at = $5, updated_by = $6 \
         WHERE scope_id = $1 AND name = $2",
    )
    .bind(&scope.key)
    .bind(from)
    .bind(to)
    .bind(value)
    .bind(now)
    .bind(author)
    .execute(&mut **tx)
    .await
    .map_err(or_exists("secret", to))?;
    Ok(())
}
