//! The audit log: batched, hash-chained appends; filtered reads;
//! verification against the keyed chain, the prune anchor and operators'
//! checkpoints.
//!
//! The chain is keyed (see `hush_core::audit`): HMAC-SHA256 under a random
//! chain key kept in `hush_settings` sealed with the master key, so it
//! survives master-key rotation (it is re-sealed) but not a database-only
//! attacker.

use hush_core::audit::{chain_hash, AuditKey, Checkpoint, CheckpointError};
use hush_core::crypto::MasterKey;

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
    /// What is wrong there, when something is.
    pub problem: Option<AuditProblem>,
    /// Where verification started: the last pruned entry, if any.
    pub anchor: Option<AuditAnchor>,
    /// The newest entry (sequence number and hash).
    pub head: (i64, String),
    /// When the chain was keyed, an entry of the unkeyed chain before it
    /// had already been altered (so that part proves less).
    pub unkeyed_broken_at: Option<i64>,
}

/// What verification found wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditProblem {
    /// An entry was changed, inserted or removed.
    Altered,
    /// The newest entries are missing: the head points past the log.
    Truncated,
    /// The anchor a prune leaves was not written by hush (its tag does not
    /// match the chain key): the oldest entries were deleted by hand.
    ForgedAnchor,
    /// The log no longer holds a checkpoint's head with its hash: entries
    /// after it were cut off (the head is behind it) or rewritten.
    CheckpointMissing,
}

impl std::fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AuditProblem::Altered => "an entry was altered, inserted or removed there",
            AuditProblem::Truncated => "the newest entries were cut off there",
            AuditProblem::ForgedAnchor => {
                "the oldest entries were deleted by hand (the prune anchor is not hush's)"
            }
            AuditProblem::CheckpointMissing => {
                "a checkpoint's head is no longer in the log: entries were cut off or rewritten"
            }
        })
    }
}

/// How a checkpoint compares with the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointCheck {
    /// The log still holds the checkpoint's head with its hash.
    Holds,
    /// A prune removed the checkpoint's head; the anchor is past it.
    PrunedPast,
    /// The checkpoint's head is missing or different.
    Missing,
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
    /// The chain key's tag over seq, hash and pruned (absent: not
    /// written by hush).
    pub tag: Option<String>,
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

fn entry_hash(key: &AuditKey, prev: &str, seq: i64, e: &AuditEntry) -> String {
    let f = fields(seq, e);
    let refs: Vec<&str> = f.iter().map(String::as_str).collect();
    key.entry_hash(prev, &refs)
}

fn unkeyed_hash(prev: &str, seq: i64, e: &AuditEntry) -> String {
    let f = fields(seq, e);
    let refs: Vec<&str> = f.iter().map(String::as_str).collect();
    chain_hash(prev, &refs)
}

/// What the master key seals the chain key for.
const KEY_PURPOSE: &str = "audit-chain-key";
const KEY_OWNER: &str = "hush";

fn seal_key(master: &MasterKey, key: &AuditKey) -> Result<String> {
    let sealed = master
        .seal_secret(KEY_PURPOSE, KEY_OWNER, key.expose_bytes())
        .map_err(|source| crate::StoreError::Encrypt {
            what: "the audit chain key".to_owned(),
            source,
        })?;
    Ok(sealed.iter().map(|b| format!("{b:02x}")).collect())
}

