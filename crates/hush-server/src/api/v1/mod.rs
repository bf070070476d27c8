//! The native API, `/v1/…`. Handlers are thin: parse, call a service,
//! convert. Secrets address their scope with `?env=` and `?target=`
//! (neither: project level).

mod audit;
pub(crate) mod convert;
mod devices;
pub mod doc;
mod org_secrets;
mod projects;
mod pull;
mod secrets;
mod tokens;
mod transfer;
mod users;
mod versions;

use std::sync::Arc;

use axum::http::Method;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::surface::{Auth, Declaration, Route, Surface};
use crate::service::ScopeAddress;
use crate::AppState;

macro_rules! native {
    ($($method:ident $path:expr => $action:literal, $auth:ident;)*) => {
        &[$(Route::new(Method::$method, $path, $action, Auth::$auth)),*]
    };
}

/// The native API: every route, its audit action and how it authenticates
/// (handlers are registered with their OpenAPI description in [`routes`]).
/// Reads that reveal values name the action `…decrypt` themselves.
pub static DECLARATION: Declaration = Declaration {
    surface: Surface::Native,
    prefixes: &["/v1/"],
    routes: native! {
        GET "/v1/orgs" => "org.list", Token;
        POST "/v1/orgs" => "org.create", Token;
        DELETE "/v1/orgs/{org}" => "org.delete", Token;
        GET "/v1/orgs/{org}" => "org.read", Token;
        PATCH "/v1/orgs/{org}" => "org.policy", Token;
        GET "/v1/orgs/{org}/projects" => "project.list", Token;
        POST "/v1/orgs/{org}/projects" => "project.create", Token;
        GET "/v1/orgs/{org}/projects/{project}" => "project.read", Token;
        DELETE "/v1/orgs/{org}/projects/{project}" => "project.delete", Token;
        GET "/v1/orgs/{org}/projects/{project}/e2ee" => "project.e2ee.read", Token;
        PUT "/v1/orgs/{org}/projects/{project}/e2ee" => "project.e2ee.rewrap", Token;
        GET "/v1/orgs/{org}/projects/{project}/environments" => "environment.list", Token;
        POST "/v1/orgs/{org}/projects/{project}/environments" => "environment.create", Token;
        DELETE "/v1/orgs/{org}/projects/{project}/environments/{slug}" => "environment.delete", Token;
        GET "/v1/orgs/{org}/projects/{project}/targets" => "target.list", Token;
        POST "/v1/orgs/{org}/projects/{project}/targets" => "target.create", Token;
        DELETE "/v1/orgs/{org}/projects/{project}/targets/{slug}" => "target.delete", Token;
        GET "/v1/orgs/{org}/projects/{project}/secrets" => "secret.read", Token;
        POST "/v1/orgs/{org}/projects/{project}/secrets" => "secret.write", Token;
        GET "/v1/orgs/{org}/projects/{project}/secrets/{name}" => "secret.read", Token;
        PUT "/v1/orgs/{org}/projects/{project}/secrets/{name}" => "secret.write", Token;
        DELETE "/v1/orgs/{org}/projects/{project}/secrets/{name}" => "secret.delete", Token;
        GET "/v1/orgs/{org}/projects/{project}/revision" => "secret.revision", AnyToken;
        GET "/v1/orgs/{org}/projects/{project}/pull" => "secret.pull", AnyToken;
        GET "/v1/pull" => "secret.pull", AnyToken;
        GET "/v1/pull/revision" => "secret.revision", AnyToken;
        POST "/v1/orgs/{org}/projects/{project}/copy" => "secret.copy", Token;
        POST "/v1/orgs/{org}/projects/{project}/import" => "secret.import", Token;
        GET "/v1/orgs/{org}/projects/{project}/export" => "secret.export", Token;
        GET "/v1/orgs/{org}/projects/{project}/versions" => "version.list", Token;
        GET "/v1/orgs/{org}/projects/{project}/versions/{version}" => "version.read", Token;
        DELETE "/v1/orgs/{org}/projects/{project}/versions/{version}" => "version.delete", Token;
        POST "/v1/orgs/{org}/projects/{project}/versions/{version}/restore" => "version.restore", Token;
        POST "/v1/orgs/{org}/projects/{project}/versions/{version}/soft-delete" => "version.soft_delete", Token;
        POST "/v1/orgs/{org}/projects/{project}/versions/{version}/undelete" => "version.undelete", Token;
        POST "/v1/orgs/{org}/projects/{project}/versions/{version}/destroy" => "version.destroy", Token;
        POST "/v1/orgs/{org}/projects/{project}/versions/purge" => "version.purge", Token;
        GET "/v1/orgs/{org}/projects/{project}/diff" => "version.diff", Token;
        GET "/v1/orgs/{org}/tokens" => "token.list", Token;
        POST "/v1/orgs/{org}/tokens" => "token.create", Token;
        DELETE "/v1/orgs/{org}/tokens/{id}" => "token.revoke", Token;
        GET "/v1/orgs/{org}/users" => "user.list", Token;
        POST "/v1/orgs/{org}/users" => "user.create", Token;
        DELETE "/v1/orgs/{org}/users/{user}" => "user.remove", Token;
        PUT "/v1/orgs/{org}/users/{user}/role" => "user.role.set", Token;
        PUT "/v1/orgs/{org}/users/{user}/password" => "user.password.reset", Token;
        PUT "/v1/password" => "user.password.change", Token;
        POST "/v1/login" => "auth.login", None;
        POST "/v1/logout" => "auth.logout", Token;
        GET "/v1/whoami" => "auth.whoami", AnyToken;
        GET "/v1/orgs/{org}/projects/{project}/members" => "project.member.list", Token;
        PUT "/v1/orgs/{org}/projects/{project}/members/{user}" => "project.member.set", Token;
        DELETE "/v1/orgs/{org}/projects/{project}/members/{user}" => "project.member.remove", Token;
        GET "/v1/orgs/{org}/projects/{project}/devices" => "device.list", Token;
        POST "/v1/orgs/{org}/projects/{project}/devices/{id}/approve" => "device.approve", Token;
        POST "/v1/orgs/{org}/projects/{project}/devices/{id}/revoke" => "device.revoke", Token;
        PUT "/v1/orgs/{org}/projects/{project}/vaultenv-key" => "vaultenv.key.rotate", Token;
        POST "/v1/orgs/{org}/insforge/tokens" => "insforge.token.issue", Token;
        POST "/v1/orgs/{org}/insforge/rotate-key" => "insforge.key.rotate", Token;
        GET "/v1/orgs/{org}/audit" => "audit.read", Token;
        GET "/v1/orgs/{org}/audit/verify" => "audit.verify", Token;
    },
};

