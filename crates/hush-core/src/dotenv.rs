//! The `.env` file format, plus JSON and shell-`export` output.
//!
//! Reading accepts what people actually have in their files: comments,
//! `export ` prefixes, single quotes (literal), double quotes (with `\n`,
//! `\r`, `\t`, `\"`, `\'`, `\\`, `\$`, `` \` `` and `\u{1b}` escapes and
//! real newlines), `KEY=` for the empty string, inline ` # comments` after
//! unquoted values, CRLF line endings, a UTF-8 BOM, and repeated keys (the
//! last one wins). No variable interpolation happens: `$` is always
//! literal.
//!
//! # Writing: never code, always data
//!
//! Every output may be sourced by a shell (`set -a; . ./.env`), printed on
//! a terminal, or read by another tool, so the rules are:
//!
//! - Nothing executes when a `.env` or `shell` output is sourced by bash or
//!   dash: `$`, backticks and `\` never appear where a shell expands them.
//! - No control character other than newline and tab is written raw, so
//!   printing an export cannot drive the terminal (escape sequences).
//! - `.env` ([`serialize`]) reads back exactly in hush ([`parse`]) always,
//!   and in python-dotenv too, except for values that need double quotes
//!   (they hold a `'`, a `\` or a control character) *and* hold a `$`, a
//!   backtick or a control character other than newline, tab and CR: those
//!   are escaped (`\$`, `` \` ``, `\u{1b}`), which shells and hush read as
//!   data but python-dotenv keeps as written. Forms, plainest first: bare;
//!   single quotes (no `'`, `\` or control character but newline and tab);
//!   double quotes with escapes.
//! - `shell` ([`to_shell`]) reads back exactly in bash and dash, except
//!   control characters other than newline and tab, which POSIX shells
//!   cannot write without running a command: they appear as `\u{1b}` text.
//! - `json` and `yaml` read back exactly (PyYAML's `safe_load` included:
//!   the line separators U+2028/U+2029 are escaped so it does not fold
//!   them).
//!
//! `parse(&serialize(&map)) == map` for every map whose keys are valid
//! names (property-tested below).

use std::collections::BTreeMap;

use thiserror::Error;

use crate::SecretString;

/// Variables by name, in name order.
pub type EnvMap = BTreeMap<String, SecretString>;

/// A syntax error, with the 1-based line it starts on. Messages never
/// quote the line: at most the name before its `=`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {reason}")]
pub struct DotenvError {
    /// Line of the offending entry.
    pub line: usize,
    /// What was wrong.
    pub reason: String,
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.text[self.pos..].starts_with(prefix) {
            self.pos += prefix.len();
            self.line += prefix.matches('\n').count();
            true
        } else {
            false
        }
    }

    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.pos += 1;
        }
    }

    /// Consumes the rest of the line including its terminator; returns it
    /// without the terminator.
    fn rest_of_line(&mut self) -> &str {
        let start = self.pos;
        let end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |i| start + i);
        self.pos = end;
        self.eat("\n");
        self.text[start..end]
            .strip_suffix('\r')
            .unwrap_or(&self.text[start..end])
    }

    fn at_line_end(&self) -> bool {
        let rest = &self.text[self.pos..];
        rest.is_empty() || rest.starts_with('\n') || rest.starts_with("\r\n")
    }

    fn error(&self, line: usize, reason: impl Into<String>) -> DotenvError {
        DotenvError {
            line,
            reason: reason.into(),
        }
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Reads a `.env` file.
pub fn parse(input: &str) -> Result<EnvMap, DotenvError> {
    let text = input.strip_prefix('\u{feff}').unwrap_or(input);
    let mut cur = Cursor {
        text,
        pos: 0,
        line: 1,
    };
    let mut map = EnvMap::new();
    loop {
        cur.skip_blanks();
        match cur.peek() {
            None => break,
            Some('#') => {
                cur.rest_of_line();
                continue;
            }
            _ if cur.at_line_end() => {
                cur.rest_of_line();
                continue;
            }
            _ => {}
        }
        let (key, value) = parse_entry(&mut cur)?;
        map.insert(key, value);
    }
    Ok(map)
}

fn parse_entry(cur: &mut Cursor<'_>) -> Result<(String, SecretString), DotenvError> {
    let line = cur.line;
    if cur.text[cur.pos..].starts_with("export") {
        let after = cur.pos + "export".len();
        if matches!(cur.text[after..].chars().next(), Some(' ' | '\t')) {
            cur.pos = after;
            cur.skip_blanks();
        }
    }
    let start = cur.pos;
    while cur.peek().is_some_and(is_key_char) {
        cur.pos += 1;
    }
    let key = cur.text[start..cur.pos].to_owned();
    if key.is_empty() {
        return Err(cur.error(line, "expected a variable name (letters, digits, '_')"));
    }
    cur.skip_blanks();
    if !cur.eat("=") {
        // No `=`: the line may be a pasted value rather than a name, so
        // the message says where, never what.
        return Err(cur.error(line, "expected NAME=value (this line has no '=')"));
    }
    cur.skip_blanks();
    let value = match cur.peek() {
        Some('"') => {
            cur.bump();
            let value = double_quoted(cur, line, &key)?;
            after_quote(cur, line, &key)?;
            value
        }
        Some('\'') => {
            cur.bump();
            let value = single_quoted(cur, line, &key)?;
            after_quote(cur, line, &key)?;
            value
        }
        _ => unquoted(cur.rest_of_line()),
    };
    Ok((key, SecretString::new(value)))
}

fn double_quoted(cur: &mut Cursor<'_>, line: usize, key: &str) -> Result<String, DotenvError> {
    let mut out = String::new();
    loop {
        let Some(c) = cur.bump() else {
            return Err(cur.error(line, format!("unterminated double-quoted value for {key}")));
        };
        match c {
            '"' => return Ok(out),
            '\\' => match cur.bump() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some(e @ ('"' | '\'' | '\\' | '$' | '`')) => out.push(e),
                Some('u') if cur.peek() == Some('{') => match code_point(cur) {
                    Some(c) => out.push(c),
                    None => out.push_str("\\u"),
                },
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => {
                    return Err(
                        cur.error(line, format!("unterminated double-quoted value for {key}"))
                    )
                }
            },
            '\r' if cur.peek() == Some('\n') => {}
            c => out.push(c),
        }
    }
}

