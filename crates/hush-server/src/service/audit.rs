//! Reading and verifying the audit log.

use hush_store::{AuditProblem, AuditQuery, AuditRecord};

use super::Services;
use crate::auth::{Permission, Principal};
use crate::error::ServiceError;

/// Filters of an audit read.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Project slug.
    pub project: Option<String>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// From (unix ms).
    pub since: Option<i64>,
    /// Until (unix ms, exclusive).
    pub until: Option<i64>,
    /// Entries older than this sequence number (paging).
    pub before: Option<i64>,
    /// Page size (1-1000, default 100).
    pub limit: Option<i64>,
}

/// The audit log as its readers see it: filtered pages and chain checks. Handed out by [`Services::audit`].
pub struct Audit<'a> {
    s: &'a Services,
}

impl Services {
    /// The audit facade.
    pub fn audit(&self) -> Audit<'_> {
        Audit { s: self }
    }
}

impl Audit<'_> {
    /// The organization's audit entries, newest first (needs `audit:read`).
    /// A project-limited token sees its project's entries only.
    pub async fn log(
        &self,
        who: &Principal,
        org: &str,
        filter: AuditFilter,
    ) -> Result<Vec<AuditRecord>, ServiceError> {
        who.require(Permission::AuditRead)?;
        let org = self.s.org(who, org).await?;
        let project_id = match (&filter.project, &who.token.project_id) {
            (Some(slug), _) => Some(self.s.project(who, &org.slug, slug).await?.1.id),
            (None, Some(own)) => Some(own.clone()),
            (None, None) => None,
        };
        // People filter by email; the log records user ids.
        let actor = match filter.actor {
            Some(email) if email.contains('@') => {
                let email = email.trim().to_ascii_lowercase();
                let member = self
                    .s
                    .store
                    .members(&org.id)
                    .await?
                    .into_iter()
                    .find(|m| m.email == email);
                Some(member.map_or(format!("user:{email}"), |m| format!("user:{}", m.user_id)))
            }
            other => other,
        };
        Ok(self
            .s
            .store
            .audit(&AuditQuery {
                org_id: Some(org.id),
                project_id,
                actor,
                action: filter.action,
                since: filter.since,
                until: filter.until,
                before_seq: filter.before,
                limit: filter.limit.unwrap_or(100),
            })
            .await?)
    }

    /// Recomputes the whole hash chain (needs `org:admin`, organization
    /// wide) and reports it as this organization sees it: its own entry
    /// count, and where the chain breaks only when the broken entry is its
    /// own or the break is at the chain's ends (other organizations'
    /// entries are none of its business).
    pub async fn verify(
        &self,
        who: &Principal,
        org: &str,
    ) -> Result<OrgVerification, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        let v = self.s.store.verify_audit().await?;
        let (entries, owns) = self.s.store.audit_share(&org.id, v.first_broken).await?;
        let visible = owns
            || matches!(
                v.problem,
                Some(AuditProblem::Truncated | AuditProblem::ForgedAnchor)
            );
        Ok(OrgVerification {
            ok: v.first_broken.is_none(),
            entries,
            first_broken: v.first_broken.filter(|_| visible),
            problem: v.problem,
            pruned_through: v.anchor.map(|a| a.seq),
        })
    }
}

/// The chain's state as one organization sees it.
#[derive(Debug)]
pub struct OrgVerification {
    /// The whole chain checks out.
    pub ok: bool,
    /// The organization's entries.
    pub entries: i64,
    /// Where it breaks, if that is the organization's to know.
    pub first_broken: Option<i64>,
    /// What is wrong.
    pub problem: Option<AuditProblem>,
    /// The last pruned entry.
    pub pruned_through: Option<i64>,
}
