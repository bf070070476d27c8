//! End-to-end-encrypted projects, the Hep.gg scheme
//! (`shared/seeds/hepgg-secrets.txt`): the server stores only ciphertext and
//! the key metadata below, and can decrypt nothing.
//!
//! - A random 32-byte project data key (DEK) encrypts every value with
//!   AES-256-GCM: `base64(iv(12) ‖ ciphertext ‖ tag(16))`, no associated
//!   data (as the seed's clients do).
//! - The passphrase and a random recovery key each derive a wrapping key
//!   with `PBKDF2-SHA256(secret, salt, iterations)` (default 210,000); each
//!   wraps the DEK the same way (`wrappedDekPass`, `wrappedDekRec`).
//! - `verifier` = `base64(HMAC-SHA256(DEK, "hush-e2ee-verifier-v1"))`: public,
//!   identifies the DEK (a passphrase change must keep it). Opening a
//!   project relies on the unwrap's authentication, not on the verifier,
//!   whose form the seed leaves to each client.
//! - The key proof = hex `HMAC-SHA256(DEK, "hush-e2ee-key-proof-v1")`: sent
//!   with writes; the server keeps its SHA-256 and compares in constant
//!   time, so a client holding a wrong key cannot write values nobody can
//!   read. It is not in the public metadata.
//!
//! Salts, wrapped keys and verifier are standard base64. The recovery key
//! is shown to the user once as 64 hex digits in eight dash-separated
//! groups; PBKDF2 gets it normalized (lowercase, no dashes).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use thiserror::Error;

use crate::crypto::aead::{self, AeadKey};
use crate::crypto::kdf::{hmac_sha256, pbkdf2_sha256};
use crate::SecretString;

/// PBKDF2 iterations for new projects.
pub const DEFAULT_ITERATIONS: u32 = 210_000;
/// Fewer would make passphrases cheap to guess.
pub const MIN_ITERATIONS: u32 = 100_000;
/// Salt length in bytes.
const SALT_LEN: usize = 16;

/// Why an E2EE operation failed. Never says which secret was tried.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum E2eeError {
    /// Neither the passphrase nor a recovery key opens the data key.
    #[error("wrong passphrase or recovery key")]
    WrongKey,
    /// A value does not decrypt under the data key.
    #[error(
        "a value does not decrypt with this project's key (altered, or written with another key)"
    )]
    Value,
    /// Metadata that is not what this scheme writes.
    #[error("malformed end-to-end encryption metadata: {0}")]
    Malformed(&'static str),
}

/// The public key metadata of a project (the seed's `e2eeMeta`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Salt of the passphrase (base64).
    pub salt_pass: String,
    /// DEK wrapped by the passphrase key (base64).
    pub wrapped_dek_pass: String,
    /// Salt of the recovery key (base64).
    pub salt_rec: String,
    /// DEK wrapped by the recovery key (base64).
    pub wrapped_dek_rec: String,
    /// Identifies the DEK (base64).
    pub verifier: String,
}

/// A project's data key. Not `Clone`; zeroized on drop; `Debug` redacts.
pub struct Dek(AeadKey);

impl std::fmt::Debug for Dek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dek(***)")
    }
}

/// What creating a project produces on the client.
#[derive(Debug)]
pub struct Created {
    /// The data key.
    pub dek: Dek,
    /// Metadata for the server.
    pub meta: Meta,
    /// Shown to the user once; unlocks the project without the passphrase.
    pub recovery_key: SecretString,
    /// Registered with the server; sent with every write.
    pub key_proof: SecretString,
}

/// A new project key protected by `passphrase` and a fresh recovery key.
pub fn create(passphrase: &SecretString, iterations: u32) -> Result<Created, E2eeError> {
    let dek = Dek(AeadKey::generate());
    let recovery_key = new_recovery_key();
    let (salt_pass, wrapped_dek_pass) = wrap_with(&dek, passphrase.expose(), iterations)?;
    let normalized = normalize_recovery_key(recovery_key.expose())
        .ok_or(E2eeError::Malformed("recovery key"))?;
    let (salt_rec, wrapped_dek_rec) = wrap_with(&dek, normalized.expose(), iterations)?;
    let meta = Meta {
        iterations,
        salt_pass,
        wrapped_dek_pass,
        salt_rec,
        wrapped_dek_rec,
        verifier: verifier(&dek),
    };
    let key_proof = key_proof(&dek);
    Ok(Created {
        dek,
        meta,
        recovery_key,
        key_proof,
    })
}

