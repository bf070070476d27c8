//! The Node and Python client libraries (`clients/`), each driven by its
//! own test suite against a real `hush serve` it starts with this build's
//! binary. Missing runtimes skip loudly, except under `CI=true`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn missing(what: &str) {
    let message = format!("{what} is needed for the client library tests");
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("SKIPPING: {message}");
}

/// Runs a suite; fails with its output.
fn suite(mut cmd: Command, name: &str) {
    let out = cmd
        .env("HUSH_BIN", env!("CARGO_BIN_EXE_hush"))
        .env("CI", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the {name} client suite failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn python_client_suite() {
    let python = repo().join("target/pyclient-venv/bin/python");
    let usable = python.exists()
        && Command::new(&python)
            .args(["-c", "import cryptography, pytest"])
            .status()
            .is_ok_and(|s| s.success());
    if !usable {
        return missing(
            "target/pyclient-venv with cryptography and pytest (python3 -m venv target/pyclient-venv && target/pyclient-venv/bin/pip install cryptography pytest)",
        );
    }
    let dir = repo().join("clients/python");
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(&dir)
        .env("PYTHONPATH", &dir)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    suite(cmd, "Python");
}

#[test]
fn node_client_suite() {
    let node_ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.starts_with(b"v16"));
    if !node_ok {
        return missing("Node 18 or newer");
    }
    let mut cmd = Command::new("node");
    cmd.args(["--test", "test/"])
        .current_dir(repo().join("clients/node"));
    suite(cmd, "Node");
}

/// The client packages carry the server's version.
#[test]
fn client_versions_follow_the_server() {
    let server = env!("CARGO_PKG_VERSION");
    let read = |path: &str| std::fs::read_to_string(repo().join(path)).unwrap();
    for (file, needle) in [
        (
            "clients/node/package.json",
            format!("\"version\": \"{server}\""),
        ),
        (
            "clients/node/index.cjs",
            format!("const VERSION = '{server}';"),
        ),
        (
            "clients/python/pyproject.toml",
            format!("version = \"{server}\""),
        ),
        (
            "clients/python/hush_secrets/__init__.py",
            format!("__version__ = \"{server}\""),
        ),
    ] {
        assert!(read(file).contains(&needle), "{file} does not say {needle}");
    }
}
