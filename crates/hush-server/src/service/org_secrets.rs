//! Organization secrets: one flat, organization-wide store (webhook
//! signing keys, third-party API keys) that the Hooklistener and InsForge
//! APIs, the native API, the CLI and `hush run --org-secrets` share.
//!
//! They are the project level of the organization's project
//! [`ORG_SECRETS`], made on first use: so every write is a version
//! (listed, restored, audited like any other scope), values are sealed
//! with that project's data key, and a token limited to another project
//! cannot reach them, while one limited to `org-secrets` (Hooklistener's
//! `hklst_` keys) reaches nothing else. Names follow the rule both seeds
//! accept, `^[A-Z][A-Z0-9_]*$`, whichever surface writes them.

use hush_core::{SecretString, Slug};
use hush_store::{EncryptionMode, Project, ReadOptions, Reveal, Secret, StoreError};

use super::{ScopeAddress, SecretChange, SecretValue, Services, Target, WriteGuard};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// The project holding each organization's secrets.
pub const ORG_SECRETS: &str = "org-secrets";

/// The longest an admin JWT lives: a day (an hour by default).
pub const MAX_JWT_SECONDS: i64 = 86_400;

/// The names every surface accepts (Hooklistener's rule, which also
/// satisfies InsForge's `^[A-Z0-9_]+$` and hush's own).
pub const NAME_RULE: &str = "^[A-Z][A-Z0-9_]*$";

/// Whether `name` follows [`NAME_RULE`].
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Makes the organization's secrets project (by the server: reading an
/// empty store needs no right to create projects); another request that
/// made it first is fine.
pub(crate) async fn create_project(
    store: &hush_store::Store,
    org: &hush_store::Organization,
) -> Result<Project, ServiceError> {
    let slug = Slug::parse("project", ORG_SECRETS)?;
    match store
        .create_project(
            org,
            &slug,
            "Organization secrets",
            EncryptionMode::Server,
            "system",
        )
        .await
    {
        Ok(project) => Ok(project),
        Err(StoreError::AlreadyExists { .. }) => Ok(store.project(org, ORG_SECRETS).await?),
        Err(err) => Err(err.into()),
    }
}

/// One organization secret's metadata (never its value).
#[derive(Debug, Clone)]
pub struct OrgSecret {
    /// Stable id (Hooklistener's `{id}`).
    pub id: String,
    /// Name (InsForge's `key`).
    pub name: String,
    /// Inactive secrets read as missing and are left out of injection.
    pub is_active: bool,
    /// Reserved secrets cannot be deleted.
    pub is_reserved: bool,
    /// Creation time (unix ms).
    pub created_at: i64,
    /// Last change (unix ms).
    pub updated_at: i64,
    /// Expiry (unix ms), if any.
    pub expires_at: Option<i64>,
    /// When its value was last read (unix ms), if ever.
    pub last_used_at: Option<i64>,
}

impl OrgSecret {
    /// Whether it has expired at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    fn from_secret(s: &Secret) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
            is_active: s.is_active,
            is_reserved: s.is_reserved,
            created_at: s.created_at,
            updated_at: s.updated_at,
            expires_at: s.expires_at,
            last_used_at: None,
        }
    }
}

/// Which secret a request names.
#[derive(Debug, Clone, Copy)]
pub enum Which<'a> {
    /// By id (Hooklistener).
    Id(&'a str),
    /// By name (InsForge, the CLI).
    Name(&'a str),
}

/// A change to one secret's value or flags; `None` keeps a field.
#[derive(Debug, Default)]
pub struct OrgSecretUpdate {
    /// A new value.
    pub value: Option<SecretString>,
    /// Active or not.
    pub is_active: Option<bool>,
    /// Reserved or not.
    pub is_reserved: Option<bool>,
    /// `Some(None)` clears the expiry.
    pub expires_at: Option<Option<i64>>,
}

/// A secret to create.
#[derive(Debug)]
pub struct NewOrgSecret {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: SecretString,
    /// Protected from deletion.
    pub is_reserved: bool,
    /// Expiry (unix ms).
    pub expires_at: Option<i64>,
    /// Whether creating a name that is soft-deleted (inactive) brings it
    /// back with the new value (InsForge) instead of answering 409.
    pub reactivate: bool,
}

/// Organization secrets over hush's services. Handed out by
/// [`Services::org_secrets`].
pub struct OrgSecrets<'a> {
    s: &'a Services,
}

impl Services {
    /// The organization-secrets facade.
    pub fn org_secrets(&self) -> OrgSecrets<'_> {
        OrgSecrets { s: self }
    }
}

fn not_found(which: Which<'_>) -> ServiceError {
    let what = match which {
        Which::Id(id) => id,
        Which::Name(name) => name,
    };
    ServiceError::new(ErrorCode::NotFound, format!("Secret not found: {what}"))
}

