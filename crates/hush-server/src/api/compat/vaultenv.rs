//! vault-env (`shared/seeds/vault-env.txt`) and its published Python client
//! `vaultdotenv`: `POST /api/v1/project/*`, `/secrets/*`, `/devices/*`.
//!
//! Every call but `project/create` is signed: `X-Vault-Signature` over the
//! exact body bytes (or, with `s=2`, over method, path and body), so
//! handlers read the raw body, check the signature, and only then parse
//! it. Errors are `{"error":"…","code":"…"}` with the status the seed
//! implies (403 with "pending" for a pending device).
//!
//! Where hush is stricter than the seed's server, because the seed's
//! threat model says a leaked `VAULT_KEY` alone must not be enough:
//! `project/create` needs a hush admin token unless the operator opened
//! registration; `devices/approve|list|revoke` are refused (project admins
//! manage devices in hush); `versions` and `rollback` need an approved
//! device.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::service::model::{Device, Project};
use axum::extract::{ConnectInfo, FromRequest, OriginalUri, Request, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::{Extension, Json, Router};
use hush_core::time::to_rfc3339;
use hush_core::vaultenv::SignedRequest;
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
        .route("/api/v1/devices/approve", post(device_admin))
        .route("/api/v1/devices/list", post(device_admin))
        .route("/api/v1/devices/revoke", post(device_admin))
}

macro_rules! vaultenv {
    ($($path:literal => $action:literal, $auth:ident;)*) => {
        &[$(Route::new(Method::POST, $path, $action, Auth::$auth),)*]
    };
}

/// vault-env: every route is a signed POST, but `project/create` (a hush
/// token, or none where the operator allows it) and device management
/// (refused whatever is sent).
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::VaultEnv,
    prefixes: &["/api/v1/project/", "/api/v1/devices/"],
    routes: vaultenv! {
        "/api/v1/project/create" => "vaultenv.project.create", TokenOrOpen;
        "/api/v1/project/set-key" => "vaultenv.project.set_key", Signature;
        "/api/v1/secrets/push" => "vaultenv.push", Signature;
        "/api/v1/secrets/pull" => "vaultenv.pull", Signature;
        "/api/v1/secrets/current-version" => "vaultenv.current_version", Signature;
        "/api/v1/secrets/versions" => "vaultenv.versions", Signature;
        "/api/v1/secrets/rollback" => "vaultenv.rollback", Signature;
        "/api/v1/devices/register" => "vaultenv.device.register", Signature;
        "/api/v1/devices/approve" => "vaultenv.device.approve", Refused;
        "/api/v1/devices/list" => "vaultenv.device.list", Refused;
        "/api/v1/devices/revoke" => "vaultenv.device.revoke", Refused;
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

/// A signed request as its handler needs it: the exact body bytes, the
/// `X-Vault-Signature` header, and the method and path a request-bound
/// signature (`s=2`) covers.
struct Signed {
    method: Method,
    path: String,
    signature: Option<String>,
    body: axum::body::Bytes,
}

impl Signed {
    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: self.method.as_str(),
            path: &self.path,
            body: &self.body,
        }
    }

    fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }

    fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        parse(&self.body)
    }
}

impl FromRequest<Arc<AppState>> for Signed {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self> {
        let method = req.method().clone();
        let path = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().path().to_owned(), |o| o.path().to_owned());
        let signature = req
            .headers()
            .get("x-vault-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let RawBody(body) = RawBody::from_request(req, state).await?;
        Ok(Signed {
            method,
            path,
            signature,
            body,
        })
    }
}

