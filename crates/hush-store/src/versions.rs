//! Each scope's version log.
//!
//! A version records only what it changed: one `version_changes` row per
//! name it set (the name's full new state) or removed (a tombstone). The
//! state of a scope at version v is, per name, its newest row at or before
//! v unless that row is a tombstone. So a write costs what it changes, not
//! the size of its scope, and every version stays readable forever.
//! `secrets` holds the current state, materialized for fast reads.
//!
//! Deleting a version folds its rows into the next surviving version
//! where that version does not set the name itself, so no other version's
//! state changes. Purging keeps the current state as the only version.
//!
//! All writes run in the writer's transaction (see `db`), which serializes
//! them: the version read at the start of a write is still current when
//! it commits, so numbers are never reused and check-and-set is exact.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use hush_core::crypto::DataKey;

use crate::db::{params, placeholders, Tx, Val};
use crate::error::{not_found, Result, StoreError};
use crate::model::*;
use crate::rows::{self, SecretRow};
use crate::secrets::same_state;
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

    fn parse(text: &str) -> Self {
        if text == "blob" {
            ScopeKind::Blob
        } else {
            ScopeKind::Entries
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ScopeKind::Entries => "individual secrets",
            ScopeKind::Blob => "an encrypted blob",
        }
    }
}

/// A name whose state a version changes.
pub(crate) struct Changed {
    pub(crate) name: String,
    pub(crate) before: Option<SecretRow>,
    pub(crate) after: Option<SecretRow>,
}

/// A version about to be recorded.
pub(crate) struct Record<'a> {
    pub(crate) version: i64,
    pub(crate) kind: ScopeKind,
    pub(crate) action: Action,
    pub(crate) changed_keys: Vec<String>,
    pub(crate) restored_from: Option<i64>,
    pub(crate) blob: Option<Vec<u8>>,
    pub(crate) actor: &'a str,
    pub(crate) now: i64,
}

/// A scope's current version (0 if never written) and kind, in the
/// writer's transaction.
pub(crate) async fn scope_head(tx: &Tx, key: &str) -> Result<(i64, Option<ScopeKind>)> {
    let row = tx
        .row(
            "SELECT current_version, kind FROM scopes WHERE id = $1",
            &params![key],
        )
        .await?;
    Ok(match row {
        Some(row) => (row.get(0)?, Some(ScopeKind::parse(&row.get::<String>(1)?))),
        None => (0, None),
    })
}

/// Refuses a write to a scope of the other kind, or a stale check-and-set.
pub(crate) fn check_head(
    current: i64,
    kind: Option<ScopeKind>,
    writing: ScopeKind,
    expected: Option<i64>,
) -> Result<()> {
    if let Some(expected) = expected.filter(|e| *e < 0) {
        return Err(StoreError::NegativeVersion(expected));
    }
    if let Some(expected) = expected.filter(|e| *e != current) {
        return Err(StoreError::Conflict {
            expected,
            actual: current,
        });
    }
    match kind {
        Some(actual) if actual != writing => Err(StoreError::ScopeKind {
            actual: actual.describe(),
            attempted: writing.describe(),
        }),
        _ => Ok(()),
    }
}

/// The result of a write that changed nothing: no version was made.
pub(crate) fn unchanged(current: i64, actor: &str, now: i64) -> VersionInfo {
    VersionInfo {
        version: current,
        action: Action::Write,
        changed_keys: Vec::new(),
        restored_from: None,
        created_at: now,
        created_by: actor.to_owned(),
        deleted_at: None,
        destroyed: false,
    }
}

/// Rows per multi-row INSERT (15 parameters each).
const ROWS_PER_INSERT: usize = 100;

const CHANGE_COLUMNS: &str = "scope_id, name, version, secret_id, removed, value, note, tags, \
     is_active, is_reserved, expires_at, created_at, updated_at, created_by, updated_by";

const SECRET_COLUMNS: &str = "scope_id, id, name, value, note, tags, is_active, is_reserved, \
     expires_at, created_at, updated_at, created_by, updated_by";

