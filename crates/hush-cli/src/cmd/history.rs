//! `hush versions`, `hush diff`, `hush rollback`, `hush copy`.

use anyhow::Result;
use clap::Args;
use hush_proto::{CopySecrets, ScopeRef};

use crate::context::Context;
use crate::output::{self, Table};

/// List the environment's versions, newest first. Every write that
/// changes something (set, delete, push, copy, rollback) is one version;
/// hush keeps them all. A version can also be soft-deleted (hidden, and
/// brought back with undelete) or destroyed (its values erased for good),
/// as Vault KV clients do; while the current version is either, the
/// environment reads as empty.
///
/// Examples:
///
///   hush versions                    # the newest 20
///
///   hush versions --limit 100 --before 250
///
///   hush versions --all --output json
///
///   hush versions soft-delete 7 && hush versions undelete 7
///
///   hush versions destroy 3 --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment, args_conflicts_with_subcommands = true)]
pub struct VersionsArgs {
    #[command(subcommand)]
    state: Option<VersionStateCommand>,
    /// How many to show.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    limit: u16,
    /// Only versions older than this one (the next page).
    #[arg(long, value_name = "VERSION")]
    before: Option<i64>,
    /// Every version, however many.
    #[arg(long, conflicts_with_all = ["limit", "before"])]
    all: bool,
}

