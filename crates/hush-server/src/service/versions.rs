//! A scope's version history.

use hush_store::{DiffEntry, Reveal, VersionInfo};

use super::{Page, ScopeAddress, SecretsRead, Services};
use crate::auth::{Permission, Principal};
use crate::error::ServiceError;

impl Services {
    /// A page of the version log, newest first.
    pub async fn versions(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        page: Page,
    ) -> Result<Vec<VersionInfo>, ServiceError> {
        let target = self.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
        Ok(self
            .store
            .versions(&target.scope, page.before, page.limit)
            .await?)
    }

    /// The scope's full state at one version.
    pub async fn version_state(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        version: i64,
        reveal: Reveal,
    ) -> Result<SecretsRead, ServiceError> {
        let target = self.target(who, org, project, address).await?;
        who.require_in(
            &target.project.id,
            if reveal == Reveal::Plaintext {
                Permission::SecretDecrypt
            } else {
                Permission::SecretRead
            },
        )?;
        if reveal == Reveal::Plaintext {
            who.audit_action("version.decrypt");
        }
        // secrets_at answers NotFound for a version that does not exist.
        let secrets = self
            .store
            .secrets_at(&target.scope, version, reveal)
            .await?;
        Ok(SecretsRead {
            mode: target.project.mode,
            version,
            secrets,
        })
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
        let target = self.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
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
        let target = self.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretWrite)?;
        Ok(who
            .commit(|author| async move {
                self.store
                    .restore(&target.scope, version, &author, expected_version)
                    .await
            })
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
        let target = self.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretPurge)?;
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
        let target = self.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretPurge)?;
        Ok(self.store.purge_history(&target.scope).await?)
    }
}
