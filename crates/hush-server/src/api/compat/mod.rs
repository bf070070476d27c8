//! Compatibility surfaces: one module per seed, each translating that
//! seed's wire format onto the shared services.

mod hepgg;

pub use hepgg::hep_error;

use std::sync::Arc;

use axum::Router;

use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().merge(hepgg::routes())
}
