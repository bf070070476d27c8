//! `hush audit`: the newest audit entries from the server, and on the
//! database itself (with the server stopped too, e.g. during an incident):
//! `verify` (the keyed chain, against operators' checkpoints), `checkpoint`
//! and `prune`. These need the master key: the chain is keyed with a key
//! only it unseals.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::offline::{fail, runtime, whoami, Database};
use crate::output::{self, Table};
use hush_store::Store;

/// Show who did what: the newest audit log entries.
///
/// Every read, decrypt, write, login and token use is in the log (never a
/// value). With a project configured, only its entries are shown. Actors
/// are shown as people know them (a user's email, a token's name).
/// Filters combine; --before pages back (the sequence number the previous
/// page said).
///
/// Examples:
///
///   hush audit
///
///   hush audit --actor grace@example.com --since 7d
///
///   hush audit --action secret.decrypt --since 2026-11-01 --until 2026-11-15
///
///   hush audit --limit 100 --before 5120 --output json
///
///   hush audit verify --data-dir /var/lib/hush     # on the server host
///
///   hush audit checkpoint >> /mnt/elsewhere/hush-checkpoints
///
///   hush audit prune --older-than 365              # on the server host
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// How many entries (at most 1000).
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Only this actor: a user's email, or `token:<id>` / `user:<id>`.
    #[arg(long)]
    actor: Option<String>,
    /// Only this action (e.g. secret.decrypt, token.create, auth.login).
    #[arg(long)]
    action: Option<String>,
    /// Only entries since: a date, an RFC 3339 time, or an age (7d, 12h).
    #[arg(long)]
    since: Option<String>,
    /// Only entries before this time (same forms as --since).
    #[arg(long)]
    until: Option<String>,
    /// Only entries older than this sequence number (the next page).
    #[arg(long)]
    before: Option<i64>,
}

impl AuditArgs {
    /// True for `hush audit verify` and `prune` (on the database itself,
    /// no server needed).
    pub fn is_offline(&self) -> bool {
        self.command.is_some()
    }
}

/// Lists the newest entries through the API.
pub async fn list(ctx: &Context, args: AuditArgs) -> anyhow::Result<()> {
    let filter = hush_client::api::AuditFilter {
        project: ctx.project.clone(),
        actor: args.actor,
        action: args.action,
        since: args
            .since
            .as_deref()
            .map(|t| past("--since", t))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|t| past("--until", t))
            .transpose()?,
        before: args.before,
        limit: args.limit,
    };
    let page = ctx.api()?.audit(&ctx.org, &filter).await?;
    if ctx.json() {
        return output::json(&page);
    }
    let mut table = Table::new(&["WHEN", "ACTOR", "ACTION", "RESULT", "IP", "RESOURCE"]);
    for e in page.entries {
        table.row(vec![
            output::short_time(&e.at),
            e.actor_name.unwrap_or(e.actor),
            if e.count > 1 {
                format!("{} ×{}", e.action, e.count)
            } else {
                e.action
            },
            format!("{} {}", e.result, e.status),
            e.ip,
            e.resource,
        ]);
    }
    table.print("No audit entries.");
    if let Some(next) = page.next_before {
        eprintln!("(more: --before {next})");
    }
    Ok(())
}

