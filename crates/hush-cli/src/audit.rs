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
    /// True for `hush audit verify` (offline, no server needed).
    pub fn is_verify(&self) -> bool {
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
            e.action,
            format!("{} {}", e.result, e.status),
            e.ip,
            e.resource,
        ]);
    }
    table.print("No audit entries.");
    Ok(())
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain and report the first broken entry.
    ///
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
        /// Data directory of an embedded (SQLite) server.
        #[arg(long, env = "HUSH_DATA_DIR", default_value = "./hush-data")]
        data_dir: PathBuf,
        /// The server's database, instead of the data directory's.
        #[arg(long, env = "HUSH_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

/// `hush audit verify`.
pub fn verify(args: AuditArgs) -> ExitCode {
    let Some(AuditCommand::Verify {
        data_dir,
        database_url,
    }) = args.command
    else {
        return fail("nothing to verify");
    };
    let url = match database_url {
        Some(url) => url,
        None if data_dir.join("hush.db").exists() => match config::sqlite_url(&data_dir) {
            Ok(url) => url,
            Err(err) => return fail(&err.to_string()),
        },
        None => {
            return fail(&format!(
                "no hush database in {}; pass --data-dir or --database-url",
                data_dir.display()
            ))
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => return fail(&err.to_string()),
    };
    runtime.block_on(async {
        // The audit log is not encrypted: any key opens the store for this.
        let store = match Store::open(StoreOptions::new(url, MasterKey::generate())).await {
            Ok(store) => store,
            Err(err) => return fail(&format!("cannot open the database: {err}")),
        };
        let result = store.verify_audit().await;
        store.close().await;
        match result {
            Ok(v) if v.first_broken.is_none() => {
                println!("audit log intact: {} entries verified", v.entries);
                ExitCode::SUCCESS
            }
            Ok(v) => {
                println!(
                    "audit log BROKEN at entry {} ({} entries checked): it was altered, removed or cut off there",
                    v.first_broken.unwrap_or_default(),
                    v.entries
                );
                ExitCode::from(1)
            }
            Err(err) => fail(&format!("cannot read the audit log: {err}")),
        }
    })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
