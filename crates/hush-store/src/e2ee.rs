//! Key metadata of end-to-end-encrypted projects. The store keeps what the
//! client made (public metadata) and the hash of the write key proof.

use hush_core::e2ee::Meta;
use sqlx::Row;

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
        sqlx::query(&format!(
            "INSERT INTO e2ee_meta (project_id, {COLUMNS}, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(project_id)
        .bind(i64::from(meta.iterations))
        .bind(&meta.salt_pass)
        .bind(&meta.wrapped_dek_pass)
        .bind(&meta.salt_rec)
        .bind(&meta.wrapped_dek_rec)
        .bind(&meta.verifier)
        .bind(proof_hash)
        .bind(now_ms())
        .execute(&self.pools.write)
        .await
        .map_err(or_exists("key metadata of project", project_id))?;
        Ok(())
    }

    /// A project's metadata and key-proof hash, if it has any.
    pub async fn e2ee_meta(&self, project_id: &str) -> Result<Option<(Meta, String)>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM e2ee_meta WHERE project_id = $1"
        ))
        .bind(project_id)
        .fetch_optional(&self.pools.read)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let iterations: i64 = row.try_get("iterations")?;
        Ok(Some((
            Meta {
                iterations: u32::try_from(iterations).unwrap_or(0),
                salt_pass: row.try_get("salt_pass")?,
                wrapped_dek_pass: row.try_get("wrapped_dek_pass")?,
                salt_rec: row.try_get("salt_rec")?,
                wrapped_dek_rec: row.try_get("wrapped_dek_rec")?,
                verifier: row.try_get("verifier")?,
            },
            row.try_get("key_proof_hash")?,
        )))
    }

    /// Replaces the wrapped keys (a new passphrase or recovery key); the
    /// data key, its verifier and proof stay.
    pub async fn update_e2ee_wraps(&self, project_id: &str, meta: &Meta) -> Result<()> {
        let done = sqlx::query(
            "UPDATE e2ee_meta SET iterations = $1, salt_pass = $2, wrapped_dek_pass = $3, \
             salt_rec = $4, wrapped_dek_rec = $5, updated_at = $6 WHERE project_id = $7",
        )
        .bind(i64::from(meta.iterations))
        .bind(&meta.salt_pass)
        .bind(&meta.wrapped_dek_pass)
        .bind(&meta.salt_rec)
        .bind(&meta.wrapped_dek_rec)
        .bind(now_ms())
        .bind(project_id)
        .execute(&self.pools.write)
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found("key metadata of project", project_id));
        }
        Ok(())
    }
}
