//! Faults from outside: a full disk, concurrent check-and-set, a database
//! outage. What the server acknowledged must survive; what it refused
//! must be absent; it must say so honestly and recover by itself.

use std::collections::BTreeMap;

use hush_testkit::{Api, SmallDisk, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const KEY: [u8; 32] = [3u8; 32];

/// A value that is different for every write and takes some room.
fn value_for(i: usize) -> String {
    format!("{i:06}-{}", "x".repeat(1500))
}

async fn ready_status(server: &TestServer) -> StatusCode {
    server
        .anonymous(Method::GET, "/ready")
        .send()
        .await
        .unwrap()
        .status()
}

/// The SQLite database fills its disk mid-run: every write is either
/// acknowledged and present after a restart, or refused (503/507) and
/// absent; `/ready` says the writer cannot commit; once space returns the
/// server writes again without a restart; version numbers are never
/// reused and the audit chain verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_loses_no_acknowledged_write() {
    let Some(disk) = SmallDisk::mount(6 << 20) else {
        return;
    };
    let url = format!("sqlite://{}", disk.path.join("hush.db").display());
    let server = TestServer::start_on(&url, KEY).await;
    let admin = server.admin().to_owned();
    let api = Api::on(&server, &admin);
    let base = api.project("full", &["production"]).await;
    let put = |i: usize| {
        let api = Api::on(&server, &admin);
        let path = format!("{base}/secrets/K{i:05}?env=production");
        async move { api.put(&path, json!({ "value": value_for(i) })).await.0 }
    };

    disk.fill_leaving(192 * 1024);
    // Four writers at once, so batches hold several requests: each one is
    // acknowledged and durable, or refused and absent.
    let mut acked: BTreeMap<usize, u16> = BTreeMap::new();
    let mut refused = Vec::new();
    let mut writers = Vec::new();
    for w in 0..4usize {
        let url = server.url.clone();
        let admin = admin.clone();
        let base = base.clone();
        writers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut ok, mut no) = (Vec::new(), Vec::new());
            let mut refused_in_a_row = 0;
            for n in 0..750usize {
                let i = w * 1000 + n;
                let status = http
                    .put(format!("{url}{base}/secrets/K{i:05}?env=production"))
                    .bearer_auth(&admin)
                    .json(&json!({ "value": value_for(i) }))
                    .send()
                    .await
                    .unwrap()
                    .status();
                if status == StatusCode::OK {
                    ok.push(i);
                    refused_in_a_row = 0;
                } else {
                    assert!(
                        status == StatusCode::SERVICE_UNAVAILABLE
                            || status == StatusCode::INSUFFICIENT_STORAGE,
                        "a write on a full disk answers 503 or 507, not {status}"
                    );
                    no.push(i);
                    refused_in_a_row += 1;
                    if refused_in_a_row >= 10 {
                        return (ok, no, true);
                    }
                }
            }
            (ok, no, false)
        }));
    }
    for writer in writers {
        let (ok, no, filled) = writer.await.unwrap();
        assert!(filled, "the disk never filled up");
        acked.extend(ok.into_iter().map(|i| (i, 200)));
        refused.extend(no);
    }
    let mut i = 10_000;
    assert!(!acked.is_empty(), "some writes fit before the disk filled");
    assert_ne!(
        ready_status(&server).await,
        StatusCode::OK,
        "/ready reports a writer that cannot commit"
    );

    disk.free_filler();
    let mut recovered = false;
    for _ in 0..50 {
        let status = put(i).await;
        if status == StatusCode::OK {
            acked.insert(i, 200);
            recovered = true;
        } else {
            assert!(!recovered, "after recovering, writes keep working");
            refused.push(i);
        }
        i += 1;
        if recovered && acked.len() >= 5 {
            break;
        }
    }
    assert!(recovered, "the server writes again once space returns");
    assert_eq!(ready_status(&server).await, StatusCode::OK);
    for _ in 0..10 {
        assert_eq!(put(i).await, StatusCode::OK);
        acked.insert(i, 200);
        i += 1;
    }
    server.stop().await;

    let server = TestServer::start_on(&url, KEY).await;
    let api = Api::on(&server, &admin);
    let (status, list) = api
        .get(&format!(
            "{base}/secrets?env=production&reveal=plain&level=exact"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let stored: BTreeMap<String, String> = list["secrets"]
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
    for n in acked.keys() {
        assert_eq!(
            stored.get(&format!("K{n:05}")),
            Some(&value_for(*n)),
            "acknowledged write {n} survived the full disk and the restart"
        );
    }
    for n in &refused {
        assert!(
            !stored.contains_key(&format!("K{n:05}")),
            "refused write {n} is not stored"
        );
    }
    assert_eq!(stored.len(), acked.len());

    let (_, versions) = api
        .get(&format!("{base}/versions?env=production&limit=1000"))
        .await;
    let numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(
        numbers.len(),
        acked.len(),
        "one version per acknowledged write"
    );
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), numbers.len(), "no version number reused");

    let (status, verify) = api.get("/v1/orgs/default/audit/verify").await;
    assert_eq!(status, StatusCode::OK, "{verify}");
    assert_eq!(verify["ok"], Value::Bool(true), "{verify}");
    server.stop().await;
}

