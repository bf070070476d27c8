//! The group-commit writer (see the module docs of `db`).

use std::any::Any;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use tokio::sync::{mpsc, oneshot};

use super::health::{Health, WriterStatus};
use super::{migrate, postgres, sqlite, Tx, TxConn};
use crate::audit::{self, AuditEntry};
use crate::error::{DbError, Result, StoreError};
use crate::keyring::MasterKeys;
use crate::Backend;
use hush_core::audit::AuditKey;

type Output = Box<dyn Any + Send>;
type JobFuture = Pin<Box<dyn Future<Output = Result<Output>> + Send>>;
type Job = Box<dyn FnOnce(Tx) -> JobFuture + Send>;

/// A batch slower than this is logged.
const SLOW_BATCH: Duration = Duration::from_millis(100);

/// Most queued items one transaction takes.
const MAX_BATCH: usize = 512;

/// How long `/ready` trusts the last batch's outcome before probing with
/// a write of its own: recent real traffic says more than a tiny probe (on
/// a nearly full disk a one-page write may fit where real ones do not).
const TRUST_LAST_OUTCOME: Duration = Duration::from_secs(5);

enum Item {
    Job {
        job: Job,
        audit: Option<Box<AuditEntry>>,
        reply: oneshot::Sender<Result<Output>>,
    },
    Audit {
        entries: Vec<AuditEntry>,
        reply: oneshot::Sender<Result<i64>>,
    },
    Stop,
}

/// The writer's connection: opened on demand, dropped after a fault.
#[derive(Clone)]
enum Conn {
    Sqlite {
        path: PathBuf,
        conn: Arc<Mutex<Option<rusqlite::Connection>>>,
    },
    Postgres {
        options: Box<PgConnectOptions>,
        conn: Arc<tokio::sync::Mutex<Option<sqlx::PgConnection>>>,
    },
}

impl Conn {
    fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite { .. } => Backend::Sqlite,
            Conn::Postgres { .. } => Backend::Postgres,
        }
    }

    async fn ensure_open(&self) -> Result<(), DbError> {
        match self {
            Conn::Sqlite { path, conn } => {
                let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if guard.is_none() {
                    *guard = Some(sqlite::open_writer(path)?);
                }
            }
            Conn::Postgres { options, conn } => {
                let mut guard = conn.lock().await;
                if guard.is_none() {
                    *guard = Some(postgres::connect(options).await?);
                }
            }
        }
        Ok(())
    }

    /// Drops the connection; the next batch opens a new one.
    async fn discard(&self) {
        match self {
            Conn::Sqlite { conn, .. } => {
                let old = conn
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take();
                drop(old);
            }
            Conn::Postgres { conn, .. } => {
                let old = conn.lock().await.take();
                if let Some(old) = old {
                    let _ = sqlx::Connection::close(old).await;
                }
            }
        }
    }

    fn tx(&self) -> Tx {
        Tx {
            conn: match self {
                Conn::Sqlite { conn, .. } => TxConn::Sqlite(conn.clone()),
                Conn::Postgres { conn, .. } => TxConn::Postgres(conn.clone()),
            },
            open: Arc::new(AtomicBool::new(true)),
        }
    }

    fn begin_sql(&self) -> &'static str {
        match self {
            // Take the write lock now: the batch will write.
            Conn::Sqlite { .. } => "BEGIN IMMEDIATE",
            Conn::Postgres { .. } => "BEGIN",
        }
    }
}

/// The queue in front of the writer.
pub(crate) struct Writer {
    queue: mpsc::Sender<Item>,
    health: Arc<Health>,
    done: tokio::sync::Mutex<Option<oneshot::Receiver<()>>>,
    /// The audit chain's key, unsealed at start.
    audit_key: Arc<AuditKey>,
}

impl Writer {
    /// Starts the SQLite writer, after applying pending migrations.
    pub(crate) async fn start_sqlite(path: PathBuf, master: MasterKeys) -> Result<Self> {
        let conn = Conn::Sqlite {
            path,
            conn: Arc::new(Mutex::new(None)),
        };
        Self::start(conn, master).await
    }

    /// Starts the PostgreSQL writer, after applying pending migrations.
    pub(crate) async fn start_postgres(
        options: PgConnectOptions,
        master: MasterKeys,
    ) -> Result<Self> {
        let conn = Conn::Postgres {
            options: Box::new(options),
            conn: Arc::new(tokio::sync::Mutex::new(None)),
        };
        Self::start(conn, master).await
    }

