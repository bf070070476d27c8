//! vault-env state beside a project: its request-signing key (sealed with
//! the master key), its devices, and recently seen signatures. The secrets
//! themselves are ordinary blob scopes with their version log.

use hush_core::crypto::MasterKey;

use crate::db::{params, Row, Tx};
use crate::error::{not_found, or_exists, StoreError};
use crate::model::DeviceStatus;
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
    /// Pending, approved or revoked.
    pub status: DeviceStatus,
    /// Registration (unix ms).
    pub created_at: i64,
    /// Approval (unix ms).
    pub approved_at: Option<i64>,
    /// Last pull or push (unix ms).
    pub last_seen_at: Option<i64>,
}

const DEVICE_COLUMNS: &str =
    "id, project_id, device_name, device_hash, status, created_at, approved_at, last_seen_at";

fn device(row: &Row) -> Result<Device> {
    Ok(Device {
        id: row.get(0)?,
        project_id: row.get(1)?,
        name: row.get(2)?,
        hash: row.get(3)?,
        status: DeviceStatus::parse(&row.get::<String>(4)?).ok_or(StoreError::Decode {
            column: 4,
            expected: "a device status: pending, approved or revoked",
        })?,
        created_at: row.get(5)?,
        approved_at: row.get(6)?,
        last_seen_at: row.get(7)?,
    })
}

