//! Key derivation and message authentication over SHA-256.
//!
//! Thin, typed wrappers so that the wire formats built on them (vault-env's
//! HKDF/HMAC request signing, Hep.gg's PBKDF2 passphrase keys) call one
//! vetted implementation, checked here against published vectors.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HmacSha256 = Hmac<Sha256>;

/// HKDF-SHA256 (RFC 5869) extract-and-expand into `N` bytes. `N` is at most
/// 255 × 32 = 8160 bytes; every caller asks for a key-sized output.
pub fn hkdf_sha256<const N: usize>(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    let salt = (!salt.is_empty()).then_some(salt);
    // `expand` only fails for N > 8160, which the callers' sizes rule out.
    if Hkdf::<Sha256>::new(salt, ikm)
        .expand(info, &mut *out)
        .is_err()
    {
        out.fill(0);
    }
    out
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Checks an HMAC-SHA256 tag in constant time.
pub fn verify_hmac_sha256(key: &[u8], message: &[u8], tag: &[u8]) -> bool {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(message);
            mac.verify_slice(tag).is_ok()
        }
        Err(_) => false,
    }
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) into `N` bytes.
pub fn pbkdf2_sha256<const N: usize>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut *out);
    out
}

/// SHA-256 digest; how tokens are stored (a token has 256 bits of entropy,
/// so a fast hash is the right tool, not a password hash).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 test case 1.
    #[test]
    fn hkdf_rfc5869_case1() {
        let ikm = [0x0b; 22];
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let okm = hkdf_sha256::<42>(&ikm, &salt, &info);
        assert_eq!(
            hex::encode(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    /// RFC 5869 test case 3: empty salt and info.
    #[test]
    fn hkdf_rfc5869_case3() {
        let okm = hkdf_sha256::<42>(&[0x0b; 22], b"", b"");
        assert_eq!(
            hex::encode(*okm),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
        );
    }

    /// RFC 4231 test case 2.
    #[test]
    fn hmac_rfc4231_case2() {
        let tag = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing!",
            &tag
        ));
        assert!(!verify_hmac_sha256(
            b"Jefe",
            b"what do ya want for nothing?",
            &tag[..31]
        ));
    }

    /// PBKDF2-HMAC-SHA256 vectors (the RFC 6070 inputs, SHA-256 outputs as
    /// published alongside RFC 7914 and cross-checked with Python hashlib).
    #[test]
    fn pbkdf2_sha256_vectors() {
        assert_eq!(
            hex::encode(*pbkdf2_sha256::<32>(b"password", b"salt", 1)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"
        );
        assert_eq!(
            hex::encode(*pbkdf2_sha256::<32>(b"password", b"salt", 4096)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"
        );
        assert_eq!(
            hex::encode(*pbkdf2_sha256::<40>(
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                4096
            )),
            "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"
        );
    }

    #[test]
    fn sha256_vector() {
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
