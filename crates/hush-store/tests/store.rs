//! The store conformance story: every test runs on SQLite, and on
//! PostgreSQL when `HUSH_TEST_DATABASE_URL` is set (each test in its own
//! schema, so tests run in parallel). Without the variable the PostgreSQL
//! half skips loudly, except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use hush_core::crypto::MasterKey;
use hush_core::{NameRule, SecretName, SecretString, Slug, Tag};
use hush_store::*;
use sqlx::Row as _;

// ---------------------------------------------------------------- harness

struct TestDb {
    store: Store,
    url: String,
    key: [u8; 32],
    database: hush_testkit::TestDatabase,
}

impl TestDb {
    async fn sqlite() -> Option<Self> {
        Self::on(hush_testkit::Db::Sqlite).await
    }

    /// A fresh schema (testkit's setup; skips loudly without
    /// HUSH_TEST_DATABASE_URL, fails under CI=true).
    async fn postgres() -> Option<Self> {
        Self::on(hush_testkit::Db::Postgres).await
    }

    async fn on(db: hush_testkit::Db) -> Option<Self> {
        let database = hush_testkit::TestDatabase::create(db).await?;
        Some(Self::open(database.url.clone(), database).await)
    }

    async fn open(url: String, database: hush_testkit::TestDatabase) -> Self {
        let key = [7u8; 32];
        let store = Store::open(StoreOptions::new(url.clone(), MasterKey::from_bytes(key)))
            .await
            .unwrap();
        Self {
            store,
            url,
            key,
            database,
        }
    }

    /// A second connection that bypasses the store, playing an attacker
    /// with write access to the database.
    async fn raw(&self) -> Arc<Raw> {
        Arc::new(match self.url.strip_prefix("sqlite://") {
            Some(path) => Raw::Sqlite(std::sync::Mutex::new(
                rusqlite::Connection::open(path).unwrap(),
            )),
            None => Raw::Pg(sqlx::PgPool::connect(&self.url).await.unwrap()),
        })
    }

    async fn reopen(&self, key: MasterKey) -> Result<Store> {
        Store::open(StoreOptions::new(self.url.clone(), key)).await
    }

    async fn finish(self) {
        self.store.close().await;
        self.database.drop_db().await;
    }
}

/// A raw connection to a test database (both backends).
enum Raw {
    Sqlite(std::sync::Mutex<rusqlite::Connection>),
    Pg(sqlx::PgPool),
}

/// A raw statement parameter.
enum P {
    T(String),
    B(Vec<u8>),
    I(i64),
    NullText,
    NullInt,
}

fn bound<'c>(conn: &'c rusqlite::Connection, sql: &str, params: &[P]) -> rusqlite::Statement<'c> {
    let mut stmt = conn.prepare(sql).unwrap();
    for (i, p) in params.iter().enumerate() {
        match p {
            P::T(t) => stmt.raw_bind_parameter(i + 1, t),
            P::B(b) => stmt.raw_bind_parameter(i + 1, b),
            P::I(n) => stmt.raw_bind_parameter(i + 1, n),
            P::NullText | P::NullInt => stmt.raw_bind_parameter(i + 1, rusqlite::types::Null),
        }
        .unwrap();
    }
    stmt
}

fn pg_query(
    sql: &str,
    params: Vec<P>,
) -> sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let mut q = sqlx::query(sql);
    for p in params {
        q = match p {
            P::T(t) => q.bind(t),
            P::B(b) => q.bind(b),
            P::I(n) => q.bind(n),
            P::NullText => q.bind(None::<String>),
            P::NullInt => q.bind(None::<i64>),
        };
    }
    q
}

impl Raw {
    /// Runs a statement; Err with the database's message if refused.
    async fn exec(&self, sql: &str, params: Vec<P>) -> Result<u64, String> {
        match self {
            Raw::Sqlite(conn) => bound(&conn.lock().unwrap(), sql, &params)
                .raw_execute()
                .map(|n| n as u64)
                .map_err(|e| e.to_string()),
            Raw::Pg(pool) => pg_query(sql, params)
                .execute(pool)
                .await
                .map(|d| d.rows_affected())
                .map_err(|e| e.to_string()),
        }
    }

    /// The first column of every row, as bytes.
    async fn bytes(&self, sql: &str, params: Vec<P>) -> Vec<Vec<u8>> {
        match self {
            Raw::Sqlite(conn) => {
                let conn = conn.lock().unwrap();
                let mut stmt = bound(&conn, sql, &params);
                let mut rows = stmt.raw_query();
                let mut out = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    out.push(row.get::<_, Vec<u8>>(0).unwrap());
                }
                out
            }
            Raw::Pg(pool) => pg_query(sql, params)
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<Vec<u8>, _>(0))
                .collect(),
        }
    }

    /// Every row, as text (cast non-text columns in the SQL).
    async fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            Raw::Sqlite(conn) => {
                let conn = conn.lock().unwrap();
                let mut stmt = conn.prepare(sql).unwrap();
                let n = stmt.column_count();
                let mut rows = stmt.query([]).unwrap();
                let mut out = Vec::new();
                while let Some(row) = rows.next().unwrap() {
                    out.push((0..n).map(|i| row.get::<_, String>(i).unwrap()).collect());
                }
                out
            }
            Raw::Pg(pool) => sqlx::query(sql)
                .fetch_all(pool)
                .await
                .unwrap()
                .iter()
                .map(|r| (0..r.len()).map(|i| r.get::<String, _>(i)).collect())
                .collect(),
        }
    }

    /// One integer (a count).
    async fn int(&self, sql: &str) -> i64 {
        match self {
            Raw::Sqlite(conn) => conn
                .lock()
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Raw::Pg(pool) => sqlx::query(sql)
                .fetch_one(pool)
                .await
                .unwrap()
                .get::<i64, _>(0),
        }
    }

    /// Runs a script of several statements.
    async fn script(&self, sql: &str) {
        match self {
            Raw::Sqlite(conn) => conn.lock().unwrap().execute_batch(sql).unwrap(),
            Raw::Pg(pool) => {
                sqlx::raw_sql(sql).execute(pool).await.unwrap();
            }
        }
    }

    async fn close(&self) {
        if let Raw::Pg(pool) = self {
            pool.close().await;
        }
    }
}

fn t(s: impl Into<String>) -> P {
    P::T(s.into())
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = super::TestDb::sqlite().await {
                        super::$name(&db).await;
                        db.finish().await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = super::TestDb::postgres().await {
                        super::$name(&db).await;
                        db.finish().await;
                    }
                }
            )*
        }
    };
}

conformance!(
    organizations_projects_and_slugs,
    merged_read_overlays_levels,
    inactive_and_expired_are_left_out,
    value_size_limit,
    version_log_reproduces_every_state,
    check_and_set,
    rename_keeps_history,
    swapped_ciphertexts_fail_to_decrypt,
    client_mode_stores_opaque_ciphertext,
    master_key_rotation_rewraps_only_keys,
    blob_scopes,
    vaultenv_keys_devices_and_replays,
    concurrent_writers_lose_nothing,
    bad_input_writes_nothing,
    deleting_a_project_removes_everything,
    audit_chain_detects_tampering,
    audit_prune_keeps_the_rest_verifiable,
    audit_chain_resists_a_database_only_attacker,
    audit_truncation_is_caught_by_a_checkpoint,
    audit_anchor_cannot_be_forged,
    the_last_owner_is_kept_by_the_write,
);

// ---------------------------------------------------------------- helpers

fn by(actor: &str) -> Author {
    Author::new(actor)
}

fn name(n: &str) -> SecretName {
    NameRule::Native.parse(n).unwrap()
}

fn slug(s: &str) -> Slug {
    Slug::parse("test", s).unwrap()
}

fn set(n: &str, v: &str) -> Change {
    Change::Upsert(SecretInput::new(
        name(n),
        InputValue::Plain(SecretString::from(v)),
    ))
}

fn plain(secrets: &[Secret]) -> Vec<(String, String, Level)> {
    secrets
        .iter()
        .map(|s| {
            let value = s.value.plain().map(|v| v.expose().to_owned());
            (s.name.clone(), value.unwrap_or_default(), s.level)
        })
        .collect()
}

fn kv(pairs: &[(&str, &str, Level)]) -> Vec<(String, String, Level)> {
    pairs
        .iter()
        .map(|(k, v, l)| (k.to_string(), v.to_string(), *l))
        .collect()
}

struct Fixture {
    org: Organization,
    project: Project,
    target: Target,
    env: Environment,
}

impl Fixture {
    async fn new(store: &Store, mode: EncryptionMode) -> Self {
        let org = store
            .create_organization(&slug("acme"), "Acme")
            .await
            .unwrap();
        let project = store
            .create_project(&org, &slug("web"), "Web", mode, "user:alice")
            .await
            .unwrap();
        let target = store
            .create_child(ChildKind::Target, &project, &slug("backend"), "Backend")
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
        Self {
            org,
            project,
            target,
            env,
        }
    }

    fn project_scope(&self) -> Scope {
        Scope::new(&self.project, None, None).unwrap()
    }

    fn env_scope(&self) -> Scope {
        Scope::new(&self.project, None, Some(&self.env)).unwrap()
    }
}

fn all() -> ReadOptions {
    ReadOptions {
        reveal: Reveal::Plaintext,
        include_inactive: true,
    }
}

// ---------------------------------------------------------------- tests

