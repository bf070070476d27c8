//! The web dashboard, served by `hush serve` at `/dashboard` (with
//! `/dashboard/secrets`, as Hep.gg's seed names it): server-rendered pages
//! (askama templates, checked at compile time; every asset embedded) over
//! the same services as every API. One small script (`assets/dashboard.js`)
//! enhances them, and does what only a browser may: end-to-end-encrypted
//! projects' keys and values, with WebCrypto.
//!
//! Signing in sets the browser session cookie (`auth::browser`), which
//! ends after [`browser::IDLE_MS`] unused; every form carries the
//! session's CSRF token and is refused from another origin. Pages are sent
//! with a strict Content-Security-Policy, no framing, no referrer and no
//! caching. Values are only ever in a page the user asked to reveal (a
//! POST, audited), never in a URL.
//!
//! Pages: first-run setup (`setup`); sign in and out; projects (server-side
//! or end-to-end encrypted); a project's matrix with cell editing and
//! reveal; import with a preview, copy, versions with a names-only diff and
//! restore (`changes`); pull tokens (`tokens`); a project's settings:
//! name, environments and targets, project roles, deletion (`settings`);
//! organization secrets (`org_secrets`); members (`members`); the audit
//! log (`audit`).

use std::sync::Arc;

use crate::service::model::{ChildKind, EncryptionMode, Project, TokenRecord};
use askama::Template;
use axum::extract::FromRequest;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use hush_core::SecretString;
use serde::Deserialize;

use crate::api::surface::{Auth, Declaration, Route, Surface};
use crate::api::PathArgs;
use crate::audit::AuditSlot;
use crate::auth::{browser, Principal};
use crate::error::{ErrorCode, ErrorParts, ServiceError};
use crate::service::{CellState, ScopeAddress};
use crate::AppState;

mod audit;
mod changes;
mod members;
mod org_secrets;
mod settings;
mod setup;
mod tokens;

const LOGIN: &str = "/dashboard/login";
const SETUP: &str = "/dashboard/setup";
const LOGOUT: &str = "/dashboard/logout";
const PROJECTS: &str = "/dashboard/secrets";
const PROJECT: &str = "/dashboard/secrets/{project}";
const ENVS: &str = "/dashboard/secrets/{project}/environments";
const CELL: &str = "/dashboard/secrets/{project}/cell";
const REVEAL: &str = "/dashboard/secrets/{project}/reveal";
const IMPORT: &str = "/dashboard/secrets/{project}/import";
const COPY: &str = "/dashboard/secrets/{project}/copy";
const VERSIONS: &str = "/dashboard/secrets/{project}/versions";
const RESTORE: &str = "/dashboard/secrets/{project}/versions/restore";
const TOKENS: &str = "/dashboard/secrets/{project}/tokens";
const TOKEN: &str = "/dashboard/secrets/{project}/tokens/{id}";
const SETTINGS: &str = "/dashboard/secrets/{project}/settings";
const RENAME: &str = "/dashboard/secrets/{project}/settings/rename";
const DELETE: &str = "/dashboard/secrets/{project}/settings/delete";
const REMOVE_CHILD: &str = "/dashboard/secrets/{project}/settings/remove";
const ROLES: &str = "/dashboard/secrets/{project}/settings/roles";
const TARGETS: &str = "/dashboard/secrets/{project}/targets";
const AUDIT: &str = "/dashboard/audit";
const ORG_SECRETS: &str = "/dashboard/org-secrets";
const MEMBERS: &str = "/dashboard/members";
const MEMBER_REMOVE: &str = "/dashboard/members/remove";
const MEMBER_ROLE: &str = "/dashboard/members/role";
const ORG_SECRET_ACTION: &str = "/dashboard/org-secrets/action";

