//! vault-env (`shared/seeds/vault-env.txt`) and its published Python client
//! `vaultdotenv`: `POST /api/v1/project/*`, `/secrets/*`, `/devices/*`.
//!
//! Every call but `project/create` is signed: `X-Vault-Signature` over the
//! exact body bytes, so handlers read the raw body, check the signature,
//! and only then parse it. Errors are `{"error":"…","code":"…"}` with the
//! status the seed implies (403 with "pending" for a pending device).

use std::sync::Arc;

use crate::service::model::{Device, DeviceStatus, Project};
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::{Extension, Json, Router};
use hush_core::time::to_rfc3339;
use hush_core::SecretString;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::RawBody;
use crate::audit::AuditSlot;
use crate::error::{ErrorCode, ErrorParts, ServiceError};
use crate::service::vaultenv_actor as actor;
use crate::AppState;

/// The routes; `POST /api/v1/secrets/pull` shares its path with Hep.gg's
/// `GET`, so that one is added by the caller (see `compat::routes`).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/v1/project/create", post(create))
        .route("/api/v1/project/set-key", post(set_key))
        .route("/api/v1/secrets/push", post(push))
        .route("/api/v1/secrets/current-version", post(current_version))
        .route("/api/v1/secrets/versions", post(versions))
        .route("/api/v1/secrets/rollback", post(rollback))
        .route("/api/v1/devices/register", post(register))
        .route("/api/v1/devices/approve", post(approve))
        .route("/api/v1/devices/list", post(list_devices))
        .route("/api/v1/devices/revoke", post(revoke))
}

macro_rules! signed {
    ($($path:literal => $action:literal,)*) => {
        &[
            Route::new(
                Method::POST,
                "/api/v1/project/create",
                "vaultenv.project.create",
                Auth::None,
            ),
            $(Route::new(Method::POST, $path, $action, Auth::Signature),)*
        ]
    };
}

/// vault-env: every route is a signed POST, but `project/create`.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::VaultEnv,
    prefixes: &["/api/v1/project/", "/api/v1/devices/"],
    routes: signed! {
        "/api/v1/project/set-key" => "vaultenv.project.set_key",
        "/api/v1/secrets/push" => "vaultenv.push",
        "/api/v1/secrets/pull" => "vaultenv.pull",
        "/api/v1/secrets/current-version" => "vaultenv.current_version",
        "/api/v1/secrets/versions" => "vaultenv.versions",
        "/api/v1/secrets/rollback" => "vaultenv.rollback",
        "/api/v1/devices/register" => "vaultenv.device.register",
        "/api/v1/devices/approve" => "vaultenv.device.approve",
        "/api/v1/devices/list" => "vaultenv.device.list",
        "/api/v1/devices/revoke" => "vaultenv.device.revoke",
    },
};

/// An error in this surface's shape: `{"error":"message","code":"…"}`.
pub fn render(parts: &ErrorParts) -> Response {
    let body = json!({ "error": parts.message, "code": parts.code.as_str() });
    (parts.code.status(), Json(body)).into_response()
}

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;
type Slot = Option<Extension<AuditSlot>>;

fn parse<T: DeserializeOwned>(body: &[u8]) -> std::result::Result<T, ServiceError> {
    serde_json::from_slice(body).map_err(|err| {
        ServiceError::new(
            ErrorCode::InvalidJson,
            format!("the body is not the expected JSON: {err}"),
        )
    })
}

fn signature(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-vault-signature")
        .and_then(|v| v.to_str().ok())
}

/// The request's project, once its signature checks out. The audit entry
/// names the project (and its organization) even when the check fails, so
/// refused attempts show in that organization's log.
async fn verified(
    app: &AppState,
    slot: &Slot,
    project_id: &str,
    body: &[u8],
    headers: &HeaderMap,
) -> std::result::Result<Project, ServiceError> {
    let project = app.services.vaultenv().project(project_id).await?;
    if let Some(Extension(slot)) = slot {
        slot.org(&project.org_id);
        slot.project(&project.id);
    }
    app.services
        .vaultenv()
        .verify(&project, body, signature(headers))
        .await?;
    identify(slot, &project, None);
    Ok(project)
}