fn secret_values(row: &SecretRow) -> [Val; 13] {
    params![
        &row.scope_id,
        &row.id,
        &row.name,
        &row.value,
        row.note.as_deref(),
        &row.tags,
        row.is_active,
        row.is_reserved,
        row.expires_at,
        row.created_at,
        row.updated_at,
        &row.created_by,
        &row.updated_by,
    ]
}

/// Records a version: bumps the scope, logs the version, and for entry
/// scopes stores the changed names in `secrets` and `version_changes`.
pub(crate) async fn record(
    tx: &Tx,
    scope: &Scope,
    record: Record<'_>,
    changed: &[Changed],
) -> Result<VersionInfo> {
    tx.exec(
        "INSERT INTO scopes (id, project_id, target_id, environment_id, kind, current_version, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
         current_version = excluded.current_version, updated_at = excluded.updated_at, \
         head_hidden = 0",
        &params![
            &scope.key,
            &scope.project_id,
            scope.target_id.as_deref(),
            scope.environment_id.as_deref(),
            record.kind.as_str(),
            record.version,
            record.now,
        ],
    )
    .await?;
    tx.exec(
        "INSERT INTO versions (scope_id, version, action, changed_keys, restored_from, blob, \
         created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &params![
            &scope.key,
            record.version,
            record.action.as_str(),
            rows::join_keys(&record.changed_keys),
            record.restored_from,
            record.blob.as_deref(),
            record.now,
            record.actor,
        ],
    )
    .await?;
    if record.kind == ScopeKind::Blob {
        set_scope_blob(tx, &scope.key, record.blob.as_deref()).await?;
    } else {
        store_changes(tx, &scope.key, &record, changed).await?;
    }
    Ok(VersionInfo {
        version: record.version,
        action: record.action,
        changed_keys: record.changed_keys,
        restored_from: record.restored_from,
        created_at: record.now,
        created_by: record.actor.to_owned(),
        deleted_at: None,
        destroyed: false,
    })
}

async fn set_scope_blob(tx: &Tx, key: &str, blob: Option<&[u8]>) -> Result<()> {
    tx.exec(
        "UPDATE scopes SET blob = $2 WHERE id = $1",
        &params![key, blob],
    )
    .await?;
    Ok(())
}

/// Makes the current state and the log follow `changed`.
async fn store_changes(tx: &Tx, key: &str, record: &Record<'_>, changed: &[Changed]) -> Result<()> {
    // Rows that leave their name (removed, or replaced by another secret)
    // go first, so an id that moves to another name is free when it lands.
    let leaving: Vec<&str> = changed
        .iter()
        .filter(|c| match (&c.before, &c.after) {
            (Some(before), Some(after)) => before.id != after.id,
            (Some(_), None) => true,
            _ => false,
        })
        .map(|c| c.name.as_str())
        .collect();
    for chunk in leaving.chunks(crate::secrets::NAMES_PER_QUERY) {
        let mut values = Vec::from(params![key]);
        values.extend(chunk.iter().map(|n| Val::from(*n)));
        tx.exec(
            &format!(
                "DELETE FROM secrets WHERE scope_id = $1 AND name IN ({})",
                placeholders(1, chunk.len())
            ),
            &values,
        )
        .await?;
    }
    let arriving: Vec<&SecretRow> = changed.iter().filter_map(|c| c.after.as_ref()).collect();
    for chunk in arriving.chunks(ROWS_PER_INSERT) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * 13, 13)))
            .collect();
        let values: Vec<Val> = chunk.iter().flat_map(|row| secret_values(row)).collect();
        tx.exec(
            &format!(
                "INSERT INTO secrets ({SECRET_COLUMNS}) VALUES {} ON CONFLICT (scope_id, name) \
                 DO UPDATE SET id = excluded.id, value = excluded.value, note = excluded.note, \
                 tags = excluded.tags, is_active = excluded.is_active, \
                 is_reserved = excluded.is_reserved, expires_at = excluded.expires_at, \
                 created_at = excluded.created_at, updated_at = excluded.updated_at, \
                 created_by = excluded.created_by, updated_by = excluded.updated_by",
                tuples.join(", ")
            ),
            &values,
        )
        .await?;
    }
    for chunk in changed.chunks(ROWS_PER_INSERT) {
        let tuples: Vec<String> = (0..chunk.len())
            .map(|i| format!("({})", placeholders(i * 15, 15)))
            .collect();
        let mut values = Vec::with_capacity(chunk.len() * 15);
        for change in chunk {
            values.extend(change_values(key, record, change)?);
        }
        tx.exec(
            &format!(
                "INSERT INTO version_changes ({CHANGE_COLUMNS}) VALUES {}",
                tuples.join(", ")
            ),
            &values,
        )
        .await?;
    }
    Ok(())
}