    /// The writer runs on a thread of its own with a single-threaded
    /// runtime: SQLite's statements block (fsync included), and one thread
    /// doing one batch at a time is the whole design on both backends.
    async fn start(conn: Conn, master: MasterKeys) -> Result<Self> {
        let (queue, incoming) = mpsc::channel(64 * 1024);
        let (started, start_result) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let health = Arc::new(Health::default());
        let loop_health = health.clone();
        let name = match conn.backend() {
            Backend::Sqlite => "hush-sqlite-writer",
            Backend::Postgres => "hush-pg-writer",
        };
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(err) => {
                        let _ = started.send(Err(DbError::JobFailed(err.to_string()).into()));
                        return;
                    }
                };
                runtime.block_on(serve(conn, master, incoming, loop_health, started));
                let _ = done_tx.send(());
            })
            .map_err(|err| StoreError::from(DbError::JobFailed(err.to_string())))?;
        let audit_key = start_result.await.map_err(|_| DbError::WriterStopped)??;
        Ok(Self {
            queue,
            health,
            done: tokio::sync::Mutex::new(Some(done)),
            audit_key,
        })
    }

    /// Batches committed or tried, writes they held, and writes waiting.
    pub(crate) fn stats(&self) -> (u64, u64, usize) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.health.batches.load(Relaxed),
            self.health.writes.load(Relaxed),
            self.queue.max_capacity() - self.queue.capacity(),
        )
    }

    pub(crate) fn audit_key(&self) -> &Arc<AuditKey> {
        &self.audit_key
    }

    pub(crate) async fn run<T, F, Fut>(&self, audit: Option<AuditEntry>, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Tx) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        let job: Job = Box::new(move |tx| {
            Box::pin(async move { job(tx).await.map(|value| Box::new(value) as Output) })
        });
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Item::Job {
                job,
                audit: audit.map(Box::new),
                reply,
            })
            .await
            .map_err(|_| DbError::WriterStopped)?;
        let output = answer.await.map_err(|_| DbError::WriterStopped)??;
        output.downcast::<T>().map(|value| *value).map_err(|_| {
            DbError::JobFailed("a write job returned the wrong type".to_owned()).into()
        })
    }

    pub(crate) async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<i64> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Item::Audit { entries, reply })
            .await
            .map_err(|_| DbError::WriterStopped)?;
        answer.await.map_err(|_| DbError::WriterStopped)?
    }

    pub(crate) async fn status(&self, probe: bool) -> WriterStatus {
        if probe || self.health.stale(TRUST_LAST_OUTCOME) {
            // A tiny real write: the only way to know a commit works.
            let _ = self
                .run(None, |tx| async move {
                    tx.exec(
                        "UPDATE hush_heartbeat SET at = $1 WHERE id = 1",
                        &super::params![crate::now_ms()],
                    )
                    .await
                })
                .await;
        }
        self.health.status()
    }

    pub(crate) async fn close(&self) {
        let _ = self.queue.send(Item::Stop).await;
        if let Some(done) = self.done.lock().await.take() {
            let _ = done.await;
        }
    }
}

/// Migrates, unseals the audit key, reports how that went, then writes
/// batches until stopped.
async fn serve(
    conn: Conn,
    master: MasterKeys,
    mut incoming: mpsc::Receiver<Item>,
    health: Arc<Health>,
    started: oneshot::Sender<Result<Arc<AuditKey>>>,
) {
    let key = match migrate_on(conn.clone(), &master).await {
        Ok(key) => Arc::new(key),
        Err(err) => {
            let _ = started.send(Err(err));
            return;
        }
    };
    drop(master);
    let _ = started.send(Ok(key.clone()));
    let mut items = Vec::with_capacity(MAX_BATCH);
    while incoming.recv_many(&mut items, MAX_BATCH).await > 0 {
        let batch = std::mem::take(&mut items);
        if run_batch(conn.clone(), batch, health.clone(), &key).await {
            break;
        }
    }
    conn.discard().await;
}

/// Applies pending migrations and unseals the audit chain key. On SQLite
/// foreign keys are off meanwhile (a table rebuild must not cascade; the
/// pragma is a no-op inside a transaction) and checked before committing.
async fn migrate_on(conn: Conn, master: &MasterKeys) -> Result<AuditKey> {
    conn.ensure_open().await?;
    let tx = conn.tx();
    let sqlite = conn.backend() == Backend::Sqlite;
    let result = async {
        if sqlite {
            tx.script("PRAGMA foreign_keys = OFF").await?;
        }
        tx.script(conn.begin_sql()).await?;
        migrate::run(&tx, &master.current).await?;
        if sqlite {
            migrate::check_foreign_keys(&tx).await?;
        }
        let key = audit::load_key(&tx, master).await?;
        tx.script("COMMIT").await?;
        Ok::<_, StoreError>(key)
    }
    .await;
    if result.is_err() {
        abort(&conn, &tx).await;
    }
    let restored = if sqlite {
        tx.script("PRAGMA foreign_keys = ON").await
    } else {
        Ok(())
    };
    tx.close();
    let key = result?;
    restored?;
    Ok(key)
}

/// What to tell one caller once the batch's fate is known.
enum Reply {
    Job(oneshot::Sender<Result<Output>>, Result<Output>),
    Audit(oneshot::Sender<Result<i64>>),
}

