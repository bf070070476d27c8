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

/// Prints the error (with its causes and a hint) and picks the status.
pub fn report(err: &anyhow::Error) -> ExitCode {
    eprintln!("hush: error: {err:#}");
    if let Some(hint) = hint(err) {
        eprintln!("hush: hint: {hint}");
    }
    ExitCode::from(code(err))
}
