//! Name rules: secret names, slugs and tags.
//!
//! Every rule lives here once. Inputs are parsed into newtypes
//! ([`SecretName`], [`Slug`], [`Tag`]) at the edge, so code further in (the
//! store, the services) cannot be handed a name nobody checked.

use std::fmt;

use thiserror::Error;

/// Longest secret name any rule set accepts.
pub const MAX_SECRET_NAME_LEN: usize = 256;
/// Longest slug (organization, project, target, environment) or tag.
pub const MAX_SLUG_LEN: usize = 64;

/// Why a name, slug or tag was refused. Messages name the offending input
/// (names are not secret) and the rule it broke, so a user can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// A secret name that is the empty string.
    #[error("secret name is empty")]
    EmptyName,
    /// A secret name longer than [`MAX_SECRET_NAME_LEN`].
    #[error("secret name is {len} bytes long; the limit is {max}")]
    NameTooLong {
        /// Length of the refused name in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A secret name that breaks the character rules of its rule set.
    #[error("invalid secret name {name:?}: {rule} names must match {pattern}")]
    InvalidSecretName {
        /// The refused name.
        name: String,
        /// The rule set that refused it.
        rule: NameRule,
        /// The rule as a regular expression, for the message.
        pattern: &'static str,
    },
    /// A slug outside `^[a-z0-9_-]{1,64}$`.
    #[error("invalid {what} slug {slug:?}: use 1-64 lowercase letters, digits, '-' or '_'")]
    InvalidSlug {
        /// What the slug names ("project", "environment", ...).
        what: &'static str,
        /// The refused slug.
        slug: String,
    },
    /// A tag outside the slug rules.
    #[error("invalid tag {tag:?}: use 1-64 lowercase letters, digits, '-' or '_'")]
    InvalidTag {
        /// The refused tag.
        tag: String,
    },
    /// Free text longer than its field allows.
    #[error("{what} is {len} characters long; the limit is {max}")]
    TextTooLong {
        /// The field ("project name", "note", ...).
        what: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Free text with a character its field has no use for: a control
    /// character (a NUL, or an escape sequence that would drive a terminal
    /// when the text is listed), or a line break in a one-line field.
    #[error("{what} may not contain {kind}")]
    TextCharacter {
        /// The field.
        what: &'static str,
        /// "control characters" or "line breaks".
        kind: &'static str,
    },
}

/// Longest display name (projects, environments, targets, organizations).
pub const MAX_DISPLAY_NAME: usize = 200;
/// Longest token or device name.
pub const MAX_LABEL: usize = 128;

/// What a free-text field allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextRule {
    /// One line: no control characters at all.
    Line,
    /// Several lines: newlines and tabs, no other control characters.
    Lines,
}

impl TextRule {
    /// Checks free text for a field named `what`, at most `max` characters.
    pub fn check(self, what: &'static str, text: &str, max: usize) -> Result<(), NameError> {
        let len = text.chars().count();
        if len > max {
            return Err(NameError::TextTooLong { what, len, max });
        }
        let allowed = |c: char| self == TextRule::Lines && (c == '\n' || c == '\t');
        match text.chars().find(|&c| c.is_control() && !allowed(c)) {
            Some('\n' | '\r') => Err(NameError::TextCharacter {
                what,
                kind: "line breaks",
            }),
            Some(_) => Err(NameError::TextCharacter {
                what,
                kind: "control characters",
            }),
            None => Ok(()),
        }
    }
}

/// The named rule sets for secret names. The native rule is the permissive
/// one hush itself uses; the others are the stricter rules that the
/// compatibility APIs document and must enforce exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// hush's own rule: `^[A-Za-z_][A-Za-z0-9_]*$` — what a shell accepts as
    /// an environment variable name.
    Native,
    /// `^[A-Z][A-Z0-9_]*$` (Hooklistener).
    UpperSnake,
    /// `^[A-Z0-9_]+$` (InsForge).
    UpperAlnum,
}

impl NameRule {
    /// The rule as a regular expression, for messages and documentation.
    pub fn pattern(self) -> &'static str {
        match self {
            NameRule::Native => "^[A-Za-z_][A-Za-z0-9_]*$",
            NameRule::UpperSnake => "^[A-Z][A-Z0-9_]*$",
            NameRule::UpperAlnum => "^[A-Z0-9_]+$",
        }
    }

    fn allows_first(self, c: u8) -> bool {
        match self {
            NameRule::Native => c.is_ascii_alphabetic() || c == b'_',
            NameRule::UpperSnake => c.is_ascii_uppercase(),
            NameRule::UpperAlnum => self.allows_rest(c),
        }
    }

    fn allows_rest(self, c: u8) -> bool {
        match self {
            NameRule::Native => c.is_ascii_alphanumeric() || c == b'_',
            NameRule::UpperSnake | NameRule::UpperAlnum => {
                c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_'
            }
        }
    }

    /// Checks `name` against this rule set and wraps it.
    pub fn parse(self, name: &str) -> Result<SecretName, NameError> {
        let bytes = name.as_bytes();
        let Some((&first, rest)) = bytes.split_first() else {
            return Err(NameError::EmptyName);
        };
        if bytes.len() > MAX_SECRET_NAME_LEN {
            return Err(NameError::NameTooLong {
                len: bytes.len(),
                max: MAX_SECRET_NAME_LEN,
            });
        }
        if !self.allows_first(first) || !rest.iter().all(|&c| self.allows_rest(c)) {
            return Err(NameError::InvalidSecretName {
                name: name.to_owned(),
                rule: self,
                pattern: self.pattern(),
            });
        }
        Ok(SecretName(name.to_owned()))
    }
}

