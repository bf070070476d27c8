//! Business logic. Handlers parse and format; everything they do goes
//! through here, so every API surface (native and compat) shares one set of
//! rules for resolving names and checking access.
//!
//! [`Services`] holds what is shared (the store, caches, resolving slugs
//! for a caller: `access`) and hands out one facade per concept:
//! [`Services::secrets`], [`Services::versions`], [`Services::pulls`],
//! [`Services::projects`], [`Services::tokens`], [`Services::users`],
//! [`Services::e2ee`], [`Services::audit`], [`Services::vaultenv`], and
//! [`Services::admin`] for operators holding the database and its key.
//! Services take surface-neutral requests and return the records of
//! [`model`]; no wire format reaches them.

mod access;
mod admin;
mod audit;
mod cache;
mod dotenv;
mod e2ee;
mod kv;
mod matrix;
pub mod model;
mod org_secrets;
mod orgs;
mod plans;
mod projects;
mod pull;
mod secrets;
mod tokens;
mod users;
mod vaultenv;
mod versions;
pub(crate) mod views;

use std::sync::Arc;

use hush_store::{Environment, Project, Scope, Store, TokenRecord};

use crate::error::ServiceError;
use cache::TtlCache;

pub use access::{ScopeAddress, Target};
pub use admin::Admin;
pub use audit::AuditFilter;
pub use dotenv::{
    Content as DotenvContent, KeyVerificationRequest, LevelFilter, LevelPath, LevelRead,
    LevelsRead, ReadAction, StoreRequest, Stored,
};
pub use e2ee::{proof_hash, validate_meta};
pub use kv::{org_of_mount, KvMetadata, KvPath, KvSettings, KvVersion, DEFAULT_MOUNT};
pub use matrix::{Cell, CellState, ImportReport, Matrix};
pub use org_secrets::{
    valid_name as valid_org_secret_name, NewOrgSecret, OrgSecret, OrgSecretUpdate, Which,
    NAME_RULE as ORG_SECRET_NAME_RULE, ORG_SECRETS,
};
pub use orgs::Orgs;
pub use plans::{PlanRequest, PRESETS as PLAN_PRESETS};
pub use pull::{PullRequest, Pulled};
pub use secrets::{
    CopyRequest, ReadRequest, SecretChange, SecretFilter, SecretValue, SecretsRead, WriteGuard,
};
pub use tokens::{TokenRequest, DEFAULT_ORG};
pub use users::{Identity, SESSION_NAME};
pub use vaultenv::actor as vaultenv_actor;
pub use views::ViewSecrets;

