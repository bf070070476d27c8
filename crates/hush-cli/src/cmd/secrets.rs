//! `hush set`, `hush get`, `hush delete`, `hush list`.

use std::io::{IsTerminal, Read as _};
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use hush_client::api::{Read, Reveal};
use hush_proto::{BulkEntry, BulkWrite};

use crate::context::Context;
use crate::output::{self, Table, MASK};

/// Set secrets in the environment (one new version for all of them).
///
/// Values can come from the command line (KEY=VALUE), from stdin (one
/// trailing newline is dropped, so `echo value | hush set KEY --stdin`
/// stores "value"), verbatim from a file (certificates, keys), or, for a
/// bare KEY on a terminal, from a hidden prompt. Command-line values end up
/// in your shell history; prefer the prompt or --stdin for real secrets.
///
/// Examples:
///
///   hush set LOG_LEVEL=debug FEATURE_X=on
///
///   hush set STRIPE_KEY                  # asks for the value, not echoed
///
///   pbpaste | hush set STRIPE_KEY --stdin
///
///   hush set TLS_CERT --from-file cert.pem --env production
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct SetArgs {
    /// KEY=VALUE pairs, or one KEY (asked for on a terminal, or with
    /// --stdin / --from-file).
    #[arg(required = true, value_name = "KEY=VALUE")]
    pairs: Vec<String>,
    /// Read the value of the one KEY from stdin.
    #[arg(long, conflicts_with = "from_file")]
    stdin: bool,
    /// Read the value of the one KEY from this file, byte for byte.
    #[arg(long, value_name = "FILE")]
    from_file: Option<PathBuf>,
}

