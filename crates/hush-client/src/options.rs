//! Client options, from arguments or from `HUSH_*` environment variables.

use std::path::PathBuf;
use std::time::Duration;

use hush_core::token::PULL_PREFIX;
use hush_core::SecretString;

use crate::error::{ClientError, Result};

/// The server a client talks to when none is configured: `hush serve`'s
/// default address.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8420";
/// The organization `hush serve` creates on first start.
pub const DEFAULT_ORG: &str = "default";

/// Where (whether) the last-good cache lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// `$HUSH_CACHE_DIR`, else `$XDG_CACHE_HOME/hush`, else
    /// `~/.cache/hush`.
    #[default]
    Default,
    /// This directory.
    Dir(PathBuf),
    /// No cache: a network failure is an error.
    Off,
}

/// Asks the user for an E2EE project's passphrase; `None` when they
/// cannot or will not give one.
pub type KeyPrompt = fn(project: &str) -> Option<SecretString>;

/// What to pull, from where, with which token.
#[derive(Debug)]
pub struct Options {
    /// Server base URL.
    pub url: String,
    /// API, session or pull token.
    pub token: SecretString,
    /// Organization slug.
    pub org: String,
    /// Project slug (not needed with a pull token).
    pub project: Option<String>,
    /// Environment slug (a project-wide pull token needs it).
    pub env: Option<String>,
    /// Target slug.
    pub target: Option<String>,
    /// Passphrase or recovery key of an end-to-end-encrypted project.
    pub key: Option<SecretString>,
    /// Asks for the passphrase when a pull turns out to be end-to-end
    /// encrypted and [`Options::key`] is unset (a terminal prompt in the
    /// CLI); called at most once per client, with the project's slug.
    pub key_prompt: Option<KeyPrompt>,
    /// Replace variables the process environment already has.
    pub override_existing: bool,
    /// The last-good cache.
    pub cache: CacheMode,
    /// Extra PEM root certificate (a private CA).
    pub ca_cert: Option<PathBuf>,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Options {
    /// Options for `url` and `token`, everything else default.
    pub fn new(url: impl Into<String>, token: SecretString) -> Self {
        Self {
            url: url.into(),
            token,
            org: DEFAULT_ORG.to_owned(),
            project: None,
            env: None,
            target: None,
            key: None,
            key_prompt: None,
            override_existing: false,
            cache: CacheMode::Default,
            ca_cert: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// Reads `HUSH_URL` (default `http://127.0.0.1:8420`), `HUSH_TOKEN` or
    /// `HUSH_TOKEN_FILE` (required), `HUSH_ORG`, `HUSH_PROJECT`,
    /// `HUSH_ENV`, `HUSH_TARGET`, `HUSH_KEY` or `HUSH_KEY_FILE`,
    /// `HUSH_OVERRIDE` (`1`/`true`), `HUSH_CACHE_DIR` (`off` disables the
    /// cache) and `HUSH_CA_CERT`.
    pub fn from_env() -> Result<Self> {
        let token = secret_var("HUSH_TOKEN")?.ok_or_else(|| {
            ClientError::Config(
                "no token: set HUSH_TOKEN (a pull token hsk_… or an API token hush_…) or \
                 HUSH_TOKEN_FILE"
                    .into(),
            )
        })?;
        let mut options =
            Options::new(var("HUSH_URL").unwrap_or_else(|| DEFAULT_URL.into()), token);
        if let Some(org) = var("HUSH_ORG") {
            options.org = org;
        }
        options.project = var("HUSH_PROJECT");
        options.env = var("HUSH_ENV");
        options.target = var("HUSH_TARGET");
        options.key = secret_var("HUSH_KEY")?;
        options.override_existing = match var("HUSH_OVERRIDE").as_deref() {
            None | Some("0" | "false" | "no") => false,
            Some("1" | "true" | "yes") => true,
            Some(other) => {
                return Err(ClientError::Config(format!(
                    "HUSH_OVERRIDE is true or false, not {other:?}"
                )))
            }
        };
        options.cache = match var("HUSH_CACHE_DIR") {
            Some(dir) if dir == "off" => CacheMode::Off,
            Some(dir) => CacheMode::Dir(dir.into()),
            None => CacheMode::Default,
        };
        options.ca_cert = var("HUSH_CA_CERT").map(PathBuf::from);
        Ok(options)
    }

    /// True for a read-only pull token (`hsk_…`), which names its project.
    pub fn is_pull_token(&self) -> bool {
        self.token.expose().starts_with(PULL_PREFIX)
    }

    /// The cache directory, `None` when caching is off or no home is known.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        match &self.cache {
            CacheMode::Default => crate::cache::default_dir(),
            CacheMode::Dir(dir) => Some(dir.clone()),
            CacheMode::Off => None,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// `NAME`, or the trimmed contents of the file `NAME_FILE` names.
fn secret_var(name: &str) -> Result<Option<SecretString>> {
    if let Some(value) = var(name) {
        return Ok(Some(SecretString::new(value)));
    }
    let file_var = format!("{name}_FILE");
    let Some(path) = var(&file_var) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|err| ClientError::Config(format!("cannot read {file_var} ({path}): {err}")))?;
    Ok(Some(SecretString::new(text.trim().to_owned())))
}
