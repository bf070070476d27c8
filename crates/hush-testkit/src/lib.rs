//! `TestServer`: a real hush server, in process, on `127.0.0.1:0`.
//!
//! Each server gets a fresh database: a temp SQLite file, or (with
//! `HUSH_TEST_DATABASE_URL`) a fresh PostgreSQL schema that is dropped on
//! [`TestServer::stop`]. Without the variable, PostgreSQL servers are
//! skipped with a loud message, except under `CI=true`, where that panics.
//! Nothing sleeps: the server is listening when `start` returns.

#![allow(clippy::expect_used, clippy::panic)] // a test harness fails loudly by design

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hush_core::crypto::MasterKey;
use hush_server::{Running, ServerConfig};
use reqwest::{Method, RequestBuilder};

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A temp SQLite file.
    Sqlite,
    /// A fresh schema in `HUSH_TEST_DATABASE_URL`.
    Postgres,
}

/// A fresh, empty database for one test.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl TestDatabase {
    /// Creates one, or `None` when PostgreSQL is not configured (outside CI).
    pub async fn create(db: Db) -> Option<Self> {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("hush.db").display());
                Some(Self {
                    url,
                    _dir: Some(dir),
                    pg: None,
                })
            }
            Db::Postgres => {
                let admin = postgres_url()?;
                let schema = unique_schema();
                sqlx::any::install_default_drivers();
                let pool = sqlx::AnyPool::connect(&admin)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&pool)
                    .await
                    .expect("create schema");
                pool.close().await;
                let sep = if admin.contains('?') { '&' } else { '?' };
                let url = format!("{admin}{sep}options=-c%20search_path%3D{schema}");
                Some(Self {
                    url,
                    _dir: None,
                    pg: Some((admin, schema)),
                })
            }
        }
    }

    /// Drops a PostgreSQL schema (SQLite files go with the temp dir).
    pub async fn drop_db(self) {
        if let Some((admin, schema)) = self.pg {
            let pool = sqlx::AnyPool::connect(&admin)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                .execute(&pool)
                .await
                .expect("drop schema");
            pool.close().await;
        }
    }
}

fn postgres_url() -> Option<String> {
    match std::env::var("HUSH_TEST_DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("CI=true but HUSH_TEST_DATABASE_URL is not set: the PostgreSQL tests must run in CI")
        }
        Err(_) => {
            eprintln!("\n*** SKIPPING PostgreSQL test: set HUSH_TEST_DATABASE_URL=postgres://… to run it ***\n");
            None
        }
    }
}

fn unique_schema() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "hush_t_{}_{}_{}",
        std::process::id(),
        nanos,
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A running server and an HTTP client for it.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bootstrap (all-scopes) token of the default organization, when
    /// this server created the database.
    pub admin_token: Option<String>,
    /// The HTTP client.
    pub http: reqwest::Client,
    running: Running,
}

impl TestServer {
    /// A server on `database_url` with `master_key` (bytes, so replicas can
    /// share one). Rate limits are off; see [`TestServer::start_with`].
    pub async fn start_on(database_url: &str, master_key: [u8; 32]) -> Self {
        Self::start_with(database_url, master_key, |_| {}).await
    }

    /// Like [`TestServer::start_on`], with the configuration adjusted first.
    pub async fn start_with(
        database_url: &str,
        master_key: [u8; 32],
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> Self {
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("address"),
            database_url: database_url.to_owned(),
            master_key: MasterKey::from_bytes(master_key),
            max_body_bytes: hush_server::config::DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
            rate_limits: hush_server::ratelimit::RateLimits::default(),
            password_cost: hush_core::password::PasswordCost::cheap(),
            tls: None,
        };
        adjust(&mut config);
        let running = hush_server::start(config).await.expect("server starts");
        Self {
            url: format!("http://{}", running.addr),
            admin_token: running
                .bootstrap_token
                .as_ref()
                .map(|t| t.expose().to_owned()),
            http: reqwest::Client::new(),
            running,
        }
    }

    /// The admin token; panics on a replica that did not bootstrap.
    pub fn admin(&self) -> &str {
        self.admin_token
            .as_deref()
            .expect("this server bootstrapped the database")
    }

    /// A request to `path` with `token` as bearer.
    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, format!("{}{path}", self.url))
    }

    /// Graceful shutdown.
    pub async fn stop(self) {
        self.running.shutdown().await.expect("clean shutdown");
    }
}

/// A server on a fresh database, with the database for cleanup.
pub struct TestEnv {
    /// The server.
    pub server: TestServer,
    /// Its database.
    pub db: TestDatabase,
}

impl TestEnv {
    /// Starts one, or `None` if the backend is not configured.
    pub async fn start(db: Db) -> Option<Self> {
        let db = TestDatabase::create(db).await?;
        let server = TestServer::start_on(&db.url, [9u8; 32]).await;
        Some(Self { server, db })
    }

    /// Stops the server and drops the database.
    pub async fn finish(self) {
        self.server.stop().await;
        self.db.drop_db().await;
    }
}

/// Runs each named `async fn(&TestEnv)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = $crate::TestEnv::start($crate::Db::Sqlite).await {
                        super::$name(&env).await;
                        env.finish().await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(env) = $crate::TestEnv::start($crate::Db::Postgres).await {
                        super::$name(&env).await;
                        env.finish().await;
                    }
                }
            )*
        }
    };
}
