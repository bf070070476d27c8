//! `hush serve` as a user runs it: the real binary, a temp data directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

pub(crate) struct Server {
    child: Child,
    pub(crate) addr: String,
    stdout: String,
    stderr_lines: mpsc::Receiver<String>,
}

/// Starts `hush serve` on an ephemeral port and waits for its
/// "listening" log line (no sleeps).
pub(crate) fn start(data_dir: &std::path::Path, log: &str) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log", log])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .env("HUSH_LISTNE", "typo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("server logs that it listens");
        seen.push(line.clone());
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert!(
        seen.iter().any(|l| l.contains("HUSH_LISTNE")),
        "unknown HUSH_* variables are warned about"
    );
    Server {
        child,
        addr,
        stdout: String::new(),
        stderr_lines: rx,
    }
}

impl Server {
    /// SIGTERM, then the exit status and everything logged.
    pub(crate) fn stop(mut self) -> (bool, String, String) {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        let status = self.child.wait().unwrap();
        if let Some(mut stdout) = self.child.stdout.take() {
            let mut out = String::new();
            stdout.read_to_string(&mut out).unwrap();
            self.stdout.push_str(&out);
        }
        // The reader thread ends when the process's stderr closes.
        let log: Vec<String> = self.stderr_lines.iter().collect();
        (status.success(), self.stdout, log.join("\n"))
    }

    pub(crate) fn first_token(&mut self) -> String {
        let mut reader = BufReader::new(self.child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "no token printed");
            self.stdout.push_str(&line);
            if let Some(token) = line.split_whitespace().find(|w| w.starts_with("hush_")) {
                let token = token.to_owned();
                let mut rest = String::new();
                // Keep draining stdout in the background so the server never blocks.
                std::thread::spawn(move || {
                    let _ = reader.read_to_string(&mut rest);
                });
                self.child.stdout = None;
                return token;
            }
        }
    }
}

#[test]
fn first_start_bootstraps_once_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data, "info");
    let token = server.first_token();
    assert!(server.stdout.contains("shown only this once"));
    let key = data.join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let orgs: Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{}/v1/orgs", server.addr))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(orgs[0]["slug"], "default");
    let (clean, _, log) = server.stop();
    assert!(clean, "exit status 0 after SIGTERM");
    assert!(log.contains("shutting down"));
    assert!(!log.contains(&token));

    // Second start: same key, same data, no new token.
    let key_before = std::fs::read(&key).unwrap();
    let server = start(&data, "info");
    let addr = server.addr.clone();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{addr}/v1/orgs"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let (clean, stdout, _) = server.stop();
    assert!(clean);
    assert!(
        !stdout.contains("hush_"),
        "the admin token is printed on the first start only"
    );
    assert_eq!(std::fs::read(&key).unwrap(), key_before);

    // The audit chain of that session checks out offline.
    let verify = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .env_remove("HUSH_DATABASE_URL")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && out.contains("audit log intact: 2 entries"),
        "{out}"
    );
    let missing = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path().join("nowhere"))
        .env_remove("HUSH_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no hush database"));

    // Pruning refuses to run unattended without --yes, then deletes the
    // old entries; the rest (and the prune's own entry) still verify.
    let hush = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hush"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("HUSH_DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let unattended = hush(&["audit", "prune", "--older-than", "0"]);
    assert_eq!(unattended.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unattended.stderr).contains("--yes"));
    let future = hush(&["audit", "prune", "--before", "2999-01-01", "--yes"]);
    assert_eq!(future.status.code(), Some(2));
    let pruned = hush(&["audit", "prune", "--older-than", "0", "--yes"]);
    let out = String::from_utf8_lossy(&pruned.stdout);
    assert!(
        pruned.status.success() && out.contains("pruned 2 audit entries"),
        "{out}"
    );
    let verify = hush(&["audit", "verify"]);
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success()
            && out.contains(
                "audit log intact: 1 entries verified (from entry 3 on; 2 older entries pruned)"
            ),
        "{out}"
    );

    // Checkpoints: signed lines kept elsewhere. Cutting the newest entries
    // off (and moving the head back, which a chain alone cannot catch) is
    // caught by the checkpoint that saw them.
    let checkpoints = dir.path().join("checkpoints");
    let take = || {
        let out = hush(&["audit", "checkpoint"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8(out.stdout).unwrap();
        assert!(line.starts_with("hush-audit-checkpoint/v1 seq="), "{line}");
        let mut all = std::fs::read_to_string(&checkpoints).unwrap_or_default();
        all.push_str(&line);
        std::fs::write(&checkpoints, all).unwrap();
    };
    take();
    // Another (empty) prune appends its own entry: the head moves on.
    assert!(hush(&["audit", "prune", "--before", "2001-01-01", "--yes"])
        .status
        .success());
    take();
    let checked = |args: &[&str]| {
        let mut all = vec!["audit", "verify", "--checkpoint"];
        all.push(checkpoints.to_str().unwrap());
        all.extend_from_slice(args);
        hush(&all)
    };
    let verify = checked(&[]);
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && out.matches(": holds").count() == 2,
        "{out}"
    );
    let db = rusqlite::Connection::open(data.join("hush.db")).unwrap();
    db.execute_batch(
        "DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log);
         UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log),
             hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1) WHERE id = 1;",
    )
    .unwrap();
    drop(db);
    let verify = checked(&[]);
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.code() == Some(1)
            && out.contains("audit log intact")
            && out.contains("FAILS: entry 4 with hash"),
        "{out}"
    );
    // Without the master key nothing can be checked, and it says why.
    let elsewhere = tempfile::tempdir().unwrap();
    let keyless = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["audit", "verify", "--database-url"])
        .arg(format!("sqlite://{}", data.join("hush.db").display()))
        .arg("--data-dir")
        .arg(elsewhere.path())
        .env_remove("HUSH_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(keyless.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&keyless.stderr).contains("master"));
}

