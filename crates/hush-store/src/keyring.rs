//! The master key and a cache of unwrapped project data keys.
//!
//! Unwrapping a DEK is one AES-GCM open, but it also needs a query for the
//! wrapped bytes; caching the unwrapped key keeps the read path to a single
//! query. Cached keys are zeroized when evicted or dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use hush_core::crypto::{DataKey, MasterKey};

/// The master key, and during a rotation a second one accepted for
/// reading: what was sealed under either opens, what is sealed now uses
/// the current one. Replicas started with both keep serving while
/// `rotate_master_key` moves every sealed key from one to the other.
#[derive(Clone)]
pub(crate) struct MasterKeys {
    pub(crate) current: Arc<MasterKey>,
    pub(crate) accepted: Option<Arc<MasterKey>>,
}

impl MasterKeys {
    /// The fingerprints the database may have recorded.
    pub(crate) fn ids(&self) -> Vec<String> {
        std::iter::once(self.current.id())
            .chain(self.accepted.iter().map(|k| k.id()))
            .collect()
    }

    /// The key for something sealed under `id` (the current one when
    /// neither matches, so the error names it).
    pub(crate) fn for_id(&self, id: &str) -> Arc<MasterKey> {
        match &self.accepted {
            Some(accepted) if accepted.id() == id => accepted.clone(),
            _ => self.current.clone(),
        }
    }

    /// `seal` under each key, for a write that picks the one the database
    /// records once inside its transaction ([`pick_sealed`]): a replica
    /// started for a rotation seals under the new key as soon as the
    /// rotation has committed, never under a key the database left.
    pub(crate) fn seal_each<T, E>(
        &self,
        seal: impl Fn(&MasterKey) -> Result<T, E>,
    ) -> Result<Vec<(String, T)>, E> {
        std::iter::once(&self.current)
            .chain(self.accepted.iter())
            .map(|key| Ok((key.id(), seal(key)?)))
            .collect()
    }

    /// `open` with the current key, else the accepted one.
    pub(crate) fn open<T, E>(&self, open: impl Fn(&MasterKey) -> Result<T, E>) -> Result<T, E> {
        match (open(&self.current), &self.accepted) {
            (Err(_), Some(accepted)) => open(accepted),
            (result, _) => result,
        }
    }
}

pub(crate) struct Keyring {
    master: RwLock<Arc<MasterKey>>,
    accepted: Option<Arc<MasterKey>>,
    deks: Mutex<HashMap<String, Arc<DataKey>>>,
}

impl Keyring {
    pub(crate) fn new(keys: MasterKeys) -> Self {
        Self {
            master: RwLock::new(keys.current),
            accepted: keys.accepted,
            deks: Mutex::new(HashMap::new()),
        }
    }

    /// The current key and the accepted one.
    pub(crate) fn keys(&self) -> MasterKeys {
        MasterKeys {
            current: self.master(),
            accepted: self.accepted.clone(),
        }
    }

