//! `hush org-secrets`: the organization's flat store of webhook signing
//! keys and third-party API keys, the one Hooklistener's and InsForge's
//! APIs serve (the project level of project `org-secrets`).

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use hush_client::api::{Read, Reveal, ScopeSel};
use hush_proto::PutSecret;

use crate::context::Context;
use crate::output::{self, Table};

/// The project that holds them (see the server's `service::org_secrets`).
pub const PROJECT: &str = "org-secrets";

/// The organization's secrets: webhook signing keys and third-party API
/// keys shared by the whole organization, outside any project.
///
/// The same store answers Hooklistener's API (`/api/v1/secrets`, with an
/// `hklst_` key from `hush tokens create NAME --hooklistener`) and
/// InsForge's (`/api/secrets`, with an admin JWT from `hush org-secrets
/// jwt`). Names match ^[A-Z][A-Z0-9_]*$. `hush run --org-secrets` adds
/// them to an app's environment (the project's own names win).
///
/// Examples:
///
///   hush org-secrets                                  # names, state, expiry
///
///   hush org-secrets set STRIPE_WEBHOOK_SECRET=whsec_… --reserved
///
///   hush org-secrets get STRIPE_WEBHOOK_SECRET
///
///   hush org-secrets deactivate OLD_API_KEY
///
///   hush org-secrets jwt --expires-in 900             # for InsForge's API
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct OrgSecretsArgs {
    #[command(subcommand)]
    command: Option<OrgSecretsCommand>,
}

