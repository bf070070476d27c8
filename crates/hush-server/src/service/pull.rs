//! Pulling one environment with a read-only pull token.

use std::sync::Arc;

use hush_store::{ChildKind, EncryptionMode, Reveal, Scope, TokenKind};

use hush_core::SecretString;

use super::views::ViewSecrets;
use super::{PullTarget, Services};
use crate::auth::Principal;
use crate::error::{ErrorCode, ServiceError};

/// A pulled environment.
pub struct Pulled {
    /// The environment's slug.
    pub env: String,
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

impl Services {
    /// The merged (project → environment) secrets a pull token may read.
    /// An environment-locked token reads its environment whatever `env`
    /// says; a project-wide token needs `env`.
    pub async fn pull(
        &self,
        who: &Principal,
        env: Option<&str>,
        keys: Option<Vec<String>>,
    ) -> Result<Pulled, ServiceError> {
        let resolved = self.pull_target(who, env).await?;
        let (project, environment, scope) = &*resolved;
        let e2ee = project.mode == EncryptionMode::Client;
        let reveal = if e2ee {
            Reveal::Ciphertext
        } else {
            Reveal::Plaintext
        };
        let view = self.views.get(&self.store, scope, reveal).await?;
        let meta = if e2ee {
            self.e2ee_meta_of(project).await?
        } else {
            None
        };
        Ok(Pulled {
            env: environment.slug.clone(),
            e2ee,
            meta,
            view,
            keys,
        })
    }
}

impl Services {
    /// The revision of what [`Services::pull`] would return: changes
    /// whenever the pulled view may have, and costs one indexed query, so
    /// clients can poll it instead of pulling.
    pub async fn pull_revision(
        &self,
        who: &Principal,
        env: Option<&str>,
    ) -> Result<String, ServiceError> {
        let resolved = self.pull_target(who, env).await?;
        let versions = self.store.lineage_versions(&resolved.2).await?;
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
        let resolved = match self.pull_targets.get(&cache_key) {
            Some(hit) => hit,
            None => {
                let resolved = Arc::new(self.resolve_pull(project_id, choice).await?);
                self.pull_targets.insert(cache_key, resolved.clone());
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

impl Services {
    async fn resolve_pull(
        &self,
        project_id: &str,
        choice: EnvChoice<'_>,
    ) -> Result<PullTarget, ServiceError> {
        let project = self.store.project_by_id(project_id).await?;
        let environment = match choice {
            EnvChoice::Locked(locked) => self
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
                self.store
                    .child(ChildKind::Environment, &project, slug)
                    .await?
            }
        };
        let scope = Scope::new(&project, None, Some(&environment))?;
        Ok((project, environment, scope))
    }
}
