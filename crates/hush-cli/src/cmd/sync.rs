//! `hush push` (a .env file up) and `hush pull` (the environment down).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};
use hush_client::api::{Read, Reveal};
use hush_client::Client;
use hush_core::dotenv::{self, EnvMap};
use hush_proto::{BulkEntry, BulkWrite};
use serde::Serialize;

use crate::context::Context;
use crate::output;

/// Upload a .env file to the environment, as one new version.
///
/// Compares the file with what the environment itself holds (not values
/// inherited from the project or target level) and shows the names that
/// would be added (+), changed (~) and, with --prune, deleted (-). Values
/// are never printed. Asks before writing unless --yes. If someone changes
/// the environment while you look at the diff, nothing is written and you
/// are asked to run the command again.
///
/// Examples:
///
///   hush push                      # ./.env
///
///   hush push .env.production --env production --yes
///
///   hush push --prune              # also delete names not in the file
///
///   hush push secrets.yaml         # or .json: read by the extension
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct PushArgs {
    /// The .env file.
    #[arg(default_value = ".env")]
    file: PathBuf,
    /// Write without asking.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Also delete secrets of the environment that the file does not have.
    #[arg(long)]
    prune: bool,
    /// The file's format [default: by its extension: .json, .yaml/.yml,
    /// else dotenv].
    #[arg(long, value_enum)]
    format: Option<FileFormat>,
}

/// What `hush push` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileFormat {
    /// KEY=value lines (.env).
    Dotenv,
    /// One object of "KEY": "value".
    Json,
    /// A flat mapping of KEY: value.
    Yaml,
}

/// The variables of a file, read in its format (given, or by extension).
fn read_file(path: &std::path::Path, text: &str, format: Option<FileFormat>) -> Result<EnvMap> {
    let by_extension = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => FileFormat::Json,
        Some("yaml" | "yml") => FileFormat::Yaml,
        _ => FileFormat::Dotenv,
    };
    let shown = path.display();
    match format.unwrap_or(by_extension) {
        FileFormat::Dotenv => {
            dotenv::parse(text).with_context(|| format!("{shown} is not a valid .env file"))
        }
        FileFormat::Json => hush_core::reader::parse_json(text)
            .with_context(|| format!("{shown} is not a JSON object of NAME: value")),
        FileFormat::Yaml => hush_core::reader::parse_yaml(text)
            .with_context(|| format!("{shown} is not a flat YAML mapping of NAME: value")),
    }
}

/// What a push would do, by name.
#[derive(Debug, Default, Serialize)]
struct Plan {
    added: Vec<String>,
    changed: Vec<String>,
    deleted: Vec<String>,
    unchanged: usize,
}

pub async fn push(ctx: &Context, args: PushArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let local = read_file(&args.file, &text, args.format)?;
    let api = ctx.api()?;
    let project = ctx.project()?;
    let scope = ctx.scope()?;
    let read = |reveal| Read {
        reveal,
        exact: true,
        include_inactive: true,
    };
    // Plaintext first: it succeeds only on a server-encrypted project.
    let (remote, unlocked) = match api
        .secrets(&ctx.org, project, &scope, read(Reveal::Plain))
        .await
    {
        Ok(remote) => (remote, None),
        Err(err) if super::e2ee::needs_key(&err) => {
            let unlocked = super::e2ee::unlock(&api, &ctx.org, project).await?;
            let remote = api
                .secrets(&ctx.org, project, &scope, read(Reveal::Ciphertext))
                .await?;
            (remote, unlocked)
        }
        Err(err) => return Err(err.into()),
    };
    let remote_values: EnvMap = remote
        .secrets
        .iter()
        .map(|s| {
            let value = super::e2ee::open(unlocked.as_ref(), s.value.clone().unwrap_or_default())?;
            Ok((s.name.clone(), value.into()))
        })
        .collect::<Result<_>>()?;
    let plan = plan(&local, &remote_values, args.prune);
    if plan.added.is_empty() && plan.changed.is_empty() && plan.deleted.is_empty() {
        if ctx.json() {
            return output::json(&serde_json::json!({ "plan": plan, "version": remote.version }));
        }
        println!(
            "{} is already up to date with {}.",
            ctx.where_(),
            args.file.display()
        );
        return Ok(());
    }
    if !ctx.json() || !args.yes {
        print_plan(&plan, args.prune, remote_values.len());
    }
    if !args.yes {
        output::confirm(&format!("Push these changes to {}?", ctx.where_()), "--yes")?;
    }
    let changed: BTreeSet<&String> = plan.added.iter().chain(&plan.changed).collect();
    let body = BulkWrite {
        set: local
            .iter()
            .filter(|(name, _)| changed.contains(name))
            .map(|(name, value)| {
                Ok(BulkEntry {
                    name: name.clone(),
                    value: super::e2ee::seal(unlocked.as_ref(), value.expose().to_owned())?,
                })
            })
            .collect::<Result<_>>()?,
        delete: plan.deleted.clone(),
        expected_version: Some(remote.version),
    };
    let written = unlocked
        .as_ref()
        .map_or(&api, |u| &u.api)
        .bulk(&ctx.org, project, &scope, &body)
        .await?;
    if ctx.json() {
        return output::json(&serde_json::json!({ "plan": plan, "version": written.version }));
    }
    println!("Pushed to {} (version {}).", ctx.where_(), written.version);
    Ok(())
}

