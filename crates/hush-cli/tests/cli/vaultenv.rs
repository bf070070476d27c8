//! The published vault-env Python client (`vaultdotenv==0.2.0`, its `vde`
//! CLI and `load_vault()`/`watch()`), unmodified, against a hush server on
//! an ephemeral port; device approval through `hush devices`.
//!
//! The client lives in a virtual environment: `$HUSH_VAULTDOTENV_VENV`, else
//! `target/vaultdotenv-venv` (`.ci/run` creates it). Without it the test
//! skips with a loud message, except under `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hush_testkit::{Db, TestDatabase, TestServer};
use serde_json::Value;

pub(crate) fn venv() -> Option<PathBuf> {
    let dir = std::env::var_os("HUSH_VAULTDOTENV_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/vaultdotenv-venv")
        });
    let python = dir.join("bin/python");
    let usable = python.exists()
        && Command::new(&python)
            .args(["-c", "import vaultdotenv"])
            .status()
            .is_ok_and(|s| s.success());
    if usable {
        return Some(dir);
    }
    let message = format!(
        "the vaultdotenv client is not installed in {}: python3 -m venv {0} && {0}/bin/pip install vaultdotenv==0.2.0",
        dir.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("SKIPPING vault-env client tests: {message}");
    None
}

/// One machine: its own HOME (device secrets live in ~/.vault) and
/// project directory (VAULT_KEY in .env, the .vault-cache).
pub(crate) struct Machine {
    venv: PathBuf,
    url: String,
    home: tempfile::TempDir,
}

impl Machine {
    pub(crate) fn new(venv: &Path, url: &str) -> Self {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join("app")).unwrap();
        Self {
            venv: venv.to_owned(),
            url: url.to_owned(),
            home,
        }
    }

    pub(crate) fn app(&self) -> PathBuf {
        self.home.path().join("app")
    }

    /// The same machine (its device secret, its project directory),
    /// talking to a server somewhere else.
    pub(crate) fn moved_to(&mut self, url: &str) {
        url.clone_into(&mut self.url);
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(self.venv.join("bin").join(program));
        cmd.current_dir(self.app())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("VAULT_URL", &self.url);
        cmd
    }

    fn vde(&self, args: &[&str]) -> Output {
        self.command("vde").args(args).output().unwrap()
    }

    pub(crate) fn vde_ok(&self, args: &[&str]) -> String {
        let out = self.vde(args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && !text.starts_with("Error"),
            "vde {args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    fn python(&self, script: &str) -> Output {
        self.command("python")
            .args(["-c", script])
            .env("ENVIRONMENT", "production")
            .output()
            .unwrap()
    }
}

fn hush(url: &str, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hush"))
        .args(args)
        .env("HUSH_URL", url)
        .env("HUSH_TOKEN", token)
        .env(
            "HUSH_CONFIG_DIR",
            std::env::temp_dir().join("hush-vaultenv-test-config"),
        )
        .env_remove("HUSH_PROJECT")
        .env_remove("HUSH_ENV")
        .output()
        .unwrap()
}

const SECRETS: &[(&str, &str)] = &[
    ("API_KEY", "s3cr3t # not a comment"),
    ("DATABASE_URL", "postgres://u:p@db:5432/app?sslmode=require"),
    ("EQUALS", "a=b=c"),
    ("UNICODE", "ünïcødé 🎉 日本語"),
];

const LOAD: &str = "import json, os\nfrom vaultdotenv import load_vault\n\
    load_vault()\n\
    print(json.dumps({k: os.environ.get(k) for k in ['API_KEY', 'DATABASE_URL', 'EQUALS', 'UNICODE', 'WATCHED']}))";

/// Loads, watches, and prints the first change it sees (exit 3 if none
/// within a minute).
const WATCH: &str = "\
import json, sys, threading, vaultdotenv
vaultdotenv.load_vault()
done = threading.Event()
seen = {}
def changed(diff, everything):
    seen.update(diff)
    done.set()
vaultdotenv.watch(interval=0.3, on_change=changed)
print('watching', flush=True)
if not done.wait(60):
    sys.exit(3)
print(json.dumps(seen), flush=True)
";

