//! The export matrix: values built to run code or drive a terminal, pulled
//! in every format (`hush pull --format …` and the server's `/export`),
//! then read by bash, dash, python-dotenv, PyYAML and JSON. Nothing may
//! execute; each format must read back exactly where its rule says so (see
//! `hush_core::dotenv`).
//!
//! python-dotenv and PyYAML live in a virtual environment:
//! `$HUSH_EXPORT_VENV`, else `target/export-venv` (`.ci/run` creates it).
//! Without it, or without dash, the test skips loudly, except under
//! `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use hush_core::dotenv;
use hush_testkit::{Api, Db, TestDatabase, TestServer};
use serde_json::{json, Value};

/// Names in order; each value tries something.
const VALUES: &[(&str, &str)] = &[
    ("BACKTICK", "`touch \"$MARK/backtick\"`"),
    ("BRACE", "${HOME}/${MARK}"),
    ("BS_DOLLAR", "\\$(touch \"$MARK/bs-dollar\")"),
    ("BS_N", "literal \\n, not a newline"),
    ("CMD_SUBST", "$(touch \"$MARK/cmd\")"),
    ("CR", "a\rb"),
    ("DOLLAR_ONLY", "$HOME and $1"),
    ("DOUBLE_BS", "a\\\\b"),
    ("DQUOTE", "say \"hi\""),
    ("DQ_BREAK", "\";touch \"$MARK/dq\";\""),
    ("EMPTY", ""),
    ("EQUALS", "a=b=c"),
    ("ESC_COLOR", "\u{1b}[31mred\u{1b}[0m"),
    ("ESC_QUOTE", "it's \u{1b}[2J cleared"),
    ("ESC_TITLE", "\u{1b}]0;pwned\u{7}"),
    ("HASH", "value # not a comment"),
    ("LS", "a\u{2028}b \u{2029} c"),
    ("NEWLINE_CMD", "line\ntouch \"$MARK/newline\""),
    ("NEWLINE_QUOTE", "it's\n$(touch \"$MARK/newline-quote\")"),
    ("QUOTE_BACKTICK", "it's `touch \"$MARK/quote-backtick\"`"),
    ("QUOTE_CMD", "it's $(touch \"$MARK/quote\")"),
    ("SPACES", "  padded  "),
    ("SQ_BREAK", "';touch \"$MARK/sq\";'"),
    ("TAB", "a\tb"),
    ("TRAILING_BS", "ends with \\"),
    ("WIN_PATH", "C:\\Users\\ada\\"),
    ("TRAILING_BS_QUOTE", "it's \\"),
    ("UNICODE", "ünïcødé 🎉 日本語"),
    ("ZZZ_SENTINEL", "still-read"),
];

