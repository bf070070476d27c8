//! Redacting containers for secret material.
//!
//! A secret value must never reach a log line, a panic message or a debug
//! print by accident, so the only way to see it is an explicit, greppable
//! call to [`SecretString::expose`]. The memory is zeroized on drop, the type
//! is neither `Clone` nor `Serialize`, and equality is constant-time so that
//! comparing a guess against a stored value leaks nothing through timing.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A UTF-8 secret value (a secret's plaintext, a passphrase, a token).
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Wraps `value`; the caller's copy moves in and is zeroized with it.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The plaintext. Every call site is a place where a secret leaves its
    /// box, so keep them few and easy to audit (`grep expose`).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes, which limits are expressed in; not itself secret
    /// enough to hide from error messages about size.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty value (`KEY=` in a .env file).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// An explicit copy. There is deliberately no `Clone` impl, so copies of
    /// secrets show up in review as calls to this function.
    pub fn duplicate(&self) -> Self {
        Self::new(self.0.as_str().to_owned())
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self::new(value.to_owned())
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for SecretString {}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a value cannot be placed in a process environment, if it cannot:
/// the operating system ends an environment string at its first NUL byte,
/// so such a value would be cut short silently (and Rust refuses it).
/// Servers refuse these values at write time; clients check old values
/// before injecting them.
pub fn env_refusal(name: &str, value: &str) -> Option<&'static str> {
    if name.is_empty() || name.contains(['=', '\0']) {
        Some("its name is empty or contains '=' or a NUL byte")
    } else if value.contains('\0') {
        Some("its value contains a NUL byte, which no environment variable can hold")
    } else {
        None
    }
}

/// Constant-time equality of two byte strings (tokens, proofs, MACs). A
/// length difference returns early, which reveals only the length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let s = SecretString::from("hunter2");
        assert_eq!(format!("{s:?}"), "SecretString(***)");
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}{s}").contains("hunter2"));
    }

    #[test]
    fn environment_refusals() {
        assert_eq!(env_refusal("A", "x"), None);
        assert!(env_refusal("A", "x\0y").is_some());
        assert!(env_refusal("A=B", "x").is_some());
        assert!(env_refusal("", "x").is_some());
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(SecretString::from("a"), SecretString::from("a"));
        assert_ne!(SecretString::from("a"), SecretString::from("b"));
        assert_ne!(SecretString::from("a"), SecretString::from("ab"));
        assert!(constant_time_eq(b"tok", b"tok"));
        assert!(!constant_time_eq(b"tok", b"tak"));
    }
}
