//! Users, roles and login sessions.

use std::sync::Arc;

use hush_core::password::{self, PasswordCost};
use hush_core::token::{self, API_PREFIX};
use hush_core::{SecretString, TextRule};
use hush_store::{Membership, NewToken, Role, TokenKind, TokenRecord, UserRecord};

use super::tokens::BOOTSTRAP_NAME;
use super::{Services, DEFAULT_ORG};
use crate::auth::{Permission, Principal, ProjectScopes};
use crate::error::{ErrorCode, ServiceError};
use crate::ratelimit::Rate;

/// How long a login session lasts.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;

/// Roles and what they may do in their organization. Viewers see names
/// and metadata; they decrypt (run the app with the secrets) only where
/// the organization allows it (`viewers_decrypt`), and never write.
pub fn role_scopes(role: Role, viewers_decrypt: bool) -> Vec<Permission> {
    match role {
        Role::Owner | Role::Admin => Permission::ALL.to_vec(),
        Role::Member => vec![
            Permission::SecretRead,
            Permission::SecretDecrypt,
            Permission::SecretWrite,
        ],
        Role::Viewer if viewers_decrypt => vec![Permission::SecretRead, Permission::SecretDecrypt],
        Role::Viewer => vec![Permission::SecretRead],
    }
}

/// Project roles and what they may do in their project (a project has no
/// owner).
pub fn project_role_scopes(role: Role, viewers_decrypt: bool) -> Option<Vec<Permission>> {
    match role {
        Role::Owner => None,
        Role::Admin => Some(vec![
            Permission::SecretRead,
            Permission::SecretDecrypt,
            Permission::SecretWrite,
            Permission::SecretPurge,
            Permission::KeyRetrieve,
            Permission::ProjectAdmin,
        ]),
        Role::Member | Role::Viewer => Some(role_scopes(role, viewers_decrypt)),
    }
}

/// A user's roles in one organization.
#[derive(Debug)]
pub struct UserRoles {
    /// The organization role.
    pub org: Role,
    /// Project roles, by project id (they replace the organization role
    /// there, to grant or to restrict; owners and admins keep theirs).
    pub projects: Vec<(String, Role)>,
    /// The organization lets viewers decrypt.
    pub viewers_decrypt: bool,
}

impl UserRoles {
    /// What a token bound to this user may do: its own scopes, cut to what
    /// the user's roles allow now, organization-wide and by project.
    pub fn effective(&self, token: &[Permission]) -> (Vec<Permission>, ProjectScopes) {
        let cut = |allowed: Vec<Permission>| -> Vec<Permission> {
            token
                .iter()
                .copied()
                .filter(|p| allowed.contains(p))
                .collect()
        };
        let org = cut(role_scopes(self.org, self.viewers_decrypt));
        let projects = if matches!(self.org, Role::Owner | Role::Admin) {
            Vec::new()
        } else {
            self.projects
                .iter()
                .filter_map(|(project, role)| {
                    Some((
                        project.clone(),
                        cut(project_role_scopes(*role, self.viewers_decrypt)?),
                    ))
                })
                .collect()
        };
        (org, Arc::new(projects))
    }

    /// Whether the user's roles alone (no token involved) allow `perm` in
    /// `project`: a project role replaces the organization role there,
    /// except for organization owners and admins.
    pub fn allow_in(&self, project: &str, perm: Permission) -> bool {
        let project_role = self
            .projects
            .iter()
            .find(|(id, _)| id == project)
            .map(|(_, role)| *role)
            .filter(|_| !matches!(self.org, Role::Owner | Role::Admin));
        let allowed = match project_role {
            Some(role) => project_role_scopes(role, self.viewers_decrypt).unwrap_or_default(),
            None => role_scopes(self.org, self.viewers_decrypt),
        };
        allowed.iter().any(|held| perm.granted_by(*held))
    }
}

/// Longest email address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// Longest password: argon2id would take any, but a megabyte of password
/// is an attack, not a secret.
const MAX_PASSWORD: usize = 1024;