hush_testkit::on_both_backends!(
    concurrent_writers_make_one_version_each,
    check_and_set_counter_loses_no_increment,
);

/// 8 writers × 50 single-secret writes to one environment: exactly 400
/// new versions, numbered without gaps; a stale check-and-set is refused
/// with 409 and changes nothing.
async fn concurrent_writers_make_one_version_each(env: &hush_testkit::TestEnv) {
    let api = Api::admin(env);
    let base = api.project("busy", &["production"]).await;
    let mut writers = Vec::new();
    for w in 0..8 {
        let (url, token, base) = (env.server.url.clone(), api.token.clone(), base.clone());
        writers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..50 {
                let status = http
                    .put(format!("{url}{base}/secrets/W{w}_{i}?env=production"))
                    .bearer_auth(&token)
                    .json(&json!({ "value": format!("{w}-{i}") }))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, StatusCode::OK);
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let (_, versions) = api
        .get(&format!("{base}/versions?env=production&limit=1000"))
        .await;
    let mut numbers: Vec<i64> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=400).collect::<Vec<_>>());

    let (status, body) = api
        .put(
            &format!("{base}/secrets/W0_0?env=production&expected_version=7"),
            json!({ "value": "stale" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "version_conflict");
    let (_, now) = api
        .get(&format!(
            "{base}/secrets?env=production&level=exact&reveal=plain&names=W0_0"
        ))
        .await;
    assert_eq!(now["version"], 400);
    assert_eq!(now["secrets"][0]["value"], "0-0");
}

/// Read–increment–write clients with check-and-set, and readers at the
/// same time: every read's version is exactly the version of its value
/// (value = version − 1), and the counter ends equal to the successes.
async fn check_and_set_counter_loses_no_increment(env: &hush_testkit::TestEnv) {
    let api = Api::admin(env);
    let base = api.project("counter", &["production"]).await;
    let (status, _) = api
        .put(
            &format!("{base}/secrets/COUNTER?env=production"),
            json!({ "value": "0" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let read = {
        let (url, token, base) = (env.server.url.clone(), api.token.clone(), base.clone());
        move |http: reqwest::Client| {
            let (url, token, base) = (url.clone(), token.clone(), base.clone());
            async move {
                let body: Value = http
                    .get(format!(
                        "{url}{base}/secrets?env=production&level=exact&reveal=plain"
                    ))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let value: i64 = body["secrets"][0]["value"]
                    .as_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                (body["version"].as_i64().unwrap(), value)
            }
        }
    };
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let (read, done) = (read.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let (version, value) = read(http.clone()).await;
                assert_eq!(value, version - 1, "a read's version matches its content");
                reads += 1;
            }
            reads
        }));
    }
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (read, url, token, base) = (
            read.clone(),
            env.server.url.clone(),
            api.token.clone(),
            base.clone(),
        );
        clients.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut successes, mut conflicts) = (0, 0);
            while successes < 25 {
                let (version, value) = read(http.clone()).await;
                assert_eq!(value, version - 1);
                let status = http
                    .put(format!(
                        "{url}{base}/secrets/COUNTER?env=production&expected_version={version}"
                    ))
                    .bearer_auth(&token)
                    .json(&json!({ "value": (value + 1).to_string() }))
                    .send()
                    .await
                    .unwrap()
                    .status();
                match status {
                    StatusCode::OK => successes += 1,
                    StatusCode::CONFLICT => conflicts += 1,
                    other => panic!("check-and-set write answered {other}"),
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for client in clients {
        conflicts += client.await.unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap();
    }
    let (version, value) = read(reqwest::Client::new()).await;
    assert_eq!((value, version), (200, 201));
    assert!(
        conflicts > 0 && reads > 0,
        "the clients raced ({conflicts} conflicts, {reads} reads)"
    );
}

/// PostgreSQL goes away: reads, writes, pulls and `/ready` answer 503 with
/// `Retry-After` within two seconds instead of waiting 30; once it is back
/// the server serves again by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_fast_and_recovers() {
    use std::net::ToSocketAddrs;
    let Some(db) = hush_testkit::TestDatabase::create(hush_testkit::Db::Postgres).await else {
        return;
    };
    let host_port = db
        .url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|auth_host| auth_host.rsplit('@').next())
        .unwrap()
        .to_owned();
    let target = host_port.to_socket_addrs().unwrap().next().unwrap();
    let proxy = hush_testkit::TcpProxy::start(target).await;
    let server = TestServer::start_on(&proxy.url_through(&db.url), KEY).await;
    let api = Api::on(&server, server.admin());
    let base = api.project("outage", &["production"]).await;
    let secret = format!("{base}/secrets/A?env=production");
    assert_eq!(
        api.put(&secret, json!({ "value": "1" })).await.0,
        StatusCode::OK
    );
    let pull = api
        .token(json!({ "name": "p", "kind": "pull", "project": "outage" }))
        .await;
    let pull_path = "/api/v1/secrets/pull?env=production";

    proxy.cut();
    let timed = |name: &'static str, request: reqwest::RequestBuilder| async move {
        let started = std::time::Instant::now();
        let response = request.send().await.unwrap();
        let took = started.elapsed();
        assert!(
            took < std::time::Duration::from_secs(2),
            "{name} took {took:?} during the outage"
        );
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{name}");
        assert!(
            response.headers().contains_key("retry-after"),
            "{name} says when to retry"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"]["code"].is_string() || body["error"].is_string(),
            "{name}: {body}"
        );
    };
    let token = api.token.clone();
    timed("/ready", server.anonymous(Method::GET, "/ready")).await;
    timed(
        "read",
        server.request(
            Method::GET,
            &format!("{base}/secrets?env=production"),
            &token,
        ),
    )
    .await;
    timed(
        "write",
        server
            .request(Method::PUT, &secret, &token)
            .json(&json!({ "value": "2" })),
    )
    .await;
    timed("pull", server.request(Method::GET, pull_path, &pull)).await;

    proxy.restore();
    let mut back = false;
    for _ in 0..50 {
        if api.put(&secret, json!({ "value": "3" })).await.0 == StatusCode::OK {
            back = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(back, "writes work again once the database is back");
    assert_eq!(ready_status(&server).await, StatusCode::OK);
    let (status, pulled) = api.with(&pull).get(pull_path).await;
    assert_eq!(status, StatusCode::OK, "{pulled}");
    assert_eq!(pulled["data"]["secrets"]["A"], "3");
    server.stop().await;
    db.drop_db().await;
}

/// With `--audit-pull-interval`, a token's pulls of one environment are
/// one entry per interval with a count; every other request is still its
/// own entry; pulls pending at shutdown are flushed, not lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_can_be_summarized_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("hush.db").display());
    let summarizing = |config: &mut hush_server::ServerConfig| {
        config.audit_pull_interval = Some(std::time::Duration::from_millis(300));
    };
    let server = TestServer::start_with(&url, KEY, summarizing).await;
    let admin = server.admin().to_owned();
    let api = Api::on(&server, &admin);
    let base = api.project("pulled", &["production"]).await;
    api.put(
        &format!("{base}/secrets/A?env=production"),
        json!({ "value": "1" }),
    )
    .await;
    let pull = api
        .token(json!({ "name": "p", "kind": "pull", "project": "pulled" }))
        .await;
    let puller = api.with(&pull);
    for _ in 0..10 {
        let (status, _) = puller.get("/api/v1/secrets/pull?env=production").await;
        assert_eq!(status, StatusCode::OK);
    }
    let mut seen = Vec::new();
    for _ in 0..30 {
        seen = pull_counts(&api).await;
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, vec![10], "ten pulls, one entry");
    let (_, writes) = api.get("/v1/orgs/default/audit?action=secret.write").await;
    assert_eq!(writes["entries"].as_array().unwrap().len(), 1);

    for _ in 0..3 {
        puller.get("/api/v1/secrets/pull?env=production").await;
    }
    server.stop().await;
    let server = TestServer::start_with(&url, KEY, summarizing).await;
    let api = Api::on(&server, &admin);
    let mut counts = pull_counts(&api).await;
    counts.sort_unstable();
    assert_eq!(
        counts,
        vec![3, 10],
        "pulls pending at shutdown were flushed"
    );
    let (_, verify) = api.get("/v1/orgs/default/audit/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    server.stop().await;
}

/// The counts of the `secret.pull` audit entries, newest first.
async fn pull_counts(api: &Api<'_>) -> Vec<i64> {
    let (_, page) = api.get("/v1/orgs/default/audit?action=secret.pull").await;
    page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["count"].as_i64().unwrap())
        .collect()
}

