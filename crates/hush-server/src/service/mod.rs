//! Business logic. Handlers parse and format; everything they do goes
//! through here, so every API surface (native and compat) shares one set of
//! rules for resolving names and checking access.

mod access;
mod audit;
mod projects;
mod pull;
mod secrets;
mod tokens;
mod versions;

use std::sync::Arc;

use hush_store::Store;

pub use access::{ScopeAddress, Target};
pub use audit::AuditFilter;
pub use pull::Pulled;
pub use secrets::{ReadRequest, SecretFilter};
pub use tokens::{TokenRequest, DEFAULT_ORG};

/// The services over one store.
pub struct Services {
    /// The store.
    pub store: Arc<Store>,
}

impl Services {
    /// Services over `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Self { store }
    }
}