/// Login attempts per account (organization and email): 10 at once, then
/// one a minute; a brute force gets about 1,400 guesses a day, and its
/// owner still logs in once the attacker pauses.
pub const LOGIN_PER_ACCOUNT: Rate = Rate {
    per_second: 1.0 / 60.0,
    burst: 10.0,
};

/// Login attempts per client address, across accounts: 30 at once, then
/// one every 2 seconds.
pub const LOGIN_PER_IP: Rate = Rate {
    per_second: 0.5,
    burst: 30.0,
};

/// A PHC string of a random password: verified against when the email is
/// unknown, so a login takes as long whether or not the user exists.
pub(super) fn decoy_hash(cost: PasswordCost) -> String {
    password::hash(&token::generate(""), cost).unwrap_or_default()
}

/// A new account's email (trimmed, lower-case) and role, once the email,
/// password and role pass the rules every way of creating one shares.
pub(super) fn new_account(
    email: &str,
    password: &SecretString,
    role: &str,
) -> Result<(String, Role), ServiceError> {
    let email = email.trim().to_ascii_lowercase();
    TextRule::Line.check("email", &email, MAX_EMAIL)?;
    if !email.contains('@')
        || email.starts_with('@')
        || email.ends_with('@')
        || email.chars().any(char::is_whitespace)
    {
        return Err(ServiceError::new(
            ErrorCode::InvalidEmail,
            format!("{email:?} is not an email address"),
        ));
    }
    check_password(password)?;
    Ok((email, parse_role(role)?))
}

/// An organization role by name.
fn parse_role(role: &str) -> Result<Role, ServiceError> {
    Role::parse(role).ok_or_else(|| {
        ServiceError::new(
            ErrorCode::InvalidRole,
            format!("role is owner, admin, member or viewer, not {role:?}"),
        )
    })
}

/// The rules of a password: at least 12 characters, at most
/// [`MAX_PASSWORD`], no control characters.
pub(super) fn check_password(password: &SecretString) -> Result<(), ServiceError> {
    if password.expose().chars().count() < 12 {
        return Err(ServiceError::new(
            ErrorCode::WeakPassword,
            "passwords need at least 12 characters",
        ));
    }
    TextRule::Lines
        .check("password", password.expose(), MAX_PASSWORD)
        .map_err(|_| {
            ServiceError::new(
                ErrorCode::WeakPassword,
                format!(
                    "passwords are at most {MAX_PASSWORD} characters, without control characters"
                ),
            )
        })?;
    Ok(())
}

impl Services {
    /// An argon2id hash of a password that passed [`check_password`], at
    /// the operator's cost.
    pub(super) fn hash_password(&self, password: &SecretString) -> Result<String, ServiceError> {
        password::hash(password, self.policy.password_cost)
            .map_err(|_| ServiceError::new(ErrorCode::WeakPassword, "cannot hash this password"))
    }
}

/// People: accounts, logins, organization and project roles. Handed out by [`Services::users`].
pub struct Users<'a> {
    s: &'a Services,
}

impl Services {
    /// The users facade.
    pub fn users(&self) -> Users<'_> {
        Users { s: self }
    }
}