/// Changing one version's state.
#[derive(Debug, clap::Subcommand)]
enum VersionStateCommand {
    /// Hide a version (its values are kept; `undelete` brings it back).
    /// While the current version is hidden the environment reads empty.
    ///
    /// Examples:
    ///
    ///   hush versions soft-delete 7 --env production
    #[command(verbatim_doc_comment)]
    SoftDelete {
        /// The version.
        version: i64,
    },
    /// Bring a soft-deleted version back.
    ///
    /// Examples:
    ///
    ///   hush versions undelete 7 --env production
    #[command(verbatim_doc_comment)]
    Undelete {
        /// The version.
        version: i64,
    },
    /// Erase a version's values for good (other versions keep theirs).
    ///
    /// Examples:
    ///
    ///   hush versions destroy 3 --env production --yes
    #[command(verbatim_doc_comment)]
    Destroy {
        /// The version.
        version: i64,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

async fn set_state(ctx: &Context, command: VersionStateCommand) -> Result<()> {
    let (version, action, done) = match command {
        VersionStateCommand::SoftDelete { version } => (version, "soft-delete", "soft-deleted"),
        VersionStateCommand::Undelete { version } => (version, "undelete", "undeleted"),
        VersionStateCommand::Destroy { version, yes } => {
            if !yes {
                output::confirm(
                    &format!(
                        "Erase the values of version {version} of {} for good?",
                        ctx.where_()
                    ),
                    "--yes",
                )?;
            }
            (version, "destroy", "destroyed")
        }
    };
    let now = ctx
        .api()?
        .version_state(&ctx.org, ctx.project()?, &ctx.scope()?, version, action)
        .await?;
    if ctx.json() {
        return output::json(&now);
    }
    println!("Version {version} of {} is {done}.", ctx.where_());
    Ok(())
}

pub async fn versions(ctx: &Context, args: VersionsArgs) -> Result<()> {
    if let Some(command) = args.state {
        return set_state(ctx, command).await;
    }
    let api = ctx.api()?;
    let (project, scope) = (ctx.project()?, ctx.scope()?);
    let page = if args.all {
        1000
    } else {
        usize::from(args.limit)
    };
    let mut versions = Vec::new();
    let mut before = args.before;
    loop {
        let batch = api
            .versions(&ctx.org, project, &scope, before, page)
            .await?;
        let full = batch.len() == page;
        before = batch.last().map(|v| v.version);
        versions.extend(batch);
        if !(args.all && full) {
            break;
        }
    }
    let more =
        !args.all && versions.len() == page && versions.last().is_some_and(|v| v.version > 1);
    if ctx.json() {
        return output::json(&versions);
    }
    let mut table = Table::new(&["VERSION", "WHEN", "BY", "ACTION", "CHANGED"]);
    for v in versions {
        let mut action = match v.restored_from {
            Some(from) => format!("rollback to {from}"),
            None => v.action,
        };
        // States set by Vault KV clients (see README, "Using Vault clients").
        if v.destroyed {
            action.push_str(" (destroyed)");
        } else if v.deleted_at.is_some() {
            action.push_str(" (deleted)");
        }
        table.row(vec![
            v.version.to_string(),
            output::short_time(&v.created_at),
            v.created_by_name.unwrap_or(v.created_by),
            action,
            v.changed_keys.join(", "),
        ]);
    }
    table.print(&format!("{} has no versions yet.", ctx.where_()));
    if let (true, Some(oldest)) = (more, before) {
        eprintln!("older versions: hush versions --before {oldest} (or --all)");
    }
    Ok(())
}

/// Show which names differ between two versions (values are never
/// printed): + added, - removed, ~ changed.
///
/// Examples:
///
///   hush diff 3 5
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DiffArgs {
    /// Older version.
    from: i64,
    /// Newer version.
    to: i64,
}

pub async fn diff(ctx: &Context, args: DiffArgs) -> Result<()> {
    let entries = ctx
        .api()?
        .diff(&ctx.org, ctx.project()?, &ctx.scope()?, args.from, args.to)
        .await?;
    if ctx.json() {
        return output::json(&entries);
    }
    if entries.is_empty() {
        println!(
            "Versions {} and {} hold the same secrets.",
            args.from, args.to
        );
    }
    for e in entries {
        let mark = match e.change.as_str() {
            "added" => "+",
            "removed" => "-",
            _ => "~",
        };
        println!("{mark} {}", e.name);
    }
    Ok(())
}

/// Make the environment what it was at VERSION again. This writes a new
/// version (nothing is lost: you can roll forward the same way).
///
/// Examples:
///
///   hush versions                # find the version
///
///   hush rollback 4
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RollbackArgs {
    /// The version to return to.
    version: i64,
}

pub async fn rollback(ctx: &Context, args: RollbackArgs) -> Result<()> {
    let written = ctx
        .api()?
        .restore(&ctx.org, ctx.project()?, &ctx.scope()?, args.version)
        .await?;
    if ctx.json() {
        return output::json(&written);
    }
    println!(
        "Rolled {} back to version {} (as version {}; changed: {}).",
        ctx.where_(),
        args.version,
        written.version,
        if written.changed_keys.is_empty() {
            "nothing".to_owned()
        } else {
            written.changed_keys.join(", ")
        }
    );
    Ok(())
}

/// Copy one environment's secrets into another (one version there).
///
/// Copies the secrets set in the source environment itself (not those it
/// inherits). By default values already in the destination are replaced;
/// --no-overwrite keeps them.
///
/// Examples:
///
///   hush copy --from staging --to production
///
///   hush copy --from development --to preview-42 --no-overwrite
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CopyArgs {
    /// Source environment.
    #[arg(long)]
    from: String,
    /// Destination environment.
    #[arg(long)]
    to: String,
    /// Keep names the destination already has.
    #[arg(long)]
    no_overwrite: bool,
}

pub async fn copy(ctx: &Context, args: CopyArgs) -> Result<()> {
    let side = |env: &str| ScopeRef {
        env: Some(env.to_owned()),
        target: ctx.target.clone(),
    };
    let api = ctx.api()?;
    let unlocked = super::e2ee::unlock(&api, &ctx.org, ctx.project()?).await?;
    let written = unlocked
        .as_ref()
        .map_or(&api, |u| &u.api)
        .copy(
            &ctx.org,
            ctx.project()?,
            &CopySecrets {
                from: side(&args.from),
                to: side(&args.to),
                overwrite: Some(!args.no_overwrite),
                expected_version: None,
            },
        )
        .await?;
    if ctx.json() {
        return output::json(&written);
    }
    println!(
        "Copied {} secrets from {} to {} (version {}).",
        written.changed_keys.len(),
        args.from,
        args.to,
        written.version
    );
    Ok(())
}
