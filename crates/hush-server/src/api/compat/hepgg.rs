//! Hep.gg Secrets (`shared/seeds/hepgg-secrets.txt`): the pull endpoint.
//!
//! `GET /api/v1/secrets/pull?env=&keys=` with `Authorization: Bearer hsk_…`
//! or `?token=hsk_…`, answering
//! `{"ok":true,"data":{"env":…,"e2ee":…,"secrets":{…}}}`. Errors use the
//! seed's codes: 401 `NO_TOKEN` / `BAD_TOKEN`, 400 without `?env=` for a
//! project-wide token, 404 for an unknown environment.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::routing::MethodRouter;
use axum::{Extension, Json};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::json;

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::Params;
use crate::audit::AuditSlot;
use crate::auth::{authenticate, bearer};
use crate::error::{ErrorCode, ErrorParts, ServiceError};
use crate::service::{PullRequest, Pulled};
use crate::AppState;

/// Hep.gg's pull: one route.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::HepGg,
    prefixes: &["/api/v1/secrets/pull"],
    routes: &[Route::new(
        Method::GET,
        "/api/v1/secrets/pull",
        "secret.pull",
        Auth::PullToken,
    )],
};

#[derive(Debug, Deserialize)]
struct PullQuery {
    env: Option<String>,
    keys: Option<String>,
    token: Option<String>,
}

/// `GET /api/v1/secrets/pull` (the path is shared with vault-env's POST).
pub fn pull_route() -> MethodRouter<Arc<AppState>> {
    get(pull)
}

/// An error in the seed's shape: `{"ok":false,"error":"CODE","message"}`
/// with the seed's codes where it names them (`NO_TOKEN`, `BAD_TOKEN`,
/// `RATE_LIMITED`) and hush's code in upper case otherwise.
pub fn render(parts: &ErrorParts) -> Response {
    let hep_code = match parts.code {
        ErrorCode::MissingToken => "NO_TOKEN".to_owned(),
        code if code.status() == axum::http::StatusCode::UNAUTHORIZED => "BAD_TOKEN".to_owned(),
        ErrorCode::RateLimited => "RATE_LIMITED".to_owned(),
        code => code.as_str().to_ascii_uppercase(),
    };
    let body = json!({ "ok": false, "error": hep_code, "message": parts.message });
    (parts.code.status(), Json(body)).into_response()
}

async fn pull(
    State(app): State<Arc<AppState>>,
    Params(query): Params<PullQuery>,
    headers: HeaderMap,
    slot: Option<Extension<AuditSlot>>,
) -> Result<Response, ServiceError> {
    let token = bearer(&headers)
        .map(str::to_owned)
        .or(query.token)
        .ok_or_else(|| {
            ServiceError::new(
                ErrorCode::MissingToken,
                "send Authorization: Bearer hsk_… or ?token=hsk_…",
            )
        })?;
    let who = authenticate(&app, &token)
        .await?
        .audited_by(slot.as_ref().map(|Extension(slot)| slot));
    let keys: Option<Vec<String>> = query.keys.map(|k| {
        k.split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    });
    if !who.is_pull_token() {
        return Err(ServiceError::new(
            ErrorCode::InvalidToken,
            "this endpoint takes a read-only pull token (hsk_…)",
        ));
    }
    let request = PullRequest {
        address: crate::service::ScopeAddress {
            env: query.env,
            target: None,
        },
        keys,
        ..PullRequest::default()
    };
    let pulled = app.services.pulls().pull(&who, request).await?;
    Ok(Json(PullBody {
        ok: true,
        data: PullData {
            env: pulled.env.as_deref().unwrap_or_default(),
            e2ee: pulled.e2ee,
            e2ee_meta: pulled.meta.as_ref().map(|m| E2eeMetaOut {
                iterations: m.iterations,
                salt_pass: &m.salt_pass,
                wrapped_dek_pass: &m.wrapped_dek_pass,
                salt_rec: &m.salt_rec,
                wrapped_dek_rec: &m.wrapped_dek_rec,
                verifier: &m.verifier,
            }),
            secrets: Secrets(&pulled),
        },
    })
    .into_response())
}

/// `{"ok":true,"data":{"env","e2ee","secrets":{…}}}`, serialized straight
/// from the cached view (no per-value copies).
#[derive(Serialize)]
struct PullBody<'a> {
    ok: bool,
    data: PullData<'a>,
}

#[derive(Serialize)]
struct PullData<'a> {
    env: &'a str,
    e2ee: bool,
    #[serde(rename = "e2eeMeta", skip_serializing_if = "Option::is_none")]
    e2ee_meta: Option<E2eeMetaOut<'a>>,
    secrets: Secrets<'a>,
}

/// The seed's `e2eeMeta` object.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct E2eeMetaOut<'a> {
    iterations: u32,
    salt_pass: &'a str,
    wrapped_dek_pass: &'a str,
    salt_rec: &'a str,
    wrapped_dek_rec: &'a str,
    verifier: &'a str,
}

struct Secrets<'a>(&'a Pulled);

impl Serialize for Secrets<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.0.secrets() {
            map.serialize_entry(name, value.expose())?;
        }
        map.end()
    }
}
