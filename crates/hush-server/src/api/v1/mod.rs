//! The native API, `/v1/…`. Handlers are thin: parse, call a service,
//! convert. Secrets address their scope with `?env=` and `?target=`
//! (neither: project level).

mod audit;
mod convert;
mod devices;
pub mod doc;
mod projects;
mod secrets;
mod tokens;
mod transfer;
mod users;
mod versions;

use std::sync::Arc;

use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::ScopeAddress;
use crate::AppState;

/// Every `/v1` route with its OpenAPI description (paths relative to
/// `/v1`). Handlers listed in one `routes!` share a path.
pub fn routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(projects::list_orgs))
        .routes(routes!(projects::get_org))
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
        .routes(routes!(transfer::copy))
        .routes(routes!(transfer::import))
        .routes(routes!(transfer::export))
        .routes(routes!(versions::list))
        .routes(routes!(versions::purge))
        .routes(routes!(versions::get, versions::remove))
        .routes(routes!(versions::restore))
        .routes(routes!(versions::diff))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke))
        .routes(routes!(users::login))
        .routes(routes!(users::whoami))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::list_project_members))
        .routes(routes!(
            users::set_project_member,
            users::remove_project_member
        ))
        .routes(routes!(devices::list))
        .routes(routes!(devices::approve))
        .routes(routes!(devices::revoke))
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
