//! `hush backup` and `hush restore`, run as an operator runs them, against
//! servers that keep serving: a move from SQLite to PostgreSQL and back
//! that changes nothing, and a backup taken under concurrent writes that
//! restores to exactly a prefix of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use hush_core::crypto::MasterKey;
use hush_testkit::{Api, Db, TestDatabase, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::vaultenv::{self, Machine};

const KEY: [u8; 32] = [9; 32];
const PASS: &str = "correct horse battery staple";

fn key_file(dir: &Path) -> PathBuf {
    let path = dir.join("master.key");
    std::fs::write(&path, MasterKey::from_bytes(KEY).encode()).unwrap();
    path
}

/// `hush` with no HUSH_* variable from the test's environment.
fn hush(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hush"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HUSH_") {
            cmd.env_remove(name);
        }
    }
    cmd.args(args).current_dir(cwd).envs(env.iter().copied());
    cmd.output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{what}: {stderr}");
    stderr
}

fn backup(url: &str, file: &Path) -> String {
    ok(
        hush(
            &["backup", file.to_str().unwrap(), "--database-url", url],
            Path::new("."),
            &[],
        ),
        "hush backup",
    )
}

fn restore(file: &Path, url: &str, key: &Path) -> String {
    ok(
        hush(
            &[
                "restore",
                file.to_str().unwrap(),
                "--database-url",
                url,
                "--master-key-file",
                key.to_str().unwrap(),
            ],
            Path::new("."),
            &[],
        ),
        "hush restore",
    )
}

/// A backup's content without its header and trailer, in sorted order:
/// equal for two databases that hold the same rows.
fn content(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut body: Vec<String> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| (*l).to_owned())
        .collect();
    body.sort();
    body
}

