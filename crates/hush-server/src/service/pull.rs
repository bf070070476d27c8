//! Pulling one environment with a read-only pull token.

use std::sync::Arc;

use hush_store::{ChildKind, EncryptionMode, Reveal, TokenKind};

use hush_core::SecretString;

use super::views::ViewSecrets;
use super::{PullTarget, ScopeAddress, Services};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// A pulled, merged view.
pub struct Pulled {
    /// The project's slug.
    pub project: String,
    /// The environment's slug, when one was pulled.
    pub env: Option<String>,
    /// The target's slug, when one was pulled.
    pub target: Option<String>,
    /// Changes whenever the view may have (see [`hush_proto::Revision`]).
    pub revision: String,
    /// Client-encrypted project: values are ciphertext for the client.
    pub e2ee: bool,
    /// Its key metadata, when it has any (the seed's `e2eeMeta`).
    pub meta: Option<hush_core::e2ee::Meta>,
    /// Name → value (plaintext, or the client's ciphertext when `e2ee`),
    /// shared with the view cache.
    pub view: ViewSecrets,
    /// Only these names, if given.
    pub keys: Option<Vec<String>>,
}

impl Pulled {
    /// The secrets the pull returns, by name.
    pub fn secrets(&self) -> impl Iterator<Item = (&str, &SecretString)> {
        self.view
            .iter()
            .filter(|(name, _)| self.keys.as_ref().is_none_or(|keys| keys.contains(name)))
            .map(|(name, value)| (name.as_str(), value))
    }
}

/// What to pull.
#[derive(Debug, Clone, Default)]
pub struct PullRequest {
    /// Organization and project slugs; `None` for the project the token is
    /// limited to (a pull token's, or a project-limited API token's).
    pub project: Option<(String, String)>,
    /// Which scope (a pull token reads environments only).
    pub address: ScopeAddress,
    /// Only these names.
    pub keys: Option<Vec<String>>,
}

/// Merged views ready to inject, for pull tokens and any token with read access; every surface's pull goes through here. Handed out by [`Services::pulls`].
pub struct Pulls<'a> {
    s: &'a Services,
}

impl Services {
    /// The pulls facade.
    pub fn pulls(&self) -> Pulls<'_> {
        Pulls { s: self }
    }
}

impl Pulls<'_> {
    /// The merged view a caller may pull, with values as the caller can
    /// use them: plaintext for a server-encrypted project, the clients'
    /// ciphertext (and the key metadata) for an end-to-end-encrypted one.
    /// A pull token reads its project (an environment-locked one its
    /// environment, whatever the request says; a project-wide one needs
    /// the environment); any other token needs `secret:decrypt` (or
    /// `secret:read` for ciphertext) in the project.
    pub async fn pull(
        &self,
        who: &Principal,
        request: PullRequest,
    ) -> Result<Pulled, ServiceError> {
        let (project, env, scope) = match (&request.project, who.token.kind) {
            (None, TokenKind::Pull) => {
                if request.address.target.is_some() {
                    return Err(ServiceError::new(
                        ErrorCode::InvalidQuery,
                        "pull tokens read environments without a target",
                    ));
                }
                let resolved = self
                    .pull_target(who, request.address.env.as_deref())
                    .await?;
                let (project, environment, scope) = &*resolved;
                (project.clone(), Some(environment.clone()), scope.clone())
            }
            (None, TokenKind::Api) => {
                let own = who.token.project_id.as_deref().ok_or_else(|| {
                    ServiceError::new(
                        ErrorCode::InvalidQuery,
                        "this token is not limited to one project: pull with \
                         /v1/orgs/{org}/projects/{project}/pull",
                    )
                })?;
                let project = self.s.store.project_by_id(own).await?;
                let target = self.s.target_in(who, project, &request.address).await?;
                (target.project, target.env, target.scope)
            }
            (Some((org, project)), _) => {
                let target = self.s.target(who, org, project, &request.address).await?;
                (target.project, target.env, target.scope)
            }
        };
        let e2ee = project.mode == EncryptionMode::Client;
        if who.token.kind != TokenKind::Pull {
            who.require_in(
                &project.id,
                if e2ee {
                    Permission::SecretRead
                } else {
                    Permission::SecretDecrypt
                },
            )?;
        }
        who.note_project(&project.id);
        let reveal = if e2ee {
            Reveal::Ciphertext
        } else {
            Reveal::Plaintext
        };
        let (versions, view) = self.s.views.get(&self.s.store, &scope, reveal).await?;
        let meta = if e2ee {
            self.s.e2ee().meta_of(&project).await?
        } else {
            None
        };
        Ok(Pulled {
            project: project.slug.clone(),
            env: env.map(|e| e.slug),
            target: request.address.target.clone(),
            revision: super::revision_string(&versions),
            e2ee,
            meta,
            view,
            keys: request.keys,
        })
    }
}

