//! The native API (`/v1`): projects, secrets and their levels, versions,
//! tokens and scopes, users and roles, audit, E2EE guards, paging.

use hush_testkit::{code, on_both_backends, Api, TestDatabase, TestEnv, TestServer, USER_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(
    health_and_ready,
    projects_environments_and_targets,
    bad_input_is_refused_and_nothing_stored,
    secrets_levels_and_merged_reads,
    bulk_write_is_one_version_and_check_and_set,
    version_history_end_to_end,
    token_authentication_failures,
    scopes_and_resource_restrictions,
    every_request_is_audited,
    copy_import_and_export,
    users_log_in_with_their_role,
    project_roles_replace_the_org_role,
    e2ee_projects_guard_writes_with_the_key_proof,
    lists_come_in_pages,
);

async fn health_and_ready(env: &TestEnv) {
    let s = &env.server;
    let health = s.anonymous(Method::GET, "/health").send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: Value = s
        .anonymous(Method::GET, "/ready")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["status"], "ready");
    let api = Api::admin(env);
    let (status, orgs) = api.get("/v1/orgs").await;
    assert_eq!(status, 200);
    assert_eq!(orgs[0]["slug"], "default");
    let (status, body) = api.get("/v1/nope").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

async fn projects_environments_and_targets(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production", "staging"]).await;
    let (status, project) = api.get(&base).await;
    assert_eq!(status, 200);
    assert_eq!(project["encryption_mode"], "server");
    let (status, body) = api
        .post("/v1/orgs/default/projects", json!({ "slug": "web" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "already_exists")
    );
    let (status, body) = api
        .post(
            "/v1/orgs/default/projects",
            json!({ "slug": "e2e", "encryption_mode": "client" }),
        )
        .await;
    assert_eq!(
        (status, body["encryption_mode"].as_str()),
        (StatusCode::CREATED, Some("client"))
    );
    let (_, envs) = api.get(&format!("{base}/environments")).await;
    let slugs: Vec<&str> = envs
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["production", "staging"]);
    let (status, _) = api
        .post(
            &format!("{base}/targets"),
            json!({ "slug": "backend", "name": "Backend" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api.delete(&format!("{base}/environments/staging")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.delete(&format!("{base}/environments/staging")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, _) = api.delete("/v1/orgs/default/projects/e2e").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, projects) = api.get("/v1/orgs/default/projects").await;
    assert_eq!(projects.as_array().unwrap().len(), 1);
}

async fn bad_input_is_refused_and_nothing_stored(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    let secrets = format!("{base}/secrets?env=production");
    let s = &env.server;
    let raw = |body: &'static str, content_type: &'static str| {
        s.request(Method::POST, &secrets, env.server.admin())
            .header("content-type", content_type)
            .body(body)
    };
    let cases: Vec<(reqwest::Response, StatusCode, &str)> = vec![
        (
            raw("{not json", "application/json").send().await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            raw(r#"{"set":"nope"}"#, "application/json")
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(r#"{"sett":[]}"#, "application/json")
                .send()
                .await
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            raw(r#"{"set":[]}"#, "text/plain").send().await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (resp, status, expected) in cases {
        assert_eq!(resp.status(), status);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(code(&body), expected, "{body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    let huge = json!({ "set": [{ "name": "A", "value": "x".repeat(2 * 1024 * 1024) }] });
    let resp = s
        .request(Method::POST, &secrets, env.server.admin())
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (status, body) = api
        .post(
            &secrets,
            json!({ "set": [{ "name": "1BAD", "value": "v" }] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_name")
    );
    assert!(body["error"]["message"].as_str().unwrap().contains("1BAD"));
    let (status, body) = api
        .put(
            &format!("{base}/secrets/BIG?env=production"),
            json!({ "value": "x".repeat(65 * 1024) }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "value_too_large")
    );
    let (status, body) = api
        .post("/v1/orgs/default/projects", json!({ "slug": "Bad Slug" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_slug")
    );
    let (status, body) = api
        .put(
            &format!("{base}/secrets/A?env=production"),
            json!({ "value": "v", "expires_at": "soon" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_time")
    );
    let (status, body) = api
        .get(&format!("{base}/secrets?env=production&reveal=everything"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (status, body) = api
        .get(&format!("{base}/versions/notanumber?env=production"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_path")
    );
    let (status, body) = api.get(&format!("{base}/secrets?env=nope")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    // A NUL byte can be in no environment variable: refused, naming the
    // secret, in a single write and in a bulk write alike.
    let (status, body) = api
        .put(
            &format!("{base}/secrets/NULLED?env=production"),
            json!({ "value": "a\u{0}b" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value")
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("NULLED"),
        "{body}"
    );
    let (status, body) = api
        .post(
            &format!("{base}/secrets?env=production"),
            json!({ "set": [{"name": "FINE", "value": "x"}, {"name": "BAD", "value": "\u{0}"}] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value")
    );
    // Nothing was stored by any of that.
    let (_, list) = api
        .get(&format!(
            "{base}/secrets?env=production&include_inactive=true"
        ))
        .await;
    assert_eq!(list["version"], 0);
    assert_eq!(list["secrets"].as_array().unwrap().len(), 0);
}

async fn secrets_levels_and_merged_reads(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    api.post(&format!("{base}/targets"), json!({ "slug": "backend" }))
        .await;
    let put = |path: String, value: &'static str| {
        let api = &api;
        async move {
            let (status, body) = api.put(&path, json!({ "value": value })).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    put(format!("{base}/secrets/SHARED"), "project").await;
    put(format!("{base}/secrets/ONLY_PROJECT"), "p").await;
    put(format!("{base}/secrets/SHARED?target=backend"), "target").await;
    let written = put(
        format!("{base}/secrets/SHARED?target=backend&env=production"),
        "env",
    )
    .await;
    assert_eq!(written["version"], 1);
    assert_eq!(written["changed_keys"], json!(["SHARED"]));

    let (_, merged) = api
        .get(&format!(
            "{base}/secrets?target=backend&env=production&reveal=plain"
        ))
        .await;
    assert_eq!(
        values(&merged),
        triples(&[
            ("ONLY_PROJECT", "p", "project"),
            ("SHARED", "env", "environment")
        ])
    );
    assert_eq!(merged["version"], 1);
    let (_, exact) = api
        .get(&format!(
            "{base}/secrets?target=backend&level=exact&reveal=plain"
        ))
        .await;
    assert_eq!(values(&exact), triples(&[("SHARED", "target", "target")]));
    // Default reveal is metadata: no values on the wire.
    let (_, meta) = api.get(&format!("{base}/secrets?env=production")).await;
    assert!(meta["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.get("value").is_none()));
    // One secret, filters, metadata.
    let (status, one) = api
        .get(&format!("{base}/secrets/SHARED?reveal=plain"))
        .await;
    assert_eq!(
        (status, one["value"].as_str()),
        (StatusCode::OK, Some("project"))
    );
    let (status, body) = api.get(&format!("{base}/secrets/MISSING")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (_, filtered) = api.get(&format!("{base}/secrets?search=only")).await;
    assert_eq!(filtered["secrets"].as_array().unwrap().len(), 1);
    let (status, _) = api
        .put(
            &format!("{base}/secrets/TAGGED?env=production"),
            json!({ "value": "t", "tags": ["payments"], "note": "n", "is_reserved": true, "expires_at": "2999-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, tagged) = api
        .get(&format!("{base}/secrets?env=production&tag=payments"))
        .await;
    let t = &tagged["secrets"][0];
    assert_eq!(
        (
            t["name"].as_str(),
            t["note"].as_str(),
            t["is_reserved"].as_bool()
        ),
        (Some("TAGGED"), Some("n"), Some(true))
    );
    assert_eq!(t["expires_at"], "2999-01-01T00:00:00.000Z");
    // Reserved secrets cannot be deleted.
    let (status, body) = api
        .delete(&format!("{base}/secrets/TAGGED?env=production"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "secret_reserved")
    );
    // Deactivated secrets drop out of merged reads.
    api.put(
        &format!("{base}/secrets/ONLY_PROJECT"),
        json!({ "is_active": false }),
    )
    .await;
    let (_, merged) = api.get(&format!("{base}/secrets?env=production")).await;
    let names: Vec<_> = values(&merged).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, vec!["SHARED", "TAGGED"]);
    // Delete.
    let (status, _) = api
        .delete(&format!("{base}/secrets/SHARED?target=backend"))
        .await;
    assert_eq!(status, 200);
    let (_, exact) = api
        .get(&format!("{base}/secrets?target=backend&level=exact"))
        .await;
    assert_eq!(exact["secrets"].as_array().unwrap().len(), 0);
}

async fn bulk_write_is_one_version_and_check_and_set(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    let path = format!("{base}/secrets?env=production");
    let tricky = "quote \" hash # dollar $HOME newline \n unicode ✓";
    let (status, body) = api
        .post(&path, json!({ "set": [{ "name": "A", "value": "1" }, { "name": "B", "value": tricky }, { "name": "C", "value": "" }] }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["changed_keys"], json!(["A", "B", "C"]));
    let (_, list) = api.get(&format!("{path}&reveal=plain")).await;
    assert_eq!(values(&list)[1].1, tricky);
    let (status, body) = api
        .post(&path, json!({ "set": [{ "name": "A", "value": "2" }], "delete": ["C"], "expected_version": 1 }))
        .await;
    assert_eq!(
        (status, body["version"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let (status, body) = api
        .post(
            &path,
            json!({ "set": [{ "name": "A", "value": "lost" }], "expected_version": 1 }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "version_conflict")
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("version 2"));
    let (status, body) = api
        .put(
            &format!("{base}/secrets/A?env=production&expected_version=5"),
            json!({ "value": "x" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "version_conflict")
    );
    let (status, body) = api.post(&path, json!({})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "empty_write")
    );
    let (_, list) = api.get(&format!("{path}&reveal=plain")).await;
    assert_eq!(list["version"], 2);
    assert_eq!(
        values(&list)[0],
        ("A".to_owned(), "2".to_owned(), "environment".to_owned())
    );
}

async fn version_history_end_to_end(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    let q = "?env=production";
    api.put(&format!("{base}/secrets/A{q}"), json!({ "value": "1" }))
        .await;
    api.put(&format!("{base}/secrets/A{q}"), json!({ "value": "2" }))
        .await;
    api.put(&format!("{base}/secrets/B{q}"), json!({ "value": "b" }))
        .await;
    let (_, versions) = api.get(&format!("{base}/versions{q}")).await;
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![3, 2, 1]);
    assert!(versions[0]["created_by"]
        .as_str()
        .unwrap()
        .starts_with("token:"));
    let (_, at1) = api.get(&format!("{base}/versions/1{q}&reveal=plain")).await;
    assert_eq!(values(&at1), triples(&[("A", "1", "environment")]));
    let (_, diff) = api.get(&format!("{base}/diff{q}&from=1&to=3")).await;
    assert_eq!(
        diff,
        json!([{ "name": "A", "change": "changed" }, { "name": "B", "change": "added" }])
    );
    let (status, restored) = api
        .post(&format!("{base}/versions/1/restore{q}"), json!({}))
        .await;
    assert_eq!(
        (status, restored["version"].as_i64()),
        (StatusCode::OK, Some(4))
    );
    let (_, now) = api.get(&format!("{base}/secrets{q}&reveal=plain")).await;
    assert_eq!(values(&now), triples(&[("A", "1", "environment")]));
    let (status, body) = api.delete(&format!("{base}/versions/4{q}")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "current_version")
    );
    let (status, _) = api.delete(&format!("{base}/versions/2{q}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.get(&format!("{base}/versions/2{q}")).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = api
        .post(&format!("{base}/versions/purge{q}"), json!({}))
        .await;
    assert_eq!(
        (status, body["purged_versions"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let (_, versions) = api.get(&format!("{base}/versions{q}")).await;
    assert_eq!(versions.as_array().unwrap().len(), 1);
}

async fn token_authentication_failures(env: &TestEnv) {
    let s = &env.server;
    let api = Api::admin(env);
    let resp = s.anonymous(Method::GET, "/v1/orgs").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(code(&resp.json().await.unwrap()), "missing_token");
    let (status, body) = api.with("hush_not-a-real-token").get("/v1/orgs").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "invalid_token")
    );
    let revoked = api
        .token(json!({ "name": "ci", "scopes": ["secret:read"] }))
        .await;
    let (_, list) = api.get("/v1/orgs/default/tokens").await;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "ci")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        list.to_string().find(&revoked).is_none(),
        "tokens are never listed"
    );
    assert_eq!(api.with(&revoked).get("/v1/orgs").await.0, StatusCode::OK);
    let (status, _) = api.delete(&format!("/v1/orgs/default/tokens/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = api.with(&revoked).get("/v1/orgs").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "token_disabled")
    );
    // A token cannot be born expired…
    let (status, body) = api
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "old", "scopes": ["secret:read"], "expires_at": "2001-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_token_request")
    );
    // …but it does expire.
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    // Two seconds of life, so a loaded machine still creates it in time.
    let expiry = now_ms + 2_000;
    let soon = hush_core::time::to_rfc3339(expiry);
    let expired = api
        .token(json!({ "name": "old", "scopes": ["secret:read"], "expires_at": soon }))
        .await;
    let after_creating = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let left = (expiry - after_creating).max(0) as u64 + 100;
    tokio::time::sleep(std::time::Duration::from_millis(left)).await;
    let (status, body) = api.with(&expired).get("/v1/orgs").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    let (status, body) = api
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "x", "scopes": ["secret:all"] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_scope")
    );
}

async fn scopes_and_resource_restrictions(env: &TestEnv) {
    let api = Api::admin(env);
    let a = api.project("alpha", &["production", "staging"]).await;
    let b = api.project("beta", &["production"]).await;
    api.put(
        &format!("{a}/secrets/A?env=production"),
        json!({ "value": "alpha-secret" }),
    )
    .await;
    api.put(
        &format!("{b}/secrets/B?env=production"),
        json!({ "value": "beta-secret" }),
    )
    .await;

    // Read-only: can list metadata, cannot decrypt or write.
    let reader = api.with(
        &api.token(json!({ "name": "r", "scopes": ["secret:read"] }))
            .await,
    );
    assert_eq!(
        reader.get(&format!("{a}/secrets?env=production")).await.0,
        StatusCode::OK
    );
    let (status, body) = reader
        .get(&format!("{a}/secrets?env=production&reveal=plain"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let (status, body) = reader
        .put(
            &format!("{a}/secrets/X?env=production"),
            json!({ "value": "x" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );
    let (status, _) = reader
        .post("/v1/orgs/default/projects", json!({ "slug": "gamma" }))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // No escalation through token creation.
    let (status, body) = reader
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "x", "scopes": ["secret:read"] }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );

    // Limited to project alpha: beta does not exist for it, by any path.
    let alpha_only = api.with(
        &api.token(json!({ "name": "a", "scopes": ["secret:read", "secret:decrypt", "secret:write", "project:admin"], "project": "alpha" }))
            .await,
    );
    let (_, projects) = alpha_only.get("/v1/orgs/default/projects").await;
    assert_eq!(projects.as_array().unwrap().len(), 1);
    for path in [
        b.clone(),
        format!("{b}/secrets?env=production&reveal=plain"),
        format!("{b}/secrets/B?env=production&reveal=plain"),
        format!("{b}/versions?env=production"),
        format!("{b}/versions/1?env=production&reveal=plain"),
        format!("{b}/environments"),
        format!("{b}/diff?env=production&from=1&to=1"),
    ] {
        let (status, body) = alpha_only.get(&path).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "not_found"),
            "{path}"
        );
        assert!(!body.to_string().contains("beta-secret"));
    }
    let (status, _) = alpha_only
        .put(
            &format!("{b}/secrets/B?env=production"),
            json!({ "value": "pwned" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = alpha_only.delete(&b).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = alpha_only
        .get(&format!("{a}/secrets?env=production&reveal=plain"))
        .await;
    assert_eq!(values(&list)[0].1, "alpha-secret");
    // A project admin cannot mint an org-wide token or a token for beta.
    let (status, _) = alpha_only
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "x", "scopes": ["secret:read"] }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = alpha_only
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "x", "scopes": ["secret:read"], "project": "beta" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = alpha_only
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "x", "scopes": ["audit:read"], "project": "alpha" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "token_escalation")
    );

    // Limited to alpha/production: staging and the project level are out of reach.
    let prod_only = api.with(
        &api.token(json!({ "name": "p", "scopes": ["secret:read", "secret:decrypt", "secret:write"], "project": "alpha", "environment": "production" }))
            .await,
    );
    assert_eq!(
        prod_only
            .get(&format!("{a}/secrets?env=production&reveal=plain"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        prod_only.get(&format!("{a}/secrets?env=staging")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, body) = prod_only
        .put(&format!("{a}/secrets/P"), json!({ "value": "x" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "environment_locked")
    );
    let (_, envs) = prod_only.get(&format!("{a}/environments")).await;
    assert_eq!(envs.as_array().unwrap().len(), 1);
}

/// Two servers on one PostgreSQL database serve the same data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_postgres_database() {
    let Some(db) = TestDatabase::create(hush_testkit::Db::Postgres).await else {
        return;
    };
    let key = [3u8; 32];
    let first = TestServer::start_on(&db.url, key).await;
    let second = TestServer::start_on(&db.url, key).await;
    assert!(second.admin_token.is_none(), "only one replica bootstraps");
    let token = first.admin().to_owned();
    let one = Api {
        s: &first,
        token: token.clone(),
    };
    let two = Api { s: &second, token };
    let base = one.project("web", &["production"]).await;
    let (status, _) = one
        .put(
            &format!("{base}/secrets/A?env=production"),
            json!({ "value": "from one" }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, list) = two
        .get(&format!("{base}/secrets?env=production&reveal=plain"))
        .await;
    assert_eq!(values(&list), triples(&[("A", "from one", "environment")]));
    let (status, _) = two
        .put(
            &format!("{base}/secrets/A?env=production"),
            json!({ "value": "from two", "expected_version": 1 }),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = one
        .put(
            &format!("{base}/secrets/A?env=production"),
            json!({ "value": "stale", "expected_version": 1 }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "version_conflict")
    );
    first.stop().await;
    second.stop().await;
    db.drop_db().await;
}

async fn every_request_is_audited(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    api.project("other", &[]).await;
    api.put(
        &format!("{base}/secrets/API_KEY?env=production"),
        json!({ "value": "audit-me-not-42" }),
    )
    .await;
    api.get(&format!("{base}/secrets?env=production&reveal=plain"))
        .await;
    let pull = api
        .token(json!({ "name": "ci", "kind": "pull", "project": "web" }))
        .await;
    let resp = env
        .server
        .anonymous(
            Method::GET,
            &format!("/api/v1/secrets/pull?env=production&token={pull}"),
        )
        .header("user-agent", "deploy-bot/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let reader = api.with(
        &api.token(json!({ "name": "r", "scopes": ["secret:read"] }))
            .await,
    );
    let (status, _) = reader
        .get(&format!("{base}/secrets?env=production&reveal=plain"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = reader.get("/v1/orgs/default/audit").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "insufficient_scope")
    );

    let (status, page) = api.get("/v1/orgs/default/audit?limit=1000").await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entries"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "project.create",
        "environment.create",
        "secret.write",
        "secret.decrypt",
        "token.create",
        "secret.pull",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let pulled = entries
        .iter()
        .find(|e| e["action"] == "secret.pull")
        .unwrap();
    assert_eq!(pulled["user_agent"], "deploy-bot/1.0");
    assert_eq!(pulled["ip"], "127.0.0.1");
    assert_eq!(pulled["resource"], "/api/v1/secrets/pull?env=production");
    assert!(pulled["actor"].as_str().unwrap().starts_with("token:"));
    let denied = entries.iter().find(|e| e["result"] == "denied").unwrap();
    assert_eq!(denied["status"], 403);
    let text = page.to_string();
    assert!(
        !text.contains("audit-me-not-42"),
        "values never reach the audit log"
    );
    assert!(!text.contains(&pull), "tokens never reach the audit log");

    // Filters and paging.
    let decrypted = entries
        .iter()
        .find(|e| e["action"] == "secret.decrypt")
        .unwrap();
    assert_eq!(
        decrypted["resource"],
        "/v1/orgs/default/projects/web/secrets?env=production"
    );
    let (_, writes) = api.get("/v1/orgs/default/audit?action=secret.write").await;
    assert!(writes["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["action"] == "secret.write"));
    let (_, other) = api.get("/v1/orgs/default/audit?project=other").await;
    assert_eq!(other["entries"].as_array().unwrap().len(), 1, "{other}");
    let (_, first) = api.get("/v1/orgs/default/audit?limit=2").await;
    let before = first["next_before"].as_i64().unwrap();
    let (_, second) = api
        .get(&format!("/v1/orgs/default/audit?limit=2&before={before}"))
        .await;
    assert!(second["entries"][0]["seq"].as_i64().unwrap() < before);
    let (_, verified) = api.get("/v1/orgs/default/audit/verify").await;
    assert_eq!(verified["ok"], true, "{verified}");
    assert!(verified["entries"].as_i64().unwrap() > 10);

    // What the handler did names the action, however the query spelled
    // it: an encoded `reveal=plain` is a decrypt, a version read with
    // values is a version.decrypt.
    let agent = |name: &str| format!("audit-probe/{name}");
    for (name, path) in [
        (
            "encoded",
            format!("{base}/secrets?env=production&reveal=%70lain"),
        ),
        (
            "version",
            format!("{base}/versions/1?env=production&reveal=plain"),
        ),
        ("names", format!("{base}/secrets?env=production")),
    ] {
        let status = env
            .server
            .request(Method::GET, &path, &api.token)
            .header("user-agent", agent(name))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (_, page) = api.get("/v1/orgs/default/audit?limit=20").await;
    let action_of = |name: &str| {
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["user_agent"] == agent(name).as_str())
            .map(|e| e["action"].as_str().unwrap().to_owned())
    };
    assert_eq!(action_of("encoded").as_deref(), Some("secret.decrypt"));
    assert_eq!(action_of("version").as_deref(), Some("version.decrypt"));
    assert_eq!(action_of("names").as_deref(), Some("secret.read"));
}

async fn copy_import_and_export(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["staging", "production"]).await;
    let tricky = "it's \"quoted\" # not a comment $HOME\nsecond line ✓";
    let dotenv = format!(
        "# exported\nexport A=1\nB='single'\nTRICKY={}\n",
        serde_json::to_string(tricky).unwrap()
    );
    let resp = env
        .server
        .request(
            Method::POST,
            &format!("{base}/import?env=staging"),
            env.server.admin(),
        )
        .header("content-type", "text/plain")
        .body(dotenv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let written: Value = resp.json().await.unwrap();
    assert_eq!(
        (
            written["version"].as_i64(),
            written["changed_keys"].as_array().map(Vec::len)
        ),
        (Some(1), Some(3))
    );
    api.put(
        &format!("{base}/secrets/A?env=staging"),
        json!({ "value": "1", "note": "kept", "tags": ["t"] }),
    )
    .await;
    // Export in each format reads back to the same values.
    let export = |format: &'static str| {
        let req = env.server.request(
            Method::GET,
            &format!("{base}/export?env=staging&format={format}"),
            env.server.admin(),
        );
        async move { req.send().await.unwrap().text().await.unwrap() }
    };
    let map = hush_core::dotenv::parse(&export("dotenv").await).unwrap();
    assert_eq!(map["TRICKY"].expose(), tricky);
    assert_eq!(map["B"].expose(), "single");
    let json_export: Value = serde_json::from_str(&export("json").await).unwrap();
    assert_eq!(json_export["TRICKY"], tricky);
    assert!(export("shell").await.contains("export A='1'"));
    // Copy staging into production: one version, metadata kept.
    let (status, copied) = api
        .post(
            &format!("{base}/copy"),
            json!({ "from": { "env": "staging" }, "to": { "env": "production" } }),
        )
        .await;
    assert_eq!(status, 200, "{copied}");
    assert_eq!(copied["version"], 1);
    let (_, prod) = api
        .get(&format!("{base}/secrets?env=production&reveal=plain"))
        .await;
    let a = prod["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "A")
        .unwrap();
    assert_eq!(
        (a["value"].as_str(), a["note"].as_str()),
        (Some("1"), Some("kept"))
    );
    assert_eq!(values(&prod).len(), 3);
    // Without overwrite, existing names stay.
    api.put(
        &format!("{base}/secrets/B?env=production"),
        json!({ "value": "prod-only" }),
    )
    .await;
    api.put(
        &format!("{base}/secrets/C?env=staging"),
        json!({ "value": "new" }),
    )
    .await;
    let (_, copied) = api
        .post(&format!("{base}/copy"), json!({ "from": { "env": "staging" }, "to": { "env": "production" }, "overwrite": false }))
        .await;
    assert_eq!(copied["changed_keys"], json!(["C"]));
    let (_, b) = api
        .get(&format!("{base}/secrets/B?env=production&reveal=plain"))
        .await;
    assert_eq!(b["value"], "prod-only");
    // Bad files are refused and nothing is stored.
    let resp = env
        .server
        .request(
            Method::POST,
            &format!("{base}/import?env=production"),
            env.server.admin(),
        )
        .body("GOOD=1\nBAD LINE\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 2"),
        "{body}"
    );
    let resp = env
        .server
        .request(
            Method::POST,
            &format!("{base}/import?env=production&format=json"),
            env.server.admin(),
        )
        .body(r#"{"1BAD": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let (status, body) = api
        .post(
            &format!("{base}/copy"),
            json!({ "from": { "env": "staging" }, "to": { "env": "staging" } }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "same_scope")
    );
    let (_, versions) = api.get(&format!("{base}/versions?env=production")).await;
    assert_eq!(versions.as_array().unwrap().len(), 3);
}

async fn users_log_in_with_their_role(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    api.put(
        &format!("{base}/secrets/A?env=production"),
        json!({ "value": "a" }),
    )
    .await;
    // The bootstrap token creates the first users.
    let (status, owner) = api
        .post("/v1/orgs/default/users", json!({ "email": "Ada@Example.com", "password": "correct horse battery", "role": "owner" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{owner}");
    assert_eq!(
        (owner["email"].as_str(), owner["role"].as_str()),
        (Some("ada@example.com"), Some("owner"))
    );
    api.post(
        "/v1/orgs/default/users",
        json!({ "email": "vic@example.com", "password": "viewer password 1", "role": "viewer" }),
    )
    .await;
    for (body, expected) in [
        (
            json!({ "email": "x@example.com", "password": "short" }),
            "weak_password",
        ),
        (
            json!({ "email": "not-an-email", "password": "long enough password" }),
            "invalid_email",
        ),
        (
            json!({ "email": "y@example.com", "password": "long enough password", "role": "god" }),
            "invalid_role",
        ),
    ] {
        let (status, err) = api.post("/v1/orgs/default/users", body).await;
        assert_eq!(
            (status, code(&err)),
            (StatusCode::UNPROCESSABLE_ENTITY, expected)
        );
    }
    let (status, err) = api
        .post(
            "/v1/orgs/default/users",
            json!({ "email": "ada@example.com", "password": "another password" }),
        )
        .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::CONFLICT, "already_exists")
    );

    let login = |email: &str, password: &str| {
        let req = env
            .server
            .anonymous(Method::POST, "/v1/login")
            .json(&json!({ "email": email, "password": password }));
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, session) = login("ada@example.com", "correct horse battery").await;
    assert_eq!(status, 200, "{session}");
    let ada = api.with(session["token"].as_str().unwrap());
    assert!(session["expires_at"].as_str().unwrap().ends_with('Z'));
    let (status, list) = ada
        .get(&format!("{base}/secrets?env=production&reveal=plain"))
        .await;
    assert_eq!((status, values(&list).len()), (StatusCode::OK, 1));
    let (_, members) = ada.get("/v1/orgs/default/users").await;
    assert_eq!(members.as_array().unwrap().len(), 2);
    // A viewer reads names but cannot decrypt or write.
    let (_, session) = login("vic@example.com", "viewer password 1").await;
    let vic = api.with(session["token"].as_str().unwrap());
    assert_eq!(
        vic.get(&format!("{base}/secrets?env=production")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        vic.get(&format!("{base}/secrets?env=production&reveal=plain"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        vic.put(
            &format!("{base}/secrets/A?env=production"),
            json!({ "value": "x" })
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Wrong password and unknown user look the same.
    let (s1, e1) = login("ada@example.com", "wrong password!!").await;
    let (s2, e2) = login("nobody@example.com", "wrong password!!").await;
    assert_eq!(
        (s1, s2),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    assert_eq!(e1, e2);
    assert_eq!(code(&e1), "invalid_credentials");
    // Logins are audited as the user, refused ones as attempts on the
    // organization (visible to its admins); no password reaches the log.
    let (_, page) = api.get("/v1/orgs/default/audit?action=auth.login").await;
    let logins = page["entries"].as_array().unwrap();
    assert_eq!(logins.len(), 4, "{page}");
    let outcome = |e: &Value| {
        (
            e["actor"]
                .as_str()
                .unwrap()
                .split(':')
                .next()
                .unwrap()
                .to_owned(),
            e["result"].as_str().unwrap().to_owned(),
        )
    };
    let mut seen: Vec<_> = logins.iter().map(outcome).collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("anonymous", "denied"),
            ("anonymous", "denied"),
            ("user", "ok"),
            ("user", "ok")
        ]
        .map(|(a, r)| (a.to_owned(), r.to_owned()))
    );
    // So is a request with a bad token on the organization's paths.
    let (status, _) = api
        .with("hush_bogus")
        .get("/v1/orgs/default/projects")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, page) = api
        .get("/v1/orgs/default/audit?actor=anonymous&limit=10")
        .await;
    assert!(
        page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["status"] == 401 && e["resource"] == "/v1/orgs/default/projects"),
        "{page}"
    );
    let (_, all) = api.get("/v1/orgs/default/audit?limit=1000").await;
    assert!(!all.to_string().contains("correct horse"));
    let (_, changes) = api.get(&format!("{base}/versions?env=production")).await;
    assert!(changes.is_array());
}

/// With a certificate the server speaks HTTPS (rustls); plain HTTP to it
/// fails, and an unusable key file is a clear start-up error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_with_a_certificate() {
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let files = hush_server::tls::TlsFiles {
        cert: cert_path.clone(),
        key: key_path,
    };
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server =
        TestServer::start_with(&db.url, [5u8; 32], |config| config.tls = Some(files)).await;
    let addr = server.url.trim_start_matches("http://").to_owned();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    // One request over a new TLS connection; the whole answer.
    let https = |request: String| {
        let (connector, addr) = (connector.clone(), addr.clone());
        async move {
            let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            tls.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            tls.read_to_string(&mut response).await.unwrap();
            response
        }
    };
    let response =
        https("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".into()).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"ok","ts":"#), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "HSTS under TLS: {response}"
    );
    // Under TLS the dashboard's session cookie is `Secure` too.
    let post = |path: &str, extra: String, content_type: &str, body: String| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let user = json!({ "email": "ada@example.com", "password": USER_PASSWORD, "role": "admin" });
    let created = https(post(
        "/v1/orgs/default/users",
        format!("Authorization: Bearer {}\r\n", server.admin()),
        "application/json",
        user.to_string(),
    ))
    .await;
    assert!(created.starts_with("HTTP/1.1 201"), "{created}");
    let form = format!(
        "email=ada%40example.com&password={}",
        USER_PASSWORD.replace(' ', "+")
    );
    let signed_in = https(post(
        "/dashboard/login",
        String::new(),
        "application/x-www-form-urlencoded",
        form,
    ))
    .await;
    let cookie = signed_in
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no cookie: {signed_in}"));
    assert!(
        cookie.contains("hush_session=")
            && cookie.contains("; Secure")
            && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::get(format!("http://{addr}/health")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    server.stop().await;

    // A certificate file given as the key is refused at start, by name.
    let bad = hush_server::ServerConfig {
        tls: Some(hush_server::tls::TlsFiles {
            cert: cert_path.clone(),
            key: cert_path,
        }),
        ..hush_server::ServerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            db.url.clone(),
            hush_core::crypto::MasterKey::from_bytes([5u8; 32]),
        )
    };
    let err = hush_server::start(bad).await.err().unwrap().to_string();
    assert!(
        err.contains("private key") && err.contains("cert.pem"),
        "{err}"
    );
    db.drop_db().await;
}

/// A project role replaces the organization role within that project:
/// it can grant (a viewer made member of one project) or restrict (a
/// member made viewer of another); organization admins keep theirs.
async fn project_roles_replace_the_org_role(env: &TestEnv) {
    let api = Api::admin(env);
    let web = api.project("web", &["production"]).await;
    let pay = api.project("payments", &["production"]).await;
    for base in [&web, &pay] {
        api.put(
            &format!("{base}/secrets/KEY?env=production"),
            json!({ "value": "v" }),
        )
        .await;
    }
    let mut ids = Vec::new();
    for (email, role) in [("vic@example.com", "viewer"), ("mo@example.com", "member")] {
        let (status, user) = api
            .post(
                "/v1/orgs/default/users",
                json!({ "email": email, "password": "long enough password", "role": role }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        ids.push(user["id"].as_str().unwrap().to_owned());
    }
    let (vic, mo) = (&ids[0], &ids[1]);
    let login = |email: &'static str| {
        let req = env
            .server
            .anonymous(Method::POST, "/v1/login")
            .json(&json!({ "email": email, "password": "long enough password" }));
        async move {
            let session: Value = req.send().await.unwrap().json().await.unwrap();
            session["token"].as_str().unwrap().to_owned()
        }
    };
    let (status, set) = api
        .put(&format!("{web}/members/{vic}"), json!({ "role": "member" }))
        .await;
    assert_eq!(
        (status, set["role"].as_str()),
        (StatusCode::OK, Some("member"))
    );
    api.put(&format!("{pay}/members/{mo}"), json!({ "role": "viewer" }))
        .await;
    api.put(&format!("{web}/members/{mo}"), json!({ "role": "admin" }))
        .await;
    let vic_api = api.with(&login("vic@example.com").await);
    let mo_api = api.with(&login("mo@example.com").await);
    assert_eq!(decrypt(&vic_api, &web).await, StatusCode::OK);
    assert_eq!(decrypt(&vic_api, &pay).await, StatusCode::FORBIDDEN);
    assert_eq!(decrypt(&mo_api, &pay).await, StatusCode::FORBIDDEN);
    assert_eq!(decrypt(&mo_api, &web).await, StatusCode::OK);
    let (status, _) = mo_api
        .put(
            &format!("{pay}/secrets/KEY?env=production"),
            json!({ "value": "w" }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a project viewer cannot write"
    );

    // mo administers web: its members and its tokens, nothing beyond.
    let (status, members) = mo_api.get(&format!("{web}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(members.as_array().unwrap().len(), 2);
    let (status, _) = mo_api.get(&format!("{pay}/members")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = mo_api
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "web-ci", "kind": "pull", "project": "web" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, _) = mo_api
        .post(
            "/v1/orgs/default/tokens",
            json!({ "name": "pay-ci", "kind": "pull", "project": "payments" }),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, tokens) = mo_api.get("/v1/orgs/default/tokens").await;
    let names: Vec<&str> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-ci"], "only web's tokens");
    let (status, _) = vic_api
        .put(&format!("{web}/members/{mo}"), json!({ "role": "viewer" }))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a project member is not its admin"
    );

    // Bad input; removal restores the organization role.
    let (status, err) = api
        .put(&format!("{web}/members/{vic}"), json!({ "role": "owner" }))
        .await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_role")
    );
    let (status, _) = api
        .put(
            &format!("{web}/members/no-such-user"),
            json!({ "role": "viewer" }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api.delete(&format!("{pay}/members/{mo}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.delete(&format!("{pay}/members/{mo}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(decrypt(&mo_api, &pay).await, StatusCode::OK);
    let (_, page) = api
        .get("/v1/orgs/default/audit?action=project.member.set&limit=10")
        .await;
    let results: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        results,
        ["denied", "error", "denied", "ok", "ok", "ok"],
        "{page}"
    );
}

async fn decrypt(api: &Api<'_>, base: &str) -> StatusCode {
    api.get(&format!("{base}/secrets/KEY?env=production&reveal=plain"))
        .await
        .0
}

/// End-to-end-encrypted projects: the server keeps the client's metadata,
/// refuses value writes without the right key proof (storing nothing),
/// never decrypts, and hands the metadata to pull tokens.
async fn e2ee_projects_guard_writes_with_the_key_proof(env: &TestEnv) {
    use hush_core::e2ee;
    let api = Api::admin(env);
    let pass = hush_core::SecretString::from("correct horse battery staple");
    let created = e2ee::create(&pass, e2ee::MIN_ITERATIONS).unwrap();
    let meta = |m: &e2ee::Meta| {
        json!({
            "iterations": m.iterations, "saltPass": m.salt_pass, "wrappedDekPass": m.wrapped_dek_pass,
            "saltRec": m.salt_rec, "wrappedDekRec": m.wrapped_dek_rec, "verifier": m.verifier,
        })
    };
    let proof = created.key_proof.expose().to_owned();
    let projects = "/v1/orgs/default/projects";
    for (body, code_expected) in [
        (
            json!({"slug": "x", "encryption_mode": "client", "e2ee_meta": meta(&created.meta)}),
            "key_proof_required",
        ),
        (
            json!({"slug": "x", "e2ee_meta": meta(&created.meta), "key_proof": proof}),
            "invalid_e2ee_meta",
        ),
        (
            json!({"slug": "x", "encryption_mode": "client", "e2ee_meta": meta(&e2ee::Meta { iterations: 1000, ..created.meta.clone() }), "key_proof": proof}),
            "invalid_e2ee_meta",
        ),
        (
            json!({"slug": "x", "encryption_mode": "client", "e2ee_meta": meta(&created.meta), "key_proof": "xyz"}),
            "invalid_key_proof",
        ),
    ] {
        let (status, err) = api.post(projects, body).await;
        assert_eq!(
            (status, code(&err)),
            (StatusCode::UNPROCESSABLE_ENTITY, code_expected)
        );
    }
    let (_, listed) = api.get(projects).await;
    assert_eq!(listed, json!([]), "nothing was created");
    let (status, _) = api
        .post(projects, json!({"slug": "vault", "encryption_mode": "client", "e2ee_meta": meta(&created.meta), "key_proof": proof}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    api.post(
        "/v1/orgs/default/projects/vault/environments",
        json!({"slug": "production"}),
    )
    .await;
    let (_, got) = api.get("/v1/orgs/default/projects/vault/e2ee").await;
    assert_eq!(got, meta(&created.meta));

    // Writes: no proof, a wrong proof → 422 and nothing stored.
    let secret = "/v1/orgs/default/projects/vault/secrets/API_KEY?env=production";
    let ciphertext = e2ee::encrypt_value(&created.dek, "s3cr3t").unwrap();
    let put = |proof: Option<String>| {
        let mut req = env
            .server
            .request(Method::PUT, secret, env.server.admin())
            .json(&json!({ "value": ciphertext }));
        if let Some(p) = proof {
            req = req.header("x-hush-key-proof", p);
        }
        async move {
            let resp = req.send().await.unwrap();
            (resp.status(), resp.json::<Value>().await.unwrap())
        }
    };
    let (status, err) = put(None).await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "key_proof_required")
    );
    let other = e2ee::create(&pass, e2ee::MIN_ITERATIONS).unwrap();
    let (status, err) = put(Some(other.key_proof.expose().to_owned())).await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "key_proof_mismatch")
    );
    let (_, list) = api
        .get("/v1/orgs/default/projects/vault/secrets?env=production")
        .await;
    assert_eq!(
        (list["version"].as_i64(), list["secrets"].clone()),
        (Some(0), json!([]))
    );
    let (status, _) = put(Some(proof.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, err) = api.get(&format!("{secret}&reveal=plain")).await;
    assert_eq!(
        (status, code(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, "e2ee_project")
    );

    // Rewrap: needs the proof, keeps the verifier.
    let (salt, wrapped) = e2ee::rewrap(
        &created.dek,
        &"new passphrase here".into(),
        e2ee::MIN_ITERATIONS,
    )
    .unwrap();
    let rewrapped = e2ee::Meta {
        salt_pass: salt,
        wrapped_dek_pass: wrapped,
        ..created.meta.clone()
    };
    let path = "/v1/orgs/default/projects/vault/e2ee";
    let (status, _) = api.put(path, meta(&rewrapped)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no proof");
    let send = |body: Value| {
        env.server
            .request(Method::PUT, path, env.server.admin())
            .header("x-hush-key-proof", proof.clone())
            .json(&body)
            .send()
    };
    let resp = send(meta(&e2ee::Meta {
        verifier: other.meta.verifier.clone(),
        ..rewrapped.clone()
    }))
    .await
    .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the data key cannot be swapped"
    );
    assert_eq!(
        send(meta(&rewrapped)).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );

    // A pull token gets ciphertext and the metadata, in the seed's shape.
    let token = api
        .token(
            json!({"name": "app", "kind": "pull", "project": "vault", "environment": "production"}),
        )
        .await;
    let pulled: Value = env
        .server
        .anonymous(Method::GET, "/api/v1/secrets/pull")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pulled["data"]["e2ee"], true);
    assert_eq!(pulled["data"]["e2eeMeta"], meta(&rewrapped));
    let dek = e2ee::unlock(&rewrapped, &"new passphrase here".into()).unwrap();
    let value = pulled["data"]["secrets"]["API_KEY"].as_str().unwrap();
    assert_eq!(e2ee::decrypt_value(&dek, value).unwrap().expose(), "s3cr3t");
}

/// Follows `Link: rel="next"` from `first` to the end; returns every page.
async fn all_pages(api: &Api<'_>, first: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        let resp = api
            .s
            .request(Method::GET, &path, &api.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        next = resp
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned())
            .map(|l| {
                assert!(l.ends_with("; rel=\"next\""), "{l}");
                l.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap()
                    .to_owned()
            });
        let page: Value = resp.json().await.unwrap();
        pages.push(page.as_array().unwrap().clone());
        assert!(pages.len() < 50, "paging ends");
    }
    pages
}

/// Versions, projects and tokens come a page at a time (`?limit=`, a
/// cursor, `Link: rel="next"`), and the pages add up to the whole list.
async fn lists_come_in_pages(env: &TestEnv) {
    let api = Api::admin(env);
    for slug in ["p1", "p2", "p3", "p4", "p5"] {
        api.project(slug, &[]).await;
    }
    let pages = all_pages(&api, "/v1/orgs/default/projects?limit=2").await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![2, 2, 1]
    );
    let slugs: Vec<&str> = pages
        .iter()
        .flatten()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["p1", "p2", "p3", "p4", "p5"]);

    for i in 0..5 {
        api.token(json!({ "name": format!("t{i}"), "kind": "pull", "project": "p1" }))
            .await;
    }
    let all: Vec<Value> = all_pages(&api, "/v1/orgs/default/tokens?limit=1000")
        .await
        .concat();
    let paged: Vec<Value> = all_pages(&api, "/v1/orgs/default/tokens?limit=2")
        .await
        .concat();
    assert_eq!(paged, all, "pages of tokens add up to the whole list");
    assert!(all.len() >= 6);

    let base = "/v1/orgs/default/projects/p1/secrets";
    for i in 0..7 {
        let (status, _) = api
            .put(&format!("{base}/V{i}"), json!({ "value": "x" }))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let pages = all_pages(&api, "/v1/orgs/default/projects/p1/versions?limit=3").await;
    let numbers: Vec<i64> = pages
        .iter()
        .flatten()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![7, 6, 5, 4, 3, 2, 1]);
    let (status, body) = api.get("/v1/orgs/default/projects?limit=2&cursor=x").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
}

fn values(list: &Value) -> Vec<(String, String, String)> {
    list["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["value"].as_str().unwrap_or("<hidden>").to_owned(),
                s["level"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn triples(items: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// A renewed certificate is served without a restart: new connections get
/// it once the files change; a broken file keeps the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_is_served_without_a_restart() {
    use std::sync::Arc;
    use tokio_rustls::rustls;

    let dir = tempfile::tempdir().unwrap();
    let first = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let second = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, first.cert.pem()).unwrap();
    std::fs::write(&key_path, first.key_pair.serialize_pem()).unwrap();
    let files = hush_server::tls::TlsFiles {
        cert: cert_path.clone(),
        key: key_path.clone(),
    };
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server =
        TestServer::start_with(&db.url, [5u8; 32], |config| config.tls = Some(files)).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(first.cert.der().clone()).unwrap();
    roots.add(second.cert.der().clone()).unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    );
    let served = || {
        let (client, addr) = (client.clone(), addr.clone());
        async move {
            let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let tls = tokio_rustls::TlsConnector::from(client)
                .connect(name, tcp)
                .await
                .unwrap();
            tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
        }
    };
    assert_eq!(served().await, first.cert.der().to_vec());
    // A half-written renewal (garbage) keeps the old certificate.
    std::fs::write(&cert_path, "not a certificate").unwrap();
    tokio::time::sleep(hush_server::tls::RELOAD_CHECK * 2).await;
    assert_eq!(served().await, first.cert.der().to_vec());
    // The real renewal is picked up.
    std::fs::write(&key_path, second.key_pair.serialize_pem()).unwrap();
    std::fs::write(&cert_path, second.cert.pem()).unwrap();
    let mut renewed = false;
    for _ in 0..50 {
        if served().await == second.cert.der().to_vec() {
            renewed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(renewed, "the renewed certificate was not served");
    server.stop().await;
}
