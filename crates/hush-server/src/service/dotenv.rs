//! DotEnv's model over hush's (`shared/seeds/dotenv-cloud.txt`): a level
//! is a hush scope (project, target, environment), a read includes every
//! level down to the addressed one, and a store replaces one level's
//! content as one version.
//!
//! - **Server-managed** projects (hush's server mode) keep ordinary hush
//!   secrets: what DotEnv stores is visible to every other surface by name
//!   and value, and the reverse. On the wire, values travel either as
//!   plaintext (`decrypt`) or sealed under the project's *exchange key*
//!   (`hush_core::exchange`), which `key:retrieve` hands to clients.
//! - **Client-managed** projects (client mode without hush's end-to-end
//!   metadata) hold each level as one opaque blob the server cannot read;
//!   writes need the key proof the project's key verification checks. A
//!   level of a hush end-to-end-encrypted project reads as its per-name
//!   ciphertexts, and is written through hush's own clients only.
//!
//! The wire shapes are `api::compat::dotenv`'s; this is the mapping.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hush_core::exchange::{self, ExchangeKey, MAX_PROOF_ITERATIONS, MIN_PROOF_ITERATIONS};
use hush_core::secret::constant_time_eq;
use hush_core::SecretString;
use hush_store::{
    EncryptionMode, KeyVerification, Level, Project, ReadOptions, Reveal, Scope, Secret,
    StoreError, Value, VersionInfo,
};

use super::{Page, ScopeAddress, SecretChange, SecretValue, Services, Target, WriteGuard};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// A level as a DotEnv request addresses it: the deepest slug given wins.
#[derive(Debug, Clone)]
pub struct LevelPath {
    /// The organization's ULID-form id or its slug.
    pub org: String,
    /// The project's slug.
    pub project: String,
    /// Target and environment slugs.
    pub address: ScopeAddress,
}

/// What a read may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAction {
    /// Ciphertext (`secret:read`).
    Read,
    /// Plaintext of a server-managed project (`secret:decrypt`; with
    /// `also_read`, `secret:read` too, as DotEnv's GET asks).
    Decrypt {
        /// The request's route needs `secret:read` besides.
        also_read: bool,
    },
}

/// Which secrets a read keeps (per-name levels only).
#[derive(Debug, Clone, Default)]
pub struct LevelFilter {
    /// Only these names.
    pub names: Option<Vec<String>>,
    /// Only secrets carrying one of these tags.
    pub tags: Option<Vec<String>>,
    /// Only names containing this text (case-insensitive).
    pub search: Option<String>,
}

impl LevelFilter {
    fn is_empty(&self) -> bool {
        self.names.is_none() && self.tags.is_none() && self.search.is_none()
    }

    fn keeps(&self, secret: &Secret) -> bool {
        self.names
            .as_ref()
            .is_none_or(|names| names.contains(&secret.name))
            && self
                .tags
                .as_ref()
                .is_none_or(|tags| tags.iter().any(|t| secret.tags.contains(t)))
            && self.search.as_ref().is_none_or(|needle| {
                secret
                    .name
                    .to_ascii_lowercase()
                    .contains(&needle.to_ascii_lowercase())
            })
    }
}

/// One level's content.
#[derive(Debug)]
pub enum Content {
    /// Name → value: plaintext, or a wire ciphertext.
    Entries(BTreeMap<String, SecretString>),
    /// A client-managed level's blob as the client stored it (`None`:
    /// never written, or cleared).
    Blob(Option<String>),
}

/// One level of a read.
#[derive(Debug)]
pub struct LevelRead {
    /// Project, target or environment.
    pub level: Level,
    /// The slug of what the level belongs to.
    pub source: String,
    /// The level's version (0: never written).
    pub version: i64,
    /// What it holds.
    pub content: Content,
}

/// A read of a level and those above it.
#[derive(Debug)]
pub struct LevelsRead {
    /// Whether values are ciphertext.
    pub encrypted: bool,
    /// Shallowest first.
    pub levels: Vec<LevelRead>,
}

