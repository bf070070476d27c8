//! The client commands: the real `hush` binary (assert_cmd) against a real
//! server on an ephemeral port, each test with its own HOME, config and
//! cache directories and working directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;
use hush_core::dotenv;
use hush_testkit::{on_both_backends, Db, TestDatabase, TestEnv, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

/// Values that break naive .env handling.
const TRICKY_ENV: &str = "# tricky values\n\
export DATABASE_URL=postgres://u:p@db:5432/app?sslmode=require\n\
API_KEY=\"s3cr3t # not a comment\"\n\
QUOTES=\"he said \\\"hi\\\" and it's fine\"\n\
MULTILINE=\"line one\nline two\\nline three\"\n\
UNICODE=ünïcødé 🎉 日本語\n\
DOLLAR='$HOME stays literal'\n\
EMPTY=\n\
BACKSLASH=\"C:\\\\path\\\\to\"\n\
EQUALS=a=b=c\n";

/// One user's machine: HOME, config, cache and a project directory.
struct Machine {
    url: String,
    home: tempfile::TempDir,
    work: std::path::PathBuf,
}

impl Machine {
    fn new(url: &str) -> Self {
        let home = tempfile::tempdir().unwrap();
        let work = home.path().join("app");
        std::fs::create_dir(&work).unwrap();
        Self {
            url: url.to_owned(),
            home,
            work,
        }
    }

    /// `hush ARGS…` in the project directory, with nothing inherited.
    fn hush(&self, args: &[&str]) -> Command {
        Command::from_std(self.process(args))
    }

    fn process(&self, args: &[&str]) -> StdCommand {
        let mut cmd = StdCommand::new(env!("CARGO_BIN_EXE_hush"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HUSH_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("HOME", self.home.path())
            .env("HUSH_CONFIG_DIR", self.home.path().join("config"))
            .env("HUSH_CACHE_DIR", self.home.path().join("cache"))
            .env("HUSH_URL", &self.url)
            .current_dir(&self.work)
            .args(args);
        cmd
    }

    fn stdout(&self, args: &[&str]) -> String {
        let out = self.hush(args).assert().success().get_output().clone();
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        serde_json::from_str(&self.stdout(&all)).unwrap()
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        let out = self.hush(args).assert().code(code).get_output().clone();
        String::from_utf8(out.stderr).unwrap()
    }
}

async fn create_user(server: &TestServer, email: &str, password: &str) {
    let res = server
        .request(Method::POST, "/v1/orgs/default/users", server.admin())
        .json(&json!({ "email": email, "password": password, "role": "admin" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

/// Logs in with a password and links the directory to web/development.
async fn logged_in_machine(server: &TestServer) -> Machine {
    create_user(server, "ada@example.com", "correct horse battery").await;
    let m = Machine::new(&server.url);
    m.hush(&["login", "--email", "ada@example.com", "--password-stdin"])
        .write_stdin("correct horse battery\n")
        .assert()
        .success();
    let config = m.home.path().join("config").join("config.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the login file is private");
    }
    m.hush(&[
        "init",
        "--project",
        "web",
        "--env",
        "development",
        "--create",
    ])
    .assert()
    .success();
    let toml = std::fs::read_to_string(m.work.join("hush.toml")).unwrap();
    assert!(
        toml.contains("project = \"web\"") && !toml.contains("hush_"),
        "{toml}"
    );
    m
}

fn parse_yaml_lines(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(|line| {
            let (k, v) = line.split_once("\": \"").unwrap();
            let key: String = serde_json::from_str(&format!("{k}\"")).unwrap();
            let value: String = serde_json::from_str(&format!("\"{v}")).unwrap();
            (key, value)
        })
        .collect()
}

fn expected() -> BTreeMap<String, String> {
    dotenv::parse(TRICKY_ENV)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.expose().to_owned()))
        .collect()
}

/// Reads each variable back through a real POSIX shell.
fn through_shell(script: &Path, names: &[&String]) -> BTreeMap<String, String> {
    names
        .iter()
        .map(|name| {
            let out = StdCommand::new("sh")
                .arg("-c")
                .arg(format!(". '{}'; printf '%s' \"${name}\"", script.display()))
                .env_clear()
                .output()
                .unwrap();
            ((*name).clone(), String::from_utf8(out.stdout).unwrap())
        })
        .collect()
}

async fn push_pull_run_rollback(env: &TestEnv) {
    let m = logged_in_machine(&env.server).await;
    let who = m.json(&["whoami"]);
    assert_eq!(who["user"]["email"], "ada@example.com");

    std::fs::write(m.work.join(".env"), TRICKY_ENV).unwrap();
    // No terminal to confirm on: refused, nothing stored.
    let err = m.fails(&["push"], 8);
    assert!(err.contains("+ API_KEY") && err.contains("--yes"), "{err}");
    assert!(!err.contains("s3cr3t"), "values are never shown: {err}");
    assert_eq!(m.json(&["list"])["secrets"], json!([]));
    m.hush(&["push", "--yes"]).assert().success();
    let again = m.stdout(&["push", "--yes"]);
    assert!(again.contains("already up to date"), "{again}");

    // Pulled back exactly, in every format.
    let want = expected();
    let pulled = m.stdout(&["pull"]);
    assert_eq!(
        pulled,
        dotenv::serialize(&dotenv::parse(TRICKY_ENV).unwrap())
    );
    let canonical = m.work.join("canonical.env");
    std::fs::write(&canonical, &pulled).unwrap();
    m.hush(&["push", "canonical.env", "--yes"])
        .assert()
        .success();
    assert_eq!(
        m.stdout(&["pull"]),
        pulled,
        "a pulled file pushes back unchanged, byte for byte"
    );
    let json_out: BTreeMap<String, String> =
        serde_json::from_str(&m.stdout(&["pull", "--format", "json"])).unwrap();
    assert_eq!(json_out, want);
    assert_eq!(
        parse_yaml_lines(&m.stdout(&["pull", "--format", "yaml"])),
        want
    );
    m.hush(&["pull", "out.sh", "--format", "shell"])
        .assert()
        .success();
    let names: Vec<&String> = want.keys().collect();
    assert_eq!(through_shell(&m.work.join("out.sh"), &names), want);

    // A child sees the secrets; variables already set win unless --override.
    let out = m
        .hush(&[
            "run",
            "--",
            "sh",
            "-c",
            "printf '%s|%s|%s' \"$MULTILINE\" \"$UNICODE\" \"$API_KEY\"",
        ])
        .env("API_KEY", "from-my-shell")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{}|{}|from-my-shell", want["MULTILINE"], want["UNICODE"])
    );
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("kept 1 variable already set"));
    let out = m
        .hush(&["run", "--override", "--", "printenv", "API_KEY"])
        .env("API_KEY", "from-my-shell")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "s3cr3t # not a comment\n"
    );
    m.hush(&["run", "--", "sh", "-c", "exit 42"])
        .assert()
        .code(42);
    m.hush(&["run", "--", "no-such-program-anywhere"])
        .assert()
        .code(127);

    // Set, history, rollback.
    m.hush(&["set", "FEATURE=on", "LEVEL=debug"])
        .assert()
        .success();
    m.hush(&["set", "PIPED", "--stdin"])
        .write_stdin("from stdin\n")
        .assert()
        .success();
    assert_eq!(m.stdout(&["get", "PIPED", "--plain"]), "from stdin\n");
    let masked = m.stdout(&["get", "FEATURE"]);
    assert!(
        masked.contains("********") && !masked.contains(" on"),
        "{masked}"
    );
    let versions = m.json(&["versions"]);
    let latest = versions[0]["version"].as_i64().unwrap();
    // push, set, set (the second push changed nothing: no version)
    assert_eq!(versions.as_array().unwrap().len(), 3);
    let diff = m.stdout(&["diff", "1", &latest.to_string()]);
    assert!(
        diff.contains("+ FEATURE") && diff.contains("+ PIPED"),
        "{diff}"
    );
    m.hush(&["rollback", "1"]).assert().success();
    m.fails(&["get", "FEATURE"], 5);
    assert_eq!(m.json(&["versions"]).as_array().unwrap().len(), 4);
    assert_eq!(
        m.json(&["pull", "--format", "json"])["API_KEY"],
        "s3cr3t # not a comment"
    );

    // Version states: a soft-deleted head reads empty until undeleted; a
    // destroyed version is marked, and destroying asks first.
    m.hush(&["versions", "soft-delete", "4"]).assert().success();
    assert_eq!(m.json(&["pull", "--format", "json"]), json!({}));
    assert!(m.stdout(&["versions"]).contains("(deleted)"));
    m.hush(&["versions", "undelete", "4"]).assert().success();
    assert_eq!(
        m.json(&["pull", "--format", "json"])["API_KEY"],
        "s3cr3t # not a comment"
    );
    m.fails(&["versions", "destroy", "1"], 8);
    m.hush(&["versions", "destroy", "1", "--yes"])
        .assert()
        .success();
    let listed = m.json(&["versions"]);
    let first = listed.as_array().unwrap().last().unwrap();
    assert_eq!(
        (first["version"].clone(), first["destroyed"].clone()),
        (json!(1), json!(true))
    );
    assert_eq!(
        m.json(&["pull", "--format", "json"])
            .as_object()
            .unwrap()
            .len(),
        want.len()
    );

    // Copy into a new environment.
    m.hush(&["envs", "create", "staging"]).assert().success();
    m.hush(&["copy", "--from", "development", "--to", "staging"])
        .assert()
        .success();
    let staging = m.json(&["list", "--env", "staging"]);
    assert_eq!(staging["secrets"].as_array().unwrap().len(), want.len());

    // The audit log saw it, without values.
    let audit = m.stdout(&["audit", "--limit", "50"]);
    assert!(
        audit.contains("secret.write") && !audit.contains("s3cr3t"),
        "{audit}"
    );
}

/// `hush org-secrets` manages the store Hooklistener and InsForge serve;
/// `hush run --org-secrets` injects the active ones under the project's.
async fn organization_secrets_from_the_cli(env: &TestEnv) {
    let m = logged_in_machine(&env.server).await;
    m.hush(&[
        "org-secrets",
        "set",
        "STRIPE_WEBHOOK_SECRET=whsec_1",
        "--reserved",
    ])
    .assert()
    .success();
    m.hush(&["org-secrets", "set", "API_KEY=from_org"])
        .assert()
        .success();
    let err = m.fails(&["org-secrets", "set", "lower=1"], 1);
    assert!(err.contains("^[A-Z][A-Z0-9_]*$"), "{err}");
    assert_eq!(m.stdout(&["org-secrets", "get", "API_KEY"]), "from_org\n");
    m.hush(&["set", "API_KEY=from_project"]).assert().success();
    let run = |line: &str| m.stdout(&["run", "--org-secrets", "--", "sh", "-c", line]);
    assert_eq!(
        run("echo $API_KEY $STRIPE_WEBHOOK_SECRET"),
        "from_project whsec_1\n",
        "the project's names win"
    );
    // Deactivating keeps it reserved; an inactive one is not injected.
    m.hush(&["org-secrets", "deactivate", "STRIPE_WEBHOOK_SECRET"])
        .assert()
        .success();
    let listed = m.json(&["org-secrets", "list"]);
    let stripe = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "STRIPE_WEBHOOK_SECRET")
        .cloned()
        .unwrap();
    assert_eq!(
        (stripe["is_active"].clone(), stripe["is_reserved"].clone()),
        (json!(false), json!(true))
    );
    assert!(
        !stripe.to_string().contains("whsec_1"),
        "lists carry no value"
    );
    assert_eq!(run("echo ${STRIPE_WEBHOOK_SECRET:-absent}"), "absent\n");
    let err = m.fails(&["org-secrets", "delete", "STRIPE_WEBHOOK_SECRET"], 4);
    assert!(err.contains("reserved"), "{err}");
    let jwt = m.stdout(&["org-secrets", "jwt", "--expires-in", "120"]);
    assert!(jwt.starts_with("eyJ"), "{jwt}");
    let key = m.stdout(&["tokens", "create", "hooks", "--hooklistener"]);
    assert!(key.starts_with("hklst_"), "{key}");
}

