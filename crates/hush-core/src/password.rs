//! Password hashing: argon2id in PHC string form.
//!
//! The cost is a parameter so tests can run cheap; servers use
//! [`PasswordCost::standard`] (OWASP's argon2id baseline: 19 MiB, 2 passes).

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::SecretString;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
}

impl PasswordCost {
    /// 19 MiB, 2 passes, 1 lane.
    pub fn standard() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }

    /// Minimal cost, for tests only.
    pub fn cheap() -> Self {
        Self {
            memory_kib: 64,
            iterations: 1,
        }
    }

    fn hasher(self) -> Option<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None).ok()?;
        Some(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Why a password could not be hashed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot hash the password with these argon2 parameters")]
pub struct HashError;

/// Hashes `password` with a fresh salt; returns the PHC string.
pub fn hash(password: &SecretString, cost: PasswordCost) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let hasher = cost.hasher().ok_or(HashError)?;
    hasher
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

/// Checks `password` against a PHC string (the cost is read from it).
/// Constant-time in the password; false for a malformed hash.
pub fn verify(password: &SecretString, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.expose().as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let pw = SecretString::from("correct horse battery staple");
        let a = hash(&pw, PasswordCost::cheap()).unwrap();
        let b = hash(&pw, PasswordCost::cheap()).unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_ne!(a, b, "fresh salt each time");
        assert!(verify(&pw, &a));
        assert!(!verify(&SecretString::from("wrong"), &a));
        assert!(!verify(&pw, "not a hash"));
        assert!(!a.contains("correct horse"));
    }
}
