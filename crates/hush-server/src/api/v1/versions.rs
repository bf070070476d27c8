//! A scope's version log: list, read, diff, restore, delete, purge, and
//! the soft-delete / undelete / destroy states Vault KV clients set.

use std::sync::Arc;

use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::Json;
use hush_proto::{DiffEntry, Purged, SecretList, Version, WriteResult};
use serde::Deserialize;

use super::{convert, ScopeQuery};
use crate::api::{page_limit, Paged, Params, PathArgs};
use crate::auth::Principal;
use crate::error::ServiceError;
use crate::service::model::VersionState;
use crate::service::Page;
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

/// `GET …/versions/{v}` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StateQuery {
    /// Environment slug (neither env nor target: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
    /// `metadata` (default), `ciphertext` or `plain`.
    reveal: Option<String>,
}

/// `GET …/diff` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// Environment slug (neither env nor target: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
    /// Older version.
    from: i64,
    /// Newer version.
    to: i64,
}

/// `POST …/versions/{v}/restore` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RestoreQuery {
    /// Environment slug (neither env nor target: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
    /// Write only if the scope is still at this version (409 otherwise).
    expected_version: Option<i64>,
}

/// `GET …/versions` query: the scope and a page of the log.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Environment slug (neither env nor target: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
    /// Only versions older than this one (the next page starts below the
    /// last version of the previous page).
    before: Option<i64>,
    /// Versions per page: 100 by default, at most 1000.
    limit: Option<i64>,
}

fn scope(env: Option<String>, target: Option<String>) -> crate::service::ScopeAddress {
    ScopeQuery { env, target }.address()
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/versions",
    summary = "Version log of a scope, newest first",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ListQuery),
    responses((status = 200, body = Vec<Version>, headers(("link" = String, description = "`<…?before=…>; rel=\"next\"` when there may be more"))), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Paged<Version>> {
    let page = Page::new(q.before, Some(page_limit(q.limit)));
    let versions = app
        .services
        .versions()
        .list(&who, &org, &project, &scope(q.env, q.target), page)
        .await?;
    let names = app
        .services
        .actor_names(
            &who,
            &versions
                .iter()
                .map(|v| v.created_by.clone())
                .collect::<Vec<_>>(),
        )
        .await?;
    let versions = versions
        .into_iter()
        .map(|v| {
            let name = names.get(&v.created_by).cloned();
            hush_proto::Version {
                created_by_name: name,
                ..convert::version(v)
            }
        })
        .collect();
    Ok(Paged::new(
        versions,
        page.limit,
        &uri,
        "before",
        |v: &Version| v.version.to_string(),
    ))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/versions/{version}",
    summary = "The scope's secrets at a version",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("version" = i64, Path, description = "Version number"), StateQuery),
    responses((status = 200, body = SecretList), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn get(
    State(app): S,
    who: Principal,
    PathArgs((org, project, version)): PathArgs<(String, String, i64)>,
    Params(q): Params<StateQuery>,
) -> Result<Json<SecretList>> {
    let reveal = convert::reveal(q.reveal.as_deref())?;
    let read = app
        .services
        .versions()
        .state(
            &who,
            &org,
            &project,
            &scope(q.env, q.target),
            version,
            reveal,
        )
        .await?;
    Ok(Json(convert::secret_list(read)))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/diff",
    summary = "Names that differ between two versions",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), DiffQuery),
    responses((status = 200, body = Vec<DiffEntry>), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn diff(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<DiffQuery>,
) -> Result<Json<Vec<DiffEntry>>> {
    let entries = app
        .services
        .versions()
        .diff(&who, &org, &project, &scope(q.env, q.target), q.from, q.to)
        .await?;
    Ok(Json(entries.into_iter().map(convert::diff).collect()))
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/versions/{version}/restore",
    summary = "Restore a version as a new version",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("version" = i64, Path, description = "Version number"), RestoreQuery),
    responses((status = 200, body = WriteResult), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn restore(
    State(app): S,
    who: Principal,
    PathArgs((org, project, version)): PathArgs<(String, String, i64)>,
    Params(q): Params<RestoreQuery>,
) -> Result<Json<WriteResult>> {
    let info = app
        .services
        .versions()
        .restore(
            &who,
            &org,
            &project,
            &scope(q.env, q.target),
            version,
            q.expected_version,
        )
        .await?;
    Ok(convert::written(info))
}

/// The shared part of the three version-state routes.
async fn set_state(
    app: &AppState,
    who: &Principal,
    (org, project, version): (String, String, i64),
    q: &ScopeQuery,
    state: VersionState,
) -> Result<Json<Version>> {
    let info = app
        .services
        .versions()
        .set_state(who, &org, &project, &q.address(), version, state)
        .await?;
    Ok(Json(convert::version(info)))
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/versions/{version}/soft-delete",
    summary = "Soft-delete a version (Vault KV's delete; undelete brings it back)",
    description = "While the current version is soft-deleted the scope reads as empty and the next write starts from nothing.",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("version" = i64, Path, description = "Version number"), ScopeQuery),
    responses((status = 200, body = Version), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn soft_delete(
    State(app): S,
    who: Principal,
    PathArgs(path): PathArgs<(String, String, i64)>,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<Version>> {
    set_state(&app, &who, path, &q, VersionState::Delete).await
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/versions/{version}/undelete",
    summary = "Undo a soft delete",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("version" = i64, Path, description = "Version number"), ScopeQuery),
    responses((status = 200, body = Version), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn undelete(
    State(app): S,
    who: Principal,
    PathArgs(path): PathArgs<(String, String, i64)>,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<Version>> {
    set_state(&app, &who, path, &q, VersionState::Undelete).await
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/versions/{version}/destroy",
    summary = "Erase a version's values for good (Vault KV's destroy; needs secret:purge)",
    description = "Other versions keep their state whole.",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("version" = i64, Path, description = "Version number"), ScopeQuery),
    responses((status = 200, body = Version), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn destroy(
    State(app): S,
    who: Principal,
    PathArgs(path): PathArgs<(String, String, i64)>,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<Version>> {
    set_state(&app, &who, path, &q, VersionState::Destroy).await
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/projects/{project}/versions/{version}",
    summary = "Delete one version (not the current one)",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("version" = i64, Path, description = "Version number"), ScopeQuery),
    responses((status = 204, description = "Deleted"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn remove(
    State(app): S,
    who: Principal,
    PathArgs((org, project, version)): PathArgs<(String, String, i64)>,
    Params(q): Params<ScopeQuery>,
) -> Result<StatusCode> {
    app.services
        .versions()
        .delete(&who, &org, &project, &q.address(), version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/versions/purge",
    summary = "Delete every version but the current one",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ScopeQuery),
    responses((status = 200, body = Purged), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn purge(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<Purged>> {
    let removed = app
        .services
        .versions()
        .purge(&who, &org, &project, &q.address())
        .await?;
    Ok(Json(Purged {
        purged_versions: removed,
    }))
}
