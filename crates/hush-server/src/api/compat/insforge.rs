//! InsForge's Secrets API (`shared/seeds/insforge-secrets.txt`) over
//! hush's organization secrets: `/api/secrets` and `/api/secrets/{key}`,
//! admin only (a hush token with `org:admin` over the whole organization,
//! or an admin JWT hush issued from one), every body and error exactly as
//! the seed writes them: `{"error","message","statusCode"}`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hush_core::SecretString;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::{PathArgs, RawBody};
use crate::audit::AuditSlot;
use crate::auth::{authenticate, authenticate_jwt, bearer, Permission, Principal};
use crate::error::{ErrorCode, ErrorParts, ServiceError};
use crate::service::{NewOrgSecret, OrgSecret, OrgSecretUpdate, Which};
use crate::AppState;

const LIST: &str = "/api/secrets";
const ONE: &str = "/api/secrets/{key}";

/// InsForge's five routes.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::InsForge,
    prefixes: &["/api/secrets"],
    routes: &[
        Route::new(Method::GET, LIST, "orgsecret.list", Auth::Token),
        Route::new(Method::POST, LIST, "orgsecret.create", Auth::Token),
        Route::new(Method::GET, ONE, "orgsecret.read", Auth::Token),
        Route::new(Method::PUT, ONE, "orgsecret.update", Auth::Token),
        Route::new(Method::DELETE, ONE, "orgsecret.delete", Auth::Token),
    ],
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route(ONE, get(read).put(update).delete(remove))
}

/// The seed's error body. Its 409 says `INVALID_INPUT`, as written.
pub fn render(parts: &ErrorParts) -> Response {
    let status = match parts.code.status() {
        StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
        other => other,
    };
    let error = match status {
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT | StatusCode::PAYLOAD_TOO_LARGE => {
            "INVALID_INPUT"
        }
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED",
        s if s.is_server_error() => "INTERNAL_ERROR",
        _ => "INVALID_INPUT",
    };
    let body = ErrorBody {
        error,
        message: &parts.message,
        status_code: status.as_u16(),
    };
    (status, Json(body)).into_response()
}

// The seed's bodies, fields in its order.

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(rename = "statusCode")]
    status_code: u16,
}

#[derive(Serialize)]
struct Done {
    success: bool,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

fn done(message: String, id: Option<String>) -> Done {
    Done {
        success: true,
        message,
        id,
    }
}

#[derive(Serialize)]
struct KeyValue<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    id: String,
    key: String,
    is_active: bool,
    is_reserved: bool,
    created_at: Value,
    updated_at: Value,
    expires_at: Value,
    /// Not in the seed's example; InsForge's own server adds it.
    last_used_at: Value,
}

#[derive(Serialize)]
struct List {
    secrets: Vec<Metadata>,
}

fn invalid(message: &str) -> ServiceError {
    ServiceError::new(ErrorCode::InvalidBody, message)
}

const BAD_KEY: &str =
    "Invalid key format. Use uppercase letters, numbers, and underscores only (e.g., STRIPE_API_KEY)";

/// InsForge's own key rule, `^[A-Z0-9_]+$` (hush's is checked after it).
fn insforge_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// An organization admin (a hush token, or a JWT hush issued) and the
/// organization's slug, tied to the request's audit entry. First among a
/// handler's arguments, so a stranger is refused before the body is read.
struct Admin(Principal, String);

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, ServiceError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ServiceError::new(
                ErrorCode::MissingToken,
                "send an admin token: Authorization: Bearer <token>",
            )
        })?;
        let who = if hush_core::jwt::looks_like_jwt(token) {
            authenticate_jwt(app, token).await?
        } else {
            authenticate(app, token).await?
        }
        .audited_by(parts.extensions.get::<AuditSlot>());
        who.require_org_wide(Permission::OrgAdmin).map_err(|_| {
            ServiceError::new(
                ErrorCode::InsufficientScope,
                "Admin access is required for the secrets API",
            )
        })?;
        let org = app.services.own_org(&who).await?.slug;
        Ok(Admin(who, org))
    }
}