async fn tokens_and_errors(env: &TestEnv) {
    let m = logged_in_machine(&env.server).await;
    m.hush(&["set", "API_KEY=pulled-by-ci"]).assert().success();
    let token = m.stdout(&["tokens", "create", "ci", "--pull", "--expires", "30d"]);
    let token = token.trim();
    assert!(token.starts_with("hsk_"), "{token}");
    let late = m.fails(
        &[
            "tokens",
            "create",
            "late",
            "--pull",
            "--expires",
            "2001-01-01",
        ],
        1,
    );
    assert!(late.contains("in the past"), "{late}");

    // A server with only the pull token: no login, no hush.toml.
    let ci = Machine::new(&env.server.url);
    let out = ci
        .hush(&["run", "--", "printenv", "API_KEY"])
        .env("HUSH_TOKEN", token)
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "pulled-by-ci\n");
    // The app never sees hush's own settings: not the token that reads
    // every secret, not the E2EE passphrase.
    let out = ci
        .hush(&["run", "--", "env"])
        .env("HUSH_TOKEN", token)
        .env("HUSH_KEY", "e2ee passphrase")
        .env("HUSH_ENV", "development")
        .assert()
        .success()
        .get_output()
        .clone();
    let seen = String::from_utf8(out.stdout).unwrap();
    assert!(seen.contains("API_KEY=pulled-by-ci"), "{seen}");
    assert!(!seen.contains("HUSH_"), "{seen}");
    // Writes that change nothing make no version: the same value again, a
    // copy repeated.
    let count = |m: &Machine| m.json(&["versions", "--all"]).as_array().unwrap().len();
    let before = count(&m);
    m.hush(&["set", "API_KEY=pulled-by-ci"]).assert().success();
    assert_eq!(count(&m), before, "setting the same value made a version");
    m.hush(&["envs", "create", "qa"]).assert().success();
    m.hush(&["copy", "--from", "development", "--to", "qa"])
        .assert()
        .success();
    m.hush(&["copy", "--from", "development", "--to", "qa"])
        .assert()
        .success();
    let qa = m.json(&["versions", "--all", "--env", "qa"]);
    assert_eq!(
        qa.as_array().unwrap().len(),
        1,
        "a repeated copy made a version: {qa}"
    );
    // A typo in a secret's name is a not-found that names the near miss.
    let typo = m.fails(&["get", "API_KY", "--plain"], 5);
    assert!(typo.contains("did you mean \"API_KEY\""), "{typo}");
    // …and in a subcommand, clap's own suggestion.
    let typo = m.fails(&["pul"], 2);
    assert!(typo.contains("pull"), "{typo}");
    // A typo in `hush init` creates nothing and names the near miss.
    let typo = m.fails(
        &[
            "init",
            "--project",
            "wbe",
            "--env",
            "development",
            "--force",
        ],
        3,
    );
    assert!(
        typo.contains("did you mean \"web\"") && typo.contains("--create"),
        "{typo}"
    );
    let typo = m.fails(
        &["init", "--project", "web", "--env", "developmnt", "--force"],
        3,
    );
    assert!(typo.contains("did you mean \"development\""), "{typo}");
    let projects = m.json(&["projects"]);
    assert_eq!(projects.as_array().map(Vec::len), Some(1), "{projects}");
    // An environment or project that disagrees with the token's is
    // refused, never silently replaced by the token's own.
    for (var, value, says) in [
        ("HUSH_ENV", "staging", "reads env \"development\""),
        ("HUSH_PROJECT", "billing", "reads project \"web\""),
    ] {
        let err = ci
            .hush(&["run", "--", "printenv", "API_KEY"])
            .env("HUSH_TOKEN", token)
            .env(var, value)
            .assert()
            .code(3)
            .get_output()
            .clone();
        assert!(err.stdout.is_empty(), "the app must not run");
        let stderr = String::from_utf8(err.stderr).unwrap();
        assert!(stderr.contains(says) && stderr.contains(value), "{stderr}");
    }
    // …which can do nothing else.
    let err = ci
        .hush(&["projects"])
        .env("HUSH_TOKEN", token)
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert!(String::from_utf8(err.stderr)
        .unwrap()
        .contains("pull_token"));

    // The list says when each token was last used (the ci token just was).
    let mut used = Value::Null;
    for _ in 0..50 {
        let tokens = m.json(&["tokens"]);
        used = tokens
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "ci")
            .unwrap()["last_used_at"]
            .clone();
        if used.is_string() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(used.is_string(), "last use not recorded: {used}");
    assert!(m.stdout(&["tokens"]).contains("LAST USED"));
    // Revoked by name, when one active token has it.
    let revoked = m.stdout(&["tokens", "revoke", "ci"]);
    assert!(revoked.contains("Revoked token \"ci\""), "{revoked}");
    let missing = m.fails(&["tokens", "revoke", "sesion"], 5);
    assert!(missing.contains("did you mean"), "{missing}");
    let err = ci
        .hush(&["run", "--", "true"])
        .env("HUSH_TOKEN", token)
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert!(String::from_utf8(err.stderr).unwrap().contains("revoked"));

    // Errors that read like advice, with distinct exit codes.
    let nowhere = Machine::new(&env.server.url);
    let err = nowhere.fails(&["list"], 3);
    assert!(err.contains("run `hush login`"), "{err}");
    let err = m.fails(&["list", "--project", "nope"], 5);
    assert!(err.contains("project not found"), "{err}");
    let err = nowhere
        .hush(&["list", "--project", "web", "--env", "development"])
        .env("HUSH_TOKEN", "hush_bogus")
        .assert()
        .code(4)
        .get_output()
        .clone();
    assert!(String::from_utf8(err.stderr)
        .unwrap()
        .contains("HUSH_TOKEN was refused"));
    let lonely = Machine::new(&env.server.url);
    let err = lonely
        .hush(&["list"])
        .env("HUSH_TOKEN", "hush_x")
        .assert()
        .code(3)
        .get_output()
        .clone();
    assert!(String::from_utf8(err.stderr)
        .unwrap()
        .contains("no project configured here — run `hush init` or pass --project"));
    let err = m
        .hush(&["list"])
        .env("HUSH_URL", "http://127.0.0.1:9")
        .env("HUSH_TOKEN", "hush_x")
        .assert()
        .code(6)
        .get_output()
        .clone();
    assert!(String::from_utf8(err.stderr)
        .unwrap()
        .contains("cannot reach"));
    m.hush(&["logout"]).assert().success();
    m.fails(&["list"], 3);
}