/// Every `/v1` route with its OpenAPI description (paths relative to
/// `/v1`). Handlers listed in one `routes!` share a path.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(projects::list_orgs, projects::create_org))
        .routes(routes!(
            projects::get_org,
            projects::set_org_policy,
            projects::delete_org
        ))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::get, projects::remove))
        .routes(routes!(projects::get_e2ee, projects::put_e2ee))
        .routes(routes!(projects::list_envs, projects::create_env))
        .routes(routes!(projects::remove_env))
        .routes(routes!(projects::list_targets, projects::create_target))
        .routes(routes!(projects::remove_target))
        .routes(routes!(secrets::list, secrets::bulk))
        .routes(routes!(secrets::get, secrets::put, secrets::remove))
        .routes(routes!(secrets::revision))
        .routes(routes!(secrets::pull_revision))
        .routes(routes!(pull::own))
        .routes(routes!(pull::project))
        .routes(routes!(transfer::copy))
        .routes(routes!(transfer::import))
        .routes(routes!(transfer::export))
        .routes(routes!(org_secrets::issue))
        .routes(routes!(org_secrets::rotate))
        .routes(routes!(versions::list))
        .routes(routes!(versions::purge))
        .routes(routes!(versions::get, versions::remove))
        .routes(routes!(versions::restore))
        .routes(routes!(versions::soft_delete))
        .routes(routes!(versions::undelete))
        .routes(routes!(versions::destroy))
        .routes(routes!(versions::diff))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(users::login))
        .routes(routes!(users::logout))
        .routes(routes!(users::whoami))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::remove))
        .routes(routes!(users::set_role))
        .routes(routes!(users::set_password))
        .routes(routes!(users::change_password))
        .routes(routes!(users::list_project_members))
        .routes(routes!(
            users::set_project_member,
            users::remove_project_member
        ))
        .routes(routes!(devices::list))
        .routes(routes!(devices::approve))
        .routes(routes!(devices::revoke))
        .routes(routes!(devices::rotate_key))
        .routes(routes!(audit::list))
        .routes(routes!(audit::verify))
}

/// `?env=` and `?target=`, shared by every scoped endpoint.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    /// Environment slug (neither: project level).
    env: Option<String>,
    /// Target slug.
    target: Option<String>,
}

impl ScopeQuery {
    fn address(&self) -> ScopeAddress {
        ScopeAddress {
            target: self.target.clone(),
            env: self.env.clone(),
        }
    }
}