/// The revision string of a merged view from its lineage versions.
fn revision_string(versions: &[i64]) -> String {
    versions
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A page of a newest-first list: items older than `before` (a version
/// number or sequence), at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Only items before this one.
    pub before: Option<i64>,
    /// How many at most.
    pub limit: i64,
}

impl Page {
    /// Items per page when the caller does not say.
    pub const DEFAULT_LIMIT: i64 = 100;
    /// The most items one page may hold.
    pub const MAX_LIMIT: i64 = 1000;

    /// A page from optional query values, with the limit clamped to
    /// 1..=[`Page::MAX_LIMIT`].
    pub fn new(before: Option<i64>, limit: Option<i64>) -> Self {
        Self {
            before,
            limit: limit
                .unwrap_or(Self::DEFAULT_LIMIT)
                .clamp(1, Self::MAX_LIMIT),
        }
    }

    /// Everything (internal callers that need the whole list).
    pub fn all() -> Self {
        Self {
            before: None,
            limit: i64::MAX,
        }
    }
}

/// What a pull token resolves to: its project, environment and scope.
pub type PullTarget = (Project, Environment, Scope);

/// The services over one store.
pub struct Services {
    /// The store.
    pub store: Arc<Store>,
    /// Token records by token hash.
    token_records: TtlCache<String, TokenRecord>,
    /// Users' current organization and project roles, by (organization id,
    /// user id): what user-bound tokens may do follows them.
    user_roles: TtlCache<(String, String), Option<Arc<users::UserRoles>>>,
    /// Pull targets by (project id, environment id or slug).
    pull_targets: TtlCache<(String, String), Arc<PullTarget>>,
    /// Merged views by scope key, checked against the lineage versions on
    /// every use (so never stale, on any number of replicas).
    views: views::ViewCache,
    /// What the operator decided.
    policy: Policy,
    /// Throttles of their own (registrations, logins), apart from the
    /// per-request limits.
    throttle: crate::ratelimit::Buckets,
    /// A password hash no account has, computed once at start: a login
    /// for an unknown email verifies against it, so it costs exactly what
    /// a wrong password for a known one does.
    decoy_hash: String,
}

/// The operator's choices that services enforce.
#[derive(Debug, Clone)]
pub struct Policy {
    /// argon2id cost for new password hashes.
    pub password_cost: hush_core::password::PasswordCost,
    /// Whether anyone may create a vault-env project without a hush token
    /// (`hush serve --vaultenv-open-registration`): off by default, since
    /// an open server is a free secret store for the internet.
    pub vaultenv_open_registration: bool,
}

impl Services {
    /// Services over `store`.
    pub fn new(store: Arc<Store>, policy: Policy) -> Self {
        Self {
            store,
            decoy_hash: users::decoy_hash(policy.password_cost),
            policy,
            throttle: crate::ratelimit::Buckets::default(),
            token_records: TtlCache::new(),
            user_roles: TtlCache::new(),
            pull_targets: TtlCache::new(),
            views: views::ViewCache::new(),
        }
    }

    /// Takes one unit of `key`'s bucket, or refuses with 429 and how long
    /// to wait.
    fn throttle(&self, key: String, rate: crate::ratelimit::Rate) -> Result<(), ServiceError> {
        self.throttle
            .take(key, rate, std::time::Instant::now())
            .map_err(|retry_after| ServiceError::RateLimited { retry_after })
    }

    /// Gives back the unit [`Services::throttle`] took from `key`.
    fn refund(&self, key: &str, rate: crate::ratelimit::Rate) {
        self.throttle.refund(key, rate);
    }

    /// The token with this hash, from the cache or the store.
    pub async fn token_by_hash(
        &self,
        hash: &str,
    ) -> Result<Option<TokenRecord>, hush_store::StoreError> {
        if let Some(token) = self.token_records.get(&hash.to_owned()) {
            return Ok(Some(token));
        }
        let token = self.store.token_by_hash(hash).await?;
        if let Some(token) = &token {
            self.token_records.insert(hash.to_owned(), token.clone());
            self.note_use(token);
        }
        Ok(token)
    }

    /// People-readable names of actors as lists show them: `token:<id>`
    /// becomes `token "<name>"`, `user:<id>` the user's email,
    /// `device:<id>` `device "<name>"`, in the caller's organization. Deleted or unknown ones get no name.
    pub async fn actor_names(
        &self,
        who: &crate::auth::Principal,
        actors: &[String],
    ) -> Result<std::collections::HashMap<String, String>, ServiceError> {
        let org_id = &who.token.org_id;
        let mut names = std::collections::HashMap::new();
        let mut members: Option<Vec<hush_store::Membership>> = None;
        for actor in actors {
            let actor = actor.as_str();
            if names.contains_key(actor) {
                continue;
            }
            let name = match actor.split_once(':') {
                Some(("token", id)) => self
                    .store
                    .token(org_id, id)
                    .await?
                    .map(|t| format!("token \"{}\"", t.name)),
                Some(("user", id)) => {
                    if members.is_none() {
                        members = Some(self.store.members(org_id).await?);
                    }
                    members
                        .iter()
                        .flatten()
                        .find(|m| m.user_id == id)
                        .map(|m| m.email.clone())
                }
                Some(("device", id)) => self
                    .store
                    .device_in_org(org_id, id)
                    .await?
                    .map(|d| format!("device \"{}\"", d.name)),
                _ => None,
            };
            if let Some(name) = name {
                names.insert(actor.to_owned(), name);
            }
        }
        Ok(names)
    }

    /// Token lookups answered from the cache and missed, since start.
    pub fn token_cache_stats(&self) -> (u64, u64) {
        self.token_records.stats()
    }

    /// Records a token's use in the background when the stored one is
    /// more than a minute old (seen on every cache refill, so at most once
    /// a minute per token and replica). A failure costs only the figure.
    fn note_use(&self, token: &TokenRecord) {
        let now = crate::now_ms();
        if token
            .last_used_at
            .is_some_and(|at| now - at < hush_store::TOUCH_EVERY_MS)
        {
            return;
        }
        let (store, id) = (self.store.clone(), token.id.clone());
        tokio::spawn(async move {
            if let Err(err) = store.touch_token(&id, now).await {
                tracing::debug!(%err, "could not record a token's use");
            }
        });
    }

    /// Drops cached resolutions after a local change to tokens, projects
    /// or environments.
    fn forget_cached(&self) {
        self.token_records.clear();
        self.pull_targets.clear();
        self.views.clear();
    }
}
