//! `hush devices list|approve|revoke|rotate-key`: the devices and signing
//! key of a vault-env project.

use anyhow::Result;
use clap::{Args, Subcommand};
use hush_client::api::DeviceAction;

use crate::context::Context;
use crate::output::{self, Table};

/// List, approve or revoke the devices of a vault-env project; rotate its
/// signing key.
///
/// vault-env clients (`vde`, `load_vault()`) register each machine as a
/// device; the first is approved automatically, later ones wait here until
/// a project admin approves them. A revoked device can no longer pull or
/// push. The published client's own approve-device, list-devices and
/// revoke-device are refused by hush: they are signed with the VAULT_KEY
/// every device holds, so they would let a revoked or stolen machine
/// approve itself. The project is the vault-env project's slug in hush
/// (`hush projects` lists it).
///
/// If a VAULT_KEY leaks, revoke the devices it may have reached and run
/// `rotate-key`: it makes a new VAULT_KEY, registers its signing key (the
/// old key stops working at once) and prints the new key once. Put it in
/// every approved machine's .env, then re-push the secrets from one of
/// them (`vde push`), since they are encrypted with the old key.
///
/// Examples:
///
///   hush devices --project my-app
///
///   hush devices approve 5f0c… --project my-app
///
///   hush devices revoke 5f0c… --project my-app
///
///   hush devices rotate-key --project my-app
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DevicesArgs {
    #[command(subcommand)]
    command: Option<DevicesCommand>,
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// List devices (the default).
    ///
    /// Examples:
    ///
    ///   hush devices --project vaultenv-my-app
    #[command(verbatim_doc_comment)]
    List,
    /// Approve a pending device.
    ///
    /// Examples:
    ///
    ///   hush devices approve 5c2e1c07-… --project vaultenv-my-app
    #[command(verbatim_doc_comment)]
    Approve {
        /// Device id (see `hush devices`).
        id: String,
    },
    /// Revoke a device.
    ///
    /// Examples:
    ///
    ///   hush devices revoke 5c2e1c07-… --project vaultenv-my-app
    #[command(verbatim_doc_comment)]
    Revoke {
        /// Device id (see `hush devices`).
        id: String,
    },
    /// Make a new VAULT_KEY and register it; the old one stops working.
    ///
    /// Examples:
    ///
    ///   hush devices rotate-key --project vaultenv-my-app
    #[command(verbatim_doc_comment)]
    RotateKey,
}

pub async fn run(ctx: &Context, args: DevicesArgs) -> Result<()> {
    let api = ctx.api()?;
    let project = ctx.project()?;
    let (id, action) = match args.command.unwrap_or(DevicesCommand::List) {
        DevicesCommand::List => {
            let devices = api.devices(&ctx.org, project).await?;
            if ctx.json() {
                return output::json(&devices);
            }
            let mut table = Table::new(&["ID", "NAME", "STATUS", "REGISTERED", "LAST SEEN"]);
            for d in devices {
                table.row(vec![
                    d.id,
                    d.name,
                    d.status,
                    output::short_time(&d.created_at),
                    d.last_seen_at
                        .map_or_else(|| "never".to_owned(), |t| output::short_time(&t)),
                ]);
            }
            table.print(&format!("Project {project} has no devices."));
            return Ok(());
        }
        DevicesCommand::Approve { id } => (id, DeviceAction::Approve),
        DevicesCommand::Revoke { id } => (id, DeviceAction::Revoke),
        DevicesCommand::RotateKey => return rotate_key(ctx, project).await,
    };
    let device = api.device_action(&ctx.org, project, &id, action).await?;
    if ctx.json() {
        return output::json(&device);
    }
    println!(
        "Device {} ({}) is now {}.",
        device.id, device.name, device.status
    );
    Ok(())
}

/// Generates `vk_<project id>_<64 hex digits>` (the published client's
/// format), registers the signing key derived from it, prints it once.
async fn rotate_key(ctx: &Context, project: &str) -> Result<()> {
    use hush_core::vaultenv::{derive_key, SALT_AUTH};
    let api = ctx.api()?;
    let id = api.project(&ctx.org, project).await?.id;
    let secret = hush_core::token::random_hex(32);
    let vault_key = hush_core::SecretString::new(format!("vk_{id}_{}", secret.expose()));
    let auth = derive_key(vault_key.expose(), SALT_AUTH, None);
    let auth_hex: String = auth.iter().map(|b| format!("{b:02x}")).collect();
    api.rotate_vaultenv_key(&ctx.org, project, &auth_hex)
        .await?;
    if ctx.json() {
        return output::json(&serde_json::json!({ "vault_key": vault_key.expose() }));
    }
    println!(
        "Rotated the signing key of {project}; requests signed with the old VAULT_KEY are refused.\n\n\
         New key (shown only this once):\n\n    VAULT_KEY={}\n\n\
         Next: put it in the .env of each approved machine, then re-push from one of them\n\
         (`vde push --env <env>` for each environment): the stored secrets are encrypted\n\
         with the old key.",
        vault_key.expose()
    );
    Ok(())
}
