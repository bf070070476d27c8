//! The records the store reads and writes.

use hush_core::{SecretName, SecretString, Tag};

/// Who may decrypt a project's values. Fixed when the project is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncryptionMode {
    /// The server holds the project's data key (wrapped by the master key)
    /// and can decrypt on request.
    Server,
    /// Clients encrypt before sending; the server stores ciphertext and can
    /// never decrypt.
    Client,
}

impl EncryptionMode {
    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionMode::Server => "server",
            EncryptionMode::Client => "client",
        }
    }

    pub(crate) fn from_db(text: &str) -> Option<Self> {
        match text {
            "server" => Some(EncryptionMode::Server),
            "client" => Some(EncryptionMode::Client),
            _ => None,
        }
    }
}

/// A tenant: owns projects (and later users and tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Stable id.
    pub id: String,
    /// Unique slug.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Creation time (unix ms).
    pub created_at: i64,
    /// Whether viewers may decrypt (run the app with the secrets), not only
    /// see names and metadata: the organization's choice, off by default.
    pub viewers_decrypt: bool,
    /// How much it may hold.
    pub limits: PlanLimits,
}

/// An organization's plan: how many projects, and environments per
/// project, it may have (`None`: unlimited, a self-hosted default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanLimits {
    /// The plan's name (`free`, `prime`, `custom`); `None` is unlimited.
    pub plan: Option<String>,
    /// Most projects.
    pub max_projects: Option<u32>,
    /// Most environments per project.
    pub max_environments: Option<u32>,
}

/// One application's secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// Stable id (bound into every ciphertext of the project).
    pub id: String,
    /// Owning organization.
    pub org_id: String,
    /// Slug, unique in the organization.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Server- or client-side encryption.
    pub mode: EncryptionMode,
    /// Creation time (unix ms).
    pub created_at: i64,
    /// Who created it.
    pub created_by: String,
}

/// What a project-level child is: a target (e.g. `backend`) or an
/// environment (e.g. `production`). Both have the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// A deployable part of the project, between project and environment.
    Target,
    /// A stage such as development or production.
    Environment,
}

impl ChildKind {
    pub(crate) fn table(self) -> &'static str {
        match self {
            ChildKind::Target => "targets",
            ChildKind::Environment => "environments",
        }
    }

    /// The singular noun, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            ChildKind::Target => "target",
            ChildKind::Environment => "environment",
        }
    }
}

/// A target or an environment of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// Target or environment.
    pub kind: ChildKind,
    /// Stable id.
    pub id: String,
    /// Owning project.
    pub project_id: String,
    /// Slug, unique among the project's children of this kind.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Creation time (unix ms).
    pub created_at: i64,
}

/// A target of a project.
pub type Target = Child;
/// An environment of a project.
pub type Environment = Child;

/// The depth a secret lives at. Deeper levels win in a merged read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Shared by every target and environment of the project.
    Project,
    /// Shared by the environments under one target.
    Target,
    /// One environment (optionally under a target).
    Environment,
}

impl Level {
    /// The displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Project => "project",
            Level::Target => "target",
            Level::Environment => "environment",
        }
    }
}

/// A resolved place secrets live. Built by [`Scope::new`] from records the
/// caller already holds, so constructing one costs no query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub(crate) project_id: String,
    pub(crate) project_slug: String,
    pub(crate) mode: EncryptionMode,
    pub(crate) target_id: Option<String>,
    pub(crate) environment_id: Option<String>,
    pub(crate) key: String,
}

impl Scope {
    /// The scope at (project, optional target, optional environment).
    /// Fails if the target or environment belongs to another project.
    pub fn new(
        project: &Project,
        target: Option<&Target>,
        environment: Option<&Environment>,
    ) -> crate::Result<Self> {
        for child in target.iter().chain(environment.iter()) {
            if child.project_id != project.id {
                return Err(crate::StoreError::ForeignScope {
                    kind: child.kind.noun(),
                    slug: child.slug.clone(),
                });
            }
        }
        Ok(Self::from_ids(
            project,
            target.map(|t| t.id.clone()),
            environment.map(|e| e.id.clone()),
        ))
    }

    fn from_ids(
        project: &Project,
        target_id: Option<String>,
        environment_id: Option<String>,
    ) -> Self {
        let key = format!(
            "{}/{}/{}",
            project.id,
            target_id.as_deref().unwrap_or(""),
            environment_id.as_deref().unwrap_or("")
        );
        Scope {
            project_id: project.id.clone(),
            project_slug: project.slug.clone(),
            mode: project.mode,
            target_id,
            environment_id,
            key,
        }
    }