/// Opens the data key with a passphrase or a recovery key (either works).
pub fn unlock(meta: &Meta, secret: &SecretString) -> Result<Dek, E2eeError> {
    if meta.iterations < MIN_ITERATIONS {
        return Err(E2eeError::Malformed("too few PBKDF2 iterations"));
    }
    let mut attempts = vec![(
        secret.expose().to_owned(),
        &meta.salt_pass,
        &meta.wrapped_dek_pass,
    )];
    if let Some(recovery) = normalize_recovery_key(secret.expose()) {
        attempts.insert(
            0,
            (
                recovery.expose().to_owned(),
                &meta.salt_rec,
                &meta.wrapped_dek_rec,
            ),
        );
    }
    for (secret, salt, wrapped) in attempts {
        let secret = zeroize::Zeroizing::new(secret);
        let salt = decode(salt, "salt")?;
        let kek = kek(&secret, &salt, meta.iterations);
        if let Ok(raw) = aead::open(&kek, b"", &decode(wrapped, "wrapped key")?) {
            let bytes: [u8; 32] = raw
                .as_slice()
                .try_into()
                .map_err(|_| E2eeError::Malformed("wrapped key length"))?;
            // AES-GCM authenticated the unwrap: this is the data key. The
            // verifier is not checked here: the seed leaves its form to
            // each client, and hush opens projects other clients made.
            return Ok(Dek(AeadKey::from_bytes(bytes)));
        }
    }
    Err(E2eeError::WrongKey)
}

/// New salt and wrapped DEK for a new passphrase (values stay as they are).
pub fn rewrap(
    dek: &Dek,
    new_secret: &SecretString,
    iterations: u32,
) -> Result<(String, String), E2eeError> {
    wrap_with(dek, new_secret.expose(), iterations)
}

/// A new recovery key for the DEK: (recovery key, salt, wrapped DEK).
pub fn new_recovery(
    dek: &Dek,
    iterations: u32,
) -> Result<(SecretString, String, String), E2eeError> {
    let recovery_key = new_recovery_key();
    let normalized = normalize_recovery_key(recovery_key.expose())
        .ok_or(E2eeError::Malformed("recovery key"))?;
    let (salt, wrapped) = wrap_with(dek, normalized.expose(), iterations)?;
    Ok((recovery_key, salt, wrapped))
}

fn wrap_with(dek: &Dek, secret: &str, iterations: u32) -> Result<(String, String), E2eeError> {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let kek = kek(secret, &salt, iterations);
    let wrapped =
        aead::seal(&kek, b"", dek.0.expose_bytes()).map_err(|_| E2eeError::Malformed("wrap"))?;
    Ok((STANDARD.encode(salt), STANDARD.encode(wrapped)))
}

fn kek(secret: &str, salt: &[u8], iterations: u32) -> AeadKey {
    AeadKey::from_bytes(*pbkdf2_sha256::<32>(secret.as_bytes(), salt, iterations))
}

/// Encrypts a value: `base64(iv ‖ ciphertext ‖ tag)`.
pub fn encrypt_value(dek: &Dek, plaintext: &str) -> Result<String, E2eeError> {
    let sealed = aead::seal(&dek.0, b"", plaintext.as_bytes()).map_err(|_| E2eeError::Value)?;
    Ok(STANDARD.encode(sealed))
}

/// Decrypts what [`encrypt_value`] (or a Hep.gg client) wrote.
pub fn decrypt_value(dek: &Dek, ciphertext: &str) -> Result<SecretString, E2eeError> {
    let sealed = STANDARD
        .decode(ciphertext.trim())
        .map_err(|_| E2eeError::Value)?;
    let plain = aead::open(&dek.0, b"", &sealed).map_err(|_| E2eeError::Value)?;
    String::from_utf8(plain.to_vec())
        .map(SecretString::new)
        .map_err(|_| E2eeError::Value)
}

/// Whether `text` has the shape of a sealed value (base64 of at least an
/// iv and a tag): what a server holding no key can check before storing
/// what should be ciphertext, so a plaintext sent by mistake is refused.
pub fn is_sealed(text: &str) -> bool {
    STANDARD
        .decode(text.trim())
        .is_ok_and(|bytes| bytes.len() >= aead::NONCE_LEN + aead::TAG_LEN)
}

/// The public verifier of a DEK.
pub fn verifier(dek: &Dek) -> String {
    STANDARD.encode(hmac_sha256(dek.0.expose_bytes(), b"hush-e2ee-verifier-v1"))
}

/// The write key proof of a DEK.
pub fn key_proof(dek: &Dek) -> SecretString {
    let mac = hmac_sha256(dek.0.expose_bytes(), b"hush-e2ee-key-proof-v1");
    SecretString::new(mac.iter().map(|b| format!("{b:02x}")).collect())
}

/// A fresh recovery key: 32 random bytes as `xxxxxxxx-…` (8 × 8 hex).
pub fn new_recovery_key() -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut *bytes);
    let hex: zeroize::Zeroizing<String> =
        zeroize::Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
    let groups: Vec<&str> = (0..8).map(|i| &hex[i * 8..i * 8 + 8]).collect();
    SecretString::new(groups.join("-"))
}