/// The log row of one change: the new state, or a tombstone that keeps
/// the removed secret's id (for its history) and who removed it when.
fn change_values(key: &str, record: &Record<'_>, change: &Changed) -> Result<Vec<Val>> {
    let (row, removed) = match (&change.after, &change.before) {
        (Some(after), _) => (after.clone(), false),
        (None, Some(before)) => (before.clone(), true),
        (None, None) => return Err(not_found("secret", &change.name)),
    };
    let mut values = Vec::from(params![key, &change.name, record.version, &row.id, removed]);
    values.push(if removed {
        Val::Blob(Vec::new())
    } else {
        Val::Blob(row.value.clone())
    });
    values.extend(params![
        row.note.as_deref(),
        &row.tags,
        row.is_active,
        row.is_reserved,
        row.expires_at,
        row.created_at,
        if removed { record.now } else { row.updated_at },
        &row.created_by,
        if removed {
            record.actor
        } else {
            row.updated_by.as_str()
        },
    ]);
    Ok(values)
}

/// The state of a scope at `version`: per name, the newest change at or
/// before it, unless that change removed the name.
const STATE_AT: &str = "SELECT scope_id, secret_id, name, value, note, tags, is_active, \
     is_reserved, expires_at, created_at, updated_at, created_by, updated_by \
     FROM version_changes c WHERE scope_id = $1 AND version <= $2 AND removed = 0 \
     AND version = (SELECT MAX(c2.version) FROM version_changes c2 \
     WHERE c2.scope_id = c.scope_id AND c2.name = c.name AND c2.version <= $2) \
     ORDER BY name";

/// When the scope's current version is soft-deleted or destroyed (its
/// state reads as empty): that version's state in the log, which the next
/// version must remove name by name. `None` when the head is live.
pub(crate) async fn hidden_state(
    tx: &Tx,
    key: &str,
) -> Result<Option<BTreeMap<String, SecretRow>>> {
    let row = tx
        .row(
            "SELECT current_version, head_hidden FROM scopes WHERE id = $1",
            &params![key],
        )
        .await?;
    match row {
        Some(row) if row.flag(1)? => Ok(Some(state_at(tx, key, row.get(0)?).await?)),
        _ => Ok(None),
    }
}

/// Tombstones for the names of a hidden head's state that the new state
/// `keeping` does not set: the new version starts from nothing.
pub(crate) fn tombstones(
    hidden: Option<BTreeMap<String, SecretRow>>,
    keeping: &BTreeMap<String, SecretRow>,
) -> Vec<Changed> {
    hidden
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| !keeping.contains_key(name))
        .map(|(name, row)| Changed {
            name,
            before: Some(row),
            after: None,
        })
        .collect()
}

/// Makes `secrets` and `head_hidden` follow the state of the current
/// version: its rows when it is live, nothing when it is soft-deleted or
/// destroyed.
async fn sync_head(tx: &Tx, key: &str, current: i64) -> Result<()> {
    let hidden = tx
        .row(
            "SELECT 1 FROM versions WHERE scope_id = $1 AND version = $2 \
             AND (deleted_at IS NOT NULL OR destroyed = 1)",
            &params![key, current],
        )
        .await?
        .is_some();
    tx.exec("DELETE FROM secrets WHERE scope_id = $1", &params![key])
        .await?;
    if !hidden {
        tx.exec(
            &format!("INSERT INTO secrets ({SECRET_COLUMNS}) {STATE_AT}"),
            &params![key, current],
        )
        .await?;
    }
    tx.exec(
        "UPDATE scopes SET head_hidden = $2 WHERE id = $1",
        &params![key, hidden],
    )
    .await?;
    Ok(())
}

