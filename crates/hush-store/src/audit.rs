//! The audit log: batched, hash-chained appends; filtered reads; verification.

use hush_core::audit::chain_hash;

use crate::db::{params, placeholders, Row, Tx, Val};
use crate::error::{not_found, Result};
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
    /// How many identical requests this entry stands for: 1, or more for
    /// a summary of pulls (see the server's `--audit-pull-interval`).
    pub count: i64,
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
    /// Where verification started: the last pruned entry, if any.
    pub anchor: Option<AuditAnchor>,
}

/// What a prune left behind: the last entry it removed, which the chain
/// now starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditAnchor {
    /// Its sequence number.
    pub seq: i64,
    /// Its hash.
    pub hash: String,
    /// Entries removed by prunes so far.
    pub pruned: i64,
    /// When the last prune ran (unix ms).
    pub pruned_at: i64,
}

fn fields(seq: i64, e: &AuditEntry) -> Vec<String> {
    let mut fields = vec![
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
    ];
    // Entries of one request hash as they always have, so chains written
    // before counts existed still verify.
    if e.count != 1 {
        fields.push(format!("count={}", e.count));
    }
    fields
}

fn entry_hash(prev: &str, seq: i64, e: &AuditEntry) -> String {
    let f = fields(seq, e);
    let refs: Vec<&str> = f.iter().map(String::as_str).collect();
    chain_hash(prev, &refs)
}

const COLUMNS: &str = "seq, at, org_id, project_id, actor, action, resource, result, status, \
     ip, user_agent, prev_hash, hash, count";
const PER_ROW: usize = 14;
/// Rows per INSERT statement (14 parameters each, well under SQLite's limit).
const ROWS_PER_STATEMENT: usize = 200;

fn record(row: &Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.get(0)?,
        entry: AuditEntry {
            at: row.get(1)?,
            org_id: row.get(2)?,
            project_id: row.get(3)?,
            actor: row.get(4)?,
            action: row.get(5)?,
            resource: row.get(6)?,
            result: row.get(7)?,
            status: row.get(8)?,
            ip: row.get(9)?,
            user_agent: row.get(10)?,
            count: row.get(13)?,
        },
        prev_hash: row.get(11)?,
        hash: row.get(12)?,
    })
}

/// The chain's tip, read at the start of a write batch. On PostgreSQL the
/// row stays locked until the batch commits, which makes the batches of
/// all replicas take turns (one chain, no deadlocks between them).
pub(crate) async fn lock_head(tx: &Tx) -> Result<(i64, String)> {
    let sql = match tx.backend() {
        crate::Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
        crate::Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
    };
    let head = tx
        .row(sql, &[])
        .await?
        .ok_or_else(|| not_found("audit head", "1"))?;
    Ok((head.get(0)?, head.get(1)?))
}

/// Appends entries after `head` in the batch's transaction; returns the
/// last sequence number.
pub(crate) async fn append(tx: &Tx, head: (i64, String), entries: &[AuditEntry]) -> Result<i64> {
    let (mut seq, mut prev) = head;
    if entries.is_empty() {
        return Ok(seq);
    }
    for chunk in entries.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| format!("({})", placeholders(r * PER_ROW, PER_ROW)))
            .collect();
        let sql = format!(
            "INSERT INTO audit_log ({COLUMNS}) VALUES {}",
            rows.join(", ")
        );
        let mut values = Vec::with_capacity(chunk.len() * PER_ROW);
        for entry in chunk {
            seq += 1;
            let hash = entry_hash(&prev, seq, entry);
            values.extend(params![
                seq,
                entry.at,
                entry.org_id.as_deref(),
                entry.project_id.as_deref(),
                &entry.actor,
                &entry.action,
                &entry.resource,
                &entry.result,
                entry.status,
                &entry.ip,
                &entry.user_agent,
                std::mem::replace(&mut prev, hash.clone()),
                hash,
                entry.count,
            ]);
        }
        tx.exec(&sql, &values).await?;
    }
    tx.exec(
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        &params![seq, &prev],
    )
    .await?;
    Ok(seq)
}

impl Store {
    /// Appends entries to the chain, committed together with whatever
    /// else the writer's current batch holds (group commit). Returns the
    /// last sequence number.
    pub async fn append_audit(&self, entries: &[AuditEntry]) -> Result<i64> {
        self.db.append_audit(entries.to_vec()).await
    }