fn identify(slot: &Slot, project: &Project, device: Option<&Device>) {
    if let Some(Extension(slot)) = slot {
        slot.identify(actor(device), &project.org_id, Some(&project.id));
    }
}

#[derive(Deserialize)]
struct CreateBody {
    #[serde(default)]
    project_name: String,
}

async fn create(State(app): S, slot: Slot, RawBody(body): RawBody) -> Result<Json<Value>> {
    let body: CreateBody = parse(&body)?;
    let (project, environments) = app.services.vaultenv().create(&body.project_name).await?;
    identify(&slot, &project, None);
    Ok(Json(
        json!({ "project_id": project.id, "environments": environments }),
    ))
}

#[derive(Deserialize)]
struct SetKeyBody {
    project_id: String,
    auth_key_hash: String,
}

async fn set_key(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let body: SetKeyBody = parse(&raw)?;
    let project = app
        .services
        .vaultenv()
        .set_key(
            &body.project_id,
            &body.auth_key_hash,
            &raw,
            signature(&headers),
        )
        .await?;
    identify(&slot, &project, None);
    Ok(Json(json!({ "ok": true })))
}

/// `project_id`, `environment` and `device_hash`, common to most bodies.
#[derive(Deserialize)]
struct EnvBody {
    project_id: String,
    #[serde(default = "development")]
    environment: String,
    #[serde(default)]
    device_hash: Option<String>,
}

fn development() -> String {
    "development".to_owned()
}

/// Verifies the request and its device; returns both.
async fn with_device(
    app: &AppState,
    slot: &Slot,
    body: &EnvBody,
    raw: &[u8],
    headers: &HeaderMap,
) -> std::result::Result<(Project, Device), ServiceError> {
    let project = verified(app, slot, &body.project_id, raw, headers).await?;
    let device = app
        .services
        .vaultenv()
        .device(&project, body.device_hash.as_deref())
        .await?;
    identify(slot, &project, Some(&device));
    Ok((project, device))
}

#[derive(Deserialize)]
struct PushBody {
    #[serde(flatten)]
    env: EnvBody,
    secrets: String,
    #[serde(default)]
    key_names: Vec<String>,
}

async fn push(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let body: PushBody = parse(&raw)?;
    let (project, device) = with_device(&app, &slot, &body.env, &raw, &headers).await?;
    let blob = SecretString::new(body.secrets);
    let env = &body.env.environment;
    let (app, project, blob) = (&app, &project, &blob);
    let version = AuditSlot::commit(slot.as_deref(), actor(Some(&device)), |author| async move {
        app.services
            .vaultenv()
            .push(project, &author, env, blob, body.key_names)
            .await
    })
    .await?;
    Ok(Json(json!({ "version": version.version })))
}

/// `POST /api/v1/secrets/pull` (the path is shared with Hep.gg's `GET`).
pub fn pull_route() -> MethodRouter<Arc<AppState>> {
    post(pull)
}

async fn pull(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let body: EnvBody = parse(&raw)?;
    let (project, _) = with_device(&app, &slot, &body, &raw, &headers).await?;
    let blob = app
        .services
        .vaultenv()
        .pull(&project, &body.environment)
        .await?;
    let text = String::from_utf8(blob.content.unwrap_or_default())
        .map_err(|_| ServiceError::new(ErrorCode::InvalidBlob, "the stored blob is not text"))?;
    Ok(Json(json!({ "secrets": text, "version": blob.version })))
}

async fn current_version(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let body: EnvBody = parse(&raw)?;
    let project = verified(&app, &slot, &body.project_id, &raw, &headers).await?;
    let current = app
        .services
        .vaultenv()
        .current(&project, &body.environment)
        .await?;
    Ok(Json(match current {
        Some(v) => json!({ "version": v.version, "updated_at": to_rfc3339(v.created_at) }),
        None => json!({ "version": 0, "updated_at": null }),
    }))
}

async fn versions(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let body: EnvBody = parse(&raw)?;
    let project = verified(&app, &slot, &body.project_id, &raw, &headers).await?;
    let versions = app
        .services
        .vaultenv()
        .versions(&project, &body.environment)
        .await?;
    let list: Vec<Value> = versions
        .into_iter()
        .map(|v| {
            json!({
                "version": v.version,
                "created_at": to_rfc3339(v.created_at),
                "changed_keys": v.changed_keys,
            })
        })
        .collect();
    Ok(Json(json!({ "versions": list })))
}

