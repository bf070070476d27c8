//! The surfaces together: the route table, each surface's error shape
//! for refusals (rate limits, unknown paths, wrong methods), the audit
//! action of every route, the OpenAPI document.

use hush_testkit::{code, Api, TestDatabase, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Over the per-token or per-IP rate: 429 with Retry-After, in each API's
/// error shape; other tokens are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after() {
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server = TestServer::start_with(&db.url, [1u8; 32], |config| {
        config.rate_limits = hush_server::ratelimit::RateLimits {
            per_token: Some(hush_server::ratelimit::Rate {
                per_second: 0.5,
                burst: 3.0,
            }),
            per_ip: Some(hush_server::ratelimit::Rate {
                per_second: 100.0,
                burst: 100.0,
            }),
        };
    })
    .await;
    let admin = Api {
        s: &server,
        token: server.admin().to_owned(),
    };
    admin.project("web", &["production"]).await; // two requests
    assert_eq!(admin.get("/v1/orgs").await.0, StatusCode::OK); // the burst's third
    let (status, body) = admin.get("/v1/orgs").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
    );
    let resp = server
        .request(Method::GET, "/v1/orgs", server.admin())
        .send()
        .await
        .unwrap();
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // The pull API answers in its own shape.
    let resp = server
        .anonymous(
            Method::GET,
            &format!(
                "/api/v1/secrets/pull?env=production&token={}",
                server.admin()
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "RATE_LIMITED");
    // Another token has its own bucket; IP limits still apply to everyone.
    let resp = server
        .request(Method::GET, "/v1/orgs", "hush_someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    server.stop().await;
    db.drop_db().await;
}

/// `/v1/openapi.json` is OpenAPI 3, generated from the handlers, and every
/// operation it documents is served (no anonymous call to one falls
/// through to "no such endpoint").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_routes() {
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server = TestServer::start_on(&db.url, [5u8; 32]).await;
    let resp = server
        .anonymous(Method::GET, "/v1/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let secrets = &paths["/v1/orgs/{org}/projects/{project}/secrets"];
    assert!(secrets["get"].is_object() && secrets["post"].is_object());
    assert!(doc["components"]["schemas"]["SecretList"].is_object());
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // DotEnv's routes and its key scheme are documented too.
    let store = &paths["/api/v1/{organization}/secrets/store"]["post"];
    assert_eq!(store["tags"], json!(["DotEnv"]), "{store}");
    assert!(doc["components"]["schemas"]["StoreBody"]["properties"]["key_proof"].is_object());
    assert!(doc["components"]["schemas"]["DotenvError"].is_object());
    let bulk = &paths["/api/v1/secrets/projects/{id}/secrets/bulk"]["post"];
    assert_eq!(bulk["tags"], json!(["Hep.gg dashboard"]), "{bulk}");
    assert!(doc["components"]["schemas"]["BulkBody"].is_object());
    assert!(doc["components"]["securitySchemes"]["session"].is_object());
    let tag = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "DotEnv")
        .unwrap();
    let scheme = tag["description"].as_str().unwrap();
    assert!(
        scheme.contains("PBKDF2-HMAC-SHA256") && scheme.contains("hush-dotenv-exchange-v1"),
        "{scheme}"
    );
    let mut operations = 0;
    for (path, item) in paths {
        let concrete = path
            .replace("{org}", "default")
            .replace("{organization}", "default")
            .replace("{project}", "p")
            .replace("{version}", "1")
            .replace(['{', '}'], "");
        for method in ["get", "post", "put", "delete"] {
            if !item[method].is_object() {
                continue;
            }
            operations += 1;
            let resp = server
                .anonymous(method.parse().unwrap(), &concrete)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let message = body["error"]["message"]
                .as_str()
                .or(body["message"].as_str())
                .unwrap_or("");
            assert!(
                !(status == StatusCode::NOT_FOUND && message.contains("no such endpoint")),
                "{method} {path} is documented but not served"
            );
        }
    }
    assert!(operations >= 35, "{operations} operations documented");
    server.stop().await;
}

