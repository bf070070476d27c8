//! `hush login`, `hush logout`, `hush whoami`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use hush_client::{Api, ClientError};
use hush_core::SecretString;

use crate::context::{normalize_url, Context, Login, UserConfig};
use crate::exit::NotConfigured;
use crate::output;

/// Log in to a hush server and remember it.
///
/// With an email, asks for the password (or reads it from stdin with
/// --password-stdin) and stores the 12-hour session token the server
/// returns. With --token, checks that token and stores it instead. The
/// login is kept in ~/.config/hush/config.toml (mode 0600; override the
/// directory with HUSH_CONFIG_DIR) and becomes the current server.
///
/// Examples:
///
///   hush login --url https://hush.example.com --email ada@example.com
///
///   printf '%s' "$PASSWORD" | hush login --email ada@example.com --password-stdin
///
///   hush login --token hush_…        # an API token, e.g. the bootstrap token
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct LoginArgs {
    /// Your email (asked for when omitted and no --token is given).
    #[arg(long)]
    email: Option<String>,
    /// Read the password from stdin instead of prompting.
    #[arg(long)]
    password_stdin: bool,
}

pub async fn login(ctx: &Context, args: LoginArgs) -> Result<()> {
    let url = normalize_url(&ctx.url);
    let (login, who) = match (&args.email, &ctx.token) {
        (None, Some(token)) => {
            let api = ctx.api()?;
            let who = api.whoami().await.context("the token was refused")?;
            let login = Login {
                token: token.expose().to_owned(),
                org: who.org.clone(),
                user: who.user.as_ref().map(|u| u.email.clone()),
                expires_at: who.expires_at.clone(),
            };
            let name = who
                .user
                .map_or_else(|| format!("token {}", who.name), |u| u.email);
            (login, name)
        }
        _ => {
            let email = match args.email {
                Some(email) => email,
                None => prompt("Email: ")?,
            };
            let password = crate::prompt::password(args.password_stdin, "Password: ", false)?;
            (session(ctx, &email, &password).await?, email)
        }
    };
    let expires = login.expires_at.clone();
    let org = login.org.clone();
    let path = remember(&url, login)?;
    if ctx.json() {
        return output::json(&serde_json::json!({
            "url": url, "org": org, "as": who, "expires_at": expires,
        }));
    }
    println!("Logged in to {url} as {who} (organization {org}).");
    if let Some(expires) = expires {
        println!("The session lasts until {}.", output::short_time(&expires));
    }
    println!("Saved in {}.", path.display());
    Ok(())
}

/// Opens a login session with a password.
pub(crate) async fn session(ctx: &Context, email: &str, password: &SecretString) -> Result<Login> {
    let session = ctx
        .anonymous_api()?
        .login(&hush_proto::Login {
            email: email.to_owned(),
            password: password.expose().to_owned(),
            org: Some(ctx.org.clone()),
        })
        .await?;
    Ok(Login {
        token: session.token,
        org: ctx.org.clone(),
        user: Some(session.user.email),
        expires_at: Some(session.expires_at),
    })
}

/// Stores a login for `url` and makes it the current server; returns the
/// config file's path.
pub(crate) fn remember(url: &str, login: Login) -> Result<std::path::PathBuf> {
    let mut config = UserConfig::load()?;
    config.servers.insert(url.to_owned(), login);
    config.current = Some(url.to_owned());
    config.save()
}

fn prompt(question: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(NotConfigured("no terminal to ask on: pass --email".into()).into());
    }
    eprint!("{question}");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}

/// Log out of a server (the current one by default): end the session on
/// the server and forget it here.
///
/// A session from `hush login --email` is revoked on the server, so a copy
/// of its token stops working too. An API token saved with `hush login
/// --token` is only forgotten here; revoke it with `hush tokens revoke` if
/// it may have leaked.
///
/// Examples:
///
///   hush logout
///
///   hush logout --url https://hush.example.com
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct LogoutArgs {}

pub async fn logout(ctx: &Context) -> Result<()> {
    let url = normalize_url(&ctx.url);
    let mut config = UserConfig::load()?;
    let Some(login) = config.servers.remove(&url) else {
        println!("Not logged in to {url}; nothing to do.");
        return Ok(());
    };
    let ended = if login.user.is_some() {
        let api = Api::new(
            &url,
            Some(SecretString::new(login.token.clone())),
            ctx.ca_cert.as_deref(),
            Duration::from_secs(30),
        )?;
        match api.logout().await {
            Ok(()) => "the session is revoked on the server".to_owned(),
            // Already expired or revoked: nothing left to end.
            Err(ClientError::Api { status: 401, .. }) => "the session had already ended".to_owned(),
            Err(err) => format!(
                "could not revoke the session on the server ({err}); it ends by itself at {}",
                login
                    .expires_at
                    .as_deref()
                    .map_or("its expiry".to_owned(), output::short_time)
            ),
        }
    } else {
        "the API token is forgotten here but still valid; `hush tokens revoke` ends it".to_owned()
    };
    if config.current.as_deref() == Some(url.as_str()) {
        config.current = None;
    }
    config.save()?;
    println!("Logged out of {url}: {ended}.");
    Ok(())
}

/// Show who the current token acts as and what it may do.
///
/// Examples:
///
///   hush whoami
///
///   hush whoami --output json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct WhoamiArgs {}

pub async fn whoami(ctx: &Context) -> Result<()> {
    let who = ctx.api()?.whoami().await?;
    if ctx.json() {
        return output::json(&who);
    }
    match &who.user {
        Some(user) => println!("{} ({}) on {}", user.email, user.role, ctx.url),
        None => println!(
            "{} token \"{}\" ({}…) on {}",
            who.kind, who.name, who.prefix, ctx.url
        ),
    }
    println!("organization: {}", who.org);
    if let Some(project) = &who.project {
        println!("limited to project: {project}");
    }
    if let Some(env) = &who.environment {
        println!("limited to environment: {env}");
    }
    for role in &who.project_roles {
        println!("in project {}: {}", role.project, role.role);
    }
    if !who.scopes.is_empty() {
        let note = if who.project_roles.is_empty() {
            ""
        } else {
            " (elsewhere; the project roles above replace them in their projects)"
        };
        println!("scopes: {}{note}", who.scopes.join(", "));
    }
    if let Some(expires) = &who.expires_at {
        println!("expires: {}", output::short_time(expires));
    }
    if let Some(path) = &ctx.project_file {
        println!("this directory: {} ({})", ctx.where_(), path.display());
    }
    Ok(())
}