impl OrgSecrets<'_> {
    /// Makes sure the organization's secrets project exists (before a
    /// Hooklistener key is limited to it).
    pub async fn ensure(&self, who: &Principal, org: &str) -> Result<(), ServiceError> {
        self.project(who, org).await.map(drop)
    }

    /// The organization's secrets project, through the caller's view (so
    /// project-limited tokens stop here), made on first use.
    async fn project(&self, who: &Principal, org: &str) -> Result<Project, ServiceError> {
        let project = self.s.project(who, org, ORG_SECRETS).await?.1;
        if project.mode != EncryptionMode::Server {
            return Err(ServiceError::new(
                ErrorCode::E2eeProject,
                format!(
                    "project {ORG_SECRETS} is end-to-end encrypted, so it cannot hold the \
                     organization's secrets; rename it"
                ),
            ));
        }
        Ok(project)
    }

    async fn target(&self, who: &Principal, org: &str) -> Result<Target, ServiceError> {
        let project = self.project(who, org).await?;
        self.s
            .target_in(who, project, &ScopeAddress::default())
            .await
    }

    /// Every secret's metadata, active or not, newest first.
    pub async fn list(&self, who: &Principal, org: &str) -> Result<Vec<OrgSecret>, ServiceError> {
        let target = self.target(who, org).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
        let used = self.s.store.last_used(&target.scope).await?;
        let mut all: Vec<OrgSecret> = self
            .read(&target, Reveal::Metadata)
            .await?
            .iter()
            .map(|s| OrgSecret {
                last_used_at: used.get(&s.id).copied(),
                ..OrgSecret::from_secret(s)
            })
            .collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.name.cmp(&b.name)));
        Ok(all)
    }

    async fn read(&self, target: &Target, reveal: Reveal) -> Result<Vec<Secret>, ServiceError> {
        Ok(self
            .s
            .store
            .read_level(
                &target.scope,
                ReadOptions {
                    reveal,
                    include_inactive: true,
                },
            )
            .await?
            .secrets)
    }

    /// One secret's metadata.
    pub async fn get(
        &self,
        who: &Principal,
        org: &str,
        which: Which<'_>,
    ) -> Result<OrgSecret, ServiceError> {
        let target = self.target(who, org).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
        self.find(&target, which, Reveal::Metadata)
            .await
            .map(|s| OrgSecret::from_secret(&s))
    }

    async fn find(
        &self,
        target: &Target,
        which: Which<'_>,
        reveal: Reveal,
    ) -> Result<Secret, ServiceError> {
        self.read(target, reveal)
            .await?
            .into_iter()
            .find(|s| match which {
                Which::Id(id) => s.id == id,
                Which::Name(name) => s.name == name,
            })
            .ok_or_else(|| not_found(which))
    }

    /// A secret's value, audited as `secret.decrypt`. An inactive or
    /// expired secret reads as missing.
    pub async fn value(
        &self,
        who: &Principal,
        org: &str,
        which: Which<'_>,
    ) -> Result<(OrgSecret, SecretString), ServiceError> {
        let target = self.target(who, org).await?;
        who.require_in(&target.project.id, Permission::SecretDecrypt)?;
        who.audit_action("secret.decrypt");
        let secret = self.find(&target, which, Reveal::Plaintext).await?;
        let meta = OrgSecret::from_secret(&secret);
        if !meta.is_active || meta.expired(crate::now_ms()) {
            return Err(not_found(which));
        }
        self.s.store.touch_secret(&target.scope, &meta.id).await?;
        match secret.value {
            hush_store::Value::Plain(value) => Ok((meta, value)),
            _ => Err(not_found(which)),
        }
    }

    fn check_name(name: &str) -> Result<(), ServiceError> {
        if valid_name(name) {
            Ok(())
        } else {
            Err(ServiceError::new(
                ErrorCode::InvalidName,
                format!(
                    "{name:?} is not a valid organization secret name: names match {NAME_RULE} \
                     (an upper-case letter, then upper-case letters, digits and underscores)"
                ),
            ))
        }
    }

    /// Creates a secret (one version). An existing name is a conflict,
    /// except a soft-deleted one when `reactivate` is set.
    pub async fn create(
        &self,
        who: &Principal,
        org: &str,
        new: NewOrgSecret,
    ) -> Result<OrgSecret, ServiceError> {
        Self::check_name(&new.name)?;
        let target = self.target(who, org).await?;
        let existing = self
            .read(&target, Reveal::Metadata)
            .await?
            .into_iter()
            .find(|s| s.name == new.name);
        if let Some(existing) = &existing {
            if existing.is_active || !new.reactivate {
                return Err(ServiceError::new(
                    ErrorCode::AlreadyExists,
                    format!("Secret already exists: {}", new.name),
                ));
            }
        }
        let value = SecretValue {
            is_reserved: new.is_reserved,
            expires_at: new.expires_at,
            ..SecretValue::new(new.name.clone(), new.value)
        };
        self.write(who, org, vec![SecretChange::Set(value)]).await?;
        self.get(who, org, Which::Name(&new.name)).await
    }

    /// Changes a secret's value or flags (one version).
    pub async fn update(
        &self,
        who: &Principal,
        org: &str,
        which: Which<'_>,
        update: OrgSecretUpdate,
    ) -> Result<OrgSecret, ServiceError> {
        let target = self.target(who, org).await?;
        who.require_in(&target.project.id, Permission::SecretWrite)?;
        let current = self.find(&target, which, Reveal::Metadata).await?;
        let value = SecretValue {
            name: current.name.clone(),
            value: update.value,
            note: current.note,
            tags: current.tags,
            is_active: update.is_active.unwrap_or(current.is_active),
            is_reserved: update.is_reserved.unwrap_or(current.is_reserved),
            expires_at: update.expires_at.unwrap_or(current.expires_at),
        };
        self.write(who, org, vec![SecretChange::Set(value)]).await?;
        self.get(who, org, Which::Name(&current.name)).await
    }

    /// Soft delete (InsForge): the secret becomes inactive. Reserved
    /// secrets are refused.
    pub async fn deactivate(
        &self,
        who: &Principal,
        org: &str,
        which: Which<'_>,
    ) -> Result<OrgSecret, ServiceError> {
        let current = self.get(who, org, which).await?;
        if current.is_reserved {
            return Err(ServiceError::new(
                ErrorCode::SecretReserved,
                format!("Cannot delete reserved secret: {}", current.name),
            ));
        }
        let update = OrgSecretUpdate {
            is_active: Some(false),
            ..OrgSecretUpdate::default()
        };
        self.update(who, org, which, update).await
    }

    /// Removes a secret (Hooklistener's delete). Reserved secrets are
    /// refused.
    pub async fn remove(
        &self,
        who: &Principal,
        org: &str,
        which: Which<'_>,
    ) -> Result<OrgSecret, ServiceError> {
        let current = self.get(who, org, which).await?;
        self.write(who, org, vec![SecretChange::Delete(current.name.clone())])
            .await?;
        Ok(current)
    }

    async fn write(
        &self,
        who: &Principal,
        org: &str,
        changes: Vec<SecretChange>,
    ) -> Result<(), ServiceError> {
        self.s
            .secrets()
            .write(
                who,
                org,
                ORG_SECRETS,
                &ScopeAddress::default(),
                changes,
                WriteGuard::default(),
            )
            .await
            .map(drop)
    }

    /// An admin JWT for InsForge's API, signed with the organization's
    /// key: valid for `ttl_seconds` (at most a day) and only while the
    /// caller's own token is. Needs `org:admin` over the organization.
    pub async fn issue_jwt(
        &self,
        who: &Principal,
        org: &str,
        ttl_seconds: i64,
    ) -> Result<(String, i64), ServiceError> {
        let organization = self.s.org(who, org).await?;
        who.require_org_wide(Permission::OrgAdmin)?;
        if !(60..=MAX_JWT_SECONDS).contains(&ttl_seconds) {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                format!("expires_in is between 60 and {MAX_JWT_SECONDS} seconds"),
            ));
        }
        let key = self.s.store.jwt_key(&organization.id).await?;
        let now = crate::now_ms() / 1000;
        let claims = hush_core::jwt::Claims {
            sub: who.token.id.clone(),
            org: organization.id,
            role: "admin".to_owned(),
            iat: now,
            exp: now + ttl_seconds,
        };
        Ok((hush_core::jwt::sign(&key, &claims), claims.exp * 1000))
    }

    /// Replaces the organization's JWT signing key: every admin JWT issued
    /// so far stops working.
    pub async fn rotate_jwt_key(&self, who: &Principal, org: &str) -> Result<(), ServiceError> {
        let organization = self.s.org(who, org).await?;
        who.require_org_wide(Permission::OrgAdmin)?;
        Ok(
            who.commit(|author| async move {
                self.s.store.rotate_jwt_key(&organization.id, &author).await
            })
            .await?,
        )
    }

    /// Active, unexpired secrets with their values, for injection beside
    /// a project's (`hush run --org-secrets`).
    pub async fn values(
        &self,
        who: &Principal,
        org: &str,
    ) -> Result<Vec<(String, SecretString)>, ServiceError> {
        let target = self.target(who, org).await?;
        who.require_in(&target.project.id, Permission::SecretDecrypt)?;
        who.audit_action("secret.decrypt");
        let now = crate::now_ms();
        Ok(self
            .read(&target, Reveal::Plaintext)
            .await?
            .into_iter()
            .filter(|s| s.is_active && s.expires_at.is_none_or(|at| at > now))
            .filter_map(|s| match s.value {
                hush_store::Value::Plain(v) => Some((s.name, v)),
                _ => None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_both_seeds_rules() {
        for good in ["STRIPE_WEBHOOK_SECRET", "API_KEY", "A", "K8S_TOKEN_2"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in [
            "",
            "api_key",
            "1PASSWORD",
            "_X",
            "API-KEY",
            "Api_Key",
            "ÄPI",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
