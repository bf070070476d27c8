//! `hush`: one binary that is both the secrets server and its client.

use clap::Parser;

/// hush — a self-hosted secrets manager.
///
/// Secrets live encrypted on a hush server, organized as organization →
/// project → (target) → environment, and are pulled into an application
/// at launch instead of being copied around in .env files.
#[derive(Debug, Parser)]
#[command(name = "hush", version, about, long_about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
    eprintln!(
        "hush {}: no commands yet; see `hush --help`.",
        env!("CARGO_PKG_VERSION")
    );
}
