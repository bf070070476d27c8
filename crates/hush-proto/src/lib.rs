//! The native API's request and response bodies (`/v1/…`).
//!
//! serde only, so the server and the Rust client share one definition of
//! the wire format without sharing code paths. Times are RFC 3339 strings in
//! UTC. Request bodies reject unknown fields, so a typo is a 400, not a
//! silently ignored setting.

use serde::{Deserialize, Serialize};

/// The one error envelope: `{"error":{"code":"…","message":"…"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// A stable machine-readable code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable code, e.g. `not_found`, `version_conflict`.
    pub code: String,
    /// What went wrong and, where possible, what to do.
    pub message: String,
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    /// Stable id.
    pub id: String,
    /// The same id in ULID form, as DotEnv's URLs take it
    /// (`/api/v1/{organization}/…`; the slug works there too).
    #[serde(default)]
    pub dotenv_id: String,
    /// Slug used in URLs.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: String,
    /// Whether viewers may decrypt (run the app with the secrets), not
    /// only see names and metadata. Off unless the organization says so.
    #[serde(default)]
    pub viewers_decrypt: bool,
    /// The plan's name; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// Most projects; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_projects: Option<u32>,
    /// Most environments per project; absent: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_environments: Option<u32>,
}

/// Body of `POST /v1/orgs` (a server admin's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOrg {
    /// Slug (lower-case letters, digits, dashes).
    pub slug: String,
    /// Display name (default: the slug).
    #[serde(default)]
    pub name: Option<String>,
}

/// Answer to `POST /v1/orgs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedOrg {
    /// The new organization.
    pub organization: Organization,
    /// Its first admin token (all scopes within it), shown only now.
    pub token: String,
}

/// Body of `PATCH /v1/orgs/{org}`: the organization's policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrgPolicy {
    /// Let viewers decrypt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewers_decrypt: Option<bool>,
    /// The plan (owners only): `free` (15 projects, 2 environments each),
    /// `prime` (100 and 5), `unlimited`, or `custom` with the numbers below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// With plan `custom`: most projects (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_projects: Option<u32>,
    /// With plan `custom`: most environments per project (absent: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_environments: Option<u32>,
}

/// Body of `PUT /v1/orgs/{org}/users/{user}/password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password (at least 12 characters).
    pub password: String,
}

/// Body of `PUT /v1/password`: a user changes their own password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password now.
    pub current_password: String,
    /// The new one (at least 12 characters).
    pub new_password: String,
}

/// A user's role in one project (what `whoami` lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectRoleOf {
    /// Project slug.
    pub project: String,
    /// `admin`, `member` or `viewer`.
    pub role: String,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Project {
    /// Stable id.
    pub id: String,
    /// Slug used in URLs.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// `server` or `client` (end-to-end encrypted); fixed at creation.
    pub encryption_mode: String,
    /// Creation time.
    pub created_at: String,
}

/// Body of `POST /v1/orgs/{org}/projects`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateProject {
    /// Slug: 1-64 of `a-z 0-9 - _`.
    pub slug: String,
    /// Display name (defaults to the slug).
    #[serde(default)]
    pub name: Option<String>,
    /// `server` (default) or `client`.
    #[serde(default)]
    pub encryption_mode: Option<String>,
    /// For an end-to-end-encrypted (`client`) project: the key metadata
    /// the client made. With it, writes must carry the key proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2ee_meta: Option<E2eeMeta>,
    /// Hex HMAC of the data key (see `hush_core::e2ee`); required with
    /// `e2ee_meta`. The server keeps only its hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_proof: Option<String>,
}

/// The key metadata of an end-to-end-encrypted project, as the Hep.gg seed
/// names it: nothing in it can decrypt without the passphrase or the
/// recovery key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct E2eeMeta {
    /// PBKDF2-SHA256 iterations (at least 100,000).
    pub iterations: u32,
    /// Salt of the passphrase (base64).
    pub salt_pass: String,
    /// Data key wrapped by the passphrase (base64 iv‖ct‖tag).
    pub wrapped_dek_pass: String,
    /// Salt of the recovery key (base64).
    pub salt_rec: String,
    /// Data key wrapped by the recovery key (base64 iv‖ct‖tag).
    pub wrapped_dek_rec: String,
    /// Identifies the data key (base64 HMAC).
    pub verifier: String,
}

/// What `GET /v1/pull` and `GET /v1/orgs/{org}/projects/{project}/pull`
/// answer: the merged view of one scope, ready to inject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pull {
    /// Project slug.
    pub project: String,
    /// Environment slug, when one was pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Target slug, when one was pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Changes whenever the view may have (what `…/revision` answers).
    pub revision: String,
    /// True for an end-to-end-encrypted project: the values are the
    /// clients' ciphertext, to decrypt with `e2ee_meta` and the passphrase.
    pub e2ee: bool,
    /// Key metadata of an end-to-end-encrypted project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2ee_meta: Option<E2eeMeta>,
    /// Name → value.
    pub secrets: std::collections::BTreeMap<String, String>,
}

