//! `hush`: one binary that is both the secrets server and its client.

mod admin;
mod audit;
mod backup;
mod cmd;
mod config_file;
mod context;
mod exit;
mod offline;
mod output;
mod prompt;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use hush_client::api::ChildKind;

use cmd::{
    auth, devices, history, init, org_secrets, people, resources, run, secrets, sync, tokens,
};
use context::{Context, GlobalArgs};

/// hush — a self-hosted secrets manager.
///
/// Secrets live encrypted on a hush server, organized as organization →
/// project → (target) → environment, and are pulled into an application
/// at launch instead of being copied around in .env files.
///
/// Start:  hush login --email you@example.com   (or --token hush_…)
///         hush init --project web --env development
///         hush push .env
///         hush run -- npm start
///
/// Settings come from flags (each with a HUSH_* variable), then the
/// nearest hush.toml (written by `hush init`), then your login.
#[derive(Debug, Parser)]
#[command(name = "hush", version, about, long_about, verbatim_doc_comment, after_long_help = exit::EXIT_CODES)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::RunArgs),
    Push(sync::PushArgs),
    Pull(sync::PullArgs),
    Set(secrets::SetArgs),
    Get(secrets::GetArgs),
    List(secrets::ListArgs),
    Delete(secrets::DeleteArgs),
    Versions(history::VersionsArgs),
    Diff(history::DiffArgs),
    Rollback(history::RollbackArgs),
    Copy(history::CopyArgs),
    Init(init::InitArgs),
    Login(auth::LoginArgs),
    Logout(auth::LogoutArgs),
    Whoami(auth::WhoamiArgs),
    Projects(resources::ProjectsArgs),
    /// A project's environments: list, create, delete.
    ///
    /// An environment (development, staging, production, preview-42, …)
    /// holds the secrets of one deployment; it inherits what the project
    /// (and, with --target, the target) level sets, and overrides it.
    ///
    /// Examples:
    ///
    ///   hush envs
    ///
    ///   hush envs create staging
    ///
    ///   hush envs delete preview-42 --yes
    #[command(verbatim_doc_comment)]
    Envs(resources::ChildrenArgs),
    /// A project's targets: list, create, delete.
    ///
    /// A target is one deployable part of a project (api, worker, web):
    /// its secrets sit between the project level and the environment, so
    /// `--target api --env production` merges project, api and production.
    ///
    /// Examples:
    ///
    ///   hush targets
    ///
    ///   hush targets create api
    ///
    ///   hush set QUEUE_URL=redis://q --target worker --env production
    #[command(verbatim_doc_comment)]
    Targets(resources::ChildrenArgs),
    Tokens(tokens::TokensArgs),
    Users(people::UsersArgs),
    Members(people::MembersArgs),
    Orgs(people::OrgsArgs),
    Devices(devices::DevicesArgs),
    OrgSecrets(org_secrets::OrgSecretsArgs),
    Audit(audit::AuditArgs),
    Admin(admin::AdminArgs),
    Backup(backup::BackupArgs),
    Restore(backup::RestoreArgs),
    Serve(serve::ServeArgs),
    Completions(CompletionsArgs),
}

/// The command line, with the client's global options hidden from the
/// commands that work on the server side (`serve`, and `admin`, which
/// keeps `--org`): each gets a hidden copy of its own, which clap then
/// does not replace with the global one.
fn command() -> clap::Command {
    let cmd = <Cli as clap::CommandFactory>::command();
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .cloned()
        .collect();
    [
        ("serve", &[][..]),
        ("admin", &["org"][..]),
        ("backup", &[][..]),
        ("restore", &[][..]),
    ]
    .into_iter()
    .fold(cmd, |cmd, (sub, keep)| {
        cmd.mut_subcommand(sub, |c| {
            globals
                .iter()
                .filter(|a| !keep.contains(&a.get_id().as_str()))
                .fold(c, |c, a| c.arg(a.clone().global(false).hide(true)))
        })
    })
}

/// Print shell completions for hush (bash, zsh or fish).
///
/// Examples:
///
///   hush completions bash > ~/.local/share/bash-completion/completions/hush
///
///   hush completions zsh > "${fpath[1]}/_hush"
///
///   hush completions fish > ~/.config/fish/completions/hush.fish
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

fn completions(args: &CompletionsArgs) -> ExitCode {
    // Into memory first: the generator panics on a write error (a closed
    // pipe), and a completions script is small.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command(), "hush", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout(), &script) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => exit::report(&anyhow::Error::new(err), false),
    }
}

