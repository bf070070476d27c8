//! The native API (`/v1`) over HTTP: one typed method per endpoint the CLI
//! and apps use, one place that turns error answers into [`ClientError`]s,
//! and retries that honor `429 Retry-After`.

use std::path::Path;
use std::time::Duration;

use hush_core::SecretString;
use hush_proto::{
    AuditPage, BulkWrite, ChangePassword, Child, CopySecrets, CreateNamed, CreateOrg,
    CreateProject, CreateToken, CreateUser, CreatedOrg, CreatedToken, Device, DiffEntry, E2eeMeta,
    ErrorBody, Login, OrgPolicy, OrgRole, Organization, Project, ProjectRole, PutSecret, Revision,
    Secret, SecretList, Session, SetPassword, Token, User, VaultEnvKey, Version, WhoAmI,
    WriteResult,
};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ClientError, Result};

/// How many times a `429` is retried before giving up.
const MAX_RATE_LIMIT_RETRIES: u32 = 3;

/// Items asked for per page when a list is read whole (the server's most).
const PAGE: usize = 1000;
/// The longest `Retry-After` honored; longer waits fail at once.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A scope of a project: environment and/or target, or neither (project
/// level).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSel {
    /// Environment slug.
    pub env: Option<String>,
    /// Target slug.
    pub target: Option<String>,
}

impl ScopeSel {
    fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(env) = &self.env {
            q.push(("env", env.clone()));
        }
        if let Some(target) = &self.target {
            q.push(("target", target.clone()));
        }
        q
    }
}

/// Whose merged view a pull reads.
#[derive(Debug, Clone, Copy)]
pub enum PullFrom<'a> {
    /// The project the token is limited to (a pull token's): `GET /v1/pull`.
    OwnProject,
    /// A named project: `GET /v1/orgs/{org}/projects/{project}/pull`.
    Project {
        /// Organization slug.
        org: &'a str,
        /// Project slug.
        project: &'a str,
    },
}

