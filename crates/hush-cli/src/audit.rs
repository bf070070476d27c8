//! `hush audit verify`: check the audit log's hash chain directly in the
//! database (works with the server stopped, e.g. during an incident).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use hush_core::crypto::MasterKey;
use hush_server::config;
use hush_store::{Store, StoreOptions};

/// Inspect the audit log.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
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

pub fn run(args: AuditArgs) -> ExitCode {
    let AuditCommand::Verify {
        data_dir,
        database_url,
    } = args.command;
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