impl Users<'_> {
    /// Creates a user in an organization (needs `org:admin`).
    pub async fn create(
        &self,
        who: &Principal,
        org: &str,
        email: &str,
        password: SecretString,
        role: &str,
    ) -> Result<(UserRecord, Role), ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        let (email, role) = new_account(email, &password, role)?;
        self.owners_only(who, &org.id, role, "make another owner")
            .await?;
        let hash = self.s.hash_password(&password)?;
        let user = self
            .s
            .store
            .create_user(&org.id, &email, &hash, role)
            .await?;
        Ok((user, role))
    }

    /// First-run setup: turns the one-time token the first `hush serve`
    /// printed into the organization's owner, with a password, so a team
    /// can start in the browser. The token is revoked as the account is
    /// made (it was only ever meant to be used once); any other token, or
    /// an organization that already has members, is refused.
    pub async fn first_owner(
        &self,
        who: &Principal,
        email: &str,
        password: SecretString,
    ) -> Result<UserRecord, ServiceError> {
        let token = &who.token;
        if token.name != BOOTSTRAP_NAME || token.created_by != "system" || token.user_id.is_some() {
            return Err(ServiceError::new(
                ErrorCode::NotBootstrapToken,
                "setup takes the one-time token the first `hush serve` printed; \
                 with another token, add people with `hush users create`",
            ));
        }
        let setup_done = || {
            ServiceError::new(
                ErrorCode::SetupDone,
                "this organization already has an owner: sign in instead",
            )
        };
        if !self.s.store.members(&token.org_id).await?.is_empty() {
            return Err(setup_done());
        }
        let (email, _) = new_account(email, &password, Role::Owner.as_str())?;
        let hash = self.s.hash_password(&password)?;
        // The token is spent and the owner made in one write.
        let made = self
            .s
            .store
            .create_first_owner(&token.org_id, &token.id, &email, &hash)
            .await?;
        self.s.forget_cached();
        made.ok_or_else(setup_done)
    }

    /// An organization's members (needs `org:admin`).
    pub async fn members(
        &self,
        who: &Principal,
        org: &str,
    ) -> Result<Vec<Membership>, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        Ok(self.s.store.members(&org.id).await?)
    }

    /// Checks a password and opens a session: a token acting as the user
    /// with their role's scopes, expiring after [`SESSION_MS`]. Every
    /// failure is the same 401, taking the same time (one argon2id
    /// verification, against a decoy for unknown emails), so it reveals
    /// nothing about which part was wrong. Attempts are throttled per
    /// account and per client address ([`LOGIN_PER_ACCOUNT`],
    /// [`LOGIN_PER_IP`]); a success gives its unit back.
    pub async fn login(
        &self,
        email: &str,
        password: &SecretString,
        org: Option<&str>,
        client_ip: &str,
    ) -> Result<(SecretString, TokenRecord, UserRecord, Role), ServiceError> {
        let refused = || {
            ServiceError::new(
                ErrorCode::InvalidCredentials,
                "wrong email, password or organization",
            )
        };
        let email = email.trim().to_ascii_lowercase();
        let org_slug = org.unwrap_or(DEFAULT_ORG);
        let by_ip = format!("login-ip:{client_ip}");
        let by_account = format!("login:{org_slug}/{email}");
        self.s.throttle(by_ip.clone(), LOGIN_PER_IP)?;
        self.s.throttle(by_account.clone(), LOGIN_PER_ACCOUNT)?;
        // Accounts belong to an organization: an unknown organization is
        // an unknown account, checked against the decoy like any other.
        let org = match self.s.store.organization(org_slug).await {
            Ok(org) => Some(org),
            Err(hush_store::StoreError::NotFound { .. }) => None,
            Err(err) => return Err(err.into()),
        };
        let user = match &org {
            Some(org) => self.s.store.user_by_email(&org.id, &email).await?,
            None => None,
        };
        let phc = user
            .as_ref()
            .map_or_else(|| self.s.decoy_hash.clone(), |u| u.password_hash.clone());
        let attempt = SecretString::new(password.expose().to_owned());
        let matches = tokio::task::spawn_blocking(move || password::verify(&attempt, &phc))
            .await
            .unwrap_or(false);
        let (user, org) = match (user, org) {
            (Some(user), Some(org)) if matches => (user, org),
            _ => return Err(refused()),
        };
        self.s.refund(&by_ip, LOGIN_PER_IP);
        self.s.refund(&by_account, LOGIN_PER_ACCOUNT);
        let role = self
            .s
            .store
            .role(&org.id, &user.id)
            .await?
            .ok_or_else(refused)?;
        // A session acts as the user: it may do what the user's roles
        // allow at each request (see `UserRoles::effective`), so losing a
        // role takes effect at once, not when the session ends.
        let scopes = Permission::ALL;
        let secret = token::generate(API_PREFIX);
        let record = self
            .s
            .store
            .create_token(NewToken {
                org_id: org.id,
                project_id: None,
                environment_id: None,
                kind: TokenKind::Api,
                name: SESSION_NAME.to_owned(),
                token_hash: token::hash(secret.expose()),
                prefix: token::display_prefix(secret.expose()),
                scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                expires_at: Some(crate::now_ms() + SESSION_MS),
                created_by: format!("user:{}", user.id),
                user_id: Some(user.id.clone()),
            })
            .await?;
        Ok((secret, record, user, role))
    }
}

