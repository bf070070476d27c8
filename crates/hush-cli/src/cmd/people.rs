//! `hush users`, `hush members` and `hush orgs`: a team, not one admin.

use std::io::BufRead;

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use hush_core::SecretString;
use hush_proto::{ChangePassword, CreateUser, OrgPolicy, OrgRole, ProjectRole, SetPassword};

use crate::context::{normalize_url, Context};
use crate::output::{self, Table};

/// The organization's people: list, create, remove, set a password, change
/// your own.
///
/// Creating, removing and setting passwords need an organization admin
/// (org:admin); changing your own password needs your login session.
/// Passwords are asked for twice on a terminal, or read from the first line
/// of stdin with --password-stdin.
///
/// Examples:
///
///   hush users
///
///   hush users create grace@example.com --role viewer
///
///   hush users role grace@example.com admin
///
///   hush users reset-password grace@example.com
///
///   hush users remove grace@example.com
///
///   hush users passwd                  # your own; you stay logged in
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: Option<UsersCommand>,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// List the organization's members (the default).
    ///
    /// Examples:
    ///
    ///   hush users
    ///
    ///   hush users list -o json
    #[command(verbatim_doc_comment)]
    List,
    /// Create a user; they log in with `hush login --email EMAIL`.
    ///
    /// Examples:
    ///
    ///   hush users create grace@example.com --role member
    ///
    ///   printf '%s\n' "$PASSWORD" | hush users create ci@example.com --password-stdin
    #[command(verbatim_doc_comment)]
    Create {
        /// Their email: the login name.
        email: String,
        /// owner, admin, member or viewer (a project role can replace it
        /// in one project: `hush members set`).
        #[arg(long, default_value = "member")]
        role: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Remove a user: their account, project roles, sessions and the
    /// tokens they made stop at once.
    ///
    /// Examples:
    ///
    ///   hush users remove grace@example.com --yes
    #[command(verbatim_doc_comment)]
    Remove {
        /// Their email (or id).
        user: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Change a member's organization role, at once (their sessions
    /// included). Owners are made and unmade only by owners, and the last
    /// owner stays one.
    ///
    /// Examples:
    ///
    ///   hush users role grace@example.com admin
    ///
    ///   hush users role ada@example.com member    # after another owner exists
    #[command(verbatim_doc_comment)]
    Role {
        /// Their email (or id).
        user: String,
        /// owner, admin, member or viewer.
        role: String,
    },
    /// Set a user's password; their sessions end.
    ///
    /// Examples:
    ///
    ///   hush users reset-password grace@example.com
    #[command(verbatim_doc_comment)]
    ResetPassword {
        /// Their email (or id).
        user: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change your own password. Every session of yours ends (whoever knew
    /// the old password is out); this one logs in again with the new one.
    ///
    /// Examples:
    ///
    ///   hush users passwd
    #[command(verbatim_doc_comment)]
    Passwd {
        /// Read the current and the new password from the first two lines
        /// of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Project roles: who may do what in the configured project (--project).
///
/// A project role (admin, member or viewer) replaces the user's
/// organization role inside the project, to grant or to restrict;
/// organization owners and admins keep theirs. Needs project:admin there.
///
/// Examples:
///
///   hush members
///
///   hush members set grace@example.com viewer
///
///   hush members remove grace@example.com
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct MembersArgs {
    #[command(subcommand)]
    command: Option<MembersCommand>,
}

#[derive(Debug, Subcommand)]
enum MembersCommand {
    /// Users with a role in the project (the default).
    ///
    /// Examples:
    ///
    ///   hush members --project web
    #[command(verbatim_doc_comment)]
    List,
    /// Give a member of the organization a role in the project.
    ///
    /// Examples:
    ///
    ///   hush members set grace@example.com viewer
    #[command(verbatim_doc_comment)]
    Set {
        /// Their email (or id).
        user: String,
        /// admin, member or viewer.
        role: String,
    },
    /// Take the project role away (their organization role applies again).
    ///
    /// Examples:
    ///
    ///   hush members remove grace@example.com
    #[command(verbatim_doc_comment)]
    Remove {
        /// Their email (or id).
        user: String,
    },
}

/// Organizations: the ones your token sees, their policies, and (for the
/// server's admin) creating and deleting them.
///
/// Whether viewers may decrypt is the organization's choice. By default a
/// viewer sees names and metadata only; with `--viewers-decrypt on` viewers
/// also get values (`hush run`, `hush pull`, `hush get --plain`) but still
/// cannot change anything. Needs org:admin. Creating, listing all and
/// deleting organizations needs server:admin, which the first start's
/// token has (and `hush admin token --server-admin` makes).
///
/// Examples:
///
///   hush orgs
///
///   hush orgs policy --viewers-decrypt on
///
///   hush orgs create acme --name "Acme Inc."      # prints acme's admin token once
///
///   hush orgs delete acme --yes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct OrgsArgs {
    #[command(subcommand)]
    command: Option<OrgsCommand>,
}

#[derive(Debug, Subcommand)]
enum OrgsCommand {
    /// The organizations your token sees (the default).
    ///
    /// Examples:
    ///
    ///   hush orgs
    #[command(verbatim_doc_comment)]
    List,
    /// Create an organization (server:admin); prints its first admin
    /// token, once.
    ///
    /// Examples:
    ///
    ///   hush orgs create acme --name "Acme Inc."
    #[command(verbatim_doc_comment)]
    Create {
        /// Its slug (lower-case letters, digits, dashes).
        slug: String,
        /// A display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete another organization with its projects, secrets, users and
    /// tokens (server:admin). Cannot be undone.
    ///
    /// Examples:
    ///
    ///   hush orgs delete acme --yes
    #[command(verbatim_doc_comment)]
    Delete {
        /// Its slug.
        slug: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Set the organization's policies (--org, or your login's).
    ///
    /// Examples:
    ///
    ///   hush orgs policy --viewers-decrypt on
    ///
    ///   hush orgs policy --viewers-decrypt off --org acme
    #[command(verbatim_doc_comment)]
    Policy {
        /// May viewers decrypt: on or off.
        #[arg(long, value_parser = ["on", "off"])]
        viewers_decrypt: String,
    },
    /// Set the organization's plan (owners): how many projects, and
    /// environments per project, it may have. `free` allows 15 and 2,
    /// `prime` 100 and 5, `unlimited` (a new organization's) no limit,
    /// `custom` what --projects and --environments say.
    ///
    /// Examples:
    ///
    ///   hush orgs plan free
    ///
    ///   hush orgs plan custom --projects 40 --environments 4
    ///
    ///   hush orgs plan unlimited --org acme
    #[command(verbatim_doc_comment)]
    Plan {
        /// free, prime, unlimited or custom.
        #[arg(value_parser = ["free", "prime", "unlimited", "custom"])]
        plan: String,
        /// With custom: most projects (default: unlimited).
        #[arg(long)]
        projects: Option<u32>,
        /// With custom: most environments per project (default: unlimited).
        #[arg(long)]
        environments: Option<u32>,
    },
}

pub async fn users(ctx: &Context, args: UsersArgs) -> Result<()> {
    let api = ctx.api()?;
    match args.command.unwrap_or(UsersCommand::List) {
        UsersCommand::List => {
            let users = api.users(&ctx.org).await?;
            if ctx.json() {
                return output::json(&users);
            }
            let mut table = Table::new(&["EMAIL", "ROLE", "ID"]);
            for u in users {
                table.row(vec![u.email, u.role, u.id]);
            }
            table.print("No users yet: `hush users create EMAIL`.");
        }
        UsersCommand::Create {
            email,
            role,
            password_stdin,
        } => {
            let password = new_password(password_stdin)?;
            let user = api
                .create_user(
                    &ctx.org,
                    &CreateUser {
                        email,
                        password: password.expose().to_owned(),
                        role: Some(role),
                    },
                )
                .await?;
            if ctx.json() {
                return output::json(&user);
            }
            println!(
                "Created {} ({}) in organization {}. They log in with:\n  hush login --url {} --email {}",
                user.email,
                user.role,
                ctx.org,
                normalize_url(&ctx.url),
                user.email
            );
        }
        UsersCommand::Remove { user, yes } => {
            if !yes {
                output::confirm(
                    &format!(
                        "Remove {user} from {}? Their sessions and the tokens they made stop working.",
                        ctx.org
                    ),
                    "--yes",
                )?;
            }
            api.remove_user(&ctx.org, &user).await?;
            println!("Removed {user} from {}.", ctx.org);
        }
        UsersCommand::Role { user, role } => {
            let user = api
                .set_user_role(&ctx.org, &user, &OrgRole { role })
                .await?;
            if ctx.json() {
                return output::json(&user);
            }
            println!("{} is now {} in {}.", user.email, user.role, ctx.org);
        }
        UsersCommand::ResetPassword {
            user,
            password_stdin,
        } => {
            let password = new_password(password_stdin)?;
            let body = SetPassword {
                password: password.expose().to_owned(),
            };
            api.set_user_password(&ctx.org, &user, &body).await?;
            println!("New password set for {user}; their sessions ended.");
        }
        UsersCommand::Passwd { password_stdin } => passwd(ctx, password_stdin).await?,
    }
    Ok(())
}

/// Changes your own password, then logs in again with it.
async fn passwd(ctx: &Context, from_stdin: bool) -> Result<()> {
    let api = ctx.api()?;
    let who = api.whoami().await?;
    let Some(me) = who.user else {
        bail!(
            "this token is not a login: log in with `hush login --email …` to change your password"
        );
    };
    let (current, new) = if from_stdin {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || -> Result<SecretString> {
            Ok(SecretString::new(
                lines.next().transpose()?.unwrap_or_default(),
            ))
        };
        (next()?, next()?)
    } else {
        (
            crate::prompt::password(false, "Current password: ", false)?,
            new_password(false)?,
        )
    };
    api.change_password(&ChangePassword {
        current_password: current.expose().to_owned(),
        new_password: new.expose().to_owned(),
    })
    .await?;
    let login = super::auth::session(ctx, &me.email, &new).await?;
    super::auth::remember(&normalize_url(&ctx.url), login)?;
    println!(
        "Password changed for {}. Your other sessions ended; this one is logged in again.",
        me.email
    );
    Ok(())
}

pub async fn members(ctx: &Context, args: MembersArgs) -> Result<()> {
    let api = ctx.api()?;
    let project = ctx.project()?;
    match args.command.unwrap_or(MembersCommand::List) {
        MembersCommand::List => {
            let members = api.project_members(&ctx.org, project).await?;
            if ctx.json() {
                return output::json(&members);
            }
            let mut table = Table::new(&["EMAIL", "PROJECT ROLE"]);
            for m in members {
                table.row(vec![m.email, m.role]);
            }
            table.print(&format!(
                "No project roles in {project}: organization roles apply."
            ));
        }
        MembersCommand::Set { user, role } => {
            let member = api
                .set_project_member(&ctx.org, project, &user, &ProjectRole { role })
                .await?;
            if ctx.json() {
                return output::json(&member);
            }
            println!("{} is {} in {project}.", member.email, member.role);
        }
        MembersCommand::Remove { user } => {
            api.remove_project_member(&ctx.org, project, &user).await?;
            println!(
                "{user} has no project role in {project} now; their organization role applies."
            );
        }
    }
    Ok(())
}

pub async fn orgs(ctx: &Context, args: OrgsArgs) -> Result<()> {
    let api = ctx.api()?;
    match args.command.unwrap_or(OrgsCommand::List) {
        OrgsCommand::List => {
            let orgs = api.organizations().await?;
            if ctx.json() {
                return output::json(&orgs);
            }
            let mut table = Table::new(&["SLUG", "NAME", "VIEWERS DECRYPT", "DOTENV ID"]);
            for o in orgs {
                let decrypt = if o.viewers_decrypt { "on" } else { "off" };
                table.row(vec![o.slug, o.name, decrypt.to_owned(), o.dotenv_id]);
            }
            table.print("No organization visible to this token.");
        }
        OrgsCommand::Create { slug, name } => {
            let created = api
                .create_org(&hush_proto::CreateOrg { slug, name })
                .await?;
            if ctx.json() {
                return output::json(&created);
            }
            println!("{}", created.token);
            eprintln!(
                "Created organization \"{}\"; its admin token (above) is shown only this once: store it now.",
                created.organization.slug
            );
        }
        OrgsCommand::Delete { slug, yes } => {
            if !yes {
                output::confirm(
                    &format!("Delete organization {slug} with all its projects, secrets, users and tokens?"),
                    "--yes",
                )?;
            }
            api.delete_org(&slug).await?;
            println!("Deleted organization {slug}.");
        }
        OrgsCommand::Plan {
            plan,
            projects,
            environments,
        } => {
            let body = OrgPolicy {
                viewers_decrypt: None,
                plan: Some(plan),
                max_projects: projects,
                max_environments: environments,
            };
            let org = api.set_org_policy(&ctx.org, &body).await?;
            if ctx.json() {
                return output::json(&org);
            }
            let limit = |n: Option<u32>| n.map_or("unlimited".to_owned(), |n| n.to_string());
            println!(
                "Organization {}: plan {} ({} projects, {} environments per project).",
                org.slug,
                org.plan.as_deref().unwrap_or("unlimited"),
                limit(org.max_projects),
                limit(org.max_environments)
            );
        }
        OrgsCommand::Policy { viewers_decrypt } => {
            let body = OrgPolicy {
                viewers_decrypt: Some(viewers_decrypt == "on"),
                plan: None,
                max_projects: None,
                max_environments: None,
            };
            let org = api.set_org_policy(&ctx.org, &body).await?;
            if ctx.json() {
                return output::json(&org);
            }
            println!(
                "Organization {}: viewers {} decrypt.",
                org.slug,
                if org.viewers_decrypt {
                    "may"
                } else {
                    "may not"
                }
            );
        }
    }
    Ok(())
}

/// A new password: the first line of stdin, or asked twice on a terminal.
fn new_password(from_stdin: bool) -> Result<SecretString> {
    crate::prompt::password(from_stdin, "New password: ", true)
}
