//! Bearer tokens: how they look, and how they are stored.
//!
//! A token is a kind prefix (`hush_` for API tokens, `hsk_` for read-only
//! pull tokens) followed by 32 random bytes in URL-safe base64. Servers keep
//! only `sha256(token)` in hex: a token has 256 bits of entropy, so a fast
//! hash is enough, and a database leak reveals no usable token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

use crate::crypto::kdf::sha256;
use crate::SecretString;

/// Prefix of API tokens.
pub const API_PREFIX: &str = "hush_";
/// Prefix of read-only pull tokens (as Hep.gg names them).
pub const PULL_PREFIX: &str = "hsk_";
/// Prefix of Hooklistener API keys: hush API tokens limited to the
/// organization's secrets.
pub const HOOKLISTENER_PREFIX: &str = "hklst_";

/// A fresh token with the given prefix.
pub fn generate(prefix: &str) -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut *bytes);
    SecretString::new(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(*bytes)))
}

/// `bytes` random bytes as lowercase hex (vault-env's key format).
pub fn random_hex(bytes: usize) -> SecretString {
    let mut buf = zeroize::Zeroizing::new(vec![0u8; bytes]);
    rand::rngs::OsRng.fill_bytes(&mut buf);
    SecretString::new(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The stored form of a token: lowercase hex SHA-256.
pub fn hash(token: &str) -> String {
    sha256(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The part of a token safe to display: its prefix and four characters.
pub fn display_prefix(token: &str) -> String {
    let end = token
        .find('_')
        .map_or(0, |i| i + 1)
        .saturating_add(4)
        .min(token.len());
    token.get(..end).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let a = generate(API_PREFIX);
        let b = generate(API_PREFIX);
        assert!(a.expose().starts_with("hush_"));
        assert_eq!(a.len(), 5 + 43);
        assert_ne!(a, b);
        assert_eq!(hash(a.expose()).len(), 64);
        assert_ne!(hash(a.expose()), hash(b.expose()));
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(display_prefix("hsk_abcdefgh"), "hsk_abcd");
        assert_eq!(display_prefix("x"), "x");
    }
}
