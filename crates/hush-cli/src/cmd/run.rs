//! `hush run -- CMD ARGS…`: start a command with the secrets in its
//! environment.
//!
//! Without `--watch`, hush replaces itself with the command (`exec`), so
//! signals, the exit status and the process id are the command's own and
//! nothing of hush stays in memory. With `--watch`, hush stays as a small
//! supervisor: it polls the environment's revision, restarts the command
//! when the secrets change, forwards SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2,
//! and exits with the command's status when it ends on its own. (SIGINT and
//! SIGQUIT from a terminal reach the command directly, as they reach the
//! whole foreground process group; hush does not send them twice.)

use std::ffi::OsString;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::Args;
use hush_client::{Client, Origin};
use hush_core::dotenv::EnvMap;

use crate::context::Context;

/// Run a command with the environment's secrets as environment variables.
///
/// Variables already set in your environment win over hush's values (like
/// dotenv), and hush says which ones it left alone; --override turns that
/// around. If the server cannot be reached, the encrypted copy cached by
/// the last successful pull or run is used, with a warning.
///
/// Once the command starts, hush exits with its status.
///
/// Examples:
///
///   hush run -- node server.js
///
///   hush run --env production -- ./bin/migrate --dry-run
///
///   hush run --watch -- python app.py      # restart when secrets change
///
///   hush run --command 'bin/migrate && bin/server'   # a shell line (sh -c)
///
///   hush run --org-secrets -- ./webhooks    # plus the organization's secrets
///
///   HUSH_TOKEN=hsk_… HUSH_ENV=production hush run -- ./app   # on a server
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RunArgs {
    /// Restart the command whenever the secrets change.
    #[arg(long)]
    watch: bool,
    /// How often --watch checks for changes, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECONDS", requires = "watch")]
    interval: u64,
    /// Let hush's values replace variables already set in the environment.
    #[arg(long = "override")]
    override_existing: bool,
    /// Also inject the organization's secrets (`hush org-secrets`): active,
    /// unexpired ones, under the project's (a name the project sets wins).
    #[arg(long, conflicts_with = "watch")]
    org_secrets: bool,
    /// A shell command line to run with `sh -c` (for `&&`, pipes,
    /// redirections), instead of COMMAND.
    #[arg(
        long = "command",
        short = 'c',
        value_name = "LINE",
        conflicts_with = "command"
    )]
    line: Option<String>,
    /// The command and its arguments (after `--`).
    #[arg(
        required_unless_present = "line",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<OsString>,
}

impl RunArgs {
    /// What to run: COMMAND as given, or `sh -c LINE`.
    fn argv(&self) -> Vec<OsString> {
        match &self.line {
            Some(line) => vec!["sh".into(), "-c".into(), line.into()],
            None => self.command.clone(),
        }
    }
}

pub async fn run(ctx: &Context, args: RunArgs) -> Result<u8> {
    let client = Client::new(ctx.client_options(args.override_existing)?)?;
    let mut environment = client.load().await?;
    if args.org_secrets {
        add_org_secrets(ctx, &mut environment.secrets, args.override_existing).await?;
    }
    if let Origin::Cache { .. } = environment.origin {
        if args.watch {
            eprintln!("hush: --watch will pick up the server's secrets once it is reachable again");
        }
    }
    refuse_unfit(&environment.secrets)?;
    let vars = selected(&environment.secrets, args.override_existing);
    if args.watch {
        supervise(&client, environment.secrets, &vars, &args).await
    } else {
        let argv = args.argv();
        let err = exec(&argv, &vars);
        eprintln!(
            "hush: error: cannot run {}: {err}",
            argv.first()
                .map_or_else(String::new, |a| a.to_string_lossy().into_owned())
        );
        // The shell's statuses for "not found" and "not executable".
        Ok(if err.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        })
    }
}

/// Adds the organization's active, unexpired secrets where the project
/// does not set the same name (through the same client, cache included).
async fn add_org_secrets(
    ctx: &Context,
    secrets: &mut EnvMap,
    override_existing: bool,
) -> Result<()> {
    let mut options = ctx.client_options(override_existing)?;
    options.project = Some(super::org_secrets::PROJECT.to_owned());
    options.env = None;
    options.target = None;
    let org = Client::new(options)?.load().await?;
    for (name, value) in org.secrets {
        secrets.entry(name).or_insert(value);
    }
    Ok(())
}

/// Fails, naming them, if any variable cannot be placed in an environment
/// (a value with a NUL byte, stored before the server refused those):
/// running the command with it silently cut short would be worse.
fn refuse_unfit(secrets: &EnvMap) -> Result<()> {
    let unfit: Vec<String> = secrets
        .iter()
        .filter_map(|(name, value)| {
            hush_core::env_refusal(name, value.expose()).map(|why| format!("{name} ({why})"))
        })
        .collect();
    if unfit.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "cannot pass {} to the command: {}; give {} a new value with `hush set`",
        if unfit.len() == 1 {
            "this variable"
        } else {
            "these variables"
        },
        unfit.join(", "),
        if unfit.len() == 1 { "it" } else { "them" },
    )
}

