//! A scope's version history.

use hush_store::{DiffEntry, Reveal, Secret, VersionInfo};

use super::{ScopeAddress, Services};
use crate::auth::{Principal, Scope};
use crate::error::ServiceError;

impl Services {
    /// The version log, newest first.
    pub async fn versions(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
    ) -> Result<Vec<VersionInfo>, ServiceError> {
        who.require(Scope::SecretRead)?;
        let target = self.target(who, org, project, address).await?;
        Ok(self.store.versions(&target.scope).await?)
    }

    /// One version with the scope's full state at that version.
    pub async fn version_state(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        version: i64,
        reveal: Reveal,
    ) -> Result<(VersionInfo, Vec<Secret>), ServiceError> {
        who.require(if reveal == Reveal::Plaintext {
            Scope::SecretDecrypt
        } else {
            Scope::SecretRead
        })?;
        let target = self.target(who, org, project, address).await?;
        let info = self.store.version(&target.scope, version).await?;
        let secrets = self
            .store
            .secrets_at(&target.scope, version, reveal)
            .await?;
        Ok((info, secrets))
    }

    /// Names that differ between two versions.
    pub async fn diff(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        from: i64,
        to: i64,
    ) -> Result<Vec<DiffEntry>, ServiceError> {
        who.require(Scope::SecretRead)?;
        let target = self.target(who, org, project, address).await?;
        Ok(self.store.diff(&target.scope, from, to).await?)
    }

    /// Restores a version as a new version.
    pub async fn restore(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        version: i64,
        expected_version: Option<i64>,
    ) -> Result<VersionInfo, ServiceError> {
        who.require(Scope::SecretWrite)?;
        let target = self.target(who, org, project, address).await?;
        Ok(self
            .store
            .restore(&target.scope, version, &who.actor(), expected_version)
            .await?)
    }

    /// Deletes one (not the current) version.
    pub async fn delete_version(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        version: i64,
    ) -> Result<(), ServiceError> {
        who.require(Scope::SecretPurge)?;
        let target = self.target(who, org, project, address).await?;
        Ok(self.store.delete_version(&target.scope, version).await?)
    }

    /// Erases all history but the current state.
    pub async fn purge(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
    ) -> Result<u64, ServiceError> {
        who.require(Scope::SecretPurge)?;
        let target = self.target(who, org, project, address).await?;
        Ok(self.store.purge_history(&target.scope).await?)
    }
}
