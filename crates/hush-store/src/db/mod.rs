//! The database: reads, and one writer that group-commits every write.
//!
//! Both backends run the same SQL text (`$N` placeholders, integer times
//! and 0/1 flags; only the DDL differs per backend). SQLite goes through
//! rusqlite: read-only connections used inline, and one read-write
//! connection owned by a writer thread. PostgreSQL goes through sqlx: a
//! read pool, and one connection owned by a writer task.
//!
//! **Every write goes through the writer** ([`Db::write`]). It takes
//! whatever requests are queued, runs them in one transaction with a
//! savepoint each (a request that fails rolls back alone), appends their
//! audit entries to the hash chain in the same transaction, commits once,
//! and only then answers them all: one fsync for many requests, and an
//! acknowledged write always has its audit entry. On PostgreSQL each batch
//! first locks the audit chain's head, so batches of several replicas take
//! turns and cannot deadlock.
//!
//! **Faults end the transaction they happen in.** A storage failure (full
//! disk, I/O error, lost connection) aborts the whole batch: it is rolled
//! back, and if the connection cannot prove it left the transaction, the
//! connection is dropped and reopened for the next batch. Nobody in that
//! batch is told their write succeeded; they get
//! [`StoreError::Unavailable`], and the writer recovers by itself as soon
//! as the database works again.

pub(crate) mod health;
mod migrate;
mod postgres;
pub(crate) mod snapshot;
mod sqlite;
mod value;
mod writer;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use health::WriterStatus;
pub(crate) use value::{params, placeholders, Row, Ty, Val};

/// The schema version this build migrates to.
pub(crate) fn latest_migration() -> i64 {
    migrate::latest()
}

use crate::audit::AuditEntry;
use crate::error::{DbError, Result, StoreError};
use crate::Backend;

/// The connection a write job works on, for the length of the job.
#[derive(Clone)]
pub(crate) struct Tx {
    conn: TxConn,
    /// Cleared when the job ends: a handle kept past it cannot touch the
    /// next batch's transaction.
    open: Arc<AtomicBool>,
}

#[derive(Clone)]
enum TxConn {
    Sqlite(Arc<Mutex<Option<rusqlite::Connection>>>),
    Postgres(Arc<tokio::sync::Mutex<Option<sqlx::PgConnection>>>),
}

impl Tx {
    fn check_open(&self) -> Result<(), DbError> {
        if self.open.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(DbError::JobFailed(
                "a transaction handle was used after its job ended".to_owned(),
            ))
        }
    }

    fn with_sqlite<T>(
        conn: &Mutex<Option<rusqlite::Connection>>,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        let guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match guard.as_ref() {
            Some(conn) => f(conn),
            None => Err(DbError::WriterStopped),
        }
    }

    /// Runs a statement; returns how many rows it changed.
    pub(crate) async fn exec(&self, sql: &str, params: &[Val]) -> Result<u64> {
        self.check_open()?;
        Ok(match &self.conn {
            TxConn::Sqlite(conn) => Self::with_sqlite(conn, |c| sqlite::exec(c, sql, params))?,
            TxConn::Postgres(conn) => {
                let mut guard = conn.lock().await;
                let c = guard.as_mut().ok_or(DbError::WriterStopped)?;
                postgres::exec(&mut *c, sql, params).await?
            }
        })
    }

    /// Runs a query in the transaction.
    pub(crate) async fn rows(&self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        self.check_open()?;
        Ok(match &self.conn {
            TxConn::Sqlite(conn) => Self::with_sqlite(conn, |c| sqlite::rows(c, sql, params))?,
            TxConn::Postgres(conn) => {
                let mut guard = conn.lock().await;
                let c = guard.as_mut().ok_or(DbError::WriterStopped)?;
                postgres::rows(&mut *c, sql, params).await?
            }
        })
    }

    /// The first row of a query, if any.
    pub(crate) async fn row(&self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }

    /// Runs statements without parameters (transaction control, DDL).
    async fn script(&self, sql: &str) -> Result<(), DbError> {
        self.check_open()?;
        match &self.conn {
            TxConn::Sqlite(conn) => Self::with_sqlite(conn, |c| Ok(c.execute_batch(sql)?)),
            TxConn::Postgres(conn) => {
                let mut guard = conn.lock().await;
                let c = guard.as_mut().ok_or(DbError::WriterStopped)?;
                postgres::exec_plain(&mut *c, sql).await
            }
        }
    }

    /// Whether the connection is inside a transaction: SQLite knows
    /// (`None` when the connection is gone); PostgreSQL's answer would
    /// cost a round trip, so `None`.
    fn in_transaction(&self) -> Option<bool> {
        match &self.conn {
            TxConn::Sqlite(conn) => conn
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .as_ref()
                .map(|c| !c.is_autocommit()),
            TxConn::Postgres(_) => None,
        }
    }

    fn close(&self) {
        self.open.store(false, Ordering::Release);
    }

    /// Which database this is (for the few statements that differ).
    pub(crate) fn backend(&self) -> Backend {
        match self.conn {
            TxConn::Sqlite(_) => Backend::Sqlite,
            TxConn::Postgres(_) => Backend::Postgres,
        }
    }
}

