//! `hush serve`: run the server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use hush_server::config::{self, KeySource, DEFAULT_MAX_BODY_BYTES};
use hush_server::listener::ConnectionLimits;
use hush_server::ratelimit::{Rate, RateLimits};
use hush_server::tls::TlsFiles;
use hush_server::ServerConfig;

/// Run the hush server.
///
/// With no flags: SQLite in ./hush-data, master key generated there on the
/// first start (mode 0600), listening on 127.0.0.1:8420. The first start
/// also creates the `default` organization and prints a one-time admin
/// token. Every flag has a HUSH_* environment variable.
///
/// Examples:
///
///   hush serve
///
///   hush serve --data-dir /var/lib/hush --listen 0.0.0.0:8420 \
///     --tls-cert /etc/hush/cert.pem --tls-key /etc/hush/key.pem
///
///   HUSH_MASTER_KEY_FILE=/run/secrets/hush-key \
///     hush serve --database-url postgres://hush@db/hush
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "HUSH_LISTEN", default_value = "127.0.0.1:8420")]
    listen: SocketAddr,

    /// Directory for the embedded database and the generated master key.
    #[arg(long, env = "HUSH_DATA_DIR", default_value = "./hush-data")]
    data_dir: PathBuf,

    /// Use this database instead of SQLite in the data directory
    /// (postgres://… lets several replicas share one database).
    #[arg(long, env = "HUSH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// Read the master key (32 bytes, base64 or hex) from this file.
    /// HUSH_MASTER_KEY may hold the key itself instead.
    #[arg(long, env = "HUSH_MASTER_KEY_FILE")]
    master_key_file: Option<PathBuf>,

    /// During a master-key rotation, a second master key (file) accepted
    /// for reading, so this server keeps serving while the database moves
    /// from one key to the other (see "Rotating the master key" in the
    /// README).
    #[arg(long, env = "HUSH_ACCEPT_MASTER_KEY_FILE", value_name = "FILE")]
    accept_master_key_file: Option<PathBuf>,

    /// Serve Prometheus metrics at http://ADDR/metrics, apart from the API
    /// (bind it where only your monitoring reaches, e.g. 127.0.0.1:9420).
    #[arg(long, env = "HUSH_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "HUSH_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Longest a request may take, in seconds.
    #[arg(long, env = "HUSH_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,

    /// Requests per second allowed per token (bursts of twice that); 0 turns
    /// the limit off. Over the limit: 429 with Retry-After.
    #[arg(long, env = "HUSH_RATE_LIMIT_TOKEN", default_value_t = 100)]
    rate_limit_token: u32,

    /// Requests per second allowed per client IP address (bursts of twice
    /// that); 0 turns the limit off.
    #[arg(long, env = "HUSH_RATE_LIMIT_IP", default_value_t = 200)]
    rate_limit_ip: u32,

    /// Serve HTTPS with this PEM certificate chain (needs --tls-key).
    #[arg(long, env = "HUSH_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, env = "HUSH_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Record successful pulls as one audit entry per caller, environment
    /// and client every this many seconds, with a count, instead of one
    /// entry per pull (0, the default). Every other request is always its
    /// own entry. See "Audit log" in the README for the bytes per pull.
    #[arg(
        long,
        env = "HUSH_AUDIT_PULL_INTERVAL",
        default_value_t = 0,
        value_name = "SECONDS"
    )]
    audit_pull_interval: u64,

    /// Most secrets one scope (a project, target or environment level) may
    /// hold; writes that would add more are refused (422 limit_exceeded).
    #[arg(long, env = "HUSH_MAX_SECRETS_PER_SCOPE", default_value_t = 10_000)]
    max_secrets_per_scope: usize,

    /// Seconds a client may take to send a request's headers, from its
    /// first byte (slow or half-sent headers are cut off).
    #[arg(
        long,
        env = "HUSH_HEADER_TIMEOUT",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    header_timeout: u64,

    /// Seconds a connection may stay open with no request in progress
    /// (idle keep-alive).
    #[arg(
        long,
        env = "HUSH_IDLE_TIMEOUT",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    idle_timeout: u64,

    /// Seconds a TLS handshake may take.
    #[arg(
        long,
        env = "HUSH_TLS_HANDSHAKE_TIMEOUT",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    tls_handshake_timeout: u64,

    /// Open connections allowed from one client address; more are closed
    /// at once. Raise it for many clients behind one NAT or proxy.
    #[arg(long, env = "HUSH_MAX_CONNECTIONS_PER_IP", default_value_t = 64)]
    max_connections_per_ip: usize,

    /// Open connections allowed in all (keep it under the process's file
    /// descriptor limit, `ulimit -n`).
    #[arg(long, env = "HUSH_MAX_CONNECTIONS", default_value_t = 10_000)]
    max_connections: usize,

    /// Let the published vault-env client (`vde init`) create projects
    /// without a hush token. Off by default: anyone who can reach the
    /// server could then store data on it. When on, creations are limited
    /// to a few per hour per IP address and land in the default
    /// organization under `vaultenv-…` slugs, where a project admin
    /// approves their devices (`hush devices`). With it off, a script may
    /// still create one by sending `Authorization: Bearer <admin token>`.
    #[arg(long, env = "HUSH_VAULTENV_OPEN_REGISTRATION")]
    vaultenv_open_registration: bool,

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "HUSH_LOG", default_value = "info")]
    log: tracing::Level,

    /// Log lines as `text` for people or `json` for log pipelines (one
    /// object per line; never a value or a token).
    #[arg(long, env = "HUSH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Read settings from this TOML file: every flag above as a key
    /// (`listen = "0.0.0.0:8420"`); flags and HUSH_* variables win over it.
    #[arg(long, env = "HUSH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// How `hush serve` writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Environment variables hush understands that no flag names (every
