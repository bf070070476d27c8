//! Organizations, projects, targets and environments.

use hush_core::crypto::DataKey;
use hush_core::Slug;

use crate::db::params;
use crate::error::{not_found, or_exists, Result};
use crate::model::*;
use crate::rows;
use crate::{new_id, now_ms, Store};

impl Store {
    /// Creates an organization; its slug must be unused.
    pub async fn create_organization(&self, slug: &Slug, name: &str) -> Result<Organization> {
        let org = Organization {
            id: new_id(),
            slug: slug.as_str().to_owned(),
            name: name.to_owned(),
            created_at: now_ms(),
            viewers_decrypt: false,
            limits: PlanLimits::default(),
        };
        let values = params![&org.id, &org.slug, &org.name, org.created_at];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "INSERT INTO organizations (id, slug, name, created_at) \
                     VALUES ($1, $2, $3, $4)",
                    &values,
                )
                .await
            })
            .await
            .map_err(or_exists("organization", slug.as_str()))?;
        Ok(org)
    }

    /// Looks an organization up by slug.
    pub async fn organization(&self, slug: &str) -> Result<Organization> {
        self.organization_where("slug", slug).await
    }

    /// Looks an organization up by id.
    pub async fn organization_by_id(&self, id: &str) -> Result<Organization> {
        self.organization_where("id", id).await
    }

    /// The organization whose `column` (`slug` or `id`, both unique) is
    /// `value`.
    async fn organization_where(&self, column: &'static str, value: &str) -> Result<Organization> {
        let sql = format!(
            "SELECT {} FROM organizations WHERE {column} = $1",
            rows::ORG_COLUMNS
        );
        let row = self
            .db
            .row(&sql, &params![value])
            .await?
            .ok_or_else(|| not_found("organization", value))?;
        rows::org(&row)
    }

    /// Deletes an organization with everything in it (projects, their
    /// secrets and history, users, tokens); its audit entries stay, the
    /// chain intact. False if there was none.
    pub async fn delete_organization(&self, org_id: &str) -> Result<bool> {
        let values = params![org_id];
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec("DELETE FROM organizations WHERE id = $1", &values)
                    .await
            })
            .await?;
        Ok(done > 0)
    }

    /// Sets an organization's plan limits.
    pub async fn set_plan_limits(&self, org_id: &str, limits: &PlanLimits) -> Result<()> {
        let values = params![
            org_id,
            limits.plan.as_deref(),
            limits.max_projects.map(i64::from),
            limits.max_environments.map(i64::from)
        ];
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE organizations SET plan = $2, max_projects = $3, \
                     max_environments = $4 WHERE id = $1",
                    &values,
                )
                .await
            })
            .await?;
        if done == 0 {
            return Err(not_found("organization", org_id));
        }
        Ok(())
    }

    /// Renames a project (its display name; the slug stays).
    pub async fn rename_project(&self, project: &Project, name: &str) -> Result<()> {
        let values = params![&project.id, name];
        self.db
            .write(None, move |tx| async move {
                tx.exec("UPDATE projects SET name = $2 WHERE id = $1", &values)
                    .await
            })
            .await?;
        Ok(())
    }

    /// How many projects an organization has, leaving out `except` (its
    /// organization-secrets project, which no plan counts).
    pub async fn count_projects(&self, org_id: &str, except: &str) -> Result<u64> {
        let row = self
            .db
            .row(
                "SELECT COUNT(*) FROM projects WHERE org_id = $1 AND slug <> $2",
                &params![org_id, except],
            )
            .await?;
        Ok(row.map_or(Ok(0), |r| r.get::<i64>(0))?.max(0) as u64)
    }

    /// Sets whether the organization's viewers may decrypt.
    pub async fn set_viewers_decrypt(&self, org_id: &str, allowed: bool) -> Result<()> {
        let values = params![org_id, i64::from(allowed)];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "UPDATE organizations SET viewers_decrypt = $2 WHERE id = $1",
                    &values,
                )
                .await
            })
            .await?;
        Ok(())
    }

    /// All organizations, by slug.
    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        let sql = format!(
            "SELECT {} FROM organizations ORDER BY slug",
            rows::ORG_COLUMNS
        );
        let all = self.db.rows(&sql, &[]).await?;
        all.iter().map(rows::org).collect()
    }

    /// Creates a project. A server-mode project gets a fresh data key,
    /// sealed under the master key; a client-mode project gets none and the
    /// store will never be able to decrypt its values. The mode cannot be
    /// changed afterwards.
    pub async fn create_project(
        &self,
        org: &Organization,
        slug: &Slug,
        name: &str,
        mode: EncryptionMode,
        author: &str,
    ) -> Result<Project> {
        let project = Project {
            id: new_id(),
            org_id: org.id.clone(),
            slug: slug.as_str().to_owned(),
            name: name.to_owned(),
            mode,
            created_at: now_ms(),
            created_by: author.to_owned(),
        };
        // Wrapped under each key this store holds; the write keeps the one
        // the database records (a rotation may commit meanwhile).
        let wrapped = match mode {
            EncryptionMode::Server => {
                let dek = DataKey::generate();
                self.keys.keys().seal_each(|master| {
                    master
                        .wrap(&dek, &project.id)
                        .map_err(|source| crate::StoreError::Encrypt {
                            what: format!("the data key of project {}", project.slug),
                            source,
                        })
                })?
            }
            EncryptionMode::Client => Vec::new(),
        };
        let values = params![
            &project.id,
            &project.org_id,
            &project.slug,
            &project.name,
            mode.as_str(),
            project.created_at,
            &project.created_by,
        ];
        self.db
            .write(None, move |tx| async move {
                let (key_id, wrapped) = if wrapped.is_empty() {
                    (None, None)
                } else {
                    let (id, bytes) = crate::keyring::pick_sealed(&tx, wrapped).await?;
                    (Some(id), Some(bytes))
                };
                let values: Vec<_> = values.into_iter().chain(params![wrapped, key_id]).collect();
                tx.exec(
                    "INSERT INTO projects (id, org_id, slug, name, encryption_mode, created_at, \
                     created_by, wrapped_dek, master_key_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    &values,
                )
                .await
            })
            .await
            .map_err(or_exists("project", slug.as_str()))?;
        Ok(project)
    }

    /// Looks a project up by its organization and slug.
    pub async fn project(&self, org: &Organization, slug: &str) -> Result<Project> {
        let sql = format!(
            "SELECT {} FROM projects WHERE org_id = $1 AND slug = $2",
            rows::PROJECT_COLUMNS
        );
        let row = self
            .db
            .row(&sql, &params![&org.id, slug])
            .await?
            .ok_or_else(|| not_found("project", slug))?;
        rows::project(&row)
    }

    /// Looks a project up by id.
    pub async fn project_by_id(&self, id: &str) -> Result<Project> {
        let sql = format!(
            "SELECT {} FROM projects WHERE id = $1",
            rows::PROJECT_COLUMNS
        );
        let row = self
            .db
            .row(&sql, &params![id])
            .await?
            .ok_or_else(|| not_found("project", id))?;
        rows::project(&row)
    }

    /// A page of an organization's projects, by slug: at most `limit`
    /// whose slug sorts after `after`.
    pub async fn projects(
        &self,
        org: &Organization,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Project>> {
        let sql = format!(
            "SELECT {} FROM projects WHERE org_id = $1 AND slug > $2 ORDER BY slug LIMIT {}",
            rows::PROJECT_COLUMNS,
            limit.clamp(1, 10_000)
        );
        let all = self
            .db
            .rows(&sql, &params![&org.id, after.unwrap_or("")])
            .await?;
        all.iter().map(rows::project).collect()
    }

    /// Deletes a project with all its targets, environments, secrets and
    /// history.
    pub async fn delete_project(&self, project: &Project) -> Result<()> {
        let id = project.id.clone();
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec("DELETE FROM projects WHERE id = $1", &params![&id])
                    .await
            })
            .await?;
        self.keys.forget(&project.id);
        if done == 0 {
            return Err(not_found("project", &project.slug));
        }
        Ok(())
    }

    /// Creates a target or an environment in a project.
    pub async fn create_child(
        &self,
        kind: ChildKind,
        project: &Project,
        slug: &Slug,
        name: &str,
    ) -> Result<Child> {
        let child = Child {
            kind,
            id: new_id(),
            project_id: project.id.clone(),
            slug: slug.as_str().to_owned(),
            name: name.to_owned(),
            created_at: now_ms(),
        };
        let sql = format!(
            "INSERT INTO {} (id, project_id, slug, name, created_at) VALUES ($1, $2, $3, $4, $5)",
            kind.table()
        );
        let values = params![
            &child.id,
            &child.project_id,
            &child.slug,
            &child.name,
            child.created_at
        ];
        self.db
            .write(None, move |tx| async move { tx.exec(&sql, &values).await })
            .await
            .map_err(or_exists(kind.noun(), slug.as_str()))?;
        Ok(child)
    }

    /// Looks a target or environment up by project and slug.
    pub async fn child(&self, kind: ChildKind, project: &Project, slug: &str) -> Result<Child> {
        let sql = format!(
            "SELECT {} FROM {} WHERE project_id = $1 AND slug = $2",
            rows::CHILD_COLUMNS,
            kind.table()
        );
        let row = self
            .db
            .row(&sql, &params![&project.id, slug])
            .await?
            .ok_or_else(|| not_found(kind.noun(), slug))?;
        rows::child(kind, &row)
    }

    /// A project's targets or environments, by slug.
    pub async fn children(&self, kind: ChildKind, project: &Project) -> Result<Vec<Child>> {
        let sql = format!(
            "SELECT {} FROM {} WHERE project_id = $1 ORDER BY slug",
            rows::CHILD_COLUMNS,
            kind.table()
        );
        let all = self.db.rows(&sql, &params![&project.id]).await?;
        all.iter().map(|row| rows::child(kind, row)).collect()
    }

    /// Deletes a target or environment with the secrets and history of
    /// every scope under it.
    pub async fn delete_child(&self, child: &Child) -> Result<()> {
        let sql = format!("DELETE FROM {} WHERE id = $1", child.kind.table());
        let id = child.id.clone();
        let done = self
            .db
            .write(
                None,
                move |tx| async move { tx.exec(&sql, &params![&id]).await },
            )
            .await?;
        if done == 0 {
            return Err(not_found(child.kind.noun(), &child.slug));
        }
        Ok(())
    }

    /// Resolves slugs to a scope in one call, naming the first missing part.
    pub async fn resolve_scope(
        &self,
        org: &str,
        project: &str,
        target: Option<&str>,
        environment: Option<&str>,
    ) -> Result<Scope> {
        let org = self.organization(org).await?;
        let project = self.project(&org, project).await?;
        let target = match target {
            Some(slug) => Some(self.child(ChildKind::Target, &project, slug).await?),
            None => None,
        };
        let environment = match environment {
            Some(slug) => Some(self.child(ChildKind::Environment, &project, slug).await?),
            None => None,
        };
        Scope::new(&project, target.as_ref(), environment.as_ref())
    }
}
