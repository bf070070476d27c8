//! Vault's KV v2 secrets engine (as OpenBao 2.7 serves it), so the
//! `vault`/`bao` CLI, `hvac`, External Secrets Operator and the rest work
//! against hush unmodified. The mapping onto hush (a mount is an
//! organization, a path is a scope) is `service::kv`'s; this module is the
//! wire: Vault's response envelope, its `{"errors":[…]}` and status codes,
//! `X-Vault-Token`, and the few `sys/` and `auth/token/` routes clients
//! call first.
//!
//! `LIST` requests arrive here as `GET …?list=true` (see
//! [`rewrite_list`]), which is also how Vault's own Go client sends them.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hush_core::SecretString;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::{Params, PathArgs, RawBody};
use crate::audit::AuditSlot;
use crate::auth::{authenticate, bearer, Principal};
use crate::error::{ErrorCode, ErrorParts, ServiceError};
use crate::service::model::{VersionInfo, VersionState};
use crate::service::{KvPath, KvVersion};
use crate::AppState;

const DATA: &str = "/v1/{mount}/data/{*path}";
const META: &str = "/v1/{mount}/metadata/{*path}";
const META_ROOT: &str = "/v1/{mount}/metadata/";
const META_TOP: &str = "/v1/{mount}/metadata";
const DELETE: &str = "/v1/{mount}/delete/{*path}";
const UNDELETE: &str = "/v1/{mount}/undelete/{*path}";
const DESTROY: &str = "/v1/{mount}/destroy/{*path}";
const CONFIG: &str = "/v1/{mount}/config";
const LOOKUP_SELF: &str = "/v1/auth/token/lookup-self";
const RENEW_SELF: &str = "/v1/auth/token/renew-self";
const MOUNTS: &str = "/v1/sys/internal/ui/mounts/{*path}";
const HEALTH: &str = "/v1/sys/health";

/// The KV v2 surface. Writes go with POST or PUT, as Vault takes both.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::VaultKv,
    prefixes: &["/v1/sys/", "/v1/auth/", "/v1/secret/"],
    routes: &[
        Route::new(Method::GET, DATA, "kv.read", Auth::AnyToken),
        Route::new(Method::POST, DATA, "kv.write", Auth::AnyToken),
        Route::new(Method::PUT, DATA, "kv.write", Auth::AnyToken),
        Route::new(Method::PATCH, DATA, "kv.patch", Auth::AnyToken),
        Route::new(Method::DELETE, DATA, "kv.delete", Auth::AnyToken),
        Route::new(Method::POST, DELETE, "kv.delete", Auth::AnyToken),
        Route::new(Method::PUT, DELETE, "kv.delete", Auth::AnyToken),
        Route::new(Method::POST, UNDELETE, "kv.undelete", Auth::AnyToken),
        Route::new(Method::PUT, UNDELETE, "kv.undelete", Auth::AnyToken),
        Route::new(Method::POST, DESTROY, "kv.destroy", Auth::AnyToken),
        Route::new(Method::PUT, DESTROY, "kv.destroy", Auth::AnyToken),
        Route::new(Method::GET, META, "kv.metadata.read", Auth::AnyToken),
        Route::new(Method::GET, META_ROOT, "kv.list", Auth::AnyToken),
        Route::new(Method::GET, META_TOP, "kv.list", Auth::AnyToken),
        Route::new(Method::POST, META, "kv.metadata.write", Auth::AnyToken),
        Route::new(Method::PUT, META, "kv.metadata.write", Auth::AnyToken),
        Route::new(Method::DELETE, META, "kv.metadata.delete", Auth::AnyToken),
        Route::new(Method::GET, CONFIG, "kv.config", Auth::AnyToken),
        Route::new(Method::GET, LOOKUP_SELF, "kv.token.lookup", Auth::AnyToken),
        Route::new(Method::POST, RENEW_SELF, "kv.token.renew", Auth::AnyToken),
        Route::new(Method::PUT, RENEW_SELF, "kv.token.renew", Auth::AnyToken),
        Route::new(Method::GET, MOUNTS, "kv.mounts", Auth::AnyToken),
        Route::new(Method::GET, HEALTH, "kv.health", Auth::None),
    ],
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            DATA,
            get(read)
                .post(write)
                .put(write)
                .patch(patch)
                .delete(delete_latest),
        )
        .route(DELETE, post(delete_versions).put(delete_versions))
        .route(UNDELETE, post(undelete_versions).put(undelete_versions))
        .route(DESTROY, post(destroy_versions).put(destroy_versions))
        .route(
            META,
            get(metadata)
                .post(write_metadata)
                .put(write_metadata)
                .delete(forget),
        )
        .route(META_ROOT, get(list_root))
        .route(META_TOP, get(list_root))
        .route(CONFIG, get(config))
        .route(LOOKUP_SELF, get(lookup_self))
        .route(RENEW_SELF, post(renew_self).put(renew_self))
        .route(MOUNTS, get(mounts))
        .route(HEALTH, get(health))
}

