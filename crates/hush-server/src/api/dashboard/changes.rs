//! Bulk changes to a project's environments: importing a pasted `.env`
//! (a preview of added, changed and unchanged names, then one version),
//! copying one environment into another, and versions with a names-only
//! diff and restore.

use std::sync::Arc;

use crate::service::model::{ChildKind, DiffKind};
use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use hush_core::SecretString;
use serde::Deserialize;

use super::{child_slugs, form_page, html, said_on_page, Change, Viewer};
use crate::api::{Params, PathArgs};
use crate::error::{ErrorCode, ServiceError};
use crate::service::{CopyRequest, ImportReport, Page, ScopeAddress};
use crate::AppState;

// ---- import and copy -----------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/import.html")]
struct ImportPage {
    user: Option<String>,
    csrf: String,
    project_slug: String,
    environments: Vec<String>,
    env: String,
    content: String,
    preview: Option<ImportReport>,
    error: Option<String>,
    /// Set for an end-to-end-encrypted project (see `e2ee.html`).
    e2ee_meta: Option<String>,
}

async fn import_page(
    app: &AppState,
    viewer: &Viewer,
    project: &str,
    env: String,
    content: String,
    outcome: Result<Option<ImportReport>, String>,
) -> Result<Response, ServiceError> {
    let environments = child_slugs(app, viewer, project, ChildKind::Environment).await?;
    let (_, record) = app
        .services
        .project(&viewer.who, &viewer.org, project)
        .await?;
    let e2ee_meta = super::e2ee_meta_json(app, &record).await?;
    let (preview, error) = match outcome {
        Ok(preview) => (preview, None),
        Err(error) => (None, Some(error)),
    };
    let failed = error.is_some();
    let page = ImportPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        project_slug: project.to_owned(),
        environments,
        env,
        content,
        preview,
        error,
        e2ee_meta,
    };
    Ok(form_page(&page, failed))
}