    pub(crate) fn master(&self) -> Arc<MasterKey> {
        // A poisoned lock only means another thread panicked mid-read; the
        // Arc inside is still whole.
        self.master
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub(crate) fn replace_master(&self, master: Arc<MasterKey>) {
        *self
            .master
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = master;
        self.deks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    pub(crate) fn cached(&self, project_id: &str) -> Option<Arc<DataKey>> {
        self.deks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(project_id)
            .cloned()
    }

    pub(crate) fn remember(&self, project_id: &str, dek: DataKey) -> Arc<DataKey> {
        let dek = Arc::new(dek);
        self.deks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(project_id.to_owned(), dek.clone());
        dek
    }

    pub(crate) fn forget(&self, project_id: &str) {
        self.deks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(project_id);
    }
}

use crate::db::params;
use crate::error::{not_found, Result, StoreError};
use crate::model::{EncryptionMode, Project, Scope};
use crate::Store;
use hush_core::exchange::ExchangeKey;

impl Store {
    /// The data key of a server-mode scope's project, from the cache or the
    /// database. Client-mode projects have none: asking is an error.
    pub(crate) async fn data_key(&self, scope: &Scope) -> Result<Arc<DataKey>> {
        if scope.mode == EncryptionMode::Client {
            return Err(StoreError::ClientEncrypted {
                project: scope.project_slug.clone(),
            });
        }
        if let Some(dek) = self.keys.cached(&scope.project_id) {
            return Ok(dek);
        }
        let row = self
            .db
            .row(
                "SELECT wrapped_dek, master_key_id FROM projects WHERE id = $1",
                &params![&scope.project_id],
            )
            .await?
            .ok_or_else(|| not_found("project", &scope.project_slug))?;
        let wrapped: Option<Vec<u8>> = row.get(0)?;
        let stored_id: Option<String> = row.get(1)?;
        let master = match &stored_id {
            Some(id) => self.keys.keys().for_id(id),
            None => self.keys.master(),
        };
        let dek = unwrap_dek(
            &master,
            &scope.project_id,
            &scope.project_slug,
            wrapped,
            stored_id,
        )?;
        Ok(self.keys.remember(&scope.project_id, dek))
    }

    /// A server-mode project's DotEnv exchange key (derived from its data
    /// key; see `hush_core::exchange`).
    pub async fn exchange_key(&self, project: &Project) -> Result<ExchangeKey> {
        let scope = Scope::new(project, None, None)?;
        Ok(self.data_key(&scope).await?.exchange_key(&project.id))
    }

    /// Checks that this store's master key is the one the database was made
    /// with, and records it in a database made before the check existed.
    /// A server calls this at start, so a replica with a wrong or new key
    /// refuses to start instead of answering every request with an error
    /// (or creating projects the other replicas cannot read).
    pub async fn check_master_key(&self) -> Result<()> {
        let given = self.keys.keys().ids();
        self.db
            .write(None, move |tx| async move {
                check_master_key_in(&tx, &given).await
            })
            .await
    }

    /// Re-seals every project data key under `new_master` in one
    /// transaction, then switches this store to it. Values are not touched.
    /// Returns how many data keys were rewrapped. Other processes sharing
    /// the database must be restarted with the new key.
    pub async fn rotate_master_key(&self, new_master: MasterKey) -> Result<usize> {
        let old = self.keys.master();
        let new_master = Arc::new(new_master);
        let new = new_master.clone();
        let rewrapped = self
            .db
            .write(None, move |tx| async move {
                let new_id = new.id();
                let projects = tx
                    .rows(
                        "SELECT id, slug, wrapped_dek, master_key_id FROM projects \
                         WHERE wrapped_dek IS NOT NULL",
                        &[],
                    )
                    .await?;
                for row in &projects {
                    let id: String = row.get(0)?;
                    let slug: String = row.get(1)?;
                    let stored: Option<String> = row.get(3)?;
                    if stored.as_deref() == Some(new_id.as_str()) {
                        continue; // already under the new key
                    }
                    let dek = unwrap_dek(&old, &id, &slug, row.get(2)?, stored)?;
                    let rewrapped = new.wrap(&dek, &id).map_err(|source| StoreError::Encrypt {
                        what: format!("the data key of project {slug}"),
                        source,
                    })?;
                    tx.exec(
                        "UPDATE projects SET wrapped_dek = $1, master_key_id = $2 WHERE id = $3",
                        &params![rewrapped, &new_id, &id],
                    )
                    .await?;
                }
                crate::vaultenv::reseal_keys(&tx, &old, &new).await?;
                crate::audit::reseal_key(&tx, &old, &new).await?;
                crate::signing::reseal_keys(&tx, &old, &new).await?;
                record_master_key(&tx, &new_id).await?;
                Ok(projects.len())
            })
            .await?;
        self.keys.replace_master(new_master);
        Ok(rewrapped)
    }
}

/// Refuses a master key whose fingerprint is not the one recorded in the
/// database; records it in a database made before the check existed.
pub(crate) async fn check_master_key_in(tx: &crate::db::Tx, given: &[String]) -> Result<()> {
    let recorded: Option<String> = match tx
        .row(
            "SELECT value FROM hush_settings WHERE name = 'master_key_id'",
            &[],
        )
        .await?
    {
        Some(row) => Some(row.get(0)?),
        // Databases from before the setting: any project's key.
        None => tx
            .row(
                "SELECT master_key_id FROM projects \
                 WHERE master_key_id IS NOT NULL LIMIT 1",
                &[],
            )
            .await?
            .map(|row| row.get(0))
            .transpose()?,
    };
    match (recorded, given.first()) {
        (Some(database), _) if given.contains(&database) => Ok(()),
        (Some(database), Some(current)) => Err(StoreError::MasterKeyMismatch {
            database,
            given: current.clone(),
        }),
        (None, Some(current)) => record_master_key(tx, current).await,
        (_, None) => Err(StoreError::MasterKeyMismatch {
            database: "(recorded)".to_owned(),
            given: "(none)".to_owned(),
        }),
    }
}

async fn record_master_key(tx: &crate::db::Tx, id: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO hush_settings (name, value) VALUES ('master_key_id', $1) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        &params![id],
    )
    .await?;
    Ok(())
}

fn unwrap_dek(
    master: &MasterKey,
    project_id: &str,
    slug: &str,
    wrapped: Option<Vec<u8>>,
    stored_id: Option<String>,
) -> Result<DataKey> {
    let current = master.id();
    if let Some(stored) = stored_id.filter(|stored| *stored != current) {
        return Err(StoreError::WrongMasterKey {
            project: slug.to_owned(),
            stored,
            current,
        });
    }
    let wrapped = wrapped.ok_or_else(|| StoreError::ClientEncrypted {
        project: slug.to_owned(),
    })?;
    master
        .unwrap(&wrapped, project_id)
        .map_err(|source| StoreError::Decrypt {
            what: format!("the data key of project {slug}"),
            source,
        })
}

/// Of things sealed under each key ([`MasterKeys::seal_each`]), the one
/// under the key the database records now, read inside the caller's write
/// (on PostgreSQL `FOR SHARE`, so a rotation in flight is waited for); the
/// current key's when none is recorded yet.
pub(crate) async fn pick_sealed<T>(
    tx: &crate::db::Tx,
    mut sealed: Vec<(String, T)>,
) -> Result<(String, T)> {
    let lock = match tx.backend() {
        crate::Backend::Postgres => " FOR SHARE",
        crate::Backend::Sqlite => "",
    };
    let recorded: Option<String> = tx
        .row(
            &format!("SELECT value FROM hush_settings WHERE name = 'master_key_id'{lock}"),
            &[],
        )
        .await?
        .map(|row| row.get(0))
        .transpose()?;
    let at = recorded
        .and_then(|id| sealed.iter().position(|(key, _)| *key == id))
        .unwrap_or(0);
    if sealed.is_empty() {
        return Err(StoreError::Database(crate::error::DbError::JobFailed(
            "nothing was sealed".to_owned(),
        )));
    }
    Ok(sealed.swap_remove(at))
}
