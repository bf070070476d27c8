//! Users and login.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use hush_core::time::to_rfc3339;
use hush_core::SecretString;
use hush_proto::{
    ChangePassword, CreateUser, Login, OrgRole, ProjectRole, ProjectRoleOf, Session, SetPassword,
    User, WhoAmI,
};

use crate::api::{JsonBody, PathArgs};
use crate::audit::AuditSlot;
use crate::auth::{AnyPrincipal, Principal};
use crate::error::ServiceError;
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

#[utoipa::path(
    post,
    path = "/orgs/{org}/users",
    summary = "Create a user with a role in the organization",
    params(("org" = String, Path, description = "Organization slug")),
    request_body = CreateUser,
    responses((status = 201, body = User), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn create(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<(StatusCode, Json<User>)> {
    let role = body.role.as_deref().unwrap_or("member");
    let (user, role) = app
        .services
        .users()
        .create(
            &who,
            &org,
            &body.email,
            SecretString::new(body.password),
            role,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(User {
            id: user.id,
            email: user.email,
            role: role.as_str().to_owned(),
        }),
    ))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/users",
    summary = "Members of the organization",
    params(("org" = String, Path, description = "Organization slug")),
    responses((status = 200, body = Vec<User>), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<User>>> {
    let members = app.services.users().members(&who, &org).await?;
    Ok(Json(
        members
            .into_iter()
            .map(|m| User {
                id: m.user_id,
                email: m.email,
                role: m.role.as_str().to_owned(),
            })
            .collect(),
    ))
}

#[utoipa::path(
    post,
    path = "/login",
    summary = "Log in: a 12-hour session token with the role's scopes",
    request_body = Login,
    responses((status = 200, body = Session), super::doc::Errors),
    security(())
)]
pub async fn login(
    State(app): S,
    slot: Option<Extension<AuditSlot>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(body): JsonBody<Login>,
) -> Result<Json<Session>> {
    let password = SecretString::new(body.password);
    let org = body.org.as_deref().unwrap_or(crate::service::DEFAULT_ORG);
    let (secret, record, user, role) = match app
        .services
        .users()
        .login(&body.email, &password, Some(org), &peer.ip().to_string())
        .await
    {
        Ok(session) => session,
        Err(err) => {
            app.metrics.login_failed();
            if let (Some(Extension(slot)), Some(org_id)) =
                (&slot, app.services.projects().org_id(org).await)
            {
                slot.org(&org_id);
            }
            return Err(err);
        }
    };
    if let Some(Extension(slot)) = slot {
        slot.identify(format!("user:{}", user.id), &record.org_id, None);
    }
    Ok(Json(Session {
        token: secret.expose().to_owned(),
        expires_at: record.expires_at.map(to_rfc3339).unwrap_or_default(),
        user: User {
            id: user.id,
            email: user.email,
            role: role.as_str().to_owned(),
        },
    }))
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/users/{user}",
    summary = "Remove a user: account, project roles, sessions and the tokens they minted",
    params(("org" = String, Path, description = "Organization slug"), ("user" = String, Path, description = "User id or email")),
    responses((status = 204, description = "Removed"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn remove(
    State(app): S,
    who: Principal,
    PathArgs((org, user)): PathArgs<(String, String)>,
) -> Result<StatusCode> {
    app.services.users().remove(&who, &org, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/orgs/{org}/users/{user}/role",
    summary = "Change a member's organization role (owners by owners; never the last owner)",
    params(("org" = String, Path, description = "Organization slug"), ("user" = String, Path, description = "User id or email")),
    request_body = OrgRole,
    responses((status = 200, body = User), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn set_role(
    State(app): S,
    who: Principal,
    PathArgs((org, user)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<OrgRole>,
) -> Result<Json<User>> {
    let member = app
        .services
        .users()
        .set_role(&who, &org, &user, &body.role)
        .await?;
    Ok(Json(User {
        id: member.user_id,
        email: member.email,
        role: member.role.as_str().to_owned(),
    }))
}

#[utoipa::path(
    put,
    path = "/orgs/{org}/users/{user}/password",
    summary = "Set a user's password (their sessions end)",
    params(("org" = String, Path, description = "Organization slug"), ("user" = String, Path, description = "User id or email")),
    request_body = SetPassword,
    responses((status = 204, description = "Set"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn set_password(
    State(app): S,
    who: Principal,
    PathArgs((org, user)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<SetPassword>,
) -> Result<StatusCode> {
    let password = SecretString::new(body.password);
    app.services
        .users()
        .set_password(&who, &org, &user, &password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/password",
    summary = "Change your own password (a login session; every session ends)",
    request_body = ChangePassword,
    responses((status = 204, description = "Changed"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn change_password(
    State(app): S,
    who: Principal,
    JsonBody(body): JsonBody<ChangePassword>,
) -> Result<StatusCode> {
    let current = SecretString::new(body.current_password);
    let new = SecretString::new(body.new_password);
    app.services
        .users()
        .change_own_password(&who, &current, &new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/logout",
    summary = "End the presented session: its token stops working now",
    responses((status = 204, description = "Logged out"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn logout(State(app): S, who: Principal) -> Result<StatusCode> {
    app.services.users().logout(&who).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/whoami`: any token, pull tokens included.
#[utoipa::path(
    get,
    path = "/whoami",
    summary = "What the presented token is (any token, pull tokens too)",
    responses((status = 200, body = WhoAmI), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn whoami(State(app): S, AnyPrincipal(who): AnyPrincipal) -> Result<Json<WhoAmI>> {
    let identity = app.services.users().identity(&who).await?;
    let scopes = who.scopes().iter().map(|s| s.as_str().to_owned()).collect();
    let token = who.token;
    Ok(Json(WhoAmI {
        org: identity.org.slug,
        kind: token.kind.as_str().to_owned(),
        name: token.name,
        prefix: token.prefix,
        scopes,
        project: identity.project.map(|p| p.slug),
        environment: identity.environment.map(|e| e.slug),
        user: identity.user.map(|m| User {
            id: m.user_id,
            email: m.email,
            role: m.role.as_str().to_owned(),
        }),
        project_roles: identity
            .project_roles
            .into_iter()
            .map(|(project, role)| ProjectRoleOf {
                project,
                role: role.as_str().to_owned(),
            })
            .collect(),
        expires_at: token.expires_at.map(to_rfc3339),
    }))
}

fn user(member: crate::service::model::Membership) -> User {
    User {
        id: member.user_id,
        email: member.email,
        role: member.role.as_str().to_owned(),
    }
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/members",
    summary = "Users with a role in the project",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    responses((status = 200, body = Vec<User>), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list_project_members(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<Vec<User>>> {
    let members = app
        .services
        .users()
        .project_members(&who, &org, &project)
        .await?;
    Ok(Json(members.into_iter().map(user).collect()))
}

#[utoipa::path(
    put,
    path = "/orgs/{org}/projects/{project}/members/{user}",
    summary = "Give a member of the organization a role in the project",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("user" = String, Path, description = "User id or email")),
    request_body = ProjectRole,
    responses((status = 200, body = User), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn set_project_member(
    State(app): S,
    who: Principal,
    PathArgs((org, project, user_id)): PathArgs<(String, String, String)>,
    JsonBody(body): JsonBody<ProjectRole>,
) -> Result<Json<User>> {
    let member = app
        .services
        .users()
        .set_project_role(&who, &org, &project, &user_id, &body.role)
        .await?;
    Ok(Json(user(member)))
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/projects/{project}/members/{user}",
    summary = "Take a user's project role away (their organization role applies again)",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("user" = String, Path, description = "User id or email")),
    responses((status = 204, description = "Removed"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn remove_project_member(
    State(app): S,
    who: Principal,
    PathArgs((org, project, user_id)): PathArgs<(String, String, String)>,
) -> Result<StatusCode> {
    app.services
        .users()
        .remove_project_role(&who, &org, &project, &user_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
