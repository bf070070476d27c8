//! Reading and writing secrets.

use hush_core::{NameRule, SecretString, Tag};
use hush_store::{
    Change, EncryptionMode, InputValue, ReadOptions, Reveal, Secret, SecretInput, VersionInfo,
};

use super::{ScopeAddress, Services};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// Which secrets a read returns.
#[derive(Debug, Clone, Default)]
pub struct SecretFilter {
    /// Only these names.
    pub names: Option<Vec<String>>,
    /// Only secrets with this tag.
    pub tag: Option<String>,
    /// Only names containing this text (case-insensitive).
    pub search: Option<String>,
}

impl SecretFilter {
    fn keeps(&self, secret: &Secret) -> bool {
        self.names
            .as_ref()
            .is_none_or(|names| names.contains(&secret.name))
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| secret.tags.contains(tag))
            && self.search.as_ref().is_none_or(|needle| {
                secret
                    .name
                    .to_ascii_lowercase()
                    .contains(&needle.to_ascii_lowercase())
            })
    }
}

/// Secrets as read, with what a caller needs to present them.
#[derive(Debug)]
pub struct SecretsRead {
    /// The project's encryption mode (how to present ciphertext).
    pub mode: EncryptionMode,
    /// The scope's version the secrets belong to.
    pub version: i64,
    /// The secrets, by name.
    pub secrets: Vec<Secret>,
}

/// Preconditions of a write: the version the scope must still be at
/// (check-and-set) and, for an end-to-end-encrypted project, the key proof.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteGuard<'a> {
    /// Write only if the scope is at this version.
    pub expected_version: Option<i64>,
    /// The `X-Hush-Key-Proof` the write came with.
    pub key_proof: Option<&'a str>,
}

/// A change to one secret, as any surface states it: names and values as
/// text. The service validates the names and encodes the values as the
/// project's encryption mode wants them (plaintext to encrypt, or the
/// client's ciphertext to keep).
#[derive(Debug)]
pub enum SecretChange {
    /// Create or replace a secret.
    Set(SecretValue),
    /// Remove a secret.
    Delete(String),
}

/// A secret to set.
#[derive(Debug)]
pub struct SecretValue {
    /// Its name (native rules: `^[A-Za-z_][A-Za-z0-9_]*$`).
    pub name: String,
    /// Its value (plaintext, or a client-encrypted project's ciphertext);
    /// `None` keeps the stored value and changes only the metadata.
    pub value: Option<SecretString>,
    /// Note.
    pub note: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Inactive secrets are left out of merged reads.
    pub is_active: bool,
    /// Reserved secrets cannot be deleted.
    pub is_reserved: bool,
    /// After this time (unix ms) the secret is left out of merged reads.
    pub expires_at: Option<i64>,
}

impl SecretValue {
    /// An active, unreserved secret with no note, tags or expiry.
    pub fn new(name: impl Into<String>, value: SecretString) -> Self {
        Self {
            name: name.into(),
            value: Some(value),
            note: None,
            tags: Vec::new(),
            is_active: true,
            is_reserved: false,
            expires_at: None,
        }
    }
}

impl SecretValue {
    /// `existing` with a new value, its note, tags and flags kept (an
    /// import or a level replaced by value changes values, not metadata).
    pub fn replacing(existing: Secret, value: SecretString) -> Self {
        Self {
            name: existing.name,
            value: Some(value),
            note: existing.note,
            tags: existing.tags,
            is_active: existing.is_active,
            is_reserved: existing.is_reserved,
            expires_at: existing.expires_at,
        }
    }
}

