//! `hush projects`, `hush envs`, `hush targets`: list, create, delete.

use anyhow::Result;
use clap::{Args, Subcommand};
use hush_client::api::ChildKind;
use hush_proto::{CreateNamed, CreateProject};

use crate::context::Context;
use crate::output::{self, Table};

/// List, create or delete projects.
///
/// Examples:
///
///   hush projects
///
///   hush projects create web
///
///   hush projects create payments --e2ee
///
///   HUSH_KEY=old HUSH_NEW_KEY=new hush projects passphrase payments
///
///   hush projects delete old-site --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ProjectsArgs {
    #[command(subcommand)]
    command: Option<ProjectsCommand>,
}

#[derive(Debug, Subcommand)]
enum ProjectsCommand {
    /// List projects (the default).
    ///
    /// Examples:
    ///
    ///   hush projects
    ///
    ///   hush projects list -o json
    #[command(verbatim_doc_comment)]
    List,
    /// Create a project.
    ///
    /// With --e2ee the project is end-to-end encrypted: values are
    /// encrypted here with a key the server never sees, protected by a
    /// passphrase (HUSH_KEY, or asked twice) and a recovery key shown once.
    /// With --client-managed the project is a DotEnv client-managed one:
    /// each level holds one blob that DotEnv clients encrypt with their own
    /// key (README, "The DotEnv API"); hush's own clients cannot read it.
    /// The mode cannot be changed later.
    ///
    /// Examples:
    ///
    ///   hush projects create billing
    ///
    ///   HUSH_KEY='a long passphrase' hush projects create payments --e2ee
    ///
    ///   hush projects create dotenv-vault --client-managed
    #[command(verbatim_doc_comment)]
    Create {
        /// Slug: 1-64 of a-z 0-9 - _.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// End-to-end encrypted (fixed at creation).
        #[arg(long, conflicts_with = "client_managed")]
        e2ee: bool,
        /// DotEnv client-managed: blobs encrypted by DotEnv clients.
        #[arg(long)]
        client_managed: bool,
    },
    /// Change an end-to-end-encrypted project's passphrase (current one
    /// from HUSH_KEY or asked; new one from HUSH_NEW_KEY or asked twice).
    /// Values are not re-encrypted.
    ///
    /// Examples:
    ///
    ///   HUSH_KEY='old passphrase' HUSH_NEW_KEY='a new long passphrase' hush projects passphrase payments
    #[command(verbatim_doc_comment)]
    Passphrase {
        /// Slug.
        slug: String,
    },
    /// Replace an end-to-end-encrypted project's recovery key (the new one
    /// is shown once; the old one stops working).
    ///
    /// Examples:
    ///
    ///   HUSH_KEY='the passphrase' hush projects recovery-key payments
    #[command(verbatim_doc_comment)]
    RecoveryKey {
        /// Slug.
        slug: String,
    },
    /// Delete a project with all its environments, secrets and history.
    ///
    /// Examples:
    ///
    ///   hush projects delete old-prototype --yes
    #[command(verbatim_doc_comment)]
    Delete {
        /// Slug.
        slug: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn projects(ctx: &Context, args: ProjectsArgs) -> Result<()> {
    let api = ctx.api()?;
    match args.command.unwrap_or(ProjectsCommand::List) {
        ProjectsCommand::List => {
            let projects = api.projects(&ctx.org).await?;
            if ctx.json() {
                return output::json(&projects);
            }
            let mut table = Table::new(&["PROJECT", "NAME", "ENCRYPTION", "CREATED"]);
            for p in projects {
                let mode = if p.encryption_mode == "client" {
                    "e2ee"
                } else {
                    "server"
                };
                table.row(vec![
                    p.slug,
                    p.name,
                    mode.into(),
                    output::short_time(&p.created_at),
                ]);
            }
            table.print(
                "No projects yet. Create one with `hush projects create NAME` or `hush init`.",
            );
        }
        ProjectsCommand::Create {
            slug,
            name,
            e2ee,
            client_managed,
        } => {
            let (body, recovery) = if e2ee {
                let (body, recovery) = super::e2ee::new_project(&slug, name)?;
                (body, Some(recovery))
            } else {
                let body = CreateProject {
                    slug,
                    name,
                    encryption_mode: client_managed.then(|| "client".to_owned()),
                    e2ee_meta: None,
                    key_proof: None,
                };
                (body, None)
            };
            let project = api.create_project(&ctx.org, &body).await?;
            if let Some(recovery) = &recovery {
                super::e2ee::show_recovery_key(&project.slug, recovery);
            }
            if ctx.json() {
                return output::json(&project);
            }
            println!("Created project {}.", project.slug);
        }
        ProjectsCommand::Passphrase { slug } => {
            super::e2ee::rewrap(&api, &ctx.org, &slug, false).await?;
        }
        ProjectsCommand::RecoveryKey { slug } => {
            super::e2ee::rewrap(&api, &ctx.org, &slug, true).await?;
        }
        ProjectsCommand::Delete { slug, yes } => {
            if !yes {
                output::confirm(
                    &format!("Delete project {slug} with all its secrets and history?"),
                    "--yes",
                )?;
            }
            api.delete_project(&ctx.org, &slug).await?;
            if !ctx.json() {
                println!("Deleted project {slug}.");
            }
        }
    }
    Ok(())
}

/// `hush envs` and `hush targets` (each command has its own help, on its
/// variant in `main.rs`).
#[derive(Debug, Args)]
pub struct ChildrenArgs {
    #[command(subcommand)]
    command: Option<ChildrenCommand>,
}

#[derive(Debug, Subcommand)]
enum ChildrenCommand {
    /// List them (the default).
    ///
    /// Examples:
    ///
    ///   hush envs list
    ///
    ///   hush targets list --project web -o json
    #[command(verbatim_doc_comment)]
    List,
    /// Create one.
    ///
    /// Examples:
    ///
    ///   hush envs create staging
    ///
    ///   hush targets create worker --project web
    #[command(verbatim_doc_comment)]
    Create {
        /// Slug: 1-64 of a-z 0-9 - _.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete one with its secrets and history.
    ///
    /// Examples:
    ///
    ///   hush envs delete preview-42 --yes
    #[command(verbatim_doc_comment)]
    Delete {
        /// Slug.
        slug: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn children(ctx: &Context, kind: ChildKind, args: ChildrenArgs) -> Result<()> {
    let api = ctx.api()?;
    let project = ctx.project()?;
    let what = match kind {
        ChildKind::Environment => "environment",
        ChildKind::Target => "target",
    };
    match args.command.unwrap_or(ChildrenCommand::List) {
        ChildrenCommand::List => {
            let children = api.children(&ctx.org, project, kind).await?;
            if ctx.json() {
                return output::json(&children);
            }
            let mut table = Table::new(&[
                if kind == ChildKind::Environment {
                    "ENVIRONMENT"
                } else {
                    "TARGET"
                },
                "NAME",
                "CREATED",
            ]);
            for c in children {
                table.row(vec![c.slug, c.name, output::short_time(&c.created_at)]);
            }
            table.print(&format!("Project {project} has no {what}s yet."));
        }
        ChildrenCommand::Create { slug, name } => {
            let child = api
                .create_child(&ctx.org, project, kind, &CreateNamed { slug, name })
                .await?;
            if ctx.json() {
                return output::json(&child);
            }
            println!("Created {what} {} in {project}.", child.slug);
        }
        ChildrenCommand::Delete { slug, yes } => {
            if !yes {
                output::confirm(
                    &format!("Delete {what} {slug} of {project} with its secrets and history?"),
                    "--yes",
                )?;
            }
            api.delete_child(&ctx.org, project, kind, &slug).await?;
            if !ctx.json() {
                println!("Deleted {what} {slug} of {project}.");
            }
        }
    }
    Ok(())
}
