//! Exit statuses, distinct per kind of failure so scripts can react, and
//! the one place errors are printed.

use std::process::ExitCode;

use hush_client::ClientError;

/// Something the user has to set up first (login, `hush init`, a flag).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotConfigured(pub String);

/// The user declined, or confirmation was impossible.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Declined(pub String);

/// Documented in `hush --help` and the README.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  any other error
  2  invalid command line
  3  not configured: not logged in, no project or environment (run `hush init`)
  4  authentication or permission: token missing, invalid, expired, revoked, or lacking a scope
  5  not found: organization, project, environment, secret or version
  6  network: the server could not be reached (and no cached copy could stand in)
  7  conflict: it already exists, or changed meanwhile (run the command again)
  8  cancelled at a confirmation prompt
`hush run` exits with the command's own status once the command has started
(128+N if a signal N ended it).";

/// The exit status for an error.
pub fn code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if cause.downcast_ref::<NotConfigured>().is_some() {
            return 3;
        }
        if cause.downcast_ref::<Declined>().is_some() {
            return 8;
        }
        if let Some(client) = cause.downcast_ref::<ClientError>() {
            return match client {
                ClientError::Config(_) => 3,
                ClientError::Auth { .. } => 4,
                ClientError::NotFound { .. } => 5,
                ClientError::Network { .. } => 6,
                ClientError::Api { status: 409, .. } => 7,
                _ => 1,
            };
        }
    }
    1
}

/// A hint that turns an error into advice, where there is an obvious one.
fn hint(err: &anyhow::Error) -> Option<&'static str> {
    let client = err.chain().find_map(|c| c.downcast_ref::<ClientError>())?;
    match client {
        ClientError::Auth { status: 401, .. } if token_from_env() => Some(
            "the token in HUSH_TOKEN was refused: it wins over your login, so unset it (or set a valid one)",
        ),
        ClientError::Auth { status: 401, .. } => {
            Some("log in again with `hush login`, or pass a valid --token")
        }
        ClientError::Auth { .. } => {
            Some("this token lacks a scope or the resource is outside its reach; `hush whoami` shows what it may do")
        }
        ClientError::Api { code, .. } if code == "version_conflict" => {
            Some("someone changed it meanwhile; run the command again")
        }
        ClientError::Network { .. } => Some("check --url (or `hush login`), and that the server is up"),
        _ => None,
    }
}

/// Whether the token came from the environment (a stale `HUSH_TOKEN` in a
/// shell is the usual reason a login "stops working").
fn token_from_env() -> bool {
    std::env::var_os("HUSH_TOKEN").is_some_and(|v| !v.is_empty())
}

/// A stable name for the kind of failure, for `-o json`: the server's
/// code when it answered with one.
fn kind(err: &anyhow::Error, status: u8) -> String {
    if let Some(code) = err
        .chain()
        .find_map(|c| c.downcast_ref::<ClientError>())
        .and_then(ClientError::code)
    {
        return code.to_owned();
    }
    match status {
        3 => "not_configured",
        4 => "unauthorized",
        5 => "not_found",
        6 => "network",
        7 => "conflict",
        8 => "cancelled",
        _ => "error",
    }
    .to_owned()
}

/// Prints the error (with its causes and a hint) and picks the status.
/// A cancellation is said plainly, not as an error. With `json`, one
/// object on stderr instead: `{"error":{"code","message","exit","hint"}}`.
pub fn report(err: &anyhow::Error, json: bool) -> ExitCode {
    let status = code(err);
    let hint = hint(err);
    if json {
        let body = serde_json::json!({ "error": {
            "code": kind(err, status),
            "message": format!("{err:#}"),
            "exit": status,
            "hint": hint,
        }});
        eprintln!("{body}");
        return ExitCode::from(status);
    }
    let color = crate::output::Paint::stderr();
    if status == 8 {
        eprintln!("hush: {err:#}");
    } else {
        eprintln!("hush: {}: {err:#}", color.red("error"));
    }
    if let Some(hint) = hint {
        eprintln!("hush: {}: {hint}", color.dim("hint"));
    }
    ExitCode::from(status)
}
