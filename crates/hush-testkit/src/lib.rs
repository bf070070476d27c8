//! `TestServer`: a real hush server, in process, on `127.0.0.1:0`.
//!
//! Each server gets a fresh database: a temp SQLite file, or (with
//! `HUSH_TEST_DATABASE_URL`) a fresh PostgreSQL schema that is dropped on
//! [`TestServer::stop`]. Without the variable, PostgreSQL servers are
//! skipped with a loud message, except under `CI=true`, where that panics.
//! Nothing sleeps: the server is listening when `start` returns.

#![allow(clippy::expect_used, clippy::panic)] // a test harness fails loudly by design

use std::sync::atomic::{AtomicU32, Ordering};

pub mod browser;
pub use browser::Browser;

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
                let pool = sqlx::PgPool::connect(&admin)
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

    /// Runs one SQL statement on the database behind the server's back:
    /// for tests that must make time pass (a session idle for an hour)
    /// or damage what the server wrote. Returns the rows it changed.
    pub async fn sql(&self, statement: &str) -> u64 {
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            let db = rusqlite::Connection::open(path).expect("open SQLite");
            db.busy_timeout(std::time::Duration::from_secs(10))
                .expect("busy timeout");
            return db.execute(statement, []).expect("run SQL") as u64;
        }
        let pool = sqlx::PgPool::connect(&self.url)
            .await
            .expect("connect to PostgreSQL");
        let done = sqlx::query(statement)
            .execute(&pool)
            .await
            .expect("run SQL")
            .rows_affected();
        pool.close().await;
        done
    }

    /// Drops a PostgreSQL schema (SQLite files go with the temp dir).
    pub async fn drop_db(self) {
        if let Some((admin, schema)) = self.pg {
            let pool = sqlx::PgPool::connect(&admin)
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
            rate_limits: hush_server::ratelimit::RateLimits::default(),
            password_cost: hush_core::password::PasswordCost::cheap(),
            ..ServerConfig::new(
                "127.0.0.1:0".parse().expect("address"),
                database_url,
                MasterKey::from_bytes(master_key),
            )
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

    /// Where `/metrics` is served, if the configuration asked for it.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.running.metrics_addr
    }

    /// The server's store (to read what no API shows, e.g. the audit
    /// entries of requests outside any organization).
    pub fn store(&self) -> &std::sync::Arc<hush_store::Store> {
        &self.running.store
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
        Self::start_with(db, |_| {}).await
    }

    /// Like [`TestEnv::start`], with the configuration adjusted first.
    pub async fn start_with(db: Db, adjust: impl FnOnce(&mut ServerConfig)) -> Option<Self> {
        let db = TestDatabase::create(db).await?;
        let server = TestServer::start_with(&db.url, [9u8; 32], adjust).await;
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

/// The password [`Api::user`] gives the users it creates.
pub const USER_PASSWORD: &str = "long enough password";

/// An authenticated JSON client for one test server: the shared HTTP
/// helper of every black-box suite.
pub struct Api<'a> {
    /// The server.
    pub s: &'a TestServer,
    /// The bearer token sent with every request.
    pub token: String,
}

impl<'a> Api<'a> {
    /// A client with the server's bootstrap (all-scopes) token.
    pub fn admin(env: &'a TestEnv) -> Self {
        Self::on(&env.server, env.server.admin())
    }

    /// A client of `server` with `token`.
    pub fn on(server: &'a TestServer, token: &str) -> Self {
        Api {
            s: server,
            token: token.to_owned(),
        }
    }

    /// The same server with another token.
    pub fn with(&self, token: &str) -> Api<'a> {
        Self::on(self.s, token)
    }

    /// Sends a request; the body as JSON (a non-JSON body as a string, an
    /// empty one as null).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let mut req = self.s.request(method, path, &self.token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.expect("response body");
        let value = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
        };
        (status, value)
    }

    /// GET.
    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(Method::GET, path, None).await
    }

    /// POST with a JSON body.
    pub async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// PUT with a JSON body.
    pub async fn put(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates project `slug` in the default organization with these
    /// environments; returns its base path.
    pub async fn project(&self, slug: &str, envs: &[&str]) -> String {
        let (status, body) = self
            .post(
                "/v1/orgs/default/projects",
                serde_json::json!({ "slug": slug }),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        let base = format!("/v1/orgs/default/projects/{slug}");
        for env in envs {
            let (status, body) = self
                .post(
                    &format!("{base}/environments"),
                    serde_json::json!({ "slug": env }),
                )
                .await;
            assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
        }
        base
    }

    /// Creates a token of the default organization from `body`; returns it.
    pub async fn token(&self, body: serde_json::Value) -> String {
        let (status, created) = self.post("/v1/orgs/default/tokens", body).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{created}");
        created["token"].as_str().expect("token").to_owned()
    }

    /// Creates a user of the default organization with `role` and the
    /// password [`USER_PASSWORD`]; returns the user's id.
    pub async fn user(&self, email: &str, role: &str) -> String {
        let (status, user) = self
            .post(
                "/v1/orgs/default/users",
                serde_json::json!({ "email": email, "password": USER_PASSWORD, "role": role }),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{user}");
        user["id"].as_str().expect("user id").to_owned()
    }

    /// The actions of the default organization's newest `limit` audit
    /// entries, newest first.
    pub async fn audit_actions(&self, limit: u32) -> Vec<String> {
        let (status, page) = self
            .get(&format!("/v1/orgs/default/audit?limit={limit}"))
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        page["entries"]
            .as_array()
            .expect("audit entries")
            .iter()
            .map(|e| e["action"].as_str().expect("action").to_owned())
            .collect()
    }

    /// Logs in a user [`Api::user`] created; returns a client with the
    /// session token.
    pub async fn login(&self, email: &str) -> Api<'a> {
        self.login_with(email, USER_PASSWORD).await
    }

    /// Logs a user in with `password`; returns a client with the session
    /// token.
    pub async fn login_with(&self, email: &str, password: &str) -> Api<'a> {
        let resp = self
            .s
            .anonymous(Method::POST, "/v1/login")
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("login sent");
        assert_eq!(resp.status(), reqwest::StatusCode::OK, "login {email}");
        let session: serde_json::Value = resp.json().await.expect("login body");
        self.with(session["token"].as_str().expect("session token"))
    }
}

