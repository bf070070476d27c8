//! What an operator does with the database and the master key in hand
//! (`hush admin`), with no token: the way back in when the one-time admin
//! token is lost or every owner forgot their password, and the place where
//! organizations are made. Holding the database and its key already means
//! holding everything, so nothing here asks for more; every action is
//! recorded in the audit log as `operator:<name>`.

use hush_core::SecretString;
use hush_store::{AuditEntry, Organization, Role, TokenRecord, UserRecord};

use super::users::new_account;
use super::Services;
use crate::error::{ErrorCode, ServiceError};

/// The operator's facade. Handed out by [`Services::admin`].
pub struct Admin<'a> {
    s: &'a Services,
    /// Who is at the keyboard, as the audit log names them.
    operator: String,
}

impl Services {
    /// The operator's facade; `operator` names them in the audit log
    /// (e.g. their login name).
    pub fn admin(&self, operator: &str) -> Admin<'_> {
        Admin {
            s: self,
            operator: format!("operator:{operator}"),
        }
    }
}

impl Admin<'_> {
    /// Every organization, by slug.
    pub async fn organizations(&self) -> Result<Vec<Organization>, ServiceError> {
        Ok(self.s.store.organizations().await?)
    }

    /// Creates an organization and an all-scopes token for it, shown once.
    pub async fn create_organization(
        &self,
        slug: &str,
        name: &str,
    ) -> Result<(Organization, SecretString), ServiceError> {
        let (org, secret) = self.s.new_organization(slug, name, &self.operator).await?;
        self.record(&org, "org.create", &org.slug).await?;
        Ok((org, secret))
    }

    /// Deletes an organization and everything in it; its audit entries
    /// stay (this deletion among them).
    pub async fn delete_organization(&self, slug: &str) -> Result<Organization, ServiceError> {
        let org = self.s.store.organization(slug).await?;
        self.record(&org, "org.delete", &org.slug).await?;
        self.s.drop_organization(&org).await?;
        Ok(org)
    }

    /// An all-scopes token of the organization, shown once; with
    /// `server_admin`, it also runs the server's organizations.
    pub async fn create_token(
        &self,
        org: &str,
        name: &str,
        expires_at: Option<i64>,
        server_admin: bool,
    ) -> Result<(SecretString, TokenRecord), ServiceError> {
        let org = self.s.store.organization(org).await?;
        if expires_at.is_some_and(|at| at <= crate::now_ms()) {
            return Err(ServiceError::new(
                ErrorCode::InvalidTokenRequest,
                "the expiry is in the past",
            ));
        }
        let (secret, record) = self
            .s
            .all_scopes_token(&org, name, &self.operator, expires_at, server_admin)
            .await?;
        self.record(&org, "token.create", &format!("token:{}", record.id))
            .await?;
        Ok((secret, record))
    }

    /// Creates an account in the organization, any role (owners too).
    pub async fn create_user(
        &self,
        org: &str,
        email: &str,
        password: &SecretString,
        role: &str,
    ) -> Result<(UserRecord, Role), ServiceError> {
        let org = self.s.store.organization(org).await?;
        let (email, role) = new_account(email, password, role)?;
        let hash = self.s.hash_password(password)?;
        let user = self
            .s
            .store
            .create_user(&org.id, &email, &hash, role)
            .await?;
        self.record(&org, "user.create", &format!("user:{}", user.id))
            .await?;
        Ok((user, role))
    }

    /// Sets an account's password and ends its login sessions.
    pub async fn reset_password(
        &self,
        org: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<UserRecord, ServiceError> {
        let org = self.s.store.organization(org).await?;
        let email = email.trim().to_ascii_lowercase();
        let user = self
            .s
            .store
            .user_by_email(&org.id, &email)
            .await?
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::NotFound,
                    format!("no account {email:?} in organization {:?}", org.slug),
                )
            })?;
        self.s
            .users()
            .replace_password(&org.id, &email, password)
            .await?;
        self.record(&org, "user.password.reset", &format!("user:{}", user.id))
            .await?;
        Ok(user)
    }

    /// Appends the audit entry of an operator's action (after it committed,
    /// as the server does for every change but secret writes).
    async fn record(
        &self,
        org: &Organization,
        action: &str,
        resource: &str,
    ) -> Result<(), ServiceError> {
        self.s
            .store
            .append_audit(&[AuditEntry {
                at: hush_store::audit_now(),
                org_id: Some(org.id.clone()),
                project_id: None,
                actor: self.operator.clone(),
                action: action.to_owned(),
                resource: resource.to_owned(),
                result: "ok".to_owned(),
                status: 200,
                ip: String::new(),
                user_agent: "hush admin".to_owned(),
                count: 1,
            }])
            .await?;
        Ok(())
    }
}
