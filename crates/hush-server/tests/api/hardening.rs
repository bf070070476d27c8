//! Regression tests of the attacks a security review made on hush (the
//! hardening issue): each test tries the abuse and checks it is refused.

use hush_testkit::{code, on_both_backends, Api, TestEnv};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    a_project_limited_token_stays_in_its_project,
    an_environment_limited_token_stays_in_its_environment,
    session_tokens_follow_their_user,
);

const TOKENS: &str = "/v1/orgs/default/tokens";

/// The status and error code of a response.
fn refused(response: &(StatusCode, Value)) -> (StatusCode, &str) {
    (response.0, code(&response.1))
}

async fn a_project_limited_token_stays_in_its_project(env: &TestEnv) {
    let api = Api::admin(env);
    let web = api.project("web", &["production"]).await;
    api.project("payments", &["production"]).await;
    let org_wide = api
        .token(json!({ "name": "ci", "kind": "pull", "project": "payments" }))
        .await;
    let limited = api.with(
        &api.token(json!({ "name": "web-admin", "scopes": ["org:admin"], "project": "web" }))
            .await,
    );

    // No broader credential: no organization-wide or other project's
    // token, no user, no project.
    let attempt = limited
        .post(TOKENS, json!({ "name": "x", "scopes": ["org:admin"] }))
        .await;
    assert_eq!(
        refused(&attempt),
        (StatusCode::FORBIDDEN, "token_escalation")
    );
    let attempt = limited
        .post(
            TOKENS,
            json!({ "name": "x", "scopes": ["secret:read"], "project": "payments" }),
        )
        .await;
    assert_eq!(attempt.0, StatusCode::NOT_FOUND, "{}", attempt.1);
    for role in ["owner", "admin", "viewer"] {
        let attempt = limited
            .post(
                "/v1/orgs/default/users",
                json!({ "email": format!("{role}@evil.example"), "password": "long enough password", "role": role }),
            )
            .await;
        assert_eq!(refused(&attempt), (StatusCode::FORBIDDEN, "token_limited"));
    }
    let attempt = limited
        .post("/v1/orgs/default/projects", json!({ "slug": "mine" }))
        .await;
    assert_eq!(refused(&attempt), (StatusCode::FORBIDDEN, "token_limited"));
    let (status, log) = limited.get("/v1/orgs/default/audit?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["resource"].as_str().unwrap().contains("payments")),
        "only web's audit entries: {log}"
    );
    let attempt = limited.get("/v1/orgs/default/audit?project=payments").await;
    assert_eq!(attempt.0, StatusCode::NOT_FOUND);
    for path in ["/v1/orgs/default/users", "/v1/orgs/default/audit/verify"] {
        let attempt = limited.get(path).await;
        assert_eq!(
            refused(&attempt),
            (StatusCode::FORBIDDEN, "token_limited"),
            "{path}"
        );
    }

    // Tokens: it sees and revokes only its project's.
    let (_, listed) = limited.get(TOKENS).await;
    let names: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-admin"], "{listed}");
    let (_, all) = api.get(TOKENS).await;
    for token in all.as_array().unwrap() {
        if token["name"] == "web-admin" {
            continue;
        }
        let id = token["id"].as_str().unwrap();
        let attempt = limited.delete(&format!("{TOKENS}/{id}")).await;
        assert_eq!(attempt.0, StatusCode::NOT_FOUND, "{token}");
    }
    assert_eq!(
        api.with(&org_wide).get("/v1/pull?env=production").await.0,
        StatusCode::OK,
        "payments' pull token still works"
    );
    assert_eq!(api.get("/v1/orgs/default").await.0, StatusCode::OK);

    // Within its project it is an administrator.
    let (status, body) = limited
        .post(&format!("{web}/environments"), json!({ "slug": "staging" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = limited
        .post(
            TOKENS,
            json!({ "name": "web-ci", "kind": "pull", "project": "web" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn an_environment_limited_token_stays_in_its_environment(env: &TestEnv) {
    let api = Api::admin(env);
    let web = api.project("web", &["production", "staging"]).await;
    api.post(&format!("{web}/targets"), json!({ "slug": "eu" }))
        .await;
    let member = api.user("mo@example.com", "member").await;
    let project_wide = api
        .token(json!({ "name": "web-ci", "kind": "pull", "project": "web" }))
        .await;
    let locked = api.with(
        &api.token(json!({
            "name": "prod-admin", "scopes": ["project:admin"],
            "project": "web", "environment": "production",
        }))
        .await,
    );

    // Nothing about the whole project.
    let limited = (StatusCode::FORBIDDEN, "token_limited");
    let attempt = locked
        .put(
            &format!("{web}/members/{member}"),
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(refused(&attempt), limited);
    let attempt = locked.delete(&format!("{web}/members/{member}")).await;
    assert_eq!(refused(&attempt), limited);
    for path in [
        format!("{web}/environments/staging"),
        format!("{web}/targets/eu"),
        web.clone(),
    ] {
        let attempt = locked.delete(&path).await;
        assert_eq!(attempt.0, StatusCode::FORBIDDEN, "{path}: {}", attempt.1);
    }
    let attempt = locked
        .post(&format!("{web}/environments"), json!({ "slug": "qa" }))
        .await;
    assert_eq!(refused(&attempt), limited);

    // Tokens: none for the whole project or another environment, and it
    // cannot see or revoke the project-wide ones.
    for body in [
        json!({ "name": "x", "kind": "pull", "project": "web" }),
        json!({ "name": "x", "kind": "pull", "project": "web", "environment": "staging" }),
        json!({ "name": "x", "scopes": ["secret:read"], "project": "web" }),
    ] {
        let attempt = locked.post(TOKENS, body.clone()).await;
        assert_eq!(
            refused(&attempt),
            (StatusCode::FORBIDDEN, "token_escalation"),
            "{body}"
        );
    }
    let (_, all) = api.get(TOKENS).await;
    let web_ci = all
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "web-ci")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let attempt = locked.delete(&format!("{TOKENS}/{web_ci}")).await;
    assert_eq!(attempt.0, StatusCode::NOT_FOUND);
    assert_eq!(
        api.with(&project_wide).get("/v1/pull?env=staging").await.0,
        StatusCode::OK
    );

    // Its own environment is its to run.
    let (status, _) = locked
        .put(
            &format!("{web}/secrets/KEY?env=production"),
            json!({ "value": "v" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = locked
        .put(
            &format!("{web}/secrets/KEY?env=staging"),
            json!({ "value": "v" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "staging is out of its sight");
    let (status, body) = locked
        .post(
            TOKENS,
            json!({ "name": "prod-ci", "kind": "pull", "project": "web", "environment": "production" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn session_tokens_follow_their_user(env: &TestEnv) {
    let api = Api::admin(env);
    let web = api.project("web", &["production"]).await;
    api.put(
        &format!("{web}/secrets/KEY?env=production"),
        json!({ "value": "v" }),
    )
    .await;
    let mo = api.user("mo@example.com", "member").await;
    api.user("ada@example.com", "admin").await;
    api.put(&format!("{web}/members/{mo}"), json!({ "role": "admin" }))
        .await;
    let session = api.login("mo@example.com").await;

    // What a session mints expires with it, whatever it asks for.
    let (_, me) = session.get("/v1/whoami").await;
    let session_expiry = me["expires_at"].as_str().unwrap().to_owned();
    for asked in [Value::Null, json!("2999-01-01T00:00:00Z")] {
        let (status, minted) = session
            .post(
                TOKENS,
                json!({ "name": "web-ci", "kind": "pull", "project": "web", "expires_at": asked }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{minted}");
        assert_eq!(minted["expires_at"], session_expiry.as_str(), "{minted}");
    }
    let (_, minted) = session
        .post(
            TOKENS,
            json!({ "name": "web-bot", "scopes": ["project:admin"], "project": "web" }),
        )
        .await;
    let bot = api.with(minted["token"].as_str().unwrap());
    let (_, minted) = session
        .post(
            TOKENS,
            json!({ "name": "web-pull", "kind": "pull", "project": "web" }),
        )
        .await;
    let pull = api.with(minted["token"].as_str().unwrap());
    assert_eq!(pull.get("/v1/pull?env=production").await.0, StatusCode::OK);
    let (status, _) = bot.get(&format!("{web}/members")).await;
    assert_eq!(status, StatusCode::OK);

    // An admin that is not an owner cannot make owners.
    let ada = api.login("ada@example.com").await;
    let attempt = ada
        .post(
            "/v1/orgs/default/users",
            json!({ "email": "eve@example.com", "password": "long enough password", "role": "owner" }),
        )
        .await;
    assert_eq!(
        refused(&attempt),
        (StatusCode::FORBIDDEN, "token_escalation")
    );

    // Demoted in web: the session and everything it minted lose the power.
    api.put(&format!("{web}/members/{mo}"), json!({ "role": "viewer" }))
        .await;
    let (status, _) = bot.get(&format!("{web}/members")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = session
        .put(
            &format!("{web}/secrets/KEY?env=production"),
            json!({ "value": "w" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let attempt = pull.get("/v1/pull?env=production").await;
    assert_eq!(
        refused(&attempt),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );

    // Promoted back: the minted tokens work again (they were never broader).
    api.put(&format!("{web}/members/{mo}"), json!({ "role": "admin" }))
        .await;
    assert_eq!(pull.get("/v1/pull?env=production").await.0, StatusCode::OK);
}
