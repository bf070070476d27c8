//! The audit chain: each entry's hash covers the previous entry's hash and
//! the entry's framed fields, keyed with HMAC-SHA256 under the chain key.
//!
//! The chain key is 32 random bytes that the database holds only sealed
//! with the master key (which lives outside the database), so someone who
//! can write the database but lacks the master key can neither recompute
//! the chain after changing an entry nor forge a prune's anchor. Signed
//! checkpoints of the head, kept elsewhere by operators, catch the one
//! thing a chain cannot: its newest entries cut off together with the head.
//!
//! Each field is written as a u32 big-endian length and its bytes, so no
//! two different entries hash the same input. Kept here, pure, so that an
//! external verifier can be checked against the vectors below.

use zeroize::Zeroizing;

use crate::crypto::kdf::{hkdf_sha256, hmac_sha256, sha256, verify_hmac_sha256};

/// The unkeyed hash of the chains written before keying (`sha256(prev ‖
/// framed fields)`): what an upgrade checks before re-chaining with a key.
pub fn chain_hash(prev_hash: &str, fields: &[&str]) -> String {
    hex(&sha256(&chain_input(prev_hash, fields)))
}

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn chain_input(prev_hash: &str, fields: &[&str]) -> Vec<u8> {
    let mut input = Vec::with_capacity(64 + fields.iter().map(|f| f.len() + 4).sum::<usize>());
    input.extend_from_slice(prev_hash.as_bytes());
    input.extend_from_slice(&framed(fields));
    input
}

fn framed(fields: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| f.len() + 4).sum::<usize>());
    for field in fields {
        out.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// The chain key. `Debug` never shows it.
pub struct AuditKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(<redacted>)")
    }
}

const CHECKPOINT_INFO: &[u8] = b"hush/v1/audit-checkpoint";
const ANCHOR_INFO: &[u8] = b"hush/v1/audit-anchor";
const CHECKPOINT_TAG: &str = "hush-audit-checkpoint/v1";

impl AuditKey {
    /// A fresh random key (the first start of a database).
    pub fn generate() -> Self {
        use rand::RngCore;
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(&mut *bytes);
        Self(bytes)
    }

    /// A key from its bytes (as unsealed from the database).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw bytes, for sealing under the master key.
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash of an entry whose fields are `fields` (in schema order)
    /// after an entry hashed `prev_hash`.
    pub fn entry_hash(&self, prev_hash: &str, fields: &[&str]) -> String {
        hex(&hmac_sha256(
            self.0.as_slice(),
            &chain_input(prev_hash, fields),
        ))
    }

    /// The tag of a prune's anchor (where the chain now starts), so an
    /// anchor cannot be written by someone deleting the oldest entries.
    pub fn anchor_tag(&self, seq: i64, hash: &str, pruned: i64) -> String {
        let key = hkdf_sha256::<32>(self.0.as_slice(), b"", ANCHOR_INFO);
        let fields = [seq.to_string(), hash.to_owned(), pruned.to_string()];
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        hex(&hmac_sha256(key.as_slice(), &framed(&refs)))
    }

    /// A checkpoint of the head as one line of text, for an operator to
    /// keep outside the database (see [`Checkpoint`]).
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> String {
        let key = hkdf_sha256::<32>(self.0.as_slice(), b"", CHECKPOINT_INFO);
        let tag = hmac_sha256(key.as_slice(), checkpoint.message().as_bytes());
        format!(
            "{CHECKPOINT_TAG} seq={} hash={} at={} mac={}",
            checkpoint.seq,
            checkpoint.hash,
            crate::time::to_rfc3339(checkpoint.at),
            hex(&tag)
        )
    }