    /// Entries matching `query`, newest first.
    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let mut conditions = Vec::new();
        let mut binds: Vec<Val> = Vec::new();
        let mut add = |cond: &str, bind: Val| {
            binds.push(bind);
            conditions.push(cond.replace('?', &format!("${}", binds.len())));
        };
        if let Some(v) = &query.org_id {
            add("org_id = ?", v.into());
        }
        if let Some(v) = &query.project_id {
            add("project_id = ?", v.into());
        }
        if let Some(v) = &query.actor {
            add("actor = ?", v.into());
        }
        if let Some(v) = &query.action {
            add("action = ?", v.into());
        }
        if let Some(v) = query.since {
            add("at >= ?", v.into());
        }
        if let Some(v) = query.until {
            add("at < ?", v.into());
        }
        if let Some(v) = query.before_seq {
            add("seq < ?", v.into());
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
        let rows = self.db.rows_long(sql, binds).await?;
        rows.iter().map(record).collect()
    }

    /// Recomputes the whole chain and reports the first entry that does not
    /// match (a changed field, a deleted or inserted entry, a bad link).
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let anchor = self.audit_anchor().await?;
        let (mut prev, mut expected_seq) = match &anchor {
            Some(anchor) => (anchor.hash.clone(), anchor.seq + 1),
            None => (hush_core::audit::GENESIS.to_owned(), 1),
        };
        let mut checked = 0;
        let page = 5000;
        loop {
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT {page}"
            );
            let rows = self.db.rows_long(sql, params![expected_seq]).await?;
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
                        anchor,
                    });
                }
                prev = r.hash;
                expected_seq += 1;
            }
            if rows.len() < page {
                break;
            }
        }
        let head = self
            .db
            .row("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or_else(|| not_found("audit head", "1"))?;
        let head_seq: i64 = head.get(0)?;
        let head_hash: String = head.get(1)?;
        // Entries cut off the end leave the head pointing past the log.
        let truncated = head_seq != expected_seq - 1 || head_hash != prev;
        Ok(AuditVerification {
            entries: checked,
            first_broken: truncated.then_some(expected_seq),
            anchor,
        })
    }

    /// The anchor left by the last prune, if the log was ever pruned.
    pub async fn audit_anchor(&self) -> Result<Option<AuditAnchor>> {
        let row = self
            .db
            .row(
                "SELECT seq, hash, pruned, pruned_at FROM audit_anchor WHERE id = 1",
                &[],
            )
            .await?;
        row.map(|r| -> Result<AuditAnchor> {
            Ok(AuditAnchor {
                seq: r.get(0)?,
                hash: r.get(1)?,
                pruned: r.get(2)?,
                pruned_at: r.get(3)?,
            })
        })
        .transpose()
    }

    /// Removes the entries recorded before `before` (unix ms) and anchors
    /// the chain at the last of them, so verification still covers every
    /// entry that remains; appends `entry` (the prune itself) in the same
    /// transaction. Returns how many entries were removed.
    pub async fn prune_audit(&self, before: i64, entry: AuditEntry) -> Result<i64> {
        self.db
            .write(Some(entry), move |tx| async move {
                let cut: Option<i64> = tx
                    .row(
                        "SELECT MAX(seq) FROM audit_log WHERE at < $1",
                        &params![before],
                    )
                    .await?
                    .map_or(Ok(None), |r| r.get(0))?;
                let Some(cut) = cut else { return Ok(0) };
                let last = tx
                    .row("SELECT hash FROM audit_log WHERE seq = $1", &params![cut])
                    .await?
                    .ok_or_else(|| not_found("audit entry", cut.to_string()))?;
                let hash: String = last.get(0)?;
                let removed = tx
                    .exec("DELETE FROM audit_log WHERE seq <= $1", &params![cut])
                    .await?;
                let removed = i64::try_from(removed).unwrap_or(i64::MAX);
                tx.exec(
                    "INSERT INTO audit_anchor (id, seq, hash, pruned, pruned_at) \
                     VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET \
                     seq = excluded.seq, hash = excluded.hash, \
                     pruned = audit_anchor.pruned + excluded.pruned, \
                     pruned_at = excluded.pruned_at",
                    &params![cut, &hash, removed, now_ms()],
                )
                .await?;
                Ok(removed)
            })
            .await
    }
}

/// The current time, for callers building entries.
pub fn audit_now() -> i64 {
    now_ms()
}
