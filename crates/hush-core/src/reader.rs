//! Reading variables from JSON and YAML files, beside `.env` (see
//! [`crate::dotenv::parse`]): what `hush push` and imports accept. Both
//! are flat: one object or mapping of names to values. Exports written by
//! [`crate::dotenv::to_json`] and [`crate::dotenv::to_yaml`] read back
//! exactly.
//!
//! YAML is read in the subset such files use, not as a whole language:
//! `KEY: value` lines with plain, 'single-quoted' or "double-quoted"
//! scalars (YAML's escapes), `|` / `|-` literal blocks, comments, and
//! `---` / `...` markers. Anything else (nesting, anchors, flow
//! collections, folded blocks) is refused with its line number, never
//! guessed at. Plain scalars stay text: `on`, `1.0` and `null` are the
//! strings an environment variable would hold (an empty value is "").

use std::fmt;

use crate::dotenv::EnvMap;
use crate::SecretString;

/// Why a file could not be read, by line where there is one. Never
/// quotes the line (it may hold a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// 1-based line, when the problem has one.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ReadError {}

fn at(line: usize, reason: impl Into<String>) -> ReadError {
    ReadError {
        line: Some(line),
        reason: reason.into(),
    }
}

/// A JSON object of names to values. Numbers and booleans are taken as
/// their text; nested values are refused.
pub fn parse_json(text: &str) -> Result<EnvMap, ReadError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|err| ReadError {
        line: Some(err.line()),
        reason: "not valid JSON".to_owned(),
    })?;
    let serde_json::Value::Object(object) = value else {
        return Err(ReadError {
            line: None,
            reason: "expected one JSON object of NAME: value".to_owned(),
        });
    };
    object
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Null => String::new(),
                _ => {
                    return Err(ReadError {
                        line: None,
                        reason: format!("{name:?} holds an object or array; values are text"),
                    })
                }
            };
            Ok((name, SecretString::new(text)))
        })
        .collect()
}

/// A flat YAML mapping of names to values (the subset in the module docs).
pub fn parse_yaml(text: &str) -> Result<EnvMap, ReadError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut map = EnvMap::new();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let line = lines[i].trim_end();
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || matches!(trimmed, "---" | "..." | "{}")
        {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            return Err(at(
                number,
                "nested YAML: expected NAME: value at the start of the line",
            ));
        }
        let (key, rest) = split_key(line).ok_or_else(|| at(number, "expected NAME: value"))?;
        let rest = rest.trim();
        let value = if matches!(rest, "|" | "|-") {
            let (block, used) = literal_block(&lines[i..], rest == "|");
            i += used;
            block
        } else {
            scalar(rest).map_err(|reason| at(number, reason))?
        };
        if map.insert(key, SecretString::new(value)).is_some() {
            return Err(at(number, "a name appears twice"));
        }
    }
    Ok(map)
}

/// `key: rest`, the key plain or quoted.
fn split_key(line: &str) -> Option<(String, &str)> {
    if let Some(quote @ ('"' | '\'')) = line.chars().next() {
        let end = line[1..].find(quote)? + 1;
        let key = scalar(&line[..=end]).ok()?;
        let rest = line[end + 1..].strip_prefix(':')?;
        return (rest.is_empty() || rest.starts_with(' ')).then_some((key, rest));
    }
    let colon = line
        .find(": ")
        .or_else(|| line.strip_suffix(':').map(str::len))?;
    let key = line[..colon].trim();
    (!key.is_empty()).then(|| (key.to_owned(), &line[(colon + 1).min(line.len())..]))
}

/// The lines of a `|` block: as indented as its first line, that much
/// indentation removed; `keep_newline` for `|` (one final newline) versus
/// `|-` (none). Returns the text and how many lines it took.
fn literal_block(lines: &[&str], keep_newline: bool) -> (String, usize) {
    let indent = lines
        .iter()
        .find(|l| !l.trim().is_empty())
        .map_or(0, |l| l.len() - l.trim_start().len());
    let mut used = 0;
    let mut body: Vec<&str> = Vec::new();
    for line in lines {
        let blank = line.trim().is_empty();
        if indent == 0 || (!blank && line.len() - line.trim_start().len() < indent) {
            break;
        }
        body.push(if blank { "" } else { &line[indent..] });
        used += 1;
    }
    while body.last() == Some(&"") {
        body.pop();
    }
    let mut text = body.join("\n");
    if keep_newline && !body.is_empty() {
        text.push('\n');
    }
    (text, used)
}

