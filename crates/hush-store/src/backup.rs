//! Backups: a consistent copy of the whole database in one file, and its
//! restore into an empty database of either backend.
//!
//! A backup is *logical*: every table's rows as typed JSON lines, read in
//! one snapshot (a read transaction on SQLite's WAL, `REPEATABLE READ`
//! on PostgreSQL) while the server keeps writing. So the same file
//! restores into SQLite or PostgreSQL, which is how a deployment moves
//! from one to the other. Values, data keys and the audit chain's key
//! stay sealed exactly as stored: a backup is useless without the master
//! key, which it never contains (only its fingerprint, so a restore can
//! tell the operator which key it needs).
//!
//! The file, line by line:
//!
//! ```text
//! {"format":"hush-backup","version":1,"schema":14,"created_at":…,"source":"sqlite","master_key_id":"…","hush":"0.1.0"}
//! {"table":"organizations","columns":["id","slug",…]}
//! ["0190…","default",…]            one JSON array per row; bytes as {"b64":"…"}
//! …
//! {"rows":{"organizations":1,…},"sha256":"…"}
//! ```
//!
//! The last line counts each table's rows and holds the SHA-256 of every
//! byte before it, so a cut-off or altered file is refused before a
//! restore writes anything.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::db::snapshot::Snapshot;
use crate::db::{placeholders, Row, Tx, Val};
use crate::error::{DbError, StoreError};
use crate::{Backend, Store};

/// What the first line says the file is.
pub const FORMAT: &str = "hush-backup";

/// The version of this file layout (not of the schema inside).
pub const FORMAT_VERSION: i64 = 1;

/// Every table a backup holds, parents before children: a restore
/// inserts in this order, so every foreign key finds its row. A test
/// checks that this is every table of the schema but two: which
/// migrations ran (the target runs its own) and the writer's liveness row.
const TABLES: &[&str] = &[
    "organizations",
    "users",
    "memberships",
    "projects",
    "project_members",
    "targets",
    "environments",
    "scopes",
    "secrets",
    "versions",
    "version_changes",
    "tokens",
    "vaultenv_keys",
    "vaultenv_devices",
    "vaultenv_signatures",
    "e2ee_meta",
    "key_verifications",
    "audit_log",
    "audit_head",
    "audit_anchor",
    "hush_settings",
];

/// Rows per INSERT statement on restore (far below both backends'
/// parameter limits for any table here).
const INSERT_ROWS: usize = 200;

/// Why a backup or a restore failed.
#[derive(Debug, Error)]
pub enum BackupError {
    /// Reading or writing a file.
    #[error("{what}: {source}")]
    Io {
        /// Which file and what was being done.
        what: String,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a hush backup, or is damaged.
    #[error("{path} is not a valid hush backup: {reason}")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong, with the line number.
        reason: String,
    },
    /// The backup was made with a schema this hush cannot load.
    #[error(
        "the backup holds schema version {found}, and this hush restores version {known} only: \
         restore it with the hush release that made it ({hush}), then upgrade"
    )]
    Schema {
        /// The backup's schema version.
        found: i64,
        /// This build's.
        known: i64,
        /// The release that made the backup.
        hush: String,
    },
    /// The target already holds data.
    #[error(
        "the target database is not empty ({found}): restore into a new database, or pass \
         --replace to delete everything in it first"
    )]
    NotEmpty {
        /// What it holds, e.g. "organizations: 1 row, tokens: 2 rows".
        found: String,
    },
    /// The target runs with another master key than the backup's.
    #[error(
        "the backup's keys are sealed under master key {backup}, but the target was opened with \
         master key {given}: restore with the master key of the server the backup came from"
    )]
    KeyMismatch {
        /// The backup's key fingerprint.
        backup: String,
        /// The key in use.
        given: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DbError> for BackupError {
    fn from(err: DbError) -> Self {
        BackupError::Store(StoreError::from(err))
    }
}

/// The first line of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`FORMAT_VERSION`] for files this build writes.
    pub version: i64,
    /// The database's schema version (its last migration).
    pub schema: i64,
    /// When the snapshot was taken (unix ms).
    pub created_at: i64,
    /// `sqlite` or `postgres`.
    pub source: String,
    /// Fingerprint of the master key its keys are sealed under (none in
    /// a database that never started a server).
    pub master_key_id: Option<String>,
    /// The hush release that wrote it.
    pub hush: String,
}