/// A name → value map of one environment, as the API reveals it.
async fn values(api: &Api<'_>, base: &str, env: &str) -> BTreeMap<String, String> {
    let (status, body) = api
        .get(&format!("{base}/secrets?env={env}&reveal=plain"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// One user's machine running the hush CLI on an end-to-end-encrypted
/// project.
struct E2eeClient {
    home: tempfile::TempDir,
}

impl E2eeClient {
    fn run(&self, url: &str, token: &str, args: &[&str]) -> String {
        let home = self.home.path();
        let cache = home.join(format!("cache-{}", url.rsplit(':').next().unwrap()));
        let out = hush(
            args,
            &home.join("app"),
            &[
                ("HOME", home.to_str().unwrap()),
                ("HUSH_URL", url),
                ("HUSH_TOKEN", token),
                ("HUSH_KEY", PASS),
                ("HUSH_CONFIG_DIR", home.join("config").to_str().unwrap()),
                ("HUSH_CACHE_DIR", cache.to_str().unwrap()),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "hush {args:?}: {stderr}");
        String::from_utf8(out.stdout).unwrap()
    }
}

/// What a server holds before the move, to find again after it.
struct Before {
    admin: String,
    pull_token: String,
    web: BTreeMap<String, String>,
    web_api_staging: BTreeMap<String, String>,
    web_versions: Value,
}

async fn populate(server: &TestServer, e2ee: &E2eeClient) -> Before {
    let api = Api::on(server, server.admin());
    let base = api.project("web", &["production", "staging"]).await;
    api.post(&format!("{base}/targets"), json!({ "slug": "api" }))
        .await;
    for (name, value) in [("A", "1"), ("B", "two"), ("A", "3"), ("GONE", "x")] {
        let (status, body) = api
            .put(
                &format!("{base}/secrets/{name}?env=production"),
                json!({ "value": value }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    api.delete(&format!("{base}/secrets/GONE?env=production"))
        .await;
    api.put(
        &format!("{base}/secrets/Q?env=staging&target=api"),
        json!({ "value": "queue ünïcødé" }),
    )
    .await;
    api.user("ada@example.com", "member").await;
    let pull_token = api
        .token(json!({ "name": "ci", "kind": "pull", "project": "web" }))
        .await;
    let (status, _) = server
        .request(
            reqwest::Method::GET,
            "/api/v1/secrets/pull?env=production",
            &pull_token,
        )
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::OK);

    std::fs::create_dir_all(e2ee.home.path().join("app")).unwrap();
    e2ee.run(
        &server.url,
        server.admin(),
        &[
            "init",
            "--project",
            "vault",
            "--env",
            "production",
            "--e2ee",
            "--create",
        ],
    );
    std::fs::write(
        e2ee.home.path().join("app/.env"),
        "API_KEY=sk_live_e2ee_backup\nMULTI=\"one\\ntwo\"\n",
    )
    .unwrap();
    e2ee.run(&server.url, server.admin(), &["push", "--yes"]);

    let (_, web_versions) = api
        .get(&format!("{base}/versions?env=production&limit=100"))
        .await;
    Before {
        admin: server.admin().to_owned(),
        pull_token,
        web: values(&api, &base, "production").await,
        web_api_staging: values(&api, &base, "staging&target=api").await,
        web_versions,
    }
}

/// Everything still works on a server started on a restored database.
async fn check_after_move(server: &TestServer, before: &Before, e2ee: &E2eeClient) {
    let api = Api::on(server, &before.admin);
    let base = "/v1/orgs/default/projects/web";
    assert_eq!(values(&api, base, "production").await, before.web);
    assert_eq!(
        values(&api, base, "staging&target=api").await,
        before.web_api_staging
    );
    let (_, versions) = api
        .get(&format!("{base}/versions?env=production&limit=100"))
        .await;
    assert_eq!(versions, before.web_versions);
    // The pull token still pulls.
    let pulled: Value = server
        .request(
            reqwest::Method::GET,
            "/api/v1/secrets/pull?env=production",
            &before.pull_token,
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pulled["data"]["secrets"]["A"], "3", "{pulled}");
    // The user still logs in with their password.
    let ada = api.login("ada@example.com").await;
    let (status, _) = ada.get("/v1/orgs/default/projects").await;
    assert_eq!(status, StatusCode::OK);
    // The audit chain verifies.
    let (_, verified) = api.get("/v1/orgs/default/audit/verify").await;
    assert_eq!(verified["ok"], true, "{verified}");
    // The end-to-end-encrypted project opens with its passphrase.
    let e2ee_values: Value =
        serde_json::from_str(&e2ee.run(&server.url, &before.admin, &["pull", "--format", "json"]))
            .unwrap();
    assert_eq!(
        e2ee_values,
        json!({ "API_KEY": "sk_live_e2ee_backup", "MULTI": "one\ntwo" })
    );
}

/// SQLite → PostgreSQL → SQLite: every row identical at each step (the
/// backups of all three compare equal line for line), and on the moved
/// databases every secret, version, token, user, the audit chain, the
/// end-to-end-encrypted project and the real vault-env client work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_moves_sqlite_to_postgres_and_back() {
    let Some(pg) = TestDatabase::create(Db::Postgres).await else {
        return;
    };
    let venv = vaultenv::venv();
    let sqlite = TestDatabase::create(Db::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let server = TestServer::start_with(&sqlite.url, KEY, |c| {
        c.vaultenv_open_registration = true;
    })
    .await;
    let e2ee = E2eeClient {
        home: tempfile::tempdir().unwrap(),
    };
    let before = populate(&server, &e2ee).await;
    let mut machine = venv.as_ref().map(|venv| {
        let machine = Machine::new(venv, &server.url);
        machine.vde_ok(&["init", "--name", "my-app"]);
        let env_file = std::fs::read_to_string(machine.app().join(".env")).unwrap();
        std::fs::write(
            machine.app().join(".env"),
            format!("{env_file}API_KEY=vault env value\n"),
        )
        .unwrap();
        machine.vde_ok(&["push", "--env", "production"]);
        machine
    });

    // Online: the server is still running while the backup is taken.
    let first = dir.path().join("1.backup");
    let said = backup(&sqlite.url, &first);
    assert!(said.contains(&MasterKey::from_bytes(KEY).id()), "{said}");
    server.stop().await;

    let said = restore(&first, &pg.url, &key);
    assert!(said.contains("Audit chain verified"), "{said}");
    let second = dir.path().join("2.backup");
    backup(&pg.url, &second);
    let back = TestDatabase::create(Db::Sqlite).await.unwrap();
    restore(&second, &back.url, &key);
    let third = dir.path().join("3.backup");
    backup(&back.url, &third);
    let rows = content(&first);
    assert!(
        rows.len() > 60,
        "a populated database: {} lines",
        rows.len()
    );
    assert_eq!(rows, content(&second), "SQLite → PostgreSQL changed rows");
    assert_eq!(rows, content(&third), "PostgreSQL → SQLite changed rows");

    for url in [&pg.url, &back.url] {
        let server = TestServer::start_on(url, KEY).await;
        assert!(
            server.admin_token.is_none(),
            "a restored server bootstraps nothing"
        );
        check_after_move(&server, &before, &e2ee).await;
        if let Some(machine) = machine.as_mut() {
            machine.moved_to(&server.url);
            machine.vde_ok(&["pull", "--env", "production", "--output", "pulled.env"]);
            assert_eq!(
                std::fs::read_to_string(machine.app().join("pulled.env")).unwrap(),
                "API_KEY=vault env value\n"
            );
        }
        server.stop().await;
    }
    pg.drop_db().await;
}

/// A target that holds data is refused unless --replace; a damaged file
/// is refused before anything is written; the wrong master key is named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_what_it_should() {
    let source = TestDatabase::create(Db::Sqlite).await.unwrap();
    let server = TestServer::start_on(&source.url, KEY).await;
    Api::on(&server, server.admin())
        .project("web", &["production"])
        .await;
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let file = dir.path().join("b.backup");
    backup(&source.url, &file);
    server.stop().await;

    // Into the database it came from: not empty.
    let out = hush(
        &[
            "restore",
            file.to_str().unwrap(),
            "--database-url",
            &source.url,
            "--master-key-file",
            key.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("not empty") && said.contains("--replace"),
        "{said}"
    );
    // With --replace it is loaded over what was there.
    ok(
        hush(
            &[
                "restore",
                file.to_str().unwrap(),
                "--database-url",
                &source.url,
                "--master-key-file",
                key.to_str().unwrap(),
                "--replace",
            ],
            dir.path(),
            &[],
        ),
        "restore --replace",
    );

    // Another master key: refused, naming the one it needs.
    let other = dir.path().join("other.key");
    std::fs::write(&other, MasterKey::from_bytes([7; 32]).encode()).unwrap();
    let fresh = TestDatabase::create(Db::Sqlite).await.unwrap();
    let out = hush(
        &[
            "restore",
            file.to_str().unwrap(),
            "--database-url",
            &fresh.url,
            "--master-key-file",
            other.to_str().unwrap(),
        ],
        dir.path(),
        &[],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains(&MasterKey::from_bytes(KEY).id()), "{said}");

    // One changed byte: the checksum refuses it, and --check says so too.
    let text = std::fs::read_to_string(&file).unwrap();
    let damaged = dir.path().join("damaged.backup");
    std::fs::write(&damaged, text.replacen("\"web\"", "\"wab\"", 1)).unwrap();
    for args in [
        vec!["restore", damaged.to_str().unwrap(), "--check"],
        vec![
            "restore",
            damaged.to_str().unwrap(),
            "--database-url",
            &fresh.url,
            "--master-key-file",
            key.to_str().unwrap(),
        ],
    ] {
        let out = hush(&args, dir.path(), &[]);
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(said.contains("checksum mismatch"), "{said}");
    }
    ok(
        hush(
            &["restore", file.to_str().unwrap(), "--check"],
            dir.path(),
            &[],
        ),
        "restore --check",
    );
}

/// Writers that keep writing while the backup is taken: the restored
/// database holds, for each writer, exactly its first n writes with
/// nothing torn — every write acknowledged before the backup started
/// and none that began after it ended — and one audit entry per version.
async fn a_backup_under_writes_is_a_prefix(db: Db) {
    let Some(source) = TestDatabase::create(db).await else {
        return;
    };
    let server = TestServer::start_on(&source.url, KEY).await;
    let admin = server.admin().to_owned();
    let api = Api::on(&server, &admin);
    const WRITERS: usize = 4;
    let envs: Vec<String> = (0..WRITERS).map(|w| format!("w{w}")).collect();
    let env_refs: Vec<&str> = envs.iter().map(String::as_str).collect();
    let base = api.project("busy", &env_refs).await;
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Vec<AtomicI64>> = Arc::new((0..WRITERS).map(|_| AtomicI64::new(0)).collect());
    let started: Arc<Vec<AtomicI64>> = Arc::new((0..WRITERS).map(|_| AtomicI64::new(0)).collect());
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (url, token, base) = (server.url.clone(), admin.clone(), base.clone());
        let (stop, acked, started) = (stop.clone(), acked.clone(), started.clone());
        writers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                started[w].store(n, Ordering::SeqCst);
                let status = http
                    .put(format!("{url}{base}/secrets/N?env=w{w}"))
                    .bearer_auth(&token)
                    .json(&json!({ "value": n.to_string() }))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::OK);
                acked[w].store(n, Ordering::SeqCst);
                // Paced, so the versions and audit entries fit a page.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }));
    }
    // Every writer has written (however slow the machine) before the
    // backup starts, so each must be in it.
    for _ in 0..300 {
        if acked.iter().all(|a| a.load(Ordering::SeqCst) >= 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path());
    let file = dir.path().join("busy.backup");
    let floor: Vec<i64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    let url = source.url.clone();
    let file_for_backup = file.clone();
    tokio::task::spawn_blocking(move || backup(&url, &file_for_backup))
        .await
        .unwrap();
    let ceiling: Vec<i64> = started.iter().map(|s| s.load(Ordering::SeqCst)).collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let written: Vec<i64> = acked.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    server.stop().await;

    let target = TestDatabase::create(db).await.unwrap();
    restore(&file, &target.url, &key);
    let restored = TestServer::start_on(&target.url, KEY).await;
    let api = Api::on(&restored, &admin);
    let (_, audit) = api
        .get("/v1/orgs/default/audit?action=secret.write&limit=1000")
        .await;
    let audited = audit["entries"].as_array().unwrap();
    assert!(audited.len() < 1000, "one page holds every write");
    for w in 0..WRITERS {
        let env = format!("w{w}");
        let value: i64 = values(&api, &base, &env).await["N"].parse().unwrap();
        assert!(
            floor[w] <= value && value <= ceiling[w],
            "writer {w}: restored {value}, acknowledged before the backup {}, begun by its end {}",
            floor[w],
            ceiling[w]
        );
        assert!(value > 0 && value <= written[w]);
        let (_, versions) = api
            .get(&format!("{base}/versions?env={env}&limit=1000"))
            .await;
        let mut numbers: Vec<i64> = versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=value).collect::<Vec<_>>(), "writer {w}");
        let entries = audited
            .iter()
            .filter(|e| {
                e["resource"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("env={env}"))
            })
            .count();
        assert_eq!(
            entries as i64, value,
            "writer {w}: one audit entry per version"
        );
    }
    assert!(
        audited.len() < written.iter().sum::<i64>() as usize,
        "the backup was taken while writes went on, not after them"
    );
    let (_, verified) = api.get("/v1/orgs/default/audit/verify").await;
    assert_eq!(verified["ok"], true, "{verified}");
    restored.stop().await;
    source.drop_db().await;
    target.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_writes_is_a_prefix_on_sqlite() {
    a_backup_under_writes_is_a_prefix(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_writes_is_a_prefix_on_postgres() {
    a_backup_under_writes_is_a_prefix(Db::Postgres).await;
}
