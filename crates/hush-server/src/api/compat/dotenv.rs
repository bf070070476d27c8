//! DotEnv's secrets API (`shared/seeds/dotenv-cloud.txt`) under
//! `/api/v1/{organization}/…`, with any hush API token as
//! `Authorization: Bearer`. `{organization}` is the organization's id in
//! ULID form (`hush orgs` shows it) or its slug.
//!
//! The seed's routes: the hierarchical GET at project, target and
//! environment depth; `POST …/secrets/retrieve|store|delete`. hush adds,
//! in the same style (a JSON body naming project, target, environment):
//! the level's versions (`POST …/secrets/versions`, `…/versions/{v}`,
//! `…/versions/{v}/restore`, `…/versions/{v}/delete`, `…/versions/purge`)
//! and the key verification of client-managed projects
//! (`GET|POST …/secrets/key-verification`). The mapping onto hush is
//! `service::dotenv`'s; this module is the wire. Errors are
//! `{"error": code, "message": …}` with the seed's codes
//! (`insufficient_permissions`, `key_proof_required`, …).
//!
//! `raw=true` answers without the `data` wrapper: with `decrypt=true` and
//! `merge=true` a `.env` text (`text/plain`); otherwise JSON — the levels
//! object (`merge=false`), the flat map (`merge=true`), or
//! `{"levels", "secrets"}` (`merge=both`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hush_core::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::{Params, PathArgs, RawBody};
use crate::auth::Principal;
use crate::error::{ErrorCode, ErrorParts, ServiceError};
use crate::service::model::KeyVerification;
use crate::service::{
    DotenvContent, KeyVerificationRequest, LevelFilter, LevelPath, LevelRead, LevelsRead, Page,
    ReadAction, ScopeAddress, StoreRequest, Stored,
};
use crate::AppState;

const READ_PROJECT: &str = "/api/v1/{organization}/{project}/secrets";
const READ_TARGET: &str = "/api/v1/{organization}/{project}/{target}/secrets";
const READ_ENV: &str = "/api/v1/{organization}/{project}/{target}/{environment}/secrets";
const RETRIEVE: &str = "/api/v1/{organization}/secrets/retrieve";
const STORE: &str = "/api/v1/{organization}/secrets/store";
const DELETE: &str = "/api/v1/{organization}/secrets/delete";
const VERSIONS: &str = "/api/v1/{organization}/secrets/versions";
const PURGE: &str = "/api/v1/{organization}/secrets/versions/purge";
const VERSION: &str = "/api/v1/{organization}/secrets/versions/{version}";
const RESTORE: &str = "/api/v1/{organization}/secrets/versions/{version}/restore";
const VERSION_DELETE: &str = "/api/v1/{organization}/secrets/versions/{version}/delete";
const KEY_VERIFICATION: &str = "/api/v1/{organization}/secrets/key-verification";

/// DotEnv's routes. Reads that decrypt or hand out a key name their
/// action themselves (`secret.decrypt`, `key.retrieve`).
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::Dotenv,
    prefixes: &["/api/v1/"],
    routes: &[
        Route::new(Method::GET, READ_PROJECT, "secret.read", Auth::Token),
        Route::new(Method::GET, READ_TARGET, "secret.read", Auth::Token),
        Route::new(Method::GET, READ_ENV, "secret.read", Auth::Token),
        Route::new(Method::POST, RETRIEVE, "secret.read", Auth::Token),
        Route::new(Method::POST, STORE, "secret.write", Auth::Token),
        Route::new(Method::POST, DELETE, "secret.clear", Auth::Token),
        Route::new(Method::POST, VERSIONS, "version.list", Auth::Token),
        Route::new(Method::POST, PURGE, "version.purge", Auth::Token),
        Route::new(Method::POST, VERSION, "version.read", Auth::Token),
        Route::new(Method::POST, RESTORE, "version.restore", Auth::Token),
        Route::new(Method::POST, VERSION_DELETE, "version.delete", Auth::Token),
        Route::new(
            Method::GET,
            KEY_VERIFICATION,
            "key.verification.read",
            Auth::Token,
        ),
        Route::new(
            Method::POST,
            KEY_VERIFICATION,
            "key.verification.set",
            Auth::Token,
        ),
    ],
};

