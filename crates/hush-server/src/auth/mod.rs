//! Who is calling, and what they may do.
//!
//! Every request to the native API carries `Authorization: Bearer <token>`.
//! The token is hashed and looked up; disabled, expired and unknown tokens
//! are refused with distinct 401 codes. What a valid token may do is its
//! scopes, within its organization and, optionally, one project or one
//! environment. Outside its resources a token sees 404s, so it cannot probe
//! what exists elsewhere.

pub mod browser;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hush_store::{TokenKind, TokenRecord};

use crate::audit::AuditSlot;
use crate::error::{ErrorCode, ServiceError};
use crate::AppState;

/// A permission a token can carry (its wire name is a "scope", as in
/// OAuth: `secret:read`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Permission {
    /// Names, metadata and ciphertext.
    SecretRead,
    /// Plaintext values.
    SecretDecrypt,
    /// Create, change and delete secrets; restore versions.
    SecretWrite,
    /// Delete versions and purge history.
    SecretPurge,
    /// Retrieve a project's key (DotEnv server-managed projects).
    KeyRetrieve,
    /// Manage a project: environments, targets, project tokens.
    ProjectAdmin,
    /// Manage the organization: projects, tokens, everything in it.
    OrgAdmin,
    /// Read the audit log.
    AuditRead,
    /// Run the server's organizations: create, list all, delete. Held by
    /// the first start's token (and `hush admin token --server-admin`);
    /// no role grants it and `org:admin` does not include it.
    ServerAdmin,
}

impl Permission {
    /// Every scope within an organization (what its owners hold).
    pub const ALL: [Permission; 8] = [
        Permission::SecretRead,
        Permission::SecretDecrypt,
        Permission::SecretWrite,
        Permission::SecretPurge,
        Permission::KeyRetrieve,
        Permission::ProjectAdmin,
        Permission::OrgAdmin,
        Permission::AuditRead,
    ];

    /// The wire name, e.g. `secret:read`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::SecretRead => "secret:read",
            Permission::SecretDecrypt => "secret:decrypt",
            Permission::SecretWrite => "secret:write",
            Permission::SecretPurge => "secret:purge",
            Permission::KeyRetrieve => "key:retrieve",
            Permission::ProjectAdmin => "project:admin",
            Permission::OrgAdmin => "org:admin",
            Permission::AuditRead => "audit:read",
            Permission::ServerAdmin => "server:admin",
        }
    }

    /// Every scope a token can carry: [`Permission::ALL`] and
    /// `server:admin`.
    pub const KNOWN: [Permission; 9] = [
        Permission::SecretRead,
        Permission::SecretDecrypt,
        Permission::SecretWrite,
        Permission::SecretPurge,
        Permission::KeyRetrieve,
        Permission::ProjectAdmin,
        Permission::OrgAdmin,
        Permission::AuditRead,
        Permission::ServerAdmin,
    ];

    /// Scopes that include this one: `org:admin` includes everything,
    /// `project:admin` everything about secrets and keys.
    pub fn granted_by(self, held: Permission) -> bool {
        held == self
            || (held == Permission::OrgAdmin && self != Permission::ServerAdmin)
            || (held == Permission::ProjectAdmin && self < Permission::ProjectAdmin)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = ServiceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::KNOWN
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Permission::KNOWN.iter().map(|s| s.as_str()).collect();
                ServiceError::new(
                    ErrorCode::InvalidScope,
                    format!("unknown scope {s:?}; known scopes: {}", known.join(", ")),
                )
            })
    }
}

/// Scopes by project id: what a user's project roles grant there.
pub type ProjectScopes = Arc<Vec<(String, Vec<Permission>)>>;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's record.
    pub token: TokenRecord,
    scopes: Vec<Permission>,
    /// A session's scopes in the projects where its user has a project
    /// role (they replace `scopes` there).
    project_scopes: ProjectScopes,
    audit: Option<AuditSlot>,
}

impl Principal {
    /// The caller as written in version logs and secrets' `updated_by`.
    pub fn actor(&self) -> String {
        match &self.token.user_id {
            Some(user) => format!("user:{user}"),
            None => format!("token:{}", self.token.id),
        }
    }

    /// For organization-wide actions (projects, users, organization-wide
    /// tokens, the whole audit chain): `perm`, and a token limited to no
    /// project. A token limited to a project never acts beyond it, whatever
    /// scopes it carries.
    pub fn require_org_wide(&self, perm: Permission) -> Result<(), ServiceError> {
        self.require(perm)?;
        if self.token.project_id.is_some() {
            return Err(ServiceError::new(
                ErrorCode::TokenLimited,
                "this token is limited to one project; this needs a token for the whole organization",
            ));
        }
        Ok(())
    }

