//! A project as its dashboard shows it: every secret name against every
//! environment, each cell set there, inherited from the project level, or
//! missing; and imports into one environment that report, name by name,
//! what they added, changed, left alone or refused.

use std::collections::{BTreeMap, BTreeSet};

use hush_core::{NameRule, SecretString};
use hush_store::{
    ChildKind, EncryptionMode, Environment, Project, ReadOptions, Reveal, Scope, Secret, Value,
};

use super::{ScopeAddress, SecretChange, SecretValue, Services, WriteGuard};
use crate::auth::{Permission, Principal};
use crate::error::{ErrorCode, ServiceError};

/// Where a cell's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellState {
    /// Set in this environment.
    Set,
    /// Not set here; the project level's (or the target level's) value
    /// applies.
    Inherited,
    /// Neither.
    Missing,
}

impl CellState {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            CellState::Set => "set",
            CellState::Inherited => "inherited",
            CellState::Missing => "missing",
        }
    }
}

/// One cell.
#[derive(Debug)]
pub struct Cell {
    /// Where its value comes from.
    pub state: CellState,
    /// The value, when revealed (plaintext, or an end-to-end-encrypted
    /// project's ciphertext).
    pub value: Option<SecretString>,
}

/// The grid.
#[derive(Debug)]
pub struct Matrix {
    /// The project.
    pub project: Project,
    /// The target whose grid this is (`None`: the project's own).
    pub target: Option<String>,
    /// Its environments (the caller's), in order.
    pub environments: Vec<Environment>,
    /// Name → one cell per environment, in the same order.
    pub rows: BTreeMap<String, Vec<Cell>>,
}

/// What an import did, name by name.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// The environment's version after the import.
    pub version: i64,
    /// New names.
    pub added: Vec<String>,
    /// Names whose value changed.
    pub changed: Vec<String>,
    /// Names already holding that value.
    pub unchanged: Vec<String>,
    /// Names refused, with why; the rest was written.
    pub rejected: Vec<(String, String)>,
}

/// The matrix and imports. Handed out by [`Services::matrix`].
pub struct MatrixView<'a> {
    s: &'a Services,
}

impl Services {
    /// The matrix facade.
    pub fn matrix(&self) -> MatrixView<'_> {
        MatrixView { s: self }
    }
}

fn by_name(secrets: Vec<Secret>) -> BTreeMap<String, Secret> {
    secrets.into_iter().map(|s| (s.name.clone(), s)).collect()
}

fn shown(secret: &Secret) -> Option<SecretString> {
    match &secret.value {
        Value::Plain(v) => Some(v.duplicate()),
        Value::Ciphertext(c) => Some(SecretString::new(String::from_utf8_lossy(c).into_owned())),
        Value::Hidden => None,
    }
}