/// The newcomer's day: an admin sets up a project from the bootstrap
/// token, adds a teammate as a project viewer, and the teammate, on their
/// own machine, runs the app once the organization lets viewers decrypt.
/// Only the CLI.
async fn a_team_onboards_from_the_cli(env: &TestEnv) {
    let admin = Machine::new(&env.server.url);
    admin
        .hush(&["login", "--token", env.server.admin()])
        .assert()
        .success();
    admin
        .hush(&[
            "init",
            "--project",
            "web",
            "--env",
            "production",
            "--create",
        ])
        .assert()
        .success();
    std::fs::write(admin.work.join(".env"), "API_KEY=for-the-app\n").unwrap();
    admin.hush(&["push", "--yes"]).assert().success();
    admin
        .hush(&["users", "create", "grace@example.com", "--password-stdin"])
        .write_stdin("graces own password\n")
        .assert()
        .success();
    admin
        .hush(&["members", "set", "grace@example.com", "viewer"])
        .assert()
        .success();
    let members = admin.stdout(&["members"]);
    assert!(
        members.contains("grace@example.com") && members.contains("viewer"),
        "{members}"
    );

    let grace = Machine::new(&env.server.url);
    grace
        .hush(&["login", "--email", "grace@example.com", "--password-stdin"])
        .write_stdin("graces own password\n")
        .assert()
        .success();
    // The project and environment exist: nothing to create, nothing asked.
    grace
        .hush(&["init", "--project", "web", "--env", "production"])
        .assert()
        .success();
    let me = grace.stdout(&["whoami"]);
    assert!(me.contains("in project web: viewer"), "{me}");
    let refused = grace.fails(&["run", "--", "printenv", "API_KEY"], 4);
    assert!(refused.contains("secret:decrypt"), "{refused}");
    admin
        .hush(&["orgs", "policy", "--viewers-decrypt", "on"])
        .assert()
        .success();
    let out = grace.stdout(&["run", "--", "printenv", "API_KEY"]);
    assert_eq!(out, "for-the-app\n");
    grace.fails(&["set", "API_KEY=changed"], 4);
    // History and audit name people, and the audit filters by them.
    let versions = admin.stdout(&["versions"]);
    assert!(versions.contains("token \"bootstrap\""), "{versions}");
    let graces = admin.json(&["audit", "--actor", "grace@example.com", "--since", "1h"]);
    let entries = graces["entries"].as_array().unwrap();
    assert!(!entries.is_empty(), "{graces}");
    assert!(
        entries
            .iter()
            .all(|e| e["actor_name"] == "grace@example.com"),
        "{graces}"
    );
    let refused = admin.json(&[
        "audit",
        "--actor",
        "grace@example.com",
        "--action",
        "secret.write",
    ]);
    let refused = refused["entries"].as_array().unwrap();
    assert!(
        !refused.is_empty() && refused.iter().all(|e| e["status"] == 403),
        "{refused:?}"
    );
    let table = admin.stdout(&["audit", "--limit", "3"]);
    assert!(!table.contains("token:"), "{table}");
    // Grace changes her password and stays logged in; the admin's list
    // shows the team.
    grace
        .hush(&["users", "passwd", "--password-stdin"])
        .write_stdin("graces own password\ngraces newer password\n")
        .assert()
        .success();
    assert!(grace.stdout(&["whoami"]).contains("grace@example.com"));
    let users = admin.json(&["users"]);
    assert_eq!(users.as_array().map(Vec::len), Some(1), "{users}");
    // Her role changes, and what she cannot do she is told.
    assert!(admin
        .stdout(&["users", "role", "grace@example.com", "viewer"])
        .contains("grace@example.com is now viewer"));
    assert_eq!(admin.json(&["users"])[0]["role"], "viewer");
    grace.fails(&["users", "role", "grace@example.com", "owner"], 4);
    admin
        .hush(&["users", "remove", "grace@example.com", "--yes"])
        .assert()
        .success();
    grace.fails(&["whoami"], 4);
}