/// After `\u`: `{hex}` as a character, consumed only if well-formed.
fn code_point(cur: &mut Cursor<'_>) -> Option<char> {
    let rest = &cur.text[cur.pos..];
    let close = rest.get(1..)?.find('}')? + 1;
    let hex = &rest[1..close];
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
    cur.pos += close + 1;
    Some(c)
}

fn single_quoted(cur: &mut Cursor<'_>, line: usize, key: &str) -> Result<String, DotenvError> {
    let mut out = String::new();
    loop {
        match cur.bump() {
            None => {
                return Err(cur.error(line, format!("unterminated single-quoted value for {key}")))
            }
            Some('\'') => return Ok(out),
            Some('\r') if cur.peek() == Some('\n') => {}
            Some(c) => out.push(c),
        }
    }
}

fn after_quote(cur: &mut Cursor<'_>, line: usize, key: &str) -> Result<(), DotenvError> {
    cur.skip_blanks();
    if cur.at_line_end() || cur.peek() == Some('#') {
        cur.rest_of_line();
        Ok(())
    } else {
        Err(cur.error(
            line,
            format!("unexpected text after the closing quote of {key}"),
        ))
    }
}

/// An unquoted value ends at a `#` that starts the value or follows a blank.
fn unquoted(raw: &str) -> String {
    let mut end = raw.len();
    let mut prev_blank = true;
    for (i, c) in raw.char_indices() {
        if c == '#' && prev_blank {
            end = i;
            break;
        }
        prev_blank = c == ' ' || c == '\t';
    }
    raw[..end].trim_end_matches([' ', '\t']).to_owned()
}

fn is_bare_safe(value: &str) -> bool {
    !value.is_empty()
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'-' | b'.' | b'/' | b':' | b'@' | b'+' | b',' | b'=' | b'%'
                )
        })
}

/// A character no output writes raw: every control character but newline
/// and tab (C0, DEL, C1), which a terminal would act on.
fn is_unprintable(c: char) -> bool {
    c.is_control() && c != '\n' && c != '\t'
}

/// The inert text standing for an unprintable character: `\u{1b}`.
fn push_code(out: &mut String, c: char) {
    out.push_str(&format!("\\u{{{:x}}}", c as u32));
}

/// Safe unquoted in shells, hush and python-dotenv alike, backslashes
/// included (a shell drops them, but runs nothing).
fn is_unquoted_safe(value: &str) -> bool {
    value.contains('\\')
        && value
            .split('\\')
            .all(|part| part.is_empty() || is_bare_safe(part))
}

/// Follows a double-quoted value ending in a backslash: python-dotenv
/// takes its closing `\"` for an escaped quote and would read on into the
/// next lines; this line's quote stops it there (it then drops that one
/// entry with a warning). hush and shells see a comment.
const DOTENV_GUARD: &str =
    "#\" hush: python-dotenv cannot read the value above (it ends in a backslash)";

