//! Regression tests of the attacks a security review made on hush (the
//! hardening issue): each test tries the abuse and checks it is refused.

use hush_core::vaultenv::{derive_key, sign, sign_request, SignedRequest, SALT_AUTH};
use hush_testkit::{code, on_both_backends, Api, Db, TestDatabase, TestEnv, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::vaultenv::{hex, now, post, Vde};

on_both_backends!(
    a_project_limited_token_stays_in_its_project,
    an_environment_limited_token_stays_in_its_environment,
    session_tokens_follow_their_user,
    a_vault_key_alone_cannot_manage_devices,
    versions_and_rollback_need_an_approved_device,
    a_project_admin_rotates_the_signing_key,
    signatures_can_bind_method_and_path,
    vaultenv_registration_is_closed_by_default,
    audit_verification_shows_an_organization_its_own_figures,
    an_email_in_another_organization_is_not_revealed,
    login_guesses_are_throttled_per_account_and_address,
    logout_revokes_the_session,
    free_text_is_capped_and_printable,
    small_holes_stay_closed,
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

/// The body naming a device, as the published client sends it.
fn device_body(vde: &Vde<'_>, id: &str) -> Value {
    json!({ "project_id": vde.project, "device_id": id })
}

async fn devices_by_status(api: &Api<'_>, slug: &str) -> Vec<(String, String)> {
    let (_, devices) = api
        .get(&format!("/v1/orgs/default/projects/{slug}/devices"))
        .await;
    devices
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_owned(),
                d["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn a_vault_key_alone_cannot_manage_devices(env: &TestEnv) {
    let s = &env.server;
    let api = Api::admin(env);
    let vde = Vde::project(s, "app").await;
    let (_, owner) = vde.register("owner").await;
    assert_eq!(owner["status"], "approved", "the first device");
    let (laptop_hash, laptop) = vde.register("laptop").await;
    assert_eq!(laptop["status"], "pending");
    let laptop_id = laptop["device_id"].as_str().unwrap();
    let owner_id = owner["device_id"].as_str().unwrap();

    // Signed with the vault key alone, or bound to a device secret as the
    // published client signs them: refused, and nothing changes.
    let vault_key_of_laptop = |body: &str| {
        // What `vde approve-device` sends from the laptop: its device
        // secret mixed in (which the server cannot check).
        let key = derive_key("vk_whatever", SALT_AUTH, Some("laptop"));
        sign(&key, body.as_bytes(), now())
    };
    for (path, id) in [
        ("/api/v1/devices/approve", laptop_id),
        ("/api/v1/devices/revoke", owner_id),
        ("/api/v1/devices/list", ""),
    ] {
        let attempt = vde.call(path, device_body(&vde, id)).await;
        assert_eq!(
            (attempt.0, attempt.1["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("devices_managed_in_hush")),
            "{path}: {}",
            attempt.1
        );
        assert!(attempt.1["error"]
            .as_str()
            .unwrap()
            .contains("hush devices"));
        let body = device_body(&vde, id).to_string();
        let sig = vault_key_of_laptop(&body);
        let attempt = post(s, path, body, Some(sig), None).await;
        assert_eq!(attempt.0, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        devices_by_status(&api, "app").await,
        [
            ("owner".to_owned(), "approved".to_owned()),
            ("laptop".to_owned(), "pending".to_owned())
        ]
    );
    let pull = json!({ "project_id": vde.project, "environment": "production", "device_hash": laptop_hash });
    assert_eq!(
        vde.call("/api/v1/secrets/pull", pull.clone()).await.0,
        StatusCode::FORBIDDEN
    );

    // A project admin approves in hush; revoked, the laptop cannot
    // re-approve itself.
    let devices = "/v1/orgs/default/projects/app/devices";
    let (status, _) = api
        .post(&format!("{devices}/{laptop_id}/approve"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .post(&format!("{devices}/{laptop_id}/revoke"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let attempt = vde
        .call("/api/v1/devices/approve", device_body(&vde, laptop_id))
        .await;
    assert_eq!(attempt.0, StatusCode::FORBIDDEN);
    assert_eq!(
        vde.call("/api/v1/secrets/pull", pull).await.0,
        StatusCode::FORBIDDEN,
        "still revoked"
    );
    // A token limited to one environment manages no devices.
    let locked = api.with(
        &api.token(json!({
            "name": "dev", "scopes": ["project:admin"], "project": "app", "environment": "development",
        }))
        .await,
    );
    let (status, body) = locked
        .post(&format!("{devices}/{laptop_id}/approve"), json!({}))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "token_limited")
    );
}

async fn versions_and_rollback_need_an_approved_device(env: &TestEnv) {
    let vde = Vde::project(&env.server, "app").await;
    let (owner, _) = vde.register("owner").await;
    let (pending, _) = vde.register("laptop").await;
    for blob in ["b25l", "dHdv"] {
        let (status, body) = vde
            .call(
                "/api/v1/secrets/push",
                json!({ "project_id": vde.project, "environment": "production", "secrets": blob, "device_hash": owner }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let body = |device: Option<&str>, extra: Value| {
        let mut body = json!({ "project_id": vde.project, "environment": "production" });
        if let Some(device) = device {
            body["device_hash"] = json!(device);
        }
        if let Value::Object(extra) = extra {
            body.as_object_mut().unwrap().extend(extra);
        }
        body
    };
    for (path, extra) in [
        ("/api/v1/secrets/versions", json!({})),
        ("/api/v1/secrets/rollback", json!({ "version": 1 })),
    ] {
        for device in [None, Some(pending.as_str()), Some("00")] {
            let (status, err) = vde.call(path, body(device, extra.clone())).await;
            assert_eq!(
                (status, err["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("device_forbidden")),
                "{path} {device:?}"
            );
        }
    }
    let (status, current) = vde
        .call("/api/v1/secrets/current-version", body(None, json!({})))
        .await;
    assert_eq!(
        (status, current["version"].as_i64()),
        (StatusCode::OK, Some(2))
    );
    let (status, _) = vde
        .call(
            "/api/v1/secrets/current-version",
            body(Some(&pending), json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a named device must be approved"
    );

    // With the approved device: listed and rolled back.
    let (status, versions) = vde
        .call("/api/v1/secrets/versions", body(Some(&owner), json!({})))
        .await;
    assert_eq!(
        (status, versions["versions"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    let (status, rolled) = vde
        .call(
            "/api/v1/secrets/rollback",
            body(Some(&owner), json!({ "version": 1 })),
        )
        .await;
    assert_eq!(
        (status, rolled["version"].as_i64()),
        (StatusCode::OK, Some(3))
    );
}

async fn a_project_admin_rotates_the_signing_key(env: &TestEnv) {
    let s = &env.server;
    let api = Api::admin(env);
    let old = Vde::project(s, "app").await;
    let (device, _) = old.register("owner").await;
    let pull =
        json!({ "project_id": old.project, "environment": "production", "device_hash": device });
    old.call(
        "/api/v1/secrets/push",
        json!({ "project_id": old.project, "environment": "production", "secrets": "b25l", "device_hash": device }),
    )
    .await;
    let new = Vde::of(s, &old.project);
    let rotate = "/v1/orgs/default/projects/app/vaultenv-key";
    let body = json!({ "auth_key_hash": hex(&new.auth) });

    // Not with a token limited to an environment, nor with a bad key.
    let locked = api.with(
        &api.token(json!({
            "name": "dev", "scopes": ["project:admin"], "project": "app", "environment": "development",
        }))
        .await,
    );
    let attempt = locked.put(rotate, body.clone()).await;
    assert_eq!(refused(&attempt), (StatusCode::FORBIDDEN, "token_limited"));
    let attempt = api.put(rotate, json!({ "auth_key_hash": "not hex" })).await;
    assert_eq!(refused(&attempt), (StatusCode::BAD_REQUEST, "invalid_key"));
    api.project("native", &[]).await;
    let attempt = api
        .put(
            "/v1/orgs/default/projects/native/vaultenv-key",
            body.clone(),
        )
        .await;
    assert_eq!(attempt.0, StatusCode::NOT_FOUND, "not a vault-env project");
    assert_eq!(
        old.call("/api/v1/secrets/pull", pull.clone()).await.0,
        StatusCode::OK
    );

    let (status, _) = api.put(rotate, body).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let attempt = old.call("/api/v1/secrets/pull", pull.clone()).await;
    assert_eq!(
        (attempt.0, attempt.1["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature")),
        "the old key stops at once"
    );
    let (status, pulled) = new.call("/api/v1/secrets/pull", pull).await;
    assert_eq!(
        (status, pulled["secrets"].as_str()),
        (StatusCode::OK, Some("b25l"))
    );
    let (_, page) = api
        .get("/v1/orgs/default/audit?action=vaultenv.key.rotate")
        .await;
    let results: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["ok", "denied", "error", "denied"], "{page}");
}

async fn signatures_can_bind_method_and_path(env: &TestEnv) {
    let s = &env.server;
    let vde = Vde::project(s, "app").await;
    let (device, _) = vde.register("owner").await;
    let body =
        json!({ "project_id": vde.project, "environment": "production", "device_hash": device })
            .to_string();
    let bound = |path: &'static str| {
        sign_request(
            &vde.auth,
            SignedRequest {
                method: "POST",
                path,
                body: body.as_bytes(),
            },
            now(),
        )
    };
    let (status, current) = post(
        s,
        "/api/v1/secrets/current-version",
        body.clone(),
        Some(bound("/api/v1/secrets/current-version")),
        None,
    )
    .await;
    assert_eq!(
        (status, current["version"].as_i64()),
        (StatusCode::OK, Some(0))
    );
    // Captured on its way to one endpoint, it does not open another.
    let attempt = post(
        s,
        "/api/v1/secrets/pull",
        body.clone(),
        Some(bound("/api/v1/secrets/current-version")),
        None,
    )
    .await;
    assert_eq!(
        (attempt.0, attempt.1["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
}

async fn vaultenv_registration_is_closed_by_default(env: &TestEnv) {
    let s = &env.server;
    let api = Api::admin(env);
    let (status, body) = Vde::create(s, "squat", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("registration_closed"))
    );
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("--vaultenv-open-registration"));
    api.project("web", &[]).await;
    let limited = api
        .token(json!({ "name": "web", "scopes": ["org:admin"], "project": "web" }))
        .await;
    let (status, body) = Vde::create(s, "squat", Some(&limited)).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("token_limited"))
    );
    let (status, body) = Vde::create(s, "My App", Some(s.admin())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, projects) = api.get("/v1/orgs/default/projects").await;
    let slugs: Vec<&str> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert!(
        slugs.contains(&"my-app") && !slugs.contains(&"squat"),
        "{slugs:?}"
    );
}

/// With open registration: anonymous creations are capped per address,
/// named in their own namespace, and their names are checked.
async fn open_registration_is_limited(db: Db) {
    let Some(db) = TestDatabase::create(db).await else {
        return;
    };
    let s =
        TestServer::start_with(&db.url, [5u8; 32], |c| c.vaultenv_open_registration = true).await;
    let api = Api::on(&s, s.admin());
    for (bad, code) in [
        ("x".repeat(101), "too_long"),
        ("evil\u{1b}[31m".to_owned(), "invalid_text"),
    ] {
        let (status, body) = Vde::create(&s, &bad, None).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(code))
        );
    }
    for _ in 0..3 {
        let (status, body) = Vde::create(&s, "web", None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = Vde::create(&s, "web", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited"))
    );
    // None took the name a native project wants.
    let (_, projects) = api.get("/v1/orgs/default/projects").await;
    let slugs: Vec<&str> = projects
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs.len(), 3, "{slugs:?}");
    assert!(
        slugs.iter().all(|s| s.starts_with("vaultenv-web")),
        "{slugs:?}"
    );
    api.project("web", &[]).await;
    s.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_registration_is_limited_sqlite() {
    open_registration_is_limited(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_registration_is_limited_postgres() {
    open_registration_is_limited(Db::Postgres).await;
}

/// Two replicas register devices of one new project at the same time:
/// exactly one is the auto-approved first device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_device_approval_is_race_free_across_replicas() {
    let Some(db) = TestDatabase::create(Db::Postgres).await else {
        return;
    };
    let first = TestServer::start_on(&db.url, [6u8; 32]).await;
    let second = TestServer::start_on(&db.url, [6u8; 32]).await;
    for round in 0..5 {
        let one = Vde::project(&first, &format!("race-{round}")).await;
        let mut registrations = tokio::task::JoinSet::new();
        for i in 0..12 {
            let url = [&first.url, &second.url][i % 2].clone();
            let (project, auth) = (one.project.clone(), one.auth);
            registrations.spawn(async move {
                let hash = hush_core::vaultenv::device_hash(&format!("device-{i}"));
                let body = json!({ "project_id": project, "device_name": i.to_string(), "device_hash": hash })
                    .to_string();
                let signature = sign(&auth, body.as_bytes(), now());
                let response = reqwest::Client::new()
                    .post(format!("{url}/api/v1/devices/register"))
                    .header("content-type", "application/json")
                    .header("x-vault-signature", signature)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                response.json::<Value>().await.unwrap()
            });
        }
        let answers = registrations.join_all().await;
        let approved = answers.iter().filter(|a| a["status"] == "approved").count();
        assert_eq!(approved, 1, "round {round}: {answers:?}");
    }
    second.stop().await;
    first.stop().await;
    db.drop_db().await;
}

/// A second organization with an all-scopes token, made through the store
/// (organizations have no API yet).
async fn second_org(s: &TestServer) -> String {
    let store = s.store();
    let org = store
        .create_organization(&hush_core::Slug::parse("org", "acme").unwrap(), "Acme")
        .await
        .unwrap();
    let secret = hush_core::token::generate(hush_core::token::API_PREFIX);
    store
        .create_token(hush_store::NewToken {
            org_id: org.id,
            project_id: None,
            environment_id: None,
            kind: hush_store::TokenKind::Api,
            name: "acme-admin".into(),
            token_hash: hush_core::token::hash(secret.expose()),
            prefix: hush_core::token::display_prefix(secret.expose()),
            scopes: vec!["org:admin".into()],
            expires_at: None,
            created_by: "test".into(),
            user_id: None,
        })
        .await
        .unwrap();
    secret.expose().to_owned()
}

async fn audit_verification_shows_an_organization_its_own_figures(env: &TestEnv) {
    let api = Api::admin(env);
    let acme = api.with(&second_org(&env.server).await);
    for _ in 0..20 {
        api.get("/v1/orgs/default").await;
    }
    for _ in 0..3 {
        acme.get("/v1/orgs/acme").await;
    }
    let (status, mine) = acme.get("/v1/orgs/acme/audit/verify").await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["ok"], true);
    // Its three reads (the verify request is recorded after it answers).
    assert_eq!(mine["entries"], 3, "{mine}");
    let (_, theirs) = api.get("/v1/orgs/default/audit/verify").await;
    assert!(theirs["entries"].as_i64().unwrap() >= 20, "{theirs}");
    let (status, _) = acme.get("/v1/orgs/default/audit/verify").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Accounts belong to an organization: creating one never tells whether
/// the email has an account elsewhere, and each logs in to its own.
async fn an_email_in_another_organization_is_not_revealed(env: &TestEnv) {
    let api = Api::admin(env);
    let acme = api.with(&second_org(&env.server).await);
    api.user("ada@example.com", "member").await;
    let body = |password: &str| json!({ "email": "ada@example.com", "password": password, "role": "admin" });
    let (status, twin) = acme
        .post("/v1/orgs/acme/users", body("acme's own password"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{twin}");
    // The same email twice in one organization is a plain conflict.
    let again = acme
        .post("/v1/orgs/acme/users", body("yet another password"))
        .await;
    assert_eq!(refused(&again), (StatusCode::CONFLICT, "already_exists"));
    // Two accounts, two passwords, two organizations.
    let login = |org: &'static str, password: &'static str| {
        env.server
            .anonymous(reqwest::Method::POST, "/v1/login")
            .json(&json!({ "email": "ada@example.com", "password": password, "org": org }))
            .send()
    };
    let acme_session: Value = login("acme", "acme's own password")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(acme_session["user"]["id"], twin["id"], "{acme_session}");
    assert_eq!(acme_session["user"]["role"], "admin", "{acme_session}");
    let crossed = login("acme", hush_testkit::USER_PASSWORD).await.unwrap();
    assert_eq!(crossed.status(), StatusCode::UNAUTHORIZED);
    let crossed = login("default", "acme's own password").await.unwrap();
    assert_eq!(crossed.status(), StatusCode::UNAUTHORIZED);
    let home = login("default", hush_testkit::USER_PASSWORD).await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    // Each organization lists only its own account.
    let (_, members) = acme.get("/v1/orgs/acme/users").await;
    assert_eq!(members.as_array().map(Vec::len), Some(1), "{members}");
}

async fn login_attempt(
    s: &TestServer,
    email: &str,
    password: &str,
) -> (StatusCode, Value, Option<String>) {
    let resp = s
        .anonymous(reqwest::Method::POST, "/v1/login")
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, resp.json().await.unwrap_or(Value::Null), retry)
}

async fn login_guesses_are_throttled_per_account_and_address(env: &TestEnv) {
    let s = &env.server;
    let api = Api::admin(env);
    api.user("ada@example.com", "member").await;
    api.user("bob@example.com", "member").await;

    // Unknown email and wrong password: the same answer.
    let unknown = login_attempt(s, "nobody@example.com", "wrong password!!").await;
    let wrong = login_attempt(s, "ada@example.com", "wrong password!!").await;
    assert_eq!((unknown.0, &unknown.1), (wrong.0, &wrong.1));
    assert_eq!(code(&wrong.1), "invalid_credentials");

    // A success gives its unit back; ten failures in all lock the account.
    for _ in 0..5 {
        assert_eq!(
            login_attempt(s, "ada@example.com", hush_testkit::USER_PASSWORD)
                .await
                .0,
            StatusCode::OK
        );
    }
    for _ in 0..9 {
        login_attempt(s, "ada@example.com", "wrong password!!").await;
    }
    let (status, body, retry) = login_attempt(s, "ada@example.com", "wrong password!!").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let wait: u64 = retry.unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Even the right password waits now: guessing has no shortcut.
    assert_eq!(
        login_attempt(s, "ada@example.com", hush_testkit::USER_PASSWORD)
            .await
            .0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another account from the same address is not locked by Ada's.
    assert_eq!(
        login_attempt(s, "bob@example.com", hush_testkit::USER_PASSWORD)
            .await
            .0,
        StatusCode::OK
    );
    // Spraying many accounts from one address hits the address's limit.
    let mut sprayed = 0;
    loop {
        let (status, ..) =
            login_attempt(s, &format!("user{sprayed}@example.com"), "wrong password!!").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        sprayed += 1;
        assert!(sprayed < 40, "no per-address limit");
    }
    // Every refusal is audited.
    let (_, page) = api
        .get("/v1/orgs/default/audit?action=auth.login&limit=100")
        .await;
    let throttled = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["status"] == 429)
        .count();
    assert!(throttled >= 2, "{page}");
}

async fn logout_revokes_the_session(env: &TestEnv) {
    let api = Api::admin(env);
    api.user("ada@example.com", "member").await;
    let session = api.login("ada@example.com").await;
    let copy = api.with(&session.token);
    assert_eq!(copy.get("/v1/whoami").await.0, StatusCode::OK);
    let (status, _) = session.post("/v1/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let attempt = copy.get("/v1/whoami").await;
    assert_eq!(
        refused(&attempt),
        (StatusCode::UNAUTHORIZED, "token_disabled")
    );
    // An API token is not a session: revoke it by id instead.
    let attempt = api.post("/v1/logout", json!({})).await;
    assert_eq!(
        refused(&attempt),
        (StatusCode::UNPROCESSABLE_ENTITY, "not_a_session")
    );
    assert_eq!(api.get("/v1/whoami").await.0, StatusCode::OK);
}

/// A server whose connection limits are short enough to watch expire.
async fn tight_server(db: &TestDatabase, tls: Option<hush_server::tls::TlsFiles>) -> TestServer {
    TestServer::start_with(&db.url, [4u8; 32], |c| {
        c.connections = hush_server::listener::ConnectionLimits {
            header_timeout: std::time::Duration::from_millis(800),
            idle_timeout: std::time::Duration::from_millis(1500),
            tls_handshake_timeout: std::time::Duration::from_millis(800),
            max_per_ip: 5,
            max_total: 1000,
        };
        c.tls = tls;
    })
    .await
}

/// Reads until the server closes the connection (or `within` passes);
/// returns what arrived, or None if it was still open.
async fn closed_within(
    stream: &mut tokio::net::TcpStream,
    within: std::time::Duration,
) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_connections_are_closed() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let Some(db) = TestDatabase::create(Db::Sqlite).await else {
        return;
    };
    let server = tight_server(&db, None).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let connect = || tokio::net::TcpStream::connect(addr.clone());

    // Half-sent headers: cut off after the header timeout, not held.
    let mut slow = connect().await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(closed_within(&mut slow, Duration::from_secs(5))
        .await
        .is_some());
    assert!(started.elapsed() >= Duration::from_millis(700));

    // Keep-alive: requests with short pauses are served on one connection;
    // left idle, it is closed.
    let mut kept = connect().await.unwrap();
    for _ in 0..3 {
        kept.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = tokio::io::AsyncReadExt::read(&mut kept, &mut buf)
            .await
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(closed_within(&mut kept, Duration::from_secs(5))
        .await
        .is_some());

    // Five connections from one address are the cap: the sixth is closed
    // at once; when one of the five goes, there is room again.
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect().await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut sixth = connect().await.unwrap();
    let _ = sixth
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = closed_within(&mut sixth, Duration::from_millis(500)).await;
    assert_eq!(answer.as_deref(), Some(""), "refused without an answer");
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut again = connect().await.unwrap();
    again
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = closed_within(&mut again, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
    server.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfinished_tls_handshakes_are_closed() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let Some(db) = TestDatabase::create(Db::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let files = hush_server::tls::TlsFiles {
        cert: cert_path,
        key: key_path,
    };
    let server = tight_server(&db, Some(files)).await;
    let addr = server.url.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // The first bytes of a ClientHello, then nothing.
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(closed_within(&mut stalled, Duration::from_secs(5))
        .await
        .is_some());
    assert!(started.elapsed() >= Duration::from_millis(700));
    server.stop().await;
    db.drop_db().await;
}

async fn free_text_is_capped_and_printable(env: &TestEnv) {
    let api = Api::admin(env);
    let web = api.project("web", &["production"]).await;
    let long = "x".repeat(10_000);
    let cases = [
        (
            "/v1/orgs/default/projects",
            json!({ "slug": "big", "name": long }),
            "too_long",
            "200",
        ),
        (
            "/v1/orgs/default/projects",
            json!({ "slug": "esc", "name": "a\u{1b}]0;x\u{7}" }),
            "invalid_text",
            "control",
        ),
        (
            &format!("{web}/environments") as &str,
            json!({ "slug": "qa", "name": "two\nlines" }),
            "invalid_text",
            "line breaks",
        ),
        (
            TOKENS,
            json!({ "name": long, "scopes": ["secret:read"] }),
            "too_long",
            "128",
        ),
        (
            "/v1/orgs/default/users",
            json!({ "email": "a\u{0}@example.com", "password": "long enough password", "role": "viewer" }),
            "invalid_text",
            "control",
        ),
        (
            "/v1/orgs/default/users",
            json!({ "email": "a b@example.com", "password": "long enough password", "role": "viewer" }),
            "invalid_email",
            "email",
        ),
        (
            "/v1/orgs/default/users",
            json!({ "email": "big@example.com", "password": "p".repeat(5000), "role": "viewer" }),
            "weak_password",
            "1024",
        ),
    ];
    for (path, body, code_wanted, names) in cases {
        let (status, answer) = api.post(path, body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, code_wanted),
            "{path}: {answer}"
        );
        assert!(answer.to_string().contains(names), "{answer}");
    }
    // Notes and tags on a secret.
    let secret = format!("{web}/secrets/KEY?env=production");
    let (status, answer) = api
        .put(&secret, json!({ "value": "v", "note": "n".repeat(5000) }))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text")
    );
    assert!(answer.to_string().contains("4096"), "{answer}");
    let (status, answer) = api
        .put(&secret, json!({ "value": "v", "note": "bell\u{7}" }))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text")
    );
    let tags: Vec<String> = (0..33).map(|i| format!("t{i}")).collect();
    let (status, answer) = api
        .put(&secret, json!({ "value": "v", "tags": tags }))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded")
    );
    let (status, _) = api
        .put(
            &secret,
            json!({ "value": "v", "note": "two\nlines\tok", "tags": tags[..32] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A scope holds at most --max-secrets-per-scope secrets; edits and
/// deletions always work.
async fn entries_per_scope_are_capped(db: Db) {
    let Some(db) = TestDatabase::create(db).await else {
        return;
    };
    let s =
        TestServer::start_with(&db.url, [3u8; 32], |c| c.limits.max_entries_per_scope = 20).await;
    let api = Api::on(&s, s.admin());
    let web = api.project("web", &["production"]).await;
    let bulk = |from: usize, to: usize| {
        let set: Vec<Value> = (from..to)
            .map(|i| json!({ "name": format!("K{i:03}"), "value": "v" }))
            .collect();
        json!({ "set": set })
    };
    let secrets = format!("{web}/secrets?env=production");
    let (status, answer) = api.post(&secrets, bulk(0, 21)).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded")
    );
    assert!(
        answer
            .to_string()
            .contains("21 would exceed the limit of 20")
            && answer.to_string().contains("--max-secrets-per-scope"),
        "{answer}"
    );
    let (status, _) = api.post(&secrets, bulk(0, 20)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .put(
            &format!("{web}/secrets/EXTRA?env=production"),
            json!({ "value": "v" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Editing, and adding one while deleting one, stay possible.
    let (status, _) = api
        .put(
            &format!("{web}/secrets/K000?env=production"),
            json!({ "value": "w" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .post(
            &secrets,
            json!({ "set": [{ "name": "NEW", "value": "v" }], "delete": ["K001"] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Another level of the project has its own count.
    let (status, _) = api
        .put(&format!("{web}/secrets/SHARED"), json!({ "value": "v" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    s.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_per_scope_are_capped_sqlite() {
    entries_per_scope_are_capped(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_per_scope_are_capped_postgres() {
    entries_per_scope_are_capped(Db::Postgres).await;
}

/// The review's low items: import errors, negative versions, headers.
async fn small_holes_stay_closed(env: &TestEnv) {
    let s = &env.server;
    let api = Api::admin(env);
    let web = api.project("web", &["production"]).await;

    // An import error says where, never what the line held.
    let response = s
        .request(
            reqwest::Method::POST,
            &format!("{web}/import?env=production&format=dotenv"),
            s.admin(),
        )
        .body("A=1\nghp_pastedTokenValue123\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = response.text().await.unwrap();
    assert!(text.contains("line 2") && !text.contains("ghp_"), "{text}");

    // A negative expected_version is refused, not taken as "no check".
    let secret = format!("{web}/secrets/A?env=production");
    api.put(&secret, json!({ "value": "1" })).await;
    for (path, body) in [
        (
            secret.clone(),
            json!({ "value": "2", "expected_version": -1 }),
        ),
        (
            format!("{web}/secrets?env=production"),
            json!({ "set": [{ "name": "B", "value": "2" }], "expected_version": -5 }),
        ),
    ] {
        let method = if path.contains("/secrets/A") {
            "PUT"
        } else {
            "POST"
        };
        let attempt = api.call(method.parse().unwrap(), &path, Some(body)).await;
        assert_eq!(
            refused(&attempt),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
            "{path}"
        );
    }
    let attempt = api
        .post(
            &format!("{web}/versions/1/restore?env=production&expected_version=-1"),
            json!({}),
        )
        .await;
    assert_eq!(
        refused(&attempt),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    let (_, list) = api.get(&format!("{web}/versions?env=production")).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing written: {list}");

    // Nothing is cached or sniffed: values, errors, the health check.
    for (path, token) in [
        (
            format!("{web}/secrets?env=production&reveal=plain"),
            s.admin(),
        ),
        ("/v1/orgs".to_owned(), "hush_wrong"),
        ("/health".to_owned(), s.admin()),
        ("/nowhere".to_owned(), s.admin()),
    ] {
        let response = s
            .request(reqwest::Method::GET, &path, token)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert!(
            !headers.contains_key("strict-transport-security"),
            "plain HTTP: {path}"
        );
    }
}
