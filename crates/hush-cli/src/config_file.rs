//! `hush serve --config hush-server.toml`: every server flag as a key
//! (`listen = "0.0.0.0:8420"`, `max_connections = 5000`,
//! `vaultenv_open_registration = true`; `-` or `_` alike). A flag on the
//! command line or its `HUSH_*` variable wins over the file. Unknown keys
//! are refused with the nearest valid one; secrets are not written in it:
//! the master key only by file (`master_key_file`), and a database URL
//! holding a password only through `HUSH_DATABASE_URL`.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;

/// The file's settings as extra command-line arguments for `serve`: only
/// the flags that neither the command line nor their variable set.
pub fn arguments(
    path: &Path,
    serve: &clap::Command,
    given: &clap::ArgMatches,
) -> Result<Vec<OsString>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        format!(
            "cannot read the configuration file {}: {err}",
            path.display()
        )
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|err| format!("{} is not valid TOML: {err}", path.display()))?;
    let flags: Vec<&clap::Arg> = serve
        .get_arguments()
        .filter(|a| a.get_long().is_some() && !a.is_hide_set() && a.get_id() != "config")
        .collect();
    let mut out = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        refuse_secrets(&long, value)?;
        let Some(arg) = flags.iter().find(|a| a.get_long() == Some(long.as_str())) else {
            let near =
                hush_core::suggest::closest(&long, flags.iter().filter_map(|a| a.get_long()))
                    .map(|n| format!("; did you mean {:?}?", n.replace('-', "_")))
                    .unwrap_or_default();
            return Err(format!(
                "{}: unknown setting {key:?}{near} (the keys are `hush serve` flags)",
                path.display()
            ));
        };
        if matches!(
            given.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        match value {
            toml::Value::Boolean(true) => out.push(OsString::from(format!("--{long}"))),
            toml::Value::Boolean(false) => {}
            toml::Value::String(s) => out.push(OsString::from(format!("--{long}={s}"))),
            toml::Value::Integer(n) => out.push(OsString::from(format!("--{long}={n}"))),
            _ => {
                return Err(format!(
                    "{}: {key:?} must be a string, a number or true/false",
                    path.display()
                ))
            }
        }
    }
    Ok(out)
}

/// Secrets stay out of configuration files, which get copied, committed
/// and printed.
fn refuse_secrets(long: &str, value: &toml::Value) -> Result<(), String> {
    match long {
        "master-key" => Err(
            "the master key is not written in the configuration file: put it in a file (0600) and set master_key_file".to_owned(),
        ),
        "database-url" => match value.as_str() {
            Some(url) if has_password(url) => Err(
                "database_url holds a password: give it through HUSH_DATABASE_URL (or a .pgpass file) instead".to_owned(),
            ),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// `scheme://user:password@host…`.
fn has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_spotted() {
        assert!(has_password("postgres://hush:s3cret@db/hush"));
        assert!(!has_password("postgres://hush@db/hush"));
        assert!(!has_password("postgres://db:5432/hush"));
    }
}