/// flag's variable is known from the command line's definition); others
/// starting with HUSH_ earn a warning (a typo should not silently change
/// nothing).
const KNOWN_VARS: &[&str] = &[
    "HUSH_MASTER_KEY",
    "HUSH_TOKEN_FILE",
    "HUSH_KEY",
    "HUSH_KEY_FILE",
    "HUSH_NEW_KEY",
    "HUSH_OVERRIDE",
    "HUSH_CACHE_DIR",
    "HUSH_CONFIG_DIR",
    "HUSH_SECRETS_CACHE_DIR",
    "HUSH_TEST_DATABASE_URL",
    "HUSH_BIN",
];

pub fn run(args: ServeArgs, known_vars: &[String]) -> ExitCode {
    let log = tracing_subscriber::fmt()
        .with_max_level(args.log)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => log
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => log.json().flatten_event(true).init(),
    }
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("HUSH_")
            && !KNOWN_VARS.contains(&name.as_ref())
            && !known_vars.iter().any(|k| *k == name)
        {
            tracing::warn!(variable = %name, "unknown HUSH_* environment variable ignored");
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let key_value = std::env::var("HUSH_MASTER_KEY").ok();
    let source = KeySource::choose(
        key_value.as_deref(),
        args.master_key_file.as_deref(),
        &args.data_dir,
        args.database_url.is_none(),
    );
    let (master_key, generated) = config::load_master_key(source).map_err(|e| e.to_string())?;
    if generated {
        tracing::info!(path = %args.data_dir.join("master.key").display(), "generated a new master key; back it up: without it the secrets cannot be decrypted");
    }
    // How an operator gets back in if the one-time token is lost.
    let way_in = match &args.database_url {
        Some(_) => "hush admin token --database-url URL --master-key-file FILE".to_owned(),
        None => format!("hush admin token --data-dir {}", args.data_dir.display()),
    };
    let database_url = match args.database_url {
        Some(url) => url,
        None => config::sqlite_url(&args.data_dir).map_err(|e| e.to_string())?,
    };
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    let tls_on = tls.is_some();
    if !args.listen.ip().is_loopback() && tls.is_none() {
        tracing::warn!(listen = %args.listen, "listening on a non-loopback address without TLS: tokens and secrets cross the network in clear text; put hush behind a TLS proxy");
    }
    let config = ServerConfig {
        listen: args.listen,
        database_url,
        master_key,
        accepted_master_key: args
            .accept_master_key_file
            .as_deref()
            .map(|file| {
                config::load_master_key(KeySource::File(file))
                    .map(|(key, _)| key)
                    .map_err(|e| e.to_string())
            })
            .transpose()?,
        metrics_listen: args.metrics_listen,
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        rate_limits: RateLimits {
            per_token: Rate::per_second(args.rate_limit_token),
            per_ip: Rate::per_second(args.rate_limit_ip),
        },
        password_cost: hush_core::password::PasswordCost::standard(),
        tls,
        audit_pull_interval: (args.audit_pull_interval > 0)
            .then(|| Duration::from_secs(args.audit_pull_interval)),
        vaultenv_open_registration: args.vaultenv_open_registration,
        limits: hush_store::Limits {
            max_entries_per_scope: args.max_secrets_per_scope.max(1),
            ..hush_store::Limits::default()
        },
        connections: ConnectionLimits {
            header_timeout: Duration::from_secs(args.header_timeout.max(1)),
            idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
            tls_handshake_timeout: Duration::from_secs(args.tls_handshake_timeout.max(1)),
            max_per_ip: args.max_connections_per_ip.max(1),
            max_total: args.max_connections.max(1),
        },
    };
    // Registered before the server can report that it listens, so a
    // SIGTERM sent right after always means a clean shutdown.
    let signals = Signals::install();
    let running = hush_server::start(config)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(token) = &running.bootstrap_token {
        println!(
            "\nhush: first start. Created organization \"default\" and an admin token.\n\
             It is shown only this once; store it now:\n\n    {token}\n\n\
             Next:  hush login --url {scheme}://{addr} --token {token}\n\
             Lost it? On this host: {way_in}\n",
            token = token.expose(),
            scheme = if tls_on { "https" } else { "http" },
            addr = running.addr,
        );
    }
    let stop = running.shutdown_handle();
    tokio::spawn(async move {
        signals.wait().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop.send(true);
    });
    running
        .wait()
        .await
        .map_err(|e| format!("server failed: {e}"))
}

/// SIGTERM and Ctrl-C, listened for from the moment of `install`.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn wait(self) {
        #[cfg(unix)]
        if let Some(mut term) = self.term {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
