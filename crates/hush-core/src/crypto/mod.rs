//! All of hush's cryptography, built only from audited RustCrypto crates.
//!
//! - [`aead`]: AES-256-GCM with a fresh random 96-bit nonce per message and
//!   associated data binding every ciphertext to where it belongs.
//! - [`keys`]: the server-side key hierarchy (master key → per-project data
//!   key → values).
//! - [`kdf`]: HKDF, HMAC and PBKDF2 over SHA-256, used by the wire formats.

pub mod aead;
pub mod kdf;
pub mod keys;

use thiserror::Error;

pub use aead::{open, seal, AeadKey, NONCE_LEN, TAG_LEN};
pub use keys::{DataKey, MasterKey, ValueContext};

/// Why a cryptographic operation failed. Deliberately vague about *which*
/// check failed: a decryption error must not help an attacker.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    /// Authentication failed: wrong key, wrong context, or tampered bytes.
    #[error("decryption failed: wrong key, or the ciphertext was altered or moved")]
    Decrypt,
    /// The plaintext exceeds what AES-GCM can encrypt under one nonce.
    #[error("plaintext too large to encrypt")]
    Encrypt,
    /// The ciphertext is too short to hold a nonce and a tag.
    #[error("ciphertext is truncated ({len} bytes)")]
    Truncated {
        /// Length of the refused input.
        len: usize,
    },
    /// A key given as text could not be decoded into 32 bytes.
    #[error("invalid key encoding: {0}")]
    KeyEncoding(&'static str),
    /// Decrypted bytes that should be text are not UTF-8.
    #[error("decrypted value is not valid UTF-8")]
    NotUtf8,
}
