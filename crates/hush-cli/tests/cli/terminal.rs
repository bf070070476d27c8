//! Prompts as a person meets them: `hush` on a real pseudo-terminal
//! (driven by at_terminal.py with the system's python3), keys typed in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;

/// Runs `hush ARGS` on a pseudo-terminal, types `keys` once `prompt`
/// shows; `None` (after a loud message) where python3 is missing, except
/// under `CI=true`.
pub(crate) fn on_terminal(
    prompt: &str,
    keys: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Option<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cli/at_terminal.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(prompt)
        .arg(keys)
        .arg(env!("CARGO_BIN_EXE_hush"))
        .args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("HUSH_") {
            cmd.env_remove(name);
        }
    }
    cmd.envs(envs.iter().copied());
    let out = match cmd.output() {
        Ok(out) => out,
        Err(err) => {
            let message = format!("python3 is needed to drive a pseudo-terminal: {err}");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{message}");
            }
            eprintln!("SKIPPING a terminal test: {message}");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "at_terminal.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// Ctrl-C at a password prompt cancels (exit 8) and leaves the terminal
/// as it was: echo and signal keys on, not a blind shell.
#[test]
fn ctrl_c_at_a_password_prompt_gives_the_terminal_back() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    let Some(result) = on_terminal(
        "Password: ",
        "half a pass\\x03",
        &[
            "login",
            "--url",
            "http://127.0.0.1:9",
            "--email",
            "ada@example.com",
        ],
        &[("HUSH_CONFIG_DIR", config.to_str().unwrap())],
    ) else {
        return;
    };
    assert_eq!(result["prompted"], true, "{result}");
    assert_eq!(result["code"], 8, "{result}");
    assert_eq!(result["echo"], true, "{result}");
    assert_eq!(result["isig"], true, "{result}");
    assert!(
        !result["shown"].as_str().unwrap().contains("half a pass"),
        "typed characters are never echoed: {result}"
    );
}