impl Pulls<'_> {
    /// The revision of what [`Services::pull`] would return: changes
    /// whenever the pulled view may have, and costs one indexed query, so
    /// clients can poll it instead of pulling.
    pub async fn revision(
        &self,
        who: &Principal,
        env: Option<&str>,
    ) -> Result<String, ServiceError> {
        let resolved = self.pull_target(who, env).await?;
        let versions = self.s.store.lineage_versions(&resolved.2).await?;
        Ok(super::revision_string(&versions))
    }

    /// The project, environment and scope a pull token reads. An
    /// environment-locked token reads its environment whatever `env` says;
    /// a project-wide token needs `env`.
    async fn pull_target(
        &self,
        who: &Principal,
        env: Option<&str>,
    ) -> Result<Arc<PullTarget>, ServiceError> {
        if who.token.kind != TokenKind::Pull {
            return Err(ServiceError::new(
                ErrorCode::InvalidToken,
                "pulls need a read-only pull token (hsk_…)",
            ));
        }
        let project_id = who.token.project_id.as_deref().ok_or_else(|| {
            ServiceError::new(ErrorCode::InvalidToken, "this pull token has no project")
        })?;
        let choice = match (&who.token.environment_id, env) {
            (Some(locked), _) => EnvChoice::Locked(locked),
            (None, Some(slug)) => EnvChoice::Slug(slug),
            (None, None) => {
                return Err(ServiceError::new(
                    ErrorCode::EnvRequired,
                    "this token reads any environment of its project: pass ?env=<environment>",
                ))
            }
        };
        let key = match choice {
            EnvChoice::Locked(id) => format!("id:{id}"),
            EnvChoice::Slug(slug) => format!("slug:{slug}"),
        };
        let cache_key = (project_id.to_owned(), key);
        let resolved = match self.s.pull_targets.get(&cache_key) {
            Some(hit) => hit,
            None => {
                let resolved = Arc::new(self.resolve_pull(project_id, choice).await?);
                self.s.pull_targets.insert(cache_key, resolved.clone());
                resolved
            }
        };
        who.note_project(&resolved.0.id);
        Ok(resolved)
    }
}

/// Which environment a pull reads: the token's own, or the one asked for.
#[derive(Debug, Clone, Copy)]
enum EnvChoice<'a> {
    Locked(&'a str),
    Slug(&'a str),
}

impl Pulls<'_> {
    async fn resolve_pull(
        &self,
        project_id: &str,
        choice: EnvChoice<'_>,
    ) -> Result<PullTarget, ServiceError> {
        let project = self.s.store.project_by_id(project_id).await?;
        let environment = match choice {
            EnvChoice::Locked(locked) => self
                .s
                .store
                .children(ChildKind::Environment, &project)
                .await?
                .into_iter()
                .find(|e| e.id == locked)
                .ok_or_else(|| {
                    ServiceError::new(
                        ErrorCode::InvalidToken,
                        "this token's environment no longer exists",
                    )
                })?,
            EnvChoice::Slug(slug) => {
                self.s
                    .store
                    .child(ChildKind::Environment, &project, slug)
                    .await?
            }
        };
        let scope = hush_store::Scope::new(&project, None, Some(&environment))?;
        Ok((project, environment, scope))
    }
}
