//! Hep.gg's dashboard API (`shared/seeds/hepgg-secrets.txt`, "Hep.gg
//! dashboard"): projects, environments, the name × environment matrix,
//! cells, imports, copies, pull tokens and a project's audit feed under
//! `/api/v1/secrets/projects…`, in Hep.gg's style (`{"ok":true,"data":…}`,
//! errors `{"ok":false,"error":"CODE","message"}`). `:id` is the project's
//! id. The seed gives paths, not bodies; hush's are in the README ("Hep.gg's
//! dashboard API") and follow the seed's naming (`e2eeMeta`, `createdAt`).
//!
//! Browsers sign in at `POST /api/v1/secrets/session` and get a session
//! cookie (`HttpOnly`, `SameSite=Strict`, `Secure` under TLS) backed by a
//! server-side session that logout and the user's removal end at once.
//! Every cookie-authenticated request that changes state must carry the
//! session's CSRF token (`X-CSRF-Token`) and come from the server's own
//! origin (`Origin`, else `Sec-Fetch-Site: same-origin`). Scripts send a
//! user's bearer token instead, and need neither.

use std::sync::Arc;

use crate::service::model::{
    ChildKind, EncryptionMode, Environment, Project, TokenKind, TokenRecord,
};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use hush_core::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::{Params, PathArgs, RawBody};
use crate::audit::AuditSlot;
use crate::auth::{authenticate, bearer, browser, Principal};
use crate::error::{ErrorCode, ServiceError};
use crate::service::{AuditFilter, CopyRequest, Matrix, ScopeAddress, TokenRequest};
use crate::AppState;

const SESSION: &str = "/api/v1/secrets/session";
const PROJECTS: &str = "/api/v1/secrets/projects";
const PROJECT: &str = "/api/v1/secrets/projects/{id}";
const ENVS: &str = "/api/v1/secrets/projects/{id}/environments";
const MATRIX: &str = "/api/v1/secrets/projects/{id}/secrets";
const CELL: &str = "/api/v1/secrets/projects/{id}/secrets/cell";
const BULK: &str = "/api/v1/secrets/projects/{id}/secrets/bulk";
const COPY: &str = "/api/v1/secrets/projects/{id}/secrets/copy";
const TOKENS: &str = "/api/v1/secrets/projects/{id}/tokens";
const TOKEN: &str = "/api/v1/secrets/projects/{id}/tokens/{token}";
const AUDIT: &str = "/api/v1/secrets/projects/{id}/audit";

/// The header a cookie-authenticated change must echo the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The dashboard API's routes.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::HepGgDashboard,
    prefixes: &["/api/v1/secrets/projects", "/api/v1/secrets/session"],
    routes: &[
        Route::new(Method::POST, SESSION, "auth.login", Auth::None),
        Route::new(Method::GET, SESSION, "auth.whoami", Auth::Session),
        Route::new(Method::DELETE, SESSION, "auth.logout", Auth::Session),
        Route::new(Method::GET, PROJECTS, "project.list", Auth::Session),
        Route::new(Method::POST, PROJECTS, "project.create", Auth::Session),
        Route::new(Method::PATCH, PROJECT, "project.rename", Auth::Session),
        Route::new(Method::DELETE, PROJECT, "project.delete", Auth::Session),
        Route::new(Method::GET, ENVS, "environment.list", Auth::Session),
        Route::new(Method::POST, ENVS, "environment.create", Auth::Session),
        Route::new(Method::GET, MATRIX, "secret.matrix", Auth::Session),
        Route::new(Method::PUT, CELL, "secret.write", Auth::Session),
        Route::new(Method::POST, BULK, "secret.import", Auth::Session),
        Route::new(Method::POST, COPY, "secret.copy", Auth::Session),
        Route::new(Method::GET, TOKENS, "token.list", Auth::Session),
        Route::new(Method::POST, TOKENS, "token.create", Auth::Session),
        Route::new(Method::PATCH, TOKEN, "token.update", Auth::Session),
        Route::new(Method::DELETE, TOKEN, "token.revoke", Auth::Session),
        Route::new(Method::GET, AUDIT, "audit.read", Auth::Session),
    ],
};

