//! A cache of decrypted merged views for pulls.
//!
//! A pull of an unchanged environment should not re-read and re-decrypt
//! it: each use checks the lineage scopes' current versions (one small
//! indexed query) and the earliest expiry, and reloads on any difference.
//! Because the check runs against the database every time, a write through
//! another replica is seen by the very next pull. Values are held as
//! zeroizing `SecretString`s and dropped when replaced or evicted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hush_core::SecretString;
use hush_store::{Reveal, Scope, Store, Value};

use crate::error::ServiceError;

/// Most scopes held; the cache is cleared whole beyond that.
const CAPACITY: usize = 1024;

/// Name → value (plaintext, or a client-encrypted project's ciphertext).
pub type ViewSecrets = Arc<Vec<(String, SecretString)>>;

struct CachedView {
    versions: Vec<i64>,
    valid_until: Option<i64>,
    secrets: ViewSecrets,
}

/// Scope key → view.
pub struct ViewCache {
    views: Mutex<HashMap<String, Arc<CachedView>>>,
}

impl ViewCache {
    pub fn new() -> Self {
        Self {
            views: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CachedView>>> {
        self.views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The merged view of `scope` and the lineage versions it reflects,
    /// from the cache when still current.
    pub async fn get(
        &self,
        store: &Store,
        scope: &Scope,
        reveal: Reveal,
    ) -> Result<(Vec<i64>, ViewSecrets), ServiceError> {
        let versions = store.lineage_versions(scope).await?;
        let now = crate::now_ms();
        let cached = self.lock().get(scope.key()).cloned();
        if let Some(view) = cached {
            if view.versions == versions && view.valid_until.is_none_or(|at| now < at) {
                return Ok((versions, view.secrets.clone()));
            }
        }
        let view = store.merged_view(scope, reveal).await?;
        let secrets: ViewSecrets = Arc::new(
            view.secrets
                .into_iter()
                .map(|s| {
                    let value = match s.value {
                        Value::Plain(v) => v,
                        Value::Ciphertext(bytes) => {
                            SecretString::new(String::from_utf8_lossy(&bytes).into_owned())
                        }
                        Value::Hidden => SecretString::new(String::new()),
                    };
                    (s.name, value)
                })
                .collect(),
        );
        let mut views = self.lock();
        if views.len() >= CAPACITY {
            views.clear();
        }
        views.insert(
            scope.key().to_owned(),
            Arc::new(CachedView {
                versions: view.versions.clone(),
                valid_until: view.valid_until,
                secrets: secrets.clone(),
            }),
        );
        Ok((view.versions, secrets))
    }

    /// Forgets every view (after deleting projects or environments).
    pub fn clear(&self) {
        self.lock().clear();
    }
}
