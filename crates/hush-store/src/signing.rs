//! Per-organization keys that sign the admin JWTs hush issues for
//! InsForge's API. Each is 32 random bytes in `hush_settings`
//! (`insforge_jwt_key:<org id>`), sealed with the master key and bound to
//! its organization, made on first use. Rotating one makes every JWT it
//! signed useless at once; a master-key rotation re-seals them all.

use rand::RngCore;
use zeroize::Zeroizing;

use crate::db::{params, Tx};
use crate::error::{Result, StoreError};
use crate::{Author, Store};

const PURPOSE: &str = "insforge-jwt-key";
const PREFIX: &str = "insforge_jwt_key:";

fn setting(org_id: &str) -> String {
    format!("{PREFIX}{org_id}")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or(StoreError::Decode {
            column: 0,
            expected: "a sealed signing key as hex",
        })
}

fn fresh(master: &hush_core::crypto::MasterKey, org_id: &str) -> Result<String> {
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut *key);
    let sealed = master
        .seal_secret(PURPOSE, org_id, &*key)
        .map_err(|source| StoreError::Encrypt {
            what: "an organization's JWT signing key".to_owned(),
            source,
        })?;
    Ok(hex(&sealed))
}

impl Store {
    /// The organization's JWT signing key, made on first use.
    pub async fn jwt_key(&self, org_id: &str) -> Result<Zeroizing<Vec<u8>>> {
        if let Some(key) = self.read_jwt_key(org_id).await? {
            return Ok(key);
        }
        let sealed = fresh(&self.keys.master(), org_id)?;
        let name = setting(org_id);
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "INSERT INTO hush_settings (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO NOTHING",
                    &params![&name, &sealed],
                )
                .await?;
                Ok(())
            })
            .await?;
        self.read_jwt_key(org_id)
            .await?
            .ok_or_else(|| crate::error::not_found("setting", setting(org_id)))
    }

    /// The organization's JWT signing key if it has one (verifying never
    /// makes one).
    pub async fn read_jwt_key(&self, org_id: &str) -> Result<Option<Zeroizing<Vec<u8>>>> {
        let Some(row) = self
            .db
            .row(
                "SELECT value FROM hush_settings WHERE name = $1",
                &params![setting(org_id)],
            )
            .await?
        else {
            return Ok(None);
        };
        let sealed = unhex(&row.get::<String>(0)?)?;
        self.keys
            .keys()
            .open(|master| master.open_secret(PURPOSE, org_id, &sealed))
            .map(Some)
            .map_err(|source| StoreError::Decrypt {
                what: "an organization's JWT signing key".to_owned(),
                source,
            })
    }

    /// Replaces the organization's JWT signing key: every JWT signed with
    /// the old one stops working.
    pub async fn rotate_jwt_key(&self, org_id: &str, author: &Author) -> Result<()> {
        let sealed = fresh(&self.keys.master(), org_id)?;
        let name = setting(org_id);
        self.db
            .write(author.audit.clone(), move |tx| async move {
                tx.exec(
                    "INSERT INTO hush_settings (name, value) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    &params![&name, &sealed],
                )
                .await?;
                Ok(())
            })
            .await
    }
}

/// Re-seals every organization's signing key under a new master key
/// (master-key rotation).
pub(crate) async fn reseal_keys(
    tx: &Tx,
    old: &hush_core::crypto::MasterKey,
    new: &hush_core::crypto::MasterKey,
) -> Result<()> {
    let rows = tx
        .rows(
            "SELECT name, value FROM hush_settings WHERE name LIKE $1",
            &params![format!("{PREFIX}%")],
        )
        .await?;
    for row in &rows {
        let name: String = row.get(0)?;
        let org_id = name.trim_start_matches(PREFIX);
        let key = old
            .open_secret(PURPOSE, org_id, &unhex(&row.get::<String>(1)?)?)
            .map_err(|source| StoreError::Decrypt {
                what: "an organization's JWT signing key".to_owned(),
                source,
            })?;
        let sealed =
            new.seal_secret(PURPOSE, org_id, &key)
                .map_err(|source| StoreError::Encrypt {
                    what: "an organization's JWT signing key".to_owned(),
                    source,
                })?;
        tx.exec(
            "UPDATE hush_settings SET value = $2 WHERE name = $1",
            &params![&name, hex(&sealed)],
        )
        .await?;
    }
    Ok(())
}
