//! PostgreSQL through sqlx: a pool for reads, and one connection of its
//! own for the writer.
//!
//! Every wait is bounded so an outage answers within about a second
//! instead of hanging requests: acquiring a pooled connection, opening the
//! writer's, and each statement.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Column, ConnectOptions, Postgres, Row as _, TypeInfo};

use super::value::{Row, Ty, Val};
use crate::error::{DbError, Result};

/// Longest wait for a pooled connection or a new one.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Longest a single statement may run.
pub(crate) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);

pub(crate) fn options(url: &str) -> Result<PgConnectOptions> {
    Ok(PgConnectOptions::from_str(url).map_err(DbError::from)?)
}

/// The read pool. It connects once up front so a wrong URL fails at start.
pub(crate) async fn pool(options: PgConnectOptions, max: u32) -> Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(max.max(2))
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect_with(options)
        .await
        .map_err(DbError::from)?;
    Ok(pool)
}

/// Opens a connection for the writer.
pub(crate) async fn connect(options: &PgConnectOptions) -> Result<sqlx::PgConnection, DbError> {
    tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| DbError::Timeout(CONNECT_TIMEOUT))?
        .map_err(DbError::from)
}

fn bind<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    params: &'q [Val],
) -> Query<'q, Postgres, PgArguments> {
    for param in params {
        query = match param {
            Val::Int(v) => query.bind(*v),
            Val::Text(v) => query.bind(v.as_str()),
            Val::Blob(v) => query.bind(v.as_slice()),
            Val::Null(Ty::Int) => query.bind(None::<i64>),
            Val::Null(Ty::Text) => query.bind(None::<String>),
            Val::Null(Ty::Blob) => query.bind(None::<Vec<u8>>),
        };
    }
    query
}

async fn timed<T>(
    work: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, DbError> {
    tokio::time::timeout(STATEMENT_TIMEOUT, work)
        .await
        .map_err(|_| DbError::Timeout(STATEMENT_TIMEOUT))?
        .map_err(DbError::from)
}

/// Runs a statement; returns the number of rows it changed.
pub(crate) async fn exec<'c, E>(executor: E, sql: &str, params: &[Val]) -> Result<u64, DbError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let done = timed(bind(sqlx::query(sql), params).execute(executor)).await?;
    Ok(done.rows_affected())
}

/// Runs a statement without parameters or preparation (BEGIN, COMMIT, …).
pub(crate) async fn exec_plain<'c, E>(executor: E, sql: &'c str) -> Result<(), DbError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    timed(sqlx::raw_sql(sql).execute(executor)).await?;
    Ok(())
}

/// Runs a query and collects its rows.
pub(crate) async fn rows<'c, E>(executor: E, sql: &str, params: &[Val]) -> Result<Vec<Row>, DbError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let found = timed(bind(sqlx::query(sql), params).fetch_all(executor)).await?;
    found.iter().map(decode).collect()
}

/// Decodes a row. A NULL keeps its column's type, so a cell read here
/// can be bound again as a parameter (PostgreSQL checks the types).
pub(crate) fn decode(row: &PgRow) -> Result<Row, DbError> {
    let mut cells = Vec::with_capacity(row.columns().len());
    for (i, column) in row.columns().iter().enumerate() {
        let (cell, ty) = match column.type_info().name() {
            "INT8" => (row.try_get::<Option<i64>, _>(i)?.map(Val::Int), Ty::Int),
            "INT4" => (
                row.try_get::<Option<i32>, _>(i)?
                    .map(|v| Val::Int(i64::from(v))),
                Ty::Int,
            ),
            "INT2" => (
                row.try_get::<Option<i16>, _>(i)?
                    .map(|v| Val::Int(i64::from(v))),
                Ty::Int,
            ),
            "BOOL" => (
                row.try_get::<Option<bool>, _>(i)?
                    .map(|v| Val::Int(i64::from(v))),
                Ty::Int,
            ),
            "BYTEA" => (
                row.try_get::<Option<Vec<u8>>, _>(i)?.map(Val::Blob),
                Ty::Blob,
            ),
            _ => (
                row.try_get::<Option<String>, _>(i)?.map(Val::Text),
                Ty::Text,
            ),
        };
        cells.push(cell.unwrap_or(Val::Null(ty)));
    }
    Ok(Row(cells))
}
