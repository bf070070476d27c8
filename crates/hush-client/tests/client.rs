//! The library against a real server: inject without overriding, the
//! blocking facade, watch, Retry-After, pull tokens and the cache.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ops::ControlFlow;
use std::time::Duration;

use hush_client::{CacheMode, Client, ClientError, Options, Origin};
use hush_core::SecretString;
use hush_testkit::{on_both_backends, Db, TestDatabase, TestEnv, TestServer};
use reqwest::Method;
use serde_json::json;

async fn seed(server: &TestServer, secrets: &[(&str, &str)]) {
    let admin = server.admin();
    for (path, body) in [
        ("/v1/orgs/default/projects", json!({"slug": "web"})),
        (
            "/v1/orgs/default/projects/web/environments",
            json!({"slug": "prod"}),
        ),
    ] {
        let res = server
            .request(Method::POST, path, admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success() || res.status() == 409,
            "{}",
            res.status()
        );
    }
    set(server, secrets).await;
}

async fn set(server: &TestServer, secrets: &[(&str, &str)]) {
    let set: Vec<_> = secrets
        .iter()
        .map(|(n, v)| json!({"name": n, "value": v}))
        .collect();
    let res = server
        .request(
            Method::POST,
            "/v1/orgs/default/projects/web/secrets?env=prod",
            server.admin(),
        )
        .json(&json!({ "set": set }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

fn options(server: &TestServer, cache: &std::path::Path) -> Options {
    let mut options = Options::new(&server.url, SecretString::from(server.admin()));
    options.project = Some("web".into());
    options.env = Some("prod".into());
    options.cache = CacheMode::Dir(cache.to_owned());
    options
}

async fn injects_without_overriding(env: &TestEnv) {
    let server = &env.server;
    // Tests share the process environment: names unique per test run.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let suffix = format!("{}_{n}", std::process::id());
    let (kept, fresh) = (
        format!("HUSH_T_KEPT_{suffix}"),
        format!("HUSH_T_FRESH_{suffix}"),
    );
    seed(server, &[(&kept, "from-hush"), (&fresh, "new")]).await;
    std::env::set_var(&kept, "mine");
    let cache = tempfile::tempdir().unwrap();
    let loaded = hush_client::config_with(options(server, cache.path()))
        .await
        .unwrap();
    assert_eq!(loaded.origin, Origin::Server);
    assert_eq!(loaded.kept, vec![kept.clone()]);
    assert_eq!(std::env::var(&kept).unwrap(), "mine");
    assert_eq!(std::env::var(&fresh).unwrap(), "new");
    let mut with_override = options(server, cache.path());
    with_override.override_existing = true;
    hush_client::config_with(with_override).await.unwrap();
    assert_eq!(std::env::var(&kept).unwrap(), "from-hush");

    // The blocking facade, from a thread without a runtime…
    let opts = options(server, cache.path());
    let loaded = std::thread::spawn(move || hush_client::blocking::config_with(opts))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(loaded.set.len() + loaded.kept.len(), 2);
    // …and refused (not a panic) inside one.
    let err = hush_client::blocking::config_with(options(server, cache.path())).unwrap_err();
    assert!(matches!(err, ClientError::Config(_)), "{err}");
    std::env::remove_var(&kept);
    std::env::remove_var(&fresh);
}

async fn watch_reports_changed_names(env: &TestEnv) {
    let server = &env.server;
    seed(server, &[("A", "1"), ("B", "2")]).await;
    let cache = tempfile::tempdir().unwrap();
    let client = Client::new(options(server, cache.path())).unwrap();
    let before = client.revision().await.unwrap();
    assert_eq!(
        client.revision().await.unwrap(),
        before,
        "stable while nothing changes"
    );
    let url = server.url.clone();
    let admin = server.admin().to_owned();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        reqwest::Client::new()
            .post(format!("{url}/v1/orgs/default/projects/web/secrets?env=prod"))
            .bearer_auth(admin)
            .json(&json!({"set": [{"name": "B", "value": "two"}, {"name": "C", "value": "3"}], "delete": ["A"]}))
            .send()
            .await
            .unwrap();
    });
    let mut seen = Vec::new();
    client
        .watch(Duration::from_millis(100), |change| {
            seen = change.changed.clone();
            ControlFlow::Break(())
        })
        .await
        .unwrap();
    writer.await.unwrap();
    assert_eq!(seen, ["A", "B", "C"]);
    assert_ne!(client.revision().await.unwrap(), before);
}

async fn pull_token_and_project_level_inheritance(env: &TestEnv) {
    let server = &env.server;
    seed(server, &[("DB", "prod-db")]).await;
    let res = server
        .request(
            Method::PUT,
            "/v1/orgs/default/projects/web/secrets/SHARED",
            server.admin(),
        )
        .json(&json!({"value": "from-project"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let created: serde_json::Value = server
        .request(Method::POST, "/v1/orgs/default/tokens", server.admin())
        .json(&json!({"name": "ci", "kind": "pull", "project": "web", "environment": "prod"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut options = Options::new(&server.url, SecretString::from(token));
    options.cache = CacheMode::Dir(cache.path().to_owned());
    let client = Client::new(options).unwrap();
    let pulled = client.load().await.unwrap();
    let values: Vec<(&str, &str)> = pulled
        .secrets
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect();
    assert_eq!(values, [("DB", "prod-db"), ("SHARED", "from-project")]);
    let first = client.revision().await.unwrap();
    let res = server
        .request(
            Method::PUT,
            "/v1/orgs/default/projects/web/secrets/SHARED",
            server.admin(),
        )
        .json(&json!({"value": "changed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_ne!(
        client.revision().await.unwrap(),
        first,
        "a project-level change moves the revision"
    );
}

on_both_backends!(
    injects_without_overriding,
    watch_reports_changed_names,
    pull_token_and_project_level_inheritance
);

/// Over the rate limit the client waits the server's Retry-After and
/// succeeds, instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_honor_retry_after() {
    let db = TestDatabase::create(Db::Sqlite).await.unwrap();
    let server = TestServer::start_with(&db.url, [3u8; 32], |config| {
        config.rate_limits.per_token = Some(hush_server::ratelimit::Rate {
            per_second: 1.0,
            burst: 3.0,
        });
    })
    .await;
    seed(&server, &[("A", "1")]).await;
    let cache = tempfile::tempdir().unwrap();
    let client = Client::new(options(&server, cache.path())).unwrap();
    let started = std::time::Instant::now();
    for _ in 0..3 {
        let secrets = client.fetch().await.unwrap();
        assert_eq!(secrets.len(), 1);
    }
    // The bucket was empty after seeding: these had to wait for
    // Retry-After (1 s each) rather than fail.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    server.stop().await;
}

/// Unreachable server: the cache stands in; without one, a network error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_the_cache_only_on_network_errors() {
    let db = TestDatabase::create(Db::Sqlite).await.unwrap();
    let server = TestServer::start_on(&db.url, [3u8; 32]).await;
    seed(&server, &[("A", "1")]).await;
    let cache = tempfile::tempdir().unwrap();
    let client = Client::new(options(&server, cache.path())).unwrap();
    client.load().await.unwrap();

    // An auth failure is not papered over by the cache.
    let mut bad = options(&server, cache.path());
    bad.token = SecretString::from("hush_not_a_real_token");
    let err = Client::new(bad).unwrap().load().await.unwrap_err();
    assert!(
        matches!(err, ClientError::Auth { status: 401, .. }),
        "{err}"
    );

    server.stop().await;
    let offline = client.load().await.unwrap();
    assert!(matches!(offline.origin, Origin::Cache { .. }));
    assert_eq!(offline.secrets["A"].expose(), "1");
    let mut no_cache = Options::new("http://127.0.0.1:9", SecretString::from("hush_x"));
    no_cache.project = Some("web".into());
    no_cache.cache = CacheMode::Off;
    let err = Client::new(no_cache).unwrap().load().await.unwrap_err();
    assert!(err.is_network(), "{err}");
}
