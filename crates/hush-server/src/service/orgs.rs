//! Organizations as the server's admin sees them: create, list all,
//! delete (`server:admin`, held by the first start's token). Within an
//! organization, `org:admin` runs everything else.

use hush_core::names::MAX_DISPLAY_NAME;
use hush_core::{SecretString, Slug, TextRule};
use hush_store::Organization;

use super::Services;
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// The organizations facade. Handed out by [`Services::orgs`].
pub struct Orgs<'a> {
    pub(super) s: &'a Services,
}

impl Services {
    /// The organizations facade.
    pub fn orgs(&self) -> Orgs<'_> {
        Orgs { s: self }
    }

    /// Creates an organization (its slug may not be a fixed segment of
    /// hush's routes) and an all-scopes token for it, shown once; shared by
    /// the API and `hush admin`.
    pub(super) async fn new_organization(
        &self,
        slug: &str,
        name: &str,
        created_by: &str,
    ) -> Result<(Organization, SecretString), ServiceError> {
        let slug = Slug::parse("organization", slug)?;
        crate::api::surface::RouteTable::new()
            .map_err(|err| ServiceError::new(ErrorCode::Internal, err))?
            .check_org_slug(slug.as_str())?;
        let name = match name.trim() {
            "" => slug.as_str(),
            name => name,
        };
        TextRule::Line.check("organization name", name, MAX_DISPLAY_NAME)?;
        let org = self.store.create_organization(&slug, name).await?;
        let (secret, _) = self
            .all_scopes_token(&org, "admin", created_by, None, false)
            .await?;
        Ok((org, secret))
    }

    /// Deletes an organization with everything in it (its audit entries
    /// stay, the chain intact).
    pub(super) async fn drop_organization(&self, org: &Organization) -> Result<(), ServiceError> {
        self.store.delete_organization(&org.id).await?;
        self.forget_cached();
        self.user_roles.clear();
        Ok(())
    }
}

impl Orgs<'_> {
    /// The organizations the caller sees: every one for a server admin,
    /// its own for anyone else.
    pub async fn list(&self, who: &Principal) -> Result<Vec<Organization>, ServiceError> {
        let all = self.s.store.organizations().await?;
        let everything = who.has(Permission::ServerAdmin);
        Ok(all
            .into_iter()
            .filter(|o| everything || o.id == who.token.org_id)
            .collect())
    }

    /// Creates an organization and its first admin token (needs
    /// `server:admin`).
    pub async fn create(
        &self,
        who: &Principal,
        slug: &str,
        name: &str,
    ) -> Result<(Organization, SecretString), ServiceError> {
        who.require_org_wide(Permission::ServerAdmin)?;
        self.s.new_organization(slug, name, &who.actor()).await
    }

    /// Deletes another organization with everything in it (needs
    /// `server:admin`; never the caller's own, which would lock it out).
    pub async fn delete(&self, who: &Principal, slug: &str) -> Result<Organization, ServiceError> {
        who.require_org_wide(Permission::ServerAdmin)?;
        let org = self.s.store.organization(slug).await?;
        if org.id == who.token.org_id {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                "a token cannot delete its own organization; use a server admin token of another (hush admin token --server-admin --org …) or hush admin orgs delete",
            ));
        }
        self.s.drop_organization(&org).await?;
        Ok(org)
    }
}
