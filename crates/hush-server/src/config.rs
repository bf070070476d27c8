//! Server configuration and first-start preparation of the data directory.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hush_core::crypto::MasterKey;
use thiserror::Error;

/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Everything `hush serve` needs, already resolved.
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The master key.
    pub master_key: MasterKey,
    /// During a master-key rotation, a second key accepted for reading
    /// (`--accept-master-key-file`), so this replica keeps serving while
    /// the database moves from one key to the other.
    pub accepted_master_key: Option<MasterKey>,
    /// Where to serve `/metrics` (Prometheus text), apart from the API.
    pub metrics_listen: Option<SocketAddr>,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Per-token and per-IP request rates.
    pub rate_limits: crate::ratelimit::RateLimits,
    /// argon2id cost of user passwords.
    pub password_cost: hush_core::password::PasswordCost,
    /// Serve HTTPS with these files.
    pub tls: Option<crate::tls::TlsFiles>,
    /// Record successful pulls as one entry per caller, environment and
    /// client per interval, with a count (`None`: every pull its own
    /// entry, the default).
    pub audit_pull_interval: Option<Duration>,
    /// Sizes the store refuses to go past (values, notes, tags, secrets per
    /// scope).
    pub limits: hush_store::Limits,
    /// Timeouts and caps that keep slow or hostile clients from holding
    /// connections.
    pub connections: crate::listener::ConnectionLimits,
    /// Let anyone create vault-env projects (`POST /api/v1/project/create`
    /// without a hush token), rate-limited per IP.
    pub vaultenv_open_registration: bool,
}

impl ServerConfig {
    /// A configuration with the defaults of `hush serve` for everything
    /// but where to listen, the database and the key.
    pub fn new(listen: SocketAddr, database_url: impl Into<String>, master_key: MasterKey) -> Self {
        Self {
            listen,
            database_url: database_url.into(),
            master_key,
            accepted_master_key: None,
            metrics_listen: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
            rate_limits: crate::ratelimit::RateLimits::defaults(),
            password_cost: hush_core::password::PasswordCost::standard(),
            tls: None,
            audit_pull_interval: None,
            vaultenv_open_registration: false,
            connections: crate::listener::ConnectionLimits::default(),
            limits: hush_store::Limits::default(),
        }
    }
}

/// Why the configuration could not be prepared.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// Reading or writing the data directory or a key file failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A master key that is not 32 bytes of base64 or hex.
    #[error("master key from {origin} is invalid: {source}")]
    BadKey {
        /// Where it came from.
        origin: String,
        /// Why it was refused.
        source: hush_core::crypto::CryptoError,
    },
    /// A shared database and no key: a replica must never make up its own.
    #[error(
        "no master key: with --database-url every replica must use the same key, so none is \
         generated. Pass --master-key-file FILE or HUSH_MASTER_KEY with the key the other \
         replicas use (a new deployment can make one with: head -c 32 /dev/urandom | base64 > \
         hush-master.key), or put it in {dir}/master.key"
    )]
    MissingKey {
        /// The data directory that had no key.
        dir: String,
    },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ConfigError {
    let path = path.to_owned();
    move |source| ConfigError::Io { what, path, source }
}

/// The embedded default database inside the data directory.
pub fn sqlite_url(data_dir: &Path) -> Result<String, ConfigError> {
    create_private_dir(data_dir)?;
    Ok(format!("sqlite://{}", data_dir.join("hush.db").display()))
}

/// Creates the data directory readable by its owner only (the database,
/// its WAL and the master key live there).
fn create_private_dir(dir: &Path) -> Result<(), ConfigError> {
    let existed = dir.exists();
    fs::create_dir_all(dir).map_err(io("cannot create data directory", dir))?;
    #[cfg(unix)]
    if !existed {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io("cannot restrict data directory", dir))?;
    }
    Ok(())
}

/// Where the master key comes from, in order of precedence.
pub enum KeySource<'a> {
    /// The key itself (e.g. `HUSH_MASTER_KEY`).
    Value(&'a str),
    /// A file holding the key.
    File(&'a Path),
    /// `master.key` in the data directory; generated (mode 0600) if missing
    /// and `generate` is set (the embedded database only: a shared one
    /// needs the key its other replicas use).
    DataDir {
        /// The data directory.
        dir: &'a Path,
        /// Whether a missing key may be generated.
        generate: bool,
    },
}

impl<'a> KeySource<'a> {
    /// `HUSH_MASTER_KEY`'s value if set, else `--master-key-file`, else the
    /// data directory's `master.key` (generated only where `generate`).
    pub fn choose(
        value: Option<&'a str>,
        file: Option<&'a Path>,
        data_dir: &'a Path,
        generate: bool,
    ) -> Self {
        match (value, file) {
            (Some(value), _) => KeySource::Value(value),
            (None, Some(file)) => KeySource::File(file),
            (None, None) => KeySource::DataDir {
                dir: data_dir,
                generate,
            },
        }
    }
}

/// Loads the master key, generating it on the first start. Returns the key
/// and whether it was just generated.
pub fn load_master_key(source: KeySource<'_>) -> Result<(MasterKey, bool), ConfigError> {
    match source {
        KeySource::Value(text) => MasterKey::decode(text)
            .map(|k| (k, false))
            .map_err(|source| ConfigError::BadKey {
                origin: "HUSH_MASTER_KEY".to_owned(),
                source,
            }),
        KeySource::File(path) => read_key_file(path).map(|k| (k, false)),
        KeySource::DataDir { dir, generate } => {
            let path = dir.join("master.key");
            if path.exists() {
                return read_key_file(&path).map(|k| (k, false));
            }
            if !generate {
                return Err(ConfigError::MissingKey {
                    dir: dir.display().to_string(),
                });
            }
            create_private_dir(dir)?;
            let key = MasterKey::generate();
            write_private(&path, key.encode().as_bytes())?;
            Ok((key, true))
        }
    }
}

fn read_key_file(path: &Path) -> Result<MasterKey, ConfigError> {
    let text = zeroize::Zeroizing::new(
        fs::read_to_string(path).map_err(io("cannot read master key file", path))?,
    );
    MasterKey::decode(&text).map_err(|source| ConfigError::BadKey {
        origin: path.display().to_string(),
        source,
    })
}

/// Creates `path` readable by the owner only, failing if it exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(io("cannot create master key file", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io("cannot write master key file", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_key_is_generated_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let data = |generate| KeySource::DataDir {
            dir: dir.path(),
            generate,
        };
        let missing = load_master_key(data(false)).err().unwrap();
        assert!(
            matches!(missing, ConfigError::MissingKey { .. }),
            "{missing}"
        );
        let (first, created) = load_master_key(data(true)).unwrap();
        assert!(created);
        let (again, created) = load_master_key(data(false)).unwrap();
        assert!(!created);
        assert_eq!(first.id(), again.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join("master.key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = load_master_key(KeySource::Value("short")).err().unwrap();
        assert!(err.to_string().contains("HUSH_MASTER_KEY"), "{err}");
        assert!(!err.to_string().contains("short"));
    }
}
