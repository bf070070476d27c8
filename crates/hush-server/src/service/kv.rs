//! Vault's KV v2 model over hush's: a mount is an organization, a KV
//! path is a scope, a KV secret's data is exactly that level's secrets,
//! and KV versions are the scope's versions with their soft-delete and
//! destroy states. The wire format is `api::compat::vaultkv`'s; this is
//! the mapping and its rules, in one place.

use std::collections::BTreeMap;

use hush_core::SecretString;
use hush_store::{ChildKind, EncryptionMode, ReadOptions, Reveal, VersionInfo, VersionState};

use super::{Page, ScopeAddress, SecretChange, SecretValue, Services, Target, WriteGuard};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// The mount that serves the default organization, as in Vault's dev
/// servers and most examples.
pub const DEFAULT_MOUNT: &str = "secret";

/// A KV path, placed in hush.
#[derive(Debug, Clone)]
pub struct KvPath {
    /// The organization's slug.
    pub org: String,
    /// The project's slug.
    pub project: String,
    /// The target and environment (none for the project level).
    pub address: ScopeAddress,
}

impl KvPath {
    /// `<project>`, `<project>/<environment>` or
    /// `<project>/<target>/<environment>` under a mount.
    pub fn parse(mount: &str, path: &str) -> Result<Self, ServiceError> {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (project, target, env) = match parts.as_slice() {
            [project] => (*project, None, None),
            [project, env] => (*project, None, Some(*env)),
            [project, target, env] => (*project, Some(*target), Some(*env)),
            _ => {
                return Err(ServiceError::new(
                    ErrorCode::NotFound,
                    format!(
                        "{path:?} is not a hush scope: KV paths are <project>, \
                         <project>/<environment> or <project>/<target>/<environment>"
                    ),
                ))
            }
        };
        Ok(Self {
            org: org_of_mount(mount).to_owned(),
            project: project.to_owned(),
            address: ScopeAddress {
                target: target.map(str::to_owned),
                env: env.map(str::to_owned),
            },
        })
    }
}

/// The organization a mount serves.
pub fn org_of_mount(mount: &str) -> &str {
    if mount == DEFAULT_MOUNT {
        super::DEFAULT_ORG
    } else {
        mount
    }
}

/// A version of a KV secret with its data, when it can be read.
#[derive(Debug)]
pub struct KvVersion {
    /// The version and its state.
    pub info: VersionInfo,
    /// Its secrets, or `None` when soft-deleted or destroyed.
    pub data: Option<Vec<(String, SecretString)>>,
    /// The secret's custom metadata.
    pub custom_metadata: Option<serde_json::Value>,
}

/// A KV secret's metadata.
#[derive(Debug)]
pub struct KvMetadata {
    /// Every version kept (hush keeps all), oldest first.
    pub versions: Vec<VersionInfo>,
    /// The current version.
    pub current: i64,
    /// The settings written through `POST metadata/…`.
    pub settings: KvSettings,
}

/// What `POST metadata/…` sets; kept as JSON on the scope.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct KvSettings {
    /// Free-form string pairs.
    #[serde(default)]
    pub custom_metadata: Option<serde_json::Value>,
    /// Recorded and reported; hush keeps every version whatever it says.
    #[serde(default)]
    pub max_versions: u64,
    /// Writes must carry `options.cas`.
    #[serde(default)]
    pub cas_required: bool,
    /// Recorded and reported ("0s": never).
    #[serde(default)]
    pub delete_version_after: Option<String>,
    /// How many times the settings were written.
    #[serde(default)]
    pub metadata_version: u64,
}

/// Vault's KV v2 API over hush's services. Handed out by [`Services::kv`].
pub struct Kv<'a> {
    s: &'a Services,
}

impl Services {
    /// The KV facade.
    pub fn kv(&self) -> Kv<'_> {
        Kv { s: self }
    }
}

/// Vault's words for a stale check-and-set.
fn cas_mismatch() -> ServiceError {
    ServiceError::new(
        ErrorCode::VersionConflict,
        "check-and-set parameter did not match the current version",
    )
}

/// The refusal for projects whose values hush cannot read.
fn not_over_kv(project: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::E2eeProject,
        format!(
            "project {project} is end-to-end encrypted (or a vault-env project): hush holds no \
             key for its values, so the KV API cannot serve them; use hush's own clients"
        ),
    )
}

