//! Organizations, projects, environments and targets.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hush_proto::{CreateNamed, CreateProject};
use hush_store::{ChildKind, EncryptionMode};

use super::convert;
use crate::api::{JsonBody, PathArgs};
use crate::auth::Principal;
use crate::error::ServiceError;
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

pub async fn list_orgs(
    State(app): S,
    who: Principal,
) -> Result<Json<Vec<hush_proto::Organization>>> {
    let orgs = app.services.organizations(&who).await?;
    Ok(Json(orgs.into_iter().map(convert::org).collect()))
}

pub async fn get_org(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<hush_proto::Organization>> {
    Ok(Json(convert::org(app.services.org(&who, &org).await?)))
}

pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<Vec<hush_proto::Project>>> {
    let projects = app.services.projects(&who, &org).await?;
    Ok(Json(projects.into_iter().map(convert::project).collect()))
}

pub async fn create(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<CreateProject>,
) -> Result<(StatusCode, Json<hush_proto::Project>)> {
    let mode = match body.encryption_mode.as_deref() {
        None | Some("server") => EncryptionMode::Server,
        Some("client") => EncryptionMode::Client,
        Some(other) => {
            return Err(ServiceError::unprocessable(
                "invalid_encryption_mode",
                format!("encryption_mode is \"server\" or \"client\", not {other:?}"),
            ))
        }
    };
    let project = app
        .services
        .create_project(&who, &org, &body.slug, body.name.as_deref(), mode)
        .await?;
    Ok((StatusCode::CREATED, Json(convert::project(project))))
}

pub async fn get(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<hush_proto::Project>> {
    Ok(Json(convert::project(
        app.services.project(&who, &org, &project).await?.1,
    )))
}

pub async fn remove(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<StatusCode> {
    app.services.delete_project(&who, &org, &project).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_children(
    app: &AppState,
    who: &Principal,
    kind: ChildKind,
    org: &str,
    project: &str,
) -> Result<Json<Vec<hush_proto::Child>>> {
    let children = app.services.children(who, kind, org, project).await?;
    Ok(Json(children.into_iter().map(convert::child).collect()))
}

async fn create_child(
    app: &AppState,
    who: &Principal,
    kind: ChildKind,
    org: &str,
    project: &str,
    body: CreateNamed,
) -> Result<(StatusCode, Json<hush_proto::Child>)> {
    let child = app
        .services
        .create_child(who, kind, org, project, &body.slug, body.name.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(convert::child(child))))
}

pub async fn list_envs(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<Vec<hush_proto::Child>>> {
    list_children(&app, &who, ChildKind::Environment, &org, &project).await
}

pub async fn list_targets(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<Vec<hush_proto::Child>>> {
    list_children(&app, &who, ChildKind::Target, &org, &project).await
}

pub async fn create_env(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<CreateNamed>,
) -> Result<(StatusCode, Json<hush_proto::Child>)> {
    create_child(&app, &who, ChildKind::Environment, &org, &project, body).await
}

pub async fn create_target(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<CreateNamed>,
) -> Result<(StatusCode, Json<hush_proto::Child>)> {
    create_child(&app, &who, ChildKind::Target, &org, &project, body).await
}

pub async fn remove_env(
    State(app): S,
    who: Principal,
    PathArgs((org, project, slug)): PathArgs<(String, String, String)>,
) -> Result<StatusCode> {
    app.services
        .delete_child(&who, ChildKind::Environment, &org, &project, &slug)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn remove_target(
    State(app): S,
    who: Principal,
    PathArgs((org, project, slug)): PathArgs<(String, String, String)>,
) -> Result<StatusCode> {
    app.services
        .delete_child(&who, ChildKind::Target, &org, &project, &slug)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
