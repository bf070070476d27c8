//! Service records to native wire types, and wire input to service requests.

use crate::service::model::{
    Child, DiffKind, EncryptionMode, Organization, Project, Reveal, TokenRecord, Value, VersionInfo,
};
use axum::Json;
use base64::Engine;
use hush_core::time::{parse_rfc3339, to_rfc3339};
use hush_core::SecretString;
use hush_proto::WriteResult;

use crate::error::{ErrorCode, ServiceError};
use crate::service::SecretValue;

pub fn org(o: Organization) -> hush_proto::Organization {
    hush_proto::Organization {
        dotenv_id: hush_core::ulid::from_uuid(&o.id).unwrap_or_default(),
        id: o.id,
        slug: o.slug,
        name: o.name,
        created_at: to_rfc3339(o.created_at),
        viewers_decrypt: o.viewers_decrypt,
        plan: o.limits.plan,
        max_projects: o.limits.max_projects,
        max_environments: o.limits.max_environments,
    }
}

pub fn project(p: Project) -> hush_proto::Project {
    hush_proto::Project {
        id: p.id,
        slug: p.slug,
        name: p.name,
        encryption_mode: p.mode.as_str().to_owned(),
        created_at: to_rfc3339(p.created_at),
    }
}

pub fn child(c: Child) -> hush_proto::Child {
    hush_proto::Child {
        id: c.id,
        slug: c.slug,
        name: c.name,
        created_at: to_rfc3339(c.created_at),
    }
}

/// Server-mode ciphertext is raw bytes (sent as base64); client-mode
/// "ciphertext" is the client's own text, returned as it was stored.
pub fn secret(s: crate::service::model::Secret, mode: EncryptionMode) -> hush_proto::Secret {
    let value = match &s.value {
        Value::Hidden => None,
        Value::Plain(v) => Some(v.expose().to_owned()),
        Value::Ciphertext(bytes) => Some(match mode {
            EncryptionMode::Server => base64::engine::general_purpose::STANDARD.encode(bytes),
            EncryptionMode::Client => String::from_utf8_lossy(bytes).into_owned(),
        }),
    };
    hush_proto::Secret {
        name: s.name,
        value,
        level: s.level.as_str().to_owned(),
        note: s.note,
        tags: s.tags,
        is_active: s.is_active,
        is_reserved: s.is_reserved,
        expires_at: s.expires_at.map(to_rfc3339),
        created_at: to_rfc3339(s.created_at),
        updated_at: to_rfc3339(s.updated_at),
        created_by: s.created_by,
        updated_by: s.updated_by,
    }
}

/// A read as the wire list.
pub fn secret_list(read: crate::service::SecretsRead) -> hush_proto::SecretList {
    hush_proto::SecretList {
        version: read.version,
        secrets: read
            .secrets
            .into_iter()
            .map(|s| secret(s, read.mode))
            .collect(),
    }
}

pub fn version(v: VersionInfo) -> hush_proto::Version {
    hush_proto::Version {
        version: v.version,
        action: match v.action {
            crate::service::model::Action::Write => "write",
            crate::service::model::Action::Restore => "restore",
            crate::service::model::Action::Blob => "blob",
        }
        .to_owned(),
        changed_keys: v.changed_keys,
        restored_from: v.restored_from,
        created_at: to_rfc3339(v.created_at),
        created_by: v.created_by,
        created_by_name: None,
        deleted_at: v.deleted_at.map(to_rfc3339),
        destroyed: v.destroyed,
    }
}

pub fn diff(d: crate::service::model::DiffEntry) -> hush_proto::DiffEntry {
    hush_proto::DiffEntry {
        name: d.name,
        change: match d.kind {
            DiffKind::Added => "added",
            DiffKind::Removed => "removed",
            DiffKind::Changed => "changed",
        }
        .to_owned(),
    }
}

pub fn token(
    t: TokenRecord,
    project: Option<String>,
    environment: Option<String>,
) -> hush_proto::Token {
    hush_proto::Token {
        id: t.id,
        kind: t.kind.as_str().to_owned(),
        name: t.name,
        prefix: t.prefix,
        scopes: t.scopes,
        project,
        environment,
        expires_at: t.expires_at.map(to_rfc3339),
        disabled: t.disabled,
        created_at: to_rfc3339(t.created_at),
        last_used_at: t.last_used_at.map(to_rfc3339),
    }
}

/// Parses an optional RFC 3339 time.
pub fn time(field: &str, text: Option<&str>) -> Result<Option<i64>, ServiceError> {
    text.map(|t| {
        parse_rfc3339(t).ok_or_else(|| {
            ServiceError::new(
                ErrorCode::InvalidTime,
                format!("{field} must be an RFC 3339 time such as 2030-01-31T12:00:00Z"),
            )
        })
    })
    .transpose()
}

/// A `PUT …/secrets/{name}` body as a service request.
pub fn put_secret(name: String, body: hush_proto::PutSecret) -> Result<SecretValue, ServiceError> {
    Ok(SecretValue {
        name,
        expires_at: time("expires_at", body.expires_at.as_deref())?,
        value: body.value.map(SecretString::new),
        note: body.note,
        tags: body.tags,
        is_active: body.is_active.unwrap_or(true),
        is_reserved: body.is_reserved.unwrap_or(false),
    })
}

/// Parses `?reveal=` (default `metadata`).
pub fn reveal(text: Option<&str>) -> Result<Reveal, ServiceError> {
    match text {
        None | Some("metadata") => Ok(Reveal::Metadata),
        Some("ciphertext") => Ok(Reveal::Ciphertext),
        Some("plain") => Ok(Reveal::Plaintext),
        Some(other) => Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            format!("reveal is metadata, ciphertext or plain, not {other:?}"),
        )),
    }
}

/// What a write returns.
pub fn written(v: VersionInfo) -> Json<WriteResult> {
    Json(WriteResult {
        version: v.version,
        changed_keys: v.changed_keys,
    })
}

/// Key metadata, wire → core.
pub fn meta_in(m: hush_proto::E2eeMeta) -> hush_core::e2ee::Meta {
    hush_core::e2ee::Meta {
        iterations: m.iterations,
        salt_pass: m.salt_pass,
        wrapped_dek_pass: m.wrapped_dek_pass,
        salt_rec: m.salt_rec,
        wrapped_dek_rec: m.wrapped_dek_rec,
        verifier: m.verifier,
    }
}

/// Key metadata, core → wire.
pub fn meta_out(m: hush_core::e2ee::Meta) -> hush_proto::E2eeMeta {
    hush_proto::E2eeMeta {
        iterations: m.iterations,
        salt_pass: m.salt_pass,
        wrapped_dek_pass: m.wrapped_dek_pass,
        salt_rec: m.salt_rec,
        wrapped_dek_rec: m.wrapped_dek_rec,
        verifier: m.verifier,
    }
}