/// The request's project, once its signature checks out. The audit entry
/// names the project (and its organization) even when the check fails, so
/// refused attempts show in that organization's log.
async fn verified(
    app: &AppState,
    slot: &Slot,
    project_id: &str,
    signed: &Signed,
) -> std::result::Result<Project, ServiceError> {
    let project = app.services.vaultenv().project(project_id).await?;
    if let Some(Extension(slot)) = slot {
        slot.org(&project.org_id);
        slot.project(&project.id);
    }
    app.services
        .vaultenv()
        .verify(&project, signed.request(), signed.signature())
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

/// Anonymous on a server with open registration; otherwise with a hush
/// admin token as `Authorization: Bearer`.
async fn create(
    State(app): S,
    slot: Slot,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>> {
    let body: CreateBody = parse(&body)?;
    let who = match crate::auth::bearer(&headers) {
        Some(token) => Some(
            crate::auth::authenticate(&app, token)
                .await?
                .audited_by(slot.as_deref()),
        ),
        None => None,
    };
    let (project, environments) = app
        .services
        .vaultenv()
        .create(who.as_ref(), &peer.ip().to_string(), &body.project_name)
        .await?;
    if who.is_none() {
        identify(&slot, &project, None);
    }
    Ok(Json(
        json!({ "project_id": project.id, "environments": environments }),
    ))
}

#[derive(Deserialize)]
struct SetKeyBody {
    project_id: String,
    auth_key_hash: String,
}

async fn set_key(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: SetKeyBody = signed.parse()?;
    let project = app
        .services
        .vaultenv()
        .set_key(
            &body.project_id,
            &body.auth_key_hash,
            signed.request(),
            signed.signature(),
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

/// Verifies the request and its device, which must be approved; returns
/// both.
async fn with_device(
    app: &AppState,
    slot: &Slot,
    body: &EnvBody,
    signed: &Signed,
) -> std::result::Result<(Project, Device), ServiceError> {
    let project = verified(app, slot, &body.project_id, signed).await?;
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

async fn push(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: PushBody = signed.parse()?;
    let (project, device) = with_device(&app, &slot, &body.env, &signed).await?;
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

async fn pull(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: EnvBody = signed.parse()?;
    let (project, _) = with_device(&app, &slot, &body, &signed).await?;
    let blob = app
        .services
        .vaultenv()
        .pull(&project, &body.environment)
        .await?;
    let text = String::from_utf8(blob.content.unwrap_or_default())
        .map_err(|_| ServiceError::new(ErrorCode::InvalidBlob, "the stored blob is not text"))?;
    Ok(Json(json!({ "secrets": text, "version": blob.version })))
}

/// Answered with a valid signature alone (only a version number and a
/// time: the published client's `watch()` polls it without a device);
/// a device that is named must be approved.
async fn current_version(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: EnvBody = signed.parse()?;
    let project = match body.device_hash {
        Some(_) => with_device(&app, &slot, &body, &signed).await?.0,
        None => verified(&app, &slot, &body.project_id, &signed).await?,
    };
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

/// Needs an approved device: the history names every key ever changed.
async fn versions(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: EnvBody = signed.parse()?;
    let (project, _) = with_device(&app, &slot, &body, &signed).await?;
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

/// Needs an approved device: with the vault key alone, a leaked key could
/// put back secrets that were rotated away.
async fn rollback(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: RollbackBody = signed.parse()?;
    let (project, device) = with_device(&app, &slot, &body.env, &signed).await?;
    let (app, project, env) = (&app, &project, &body.env.environment);
    let version = AuditSlot::commit(slot.as_deref(), actor(Some(&device)), |author| async move {
        app.services
            .vaultenv()
            .rollback(project, &author, env, body.version)
            .await
    })
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

async fn register(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: RegisterBody = signed.parse()?;
    let project = verified(&app, &slot, &body.project_id, &signed).await?;
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
}

/// `devices/approve`, `devices/list` and `devices/revoke`: always refused.
/// The published client signs them with the vault key (and the device
/// secret), which every device holder has, so accepting them would let a
/// revoked laptop or a leaked `VAULT_KEY` approve itself and revoke the
/// owner. Devices are managed by hush-authenticated project admins. The
/// project must exist (404 otherwise), and the refusal is audited in its
/// organization.
async fn device_admin(State(app): S, slot: Slot, signed: Signed) -> Result<Json<Value>> {
    let body: DeviceBody = signed.parse()?;
    let project = app.services.vaultenv().project(&body.project_id).await?;
    identify(&slot, &project, None);
    Err(ServiceError::new(
        ErrorCode::DevicesManagedInHush,
        format!(
            "devices are approved, listed and revoked by the project's admins in hush, \
             not with the vault key: `hush devices --project {slug}`, \
             `hush devices approve <id> --project {slug}`",
            slug = project.slug
        ),
    ))
}
