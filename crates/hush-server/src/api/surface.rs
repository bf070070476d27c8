//! API surfaces: each API hush serves is declared, not inferred.
//!
//! A surface (the native `/v1` API, each seed's wire API, later the
//! dashboard) is one module that declares here, next to its routes:
//! every route with its method, path template, audit action and how its
//! callers authenticate; the path prefixes it owns (for unknown paths);
//! and how its errors look ([`Surface::render`]). The [`RouteTable`] built
//! from those declarations is what shared middleware consults: the
//! [`classify`] layer finds the matched route's declaration and hands it
//! on as a [`RouteInfo`], and rate limiting, auditing and logging take the
//! surface and action from there. Nothing looks at a path string to guess
//! which surface a request belongs to.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::error::{ErrorParts, ServiceError};
use crate::AppState;

/// An API hush serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    /// The native API, `/v1/…`.
    Native,
    /// Hep.gg Secrets' pull endpoint (`shared/seeds/hepgg-secrets.txt`).
    HepGg,
    /// Hep.gg's dashboard API (same seed): projects, matrix, tokens.
    HepGgDashboard,
    /// The vault-env protocol (`shared/seeds/vault-env.txt`).
    VaultEnv,
    /// Vault's KV v2 secrets engine, `/v1/{mount}/…`.
    VaultKv,
    /// Hooklistener's organization secrets (`shared/seeds/hooklistener-secrets.txt`).
    Hooklistener,
    /// InsForge's organization secrets (`shared/seeds/insforge-secrets.txt`).
    InsForge,
    /// DotEnv's hierarchical levels (`shared/seeds/dotenv-cloud.txt`).
    Dotenv,
    /// The web dashboard's pages, `/dashboard…`.
    Dashboard,
}

impl Surface {
    /// Every surface.
    pub const ALL: [Surface; 9] = [
        Surface::Native,
        Surface::HepGg,
        Surface::HepGgDashboard,
        Surface::VaultEnv,
        Surface::VaultKv,
        Surface::Hooklistener,
        Surface::InsForge,
        Surface::Dotenv,
        Surface::Dashboard,
    ];

    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            Surface::Native => "native",
            Surface::HepGg => "hepgg",
            Surface::HepGgDashboard => "hepgg-dashboard",
            Surface::VaultEnv => "vaultenv",
            Surface::VaultKv => "vaultkv",
            Surface::Hooklistener => "hooklistener",
            Surface::InsForge => "insforge",
            Surface::Dotenv => "dotenv",
            Surface::Dashboard => "dashboard",
        }
    }

    /// The surface's declaration (its module's).
    pub fn declaration(self) -> &'static Declaration {
        match self {
            Surface::Native => &super::v1::DECLARATION,
            Surface::HepGg => &super::compat::hepgg::DECLARATION,
            Surface::HepGgDashboard => &super::compat::hepgg_dashboard::DECLARATION,
            Surface::VaultEnv => &super::compat::vaultenv::DECLARATION,
            Surface::VaultKv => &super::compat::vaultkv::DECLARATION,
            Surface::Hooklistener => &super::compat::hooklistener::DECLARATION,
            Surface::InsForge => &super::compat::insforge::DECLARATION,
            Surface::Dotenv => &super::compat::dotenv::DECLARATION,
            Surface::Dashboard => &super::dashboard::DECLARATION,
        }
    }

    /// `err` in this surface's error shape.
    pub fn render(self, err: ServiceError) -> Response {
        self.render_parts(err.parts())
    }

    /// An error in this surface's shape, with `Retry-After` where the
    /// client should retry.
    pub fn render_parts(self, parts: ErrorParts) -> Response {
        let retry = parts.retry_after;
        let mut response = match self {
            Surface::Native | Surface::Hooklistener => parts.native(),
            Surface::HepGg | Surface::HepGgDashboard => super::compat::hepgg::render(&parts),
            Surface::VaultEnv => super::compat::vaultenv::render(&parts),
            Surface::VaultKv => super::compat::vaultkv::render(&parts),
            Surface::InsForge => super::compat::insforge::render(&parts),
            Surface::Dotenv => super::compat::dotenv::render(&parts),
            Surface::Dashboard => super::dashboard::render(&parts),
        };
        if let Some(seconds) = retry {
            crate::error::retry_after(&mut response, seconds);
        }
        response
    }
}

