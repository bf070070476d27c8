//! `hush devices list|approve|revoke`: the devices of a vault-env project.

use anyhow::Result;
use clap::{Args, Subcommand};
use hush_client::api::DeviceAction;

use crate::context::Context;
use crate::output::{self, Table};

/// List, approve or revoke the devices of a vault-env project.
///
/// vault-env clients (`vde`, `load_vault()`) register each machine as a
/// device; the first is approved automatically, later ones wait here until
/// a project admin approves them. A revoked device can no longer pull or
/// push. (The published client's own approve/list/revoke commands sign with
/// a device-bound key the server cannot verify, so they are refused; use
/// these instead.) The project is the vault-env project's name in hush
/// (`hush projects` lists it).
///
/// Examples:
///
///   hush devices --project my-app
///
///   hush devices approve 5f0c… --project my-app
///
///   hush devices revoke 5f0c… --project my-app
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DevicesArgs {
    #[command(subcommand)]
    command: Option<DevicesCommand>,
}

#[derive(Debug, Subcommand)]
enum DevicesCommand {
    /// List devices (the default).
    List,
    /// Approve a pending device.
    Approve {
        /// Device id (see `hush devices`).
        id: String,
    },
    /// Revoke a device.
    Revoke {
        /// Device id (see `hush devices`).
        id: String,
    },
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
