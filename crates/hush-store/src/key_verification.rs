//! Key verification of DotEnv client-managed projects: the public salt
//! and iterations a client derives its key proof with, and the proof's
//! SHA-256 (see `hush_core::exchange`).

use crate::db::params;
use crate::{now_ms, Result, Store};

/// A project's key verification as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyVerification {
    /// PBKDF2 salt (standard base64).
    pub salt: String,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// SHA-256 (hex) of the key proof.
    pub proof_hash: String,
    /// When it was set (unix ms).
    pub updated_at: i64,
}

impl Store {
    /// A project's key verification, if one was set.
    pub async fn key_verification(&self, project_id: &str) -> Result<Option<KeyVerification>> {
        let row = self
            .db
            .row(
                "SELECT salt, iterations, key_proof_hash, updated_at \
                 FROM key_verifications WHERE project_id = $1",
                &params![project_id],
            )
            .await?;
        let Some(row) = row else { return Ok(None) };
        let iterations: i64 = row.get(1)?;
        Ok(Some(KeyVerification {
            salt: row.get(0)?,
            iterations: u32::try_from(iterations).unwrap_or(0),
            proof_hash: row.get(2)?,
            updated_at: row.get(3)?,
        }))
    }

    /// Sets (or replaces) a project's key verification.
    pub async fn set_key_verification(
        &self,
        project_id: &str,
        salt: &str,
        iterations: u32,
        proof_hash: &str,
    ) -> Result<()> {
        let values = params![
            project_id,
            salt,
            i64::from(iterations),
            proof_hash,
            now_ms()
        ];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "INSERT INTO key_verifications \
                     (project_id, salt, iterations, key_proof_hash, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (project_id) DO UPDATE SET salt = $2, iterations = $3, \
                     key_proof_hash = $4, updated_at = $5",
                    &values,
                )
                .await
            })
            .await?;
        Ok(())
    }
}