async fn organizations_projects_and_slugs(db: &TestDb) {
    let s = &db.store;
    let acme = s.create_organization(&slug("acme"), "Acme").await.unwrap();
    let other = s
        .create_organization(&slug("other"), "Other")
        .await
        .unwrap();
    assert!(matches!(
        s.create_organization(&slug("acme"), "Again").await,
        Err(StoreError::AlreadyExists {
            kind: "organization",
            ..
        })
    ));
    let web = s
        .create_project(&acme, &slug("web"), "Web", EncryptionMode::Server, "u")
        .await
        .unwrap();
    // Unique among siblings only.
    s.create_project(&other, &slug("web"), "Web", EncryptionMode::Client, "u")
        .await
        .unwrap();
    assert!(matches!(
        s.create_project(&acme, &slug("web"), "Web", EncryptionMode::Client, "u")
            .await,
        Err(StoreError::AlreadyExists {
            kind: "project",
            ..
        })
    ));
    let prod = s
        .create_child(ChildKind::Environment, &web, &slug("prod"), "Prod")
        .await
        .unwrap();
    // A target and an environment may share a slug; two environments may not.
    s.create_child(ChildKind::Target, &web, &slug("prod"), "Prod")
        .await
        .unwrap();
    assert!(matches!(
        s.create_child(ChildKind::Environment, &web, &slug("prod"), "Prod")
            .await,
        Err(StoreError::AlreadyExists {
            kind: "environment",
            ..
        })
    ));
    assert_eq!(s.organizations().await.unwrap().len(), 2);
    assert_eq!(
        s.projects(&acme, None, 100).await.unwrap(),
        vec![web.clone()]
    );
    assert!(s
        .projects(&acme, Some("web"), 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        s.project(&acme, "web").await.unwrap().mode,
        EncryptionMode::Server
    );
    assert_eq!(s.project_by_id(&web.id).await.unwrap(), web);
    assert_eq!(
        s.children(ChildKind::Environment, &web).await.unwrap(),
        vec![prod.clone()]
    );

    let err = s
        .resolve_scope("acme", "web", None, Some("staging"))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "environment not found: staging");
    let err = s
        .resolve_scope("acme", "nope", None, None)
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "project not found: nope");
    assert!(s.resolve_scope("nope", "web", None, None).await.is_err());
    let scope = s
        .resolve_scope("acme", "web", Some("prod"), Some("prod"))
        .await
        .unwrap();
    assert_eq!(scope.level(), Level::Environment);

    // A child of one project cannot address another project's scope.
    let other_web = s.project(&other, "web").await.unwrap();
    assert!(matches!(
        Scope::new(&other_web, None, Some(&prod)),
        Err(StoreError::ForeignScope {
            kind: "environment",
            ..
        })
    ));
    s.delete_child(&prod).await.unwrap();
    assert!(matches!(
        s.delete_child(&prod).await,
        Err(StoreError::NotFound {
            kind: "environment",
            ..
        })
    ));
}

