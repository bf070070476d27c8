//! Tokens: create (the token is in the response once), list, revoke.

use std::collections::HashMap;
use std::sync::Arc;

use crate::service::model::{ChildKind, TokenKind, TokenRecord};
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::Json;
use hush_proto::{CreateToken, CreatedToken, Token};
use serde::Deserialize;

use super::convert;
use crate::api::{page_limit, JsonBody, Paged, Params, PathArgs};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};
use crate::service::TokenRequest;
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

#[utoipa::path(
    post,
    path = "/orgs/{org}/tokens",
    summary = "Create an API or pull token (shown once)",
    params(("org" = String, Path, description = "Organization slug")),
    request_body = CreateToken,
    responses((status = 201, body = CreatedToken), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn create(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>)> {
    let mut request = TokenRequest {
        name: body.name.clone(),
        kind: TokenKind::Api,
        scopes: body
            .scopes
            .iter()
            .map(|s| s.parse())
            .collect::<Result<_>>()?,
        expires_at: convert::time("expires_at", body.expires_at.as_deref())?,
        project: body.project.clone(),
        environment: body.environment.clone(),
        prefix: None,
    };
    match body.kind.as_deref() {
        None | Some("api") => {}
        Some("pull") => request.kind = TokenKind::Pull,
        Some("hooklistener") => hooklistener_key(&app, &who, &org, &mut request, &body).await?,
        Some(other) => {
            return Err(ServiceError::new(
                ErrorCode::InvalidTokenRequest,
                format!("kind is \"api\", \"pull\" or \"hooklistener\", not {other:?}"),
            ))
        }
    }
    let (project, environment) = (request.project.clone(), request.environment.clone());
    let (secret, record) = app.services.tokens().create(&who, &org, request).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: secret.expose().to_owned(),
            info: convert::token(record, project, environment),
        }),
    ))
}

/// A Hooklistener API key: an `hklst_` API token limited to the
/// organization's secrets, reading them (`access: read`, the default) or
/// also writing them (`read-write`).
async fn hooklistener_key(
    app: &AppState,
    who: &Principal,
    org: &str,
    request: &mut TokenRequest,
    body: &CreateToken,
) -> Result<()> {
    if body.project.is_some() || body.environment.is_some() || !body.scopes.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::InvalidTokenRequest,
            "a hooklistener key is limited to the organization's secrets by itself: give \
             `access` (read or read-write), not a project, environment or scopes",
        ));
    }
    let mut scopes = vec![Permission::SecretRead, Permission::SecretDecrypt];
    match body.access.as_deref() {
        None | Some("read") => {}
        Some("read-write") => scopes.push(Permission::SecretWrite),
        Some(other) => {
            return Err(ServiceError::new(
                ErrorCode::InvalidTokenRequest,
                format!("access is \"read\" or \"read-write\", not {other:?}"),
            ))
        }
    }
    app.services.org_secrets().ensure(who, org).await?;
    request.scopes = scopes;
    request.project = Some(crate::service::ORG_SECRETS.to_owned());
    request.prefix = Some(hush_core::token::HOOKLISTENER_PREFIX);
    Ok(())
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/tokens",
    summary = "Tokens the caller manages, newest first, a page at a time",
    params(("org" = String, Path, description = "Organization slug"), ListQuery),
    responses((status = 200, body = Vec<Token>, headers(("link" = String, description = "`<…?before=…>; rel=\"next\"` when there may be more"))), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    Params(q): Params<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Paged<hush_proto::Token>> {
    let limit = page_limit(q.limit);
    let tokens = app
        .services
        .tokens()
        .list(&who, &org, q.before.as_deref(), limit)
        .await?;
    let names = restriction_names(&app, &who, &org, &tokens).await?;
    let tokens = tokens
        .into_iter()
        .map(|t| {
            let project = t.project_id.as_ref().and_then(|id| names.get(id).cloned());
            let env = t
                .environment_id
                .as_ref()
                .and_then(|id| names.get(id).cloned());
            convert::token(t, project, env)
        })
        .collect();
    Ok(Paged::new(tokens, limit, &uri, "before", |t: &Token| {
        t.id.clone()
    }))
}

/// `GET …/tokens` query: a page of tokens, newest first.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only tokens listed after this token id (the next page).
    before: Option<String>,
    /// Tokens per page: 100 by default, at most 1000.
    limit: Option<i64>,
}

/// Slugs of the projects and environments tokens are limited to, by id.
async fn restriction_names(
    app: &AppState,
    who: &Principal,
    org: &str,
    tokens: &[TokenRecord],
) -> Result<HashMap<String, String>> {
    let mut names = HashMap::new();
    if tokens.iter().all(|t| t.project_id.is_none()) {
        return Ok(names);
    }
    for project in app
        .services
        .projects()
        .list(who, org, None, i64::MAX)
        .await?
    {
        if tokens
            .iter()
            .any(|t| t.environment_id.is_some() && t.project_id.as_ref() == Some(&project.id))
        {
            for env in app
                .services
                .store
                .children(ChildKind::Environment, &project)
                .await?
            {
                names.insert(env.id, env.slug);
            }
        }
        names.insert(project.id, project.slug);
    }
    Ok(names)
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/tokens/{id}",
    summary = "Revoke a token",
    params(("org" = String, Path, description = "Organization slug"), ("id" = String, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(app): S,
    who: Principal,
    PathArgs((org, id)): PathArgs<(String, String)>,
) -> Result<StatusCode> {
    app.services.tokens().revoke(&who, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
