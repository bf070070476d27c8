//! The audit chain's hash: `sha256(prev_hash ‖ framed fields)` in hex.
//!
//! Each field is written as a u32 big-endian length and its bytes, so no
//! two different entries hash the same input. Kept here, pure, so that an
//! external verifier can be checked against the vector below.

use crate::crypto::kdf::sha256;

/// The hash of an entry whose fields are `fields` (in schema order) after
/// an entry hashed `prev_hash`.
pub fn chain_hash(prev_hash: &str, fields: &[&str]) -> String {
    let mut input = Vec::with_capacity(64 + fields.iter().map(|f| f.len() + 4).sum::<usize>());
    input.extend_from_slice(prev_hash.as_bytes());
    for field in fields {
        input.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        input.extend_from_slice(field.as_bytes());
    }
    sha256(&input).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_and_framing() {
        // Computed independently: sha256(GENESIS + b"\0\0\0\x01a" + b"\0\0\0\x02bc").
        assert_eq!(
            chain_hash(GENESIS, &["a", "bc"]),
            "5f1b75eee7684f3d0cd559ee74c2add44060e66096dbeec6a115cbf9f22dceb0"
        );
        assert_ne!(
            chain_hash(GENESIS, &["ab", "c"]),
            chain_hash(GENESIS, &["a", "bc"])
        );
        assert_ne!(chain_hash("x", &["a"]), chain_hash("y", &["a"]));
    }
}
