//! A scope's version history.

use hush_store::{DiffEntry, Reveal, VersionInfo, VersionState};

use super::{Page, ScopeAddress, SecretsRead, Services, Target};
use crate::auth::{Permission, Principal};
use crate::error::ServiceError;

/// A scope's version log: list, read, diff, restore, delete, purge. Handed out by [`Services::versions`].
pub struct Versions<'a> {
    s: &'a Services,
}

impl Services {
    /// The versions facade.
    pub fn versions(&self) -> Versions<'_> {
        Versions { s: self }
    }
}

impl Versions<'_> {
    /// A page of the version log, newest first.
    pub async fn list(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        page: Page,
    ) -> Result<Vec<VersionInfo>, ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
        Ok(self
            .s
            .store
            .versions(&target.scope, page.before, page.limit)
            .await?)
    }

    /// The scope's full state at one version.
    pub async fn state(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        version: i64,
        reveal: Reveal,
    ) -> Result<SecretsRead, ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
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
            .s
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
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
        Ok(self.s.store.diff(&target.scope, from, to).await?)
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
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretWrite)?;
        Ok(who
            .commit(|author| async move {
                self.s
                    .store
                    .restore(&target.scope, version, &author, expected_version)
                    .await
            })
            .await?)
    }

    /// Deletes one (not the current) version.
    pub async fn delete(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        version: i64,
    ) -> Result<(), ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretPurge)?;
        Ok(self.s.store.delete_version(&target.scope, version).await?)
    }

    /// Soft-deletes, undeletes or destroys one version (the states Vault
    /// KV clients set; see README, "Using Vault clients with hush");
    /// returns it as it is now. Destroying needs `secret:purge`.
    pub async fn set_state(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        version: i64,
        state: VersionState,
    ) -> Result<VersionInfo, ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
        // A version that does not exist is a 404 here (KV skips it).
        self.s.store.version(&target.scope, version).await?;
        self.change_states(who, &target, vec![version], state)
            .await?;
        Ok(self.s.store.version(&target.scope, version).await?)
    }

    /// The shared part of [`Versions::set_state`] and the KV routes:
    /// permission, then the change with the request's audit entry.
    pub(crate) async fn change_states(
        &self,
        who: &Principal,
        target: &Target,
        versions: Vec<i64>,
        state: VersionState,
    ) -> Result<Vec<i64>, ServiceError> {
        who.require_in(
            &target.project.id,
            match state {
                VersionState::Destroy => Permission::SecretPurge,
                VersionState::Delete | VersionState::Undelete => Permission::SecretWrite,
            },
        )?;
        Ok(who
            .commit(|author| async move {
                self.s
                    .store
                    .set_version_state(&target.scope, versions, state, &author)
                    .await
            })
            .await?)
    }

    /// Erases all history but the current state.
    pub async fn purge(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
    ) -> Result<u64, ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretPurge)?;
        Ok(self.s.store.purge_history(&target.scope).await?)
    }
}