impl LevelsRead {
    /// One flat map, deeper levels winning. A blob cannot be merged by a
    /// server that cannot read it: that is a 422 naming the level.
    pub fn merged(&self) -> Result<BTreeMap<String, SecretString>, ServiceError> {
        let mut merged = BTreeMap::new();
        for level in &self.levels {
            match &level.content {
                Content::Entries(entries) => {
                    for (name, value) in entries {
                        merged.insert(name.clone(), value.duplicate());
                    }
                }
                Content::Blob(None) => {}
                Content::Blob(Some(_)) => {
                    return Err(client_managed(format!(
                        "the {} level is a client-managed blob: the server cannot read it to \
                         merge; read with merge=false and merge after decrypting",
                        level.level.as_str()
                    )))
                }
            }
        }
        Ok(merged)
    }
}

/// What a store or delete did.
#[derive(Debug)]
pub struct Stored {
    /// The level written.
    pub level: Level,
    /// The slug it belongs to.
    pub source: String,
    /// The level's version after the write (unchanged if nothing changed).
    pub version: i64,
}

/// A store request.
#[derive(Debug)]
pub struct StoreRequest<'a> {
    /// The level's new content: a wire ciphertext of a `.env` text
    /// (server-managed) or the client's blob (client-managed).
    pub content: &'a str,
    /// The key proof (client-managed).
    pub key_proof: Option<&'a str>,
    /// Drop the previous state instead of keeping it as a version.
    pub no_backup: bool,
}

/// A key verification as a client sets it up.
#[derive(Debug)]
pub struct KeyVerificationRequest<'a> {
    /// PBKDF2 salt, standard base64 of at least 16 bytes.
    pub salt: &'a str,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// The proof computed with them.
    pub key_proof: &'a str,
    /// To replace an existing verification: the proof it checks now.
    pub current_key_proof: Option<&'a str>,
}

fn client_managed(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::ClientManaged, message)
}

fn server_managed(project: &str) -> ServiceError {
    ServiceError::new(
        ErrorCode::ServerManaged,
        format!(
            "project {project} is server-managed: it has no client key to verify; \
             get its exchange key with action key:retrieve"
        ),
    )
}

/// DotEnv's API over hush's services. Handed out by [`Services::dotenv`].
pub struct Dotenv<'a> {
    s: &'a Services,
}

impl Services {
    /// The DotEnv facade.
    pub fn dotenv(&self) -> Dotenv<'_> {
        Dotenv { s: self }
    }
}

/// How a project's levels are kept, as DotEnv sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Server mode.
    Server,
    /// Client mode, no hush metadata: blobs with key verification.
    ClientBlobs,
    /// hush's end-to-end encryption or vault-env: read-only here.
    ClientOther,
}

