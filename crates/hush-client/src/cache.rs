//! The encrypted last-good cache: the last environment pulled, kept on disk
//! so an app still starts when the server is briefly unreachable.
//!
//! One file per (server, organization, project, environment, target,
//! token). Its name is a hash of those, so it reveals none of them. Its
//! content is AES-256-GCM under a key derived from the token with HKDF, and
//! the associated data binds it to the same identity: without the token the
//! file is noise, and a file copied from another environment, or edited by
//! one byte, fails authentication and is refused. Files are 0600, written
//! to a temporary name, synced and renamed, so a crash never leaves half a
//! cache.
//!
//! An end-to-end-encrypted project's cache keeps what the server sent: the
//! clients' ciphertext and the key metadata, never the plaintext. Reading
//! it back takes the passphrase, exactly as a pull does; the token alone
//! (which the server also knows how to check) opens nothing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use hush_core::crypto::aead::{self, AeadKey};
use hush_core::crypto::kdf::{hkdf_sha256, sha256};
use hush_core::dotenv::EnvMap;
use hush_core::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

/// File header; also the HKDF salt's prefix, so a format change makes old
/// files unreadable instead of misread.
const MAGIC: &[u8] = b"hush-cache-v1\n";

/// What a cache entry is for. The token is part of it: a new token starts
/// a new cache, and only the token's holder can read the old one.
#[derive(Debug, Clone)]
pub struct CacheIdentity {
    /// Server base URL.
    pub url: String,
    /// Organization slug (or `-` for a pull token).
    pub org: String,
    /// Project slug (or `-` for a pull token).
    pub project: String,
    /// Environment slug.
    pub env: String,
    /// Target slug.
    pub target: String,
}

impl CacheIdentity {
    fn bytes(&self) -> Vec<u8> {
        [
            self.url.as_str(),
            &self.org,
            &self.project,
            &self.env,
            &self.target,
        ]
        .join("\0")
        .into_bytes()
    }
}

/// What a cache entry holds.
#[derive(Debug)]
pub enum CacheContent {
    /// A server-encrypted project's secrets.
    Plain(EnvMap),
    /// An end-to-end-encrypted project's ciphertext, as pulled.
    E2ee {
        /// The project's key metadata.
        meta: hush_proto::E2eeMeta,
        /// Name → the clients' ciphertext.
        ciphertexts: std::collections::BTreeMap<String, String>,
    },
}

/// A cached environment and when it was pulled.
#[derive(Debug)]
pub struct Cached {
    /// The secrets, or their ciphertext.
    pub content: CacheContent,
    /// When they were pulled (RFC 3339).
    pub saved_at: String,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    saved_at: String,
    /// Plaintext, or ciphertext when `e2ee_meta` is set.
    secrets: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e2ee_meta: Option<hush_proto::E2eeMeta>,
}

/// A cache directory and the key of one entry.
pub struct Cache {
    path: PathBuf,
    key: AeadKey,
    aad: Vec<u8>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("path", &self.path).finish()
    }
}

impl Cache {
    /// The entry for `identity` read with `token`, in `dir`.
    pub fn new(dir: &Path, identity: &CacheIdentity, token: &SecretString) -> Self {
        let id = identity.bytes();
        let mut name_input = id.clone();
        name_input.push(0);
        name_input.extend_from_slice(&sha256(token.expose().as_bytes()));
        let name = hex(&sha256(&name_input)[..16]);
        let key = hkdf_sha256::<32>(token.expose().as_bytes(), MAGIC, &id);
        let mut aad = MAGIC.to_vec();
        aad.extend_from_slice(&id);
        Self {
            path: dir.join(format!("{name}.cache")),
            key: AeadKey::from_bytes(*key),
            aad,
        }
    }