/// A sample value for each `{param}` of a route template.
fn sample(template: &str) -> String {
    template
        .split('/')
        .map(|segment| match segment {
            "{org}" => "default",
            "{version}" => "1",
            s if s.starts_with('{') => "x1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The audit entries (of the whole log, organizations or not) made by
/// requests with this user agent prefix: user agent → action.
async fn actions_by_agent(
    server: &TestServer,
    prefix: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut found = std::collections::BTreeMap::new();
    let mut before = None;
    loop {
        let page = server
            .store()
            .audit(&hush_store::AuditQuery {
                before_seq: before,
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap();
        for record in &page {
            if record.entry.user_agent.starts_with(prefix) {
                found.insert(record.entry.user_agent.clone(), record.entry.action.clone());
            }
        }
        match page.last() {
            Some(last) => before = Some(last.seq),
            None => return found,
        }
    }
}

/// Every declared route of every surface, called without credentials: it
/// is answered by that route (its declared action is in the audit log:
/// not shadowed by another surface's route, not an unknown path), in its
/// surface's error shape, and a route that needs credentials says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_declared_route_answers_as_declared() {
    use hush_server::api::surface::{Auth, RouteTable, Surface};
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server = TestServer::start_on(&db.url, [2u8; 32]).await;
    let table = RouteTable::new().unwrap();
    let mut expected = std::collections::BTreeMap::new();
    // Redirects are answers here (the dashboard sends strangers to sign in).
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (i, (surface, route)) in table.routes().enumerate() {
        let agent = format!("route-walk/{i:03}");
        let path = sample(route.path);
        let response = http
            .request(route.method.clone(), format!("{}{path}", server.url))
            .header("user-agent", &agent)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let what = format!("{} {} → {status} {kind} {body}", route.method, route.path);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
        if route.auth != Auth::None {
            // Vault answers 403 "permission denied" where others say 401;
            // the dashboard's pages send a stranger to sign in.
            let refused = match surface {
                Surface::VaultKv => StatusCode::FORBIDDEN,
                Surface::Dashboard => StatusCode::SEE_OTHER,
                _ => StatusCode::UNAUTHORIZED,
            };
            assert!(
                status == refused || status == StatusCode::BAD_REQUEST,
                "a route that needs credentials refuses none: {what}"
            );
        }
        if !status.is_success() {
            match surface {
                Surface::Native | Surface::Hooklistener => {
                    assert!(body["error"]["code"].is_string(), "{what}")
                }
                Surface::InsForge => assert!(
                    body["error"].is_string() && body["statusCode"].is_number(),
                    "{what}"
                ),
                Surface::HepGg | Surface::HepGgDashboard => {
                    assert_eq!(body["ok"], false, "{what}")
                }
                Surface::VaultEnv => {
                    assert!(
                        body["error"].is_string() && body["code"].is_string(),
                        "{what}"
                    )
                }
                Surface::VaultKv => assert!(body["errors"].is_array(), "{what}"),
                Surface::Dashboard => assert!(
                    status == StatusCode::SEE_OTHER || kind.starts_with("text/html"),
                    "{what}"
                ),
                Surface::Dotenv => assert!(
                    body["error"].is_string() && body["message"].is_string(),
                    "{what}"
                ),
            }
        }
        expected.insert(agent, route.action.to_owned());
    }
    let recorded = actions_by_agent(&server, "route-walk/").await;
    assert_eq!(
        recorded, expected,
        "each request audited with its route's action"
    );
    server.stop().await;
    db.drop_db().await;
}

/// The routes the five seeds document (and hush's own pull), called as a
/// client would: each reaches the surface serving it, or, for the seeds
/// whose surfaces are not built yet, no surface claims it (it is an
/// unknown route, not a 405 from a neighbour on the same prefix).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_seed_routes_reach_their_surface() {
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server = TestServer::start_on(&db.url, [2u8; 32]).await;
    let org = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let id = "4b0c8a9e-3f1e-4d5b-9f2a-6c7d8e9f0a1b";
    let routes: Vec<(Method, String, &str)> = vec![
        // Hep.gg
        (
            Method::GET,
            "/api/v1/secrets/pull?env=production".into(),
            "secret.pull",
        ),
        // Hep.gg's dashboard API
        (
            Method::GET,
            "/api/v1/secrets/projects".into(),
            "project.list",
        ),
        (
            Method::POST,
            "/api/v1/secrets/projects".into(),
            "project.create",
        ),
        (
            Method::PATCH,
            format!("/api/v1/secrets/projects/{id}"),
            "project.rename",
        ),
        (
            Method::DELETE,
            format!("/api/v1/secrets/projects/{id}"),
            "project.delete",
        ),
        (
            Method::GET,
            format!("/api/v1/secrets/projects/{id}/environments"),
            "environment.list",
        ),
        (
            Method::POST,
            format!("/api/v1/secrets/projects/{id}/environments"),
            "environment.create",
        ),
        (
            Method::GET,
            format!("/api/v1/secrets/projects/{id}/secrets"),
            "secret.matrix",
        ),
        (
            Method::PUT,
            format!("/api/v1/secrets/projects/{id}/secrets/cell"),
            "secret.write",
        ),
        (
            Method::POST,
            format!("/api/v1/secrets/projects/{id}/secrets/bulk"),
            "secret.import",
        ),
        (
            Method::POST,
            format!("/api/v1/secrets/projects/{id}/secrets/copy"),
            "secret.copy",
        ),
        (
            Method::GET,
            format!("/api/v1/secrets/projects/{id}/tokens"),
            "token.list",
        ),
        (
            Method::POST,
            format!("/api/v1/secrets/projects/{id}/tokens"),
            "token.create",
        ),
        (
            Method::GET,
            format!("/api/v1/secrets/projects/{id}/audit"),
            "audit.read",
        ),
        // vault-env
        (
            Method::POST,
            "/api/v1/project/create".into(),
            "vaultenv.project.create",
        ),
        (
            Method::POST,
            "/api/v1/project/set-key".into(),
            "vaultenv.project.set_key",
        ),
        (Method::POST, "/api/v1/secrets/push".into(), "vaultenv.push"),
        (Method::POST, "/api/v1/secrets/pull".into(), "vaultenv.pull"),
        (
            Method::POST,
            "/api/v1/secrets/current-version".into(),
            "vaultenv.current_version",
        ),
        (
            Method::POST,
            "/api/v1/secrets/versions".into(),
            "vaultenv.versions",
        ),
        (
            Method::POST,
            "/api/v1/secrets/rollback".into(),
            "vaultenv.rollback",
        ),
        (
            Method::POST,
            "/api/v1/devices/register".into(),
            "vaultenv.device.register",
        ),
        (
            Method::POST,
            "/api/v1/devices/approve".into(),
            "vaultenv.device.approve",
        ),
        (
            Method::POST,
            "/api/v1/devices/list".into(),
            "vaultenv.device.list",
        ),
        (
            Method::POST,
            "/api/v1/devices/revoke".into(),
            "vaultenv.device.revoke",
        ),
        // DotEnv
        (
            Method::GET,
            format!("/api/v1/{org}/my-app/secrets"),
            "secret.read",
        ),
        (
            Method::GET,
            format!("/api/v1/{org}/my-app/backend/secrets"),
            "secret.read",
        ),
        (
            Method::GET,
            format!("/api/v1/{org}/my-app/backend/production/secrets"),
            "secret.read",
        ),
        (
            Method::POST,
            format!("/api/v1/{org}/secrets/retrieve"),
            "secret.read",
        ),
        (
            Method::POST,
            format!("/api/v1/{org}/secrets/store"),
            "secret.write",
        ),
        (
            Method::POST,
            format!("/api/v1/{org}/secrets/delete"),
            "secret.clear",
        ),
        // A project named like DotEnv's fixed segment still reads.
        (
            Method::GET,
            format!("/api/v1/{org}/secrets/secrets"),
            "secret.read",
        ),
        // Hooklistener: ids never look like vault-env's fixed segments.
        (Method::GET, "/api/v1/secrets".into(), "orgsecret.list"),
        (Method::POST, "/api/v1/secrets".into(), "orgsecret.create"),
        (
            Method::GET,
            format!("/api/v1/secrets/{id}/value"),
            "orgsecret.read",
        ),
        (
            Method::PUT,
            format!("/api/v1/secrets/{id}"),
            "orgsecret.update",
        ),
        (
            Method::DELETE,
            format!("/api/v1/secrets/{id}"),
            "orgsecret.delete",
        ),
        // InsForge
        (Method::GET, "/api/secrets".into(), "orgsecret.list"),
        (Method::POST, "/api/secrets".into(), "orgsecret.create"),
        (
            Method::GET,
            "/api/secrets/STRIPE_API_KEY".into(),
            "orgsecret.read",
        ),
        (
            Method::PUT,
            "/api/secrets/STRIPE_API_KEY".into(),
            "orgsecret.update",
        ),
        (
            Method::DELETE,
            "/api/secrets/STRIPE_API_KEY".into(),
            "orgsecret.delete",
        ),
        // hush's own pull
        (Method::GET, "/v1/pull?env=production".into(), "secret.pull"),
        (
            Method::GET,
            "/v1/orgs/default/projects/web/pull?env=production".into(),
            "secret.pull",
        ),
    ];
    let mut expected = std::collections::BTreeMap::new();
    for (i, (method, path, action)) in routes.iter().enumerate() {
        let agent = format!("seed-walk/{i:03}");
        let status = server
            .http
            .request(method.clone(), format!("{}{path}", server.url))
            .header("user-agent", &agent)
            .json(&json!({}))
            .send()
            .await
            .unwrap()
            .status();
        if *action != "method_not_allowed" {
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
        expected.insert(agent, (*action).to_owned());
    }
    let recorded = actions_by_agent(&server, "seed-walk/").await;
    assert_eq!(recorded, expected);
    server.stop().await;
    db.drop_db().await;
}

/// Unknown paths and wrong methods answer in the shape of the surface
/// that owns the path; rate limits in the shape of the route's surface
/// (a vault-env push is not answered in Hep.gg's shape because both live
/// under `/api/v1/secrets/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_in_each_surfaces_shape() {
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server = TestServer::start_on(&db.url, [2u8; 32]).await;
    let send = |method: Method, path: &'static str| {
        let request = server
            .http
            .request(method, format!("{}{path}", server.url))
            .json(&json!({}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = send(Method::GET, "/v1/nope").await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (status, body) = send(Method::POST, "/api/v1/project/nope").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert!(body["error"].is_string(), "vault-env's shape: {body}");
    let (status, body) = send(Method::GET, "/api/v1/project/create").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (status, body) = send(Method::PUT, "/api/v1/secrets/pull").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    let (status, body) = send(Method::DELETE, "/v1/orgs").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
    );
    server.stop().await;

    // One IP, a tiny budget: every surface answers 429 in its own shape.
    let server = TestServer::start_with(&db.url, [2u8; 32], |config| {
        config.rate_limits = hush_server::ratelimit::RateLimits {
            per_token: None,
            per_ip: Some(hush_server::ratelimit::Rate {
                per_second: 0.01,
                burst: 1.0,
            }),
        };
    })
    .await;
    let send = |method: Method, path: &'static str| {
        let request = server
            .http
            .request(method, format!("{}{path}", server.url))
            .json(&json!({}));
        async move {
            let response = request.send().await.unwrap();
            let retry = response.headers().contains_key("retry-after");
            (
                response.status(),
                retry,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    send(Method::GET, "/v1/orgs").await; // the one request the budget allows
    let (status, retry, body) = send(Method::GET, "/v1/orgs").await;
    assert_eq!(
        (status, retry, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, true, "rate_limited")
    );
    let (status, retry, body) = send(Method::GET, "/api/v1/secrets/pull?env=x").await;
    assert_eq!((status, retry), (StatusCode::TOO_MANY_REQUESTS, true));
    assert_eq!(
        (body["ok"].as_bool(), body["error"].as_str()),
        (Some(false), Some("RATE_LIMITED"))
    );
    let (status, retry, body) = send(Method::POST, "/api/v1/secrets/push").await;
    assert_eq!((status, retry), (StatusCode::TOO_MANY_REQUESTS, true));
    assert_eq!(body["code"], "rate_limited", "vault-env's shape: {body}");
    assert!(
        body["error"].is_string() && body.get("ok").is_none(),
        "{body}"
    );
    server.stop().await;
    db.drop_db().await;
}