/// Erases version `version`'s values. The rows of names it set that the
/// next version does not set itself are copied there first, so every
/// other version's state stays whole.
async fn destroy_version(tx: &Tx, key: &str, version: i64) -> Result<()> {
    let next: Option<i64> = tx
        .row(
            "SELECT MIN(version) FROM versions WHERE scope_id = $1 AND version > $2",
            &params![key, version],
        )
        .await?
        .map_or(Ok(None), |row| row.get(0))?;
    if let Some(next) = next {
        tx.exec(
            &format!(
                "INSERT INTO version_changes ({CHANGE_COLUMNS}) \
                 SELECT scope_id, name, $3, secret_id, removed, value, note, tags, is_active, \
                 is_reserved, expires_at, created_at, updated_at, created_by, updated_by \
                 FROM version_changes WHERE scope_id = $1 AND version = $2 AND name NOT IN \
                 (SELECT name FROM version_changes WHERE scope_id = $1 AND version = $3)"
            ),
            &params![key, version, next],
        )
        .await?;
    }
    tx.exec(
        "UPDATE version_changes SET value = $3 WHERE scope_id = $1 AND version = $2",
        &params![key, version, Vec::<u8>::new()],
    )
    .await?;
    tx.exec(
        "UPDATE versions SET destroyed = 1 WHERE scope_id = $1 AND version = $2",
        &params![key, version],
    )
    .await?;
    Ok(())
}

async fn state_at(tx: &Tx, key: &str, version: i64) -> Result<BTreeMap<String, SecretRow>> {
    let found = tx.rows(STATE_AT, &params![key, version]).await?;
    found
        .iter()
        .map(|row| rows::secret(row).map(|s| (s.name.clone(), s)))
        .collect()
}

impl Store {
    /// Soft-deletes, undeletes or destroys versions of a scope (KV v2's
    /// `delete`, `undelete`, `destroy`). Versions that do not exist, or
    /// are already in that state, are skipped, as Vault does. When the
    /// current version is hidden the scope reads as empty; undeleting it
    /// brings its state back. Returns the versions changed.
    pub async fn set_version_state(
        &self,
        scope: &Scope,
        versions: Vec<i64>,
        state: VersionState,
        author: &Author,
    ) -> Result<Vec<i64>> {
        let key = scope.key.clone();
        self.db
            .write(author.audit.clone(), move |tx| async move {
                let (current, kind) = scope_head(&tx, &key).await?;
                if kind == Some(ScopeKind::Blob) {
                    return Err(StoreError::ScopeKind {
                        actual: ScopeKind::Blob.describe(),
                        attempted: "version states",
                    });
                }
                let now = now_ms();
                let mut changed = Vec::new();
                for version in versions {
                    let Some(row) = tx
                        .row(
                            "SELECT deleted_at, destroyed FROM versions \
                             WHERE scope_id = $1 AND version = $2",
                            &params![&key, version],
                        )
                        .await?
                    else {
                        continue;
                    };
                    let deleted: Option<i64> = row.get(0)?;
                    if row.flag(1)? {
                        continue;
                    }
                    match state {
                        VersionState::Delete if deleted.is_none() => {
                            tx.exec(
                                "UPDATE versions SET deleted_at = $3 \
                                 WHERE scope_id = $1 AND version = $2",
                                &params![&key, version, now],
                            )
                            .await?;
                        }
                        VersionState::Undelete if deleted.is_some() => {
                            tx.exec(
                                "UPDATE versions SET deleted_at = NULL \
                                 WHERE scope_id = $1 AND version = $2",
                                &params![&key, version],
                            )
                            .await?;
                        }
                        VersionState::Destroy => destroy_version(&tx, &key, version).await?,
                        _ => continue,
                    }
                    changed.push(version);
                }
                if changed.contains(&current) {
                    sync_head(&tx, &key, current).await?;
                }
                Ok(changed)
            })
            .await
    }