/// A moment in the past as the API takes it: a date, an RFC 3339 time, or
/// an age back from now (`7d`, `12h`, `90m`).
fn past(flag: &str, text: &str) -> anyhow::Result<String> {
    let now = hush_store::audit_now();
    let at = match hush_core::time::parse_rfc3339(text) {
        Some(at) => at,
        None => match hush_core::time::parse_when(text, 0) {
            Some(age) => now - age,
            None => anyhow::bail!(
                "{flag} {text:?} is not a date (2026-11-01), an RFC 3339 time or an age (7d, 12h)"
            ),
        },
    };
    Ok(hush_core::time::to_rfc3339(at))
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the keyed hash chain and report the first broken entry;
    /// with --checkpoint, also check that the log still holds each
    /// checkpoint's head (catches the newest entries cut off).
    ///
    /// After a prune, the chain is checked from the last pruned entry on
    /// (the prune's anchor is signed, so deleting old entries by hand is
    /// caught). Exit status 0 when intact, 1 when broken or a checkpoint
    /// fails, 2 when the database, key or checkpoint file cannot be read.
    ///
    /// Examples:
    ///
    ///   hush audit verify
    ///
    ///   hush audit verify --checkpoint /mnt/elsewhere/hush-checkpoints
    ///
    ///   hush audit verify --database-url postgres://hush@db/hush --master-key-file /run/secrets/hush-key
    #[command(verbatim_doc_comment)]
    Verify {
        /// A file of checkpoints (`hush audit checkpoint` lines); may be
        /// given more than once.
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
        #[command(flatten)]
        database: Database,
    },
    /// Print a signed checkpoint of the audit log's head (one line) to keep
    /// outside the database: `verify --checkpoint` then proves that no entry
    /// up to it was cut off or rewritten, which a chain alone cannot.
    ///
    /// Take one regularly (cron) and append it where the database's
    /// administrators cannot write. Exit status 0, or 2 when the database
    /// or key cannot be read.
    ///
    /// Examples:
    ///
    ///   hush audit checkpoint >> /mnt/elsewhere/hush-checkpoints
    #[command(verbatim_doc_comment)]
    Checkpoint {
        #[command(flatten)]
        database: Database,
    },
    /// Delete the entries recorded before a time, keeping the chain
    /// verifiable from the last deleted entry on. The prune itself is
    /// recorded in the log. Works on the database directly, with the
    /// server running or not.
    ///
    /// Exit status 0 when done, 2 when refused or the database cannot be
    /// used, 8 when cancelled at the prompt.
    ///
    /// Examples:
    ///
    ///   hush audit prune --before 2026-01-01
    ///
    ///   hush audit prune --older-than 90 --yes --data-dir /var/lib/hush
    #[command(verbatim_doc_comment)]
    Prune {
        /// Delete entries recorded before this date or time (YYYY-MM-DD or
        /// RFC 3339, UTC).
        #[arg(
            long,
            conflicts_with = "older_than",
            required_unless_present = "older_than"
        )]
        before: Option<String>,
        /// Delete entries older than this many days.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u32>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        database: Database,
    },
}

/// `hush audit verify` and `hush audit prune`: on the database itself.
pub fn offline(args: AuditArgs) -> ExitCode {
    let Some(command) = args.command else {
        return fail("nothing to do");
    };
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        match command {
            AuditCommand::Verify {
                checkpoint,
                database,
            } => verify(&database, &checkpoint).await,
            AuditCommand::Checkpoint { database } => checkpoint(&database).await,
            AuditCommand::Prune {
                before,
                older_than,
                yes,
                database,
            } => prune(&database, before.as_deref(), older_than, yes).await,
        }
    })
}

async fn verify(database: &Database, checkpoint_files: &[PathBuf]) -> ExitCode {
    let mut lines = Vec::new();
    for file in checkpoint_files {
        match std::fs::read_to_string(file) {
            Ok(text) => lines.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(|l| (file.display().to_string(), l.to_owned())),
            ),
            Err(err) => return fail(&format!("cannot read {}: {err}", file.display())),
        }
    }
    let store = match database.open().await {
        Ok(store) => store,
        Err(err) => return fail(&err),
    };
    let result = verify_on(&store, &lines).await;
    store.close().await;
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => fail(&err),
    }
}

