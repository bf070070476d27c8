//! The audit log: filtered, paged reads and chain verification.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use hush_core::time::to_rfc3339;
use hush_proto::{AuditPage, AuditVerification};
use serde::Deserialize;

use super::convert;
use crate::api::{Params, PathArgs};
use crate::auth::Principal;
use crate::error::ServiceError;
use crate::service::AuditFilter;
use crate::AppState;

/// `GET /v1/orgs/{org}/audit` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries of this project (slug).
    project: Option<String>,
    /// Only this actor (`token:<id>`, `user:<id>`).
    actor: Option<String>,
    /// Only this action, e.g. `secret.decrypt`.
    action: Option<String>,
    /// RFC 3339: not before.
    since: Option<String>,
    /// RFC 3339: not after.
    until: Option<String>,
    /// Entries older than this seq (paging).
    before: Option<i64>,
    /// At most this many (default 100, at most 1000).
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/audit",
    summary = "Audit log, newest first, filtered and paged",
    params(("org" = String, Path, description = "Organization slug"), AuditQuery),
    responses((status = 200, body = AuditPage), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    Params(q): Params<AuditQuery>,
) -> Result<Json<AuditPage>, ServiceError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let filter = AuditFilter {
        project: q.project,
        actor: q.actor,
        action: q.action,
        since: convert::time("since", q.since.as_deref())?,
        until: convert::time("until", q.until.as_deref())?,
        before: q.before,
        limit: Some(limit),
    };
    let records = app.services.audit().log(&who, &org, filter).await?;
    let names = app
        .services
        .actor_names(
            &who,
            &records
                .iter()
                .map(|r| r.entry.actor.clone())
                .collect::<Vec<_>>(),
        )
        .await?;
    let next_before = (records.len() as i64 == limit)
        .then(|| records.last().map(|r| r.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries: records
            .into_iter()
            .map(|r| hush_proto::AuditEntry {
                seq: r.seq,
                at: to_rfc3339(r.entry.at),
                actor_name: names.get(&r.entry.actor).cloned(),
                actor: r.entry.actor,
                action: r.entry.action,
                resource: r.entry.resource,
                result: r.entry.result,
                status: r.entry.status,
                ip: r.entry.ip,
                user_agent: r.entry.user_agent,
                count: r.entry.count,
                hash: r.hash,
            })
            .collect(),
        next_before,
    }))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/audit/verify",
    summary = "Check the audit log's hash chain",
    params(("org" = String, Path, description = "Organization slug")),
    responses((status = 200, body = AuditVerification), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn verify(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<AuditVerification>, ServiceError> {
    let v = app.services.audit().verify(&who, &org).await?;
    Ok(Json(AuditVerification {
        ok: v.ok,
        entries: v.entries,
        first_broken: v.first_broken,
        problem: v.problem.map(|p| p.to_string()),
        pruned_through: v.pruned_through,
    }))
}