impl SecretChange {
    /// The store's change, with the value as `mode` wants it.
    fn into_store(self, mode: EncryptionMode) -> Result<Change, ServiceError> {
        Ok(match self {
            SecretChange::Delete(name) => Change::Delete(NameRule::Native.parse(&name)?),
            SecretChange::Set(set) => {
                let tags = set
                    .tags
                    .iter()
                    .map(|t| Tag::parse(t))
                    .collect::<Result<Vec<_>, _>>()?;
                Change::Upsert(SecretInput {
                    name: NameRule::Native.parse(&set.name)?,
                    value: match (set.value, mode) {
                        (None, _) => InputValue::Keep,
                        (Some(v), EncryptionMode::Server) => InputValue::Plain(v),
                        (Some(v), EncryptionMode::Client) => {
                            InputValue::Ciphertext(v.expose().as_bytes().to_vec())
                        }
                    },
                    note: set.note,
                    tags,
                    is_active: set.is_active,
                    is_reserved: set.is_reserved,
                    expires_at: set.expires_at,
                })
            }
        })
    }
}

/// A read of one scope.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// Only the addressed level (true) or the merged view (false).
    pub exact: bool,
    /// How much of each value.
    pub reveal: Reveal,
    /// Include inactive and expired secrets.
    pub include_inactive: bool,
    /// Which secrets.
    pub filter: SecretFilter,
}

/// Reading and writing one scope's secrets: reads with their exact version, writes as one version each (none if nothing changes). Handed out by [`Services::secrets`].
pub struct Secrets<'a> {
    s: &'a Services,
}

impl Services {
    /// The secrets facade.
    pub fn secrets(&self) -> Secrets<'_> {
        Secrets { s: self }
    }
}

impl Secrets<'_> {
    /// Reads secrets; returns the scope's current version with them.
    pub async fn read(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        request: &ReadRequest,
    ) -> Result<SecretsRead, ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(
            &target.project.id,
            match request.reveal {
                Reveal::Plaintext => Permission::SecretDecrypt,
                Reveal::Metadata | Reveal::Ciphertext => Permission::SecretRead,
            },
        )?;
        if request.reveal == Reveal::Plaintext {
            who.audit_action("secret.decrypt");
        }
        let options = ReadOptions {
            reveal: request.reveal,
            include_inactive: request.include_inactive,
        };
        // One statement: the version is exactly that of the rows.
        let read = if request.exact {
            self.s.store.read_level(&target.scope, options).await?
        } else {
            self.s.store.read_merged(&target.scope, options).await?
        };
        let version = read.version;
        let secrets = read
            .secrets
            .into_iter()
            .filter(|s| request.filter.keeps(s))
            .collect();
        Ok(SecretsRead {
            mode: target.project.mode,
            version,
            secrets,
        })
    }

    /// The revision of the merged view at an address (see
    /// [`hush_proto::Revision`]): one indexed query, no values read.
    pub async fn revision(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
    ) -> Result<String, ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretRead)?;
        let versions = self.s.store.lineage_versions(&target.scope).await?;
        Ok(super::revision_string(&versions))
    }

    /// Applies changes to one scope as one version (none if they change
    /// nothing). Deleting a reserved secret is refused.
    pub async fn write(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        changes: Vec<SecretChange>,
        guard: WriteGuard<'_>,
    ) -> Result<VersionInfo, ServiceError> {
        let WriteGuard {
            expected_version,
            key_proof,
        } = guard;
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretWrite)?;
        if target.project.slug == super::ORG_SECRETS {
            check_org_secret_names(&changes)?;
        }
        let mode = target.project.mode;
        let changes = changes
            .into_iter()
            .map(|c| c.into_store(mode))
            .collect::<Result<Vec<_>, _>>()?;
        let sets_values = changes.iter().any(|c| {
            matches!(c, Change::Upsert(input) if matches!(input.value, hush_store::InputValue::Ciphertext(_)))
        });
        if sets_values {
            self.s
                .e2ee()
                .check_key_proof(&target.project, key_proof)
                .await?;
        }
        if changes.is_empty() {
            return Err(ServiceError::new(
                ErrorCode::EmptyWrite,
                "nothing to write: give secrets to set or delete",
            ));
        }
        let deleting: Vec<&str> = changes
            .iter()
            .filter_map(|c| match c {
                Change::Delete(name) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        if !deleting.is_empty() {
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
            if let Some(reserved) = current
                .secrets
                .iter()
                .find(|s| s.is_reserved && deleting.contains(&s.name.as_str()))
            {
                return Err(ServiceError::new(
                    ErrorCode::SecretReserved,
                    format!(
                        "{} is reserved and cannot be deleted; clear is_reserved first",
                        reserved.name
                    ),
                ));
            }
        }
        Ok(who
            .commit(|author| async move {
                self.s
                    .store
                    .write(&target.scope, changes, &author, expected_version)
                    .await
            })
            .await?)
    }
}

