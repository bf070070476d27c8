//! Secrets of one scope: list (merged or exact), get, put, bulk write, delete.

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use hush_core::SecretString;
use hush_proto::{BulkWrite, PutSecret, Revision, Secret, SecretList, WriteResult};
use serde::Deserialize;

use super::{convert, ScopeQuery};
use crate::api::{JsonBody, KeyProof, Params, PathArgs};
use crate::auth::{AnyPrincipal, Principal};
use crate::error::{ErrorCode, ServiceError};
use crate::service::{
    ReadRequest, ScopeAddress, SecretChange, SecretFilter, SecretValue, WriteGuard,
};
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

/// `GET …/secrets` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Environment slug (neither env nor target: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
    /// `merged` (default) or `exact`.
    level: Option<String>,
    /// `metadata` (default), `ciphertext` or `plain`.
    reveal: Option<String>,
    /// Comma-separated names.
    names: Option<String>,
    tag: Option<String>,
    search: Option<String>,
    include_inactive: Option<bool>,
}

/// Scope and check-and-set for single-secret writes.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WriteQuery {
    /// Environment slug (neither env nor target: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
    /// Write only if the scope is still at this version (409 otherwise).
    expected_version: Option<i64>,
}

fn address(env: &Option<String>, target: &Option<String>) -> ScopeAddress {
    ScopeAddress {
        target: target.clone(),
        env: env.clone(),
    }
}

async fn read(
    app: &AppState,
    who: &Principal,
    org: &str,
    project: &str,
    q: ListQuery,
) -> Result<SecretList> {
    let exact = match q.level.as_deref() {
        None | Some("merged") => false,
        Some("exact") => true,
        Some(other) => {
            return Err(ServiceError::new(
                ErrorCode::InvalidQuery,
                format!("level is merged or exact, not {other:?}"),
            ))
        }
    };
    let request = ReadRequest {
        exact,
        reveal: convert::reveal(q.reveal.as_deref())?,
        include_inactive: q.include_inactive.unwrap_or(false),
        filter: SecretFilter {
            names: q.names.map(|n| {
                n.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            tag: q.tag,
            search: q.search,
        },
    };
    let address = address(&q.env, &q.target);
    let read = app
        .services
        .secrets()
        .read(who, org, project, &address, &request)
        .await?;
    Ok(convert::secret_list(read))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/secrets",
    summary = "Secrets of a scope, merged (deeper levels win) or exact",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ListQuery),
    responses((status = 200, body = SecretList), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<ListQuery>,
) -> Result<Json<SecretList>> {
    Ok(Json(read(&app, &who, &org, &project, q).await?))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/secrets/{name}",
    summary = "One secret as the merged view resolves it",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("name" = String, Path, description = "Secret name"), ListQuery),
    responses((status = 200, body = Secret), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn get(
    State(app): S,
    who: Principal,
    PathArgs((org, project, name)): PathArgs<(String, String, String)>,
    Params(mut q): Params<ListQuery>,
) -> Result<Json<hush_proto::Secret>> {
    q.names = Some(name.clone());
    q.include_inactive = Some(q.include_inactive.unwrap_or(true));
    let list = read(&app, &who, &org, &project, q).await?;
    list.secrets
        .into_iter()
        .next()
        .map(Json)
        .ok_or_else(|| ServiceError::new(ErrorCode::NotFound, format!("secret not found: {name}")))
}

#[utoipa::path(
    put,
    path = "/orgs/{org}/projects/{project}/secrets/{name}",
    summary = "Set one secret (or only its metadata) as one version",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("name" = String, Path, description = "Secret name"), WriteQuery),
    request_body = PutSecret,
    responses((status = 200, body = WriteResult), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn put(
    State(app): S,
    who: Principal,
    PathArgs((org, project, name)): PathArgs<(String, String, String)>,
    Params(q): Params<WriteQuery>,
    KeyProof(proof): KeyProof,
    JsonBody(body): JsonBody<PutSecret>,
) -> Result<Json<WriteResult>> {
    let expected = body.expected_version.or(q.expected_version);
    let version = app
        .services
        .secrets()
        .write(
            &who,
            &org,
            &project,
            &address(&q.env, &q.target),
            vec![SecretChange::Set(convert::put_secret(name, body)?)],
            WriteGuard {
                expected_version: expected,
                key_proof: proof.as_deref(),
            },
        )
        .await?;
    Ok(convert::written(version))
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/secrets",
    summary = "Set and delete many secrets as one version",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), WriteQuery),
    request_body = BulkWrite,
    responses((status = 200, body = WriteResult), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn bulk(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<WriteQuery>,
    KeyProof(proof): KeyProof,
    JsonBody(body): JsonBody<BulkWrite>,
) -> Result<Json<WriteResult>> {
    let expected = body.expected_version.or(q.expected_version);
    let version = app
        .services
        .secrets()
        .write(
            &who,
            &org,
            &project,
            &address(&q.env, &q.target),
            body.set
                .into_iter()
                .map(|e| SecretChange::Set(SecretValue::new(e.name, SecretString::new(e.value))))
                .chain(body.delete.into_iter().map(SecretChange::Delete))
                .collect(),
            WriteGuard {
                expected_version: expected,
                key_proof: proof.as_deref(),
            },
        )
        .await?;
    Ok(convert::written(version))
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/projects/{project}/secrets/{name}",
    summary = "Delete one secret as one version",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("name" = String, Path, description = "Secret name"), WriteQuery),
    responses((status = 200, body = WriteResult), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn remove(
    State(app): S,
    who: Principal,
    PathArgs((org, project, name)): PathArgs<(String, String, String)>,
    Params(q): Params<WriteQuery>,
    KeyProof(proof): KeyProof,
) -> Result<Json<WriteResult>> {
    let version = app
        .services
        .secrets()
        .write(
            &who,
            &org,
            &project,
            &address(&q.env, &q.target),
            vec![SecretChange::Delete(name)],
            WriteGuard {
                expected_version: q.expected_version,
                key_proof: proof.as_deref(),
            },
        )
        .await?;
    Ok(convert::written(version))
}

/// `GET …/projects/{p}/revision`: what clients poll to watch for changes.
#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/revision",
    summary = "Revision of a merged view: changes whenever it may have; cheap to poll",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ScopeQuery),
    responses((status = 200, body = Revision), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn revision(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<Revision>> {
    let address = q.address();
    let revision = app
        .services
        .secrets()
        .revision(&who, &org, &project, &address)
        .await?;
    Ok(Json(Revision { revision }))
}

/// `GET /v1/pull/revision?env=`: the same for a pull token.
#[utoipa::path(
    get,
    path = "/pull/revision",
    summary = "Revision of what a pull token reads",
    params(ScopeQuery),
    responses((status = 200, body = Revision), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn pull_revision(
    State(app): S,
    AnyPrincipal(who): AnyPrincipal,
    Params(q): Params<ScopeQuery>,
) -> Result<Json<Revision>> {
    if q.target.is_some() {
        return Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            "pull tokens read environments without a target",
        ));
    }
    let revision = app
        .services
        .pulls()
        .revision(&who, q.env.as_deref())
        .await?;
    Ok(Json(Revision { revision }))
}