fn plan(local: &EnvMap, remote: &EnvMap, prune: bool) -> Plan {
    let mut plan = Plan::default();
    for (name, value) in local {
        match remote.get(name) {
            None => plan.added.push(name.clone()),
            Some(old) if old != value => plan.changed.push(name.clone()),
            Some(_) => plan.unchanged += 1,
        }
    }
    if prune {
        plan.deleted = remote
            .keys()
            .filter(|name| !local.contains_key(*name))
            .cloned()
            .collect();
    }
    plan
}

fn print_plan(plan: &Plan, prune: bool, remote_count: usize) {
    let paint = output::Paint::stderr();
    let mut out = std::io::stderr().lock();
    for name in &plan.added {
        let _ = writeln!(out, "  {}", paint.green(&format!("+ {name}")));
    }
    for name in &plan.changed {
        let _ = writeln!(out, "  {}", paint.yellow(&format!("~ {name}")));
    }
    for name in &plan.deleted {
        let _ = writeln!(out, "  {}", paint.red(&format!("- {name}")));
    }
    let _ = writeln!(
        out,
        "{} to add, {} to change, {} to delete, {} unchanged.",
        plan.added.len(),
        plan.changed.len(),
        plan.deleted.len(),
        plan.unchanged
    );
    let kept = remote_count - plan.changed.len() - plan.unchanged - plan.deleted.len();
    if !prune && kept > 0 {
        let _ = writeln!(
            out,
            "({kept} secrets not in the file are kept; --prune deletes them.)"
        );
    }
}

/// File formats of `hush pull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// KEY=value lines, quoted where needed (reads back exactly).
    Dotenv,
    /// One JSON object.
    Json,
    /// `export KEY='value'` lines for `eval`.
    Shell,
    /// `"KEY": "value"` YAML mapping.
    Yaml,
}

/// Download the environment's secrets (merged across levels).
///
/// Prints to stdout, or writes FILE (mode 0600, atomically). Also refreshes
/// the encrypted offline cache `hush run` falls back on. If the server
/// cannot be reached, the cached copy is used and a warning printed.
///
/// Examples:
///
///   hush pull                              # .env format on stdout
///
///   hush pull .env.local
///
///   hush pull --format json --env production > secrets.json
///
///   eval "$(hush pull --format shell)"
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct PullArgs {
    /// Write to this file instead of stdout.
    file: Option<PathBuf>,
    /// Output format [default: dotenv, or json with --output json].
    #[arg(long, short = 'f', value_enum)]
    format: Option<Format>,
}

pub async fn pull(ctx: &Context, args: PullArgs) -> Result<()> {
    let client = Client::new(ctx.client_options(false)?)?;
    let environment = client.load().await?;
    let format = args.format.unwrap_or(if ctx.json() {
        Format::Json
    } else {
        Format::Dotenv
    });
    let text = zeroize::Zeroizing::new(render(&environment.secrets, format));
    match &args.file {
        Some(path) => {
            hush_client::cache::write_atomically(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "Wrote {} secrets to {} (mode 0600).",
                environment.secrets.len(),
                path.display()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

fn render(secrets: &EnvMap, format: Format) -> String {
    match format {
        Format::Dotenv => dotenv::serialize(secrets),
        Format::Json => dotenv::to_json(secrets),
        Format::Shell => dotenv::to_shell(secrets),
        Format::Yaml => dotenv::to_yaml(secrets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).into()))
            .collect()
    }

    #[test]
    fn plans_add_change_and_prune() {
        let local = map(&[("A", "1"), ("B", "new"), ("C", "3")]);
        let remote = map(&[("B", "old"), ("C", "3"), ("D", "4")]);
        let p = plan(&local, &remote, false);
        assert_eq!(
            (p.added, p.changed, p.deleted, p.unchanged),
            (vec!["A".into()], vec!["B".into()], vec![], 1)
        );
        let p = plan(&local, &remote, true);
        assert_eq!(p.deleted, vec!["D".to_owned()]);
    }
}