/// `LIST /v1/…` → `GET /v1/…?list=true`, before routing (axum routes no
/// custom methods). Vault itself treats both alike.
pub fn rewrite_list(mut request: Request) -> Request {
    if request.method().as_str() != "LIST" {
        return request;
    }
    *request.method_mut() = Method::GET;
    let uri = request.uri();
    let query = match uri.query() {
        Some(q) if !q.is_empty() => format!("{q}&list=true"),
        _ => "list=true".to_owned(),
    };
    let rebuilt = format!("{}?{query}", uri.path());
    if let Ok(uri) = rebuilt.parse() {
        *request.uri_mut() = uri;
    }
    request
}

/// Vault's error shape: `{"errors":[…]}`. Vault answers 403 "permission
/// denied" (those exact words, which clients match) for a missing or bad
/// token and for what the token may not do, and an empty list with 404.
pub fn render(parts: &ErrorParts) -> Response {
    let status = parts.code.status();
    let (status, errors) = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            (StatusCode::FORBIDDEN, vec!["permission denied".to_owned()])
        }
        StatusCode::NOT_FOUND => (StatusCode::NOT_FOUND, Vec::new()),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::CONFLICT | StatusCode::GONE => {
            (StatusCode::BAD_REQUEST, vec![parts.message.clone()])
        }
        other => (other, vec![parts.message.clone()]),
    };
    (status, Json(json!({ "errors": errors }))).into_response()
}

/// Vault's success envelope around `data`.
fn envelope(data: Value) -> Value {
    json!({
        "request_id": request_id(),
        "lease_id": "",
        "renewable": false,
        "lease_duration": 0,
        "data": data,
        "wrap_info": null,
        "warnings": null,
        "auth": null,
    })
}

fn ok(data: Value) -> Response {
    Json(envelope(data)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A random id in UUID form, as Vault's `request_id`.
fn request_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn time(ms: i64) -> String {
    hush_core::time::to_rfc3339(ms)
}

/// The caller, by `X-Vault-Token` (else `Authorization: Bearer`), tied to
/// the request's audit entry. First among a handler's arguments, so a
/// stranger is refused before anything else is read.
struct Caller(Principal);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, ServiceError> {
        let headers = &parts.headers;
        let token = headers
            .get("x-vault-token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .or_else(|| bearer(headers))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::MissingToken,
                    "send a hush token as X-Vault-Token (or Authorization: Bearer)",
                )
            })?;
        Ok(Caller(
            authenticate(app, token)
                .await?
                .audited_by(parts.extensions.get::<AuditSlot>()),
        ))
    }
}

/// A version's metadata as Vault shows it beside data.
fn version_meta(info: &VersionInfo, custom: Option<&Value>) -> Value {
    json!({
        "created_time": time(info.created_at),
        "custom_metadata": custom.cloned().unwrap_or(Value::Null),
        "deletion_time": info.deleted_at.map(time).unwrap_or_default(),
        "destroyed": info.destroyed,
        "version": info.version,
    })
}

fn data_map(data: &[(String, SecretString)]) -> Value {
    Value::Object(
        data.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.expose())))
            .collect(),
    )
}

/// A version read: 200 with data, or 404 with the metadata of a deleted
/// or destroyed one (as Vault answers).
fn version_response(found: KvVersion) -> Response {
    let meta = version_meta(&found.info, found.custom_metadata.as_ref());
    match &found.data {
        Some(data) => ok(json!({ "data": data_map(data), "metadata": meta })),
        None => (
            StatusCode::NOT_FOUND,
            Json(envelope(json!({ "data": null, "metadata": meta }))),
        )
            .into_response(),
    }
}