/// The dashboard's pages and forms.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::Dashboard,
    prefixes: &["/dashboard"],
    routes: &[
        Route::new(Method::GET, LOGIN, "dashboard.login_page", Auth::None),
        Route::new(Method::POST, LOGIN, "auth.login", Auth::None),
        Route::new(Method::GET, SETUP, "dashboard.setup_page", Auth::None),
        Route::new(Method::POST, SETUP, "user.create", Auth::None),
        Route::new(Method::POST, LOGOUT, "auth.logout", Auth::Session),
        Route::new(Method::GET, PROJECTS, "project.list", Auth::Session),
        Route::new(Method::POST, PROJECTS, "project.create", Auth::Session),
        Route::new(Method::GET, PROJECT, "secret.matrix", Auth::Session),
        Route::new(Method::POST, ENVS, "environment.create", Auth::Session),
        Route::new(Method::POST, CELL, "secret.write", Auth::Session),
        Route::new(Method::POST, REVEAL, "secret.decrypt", Auth::Session),
        Route::new(Method::GET, IMPORT, "dashboard.import_page", Auth::Session),
        Route::new(Method::POST, IMPORT, "secret.import", Auth::Session),
        Route::new(Method::POST, COPY, "secret.copy", Auth::Session),
        Route::new(Method::GET, VERSIONS, "version.list", Auth::Session),
        Route::new(Method::POST, RESTORE, "version.restore", Auth::Session),
        Route::new(Method::GET, TOKENS, "token.list", Auth::Session),
        Route::new(Method::POST, TOKENS, "token.create", Auth::Session),
        Route::new(Method::POST, TOKEN, "token.update", Auth::Session),
        Route::new(Method::GET, SETTINGS, "project.read", Auth::Session),
        Route::new(Method::POST, RENAME, "project.rename", Auth::Session),
        Route::new(Method::POST, DELETE, "project.delete", Auth::Session),
        Route::new(Method::POST, TARGETS, "target.create", Auth::Session),
        Route::new(
            Method::POST,
            REMOVE_CHILD,
            "environment.delete",
            Auth::Session,
        ),
        Route::new(Method::POST, ROLES, "project.member.set", Auth::Session),
        Route::new(Method::GET, AUDIT, "audit.read", Auth::Session),
        Route::new(Method::GET, ORG_SECRETS, "orgsecret.list", Auth::Session),
        Route::new(Method::GET, MEMBERS, "user.list", Auth::Session),
        Route::new(Method::POST, MEMBERS, "user.create", Auth::Session),
        Route::new(Method::POST, MEMBER_REMOVE, "user.remove", Auth::Session),
        Route::new(Method::POST, MEMBER_ROLE, "user.role.set", Auth::Session),
        Route::new(Method::POST, ORG_SECRETS, "orgsecret.write", Auth::Session),
        Route::new(
            Method::POST,
            ORG_SECRET_ACTION,
            "orgsecret.update",
            Auth::Session,
        ),
    ],
};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(LOGIN, get(login_page).post(login))
        .route(SETUP, get(setup::page).post(setup::create_owner))
        .route(LOGOUT, post(logout))
        .route(PROJECTS, get(projects).post(create_project))
        .route(PROJECT, get(project))
        .route(ENVS, post(create_env))
        .route(CELL, post(set_cell))
        .route(REVEAL, post(reveal))
        .route(IMPORT, get(changes::import_form).post(changes::import))
        .route(COPY, post(changes::copy))
        .route(VERSIONS, get(changes::versions))
        .route(RESTORE, post(changes::restore))
        .route(TOKENS, get(tokens::list).post(tokens::create))
        .route(TOKEN, post(tokens::change))
        .route(SETTINGS, get(settings::show))
        .route(RENAME, post(settings::rename))
        .route(DELETE, post(settings::delete))
        .route(TARGETS, post(settings::add_target))
        .route(REMOVE_CHILD, post(settings::remove_child))
        .route(ROLES, post(settings::set_role))
        .route(AUDIT, get(audit::page))
        .route(ORG_SECRETS, get(org_secrets::list).post(org_secrets::save))
        .route(MEMBERS, get(members::list).post(members::add))
        .route(MEMBER_REMOVE, post(members::remove))
        .route(MEMBER_ROLE, post(members::set_role))
        .route(ORG_SECRET_ACTION, post(org_secrets::act))
}

