//! `hush backup` and `hush restore`: the whole database to one file and
//! back, on the same backend or the other one (the way to move from
//! SQLite to PostgreSQL). The format and the database work are in
//! `hush_store::backup`; this is files, keys and what the operator reads.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use hush_store::{BackupSummary, Store, StoreOptions};

use crate::offline::{fail, runtime, Database, Location};

/// Write a consistent backup of the whole server to one file, while it runs.
///
/// Everything is in it: organizations, projects, every version, tokens,
/// users, the audit log and its chain, end-to-end-encrypted projects,
/// vault-env keys and devices. It is taken from one snapshot of the
/// database while the server keeps serving and writing. Values stay
/// encrypted exactly as stored: the backup is useless without the
/// server's master key, which it does not contain (keep the key safe,
/// apart from the backups). No key is needed to take one.
///
/// The file is written next to FILE and renamed into place once complete,
/// readable by its owner only; its last line holds a SHA-256 checksum
/// that `hush restore` checks.
///
/// Examples:
///
///   hush backup hush-$(date +%F).backup --data-dir /var/lib/hush
///
///   hush backup - --database-url postgres://hush@db/hush | gzip > hush.backup.gz
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct BackupArgs {
    /// Where to write it; `-` for standard output.
    file: PathBuf,
    #[command(flatten)]
    location: Location,
}

/// Load a backup into an empty database: SQLite or PostgreSQL, whichever
/// the backup came from.
///
/// The file is checked whole (structure and checksum) before anything is
/// written, and loaded in one transaction: a failure leaves the target as
/// it was. The target must be empty unless --replace is given. Restoring
/// needs the master key of the server the backup came from (the backup
/// names its fingerprint): with --data-dir, pass it once with
/// --master-key-file and it is copied into the directory as master.key.
/// Afterwards the audit chain is verified.
///
/// Stop any server that uses the target database first; start it (with
/// the same master key) when the restore is done.
///
/// Examples:
///
///   hush restore hush-2026-11-24.backup --data-dir /var/lib/hush-new --master-key-file master.key
///
///   hush restore hush.backup --database-url postgres://hush@db/hush --master-key-file master.key
///
///   hush restore hush.backup --check      # check the file only; writes nothing
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RestoreArgs {
    /// The backup file.
    file: PathBuf,
    /// Only check the file (structure, checksum) and say what it holds.
    #[arg(long)]
    check: bool,
    /// Delete everything the target database holds before loading.
    #[arg(long)]
    replace: bool,
    #[command(flatten)]
    database: Database,
}