fn missing() -> ServiceError {
    ServiceError::new(ErrorCode::NotFound, "no secret at this path")
}

#[derive(Debug, Deserialize)]
struct ReadQuery {
    version: Option<i64>,
}

async fn read(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((mount, path)): PathArgs<(String, String)>,
    Params(query): Params<ReadQuery>,
) -> Result<Response, ServiceError> {
    let path = KvPath::parse(&mount, &path)?;
    let found = app
        .services
        .kv()
        .read(&who, &path, query.version)
        .await?
        .ok_or_else(missing)?;
    Ok(version_response(found))
}

/// A write's `options` (only `cas` means anything to KV v2).
#[derive(Debug, Default, Deserialize)]
struct WriteOptions {
    #[serde(default, deserialize_with = "number_or_text")]
    cas: Option<i64>,
}

/// A number Vault also takes as text (`"2"`), as its CLI sends some.
fn as_number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn number_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(v) => as_number(&v)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("{v} is not a number"))),
    }
}

fn numbers_or_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<i64>>, D::Error> {
    let value = Option::<Vec<Value>>::deserialize(d)?;
    value
        .map(|items| {
            items
                .iter()
                .map(|v| {
                    as_number(v)
                        .ok_or_else(|| serde::de::Error::custom(format!("{v} is not a version")))
                })
                .collect()
        })
        .transpose()
}

#[derive(Debug, Deserialize)]
struct WriteBody {
    #[serde(default)]
    options: WriteOptions,
    data: Option<Map<String, Value>>,
}

/// Parses a JSON body in Vault's words.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|err| {
        ServiceError::new(
            ErrorCode::InvalidBody,
            format!("failed to parse JSON input: {err}"),
        )
    })
}

/// KV values are strings in hush (each becomes an environment variable).
fn string_value(name: &str, value: &Value) -> Result<SecretString, ServiceError> {
    match value {
        Value::String(s) => Ok(SecretString::from(s.clone())),
        _ => Err(ServiceError::new(
            ErrorCode::InvalidBody,
            format!(
                "{name}: hush stores each value as a string (it becomes an environment \
                 variable); send \"{name}\": \"…\""
            ),
        )),
    }
}

fn written(info: &VersionInfo, custom: Option<&Value>) -> Response {
    ok(version_meta(info, custom))
}

async fn write(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((mount, path)): PathArgs<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let path = KvPath::parse(&mount, &path)?;
    let body: WriteBody = parse(&body)?;
    let data = body
        .data
        .ok_or_else(|| ServiceError::new(ErrorCode::InvalidBody, "no data provided"))?;
    let data = data
        .iter()
        .map(|(k, v)| Ok((k.clone(), string_value(k, v)?)))
        .collect::<Result<BTreeMap<_, _>, ServiceError>>()?;
    let (info, custom) = app
        .services
        .kv()
        .write(&who, &path, data, body.options.cas)
        .await?;
    Ok(written(&info, custom.as_ref()))
}

async fn patch(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((mount, path)): PathArgs<(String, String)>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let merge = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/merge-patch+json"));
    if !merge {
        return Err(ServiceError::new(
            ErrorCode::UnsupportedMediaType,
            "PATCH requires Content-Type of application/merge-patch+json",
        ));
    }
    let path = KvPath::parse(&mount, &path)?;
    let body: WriteBody = parse(&body)?;
    let data = body
        .data
        .ok_or_else(|| ServiceError::new(ErrorCode::InvalidBody, "no data provided"))?;
    let patch = data
        .iter()
        .map(|(k, v)| match v {
            Value::Null => Ok((k.clone(), None)),
            v => Ok((k.clone(), Some(string_value(k, v)?))),
        })
        .collect::<Result<BTreeMap<_, _>, ServiceError>>()?;
    match app
        .services
        .kv()
        .patch(&who, &path, patch, body.options.cas)
        .await?
    {
        Ok((info, custom)) => Ok(written(&info, custom.as_ref())),
        Err(None) => Err(missing()),
        Err(Some(hidden)) => Ok((
            StatusCode::NOT_FOUND,
            Json(envelope(version_meta(
                &hidden.info,
                hidden.custom_metadata.as_ref(),
            ))),
        )
            .into_response()),
    }
}

