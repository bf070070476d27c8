//! The web dashboard in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver): sign in, create a project
//! and two environments, set secrets, see the matrix, reveal values. Then,
//! without the browser: every page's security headers, and a forged
//! cross-site form post that changes nothing. Screenshots of the pages go
//! to `target/screenshots/` (the README's come from there).

use std::process::{Child, Command, Stdio};

use hush_testkit::{Api, TestEnv, USER_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A WebDriver session on a chromedriver this test started.
struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// `None` (and a loud skip) without chromedriver, except under CI.
    async fn start() -> Option<Browser> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = match Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(driver) => driver,
            Err(_) => {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "chromedriver (Debian's chromium-driver) is required under CI=true"
                );
                eprintln!("SKIPPED: chromedriver is not installed; the browser test did not run");
                return None;
            }
        };
        let http = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if http.get(format!("{url}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("hush-chromium-{port}"));
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-dev-shm-usage", "--window-size=1200,900",
                         format!("--user-data-dir={}", profile.display())],
            }
        }}});
        let session: Value = http
            .post(format!("{url}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {session}"));
        Some(Browser {
            driver,
            http,
            base: format!("{url}/session/{id}"),
        })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await.unwrap().json().await.unwrap();
        assert!(
            answer["value"].get("error").is_none(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let answer: Value = self
            .http
            .post(format!("{}/element", self.base))
            .json(&json!({ "using": "css selector", "value": css }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(id) = answer["value"][ELEMENT].as_str() {
            return id.to_owned();
        }
        let page = self.call(reqwest::Method::GET, "/source", None).await;
        panic!(
            "no {css} at {}: {}",
            self.current_url().await,
            page.as_str().unwrap_or_default()
        );
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn script(&self, code: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": code, "args": [] })),
        )
        .await
    }

    /// Clicks what submits a form and waits for the page that answers
    /// (a new document, fully loaded).
    async fn submit(&self, css: &str) {
        self.script("document.documentElement.dataset.stale = '1'")
            .await;
        self.click(css).await;
        for _ in 0..100 {
            let state = self
                .script(
                    "return [document.readyState, document.documentElement.dataset.stale || '']",
                )
                .await;
            if state == json!(["complete", ""]) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("submitting {css} loaded no new page");
    }

    async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits (up to 10 s) for the page at a URL ending in `suffix`; its
    /// URL and text if it never comes.
    async fn wait_for(&self, suffix: &str) {
        for _ in 0..100 {
            if self.current_url().await.ends_with(suffix) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "never reached {suffix}: at {} showing {}",
            self.current_url().await,
            self.text("body").await
        );
    }

    async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    async fn stop(mut self) {
        let _ = self.http.delete(&self.base).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_manages_secrets() {
    let env = TestEnv::start(hush_testkit::Db::Sqlite).await.unwrap();
    let api = Api::admin(&env);
    api.user("ada@example.com", "admin").await;
    let url = env.server.url.trim_end_matches('/').to_owned();
    let Some(browser) = Browser::start().await else {
        env.finish().await;
        return;
    };

    // A stranger is sent to the sign-in form; a wrong password is said
    // next to the field.
    browser.go(&format!("{url}/dashboard")).await;
    browser.wait_for("/dashboard/login").await;
    browser.type_into("#email", "ada@example.com").await;
    browser.type_into("#password", "not the password").await;
    browser.submit("#login button").await;
    assert!(browser.text("#login-error").await.contains("wrong"));
    browser.screenshot("login").await;
    browser.type_into("#password", USER_PASSWORD).await;
    browser.submit("#login button").await;
    browser.wait_for("/dashboard/secrets").await;

    // A project, two environments, secrets.
    browser.type_into("#project-name", "Web Shop").await;
    browser.submit("#new-project button").await;
    browser.wait_for("/dashboard/secrets/web-shop").await;
    for env_slug in ["production", "staging"] {
        browser.type_into("#env-slug", env_slug).await;
        browser.submit("#new-env button").await;
    }
    browser.type_into("#cell-name", "API_KEY").await;
    browser.type_into("#cell-value", "sk_live_browser_81").await;
    browser.submit("#set-cell button").await;
    assert!(browser
        .text("main")
        .await
        .contains("API_KEY saved in production."));
    let matrix = browser.text("#matrix").await;
    assert!(
        matrix.contains("API_KEY") && matrix.contains("set"),
        "{matrix}"
    );
    assert!(
        !matrix.contains("sk_live_browser_81"),
        "hidden until revealed"
    );
    // A bad name is stopped in the page, by the field's own rule.
    browser.type_into("#cell-name", "BAD-NAME").await;
    browser.click("#set-cell button").await;
    browser.find("#cell-name:invalid").await;
    // What only the server can tell is said on the page.
    browser.type_into("#env-slug", "production").await;
    browser.submit("#new-env button").await;
    browser
        .wait_for("/dashboard/secrets/web-shop/environments")
        .await;
    let error = browser.text("#page-error").await;
    assert!(error.contains("already exists"), "{error}");
    browser.screenshot("project").await;
    browser.submit("#reveal").await;
    let matrix = browser.text("#matrix").await;
    assert!(matrix.contains("sk_live_browser_81"), "{matrix}");
    browser.screenshot("project-revealed").await;
    browser.go(&format!("{url}/dashboard/secrets")).await;
    assert!(browser.text("#projects").await.contains("Web Shop"));
    browser.screenshot("projects").await;

    // Import a pasted .env into staging: a preview first, then one version.
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/import"))
        .await;
    browser.click("#import-env option[value=staging]").await;
    browser
        .type_into(
            "#import-content",
            "API_KEY=sk_test_browser\nLOG_LEVEL=debug\n",
        )
        .await;
    browser.submit("#import button").await;
    let preview = browser.text("#preview").await;
    assert!(
        preview.contains("2 to add") && preview.contains("+ API_KEY"),
        "{preview}"
    );
    browser.screenshot("import-preview").await;
    browser.submit("#confirm-import button").await;
    browser.wait_for("/dashboard/secrets/web-shop").await;
    // Copy staging into production: only the missing name arrives.
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/import"))
        .await;
    browser.click("#copy-from option[value=staging]").await;
    browser.click("#copy-to option[value=production]").await;
    browser.submit("#copy button").await;
    browser.wait_for("/dashboard/secrets/web-shop").await;
    let matrix = browser.text("#matrix").await;
    assert!(matrix.contains("LOG_LEVEL"), "{matrix}");

    // Versions of production: the copy is version 2; diff it with version
    // 1 and restore version 1.
    browser
        .go(&format!(
            "{url}/dashboard/secrets/web-shop/versions?env=production&from=1&to=2"
        ))
        .await;
    let diff = browser.text("#diff").await;
    assert!(
        diff.contains("+ LOG_LEVEL") && !diff.contains("API_KEY"),
        "{diff}"
    );
    browser.screenshot("versions").await;
    browser.submit("#versions button").await;
    assert!(browser
        .text("main")
        .await
        .contains("Version 1 restored as version 3."));

    // A pull token, shown once, used, disabled.
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/tokens"))
        .await;
    browser.type_into("#token-name", "web-prod").await;
    browser.click("#token-env option[value=production]").await;
    browser.submit("#new-token-form button").await;
    let token = browser.text("#new-token").await;
    assert!(token.starts_with("hsk_"), "{token}");
    browser.screenshot("tokens").await;
    let pull = reqwest::Client::new()
        .get(format!("{url}/api/v1/secrets/pull"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), StatusCode::OK);
    let pulled: Value = pull.json().await.unwrap();
    assert_eq!(pulled["data"]["secrets"]["API_KEY"], "sk_live_browser_81");
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/tokens"))
        .await;
    assert!(!browser.text("main").await.contains(&token), "shown once");
    browser.submit("#tokens button[value=disable]").await;
    assert!(browser.text("#tokens").await.contains("disabled"));
    let pull = reqwest::Client::new()
        .get(format!("{url}/api/v1/secrets/pull"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pull.status(), StatusCode::UNAUTHORIZED);

    // An organization secret: added, revealed, deactivated.
    browser.go(&format!("{url}/dashboard/org-secrets")).await;
    browser.type_into("#os-name", "STRIPE_WEBHOOK_SECRET").await;
    browser.type_into("#os-value", "whsec_browser_5").await;
    browser.type_into("#os-expires", "2030-01-31").await;
    browser.submit("#org-secret button").await;
    assert!(browser
        .text("main")
        .await
        .contains("STRIPE_WEBHOOK_SECRET added."));
    let listed = browser.text("#org-secrets").await;
    assert!(
        listed.contains("2030-01-31") && !listed.contains("whsec_browser_5"),
        "{listed}"
    );
    browser.submit("#org-secrets button[value=reveal]").await;
    assert!(browser.text("#revealed").await.contains("whsec_browser_5"));
    browser
        .submit("#org-secrets button[value=deactivate]")
        .await;
    assert!(browser.text("#org-secrets").await.contains("inactive"));
    browser.screenshot("org-secrets").await;

    // A member added, then removed.
    browser.go(&format!("{url}/dashboard/members")).await;
    browser.type_into("#m-email", "grace@example.com").await;
    browser.click("#m-role option[value=viewer]").await;
    browser
        .type_into("#m-password", "grace picks a long one")
        .await;
    browser.submit("#new-member button").await;
    let members = browser.text("#members").await;
    assert!(
        members.contains("grace@example.com") && members.contains("viewer"),
        "{members}"
    );
    browser.screenshot("members").await;
    browser
        .submit("#members form:has(input[value='grace@example.com']) button")
        .await;
    assert!(browser
        .text("main")
        .await
        .contains("removed; their sessions ended."));

    // The audit log shows it all, with the chain verified.
    browser.go(&format!("{url}/dashboard/audit")).await;
    assert!(browser.text("#chain").await.contains("checks out"));
    let log = browser.text("#audit").await;
    for action in [
        "secret.import",
        "secret.copy",
        "version.restore",
        "token.create",
        "token.update",
        "secret.pull",
    ] {
        assert!(log.contains(action), "{action} not in the audit page");
    }
    browser.type_into("#f-action", "secret.copy").await;
    browser.submit("#audit-filter button").await;
    let filtered = browser.text("#audit").await;
    assert!(
        filtered.contains("secret.copy") && !filtered.contains("secret.import"),
        "{filtered}"
    );
    browser.screenshot("audit").await;
    browser.stop().await;

    // The same through the API: what the browser wrote is there.
    let (_, secret) = api
        .get("/v1/orgs/default/projects/web-shop/secrets/API_KEY?env=production&reveal=plain")
        .await;
    assert_eq!(secret["value"], "sk_live_browser_81", "{secret}");
    let (_, audit) = api.get("/v1/orgs/default/audit?limit=200").await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "auth.login",
        "project.create",
        "environment.create",
        "secret.write",
        "secret.decrypt",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
    env.finish().await;
}

/// Every page carries the security headers; a forged cross-site form post
/// (the session cookie, but not this server's origin or CSRF token)
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_their_headers_and_forgeries_fail() {
    let env = TestEnv::start(hush_testkit::Db::Sqlite).await.unwrap();
    let api = Api::admin(&env);
    api.user("ada@example.com", "admin").await;
    api.project("web", &["production"]).await;
    let url = env.server.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = http
        .post(format!("{url}/dashboard/login"))
        .form(&[("email", "ada@example.com"), ("password", USER_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    for path in [
        "/dashboard/login",
        "/dashboard/secrets",
        "/dashboard/secrets/web",
        "/dashboard/secrets/nope",
    ] {
        let response = http
            .get(format!("{url}{path}"))
            .header("Cookie", &cookie)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
    }
    // A stranger's GET is sent to sign in.
    let response = http
        .get(format!("{url}/dashboard/secrets"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/dashboard/login");
    // Forged posts: another origin with no token, and a guessed token.
    for (origin, csrf) in [
        ("https://evil.example", ""),
        ("https://evil.example", "0000"),
        (url.as_str(), "0000"),
    ] {
        let response = http
            .post(format!("{url}/dashboard/secrets/web/cell"))
            .header("Cookie", &cookie)
            .header("Origin", origin)
            .form(&[
                ("csrf", csrf),
                ("name", "FORGED"),
                ("env", "production"),
                ("value", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin} {csrf}");
    }
    let (_, list) = api
        .get("/v1/orgs/default/projects/web/secrets?env=production")
        .await;
    assert_eq!(list["secrets"], json!([]), "nothing changed: {list}");
    env.finish().await;
}