/// A table's section header.
#[derive(Debug, Serialize, Deserialize)]
struct TableLine {
    table: String,
    columns: Vec<String>,
}

/// The last line.
#[derive(Debug, Serialize, Deserialize)]
struct Trailer {
    rows: BTreeMap<String, u64>,
    sha256: String,
}

/// What a backup or restore handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The file's first line.
    pub header: BackupHeader,
    /// Rows per table, in [`TABLES`] order.
    pub rows: Vec<(String, u64)>,
    /// The file's checksum (hex SHA-256 of everything before the last line).
    pub sha256: String,
}

impl BackupSummary {
    /// All rows.
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// Reports each table as it is done (for a progress display).
pub type Progress<'a> = &'a mut (dyn FnMut(&str, u64) + Send);

/// The highest schema version this build knows.
fn known_schema() -> i64 {
    crate::db::latest_migration()
}

// ---------------------------------------------------------------- writing

/// Writes lines and hashes them.
struct Dumper<'a> {
    out: &'a mut (dyn Write + Send),
    hash: Sha256,
    rows: Vec<(String, u64)>,
}

impl<'a> Dumper<'a> {
    fn new(out: &'a mut (dyn Write + Send)) -> Self {
        Self {
            out,
            hash: Sha256::new(),
            rows: Vec::new(),
        }
    }

    fn line(&mut self, value: &impl Serialize) -> Result<(), BackupError> {
        let mut bytes = serde_json::to_vec(value).map_err(|err| BackupError::Io {
            what: "encoding a backup line".to_owned(),
            source: std::io::Error::other(err),
        })?;
        bytes.push(b'\n');
        self.hash.update(&bytes);
        self.out
            .write_all(&bytes)
            .map_err(|source| BackupError::Io {
                what: "writing the backup".to_owned(),
                source,
            })
    }

    fn table(&mut self, table: &str, columns: &[String]) -> Result<(), BackupError> {
        self.rows.push((table.to_owned(), 0));
        self.line(&TableLine {
            table: table.to_owned(),
            columns: columns.to_vec(),
        })
    }

    fn row(&mut self, row: &Row) -> Result<(), BackupError> {
        if let Some((_, n)) = self.rows.last_mut() {
            *n += 1;
        }
        let cells: Vec<Value> = row.0.iter().map(encode).collect();
        self.line(&cells)
    }

