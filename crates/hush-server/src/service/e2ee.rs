//! End-to-end-encrypted projects: the key metadata the server keeps for
//! clients, and the key proof that guards writes (see `hush_core::e2ee`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hush_core::e2ee::{Meta, MIN_ITERATIONS};
use hush_core::secret::constant_time_eq;
use hush_store::{EncryptionMode, Project};

use super::Services;
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::InvalidE2eeMeta, message)
}

/// Checks metadata a client sent: the shape this scheme writes, so that a
/// malformed upload cannot lock a project's owners out.
pub fn validate_meta(meta: &Meta) -> Result<(), ServiceError> {
    if meta.iterations < MIN_ITERATIONS {
        return Err(invalid(format!(
            "iterations must be at least {MIN_ITERATIONS}"
        )));
    }
    for (field, text, min) in [
        ("saltPass", &meta.salt_pass, 16),
        ("saltRec", &meta.salt_rec, 16),
        ("wrappedDekPass", &meta.wrapped_dek_pass, 60),
        ("wrappedDekRec", &meta.wrapped_dek_rec, 60),
        ("verifier", &meta.verifier, 32),
    ] {
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| invalid(format!("{field} must be standard base64")))?;
        if bytes.len() < min {
            return Err(invalid(format!("{field} is too short")));
        }
    }
    Ok(())
}

/// The key proof as the server keeps it (SHA-256, hex): 64 hex digits in.
pub fn proof_hash(proof: &str) -> Result<String, ServiceError> {
    if proof.len() != 64 || !proof.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::new(
            ErrorCode::InvalidKeyProof,
            "key_proof must be 64 hex digits",
        ));
    }
    Ok(hush_core::token::hash(&proof.to_ascii_lowercase()))
}

/// Key metadata of end-to-end-encrypted projects and the key proofs that guard their writes; the server never holds their keys. Handed out by [`Services::e2ee`].
pub struct E2ee<'a> {
    s: &'a Services,
}

impl Services {
    /// The e2ee facade.
    pub fn e2ee(&self) -> E2ee<'_> {
        E2ee { s: self }
    }
}

impl E2ee<'_> {
    /// A project's key metadata, for clients that will decrypt locally.
    pub async fn meta(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
    ) -> Result<Meta, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_in(&project.id, Permission::SecretRead)?;
        self.meta_stored(&project).await
    }

    async fn meta_stored(&self, project: &Project) -> Result<Meta, ServiceError> {
        self.s
            .store
            .e2ee_meta(&project.id)
            .await?
            .map(|(meta, _)| meta)
            .ok_or_else(|| {
                ServiceError::Store(hush_store::StoreError::NotFound {
                    kind: "key metadata of project",
                    what: project.slug.clone(),
                })
            })
    }

    /// The metadata of a pulled project, if it is end-to-end encrypted.
    pub async fn meta_of(&self, project: &Project) -> Result<Option<Meta>, ServiceError> {
        if project.mode != EncryptionMode::Client {
            return Ok(None);
        }
        Ok(self
            .s
            .store
            .e2ee_meta(&project.id)
            .await?
            .map(|(meta, _)| meta))
    }

    /// Replaces the wrapped keys after a passphrase change or a new
    /// recovery key. The caller proves it holds the data key; the verifier
    /// must stay (the values are not re-encrypted, so the key cannot change).
    pub async fn rewrap(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        meta: &Meta,
        key_proof: Option<&str>,
    ) -> Result<(), ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        self.check_key_proof(&project, key_proof).await?;
        validate_meta(meta)?;
        let current = self.meta_stored(&project).await?;
        if !constant_time_eq(current.verifier.as_bytes(), meta.verifier.as_bytes()) {
            return Err(invalid(
                "the verifier must stay the same: rewrap the project's data key, do not replace it",
            ));
        }
        Ok(self.s.store.update_e2ee_wraps(&project.id, meta).await?)
    }

    /// Refuses a write to an end-to-end-encrypted project unless it carries
    /// the proof registered at creation (422 `key_proof_required` /
    /// `key_proof_mismatch`), so a client with a wrong key stores nothing.
    ///
    /// A project created by a client that knows no key proof (the Hep.gg
    /// dashboard API with the seed's `e2eeMeta` alone) registered none:
    /// the server cannot tell its keys apart, so its writes are taken as
    /// they come (such clients prove the key to themselves by unwrapping
    /// the data key before they write), and a proof hush's clients send
    /// anyway is not checked.
    pub async fn check_key_proof(
        &self,
        project: &Project,
        proof: Option<&str>,
    ) -> Result<(), ServiceError> {
        let Some((_, expected)) = self.s.store.e2ee_meta(&project.id).await? else {
            return Ok(());
        };
        if expected.is_empty() {
            return Ok(());
        }
        let proof = proof.ok_or_else(|| {
            ServiceError::new(
                ErrorCode::KeyProofRequired,
                "writes to this end-to-end-encrypted project need the X-Hush-Key-Proof header",
            )
        })?;
        let given = proof_hash(proof).map_err(|_| mismatch())?;
        if constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            Ok(())
        } else {
            Err(mismatch())
        }
    }
}

fn mismatch() -> ServiceError {
    ServiceError::new(ErrorCode::KeyProofMismatch,
        "the key proof does not match this project's key: wrong passphrase or recovery key; nothing was stored",
    )
}