    /// How deep this scope is.
    pub fn level(&self) -> Level {
        match (&self.target_id, &self.environment_id) {
            (_, Some(_)) => Level::Environment,
            (Some(_), None) => Level::Target,
            (None, None) => Level::Project,
        }
    }

    /// The scope key: `project/target/environment` ids, empty when absent.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The project's encryption mode.
    pub fn mode(&self) -> EncryptionMode {
        self.mode
    }

    /// This scope and the shallower ones it inherits from, shallowest first.
    pub(crate) fn lineage(&self) -> Vec<(Level, String)> {
        let mut keys = vec![(Level::Project, format!("{}//", self.project_id))];
        if let Some(target) = &self.target_id {
            keys.push((Level::Target, format!("{}/{}/", self.project_id, target)));
        }
        if self.environment_id.is_some() {
            keys.push((Level::Environment, self.key.clone()));
        }
        keys
    }
}

/// A value as handed to a write.
pub enum InputValue {
    /// Plaintext, for a server-encrypted project; the store encrypts it.
    Plain(SecretString),
    /// Client-made ciphertext, for a client-encrypted project; stored as is.
    Ciphertext(Vec<u8>),
    /// Keep the stored value and change only the metadata.
    Keep,
}

/// One secret to create or replace. Metadata fields replace what is stored.
pub struct SecretInput {
    /// Validated name.
    pub name: SecretName,
    /// New value, or keep the current one.
    pub value: InputValue,
    /// Free-form note (not secret).
    pub note: Option<String>,
    /// Labels for filtering.
    pub tags: Vec<Tag>,
    /// Inactive secrets are left out of merged reads.
    pub is_active: bool,
    /// Reserved secrets are protected from deletion by the APIs that honor it.
    pub is_reserved: bool,
    /// After this time (unix ms) the secret is left out of merged reads.
    pub expires_at: Option<i64>,
}

impl SecretInput {
    /// An active, unreserved secret with no note, tags or expiry.
    pub fn new(name: SecretName, value: InputValue) -> Self {
        Self {
            name,
            value,
            note: None,
            tags: Vec::new(),
            is_active: true,
            is_reserved: false,
            expires_at: None,
        }
    }
}

/// One change inside a write. A write of several changes is one version.
pub enum Change {
    /// Create or replace a secret.
    Upsert(SecretInput),
    /// Remove a secret (it stays in the version history).
    Delete(SecretName),
    /// Rename a secret, keeping its id and so its history.
    Rename {
        /// Current name.
        from: SecretName,
        /// New name; must be free.
        to: SecretName,
    },
}

/// How much of each value a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// Names and metadata only; no value work at all.
    Metadata,
    /// The stored ciphertext.
    Ciphertext,
    /// Decrypted plaintext (server-encrypted projects only).
    Plaintext,
}

/// A value as returned by a read, per [`Reveal`].
#[derive(Debug, PartialEq, Eq)]
pub enum Value {
    /// Not requested.
    Hidden,
    /// Stored bytes (for server mode: `nonce ‖ ciphertext ‖ tag`).
    Ciphertext(Vec<u8>),
    /// Decrypted value.
    Plain(SecretString),
}

impl Value {
    /// The plaintext, if this read decrypted.
    pub fn plain(&self) -> Option<&SecretString> {
        match self {
            Value::Plain(s) => Some(s),
            _ => None,
        }
    }
}

/// A secret as read.
#[derive(Debug, PartialEq, Eq)]
pub struct Secret {
    /// Stable id; survives renames.
    pub id: String,
    /// Name.
    pub name: String,
    /// Value, per the read's [`Reveal`].
    pub value: Value,
    /// Level it was read from.
    pub level: Level,
    /// Note.
    pub note: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Active flag.
    pub is_active: bool,
    /// Reserved flag.
    pub is_reserved: bool,
    /// Expiry (unix ms).
    pub expires_at: Option<i64>,
    /// Creation time (unix ms).
    pub created_at: i64,
    /// Last update time (unix ms).
    pub updated_at: i64,
    /// Who created it.
    pub created_by: String,
    /// Who last changed it.
    pub updated_by: String,
}

/// Options for reads.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// How much of each value to return.
    pub reveal: Reveal,
    /// Also return inactive and expired secrets.
    pub include_inactive: bool,
}