impl Users<'_> {
    /// Ends the caller's own session (a login's token): revoked in the
    /// store, so it stops here at once and on other replicas within their
    /// token cache's two seconds. Other tokens are
    /// revoked by id, by whoever manages them.
    pub async fn logout(&self, who: &Principal) -> Result<(), ServiceError> {
        if who.token.user_id.is_none() || who.token.name != SESSION_NAME {
            return Err(ServiceError::new(
                ErrorCode::NotASession,
                "this token is not a login session; revoke it with DELETE /v1/orgs/{org}/tokens/{id} (hush tokens revoke)",
            ));
        }
        self.s
            .store
            .revoke_token(&who.token.org_id, &who.token.id)
            .await?;
        self.s.forget_cached();
        Ok(())
    }
}

/// The name of login sessions' tokens.
pub const SESSION_NAME: &str = "session";

/// Who a token is, with its restrictions resolved to records.
#[derive(Debug)]
pub struct Identity {
    /// Its organization.
    pub org: hush_store::Organization,
    /// The project it is limited to.
    pub project: Option<hush_store::Project>,
    /// The environment it is limited to.
    pub environment: Option<hush_store::Environment>,
    /// The user a session acts as, with their role.
    pub user: Option<Membership>,
    /// That user's project roles, by project slug.
    pub project_roles: Vec<(String, Role)>,
}

impl Users<'_> {
    /// Resolves the caller's restrictions and user (for `whoami`).
    pub async fn identity(&self, who: &Principal) -> Result<Identity, ServiceError> {
        let org = self.s.own_org(who).await?;
        let project = match &who.token.project_id {
            Some(id) => Some(self.s.store.project_by_id(id).await?),
            None => None,
        };
        let environment = match (&project, &who.token.environment_id) {
            (Some(project), Some(id)) => self
                .s
                .store
                .children(hush_store::ChildKind::Environment, project)
                .await?
                .into_iter()
                .find(|e| e.id == *id),
            _ => None,
        };
        let user = match &who.token.user_id {
            Some(id) => self
                .s
                .store
                .members(&org.id)
                .await?
                .into_iter()
                .find(|m| m.user_id == *id),
            None => None,
        };
        let project_roles = match &user {
            Some(member) => {
                let roles = self.s.store.project_roles(&org.id, &member.user_id).await?;
                let mut named = Vec::with_capacity(roles.len());
                for (project_id, role) in roles {
                    named.push((self.s.store.project_by_id(&project_id).await?.slug, role));
                }
                named.sort_by(|a, b| a.0.cmp(&b.0));
                named
            }
            None => Vec::new(),
        };
        Ok(Identity {
            org,
            project,
            environment,
            user,
            project_roles,
        })
    }
}

