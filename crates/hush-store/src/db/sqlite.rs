//! SQLite through rusqlite: a few read-only connections used inline, and
//! one read-write connection owned by the writer thread.
//!
//! Reads run on the calling async worker: they are short indexed scans,
//! and in WAL mode a reader never waits for the writer (measured under
//! load, inline beat `spawn_blocking`, see bench/results.md). Long reads
//! (the whole audit log) use [`Readers::rows_blocking`].
//!
//! Queries are written with PostgreSQL's `$N` placeholders; they become
//! SQLite's `?N`, which binds by number exactly like `$N` does there.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};

use super::value::{Row, Ty, Val};
use crate::error::{DbError, Result, StoreError};

/// Statements kept prepared per connection.
const STATEMENT_CACHE: usize = 128;

/// How long a connection waits for a lock held by another process (an
/// offline `hush` command) before giving up with SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The writer leaves checkpoints to the [`Checkpointer`]; its own
/// automatic checkpoint is only a backstop, far above the usual WAL size.
const WRITER_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 10000; PRAGMA journal_size_limit = 67108864;";

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// The database file of a `sqlite://PATH[?…]` URL.
pub(crate) fn path_of(url: &str) -> Result<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Err(StoreError::UnsupportedUrl {
            scheme: "sqlite (in-memory)".to_owned(),
        });
    }
    Ok(PathBuf::from(path))
}

/// Opens the read-write connection (creating the file) with the
/// durability settings the store relies on: WAL, `synchronous=FULL`,
/// foreign keys.
pub(crate) fn open_writer(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch(WRITER_PRAGMAS)?;
    restrict_permissions(path);
    Ok(conn)
}

/// The database and its WAL files are readable by the owner only.
fn restrict_permissions(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            files.push(PathBuf::from(name));
        }
        for file in files {
            let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// Copies committed pages from the WAL into the database file on a
/// connection and thread of its own. In SQLite's default setup the commit
/// that crosses the WAL threshold does this itself, with an fsync of the
/// database file, and every request in that batch waits for it (the worst
/// write latencies in bench/results.md were exactly those batches). A
/// PASSIVE checkpoint never blocks the writer or readers.
pub(crate) struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(path: PathBuf) -> Self {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("hush-sqlite-checkpoint".to_owned())
            .spawn(move || {
                let mut conn: Option<Connection> = None;
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    if conn.is_none() {
                        conn = open_writer(&path).ok();
                    }
                    let done = conn.as_ref().map(|c| {
                        c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    });
                    if let Some(Err(err)) = done {
                        tracing::debug!(error = %err, "checkpoint failed; retrying on a new connection");
                        conn = None;
                    }
                }
            })
            .ok();
        Self {
            stop: Some(stop),
            thread,
        }
    }

    /// Stops the thread (after its current checkpoint).
    pub(crate) fn stop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Opens a read-only connection.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// Read-only connections, opened on demand and kept idle for reuse.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl Readers {
    pub(crate) fn new(path: PathBuf, max_idle: usize) -> Arc<Self> {
        Arc::new(Self {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        })
    }

    fn checkout(&self) -> Result<Connection, DbError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => open_reader(&self.path),
        }
    }

    fn checkin(&self, conn: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < self.max_idle {
            idle.push(conn);
        }
    }

    /// Runs a query inline on a reader connection.
    pub(crate) fn rows(&self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let conn = self.checkout()?;
        let out = rows(&conn, sql, params);
        // A connection that failed at the I/O level is not reused.
        if out.is_ok() {
            self.checkin(conn);
        }
        Ok(out?)
    }

    /// Runs a query on the blocking pool (for reads that may take long).
    pub(crate) async fn rows_blocking(
        self: &Arc<Self>,
        sql: String,
        params: Vec<Val>,
    ) -> Result<Vec<Row>> {
        let readers = self.clone();
        tokio::task::spawn_blocking(move || readers.rows(&sql, &params))
            .await
            .map_err(|err| StoreError::from(DbError::JobFailed(err.to_string())))?
    }
}

/// Runs a statement; returns the number of rows it changed.
pub(crate) fn exec(conn: &Connection, sql: &str, params: &[Val]) -> Result<u64, DbError> {
    let mut statement = conn.prepare_cached(&translate(sql))?;
    let changed = statement.execute(rusqlite::params_from_iter(params))?;
    Ok(changed as u64)
}

/// Runs a query and collects its rows.
pub(crate) fn rows(conn: &Connection, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError> {
    let mut out = Vec::new();
    query(conn, sql, params, |row| {
        out.push(row);
        Ok::<_, DbError>(())
    })?;
    Ok(out)
}

/// Hands each row of a parameterless query to `each`, without collecting
/// them (for reads too large to hold).
pub(crate) fn each<E: From<DbError>>(
    conn: &Connection,
    sql: &str,
    mut each: impl FnMut(&Row) -> Result<(), E>,
) -> Result<(), E> {
    query(conn, sql, &[], |row| each(&row))
}

fn query<E: From<DbError>>(
    conn: &Connection,
    sql: &str,
    params: &[Val],
    mut each: impl FnMut(Row) -> Result<(), E>,
) -> Result<(), E> {
    let mut statement = conn
        .prepare_cached(&translate(sql))
        .map_err(DbError::from)?;
    let width = statement.column_count();
    let mut found = statement
        .query(rusqlite::params_from_iter(params))
        .map_err(DbError::from)?;
    while let Some(row) = found.next().map_err(DbError::from)? {
        let mut cells = Vec::with_capacity(width);
        for i in 0..width {
            cells.push(match row.get_ref(i).map_err(DbError::from)? {
                ValueRef::Null => Val::Null(Ty::Text),
                ValueRef::Integer(v) => Val::Int(v),
                // The schema stores no floats; keep the whole part.
                ValueRef::Real(v) => Val::Int(v as i64),
                ValueRef::Text(v) => Val::Text(String::from_utf8_lossy(v).into_owned()),
                ValueRef::Blob(v) => Val::Blob(v.to_vec()),
            });
        }
        each(Row(cells))?;
    }
    Ok(())
}

/// `$N` → `?N`, outside string literals.
fn translate(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '$' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

impl ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Val::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Val::Blob(v) => ToSqlOutput::Borrowed(ValueRef::Blob(v)),
            Val::Null(_) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_bind_by_number() {
        assert_eq!(
            translate("SELECT $2, '$1', $1 WHERE x = $10"),
            "SELECT ?2, '$1', ?1 WHERE x = ?10"
        );
        let conn = Connection::open_in_memory().unwrap();
        let found = rows(
            &conn,
            "SELECT $2, $1, $2",
            &[Val::Int(1), Val::Text("b".into())],
        )
        .unwrap();
        assert_eq!(
            found[0].0,
            vec![Val::Text("b".into()), Val::Int(1), Val::Text("b".into())]
        );
    }

    #[test]
    fn url_paths() {
        assert_eq!(
            path_of("sqlite:///tmp/x/hush.db?mode=rwc").unwrap(),
            PathBuf::from("/tmp/x/hush.db")
        );
        assert!(path_of("sqlite::memory:").is_err());
    }
}
