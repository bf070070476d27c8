//! A real headless Chromium for the dashboard's tests: Debian's `chromium`
//! driven over WebDriver by the `chromedriver` this starts (no WebDriver
//! crate: a handful of JSON calls). Without chromedriver a test skips
//! loudly, except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// A WebDriver session on a chromedriver this test started.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    base: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// `None` (and a loud skip) without chromedriver, except under CI.
    pub async fn start() -> Option<Browser> {
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

    /// One WebDriver command; its `value`, or a panic with the driver's error.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
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

    /// Navigates to `url`.
    pub async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The element at `css`, or a panic showing the page.
    pub async fn find(&self, css: &str) -> String {
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

    /// Types `text` into the element at `css` (after what it holds).
    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Clicks the element at `css`.
    pub async fn click(&self, css: &str) {
        let id = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Runs `code` in the page; what it returns.
    pub async fn script(&self, code: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": code, "args": [] })),
        )
        .await
    }

    /// Clicks what submits a form and waits for the page that answers
    /// (a new document, fully loaded).
    pub async fn submit(&self, css: &str) {
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

    /// The rendered text of the element at `css`.
    pub async fn text(&self, css: &str) -> String {
        let id = self.find(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{id}/text"), None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Where the browser is.
    pub async fn current_url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits (up to 10 s) for the page at a URL ending in `suffix`; its
    /// URL and text if it never comes.
    pub async fn wait_for(&self, suffix: &str) {
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

    /// Waits (up to 20 s) until the element at `css` shows `needle`: for
    /// what the page's script fills in after loading (end-to-end-encrypted
    /// values, decrypted in the page).
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..200 {
            text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{css} never showed {needle:?}: {text}");
    }

    /// Resizes the window (a phone is about 390 × 844).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Whether the page is wider than the window (a phone would have to
    /// scroll the whole page sideways).
    pub async fn overflows(&self) -> bool {
        self.script("return document.documentElement.scrollWidth > window.innerWidth")
            .await
            .as_bool()
            .unwrap_or(true)
    }

    /// Saves the window as `target/screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) {
        use base64::Engine;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    /// Ends the session and the driver.
    pub async fn stop(mut self) {
        let _ = self.http.delete(&self.base).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
