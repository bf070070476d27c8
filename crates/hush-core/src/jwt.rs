//! The HS256 JSON Web Tokens hush issues for InsForge's admin-only API
//! (RFC 7519 with RFC 7515's HMAC-SHA256): short-lived, signed with a
//! per-organization key the server keeps sealed, and accepted only with
//! `alg: HS256` (never `none`, never another algorithm).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::crypto::kdf::{hmac_sha256, verify_hmac_sha256};

/// What a hush-issued admin JWT says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The hush token (its id) the JWT was minted from: it stops working
    /// when that token does.
    pub sub: String,
    /// The organization's id.
    pub org: String,
    /// Always `admin` (InsForge's secrets API is admin-only).
    pub role: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
}

/// Why a JWT is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// A header other than `{"alg":"HS256"}`.
    #[error("the token's algorithm is not HS256")]
    Algorithm,
    /// The signature does not match (tampered, or another key).
    #[error("the token's signature does not match")]
    Signature,
    /// Past `exp`.
    #[error("the token has expired")]
    Expired,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
}

/// `header.payload.signature` for `claims` under `key`.
pub fn sign(key: &[u8], claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let input = format!("{header}.{payload}");
    let tag = URL_SAFE_NO_PAD.encode(hmac_sha256(key, input.as_bytes()));
    format!("{input}.{tag}")
}

/// The signature of a JWT checked in constant time, before anything in
/// its payload is trusted.
fn verified_payload(key: &[u8], token: &str) -> Result<Vec<u8>, JwtError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let input = format!("{header}.{payload}");
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or(JwtError::Malformed)?;
    if header.alg != "HS256" {
        return Err(JwtError::Algorithm);
    }
    let tag = URL_SAFE_NO_PAD
        .decode(tag)
        .map_err(|_| JwtError::Malformed)?;
    if !verify_hmac_sha256(key, input.as_bytes(), &tag) {
        return Err(JwtError::Signature);
    }
    URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::Malformed)
}

/// The claims of a JWT signed with `key` and not expired at `now` (unix
/// seconds).
pub fn verify(key: &[u8], token: &str, now: i64) -> Result<Claims, JwtError> {
    let payload = verified_payload(key, token)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    if claims.exp <= now {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// The organization a JWT names, *unverified*: only to choose which key
/// to verify it with ([`verify`] then checks everything).
pub fn claimed_org(token: &str) -> Result<String, JwtError> {
    let payload = token.split('.').nth(1).ok_or(JwtError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    Ok(claims.org)
}

/// Whether a bearer credential looks like a JWT rather than a hush token
/// (hush tokens have no dots).
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.matches('.').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7515, appendix A.1: the HS256 example, signature included.
    #[test]
    fn rfc_7515_hs256_vector() {
        let key = URL_SAFE_NO_PAD
            .decode(
                "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
            )
            .unwrap();
        let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\
            eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.\
            dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let payload = verified_payload(&key, token).unwrap();
        assert!(String::from_utf8(payload)
            .unwrap()
            .contains("\"iss\":\"joe\""));
        let tampered = token.replace("dBjf", "dBjg");
        assert_eq!(verified_payload(&key, &tampered), Err(JwtError::Signature));
    }

    #[test]
    fn signed_tokens_round_trip_and_refuse_tampering_expiry_and_none() {
        let key = [7u8; 32];
        let claims = Claims {
            sub: "token-id".into(),
            org: "org-id".into(),
            role: "admin".into(),
            iat: 100,
            exp: 200,
        };
        let token = sign(&key, &claims);
        assert!(looks_like_jwt(&token));
        assert_eq!(verify(&key, &token, 150), Ok(claims.clone()));
        assert_eq!(verify(&key, &token, 200), Err(JwtError::Expired));
        assert_eq!(verify(&[8u8; 32], &token, 150), Err(JwtError::Signature));
        // A payload swapped for one with a later expiry keeps the old
        // signature: refused.
        let parts: Vec<&str> = token.split('.').collect();
        let later = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                exp: 9_999_999_999,
                ..claims.clone()
            })
            .unwrap(),
        );
        let forged = format!("{}.{later}.{}", parts[0], parts[2]);
        assert_eq!(verify(&key, &forged, 150), Err(JwtError::Signature));
        // alg "none" with no signature: refused whatever the payload.
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        assert_eq!(
            verify(&key, &format!("{none}.{}.", parts[1]), 150),
            Err(JwtError::Algorithm)
        );
        assert_eq!(verify(&key, "hush_abc", 150), Err(JwtError::Malformed));
        assert!(!looks_like_jwt("hush_abc"));
    }
}