    /// A scope's KV metadata settings (JSON), if any were set.
    pub async fn kv_meta(&self, scope: &Scope) -> Result<Option<String>> {
        Ok(self
            .db
            .row(
                "SELECT kv_meta FROM scopes WHERE id = $1",
                &params![&scope.key],
            )
            .await?
            .map(|row| row.get::<Option<String>>(0))
            .transpose()?
            .flatten())
    }

    /// Sets a scope's KV metadata settings (JSON); the scope need not have
    /// been written yet.
    pub async fn set_kv_meta(&self, scope: &Scope, meta: String, author: &Author) -> Result<()> {
        let scope = scope.clone();
        self.db
            .write(author.audit.clone(), move |tx| async move {
                tx.exec(
                    "INSERT INTO scopes (id, project_id, target_id, environment_id, kind, \
                     current_version, updated_at, kv_meta) VALUES ($1, $2, $3, $4, 'entries', 0, \
                     $5, $6) ON CONFLICT (id) DO UPDATE SET kv_meta = excluded.kv_meta",
                    &params![
                        &scope.key,
                        &scope.project_id,
                        scope.target_id.as_deref(),
                        scope.environment_id.as_deref(),
                        now_ms(),
                        meta,
                    ],
                )
                .await?;
                Ok(())
            })
            .await
    }

    /// Forgets a scope's secrets, every version and its KV metadata (KV
    /// v2's `DELETE metadata/…`). Version numbers still never repeat: the
    /// next write is the version after the last one.
    pub async fn forget_scope(&self, scope: &Scope, author: &Author) -> Result<()> {
        let key = scope.key.clone();
        self.db
            .write(author.audit.clone(), move |tx| async move {
                for sql in [
                    "DELETE FROM version_changes WHERE scope_id = $1",
                    "DELETE FROM versions WHERE scope_id = $1",
                    "DELETE FROM secrets WHERE scope_id = $1",
                    "UPDATE scopes SET kv_meta = NULL, head_hidden = 0 WHERE id = $1",
                ] {
                    tx.exec(sql, &params![&key]).await?;
                }
                Ok(())
            })
            .await
    }

    /// The scope's current version: 0 if it was never written. One indexed
    /// lookup, cheap enough to poll.
    pub async fn current_version(&self, scope: &Scope) -> Result<i64> {
        let row = self
            .db
            .row(
                "SELECT current_version FROM scopes WHERE id = $1",
                &params![&scope.key],
            )
            .await?;
        row.map_or(Ok(0), |row| row.get(0))
    }

    /// The current version of this scope and each scope it inherits from,
    /// shallowest first (0 for a scope never written; negative while that
    /// version is soft-deleted or destroyed): together they change
    /// whenever the merged view may have. One small indexed query.
    pub async fn lineage_versions(&self, scope: &Scope) -> Result<Vec<i64>> {
        let keys: Vec<String> = scope.lineage().into_iter().map(|(_, key)| key).collect();
        // A hidden head (soft-deleted or destroyed current version) counts
        // negative: the state differs from the same version live.
        let sql = format!(
            "SELECT id, CASE WHEN head_hidden = 1 THEN -current_version \
             ELSE current_version END FROM scopes WHERE id IN ({})",
            placeholders(0, keys.len())
        );
        let values: Vec<Val> = keys.iter().map(Val::from).collect();
        let found = self.db.rows(&sql, &values).await?;
        let mut versions = vec![0; keys.len()];
        for row in &found {
            let id: String = row.get(0)?;
            if let Some(i) = keys.iter().position(|k| *k == id) {
                versions[i] = row.get(1)?;
            }
        }
        Ok(versions)
    }

