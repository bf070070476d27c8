//! The web dashboard in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver by `hush_testkit::Browser`):
//! first-run setup from the one-time token, sign in, a project with two
//! environments, cells set and edited in place, a name for every
//! environment, import with a preview, copy, versions with a diff and
//! restore, a pull token used with a plain HTTP client, an organization
//! secret, members and their roles, a target's grid, settings (rename,
//! typed confirmations, project roles, deletion), every main page at phone
//! width, and the audit page showing it all. Then, without the browser:
//! every page's security headers, forged cross-site posts and wrong typed
//! confirmations that change nothing, and an idle session that ends.
//! Screenshots go to `target/screenshots/` (the README's come from there).
//! The end-to-end-encrypted journey, which needs the `hush` binary, is in
//! `crates/hush-cli/tests/cli/web_e2ee.rs`.

use hush_testkit::{Api, Browser, TestEnv, USER_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The owner's password, chosen at first-run setup.
const OWNER_PASSWORD: &str = "the owner's long password";

hush_testkit::on_both_backends!(two_setups_at_once_make_one_owner);

/// The token's holder posting setup twice at the same instant (a double
/// click, two tabs) gets one owner, not two: the token is spent and the
/// owner made in one write.
async fn two_setups_at_once_make_one_owner(env: &TestEnv) {
    let url = env.server.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let setup = |email: &'static str| {
        http.post(format!("{url}/dashboard/setup"))
            .form(&[
                ("token", env.server.admin()),
                ("email", email),
                ("password", OWNER_PASSWORD),
                ("password2", OWNER_PASSWORD),
            ])
            .send()
    };
    let emails = ["ada@example.com", "bo@example.com"];
    let (first, second) = tokio::join!(setup(emails[0]), setup(emails[1]));
    let statuses = [first.unwrap().status(), second.unwrap().status()];
    let made: Vec<_> = emails
        .iter()
        .zip(statuses)
        .filter(|(_, status)| *status == StatusCode::SEE_OTHER)
        .map(|(email, _)| *email)
        .collect();
    assert_eq!(made.len(), 1, "{statuses:?}");
    let owner = Api::admin(env).login_with(made[0], OWNER_PASSWORD).await;
    let (_, people) = owner.get("/v1/orgs/default/users").await;
    let people = people.as_array().unwrap();
    assert_eq!(people.len(), 1, "{people:?}");
    assert_eq!(people[0]["role"], "owner");
    // And the token is spent.
    let (status, _) = Api::admin(env).get("/v1/orgs/default").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_signs_in_and_manages_secrets() {
    let env = TestEnv::start(hush_testkit::Db::Sqlite).await.unwrap();
    let url = env.server.url.trim_end_matches('/').to_owned();
    let Some(browser) = Browser::start().await else {
        env.finish().await;
        return;
    };

    // First-run setup: a stranger is sent to sign in, which leads to
    // setup; a wrong token is said next to its field, then the token the
    // first start printed becomes the owner's account, signed in.
    browser.go(&format!("{url}/dashboard")).await;
    browser.wait_for("/dashboard/login").await;
    browser.submit("a[href='/dashboard/setup']").await;
    let fill = |token: String| {
        let browser = &browser;
        async move {
            browser.type_into("#token", &token).await;
            browser.type_into("#password", OWNER_PASSWORD).await;
            browser.type_into("#password2", OWNER_PASSWORD).await;
            browser.submit("#setup button").await;
        }
    };
    browser.type_into("#email", "ada@example.com").await;
    fill("hush_not_the_token".to_owned()).await;
    let said = browser.text("#token-error").await;
    assert!(said.contains("not the token"), "{said}");
    browser.screenshot("setup").await;
    fill(env.server.admin().to_owned()).await;
    browser.wait_for("/dashboard/secrets").await;
    assert!(browser.text("header").await.contains("ada@example.com"));
    // The token is spent: it became the account.
    let (status, _) = Api::admin(&env).get("/v1/orgs/default").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let api = Api::admin(&env)
        .login_with("ada@example.com", OWNER_PASSWORD)
        .await;
    let (_, members) = api.get("/v1/orgs/default/users").await;
    assert_eq!(members[0]["role"], "owner", "{members}");

    // Signed out, then in again; a wrong password is said next to the field.
    browser.submit("header form button").await;
    browser.wait_for("/dashboard/login").await;
    browser.type_into("#email", "ada@example.com").await;
    browser.type_into("#password", "not the password").await;
    browser.submit("#login button").await;
    assert!(browser.text("#login-error").await.contains("wrong"));
    browser.screenshot("login").await;
    browser.type_into("#password", OWNER_PASSWORD).await;
    browser.submit("#login button").await;
    browser.wait_for("/dashboard/secrets").await;

    // A project, two environments, secrets.
    browser.type_into("#project-name", "Web Shop").await;
    browser.submit("#create-project").await;
    browser.wait_for("/dashboard/secrets/web-shop").await;
    for env_slug in ["production", "staging"] {
        browser.type_into("#env-slug", env_slug).await;
        browser.submit("#new-env button").await;
    }
    let said = set_cell(&browser, "API_KEY", None, "sk_live_browser_80").await;
    assert!(said.contains("API_KEY saved in production."), "{said}");
    // Edited in place: the cell brings itself into the form.
    browser
        .click("#matrix td[data-name=API_KEY][data-env=production]")
        .await;
    let picked = browser
        .script("return [document.getElementById('cell-name').value, document.getElementById('cell-env').value, document.activeElement.id]")
        .await;
    assert_eq!(picked, json!(["API_KEY", "production", "cell-value"]));
    browser.type_into("#cell-value", "sk_live_browser_81").await;
    browser.submit("#set-cell button").await;
    assert!(browser
        .text("main")
        .await
        .contains("API_KEY saved in production."));
    // A name for every environment at once: the project level, inherited.
    let said = set_cell(&browser, "LOG_FORMAT", Some(""), "json").await;
    assert!(
        said.contains("LOG_FORMAT saved at the project level"),
        "{said}"
    );
    let inherited = browser
        .script("return [...document.querySelectorAll('#matrix td[data-name=LOG_FORMAT]')].map(td => td.classList.contains('inherited'))")
        .await;
    assert_eq!(inherited, json!([true, true]));
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
    // Readable on a phone: no page wider than the screen (the matrix
    // scrolls inside its own box), on every main page.
    browser.resize(390, 844).await;
    for page in [
        "secrets",
        "secrets/web-shop",
        "secrets/web-shop/import",
        "secrets/web-shop/versions",
        "secrets/web-shop/tokens",
        "secrets/web-shop/settings",
        "org-secrets",
        "members",
        "audit",
    ] {
        browser.go(&format!("{url}/dashboard/{page}")).await;
        assert!(!browser.overflows().await, "{page} is wider than a phone");
    }
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop"))
        .await;
    browser.screenshot("phone-matrix").await;
    browser.resize(1200, 900).await;
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

    // Versions of production: the copy is version 3; diff it with version
    // 2 (the edit) and restore version 2.
    browser
        .go(&format!(
            "{url}/dashboard/secrets/web-shop/versions?env=production&from=2&to=3"
        ))
        .await;
    let diff = browser.text("#diff").await;
    assert!(
        diff.contains("+ LOG_LEVEL") && !diff.contains("API_KEY"),
        "{diff}"
    );
    browser.screenshot("versions").await;
    browser
        .submit("#versions form:has(input[name=version][value='2']) button")
        .await;
    assert!(browser
        .text("main")
        .await
        .contains("Version 2 restored as version 4."));

    // A pull token, shown once, used, disabled.
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/tokens"))
        .await;
    browser.type_into("#token-name", "web-prod").await;
    browser.click("#token-env option[value=production]").await;
    browser.submit("#new-token-form button").await;
    let token = browser.text("#new-token").await;
    assert!(token.starts_with("hsk_"), "{token}");
    // The copy button is there (the script shows it) and copies, or
    // selects the token where the clipboard is not allowed.
    browser.click("button[data-copy='#new-token']").await;
    let mut copied = String::new();
    for _ in 0..50 {
        copied = browser.text("button[data-copy='#new-token']").await;
        if copied != "Copy" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        copied == "Copied" || copied.starts_with("Selected"),
        "{copied}"
    );
    browser.screenshot("tokens").await;
    let (status, pulled) = curl_pull(&url, &token);
    assert_eq!(status, 200, "{pulled}");
    assert_eq!(pulled["data"]["secrets"]["API_KEY"], "sk_live_browser_81");
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/tokens"))
        .await;
    assert!(!browser.text("main").await.contains(&token), "shown once");
    browser.submit("#tokens button[value=disable]").await;
    assert!(browser.text("#tokens").await.contains("disabled"));
    assert_eq!(curl_pull(&url, &token).0, 401);

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
    // Her role changed in her row.
    let row = "#members form.role-form:has(input[value='grace@example.com'])";
    browser.click(&format!("{row} option[value=member]")).await;
    browser.submit(&format!("{row} button")).await;
    assert!(browser
        .text("main")
        .await
        .contains("grace@example.com is now member."));
    browser.screenshot("members").await;
    browser
        .submit("#members form[action='/dashboard/members/remove']:has(input[value='grace@example.com']) button")
        .await;
    assert!(browser
        .text("main")
        .await
        .contains("removed; their sessions ended."));

    // Settings: a target added and removed (its slug typed), a project
    // role granted, the project renamed.
    api.user("lin@example.com", "member").await;
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/settings"))
        .await;
    browser.type_into("#target-slug", "worker").await;
    browser.submit("#new-target button").await;
    assert!(browser.text("main").await.contains("Target worker added."));
    // The target's own grid (project → target → the target's environment,
    // as pulls merge them): the project level shows through, and a value
    // set there is the target's alone.
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop"))
        .await;
    browser.submit("#grids a[href$='target=worker']").await;
    let said = set_cell(&browser, "QUEUE_URL", None, "amqp://worker-prod").await;
    assert!(
        said.contains("QUEUE_URL saved in production of target worker."),
        "{said}"
    );
    let grid = browser
        .script("return [...document.querySelectorAll('#matrix td[data-env=production]')].map(td => td.dataset.name + ':' + td.className.split(' ')[0])")
        .await;
    assert_eq!(
        grid,
        json!(["LOG_FORMAT:inherited", "QUEUE_URL:set"]),
        "{grid}"
    );
    browser.screenshot("target-grid").await;
    let (_, worker) = api
        .get("/v1/orgs/default/projects/web-shop/secrets/QUEUE_URL?target=worker&env=production&reveal=plain")
        .await;
    assert_eq!(worker["value"], "amqp://worker-prod", "{worker}");
    let (status, _) = api
        .get("/v1/orgs/default/projects/web-shop/secrets/QUEUE_URL?env=production")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the target's alone");
    browser
        .go(&format!("{url}/dashboard/secrets/web-shop/settings"))
        .await;
    browser.click("#role-user option:nth-child(2)").await;
    browser.click("#role-role option[value=viewer]").await;
    browser.submit("#grant-role button").await;
    let roles = browser.text("#role-list").await;
    assert!(
        roles.contains("lin@example.com") && roles.contains("viewer"),
        "{roles}"
    );
    browser.type_into("#rename-name", " EU").await;
    browser.submit("#rename button").await;
    assert!(browser
        .text("main")
        .await
        .contains("Renamed to Web Shop EU."));
    browser.screenshot("settings").await;
    browser
        .type_into(
            "#children-list form:has(input[value=worker]) input[name=confirm]",
            "worker",
        )
        .await;
    browser
        .submit("#children-list form:has(input[value=worker]) button")
        .await;
    assert!(browser
        .text("main")
        .await
        .contains("target worker removed."));
    // Deleting a project takes its slug, typed.
    browser.go(&format!("{url}/dashboard/secrets")).await;
    browser.type_into("#project-name", "Scratch").await;
    browser.submit("#create-project").await;
    browser.wait_for("/dashboard/secrets/scratch").await;
    browser
        .go(&format!("{url}/dashboard/secrets/scratch/settings"))
        .await;
    browser.type_into("#delete-confirm", "scratc").await;
    browser.click("#delete-project button").await;
    browser.find("#delete-confirm:invalid").await;
    browser.type_into("#delete-confirm", "h").await;
    browser.submit("#delete-project button").await;
    browser.wait_for("/dashboard/secrets").await;
    let projects = browser.text("#projects").await;
    assert!(
        projects.contains("Web Shop EU") && !projects.contains("Scratch"),
        "{projects}"
    );

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
        "target.create",
        "target.delete",
        "project.member.set",
        "project.rename",
        "project.delete",
        "user.role.set",
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
    let actions = api.audit_actions(200).await;
    for action in [
        "auth.login",
        "project.create",
        "environment.create",
        "secret.write",
        "secret.decrypt",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} not in {actions:?}"
        );
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
        "/dashboard/setup",
        "/dashboard/secrets",
        "/dashboard/secrets/web",
        "/dashboard/secrets/web/settings",
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

    // A real form with the wrong slug typed deletes nothing: the server
    // checks the confirmation, not only the page.
    let settings = http
        .get(format!("{url}/dashboard/secrets/web/settings"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = settings
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    for typed in ["", "we", "production"] {
        let response = http
            .post(format!("{url}/dashboard/secrets/web/settings/delete"))
            .header("Cookie", &cookie)
            .header("Origin", &url)
            .form(&[("csrf", csrf.as_str()), ("confirm", typed)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{typed:?}");
        let page = response.text().await.unwrap();
        assert!(page.contains("type &#34;web&#34; to confirm"), "{page}");
    }
    let response = http
        .post(format!("{url}/dashboard/secrets/web/settings/remove"))
        .header("Cookie", &cookie)
        .header("Origin", &url)
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "environment"),
            ("slug", "production"),
            ("confirm", "prod"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let (status, envs) = api.get("/v1/orgs/default/projects/web/environments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(envs.to_string().contains("production"), "{envs}");
    env.finish().await;
}

/// Sets `name` through the project page's form (in `env`, when given: ""
/// is the grid's top level); what the page then says.
async fn set_cell(browser: &Browser, name: &str, env: Option<&str>, value: &str) -> String {
    browser.type_into("#cell-name", name).await;
    if let Some(env) = env {
        browser
            .click(&format!("#cell-env option[value='{env}']"))
            .await;
    }
    browser.type_into("#cell-value", value).await;
    browser.submit("#set-cell button").await;
    browser.text("main").await
}

/// `curl` against Hep.gg's pull endpoint with a pull token, as an app's
/// deploy script would: the status and the JSON answer (curl is required,
/// as for the README's tours; `.ci/run` installs it).
fn curl_pull(url: &str, token: &str) -> (u16, Value) {
    let out = std::process::Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{url}/api/v1/secrets/pull"))
        .output()
        .expect("curl is installed (.ci/run installs it)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), serde_json::from_str(body).unwrap())
}

/// Signs `email` in through the sign-in form; the cookie to send back.
async fn sign_in(http: &reqwest::Client, url: &str, email: &str) -> String {
    let signed_in = http
        .post(format!("{url}/dashboard/login"))
        .form(&[("email", email), ("password", USER_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

/// A browser session left unused for over 30 minutes ends: the dashboard
/// sends it to sign in again, saying why, and the session is revoked, for
/// the dashboard API's cookie too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_session_ends() {
    let env = TestEnv::start(hush_testkit::Db::Sqlite).await.unwrap();
    let api = Api::admin(&env);
    api.user("ada@example.com", "admin").await;
    let url = env.server.url.trim_end_matches('/').to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = |cookie: String| {
        http.get(format!("{url}/dashboard/secrets"))
            .header("Cookie", cookie)
            .send()
    };
    let dashboard = sign_in(&http, &url, "ada@example.com").await;
    assert_eq!(page(dashboard.clone()).await.unwrap().status(), 200);
    let api_cookie = sign_in(&http, &url, "ada@example.com").await;
    let projects = |cookie: String| {
        http.get(format!("{url}/api/v1/secrets/projects"))
            .header("Cookie", cookie)
            .send()
    };
    assert_eq!(projects(api_cookie.clone()).await.unwrap().status(), 200);

    // Both sessions were last used 31 minutes ago (and the server's
    // two-second token cache has let go of them). The server records a
    // first use in the background, so each session is aged only once
    // that record has landed; otherwise it could overwrite the age.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let long_ago = now - 31 * 60 * 1000;
    let age = format!(
        "UPDATE tokens SET last_used_at = {long_ago} \
         WHERE name = 'session' AND last_used_at IS NOT NULL"
    );
    let mut aged = 0;
    for _ in 0..100 {
        aged = env.db.sql(&age).await;
        if aged == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(aged, 2, "both sessions' first use recorded");
    // A third, signed in 31 minutes ago and never used since.
    let unused = sign_in(&http, &url, "ada@example.com").await;
    let born = env
        .db
        .sql(&format!(
            "UPDATE tokens SET created_at = {long_ago} \
             WHERE name = 'session' AND last_used_at IS NULL"
        ))
        .await;
    assert_eq!(born, 1);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let response = page(dashboard.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/dashboard/login?idle=1");
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let said = http
        .get(format!("{url}/dashboard/login?idle=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(said.contains("signed out after 30 minutes"), "{said}");
    let never_used = page(unused).await.unwrap();
    assert_eq!(never_used.headers()["location"], "/dashboard/login?idle=1");
    // Ended for good, not only refused once.
    let again = page(dashboard).await.unwrap();
    assert_eq!(again.headers()["location"], "/dashboard/login");
    let refused = projects(api_cookie.clone()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let body: Value = refused.json().await.unwrap();
    assert!(body.to_string().contains("30 minutes"), "{body}");
    assert_eq!(
        projects(api_cookie).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    env.finish().await;
}