/// The routes with their OpenAPI descriptions (tag `Hep.gg dashboard`),
/// merged into hush's document at `/v1/openapi.json`.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(login, session, logout))
        .routes(routes!(list_projects, create_project))
        .routes(routes!(rename_project, delete_project))
        .routes(routes!(list_envs, create_env))
        .routes(routes!(matrix))
        .routes(routes!(set_cell))
        .routes(routes!(bulk))
        .routes(routes!(copy))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(update_token, revoke_token))
        .routes(routes!(audit))
}

/// Hep.gg's error body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct HepGgError {
    /// Always false.
    ok: bool,
    /// Stable code: `NO_TOKEN`, `BAD_TOKEN`, `CSRF_REJECTED`, `NOT_FOUND`,
    /// `INSUFFICIENT_SCOPE`, `INVALID_JSON`, `LIMIT_EXCEEDED`, `RATE_LIMITED`, …
    error: String,
    /// What went wrong, for people.
    message: String,
}

crate::api::v1::doc::surface_errors!(
    /// The error answers every dashboard route may give.
    Errors,
    "HepGgError",
    [
        ("400", "INVALID_JSON: malformed JSON or query"),
        ("401", "NO_TOKEN (no session or token) or BAD_TOKEN"),
        ("403", "CSRF_REJECTED, or the caller may not (INSUFFICIENT_SCOPE)"),
        ("404", "NOT_FOUND: unknown, or another organization's"),
        ("409", "ALREADY_EXISTS, TOKEN_REVOKED"),
        ("422", "Invalid body, name or value; LIMIT_EXCEEDED; VALUE_TOO_LARGE"),
        ("429", "RATE_LIMITED; retry after Retry-After seconds"),
    ]
);

/// The caller: a user's bearer token, or the session cookie (a login
/// session only; a change also passes [`check_csrf`]). First among a
/// handler's arguments, so a stranger is refused before the body is read.
struct Caller(Principal);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, ServiceError> {
        let slot = parts.extensions.get::<AuditSlot>();
        if let Some(token) = bearer(&parts.headers) {
            return Ok(Caller(authenticate(app, token).await?.audited_by(slot)));
        }
        let session = browser::session_cookie(&parts.headers).ok_or_else(|| {
            ServiceError::new(
                ErrorCode::MissingToken,
                "sign in (POST /api/v1/secrets/session) or send Authorization: Bearer hush_…",
            )
        })?;
        let who = browser::cookie_session(app, session)
            .await?
            .audited_by(slot);
        let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if changes {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            browser::check_change(&parts.headers, session, sent, app.https)?;
        }
        Ok(Caller(who))
    }
}

/// `{"ok":true,"data":…}`.
fn ok(data: Value) -> Response {
    Json(json!({ "ok": true, "data": data })).into_response()
}

fn created(data: Value) -> Response {
    (
        StatusCode::CREATED,
        Json(json!({ "ok": true, "data": data })),
    )
        .into_response()
}

/// A JSON body, read once the caller is known.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    serde_json::from_slice(body).map_err(|err| {
        let code = if err.is_data() {
            ErrorCode::InvalidBody
        } else {
            ErrorCode::InvalidJson
        };
        ServiceError::new(code, format!("invalid request body: {err}"))
    })
}

fn time(ms: i64) -> String {
    hush_core::time::to_rfc3339(ms)
}

/// A project by `:id`, with its organization's slug.
async fn project_of(
    app: &AppState,
    who: &Principal,
    id: &str,
) -> Result<(String, Project), ServiceError> {
    let (org, project) = app.services.project_by_id(who, id).await?;
    Ok((org.slug, project))
}

fn meta_json(meta: &hush_core::e2ee::Meta) -> Value {
    json!({
        "iterations": meta.iterations,
        "saltPass": meta.salt_pass,
        "wrappedDekPass": meta.wrapped_dek_pass,
        "saltRec": meta.salt_rec,
        "wrappedDekRec": meta.wrapped_dek_rec,
        "verifier": meta.verifier,
    })
}

