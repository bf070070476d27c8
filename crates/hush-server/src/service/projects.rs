//! Projects, environments and targets.

use hush_core::names::MAX_DISPLAY_NAME;
use hush_core::{Slug, TextRule};
use hush_store::{Child, ChildKind, EncryptionMode, Project};

use super::Services;
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// A slug from a display name (`Web App` → `web-app`): lowercase letters
/// and digits, runs of anything else as one `-`; `fallback` when nothing
/// is left.
pub fn slug_from_name(name: &str, fallback: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(48).collect();
    if slug.is_empty() {
        fallback.to_owned()
    } else {
        slug
    }
}

/// Runs `create` with the slug of `name`, then `-2`, `-3`… while that
/// slug is taken (for clients that name things and let hush pick slugs).
async fn with_free_slug<T, F, Fut>(name: &str, fallback: &str, create: F) -> Result<T, ServiceError>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let base = slug_from_name(name, fallback);
    let mut attempt = 1;
    loop {
        let slug = if attempt == 1 {
            base.clone()
        } else {
            format!("{base}-{attempt}")
        };
        match create(slug).await {
            Err(err) if err.code() == ErrorCode::AlreadyExists && attempt < 20 => attempt += 1,
            other => return other,
        }
    }
}

/// Organizations, projects, targets and environments as the caller may see and manage them. Handed out by [`Services::projects`].
pub struct Projects<'a> {
    s: &'a Services,
}

impl Services {
    /// The projects facade.
    pub fn projects(&self) -> Projects<'_> {
        Projects { s: self }
    }
}

