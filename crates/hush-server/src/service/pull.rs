//! Pulling one environment with a read-only pull token.

use hush_store::{ChildKind, EncryptionMode, ReadOptions, Reveal, Scope, TokenKind, Value};

use super::Services;
use crate::auth::Principal;
use crate::error::ServiceError;

/// A pulled environment.
pub struct Pulled {
    /// The environment's slug.
    pub env: String,
    /// Client-encrypted project: values are ciphertext for the client.
    pub e2ee: bool,
    /// Name → value (plaintext, or the client's ciphertext when `e2ee`).
    pub secrets: Vec<(String, String)>,
}

impl Services {
    /// The merged (project → environment) secrets a pull token may read.
    /// An environment-locked token reads its environment whatever `env`
    /// says; a project-wide token needs `env`.
    pub async fn pull(
        &self,
        who: &Principal,
        env: Option<&str>,
        keys: Option<&[String]>,
    ) -> Result<Pulled, ServiceError> {
        if who.token.kind != TokenKind::Pull {
            return Err(ServiceError::unauthorized(
                "invalid_token",
                "pulls need a read-only pull token (hsk_…)",
            ));
        }
        let project_id = who.token.project_id.as_deref().ok_or_else(|| {
            ServiceError::unauthorized("invalid_token", "this pull token has no project")
        })?;
        let project = self.store.project_by_id(project_id).await?;
        let environment = match (&who.token.environment_id, env) {
            (Some(locked), _) => self
                .store
                .children(ChildKind::Environment, &project)
                .await?
                .into_iter()
                .find(|e| e.id == *locked)
                .ok_or_else(|| {
                    ServiceError::unauthorized(
                        "invalid_token",
                        "this token's environment no longer exists",
                    )
                })?,
            (None, Some(slug)) => {
                self.store
                    .child(ChildKind::Environment, &project, slug)
                    .await?
            }
            (None, None) => {
                return Err(ServiceError::bad_request(
                    "env_required",
                    "this token reads any environment of its project: pass ?env=<environment>",
                ))
            }
        };
        let scope = Scope::new(&project, None, Some(&environment))?;
        let e2ee = project.mode == EncryptionMode::Client;
        let reveal = if e2ee {
            Reveal::Ciphertext
        } else {
            Reveal::Plaintext
        };
        let found = self
            .store
            .read_merged(&scope, ReadOptions::new(reveal))
            .await?;
        let secrets = found
            .into_iter()
            .filter(|s| keys.is_none_or(|keys| keys.contains(&s.name)))
            .map(|s| {
                let value = match s.value {
                    Value::Plain(v) => v.expose().to_owned(),
                    Value::Ciphertext(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Value::Hidden => String::new(),
                };
                (s.name, value)
            })
            .collect();
        Ok(Pulled {
            env: environment.slug,
            e2ee,
            secrets,
        })
    }
}