async fn project_json(app: &AppState, project: &Project) -> Result<Value, ServiceError> {
    let mut out = json!({
        "id": project.id,
        "slug": project.slug,
        "name": project.name,
        "e2ee": project.mode == EncryptionMode::Client,
        "createdAt": time(project.created_at),
    });
    if let Some(meta) = app.services.e2ee().meta_of(project).await? {
        out["e2eeMeta"] = meta_json(&meta);
    }
    Ok(out)
}

// ---- session -------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
    #[serde(default)]
    org: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/session",
    tag = "Hep.gg dashboard",
    summary = "Sign in: sets the session cookie (HttpOnly, SameSite=Strict, Secure under TLS); answers the CSRF token",
    request_body = Login,
    responses((status = 200, description = "`{\"ok\":true,\"data\":{\"csrfToken\",\"expiresAt\",\"user\":{\"email\",\"role\"}}}` and Set-Cookie"), Errors),
    security(())
)]
async fn login(
    State(app): State<Arc<AppState>>,
    slot: Option<Extension<AuditSlot>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: Login = parse(&body)?;
    let password = SecretString::new(body.password);
    let org = body.org.as_deref().unwrap_or(crate::service::DEFAULT_ORG);
    let login = app
        .services
        .users()
        .login(&body.email, &password, Some(org), &peer.ip().to_string())
        .await;
    let (secret, record, user, role) = match login {
        Ok(session) => session,
        Err(err) => {
            app.metrics.login_failed();
            return Err(err);
        }
    };
    if let Some(Extension(slot)) = slot {
        slot.identify(format!("user:{}", user.id), &record.org_id, None);
    }
    let expires_at = record.expires_at.unwrap_or_else(crate::now_ms);
    let max_age = ((expires_at - crate::now_ms()) / 1000).max(0);
    let mut response = ok(json!({
        "csrfToken": browser::csrf_token(secret.expose()),
        "expiresAt": time(expires_at),
        "user": { "email": user.email, "role": role.as_str() },
    }));
    response.headers_mut().insert(
        header::SET_COOKIE,
        browser::set_cookie(secret.expose(), max_age, app.https),
    );
    Ok(response)
}

#[utoipa::path(
    get,
    path = "/api/v1/secrets/session",
    tag = "Hep.gg dashboard",
    summary = "The signed-in user (and, for a cookie, its CSRF token again)",
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn session(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    headers: HeaderMap,
) -> Result<Response, ServiceError> {
    let identity = app.services.users().identity(&who).await?;
    let mut data = json!({
        "org": identity.org.slug,
        "user": identity.user.as_ref().map(|m| json!({ "email": m.email, "role": m.role.as_str() })),
        "expiresAt": who.token.expires_at.map(time),
    });
    if let Some(session) = browser::session_cookie(&headers).filter(|_| bearer(&headers).is_none())
    {
        data["csrfToken"] = json!(browser::csrf_token(session));
    }
    Ok(ok(data))
}

#[utoipa::path(
    delete,
    path = "/api/v1/secrets/session",
    tag = "Hep.gg dashboard",
    summary = "Sign out: ends the session and clears the cookie",
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn logout(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
) -> Result<Response, ServiceError> {
    app.services.users().logout(&who).await?;
    let mut response = ok(json!({ "signedOut": true }));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, browser::set_cookie("", 0, app.https));
    Ok(response)
}

// ---- projects and environments ------------------------------------------