/// What is served outside the audited routes: `/dashboard` itself and the
/// embedded stylesheet.
pub fn static_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/dashboard", get(|| async { Redirect::to(PROJECTS) }))
        .route("/dashboard/assets/app.css", get(stylesheet))
        .route("/dashboard/assets/app.js", get(script))
}

async fn stylesheet() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../../assets/dashboard.css"),
    )
}

async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../../assets/dashboard.js"),
    )
}

/// An embedded asset (no CDN: the dashboard works offline).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// Headers on every dashboard answer: a strict Content-Security-Policy
/// (script and style only from this server's embedded assets, nothing
/// inline, forms to this origin only), no framing, no referrer.
pub fn page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[derive(Template)]
#[template(path = "dashboard/error.html")]
struct ErrorPage<'a> {
    user: Option<String>,
    csrf: String,
    title: &'a str,
    message: &'a str,
}

/// An error as a page, with the status it stands for.
pub fn render(parts: &ErrorParts) -> Response {
    let status = parts.code.status();
    let title = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Sign in again",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let page = ErrorPage {
        user: None,
        csrf: String::new(),
        title,
        message: &parts.message,
    };
    let mut response = (status, html(&page)).into_response();
    page_headers(response.headers_mut());
    response
}

fn html<T: Template>(page: &T) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(err) => {
            tracing::error!(%err, "a dashboard template failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// A page with forms: 422 when it says what went wrong next to them.
fn form_page<T: Template>(page: &T, failed: bool) -> Response {
    let status = if failed {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (status, html(page)).into_response()
}

/// Whether a failed change was the request's doing, to be said next to
/// the form (anything else is an error page).
fn said_on_page(err: &ServiceError) -> bool {
    matches!(err.code().status().as_u16(), 403 | 404 | 409 | 422)
}

/// A signed-in browser: its session and who it is. Without one, a page
/// sends the browser to the sign-in form.
struct Viewer {
    who: Principal,
    session: String,
    /// The user's email, for the page header.
    name: String,
    /// The organization's slug.
    org: String,
}

/// Where a stranger goes.
struct SignIn;

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        Redirect::to(LOGIN).into_response()
    }
}

impl SignIn {
    /// To the sign-in form, saying why, the ended session's cookie cleared.
    fn after_idle(https: bool) -> Response {
        let mut response = Redirect::to(&format!("{LOGIN}?idle=1")).into_response();
        response
            .headers_mut()
            .insert(header::SET_COOKIE, browser::set_cookie("", 0, https));
        response
    }
}

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, Response> {
        let session = browser::session_cookie(&parts.headers)
            .ok_or_else(|| SignIn.into_response())?
            .to_owned();
        let who = match browser::cookie_session(app, &session).await {
            Ok(who) => who,
            Err(err) if err.code() == ErrorCode::SessionIdle => {
                return Err(SignIn::after_idle(app.https))
            }
            Err(_) => return Err(SignIn.into_response()),
        };
        let who = who.audited_by(parts.extensions.get::<AuditSlot>());
        let (name, org) = match app.services.users().identity(&who).await {
            Ok(identity) => (
                identity.user.map(|m| m.email).unwrap_or_default(),
                identity.org.slug,
            ),
            Err(err) => return Err(Surface::Dashboard.render(err)),
        };
        Ok(Viewer {
            who,
            session,
            name,
            org,
        })
    }
}

impl Viewer {
    fn csrf(&self) -> String {
        browser::csrf_token(&self.session)
    }
}

/// A form that changes something: it carries the session's CSRF token.
trait ChangeForm: serde::de::DeserializeOwned {
    fn csrf(&self) -> &str;
}

