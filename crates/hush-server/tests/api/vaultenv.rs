//! The vault-env protocol spoken directly, signed as the published client
//! signs.

use hush_core::vaultenv::{derive_key, device_hash, sign, SALT_AUTH};
use hush_testkit::{on_both_backends, Api, TestEnv, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(vaultenv_protocol_refuses_bad_requests,);

/// Speaks vault-env to a test server the way the published client does.
pub struct Vde<'a> {
    /// The server.
    pub s: &'a TestServer,
    /// The project id.
    pub project: String,
    /// The request-signing key derived from the project's vault key.
    pub auth: [u8; 32],
}

/// Unix milliseconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// POSTs `body` to `path` with an optional signature and bearer token.
pub async fn post(
    s: &TestServer,
    path: &str,
    body: String,
    signature: Option<String>,
    bearer: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = s
        .anonymous(Method::POST, path)
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = signature {
        req = req.header("x-vault-signature", sig);
    }
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

impl<'a> Vde<'a> {
    /// `project/create` (with `bearer` as the hush token, if any).
    pub async fn create(s: &TestServer, name: &str, bearer: Option<&str>) -> (StatusCode, Value) {
        let body = json!({ "project_name": name }).to_string();
        post(s, "/api/v1/project/create", body, None, bearer).await
    }

    /// A client of project `project` holding a fresh vault key (not yet
    /// registered with `set-key`).
    pub fn of(s: &'a TestServer, project: &str) -> Self {
        let secret = hush_core::token::random_hex(32);
        let vault_key = format!("vk_{project}_{}", secret.expose());
        let auth = derive_key(&vault_key, SALT_AUTH, None);
        Vde {
            s,
            project: project.to_owned(),
            auth: *auth,
        }
    }

    /// Creates a project (as the bootstrap admin) and registers the key.
    pub async fn project(s: &'a TestServer, name: &str) -> Self {
        let (status, created) = Self::create(s, name, Some(s.admin())).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        let vde = Self::of(s, created["project_id"].as_str().unwrap());
        let (status, body) = vde
            .call("/api/v1/project/set-key", vde.set_key_body())
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        vde
    }

    /// The body of `set-key` for this client's key.
    pub fn set_key_body(&self) -> Value {
        json!({ "project_id": self.project, "auth_key_hash": hex(&self.auth) })
    }

    /// A body-only signature of `body`, now.
    pub fn sign(&self, body: &str) -> String {
        sign(&self.auth, body.as_bytes(), now())
    }

    /// POSTs `body`, signed as the published client signs.
    pub async fn call(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let body = body.to_string();
        let sig = self.sign(&body);
        post(self.s, path, body, Some(sig), None).await
    }

    /// Registers a device; returns its hash and the answer.
    pub async fn register(&self, secret: &str) -> (String, Value) {
        let hash = device_hash(secret);
        let (status, body) = self
            .call(
                "/api/v1/devices/register",
                json!({ "project_id": self.project, "device_name": secret, "device_hash": hash }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (hash, body)
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The vault-env protocol spoken directly (signed as the published client
/// signs): each bad request is a clear 4xx and stores nothing.
async fn vaultenv_protocol_refuses_bad_requests(env: &TestEnv) {
    let s = &env.server;
    let post = |path: &'static str, body: String, signature: Option<String>| {
        post(s, path, body, signature, None)
    };
    let (status, created) = Vde::create(s, "Proto App", Some(s.admin())).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(
        created["environments"],
        json!(["development", "staging", "production"])
    );
    let project = created["project_id"].as_str().unwrap().to_owned();
    let vault_key = format!("vk_{project}_{}", "ab".repeat(32));
    let auth = derive_key(&vault_key, SALT_AUTH, None);
    let signed = |body: &str| Some(sign(&auth, body.as_bytes(), now()));

    // Before set-key nothing authenticates.
    let current = json!({"project_id": project, "environment": "production"}).to_string();
    let (status, err) = post(
        "/api/v1/secrets/current-version",
        current.clone(),
        signed(&current),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("key_not_set"))
    );
    let key_hex: String = auth.iter().map(|b| format!("{b:02x}")).collect();
    let set_key = json!({"project_id": project, "auth_key_hash": key_hex}).to_string();
    let (status, body) = post("/api/v1/project/set-key", set_key.clone(), signed(&set_key)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"ok": true})));
    let (status, err) = post("/api/v1/project/set-key", set_key.clone(), signed(&set_key)).await;
    assert_eq!(status, StatusCode::CONFLICT, "set-key works once: {err}");

    // A device, then a push; the exact same signed request again is a replay.
    let device = device_hash("device-secret-one");
    let register =
        json!({"project_id": project, "device_name": "ci", "device_hash": device}).to_string();
    let (status, reg) = post(
        "/api/v1/devices/register",
        register.clone(),
        signed(&register),
    )
    .await;
    assert_eq!(
        (status, reg["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );
    let push = json!({"project_id": project, "environment": "production", "secrets": "b3BhcXVl", "key_names": ["A"], "device_hash": device}).to_string();
    let push_sig = signed(&push);
    let (status, pushed) = post("/api/v1/secrets/push", push.clone(), push_sig.clone()).await;
    assert_eq!(
        (status, pushed["version"].as_i64()),
        (StatusCode::OK, Some(1))
    );
    let (status, err) = post("/api/v1/secrets/push", push.clone(), push_sig).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("replayed_request"))
    );

    // Bad signature, stale timestamp, no signature, malformed JSON, unknown
    // project: refused, and the version stays 1.
    let (status, err) = post(
        "/api/v1/secrets/push",
        push.clone(),
        Some(sign(&[7u8; 32], push.as_bytes(), now())),
    )
    .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad_signature"))
    );
    let stale = Some(sign(&auth, push.as_bytes(), now() - 6 * 60 * 1000));
    let (status, err) = post("/api/v1/secrets/push", push.clone(), stale).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("stale_signature"))
    );
    let (status, _) = post("/api/v1/secrets/push", push.clone(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post(
        "/api/v1/secrets/push",
        push.clone(),
        Some("v=1,d=zz".into()),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let garbage = "{not json".to_owned();
    let (status, err) = post("/api/v1/secrets/push", garbage.clone(), signed(&garbage)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json"))
    );
    let unknown = json!({"project_id": "no-such-project", "environment": "production"}).to_string();
    let (status, _) = post(
        "/api/v1/secrets/current-version",
        unknown.clone(),
        signed(&unknown),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, cur) = post(
        "/api/v1/secrets/current-version",
        current.clone(),
        signed(&current),
    )
    .await;
    assert_eq!((status, cur["version"].as_i64()), (StatusCode::OK, Some(1)));

    // Devices: a second one is pending (403 saying so), unknown ones and
    // requests without a device are refused, and the pull of the first works.
    let other = device_hash("device-secret-two");
    let register =
        json!({"project_id": project, "device_name": "laptop", "device_hash": other}).to_string();
    let (_, reg) = post(
        "/api/v1/devices/register",
        register.clone(),
        signed(&register),
    )
    .await;
    assert_eq!(reg["status"], "pending");
    for (hash, expect) in [
        (Some(other.as_str()), "pending"),
        (Some("00"), "not registered"),
        (None, "not registered"),
    ] {
        let mut body = json!({"project_id": project, "environment": "production"});
        if let Some(hash) = hash {
            body["device_hash"] = json!(hash);
        }
        let body = body.to_string();
        let (status, err) = post("/api/v1/secrets/pull", body.clone(), signed(&body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(err["error"].as_str().unwrap().contains(expect), "{err}");
    }
    let pull = json!({"project_id": project, "environment": "production", "device_hash": device})
        .to_string();
    let (status, pulled) = post("/api/v1/secrets/pull", pull.clone(), signed(&pull)).await;
    assert_eq!(
        (status, pulled),
        (StatusCode::OK, json!({"secrets": "b3BhcXVl", "version": 1}))
    );

    // It is a hush project: listed, versioned with its key names, audited.
    let api = Api::admin(env);
    let (_, projects) = api.get("/v1/orgs/default/projects").await;
    let listed = projects
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == project.as_str())
        .unwrap();
    assert_eq!(
        (listed["slug"].as_str(), listed["encryption_mode"].as_str()),
        (Some("proto-app"), Some("client"))
    );
    let (_, versions) = api
        .get("/v1/orgs/default/projects/proto-app/versions?env=production")
        .await;
    assert_eq!(versions[0]["changed_keys"], json!(["A"]));
    let (_, devices) = api.get("/v1/orgs/default/projects/proto-app/devices").await;
    assert_eq!(devices.as_array().unwrap().len(), 2);
    let first = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["status"] == "approved")
        .unwrap();
    assert!(first["last_seen_at"].is_string(), "{devices}");
    let (_, page) = api
        .get("/v1/orgs/default/audit?action=vaultenv.push&limit=10")
        .await;
    let entries = page["entries"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["result"] == "ok" && e["ip"] == "127.0.0.1"),
        "{page}"
    );
    assert!(
        entries.iter().any(|e| e["status"] == 401),
        "refused pushes are audited too: {page}"
    );
}