/// A target or an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Child {
    /// Stable id.
    pub id: String,
    /// Slug used in URLs and `?env=` / `?target=`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: String,
}

/// Body creating an organization, a target or an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateNamed {
    /// Slug: 1-64 of `a-z 0-9 - _`.
    pub slug: String,
    /// Display name (defaults to the slug).
    #[serde(default)]
    pub name: Option<String>,
}

/// A secret as returned by reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Secret {
    /// Name.
    pub name: String,
    /// Plaintext (with `reveal=plain`), base64 ciphertext (with
    /// `reveal=ciphertext`), or absent (`reveal=metadata`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `project`, `target` or `environment`: where the value comes from.
    pub level: String,
    /// Note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Inactive secrets are left out of merged reads.
    pub is_active: bool,
    /// Reserved secrets cannot be deleted.
    pub is_reserved: bool,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Creator.
    pub created_by: String,
    /// Last author.
    pub updated_by: String,
}

/// A list of secrets with the version of the scope they were read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretList {
    /// Current version of the addressed scope (0 if never written).
    pub version: i64,
    /// The secrets, by name.
    pub secrets: Vec<Secret>,
}

/// Body of `PUT …/secrets/{name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PutSecret {
    /// New value; omit to keep the current one and change only metadata.
    #[serde(default)]
    pub value: Option<String>,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Default true.
    #[serde(default)]
    pub is_active: Option<bool>,
    /// Default false.
    #[serde(default)]
    pub is_reserved: Option<bool>,
    /// RFC 3339 expiry.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Write only if the scope is still at this version.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// One entry of a bulk write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkEntry {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
}

/// Body of `POST …/secrets` (bulk set and delete, one version).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkWrite {
    /// Secrets to create or replace.
    #[serde(default)]
    pub set: Vec<BulkEntry>,
    /// Names to delete.
    #[serde(default)]
    pub delete: Vec<String>,
    /// Write only if the scope is still at this version.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

/// One side of a copy: a scope of the project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ScopeRef {
    /// Environment slug (none: project or target level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Target slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// Body of `POST …/projects/{project}/copy`: one version at the destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CopySecrets {
    /// Where from (the secrets set at exactly that level).
    pub from: ScopeRef,
    /// Where to (exactly that level).
    pub to: ScopeRef,
    /// Replace names the destination already has (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<bool>,
    /// Write only if the destination is still at this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<i64>,
}

/// What a write produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WriteResult {
    /// The new version.
    pub version: i64,
    /// Names the write touched.
    pub changed_keys: Vec<String>,
}

/// An entry of a scope's version log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Version {
    /// Version number.
    pub version: i64,
    /// `write`, `restore` or `blob`.
    pub action: String,
    /// Names the write touched.
    pub changed_keys: Vec<String>,
    /// For restores, the version restored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<i64>,
    /// Time.
    pub created_at: String,
    /// Author (`token:<id>`, `user:<id>`, `device:<id>`).
    pub created_by: String,
    /// The author as people know them (a token's name, a user's email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_name: Option<String>,
    /// When a Vault KV client soft-deleted it (its values are kept;
    /// undelete brings them back). While the current version is deleted
    /// the scope reads as empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Whether a Vault KV client destroyed it: its values are gone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub destroyed: bool,
}

/// What `POST …/versions/purge` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Purged {
    /// How many old versions were deleted.
    pub purged_versions: u64,
}

/// One name in a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffEntry {
    /// Name.
    pub name: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
}

