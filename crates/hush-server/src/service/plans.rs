//! Per-organization plans: how many projects, and environments per
//! project, an organization may have. Hep.gg's numbers are the presets
//! (free: 15 and 2; prime: 100 and 5); a self-hosted server's
//! organizations are unlimited until an owner picks a plan. Every surface
//! creates projects and environments through the checks here, so a breach
//! is refused the same way everywhere, with nothing created.

use hush_store::{ChildKind, Organization, PlanLimits, Project};

use super::Services;
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// The presets: name, most projects, most environments per project.
pub const PRESETS: [(&str, Option<u32>, Option<u32>); 3] = [
    ("free", Some(15), Some(2)),
    ("prime", Some(100), Some(5)),
    ("unlimited", None, None),
];

/// What an owner asks for: a preset, or `custom` with its numbers.
#[derive(Debug, Clone, Default)]
pub struct PlanRequest {
    /// `free`, `prime`, `unlimited` or `custom`.
    pub plan: String,
    /// For `custom`: most projects (none: unlimited).
    pub max_projects: Option<u32>,
    /// For `custom`: most environments per project (none: unlimited).
    pub max_environments: Option<u32>,
}

impl PlanRequest {
    fn limits(&self) -> Result<PlanLimits, ServiceError> {
        let plan = self.plan.trim().to_ascii_lowercase();
        if plan == "custom" {
            return Ok(PlanLimits {
                plan: Some(plan),
                max_projects: self.max_projects,
                max_environments: self.max_environments,
            });
        }
        if self.max_projects.is_some() || self.max_environments.is_some() {
            return Err(ServiceError::new(
                ErrorCode::InvalidBody,
                "max_projects and max_environments go with plan \"custom\"",
            ));
        }
        PRESETS
            .iter()
            .find(|(name, _, _)| *name == plan)
            .map(|(name, projects, envs)| PlanLimits {
                plan: (*name != "unlimited").then(|| (*name).to_owned()),
                max_projects: *projects,
                max_environments: *envs,
            })
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::InvalidBody,
                    format!("plan is free, prime, unlimited or custom, not {plan:?}"),
                )
            })
    }
}

fn plan_name(limits: &PlanLimits) -> &str {
    limits.plan.as_deref().unwrap_or("unlimited")
}

impl Services {
    /// Refuses a new project beyond the organization's plan.
    pub(super) async fn check_project_limit(&self, org: &Organization) -> Result<(), ServiceError> {
        let Some(max) = org.limits.max_projects else {
            return Ok(());
        };
        let count = self
            .store
            .count_projects(&org.id, super::ORG_SECRETS)
            .await?;
        if count >= u64::from(max) {
            return Err(ServiceError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "the organization's plan ({}) allows {max} projects and it has {count}: \
                     delete one, or an owner can change the plan (hush orgs plan)",
                    plan_name(&org.limits)
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a new environment beyond the organization's plan.
    pub(super) async fn check_environment_limit(
        &self,
        project: &Project,
    ) -> Result<(), ServiceError> {
        let org = self.store.organization_by_id(&project.org_id).await?;
        let Some(max) = org.limits.max_environments else {
            return Ok(());
        };
        let count = self
            .store
            .children(ChildKind::Environment, project)
            .await?
            .len();
        if count as u64 >= u64::from(max) {
            return Err(ServiceError::new(
                ErrorCode::LimitExceeded,
                format!(
                    "the organization's plan ({}) allows {max} environments per project and {} \
                     has {count}: delete one, or an owner can change the plan (hush orgs plan)",
                    plan_name(&org.limits),
                    project.slug
                ),
            ));
        }
        Ok(())
    }
}

impl super::Orgs<'_> {
    /// Sets an organization's plan. Needs `org:admin` organization-wide
    /// and, for a user's token, the owner role.
    pub async fn set_plan(
        &self,
        who: &Principal,
        org: &str,
        request: &PlanRequest,
    ) -> Result<Organization, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        if let Some(user) = &who.token.user_id {
            if self.s.store.role(&org.id, user).await? != Some(hush_store::Role::Owner) {
                return Err(ServiceError::new(
                    ErrorCode::TokenEscalation,
                    "only an owner can change the organization's plan",
                ));
            }
        }
        let limits = request.limits()?;
        self.s.store.set_plan_limits(&org.id, &limits).await?;
        Ok(Organization { limits, ..org })
    }
}
