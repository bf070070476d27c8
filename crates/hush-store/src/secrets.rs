//! Secret entries: writes (each one version, costing what it changes) and
//! reads (per level or merged, each one statement so the version returned
//! is exactly the version of the rows returned).
//!
//! Values are encrypted before the write is queued, so the writer's
//! transaction holds only SQL and comparisons.

use std::collections::BTreeMap;
use std::sync::Arc;

use hush_core::crypto::{DataKey, ValueContext};
use hush_core::SecretString;

use crate::db::{params, placeholders, Tx};
use crate::error::{not_found, Result, StoreError};
use crate::model::*;
use crate::rows::{self, SecretRow};
use crate::versions::{self, Changed, ScopeKind};
use crate::{new_id, now_ms, Store};

/// A value prepared for the transaction.
enum NewValue {
    /// Server mode: the sealed bytes.
    Sealed(Vec<u8>),
    /// Client mode: the client's ciphertext.
    Opaque(Vec<u8>),
    /// Keep the stored value.
    Keep,
}

/// Metadata of a set, in stored form.
struct Meta {
    note: Option<String>,
    tags: String,
    is_active: bool,
    is_reserved: bool,
    expires_at: Option<i64>,
}

/// One change, validated and encrypted.
enum Step {
    Set {
        name: String,
        value: NewValue,
        meta: Meta,
    },
    Delete(String),
    Rename {
        from: String,
        to: String,
    },
}

impl Step {
    fn names(&self) -> Vec<&str> {
        match self {
            Step::Set { name, .. } | Step::Delete(name) => vec![name],
            Step::Rename { from, to } => vec![from, to],
        }
    }
}

/// What the transaction of a write needs, owned.
struct WriteJob {
    scope: Scope,
    dek: Option<Arc<DataKey>>,
    steps: Vec<Step>,
    actor: String,
    expected: Option<i64>,
    max_entries: usize,
}

impl Store {
    /// Applies `changes` to `scope` atomically as one new version and returns
    /// it. With `expected_version`, the write happens only if the scope is
    /// still at that version (0 for a scope never written); otherwise it
    /// fails with [`StoreError::Conflict`] and writes nothing.
    ///
    /// A write whose changes leave every name as it was (the same value and
    /// metadata again) makes no version: the result carries the current
    /// version and no changed keys. The author's audit entry is committed
    /// with the write either way.
    pub async fn write(
        &self,
        scope: &Scope,
        changes: Vec<Change>,
        author: &Author,
        expected_version: Option<i64>,
    ) -> Result<VersionInfo> {
        let needs_key = scope.mode == EncryptionMode::Server;
        let dek = if needs_key {
            Some(self.data_key(scope).await?)
        } else {
            None
        };
        let steps = changes
            .into_iter()
            .map(|change| self.prepare(scope, dek.as_deref(), change))
            .collect::<Result<Vec<_>>>()?;
        let job = WriteJob {
            scope: scope.clone(),
            dek,
            steps,
            actor: author.actor.clone(),
            expected: expected_version,
            max_entries: self.limits.max_entries_per_scope,
        };
        self.db
            .write(author.audit.clone(), move |tx| job.run(tx))
            .await
    }

    /// Validates one change and encrypts its value; writes nothing.
    fn prepare(&self, scope: &Scope, dek: Option<&DataKey>, change: Change) -> Result<Step> {
        Ok(match change {
            Change::Upsert(input) => Step::Set {
                value: self.seal_input(scope, dek, &input)?,
                meta: Meta {
                    note: input.note,
                    tags: rows::join_tags(&input.tags),
                    is_active: input.is_active,
                    is_reserved: input.is_reserved,
                    expires_at: input.expires_at,
                },
                name: input.name.to_string(),
            },
            Change::Delete(name) => Step::Delete(name.to_string()),
            Change::Rename { from, to } => Step::Rename {
                from: from.to_string(),
                to: to.to_string(),
            },
        })
    }