/// The master key rotates under two replicas on PostgreSQL, both started
/// with the new key accepted, while clients pull from both without one
/// error; afterwards a server with the old key alone is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_key_rotates_under_serving_replicas() {
    let Some(db) = hush_testkit::TestDatabase::create(hush_testkit::Db::Postgres).await else {
        return;
    };
    let (old, new) = ([21u8; 32], [22u8; 32]);
    let accept_new = |config: &mut hush_server::ServerConfig| {
        config.accepted_master_key = Some(hush_core::crypto::MasterKey::from_bytes(new));
    };
    let first = TestServer::start_with(&db.url, old, accept_new).await;
    let second = TestServer::start_with(&db.url, old, accept_new).await;
    let admin = first.admin().to_owned();
    let api = hush_testkit::Api::on(&first, &admin);
    let mut tokens = Vec::new();
    for project in ["web", "api", "jobs"] {
        let base = api.project(project, &["production"]).await;
        let (status, _) = api
            .put(
                &format!("{base}/secrets/API_KEY?env=production"),
                json!({ "value": format!("{project}-key") }),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, token) = api
            .post(
                "/v1/orgs/default/tokens",
                json!({ "name": project, "kind": "pull", "project": project, "environment": "production" }),
            )
            .await;
        tokens.push((project, token["token"].as_str().unwrap().to_owned()));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pullers = tokio::task::JoinSet::new();
    for (i, url) in [first.url.clone(), second.url.clone()]
        .into_iter()
        .enumerate()
    {
        let (stop, tokens) = (stop.clone(), tokens.clone());
        pullers.spawn(async move {
            let client = reqwest::Client::new();
            let (mut pulls, mut failures) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for (project, token) in &tokens {
                    let response = client
                        .get(format!("{url}/v1/pull"))
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap();
                    let status = response.status();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    if status != StatusCode::OK
                        || body["secrets"]["API_KEY"] != format!("{project}-key")
                    {
                        failures.push(format!("replica {i}: {status} {body}"));
                    }
                    pulls += 1;
                }
            }
            (pulls, failures)
        });
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // The operator's rotation, on its own connection with the old key.
    let operator = hush_store::Store::open(hush_store::StoreOptions::new(
        db.url.clone(),
        hush_core::crypto::MasterKey::from_bytes(old),
    ))
    .await
    .unwrap();
    let new_key = hush_core::crypto::MasterKey::from_bytes(new);
    assert_eq!(operator.rotate_master_key(new_key).await.unwrap(), 3);
    operator.close().await;
    // New projects keep working on both replicas after the switch.
    let base = api.project("after", &["production"]).await;
    let (status, body) = hush_testkit::Api::on(&second, &admin)
        .put(
            &format!("{base}/secrets/X?env=production"),
            json!({ "value": "y" }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for (pulls, failures) in pullers.join_all().await {
        assert!(pulls > 10, "too few pulls to mean anything: {pulls}");
        assert!(failures.is_empty(), "{failures:?}");
    }
    second.stop().await;
    first.stop().await;
    // The old key alone no longer opens the database; the new one does.
    let refused = hush_store::Store::open(hush_store::StoreOptions::new(
        db.url.clone(),
        hush_core::crypto::MasterKey::from_bytes(old),
    ))
    .await;
    assert!(matches!(
        refused,
        Err(hush_store::StoreError::MasterKeyMismatch { .. })
    ));
    let restarted = TestServer::start_on(&db.url, new).await;
    let (project, token) = &tokens[0];
    let response = reqwest::Client::new()
        .get(format!("{}/v1/pull", restarted.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["secrets"]["API_KEY"], format!("{project}-key"));
    // A project a replica made after the rotation was sealed under the
    // new key, not the one it started with.
    let (status, body) = hush_testkit::Api::on(&restarted, &admin)
        .get("/v1/orgs/default/projects/after/secrets/X?env=production&reveal=plain")
        .await;
    assert_eq!(
        (status, &body["value"]),
        (StatusCode::OK, &json!("y")),
        "{body}"
    );
    restarted.stop().await;
    db.drop_db().await;
}

/// `/metrics` on its own address: Prometheus text that a real parser
/// (Python's prometheus_client) reads, with requests by surface, route
/// template and status, writer and cache figures, refusals; and never a
/// value, a name's content or a token anywhere in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_and_hold_no_secret() {
    let python = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/pyclient-venv/bin/python");
    let parser_ok = std::process::Command::new(&python)
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !parser_ok {
        let message = "target/pyclient-venv with prometheus-client is needed to parse /metrics";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message}");
        }
        eprintln!("SKIPPING: {message}");
        return;
    }
    let db = hush_testkit::TestDatabase::create(hush_testkit::Db::Sqlite)
        .await
        .unwrap();
    let server = TestServer::start_with(&db.url, [23u8; 32], |config| {
        config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
        config.rate_limits = hush_server::ratelimit::RateLimits {
            per_token: hush_server::ratelimit::Rate::per_second(2),
            per_ip: None,
        };
    })
    .await;
    let api = Api::on(&server, server.admin());
    let base = api.project("web", &["production"]).await;
    let planted = "sk_live_PLANTED_metric_value_9917";
    let (status, _) = api
        .put(
            &format!("{base}/secrets/PLANTED_NAME_XYZ?env=production"),
            json!({ "value": planted }),
        )
        .await;
    assert!(status.is_success() || status == StatusCode::TOO_MANY_REQUESTS);
    for _ in 0..10 {
        api.get(&format!(
            "{base}/secrets/PLANTED_NAME_XYZ?env=production&reveal=plain"
        ))
        .await;
    }
    let scraped = reqwest::get(format!("http://{}/metrics", server.metrics_addr().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [planted, "PLANTED_NAME_XYZ", server.admin()] {
        assert!(!scraped.contains(needle), "/metrics holds {needle}");
    }
    let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
def total(name, **labels):
    return sum(s.value for s in families[name].samples
               if s.name.endswith("_total") and all(s.labels.get(k) == v for k, v in labels.items()))
route = "/v1/orgs/{org}/projects/{project}/secrets/{name}"
assert total("hush_requests", surface="native", route=route, method="GET") >= 1, families["hush_requests"]
assert total("hush_rate_limited", surface="native") >= 1
assert total("hush_write_batches") >= 1 and total("hush_writes") >= 1
assert total("hush_token_cache_hits") + total("hush_token_cache_misses") >= 1
assert "hush_request_duration_seconds" in families and "hush_write_queue" in families
print("ok")
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(scraped.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{scraped}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.stop().await;
}
