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

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hush_core::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::{Params, PathArgs, RawBody};
use crate::audit::AuditSlot;
use crate::auth::{authenticate, bearer, Principal};
use crate::error::{ErrorCode, ErrorParts, ServiceError};
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

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(READ_PROJECT, get(read_project))
        .route(READ_TARGET, get(read_target))
        .route(READ_ENV, get(read_env))
        .route(RETRIEVE, post(retrieve))
        .route(STORE, post(store))
        .route(DELETE, post(delete))
        .route(VERSIONS, post(versions))
        .route(PURGE, post(purge))
        .route(VERSION, post(version))
        .route(RESTORE, post(restore))
        .route(VERSION_DELETE, post(delete_version))
        .route(
            KEY_VERIFICATION,
            get(key_verification).post(set_key_verification),
        )
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

/// The caller, tied to the request's audit entry; first among a
/// handler's arguments, so a stranger is refused before anything is read.
struct Caller(Principal);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, ServiceError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ServiceError::new(
                ErrorCode::MissingToken,
                "send a hush API token: Authorization: Bearer hush_…",
            )
        })?;
        Ok(Caller(
            authenticate(app, token)
                .await?
                .audited_by(parts.extensions.get::<AuditSlot>()),
        ))
    }
}

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    decrypt: Option<Value>,
    merge: Option<Value>,
    raw: Option<Value>,
}

async fn read_project(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((organization, project)): PathArgs<(String, String)>,
    Params(query): Params<ReadQuery>,
) -> Result<Response, ServiceError> {
    let path = level_path(organization, project, None, None);
    read_levels(&app, &who, path, query).await
}

async fn read_target(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((organization, project, target)): PathArgs<(String, String, String)>,
    Params(query): Params<ReadQuery>,
) -> Result<Response, ServiceError> {
    let path = level_path(organization, project, Some(target), None);
    read_levels(&app, &who, path, query).await
}

async fn read_env(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Filters {
    #[serde(default)]
    names: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    search: Option<String>,
}

#[derive(Debug, Deserialize)]
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
    #[serde(default)]
    merge: Option<Value>,
    #[serde(default)]
    raw: Option<Value>,
}

async fn retrieve(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    content: String,
    #[serde(default)]
    key_proof: Option<String>,
    #[serde(default)]
    no_backup: bool,
}

async fn store(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

#[derive(Debug, Deserialize)]
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

async fn delete(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: DeleteBody = parse(&body)?;
    let path = body.level_path(organization);
    let purge = body.no_backup.then_some(body.confirmed);
    app.services.dotenv().delete(&who, &path, purge).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
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

async fn versions(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    decrypt: Option<Value>,
}

async fn version(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelBody {
    project: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

async fn restore(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

async fn delete_version(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

#[derive(Debug, Deserialize)]
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

async fn purge(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(organization): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: PurgeBody = parse(&body)?;
    if !body.confirmed {
        return Err(ServiceError::new(
            ErrorCode::ConfirmationRequired,
            "purging erases every past version of the level for good: send confirmed: true",
        ));
    }
    let path = body.level_path(organization);
    let removed = app.services.dotenv().purge(&who, &path).await?;
    Ok(Json(json!({
        "data": { "type": "purge", "removed": removed },
        "message": format!("{removed} past versions purged."),
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyVerificationQuery {
    project: String,
}

fn verification_json(project: &str, v: &hush_store::KeyVerification) -> Value {
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

async fn key_verification(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyVerificationBody {
    project: String,
    salt: String,
    iterations: u32,
    key_proof: String,
    #[serde(default)]
    current_key_proof: Option<String>,
}

async fn set_key_verification(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
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
