//! Compatibility surfaces: one module per seed, each translating that
//! seed's wire format onto the shared services. DotEnv's and the Hep.gg
//! dashboard's routes carry OpenAPI descriptions and join the native ones in `api::router`.

pub mod dotenv;
pub mod hepgg;
pub mod hepgg_dashboard;
pub mod hooklistener;
pub mod insforge;
pub mod vaultenv;
pub mod vaultkv;

use std::sync::Arc;

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        // One path, two seeds: Hep.gg pulls with GET, vault-env with POST.
        .route(
            "/api/v1/secrets/pull",
            hepgg::pull_route().merge(vaultenv::pull_route()),
        )
        .merge(vaultenv::routes())
        .merge(vaultkv::routes())
        .merge(hooklistener::routes())
        .merge(insforge::routes())
}