impl fmt::Display for NameRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameRule::Native => "hush",
            NameRule::UpperSnake => "upper-snake",
            NameRule::UpperAlnum => "upper-alphanumeric",
        })
    }
}

/// A secret name that passed a [`NameRule`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecretName(String);

impl SecretName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_slug(s: &str) -> bool {
    (1..=MAX_SLUG_LEN).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'_')
}

/// An identifier that appears in URLs and paths: organizations, projects,
/// targets and environments. Unique among its siblings (the store enforces
/// that part).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slug(String);

impl Slug {
    /// The slug closest to a free-form name (a directory or project
    /// name): lowercase, other characters turned into `-`, trimmed, at
    /// most `max` characters. May be empty; callers pick a fallback.
    pub fn suggest(name: &str, max: usize) -> String {
        name.trim()
            .to_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .trim_matches('-')
            .chars()
            .take(max)
            .collect()
    }
}

impl Slug {
    /// Checks `slug`; `what` names the kind of thing for the error message.
    pub fn parse(what: &'static str, slug: &str) -> Result<Slug, NameError> {
        if is_slug(slug) {
            Ok(Slug(slug.to_owned()))
        } else {
            Err(NameError::InvalidSlug {
                what,
                slug: slug.to_owned(),
            })
        }
    }

    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A label on a secret, used to filter reads. Same character rules as a
/// slug, which also guarantees a tag never contains the `,` that the store
/// uses to join them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    /// Checks `tag`.
    pub fn parse(tag: &str) -> Result<Tag, NameError> {
        if is_slug(tag) {
            Ok(Tag(tag.to_owned()))
        } else {
            Err(NameError::InvalidTag {
                tag: tag.to_owned(),
            })
        }
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn free_text_is_capped_and_printable() {
        assert!(TextRule::Line.check("name", "My App", 10).is_ok());
        assert_eq!(
            TextRule::Line.check("name", &"é".repeat(11), 10),
            Err(NameError::TextTooLong {
                what: "name",
                len: 11,
                max: 10
            })
        );
        for bad in ["a\u{1b}[31m", "a\u{0}", "a\u{85}"] {
            assert_eq!(
                TextRule::Lines.check("note", bad, 100),
                Err(NameError::TextCharacter {
                    what: "note",
                    kind: "control characters"
                }),
                "{bad:?}"
            );
        }
        assert_eq!(
            TextRule::Line.check("name", "two\nlines", 100),
            Err(NameError::TextCharacter {
                what: "name",
                kind: "line breaks"
            })
        );
        assert!(TextRule::Lines
            .check("note", "two\nlines\tand a tab", 100)
            .is_ok());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggested_slugs() {
        assert_eq!(Slug::suggest("My App.v2", 64), "my-app-v2");
        assert_eq!(Slug::suggest("...", 64), "");
        assert_eq!(Slug::suggest(" Proto App ", 5), "proto");
    }

    use super::*;

    #[test]
    fn native_rule() {
        for ok in ["A", "_", "database_url", "API_KEY_2", "x1"] {
            assert!(NameRule::Native.parse(ok).is_ok(), "{ok}");
        }
        for bad in ["1ABC", "A-B", "A B", "Ä", "A.B", "A=B"] {
            assert!(
                matches!(
                    NameRule::Native.parse(bad),
                    Err(NameError::InvalidSecretName { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(NameRule::Native.parse(""), Err(NameError::EmptyName));
        let long = "A".repeat(257);
        assert_eq!(
            NameRule::Native.parse(&long),
            Err(NameError::NameTooLong { len: 257, max: 256 })
        );
        assert!(NameRule::Native.parse(&"A".repeat(256)).is_ok());
    }

    #[test]
    fn seed_rules_are_stricter() {
        assert!(NameRule::UpperSnake.parse("STRIPE_KEY").is_ok());
        assert!(NameRule::UpperSnake.parse("_KEY").is_err());
        assert!(NameRule::UpperSnake.parse("1KEY").is_err());
        assert!(NameRule::UpperSnake.parse("Key").is_err());
        assert!(NameRule::UpperAlnum.parse("1KEY").is_ok());
        assert!(NameRule::UpperAlnum.parse("_KEY").is_ok());
        assert!(NameRule::UpperAlnum.parse("key").is_err());
    }

    #[test]
    fn error_names_input_and_rule() {
        let err = NameRule::UpperSnake.parse("api_key").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("\"api_key\"") && msg.contains("^[A-Z][A-Z0-9_]*$"),
            "{msg}"
        );
    }

    #[test]
    fn slugs() {
        for ok in ["a", "my-app", "prod_eu", "0", &"a".repeat(64)] {
            assert!(Slug::parse("project", ok).is_ok(), "{ok}");
        }
        for bad in ["", "My-App", "a b", "a/b", "é", &"a".repeat(65)] {
            assert!(Slug::parse("project", bad).is_err(), "{bad}");
        }
        let msg = Slug::parse("environment", "Prod").unwrap_err().to_string();
        assert!(
            msg.contains("environment") && msg.contains("\"Prod\""),
            "{msg}"
        );
        assert!(Tag::parse("payments").is_ok());
        assert!(Tag::parse("a,b").is_err());
    }
}