/// Declares forms whose `csrf` field is the CSRF token.
macro_rules! change_forms {
    ($($form:ty),* $(,)?) => {$(
        impl $crate::api::dashboard::ChangeForm for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    )*};
}
use change_forms;

/// A change a signed-in browser submits: who, and the form, once its CSRF
/// token and origin are checked (else an error page; nothing changes).
struct Change<T> {
    viewer: Viewer,
    form: T,
}

impl<T: ChangeForm> FromRequest<Arc<AppState>> for Change<T> {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        app: &Arc<AppState>,
    ) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, app).await?;
        let headers = parts.headers.clone();
        let req = axum::extract::Request::from_parts(parts, body);
        let Form(form) = Form::<T>::from_request(req, app).await?;
        browser::check_change(&headers, &viewer.session, Some(form.csrf()), app.https)
            .map_err(|err| Surface::Dashboard.render(err))?;
        Ok(Change { viewer, form })
    }
}

/// A submitted form; a malformed one is an error page like any other.
struct Form<T>(T);

impl<T: serde::de::DeserializeOwned> FromRequest<Arc<AppState>> for Form<T> {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        axum::Form::<T>::from_request(req, state)
            .await
            .map(|axum::Form(value)| Form(value))
            .map_err(|rejection| {
                Surface::Dashboard.render(ServiceError::new(
                    ErrorCode::InvalidBody,
                    format!("the form could not be read: {}", rejection.body_text()),
                ))
            })
    }
}

/// The slugs of a project's environments or targets, as the viewer sees them.
async fn child_slugs(
    app: &AppState,
    viewer: &Viewer,
    project: &str,
    kind: ChildKind,
) -> Result<Vec<String>, ServiceError> {
    Ok(app
        .services
        .projects()
        .children(&viewer.who, kind, &viewer.org, project)
        .await?
        .into_iter()
        .map(|c| c.slug)
        .collect())
}

// ---- sign in and out -----------------------------------------------------

#[derive(Template)]
#[template(path = "dashboard/login.html")]
struct LoginPage {
    user: Option<String>,
    csrf: String,
    email: String,
    org: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    #[serde(default)]
    idle: Option<String>,
}

async fn login_page(axum::extract::Query(query): axum::extract::Query<LoginQuery>) -> Response {
    let said = query
        .idle
        .map(|_| "You were signed out after 30 minutes without use. Sign in again.".to_owned());
    html(&LoginPage {
        user: None,
        csrf: String::new(),
        email: String::new(),
        org: String::new(),
        error: said,
    })
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    org: String,
}

async fn login(
    State(app): State<Arc<AppState>>,
    slot: Option<axum::Extension<AuditSlot>>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Form(form): Form<LoginForm>,
) -> Response {
    let org = match form.org.trim() {
        "" => crate::service::DEFAULT_ORG,
        org => org,
    };
    let password = SecretString::new(form.password);
    let result = app
        .services
        .users()
        .login(&form.email, &password, Some(org), &peer.ip().to_string())
        .await;
    match result {
        Ok((secret, record, user, _)) => {
            if let Some(axum::Extension(slot)) = slot {
                slot.identify(format!("user:{}", user.id), &record.org_id, None);
            }
            signed_in(&app, &secret, &record)
        }
        Err(err) => {
            app.metrics.login_failed();
            let status = err.code().status();
            let page = LoginPage {
                user: None,
                csrf: String::new(),
                email: form.email,
                org: form.org,
                error: Some(err.parts().message),
            };
            (status, html(&page)).into_response()
        }
    }
}

/// The answer to a successful sign-in: the session in its cookie, and on
/// to the projects.
fn signed_in(app: &AppState, secret: &SecretString, record: &TokenRecord) -> Response {
    let expires_at = record.expires_at.unwrap_or_else(crate::now_ms);
    let max_age = ((expires_at - crate::now_ms()) / 1000).max(0);
    let mut response = Redirect::to(PROJECTS).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        browser::set_cookie(secret.expose(), max_age, app.https),
    );
    response
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(app): State<Arc<AppState>>,
    Change { viewer, .. }: Change<CsrfForm>,
) -> Result<Response, ServiceError> {
    app.services.users().logout(&viewer.who).await?;
    let mut response = Redirect::to(LOGIN).into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, browser::set_cookie("", 0, app.https));
    Ok(response)
}

