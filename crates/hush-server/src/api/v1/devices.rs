//! Devices and signing keys of vault-env projects, for the project's
//! admins only: the vault-env protocol's own approve/list/revoke are
//! signed with the vault key every device holds, so hush refuses them and
//! admins manage devices here (and with `hush devices`).

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use hush_core::time::to_rfc3339;
use hush_proto::{Device, VaultEnvKey};

use crate::api::{JsonBody, PathArgs};
use crate::auth::Principal;
use crate::error::ServiceError;
use crate::service::model::DeviceStatus;
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

fn device(d: crate::service::model::Device) -> Device {
    Device {
        id: d.id,
        name: d.name,
        status: d.status.as_str().to_owned(),
        created_at: to_rfc3339(d.created_at),
        approved_at: d.approved_at.map(to_rfc3339),
        last_seen_at: d.last_seen_at.map(to_rfc3339),
    }
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/devices",
    summary = "Devices of a vault-env project",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    responses((status = 200, body = Vec<Device>), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<Vec<Device>>> {
    let devices = app
        .services
        .vaultenv()
        .list_devices(&who, &org, &project)
        .await?;
    Ok(Json(devices.into_iter().map(device).collect()))
}

async fn set_status(
    app: &AppState,
    who: &Principal,
    (org, project, id): (String, String, String),
    status: DeviceStatus,
) -> Result<Json<Device>> {
    let updated = app
        .services
        .vaultenv()
        .set_device_status(who, &org, &project, &id, status)
        .await?;
    Ok(Json(device(updated)))
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/devices/{id}/approve",
    summary = "Approve a pending device",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("id" = String, Path, description = "Device id")),
    responses((status = 200, body = Device), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn approve(
    State(app): S,
    who: Principal,
    PathArgs(path): PathArgs<(String, String, String)>,
) -> Result<Json<Device>> {
    set_status(&app, &who, path, DeviceStatus::Approved).await
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/devices/{id}/revoke",
    summary = "Revoke a device: it can no longer pull or push",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("id" = String, Path, description = "Device id")),
    responses((status = 200, body = Device), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(app): S,
    who: Principal,
    PathArgs(path): PathArgs<(String, String, String)>,
) -> Result<Json<Device>> {
    set_status(&app, &who, path, DeviceStatus::Revoked).await
}

#[utoipa::path(
    put,
    path = "/orgs/{org}/projects/{project}/vaultenv-key",
    summary = "Replace a vault-env project's signing key (after a VAULT_KEY leaked)",
    description = "Requests signed with the old key are refused from now on. Generate a new \
        VAULT_KEY, send the HKDF auth key derived from it, then re-push the secrets encrypted \
        with it (`hush devices rotate-key` does the first two steps).",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    request_body = VaultEnvKey,
    responses((status = 204, description = "Rotated"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn rotate_key(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<VaultEnvKey>,
) -> Result<axum::http::StatusCode> {
    app.services
        .vaultenv()
        .rotate_key(&who, &org, &project, &body.auth_key_hash)
        .await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