/// Organization secrets are read through Hooklistener and InsForge too:
/// their names must follow the rule those accept, whoever writes them.
fn check_org_secret_names(changes: &[SecretChange]) -> Result<(), ServiceError> {
    for change in changes {
        if let SecretChange::Set(set) = change {
            if !super::valid_org_secret_name(&set.name) {
                return Err(ServiceError::new(
                    ErrorCode::InvalidName,
                    format!(
                        "{:?} is not a valid organization secret name: names match {} \
                         (read by the Hooklistener and InsForge APIs too)",
                        set.name,
                        super::ORG_SECRET_NAME_RULE
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// What to copy where.
#[derive(Debug, Clone)]
pub struct CopyRequest {
    /// The source scope (its own level only).
    pub from: ScopeAddress,
    /// The destination scope.
    pub to: ScopeAddress,
    /// Replace names the destination already has.
    pub overwrite: bool,
    /// Write only if the destination is at this version.
    pub expected_version: Option<i64>,
    /// The key proof, for an end-to-end-encrypted project.
    pub key_proof: Option<String>,
}

impl Secrets<'_> {
    /// Copies the secrets stored at one scope (exactly that level, with
    /// their metadata) into another scope of the same project, as one new
    /// version there. Without `overwrite`, names the destination already has
    /// are kept. Server-encrypted values are re-encrypted for their new
    /// place; client-encrypted ones are copied as they are.
    pub async fn copy(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        request: CopyRequest,
    ) -> Result<VersionInfo, ServiceError> {
        let CopyRequest {
            from,
            to,
            overwrite,
            expected_version,
            key_proof,
        } = request;
        let source = self.s.target(who, org, project, &from).await?;
        let reveal = match source.project.mode {
            hush_store::EncryptionMode::Server => {
                who.require_in(&source.project.id, Permission::SecretDecrypt)?;
                Reveal::Plaintext
            }
            hush_store::EncryptionMode::Client => {
                who.require_in(&source.project.id, Permission::SecretRead)?;
                Reveal::Ciphertext
            }
        };
        let all = ReadOptions {
            reveal,
            include_inactive: true,
        };
        let secrets = self.s.store.read_level(&source.scope, all).await?.secrets;
        let existing: Vec<String> = if overwrite {
            Vec::new()
        } else {
            let dest = self.s.target(who, org, project, &to).await?;
            let meta = ReadOptions {
                reveal: Reveal::Metadata,
                include_inactive: true,
            };
            self.s
                .store
                .read_level(&dest.scope, meta)
                .await?
                .secrets
                .into_iter()
                .map(|s| s.name)
                .collect()
        };
        let changes = secrets
            .into_iter()
            .filter(|s| !existing.contains(&s.name))
            .map(|s| {
                SecretChange::Set(SecretValue {
                    value: match s.value {
                        hush_store::Value::Plain(v) => Some(v),
                        hush_store::Value::Ciphertext(c) => {
                            Some(SecretString::new(String::from_utf8_lossy(&c).into_owned()))
                        }
                        hush_store::Value::Hidden => None,
                    },
                    name: s.name,
                    note: s.note,
                    tags: s.tags,
                    is_active: s.is_active,
                    is_reserved: s.is_reserved,
                    expires_at: s.expires_at,
                })
            })
            .collect();
        self.write(
            who,
            org,
            project,
            &to,
            changes,
            WriteGuard {
                expected_version,
                key_proof: key_proof.as_deref(),
            },
        )
        .await
    }
}
