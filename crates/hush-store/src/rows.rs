//! Mapping database rows to records. Column lists live next to the code
//! that reads them so a query and its decoder cannot drift apart.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::model::*;

pub(crate) const ORG_COLUMNS: &str = "id, slug, name, created_at";

pub(crate) fn org(row: &AnyRow) -> sqlx::Result<Organization> {
    Ok(Organization {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) const PROJECT_COLUMNS: &str =
    "id, org_id, slug, name, encryption_mode, created_at, created_by";

pub(crate) fn project(row: &AnyRow) -> sqlx::Result<Project> {
    Ok(Project {
        id: row.try_get("id")?,
        org_id: row.try_get("org_id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        mode: EncryptionMode::from_db(row.try_get("encryption_mode")?),
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

pub(crate) const CHILD_COLUMNS: &str = "id, project_id, slug, name, created_at";

pub(crate) fn child(kind: ChildKind, row: &AnyRow) -> sqlx::Result<Child> {
    Ok(Child {
        kind,
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
    })
}

/// Columns of `secrets`, in the order `version_entries` stores them (where
/// the id column is called `secret_id`). `sqlite_reads` decodes them by
/// position after `scope_id, id`.
pub(crate) const SECRET_FIELDS: &str = "name, value, note, tags, is_active, is_reserved, \
     expires_at, created_at, updated_at, created_by, updated_by";

/// A secret row with its value still as stored bytes.
pub(crate) struct SecretRow {
    pub(crate) scope_id: String,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) value: Vec<u8>,
    pub(crate) note: Option<String>,
    pub(crate) tags: String,
    pub(crate) is_active: bool,
    pub(crate) is_reserved: bool,
    pub(crate) expires_at: Option<i64>,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
    pub(crate) created_by: String,
    pub(crate) updated_by: String,
}

/// Decodes a row selected as `scope_id, <id column> AS id, SECRET_FIELDS`.
pub(crate) fn secret(row: &AnyRow) -> sqlx::Result<SecretRow> {
    Ok(SecretRow {
        scope_id: row.try_get("scope_id")?,
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        value: row.try_get("value")?,
        note: row.try_get("note")?,
        tags: row.try_get("tags")?,
        is_active: row.try_get::<i64, _>("is_active")? != 0,
        is_reserved: row.try_get::<i64, _>("is_reserved")? != 0,
        expires_at: row.try_get("expires_at")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        created_by: row.try_get("created_by")?,
        updated_by: row.try_get("updated_by")?,
    })
}

impl SecretRow {
    /// Whether a merged read shows this secret at time `now`.
    pub(crate) fn is_live(&self, now: i64) -> bool {
        self.is_active && self.expires_at.is_none_or(|at| at > now)
    }

    /// Equal apart from the value bytes and timestamps of the write.
    pub(crate) fn same_metadata(&self, other: &SecretRow) -> bool {
        self.note == other.note
            && self.tags == other.tags
            && self.is_active == other.is_active
            && self.is_reserved == other.is_reserved
            && self.expires_at == other.expires_at
    }

    pub(crate) fn into_secret(self, level: Level, value: Value) -> Secret {
        Secret {
            id: self.id,
            name: self.name,
            value,
            level,
            note: self.note,
            tags: split_tags(&self.tags),
            is_active: self.is_active,
            is_reserved: self.is_reserved,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            created_by: self.created_by,
            updated_by: self.updated_by,
        }
    }
}

/// Tags are stored joined by `,` (which a [`hush_core::Tag`] cannot contain).
pub(crate) fn join_tags(tags: &[hush_core::Tag]) -> String {
    tags.iter()
        .map(hush_core::Tag::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) const VERSION_COLUMNS: &str =
    "version, action, changed_keys, restored_from, created_at, created_by";

pub(crate) fn version(row: &AnyRow) -> sqlx::Result<VersionInfo> {
    Ok(VersionInfo {
        version: row.try_get("version")?,
        action: Action::from_db(row.try_get("action")?),
        changed_keys: split_keys(row.try_get("changed_keys")?),
        restored_from: row.try_get("restored_from")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
    })
}

/// Changed keys are stored newline-joined: no secret name contains one,
/// and blob writes may report names under any client's rules.
pub(crate) fn join_keys(keys: &[String]) -> String {
    keys.join("\n")
}

fn split_keys(keys: &str) -> Vec<String> {
    keys.split('\n')
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
        .collect()
}
