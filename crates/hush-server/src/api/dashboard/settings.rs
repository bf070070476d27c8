//! A project's settings: its name; its environments and targets (adding a
//! target; removing either, which takes its secrets with it, after the
//! slug is typed); who holds a role in it; and deleting it, also after
//! its slug is typed. What the request got wrong is said next to the
//! form it came from.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{
    add_child, change_forms, child_slugs, form_page, said_on_page, Change, Viewer, PROJECTS,
};
use crate::api::PathArgs;
use crate::error::{ErrorCode, ServiceError};
use crate::service::model::ChildKind;
use crate::AppState;

/// A person holding a role in the project.
struct RoleRow {
    user_id: String,
    email: String,
    role: &'static str,
}

#[derive(Template)]
#[template(path = "dashboard/settings.html")]
struct SettingsPage {
    user: Option<String>,
    csrf: String,
    project_name: String,
    project_slug: String,
    environments: Vec<String>,
    targets: Vec<String>,
    /// `None` when the viewer may not manage the project's roles.
    roles: Option<Vec<RoleRow>>,
    /// The organization's members, for granting a role.
    people: Vec<(String, String)>,
    notice: Option<String>,
    /// What failed, and the form (by id) it is said next to.
    error: Option<(&'static str, String)>,
}

impl SettingsPage {
    /// The error to show in the form `id`, if it failed there.
    fn error_in(&self, id: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|(at, _)| *at == id)
            .map(|(_, message)| message.as_str())
    }
}

async fn page(
    app: &AppState,
    viewer: &Viewer,
    slug: &str,
    notice: Option<String>,
    error: Option<(&'static str, String)>,
) -> Result<Response, ServiceError> {
    let (_, project) = app.services.project(&viewer.who, &viewer.org, slug).await?;
    let environments = child_slugs(app, viewer, slug, ChildKind::Environment).await?;
    let targets = child_slugs(app, viewer, slug, ChildKind::Target).await?;
    let users = app.services.users();
    // Only project admins see and grant roles (and only organization
    // admins list the organization's people); others get the rest.
    let roles =
        allowed(users.project_members(&viewer.who, &viewer.org, slug).await)?.map(|members| {
            members
                .into_iter()
                .map(|m| RoleRow {
                    user_id: m.user_id,
                    email: m.email,
                    role: m.role.as_str(),
                })
                .collect()
        });
    let people = allowed(users.members(&viewer.who, &viewer.org).await)?
        .map(|all| all.into_iter().map(|m| (m.user_id, m.email)).collect())
        .unwrap_or_default();
    let failed = error.is_some();
    let page = SettingsPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        project_name: project.name,
        project_slug: project.slug,
        environments,
        targets,
        roles,
        people,
        notice,
        error,
    };
    Ok(form_page(&page, failed))
}

/// `None` where the viewer may not see this part of the page; any other
/// failure (the database away) is still an error.
fn allowed<T>(result: Result<T, ServiceError>) -> Result<Option<T>, ServiceError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.code().status() == axum::http::StatusCode::FORBIDDEN => Ok(None),
        Err(err) => Err(err),
    }
}

pub(super) async fn show(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    PathArgs(project): PathArgs<String>,
) -> Result<Response, ServiceError> {
    page(&app, &viewer, &project, None, None).await
}

/// A change's outcome, said next to the form `at` when the request was at
/// fault.
async fn after(
    app: &AppState,
    viewer: &Viewer,
    slug: &str,
    at: &'static str,
    result: Result<String, ServiceError>,
) -> Result<Response, ServiceError> {
    match result {
        Ok(notice) => page(app, viewer, slug, Some(notice), None).await,
        Err(err) if said_on_page(&err) => {
            page(app, viewer, slug, None, Some((at, err.parts().message))).await
        }
        Err(err) => Err(err),
    }
}

