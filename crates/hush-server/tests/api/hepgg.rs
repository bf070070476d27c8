//! Hep.gg's pull endpoint and the native pull that shares its service.

use hush_testkit::{code, on_both_backends, Api, TestEnv};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(pull_tokens,);

async fn pull_tokens(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production", "staging"]).await;
    api.put(
        &format!("{base}/secrets/SHARED"),
        json!({ "value": "project-level" }),
    )
    .await;
    api.post(
        &format!("{base}/secrets?env=production"),
        json!({ "set": [{ "name": "DATABASE_URL", "value": "postgres://prod" }, { "name": "API_KEY", "value": "k" }] }),
    )
    .await;
    api.put(
        &format!("{base}/secrets/DATABASE_URL?env=staging"),
        json!({ "value": "postgres://staging" }),
    )
    .await;
    let wide = api
        .token(json!({ "name": "wide", "kind": "pull", "project": "web" }))
        .await;
    let locked = api.token(json!({ "name": "locked", "kind": "pull", "project": "web", "environment": "production" })).await;
    assert!(wide.starts_with("hsk_") && locked.starts_with("hsk_"));
    let s = &env.server;
    let pull = |token: &str, query: &str| {
        s.anonymous(Method::GET, &format!("/api/v1/secrets/pull{query}"))
            .bearer_auth(token.to_owned())
            .send()
    };
    let body: Value = pull(&wide, "?env=production")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({ "ok": true, "data": { "env": "production", "e2ee": false,
            "secrets": { "API_KEY": "k", "DATABASE_URL": "postgres://prod", "SHARED": "project-level" } } })
    );
    let body: Value = pull(&wide, "?env=staging&keys=DATABASE_URL")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"]["secrets"],
        json!({ "DATABASE_URL": "postgres://staging" })
    );
    // The locked token ignores ?env=.
    let body: Value = pull(&locked, "?env=staging")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["env"], "production");
    assert_eq!(body["data"]["secrets"]["DATABASE_URL"], "postgres://prod");
    // ?token= works too.
    let resp = s
        .anonymous(Method::GET, &format!("/api/v1/secrets/pull?token={locked}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Errors, in the seed's codes.
    let resp = pull(&wide, "").await.unwrap();
    assert_eq!(resp.status(), 400);
    let resp = pull(&wide, "?env=nope").await.unwrap();
    assert_eq!(resp.status(), 404);
    let resp = s
        .anonymous(Method::GET, "/api/v1/secrets/pull?env=production")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "NO_TOKEN");
    let resp = pull("hsk_bogus", "?env=production").await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "BAD_TOKEN");
    // A cached view ends when a secret in it expires.
    // Three seconds of life: long enough for the write and the first
    // pull on a loaded machine; the test then waits until it has ended.
    let expiry = std::time::SystemTime::now() + std::time::Duration::from_secs(3);
    let soon = hush_core::time::to_rfc3339(
        expiry
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    api.put(
        &format!("{base}/secrets/SHORT_LIVED?env=production"),
        json!({ "value": "x", "expires_at": soon }),
    )
    .await;
    let body: Value = pull(&wide, "?env=production")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["secrets"]["SHORT_LIVED"], "x");
    let left = expiry
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(left + std::time::Duration::from_millis(200)).await;
    let body: Value = pull(&wide, "?env=production")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["data"]["secrets"].get("SHORT_LIVED").is_none(),
        "{body}"
    );
    // Pull tokens are read-only: the native API refuses them.
    let (status, body) = api
        .with(&wide)
        .get(&format!("{base}/secrets?env=production"))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "pull_token"));
    // An API token is not a pull token.
    let resp = pull(env.server.admin(), "?env=production").await.unwrap();
    assert_eq!(resp.status(), 401);
    // …but a pull token may ask who it is, and poll its revision.
    let (status, who) = api.with(&locked).get("/v1/whoami").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            who["kind"].as_str(),
            who["project"].as_str(),
            who["environment"].as_str()
        ),
        (Some("pull"), Some("web"), Some("production"))
    );
    let (status, body) = api.with(&wide).get("/v1/pull/revision").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "env_required")
    );
    let (_, locked_rev) = api.with(&locked).get("/v1/pull/revision?env=staging").await;
    let (_, wide_rev) = api
        .with(&wide)
        .get("/v1/pull/revision?env=production")
        .await;
    assert_eq!(
        locked_rev, wide_rev,
        "the locked token reads production whatever ?env= says"
    );
    let (_, api_rev) = api.get(&format!("{base}/revision?env=production")).await;
    assert_eq!(api_rev, wide_rev, "one revision for the same merged view");
    api.put(
        &format!("{base}/secrets/SHARED"),
        json!({ "value": "moved" }),
    )
    .await;
    let (_, after) = api
        .with(&wide)
        .get("/v1/pull/revision?env=production")
        .await;
    assert_ne!(
        after, wide_rev,
        "a project-level write moves the environment's revision"
    );
    let (status, body) = api
        .with(&wide)
        .get(&format!("{base}/revision?env=production"))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::FORBIDDEN, "pull_token"));
}
