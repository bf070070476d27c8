//! An end-to-end-encrypted project driven with the real binaries: `hush
//! serve` (logging at trace) and the `hush` client. Afterwards neither the
//! database files nor the server's log contain a value, a passphrase or a
//! recovery key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

use super::serve;

const PASS: &str = "correct horse battery staple";
const NEW_PASS: &str = "a different passphrase entirely";
const VALUES: &[(&str, &str)] = &[
    ("API_KEY", "sk_live_E2EE_unique_4471"),
    ("DATABASE_URL", "postgres://e2ee_user:pw_Zq81@db/app"),
    ("MULTI", "line one E2EE\nline two E2EE"),
];

struct Client<'a> {
    url: &'a str,
    token: &'a str,
    home: &'a Path,
}

impl Client<'_> {
    fn run(&self, args: &[&str], key: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hush"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HUSH_") {
                cmd.env_remove(name);
            }
        }
        cmd.args(args)
            .current_dir(self.home.join("app"))
            .env("HOME", self.home)
            .env("HUSH_URL", self.url)
            .env("HUSH_TOKEN", self.token)
            .env("HUSH_CONFIG_DIR", self.home.join("config"))
            .env("HUSH_CACHE_DIR", self.home.join("cache"));
        if let Some(key) = key {
            cmd.env("HUSH_KEY", key);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn ok(&self, args: &[&str], key: Option<&str>) -> Output {
        let out = self.run(args, key, &[]);
        assert!(
            out.status.success(),
            "hush {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn pulled(&self, key: &str) -> Value {
        let out = self.ok(&["pull", "--format", "json"], Some(key));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn recovery_key(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.split_whitespace()
        .find(|w| w.len() == 71 && w.matches('-').count() == 7)
        .unwrap_or_else(|| panic!("no recovery key in: {text}"))
        .to_owned()
}

#[test]
fn e2ee_session_leaves_no_plaintext_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = serve::start(&data, "trace");
    let admin = server.first_token();
    let url = format!("http://{}", server.addr);
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("app")).unwrap();
    let hush = Client {
        url: &url,
        token: &admin,
        home: &home,
    };

    // Create: the recovery key is shown once.
    let init = hush.ok(
        &[
            "init",
            "--project",
            "vault",
            "--env",
            "production",
            "--e2ee",
            "--create",
        ],
        Some(PASS),
    );
    let recovery = recovery_key(&init.stderr);

    // Push, set, history, rollback: all through client-side encryption.
    let env_file: String = VALUES
        .iter()
        .map(|(k, v)| format!("{k}={}\n", v.replace('\n', "\\n")))
        .collect::<String>()
        .replace("MULTI=", "MULTI=\"")
        .replace("E2EE\\nline two E2EE\n", "E2EE\\nline two E2EE\"\n");
    std::fs::write(home.join("app/.env"), env_file).unwrap();
    hush.ok(&["push", "--yes"], Some(PASS));
    let expected: Value = VALUES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect::<serde_json::Map<_, _>>()
        .into();
    assert_eq!(hush.pulled(PASS), expected);
    hush.ok(&["set", "EXTRA=extra_E2EE_value"], Some(PASS));
    let versions: Value =
        serde_json::from_slice(&hush.ok(&["versions", "--output", "json"], None).stdout).unwrap();
    assert_eq!(
        versions.as_array().unwrap().len(),
        2,
        "names and versions work without the key"
    );
    hush.ok(&["rollback", "1"], None);
    assert_eq!(hush.pulled(PASS), expected);
    let masked = hush.ok(&["list"], None);
    assert!(String::from_utf8_lossy(&masked.stdout).contains("API_KEY"));

    // A wrong passphrase: a clear error on read, nothing written.
    let out = hush.run(&["pull"], Some("not the passphrase"), &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase or recovery key"));
    let out = hush.run(&["set", "X=1"], Some("not the passphrase"), &[]);
    assert!(!out.status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .put(format!(
                "{url}/v1/orgs/default/projects/vault/secrets/X?env=production"
            ))
            .bearer_auth(&admin)
            .header("x-hush-key-proof", "0".repeat(64))
            .json(&json!({"value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 422, "a write with a wrong key proof is refused");
    let versions: Value =
        serde_json::from_slice(&hush.ok(&["versions", "--output", "json"], None).stdout).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 3, "nothing was stored");

    // The recovery key unlocks; a new passphrase and a new recovery key
    // rewrap the data key without touching the values.
    assert_eq!(hush.pulled(&recovery), expected);
    let out = hush.run(
        &["projects", "passphrase", "vault"],
        Some(PASS),
        &[("HUSH_NEW_KEY", NEW_PASS)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hush.pulled(NEW_PASS), expected);
    assert!(!hush.run(&["pull"], Some(PASS), &[]).status.success());
    let rotated = hush.ok(&["projects", "recovery-key", "vault"], Some(NEW_PASS));
    let new_recovery = recovery_key(&rotated.stderr);
    assert_eq!(hush.pulled(&new_recovery), expected);
    assert!(!hush.run(&["pull"], Some(&recovery), &[]).status.success());

    // An app with a pull token decrypts locally too.
    let pull =
        String::from_utf8(hush.ok(&["tokens", "create", "app", "--pull"], None).stdout).unwrap();
    let ci = hush.run(
        &["run", "--", "printenv", "DATABASE_URL"],
        Some(NEW_PASS),
        &[("HUSH_TOKEN", pull.trim())],
    );
    assert!(
        ci.status.success(),
        "{}",
        String::from_utf8_lossy(&ci.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&ci.stdout),
        format!("{}\n", VALUES[1].1)
    );
    // Scripts may keep the passphrase in a file instead of the environment.
    let key_file = home.join("passphrase");
    std::fs::write(&key_file, format!("{NEW_PASS}\n")).unwrap();
    let from_file = hush.run(
        &["run", "--", "printenv", "DATABASE_URL"],
        None,
        &[
            ("HUSH_TOKEN", pull.trim()),
            ("HUSH_KEY_FILE", key_file.to_str().unwrap()),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&from_file.stdout),
        format!("{}\n", VALUES[1].1),
        "{}",
        String::from_utf8_lossy(&from_file.stderr)
    );
    // A person at a terminal is asked for it (not shown as typed), and the
    // app gets neither it nor the token.
    let url = format!("http://{}", server.addr);
    let (home_s, cache) = (
        home.to_str().unwrap().to_owned(),
        home.join("cache").to_str().unwrap().to_owned(),
    );
    if let Some(seen) = super::terminal::on_terminal(
        "Passphrase or recovery key",
        &format!("{NEW_PASS}\\r"),
        &[
            "run",
            "--",
            "sh",
            "-c",
            "echo \"db=$DATABASE_URL\"; env | grep -c '^HUSH_' || true",
        ],
        &[
            ("HUSH_URL", &url),
            ("HUSH_TOKEN", pull.trim()),
            ("HOME", &home_s),
            ("HUSH_CACHE_DIR", &cache),
        ],
    ) {
        let shown = seen["shown"].as_str().unwrap();
        assert_eq!(seen["code"], 0, "{seen}");
        assert!(shown.contains(&format!("db={}", VALUES[1].1)), "{seen}");
        assert!(
            shown.trim_end().ends_with('0'),
            "no HUSH_ variable reaches the app: {seen}"
        );
        assert!(
            !shown.contains(NEW_PASS),
            "the passphrase was echoed: {seen}"
        );
    }

    // Nothing secret on the server's disk or in its log (nor in the cache).
    let (stopped, _, log) = server.stop();
    assert!(stopped);
    let mut haystacks: Vec<(String, Vec<u8>)> = vec![("server log".into(), log.into_bytes())];
    for dir in [data.clone(), home.join("cache")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            haystacks.push((path.display().to_string(), std::fs::read(&path).unwrap()));
        }
    }
    let mut needles: Vec<String> = VALUES
        .iter()
        .flat_map(|(_, v)| v.split('\n').map(str::to_owned))
        .collect();
    needles.extend([
        PASS.to_owned(),
        NEW_PASS.to_owned(),
        "extra_E2EE_value".to_owned(),
    ]);
    needles.extend([
        recovery.clone(),
        recovery.replace('-', ""),
        new_recovery.replace('-', ""),
    ]);
    for (name, bytes) in &haystacks {
        for needle in &needles {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{name} contains {needle:?}"
            );
        }
    }
    assert!(
        haystacks.iter().any(|(name, _)| name.ends_with("hush.db")),
        "the database was inspected"
    );

    // Server down: the cache stands in, but it holds ciphertext, so the
    // token alone (which sits next to it on a server) opens nothing; the
    // passphrase still does.
    let offline = |key: Option<&str>| {
        hush.run(
            &["run", "--", "printenv", "DATABASE_URL"],
            key,
            &[("HUSH_TOKEN", pull.trim())],
        )
    };
    let keyless = offline(None);
    assert!(
        !keyless.status.success() && keyless.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&keyless.stderr)
    );
    let unlocked = offline(Some(NEW_PASS));
    assert!(
        unlocked.status.success(),
        "{}",
        String::from_utf8_lossy(&unlocked.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&unlocked.stdout),
        format!("{}\n", VALUES[1].1)
    );
}