async fn sealed_key(tx: &Tx) -> Result<Option<Vec<u8>>> {
    let row = tx
        .row(
            "SELECT value FROM hush_settings WHERE name = 'audit_key'",
            &[],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let text: String = row.get(0)?;
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or(crate::StoreError::Decode {
            column: 0,
            expected: "the sealed audit key as hex",
        })?;
    Ok(Some(bytes))
}

/// Unseals the chain key (at start, after the migrations made sure there
/// is one). A master key that cannot open it is not this database's.
pub(crate) async fn load_key(tx: &Tx, keys: &crate::keyring::MasterKeys) -> Result<AuditKey> {
    crate::keyring::check_master_key_in(tx, &keys.ids()).await?;
    let sealed = sealed_key(tx)
        .await?
        .ok_or_else(|| not_found("setting", "audit_key"))?;
    let opened = keys
        .open(|master| master.open_secret(KEY_PURPOSE, KEY_OWNER, &sealed))
        .map_err(|source| crate::StoreError::Decrypt {
            what: "the audit chain key (is this the database's master key?)".to_owned(),
            source,
        })?;
    let bytes: [u8; 32] = opened
        .as_slice()
        .try_into()
        .map_err(|_| crate::StoreError::Decode {
            column: 0,
            expected: "a 32-byte audit key",
        })?;
    Ok(AuditKey::from_bytes(bytes))
}

/// Re-seals the chain key under a new master key (master-key rotation).
pub(crate) async fn reseal_key(
    tx: &Tx,
    old: &std::sync::Arc<MasterKey>,
    new: &MasterKey,
) -> Result<()> {
    let keys = crate::keyring::MasterKeys {
        current: old.clone(),
        accepted: None,
    };
    let key = load_key(tx, &keys).await?;
    tx.exec(
        "UPDATE hush_settings SET value = $1 WHERE name = 'audit_key'",
        &params![seal_key(new, &key)?],
    )
    .await?;
    Ok(())
}

/// The migration that keys the chain: makes the chain key, then re-chains
/// every entry under it. The unkeyed chain is checked first; if it was
/// already broken, where is recorded (`audit_unkeyed_broken_at`) and shown
/// by every later verification, since keying cannot vouch for it.
pub(crate) async fn key_the_chain(tx: &Tx, master: &MasterKey) -> Result<()> {
    crate::keyring::check_master_key_in(tx, &[master.id()]).await?;
    let key = AuditKey::generate();
    tx.exec(
        "INSERT INTO hush_settings (name, value) VALUES ('audit_key', $1)",
        &params![seal_key(master, &key)?],
    )
    .await?;
    let anchor = anchor_in(tx).await?;
    let (mut old_prev, mut expected) = match &anchor {
        Some(a) => (a.hash.clone(), a.seq + 1),
        None => (hush_core::audit::GENESIS.to_owned(), 1),
    };
    let mut new_prev = old_prev.clone();
    let mut broken_at = None;
    loop {
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT {VERIFY_PAGE}"
        );
        let rows = tx.rows(&sql, &params![expected]).await?;
        for row in &rows {
            let r = record(row)?;
            if broken_at.is_none()
                && (r.seq != expected
                    || r.prev_hash != old_prev
                    || r.hash != unkeyed_hash(&old_prev, r.seq, &r.entry))
            {
                broken_at = Some(expected);
            }
            let hash = entry_hash(&key, &new_prev, r.seq, &r.entry);
            tx.exec(
                "UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3",
                &params![&new_prev, &hash, r.seq],
            )
            .await?;
            old_prev = r.hash;
            new_prev = hash;
            expected = r.seq + 1;
        }
        if rows.len() < VERIFY_PAGE {
            break;
        }
    }
    let head = tx
        .row("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
        .await?;
    if let Some(head) = head {
        let (seq, hash): (i64, String) = (head.get(0)?, head.get(1)?);
        if seq == expected - 1 && hash == old_prev {
            tx.exec(
                "UPDATE audit_head SET hash = $1 WHERE id = 1",
                &params![&new_prev],
            )
            .await?;
        } else if broken_at.is_none() {
            broken_at = Some(expected);
        }
    }
    if let Some(a) = &anchor {
        tx.exec(
            "UPDATE audit_anchor SET tag = $1 WHERE id = 1",
            &params![key.anchor_tag(a.seq, &a.hash, a.pruned)],
        )
        .await?;
    }
    if let Some(at) = broken_at {
        tracing::warn!(entry = at, "the audit log was already broken before it was keyed; `hush audit verify` will keep saying so");
        tx.exec(
            "INSERT INTO hush_settings (name, value) VALUES ('audit_unkeyed_broken_at', $1)",
            &params![at.to_string()],
        )
        .await?;
    }
    Ok(())
}

/// Entries read per query when walking the chain.
const VERIFY_PAGE: usize = 5000;

async fn anchor_in(tx: &Tx) -> Result<Option<AuditAnchor>> {
    let row = tx.row(ANCHOR_SELECT, &[]).await?;
    row.as_ref().map(anchor).transpose()
}

const ANCHOR_SELECT: &str =
    "SELECT seq, hash, pruned, pruned_at, tag FROM audit_anchor WHERE id = 1";

fn anchor(r: &Row) -> Result<AuditAnchor> {
    Ok(AuditAnchor {
        seq: r.get(0)?,
        hash: r.get(1)?,
        pruned: r.get(2)?,
        pruned_at: r.get(3)?,
        tag: r.get(4)?,
    })
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
pub(crate) async fn append(
    tx: &Tx,
    head: (i64, String),
    entries: &[AuditEntry],
    key: &AuditKey,
) -> Result<i64> {
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
            let hash = entry_hash(key, &prev, seq, entry);
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
    /// match (a changed field, a deleted or inserted entry, a bad link, a
    /// hand-made anchor, a cut-off end).
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let key = self.db.audit_key();
        let anchor = self.audit_anchor().await?;
        let unkeyed_broken_at = self
            .db
            .row(
                "SELECT value FROM hush_settings WHERE name = 'audit_unkeyed_broken_at'",
                &[],
            )
            .await?
            .map(|row| row.get::<String>(0))
            .transpose()?
            .and_then(|text| text.parse().ok());
        let head = self
            .db
            .row("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or_else(|| not_found("audit head", "1"))?;
        let head: (i64, String) = (head.get(0)?, head.get(1)?);
        let mut outcome = AuditVerification {
            entries: 0,
            first_broken: None,
            problem: None,
            anchor: anchor.clone(),
            head: head.clone(),
            unkeyed_broken_at,
        };
        let (mut prev, mut expected_seq) = match &anchor {
            Some(a) => {
                if a.tag.as_deref() != Some(&key.anchor_tag(a.seq, &a.hash, a.pruned)) {
                    outcome.first_broken = Some(a.seq + 1);
                    outcome.problem = Some(AuditProblem::ForgedAnchor);
                    return Ok(outcome);
                }
                (a.hash.clone(), a.seq + 1)
            }
            None => (hush_core::audit::GENESIS.to_owned(), 1),
        };
        loop {
            let sql = format!(
                "SELECT {COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT {VERIFY_PAGE}"
            );
            let rows = self.db.rows_long(sql, params![expected_seq]).await?;
            for row in &rows {
                let r = record(row)?;
                outcome.entries += 1;
                if r.seq != expected_seq
                    || r.prev_hash != prev
                    || r.hash != entry_hash(key, &prev, r.seq, &r.entry)
                {
                    outcome.first_broken = Some(expected_seq);
                    outcome.problem = Some(AuditProblem::Altered);
                    return Ok(outcome);
                }
                prev = r.hash;
                expected_seq += 1;
            }
            if rows.len() < VERIFY_PAGE {
                break;
            }
        }
        // Entries cut off the end leave the head pointing past the log.
        if head.0 != expected_seq - 1 || head.1 != prev {
            outcome.first_broken = Some(expected_seq);
            outcome.problem = Some(AuditProblem::Truncated);
        }
        Ok(outcome)
    }

    /// How many entries of an organization the log holds, and whether
    /// entry `seq` is one of them.
    pub async fn audit_share(&self, org_id: &str, seq: Option<i64>) -> Result<(i64, bool)> {
        let count = self
            .db
            .row(
                "SELECT COUNT(*) FROM audit_log WHERE org_id = $1",
                &params![org_id],
            )
            .await?
            .map_or(Ok(0), |row| row.get(0))?;
        let owns = match seq {
            Some(seq) => self
                .db
                .row(
                    "SELECT 1 FROM audit_log WHERE seq = $1 AND org_id = $2",
                    &params![seq, org_id],
                )
                .await?
                .is_some(),
            None => false,
        };
        Ok((count, owns))
    }

    /// A signed checkpoint of the chain's head now, for an operator to
    /// keep outside the database (`hush audit checkpoint`).
    pub async fn audit_checkpoint(&self) -> Result<String> {
        let head = self
            .db
            .row("SELECT seq, hash FROM audit_head WHERE id = 1", &[])
            .await?
            .ok_or_else(|| not_found("audit head", "1"))?;
        let checkpoint = Checkpoint {
            seq: head.get(0)?,
            hash: head.get(1)?,
            at: now_ms(),
        };
        Ok(self.db.audit_key().sign_checkpoint(&checkpoint))
    }

    /// Checks a checkpoint's signature, then whether the log still holds
    /// its head: the entry with that sequence number and hash (or a prune
    /// anchored past it).
    pub async fn check_audit_checkpoint(
        &self,
        line: &str,
    ) -> Result<std::result::Result<(Checkpoint, CheckpointCheck), CheckpointError>> {
        let checkpoint = match self.db.audit_key().open_checkpoint(line) {
            Ok(checkpoint) => checkpoint,
            Err(err) => return Ok(Err(err)),
        };
        if checkpoint.seq == 0 {
            return Ok(Ok((checkpoint, CheckpointCheck::Holds)));
        }
        let anchor = self.audit_anchor().await?;
        let check = match &anchor {
            Some(a) if a.seq > checkpoint.seq => CheckpointCheck::PrunedPast,
            Some(a) if a.seq == checkpoint.seq => {
                if a.hash == checkpoint.hash {
                    CheckpointCheck::Holds
                } else {
                    CheckpointCheck::Missing
                }
            }
            _ => {
                let row = self
                    .db
                    .row(
                        "SELECT hash FROM audit_log WHERE seq = $1",
                        &params![checkpoint.seq],
                    )
                    .await?;
                match row {
                    Some(row) if row.get::<String>(0)? == checkpoint.hash => CheckpointCheck::Holds,
                    _ => CheckpointCheck::Missing,
                }
            }
        };
        Ok(Ok((checkpoint, check)))
    }

    /// The anchor left by the last prune, if the log was ever pruned.
    pub async fn audit_anchor(&self) -> Result<Option<AuditAnchor>> {
        let row = self.db.row(ANCHOR_SELECT, &[]).await?;
        row.as_ref().map(anchor).transpose()
    }

    /// Removes the entries recorded before `before` (unix ms) and anchors
    /// the chain at the last of them, so verification still covers every
    /// entry that remains; appends `entry` (the prune itself) in the same
    /// transaction. Returns how many entries were removed.
    pub async fn prune_audit(&self, before: i64, entry: AuditEntry) -> Result<i64> {
        let key = self.db.audit_key().clone();
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
                let pruned = removed + anchor_in(&tx).await?.map_or(0, |previous| previous.pruned);
                let tag = key.anchor_tag(cut, &hash, pruned);
                tx.exec(
                    "INSERT INTO audit_anchor (id, seq, hash, pruned, pruned_at, tag) \
                     VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET \
                     seq = excluded.seq, hash = excluded.hash, pruned = excluded.pruned, \
                     pruned_at = excluded.pruned_at, tag = excluded.tag",
                    &params![cut, &hash, pruned, now_ms(), tag],
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
