//! A scope's version log: list, read, diff, restore, delete, purge.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hush_proto::{DiffEntry, SecretList, Version, WriteResult};
use serde::Deserialize;

use super::{convert, ScopeQuery};
use crate::api::{Params, PathArgs};
use crate::auth::Principal;
use crate::error::ServiceError;
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

/// `GET …/versions/{v}` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateQuery {
    env: Option<String>,
    target: Option<String>,
    reveal: Option<String>,
}

/// `GET …/diff` query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    env: Option<String>,
    target: Option<String>,
    from: i64,
    to: i64,
}

/// `POST …/versions/{v}/restore` query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreQuery {
    env: Option<String>,
    target: Option<String>,
    expected_version: Option<i64>,
}

fn scope(env: Option<String>, target: Option<String>) -> crate::service::ScopeAddress {
    ScopeQuery { env, target }.address()
}

pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<Vec<Version>>> {
    let versions = app
        .services
        .versions(&who, &org, &project, &q.address())
        .await?;
    Ok(Json(versions.into_iter().map(convert::version).collect()))
}

pub async fn get(
    State(app): S,
    who: Principal,
    PathArgs((org, project, version)): PathArgs<(String, String, i64)>,
    Params(q): Params<StateQuery>,
) -> Result<Json<SecretList>> {
    let reveal = convert::reveal(q.reveal.as_deref())?;
    let read = app
        .services
        .version_state(
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

pub async fn diff(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<DiffQuery>,
) -> Result<Json<Vec<DiffEntry>>> {
    let entries = app
        .services
        .diff(&who, &org, &project, &scope(q.env, q.target), q.from, q.to)
        .await?;
    Ok(Json(entries.into_iter().map(convert::diff).collect()))
}

pub async fn restore(
    State(app): S,
    who: Principal,
    PathArgs((org, project, version)): PathArgs<(String, String, i64)>,
    Params(q): Params<RestoreQuery>,
) -> Result<Json<WriteResult>> {
    let info = app
        .services
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

pub async fn remove(
    State(app): S,
    who: Principal,
    PathArgs((org, project, version)): PathArgs<(String, String, i64)>,
    Params(q): Params<ScopeQuery>,
) -> Result<StatusCode> {
    app.services
        .delete_version(&who, &org, &project, &q.address(), version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn purge(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<serde_json::Value>> {
    let removed = app
        .services
        .purge(&who, &org, &project, &q.address())
        .await?;
    Ok(Json(serde_json::json!({ "purged_versions": removed })))
}
