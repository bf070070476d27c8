//! `hush audit`: the newest audit entries from the server, and
//! `hush audit verify`: the hash chain checked directly in the database
//! (works with the server stopped, e.g. during an incident).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::context::Context;
use crate::output::{self, Table};
use hush_core::crypto::MasterKey;
use hush_server::config;
use hush_store::{Store, StoreOptions};

/// Show who did what: the newest audit log entries.
///
/// Every read, decrypt, write, login and token use is in the log (never a
/// value). With a project configured, only its entries are shown.
///
/// Examples:
///
///   hush audit
///
///   hush audit --limit 100 --output json
///
///   hush audit verify --data-dir /var/lib/hush     # on the server host
///
///   hush audit prune --older-than 365              # on the server host
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// How many entries.
    #[arg(long, default_value_t = 20)]
    limit: u32,
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
    let page = ctx
        .api()?
        .audit(&ctx.org, ctx.project.as_deref(), args.limit)
        .await?;
    if ctx.json() {
        return output::json(&page);
    }
    let mut table = Table::new(&["WHEN", "ACTOR", "ACTION", "RESULT", "IP", "RESOURCE"]);
    for e in page.entries {
        table.row(vec![
            output::short_time(&e.at),
            e.actor,
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
    Ok(())
}

/// Where the server's database is, for the commands that work on it
/// directly (with or without the server running).
#[derive(Debug, Args)]
struct Database {
    /// Data directory of an embedded (SQLite) server.
    #[arg(long, env = "HUSH_DATA_DIR", default_value = "./hush-data")]
    data_dir: PathBuf,
    /// The server's database, instead of the data directory's.
    #[arg(long, env = "HUSH_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl Database {
    fn url(&self) -> Result<String, String> {
        match &self.database_url {
            Some(url) => Ok(url.clone()),
            None if self.data_dir.join("hush.db").exists() => {
                config::sqlite_url(&self.data_dir).map_err(|e| e.to_string())
            }
            None => Err(format!(
                "no hush database in {}; pass --data-dir or --database-url",
                self.data_dir.display()
            )),
        }
    }

    /// Opens the store. The audit log is not encrypted, so any master key
    /// serves; nothing here reads a secret.
    async fn open(&self) -> Result<Store, String> {
        let url = self.url()?;
        Store::open(StoreOptions::new(url, MasterKey::generate()))
            .await
            .map_err(|err| format!("cannot open the database: {err}"))
    }
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and report the first broken entry.
    ///
    /// After a prune, the chain is checked from the last pruned entry on.
    /// Exit status 0 when intact, 1 when broken, 2 when the database cannot
    /// be read.
    ///
    /// Examples:
    ///
    ///   hush audit verify
    ///
    ///   hush audit verify --database-url postgres://hush@db/hush
    #[command(verbatim_doc_comment)]
    Verify {
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
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return fail(&err.to_string()),
    };
    runtime.block_on(async {
        match command {
            AuditCommand::Verify { database } => verify(&database).await,
            AuditCommand::Prune {
                before,
                older_than,
                yes,
                database,
            } => prune(&database, before.as_deref(), older_than, yes).await,
        }
    })
}

async fn verify(database: &Database) -> ExitCode {
    let store = match database.open().await {
        Ok(store) => store,
        Err(err) => return fail(&err),
    };
    let result = store.verify_audit().await;
    store.close().await;
    let from = |v: &hush_store::AuditVerification| {
        v.anchor
            .as_ref()
            .map(|a| {
                format!(
                    " (from entry {} on; {} older entries pruned)",
                    a.seq + 1,
                    a.pruned
                )
            })
            .unwrap_or_default()
    };
    match result {
        Ok(v) if v.first_broken.is_none() => {
            println!(
                "audit log intact: {} entries verified{}",
                v.entries,
                from(&v)
            );
            ExitCode::SUCCESS
        }
        Ok(v) => {
            println!(
                "audit log BROKEN at entry {} ({} entries checked{}): it was altered, removed or cut off there",
                v.first_broken.unwrap_or_default(),
                v.entries,
                from(&v)
            );
            ExitCode::from(1)
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

/// The operating-system user running the command, for the log.
fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
