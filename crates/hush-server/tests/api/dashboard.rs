//! Hep.gg's dashboard API (`/api/v1/secrets/projects…`): every route
//! driven with a browser session cookie and with a bearer token, CSRF and
//! origin checks on cookie changes, sessions that end at logout and at the
//! user's removal, disabled pull tokens, the refusals in Hep.gg's shape,
//! and the plans' limits on every surface.

use hush_testkit::{code, Api, TestDatabase, TestEnv, TestServer, USER_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

hush_testkit::on_both_backends!(
    every_route_with_a_cookie_and_with_a_bearer,
    cookie_changes_need_csrf_and_origin,
    sessions_end_at_logout_and_removal,
    disabled_tokens_cannot_pull,
    refusals_come_in_hepgg_shape,
    plans_limit_projects_and_environments_everywhere,
    oversized_values_are_refused_everywhere,
);

/// How a client authenticates.
enum Auth {
    /// A browser: the session cookie, its CSRF token, and this origin.
    Cookie {
        cookie: String,
        csrf: String,
        origin: String,
    },
    /// A script: a bearer token.
    Bearer(String),
}

struct Client<'a> {
    env: &'a TestEnv,
    auth: Auth,
}

impl<'a> Client<'a> {
    /// Signs in as a browser does.
    async fn browser(env: &'a TestEnv, email: &str) -> Client<'a> {
        let response = env
            .server
            .http
            .post(format!("{}/api/v1/secrets/session", env.server.url))
            .json(&json!({ "email": email, "password": USER_PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let set_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(set_cookie.contains(attribute), "{set_cookie}");
        }
        assert!(!set_cookie.contains("Secure"), "plain HTTP: {set_cookie}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["ok"], true);
        assert!(
            !body.to_string().contains("hush_"),
            "no token in the body: {body}"
        );
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        Client {
            env,
            auth: Auth::Cookie {
                cookie,
                csrf: body["data"]["csrfToken"].as_str().unwrap().to_owned(),
                origin: env.server.url.trim_end_matches('/').to_owned(),
            },
        }
    }

    fn bearer(env: &'a TestEnv, token: &str) -> Client<'a> {
        Client {
            env,
            auth: Auth::Bearer(token.to_owned()),
        }
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request = self
            .env
            .server
            .http
            .request(method, format!("{}{path}", self.env.server.url));
        request = match &self.auth {
            Auth::Cookie {
                cookie,
                csrf,
                origin,
            } => request
                .header("Cookie", cookie)
                .header("X-CSRF-Token", csrf)
                .header("Origin", origin),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn ok(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let (status, answer) = self.send(method.clone(), path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        assert_eq!(answer["ok"], true, "{answer}");
        answer["data"].clone()
    }
}

const BASE: &str = "/api/v1/secrets/projects";

/// The whole dashboard journey through one client; returns the project id.
async fn journey(client: &Client<'_>, name: &str) -> String {
    let env = client.env;
    let project = client
        .ok(Method::POST, BASE, Some(json!({ "name": name })))
        .await;
    let id = project["id"].as_str().unwrap().to_owned();
    assert_eq!(project["e2ee"], false);
    let slug = project["slug"].as_str().unwrap().to_owned();
    assert_eq!(slug, name.to_lowercase().replace(' ', "-"));
    let p = format!("{BASE}/{id}");
    for env_name in ["Production", "Staging"] {
        let created = client
            .ok(
                Method::POST,
                &format!("{p}/environments"),
                Some(json!({ "name": env_name })),
            )
            .await;
        assert_eq!(created["slug"], env_name.to_lowercase());
    }
    let envs = client
        .ok(Method::GET, &format!("{p}/environments"), None)
        .await;
    assert_eq!(envs.as_array().unwrap().len(), 2);

    // Cells, an import, a copy.
    let set = client
        .ok(
            Method::PUT,
            &format!("{p}/secrets/cell"),
            Some(
                json!({ "name": "DATABASE_URL", "env": "production", "value": "postgres://prod" }),
            ),
        )
        .await;
    assert_eq!(set["state"], "set");
    let imported = client
        .ok(
            Method::POST,
            &format!("{p}/secrets/bulk"),
            Some(json!({ "env": "staging", "content": "A=1\nB=2\n1BAD=x\n" })),
        )
        .await;
    assert_eq!(imported["added"], json!(["A", "B"]), "{imported}");
    assert_eq!(imported["rejected"][0]["name"], "1BAD", "{imported}");
    let again = client
        .ok(
            Method::POST,
            &format!("{p}/secrets/bulk"),
            Some(json!({ "env": "staging", "secrets": { "A": "1", "B": "3", "C": "4" } })),
        )
        .await;
    assert_eq!(
        (&again["added"], &again["changed"], &again["unchanged"]),
        (&json!(["C"]), &json!(["B"]), &json!(["A"])),
        "{again}"
    );
    assert_eq!(
        again["version"].as_i64(),
        Some(imported["version"].as_i64().unwrap() + 1)
    );
    let copied = client
        .ok(
            Method::POST,
            &format!("{p}/secrets/copy"),
            Some(json!({ "from": "staging", "to": "production" })),
        )
        .await;
    assert_eq!(copied["copied"], json!(["A", "B", "C"]), "{copied}");
    client
        .ok(
            Method::PUT,
            &format!("{p}/secrets/cell"),
            Some(json!({ "name": "C", "env": "production", "value": null })),
        )
        .await;

    // A project-level secret shows as inherited.
    let admin = Api::admin(env);
    let (status, body) = admin
        .put(
            &format!("/v1/orgs/default/projects/{slug}/secrets/SHARED"),
            json!({ "value": "everywhere" }),
        )
        .await;
    assert!(status.is_success(), "{body}");

    // The matrix: names only, then revealed.
    let matrix = client.ok(Method::GET, &format!("{p}/secrets"), None).await;
    let row = |m: &Value, name: &str| {
        m["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        row(&matrix, "DATABASE_URL")["cells"]["production"],
        json!({ "state": "set" })
    );
    assert_eq!(
        row(&matrix, "DATABASE_URL")["cells"]["staging"],
        json!({ "state": "missing" })
    );
    assert_eq!(
        row(&matrix, "SHARED")["cells"]["staging"]["state"],
        "inherited"
    );
    assert_eq!(row(&matrix, "C")["cells"]["production"]["state"], "missing");
    assert!(!matrix.to_string().contains("postgres://prod"), "{matrix}");
    let revealed = client
        .ok(Method::GET, &format!("{p}/secrets?reveal=true"), None)
        .await;
    assert_eq!(
        row(&revealed, "DATABASE_URL")["cells"]["production"]["value"],
        "postgres://prod"
    );
    assert_eq!(row(&revealed, "B")["cells"]["production"]["value"], "3");
    assert_eq!(
        row(&revealed, "SHARED")["cells"]["production"]["value"],
        "everywhere"
    );

    // A pull token, used.
    let token = client
        .ok(
            Method::POST,
            &format!("{p}/tokens"),
            Some(json!({ "name": "prod", "env": "production" })),
        )
        .await;
    let hsk = token["token"].as_str().unwrap().to_owned();
    assert!(hsk.starts_with("hsk_"), "{token}");
    assert_eq!(token["env"], "production");
    let listed = client.ok(Method::GET, &format!("{p}/tokens"), None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert!(!listed.to_string().contains(&hsk), "shown once");
    let (status, pulled) = Api::on(&env.server, &hsk).get("/api/v1/secrets/pull").await;
    assert_eq!(status, StatusCode::OK, "{pulled}");
    assert_eq!(pulled["data"]["secrets"]["DATABASE_URL"], "postgres://prod");
    assert_eq!(pulled["data"]["secrets"]["SHARED"], "everywhere");

    // Rename; the audit feed shows each step.
    let renamed = client
        .ok(
            Method::PATCH,
            &p,
            Some(json!({ "name": format!("{name} renamed") })),
        )
        .await;
    assert_eq!(renamed["name"], format!("{name} renamed"));
    assert_eq!(renamed["slug"], slug, "the slug stays");
    let feed = client.ok(Method::GET, &format!("{p}/audit"), None).await;
    let actions: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for expected in [
        "environment.create",
        "secret.write",
        "secret.import",
        "secret.copy",
        "secret.decrypt",
        "token.create",
        "secret.pull",
        "project.rename",
    ] {
        assert!(actions.contains(&expected), "{expected} not in {actions:?}");
    }
    id
}

async fn every_route_with_a_cookie_and_with_a_bearer(env: &TestEnv) {
    let admin = Api::admin(env);
    admin.user("ada@example.com", "admin").await;
    let browser = Client::browser(env, "ada@example.com").await;
    let session = browser
        .ok(Method::GET, "/api/v1/secrets/session", None)
        .await;
    assert_eq!(session["user"]["email"], "ada@example.com");
    assert!(session["csrfToken"].is_string());
    let by_cookie = journey(&browser, "Web App").await;

    // The same with a user's bearer token (a login session) and with an
    // API token.
    let login = admin.login("ada@example.com").await;
    let by_bearer = journey(&Client::bearer(env, &login.token), "Api Server").await;
    let by_token = journey(&Client::bearer(env, env.server.admin()), "Worker").await;
    let listed = browser.ok(Method::GET, BASE, None).await;
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    for id in [&by_cookie, &by_bearer, &by_token] {
        assert!(ids.contains(&id.as_str()), "{id} in {ids:?}");
    }
    // A second project of the same name gets the next slug.
    let twin = browser
        .ok(Method::POST, BASE, Some(json!({ "name": "Web App" })))
        .await;
    assert_eq!(twin["slug"], "web-app-2");
    // Deleting.
    let deleted = browser
        .ok(
            Method::DELETE,
            &format!("{BASE}/{}", twin["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(deleted["deleted"], true);
    let listed = browser.ok(Method::GET, BASE, None).await;
    assert_eq!(listed.as_array().unwrap().len(), 3);
}

async fn cookie_changes_need_csrf_and_origin(env: &TestEnv) {
    let admin = Api::admin(env);
    admin.user("ada@example.com", "admin").await;
    let browser = Client::browser(env, "ada@example.com").await;
    let Auth::Cookie {
        cookie,
        csrf,
        origin,
    } = &browser.auth
    else {
        unreachable!()
    };
    let url = format!("{}{BASE}", env.server.url);
    let http = &env.server.http;
    let attempts = [
        ("no CSRF token", vec![("Origin", origin.clone())]),
        (
            "a wrong CSRF token",
            vec![("Origin", origin.clone()), ("X-CSRF-Token", "0".repeat(64))],
        ),
        (
            "a foreign origin",
            vec![
                ("Origin", "https://evil.example".to_owned()),
                ("X-CSRF-Token", csrf.clone()),
            ],
        ),
        ("no origin at all", vec![("X-CSRF-Token", csrf.clone())]),
        (
            "a cross-site fetch",
            vec![
                ("X-CSRF-Token", csrf.clone()),
                ("Sec-Fetch-Site", "cross-site".to_owned()),
            ],
        ),
    ];
    for (what, headers) in attempts {
        let mut request = http
            .post(&url)
            .header("Cookie", cookie)
            .json(&json!({ "name": "Forged" }));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            (body["ok"].as_bool(), body["error"].as_str()),
            (Some(false), Some("CSRF_REJECTED")),
            "{what}: {body}"
        );
    }
    // A classic forged form post from another site.
    let response = http
        .post(&url)
        .header("Cookie", cookie)
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("name=Forged")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Nothing changed.
    let listed = browser.ok(Method::GET, BASE, None).await;
    assert_eq!(listed, json!([]), "{listed}");
    // Reads need no CSRF token; a same-origin fetch without Origin passes.
    let response = http
        .get(&url)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = http
        .post(&url)
        .header("Cookie", cookie)
        .header("X-CSRF-Token", csrf)
        .header("Sec-Fetch-Site", "same-origin")
        .json(&json!({ "name": "Real" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // A cookie holding anything but a login session is refused.
    let response = http
        .get(&url)
        .header("Cookie", format!("hush_session={}", env.server.admin()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn sessions_end_at_logout_and_removal(env: &TestEnv) {
    let admin = Api::admin(env);
    admin.user("ada@example.com", "admin").await;
    let user = admin.user("bob@example.com", "member").await;
    let ada = Client::browser(env, "ada@example.com").await;
    let bob = Client::browser(env, "bob@example.com").await;
    ada.ok(Method::GET, BASE, None).await;
    // Logout: the cookie is cleared and the session ends server-side.
    let Auth::Cookie {
        cookie,
        csrf,
        origin,
    } = &ada.auth
    else {
        unreachable!()
    };
    let response = env
        .server
        .http
        .delete(format!("{}/api/v1/secrets/session", env.server.url))
        .header("Cookie", cookie)
        .header("X-CSRF-Token", csrf)
        .header("Origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let (status, body) = ada.send(Method::GET, BASE, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("BAD_TOKEN"))
    );
    // Removing a user ends their sessions at once.
    bob.ok(Method::GET, BASE, None).await;
    let (status, _) = admin
        .delete(&format!("/v1/orgs/default/users/{user}"))
        .await;
    assert!(status.is_success());
    let (status, _) = bob.send(Method::GET, BASE, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn disabled_tokens_cannot_pull(env: &TestEnv) {
    let client = Client::bearer(env, env.server.admin());
    let project = client
        .ok(Method::POST, BASE, Some(json!({ "name": "web" })))
        .await;
    let p = format!("{BASE}/{}", project["id"].as_str().unwrap());
    client
        .ok(
            Method::POST,
            &format!("{p}/environments"),
            Some(json!({ "name": "production" })),
        )
        .await;
    client
        .ok(
            Method::PUT,
            &format!("{p}/secrets/cell"),
            Some(json!({ "name": "A", "env": "production", "value": "1" })),
        )
        .await;
    let token = client
        .ok(
            Method::POST,
            &format!("{p}/tokens"),
            Some(json!({ "name": "ci" })),
        )
        .await;
    let (id, hsk) = (
        token["id"].as_str().unwrap(),
        token["token"].as_str().unwrap(),
    );
    let puller = Api::on(&env.server, hsk);
    let pull = "/api/v1/secrets/pull?env=production";
    assert_eq!(puller.get(pull).await.0, StatusCode::OK);
    let disabled = client
        .ok(
            Method::PATCH,
            &format!("{p}/tokens/{id}"),
            Some(json!({ "disabled": true })),
        )
        .await;
    assert_eq!(disabled["disabled"], true);
    let (status, body) = puller.get(pull).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("BAD_TOKEN")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("disabled"),
        "{body}"
    );
    client
        .ok(
            Method::PATCH,
            &format!("{p}/tokens/{id}"),
            Some(json!({ "disabled": false })),
        )
        .await;
    let (status, body) = puller.get(pull).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["secrets"]["A"], "1");
    // Deleting revokes for good: enabling again is refused.
    client
        .ok(Method::DELETE, &format!("{p}/tokens/{id}"), None)
        .await;
    assert_eq!(puller.get(pull).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = client
        .send(
            Method::PATCH,
            &format!("{p}/tokens/{id}"),
            Some(json!({ "disabled": false })),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::CONFLICT, Some("TOKEN_REVOKED")),
        "{body}"
    );
    assert_eq!(puller.get(pull).await.0, StatusCode::UNAUTHORIZED);
    let listed = client.ok(Method::GET, &format!("{p}/tokens"), None).await;
    assert_eq!(listed, json!([]));
    // Natively revoked tokens cannot be enabled here either.
    let other = client
        .ok(
            Method::POST,
            &format!("{p}/tokens"),
            Some(json!({ "name": "old" })),
        )
        .await;
    let other_id = other["id"].as_str().unwrap();
    let (status, _) = Api::admin(env)
        .delete(&format!("/v1/orgs/default/tokens/{other_id}"))
        .await;
    assert!(status.is_success());
    let (status, _) = client
        .send(
            Method::PATCH,
            &format!("{p}/tokens/{other_id}"),
            Some(json!({ "disabled": false })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

async fn refusals_come_in_hepgg_shape(env: &TestEnv) {
    let admin = Api::admin(env);
    let client = Client::bearer(env, env.server.admin());
    let project = client
        .ok(Method::POST, BASE, Some(json!({ "name": "web" })))
        .await;
    let p = format!("{BASE}/{}", project["id"].as_str().unwrap());
    client
        .ok(
            Method::POST,
            &format!("{p}/environments"),
            Some(json!({ "name": "production" })),
        )
        .await;
    let hep = |body: &Value| {
        (
            body["ok"].as_bool(),
            body["error"].as_str().map(str::to_owned),
        )
    };

    // No session or token.
    let anonymous = env
        .server
        .http
        .get(format!("{}{BASE}", env.server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(hep(&body), (Some(false), Some("NO_TOKEN".to_owned())));
    // Another organization's admin: the project does not exist for it.
    let (status, created) = admin.post("/v1/orgs", json!({ "slug": "rival" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let rival = Client::bearer(env, created["token"].as_str().unwrap());
    for (method, path, body) in [
        (Method::GET, format!("{p}/secrets"), None),
        (
            Method::PUT,
            format!("{p}/secrets/cell"),
            Some(json!({ "name": "A", "env": "production", "value": "x" })),
        ),
        (Method::DELETE, p.clone(), None),
        (Method::GET, format!("{BASE}/not-an-id/tokens"), None),
    ] {
        let (status, body) = rival.send(method.clone(), &path, body).await;
        assert_eq!(
            (status, hep(&body)),
            (
                StatusCode::NOT_FOUND,
                (Some(false), Some("NOT_FOUND".to_owned()))
            ),
            "{method} {path}"
        );
    }
    // A viewer reads but does not write.
    admin.user("vic@example.com", "viewer").await;
    let viewer = Client::browser(env, "vic@example.com").await;
    viewer.ok(Method::GET, &format!("{p}/secrets"), None).await;
    let (status, body) = viewer
        .send(
            Method::PUT,
            &format!("{p}/secrets/cell"),
            Some(json!({ "name": "A", "env": "production", "value": "x" })),
        )
        .await;
    assert_eq!(
        (status, hep(&body)),
        (
            StatusCode::FORBIDDEN,
            (Some(false), Some("INSUFFICIENT_SCOPE".to_owned()))
        )
    );
    // Bad JSON, bad names, unknown fields.
    let response = env
        .server
        .http
        .post(format!("{}{BASE}", env.server.url))
        .bearer_auth(env.server.admin())
        .header("Content-Type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        hep(&response.json().await.unwrap()),
        (Some(false), Some("INVALID_JSON".to_owned()))
    );
    for (body, status, error) in [
        (
            json!({ "name": "1BAD", "env": "production", "value": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_NAME",
        ),
        (
            json!({ "name": "A", "env": "nope", "value": "x" }),
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
        ),
        (
            json!({ "name": "A", "env": "production", "value": "x", "extra": 1 }),
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_BODY",
        ),
    ] {
        let (got, answer) = client
            .send(
                Method::PUT,
                &format!("{p}/secrets/cell"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(
            (got, hep(&answer)),
            (status, (Some(false), Some(error.to_owned()))),
            "{body}: {answer}"
        );
    }
    let matrix = client.ok(Method::GET, &format!("{p}/secrets"), None).await;
    assert_eq!(matrix["secrets"], json!([]), "nothing stored");
    // An end-to-end-encrypted project needs its creator's metadata.
    let (status, body) = client
        .send(
            Method::POST,
            BASE,
            Some(json!({ "name": "x", "e2ee": true })),
        )
        .await;
    assert_eq!(
        (status, hep(&body)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            (Some(false), Some("INVALID_E2EE_META".to_owned()))
        )
    );
}

/// Three short projects, then the limits of `plan`.
async fn plans_limit_projects_and_environments_everywhere(env: &TestEnv) {
    let admin = Api::admin(env);
    let client = Client::bearer(env, env.server.admin());
    // Admins who are not owners cannot change the plan.
    admin.user("ada@example.com", "admin").await;
    let ada = admin.login("ada@example.com").await;
    let (status, body) = ada
        .call(
            Method::PATCH,
            "/v1/orgs/default",
            Some(json!({ "plan": "free" })),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "token_escalation"),
        "{body}"
    );
    let (status, org) = admin
        .call(
            Method::PATCH,
            "/v1/orgs/default",
            Some(json!({ "plan": "free" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(
        (
            org["plan"].as_str(),
            org["max_projects"].as_u64(),
            org["max_environments"].as_u64()
        ),
        (Some("free"), Some(15), Some(2))
    );
    for i in 0..15 {
        let (status, body) = admin
            .post(
                "/v1/orgs/default/projects",
                json!({ "slug": format!("p{i}") }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "project {i}: {body}");
    }
    // The 16th: refused on every surface that creates projects.
    let (status, body) = admin
        .post("/v1/orgs/default/projects", json!({ "slug": "p15" }))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded"),
        "{body}"
    );
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("free") && message.contains("15 projects"),
        "{message}"
    );
    let (status, body) = client
        .send(Method::POST, BASE, Some(json!({ "name": "p15" })))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("LIMIT_EXCEEDED")),
        "{body}"
    );
    let (status, body) = admin
        .post(
            "/v1/secret/data/p15/production",
            json!({ "data": { "A": "1" } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "Vault's shape: {body}");
    assert!(
        body["errors"][0].as_str().unwrap().contains("15 projects"),
        "{body}"
    );
    // Organization secrets do not count.
    let (status, body) = admin
        .put(
            "/v1/orgs/default/projects/org-secrets/secrets/SHARED_KEY",
            json!({ "value": "1" }),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (_, listed) = admin.get("/v1/orgs/default/projects").await;
    assert_eq!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["slug"] != "org-secrets")
            .count(),
        15
    );

    // Environments: two per project.
    for name in ["production", "staging"] {
        let (status, body) = admin
            .post(
                "/v1/orgs/default/projects/p0/environments",
                json!({ "slug": name }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = admin
        .post(
            "/v1/orgs/default/projects/p0/environments",
            json!({ "slug": "dev" }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "limit_exceeded"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 environments per project"),
        "{body}"
    );
    let (_, projects) = client.send(Method::GET, BASE, None).await;
    let p0 = projects["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == "p0")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = client
        .send(
            Method::POST,
            &format!("{BASE}/{p0}/environments"),
            Some(json!({ "name": "dev" })),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("LIMIT_EXCEEDED"))
    );
    let (_, envs) = admin.get("/v1/orgs/default/projects/p0/environments").await;
    assert_eq!(envs.as_array().unwrap().len(), 2, "nothing created");

    // Custom numbers, then unlimited again.
    let (status, org) = admin
        .call(
            Method::PATCH,
            "/v1/orgs/default",
            Some(json!({ "plan": "custom", "max_projects": 16 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{org}");
    assert_eq!(org["max_environments"], Value::Null);
    assert_eq!(
        admin
            .post("/v1/orgs/default/projects", json!({ "slug": "p15" }))
            .await
            .0,
        StatusCode::CREATED
    );
    assert_eq!(
        admin
            .post(
                "/v1/orgs/default/projects/p0/environments",
                json!({ "slug": "dev" })
            )
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, body) = admin
        .call(
            Method::PATCH,
            "/v1/orgs/default",
            Some(json!({ "plan": "gold" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (_, org) = admin
        .call(
            Method::PATCH,
            "/v1/orgs/default",
            Some(json!({ "plan": "unlimited" })),
        )
        .await;
    assert_eq!(
        (org.get("plan"), org.get("max_projects")),
        (None, None),
        "{org}"
    );
    assert_eq!(
        admin
            .post("/v1/orgs/default/projects", json!({ "slug": "p16" }))
            .await
            .0,
        StatusCode::CREATED
    );
}

/// A 65 KB value (over the 64 KB limit) is refused by the native API,
/// the dashboard API, Vault KV and organization secrets (DotEnv: see
/// `dotenv.rs`), with
/// nothing stored.
async fn oversized_values_are_refused_everywhere(env: &TestEnv) {
    let admin = Api::admin(env);
    let big = "x".repeat(65 * 1024);
    let client = Client::bearer(env, env.server.admin());
    let project = client
        .ok(Method::POST, BASE, Some(json!({ "name": "web" })))
        .await;
    let p = format!("{BASE}/{}", project["id"].as_str().unwrap());
    client
        .ok(
            Method::POST,
            &format!("{p}/environments"),
            Some(json!({ "name": "production" })),
        )
        .await;
    let (status, body) = admin
        .put(
            "/v1/orgs/default/projects/web/secrets/BIG?env=production",
            json!({ "value": big }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "value_too_large"),
        "{body}"
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("65536"),
        "{body}"
    );
    let (status, body) = client
        .send(
            Method::PUT,
            &format!("{p}/secrets/cell"),
            Some(json!({ "name": "BIG", "env": "production", "value": big })),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("VALUE_TOO_LARGE"))
    );
    let (status, body) = client
        .send(
            Method::POST,
            &format!("{p}/secrets/bulk"),
            Some(json!({ "env": "production", "secrets": { "OK": "1", "BIG": big } })),
        )
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("VALUE_TOO_LARGE"))
    );
    let (status, body) = admin
        .post(
            "/v1/secret/data/web/production",
            json!({ "data": { "BIG": big } }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = admin
        .put(
            "/v1/orgs/default/projects/org-secrets/secrets/BIG",
            json!({ "value": big }),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "value_too_large"),
        "{body}"
    );
    // DotEnv's store refuses it too (tests/api/dotenv.rs, bad input).
    let matrix = client.ok(Method::GET, &format!("{p}/secrets"), None).await;
    assert_eq!(matrix["secrets"], json!([]), "nothing stored: {matrix}");
}

/// Over the rate limit: 429 `RATE_LIMITED` with `Retry-After`, in Hep.gg's
/// shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_in_hepgg_shape() {
    let db = TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server = TestServer::start_with(&db.url, [6u8; 32], |config| {
        config.rate_limits = hush_server::ratelimit::RateLimits {
            per_token: Some(hush_server::ratelimit::Rate {
                per_second: 0.5,
                burst: 2.0,
            }),
            per_ip: None,
        };
    })
    .await;
    let api = Api::on(&server, server.admin());
    for _ in 0..2 {
        assert_eq!(api.get(BASE).await.0, StatusCode::OK);
    }
    let response = server
        .request(Method::GET, BASE, server.admin())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["ok"].as_bool(), body["error"].as_str()),
        (Some(false), Some("RATE_LIMITED"))
    );
    server.stop().await;
    db.drop_db().await;
}