/// How a route's caller proves who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// No credentials (liveness, login).
    None,
    /// A hush API token, or none where the operator opened the route to
    /// anyone (vault-env's `project/create`, `--vaultenv-open-registration`).
    TokenOrOpen,
    /// A hush API or session token (`Authorization: Bearer hush_…`).
    Token,
    /// Any hush token, pull tokens (`hsk_…`) included.
    AnyToken,
    /// A pull token as bearer or `?token=` (Hep.gg's pull).
    PullToken,
    /// A login session's cookie (changes also need its CSRF token and
    /// this server's origin), or a hush token as bearer (Hep.gg's
    /// dashboard API).
    Session,
    /// vault-env's HMAC signature over body and timestamp.
    Signature,
    /// Refused whatever is sent, with directions elsewhere (vault-env's
    /// device management, which hush keeps to its project admins).
    Refused,
}

/// One route of a surface.
#[derive(Debug)]
pub struct Route {
    /// Method.
    pub method: Method,
    /// Full path template, as axum matches it (e.g. `/v1/orgs/{org}`).
    pub path: &'static str,
    /// The audit log's name for what it does, e.g. `secret.write`.
    pub action: &'static str,
    /// How its caller authenticates.
    pub auth: Auth,
}

impl Route {
    /// A route declaration.
    pub const fn new(method: Method, path: &'static str, action: &'static str, auth: Auth) -> Self {
        Self {
            method,
            path,
            action,
            auth,
        }
    }
}

/// What a surface declares.
#[derive(Debug)]
pub struct Declaration {
    /// Which surface.
    pub surface: Surface,
    /// Path prefixes it owns: an unknown path under one of them is
    /// answered in this surface's shape (the longest prefix wins).
    pub prefixes: &'static [&'static str],
    /// Its routes.
    pub routes: &'static [Route],
}

/// The matched route's declaration, for middleware and handlers.
#[derive(Debug, Clone, Copy)]
pub struct RouteInfo {
    /// The surface answering.
    pub surface: Surface,
    /// The route, if this method is declared on the matched path.
    pub route: Option<&'static Route>,
}

impl RouteInfo {
    /// The audit action: the declared one, or a name that says what went
    /// wrong when the method is not declared on the path.
    pub fn action(&self) -> &'static str {
        self.route.map_or("method_not_allowed", |r| r.action)
    }
}

/// Every declared route of every surface, by method and path template.
#[derive(Debug)]
pub struct RouteTable {
    routes: HashMap<(Method, &'static str), (Surface, &'static Route)>,
    paths: HashMap<&'static str, Surface>,
    prefixes: Vec<(&'static str, Surface)>,
}

impl RouteTable {
    /// Builds the table; an error names a method and path declared twice.
    pub fn new() -> Result<Self, String> {
        let mut table = Self {
            routes: HashMap::new(),
            paths: HashMap::new(),
            prefixes: Vec::new(),
        };
        for surface in Surface::ALL {
            let declared = surface.declaration();
            for route in declared.routes {
                let key = (route.method.clone(), route.path);
                if let Some((other, _)) = table.routes.insert(key, (surface, route)) {
                    return Err(format!(
                        "{} {} is declared by both {} and {}",
                        route.method,
                        route.path,
                        other.name(),
                        surface.name()
                    ));
                }
                table.paths.entry(route.path).or_insert(surface);
            }
            for prefix in declared.prefixes {
                table.prefixes.push((prefix, surface));
            }
        }
        table
            .prefixes
            .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(table)
    }

    /// The declaration of a matched route.
    pub fn info(&self, method: &Method, template: &str) -> RouteInfo {
        match self.routes.get(&(method.clone(), template)) {
            Some((surface, route)) => RouteInfo {
                surface: *surface,
                route: Some(route),
            },
            None => RouteInfo {
                surface: self
                    .paths
                    .get(template)
                    .copied()
                    .unwrap_or_else(|| self.owner_of(template)),
                route: None,
            },
        }
    }

