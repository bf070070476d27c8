//! AES-256-GCM sealing in hush's one binary layout: `nonce(12) || ciphertext || tag(16)`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use zeroize::Zeroizing;

use super::CryptoError;

/// Bytes of the random nonce at the front of every sealed message.
pub const NONCE_LEN: usize = 12;
/// Bytes of the GCM authentication tag at the end of every sealed message.
pub const TAG_LEN: usize = 16;

/// A 256-bit AES-GCM key with its expanded cipher state. The state is
/// zeroized on drop; there is no `Clone` and `Debug` prints nothing of it.
pub struct AeadKey {
    bytes: Zeroizing<[u8; 32]>,
    cipher: Aes256Gcm,
}

impl AeadKey {
    /// Builds a key from 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let bytes = Zeroizing::new(bytes);
        let cipher = Aes256Gcm::new((&*bytes).into());
        Self { bytes, cipher }
    }

    /// A fresh key from the operating system's CSPRNG.
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut *bytes);
        Self::from_bytes(*bytes)
    }

    /// The raw key, for wrapping it under another key.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadKey(***)")
    }
}

/// Encrypts `plaintext` under `key` with a fresh random nonce, binding `aad`.
/// Fails only for a plaintext beyond GCM's limit (about 64 GiB).
pub fn seal(key: &AeadKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    seal_with_nonce(key, &nonce, aad, plaintext)
}

/// The deterministic core of [`seal`]; only tests (vectors) choose nonces.
pub(crate) fn seal_with_nonce(
    key: &AeadKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let payload = Payload {
        msg: plaintext,
        aad,
    };
    let ciphertext = key
        .cipher
        .encrypt(Nonce::from_slice(nonce), payload)
        .map_err(|_| CryptoError::Encrypt)?;
    let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
    out.extend_from_slice(nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts a message produced by [`seal`] with the same key and `aad`.
pub fn open(key: &AeadKey, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Truncated { len: sealed.len() });
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    key.cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// NIST CAVS gcmEncryptExtIV256.rsp (96-bit IV, 128-bit tag, with AAD).
    #[test]
    fn nist_vector_with_aad() {
        let key: [u8; 32] =
            unhex("92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b")
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = unhex("ac93a1a6145299bde902f21a").try_into().unwrap();
        let pt = unhex("2d71bcfa914e4ac045b2aa60955fad24");
        let aad = unhex("1e0889016f67601c8ebea4943bc23ad6");
        let key = AeadKey::from_bytes(key);
        let sealed = seal_with_nonce(&key, &nonce, &aad, &pt).unwrap();
        let expected = [
            nonce.to_vec(),
            unhex("8995ae2e6df3dbf96fac7b7137bae67f"),
            unhex("eca5aa77d51d4a0a14d9c51e1da474ab"),
        ]
        .concat();
        assert_eq!(hex::encode(&sealed), hex::encode(&expected));
        assert_eq!(open(&key, &aad, &sealed).map(|p| p.to_vec()), Ok(pt));
    }

    /// NIST CAVS: empty plaintext and AAD still authenticate (tag only).
    #[test]
    fn nist_vector_empty() {
        let key: [u8; 32] =
            unhex("b52c505a37d78eda5dd34f20c22540ea1b58963cf8e5bf8ffa85f9f2492505b4")
                .try_into()
                .unwrap();
        let nonce: [u8; 12] = unhex("516c33929df5a3284ff463d7").try_into().unwrap();
        let sealed = seal_with_nonce(&AeadKey::from_bytes(key), &nonce, b"", b"").unwrap();
        assert_eq!(
            hex::encode(&sealed[NONCE_LEN..]),
            "bdc1ac884d332457a1d2664f168c76f0"
        );
    }

    #[test]
    fn nonces_are_fresh() {
        let key = AeadKey::generate();
        let a = seal(&key, b"", b"same").unwrap();
        let b = seal(&key, b"", b"same").unwrap();
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
        assert_ne!(a, b);
    }

    #[test]
    fn truncated_input_is_a_typed_error() {
        let key = AeadKey::generate();
        assert_eq!(
            open(&key, b"", &[0u8; 27]),
            Err(CryptoError::Truncated { len: 27 })
        );
    }

    proptest! {
        #[test]
        fn round_trip_and_tamper(pt in proptest::collection::vec(any::<u8>(), 0..512),
                                 aad in proptest::collection::vec(any::<u8>(), 0..64),
                                 flip in any::<prop::sample::Index>()) {
            let key = AeadKey::generate();
            let sealed = seal(&key, &aad, &pt).unwrap();
            prop_assert_eq!(sealed.len(), NONCE_LEN + pt.len() + TAG_LEN);
            prop_assert_eq!(open(&key, &aad, &sealed).map(|p| p.to_vec()), Ok(pt.clone()));
            // Any single flipped bit anywhere is detected.
            let mut bad = sealed.clone();
            let i = flip.index(bad.len());
            bad[i] ^= 1;
            prop_assert_eq!(open(&key, &aad, &bad), Err(CryptoError::Decrypt));
            // Other AAD or another key fail too.
            let mut other_aad = aad.clone();
            other_aad.push(0);
            prop_assert_eq!(open(&key, &other_aad, &sealed), Err(CryptoError::Decrypt));
            prop_assert_eq!(open(&AeadKey::generate(), &aad, &sealed), Err(CryptoError::Decrypt));
        }
    }
}
