//! The organization's audit log: filter by actor, action, project and
//! time, with the hash chain's verification status.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{html, Viewer};
use crate::api::Params;
use crate::error::{ErrorCode, ServiceError};
use crate::service::AuditFilter;
use crate::AppState;

pub(super) struct EntryRow {
    seq: i64,
    at: String,
    who: String,
    action: String,
    result: String,
    resource: String,
}

#[derive(Template)]
#[template(path = "dashboard/audit.html")]
struct AuditPage {
    user: Option<String>,
    csrf: String,
    chain_ok: bool,
    chain: String,
    actor: String,
    action: String,
    project: String,
    since: String,
    entries: Vec<EntryRow>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    project: String,
    #[serde(default)]
    since: String,
}

fn given(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

pub(super) async fn page(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Params(query): Params<AuditQuery>,
) -> Result<Response, ServiceError> {
    let audit = app.services.audit();
    let since = match given(&query.since) {
        Some(text) => {
            let now = crate::now_ms();
            let at = hush_core::time::parse_when(&text, now).ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::InvalidTime,
                    "since is a date (2026-11-01), a time (RFC 3339) or an age (7d, 12h)",
                )
            })?;
            // An age ("7d") reads as that long ago.
            Some(if at > now { now - (at - now) } else { at })
        }
        None => None,
    };
    let filter = AuditFilter {
        actor: given(&query.actor),
        action: given(&query.action),
        project: given(&query.project),
        since,
        limit: Some(200),
        ..AuditFilter::default()
    };
    let (entries, error) = match audit.log(&viewer.who, &viewer.org, filter).await {
        Ok(entries) => (entries, None),
        Err(err) if err.code().status().as_u16() == 404 => (Vec::new(), Some(err.parts().message)),
        Err(err) => return Err(err),
    };
    let (chain_ok, chain) = match audit.verify(&viewer.who, &viewer.org).await {
        Ok(v) if v.ok => (
            true,
            format!(
                "The audit chain checks out ({} entries of this organization).",
                v.entries
            ),
        ),
        Ok(v) => (
            false,
            format!(
                "The audit chain is broken{}: entries were altered or removed.",
                v.first_broken
                    .map(|s| format!(" at entry {s}"))
                    .unwrap_or_default()
            ),
        ),
        Err(_) => (
            true,
            "Only organization admins can verify the chain.".to_owned(),
        ),
    };
    let actors: Vec<String> = entries.iter().map(|e| e.entry.actor.clone()).collect();
    let names = app.services.actor_names(&viewer.who, &actors).await?;
    let entries = entries
        .into_iter()
        .map(|e| EntryRow {
            seq: e.seq,
            at: hush_core::time::to_rfc3339(e.entry.at),
            who: names.get(&e.entry.actor).cloned().unwrap_or(e.entry.actor),
            action: e.entry.action,
            result: format!("{} {}", e.entry.result, e.entry.status),
            resource: e.entry.resource,
        })
        .collect();
    Ok(html(&AuditPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        chain_ok,
        chain,
        actor: query.actor,
        action: query.action,
        project: query.project,
        since: query.since,
        entries,
        error,
    }))
}