/// The routes with their OpenAPI descriptions (tag `DotEnv`), merged into
/// hush's document at `/v1/openapi.json`.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(read_project))
        .routes(routes!(read_target))
        .routes(routes!(read_env))
        .routes(routes!(retrieve))
        .routes(routes!(store))
        .routes(routes!(delete))
        .routes(routes!(versions))
        .routes(routes!(purge))
        .routes(routes!(version))
        .routes(routes!(restore))
        .routes(routes!(delete_version))
        .routes(routes!(key_verification, set_key_verification))
}

/// DotEnv's error shape, with its code for a missing scope.
pub fn render(parts: &ErrorParts) -> Response {
    let code = match parts.code {
        ErrorCode::InsufficientScope
        | ErrorCode::EnvironmentLocked
        | ErrorCode::TokenLimited
        | ErrorCode::PullToken => "insufficient_permissions",
        other => other.as_str(),
    };
    (
        parts.code.status(),
        Json(json!({ "error": code, "message": parts.message })),
    )
        .into_response()
}

/// `{organization}`, in every DotEnv path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct OrgPath {
    /// Organization id (ULID form, as `hush orgs` shows it) or slug.
    organization: String,
}

/// DotEnv's error body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DotenvError {
    /// Stable code: `insufficient_permissions`, `not_found`,
    /// `key_proof_required`, `key_proof_mismatch`, `client_managed`,
    /// `invalid_blob`, `invalid_json`, …
    error: String,
    /// What went wrong, for people.
    message: String,
}

crate::api::v1::doc::surface_errors!(
    /// The error answers every DotEnv route may give.
    Errors,
    "DotenvError",
    [
        ("400", "Malformed JSON or query, bad base64 or a blob that does not decrypt"),
        ("401", "Token missing, invalid, revoked or expired"),
        ("403", "insufficient_permissions: the token lacks the scope"),
        ("404", "Not found, or outside the token's organization, project or environment"),
        ("422", "Invalid body or names; key_proof_required / key_proof_mismatch; client_managed"),
        ("429", "Rate limited; retry after Retry-After seconds"),
    ]
);

/// `merge`: levels apart, one flat map, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    Levels,
    Flat,
    Both,
}

fn merge_of(value: Option<&Value>) -> Result<Merge, ServiceError> {
    match text_of(value).as_deref() {
        None | Some("false") => Ok(Merge::Levels),
        Some("true") => Ok(Merge::Flat),
        Some("both") => Ok(Merge::Both),
        Some(other) => Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            format!("merge is false, true or both, not {other:?}"),
        )),
    }
}

fn flag_of(name: &str, value: Option<&Value>) -> Result<bool, ServiceError> {
    match text_of(value).as_deref() {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(other) => Err(ServiceError::new(
            ErrorCode::InvalidQuery,
            format!("{name} is true or false, not {other:?}"),
        )),
    }
}

/// A query or body value as text (`"true"`, `true` and `1` alike).
fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Null => None,
        Value::String(s) => Some(s.trim().to_ascii_lowercase()),
        other => Some(other.to_string()),
    }
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

/// The level every body names (`project`, `target`, `environment`; the
/// deepest given wins). Bodies refuse unknown fields, so a misspelt
/// `environment` is an error rather than a write to the level above.
macro_rules! addresses_level {
    ($($body:ident),*) => {$(
        impl $body {
            fn level_path(&self, organization: String) -> LevelPath {
                level_path(
                    organization,
                    self.project.clone(),
                    self.target.clone().filter(|t| !t.is_empty()),
                    self.environment.clone().filter(|e| !e.is_empty()),
                )
            }
        }
    )*};
}

addresses_level!(
    RetrieveBody,
    StoreBody,
    DeleteBody,
    VersionsBody,
    VersionBody,
    LevelBody,
    PurgeBody
);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    /// Decrypt server-side (server-managed; also needs secret:decrypt).
    #[param(value_type = Option<bool>)]
    decrypt: Option<Value>,
    /// `false` (levels apart, default), `true` (one flat map, deeper
    /// wins) or `both`.
    #[param(value_type = Option<String>)]
    merge: Option<Value>,
    /// The content without the `data` wrapper.
    #[param(value_type = Option<bool>)]
    raw: Option<Value>,
}