#[derive(Debug, Subcommand)]
enum OrgSecretsCommand {
    /// Every secret's name, state and expiry (never a value).
    ///
    /// Examples:
    ///
    ///   hush org-secrets list -o json
    #[command(verbatim_doc_comment)]
    List,
    /// Print one value (audited).
    ///
    /// Examples:
    ///
    ///   hush org-secrets get STRIPE_WEBHOOK_SECRET
    #[command(verbatim_doc_comment)]
    Get {
        /// The secret's name.
        name: String,
    },
    /// Create or change a secret (one version).
    ///
    /// Examples:
    ///
    ///   hush org-secrets set OPENAI_API_KEY=sk-… --expires 90d
    #[command(verbatim_doc_comment)]
    Set {
        /// NAME=VALUE.
        assignment: String,
        /// Protect it from deletion.
        #[arg(long)]
        reserved: bool,
        /// When it expires: a duration (90d), a date or an RFC 3339 time.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Make a secret inactive (kept; `activate` brings it back).
    ///
    /// Examples:
    ///
    ///   hush org-secrets deactivate OLD_API_KEY
    #[command(verbatim_doc_comment)]
    Deactivate {
        /// The secret's name.
        name: String,
    },
    /// Make an inactive secret active again.
    ///
    /// Examples:
    ///
    ///   hush org-secrets activate OLD_API_KEY
    #[command(verbatim_doc_comment)]
    Activate {
        /// The secret's name.
        name: String,
    },
    /// Remove a secret (one version; reserved ones are refused).
    ///
    /// Examples:
    ///
    ///   hush org-secrets delete OLD_API_KEY
    #[command(verbatim_doc_comment)]
    Delete {
        /// The secret's name.
        name: String,
    },
    /// Print an admin JWT for InsForge's API (org:admin; shown once).
    ///
    /// Examples:
    ///
    ///   hush org-secrets jwt --expires-in 900
    #[command(verbatim_doc_comment)]
    Jwt {
        /// Seconds it stays valid (60 to 86400).
        #[arg(long, default_value_t = 3600)]
        expires_in: i64,
    },
    /// Rotate the key that signs admin JWTs: every JWT issued so far stops
    /// working.
    ///
    /// Examples:
    ///
    ///   hush org-secrets rotate-jwt-key
    #[command(verbatim_doc_comment)]
    RotateJwtKey,
}

fn level() -> ScopeSel {
    ScopeSel::default()
}

pub async fn run(ctx: &Context, args: OrgSecretsArgs) -> Result<()> {
    let api = ctx.api()?;
    let org = &ctx.org;
    match args.command.unwrap_or(OrgSecretsCommand::List) {
        OrgSecretsCommand::List => {
            let read = Read {
                reveal: Reveal::Metadata,
                exact: true,
                include_inactive: true,
            };
            let list = api.secrets(org, PROJECT, &level(), read).await?;
            if ctx.json() {
                return output::json(&list.secrets);
            }
            let mut table = Table::new(&["NAME", "STATE", "RESERVED", "EXPIRES", "UPDATED"]);
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            let now = hush_core::time::to_rfc3339(now_ms);
            for s in list.secrets {
                let expired = s.expires_at.as_deref().is_some_and(|at| at <= now.as_str());
                let state = match (s.is_active, expired) {
                    (false, _) => "inactive",
                    (true, true) => "expired",
                    (true, false) => "active",
                };
                table.row(vec![
                    s.name,
                    state.to_owned(),
                    if s.is_reserved { "yes" } else { "" }.to_owned(),
                    s.expires_at
                        .as_deref()
                        .map_or(String::new(), output::short_time),
                    output::short_time(&s.updated_at),
                ]);
            }
            table.print("No organization secrets yet: hush org-secrets set NAME=VALUE");
        }
        OrgSecretsCommand::Get { name } => {
            let secret = api
                .secret(org, PROJECT, &level(), &name, Reveal::Plain)
                .await?;
            match secret.value {
                Some(value) => println!("{value}"),
                None => bail!("{name} has no value to show"),
            }
        }
        OrgSecretsCommand::Set {
            assignment,
            reserved,
            expires,
        } => {
            let Some((name, value)) = assignment.split_once('=') else {
                bail!("give NAME=VALUE, e.g. STRIPE_WEBHOOK_SECRET=whsec_…");
            };
            // A native PUT states every field: keep what is not changed.
            let kept = current(ctx, name).await?;
            let expires_at = match expires.as_deref() {
                Some(text) => Some(super::tokens::expiry(text)?),
                None => kept.as_ref().and_then(|s| s.expires_at.clone()),
            };
            let body = PutSecret {
                value: Some(value.to_owned()),
                is_reserved: Some(reserved || kept.as_ref().is_some_and(|s| s.is_reserved)),
                expires_at,
                note: kept.as_ref().and_then(|s| s.note.clone()),
                tags: kept.map(|s| s.tags).unwrap_or_default(),
                ..PutSecret::default()
            };
            let written = api.put_secret(org, PROJECT, &level(), name, &body).await?;
            done(ctx, &format!("Set {name} (version {}).", written.version))?;
        }
        OrgSecretsCommand::Deactivate { name } => set_active(ctx, &name, false).await?,
        OrgSecretsCommand::Activate { name } => set_active(ctx, &name, true).await?,
        OrgSecretsCommand::Delete { name } => {
            api.delete_secret(org, PROJECT, &level(), &name).await?;
            done(ctx, &format!("Deleted {name}."))?;
        }
        OrgSecretsCommand::Jwt { expires_in } => {
            let jwt = api.insforge_jwt(org, expires_in).await?;
            if ctx.json() {
                return output::json(&jwt);
            }
            println!("{}", jwt.token);
            eprintln!(
                "An admin JWT for InsForge's API, valid until {}. It is shown only this once.",
                jwt.expires_at
            );
        }
        OrgSecretsCommand::RotateJwtKey => {
            api.rotate_insforge_key(org).await?;
            done(
                ctx,
                "Rotated the JWT signing key: every admin JWT issued before is refused.",
            )?;
        }
    }
    Ok(())
}

/// A secret's metadata, if it exists.
async fn current(ctx: &Context, name: &str) -> Result<Option<hush_proto::Secret>> {
    let read = Read {
        reveal: Reveal::Metadata,
        exact: true,
        include_inactive: true,
    };
    let list = ctx
        .api()?
        .secrets(&ctx.org, PROJECT, &level(), read)
        .await?;
    Ok(list.secrets.into_iter().find(|s| s.name == name))
}

/// Keeps the value and every other field, changes only whether it is
/// active.
async fn set_active(ctx: &Context, name: &str, active: bool) -> Result<()> {
    let Some(kept) = current(ctx, name).await? else {
        bail!("no organization secret is called {name}");
    };
    let body = PutSecret {
        is_active: Some(active),
        is_reserved: Some(kept.is_reserved),
        expires_at: kept.expires_at,
        note: kept.note,
        tags: kept.tags,
        ..PutSecret::default()
    };
    ctx.api()?
        .put_secret(&ctx.org, PROJECT, &level(), name, &body)
        .await?;
    let state = if active { "active" } else { "inactive" };
    done(ctx, &format!("{name} is {state}."))
}

fn done(ctx: &Context, message: &str) -> Result<()> {
    if !ctx.json() {
        eprintln!("{message}");
    }
    Ok(())
}
