//! A read-only transaction that sees one moment of the database for as
//! long as it lasts, for backups: on SQLite a read transaction on its own
//! connection (WAL lets the writer go on; the reader keeps its snapshot),
//! on PostgreSQL `REPEATABLE READ READ ONLY`. Rows are streamed to the
//! caller one at a time, so a large audit log is never held in memory.

use futures_util::TryStreamExt as _;

use super::value::{Row, Val};
use super::{postgres, sqlite};
use crate::error::{DbError, Result};
use crate::Backend;

/// An open snapshot.
pub(crate) enum Snapshot {
    Sqlite(rusqlite::Connection),
    Postgres(sqlx::PgConnection),
}

impl Snapshot {
    /// Opens the database at `url` and starts the snapshot. Opening never
    /// creates anything: a missing SQLite file is an error.
    pub(crate) async fn open(url: &str) -> Result<Self> {
        match Backend::from_url(url)? {
            Backend::Sqlite => {
                let path = sqlite::path_of(url)?;
                if !path.exists() {
                    return Err(crate::error::not_found(
                        "database file",
                        path.display().to_string(),
                    ));
                }
                let conn = sqlite::open_reader(&path)?;
                conn.execute_batch("BEGIN").map_err(DbError::from)?;
                Ok(Snapshot::Sqlite(conn))
            }
            Backend::Postgres => {
                let options = postgres::options(url)?;
                let mut conn = postgres::connect(&options).await?;
                postgres::exec_plain(
                    &mut conn,
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
                )
                .await?;
                Ok(Snapshot::Postgres(conn))
            }
        }
    }

    /// Which database this is.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Snapshot::Sqlite(_) => Backend::Sqlite,
            Snapshot::Postgres(_) => Backend::Postgres,
        }
    }

    /// A short query's rows.
    pub(crate) async fn rows(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        Ok(match self {
            Snapshot::Sqlite(conn) => sqlite::rows(conn, sql, params)?,
            Snapshot::Postgres(conn) => postgres::rows(&mut *conn, sql, params).await?,
        })
    }

    /// Hands each row of a query to `each`, in turn.
    pub(crate) async fn each<E: From<DbError>>(
        &mut self,
        sql: &str,
        mut each: impl FnMut(&Row) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self {
            Snapshot::Sqlite(conn) => sqlite::each(conn, sql, each),
            Snapshot::Postgres(conn) => {
                let mut rows = sqlx::query(sql).fetch(&mut *conn);
                while let Some(row) = rows.try_next().await.map_err(DbError::from)? {
                    each(&postgres::decode(&row)?)?;
                }
                Ok(())
            }
        }
    }

    /// Ends the transaction (nothing was written).
    pub(crate) async fn close(self) -> Result<()> {
        match self {
            Snapshot::Sqlite(conn) => conn.execute_batch("COMMIT").map_err(DbError::from)?,
            Snapshot::Postgres(mut conn) => {
                postgres::exec_plain(&mut conn, "COMMIT").await?;
            }
        }
        Ok(())
    }
}