impl Projects<'_> {
    /// The id of the organization with this slug, if there is one; for
    /// attributing refused requests in the audit log.
    pub async fn org_id(&self, slug: &str) -> Option<String> {
        self.s.store.organization(slug).await.ok().map(|o| o.id)
    }

    /// The caller's projects in an organization.
    /// A page of the organization's projects the caller can see, by slug.
    pub async fn list(
        &self,
        who: &Principal,
        org: &str,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Project>, ServiceError> {
        let org = self.s.org(who, org).await?;
        if let Some(own) = &who.token.project_id {
            // A token limited to one project lists just that one.
            let project = self.s.store.project_by_id(own).await?;
            return Ok((after.is_none_or(|a| project.slug.as_str() > a))
                .then_some(project)
                .into_iter()
                .collect());
        }
        Ok(self.s.store.projects(&org, after, limit).await?)
    }

    /// Creates a project (needs `org:admin`).
    pub async fn create(
        &self,
        who: &Principal,
        org: &str,
        slug: &str,
        name: Option<&str>,
        mode: EncryptionMode,
        e2ee: Option<(hush_core::e2ee::Meta, Option<String>)>,
    ) -> Result<Project, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        let slug = Slug::parse("project", slug)?;
        self.s.check_project_limit(&org).await?;
        let name = name.unwrap_or(slug.as_str());
        TextRule::Line.check("project name", name, MAX_DISPLAY_NAME)?;
        let e2ee = match e2ee {
            Some(_) if mode != EncryptionMode::Client => {
                return Err(ServiceError::new(
                    ErrorCode::InvalidE2eeMeta,
                    "e2ee_meta belongs to encryption_mode \"client\" projects",
                ))
            }
            Some((meta, proof)) => {
                super::validate_meta(&meta)?;
                // No proof: a client of the seed's scheme alone (see
                // `E2ee::check_key_proof`).
                let hash = match proof {
                    Some(proof) => super::proof_hash(&proof)?,
                    None => String::new(),
                };
                Some((meta, hash))
            }
            None => None,
        };
        let project = self
            .s
            .store
            .create_project(&org, &slug, name, mode, &who.actor())
            .await?;
        if let Some((meta, proof_hash)) = e2ee {
            if let Err(err) = self
                .s
                .store
                .set_e2ee_meta(&project.id, &meta, &proof_hash)
                .await
            {
                // Keep creation all-or-nothing.
                let _ = self.s.store.delete_project(&project).await;
                return Err(err.into());
            }
        }
        who.note_project(&project.id);
        Ok(project)
    }

    /// Creates a project named `name`, its slug made from the name (the
    /// next free one: `web-app`, `web-app-2`…).
    pub async fn create_named(
        &self,
        who: &Principal,
        org: &str,
        name: &str,
        mode: EncryptionMode,
        e2ee: Option<(hush_core::e2ee::Meta, Option<String>)>,
    ) -> Result<Project, ServiceError> {
        let name = name.trim();
        with_free_slug(name, "project", |slug| {
            let e2ee = e2ee.clone();
            async move { self.create(who, org, &slug, Some(name), mode, e2ee).await }
        })
        .await
    }

    /// Creates an environment or target named `name`, its slug made from
    /// the name as [`Projects::create_named`] does.
    pub async fn create_child_named(
        &self,
        who: &Principal,
        kind: ChildKind,
        org: &str,
        project: &str,
        name: &str,
    ) -> Result<Child, ServiceError> {
        let name = name.trim();
        with_free_slug(name, kind.noun(), |slug| async move {
            self.create_child(who, kind, org, project, &slug, Some(name))
                .await
        })
        .await
    }

    /// Renames a project (its display name; the slug, and so every URL and
    /// hush.toml, stays). Needs `project:admin` on the whole project.
    pub async fn rename(
        &self,
        who: &Principal,
        org: &str,
        slug: &str,
        name: &str,
    ) -> Result<Project, ServiceError> {
        let (_, project) = self.s.project(who, org, slug).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        let name = name.trim();
        TextRule::Line.check("project name", name, MAX_DISPLAY_NAME)?;
        if name.is_empty() {
            return Err(ServiceError::new(
                ErrorCode::InvalidText,
                "give the project a name",
            ));
        }
        self.s.store.rename_project(&project, name).await?;
        self.s.forget_cached();
        Ok(Project {
            name: name.to_owned(),
            ..project
        })
    }

    /// Deletes a project and everything in it (needs `org:admin`).
    pub async fn delete(&self, who: &Principal, org: &str, slug: &str) -> Result<(), ServiceError> {
        let (_, project) = self.s.project(who, org, slug).await?;
        who.require_project_wide(&project.id, Permission::OrgAdmin)?;
        self.s.store.delete_project(&project).await?;
        self.s.forget_cached();
        Ok(())
    }

    /// A project's environments or targets.
    pub async fn children(
        &self,
        who: &Principal,
        kind: ChildKind,
        org: &str,
        project: &str,
    ) -> Result<Vec<Child>, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_in(&project.id, Permission::SecretRead)?;
        let all = self.s.store.children(kind, &project).await?;
        Ok(all
            .into_iter()
            .filter(|c| {
                kind != ChildKind::Environment
                    || who
                        .token
                        .environment_id
                        .as_ref()
                        .is_none_or(|id| *id == c.id)
            })
            .collect())
    }

    /// Creates an environment or target (needs `project:admin`).
    pub async fn create_child(
        &self,
        who: &Principal,
        kind: ChildKind,
        org: &str,
        project: &str,
        slug: &str,
        name: Option<&str>,
    ) -> Result<Child, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        let slug = Slug::parse(kind.noun(), slug)?;
        if kind == ChildKind::Environment {
            self.s.check_environment_limit(&project).await?;
        }
        let name = name.unwrap_or(slug.as_str());
        let what = match kind {
            ChildKind::Environment => "environment name",
            ChildKind::Target => "target name",
        };
        TextRule::Line.check(what, name, MAX_DISPLAY_NAME)?;
        Ok(self
            .s
            .store
            .create_child(kind, &project, &slug, name)
            .await?)
    }

    /// Deletes an environment or target with its secrets and history.
    pub async fn delete_child(
        &self,
        who: &Principal,
        kind: ChildKind,
        org: &str,
        project: &str,
        slug: &str,
    ) -> Result<(), ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        let child = self.s.store.child(kind, &project, slug).await?;
        self.s.store.delete_child(&child).await?;
        self.s.forget_cached();
        Ok(())
    }
}
