//! Hooklistener's Secrets API (`shared/seeds/hooklistener-secrets.txt`)
//! over hush's organization secrets: `/api/v1/secrets`,
//! `/api/v1/secrets/{id}` and `/api/v1/secrets/{id}/value`, with a
//! Hooklistener API key (`Authorization: Bearer hklst_…`, a hush token
//! limited to the organization's secrets, read or read-write) or any hush
//! credential of a member.
//!
//! The seed gives requests, not responses; hush answers in the same
//! style, every secret wrapped as `"secret"` (`"secrets"` for the list):
//! `{"secret":{"id","name","active","expires_at","expired","created_at",
//! "updated_at","last_used_at"}}`, the value only from `…/value` (with `decrypted_at`,
//! the time recorded in the audit log). Errors use hush's envelope
//! `{"error":{"code","message"}}`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use hush_core::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::{PathArgs, RawBody};
use crate::audit::AuditSlot;
use crate::auth::{authenticate, bearer, Principal};
use crate::error::{ErrorCode, ServiceError};
use crate::service::{NewOrgSecret, OrgSecret, OrgSecretUpdate, Which};
use crate::AppState;

const LIST: &str = "/api/v1/secrets";
const ONE: &str = "/api/v1/secrets/{id}";
const VALUE: &str = "/api/v1/secrets/{id}/value";

/// Hooklistener's five routes.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::Hooklistener,
    prefixes: &[],
    routes: &[
        Route::new(Method::GET, LIST, "orgsecret.list", Auth::Token),
        Route::new(Method::POST, LIST, "orgsecret.create", Auth::Token),
        Route::new(Method::GET, ONE, "orgsecret.get", Auth::Token),
        Route::new(Method::GET, VALUE, "orgsecret.read", Auth::Token),
        Route::new(Method::PUT, ONE, "orgsecret.update", Auth::Token),
        Route::new(Method::DELETE, ONE, "orgsecret.delete", Auth::Token),
    ],
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(LIST, get(list).post(create))
        .route(ONE, get(one).put(update).delete(remove))
        .route(VALUE, get(value))
}

/// The caller and its organization's slug, tied to the request's audit
/// entry. First among a handler's arguments, so a stranger is refused
/// before the body is read.
struct Member(Principal, String);

impl FromRequestParts<Arc<AppState>> for Member {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, ServiceError> {
        let token = bearer(&parts.headers).ok_or_else(|| {
            ServiceError::new(
                ErrorCode::MissingToken,
                "send your API key: Authorization: Bearer hklst_…",
            )
        })?;
        let who = authenticate(app, token)
            .await?
            .audited_by(parts.extensions.get::<AuditSlot>());
        let org = app.services.own_org(&who).await?.slug;
        Ok(Member(who, org))
    }
}

fn time(ms: i64) -> String {
    hush_core::time::to_rfc3339(ms)
}

fn metadata(s: &OrgSecret) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "active": s.is_active,
        "expires_at": s.expires_at.map(time),
        "expired": s.expired(crate::now_ms()),
        "created_at": time(s.created_at),
        "updated_at": time(s.updated_at),
        "last_used_at": s.last_used_at.map(time),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSecret {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    secret: NewSecret,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewValue {
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Update {
    secret: NewValue,
}

/// A body, read once the caller is known (so a stranger learns nothing
/// about the shape it expects).
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ServiceError> {
    serde_json::from_slice(body).map_err(|err| {
        ServiceError::new(
            ErrorCode::InvalidBody,
            format!("send {{\"secret\": {{\"name\": …, \"value\": …}}}} ({err})"),
        )
    })
}

async fn list(
    State(app): State<Arc<AppState>>,
    Member(who, org): Member,
) -> Result<Response, ServiceError> {
    let secrets = app.services.org_secrets().list(&who, &org).await?;
    let secrets: Vec<Value> = secrets.iter().map(metadata).collect();
    Ok(Json(json!({ "secrets": secrets })).into_response())
}

async fn create(
    State(app): State<Arc<AppState>>,
    Member(who, org): Member,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: Create = parse(&body)?;
    let new = NewOrgSecret {
        name: body.secret.name,
        value: SecretString::new(body.secret.value),
        is_reserved: false,
        expires_at: None,
        reactivate: false,
    };
    let created = app.services.org_secrets().create(&who, &org, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "secret": metadata(&created) })),
    )
        .into_response())
}

/// One secret's metadata (never its value).
async fn one(
    State(app): State<Arc<AppState>>,
    Member(who, org): Member,
    PathArgs(id): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let secret = app
        .services
        .org_secrets()
        .get(&who, &org, Which::Id(&id))
        .await?;
    Ok(Json(json!({ "secret": metadata(&secret) })).into_response())
}

async fn value(
    State(app): State<Arc<AppState>>,
    Member(who, org): Member,
    PathArgs(id): PathArgs<String>,
    slot: Option<Extension<AuditSlot>>,
) -> Result<Response, ServiceError> {
    let (secret, value) = app
        .services
        .org_secrets()
        .value(&who, &org, Which::Id(&id))
        .await?;
    // The time the audit entry of this request records.
    let at = slot
        .as_ref()
        .map_or_else(crate::now_ms, |Extension(slot)| slot.at());
    Ok(Json(json!({
        "secret": {
            "id": secret.id,
            "name": secret.name,
            "value": value.expose(),
            "decrypted_at": time(at),
        }
    }))
    .into_response())
}

async fn update(
    State(app): State<Arc<AppState>>,
    Member(who, org): Member,
    PathArgs(id): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<Response, ServiceError> {
    let body: Update = parse(&body)?;
    let change = OrgSecretUpdate {
        value: Some(SecretString::new(body.secret.value)),
        ..OrgSecretUpdate::default()
    };
    let updated = app
        .services
        .org_secrets()
        .update(&who, &org, Which::Id(&id), change)
        .await?;
    Ok(Json(json!({ "secret": metadata(&updated) })).into_response())
}

async fn remove(
    State(app): State<Arc<AppState>>,
    Member(who, org): Member,
    PathArgs(id): PathArgs<String>,
) -> Result<Response, ServiceError> {
    app.services
        .org_secrets()
        .remove(&who, &org, Which::Id(&id))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
