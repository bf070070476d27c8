//! hush-server: the HTTP server behind `hush serve`.
//!
//! - [`config`]: settings and first-start preparation (data dir, master key)
//! - `error`: the one map from errors to status + stable code
//! - `auth`: tokens and scopes
//! - `service`: business logic shared by every API surface
//! - `api::v1`: the native API; `api::compat`: one adapter per seed

pub mod api;
mod audit;
pub mod auth;
pub mod config;
mod error;
pub mod listener;
pub mod metrics;
pub mod ratelimit;
pub mod service;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hush_core::SecretString;
use hush_store::{Store, StoreOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::ServerConfig;
pub use error::ServiceError;
use service::Services;

/// What every handler can reach.
pub struct AppState {
    /// Business logic over the store.
    pub services: Services,
    /// Request rate limits.
    pub limiter: ratelimit::Limiter,
    /// Pull summaries, when pulls are not recorded one by one.
    pub pull_summaries: Option<Arc<audit::PullSummaries>>,
    /// Every surface's declared routes.
    pub routes: api::surface::RouteTable,
    /// Longest a request may take.
    pub request_timeout: std::time::Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Served over TLS (responses then carry HSTS).
    pub https: bool,
    /// What `/metrics` reports.
    pub metrics: metrics::Metrics,
}

/// A server that is listening.
pub struct Running {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The admin token, on the first start only. Print it once.
    pub bootstrap_token: Option<SecretString>,
    /// Where `/metrics` is served, when it is.
    pub metrics_addr: Option<SocketAddr>,
    /// The store, shared with the server.
    pub store: Arc<Store>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    summaries: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections, lets in-flight requests finish, and
    /// closes the database.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.shutdown.send(true);
        self.wait().await
    }

    /// Waits until the server stops (it stops on [`Running::shutdown`]),
    /// then lets the store's writer commit what is queued before closing
    /// the database.
    pub async fn wait(self) -> std::io::Result<()> {
        let result = self
            .task
            .await
            .unwrap_or_else(|err| Err(std::io::Error::other(err)));
        if let Some(summaries) = self.summaries {
            // It flushes what is pending once it sees the shutdown.
            let _ = self.shutdown.send(true);
            let _ = summaries.await;
        }
        self.store.close().await;
        result
    }

    /// A handle that triggers a graceful shutdown from elsewhere (a signal).
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] hush_store::StoreError),
    /// Creating the default organization failed.
    #[error("cannot bootstrap: {0}")]
    Bootstrap(#[from] ServiceError),
    /// The TLS certificate or key is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// Two surfaces declare the same route (a bug caught at start).
    #[error("the API surfaces overlap: {0}")]
    Routes(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Opens the store, bootstraps a new server, binds, and starts serving in
/// the background.
pub async fn start(config: ServerConfig) -> Result<Running, StartError> {
    // TLS files first: a bad certificate must fail before anything is written.
    let acceptor = config.tls.as_ref().map(tls::Reloading::new).transpose()?;
    let store = Arc::new(
        Store::open(StoreOptions {
            limits: config.limits,
            accepted_master_key: config.accepted_master_key,
            ..StoreOptions::new(config.database_url.clone(), config.master_key)
        })
        .await?,
    );
    store.check_master_key().await?;
    let services = Services::new(
        store.clone(),
        service::Policy {
            password_cost: config.password_cost,
            vaultenv_open_registration: config.vaultenv_open_registration,
        },
    );
    let pull_summaries = config.audit_pull_interval.map(audit::PullSummaries::new);
    let routes = api::surface::RouteTable::new().map_err(StartError::Routes)?;
    let state = Arc::new(AppState {
        services,
        limiter: ratelimit::Limiter::new(config.rate_limits),
        pull_summaries: pull_summaries.clone(),
        routes,
        request_timeout: config.request_timeout,
        max_body_bytes: config.max_body_bytes,
        https: acceptor.is_some(),
        metrics: metrics::Metrics::new(),
    });
    let app = api::router(state.clone(), config.max_body_bytes);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    // Only once the port is ours: a start that fails earlier must not
    // create the one-time token and lose it (`hush admin token` is the
    // way back in if it is lost anyway).
    let bootstrap_token = state.services.tokens().bootstrap().await?;
    let (shutdown, signal) = watch::channel(false);
    let metrics_addr = match config.metrics_listen {
        Some(addr) => Some(
            metrics::serve(addr, state.clone(), shutdown.subscribe())
                .await
                .map_err(|source| StartError::Bind { addr, source })?,
        ),
        None => None,
    };
    if let (Some(acceptor), Some(files)) = (&acceptor, &config.tls) {
        acceptor.spawn_watcher(files.clone(), shutdown.subscribe());
    }
    let summaries = pull_summaries.map(|s| s.spawn_flusher(store.clone(), shutdown.subscribe()));
    let task = tokio::spawn(listener::serve(
        listener,
        acceptor,
        app,
        config.connections,
        signal,
    ));
    if let Some(metrics) = metrics_addr {
        tracing::info!(addr = %metrics, "serving /metrics");
    }
    tracing::info!(%addr, backend = ?store.backend(), tls = config.tls.is_some(), "hush is listening");
    Ok(Running {
        addr,
        bootstrap_token,
        metrics_addr,
        store,
        shutdown,
        task,
        summaries,
    })
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
