//! Where a command's settings come from, strongest first: flags and their
//! `HUSH_*` variables, then the directory's `hush.toml` (found by walking
//! up from the current directory; never holds a secret), then the login
//! stored by `hush login` in the per-user config file (0600).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use hush_client::api::ScopeSel;
use hush_client::{Api, CacheMode, Options};
use hush_core::SecretString;
use serde::{Deserialize, Serialize};

use crate::exit::NotConfigured;

/// The name of the per-directory settings file.
pub const PROJECT_FILE: &str = "hush.toml";

/// Options every client command takes (shown in a section of their own;
/// hidden from `hush serve` and `hush admin`, which work without them).
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// hush server URL [default: from hush.toml or your login, else
    /// http://127.0.0.1:8420].
    #[arg(long, global = true, env = "HUSH_URL")]
    pub url: Option<String>,
    /// Token to use instead of your login (API token hush_… or pull token
    /// hsk_…).
    #[arg(long, global = true, env = "HUSH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Organization [default: from hush.toml or your login, else default].
    #[arg(long, global = true, env = "HUSH_ORG")]
    pub org: Option<String>,
    /// Project [default: from hush.toml].
    #[arg(long, global = true, env = "HUSH_PROJECT")]
    pub project: Option<String>,
    /// Environment [default: from hush.toml].
    #[arg(long, global = true, env = "HUSH_ENV")]
    pub env: Option<String>,
    /// Target [default: from hush.toml].
    #[arg(long, global = true, env = "HUSH_TARGET")]
    pub target: Option<String>,
    /// `text` for people, `json` for scripts.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Trust this PEM certificate as a root (a server with a private CA).
    #[arg(long, global = true, env = "HUSH_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables and sentences.
    Text,
    /// JSON on stdout.
    Json,
}

/// `hush.toml`: which project and environment this directory uses.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// Server URL (optional; the login's otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Project slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Environment slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Target slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// One stored login.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Login {
    /// Session or API token.
    pub token: String,
    /// Organization of the token.
    pub org: String,
    /// Who logged in, for `whoami` without a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// When the session ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// The per-user config file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// The server used when nothing else names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// Logins by server URL.
    #[serde(default)]
    pub servers: BTreeMap<String, Login>,
}

impl UserConfig {
    /// `$HUSH_CONFIG_DIR/config.toml`, else `$XDG_CONFIG_HOME/hush/…`,
    /// else `~/.config/hush/…`.
    pub fn path() -> Result<PathBuf> {
        let dir = if let Some(dir) = non_empty_var("HUSH_CONFIG_DIR") {
            PathBuf::from(dir)
        } else if let Some(dir) = non_empty_var("XDG_CONFIG_HOME") {
            PathBuf::from(dir).join("hush")
        } else if let Some(home) = non_empty_var("HOME") {
            PathBuf::from(home).join(".config").join("hush")
        } else {
            return Err(NotConfigured(
                "cannot tell where your config lives: set HOME or HUSH_CONFIG_DIR".into(),
            )
            .into());
        };
        Ok(dir.join("config.toml"))
    }