/// Refuses a destructive change unless `typed` is the slug it destroys.
fn confirmed(typed: &str, slug: &str, what: &str) -> Result<(), ServiceError> {
    if typed.trim() == slug {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorCode::ConfirmationRequired,
            format!("type {slug:?} to confirm: {what}"),
        ))
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct RenameForm {
    csrf: String,
    name: String,
}

pub(super) async fn rename(
    State(app): State<Arc<AppState>>,
    PathArgs(slug): PathArgs<String>,
    Change { viewer, form }: Change<RenameForm>,
) -> Result<Response, ServiceError> {
    let result = app
        .services
        .projects()
        .rename(&viewer.who, &viewer.org, &slug, &form.name)
        .await
        .map(|p| format!("Renamed to {}.", p.name));
    after(&app, &viewer, &slug, "rename", result).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ConfirmForm {
    csrf: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn delete(
    State(app): State<Arc<AppState>>,
    PathArgs(slug): PathArgs<String>,
    Change { viewer, form }: Change<ConfirmForm>,
) -> Result<Response, ServiceError> {
    let deleted = async {
        confirmed(
            &form.confirm,
            &slug,
            "deleting the project deletes all its secrets, versions and tokens",
        )?;
        app.services
            .projects()
            .delete(&viewer.who, &viewer.org, &slug)
            .await
    };
    match deleted.await {
        Ok(()) => Ok(Redirect::to(PROJECTS).into_response()),
        Err(err) => after(&app, &viewer, &slug, "delete-project", Err(err)).await,
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TargetForm {
    csrf: String,
    slug: String,
}

pub(super) async fn add_target(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<TargetForm>,
) -> Result<Response, ServiceError> {
    let result = add_child(&app, &viewer, &project, ChildKind::Target, &form.slug).await;
    after(&app, &viewer, &project, "new-target", result).await
}

#[derive(Debug, Deserialize)]
pub(super) struct RemoveForm {
    csrf: String,
    /// `environment` or `target`.
    kind: String,
    slug: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn remove_child(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<RemoveForm>,
) -> Result<Response, ServiceError> {
    let result = remove(&app, &viewer, &project, &form).await;
    after(&app, &viewer, &project, "children", result).await
}

async fn remove(
    app: &AppState,
    viewer: &Viewer,
    project: &str,
    form: &RemoveForm,
) -> Result<String, ServiceError> {
    let kind = match form.kind.as_str() {
        "environment" => ChildKind::Environment,
        "target" => {
            viewer.who.audit_action("target.delete");
            ChildKind::Target
        }
        other => {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                format!("environment or target, not {other:?}"),
            ))
        }
    };
    confirmed(
        &form.confirm,
        &form.slug,
        "its secrets and versions go with it",
    )?;
    app.services
        .projects()
        .delete_child(&viewer.who, kind, &viewer.org, project, &form.slug)
        .await?;
    Ok(format!("{} {} removed.", form.kind, form.slug))
}

#[derive(Debug, Deserialize)]
pub(super) struct RoleForm {
    csrf: String,
    user: String,
    #[serde(default)]
    role: String,
    /// `set` or `remove`.
    action: String,
}

pub(super) async fn set_role(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<RoleForm>,
) -> Result<Response, ServiceError> {
    let users = app.services.users();
    let result = match form.action.as_str() {
        "set" => users
            .set_project_role(&viewer.who, &viewer.org, &project, &form.user, &form.role)
            .await
            .map(|m| format!("{} is {} in this project.", m.email, m.role.as_str())),
        "remove" => {
            viewer.who.audit_action("project.member.remove");
            users
                .remove_project_role(&viewer.who, &viewer.org, &project, &form.user)
                .await
                .map(|()| "The project role was removed.".to_owned())
        }
        other => Err(ServiceError::new(
            ErrorCode::InvalidBody,
            format!("set or remove, not {other:?}"),
        )),
    };
    after(&app, &viewer, &project, "roles", result).await
}

change_forms!(RenameForm, ConfirmForm, TargetForm, RemoveForm, RoleForm);