/// A connection to one hush server with one (optional) token.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    token: Option<std::sync::Arc<SecretString>>,
    key_proof: Option<std::sync::Arc<SecretString>>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Api {
    /// A client for the server at `url`. `ca_cert` adds a PEM root for
    /// servers with a private CA.
    pub fn new(
        url: &str,
        token: Option<SecretString>,
        ca_cert: Option<&Path>,
        timeout: Duration,
    ) -> Result<Self> {
        let mut base = Url::parse(url.trim()).map_err(|err| {
            ClientError::Config(format!(
                "{url:?} is not a server URL ({err}); use e.g. http://127.0.0.1:8420"
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::Config(format!(
                "{url:?} is not an http:// or https:// URL"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("hush/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path).map_err(|err| {
                ClientError::Config(format!(
                    "cannot read CA certificate {}: {err}",
                    path.display()
                ))
            })?;
            let cert = reqwest::Certificate::from_pem(&pem).map_err(|err| {
                ClientError::Config(format!(
                    "{} is not a PEM certificate: {err}",
                    path.display()
                ))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|err| ClientError::Config(format!("cannot set up HTTP: {err}")))?;
        Ok(Self {
            http,
            base,
            token: token.map(std::sync::Arc::new),
            key_proof: None,
        })
    }

    /// The same connection, sending the key proof of an end-to-end-
    /// encrypted project with every request (writes need it).
    pub fn with_key_proof(&self, proof: SecretString) -> Self {
        Self {
            key_proof: Some(std::sync::Arc::new(proof)),
            ..self.clone()
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> Result<Url> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| ClientError::Config("the server URL cannot take a path".into()))?;
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn network_error(&self, err: &reqwest::Error) -> ClientError {
        // reqwest's Display includes the URL, which may carry a query;
        // describe the failure without it.
        let reason = if err.is_timeout() {
            "the request timed out".to_owned()
        } else if err.is_connect() {
            "connection failed (is `hush serve` running there?)".to_owned()
        } else {
            let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
            let mut last = "request failed".to_owned();
            while let Some(cause) = source {
                last = cause.to_string();
                source = cause.source();
            }
            last
        };
        ClientError::Network {
            url: self.base.as_str().trim_end_matches('/').to_owned(),
            reason,
        }
    }

    /// Sends a request, retrying `429`s after their `Retry-After`.
    async fn send(&self, build: impl Fn() -> RequestBuilder) -> Result<reqwest::Response> {
        let mut attempt = 0;
        loop {
            let mut request = build();
            if let Some(token) = &self.token {
                request = request.bearer_auth(token.expose());
            }
            if let Some(proof) = &self.key_proof {
                request = request.header("x-hush-key-proof", proof.expose());
            }
            let response = request.send().await.map_err(|e| self.network_error(&e))?;
            if response.status() != StatusCode::TOO_MANY_REQUESTS
                || attempt >= MAX_RATE_LIMIT_RETRIES
            {
                return check(response).await;
            }
            let wait = retry_after(&response).unwrap_or(Duration::from_secs(1));
            if wait > MAX_RETRY_AFTER {
                return check(response).await;
            }
            attempt += 1;
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends a request with an optional JSON body; the successful answer.
    async fn respond(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&(dyn ErasedJson + Sync)>,
    ) -> Result<reqwest::Response> {
        let url = self.url(segments, query)?;
        let body = body.map(|b| b.to_json()).transpose()?;
        self.send(|| {
            let request = self.http.request(method.clone(), url.clone());
            match &body {
                Some(json) => request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(json.clone()),
                None => request,
            }
        })
        .await
    }

    /// A request whose answer is JSON.
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&(dyn ErasedJson + Sync)>,
    ) -> Result<T> {
        decode(self.respond(method, segments, query, body).await?).await
    }

    /// A request whose answer has no body worth reading.
    async fn call_empty(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&(dyn ErasedJson + Sync)>,
    ) -> Result<()> {
        self.respond(method, segments, &[], body).await.map(drop)
    }

    /// `POST /v1/login`.
    pub async fn login(&self, body: &Login) -> Result<Session> {
        self.call(Method::POST, &["v1", "login"], &[], Some(body))
            .await
    }

    /// `POST /v1/logout`: revokes the presented session.
    pub async fn logout(&self) -> Result<()> {
        self.call_empty(Method::POST, &["v1", "logout"], None).await
    }

    /// `GET /v1/whoami`.
    pub async fn whoami(&self) -> Result<WhoAmI> {
        self.call(Method::GET, &["v1", "whoami"], &[], None).await
    }

    /// Projects of an organization (every page).
    pub async fn projects(&self, org: &str) -> Result<Vec<Project>> {
        let mut all: Vec<Project> = Vec::new();
        loop {
            let mut query = vec![("limit", PAGE.to_string())];
            if let Some(last) = all.last() {
                query.push(("after", last.slug.clone()));
            }
            let page: Vec<Project> = self
                .call(Method::GET, &["v1", "orgs", org, "projects"], &query, None)
                .await?;
            let done = page.len() < PAGE;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// One project.
    pub async fn project(&self, org: &str, project: &str) -> Result<Project> {
        self.call(
            Method::GET,
            &["v1", "orgs", org, "projects", project],
            &[],
            None,
        )
        .await
    }

    /// Creates a project.
    pub async fn create_project(&self, org: &str, body: &CreateProject) -> Result<Project> {
        self.call(
            Method::POST,
            &["v1", "orgs", org, "projects"],
            &[],
            Some(body),
        )
        .await
    }

    /// Key metadata of an end-to-end-encrypted project.
    pub async fn e2ee_meta(&self, org: &str, project: &str) -> Result<E2eeMeta> {
        self.call(
            Method::GET,
            &["v1", "orgs", org, "projects", project, "e2ee"],
            &[],
            None,
        )
        .await
    }

    /// Replaces the wrapped keys (send with the key proof).
    pub async fn put_e2ee_meta(&self, org: &str, project: &str, meta: &E2eeMeta) -> Result<()> {
        let segments = ["v1", "orgs", org, "projects", project, "e2ee"];
        self.call_empty(Method::PUT, &segments, Some(meta)).await
    }

    /// Deletes a project and everything in it.
    pub async fn delete_project(&self, org: &str, project: &str) -> Result<()> {
        self.call_empty(
            Method::DELETE,
            &["v1", "orgs", org, "projects", project],
            None,
        )
        .await
    }

    /// Environments or targets of a project.
    pub async fn children(&self, org: &str, project: &str, kind: ChildKind) -> Result<Vec<Child>> {
        let segments = ["v1", "orgs", org, "projects", project, kind.segment()];
        self.call(Method::GET, &segments, &[], None).await
    }

    /// Creates an environment or a target.
    pub async fn create_child(
        &self,
        org: &str,
        project: &str,
        kind: ChildKind,
        body: &CreateNamed,
    ) -> Result<Child> {
        let segments = ["v1", "orgs", org, "projects", project, kind.segment()];
        self.call(Method::POST, &segments, &[], Some(body)).await
    }

    /// Deletes an environment or a target.
    pub async fn delete_child(
        &self,
        org: &str,
        project: &str,
        kind: ChildKind,
        slug: &str,
    ) -> Result<()> {
        let segments = ["v1", "orgs", org, "projects", project, kind.segment(), slug];
        self.call_empty(Method::DELETE, &segments, None).await
    }

    /// Reads the secrets of a scope: merged (deeper levels win) or only
    /// the exact level.
    pub async fn secrets(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        read: Read,
    ) -> Result<SecretList> {
        let mut query = scope.query();
        query.push(("reveal", read.reveal.as_str().to_owned()));
        if read.exact {
            query.push(("level", "exact".to_owned()));
        }
        if read.include_inactive {
            query.push(("include_inactive", "true".to_owned()));
        }
        self.call(
            Method::GET,
            &["v1", "orgs", org, "projects", project, "secrets"],
            &query,
            None,
        )
        .await
    }

    /// One secret as the merged view of the scope resolves it.
    pub async fn secret(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        name: &str,
        reveal: Reveal,
    ) -> Result<Secret> {
        let mut query = scope.query();
        query.push(("reveal", reveal.as_str().to_owned()));
        self.call(
            Method::GET,
            &["v1", "orgs", org, "projects", project, "secrets", name],
            &query,
            None,
        )
        .await
    }

    /// Sets one secret (one version).
    pub async fn put_secret(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        name: &str,
        body: &PutSecret,
    ) -> Result<WriteResult> {
        self.call(
            Method::PUT,
            &["v1", "orgs", org, "projects", project, "secrets", name],
            &scope.query(),
            Some(body),
        )
        .await
    }

    /// Sets and deletes many secrets as one version.
    pub async fn bulk(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        body: &BulkWrite,
    ) -> Result<WriteResult> {
        self.call(
            Method::POST,
            &["v1", "orgs", org, "projects", project, "secrets"],
            &scope.query(),
            Some(body),
        )
        .await
    }

    /// Deletes one secret (one version).
    pub async fn delete_secret(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        name: &str,
    ) -> Result<WriteResult> {
        self.call(
            Method::DELETE,
            &["v1", "orgs", org, "projects", project, "secrets", name],
            &scope.query(),
            None,
        )
        .await
    }

    /// The scope's version log, newest first.
    pub async fn versions(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Version>> {
        let mut query = scope.query();
        query.push(("limit", limit.to_string()));
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        self.call(
            Method::GET,
            &["v1", "orgs", org, "projects", project, "versions"],
            &query,
            None,
        )
        .await
    }

    /// The names that differ between two versions.
    pub async fn diff(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        from: i64,
        to: i64,
    ) -> Result<Vec<DiffEntry>> {
        let mut query = scope.query();
        query.push(("from", from.to_string()));
        query.push(("to", to.to_string()));
        self.call(
            Method::GET,
            &["v1", "orgs", org, "projects", project, "diff"],
            &query,
            None,
        )
        .await
    }

    /// Restores a version as a new version.
    pub async fn restore(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        version: i64,
    ) -> Result<WriteResult> {
        let version = version.to_string();
        self.call(
            Method::POST,
            &[
                "v1", "orgs", org, "projects", project, "versions", &version, "restore",
            ],
            &scope.query(),
            None,
        )
        .await
    }

    /// Sets a version's state: `action` is `soft-delete`, `undelete` or
    /// `destroy`. Returns the version as it is now.
    pub async fn version_state(
        &self,
        org: &str,
        project: &str,
        scope: &ScopeSel,
        version: i64,
        action: &str,
    ) -> Result<Version> {
        let version = version.to_string();
        self.call(
            Method::POST,
            &[
                "v1", "orgs", org, "projects", project, "versions", &version, action,
            ],
            &scope.query(),
            None,
        )
        .await
    }

    /// An admin JWT for InsForge's secrets API (`expires_in` seconds).
    pub async fn insforge_jwt(&self, org: &str, expires_in: i64) -> Result<hush_proto::IssuedJwt> {
        self.call(
            Method::POST,
            &["v1", "orgs", org, "insforge", "tokens"],
            &[],
            Some(&hush_proto::IssueJwt {
                expires_in: Some(expires_in),
            }),
        )
        .await
    }

    /// Rotates the organization's JWT signing key.
    pub async fn rotate_insforge_key(&self, org: &str) -> Result<()> {
        self.call_empty(
            Method::POST,
            &["v1", "orgs", org, "insforge", "rotate-key"],
            None,
        )
        .await
    }

    /// Copies one scope's secrets into another (one version there).
    pub async fn copy(&self, org: &str, project: &str, body: &CopySecrets) -> Result<WriteResult> {
        self.call(
            Method::POST,
            &["v1", "orgs", org, "projects", project, "copy"],
            &[],
            Some(body),
        )
        .await
    }

    /// The revision of a merged view (cheap; for watching).
    pub async fn revision(&self, org: &str, project: &str, scope: &ScopeSel) -> Result<String> {
        let revision: Revision = self
            .call(
                Method::GET,
                &["v1", "orgs", org, "projects", project, "revision"],
                &scope.query(),
                None,
            )
            .await?;
        Ok(revision.revision)
    }

    /// The revision of what a pull token reads.
    pub async fn pull_revision(&self, env: Option<&str>) -> Result<String> {
        let query: Vec<(&str, String)> = env.map(|e| ("env", e.to_owned())).into_iter().collect();
        let revision: Revision = self
            .call(Method::GET, &["v1", "pull", "revision"], &query, None)
            .await?;
        Ok(revision.revision)
    }

    /// Pulls a merged view in the native envelope: values in plaintext,
    /// or an end-to-end-encrypted project's ciphertext with its key
    /// metadata.
    pub async fn pull(&self, from: PullFrom<'_>, scope: &ScopeSel) -> Result<hush_proto::Pull> {
        match from {
            PullFrom::OwnProject => {
                self.call(Method::GET, &["v1", "pull"], &scope.query(), None)
                    .await
            }
            PullFrom::Project { org, project } => {
                self.call(
                    Method::GET,
                    &["v1", "orgs", org, "projects", project, "pull"],
                    &scope.query(),
                    None,
                )
                .await
            }
        }
    }

    /// Devices of a vault-env project.
    pub async fn devices(&self, org: &str, project: &str) -> Result<Vec<Device>> {
        self.call(
            Method::GET,
            &["v1", "orgs", org, "projects", project, "devices"],
            &[],
            None,
        )
        .await
    }

    /// Approves (`approve`) or revokes (`revoke`) a device.
    pub async fn device_action(
        &self,
        org: &str,
        project: &str,
        id: &str,
        action: DeviceAction,
    ) -> Result<Device> {
        let verb = match action {
            DeviceAction::Approve => "approve",
            DeviceAction::Revoke => "revoke",
        };
        self.call(
            Method::POST,
            &["v1", "orgs", org, "projects", project, "devices", id, verb],
            &[],
            None,
        )
        .await
    }

    /// Replaces a vault-env project's signing key with `auth_key_hash` (64
    /// hex digits, see [`hush_core::vaultenv::derive_key`]).
    pub async fn rotate_vaultenv_key(
        &self,
        org: &str,
        project: &str,
        auth_key_hash: &str,
    ) -> Result<()> {
        let body = VaultEnvKey {
            auth_key_hash: auth_key_hash.to_owned(),
        };
        let segments = ["v1", "orgs", org, "projects", project, "vaultenv-key"];
        self.call_empty(Method::PUT, &segments, Some(&body)).await
    }

    /// The organization's tokens the caller manages (every page).
    pub async fn tokens(&self, org: &str) -> Result<Vec<Token>> {
        let mut all: Vec<Token> = Vec::new();
        loop {
            let mut query = vec![("limit", PAGE.to_string())];
            if let Some(last) = all.last() {
                query.push(("before", last.id.clone()));
            }
            let page: Vec<Token> = self
                .call(Method::GET, &["v1", "orgs", org, "tokens"], &query, None)
                .await?;
            let done = page.len() < PAGE;
            all.extend(page);
            if done {
                return Ok(all);
            }
        }
    }

    /// Creates a token (its secret is in the answer, once).
    pub async fn create_token(&self, org: &str, body: &CreateToken) -> Result<CreatedToken> {
        self.call(
            Method::POST,
            &["v1", "orgs", org, "tokens"],
            &[],
            Some(body),
        )
        .await
    }

    /// Revokes a token.
    pub async fn revoke_token(&self, org: &str, id: &str) -> Result<()> {
        self.call_empty(Method::DELETE, &["v1", "orgs", org, "tokens", id], None)
            .await
    }

    /// The organization's members.
    pub async fn users(&self, org: &str) -> Result<Vec<User>> {
        self.call(Method::GET, &["v1", "orgs", org, "users"], &[], None)
            .await
    }

    /// Creates a user with a role in the organization.
    pub async fn create_user(&self, org: &str, body: &CreateUser) -> Result<User> {
        self.call(Method::POST, &["v1", "orgs", org, "users"], &[], Some(body))
            .await
    }

    /// Removes a user (by id or email).
    pub async fn remove_user(&self, org: &str, user: &str) -> Result<()> {
        self.call_empty(Method::DELETE, &["v1", "orgs", org, "users", user], None)
            .await
    }

    /// Sets a user's password (by id or email); their sessions end.
    pub async fn set_user_password(&self, org: &str, user: &str, body: &SetPassword) -> Result<()> {
        let segments = ["v1", "orgs", org, "users", user, "password"];
        self.call_empty(Method::PUT, &segments, Some(body)).await
    }

    /// Changes a member's organization role.
    pub async fn set_user_role(&self, org: &str, user: &str, body: &OrgRole) -> Result<User> {
        let segments = ["v1", "orgs", org, "users", user, "role"];
        self.call(Method::PUT, &segments, &[], Some(body)).await
    }

    /// Changes the session's own password; every session of the user ends.
    pub async fn change_password(&self, body: &ChangePassword) -> Result<()> {
        self.call_empty(Method::PUT, &["v1", "password"], Some(body))
            .await
    }

    /// Sets the organization's policies.
    pub async fn set_org_policy(&self, org: &str, body: &OrgPolicy) -> Result<Organization> {
        self.call(Method::PATCH, &["v1", "orgs", org], &[], Some(body))
            .await
    }

    /// Creates an organization (a server admin's token); the answer holds
    /// its first admin token, once.
    pub async fn create_org(&self, body: &CreateOrg) -> Result<CreatedOrg> {
        self.call(Method::POST, &["v1", "orgs"], &[], Some(body))
            .await
    }

    /// Deletes an organization with everything in it (a server admin's
    /// token, of another organization).
    pub async fn delete_org(&self, org: &str) -> Result<()> {
        self.call_empty(Method::DELETE, &["v1", "orgs", org], None)
            .await
    }

    /// The organizations the token sees.
    pub async fn organizations(&self) -> Result<Vec<Organization>> {
        self.call(Method::GET, &["v1", "orgs"], &[], None).await
    }

    /// The users with a role in a project.
    pub async fn project_members(&self, org: &str, project: &str) -> Result<Vec<User>> {
        let segments = ["v1", "orgs", org, "projects", project, "members"];
        self.call(Method::GET, &segments, &[], None).await
    }

    /// Gives a user (by id or email) a role in a project.
    pub async fn set_project_member(
        &self,
        org: &str,
        project: &str,
        user: &str,
        body: &ProjectRole,
    ) -> Result<User> {
        let segments = ["v1", "orgs", org, "projects", project, "members", user];
        self.call(Method::PUT, &segments, &[], Some(body)).await
    }

    /// Takes a user's project role away.
    pub async fn remove_project_member(&self, org: &str, project: &str, user: &str) -> Result<()> {
        let segments = ["v1", "orgs", org, "projects", project, "members", user];
        self.call_empty(Method::DELETE, &segments, None).await
    }

    /// The newest audit entries that pass the filter.
    pub async fn audit(&self, org: &str, filter: &AuditFilter) -> Result<AuditPage> {
        let mut query = vec![("limit", filter.limit.to_string())];
        let optional = [
            ("project", filter.project.clone()),
            ("actor", filter.actor.clone()),
            ("action", filter.action.clone()),
            ("since", filter.since.clone()),
            ("until", filter.until.clone()),
            ("before", filter.before.map(|b| b.to_string())),
        ];
        query.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        self.call(Method::GET, &["v1", "orgs", org, "audit"], &query, None)
            .await
    }
}

/// What to do to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAction {
    /// Let it pull and push.
    Approve,
    /// Shut it out.
    Revoke,
}

/// Environments or targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildKind {
    /// Environments.
    Environment,
    /// Targets.
    Target,
}

impl ChildKind {
    fn segment(self) -> &'static str {
        match self {
            ChildKind::Environment => "environments",
            ChildKind::Target => "targets",
        }
    }
}

/// How much of each value a read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reveal {
    /// Names and metadata only (scope `secret:read`).
    Metadata,
    /// Plaintext values (scope `secret:decrypt`).
    Plain,
    /// Stored ciphertext (client-encrypted projects).
    Ciphertext,
}

impl Reveal {
    fn as_str(self) -> &'static str {
        match self {
            Reveal::Metadata => "metadata",
            Reveal::Plain => "plain",
            Reveal::Ciphertext => "ciphertext",
        }
    }
}

/// Options of a secrets read.
#[derive(Debug, Clone, Copy)]
pub struct Read {
    /// How much of each value.
    pub reveal: Reveal,
    /// Only the addressed level, not the merged view.
    pub exact: bool,
    /// Include inactive and expired secrets.
    pub include_inactive: bool,
}

/// Which audit entries to list (`GET …/audit`).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// One project's (slug).
    pub project: Option<String>,
    /// One actor's: an email, `token:<id>` or `user:<id>`.
    pub actor: Option<String>,
    /// One action's.
    pub action: Option<String>,
    /// Since (RFC 3339).
    pub since: Option<String>,
    /// Until (RFC 3339).
    pub until: Option<String>,
    /// Older than this sequence number.
    pub before: Option<i64>,
    /// How many.
    pub limit: u32,
}

/// Serializes a request body without making every method generic over it.
trait ErasedJson {
    fn to_json(&self) -> Result<Vec<u8>>;
}

impl<T: Serialize> ErasedJson for T {
    fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|err| ClientError::Protocol(err.to_string()))
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let header = response.headers().get(reqwest::header::RETRY_AFTER)?;
    let seconds: u64 = header.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

/// Passes success through; turns an error answer into a [`ClientError`].
async fn check(response: reqwest::Response) -> Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let (code, message) = error_parts(&text, status);
    Err(match status.as_u16() {
        401 | 403 => ClientError::Auth {
            status: status.as_u16(),
            code,
            message,
        },
        404 => ClientError::NotFound { code, message },
        other => ClientError::Api {
            status: other,
            code,
            message,
        },
    })
}

/// The code and message of an error body: the native envelope, or the
/// Hep.gg pull shape `{"ok":false,"error":"CODE","message":"…"}`.
fn error_parts(text: &str, status: StatusCode) -> (String, String) {
    if let Ok(body) = serde_json::from_str::<ErrorBody>(text) {
        return (body.error.code, body.error.message);
    }
    #[derive(Deserialize)]
    struct Flat {
        error: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(flat) = serde_json::from_str::<Flat>(text) {
        return (flat.error, flat.message);
    }
    let reason = status.canonical_reason().unwrap_or("error");
    (
        format!("http_{}", status.as_u16()),
        format!("the server answered {} {reason}", status.as_u16()),
    )
}

async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let bytes = response
        .bytes()
        .await
        .map_err(|err| ClientError::Protocol(format!("reading the answer: {err}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|err| ClientError::Protocol(format!("decoding the answer: {err}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_segments_and_keep_a_base_path() {
        let api = Api::new("http://h:1/base", None, None, Duration::from_secs(1)).unwrap();
        let url = api
            .url(
                &["v1", "orgs", "o", "secrets", "A B/C"],
                &[("env", "dev".into())],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/base/v1/orgs/o/secrets/A%20B%2FC?env=dev"
        );
        assert!(Api::new("ftp://h", None, None, Duration::from_secs(1)).is_err());
        assert!(Api::new("not a url", None, None, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn error_bodies_in_both_shapes() {
        let native = r#"{"error":{"code":"not_found","message":"no such project"}}"#;
        assert_eq!(
            error_parts(native, StatusCode::NOT_FOUND),
            ("not_found".into(), "no such project".into())
        );
        let hep = r#"{"ok":false,"error":"BAD_TOKEN","message":"the token is not valid"}"#;
        assert_eq!(error_parts(hep, StatusCode::UNAUTHORIZED).0, "BAD_TOKEN");
        assert_eq!(error_parts("<html>", StatusCode::BAD_GATEWAY).0, "http_502");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let api = Api::new(
            "http://h:1",
            Some(SecretString::from("hush_supersecret")),
            None,
            Duration::from_secs(1),
        )
        .unwrap();
        assert!(!format!("{api:?}").contains("supersecret"));
    }
}