#[utoipa::path(
    get,
    path = "/api/v1/{organization}/{project}/secrets",
    tag = "DotEnv",
    summary = "The project level (secret:read; decrypt=true also secret:decrypt)",
    params(OrgPath, ("project" = String, Path, description = "Project slug"), ReadQuery),
    responses((status = 200, description = "`{\"data\":{\"type\":\"secrets\",\"attributes\":{\"encrypted\",\"format\",\"levels\"|\"secrets\"}}}`; with raw=true the content alone (decrypt+merge+raw: a .env text)"), Errors),
    security(("bearer" = []))
)]
async fn read_project(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs((organization, project)): PathArgs<(String, String)>,
    Params(query): Params<ReadQuery>,
) -> Result<Response, ServiceError> {
    let path = level_path(organization, project, None, None);
    read_levels(&app, &who, path, query).await
}

#[utoipa::path(
    get,
    path = "/api/v1/{organization}/{project}/{target}/secrets",
    tag = "DotEnv",
    summary = "The project and target levels",
    params(OrgPath, ("project" = String, Path, description = "Project slug"), ("target" = String, Path, description = "Target slug"), ReadQuery),
    responses((status = 200, description = "As for the project level, with the target level too"), Errors),
    security(("bearer" = []))
)]
async fn read_target(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs((organization, project, target)): PathArgs<(String, String, String)>,
    Params(query): Params<ReadQuery>,
) -> Result<Response, ServiceError> {
    let path = level_path(organization, project, Some(target), None);
    read_levels(&app, &who, path, query).await
}

#[utoipa::path(
    get,
    path = "/api/v1/{organization}/{project}/{target}/{environment}/secrets",
    tag = "DotEnv",
    summary = "The project, target and environment levels",
    params(OrgPath, ("project" = String, Path, description = "Project slug"), ("target" = String, Path, description = "Target slug"), ("environment" = String, Path, description = "Environment slug"), ReadQuery),
    responses((status = 200, description = "As for the project level, with all three levels"), Errors),
    security(("bearer" = []))
)]
async fn read_env(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs((organization, project, target, env)): PathArgs<(String, String, String, String)>,
    Params(query): Params<ReadQuery>,
) -> Result<Response, ServiceError> {
    let path = level_path(organization, project, Some(target), Some(env));
    read_levels(&app, &who, path, query).await
}

fn level_path(
    org: String,
    project: String,
    target: Option<String>,
    env: Option<String>,
) -> LevelPath {
    LevelPath {
        org,
        project,
        address: ScopeAddress { target, env },
    }
}

/// The shared part of the three GETs.
async fn read_levels(
    app: &AppState,
    who: &Principal,
    path: LevelPath,
    query: ReadQuery,
) -> Result<Response, ServiceError> {
    let decrypt = flag_of("decrypt", query.decrypt.as_ref())?;
    let merge = merge_of(query.merge.as_ref())?;
    let raw = flag_of("raw", query.raw.as_ref())?;
    let action = if decrypt {
        ReadAction::Decrypt { also_read: true }
    } else {
        ReadAction::Read
    };
    let read = app
        .services
        .dotenv()
        .read(who, &path, action, &LevelFilter::default())
        .await?;
    levels_response(&read, merge, raw)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Filters {
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    search: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RetrieveBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    filters: Option<Filters>,
    /// `false` (default), `true` or `both`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    merge: Option<Value>,
    /// The content without the `data` wrapper.
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    raw: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/retrieve",
    tag = "DotEnv",
    summary = "Read with filters (action read: secret:read; decrypt: secret:decrypt; key:retrieve: the exchange key, key:retrieve)",
    params(OrgPath),
    request_body = RetrieveBody,
    responses((status = 200, description = "Levels as the GET answers them, or for key:retrieve `{\"data\":{\"type\":\"key\",\"attributes\":{\"key\",\"algorithm\",\"format\"}}}`"), Errors),
    security(("bearer" = []))
)]
async fn retrieve(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: RetrieveBody = parse(&body)?;
    let path = body.level_path(organization);
    let merge = merge_of(body.merge.as_ref())?;
    let raw = flag_of("raw", body.raw.as_ref())?;
    let action = match body.action.as_deref().unwrap_or("read") {
        "read" => ReadAction::Read,
        "decrypt" => ReadAction::Decrypt { also_read: false },
        "key:retrieve" => return key_response(&app, &who, &path, raw).await,
        other => {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                format!("action is read, decrypt or key:retrieve, not {other:?}"),
            ))
        }
    };
    let filter = body
        .filters
        .map_or_else(LevelFilter::default, |f| LevelFilter {
            names: f.names,
            tags: f.tags,
            search: f.search.filter(|s| !s.is_empty()),
        });
    let read = app
        .services
        .dotenv()
        .read(&who, &path, action, &filter)
        .await?;
    levels_response(&read, merge, raw)
}

