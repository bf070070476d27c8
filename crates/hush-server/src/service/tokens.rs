//! Tokens: creation (shown once), listing, revocation, and the bootstrap
//! token of a new server.

use hush_core::names::MAX_LABEL;
use hush_core::token::{self, API_PREFIX, PULL_PREFIX};
use hush_core::{SecretString, Slug, TextRule};
use hush_store::{ChildKind, NewToken, TokenKind, TokenRecord};

use super::Services;
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// What a new token should be.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// Display name.
    pub name: String,
    /// API or pull.
    pub kind: TokenKind,
    /// Scopes (API tokens).
    pub scopes: Vec<Permission>,
    /// Project slug restriction.
    pub project: Option<String>,
    /// Environment slug restriction (needs a project).
    pub environment: Option<String>,
    /// Expiry (unix ms).
    pub expires_at: Option<i64>,
    /// The token's prefix when not its kind's (`hklst_` for Hooklistener
    /// keys, which are API tokens limited to the organization's secrets).
    pub prefix: Option<&'static str>,
}

/// The slug of the organization a new server creates.
pub const DEFAULT_ORG: &str = "default";

/// API and pull tokens: minted (shown once), listed and revoked within what the caller may grant. Handed out by [`Services::tokens`].
pub struct Tokens<'a> {
    s: &'a Services,
}

impl Services {
    /// The tokens facade.
    pub fn tokens(&self) -> Tokens<'_> {
        Tokens { s: self }
    }
}

/// The name of the token the first start prints, which first-run setup
/// turns into the owner's account ([`super::Users::first_owner`]).
pub const BOOTSTRAP_NAME: &str = "bootstrap";

impl Tokens<'_> {
    /// On a server with no organization yet: creates the default one and
    /// an all-scopes API token for it, returned for printing once. Returns
    /// `None` on every later start (and when another replica won the race).
    pub async fn bootstrap(&self) -> Result<Option<SecretString>, ServiceError> {
        if !self.s.store.organizations().await?.is_empty() {
            return Ok(None);
        }
        let slug = Slug::parse("organization", DEFAULT_ORG)?;
        let org = match self.s.store.create_organization(&slug, "Default").await {
            Ok(org) => org,
            Err(hush_store::StoreError::AlreadyExists { .. }) => return Ok(None),
            Err(err) => return Err(err.into()),
        };
        let (secret, _) = self
            .s
            .all_scopes_token(&org, BOOTSTRAP_NAME, "system", None, true)
            .await?;
        Ok(Some(secret))
    }
}

impl Services {
    /// An all-scopes API token of an organization, for whoever stands for
    /// the organization itself: the first start, and operators with the
    /// database and master key in hand (`hush admin token`). With
    /// `server_admin` it also runs the server's organizations.
    pub(super) async fn all_scopes_token(
        &self,
        org: &hush_store::Organization,
        name: &str,
        created_by: &str,
        expires_at: Option<i64>,
        server_admin: bool,
    ) -> Result<(SecretString, TokenRecord), ServiceError> {
        TextRule::Line.check("token name", name, MAX_LABEL)?;
        let secret = token::generate(API_PREFIX);
        let record = self
            .store
            .create_token(NewToken {
                org_id: org.id.clone(),
                project_id: None,
                environment_id: None,
                kind: TokenKind::Api,
                name: name.to_owned(),
                token_hash: token::hash(secret.expose()),
                prefix: token::display_prefix(secret.expose()),
                scopes: Permission::ALL
                    .iter()
                    .chain(server_admin.then_some(&Permission::ServerAdmin))
                    .map(|s| s.as_str().to_owned())
                    .collect(),
                expires_at,
                created_by: created_by.to_owned(),
                user_id: None,
            })
            .await?;
        Ok((secret, record))
    }
}