pub(super) async fn import_form(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    PathArgs(project): PathArgs<String>,
) -> Result<Response, ServiceError> {
    import_page(
        &app,
        &viewer,
        &project,
        String::new(),
        String::new(),
        Ok(None),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(super) struct ImportForm {
    csrf: String,
    env: String,
    content: String,
    action: String,
}

pub(super) async fn import(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<ImportForm>,
) -> Result<Response, ServiceError> {
    let entries: Vec<(String, SecretString)> = match hush_core::dotenv::parse(&form.content) {
        Ok(map) => map.into_iter().collect(),
        Err(err) => {
            let said = Err(format!("not a valid .env text: {err}"));
            return import_page(&app, &viewer, &project, form.env, form.content, said).await;
        }
    };
    let matrix = app.services.matrix();
    let outcome = match form.action.as_str() {
        "preview" => matrix
            .preview(
                &viewer.who,
                &viewer.org,
                &project,
                &ScopeAddress::environment(&form.env),
                entries,
            )
            .await
            .map(Some),
        "write" => {
            let report = matrix
                .import(
                    &viewer.who,
                    &viewer.org,
                    &project,
                    &ScopeAddress::environment(&form.env),
                    entries,
                    None,
                )
                .await;
            if report.is_ok() {
                return Ok(Redirect::to(&format!("/dashboard/secrets/{project}")).into_response());
            }
            report.map(Some)
        }
        other => Err(ServiceError::new(
            ErrorCode::InvalidBody,
            format!("preview or write, not {other:?}"),
        )),
    };
    match outcome {
        Ok(preview) => {
            import_page(&app, &viewer, &project, form.env, form.content, Ok(preview)).await
        }
        Err(err) if said_on_page(&err) => {
            let said = Err(err.parts().message);
            import_page(&app, &viewer, &project, form.env, form.content, said).await
        }
        Err(err) => Err(err),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct CopyForm {
    csrf: String,
    from: String,
    to: String,
    #[serde(default)]
    overwrite: Option<String>,
    /// For an end-to-end-encrypted project, from the page's script.
    #[serde(default)]
    key_proof: String,
}

pub(super) async fn copy(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<CopyForm>,
) -> Result<Response, ServiceError> {
    let result = app
        .services
        .secrets()
        .copy(
            &viewer.who,
            &viewer.org,
            &project,
            CopyRequest {
                from: ScopeAddress::environment(&form.from),
                to: ScopeAddress::environment(&form.to),
                overwrite: form.overwrite.is_some(),
                expected_version: None,
                key_proof: Some(form.key_proof.trim().to_owned()).filter(|p| !p.is_empty()),
            },
        )
        .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/dashboard/secrets/{project}")).into_response()),
        Err(err) if err.code() == ErrorCode::EmptyWrite => {
            Ok(Redirect::to(&format!("/dashboard/secrets/{project}")).into_response())
        }
        Err(err) if said_on_page(&err) => {
            let said = Err(err.parts().message);
            import_page(&app, &viewer, &project, String::new(), String::new(), said).await
        }
        Err(err) => Err(err),
    }
}

// ---- versions ------------------------------------------------------------

pub(super) struct VersionRow {
    number: i64,
    current: bool,
    at: String,
    by: String,
    changed: String,
}

pub(super) struct Diff {
    from: i64,
    to: i64,
    lines: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "dashboard/versions.html")]
struct VersionsPage {
    user: Option<String>,
    csrf: String,
    project_slug: String,
    environments: Vec<String>,
    env: String,
    current: i64,
    versions: Vec<VersionRow>,
    diff: Option<Diff>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct VersionsQuery {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    from: Option<i64>,
    #[serde(default)]
    to: Option<i64>,
}

async fn versions_page(
    app: &AppState,
    viewer: &Viewer,
    project: &str,
    query: VersionsQuery,
    notice: Option<String>,
) -> Result<Response, ServiceError> {
    let environments = child_slugs(app, viewer, project, ChildKind::Environment).await?;
    let Some(env) = query.env.or_else(|| environments.first().cloned()) else {
        return Ok(Redirect::to(&format!("/dashboard/secrets/{project}")).into_response());
    };
    let address = ScopeAddress::environment(&env);
    let versions = app.services.versions();
    let list = versions
        .list(
            &viewer.who,
            &viewer.org,
            project,
            &address,
            Page::new(None, Some(100)),
        )
        .await?;
    let current = list.first().map_or(0, |v| v.version);
    let actors: Vec<String> = list.iter().map(|v| v.created_by.clone()).collect();
    let names = app.services.actor_names(&viewer.who, &actors).await?;
    let diff = match (query.from, query.to) {
        (Some(from), Some(to)) => {
            let lines = versions
                .diff(&viewer.who, &viewer.org, project, &address, from, to)
                .await?
                .into_iter()
                .map(|d| match d.kind {
                    DiffKind::Added => ("added", format!("+ {}", d.name)),
                    DiffKind::Removed => ("removed", format!("- {}", d.name)),
                    DiffKind::Changed => ("changed", format!("~ {}", d.name)),
                })
                .collect();
            Some(Diff { from, to, lines })
        }
        _ => None,
    };
    let versions = list
        .into_iter()
        .map(|v| VersionRow {
            current: v.version == current,
            number: v.version,
            at: hush_core::time::to_rfc3339(v.created_at),
            by: names.get(&v.created_by).cloned().unwrap_or(v.created_by),
            changed: v.changed_keys.join(", "),
        })
        .collect();
    Ok(html(&VersionsPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        project_slug: project.to_owned(),
        environments,
        env,
        current,
        versions,
        diff,
        notice,
        error: None,
    }))
}

pub(super) async fn versions(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    PathArgs(project): PathArgs<String>,
    Params(query): Params<VersionsQuery>,
) -> Result<Response, ServiceError> {
    versions_page(&app, &viewer, &project, query, None).await
}

#[derive(Debug, Deserialize)]
pub(super) struct RestoreForm {
    csrf: String,
    env: String,
    version: i64,
}

pub(super) async fn restore(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<RestoreForm>,
) -> Result<Response, ServiceError> {
    let restored = app
        .services
        .versions()
        .restore(
            &viewer.who,
            &viewer.org,
            &project,
            &ScopeAddress::environment(&form.env),
            form.version,
            None,
        )
        .await?;
    let query = VersionsQuery {
        env: Some(form.env),
        from: None,
        to: None,
    };
    let notice = format!(
        "Version {} restored as version {}.",
        form.version, restored.version
    );
    versions_page(&app, &viewer, &project, query, Some(notice)).await
}

super::change_forms!(ImportForm, CopyForm, RestoreForm);
