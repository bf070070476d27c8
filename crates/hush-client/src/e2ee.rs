//! Client side of end-to-end-encrypted projects: unlock the data key with
//! the passphrase or recovery key (`HUSH_KEY`), decrypt what the server
//! returns, encrypt what is written. The key never leaves the process.

use hush_core::dotenv::EnvMap;
use hush_core::e2ee::{self, Dek, Meta};
use hush_core::SecretString;
use hush_proto::E2eeMeta;

use crate::error::{ClientError, Result};

/// Core metadata from the wire form.
pub fn meta_from_wire(m: &E2eeMeta) -> Meta {
    Meta {
        iterations: m.iterations,
        salt_pass: m.salt_pass.clone(),
        wrapped_dek_pass: m.wrapped_dek_pass.clone(),
        salt_rec: m.salt_rec.clone(),
        wrapped_dek_rec: m.wrapped_dek_rec.clone(),
        verifier: m.verifier.clone(),
    }
}

/// The wire form of core metadata.
pub fn meta_to_wire(m: &Meta) -> E2eeMeta {
    E2eeMeta {
        iterations: m.iterations,
        salt_pass: m.salt_pass.clone(),
        wrapped_dek_pass: m.wrapped_dek_pass.clone(),
        salt_rec: m.salt_rec.clone(),
        wrapped_dek_rec: m.wrapped_dek_rec.clone(),
        verifier: m.verifier.clone(),
    }
}

/// Opens the data key, or says what is missing or wrong.
pub fn unlock(meta: &E2eeMeta, key: Option<&SecretString>) -> Result<Dek> {
    let key = key.ok_or_else(|| {
        ClientError::E2ee(
            "set HUSH_KEY to the project's passphrase or recovery key to decrypt it here".into(),
        )
    })?;
    e2ee::unlock(&meta_from_wire(meta), key).map_err(|err| ClientError::E2ee(err.to_string()))
}

/// Decrypts every value of a name → ciphertext map.
pub fn decrypt_all<'a>(
    dek: &Dek,
    values: impl IntoIterator<Item = (String, &'a str)>,
) -> Result<EnvMap> {
    values
        .into_iter()
        .map(|(name, ciphertext)| {
            e2ee::decrypt_value(dek, ciphertext)
                .map(|value| (name.clone(), value))
                .map_err(|err| ClientError::E2ee(format!("{name}: {err}")))
        })
        .collect()
}