/// `action: key:retrieve`: the project's exchange key and how to use it.
async fn key_response(
    app: &AppState,
    who: &Principal,
    path: &LevelPath,
    raw: bool,
) -> Result<Response, ServiceError> {
    let (project, key) = app.services.dotenv().exchange_key(who, path).await?;
    let attributes = json!({
        "project": project.slug,
        "algorithm": "AES-256-GCM",
        "encoding": "base64",
        "format": "base64(IV(12) || ciphertext || tag(16))",
        "key": key.encode().expose(),
    });
    Ok(Json(if raw {
        attributes
    } else {
        json!({ "data": { "type": "key", "attributes": attributes } })
    })
    .into_response())
}

fn entries_json(entries: &BTreeMap<String, SecretString>) -> Value {
    Value::Object(
        entries
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.expose())))
            .collect(),
    )
}

fn content_json(content: &DotenvContent) -> Value {
    match content {
        DotenvContent::Entries(entries) => entries_json(entries),
        DotenvContent::Blob(blob) => blob.as_deref().map_or(Value::Null, Value::from),
    }
}

fn levels_json(read: &LevelsRead) -> Value {
    let levels: Map<String, Value> = read
        .levels
        .iter()
        .map(|l| (l.level.as_str().to_owned(), content_json(&l.content)))
        .collect();
    Value::Object(levels)
}