    /// The note and tags of an input, within the limits.
    fn check_meta(&self, input: &SecretInput) -> Result<()> {
        let name = input.name.as_str();
        if let Some(note) = &input.note {
            hush_core::TextRule::Lines
                .check("its note", note, self.limits.max_note_chars)
                .map_err(|err| StoreError::InvalidText {
                    what: name.to_owned(),
                    reason: err.to_string(),
                })?;
        }
        if input.tags.len() > self.limits.max_tags {
            return Err(StoreError::LimitExceeded {
                what: format!("tags on {name}"),
                count: input.tags.len(),
                max: self.limits.max_tags,
                hint: "",
            });
        }
        Ok(())
    }

    fn seal_input(
        &self,
        scope: &Scope,
        dek: Option<&DataKey>,
        input: &SecretInput,
    ) -> Result<NewValue> {
        self.check_meta(input)?;
        let name = input.name.as_str();
        let too_large = |len: usize, max: usize| StoreError::ValueTooLarge {
            name: name.to_owned(),
            len,
            max,
        };
        match (&input.value, dek) {
            (InputValue::Keep, _) => Ok(NewValue::Keep),
            (InputValue::Plain(value), Some(dek)) => {
                if value.len() > self.limits.max_value_bytes {
                    return Err(too_large(value.len(), self.limits.max_value_bytes));
                }
                if let Some(reason) = hush_core::env_refusal(name, value.expose()) {
                    return Err(StoreError::InvalidValue {
                        name: name.to_owned(),
                        reason,
                    });
                }
                let ctx = value_context(scope, &scope.key, name);
                let sealed =
                    dek.encrypt_value(&ctx, value)
                        .map_err(|source| StoreError::Encrypt {
                            what: format!("secret {name}"),
                            source,
                        })?;
                Ok(NewValue::Sealed(sealed))
            }
            (InputValue::Ciphertext(bytes), None) if scope.mode == EncryptionMode::Client => {
                if bytes.len() > self.limits.max_ciphertext_bytes {
                    return Err(too_large(bytes.len(), self.limits.max_ciphertext_bytes));
                }
                Ok(NewValue::Opaque(bytes.clone()))
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
}

impl WriteJob {
    /// Inside the writer's transaction: loads the touched names, applies
    /// the steps in memory, and stores only the names whose state changed.
    async fn run(mut self, tx: Tx) -> Result<VersionInfo> {
        let now = now_ms();
        let (current, kind) = versions::scope_head(&tx, &self.scope.key).await?;
        versions::check_head(current, kind, ScopeKind::Entries, self.expected)?;
        let mut touched: Vec<String> = Vec::new();
        for step in &self.steps {
            for name in step.names() {
                if !touched.iter().any(|t| t == name) {
                    touched.push(name.to_owned());
                }
            }
        }
        let before = load_names(&tx, &self.scope.key, &touched).await?;
        let mut after: BTreeMap<String, Option<SecretRow>> = touched
            .iter()
            .map(|name| (name.clone(), before.get(name).cloned()))
            .collect();
        let steps = std::mem::take(&mut self.steps);
        for step in steps {
            self.apply(&mut after, step, now)?;
        }
        // After a soft-deleted or destroyed head the state is empty: the
        // names it held and this write does not set are removed.
        let hidden = versions::hidden_state(&tx, &self.scope.key).await?;
        let setting: BTreeMap<String, SecretRow> = after
            .iter()
            .filter_map(|(name, row)| Some((name.clone(), row.clone()?)))
            .collect();
        let mut changed = versions::tombstones(hidden, &setting);
        // In the order the write named them.
        for name in touched {
            let new = after.remove(&name).flatten();
            let old = before.get(&name).cloned();
            if !same_state(&self.scope, self.dek.as_deref(), old.as_ref(), new.as_ref())? {
                changed.push(Changed {
                    name,
                    before: old,
                    after: new,
                });
            }
        }
        if changed.is_empty() {
            return Ok(versions::unchanged(current, &self.actor, now));
        }
        self.check_growth(&tx, &changed).await?;
        let changed_keys = changed.iter().map(|c| c.name.clone()).collect();
        versions::record(
            &tx,
            &self.scope,
            versions::Record {
                version: current + 1,
                kind: ScopeKind::Entries,
                action: Action::Write,
                changed_keys,
                restored_from: None,
                blob: None,
                actor: &self.actor,
                now,
            },
            &changed,
        )
        .await
    }

    /// Refuses a write that would take the scope past its size limit (only
    /// writes that add names are counted: one may always delete or edit).
    async fn check_growth(&self, tx: &Tx, changed: &[Changed]) -> Result<()> {
        let added = changed
            .iter()
            .filter(|c| c.before.is_none() && c.after.is_some())
            .count();
        let removed = changed
            .iter()
            .filter(|c| c.before.is_some() && c.after.is_none())
            .count();
        if added <= removed {
            return Ok(());
        }
        let held: i64 = tx
            .row(
                "SELECT COUNT(*) FROM secrets WHERE scope_id = $1",
                &params![&self.scope.key],
            )
            .await?
            .map_or(Ok(0), |row| row.get(0))?;
        let count = usize::try_from(held).unwrap_or(usize::MAX) + added - removed;
        if count > self.max_entries {
            return Err(StoreError::LimitExceeded {
                what: format!(
                    "secrets in this {} of project {}",
                    self.scope.level().as_str(),
                    self.scope.project_slug
                ),
                count,
                max: self.max_entries,
                hint: " (hush serve --max-secrets-per-scope)",
            });
        }
        Ok(())
    }

    /// Applies one step to the in-memory state of the touched names.
    fn apply(
        &self,
        state: &mut BTreeMap<String, Option<SecretRow>>,
        step: Step,
        now: i64,
    ) -> Result<()> {
        match step {
            Step::Set { name, value, meta } => {
                let existing = state.get(&name).cloned().flatten();
                let value = match value {
                    NewValue::Sealed(bytes) | NewValue::Opaque(bytes) => bytes,
                    NewValue::Keep => existing
                        .as_ref()
                        .map(|row| row.value.clone())
                        .ok_or_else(|| not_found("secret", &name))?,
                };
                let row = SecretRow {
                    scope_id: self.scope.key.clone(),
                    id: existing.as_ref().map_or_else(new_id, |row| row.id.clone()),
                    name: name.clone(),
                    value,
                    note: meta.note,
                    tags: meta.tags,
                    is_active: meta.is_active,
                    is_reserved: meta.is_reserved,
                    expires_at: meta.expires_at,
                    created_at: existing.as_ref().map_or(now, |row| row.created_at),
                    updated_at: now,
                    created_by: existing
                        .as_ref()
                        .map_or_else(|| self.actor.clone(), |row| row.created_by.clone()),
                    updated_by: self.actor.clone(),
                };
                state.insert(name, Some(row));
            }
            Step::Delete(name) => match state.get_mut(&name) {
                Some(slot @ Some(_)) => *slot = None,
                _ => return Err(not_found("secret", name)),
            },
            Step::Rename { from, to } => {
                let row = state
                    .get_mut(&from)
                    .and_then(Option::take)
                    .ok_or_else(|| not_found("secret", &from))?;
                if state.get(&to).is_some_and(Option::is_some) {
                    return Err(StoreError::AlreadyExists {
                        kind: "secret",
                        what: to,
                    });
                }
                // A server-encrypted value is bound to its name: re-encrypt.
                let value = match &self.dek {
                    Some(dek) => {
                        let plain = decrypt_row(&self.scope, dek, &row)?;
                        dek.encrypt_value(&value_context(&self.scope, &self.scope.key, &to), &plain)
                            .map_err(|source| StoreError::Encrypt {
                                what: format!("secret {to}"),
                                source,
                            })?
                    }
                    None => row.value.clone(),
                };
                let renamed = SecretRow {
                    name: to.clone(),
                    value,
                    updated_at: now,
                    updated_by: self.actor.clone(),
                    ..row
                };
                state.insert(to, Some(renamed));
            }
        }
        Ok(())
    }
}

/// Whether two states of one name are the same secret: same id, same
/// metadata, same value. Server-mode values are compared decrypted (each
/// write seals with a fresh nonce, so equal values rarely have equal
/// bytes). Timestamps and authors of the write itself do not count.
pub(crate) fn same_state(
    scope: &Scope,
    dek: Option<&DataKey>,
    a: Option<&SecretRow>,
    b: Option<&SecretRow>,
) -> Result<bool> {
    match (a, b) {
        (None, None) => Ok(true),
        (Some(a), Some(b)) => {
            if a.id != b.id || !a.same_metadata(b) {
                return Ok(false);
            }
            if a.value == b.value {
                return Ok(true);
            }
            Ok(match dek {
                Some(dek) => decrypt_row(scope, dek, a)? == decrypt_row(scope, dek, b)?,
                None => false,
            })
        }
        _ => Ok(false),
    }
}

/// Names per `IN (…)` list.
pub(crate) const NAMES_PER_QUERY: usize = 500;

/// The current rows of `names` at exactly this scope.
async fn load_names(
    tx: &Tx,
    scope_key: &str,
    names: &[String],
) -> Result<BTreeMap<String, SecretRow>> {
    let mut out = BTreeMap::new();
    for chunk in names.chunks(NAMES_PER_QUERY) {
        let sql = format!(
            "SELECT scope_id, id, {} FROM secrets WHERE scope_id = $1 AND name IN ({})",
            rows::SECRET_FIELDS,
            placeholders(1, chunk.len())
        );
        let mut values = Vec::from(params![scope_key]);
        values.extend(chunk.iter().map(crate::db::Val::from));
        for row in tx.rows(&sql, &values).await? {
            let row = rows::secret(&row)?;
            out.insert(row.name.clone(), row);
        }
    }
    Ok(out)
}

/// Scope id, its current version (negative while that version is
/// soft-deleted or destroyed, as [`Store::lineage_versions`] counts), then
/// a secret's columns (NULL for a scope without secrets): the rows of one
/// read statement.
const LEVELS: &str = "SELECT sc.id, CASE WHEN sc.head_hidden = 1 THEN -sc.current_version \
     ELSE sc.current_version END, s.scope_id, s.id, s.name, s.value, \
     s.note, s.tags, s.is_active, s.is_reserved, s.expires_at, s.created_at, s.updated_at, \
     s.created_by, s.updated_by FROM scopes sc LEFT JOIN secrets s ON s.scope_id = sc.id";

/// What one read statement returned: each scope's version and its rows.
struct Levels {
    versions: Vec<(String, i64)>,
    rows: Vec<SecretRow>,
}

impl Levels {
    fn version_of(&self, key: &str) -> i64 {
        self.versions
            .iter()
            .find(|(k, _)| k == key)
            .map_or(0, |(_, v)| *v)
    }
}

impl Store {
    /// The scopes' versions and rows in one statement: consistent with
    /// each other even while writes commit.
    async fn levels(&self, keys: &[String]) -> Result<Levels> {
        let sql = format!("{LEVELS} WHERE sc.id IN ({})", placeholders(0, keys.len()));
        let values: Vec<crate::db::Val> = keys.iter().map(crate::db::Val::from).collect();
        let found = self.db.rows(&sql, &values).await?;
        let mut levels = Levels {
            versions: Vec::new(),
            rows: Vec::with_capacity(found.len()),
        };
        for row in &found {
            let key: String = row.get(0)?;
            if !levels.versions.iter().any(|(k, _)| *k == key) {
                levels.versions.push((key, row.get(1)?));
            }
            if row.get::<Option<String>>(3)?.is_some() {
                levels.rows.push(rows::secret_at(row, 2)?);
            }
        }
        Ok(levels)
    }

    /// The secrets stored at exactly this scope, by name, with the
    /// scope's version they belong to.
    pub async fn read_level(&self, scope: &Scope, options: ReadOptions) -> Result<ScopeRead> {
        let mut levels = self.levels(std::slice::from_ref(&scope.key)).await?;
        levels.rows.sort_by(|a, b| a.name.cmp(&b.name));
        let now = now_ms();
        let level = scope.level();
        let version = levels.version_of(&scope.key).abs();
        let live = levels
            .rows
            .into_iter()
            .filter(|row| options.include_inactive || row.is_live(now))
            .map(|row| (level, row))
            .collect();
        Ok(ScopeRead {
            version,
            secrets: self.reveal(scope, live, options.reveal).await?,
        })
    }

    /// The secrets visible at this scope: project level, overlaid by the
    /// target level, overlaid by the environment level (deeper wins), with
    /// the scope's own version. One statement. Inactive and expired
    /// secrets drop out before overlaying unless `include_inactive` is set.
    pub async fn read_merged(&self, scope: &Scope, options: ReadOptions) -> Result<ScopeRead> {
        let merged = self.merged_rows(scope, options.include_inactive).await?;
        let version = merged.levels.version_of(&scope.key).abs();
        Ok(ScopeRead {
            version,
            secrets: self.reveal(scope, merged.rows, options.reveal).await?,
        })
    }

    /// The merged view of [`Store::read_merged`] (active secrets only),
    /// labelled so it can be cached: the lineage versions it reflects (read
    /// by the same statement as the rows) and the time it stops being valid
    /// because a secret expires.
    pub async fn merged_view(&self, scope: &Scope, reveal: Reveal) -> Result<MergedView> {
        let merged = self.merged_rows(scope, false).await?;
        let versions = scope
            .lineage()
            .iter()
            .map(|(_, key)| merged.levels.version_of(key))
            .collect();
        Ok(MergedView {
            versions,
            valid_until: merged.valid_until,
            secrets: self.reveal(scope, merged.rows, reveal).await?,
        })
    }

    /// Overlaid rows, and the earliest future expiry among all rows read
    /// (when a hidden or visible secret expires, the view changes).
    async fn merged_rows(&self, scope: &Scope, include_inactive: bool) -> Result<Merged> {
        let lineage = scope.lineage();
        let keys: Vec<String> = lineage.iter().map(|(_, key)| key.clone()).collect();
        let mut levels = self.levels(&keys).await?;
        let mut found = std::mem::take(&mut levels.rows);
        // Sorted by name (stable: cheaper here than the database's sorter),
        // the overlay is one pass: of each run of equal names keep the
        // deepest.
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
        Ok(Merged {
            levels,
            rows: merged,
            valid_until,
        })
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

struct Merged {
    levels: Levels,
    rows: Vec<(Level, SecretRow)>,
    valid_until: Option<i64>,
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

pub(crate) fn decrypt_row(scope: &Scope, dek: &DataKey, row: &SecretRow) -> Result<SecretString> {
    dek.decrypt_value(&value_context(scope, &row.scope_id, &row.name), &row.value)
        .map_err(|source| StoreError::Decrypt {
            what: format!("secret {}", row.name),
            source,
        })
}

impl Store {
    /// Records that a secret's value was just read (for APIs that report
    /// a last-used time). Not audited here: the read's own entry is.
    pub async fn touch_secret(&self, scope: &Scope, secret_id: &str) -> Result<()> {
        let (key, id) = (scope.key.clone(), secret_id.to_owned());
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE secrets SET last_used_at = $3 WHERE scope_id = $1 AND id = $2",
                    &params![&key, &id, now_ms()],
                )
                .await?;
                Ok(())
            })
            .await
    }

    /// When each secret of a level was last read, by id (those never read
    /// are absent).
    pub async fn last_used(&self, scope: &Scope) -> Result<std::collections::HashMap<String, i64>> {
        self.db
            .rows(
                "SELECT id, last_used_at FROM secrets \
                 WHERE scope_id = $1 AND last_used_at IS NOT NULL",
                &params![&scope.key],
            )
            .await?
            .iter()
            .map(|row| Ok((row.get(0)?, row.get(1)?)))
            .collect()
    }
}