impl Tokens<'_> {
    /// Creates a token. The caller needs `org:admin`, or `project:admin`
    /// for a token limited to its own project, and can only hand out scopes
    /// and resources it has itself.
    pub async fn create(
        &self,
        who: &Principal,
        org: &str,
        request: TokenRequest,
    ) -> Result<(SecretString, TokenRecord), ServiceError> {
        if request.name.trim().is_empty() {
            return Err(ServiceError::new(
                ErrorCode::InvalidTokenRequest,
                "give the token a name",
            ));
        }
        TextRule::Line.check("token name", &request.name, MAX_LABEL)?;
        let org = self.s.org(who, org).await?;
        let project = match &request.project {
            Some(slug) => Some(self.s.project(who, &org.slug, slug).await?.1),
            None => None,
        };
        let environment = match (&request.environment, &project) {
            (Some(slug), Some(project)) => Some(
                self.s
                    .store
                    .child(ChildKind::Environment, project, slug)
                    .await?,
            ),
            (Some(_), None) => {
                return Err(ServiceError::new(
                    ErrorCode::InvalidTokenRequest,
                    "an environment restriction needs a project",
                ))
            }
            (None, _) => None,
        };
        // What the caller holds where the token will work: in its project
        // (where a project role may apply), or organization-wide.
        let holds = |scope: Permission| match &project {
            Some(project) => who.has_in(&project.id, scope),
            None => who.has(scope),
        };
        if !(who.has(Permission::OrgAdmin)
            || (project.is_some() && holds(Permission::ProjectAdmin)))
        {
            return Err(ServiceError::new(
                ErrorCode::InsufficientScope,
                if project.is_some() {
                    "creating a project's tokens needs the project:admin scope in it"
                } else {
                    "creating organization-wide tokens needs the org:admin scope"
                },
            ));
        }
        // A token never creates a credential broader than itself: within
        // its project, its environment, its expiry, its user's roles.
        if let Some(own) = &who.token.project_id {
            if project.as_ref().is_none_or(|p| p.id != *own) {
                return Err(ServiceError::new(
                    ErrorCode::TokenEscalation,
                    "a token limited to a project can only create tokens limited to that project",
                ));
            }
        }
        if let Some(own) = &who.token.environment_id {
            if environment.as_ref().is_none_or(|e| e.id != *own) {
                return Err(ServiceError::new(
                    ErrorCode::TokenEscalation,
                    "a token can only create tokens limited to its own environment",
                ));
            }
        }
        let now = crate::now_ms();
        if request.expires_at.is_some_and(|at| at <= now) {
            return Err(ServiceError::new(
                ErrorCode::InvalidTokenRequest,
                "expires_at is in the past",
            ));
        }
        let expires_at = match (request.expires_at, who.token.expires_at) {
            (Some(asked), Some(own)) => Some(asked.min(own)),
            (asked, own) => asked.or(own),
        };
        let scopes = match request.kind {
            TokenKind::Api => {
                if request.scopes.is_empty() {
                    return Err(ServiceError::new(
                        ErrorCode::InvalidTokenRequest,
                        "an API token needs at least one scope",
                    ));
                }
                if let Some(scope) = request.scopes.iter().find(|s| !holds(**s)) {
                    return Err(ServiceError::new(
                        ErrorCode::TokenEscalation,
                        format!("you cannot grant {scope}, which your own token lacks"),
                    ));
                }
                request
                    .scopes
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect()
            }
            TokenKind::Pull => {
                if project.is_none() {
                    return Err(ServiceError::new(
                        ErrorCode::InvalidTokenRequest,
                        "a pull token needs a project",
                    ));
                }
                Vec::new()
            }
        };
        let prefix = request.prefix.unwrap_or(match request.kind {
            TokenKind::Api => API_PREFIX,
            TokenKind::Pull => PULL_PREFIX,
        });
        let secret = token::generate(prefix);
        let record = self
            .s
            .store
            .create_token(NewToken {
                org_id: org.id,
                project_id: project.map(|p| p.id),
                environment_id: environment.map(|e| e.id),
                kind: request.kind,
                name: request.name,
                token_hash: token::hash(secret.expose()),
                prefix: token::display_prefix(secret.expose()),
                scopes,
                expires_at,
                created_by: who.actor(),
                // Minted from a session, it follows its user's roles.
                user_id: who.token.user_id.clone(),
            })
            .await?;
        Ok((secret, record))
    }

    /// A page of the organization's tokens the caller may manage, newest
    /// first: at most `limit`, after the token `before`.
    pub async fn list(
        &self,
        who: &Principal,
        org: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<TokenRecord>, ServiceError> {
        let org = self.s.org(who, org).await?;
        if !who.has_anywhere(Permission::ProjectAdmin) {
            who.require(Permission::ProjectAdmin)?;
        }
        // The store pages all tokens; keep reading until the page holds
        // `limit` the caller manages, or the tokens run out.
        let mut page = Vec::new();
        let mut cursor = before.map(str::to_owned);
        loop {
            let batch = self
                .s
                .store
                .tokens(&org.id, cursor.as_deref(), limit)
                .await?;
            let exhausted = (batch.len() as i64) < limit;
            cursor = batch.last().map(|t| t.id.clone());
            page.extend(batch.into_iter().filter(|t| self.manages(who, t)));
            if exhausted || page.len() as i64 >= limit {
                page.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
                return Ok(page);
            }
        }
    }

    /// A token of the organization the caller manages (404 otherwise).
    async fn managed(
        &self,
        who: &Principal,
        org: &str,
        id: &str,
    ) -> Result<(hush_store::Organization, TokenRecord), ServiceError> {
        let org = self.s.org(who, org).await?;
        let token = self
            .s
            .store
            .token(&org.id, id)
            .await?
            .filter(|t| self.manages(who, t))
            .ok_or_else(|| {
                ServiceError::Store(hush_store::StoreError::NotFound {
                    kind: "token",
                    what: id.to_owned(),
                })
            })?;
        Ok((org, token))
    }

    /// The live (not revoked) pull tokens of one project that the caller
    /// manages: what a dashboard lists.
    pub async fn pull_tokens(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
    ) -> Result<Vec<TokenRecord>, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        Ok(self
            .list(who, org, None, super::Page::MAX_LIMIT)
            .await?
            .into_iter()
            .filter(|t| {
                t.kind == TokenKind::Pull
                    && !t.revoked
                    && t.project_id.as_deref() == Some(project.id.as_str())
            })
            .collect())
    }

    /// Fails with 404 unless token `id` belongs to `project` (dashboards
    /// address a token under its project).
    pub async fn check_in_project(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        id: &str,
    ) -> Result<(), ServiceError> {
        let (org, project) = self.s.project(who, org, project).await?;
        match self.s.store.token(&org.id, id).await? {
            Some(t) if t.project_id.as_deref() == Some(project.id.as_str()) => Ok(()),
            _ => Err(ServiceError::new(
                ErrorCode::NotFound,
                "no such token in this project",
            )),
        }
    }

    /// Revokes a token for good.
    pub async fn revoke(&self, who: &Principal, org: &str, id: &str) -> Result<(), ServiceError> {
        let (org, token) = self.managed(who, org, id).await?;
        self.s.store.revoke_token(&org.id, &token.id).await?;
        self.s.forget_cached();
        Ok(())
    }

    /// Disables a token, or enables a disabled one again (a revoked token
    /// stays revoked: 409).
    pub async fn set_disabled(
        &self,
        who: &Principal,
        org: &str,
        id: &str,
        disabled: bool,
    ) -> Result<TokenRecord, ServiceError> {
        let (org, token) = self.managed(who, org, id).await?;
        if token.revoked {
            return Err(ServiceError::new(
                ErrorCode::TokenRevoked,
                "the token was revoked, which is final; create a new one",
            ));
        }
        self.s
            .store
            .set_token_disabled(&org.id, &token.id, disabled)
            .await?;
        self.s.forget_cached();
        Ok(TokenRecord { disabled, ..token })
    }

    /// Organization-wide admins manage every token; project admins (by
    /// scope or by project role) the tokens of their project that are
    /// within their own limits: a token limited to a project only that
    /// project's, one limited to an environment only that environment's.
    fn manages(&self, who: &Principal, token: &TokenRecord) -> bool {
        if who.token.project_id.is_none()
            && who.token.environment_id.is_none()
            && who.has(Permission::OrgAdmin)
        {
            return true;
        }
        let Some(project) = &token.project_id else {
            return false;
        };
        let within_env = who
            .token
            .environment_id
            .as_ref()
            .is_none_or(|own| token.environment_id.as_ref() == Some(own));
        within_env && who.has_in(project, Permission::ProjectAdmin)
    }
}
