//! vault-env projects: signed requests, devices, and opaque per-environment
//! blobs with their version history.
//!
//! A vault-env project is an ordinary client-encrypted hush project in the
//! default organization: its environments' secrets are one opaque blob
//! each (the server cannot decrypt them), versioned like every scope, so
//! the native API, `hush versions` and the audit log see it too.

use hush_core::names::MAX_LABEL;
use hush_core::vaultenv::{Signature, SignedRequest};
use hush_core::{SecretString, Slug, TextRule};
use hush_store::{
    Author, Blob, ChildKind, Device, DeviceStatus, EncryptionMode, Environment, Project, Scope,
    StoreError, VaultKey, VersionInfo,
};

use super::{Services, DEFAULT_ORG};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};
use crate::ratelimit::Rate;

/// Environments a new vault-env project starts with (the seed's).
pub const DEFAULT_ENVIRONMENTS: [&str; 3] = ["development", "staging", "production"];

/// Who wrote a vault-env version: the device when the request named one,
/// else the holder of the project's vault key.
pub fn actor(device: Option<&Device>) -> String {
    device.map_or_else(|| "vault-key".to_owned(), |d| format!("device:{}", d.id))
}

fn forbidden(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::DeviceForbidden, message)
}

fn unauthorized(code: ErrorCode, message: impl Into<String>) -> ServiceError {
    ServiceError::new(code, message)
}

/// The vault-env protocol's projects, signing keys, devices and blob versions, and their management by project admins. Handed out by [`Services::vaultenv`].
pub struct VaultEnv<'a> {
    s: &'a Services,
}

impl Services {
    /// The vaultenv facade.
    pub fn vaultenv(&self) -> VaultEnv<'_> {
        VaultEnv { s: self }
    }
}

