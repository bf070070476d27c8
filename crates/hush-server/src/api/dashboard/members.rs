//! The organization's members: list, add with a role and a first
//! password, change a role, remove (owners only by owners; never the
//! last one).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hush_core::SecretString;
use serde::Deserialize;

use super::{form_page, said_on_page, Change, Viewer};
use crate::error::ServiceError;
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard/members.html")]
struct MembersPage {
    user: Option<String>,
    csrf: String,
    members: Vec<(String, &'static str)>,
    notice: Option<String>,
    error: Option<String>,
}

async fn page(
    app: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, ServiceError> {
    let members = app
        .services
        .users()
        .members(&viewer.who, &viewer.org)
        .await?
        .into_iter()
        .map(|m| (m.email, m.role.as_str()))
        .collect();
    let failed = error.is_some();
    let page = MembersPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        members,
        notice,
        error,
    };
    Ok(form_page(&page, failed))
}

pub(super) async fn list(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Response, ServiceError> {
    page(&app, &viewer, None, None).await
}

/// A change's outcome: said on the page when the request was at fault.
async fn after(
    app: &AppState,
    viewer: &Viewer,
    result: Result<String, ServiceError>,
) -> Result<Response, ServiceError> {
    match result {
        Ok(notice) => page(app, viewer, Some(notice), None).await,
        Err(err) if said_on_page(&err) => page(app, viewer, None, Some(err.parts().message)).await,
        Err(err) => Err(err),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct NewMember {
    csrf: String,
    email: String,
    role: String,
    password: String,
}

pub(super) async fn add(
    State(app): State<Arc<AppState>>,
    Change { viewer, form }: Change<NewMember>,
) -> Result<Response, ServiceError> {
    let result = app
        .services
        .users()
        .create(
            &viewer.who,
            &viewer.org,
            &form.email,
            SecretString::new(form.password),
            &form.role,
        )
        .await
        .map(|(user, role)| format!("{} added as {}.", user.email, role.as_str()));
    after(&app, &viewer, result).await
}

#[derive(Debug, Deserialize)]
pub(super) struct RemoveMember {
    csrf: String,
    email: String,
}

pub(super) async fn remove(
    State(app): State<Arc<AppState>>,
    Change { viewer, form }: Change<RemoveMember>,
) -> Result<Response, ServiceError> {
    let result = app
        .services
        .users()
        .remove(&viewer.who, &viewer.org, &form.email)
        .await
        .map(|_| format!("{} removed; their sessions ended.", form.email));
    after(&app, &viewer, result).await
}

#[derive(Debug, Deserialize)]
pub(super) struct MemberRole {
    csrf: String,
    email: String,
    role: String,
}

pub(super) async fn set_role(
    State(app): State<Arc<AppState>>,
    Change { viewer, form }: Change<MemberRole>,
) -> Result<Response, ServiceError> {
    let result = app
        .services
        .users()
        .set_role(&viewer.who, &viewer.org, &form.email, &form.role)
        .await
        .map(|m| format!("{} is now {}.", m.email, m.role.as_str()));
    after(&app, &viewer, result).await
}

super::change_forms!(NewMember, RemoveMember, MemberRole);