impl Users<'_> {
    /// A user's current roles in an organization (`None`: not a member),
    /// cached briefly like tokens: a change applies within seconds on
    /// every replica, at once on this one.
    pub async fn roles(
        &self,
        org_id: &str,
        user_id: &str,
    ) -> Result<Option<Arc<UserRoles>>, ServiceError> {
        let key = (org_id.to_owned(), user_id.to_owned());
        if let Some(hit) = self.s.user_roles.get(&key) {
            return Ok(hit);
        }
        let roles = match self.s.store.role(org_id, user_id).await? {
            Some(org) => Some(Arc::new(UserRoles {
                org,
                projects: self.s.store.project_roles(org_id, user_id).await?,
                viewers_decrypt: self
                    .s
                    .store
                    .organization_by_id(org_id)
                    .await?
                    .viewers_decrypt,
            })),
            None => None,
        };
        self.s.user_roles.insert(key, roles.clone());
        Ok(roles)
    }

    /// The users with a role in a project (needs `project:admin` there).
    pub async fn project_members(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
    ) -> Result<Vec<Membership>, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        Ok(self.s.store.project_members(&project.id).await?)
    }

    /// Gives a member of the organization a role in a project (needs
    /// `project:admin` there). Only roles the caller could hand out
    /// itself: a project admin may make others project admins.
    pub async fn set_project_role(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        user_id: &str,
        role: &str,
    ) -> Result<Membership, ServiceError> {
        let (org, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        let role = Role::parse(role)
            .filter(|r| project_role_scopes(*r, false).is_some())
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::InvalidRole,
                    format!("a project role is admin, member or viewer, not {role:?}"),
                )
            })?;
        let member = self.member(&org.id, user_id).await?;
        self.s
            .store
            .set_project_role(&project.id, &member.user_id, role)
            .await?;
        self.s.user_roles.clear();
        Ok(Membership { role, ..member })
    }

    /// Takes a user's project role away (their organization role applies
    /// there again).
    pub async fn remove_project_role(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        user_id: &str,
    ) -> Result<(), ServiceError> {
        let (org, project) = self.s.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::ProjectAdmin)?;
        let member = self.member(&org.id, user_id).await?;
        if !self
            .s
            .store
            .remove_project_role(&project.id, &member.user_id)
            .await?
        {
            return Err(ServiceError::Store(hush_store::StoreError::NotFound {
                kind: "project member",
                what: user_id.to_owned(),
            }));
        }
        self.s.user_roles.clear();
        Ok(())
    }
}

