//! `hush serve` killed with SIGKILL in the middle of concurrent writes, on
//! SQLite and on PostgreSQL. After a restart: every acknowledged write is
//! there with its value, bulk writes are all-or-nothing, version numbers
//! have no gaps or duplicates, every version has its audit entry, and the
//! audit chain verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hush_testkit::{Db, TestDatabase};
use serde_json::{json, Value};

const WRITERS: usize = 6;
const BULK: usize = 5;

/// A `hush serve` child process and the token it printed, if any.
struct Serve {
    child: Child,
    url: String,
    token: Option<String>,
}

fn serve(
    data: &std::path::Path,
    database: Option<(&str, &std::path::Path)>,
    first_start: bool,
) -> Serve {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hush"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--log", "info"])
        .args(["--rate-limit-token", "0", "--rate-limit-ip", "0"])
        .arg("--data-dir")
        .arg(data)
        .env_remove("HUSH_MASTER_KEY")
        .env_remove("HUSH_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some((url, key)) = database {
        cmd.arg("--database-url")
            .arg(url)
            .arg("--master-key-file")
            .arg(key);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs that it listens");
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in rx {});
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut token = None;
    let mut line = String::new();
    while first_start && stdout.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("hush_")) {
            token = Some(t.to_owned());
            break;
        }
        line.clear();
    }
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut rest);
    });
    Serve {
        child,
        url: format!("http://{addr}"),
        token,
    }
}

/// What the writers were told.
#[derive(Default)]
struct Outcome {
    /// Single writes acknowledged: name → value.
    singles: BTreeMap<String, String>,
    /// Bulk writes acknowledged: their names and value.
    bulks: Vec<(Vec<String>, String)>,
    /// Bulk writes sent but not acknowledged (the server died).
    unanswered_bulks: Vec<(Vec<String>, String)>,
}

async fn write_until_killed(
    url: &str,
    token: &str,
    base: &str,
    acked: Arc<AtomicUsize>,
) -> Outcome {
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (url, token, base, acked) = (
            url.to_owned(),
            token.to_owned(),
            base.to_owned(),
            acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            let mut out = Outcome::default();
            for i in 0.. {
                let value = format!("w{w}-i{i}-{}", "v".repeat(32));
                if i % 4 == 3 {
                    let names: Vec<String> = (0..BULK).map(|b| format!("B_{w}_{i}_{b}")).collect();
                    let set: Vec<Value> = names
                        .iter()
                        .map(|n| json!({ "name": n, "value": value }))
                        .collect();
                    let sent = http
                        .post(format!("{url}{base}/secrets?env=production"))
                        .bearer_auth(&token)
                        .json(&json!({ "set": set }))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            out.bulks.push((names, value));
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!("bulk write answered {}", r.status()),
                        Err(_) => {
                            out.unanswered_bulks.push((names, value));
                            return out;
                        }
                    }
                } else {
                    let name = format!("K_{w}_{i}");
                    let sent = http
                        .put(format!("{url}{base}/secrets/{name}?env=production"))
                        .bearer_auth(&token)
                        .json(&json!({ "value": value }))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status() == 200 => {
                            out.singles.insert(name, value);
                            acked.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => panic!("write answered {}", r.status()),
                        Err(_) => return out,
                    }
                }
            }
            out
        }));
    }
    let mut all = Outcome::default();
    for task in tasks {
        let out = task.await.unwrap();
        all.singles.extend(out.singles);
        all.bulks.extend(out.bulks);
        all.unanswered_bulks.extend(out.unanswered_bulks);
    }
    all
}

async fn get(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let resp = http.get(url).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{url}");
    resp.json().await.unwrap()
}

async fn sigkill_mid_writes(database: Option<(&str, &std::path::Path)>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = serve(&data, database, true);
    let token = server.token.clone().expect("first start prints a token");
    let http = reqwest::Client::new();
    let base = "/v1/orgs/default/projects/crash";
    for (path, body) in [
        (
            "/v1/orgs/default/projects".to_owned(),
            json!({ "slug": "crash" }),
        ),
        (
            format!("{base}/environments"),
            json!({ "slug": "production" }),
        ),
    ] {
        let r = http
            .post(format!("{}{path}", server.url))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }

    let acked = Arc::new(AtomicUsize::new(0));
    let writers = {
        let (url, token, acked) = (server.url.clone(), token.clone(), acked.clone());
        tokio::spawn(async move { write_until_killed(&url, &token, base, acked).await })
    };
    // Kill once a good number of writes went through, mid-stream.
    for _ in 0..600 {
        if acked.load(Ordering::Relaxed) >= 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let outcome = writers.await.unwrap();
    assert!(outcome.singles.len() + outcome.bulks.len() >= 300);

    let server = serve(&data, database, false);
    let url = &server.url;
    let state = get(
        &http,
        &format!("{url}{base}/secrets?env=production&level=exact&reveal=plain"),
        &token,
    )
    .await;
    let stored: BTreeMap<String, String> = state["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (name, value) in &outcome.singles {
        assert_eq!(stored.get(name), Some(value), "acknowledged {name}");
    }
    for (names, value) in &outcome.bulks {
        for name in names {
            assert_eq!(stored.get(name), Some(value), "acknowledged bulk {name}");
        }
    }
    for (names, _) in &outcome.unanswered_bulks {
        let present = names.iter().filter(|n| stored.contains_key(*n)).count();
        assert!(
            present == 0 || present == BULK,
            "bulk write torn: {present} of {BULK}"
        );
    }

    let current = state["version"].as_i64().unwrap();
    let mut numbers = Vec::new();
    let mut before = String::new();
    loop {
        let page = get(
            &http,
            &format!("{url}{base}/versions?env=production&limit=1000{before}"),
            &token,
        )
        .await;
        let page: Vec<i64> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect();
        let Some(last) = page.last().copied() else {
            break;
        };
        numbers.extend(page);
        before = format!("&before={last}");
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=current).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );

    // Every version committed with its audit entry: one secret.write entry
    // per version, whether or not its client heard back.
    let mut writes = 0;
    let mut before = String::new();
    loop {
        let page = get(
            &http,
            &format!("{url}/v1/orgs/default/audit?action=secret.write&limit=1000{before}"),
            &token,
        )
        .await;
        let entries = page["entries"].as_array().unwrap();
        writes += entries
            .iter()
            .filter(|e| e["status"] == 200 && e["result"] == "ok")
            .count();
        match entries.last() {
            Some(last) => before = format!("&before={}", last["seq"]),
            None => break,
        }
    }
    assert_eq!(writes as i64, current, "every version has its audit entry");
    eprintln!(
        "crash test: {} single and {} bulk writes acknowledged, {} bulk unanswered, {current} versions after the restart",
        outcome.singles.len(),
        outcome.bulks.len(),
        outcome.unanswered_bulks.len()
    );
    let verify = get(
        &http,
        &format!("{url}/v1/orgs/default/audit/verify"),
        &token,
    )
    .await;
    assert_eq!(verify["ok"], true, "{verify}");
    stop(server);
}

fn stop(mut server: Serve) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status();
    let _ = server.child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_writes_loses_nothing_on_sqlite() {
    sigkill_mid_writes(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_writes_loses_nothing_on_postgres() {
    let Some(db) = TestDatabase::create(Db::Postgres).await else {
        return;
    };
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("master.key");
    std::fs::write(&key, "A".repeat(43) + "=").unwrap();
    sigkill_mid_writes(Some((&db.url, &key))).await;
    db.drop_db().await;
}
