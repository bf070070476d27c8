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