impl ReadOptions {
    /// Active, unexpired secrets with values revealed as asked.
    pub fn new(reveal: Reveal) -> Self {
        Self {
            reveal,
            include_inactive: false,
        }
    }
}

/// What a version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Secrets created, replaced, deleted or renamed.
    Write,
    /// A blob stored or cleared.
    Blob,
    /// An older version made current again.
    Restore,
}

impl Action {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Write => "write",
            Action::Blob => "blob",
            Action::Restore => "restore",
        }
    }

    pub(crate) fn from_db(text: &str) -> Self {
        match text {
            "blob" => Action::Blob,
            "restore" => Action::Restore,
            _ => Action::Write,
        }
    }
}

/// One entry of a scope's version log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// 1, 2, 3… per scope; never reused, even after deletes and purges.
    pub version: i64,
    /// What the write did.
    pub action: Action,
    /// Names the write touched.
    pub changed_keys: Vec<String>,
    /// For restores: the version restored.
    pub restored_from: Option<i64>,
    /// Time (unix ms).
    pub created_at: i64,
    /// Author.
    pub created_by: String,
    /// When it was soft-deleted (KV v2's `delete`), if it is.
    pub deleted_at: Option<i64>,
    /// Whether its values were destroyed (KV v2's `destroy`): gone for good.
    pub destroyed: bool,
}

/// What a KV v2 request does to versions of a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionState {
    /// Hide versions (their values stay, `Undelete` brings them back).
    Delete,
    /// Bring soft-deleted versions back.
    Undelete,
    /// Erase versions' values for good.
    Destroy,
}

/// How a name differs between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffKind {
    /// Present only in the newer.
    Added,
    /// Present only in the older.
    Removed,
    /// Present in both with a different value or metadata.
    Changed,
}

/// One line of a diff: names only, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffEntry {
    /// The secret's name.
    pub name: String,
    /// What changed.
    pub kind: DiffKind,
}

/// A blob scope's content at some version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The opaque bytes; `None` once cleared.
    pub content: Option<Vec<u8>>,
    /// The version this content belongs to.
    pub version: i64,
}

/// A merged read with what a cache needs to know about it.
#[derive(Debug)]
pub struct MergedView {
    /// Current versions of the lineage scopes (shallowest first) as of the read.
    pub versions: Vec<i64>,
    /// When a secret in the lineage expires and the view changes (unix ms).
    pub valid_until: Option<i64>,
    /// The merged, active secrets.
    pub secrets: Vec<Secret>,
}

/// The secrets of a read and the version of the scope they belong to
/// (read together, so the version is exactly that of the rows).
#[derive(Debug)]
pub struct ScopeRead {
    /// The addressed scope's current version (0 if never written).
    pub version: i64,
    /// The secrets, by name.
    pub secrets: Vec<Secret>,
}

/// Who makes a change, and the audit entry that must commit with it.
#[derive(Debug, Clone)]
pub struct Author {
    /// As recorded in `created_by` / `updated_by`: `token:<id>`,
    /// `user:<id>`, `device:<id>`.
    pub actor: String,
    /// The request's audit entry, appended in the same transaction as the
    /// change, so an acknowledged change is never without its entry.
    pub audit: Option<crate::AuditEntry>,
}

impl Author {
    /// An author whose change is audited by its caller, or not at all
    /// (bootstrap, tests).
    pub fn new(actor: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            audit: None,
        }
    }

    /// An author with the audit entry to commit with the change.
    pub fn audited(actor: impl Into<String>, audit: Option<crate::AuditEntry>) -> Self {
        Self {
            actor: actor.into(),
            audit,
        }
    }
}

/// A user's role in an organization, or (but for `Owner`) in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything, including the organization itself.
    Owner,
    /// Everything in the organization (or the project).
    Admin,
    /// Read, decrypt and write secrets.
    Member,
    /// Read names and metadata.
    Viewer,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    /// The role named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// A vault-env device's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Registered, waiting for a project admin.
    Pending,
    /// May pull and push.
    Approved,
    /// Shut out.
    Revoked,
}

impl DeviceStatus {
    /// The stored and displayed form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceStatus::Pending => "pending",
            DeviceStatus::Approved => "approved",
            DeviceStatus::Revoked => "revoked",
        }
    }

    /// The status named `text`, if any.
    pub fn parse(text: &str) -> Option<Self> {
        [
            DeviceStatus::Pending,
            DeviceStatus::Approved,
            DeviceStatus::Revoked,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}