fn loaded(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn real_client_end_to_end(db: Db) {
    let Some(venv) = venv() else { return };
    let Some(database) = TestDatabase::create(db).await else {
        return;
    };
    // Open registration, so the client's own `init` may create a project.
    let server = TestServer::start_with(&database.url, [4u8; 32], |c| {
        c.vaultenv_open_registration = true
    })
    .await;
    let (url, admin) = (server.url.clone(), server.admin().to_owned());

    // Device A: init writes VAULT_KEY to .env and is the approved owner.
    let a = Machine::new(&venv, &url);
    let init = a.vde_ok(&["init", "--name", "my-app"]);
    assert!(init.contains("Device registered: approved"), "{init}");
    let mut env_file = std::fs::read_to_string(a.app().join(".env")).unwrap();
    assert!(env_file.starts_with("VAULT_KEY=vk_"));
    for (k, v) in SECRETS {
        env_file.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(a.app().join(".env"), &env_file).unwrap();
    let pushed = a.vde_ok(&["push", "--env", "production"]);
    assert!(
        pushed.contains("Pushed 4 secrets to production (v1)"),
        "{pushed}"
    );

    // Pulled back byte for byte, and injected by load_vault().
    a.vde_ok(&["pull", "--env", "production", "--output", "pulled.env"]);
    let expected: String = SECRETS.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert_eq!(
        std::fs::read_to_string(a.app().join("pulled.env")).unwrap(),
        expected
    );
    std::fs::write(
        a.app().join(".env"),
        env_file.lines().next().unwrap().to_owned() + "\n",
    )
    .unwrap();
    let env = loaded(&a.python(LOAD));
    for (k, v) in SECRETS {
        assert_eq!(env[k], *v, "{k}");
    }
    assert!(a.app().join(".vault-cache").exists());

    // A hush project like any other: listed, versioned, audited.
    let projects = hush(&url, &admin, &["projects", "--output", "json"]);
    let projects: Value = serde_json::from_slice(&projects.stdout).unwrap();
    assert!(projects
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["slug"] == "vaultenv-my-app" && p["encryption_mode"] == "client"));
    let versions = hush(
        &url,
        &admin,
        &[
            "versions",
            "--project",
            "vaultenv-my-app",
            "--env",
            "production",
            "--output",
            "json",
        ],
    );
    let versions: Value = serde_json::from_slice(&versions.stdout).unwrap();
    assert_eq!(
        versions[0]["changed_keys"],
        serde_json::json!(["API_KEY", "DATABASE_URL", "EQUALS", "UNICODE"])
    );

    // Device B registers: pending, so its pull is refused as pending.
    let b = Machine::new(&venv, &url);
    let key_line = std::fs::read_to_string(a.app().join(".env")).unwrap();
    std::fs::write(b.app().join(".env"), &key_line).unwrap();
    let reg = b.vde_ok(&["register-device", "--name", "laptop-b"]);
    assert!(reg.contains("pending approval"), "{reg}");
    let refused = b.vde(&["pull", "--env", "production"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not yet approved"));

    // Approved with hush's own command; now the server hands it the blob.
    // The blob was encrypted with device A's secret, so B cannot decrypt
    // it (the seed's troubleshooting: re-push with the new device); B
    // pushes its own and pulls it back.
    let listed = hush(
        &url,
        &admin,
        &[
            "devices",
            "--project",
            "vaultenv-my-app",
            "--output",
            "json",
        ],
    );
    let devices: Value = serde_json::from_slice(&listed.stdout).unwrap();
    let pending = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["status"] == "pending")
        .unwrap();
    let id = pending["id"].as_str().unwrap();
    let approved = hush(
        &url,
        &admin,
        &["devices", "approve", id, "--project", "vaultenv-my-app"],
    );
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    let undecryptable = b.vde(&["pull", "--env", "production"]);
    let err = String::from_utf8_lossy(&undecryptable.stderr);
    assert!(
        err.contains("InvalidTag") && !err.contains("approved"),
        "accepted by the server, not decryptable: {err}"
    );
    std::fs::write(b.app().join(".env"), format!("{key_line}FROM_B=hello\n")).unwrap();
    b.vde_ok(&["push", "--env", "production"]);
    b.vde_ok(&["pull", "--env", "production", "--output", "b.env"]);
    assert_eq!(
        std::fs::read_to_string(b.app().join("b.env")).unwrap(),
        "FROM_B=hello\n"
    );

    // Revoked: refused.
    let revoked = hush(
        &url,
        &admin,
        &["devices", "revoke", id, "--project", "vaultenv-my-app"],
    );
    assert!(revoked.status.success());
    let refused = b.vde(&["pull", "--env", "production"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Device not registered"));

    // The revoked laptop cannot approve itself with the vault key, nor
    // list or revoke the others: devices are managed in hush.
    for args in [
        vec!["approve-device", "--id", id],
        vec!["list-devices"],
        vec!["revoke-device", "--id", id],
    ] {
        let out = b.vde(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && text.contains("devices_managed_in_hush"),
            "vde {args:?}: {text}"
        );
    }
    let listed = hush(
        &url,
        &admin,
        &[
            "devices",
            "--project",
            "vaultenv-my-app",
            "--output",
            "json",
        ],
    );
    let devices: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert!(devices
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == id && d["status"] == "revoked"));

    // History and rollback need an approved device, which the published
    // client does not send with them: refused; hush's own commands do it.
    // v3 = v1 again, which device A can read.
    for args in [
        vec!["versions", "--env", "production"],
        vec!["rollback", "--version", "1", "--env", "production"],
    ] {
        let out = a.vde(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !out.status.success() && text.contains("device_forbidden"),
            "vde {args:?}: {text}"
        );
    }
    let in_production = ["--project", "vaultenv-my-app", "--env", "production"];
    // hush's own commands say what they know and who manages the values
    // (and never send a plaintext value to a project of blobs).
    let plain_env = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(plain_env.path(), "NEVER_SENT=plaintext\n").unwrap();
    let plain_file = plain_env.path().to_str().unwrap();
    let listed = hush(&url, &admin, &[&["list"][..], &in_production].concat());
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("managed by its own client")
            && listed.contains("FROM_B")
            && listed.contains("device \"laptop-b\""),
        "{listed}"
    );
    for (args, says) in [
        (vec!["set", "X=1"], "managed by its own client"),
        (vec!["get", "API_KEY"], "managed by its own client"),
        (
            vec!["get", "API_KEY", "--plain"],
            "managed by its own client",
        ),
        (
            vec!["push", plain_file, "--yes"],
            "managed by its own client",
        ),
        (vec!["pull"], "vde pull"),
    ] {
        let out = hush(&url, &admin, &[&args[..], &in_production].concat());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success() && stderr.contains(says),
            "{args:?}: {stderr}"
        );
    }
    let history = hush(&url, &admin, &[&["versions"][..], &in_production].concat());
    let history = String::from_utf8_lossy(&history.stdout).into_owned();
    assert!(history.contains('1') && history.contains('2'), "{history}");
    let rolled = hush(
        &url,
        &admin,
        &[&["rollback", "1"][..], &in_production].concat(),
    );
    let rolled_text = String::from_utf8_lossy(&rolled.stdout).into_owned();
    assert!(
        rolled.status.success() && rolled_text.contains("as version 3"),
        "{rolled_text}{}",
        String::from_utf8_lossy(&rolled.stderr)
    );
    a.vde_ok(&["pull", "--env", "production", "--output", "after.env"]);
    assert_eq!(
        std::fs::read_to_string(a.app().join("after.env")).unwrap(),
        expected
    );

    // watch() sees a change pushed by another process.
    let mut watcher = a
        .command("python")
        .args(["-u", "-c", WATCH])
        .env("ENVIRONMENT", "production")
        // watch() reads VAULT_KEY from the environment only.
        .env(
            "VAULT_KEY",
            key_line.trim().trim_start_matches("VAULT_KEY="),
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watcher.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "watching");
    a.vde_ok(&["set", "WATCHED", "yes", "--env", "production"]);
    let seen: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(seen, serde_json::json!({"WATCHED": "yes"}));
    assert!(watcher.wait().unwrap().success());

    // The VAULT_KEY leaked: a project admin rotates it in hush. The old
    // key is refused at once; device A re-pushes with the new one.
    let rotated = hush(
        &url,
        &admin,
        &[
            "devices",
            "rotate-key",
            "--project",
            "vaultenv-my-app",
            "--output",
            "json",
        ],
    );
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    let new_key: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    let new_key = new_key["vault_key"].as_str().unwrap().to_owned();
    assert!(new_key.starts_with(
        key_line
            .trim()
            .get(..46)
            .unwrap()
            .trim_start_matches("VAULT_KEY=")
    ));
    let refused = a.vde(&["pull", "--env", "production"]);
    assert!(!refused.status.success(), "the old key no longer signs");
    let mut fresh = format!("VAULT_KEY={new_key}\n");
    for (k, v) in SECRETS {
        fresh.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(a.app().join(".env"), format!("{fresh}WATCHED=yes\n")).unwrap();
    a.vde_ok(&["push", "--env", "production"]);
    std::fs::write(a.app().join(".env"), format!("VAULT_KEY={new_key}\n")).unwrap();
    let env = loaded(&a.python(LOAD));
    assert_eq!(env["API_KEY"], "s3cr3t # not a comment");

    // Everything is in the audit log, with IP and user agent.
    let audit = hush(
        &url,
        &admin,
        &["audit", "--limit", "200", "--output", "json"],
    );
    let audit: Value = serde_json::from_slice(&audit.stdout).unwrap();
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "vaultenv.push",
        "vaultenv.pull",
        "vaultenv.rollback",
        "version.restore",
        "vaultenv.key.rotate",
        "vaultenv.device.approve",
        "vaultenv.device.register",
        "device.approve",
        "device.revoke",
    ] {
        assert!(
            actions.contains(&action),
            "{action} missing from {actions:?}"
        );
    }
    assert!(audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["user_agent"].as_str().unwrap().contains("python-httpx")));

    // Offline: load_vault() falls back to the encrypted .vault-cache of
    // its last successful pull.
    assert_eq!(loaded(&a.python(LOAD))["WATCHED"], "yes");
    server.stop().await;
    let out = a.python(LOAD);
    assert!(String::from_utf8_lossy(&out.stderr).contains("using cached secrets"));
    let env = loaded(&out);
    assert_eq!(env["API_KEY"], "s3cr3t # not a comment");
    assert_eq!(env["WATCHED"], "yes");
    database.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaultdotenv_client_on_sqlite() {
    real_client_end_to_end(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vaultdotenv_client_on_postgres() {
    real_client_end_to_end(Db::Postgres).await;
}
