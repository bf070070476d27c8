//! Pulls: the merged view of one scope, ready to inject, in the native
//! envelope. What `hush run`, `hush pull` and `hush-client` use; Hep.gg's
//! pull is an adapter over the same service call.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use hush_proto::Pull;
use serde::Deserialize;

use super::convert;
use crate::api::{Params, PathArgs};
use crate::auth::AnyPrincipal;
use crate::error::ServiceError;
use crate::service::{PullRequest, Pulled, ScopeAddress};
use crate::AppState;

/// `GET …/pull` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    /// Environment slug (a project-wide pull token needs it; an
    /// environment-locked one reads its own).
    env: Option<String>,
    /// Target slug (not with pull tokens).
    target: Option<String>,
    /// Comma-separated names: only these.
    keys: Option<String>,
}

impl PullQuery {
    fn request(self, project: Option<(String, String)>) -> PullRequest {
        PullRequest {
            project,
            address: ScopeAddress {
                env: self.env,
                target: self.target,
            },
            keys: self.keys.map(|k| {
                k.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
        }
    }
}

fn body(pulled: Pulled) -> Pull {
    Pull {
        secrets: pulled
            .secrets()
            .map(|(name, value)| (name.to_owned(), value.expose().to_owned()))
            .collect(),
        project: pulled.project,
        environment: pulled.env,
        target: pulled.target,
        revision: pulled.revision,
        e2ee: pulled.e2ee,
        e2ee_meta: pulled.meta.map(convert::meta_out),
    }
}

#[utoipa::path(
    get,
    path = "/pull",
    summary = "Pull the merged environment of the token's project (pull tokens, project-limited tokens)",
    params(PullQuery),
    responses((status = 200, body = Pull), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn own(
    State(app): State<Arc<AppState>>,
    AnyPrincipal(who): AnyPrincipal,
    Params(q): Params<PullQuery>,
) -> Result<Json<Pull>, ServiceError> {
    let pulled = app.services.pulls().pull(&who, q.request(None)).await?;
    Ok(Json(body(pulled)))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/pull",
    summary = "Pull a merged scope of a project (needs secret:decrypt; secret:read for an end-to-end-encrypted project)",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), PullQuery),
    responses((status = 200, body = Pull), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn project(
    State(app): State<Arc<AppState>>,
    AnyPrincipal(who): AnyPrincipal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<PullQuery>,
) -> Result<Json<Pull>, ServiceError> {
    let pulled = app
        .services
        .pulls()
        .pull(&who, q.request(Some((org, project))))
        .await?;
    Ok(Json(body(pulled)))
}
