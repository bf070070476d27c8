//! DotEnv's wire encryption (`shared/seeds/dotenv-cloud.txt`) and the key
//! proof of its client-managed projects.
//!
//! - Wire format: AES-256-GCM, `base64(IV(12) ‖ ciphertext ‖ tag(16))`,
//!   standard base64, no associated data (as the seed's clients send it).
//! - A server-managed project's *exchange key* is what `key:retrieve`
//!   hands out: `HKDF-SHA256(IKM = the project's data key, salt =
//!   "hush-dotenv-exchange-v1", info = the project's id)`. It is not the
//!   data key: values at rest stay sealed under the data key with their
//!   project, scope and name as associated data, so a client holding the
//!   exchange key can read what it is sent but cannot open, move or forge
//!   rows in the database.
//! - A client-managed project's *key proof* is
//!   `hex(PBKDF2-HMAC-SHA256(password = the client's raw 32-byte key,
//!   salt, iterations, 32 bytes))`, with the salt and iterations the
//!   project's key verification records. The server keeps the proof's
//!   SHA-256 only and compares in constant time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::crypto::aead::{self, AeadKey};
use crate::crypto::kdf::{hkdf_sha256, pbkdf2_sha256};
use crate::SecretString;

/// HKDF salt of exchange keys (a version tag, so a later scheme derives
/// different keys).
const EXCHANGE_SALT: &[u8] = b"hush-dotenv-exchange-v1";
/// Fewest PBKDF2 iterations a key verification may ask for.
pub const MIN_PROOF_ITERATIONS: u32 = 100_000;
/// Most PBKDF2 iterations a key verification may ask for (a client must be
/// able to compute the proof on every write).
pub const MAX_PROOF_ITERATIONS: u32 = 10_000_000;
/// Fewest salt bytes of a key verification.
pub const MIN_PROOF_SALT: usize = 16;

/// Why a wire ciphertext was refused. Never says more than which check.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExchangeError {
    /// Not standard base64.
    #[error("not standard base64")]
    Base64,
    /// Too short to hold an IV and a tag.
    #[error("too short for AES-256-GCM: {0} bytes, need at least 28 (IV 12 + tag 16)")]
    Truncated(usize),
    /// Authentication failed: another key, or altered bytes.
    #[error("does not decrypt with this project's exchange key (another key, or altered)")]
    Decrypt,
}

/// A server-managed project's DotEnv exchange key. Not `Clone`; zeroized
/// on drop; `Debug` redacts.
pub struct ExchangeKey(AeadKey);

impl std::fmt::Debug for ExchangeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeKey(***)")
    }
}

impl ExchangeKey {
    /// The exchange key of the project `project_id` whose data key is
    /// `dek`.
    pub fn derive(dek: &[u8; 32], project_id: &str) -> Self {
        let bytes = hkdf_sha256::<32>(dek, EXCHANGE_SALT, project_id.as_bytes());
        Self(AeadKey::from_bytes(*bytes))
    }

    /// The key as a client receives it: standard base64 of 32 bytes.
    pub fn encode(&self) -> SecretString {
        SecretString::new(STANDARD.encode(self.0.expose_bytes()))
    }

    /// `plaintext` in the wire format, under a fresh random IV.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, crate::crypto::CryptoError> {
        Ok(STANDARD.encode(aead::seal(&self.0, &[], plaintext)?))
    }

    /// The plaintext of a wire ciphertext.
    pub fn open(&self, wire: &str) -> Result<Zeroizing<Vec<u8>>, ExchangeError> {
        let sealed = decode_wire(wire)?;
        aead::open(&self.0, &[], &sealed).map_err(|_| ExchangeError::Decrypt)
    }
}

/// The bytes of a wire ciphertext, checked for shape only (what the server
/// can check of a client-managed blob).
pub fn decode_wire(wire: &str) -> Result<Vec<u8>, ExchangeError> {
    let sealed = STANDARD
        .decode(wire.trim())
        .map_err(|_| ExchangeError::Base64)?;
    if sealed.len() < aead::NONCE_LEN + aead::TAG_LEN {
        return Err(ExchangeError::Truncated(sealed.len()));
    }
    Ok(sealed)
}

/// A client-managed project's key proof for `key` (see the module docs).
pub fn key_proof(key: &[u8], salt: &[u8], iterations: u32) -> SecretString {
    let proof = pbkdf2_sha256::<32>(key, salt, iterations);
    SecretString::new(proof.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: &str = "0b5c7d2e-1f3a-4b6c-8d9e-0a1b2c3d4e5f";

    fn dek() -> [u8; 32] {
        std::array::from_fn(|i| i as u8)
    }

    // Vectors computed independently with Python's `cryptography`
    // (HKDF, AESGCM) and `hashlib.pbkdf2_hmac`.
    #[test]
    fn exchange_key_vector() {
        let key = ExchangeKey::derive(&dek(), PROJECT);
        assert_eq!(
            key.encode().expose(),
            "+5gbe58BY0PST3NgwWo8dFG6U2fQJBCCw1z/n5etbwQ="
        );
        assert_eq!(format!("{key:?}"), "ExchangeKey(***)");
    }

    #[test]
    fn wire_format_vector() {
        let key = ExchangeKey::derive(&dek(), PROJECT);
        let text = b"API_KEY=\"sk_live_123\"\nDEBUG=false\n";
        let sealed = aead::seal_with_nonce(&key.0, &[7; 12], &[], text).unwrap();
        let wire = STANDARD.encode(sealed);
        assert_eq!(
            wire,
            "BwcHBwcHBwcHBwcHXZcoECTmTHokK8saIrv5ucowS4BBx0WWyGILKmcWOsI2ZooYiZL7yMPcwAYamYBDm7k="
        );
        assert_eq!(key.open(&wire).unwrap().as_slice(), text);
        // Random IVs: sealing twice differs, both open.
        let (a, b) = (key.seal(text).unwrap(), key.seal(text).unwrap());
        assert_ne!(a, b);
        assert_eq!(key.open(&b).unwrap().as_slice(), text);
    }

    #[test]
    fn bad_wire_is_refused_by_kind() {
        let key = ExchangeKey::derive(&dek(), PROJECT);
        assert_eq!(key.open("not base64!").unwrap_err(), ExchangeError::Base64);
        assert_eq!(key.open("AAAA").unwrap_err(), ExchangeError::Truncated(3));
        let other = ExchangeKey::derive(&dek(), "another-project");
        let wire = other.seal(b"X=1").unwrap();
        assert_eq!(key.open(&wire).unwrap_err(), ExchangeError::Decrypt);
        let mut bytes = STANDARD.decode(key.seal(b"X=1").unwrap()).unwrap();
        bytes[13] ^= 1;
        assert_eq!(
            key.open(&STANDARD.encode(bytes)).unwrap_err(),
            ExchangeError::Decrypt
        );
    }

    #[test]
    fn key_proof_vector() {
        let proof = key_proof(&[0x42; 32], b"saltsaltsaltsalt", 100_000);
        assert_eq!(
            proof.expose(),
            "8c21d261e574b34dca009966697e8431665c02537427c85f750fa74c5789e132"
        );
    }
}