#[utoipa::path(
    get,
    path = "/api/v1/secrets/projects",
    tag = "Hep.gg dashboard",
    summary = "Projects: id, slug, name, e2ee, createdAt, e2eeMeta",
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn list_projects(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
) -> Result<Response, ServiceError> {
    let org = app.services.own_org(&who).await?;
    let projects = app
        .services
        .projects()
        .list(&who, &org.slug, None, crate::service::Page::MAX_LIMIT)
        .await?;
    let mut out = Vec::new();
    for project in projects
        .iter()
        .filter(|p| p.slug != crate::service::ORG_SECRETS)
    {
        out.push(project_json(&app, project).await?);
    }
    Ok(ok(Value::Array(out)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewProject {
    name: String,
    #[serde(default)]
    slug: Option<String>,
    #[serde(default)]
    e2ee: bool,
    #[serde(default)]
    e2ee_meta: Option<E2eeMetaIn>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct E2eeMetaIn {
    iterations: u32,
    salt_pass: String,
    wrapped_dek_pass: String,
    salt_rec: String,
    wrapped_dek_rec: String,
    verifier: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/projects",
    tag = "Hep.gg dashboard",
    summary = "Create a project (slug from the name); e2ee with the creator's e2eeMeta is fixed at creation",
    request_body = NewProject,
    responses((status = 201, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn create_project(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: NewProject = parse(&body)?;
    let meta = match (body.e2ee, body.e2ee_meta) {
        (true, Some(m)) => Some(hush_core::e2ee::Meta {
            iterations: m.iterations,
            salt_pass: m.salt_pass,
            wrapped_dek_pass: m.wrapped_dek_pass,
            salt_rec: m.salt_rec,
            wrapped_dek_rec: m.wrapped_dek_rec,
            verifier: m.verifier,
        }),
        (true, None) => {
            return Err(ServiceError::new(
                ErrorCode::InvalidE2eeMeta,
                "an end-to-end-encrypted project needs the e2eeMeta its creator made",
            ))
        }
        (false, Some(_)) => {
            return Err(ServiceError::new(
                ErrorCode::InvalidE2eeMeta,
                "e2eeMeta goes with e2ee: true",
            ))
        }
        (false, None) => None,
    };
    let mode = if body.e2ee {
        EncryptionMode::Client
    } else {
        EncryptionMode::Server
    };
    let org = app.services.own_org(&who).await?;
    let meta = meta.map(|m| (m, None));
    let projects = app.services.projects();
    let project = match body.slug {
        Some(slug) => {
            projects
                .create(&who, &org.slug, &slug, Some(body.name.trim()), mode, meta)
                .await?
        }
        None => {
            projects
                .create_named(&who, &org.slug, &body.name, mode, meta)
                .await?
        }
    };
    Ok(created(project_json(&app, &project).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

#[utoipa::path(
    patch,
    path = "/api/v1/secrets/projects/{id}",
    tag = "Hep.gg dashboard",
    summary = "Rename (the slug stays)",
    params(("id" = String, Path, description = "Project id")),
    request_body = Rename,
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn rename_project(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let body: Rename = parse(&body)?;
    let project = app
        .services
        .projects()
        .rename(&who, &org, &project.slug, &body.name)
        .await?;
    Ok(ok(project_json(&app, &project).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/secrets/projects/{id}",
    tag = "Hep.gg dashboard",
    summary = "Delete with everything in it",
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn delete_project(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    app.services
        .projects()
        .delete(&who, &org, &project.slug)
        .await?;
    Ok(ok(json!({ "id": project.id, "deleted": true })))
}

fn env_json(env: &Environment) -> Value {
    json!({ "id": env.id, "slug": env.slug, "name": env.name, "createdAt": time(env.created_at) })
}

#[utoipa::path(
    get,
    path = "/api/v1/secrets/projects/{id}/environments",
    tag = "Hep.gg dashboard",
    summary = "Environments",
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn list_envs(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let envs = app
        .services
        .projects()
        .children(&who, ChildKind::Environment, &org, &project.slug)
        .await?;
    Ok(ok(envs.iter().map(env_json).collect()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewEnv {
    name: String,
    #[serde(default)]
    slug: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/projects/{id}/environments",
    tag = "Hep.gg dashboard",
    summary = "Create an environment (slug from the name)",
    params(("id" = String, Path, description = "Project id")),
    request_body = NewEnv,
    responses((status = 201, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn create_env(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let body: NewEnv = parse(&body)?;
    let projects = app.services.projects();
    let kind = ChildKind::Environment;
    let env = match body.slug {
        Some(slug) => {
            projects
                .create_child(
                    &who,
                    kind,
                    &org,
                    &project.slug,
                    &slug,
                    Some(body.name.trim()),
                )
                .await?
        }
        None => {
            projects
                .create_child_named(&who, kind, &org, &project.slug, &body.name)
                .await?
        }
    };
    Ok(created(env_json(&env)))
}

// ---- secrets -------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct MatrixQuery {
    #[serde(default)]
    reveal: Option<bool>,
}

fn matrix_json(matrix: &Matrix, revealed: bool) -> Value {
    let secrets: Vec<Value> = matrix
        .rows
        .iter()
        .map(|(name, cells)| {
            let cells: Map<String, Value> = matrix
                .environments
                .iter()
                .zip(cells)
                .map(|(env, cell)| {
                    let mut out = json!({ "state": cell.state.as_str() });
                    if revealed {
                        out["value"] = cell
                            .value
                            .as_ref()
                            .map_or(Value::Null, |v| Value::from(v.expose()));
                    }
                    (env.slug.clone(), out)
                })
                .collect();
            json!({ "name": name, "cells": cells })
        })
        .collect();
    json!({
        "environments": matrix.environments.iter().map(env_json).collect::<Vec<_>>(),
        "secrets": secrets,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/secrets/projects/{id}/secrets",
    tag = "Hep.gg dashboard",
    summary = "The name × environment matrix; each cell set, inherited (project level) or missing; reveal=true adds values (audited as a decrypt)",
    params(("id" = String, Path, description = "Project id"), MatrixQuery),
    responses((status = 200, description = "`{\"ok\":true,\"data\":{\"project\",\"environments\":[…],\"secrets\":[{\"name\",\"cells\":{\"<env>\":{\"state\",\"value\"?}}}]}}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn matrix(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    Params(query): Params<MatrixQuery>,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let reveal = query.reveal.unwrap_or(false);
    let matrix = app
        .services
        .matrix()
        .read(&who, &org, &project.slug, None, reveal)
        .await?;
    let mut data = matrix_json(&matrix, reveal);
    data["project"] = project_json(&app, &matrix.project).await?;
    Ok(ok(data))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CellBody {
    name: String,
    env: String,
    value: Option<String>,
}

#[utoipa::path(
    put,
    path = "/api/v1/secrets/projects/{id}/secrets/cell",
    tag = "Hep.gg dashboard",
    summary = "Set one name in one environment, or clear it (value null)",
    params(("id" = String, Path, description = "Project id")),
    request_body = CellBody,
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn set_cell(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    crate::api::KeyProof(proof): crate::api::KeyProof,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let body: CellBody = parse(&body)?;
    let matrix = app.services.matrix();
    let (version, state) = match body.value {
        Some(value) => {
            let report = matrix
                .import(
                    &who,
                    &org,
                    &project.slug,
                    &ScopeAddress::environment(&body.env),
                    vec![(body.name.clone(), SecretString::new(value))],
                    proof.as_deref(),
                )
                .await?;
            if let Some((_, why)) = report.rejected.first() {
                return Err(ServiceError::new(ErrorCode::InvalidName, why.clone()));
            }
            (report.version, "set")
        }
        None => (
            matrix
                .clear(&who, &org, &project.slug, &body.env, &body.name)
                .await?,
            "cleared",
        ),
    };
    Ok(ok(
        json!({ "name": body.name, "env": body.env, "state": state, "version": version }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BulkBody {
    env: String,
    /// `dotenv` (default) or `json`, for `content`.
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    secrets: Option<Map<String, Value>>,
}

/// The names and values of an import, in the order given.
fn bulk_entries(body: &BulkBody) -> Result<Vec<(String, SecretString)>, ServiceError> {
    let invalid = |message: String| ServiceError::new(ErrorCode::InvalidFile, message);
    let map = match (&body.content, &body.secrets) {
        (Some(text), None) => match body.format.as_deref().unwrap_or("dotenv") {
            "dotenv" => hush_core::dotenv::parse(text)
                .map_err(|err| invalid(format!("not a valid .env text: {err}")))?,
            "json" => hush_core::reader::parse_json(text).map_err(|err| {
                invalid(format!(
                    "a JSON import is one object of NAME: value ({err})"
                ))
            })?,
            other => {
                return Err(ServiceError::new(
                    ErrorCode::InvalidBody,
                    format!("format is dotenv or json, not {other:?}"),
                ))
            }
        },
        (None, Some(secrets)) => {
            let mut map = hush_core::dotenv::EnvMap::new();
            for (name, value) in secrets {
                let Value::String(value) = value else {
                    return Err(invalid(format!("{name}: values are strings")));
                };
                map.insert(name.clone(), SecretString::new(value.clone()));
            }
            map
        }
        _ => {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                "send content (a .env or JSON text) or secrets (an object), one of them",
            ))
        }
    };
    Ok(map.into_iter().collect())
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/projects/{id}/secrets/bulk",
    tag = "Hep.gg dashboard",
    summary = "Import a .env or JSON text, or an object, into one environment as one version",
    params(("id" = String, Path, description = "Project id")),
    request_body = BulkBody,
    responses((status = 200, description = "`{\"ok\":true,\"data\":{\"env\",\"version\",\"added\",\"changed\",\"unchanged\",\"rejected\":[{\"name\",\"reason\"}]}}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn bulk(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    crate::api::KeyProof(proof): crate::api::KeyProof,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let body: BulkBody = parse(&body)?;
    let entries = bulk_entries(&body)?;
    let report = app
        .services
        .matrix()
        .import(
            &who,
            &org,
            &project.slug,
            &ScopeAddress::environment(&body.env),
            entries,
            proof.as_deref(),
        )
        .await?;
    Ok(ok(json!({
        "env": body.env,
        "version": report.version,
        "added": report.added,
        "changed": report.changed,
        "unchanged": report.unchanged,
        "rejected": report.rejected.iter().map(|(name, reason)| json!({ "name": name, "reason": reason })).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CopyBody {
    from: String,
    to: String,
    #[serde(default)]
    overwrite: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/projects/{id}/secrets/copy",
    tag = "Hep.gg dashboard",
    summary = "Copy one environment into another (overwrite, or fill missing names only)",
    params(("id" = String, Path, description = "Project id")),
    request_body = CopyBody,
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn copy(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    crate::api::KeyProof(proof): crate::api::KeyProof,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let body: CopyBody = parse(&body)?;
    let result = app
        .services
        .secrets()
        .copy(
            &who,
            &org,
            &project.slug,
            CopyRequest {
                from: ScopeAddress::environment(&body.from),
                to: ScopeAddress::environment(&body.to),
                overwrite: body.overwrite,
                expected_version: None,
                key_proof: proof,
            },
        )
        .await;
    let (version, copied) = match result {
        Ok(info) => (info.version, info.changed_keys),
        // Nothing to copy (or everything already there): no version.
        Err(err) if err.code() == ErrorCode::EmptyWrite => (0, Vec::new()),
        Err(err) => return Err(err),
    };
    Ok(ok(json!({
        "from": body.from,
        "to": body.to,
        "overwrite": body.overwrite,
        "version": version,
        "copied": copied,
    })))
}

// ---- tokens and audit ----------------------------------------------------

async fn token_json(
    app: &AppState,
    who: &Principal,
    org: &str,
    project: &Project,
    token: &TokenRecord,
) -> Result<Value, ServiceError> {
    let env = match &token.environment_id {
        Some(id) => app
            .services
            .projects()
            .children(who, ChildKind::Environment, org, &project.slug)
            .await?
            .into_iter()
            .find(|e| e.id == *id)
            .map(|e| e.slug),
        None => None,
    };
    Ok(json!({
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "env": env,
        "disabled": token.disabled,
        "createdAt": time(token.created_at),
        "lastUsedAt": token.last_used_at.map(time),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/secrets/projects/{id}/tokens",
    tag = "Hep.gg dashboard",
    summary = "The project's pull tokens (not their secrets)",
    params(("id" = String, Path, description = "Project id")),
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn list_tokens(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let tokens = app
        .services
        .tokens()
        .pull_tokens(&who, &org, &project.slug)
        .await?;
    let mut out = Vec::new();
    for token in &tokens {
        out.push(token_json(&app, &who, &org, &project, token).await?);
    }
    Ok(ok(Value::Array(out)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    #[serde(default)]
    env: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/secrets/projects/{id}/tokens",
    tag = "Hep.gg dashboard",
    summary = "Create a pull token (hsk_…, shown once), project-wide or locked to env",
    params(("id" = String, Path, description = "Project id")),
    request_body = NewToken,
    responses((status = 201, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn create_token(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let body: NewToken = parse(&body)?;
    let (secret, record) = app
        .services
        .tokens()
        .create(
            &who,
            &org,
            TokenRequest {
                name: body.name,
                kind: TokenKind::Pull,
                scopes: Vec::new(),
                project: Some(project.slug.clone()),
                environment: body.env,
                expires_at: None,
                prefix: None,
            },
        )
        .await?;
    let mut out = token_json(&app, &who, &org, &project, &record).await?;
    out["token"] = json!(secret.expose());
    Ok(created(out))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenUpdate {
    disabled: bool,
}

#[utoipa::path(
    patch,
    path = "/api/v1/secrets/projects/{id}/tokens/{token}",
    tag = "Hep.gg dashboard",
    summary = "Disable or enable a pull token (a disabled token's pull answers 401 BAD_TOKEN)",
    params(("id" = String, Path, description = "Project id"), ("token" = String, Path, description = "Token id")),
    request_body = TokenUpdate,
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn update_token(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((id, token)): PathArgs<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let body: TokenUpdate = parse(&body)?;
    app.services
        .tokens()
        .check_in_project(&who, &org, &project.slug, &token)
        .await?;
    let record = app
        .services
        .tokens()
        .set_disabled(&who, &org, &token, body.disabled)
        .await?;
    Ok(ok(token_json(&app, &who, &org, &project, &record).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/secrets/projects/{id}/tokens/{token}",
    tag = "Hep.gg dashboard",
    summary = "Revoke a pull token for good",
    params(("id" = String, Path, description = "Project id"), ("token" = String, Path, description = "Token id")),
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn revoke_token(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((id, token)): PathArgs<(String, String)>,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    app.services
        .tokens()
        .check_in_project(&who, &org, &project.slug, &token)
        .await?;
    app.services.tokens().revoke(&who, &org, &token).await?;
    Ok(ok(json!({ "id": token, "revoked": true })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/api/v1/secrets/projects/{id}/audit",
    tag = "Hep.gg dashboard",
    summary = "The project's audit feed, newest first",
    params(("id" = String, Path, description = "Project id"), AuditQuery),
    responses((status = 200, description = "`{\"ok\":true,\"data\":…}`"), Errors),
    security(("session" = []), ("bearer" = []))
)]
async fn audit(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(id): PathArgs<String>,
    Params(query): Params<AuditQuery>,
) -> Result<Response, ServiceError> {
    let (org, project) = project_of(&app, &who, &id).await?;
    let entries = app
        .services
        .audit()
        .log(
            &who,
            &org,
            AuditFilter {
                project: Some(project.slug.clone()),
                before: query.before,
                limit: Some(crate::api::page_limit(query.limit)),
                ..AuditFilter::default()
            },
        )
        .await?;
    let actors: Vec<String> = entries.iter().map(|e| e.entry.actor.clone()).collect();
    let names = app.services.actor_names(&who, &actors).await?;
    let out: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "at": time(e.entry.at),
                "actor": e.entry.actor,
                "actorName": names.get(&e.entry.actor),
                "action": e.entry.action,
                "result": e.entry.result,
                "status": e.entry.status,
                "ip": e.entry.ip,
            })
        })
        .collect();
    Ok(ok(Value::Array(out)))
}