// ---- projects ------------------------------------------------------------

struct ProjectRow {
    slug: String,
    name: String,
    mode: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "dashboard/projects.html")]
struct ProjectsPage {
    user: Option<String>,
    csrf: String,
    projects: Vec<ProjectRow>,
    name: String,
    error: Option<String>,
}

async fn projects_page(
    app: &AppState,
    viewer: &Viewer,
    name: String,
    error: Option<String>,
) -> Result<ProjectsPage, ServiceError> {
    let projects = app
        .services
        .projects()
        .list(
            &viewer.who,
            &viewer.org,
            None,
            crate::service::Page::MAX_LIMIT,
        )
        .await?
        .into_iter()
        .filter(|p| p.slug != crate::service::ORG_SECRETS)
        .map(|p| ProjectRow {
            mode: match p.mode {
                EncryptionMode::Server => "server-side",
                EncryptionMode::Client => "end-to-end",
            },
            created: hush_core::time::to_rfc3339(p.created_at)
                .chars()
                .take(10)
                .collect(),
            slug: p.slug,
            name: p.name,
        })
        .collect();
    Ok(ProjectsPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        projects,
        name,
        error,
    })
}

async fn projects(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
) -> Result<Response, ServiceError> {
    Ok(html(
        &projects_page(&app, &viewer, String::new(), None).await?,
    ))
}

#[derive(Debug, Deserialize)]
struct NewProject {
    csrf: String,
    name: String,
    /// `server` (the default) or `e2ee`.
    #[serde(default)]
    mode: String,
    /// An end-to-end-encrypted project's `e2eeMeta` as JSON, made by the
    /// page's script from a passphrase the server never sees.
    #[serde(default)]
    e2ee_meta: String,
    #[serde(default)]
    key_proof: String,
}

impl NewProject {
    /// The encryption mode and key metadata the form asks for.
    fn encryption(&self) -> Result<(EncryptionMode, Option<E2eeKey>), ServiceError> {
        match self.mode.as_str() {
            "" | "server" => Ok((EncryptionMode::Server, None)),
            "e2ee" if self.e2ee_meta.trim().is_empty() => Err(ServiceError::new(
                ErrorCode::InvalidE2eeMeta,
                "end-to-end encryption happens in your browser, and this page's script did not \
                 run: allow JavaScript for this server, or create the project with \
                 `hush projects create --e2ee`",
            )),
            "e2ee" => {
                let meta: hush_proto::E2eeMeta =
                    serde_json::from_str(&self.e2ee_meta).map_err(|err| {
                        ServiceError::new(
                            ErrorCode::InvalidE2eeMeta,
                            format!("the page sent key metadata hush cannot read: {err}"),
                        )
                    })?;
                let proof = Some(self.key_proof.trim().to_owned()).filter(|p| !p.is_empty());
                Ok((
                    EncryptionMode::Client,
                    Some((crate::api::v1::convert::meta_in(meta), proof)),
                ))
            }
            other => Err(ServiceError::new(
                ErrorCode::InvalidBody,
                format!("encryption is server or e2ee, not {other:?}"),
            )),
        }
    }
}

/// An end-to-end-encrypted project's key metadata and key proof.
type E2eeKey = (hush_core::e2ee::Meta, Option<String>);