on_both_backends!(
    organization_secrets_from_the_cli,
    push_pull_run_rollback,
    tokens_and_errors,
    a_team_onboards_from_the_cli
);

/// Other ways in: YAML and JSON files, a hidden prompt for one value, and
/// a shell line for `hush run`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_json_prompts_and_command_lines() {
    let db = TestDatabase::create(Db::Sqlite).await.unwrap();
    let server = TestServer::start_on(&db.url, [7u8; 32]).await;
    let m = logged_in_machine(&server).await;
    std::fs::write(
        m.work.join("secrets.yaml"),
        "# from another tool\nDATABASE_URL: postgres://db/app\nCERT: |\n  line one\n  line two\n",
    )
    .unwrap();
    m.hush(&["push", "secrets.yaml", "--yes"])
        .assert()
        .success();
    std::fs::write(m.work.join("more.json"), r#"{"PORT": 8080, "DEBUG": "on"}"#).unwrap();
    m.hush(&["push", "more.json", "--yes"]).assert().success();
    let pulled = m.json(&["pull", "--format", "json"]);
    assert_eq!(pulled["CERT"], "line one\nline two\n", "{pulled}");
    // Reading a value or pushing an unchanged file costs no extra lookup
    // in the audit log: the entry is what the command did.
    let lookups = |m: &Machine| {
        let page = m.json(&["audit", "--action", "project.read", "--limit", "1000"]);
        page["entries"].as_array().unwrap().len()
    };
    let before = lookups(&m);
    assert_eq!(m.stdout(&["get", "PORT", "--plain"]), "8080\n");
    m.hush(&["push", "more.json", "--yes"]).assert().success();
    assert_eq!(lookups(&m), before);
    assert_eq!(pulled["PORT"], "8080", "{pulled}");
    std::fs::write(m.work.join("bad.yaml"), "A:\n  nested: 1\n").unwrap();
    let err = m.fails(&["push", "bad.yaml", "--yes"], 1);
    assert!(
        err.contains("line 2") && !err.contains("nested: 1"),
        "{err}"
    );

    let out = m
        .hush(&["run", "--command", "echo \"$PORT\" && echo \"$DEBUG\""])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "8080\non\n");

    let home = m.home.path();
    let config = home.join("config");
    let cache = home.join("cache");
    if let Some(seen) = super::terminal::on_terminal(
        "Value of STRIPE_KEY",
        "sk_live_typed_not_shown\\r",
        &[
            "set",
            "STRIPE_KEY",
            "--project",
            "web",
            "--env",
            "development",
        ],
        &[
            ("HUSH_URL", &server.url),
            ("HUSH_CONFIG_DIR", config.to_str().unwrap()),
            ("HUSH_CACHE_DIR", cache.to_str().unwrap()),
        ],
    ) {
        assert_eq!(seen["code"], 0, "{seen}");
        assert!(
            !seen["shown"].as_str().unwrap().contains("sk_live_typed"),
            "{seen}"
        );
        assert_eq!(
            m.stdout(&["get", "STRIPE_KEY", "--plain"]),
            "sk_live_typed_not_shown\n"
        );
    }
}

