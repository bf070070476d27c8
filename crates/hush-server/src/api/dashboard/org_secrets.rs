//! The organization's secrets: metadata, add or change, reveal (audited),
//! activate, deactivate, delete (not reserved ones), expiry.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use hush_core::SecretString;
use serde::Deserialize;

use super::{form_page, said_on_page, Change, Viewer};
use crate::error::{ErrorCode, ServiceError};
use crate::service::{NewOrgSecret, OrgSecretUpdate, Which};
use crate::AppState;

pub(super) struct Row {
    name: String,
    active: bool,
    reserved: bool,
    state: &'static str,
    expires: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "dashboard/org_secrets.html")]
struct OrgSecretsPage {
    user: Option<String>,
    csrf: String,
    secrets: Vec<Row>,
    revealed: Option<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

/// What the page says besides the list.
#[derive(Default)]
struct Said {
    revealed: Option<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

fn day(ms: i64) -> String {
    hush_core::time::to_rfc3339(ms).chars().take(10).collect()
}

async fn page(app: &AppState, viewer: &Viewer, said: Said) -> Result<Response, ServiceError> {
    let now = crate::now_ms();
    let secrets = app
        .services
        .org_secrets()
        .list(&viewer.who, &viewer.org)
        .await?
        .into_iter()
        .map(|s| Row {
            state: if s.expired(now) {
                "expired"
            } else if s.is_active {
                "active"
            } else {
                "inactive"
            },
            expires: s.expires_at.map_or_else(|| "never".to_owned(), day),
            last_used: s.last_used_at.map_or_else(|| "never".to_owned(), day),
            active: s.is_active,
            reserved: s.is_reserved,
            name: s.name,
        })
        .collect();
    let failed = said.error.is_some();
    let page = OrgSecretsPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        secrets,
        revealed: said.revealed,
        notice: said.notice,
        error: said.error,
    };
    Ok(form_page(&page, failed))
}

pub(super) async fn list(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Response, ServiceError> {
    page(&app, &viewer, Said::default()).await
}

/// A change's outcome: said next to the form when the request was at
/// fault, an error page otherwise.
async fn after(
    app: &AppState,
    viewer: &Viewer,
    result: Result<Said, ServiceError>,
) -> Result<Response, ServiceError> {
    match result {
        Ok(said) => page(app, viewer, said).await,
        Err(err) if said_on_page(&err) => {
            let said = Said {
                error: Some(err.parts().message),
                ..Said::default()
            };
            page(app, viewer, said).await
        }
        Err(err) => Err(err),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct SaveForm {
    csrf: String,
    name: String,
    value: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    reserved: Option<String>,
}

pub(super) async fn save(
    State(app): State<Arc<AppState>>,
    Change { viewer, form }: Change<SaveForm>,
) -> Result<Response, ServiceError> {
    let secrets = app.services.org_secrets();
    let name = form.name.trim().to_owned();
    let result = async {
        let expires_at = match form.expires.trim() {
            "" => None,
            text => Some(
                hush_core::time::parse_when(text, crate::now_ms()).ok_or_else(|| {
                    ServiceError::new(
                        ErrorCode::InvalidTime,
                        "expires is a date (2027-01-31) or a duration (30d)",
                    )
                })?,
            ),
        };
        let value = SecretString::new(form.value);
        let exists = secrets
            .get(&viewer.who, &viewer.org, Which::Name(&name))
            .await
            .is_ok();
        if exists {
            let update = OrgSecretUpdate {
                value: Some(value),
                is_reserved: Some(form.reserved.is_some()),
                expires_at: Some(expires_at),
                ..OrgSecretUpdate::default()
            };
            secrets
                .update(&viewer.who, &viewer.org, Which::Name(&name), update)
                .await?;
            Ok(format!("{name} changed."))
        } else {
            let new = NewOrgSecret {
                name: name.clone(),
                value,
                is_reserved: form.reserved.is_some(),
                expires_at,
                reactivate: true,
            };
            secrets.create(&viewer.who, &viewer.org, new).await?;
            Ok(format!("{name} added."))
        }
    }
    .await
    .map(|notice: String| Said {
        notice: Some(notice),
        ..Said::default()
    });
    after(&app, &viewer, result).await
}

#[derive(Debug, Deserialize)]
pub(super) struct ActionForm {
    csrf: String,
    name: String,
    action: String,
}

pub(super) async fn act(
    State(app): State<Arc<AppState>>,
    Change { viewer, form }: Change<ActionForm>,
) -> Result<Response, ServiceError> {
    let secrets = app.services.org_secrets();
    let which = Which::Name(&form.name);
    let (who, org) = (&viewer.who, viewer.org.as_str());
    let said = |notice: String| Said {
        notice: Some(notice),
        ..Said::default()
    };
    let result = match form.action.as_str() {
        "reveal" => {
            who.audit_action("orgsecret.read");
            secrets.value(who, org, which).await.map(|(s, v)| Said {
                revealed: Some((s.name, v.expose().to_owned())),
                ..Said::default()
            })
        }
        "deactivate" => secrets
            .deactivate(who, org, which)
            .await
            .map(|s| said(format!("{} deactivated.", s.name))),
        "activate" => {
            let update = OrgSecretUpdate {
                is_active: Some(true),
                ..OrgSecretUpdate::default()
            };
            secrets
                .update(who, org, which, update)
                .await
                .map(|s| said(format!("{} activated.", s.name)))
        }
        "delete" => secrets
            .remove(who, org, which)
            .await
            .map(|s| said(format!("{} deleted.", s.name))),
        other => Err(ServiceError::new(
            ErrorCode::InvalidBody,
            format!("reveal, activate, deactivate or delete, not {other:?}"),
        )),
    };
    after(&app, &viewer, result).await
}

super::change_forms!(SaveForm, ActionForm);