impl MatrixView<'_> {
    /// The grid of a project, or of one of its targets (cells at the
    /// target's environments, inheriting from the target level over the
    /// project level). With `reveal`, cells carry values: the plaintext of
    /// a server-side project (`secret:decrypt`, audited as a decrypt) or
    /// an end-to-end-encrypted project's ciphertext.
    pub async fn read(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        target: Option<&str>,
        reveal: bool,
    ) -> Result<Matrix, ServiceError> {
        let (_, project) = self.s.project(who, org, project).await?;
        who.require_in(&project.id, Permission::SecretRead)?;
        let target = match target {
            Some(slug) => Some(
                self.s
                    .store
                    .child(ChildKind::Target, &project, slug)
                    .await?,
            ),
            None => None,
        };
        let reveal = match (reveal, project.mode) {
            (false, _) => Reveal::Metadata,
            (true, EncryptionMode::Client) => Reveal::Ciphertext,
            (true, EncryptionMode::Server) => {
                who.audit_action("secret.decrypt");
                who.require_in(&project.id, Permission::SecretDecrypt)?;
                Reveal::Plaintext
            }
        };
        let environments = self
            .s
            .projects()
            .children(who, ChildKind::Environment, org, &project.slug)
            .await?;
        let options = ReadOptions {
            reveal,
            include_inactive: true,
        };
        let mut top = by_name(
            self.s
                .store
                .read_level(&Scope::new(&project, None, None)?, options)
                .await?
                .secrets,
        );
        if let Some(target) = &target {
            let scope = Scope::new(&project, Some(target), None)?;
            top.extend(by_name(
                self.s.store.read_level(&scope, options).await?.secrets,
            ));
        }
        let mut levels = Vec::new();
        for env in &environments {
            let scope = Scope::new(&project, target.as_ref(), Some(env))?;
            levels.push(by_name(
                self.s.store.read_level(&scope, options).await?.secrets,
            ));
        }
        let names: BTreeSet<&String> = top
            .keys()
            .chain(levels.iter().flat_map(|l| l.keys()))
            .collect();
        let rows = names
            .into_iter()
            .map(|name| {
                let cells = levels
                    .iter()
                    .map(|level| match (level.get(name), top.get(name)) {
                        (Some(own), _) => Cell {
                            state: CellState::Set,
                            value: shown(own),
                        },
                        (None, Some(inherited)) => Cell {
                            state: CellState::Inherited,
                            value: shown(inherited),
                        },
                        (None, None) => Cell {
                            state: CellState::Missing,
                            value: None,
                        },
                    })
                    .collect();
                (name.clone(), cells)
            })
            .collect();
        Ok(Matrix {
            project,
            target: target.map(|t| t.slug),
            environments,
            rows,
        })
    }

    /// Writes `entries` into one scope (an environment, usually) as one
    /// version, reporting each name. Names off the rule are refused one by one (the rest is
    /// written); a value over the size limit refuses the whole import.
    /// Values are plaintext, or an end-to-end-encrypted project's
    /// ciphertext.
    pub async fn import(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        entries: Vec<(String, SecretString)>,
        key_proof: Option<&str>,
    ) -> Result<ImportReport, ServiceError> {
        let (mut report, changes) = self.plan(who, org, project, address, entries).await?;
        if !changes.is_empty() {
            report.version = self
                .s
                .secrets()
                .write(
                    who,
                    org,
                    project,
                    address,
                    changes,
                    WriteGuard {
                        expected_version: None,
                        key_proof,
                    },
                )
                .await?
                .version;
        }
        Ok(report)
    }

    /// What [`MatrixView::import`] would do, writing nothing (a preview
    /// before the one version is written). Needs `secret:write` too.
    pub async fn preview(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        entries: Vec<(String, SecretString)>,
    ) -> Result<ImportReport, ServiceError> {
        Ok(self.plan(who, org, project, address, entries).await?.0)
    }

    async fn plan(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        address: &ScopeAddress,
        entries: Vec<(String, SecretString)>,
    ) -> Result<(ImportReport, Vec<SecretChange>), ServiceError> {
        let target = self.s.target(who, org, project, address).await?;
        who.require_in(&target.project.id, Permission::SecretWrite)?;
        let reveal = match target.project.mode {
            EncryptionMode::Server => Reveal::Plaintext,
            EncryptionMode::Client => Reveal::Ciphertext,
        };
        let current = self
            .s
            .store
            .read_level(
                &target.scope,
                ReadOptions {
                    reveal,
                    include_inactive: true,
                },
            )
            .await?;
        let mut existing = by_name(current.secrets);
        let mut report = ImportReport {
            version: current.version,
            ..ImportReport::default()
        };
        let mut changes = Vec::new();
        for (name, value) in entries {
            if target.project.mode == EncryptionMode::Client
                && !hush_core::e2ee::is_sealed(value.expose())
            {
                return Err(ServiceError::new(
                    ErrorCode::E2eeProject,
                    format!(
                        "{name}: this project is end-to-end encrypted, so values arrive \
                         encrypted by the client (base64 iv, ciphertext and tag); \
                         nothing was written"
                    ),
                ));
            }
            if let Err(err) = NameRule::Native.parse(&name) {
                report.rejected.push((name, err.to_string()));
                continue;
            }
            match existing.remove(&name) {
                Some(old) if shown(&old).as_ref() == Some(&value) => report.unchanged.push(name),
                Some(old) => {
                    report.changed.push(name);
                    changes.push(SecretChange::Set(SecretValue::replacing(old, value)));
                }
                None => {
                    report.added.push(name.clone());
                    changes.push(SecretChange::Set(SecretValue::new(name, value)));
                }
            }
        }
        Ok((report, changes))
    }

    /// Clears one name in one environment (404 if it is not set there).
    pub async fn clear(
        &self,
        who: &Principal,
        org: &str,
        project: &str,
        env: &str,
        name: &str,
    ) -> Result<i64, ServiceError> {
        let address = ScopeAddress::environment(env);
        let target = self.s.target(who, org, project, &address).await?;
        who.require_in(&target.project.id, Permission::SecretWrite)?;
        let current = self
            .s
            .store
            .read_level(&target.scope, ReadOptions::new(Reveal::Metadata))
            .await?;
        if !current.secrets.iter().any(|s| s.name == name) {
            return Err(ServiceError::new(
                ErrorCode::NotFound,
                format!("{name} is not set in {env}"),
            ));
        }
        Ok(self
            .s
            .secrets()
            .write(
                who,
                org,
                project,
                &address,
                vec![SecretChange::Delete(name.to_owned())],
                WriteGuard::default(),
            )
            .await?
            .version)
    }
}
