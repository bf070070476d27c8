//! Users and their organization roles. Passwords arrive already hashed.

use sqlx::Row;

use crate::error::{or_exists, Result};
use crate::{new_id, now_ms, Store};

/// A user, with the password hash for verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// Login name.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time (unix ms).
    pub created_at: i64,
}

/// A user's place in one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The user.
    pub user_id: String,
    /// Their email.
    pub email: String,
    /// `owner`, `admin`, `member` or `viewer`.
    pub role: String,
}

impl Store {
    /// Creates a user and makes them a member of `org_id` with `role`, in
    /// one transaction.
    pub async fn create_user(
        &self,
        org_id: &str,
        email: &str,
        password_hash: &str,
        role: &str,
    ) -> Result<UserRecord> {
        let user = UserRecord {
            id: new_id(),
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            created_at: now_ms(),
        };
        let mut tx = self.pools.write.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(user.created_at)
        .execute(&mut *tx)
        .await
        .map_err(or_exists("user", email))?;
        sqlx::query(
            "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(org_id)
        .bind(&user.id)
        .bind(role)
        .bind(user.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The user with this email, if any.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>> {
        let row =
            sqlx::query("SELECT id, email, password_hash, created_at FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pools.read)
                .await?;
        Ok(row
            .map(|r| -> sqlx::Result<UserRecord> {
                Ok(UserRecord {
                    id: r.try_get("id")?,
                    email: r.try_get("email")?,
                    password_hash: r.try_get("password_hash")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .transpose()?)
    }

    /// The user's role in `org_id`, if a member.
    pub async fn role(&self, org_id: &str, user_id: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
            .bind(org_id)
            .bind(user_id)
            .fetch_optional(&self.pools.read)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// An organization's members, by email.
    pub async fn members(&self, org_id: &str) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = $1 ORDER BY u.email",
        )
        .bind(org_id)
        .fetch_all(&self.pools.read)
        .await?;
        Ok(rows.iter().map(membership).collect::<sqlx::Result<_>>()?)
    }

    /// Gives `user_id` `role` in the project (replacing any it had).
    pub async fn set_project_role(
        &self,
        project_id: &str,
        user_id: &str,
        role: &str,
    ) -> Result<()> {
        let mut tx = self.pools.write.begin().await?;
        sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
            .bind(project_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO project_members (project_id, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(project_id)
        .bind(user_id)
        .bind(role)
        .bind(crate::now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the user's project role away; false if there was none.
    pub async fn remove_project_role(&self, project_id: &str, user_id: &str) -> Result<bool> {
        let done =
            sqlx::query("DELETE FROM project_members WHERE project_id = $1 AND user_id = $2")
                .bind(project_id)
                .bind(user_id)
                .execute(&self.pools.write)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The users with a role in the project, by email.
    pub async fn project_members(&self, project_id: &str) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "SELECT m.user_id, u.email, m.role FROM project_members m \
             JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.email",
        )
        .bind(project_id)
        .fetch_all(&self.pools.read)
        .await?;
        Ok(rows.iter().map(membership).collect::<sqlx::Result<_>>()?)
    }

    /// The user's roles by project id, in the projects of `org_id`.
    pub async fn project_roles(
        &self,
        org_id: &str,
        user_id: &str,
    ) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT m.project_id, m.role FROM project_members m \
             JOIN projects p ON p.id = m.project_id WHERE p.org_id = $1 AND m.user_id = $2",
        )
        .bind(org_id)
        .bind(user_id)
        .fetch_all(&self.pools.read)
        .await?;
        Ok(rows
            .iter()
            .map(|r| -> sqlx::Result<(String, String)> { Ok((r.try_get(0)?, r.try_get(1)?)) })
            .collect::<sqlx::Result<_>>()?)
    }
}

/// A `user_id, email, role` row.
fn membership(r: &sqlx::any::AnyRow) -> sqlx::Result<Membership> {
    Ok(Membership {
        user_id: r.try_get("user_id")?,
        email: r.try_get("email")?,
        role: r.try_get("role")?,
    })
}
