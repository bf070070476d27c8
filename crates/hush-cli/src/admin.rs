//! `hush admin`: the operator's way in, on the server's database directly
//! with its master key, no token needed: list and create organizations,
//! make an admin token (the one-time token was lost), create an owner,
//! reset a password. Every action is in the audit log as
//! `operator:<os user>`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use hush_core::SecretString;
use hush_server::service::{Policy, Services, DEFAULT_ORG};

use crate::offline::{fail, runtime, whoami, Database};

/// Operate on the server's database directly: organizations, an admin
/// token, owners, password resets.
///
/// For whoever runs the server: these work on its data directory (or
/// --database-url) with its master key, with the server running or not,
/// and need no token. Use them when the one-time admin token was lost,
/// when nobody can log in any more, or to add an organization. Every
/// action is recorded in the audit log.
///
/// Examples:
///
///   hush admin token                                  # a new all-scopes token for "default"
///
///   hush admin orgs create acme --name "Acme Inc."    # prints acme's admin token
///
///   hush admin users create --email ada@example.com --role owner
///
///   hush admin users reset-password --email ada@example.com --org acme
///
///   hush admin orgs list --database-url postgres://hush@db/hush --master-key-file /run/secrets/hush-key
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Organizations: list them, or create one.
    ///
    /// Examples:
    ///
    ///   hush admin orgs list
    ///
    ///   hush admin orgs create acme --name "Acme Inc."
    #[command(subcommand, verbatim_doc_comment)]
    Orgs(OrgsCommand),
    /// Create an all-scopes API token of an organization; it is printed
    /// once, on stdout.
    ///
    /// Examples:
    ///
    ///   hush admin token
    ///
    ///   hush admin token --org acme --name break-glass --expires 1d
    #[command(verbatim_doc_comment)]
    Token {
        /// The organization's slug.
        #[arg(long, default_value = DEFAULT_ORG)]
        org: String,
        /// A name to recognize it by in `hush tokens list`.
        #[arg(long, default_value = "admin")]
        name: String,
        /// When it stops working: a duration (90m, 12h, 30d, 2w),
        /// `tomorrow`, a date or an RFC 3339 time. Default: never.
        #[arg(long)]
        expires: Option<String>,
        /// Also let it run the server's organizations (create, list all,
        /// delete: `hush orgs create …`), as the first start's token can.
        #[arg(long)]
        server_admin: bool,
        #[command(flatten)]
        database: Database,
    },
    /// Re-seal every project data key, vault-env signing key and the audit
    /// chain's key under a new master key, in one transaction; values are
    /// not touched.
    ///
    /// Run it with the current key (as `hush serve` finds it). Servers
    /// sharing the database keep serving if they were started with the new
    /// key accepted (`hush serve --accept-master-key-file NEW`); restart
    /// them afterwards with the new key only. With the data directory's own
    /// master.key, the file is replaced by the new key and the old one kept
    /// as master.key.retired (destroy it once no backup needs it).
    ///
    /// Examples:
    ///
    ///   head -c 32 /dev/urandom | base64 > new.key && chmod 600 new.key
    ///
    ///   hush admin rotate-master-key --new-key-file new.key --data-dir /var/lib/hush
    #[command(verbatim_doc_comment)]
    RotateMasterKey {
        /// The new master key (32 bytes, base64 or hex).
        #[arg(long, value_name = "FILE")]
        new_key_file: std::path::PathBuf,
        #[command(flatten)]
        database: Database,
    },
    /// People: create an account (owners too), reset a password.
    ///
    /// Examples:
    ///
    ///   hush admin users create --email ada@example.com --role owner
    ///
    ///   hush admin users reset-password --email ada@example.com --org acme
    #[command(subcommand, verbatim_doc_comment)]
    Users(UsersCommand),
}

