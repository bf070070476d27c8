//! The native API, `/v1/…`. Handlers are thin: parse, call a service,
//! convert. Secrets address their scope with `?env=` and `?target=`
//! (neither: project level).

mod audit;
mod convert;
mod projects;
mod secrets;
mod tokens;
mod transfer;
mod users;
mod versions;

use std::sync::Arc;

use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;

use crate::service::ScopeAddress;
use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    let project = "/orgs/{org}/projects/{project}";
    Router::new()
        .route("/orgs", get(projects::list_orgs))
        .route("/orgs/{org}", get(projects::get_org))
        .route(
            "/orgs/{org}/projects",
            get(projects::list).post(projects::create),
        )
        .route(project, get(projects::get).delete(projects::remove))
        .route(
            &format!("{project}/environments"),
            get(projects::list_envs).post(projects::create_env),
        )
        .route(
            &format!("{project}/environments/{{slug}}"),
            delete(projects::remove_env),
        )
        .route(
            &format!("{project}/targets"),
            get(projects::list_targets).post(projects::create_target),
        )
        .route(
            &format!("{project}/targets/{{slug}}"),
            delete(projects::remove_target),
        )
        .route(
            &format!("{project}/secrets"),
            get(secrets::list).post(secrets::bulk),
        )
        .route(&format!("{project}/revision"), get(secrets::revision))
        .route(&format!("{project}/copy"), post(transfer::copy))
        .route(&format!("{project}/import"), post(transfer::import))
        .route(&format!("{project}/export"), get(transfer::export))
        .route(
            &format!("{project}/secrets/{{name}}"),
            get(secrets::get).put(secrets::put).delete(secrets::remove),
        )
        .route(&format!("{project}/versions"), get(versions::list))
        .route(&format!("{project}/versions/purge"), post(versions::purge))
        .route(
            &format!("{project}/versions/{{version}}"),
            get(versions::get).delete(versions::remove),
        )
        .route(
            &format!("{project}/versions/{{version}}/restore"),
            post(versions::restore),
        )
        .route(&format!("{project}/diff"), get(versions::diff))
        .route("/orgs/{org}/tokens", get(tokens::list).post(tokens::create))
        .route("/orgs/{org}/tokens/{id}", delete(tokens::revoke))
        .route("/login", post(users::login))
        .route("/whoami", get(users::whoami))
        .route("/pull/revision", get(secrets::pull_revision))
        .route("/orgs/{org}/users", get(users::list).post(users::create))
        .route("/orgs/{org}/audit", get(audit::list))
        .route("/orgs/{org}/audit/verify", get(audit::verify))
}

/// `?env=` and `?target=`, shared by every scoped endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    env: Option<String>,
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
