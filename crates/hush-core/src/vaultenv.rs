//! The vault-env wire format (`shared/seeds/vault-env.txt`, and the
//! published `vaultdotenv` client): key derivation, request signatures and
//! the blob layout. The server only verifies signatures; deriving keys and
//! signing are here too so tests can speak the protocol the way the real
//! client does, and are checked against vectors computed with it.
//!
//! - Vault key: `vk_<projectId>_<secret>`.
//! - IKM: the vault key's bytes, or `HMAC-SHA256(vault_key, device_secret)`
//!   when a device secret takes part.
//! - Keys: `HKDF-SHA256(IKM, salt, info = "", 32 bytes)` with salt
//!   `vault-auth-v1` (request signing) or `vault-encrypt-v1` (blobs).
//! - Signature header: `X-Vault-Signature: v=<unix ms>,d=<hex>` where the
//!   digest is `HMAC-SHA256(auth_key, body ‖ decimal ms)`.
//! - Request-bound signatures (hush's extension, for clients that can):
//!   `X-Vault-Signature: v=<unix ms>,d=<hex>,s=2` where the digest is
//!   `HMAC-SHA256(auth_key, METHOD ␠ PATH ⏎ body ‖ decimal ms)`, so a
//!   captured signature cannot be replayed against another endpoint.
//! - Device hash: hex `SHA-256(device_secret)`.
//! - Blob: `base64(iv(12) ‖ tag(16) ‖ ciphertext)` of a JSON object.

use zeroize::Zeroizing;

use crate::crypto::kdf::{hkdf_sha256, hmac_sha256, sha256};
use crate::secret::constant_time_eq;

/// HKDF salt of the request-signing key.
pub const SALT_AUTH: &[u8] = b"vault-auth-v1";
/// HKDF salt of the blob-encryption key.
pub const SALT_ENCRYPT: &[u8] = b"vault-encrypt-v1";
/// How far a signature's timestamp may be from the server's clock.
pub const MAX_SKEW_MS: i64 = 5 * 60 * 1000;

/// A parsed `X-Vault-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The timestamp exactly as sent (it is part of the signed message).
    pub timestamp: String,
    /// Unix milliseconds.
    pub timestamp_ms: i64,
    /// The HMAC-SHA256 digest.
    pub digest: [u8; 32],
    /// Whether the digest covers the method and path too (`s=2`).
    pub bound: bool,
}

/// The request a signature is checked against.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The path, without the query, e.g. `/api/v1/secrets/pull`.
    pub path: &'a str,
    /// The exact body bytes.
    pub body: &'a [u8],
}

impl Signature {
    /// Parses `v=<ms>,d=<64 hex digits>[,s=2]` (any order, spaces
    /// ignored).
    pub fn parse(header: &str) -> Option<Self> {
        let (mut ts, mut digest, mut bound) = (None, None, false);
        for part in header.split(',') {
            match part.trim().split_once('=')? {
                ("v", v) => ts = Some(v.trim()),
                ("d", d) => digest = Some(decode_hex32(d.trim())?),
                ("s", "2") => bound = true,
                _ => return None,
            }
        }
        let timestamp = ts?;
        if timestamp.is_empty()
            || timestamp.len() > 16
            || !timestamp.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(Self {
            timestamp: timestamp.to_owned(),
            timestamp_ms: timestamp.parse().ok()?,
            digest: digest?,
            bound,
        })
    }

    /// Whether this signature is `auth_key`'s over the request (constant
    /// time): over its body, or over method, path and body when bound.
    pub fn verify(&self, auth_key: &[u8; 32], request: SignedRequest<'_>) -> bool {
        let line = self.bound.then_some(request);
        constant_time_eq(
            &digest(auth_key, line, request.body, &self.timestamp),
            &self.digest,
        )
    }

    /// Whether the timestamp is within [`MAX_SKEW_MS`] of `now_ms`.
    pub fn is_fresh(&self, now_ms: i64) -> bool {
        (now_ms - self.timestamp_ms).abs() <= MAX_SKEW_MS
    }

    /// The digest as hex (what replay protection remembers).
    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }
}

fn digest(
    auth_key: &[u8; 32],
    request_line: Option<SignedRequest<'_>>,
    body: &[u8],
    timestamp: &str,
) -> [u8; 32] {
    let mut message = Vec::with_capacity(body.len() + timestamp.len() + 64);
    if let Some(request) = request_line {
        message.extend_from_slice(request.method.as_bytes());
        message.push(b' ');
        message.extend_from_slice(request.path.as_bytes());
        message.push(b'\n');
    }
    message.extend_from_slice(body);
    message.extend_from_slice(timestamp.as_bytes());
    hmac_sha256(auth_key, &message)
}

/// `HKDF(IKM, salt)` as the client derives it.
pub fn derive_key(
    vault_key: &str,
    salt: &[u8],
    device_secret: Option<&str>,
) -> Zeroizing<[u8; 32]> {
    match device_secret {
        Some(device) => {
            let ikm = Zeroizing::new(hmac_sha256(vault_key.as_bytes(), device.as_bytes()));
            hkdf_sha256::<32>(ikm.as_slice(), salt, b"")
        }
        None => hkdf_sha256::<32>(vault_key.as_bytes(), salt, b""),
    }
}