/// The variables to hand to the command; reports the names left alone.
fn selected(secrets: &EnvMap, override_existing: bool) -> Vec<(String, String)> {
    let mut kept = Vec::new();
    let vars = secrets
        .iter()
        .filter(|(name, _)| {
            let keep = !override_existing && std::env::var_os(name).is_some();
            if keep {
                kept.push(name.as_str());
            }
            !keep
        })
        .map(|(name, value)| (name.clone(), value.expose().to_owned()))
        .collect();
    if !kept.is_empty() {
        eprintln!(
            "hush: kept {} already set in your environment: {} (--override uses hush's values)",
            if kept.len() == 1 {
                "1 variable".to_owned()
            } else {
                format!("{} variables", kept.len())
            },
            kept.join(", ")
        );
    }
    vars
}

/// The command with the secrets set and hush's own settings removed: the
/// child never sees `HUSH_TOKEN`, `HUSH_KEY` or any other `HUSH_…`
/// variable (unless a secret of that name is injected), so a token that
/// reads every secret does not leak into the app's environment, crash
/// reports or child processes.
fn command(
    program: &OsString,
    rest: &[OsString],
    vars: &[(String, String)],
) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.args(rest);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HUSH_") {
            command.env_remove(name);
        }
    }
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    command
}

/// Replaces this process with the command; returns only on failure.
#[cfg(unix)]
fn exec(args: &[OsString], vars: &[(String, String)]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let Some((program, rest)) = args.split_first() else {
        return std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command given");
    };
    command(program, rest, vars).exec()
}

fn spawn(args: &[OsString], vars: &[(String, String)]) -> Result<tokio::process::Child> {
    let (program, rest) = args.split_first().context("no command given")?;
    tokio::process::Command::from(command(program, rest, vars))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))
}

#[cfg(unix)]
async fn supervise(
    client: &Client,
    secrets: EnvMap,
    vars: &[(String, String)],
    args: &RunArgs,
) -> Result<u8> {
    use tokio::signal::unix::{signal, SignalKind};

    let mut watcher = client
        .watcher(Duration::from_secs(args.interval.max(1)))
        .starting_from(secrets);
    let argv = args.argv();
    let mut child = spawn(&argv, vars)?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut usr1 = signal(SignalKind::user_defined1())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut quit = signal(SignalKind::quit())?;
    loop {
        tokio::select! {
            status = child.wait() => return Ok(status_code(status?)),
            change = watcher.next() => {
                let change = change?;
                eprintln!("hush: secrets changed ({}); restarting the command", change.changed.join(", "));
                stop(&mut child).await;
                child = spawn(&argv, &selected(&change.secrets, args.override_existing))?;
            }
            _ = term.recv() => forward(&child, nix::sys::signal::Signal::SIGTERM),
            _ = hup.recv() => forward(&child, nix::sys::signal::Signal::SIGHUP),
            _ = usr1.recv() => forward(&child, nix::sys::signal::Signal::SIGUSR1),
            _ = usr2.recv() => forward(&child, nix::sys::signal::Signal::SIGUSR2),
            _ = int.recv() => {}
            _ = quit.recv() => {}
        }
    }
}

/// Stops the command for a restart: SIGTERM, then SIGKILL after 10 s.
async fn stop(child: &mut tokio::process::Child) {
    forward(child, nix::sys::signal::Signal::SIGTERM);
    if tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .is_err()
    {
        eprintln!("hush: the command ignored SIGTERM for 10 s; killing it");
        let _ = child.kill().await;
    }
}

fn forward(child: &tokio::process::Child, signal: nix::sys::signal::Signal) {
    if let Some(pid) = child.id().and_then(|id| i32::try_from(id).ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// A status as a shell reports it: the exit code, or 128 + the signal.
fn status_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(signal)) => u8::try_from((128 + signal) & 0xff).unwrap_or(1),
        (None, None) => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfit_values_are_named_not_passed() {
        let mut secrets = EnvMap::new();
        secrets.insert("GOOD".into(), "fine".into());
        assert!(refuse_unfit(&secrets).is_ok());
        secrets.insert("OLD_BINARY".into(), "a\0b".into());
        let err = refuse_unfit(&secrets).unwrap_err().to_string();
        assert!(err.contains("OLD_BINARY") && err.contains("NUL"), "{err}");
        assert!(!err.contains("GOOD") && !err.contains("a\0b"), "{err}");
    }
}
