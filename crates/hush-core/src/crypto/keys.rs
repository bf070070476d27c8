//! The server-side key hierarchy.
//!
//! ```text
//! master key (32 bytes, in a 0600 file or HUSH_MASTER_KEY)
//!   └─ wraps one random data key (DEK) per project   aad = "hush/v1/dek" ‖ project id
//!        └─ encrypts each secret value                aad = "hush/v1/value" ‖ project ‖ scope ‖ name
//! ```
//!
//! Rotating the master key rewraps DEKs only; values are never touched.
//! Binding values to (project, scope, name) means that someone with write
//! access to the database cannot move a ciphertext to another key, scope or
//! project and have it decrypt there.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use zeroize::Zeroizing;

use super::aead::{open, seal, AeadKey};
use super::kdf::hkdf_sha256;
use super::CryptoError;
use crate::SecretString;

/// The root key of a hush server.
#[derive(Debug)]
pub struct MasterKey(AeadKey);

impl MasterKey {
    /// A fresh random master key (first start of a server).
    pub fn generate() -> Self {
        Self(AeadKey::generate())
    }

    /// A master key from its 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(AeadKey::from_bytes(bytes))
    }

    /// Reads a master key written as base64 (padded or not) or as 64 hex
    /// digits; surrounding whitespace (a trailing newline in a file) is ignored.
    pub fn decode(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let bytes = Zeroizing::new(
            if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
                decode_hex(text)?
            } else {
                STANDARD
                    .decode(text)
                    .or_else(|_| STANDARD_NO_PAD.decode(text))
                    .map_err(|_| CryptoError::KeyEncoding("expected base64 or 64 hex digits"))?
            },
        );
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::KeyEncoding("a master key is exactly 32 bytes"))?;
        Ok(Self::from_bytes(array))
    }

    /// The key as base64, the form written to the key file.
    pub fn encode(&self) -> Zeroizing<String> {
        Zeroizing::new(STANDARD.encode(self.0.expose_bytes()))
    }

    /// A short public fingerprint, stored next to each wrapped DEK so that a
    /// server started with the wrong master key says so plainly instead of
    /// failing every decryption.
    pub fn id(&self) -> String {
        let digest = hkdf_sha256::<8>(self.0.expose_bytes(), b"", b"hush/v1/master-key-id");
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Encrypts a project's data key for storage.
    pub fn wrap(&self, dek: &DataKey, project_id: &str) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, &dek_aad(project_id), dek.0.expose_bytes())
    }

    /// Recovers a project's data key; fails if the key, the project id or
    /// the stored bytes differ from what [`MasterKey::wrap`] saw.
    pub fn unwrap(&self, wrapped: &[u8], project_id: &str) -> Result<DataKey, CryptoError> {
        let raw = open(&self.0, &dek_aad(project_id), wrapped)?;
        let array: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Decrypt)?;
        Ok(DataKey(AeadKey::from_bytes(array)))
    }
}

impl MasterKey {
    /// Encrypts a small secret the server must be able to use again (a
    /// vault-env project's request-signing key), bound to what it is for
    /// and whose it is, so a sealed value moved elsewhere does not open.
    pub fn seal_secret(
        &self,
        purpose: &str,
        owner: &str,
        secret: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, &secret_aad(purpose, owner), secret)
    }

    /// Opens what [`MasterKey::seal_secret`] sealed for the same purpose
    /// and owner.
    pub fn open_secret(
        &self,
        purpose: &str,
        owner: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        open(&self.0, &secret_aad(purpose, owner), sealed)
    }
}

fn secret_aad(purpose: &str, owner: &str) -> Vec<u8> {
    framed(b"hush/v1/secret", &[purpose.as_bytes(), owner.as_bytes()])
}

fn decode_hex(text: &str) -> Result<Vec<u8>, CryptoError> {
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16)
                .map_err(|_| CryptoError::KeyEncoding("invalid hex digit"))
        })
        .collect()
}

fn dek_aad(project_id: &str) -> Vec<u8> {
    framed(b"hush/v1/dek", &[project_id.as_bytes()])
}