    /// A page of the scope's version log, newest first: at most `limit`
    /// versions older than `before` (all when `None`).
    pub async fn versions(
        &self,
        scope: &Scope,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<VersionInfo>> {
        let sql = format!(
            "SELECT {} FROM versions WHERE scope_id = $1 AND version < $2 \
             ORDER BY version DESC LIMIT {}",
            rows::VERSION_COLUMNS,
            limit.clamp(1, 10_000)
        );
        let all = self
            .db
            .rows_long(sql, params![&scope.key, before.unwrap_or(i64::MAX)])
            .await?;
        all.iter().map(rows::version).collect()
    }

    /// One version's log entry.
    pub async fn version(&self, scope: &Scope, version: i64) -> Result<VersionInfo> {
        let sql = format!(
            "SELECT {} FROM versions WHERE scope_id = $1 AND version = $2",
            rows::VERSION_COLUMNS
        );
        let row = self
            .db
            .row(&sql, &params![&scope.key, version])
            .await?
            .ok_or_else(|| not_found("version", version.to_string()))?;
        rows::version(&row)
    }

    async fn rows_at(&self, scope: &Scope, version: i64) -> Result<Vec<SecretRow>> {
        if self.version(scope, version).await?.destroyed {
            return Err(StoreError::VersionDestroyed { version });
        }
        let found = self
            .db
            .rows_long(STATE_AT.to_owned(), params![&scope.key, version])
            .await?;
        found.iter().map(rows::secret).collect()
    }

    /// The scope's full state (all secrets, active or not) right after
    /// `version` was written.
    pub async fn secrets_at(
        &self,
        scope: &Scope,
        version: i64,
        reveal: Reveal,
    ) -> Result<Vec<Secret>> {
        let rows = self.rows_at(scope, version).await?;
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
        let old = self.rows_at(scope, from).await?;
        let new = self.rows_at(scope, to).await?;
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

    /// Makes `version`'s state current again, as a new version that writes
    /// only the names that differ. Secrets get back their ids and metadata
    /// exactly as they were. Restoring the state that is already current
    /// makes no version.
    pub async fn restore(
        &self,
        scope: &Scope,
        version: i64,
        author: &Author,
        expected_version: Option<i64>,
    ) -> Result<VersionInfo> {
        let target = self.version(scope, version).await?;
        if target.destroyed {
            return Err(StoreError::VersionDestroyed { version });
        }
        let dek = match target.action {
            Action::Blob => None,
            _ => self.comparison_key(scope).await?,
        };
        let scope = scope.clone();
        let actor = author.actor.clone();
        self.db
            .write(author.audit.clone(), move |tx| async move {
                let now = now_ms();
                let (current, kind) = scope_head(&tx, &scope.key).await?;
                if target.action == Action::Blob {
                    check_head(current, kind, ScopeKind::Blob, expected_version)?;
                    let blob: Option<Vec<u8>> = tx
                        .row(
                            "SELECT blob FROM versions WHERE scope_id = $1 AND version = $2",
                            &params![&scope.key, version],
                        )
                        .await?
                        .ok_or_else(|| not_found("version", version.to_string()))?
                        .get(0)?;
                    let record_ = Record {
                        version: current + 1,
                        kind: ScopeKind::Blob,
                        action: Action::Blob,
                        changed_keys: target.changed_keys.clone(),
                        restored_from: Some(version),
                        blob,
                        actor: &actor,
                        now,
                    };
                    return record(&tx, &scope, record_, &[]).await;
                }
                check_head(current, kind, ScopeKind::Entries, expected_version)?;
                let wanted = state_at(&tx, &scope.key, version).await?;
                let hidden = hidden_state(&tx, &scope.key).await?;
                let now_state = match hidden {
                    Some(_) => BTreeMap::new(),
                    None => state_at(&tx, &scope.key, current).await?,
                };
                let names: BTreeSet<&String> = wanted.keys().chain(now_state.keys()).collect();
                let mut changed = tombstones(hidden, &wanted);
                for name in names {
                    let (before, after) = (now_state.get(name), wanted.get(name));
                    if !same_state(&scope, dek.as_deref(), before, after)? {
                        changed.push(Changed {
                            name: name.clone(),
                            before: before.cloned(),
                            after: after.cloned(),
                        });
                    }
                }
                if changed.is_empty() {
                    return Ok(unchanged(current, &actor, now));
                }
                let record_ = Record {
                    version: current + 1,
                    kind: ScopeKind::Entries,
                    action: Action::Restore,
                    changed_keys: changed.iter().map(|c| c.name.clone()).collect(),
                    restored_from: Some(version),
                    blob: None,
                    actor: &actor,
                    now,
                };
                record(&tx, &scope, record_, &changed).await
            })
            .await
    }

    /// Removes one version from the log. The current version cannot be
    /// deleted (it is the state readers see); every other version's state
    /// stays exactly as it was.
    pub async fn delete_version(&self, scope: &Scope, version: i64) -> Result<()> {
        let key = scope.key.clone();
        self.db
            .write(None, move |tx| async move {
                let (current, _) = scope_head(&tx, &key).await?;
                if current == version {
                    return Err(StoreError::CurrentVersion { version });
                }
                let exists = tx
                    .row(
                        "SELECT 1 FROM versions WHERE scope_id = $1 AND version = $2",
                        &params![&key, version],
                    )
                    .await?;
                if exists.is_none() {
                    return Err(not_found("version", version.to_string()));
                }
                let next: Option<i64> = tx
                    .row(
                        "SELECT MIN(version) FROM versions WHERE scope_id = $1 AND version > $2",
                        &params![&key, version],
                    )
                    .await?
                    .map_or(Ok(None), |row| row.get(0))?;
                if let Some(next) = next {
                    // The next version inherits the changes it does not
                    // make itself.
                    tx.exec(
                        "UPDATE version_changes SET version = $3 \
                         WHERE scope_id = $1 AND version = $2 AND name NOT IN \
                         (SELECT name FROM version_changes WHERE scope_id = $1 AND version = $3)",
                        &params![&key, version, next],
                    )
                    .await?;
                }
                tx.exec(
                    "DELETE FROM version_changes WHERE scope_id = $1 AND version = $2",
                    &params![&key, version],
                )
                .await?;
                tx.exec(
                    "DELETE FROM versions WHERE scope_id = $1 AND version = $2",
                    &params![&key, version],
                )
                .await?;
                Ok(())
            })
            .await
    }

    /// Erases every version but the current one, so old values are gone
    /// from the database. Returns how many versions were removed. Version
    /// numbers keep counting from where they were.
    pub async fn purge_history(&self, scope: &Scope) -> Result<u64> {
        let key = scope.key.clone();
        self.db
            .write(None, move |tx| async move {
                let (current, kind) = scope_head(&tx, &key).await?;
                if current == 0 {
                    return Ok(0);
                }
                if kind == Some(ScopeKind::Entries) {
                    tx.exec(
                        "DELETE FROM version_changes WHERE scope_id = $1",
                        &params![&key],
                    )
                    .await?;
                    tx.exec(
                        &format!(
                            "INSERT INTO version_changes ({CHANGE_COLUMNS}) \
                             SELECT scope_id, name, $2, id, 0, value, note, tags, is_active, \
                             is_reserved, expires_at, created_at, updated_at, created_by, \
                             updated_by FROM secrets WHERE scope_id = $1"
                        ),
                        &params![&key, current],
                    )
                    .await?;
                }
                tx.exec(
                    "DELETE FROM versions WHERE scope_id = $1 AND version < $2",
                    &params![&key, current],
                )
                .await
            })
            .await
    }

    /// Every recorded state of the secret now called `name` (or, if it no
    /// longer exists, last called so), oldest first: one entry per version
    /// that changed it, following it across renames (a rename keeps the
    /// secret's id).
    pub async fn secret_history(
        &self,
        scope: &Scope,
        name: &str,
        reveal: Reveal,
    ) -> Result<Vec<(i64, Secret)>> {
        let id: String = self
            .db
            .row(
                "SELECT secret_id FROM version_changes WHERE scope_id = $1 AND name = $2 \
                 ORDER BY version DESC LIMIT 1",
                &params![&scope.key, name],
            )
            .await?
            .ok_or_else(|| not_found("secret", name))?
            .get(0)?;
        let found = self
            .db
            .rows_long(
                format!(
                    "SELECT version, scope_id, secret_id, {} FROM version_changes \
                     WHERE scope_id = $1 AND secret_id = $2 AND removed = 0 ORDER BY version",
                    rows::SECRET_FIELDS
                ),
                params![&scope.key, &id],
            )
            .await?;
        let mut numbers = Vec::with_capacity(found.len());
        let mut states = Vec::with_capacity(found.len());
        for row in &found {
            numbers.push(row.get::<i64>(0)?);
            states.push((scope.level(), rows::secret_at(row, 1)?));
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
        author: &Author,
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
        if changed_keys.len() > self.limits.max_entries_per_scope {
            return Err(StoreError::LimitExceeded {
                what: "changed key names reported with the blob".to_owned(),
                count: changed_keys.len(),
                max: self.limits.max_entries_per_scope,
                hint: " (hush serve --max-secrets-per-scope)",
            });
        }
        if let Some(bad) = changed_keys.iter().find(|k| {
            hush_core::TextRule::Line
                .check("a key name", k, hush_core::names::MAX_SECRET_NAME_LEN)
                .is_err()
        }) {
            return Err(StoreError::InvalidText {
                what: "changed key names".to_owned(),
                reason: format!(
                    "{:?} is not a key name (at most {} characters, no control characters)",
                    bad.chars().take(40).collect::<String>(),
                    hush_core::names::MAX_SECRET_NAME_LEN
                ),
            });
        }
        let scope = scope.clone();
        let actor = author.actor.clone();
        self.db
            .write(author.audit.clone(), move |tx| async move {
                let (current, kind) = scope_head(&tx, &scope.key).await?;
                check_head(current, kind, ScopeKind::Blob, expected_version)?;
                let record_ = Record {
                    version: current + 1,
                    kind: ScopeKind::Blob,
                    action: Action::Blob,
                    changed_keys,
                    restored_from: None,
                    blob: content,
                    actor: &actor,
                    now: now_ms(),
                };
                record(&tx, &scope, record_, &[]).await
            })
            .await
    }

    /// A blob scope's current content; `None` if the scope was never written.
    pub async fn read_blob(&self, scope: &Scope) -> Result<Option<Blob>> {
        let row = self
            .db
            .row(
                "SELECT kind, blob, current_version FROM scopes WHERE id = $1",
                &params![&scope.key],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        if ScopeKind::parse(&row.get::<String>(0)?) != ScopeKind::Blob {
            return Err(StoreError::ScopeKind {
                actual: ScopeKind::Entries.describe(),
                attempted: "a blob read",
            });
        }
        Ok(Some(Blob {
            content: row.get(1)?,
            version: row.get(2)?,
        }))
    }

    /// A blob scope's content as of `version`.
    pub async fn blob_at(&self, scope: &Scope, version: i64) -> Result<Blob> {
        let row = self
            .db
            .row(
                "SELECT blob FROM versions WHERE scope_id = $1 AND version = $2",
                &params![&scope.key, version],
            )
            .await?
            .ok_or_else(|| not_found("version", version.to_string()))?;
        Ok(Blob {
            content: row.get(0)?,
            version,
        })
    }
}

/// Whether two states of a secret differ in value or metadata (ids aside:
/// a diff is about what a reader sees).
fn differs(scope: &Scope, dek: Option<&DataKey>, a: &SecretRow, b: &SecretRow) -> Result<bool> {
    let b = SecretRow {
        id: a.id.clone(),
        ..b.clone()
    };
    Ok(!same_state(scope, dek, Some(a), Some(&b))?)
}

fn entry(name: &str, kind: DiffKind) -> DiffEntry {
    DiffEntry {
        name: name.to_owned(),
        kind,
    }
}
