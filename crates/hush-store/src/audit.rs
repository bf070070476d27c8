//! The audit log: batched, hash-chained appends; filtered reads; verification.

use hush_core::audit::chain_hash;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::Result;
use crate::{now_ms, Store};

/// One thing that happened. Never holds a secret value or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Time (unix ms).
    pub at: i64,
    /// Organization it concerns, if known.
    pub org_id: Option<String>,
    /// Project it concerns, if known.
    pub project_id: Option<String>,
    /// Who: `token:<id>`, `user:<id>`, `anonymous`.
    pub actor: String,
    /// What, e.g. `secret.decrypt`.
    pub action: String,
    /// On what, e.g. `default/web/secrets?env=production`.
    pub resource: String,
    /// `ok`, `denied` or `error`.
    pub result: String,
    /// HTTP status answered.
    pub status: i64,
    /// Client address.
    pub ip: String,
    /// Client user agent.
    pub user_agent: String,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// The entry.
    pub entry: AuditEntry,
    /// Hash of the previous entry.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// Filters for reading the log.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Organization (required by the API; `None` reads everything).
    pub org_id: Option<String>,
    /// Project id.
    pub project_id: Option<String>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// From this time (unix ms, inclusive).
    pub since: Option<i64>,
    /// Before this time (unix ms, exclusive).
    pub until: Option<i64>,
    /// Entries with `seq` below this (for paging newest-first).
    pub before_seq: Option<i64>,
    /// Page size.
    pub limit: i64,
}

/// The outcome of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: i64,
    /// The first entry whose hash or link does not match, if any.
    pub first_broken: Option<i64>,
}

fn fields(seq: i64, e: &AuditEntry) -> [String; 11] {
    [
        seq.to_string(),
        e.at.to_string(),
        e.org_id.clone().unwrap_or_default(),
        e.project_id.clone().unwrap_or_default(),
        e.actor.clone(),
        e.action.clone(),
        e.resource.clone(),
        e.result.clone(),
        e.status.to_string(),
        e.ip.clone(),
        e.user_agent.clone(),
    ]
}

fn entry_hash(prev: &str, seq: i64, e: &AuditEntry) -> String {
    let f = fields(seq, e);
    let refs: Vec<&str> = f.iter().map(String::as_str).collect();
    chain_hash(prev, &refs)
}

const COLUMNS: &str = "seq, at, org_id, project_id, actor, action, resource, result, status, \
     ip, user_agent, prev_hash, hash";
const PER_ROW: usize = 13;
/// Rows per INSERT statement (13 parameters each, well under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 200;

fn record(row: &AnyRow) -> sqlx::Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        entry: AuditEntry {
            at: row.try_get("at")?,
            org_id: row.try_get("org_id")?,
            project_id: row.try_get("project_id")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            resource: row.try_get("resource")?,
            result: row.try_get("result")?,
            status: row.try_get("status")?,
            ip: row.try_get("ip")?,
            user_agent: row.try_get("user_agent")?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

impl Store {
    /// Appends entries to the chain in one transaction (one durable commit
    /// for the whole batch: group commit). Returns the last sequence number.
    pub async fn append_audit(&self, entries: &[AuditEntry]) -> Result<i64> {
        let mut tx = self.pools.write.begin().await?;
        // Touching the head row locks it (PostgreSQL) until commit.
        let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
            .fetch_one(&mut *tx)
            .await?;
        let mut seq: i64 = head.try_get("seq")?;
        let mut prev: String = head.try_get("hash")?;
        for chunk in entries.chunks(ROWS_PER_STATEMENT) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let params: Vec<String> = (1..=PER_ROW)
                        .map(|c| format!("${}", r * PER_ROW + c))
                        .collect();
                    format!("({})", params.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO audit_log ({COLUMNS}) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for entry in chunk {
                seq += 1;
                let hash = entry_hash(&prev, seq, entry);
                query = query
                    .bind(seq)
                    .bind(entry.at)
                    .bind(entry.org_id.clone())
                    .bind(entry.project_id.clone())
                    .bind(entry.actor.clone())
                    .bind(entry.action.clone())
                    .bind(entry.resource.clone())
                    .bind(entry.result.clone())
                    .bind(entry.status)
                    .bind(entry.ip.clone())
                    .bind(entry.user_agent.clone())
                    .bind(std::mem::replace(&mut prev, hash.clone()))
                    .bind(hash);
            }
            query.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&prev)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seq)
    }

    /// Entries matching `query`, newest first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut conditions = Vec::new();
        let mut binds: Vec<AuditBind> = Vec::new();
        let mut add = |cond: &str, bind: AuditBind| {
            binds.push(bind);
            conditions.push(cond.replace('?', &format!("${}", binds.len())));
        };
        if let Some(v) = &query.org_id {
            add("org_id = ?", AuditBind::Text(v.clone()));
        }
        if let Some(v) = &query.project_id {
            add("project_id = ?", AuditBind::Text(v.clone()));
        }
        if let Some(v) = &query.actor {
            add("actor = ?", AuditBind::Text(v.clone()));
        }
        if let Some(v) = &query.action {
            add("action = ?", AuditBind::Text(v.clone()));
        }
        if let Some(v) = query.since {
            add("at >= ?", AuditBind::Int(v));
        }
        if let Some(v) = query.until {
            add("at < ?", AuditBind::Int(v));
        }
        if let Some(v) = query.before_seq {
            add("seq < ?", AuditBind::Int(v));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log {filter} ORDER BY seq DESC LIMIT {}",
            query.limit.clamp(1, 1000)
        );
        let mut q = sqlx::query(&sql);
        for bind in binds {
            q = match bind {
                AuditBind::Text(t) => q.bind(t),
                AuditBind::Int(i) => q.bind(i),
            };
        }
        let rows = q.fetch_all(&self.pools.read).await?;
        Ok(rows.iter().map(record).collect::<sqlx::Result<_>>()?)
    }

    /// Recomputes the whole chain and reports the first entry that does not
    /// match (a changed field, a deleted or inserted entry, a bad link).
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let mut prev = hush_core::audit::GENESIS.to_owned();
        let mut expected_seq = 1;
        let mut checked = 0;
        let page = 5000;
        loop {
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT {page}"
            );
            let rows = sqlx::query(&sql)
                .bind(expected_seq)
                .fetch_all(&self.pools.read)
                .await?;
            for row in &rows {
                let r = record(row)?;
                checked += 1;
                if r.seq != expected_seq
                    || r.prev_hash != prev
                    || r.hash != entry_hash(&prev, r.seq, &r.entry)
                {
                    return Ok(AuditVerification {
                        entries: checked,
                        first_broken: Some(expected_seq),
                    });
                }
                prev = r.hash;
                expected_seq += 1;
            }
            if rows.len() < page {
                break;
            }
        }
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pools.read)
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        // Entries cut off the end leave the head pointing past the log.
        let truncated = head_seq != expected_seq - 1 || head_hash != prev;
        Ok(AuditVerification {
            entries: checked,
            first_broken: truncated.then_some(expected_seq),
        })
    }
}

enum AuditBind {
    Text(String),
    Int(i64),
}

/// The current time, for callers building entries.
pub fn audit_now() -> i64 {
    now_ms()
}