#[derive(Debug, Subcommand)]
enum OrgsCommand {
    /// Every organization on the server.
    ///
    /// Examples:
    ///
    ///   hush admin orgs list --data-dir /var/lib/hush
    #[command(verbatim_doc_comment)]
    List {
        #[command(flatten)]
        database: Database,
    },
    /// Create an organization; prints an all-scopes token for it, once.
    ///
    /// Examples:
    ///
    ///   hush admin orgs create acme --name "Acme Inc."
    #[command(verbatim_doc_comment)]
    Create {
        /// Its slug (lower-case letters, digits, dashes), as in URLs and
        /// `--org`.
        slug: String,
        /// A display name (default: the slug).
        #[arg(long, default_value = "")]
        name: String,
        #[command(flatten)]
        database: Database,
    },
    /// Delete an organization with its projects, secrets, history, users
    /// and tokens (the audit log keeps its entries). Cannot be undone.
    ///
    /// Examples:
    ///
    ///   hush admin orgs delete acme --yes
    #[command(verbatim_doc_comment)]
    Delete {
        /// Its slug.
        slug: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
        #[command(flatten)]
        database: Database,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Create an account; the password is asked for twice on a terminal
    /// (or read from stdin with --password-stdin).
    ///
    /// Examples:
    ///
    ///   hush admin users create --email ada@example.com --role owner
    ///
    ///   printf '%s\n' "$PASSWORD" | hush admin users create --email ci@example.com --role member --password-stdin
    #[command(verbatim_doc_comment)]
    Create {
        /// Their email, the login name.
        #[arg(long)]
        email: String,
        /// owner, admin, member or viewer.
        #[arg(long, default_value = "owner")]
        role: String,
        /// The organization's slug.
        #[arg(long, default_value = DEFAULT_ORG)]
        org: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        database: Database,
    },
    /// Set a new password for an account and end its login sessions.
    ///
    /// Examples:
    ///
    ///   hush admin users reset-password --email ada@example.com
    #[command(verbatim_doc_comment)]
    ResetPassword {
        /// Their email.
        #[arg(long)]
        email: String,
        /// The organization's slug.
        #[arg(long, default_value = DEFAULT_ORG)]
        org: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        database: Database,
    },
}

impl AdminCommand {
    fn database(&self) -> &Database {
        match self {
            AdminCommand::Orgs(OrgsCommand::List { database })
            | AdminCommand::Orgs(OrgsCommand::Create { database, .. })
            | AdminCommand::Orgs(OrgsCommand::Delete { database, .. })
            | AdminCommand::Token { database, .. }
            | AdminCommand::RotateMasterKey { database, .. }
            | AdminCommand::Users(UsersCommand::Create { database, .. })
            | AdminCommand::Users(UsersCommand::ResetPassword { database, .. }) => database,
        }
    }
}

/// Runs `hush admin …`. Exit status 0 when done, 2 when refused or the
/// database cannot be used.
pub fn run(args: AdminArgs) -> ExitCode {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    runtime.block_on(async {
        // Prompts first: they must not hold the database open.
        if let AdminCommand::Orgs(OrgsCommand::Delete {
            slug, yes: false, ..
        }) = &args.command
        {
            if let Err(err) = crate::output::confirm(
                &format!(
                    "Delete organization {slug} with all its projects, secrets, users and tokens?"
                ),
                "--yes",
            ) {
                eprintln!("hush: {err:#}");
                return ExitCode::from(8);
            }
        }
        let password = match &args.command {
            AdminCommand::Users(
                UsersCommand::Create { password_stdin, .. }
                | UsersCommand::ResetPassword { password_stdin, .. },
            ) => match crate::prompt::password(*password_stdin, "New password: ", true)
                .map_err(|e| format!("{e:#}"))
            {
                Ok(password) => Some(password),
                Err(message) => return fail(&message),
            },
            _ => None,
        };
        if let AdminCommand::RotateMasterKey {
            new_key_file,
            database,
        } = &args.command
        {
            return match rotate(database, new_key_file).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => fail(&message),
            };
        }
        let store = match args.command.database().open().await {
            Ok(store) => Arc::new(store),
            Err(err) => return fail(&err),
        };
        let services = Services::new(
            store.clone(),
            Policy {
                password_cost: hush_core::password::PasswordCost::standard(),
                vaultenv_open_registration: false,
            },
        );
        let result = act(&services, args.command, password).await;
        store.close().await;
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        }
    })
}