impl VaultEnv<'_> {
    /// `POST /project/create`: a client-encrypted project with the default
    /// environments. With a hush token (`org:admin`, organization-wide)
    /// it is created in the token's organization under a slug from
    /// `name`. Without one, only on a server with open registration, a
    /// few per hour per client address, in the default organization under
    /// a `vaultenv-` slug, so an anonymous caller never takes a name a
    /// native project would want.
    pub async fn create(
        &self,
        who: Option<&Principal>,
        client_ip: &str,
        name: &str,
    ) -> Result<(Project, Vec<String>), ServiceError> {
        let name = name.trim();
        check_name(name)?;
        let (org, base) = match who {
            Some(who) => {
                who.require_org_wide(Permission::OrgAdmin)?;
                let org = self.s.own_org(who).await?;
                (org, Slug::suggest(name, 50))
            }
            None if self.s.policy.vaultenv_open_registration => {
                self.s
                    .throttle(format!("vaultenv-create:{client_ip}"), REGISTRATION_RATE)?;
                let org = self.s.store.organization(DEFAULT_ORG).await?;
                (
                    org,
                    format!("{ANONYMOUS_PREFIX}{}", Slug::suggest(name, 40)),
                )
            }
            None => {
                return Err(ServiceError::new(
                    ErrorCode::RegistrationClosed,
                    "this server does not let anyone create vault-env projects: send \
                     `Authorization: Bearer <hush admin token>`, or ask the operator to \
                     start it with --vaultenv-open-registration",
                ))
            }
        };
        let base = Some(base.trim_end_matches('-').to_owned())
            .filter(|s| !s.is_empty() && s != ANONYMOUS_PREFIX.trim_end_matches('-'))
            .unwrap_or_else(|| format!("{ANONYMOUS_PREFIX}project"));
        let display = if name.is_empty() { base.as_str() } else { name };
        self.s.check_project_limit(&org).await?;
        let mut attempt = 0;
        let project = loop {
            let candidate = if attempt == 0 {
                base.clone()
            } else {
                let random = hush_core::token::generate("");
                let suffix: String = random.expose().chars().take(6).collect();
                format!("{base}-{}", suffix.to_ascii_lowercase())
            };
            let slug = Slug::parse("project", &candidate)?;
            match self
                .s
                .store
                .create_project(&org, &slug, display, EncryptionMode::Client, "vault-env")
                .await
            {
                Ok(project) => break project,
                Err(StoreError::AlreadyExists { .. }) if attempt < 5 => attempt += 1,
                Err(err) => return Err(err.into()),
            }
        };
        self.s.store.create_vaultenv(&project.id).await?;
        for env in DEFAULT_ENVIRONMENTS {
            let slug = Slug::parse("environment", env)?;
            self.s
                .store
                .create_child(ChildKind::Environment, &project, &slug, env)
                .await?;
        }
        Ok((project, DEFAULT_ENVIRONMENTS.map(str::to_owned).to_vec()))
    }

    /// `POST /project/set-key`: registers the signing key, once. The
    /// request must be signed with that same key.
    pub async fn set_key(
        &self,
        project_id: &str,
        key_hex: &str,
        request: SignedRequest<'_>,
        signature: Option<&str>,
    ) -> Result<Project, ServiceError> {
        let project = self.project(project_id).await?;
        let key = parse_key(key_hex)?;
        self.check_signature(&project, &key, request, signature)
            .await?;
        // A second call is refused (409 already_exists): the key is set once.
        self.s.store.set_vaultenv_key(&project.id, &key).await?;
        Ok(project)
    }

    /// Replaces a project's signing key (its admins, through hush): after
    /// a `VAULT_KEY` leaks, requests signed with the old one stop at once.
    pub async fn rotate_key(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        key_hex: &str,
    ) -> Result<Project, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        let key = parse_key(key_hex)?;
        match self.s.store.vaultenv_key(&project.id).await? {
            VaultKey::NotVaultEnv => return Err(unknown_project(&project.slug)),
            VaultKey::NotSet | VaultKey::Set(_) => {}
        }
        self.s.store.replace_vaultenv_key(&project.id, &key).await?;
        Ok(project)
    }

    /// Checks a signed request against the project's key: a well-formed
    /// `X-Vault-Signature`, a timestamp within five minutes, the right
    /// digest, and never seen before.
    pub async fn verify(
        &self,
        project: &Project,
        request: SignedRequest<'_>,
        signature: Option<&str>,
    ) -> Result<(), ServiceError> {
        match self.s.store.vaultenv_key(&project.id).await? {
            VaultKey::Set(key) => {
                self.check_signature(project, &key, request, signature)
                    .await
            }
            VaultKey::NotSet => Err(unauthorized(
                ErrorCode::KeyNotSet,
                "this project has no signing key yet: call /api/v1/project/set-key first",
            )),
            VaultKey::NotVaultEnv => Err(unknown_project(&project.id)),
        }
    }

    /// The vault-env project with this id (404 for anything else).
    pub async fn project(&self, project_id: &str) -> Result<Project, ServiceError> {
        let project = match self.s.store.project_by_id(project_id).await {
            Ok(project) => project,
            Err(StoreError::NotFound { .. }) => return Err(unknown_project(project_id)),
            Err(err) => return Err(err.into()),
        };
        match self.s.store.vaultenv_key(&project.id).await? {
            VaultKey::NotVaultEnv => Err(unknown_project(project_id)),
            _ => Ok(project),
        }
    }

    async fn check_signature(
        &self,
        project: &Project,
        key: &[u8; 32],
        request: SignedRequest<'_>,
        header: Option<&str>,
    ) -> Result<(), ServiceError> {
        let header = header.ok_or_else(|| {
            unauthorized(
                ErrorCode::MissingSignature,
                "send the request signed: X-Vault-Signature: v=<ms>,d=<hex>",
            )
        })?;
        let signature = Signature::parse(header).ok_or_else(|| {
            unauthorized(
                ErrorCode::InvalidSignature,
                "X-Vault-Signature must be v=<unix ms>,d=<64 hex digits>[,s=2]",
            )
        })?;
        let now = crate::now_ms();
        if !signature.is_fresh(now) {
            return Err(unauthorized(
                ErrorCode::StaleSignature,
                "the signature's timestamp is more than 5 minutes from the server's clock",
            ));
        }
        if !signature.verify(key, request) {
            return Err(unauthorized(
                ErrorCode::BadSignature,
                "the signature does not match this project's key",
            ));
        }
        let expires = signature.timestamp_ms + hush_core::vaultenv::MAX_SKEW_MS;
        if !self
            .s
            .store
            .remember_signature(&project.id, &signature.digest_hex(), expires)
            .await?
        {
            return Err(unauthorized(
                ErrorCode::ReplayedRequest,
                "this exact signed request was already received; sign each request anew",
            ));
        }
        Ok(())
    }

    /// The approved device sending `device_hash`, marked as seen. Pending,
    /// revoked, unknown or missing devices are refused with 403.
    pub async fn device(
        &self,
        project: &Project,
        device_hash: Option<&str>,
    ) -> Result<Device, ServiceError> {
        let hash = device_hash.ok_or_else(|| {
            forbidden(
                "device not registered: the request carries no device_hash; run register-device",
            )
        })?;
        let device = self
            .s
            .store
            .device_by_hash(&project.id, hash)
            .await?
            .ok_or_else(|| forbidden("device not registered: run register-device"))?;
        match device.status {
            DeviceStatus::Approved => {
                self.s.store.touch_device(&device.id).await?;
                Ok(device)
            }
            DeviceStatus::Pending => Err(forbidden(
                "device pending approval: ask the project owner to approve it (hush devices approve)",
            )),
            DeviceStatus::Revoked => {
                Err(forbidden("device revoked: it can no longer access this project"))
            }
        }
    }

    /// `POST /devices/register`.
    pub async fn register(
        &self,
        project: &Project,
        name: &str,
        device_hash: &str,
    ) -> Result<Device, ServiceError> {
        if hush_core::vaultenv::decode_hex32(device_hash).is_none() {
            return Err(ServiceError::new(
                ErrorCode::InvalidDeviceHash,
                "device_hash must be 64 hex digits (SHA-256 of the device secret)",
            ));
        }
        let name = if name.trim().is_empty() {
            "device"
        } else {
            name.trim()
        };
        TextRule::Line.check("device_name", name, MAX_LABEL)?;
        Ok(self
            .s
            .store
            .register_device(&project.id, name, device_hash)
            .await?)
    }

    /// The scope of an environment, created on first push when `create`.
    async fn scope(
        &self,
        project: &Project,
        env: &str,
        create: bool,
    ) -> Result<(Environment, Scope), ServiceError> {
        let environment = match self
            .s
            .store
            .child(ChildKind::Environment, project, env)
            .await
        {
            Ok(environment) => environment,
            Err(StoreError::NotFound { .. }) if create => {
                let slug = Slug::parse("environment", env)?;
                self.s
                    .store
                    .create_child(ChildKind::Environment, project, &slug, env)
                    .await?
            }
            Err(err) => return Err(err.into()),
        };
        let scope = Scope::new(project, None, Some(&environment))?;
        Ok((environment, scope))
    }

    /// `POST /secrets/push`: the blob as a new version of the environment.
    pub async fn push(
        &self,
        project: &Project,
        author: &Author,
        env: &str,
        blob: &SecretString,
        key_names: Vec<String>,
    ) -> Result<VersionInfo, ServiceError> {
        let (_, scope) = self.scope(project, env, true).await?;
        Ok(self
            .s
            .store
            .write_blob(
                &scope,
                Some(blob.expose().as_bytes().to_vec()),
                key_names,
                author,
                None,
            )
            .await?)
    }

    /// `POST /secrets/pull`: the current blob.
    pub async fn pull(&self, project: &Project, env: &str) -> Result<Blob, ServiceError> {
        let (_, scope) = self.scope(project, env, false).await?;
        match self.s.store.read_blob(&scope).await? {
            Some(blob) if blob.content.is_some() => Ok(blob),
            _ => Err(ServiceError::Store(StoreError::NotFound {
                kind: "secrets",
                what: format!("nothing pushed to {env} yet"),
            })),
        }
    }

    /// `POST /secrets/current-version`: version and time, no blob.
    pub async fn current(
        &self,
        project: &Project,
        env: &str,
    ) -> Result<Option<VersionInfo>, ServiceError> {
        let scope = match self.scope(project, env, false).await {
            Ok((_, scope)) => scope,
            Err(ServiceError::Store(StoreError::NotFound { .. })) => return Ok(None),
            Err(err) => return Err(err),
        };
        let version = self.s.store.current_version(&scope).await?;
        if version == 0 {
            return Ok(None);
        }
        Ok(Some(self.s.store.version(&scope, version).await?))
    }

    /// `POST /secrets/versions`: newest first.
    pub async fn versions(
        &self,
        project: &Project,
        env: &str,
    ) -> Result<Vec<VersionInfo>, ServiceError> {
        match self.scope(project, env, false).await {
            Ok((_, scope)) => {
                let all = super::Page::all();
                Ok(self.s.store.versions(&scope, all.before, all.limit).await?)
            }
            Err(ServiceError::Store(StoreError::NotFound { .. })) => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }

    /// `POST /secrets/rollback`: a new version equal to `version`.
    pub async fn rollback(
        &self,
        project: &Project,
        author: &Author,
        env: &str,
        version: i64,
    ) -> Result<VersionInfo, ServiceError> {
        let (_, scope) = self.scope(project, env, false).await?;
        Ok(self.s.store.restore(&scope, version, author, None).await?)
    }

    /// A vault-env project's devices, for its admins (native API).
    pub async fn list_devices(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
    ) -> Result<Vec<Device>, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        Ok(self.s.store.devices(&project.id).await?)
    }

    /// Approves or revokes a device. Only hush-authenticated project
    /// admins may: the vault-env protocol's own approve/revoke are signed
    /// with the vault key every device holds, so accepting them would let
    /// a revoked laptop, or anyone with a leaked `VAULT_KEY`, approve
    /// itself.
    pub async fn set_device_status(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        device_id: &str,
        status: DeviceStatus,
    ) -> Result<Device, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        Ok(self
            .s
            .store
            .set_device_status(&project.id, device_id, status)
            .await?)
    }
}

/// Longest project name `project/create` accepts.
pub const MAX_PROJECT_NAME: usize = 100;

/// Slug prefix of projects created without a hush token.
const ANONYMOUS_PREFIX: &str = "vaultenv-";

/// Anonymous creations per client address: a burst of 3, then one every
/// 10 minutes.
const REGISTRATION_RATE: Rate = Rate {
    per_second: 1.0 / 600.0,
    burst: 3.0,
};

fn check_name(name: &str) -> Result<(), ServiceError> {
    Ok(TextRule::Line.check("project_name", name, MAX_PROJECT_NAME)?)
}

fn parse_key(key_hex: &str) -> Result<[u8; 32], ServiceError> {
    hush_core::vaultenv::decode_hex32(key_hex.trim()).ok_or_else(|| {
        ServiceError::new(ErrorCode::InvalidKey, "auth_key_hash must be 64 hex digits")
    })
}

fn unknown_project(project_id: &str) -> ServiceError {
    ServiceError::Store(StoreError::NotFound {
        kind: "vault-env project",
        what: project_id.chars().take(64).collect(),
    })
}