/// One scalar: quoted, or plain (up to a ` #` comment).
fn scalar(text: &str) -> Result<String, String> {
    let text = text.trim();
    if let Some(inner) = text.strip_prefix('\'') {
        let inner = inner
            .strip_suffix('\'')
            .ok_or("a 'quoted' value must end on its line")?;
        if inner.replace("''", "").contains('\'') {
            return Err("a ' inside a 'quoted' value is written ''".to_owned());
        }
        return Ok(inner.replace("''", "'"));
    }
    if let Some(inner) = text.strip_prefix('"') {
        return double_quoted(inner);
    }
    if text.starts_with(['[', '{', '&', '*', '!', '>', '|', '%', '@', '`']) {
        return Err("only plain, quoted and | block values are read".to_owned());
    }
    let plain = match text.find(" #") {
        Some(comment) => text[..comment].trim_end(),
        None => text,
    };
    Ok(if matches!(plain, "~" | "null") {
        String::new()
    } else {
        plain.to_owned()
    })
}

/// The inside of a "double-quoted" scalar from after its opening quote,
/// with YAML's escapes; nothing but a comment may follow the closing one.
fn double_quoted(inner: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let rest = chars.as_str().trim();
                if rest.is_empty() || rest.starts_with('#') {
                    return Ok(out);
                }
                return Err("text after a \"quoted\" value".to_owned());
            }
            '\\' => out.push(escape(&mut chars)?),
            c => out.push(c),
        }
    }
    Err("a \"quoted\" value must end on its line".to_owned())
}

fn escape(chars: &mut std::str::Chars<'_>) -> Result<char, String> {
    let hex = |chars: &mut std::str::Chars<'_>, n: usize| -> Result<char, String> {
        let digits: String = chars.take(n).collect();
        u32::from_str_radix(&digits, 16)
            .ok()
            .filter(|_| digits.len() == n)
            .and_then(char::from_u32)
            .ok_or_else(|| "a bad \\x, \\u or \\U escape".to_owned())
    };
    Ok(match chars.next().ok_or("a \\ at the end of a value")? {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' => hex(chars, 2)?,
        'u' => hex(chars, 4)?,
        'U' => hex(chars, 8)?,
        other => return Err(format!("an unknown escape \\{other}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dotenv::{to_json, to_yaml};

    fn map(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::new((*v).to_owned())))
            .collect()
    }

    fn tricky() -> EnvMap {
        map(&[
            ("PLAIN", "value"),
            ("QUOTES", "he said \"hi\" and it's fine"),
            ("MULTI", "line one\nline two\r\n\ttab"),
            ("UNICODE", "ünïcødé 🎉 \u{2028} sep"),
            ("EMPTY", ""),
            ("BACKSLASH", "C:\\path\\"),
            ("COLON", "a: b # not a comment"),
            ("CONTROL", "bell \u{7} esc \u{1b}"),
        ])
    }

    #[test]
    fn exports_read_back_exactly() {
        assert_eq!(parse_json(&to_json(&tricky())).unwrap(), tricky());
        assert_eq!(parse_yaml(&to_yaml(&tricky())).unwrap(), tricky());
        assert_eq!(parse_yaml(&to_yaml(&EnvMap::new())).unwrap(), EnvMap::new());
    }

    #[test]
    fn hand_written_yaml_reads_as_people_mean_it() {
        let text = "\
# settings
---
PLAIN: postgres://db/app   # a comment
PORT: 8080
DEBUG: on
SINGLE: 'it''s # kept'
\"QUOTED KEY\": \"tab\\there\"
NOTHING:
TILDE: ~
CERT: |
  -----BEGIN-----
  abc

  def
STRIPPED: |-
  one
  two
LAST: x
";
        let got = parse_yaml(text).unwrap();
        let want = map(&[
            ("PLAIN", "postgres://db/app"),
            ("PORT", "8080"),
            ("DEBUG", "on"),
            ("SINGLE", "it's # kept"),
            ("QUOTED KEY", "tab\there"),
            ("NOTHING", ""),
            ("TILDE", ""),
            ("CERT", "-----BEGIN-----\nabc\n\ndef\n"),
            ("STRIPPED", "one\ntwo"),
            ("LAST", "x"),
        ]);
        assert_eq!(got, want);
    }

    #[test]
    fn what_is_not_a_flat_mapping_is_refused_by_line() {
        for (text, line) in [
            ("A: 1\nB:\n  nested: 2\n", 3),
            ("A: [1, 2]\n", 1),
            ("A: &anchor x\n", 1),
            ("A: >\n  folded\n", 1),
            ("A: \"open\n", 1),
            ("A: 'x' y'\n", 1),
            ("just text\n", 1),
            ("A: 1\nA: 2\n", 2),
            ("A: \"\\q\"\n", 1),
        ] {
            let err = parse_yaml(text).unwrap_err();
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
        }
    }

    #[test]
    fn json_takes_scalars_as_text_and_refuses_nesting() {
        let got = parse_json(r#"{"A":"x","N":1.5,"B":true,"Z":null}"#).unwrap();
        assert_eq!(
            got,
            map(&[("A", "x"), ("N", "1.5"), ("B", "true"), ("Z", "")])
        );
        assert!(parse_json(r#"{"A":{"b":1}}"#).is_err());
        assert!(parse_json("[1]").is_err());
        assert_eq!(parse_json("{\n\"A\": x}").unwrap_err().line, Some(2));
    }
}
