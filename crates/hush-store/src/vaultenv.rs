//! vault-env state beside a project: its request-signing key (sealed with
//! the master key), its devices, and recently seen signatures. The secrets
//! themselves are ordinary blob scopes with their version log.

use hush_core::crypto::MasterKey;
use sqlx::Row;

use crate::error::{not_found, or_exists, StoreError};
use crate::{new_id, now_ms, Result, Store};

/// What the master key seals the signing key for.
const PURPOSE: &str = "vaultenv-auth-key";

/// A project's standing in vault-env.
#[derive(Debug)]
pub enum VaultKey {
    /// Not a vault-env project.
    NotVaultEnv,
    /// Created, waiting for `set-key`.
    NotSet,
    /// The signing key.
    Set(zeroize::Zeroizing<[u8; 32]>),
}

/// A device of a vault-env project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Stable id.
    pub id: String,
    /// Project.
    pub project_id: String,
    /// Name the device registered with.
    pub name: String,
    /// Hex SHA-256 of the device secret.
    pub hash: String,
    /// `pending`, `approved` or `revoked`.
    pub status: String,
    /// Registration (unix ms).
    pub created_at: i64,
    /// Approval (unix ms).
    pub approved_at: Option<i64>,
    /// Last pull or push (unix ms).
    pub last_seen_at: Option<i64>,
}

const DEVICE_COLUMNS: &str =
    "id, project_id, device_name, device_hash, status, created_at, approved_at, last_seen_at";