impl Users<'_> {
    /// Only an owner acts on owners (a token not bound to a user, such as
    /// the bootstrap token, stands for the organization itself).
    async fn owners_only(
        &self,
        who: &Principal,
        org_id: &str,
        role: Role,
        action: &str,
    ) -> Result<(), ServiceError> {
        if role != Role::Owner {
            return Ok(());
        }
        if let Some(user) = &who.token.user_id {
            if self.s.store.role(org_id, user).await? != Some(Role::Owner) {
                return Err(ServiceError::new(
                    ErrorCode::TokenEscalation,
                    format!("only an owner can {action}"),
                ));
            }
        }
        Ok(())
    }

    /// The organization's member named by id or email.
    async fn member(&self, org_id: &str, user: &str) -> Result<Membership, ServiceError> {
        let email = user.trim().to_ascii_lowercase();
        self.s
            .store
            .members(org_id)
            .await?
            .into_iter()
            .find(|m| m.user_id == user || m.email == email)
            .ok_or_else(|| {
                ServiceError::Store(hush_store::StoreError::NotFound {
                    kind: "member of this organization",
                    what: user.to_owned(),
                })
            })
    }

    /// Removes a user (by id or email) from the organization: the account,
    /// its project roles, its sessions and the tokens it minted. Needs
    /// `org:admin` organization-wide; an owner goes only by an owner's
    /// hand, and never the last one.
    pub async fn remove(
        &self,
        who: &Principal,
        org: &str,
        user: &str,
    ) -> Result<Membership, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        let member = self.member(&org.id, user).await?;
        self.owners_only(who, &org.id, member.role, "remove an owner")
            .await?;
        if !self.s.store.delete_user(&org.id, &member.user_id).await? {
            return Err(last_owner());
        }
        self.s.forget_cached();
        self.s.user_roles.clear();
        Ok(member)
    }

    /// Changes a member's organization role (by id or email). Needs
    /// `org:admin` organization-wide; making or unmaking an owner takes an
    /// owner, and the last owner stays one. It takes effect at once: a
    /// session can never do more than its user's role allows now.
    pub async fn set_role(
        &self,
        who: &Principal,
        org: &str,
        user: &str,
        role: &str,
    ) -> Result<Membership, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        let member = self.member(&org.id, user).await?;
        let role = parse_role(role)?;
        self.owners_only(who, &org.id, member.role, "change an owner's role")
            .await?;
        self.owners_only(who, &org.id, role, "make another owner")
            .await?;
        if !self
            .s
            .store
            .set_role(&org.id, &member.user_id, role)
            .await?
        {
            return Err(last_owner());
        }
        self.s.forget_cached();
        self.s.user_roles.clear();
        Ok(Membership { role, ..member })
    }

    /// Sets another user's password (by id or email) and ends their
    /// sessions. Needs `org:admin` organization-wide; an owner's only by
    /// an owner.
    pub async fn set_password(
        &self,
        who: &Principal,
        org: &str,
        user: &str,
        password: &SecretString,
    ) -> Result<Membership, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        let member = self.member(&org.id, user).await?;
        self.owners_only(who, &org.id, member.role, "set an owner's password")
            .await?;
        self.replace_password(&org.id, &member.email, password)
            .await?;
        Ok(member)
    }

    /// Changes the caller's own password, given the current one (a login
    /// session only). Every session of the account ends, this one too:
    /// whoever knew the old password is out. Wrong guesses count against
    /// the account's login throttle.
    pub async fn change_own_password(
        &self,
        who: &Principal,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), ServiceError> {
        let Some(user_id) = who
            .token
            .user_id
            .as_deref()
            .filter(|_| who.token.name == SESSION_NAME)
        else {
            return Err(ServiceError::new(
                ErrorCode::NotASession,
                "only a login session changes its user's password (hush login --email …)",
            ));
        };
        let org = self.s.own_org(who).await?;
        let member = self.member(&org.id, user_id).await?;
        let account = format!("login:{}/{}", org.slug, member.email);
        self.s.throttle(account.clone(), LOGIN_PER_ACCOUNT)?;
        let user = self
            .s
            .store
            .user_by_email(&org.id, &member.email)
            .await?
            .ok_or_else(|| {
                ServiceError::new(ErrorCode::NotFound, "this account no longer exists")
            })?;
        let attempt = SecretString::new(current.expose().to_owned());
        let phc = user.password_hash.clone();
        let matches = tokio::task::spawn_blocking(move || password::verify(&attempt, &phc))
            .await
            .unwrap_or(false);
        if !matches {
            return Err(ServiceError::new(
                ErrorCode::WrongPassword,
                "the current password is not right; nothing was changed",
            ));
        }
        self.s.refund(&account, LOGIN_PER_ACCOUNT);
        self.replace_password(&org.id, &member.email, new).await
    }

    /// Stores a new password (if it passes the rules) and ends the
    /// account's sessions, here at once and on other replicas within their
    /// token cache's life.
    pub(super) async fn replace_password(
        &self,
        org_id: &str,
        email: &str,
        password: &SecretString,
    ) -> Result<(), ServiceError> {
        check_password(password)?;
        let hash = self.s.hash_password(password)?;
        self.s
            .store
            .reset_password(org_id, email, &hash, SESSION_NAME)
            .await?;
        self.s.forget_cached();
        Ok(())
    }

    /// Lets the organization's viewers decrypt (run the app with the
    /// secrets) or not. Needs `org:admin` organization-wide.
    pub async fn set_viewers_decrypt(
        &self,
        who: &Principal,
        org: &str,
        allowed: bool,
    ) -> Result<hush_store::Organization, ServiceError> {
        who.require_org_wide(Permission::OrgAdmin)?;
        let org = self.s.org(who, org).await?;
        self.s.store.set_viewers_decrypt(&org.id, allowed).await?;
        self.s.user_roles.clear();
        Ok(hush_store::Organization {
            viewers_decrypt: allowed,
            ..org
        })
    }
}

/// The refusal to leave an organization without an owner.
fn last_owner() -> ServiceError {
    ServiceError::new(
        ErrorCode::LastOwner,
        "this is the organization's last owner: make another owner first",
    )
}
