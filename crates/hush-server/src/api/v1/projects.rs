//! Organizations, projects, environments and targets.

use std::sync::Arc;

use crate::service::model::{ChildKind, EncryptionMode};
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::Json;
use hush_proto::{Child, CreateNamed, CreateProject, E2eeMeta, Organization, Project};
use serde::Deserialize;

use super::convert;
use crate::api::{page_limit, JsonBody, KeyProof, Paged, Params, PathArgs};
use crate::auth::Principal;
use crate::error::{ErrorCode, ServiceError};
use crate::AppState;

type Result<T> = std::result::Result<T, ServiceError>;
type S = State<Arc<AppState>>;

#[utoipa::path(
    get,
    path = "/orgs",
    summary = "Organizations the token sees: its own, or all for server:admin",
    responses((status = 200, body = Vec<Organization>), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list_orgs(
    State(app): S,
    who: Principal,
) -> Result<Json<Vec<hush_proto::Organization>>> {
    let orgs = app.services.orgs().list(&who).await?;
    Ok(Json(orgs.into_iter().map(convert::org).collect()))
}

#[utoipa::path(
    post,
    path = "/orgs",
    summary = "Create an organization (server:admin); its admin token is in the answer, once",
    request_body = hush_proto::CreateOrg,
    responses((status = 201, body = hush_proto::CreatedOrg), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn create_org(
    State(app): S,
    who: Principal,
    JsonBody(body): JsonBody<hush_proto::CreateOrg>,
) -> Result<(StatusCode, Json<hush_proto::CreatedOrg>)> {
    let (org, token) = app
        .services
        .orgs()
        .create(&who, &body.slug, body.name.as_deref().unwrap_or(""))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(hush_proto::CreatedOrg {
            organization: convert::org(org),
            token: token.expose().to_owned(),
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}",
    summary = "Delete another organization with everything in it (server:admin)",
    params(("org" = String, Path, description = "Organization slug")),
    responses((status = 204, description = "Deleted"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn delete_org(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
) -> Result<StatusCode> {
    app.services.orgs().delete(&who, &org).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/orgs/{org}",
    summary = "One organization",
    params(("org" = String, Path, description = "Organization slug")),
    responses((status = 200, body = Organization), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn get_org(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
) -> Result<Json<hush_proto::Organization>> {
    Ok(Json(convert::org(app.services.org(&who, &org).await?)))
}

#[utoipa::path(
    patch,
    path = "/orgs/{org}",
    summary = "Set the organization's policies: may viewers decrypt; its plan (owners)",
    params(("org" = String, Path, description = "Organization slug")),
    request_body = hush_proto::OrgPolicy,
    responses((status = 200, body = Organization), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn set_org_policy(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    JsonBody(body): JsonBody<hush_proto::OrgPolicy>,
) -> Result<Json<hush_proto::Organization>> {
    if body.viewers_decrypt.is_none() && body.plan.is_none() {
        return Err(ServiceError::new(
            ErrorCode::InvalidBody,
            "nothing to change: send viewers_decrypt, plan, or both",
        ));
    }
    if let Some(allowed) = body.viewers_decrypt {
        app.services
            .users()
            .set_viewers_decrypt(&who, &org, allowed)
            .await?;
    }
    if let Some(plan) = body.plan {
        let request = crate::service::PlanRequest {
            plan,
            max_projects: body.max_projects,
            max_environments: body.max_environments,
        };
        app.services.orgs().set_plan(&who, &org, &request).await?;
    } else if body.max_projects.is_some() || body.max_environments.is_some() {
        return Err(ServiceError::new(
            ErrorCode::InvalidBody,
            "max_projects and max_environments go with plan \"custom\"",
        ));
    }
    Ok(Json(convert::org(app.services.org(&who, &org).await?)))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects",
    summary = "Projects the token may see, a page at a time by slug",
    params(("org" = String, Path, description = "Organization slug"), ListQuery),
    responses((status = 200, body = Vec<Project>, headers(("link" = String, description = "`<…?after=…>; rel=\"next\"` when there may be more"))), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list(
    State(app): S,
    who: Principal,
    PathArgs(org): PathArgs<String>,
    Params(q): Params<ListQuery>,
    OriginalUri(uri): OriginalUri,
) -> Result<Paged<hush_proto::Project>> {
    let limit = page_limit(q.limit);
    let projects = app
        .services
        .projects()
        .list(&who, &org, q.after.as_deref(), limit)
        .await?;
    Ok(Paged::new(
        projects.into_iter().map(convert::project).collect(),
        limit,
        &uri,
        "after",
        |p| p.slug.clone(),
    ))
}

/// `GET …/projects` query: a page of projects, by slug.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only projects whose slug sorts after this one (the next page).
    after: Option<String>,
    /// Projects per page: 100 by default, at most 1000.
    limit: Option<i64>,
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects",
    summary = "Create a project (encryption mode fixed at creation)",
    params(("org" = String, Path, description = "Organization slug")),
    request_body = CreateProject,
    responses((status = 201, body = Project), super::doc::Errors),
    security(("bearer" = []))
)]
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
            return Err(ServiceError::new(
                ErrorCode::InvalidEncryptionMode,
                format!("encryption_mode is \"server\" or \"client\", not {other:?}"),
            ))
        }
    };
    let e2ee = match (body.e2ee_meta, body.key_proof) {
        (Some(meta), Some(proof)) => Some((convert::meta_in(meta), Some(proof))),
        (Some(_), None) => {
            return Err(ServiceError::new(
                ErrorCode::KeyProofRequired,
                "e2ee_meta needs the key_proof derived from the same data key",
            ))
        }
        (None, _) => None,
    };
    let project = app
        .services
        .projects()
        .create(&who, &org, &body.slug, body.name.as_deref(), mode, e2ee)
        .await?;
    Ok((StatusCode::CREATED, Json(convert::project(project))))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}",
    summary = "One project",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    responses((status = 200, body = Project), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn get(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<hush_proto::Project>> {
    Ok(Json(convert::project(
        app.services.project(&who, &org, &project).await?.1,
    )))
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/projects/{project}",
    summary = "Delete a project with its secrets and history",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    responses((status = 204, description = "Deleted"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn remove(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<StatusCode> {
    app.services.projects().delete(&who, &org, &project).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_children(
    app: &AppState,
    who: &Principal,
    kind: ChildKind,
    org: &str,
    project: &str,
) -> Result<Json<Vec<hush_proto::Child>>> {
    let children = app
        .services
        .projects()
        .children(who, kind, org, project)
        .await?;
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
        .projects()
        .create_child(who, kind, org, project, &body.slug, body.name.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(convert::child(child))))
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/environments",
    summary = "Environments of a project",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    responses((status = 200, body = Vec<Child>), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list_envs(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<Vec<hush_proto::Child>>> {
    list_children(&app, &who, ChildKind::Environment, &org, &project).await
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/targets",
    summary = "Targets of a project",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    responses((status = 200, body = Vec<Child>), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn list_targets(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<Vec<hush_proto::Child>>> {
    list_children(&app, &who, ChildKind::Target, &org, &project).await
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/environments",
    summary = "Create an environment",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    request_body = CreateNamed,
    responses((status = 201, body = Child), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn create_env(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<CreateNamed>,
) -> Result<(StatusCode, Json<hush_proto::Child>)> {
    create_child(&app, &who, ChildKind::Environment, &org, &project, body).await
}

#[utoipa::path(
    post,
    path = "/orgs/{org}/projects/{project}/targets",
    summary = "Create a target",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    request_body = CreateNamed,
    responses((status = 201, body = Child), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn create_target(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<CreateNamed>,
) -> Result<(StatusCode, Json<hush_proto::Child>)> {
    create_child(&app, &who, ChildKind::Target, &org, &project, body).await
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/projects/{project}/environments/{slug}",
    summary = "Delete an environment with its secrets",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("slug" = String, Path, description = "Environment or target slug")),
    responses((status = 204, description = "Deleted"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn remove_env(
    State(app): S,
    who: Principal,
    PathArgs((org, project, slug)): PathArgs<(String, String, String)>,
) -> Result<StatusCode> {
    app.services
        .projects()
        .delete_child(&who, ChildKind::Environment, &org, &project, &slug)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/orgs/{org}/projects/{project}/targets/{slug}",
    summary = "Delete a target with its secrets",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug"), ("slug" = String, Path, description = "Environment or target slug")),
    responses((status = 204, description = "Deleted"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn remove_target(
    State(app): S,
    who: Principal,
    PathArgs((org, project, slug)): PathArgs<(String, String, String)>,
) -> Result<StatusCode> {
    app.services
        .projects()
        .delete_child(&who, ChildKind::Target, &org, &project, &slug)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/orgs/{org}/projects/{project}/e2ee",
    summary = "Key metadata of an end-to-end-encrypted project (for clients to decrypt locally)",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    responses((status = 200, body = E2eeMeta), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn get_e2ee(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
) -> Result<Json<E2eeMeta>> {
    let meta = app.services.e2ee().meta(&who, &org, &project).await?;
    Ok(Json(convert::meta_out(meta)))
}

#[utoipa::path(
    put,
    path = "/orgs/{org}/projects/{project}/e2ee",
    summary = "Rewrap the data key (new passphrase or recovery key); values stay as they are",
    params(("org" = String, Path, description = "Organization slug"), ("project" = String, Path, description = "Project slug")),
    request_body = E2eeMeta,
    responses((status = 204, description = "Rewrapped"), super::doc::Errors),
    security(("bearer" = []))
)]
pub async fn put_e2ee(
    State(app): S,
    who: Principal,
    PathArgs((org, project)): PathArgs<(String, String)>,
    KeyProof(proof): KeyProof,
    JsonBody(body): JsonBody<E2eeMeta>,
) -> Result<StatusCode> {
    app.services
        .e2ee()
        .rewrap(
            &who,
            &org,
            &project,
            &convert::meta_in(body),
            proof.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
