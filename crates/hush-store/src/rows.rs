//! Mapping database rows to records. Column lists live next to the code
//! that reads them so a query and its decoder cannot drift apart.

use crate::db::Row;
use crate::error::{Result, StoreError};
use crate::model::*;

pub(crate) const ORG_COLUMNS: &str =
    "id, slug, name, created_at, viewers_decrypt, plan, max_projects, max_environments";

pub(crate) fn org(row: &Row) -> Result<Organization> {
    let limit = |i: usize| -> Result<Option<u32>> {
        Ok(row
            .get::<Option<i64>>(i)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    };
    Ok(Organization {
        id: row.get(0)?,
        slug: row.get(1)?,
        name: row.get(2)?,
        created_at: row.get(3)?,
        viewers_decrypt: row.get::<i64>(4)? != 0,
        limits: PlanLimits {
            plan: row.get(5)?,
            max_projects: limit(6)?,
            max_environments: limit(7)?,
        },
    })
}

pub(crate) const PROJECT_COLUMNS: &str =
    "id, org_id, slug, name, encryption_mode, created_at, created_by";

pub(crate) fn project(row: &Row) -> Result<Project> {
    let mode: String = row.get(4)?;
    Ok(Project {
        id: row.get(0)?,
        org_id: row.get(1)?,
        slug: row.get(2)?,
        name: row.get(3)?,
        // An unknown mode fails closed: never guess how to treat values.
        mode: EncryptionMode::from_db(&mode).ok_or(StoreError::Decode {
            column: 4,
            expected: "encryption mode 'server' or 'client'",
        })?,
        created_at: row.get(5)?,
        created_by: row.get(6)?,
    })
}

pub(crate) const CHILD_COLUMNS: &str = "id, project_id, slug, name, created_at";

pub(crate) fn child(kind: ChildKind, row: &Row) -> Result<Child> {
    Ok(Child {
        kind,
        id: row.get(0)?,
        project_id: row.get(1)?,
        slug: row.get(2)?,
        name: row.get(3)?,
        created_at: row.get(4)?,
    })
}

/// Columns of `secrets` after `scope_id, id`, in the order
/// `version_changes` stores them (where the id column is `secret_id`).
pub(crate) const SECRET_FIELDS: &str = "name, value, note, tags, is_active, is_reserved, \
     expires_at, created_at, updated_at, created_by, updated_by";

/// A secret row with its value still as stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
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
pub(crate) fn secret(row: &Row) -> Result<SecretRow> {
    secret_at(row, 0)
}

/// Decodes `scope_id, id, SECRET_FIELDS` starting at column `at`.
pub(crate) fn secret_at(row: &Row, at: usize) -> Result<SecretRow> {
    Ok(SecretRow {
        scope_id: row.get(at)?,
        id: row.get(at + 1)?,
        name: row.get(at + 2)?,
        value: row.get(at + 3)?,
        note: row.get(at + 4)?,
        tags: row.get(at + 5)?,
        is_active: row.flag(at + 6)?,
        is_reserved: row.flag(at + 7)?,
        expires_at: row.get(at + 8)?,
        created_at: row.get(at + 9)?,
        updated_at: row.get(at + 10)?,
        created_by: row.get(at + 11)?,
        updated_by: row.get(at + 12)?,
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
    "version, action, changed_keys, restored_from, created_at, created_by, deleted_at, destroyed";

pub(crate) fn version(row: &Row) -> Result<VersionInfo> {
    let action: String = row.get(1)?;
    let keys: String = row.get(2)?;
    Ok(VersionInfo {
        version: row.get(0)?,
        action: Action::from_db(&action),
        changed_keys: split_keys(&keys),
        restored_from: row.get(3)?,
        created_at: row.get(4)?,
        created_by: row.get(5)?,
        deleted_at: row.get(6)?,
        destroyed: row.flag(7)?,
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