impl Dotenv<'_> {
    /// The organization slug an `{organization}` segment names: a
    /// ULID-form id (see `hush_core::ulid`) or the slug itself.
    async fn org_slug(&self, org: &str) -> Result<String, ServiceError> {
        if let Some(uuid) = hush_core::ulid::to_uuid(org) {
            match self.s.store.organization_by_id(&uuid).await {
                Ok(found) => return Ok(found.slug),
                Err(StoreError::NotFound { .. }) => {}
                Err(err) => return Err(err.into()),
            }
        }
        Ok(org.to_owned())
    }

    /// The addressed scope, as the caller may see it.
    async fn target(&self, who: &Principal, path: &LevelPath) -> Result<Target, ServiceError> {
        let org = self.org_slug(&path.org).await?;
        self.s.target(who, &org, &path.project, &path.address).await
    }

    /// The project, as the caller may see it.
    async fn project(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
    ) -> Result<Project, ServiceError> {
        let org = self.org_slug(org).await?;
        Ok(self.s.project(who, &org, project).await?.1)
    }

    async fn kind(&self, project: &Project) -> Result<Kind, ServiceError> {
        if project.mode == EncryptionMode::Server {
            return Ok(Kind::Server);
        }
        let e2ee = self.s.store.e2ee_meta(&project.id).await?.is_some();
        let vaultenv = !matches!(
            self.s.store.vaultenv_key(&project.id).await?,
            hush_store::VaultKey::NotVaultEnv
        );
        Ok(if e2ee || vaultenv {
            Kind::ClientOther
        } else {
            Kind::ClientBlobs
        })
    }

    /// The addressed level and those above it, with their slugs.
    fn lineage(target: &Target) -> Result<Vec<(Level, String, Scope)>, ServiceError> {
        let project = &target.project;
        let mut levels = vec![(
            Level::Project,
            project.slug.clone(),
            Scope::new(project, None, None)?,
        )];
        if let Some(t) = &target.target_child {
            levels.push((
                Level::Target,
                t.slug.clone(),
                Scope::new(project, Some(t), None)?,
            ));
        }
        if let Some(env) = &target.env {
            levels.push((Level::Environment, env.slug.clone(), target.scope.clone()));
        }
        Ok(levels)
    }

    /// Reads the addressed level and every level above it.
    pub async fn read(
        &self,
        who: &Principal,
        path: &LevelPath,
        action: ReadAction,
        filter: &LevelFilter,
    ) -> Result<LevelsRead, ServiceError> {
        let target = self.target(who, path).await?;
        let project_id = &target.project.id;
        let decrypt = match action {
            ReadAction::Read => {
                who.require_in(project_id, Permission::SecretRead)?;
                false
            }
            ReadAction::Decrypt { also_read } => {
                // Named before the check, so a refused attempt is logged
                // as the decrypt it was.
                who.audit_action("secret.decrypt");
                if also_read {
                    who.require_in(project_id, Permission::SecretRead)?;
                }
                who.require_in(project_id, Permission::SecretDecrypt)?;
                true
            }
        };
        let key = match target.project.mode {
            EncryptionMode::Server if decrypt => None,
            EncryptionMode::Server => Some(self.s.store.exchange_key(&target.project).await?),
            EncryptionMode::Client if decrypt => {
                return Err(client_managed(format!(
                    "project {} is client-managed: the server holds no key and cannot decrypt; \
                     read without decrypt and decrypt locally",
                    target.project.slug
                )))
            }
            EncryptionMode::Client => None,
        };
        let mut levels = Vec::new();
        for (level, source, scope) in Self::lineage(&target)? {
            let (version, content) = match target.project.mode {
                EncryptionMode::Server => self.server_level(&scope, key.as_ref(), filter).await?,
                EncryptionMode::Client => self.client_level(&scope, filter).await?,
            };
            levels.push(LevelRead {
                level,
                source,
                version,
                content,
            });
        }
        Ok(LevelsRead {
            encrypted: !decrypt,
            levels,
        })
    }

    /// A server-managed level: plaintext, or sealed under `key`.
    async fn server_level(
        &self,
        scope: &Scope,
        key: Option<&ExchangeKey>,
        filter: &LevelFilter,
    ) -> Result<(i64, Content), ServiceError> {
        let read = self
            .s
            .store
            .read_level(scope, ReadOptions::new(Reveal::Plaintext))
            .await?;
        let mut entries = BTreeMap::new();
        for secret in read.secrets.into_iter().filter(|s| filter.keeps(s)) {
            let Value::Plain(value) = secret.value else {
                continue;
            };
            let value = match key {
                Some(key) => SecretString::new(
                    key.seal(value.expose().as_bytes())
                        .map_err(|_| ServiceError::new(ErrorCode::Internal, "sealing failed"))?,
                ),
                None => value,
            };
            entries.insert(secret.name, value);
        }
        Ok((read.version, Content::Entries(entries)))
    }

    /// A client-managed level: its blob, or (hush's end-to-end scheme) its
    /// per-name ciphertexts.
    async fn client_level(
        &self,
        scope: &Scope,
        filter: &LevelFilter,
    ) -> Result<(i64, Content), ServiceError> {
        match self.s.store.read_blob(scope).await {
            Ok(blob) => {
                if !filter.is_empty() {
                    return Err(client_managed(
                        "filters need names the server can see: a client-managed level is one \
                         blob; filter after decrypting",
                    ));
                }
                let (version, content) = match blob {
                    Some(blob) => (
                        blob.version,
                        blob.content
                            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                    ),
                    None => (0, None),
                };
                Ok((version, Content::Blob(content)))
            }
            Err(StoreError::ScopeKind { .. }) => {
                let read = self
                    .s
                    .store
                    .read_level(scope, ReadOptions::new(Reveal::Ciphertext))
                    .await?;
                let entries = read
                    .secrets
                    .into_iter()
                    .filter(|s| filter.keeps(s))
                    .filter_map(|s| match s.value {
                        Value::Ciphertext(c) => Some((
                            s.name,
                            SecretString::new(String::from_utf8_lossy(&c).into_owned()),
                        )),
                        _ => None,
                    })
                    .collect();
                Ok((read.version, Content::Entries(entries)))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// A server-managed project's exchange key (`key:retrieve`).
    pub async fn exchange_key(
        &self,
        who: &Principal,
        path: &LevelPath,
    ) -> Result<(Project, ExchangeKey), ServiceError> {
        who.audit_action("key.retrieve");
        let target = self.target(who, path).await?;
        who.require_in(&target.project.id, Permission::KeyRetrieve)?;
        if target.project.mode == EncryptionMode::Client {
            return Err(client_managed(format!(
                "project {} is client-managed: the server holds no key to hand out",
                target.project.slug
            )));
        }
        let key = self.s.store.exchange_key(&target.project).await?;
        Ok((target.project, key))
    }

    /// Replaces the addressed level's content as one version.
    pub async fn store(
        &self,
        who: &Principal,
        path: &LevelPath,
        request: StoreRequest<'_>,
    ) -> Result<Stored, ServiceError> {
        let target = self.target(who, path).await?;
        let project_id = &target.project.id;
        who.require_in(project_id, Permission::SecretWrite)?;
        if request.no_backup {
            who.require_in(project_id, Permission::SecretPurge)?;
        }
        let before = self.s.store.current_version(&target.scope).await?;
        let version = match self.kind(&target.project).await? {
            Kind::Server => {
                self.store_entries(who, path, &target, request.content)
                    .await?
            }
            Kind::ClientBlobs => {
                self.check_key_proof(&target.project, request.key_proof)
                    .await?;
                exchange::decode_wire(request.content).map_err(|err| {
                    ServiceError::new(ErrorCode::InvalidBlob, format!("content is {err}"))
                })?;
                let content = request.content.trim().as_bytes().to_vec();
                let scope = &target.scope;
                who.commit(|author| async move {
                    self.s
                        .store
                        .write_blob(scope, Some(content), Vec::new(), &author, None)
                        .await
                })
                .await?
                .version
            }
            Kind::ClientOther => return Err(not_dotenv_writable(&target.project)),
        };
        if request.no_backup && version > before && before > 0 {
            self.s.store.delete_version(&target.scope, before).await?;
        }
        Ok(Stored {
            level: target.scope.level(),
            source: source_of(&target),
            version,
        })
    }

    /// A server-managed store: open the content, parse it as `.env`, and
    /// write what differs (keeping the notes and tags of changed names).
    async fn store_entries(
        &self,
        who: &Principal,
        path: &LevelPath,
        target: &Target,
        content: &str,
    ) -> Result<i64, ServiceError> {
        let key = self.s.store.exchange_key(&target.project).await?;
        let plain = key
            .open(content)
            .map_err(|err| ServiceError::new(ErrorCode::InvalidBlob, format!("content {err}")))?;
        let text = std::str::from_utf8(&plain).map_err(|_| {
            ServiceError::new(
                ErrorCode::InvalidBlob,
                "content decrypts to text that is not UTF-8",
            )
        })?;
        let wanted = hush_core::dotenv::parse(text).map_err(|err| {
            ServiceError::new(
                ErrorCode::InvalidFile,
                format!("content decrypts to an invalid .env text: {err}"),
            )
        })?;
        let current = self
            .s
            .store
            .read_level(
                &target.scope,
                ReadOptions {
                    reveal: Reveal::Plaintext,
                    include_inactive: true,
                },
            )
            .await?;
        let changes = level_changes(current.secrets, wanted);
        if changes.is_empty() {
            return Ok(current.version);
        }
        let org = self.org_slug(&path.org).await?;
        Ok(self
            .s
            .secrets()
            .write(
                who,
                &org,
                &path.project,
                &path.address,
                changes,
                WriteGuard::default(),
            )
            .await?
            .version)
    }

    /// Refuses a client-managed write unless its key proof matches the
    /// project's key verification (422 `key_proof_required` /
    /// `key_proof_mismatch`).
    async fn check_key_proof(
        &self,
        project: &Project,
        proof: Option<&str>,
    ) -> Result<(), ServiceError> {
        let Some(verification) = self.s.store.key_verification(&project.id).await? else {
            return Err(ServiceError::new(
                ErrorCode::KeyProofRequired,
                format!(
                    "project {} has no key verification yet: set one up with POST \
                     …/secrets/key-verification before storing (README, \"The DotEnv API\")",
                    project.slug
                ),
            ));
        };
        let proof = proof.ok_or_else(|| {
            ServiceError::new(
                ErrorCode::KeyProofRequired,
                "writes to a client-managed project need key_proof",
            )
        })?;
        let given = super::proof_hash(proof).map_err(|_| proof_mismatch())?;
        if constant_time_eq(given.as_bytes(), verification.proof_hash.as_bytes()) {
            Ok(())
        } else {
            Err(proof_mismatch())
        }
    }

    /// Clears the addressed level (a new, empty version). With `purge`
    /// (DotEnv's `no_backup`, confirmed), its history goes too.
    pub async fn delete(
        &self,
        who: &Principal,
        path: &LevelPath,
        purge: Option<bool>,
    ) -> Result<(), ServiceError> {
        let target = self.target(who, path).await?;
        let project_id = &target.project.id;
        who.require_in(project_id, Permission::SecretWrite)?;
        match purge {
            Some(false) => {
                return Err(ServiceError::new(
                    ErrorCode::ConfirmationRequired,
                    "no_backup erases the level's history for good: send confirmed: true too",
                ))
            }
            Some(true) => who.require_in(project_id, Permission::SecretPurge)?,
            None => {}
        }
        match self.s.store.read_blob(&target.scope).await {
            Ok(Some(blob)) if blob.content.is_some() => {
                let scope = &target.scope;
                who.commit(|author| async move {
                    self.s
                        .store
                        .write_blob(scope, None, Vec::new(), &author, None)
                        .await
                })
                .await?;
            }
            Ok(_) => {}
            Err(StoreError::ScopeKind { .. }) => self.clear_entries(who, path, &target).await?,
            Err(err) => return Err(err.into()),
        }
        if purge.is_some() {
            self.s.store.purge_history(&target.scope).await?;
        }
        Ok(())
    }

    async fn clear_entries(
        &self,
        who: &Principal,
        path: &LevelPath,
        target: &Target,
    ) -> Result<(), ServiceError> {
        let current = self
            .s
            .store
            .read_level(
                &target.scope,
                ReadOptions {
                    reveal: Reveal::Metadata,
                    include_inactive: true,
                },
            )
            .await?;
        let changes: Vec<SecretChange> = current
            .secrets
            .into_iter()
            .map(|s| SecretChange::Delete(s.name))
            .collect();
        if changes.is_empty() {
            return Ok(());
        }
        let org = self.org_slug(&path.org).await?;
        self.s
            .secrets()
            .write(
                who,
                &org,
                &path.project,
                &path.address,
                changes,
                WriteGuard::default(),
            )
            .await?;
        Ok(())
    }

    /// The level's versions, newest first.
    pub async fn versions(
        &self,
        who: &Principal,
        path: &LevelPath,
        page: Page,
    ) -> Result<(Stored, Vec<VersionInfo>), ServiceError> {
        let target = self.target(who, path).await?;
        let org = self.org_slug(&path.org).await?;
        let versions = self
            .s
            .versions()
            .list(who, &org, &path.project, &path.address, page)
            .await?;
        let current = self.s.store.current_version(&target.scope).await?;
        Ok((
            Stored {
                level: target.scope.level(),
                source: source_of(&target),
                version: current,
            },
            versions,
        ))
    }

    /// The level's content at one version, as a read presents it.
    pub async fn version(
        &self,
        who: &Principal,
        path: &LevelPath,
        version: i64,
        action: ReadAction,
    ) -> Result<(LevelRead, VersionInfo), ServiceError> {
        let target = self.target(who, path).await?;
        let project_id = &target.project.id;
        let decrypt = matches!(action, ReadAction::Decrypt { .. });
        who.require_in(
            project_id,
            if decrypt {
                Permission::SecretDecrypt
            } else {
                Permission::SecretRead
            },
        )?;
        let info = self.s.store.version(&target.scope, version).await?;
        let content = match target.project.mode {
            EncryptionMode::Server => {
                let key = match decrypt {
                    true => {
                        who.audit_action("version.decrypt");
                        None
                    }
                    false => Some(self.s.store.exchange_key(&target.project).await?),
                };
                let secrets = self
                    .s
                    .store
                    .secrets_at(&target.scope, version, Reveal::Plaintext)
                    .await?;
                let mut entries = BTreeMap::new();
                for secret in secrets {
                    let Value::Plain(value) = secret.value else {
                        continue;
                    };
                    let value = match &key {
                        Some(key) => {
                            SecretString::new(key.seal(value.expose().as_bytes()).map_err(
                                |_| ServiceError::new(ErrorCode::Internal, "sealing failed"),
                            )?)
                        }
                        None => value,
                    };
                    entries.insert(secret.name, value);
                }
                Content::Entries(entries)
            }
            EncryptionMode::Client if decrypt => {
                return Err(client_managed(
                    "the project is client-managed: the server cannot decrypt its versions",
                ))
            }
            EncryptionMode::Client => match self.s.store.blob_at(&target.scope, version).await {
                Ok(blob) => Content::Blob(
                    blob.content
                        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                ),
                Err(err) => return Err(err.into()),
            },
        };
        Ok((
            LevelRead {
                level: target.scope.level(),
                source: source_of(&target),
                version,
                content,
            },
            info,
        ))
    }

    /// Restores a version as a new one.
    pub async fn restore(
        &self,
        who: &Principal,
        path: &LevelPath,
        version: i64,
    ) -> Result<Stored, ServiceError> {
        let target = self.target(who, path).await?;
        let org = self.org_slug(&path.org).await?;
        let restored = self
            .s
            .versions()
            .restore(who, &org, &path.project, &path.address, version, None)
            .await?;
        Ok(Stored {
            level: target.scope.level(),
            source: source_of(&target),
            version: restored.version,
        })
    }

    /// Deletes one past version (`secret:purge`).
    pub async fn delete_version(
        &self,
        who: &Principal,
        path: &LevelPath,
        version: i64,
    ) -> Result<(), ServiceError> {
        let org = self.org_slug(&path.org).await?;
        self.s
            .versions()
            .delete(who, &org, &path.project, &path.address, version)
            .await
    }

    /// Erases every version but the current one (`secret:purge`), only
    /// when `confirmed`.
    pub async fn purge(
        &self,
        who: &Principal,
        path: &LevelPath,
        confirmed: bool,
    ) -> Result<u64, ServiceError> {
        if !confirmed {
            return Err(ServiceError::new(
                ErrorCode::ConfirmationRequired,
                "purging erases every past version of the level for good: send confirmed: true",
            ));
        }
        let org = self.org_slug(&path.org).await?;
        self.s
            .versions()
            .purge(who, &org, &path.project, &path.address)
            .await
    }

    /// A client-managed project's key verification (salt and iterations).
    pub async fn key_verification(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
    ) -> Result<KeyVerification, ServiceError> {
        let project = self.project(who, org, project).await?;
        who.require_in(&project.id, Permission::SecretRead)?;
        if project.mode == EncryptionMode::Server {
            return Err(server_managed(&project.slug));
        }
        self.s
            .store
            .key_verification(&project.id)
            .await?
            .ok_or_else(|| {
                ServiceError::Store(StoreError::NotFound {
                    kind: "key verification of project",
                    what: project.slug.clone(),
                })
            })
    }

    /// Sets up (or, with the current proof, replaces) a client-managed
    /// project's key verification. Needs `secret:write` on the whole
    /// project.
    pub async fn set_key_verification(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        request: KeyVerificationRequest<'_>,
    ) -> Result<KeyVerification, ServiceError> {
        let project = self.project(who, org, project).await?;
        who.require_project_wide(&project.id, Permission::SecretWrite)?;
        match self.kind(&project).await? {
            Kind::Server => return Err(server_managed(&project.slug)),
            Kind::ClientOther => return Err(not_dotenv_writable(&project)),
            Kind::ClientBlobs => {}
        }
        let salt = STANDARD.decode(request.salt).map_err(|_| {
            ServiceError::new(ErrorCode::InvalidKeyProof, "salt must be standard base64")
        })?;
        if salt.len() < exchange::MIN_PROOF_SALT {
            return Err(ServiceError::new(
                ErrorCode::InvalidKeyProof,
                format!("salt must hold at least {} bytes", exchange::MIN_PROOF_SALT),
            ));
        }
        if !(MIN_PROOF_ITERATIONS..=MAX_PROOF_ITERATIONS).contains(&request.iterations) {
            return Err(ServiceError::new(
                ErrorCode::InvalidKeyProof,
                format!(
                    "iterations must be between {MIN_PROOF_ITERATIONS} and {MAX_PROOF_ITERATIONS}"
                ),
            ));
        }
        let proof_hash = super::proof_hash(request.key_proof)?;
        if self.s.store.key_verification(&project.id).await?.is_some() {
            match request.current_key_proof {
                Some(current) => self.check_key_proof(&project, Some(current)).await?,
                None => {
                    return Err(ServiceError::new(
                        ErrorCode::AlreadyExists,
                        format!(
                            "project {} already has a key verification; to replace it send \
                             current_key_proof too",
                            project.slug
                        ),
                    ))
                }
            }
        }
        self.s
            .store
            .set_key_verification(&project.id, request.salt, request.iterations, &proof_hash)
            .await?;
        self.s
            .store
            .key_verification(&project.id)
            .await?
            .ok_or_else(|| ServiceError::new(ErrorCode::Internal, "key verification not kept"))
    }
}

fn proof_mismatch() -> ServiceError {
    ServiceError::new(
        ErrorCode::KeyProofMismatch,
        "the key proof does not match this project's key verification: wrong key; nothing was stored",
    )
}

fn not_dotenv_writable(project: &Project) -> ServiceError {
    ServiceError::new(
        ErrorCode::E2eeProject,
        format!(
            "project {} is end-to-end encrypted with hush's per-name scheme (or is a vault-env \
             project): DotEnv can read its ciphertext but writes go through hush's own clients",
            project.slug
        ),
    )
}

/// The slug of the deepest level addressed.
fn source_of(target: &Target) -> String {
    target
        .env
        .as_ref()
        .or(target.target_child.as_ref())
        .map_or_else(|| target.project.slug.clone(), |c| c.slug.clone())
}

/// The changes that make a level hold exactly `wanted`: changed values
/// keep their note, tags and flags; names not wanted are removed.
fn level_changes(
    current: Vec<Secret>,
    mut wanted: BTreeMap<String, SecretString>,
) -> Vec<SecretChange> {
    let mut changes = Vec::new();
    for secret in current {
        match wanted.remove(&secret.name) {
            None => changes.push(SecretChange::Delete(secret.name)),
            Some(value) => {
                if secret.value.plain() == Some(&value) {
                    continue;
                }
                changes.push(SecretChange::Set(SecretValue::replacing(secret, value)));
            }
        }
    }
    changes.extend(
        wanted
            .into_iter()
            .map(|(name, value)| SecretChange::Set(SecretValue::new(name, value))),
    );
    changes
}