    /// The surface owning an unknown path: the longest declared prefix.
    pub fn owner_of(&self, path: &str) -> Surface {
        self.prefixes
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix))
            .map_or(Surface::Native, |(_, surface)| *surface)
    }

    /// Every declared route with its surface.
    pub fn routes(&self) -> impl Iterator<Item = (Surface, &'static Route)> + '_ {
        self.routes
            .values()
            .map(|(surface, route)| (*surface, *route))
    }

    /// Path segments an organization slug may not take: the fixed first
    /// segments of routes whose next segment could be an organization's
    /// (DotEnv's `/api/v1/{organization}/…`, Vault's `/v1/{mount}/…`).
    pub fn reserved_segments(&self) -> Vec<&'static str> {
        let mut reserved: Vec<&'static str> = self
            .routes
            .keys()
            .filter_map(|(_, path)| {
                let rest = path
                    .strip_prefix("/api/v1/")
                    .or_else(|| path.strip_prefix("/v1/"))?;
                let first = rest.split('/').next()?;
                (!first.starts_with('{')).then_some(first)
            })
            .collect();
        // The mount that stands for the default organization.
        reserved.push(crate::service::DEFAULT_MOUNT);
        reserved.sort_unstable();
        reserved.dedup();
        reserved
    }
}

impl RouteTable {
    /// Refuses an organization slug that is a fixed segment of a route
    /// where an organization's slug may also stand.
    pub fn check_org_slug(&self, slug: &str) -> Result<(), ServiceError> {
        let reserved = self.reserved_segments();
        if reserved.contains(&slug) {
            return Err(ServiceError::new(
                crate::error::ErrorCode::InvalidSlug,
                format!(
                    "{slug:?} cannot name an organization: it is a fixed path segment of \
                     hush's APIs (reserved: {})",
                    reserved.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

/// The outermost layer of every declared route: finds the matched route's
/// declaration and passes it on; renders every error the route answers
/// (from handlers, extractors and inner layers alike, which all answer
/// with a [`ServiceError`]) in the surface's own shape, and so a method
/// the path does not take too.
pub async fn classify(
    State(app): State<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let info = app.routes.info(request.method(), &template);
    let method = request.method().to_string();
    request.extensions_mut().insert(info);
    let mut response = next.run(request).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED && info.route.is_none() {
        let allow = response.headers().get(axum::http::header::ALLOW).cloned();
        response = info
            .surface
            .render(ServiceError::MethodNotAllowed { method });
        if let Some(allow) = allow {
            response
                .headers_mut()
                .insert(axum::http::header::ALLOW, allow);
        }
        response.extensions_mut().insert(info);
        return response;
    }
    let mut response = match response.extensions_mut().remove::<ErrorParts>() {
        Some(parts) if info.surface != Surface::Native => info.surface.render_parts(parts),
        _ => response,
    };
    // For the request log, which runs outside the routes.
    response.extensions_mut().insert(info);
    response
}

/// Unknown paths: `not_found` in the shape of the surface owning the
/// path's prefix, audited like any other request.
pub async fn fallback(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let surface = app.routes.owner_of(request.uri().path());
    let response = surface.render(ServiceError::new(
        crate::error::ErrorCode::NotFound,
        format!(
            "no such endpoint: {} {}; see the API table in the README",
            request.method(),
            request.uri().path()
        ),
    ));
    let entry = crate::audit::unrouted(&request, response.status());
    drop(request);
    if let Some(entry) = entry {
        if let Err(err) = app.services.store.append_audit(&[entry]).await {
            tracing::debug!(error = %err, surface = surface.name(), "cannot audit an unknown route");
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_no_route_twice_and_finds_owners() {
        let table = RouteTable::new().unwrap();
        assert_eq!(table.owner_of("/api/v1/project/nope"), Surface::VaultEnv);
        assert_eq!(table.owner_of("/v1/nope"), Surface::Native);
        let info = table.info(&Method::GET, "/api/v1/secrets/pull");
        assert_eq!(info.surface, Surface::HepGg);
        assert_eq!(info.action(), "secret.pull");
        let info = table.info(&Method::POST, "/api/v1/secrets/pull");
        assert_eq!(info.surface, Surface::VaultEnv);
        let reserved = table.reserved_segments();
        for segment in ["secrets", "project", "devices", "orgs", "login", "pull"] {
            assert!(reserved.contains(&segment), "{segment}: {reserved:?}");
            let err = table.check_org_slug(segment).unwrap_err().to_string();
            assert!(err.contains("fixed path segment"), "{err}");
        }
        assert!(table.check_org_slug("acme").is_ok());
    }
}