/// A whole session at trace level: the log must contain none of the
/// tokens or secret values used.
#[test]
fn no_secret_or_token_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("data"), "trace");
    let admin = server.first_token();
    let base = format!("http://{}", server.addr);
    let values = [
        "s3cr3t-db-password-Q7",
        "sk_live_ZX81spectrum",
        "multi\nline-PEM-body",
    ];
    let pull_token = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let http = reqwest::Client::new();
        let post = |path: String, body: Value| {
            http.post(format!("{base}{path}"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
        };
        assert!(
            post("/v1/orgs/default/projects".into(), json!({"slug": "web"}))
                .await
                .unwrap()
                .status()
                .is_success()
        );
        post(
            "/v1/orgs/default/projects/web/environments".into(),
            json!({"slug": "production"}),
        )
        .await
        .unwrap();
        let set: Vec<Value> = values
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"name": format!("K{i}"), "value": v}))
            .collect();
        let resp = post(
            "/v1/orgs/default/projects/web/secrets?env=production".into(),
            json!({"set": set}),
        )
        .await
        .unwrap();
        assert!(resp.status().is_success());
        let created: Value = post(
            "/v1/orgs/default/tokens".into(),
            json!({"name": "ci", "kind": "pull", "project": "web"}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let pull_token = created["token"].as_str().unwrap().to_owned();
        let pulled: Value = http
            .get(format!(
                "{base}/api/v1/secrets/pull?env=production&token={pull_token}"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(pulled["data"]["secrets"]["K0"], values[0]);
        let read: Value = http
            .get(format!(
                "{base}/v1/orgs/default/projects/web/secrets?env=production&reveal=plain"
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(read["secrets"].as_array().unwrap().len(), 3);
        // Failed attempts are logged too; the bad token must not be.
        let bad = http
            .get(format!("{base}/v1/orgs"))
            .bearer_auth("hush_wrong-token-value-123")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 401);
        pull_token
    });
    let (_, _, log) = server.stop();
    assert!(
        log.lines().filter(|l| l.contains("request")).count() >= 7,
        "trace logging produced output: {log}"
    );
    for needle in values.iter().copied().chain([
        admin.as_str(),
        pull_token.as_str(),
        "hush_wrong-token-value-123",
    ]) {
        let probe = needle.split('\n').next().unwrap();
        assert!(!log.contains(probe), "log contains {probe:?}");
    }
}

/// `hush serve` that must refuse to start: its exit status and stderr.
fn refused(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log", "warn"])
        .args(args)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .env_remove("HUSH_MASTER_KEY_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the server must not start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A server whose master key is not the database's refuses to start and
/// names both keys; a replica of a shared database with no key refuses
/// instead of generating one (and never writes a key file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_missing_master_key_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data, "info");
    server.first_token();
    let (ok, _, log) = server.stop();
    assert!(ok, "{log}");
    let original = std::fs::read_to_string(data.join("master.key")).unwrap();
    let other = dir.path().join("other.key");
    std::fs::write(&other, "b".repeat(64)).unwrap();
    let stderr = refused(&[
        "--data-dir".as_ref(),
        data.as_os_str(),
        "--master-key-file".as_ref(),
        other.as_os_str(),
    ]);
    assert!(stderr.contains("sealed with master key"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(data.join("master.key")).unwrap(),
        original
    );

    let Some(db) = hush_testkit::TestDatabase::create(hush_testkit::Db::Postgres).await else {
        return;
    };
    let replica = dir.path().join("replica");
    let stderr = refused(&[
        "--data-dir".as_ref(),
        replica.as_os_str(),
        "--database-url".as_ref(),
        db.url.as_ref(),
    ]);
    assert!(stderr.contains("no master key"), "{stderr}");
    assert!(!replica.join("master.key").exists(), "no key is made up");
    // The first server on the shared database records its key; another
    // key is refused there too.
    let first = hush_testkit::TestServer::start_on(&db.url, [b'C'; 32]).await;
    first.stop().await;
    let stderr = refused(&[
        "--data-dir".as_ref(),
        replica.as_os_str(),
        "--database-url".as_ref(),
        db.url.as_ref(),
        "--master-key-file".as_ref(),
        other.as_os_str(),
    ]);
    assert!(stderr.contains("sealed with master key"), "{stderr}");
    db.drop_db().await;
}

/// `hush admin …` on a data directory: its output, status and stderr.
fn admin(data: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hush"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .env_remove("HUSH_MASTER_KEY_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The README's own order once lost the one-time token: a first start
/// whose port is taken must not create it. And an operator with the data
/// directory always has a way in (`hush admin`), server running or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_first_start_keeps_the_token_and_admin_lets_an_operator_in() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["serve", "--listen", &port, "--log", "warn", "--data-dir"])
        .arg(&data)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(taken);
    // The next start is still the first: it prints the token.
    let mut server = start(&data, "info");
    let first = server.first_token();
    let api = |token: String, path: &'static str| {
        let url = format!("http://{}{path}", server.addr);
        async move {
            let resp = reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    assert_eq!(api(first, "/v1/whoami").await.0, 200);

    // Lost anyway: an operator makes another, with the server running.
    let (ok, token, stderr) = admin(
        &data,
        &["token", "--name", "break-glass", "--expires", "1d"],
        "",
    );
    assert!(ok, "{stderr}");
    assert!(token.starts_with("hush_"), "{token}");
    let (status, me) = api(token.clone(), "/v1/whoami").await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["org"], "default");
    let (ok, _, stderr) = admin(&data, &["token", "--expires", "yesterday"], "");
    assert!(!ok && stderr.contains("--expires"), "{stderr}");

    // A second organization, with its own token.
    let (ok, acme, stderr) = admin(&data, &["orgs", "create", "acme", "--name", "Acme"], "");
    assert!(ok, "{stderr}");
    let (status, me) = api(acme, "/v1/whoami").await;
    assert_eq!((status, me["org"].as_str()), (200, Some("acme")), "{me}");
    let (ok, _, stderr) = admin(&data, &["orgs", "create", "secrets"], "");
    assert!(!ok && stderr.contains("reserved"), "{stderr}");
    let (ok, list, _) = admin(&data, &["orgs", "list"], "");
    assert!(
        ok && list.contains("acme") && list.contains("default"),
        "{list}"
    );
    let (ok, _, stderr) = admin(&data, &["orgs", "create", "doomed"], "");
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = admin(&data, &["orgs", "delete", "doomed"], "");
    assert!(!ok && stderr.contains("--yes"), "{stderr}");
    let (ok, _, stderr) = admin(&data, &["orgs", "delete", "doomed", "--yes"], "");
    assert!(ok, "{stderr}");
    let (_, list, _) = admin(&data, &["orgs", "list"], "");
    assert!(!list.contains("doomed"), "{list}");
    let verified = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .env_remove("HUSH_MASTER_KEY_FILE")
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "the chain survives an organization's deletion: {}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // An owner who can log in, and a reset that ends their sessions.
    let (ok, _, stderr) = admin(
        &data,
        &[
            "users",
            "create",
            "--email",
            "ada@example.com",
            "--role",
            "owner",
            "--password-stdin",
        ],
        "first password!!\n",
    );
    assert!(ok, "{stderr}");
    let login = |password: &'static str| {
        let url = format!("http://{}/v1/login", server.addr);
        async move {
            let resp = reqwest::Client::new()
                .post(url)
                .json(&json!({ "email": "ada@example.com", "password": password }))
                .send()
                .await
                .unwrap();
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, session) = login("first password!!").await;
    assert_eq!(status, 200, "{session}");
    let session = session["token"].as_str().unwrap().to_owned();
    let (ok, _, stderr) = admin(
        &data,
        &[
            "users",
            "reset-password",
            "--email",
            "ada@example.com",
            "--password-stdin",
        ],
        "second password!!\n",
    );
    assert!(ok, "{stderr}");
    assert_eq!(login("first password!!").await.0, 401);
    assert_eq!(login("second password!!").await.0, 200);
    // The running server drops the cached session within its cache's life.
    let mut ended = false;
    for _ in 0..40 {
        if api(session.clone(), "/v1/whoami").await.0 == 401 {
            ended = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ended, "the old session still works after a reset");
    // All of it is in the audit log, by the operator.
    let (_, page) = api(token, "/v1/orgs/default/audit?limit=100").await;
    let actions: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"].as_str().unwrap_or("").starts_with("operator:"))
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["token.create", "user.create", "user.password.reset"] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    let (clean, _, _) = server.stop();
    assert!(clean);
}

/// `hush serve --help` shows the server's flags only; client commands show
/// the global options in a section of their own.
#[test]
fn help_keeps_server_and_client_flags_apart() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_hush"))
            .args(args)
            .env_remove("HUSH_CA_CERT")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let serve = help(&["serve", "--help"]);
    assert!(serve.contains("--data-dir") && serve.contains("--max-connections"));
    for client_flag in ["--token", "--project", "--env ", "--output"] {
        assert!(
            !serve.contains(client_flag),
            "serve --help shows {client_flag}"
        );
    }
    let list = help(&["list", "--help"]);
    let (own, global) = list
        .split_once("Global options:")
        .expect("a section of their own");
    assert!(
        global.contains("--token") && !own.contains("--token"),
        "{list}"
    );
    assert!(help(&["admin", "token", "--help"]).contains("--org"));
}

/// `hush completions SHELL` prints a script the shell accepts.
#[test]
fn completions_are_valid_scripts() {
    let script = |shell: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_hush"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        String::from_utf8(out.stdout).unwrap()
    };
    let bash = script("bash");
    assert!(bash.contains("_hush()") && bash.contains("serve"), "bash");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &bash).unwrap();
    let checked = Command::new("bash")
        .arg("-n")
        .arg(file.path())
        .status()
        .unwrap();
    assert!(checked.success(), "bash -n rejects the completions");
    assert!(script("zsh").starts_with("#compdef hush"));
    assert!(script("fish").contains("complete -c hush"));
}

/// `hush serve --config FILE`: every flag as a key, flags and variables
/// win over it, unknown keys and inline secrets are refused; `--log-format
/// json` writes one JSON object per line.
#[test]
fn a_configuration_file_and_json_logs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hush-server.toml");
    let data = dir.path().join("data");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\nlog-format = \"json\"\nmax_connections_per_ip = 7\nvaultenv_open_registration = true\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["serve", "--config"])
        .arg(&file)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .env_remove("HUSH_DATA_DIR")
        .env_remove("HUSH_LISTEN")
        .env("HUSH_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let listening: Value = loop {
        let line = lines.next().expect("a log line").unwrap();
        let parsed: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not a JSON log line: {line}"));
        if parsed["message"] == "hush is listening" {
            break parsed;
        }
    };
    assert!(listening["addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    assert!(data.join("hush.db").exists(), "data_dir came from the file");
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    child.wait().unwrap();

    // Mistakes are caught before anything starts.
    let refused = |toml: &str| {
        std::fs::write(&file, toml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_hush"))
            .args(["serve", "--config"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{toml}");
        String::from_utf8(out.stderr).unwrap()
    };
    let err = refused("max_conections = 5\n");
    assert!(err.contains("did you mean \"max_connections\""), "{err}");
    let err = refused("master_key = \"abc\"\n");
    assert!(err.contains("master_key_file"), "{err}");
    let err = refused("database_url = \"postgres://hush:pw@db/hush\"\n");
    assert!(err.contains("HUSH_DATABASE_URL"), "{err}");
    // A flag wins over the file: the file's bad value is never used.
    std::fs::write(&file, "listen = \"not an address\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("other"))
        .arg("--config")
        .arg(&file)
        .arg("--master-key-file")
        .arg(dir.path().join("missing.key"))
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !err.contains("not an address") && err.contains("missing.key"),
        "{err}"
    );
}

/// SIGHUP reloads the TLS certificate (and does not stop the server).
#[test]
fn sighup_reloads_the_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_hush"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "info",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(&cert_path)
        .arg("--tls-key")
        .arg(&key_path)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut wait_for = |needle: &str| loop {
        let line = lines.next().expect("the server logs").unwrap();
        if line.contains(needle) {
            break;
        }
    };
    wait_for("hush is listening");
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    wait_for("reloaded the TLS certificate");
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP stopped the server"
    );
    Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// `hush admin rotate-master-key` on an embedded server: everything moves
/// to the new key, the data directory's key file is swapped (the old one
/// kept aside as master.key.retired), and the server starts with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_master_key_rotates_offline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = start(&data, "info");
    let token = server.first_token();
    let client = reqwest::Client::new();
    let base = format!("http://{}/v1/orgs/default/projects", server.addr);
    let status = client
        .post(&base)
        .bearer_auth(&token)
        .json(&json!({ "slug": "web" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 201);
    let status = client
        .put(format!("{base}/web/secrets/API_KEY"))
        .bearer_auth(&token)
        .json(&json!({ "value": "kept" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let (clean, _, _) = server.stop();
    assert!(clean);
    let old_key = std::fs::read(data.join("master.key")).unwrap();
    let new_key = dir.path().join("new.key");
    std::fs::write(&new_key, "ab".repeat(32)).unwrap();
    let (ok, _, stderr) = admin(
        &data,
        &[
            "rotate-master-key",
            "--new-key-file",
            new_key.to_str().unwrap(),
        ],
        "",
    );
    assert!(ok, "{stderr}");
    assert!(stderr.contains("master.key.retired"), "{stderr}");
    assert_eq!(
        std::fs::read(data.join("master.key.retired")).unwrap(),
        old_key
    );
    assert_eq!(
        std::fs::read_to_string(data.join("master.key")).unwrap(),
        "ab".repeat(32)
    );
    let server = start(&data, "info");
    let value: Value = client
        .get(format!(
            "http://{}/v1/orgs/default/projects/web/secrets/API_KEY?reveal=plain",
            server.addr
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(value["value"], "kept", "{value}");
    let (clean, _, _) = server.stop();
    assert!(clean);
    // The retired key no longer opens the database.
    let refused = refused(&[
        "--data-dir".as_ref(),
        data.as_os_str(),
        "--master-key-file".as_ref(),
        data.join("master.key.retired").as_os_str(),
    ]);
    assert!(refused.contains("sealed with master key"), "{refused}");
}