async fn merged_read_overlays_levels(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    let target_scope = Scope::new(&f.project, Some(&f.target), None).unwrap();
    let deep = Scope::new(&f.project, Some(&f.target), Some(&f.env)).unwrap();
    s.write(
        &f.project_scope(),
        vec![set("A", "p"), set("B", "p"), set("C", "p")],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    s.write(
        &target_scope,
        vec![set("B", "t"), set("C", "t")],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    s.write(&deep, vec![set("C", "e")], &by("u"), None)
        .await
        .unwrap();
    s.write(&f.env_scope(), vec![set("D", "env-only")], &by("u"), None)
        .await
        .unwrap();

    let opts = ReadOptions::new(Reveal::Plaintext);
    use Level::*;
    assert_eq!(
        plain(&s.read_merged(&deep, opts).await.unwrap().secrets),
        kv(&[
            ("A", "p", Project),
            ("B", "t", Target),
            ("C", "e", Environment)
        ])
    );
    assert_eq!(
        plain(&s.read_merged(&target_scope, opts).await.unwrap().secrets),
        kv(&[("A", "p", Project), ("B", "t", Target), ("C", "t", Target)])
    );
    // The same environment without a target is a different scope.
    assert_eq!(
        plain(&s.read_merged(&f.env_scope(), opts).await.unwrap().secrets),
        kv(&[
            ("A", "p", Project),
            ("B", "p", Project),
            ("C", "p", Project),
            ("D", "env-only", Environment)
        ])
    );
    assert_eq!(
        plain(&s.read_level(&deep, opts).await.unwrap().secrets),
        kv(&[("C", "e", Environment)])
    );
    // Metadata reads reveal nothing and need no key.
    let meta = s
        .read_merged(&deep, ReadOptions::new(Reveal::Metadata))
        .await
        .unwrap()
        .secrets;
    assert!(meta.iter().all(|m| m.value == Value::Hidden));
    let sealed = s
        .read_level(&deep, ReadOptions::new(Reveal::Ciphertext))
        .await
        .unwrap()
        .secrets;
    assert!(matches!(&sealed[0].value, Value::Ciphertext(c) if c.len() == 12 + 1 + 16));
    // Authors are recorded per secret.
    s.write(&deep, vec![set("C", "e2")], &by("user:bob"), None)
        .await
        .unwrap();
    let c = &s.read_level(&deep, opts).await.unwrap().secrets[0];
    assert_eq!(
        (c.created_by.as_str(), c.updated_by.as_str()),
        ("u", "user:bob")
    );
    assert!(c.updated_at >= c.created_at);
}

async fn inactive_and_expired_are_left_out(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    s.write(
        &f.project_scope(),
        vec![set("SHADOWED", "project"), set("OLD", "x")],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    let mut disabled = SecretInput::new(name("SHADOWED"), InputValue::Plain("env".into()));
    disabled.is_active = false;
    let mut expired = SecretInput::new(name("OLD"), InputValue::Plain("expired".into()));
    expired.expires_at = Some(1_000);
    let mut future = SecretInput::new(name("SOON"), InputValue::Plain("ok".into()));
    future.expires_at = Some(i64::MAX);
    future.tags = vec![
        Tag::parse("payments").unwrap(),
        Tag::parse("stripe").unwrap(),
    ];
    future.note = Some("rotates monthly".into());
    future.is_reserved = true;
    s.write(
        &f.env_scope(),
        vec![
            Change::Upsert(disabled),
            Change::Upsert(expired),
            Change::Upsert(future),
        ],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    let live = s
        .read_merged(&f.env_scope(), ReadOptions::new(Reveal::Plaintext))
        .await
        .unwrap()
        .secrets;
    // A disabled override lets the shallower value show through.
    assert_eq!(
        plain(&live),
        kv(&[
            ("OLD", "x", Level::Project),
            ("SHADOWED", "project", Level::Project),
            ("SOON", "ok", Level::Environment)
        ])
    );
    let soon = live.iter().find(|x| x.name == "SOON").unwrap();
    assert_eq!(soon.tags, vec!["payments", "stripe"]);
    assert_eq!(soon.note.as_deref(), Some("rotates monthly"));
    assert!(soon.is_reserved);
    let everything = s.read_merged(&f.env_scope(), all()).await.unwrap().secrets;
    assert_eq!(
        plain(&everything),
        kv(&[
            ("OLD", "expired", Level::Environment),
            ("SHADOWED", "env", Level::Environment),
            ("SOON", "ok", Level::Environment)
        ])
    );
    // Changing only metadata keeps the value.
    let mut reactivate = SecretInput::new(name("SHADOWED"), InputValue::Keep);
    reactivate.is_active = true;
    s.write(
        &f.env_scope(),
        vec![Change::Upsert(reactivate)],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    let live = s
        .read_merged(&f.env_scope(), ReadOptions::new(Reveal::Plaintext))
        .await
        .unwrap()
        .secrets;
    assert!(plain(&live).contains(&("SHADOWED".into(), "env".into(), Level::Environment)));
}

async fn value_size_limit(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    let max = s.limits().max_value_bytes;
    assert_eq!(max, 64 * 1024);
    let big = "x".repeat(max);
    s.write(&f.env_scope(), vec![set("BIG", &big)], &by("u"), None)
        .await
        .unwrap();
    let err = s
        .write(
            &f.env_scope(),
            vec![set("OK", "fine"), set("HUGE", &format!("{big}y"))],
            &by("u"),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::ValueTooLarge { ref name, len, max: m } if name == "HUGE" && len == max + 1 && m == max)
    );
    assert_eq!(
        err.to_string(),
        "value of HUGE is 65537 bytes; the limit is 65536 bytes"
    );
    assert_eq!(s.current_version(&f.env_scope()).await.unwrap(), 1);
    let got = s.read_level(&f.env_scope(), all()).await.unwrap().secrets;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value.plain().unwrap().len(), max);

    // The limit is configuration.
    let mut options = StoreOptions::new(db.url.clone(), MasterKey::from_bytes(db.key));
    options.limits.max_value_bytes = 8;
    let small = Store::open(options).await.unwrap();
    assert!(matches!(
        small
            .write(
                &f.env_scope(),
                vec![set("NINE", "123456789")],
                &by("u"),
                None
            )
            .await,
        Err(StoreError::ValueTooLarge { .. })
    ));
    small.close().await;
}

async fn version_log_reproduces_every_state(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    let scope = f.env_scope();
    let mut seen: Vec<Vec<Secret>> = Vec::new();
    let writes: Vec<(Vec<Change>, &str)> = vec![
        (vec![set("A", "1")], "user:a"),
        (vec![set("B", "2"), set("C", "3"), set("A", "1b")], "user:b"),
        (vec![Change::Delete(name("C"))], "user:a"),
        (
            vec![Change::Rename {
                from: name("B"),
                to: name("BEE"),
            }],
            "user:c",
        ),
        (vec![set("D", "4")], "user:a"),
    ];
    for (i, (changes, author)) in writes.into_iter().enumerate() {
        let info = s.write(&scope, changes, &by(author), None).await.unwrap();
        assert_eq!(info.version, i as i64 + 1);
        assert_eq!(info.created_by, author);
        seen.push(s.read_level(&scope, all()).await.unwrap().secrets);
    }
    // Setting what is already there changes nothing and makes no version;
    // neither does a write whose changes cancel out.
    let same = s
        .write(
            &scope,
            vec![set("A", "1b"), set("D", "4")],
            &by("user:a"),
            None,
        )
        .await
        .unwrap();
    assert_eq!((same.version, same.changed_keys.len()), (5, 0));
    let undone = s
        .write(
            &scope,
            vec![set("E", "5"), Change::Delete(name("E"))],
            &by("user:a"),
            None,
        )
        .await
        .unwrap();
    assert_eq!((undone.version, undone.changed_keys.len()), (5, 0));
    assert_eq!(s.current_version(&scope).await.unwrap(), 5);
    let log = s.versions(&scope, None, 1000).await.unwrap();
    assert_eq!(
        log.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![5, 4, 3, 2, 1]
    );
    assert_eq!(log[3].changed_keys, vec!["B", "C", "A"]);
    assert_eq!(log[2].changed_keys, vec!["C"]);
    assert_eq!(log[1].changed_keys, vec!["B", "BEE"]);
    assert_eq!(log[1].created_by, "user:c");
    for (i, state) in seen.iter().enumerate() {
        let at = s
            .secrets_at(&scope, i as i64 + 1, Reveal::Plaintext)
            .await
            .unwrap();
        assert_eq!(&at, state, "state at version {}", i + 1);
    }

    use DiffKind::*;
    let scope_ref = &scope;
    let diff = |a, b| async move { s.diff(scope_ref, a, b).await.unwrap() };
    let names = |d: Vec<DiffEntry>| d.into_iter().map(|e| (e.name, e.kind)).collect::<Vec<_>>();
    assert_eq!(
        names(diff(1, 2).await),
        vec![
            ("A".into(), Changed),
            ("B".into(), Added),
            ("C".into(), Added)
        ]
    );
    assert_eq!(
        names(diff(2, 4).await),
        vec![
            ("B".into(), Removed),
            ("BEE".into(), Added),
            ("C".into(), Removed)
        ]
    );
    assert_eq!(names(diff(4, 5).await), vec![("D".into(), Added)]);

    // Restore is a new version equal to the old one.
    let restored = s.restore(&scope, 2, &by("user:r"), None).await.unwrap();
    assert_eq!((restored.version, restored.restored_from), (6, Some(2)));
    assert_eq!(restored.action, Action::Restore);
    assert_eq!(restored.changed_keys, vec!["B", "BEE", "C", "D"]);
    // Restoring what is current makes no version.
    let again = s.restore(&scope, 2, &by("user:r"), None).await.unwrap();
    assert_eq!((again.version, again.changed_keys.len()), (6, 0));
    let now = s.read_level(&scope, all()).await.unwrap().secrets;
    assert_eq!(now, seen[1]);
    assert_eq!(
        s.secrets_at(&scope, 6, Reveal::Plaintext).await.unwrap(),
        seen[1]
    );

    // Delete one version; the others are intact. The current one stays.
    s.delete_version(&scope, 3).await.unwrap();
    assert!(matches!(
        s.version(&scope, 3).await,
        Err(StoreError::NotFound {
            kind: "version",
            ..
        })
    ));
    assert!(matches!(
        s.delete_version(&scope, 3).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        s.secrets_at(&scope, 4, Reveal::Plaintext).await.unwrap(),
        seen[3]
    );
    assert!(matches!(
        s.delete_version(&scope, 6).await,
        Err(StoreError::CurrentVersion { version: 6 })
    ));

    // Purge keeps only the current state; numbering continues.
    assert_eq!(s.purge_history(&scope).await.unwrap(), 4);
    assert_eq!(
        s.versions(&scope, None, 1000)
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .collect::<Vec<_>>(),
        vec![6]
    );
    assert_eq!(s.read_level(&scope, all()).await.unwrap().secrets, seen[1]);
    let next = s
        .write(&scope, vec![set("Z", "z")], &by("u"), None)
        .await
        .unwrap();
    assert_eq!(next.version, 7);
    assert!(matches!(
        s.restore(&scope, 1, &by("u"), None).await,
        Err(StoreError::NotFound {
            kind: "version",
            ..
        })
    ));
    // Purged values are gone from the database, not just hidden.
    let raw = db.raw().await;
    let left = raw
        .int("SELECT COUNT(*) FROM version_changes WHERE version < 6")
        .await;
    assert_eq!(left, 0);
    raw.close().await;
}

async fn check_and_set(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    let scope = f.env_scope();
    assert_eq!(s.current_version(&scope).await.unwrap(), 0);
    s.write(&scope, vec![set("A", "1")], &by("u"), Some(0))
        .await
        .unwrap();
    s.write(&scope, vec![set("A", "2")], &by("u"), Some(1))
        .await
        .unwrap();
    let err = s
        .write(&scope, vec![set("A", "lost")], &by("u"), Some(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                expected: 1,
                actual: 2
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        s.restore(&scope, 1, &by("u"), Some(7)).await,
        Err(StoreError::Conflict {
            expected: 7,
            actual: 2
        })
    ));
    assert_eq!(s.current_version(&scope).await.unwrap(), 2);
    let now = s.read_level(&scope, all()).await.unwrap().secrets;
    assert_eq!(plain(&now), kv(&[("A", "2", Level::Environment)]));
    // A fresh scope is at version 0.
    let err = s
        .write(&f.project_scope(), vec![set("A", "1")], &by("u"), Some(3))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::Conflict {
            expected: 3,
            actual: 0
        }
    ));
    assert!(s
        .versions(&f.project_scope(), None, 1000)
        .await
        .unwrap()
        .is_empty());
}

async fn rename_keeps_history(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    let scope = f.env_scope();
    s.write(&scope, vec![set("DB_URL", "one")], &by("u"), None)
        .await
        .unwrap();
    s.write(
        &scope,
        vec![set("DB_URL", "two"), set("OTHER", "o")],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    s.write(
        &scope,
        vec![Change::Rename {
            from: name("DB_URL"),
            to: name("DATABASE_URL"),
        }],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    s.write(&scope, vec![set("DATABASE_URL", "three")], &by("u"), None)
        .await
        .unwrap();
    let history = s
        .secret_history(&scope, "DATABASE_URL", Reveal::Plaintext)
        .await
        .unwrap();
    let steps: Vec<(i64, &str, &str)> = history
        .iter()
        .map(|(v, sec)| (*v, sec.name.as_str(), sec.value.plain().unwrap().expose()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (1, "DB_URL", "one"),
            (2, "DB_URL", "two"),
            (3, "DATABASE_URL", "two"),
            (4, "DATABASE_URL", "three")
        ]
    );
    assert!(history.iter().all(|(_, sec)| sec.id == history[0].1.id));
    // Renaming onto an existing name or from a missing one writes nothing.
    let err = s
        .write(
            &scope,
            vec![Change::Rename {
                from: name("OTHER"),
                to: name("DATABASE_URL"),
            }],
            &by("u"),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { kind: "secret", .. }),
        "{err:?}"
    );
    assert!(matches!(
        s.write(
            &scope,
            vec![Change::Rename {
                from: name("NOPE"),
                to: name("X")
            }],
            &by("u"),
            None
        )
        .await,
        Err(StoreError::NotFound { kind: "secret", .. })
    ));
    assert_eq!(s.current_version(&scope).await.unwrap(), 4);
    assert!(matches!(
        s.secret_history(&scope, "NEVER", Reveal::Metadata).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn swapped_ciphertexts_fail_to_decrypt(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    s.write(
        &f.env_scope(),
        vec![set("A", "alpha"), set("B", "bravo")],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    let second = s
        .create_project(&f.org, &slug("api"), "API", EncryptionMode::Server, "u")
        .await
        .unwrap();
    let second_scope = Scope::new(&second, None, None).unwrap();
    s.write(
        &second_scope,
        vec![set("A", "other project")],
        &by("u"),
        None,
    )
    .await
    .unwrap();

    let raw = db.raw().await;
    let value_of = |n: &'static str, scope: String| {
        let raw = raw.clone();
        async move {
            raw.bytes(
                "SELECT value FROM secrets WHERE scope_id = $1 AND name = $2",
                vec![t(scope), t(n)],
            )
            .await
            .remove(0)
        }
    };
    let a = value_of("A", f.env_scope().key().to_owned()).await;
    let b = value_of("B", f.env_scope().key().to_owned()).await;
    let put = |n: &'static str, scope: String, v: Vec<u8>| {
        let raw = raw.clone();
        async move {
            raw.exec(
                "UPDATE secrets SET value = $1 WHERE scope_id = $2 AND name = $3",
                vec![P::B(v), t(scope), t(n)],
            )
            .await
            .unwrap();
        }
    };
    // Swap A and B inside one scope.
    put("A", f.env_scope().key().to_owned(), b.clone()).await;
    put("B", f.env_scope().key().to_owned(), a.clone()).await;
    let err = s.read_level(&f.env_scope(), all()).await.unwrap_err();
    assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");
    assert!(!err.to_string().contains("alpha") && !err.to_string().contains("bravo"));
    // Metadata reads still work: the damage is reported, not hidden.
    assert_eq!(
        s.read_level(&f.env_scope(), ReadOptions::new(Reveal::Metadata))
            .await
            .unwrap()
            .secrets
            .len(),
        2
    );
    // Put them back; then move A into the other project under the same name.
    put("A", f.env_scope().key().to_owned(), a.clone()).await;
    put("B", f.env_scope().key().to_owned(), b).await;
    assert_eq!(
        s.read_level(&f.env_scope(), all())
            .await
            .unwrap()
            .secrets
            .len(),
        2
    );
    put("A", second_scope.key().to_owned(), a.clone()).await;
    assert!(matches!(
        s.read_level(&second_scope, all()).await,
        Err(StoreError::Decrypt { .. })
    ));
    // And to another level of the same project.
    s.write(&f.project_scope(), vec![set("A", "p")], &by("u"), None)
        .await
        .unwrap();
    put("A", f.project_scope().key().to_owned(), a).await;
    assert!(matches!(
        s.read_level(&f.project_scope(), all()).await,
        Err(StoreError::Decrypt { .. })
    ));
    raw.close().await;
}

async fn client_mode_stores_opaque_ciphertext(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Client).await;
    let scope = f.env_scope();
    let blob = b"base64(iv||ct||tag) made by the client".to_vec();
    s.write(
        &scope,
        vec![Change::Upsert(SecretInput::new(
            name("API_KEY"),
            InputValue::Ciphertext(blob.clone()),
        ))],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    let err = s
        .write(&scope, vec![set("PLAIN", "nope")], &by("u"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::WrongValueKind { mode: "client", .. }),
        "{err:?}"
    );
    let err = s.read_level(&scope, all()).await.unwrap_err();
    assert!(matches!(err, StoreError::ClientEncrypted { .. }));
    assert!(err.to_string().contains("cannot decrypt"), "{err}");
    let got = s
        .read_merged(&scope, ReadOptions::new(Reveal::Ciphertext))
        .await
        .unwrap()
        .secrets;
    assert_eq!(got[0].value, Value::Ciphertext(blob.clone()));
    // Rename keeps the bytes as they are (the client bound them itself).
    s.write(
        &scope,
        vec![Change::Rename {
            from: name("API_KEY"),
            to: name("KEY"),
        }],
        &by("u"),
        None,
    )
    .await
    .unwrap();
    let got = s
        .read_level(&scope, ReadOptions::new(Reveal::Ciphertext))
        .await
        .unwrap()
        .secrets;
    assert_eq!(
        (got[0].name.as_str(), &got[0].value),
        ("KEY", &Value::Ciphertext(blob))
    );
    assert_eq!(
        s.diff(&scope, 1, 2).await.unwrap().len(),
        2,
        "diff works on names without decrypting"
    );

    // A server-mode project refuses client ciphertext.
    let server = s
        .create_project(&f.org, &slug("srv"), "Srv", EncryptionMode::Server, "u")
        .await
        .unwrap();
    let server_scope = Scope::new(&server, None, None).unwrap();
    let err = s
        .write(
            &server_scope,
            vec![Change::Upsert(SecretInput::new(
                name("X"),
                InputValue::Ciphertext(vec![1]),
            ))],
            &by("u"),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        StoreError::WrongValueKind { mode: "server", .. }
    ));

    // The mode is immutable even for someone writing SQL directly.
    let raw = db.raw().await;
    let flipped = raw
        .exec(
            "UPDATE projects SET encryption_mode = 'server' WHERE id = $1",
            vec![t(&f.project.id)],
        )
        .await;
    assert!(flipped.is_err());
    raw.close().await;
    assert_eq!(
        s.project_by_id(&f.project.id).await.unwrap().mode,
        EncryptionMode::Client
    );
}

async fn master_key_rotation_rewraps_only_keys(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    s.write(&f.env_scope(), vec![set("A", "alpha")], &by("u"), None)
        .await
        .unwrap();
    let api = s
        .create_project(&f.org, &slug("api"), "API", EncryptionMode::Server, "u")
        .await
        .unwrap();
    let api_scope = Scope::new(&api, None, None).unwrap();
    s.write(&api_scope, vec![set("B", "bravo")], &by("u"), None)
        .await
        .unwrap();
    let e2e = s
        .create_project(&f.org, &slug("e2e"), "E2E", EncryptionMode::Client, "u")
        .await
        .unwrap();
    s.create_vaultenv(&e2e.id).await.unwrap();
    s.set_vaultenv_key(&e2e.id, &[9u8; 32]).await.unwrap();

    let raw = db.raw().await;
    let values = || async {
        raw.bytes("SELECT value FROM secrets ORDER BY name", vec![])
            .await
    };
    let before = values().await;
    let new_key = MasterKey::generate();
    let new_encoded = new_key.encode();
    // A replica started for the rotation: the current key, the new one
    // accepted. It reads throughout, before and after.
    let replica = Store::open(StoreOptions {
        accepted_master_key: Some(MasterKey::decode(&new_encoded).unwrap()),
        ..StoreOptions::new(db.url.clone(), MasterKey::from_bytes(db.key))
    })
    .await
    .unwrap();
    replica.check_master_key().await.unwrap();
    assert_eq!(s.rotate_master_key(new_key).await.unwrap(), 2);
    assert_eq!(values().await, before, "values are not re-encrypted");
    raw.close().await;
    let opts = ReadOptions::new(Reveal::Plaintext);
    assert_eq!(
        plain(&s.read_level(&api_scope, opts).await.unwrap().secrets),
        kv(&[("B", "bravo", Level::Project)])
    );

    // A store opened with the old key is refused at once, naming both
    // fingerprints (it could not even unseal the audit chain's key).
    let err = db
        .reopen(MasterKey::from_bytes(db.key))
        .await
        .err()
        .unwrap();
    assert!(
        matches!(err, StoreError::MasterKeyMismatch { .. }),
        "{err:?}"
    );
    let fresh = db
        .reopen(MasterKey::decode(&new_encoded).unwrap())
        .await
        .unwrap();
    assert_eq!(
        plain(
            &fresh
                .read_level(&f.env_scope(), opts)
                .await
                .unwrap()
                .secrets
        ),
        kv(&[("A", "alpha", Level::Environment)])
    );
    fresh.check_master_key().await.unwrap();
    // The replica (its data-key cache cold for `api`) still reads, and a
    // new one started with both keys after the rotation too.
    replica.check_master_key().await.unwrap();
    assert_eq!(
        plain(&replica.read_level(&api_scope, opts).await.unwrap().secrets),
        kv(&[("B", "bravo", Level::Project)])
    );
    assert!(matches!(
        replica.vaultenv_key(&e2e.id).await.unwrap(),
        hush_store::VaultKey::Set(_)
    ));
    replica.close().await;
    let late = Store::open(StoreOptions {
        accepted_master_key: Some(MasterKey::from_bytes(db.key)),
        ..StoreOptions::new(db.url.clone(), MasterKey::decode(&new_encoded).unwrap())
    })
    .await
    .unwrap();
    late.close().await;
    // The old key opens nothing the database holds any more.
    let old = MasterKey::from_bytes(db.key);
    let raw = db.raw().await;
    let ids = raw
        .rows("SELECT id FROM projects WHERE wrapped_dek IS NOT NULL")
        .await;
    for id in ids.iter().map(|r| r[0].clone()) {
        let wrapped = raw
            .bytes(
                "SELECT wrapped_dek FROM projects WHERE id = $1",
                vec![P::T(id.clone())],
            )
            .await;
        assert!(old.unwrap(&wrapped[0], &id).is_err(), "project {id}");
        let new = MasterKey::decode(&new_encoded).unwrap();
        assert!(new.unwrap(&wrapped[0], &id).is_ok(), "project {id}");
    }
    let sealed = raw
        .bytes("SELECT sealed_key FROM vaultenv_keys", vec![])
        .await;
    assert!(old
        .open_secret("vaultenv-auth-key", &e2e.id, &sealed[0])
        .is_err());
    assert!(MasterKey::decode(&new_encoded)
        .unwrap()
        .open_secret("vaultenv-auth-key", &e2e.id, &sealed[0])
        .is_ok());
    raw.close().await;
    // The audit chain key was resealed: the chain still verifies.
    assert_eq!(fresh.verify_audit().await.unwrap().first_broken, None);
    // vault-env signing keys were resealed with the rest.
    match fresh.vaultenv_key(&e2e.id).await.unwrap() {
        hush_store::VaultKey::Set(key) => assert_eq!(*key, [9u8; 32]),
        other => panic!("{other:?}"),
    }
    fresh.close().await;
}

async fn vaultenv_keys_devices_and_replays(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Client).await;
    let id = &f.project.id;
    assert!(matches!(
        s.vaultenv_key(id).await.unwrap(),
        hush_store::VaultKey::NotVaultEnv
    ));
    assert!(matches!(
        s.set_vaultenv_key(id, &[1u8; 32]).await,
        Err(StoreError::NotFound { .. })
    ));
    s.create_vaultenv(id).await.unwrap();
    assert!(matches!(
        s.vaultenv_key(id).await.unwrap(),
        hush_store::VaultKey::NotSet
    ));
    s.set_vaultenv_key(id, &[1u8; 32]).await.unwrap();
    assert!(matches!(
        s.set_vaultenv_key(id, &[2u8; 32]).await,
        Err(StoreError::AlreadyExists { .. })
    ));
    let raw = db.raw().await;
    let sealed = raw
        .bytes("SELECT sealed_key FROM vaultenv_keys", vec![])
        .await
        .remove(0);
    assert!(
        !sealed.windows(32).any(|w| w == [1u8; 32]),
        "the key is sealed at rest"
    );
    raw.close().await;

    let first = s.register_device(id, "a", &"a".repeat(64)).await.unwrap();
    let second = s.register_device(id, "b", &"b".repeat(64)).await.unwrap();
    assert_eq!(
        (first.status.as_str(), second.status.as_str()),
        ("approved", "pending")
    );
    assert_eq!(
        s.register_device(id, "b again", &"b".repeat(64))
            .await
            .unwrap(),
        second
    );
    let approved = s
        .set_device_status(id, &second.id, DeviceStatus::Approved)
        .await
        .unwrap();
    assert!(approved.approved_at.is_some());
    s.touch_device(&second.id).await.unwrap();
    let devices = s.devices(id).await.unwrap();
    let touched = devices.iter().find(|d| d.id == second.id).unwrap();
    assert!(touched.last_seen_at.is_some());
    assert!(matches!(
        s.set_device_status(id, "nope", DeviceStatus::Revoked).await,
        Err(StoreError::NotFound { .. })
    ));

    let later = hush_store::audit_now() + 60_000;
    assert!(s.remember_signature(id, "d1", later).await.unwrap());
    assert!(
        !s.remember_signature(id, "d1", later).await.unwrap(),
        "a replay"
    );
    assert!(s.remember_signature(id, "d2", later).await.unwrap());
}

async fn blob_scopes(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Client).await;
    let scope = f.env_scope();
    assert_eq!(s.read_blob(&scope).await.unwrap(), None);
    let v1 = s
        .write_blob(
            &scope,
            Some(b"one".to_vec()),
            vec!["A".into()],
            &by("device:1"),
            None,
        )
        .await
        .unwrap();
    let v2 = s
        .write_blob(
            &scope,
            Some(b"two".to_vec()),
            vec!["A".into(), "B".into()],
            &by("device:1"),
            Some(1),
        )
        .await
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(
        s.read_blob(&scope).await.unwrap(),
        Some(Blob {
            content: Some(b"two".to_vec()),
            version: 2
        })
    );
    assert_eq!(
        s.blob_at(&scope, 1).await.unwrap().content.as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(
        s.versions(&scope, None, 1000).await.unwrap()[0].changed_keys,
        vec!["A", "B"]
    );
    let back = s.restore(&scope, 1, &by("user:x"), None).await.unwrap();
    assert_eq!((back.version, back.restored_from), (3, Some(1)));
    assert_eq!(
        s.read_blob(&scope)
            .await
            .unwrap()
            .unwrap()
            .content
            .as_deref(),
        Some(&b"one"[..])
    );
    // Clearing is a version too.
    s.write_blob(&scope, None, vec![], &by("u"), None)
        .await
        .unwrap();
    assert_eq!(
        s.read_blob(&scope).await.unwrap(),
        Some(Blob {
            content: None,
            version: 4
        })
    );
    // Entries and blobs do not mix in one scope.
    let entry = Change::Upsert(SecretInput::new(name("A"), InputValue::Ciphertext(vec![1])));
    assert!(matches!(
        s.write(&scope, vec![entry], &by("u"), None).await,
        Err(StoreError::ScopeKind { .. })
    ));
    assert_eq!(s.current_version(&scope).await.unwrap(), 4);
    let too_big = vec![0u8; s.limits().max_blob_bytes + 1];
    assert!(matches!(
        s.write_blob(&scope, Some(too_big), vec![], &by("u"), None)
            .await,
        Err(StoreError::ValueTooLarge { .. })
    ));
    assert_eq!(s.current_version(&scope).await.unwrap(), 4);
}

async fn concurrent_writers_lose_nothing(db: &TestDb) {
    let f = Fixture::new(&db.store, EncryptionMode::Server).await;
    let scope = Arc::new(f.env_scope());
    // Share one store the way a server does.
    let store = Arc::new(db.reopen(MasterKey::from_bytes(db.key)).await.unwrap());
    let mut tasks = Vec::new();
    for task in 0..8 {
        let (store, scope) = (store.clone(), scope.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let key = format!("K_{task}_{i}");
                store
                    .write(&scope, vec![set(&key, &key)], &by("u"), None)
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let log = store.versions(&scope, None, 1000).await.unwrap();
    let mut numbers: Vec<i64> = log.iter().map(|v| v.version).collect();
    numbers.sort();
    assert_eq!(numbers, (1..=400).collect::<Vec<_>>());
    assert_eq!(store.current_version(&scope).await.unwrap(), 400);
    let state = store.read_level(&scope, all()).await.unwrap().secrets;
    assert_eq!(state.len(), 400);
    assert!(state
        .iter()
        .all(|s| s.value.plain().unwrap().expose() == s.name));
    // Each version's snapshot holds exactly as many keys as its number.
    // Each version logged exactly the one name it wrote.
    let raw = db.raw().await;
    let bad = raw
        .int(
            "SELECT COUNT(*) FROM (SELECT version, COUNT(*) AS n FROM version_changes \
             GROUP BY version) counts WHERE n <> 1",
        )
        .await;
    assert_eq!(bad, 0);
    assert_eq!(raw.int("SELECT COUNT(*) FROM version_changes").await, 400);
    raw.close().await;
    store.close().await;
}

async fn bad_input_writes_nothing(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    let scope = f.env_scope();
    s.write(&scope, vec![set("A", "1")], &by("u"), None)
        .await
        .unwrap();
    // A failing change anywhere in a write undoes the whole write.
    let err = s
        .write(
            &scope,
            vec![set("B", "2"), Change::Delete(name("MISSING"))],
            &by("u"),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "secret not found: MISSING");
    let err = s
        .write(
            &scope,
            vec![
                set("C", "3"),
                Change::Upsert(SecretInput::new(name("GONE"), InputValue::Keep)),
            ],
            &by("u"),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { kind: "secret", .. }));
    assert_eq!(s.current_version(&scope).await.unwrap(), 1);
    assert_eq!(s.versions(&scope, None, 1000).await.unwrap().len(), 1);
    assert_eq!(
        plain(&s.read_level(&scope, all()).await.unwrap().secrets),
        kv(&[("A", "1", Level::Environment)])
    );
    // Unknown versions are typed errors.
    assert!(matches!(
        s.secrets_at(&scope, 9, Reveal::Metadata).await,
        Err(StoreError::NotFound {
            kind: "version",
            ..
        })
    ));
    assert!(matches!(
        s.diff(&scope, 1, 9).await,
        Err(StoreError::NotFound { .. })
    ));
    // Errors never carry values.
    let err = s
        .write(
            &scope,
            vec![set("BIG", &"s3cr3t".repeat(20_000))],
            &by("u"),
            None,
        )
        .await
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains("s3cr3t"));
}

async fn deleting_a_project_removes_everything(db: &TestDb) {
    let s = &db.store;
    let f = Fixture::new(s, EncryptionMode::Server).await;
    s.write(&f.env_scope(), vec![set("A", "1")], &by("u"), None)
        .await
        .unwrap();
    s.write(&f.project_scope(), vec![set("B", "1")], &by("u"), None)
        .await
        .unwrap();
    s.delete_project(&f.project).await.unwrap();
    let raw = db.raw().await;
    for table in [
        "secrets",
        "versions",
        "version_changes",
        "scopes",
        "environments",
        "targets",
    ] {
        let n = raw.int(&format!("SELECT COUNT(*) FROM {table}")).await;
        assert_eq!(n, 0, "{table}");
    }
    raw.close().await;
    assert!(matches!(
        s.delete_project(&f.project).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// Removing owners and first-run setup decide inside the write, so two
/// at once cannot leave an organization with no owner or with two
/// first owners.
async fn the_last_owner_is_kept_by_the_write(db: &TestDb) {
    let s = &db.store;
    // Two replicas on one database, each removing one of the last two
    // owners at the same instant, ten times over.
    let replica = db.reopen(MasterKey::from_bytes(db.key)).await.unwrap();
    for round in 0..10 {
        let org = s
            .create_organization(&slug(&format!("acme-{round}")), "Acme")
            .await
            .unwrap();
        let user =
            |email: &'static str, role: Role| s.create_user(&org.id, email, "$argon2id$x", role);
        let (a, b) = (
            user("a@example.com", Role::Owner).await.unwrap(),
            user("b@example.com", Role::Owner).await.unwrap(),
        );
        let (first, second) = tokio::join!(
            s.delete_user(&org.id, &a.id),
            replica.delete_user(&org.id, &b.id)
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        assert!(first ^ second, "exactly one owner goes: {first} {second}");
        let left = if first { &b } else { &a };
        assert!(!s.delete_user(&org.id, &left.id).await.unwrap());
        assert_eq!(s.role(&org.id, &left.id).await.unwrap(), Some(Role::Owner));
        if round == 0 {
            let c = user("c@example.com", Role::Member).await.unwrap();
            assert!(s.delete_user(&org.id, &c.id).await.unwrap());
            assert!(matches!(
                s.delete_user(&org.id, &c.id).await,
                Err(StoreError::NotFound { .. })
            ));
        }
    }
    replica.close().await;
    if !db.url.starts_with("sqlite://") {
        removal_waits_for_another_replicas(db).await;
    }

    // First-run setup: one owner from one token, however many try.
    let fresh = s
        .create_organization(&slug("fresh"), "Fresh")
        .await
        .unwrap();
    let token = s
        .create_token(NewToken {
            org_id: fresh.id.clone(),
            project_id: None,
            environment_id: None,
            kind: TokenKind::Api,
            name: "bootstrap".to_owned(),
            token_hash: "00".repeat(32),
            prefix: "hush_boot".to_owned(),
            scopes: vec!["org:admin".to_owned()],
            expires_at: None,
            created_by: "system".to_owned(),
            user_id: None,
        })
        .await
        .unwrap();
    let setup =
        |email: &'static str| s.create_first_owner(&fresh.id, &token.id, email, "$argon2id$y");
    let (first, second) = tokio::join!(setup("x@example.com"), setup("y@example.com"));
    let made: Vec<_> = [first.unwrap(), second.unwrap()]
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(made.len(), 1);
    let members = s.members(&fresh.id).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].user_id.as_str(), members[0].role),
        (made[0].id.as_str(), Role::Owner)
    );
    let spent = s.token(&fresh.id, &token.id).await.unwrap().unwrap();
    assert!(spent.disabled && spent.revoked);
    assert!(setup("z@example.com").await.unwrap().is_none());
}

/// PostgreSQL, deterministically: another replica has removed (or
/// demoted) one of the last two owners in a transaction not yet committed;
/// removing (or demoting) the other waits for it and then refuses.
/// Without the owners locked, it would see two owners in its snapshot
/// and go ahead, leaving none.
async fn removal_waits_for_another_replicas(db: &TestDb) {
    let s = &db.store;
    for (i, (theirs, remove)) in [
        ("DELETE FROM users WHERE id = $1", true),
        (
            "UPDATE memberships SET role = 'admin' WHERE user_id = $1",
            false,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let org = s
            .create_organization(&slug(&format!("held-{i}")), "Held")
            .await
            .unwrap();
        let a = s
            .create_user(&org.id, "a@example.com", "$argon2id$x", Role::Owner)
            .await
            .unwrap();
        let b = s
            .create_user(&org.id, "b@example.com", "$argon2id$x", Role::Owner)
            .await
            .unwrap();
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        let mut other = pool.begin().await.unwrap();
        let done = sqlx::query(theirs)
            .bind(&a.id)
            .execute(&mut *other)
            .await
            .unwrap();
        assert_eq!(done.rows_affected(), 1);
        let commit_later = async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            other.commit().await.unwrap();
        };
        let ours = async {
            if remove {
                s.delete_user(&org.id, &b.id).await
            } else {
                s.set_role(&org.id, &b.id, Role::Admin).await
            }
        };
        let (changed, ()) = tokio::join!(ours, commit_later);
        pool.close().await;
        assert!(!changed.unwrap(), "{theirs}: the last owner went");
        assert_eq!(s.role(&org.id, &b.id).await.unwrap(), Some(Role::Owner));
    }
}

/// The SQLite fast read path runs inline on whatever runtime calls it; the
/// suite above runs multi-threaded, this on a current-thread runtime.
#[tokio::test(flavor = "current_thread")]
async fn sqlite_reads_on_a_current_thread_runtime() {
    let db = TestDb::sqlite().await.unwrap();
    let f = Fixture::new(&db.store, EncryptionMode::Server).await;
    db.store
        .write(&f.env_scope(), vec![set("A", "1")], &by("u"), None)
        .await
        .unwrap();
    let got = db
        .store
        .read_merged(&f.env_scope(), all())
        .await
        .unwrap()
        .secrets;
    assert_eq!(plain(&got), kv(&[("A", "1", Level::Environment)]));
    db.finish().await;
}

fn audit_entry(i: i64, org: &str) -> AuditEntry {
    AuditEntry {
        at: 1_700_000_000_000 + i,
        org_id: Some(org.to_owned()),
        project_id: None,
        actor: format!("token:{}", i % 3),
        action: if i % 2 == 0 {
            "secret.read".into()
        } else {
            "secret.write".into()
        },
        resource: "default/web/secrets?env=production".into(),
        result: "ok".into(),
        status: 200,
        ip: "127.0.0.1".into(),
        user_agent: "test".into(),
        count: 1,
    }
}

async fn audit_chain_detects_tampering(db: &TestDb) {
    // Two handles on one database append concurrently, like two replicas.
    let a = Arc::new(db.reopen(MasterKey::from_bytes(db.key)).await.unwrap());
    let b = Arc::new(db.reopen(MasterKey::from_bytes(db.key)).await.unwrap());
    let mut tasks = Vec::new();
    for (n, store) in [a.clone(), b.clone(), a.clone(), b.clone()]
        .into_iter()
        .enumerate()
    {
        tasks.push(tokio::spawn(async move {
            for batch in 0..5i64 {
                let entries: Vec<_> = (0..50)
                    .map(|i| audit_entry(n as i64 * 1000 + batch * 50 + i, "org1"))
                    .collect();
                store.append_audit(&entries).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let s = &db.store;
    let v = s.verify_audit().await.unwrap();
    assert_eq!(
        (v.entries, v.first_broken, v.problem, v.anchor, v.head.0),
        (1000, None, None, None, 1000)
    );
    let page = s
        .audit(&AuditQuery {
            org_id: Some("org1".into()),
            action: Some("secret.write".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 10);
    assert!(page.windows(2).all(|w| w[0].seq > w[1].seq));
    assert!(page.iter().all(|r| r.entry.action == "secret.write"));
    let next = s
        .audit(&AuditQuery {
            org_id: Some("org1".into()),
            before_seq: Some(page[9].seq),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(next[0].seq < page[9].seq);
    assert!(s
        .audit(&AuditQuery {
            org_id: Some("other".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .is_empty());

    let raw = db.raw().await;
    // Edit one field of entry 500.
    raw.exec(
        "UPDATE audit_log SET actor = 'token:innocent' WHERE seq = 500",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(s.verify_audit().await.unwrap().first_broken, Some(500));
    // Delete an entry in the middle.
    let fresh = db.reopen(MasterKey::from_bytes(db.key)).await.unwrap();
    raw.exec("DELETE FROM audit_log WHERE seq = 300", vec![])
        .await
        .unwrap();
    assert_eq!(fresh.verify_audit().await.unwrap().first_broken, Some(300));
    // Cutting off the newest entries is caught by the head.
    raw.exec("DELETE FROM audit_log WHERE seq >= 250", vec![])
        .await
        .unwrap();
    let v = fresh.verify_audit().await.unwrap();
    assert_eq!(
        (v.entries, v.first_broken, v.problem),
        (249, Some(250), Some(AuditProblem::Truncated))
    );
    raw.close().await;
    fresh.close().await;
    a.close().await;
    b.close().await;
}

// ------------------------------------------------- migration from snapshots

/// A secret as the old schema stored it, in the order of its columns
/// after `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OldRow {
    id: String,
    value: Vec<u8>,
    note: Option<String>,
    tags: String,
    active: bool,
    reserved: bool,
    expires: Option<i64>,
    created_at: i64,
    updated_at: i64,
    created_by: String,
    updated_by: String,
}

/// One scope written the way hush wrote before migration 8: every version
/// a full copy of the scope in `version_entries`.
struct OldScope {
    key: String,
    env: String,
    current: std::collections::BTreeMap<String, OldRow>,
    version: i64,
    states: std::collections::BTreeMap<i64, std::collections::BTreeMap<String, OldRow>>,
}

impl OldScope {
    async fn write(&mut self, raw: &Raw, changed: Vec<String>, now: i64) {
        self.version += 1;
        let v = self.version;
        raw.exec(
            "INSERT INTO scopes (id, project_id, target_id, environment_id, kind, current_version, \
             updated_at) VALUES ($1, 'proj1', NULL, $2, 'entries', $3, $4) ON CONFLICT (id) DO \
             UPDATE SET current_version = excluded.current_version",
            vec![t(&self.key), t(&self.env), P::I(v), P::I(now)],
        )
        .await
        .unwrap();
        raw.exec(
            "INSERT INTO versions (scope_id, version, action, changed_keys, restored_from, blob, \
             created_at, created_by) VALUES ($1, $2, 'write', $3, NULL, NULL, $4, 'user:old')",
            vec![t(&self.key), P::I(v), t(changed.join("\n")), P::I(now)],
        )
        .await
        .unwrap();
        raw.exec(
            "DELETE FROM secrets WHERE scope_id = $1",
            vec![t(&self.key)],
        )
        .await
        .unwrap();
        for (name, row) in &self.current {
            let values = |extra: Vec<P>| {
                let mut v = extra;
                v.extend([
                    t(name),
                    P::B(row.value.clone()),
                    row.note.clone().map_or(P::NullText, t),
                    t(&row.tags),
                    P::I(row.active as i64),
                    P::I(row.reserved as i64),
                    row.expires.map_or(P::NullInt, P::I),
                    P::I(row.created_at),
                    P::I(row.updated_at),
                    t(&row.created_by),
                    t(&row.updated_by),
                ]);
                v
            };
            raw.exec(
                "INSERT INTO secrets (scope_id, id, name, value, note, tags, is_active, \
                 is_reserved, expires_at, created_at, updated_at, created_by, updated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                values(vec![t(&self.key), t(&row.id)]),
            )
            .await
            .unwrap();
            raw.exec(
                "INSERT INTO version_entries (scope_id, version, secret_id, name, value, note, \
                 tags, is_active, is_reserved, expires_at, created_at, updated_at, created_by, \
                 updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                values(vec![t(&self.key), P::I(v), t(&row.id)]),
            )
            .await
            .unwrap();
        }
        self.states.insert(v, self.current.clone());
    }

    /// The old `delete_version`: its snapshot and its log entry go.
    async fn delete(&mut self, raw: &Raw, v: i64) {
        for table in ["version_entries", "versions"] {
            raw.exec(
                &format!("DELETE FROM {table} WHERE scope_id = $1 AND version = $2"),
                vec![t(&self.key), P::I(v)],
            )
            .await
            .unwrap();
        }
        self.states.remove(&v);
    }
}

/// A seeded pseudo-random number below `n`.
fn lcg(x: &mut u64, n: u64) -> u64 {
    *x = x
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*x >> 33) % n
}

/// One change of a pseudo-random history over a dozen names: a set (new,
/// updated, or metadata only), a delete or a rename. Returns the names it
/// changed, or `None` when the draw changed nothing.
fn old_step(scope: &mut OldScope, x: &mut u64, step: i64) -> Option<Vec<String>> {
    let now = 1_700_000_000_000 + step * 1000;
    let name = format!("N{}", lcg(x, 12));
    let mut changed = vec![name.clone()];
    match (lcg(x, 10), scope.current.get(&name).cloned()) {
        (0..=1, Some(_)) => {
            scope.current.remove(&name);
        }
        (2, Some(mut row)) => {
            let to = format!("R{}", lcg(x, 4));
            if scope.current.contains_key(&to) {
                return None;
            }
            scope.current.remove(&name);
            row.updated_at = now;
            scope.current.insert(to.clone(), row);
            changed.push(to);
        }
        (3, Some(mut row)) => {
            row.note = Some(format!("note {step}"));
            row.tags = "a,b".into();
            row.active = !row.active;
            row.updated_at = now;
            scope.current.insert(name, row);
        }
        (_, existing) => {
            let row = OldRow {
                id: existing
                    .as_ref()
                    .map_or_else(|| format!("id-{}-{step}", scope.env), |r| r.id.clone()),
                value: format!("ciphertext {step}").into_bytes(),
                note: existing.as_ref().and_then(|r| r.note.clone()),
                tags: existing
                    .as_ref()
                    .map_or_else(String::new, |r| r.tags.clone()),
                active: existing.as_ref().is_none_or(|r| r.active),
                reserved: step % 7 == 0,
                expires: (step % 5 == 0).then_some(now + 86_400_000),
                created_at: existing.as_ref().map_or(now, |r| r.created_at),
                updated_at: now,
                created_by: existing
                    .as_ref()
                    .map_or_else(|| "user:old".to_owned(), |r| r.created_by.clone()),
                updated_by: format!("user:{}", step % 3),
            };
            scope.current.insert(name, row);
        }
    }
    Some(changed)
}

fn as_old(secret: &Secret) -> (String, OldRow) {
    let Value::Ciphertext(value) = &secret.value else {
        panic!("read with Reveal::Ciphertext");
    };
    (
        secret.name.clone(),
        OldRow {
            id: secret.id.clone(),
            value: value.clone(),
            note: secret.note.clone(),
            tags: secret.tags.join(","),
            active: secret.is_active,
            reserved: secret.is_reserved,
            expires: secret.expires_at,
            created_at: secret.created_at,
            updated_at: secret.updated_at,
            created_by: secret.created_by.clone(),
            updated_by: secret.updated_by.clone(),
        },
    )
}

macro_rules! old_migrations {
    ($dir:literal) => {
        [
            include_str!(concat!("../migrations/", $dir, "/0001_init.sql")),
            include_str!(concat!("../migrations/", $dir, "/0002_tokens.sql")),
            include_str!(concat!("../migrations/", $dir, "/0003_audit.sql")),
            include_str!(concat!("../migrations/", $dir, "/0004_users.sql")),
            include_str!(concat!("../migrations/", $dir, "/0005_project_roles.sql")),
            include_str!(concat!("../migrations/", $dir, "/0006_vaultenv.sql")),
            include_str!(concat!("../migrations/", $dir, "/0007_e2ee.sql")),
        ]
    };
}

/// A database made by the schema before migration 8 (full snapshots),
/// with deleted and purged versions and a blob scope, opened by this
/// store: every surviving version reads exactly as it was, and the log
/// keeps working on the converted data.
async fn snapshots_migrate_to_changes(url: String, raw: Raw, postgres: bool) {
    let scripts = if postgres {
        old_migrations!("postgres")
    } else {
        old_migrations!("sqlite")
    };
    raw.script(
        "CREATE TABLE hush_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL)",
    )
    .await;
    for (i, script) in scripts.iter().enumerate() {
        raw.script(script).await;
        raw.exec(
            "INSERT INTO hush_migrations (version, name, applied_at) VALUES ($1, $2, 0)",
            vec![P::I(i as i64 + 1), t(format!("m{}", i + 1))],
        )
        .await
        .unwrap();
    }
    raw.script(
        "INSERT INTO organizations (id, slug, name, created_at) VALUES ('org1', 'acme', 'Acme', 0);
         INSERT INTO projects (id, org_id, slug, name, encryption_mode, wrapped_dek, master_key_id, \
         created_at, created_by) VALUES ('proj1', 'org1', 'web', 'Web', 'client', NULL, NULL, 0, 'u');
         INSERT INTO environments (id, project_id, slug, name, created_at) VALUES \
         ('env1', 'proj1', 'production', 'Production', 0), ('env2', 'proj1', 'staging', 'Staging', 0), \
         ('env3', 'proj1', 'blobs', 'Blobs', 0);
         INSERT INTO scopes (id, project_id, target_id, environment_id, kind, current_version, \
         updated_at) VALUES ('proj1//env3', 'proj1', NULL, 'env3', 'blob', 2, 0);
         INSERT INTO versions (scope_id, version, action, changed_keys, restored_from, blob, \
         created_at, created_by) VALUES ('proj1//env3', 1, 'blob', 'A', NULL, NULL, 0, 'device:1');
         UPDATE scopes SET blob = NULL WHERE id = 'proj1//env3';",
    )
    .await;
    raw.exec(
        "INSERT INTO versions (scope_id, version, action, changed_keys, restored_from, blob, \
         created_at, created_by) VALUES ('proj1//env3', 2, 'blob', 'A', NULL, $1, 0, 'device:1')",
        vec![P::B(b"opaque blob".to_vec())],
    )
    .await
    .unwrap();
    let mut scopes = Vec::new();
    for (env, seed, versions) in [("env1", 7u64, 40), ("env2", 11, 25)] {
        let mut scope = OldScope {
            key: format!("proj1//{env}"),
            env: env.to_owned(),
            current: Default::default(),
            version: 0,
            states: Default::default(),
        };
        let (mut x, mut step) = (seed, 0);
        while scope.version < versions {
            step += 1;
            if let Some(changed) = old_step(&mut scope, &mut x, step) {
                scope
                    .write(&raw, changed, 1_700_000_000_000 + step * 1000)
                    .await;
            }
        }
        scopes.push(scope);
    }
    // Deleted versions in the middle of the first scope; the second purged.
    for v in [3, 4, 17, 30] {
        scopes[0].delete(&raw, v).await;
    }
    let keep = scopes[1].version;
    for v in 1..keep {
        scopes[1].delete(&raw, v).await;
    }
    // An audit chain as hush wrote it before keying (unkeyed SHA-256).
    let mut prev = hush_core::audit::GENESIS.to_owned();
    for seq in 1..=20i64 {
        let at = (1_700_000_000_000 + seq).to_string();
        let fields = [
            seq.to_string(),
            at.clone(),
            "org1".into(),
            String::new(),
            "token:t".into(),
            "secret.read".into(),
            "acme/web".into(),
            "ok".into(),
            "200".into(),
            "127.0.0.1".into(),
            "old".into(),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        let hash = hush_core::audit::chain_hash(&prev, &refs);
        raw.exec(
            "INSERT INTO audit_log (seq, at, org_id, project_id, actor, action, resource, \
             result, status, ip, user_agent, prev_hash, hash) VALUES \
             ($1, $2, 'org1', NULL, 'token:t', 'secret.read', 'acme/web', 'ok', 200, \
             '127.0.0.1', 'old', $3, $4)",
            vec![
                P::I(seq),
                P::I(1_700_000_000_000 + seq),
                t(prev.clone()),
                t(hash.clone()),
            ],
        )
        .await
        .unwrap();
        prev = hash;
    }
    raw.exec(
        "UPDATE audit_head SET seq = 20, hash = $1 WHERE id = 1",
        vec![t(prev.clone())],
    )
    .await
    .unwrap();
    let unkeyed_head = prev;
    // Accounts as hush kept them before migration 12 (emails unique across
    // organizations): a member with a project role and a session, and a
    // user without a membership (who could never log in) with a token.
    raw.script(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES \
         ('u-ada', 'ada@example.com', '$argon2id$ada', 0), \
         ('u-ghost', 'ghost@example.com', '$argon2id$ghost', 0);
         INSERT INTO memberships (org_id, user_id, role, created_at) VALUES \
         ('org1', 'u-ada', 'member', 0);
         INSERT INTO project_members (project_id, user_id, role, created_at) VALUES \
         ('proj1', 'u-ada', 'admin', 0);
         INSERT INTO tokens (id, org_id, kind, name, token_hash, prefix, scopes, created_at, \
         created_by, user_id) VALUES \
         ('t-ada', 'org1', 'api', 'session', 'h-ada', 'hush_', '', 0, 'u', 'u-ada'), \
         ('t-ghost', 'org1', 'api', 'session', 'h-ghost', 'hush_', '', 0, 'u', 'u-ghost');",
    )
    .await;
    raw.close().await;

    let store = Store::open(StoreOptions::new(url, MasterKey::from_bytes([7u8; 32])))
        .await
        .unwrap();
    // Re-chained under the new key: intact, nothing flagged, new hashes.
    let v = store.verify_audit().await.unwrap();
    assert_eq!(
        (v.entries, v.first_broken, v.unkeyed_broken_at),
        (20, None, None),
        "{v:?}"
    );
    assert_ne!(v.head.1, unkeyed_head);
    let org = store.organization("acme").await.unwrap();
    let project = store.project(&org, "web").await.unwrap();
    accounts_moved_into_their_organization(&store, &org, &project).await;
    for (scope, slug) in scopes.iter().zip(["production", "staging"]) {
        let env = store
            .child(ChildKind::Environment, &project, slug)
            .await
            .unwrap();
        let s = Scope::new(&project, None, Some(&env)).unwrap();
        let listed: Vec<i64> = store
            .versions(&s, None, 1000)
            .await
            .unwrap()
            .iter()
            .map(|v| v.version)
            .rev()
            .collect();
        assert_eq!(listed, scope.states.keys().copied().collect::<Vec<_>>());
        for (v, expected) in &scope.states {
            let got: std::collections::BTreeMap<String, OldRow> = store
                .secrets_at(&s, *v, Reveal::Ciphertext)
                .await
                .unwrap()
                .iter()
                .map(as_old)
                .collect();
            assert_eq!(&got, expected, "{slug} at version {v}");
        }
        let now: std::collections::BTreeMap<String, OldRow> = store
            .read_level(
                &s,
                ReadOptions {
                    reveal: Reveal::Ciphertext,
                    include_inactive: true,
                },
            )
            .await
            .unwrap()
            .secrets
            .iter()
            .map(as_old)
            .collect();
        assert_eq!(&now, scope.states.values().last().unwrap());
    }
    // The log goes on from the converted data: delete another version and
    // every other state stays; a write makes the next number.
    let env = store
        .child(ChildKind::Environment, &project, "production")
        .await
        .unwrap();
    let s = Scope::new(&project, None, Some(&env)).unwrap();
    store.delete_version(&s, 10).await.unwrap();
    for (v, expected) in scopes[0].states.iter().filter(|(v, _)| **v != 10) {
        let got: std::collections::BTreeMap<String, OldRow> = store
            .secrets_at(&s, *v, Reveal::Ciphertext)
            .await
            .unwrap()
            .iter()
            .map(as_old)
            .collect();
        assert_eq!(&got, expected, "after deleting version 10, version {v}");
    }
    let blob_env = store
        .child(ChildKind::Environment, &project, "blobs")
        .await
        .unwrap();
    let blob_scope = Scope::new(&project, None, Some(&blob_env)).unwrap();
    assert_eq!(
        store.blob_at(&blob_scope, 2).await.unwrap().content,
        Some(b"opaque blob".to_vec())
    );
    let next = store
        .write(
            &s,
            vec![Change::Upsert(SecretInput::new(
                name("AFTER"),
                InputValue::Ciphertext(b"new".to_vec()),
            ))],
            &by("u"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(next.version, scopes[0].version + 1);
    store.close().await;
}

/// After migration 12 an account belongs to its organization: the member
/// keeps their role, project role and session; the user without a
/// membership is gone with its token; the same email is free elsewhere.
async fn accounts_moved_into_their_organization(
    store: &Store,
    org: &Organization,
    project: &Project,
) {
    let ada = store
        .user_by_email(&org.id, "ada@example.com")
        .await
        .unwrap()
        .expect("the member's account survives");
    assert_eq!((ada.id.as_str(), ada.org_id.as_str()), ("u-ada", "org1"));
    assert_eq!(
        store.role(&org.id, "u-ada").await.unwrap(),
        Some(Role::Member)
    );
    assert_eq!(
        store.project_roles(&org.id, "u-ada").await.unwrap(),
        vec![(project.id.clone(), Role::Admin)]
    );
    assert!(store.token(&org.id, "t-ada").await.unwrap().is_some());
    assert!(store.token(&org.id, "t-ghost").await.unwrap().is_none());
    assert!(store
        .user_by_email(&org.id, "ghost@example.com")
        .await
        .unwrap()
        .is_none());
    let other = store
        .create_organization(&slug("globex"), "Globex")
        .await
        .unwrap();
    let twin = store
        .create_user(&other.id, "ada@example.com", "$argon2id$twin", Role::Owner)
        .await
        .unwrap();
    assert_ne!(twin.id, ada.id);
    let again = store
        .create_user(&org.id, "ada@example.com", "$argon2id$again", Role::Viewer)
        .await
        .unwrap_err();
    assert!(
        matches!(again, StoreError::AlreadyExists { kind: "user", .. }),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_snapshots_migrate_to_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let raw = Raw::Sqlite(std::sync::Mutex::new(
        rusqlite::Connection::open(&path).unwrap(),
    ));
    snapshots_migrate_to_changes(format!("sqlite://{}", path.display()), raw, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_snapshots_migrate_to_changes() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    // A schema of its own, left empty: drop what the store made there.
    let url = db.url.clone();
    db.store.close().await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "DO $$ DECLARE r record; BEGIN FOR r IN SELECT tablename FROM pg_tables \
         WHERE schemaname = current_schema() LOOP EXECUTE 'DROP TABLE ' || \
         quote_ident(r.tablename) || ' CASCADE'; END LOOP; END $$; \
         DROP FUNCTION IF EXISTS hush_projects_mode_is_immutable() CASCADE;",
    )
    .execute(&pool)
    .await
    .unwrap();
    snapshots_migrate_to_changes(url, Raw::Pg(pool), true).await;
    db.finish().await;
}

async fn audit_prune_keeps_the_rest_verifiable(db: &TestDb) {
    let s = &db.store;
    let entries: Vec<_> = (0..300).map(|i| audit_entry(i, "org1")).collect();
    s.append_audit(&entries).await.unwrap();
    // A summary entry stands for several requests; its count is hashed.
    let summary = AuditEntry {
        count: 42,
        action: "secret.pull".into(),
        ..audit_entry(300, "org1")
    };
    s.append_audit(&[summary]).await.unwrap();
    let prune = AuditEntry {
        action: "audit.prune".into(),
        ..audit_entry(400, "org1")
    };
    // Entries 1..=100 were recorded before `at` of entry 101.
    let removed = s.prune_audit(1_700_000_000_000 + 100, prune).await.unwrap();
    assert_eq!(removed, 100);
    let v = s.verify_audit().await.unwrap();
    assert_eq!((v.entries, v.first_broken), (202, None), "{v:?}");
    assert_eq!(
        v.anchor.as_ref().map(|a| (a.seq, a.pruned)),
        Some((100, 100))
    );
    let page = s
        .audit(&AuditQuery {
            action: Some("secret.pull".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page[0].entry.count, 42);
    // Pruning again moves the anchor on; nothing older is left.
    let again = AuditEntry {
        action: "audit.prune".into(),
        ..audit_entry(401, "org1")
    };
    assert_eq!(
        s.prune_audit(1_700_000_000_000 + 150, again).await.unwrap(),
        50
    );
    let v = s.verify_audit().await.unwrap();
    assert_eq!(v.first_broken, None);
    assert_eq!(v.anchor.map(|a| (a.seq, a.pruned)), Some((150, 150)));
    // Tampering after a prune is still caught, counts included.
    let raw = db.raw().await;
    raw.exec("UPDATE audit_log SET count = 1 WHERE count = 42", vec![])
        .await
        .unwrap();
    assert_eq!(s.verify_audit().await.unwrap().first_broken, Some(301));
    raw.exec(
        "UPDATE audit_log SET actor = 'token:innocent' WHERE seq = 200",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(s.verify_audit().await.unwrap().first_broken, Some(200));
    raw.close().await;
}

/// The columns an attacker would rewrite, per entry, to recompute a chain.
async fn chain_rows(raw: &Raw) -> Vec<(i64, Vec<String>, String)> {
    raw.rows(
        "SELECT CAST(seq AS TEXT), CAST(at AS TEXT), COALESCE(org_id, ''), \
         COALESCE(project_id, ''), actor, action, resource, result, CAST(status AS TEXT), ip, \
         user_agent, prev_hash FROM audit_log ORDER BY seq",
    )
    .await
    .into_iter()
    .map(|r| {
        let seq: i64 = r[0].parse().unwrap();
        (seq, r[..11].to_vec(), r[11].clone())
    })
    .collect()
}

/// What someone with write access to the database but not the master key
/// can do to the audit log, and what catches it.
async fn audit_chain_resists_a_database_only_attacker(db: &TestDb) {
    let s = &db.store;
    let entries: Vec<_> = (0..60).map(|i| audit_entry(i, "org1")).collect();
    s.append_audit(&entries).await.unwrap();
    let checkpoint = s.audit_checkpoint().await.unwrap();
    assert!(
        checkpoint.starts_with("hush-audit-checkpoint/v1 seq=60 "),
        "{checkpoint}"
    );
    let (_, holds) = s
        .check_audit_checkpoint(&checkpoint)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holds, CheckpointCheck::Holds);
    let raw = db.raw().await;

    // 1. Change entry 30 and recompute every later hash and the head the
    // way the unkeyed chain was computed: the key is missing, so it fails.
    raw.exec(
        "UPDATE audit_log SET actor = 'token:innocent' WHERE seq = 30",
        vec![],
    )
    .await
    .unwrap();
    let mut prev = String::new();
    for (seq, fields, stored_prev) in chain_rows(&raw).await {
        let prev_hash = if seq == 1 { stored_prev } else { prev.clone() };
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        let hash = hush_core::audit::chain_hash(&prev_hash, &refs);
        raw.exec(
            "UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3",
            vec![t(prev_hash.clone()), t(hash.clone()), P::I(seq)],
        )
        .await
        .unwrap();
        prev = hash;
    }
    raw.exec(
        "UPDATE audit_head SET hash = $1 WHERE id = 1",
        vec![t(prev)],
    )
    .await
    .unwrap();
    let v = s.verify_audit().await.unwrap();
    assert_eq!(
        (v.first_broken, v.problem),
        (Some(1), Some(AuditProblem::Altered)),
        "a recomputed chain does not verify: {v:?}"
    );
    raw.close().await;
}

async fn audit_truncation_is_caught_by_a_checkpoint(db: &TestDb) {
    let s = &db.store;
    let entries: Vec<_> = (0..40).map(|i| audit_entry(i, "org1")).collect();
    s.append_audit(&entries).await.unwrap();
    let checkpoint = s.audit_checkpoint().await.unwrap();
    s.append_audit(&[audit_entry(40, "org1")]).await.unwrap();
    let later = s.audit_checkpoint().await.unwrap();

    // Cut the newest 11 entries and move the head back to entry 30: the
    // chain itself still verifies, but both checkpoints name what is gone.
    let raw = db.raw().await;
    raw.exec("DELETE FROM audit_log WHERE seq > 30", vec![])
        .await
        .unwrap();
    let hash = raw
        .rows("SELECT hash FROM audit_log WHERE seq = 30")
        .await
        .remove(0)
        .remove(0);
    raw.exec(
        "UPDATE audit_head SET seq = 30, hash = $1 WHERE id = 1",
        vec![t(hash)],
    )
    .await
    .unwrap();
    let v = s.verify_audit().await.unwrap();
    assert_eq!((v.entries, v.first_broken), (30, None));
    for line in [&checkpoint, &later] {
        let (cp, check) = s.check_audit_checkpoint(line).await.unwrap().unwrap();
        assert_eq!(check, CheckpointCheck::Missing, "{cp:?}");
    }
    // A checkpoint edited to match (or signed elsewhere) is refused.
    let edited = checkpoint.replace("seq=40", "seq=30");
    assert_eq!(
        s.check_audit_checkpoint(&edited).await.unwrap(),
        Err(hush_core::audit::CheckpointError::BadSignature)
    );
    raw.close().await;
}

async fn audit_anchor_cannot_be_forged(db: &TestDb) {
    let s = &db.store;
    let entries: Vec<_> = (0..50).map(|i| audit_entry(i, "org1")).collect();
    s.append_audit(&entries).await.unwrap();
    let checkpoint = s.audit_checkpoint().await.unwrap();
    // A real prune anchors with the key's tag; the old checkpoint is now
    // behind the anchor (pruned past), the log still verifies.
    let prune = AuditEntry {
        action: "audit.prune".into(),
        ..audit_entry(100, "org1")
    };
    assert_eq!(
        s.prune_audit(1_700_000_000_000 + 10, prune).await.unwrap(),
        10
    );
    assert_eq!(s.verify_audit().await.unwrap().first_broken, None);
    let fresh = s.audit_checkpoint().await.unwrap();
    assert_eq!(
        s.check_audit_checkpoint(&fresh).await.unwrap().unwrap().1,
        CheckpointCheck::Holds
    );
    assert_eq!(
        s.check_audit_checkpoint(&checkpoint)
            .await
            .unwrap()
            .unwrap()
            .1,
        CheckpointCheck::Holds,
        "its head (entry 50) is still there"
    );
    // Deleting the next 20 by hand and moving the anchor over them: the
    // anchor's tag gives it away.
    let raw = db.raw().await;
    raw.exec("DELETE FROM audit_log WHERE seq <= 30", vec![])
        .await
        .unwrap();
    let hash = raw
        .rows("SELECT prev_hash FROM audit_log WHERE seq = 31")
        .await
        .remove(0)
        .remove(0);
    raw.exec(
        "UPDATE audit_anchor SET seq = 30, hash = $1, pruned = 30 WHERE id = 1",
        vec![t(hash)],
    )
    .await
    .unwrap();
    let v = s.verify_audit().await.unwrap();
    assert_eq!(
        (v.first_broken, v.problem),
        (Some(31), Some(AuditProblem::ForgedAnchor))
    );
    raw.close().await;
}

/// An unkeyed chain that was already altered when hush upgraded: keying
/// cannot vouch for that part, so every verification says where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_broken_before_keying_stays_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let raw = Raw::Sqlite(std::sync::Mutex::new(
        rusqlite::Connection::open(&path).unwrap(),
    ));
    raw.script(
        "CREATE TABLE hush_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL)",
    )
    .await;
    for (i, script) in old_migrations!("sqlite").iter().enumerate() {
        raw.script(script).await;
        raw.exec(
            "INSERT INTO hush_migrations (version, name, applied_at) VALUES ($1, 'm', 0)",
            vec![P::I(i as i64 + 1)],
        )
        .await
        .unwrap();
    }
    let mut prev = hush_core::audit::GENESIS.to_owned();
    for seq in 1..=10i64 {
        let fields = [
            seq.to_string(),
            "5".into(),
            String::new(),
            String::new(),
            "a".into(),
            "x".into(),
            "r".into(),
            "ok".into(),
            "200".into(),
            String::new(),
            String::new(),
        ];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        let hash = hush_core::audit::chain_hash(&prev, &refs);
        // Entry 7 was edited after it was written.
        let actor = if seq == 7 { "edited" } else { "a" };
        raw.exec(
            "INSERT INTO audit_log (seq, at, org_id, project_id, actor, action, resource, \
             result, status, ip, user_agent, prev_hash, hash) VALUES \
             ($1, 5, NULL, NULL, $2, 'x', 'r', 'ok', 200, '', '', $3, $4)",
            vec![P::I(seq), t(actor), t(prev.clone()), t(hash.clone())],
        )
        .await
        .unwrap();
        prev = hash;
    }
    raw.exec(
        "UPDATE audit_head SET seq = 10, hash = $1 WHERE id = 1",
        vec![t(prev)],
    )
    .await
    .unwrap();
    raw.close().await;
    let url = format!("sqlite://{}", path.display());
    let store = Store::open(StoreOptions::new(url, MasterKey::from_bytes([7u8; 32])))
        .await
        .unwrap();
    let v = store.verify_audit().await.unwrap();
    assert_eq!(
        (v.entries, v.first_broken, v.unkeyed_broken_at),
        (10, None, Some(7))
    );
    store.close().await;
}
