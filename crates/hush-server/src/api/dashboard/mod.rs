//! The web dashboard, served by `hush serve` at `/dashboard` (with
//! `/dashboard/secrets`, as Hep.gg's seed names it): server-rendered pages
//! (askama templates, checked at compile time; no script, every asset
//! embedded) over the same services as every API.
//!
//! Signing in sets the browser session cookie (`auth::browser`); every
//! form carries the session's CSRF token and is refused from another
//! origin. Pages are sent with a strict Content-Security-Policy, no
//! framing, no referrer and no caching. Values are only ever in a page
//! the user asked to reveal (a POST, audited), never in a URL.
//!
//! Pages so far (issue 16): sign in and out; projects; a project's matrix
//! with cell editing and reveal; environments; import with a preview,
//! copy (`changes`); versions with a names-only diff and restore
//! (`changes`); pull tokens (`tokens`); organization secrets
//! (`org_secrets`); members (`members`); the audit log (`audit`).

use std::sync::Arc;

use crate::service::model::{ChildKind, EncryptionMode};
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
use crate::auth::{authenticate, browser, Principal};
use crate::error::{ErrorCode, ErrorParts, ServiceError};
use crate::service::CellState;
use crate::AppState;

mod audit;
mod changes;
mod members;
mod org_secrets;
mod tokens;

const LOGIN: &str = "/dashboard/login";
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
const AUDIT: &str = "/dashboard/audit";
const ORG_SECRETS: &str = "/dashboard/org-secrets";
const MEMBERS: &str = "/dashboard/members";
const MEMBER_REMOVE: &str = "/dashboard/members/remove";
const ORG_SECRET_ACTION: &str = "/dashboard/org-secrets/action";

/// The dashboard's pages and forms.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::Dashboard,
    prefixes: &["/dashboard"],
    routes: &[
        Route::new(Method::GET, LOGIN, "dashboard.login_page", Auth::None),
        Route::new(Method::POST, LOGIN, "auth.login", Auth::None),
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
        Route::new(Method::GET, AUDIT, "audit.read", Auth::Session),
        Route::new(Method::GET, ORG_SECRETS, "orgsecret.list", Auth::Session),
        Route::new(Method::GET, MEMBERS, "user.list", Auth::Session),
        Route::new(Method::POST, MEMBERS, "user.create", Auth::Session),
        Route::new(Method::POST, MEMBER_REMOVE, "user.remove", Auth::Session),
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
        .route(AUDIT, get(audit::page))
        .route(ORG_SECRETS, get(org_secrets::list).post(org_secrets::save))
        .route(MEMBERS, get(members::list).post(members::add))
        .route(MEMBER_REMOVE, post(members::remove))
        .route(ORG_SECRET_ACTION, post(org_secrets::act))
}

/// What is served outside the audited routes: `/dashboard` itself and the
/// embedded stylesheet.
pub fn static_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/dashboard", get(|| async { Redirect::to(PROJECTS) }))
        .route("/dashboard/assets/app.css", get(stylesheet))
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../../assets/dashboard.css"),
    )
        .into_response()
}

/// Headers on every dashboard answer: a strict Content-Security-Policy
/// (no inline script or style, forms to this origin only), no framing,
/// no referrer.
pub fn page_headers(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
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

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<AppState>) -> Result<Self, Response> {
        let session = browser::session_cookie(&parts.headers)
            .ok_or_else(|| SignIn.into_response())?
            .to_owned();
        let who = match authenticate(app, &session).await {
            Ok(who) if who.is_session() => who,
            _ => return Err(SignIn.into_response()),
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

async fn login_page() -> Response {
    html(&LoginPage {
        user: None,
        csrf: String::new(),
        email: String::new(),
        org: String::new(),
        error: None,
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
            let expires_at = record.expires_at.unwrap_or_else(crate::now_ms);
            let max_age = ((expires_at - crate::now_ms()) / 1000).max(0);
            let mut response = Redirect::to(PROJECTS).into_response();
            response.headers_mut().insert(
                header::SET_COOKIE,
                browser::set_cookie(secret.expose(), max_age, app.https),
            );
            response
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
}

async fn create_project(
    State(app): State<Arc<AppState>>,
    Change { viewer, form }: Change<NewProject>,
) -> Result<Response, ServiceError> {
    let created = app
        .services
        .projects()
        .create_named(
            &viewer.who,
            &viewer.org,
            &form.name,
            EncryptionMode::Server,
            None,
        )
        .await;
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
    rows: Vec<RowView>,
    revealed: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// What a project page shows besides the matrix.
#[derive(Default)]
struct Said {
    reveal: bool,
    notice: Option<String>,
    error: Option<String>,
}

async fn project_page(
    app: &AppState,
    viewer: &Viewer,
    slug: &str,
    said: Said,
) -> Result<Response, ServiceError> {
    let matrix = app
        .services
        .matrix()
        .read(&viewer.who, &viewer.org, slug, said.reveal)
        .await?;
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
        rows,
        revealed: said.reveal,
        notice: said.notice,
        error: said.error,
    };
    Ok(form_page(&page, failed))
}

async fn project(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    PathArgs(slug): PathArgs<String>,
) -> Result<Response, ServiceError> {
    project_page(&app, &viewer, &slug, Said::default()).await
}

async fn reveal(
    State(app): State<Arc<AppState>>,
    PathArgs(slug): PathArgs<String>,
    Change { viewer, .. }: Change<CsrfForm>,
) -> Result<Response, ServiceError> {
    let said = Said {
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
    result: Result<String, ServiceError>,
) -> Result<Response, ServiceError> {
    match result {
        Ok(notice) => {
            let said = Said {
                notice: Some(notice),
                ..Said::default()
            };
            project_page(app, viewer, slug, said).await
        }
        Err(err) if said_on_page(&err) => {
            let said = Said {
                error: Some(err.parts().message),
                ..Said::default()
            };
            project_page(app, viewer, slug, said).await
        }
        Err(err) => Err(err),
    }
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
    let result = app
        .services
        .projects()
        .create_child(
            &viewer.who,
            ChildKind::Environment,
            &viewer.org,
            &project,
            form.slug.trim(),
            None,
        )
        .await
        .map(|env| format!("Environment {} added.", env.slug));
    after_change(&app, &viewer, &project, result).await
}

#[derive(Debug, Deserialize)]
struct CellForm {
    csrf: String,
    name: String,
    env: String,
    value: String,
}

async fn set_cell(
    State(app): State<Arc<AppState>>,
    PathArgs(project): PathArgs<String>,
    Change { viewer, form }: Change<CellForm>,
) -> Result<Response, ServiceError> {
    let name = form.name.trim().to_owned();
    let result = app
        .services
        .matrix()
        .import(
            &viewer.who,
            &viewer.org,
            &project,
            &form.env,
            vec![(name.clone(), SecretString::new(form.value))],
            None,
        )
        .await
        .and_then(|report| match report.rejected.into_iter().next() {
            Some((_, why)) => Err(ServiceError::new(ErrorCode::InvalidName, why)),
            None => Ok(format!("{name} saved in {}.", form.env)),
        });
    after_change(&app, &viewer, &project, result).await
}

change_forms!(CsrfForm, NewProject, NewEnv, CellForm);