enum Reads {
    Sqlite(Arc<sqlite::Readers>, Mutex<sqlite::Checkpointer>),
    Postgres(sqlx::PgPool),
}

/// Reads and writes for one store.
pub(crate) struct Db {
    reads: Reads,
    writer: writer::Writer,
    /// Set while reads fail for lack of a database, so the outage is
    /// logged once, not per request.
    reads_failing: AtomicBool,
}

impl Db {
    /// Connects, applies pending migrations, and starts the writer.
    pub(crate) async fn open(
        url: &str,
        backend: Backend,
        max_connections: u32,
        master: crate::keyring::MasterKeys,
    ) -> Result<Self> {
        match backend {
            Backend::Sqlite => {
                let path = sqlite::path_of(url)?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|err| StoreError::Unavailable {
                        kind: crate::error::Unavailable::Outage,
                        cause: format!("cannot create {}: {err}", dir.display()),
                    })?;
                }
                let writer = writer::Writer::start_sqlite(path.clone(), master).await?;
                let checkpointer = Mutex::new(sqlite::Checkpointer::start(path.clone()));
                Ok(Self {
                    reads: Reads::Sqlite(
                        sqlite::Readers::new(path, max_connections as usize),
                        checkpointer,
                    ),
                    writer,
                    reads_failing: AtomicBool::new(false),
                })
            }
            Backend::Postgres => {
                let options = postgres::options(url)?;
                let writer = writer::Writer::start_postgres(options.clone(), master).await?;
                let pool = postgres::pool(options, max_connections).await?;
                Ok(Self {
                    reads: Reads::Postgres(pool),
                    writer,
                    reads_failing: AtomicBool::new(false),
                })
            }
        }
    }

    /// The audit chain's key (unsealed by the writer at start).
    pub(crate) fn audit_key(&self) -> &Arc<hush_core::audit::AuditKey> {
        self.writer.audit_key()
    }

    /// Notes how a read went, logging an outage when it starts and ends.
    fn observe<T>(&self, result: Result<T>) -> Result<T> {
        match &result {
            Err(StoreError::Unavailable { kind, cause }) => {
                if !self.reads_failing.swap(true, Ordering::AcqRel) {
                    tracing::error!(%kind, cause, "database reads fail; answering 503 until it recovers");
                }
            }
            Ok(_) => {
                if self.reads_failing.load(Ordering::Acquire)
                    && self.reads_failing.swap(false, Ordering::AcqRel)
                {
                    tracing::warn!("database reads work again");
                }
            }
            Err(_) => {}
        }
        result
    }

    /// Runs a short query (see `sqlite.rs` for why SQLite runs it inline).
    pub(crate) async fn rows(&self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let result = match &self.reads {
            Reads::Sqlite(readers, _) => readers.rows(sql, params),
            Reads::Postgres(pool) => postgres::rows(pool, sql, params)
                .await
                .map_err(StoreError::from),
        };
        self.observe(result)
    }

    /// The first row of a short query, if any.
    pub(crate) async fn row(&self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }

    /// Runs a query that may read many rows, off the async workers.
    pub(crate) async fn rows_long(
        &self,
        sql: String,
        params: impl Into<Vec<Val>>,
    ) -> Result<Vec<Row>> {
        let params = params.into();
        let result = match &self.reads {
            Reads::Sqlite(readers, _) => readers.rows_blocking(sql, params).await,
            Reads::Postgres(pool) => postgres::rows(pool, &sql, &params)
                .await
                .map_err(StoreError::from),
        };
        self.observe(result)
    }

    /// Runs `job` in the writer's next transaction and returns its result
    /// once that transaction has committed, with `audit` appended to the
    /// audit log in the same transaction. If the job fails, its changes are
    /// rolled back (and `audit` is dropped: the caller records the failure).
    pub(crate) async fn write<T, F, Fut>(&self, audit: Option<AuditEntry>, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Tx) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        self.writer.run(audit, job).await
    }

    /// Appends entries to the audit log; returns the last sequence number
    /// once they are committed.
    pub(crate) async fn append_audit(&self, entries: Vec<AuditEntry>) -> Result<i64> {
        self.writer.append_audit(entries).await
    }

    /// Whether writes currently commit. `probe` forces a real (tiny)
    /// write to find out instead of trusting the last batch.
    pub(crate) async fn writer_status(&self, probe: bool) -> WriterStatus {
        self.writer.status(probe).await
    }

    /// The writer's counters and the read pool's use, for monitoring.
    pub(crate) fn stats(&self) -> crate::DbStats {
        let (batches, writes, queued) = self.writer.stats();
        let (pool_open, pool_idle) = match &self.reads {
            Reads::Postgres(pool) => (pool.size() as usize, pool.num_idle()),
            Reads::Sqlite(..) => (0, 0),
        };
        crate::DbStats {
            write_batches: batches,
            writes,
            write_queue: queued,
            pool_open,
            pool_idle,
        }
    }

    /// Checks that reads work.
    pub(crate) async fn ping(&self) -> Result<()> {
        self.rows("SELECT 1", &[]).await.map(|_| ())
    }

    /// Lets the writer finish what is queued, then closes everything.
    pub(crate) async fn close(&self) {
        self.writer.close().await;
        match &self.reads {
            Reads::Postgres(pool) => pool.close().await,
            Reads::Sqlite(_, checkpointer) => checkpointer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .stop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_key() -> crate::keyring::MasterKeys {
        crate::keyring::MasterKeys {
            current: Arc::new(hush_core::crypto::MasterKey::from_bytes([1; 32])),
            accepted: None,
        }
    }

    /// The writer runs with the durability and integrity settings the store
    /// relies on, and reopening applies no migration twice.
    #[tokio::test]
    async fn sqlite_writer_uses_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let db = Db::open(&url, Backend::Sqlite, 2, test_key())
            .await
            .unwrap();
        let settings = db
            .write(None, |tx| async move {
                let mut out = Vec::new();
                for pragma in ["journal_mode", "synchronous", "foreign_keys"] {
                    let row = tx.row(&format!("PRAGMA {pragma}"), &[]).await?;
                    out.push(row.map(|r| r.0[0].clone()));
                }
                Ok(out)
            })
            .await
            .unwrap();
        assert_eq!(
            settings,
            vec![
                Some(Val::Text("wal".into())),
                Some(Val::Int(2)),
                Some(Val::Int(1))
            ]
        );
        db.close().await;
        let again = Db::open(&url, Backend::Sqlite, 1, test_key())
            .await
            .unwrap();
        let applied: i64 = again
            .row("SELECT COUNT(*) FROM hush_migrations", &[])
            .await
            .unwrap()
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(applied, migrate::known(Backend::Sqlite) as i64);
        again.close().await;
    }

    /// A job that fails rolls back alone; its batch-mates commit.
    #[tokio::test]
    async fn a_failed_job_does_not_fail_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("p.db").display());
        let db = Arc::new(
            Db::open(&url, Backend::Sqlite, 2, test_key())
                .await
                .unwrap(),
        );
        let mut jobs = Vec::new();
        for i in 0..20i64 {
            let db = db.clone();
            jobs.push(tokio::spawn(async move {
                db.write(None, move |tx| async move {
                    tx.exec(
                        "INSERT INTO organizations (id, slug, name, created_at) \
                         VALUES ($1, $2, 'x', 0)",
                        &params![format!("id{i}"), format!("org{i}")],
                    )
                    .await?;
                    if i % 3 == 0 {
                        return Err(crate::error::not_found("thing", "x"));
                    }
                    Ok(i)
                })
                .await
            }));
        }
        let mut ok = 0;
        for job in jobs {
            if job.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        let stored: i64 = db
            .row("SELECT COUNT(*) FROM organizations", &[])
            .await
            .unwrap()
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!((ok, stored), (13, 13));
        db.close().await;
    }
}