async fn create_project(
    State(app): State<Arc<AppState>>,
    Change { viewer, form }: Change<NewProject>,
) -> Result<Response, ServiceError> {
    let created = match form.encryption() {
        Ok((mode, key)) => {
            app.services
                .projects()
                .create_named(&viewer.who, &viewer.org, &form.name, mode, key)
                .await
        }
        Err(err) => Err(err),
    };
    match created {
        Ok(project) => Ok(Redirect::to(&format!("{PROJECTS}/{}", project.slug)).into_response()),
        // Said next to the field, the form kept.
        Err(err) if said_on_page(&err) => {
            let status = err.code().status();
            let page = projects_page(&app, &viewer, form.name, Some(err.parts().message)).await?;
            Ok((status, html(&page)).into_response())
        }
        Err(err) => Err(err),
    }
}

// ---- one project ---------------------------------------------------------

struct CellView {
    state: &'static str,
    label: &'static str,
    value: Option<String>,
}

struct RowView {
    name: String,
    cells: Vec<CellView>,
}

#[derive(Template)]
#[template(path = "dashboard/project.html")]
struct ProjectPage {
    user: Option<String>,
    csrf: String,
    project_name: String,
    project_slug: String,
    environments: Vec<String>,
    /// The project's targets, each with a grid of its own.
    targets: Vec<String>,
    /// The target whose grid this is (`None`: the project's).
    target: Option<String>,
    rows: Vec<RowView>,
    revealed: bool,
    /// Set for an end-to-end-encrypted project: its cells' values are
    /// ciphertext, for the script.
    e2ee_meta: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// Which grid a project page shows, and what it says besides.
#[derive(Default)]
struct Said {
    /// A target's grid instead of the project's.
    target: Option<String>,
    reveal: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// An end-to-end-encrypted project's key metadata as its pages carry it
/// for the script (the seed's `e2eeMeta`, JSON): public, useless without
/// the passphrase or recovery key.
async fn e2ee_meta_json(app: &AppState, project: &Project) -> Result<Option<String>, ServiceError> {
    let meta = app.services.e2ee().meta_of(project).await?;
    Ok(meta.map(|meta| {
        serde_json::to_string(&crate::api::v1::convert::meta_out(meta)).unwrap_or_default()
    }))
}

async fn project_page(
    app: &AppState,
    viewer: &Viewer,
    slug: &str,
    said: Said,
) -> Result<Response, ServiceError> {
    let (_, project) = app.services.project(&viewer.who, &viewer.org, slug).await?;
    let e2ee_meta = e2ee_meta_json(app, &project).await?;
    // An end-to-end-encrypted project's cells always carry their
    // ciphertext: only the page's script, unlocked, can read it.
    let reveal = said.reveal || e2ee_meta.is_some();
    let matrix = app
        .services
        .matrix()
        .read(
            &viewer.who,
            &viewer.org,
            slug,
            said.target.as_deref(),
            reveal,
        )
        .await?;
    let targets = child_slugs(app, viewer, slug, ChildKind::Target).await?;
    let rows = matrix
        .rows
        .into_iter()
        .map(|(name, cells)| RowView {
            name,
            cells: cells
                .into_iter()
                .map(|cell| CellView {
                    state: cell.state.as_str(),
                    label: match cell.state {
                        CellState::Set => "set",
                        CellState::Inherited => "inherited",
                        CellState::Missing => "—",
                    },
                    value: cell.value.map(|v| v.expose().to_owned()),
                })
                .collect(),
        })
        .collect();
    let failed = said.error.is_some();
    let page = ProjectPage {
        user: Some(viewer.name.clone()),
        csrf: viewer.csrf(),
        project_name: matrix.project.name,
        project_slug: matrix.project.slug,
        environments: matrix.environments.into_iter().map(|e| e.slug).collect(),
        targets,
        target: matrix.target,
        rows,
        revealed: said.reveal,
        e2ee_meta,
        notice: said.notice,
        error: said.error,
    };
    Ok(form_page(&page, failed))
}

/// `?target=`: a target's grid.
#[derive(Debug, Deserialize)]
struct GridQuery {
    #[serde(default)]
    target: String,
}

/// A target slug from a form or query (empty: none).
fn target_of(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn project(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    PathArgs(slug): PathArgs<String>,
    axum::extract::Query(query): axum::extract::Query<GridQuery>,
) -> Result<Response, ServiceError> {
    let said = Said {
        target: target_of(&query.target),
        ..Said::default()
    };
    project_page(&app, &viewer, &slug, said).await
}

#[derive(Debug, Deserialize)]
struct RevealForm {
    csrf: String,
    #[serde(default)]
    target: String,
}

async fn reveal(
    State(app): State<Arc<AppState>>,
    PathArgs(slug): PathArgs<String>,
    Change { viewer, form }: Change<RevealForm>,
) -> Result<Response, ServiceError> {
    let said = Said {
        target: target_of(&form.target),
        reveal: true,
        ..Said::default()
    };
    project_page(&app, &viewer, &slug, said).await
}

/// A change's outcome as the project page says it: a client error next to
/// the forms, anything else as an error page.
async fn after_change(
    app: &AppState,
    viewer: &Viewer,
    slug: &str,
    target: Option<String>,
    result: Result<String, ServiceError>,
) -> Result<Response, ServiceError> {
    let said = match result {
        Ok(notice) => Said {
            target,
            notice: Some(notice),
            ..Said::default()
        },
        Err(err) if said_on_page(&err) => Said {
            target,
            error: Some(err.parts().message),
            ..Said::default()
        },
        Err(err) => return Err(err),
    };
    project_page(app, viewer, slug, said).await
}

#[derive(Debug, Deserialize)]
struct NewEnv {
    csrf: String,
    slug: String,
}

async fn create_env(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<NewEnv>,
) -> Result<Response, ServiceError> {
    let result = add_child(&app, &viewer, &project, ChildKind::Environment, &form.slug).await;
    after_change(&app, &viewer, &project, None, result).await
}

/// Adds an environment or a target; what the page then says.
async fn add_child(
    app: &AppState,
    viewer: &Viewer,
    project: &str,
    kind: ChildKind,
    slug: &str,
) -> Result<String, ServiceError> {
    let child = app
        .services
        .projects()
        .create_child(&viewer.who, kind, &viewer.org, project, slug.trim(), None)
        .await?;
    let noun = match kind {
        ChildKind::Environment => "Environment",
        ChildKind::Target => "Target",
    };
    Ok(format!("{noun} {} added.", child.slug))
}

#[derive(Debug, Deserialize)]
struct CellForm {
    csrf: String,
    name: String,
    env: String,
    value: String,
    /// With an end-to-end-encrypted project's ciphertext, from the script.
    #[serde(default)]
    key_proof: String,
    /// The target whose grid the form is on (empty: none).
    #[serde(default)]
    target: String,
}

async fn set_cell(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<CellForm>,
) -> Result<Response, ServiceError> {
    let name = form.name.trim().to_owned();
    // No environment: the grid's top level (the project's or the
    // target's), which every environment without its own value inherits.
    let address = ScopeAddress {
        target: target_of(&form.target),
        env: target_of(&form.env),
    };
    let saved = match (&address.env, &address.target) {
        (Some(env), None) => format!("{name} saved in {env}."),
        (Some(env), Some(target)) => format!("{name} saved in {env} of target {target}."),
        (None, None) => format!(
            "{name} saved at the project level: every environment without its own value inherits it."
        ),
        (None, Some(target)) => format!(
            "{name} saved at the level of target {target}: its environments without their own value inherit it."
        ),
    };
    let result = app
        .services
        .matrix()
        .import(
            &viewer.who,
            &viewer.org,
            &project,
            &address,
            vec![(name, SecretString::new(form.value))],
            Some(form.key_proof.trim()).filter(|p| !p.is_empty()),
        )
        .await
        .and_then(|report| match report.rejected.into_iter().next() {
            Some((_, why)) => Err(ServiceError::new(ErrorCode::InvalidName, why)),
            None => Ok(saved),
        });
    after_change(&app, &viewer, &project, address.target, result).await
}

change_forms!(CsrfForm, RevealForm, NewProject, NewEnv, CellForm);
