//! An end-to-end-encrypted project made in the web dashboard, in a real
//! headless Chromium: the page makes the key and shows the recovery key
//! once, encrypts a value with WebCrypto, and the server's database holds
//! no plaintext. `hush run` with the same passphrase in `HUSH_KEY`
//! decrypts what the browser wrote, and a value `hush set` wrote decrypts
//! in the browser; the recovery key unlocks the page too, and a wrong
//! passphrase or a locked page writes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hush_testkit::{Api, Browser, TestEnv, USER_PASSWORD};
use serde_json::json;

use super::hepgg::{hush, ok};

const PASS: &str = "a browser-made passphrase, long";
const BROWSER_VALUE: &str = "e2ee-browser-secret-42";
const CLI_VALUE: &str = "set by the cli, read in the page";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_project_made_in_the_browser_meets_the_cli() {
    let env = TestEnv::start(hush_testkit::Db::Sqlite).await.unwrap();
    let (server, db) = (&env.server, &env.db);
    let api = Api::on(server, server.admin());
    api.user("ada@example.com", "admin").await;
    let url = server.url.trim_end_matches('/').to_owned();
    let home = tempfile::tempdir().unwrap();
    let run = |key: Option<&str>, args: &[&str]| {
        hush(home.path(), &server.url, server.admin(), key, args)
    };
    // What `hush run` with the passphrase gives an app as `name` in `env`.
    let printenv = |env: &str, name: &str| {
        let args = [
            "run",
            "--project",
            "vault-box",
            "--env",
            env,
            "--",
            "printenv",
            name,
        ];
        ok(run(Some(PASS), &args)).trim_end().to_owned()
    };
    let Some(browser) = Browser::start().await else {
        env.finish().await;
        return;
    };
    browser.go(&format!("{url}/dashboard/login")).await;
    browser.type_into("#email", "ada@example.com").await;
    browser.type_into("#password", USER_PASSWORD).await;
    browser.submit("#login button").await;
    browser.wait_for("/dashboard/secrets").await;

    // Creating: passphrases that differ are said next to them; then the
    // key is made in the page and the recovery key shown, once.
    browser.type_into("#project-name", "Vault Box").await;
    browser.click("#mode-e2ee").await;
    browser.type_into("#e2ee-pass", PASS).await;
    browser
        .type_into("#e2ee-pass2", "something else entirely")
        .await;
    browser.click("#create-project").await;
    browser.wait_for_text("#e2ee-error", "differ").await;
    browser
        .script("document.getElementById('e2ee-pass2').value = ''")
        .await;
    browser.type_into("#e2ee-pass2", PASS).await;
    browser.click("#create-project").await;
    let recovery = browser.wait_for_text("#recovery-key", "-").await;
    assert_eq!(recovery.len(), 71, "8 groups of 8 hex digits: {recovery}");
    browser.screenshot("e2ee-recovery-key").await;
    browser.submit("#recovery-saved").await;
    browser.wait_for("/dashboard/secrets/vault-box").await;
    let (_, project) = api.get("/v1/orgs/default/projects/vault-box").await;
    assert_eq!(project["encryption_mode"], "client", "{project}");

    // Unlocked in this tab already: a value is encrypted in the page.
    browser.type_into("#env-slug", "production").await;
    browser.submit("#new-env button").await;
    browser.wait_for_text("#unlocked", "Unlocked").await;
    browser.type_into("#cell-name", "DB_PASSWORD").await;
    browser.type_into("#cell-value", BROWSER_VALUE).await;
    browser.submit("#set-cell button").await;
    assert!(browser
        .text("main")
        .await
        .contains("DB_PASSWORD saved in production."));
    browser.wait_for_text("#matrix", BROWSER_VALUE).await;

    // The server holds ciphertext only: no value, passphrase or recovery
    // key in any table.
    let mut dump = Vec::new();
    hush_store::backup(&db.url, &mut dump, &mut |_, _| {})
        .await
        .unwrap();
    let dump = String::from_utf8_lossy(&dump);
    for plain in [BROWSER_VALUE, PASS, recovery.as_str()] {
        assert!(!dump.contains(plain), "{plain} is in the database");
    }

    // `hush run` with the same passphrase decrypts what the browser wrote.
    assert_eq!(printenv("production", "DB_PASSWORD"), BROWSER_VALUE);
    // And what `hush set` writes decrypts in the page.
    let set = format!("FROM_CLI={CLI_VALUE}");
    ok(run(
        Some(PASS),
        &["set", &set, "--project", "vault-box", "--env", "production"],
    ));
    browser
        .go(&format!("{url}/dashboard/secrets/vault-box"))
        .await;
    browser.wait_for_text("#matrix", CLI_VALUE).await;
    browser.screenshot("e2ee-project").await;

    // Locked, the page shows no value and writes nothing.
    browser.submit("#lock").await;
    let locked = browser.text("#matrix").await;
    assert!(!locked.contains(BROWSER_VALUE), "{locked}");
    browser.type_into("#cell-name", "WHILE_LOCKED").await;
    browser.type_into("#cell-value", "nope").await;
    browser.click("#set-cell button").await;
    browser.wait_for_text("#cell-error", "Unlock").await;
    // A wrong passphrase is said; the recovery key opens it.
    browser
        .type_into("#unlock-secret", "not the passphrase")
        .await;
    browser.click("#unlock button").await;
    browser
        .wait_for_text("#unlock-error", "does not open")
        .await;
    browser
        .script("document.getElementById('unlock-secret').value = ''")
        .await;
    browser.type_into("#unlock-secret", &recovery).await;
    browser.click("#unlock button").await;
    browser.wait_for_text("#matrix", BROWSER_VALUE).await;

    // Copying between environments keeps the ciphertext and passes the
    // key proof the page computed.
    browser.type_into("#env-slug", "staging").await;
    browser.submit("#new-env button").await;
    browser
        .go(&format!("{url}/dashboard/secrets/vault-box/import"))
        .await;
    browser.wait_for_text("#unlocked", "Unlocked").await;
    browser.click("#copy-from option[value=production]").await;
    browser.click("#copy-to option[value=staging]").await;
    browser.submit("#copy button").await;
    browser.wait_for("/dashboard/secrets/vault-box").await;
    assert_eq!(printenv("staging", "DB_PASSWORD"), BROWSER_VALUE);
    // The unlocked key lives in this tab only, and signing out forgets it.
    let kept = "return Object.keys(sessionStorage).filter(k => k.startsWith('hush-dek:')).length";
    assert_eq!(browser.script(kept).await, json!(1));
    browser.submit("header form button").await;
    browser.wait_for("/dashboard/login").await;
    assert_eq!(browser.script(kept).await, json!(0));
    browser.stop().await;

    // Plaintext sent to an end-to-end-encrypted project (a page whose
    // script did not run, or a careless client) is refused, not stored.
    let (_, listed) = api.get("/api/v1/secrets/projects").await;
    let id = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["slug"] == "vault-box")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, refused) = api
        .put(
            &format!("/api/v1/secrets/projects/{id}/secrets/cell"),
            json!({ "name": "PLAIN", "env": "production", "value": "in the clear" }),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    let mut dump = Vec::new();
    hush_store::backup(&db.url, &mut dump, &mut |_, _| {})
        .await
        .unwrap();
    assert!(!String::from_utf8_lossy(&dump).contains("in the clear"));
    env.finish().await;
}