pub async fn set(ctx: &Context, args: SetArgs) -> Result<()> {
    let entries = entries(&args)?;
    let names: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    let api = ctx.api()?;
    let unlocked = super::e2ee::unlock(&api, &ctx.org, ctx.project()?).await?;
    let entries = entries
        .into_iter()
        .map(|e| {
            Ok(BulkEntry {
                value: super::e2ee::seal(unlocked.as_ref(), e.value)?,
                ..e
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let written = unlocked
        .as_ref()
        .map_or(&api, |u| &u.api)
        .bulk(
            &ctx.org,
            ctx.project()?,
            &ctx.scope()?,
            &BulkWrite {
                set: entries,
                delete: Vec::new(),
                expected_version: None,
            },
        )
        .await?;
    if ctx.json() {
        return output::json(&written);
    }
    println!(
        "Set {} in {} (version {}).",
        names.join(", "),
        ctx.where_(),
        written.version
    );
    Ok(())
}

fn entries(args: &SetArgs) -> Result<Vec<BulkEntry>> {
    if args.stdin || args.from_file.is_some() {
        let [name] = args.pairs.as_slice() else {
            bail!("--stdin and --from-file set exactly one KEY");
        };
        if name.contains('=') {
            bail!("give only the KEY with --stdin or --from-file, not KEY=VALUE");
        }
        let value = match &args.from_file {
            Some(path) => std::fs::read_to_string(path).with_context(|| {
                format!("cannot read {} (values must be UTF-8 text)", path.display())
            })?,
            None => {
                let mut text = String::new();
                std::io::stdin()
                    .read_to_string(&mut text)
                    .context("cannot read the value from stdin (values must be UTF-8 text)")?;
                let trimmed = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .unwrap_or(&text);
                trimmed.to_owned()
            }
        };
        return Ok(vec![BulkEntry {
            name: name.clone(),
            value,
        }]);
    }
    if let [name] = args.pairs.as_slice() {
        if !name.contains('=') && std::io::stdin().is_terminal() {
            let value = crate::prompt::hidden(&format!("Value of {name} (not shown): "))?;
            return Ok(vec![BulkEntry {
                name: name.clone(),
                value: value.expose().to_owned(),
            }]);
        }
    }
    args.pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !name.is_empty() => Ok(BulkEntry {
                name: name.to_owned(),
                value: value.to_owned(),
            }),
            _ => bail!(
                "{pair:?} is not KEY=VALUE; for a value kept out of the command line, run `hush set KEY` on a terminal, or use --stdin or --from-file"
            ),
        })
        .collect()
}

/// Show one secret as the app would see it (masked unless --plain).
///
/// The value is resolved like `hush run` resolves it: the environment's
/// own value, else the target's, else the project's.
///
/// Examples:
///
///   hush get DATABASE_URL
///
///   hush get DATABASE_URL --plain          # just the value, for scripts
///
///   psql "$(hush get DATABASE_URL --plain --env production)"
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct GetArgs {
    /// Secret name.
    name: String,
    /// Print the value itself (and only it).
    #[arg(long)]
    plain: bool,
}

pub async fn get(ctx: &Context, args: GetArgs) -> Result<()> {
    let api = ctx.api()?;
    let (project, scope) = (ctx.project()?, ctx.scope()?);
    let reveal = if args.plain {
        Reveal::Plain
    } else {
        Reveal::Metadata
    };
    // Plaintext first: refused only on an end-to-end-encrypted project,
    // which is then unlocked (see `e2ee::needs_key`).
    let mut unlocked = None;
    let mut found = api
        .secret(&ctx.org, project, &scope, &args.name, reveal)
        .await;
    if matches!(&found, Err(err) if super::e2ee::needs_key(err)) {
        unlocked = super::e2ee::unlock(&api, &ctx.org, project).await?;
        found = api
            .secret(&ctx.org, project, &scope, &args.name, Reveal::Ciphertext)
            .await;
    }
    let mut secret = match found {
        Ok(secret) => secret,
        Err(err @ hush_client::ClientError::NotFound { .. }) => {
            let project = ctx.project()?;
            if super::e2ee::is_blob_project(&api, &ctx.org, project).await? {
                return Err(super::e2ee::managed_by_its_client(project));
            }
            return Err(near_miss(ctx, &api, &args.name, err).await);
        }
        Err(err) => return Err(err.into()),
    };
    if let Some(value) = secret.value.take() {
        secret.value = Some(super::e2ee::open(unlocked.as_ref(), value)?);
    }
    if ctx.json() {
        return output::json(&secret);
    }
    if args.plain {
        println!("{}", secret.value.as_deref().unwrap_or_default());
    } else {
        println!(
            "{} = {MASK}  ({} level, updated {} by {})",
            secret.name,
            secret.level,
            output::short_time(&secret.updated_at),
            secret.updated_by
        );
        println!("(pass --plain to print the value)");
    }
    Ok(())
}

/// What the server knows of an environment a vault-env client manages:
/// its version, the key names of the newest push, and who pushed it.
async fn describe_blob(ctx: &Context, api: &hush_client::Api, version: i64) -> Result<()> {
    let newest = api
        .versions(&ctx.org, ctx.project()?, &ctx.scope()?, None, 1)
        .await?
        .into_iter()
        .next();
    if ctx.json() {
        return output::json(&serde_json::json!({
            "managed_by": "vault-env",
            "version": version,
            "keys": newest.as_ref().map(|v| v.changed_keys.clone()).unwrap_or_default(),
            "pushed_by": newest.as_ref().map(|v| v.created_by_name.clone().unwrap_or_else(|| v.created_by.clone())),
            "pushed_at": newest.as_ref().map(|v| v.created_at.clone()),
        }));
    }
    println!(
        "{} is managed by its own client (vault-env): the server holds an encrypted blob.",
        ctx.where_()
    );
    match newest {
        Some(v) => println!(
            "Version {version}, pushed {} by {}, with keys: {}",
            output::short_time(&v.created_at),
            v.created_by_name.unwrap_or(v.created_by),
            if v.changed_keys.is_empty() {
                "(none named)".to_owned()
            } else {
                v.changed_keys.join(", ")
            }
        ),
        None => println!("Nothing pushed yet: `vde push --env …` from a device."),
    }
    Ok(())
}

/// A secret that is not there, with the closest name that is, when one
/// is close enough to be the typo.
async fn near_miss(
    ctx: &Context,
    api: &hush_client::Api,
    name: &str,
    err: hush_client::ClientError,
) -> anyhow::Error {
    let read = Read {
        reveal: Reveal::Metadata,
        exact: false,
        include_inactive: true,
    };
    let listed = match (ctx.project(), ctx.scope()) {
        (Ok(project), Ok(scope)) => api.secrets(&ctx.org, project, &scope, read).await.ok(),
        _ => None,
    };
    let near = listed.and_then(|list| {
        hush_core::suggest::closest(name, list.secrets.iter().map(|s| s.name.as_str()))
            .map(str::to_owned)
    });
    match near {
        Some(near) => anyhow::Error::new(err)
            .context(format!("no secret {name:?} here; did you mean {near:?}?")),
        None => err.into(),
    }
}

/// Delete secrets from the environment (one new version; `hush rollback`
/// brings them back).
///
/// Examples:
///
///   hush delete OLD_FLAG
///
///   hush delete A B C --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DeleteArgs {
    /// Names to delete.
    #[arg(required = true)]
    names: Vec<String>,
    /// Do not ask for confirmation.
    #[arg(long)]
    yes: bool,
}

pub async fn delete(ctx: &Context, args: DeleteArgs) -> Result<()> {
    let project = ctx.project()?;
    let scope = ctx.scope()?;
    if !args.yes {
        output::confirm(
            &format!("Delete {} from {}?", args.names.join(", "), ctx.where_()),
            "--yes",
        )?;
    }
    let written = ctx
        .api()?
        .bulk(
            &ctx.org,
            project,
            &scope,
            &BulkWrite {
                set: Vec::new(),
                delete: args.names.clone(),
                expected_version: None,
            },
        )
        .await?;
    if ctx.json() {
        return output::json(&written);
    }
    println!(
        "Deleted {} from {} (version {}).",
        args.names.join(", "),
        ctx.where_(),
        written.version
    );
    Ok(())
}

/// List the environment's secrets: names, the level each value comes
/// from, when it changed, and masked values.
///
/// Examples:
///
///   hush list
///
///   hush list --env production --output json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ListArgs {
    /// Include inactive and expired secrets.
    #[arg(long)]
    all: bool,
}

pub async fn list(ctx: &Context, args: ListArgs) -> Result<()> {
    let read = Read {
        reveal: Reveal::Metadata,
        exact: false,
        include_inactive: args.all,
    };
    let api = ctx.api()?;
    let project = ctx.project()?;
    let list = api.secrets(&ctx.org, project, &ctx.scope()?, read).await?;
    if list.secrets.is_empty() && super::e2ee::is_blob_project(&api, &ctx.org, project).await? {
        return describe_blob(ctx, &api, list.version).await;
    }
    if ctx.json() {
        return output::json(&list);
    }
    let mut table = Table::new(&["NAME", "LEVEL", "UPDATED", "VALUE"]);
    for s in list.secrets {
        let mut value = MASK.to_owned();
        if !s.is_active {
            value.push_str(" (inactive)");
        }
        table.row(vec![
            s.name,
            s.level,
            output::short_time(&s.updated_at),
            value,
        ]);
    }
    table.print(&format!(
        "No secrets in {} yet. Add some with `hush set KEY=VALUE` or `hush push .env`.",
        ctx.where_()
    ));
    Ok(())
}
