//! `hush init`: link this directory to a project and environment.

use std::io::{IsTerminal, Write};

use anyhow::{Context as _, Result};
use clap::Args;
use hush_client::api::ChildKind;
use hush_proto::{CreateNamed, CreateProject};

use crate::context::{Context, ProjectFile, PROJECT_FILE};
use crate::exit::NotConfigured;
use crate::output;

/// Link this directory to a project and environment (hush.toml).
///
/// Uses the project and environment on the server, creating those that do
/// not exist yet once you confirm (or with --create, for scripts; a near
/// miss of an existing name is pointed out first), then writes hush.toml
/// here. hush.toml holds no secret (only
/// names and the server URL): commit it so the whole team pulls from the
/// same place. Later commands in this directory and below use it.
///
/// Asks for the project (default: this directory's name) and the
/// environment (default: development) when run on a terminal without them.
///
/// Examples:
///
///   hush init --project web --env development
///
///   hush init --project web --env development --create    # in a script
///
///   hush init --project web --env production --target api
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct InitArgs {
    /// Create an end-to-end-encrypted project (the server never sees
    /// plaintext; the passphrase comes from HUSH_KEY or is asked twice).
    #[arg(long)]
    e2ee: bool,
    /// Replace an existing hush.toml in this directory.
    #[arg(long)]
    force: bool,
    /// Create the project, environment or target without asking when it
    /// does not exist (without a terminal hush cannot ask, and refuses).
    #[arg(long)]
    create: bool,
}

pub async fn run(ctx: &Context, args: InitArgs) -> Result<()> {
    let path = std::env::current_dir()?.join(PROJECT_FILE);
    if path.exists() && !args.force {
        return Err(NotConfigured(format!(
            "{} already exists; pass --force to replace it",
            path.display()
        ))
        .into());
    }
    let dir_name = std::env::current_dir()?
        .file_name()
        .map(|n| hush_core::Slug::suggest(&n.to_string_lossy(), 64))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "app".to_owned());
    let project = match &ctx.project {
        Some(p) => p.clone(),
        None => ask("Project", &dir_name, "--project")?,
    };
    let env = match &ctx.env {
        Some(e) => e.clone(),
        None => ask("Environment", "development", "--env")?,
    };
    let api = ctx.api()?;
    let mut created = Vec::new();
    match api.project(&ctx.org, &project).await {
        Ok(_) => {}
        Err(hush_client::ClientError::NotFound { .. }) => {
            let existing: Vec<String> = match api.projects(&ctx.org).await {
                Ok(projects) => projects.into_iter().map(|p| p.slug).collect(),
                Err(_) => Vec::new(),
            };
            may_create("project", &project, &existing, args.create)?;
            let (body, recovery) = if args.e2ee {
                let (body, recovery) = super::e2ee::new_project(&project, None)?;
                (body, Some(recovery))
            } else {
                let body = CreateProject {
                    slug: project.clone(),
                    name: None,
                    encryption_mode: None,
                    e2ee_meta: None,
                    key_proof: None,
                };
                (body, None)
            };
            api.create_project(&ctx.org, &body).await?;
            if let Some(recovery) = &recovery {
                super::e2ee::show_recovery_key(&project, recovery);
            }
            created.push(format!("project {project}"));
        }
        Err(err) => return Err(err.into()),
    }
    for (kind, slug) in [
        (ChildKind::Environment, Some(&env)),
        (ChildKind::Target, ctx.target.as_ref()),
    ] {
        let Some(slug) = slug else { continue };
        let existing = api.children(&ctx.org, &project, kind).await?;
        let what = match kind {
            ChildKind::Environment => "environment",
            ChildKind::Target => "target",
        };
        if !existing.iter().any(|c| c.slug == *slug) {
            let names: Vec<String> = existing.into_iter().map(|c| c.slug).collect();
            may_create(what, slug, &names, args.create)?;
            api.create_child(
                &ctx.org,
                &project,
                kind,
                &CreateNamed {
                    slug: slug.clone(),
                    name: None,
                },
            )
            .await?;
            created.push(format!("{what} {slug}"));
        }
    }
    let file = ProjectFile {
        url: (ctx.url != hush_client::DEFAULT_URL).then(|| ctx.url.clone()),
        org: (ctx.org != hush_client::DEFAULT_ORG).then(|| ctx.org.clone()),
        project: Some(project.clone()),
        env: Some(env.clone()),
        target: ctx.target.clone(),
    };
    let text = format!(
        "# hush settings for this directory. No secrets here: commit it.\n{}",
        toml::to_string(&file).context("cannot encode hush.toml")?
    );
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    if ctx.json() {
        return output::json(&serde_json::json!({
            "file": path, "project": project, "env": env, "target": ctx.target, "created": created,
        }));
    }
    if !created.is_empty() {
        println!("Created {}.", created.join(" and "));
    }
    println!(
        "Wrote {}: project {project}, environment {env}.",
        path.display()
    );
    println!("Next: `hush push .env` to upload a .env file, `hush run -- your-app` to start with the secrets.");
    Ok(())
}

fn ask(what: &str, default: &str, flag: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(NotConfigured(format!("no terminal to ask on: pass {flag}")).into());
    }
    eprint!("{what} [{default}]: ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let answer = line.trim();
    Ok(if answer.is_empty() { default } else { answer }.to_owned())
}

/// Whether `slug` may be created: with --create, or once the user says
/// yes on a terminal. A near miss of an existing name is named either way,
/// so a typo does not become a junk project.
fn may_create(what: &str, slug: &str, existing: &[String], create: bool) -> Result<()> {
    if create {
        return Ok(());
    }
    let hint = hush_core::suggest::closest(slug, existing.iter().map(String::as_str))
        .map(|near| format!(" (did you mean {near:?}?)"))
        .unwrap_or_default();
    if !std::io::stdin().is_terminal() {
        return Err(NotConfigured(format!(
            "{what} {slug:?} does not exist{hint}; pass --create to create it"
        ))
        .into());
    }
    output::confirm(
        &format!("The {what} {slug:?} does not exist{hint}. Create it?"),
        "--create",
    )
}