/// `hush backup`.
pub fn backup(args: BackupArgs) -> ExitCode {
    let Ok(rt) = runtime() else {
        return ExitCode::from(2);
    };
    match rt.block_on(write_backup(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

/// `hush restore`.
pub fn restore(args: RestoreArgs) -> ExitCode {
    if args.check {
        return match hush_store::verify_file(&args.file) {
            Ok(summary) => {
                describe(&summary);
                eprintln!("The backup is whole: its checksum and every table check out.");
                ExitCode::SUCCESS
            }
            Err(err) => fail(&err.to_string()),
        };
    }
    let Ok(rt) = runtime() else {
        return ExitCode::from(2);
    };
    match rt.block_on(load_backup(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

/// Prints one progress line per table, on stderr.
fn progress(verb: &'static str) -> impl FnMut(&str, u64) + Send {
    move |table, rows| eprintln!("  {verb} {table:<20} {rows:>9} rows")
}

async fn write_backup(args: &BackupArgs) -> Result<(), String> {
    let url = args.location.url()?;
    if args.file.as_os_str() == "-" {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        let summary = hush_store::backup(&url, &mut out, &mut progress("saved"))
            .await
            .map_err(|e| e.to_string())?;
        return report_backup(&summary, "standard output");
    }
    let partial = partial_name(&args.file);
    let summary = {
        let file = create_private(&partial)?;
        let mut out = std::io::BufWriter::new(file);
        let result = hush_store::backup(&url, &mut out, &mut progress("saved"))
            .await
            .map_err(|e| e.to_string())
            .and_then(|summary| {
                out.into_inner()
                    .map_err(|e| e.to_string())
                    .and_then(|file| file.sync_all().map_err(|e| e.to_string()))
                    .map(|()| summary)
            });
        match result {
            Ok(summary) => summary,
            Err(message) => {
                let _ = std::fs::remove_file(&partial);
                return Err(message);
            }
        }
    };
    std::fs::rename(&partial, &args.file)
        .map_err(|e| format!("cannot move the backup to {}: {e}", args.file.display()))?;
    report_backup(&summary, &args.file.display().to_string())
}

fn report_backup(summary: &BackupSummary, to: &str) -> Result<(), String> {
    eprintln!(
        "Backed up {} rows from {} (schema {}) to {to}.\nsha256 {}",
        summary.total_rows(),
        summary.header.source,
        summary.header.schema,
        summary.sha256
    );
    match &summary.header.master_key_id {
        Some(id) => eprintln!(
            "Its values are sealed under master key {id}: keep that key, apart from this file; \
             a restore needs it."
        ),
        None => eprintln!("This database never ran a server, so it records no master key."),
    }
    Ok(())
}

/// `FILE.partial`, beside FILE.
fn partial_name(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// A new file readable by its owner only (a backup holds token hashes
/// and sealed keys); an existing one is replaced.
fn create_private(path: &Path) -> Result<std::fs::File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))
}

fn describe(summary: &BackupSummary) {
    let header = &summary.header;
    eprintln!(
        "Backup of {} rows, schema {}, taken from {} by hush {} at {} (unix ms); master key {}.",
        summary.total_rows(),
        header.schema,
        header.source,
        header.hush,
        header.created_at,
        header.master_key_id.as_deref().unwrap_or("(none recorded)")
    );
}

async fn load_backup(args: &RestoreArgs) -> Result<(), String> {
    // Checked before the target is even created.
    let summary = hush_store::verify_file(&args.file).map_err(|e| e.to_string())?;
    describe(&summary);
    let needed = summary
        .header
        .master_key_id
        .as_deref()
        .map_or(String::new(), |id| format!(" (fingerprint {id})"));
    let key = args.database.master_key().map_err(|err| {
        if args.database.master_key_file.is_none() && std::env::var_os("HUSH_MASTER_KEY").is_none()
        {
            format!(
                "a restore needs the master key of the server the backup came from{needed}: \
                 pass --master-key-file FILE (or set HUSH_MASTER_KEY)"
            )
        } else {
            format!("{err}; the backup needs the master key{needed}")
        }
    })?;
    let copy_key = args.database.master_key_file.as_ref().filter(|_| {
        args.database.location.database_url.is_none()
            && !args.database.location.data_dir.join("master.key").exists()
    });
    let url = args.database.location.url_or_new()?;
    let store = Store::open(StoreOptions::new(url.clone(), args.database.master_key()?))
        .await
        .map_err(|err| format!("cannot open the target database: {err}"))?;
    let result = store
        .restore_backup(&args.file, args.replace, &mut progress("loaded"))
        .await;
    store.close().await;
    result.map_err(|e| e.to_string())?;
    eprintln!("Loaded {} rows in one transaction.", summary.total_rows());
    if let Some(file) = copy_key {
        let own = args.database.location.data_dir.join("master.key");
        hush_server::config::write_private(&own, key.encode().as_bytes())
            .map_err(|e| format!("restored, but the master key could not be copied: {e}"))?;
        eprintln!(
            "Copied the master key from {} to {}.",
            file.display(),
            own.display()
        );
    }
    verify(url, args.database.master_key()?).await
}

/// Reopens the restored database (which reads the restored audit key)
/// and checks the whole audit chain.
async fn verify(url: String, key: hush_core::crypto::MasterKey) -> Result<(), String> {
    let store = Store::open(StoreOptions::new(url, key))
        .await
        .map_err(|err| format!("restored, but the database does not open: {err}"))?;
    let outcome = store.verify_audit().await;
    store.close().await;
    let outcome =
        outcome.map_err(|err| format!("restored, but the audit chain could not be read: {err}"))?;
    match (&outcome.problem, outcome.first_broken) {
        (None, _) => {
            eprintln!(
                "Audit chain verified: {} entries, intact. Start the server on this database with the same master key.",
                outcome.entries
            );
            let _ = std::io::stderr().flush();
            Ok(())
        }
        (Some(problem), at) => Err(format!(
            "restored, but the audit chain does not verify ({problem:?} at entry {}): the backup was altered before its checksum was made, or the database was",
            at.unwrap_or_default()
        )),
    }
}