    fn finish(self, header: BackupHeader) -> Result<BackupSummary, BackupError> {
        let sha256 = hex(&self.hash.finalize());
        let trailer = Trailer {
            rows: self.rows.iter().cloned().collect(),
            sha256: sha256.clone(),
        };
        let mut bytes = serde_json::to_vec(&trailer).map_err(|err| BackupError::Io {
            what: "encoding a backup line".to_owned(),
            source: std::io::Error::other(err),
        })?;
        bytes.push(b'\n');
        self.out
            .write_all(&bytes)
            .and_then(|()| self.out.flush())
            .map_err(|source| BackupError::Io {
                what: "writing the backup".to_owned(),
                source,
            })?;
        Ok(BackupSummary {
            header,
            rows: self.rows,
            sha256,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode(cell: &Val) -> Value {
    match cell {
        Val::Int(v) => Value::from(*v),
        Val::Text(v) => Value::from(v.as_str()),
        Val::Blob(v) => {
            serde_json::json!({ "b64": base64::engine::general_purpose::STANDARD.encode(v) })
        }
        Val::Null(_) => Value::Null,
    }
}

/// Writes a backup of the database at `database_url` to `out`, from one
/// consistent snapshot, while servers keep using the database. Needs no
/// master key: nothing is unsealed.
pub async fn backup(
    database_url: &str,
    out: &mut (dyn Write + Send),
    progress: Progress<'_>,
) -> Result<BackupSummary, BackupError> {
    let mut snapshot = Snapshot::open(database_url).await?;
    let backend = snapshot.backend();
    let schema = match first(snapshot.rows(SCHEMA_SQL, &[]).await) {
        Some(Val::Int(v)) => Some(v),
        _ => None,
    };
    let schema = check_schema(schema)?;
    let master_key_id = match first(snapshot.rows(KEY_ID_SQL, &[]).await) {
        Some(Val::Text(v)) => Some(v),
        _ => None,
    };
    let header = BackupHeader {
        format: FORMAT.to_owned(),
        version: FORMAT_VERSION,
        schema,
        created_at: crate::now_ms(),
        source: match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .to_owned(),
        master_key_id,
        hush: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let mut dump = Dumper::new(out);
    dump.line(&header)?;
    for table in TABLES {
        // By name: the backends order some columns differently, and the
        // same data should make the same lines from either.
        let mut columns: Vec<String> = snapshot
            .rows(&columns_sql(backend), &[Val::Text((*table).to_owned())])
            .await?
            .iter()
            .map(|row| row.get::<String>(0))
            .collect::<Result<_, _>>()?;
        columns.sort();
        dump.table(table, &columns)?;
        snapshot
            .each(&select_sql(table, &columns), |row| dump.row(row))
            .await?;
        progress(table, dump.rows.last().map_or(0, |(_, n)| *n));
    }
    snapshot.close().await?;
    dump.finish(header)
}

/// The first cell of a query's first row; `None` for no row, and for a
/// query that failed because the table is missing (the checks after
/// that say what is wrong in words).
fn first(rows: Result<Vec<Row>, StoreError>) -> Option<Val> {
    rows.ok()?.into_iter().next()?.0.into_iter().next()
}

/// The snapshot's schema version, refusing a schema this build does not
/// know (its tables may differ from [`TABLES`]).
fn check_schema(schema: Option<i64>) -> Result<i64, BackupError> {
    let known = known_schema();
    match schema {
        Some(found) if found > known => Err(StoreError::SchemaTooNew { found, known }.into()),
        Some(found) => Ok(found),
        None => Err(StoreError::NotFound {
            kind: "hush database",
            what: "(it has no hush_migrations table)".to_owned(),
        }
        .into()),
    }
}

const SCHEMA_SQL: &str = "SELECT MAX(version) FROM hush_migrations";
const KEY_ID_SQL: &str = "SELECT value FROM hush_settings WHERE name = 'master_key_id'";

/// A table's columns and declared types, in order (`$1` is the table).
fn columns_sql(backend: Backend) -> String {
    match backend {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid".to_owned(),
        Backend::Postgres => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
                .to_owned()
        }
    }
}

fn select_sql(table: &str, columns: &[String]) -> String {
    format!("SELECT {} FROM {table}", columns.join(", "))
}

// ---------------------------------------------------------------- reading

/// One parsed line of a backup.
enum Line {
    Table(TableLine),
    Row(Vec<Value>),
    Trailer(Trailer),
}

/// Reads a backup line by line, hashing what precedes the trailer.
struct Reader {
    path: String,
    lines: std::io::Lines<BufReader<std::fs::File>>,
    hash: Sha256,
    number: usize,
}

impl Reader {
    fn open(path: &Path) -> Result<Self, BackupError> {
        let file = std::fs::File::open(path).map_err(|source| BackupError::Io {
            what: format!("cannot open {}", path.display()),
            source,
        })?;
        Ok(Self {
            path: path.display().to_string(),
            lines: BufReader::new(file).lines(),
            hash: Sha256::new(),
            number: 0,
        })
    }

    fn damaged(&self, reason: impl std::fmt::Display) -> BackupError {
        BackupError::Damaged {
            path: self.path.clone(),
            reason: format!("line {}: {reason}", self.number),
        }
    }

    fn next_text(&mut self) -> Result<Option<String>, BackupError> {
        match self.lines.next() {
            None => Ok(None),
            Some(Err(source)) => Err(BackupError::Io {
                what: format!("reading {}", self.path),
                source,
            }),
            Some(Ok(text)) => {
                self.number += 1;
                Ok(Some(text))
            }
        }
    }

    fn header(&mut self) -> Result<BackupHeader, BackupError> {
        let text = self
            .next_text()?
            .ok_or_else(|| self.damaged("the file is empty"))?;
        let header: BackupHeader = serde_json::from_str(&text)
            .map_err(|_| self.damaged("the first line is not a hush backup header"))?;
        if header.format != FORMAT {
            return Err(self.damaged(format!("format {:?}, not {FORMAT:?}", header.format)));
        }
        if header.version != FORMAT_VERSION {
            return Err(self.damaged(format!(
                "file layout version {}; this hush reads version {FORMAT_VERSION}",
                header.version
            )));
        }
        self.hash.update(text.as_bytes());
        self.hash.update(b"\n");
        Ok(header)
    }

    fn next(&mut self) -> Result<Option<Line>, BackupError> {
        let Some(text) = self.next_text()? else {
            return Ok(None);
        };
        let line = if text.starts_with('[') {
            Line::Row(serde_json::from_str(&text).map_err(|err| self.damaged(err))?)
        } else if text.starts_with("{\"table\"") {
            Line::Table(serde_json::from_str(&text).map_err(|err| self.damaged(err))?)
        } else {
            let trailer: Trailer = serde_json::from_str(&text)
                .map_err(|_| self.damaged("neither a row, a table nor the closing line"))?;
            return Ok(Some(Line::Trailer(trailer)));
        };
        self.hash.update(text.as_bytes());
        self.hash.update(b"\n");
        Ok(Some(line))
    }
}

/// Reads a whole backup and checks it: header, the tables in order with
/// their columns, each row's width, the row counts and the checksum.
pub fn verify_file(path: &Path) -> Result<BackupSummary, BackupError> {
    let mut reader = Reader::open(path)?;
    let header = reader.header()?;
    let mut rows: Vec<(String, u64)> = Vec::new();
    let mut width = None;
    let trailer = loop {
        match reader.next()? {
            None => return Err(reader.damaged("the file ends early (no closing line)")),
            Some(Line::Table(table)) => {
                let expected = TABLES.get(rows.len());
                if expected != Some(&table.table.as_str()) {
                    return Err(reader.damaged(format!(
                        "table {:?} where {} was expected",
                        table.table,
                        expected.map_or("the end".to_owned(), |t| format!("{t:?}"))
                    )));
                }
                width = Some(table.columns.len());
                rows.push((table.table, 0));
            }
            Some(Line::Row(cells)) => match (width, rows.last_mut()) {
                (Some(w), Some((_, n))) if cells.len() == w => *n += 1,
                (Some(w), Some(_)) => {
                    return Err(reader.damaged(format!("{} cells in a row of {w}", cells.len())))
                }
                _ => return Err(reader.damaged("a row before any table")),
            },
            Some(Line::Trailer(trailer)) => break trailer,
        }
    };
    if reader.next_text()?.is_some() {
        return Err(reader.damaged("text after the closing line"));
    }
    let sha256 = hex(&reader.hash.clone().finalize());
    if sha256 != trailer.sha256 {
        return Err(reader.damaged(format!(
            "checksum mismatch: the file says {}, its content hashes to {sha256}",
            trailer.sha256
        )));
    }
    if rows.len() != TABLES.len() {
        return Err(reader.damaged(format!(
            "{} tables where {} were expected",
            rows.len(),
            TABLES.len()
        )));
    }
    if trailer.rows != rows.iter().cloned().collect::<BTreeMap<_, _>>() {
        return Err(reader.damaged("the closing line's row counts do not match the rows"));
    }
    Ok(BackupSummary {
        header,
        rows,
        sha256,
    })
}

/// A column's type in the target, for typed NULLs and for bytes that
/// SQLite handed out as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Text,
    Blob,
}

impl Kind {
    fn of(declared: &str) -> Self {
        let declared = declared.to_ascii_uppercase();
        if declared.contains("INT") {
            Kind::Int
        } else if declared.contains("BLOB") || declared.contains("BYTEA") {
            Kind::Blob
        } else {
            Kind::Text
        }
    }

    fn null(self) -> Val {
        Val::Null(match self {
            Kind::Int => crate::db::Ty::Int,
            Kind::Text => crate::db::Ty::Text,
            Kind::Blob => crate::db::Ty::Blob,
        })
    }
}

/// The cell `value` as the target column `kind` stores it.
fn decode(value: &Value, kind: Kind) -> Option<Val> {
    Some(match (value, kind) {
        (Value::Null, kind) => kind.null(),
        (Value::Number(n), Kind::Int) => Val::Int(n.as_i64()?),
        (Value::String(s), Kind::Text) => Val::Text(s.clone()),
        (Value::String(s), Kind::Blob) => Val::Blob(s.clone().into_bytes()),
        (Value::Object(o), Kind::Blob) => Val::Blob(
            base64::engine::general_purpose::STANDARD
                .decode(o.get("b64")?.as_str()?)
                .ok()?,
        ),
        _ => return None,
    })
}

impl Store {
    /// Loads a backup into this store's database, which must be empty
    /// (`replace` deletes whatever it holds first), in one transaction:
    /// on any failure the database is left as it was. The file is checked
    /// whole (checksum included) before anything is written. Close and
    /// reopen the store afterwards: the restored audit chain key is read
    /// at start (then [`Store::verify_audit`] checks the chain).
    pub async fn restore_backup(
        &self,
        path: &Path,
        replace: bool,
        progress: Progress<'_>,
    ) -> Result<BackupSummary, BackupError> {
        let summary = verify_file(path)?;
        let known = known_schema();
        if summary.header.schema != known {
            return Err(BackupError::Schema {
                found: summary.header.schema,
                known,
                hush: summary.header.hush.clone(),
            });
        }
        let keys = self.keys.keys();
        if let Some(backup) = &summary.header.master_key_id {
            if !keys.ids().contains(backup) {
                return Err(BackupError::KeyMismatch {
                    backup: backup.clone(),
                    given: keys.current.id(),
                });
            }
        }
        let held = self.contents().await?;
        if !held.is_empty() && !replace {
            return Err(BackupError::NotEmpty {
                found: held.join(", "),
            });
        }
        let kinds = self.column_kinds().await?;
        let file: PathBuf = path.to_owned();
        let loaded = self
            .db
            .write(None, move |tx| async move {
                for table in TABLES.iter().rev() {
                    tx.exec(&format!("DELETE FROM {table}"), &[]).await?;
                }
                load(&tx, &file, &kinds).await
            })
            .await?;
        for (table, rows) in &loaded {
            progress(table, *rows);
        }
        Ok(summary)
    }

    /// "table: N rows" for each table that holds data (what a fresh
    /// database makes for itself, its settings and the empty chain's
    /// head, does not count).
    async fn contents(&self) -> Result<Vec<String>, StoreError> {
        let mut held = Vec::new();
        let own = ["hush_settings", "audit_head"];
        for table in TABLES.iter().filter(|t| !own.contains(t)) {
            let count: i64 = self
                .db
                .row(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .await?
                .map_or(Ok(0), |row| row.get(0))?;
            if count > 0 {
                let unit = if count == 1 { "row" } else { "rows" };
                held.push(format!("{table}: {count} {unit}"));
            }
        }
        Ok(held)
    }

    async fn column_kinds(&self) -> Result<BTreeMap<String, BTreeMap<String, Kind>>, StoreError> {
        let mut kinds = BTreeMap::new();
        for table in TABLES {
            let columns = self
                .db
                .rows(
                    &columns_sql(self.backend),
                    &[Val::Text((*table).to_owned())],
                )
                .await?
                .iter()
                .map(|row| Ok((row.get::<String>(0)?, Kind::of(&row.get::<String>(1)?))))
                .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
            kinds.insert((*table).to_owned(), columns);
        }
        Ok(kinds)
    }
}

/// The second pass of a restore, inside its transaction: every row,
/// inserted in batches. The file was checked whole before, so a problem
/// now (it changed in between) fails the transaction.
async fn load(
    tx: &Tx,
    path: &Path,
    kinds: &BTreeMap<String, BTreeMap<String, Kind>>,
) -> Result<Vec<(String, u64)>, StoreError> {
    let failed = |reason: String| StoreError::Database(DbError::JobFailed(reason));
    let mut reader = Reader::open(path).map_err(|err| failed(err.to_string()))?;
    reader.header().map_err(|err| failed(err.to_string()))?;
    let mut loaded = Vec::new();
    let mut section: Option<Section> = None;
    loop {
        match reader.next().map_err(|err| failed(err.to_string()))? {
            Some(Line::Table(table)) => {
                if let Some(done) = section.take() {
                    loaded.push(done.flush_all(tx).await?);
                }
                let target = kinds
                    .get(&table.table)
                    .ok_or_else(|| failed(format!("unknown table {}", table.table)))?;
                section = Some(Section::new(table, target).map_err(failed)?);
            }
            Some(Line::Row(cells)) => {
                let current = section
                    .as_mut()
                    .ok_or_else(|| failed("a row before any table".to_owned()))?;
                current.push(cells).map_err(failed)?;
                if current.pending.len() >= INSERT_ROWS {
                    current.flush(tx).await?;
                }
            }
            Some(Line::Trailer(_)) | None => break,
        }
    }
    if let Some(done) = section.take() {
        loaded.push(done.flush_all(tx).await?);
    }
    Ok(loaded)
}

/// One table being restored: its columns as the target types them, and
/// the rows not yet inserted.
struct Section {
    table: String,
    columns: Vec<String>,
    kinds: Vec<Kind>,
    pending: Vec<Vec<Val>>,
    done: u64,
}

impl Section {
    /// Refuses a table whose columns are not exactly the target's.
    fn new(line: TableLine, target: &BTreeMap<String, Kind>) -> Result<Self, String> {
        let mut given: Vec<&String> = line.columns.iter().collect();
        given.sort();
        let expected: Vec<&String> = target.keys().collect();
        if given != expected {
            return Err(format!(
                "table {} has columns {:?} in the backup and {:?} here",
                line.table, line.columns, expected
            ));
        }
        let kinds = line
            .columns
            .iter()
            .map(|c| target.get(c).copied().unwrap_or(Kind::Text))
            .collect();
        Ok(Self {
            table: line.table,
            columns: line.columns,
            kinds,
            pending: Vec::new(),
            done: 0,
        })
    }

    fn push(&mut self, cells: Vec<Value>) -> Result<(), String> {
        let row = cells
            .iter()
            .zip(&self.kinds)
            .zip(&self.columns)
            .map(|((cell, kind), column)| {
                decode(cell, *kind).ok_or_else(|| {
                    // The kind of JSON value only: a cell may be sealed
                    // key material, which has no place in an error.
                    let found = match cell {
                        Value::Null => "null",
                        Value::Bool(_) => "a boolean",
                        Value::Number(_) => "a number",
                        Value::String(_) => "text",
                        Value::Array(_) => "an array",
                        Value::Object(_) => "an object",
                    };
                    format!(
                        "row {} of {}: column {column} holds {found} where {kind:?} was expected",
                        self.done as usize + self.pending.len() + 1,
                        self.table
                    )
                })
            })
            .collect::<Result<Vec<Val>, String>>()?;
        self.pending.push(row);
        Ok(())
    }

    async fn flush(&mut self, tx: &Tx) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let width = self.columns.len();
        let values: Vec<String> = (0..self.pending.len())
            .map(|i| format!("({})", placeholders(i * width, width)))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}",
            self.table,
            self.columns.join(", "),
            values.join(", ")
        );
        let params: Vec<Val> = self.pending.drain(..).flatten().collect();
        let rows = (params.len() / width.max(1)) as u64;
        tx.exec(&sql, &params).await?;
        self.done += rows;
        Ok(())
    }

    async fn flush_all(mut self, tx: &Tx) -> Result<(String, u64), StoreError> {
        self.flush(tx).await?;
        Ok((self.table, self.done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A known file: the wire format's test vector. Its checksum is the
    /// SHA-256 of the lines before the last.
    #[test]
    fn the_format_is_checked_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut body = String::from(
            "{\"format\":\"hush-backup\",\"version\":1,\"schema\":14,\"created_at\":0,\
             \"source\":\"sqlite\",\"master_key_id\":null,\"hush\":\"0.0.0\"}\n",
        );
        for table in TABLES {
            body.push_str(&format!(
                "{{\"table\":\"{table}\",\"columns\":[\"a\",\"b\"]}}\n"
            ));
            if *table == "organizations" {
                body.push_str("[1,{\"b64\":\"AAE=\"}]\n");
            }
        }
        let sha = hex(&Sha256::digest(body.as_bytes()));
        let counts: BTreeMap<&str, u64> = TABLES
            .iter()
            .map(|t| (*t, u64::from(*t == "organizations")))
            .collect();
        let good = format!(
            "{body}{}\n",
            serde_json::json!({"rows": counts, "sha256": sha})
        );
        let path = dir.path().join("b");
        std::fs::write(&path, &good).unwrap();
        let summary = verify_file(&path).unwrap();
        assert_eq!(summary.total_rows(), 1);
        assert_eq!(summary.sha256, sha);

        // One flipped character, a cut-off end, a missing table: refused.
        for bad in [
            good.replacen("AAE=", "AAF=", 1),
            good.lines().take(5).collect::<Vec<_>>().join("\n"),
            good.replacen("{\"table\":\"users\",\"columns\":[\"a\",\"b\"]}\n", "", 1),
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(matches!(
                verify_file(&path),
                Err(BackupError::Damaged { .. })
            ));
        }
    }

    /// Every table of the schema is in the backup, on both backends, so
    /// a migration that adds a table cannot be forgotten here.
    #[tokio::test]
    async fn every_table_is_backed_up() {
        for db in [hush_testkit::Db::Sqlite, hush_testkit::Db::Postgres] {
            let Some(database) = hush_testkit::TestDatabase::create(db).await else {
                continue;
            };
            let key = hush_core::crypto::MasterKey::from_bytes([3; 32]);
            let store = Store::open(crate::StoreOptions::new(database.url.clone(), key))
                .await
                .unwrap();
            let sql = match store.backend() {
                Backend::Sqlite => {
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%'"
                }
                Backend::Postgres => {
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema()"
                }
            };
            let mut found: Vec<String> = store
                .db
                .rows(sql, &[])
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(0).unwrap())
                .collect();
            found.sort();
            let mut expected: Vec<String> = TABLES
                .iter()
                .chain(&["hush_migrations", "hush_heartbeat"])
                .map(|t| (*t).to_owned())
                .collect();
            expected.sort();
            assert_eq!(found, expected, "{db:?}");
            store.close().await;
            database.drop_db().await;
        }
    }

    #[test]
    fn cells_take_the_target_column_type() {
        let b64 = serde_json::json!({"b64": "AAE="});
        assert_eq!(decode(&b64, Kind::Blob), Some(Val::Blob(vec![0, 1])));
        assert_eq!(
            decode(&Value::from("ab"), Kind::Blob),
            Some(Val::Blob(b"ab".to_vec()))
        );
        assert_eq!(decode(&Value::Null, Kind::Int), Some(Kind::Int.null()));
        assert_eq!(decode(&Value::from(7), Kind::Int), Some(Val::Int(7)));
        assert_eq!(decode(&Value::from("7"), Kind::Int), None);
        assert_eq!(decode(&b64, Kind::Text), None);
        assert_eq!(Kind::of("BIGINT"), Kind::Int);
        assert_eq!(Kind::of("bytea"), Kind::Blob);
        assert_eq!(Kind::of("text"), Kind::Text);
        assert_eq!(encode(&Val::Blob(vec![0, 1])), b64);
    }
}