    /// Reads a checkpoint line and checks that this key signed it.
    pub fn open_checkpoint(&self, line: &str) -> Result<Checkpoint, CheckpointError> {
        let mut parts = line.split_whitespace();
        if parts.next() != Some(CHECKPOINT_TAG) {
            return Err(CheckpointError::Malformed);
        }
        let (mut seq, mut hash, mut at, mut mac) = (None, None, None, None);
        for part in parts {
            match part.split_once('=').ok_or(CheckpointError::Malformed)? {
                ("seq", v) => seq = v.parse::<i64>().ok(),
                ("hash", v) if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    hash = Some(v.to_ascii_lowercase());
                }
                ("at", v) => at = crate::time::parse_rfc3339(v),
                ("mac", v) => mac = decode_hex(v),
                _ => return Err(CheckpointError::Malformed),
            }
        }
        let (Some(seq), Some(hash), Some(at), Some(mac)) = (seq, hash, at, mac) else {
            return Err(CheckpointError::Malformed);
        };
        let checkpoint = Checkpoint { seq, hash, at };
        let key = hkdf_sha256::<32>(self.0.as_slice(), b"", CHECKPOINT_INFO);
        if verify_hmac_sha256(key.as_slice(), checkpoint.message().as_bytes(), &mac) {
            Ok(checkpoint)
        } else {
            Err(CheckpointError::BadSignature)
        }
    }
}

/// Where the chain's head was at a moment: its sequence number and hash.
/// A later log must still hold that entry with that hash (or have pruned
/// past it, which leaves a signed anchor); if the head is behind it, the
/// newest entries were cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The head's sequence number.
    pub seq: i64,
    /// The head entry's hash.
    pub hash: String,
    /// When the checkpoint was taken (unix ms).
    pub at: i64,
}

impl Checkpoint {
    fn message(&self) -> String {
        format!("{CHECKPOINT_TAG}\n{}\n{}\n{}", self.seq, self.hash, self.at)
    }
}

/// Why a checkpoint line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Not `hush-audit-checkpoint/v1 seq=… hash=… at=… mac=…`.
    #[error("not a hush audit checkpoint (hush-audit-checkpoint/v1 seq=… hash=… at=… mac=…)")]
    Malformed,
    /// Altered, or signed with another database's chain key.
    #[error("the checkpoint's signature does not match this database's audit key")]
    BadSignature,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unkeyed_vector_and_framing() {
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

    // Computed independently with Python's hmac/hashlib (HKDF by hand,
    // RFC 5869, no salt).
    #[test]
    fn keyed_vectors() {
        let key = AuditKey::from_bytes([0x11; 32]);
        assert_eq!(
            key.entry_hash(GENESIS, &["a", "bc"]),
            "eb2686b36ffe0da8368120a8fdf46022c7ce2abcf57620495052a7fa9fdd0233"
        );
        let hash = "ab".repeat(32);
        assert_eq!(
            key.anchor_tag(7, &hash, 7),
            "f2c0760e2920f656a57b95ae249dafe881ab331712270622c17301565d5ab243"
        );
        let checkpoint = Checkpoint {
            seq: 42,
            hash: hash.clone(),
            at: 1_767_225_600_000,
        };
        let line = key.sign_checkpoint(&checkpoint);
        assert_eq!(
            line,
            format!(
                "hush-audit-checkpoint/v1 seq=42 hash={hash} at=2026-01-01T00:00:00.000Z \
                 mac=55970d6b3bdb6872fdd1bcc6d8bacecfaf1af875170b247aef2ae14f6d977509"
            )
        );
        assert_eq!(key.open_checkpoint(&line), Ok(checkpoint));
        assert_eq!(format!("{key:?}"), "AuditKey(<redacted>)");
    }

    #[test]
    fn checkpoints_refuse_tampering_and_other_keys() {
        let key = AuditKey::from_bytes([0x11; 32]);
        let line = key.sign_checkpoint(&Checkpoint {
            seq: 42,
            hash: "ab".repeat(32),
            at: 1_767_225_600_000,
        });
        let moved = line.replace("seq=42", "seq=41");
        assert_eq!(
            key.open_checkpoint(&moved),
            Err(CheckpointError::BadSignature)
        );
        assert_eq!(
            AuditKey::from_bytes([0x22; 32]).open_checkpoint(&line),
            Err(CheckpointError::BadSignature)
        );
        for bad in [
            "",
            "hush-audit-checkpoint/v1 seq=1",
            "other seq=1",
            "hush-audit-checkpoint/v1 x",
        ] {
            assert_eq!(
                key.open_checkpoint(bad),
                Err(CheckpointError::Malformed),
                "{bad:?}"
            );
        }
        assert_ne!(key.entry_hash(GENESIS, &["a"]), chain_hash(GENESIS, &["a"]));
    }
}