/// The `X-Vault-Signature` value the client sends for `body` at `timestamp_ms`.
pub fn sign(auth_key: &[u8; 32], body: &[u8], timestamp_ms: i64) -> String {
    let timestamp = timestamp_ms.to_string();
    format!(
        "v={timestamp},d={}",
        hex(&digest(auth_key, None, body, &timestamp))
    )
}

/// The request-bound `X-Vault-Signature` (`s=2`) for `request` at
/// `timestamp_ms`.
pub fn sign_request(auth_key: &[u8; 32], request: SignedRequest<'_>, timestamp_ms: i64) -> String {
    let timestamp = timestamp_ms.to_string();
    format!(
        "v={timestamp},d={},s=2",
        hex(&digest(auth_key, Some(request), request.body, &timestamp))
    )
}

/// The device hash the client sends: hex SHA-256 of the device secret.
pub fn device_hash(device_secret: &str) -> String {
    hex(&sha256(device_secret.as_bytes()))
}

/// The project id of a `vk_<projectId>_<secret>` key.
pub fn project_of(vault_key: &str) -> Option<&str> {
    let rest = vault_key.strip_prefix("vk_")?;
    let (project, secret) = rest.split_once('_')?;
    (!project.is_empty() && !secret.is_empty()).then_some(project)
}

/// 64 hex digits as 32 bytes.
pub fn decode_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed with the published client (vaultdotenv 0.2.0, crypto.py).
    const VAULT_KEY: &str = "vk_0b5e1c2a-7d3f-4e8a-9c1b-2f6d8e0a4b7c_abababababababababababababababababababababababababababababababab";
    const DEVICE: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
    const BODY: &str =
        r#"{"project_id": "0b5e1c2a-7d3f-4e8a-9c1b-2f6d8e0a4b7c", "environment": "production"}"#;

    #[test]
    fn vectors_from_the_published_client() {
        let auth = derive_key(VAULT_KEY, SALT_AUTH, None);
        assert_eq!(
            hex(auth.as_slice()),
            "421eb31f1d5eb182de93c50d9fe14524b6bec66e61ee7de6a38231eade0a7d18"
        );
        assert_eq!(
            hex(derive_key(VAULT_KEY, SALT_ENCRYPT, None).as_slice()),
            "830bc52741d76c1067d4c036e060652e846e6c5f05e86899208d09c40d4603f1"
        );
        assert_eq!(
            hex(derive_key(VAULT_KEY, SALT_ENCRYPT, Some(DEVICE)).as_slice()),
            "a5fcfe5716226a59213ba3ef4736453de335ea7a70f8253accd1bb960b42ca60"
        );
        assert_eq!(
            device_hash(DEVICE),
            "3985dac9133f8144ae1ab001dd0a29dffdddb1bf14a5f95aa24c8eed2e5bde2c"
        );
        let header = sign(&auth, BODY.as_bytes(), 1_767_225_600_000);
        assert_eq!(
            header,
            "v=1767225600000,d=24b50821c7fee8fa4c0b830033261d9faabc035c1e11778a55e43ecd0b4110c8"
        );
        let sig = Signature::parse(&header).unwrap();
        assert!(sig.verify(&auth, pull(BODY.as_bytes())));
        assert!(!sig.verify(&auth, pull(b"{}")));
        assert!(sig.is_fresh(1_767_225_600_000 + MAX_SKEW_MS));
        assert!(!sig.is_fresh(1_767_225_600_000 + MAX_SKEW_MS + 1));
        assert_eq!(
            project_of(VAULT_KEY),
            Some("0b5e1c2a-7d3f-4e8a-9c1b-2f6d8e0a4b7c")
        );
    }

    fn pull(body: &[u8]) -> SignedRequest<'_> {
        SignedRequest {
            method: "POST",
            path: "/api/v1/secrets/pull",
            body,
        }
    }

    // Computed independently with Python's hmac over
    // b"POST /api/v1/secrets/pull\n" + BODY + b"1767225600000".
    #[test]
    fn request_bound_signatures_cover_method_and_path() {
        let auth = derive_key(VAULT_KEY, SALT_AUTH, None);
        let header = sign_request(&auth, pull(BODY.as_bytes()), 1_767_225_600_000);
        assert_eq!(
            header,
            "v=1767225600000,d=4510627bb6709503b38ab69f6f9e60f8f78cae837944e32c0702810ff28aa01e,s=2"
        );
        let sig = Signature::parse(&header).unwrap();
        assert!(sig.bound && sig.verify(&auth, pull(BODY.as_bytes())));
        let elsewhere = SignedRequest {
            path: "/api/v1/secrets/rollback",
            ..pull(BODY.as_bytes())
        };
        assert!(!sig.verify(&auth, elsewhere), "bound to its path");
        // The same digest presented as a body-only signature fails too.
        let unbound = Signature {
            bound: false,
            ..sig.clone()
        };
        assert!(!unbound.verify(&auth, pull(BODY.as_bytes())));
        let zeros = "00".repeat(32);
        assert!(Signature::parse(&format!("v=1,d={zeros},s=2")).is_some());
        assert!(Signature::parse(&format!("v=1,d={zeros},s=3")).is_none());
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "v=1",
            "d=00",
            "v=abc,d=00",
            "v=1,d=zz",
            "v=1,d=00,x=1",
            "v=-1,d=".to_owned().as_str(),
        ] {
            assert!(Signature::parse(bad).is_none(), "{bad:?}");
        }
        assert!(project_of("vk_").is_none() && project_of("nope").is_none());
    }
}