fn device(row: &sqlx::any::AnyRow) -> sqlx::Result<Device> {
    Ok(Device {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("device_name")?,
        hash: row.try_get("device_hash")?,
        status: row.try_get("status")?,
        created_at: row.try_get("created_at")?,
        approved_at: row.try_get("approved_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

impl Store {
    /// Marks a project as a vault-env project, without a signing key yet.
    pub async fn create_vaultenv(&self, project_id: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO vaultenv_keys (project_id, sealed_key, created_at) VALUES ($1, NULL, $2)",
        )
        .bind(project_id)
        .bind(now_ms())
        .execute(&self.pools.write)
        .await
        .map_err(or_exists("vault-env project", project_id))?;
        Ok(())
    }

    /// Sets a vault-env project's signing key, exactly once:
    /// `AlreadyExists` if it has one, `NotFound` if it is not a vault-env
    /// project.
    pub async fn set_vaultenv_key(&self, project_id: &str, key: &[u8; 32]) -> Result<()> {
        let sealed = self
            .keys
            .master()
            .seal_secret(PURPOSE, project_id, key)
            .map_err(|source| StoreError::Encrypt {
                what: "a vault-env signing key".to_owned(),
                source,
            })?;
        let done = sqlx::query(
            "UPDATE vaultenv_keys SET sealed_key = $1 WHERE project_id = $2 AND sealed_key IS NULL",
        )
        .bind(sealed)
        .bind(project_id)
        .execute(&self.pools.write)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        match self.vaultenv_key(project_id).await? {
            VaultKey::NotVaultEnv => Err(not_found("vault-env project", project_id)),
            _ => Err(StoreError::AlreadyExists {
                kind: "signing key of project",
                what: project_id.to_owned(),
            }),
        }
    }

    /// Whether the project speaks vault-env, and its signing key.
    pub async fn vaultenv_key(&self, project_id: &str) -> Result<VaultKey> {
        let row = sqlx::query("SELECT sealed_key FROM vaultenv_keys WHERE project_id = $1")
            .bind(project_id)
            .fetch_optional(&self.pools.read)
            .await?;
        let Some(row) = row else {
            return Ok(VaultKey::NotVaultEnv);
        };
        let Some(sealed) = row.try_get::<Option<Vec<u8>>, _>(0)? else {
            return Ok(VaultKey::NotSet);
        };
        let what = || format!("the vault-env signing key of project {project_id}");
        let opened = self
            .keys
            .master()
            .open_secret(PURPOSE, project_id, &sealed)
            .map_err(|source| StoreError::Decrypt {
                what: what(),
                source,
            })?;
        let key: [u8; 32] = opened
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::Decrypt {
                what: what(),
                source: hush_core::crypto::CryptoError::Decrypt,
            })?;
        Ok(VaultKey::Set(zeroize::Zeroizing::new(key)))
    }

    /// Remembers a signature until `expires_at`; false if it was already
    /// seen (a replay). Forgets expired ones on the way.
    pub async fn remember_signature(
        &self,
        project_id: &str,
        digest: &str,
        expires_at: i64,
    ) -> Result<bool> {
        sqlx::query("DELETE FROM vaultenv_signatures WHERE expires_at < $1")
            .bind(now_ms())
            .execute(&self.pools.write)
            .await?;
        let inserted = sqlx::query(
            "INSERT INTO vaultenv_signatures (project_id, digest, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(project_id)
        .bind(digest)
        .bind(expires_at)
        .execute(&self.pools.write)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_database_error()
                    .is_some_and(|db| db.is_unique_violation()) =>
            {
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Registers a device: approved if it is the project's first, pending
    /// otherwise. Registering a known device hash again returns it as is.
    pub async fn register_device(
        &self,
        project_id: &str,
        name: &str,
        hash: &str,
    ) -> Result<Device> {
        if let Some(existing) = self.device_by_hash(project_id, hash).await? {
            return Ok(existing);
        }
        let mut tx = self.pools.write.begin().await?;
        let count: i64 = sqlx::query("SELECT COUNT(*) FROM vaultenv_devices WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let now = now_ms();
        let first = count == 0;
        let device = Device {
            id: new_id(),
            project_id: project_id.to_owned(),
            name: name.to_owned(),
            hash: hash.to_owned(),
            status: if first { "approved" } else { "pending" }.to_owned(),
            created_at: now,
            approved_at: first.then_some(now),
            last_seen_at: None,
        };
        sqlx::query(&format!(
            "INSERT INTO vaultenv_devices ({DEVICE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&device.id)
        .bind(&device.project_id)
        .bind(&device.name)
        .bind(&device.hash)
        .bind(&device.status)
        .bind(device.created_at)
        .bind(device.approved_at)
        .bind(device.last_seen_at)
        .execute(&mut *tx)
        .await
        .map_err(or_exists("device", hash))?;
        tx.commit().await?;
        Ok(device)
    }

    /// The device with this hash in the project.
    pub async fn device_by_hash(&self, project_id: &str, hash: &str) -> Result<Option<Device>> {
        let row = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM vaultenv_devices WHERE project_id = $1 AND device_hash = $2"
        ))
        .bind(project_id)
        .bind(hash)
        .fetch_optional(&self.pools.read)
        .await?;
        Ok(row.as_ref().map(device).transpose()?)
    }

    /// The project's devices, oldest first.
    pub async fn devices(&self, project_id: &str) -> Result<Vec<Device>> {
        let rows = sqlx::query(&format!(
            "SELECT {DEVICE_COLUMNS} FROM vaultenv_devices WHERE project_id = $1 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .fetch_all(&self.pools.read)
        .await?;
        Ok(rows.iter().map(device).collect::<sqlx::Result<_>>()?)
    }

    /// Sets a device's status (`approved` or `revoked`).
    pub async fn set_device_status(
        &self,
        project_id: &str,
        device_id: &str,
        status: &str,
    ) -> Result<Device> {
        let approved_at = (status == "approved").then(now_ms);
        let done = sqlx::query(
            "UPDATE vaultenv_devices SET status = $1, approved_at = COALESCE($2, approved_at) \
             WHERE project_id = $3 AND id = $4",
        )
        .bind(status)
        .bind(approved_at)
        .bind(project_id)
        .bind(device_id)
        .execute(&self.pools.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found("device", device_id));
        }
        self.devices(project_id)
            .await?
            .into_iter()
            .find(|d| d.id == device_id)
            .ok_or_else(|| not_found("device", device_id))
    }

    /// Notes that a device was just used.
    pub async fn touch_device(&self, device_id: &str) -> Result<()> {
        sqlx::query("UPDATE vaultenv_devices SET last_seen_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(device_id)
            .execute(&self.pools.write)
            .await?;
        Ok(())
    }
}

/// Re-seals every vault-env signing key under `new` (master-key rotation),
/// inside the rotation's transaction.
pub(crate) async fn reseal_keys(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    old: &MasterKey,
    new: &MasterKey,
) -> Result<usize> {
    let rows = sqlx::query(
        "SELECT project_id, sealed_key FROM vaultenv_keys WHERE sealed_key IS NOT NULL",
    )
    .fetch_all(&mut **tx)
    .await?;
    for row in &rows {
        let project: String = row.try_get("project_id")?;
        let sealed: Vec<u8> = row.try_get("sealed_key")?;
        let key = old
            .open_secret(PURPOSE, &project, &sealed)
            .map_err(|source| StoreError::Decrypt {
                what: format!("the vault-env signing key of project {project}"),
                source,
            })?;
        let resealed =
            new.seal_secret(PURPOSE, &project, &key)
                .map_err(|source| StoreError::Encrypt {
                    what: "a vault-env signing key".to_owned(),
                    source,
                })?;
        sqlx::query("UPDATE vaultenv_keys SET sealed_key = $1 WHERE project_id = $2")
            .bind(resealed)
            .bind(&project)
            .execute(&mut **tx)
            .await?;
    }
    Ok(rows.len())
}
