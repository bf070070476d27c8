//! `hush`: one binary that is both the secrets server and its client.

mod audit;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// hush — a self-hosted secrets manager.
///
/// Secrets live encrypted on a hush server, organized as organization →
/// project → (target) → environment, and are pulled into an application
/// at launch instead of being copied around in .env files.
#[derive(Debug, Parser)]
#[command(name = "hush", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Serve(serve::ServeArgs),
    Audit(audit::AuditArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Audit(args) => audit::run(args),
    }
}