    /// For actions on a whole project (its environments, targets, members,
    /// devices, keys, tokens): `perm` in the project, and a token limited
    /// to no single environment.
    pub fn require_project_wide(
        &self,
        project_id: &str,
        perm: Permission,
    ) -> Result<(), ServiceError> {
        self.require_in(project_id, perm)?;
        if self.token.environment_id.is_some() {
            return Err(ServiceError::new(
                ErrorCode::TokenLimited,
                "this token is limited to one environment; this needs a token for the whole project",
            ));
        }
        Ok(())
    }

    /// Whether the caller used a login session (what a session cookie
    /// must hold).
    pub fn is_session(&self) -> bool {
        self.token.user_id.is_some() && self.token.name == crate::service::SESSION_NAME
    }

    /// Whether the caller used a read-only pull token (`hsk_…`).
    pub fn is_pull_token(&self) -> bool {
        self.token.kind == TokenKind::Pull
    }

    /// Fails with 403 unless the token holds `scope` (or one including it).
    pub fn require(&self, scope: Permission) -> Result<(), ServiceError> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(ServiceError::new(
                ErrorCode::InsufficientScope,
                format!("this token lacks the {scope} scope"),
            ))
        }
    }

    /// Whether the token holds `scope` (or one including it).
    pub fn has(&self, scope: Permission) -> bool {
        self.scopes.iter().any(|&held| scope.granted_by(held))
    }

    /// The scopes the caller holds in a project: its user's role there,
    /// if it has one, else the token's own.
    fn scopes_in(&self, project_id: &str) -> &[Permission] {
        self.project_scopes
            .iter()
            .find(|(id, _)| id == project_id)
            .map_or(&self.scopes, |(_, scopes)| scopes)
    }

    /// Whether the caller holds `scope` organization-wide or in some
    /// project (for listings that are then filtered per project).
    pub fn has_anywhere(&self, scope: Permission) -> bool {
        self.has(scope)
            || self
                .project_scopes
                .iter()
                .any(|(_, held)| held.iter().any(|&h| scope.granted_by(h)))
    }

    /// Whether the caller holds `scope` in the project (a token limited to
    /// another project holds nothing there, whatever its scopes).
    pub fn has_in(&self, project_id: &str, scope: Permission) -> bool {
        let within = self
            .token
            .project_id
            .as_deref()
            .is_none_or(|own| own == project_id);
        within
            && self
                .scopes_in(project_id)
                .iter()
                .any(|&held| scope.granted_by(held))
    }

    /// Fails with 403 unless the caller holds `scope` in the project.
    pub fn require_in(&self, project_id: &str, scope: Permission) -> Result<(), ServiceError> {
        if self.has_in(project_id, scope) {
            Ok(())
        } else {
            Err(ServiceError::new(
                ErrorCode::InsufficientScope,
                format!("you lack the {scope} scope in this project"),
            ))
        }
    }

    /// Ties the caller to the request's audit entry.
    pub fn audited_by(mut self, slot: Option<&AuditSlot>) -> Self {
        if let Some(slot) = slot {
            slot.identify(
                self.actor(),
                &self.token.org_id,
                self.token.project_id.as_deref(),
            );
            self.audit = Some(slot.clone());
        }
        self
    }

    /// Runs a change by this caller with the request's audit entry
    /// attached, so both commit together (see [`AuditSlot::commit`]).
    pub async fn commit<T, E, F, Fut>(&self, change: F) -> Result<T, E>
    where
        F: FnOnce(hush_store::Author) -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        AuditSlot::commit(self.audit.as_ref(), self.actor(), change).await
    }

    /// Names in the audit entry what the request actually did, where that
    /// is more than its route declares (values revealed).
    pub fn audit_action(&self, action: &'static str) {
        if let Some(slot) = &self.audit {
            slot.action(action);
        }
    }

    /// Notes in the audit entry which project the request concerned.
    pub fn note_project(&self, project_id: &str) {
        if let Some(slot) = &self.audit {
            slot.project(project_id);
        }
    }

    /// The scopes the token holds.
    pub fn scopes(&self) -> &[Permission] {
        &self.scopes
    }
}

/// Authenticates a token string against the store.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ServiceError> {
    let record = state
        .services
        .token_by_hash(&hush_core::token::hash(token))
        .await?
        .ok_or_else(|| ServiceError::new(ErrorCode::InvalidToken, "the token is not valid"))?;
    principal_for(state, record).await
}