impl Kv<'_> {
    /// The scope of a path, refusing projects hush cannot decrypt.
    async fn scope(&self, who: &Principal, path: &KvPath) -> Result<Target, ServiceError> {
        let target = self
            .s
            .target(who, &path.org, &path.project, &path.address)
            .await?;
        if target.project.mode == EncryptionMode::Client {
            return Err(not_over_kv(&path.project));
        }
        Ok(target)
    }

    /// The scope of a path being written, creating its project, target
    /// and environment when missing (and the caller may create them).
    async fn scope_for_write(
        &self,
        who: &Principal,
        path: &KvPath,
    ) -> Result<Target, ServiceError> {
        match self.scope(who, path).await {
            Err(err) if err.code() == ErrorCode::NotFound => {}
            other => return other,
        }
        let ignore_existing = |result: Result<(), ServiceError>| match result {
            Err(err) if err.code() != ErrorCode::AlreadyExists => Err(err),
            _ => Ok(()),
        };
        if self.s.project(who, &path.org, &path.project).await.is_err() {
            let created = self
                .s
                .projects()
                .create(
                    who,
                    &path.org,
                    &path.project,
                    None,
                    EncryptionMode::Server,
                    None,
                )
                .await
                .map(drop);
            ignore_existing(created)?;
        }
        for (kind, slug) in [
            (ChildKind::Target, &path.address.target),
            (ChildKind::Environment, &path.address.env),
        ] {
            if let Some(slug) = slug {
                let created = self
                    .s
                    .projects()
                    .create_child(who, kind, &path.org, &path.project, slug, None)
                    .await
                    .map(drop);
                ignore_existing(created)?;
            }
        }
        self.scope(who, path).await
    }

    async fn settings(&self, target: &Target) -> Result<KvSettings, ServiceError> {
        Ok(match self.s.store.kv_meta(&target.scope).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => KvSettings::default(),
        })
    }

    /// One version (the current one by default). `None`: no such version
    /// (or nothing was ever written).
    pub async fn read(
        &self,
        who: &Principal,
        path: &KvPath,
        version: Option<i64>,
    ) -> Result<Option<KvVersion>, ServiceError> {
        let target = self.scope(who, path).await?;
        who.require_in(&target.project.id, Permission::SecretDecrypt)?;
        // The current version comes from the materialized state, with its
        // number in the same statement; older ones from the version log.
        let (number, current) = match version.filter(|v| *v > 0) {
            Some(v) => (v, None),
            None => {
                let read = self
                    .s
                    .store
                    .read_level(
                        &target.scope,
                        ReadOptions {
                            reveal: Reveal::Plaintext,
                            include_inactive: true,
                        },
                    )
                    .await?;
                (read.version, Some(read.secrets))
            }
        };
        let info = match self.s.store.version(&target.scope, number).await {
            Ok(info) => info,
            Err(hush_store::StoreError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let data = if info.deleted_at.is_some() || info.destroyed {
            None
        } else {
            let secrets = match current {
                Some(secrets) => secrets,
                None => {
                    self.s
                        .store
                        .secrets_at(&target.scope, number, Reveal::Plaintext)
                        .await?
                }
            };
            Some(
                secrets
                    .into_iter()
                    .filter_map(|s| match s.value {
                        hush_store::Value::Plain(v) => Some((s.name, v)),
                        _ => None,
                    })
                    .collect(),
            )
        };
        Ok(Some(KvVersion {
            info,
            data,
            custom_metadata: self.settings(&target).await?.custom_metadata,
        }))
    }

    /// Replaces the level's secrets with `data` as one version (KV's
    /// write), with `cas` as check-and-set.
    pub async fn write(
        &self,
        who: &Principal,
        path: &KvPath,
        data: BTreeMap<String, SecretString>,
        cas: Option<i64>,
    ) -> Result<(VersionInfo, Option<serde_json::Value>), ServiceError> {
        let target = self.scope_for_write(who, path).await?;
        let settings = self.settings(&target).await?;
        if settings.cas_required && cas.is_none() {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                "check-and-set parameter required for this call",
            ));
        }
        let current: Vec<String> = self
            .s
            .store
            .read_level(
                &target.scope,
                ReadOptions {
                    reveal: Reveal::Metadata,
                    include_inactive: true,
                },
            )
            .await?
            .secrets
            .into_iter()
            .map(|s| s.name)
            .filter(|name| !data.contains_key(name))
            .collect();
        let mut changes: Vec<SecretChange> =
            current.into_iter().map(SecretChange::Delete).collect();
        changes.extend(
            data.into_iter()
                .map(|(name, value)| SecretChange::Set(SecretValue::new(name, value))),
        );
        self.commit(who, path, changes, cas, settings).await
    }

    /// Merges `patch` into the current data (`None` removes a name), as
    /// one version. `Ok(None)`: nothing to patch (never written, or the
    /// current version is deleted or destroyed).
    pub async fn patch(
        &self,
        who: &Principal,
        path: &KvPath,
        patch: BTreeMap<String, Option<SecretString>>,
        cas: Option<i64>,
    ) -> Result<Result<(VersionInfo, Option<serde_json::Value>), Option<KvVersion>>, ServiceError>
    {
        let Some(current) = self.read(who, path, None).await? else {
            return Ok(Err(None));
        };
        let Some(data) = &current.data else {
            return Ok(Err(Some(current)));
        };
        let target = self.scope(who, path).await?;
        let settings = self.settings(&target).await?;
        let mut changes = Vec::new();
        for (name, value) in patch {
            match value {
                Some(value) => changes.push(SecretChange::Set(SecretValue::new(name, value))),
                None if data.iter().any(|(n, _)| *n == name) => {
                    changes.push(SecretChange::Delete(name))
                }
                None => {}
            }
        }
        if changes.is_empty() {
            return Ok(Ok((current.info, settings.custom_metadata)));
        }
        self.commit(who, path, changes, cas, settings).await.map(Ok)
    }

    /// Writes `changes` as one version; nothing to change answers the
    /// current version (hush makes no empty versions).
    async fn commit(
        &self,
        who: &Principal,
        path: &KvPath,
        changes: Vec<SecretChange>,
        cas: Option<i64>,
        settings: KvSettings,
    ) -> Result<(VersionInfo, Option<serde_json::Value>), ServiceError> {
        let guard = WriteGuard {
            expected_version: cas,
            key_proof: None,
        };
        let info = if changes.is_empty() {
            let target = self.scope(who, path).await?;
            let current = self.s.store.current_version(&target.scope).await?;
            if cas.is_some_and(|cas| cas != current) {
                return Err(cas_mismatch());
            }
            self.s.store.version(&target.scope, current).await?
        } else {
            match self
                .s
                .secrets()
                .write(who, &path.org, &path.project, &path.address, changes, guard)
                .await
            {
                Err(err) if err.code() == ErrorCode::VersionConflict => return Err(cas_mismatch()),
                other => other?,
            }
        };
        Ok((info, settings.custom_metadata))
    }

    /// Soft-deletes, undeletes or destroys versions; `None` means the
    /// current version (KV's `DELETE data/…`).
    pub async fn set_state(
        &self,
        who: &Principal,
        path: &KvPath,
        versions: Option<Vec<i64>>,
        state: VersionState,
    ) -> Result<(), ServiceError> {
        let target = self.scope(who, path).await?;
        let versions = match versions {
            Some(versions) => versions,
            None => vec![self.s.store.current_version(&target.scope).await?],
        };
        self.s
            .versions()
            .change_states(who, &target, versions, state)
            .await?;
        Ok(())
    }

    /// The secret's metadata; `None` if nothing was ever written there.
    pub async fn metadata(
        &self,
        who: &Principal,
        path: &KvPath,
    ) -> Result<Option<KvMetadata>, ServiceError> {
        let target = self.scope(who, path).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
        let settings = self.settings(&target).await?;
        let mut versions = self
            .s
            .store
            .versions(&target.scope, None, Page::new(None, Some(1000)).limit)
            .await?;
        if versions.is_empty() && settings.metadata_version == 0 {
            return Ok(None);
        }
        versions.reverse();
        Ok(Some(KvMetadata {
            current: self.s.store.current_version(&target.scope).await?,
            versions,
            settings,
        }))
    }

    /// Writes the secret's metadata settings (fields not given keep
    /// their value, as Vault does).
    pub async fn set_metadata(
        &self,
        who: &Principal,
        path: &KvPath,
        update: impl FnOnce(&mut KvSettings),
    ) -> Result<(), ServiceError> {
        let target = self.scope_for_write(who, path).await?;
        who.require_in(&target.project.id, Permission::SecretWrite)?;
        let mut settings = self.settings(&target).await?;
        update(&mut settings);
        settings.metadata_version += 1;
        let json = serde_json::to_string(&settings)
            .map_err(|err| ServiceError::new(ErrorCode::InvalidBody, format!("metadata: {err}")))?;
        who.commit(
            |author| async move { self.s.store.set_kv_meta(&target.scope, json, &author).await },
        )
        .await?;
        Ok(())
    }

    /// Forgets every version and the metadata (KV's `DELETE metadata/…`).
    pub async fn forget(&self, who: &Principal, path: &KvPath) -> Result<(), ServiceError> {
        let target = self.scope(who, path).await?;
        who.require_in(&target.project.id, Permission::SecretPurge)?;
        who.commit(|author| async move { self.s.store.forget_scope(&target.scope, &author).await })
            .await?;
        Ok(())
    }

    /// The keys under a folder: projects at the top (`web/`), then a
    /// project's environments (`production`) and targets (`api/`), then a
    /// target's environments. Empty: nothing there.
    pub async fn list(
        &self,
        who: &Principal,
        mount: &str,
        path: &str,
    ) -> Result<Vec<String>, ServiceError> {
        let org = org_of_mount(mount);
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let projects = self.s.projects();
        let children = |kind| projects.children(who, kind, org, parts[0]);
        let mut keys = match parts.as_slice() {
            [] => self
                .s
                .projects()
                .list(who, org, None, 1000)
                .await?
                .into_iter()
                .filter(|p| p.mode == EncryptionMode::Server)
                .map(|p| format!("{}/", p.slug))
                .collect(),
            [_] => {
                let mut keys: Vec<String> = children(ChildKind::Environment)
                    .await?
                    .into_iter()
                    .map(|c| c.slug)
                    .collect();
                keys.extend(
                    children(ChildKind::Target)
                        .await?
                        .into_iter()
                        .map(|c| format!("{}/", c.slug)),
                );
                keys
            }
            [_, target] => {
                let targets = children(ChildKind::Target).await?;
                if !targets.iter().any(|t| t.slug == *target) {
                    return Ok(Vec::new());
                }
                children(ChildKind::Environment)
                    .await?
                    .into_iter()
                    .map(|c| c.slug)
                    .collect()
            }
            _ => Vec::new(),
        };
        keys.sort();
        Ok(keys)
    }
}