    /// The file this entry lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores `content` as the last good state.
    pub fn save(&self, content: &CacheContent) -> Result<()> {
        let (secrets, e2ee_meta) = match content {
            CacheContent::Plain(secrets) => (
                secrets
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose().to_owned()))
                    .collect(),
                None,
            ),
            CacheContent::E2ee { meta, ciphertexts } => (ciphertexts.clone(), Some(meta.clone())),
        };
        let payload = Payload {
            saved_at: hush_core::time::to_rfc3339(now_ms()),
            secrets,
            e2ee_meta,
        };
        let plain = zeroize::Zeroizing::new(
            serde_json::to_vec(&payload).map_err(|err| self.error(err.to_string()))?,
        );
        drop(payload);
        let sealed = aead::seal(&self.key, &self.aad, &plain)
            .map_err(|_| self.error("could not be encrypted".into()))?;
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&sealed);
        write_atomically(&self.path, &bytes)
            .map_err(|err| self.error(format!("could not be written: {err}")))
    }

    /// The last good state, `None` if there is none. A file that fails
    /// authentication (tampered, truncated, another token's) is an error.
    pub fn load(&self) -> Result<Option<Cached>> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(self.error(format!("could not be read: {err}"))),
        };
        let sealed = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| self.error("is not a hush cache file; refusing to use it".into()))?;
        let plain = aead::open(&self.key, &self.aad, sealed).map_err(|_| {
            self.error(
                "failed authentication (tampered with, or written for another token); \
                 refusing to use it"
                    .into(),
            )
        })?;
        let payload: Payload = serde_json::from_slice(&plain)
            .map_err(|_| self.error("is damaged; refusing to use it".into()))?;
        let content = match payload.e2ee_meta {
            Some(meta) => CacheContent::E2ee {
                meta,
                ciphertexts: payload.secrets,
            },
            None => CacheContent::Plain(
                payload
                    .secrets
                    .into_iter()
                    .map(|(k, v)| (k, SecretString::new(v)))
                    .collect(),
            ),
        };
        Ok(Some(Cached {
            content,
            saved_at: payload.saved_at,
        }))
    }

    fn error(&self, reason: String) -> ClientError {
        ClientError::Cache {
            path: self.path.clone(),
            reason,
        }
    }
}

/// The default cache directory: `$HUSH_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/hush`, else `~/.cache/hush`.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HUSH_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("hush"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("hush"))
}

/// Writes `bytes` to `path` with mode 0600 via a synced temporary file and
/// a rename; creates the directory (0700) if needed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = private_options().open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn private_options() -> fs::OpenOptions {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates `dir` (and parents) readable by the owner only.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(env: &str) -> CacheIdentity {
        CacheIdentity {
            url: "http://127.0.0.1:8420/".into(),
            org: "default".into(),
            project: "web".into(),
            env: env.into(),
            target: String::new(),
        }
    }

    fn map(pairs: &[(&str, &str)]) -> EnvMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), SecretString::from(*v)))
            .collect()
    }

    #[test]
    fn round_trip_private_and_opaque() {
        let dir = tempfile::tempdir().unwrap();
        let token = SecretString::from("hsk_token_one");
        let cache = Cache::new(dir.path(), &identity("prod"), &token);
        assert!(cache.load().unwrap().is_none());
        let secrets = map(&[("API_KEY", "s3cr3t-value"), ("EMPTY", "")]);
        cache.save(&CacheContent::Plain(secrets)).unwrap();
        let loaded = cache.load().unwrap().unwrap();
        let CacheContent::Plain(loaded) = loaded.content else {
            panic!("plain in, plain out")
        };
        assert_eq!(loaded, map(&[("API_KEY", "s3cr3t-value"), ("EMPTY", "")]));
        let raw = fs::read(cache.path()).unwrap();
        assert!(!raw.windows(6).any(|w| w == b"s3cr3t"));
        assert!(!raw.windows(7).any(|w| w == b"API_KEY"));
        let name = cache
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(!name.contains("prod") && !name.contains("web"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(cache.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn tampering_another_token_or_another_env_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let token = SecretString::from("hsk_token_one");
        let cache = Cache::new(dir.path(), &identity("prod"), &token);
        cache
            .save(&CacheContent::Plain(map(&[("A", "1")])))
            .unwrap();

        let other_token = Cache::new(dir.path(), &identity("prod"), &"hsk_two".into());
        fs::copy(cache.path(), other_token.path()).unwrap();
        assert!(matches!(other_token.load(), Err(ClientError::Cache { .. })));

        let other_env = Cache::new(dir.path(), &identity("dev"), &token);
        fs::copy(cache.path(), other_env.path()).unwrap();
        assert!(matches!(other_env.load(), Err(ClientError::Cache { .. })));

        let mut raw = fs::read(cache.path()).unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        fs::write(cache.path(), &raw).unwrap();
        let err = cache.load().unwrap_err();
        assert!(err.to_string().contains("failed authentication"), "{err}");

        fs::write(cache.path(), b"garbage").unwrap();
        assert!(cache.load().is_err());
    }
}