/// A token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Token {
    /// Stable id (for revocation).
    pub id: String,
    /// `api` or `pull`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// The token's first characters.
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Project restriction (slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Environment restriction (slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Revoked tokens are kept, disabled.
    pub disabled: bool,
    /// Creation time.
    pub created_at: String,
    /// Last use (to the minute), if ever used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// Body of `POST /v1/orgs/{org}/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Display name.
    pub name: String,
    /// `api` (default), `pull`, or `hooklistener` (an `hklst_` API key for
    /// the organization's secrets; see `access`).
    #[serde(default)]
    pub kind: Option<String>,
    /// For `hooklistener` keys: `read` (default) or `read-write`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// Scopes of an API token (pull tokens have none to choose).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Restrict to a project (required for pull tokens).
    #[serde(default)]
    pub project: Option<String>,
    /// Restrict to one environment of that project.
    #[serde(default)]
    pub environment: Option<String>,
    /// RFC 3339 expiry.
    #[serde(default)]
    pub expires_at: Option<String>,
}

/// `POST …/insforge/tokens` body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IssueJwt {
    /// Seconds it stays valid: 60 to 86400 (default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

/// An admin JWT for InsForge's secrets API (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedJwt {
    /// The JWT, for `Authorization: Bearer …` on `/api/secrets`.
    pub token: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// A newly created token: the only time the token is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// The token. Store it now; it cannot be shown again.
    pub token: String,
    /// Its record.
    #[serde(flatten)]
    pub info: Token,
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Position in the hash chain.
    pub seq: i64,
    /// Time.
    pub at: String,
    /// `token:<id>`, `user:<id>` or `anonymous`.
    pub actor: String,
    /// The actor as people know them (a token's name, a user's email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_name: Option<String>,
    /// What, e.g. `secret.decrypt`.
    pub action: String,
    /// Path (and scope) acted on.
    pub resource: String,
    /// `ok`, `denied` or `error`.
    pub result: String,
    /// HTTP status.
    pub status: i64,
    /// Client address.
    pub ip: String,
    /// Client user agent.
    pub user_agent: String,
    /// How many identical requests the entry stands for (more than 1 for a
    /// summary of pulls).
    #[serde(default = "one")]
    pub count: i64,
    /// Chain hash.
    pub hash: String,
}

fn one() -> i64 {
    1
}

/// A page of the audit log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditPage {
    /// Entries.
    pub entries: Vec<AuditEntry>,
    /// Pass as `?before=` for the next (older) page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// Result of verifying the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditVerification {
    /// True when every entry and link of the server's chain checks out
    /// (one chain holds every organization's entries).
    pub ok: bool,
    /// This organization's entries among those checked.
    pub entries: i64,
    /// The first entry that does not check out, when it is this
    /// organization's (or the break is the chain's ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<i64>,
    /// What is wrong, when something is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// After a prune: the sequence number of the last removed entry, from
    /// which verification starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_through: Option<i64>,
}

/// Body of `POST /v1/orgs/{org}/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// Login name.
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    /// `owner`, `admin`, `member` (default) or `viewer`.
    #[serde(default)]
    pub role: Option<String>,
}

/// A member of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct User {
    /// Stable id.
    pub id: String,
    /// Login name.
    pub email: String,
    /// Role in the organization.
    pub role: String,
}

/// Body of `PUT …/projects/{project}/members/{user}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProjectRole {
    /// `admin`, `member` or `viewer`: replaces the user's organization
    /// role within the project (owners and admins keep theirs).
    pub role: String,
}

/// `PUT /v1/orgs/{org}/users/{user}/role`: a member's organization role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrgRole {
    /// `owner`, `admin`, `member` or `viewer`. Owners are made and unmade
    /// only by owners, and the last owner stays one.
    pub role: String,
}

/// A device of a vault-env project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// Stable id (what approve and revoke take).
    pub id: String,
    /// The name it registered with.
    pub name: String,
    /// `pending`, `approved` or `revoked`.
    pub status: String,
    /// Registration time.
    pub created_at: String,
    /// Approval time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<String>,
    /// Last pull or push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<String>,
}

/// Body of `PUT /v1/orgs/{org}/projects/{project}/vaultenv-key`: a
/// vault-env project's new request-signing key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VaultEnvKey {
    /// 64 hex digits: `HKDF-SHA256(new VAULT_KEY, salt "vault-auth-v1")`,
    /// what the vault-env client's `set-key` sends.
    pub auth_key_hash: String,
}

/// Body of `POST /v1/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Login name.
    pub email: String,
    /// Password.
    pub password: String,
    /// Organization slug (default: `default`).
    #[serde(default)]
    pub org: Option<String>,
}

/// A session: a bearer token acting as the user, with their role's scopes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    /// The session token (shown once).
    pub token: String,
    /// When it stops working.
    pub expires_at: String,
    /// Who it acts as.
    pub user: User,
}

/// `GET /v1/whoami`: what the presented token is and may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoAmI {
    /// Organization slug.
    pub org: String,
    /// `api` or `pull`.
    pub kind: String,
    /// Token name (`session` for logins).
    pub name: String,
    /// The token's first characters.
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Project restriction (slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Environment restriction (slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The user a session acts as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The user's project roles (they replace the organization role in
    /// those projects).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub project_roles: Vec<ProjectRoleOf>,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// The revision of a merged view: an opaque string that changes whenever
/// the secrets a read would return may have. Cheap to poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revision {
    /// Compare for equality only.
    pub revision: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_rejected() {
        let err = serde_json::from_str::<PutSecret>(r#"{"valeu":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `valeu`"), "{err}");
        let ok: PutSecret = serde_json::from_str(r#"{"value":"x"}"#).unwrap();
        assert_eq!(ok.value.as_deref(), Some("x"));
    }
}