    /// Reads the file (empty if absent).
    pub fn load() -> Result<Self> {
        let path = Self::path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text)
                .with_context(|| format!("{} is not a valid hush config file", path.display())),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the file atomically with mode 0600.
    pub fn save(&self) -> Result<PathBuf> {
        let path = Self::path()?;
        let text = toml::to_string(self).context("cannot encode the config file")?;
        hush_client::cache::write_atomically(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The nearest `hush.toml` at or above `start`.
pub fn find_project_file(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(PROJECT_FILE))
        .find(|path| path.is_file())
}

/// A command's resolved settings.
#[derive(Debug)]
pub struct Context {
    /// Server URL.
    pub url: String,
    /// Token, if any.
    pub token: Option<SecretString>,
    /// Organization.
    pub org: String,
    /// Project.
    pub project: Option<String>,
    /// Environment.
    pub env: Option<String>,
    /// Target.
    pub target: Option<String>,
    /// Output format.
    pub output: OutputFormat,
    /// The `hush.toml` in effect.
    pub project_file: Option<PathBuf>,
    /// Extra root certificate.
    pub ca_cert: Option<PathBuf>,
}

impl Context {
    /// Resolves flags, `hush.toml` and the stored login.
    pub fn resolve(args: &GlobalArgs) -> Result<Self> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let project_file = find_project_file(&cwd);
        let file = match &project_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                toml::from_str::<ProjectFile>(&text)
                    .with_context(|| format!("{} is not a valid hush.toml", path.display()))?
            }
            None => ProjectFile::default(),
        };
        let user = UserConfig::load()?;
        let url = args
            .url
            .clone()
            .or(file.url)
            .or(user.current.clone())
            .unwrap_or_else(|| hush_client::DEFAULT_URL.to_owned());
        let login = user.servers.get(&normalize_url(&url)).cloned();
        let token = args
            .token
            .clone()
            .or_else(|| login.as_ref().map(|l| l.token.clone()))
            .map(SecretString::new);
        let org = args
            .org
            .clone()
            .or(file.org)
            .or_else(|| login.map(|l| l.org))
            .unwrap_or_else(|| hush_client::DEFAULT_ORG.to_owned());
        Ok(Self {
            url,
            token,
            org,
            project: args.project.clone().or(file.project),
            env: args.env.clone().or(file.env),
            target: args.target.clone().or(file.target),
            output: args.output,
            project_file,
            ca_cert: args.ca_cert.clone(),
        })
    }

    /// True when printing JSON.
    pub fn json(&self) -> bool {
        self.output == OutputFormat::Json
    }

    fn token(&self) -> Result<SecretString> {
        self.token
            .as_ref()
            .map(SecretString::duplicate)
            .ok_or_else(|| {
                NotConfigured(format!(
                    "not logged in to {} — run `hush login` or pass --token",
                    self.url
                ))
                .into()
            })
    }

    /// An API client with the token.
    pub fn api(&self) -> Result<Api> {
        Ok(Api::new(
            &self.url,
            Some(self.token()?),
            self.ca_cert.as_deref(),
            Duration::from_secs(30),
        )?)
    }

    /// An API client without a token (for logging in).
    pub fn anonymous_api(&self) -> Result<Api> {
        Ok(Api::new(
            &self.url,
            None,
            self.ca_cert.as_deref(),
            Duration::from_secs(30),
        )?)
    }

    /// The project, or advice on how to name one.
    pub fn project(&self) -> Result<&str> {
        self.project.as_deref().ok_or_else(|| {
            NotConfigured("no project configured here — run `hush init` or pass --project".into())
                .into()
        })
    }

    /// The environment, or advice on how to name one.
    pub fn env(&self) -> Result<&str> {
        self.env.as_deref().ok_or_else(|| {
            NotConfigured("no environment configured here — run `hush init` or pass --env".into())
                .into()
        })
    }

    /// The scope commands act on: the environment (and target).
    pub fn scope(&self) -> Result<ScopeSel> {
        Ok(ScopeSel {
            env: Some(self.env()?.to_owned()),
            target: self.target.clone(),
        })
    }

    /// "project/env" (with the target) for messages.
    pub fn where_(&self) -> String {
        let mut out = self.project.clone().unwrap_or_default();
        if let Some(target) = &self.target {
            out.push_str(&format!(" [{target}]"));
        }
        if let Some(env) = &self.env {
            out.push('/');
            out.push_str(env);
        }
        out
    }

    /// Options for the pulling client (`run`, `pull`).
    pub fn client_options(&self, override_existing: bool) -> Result<Options> {
        let mut options = Options::new(self.url.clone(), self.token()?);
        options.org = self.org.clone();
        options.project = self.project.clone();
        options.env = self.env.clone();
        options.target = self.target.clone();
        options.override_existing = override_existing;
        options.ca_cert = self.ca_cert.clone();
        options.key = crate::cmd::e2ee::given_key()?;
        options.key_prompt = Some(crate::cmd::e2ee::ask_on_terminal);
        if non_empty_var("HUSH_CACHE_DIR").as_deref() == Some("off") {
            options.cache = CacheMode::Off;
        }
        if options.project.is_none() && !options.is_pull_token() {
            return Err(NotConfigured(
                "no project configured here — run `hush init` or pass --project".into(),
            )
            .into());
        }
        Ok(options)
    }
}

/// The key logins are stored under: the URL without a trailing slash.
pub fn normalize_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_owned()
}
