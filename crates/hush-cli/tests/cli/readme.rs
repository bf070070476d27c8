//! The README stays true: its tour sections run verbatim, in order, on a
//! fresh `hush serve` (first start), as a person at a terminal would run
//! them (every `[y/N]` answered yes). A block preceded by
//! `<!-- readme-test: not run (why) -->` is skipped: it runs until stopped
//! or points at someone else's server. Two placeholders are filled in: the
//! one-time token (`hush_…`) and the server's address (the README's
//! default `http://127.0.0.1:8420`; `HUSH_URL` says the same to the CLI).
//! Each section runs in an empty directory of its own; the login is shared.
//! Every `curl` must get a 2xx (`--fail-with-body`), so a README whose API
//! calls fail, fails CI.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;

use super::serve;

/// The sections that are a tour to follow, in README order.
const TOURS: &[&str] = &[
    "Five-minute tour",
    "The same with curl",
    "End-to-end-encrypted projects",
    "Hep.gg's dashboard API",
    "Hooklistener's API",
    "InsForge's API",
    "The DotEnv API",
];

const SKIP_MARK: &str = "<!-- readme-test: not run";

/// The runnable code blocks of a section: 4-space indented lines, blank
/// lines inside kept, blocks after a skip mark left out.
fn blocks(readme: &str, section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut skip = false;
    let mut current: Option<Vec<&str>> = None;
    let mut close = |current: &mut Option<Vec<&str>>, skip: &mut bool| {
        if let Some(lines) = current.take() {
            if !*skip {
                out.push(lines.join("\n").trim_end().to_owned());
            }
            *skip = false;
        }
    };
    for line in readme.lines() {
        if let Some(code) = line.strip_prefix("    ") {
            if inside {
                current.get_or_insert_with(Vec::new).push(code);
            }
            continue;
        }
        if line.trim().is_empty() {
            if let Some(lines) = current.as_mut() {
                lines.push("");
            }
            continue;
        }
        close(&mut current, &mut skip);
        if let Some(title) = line.strip_prefix("## ") {
            inside = title.trim() == section;
        }
        if inside && line.starts_with(SKIP_MARK) {
            skip = true;
        }
    }
    close(&mut current, &mut skip);
    out
}

#[test]
fn the_readme_tour_runs_verbatim() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve::start(&dir.path().join("data"), "info");
    let token = server.first_token();
    let url = format!("http://{}", server.addr);
    let home = dir.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_hush"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut outputs = Vec::new();
    for (i, section) in TOURS.iter().enumerate() {
        let code = blocks(&readme, section);
        assert!(!code.is_empty(), "no runnable block under \"## {section}\"");
        let work = dir.path().join(format!("section-{i}"));
        std::fs::create_dir(&work).unwrap();
        let script = format!(
            "set -euo pipefail\ncurl() {{ command curl --fail-with-body \"$@\"; }}\ncd '{}'\n{}\n",
            work.display(),
            code.join("\n\n")
                .replace("hush_…", &token)
                .replace("http://127.0.0.1:8420", &url)
        );
        let file = dir.path().join(format!("section-{i}.sh"));
        std::fs::write(&file, &script).unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/cli/at_terminal.py"
        ))
        .arg("--yes")
        .arg("bash")
        .arg(&file);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("HUSH_") {
                cmd.env_remove(name);
            }
        }
        let out = cmd
            .env("HOME", &home)
            .env("PATH", &path)
            .env("HUSH_URL", &url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "at_terminal.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let result: Value = serde_json::from_slice(&out.stdout).unwrap();
        let shown = result["shown"].as_str().unwrap().to_owned();
        assert_eq!(
            result["code"], 0,
            "README section \"{section}\" failed:\n--- script\n{script}\n--- terminal\n{shown}"
        );
        outputs.push(shown);
    }
    // What each tour promises, it shows.
    assert!(
        outputs[0].contains("the app sees postgres://db/dev"),
        "{}",
        outputs[0]
    );
    assert!(outputs[1].contains("DATABASE_URL"), "{}", outputs[1]);
    assert!(
        outputs[2].contains("decrypted here: sk_test_4242"),
        "{}",
        outputs[2]
    );
    assert!(
        outputs[3].contains("\"STRIPE_KEY\":\"sk_live_shop\"")
            && outputs[3].contains("\"unchanged\":[]"),
        "{}",
        outputs[3]
    );
    assert!(
        outputs[4].contains("whsec_abc123") && outputs[4].contains("hooklistener tour done"),
        "{}",
        outputs[4]
    );
    assert!(
        outputs[5].contains("Secret STRIPE_API_KEY has been deleted successfully"),
        "{}",
        outputs[5]
    );
    assert!(
        outputs[6].contains("the app sees NODE_ENV=production LOG_LEVEL=debug")
            && outputs[6].contains("DATABASE_URL=postgres://db/app")
            && outputs[6].contains("dotenv tour done"),
        "{}",
        outputs[6]
    );
    let (clean, _, _) = server.stop();
    assert!(clean);
}

#[test]
fn skip_marks_and_sections_are_read_as_meant() {
    let text = "## A\n\n    one\n    two\n\n    three\n\ntext\n\n<!-- readme-test: not run (x) -->\n\n    skipped\n\n    still the same block\n\nmore text\n\n    four\n\n## B\n\n    other\n";
    assert_eq!(blocks(text, "A"), vec!["one\ntwo\n\nthree", "four"]);
    assert_eq!(blocks(text, "B"), vec!["other"]);
    assert!(blocks(text, "C").is_empty());
}

/// A heading's anchor as GitHub makes it.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == ' ' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every link of the README resolves inside the repository: files exist,
/// anchors name a heading. (A clone has nothing outside it.)
#[test]
fn readme_links_resolve_inside_the_repository() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let anchors: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect();
    let mut checked = 0;
    for (_, rest) in readme
        .match_indices("](")
        .map(|(i, _)| ((), &readme[i + 2..]))
    {
        let Some(end) = rest.find(')') else { continue };
        let target = &rest[..end];
        checked += 1;
        assert!(
            !target.contains("://"),
            "the README links outside the repository: {target}"
        );
        match target.split_once('#') {
            Some(("", fragment)) => assert!(
                anchors.iter().any(|a| a == fragment),
                "no heading for #{fragment} (headings: {anchors:?})"
            ),
            Some((path, _)) => assert_in_repo(root, path, target),
            None => assert_in_repo(root, target, target),
        }
    }
    assert!(checked > 0);
    assert!(
        root.join("LICENSE").exists(),
        "Cargo.toml says Apache-2.0: ship the text"
    );
}

fn assert_in_repo(root: &std::path::Path, path: &str, link: &str) {
    assert!(
        !path.starts_with("..") && root.join(path).exists(),
        "the README links to {link}, which is not in the repository"
    );
}