#[derive(Debug, Deserialize)]
struct VersionsBody {
    #[serde(default, deserialize_with = "numbers_or_text")]
    versions: Option<Vec<i64>>,
}

async fn set_state(
    app: &AppState,
    who: Principal,
    mount: &str,
    path: &str,
    versions: Option<Vec<i64>>,
    state: VersionState,
) -> Result<Response, ServiceError> {
    let path = KvPath::parse(mount, path)?;
    app.services
        .kv()
        .set_state(&who, &path, versions, state)
        .await?;
    Ok(no_content())
}

async fn delete_latest(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((mount, path)): PathArgs<(String, String)>,
) -> Result<Response, ServiceError> {
    set_state(&app, who, &mount, &path, None, VersionState::Delete).await
}

/// The shared part of `delete/`, `undelete/` and `destroy/`: a body
/// naming the versions.
async fn versions_in_body(
    app: &AppState,
    who: Principal,
    (mount, path): (String, String),
    body: &[u8],
    state: VersionState,
) -> Result<Response, ServiceError> {
    let body: VersionsBody = parse(body)?;
    let versions = body
        .versions
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ServiceError::new(ErrorCode::InvalidBody, "no version number provided"))?;
    set_state(app, who, &mount, &path, Some(versions), state).await
}

async fn delete_versions(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(path): PathArgs<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    versions_in_body(&app, who, path, &body, VersionState::Delete).await
}

async fn undelete_versions(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(path): PathArgs<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    versions_in_body(&app, who, path, &body, VersionState::Undelete).await
}

async fn destroy_versions(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(path): PathArgs<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    versions_in_body(&app, who, path, &body, VersionState::Destroy).await
}

#[derive(Debug, Deserialize)]
struct MetadataQuery {
    list: Option<String>,
}

async fn metadata(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((mount, path)): PathArgs<(String, String)>,
    Params(query): Params<MetadataQuery>,
) -> Result<Response, ServiceError> {
    if query.list.as_deref() == Some("true") {
        who.audit_action("kv.list");
        return list(&app, &who, &mount, &path).await;
    }
    let path = KvPath::parse(&mount, &path)?;
    let meta = app
        .services
        .kv()
        .metadata(&who, &path)
        .await?
        .ok_or_else(missing)?;
    let versions: Map<String, Value> = meta
        .versions
        .iter()
        .map(|v| {
            (
                v.version.to_string(),
                json!({
                    "created_time": time(v.created_at),
                    "deletion_time": v.deleted_at.map(time).unwrap_or_default(),
                    "destroyed": v.destroyed,
                }),
            )
        })
        .collect();
    let first = meta.versions.first().map(|v| v.created_at);
    let last = meta.versions.last().map(|v| v.created_at);
    let oldest = meta
        .versions
        .first()
        .map_or(0, |v| if v.version == 1 { 0 } else { v.version });
    let settings = &meta.settings;
    Ok(ok(json!({
        "cas_required": settings.cas_required,
        "created_time": first.map(time).unwrap_or_default(),
        "current_metadata_version": settings.metadata_version,
        "current_version": meta.current,
        "custom_metadata": settings.custom_metadata,
        "delete_version_after": settings.delete_version_after.as_deref().unwrap_or("0s"),
        "max_versions": settings.max_versions,
        "metadata_cas_required": false,
        "oldest_version": oldest,
        "updated_time": last.map(time).unwrap_or_default(),
        "versions": versions,
    })))
}

async fn list_root(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(mount): PathArgs<String>,
) -> Result<Response, ServiceError> {
    list(&app, &who, &mount, "").await
}

async fn list(
    app: &AppState,
    who: &Principal,
    mount: &str,
    path: &str,
) -> Result<Response, ServiceError> {
    let keys = app.services.kv().list(who, mount, path).await?;
    if keys.is_empty() {
        return Err(missing());
    }
    Ok(ok(json!({ "keys": keys })))
}

#[derive(Debug, Deserialize)]
struct MetadataBody {
    custom_metadata: Option<Map<String, Value>>,
    max_versions: Option<u64>,
    cas_required: Option<bool>,
    delete_version_after: Option<String>,
}

