//! `hush tokens create|list|revoke`.

use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use hush_proto::CreateToken;

use crate::context::Context;
use crate::output::{self, Table};

/// Create, list and revoke API and pull tokens.
///
/// A pull token (hsk_…) is read-only: it pulls the configured
/// environment (or, with --all-envs, any environment of the project) and
/// nothing else; give it to servers and CI. API tokens are limited to the
/// configured project when there is one. An API token (hush_…) has the scopes you choose.
/// The token is printed once, at creation; only its hash is stored.
///
/// Examples:
///
///   hush tokens create web-prod --pull --env production
///
///   hush tokens create deploy-bot --scope secret:read --scope secret:write \
///     --project web --expires 30d
///
///   hush tokens list
///
///   hush tokens revoke 0b5e…
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct TokensArgs {
    #[command(subcommand)]
    command: Option<TokensCommand>,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// List tokens (the default).
    ///
    /// Examples:
    ///
    ///   hush tokens
    ///
    ///   hush tokens list -o json
    #[command(verbatim_doc_comment)]
    List,
    /// Create a token (printed once).
    ///
    /// Examples:
    ///
    ///   hush tokens create web-prod --pull --env production --expires 90d
    ///
    ///   hush tokens create deploy --scope secret:read --scope secret:write --project web
    ///
    ///   hush tokens create webhooks --hooklistener --write
    #[command(verbatim_doc_comment)]
    Create {
        /// A name saying who or what uses it.
        name: String,
        /// A read-only pull token for the project (and --env, if given).
        #[arg(long)]
        pull: bool,
        /// Scopes of an API token: secret:read, secret:decrypt,
        /// secret:write, secret:purge, key:retrieve, project:admin,
        /// org:admin, audit:read.
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// With --pull: read every environment of the project, not only
        /// the configured one.
        #[arg(long, requires = "pull")]
        all_envs: bool,
        /// A Hooklistener API key (`hklst_…`): reads the organization's
        /// secrets (see `hush org-secrets`) and nothing else.
        #[arg(long, conflicts_with_all = ["pull", "scopes"])]
        hooklistener: bool,
        /// With --hooklistener: may also create, change and delete them.
        #[arg(long, requires = "hooklistener")]
        write: bool,
        /// When it stops working: a duration (90m, 12h, 30d, 2w),
        /// `tomorrow`, a date (2027-01-01) or an RFC 3339 time.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Revoke a token by id, or by name when one active token has it.
    ///
    /// Examples:
    ///
    ///   hush tokens revoke web-prod
    ///
    ///   hush tokens revoke 0b5e2f…
    #[command(verbatim_doc_comment)]
    Revoke {
        /// Token id or name (see `hush tokens list`). Not called `token`:
        /// that is the global --token's id, and clap would merge them.
        #[arg(value_name = "ID_OR_NAME")]
        which: String,
    },
}

pub async fn run(ctx: &Context, args: TokensArgs) -> Result<()> {
    let api = ctx.api()?;
    match args.command.unwrap_or(TokensCommand::List) {
        TokensCommand::List => {
            let tokens = api.tokens(&ctx.org).await?;
            if ctx.json() {
                return output::json(&tokens);
            }
            let mut table = Table::new(&[
                "ID",
                "NAME",
                "KIND",
                "PREFIX",
                "LIMITED TO",
                "SCOPES",
                "STATE",
                "LAST USED",
            ]);
            for t in tokens {
                let limit = match (&t.project, &t.environment) {
                    (Some(p), Some(e)) => format!("{p}/{e}"),
                    (Some(p), None) => p.clone(),
                    _ => "organization".into(),
                };
                let state = if t.disabled {
                    "revoked".to_owned()
                } else {
                    t.expires_at.map_or("active".into(), |e| {
                        format!("expires {}", output::short_time(&e))
                    })
                };
                table.row(vec![
                    t.id,
                    t.name,
                    t.kind,
                    format!("{}…", t.prefix),
                    limit,
                    t.scopes.join(","),
                    state,
                    t.last_used_at
                        .as_deref()
                        .map_or("never".to_owned(), output::short_time),
                ]);
            }
            table.print("No tokens.");
        }
        TokensCommand::Create {
            name,
            pull,
            scopes,
            all_envs,
            hooklistener,
            write,
            expires,
        } => {
            if hooklistener {
                let body = CreateToken {
                    name,
                    kind: Some("hooklistener".to_owned()),
                    access: Some(if write { "read-write" } else { "read" }.to_owned()),
                    scopes: Vec::new(),
                    project: None,
                    environment: None,
                    expires_at: expires.as_deref().map(expiry).transpose()?,
                };
                return created(ctx, api.create_token(&ctx.org, &body).await?);
            }
            if pull && !scopes.is_empty() {
                bail!("pull tokens have a fixed read-only scope; drop --scope or --pull");
            }
            if !pull && scopes.is_empty() {
                bail!("an API token needs at least one --scope (or pass --pull for a read-only pull token)");
            }
            let project = if pull {
                Some(ctx.project()?.to_owned())
            } else {
                ctx.project.clone()
            };
            let body = CreateToken {
                name,
                kind: Some(if pull { "pull" } else { "api" }.to_owned()),
                access: None,
                scopes,
                project,
                environment: ctx.env.clone().filter(|_| pull && !all_envs),
                expires_at: expires.as_deref().map(expiry).transpose()?,
            };
            created(ctx, api.create_token(&ctx.org, &body).await?)?;
        }
        TokensCommand::Revoke { which } => {
            let (id, name) = resolve(&api.tokens(&ctx.org).await?, &which)?;
            api.revoke_token(&ctx.org, &id).await?;
            if !ctx.json() {
                println!("Revoked token \"{name}\" ({id}).");
            }
        }
    }
    Ok(())
}

/// `--expires` as the API takes it (RFC 3339).
pub fn expiry(text: &str) -> anyhow::Result<String> {
    expiry_ms(text).map(hush_core::time::to_rfc3339)
}

/// `--expires` (a duration, `tomorrow`, a date or an RFC 3339 time) in
/// unix ms; a moment already past is refused here, before anything is
/// created.
pub fn expiry_ms(text: &str) -> anyhow::Result<i64> {
    let now = hush_store::audit_now();
    let at = hush_core::time::parse_when(text, now).ok_or_else(|| {
        anyhow::anyhow!(
            "--expires {text:?} is not a duration (90m, 12h, 30d, 2w), `tomorrow`, a date (2027-01-01) or an RFC 3339 time"
        )
    })?;
    if at <= now {
        bail!("--expires {text:?} is in the past");
    }
    Ok(at)
}
/// A token named by id, or by name when exactly one active token has it:
/// its id and name.
fn resolve(tokens: &[hush_proto::Token], wanted: &str) -> anyhow::Result<(String, String)> {
    if let Some(t) = tokens.iter().find(|t| t.id == wanted) {
        return Ok((t.id.clone(), t.name.clone()));
    }
    let named: Vec<&hush_proto::Token> = tokens
        .iter()
        .filter(|t| t.name == wanted && !t.disabled)
        .collect();
    match named.as_slice() {
        [one] => Ok((one.id.clone(), one.name.clone())),
        [] => {
            let names = tokens
                .iter()
                .filter(|t| !t.disabled)
                .map(|t| t.name.as_str());
            let hint = hush_core::suggest::closest(wanted, names)
                .map(|near| format!(" (did you mean {near:?}?)"))
                .unwrap_or_default();
            Err(hush_client::ClientError::NotFound {
                code: "not_found".to_owned(),
                message: format!("no active token has the id or name {wanted:?}{hint}"),
            }
            .into())
        }
        many => bail!(
            "{} active tokens are named {wanted:?}: revoke one by id ({})",
            many.len(),
            many.iter()
                .map(|t| t.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Prints a new token once (stdout) and what it is (stderr).
fn created(ctx: &Context, created: hush_proto::CreatedToken) -> Result<()> {
    if ctx.json() {
        return output::json(&created);
    }
    println!("{}", created.token);
    eprintln!(
        "Created {} token \"{}\" (id {}). It is shown only this once: store it now.",
        created.info.kind, created.info.name, created.info.id
    );
    Ok(())
}