/// Prints what verification found; true when all is well.
async fn verify_on(store: &Store, checkpoints: &[(String, String)]) -> Result<bool, String> {
    let v = store
        .verify_audit()
        .await
        .map_err(|err| format!("cannot read the audit log: {err}"))?;
    let from = v
        .anchor
        .as_ref()
        .map(|a| {
            format!(
                " (from entry {} on; {} older entries pruned)",
                a.seq + 1,
                a.pruned
            )
        })
        .unwrap_or_default();
    let mut ok = match (v.first_broken, v.problem) {
        (Some(at), Some(problem)) => {
            println!(
                "audit log BROKEN at entry {at} ({} entries checked{from}): {problem}",
                v.entries
            );
            false
        }
        _ => {
            println!("audit log intact: {} entries verified{from}", v.entries);
            true
        }
    };
    if let Some(at) = v.unkeyed_broken_at {
        println!(
            "note: before the chain was keyed, entry {at} had already been altered; entries up to it prove less"
        );
    }
    for (file, line) in checkpoints {
        let checked = store
            .check_audit_checkpoint(line)
            .await
            .map_err(|err| format!("cannot read the audit log: {err}"))?;
        match checked {
            Ok((cp, hush_store::CheckpointCheck::Holds)) => println!(
                "checkpoint of {} (entry {}): holds",
                hush_core::time::to_rfc3339(cp.at),
                cp.seq
            ),
            Ok((cp, hush_store::CheckpointCheck::PrunedPast)) => println!(
                "checkpoint of {} (entry {}): pruned since, nothing to compare",
                hush_core::time::to_rfc3339(cp.at),
                cp.seq
            ),
            Ok((cp, hush_store::CheckpointCheck::Missing)) => {
                ok = false;
                println!(
                    "checkpoint of {} FAILS: entry {} with hash {}… is no longer in the log (the head is entry {}): entries were cut off or rewritten",
                    hush_core::time::to_rfc3339(cp.at),
                    cp.seq,
                    cp.hash.get(..12).unwrap_or(&cp.hash),
                    v.head.0
                );
            }
            Err(hush_core::audit::CheckpointError::BadSignature) => {
                ok = false;
                println!(
                    "checkpoint in {file} FAILS: {}",
                    hush_core::audit::CheckpointError::BadSignature
                );
            }
            Err(err) => return Err(format!("{file}: {err}")),
        }
    }
    Ok(ok)
}

async fn checkpoint(database: &Database) -> ExitCode {
    let store = match database.open().await {
        Ok(store) => store,
        Err(err) => return fail(&err),
    };
    let line = store.audit_checkpoint().await;
    store.close().await;
    match line {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(err) => fail(&format!("cannot read the audit log: {err}")),
    }
}

/// A date (`YYYY-MM-DD`, midnight UTC) or an RFC 3339 time, in unix ms.
fn parse_time(text: &str) -> Option<i64> {
    hush_core::time::parse_rfc3339(text)
        .or_else(|| hush_core::time::parse_rfc3339(&format!("{text}T00:00:00Z")))
}

async fn prune(
    database: &Database,
    before: Option<&str>,
    older_than: Option<u32>,
    yes: bool,
) -> ExitCode {
    let cutoff = match (before, older_than) {
        (Some(text), _) => match parse_time(text) {
            Some(at) => at,
            None => {
                return fail(&format!(
                    "--before {text:?} is not a date (2026-01-31) or an RFC 3339 time"
                ))
            }
        },
        (None, Some(days)) => hush_store::audit_now() - i64::from(days) * 86_400_000,
        (None, None) => return fail("say what to prune: --before DATE or --older-than DAYS"),
    };
    if cutoff > hush_store::audit_now() {
        return fail("--before is in the future: that would delete entries just written");
    }
    let when = hush_core::time::to_rfc3339(cutoff);
    if !yes {
        if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return fail(
                "refusing to delete audit entries without --yes (stdin is not a terminal)",
            );
        }
        eprint!("Delete every audit entry recorded before {when}? This cannot be undone. [y/N] ");
        let mut answer = String::new();
        if std::io::stdin().read_line(&mut answer).is_err()
            || !matches!(answer.trim(), "y" | "Y" | "yes")
        {
            eprintln!("hush: nothing deleted");
            return ExitCode::from(8);
        }
    }
    let store = match database.open().await {
        Ok(store) => store,
        Err(err) => return fail(&err),
    };
    let entry = hush_store::AuditEntry {
        at: hush_store::audit_now(),
        org_id: None,
        project_id: None,
        actor: format!("operator:{}", whoami()),
        action: "audit.prune".to_owned(),
        resource: format!("audit_log?before={when}"),
        result: "ok".to_owned(),
        status: 200,
        ip: String::new(),
        user_agent: "hush audit prune".to_owned(),
        count: 1,
    };
    let result = store.prune_audit(cutoff, entry).await;
    store.close().await;
    match result {
        Ok(removed) => {
            println!("pruned {removed} audit entries recorded before {when}; the chain verifies from there on");
            ExitCode::SUCCESS
        }
        Err(err) => fail(&format!("cannot prune the audit log: {err}")),
    }
}