/// Authenticates an admin JWT hush issued (InsForge's API): its signature
/// under its organization's key and its expiry first, then the hush
/// token it was minted from, which must still be valid: revoking that
/// token (or removing its user) ends its JWTs too.
pub async fn authenticate_jwt(state: &AppState, jwt: &str) -> Result<Principal, ServiceError> {
    use hush_core::jwt;
    let invalid = |what: &str| ServiceError::new(ErrorCode::InvalidToken, what.to_owned());
    let org = jwt::claimed_org(jwt).map_err(|e| invalid(&e.to_string()))?;
    let key = state
        .services
        .store
        .read_jwt_key(&org)
        .await?
        .ok_or_else(|| invalid("the token's signature does not match"))?;
    let claims = jwt::verify(&key, jwt, crate::now_ms() / 1000).map_err(|err| match err {
        jwt::JwtError::Expired => ServiceError::new(ErrorCode::TokenExpired, err.to_string()),
        other => invalid(&other.to_string()),
    })?;
    let record = state
        .services
        .store
        .token(&claims.org, &claims.sub)
        .await?
        .ok_or_else(|| invalid("the token this JWT was issued from no longer exists"))?;
    principal_for(state, record).await
}

/// The principal of a stored token, if it may still act.
async fn principal_for(state: &AppState, record: TokenRecord) -> Result<Principal, ServiceError> {
    if record.disabled {
        return Err(ServiceError::new(
            ErrorCode::TokenDisabled,
            if record.revoked {
                "the token has been revoked"
            } else {
                "the token is disabled; an admin of its project can enable it again"
            },
        ));
    }
    if record.expires_at.is_some_and(|at| at <= crate::now_ms()) {
        return Err(ServiceError::new(
            ErrorCode::TokenExpired,
            "the token has expired",
        ));
    }
    let granted: Vec<Permission> = record
        .scopes
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    // A token bound to a user (a session, or a token a session minted)
    // can do no more than the user's roles allow now.
    let (scopes, project_scopes) = match &record.user_id {
        None => (granted, Arc::default()),
        Some(user) => {
            let roles = state
                .services
                .users()
                .roles(&record.org_id, user)
                .await?
                .ok_or_else(|| {
                    ServiceError::new(
                        ErrorCode::InvalidToken,
                        "the token's user is no longer a member of the organization",
                    )
                })?;
            // A pull token a user minted stops when that user may no
            // longer manage the project's tokens.
            if let (Some(project), TokenKind::Pull) = (&record.project_id, record.kind) {
                if !roles.allow_in(project, Permission::ProjectAdmin) {
                    return Err(ServiceError::new(
                        ErrorCode::InvalidToken,
                        "the user who created this pull token may no longer manage the project's tokens",
                    ));
                }
            }
            roles.effective(&granted)
        }
    };
    Ok(Principal {
        token: record,
        scopes,
        project_scopes,
        audit: None,
    })
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Any authenticated caller, pull tokens included: for the few endpoints
/// a pull token may use besides the pull itself (`whoami`, revisions).
pub struct AnyPrincipal(pub Principal);

async fn principal_of(parts: &Parts, state: &AppState) -> Result<Principal, ServiceError> {
    let token = bearer(&parts.headers).ok_or_else(|| {
        ServiceError::new(
            ErrorCode::MissingToken,
            "send a token as `Authorization: Bearer hush_…`",
        )
    })?;
    Ok(authenticate(state, token)
        .await?
        .audited_by(parts.extensions.get::<AuditSlot>()))
}

impl FromRequestParts<Arc<AppState>> for AnyPrincipal {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ServiceError> {
        principal_of(parts, state).await.map(AnyPrincipal)
    }
}

/// Extracts an API-token principal; pull tokens are refused here.
impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ServiceError> {
        let principal = principal_of(parts, state).await?;
        if principal.token.kind == TokenKind::Pull {
            return Err(ServiceError::new(
                ErrorCode::PullToken,
                "pull tokens (hsk_…) can only pull secrets; use an API token for this",
            ));
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_inclusion() {
        assert!(Permission::SecretRead.granted_by(Permission::OrgAdmin));
        assert!(Permission::AuditRead.granted_by(Permission::OrgAdmin));
        assert!(Permission::SecretPurge.granted_by(Permission::ProjectAdmin));
        assert!(!Permission::AuditRead.granted_by(Permission::ProjectAdmin));
        assert!(!Permission::OrgAdmin.granted_by(Permission::ProjectAdmin));
        assert!(!Permission::SecretDecrypt.granted_by(Permission::SecretRead));
        for scope in Permission::KNOWN {
            assert_eq!(scope.as_str().parse::<Permission>().unwrap(), scope);
        }
        assert!("secret:everything".parse::<Permission>().is_err());
        // Running the server is not part of running an organization.
        assert!(!Permission::ServerAdmin.granted_by(Permission::OrgAdmin));
        assert!(Permission::ServerAdmin.granted_by(Permission::ServerAdmin));
        assert!(!Permission::ALL.contains(&Permission::ServerAdmin));
    }
}