/// A read in the shape `merge` and `raw` ask for.
fn levels_response(read: &LevelsRead, merge: Merge, raw: bool) -> Result<Response, ServiceError> {
    let merged = match merge {
        Merge::Levels => None,
        Merge::Flat | Merge::Both => Some(read.merged()?),
    };
    if raw {
        return Ok(match (merge, merged) {
            (Merge::Flat, Some(merged)) if !read.encrypted => (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                hush_core::dotenv::serialize(&merged),
            )
                .into_response(),
            (Merge::Flat, Some(merged)) => Json(entries_json(&merged)).into_response(),
            (Merge::Both, Some(merged)) => Json(json!({
                "levels": levels_json(read),
                "secrets": entries_json(&merged),
            }))
            .into_response(),
            _ => Json(levels_json(read)).into_response(),
        });
    }
    let mut attributes = Map::new();
    attributes.insert("encrypted".into(), read.encrypted.into());
    attributes.insert(
        "format".into(),
        match merge {
            Merge::Levels => "hierarchical",
            Merge::Flat => "merged",
            Merge::Both => "both",
        }
        .into(),
    );
    if merge != Merge::Flat {
        attributes.insert("levels".into(), levels_json(read));
    }
    if let Some(merged) = &merged {
        attributes.insert("secrets".into(), entries_json(merged));
    }
    Ok(Json(json!({ "data": { "type": "secrets", "attributes": attributes } })).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct StoreBody {
    /// Project slug.
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    /// Server-managed: a `.env` text sealed under the exchange key.
    /// Client-managed: the client's blob, `base64(IV ‖ ciphertext ‖ tag)`.
    content: String,
    /// Client-managed projects: hex PBKDF2-HMAC-SHA256 of the key with the
    /// key verification's salt and iterations.
    #[serde(default)]
    key_proof: Option<String>,
    /// Drop the previous state instead of keeping it as a version (needs
    /// secret:purge).
    #[serde(default)]
    no_backup: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/store",
    tag = "DotEnv",
    summary = "Replace a level's content as one version (secret:write; no_backup also secret:purge)",
    params(OrgPath),
    request_body = StoreBody,
    responses((status = 200, description = "`{\"data\":{\"type\":\"secrets\",\"level\",\"source\",\"bytes\",\"version\"},\"message\":\"Secrets stored successfully.\"}`"), Errors),
    security(("bearer" = []))
)]
async fn store(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: StoreBody = parse(&body)?;
    let path = body.level_path(organization);
    let stored = app
        .services
        .dotenv()
        .store(
            &who,
            &path,
            StoreRequest {
                content: &body.content,
                key_proof: body.key_proof.as_deref(),
                no_backup: body.no_backup,
            },
        )
        .await?;
    Ok(Json(json!({
        "data": {
            "type": "secrets",
            "level": stored.level.as_str(),
            "source": stored.source,
            "bytes": body.content.len(),
            "version": stored.version,
        },
        "message": "Secrets stored successfully.",
    }))
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    no_backup: bool,
    #[serde(default)]
    confirmed: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/delete",
    tag = "DotEnv",
    summary = "Clear a level (secret:write); no_backup with confirmed also purges its history (secret:purge)",
    params(OrgPath),
    request_body = DeleteBody,
    responses((status = 204, description = "Cleared"), Errors),
    security(("bearer" = []))
)]
async fn delete(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: DeleteBody = parse(&body)?;
    let path = body.level_path(organization);
    let purge = body.no_backup.then_some(body.confirmed);
    app.services.dotenv().delete(&who, &path, purge).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VersionsBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

fn stored_meta(stored: &Stored) -> Value {
    json!({
        "level": stored.level.as_str(),
        "source": stored.source,
        "current": stored.version,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/versions",
    tag = "DotEnv",
    summary = "A level's versions, newest first (secret:read)",
    params(OrgPath),
    request_body = VersionsBody,
    responses((status = 200, description = "`{\"data\":[{\"type\":\"version\",\"version\",\"action\",\"changed_keys\",\"created_at\",\"created_by\",…}],\"meta\":{\"level\",\"source\",\"current\"}}`"), Errors),
    security(("bearer" = []))
)]
async fn versions(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: VersionsBody = parse(&body)?;
    let path = body.level_path(organization);
    let (level, list) = app
        .services
        .dotenv()
        .versions(&who, &path, Page::new(body.before, body.limit))
        .await?;
    let data: Vec<Value> = list
        .into_iter()
        .map(|v| {
            let mut entry =
                serde_json::to_value(crate::api::v1::convert::version(v)).unwrap_or_default();
            if let Value::Object(map) = &mut entry {
                map.insert("type".into(), "version".into());
            }
            entry
        })
        .collect();
    Ok(Json(json!({ "data": data, "meta": stored_meta(&level) })).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VersionBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    /// Plaintext instead of ciphertext (secret:decrypt).
    #[serde(default)]
    #[schema(value_type = Option<bool>)]
    decrypt: Option<Value>,
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/versions/{version}",
    tag = "DotEnv",
    summary = "A level's content at one version, sealed under the exchange key (secret:read) or decrypted (secret:decrypt)",
    params(OrgPath, ("version" = i64, Path, description = "Version number")),
    request_body = VersionBody,
    responses((status = 200, description = "`{\"data\":{\"type\":\"version\",\"attributes\":{\"version\",\"level\",\"source\",\"encrypted\",\"content\"}}}`"), Errors),
    security(("bearer" = []))
)]
async fn version(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs((organization, number)): PathArgs<(String, i64)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: VersionBody = parse(&body)?;
    let path = body.level_path(organization);
    let action = if flag_of("decrypt", body.decrypt.as_ref())? {
        ReadAction::Decrypt { also_read: false }
    } else {
        ReadAction::Read
    };
    let (read, info): (LevelRead, _) = app
        .services
        .dotenv()
        .version(&who, &path, number, action)
        .await?;
    let info = crate::api::v1::convert::version(info);
    Ok(Json(json!({
        "data": {
            "type": "version",
            "attributes": {
                "version": read.version,
                "level": read.level.as_str(),
                "source": read.source,
                "encrypted": !matches!(action, ReadAction::Decrypt { .. }),
                "created_at": info.created_at,
                "created_by": info.created_by,
                "content": content_json(&read.content),
            }
        }
    }))
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LevelBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/versions/{version}/restore",
    tag = "DotEnv",
    summary = "Restore a version as a new one (secret:write)",
    params(OrgPath, ("version" = i64, Path, description = "Version to restore")),
    request_body = LevelBody,
    responses((status = 200, description = "`{\"data\":{\"level\",\"source\",\"version\",\"restored_from\"},\"message\"}`"), Errors),
    security(("bearer" = []))
)]
async fn restore(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs((organization, number)): PathArgs<(String, i64)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: LevelBody = parse(&body)?;
    let path = body.level_path(organization);
    let stored = app.services.dotenv().restore(&who, &path, number).await?;
    Ok(Json(json!({
        "data": {
            "type": "secrets",
            "level": stored.level.as_str(),
            "source": stored.source,
            "version": stored.version,
            "restored_from": number,
        },
        "message": format!("Version {number} restored as version {}.", stored.version),
    }))
    .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/versions/{version}/delete",
    tag = "DotEnv",
    summary = "Delete one past version (secret:purge; the current one: 409 current_version)",
    params(OrgPath, ("version" = i64, Path, description = "Version to delete")),
    request_body = LevelBody,
    responses((status = 204, description = "Deleted"), Errors),
    security(("bearer" = []))
)]
async fn delete_version(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs((organization, number)): PathArgs<(String, i64)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: LevelBody = parse(&body)?;
    let path = body.level_path(organization);
    app.services
        .dotenv()
        .delete_version(&who, &path, number)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PurgeBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    confirmed: bool,
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/versions/purge",
    tag = "DotEnv",
    summary = "Erase every version but the current one (secret:purge; confirmed: true)",
    params(OrgPath),
    request_body = PurgeBody,
    responses((status = 200, description = "`{\"data\":{\"type\":\"purge\",\"removed\"},\"message\"}`"), Errors),
    security(("bearer" = []))
)]
async fn purge(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: PurgeBody = parse(&body)?;
    let path = body.level_path(organization);
    let removed = app
        .services
        .dotenv()
        .purge(&who, &path, body.confirmed)
        .await?;
    Ok(Json(json!({
        "data": { "type": "purge", "removed": removed },
        "message": format!("{removed} past versions purged."),
    }))
    .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct KeyVerificationQuery {
    project: String,
}

fn verification_json(project: &str, v: &KeyVerification) -> Value {
    json!({
        "data": {
            "type": "key_verification",
            "attributes": {
                "project": project,
                "algorithm": "PBKDF2-HMAC-SHA256",
                "salt": v.salt,
                "iterations": v.iterations,
                "length": 32,
                "updated_at": hush_core::time::to_rfc3339(v.updated_at),
            }
        }
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/{organization}/secrets/key-verification",
    tag = "DotEnv",
    summary = "A client-managed project's key verification: the salt and iterations to derive the key proof with (secret:read)",
    params(OrgPath, KeyVerificationQuery),
    responses((status = 200, description = "`{\"data\":{\"type\":\"key_verification\",\"attributes\":{\"algorithm\":\"PBKDF2-HMAC-SHA256\",\"salt\",\"iterations\",\"length\":32}}}`"), Errors),
    security(("bearer" = []))
)]
async fn key_verification(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(organization): PathArgs<String>,
    Params(query): Params<KeyVerificationQuery>,
) -> Result<Response, ServiceError> {
    let found = app
        .services
        .dotenv()
        .key_verification(&who, &organization, &query.project)
        .await?;
    Ok(Json(verification_json(&query.project, &found)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct KeyVerificationBody {
    /// Project slug (client-managed).
    project: String,
    /// PBKDF2 salt: standard base64 of at least 16 random bytes.
    salt: String,
    /// PBKDF2 iterations, 100,000 to 10,000,000.
    iterations: u32,
    /// hex PBKDF2-HMAC-SHA256(key, salt, iterations, 32 bytes).
    key_proof: String,
    /// To replace an existing verification: the proof it checks now.
    #[serde(default)]
    current_key_proof: Option<String>,
}

#[utoipa::path(
    post,
    path = "/api/v1/{organization}/secrets/key-verification",
    tag = "DotEnv",
    summary = "Set up a client-managed project's key verification (secret:write, project-wide); replacing it needs current_key_proof",
    params(OrgPath),
    request_body = KeyVerificationBody,
    responses((status = 201, description = "As the GET answers, with a message"), Errors),
    security(("bearer" = []))
)]
async fn set_key_verification(
    State(app): State<Arc<AppState>>,
    who: Principal,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: KeyVerificationBody = parse(&body)?;
    let set = app
        .services
        .dotenv()
        .set_key_verification(
            &who,
            &organization,
            &body.project,
            KeyVerificationRequest {
                salt: &body.salt,
                iterations: body.iterations,
                key_proof: &body.key_proof,
                current_key_proof: body.current_key_proof.as_deref(),
            },
        )
        .await?;
    let mut answer = verification_json(&body.project, &set);
    if let Value::Object(map) = &mut answer {
        map.insert("message".into(), "Key verification configured.".into());
    }
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}