/// Writes one `KEY=value` line (without the newline) in the plainest safe
/// form (see the module docs).
fn write_entry(out: &mut String, key: &str, value: &str) {
    out.push_str(key);
    out.push('=');
    if value.is_empty() || is_bare_safe(value) {
        out.push_str(value);
    } else if !value.contains(['\'', '\\']) && !value.chars().any(is_unprintable) {
        // Literal for shells, hush and python-dotenv alike.
        out.push('\'');
        out.push_str(value);
        out.push('\'');
    } else if is_unquoted_safe(value) {
        out.push_str(value);
        if value.ends_with('\\') {
            // Not a line continuation for a shell; a comment for the rest.
            out.push_str(" #");
        }
    } else {
        out.push('"');
        for c in value.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '$' => out.push_str("\\$"),
                '`' => out.push_str("\\`"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if is_unprintable(c) => push_code(out, c),
                c => out.push(c),
            }
        }
        out.push('"');
        if value.ends_with('\\') {
            out.push('\n');
            out.push_str(DOTENV_GUARD);
        }
    }
}

/// Writes a `.env` file (one `KEY=value` line per variable, name order).
pub fn serialize(map: &EnvMap) -> String {
    let mut out = String::new();
    for (key, value) in map {
        write_entry(&mut out, key, value.expose());
        out.push('\n');
    }
    out
}

/// A JSON object of name → value, pretty-printed, name order.
pub fn to_json(map: &EnvMap) -> String {
    let object: serde_json::Map<String, serde_json::Value> = map
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.expose().to_owned())))
        .collect();
    let mut out = serde_json::to_string_pretty(&object).unwrap_or_default();
    out.push('\n');
    out
}

/// `export KEY='value'` lines for `eval` in a POSIX shell. Single quotes
/// make every byte literal; an embedded `'` becomes `'\''`. Control
/// characters other than newline and tab become `\u{1b}` text (see the
/// module docs).
pub fn to_shell(map: &EnvMap) -> String {
    let mut out = String::new();
    for (key, value) in map {
        out.push_str("export ");
        out.push_str(key);
        out.push_str("='");
        for c in value.expose().chars() {
            match c {
                '\'' => out.push_str(r"'\''"),
                c if is_unprintable(c) => push_code(&mut out, c),
                c => out.push(c),
            }
        }
        out.push_str("'\n");
    }
    out
}

/// A YAML mapping, one `"KEY": "value"` line per variable, name order.
///
/// Every scalar is double-quoted and escaped with only the escapes JSON
/// also has (`\"`, `\\`, `\n`, `\r`, `\t`, `\uXXXX`), so each value
/// reads back exactly, as a string (never `true`, `null` or a number),
/// with a YAML parser or a JSON string parser alike.
pub fn to_yaml(map: &EnvMap) -> String {
    if map.is_empty() {
        return "{}\n".to_owned();
    }
    let mut out = String::new();
    for (key, value) in map {
        push_yaml_string(&mut out, key);
        out.push_str(": ");
        push_yaml_string(&mut out, value.expose());
        out.push('\n');
    }
    out
}

