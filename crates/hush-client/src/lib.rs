//! The hush client: pull an environment's secrets from a hush server and
//! put them in the process environment at launch, like `dotenv` but with
//! the values kept on the server.
//!
//! ```no_run
//! # async fn start() -> Result<(), hush_client::ClientError> {
//! // HUSH_URL, HUSH_TOKEN, HUSH_PROJECT, HUSH_ENV from the environment:
//! let loaded = hush_client::config().await?;
//! eprintln!("{} secrets loaded", loaded.set.len());
//! # Ok(()) }
//! ```
//!
//! Without an async runtime, [`blocking::config`] does the same.
//!
//! A read-only pull token (`hsk_…`) needs no project: it names its own. An
//! API or session token (`hush_…`) needs `HUSH_PROJECT`. If the server
//! cannot be reached, the last environment pulled is read from an
//! encrypted cache (see [`cache`]) and a warning goes to stderr; with no
//! cache the call fails.

pub mod api;
pub mod blocking;
pub mod cache;
pub mod e2ee;
mod error;
mod options;
mod watch;

use hush_core::dotenv::EnvMap;
use hush_core::SecretString;

pub use api::{Api, ScopeSel};
pub use error::{ClientError, Result};
pub use options::{CacheMode, KeyPrompt, Options, DEFAULT_ORG, DEFAULT_URL};
pub use watch::{Change, Watcher};

use cache::{Cache, CacheContent, CacheIdentity};

/// Where an environment came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Pulled from the server just now.
    Server,
    /// Read from the last-good cache because the server was unreachable.
    Cache {
        /// When the cached copy was pulled (RFC 3339).
        saved_at: String,
        /// Why the server was not used.
        reason: String,
    },
}

/// A pulled environment.
#[derive(Debug)]
pub struct Environment {
    /// Name → value.
    pub secrets: EnvMap,
    /// Server or cache.
    pub origin: Origin,
}

/// What [`config`] did to the process environment.
#[derive(Debug)]
pub struct Loaded {
    /// Names set from hush.
    pub set: Vec<String>,
    /// Names left as they were because the environment already had them
    /// (see [`Options::override_existing`]).
    pub kept: Vec<String>,
    /// Names that could not be set, with why (see [`Injected::refused`]).
    pub refused: Vec<(String, &'static str)>,
    /// Server or cache.
    pub origin: Origin,
}

/// A client for one environment of one project.
#[derive(Debug)]
pub struct Client {
    api: Api,
    options: Options,
    cache: Option<Cache>,
    /// The passphrase [`Options::key_prompt`] gave (asked once).
    asked_key: std::sync::OnceLock<Option<SecretString>>,
}

impl Client {
    /// A client; fails only on malformed options.
    pub fn new(options: Options) -> Result<Self> {
        let api = Api::new(
            &options.url,
            Some(options.token.duplicate()),
            options.ca_cert.as_deref(),
            options.timeout,
        )?;
        if !options.is_pull_token() && options.project.is_none() {
            return Err(ClientError::Config(
                "no project given: set HUSH_PROJECT (or pass --project), or use a pull token \
                 (hsk_…), which names its own"
                    .into(),
            ));
        }
        let cache = options.cache_dir().map(|dir| {
            let identity = CacheIdentity {
                url: api.base_url().to_owned(),
                org: options.org.clone(),
                project: options.project.clone().unwrap_or_else(|| "-".into()),
                env: options.env.clone().unwrap_or_default(),
                target: options.target.clone().unwrap_or_default(),
            };
            Cache::new(&dir, &identity, &options.token)
        });
        Ok(Self {
            api,
            options,
            cache,
            asked_key: std::sync::OnceLock::new(),
        })
    }

    /// The underlying API client.
    pub fn api(&self) -> &Api {
        &self.api
    }

    /// The options in use.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The cache file, when caching is on.
    pub fn cache_path(&self) -> Option<&std::path::Path> {
        self.cache.as_ref().map(Cache::path)
    }

    fn scope(&self) -> ScopeSel {
        ScopeSel {
            env: self.options.env.clone(),
            target: self.options.target.clone(),
        }
    }

    /// The revision of the environment: changes whenever its secrets may
    /// have; one cheap request.
    pub async fn revision(&self) -> Result<String> {
        match &self.options.project {
            Some(project) if !self.options.is_pull_token() => {
                self.api
                    .revision(&self.options.org, project, &self.scope())
                    .await
            }
            _ => self.api.pull_revision(self.options.env.as_deref()).await,
        }
    }

