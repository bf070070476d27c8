//! The SQLite hot read path: secret rows through rusqlite.
//!
//! sqlx's SQLite driver hands every row from its worker thread to the async
//! side one at a time; measured here, fetching the ~130 rows of a merged
//! 100-secret read cost ~500 µs typed and ~900 µs through `Any`, against
//! ~150 µs for rusqlite on tokio's blocking pool and less inline. So the
//! reads that serve pulls (`read_level`, `read_merged`, scope versions) run
//! here on SQLite, over a few read-only connections to the same WAL
//! database; every other query, and every write, stays on sqlx. Both link
//! the same bundled libsqlite3.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;

use crate::error::{Result, StoreError};
use crate::rows::SecretRow;

pub(crate) struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

impl SqliteReads {
    pub(crate) fn new(url: &str, max_idle: usize) -> Result<Arc<Self>> {
        let options = SqliteConnectOptions::from_str(url)?;
        let path = options.get_filename().to_path_buf();
        if path.as_os_str().is_empty() || path.to_string_lossy().contains(":memory:") {
            return Err(StoreError::UnsupportedUrl {
                scheme: "sqlite (in-memory)".to_owned(),
            });
        }
        Ok(Arc::new(Self {
            path,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        }))
    }

    fn checkout(&self) -> rusqlite::Result<Connection> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                let conn = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(std::time::Duration::from_secs(10))?;
                Ok(conn)
            }
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

    /// Runs `sql` (selecting `scope_id, id, SECRET_FIELDS`) with text
    /// parameters `$1…`.
    ///
    /// It runs inline on the calling async worker. These reads are short
    /// indexed scans of one scope's rows, and in WAL mode a reader never
    /// waits for a writer; measured under load (bench/load.sh), inline beat
    /// `spawn_blocking` (two thread hops per read) and `block_in_place`
    /// (which hands the worker's queue to another thread per call).
    pub(crate) fn secret_rows(&self, sql: &str, binds: &[String]) -> Result<Vec<SecretRow>> {
        self.with(|conn| query(conn, sql, binds))
    }

    /// `(scope id, current_version)` of the scopes among `keys` that exist.
    pub(crate) fn scope_versions(&self, sql: &str, keys: &[String]) -> Result<Vec<(String, i64)>> {
        self.with(|conn| {
            let mut statement = conn.prepare_cached(sql)?;
            let rows = statement.query_map(rusqlite::params_from_iter(keys), |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect()
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.checkout().map_err(StoreError::Sqlite)?;
        let out = f(&conn);
        self.checkin(conn);
        out.map_err(StoreError::Sqlite)
    }
}

fn query(conn: &Connection, sql: &str, binds: &[String]) -> rusqlite::Result<Vec<SecretRow>> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(rusqlite::params_from_iter(binds), |row| {
        Ok(SecretRow {
            scope_id: row.get(0)?,
            id: row.get(1)?,
            name: row.get(2)?,
            value: row.get(3)?,
            note: row.get(4)?,
            tags: row.get(5)?,
            is_active: row.get::<_, i64>(6)? != 0,
            is_reserved: row.get::<_, i64>(7)? != 0,
            expires_at: row.get(8)?,
            created_at: row.get(9)?,
            updated_at: row.get(10)?,
            created_by: row.get(11)?,
            updated_by: row.get(12)?,
        })
    })?;
    rows.collect()
}