fn push_yaml_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Not printable in YAML: C0 and C1 controls, DEL, BOM, and the
            // two non-characters at the end of the BMP; and the line and
            // paragraph separators, which YAML folds like line breaks.
            c if c < ' '
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(
                    c,
                    '\u{feff}' | '\u{fffe}' | '\u{ffff}' | '\u{2028}' | '\u{2029}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn get<'a>(map: &'a EnvMap, key: &str) -> &'a str {
        map.get(key)
            .map(SecretString::expose)
            .unwrap_or("<missing>")
    }

    #[test]
    fn reads_the_common_forms() {
        let text = "\u{feff}# comment\r\n\
            export A=1\r\n\
            B = 'single # not comment $HOME'\n\
            C=\"double \\\"q\\\" \\n \\t \\\\ \\$X\" # trailing\n\
            D=\n\
            E=plain value # comment\n\
            F=a#b\n\
            G=\"multi\nline\r\nvalue\"\n\
            A=2\n\
            H='it''s'x\n";
        let err = parse(text).unwrap_err();
        assert_eq!(err.line, 12);
        let map = parse(&text.replace("H='it''s'x\n", "")).unwrap();
        assert_eq!(get(&map, "A"), "2");
        assert_eq!(get(&map, "B"), "single # not comment $HOME");
        assert_eq!(get(&map, "C"), "double \"q\" \n \t \\ $X");
        assert_eq!(get(&map, "D"), "");
        assert_eq!(get(&map, "E"), "plain value");
        assert_eq!(get(&map, "F"), "a#b");
        assert_eq!(get(&map, "G"), "multi\nline\nvalue");
        assert_eq!(map.len(), 7);
        let escapes = parse("A=\"\\u{1b}\\`\\'\\u{zz}\\u\"").unwrap();
        assert_eq!(get(&escapes, "A"), "\u{1b}`'\\u{zz}\\u");
    }

    #[test]
    fn errors_name_the_line_and_key_but_not_the_value() {
        let err = parse("A=1\nTOKEN=\"s3cr3t\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("TOKEN"));
        assert!(!err.to_string().contains("s3cr3t"));
        assert_eq!(parse("=x").unwrap_err().line, 1);
        let err = parse("\n\nghp_pastedTokenValue123\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(!err.to_string().contains("ghp_"), "{err}");
        assert!(parse("A='x' junk").is_err());
    }

    #[test]
    fn export_as_a_key_name() {
        let map = parse("export=1\nexported=2\n").unwrap();
        assert_eq!(get(&map, "export"), "1");
        assert_eq!(get(&map, "exported"), "2");
    }

    #[test]
    fn writes_plainest_form() {
        let mut map = EnvMap::new();
        map.insert("A".into(), "simple".into());
        map.insert("B".into(), "has space".into());
        map.insert("C".into(), "it's\n".into());
        map.insert("D".into(), "".into());
        map.insert("E".into(), "$(x) `y` ${HOME}".into());
        map.insert("F".into(), "it's $(x) `y`".into());
        map.insert("G".into(), "ends with \\".into());
        map.insert("H".into(), "esc \u{1b}[31m bell \u{7}".into());
        map.insert("I".into(), "two\nlines".into());
        map.insert("J".into(), "C:\\dir\\".into());
        map.insert("K".into(), "a\\\\b".into());
        assert_eq!(
            serialize(&map),
            format!("A=simple\nB='has space'\nC=\"it's\\n\"\nD=\n\
             E='$(x) `y` ${{HOME}}'\nF=\"it's \\$(x) \\`y\\`\"\nG=\"ends with \\\\\"\n{DOTENV_GUARD}\n\
             H=\"esc \\u{{1b}}[31m bell \\u{{7}}\"\nI='two\nlines'\nJ=C:\\dir\\ #\nK=a\\\\b\n")
        );
        assert_eq!(parse(&serialize(&map)).unwrap(), map);
    }

    #[test]
    fn json_and_shell_outputs() {
        let mut map = EnvMap::new();
        map.insert("A".into(), "it's \"x\"\n".into());
        let json: serde_json::Value = serde_json::from_str(&to_json(&map)).unwrap();
        assert_eq!(json["A"], "it's \"x\"\n");
        assert_eq!(to_shell(&map), "export A='it'\\''s \"x\"\n'\n");
        map.insert("B".into(), "\u{1b}]0;title\u{7}".into());
        assert!(to_shell(&map).contains("export B='\\u{1b}]0;title\\u{7}'\n"));
    }

    fn key() -> impl Strategy<Value = String> {
        "[A-Za-z_][A-Za-z0-9_]{0,12}"
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![".*", "[ -~]*", "[a-z#$'\"\\\\ \t\r\n=]*", "(\\PC|\n|\r\n)*",]
    }

    #[test]
    fn yaml_scalars_are_json_strings() {
        let map: EnvMap = [
            ("A", "plain"),
            ("B", "quote \" back\\slash"),
            ("C", "line\nbreak\ttab\r"),
            ("D", "\u{7f}\u{85}\u{feff}ünïcødé 🎉"),
            ("E", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), SecretString::from(v)))
        .collect();
        let yaml = to_yaml(&map);
        assert!(yaml.contains("\"E\": \"true\"\n"), "{yaml}");
        for line in yaml.lines() {
            let (k, v) = line.split_once(": ").unwrap();
            let key: String = serde_json::from_str(k).unwrap();
            let value: String = serde_json::from_str(v).unwrap();
            assert_eq!(map[&key].expose(), value);
        }
        assert_eq!(to_yaml(&EnvMap::new()), "{}\n");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn round_trip(entries in proptest::collection::vec((key(), value()), 0..12)) {
            let map: EnvMap = entries.into_iter().map(|(k, v)| (k, SecretString::new(v))).collect();
            let text = serialize(&map);
            let back = parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(back, map);
        }

        #[test]
        fn yaml_lines_read_back(entries in proptest::collection::vec((key(), value()), 1..8)) {
            let map: EnvMap = entries.into_iter().map(|(k, v)| (k, SecretString::new(v))).collect();
            let yaml = to_yaml(&map);
            let mut back = EnvMap::new();
            for line in yaml.lines() {
                let (k, v) = line.split_once("\": \"").ok_or_else(|| TestCaseError::fail(line.to_owned()))?;
                let key: String = serde_json::from_str(&format!("{k}\"")).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let value: String = serde_json::from_str(&format!("\"{v}")).map_err(|e| TestCaseError::fail(e.to_string()))?;
                back.insert(key, SecretString::new(value));
            }
            prop_assert_eq!(back, map);
        }

        #[test]
        fn parse_never_panics(text in "(.|\n|\r)*") {
            let _ = parse(&text);
        }
    }
}