    /// Pulls the merged environment from the server, never from the
    /// cache, and refreshes the cache with it (so a watcher's restarts keep
    /// the last-good copy current). An end-to-end-encrypted project is
    /// decrypted here, with [`Options::key`].
    pub async fn fetch(&self) -> Result<EnvMap> {
        let pulled = self.pull().await?;
        self.keep(pulled)
    }

    /// The server's answer, still encrypted for an E2EE project.
    async fn pull(&self) -> Result<hush_proto::Pull> {
        let from = match &self.options.project {
            Some(project) if !self.options.is_pull_token() => api::PullFrom::Project {
                org: &self.options.org,
                project,
            },
            _ => {
                if self.options.target.is_some() {
                    return Err(ClientError::Config(
                        "pull tokens read environments without a target; use an API token for \
                         --target"
                            .into(),
                    ));
                }
                api::PullFrom::OwnProject
            }
        };
        let own = matches!(from, api::PullFrom::OwnProject);
        let pulled = self.api.pull(from, &self.scope()).await?;
        if own {
            self.check_token_lock(&pulled)?;
        }
        Ok(pulled)
    }

    /// A pull token reads the project (and, when locked, the environment)
    /// it was made for, whatever the request says. When the settings name
    /// another, refuse rather than hand the app the wrong environment's
    /// secrets under the name of the one asked for.
    fn check_token_lock(&self, pulled: &hush_proto::Pull) -> Result<()> {
        let mismatch = |what: &str, asked: &str, reads: &str| {
            ClientError::Config(format!(
                "this token reads {what} {reads:?}, but {asked:?} was asked for (--{what}, \
                 HUSH_{upper}, or hush.toml): unset it, or use a token for {asked:?}",
                upper = what.to_ascii_uppercase()
            ))
        };
        if let Some(asked) = self.options.project.as_deref() {
            if asked != pulled.project {
                return Err(mismatch("project", asked, &pulled.project));
            }
        }
        if let (Some(asked), Some(reads)) = (self.options.env.as_deref(), &pulled.environment) {
            if asked != reads {
                return Err(mismatch("env", asked, reads));
            }
        }
        Ok(())
    }

    fn decrypt(
        &self,
        meta: &hush_proto::E2eeMeta,
        ciphertexts: &std::collections::BTreeMap<String, String>,
    ) -> Result<EnvMap> {
        let key = match (&self.options.key, self.options.key_prompt) {
            (Some(key), _) => Some(key),
            (None, Some(ask)) => self
                .asked_key
                .get_or_init(|| ask(self.options.project.as_deref().unwrap_or("this project")))
                .as_ref(),
            (None, None) => None,
        };
        let dek = e2ee::unlock(meta, key)?;
        e2ee::decrypt_all(
            &dek,
            ciphertexts.iter().map(|(k, v)| (k.clone(), v.as_str())),
        )
    }

    /// Pulls the environment and refreshes the cache; if the server cannot
    /// be reached, falls back to the cache (saying so on stderr). An E2EE
    /// project's cache keeps the ciphertext (see [`cache`]).
    pub async fn load(&self) -> Result<Environment> {
        let pulled = match self.pull().await {
            Ok(pulled) => pulled,
            Err(err) if err.is_network() => return self.fall_back_to_cache(err),
            Err(err) => return Err(err),
        };
        Ok(Environment {
            secrets: self.keep(pulled)?,
            origin: Origin::Server,
        })
    }

    /// Saves a pull as the last-good copy and returns its plaintext.
    fn keep(&self, pulled: hush_proto::Pull) -> Result<EnvMap> {
        let content = match pulled.e2ee_meta.filter(|_| pulled.e2ee) {
            Some(meta) => CacheContent::E2ee {
                meta,
                ciphertexts: pulled.secrets,
            },
            None if pulled.e2ee => {
                return Err(ClientError::E2ee(
                    "it has no E2EE key metadata: it holds opaque blobs its own client manages (a vault-env project: `vde pull`)".into(),
                ))
            }
            None => CacheContent::Plain(
                pulled
                    .secrets
                    .into_iter()
                    .map(|(k, v)| (k, SecretString::new(v)))
                    .collect(),
            ),
        };
        let decrypted = match &content {
            CacheContent::E2ee { meta, ciphertexts } => Some(self.decrypt(meta, ciphertexts)?),
            CacheContent::Plain(_) => None,
        };
        if let Some(cache) = &self.cache {
            if let Err(err) = cache.save(&content) {
                eprintln!("hush: warning: {err}");
            }
        }
        Ok(match (content, decrypted) {
            (CacheContent::Plain(secrets), _) => secrets,
            (_, decrypted) => decrypted.unwrap_or_default(),
        })
    }

