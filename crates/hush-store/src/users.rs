//! Users and their organization roles. Passwords arrive already hashed.

use crate::db::{params, Row};
use crate::error::{not_found, or_exists, Result, StoreError};
use crate::model::Role;
use crate::{new_id, now_ms, Store};

/// A user, with the password hash for verification. An account belongs to
/// one organization: the same email in two organizations is two accounts,
/// so creating one reveals nothing about the other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// The organization the account belongs to.
    pub org_id: String,
    /// Login name, unique within the organization.
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
    /// The role.
    pub role: Role,
}

impl Store {
    /// Creates a user and makes them a member of `org_id` with `role`, in
    /// one transaction.
    pub async fn create_user(
        &self,
        org_id: &str,
        email: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<UserRecord> {
        let (user, insert) = NewUser::new(org_id, email, password_hash, role);
        self.db
            .write(None, move |tx| async move { insert.run(&tx).await })
            .await?;
        Ok(user)
    }

    /// First-run setup in one write: spends the one-time token `token_id`
    /// and makes the owner account, only while the token is unspent and
    /// the organization has no members. `None` otherwise, so two setups
    /// at once make one owner, and a crash leaves either the token or the
    /// owner, never neither.
    pub async fn create_first_owner(
        &self,
        org_id: &str,
        token_id: &str,
        email: &str,
        password_hash: &str,
    ) -> Result<Option<UserRecord>> {
        let (user, insert) = NewUser::new(org_id, email, password_hash, Role::Owner);
        let spend = params![org_id, token_id, now_ms()];
        let made = self
            .db
            .write(None, move |tx| async move {
                let spent = tx
                    .exec(
                        "UPDATE tokens SET disabled = 1, revoked_at = $3 \
                         WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL \
                         AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = $1)",
                        &spend,
                    )
                    .await?;
                if spent == 0 {
                    return Ok(false);
                }
                insert.run(&tx).await?;
                Ok(true)
            })
            .await?;
        Ok(made.then_some(user))
    }

    /// The organization's account with this email, if any.
    pub async fn user_by_email(&self, org_id: &str, email: &str) -> Result<Option<UserRecord>> {
        let row = self
            .db
            .row(
                "SELECT id, org_id, email, password_hash, created_at FROM users \
                 WHERE org_id = $1 AND email = $2",
                &params![org_id, email],
            )
            .await?;
        row.map(|r| -> Result<UserRecord> {
            Ok(UserRecord {
                id: r.get(0)?,
                org_id: r.get(1)?,
                email: r.get(2)?,
                password_hash: r.get(3)?,
                created_at: r.get(4)?,
            })
        })
        .transpose()
    }

    /// Gives the organization's account `email` a new password hash and
    /// disables its login sessions (tokens named `session_name` bound to
    /// it), in one transaction: a reset shuts out whoever knew the old
    /// password. `None` if there is no such account.
    pub async fn reset_password(
        &self,
        org_id: &str,
        email: &str,
        password_hash: &str,
        session_name: &str,
    ) -> Result<Option<UserRecord>> {
        let Some(mut user) = self.user_by_email(org_id, email).await? else {
            return Ok(None);
        };
        user.password_hash = password_hash.to_owned();
        let values = params![&user.id, password_hash];
        let sessions = params![org_id, &user.id, session_name];
        self.db
            .write(None, move |tx| async move {
                tx.exec("UPDATE users SET password_hash = $2 WHERE id = $1", &values)
                    .await?;
                tx.exec(
                    "UPDATE tokens SET disabled = 1 WHERE org_id = $1 AND user_id = $2 \
                     AND name = $3 AND kind = 'api'",
                    &sessions,
                )
                .await
            })
            .await?;
        Ok(Some(user))
    }

    /// Deletes the organization's account `user_id` with everything bound
    /// to it (membership, project roles, its sessions and the tokens it
    /// minted). False when it is the organization's last owner, checked
    /// inside the write so two removals at once cannot leave no owner;
    /// `NotFound` when there is no such account.
    pub async fn delete_user(&self, org_id: &str, user_id: &str) -> Result<bool> {
        self.keeping_an_owner(
            org_id,
            user_id,
            "DELETE FROM users WHERE org_id = $1 AND id = $2 \
             AND (NOT EXISTS (SELECT 1 FROM memberships m WHERE m.org_id = $1 \
                              AND m.user_id = $2 AND m.role = 'owner') \
                  OR (SELECT COUNT(*) FROM memberships m \
                      WHERE m.org_id = $1 AND m.role = 'owner') > 1)",
            params![org_id, user_id].to_vec(),
        )
        .await
    }

    /// The user's role in `org_id`, if a member.
    pub async fn role(&self, org_id: &str, user_id: &str) -> Result<Option<Role>> {
        let row = self
            .db
            .row(
                "SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2",
                &params![org_id, user_id],
            )
            .await?;
        row.map(|r| role_at(&r, 0)).transpose()
    }

    /// An organization's members, by email.
    pub async fn members(&self, org_id: &str) -> Result<Vec<Membership>> {
        let rows = self
            .db
            .rows(
                "SELECT m.user_id, u.email, m.role FROM memberships m \
                 JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 ORDER BY u.email",
                &params![org_id],
            )
            .await?;
        rows.iter().map(membership).collect()
    }

    /// Gives `user_id` `role` in the project (replacing any it had).
    pub async fn set_project_role(
        &self,
        project_id: &str,
        user_id: &str,
        role: Role,
    ) -> Result<()> {
        let values = params![project_id, user_id, role.as_str(), now_ms()];
        self.db
            .write(None, move |tx| async move {
                tx.exec(
                    "INSERT INTO project_members (project_id, user_id, role, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, user_id) \
                     DO UPDATE SET role = excluded.role",
                    &values,
                )
                .await
            })
            .await?;
        Ok(())
    }

    /// Changes a member's organization role. Demoting the last owner is
    /// refused in the same transaction (false), with the owners locked on
    /// PostgreSQL, so two admins acting at once cannot leave an
    /// organization without one; `NotFound` for a user who is not a
    /// member.
    pub async fn set_role(&self, org_id: &str, user_id: &str, role: Role) -> Result<bool> {
        self.keeping_an_owner(
            org_id,
            user_id,
            "UPDATE memberships SET role = $3 WHERE org_id = $1 AND user_id = $2 \
             AND ($3 = 'owner' OR role <> 'owner' OR \
                  (SELECT COUNT(*) FROM memberships m \
                   WHERE m.org_id = $1 AND m.role = 'owner') > 1)",
            params![org_id, user_id, role.as_str()].to_vec(),
        )
        .await
    }

    /// Runs `change` to one member (`$1` the organization, `$2` the user),
    /// whose own condition skips it when it would leave no owner, with the
    /// organization's owners locked so that condition sees every replica's
    /// changes. True if it changed the member; false if it would have left
    /// no owner; `NotFound` for a user who is not a member.
    async fn keeping_an_owner(
        &self,
        org_id: &str,
        user_id: &str,
        change: &'static str,
        values: Vec<crate::db::Val>,
    ) -> Result<bool> {
        let org = params![org_id];
        let done = self
            .db
            .write(None, move |tx| async move {
                lock_owners(&tx, &org).await?;
                tx.exec(change, &values).await
            })
            .await?;
        if done > 0 {
            return Ok(true);
        }
        match self.role(org_id, user_id).await? {
            Some(_) => Ok(false),
            None => Err(not_found("member of this organization", user_id)),
        }
    }

    /// Takes the user's project role away; false if there was none.
    pub async fn remove_project_role(&self, project_id: &str, user_id: &str) -> Result<bool> {
        let values = params![project_id, user_id];
        let done = self
            .db
            .write(None, move |tx| async move {
                tx.exec(
                    "DELETE FROM project_members WHERE project_id = $1 AND user_id = $2",
                    &values,
                )
                .await
            })
            .await?;
        Ok(done > 0)
    }

    /// The users with a role in the project, by email.
    pub async fn project_members(&self, project_id: &str) -> Result<Vec<Membership>> {
        let rows = self
            .db
            .rows(
                "SELECT m.user_id, u.email, m.role FROM project_members m \
                 JOIN users u ON u.id = m.user_id WHERE m.project_id = $1 ORDER BY u.email",
                &params![project_id],
            )
            .await?;
        rows.iter().map(membership).collect()
    }

    /// The user's roles by project id, in the projects of `org_id`.
    pub async fn project_roles(&self, org_id: &str, user_id: &str) -> Result<Vec<(String, Role)>> {
        let rows = self
            .db
            .rows(
                "SELECT m.project_id, m.role FROM project_members m \
                 JOIN projects p ON p.id = m.project_id WHERE p.org_id = $1 AND m.user_id = $2",
                &params![org_id, user_id],
            )
            .await?;
        rows.iter()
            .map(|r| -> Result<(String, Role)> { Ok((r.get(0)?, role_at(r, 1)?)) })
            .collect()
    }
}

/// A `user_id, email, role` row.
fn membership(r: &Row) -> Result<Membership> {
    Ok(Membership {
        user_id: r.get(0)?,
        email: r.get(1)?,
        role: role_at(r, 2)?,
    })
}

/// A stored role; an unknown one fails closed.
fn role_at(r: &Row, i: usize) -> Result<Role> {
    Role::parse(&r.get::<String>(i)?).ok_or(StoreError::Decode {
        column: i,
        expected: "a role: owner, admin, member or viewer",
    })
}

/// On PostgreSQL another replica may change or remove an owner at this
/// instant: the organization's owners are locked until commit, so a
/// count of owners in the same transaction sees theirs. (SQLite has one
/// writer at a time.)
async fn lock_owners(tx: &crate::db::Tx, org: &[crate::db::Val]) -> Result<()> {
    if tx.backend() == crate::Backend::Postgres {
        tx.rows(
            "SELECT user_id FROM memberships WHERE org_id = $1 AND role = 'owner' FOR UPDATE",
            org,
        )
        .await?;
    }
    Ok(())
}

/// The two rows that make an account: the user and its membership.
struct NewUser {
    user: [crate::db::Val; 5],
    membership: [crate::db::Val; 4],
    email: String,
}

impl NewUser {
    fn new(org_id: &str, email: &str, password_hash: &str, role: Role) -> (UserRecord, Self) {
        let user = UserRecord {
            id: new_id(),
            org_id: org_id.to_owned(),
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            created_at: now_ms(),
        };
        let rows = NewUser {
            user: params![
                &user.id,
                org_id,
                &user.email,
                &user.password_hash,
                user.created_at
            ],
            membership: params![org_id, &user.id, role.as_str(), user.created_at],
            email: user.email.clone(),
        };
        (user, rows)
    }

    async fn run(self, tx: &crate::db::Tx) -> Result<u64> {
        tx.exec(
            "INSERT INTO users (id, org_id, email, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
            &self.user,
        )
        .await
        .map_err(or_exists("user", &self.email))?;
        tx.exec(
            "INSERT INTO memberships (org_id, user_id, role, created_at) \
             VALUES ($1, $2, $3, $4)",
            &self.membership,
        )
        .await
    }
}