/// A recovery key as PBKDF2 takes it (64 lowercase hex digits), if `text`
/// is one (dashes and spaces ignored).
pub fn normalize_recovery_key(text: &str) -> Option<SecretString> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| SecretString::new(digits))
}

fn decode(text: &str, what: &'static str) -> Result<Vec<u8>, E2eeError> {
    STANDARD
        .decode(text.trim())
        .map_err(|_| E2eeError::Malformed(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead::seal_with_nonce;

    /// Interop vectors (documented in the README): other clients must
    /// produce these bytes. Cross-checked with Python `hashlib.pbkdf2_hmac`
    /// and `cryptography`'s AESGCM.
    #[test]
    fn sealed_values_are_told_from_plaintext() {
        let dek = Dek(AeadKey::from_bytes([7; 32]));
        assert!(is_sealed(&encrypt_value(&dek, "").unwrap()));
        assert!(is_sealed(&encrypt_value(&dek, "postgres://db").unwrap()));
        for plain in ["", "sk_live_123", "postgres://u:p@db/x", "c2hvcnQ="] {
            assert!(!is_sealed(plain), "{plain}");
        }
    }

    #[test]
    fn interop_vectors() {
        let salt = [0x11u8; 16];
        let kek = kek("correct horse battery staple", &salt, 210_000);
        assert_eq!(
            hex(kek.expose_bytes()),
            "b4befed6dde6f6f41cd7e07fd8f82e905265aad5dcb63a3261b2693043f82eff"
        );
        let dek = Dek(AeadKey::from_bytes([0x22u8; 32]));
        let wrapped = seal_with_nonce(&kek, &[0x33u8; 12], b"", dek.0.expose_bytes()).unwrap();
        assert_eq!(
            STANDARD.encode(&wrapped),
            "MzMzMzMzMzMzMzMzVSfyeWtlBLb9hUL7gyfpA7/yH//rTdfkiYFimZnCpvfbZg3skfPk5PFwfA/xmIzd"
        );
        let value = seal_with_nonce(&dek.0, &[0x44u8; 12], b"", b"postgres://db/prod").unwrap();
        assert_eq!(
            STANDARD.encode(&value),
            "RERERERERERERERE4mDWF4VRhvGPinVEQPKns37t/nw+KbG/RVYMXpPaEjcL8g=="
        );
        assert_eq!(
            decrypt_value(&dek, &STANDARD.encode(&value))
                .unwrap()
                .expose(),
            "postgres://db/prod"
        );
        assert_eq!(
            verifier(&dek),
            "eeGmyAX5PHInCrX/w/aRtbsiLXTPyGowFsJMn2e41Rc="
        );
        assert_eq!(
            key_proof(&dek).expose(),
            "c22b15914b243ab4e1f14cbb0ab0e061ff78a0e11468042b2e7863bfb2519214"
        );
    }

    #[test]
    fn passphrase_or_recovery_unlock_and_nothing_else() {
        let pass = SecretString::from("correct horse battery staple");
        let created = create(&pass, MIN_ITERATIONS).unwrap();
        let value = encrypt_value(&created.dek, "s3cr3t").unwrap();
        let by_pass = unlock(&created.meta, &pass).unwrap();
        assert_eq!(decrypt_value(&by_pass, &value).unwrap().expose(), "s3cr3t");
        let shown = created.recovery_key.expose().to_uppercase();
        let by_rec = unlock(&created.meta, &SecretString::new(shown)).unwrap();
        assert_eq!(key_proof(&by_rec), created.key_proof);
        assert_eq!(
            unlock(&created.meta, &"wrong".into()).unwrap_err(),
            E2eeError::WrongKey
        );
        let other = create(&pass, MIN_ITERATIONS).unwrap();
        assert_eq!(
            decrypt_value(&other.dek, &value).unwrap_err(),
            E2eeError::Value
        );

        // A new passphrase rewraps the same DEK: old values still open.
        let (salt, wrapped) = rewrap(&by_pass, &"new passphrase!".into(), MIN_ITERATIONS).unwrap();
        let meta = Meta {
            salt_pass: salt,
            wrapped_dek_pass: wrapped,
            ..created.meta.clone()
        };
        let dek = unlock(&meta, &"new passphrase!".into()).unwrap();
        assert_eq!(decrypt_value(&dek, &value).unwrap().expose(), "s3cr3t");
        assert!(unlock(&meta, &pass).is_err());
        assert!(format!("{dek:?}").contains("***"));
        let too_cheap = Meta {
            iterations: 1,
            ..meta
        };
        assert!(matches!(
            unlock(&too_cheap, &pass),
            Err(E2eeError::Malformed(_))
        ));
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