/// Every `HUSH_*` variable a flag of any command reads.
fn flag_variables(cmd: &clap::Command) -> Vec<String> {
    let mut names: Vec<String> = cmd
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    for sub in cmd.get_subcommands() {
        names.extend(flag_variables(sub));
    }
    names
}

/// The command line, with `hush serve --config FILE`'s settings added
/// where neither a flag nor its variable gave one.
fn parse() -> Result<(clap::ArgMatches, Vec<String>), String> {
    let cmd = command();
    let matches = cmd.clone().get_matches();
    let Some(("serve", serve)) = matches.subcommand() else {
        return Ok((matches, Vec::new()));
    };
    // Only the server warns about unknown variables, so only it needs them.
    let known = flag_variables(&cmd);
    let Some(file) = serve.get_one::<std::path::PathBuf>("config") else {
        return Ok((matches, known));
    };
    let serve_cmd = cmd
        .find_subcommand("serve")
        .ok_or("the serve command is missing")?;
    let extra = config_file::arguments(file, serve_cmd, serve)?;
    let argv: Vec<std::ffi::OsString> = std::env::args_os().chain(extra).collect();
    Ok((cmd.get_matches_from(argv), known))
}

fn main() -> ExitCode {
    let (matches, known_vars) = match parse() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let cli = match <Cli as clap::FromArgMatches>::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    match cli.command {
        Command::Serve(args) => serve::run(args, &known_vars),
        Command::Audit(args) if args.is_offline() => audit::offline(args),
        Command::Admin(args) => admin::run(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
        Command::Completions(args) => completions(&args),
        command => client(&cli.global, command),
    }
}

/// Runs a client command on a small single-threaded runtime.
fn client(global: &GlobalArgs, command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return exit::report(&anyhow::Error::new(err), false),
    };
    let result = runtime.block_on(async {
        let ctx = Context::resolve(global)?;
        dispatch(&ctx, command).await
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => exit::report(&err, global.output == context::OutputFormat::Json),
    }
}

async fn dispatch(ctx: &Context, command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run(args) => return run::run(ctx, args).await,
        Command::Push(args) => sync::push(ctx, args).await?,
        Command::Pull(args) => sync::pull(ctx, args).await?,
        Command::Set(args) => secrets::set(ctx, args).await?,
        Command::Get(args) => secrets::get(ctx, args).await?,
        Command::List(args) => secrets::list(ctx, args).await?,
        Command::Delete(args) => secrets::delete(ctx, args).await?,
        Command::Versions(args) => history::versions(ctx, args).await?,
        Command::Diff(args) => history::diff(ctx, args).await?,
        Command::Rollback(args) => history::rollback(ctx, args).await?,
        Command::Copy(args) => history::copy(ctx, args).await?,
        Command::Init(args) => init::run(ctx, args).await?,
        Command::Login(args) => auth::login(ctx, args).await?,
        Command::Logout(_) => auth::logout(ctx).await?,
        Command::Whoami(_) => auth::whoami(ctx).await?,
        Command::Projects(args) => resources::projects(ctx, args).await?,
        Command::Envs(args) => resources::children(ctx, ChildKind::Environment, args).await?,
        Command::Targets(args) => resources::children(ctx, ChildKind::Target, args).await?,
        Command::Tokens(args) => tokens::run(ctx, args).await?,
        Command::Users(args) => people::users(ctx, args).await?,
        Command::Members(args) => people::members(ctx, args).await?,
        Command::Orgs(args) => people::orgs(ctx, args).await?,
        Command::Devices(args) => devices::run(ctx, args).await?,
        Command::OrgSecrets(args) => org_secrets::run(ctx, args).await?,
        Command::Audit(args) => audit::list(ctx, args).await?,
        // Handled in `main`: they work without a server.
        Command::Serve(_)
        | Command::Admin(_)
        | Command::Backup(_)
        | Command::Restore(_)
        | Command::Completions(_) => {}
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command and subcommand teaches by example.
    #[test]
    fn every_command_has_examples() {
        fn walk(cmd: &mut clap::Command, path: &str, missing: &mut Vec<String>) {
            for sub in cmd.get_subcommands_mut() {
                if sub.get_name() == "help" {
                    continue;
                }
                let path = format!("{path} {}", sub.get_name());
                if !sub.render_long_help().to_string().contains("Examples:") {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut cmd = command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&mut cmd, "hush", &mut missing);
        assert!(missing.is_empty(), "no examples in --help of: {missing:?}");
    }
}
