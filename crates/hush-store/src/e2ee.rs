//! Key metadata of end-to-end-encrypted projects. The store keeps what the
//! client made (public metadata) and the hash of the write key proof.

use hush_core::e2ee::Meta;

use crate::db::params;
use crate::error::{not_found, or_exists};
use crate::{now_ms, Result, Store};

const COLUMNS: &str =
    "iterations, salt_pass, wrapped_dek_pass, salt_rec, wrapped_dek_rec, verifier, key_proof_hash";

impl Store {
    /// Records a project's metadata and key-proof hash, once.
    pub async fn set_e2ee_meta(
        &self,
        project_id: &str,
        meta: &Meta,
        proof_hash: &str,
    ) -> Result<()> {
        let values = params![
            project_id,
            i64::from(meta.iterations),
            &meta.salt_pass,
            &meta.wrapped_dek_pass,
            &meta.salt_rec,
            &meta.wrapped_dek_rec,
            &meta.verifier,
            proof_hash,
            now_ms(),
        ];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    &format!(
                        "INSERT INTO e2ee_meta (project_id, {COLUMNS}, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                    ),
                    &values,
                )
                .await
            })
            .await
            .map_err(or_exists("key metadata of project", project_id))?;
        Ok(())
    }

    /// A project's metadata and key-proof hash, if it has any.
    pub async fn e2ee_meta(&self, project_id: &str) -> Result<Option<(Meta, String)>> {
        let row = self
            .db
            .row(
                &format!("SELECT {COLUMNS} FROM e2ee_meta WHERE project_id = $1"),
                &params![project_id],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let iterations: i64 = row.get(0)?;
        Ok(Some((
            Meta {
                iterations: u32::try_from(iterations).unwrap_or(0),
                salt_pass: row.get(1)?,
                wrapped_dek_pass: row.get(2)?,
                salt_rec: row.get(3)?,
                wrapped_dek_rec: row.get(4)?,
                verifier: row.get(5)?,
            },
            row.get(6)?,
        )))
    }

    /// Replaces the wrapped keys (a new passphrase or recovery key); the
    /// data key, its verifier and proof stay.
    pub async fn update_e2ee_wraps(&self, project_id: &str, meta: &Meta) -> Result<()> {
        let values = params![
            i64::from(meta.iterations),
            &meta.salt_pass,
            &meta.wrapped_dek_pass,
            &meta.salt_rec,
            &meta.wrapped_dek_rec,
            now_ms(),
            project_id,
        ];
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE e2ee_meta SET iterations = $1, salt_pass = $2, \
                     wrapped_dek_pass = $3, salt_rec = $4, wrapped_dek_rec = $5, \
                     updated_at = $6 WHERE project_id = $7",
                    &values,
                )
                .await
            })
            .await?;
        if done == 0 {
            return Err(not_found("key metadata of project", project_id));
        }
        Ok(())
    }
}