/// Each exit status of the README's table, from a case that earns it; and
/// with `-o json`, the failure as one JSON object on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_exit_code_means_what_the_readme_says() {
    let db = TestDatabase::create(Db::Sqlite).await.unwrap();
    let server = TestServer::start_on(&db.url, [7u8; 32]).await;
    let m = logged_in_machine(&server).await;
    m.hush(&["set", "API_KEY=x"]).assert().success();
    let unlinked = Machine::new(&server.url);
    unlinked
        .hush(&["login", "--token", server.admin()])
        .assert()
        .success();
    std::fs::write(m.work.join("more.env"), "NEW_ONE=1\n").unwrap();
    type Case<'a> = (i32, Vec<&'a str>, Option<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (0, vec!["whoami"], None, ""),
        (
            1,
            vec!["tokens", "create", "x", "--pull", "--expires", "2001-01-01"],
            None,
            "in the past",
        ),
        (2, vec!["pul"], None, "pull"),
        (
            4,
            vec!["whoami"],
            Some(("HUSH_TOKEN", "hush_stale")),
            "HUSH_TOKEN",
        ),
        (5, vec!["get", "NOPE"], None, "not_found"),
        (
            6,
            vec!["list", "--url", "http://127.0.0.1:9", "--token", "hush_x"],
            None,
            "cannot reach",
        ),
        (
            7,
            vec!["envs", "create", "development"],
            None,
            "already_exists",
        ),
        (8, vec!["push", "more.env"], None, "--yes"),
    ];
    for (code, args, env, says) in cases {
        let mut cmd = m.hush(&args);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let out = cmd.assert().code(code).get_output().clone();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(says), "exit {code} for {args:?}: {stderr}");
        if code == 8 {
            assert!(
                !stderr.contains("error"),
                "a refusal to ask is not an error: {stderr}"
            );
        }
    }
    // 3: no project here.
    let err = unlinked.fails(&["list"], 3);
    assert!(err.contains("hush init"), "{err}");
    // -o json: one object on stderr, with the code and the exit status.
    let out = m
        .hush(&["get", "NOPE", "-o", "json"])
        .assert()
        .code(5)
        .get_output()
        .clone();
    let body: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(body["error"]["code"], "not_found", "{body}");
    assert_eq!(body["error"]["exit"], 5, "{body}");
    assert!(out.stdout.is_empty());
}