    fn fall_back_to_cache(&self, err: ClientError) -> Result<Environment> {
        let Some(cache) = &self.cache else {
            return Err(err);
        };
        match cache.load()? {
            Some(cached) => {
                let secrets = match cached.content {
                    CacheContent::Plain(secrets) => secrets,
                    CacheContent::E2ee { meta, ciphertexts } => {
                        self.decrypt(&meta, &ciphertexts)?
                    }
                };
                eprintln!(
                    "hush: warning: {err}; using the cached copy pulled at {}",
                    cached.saved_at
                );
                Ok(Environment {
                    secrets,
                    origin: Origin::Cache {
                        saved_at: cached.saved_at,
                        reason: err.to_string(),
                    },
                })
            }
            // A server that answered with an error was reached: say what
            // it said, never "cannot reach".
            None => Err(match err {
                ClientError::Network { url, reason } => ClientError::Network {
                    url,
                    reason: format!("{reason}; and there is no cached copy to fall back on"),
                },
                answered => answered,
            }),
        }
    }

    /// A watcher reporting changes of the environment, polling the cheap
    /// revision endpoint every `interval`.
    pub fn watcher(&self, interval: std::time::Duration) -> Watcher<'_> {
        Watcher::new(self, interval)
    }
}

/// Sets `secrets` in this process's environment. Variables already set
/// keep their value unless `override_existing`.
///
/// Call it before starting threads: the process environment is shared,
/// and other threads reading it concurrently is undefined behaviour on
/// some platforms.
pub fn inject(secrets: &EnvMap, override_existing: bool) -> Injected {
    let mut out = Injected::default();
    for (name, value) in secrets {
        if let Some(reason) = hush_core::env_refusal(name, value.expose()) {
            out.refused.push((name.clone(), reason));
        } else if !override_existing && std::env::var_os(name).is_some() {
            out.kept.push(name.clone());
        } else {
            std::env::set_var(name, value.expose());
            out.set.push(name.clone());
        }
    }
    out
}

/// What [`inject`] did with each name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Injected {
    /// Set from hush.
    pub set: Vec<String>,
    /// Left as they were because the environment already had them.
    pub kept: Vec<String>,
    /// Not set because no environment variable can hold them (a value
    /// with a NUL byte, stored before hush refused those), with why.
    pub refused: Vec<(String, &'static str)>,
}

/// Reads options from the environment (`HUSH_URL`, `HUSH_TOKEN`,
/// `HUSH_PROJECT`, `HUSH_ENV`, …; see [`Options::from_env`]), pulls the
/// environment (or its cached copy) and injects it (see [`inject`]).
pub async fn config() -> Result<Loaded> {
    config_with(Options::from_env()?).await
}

/// [`config`] with explicit options.
pub async fn config_with(options: Options) -> Result<Loaded> {
    let override_existing = options.override_existing;
    let client = Client::new(options)?;
    let environment = client.load().await?;
    let Injected { set, kept, refused } = inject(&environment.secrets, override_existing);
    Ok(Loaded {
        set,
        kept,
        refused,
        origin: environment.origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value no environment variable can hold is reported, never set
    /// (setting it would panic) and never a reason to drop the others.
    #[test]
    fn inject_refuses_nul_values() {
        let mut secrets = EnvMap::new();
        secrets.insert("HUSH_TEST_INJECT_OK".into(), "yes".into());
        secrets.insert("HUSH_TEST_INJECT_NUL".into(), "a\0b".into());
        let done = inject(&secrets, true);
        assert_eq!(done.set, vec!["HUSH_TEST_INJECT_OK".to_owned()]);
        assert_eq!(done.refused.len(), 1);
        assert_eq!(done.refused[0].0, "HUSH_TEST_INJECT_NUL");
        assert!(std::env::var_os("HUSH_TEST_INJECT_NUL").is_none());
    }
}
