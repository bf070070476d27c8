//! A project's pull tokens: create (shown once), disable, enable, revoke.

use std::sync::Arc;

use crate::service::model::{ChildKind, TokenKind};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::{html, Change, Viewer};
use crate::api::PathArgs;
use crate::error::{ErrorCode, ServiceError};
use crate::service::TokenRequest;
use crate::AppState;

pub(super) struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    env: String,
    state: &'static str,
    last_used: String,
}

#[derive(Template)]
#[template(path = "dashboard/tokens.html")]
struct TokensPage {
    user: Option<String>,
    csrf: String,
    project_slug: String,
    environments: Vec<String>,
    tokens: Vec<TokenRow>,
    created: Option<String>,
    error: Option<String>,
}

async fn page(
    app: &AppState,
    viewer: &Viewer,
    project: &str,
    created: Option<String>,
    error: Option<String>,
) -> Result<Response, ServiceError> {
    let (_, record) = app
        .services
        .project(&viewer.who, &viewer.org, project)
        .await?;
    let envs = app
        .services
        .projects()
        .children(&viewer.who, ChildKind::Environment, &viewer.org, project)
        .await?;
    let tokens = app
        .services
        .tokens()
        .pull_tokens(&viewer.who, &viewer.org, project)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            env: t
                .environment_id
                .as_ref()
                .and_then(|id| envs.iter().find(|e| e.id == *id))
                .map_or_else(|| "any".to_owned(), |e| e.slug.clone()),
            state: if t.disabled { "disabled" } else { "active" },
            last_used: t
                .last_used_at
                .map_or_else(|| "never".to_owned(), hush_core::time::to_rfc3339),
            id: t.id,
            name: t.name,
            prefix: t.prefix,
        })
        .collect();
    Ok(html(&TokensPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        project_slug: record.slug,
        environments: envs.into_iter().map(|e| e.slug).collect(),
        tokens,
        created,
        error,
    }))
}

pub(super) async fn list(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    PathArgs(project): PathArgs<String>,
) -> Result<Response, ServiceError> {
    page(&app, &viewer, &project, None, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct NewToken {
    csrf: String,
    name: String,
    #[serde(default)]
    env: String,
}

pub(super) async fn create(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<NewToken>,
) -> Result<Response, ServiceError> {
    let created = app
        .services
        .tokens()
        .create(
            &viewer.who,
            &viewer.org,
            TokenRequest {
                name: form.name,
                kind: TokenKind::Pull,
                scopes: Vec::new(),
                project: Some(project.clone()),
                environment: Some(form.env).filter(|e| !e.is_empty()),
                expires_at: None,
                prefix: None,
            },
        )
        .await;
    match created {
        Ok((secret, _)) => {
            page(
                &app,
                &viewer,
                &project,
                Some(secret.expose().to_owned()),
                None,
            )
            .await
        }
        Err(err) if err.code().status().as_u16() == 422 => {
            page(&app, &viewer, &project, None, Some(err.parts().message)).await
        }
        Err(err) => Err(err),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct TokenAction {
    csrf: String,
    action: String,
}

pub(super) async fn change(
    State(app): State<Arc<AppState>>,
    PathArgs((project, id)): PathArgs<(String, String)>,
    Change { viewer, form }: Change<TokenAction>,
) -> Result<Response, ServiceError> {
    let tokens = app.services.tokens();
    tokens
        .check_in_project(&viewer.who, &viewer.org, &project, &id)
        .await?;
    match form.action.as_str() {
        "disable" => drop(
            tokens
                .set_disabled(&viewer.who, &viewer.org, &id, true)
                .await?,
        ),
        "enable" => drop(
            tokens
                .set_disabled(&viewer.who, &viewer.org, &id, false)
                .await?,
        ),
        "revoke" => tokens.revoke(&viewer.who, &viewer.org, &id).await?,
        other => {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                format!("a token can be disabled, enabled or revoked, not {other:?}"),
            ))
        }
    }
    page(&app, &viewer, &project, None, None).await
}

super::change_forms!(NewToken, TokenAction);