/// Pull once, stop the server: `hush run` works from the encrypted cache
/// and says so; a tampered cache is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_fallback_uses_the_encrypted_cache() {
    let db = TestDatabase::create(Db::Sqlite).await.unwrap();
    let server = TestServer::start_on(&db.url, [7u8; 32]).await;
    let m = logged_in_machine(&server).await;
    m.hush(&["set", "API_KEY=cached-value"]).assert().success();
    m.hush(&["pull"]).assert().success();
    server.stop().await;

    let out = m
        .hush(&["run", "--", "printenv", "API_KEY"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "cached-value\n");
    let warning = String::from_utf8(out.stderr).unwrap();
    assert!(
        warning.contains("cannot reach") && warning.contains("cached copy"),
        "{warning}"
    );

    let cache_dir = m.home.path().join("cache");
    let files: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let raw = std::fs::read(&files[0]).unwrap();
    assert!(
        !raw.windows(12).any(|w| w == b"cached-value"),
        "the cache is encrypted"
    );
    let mut tampered = raw.clone();
    let at = tampered.len() - 5;
    tampered[at] ^= 0x40;
    std::fs::write(&files[0], &tampered).unwrap();
    let err = m.fails(&["run", "--", "true"], 1);
    assert!(err.contains("failed authentication"), "{err}");

    // No cache at all: a clear network error.
    std::fs::remove_file(&files[0]).unwrap();
    let err = m.fails(&["run", "--", "true"], 6);
    assert!(err.contains("no cached copy"), "{err}");
    assert_eq!(err.matches("cannot reach").count(), 1, "{err}");

    // A server that answers with an error was reached: it says what the
    // server said, never "cannot reach" (and not exit 6).
    let failing = failing_server();
    let out = m
        .hush(&["run", "--", "true"])
        .env("HUSH_URL", &failing)
        .env("HUSH_TOKEN", "hush_not_checked_by_the_failing_server")
        .assert()
        .code(1)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("database_unavailable") && !err.contains("cannot reach"),
        "{err}"
    );
}