impl Reply {
    fn settle(self, batch: &Result<i64>) {
        match (self, batch) {
            (Reply::Job(reply, outcome), Ok(_)) => {
                let _ = reply.send(outcome);
            }
            (Reply::Audit(reply), Ok(seq)) => {
                let _ = reply.send(Ok(*seq));
            }
            (Reply::Job(reply, _), Err(err)) => {
                let _ = reply.send(Err(err.for_batch()));
            }
            (Reply::Audit(reply), Err(err)) => {
                let _ = reply.send(Err(err.for_batch()));
            }
        }
    }
}

/// Runs one batch and answers everyone in it. Returns true on `Stop`.
async fn run_batch(conn: Conn, items: Vec<Item>, health: Arc<Health>, key: &AuditKey) -> bool {
    let stop = items.iter().any(|item| matches!(item, Item::Stop));
    let work: Vec<Item> = items
        .into_iter()
        .filter(|item| !matches!(item, Item::Stop))
        .collect();
    if work.is_empty() {
        return stop;
    }
    health
        .batches
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    health
        .writes
        .fetch_add(work.len() as u64, std::sync::atomic::Ordering::Relaxed);
    let mut replies = Vec::with_capacity(work.len());
    let tx = conn.tx();
    let started = std::time::Instant::now();
    let size = work.len();
    let outcome = batch(&conn, &tx, work, &mut replies, key).await;
    let took = started.elapsed();
    if took > SLOW_BATCH {
        tracing::info!(
            items = size,
            millis = took.as_millis() as u64,
            "slow write batch"
        );
    } else {
        tracing::debug!(
            items = size,
            micros = took.as_micros() as u64,
            "write batch"
        );
    }
    match &outcome {
        Ok(_) => health.committed(),
        Err(err) => {
            abort(&conn, &tx).await;
            health.failed(err);
        }
    }
    tx.close();
    for reply in replies {
        reply.settle(&outcome);
    }
    stop
}

async fn batch(
    conn: &Conn,
    tx: &Tx,
    work: Vec<Item>,
    replies: &mut Vec<Reply>,
    key: &AuditKey,
) -> Result<i64> {
    // Callers are answered only through `replies`: register them first so
    // that a failure anywhere below reaches every one of them.
    let mut jobs = Vec::new();
    let mut entries = Vec::new();
    for item in work {
        match item {
            Item::Job { job, audit, reply } => jobs.push((job, audit, reply)),
            Item::Audit {
                entries: more,
                reply,
            } => {
                entries.extend(more);
                replies.push(Reply::Audit(reply));
            }
            Item::Stop => {}
        }
    }
    let mut pending: Vec<(Job, Option<Box<AuditEntry>>, usize)> = Vec::with_capacity(jobs.len());
    for (job, audit, reply) in jobs {
        pending.push((job, audit, replies.len()));
        replies.push(Reply::Job(
            reply,
            Err(StoreError::from(DbError::JobFailed("not run".to_owned()))),
        ));
    }

    conn.ensure_open().await?;
    tx.script(conn.begin_sql()).await?;
    let head = audit::lock_head(tx).await?;
    for (job, audit, slot) in pending {
        tx.script("SAVEPOINT hush_job").await?;
        let outcome = run_job(conn, job).await;
        let Reply::Job(_, result) = &mut replies[slot] else {
            continue;
        };
        match outcome {
            Ok(value) => {
                tx.script("RELEASE SAVEPOINT hush_job").await?;
                entries.extend(audit.map(|entry| *entry));
                *result = Ok(value);
            }
            Err(err) if err.is_unavailable() || tx.in_transaction() == Some(false) => {
                return Err(err);
            }
            Err(err) => {
                tx.script("ROLLBACK TO SAVEPOINT hush_job; RELEASE SAVEPOINT hush_job")
                    .await?;
                *result = Err(err);
            }
        }
    }
    let seq = audit::append(tx, head, &entries, key).await?;
    tx.script("COMMIT").await?;
    if tx.in_transaction() == Some(true) {
        return Err(DbError::JobFailed("COMMIT left the transaction open".to_owned()).into());
    }
    Ok(seq)
}

/// Runs a job as a task of its own, so that a bug that panics in it fails
/// the batch instead of stopping the writer.
async fn run_job(conn: &Conn, job: Job) -> Result<Output> {
    let tx = conn.tx();
    let handle = tokio::spawn(job(tx.clone()));
    let outcome = handle
        .await
        .unwrap_or_else(|err| Err(DbError::JobFailed(format!("the job panicked: {err}")).into()));
    tx.close();
    outcome
}

/// Ends a failed transaction: rolls back, and drops the connection unless
/// it is known to be out of the transaction.
async fn abort(conn: &Conn, tx: &Tx) {
    let rolled_back = tx.script("ROLLBACK").await;
    let clean = match tx.in_transaction() {
        Some(inside) => !inside,
        None => rolled_back.is_ok(),
    };
    if !clean {
        tracing::warn!(
            backend = ?conn.backend(),
            "the failed transaction could not be rolled back; reopening the connection"
        );
        conn.discard().await;
    }
}
