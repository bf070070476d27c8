//! Resolving slugs to records, with the caller's restrictions applied.
//!
//! A token sees only its organization, and only its project or environment
//! when it is restricted to one; everything else answers "not found", the
//! same as if it did not exist.

use hush_store::{Child, ChildKind, Environment, Organization, Project, Scope, StoreError};

use super::Services;
use crate::auth::Principal;
use crate::error::{ErrorCode, ServiceError};

fn not_found(kind: &'static str, what: &str) -> ServiceError {
    ServiceError::Store(StoreError::NotFound {
        kind,
        what: what.to_owned(),
    })
}

/// Which scope of a project a request addresses.
#[derive(Debug, Clone, Default)]
pub struct ScopeAddress {
    /// Target slug.
    pub target: Option<String>,
    /// Environment slug.
    pub env: Option<String>,
}

impl ScopeAddress {
    /// An environment with no target (Hep.gg's and the dashboard's
    /// projects have none).
    pub fn environment(slug: &str) -> Self {
        Self {
            target: None,
            env: Some(slug.to_owned()),
        }
    }
}

/// A resolved scope with the records it was resolved from.
pub struct Target {
    /// The project.
    pub project: Project,
    /// The target, if addressed.
    pub target_child: Option<Child>,
    /// The environment, if addressed.
    pub env: Option<Environment>,
    /// The scope.
    pub scope: Scope,
}

impl Services {
    /// The caller's view of an organization.
    pub async fn org(&self, who: &Principal, slug: &str) -> Result<Organization, ServiceError> {
        let org = self.store.organization(slug).await?;
        if org.id != who.token.org_id {
            return Err(not_found("organization", slug));
        }
        Ok(org)
    }

    /// The organization the caller's token belongs to.
    pub async fn own_org(&self, who: &Principal) -> Result<Organization, ServiceError> {
        self.store
            .organizations()
            .await?
            .into_iter()
            .find(|o| o.id == who.token.org_id)
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::InvalidToken,
                    "the token's organization no longer exists",
                )
            })
    }

    /// The caller's view of a project.
    pub async fn project(
        &self,
        who: &Principal,
        org: &str,
        slug: &str,
    ) -> Result<(Organization, Project), ServiceError> {
        let org = self.org(who, org).await?;
        let project = match self.store.project(&org, slug).await {
            Err(hush_store::StoreError::NotFound { .. }) if slug == super::ORG_SECRETS => {
                super::org_secrets::create_project(&self.store, &org).await?
            }
            other => other?,
        };
        if who
            .token
            .project_id
            .as_ref()
            .is_some_and(|id| *id != project.id)
        {
            return Err(not_found("project", slug));
        }
        who.note_project(&project.id);
        Ok((org, project))
    }

    /// The caller's view of a project by its id (the Hep.gg dashboard's
    /// `:id`): a project of another organization, or outside the caller's
    /// limits, is not found.
    pub async fn project_by_id(
        &self,
        who: &Principal,
        id: &str,
    ) -> Result<(Organization, Project), ServiceError> {
        let project = match self.store.project_by_id(id).await {
            Ok(project) if project.org_id == who.token.org_id => project,
            Ok(_) | Err(StoreError::NotFound { .. }) => return Err(not_found("project", id)),
            Err(err) => return Err(err.into()),
        };
        let org = self.store.organization_by_id(&project.org_id).await?;
        self.project(who, &org.slug, &project.slug).await
    }

    /// Resolves a scope of a project for the caller.
    pub async fn target(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
    ) -> Result<Target, ServiceError> {
        let (_, project) = self.project(who, org, project).await?;
        self.target_in(who, project, address).await
    }

    /// Resolves a scope of a project the caller may see.
    pub async fn target_in(
        &self,
        who: &Principal,
        project: Project,
        address: &ScopeAddress,
    ) -> Result<Target, ServiceError> {
        let target = match &address.target {
            Some(slug) => Some(self.store.child(ChildKind::Target, &project, slug).await?),
            None => None,
        };
        let env = match &address.env {
            Some(slug) => Some(
                self.store
                    .child(ChildKind::Environment, &project, slug)
                    .await?,
            ),
            None => None,
        };
        if let Some(locked) = &who.token.environment_id {
            match &env {
                Some(env) if env.id == *locked => {}
                Some(env) => return Err(not_found("environment", &env.slug)),
                None => {
                    return Err(ServiceError::new(
                        ErrorCode::EnvironmentLocked,
                        "this token is limited to one environment; pass ?env=",
                    ))
                }
            }
        }
        let scope = Scope::new(&project, target.as_ref(), env.as_ref())?;
        Ok(Target {
            project,
            target_child: target,
            env,
            scope,
        })
    }
}
