//! What the commands that work on a server's database directly share
//! (`hush audit verify|checkpoint|prune`, `hush admin`): finding the
//! database and its master key, a runtime, and how they fail. They run with
//! the server up or down, on its host, for whoever holds the key.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use hush_core::crypto::MasterKey;
use hush_server::config;
use hush_store::{Store, StoreOptions};

/// Where the server's database is, for the commands that work on it
/// directly (with or without the server running).
#[derive(Debug, Args)]
pub struct Location {
    /// Data directory of an embedded (SQLite) server.
    #[arg(long, env = "HUSH_DATA_DIR", default_value = "./hush-data")]
    pub data_dir: PathBuf,
    /// The server's database, instead of the data directory's.
    #[arg(long, env = "HUSH_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

impl Location {
    /// The database's URL; an error when the data directory holds none.
    pub fn url(&self) -> Result<String, String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None if self.data_dir.join("hush.db").exists() => self.url_or_new(),
            None => Err(format!(
                "no hush database in {}; pass --data-dir or --database-url",
                self.data_dir.display()
            )),
        }
    }

    /// The database's URL, creating the data directory if need be (for a
    /// database about to be made).
    pub fn url_or_new(&self) -> Result<String, String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None => config::sqlite_url(&self.data_dir).map_err(|e| e.to_string()),
        }
    }
}

/// The database and its master key, for the commands that unseal what
/// the server sealed.
#[derive(Debug, Args)]
pub struct Database {
    #[command(flatten)]
    pub location: Location,
    /// The server's master key file (HUSH_MASTER_KEY may hold the key
    /// itself); default: master.key in the data directory.
    #[arg(long, env = "HUSH_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

impl Database {
    /// The data directory's own `master.key`, when that is the key in use
    /// (no --master-key-file, no HUSH_MASTER_KEY, no database URL).
    pub fn own_key_file(&self) -> Option<PathBuf> {
        let own = self.location.data_dir.join("master.key");
        (self.location.database_url.is_none()
            && self.master_key_file.is_none()
            && std::env::var_os("HUSH_MASTER_KEY").is_none()
            && own.exists())
        .then_some(own)
    }

    /// Opens the store with the server's master key (it unseals the audit
    /// chain's key; without it the database is only ciphertext).
    pub async fn open(&self) -> Result<Store, String> {
        let url = self.location.url()?;
        Store::open(StoreOptions::new(url, self.master_key()?))
            .await
            .map_err(|err| format!("cannot open the database: {err}"))
    }

    /// The master key, as `hush serve` would find it (never generated).
    pub fn master_key(&self) -> Result<MasterKey, String> {
        let value = std::env::var("HUSH_MASTER_KEY").ok();
        let source = config::KeySource::choose(
            value.as_deref(),
            self.master_key_file.as_deref(),
            &self.location.data_dir,
            false,
        );
        let (key, _) = config::load_master_key(source).map_err(|err| {
            format!("{err} (pass the server's --master-key-file or set HUSH_MASTER_KEY)")
        })?;
        Ok(key)
    }
}

/// A small runtime for one offline command.
pub fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| fail(&err.to_string()))
}

/// The operating-system user running the command, for the audit log.
pub fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Prints the error; offline commands exit 2 when they cannot do their job.
pub fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