/// Domain tag followed by each field as u32 big-endian length ‖ bytes, so
/// no two different field lists can produce the same associated data.
fn framed(domain: &[u8], fields: &[&[u8]]) -> Vec<u8> {
    let mut out = domain.to_vec();
    for field in fields {
        // Fields are ids and names (at most a few hundred bytes).
        out.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// A project's data key: encrypts that project's secret values.
#[derive(Debug)]
pub struct DataKey(AeadKey);

impl DataKey {
    /// A fresh random data key (new server-mode project).
    pub fn generate() -> Self {
        Self(AeadKey::generate())
    }

    /// The project's DotEnv exchange key, derived from this key (see
    /// [`crate::exchange`]): handed to clients instead of this one.
    pub fn exchange_key(&self, project_id: &str) -> crate::exchange::ExchangeKey {
        crate::exchange::ExchangeKey::derive(self.0.expose_bytes(), project_id)
    }

    /// Encrypts one secret value for the place `ctx` names.
    pub fn encrypt_value(
        &self,
        ctx: &ValueContext<'_>,
        value: &SecretString,
    ) -> Result<Vec<u8>, CryptoError> {
        seal(&self.0, &ctx.aad(), value.expose().as_bytes())
    }

    /// Decrypts one secret value; fails if it was encrypted for another place.
    pub fn decrypt_value(
        &self,
        ctx: &ValueContext<'_>,
        sealed: &[u8],
    ) -> Result<SecretString, CryptoError> {
        let mut plain = open(&self.0, &ctx.aad(), sealed)?;
        let bytes = std::mem::take(&mut *plain);
        String::from_utf8(bytes)
            .map(SecretString::new)
            .map_err(|err| {
                // Zeroize the bytes that failed to convert before dropping them.
                drop(Zeroizing::new(err.into_bytes()));
                CryptoError::NotUtf8
            })
    }
}

/// Where a value lives: what its ciphertext is bound to.
#[derive(Debug, Clone, Copy)]
pub struct ValueContext<'a> {
    /// The owning project's id.
    pub project_id: &'a str,
    /// The scope key (project, target and environment ids).
    pub scope: &'a str,
    /// The secret's name.
    pub name: &'a str,
}

impl ValueContext<'_> {
    fn aad(&self) -> Vec<u8> {
        framed(
            b"hush/v1/value",
            &[
                self.project_id.as_bytes(),
                self.scope.as_bytes(),
                self.name.as_bytes(),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::aead::seal_with_nonce;
    use proptest::prelude::*;

    const CTX: ValueContext<'static> = ValueContext {
        project_id: "p1",
        scope: "p1//",
        name: "API_KEY",
    };

    #[test]
    fn sealed_secrets_open_only_for_their_purpose_and_owner() {
        let master = MasterKey::generate();
        let sealed = master
            .seal_secret("vaultenv-auth-key", "p1", &[5u8; 32])
            .unwrap();
        assert_eq!(
            master
                .open_secret("vaultenv-auth-key", "p1", &sealed)
                .unwrap()
                .as_slice(),
            &[5u8; 32]
        );
        assert!(master
            .open_secret("vaultenv-auth-key", "p2", &sealed)
            .is_err());
        assert!(master.open_secret("other", "p1", &sealed).is_err());
        assert!(MasterKey::generate()
            .open_secret("vaultenv-auth-key", "p1", &sealed)
            .is_err());
    }

    #[test]
    fn master_key_encodings() {
        let key = MasterKey::generate();
        let again = MasterKey::decode(&format!("{}\n", key.encode().as_str())).unwrap();
        assert_eq!(key.id(), again.id());
        let hex_key = MasterKey::decode(&"ab".repeat(32)).unwrap();
        assert_eq!(hex_key.id(), MasterKey::from_bytes([0xab; 32]).id());
        assert!(matches!(
            MasterKey::decode("c2hvcnQ="),
            Err(CryptoError::KeyEncoding(_))
        ));
        assert!(matches!(
            MasterKey::decode("not base64!"),
            Err(CryptoError::KeyEncoding(_))
        ));
        assert_ne!(MasterKey::generate().id(), key.id());
        assert!(!format!("{key:?}").contains(key.encode().as_str()));
    }

    #[test]
    fn dek_wrap_is_bound_to_key_and_project() {
        let master = MasterKey::generate();
        let dek = DataKey::generate();
        let wrapped = master.wrap(&dek, "p1").unwrap();
        let back = master.unwrap(&wrapped, "p1").unwrap();
        let sealed = dek.encrypt_value(&CTX, &"v".into()).unwrap();
        assert_eq!(back.decrypt_value(&CTX, &sealed).unwrap(), "v".into());
        assert_eq!(
            master.unwrap(&wrapped, "p2").err(),
            Some(CryptoError::Decrypt)
        );
        assert_eq!(
            MasterKey::generate().unwrap(&wrapped, "p1").err(),
            Some(CryptoError::Decrypt)
        );
    }

    #[test]
    fn value_bound_to_project_scope_and_name() {
        let dek = DataKey::generate();
        let sealed = dek.encrypt_value(&CTX, &"secret".into()).unwrap();
        for other in [
            ValueContext {
                project_id: "p2",
                ..CTX
            },
            ValueContext {
                scope: "p1//e1",
                ..CTX
            },
            ValueContext {
                name: "OTHER",
                ..CTX
            },
            // Framing: moving bytes between fields must not collide.
            ValueContext {
                project_id: "p1p",
                scope: "1//",
                ..CTX
            },
        ] {
            assert_eq!(
                dek.decrypt_value(&other, &sealed),
                Err(CryptoError::Decrypt)
            );
        }
    }

    /// Wire-format vector for values at rest: fixed DEK, nonce and context
    /// give these exact bytes (`nonce ‖ ciphertext ‖ tag`).
    #[test]
    fn value_wire_vector() {
        let dek = AeadKey::from_bytes([0x42; 32]);
        let aad = CTX.aad();
        assert_eq!(
            hex::encode(&aad),
            "687573682f76312f76616c75650000000270310000000470312f2f000000074150495f4b4559"
        );
        let sealed = seal_with_nonce(&dek, &[7u8; 12], &aad, b"hello").unwrap();
        assert_eq!(hex::encode(&sealed), VALUE_VECTOR);
        let key = DataKey(AeadKey::from_bytes([0x42; 32]));
        assert_eq!(key.decrypt_value(&CTX, &sealed).unwrap(), "hello".into());
    }

    /// Computed independently with Python `cryptography` (AESGCM).
    const VALUE_VECTOR: &str = "070707070707070707070707108731c0daf4bbee9ca03fe1bca6ba3b799dc25e18";

    proptest! {
        #[test]
        fn values_round_trip(value in ".{0,300}") {
            let dek = DataKey::generate();
            let sealed = dek.encrypt_value(&CTX, &value.as_str().into()).unwrap();
            let back = dek.decrypt_value(&CTX, &sealed).unwrap();
            prop_assert_eq!(back.expose(), value.as_str());
        }
    }
}