fn time(ms: Option<i64>) -> Value {
    ms.map_or(Value::Null, |ms| {
        Value::from(hush_core::time::to_rfc3339(ms))
    })
}

fn metadata(s: &OrgSecret) -> Metadata {
    Metadata {
        id: s.id.clone(),
        key: s.name.clone(),
        is_active: s.is_active,
        is_reserved: s.is_reserved,
        created_at: time(Some(s.created_at)),
        updated_at: time(Some(s.updated_at)),
        expires_at: time(s.expires_at),
        last_used_at: time(s.last_used_at),
    }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, ServiceError> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid("The request body must be a JSON object")),
    }
}

fn flag(body: &Map<String, Value>, field: &str) -> Result<Option<bool>, ServiceError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid(&format!("{field} must be a boolean"))),
    }
}

/// `expiresAt`: absent (`None`), `null` (`Some(None)`), or an ISO 8601 time.
fn expiry(body: &Map<String, Value>) -> Result<Option<Option<i64>>, ServiceError> {
    match body.get("expiresAt") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(text)) => hush_core::time::parse_rfc3339(text)
            .map(|at| Some(Some(at)))
            .ok_or_else(|| {
                invalid("expiresAt must be an ISO 8601 date such as 2025-01-20T09:15:00Z")
            }),
        Some(_) => Err(invalid("expiresAt must be an ISO 8601 date or null")),
    }
}

fn text(body: &Map<String, Value>, field: &str) -> Option<String> {
    body.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

async fn list(
    State(app): State<Arc<AppState>>,
    Admin(who, org): Admin,
) -> Result<Response, ServiceError> {
    let secrets = app.services.org_secrets().list(&who, &org).await?;
    let secrets = secrets.iter().map(metadata).collect();
    Ok(Json(List { secrets }).into_response())
}

async fn create(
    State(app): State<Arc<AppState>>,
    Admin(who, org): Admin,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body = object(&body)?;
    let (Some(key), Some(value)) = (text(&body, "key"), text(&body, "value")) else {
        return Err(invalid("Both key and value are required"));
    };
    if !insforge_key(&key) {
        return Err(invalid(BAD_KEY));
    }
    let new = NewOrgSecret {
        name: key.clone(),
        value: SecretString::new(value),
        is_reserved: flag(&body, "isReserved")?.unwrap_or(false),
        expires_at: expiry(&body)?.flatten(),
        reactivate: true,
    };
    let created = app.services.org_secrets().create(&who, &org, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(done(
            format!("Secret {key} has been created successfully"),
            Some(created.id),
        )),
    )
        .into_response())
}

async fn read(
    State(app): State<Arc<AppState>>,
    Admin(who, org): Admin,
    PathArgs(key): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let (secret, value) = app
        .services
        .org_secrets()
        .value(&who, &org, Which::Name(&key))
        .await?;
    Ok(Json(KeyValue {
        key: &secret.name,
        value: value.expose(),
    })
    .into_response())
}

async fn update(
    State(app): State<Arc<AppState>>,
    Admin(who, org): Admin,
    PathArgs(key): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body = object(&body)?;
    let value = match body.get("value") {
        None | Some(Value::Null) => None,
        Some(Value::String(v)) => Some(SecretString::new(v.clone())),
        Some(_) => return Err(invalid("value must be a string")),
    };
    let change = OrgSecretUpdate {
        value,
        is_active: flag(&body, "isActive")?,
        is_reserved: flag(&body, "isReserved")?,
        expires_at: expiry(&body)?,
    };
    app.services
        .org_secrets()
        .update(&who, &org, Which::Name(&key), change)
        .await?;
    Ok(Json(done(
        format!("Secret {key} has been updated successfully"),
        None,
    ))
    .into_response())
}

async fn remove(
    State(app): State<Arc<AppState>>,
    Admin(who, org): Admin,
    PathArgs(key): PathArgs<String>,
) -> Result<Response, ServiceError> {
    app.services
        .org_secrets()
        .deactivate(&who, &org, Which::Name(&key))
        .await?;
    Ok(Json(done(
        format!("Secret {key} has been deleted successfully"),
        None,
    ))
    .into_response())
}