fn unprintable(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

fn bare_safe(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./:@+,=%".contains(&b))
}

/// How python-dotenv (with `interpolate=False`) reads a value back, by
/// the rule in `hush_core::dotenv`: `Some(true)` exactly, `Some(false)`
/// not exactly (it keeps `\$`, `` \` `` and `\u{…}` as written), `None`
/// not at all (a double-quoted value ending in a backslash, which its
/// parser cannot read; it skips that entry).
fn python_dotenv_reads(value: &str) -> Option<bool> {
    let single = !value.contains(['\'', '\\']) && !value.chars().any(unprintable);
    let unquoted = value.contains('\\')
        && value
            .split('\\')
            .all(|part| part.is_empty() || bare_safe(part));
    if value.is_empty() || bare_safe(value) || single || unquoted {
        return Some(true);
    }
    if value.ends_with('\\') {
        return None;
    }
    Some(!(value.contains(['$', '`']) || value.chars().any(|c| unprintable(c) && c != '\r')))
}

/// What a shell holds after the `shell` format: the value, with control
/// characters other than newline and tab as `\u{…}` text.
fn shell_expected(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if unprintable(c) {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn tools() -> Option<PathBuf> {
    let venv = std::env::var_os("HUSH_EXPORT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/export-venv"));
    let python = venv.join("bin/python");
    let usable = Command::new(&python)
        .args(["-c", "import dotenv, yaml"])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("dash").args(["-c", "true"]).status().is_ok()
        && Command::new("bash").args(["-c", "true"]).status().is_ok();
    if usable {
        return Some(python);
    }
    let message = format!(
        "python-dotenv and PyYAML in {0} (python3 -m venv {0} && {0}/bin/pip install python-dotenv==1.0.1 PyYAML==6.0.2), and bash and dash, are needed",
        venv.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{message}");
    }
    eprintln!("SKIPPING the export matrix: {message}");
    None
}

/// Sources `file` in `shell` with `set -a` and prints every variable as
/// hex, one per line.
fn source_in(shell: &str, file: &Path, mark: &Path) -> BTreeMap<String, String> {
    let names: Vec<&str> = VALUES.iter().map(|(k, _)| *k).collect();
    let script = format!(
        "set -a; . \"$1\" || exit 9; for name in {}; do eval \"value=\\${{$name}}\"; \
         printf '%s=' \"$name\"; printf '%s' \"$value\" | od -An -v -tx1 | tr -d ' \\n'; echo; done",
        names.join(" ")
    );
    let out = Command::new(shell)
        .args(["-c", &script, shell])
        .arg(file)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/home/nobody")
        .env("MARK", mark)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{shell} could not source {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (name, hex) = line.split_once('=').unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            (name.to_owned(), String::from_utf8(bytes).unwrap())
        })
        .collect()
}

const READ: &str = "
import json, sys, dotenv, yaml
kind, path = sys.argv[1], sys.argv[2]
text = open(path, encoding='utf-8').read()
if kind == 'dotenv':
    values = dotenv.dotenv_values(path, interpolate=False)
elif kind == 'yaml':
    values = yaml.safe_load(text)
else:
    values = json.loads(text)
print(json.dumps(values))
";

fn read_with(python: &Path, kind: &str, file: &Path) -> BTreeMap<String, Option<String>> {
    let out = Command::new(python)
        .args(["-c", READ, kind])
        .arg(file)
        .env("HOME", "/home/nobody")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{kind}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// No raw control character but newline and tab: printing cannot drive a
/// terminal.
fn assert_printable(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| unprintable(c)) {
        panic!("{what} holds a raw U+{:04X}", c as u32);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_never_execute_and_read_back_exactly() {
    let Some(python) = tools() else { return };
    let Some(db) = TestDatabase::create(Db::Sqlite).await else {
        return;
    };
    let server = TestServer::start_on(&db.url, [8u8; 32]).await;
    let api = Api::on(&server, server.admin());
    let base = api.project("web", &["production"]).await;
    let set: Vec<Value> = VALUES
        .iter()
        .map(|(k, v)| json!({ "name": k, "value": v }))
        .collect();
    let (status, body) = api
        .post(
            &format!("{base}/secrets?env=production"),
            json!({ "set": set }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // A NUL can never be stored, so no export ever holds one.
    let (status, body) = api
        .put(
            &format!("{base}/secrets/NUL?env=production"),
            json!({ "value": "a\u{0}b" }),
        )
        .await;
    assert_eq!(
        (status.as_u16(), hush_testkit::code(&body)),
        (422, "invalid_value")
    );

    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("marks");
    std::fs::create_dir(&mark).unwrap();
    let mut files = BTreeMap::new();
    for format in ["dotenv", "shell", "json", "yaml"] {
        let out = Command::new(env!("CARGO_BIN_EXE_hush"))
            .args([
                "pull",
                "--format",
                format,
                "--project",
                "web",
                "--env",
                "production",
            ])
            .env("HUSH_URL", &server.url)
            .env("HUSH_TOKEN", server.admin())
            .env("HUSH_CACHE_DIR", "off")
            .env("HUSH_CONFIG_DIR", dir.path().join("config"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert_printable(format, &text);
        // The server's export renders the same text.
        if format != "yaml" {
            let response = server
                .request(
                    reqwest::Method::GET,
                    &format!("{base}/export?env=production&format={format}"),
                    server.admin(),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(response.text().await.unwrap(), text, "{format}");
        }
        let path = dir.path().join(format!("out.{format}"));
        std::fs::write(&path, &text).unwrap();
        files.insert(format, path);
    }

    let expected: BTreeMap<String, String> = VALUES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    // hush's own parser: every value exactly.
    let own: BTreeMap<String, String> =
        dotenv::parse(&std::fs::read_to_string(&files["dotenv"]).unwrap())
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k, v.expose().to_owned()))
            .collect();
    assert_eq!(own, expected);
    // JSON and PyYAML: every value exactly.
    for kind in ["json", "yaml"] {
        let read = read_with(&python, kind, &files[kind]);
        let read: BTreeMap<String, String> =
            read.into_iter().map(|(k, v)| (k, v.unwrap())).collect();
        assert_eq!(read, expected, "{kind}");
    }
    // python-dotenv: exactly, but for the documented exceptions; and every
    // line after a tricky value is still read.
    let read = read_with(&python, "dotenv", &files["dotenv"]);
    for (name, value) in VALUES {
        match python_dotenv_reads(value) {
            Some(true) => assert_eq!(
                read.get(*name).cloned().flatten().as_deref(),
                Some(*value),
                "python-dotenv, {name}"
            ),
            Some(false) => assert!(read.contains_key(*name), "python-dotenv, {name}"),
            None => assert!(!read.contains_key(*name), "python-dotenv, {name}: {read:?}"),
        }
    }
    assert_eq!(read["ZZZ_SENTINEL"].as_deref(), Some("still-read"));
    // Shells: sourcing runs nothing; the shell format reads back exactly
    // (control characters as text), the .env file at least parses.
    for shell in ["bash", "dash"] {
        let from_shell = source_in(shell, &files["shell"], &mark);
        for (name, value) in VALUES {
            assert_eq!(
                from_shell[*name],
                shell_expected(value),
                "{shell} shell format, {name}"
            );
        }
        let from_dotenv = source_in(shell, &files["dotenv"], &mark);
        assert_eq!(from_dotenv["ZZZ_SENTINEL"], "still-read", "{shell}");
        for (name, value) in VALUES {
            if !value.contains(['\'', '\\']) && !value.chars().any(unprintable) {
                assert_eq!(from_dotenv[*name], *value, "{shell} .env, {name}");
            }
        }
    }
    let ran: Vec<_> = std::fs::read_dir(&mark)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(ran.is_empty(), "sourcing an export ran code: {ran:?}");
    server.stop().await;
    db.drop_db().await;
}