async fn write_metadata(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((mount, path)): PathArgs<(String, String)>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let path = KvPath::parse(&mount, &path)?;
    let body: MetadataBody = parse(&body)?;
    if let Some(custom) = &body.custom_metadata {
        if let Some((key, _)) = custom.iter().find(|(_, v)| !v.is_string()) {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                format!("custom_metadata values must be strings ({key})"),
            ));
        }
    }
    app.services
        .kv()
        .set_metadata(&who, &path, |settings| {
            if let Some(custom) = body.custom_metadata {
                settings.custom_metadata = Some(Value::Object(custom));
            }
            if let Some(max) = body.max_versions {
                settings.max_versions = max;
            }
            if let Some(cas) = body.cas_required {
                settings.cas_required = cas;
            }
            if let Some(after) = body.delete_version_after {
                settings.delete_version_after = Some(after);
            }
        })
        .await?;
    Ok(no_content())
}

async fn forget(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs((mount, path)): PathArgs<(String, String)>,
) -> Result<Response, ServiceError> {
    let path = KvPath::parse(&mount, &path)?;
    app.services.kv().forget(&who, &path).await?;
    Ok(no_content())
}

/// The engine's settings: hush keeps every version and requires no CAS.
async fn config(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(mount): PathArgs<String>,
) -> Result<Response, ServiceError> {
    mount_org(&app, &who, &mount).await?;
    Ok(ok(json!({
        "cas_required": false,
        "delete_version_after": "0s",
        "max_versions": 0,
        "metadata_cas_required": false,
    })))
}

/// The caller's organization must be the mount's.
async fn mount_org(app: &AppState, who: &Principal, mount: &str) -> Result<(), ServiceError> {
    app.services
        .org(who, crate::service::org_of_mount(mount))
        .await
        .map(drop)
}

async fn lookup_self(Caller(who): Caller) -> Result<Response, ServiceError> {
    let token = &who.token;
    let now = crate::now_ms();
    let ttl = token.expires_at.map_or(0, |at| ((at - now) / 1000).max(0));
    Ok(ok(json!({
        "accessor": token.id,
        "creation_time": token.created_at / 1000,
        "creation_ttl": ttl,
        "display_name": token.name,
        "entity_id": "",
        "expire_time": token.expires_at.map(time),
        "explicit_max_ttl": 0,
        "id": token.prefix,
        "issue_time": time(token.created_at),
        "meta": { "org_id": token.org_id, "kind": format!("{:?}", token.kind).to_lowercase() },
        "num_uses": 0,
        "orphan": true,
        "path": "auth/token/create",
        "policies": token.scopes,
        "renewable": false,
        "ttl": ttl,
        "type": "service",
    })))
}

/// hush tokens are not leases: nothing to renew (Vault's answer for a
/// non-renewable token).
async fn renew_self(Caller(_): Caller) -> Result<Response, ServiceError> {
    Err(ServiceError::new(
        ErrorCode::InvalidBody,
        "lease is not renewable",
    ))
}

/// The CLI's preflight: which engine serves a path (always KV v2 here).
async fn mounts(
    State(app): State<Arc<AppState>>,
    Caller(who): Caller,
    PathArgs(path): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let mount = path.split('/').next().unwrap_or_default().to_owned();
    mount_org(&app, &who, &mount).await?;
    Ok(ok(json!({
        "accessor": format!("kv_{mount}"),
        "config": { "default_lease_ttl": 0, "force_no_cache": false, "max_lease_ttl": 0 },
        "deprecation_status": "supported",
        "description": "hush organization served as key/value secret storage",
        "external_entropy_access": false,
        "local": false,
        "options": { "version": "2" },
        "path": format!("{mount}/"),
        "plugin_version": "",
        "running_plugin_version": "",
        "running_sha256": "",
        "seal_wrap": false,
        "type": "kv",
        "uuid": "",
    })))
}

/// Vault's health answer: hush is never sealed.
async fn health() -> Response {
    Json(json!({
        "initialized": true,
        "sealed": false,
        "standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": crate::now_ms() / 1000,
        "version": concat!("2.7.2+hush.", env!("CARGO_PKG_VERSION")),
        "cluster_name": "hush",
        "cluster_id": "",
    }))
    .into_response()
}
