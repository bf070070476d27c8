//! Organization secrets through the Hooklistener and InsForge APIs: every
//! curl example of both seeds replayed (ids and tokens substituted), the
//! seed's bodies compared exactly, the documented errors, one store across
//! surfaces, keys and JWTs that cannot reach further than they should, and
//! no list response anywhere that carries a value.

use hush_testkit::{code, Api, TestEnv};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

hush_testkit::on_both_backends!(
    insforge_curl_examples_answer_as_documented,
    hooklistener_curl_examples_answer_as_documented,
    one_store_across_surfaces,
    jwts_and_keys_reach_no_further,
    no_list_response_carries_a_value,
);

/// A raw call: status and body text.
async fn call(
    env: &TestEnv,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> (StatusCode, String) {
    let mut request = env
        .server
        .http
        .request(method, format!("{}{path}", env.server.url))
        .header("Authorization", format!("Bearer {token}"));
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// An admin JWT from hush, for InsForge.
async fn admin_jwt(api: &Api<'_>) -> String {
    let (status, body) = api
        .post("/v1/orgs/default/insforge/tokens", json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// A Hooklistener API key.
async fn hklst_key(api: &Api<'_>, access: &str) -> String {
    let key = api
        .token(json!({ "name": "hooks", "kind": "hooklistener", "access": access }))
        .await;
    assert!(key.starts_with("hklst_"), "{key}");
    key
}

/// InsForge's examples in the seed's order, each body as the seed prints
/// it (compact, fields in its order).
async fn insforge_curl_examples_answer_as_documented(env: &TestEnv) {
    let api = Api::admin(env);
    let jwt = admin_jwt(&api).await;
    let t = jwt.as_str();

    // Create.
    let (status, text) = call(
        env,
        Method::POST,
        "/api/secrets",
        t,
        Some(r#"{"key": "STRIPE_API_KEY", "value": "sk_live_...", "isReserved": false}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = parsed(&text)["id"].as_str().unwrap().to_owned();
    assert_eq!(
        text,
        format!(
            r#"{{"success":true,"message":"Secret STRIPE_API_KEY has been created successfully","id":"{id}"}}"#
        )
    );
    // Its documented errors.
    for (body, status, expected) in [
        (
            r#"{"key": "STRIPE_API_KEY"}"#,
            400,
            r#"{"error":"INVALID_INPUT","message":"Both key and value are required","statusCode":400}"#,
        ),
        (
            r#"{"key": "stripe-key", "value": "x"}"#,
            400,
            r#"{"error":"INVALID_INPUT","message":"Invalid key format. Use uppercase letters, numbers, and underscores only (e.g., STRIPE_API_KEY)","statusCode":400}"#,
        ),
        (
            r#"{"key": "STRIPE_API_KEY", "value": "again"}"#,
            409,
            r#"{"error":"INVALID_INPUT","message":"Secret already exists: STRIPE_API_KEY","statusCode":409}"#,
        ),
    ] {
        let (got, text) = call(env, Method::POST, "/api/secrets", t, Some(body)).await;
        assert_eq!((got.as_u16(), text.as_str()), (status, expected), "{body}");
    }
    // A key InsForge's rule allows but hush's shared one does not: the
    // rule is named.
    let (got, text) = call(
        env,
        Method::POST,
        "/api/secrets",
        t,
        Some(r#"{"key": "1PASSWORD", "value": "x"}"#),
    )
    .await;
    assert_eq!(got, StatusCode::BAD_REQUEST);
    assert!(text.contains("^[A-Z][A-Z0-9_]*$"), "{text}");

    // List (metadata only), newest first.
    call(
        env,
        Method::POST,
        "/api/secrets",
        t,
        Some(r#"{"key": "OPENAI_API_KEY", "value": "sk-openai", "isReserved": true, "expiresAt": "2099-01-20T09:15:00Z"}"#),
    )
    .await;
    let (status, text) = call(env, Method::GET, "/api/secrets", t, None).await;
    assert_eq!(status, StatusCode::OK);
    let list = parsed(&text);
    let items = list["secrets"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["key"], "OPENAI_API_KEY");
    assert_eq!(items[0]["isReserved"], true);
    assert_eq!(items[0]["expiresAt"], "2099-01-20T09:15:00.000Z");
    assert_eq!(items[1]["id"], id.as_str());
    let fields: Vec<&str> = text
        .split("\"secrets\":[{")
        .nth(1)
        .unwrap()
        .split(',')
        .filter_map(|f| f.split('"').nth(1))
        .collect();
    assert_eq!(
        &fields[..7],
        [
            "id",
            "key",
            "isActive",
            "isReserved",
            "createdAt",
            "updatedAt",
            "expiresAt"
        ]
    );

    // Get a value; a missing key.
    let (status, text) = call(env, Method::GET, "/api/secrets/STRIPE_API_KEY", t, None).await;
    assert_eq!(
        (status, text.as_str()),
        (
            StatusCode::OK,
            r#"{"key":"STRIPE_API_KEY","value":"sk_live_..."}"#
        )
    );
    let not_found =
        r#"{"error":"NOT_FOUND","message":"Secret not found: INVALID_KEY","statusCode":404}"#;
    let (status, text) = call(env, Method::GET, "/api/secrets/INVALID_KEY", t, None).await;
    assert_eq!((status, text.as_str()), (StatusCode::NOT_FOUND, not_found));

    // Update a value; deactivate; a missing key.
    let updated =
        r#"{"success":true,"message":"Secret STRIPE_API_KEY has been updated successfully"}"#;
    for body in [
        r#"{"value": "sk_live_new_key..."}"#,
        r#"{"isActive": false}"#,
    ] {
        let (status, text) = call(
            env,
            Method::PUT,
            "/api/secrets/STRIPE_API_KEY",
            t,
            Some(body),
        )
        .await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, updated));
    }
    // An inactive secret reads as missing.
    let (status, _) = call(env, Method::GET, "/api/secrets/STRIPE_API_KEY", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, text) = call(
        env,
        Method::PUT,
        "/api/secrets/INVALID_KEY",
        t,
        Some(r#"{"value": "x"}"#),
    )
    .await;
    assert_eq!((status, text.as_str()), (StatusCode::NOT_FOUND, not_found));
    // expiresAt: null clears the expiry.
    call(
        env,
        Method::PUT,
        "/api/secrets/OPENAI_API_KEY",
        t,
        Some(r#"{"expiresAt": null}"#),
    )
    .await;
    let (_, text) = call(env, Method::GET, "/api/secrets", t, None).await;
    assert_eq!(parsed(&text)["secrets"][0]["expiresAt"], Value::Null);

    // Delete: reserved refused; a soft delete; a missing key.
    let (status, text) = call(env, Method::DELETE, "/api/secrets/OPENAI_API_KEY", t, None).await;
    assert_eq!(
        (status, text.as_str()),
        (
            StatusCode::FORBIDDEN,
            r#"{"error":"FORBIDDEN","message":"Cannot delete reserved secret: OPENAI_API_KEY","statusCode":403}"#
        )
    );
    call(
        env,
        Method::PUT,
        "/api/secrets/STRIPE_API_KEY",
        t,
        Some(r#"{"isActive": true}"#),
    )
    .await;
    let (status, text) = call(env, Method::DELETE, "/api/secrets/STRIPE_API_KEY", t, None).await;
    assert_eq!(
        (status, text.as_str()),
        (
            StatusCode::OK,
            r#"{"success":true,"message":"Secret STRIPE_API_KEY has been deleted successfully"}"#
        )
    );
    let (_, text) = call(env, Method::GET, "/api/secrets", t, None).await;
    let stripe = parsed(&text)["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "STRIPE_API_KEY")
        .cloned()
        .unwrap();
    assert_eq!(stripe["isActive"], false, "soft delete keeps it, inactive");
    let (status, text) = call(env, Method::DELETE, "/api/secrets/INVALID_KEY", t, None).await;
    assert_eq!((status, text.as_str()), (StatusCode::NOT_FOUND, not_found));
    // Creating a soft-deleted key brings it back with the new value.
    let (status, _) = call(
        env,
        Method::POST,
        "/api/secrets",
        t,
        Some(r#"{"key": "STRIPE_API_KEY", "value": "sk_live_back"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, text) = call(env, Method::GET, "/api/secrets/STRIPE_API_KEY", t, None).await;
    assert_eq!(parsed(&text)["value"], "sk_live_back");
}

/// Hooklistener's examples, with a key hush issued.
async fn hooklistener_curl_examples_answer_as_documented(env: &TestEnv) {
    let api = Api::admin(env);
    let key = hklst_key(&api, "read-write").await;
    let k = key.as_str();
    let (status, text) = call(
        env,
        Method::POST,
        "/api/v1/secrets",
        k,
        Some(r#"{"secret": {"name": "STRIPE_WEBHOOK_SECRET", "value": "whsec_abc123..."}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let created = parsed(&text);
    let id = created["secret"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["secret"]["name"], "STRIPE_WEBHOOK_SECRET");
    assert!(created["secret"].get("value").is_none());

    let (status, text) = call(env, Method::GET, "/api/v1/secrets", k, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !text.contains("whsec_abc123"),
        "values are not in lists: {text}"
    );
    assert_eq!(parsed(&text)["secrets"][0]["id"], id.as_str());

    let (status, text) = call(
        env,
        Method::GET,
        &format!("/api/v1/secrets/{id}/value"),
        k,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let value = parsed(&text);
    assert_eq!(value["secret"]["value"], "whsec_abc123...");
    // The decryption time is the one in the audit log.
    let (_, audit) = api
        .get("/v1/orgs/default/audit?action=secret.decrypt&limit=5")
        .await;
    let audited = audit["entries"][0]["at"].as_str().unwrap();
    assert_eq!(value["secret"]["decrypted_at"], audited);

    let (status, _) = call(
        env,
        Method::PUT,
        &format!("/api/v1/secrets/{id}"),
        k,
        Some(r#"{"secret": {"value": "whsec_new_value..."}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, text) = call(
        env,
        Method::GET,
        &format!("/api/v1/secrets/{id}/value"),
        k,
        None,
    )
    .await;
    assert_eq!(parsed(&text)["secret"]["value"], "whsec_new_value...");

    // Names follow ^[A-Z][A-Z0-9_]*$ and are unique.
    for (name, status) in [
        ("stripe_secret", StatusCode::UNPROCESSABLE_ENTITY),
        ("1ST", StatusCode::UNPROCESSABLE_ENTITY),
        ("STRIPE_WEBHOOK_SECRET", StatusCode::CONFLICT),
    ] {
        let body = json!({ "secret": { "name": name, "value": "v" } }).to_string();
        let (got, text) = call(env, Method::POST, "/api/v1/secrets", k, Some(&body)).await;
        assert_eq!(got, status, "{name}: {text}");
    }

    let (status, _) = call(
        env,
        Method::DELETE,
        &format!("/api/v1/secrets/{id}"),
        k,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        env,
        Method::GET,
        &format!("/api/v1/secrets/{id}/value"),
        k,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A read-only key reads and cannot write.
    let reader = hklst_key(&api, "read").await;
    let (status, _) = call(
        env,
        Method::POST,
        "/api/v1/secrets",
        &reader,
        Some(r#"{"secret": {"name": "X", "value": "v"}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(env, Method::GET, "/api/v1/secrets", &reader, None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Created through Hooklistener, read through InsForge, the native API
/// and its version log; soft-deleted through InsForge, inactive in
/// Hooklistener's metadata; expired, reported so and left out of pulls;
/// native writes keep the shared name rule.
async fn one_store_across_surfaces(env: &TestEnv) {
    let api = Api::admin(env);
    let key = hklst_key(&api, "read-write").await;
    let jwt = admin_jwt(&api).await;
    let (_, text) = call(
        env,
        Method::POST,
        "/api/v1/secrets",
        &key,
        Some(r#"{"secret": {"name": "GITHUB_WEBHOOK_SECRET", "value": "gh_shared"}}"#),
    )
    .await;
    let id = parsed(&text)["secret"]["id"].as_str().unwrap().to_owned();
    let (_, text) = call(
        env,
        Method::GET,
        "/api/secrets/GITHUB_WEBHOOK_SECRET",
        &jwt,
        None,
    )
    .await;
    assert_eq!(parsed(&text)["value"], "gh_shared");
    let base = "/v1/orgs/default/projects/org-secrets";
    let (_, native) = api
        .get(&format!(
            "{base}/secrets/GITHUB_WEBHOOK_SECRET?reveal=plain"
        ))
        .await;
    assert_eq!(native["value"], "gh_shared");
    let (_, versions) = api.get(&format!("{base}/versions")).await;
    assert_eq!(versions.as_array().unwrap().len(), 1);

    call(
        env,
        Method::DELETE,
        "/api/secrets/GITHUB_WEBHOOK_SECRET",
        &jwt,
        None,
    )
    .await;
    let (_, text) = call(
        env,
        Method::GET,
        &format!("/api/v1/secrets/{id}"),
        &key,
        None,
    )
    .await;
    assert_eq!(parsed(&text)["secret"]["active"], false, "{text}");
    let (_, versions) = api.get(&format!("{base}/versions")).await;
    assert_eq!(
        versions.as_array().unwrap().len(),
        2,
        "every write is a version"
    );

    // Expired: reported, unreadable, not pulled.
    call(
        env,
        Method::POST,
        "/api/secrets",
        &jwt,
        Some(r#"{"key": "OLD_TOKEN", "value": "gone", "expiresAt": "2020-01-01T00:00:00Z"}"#),
    )
    .await;
    call(
        env,
        Method::POST,
        "/api/secrets",
        &jwt,
        Some(r#"{"key": "LIVE_TOKEN", "value": "here"}"#),
    )
    .await;
    let (_, text) = call(env, Method::GET, "/api/v1/secrets", &key, None).await;
    let old = parsed(&text)["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "OLD_TOKEN")
        .cloned()
        .unwrap();
    assert_eq!(old["expired"], true);
    let (status, _) = call(env, Method::GET, "/api/secrets/OLD_TOKEN", &jwt, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, pulled) = api.get(&format!("{base}/pull")).await;
    let pulled = pulled.to_string();
    assert!(
        pulled.contains("LIVE_TOKEN") && !pulled.contains("OLD_TOKEN"),
        "{pulled}"
    );
    assert!(
        !pulled.contains("GITHUB_WEBHOOK_SECRET"),
        "inactive: {pulled}"
    );

    // The native API keeps the rule both seeds accept.
    let (status, body) = api
        .put(
            &format!("{base}/secrets/lower_case"),
            json!({ "value": "x" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_name")
    );
    assert!(body.to_string().contains("^[A-Z][A-Z0-9_]*$"), "{body}");
}

/// An `hklst_` key of one organization finds nothing of another; it reads
/// no project and is refused by InsForge; JWTs that are expired, tampered,
/// signed with a rotated key or issued from a revoked token are 401; a
/// hush token without `org:admin` is 403.
async fn jwts_and_keys_reach_no_further(env: &TestEnv) {
    let api = Api::admin(env);
    api.project("web", &["production"]).await;
    api.put(
        "/v1/orgs/default/projects/web/secrets/WEB_ONLY?env=production",
        json!({ "value": "web" }),
    )
    .await;
    let key = hklst_key(&api, "read-write").await;
    let (status, _) = call(
        env,
        Method::GET,
        "/v1/orgs/default/projects/web/secrets?env=production&reveal=plain",
        &key,
        None,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "an hklst_ key reads no project"
    );
    let (status, _) = call(env, Method::GET, "/api/secrets", &key, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an hklst_ key is no admin");

    // Another organization and its secret.
    let (status, body) = api
        .post("/v1/orgs", json!({ "slug": "acme", "name": "Acme" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let acme_admin = body["token"].as_str().unwrap().to_owned();
    let acme = api.with(&acme_admin);
    let (status, body) = acme
        .post(
            "/v1/orgs/acme/tokens",
            json!({ "name": "h", "kind": "hooklistener", "access": "read-write" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let acme_key = body["token"].as_str().unwrap().to_owned();
    let (_, text) = call(
        env,
        Method::POST,
        "/api/v1/secrets",
        &acme_key,
        Some(r#"{"secret": {"name": "ACME_SECRET", "value": "acme"}}"#),
    )
    .await;
    let acme_id = parsed(&text)["secret"]["id"].as_str().unwrap().to_owned();
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let path = if method == Method::GET {
            format!("/api/v1/secrets/{acme_id}/value")
        } else {
            format!("/api/v1/secrets/{acme_id}")
        };
        let (status, _) = call(
            env,
            method.clone(),
            &path,
            &key,
            Some(r#"{"secret": {"value": "stolen"}}"#),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{method} of another organization's secret"
        );
    }

    // JWTs.
    let jwt = admin_jwt(&api).await;
    let (status, _) = call(env, Method::GET, "/api/secrets", &jwt, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    parts[1].insert(5, 'A');
    let (status, text) = call(env, Method::GET, "/api/secrets", &parts.join("."), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "tampered: {text}");
    assert_eq!(parsed(&text)["statusCode"], 401);
    // Expired: signed with the organization's real key, in the past.
    let org = env.server.store().organization("default").await.unwrap();
    let signing = env.server.store().jwt_key(&org.id).await.unwrap();
    let claims = hush_core::jwt::Claims {
        sub: parsed(
            &call(env, Method::GET, "/v1/whoami", env.server.admin(), None)
                .await
                .1,
        )["token"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        org: org.id.clone(),
        role: "admin".into(),
        iat: 1_000,
        exp: 2_000,
    };
    let expired = hush_core::jwt::sign(&signing, &claims);
    let (status, _) = call(env, Method::GET, "/api/secrets", &expired, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "expired");
    // Rotating the key ends every JWT issued before.
    let (status, _) = api
        .post("/v1/orgs/default/insforge/rotate-key", json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(env, Method::GET, "/api/secrets", &jwt, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "rotated");
    // A JWT from a token that is then revoked.
    let minter = api
        .token(json!({ "name": "minter", "scopes": ["org:admin", "secret:read", "secret:decrypt", "secret:write"] }))
        .await;
    let jwt = admin_jwt(&api.with(&minter)).await;
    let (status, _) = call(env, Method::GET, "/api/secrets", &jwt, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, tokens) = api.get("/v1/orgs/default/tokens").await;
    let id = tokens
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "minter")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.delete(&format!("/v1/orgs/default/tokens/{id}")).await;
    let (status, _) = call(env, Method::GET, "/api/secrets", &jwt, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "revoked underneath");
    // A hush token that is not an organization admin.
    let reader = api
        .token(json!({ "name": "r", "scopes": ["secret:read", "secret:decrypt"] }))
        .await;
    let (status, text) = call(env, Method::GET, "/api/secrets", &reader, None).await;
    assert_eq!(
        (status, parsed(&text)["error"].clone()),
        (StatusCode::FORBIDDEN, json!("FORBIDDEN"))
    );
    let (status, _) = api
        .with(&reader)
        .post("/v1/orgs/default/insforge/tokens", json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins get JWTs");
}

/// A unique value planted through each surface appears in no list
/// response of any surface.
async fn no_list_response_carries_a_value(env: &TestEnv) {
    let api = Api::admin(env);
    let key = hklst_key(&api, "read-write").await;
    let jwt = admin_jwt(&api).await;
    let marker = "MARKER_e3b0c44298fc1c149afbf4c8996fb924";
    call(
        env,
        Method::POST,
        "/api/secrets",
        &jwt,
        Some(&json!({ "key": "PLANTED_ONE", "value": marker }).to_string()),
    )
    .await;
    call(
        env,
        Method::POST,
        "/api/v1/secrets",
        &key,
        Some(&json!({ "secret": { "name": "PLANTED_TWO", "value": marker } }).to_string()),
    )
    .await;
    let admin = env.server.admin();
    for (path, token) in [
        ("/api/secrets", jwt.as_str()),
        ("/api/v1/secrets", key.as_str()),
        ("/v1/orgs/default/projects/org-secrets/secrets", admin),
        ("/v1/orgs/default/projects/org-secrets/versions", admin),
        ("/v1/orgs/default/projects", admin),
        ("/v1/orgs/default/tokens", admin),
        ("/v1/orgs/default/audit?limit=1000", admin),
        ("/v1/secret/metadata/org-secrets", admin),
        ("/v1/secret/metadata/?list=true", admin),
    ] {
        let (status, text) = call(env, Method::GET, path, token, None).await;
        assert!(status.is_success(), "{path}: {status} {text}");
        assert!(!text.contains(marker), "{path} carries a value: {text}");
    }
    // Where values are asked for, they are there (the marker is real).
    let (_, text) = call(env, Method::GET, "/api/secrets/PLANTED_ONE", &jwt, None).await;
    assert!(text.contains(marker));
}