/// A server that answers every request with a 503 in hush's error shape.
fn failing_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let body = r#"{"error":{"code":"database_unavailable","message":"the database cannot be reached"}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    url
}

/// `hush run` without --watch execs: a signal to hush's pid reaches the
/// command, and its status comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_passes_signals_and_watch_restarts_on_change() {
    let db = TestDatabase::create(Db::Sqlite).await.unwrap();
    let server = TestServer::start_on(&db.url, [7u8; 32]).await;
    let m = logged_in_machine(&server).await;
    m.hush(&["set", "FLAG=one"]).assert().success();
    let script = "trap 'exit 43' TERM; echo \"flag=$FLAG\"; while :; do sleep 0.05; done";

    let mut child = m
        .process(&["run", "--", "sh", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "flag=one");
    kill(child.id(), "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(43));

    let mut child = m
        .process(&[
            "run",
            "--watch",
            "--interval",
            "1",
            "--",
            "sh",
            "-c",
            script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "flag=one");
    let res = server
        .request(
            Method::PUT,
            "/v1/orgs/default/projects/web/secrets/FLAG?env=development",
            server.admin(),
        )
        .json(&json!({ "value": "two" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "flag=two",
        "restarted with the new value"
    );
    kill(child.id(), "TERM");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(43),
        "SIGTERM forwarded, status passed back"
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("secrets changed (FLAG)"), "{stderr}");
    server.stop().await;
    // The restart refreshed the last-good copy: an outage now serves the
    // new value, not the one from before the change.
    let out = m
        .hush(&["run", "--", "printenv", "FLAG"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "two\n");
}

fn kill(pid: u32, signal: &str) {
    let status = StdCommand::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
