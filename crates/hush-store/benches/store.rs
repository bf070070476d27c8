//! Store hot paths on SQLite (the embedded default):
//!
//! - `merged_read_100`: merged read + decrypt of an environment that shows
//!   100 secrets with 64-byte values (30 project-level keys overridden at
//!   the environment level, so the overlay does real work). Target: ≤ 300 µs
//!   median.
//! - `merged_read_100_metadata` and `ping`: the same read without
//!   decryption, and a query with no rows, to show where the time goes.
//! - `set_one`: one secret written as one version (durable commit with
//!   `synchronous=FULL`, plus the snapshot of a 100-key scope).
//!
//! Run: `cargo bench -p hush-store --bench store`

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, Criterion};
use hush_core::crypto::MasterKey;
use hush_core::{NameRule, SecretString, Slug};
use hush_store::*;

struct Bench {
    store: Store,
    scope: Scope,
    _dir: tempfile::TempDir,
}

async fn setup() -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Store::open(StoreOptions::new(url, MasterKey::generate()))
        .await
        .unwrap();
    let slug = |s| Slug::parse("bench", s).unwrap();
    let org = store
        .create_organization(&slug("acme"), "Acme")
        .await
        .unwrap();
    let project = store
        .create_project(&org, &slug("web"), "Web", EncryptionMode::Server, "bench")
        .await
        .unwrap();
    let env = store
        .create_child(
            ChildKind::Environment,
            &project,
            &slug("production"),
            "Production",
        )
        .await
        .unwrap();
    let value = "v".repeat(64);
    let changes = |range: std::ops::Range<usize>| {
        range
            .map(|i| {
                Change::Upsert(SecretInput::new(
                    NameRule::Native.parse(&format!("SECRET_{i:03}")).unwrap(),
                    InputValue::Plain(SecretString::from(value.as_str())),
                ))
            })
            .collect::<Vec<_>>()
    };
    let project_scope = Scope::new(&project, None, None).unwrap();
    store
        .write(&project_scope, changes(0..30), &Author::new("bench"), None)
        .await
        .unwrap();
    let scope = Scope::new(&project, None, Some(&env)).unwrap();
    store
        .write(&scope, changes(0..100), &Author::new("bench"), None)
        .await
        .unwrap();
    Bench {
        store,
        scope,
        _dir: dir,
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bench = rt.block_on(setup());
    let opts = ReadOptions::new(Reveal::Plaintext);
    let got = rt
        .block_on(bench.store.read_merged(&bench.scope, opts))
        .unwrap();
    assert_eq!(got.secrets.len(), 100);
    assert!(got.secrets.iter().all(|s| s.level == Level::Environment));

    c.bench_function("merged_read_100", |b| {
        b.to_async(&rt)
            .iter(|| async { bench.store.read_merged(&bench.scope, opts).await.unwrap() })
    });

    // Breakdown: the same read without decryption, and a round trip with no rows.
    let meta = ReadOptions::new(Reveal::Metadata);
    c.bench_function("merged_read_100_metadata", |b| {
        b.to_async(&rt)
            .iter(|| async { bench.store.read_merged(&bench.scope, meta).await.unwrap() })
    });
    c.bench_function("ping", |b| {
        b.to_async(&rt)
            .iter(|| async { bench.store.ping().await.unwrap() })
    });

    let name = NameRule::Native.parse("ROTATING").unwrap();
    c.bench_function("set_one", |b| {
        b.to_async(&rt).iter(|| async {
            let change = Change::Upsert(SecretInput::new(
                name.clone(),
                InputValue::Plain(SecretString::from(
                    "a 64-byte-ish value that changes on every write..",
                )),
            ));
            bench
                .store
                .write(&bench.scope, vec![change], &Author::new("bench"), None)
                .await
                .unwrap()
        })
    });
}

criterion_group! {
    name = store;
    config = Criterion::default().sample_size(50);
    targets = benches
}
criterion_main!(store);
