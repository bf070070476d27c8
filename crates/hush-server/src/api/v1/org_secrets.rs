//! The admin JWTs of InsForge's API: issued to an organization admin,
//! and revoked all at once by rotating the organization's signing key.
//! (The organization's secrets themselves are the project level of project
//! `org-secrets`, served by the project routes.)

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hush_proto::{IssueJwt, IssuedJwt};

use crate::api::{PathArgs, RawBody};
use crate::auth::Principal;
use crate::error::ServiceError;
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

#[utoipa::path(
    post,
    path = "/orgs/{org}/insforge/tokens",
    summary = "Issue an admin JWT for InsForge's secrets API (org:admin)",
    description = "HS256, signed with the organization's key; valid until it expires, the key is rotated, or the caller's own token stops working.",
    params(("org" = String, Path, description = "Organization slug")),
    request_body = IssueJwt,
    responses((status = 201, body = IssuedJwt), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn issue(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    RawBody(body): RawBody,
) -> Result<(StatusCode, Json<IssuedJwt>)> {
    // The body is optional: none means the defaults.
    let body: IssueJwt = if body.is_empty() {
        IssueJwt::default()
    } else {
        serde_json::from_slice(&body).map_err(|err| {
            ServiceError::new(crate::error::ErrorCode::InvalidBody, err.to_string())
        })?
    };
    let ttl = body.expires_in.unwrap_or(3600);
    let (token, expires) = app
        .services
        .org_secrets()
        .issue_jwt(&who, &org, ttl)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedJwt {
            token,
            expires_at: hush_core::time::to_rfc3339(expires),
        }),
    ))
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/insforge/rotate-key",
    summary = "Rotate the organization's JWT signing key: every admin JWT issued so far stops working",
    params(("org" = String, Path, description = "Organization slug")),
    responses((status = 204, description = "Rotated"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn rotate(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
) -> Result<StatusCode> {
    app.services
        .org_secrets()
        .rotate_jwt_key(&who, &org)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