impl Store {
    /// Marks a project as a vault-env project, without a signing key yet.
    pub async fn create_vaultenv(&self, project_id: &str) -> Result<()> {
        let values = params![project_id, now_ms()];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "INSERT INTO vaultenv_keys (project_id, sealed_key, created_at) \
                     VALUES ($1, NULL, $2)",
                    &values,
                )
                .await
            })
            .await
            .map_err(or_exists("vault-env project", project_id))?;
        Ok(())
    }

    /// Sets a vault-env project's signing key, exactly once:
    /// `AlreadyExists` if it has one, `NotFound` if it is not a vault-env
    /// project.
    pub async fn set_vaultenv_key(&self, project_id: &str, key: &[u8; 32]) -> Result<()> {
        self.store_vaultenv_key(
            project_id,
            key,
            "UPDATE vaultenv_keys SET sealed_key = $1 \
             WHERE project_id = $2 AND sealed_key IS NULL",
        )
        .await
    }

    /// Replaces a vault-env project's signing key (a project admin's
    /// rotation after a leaked `VAULT_KEY`): requests signed with the old
    /// key fail from the moment this returns.
    pub async fn replace_vaultenv_key(&self, project_id: &str, key: &[u8; 32]) -> Result<()> {
        self.store_vaultenv_key(
            project_id,
            key,
            "UPDATE vaultenv_keys SET sealed_key = $1 WHERE project_id = $2",
        )
        .await
    }

    async fn store_vaultenv_key(
        &self,
        project_id: &str,
        key: &[u8; 32],
        sql: &'static str,
    ) -> Result<()> {
        // Sealed under each key this store holds; the write keeps the one
        // the database records (a rotation may commit meanwhile).
        let sealed = self.keys.keys().seal_each(|master| {
            master
                .seal_secret(PURPOSE, project_id, key)
                .map_err(|source| StoreError::Encrypt {
                    what: "a vault-env signing key".to_owned(),
                    source,
                })
        })?;
        let project = project_id.to_owned();
        let done = self
            .db
            .write(None, move |tx| async move {
                let (_, sealed) = crate::keyring::pick_sealed(&tx, sealed).await?;
                tx.exec(sql, &params![sealed, &project]).await
            })
            .await?;
        if done == 1 {
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
        let row = self
            .db
            .row(
                "SELECT sealed_key FROM vaultenv_keys WHERE project_id = $1",
                &params![project_id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(VaultKey::NotVaultEnv);
        };
        let Some(sealed) = row.get::<Option<Vec<u8>>>(0)? else {
            return Ok(VaultKey::NotSet);
        };
        let what = || format!("the vault-env signing key of project {project_id}");
        let opened = self
            .keys
            .keys()
            .open(|master| master.open_secret(PURPOSE, project_id, &sealed))
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
        let values = params![project_id, digest, expires_at];
        let now = now_ms();
        let inserted = self
            .db
            .write(None, move |tx| async move {
                tx.exec(
                    "DELETE FROM vaultenv_signatures WHERE expires_at < $1",
                    &params![now],
                )
                .await?;
                tx.exec(
                    "INSERT INTO vaultenv_signatures (project_id, digest, expires_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (project_id, digest) DO NOTHING",
                    &values,
                )
                .await
            })
            .await?;
        Ok(inserted == 1)
    }

    /// Registers a device: approved if it is the project's first, pending
    /// otherwise. Registering a known device hash again returns it as is.
    /// Decided inside the writer's transaction, so two first devices
    /// registering at once cannot both be approved, on any replica.
    pub async fn register_device(
        &self,
        project_id: &str,
        name: &str,
        hash: &str,
    ) -> Result<Device> {
        if let Some(existing) = self.device_by_hash(project_id, hash).await? {
            return Ok(existing);
        }
        let (project_id, name, hash) = (project_id.to_owned(), name.to_owned(), hash.to_owned());
        self.db
            .write(None, move |tx| async move {
                let existing = tx
                    .row(
                        &format!(
                            "SELECT {DEVICE_COLUMNS} FROM vaultenv_devices \
                             WHERE project_id = $1 AND device_hash = $2"
                        ),
                        &params![&project_id, &hash],
                    )
                    .await?;
                if let Some(existing) = existing {
                    return device(&existing);
                }
                // The first device is approved: on PostgreSQL another
                // replica may be registering one at this instant, so the
                // project's row is locked until commit and the count below
                // sees theirs. (SQLite has one writer at a time.)
                if tx.backend() == crate::Backend::Postgres {
                    tx.row(
                        "SELECT project_id FROM vaultenv_keys WHERE project_id = $1 FOR UPDATE",
                        &params![&project_id],
                    )
                    .await?;
                }
                let count: i64 = tx
                    .row(
                        "SELECT COUNT(*) FROM vaultenv_devices WHERE project_id = $1",
                        &params![&project_id],
                    )
                    .await?
                    .map_or(Ok(0), |row| row.get(0))?;
                let now = now_ms();
                let first = count == 0;
                let device = Device {
                    id: new_id(),
                    project_id,
                    name,
                    hash,
                    status: if first {
                        DeviceStatus::Approved
                    } else {
                        DeviceStatus::Pending
                    },
                    created_at: now,
                    approved_at: first.then_some(now),
                    last_seen_at: None,
                };
                tx.exec(
                    &format!(
                        "INSERT INTO vaultenv_devices ({DEVICE_COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                    ),
                    &params![
                        &device.id,
                        &device.project_id,
                        &device.name,
                        &device.hash,
                        device.status.as_str(),
                        device.created_at,
                        device.approved_at,
                        device.last_seen_at,
                    ],
                )
                .await?;
                Ok(device)
            })
            .await
    }

    /// The device with this hash in the project.
    pub async fn device_by_hash(&self, project_id: &str, hash: &str) -> Result<Option<Device>> {
        let row = self
            .db
            .row(
                &format!(
                    "SELECT {DEVICE_COLUMNS} FROM vaultenv_devices \
                     WHERE project_id = $1 AND device_hash = $2"
                ),
                &params![project_id, hash],
            )
            .await?;
        row.as_ref().map(device).transpose()
    }

    /// A device by id, if it belongs to a project of `org_id`.
    pub async fn device_in_org(&self, org_id: &str, id: &str) -> Result<Option<Device>> {
        let columns = DEVICE_COLUMNS
            .split(", ")
            .map(|c| format!("d.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let row = self
            .db
            .row(
                &format!(
                    "SELECT {columns} FROM vaultenv_devices d \
                     JOIN projects p ON p.id = d.project_id WHERE p.org_id = $1 AND d.id = $2"
                ),
                &params![org_id, id],
            )
            .await?;
        row.as_ref().map(device).transpose()
    }

    /// The project's devices, oldest first.
    pub async fn devices(&self, project_id: &str) -> Result<Vec<Device>> {
        let rows = self
            .db
            .rows(
                &format!(
                    "SELECT {DEVICE_COLUMNS} FROM vaultenv_devices WHERE project_id = $1 \
                     ORDER BY created_at, id"
                ),
                &params![project_id],
            )
            .await?;
        rows.iter().map(device).collect()
    }

    /// Sets a device's status (`approved` or `revoked`).
    pub async fn set_device_status(
        &self,
        project_id: &str,
        device_id: &str,
        status: DeviceStatus,
    ) -> Result<Device> {
        let approved_at = (status == DeviceStatus::Approved).then(now_ms);
        let values = params![status.as_str(), approved_at, project_id, device_id];
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE vaultenv_devices SET status = $1, \
                     approved_at = COALESCE($2, approved_at) WHERE project_id = $3 AND id = $4",
                    &values,
                )
                .await
            })
            .await?;
        if done == 0 {
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
        let values = params![now_ms(), device_id];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE vaultenv_devices SET last_seen_at = $1 WHERE id = $2",
                    &values,
                )
                .await
            })
            .await?;
        Ok(())
    }
}

/// Re-seals every vault-env signing key under `new` (master-key rotation),
/// inside the rotation's transaction.
pub(crate) async fn reseal_keys(tx: &Tx, old: &MasterKey, new: &MasterKey) -> Result<usize> {
    let rows = tx
        .rows(
            "SELECT project_id, sealed_key FROM vaultenv_keys WHERE sealed_key IS NOT NULL",
            &[],
        )
        .await?;
    for row in &rows {
        let project: String = row.get(0)?;
        let sealed: Vec<u8> = row.get(1)?;
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
        tx.exec(
            "UPDATE vaultenv_keys SET sealed_key = $1 WHERE project_id = $2",
            &params![resealed, &project],
        )
        .await?;
    }
    Ok(rows.len())
}