/// The stable error code of a native error body.
pub fn code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no code>")
}

/// A tiny tmpfs, for tests of what happens when the disk fills up.
/// Mounting needs root: elsewhere the test is skipped with a loud message,
/// except under `CI=true` (CI runs as root), where that fails.
pub struct SmallDisk {
    /// The mount point.
    pub path: std::path::PathBuf,
    filler: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `bytes`, or `None` (skip) where mounting is not
    /// allowed.
    pub fn mount(bytes: u64) -> Option<Self> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("disk");
        std::fs::create_dir(&path).expect("mount point");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}")])
            .arg("tmpfs")
            .arg(&path)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("CI=true but a tmpfs cannot be mounted: the disk-full tests must run in CI (as root)");
            }
            eprintln!("\n*** SKIPPING disk-full test: mounting a tmpfs needs root ***\n");
            return None;
        }
        Some(Self {
            filler: path.join("filler"),
            path,
            _dir: dir,
        })
    }

    /// Free bytes left on the disk.
    pub fn free(&self) -> u64 {
        let out = std::process::Command::new("df")
            .args(["-B1", "--output=avail"])
            .arg(&self.path)
            .output()
            .expect("df runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df prints the free bytes")
    }

    /// Fills the disk with a file until only about `free` bytes are left.
    pub fn fill_leaving(&self, free: u64) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.filler)
            .expect("filler file");
        let chunk = vec![0x5au8; 4096];
        while self.free() > free + chunk.len() as u64 {
            if file.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = file.sync_all();
    }

    /// Deletes the filler: the space comes back.
    pub fn free_filler(&self) {
        std::fs::remove_file(&self.filler).expect("filler removed");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// A TCP proxy in front of a database that a test can cut and restore, to
/// play an outage without touching the real server.
pub struct TcpProxy {
    /// Where clients connect.
    pub addr: std::net::SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl TcpProxy {
    /// Forwards `127.0.0.1:<port>` to `target`.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("proxy listens");
        let addr = listener.local_addr().expect("proxy address");
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (accept_open, accept_links) = (open.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_open.load(std::sync::atomic::Ordering::SeqCst) {
                    continue; // dropped: the client sees the connection close
                }
                let link = tokio::spawn(async move {
                    if let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                accept_links
                    .lock()
                    .expect("proxy links")
                    .push(link.abort_handle());
            }
        });
        Self { addr, open, links }
    }

    /// The outage: every open connection is cut, new ones are closed at once.
    pub fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().expect("proxy links").drain(..) {
            link.abort();
        }
    }

    /// The database is back.
    pub fn restore(&self) {
        self.open.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// `url` with its `host:port` replaced by this proxy's.
    pub fn url_through(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (auth_host, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let (auth, _) = auth_host
            .rsplit_once('@')
            .map_or(("", auth_host), |(a, h)| (a, h));
        let at = if auth.is_empty() { "" } else { "@" };
        format!("{scheme}://{auth}{at}{}/{tail}", self.addr)
    }
}