#[derive(Deserialize)]
struct RollbackBody {
    #[serde(flatten)]
    env: EnvBody,
    version: i64,
}

async fn rollback(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let body: RollbackBody = parse(&raw)?;
    let project = verified(&app, &slot, &body.env.project_id, &raw, &headers).await?;
    // The published client sends no device hash here; when one is sent it
    // must belong to an approved device.
    let device = match &body.env.device_hash {
        Some(hash) => Some(app.services.vaultenv().device(&project, Some(hash)).await?),
        None => None,
    };
    identify(&slot, &project, device.as_ref());
    let (app, project, env) = (&app, &project, &body.env.environment);
    let version = AuditSlot::commit(
        slot.as_deref(),
        actor(device.as_ref()),
        |author| async move {
            app.services
                .vaultenv()
                .rollback(project, &author, env, body.version)
                .await
        },
    )
    .await?;
    Ok(Json(json!({ "version": version.version })))
}

#[derive(Deserialize)]
struct RegisterBody {
    project_id: String,
    #[serde(default)]
    device_name: String,
    device_hash: String,
}

async fn register(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let body: RegisterBody = parse(&raw)?;
    let project = verified(&app, &slot, &body.project_id, &raw, &headers).await?;
    let device = app
        .services
        .vaultenv()
        .register(&project, &body.device_name, &body.device_hash)
        .await?;
    identify(&slot, &project, Some(&device));
    Ok(Json(
        json!({ "device_id": device.id, "status": device.status.as_str() }),
    ))
}

#[derive(Deserialize)]
struct DeviceBody {
    project_id: String,
    #[serde(default)]
    device_id: String,
}

/// Device management needs a signature the server can check. The published
/// client signs approve/list/revoke with a key derived from its device
/// secret, which the server never sees; those requests are refused with
/// directions to hush's own device commands.
async fn device_admin(
    app: &AppState,
    slot: &Slot,
    raw: &[u8],
    headers: &HeaderMap,
) -> std::result::Result<(Project, DeviceBody), ServiceError> {
    let body: DeviceBody = parse(raw)?;
    match verified(app, slot, &body.project_id, raw, headers).await {
        Ok(project) => Ok((project, body)),
        Err(ServiceError::Refused {
            code: ErrorCode::BadSignature,
            ..
        }) => Err(ServiceError::new(
            ErrorCode::UnverifiableSignature,
            "this request is signed with a device-bound key the server cannot verify; \
             manage devices with `hush devices list|approve|revoke` (or the native API)",
        )),
        Err(err) => Err(err),
    }
}

async fn set_status(
    app: &AppState,
    slot: &Slot,
    headers: &HeaderMap,
    raw: &[u8],
    status: DeviceStatus,
) -> Result<Json<Value>> {
    let (project, body) = device_admin(app, slot, raw, headers).await?;
    let device = app
        .services
        .vaultenv()
        .set_device(&project, &body.device_id, status)
        .await?;
    Ok(Json(
        json!({ "device_id": device.id, "status": device.status.as_str() }),
    ))
}

async fn approve(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    set_status(&app, &slot, &headers, &raw, DeviceStatus::Approved).await
}

async fn revoke(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    set_status(&app, &slot, &headers, &raw, DeviceStatus::Revoked).await
}

async fn list_devices(
    State(app): S,
    slot: Slot,
    headers: HeaderMap,
    RawBody(raw): RawBody,
) -> Result<Json<Value>> {
    let (project, _) = device_admin(&app, &slot, &raw, &headers).await?;
    let devices = app.services.vaultenv().devices(&project).await?;
    Ok(Json(
        json!({ "devices": devices.iter().map(device_json).collect::<Vec<_>>() }),
    ))
}

/// A device as the seed lists it.
fn device_json(d: &Device) -> Value {
    json!({
        "id": d.id,
        "device_name": d.name,
        "status": d.status.as_str(),
        "created_at": to_rfc3339(d.created_at),
        "approved_at": d.approved_at.map(to_rfc3339),
        "last_seen_at": d.last_seen_at.map(to_rfc3339),
    })
}
