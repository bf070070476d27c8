//! First-run setup: the one-time token the first `hush serve` printed
//! becomes the organization's owner, with a password, and the browser is
//! signed in. After that the page only says that setup is done.

use std::sync::Arc;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use hush_core::SecretString;
use serde::Deserialize;

use super::{form_page, html, signed_in, Form};
use crate::audit::AuditSlot;
use crate::auth::authenticate;
use crate::error::{ErrorCode, ServiceError};
use crate::AppState;

/// What went wrong, by the field it is said next to.
#[derive(Default)]
struct FieldErrors {
    token: Option<String>,
    email: Option<String>,
    password: Option<String>,
}

impl FieldErrors {
    fn of(err: &ServiceError) -> Self {
        let message = Some(err.parts().message);
        match err.code() {
            ErrorCode::InvalidEmail => FieldErrors {
                email: message,
                ..Self::default()
            },
            ErrorCode::WeakPassword | ErrorCode::InvalidText => FieldErrors {
                password: message,
                ..Self::default()
            },
            _ => FieldErrors {
                token: message,
                ..Self::default()
            },
        }
    }
}

#[derive(Template)]
#[template(path = "dashboard/setup.html")]
struct SetupPage {
    user: Option<String>,
    csrf: String,
    email: String,
    errors: FieldErrors,
}

pub(super) async fn page() -> Response {
    html(&SetupPage {
        user: None,
        csrf: String::new(),
        email: String::new(),
        errors: FieldErrors::default(),
    })
}

#[derive(Debug, Deserialize)]
pub(super) struct SetupForm {
    token: String,
    email: String,
    password: String,
    password2: String,
}

pub(super) async fn create_owner(
    State(app): State<Arc<AppState>>,
    slot: Option<axum::Extension<AuditSlot>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Form(form): Form<SetupForm>,
) -> Result<Response, ServiceError> {
    let slot = slot.map(|axum::Extension(slot)| slot);
    let password = SecretString::new(form.password);
    let result = setup(
        &app,
        slot.as_ref(),
        form.token.trim(),
        &form.email,
        &password,
        &form.password2,
    )
    .await;
    match result {
        Ok(org) => {
            let (secret, record, user, _) = app
                .services
                .users()
                .login(&form.email, &password, Some(&org), &peer.ip().to_string())
                .await?;
            if let Some(slot) = &slot {
                slot.identify(format!("user:{}", user.id), &record.org_id, None);
            }
            Ok(signed_in(&app, &secret, &record))
        }
        Err(err) if err.code().status().is_client_error() => {
            let page = SetupPage {
                user: None,
                csrf: String::new(),
                email: form.email,
                errors: FieldErrors::of(&err),
            };
            Ok(form_page(&page, true))
        }
        Err(err) => Err(err),
    }
}

/// Makes the owner; returns the organization's slug to sign in to.
async fn setup(
    app: &AppState,
    slot: Option<&AuditSlot>,
    token: &str,
    email: &str,
    password: &SecretString,
    again: &str,
) -> Result<String, ServiceError> {
    let who = authenticate(app, token).await.map_err(|_| {
        ServiceError::new(
            ErrorCode::InvalidToken,
            "that is not the token the first hush serve printed (or it was already used)",
        )
    })?;
    let who = who.audited_by(slot);
    if password.expose() != again {
        return Err(ServiceError::new(
            ErrorCode::WeakPassword,
            "the two passwords differ",
        ));
    }
    let users = app.services.users();
    let org = users.identity(&who).await?.org.slug;
    users.first_owner(&who, email, password.duplicate()).await?;
    Ok(org)
}