async fn act(
    services: &Services,
    command: AdminCommand,
    password: Option<SecretString>,
) -> Result<(), String> {
    let operator = whoami();
    let admin = services.admin(&operator);
    let password = password.ok_or("no password was read");
    match command {
        AdminCommand::Orgs(OrgsCommand::List { .. }) => {
            let orgs = admin.organizations().await.map_err(|e| e.to_string())?;
            println!("{:<24} {:<32} CREATED", "SLUG", "NAME");
            for org in orgs {
                println!(
                    "{:<24} {:<32} {}",
                    org.slug,
                    org.name,
                    hush_core::time::to_rfc3339(org.created_at)
                );
            }
        }
        AdminCommand::Orgs(OrgsCommand::Create { slug, name, .. }) => {
            let (org, token) = admin
                .create_organization(&slug, &name)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", token.expose());
            eprintln!(
                "Created organization \"{}\" and its admin token (above). It is shown only this once: store it now.",
                org.slug
            );
        }
        AdminCommand::RotateMasterKey { .. } => {}
        AdminCommand::Orgs(OrgsCommand::Delete { slug, .. }) => {
            let org = admin
                .delete_organization(&slug)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "Deleted organization \"{}\" and everything in it.",
                org.slug
            );
        }
        AdminCommand::Token {
            org,
            name,
            expires,
            server_admin,
            ..
        } => {
            let expires_at = expires
                .map(|text| crate::cmd::tokens::expiry_ms(&text).map_err(|e| format!("{e:#}")))
                .transpose()?;
            let (token, record) = admin
                .create_token(&org, &name, expires_at, server_admin)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", token.expose());
            eprintln!(
                "Created an all-scopes token \"{}\" of organization \"{org}\" (id {}). It is shown only this once: store it now.",
                record.name, record.id
            );
        }
        AdminCommand::Users(UsersCommand::Create {
            email, role, org, ..
        }) => {
            let (user, role) = admin
                .create_user(&org, &email, &password?, &role)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "Created {} ({}) in organization \"{org}\"; they log in with `hush login --email {} --org {org}`.",
                user.email,
                role.as_str(),
                user.email
            );
        }
        AdminCommand::Users(UsersCommand::ResetPassword { email, org, .. }) => {
            let user = admin
                .reset_password(&org, &email, &password?)
                .await
                .map_err(|e| e.to_string())?;
            eprintln!(
                "New password set for {} in organization \"{org}\"; their sessions were ended.",
                user.email
            );
        }
    }
    Ok(())
}

/// `hush admin rotate-master-key`: re-seals everything under the new key;
/// with the data directory's own key file, swaps the files.
async fn rotate(database: &Database, new_key_file: &std::path::Path) -> Result<(), String> {
    let new_key =
        hush_server::config::load_master_key(hush_server::config::KeySource::File(new_key_file))
            .map_err(|e| e.to_string())?
            .0;
    let new_id = new_key.id();
    let store = database.open().await?;
    let result = store.rotate_master_key(new_key).await;
    store.close().await;
    let rewrapped = result.map_err(|e| format!("nothing was changed: {e}"))?;
    eprintln!("Re-sealed {rewrapped} project data keys, the vault-env signing keys and the audit chain's key under the new master key ({new_id}).");
    match database.own_key_file() {
        Some(own) => {
            let retired = own.with_file_name("master.key.retired");
            std::fs::rename(&own, &retired)
                .and_then(|()| std::fs::copy(new_key_file, &own).map(drop))
                .and_then(|()| {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o600))
                })
                .map_err(|e| format!("the database now needs the new key, but replacing {} failed: {e}; put the new key there yourself", own.display()))?;
            eprintln!(
                "{} now holds the new key; the old one is {} (destroy it once no backup needs it). Restart the server.",
                own.display(),
                retired.display()
            );
        }
        None => eprintln!(
            "Start every server with the new key now (--master-key-file {}), and destroy the old key once no backup needs it.",
            new_key_file.display()
        ),
    }
    Ok(())
}
